"""The compact CNN that reads forensic feature maps and outputs one logit per chunk.

Four conv blocks (3x3 conv, batch norm, ReLU, 2x2 max-pool) widen 32 -> 256 channels while the
mel x time map shrinks 16x; average- and max-pooling over what is left summarise "how much" and
"how strongly anywhere" an artifact is present; a small MLP maps that to a logit. About 0.42M
parameters (paper: 0.4M, 424K in the public build).
"""

from __future__ import annotations

import torch
from torch import nn

from artifactnet_core.detector.config import CNN_HIDDEN, CNN_WIDTHS
from artifactnet_core.detector.layers import (
    MaxPool2x2,
    all_finite,
    conv2d_relu,
    fold_batch_norm,
    max_pool_2x2,
    weights_version,
)


class CompactCNN(nn.Module):
    """Chunk classifier over ``(batch, channels, n_mels, frames)`` feature maps.

    Parameters
    ----------
    in_channels : int
        Feature channels (7 for the paper's HPSS features).
    widths : tuple of int
        Output channels of the conv blocks.
    hidden : int
        Width of the hidden layer of the head.
    dropout : float
        Dropout before the head (training only).
    """

    def __init__(self, *, in_channels: int = 7, widths: tuple[int, ...] = CNN_WIDTHS,
                 hidden: int = CNN_HIDDEN, dropout: float = 0.3):
        super().__init__()
        layers: list[nn.Module] = [nn.BatchNorm2d(in_channels)]
        prev = in_channels
        for width in widths:
            layers += [nn.Conv2d(prev, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                       nn.ReLU(inplace=True), MaxPool2x2()]
            prev = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * prev, hidden),
                                  nn.ReLU(inplace=True), nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Return one logit per item, shape ``(batch,)``.

        In eval mode without gradients (scoring, validation) it runs :meth:`infer`, except
        inside a graph being traced (ONNX export, ``torch.compile``): the modules as written.
        """
        if (not self.training and not torch.is_grad_enabled()
                and not torch.jit.is_tracing() and not torch.compiler.is_compiling()):
            return self.infer(features)
        return self._pool_and_head(self.body(features))

    def _pool_and_head(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(dim=(-2, -1)), x.amax(dim=(-2, -1))], dim=1)
        return self.head(pooled)[:, 0]

    @torch.no_grad()
    def infer(self, features: torch.Tensor) -> torch.Tensor:
        """Logits for inference (eval-mode batch norm): each block's batch norm folded into its
        convolution (:func:`~artifactnet_core.detector.layers.fold_batch_norm`), the ReLU run
        inside it (:func:`~artifactnet_core.detector.layers.conv2d_relu`), activations
        channels-last: 1.4x faster than the modules on one core of the 2-core CPU for 16 whole
        4 s chunks (``benchmarks/training_loops.py`` section 6), the same logits to float32
        rounding (about 1e-7; tested). The input batch norm stays as it is: folding it into a padded
        convolution would change the border."""
        blocks = self._folded_blocks()
        if blocks is None or not all_finite(features):
            # Broken statistics or a NaN in the features: the modules, whose NaN reaches the
            # logit (the fused ReLU would turn it into 0).
            return self._pool_and_head(self.body(features))
        x = self.body[0](features).contiguous(memory_format=torch.channels_last)
        for weight, bias in blocks:
            x = max_pool_2x2(conv2d_relu(x, weight, bias, (1, 1)))
        return self._pool_and_head(x)

    def _folded_blocks(self) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
        # Rebuilt only when a parameter or buffer changed (training, loading) or moved. None
        # when a folded weight is not finite (a negative variance): the fused ReLU would turn
        # its NaN into 0, and a broken model must give NaN, not a score.
        key = weights_version(self)
        cached = getattr(self, "_folded", None)
        if cached is None or cached[0] != key:
            blocks = []
            for k in range(1, len(self.body), 4):  # (conv, batch norm, ReLU, max-pool)
                weight, bias = fold_batch_norm(self.body[k], self.body[k + 1])
                blocks.append((weight.contiguous(memory_format=torch.channels_last), bias))
            finite = all_finite(*(t for block in blocks for t in block))
            self._folded = cached = (key, blocks if finite else None)
        return cached[1]
