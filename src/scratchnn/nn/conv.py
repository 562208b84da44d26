"""Convolution modules: torch.nn's constructors, parameters and state_dicts; forward is one
call into ``scratchnn.functional``."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import UninitializedParameter

from .. import functional as F
from .._args import check_positive, ntuple
from ..functional.conv import conv_padding

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvNd", "LazyConv1d", "LazyConv2d", "LazyConv3d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def init_conv_parameters(weight: torch.Tensor, bias: torch.Tensor | None) -> None:
    """torch's initialization of a (transposed) convolution: Kaiming-uniform weight (a=√5), bias
    uniform in ±1/√fan_in with fan_in = weight.shape[1]·∏kernel (c_in per group, or c_out for a
    transposed convolution, as in torch)."""
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = weight.shape[1] * math.prod(weight.shape[2:])
        if fan_in != 0:
            bound = 1 / math.sqrt(fan_in)
            nn.init.uniform_(bias, -bound, bound)


class ConvNd(nn.Module):
    """The N-d convolution module; ``Conv1d``/``Conv2d``/``Conv3d`` fix ``n``.

    weight (g·c_out, c_in, *kernel), bias (g·c_out,) — the layout of ``torch.nn.ConvNd``.
    """

    n: int = 0
    functional: Callable[..., torch.Tensor]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        name, n = type(self).__name__, self.n
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got groups={groups!r}")
        for label, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % groups:
                raise ValueError(
                    f"{name}: {label} must be divisible by groups, got {label}={channels}, groups={groups}"
                )
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {PADDING_MODES}, got padding_mode={padding_mode!r}"
            )
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", name)
        self.stride = ntuple(stride, n, "stride", name)
        self.dilation = ntuple(dilation, n, "dilation", name)
        for label, values in (
            ("kernel_size", self.kernel_size),
            ("stride", self.stride),
            ("dilation", self.dilation),
        ):
            check_positive(values, label, name, ValueError)
        pairs = conv_padding(padding, self.kernel_size, self.stride, self.dilation, name, ValueError)
        self.padding: str | tuple[int, ...] = (
            padding if isinstance(padding, str) else tuple(before for before, _ in pairs)
        )
        # F.pad's order: last spatial dim first, (before, after) each.
        self._reversed_padding_repeated_twice = [amount for pair in reversed(pairs) for amount in pair]
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.padding_mode = padding_mode
        self.transposed, self.output_padding = False, (0,) * n
        self.weight = nn.Parameter(
            torch.empty(out_channels, in_channels // groups, *self.kernel_size, device=device, dtype=dtype)
        )
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_conv_parameters(self.weight, self.bias)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if self.padding_mode == "zeros":
            return type(self).functional(
                input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
            )
        padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        return type(self).functional(
            padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(ConvNd):
    """``torch.nn.Conv1d`` from scratch: (b, c_in, L) → (b, c_out, l)."""

    n = 1
    functional = staticmethod(F.conv1d)


class Conv2d(ConvNd):
    """``torch.nn.Conv2d`` from scratch: (b, c_in, H, W) → (b, c_out, h, w).

    >>> import torch
    >>> Conv2d(4, 6, 3, padding="same", groups=2)(torch.randn(1, 4, 8, 8)).shape
    torch.Size([1, 6, 8, 8])
    """

    n = 2
    functional = staticmethod(F.conv2d)


class Conv3d(ConvNd):
    """``torch.nn.Conv3d`` from scratch: (b, c_in, D, H, W) → (b, c_out, d, h, w)."""

    n = 3
    functional = staticmethod(F.conv3d)


# ---------------------------------------------------------------------------------------------
# Lazy convolutions: in_channels read from the first input (torch's LazyModuleMixin).


class LazyConvMixin(LazyModuleMixin):
    """torch's ``_LazyConvXdMixin`` for (transposed) convolutions: ``in_channels`` is the first
    input's channel dim (dim 1, or 0 unbatched); the weight and bias are materialized then, with
    torch's initialization, and the module becomes ``cls_to_become``."""

    n: int
    groups: int
    transposed: bool
    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    weight: Any
    bias: Any

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:  # type: ignore[misc]
            super().reset_parameters()  # type: ignore[misc]

    def initialize_parameters(self, input: torch.Tensor, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        if not self.has_uninitialized_params():  # type: ignore[misc]
            return
        self.in_channels = self._get_in_channels(input)
        if self.in_channels % self.groups != 0:
            raise ValueError(
                f"{type(self).__name__}: in_channels must be divisible by groups, got in_channels="
                f"{self.in_channels} (input {tuple(input.shape)}), groups={self.groups}"
            )
        if self.transposed:  # (c_in, c_out / g, *kernel)
            self.weight.materialize((self.in_channels, self.out_channels // self.groups, *self.kernel_size))
        else:  # (c_out, c_in / g, *kernel)
            self.weight.materialize((self.out_channels, self.in_channels // self.groups, *self.kernel_size))
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()

    def _get_in_channels(self, input: torch.Tensor) -> int:
        unbatched, batched = self.n + 1, self.n + 2
        if input.dim() not in (unbatched, batched):
            raise RuntimeError(
                f"Expected {unbatched}D (unbatched) or {batched}D (batched) input to {type(self).__name__}, "
                f"but got input of size: {input.shape}"
            )
        return input.shape[1] if input.dim() == batched else input.shape[0]

    def _make_lazy(self, out_channels: int, bias: bool, factory: dict[str, Any]) -> None:
        """Replace the placeholder weight (and add the bias) as uninitialized parameters."""
        self.weight = UninitializedParameter(**factory)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(**factory)


class LazyConvNd(LazyConvMixin):
    """``LazyConv1d/2d/3d``: the convolution's constructor without ``in_channels``."""

    def __init__(
        self,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        # 0 channels and no bias for now: both would be replaced at once
        super().__init__(  # type: ignore[misc]
            0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, **factory
        )
        self._make_lazy(out_channels, bias, factory)


class LazyConv1d(LazyConvNd, Conv1d):
    """``torch.nn.LazyConv1d``: a :class:`Conv1d` once the first input has set ``in_channels``.

    >>> conv = LazyConv1d(4, 3)
    >>> conv(torch.randn(2, 5, 8)).shape, type(conv).__name__, conv.in_channels
    (torch.Size([2, 4, 6]), 'Conv1d', 5)
    """

    cls_to_become = Conv1d


class LazyConv2d(LazyConvNd, Conv2d):
    """``torch.nn.LazyConv2d``: a :class:`Conv2d` once the first input has set ``in_channels``."""

    cls_to_become = Conv2d


class LazyConv3d(LazyConvNd, Conv3d):
    """``torch.nn.LazyConv3d``: a :class:`Conv3d` once the first input has set ``in_channels``."""

    cls_to_become = Conv3d
