"""im2col and col2im: ``unfold`` is the window view flattened, ``fold`` is its adjoint, an overlap-add.

Legend: b batch, c channels, H W input (or folded output) size, h w block positions,
kh kw kernel offsets, L = h·w blocks.

    unfold  input (b, c, H, W)  →  windows (b, c, h, w, kh, kw)         a view
                                →  (b, c·kh·kw, h·w)                     rearrange
    fold    input (b, c·kh·kw, h·w)  →  blocks (b, c, h, w, kh, kw)      rearrange
                                     →  (b, c, H, W)                     overlap-add

:func:`overlap_add` is the one overlap-add of the package (``conv_transpose`` uses it too): every
block entry is added at the position its window read it from,
``out[..., i·s + p·d - pad] += blocks[..., i, p]``. It is the adjoint of
``_windows.sliding_windows``, and its backward *is* that window view.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch

from .._args import fail
from .._trace import is_recording, rearrange, record
from .._windows import output_size as window_count
from .._windows import sliding_windows

__all__ = ["fold", "overlap_add", "unfold"]

IntOrPair = int | Sequence[int]


def overlap_add(
    blocks: torch.Tensor,
    output_size: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
) -> torch.Tensor:
    """Add each block entry where its window would have read it: the adjoint of ``sliding_windows``.

    blocks (..., *positions, *kernel) → out (..., *output_size), one spatial dim per kernel dim::

        out[..., i·s + p·d - pad] += blocks[..., i, p]      (positions that fall outside are dropped)

    ``padding`` is the number of leading positions cut off each dim (the window view's padding
    before the signal). The forward pass is one strided slice-add per kernel offset; the backward
    pass is ``sliding_windows`` of the output gradient.

    >>> blocks = torch.ones(3, 2)                  # 3 window positions, kernel 2, stride 1
    >>> overlap_add(blocks, (4,), (2,), (1,), (0,), (1,))
    tensor([1., 2., 2., 1.])
    """
    n = len(kernel_size)
    sizes = tuple(int(s) for s in output_size)
    args = (sizes, tuple(kernel_size), tuple(stride), tuple(padding), tuple(dilation))
    if torch.compiler.is_compiling():  # dynamo cannot trace a custom jvp: autograd differentiates the adds
        out = _slice_adds(blocks, _positions(blocks, kernel_size), *args)
    else:
        out = _OverlapAdd.apply(blocks, *args)
    if is_recording():
        record(
            "overlap-add",
            f"overlap-add of kernel {tuple(kernel_size)}, stride {tuple(stride)}, "
            f"dilation {tuple(dilation)}, padding {tuple(padding)}",
            [blocks],
            out,
            note=f"{len(list(itertools.product(*map(range, kernel_size))))} strided slice-adds over {n}-d",
        )
    return out


class _OverlapAdd(torch.autograd.Function):
    """Forward (and jvp): one slice-add per kernel offset. Backward: the window view of the gradient."""

    @staticmethod
    def forward(blocks, output_size, kernel_size, stride, padding, dilation):  # type: ignore[override]
        return _slice_adds(
            blocks, _positions(blocks, kernel_size), output_size, kernel_size, stride, padding, dilation
        )

    @staticmethod
    def setup_context(ctx, inputs, output):  # type: ignore[override]
        blocks, output_size, kernel_size, stride, padding, dilation = inputs
        ctx.geometry = (_positions(blocks, kernel_size), output_size, kernel_size, stride, padding, dilation)

    @staticmethod
    def jvp(ctx, blocks_tangent, *_):  # type: ignore[override]
        return _slice_adds(blocks_tangent, *ctx.geometry)  # the op is linear: its jvp is itself

    @staticmethod
    def vmap(info, in_dims, blocks, *geometry):  # type: ignore[override]
        if in_dims[0] is None:
            return _OverlapAdd.apply(blocks, *geometry), None
        return _OverlapAdd.apply(blocks.movedim(in_dims[0], 0), *geometry), 0  # one more leading dim

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        positions, output_size, kernel_size, stride, padding, dilation = ctx.geometry
        # pad the gradient so that the window view has exactly the blocks' positions
        pairs = [
            (pad, (count - 1) * s + d * (k - 1) + 1 - size - pad)
            for count, size, k, s, pad, d in zip(
                positions, output_size, kernel_size, stride, padding, dilation
            )
        ]
        windows = sliding_windows(grad, kernel_size, stride, pairs, dilation)
        return windows, None, None, None, None, None


def _positions(blocks: torch.Tensor, kernel_size: Sequence[int]) -> tuple[int, ...]:
    n = len(kernel_size)
    return tuple(blocks.shape[blocks.ndim - 2 * n : blocks.ndim - n])


def _slice_adds(blocks, positions, output_size, kernel_size, stride, padding, dilation) -> torch.Tensor:
    """One strided slice-add per kernel offset: out[..., i·s + p·d - pad] += blocks[..., i, p]."""
    n = len(kernel_size)
    out = blocks.new_zeros(*blocks.shape[: blocks.ndim - 2 * n], *output_size)
    for offset in itertools.product(*map(range, kernel_size)):
        source, target = [], []
        for count, size, p, s, pad, d in zip(positions, output_size, offset, stride, padding, dilation):
            # positions i whose target i·s + p·d - pad lies in [0, size)
            first = max(0, -(-(pad - p * d) // s))
            last = min(count - 1, (size - 1 + pad - p * d) // s)
            if first > last:
                break
            start = first * s + p * d - pad
            source.append(slice(first, last + 1))
            target.append(slice(start, start + (last - first) * s + 1, s))
        else:
            out[(..., *target)] += blocks[(..., *source, *offset)]
    return out


def _pair(value: IntOrPair, name: str, op: str) -> tuple[int, int]:
    """An int or a sequence of exactly 2 ints (im2col takes no 1-element shorthand)."""
    if isinstance(value, bool) or not (isinstance(value, int) or isinstance(value, torch.Size | Sequence)):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {name}={value!r}")
    if isinstance(value, int):
        return (value, value)
    items = tuple(value)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise TypeError(f"{op}: {name} must contain ints, got {name}={items!r}")
    if len(items) != 2:
        raise RuntimeError(f"{op}: {name} must be an int or a pair of ints, got {name}={items!r}")
    return items  # type: ignore[return-value]


def _window_args(
    op: str, kernel_size: IntOrPair, dilation: IntOrPair, padding: IntOrPair, stride: IntOrPair
) -> tuple[tuple[int, int], ...]:
    kernel, dil, pad, step = (
        _pair(v, name, op)
        for v, name in (
            (kernel_size, "kernel_size"),
            (dilation, "dilation"),
            (padding, "padding"),
            (stride, "stride"),
        )
    )
    for values, name in ((kernel, "kernel_size"), (dil, "dilation"), (step, "stride")):
        if any(v <= 0 for v in values):
            raise RuntimeError(f"{op}: {name} must be positive, got {name}={values}")
    if any(v < 0 for v in pad):
        raise RuntimeError(f"{op}: padding must be non-negative, got padding={pad}")
    return kernel, dil, pad, step


def _check_dtype(op: str, input: torch.Tensor) -> None:
    if not (input.is_floating_point() or input.is_complex() or input.dtype == torch.bool):
        raise NotImplementedError(
            f"{op}: {input.dtype} is not supported (floating-point, complex or bool only)"
        )


def unfold(
    input: torch.Tensor,
    kernel_size: IntOrPair,
    dilation: IntOrPair = 1,
    padding: IntOrPair = 0,
    stride: IntOrPair = 1,
) -> torch.Tensor:
    """im2col: every window of a 2-D input as a column, (b, c, H, W) → (b, c·kh·kw, h·w).

    >>> x = torch.arange(9.).view(1, 1, 3, 3)
    >>> unfold(x, 2)
    tensor([[[0., 1., 3., 4.],
             [1., 2., 4., 5.],
             [3., 4., 6., 7.],
             [4., 5., 7., 8.]]])
    """
    op = "unfold"
    if input.ndim < 3:  # torch indexes the missing dims and raises IndexError
        raise fail(
            IndexError,
            op,
            f"input must be 3-D (c, H, W) or 4-D (b, c, H, W), got a {input.ndim}-D tensor",
            {"input": ("...", input.shape)},
        )
    if input.ndim > 4 or any(size == 0 for size in input.shape[-3:]):
        raise fail(
            RuntimeError,
            op,
            "input must be 3-D (c, H, W) or 4-D (b, c, H, W) with non-zero c, H, W (b may be 0)",
            {"input": ("b, c, H, W", input.shape)},
        )
    _check_dtype(op, input)
    kernel, dil, pad, step = _window_args(op, kernel_size, dilation, padding, stride)
    blocks = [
        window_count(size, k, s, 2 * p, d)
        for size, k, s, p, d in zip(input.shape[-2:], kernel, step, pad, dil)
    ]
    if any(count < 1 for count in blocks):
        raise fail(
            RuntimeError,
            op,
            f"kernel_size={kernel}, dilation={dil}, padding={pad}, stride={step} give {tuple(blocks)} blocks "
            f"(h, w) on the input; both must be at least 1",
            {"input": ("b, c, H, W", input.shape)},
        )
    x = input.unsqueeze(0) if input.ndim == 3 else input
    windows = sliding_windows(x, kernel, step, [(p, p) for p in pad], dil)  # b c h w kh kw
    columns = rearrange(windows, "b c h w kh kw -> b (c kh kw) (h w)")
    return columns.squeeze(0) if input.ndim == 3 else columns


def fold(
    input: torch.Tensor,
    output_size: IntOrPair,
    kernel_size: IntOrPair,
    dilation: IntOrPair = 1,
    padding: IntOrPair = 0,
    stride: IntOrPair = 1,
) -> torch.Tensor:
    """col2im: columns back onto a 2-D image, summing overlaps, (b, c·kh·kw, h·w) → (b, c, H, W).

    >>> x = torch.ones(1, 1, 3, 3)
    >>> fold(unfold(x, 2), (3, 3), 2)              # each pixel counts the windows covering it
    tensor([[[[1., 2., 1.],
              [2., 4., 2.],
              [1., 2., 1.]]]])
    """
    op = "fold"
    if input.ndim not in (2, 3) or any(size == 0 for size in input.shape[-2:]):
        raise fail(
            RuntimeError,
            op,
            "input must be 2-D (c·kh·kw, L) or 3-D (b, c·kh·kw, L) with non-zero c·kh·kw and L (b may be 0)",
            {"input": ("b, c·kh·kw, L", input.shape)},
        )
    _check_dtype(op, input)
    size = _pair(output_size, "output_size", op)
    kernel, dil, pad, step = _window_args(op, kernel_size, dilation, padding, stride)
    shapes = {"input": ("b, c·kh·kw, L", input.shape)}
    columns, count = input.shape[-2:]
    if columns % (kernel[0] * kernel[1]):
        raise fail(
            RuntimeError,
            op,
            f"input.shape[-2]={columns} is not divisible by the kernel's size "
            f"kh·kw = {kernel[0] * kernel[1]} (kernel_size={kernel})",
            shapes,
        )
    blocks = [window_count(s, k, st, 2 * p, d) for s, k, st, p, d in zip(size, kernel, step, pad, dil)]
    if any(b < 1 for b in blocks) or blocks[0] * blocks[1] != count:
        raise fail(
            RuntimeError,
            op,
            f"output_size={size}, kernel_size={kernel}, dilation={dil}, padding={pad}, stride={step} give "
            f"{blocks[0]} × {blocks[1]} = {blocks[0] * blocks[1]} blocks, but input.shape[-1]={count}",
            shapes,
        )
    x = input.unsqueeze(0) if input.ndim == 2 else input
    blocks_view = rearrange(x, "b (c kh kw) (h w) -> b c h w kh kw", kh=kernel[0], kw=kernel[1], h=blocks[0])
    out = overlap_add(blocks_view, size, kernel, step, pad, dil)  # b c H W
    return out.squeeze(0) if input.ndim == 2 else out
