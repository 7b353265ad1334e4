"""Looking inside the detector: the spectrogram, the residual, its HPSS parts and the features.

Taught in notebooks ``00_quickstart`` and ``01_residual_physics`` (and the explorer widget).
"""

from __future__ import annotations

import numpy as np
import torch

from artifactnet_core.detector.config import HOP_LENGTH, SAMPLE_RATE
from artifactnet_core.detector.model import ArtifactNet


@torch.no_grad()
def residual_parts(model: ArtifactNet, chunk: np.ndarray) -> dict[str, np.ndarray]:
    """Everything the detector computes for one 4 s chunk, as numpy arrays.

    Parameters
    ----------
    model : ArtifactNet
        A detector (eval mode).
    chunk : numpy.ndarray
        ``model.config.chunk_samples`` mono samples at ``model.config.sample_rate``.

    Returns
    -------
    dict
        ``magnitude`` |X|, ``mask`` M, ``residual`` R, ``harmonic`` H and ``percussive`` P
        (each ``(1025, frames)``), ``features`` ``(channels, n_mels, frames)``, ``p_ai``
        (a float in an 0-d array).
    """
    model.eval()
    device = next(model.parameters()).device
    audio = torch.as_tensor(np.asarray(chunk, dtype=np.float32), device=device)[None]
    mag = model.spectrogram(audio)
    residual = model.residual(mag)
    harmonic, percussive = model.featurizer.split(residual)
    base = model.featurizer.maps_from_parts(mag, residual, harmonic, percussive)
    features = model.featurizer.channels_from_base(base)
    p_ai = torch.sigmoid(model.classify_base(base))
    mask = residual / mag.clamp_min(1e-12)
    out = {"magnitude": mag, "mask": mask, "residual": residual, "harmonic": harmonic,
           "percussive": percussive, "features": features, "p_ai": p_ai}
    return {k: v[0].float().cpu().numpy() for k, v in out.items()}


def to_db(mag: np.ndarray, *, ref: float | None = None, top_db: float = 80.0) -> np.ndarray:
    """Magnitude to dB relative to ``ref`` (default: its maximum), floored ``top_db`` below."""
    ref = float(np.max(mag)) if ref is None else ref
    db = 20 * np.log10(np.maximum(mag, 1e-10) / max(ref, 1e-10))
    return np.maximum(db, -top_db)


def show_spectrogram(ax, db: np.ndarray, *, sr: int = SAMPLE_RATE, hop_length: int = HOP_LENGTH,
                     title: str = "", mel: bool = False, vmin: float = -80.0, vmax: float = 0.0):
    """Draw a dB spectrogram on a matplotlib axis (time in s; Hz, or mel band index)."""
    frames = db.shape[-1]
    extent = [0, frames * hop_length / sr, 0, db.shape[0] if mel else sr / 2000]
    im = ax.imshow(db, origin="lower", aspect="auto", extent=extent, cmap="magma", vmin=vmin,
                   vmax=vmax, interpolation="nearest")
    ax.set(title=title, xlabel="time (s)", ylabel="mel band" if mel else "frequency (kHz)")
    return im
