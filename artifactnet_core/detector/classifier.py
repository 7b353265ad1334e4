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
from artifactnet_core.detector.layers import MaxPool2x2


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
        """Return one logit per item, shape ``(batch,)``."""
        x = self.body(features)
        pooled = torch.cat([x.mean(dim=(-2, -1)), x.amax(dim=(-2, -1))], dim=1)
        return self.head(pooled)[:, 0]
