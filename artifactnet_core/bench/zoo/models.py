"""Network pieces of the generator zoo: front end, bottlenecks and one decoder per family.

Every zoo generator is a small audio autoencoder ``x -> encoder -> bottleneck -> decoder -> x'``
that works at its own internal sample rate. What differs between generators is what real music
generators differ in, and what leaves a trace in their output (Afchar et al., ISMIR 2025, "A Fourier
explanation of AI-music artifacts"): the way the decoder goes from the latent frame rate
``internal_sr / total_stride`` back up to the sample rate.

- ``tconv``: transposed convolutions (SEANet / EnCodec). Stride ``s`` images the latent spectrum
  ``s`` times and the kernel's frequency response cannot cancel the images: peaks at multiples of
  ``sr / s`` (checkerboard artifacts).
- ``tconv_snake``: the same with Snake activations ``x + sin^2(a x) / a`` (DAC, BigVGAN), which
  add their own harmonics.
- ``resize_conv``: nearest or linear interpolation then convolution (the cure Odena et al. 2016
  proposed against checkerboards). The hold multiplies the spectrum by a sinc (nearest) or sinc^2
  (linear) envelope that vanishes at multiples of the rate before up-sampling: an untrained
  nearest-resize generator fed white noise shows *notches* about 11 dB deep at multiples of
  ``sr / total_stride`` where transposed, sub-pixel, iSTFT and MRF decoders show peaks 25-50 dB
  high (measured, see ``tests/test_zoo.py``).
- ``subpixel``: a convolution makes ``s`` channels that are interleaved (pixel shuffle); each
  phase has its own filter, so per-phase gain mismatch prints lines at multiples of ``sr / s``.
- ``istft``: the decoder predicts STFT magnitude and phase at the frame rate and an inverse STFT
  makes the waveform (Vocos); no learned up-sampling, but the frame-rate overlap-add leaves its own
  pattern.
- ``mrf``: HiFi-GAN generator: transposed convolutions each followed by a multi-receptive-field
  block (parallel dilated residual stacks with kernels 3 and 7, averaged).
- ``mel_vocoder``: the latent *is* a log-mel spectrogram (text-to-music systems that generate a mel
  and vocode it, such as Riffusion and MusicLDM): no learned encoder, a HiFi-GAN vocoder at a lower
  rate.

The encoders of the learned families start from a fixed log-mel front end (one frame per
``total_stride`` samples). A waveform encoder would have to learn a filterbank first; the fixed one
lets a few-hundred-thousand-parameter model follow the input after a couple of minutes of CPU
training (DESIGN.md section 8), and it leaves the decoder, where the artifacts are born, untouched.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from artifactnet_core.detector import spectral
from artifactnet_core.detector.config import SAMPLE_RATE

#: Decoder families, in the order the notebooks list them.
FAMILIES = ("tconv", "tconv_snake", "resize_conv", "subpixel", "istft", "mrf", "mel_vocoder")
#: Bottleneck kinds.
BOTTLENECKS = ("rvq", "fsq", "continuous")


@dataclass(frozen=True)
class GeneratorSpec:
    """Architecture of one zoo generator (hashable, so it can key a cache).

    Attributes
    ----------
    name : str
        Unique name, used in the benchmark manifest's ``generator`` column.
    family : str
        Decoder family, one of :data:`FAMILIES`.
    bottleneck : str
        ``"rvq"`` (residual vector quantiser), ``"fsq"`` (finite scalar quantiser) or
        ``"continuous"`` (a low-dimensional projection).
    strides : tuple of int
        Up-sampling factor of each decoder stage; their product is :attr:`total_stride`
        (latent frames per second = ``internal_sr / total_stride``).
    internal_sr : int
        Sample rate in Hz the generator runs at; audio is resampled to and from 44.1 kHz.
    width : int
        Channels of the decoder's first stage (halved at each up-sampling stage, never below 8).
    latent_dim : int
        Channels of the latent sequence between encoder and decoder.
    n_mels : int
        Bands of the encoder's log-mel front end (for ``mel_vocoder``: of the mel latent).
    n_q, codebook_size, code_dim : int
        RVQ: number of residual codebooks, entries per codebook, code dimension (DAC-style
        factorised, L2-normalised codes).
    fsq_levels : tuple of int
        FSQ: levels per latent dimension (also the continuous bottleneck's dimension count).
    resize_mode : str
        ``resize_conv`` only: ``"nearest"`` or ``"linear"`` interpolation.
    steps : int
        Training steps in the ``paper`` profile (other profiles scale it).
    lr_scale : float
        Multiplies the profile's learning rate (the iSTFT head needs a gentler one).
    """

    name: str
    family: str
    bottleneck: str
    strides: tuple[int, ...]
    internal_sr: int = SAMPLE_RATE
    width: int = 128
    latent_dim: int = 64
    n_mels: int = 64
    n_q: int = 4
    codebook_size: int = 256
    code_dim: int = 8
    fsq_levels: tuple[int, ...] = (8, 8, 8, 5, 5, 5)
    resize_mode: str = "nearest"
    steps: int = 600
    lr_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"{self.name}: unknown family {self.family!r}; choose from {FAMILIES}")
        if self.bottleneck not in BOTTLENECKS:
            raise ValueError(f"{self.name}: unknown bottleneck {self.bottleneck!r}")
        if not self.strides or any(s < 1 for s in self.strides):
            raise ValueError(f"{self.name}: strides must be positive, got {self.strides}")
        if self.resize_mode not in ("nearest", "linear"):
            raise ValueError(f"{self.name}: resize_mode must be 'nearest' or 'linear'")

    @property
    def total_stride(self) -> int:
        """Samples per latent frame at the internal rate (product of :attr:`strides`)."""
        return math.prod(self.strides)

    def to_dict(self) -> dict:
        """All fields plus ``total_stride`` as plain JSON-able values."""
        d = asdict(self)
        d["strides"] = list(self.strides)
        d["fsq_levels"] = list(self.fsq_levels)
        d["total_stride"] = self.total_stride
        return d


# ----------------------------------------------------------------------------------------------
# Front end


class LogMelFrontEnd(nn.Module):
    """Fixed log-mel analysis, one frame per ``hop`` samples (no trainable weights).

    Frame ``t`` is centred on sample ``t * hop + hop / 2``, the middle of the span the decoder
    re-synthesises from it, and a signal of ``k * hop`` samples gives exactly ``k`` frames.
    """

    def __init__(self, *, sr: int, hop: int, n_mels: int):
        super().__init__()
        self.hop = hop
        # At least 4 hops of context and at least 1024 samples for the low bands.
        self.n_fft = max(1024, 2 ** math.ceil(math.log2(4 * hop)))
        self.register_buffer("fb", spectral.mel_filterbank(sr=sr, n_fft=self.n_fft,
                                                           n_mels=n_mels), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` -> normalised log-mel ``(batch, n_mels, samples // hop)``."""
        pad = (self.n_fft - self.hop) // 2
        xp = F.pad(x.unsqueeze(1), (pad, self.n_fft - self.hop - pad), mode="reflect").squeeze(1)
        mag = spectral.stft(xp, n_fft=self.n_fft, hop_length=self.hop, center=False).abs()
        mel = spectral.mel_power(mag, self.fb)
        # log10 power around music levels (-100..0 dB) mapped to roughly -3..2.
        return (torch.log10(mel + 1e-8) + 4.0) / 2.0


# ----------------------------------------------------------------------------------------------
# Bottlenecks


class ContinuousBottleneck(nn.Module):
    """Project to a few continuous dimensions and back (as latent-diffusion VAEs do)."""

    def __init__(self, dim: int, bottleneck_dim: int | None):
        super().__init__()
        # None: no projection (the mel_vocoder latent is already a compact mel).
        self.down = nn.Identity() if bottleneck_dim is None else nn.Conv1d(dim, bottleneck_dim, 1)
        self.up = nn.Identity() if bottleneck_dim is None else nn.Conv1d(bottleneck_dim, dim, 1)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.up(self.down(z)), z.new_zeros(())


class FSQ(nn.Module):
    """Finite scalar quantisation (Mentzer et al., 2023): bound each dimension with tanh and round
    it to one of ``L`` levels, with a straight-through gradient."""

    def __init__(self, dim: int, levels: tuple[int, ...]):
        super().__init__()
        self.down = nn.Conv1d(dim, len(levels), 1)
        self.up = nn.Conv1d(len(levels), dim, 1)
        lv = torch.tensor(levels, dtype=torch.float32)
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
        h = self.down(z)
        bounded = torch.tanh(h + self.shift) * self.half_width - self.offset
        quant = bounded + (torch.round(bounded) - bounded).detach()
        return self.up(quant / self.scale), z.new_zeros(())


class MelQuantiser(nn.Module):
    """``mel_vocoder`` + ``fsq``: round each normalised log-mel value to a grid of ``step``
    (0.15 = 3 dB) within [-3, 2] (a finite scalar quantiser without projection), straight-through.
    """

    def __init__(self, step: float = 0.15):
        super().__init__()
        self.step = step

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = z.clamp(-3.0, 2.0)
        return z + (torch.round(z / self.step) * self.step - z).detach(), z.new_zeros(())


class ResidualVQ(nn.Module):
    """Residual vector quantiser with DAC's factorised, L2-normalised codes (Kumar et al., 2023).

    Each stage projects the residual to ``code_dim`` dimensions, picks the nearest code by cosine
    similarity, and projects back; the auxiliary loss is the usual codebook + 0.25 commitment MSE.
    """

    def __init__(self, dim: int, *, n_q: int, codebook_size: int, code_dim: int):
        super().__init__()
        self.down = nn.ModuleList(nn.Conv1d(dim, code_dim, 1) for _ in range(n_q))
        self.up = nn.ModuleList(nn.Conv1d(code_dim, dim, 1) for _ in range(n_q))
        self.codebooks = nn.ParameterList(nn.Parameter(torch.randn(codebook_size, code_dim))
                                          for _ in range(n_q))

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        residual, out, aux = z, torch.zeros_like(z), z.new_zeros(())
        for down, up, book in zip(self.down, self.up, self.codebooks, strict=True):
            ze = down(residual)                                   # (B, d, T)
            sim = torch.einsum("bdt,kd->btk", F.normalize(ze, dim=1), F.normalize(book, dim=1))
            zq = book[sim.argmax(-1)].transpose(1, 2)             # (B, d, T)
            aux = aux + F.mse_loss(zq, ze.detach()) + 0.25 * F.mse_loss(ze, zq.detach())
            zq = ze + (zq - ze).detach()
            step = up(zq)
            out = out + step
            residual = residual - step
        return out, aux


def make_bottleneck(spec: GeneratorSpec, dim: int) -> nn.Module:
    """Bottleneck module for ``spec`` acting on ``dim`` latent channels."""
    if spec.bottleneck == "rvq":
        return ResidualVQ(dim, n_q=spec.n_q, codebook_size=spec.codebook_size,
                          code_dim=spec.code_dim)
    if spec.bottleneck == "fsq":
        return MelQuantiser() if spec.family == "mel_vocoder" else FSQ(dim, spec.fsq_levels)
    if spec.family == "mel_vocoder":
        return ContinuousBottleneck(dim, None)
    return ContinuousBottleneck(dim, 2 * len(spec.fsq_levels))


# ----------------------------------------------------------------------------------------------
# Building blocks


class Snake(nn.Module):
    """Snake activation ``x + sin^2(alpha x) / alpha`` with a learned ``alpha`` per channel."""

    def __init__(self, channels: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.sin(self.alpha * x).square() / (self.alpha + 1e-9)


def _act(kind: str, channels: int) -> nn.Module:
    if kind == "snake":
        return Snake(channels)
    if kind == "lrelu":
        return nn.LeakyReLU(0.1)
    return nn.ELU()


class ResUnit(nn.Module):
    """Dilated residual unit: act, conv k (dilation d), act, 1x1 conv, plus the input."""

    def __init__(self, channels: int, *, kernel: int = 3, dilation: int = 1, act: str = "elu"):
        super().__init__()
        self.block = nn.Sequential(
            _act(act, channels),
            nn.Conv1d(channels, channels, kernel, dilation=dilation,
                      padding=dilation * (kernel - 1) // 2),
            _act(act, channels), nn.Conv1d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class MRF(nn.Module):
    """HiFi-GAN multi-receptive-field fusion: the mean of residual stacks with different kernels."""

    def __init__(self, channels: int, *, kernels: tuple[int, ...] = (3, 7),
                 dilations: tuple[int, ...] = (1, 3)):
        super().__init__()
        self.stacks = nn.ModuleList(
            nn.Sequential(*(ResUnit(channels, kernel=k, dilation=d, act="lrelu")
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


# ----------------------------------------------------------------------------------------------
# Encoders and decoders


class MelEncoder(nn.Module):
    """Log-mel front end, a 3-tap convolution and two residual units -> ``latent_dim`` channels."""

    def __init__(self, spec: GeneratorSpec, hidden: int = 96):
        super().__init__()
        self.frontend = LogMelFrontEnd(sr=spec.internal_sr, hop=spec.total_stride,
                                       n_mels=spec.n_mels)
        self.net = nn.Sequential(
            nn.Conv1d(spec.n_mels, hidden, 3, padding=1),
            ResUnit(hidden, dilation=1), ResUnit(hidden, dilation=2), nn.ELU(),
            nn.Conv1d(hidden, spec.latent_dim, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.frontend(x))


class MelLatent(nn.Module):
    """``mel_vocoder``: the latent is the normalised log-mel itself (nothing to learn)."""

    def __init__(self, spec: GeneratorSpec):
        super().__init__()
        self.frontend = LogMelFrontEnd(sr=spec.internal_sr, hop=spec.total_stride,
                                       n_mels=spec.n_mels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.frontend(x)


def _widths(spec: GeneratorSpec) -> list[int]:
    return [max(8, spec.width // 2**i) for i in range(len(spec.strides) + 1)]


class UpsamplingDecoder(nn.Module):
    """Conv in, one (up-sampler + refinement) stage per stride, conv out.

    The up-sampler is what the family is about (transposed / resize / sub-pixel); the refinement
    after it is two dilated residual units (SEANet, DAC) or an MRF block (HiFi-GAN). Stages whose
    output rate is above a quarter of the sample rate have no refinement: on a CPU they would cost
    more than all the others together, and the family's up-sampling artifact is born in the
    up-sampler anyway.
    """

    def __init__(self, spec: GeneratorSpec, in_dim: int):
        super().__init__()
        w = _widths(spec)
        act = "snake" if spec.family == "tconv_snake" else (
            "lrelu" if spec.family in ("mrf", "mel_vocoder") else "elu")
        self.inp = nn.Conv1d(in_dim, w[0], 7, padding=3)
        stages = []
        for i, s in enumerate(spec.strides):
            if spec.family == "resize_conv":
                up = ResizeUp(w[i], w[i + 1], s, spec.resize_mode)
            elif spec.family == "subpixel":
                up = SubPixelUp(w[i], w[i + 1], s)
            else:
                up = TransposedUp(w[i], w[i + 1], s)
            if math.prod(spec.strides[:i + 1]) * 4 > spec.total_stride:
                # Stages above a quarter of the sample rate: the up-sampler alone (cost).
                refine = nn.Identity()
            elif spec.family in ("mrf", "mel_vocoder"):
                refine = MRF(w[i + 1])
            else:
                refine = nn.Sequential(ResUnit(w[i + 1], dilation=1, act=act),
                                       ResUnit(w[i + 1], dilation=3, act=act))
            stages.append(nn.Sequential(_act(act, w[i]), up, refine))
        self.stages = nn.Sequential(*stages)
        self.out = nn.Sequential(_act(act, w[-1]), nn.Conv1d(w[-1], 1, 7, padding=3))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.stages(self.inp(z))).squeeze(1)


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


class ISTFTDecoder(nn.Module):
    """Vocos-like head: ConvNeXt blocks at the frame rate predict log-magnitude and phase of an
    STFT with hop ``total_stride`` and ``n_fft = 4 * hop``; an inverse STFT makes the waveform."""

    def __init__(self, spec: GeneratorSpec, in_dim: int, n_blocks: int = 3):
        super().__init__()
        self.hop = spec.total_stride
        self.n_fft = 4 * self.hop
        self.inp = nn.Conv1d(in_dim, spec.width, 7, padding=3)
        self.blocks = nn.Sequential(*(ConvNeXtBlock(spec.width) for _ in range(n_blocks)))
        self.norm = nn.LayerNorm(spec.width)
        self.head = nn.Linear(spec.width, 2 * (self.n_fft // 2 + 1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.blocks(self.inp(z)).transpose(1, 2))
        logmag, phase = self.head(h).transpose(1, 2).chunk(2, dim=1)
        # Soft upper bound (e^8 is above any music STFT bin) that keeps a gradient, unlike clamp.
        logmag = logmag - F.softplus(logmag - 8.0)
        spec = torch.exp(logmag) * torch.exp(1j * phase)
        frames = z.shape[-1]
        y = spectral.istft(spec, n_fft=self.n_fft, hop_length=self.hop,
                           length=(frames + 1) * self.hop)
        # istft centres frame t on sample t * hop; ours is centred on t * hop + hop / 2.
        return y[..., : frames * self.hop] if self.hop % 2 else F.pad(
            y, (self.hop // 2, 0))[..., : frames * self.hop]


class Generator(nn.Module):
    """A zoo generator: ``(batch, samples)`` at ``spec.internal_sr`` -> same shape.

    ``samples`` must be a multiple of ``spec.total_stride``; :func:`artifactnet_core.bench.zoo.
    regenerate` pads and resamples arbitrary audio for you.
    """

    def __init__(self, spec: GeneratorSpec):
        super().__init__()
        self.spec = spec
        if spec.family == "mel_vocoder":
            self.encoder = MelLatent(spec)
            dim = spec.n_mels
        else:
            self.encoder = MelEncoder(spec)
            dim = spec.latent_dim
        self.bottleneck = make_bottleneck(spec, dim)
        if spec.family == "istft":
            self.decoder = ISTFTDecoder(spec, dim)
        else:
            self.decoder = UpsamplingDecoder(spec, dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the reconstruction and the bottleneck's auxiliary loss (0 when none)."""
        if x.shape[-1] % self.spec.total_stride:
            raise ValueError(f"length {x.shape[-1]} is not a multiple of the stride "
                             f"{self.spec.total_stride}")
        zq, aux = self.bottleneck(self.encoder(x))
        return self.decoder(zq), aux


def build_generator(spec: GeneratorSpec) -> Generator:
    """Instantiate the (untrained) network described by ``spec``.
    """
    return Generator(spec)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``. """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


_FILTERBANKS: dict[tuple, torch.Tensor] = {}


def cached_mel_filterbank(sr: int, n_fft: int, n_mels: int, device: torch.device) -> torch.Tensor:
    """:func:`artifactnet_core.detector.spectral.mel_filterbank`, computed once per
    (rate, FFT size, bands, device): the zoo's losses and quality metrics call it per step."""
    key = (sr, n_fft, n_mels, str(device))
    if key not in _FILTERBANKS:
        _FILTERBANKS[key] = spectral.mel_filterbank(sr=sr, n_fft=n_fft, n_mels=n_mels,
                                                    device=device)
    return _FILTERBANKS[key]
