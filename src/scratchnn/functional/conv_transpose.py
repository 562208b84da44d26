"""Transposed convolution: every input value stamps a scaled copy of the kernel onto the output.

Legend: b batch, g groups, c_in/c_out channels per group, l | h w | d h w input positions,
kl | kh kw | kd kh kw kernel offsets; s stride, p padding, d dilation, k kernel size.
Weight layout is torch's: (g·c_in, c_out, *kernel). Per dim the output has
``(n - 1)·s - 2·p + d·(k - 1) + 1 + output_padding`` positions.

A call reads: arguments → the window geometry (:class:`ConvTransposeArgs`; the windows of the
adjoint convolution, :meth:`Geometry.transposed`) → :func:`transpose`, which runs a formula or
dispatches to a schedule.

Fast form (default) — pay only for the real products, never for inserted zeros. The formula
(:func:`transposed_formula`)::

    input (b, g·c_in, *in) · weight (g·c_in, c_out, *kernel)
        →  blocks (b, g, c_out, *in, *kernel)                                 contract
        →  output (b, g·c_out, *out)   out[i·s + q·d - p] += blocks[i, q]     overlap-add

runs as written when windows do not overlap (k·d ≤ s in every dim: the overlap-add only places
blocks). When they overlap, the block tensor is kernel-size times the input, so the schedule is
the adjoint convolution's instead: a transposed convolution *is* the input gradient of the
convolution with the same weight, run as that convolution's backward sum
(``schedules.conv.flat_conv_transpose``: each output phase gathers only its own kernel
offsets), and its backward as the convolution's forward and weight gradient. The formula also
serves ``torch.compile``, ``torch.func``, double backward and ``output_padding ≥ stride``.

Literal form (``scratchnn.settings(form="literal")``, :func:`zero_insertion_formula`) — the
textbook definition: insert s - 1 zeros
between input samples, pad by d·(k - 1) - p (and output_padding after), and run the ordinary
convolution with the flipped, transposed kernel::

    input (b, g·c_in, *in)  →  (b, g·c_in, *((in - 1)·s + 1))                 zero insertion
    weight (g·c_in, c_out, *kernel)  →  (g·c_out, c_in, *kernel) flipped       rearrange + flip
    output = conv_formula(zero-inserted, padded input, flipped weight, dilation=d, groups=g)
"""

from __future__ import annotations

from collections.abc import Sequence
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
from .._settings import current_settings
from .._trace import rearrange
from .._windows import Geometry, overlap_add
from .conv import conv_formula
from .padding import pad

__all__ = [
    "ConvTransposeArgs",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "conv_transpose_nd",
    "transpose",
    "transposed_formula",
    "zero_insertion_formula",
]

IntOrTuple = int | Sequence[int]


