"""Pooling: the window view, reduced over its kernel axes. One N-d implementation per kind;
the 1d/2d/3d functions name it.

Legend: b batch, c channels; L | H W | D H W input sizes; l | h w | d h w output positions;
kl | kh kw | kd kh kw kernel offsets; K the flattened kernel (kl | kh·kw | kd·kh·kw).

    input (b, c, *spatial)  →  windows (b, c, *out, *kernel)            the window core, a view
    max        out = windows[..., argmax over K]                        padding -inf, never chosen
    avg        out = windows.sum(kernel axes) / divisor                 padding 0
    lp         out = (avg(input^p) · K)^(1/p)

Adaptive pooling (``adaptive_pooling.py``) and max unpooling (``unpooling.py``) build on these.

A call reads: arguments → the window geometry (:class:`PoolArgs`) → the formula above
(:func:`max_pool_formula`, the window sum in :func:`_avg_pool`) in the literal form
(``scratchnn.settings(form="literal")``), or one visible call to a schedule in the fast form (the
default): ``schedules/pooling.py`` never builds the window view — max runs over the kernel
offsets, one shifted slice of the input at a time, and avg sums one dim at a time (separable
passes), each with its own backward. Both give torch's values, indices and gradients.

torch's rules, kept exactly:

* ``stride`` defaults to ``kernel_size`` (``None`` or ``[]``); ``padding`` ≤ ``kernel_size // 2``.
* ``ceil_mode`` rounds the window count up, but the last window must *start* inside the input or
  its left padding; windows may end past the right padding (those cells are ignored, and are not
  counted by ``avg`` even with ``count_include_pad``).
* max picks the *first* maximum of a window in row-major kernel order (the *last* NaN if there is
  one; the first cell inside the input if every cell is -inf), returns its flat index into the
  unpadded input plane, and routes the gradient to that one cell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import torch

from .. import schedules
from .._args import (
    channels_last_format,
    check_non_negative,
    check_positive,
    check_rank,
    fail,
    in_memory_format,
    ntuple,
    spatial_legend,
)
from .._settings import current_settings
from .._trace import is_recording, record
from .._windows import Geometry

__all__ = [
    "PoolArgs",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool2d_with_indices",
    "max_pool3d",
    "max_pool3d_with_indices",
]

IntOrTuple = int | Sequence[int]
Indices = torch.Tensor


def input_legend(n: int) -> str:
    """``"b, c, H, W"`` for n=2: the legend of a pooling input."""
    return ", ".join(["b", "c", *[name.upper() for name in spatial_legend(n)[0]]])


def check_input(input: torch.Tensor, n: int, op: str, exempt: int | None = None) -> None:
    """Rank n+1 (unbatched) or n+2, with non-empty dims after the batch — RuntimeError otherwise.
    ``exempt``: how many leading dims may be empty instead (torch's adaptive pools differ)."""
    legend = input_legend(n)
    check_rank(input, (n + 1, n + 2), "input", legend, op, "(unbatched or batched)")
    first = exempt if exempt is not None else (1 if input.ndim == n + 2 else 0)
    if any(size == 0 for size in input.shape[first:]):
        raise fail(
            RuntimeError,
            op,
            "input must have non-empty dims after the batch dim"
            if exempt is None
            else f"input must have non-empty dims after the first {exempt}",
            {"input": (legend, input.shape)},
        )


def _check_dtype(input: torch.Tensor, op: str, integers: bool | torch.dtype) -> None:
    """Floating-point input, and integers where torch's kernel takes them (all, or one dtype) —
    NotImplementedError otherwise, as torch raises."""
    if input.is_floating_point():
        return
    if (
        input.dtype == torch.bool
        or input.is_complex()
        or integers is False
        or integers not in (True, input.dtype)
    ):
        raise NotImplementedError(f"{op}: not implemented for {input.dtype} input (as in torch)")


def _stride_or_kernel(stride: IntOrTuple | None, kernel: tuple[int, ...], n: int, op: str) -> tuple[int, ...]:
    """torch's default: ``stride=None`` (or ``[]``) means the kernel size."""
    if stride is None or (isinstance(stride, Sequence) and not isinstance(stride, str) and len(stride) == 0):
        return kernel
    return ntuple(stride, n, "stride", op)


class PoolArgs:
    """Validated, normalized arguments of an N-d window pooling (max, avg, lp)."""

    def __init__(
        self,
        op: str,
        input: torch.Tensor,
        n: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None,
        padding: IntOrTuple,
        dilation: IntOrTuple,
        ceil_mode: bool,
    ) -> None:
        check_input(input, n, op)
        self.op, self.n, self.ceil_mode = op, n, bool(ceil_mode)
        self.kernel_size = ntuple(kernel_size, n, "kernel_size", op)
        self.stride = _stride_or_kernel(stride, self.kernel_size, n, op)
        self.padding = ntuple(padding, n, "padding", op)
        self.dilation = ntuple(dilation, n, "dilation", op)
        check_positive(self.kernel_size, "kernel_size", op)
        check_positive(self.stride, "stride", op)
        check_positive(self.dilation, "dilation", op)
        check_non_negative(self.padding, "padding", op)
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise RuntimeError(
                f"{op}: padding must be at most half the kernel size, got padding={self.padding} "
                f"for kernel_size={self.kernel_size}"
            )
        self.spatial = tuple(input.shape[-n:])
        pairs = [(p, p) for p in self.padding]
        self.geometry = Geometry.of(
            self.spatial, self.kernel_size, self.stride, pairs, self.dilation, ceil_mode
        )
        self.output_size = self.geometry.out
        if any(size < 1 for size in self.output_size):
            raise fail(
                RuntimeError,
                op,
                f"output size {self.output_size} is too small: kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation} "
                f"do not fit one window in the input {self.spatial}",
                {"input": (input_legend(n), input.shape)},
            )


def _pick_max(flat: torch.Tensor) -> torch.Tensor:
    """Offset of each window's maximum along the last axis, as torch's pooling loop picks it:
    the first maximum, or the last NaN if the window has NaNs. (..., K) → (..., 1)."""
    pick = flat.argmax(-1, keepdim=True)
    if flat.is_floating_point():
        nan = flat.isnan()
        if torch.compiler.is_compiling() or nan.any():  # traced: always (the same values)
            order = torch.arange(1, flat.shape[-1] + 1, device=flat.device)
            last_nan = (nan * order).argmax(-1, keepdim=True)
            pick = torch.where(nan.any(-1, keepdim=True), last_nan, pick)
    return pick


def _positions(spatial: Sequence[int], device: torch.device) -> torch.Tensor:
    """The flat index of every input cell: (*spatial), e.g. (H, W) with [i, j] = i·W + j."""
    return torch.arange(math.prod(spatial), device=device).view(*spatial)


def _max_pool(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None,
    padding: IntOrTuple,
    dilation: IntOrTuple,
    ceil_mode: bool,
    return_indices: bool,
    n: int,
    op: str,
) -> torch.Tensor | tuple[torch.Tensor, Indices]:
    """The N-d max pooling behind max_pool1d/2d/3d."""
    args = PoolArgs(op, input, n, kernel_size, stride, padding, dilation, ceil_mode)
    _check_dtype(input, op, integers=return_indices or n > 1)
    geometry = args.geometry
    if current_settings().form == "fast" and schedules.pooling.loop_over_offsets(geometry):
        out, indices = schedules.pooling.max_pool(geometry, input, return_indices)
        return in_input_format(input, out, indices) if return_indices else in_input_format(input, out)
    return in_input_format(input, *tensors(max_pool_formula(geometry, input, return_indices)))


def in_input_format(input: torch.Tensor, *outputs: torch.Tensor | None) -> Any:
    """The outputs stored channels last when the input is, as torch's pooling kernels return them."""
    layout = channels_last_format(input)
    stored = tuple(in_memory_format(out, layout) if out is not None else out for out in outputs)
    return stored if len(stored) > 1 else stored[0]


def tensors(result: torch.Tensor | tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return result if isinstance(result, tuple) else (result,)


def max_pool_formula(
    geometry: Geometry, input: torch.Tensor, return_indices: bool
) -> torch.Tensor | tuple[torch.Tensor, Indices]:
    """The formula: the window view's maximum over its kernel axes, torch's first maximum (the
    literal form, and global pooling)."""
    n = geometry.n
    lowest = schedules.pooling.lowest(input.dtype)
    windows = geometry.windows(input, lowest)  # b c *out *kernel
    flat = windows.flatten(-n)  # b c *out K
    pick = _pick_max(flat)  # b c *out 1
    out = flat.gather(-1, pick)
    stuck = out == lowest  # windows of -inf only: torch keeps the first cell inside the input
    first_index = None
    if torch.compiler.is_compiling() or stuck.any():  # traced: always (the same values)
        first_offset, first_index = schedules.pooling.first_inside(geometry, input.device)
        pick = torch.where(stuck, first_offset.unsqueeze(-1), pick)
        out = flat.gather(-1, pick)
    out = out.squeeze(-1)
    if is_recording():
        record("op", f"max over the kernel axes ({n}-d windows), first maximum", [windows], out)
    if not return_indices:
        return out
    # the same windows over the map of flat input positions (padding: -1) give the argmax's index
    positions = geometry.windows(_positions(geometry.spatial, input.device), -1).flatten(-n)  # *out K
    positions = positions.view((1,) * (flat.ndim - positions.ndim) + tuple(positions.shape))
    indices = torch.take_along_dim(positions, pick, -1).squeeze(-1)  # b c *out
    if first_index is not None:
        indices = torch.where(stuck.squeeze(-1), first_index, indices)
    return out, indices


def max_pool1d(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, Indices]:
    """1-D max pooling: (b, c, L) → (b, c, l); with ``return_indices`` also the flat argmax in L.

    >>> max_pool1d(torch.tensor([[1., 3., 2., 5., 4.]]), 2, ceil_mode=True, return_indices=True)
    (tensor([[3., 5., 4.]]), tensor([[1, 3, 4]]))
    """
    return _max_pool(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d"
    )


def max_pool2d(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, Indices]:
    """2-D max pooling: (b, c, H, W) → (b, c, h, w); indices are flat into the H·W plane.

    >>> x = torch.arange(16.).view(1, 4, 4)
    >>> max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
    (tensor([[[ 5.,  7.],
             [13., 15.]]]), tensor([[[ 5,  7],
             [13, 15]]]))
    """
    return _max_pool(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d"
    )


def max_pool3d(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, Indices]:
    """3-D max pooling: (b, c, D, H, W) → (b, c, d, h, w); indices are flat into D·H·W.

    >>> max_pool3d(torch.randn(2, 3, 5, 6, 7), 2, dilation=(1, 2, 1), ceil_mode=True).shape
    torch.Size([2, 3, 3, 3, 4])
    """
    return _max_pool(
        input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3, "max_pool3d"
    )


def _avg_pool(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None,
    padding: IntOrTuple,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
    n: int,
    op: str,
) -> torch.Tensor:
    """The N-d average pooling behind avg_pool1d/2d/3d.

    divisor = divisor_override, or per dim the window's cells inside input + padding
    (``count_include_pad``) or inside the input only, multiplied over the dims.
    """
    args = PoolArgs(op, input, n, kernel_size, stride, padding, 1, ceil_mode)
    _check_dtype(input, op, integers=torch.int64)
    if n == 3 and input.dtype == torch.float16:  # torch's 3-d average pool has no half kernel on CPU
        raise NotImplementedError(f"{op}: not implemented for torch.float16 input (3-d average pooling)")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError(f"{op}: divisor_override must not be zero")
    if n == 3 and any(size < k for size, k in zip(args.spatial, args.kernel_size)):  # torch's 3-D rule
        raise fail(
            RuntimeError,
            op,
            f"the input {args.spatial} is smaller than the kernel {args.kernel_size} (before padding)",
            {"input": (input_legend(n), input.shape)},
        )
    integer = not input.is_floating_point()
    accumulate = torch.int64 if integer else torch.promote_types(input.dtype, torch.float32)
    if current_settings().form == "fast":
        total = schedules.pooling.window_sum(args.geometry, input, accumulate)  # b c *out
    else:  # the formula: the window view summed over its kernel axes
        windows = args.geometry.windows(input, 0)  # b c *out *kernel
        total = windows.sum(dim=tuple(range(-n, 0)), dtype=accumulate)  # b c *out
        if is_recording():
            record("op", f"sum over the kernel axes ({n}-d windows)", [windows], total)
    if divisor_override is not None:
        divisor: torch.Tensor | int = divisor_override
    else:
        divisor = torch.ones((1,) * n, dtype=accumulate, device=input.device)
        for i, (size, count, k, s, p) in enumerate(
            zip(args.spatial, args.output_size, args.kernel_size, args.stride, args.padding)
        ):
            start = torch.arange(count, device=input.device) * s - p
            end = (start + k).clamp(max=size + p)  # windows never count cells past the right padding
            cells = end - start if count_include_pad else end.clamp(max=size) - start.clamp(min=0)
            shape = [1] * n
            shape[i] = count
            divisor = divisor * cells.view(shape).to(accumulate)
    out = total.div_(divisor, rounding_mode="trunc" if integer else None).to(input.dtype)  # in place
    if is_recording():
        record("op", "window sums / divisor", [total], out)
    return in_input_format(input, out) if n == 2 else out  # torch: 3-d average pools return contiguous


def avg_pool1d(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> torch.Tensor:
    """1-D average pooling: (b, c, L) → (b, c, l). (torch's avg_pool1d has no divisor_override.)

    >>> avg_pool1d(torch.tensor([[1., 2., 3., 4., 5.]]), 2, padding=1, count_include_pad=False)
    tensor([[1.0000, 2.5000, 4.5000]])
    """
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1, "avg_pool1d")


def avg_pool2d(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> torch.Tensor:
    """2-D average pooling: (b, c, H, W) → (b, c, h, w).

    >>> avg_pool2d(torch.ones(1, 1, 3, 3), 2, padding=1)
    tensor([[[[0.2500, 0.5000],
              [0.5000, 1.0000]]]])
    """
    if input.ndim < 3:  # torch raises IndexError here (it indexes dim -3 before checking the rank)
        raise fail(
            IndexError,
            "avg_pool2d",
            f"input must be 3-D or 4-D, got a {input.ndim}-D tensor",
            {"input": (input_legend(2), input.shape)},
        )
    return _avg_pool(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2, "avg_pool2d"
    )


def avg_pool3d(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> torch.Tensor:
    """3-D average pooling: (b, c, D, H, W) → (b, c, d, h, w).

    >>> avg_pool3d(torch.ones(1, 2, 4, 4, 4), 2, divisor_override=1)[0, 0, 0, 0, 0]
    tensor(8.)
    """
    return _avg_pool(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3, "avg_pool3d"
    )


# ---------------------------------------------------------------------------------------------
# Power-average pooling, torch's formula: sign(a)·relu(|a|)·K, to the power 1/p, where
# a = avg_pool(input^p) without padding; p = ±inf is the max (min) of |input|.


def _lp_pool(
    input: torch.Tensor,
    norm_type: float,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None,
    ceil_mode: bool,
    n: int,
    op: str,
) -> torch.Tensor:
    if n == 1 and not isinstance(kernel_size, int):  # torch multiplies by kernel_size itself
        raise TypeError(f"{op}: kernel_size must be an int, got kernel_size={kernel_size!r}")
    if n > 1 and isinstance(kernel_size, Sequence) and len(kernel_size) != n:  # torch unpacks n values
        raise ValueError(
            f"{op}: kernel_size must be an int or {n} ints, got kernel_size={tuple(kernel_size)!r}"
        )
    if abs(norm_type) == math.inf:  # the max (min) of |input|
        sign = 1 if norm_type > 0 else -1
        out = _max_pool(sign * input.abs(), kernel_size, stride, 0, 1, ceil_mode, False, n, op)
        return sign * cast(torch.Tensor, out)
    average = _avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode, True, None, n, op)
    cells = math.prod(ntuple(kernel_size, n, "kernel_size", op))
    return (torch.sign(average) * torch.relu(average.abs())).mul(cells).pow(1.0 / norm_type)


def lp_pool1d(
    input: torch.Tensor,
    norm_type: float,
    kernel_size: int,
    stride: IntOrTuple | None = None,
    ceil_mode: bool = False,
) -> torch.Tensor:
    """1-D power-average pooling: (Σ_window x^p)^(1/p), (b, c, L) → (b, c, l).

    >>> lp_pool1d(torch.tensor([[3., 4., 1.]]), 2, 2)
    tensor([[5.]])
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1, "lp_pool1d")


def lp_pool2d(
    input: torch.Tensor,
    norm_type: float,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    ceil_mode: bool = False,
) -> torch.Tensor:
    """2-D power-average pooling: (b, c, H, W) → (b, c, h, w).

    >>> lp_pool2d(torch.ones(1, 1, 4, 4), 2, 2)
    tensor([[[[2., 2.],
              [2., 2.]]]])
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2, "lp_pool2d")


def lp_pool3d(
    input: torch.Tensor,
    norm_type: float,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    ceil_mode: bool = False,
) -> torch.Tensor:
    """3-D power-average pooling: (b, c, D, H, W) → (b, c, d, h, w).

    >>> lp_pool3d(torch.randn(1, 2, 4, 4, 4), 1.5, 2).shape
    torch.Size([1, 2, 2, 2, 2])
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3, "lp_pool3d")


def max_pool1d_with_indices(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[torch.Tensor, Indices]:
    """``max_pool1d(..., return_indices=True)``: (values, flat argmax indices).

    >>> max_pool1d_with_indices(torch.tensor([[1., 3., 2., 5.]]), 2)
    (tensor([[3., 5.]]), tensor([[1, 3]]))
    """
    return cast(
        tuple[torch.Tensor, Indices],
        _max_pool(
            input, kernel_size, stride, padding, dilation, ceil_mode, True, 1, "max_pool1d_with_indices"
        ),
    )


def max_pool2d_with_indices(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[torch.Tensor, Indices]:
    """``max_pool2d(..., return_indices=True)``."""
    return cast(
        tuple[torch.Tensor, Indices],
        _max_pool(
            input, kernel_size, stride, padding, dilation, ceil_mode, True, 2, "max_pool2d_with_indices"
        ),
    )


def max_pool3d_with_indices(
    input: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> tuple[torch.Tensor, Indices]:
    """``max_pool3d(..., return_indices=True)``."""
    return cast(
        tuple[torch.Tensor, Indices],
        _max_pool(
            input, kernel_size, stride, padding, dilation, ceil_mode, True, 3, "max_pool3d_with_indices"
        ),
    )
