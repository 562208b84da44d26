"""``Softmax`` and ``LogSoftmax``: torch.nn's modules, forward is one functional call."""

from __future__ import annotations

import torch
from torch import nn

from .. import functional as F

__all__ = ["LogSoftmax", "Softmax"]


class Softmax(nn.Module):
    """``torch.nn.Softmax`` from scratch: every slice along ``dim`` sums to one.

    >>> Softmax(dim=1)(torch.zeros(2, 4))[0]
    tensor([0.2500, 0.2500, 0.2500, 0.2500])
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def __setstate__(self, state):  # modules pickled before torch gave them a dim
        super().__setstate__(state)
        if not hasattr(self, "dim"):
            self.dim = None

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(nn.Module):
    """``torch.nn.LogSoftmax`` from scratch: log of :class:`Softmax`, computed without its underflow.

    >>> LogSoftmax(dim=0)(torch.zeros(2))
    tensor([-0.6931, -0.6931])
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def __setstate__(self, state):
        super().__setstate__(state)
        if not hasattr(self, "dim"):
            self.dim = None

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
