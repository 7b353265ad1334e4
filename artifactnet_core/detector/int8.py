"""Int8 inference of the UNet on a CPU: oneDNN's int8 convolutions, scales taken from each chunk.

Every convolution but the first (one input channel: nothing to gain) runs as an int8 x uint8
product accumulated in 32-bit integers (AVX-512 VNNI / AMX-INT8 where the CPU has them): on a
2-core Xeon without AMX, 3-5x faster than float32 per layer of 64 channels or more, 1.3-1.5x at
full resolution (32 channels), and the whole UNet 2-3x (``benchmarks/README.md``):

* weights: batch norm folded in (:func:`~artifactnet_core.detector.layers.fold_batch_norm`),
  then symmetric int8 with one scale per output channel (``max |w| / 127``);
* activations: every convolution's input is non-negative (the network input is ``log1p`` of a
  magnitude, every other input follows a ReLU), so it is stored as uint8 with zero point 0 and
  one scale per tensor, ``max / 255``, measured on the tensor itself (dynamic quantisation):
  no calibration data, nothing stored beside the weights, and each chunk is quantised on its
  own (:meth:`~artifactnet_core.detector.unet.ArtifactUNet.infer` runs int8 item by item), so a
  chunk's P(AI) does not depend on the batch it came in;
* each block's output is quantised once and serves three ways: 2x2 max-pooling runs on the
  uint8 values (it commutes with a monotonic rounding), the skip connection keeps them, and the
  up-sampling reads them; the up path's first convolution over ``[up-sampled, skip]`` runs as
  two convolutions summed inside oneDNN (no concatenated copy at full resolution).

The result is not float32's: ``tests/test_fast_paths.py`` bounds the difference on real music
and ``benchmarks/precision_auc.py --precision int8`` measures what it does to the zero-shot
verdict. ``precision="auto"`` takes this path on a CPU without fast bfloat16 where it is
accurate (:func:`fast_int8`). Notebook ``03_train`` introduces the UNet;
``benchmarks/README.md`` the speed work.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from artifactnet_core.detector.layers import conv2d_relu, fold_batch_norm, max_pool_2x2

#: Largest value of a uint8 activation and of an int8 weight (symmetric: -127..127).
_U8_MAX, _I8_MAX = 255.0, 127.0

# quint8 tensors are deprecated as a user-facing type; their quantise kernel is the fastest
# float -> uint8 rounding torch has, and only their bytes are kept (:func:`quantize_uint8`).
# A filter set once, for that message only: ``catch_warnings`` is not thread-safe, and the
# chunk-by-chunk workers of ``ArtifactNet.base_maps`` run this.
warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor.*deprecated",
                        category=UserWarning)


@dataclass(frozen=True)
class Uint8Map:
    """A non-negative map stored as uint8 ``values`` (channels-last) times ``scale``."""

    values: torch.Tensor
    scale: float

    @property
    def shape(self) -> torch.Size:
        return self.values.shape

    def pooled(self) -> Uint8Map:
        """2x2 max-pooling (:func:`max_pool_2x2`) of the values: the same scale."""
        return Uint8Map(max_pool_2x2(self.values), self.scale)


def _as_uint8(quantised: torch.Tensor) -> torch.Tensor:
    # A quint8 tensor's bytes as a plain uint8 tensor on the same storage: ``int_repr`` would
    # copy them (2.5x the time of the quantisation itself at full resolution).
    return torch.empty(0, dtype=torch.uint8).set_(
        quantised.untyped_storage(), quantised.storage_offset(), quantised.shape,
        quantised.stride())


def quantize_uint8(x: torch.Tensor, scale: float | None = None) -> Uint8Map:
    """``round(x / scale)`` as uint8 for a non-negative float map ``x``, clipped to 0..255.

    Parameters
    ----------
    x : torch.Tensor
        Non-negative values (negative ones become 0).
    scale : float, optional
        Value of one step; default ``max(x) / 255`` (1 for an all-zero map).
    """
    if scale is None:
        top = float(x.amax())
        scale = top / _U8_MAX if top > 0 else 1.0
    x = x.float()
    try:
        values = _as_uint8(torch.quantize_per_tensor(x, scale, 0, torch.quint8))
    except (AttributeError, RuntimeError):  # a torch without quantised tensors
        values = torch.empty_like(x, dtype=torch.uint8).copy_(
            x.mul(1.0 / scale).round_().clamp_(0, _U8_MAX))
    return Uint8Map(values, scale)


class Int8Conv:
    """One folded convolution (stride 1) with int8 weights, uint8 input and float32 output.

    Parameters
    ----------
    weight, bias : torch.Tensor
        Float weights ``(out, in, kh, kw)`` and bias ``(out,)`` (batch norm folded in).
    padding : (int, int)
        Zero padding of the input, in pixels.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None,
                 padding: Sequence[int]):
        weight = weight.detach().float()
        scale = weight.abs().amax(dim=(1, 2, 3)) / _I8_MAX
        self.weight_scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        weight_int8 = (weight / self.weight_scale[:, None, None, None]).round_().clamp_(
            -_I8_MAX, _I8_MAX).to(torch.int8).contiguous(memory_format=torch.channels_last)
        self.weight_zero = torch.zeros(weight.shape[0], dtype=torch.long)
        self.bias = None if bias is None else bias.detach().float()
        self.padding = list(padding)
        # The input scale given here is a placeholder: each call passes its own.
        self.packed = torch.ops.onednn.qconv_prepack(
            weight_int8, self.weight_scale, 1.0, 0, [1, 1], self.padding, [1, 1], 1, None)

    def __call__(self, x: Uint8Map, *, relu: bool = True,
                 accumulate: torch.Tensor | None = None) -> torch.Tensor:
        """``conv(x) + bias`` in float32, plus ``accumulate`` when given, then ReLU if asked."""
        common = ([1, 1], self.padding, [1, 1], 1, 1.0, 0, torch.float32)
        if accumulate is None:
            return torch.ops.onednn.qconv2d_pointwise(
                x.values, x.scale, 0, self.packed, self.weight_scale, self.weight_zero,
                self.bias, *common, "relu" if relu else "none", [], "")
        return torch.ops.onednn.qconv2d_pointwise.binary(
            x.values, x.scale, 0, self.packed, self.weight_scale, self.weight_zero, accumulate,
            self.bias, *common, 1.0, 0, "sum", 1.0, "relu" if relu else "none", [], "")


