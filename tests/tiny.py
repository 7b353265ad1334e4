"""A detector small and fast enough for command-line tests: 4 s chunks at 44.1 kHz like the paper's,
with a 512-point STFT, 32 mel bands and a few thousand parameters (about 0.1 s per chunk on one
CPU core). Its numbers mean nothing; tests compare code paths, never scores."""

from __future__ import annotations

from pathlib import Path

import torch

from artifactnet_core.detector.model import ArtifactNet, ArtifactNetConfig, save_model


def fast_config(**overrides) -> ArtifactNetConfig:
    settings = dict(n_fft=512, hop_length=512, n_mels=32, hpss_kernel=7, unet_base_width=4,
                    unet_multipliers=(1, 2, 2), cnn_widths=(4, 4, 4, 4), cnn_hidden=4)
    return ArtifactNetConfig(**{**settings, **overrides})


def fast_model(seed: int = 0, **overrides) -> ArtifactNet:
    torch.manual_seed(seed)
    return ArtifactNet(fast_config(**overrides)).eval()


def save_fast_model(path: str | Path, seed: int = 0, **overrides) -> Path:
    return save_model(fast_model(seed, **overrides), Path(path))
