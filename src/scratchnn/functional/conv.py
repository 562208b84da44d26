"""Convolution: windows × weights, summed. One N-d implementation; conv1d/2d/3d name it.

Legend: b batch, g groups, c_in/c_out channels per group, l | h w | d h w output positions,
kl | kh kw | kd kh kw kernel offsets.

    input  (b, g·c_in, *spatial)  →  windows (b, g·c_in, *out, *kernel)        a view
    windows (b, g, c_in, *out, *kernel) · weight (g, c_out, c_in, *kernel)
        →  output (b, g·c_out, *out)                                          contract

A call reads top to bottom: the arguments give the window geometry (:class:`ConvArgs`), the
formula (:func:`conv_formula`) is the definition above, and :func:`convolve` dispatches — the
formula itself in the literal form (``scratchnn.settings(form="literal")``), under forward-mode
AD or ``torch.func``, and for empty tensors; otherwise one of the schedules in
``scratchnn/schedules/conv.py``, which compute the same sums as GEMMs over a flat layout and are
handed the formula for double backward.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from functools import partial

import torch

from .. import schedules
from .._args import (
    channels_last_format,
    check_non_negative,
    check_positive,
    check_rank,
    check_same_dtype,
    check_weight_groups,
    fail,
    in_memory_format,
    ntuple,
    spatial_legend,
)
from .._contract import contract
from .._settings import Settings, check_setting, current_settings, scoped
from .._trace import rearrange
from .._windows import Geometry, same_padding

__all__ = [
    "ConvArgs",
    "algorithm",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_formula",
    "conv_nd",
    "conv_padding",
    "conv_tbc",
    "convolve",
    "current_algorithm",
]

IntOrTuple = int | Sequence[int]
Padding = str | int | Sequence[int]


def conv_padding(
    padding: Padding,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    op: str,
    error: type[Exception] = RuntimeError,
) -> list[tuple[int, int]]:
    """``padding`` ('valid', 'same', an int or n ints) as (before, after) pairs: the one reading of
    a convolution's padding, for the functional ops (RuntimeError, as torch's) and the modules'
    constructors (ValueError, as torch.nn's).

    >>> conv_padding("same", (4, 3), (1, 1), (1, 2), "conv2d")
    [(1, 2), (2, 2)]
    """
    n = len(kernel_size)
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise error(
                    f"{op}: padding='same' is not supported for strided convolutions (stride={tuple(stride)})"
                )
            return same_padding(kernel_size, dilation)
        raise error(f"{op}: padding must be 'valid', 'same', an int or a tuple, got padding={padding!r}")
    amounts = ntuple(padding, n, "padding", op)
    check_non_negative(amounts, "padding", op, error)
    return [(p, p) for p in amounts]


class ConvArgs:
    """Validated, normalized arguments of an N-d convolution, and its window :attr:`geometry`
    (of one sample; shared by every conv-like op)."""

    def __init__(
        self,
        op: str,
        input: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        stride: IntOrTuple,
        padding: Padding,
        dilation: IntOrTuple,
        groups: int,
        n: int,
    ) -> None:
        out_names, kernel_names = spatial_legend(n)
        self.input_legend = ", ".join(["b", "g·c_in", *[s.upper() for s in out_names]])
        self.weight_legend = ", ".join(["g·c_out", "c_in", *kernel_names])
        check_rank(input, (n + 1, n + 2), "input", self.input_legend, op, "(unbatched or batched)")
        check_rank(weight, (n + 2,), "weight", self.weight_legend, op)
        self.op, self.n, self.unbatched = op, n, input.ndim == n + 1
        strides = ntuple(stride, n, "stride", op)
        dilations = ntuple(dilation, n, "dilation", op)
        check_positive(strides, "stride", op)
        check_positive(dilations, "dilation", op)
        if isinstance(groups, bool) or not isinstance(groups, int):
            raise TypeError(f"{op}: groups must be an int, got groups={groups!r}")
        check_positive((groups,), "groups", op)
        self.groups = groups
        kernel = tuple(weight.shape[2:])
        shapes = {"input": (self.input_legend, input.shape), "weight": (self.weight_legend, weight.shape)}
        channels = input.shape[0 if self.unbatched else 1]
        check_weight_groups(op, weight, groups, shapes)
        if weight.shape[0] % groups:
            raise fail(
                RuntimeError,
                op,
                f"weight.shape[0]={weight.shape[0]} is not divisible by groups={groups}",
                shapes,
            )
        if channels != weight.shape[1] * groups:
            raise fail(
                RuntimeError,
                op,
                f"input has {channels} channels but weight expects {weight.shape[1] * groups} "
                f"(weight.shape[1] × groups, groups={groups})",
                shapes,
            )
        if (
            input.dtype == torch.bool and bias is None
        ):  # torch: no kernel for bool (with a bias: a dtype error)
            raise NotImplementedError(f"{op}: not implemented for torch.bool input")
        check_same_dtype(op, input=input, weight=weight, bias=bias)
        if bias is not None and tuple(bias.shape) != (weight.shape[0],):
            raise fail(
                RuntimeError,
                op,
                f"bias must be 1-D with {weight.shape[0]} elements (weight.shape[0])",
                {"bias": ("g·c_out", bias.shape), "weight": (self.weight_legend, weight.shape)},
            )
        pairs = conv_padding(padding, kernel, strides, dilations, op)
        spatial = tuple(input.shape[-n:])
        for size, k, d, (before, after) in zip(spatial, kernel, dilations, pairs):
            if size + before + after < d * (k - 1) + 1:
                raise fail(
                    RuntimeError,
                    op,
                    f"the dilated kernel {kernel} (dilation={dilations}) is larger than "
                    f"the padded input {tuple(s + b + a for s, (b, a) in zip(spatial, pairs))}",
                    shapes,
                )
        self.geometry = Geometry.of(spatial, kernel, strides, pairs, dilations)


def conv_formula(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, geometry: Geometry, groups: int
) -> torch.Tensor:
    """The formula as written: window view (b, g, c_in, *out, *kernel) · weight, contracted."""
    out_names, kernel_names = spatial_legend(geometry.n)
    out_axes, kernel_axes = " ".join(out_names), " ".join(kernel_names)
    windows = geometry.windows(x)  # b (g c_in) *out *kernel, a view
    windows = rearrange(
        windows, f"b (g c_in) {out_axes} {kernel_axes} -> b g c_in {out_axes} {kernel_axes}", g=groups
    )
    weight = rearrange(weight, f"(g c_out) c_in {kernel_axes} -> g c_out c_in {kernel_axes}", g=groups)
    out = contract(
        f"b g c_in {out_axes} {kernel_axes}, g c_out c_in {kernel_axes} -> b g c_out {out_axes}",
        windows,
        weight,
    )
    out = rearrange(out, f"b g c_out {out_axes} -> b (g c_out) {out_axes}")
    return out if bias is None else out + bias.view(-1, *[1] * geometry.n)


def convolve(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, geometry: Geometry, groups: int
) -> torch.Tensor:
    """A batched convolution on validated arguments: the formula, or the schedule that computes it."""
    schedule = schedules.conv.choose(x, weight, bias, geometry, groups)
    if schedule is None:
        return conv_formula(x, weight, bias, geometry, groups)
    if schedule == "space-to-batch":
        return schedules.dilation.space_to_batch(x, weight, bias, geometry, groups, dense=convolve)
    formula = partial(conv_formula, geometry=geometry, groups=groups)
    return schedules.conv.flat_conv(schedule, x, weight, bias, geometry, groups, formula)


def conv_nd(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: IntOrTuple,
    padding: Padding,
    dilation: IntOrTuple,
    groups: int,
    n: int,
    op: str,
) -> torch.Tensor:
    """The N-d convolution behind conv1d, conv2d and conv3d: arguments → geometry → convolve."""
    args = ConvArgs(op, input, weight, bias, stride, padding, dilation, groups, n)
    x = input.unsqueeze(0) if args.unbatched else input
    out = convolve(x, weight, bias, args.geometry, groups)
    return out.squeeze(0) if args.unbatched else in_memory_format(out, channels_last_format(input, weight))


def algorithm(name: str) -> AbstractContextManager[Settings]:
    """``scratchnn.settings(conv=name)`` under its older name: compute every convolution in the
    block with one algorithm (``"auto"``: chosen per shape; see ``scratchnn/schedules/conv.py``).

    ``"einsum"`` is the formula as written (the window view contracted by ``einsum``);
    ``"space-to-batch"`` moves the dilation phases into the batch and applies to dilated
    convolutions only (others fall back to ``"auto"``). The literal form
    (``scratchnn.settings(form="literal")``) ignores this setting: it always runs the formula.

    >>> x, w = torch.randn(2, 4, 9, 9), torch.randn(6, 4, 3, 3)
    >>> with algorithm("shift-gemm"):
    ...     fast = conv2d(x, w, padding=1)
    >>> with algorithm("einsum"):
    ...     plain = conv2d(x, w, padding=1)
    >>> torch.allclose(fast, plain, atol=1e-5)
    True
    """
    return scoped({"conv": check_setting("conv", name, "name", "algorithm")}, "algorithm")


def current_algorithm() -> str:
    """The algorithm selected by ``settings(conv=...)`` (``"auto"`` outside any block)."""
    return current_settings().conv


def conv1d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> torch.Tensor:
    """1-D convolution: input (b, g·c_in, L) · weight (g·c_out, c_in, kl) → (b, g·c_out, l).

    >>> conv1d(torch.randn(2, 4, 10), torch.randn(6, 2, 3), padding="same", groups=2).shape
    torch.Size([2, 6, 10])
    """
    return conv_nd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> torch.Tensor:
    """2-D convolution: input (b, g·c_in, H, W) · weight (g·c_out, c_in, kh, kw) → (b, g·c_out, h, w).

    >>> x, w = torch.randn(2, 4, 8, 8), torch.randn(6, 2, 3, 3)
    >>> conv2d(x, w, padding=1, groups=2).shape
    torch.Size([2, 6, 8, 8])
    """
    return conv_nd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
) -> torch.Tensor:
    """3-D convolution: input (b, g·c_in, D, H, W) · weight (g·c_out, c_in, kd, kh, kw)
    → (b, g·c_out, d, h, w).

    >>> conv3d(torch.randn(1, 2, 4, 5, 6), torch.randn(3, 2, 2, 2, 2), stride=2).shape
    torch.Size([1, 3, 2, 2, 3])
    """
    return conv_nd(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def conv_tbc(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, pad: int = 0) -> torch.Tensor:
    """A 1-d convolution in the (time, batch, channel) layout: conv1d with the axes moved.

    input (t, b, c_in) · weight (k, c_in, c_out) + bias (c_out) → (t + 2·pad − k + 1, b, c_out);
    a negative ``pad`` crops that many steps at both ends, as torch's kernel does.

    >>> conv_tbc(torch.randn(7, 2, 3), torch.randn(3, 3, 4), torch.randn(4), 1).shape
    torch.Size([7, 2, 4])
    """
    shapes = {"input": ("t b c_in", input.shape), "weight": ("k c_in c_out", weight.shape)}
    if input.ndim != 3:
        raise fail(RuntimeError, "conv_tbc", "Input must have 3 dims: time, batch, in_channel", shapes)
    if weight.ndim != 3:
        raise fail(
            RuntimeError,
            "conv_tbc",
            "Weight tensor must have 3 dims: kernel_width, in_channels, out_channels.",
            shapes,
        )
    if bias.ndim != 1:
        raise fail(RuntimeError, "conv_tbc", "Bias must be 1-D", {**shapes, "bias": ("c_out", bias.shape)})
    if input.shape[2] != weight.shape[1]:
        raise fail(
            RuntimeError,
            "conv_tbc",
            "Input dim 2 (input channels) is not == dim 1 in the weight tensor",
            shapes,
        )
    if bias.shape[0] != weight.shape[2]:
        raise fail(
            RuntimeError,
            "conv_tbc",
            "Bias size must equal dim 2 in the weight tensor (output channels).",
            {**shapes, "bias": ("c_out", bias.shape)},
        )
    steps = input.shape[0] + 2 * pad - weight.shape[0] + 1
    if steps < 0:
        raise fail(
            RuntimeError, "conv_tbc", f"the output would have {steps} time steps (t + 2·pad − k + 1)", shapes
        )
    if steps == 0:  # torch: an empty result
        return input.new_zeros(0, input.shape[1], weight.shape[2]) + 0 * (
            input.sum() + weight.sum() + bias.sum()
        )
    x = input.narrow(0, -pad, input.shape[0] + 2 * pad) if pad < 0 else input  # crop both ends
    x = rearrange(x, "t b c_in -> b c_in t")
    w = rearrange(weight, "k c_in c_out -> c_out c_in k")
    out = conv_nd(x, w, bias, 1, max(pad, 0), 1, 1, 1, "conv_tbc")  # b c_out t'
    return rearrange(out, "b c_out t -> t b c_out").contiguous()
