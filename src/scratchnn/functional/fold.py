"""im2col and col2im: ``unfold`` is the window view flattened, ``fold`` is its adjoint, an overlap-add.

Legend: b batch, c channels, H W input (or folded output) size, h w block positions,
kh kw kernel offsets, L = h·w blocks.

    unfold  input (b, c, H, W)  →  windows (b, c, h, w, kh, kw)         a view
                                →  (b, c·kh·kw, h·w)                     rearrange
    fold    input (b, c·kh·kw, h·w)  →  blocks (b, c, h, w, kh, kw)      rearrange
                                     →  (b, c, H, W)                     overlap-add

The overlap-add is the one of the package (``_windows.overlap_add``, which ``conv_transpose``
uses too): every block entry is added at the position its window read it from,
``out[..., i·s + p·d - pad] += blocks[..., i, p]``; it is the adjoint of the window view, and
its backward *is* that window view.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._args import fail
from .._trace import rearrange
from .._windows import Geometry, overlap_add

__all__ = ["fold", "unfold"]

IntOrPair = int | Sequence[int]


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


def _geometry(
    op: str,
    size: Sequence[int],
    kernel_size: IntOrPair,
    dilation: IntOrPair,
    padding: IntOrPair,
    stride: IntOrPair,
) -> Geometry:
    """The window geometry over a (H, W) plane of ``size``, from im2col's arguments (each an int
    or exactly two: im2col takes no 1-element shorthand)."""
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
    return Geometry.of(size, kernel, step, [(p, p) for p in pad], dil)


def _described(geometry: Geometry) -> str:
    """im2col's arguments as the caller gave them: ``kernel_size=(2, 2), dilation=…``."""
    padding = tuple(a for a, _ in geometry.padding)
    return (
        f"kernel_size={geometry.kernel}, dilation={geometry.dilation}, padding={padding}, "
        f"stride={geometry.stride}"
    )


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
    geometry = _geometry(op, input.shape[-2:], kernel_size, dilation, padding, stride)
    if any(count < 1 for count in geometry.out):
        raise fail(
            RuntimeError,
            op,
            f"{_described(geometry)} give {geometry.out} blocks (h, w) on the input; both must be at least 1",
            {"input": ("b, c, H, W", input.shape)},
        )
    x = input.unsqueeze(0) if input.ndim == 3 else input
    windows = geometry.windows(x)  # b c h w kh kw
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
    geometry = _geometry(op, size, kernel_size, dilation, padding, stride)
    shapes = {"input": ("b, c·kh·kw, L", input.shape)}
    columns, count = input.shape[-2:]
    kh, kw = geometry.kernel
    if columns % (kh * kw):
        raise fail(
            RuntimeError,
            op,
            f"input.shape[-2]={columns} is not divisible by the kernel's size "
            f"kh·kw = {kh * kw} (kernel_size={geometry.kernel})",
            shapes,
        )
    h, w = geometry.out
    if h < 1 or w < 1 or h * w != count:
        raise fail(
            RuntimeError,
            op,
            f"output_size={size}, {_described(geometry)} give {h} × {w} = {h * w} blocks, "
            f"but input.shape[-1]={count}",
            shapes,
        )
    x = input.unsqueeze(0) if input.ndim == 2 else input
    blocks = rearrange(x, "b (c kh kw) (h w) -> b c h w kh kw", kh=kh, kw=kw, h=h)
    out = overlap_add(blocks, geometry)  # b c H W
    return out.squeeze(0) if input.ndim == 2 else out
