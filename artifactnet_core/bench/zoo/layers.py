"""Building blocks of the zoo generators: fixed front ends, bottlenecks, up-samplers and
refinement blocks (assembled into generators by :mod:`artifactnet_core.bench.zoo.models`).

The up-samplers are where the decoder families differ, and where their artifacts are born; the
decoder families are taught in ``01_residual_physics``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from artifactnet_core.detector import spectral

# ----------------------------------------------------------------------------------------------
# Front ends (no trainable weights)


def _frame_pad(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    # Frame t centred on sample t * hop + hop / 2 (the middle of the span the decoder
    # re-synthesises from it); a signal of k * hop samples gives exactly k frames.
    pad = (n_fft - hop) // 2
    return F.pad(x.unsqueeze(1), (pad, n_fft - hop - pad), mode="reflect").squeeze(1)


class LogMelFrontEnd(nn.Module):
    """Fixed log-mel analysis, one frame per ``hop`` samples: ``(batch, samples)`` ->
    ``(batch, n_mels, samples // hop)``, log10 power mapped to roughly -3..2."""

    def __init__(self, *, sr: int, hop: int, n_mels: int):
        super().__init__()
        self.hop = hop
        # At least 4 hops of context and at least 1024 samples for the low bands.
        self.n_fft = max(1024, 2 ** math.ceil(math.log2(4 * hop)))
        self.register_buffer("fb", spectral.mel_filterbank(sr=sr, n_fft=self.n_fft,
                                                           n_mels=n_mels), persistent=False)
        self.out_channels = n_mels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mag = spectral.stft(_frame_pad(x, self.n_fft, self.hop), n_fft=self.n_fft,
                            hop_length=self.hop, center=False).abs()
        return (torch.log10(spectral.mel_power(mag, self.fb) + 1e-8) + 4.0) / 2.0


class ComplexSTFTFrontEnd(nn.Module):
    """Fixed complex STFT (hop ``hop``, window two hops), magnitude compressed to ``|X|^0.3`` with
    the phase kept, real and imaginary parts as ``2 (hop + 1)`` channels.

    A log-mel alone throws the phase away, and a decoder that must invent it cannot follow the
    waveform: zoo v1 generators that started from a log-mel reached an envelope correlation of
    0.39-0.77 with their input. With the phase in the latent the same decoders reach 0.9.
    """

    def __init__(self, hop: int, compress: float = 0.3):
        super().__init__()
        self.hop, self.n_fft, self.compress = hop, 2 * hop, compress
        self.out_channels = 2 * (self.n_fft // 2 + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = spectral.stft(_frame_pad(x, self.n_fft, self.hop), n_fft=self.n_fft,
                             hop_length=self.hop, center=False)
        spec = spec * (spec.abs() + 1e-5) ** (self.compress - 1.0)
        return torch.cat([spec.real, spec.imag], dim=1)


class StftMelFrontEnd(nn.Module):
    """Both views stacked as channels: the log-mel (levels, easy to learn from) and the
    compressed complex STFT (the phase)."""

    def __init__(self, *, sr: int, hop: int, n_mels: int):
        super().__init__()
        self.mel = LogMelFrontEnd(sr=sr, hop=hop, n_mels=n_mels)
        self.cplx = ComplexSTFTFrontEnd(hop)
        self.out_channels = self.mel.out_channels + self.cplx.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.mel(x), self.cplx(x)], dim=1)


# ----------------------------------------------------------------------------------------------
# Bottlenecks: module(z) -> (quantised z, auxiliary loss)


class ContinuousBottleneck(nn.Module):
    """Project to a few continuous dimensions and back (as latent-diffusion VAEs do);
    ``bottleneck_dim=None`` passes the latent through (a mel latent is already compact)."""

    def __init__(self, dim: int, bottleneck_dim: int | None):
        super().__init__()
        self.down = nn.Identity() if bottleneck_dim is None else nn.Conv1d(dim, bottleneck_dim, 1)
        self.up = nn.Identity() if bottleneck_dim is None else nn.Conv1d(bottleneck_dim, dim, 1)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.up(self.down(z)), z.new_zeros(())


