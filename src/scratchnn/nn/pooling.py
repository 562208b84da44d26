"""Pooling modules: torch.nn's constructors (argument orders, stored attributes, ``extra_repr``);
forward is one call into ``scratchnn.functional``.

Mind torch's argument orders, which these keep: the max-pool *modules* take
``(kernel_size, stride, padding, dilation, return_indices, ceil_mode)`` while ``F.max_pool2d``
takes ``ceil_mode`` before ``return_indices``; ``LPPool`` takes ``norm_type`` first; ``AvgPool1d``
has no ``divisor_override``. Like torch's, the constructors store their arguments as given
(``AvgPool1d`` and ``MaxUnpool`` as tuples) and leave validation to the first call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .. import functional as F

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
]

IntOrTuple = int | Sequence[int]


def _tuple(value, n: int) -> tuple:
    """torch's ``_single``/``_pair``/``_triple``: a sequence as a tuple, anything else repeated."""
    return tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else (value,) * n


class _MaxPoolNd(nn.Module):
    functional: Callable

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: torch.Tensor):
        return type(self).functional(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """``torch.nn.MaxPool1d`` from scratch: (b, c, L) → (b, c, l).

    >>> MaxPool1d(3, stride=2, ceil_mode=True)
    MaxPool1d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=True)
    """

    functional = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """``torch.nn.MaxPool2d`` from scratch: (b, c, H, W) → (b, c, h, w).

    >>> MaxPool2d(2, return_indices=True)(torch.randn(1, 3, 5, 5))[1].shape
    torch.Size([1, 3, 2, 2])
    """

    functional = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """``torch.nn.MaxPool3d`` from scratch: (b, c, D, H, W) → (b, c, d, h, w)."""

    functional = staticmethod(F.max_pool3d)


class _MaxUnpoolNd(nn.Module):
    n: int = 0
    functional: Callable

    def __init__(
        self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None, padding: IntOrTuple = 0
    ) -> None:
        super().__init__()
        self.kernel_size = _tuple(kernel_size, self.n)
        self.stride = _tuple(stride if stride is not None else kernel_size, self.n)
        self.padding = _tuple(padding, self.n)

    def forward(
        self, input: torch.Tensor, indices: torch.Tensor, output_size: Sequence[int] | None = None
    ) -> torch.Tensor:
        return type(self).functional(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """``torch.nn.MaxUnpool1d`` from scratch: values back at their max-pool indices, zeros elsewhere.

    >>> MaxUnpool1d(2)
    MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,))
    """

    n = 1
    functional = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """``torch.nn.MaxUnpool2d`` from scratch: (b, c, h, w) + indices → (b, c, H, W)."""

    n = 2
    functional = staticmethod(F.max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """``torch.nn.MaxUnpool3d`` from scratch: (b, c, d, h, w) + indices → (b, c, D, H, W)."""

    n = 3
    functional = staticmethod(F.max_unpool3d)


class _AvgPoolNd(nn.Module):
    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """``torch.nn.AvgPool1d`` from scratch: (b, c, L) → (b, c, l); no divisor_override, as in torch.

    >>> AvgPool1d(3, padding=1)
    AvgPool1d(kernel_size=(3,), stride=(3,), padding=(1,))
    """

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = _tuple(kernel_size, 1)
        self.stride = _tuple(stride if stride is not None else kernel_size, 1)
        self.padding = _tuple(padding, 1)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.avg_pool1d(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad
        )


class _AvgPoolWithDivisor(_AvgPoolNd):
    functional: Callable

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return type(self).functional(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )


class AvgPool2d(_AvgPoolWithDivisor):
    """``torch.nn.AvgPool2d`` from scratch: (b, c, H, W) → (b, c, h, w).

    >>> AvgPool2d((2, 3), divisor_override=4)
    AvgPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0)
    """

    functional = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolWithDivisor):
    """``torch.nn.AvgPool3d`` from scratch: (b, c, D, H, W) → (b, c, d, h, w)."""

    functional = staticmethod(F.avg_pool3d)


class _LPPoolNd(nn.Module):
    functional: Callable

    def __init__(
        self,
        norm_type: float,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return type(self).functional(
            input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode
        )

    def extra_repr(self) -> str:
        return (
            f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"ceil_mode={self.ceil_mode}"
        )


class LPPool1d(_LPPoolNd):
    """``torch.nn.LPPool1d`` from scratch: (Σ_window x^p)^(1/p).

    >>> LPPool1d(2, 3, stride=2)
    LPPool1d(norm_type=2, kernel_size=3, stride=2, ceil_mode=False)
    """

    functional = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """``torch.nn.LPPool2d`` from scratch: (b, c, H, W) → (b, c, h, w)."""

    functional = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPoolNd):
    """``torch.nn.LPPool3d`` from scratch: (b, c, D, H, W) → (b, c, d, h, w)."""

    functional = staticmethod(F.lp_pool3d)


class _AdaptiveMaxPoolNd(nn.Module):
    functional: Callable

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: torch.Tensor):
        return type(self).functional(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """``torch.nn.AdaptiveMaxPool1d`` from scratch: (b, c, L) → (b, c, output_size).

    >>> AdaptiveMaxPool1d(4, return_indices=True)
    AdaptiveMaxPool1d(output_size=4)
    """

    functional = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """``torch.nn.AdaptiveMaxPool2d`` from scratch: (b, c, H, W) → (b, c, *output_size)."""

    functional = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """``torch.nn.AdaptiveMaxPool3d`` from scratch: (b, c, D, H, W) → (b, c, *output_size)."""

    functional = staticmethod(F.adaptive_max_pool3d)


class _AdaptiveAvgPoolNd(nn.Module):
    functional: Callable

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return type(self).functional(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """``torch.nn.AdaptiveAvgPool1d`` from scratch: (b, c, L) → (b, c, output_size)."""

    functional = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """``torch.nn.AdaptiveAvgPool2d`` from scratch: (b, c, H, W) → (b, c, *output_size).

    >>> AdaptiveAvgPool2d((None, 1))(torch.randn(2, 3, 4, 5)).shape
    torch.Size([2, 3, 4, 1])
    """

    functional = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """``torch.nn.AdaptiveAvgPool3d`` from scratch: (b, c, D, H, W) → (b, c, *output_size)."""

    functional = staticmethod(F.adaptive_avg_pool3d)
