"""Max unpooling, the inverse of max pooling's gather: every input value goes back to the flat
position its index names; the rest is 0.

Legend: b batch, c channels; l | h w | d h w the pooled positions; L | H W | D H W the output size.

    out = zeros(b, c, H·W).scatter(-1, indices (b, c, h·w), input (b, c, h·w))   → (b, c, H, W)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .._args import channels_last_format, check_positive, check_rank, fail, in_memory_format, ntuple
from .._windows import Geometry
from .pooling import IntOrTuple, _check_dtype, input_legend

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]


def _unpool_output_size(
    input: torch.Tensor,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    output_size: Sequence[int] | None,
    op: str,
) -> tuple[int, ...]:
    """torch's output size: (in - 1)·stride + kernel - 2·padding, or ``output_size`` (n or n+2
    entries) when it lies strictly within one stride of that."""
    n = len(kernel)
    # the windows of max pooling (no dilation) over an input of the size solved for: the transposed geometry
    default = Geometry.transposed(input.shape[-n:], kernel, stride, padding, (1,) * n, (0,) * n).spatial
    if output_size is None:
        sizes = default
    else:
        sizes = tuple(output_size)
        if len(sizes) == n + 2:
            sizes = sizes[2:]
        if len(sizes) != n:
            raise ValueError(
                f"{op}: output_size must have {n} or {n + 2} entries, got output_size={tuple(output_size)!r}"
            )
        for d, (size, base, s) in enumerate(zip(sizes, default, stride)):
            if not base - s < size < base + s:
                raise ValueError(
                    f"{op}: invalid output_size {tuple(output_size)}: dim {d} must be strictly between "
                    f"{base - s} and {base + s} (the default {base} ± stride {s})"
                )
    if any(size < 0 for size in sizes):
        raise ValueError(f"{op}: output_size must be non-negative, got {sizes}")
    return sizes


def _max_unpool(
    input: torch.Tensor,
    indices: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None,
    padding: IntOrTuple,
    output_size: Sequence[int] | None,
    n: int,
    op: str,
) -> torch.Tensor:
    """The N-d max unpooling behind max_unpool1d/2d/3d."""
    kernel = ntuple(kernel_size, n, "kernel_size", op)
    strides = kernel if stride is None else ntuple(stride, n, "stride", op)
    pads = ntuple(padding, n, "padding", op)
    sizes = _unpool_output_size(input, kernel, strides, pads, output_size, op)
    legend = input_legend(n)
    check_rank(input, (n + 1, n + 2), "input", legend, op, "(unbatched or batched)")
    check_positive(strides, "stride", op)
    if indices.dtype != torch.int64:
        raise RuntimeError(f"{op}: indices must be int64 (as max pooling returns them), got {indices.dtype}")
    if indices.shape != input.shape:
        raise fail(
            RuntimeError,
            op,
            "indices must have the shape of input",
            {"input": (legend, input.shape), "indices": (legend, indices.shape)},
        )
    _check_dtype(input, op, integers=False)
    plane = math.prod(sizes)
    flat_indices, values = indices.flatten(-n), input.flatten(-n)  # b c (h w)
    bad = (flat_indices < 0) | (flat_indices >= plane)
    if not torch.compiler.is_compiling() and bad.any():  # a value check: eager only (no branch in a graph)
        raise RuntimeError(
            f"{op}: found an invalid max index {int(flat_indices[bad][0])}: the output plane {sizes} "
            f"has {plane} cells"
        )
    out = values.new_zeros(*values.shape[:-1], plane).scatter(-1, flat_indices, values)  # b c (H W)
    out = out.view(*values.shape[:-1], *sizes)
    return (
        in_memory_format(out, channels_last_format(input)) if n == 2 else out
    )  # torch's 2-d keeps channels last


def max_unpool1d(
    input: torch.Tensor,
    indices: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    output_size: Sequence[int] | None = None,
) -> torch.Tensor:
    """Partial inverse of max_pool1d: (b, c, l) values at their flat indices in (b, c, L), zeros elsewhere.

    >>> from scratchnn.functional import max_pool1d
    >>> x = torch.tensor([[1., 3., 2., 5., 4.]])
    >>> max_unpool1d(*max_pool1d(x, 2, return_indices=True), 2, output_size=[5])
    tensor([[0., 3., 0., 5., 0.]])
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1, "max_unpool1d")


def max_unpool2d(
    input: torch.Tensor,
    indices: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    output_size: Sequence[int] | None = None,
) -> torch.Tensor:
    """Partial inverse of max_pool2d: (b, c, h, w) → (b, c, H, W).

    >>> from scratchnn.functional import max_pool2d
    >>> out, indices = max_pool2d(torch.randn(2, 3, 5, 5), 2, return_indices=True)
    >>> max_unpool2d(out, indices, 2, output_size=(5, 5)).shape
    torch.Size([2, 3, 5, 5])
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2, "max_unpool2d")


def max_unpool3d(
    input: torch.Tensor,
    indices: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    output_size: Sequence[int] | None = None,
) -> torch.Tensor:
    """Partial inverse of max_pool3d: (b, c, d, h, w) → (b, c, D, H, W).

    >>> from scratchnn.functional import max_pool3d
    >>> out, indices = max_pool3d(torch.randn(3, 4, 4, 4), 2, return_indices=True)
    >>> max_unpool3d(out, indices, 2).shape
    torch.Size([3, 4, 4, 4])
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3, "max_unpool3d")