class FSQ(nn.Module):
    """Finite scalar quantisation (Mentzer et al., 2023): ``n_dims`` dimensions, each bounded
    with tanh and rounded to one of ``levels`` levels, straight-through gradient."""

    def __init__(self, dim: int, n_dims: int, levels: int):
        super().__init__()
        self.down = nn.Conv1d(dim, n_dims, 1)
        self.up = nn.Conv1d(n_dims, dim, 1)
        lv = torch.full((n_dims,), float(levels))
        half = (lv - 1) * (1 - 1e-3) / 2
        offset = torch.where(lv % 2 == 0, 0.5, 0.0)
        self.register_buffer("half_width", half[:, None], persistent=False)
        self.register_buffer("offset", offset[:, None], persistent=False)
        self.register_buffer("shift", torch.atanh(offset / half)[:, None], persistent=False)
        self.register_buffer("scale", (lv // 2)[:, None], persistent=False)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Normalise each frame first: an encoder whose output grows would otherwise saturate the
        # tanh, every code would freeze at one corner and the decoder would see a constant.
        z = F.layer_norm(z.transpose(1, 2), (z.shape[1],)).transpose(1, 2)
        bounded = torch.tanh(self.down(z) + self.shift) * self.half_width - self.offset
        quant = bounded + (torch.round(bounded) - bounded).detach()
        return self.up(quant / self.scale), z.new_zeros(())


class MelQuantiser(nn.Module):
    """Round each normalised log-mel value to a grid of ``step`` (0.15 = 3 dB) within [-3, 2]
    (a finite scalar quantiser without projection), straight-through."""

    def __init__(self, step: float = 0.15):
        super().__init__()
        self.step = step

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = z.clamp(-3.0, 2.0)
        return z + (torch.round(z / self.step) * self.step - z).detach(), z.new_zeros(())


class ResidualVQ(nn.Module):
    """Residual vector quantiser with DAC's factorised, L2-normalised codes (Kumar et al., 2023).

    Each stage projects the residual to ``code_dim`` dimensions, picks the nearest code by cosine
    similarity and projects back; the auxiliary loss is codebook + 0.25 x commitment MSE in the
    normalised space. Codes unused for ``restart_every`` training calls are re-seeded from this
    batch's encoder outputs (torch's RNG, so seeded runs repeat).
    """

    def __init__(self, dim: int, *, n_q: int, codebook_size: int, code_dim: int,
                 restart_every: int = 50):
        super().__init__()
        self.down = nn.ModuleList(nn.Conv1d(dim, code_dim, 1) for _ in range(n_q))
        self.up = nn.ModuleList(nn.Conv1d(code_dim, dim, 1) for _ in range(n_q))
        self.codebooks = nn.ParameterList(nn.Parameter(torch.randn(codebook_size, code_dim))
                                          for _ in range(n_q))
        self.restart_every = restart_every
        self.register_buffer("usage", torch.zeros(n_q, codebook_size), persistent=False)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long), persistent=False)

    def _restart_dead(self, q: int, book: torch.Tensor, ze: torch.Tensor) -> None:
        dead = self.usage[q] == 0
        n_dead = int(dead.sum())
        if n_dead:
            flat = ze.detach().transpose(1, 2).reshape(-1, ze.shape[1])
            book.data[dead] = flat[torch.randint(len(flat), (n_dead,), device=ze.device)]
        self.usage[q].zero_()

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        residual, out, aux = z, torch.zeros_like(z), z.new_zeros(())
        restart = self.training and (int(self.calls) + 1) % self.restart_every == 0
        for q, (down, up, book) in enumerate(zip(self.down, self.up, self.codebooks, strict=True)):
            ze = down(residual)                                               # (B, d, T)
            zn = F.normalize(ze, dim=1)
            idx = torch.einsum("bdt,kd->btk", zn, F.normalize(book, dim=1)).argmax(-1)
            if self.training:
                with torch.no_grad():
                    self.usage[q].index_add_(0, idx.flatten(),
                                             torch.ones(idx.numel(), device=z.device))
                    if restart:
                        self._restart_dead(q, book, ze)
            zqn = F.normalize(book[idx].transpose(1, 2), dim=1)
            aux = aux + F.mse_loss(zqn, zn.detach()) + 0.25 * F.mse_loss(zn, zqn.detach())
            step = up(zn + (zqn - zn).detach())
            out = out + step
            residual = residual - step
        if self.training:
            self.calls += 1
        return out, aux


class SplitBottleneck(nn.Module):
    """Two bottlenecks side by side: the first ``split`` channels through ``first``, the rest
    through ``second`` (a mel latent and a learned fine-structure latent)."""

    def __init__(self, split: int, first: nn.Module, second: nn.Module):
        super().__init__()
        self.split, self.first, self.second = split, first, second

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, aux_a = self.first(z[:, :self.split])
        b, aux_b = self.second(z[:, self.split:])
        return torch.cat([a, b], dim=1), aux_a + aux_b


# ----------------------------------------------------------------------------------------------
# Activations, residual units, up-samplers


