"""``Flatten`` and ``Unflatten``: shape-only modules, torch.nn's constructors and reprs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

__all__ = ["Flatten", "Unflatten"]


class Flatten(nn.Module):
    """``torch.nn.Flatten``: merge dims ``start_dim`` … ``end_dim`` into one (a view where possible).

    >>> Flatten()(torch.zeros(2, 3, 4)).shape
    torch.Size([2, 12])
    """

    __constants__: ClassVar[list[str]] = ["start_dim", "end_dim"]

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(nn.Module):
    """``torch.nn.Unflatten``: split dim ``dim`` into ``unflattened_size``.

    >>> Unflatten(1, (2, 3))(torch.zeros(4, 6)).shape
    torch.Size([4, 2, 3])
    """

    __constants__: ClassVar[list[str]] = ["dim", "unflattened_size"]

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if not isinstance(unflattened_size, tuple | list):
            raise TypeError(
                "Unflatten: unflattened_size must be a tuple of ints, "
                f"but found type {type(unflattened_size).__name__}"
            )
        for index, element in enumerate(unflattened_size):
            if not isinstance(element, int):
                raise TypeError(
                    "Unflatten: unflattened_size must be tuple of ints, "
                    f"but found element of type {type(element).__name__} at pos {index}"
                )
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
