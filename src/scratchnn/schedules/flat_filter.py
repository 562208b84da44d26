"""Flat max/min filters — max-plus/min-plus with a constant element per channel, depthwise — as
separable passes: a rectangular max filter is a max over rows, then over columns.

    out[b, c, *o] = max over q of x_pad[b, c, *(o·s + q·d)]          (+ the constant, by the caller)

Along each dim, small windows (up to ``semiring_small_window`` taps, a setting) reduce tap by tap
over shifted slices, larger ones by binary doubling of non-overlapping spans: O(log k) full passes
whatever k. Both also *count* the taps that attain the extremum (non-overlapping spans make that
exact), and the backward gives each tied tap g / count through the adjoint filter — a min over the
reflected window of the window starts — which is the literal form's gradient, ties included, in
O(input) memory whatever the element size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.autograd.function import once_differentiable

from .._settings import current_settings
from .._windows import Geometry
from ..functional.padding import pad

__all__ = ["flat_filter", "padded"]


def flat_filter(x: torch.Tensor, window: Geometry, largest: bool, pad_value: float) -> torch.Tensor:
    """The max (``largest``) or min of every window of ``x`` (b, c, *spatial), padded with
    ``pad_value``; differentiable in ``x`` (ties share the gradient equally).

    >>> x = torch.tensor([[[3., 1., 4., 1., 5.]]])
    >>> flat_filter(x, Geometry.of((5,), (3,)), True, -math.inf)
    tensor([[[4., 4., 5.]]])
    """
    return _FlatFilter.apply(x, window, pad_value, largest)


def padded(x: torch.Tensor, window: Geometry, value: float) -> torch.Tensor:
    """``x`` with its last n dims padded by the window's padding, with ``value``."""
    flat = [amount for pair in reversed(window.padding) for amount in pair]
    return pad(x, flat, value=value) if any(flat) else x


def _window_reduce(
    values: Sequence[torch.Tensor], dim: int, size: int, step: int, combine: Callable
) -> tuple[torch.Tensor, ...]:
    """``combine`` over every window of ``size`` taps ``step`` apart along ``dim`` (windows start
    at 0, 1, …, n − step·(size − 1) − 1), by binary doubling of *non-overlapping* spans, so
    ``combine`` need not be idempotent (it may count ties): log2(size) + popcount(size) passes.

    >>> _window_reduce([torch.tensor([3., 1., 4., 1., 5.])], 0, 3, 1, _extremum(largest=True))
    (tensor([4., 4., 5.]),)
    """
    windows = values[0].shape[dim] - step * (size - 1)
    result: tuple[torch.Tensor, ...] | None = None
    table, span, offset, remaining = tuple(values), 1, 0, size  # table[i]: taps i, …, i + step·(span − 1)
    while True:
        if remaining & 1:
            piece = tuple(t.narrow(dim, offset, windows) for t in table)
            result = piece if result is None else combine(result, piece)
            offset += span * step
        remaining >>= 1
        if not remaining:
            return result  # type: ignore[return-value]
        shift = span * step
        length = table[0].shape[dim] - shift
        table = combine(
            tuple(t.narrow(dim, 0, length) for t in table), tuple(t.narrow(dim, shift, length) for t in table)
        )
        span *= 2


