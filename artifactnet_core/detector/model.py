"""ArtifactNet: ``|X|`` -> bounded-mask UNet -> residual -> forensic features -> compact CNN.

The model works on 4 s chunks of mono 44.1 kHz audio (176,400 samples, 1025 x 345 STFT bins x
frames). A track's score aggregates its chunks' probabilities (median by default).

Checkpoints are a safetensors file of tensors plus a JSON file of the configuration; loading
never unpickles anything.

Taught in notebooks ``00_quickstart`` and ``03_train``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from artifactnet_core.detector.classifier import CompactCNN
from artifactnet_core.detector.features import FEATURE_SETS, ForensicFeaturizer
from artifactnet_core.detector.spectral import magnitude
from artifactnet_core.detector.unet import ArtifactUNet
from artifactnet_core.paths import WEIGHTS_DIR

#: File stem of the weights shipped inside the package.
DEFAULT_WEIGHTS = WEIGHTS_DIR / "artifactnet.safetensors"


@dataclass
class ArtifactNetConfig:
    """Everything needed to rebuild an :class:`ArtifactNet` (stored as JSON beside weights)."""

    sample_rate: int = 44_100
    chunk_seconds: float = 4.0
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    top_db: float = 80.0
    hpss_kernel: int = 31
    unet_base_width: int = 32
    unet_multipliers: tuple[int, ...] = (1, 2, 4, 6, 8)
    mask_bound: float | None = 0.5
    use_unet: bool = True
    feature_set: str = "hpss7"
    cnn_widths: tuple[int, ...] = (32, 64, 128, 256)
    cnn_hidden: int = 64
    threshold: float = 0.5
    aggregate: str = "median"
    #: Free-form provenance: training profile, seed, data hash, validation metrics.
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def chunk_samples(self) -> int:
        return int(round(self.sample_rate * self.chunk_seconds))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactNetConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}")
        data = dict(data)
        for key in ("unet_multipliers", "cnn_widths"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


class ArtifactNet(nn.Module):
    """The detector. ``forward(audio)`` maps chunks ``(batch, samples)`` to logits ``(batch,)``.

    Parameters
    ----------
    config : ArtifactNetConfig
        Architecture and pre-processing parameters (defaults: the paper's).
    """

    def __init__(self, config: ArtifactNetConfig | None = None):
        super().__init__()
        self.config = config = config or ArtifactNetConfig()
        if config.feature_set not in FEATURE_SETS:
            raise ValueError(f"unknown feature_set {config.feature_set!r}")
        self.unet = (ArtifactUNet(base_width=config.unet_base_width,
                                  multipliers=config.unet_multipliers,
                                  mask_bound=config.mask_bound)
                     if config.use_unet else None)
        self.featurizer = ForensicFeaturizer(sr=config.sample_rate, n_fft=config.n_fft,
                                             n_mels=config.n_mels, top_db=config.top_db,
                                             hpss_kernel=config.hpss_kernel,
                                             feature_set=config.feature_set)
        self.classifier = CompactCNN(in_channels=self.featurizer.n_channels,
                                     widths=config.cnn_widths, hidden=config.cnn_hidden)

    def spectrogram(self, audio: torch.Tensor) -> torch.Tensor:
        """Magnitude ``|X|`` ``(batch, 1025, frames)`` of audio clipped to [-1, 1]."""
        return magnitude(audio.clamp(-1.0, 1.0), n_fft=self.config.n_fft,
                         hop_length=self.config.hop_length)

    def residual(self, mag: torch.Tensor) -> torch.Tensor:
        """The forensic residual ``R = M * |X|`` (``|X|`` itself when the UNet is ablated).

        In training mode gradients flow through the UNet; in eval mode it runs through
        :meth:`ArtifactUNet.infer` (bfloat16 where that is fast).
        """
        if self.unet is None:
            return mag
        return self.unet(mag) if self.training else self.unet.infer(mag)

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """Forensic feature maps ``(batch, channels, n_mels, frames)`` of audio chunks."""
        mag = self.spectrogram(audio)
        return self.featurizer(mag, self.residual(mag))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(audio))

    @torch.inference_mode()
    def predict_proba(self, audio: torch.Tensor) -> torch.Tensor:
        """P(AI) per chunk for audio ``(batch, samples)``, in eval mode."""
        was_training = self.training
        self.eval()
        try:
            return torch.sigmoid(self(audio))
        finally:
            self.train(was_training)

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters per part and in total."""
        def count(module: nn.Module | None) -> int:
            return 0 if module is None else sum(p.numel() for p in module.parameters())

        parts = {"unet": count(self.unet), "featurizer": count(self.featurizer),
                 "classifier": count(self.classifier)}
        parts["total"] = sum(parts.values())
        return parts


def predict_chunks(model: ArtifactNet, chunks: np.ndarray, *, batch: int = 4) -> np.ndarray:
    """The detector's P(AI) for each chunk, ``batch`` chunks per forward pass.

    Parameters
    ----------
    model : ArtifactNet
        The detector (any device; it runs in eval mode via :meth:`ArtifactNet.predict_proba`).
    chunks : numpy.ndarray or torch.Tensor
        ``(n_chunks, model.config.chunk_samples)`` mono samples at the model's rate.
    batch : int
        Chunks per forward pass (memory: about 0.3 GB per chunk for the paper-size UNet).

    Returns
    -------
    numpy.ndarray
        ``(n_chunks,)`` float64 probabilities. Taught in notebook ``08_explorer``.
    """
    device = next(model.parameters()).device
    out = [model.predict_proba(torch.as_tensor(chunks[i:i + batch], device=device)).float().cpu()
           for i in range(0, len(chunks), batch)]
    return torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)


