"""Convolution: windows × weights, summed. One N-d implementation; conv1d/2d/3d name it.

Legend: b batch, g groups, c_in/c_out channels per group, l | h w | d h w output positions,
kl | kh kw | kd kh kw kernel offsets.

    input  (b, g·c_in, *spatial)  →  windows (b, g·c_in, *out, *kernel)        a view
    windows (b, g, c_in, *out, *kernel) · weight (g, c_out, c_in, *kernel)
        →  output (b, g·c_out, *out)                                          contract
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._args import (
    check_non_negative,
    check_positive,
    check_rank,
    check_same_dtype,
    fail,
    ntuple,
    spatial_legend,
)
from .._contract import contract, current_form
from .._trace import is_recording, rearrange, record
from .._windows import same_padding, sliding_windows
from ._conv_algorithms import algorithm, choose, current_algorithm, flat_conv, supports

__all__ = ["ConvArgs", "algorithm", "conv1d", "conv2d", "conv3d", "conv_nd", "current_algorithm"]

IntOrTuple = int | Sequence[int]
Padding = str | int | Sequence[int]


class ConvArgs:
    """Validated, normalized arguments of an N-d convolution (shared by every conv-like op)."""

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
        self.stride = ntuple(stride, n, "stride", op)
        self.dilation = ntuple(dilation, n, "dilation", op)
        check_positive(self.stride, "stride", op)
        check_positive(self.dilation, "dilation", op)
        if isinstance(groups, bool) or not isinstance(groups, int):
            raise TypeError(f"{op}: groups must be an int, got groups={groups!r}")
        check_positive((groups,), "groups", op)
        self.groups = groups
        self.kernel_size = tuple(weight.shape[2:])
        shapes = {"input": (self.input_legend, input.shape), "weight": (self.weight_legend, weight.shape)}
        channels = input.shape[0 if self.unbatched else 1]
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
        check_same_dtype(op, input=input, weight=weight, bias=bias)
        if bias is not None and tuple(bias.shape) != (weight.shape[0],):
            raise fail(
                RuntimeError,
                op,
                f"bias must be 1-D with {weight.shape[0]} elements (weight.shape[0])",
                {"bias": ("g·c_out", bias.shape), "weight": (self.weight_legend, weight.shape)},
            )
        self.padding = self._padding(padding, shapes)
        spatial = input.shape[-n:]
        for size, k, d, (before, after) in zip(spatial, self.kernel_size, self.dilation, self.padding):
            if size + before + after < d * (k - 1) + 1:
                raise fail(
                    RuntimeError,
                    op,
                    f"the dilated kernel {tuple(self.kernel_size)} (dilation={self.dilation}) is larger than "
                    f"the padded input {tuple(s + b + a for s, (b, a) in zip(spatial, self.padding))}",
                    shapes,
                )

    def _padding(self, padding: Padding, shapes: dict) -> list[tuple[int, int]]:
        op, n = self.op, self.n
        if isinstance(padding, str):
            if padding == "valid":
                return [(0, 0)] * n
            if padding == "same":
                if any(s != 1 for s in self.stride):
                    raise RuntimeError(
                        f"{op}: padding='same' is not supported for strided convolutions "
                        f"(stride={self.stride})"
                    )
                return same_padding(self.kernel_size, self.dilation)
            raise RuntimeError(
                f"{op}: padding must be 'valid', 'same', an int or a tuple, got padding={padding!r}"
            )
        amounts = ntuple(padding, n, "padding", op)
        check_non_negative(amounts, "padding", op)
        return [(p, p) for p in amounts]


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
    """The N-d convolution behind conv1d, conv2d and conv3d.

    The literal form contracts the window view (broadcast multiply and sum). The fast form picks
    an algorithm per shape (``_conv_algorithms.choose``; force one with :func:`algorithm`).
    """
    args = ConvArgs(op, input, weight, bias, stride, padding, dilation, groups, n)
    x = input.unsqueeze(0) if args.unbatched else input
    # traced by torch.compile: the fast form (its traced schedule; is_recording() is False there)
    literal = not torch.compiler.is_compiling() and current_form() == "literal"
    method = "einsum" if literal else choose(x, weight, groups, args.stride, args.dilation)
    if method == "space-to-batch":
        from ._dilation import conv_nd_space_to_batch

        return conv_nd_space_to_batch(input, weight, bias, stride, padding, dilation, groups, n, op)
    if is_recording() and method != "einsum":
        record(
            "op",
            f"{op} by the {method} algorithm",
            [x, weight],
            [],
            note="see functional/_conv_algorithms.py",
        )
    if method == "einsum" or not supports(x, weight, bias):  # forward-mode AD, torch.func: the formula
        out = _einsum_conv(x, weight, bias, args.stride, args.padding, args.dilation, groups)
    else:
        out = flat_conv(method, x, weight, bias, args.stride, args.padding, args.dilation, groups)
    return out.squeeze(0) if args.unbatched else out


def _einsum_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: Sequence[int],
    padding: Sequence[tuple[int, int]],
    dilation: Sequence[int],
    groups: int,
) -> torch.Tensor:
    """The formula as written: window view (b, g, c_in, *out, *kernel) · weight, contracted."""
    n = x.ndim - 2
    out_names, kernel_names = spatial_legend(n)
    out_axes, kernel_axes = " ".join(out_names), " ".join(kernel_names)
    windows = sliding_windows(x, weight.shape[2:], stride, padding, dilation)
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
    if bias is not None:
        out = out + bias.view(-1, *[1] * n)
    return out


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