def _extremum(largest: bool) -> Callable:
    pick = torch.maximum if largest else torch.minimum

    def combine(a: tuple[torch.Tensor, ...], b: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        return (pick(a[0], b[0]),)

    return combine


def _extremum_and_total(largest: bool) -> Callable:
    """(value, weight) pairs: the extremum, and the total weight of the pairs that attain it."""
    pick = torch.maximum if largest else torch.minimum

    def combine(a: tuple[torch.Tensor, ...], b: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        value = pick(a[0], b[0])
        weight = _hits(a[0], value, a[1].dtype).mul_(a[1])
        return value, weight.addcmul_(b[1], _hits(b[0], value, b[1].dtype))

    return combine


def _window_reduce_taps(
    values: Sequence[torch.Tensor], dim: int, size: int, step: int, largest: bool
) -> tuple[torch.Tensor, ...]:
    """The windows of :func:`_window_reduce`, tap by tap: the extremum over ``size`` shifted
    slices, then the weight of the slices that attain it — about 3·size cheap elementwise ops,
    fewer than doubling for small windows. ``values`` is (value,) or (value, weight)."""
    windows = values[0].shape[dim] - step * (size - 1)
    taps = [values[0].narrow(dim, j * step, windows) for j in range(size)]
    pick = torch.maximum if largest else torch.minimum
    extremum = taps[0] if size == 1 else pick(taps[0], taps[1])
    for tap in taps[2:]:
        extremum = pick(extremum, tap, out=extremum)
    if len(values) == 1:
        return (extremum,)
    weight = values[1]
    total = _hits(taps[0], extremum, weight.dtype)  # 1.0 where the tap attains the extremum
    hit = torch.empty_like(total)
    if all(stride == 0 for stride in weight.stride()):  # unit weights: count the hits
        for tap in taps[1:]:
            total += torch.eq(tap, extremum, out=hit)
        return extremum, total
    weights = [weight.narrow(dim, j * step, windows) for j in range(size)]
    total.mul_(weights[0])
    for tap, tap_weight in zip(taps[1:], weights[1:]):
        total.addcmul_(tap_weight, torch.eq(tap, extremum, out=hit))
    return extremum, total


def _hits(values: torch.Tensor, extremum: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``values == extremum`` as 0./1. of ``dtype``, written directly (no bool tensor to convert)."""
    return torch.eq(values, extremum, out=torch.empty(extremum.shape, dtype=dtype, device=extremum.device))


def _flat_filter(
    x_pad: torch.Tensor, window: Geometry, largest: bool, weight: torch.Tensor | None = None
) -> tuple[torch.Tensor, ...]:
    """The separable filter: one window reduce per spatial dim (then the stride), of the values
    alone or of (value, weight) pairs — the extremum and the total weight of the taps attaining it."""
    n = window.n
    small = current_settings().semiring_small_window
    values: tuple[torch.Tensor, ...] = (x_pad,) if weight is None else (x_pad, weight)
    combine = _extremum(largest) if weight is None else _extremum_and_total(largest)
    for i, (k, s, d) in enumerate(zip(window.kernel, window.stride, window.dilation)):
        dim = x_pad.ndim - n + i
        if k <= small:
            values = _window_reduce_taps(values, dim, k, d, largest)
        else:
            values = _window_reduce(values, dim, k, d, combine)
        if s > 1:
            values = tuple(v[(slice(None),) * dim + (slice(None, None, s),)] for v in values)
    return values


class _FlatFilter(torch.autograd.Function):
    """Flat max (``largest``) or min filter over (b, c, *spatial), depthwise, with exact ties.

    When the input needs a gradient the forward also counts, per window, the taps that attain the
    extremum (saved: O(output)); the backward spreads ``g / count`` with one adjoint pass."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: torch.Tensor, window: Geometry, pad_value: float, largest: bool
    ) -> torch.Tensor:
        x_pad = padded(x, window, pad_value)
        ctx.window, ctx.largest = window, largest
        if not ctx.needs_input_grad[0]:
            (out,) = _flat_filter(x_pad, window, largest)
            return out.contiguous()
        ones = torch.ones((), dtype=_count_dtype(x.dtype), device=x.device).expand(x_pad.shape)
        out, count = _flat_filter(x_pad, window, largest, ones)
        out = out.contiguous()
        ctx.save_for_backward(x, out, count)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        x, out, count = ctx.saved_tensors
        window, largest = ctx.window, ctx.largest
        n = window.n
        share = grad_out.to(count.dtype) / count  # each tied tap of a window gets g / count
        # Adjoint: pixel p receives the shares of the windows that contain it and whose extremum is
        # x[p]. All those windows have an extremum ≥ x[p] (for a max filter), so they are the ones
        # that attain the *minimum* over the windows containing p, when that minimum equals x[p]:
        # a min filter (with tie totals) over the window starts, reflected.
        reach = [(k - 1) * d for k, d in zip(window.kernel, window.dilation)]
        lead = x.shape[: x.ndim - n]
        grid = [*lead, *(size + r for size, r in zip(x.shape[x.ndim - n :], reach))]
        # grid index j of a dim ↔ window start j + before − reach (padded coordinates)
        starts: list[tuple[int, int, int, int]] = []
        empty = False
        for (before, _), r, o, s in zip(window.padding, reach, window.out, window.stride):
            first = max(0, -(-(before - r) // s))  # first output whose start is on the grid
            last = min(o - 1, (before + grid[len(starts) + len(lead)] - 1 - r) // s)
            empty = empty or last < first
            starts.append((first, last, first * s - before + r, s))
        value_grid = out.new_full(grid, math.inf if largest else -math.inf)
        share_grid = share.new_zeros(grid)
        if not empty:
            on_grid = (..., *(slice(j, j + (last - first) * s + 1, s) for first, last, j, s in starts))
            kept = (..., *(slice(first, last + 1) for first, last, _, _ in starts))
            value_grid[on_grid] = out[kept]
            share_grid[on_grid] = share[kept]
        reflected = Geometry.of(grid[len(lead) :], window.kernel, None, None, window.dilation)
        extremum, total = _flat_filter(value_grid, reflected, not largest, share_grid)
        return torch.where(extremum == x, total, 0).to(x.dtype), None, None, None


def _count_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.promote_types(dtype, torch.float32)
