"""Adaptive pooling: output position i of a dim of size S → S' covers the bin

    [floor(i·S / S'), ceil((i+1)·S / S'))

The bins differ in length by at most one cell (plus overlap when S' > S), so all are read from one
window view whose kernel is the longest bin, at stride 1, taken at the bin starts; cells past a
bin's end are masked (-inf for max, 0 for avg). When every output size divides its input size the
bins are plain windows (kernel = stride = S/S') and the call is an ordinary pool.

Legend as in :mod:`scratchnn.functional.pooling`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import torch

from .._args import check_non_negative, ntuple
from .._windows import Geometry
from .pooling import (
    Indices,
    IntOrTuple,
    _avg_pool,
    _check_dtype,
    _max_pool,
    _pick_max,
    _positions,
    check_input,
    in_input_format,
    tensors,
)

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices",
]


def _adaptive_output_size(output_size, input: torch.Tensor, n: int, op: str) -> tuple[int, ...]:
    """torch's output_size: an int or n entries, where (2-D and 3-D) ``None`` keeps the input size."""
    if n > 1 and isinstance(output_size, Sequence) and not isinstance(output_size, str):
        if input.ndim <= len(output_size):
            raise ValueError(f"{op}: input must have at least {len(output_size) + 1} dims, got {input.ndim}")
        spatial = input.shape[-len(output_size) :]
        output_size = tuple(size if value is None else value for value, size in zip(output_size, spatial))
    sizes = ntuple(output_size, n, "output_size", op)
    check_non_negative(sizes, "output_size", op)
    return sizes