class ConvTransposeArgs:
    """Validated, normalized arguments of an N-d transposed convolution."""

    def __init__(
        self,
        op: str,
        input: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        stride: IntOrTuple,
        padding: IntOrTuple,
        output_padding: IntOrTuple,
        groups: int,
        dilation: IntOrTuple,
        n: int,
    ) -> None:
        in_names, kernel_names = spatial_legend(n)
        self.input_legend = ", ".join(["b", "g·c_in", *in_names])
        self.weight_legend = ", ".join(["g·c_in", "c_out", *kernel_names])
        check_rank(input, (n + 1, n + 2), "input", self.input_legend, op, "(unbatched or batched)")
        check_rank(weight, (n + 2,), "weight", self.weight_legend, op)
        self.op, self.n, self.unbatched = op, n, input.ndim == n + 1
        self.stride = ntuple(stride, n, "stride", op)
        self.padding = ntuple(padding, n, "padding", op)
        self.output_padding = ntuple(output_padding, n, "output_padding", op)
        self.dilation = ntuple(dilation, n, "dilation", op)
        check_positive(self.stride, "stride", op)
        check_positive(self.dilation, "dilation", op)
        check_non_negative(self.padding, "padding", op)
        check_non_negative(self.output_padding, "output_padding", op)
        if isinstance(groups, bool) or not isinstance(groups, int):
            raise TypeError(f"{op}: groups must be an int, got groups={groups!r}")
        check_positive((groups,), "groups", op)
        self.groups = groups
        self.kernel_size = tuple(weight.shape[2:])
        shapes = {"input": (self.input_legend, input.shape), "weight": (self.weight_legend, weight.shape)}
        if any(k == 0 for k in weight.shape[1:]):
            raise fail(RuntimeError, op, "weight must be non-empty (c_out and every kernel size > 0)", shapes)
        check_weight_groups(op, weight, groups, shapes)
        if weight.shape[0] % groups:
            raise fail(
                RuntimeError,
                op,
                f"weight.shape[0]={weight.shape[0]} is not divisible by groups={groups}",
                shapes,
            )
        channels = input.shape[0 if self.unbatched else 1]
        if channels != weight.shape[0]:
            raise fail(
                RuntimeError,
                op,
                f"input has {channels} channels but weight expects {weight.shape[0]} "
                f"(weight.shape[0] = g·c_in)",
                shapes,
            )
        if not (input.is_floating_point() or input.is_complex() or input.dtype == torch.int64):
            # torch has no kernel for these; int64 and complex fail its dtype check instead
            raise NotImplementedError(f"{op}: not implemented for {input.dtype} input (floating point only)")
        check_same_dtype(op, input=input, weight=weight)  # a bias of another dtype is cast, as torch does
        self.out_channels = weight.shape[1] * groups
        if bias is not None and tuple(bias.shape) != (self.out_channels,):
            raise fail(
                RuntimeError,
                op,
                f"bias must be 1-D with {self.out_channels} elements (weight.shape[1] × groups)",
                {"bias": ("g·c_out", bias.shape), "weight": (self.weight_legend, weight.shape)},
            )
        for o, s, d in zip(self.output_padding, self.stride, self.dilation):
            if o >= s and o >= d:
                raise RuntimeError(
                    f"{op}: output_padding must be smaller than either stride or dilation in every dim, got "
                    f"output_padding={self.output_padding}, stride={self.stride}, dilation={self.dilation}"
                )
        spatial = tuple(input.shape[-n:])
        if any(size == 0 for size in spatial):
            raise fail(
                RuntimeError, op, "input must have non-zero spatial sizes (b and channels may be 0)", shapes
            )
        self.geometry = Geometry.transposed(
            spatial, self.kernel_size, self.stride, self.padding, self.dilation, self.output_padding
        )
        if any(size < 1 for size in self.geometry.spatial):
            raise fail(
                RuntimeError,
                op,
                f"the output size {self.geometry.spatial} is too small: (n - 1)·s - 2·p + d·(k - 1) + 1 "
                f"+ output_padding must be at least 1 (stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, output_padding={self.output_padding})",
                shapes,
            )


def transposed_formula(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, geometry: Geometry, groups: int
) -> torch.Tensor:
    """The formula: x (b, g·c_in, *in) · weight (g·c_in, c_out, *kernel) contracted into blocks
    (b, g, c_out, *in, *kernel), overlap-added onto the output (``geometry``: the adjoint
    convolution's, whose windows are the input's positions)."""
    in_names, kernel_names = spatial_legend(geometry.n)
    in_axes, kernel_axes = " ".join(in_names), " ".join(kernel_names)
    x = rearrange(x, f"b (g c_in) {in_axes} -> b g c_in {in_axes}", g=groups)
    weight = rearrange(weight, f"(g c_in) c_out {kernel_axes} -> g c_in c_out {kernel_axes}", g=groups)
    # weight first: the product then lies in memory as (g, c_out, *kernel, b, *in), so each kernel
    # offset's block is contiguous over the input positions that the overlap-add slides over
    blocks = contract(
        f"g c_in c_out {kernel_axes}, b g c_in {in_axes} -> b g c_out {in_axes} {kernel_axes}", weight, x
    )
    out = overlap_add(blocks, geometry)
    out = rearrange(out, f"b g c_out {in_axes} -> b (g c_out) {in_axes}")
    return out if bias is None else out + bias.view(-1, *[1] * geometry.n)


