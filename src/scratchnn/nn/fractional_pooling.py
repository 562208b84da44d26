"""Fractional max pooling modules: torch.nn's constructors (and their checks), forward is one
functional call."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from .. import functional as F

__all__ = ["FractionalMaxPool2d", "FractionalMaxPool3d"]


def _tuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, list | tuple) else (value,) * n


class _FractionalMaxPool(nn.Module):
    """The N-d module; ``_random_samples`` (fixed windows) is a buffer, absent when None."""

    __constants__: ClassVar[list[str]] = ["kernel_size", "return_indices", "output_size", "output_ratio"]
    n: ClassVar[int]

    def __init__(
        self,
        kernel_size,
        output_size=None,
        output_ratio=None,
        return_indices: bool = False,
        _random_samples: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _tuple(kernel_size, self.n)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = _tuple(output_size, self.n) if output_size is not None else None
        self.output_ratio = _tuple(output_ratio, self.n) if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio[: self.n]):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def function(self, *args, **kwargs):
        raise NotImplementedError

    def forward(self, input: torch.Tensor):
        return self.function(
            input,
            self.kernel_size,
            self.output_size,
            self.output_ratio,
            self.return_indices,
            _random_samples=self._random_samples,
        )


class FractionalMaxPool2d(_FractionalMaxPool):
    """``torch.nn.FractionalMaxPool2d``.

    >>> FractionalMaxPool2d(3, output_ratio=0.5)(torch.randn(1, 2, 10, 12)).shape
    torch.Size([1, 2, 5, 6])
    """

    n = 2
    function = staticmethod(F.fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPool):
    """``torch.nn.FractionalMaxPool3d``.

    >>> FractionalMaxPool3d(2, output_size=(2, 3, 3))(torch.randn(1, 2, 5, 6, 7)).shape
    torch.Size([1, 2, 2, 3, 3])
    """

    n = 3
    function = staticmethod(F.fractional_max_pool3d)
