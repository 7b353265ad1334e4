"""Layers shared by the UNet and the compact CNN.

``max_pool_2x2`` is the 2x2 max-pooling both networks down-sample with; ``fold_batch_norm`` and
``conv2d_relu`` are their inference paths' convolutions (batch norm folded in, ReLU fused). The
networks are introduced in notebook ``03_train``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """2x2 max-pooling with stride 2 over the last two axes of ``(batch, channels, h, w)``:
    the values of ``F.max_pool2d(x, 2)`` (an odd last row or column is dropped).

    Without gradients it takes elementwise maxima of strided views, which keeps the layout
    (channels-last stays channels-last) and gives exactly the same values, 1.2-9x faster than
    ``max_pool2d`` on one core of the 2-core AMD EPYC (its kernel is slowest for few channels
    and for channels-first maps, as in the compact CNN). With gradients it is ``max_pool2d``,
    whose backward is the faster.
    """
    if x.requires_grad:
        return F.max_pool2d(x, 2)
    x = x[..., : x.shape[-2] // 2 * 2, : x.shape[-1] // 2 * 2]
    rows = torch.maximum(x[..., 0::2, :], x[..., 1::2, :])
    return torch.maximum(rows[..., 0::2], rows[..., 1::2])


class MaxPool2x2(nn.Module):
    """:func:`max_pool_2x2` as a module (no parameters: a drop-in for ``nn.MaxPool2d(2)``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return max_pool_2x2(x)


def weights_version(module: nn.Module) -> tuple:
    """Where and at which in-place version each parameter and buffer of ``module`` is: it
    changes with every optimiser step, ``load_state_dict`` or move, so folded inference
    weights cached under it are rebuilt exactly when they would be stale."""
    return tuple((t.data_ptr(), t._version) for t in (*module.parameters(), *module.buffers()))


def fold_batch_norm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of ``conv`` followed by eval-mode ``bn``: batch norm is then an affine
    map per channel, so it folds into the convolution (one pass over the activations fewer,
    the same function up to float rounding)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    bias = bn.bias - bn.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    return conv.weight * scale[:, None, None, None], bias


def conv2d_relu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                padding: Sequence[int]) -> torch.Tensor:
    """``relu(conv2d(x, weight, bias, padding=padding))`` (stride 1, no dilation or groups).

    On a CPU with oneDNN the ReLU runs inside the convolution, on its float32 accumulator
    before the output is rounded to ``x``'s dtype: rounding is monotonic and keeps zero, so the
    result is bit for bit that of oneDNN's convolution followed by ``relu_``, without a second
    pass over the activations (about 30 % of a full-resolution convolution of the width-16
    UNet; ``benchmarks/speed.py``). ``F.conv2d`` itself takes oneDNN for every convolution of
    the UNet on 4 s chunks (it keeps its own kernel only for tiny float32 inputs, batch 1 and
    under 20,480 values: there the two differ in the last bit). Elsewhere, and inside a graph
    being traced (ONNX export, ``torch.compile``, which fuses on its own), the two ops. One
    difference: the fused ReLU turns NaN into 0 where ``relu_`` keeps it, so a caller checks
    its input and weights first (:func:`all_finite`) lest a broken input give a number.
    """
    if (x.device.type == "cpu" and not torch.compiler.is_compiling()
            and not torch.jit.is_tracing() and _fused_conv_relu_works(x.dtype)):
        return _fused_conv_relu(x, weight, bias, padding)
    return F.conv2d(x, weight, bias, padding=padding).relu_()


def all_finite(*tensors: torch.Tensor) -> bool:
    """Whether every value of ``tensors`` is finite; ``True`` inside a graph being traced (ONNX
    export, ``torch.compile``), which cannot branch on data and does not fuse through
    :func:`conv2d_relu`'s oneDNN op."""
    if torch.compiler.is_compiling() or torch.jit.is_tracing():
        return True
    return all(bool(torch.isfinite(t).all()) for t in tensors)


def _fused_conv_relu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                     padding: Sequence[int]) -> torch.Tensor:
    return torch.ops.mkldnn._convolution_pointwise(
        x, weight, bias, list(padding), [1, 1], [1, 1], 1, "relu", [], "")


@functools.cache
def _fused_conv_relu_works(dtype: torch.dtype) -> bool:
    # Whether this torch build runs oneDNN's fused op in ``dtype`` and gives the two ops' bits
    # (a build without oneDNN, or a CPU it does not serve, falls back to them).
    if not torch.backends.mkldnn.is_available():
        return False
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 6, 5, generator=gen).to(dtype)  # batch 2: F.conv2d takes oneDNN too
    weight = torch.randn(2, 3, 3, 3, generator=gen).to(dtype)
    bias = torch.randn(2, generator=gen).to(dtype)
    try:
        fused = _fused_conv_relu(x, weight, bias, (1, 1))
    except (RuntimeError, NotImplementedError, AttributeError):
        return False
    return torch.equal(fused, F.conv2d(x, weight, bias, padding=(1, 1)).relu_())
