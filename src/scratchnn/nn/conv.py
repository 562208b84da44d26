"""Convolution modules: torch.nn's constructors, parameters and state_dicts; forward is one
call into ``scratchnn.functional``."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .. import functional as F
from .._args import check_positive, ntuple
from ..functional.conv import conv_padding

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvNd"]

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
