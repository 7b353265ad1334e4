"""ArtifactUNet: a bounded-mask UNet that extracts the forensic residual of a spectrogram.

The network sees the log-compressed, loudness-normalised magnitude ``|X|`` and predicts a mask
``M`` bounded to ``[0, mask_bound]`` (paper: 0.5). The residual is ``R = M * |X|``: a fraction of
the input's own energy, never more than half of it, so the UNet can only *select* what looks like
an artifact, never invent energy that is not there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from artifactnet_core.detector.config import MASK_BOUND, UNET_BASE_WIDTH, UNET_MULTIPLIERS
from artifactnet_core.detector.int8 import (
    Int8Conv,
    Int8Down,
    Int8Up,
    Uint8Map,
    fast_int8,
    int8_available,
)
from artifactnet_core.detector.layers import (
    all_finite,
    conv2d_relu,
    fold_batch_norm,
    max_pool_2x2,
    weights_version,
)
from artifactnet_core.runtime import fast_bf16

#: Inference precisions of :meth:`ArtifactUNet.infer`.
PRECISIONS = ("auto", "fp32", "bf16", "int8")
#: Largest element count of one tensor that every CUDA kernel indexes safely (32-bit offsets).
_MAX_KERNEL_ELEMENTS = 2**31 - 1


def resolve_precision(device: torch.device | str, precision: str = "auto", *,
                      int8: bool = True) -> str:
    """The precision :meth:`ArtifactUNet.infer` runs in on ``device``: ``fp32``, ``bf16`` or
    ``int8`` as asked; ``auto``: bfloat16 where it is fast
    (:func:`~artifactnet_core.runtime.fast_bf16`: a GPU, an x86 CPU with AMX), else int8 where
    it is accurate (:func:`~artifactnet_core.detector.int8.fast_int8`: a CPU with VNNI) and
    ``int8`` allows it (a UNet compiled by :meth:`ArtifactUNet.compile_inference` runs a float
    graph), else float32."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; one of {PRECISIONS}")
    if precision != "auto":
        return precision
    if fast_bf16(device):
        return "bf16"
    return "int8" if int8 and fast_int8(device) else "fp32"


def inference_dtype(device: torch.device | str, precision: str = "auto") -> torch.dtype:
    """The dtype :meth:`ArtifactUNet.infer`'s activations take on ``device`` in ``precision``
    (:func:`resolve_precision`): bfloat16 for ``bf16``, else float32 (``int8`` keeps float32
    maps between its int8 convolutions, :mod:`~artifactnet_core.detector.int8`)."""
    return torch.bfloat16 if resolve_precision(device, precision) == "bf16" else torch.float32


#: Whether a bfloat16 :meth:`ArtifactUNet.infer` keeps its first level (input and two
#: full-resolution convolutions) in float32; :func:`inference_path` names it.
BF16_FLOAT32_FIRST_LEVEL = True


def inference_path(device: torch.device | str, precision: str = "auto") -> str:
    """Name of the arithmetic :meth:`ArtifactUNet.infer` does on ``device``: caches of its
    outputs (the training pipeline's feature store) carry it, so maps computed in float32,
    bfloat16 or int8, or before and after a change of the bfloat16 path, are never mixed."""
    precision = resolve_precision(device, precision)
    if precision == "int8":
        return "int8-dynamic"
    if precision == "fp32":
        return "fp32"
    return "bf16-fp32-first-level" if BF16_FLOAT32_FIRST_LEVEL else "bf16"


