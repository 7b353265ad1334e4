"""ArtifactUNet: a bounded-mask UNet that extracts the forensic residual of a spectrogram.

The network sees the log-compressed, loudness-normalised magnitude ``|X|`` and predicts a mask
``M`` bounded to ``[0, mask_bound]`` (paper: 0.5). The residual is ``R = M * |X|``: a fraction of
the input's own energy, never more than half of it, so the UNet can only *select* what looks like
an artifact, never invent energy that is not there.
"""

from __future__ import annotations

import contextlib
import os

import torch
from torch import nn
from torch.nn import functional as F

from artifactnet_core.detector.config import MASK_BOUND, UNET_BASE_WIDTH, UNET_MULTIPLIERS


def bf16_inference_available(device: torch.device | str) -> bool:
    """Whether bfloat16 convolutions are fast on ``device`` (recent x86 CPUs with AVX-512 BF16
    or AMX, and GPUs from Ampere on). ``ARTIFACTNET_BF16=0`` turns bfloat16 off everywhere."""
    if os.environ.get("ARTIFACTNET_BF16", "1") == "0":
        return False
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class DoubleConv(nn.Module):
    """Two 3x3 convolutions, each followed by batch norm and ReLU."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class ArtifactUNet(nn.Module):
    """Four-level 2-D UNet over (frequency, time) that outputs a bounded mask.

    Parameters
    ----------
    base_width : int
        Channels of the first level (paper: 32). Level ``k`` has ``base_width * multipliers[k]``.
    multipliers : tuple of int
        Width of each level relative to the first; one 2x down-sampling step between levels.
        The default (1, 2, 4, 6, 8) doubles the width at the top levels and grows it more slowly
        at the bottom, which keeps the bottleneck at 256 channels and the whole net at about
        3.7M parameters with base width 32 (paper: about 3.6M).
    mask_bound : float or None
        Upper bound of the mask (paper: 0.5); ``None`` leaves the mask unbounded (softplus), an
        ablation in notebook ``07_ablations_controls``.
    """

    def __init__(self, *, base_width: int = UNET_BASE_WIDTH,
                 multipliers: tuple[int, ...] = UNET_MULTIPLIERS,
                 mask_bound: float | None = MASK_BOUND):
        super().__init__()
        widths = [base_width * m for m in multipliers]
        depth = len(widths) - 1
        self.depth = depth
        self.mask_bound = mask_bound
        self.inc = DoubleConv(1, widths[0])
        self.down = nn.ModuleList(DoubleConv(widths[k], widths[k + 1]) for k in range(depth))
        # Bilinear up-sampling + convolution: transposed convolutions would print their own
        # checkerboard into the mask, the very artifact this model hunts for.
        self.up = nn.ModuleList(
            DoubleConv(widths[k + 1] + widths[k], widths[k]) for k in reversed(range(depth))
        )
        self.head = nn.Conv2d(widths[0], 1, 1)

    @staticmethod
    def chunk_scale(mag: torch.Tensor) -> torch.Tensor:
        """RMS of each item's magnitudes, shape ``(batch, 1, 1)``: the loudness reference."""
        return mag.square().mean(dim=(-2, -1), keepdim=True).sqrt()

    @classmethod
    def normalise(cls, mag: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        """Network input: ``log1p`` of the magnitude divided by its RMS over the chunk.

        Dividing by the RMS makes the mask independent of playback gain. Training on crops
        passes the whole chunk's ``scale`` so that crops see what whole chunks see.
        """
        scale = cls.chunk_scale(mag) if scale is None else scale
        return torch.log1p(mag / (scale + 1e-8))

    def mask(self, mag: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        """Predict the mask ``M`` for magnitudes ``(batch, freq, frames)``; same shape out."""
        x = self.normalise(mag, scale).unsqueeze(1)
        freq, frames = x.shape[-2:]
        mult = 2**self.depth
        pad_f, pad_t = (-freq) % mult, (-frames) % mult
        x = F.pad(x, (0, pad_t, 0, pad_f))
        skips = [self.inc(x)]
        for block in self.down:
            skips.append(block(F.max_pool2d(skips[-1], 2)))
        y = skips.pop()
        for block in self.up:
            skip = skips.pop()
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = block(torch.cat([y, skip], dim=1))
        logits = self.head(y)[:, 0, :freq, :frames]
        if self.mask_bound is None:
            return F.softplus(logits)
        return self.mask_bound * torch.sigmoid(logits)

    def forward(self, mag: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        """Return the residual ``R = M * |X|`` for magnitudes ``(batch, freq, frames)``."""
        return self.mask(mag, scale) * mag

    @torch.no_grad()
    def infer(self, mag: torch.Tensor) -> torch.Tensor:
        """The residual for inference (no gradients), float32 out.

        Where bfloat16 is fast (:func:`bf16_inference_available`) the convolutions run in
        bfloat16 - 2-3x faster on a CPU with AVX-512 BF16 - while the mask and the product with
        ``|X|`` stay in float32. Feature extraction for training and ``artifactnet detect`` both
        go through here, so they always see the same residual.
        """
        use_bf16 = bf16_inference_available(mag.device)
        ctx = (torch.autocast(mag.device.type, dtype=torch.bfloat16) if use_bf16
               else contextlib.nullcontext())
        with ctx:
            mask = self.mask(mag)
        return mask.float() * mag
