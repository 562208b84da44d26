"""Distance modules: ``CosineSimilarity`` and ``PairwiseDistance``, forward is one functional call."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from .. import functional as F

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class CosineSimilarity(nn.Module):
    """``torch.nn.CosineSimilarity``: the cosine of the angle between x1 and x2 along ``dim``.

    >>> CosineSimilarity(dim=0)(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0]))
    tensor(0.7071)
    """

    __constants__: ClassVar[list[str]] = ["dim", "eps"]

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(nn.Module):
    """``torch.nn.PairwiseDistance``: ‖x1 − x2 + eps‖_p along the last dim (torch names p ``norm``).

    >>> PairwiseDistance(eps=0.0)(torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]]))
    tensor([5.])
    """

    __constants__: ClassVar[list[str]] = ["norm", "eps", "keepdim"]

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
