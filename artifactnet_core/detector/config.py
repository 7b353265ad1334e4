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
import math
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
#: Names of the operating points a trained model carries (see
#: :mod:`artifactnet_core.detector.calibration`): at most 1 % and 5 % validation FPR, F1-optimal.
OPERATING_POINTS = ("fpr1", "fpr5", "f1")
#: Keys every operating point stores.
OPERATING_POINT_KEYS = ("threshold", "val_fpr", "val_tpr", "n_val_real", "n_val_ai")
#: The largest threshold stored: just above 1, "flag nothing", for scores saturated at 1.0.
MAX_THRESHOLD = math.nextafter(1.0, 2.0)

# Accepted ranges of the front end and architecture. They keep a checkpoint's config from
# asking for work or memory no chunk needs (a 10,000 s chunk, a median filter of 100,001 bins)
# and from values that divide by zero or index nothing.
_RANGES = {
    "sample_rate": (8_000, 192_000),
    "chunk_seconds": (0.5, 30.0),
    "n_fft": (64, 16_384),
    "top_db": (1.0, 200.0),
    "hpss_kernel": (1, 255),
    "unet_base_width": (1, 256),
    "cnn_hidden": (1, 4096),
}
_MAX_FRAMES = 8192      # STFT frames per chunk (paper: 345)
_MAX_LEVELS = 8         # UNet levels / CNN blocks
_MAX_WIDTH = 4096       # channels of any layer


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
    operating_points : dict
        Thresholds chosen on validation scores, by name (:data:`OPERATING_POINTS`): each a dict
        with ``threshold``, ``val_fpr`` and ``val_tpr`` (the rates at that threshold on the
        validation tracks), ``n_val_real`` and ``n_val_ai`` (how many there were). Empty when
        the training run chose none.
    calibration : dict
        Platt scaling fitted on validation scores
        (:func:`artifactnet_core.detector.calibration.fit_platt`): ``method`` ``"platt"``, ``a``,
        ``b``, ``n``; empty when none was fitted.

    Every value is checked when a config is made (:meth:`validate`), so a checkpoint with an
    absurd config is refused on load with the field and the accepted range.
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
    operating_points: dict[str, dict[str, float]] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every field's type and range.

        Raises
        ------
        ValueError
            Naming the first field out of range, its value and what is accepted.
        """
        for name, (lo, hi) in _RANGES.items():
            _number(name, getattr(self, name), lo, hi,
                    integer=name not in ("chunk_seconds", "top_db"))
        chunk = self.chunk_samples
        if chunk < self.n_fft:
            raise ValueError(f"chunk_seconds {self.chunk_seconds} gives {chunk} samples, fewer "
                             f"than n_fft {self.n_fft}")
        _number("hop_length", self.hop_length, 1, self.n_fft, integer=True)
        frames = chunk // self.hop_length + 1
        if frames > _MAX_FRAMES:
            raise ValueError(f"hop_length {self.hop_length} gives {frames} STFT frames per chunk, "
                             f"more than {_MAX_FRAMES}")
        if self.hpss_kernel % 2 != 1:
            raise ValueError(f"hpss_kernel must be odd, got {self.hpss_kernel}")
        _widths("unet_multipliers", self.unet_multipliers)
        _widths("cnn_widths", self.cnn_widths)
        # Each CNN block halves the mel and time axes: the map must survive every halving.
        smallest = 2 ** len(self.cnn_widths)
        _number("n_mels", self.n_mels, smallest, min(512, self.n_fft // 2 + 1), integer=True)
        if frames < smallest:
            raise ValueError(f"{frames} STFT frames per chunk are too few for "
                             f"{len(self.cnn_widths)} CNN blocks (at least {smallest})")
        if self.mask_bound is not None:
            _number("mask_bound", self.mask_bound, 1e-3, 10.0)
        if not isinstance(self.use_unet, bool):
            raise ValueError(f"use_unet must be true or false, got {self.use_unet!r}")
        if not isinstance(self.feature_set, str):
            raise ValueError(f"feature_set must be a string, got {self.feature_set!r}")
        _number("threshold", self.threshold, 0.0, 1.0)
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {AGGREGATES}, got {self.aggregate!r}")
        for name in ("info", "operating_points", "calibration"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"{name} must be a JSON object, got "
                                 f"{type(getattr(self, name)).__name__}")
        for name, point in self.operating_points.items():
            _check_operating_point(name, point)
        if self.calibration:
            _check_calibration(self.calibration)

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


def _number(name: str, value: Any, lo: float, hi: float, *, integer: bool = False) -> None:
    """Raise ValueError unless ``value`` is a finite number (an int if ``integer``) in
    ``[lo, hi]``."""
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type or not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(f"{name} must be {kind} in [{lo:g}, {hi:g}], got {value!r}")


def _widths(name: str, value: Any) -> None:
    if (not isinstance(value, tuple | list) or not 1 <= len(value) <= _MAX_LEVELS
            or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= _MAX_WIDTH
                       for v in value)):
        raise ValueError(f"{name} must be 1 to {_MAX_LEVELS} integers in [1, {_MAX_WIDTH}], "
                         f"got {value!r}")


def _check_operating_point(name: str, point: Any) -> None:
    where = f"operating_points[{name!r}]"
    if not isinstance(name, str) or not isinstance(point, dict):
        raise ValueError(f"{where} must be a JSON object")
    missing = [k for k in OPERATING_POINT_KEYS if k not in point]
    if missing:
        raise ValueError(f"{where} lacks {missing}")
    _number(f"{where} threshold", point["threshold"], 0.0, MAX_THRESHOLD)
    for key in ("val_fpr", "val_tpr"):
        _number(f"{where} {key}", point[key], 0.0, 1.0)
    for key in ("n_val_real", "n_val_ai"):
        _number(f"{where} {key}", point[key], 1, 10**9, integer=True)


def _check_calibration(calibration: dict[str, Any]) -> None:
    if calibration.get("method") != "platt":
        raise ValueError(f"calibration method must be 'platt', got {calibration.get('method')!r}")
    for key in ("a", "b"):
        _number(f"calibration {key}", calibration.get(key), -1e6, 1e6)
    _number("calibration n", calibration.get("n"), 2, 10**9, integer=True)