def _bins(size: int, out: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Start and length of the ``out`` adaptive bins over ``size`` cells.

    >>> _bins(5, 3, torch.device("cpu"))
    (tensor([0, 1, 3]), tensor([2, 3, 2]))
    """
    i = torch.arange(out, device=device)
    start = (i * size).div(out, rounding_mode="floor")
    end = -((i + 1) * -size).div(out, rounding_mode="floor")  # ceil((i+1)·size/out)
    return start, end - start


def _longest_bin(size: int, out: int) -> int:
    """The longest of the ``out`` adaptive bins over ``size`` cells (at least 1), from the sizes
    alone: the window size is known before any tensor exists (a traced graph cannot read it back).

    >>> _longest_bin(5, 3), _longest_bin(7, 7), _longest_bin(4, 0)
    (3, 1, 1)
    """
    return max([-(-(o + 1) * size // out) - o * size // out for o in range(out)], default=1) or 1


def _adaptive_windows(
    x: torch.Tensor, output_size: tuple[int, ...], fill: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Bins of x as windows (..., *out, *kernel) with cells past each bin's end set to ``fill``;
    and the bin sizes (*out), the cells counted by each output."""
    n = len(output_size)
    spatial = x.shape[-n:]
    bins = [_bins(size, out, x.device) for size, out in zip(spatial, output_size)]
    kernel = tuple(_longest_bin(size, out) for size, out in zip(spatial, output_size))
    # ... *spatial *kernel: a window at every input position, padded on the right for the last bins
    windows = Geometry.of(spatial, kernel, None, [(0, k - 1) for k in kernel]).windows(x, fill)
    starts: list[torch.Tensor] = []
    inside = torch.ones((), dtype=torch.bool, device=x.device)
    cells = torch.ones((), dtype=torch.long, device=x.device)
    for i, ((start, length), k) in enumerate(zip(bins, kernel)):
        shape = [1] * n
        shape[i] = -1
        starts.append(start.view(shape))
        cells = cells * length.view(shape)
        # mask over (*out, *kernel): offset j of bin o is inside when j < length[o]
        mask_shape = [1] * (2 * n)
        mask_shape[i], mask_shape[n + i] = -1, k
        inside = inside & (torch.arange(k, device=x.device) < length[:, None]).view(mask_shape)
    index: list[Any] = [..., *starts, *[slice(None)] * n]
    windows = windows[tuple(index)]  # ... *out *kernel, read at the bin starts
    return torch.where(inside, windows, torch.full((), fill, dtype=x.dtype, device=x.device)), cells


def _uniform_bins(spatial: Sequence[int], output_size: Sequence[int]) -> tuple[int, ...] | None:
    """The kernel (= stride) when each output size divides its input size: then the bins are
    the windows of a plain pooling, and no bin needs masking.

    >>> _uniform_bins((8, 6), (4, 3)), _uniform_bins((8, 6), (3, 3))
    ((2, 2), None)
    """
    if all(out > 0 and size % out == 0 for size, out in zip(spatial, output_size)):
        return tuple(size // out for size, out in zip(spatial, output_size))
    return None


def _empty(input: torch.Tensor, sizes: Sequence[int]) -> torch.Tensor:
    return input.new_zeros(*input.shape[: input.ndim - len(sizes)], *sizes) + input.sum()


def _adaptive_avg_pool(input: torch.Tensor, output_size, n: int, op: str) -> torch.Tensor:
    return _formatted(input, n, _adaptive_avg(input, output_size, n, op))


def _adaptive_avg(input: torch.Tensor, output_size, n: int, op: str) -> torch.Tensor:
    sizes = _adaptive_output_size(output_size, input, n, op)
    if all(size == 1 for size in sizes) and (input.numel() == 0 or input.is_complex()):
        # global average of an empty or complex input: torch's mean shortcut, which checks no sizes
        check_input(input, n, op, exempt=input.ndim)
        if not input.is_complex():  # torch's mean takes complex input too
            _check_dtype(input, op, integers=False)
        accumulate = torch.promote_types(input.dtype, torch.float32)
        return input.mean(dim=tuple(range(-n, 0)), keepdim=True, dtype=accumulate).to(input.dtype)
    # torch: 1-d and 2-d allow empty channels, 3-d only an empty first dim (batch, or unbatched channels)
    check_input(input, n, op, exempt=input.ndim - n if n < 3 else 1)
    _check_dtype(input, op, integers=False)
    if input.numel() == 0:  # empty leading dims: an empty output, still on the graph
        return _empty(input, sizes)
    uniform = _uniform_bins(input.shape[-n:], sizes)
    if uniform is not None:  # every bin is one window of a plain pooling
        return _avg_pool(input, uniform, uniform, 0, False, True, None, n, op)
    windows, cells = _adaptive_windows(input, sizes, 0.0)  # b c *out *kernel
    accumulate = torch.promote_types(input.dtype, torch.float32)
    out = windows.sum(dim=tuple(range(-n, 0)), dtype=accumulate) / cells.to(accumulate)
    return out.to(input.dtype)


def _adaptive_max_pool(
    input: torch.Tensor, output_size, return_indices: bool, n: int, op: str
) -> torch.Tensor | tuple[torch.Tensor, Indices]:
    return _formatted(input, n, _adaptive_max(input, output_size, return_indices, n, op))


def _formatted(input: torch.Tensor, n: int, result: Any) -> Any:
    """torch's layouts: 2-d adaptive pools keep channels last, 3-d ones return contiguous tensors."""
    outputs = tensors(result)
    if n == 3:
        outputs = tuple(out.contiguous() for out in outputs)
    else:
        outputs = tensors(in_input_format(input, *outputs))
    return outputs if len(outputs) > 1 else outputs[0]


def _adaptive_max(
    input: torch.Tensor, output_size, return_indices: bool, n: int, op: str
) -> torch.Tensor | tuple[torch.Tensor, Indices]:
    sizes = _adaptive_output_size(output_size, input, n, op)
    check_input(input, n, op, exempt=1)  # torch: only the first dim may be empty, batched or not
    _check_dtype(input, op, integers=False)
    if input.numel() == 0:  # empty leading dims: an empty output, still on the graph
        out = _empty(input, sizes)
        return (out, out.detach().long()) if return_indices else out
    uniform = _uniform_bins(input.shape[-n:], sizes)
    if uniform is not None:  # every bin is one window of a plain pooling
        return _max_pool(input, uniform, uniform, 0, 1, False, return_indices, n, op)
    windows, _ = _adaptive_windows(input, sizes, -math.inf)  # b c *out *kernel
    flat = windows.flatten(-n)  # b c *out K; each bin's first cell is inside, so -inf never sticks
    pick = _pick_max(flat)
    out = flat.gather(-1, pick).squeeze(-1)
    if not return_indices:
        return out
    positions, _ = _adaptive_windows(_positions(input.shape[-n:], input.device), sizes, -1)
    positions = positions.flatten(-n)  # *out K
    positions = positions.view((1,) * (flat.ndim - positions.ndim) + tuple(positions.shape))
    return out, torch.take_along_dim(positions, pick, -1).squeeze(-1)


def adaptive_avg_pool1d(input: torch.Tensor, output_size: IntOrTuple) -> torch.Tensor:
    """1-D adaptive average pooling: (b, c, L) → (b, c, l) over bins [⌊i·L/l⌋, ⌈(i+1)·L/l⌉).

    >>> adaptive_avg_pool1d(torch.tensor([[1., 2., 3., 4., 5.]]), 3)
    tensor([[1.5000, 3.0000, 4.5000]])
    """
    return _adaptive_avg_pool(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input: torch.Tensor, output_size) -> torch.Tensor:
    """2-D adaptive average pooling: (b, c, H, W) → (b, c, h, w); ``None`` keeps a size.

    >>> adaptive_avg_pool2d(torch.randn(2, 3, 7, 9), (None, 4)).shape
    torch.Size([2, 3, 7, 4])
    """
    return _adaptive_avg_pool(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input: torch.Tensor, output_size) -> torch.Tensor:
    """3-D adaptive average pooling: (b, c, D, H, W) → (b, c, d, h, w).

    >>> adaptive_avg_pool3d(torch.randn(3, 4, 5, 6), 2).shape
    torch.Size([3, 2, 2, 2])
    """
    return _adaptive_avg_pool(input, output_size, 3, "adaptive_avg_pool3d")


def adaptive_max_pool1d(
    input: torch.Tensor, output_size: IntOrTuple, return_indices: bool = False
) -> torch.Tensor | tuple[torch.Tensor, Indices]:
    """1-D adaptive max pooling: (b, c, L) → (b, c, l), with flat indices into L.

    >>> adaptive_max_pool1d(torch.tensor([[1., 5., 3., 4., 2.]]), 2, return_indices=True)
    (tensor([[5., 4.]]), tensor([[1, 3]]))
    """
    return _adaptive_max_pool(input, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d(
    input: torch.Tensor, output_size, return_indices: bool = False
) -> torch.Tensor | tuple[torch.Tensor, Indices]:
    """2-D adaptive max pooling: (b, c, H, W) → (b, c, h, w), with flat indices into H·W.

    >>> adaptive_max_pool2d(torch.randn(2, 3, 7, 9), 4).shape
    torch.Size([2, 3, 4, 4])
    """
    return _adaptive_max_pool(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool3d(
    input: torch.Tensor, output_size, return_indices: bool = False
) -> torch.Tensor | tuple[torch.Tensor, Indices]:
    """3-D adaptive max pooling: (b, c, D, H, W) → (b, c, d, h, w), with flat indices into D·H·W.

    >>> adaptive_max_pool3d(torch.randn(1, 2, 5, 6, 7), (2, None, 3)).shape
    torch.Size([1, 2, 2, 6, 3])
    """
    return _adaptive_max_pool(input, output_size, return_indices, 3, "adaptive_max_pool3d")


def adaptive_max_pool1d_with_indices(
    input: torch.Tensor, output_size: IntOrTuple, return_indices: bool = False
) -> tuple[torch.Tensor, Indices]:
    """``adaptive_max_pool1d(..., return_indices=True)``.

    >>> adaptive_max_pool1d_with_indices(torch.tensor([[1., 5., 3., 4.]]), 2)
    (tensor([[5., 4.]]), tensor([[1, 3]]))
    """
    return cast(
        tuple[torch.Tensor, Indices],
        _adaptive_max_pool(input, output_size, True, 1, "adaptive_max_pool1d_with_indices"),
    )


def adaptive_max_pool2d_with_indices(
    input: torch.Tensor, output_size, return_indices: bool = False
) -> tuple[torch.Tensor, Indices]:
    """``adaptive_max_pool2d(..., return_indices=True)``."""
    return cast(
        tuple[torch.Tensor, Indices],
        _adaptive_max_pool(input, output_size, True, 2, "adaptive_max_pool2d_with_indices"),
    )


def adaptive_max_pool3d_with_indices(
    input: torch.Tensor, output_size, return_indices: bool = False
) -> tuple[torch.Tensor, Indices]:
    """``adaptive_max_pool3d(..., return_indices=True)``."""
    return cast(
        tuple[torch.Tensor, Indices],
        _adaptive_max_pool(input, output_size, True, 3, "adaptive_max_pool3d_with_indices"),
    )
