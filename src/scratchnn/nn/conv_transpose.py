"""Transposed convolution modules, and their sub-pixel form.

``ConvTranspose1d/2d/3d``: torch.nn's constructors (note the argument order: ``output_padding``
and ``groups`` come before ``bias`` and ``dilation``), parameters, initialization, ``repr`` and
``state_dict``; ``forward(input, output_size=None)`` is one call into ``scratchnn.functional``.

:func:`conv_transpose_to_subpixel` rewrites a transposed convolution whose kernel equals its stride
as a 1×1 convolution followed by a pixel shuffle (the cheatsheet's unfinished recipe, exactly).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from .. import functional as F
from .._args import check_non_negative, check_positive, ntuple, spatial_legend
from .._trace import rearrange
from .conv import Conv1d, Conv2d, Conv3d, ConvNd, LazyConvMixin, init_conv_parameters
from .pixel_shuffle import PixelShuffle, PixelShuffleNd

__all__ = [
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "ConvTransposeNd",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
    "conv_transpose_to_subpixel",
]


class ConvTransposeNd(nn.Module):
    """The N-d transposed convolution module; ``ConvTranspose1d``/``2d``/``3d`` fix ``n``.

    weight (g·c_in, c_out, *kernel), bias (g·c_out,) — the layout of ``torch.nn.ConvTransposeNd``.
    """

    n: int = 0
    functional: Callable[..., torch.Tensor]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        output_padding: int | Sequence[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | Sequence[int] = 1,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        name, n = type(self).__name__, self.n
        if padding_mode != "zeros":
            raise ValueError(
                f"{name}: only padding_mode='zeros' is supported, got padding_mode={padding_mode!r}"
            )
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got groups={groups!r}")
        for label, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
            if channels % groups:
                raise ValueError(
                    f"{name}: {label} must be divisible by groups, got {label}={channels}, groups={groups}"
                )
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", name)
        self.stride = ntuple(stride, n, "stride", name)
        self.padding = ntuple(padding, n, "padding", name)
        self.output_padding = ntuple(output_padding, n, "output_padding", name)
        self.dilation = ntuple(dilation, n, "dilation", name)
        for label, values in (
            ("kernel_size", self.kernel_size),
            ("stride", self.stride),
            ("dilation", self.dilation),
        ):
            check_positive(values, label, name, ValueError)
        for label, values in (("padding", self.padding), ("output_padding", self.output_padding)):
            check_non_negative(values, label, name, ValueError)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.padding_mode, self.transposed = padding_mode, True
        self._reversed_padding_repeated_twice = tuple(a for p in reversed(self.padding) for a in (p, p))
        self.weight = nn.Parameter(
            torch.empty(in_channels, out_channels // groups, *self.kernel_size, device=device, dtype=dtype)
        )
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init_conv_parameters(self.weight, self.bias)

    def forward(self, input: torch.Tensor, output_size: Sequence[int] | None = None) -> torch.Tensor:
        output_padding = self._output_padding(input, output_size)
        return type(self).functional(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )

    def _output_padding(self, input: torch.Tensor, output_size: Sequence[int] | None) -> tuple[int, ...]:
        """``output_padding``, or the one that makes the output ``output_size`` (torch's rule).

        Without output_padding each dim has ``(n - 1)·s - 2·p + d·(k - 1) + 1`` positions; a
        requested size may add up to ``s - 1`` to that.
        """
        if output_size is None:
            return self.output_padding
        name, n = type(self).__name__, self.n
        leading = 2 if input.ndim == n + 2 else 1
        requested = [int(s) for s in output_size]
        if len(requested) == leading + n:
            requested = requested[leading:]
        if len(requested) != n:
            raise ValueError(
                f"{name}: for a {input.ndim}-D input, output_size must have {n} or {leading + n} elements, "
                f"got output_size={list(output_size)}"
            )
        spatial = list(input.shape[-n:])
        smallest = [
            (size - 1) * s - 2 * p + d * (k - 1) + 1
            for size, s, p, d, k in zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size)
        ]
        largest = [low + s - 1 for low, s in zip(smallest, self.stride)]
        if any(not low <= size <= high for size, low, high in zip(requested, smallest, largest)):
            raise ValueError(
                f"{name}: requested an output size of {requested}, but valid sizes range from {smallest} to "
                f"{largest} (for an input of spatial size {spatial})"
            )
        return tuple(size - low for size, low in zip(requested, smallest))

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class ConvTranspose1d(ConvTransposeNd):
    """``torch.nn.ConvTranspose1d`` from scratch: (b, g·c_in, l) → (b, g·c_out, L)."""

    n = 1
    functional = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(ConvTransposeNd):
    """``torch.nn.ConvTranspose2d`` from scratch: (b, g·c_in, h, w) → (b, g·c_out, H, W).

    >>> import torch
    >>> up = ConvTranspose2d(8, 4, 3, stride=2, padding=1)
    >>> up(torch.randn(1, 8, 5, 5), output_size=[10, 10]).shape     # output_padding 1, from the size
    torch.Size([1, 4, 10, 10])
    """

    n = 2
    functional = staticmethod(F.conv_transpose2d)


class ConvTranspose3d(ConvTransposeNd):
    """``torch.nn.ConvTranspose3d`` from scratch: (b, g·c_in, d, h, w) → (b, g·c_out, D, H, W)."""

    n = 3
    functional = staticmethod(F.conv_transpose3d)


_CONVS: dict[int, type[ConvNd]] = {1: Conv1d, 2: Conv2d, 3: Conv3d}


def conv_transpose_to_subpixel(layer: nn.Module) -> nn.Sequential:
    """Rewrite a ``ConvTranspose{1,2,3}d`` (torch's or ours) whose kernel equals its stride as
    ``Sequential(Conv{n}d 1×1, pixel shuffle)``, computing exactly the same function.

    With kernel = stride r (no padding, dilation 1, output_padding 0) the kernels stamped by
    neighbouring inputs never overlap: output position ``i·r + q`` gets exactly one term,
    ``Σ_c_in x[c_in, i] · weight[c_in, c_out, q]``. That is a 1×1 convolution to c_out·r^n
    channels, one per kernel offset q, whose channels a pixel shuffle then spreads over space::

        weight (g·c_in, c_out, r1 … rn)  →  1×1 weight (g·c_out·r1 … rn, c_in, 1 … 1)
                                            "(g c_in) c_out r1 r2 -> (g c_out r1 r2) c_in 1 1"
        bias (g·c_out,)  →  (g·c_out·r1 … rn,)  each repeated r1 … rn times
        shuffle  b (c r1 r2) h w  →  b c (h r1) (w r2)

    Groups carry over unchanged (depthwise stays depthwise). The shuffle is ``PixelShuffle(r)`` for
    2-D with one factor, else ``PixelShuffleNd``.

    >>> import torch
    >>> up = ConvTranspose2d(4, 4, kernel_size=2, stride=2, groups=4)     # depthwise ×2 upsampling
    >>> fast = conv_transpose_to_subpixel(up)
    >>> fast
    Sequential(
      (0): Conv2d(4, 16, kernel_size=(1, 1), stride=(1, 1), groups=4)
      (1): PixelShuffle(upscale_factor=2)
    )
    >>> x = torch.randn(1, 4, 5, 5)
    >>> torch.allclose(fast(x), up(x), atol=1e-6)
    True
    """
    from torch.nn.modules.conv import _ConvTransposeNd

    if not isinstance(layer, _ConvTransposeNd | ConvTransposeNd):
        raise TypeError(
            f"conv_transpose_to_subpixel: expected a ConvTranspose1d/2d/3d (torch's or scratchnn's), "
            f"got {type(layer).__name__}"
        )
    name = type(layer).__name__
    if isinstance(layer.weight, nn.parameter.UninitializedParameter):
        raise ValueError(
            f"conv_transpose_to_subpixel: {name} is lazy and not initialized yet; run it once first"
        )
    n = len(layer.kernel_size)
    kernel, stride = tuple(layer.kernel_size), tuple(layer.stride)
    reasons = []
    if kernel != stride:
        reasons.append(f"kernel_size={kernel} must equal stride={stride}")
    if tuple(layer.padding) != (0,) * n:
        reasons.append(f"padding={tuple(layer.padding)} must be 0")
    if tuple(layer.dilation) != (1,) * n:
        reasons.append(f"dilation={tuple(layer.dilation)} must be 1")
    if tuple(layer.output_padding) != (0,) * n:
        reasons.append(f"output_padding={tuple(layer.output_padding)} must be 0")
    if reasons:
        raise ValueError(
            f"conv_transpose_to_subpixel: {name} has no exact sub-pixel form: " + "; ".join(reasons)
        )
    groups, weight, bias = layer.groups, layer.weight, layer.bias
    kernel_names = spatial_legend(n)[1]
    factors = " ".join(kernel_names)
    ones = " ".join(["1"] * n)
    conv = nn.utils.skip_init(  # built without drawing random numbers: every entry is set below
        _CONVS[n],
        layer.in_channels,
        layer.out_channels * math.prod(kernel),
        kernel_size=1,
        groups=groups,
        bias=bias is not None,
        device=weight.device,
        dtype=weight.dtype,
    )
    with torch.no_grad():
        conv.weight.copy_(
            rearrange(weight, f"(g c_in) c_out {factors} -> (g c_out {factors}) c_in {ones}", g=groups)
        )
        conv.weight.requires_grad_(weight.requires_grad)
        if bias is not None:
            conv.bias.copy_(bias.repeat_interleave(math.prod(kernel)))
            conv.bias.requires_grad_(bias.requires_grad)
    shuffle = PixelShuffle(kernel[0]) if n == 2 and kernel[0] == kernel[1] else PixelShuffleNd(kernel, n)
    return nn.Sequential(conv, shuffle)


class LazyConvTransposeNd(LazyConvMixin):
    """``LazyConvTranspose1d/2d/3d``: the transposed convolution's constructor without ``in_channels``."""

    def __init__(
        self,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        output_padding: int | Sequence[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | Sequence[int] = 1,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        super().__init__(  # type: ignore[misc]
            0,
            0,
            kernel_size,
            stride,
            padding,
            output_padding,
            groups,
            False,
            dilation,
            padding_mode,
            **factory,
        )
        self._make_lazy(out_channels, bias, factory)


class LazyConvTranspose1d(LazyConvTransposeNd, ConvTranspose1d):
    """``torch.nn.LazyConvTranspose1d``: a :class:`ConvTranspose1d` once the first input has set
    ``in_channels``.

    >>> up = LazyConvTranspose1d(2, 3, stride=2)
    >>> up(torch.randn(1, 4, 5)).shape, type(up).__name__, up.weight.shape
    (torch.Size([1, 2, 11]), 'ConvTranspose1d', torch.Size([4, 2, 3]))
    """

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(LazyConvTransposeNd, ConvTranspose2d):
    """``torch.nn.LazyConvTranspose2d``: a :class:`ConvTranspose2d` once ``in_channels`` is known."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(LazyConvTransposeNd, ConvTranspose3d):
    """``torch.nn.LazyConvTranspose3d``: a :class:`ConvTranspose3d` once ``in_channels`` is known."""

    cls_to_become = ConvTranspose3d
