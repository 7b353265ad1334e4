"""Zoo generators: the spec of one generator and how it is assembled from
:mod:`~artifactnet_core.bench.zoo.layers` (encoder, bottleneck, one decoder per family).

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
  nearest-resize generator fed white noise shows *notches* at multiples of ``sr / total_stride``
  where transposed, sub-pixel, iSTFT and MRF decoders show peaks (see ``tests/test_zoo.py``).
- ``subpixel``: a convolution makes ``s`` channels that are interleaved (pixel shuffle); each
  phase has its own filter, so per-phase gain mismatch prints lines at multiples of ``sr / s``.
- ``istft``: the decoder predicts STFT magnitude and phase at the frame rate and an inverse STFT
  makes the waveform (Vocos); no learned up-sampling, but the frame-rate overlap-add leaves its own
  pattern.
- ``mrf``: HiFi-GAN generator: transposed convolutions each followed by a multi-receptive-field
  block (parallel dilated residual stacks with kernels 3 and 7, averaged).
- ``mel_vocoder``: the latent is a log-mel spectrogram (text-to-music systems that generate a mel
  and vocode it, such as Riffusion and MusicLDM), optionally with a small learned fine-structure
  latent beside it (``encoder="mel+phase"``); a HiFi-GAN vocoder decodes it.

The learned encoders start from fixed analyses (:class:`~.layers.StftMelFrontEnd`: a log-mel for
the levels and a compressed *complex* STFT for the phase, one frame per ``total_stride`` samples).
The front end is not where artifacts are born; giving the decoder the phase lets a one-million-
parameter model follow its input closely after an hour of CPU training, so that a regeneration
differs from its input in decoder fine structure rather than in gross errors (DESIGN.md section 8).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from artifactnet_core.bench.zoo.layers import (
    FSQ,
    MRF,
    ComplexSTFTFrontEnd,
    ContinuousBottleneck,
    ConvNeXtBlock,
    LogMelFrontEnd,
    MelQuantiser,
    ResidualVQ,
    ResizeUp,
    ResUnit,
    SplitBottleneck,
    StftMelFrontEnd,
    SubPixelUp,
    TransposedUp,
    act,
)
from artifactnet_core.detector import spectral
from artifactnet_core.detector.config import SAMPLE_RATE

#: Decoder families, in the order the notebooks list them.
FAMILIES = ("tconv", "tconv_snake", "resize_conv", "subpixel", "istft", "mrf", "mel_vocoder")
#: Bottleneck kinds.
BOTTLENECKS = ("rvq", "fsq", "continuous")
#: Encoder inputs: complex STFT, log-mel + complex STFT, log-mel, log-mel latent + learned fine
#: latent (``mel_vocoder``).
ENCODERS = ("stft", "stft+mel", "mel", "mel+phase")


@dataclass(frozen=True)
class GeneratorSpec:
    """Architecture and training recipe of one zoo generator (hashable: it keys the cache).

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
    encoder : str
        Encoder input, one of :data:`ENCODERS`; with ``family="mel_vocoder"``, ``"mel"`` makes
        the log-mel itself the latent.
    enc_width, enc_blocks : int
        Channels and residual units of the learned encoder (at the frame rate).
    width, min_width : int
        Channels of the decoder's first stage (halved at each up-sampling stage, never below
        ``min_width``).
    refine_blocks : int
        Residual units after each up-sampler (MRF blocks for ``mrf`` / ``mel_vocoder``).
    refine_top : bool
        Also refine stages whose output rate is above a quarter of the sample rate (CPU cost).
    latent_dim : int
        Continuous dimensions, FSQ dimensions, or the RVQ's input channels.
    n_q, codebook_size, code_dim : int
        RVQ: residual codebooks, entries per codebook, code dimension.
    fsq_levels : int
        FSQ: levels per dimension.
    n_mels : int
        Bands of the log-mel front end or mel latent.
    phase_dim : int
        ``encoder="mel+phase"``: channels of the learned fine-structure latent.
    resize_mode : str
        ``resize_conv`` only: ``"nearest"`` or ``"linear"`` interpolation.
    istft_blocks : int
        ``istft`` only: ConvNeXt blocks before the STFT head.
    steps : int
        Training steps in the ``paper`` and ``laptop`` profiles (``smoke`` scales it).
    lr : float
        Peak Adam learning rate.
    batch : int
        Crops per step.
    crop_s : float
        Crop length in seconds (rounded to whole latent frames).
    wave_weight, mel_weight, env_weight : float
        Weights of the waveform L1, 128-band log-mel L1 and loudness-envelope terms of the loss
        (:func:`artifactnet_core.bench.zoo.training.generator_loss`).
    """

    name: str
    family: str
    bottleneck: str
    strides: tuple[int, ...]
    internal_sr: int = SAMPLE_RATE
    encoder: str = "stft+mel"
    enc_width: int = 128
    enc_blocks: int = 2
    width: int = 128
    min_width: int = 16
    refine_blocks: int = 2
    refine_top: bool = False
    latent_dim: int = 64
    n_q: int = 12
    codebook_size: int = 512
    code_dim: int = 8
    fsq_levels: int = 7
    n_mels: int = 128
    phase_dim: int = 0
    resize_mode: str = "nearest"
    istft_blocks: int = 3
    steps: int = 2000
    lr: float = 2e-3
    batch: int = 8
    crop_s: float = 0.4
    wave_weight: float = 1.0
    mel_weight: float = 1.0
    env_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"{self.name}: unknown family {self.family!r}; choose from {FAMILIES}")
        if self.bottleneck not in BOTTLENECKS:
            raise ValueError(f"{self.name}: unknown bottleneck {self.bottleneck!r}")
        if self.encoder not in ENCODERS:
            raise ValueError(f"{self.name}: unknown encoder {self.encoder!r}; choose from {ENCODERS}")
        if self.encoder == "mel+phase" and (self.family != "mel_vocoder" or self.phase_dim < 1):
            raise ValueError(f"{self.name}: encoder 'mel+phase' needs family 'mel_vocoder' and "
                             f"phase_dim >= 1")
        if not self.strides or any(s < 1 for s in self.strides):
            raise ValueError(f"{self.name}: strides must be positive, got {self.strides}")
        if self.resize_mode not in ("nearest", "linear"):
            raise ValueError(f"{self.name}: resize_mode must be 'nearest' or 'linear'")

    @property
    def total_stride(self) -> int:
        """Samples per latent frame at the internal rate (product of :attr:`strides`)."""
        return math.prod(self.strides)

    @property
    def mel_latent(self) -> bool:
        """Whether the latent is (or starts with) a log-mel spectrogram rather than learned."""
        return self.family == "mel_vocoder" and self.encoder in ("mel", "mel+phase")

    def to_dict(self) -> dict:
        """All fields plus ``total_stride`` as plain JSON-able values."""
        d = asdict(self)
        d["strides"] = list(self.strides)
        d["total_stride"] = self.total_stride
        return d

    @staticmethod
    def from_dict(d: dict) -> GeneratorSpec:
        """Inverse of :meth:`to_dict`."""
        d = {k: v for k, v in d.items() if k != "total_stride"}
        return GeneratorSpec(**{**d, "strides": tuple(d["strides"])})


# ----------------------------------------------------------------------------------------------
# Encoders


def _front_end(spec: GeneratorSpec, encoder: str) -> nn.Module:
    hop = spec.total_stride
    if encoder == "stft":
        return ComplexSTFTFrontEnd(hop)
    if encoder == "stft+mel":
        return StftMelFrontEnd(sr=spec.internal_sr, hop=hop, n_mels=spec.n_mels)
    return LogMelFrontEnd(sr=spec.internal_sr, hop=hop, n_mels=spec.n_mels)


class Encoder(nn.Module):
    """Front end -> 1x1 conv -> ``enc_blocks`` dilated residual units at the frame rate ->
    ``out_dim`` channels."""

    def __init__(self, spec: GeneratorSpec, out_dim: int, *, encoder: str | None = None):
        super().__init__()
        self.frontend = _front_end(spec, encoder or spec.encoder)
        w = spec.enc_width
        layers = [nn.Conv1d(self.frontend.out_channels, w, 1)]
        layers += [ResUnit(w, dilation=3**i) for i in range(spec.enc_blocks)]
        layers += [nn.ELU(), nn.Conv1d(w, out_dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.frontend(x))


class MelLatentEncoder(nn.Module):
    """``mel_vocoder``: the latent is the normalised log-mel itself, plus (``phase_dim > 0``)
    ``phase_dim`` learned channels from the complex STFT, which carry what a mel cannot: the
    phase and fine structure."""

    def __init__(self, spec: GeneratorSpec):
        super().__init__()
        self.mel = LogMelFrontEnd(sr=spec.internal_sr, hop=spec.total_stride, n_mels=spec.n_mels)
        self.fine = Encoder(spec, spec.phase_dim, encoder="stft") if spec.phase_dim else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mel = self.mel(x)
        return mel if self.fine is None else torch.cat([mel, self.fine(x)], dim=1)


def latent_channels(spec: GeneratorSpec) -> int:
    """Channels of the sequence between encoder and decoder."""
    if spec.mel_latent:
        return spec.n_mels + spec.phase_dim
    return spec.latent_dim if spec.bottleneck == "rvq" else spec.enc_width


def make_bottleneck(spec: GeneratorSpec, dim: int) -> nn.Module:
    """Bottleneck module for ``spec`` acting on ``dim`` latent channels."""
    if spec.mel_latent:
        mel = MelQuantiser() if spec.bottleneck == "fsq" else ContinuousBottleneck(1, None)
        if not spec.phase_dim:
            return mel
        fine = (FSQ(spec.phase_dim, spec.phase_dim, spec.fsq_levels) if spec.bottleneck == "fsq"
                else ContinuousBottleneck(spec.phase_dim, None))
        return SplitBottleneck(spec.n_mels, mel, fine)
    if spec.bottleneck == "rvq":
        return ResidualVQ(dim, n_q=spec.n_q, codebook_size=spec.codebook_size,
                          code_dim=spec.code_dim)
    if spec.bottleneck == "fsq":
        return FSQ(dim, spec.latent_dim, spec.fsq_levels)
    return ContinuousBottleneck(dim, spec.latent_dim)


# ----------------------------------------------------------------------------------------------
# Decoders


def _widths(spec: GeneratorSpec) -> list[int]:
    return [max(spec.min_width, spec.width // 2**i) for i in range(len(spec.strides) + 1)]


class UpsamplingDecoder(nn.Module):
    """Conv in, one (up-sampler + refinement) stage per stride, conv out.

    The up-sampler is what the family is about (transposed / resize / sub-pixel); the refinement
    after it is ``refine_blocks`` dilated residual units (SEANet, DAC) or an MRF block (HiFi-GAN).
    Stages whose output rate is above a quarter of the sample rate are not refined unless
    ``refine_top``: on a CPU they would cost more than all the others together, and the family's
    up-sampling artifact is born in the up-sampler anyway.
    """

    def __init__(self, spec: GeneratorSpec, in_dim: int):
        super().__init__()
        w = _widths(spec)
        kind = "snake" if spec.family == "tconv_snake" else (
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
            top = math.prod(spec.strides[:i + 1]) * 4 > spec.total_stride
            if (top and not spec.refine_top) or spec.refine_blocks == 0:
                refine = nn.Identity()
            elif spec.family in ("mrf", "mel_vocoder"):
                refine = MRF(w[i + 1])
            else:
                refine = nn.Sequential(*(ResUnit(w[i + 1], dilation=3**j, kind=kind)
                                         for j in range(spec.refine_blocks)))
            stages.append(nn.Sequential(act(kind, w[i]), up, refine))
        self.stages = nn.Sequential(*stages)
        self.out = nn.Sequential(act(kind, w[-1]), nn.Conv1d(w[-1], 1, 7, padding=3))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.stages(self.inp(z))).squeeze(1)


class ISTFTDecoder(nn.Module):
    """Vocos-like head: ConvNeXt blocks at the frame rate predict log-magnitude and phase of an
    STFT with hop ``total_stride`` and ``n_fft = 4 * hop``; an inverse STFT makes the waveform."""

    def __init__(self, spec: GeneratorSpec, in_dim: int):
        super().__init__()
        self.hop = spec.total_stride
        self.n_fft = 4 * self.hop
        self.inp = nn.Conv1d(in_dim, spec.width, 7, padding=3)
        self.blocks = nn.Sequential(*(ConvNeXtBlock(spec.width)
                                      for _ in range(spec.istft_blocks)))
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
        dim = latent_channels(spec)
        self.encoder = MelLatentEncoder(spec) if spec.mel_latent else Encoder(spec, dim)
        self.bottleneck = make_bottleneck(spec, dim)
        self.decoder = (ISTFTDecoder(spec, dim) if spec.family == "istft"
                        else UpsamplingDecoder(spec, dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the reconstruction and the bottleneck's auxiliary loss (0 when none)."""
        if x.shape[-1] % self.spec.total_stride:
            raise ValueError(f"length {x.shape[-1]} is not a multiple of the stride "
                             f"{self.spec.total_stride}")
        zq, aux = self.bottleneck(self.encoder(x))
        return self.decoder(zq), aux


def build_generator(spec: GeneratorSpec) -> Generator:
    """Instantiate the (untrained) network described by ``spec``."""
    return Generator(spec)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters of ``model``."""
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