def zero_insertion_formula(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, geometry: Geometry, groups: int
) -> torch.Tensor:
    """The textbook definition (the literal form): insert s - 1 zeros between samples, pad by
    d·(k - 1) - p (and output_padding after), and convolve with the flipped, transposed kernel."""
    n = geometry.n
    in_names, kernel_names = spatial_legend(n)
    zeros_names = [f"z{name}" for name in in_names]  # the s slots of each sample: itself, then s - 1 zeros
    # (b, c, h, w) → (b, c, h, 1, w, 1) → pad each unit axis with s - 1 zeros → merge: (b, c, (h s), (w s))
    spread = x.reshape(*x.shape[:2], *[axis for size in geometry.out for axis in (size, 1)])
    spread = pad(spread, [amount for s in reversed(geometry.stride) for amount in (0, s - 1, 0, 0)])
    pairs = " ".join(f"{name} {zeros}" for name, zeros in zip(in_names, zeros_names))
    merged = " ".join(f"({name} {zeros})" for name, zeros in zip(in_names, zeros_names))
    spread = rearrange(spread, f"b c {pairs} -> b c {merged}")
    # drop the s - 1 zeros after the last sample; pad by d·(k - 1) - p, plus output_padding after
    amounts = []
    for s, (p, after), d, k in reversed(
        list(zip(geometry.stride, geometry.padding, geometry.dilation, geometry.kernel))
    ):
        border = d * (k - 1) - p
        amounts += [border, border + (p - after) - (s - 1)]
    spread = pad(spread, amounts)
    kernel_axes = " ".join(kernel_names)
    flipped = rearrange(
        weight, f"(g c_in) c_out {kernel_axes} -> (g c_out) c_in {kernel_axes}", g=groups
    ).flip(list(range(2, 2 + n)))
    dense = Geometry.of(spread.shape[2:], geometry.kernel, (1,) * n, None, geometry.dilation)
    return conv_formula(spread, flipped, bias, dense, groups)


def transpose(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, geometry: Geometry, groups: int
) -> torch.Tensor:
    """A batched transposed convolution on validated arguments: the literal form's zero insertion,
    the formula, or the adjoint convolution's schedule (``schedules/conv.py``)."""
    if not torch.compiler.is_compiling() and not bool(torch.isfinite(weight).all()):
        # the zero-inserted and adjoint forms multiply an infinite tap by zeros (NaN) where the
        # formula, like torch, sums only the real contributions
        return transposed_formula(x, weight, bias, geometry, groups)
    if current_settings().form == "literal":
        return zero_insertion_formula(x, weight, bias, geometry, groups)
    schedule = schedules.conv.choose_transposed(x, weight, bias, geometry, groups)
    if schedule is None:
        return transposed_formula(x, weight, bias, geometry, groups)
    formula = partial(transposed_formula, geometry=geometry, groups=groups)
    return schedules.conv.flat_conv_transpose(schedule, x, weight, bias, geometry, groups, formula)


def conv_transpose_nd(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: IntOrTuple,
    padding: IntOrTuple,
    output_padding: IntOrTuple,
    groups: int,
    dilation: IntOrTuple,
    n: int,
    op: str,
) -> torch.Tensor:
    """The N-d transposed convolution behind conv_transpose1d/2d/3d: arguments → geometry → transpose."""
    args = ConvTransposeArgs(op, input, weight, bias, stride, padding, output_padding, groups, dilation, n)
    x = input.unsqueeze(0) if args.unbatched else input
    if bias is not None and bias.dtype != input.dtype:  # torch casts a bias of another dtype
        bias = bias.to(input.dtype)
    out = transpose(x, weight, bias, args.geometry, groups)
    if args.unbatched:
        return out.squeeze(0)
    return in_memory_format(out, channels_last_format(input, weight)) if n == 2 else out  # torch's layouts


def conv_transpose1d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> torch.Tensor:
    """1-D transposed convolution: (b, g·c_in, l) · weight (g·c_in, c_out, kl) → (b, g·c_out, L).

    >>> conv_transpose1d(torch.randn(2, 4, 5), torch.randn(4, 3, 3), stride=2, groups=2).shape
    torch.Size([2, 6, 11])
    """
    return conv_transpose_nd(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 1, "conv_transpose1d"
    )


def conv_transpose2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> torch.Tensor:
    """2-D transposed convolution: (b, g·c_in, h, w) · weight (g·c_in, c_out, kh, kw) → (b, g·c_out, H, W).

    >>> x, w = torch.randn(2, 4, 8, 8), torch.randn(4, 3, 4, 4)
    >>> conv_transpose2d(x, w, stride=2, padding=1).shape        # the usual ×2 upsampling
    torch.Size([2, 3, 16, 16])
    """
    return conv_transpose_nd(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 2, "conv_transpose2d"
    )


def conv_transpose3d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> torch.Tensor:
    """3-D transposed convolution: (b, g·c_in, d, h, w) · (g·c_in, c_out, kd, kh, kw) → (b, g·c_out, D, H, W).

    >>> conv_transpose3d(torch.randn(1, 2, 3, 4, 5), torch.randn(2, 3, 2, 2, 2), stride=2).shape
    torch.Size([1, 3, 6, 8, 10])
    """
    return conv_transpose_nd(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 3, "conv_transpose3d"
    )
