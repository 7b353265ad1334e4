"""The detector's specification: its front end (rate, STFT, chunking), its architecture and how
chunk scores become a track score.

:class:`ArtifactNetConfig` is stored as JSON beside every checkpoint, and training, feature
caching, the baselines' clip loading and inference all read their sample rate, STFT and chunk
length from it, so they cannot drift apart (Descript's audiotools/DAC: the model owns its front
end). The module-level constants are the paper's values and the single definition of each.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

#: Sample rate of the detector in Hz (paper).
SAMPLE_RATE = 44_100
#: Length of an analysis chunk in seconds (paper: 4 s, 176,400 samples).
CHUNK_SECONDS = 4.0
CHUNK_SAMPLES = int(round(SAMPLE_RATE * CHUNK_SECONDS))
#: STFT size and hop in samples, Hann window, centred frames (paper).
N_FFT = 2048
HOP_LENGTH = 512
#: Mel bands of the forensic features and their dynamic range in dB (paper).
N_MELS = 128
TOP_DB = 80.0
#: HPSS median-filter length in frames (harmonic) and bins (percussive) (paper).
HPSS_KERNEL = 31
#: Upper bound of the UNet's mask: the residual is at most half the input (paper).
MASK_BOUND = 0.5
#: UNet width of the first level (paper: 32) and each level's width relative to it.
UNET_BASE_WIDTH = 32
UNET_MULTIPLIERS = (1, 2, 4, 6, 8)
#: Conv widths and hidden width of the compact CNN.
CNN_WIDTHS = (32, 64, 128, 256)
CNN_HIDDEN = 64
#: How chunk probabilities become a track score.
AGGREGATES = ("median", "mean", "rms_weighted")


@dataclass
class ArtifactNetConfig:
    """Everything needed to rebuild an ArtifactNet (stored as JSON beside its weights).

    Attributes
    ----------
    sample_rate : int
        Hz; audio is resampled to it.
    chunk_seconds : float
        Analysis chunk length in seconds.
    n_fft, hop_length : int
        STFT size and hop in samples.
    n_mels, top_db, hpss_kernel : int, float, int
        Featurizer settings.
    unet_base_width, unet_multipliers, mask_bound, use_unet
        UNet architecture (``mask_bound`` ``None``: unbounded; ``use_unet`` False: no UNet).
    feature_set : str
        ``hpss7`` (paper), ``residual3`` or ``residual1``.
    cnn_widths, cnn_hidden
        Classifier architecture.
    threshold : float
        Decision threshold on P(AI), chosen on validation data.
    aggregate : str
        One of :data:`AGGREGATES`.
    info : dict
        Free-form provenance: training profile, seed, data hash, validation metrics.
    """

    sample_rate: int = SAMPLE_RATE
    chunk_seconds: float = CHUNK_SECONDS
    n_fft: int = N_FFT
    hop_length: int = HOP_LENGTH
    n_mels: int = N_MELS
    top_db: float = TOP_DB
    hpss_kernel: int = HPSS_KERNEL
    unet_base_width: int = UNET_BASE_WIDTH
    unet_multipliers: tuple[int, ...] = UNET_MULTIPLIERS
    mask_bound: float | None = MASK_BOUND
    use_unet: bool = True
    feature_set: str = "hpss7"
    cnn_widths: tuple[int, ...] = CNN_WIDTHS
    cnn_hidden: int = CNN_HIDDEN
    threshold: float = 0.5
    aggregate: str = "median"
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def chunk_samples(self) -> int:
        """Samples per analysis chunk."""
        return int(round(self.sample_rate * self.chunk_seconds))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactNetConfig:
        """Rebuild a config from its JSON object, refusing unknown keys."""
        if not isinstance(data, dict):
            raise ValueError(f"a config must be a JSON object, found {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}")
        data = dict(data)
        for key in ("unet_multipliers", "cnn_widths"):
            if key in data and isinstance(data[key], list):
                data[key] = tuple(data[key])
        return cls(**data)