def _folded(pairs: list[tuple[nn.Conv2d, nn.BatchNorm2d]]
            ) -> list[tuple[torch.Tensor, torch.Tensor, Sequence[int]]]:
    return [(*fold_batch_norm(conv, bn), conv.padding) for conv, bn in pairs]


class Int8Down:
    """An encoder block (two convolutions + ReLU) on a uint8 map; its output quantised once.
    With ``float_first`` its first convolution runs in float32 on a float input (the UNet's
    first level: one input channel)."""

    def __init__(self, pairs: list[tuple[nn.Conv2d, nn.BatchNorm2d]], *,
                 float_first: bool = False):
        (w1, b1, p1), (w2, b2, p2) = _folded(pairs)
        self.first = (functools.partial(
            conv2d_relu, weight=w1.detach().contiguous(memory_format=torch.channels_last),
            bias=b1.detach(), padding=p1) if float_first else Int8Conv(w1, b1, p1))
        self.second = Int8Conv(w2, b2, p2)

    def __call__(self, x: Uint8Map | torch.Tensor) -> Uint8Map:
        return quantize_uint8(self.second(quantize_uint8(self.first(x))))


class Int8Up:
    """A decoder block on uint8 maps: up-sample ``y`` to ``skip``'s size, then two
    convolutions + ReLU, the first split over the two inputs of the concatenation."""

    def __init__(self, pairs: list[tuple[nn.Conv2d, nn.BatchNorm2d]], up_channels: int):
        (w1, b1, p1), (w2, b2, p2) = _folded(pairs)
        self.from_up = Int8Conv(w1[:, :up_channels], None, p1)
        self.from_skip = Int8Conv(w1[:, up_channels:], b1, p1)
        self.second = Int8Conv(w2, b2, p2)

    def __call__(self, y: Uint8Map, skip: Uint8Map) -> Uint8Map:
        # Bilinear weights are a convex combination: the up-sampled values stay in 0..255, in
        # y's scale, so they round to uint8 without a new scale.
        size = skip.shape[-2:]
        up = F.interpolate(y.values.float(), size=tuple(size), mode="bilinear",
                           align_corners=False)
        up = Uint8Map(quantize_uint8(up, 1.0).values, y.scale)
        h = self.from_skip(skip, accumulate=self.from_up(up, relu=False))
        return quantize_uint8(self.second(quantize_uint8(h)))


@functools.cache
def int8_available() -> bool:
    """Whether this torch build runs oneDNN's int8 convolutions accurately on this CPU: a tiny
    layer against float32, within 5 % of its largest output. With AVX-512 VNNI it is within
    0.5 %; limited to AVX2 (``ONEDNN_MAX_CPU_ISA=AVX2``) oneDNN's int8 kernel misses by 5.6 %,
    so a CPU without VNNI or AMX gets no int8 path."""
    if not torch.backends.mkldnn.is_available():
        return False
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, 4, 6, 5, generator=gen).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(3, 4, 3, 3, generator=gen)
    bias = torch.randn(3, generator=gen)
    try:
        out = Int8Conv(weight, bias, (1, 1))(quantize_uint8(x))
    except (RuntimeError, NotImplementedError, AttributeError):
        return False
    ref = F.conv2d(x, weight, bias, padding=1).relu_()
    return bool((out - ref).abs().max() <= 0.05 * ref.abs().max())


def fast_int8(device: torch.device | str) -> bool:
    """Whether ``precision="auto"`` runs the UNet in int8 on ``device`` where bfloat16 is not
    fast (:func:`~artifactnet_core.runtime.fast_bf16` is asked first): a CPU on which
    :func:`int8_available` (VNNI or AMX). On 2 Emerald Rapids cores without AMX the int8 UNet
    ran 2.6x faster than float32 and the residual maps of a batch 2x
    (``benchmarks/README.md``), with the laptop benchmark's zero-shot ROC-AUC unchanged
    (``benchmarks/precision_auc.py --precision int8``). ``ARTIFACTNET_INT8=0`` turns it off
    (``auto`` is then float32 there)."""
    if os.environ.get("ARTIFACTNET_INT8", "") == "0":
        return False
    return torch.device(device).type == "cpu" and int8_available()