def upsample_bilinear(y: torch.Tensor, size: Sequence[int], *,
                      max_elements: int | None = None) -> torch.Tensor:
    """Bilinear resize of ``(batch, channels, h, w)`` to ``size`` (``align_corners=False``).

    CUDA's channels-last kernel refuses outputs of ``2**31`` elements or more (``upsample_
    bilinear2d_nhwc only supports output tensors with less than INT_MAX elements``); a larger
    batch is resized in slices of items written into one output.

    Parameters
    ----------
    y : torch.Tensor
        Input maps.
    size : (int, int)
        Output height and width.
    max_elements : int, optional
        Largest output of one kernel call; default ``2**31 - 1`` on a GPU, unlimited on a CPU.
    """
    if max_elements is None:
        max_elements = _MAX_KERNEL_ELEMENTS if y.device.type == "cuda" else None
    per_item = y.shape[1] * size[0] * size[1]
    if max_elements is None or y.shape[0] * per_item <= max_elements or y.shape[0] == 1:
        return F.interpolate(y, size=tuple(size), mode="bilinear", align_corners=False)
    step = max(1, max_elements // per_item)
    memory_format = (torch.channels_last if y.is_contiguous(memory_format=torch.channels_last)
                     else torch.contiguous_format)
    out = torch.empty((y.shape[0], y.shape[1], *size), dtype=y.dtype, device=y.device,
                      memory_format=memory_format)
    for start in range(0, y.shape[0], step):
        out[start:start + step] = F.interpolate(y[start:start + step], size=tuple(size),
                                                mode="bilinear", align_corners=False)
    return out


def _concat_upsampled(block: Callable, y: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    # A decoder block's input: the coarser map up-sampled to the skip's size, then the skip.
    return block(torch.cat([upsample_bilinear(y, skip.shape[-2:]), skip], dim=1))


def _with_skip(block: Callable, y: Uint8Map, skip: Uint8Map) -> Uint8Map:
    # An int8 decoder block up-samples and joins its two inputs itself.
    return block(y, skip)


class _FoldedConvs:
    """Convolutions with batch norm folded in, each followed by ReLU: a
    :class:`DoubleConv` for inference, in one dtype and channels-last layout. The input is cast
    to that dtype and the output to ``out_dtype`` (default: the same)."""

    def __init__(self, pairs: list[tuple[nn.Conv2d, nn.BatchNorm2d]], dtype: torch.dtype,
                 out_dtype: torch.dtype | None = None):
        self.dtype, self.out_dtype = dtype, out_dtype or dtype
        self.layers = []
        for conv, bn in pairs:
            weight, bias = fold_batch_norm(conv, bn)
            self.layers.append((weight.to(dtype).contiguous(memory_format=torch.channels_last),
                                bias.to(dtype), conv.padding))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype)
        for weight, bias, padding in self.layers:
            x = conv2d_relu(x, weight, bias, padding)
        return x.to(self.out_dtype)


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

    def conv_bn_pairs(self) -> list[tuple[nn.Conv2d, nn.BatchNorm2d]]:
        """Each convolution with the batch norm that follows it."""
        return [(self.block[0], self.block[1]), (self.block[3], self.block[4])]


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
        x, (freq, frames) = self._network_input(mag, scale)
        logits = self._unet(x, self.inc, list(self.down), list(self.up), self.head)
        return self._bound(logits[:, 0, :freq, :frames])

    def _network_input(self, mag: torch.Tensor,
                       scale: torch.Tensor | None) -> tuple[torch.Tensor, tuple[int, int]]:
        # (batch, 1, freq, frames) padded to a multiple of 2**depth, and the unpadded size.
        x = self.normalise(mag, scale).unsqueeze(1)
        freq, frames = x.shape[-2:]
        mult = 2**self.depth
        return F.pad(x, (0, (-frames) % mult, 0, (-freq) % mult)), (freq, frames)

    @staticmethod
    def _unet(x: torch.Tensor, inc: Callable, down: list[Callable], up: list[Callable],
              head: Callable, *, pool: Callable = max_pool_2x2,
              merge: Callable = _concat_upsampled) -> torch.Tensor:
        # The UNet's wiring, shared by training (modules) and inference (folded float or int8
        # convolutions; int8 blocks pass uint8 maps, which pool and join in their own way).
        skips = [inc(x)]
        for block in down:
            skips.append(block(pool(skips[-1])))
        y = skips.pop()
        for block in up:
            y = merge(block, y, skips.pop())
        return head(y)

    def _bound(self, logits: torch.Tensor) -> torch.Tensor:
        if self.mask_bound is None:
            return F.softplus(logits)
        return self.mask_bound * torch.sigmoid(logits)

    def forward(self, mag: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        """Return the residual ``R = M * |X|`` for magnitudes ``(batch, freq, frames)``."""
        return self.mask(mag, scale) * mag

    def _inference_blocks(self, dtype: torch.dtype
                          ) -> tuple[Callable, list, list, Callable] | None:
        # Folded weights, rebuilt only when a parameter or buffer changed (training, loading)
        # or another dtype / device is asked for. A graph being traced (ONNX export,
        # torch.compile) folds inside the graph instead: it has no data pointers to key on.
        if torch.compiler.is_compiling():
            return self._fold(dtype)
        key = (dtype, self.head.weight.device, weights_version(self))
        cached = getattr(self, "_folded", None)
        if cached is None or cached[0] != key:
            with torch.no_grad():
                blocks = self._fold(dtype)
            # None when a folded weight is not finite (a negative variance): the fused ReLU
            # would turn its NaN into 0, and a broken model must give NaN, not a residual.
            folded = [blocks[0], *blocks[1], *blocks[2]]
            finite = all_finite(*(t for convs in folded for w, b, _ in convs.layers
                                  for t in (w, b)))
            self._folded = cached = (key, blocks if finite else None)
        return cached[1]

    def _fold(self, dtype: torch.dtype, *, float32_first_level: bool = BF16_FLOAT32_FIRST_LEVEL
              ) -> tuple[Callable, list, list, Callable]:
        # The first level (the input and its two full-resolution convolutions, about 5 % of the
        # work) stays float32 in a bfloat16 network: it holds most of bfloat16's error in P(AI)
        # (benchmarks/bf16_blocks.py). ``False`` rounds it too (the benchmark's baseline).
        first = torch.float32 if float32_first_level else dtype
        head_w = self.head.weight.to(dtype).contiguous(memory_format=torch.channels_last)
        head_b = self.head.bias.to(dtype)
        return (_FoldedConvs(self.inc.conv_bn_pairs(), first, out_dtype=dtype),
                [_FoldedConvs(b.conv_bn_pairs(), dtype) for b in self.down],
                [_FoldedConvs(b.conv_bn_pairs(), dtype) for b in self.up],
                functools.partial(F.conv2d, weight=head_w, bias=head_b))

    def _int8_blocks(self) -> tuple[Callable, list, list, Callable] | None:
        # The int8 blocks (:mod:`~artifactnet_core.detector.int8`), cached like the float ones;
        # None where the float32 fold is not finite.
        if self._inference_blocks(torch.float32) is None:
            return None
        key = weights_version(self)
        cached = getattr(self, "_folded_int8", None)
        if cached is None or cached[0] != key:
            with torch.no_grad():
                up = []
                for block in self.up:
                    pairs = block.conv_bn_pairs()
                    first = pairs[0][0]  # over [up-sampled, skip]; the skip has its width
                    up.append(Int8Up(pairs, up_channels=first.in_channels - first.out_channels))
                head = Int8Conv(self.head.weight, self.head.bias, self.head.padding)
                blocks = (Int8Down(self.inc.conv_bn_pairs(), float_first=True),
                          [Int8Down(b.conv_bn_pairs()) for b in self.down], up,
                          functools.partial(head, relu=False))
            self._folded_int8 = cached = (key, blocks)
        return cached[1]

    def compile_inference(self, *, enable: bool = True) -> ArtifactUNet:
        """Route :meth:`infer` through ``torch.compile`` (inductor, weights frozen as
        constants so that batch norm folding and oneDNN weight packing happen once, ReLUs fused
        into the convolutions); ``enable=False`` goes back to eager.

        The first call for each input shape and precision compiles (about a minute on 2 CPU
        cores, needs a C++ compiler on a CPU and Triton on a GPU); later calls reuse it. The
        compiled graph holds the weights it was compiled with: call this again after changing
        them. While compiled, ``precision="auto"`` runs the float graph (bfloat16 where it is
        fast, else float32), never the int8 path. Returns the module.
        """
        self._compiled = (torch.compile(self._infer, options={"freezing": True}, dynamic=False)
                          if enable else None)
        return self

    @torch.no_grad()
    def infer(self, mag: torch.Tensor, *, precision: str = "auto") -> torch.Tensor:
        """The residual for inference (no gradients, batch norm with its running statistics),
        float32 out.

        Batch norm is folded into the convolutions, each ReLU runs inside its convolution
        (:func:`conv2d_relu`, same bits), activations are channels-last, and where
        bfloat16 is fast (:func:`~artifactnet_core.runtime.fast_bf16`; ``precision="auto"``) the
        network runs in bfloat16 - about 3x faster than float32 on a CPU with AMX and on
        tensor-core GPUs - except its first level (input and two full-resolution
        convolutions, about 5 % of the work), and the mask and the product with ``|X|``,
        which stay float32: the shipped model's P(AI) then differs from float32 by at most
        6.5e-3 over 302 chunks of real music (the width-32 model of 2026-11-27: 2.1e-3, against
        6.7e-3 all-bfloat16; ``benchmarks/bf16_blocks.py``; issue 15's 1e-3 is missed), while
        its zero-shot ROC-AUC on the laptop benchmark is the same to four decimals and no test
        item changes side of a threshold (``benchmarks/precision_auc.py``). On a CPU without
        fast bfloat16 but with VNNI, ``auto`` runs the int8 path instead (:func:`resolve_precision`):
        2-2.6x faster than float32 there, P(AI) within 0.03 of it per chunk on the laptop
        benchmark, its zero-shot ROC-AUC again unchanged. Feature extraction for training and
        ``artifactnet detect`` both go through here, so they always see the same residual.

        Parameters
        ----------
        mag : torch.Tensor
            Magnitudes ``(batch, freq, frames)``.
        precision : {"auto", "fp32", "bf16", "int8"}
            Arithmetic of the convolutions (:func:`resolve_precision`); ``int8``: int8
            convolutions with scales measured on each chunk
            (:mod:`~artifactnet_core.detector.int8`; CPU only).
        """
        compiled = getattr(self, "_compiled", None)
        precision = resolve_precision(mag.device, precision, int8=compiled is None)
        if precision == "int8":
            return self._infer_int8(mag)
        dtype = inference_dtype(mag.device, precision)
        if compiled is not None and not torch.compiler.is_compiling():
            return compiled(mag, dtype)
        return self._infer(mag, dtype)

    def _infer(self, mag: torch.Tensor, dtype: torch.dtype,
               blocks: tuple[Callable, list, list, Callable] | None = None) -> torch.Tensor:
        # ``blocks``: folded blocks to run instead of this dtype's own (benchmarks/bf16_blocks.py
        # mixes float32 ones in); each block casts its input to its own dtype.
        blocks = blocks if blocks is not None else self._inference_blocks(dtype)
        if blocks is None or not all_finite(mag):
            # Broken statistics or a NaN in the input: the modules, whose NaN reaches the
            # residual (the fused ReLU would turn it into 0).
            training = self.training
            try:
                return self.eval().forward(mag).float()
            finally:
                self.train(training)
        inc, down, up, head = blocks
        x, (freq, frames) = self._network_input(mag, None)
        x = x.contiguous(memory_format=torch.channels_last)  # the first level casts it
        logits = self._unet(x, inc, down, up, head)
        return self._bound(logits[:, 0, :freq, :frames].float()) * mag

    def _infer_int8(self, mag: torch.Tensor) -> torch.Tensor:
        if mag.device.type != "cpu" or not int8_available():
            raise ValueError(f"int8 inference needs oneDNN's int8 convolutions on a CPU with "
                             f"VNNI or AMX; not available on {mag.device} with torch "
                             f"{torch.__version__}: use fp32 or bf16")
        blocks = self._int8_blocks()
        if blocks is None or not all_finite(mag) or mag.shape[0] == 0:
            return self._infer(mag, torch.float32)  # the modules (NaN stays NaN), or nothing
        inc, down, up, head = blocks
        residuals = []
        for item in mag.split(1):  # one scale per map of one chunk: P(AI) ignores the batch
            x, (freq, frames) = self._network_input(item, None)
            logits = self._unet(x.contiguous(memory_format=torch.channels_last), inc, down, up,
                                head, pool=Uint8Map.pooled, merge=_with_skip)
            residuals.append(self._bound(logits[:, 0, :freq, :frames]) * item)
        return torch.cat(residuals)
