"""Padding modules: torch.nn's constructors and reprs; forward is one call into
:func:`scratchnn.functional.pad` with the module's mode.

``padding`` is an int (the same amount on every side) or ``(left, right, top, bottom, front,
back)`` — the last dimension first, as ``F.pad`` lists it — with 2, 4 or 6 entries for 1d, 2d, 3d.
As in torch, a sequence is kept as given and checked by ``pad`` on the first call (so a
``ReflectionPad1d((1, 1, 2, 2))`` pads two dimensions, as torch's does).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import torch
from torch import nn

from .. import functional as F

__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]


def _padding(padding: Any, dims: int) -> tuple[Any, ...]:
    """torch's ``_ntuple(2·dims)``: an iterable as a tuple, anything else repeated on every side."""
    return tuple(padding) if isinstance(padding, Iterable) else (padding,) * (2 * dims)


class _PadNd(nn.Module):
    """One padding module for every mode and rank: ``dims`` padded dims, ``mode`` as in ``F.pad``."""

    __constants__: ClassVar[list[str]] = ["padding"]
    mode: ClassVar[str]
    dims: ClassVar[int]
    padding: tuple[int, ...]

    def __init__(self, padding: int | tuple[int, ...]) -> None:
        super().__init__()
        self.padding = _padding(padding, self.dims)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _CircularPadNd(_PadNd):
    mode = "circular"

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if input.ndim not in (self.dims + 1, self.dims + 2):  # torch checks the rank here
            raise ValueError(
                f"{type(self).__name__}: expected {self.dims + 1}D or {self.dims + 2}D input "
                f"(got {input.ndim}D input of shape {tuple(input.shape)})"
            )
        return F.pad(input, self.padding, self.mode)


class _ReflectionPadNd(_PadNd):
    mode = "reflect"


class _ReplicationPadNd(_PadNd):
    mode = "replicate"


class _ConstantPadNd(_PadNd):
    """Pads with ``value``."""

    __constants__: ClassVar[list[str]] = ["padding", "value"]
    mode = "constant"
    value: float

    def __init__(self, padding: int | tuple[int, ...], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.pad(input, self.padding, self.mode, self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class CircularPad1d(_CircularPadNd):
    """``torch.nn.CircularPad1d``: wrap around, (c, w) or (b, c, w); padding (left, right).

    >>> CircularPad1d((2, 1))(torch.arange(4.).view(1, 1, 4))
    tensor([[[2., 3., 0., 1., 2., 3., 0.]]])
    """

    dims = 1


class CircularPad2d(_CircularPadNd):
    """``torch.nn.CircularPad2d``: wrap around, (c, h, w) or (b, c, h, w)."""

    dims = 2


class CircularPad3d(_CircularPadNd):
    """``torch.nn.CircularPad3d``: wrap around, (c, d, h, w) or (b, c, d, h, w)."""

    dims = 3


class ReflectionPad1d(_ReflectionPadNd):
    """``torch.nn.ReflectionPad1d``: mirror without repeating the edge.

    >>> ReflectionPad1d(2)(torch.arange(4.).view(1, 1, 4))
    tensor([[[2., 1., 0., 1., 2., 3., 2., 1.]]])
    """

    dims = 1


class ReflectionPad2d(_ReflectionPadNd):
    """``torch.nn.ReflectionPad2d``: mirror the last two dims without repeating the edge."""

    dims = 2


class ReflectionPad3d(_ReflectionPadNd):
    """``torch.nn.ReflectionPad3d``: mirror the last three dims without repeating the edge."""

    dims = 3


class ReplicationPad1d(_ReplicationPadNd):
    """``torch.nn.ReplicationPad1d``: repeat the edge value.

    >>> ReplicationPad1d((1, 2))(torch.arange(4.).view(1, 1, 4))
    tensor([[[0., 0., 1., 2., 3., 3., 3.]]])
    """

    dims = 1


class ReplicationPad2d(_ReplicationPadNd):
    """``torch.nn.ReplicationPad2d``: repeat the edge values of the last two dims."""

    dims = 2


class ReplicationPad3d(_ReplicationPadNd):
    """``torch.nn.ReplicationPad3d``: repeat the edge values of the last three dims."""

    dims = 3


class ConstantPad1d(_ConstantPadNd):
    """``torch.nn.ConstantPad1d``: pad with ``value``; negative amounts crop.

    >>> ConstantPad1d((1, -1), 9.0)(torch.arange(4.).view(1, 4))
    tensor([[9., 0., 1., 2.]])
    """

    dims = 1


class ConstantPad2d(_ConstantPadNd):
    """``torch.nn.ConstantPad2d``: pad the last two dims with ``value``."""

    dims = 2


class ConstantPad3d(_ConstantPadNd):
    """``torch.nn.ConstantPad3d``: pad the last three dims with ``value``."""

    dims = 3


class _ZeroPad:
    """``ConstantPadNd(padding, 0.0)`` whose repr shows only the padding."""

    padding: tuple[int, ...]

    def __init__(self, padding: int | tuple[int, ...]) -> None:
        _ConstantPadNd.__init__(self, padding, 0.0)  # type: ignore[arg-type]

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPad, ConstantPad1d):
    """``torch.nn.ZeroPad1d``: ``ConstantPad1d(padding, 0.0)``.

    >>> ZeroPad1d(1)
    ZeroPad1d((1, 1))
    """


class ZeroPad2d(_ZeroPad, ConstantPad2d):
    """``torch.nn.ZeroPad2d``: ``ConstantPad2d(padding, 0.0)``."""


class ZeroPad3d(_ZeroPad, ConstantPad3d):
    """``torch.nn.ZeroPad3d``: ``ConstantPad3d(padding, 0.0)``."""