class Snake(nn.Module):
    """Snake activation ``x + sin^2(alpha x) / alpha`` with a learned ``alpha`` per channel."""

    def __init__(self, channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.sin(self.alpha * x).square() / (self.alpha + 1e-9)


def act(kind: str, channels: int) -> nn.Module:
    """The activation called ``kind``: ``"snake"``, ``"lrelu"`` (slope 0.1) or ELU."""
    if kind == "snake":
        return Snake(channels)
    if kind == "lrelu":
        return nn.LeakyReLU(0.1)
    return nn.ELU()


class ResUnit(nn.Module):
    """Dilated residual unit: act, conv k (dilation d), act, 1x1 conv, plus the input."""

    def __init__(self, channels: int, *, kernel: int = 3, dilation: int = 1, kind: str = "elu"):
        super().__init__()
        self.block = nn.Sequential(
            act(kind, channels),
            nn.Conv1d(channels, channels, kernel, dilation=dilation,
                      padding=dilation * (kernel - 1) // 2),
            act(kind, channels), nn.Conv1d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class MRF(nn.Module):
    """HiFi-GAN multi-receptive-field fusion: the mean of residual stacks with different kernels."""

    def __init__(self, channels: int, *, kernels: tuple[int, ...] = (3, 7),
                 dilations: tuple[int, ...] = (1, 3)):
        super().__init__()
        self.stacks = nn.ModuleList(
            nn.Sequential(*(ResUnit(channels, kernel=k, dilation=d, kind="lrelu")
                            for d in dilations)) for k in kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(stack(x) for stack in self.stacks) / len(self.stacks)


class TransposedUp(nn.Module):
    """Transposed convolution with stride ``s`` and kernel ``2 s``, trimmed to exactly ``s x``.

    The weight is an ordinary ``ConvTranspose1d`` weight ``(c_in, c_out, 2 s)``, but the product
    is computed in its polyphase form: output phase ``p`` of step ``n`` is
    ``w[:, :, p] . x[n] + w[:, :, p + s] . x[n - 1]``, i.e. one 2-tap convolution with ``s c_out``
    outputs whose channels are interleaved. The result equals ``F.conv_transpose1d`` (a test
    checks it) and runs several times faster on CPUs, where PyTorch's transposed convolution is
    slow for these shapes.
    """

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.stride, self.c_out = stride, c_out
        ref = nn.ConvTranspose1d(c_in, c_out, 2 * stride, stride=stride)  # PyTorch's init
        self.weight = nn.Parameter(ref.weight.detach().clone())
        self.bias = nn.Parameter(ref.bias.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, c_out = self.stride, self.c_out
        b, c_in, t = x.shape
        # Taps (x[n-1], x[n]) -> weights (w[p + s], w[p]) for every phase p.
        w = torch.stack([self.weight[:, :, s:], self.weight[:, :, :s]], dim=-1)
        w = w.permute(1, 2, 0, 3).reshape(c_out * s, c_in, 2)
        y = F.conv1d(F.pad(x, (1, 1)), w)                            # (b, c_out * s, t + 1)
        y = y.view(b, c_out, s, t + 1).transpose(2, 3).reshape(b, c_out, (t + 1) * s)
        half = s // 2
        return y[..., half:half + t * s] + self.bias[:, None]


class ResizeUp(nn.Module):
    """Interpolation (nearest or linear) by ``s`` then a convolution of kernel ``2 s + 1``."""

    def __init__(self, c_in: int, c_out: int, stride: int, mode: str):
        super().__init__()
        self.stride, self.mode = stride, mode
        k = 2 * stride + 1
        self.conv = nn.Conv1d(c_in, c_out, k, padding=k // 2)
        # Variance-preserving start: the interpolated input is smooth, so a random kernel sums
        # about ``s`` nearly equal samples with random signs and shrinks the signal by about
        # sqrt(s) per stage. Unscaled, an untrained (8, 5, 4, 2) decoder starts 40 dB below its
        # input, and the linear-resize generator never recovered within its CPU budget.
        with torch.no_grad():
            self.conv.weight.mul_(math.sqrt(stride))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kw = {"align_corners": False} if self.mode == "linear" else {}
        return self.conv(F.interpolate(x, scale_factor=self.stride, mode=self.mode, **kw))


class SubPixelUp(nn.Module):
    """Sub-pixel convolution: a conv makes ``s * c_out`` channels, interleaved in time."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.stride, self.c_out = stride, c_out
        self.conv = nn.Conv1d(c_in, c_out * stride, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t = x.shape
        y = self.conv(x).view(b, self.c_out, self.stride, t)
        return y.permute(0, 1, 3, 2).reshape(b, self.c_out, t * self.stride)


class ConvNeXtBlock(nn.Module):
    """Vocos' ConvNeXt block: depthwise conv 7, layer norm, 1x1 expand x3, GELU, 1x1 project."""

    def __init__(self, channels: int):
        super().__init__()
        self.dw = nn.Conv1d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels)
        self.pw1 = nn.Linear(channels, 3 * channels)
        self.pw2 = nn.Linear(3 * channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.dw(x).transpose(1, 2))
        return x + self.pw2(F.gelu(self.pw1(h))).transpose(1, 2)

