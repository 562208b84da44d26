"""Dropout modules: torch.nn's constructors and reprs; forward is one call into ``scratchnn.functional``
with the module's ``training`` flag."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from .. import functional as F

__all__ = ["AlphaDropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout"]


class _DropoutNd(nn.Module):
    """Shared constructor: ``p`` in [0, 1] (ValueError otherwise, as torch) and ``inplace``."""

    __constants__: ClassVar[list[str]] = ["p", "inplace"]
    p: float
    inplace: bool

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(
                f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p}"
            )
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """``torch.nn.Dropout``: zero elements with probability ``p`` while training, scale by 1/(1 − p).

    >>> Dropout(0.2)
    Dropout(p=0.2, inplace=False)
    >>> Dropout(0.2).eval()(torch.ones(3))
    tensor([1., 1., 1.])
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """``torch.nn.Dropout1d``: zero whole channels of (b, c, l) or (c, l)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """``torch.nn.Dropout2d``: zero whole channels of (b, c, h, w)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """``torch.nn.Dropout3d``: zero whole channels of (b, c, d, h, w) or (c, d, h, w)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """``torch.nn.AlphaDropout``: alpha dropout while training (``inplace`` is ignored, as in torch)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """``torch.nn.FeatureAlphaDropout``: alpha dropout of whole channels (``inplace`` ignored, as torch)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training)