def aggregate_chunks(p_chunks: np.ndarray, *, method: str = "median",
                     weights: np.ndarray | None = None) -> float:
    """Combine chunk probabilities into one track score.

    Parameters
    ----------
    p_chunks : numpy.ndarray
        P(AI) of each chunk.
    method : {"median", "mean", "rms_weighted"}
        ``median`` (robust to a few odd chunks; default), plain ``mean``, or a mean weighted by
        ``weights`` (the chunks' RMS level, so near-silent passages count less).
    weights : numpy.ndarray, optional
        Non-negative weight per chunk, for ``rms_weighted``.
    """
    p = np.asarray(p_chunks, dtype=np.float64)
    if p.size == 0:
        raise ValueError("no chunks to aggregate")
    if method == "median":
        return float(np.median(p))
    if method == "mean":
        return float(p.mean())
    if method == "rms_weighted":
        if weights is None:
            raise ValueError("rms_weighted aggregation needs weights")
        w = np.asarray(weights, dtype=np.float64)
        return float((p * w).sum() / w.sum()) if w.sum() > 0 else float(p.mean())
    raise ValueError(f"unknown aggregation {method!r}")


def save_model(model: ArtifactNet, path: str | Path, *, half: bool = False) -> Path:
    """Write ``path`` (.safetensors, the tensors) and ``path`` with .json (the config).

    Parameters
    ----------
    model : ArtifactNet
        The model to store.
    path : path
        Destination ending in ``.safetensors``.
    half : bool
        Store floating-point tensors as float16 (half the size; loading casts back).
    """
    path = Path(path).with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        if half and t.is_floating_point():
            t = t.half()
        tensors[name] = t
    save_file(tensors, str(path), metadata={"format": "artifactnet", "config": "json-sidecar"})
    path.with_suffix(".json").write_text(model.config.to_json())
    return path


def load_model(path: str | Path, *, device: str | torch.device = "cpu") -> ArtifactNet:
    """Load a model written by :func:`save_model` (safetensors + JSON; nothing is unpickled).

    Raises
    ------
    FileNotFoundError
        If the weights or the config are missing.
    ValueError
        If the tensors do not fit the configured architecture.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_suffix(".safetensors")
    cfg_path = path.with_suffix(".json")
    for p in (path, cfg_path):
        if not p.is_file():
            raise FileNotFoundError(f"{p}: not found")
    config = ArtifactNetConfig.from_dict(json.loads(cfg_path.read_text()))
    model = ArtifactNet(config)
    state = load_file(str(path))
    reference = model.state_dict()
    missing = set(reference) - set(state)
    unexpected = set(state) - set(reference)
    if missing or unexpected:
        raise ValueError(f"{path}: tensors do not match the config "
                         f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})")
    state = {k: v.to(reference[k].dtype) for k, v in state.items()}
    model.load_state_dict(state)
    return model.to(device).eval()


def default_weights() -> Path | None:
    """The default checkpoint: ``$ARTIFACTNET_WEIGHTS`` if set, else the weights shipped in the
    package; ``None`` when that file does not exist (nothing trained yet)."""
    env = os.environ.get("ARTIFACTNET_WEIGHTS")
    path = Path(env).expanduser() if env else DEFAULT_WEIGHTS
    if path.is_file() and path.with_suffix(".json").is_file():
        return path
    return None
