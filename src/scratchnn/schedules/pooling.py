"""Pooling's schedules: the window reductions without the window view.

``functional/pooling.py`` holds the formula — the window view (..., *out, *kernel), reduced over
its kernel axes by argmax (max) or sum (avg). These compute the same reductions in
O(input + output) memory instead of O(output · kernel):

max  Each kernel offset q reads the padded input as one shifted slice the size of the output: in
     the padded input's stride phases (the geometry's ``phase_slices``, one copy), offset q lies
     in phase ``(q·d) mod s`` from position ``⌊q·d / s⌋`` on, a box
     (:meth:`~scratchnn._windows.Geometry.phase_of`); the maximum runs over the offsets, one slice
     at a time. Alongside it runs, per output, the flat index of the cell torch's loop keeps (it
     replaces its maximum when val > max or val is NaN): the argmax. Backward: one scatter-add of
     the output gradient to those cells (an autograd.Function).
avg  A window sum is separable: sum along the last dim, then along the one before, … Each pass
     adds the k strided slices of one dim (the geometry's ``taps`` along that dim: zero padding
     adds nothing, so each slice is clipped to the input). Backward runs the passes' adjoints:
     the gradient overlap-added back into the same slices; windows that tile the input broadcast
     it over their blocks.

Max pooling with more kernel offsets than a plane has outputs (and more than 64: global pooling)
reduces the window view instead (``loop_over_offsets``). A dim whose windows tile it (kernel =
stride ≥ 16, no padding) is summed as one reduction of a reshaped view, ``(o k) -> o k``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import einops
import torch

from .._args import spatial_legend
from .._trace import hidden, is_recording, rearrange, record
from .._windows import Geometry, Slices, overlap_add

__all__ = ["first_inside", "loop_over_offsets", "lowest", "max_pool", "window_sum"]

MAX_LOOPED_OFFSETS = 64
FLOAT32_EXACT_INTEGERS = 2**24  # float32 holds every integer up to here
MIN_RESHAPED_KERNEL = 16


def lowest(dtype: torch.dtype) -> float:
    """The padding of max pooling: below every value (-inf, or the integer minimum)."""
    return -math.inf if dtype.is_floating_point else torch.iinfo(dtype).min


def first_inside(geometry: Geometry, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Per output position (*out): the flat kernel offset of the first window cell inside the
    input, and that cell's flat input index — torch's choice for a window of -inf only."""
    n = geometry.n
    offset = index = torch.zeros((1,) * n, dtype=torch.long, device=device)
    for i, (size, out, k, s, (p, _), d) in enumerate(
        zip(
            geometry.spatial,
            geometry.out,
            geometry.kernel,
            geometry.stride,
            geometry.padding,
            geometry.dilation,
        )
    ):
        start = torch.arange(out, device=device) * s - p  # in input coordinates
        # kernel cells in the left padding: ⌈max(-start, 0) / d⌉
        skip = (-start).clamp(min=0).add(d - 1).div(d, rounding_mode="floor")
        shape = [1] * n
        shape[i] = out
        offset = offset * k + skip.clamp(max=k - 1).view(shape)
        index = index * size + (start + skip * d).view(shape)
    return offset, index


def loop_over_offsets(geometry: Geometry) -> bool:
    """Whether max pooling reduces over the kernel offsets one slice at a time: when a plane has
    at least as many outputs as the kernel has offsets, or the kernel is small (≤ 64 offsets).

    >>> loop_over_offsets(Geometry.of((112, 112), (3, 3), (2, 2), [(1, 1)] * 2))
    True
    >>> loop_over_offsets(Geometry.of((112, 112), (112, 112), (112, 112)))  # one window per plane
    False
    """
    return math.prod(geometry.kernel) <= max(MAX_LOOPED_OFFSETS, math.prod(geometry.out))


# --- max --------------------------------------------------------------------------------------


def _offsets(kernel_size: Sequence[int]) -> list[tuple[int, ...]]:
    """Every kernel offset in row-major order (torch's window order)."""
    return list(itertools.product(*(range(k) for k in kernel_size)))


def _plane_strides(spatial: Sequence[int]) -> list[int]:
    """Strides of the flat input plane: (H, W) → [W, 1]."""
    return [math.prod(spatial[i + 1 :]) for i in range(len(spatial))]


def _shifted_slices(
    geometry: Geometry, x: torch.Tensor, value: float
) -> Callable[[tuple[int, ...]], torch.Tensor]:
    """``x`` padded with ``value``, as a function from a kernel offset to its slice (..., *out).

    Elementwise ops over slices that skip cells (s > 1) are several times slower than over a box,
    so x is stored split into the stride phases of its padded form (one copy); offset q then
    reads a box of one phase::

        buffer (..., *s, *Q)      buffer[..., r, t] = x_padded[..., t·s + r]
    """
    n = geometry.n
    if all(s == 1 for s in geometry.stride) and not any(a or z for a, z in geometry.window_padding):
        buffer = x.view(*x.shape[:-n], *[1] * n, *x.shape[-n:])  # nothing to pad or split: x itself
    else:
        padded = Geometry(  # the padding the windows reach (ceil mode may add cells after)
            geometry.spatial,
            geometry.kernel,
            geometry.stride,
            geometry.window_padding,
            geometry.dilation,
            geometry.out,
        )
        lengths = [-(-r // s) for r, s in zip(geometry.reach, geometry.stride)]
        buffer = x.new_full((*x.shape[:-n], *geometry.stride, *lengths), value)
        for residues, source, target in padded.phase_slices(lengths=lengths):
            buffer[(..., *residues, *target)] = x[(..., *source)]

    def at(offset: tuple[int, ...]) -> torch.Tensor:
        residues, positions = geometry.phase_of(offset)
        index: Slices = (..., *residues, *(slice(p, p + o) for p, o in zip(positions, geometry.out)))
        return buffer[index]

    return at


def _window_starts(geometry: Geometry, device: torch.device) -> torch.Tensor:
    """(*out) the flat index of each window's first cell (padding included: may be off the plane)."""
    n = geometry.n
    start = torch.zeros((1,) * n, dtype=torch.long, device=device)
    for i, (out, s, (p, _), plane_stride) in enumerate(
        zip(geometry.out, geometry.stride, geometry.padding, _plane_strides(geometry.spatial))
    ):
        shape = [1] * n
        shape[i] = out
        start = start + ((torch.arange(out, device=device) * s - p) * plane_stride).view(shape)
    return start


def _max_offsets(
    geometry: Geometry, x: torch.Tensor, track: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The maximum over the offsets' slices (..., *out), and (``track``) per output the flat
    input index of the cell torch keeps, in floating point.

    torch's loop starts from the first cell inside the input and replaces its maximum when
    ``val > max or isnan(val)``. An output's replacements come in row-major order, so the cell
    kept is the last one replaced: ``kept = lerp(kept, index, replaced)`` per offset, with the
    flag 0 or 1 and the offset's cell index (*out) in floating point, where comparisons
    vectorize (exact below 2^24, else float64). The value is ``maximum``'s, which propagates NaN
    as the loop does; after a NaN only NaNs replace it, so the last NaN, if any, is the cell
    kept: a second sweep finds it, run only when some window has a NaN (always when compiled).
    """
    at = _shifted_slices(geometry, x, lowest(x.dtype))
    first, *rest = _offsets(geometry.kernel)
    out = at(first).clone(memory_format=torch.contiguous_format)
    if not track:
        for offset in rest:
            torch.maximum(out, at(offset), out=out)
        return out, None
    plane_strides = _plane_strides(geometry.spatial)
    reach = math.prod(geometry.spatial) + sum(  # a bound on the indices (off the plane for the padding)
        (k * d + p) * stride
        for k, d, (p, _), stride in zip(geometry.kernel, geometry.dilation, geometry.padding, plane_strides)
    )
    low_precision = x.dtype in (torch.float32, torch.float16, torch.bfloat16)
    code = torch.float32 if low_precision and reach <= FLOAT32_EXACT_INTEGERS else torch.float64
    start = _window_starts(geometry, x.device)  # *out
    cells = [  # each offset's cell index, window start + its displacement: *out
        (start + sum(map(math.prod, zip(offset, geometry.dilation, plane_strides)))).to(code)
        for offset in rest
    ]
    kept = first_inside(geometry, x.device)[1].to(code).expand(out.shape).contiguous()
    replaced = torch.empty(out.shape, dtype=code, device=x.device)
    for cell, offset in zip(cells, rest):
        value = at(offset)
        torch.gt(value, out, out=replaced)  # 1 where torch's loop replaces its maximum by a larger value
        torch.lerp(kept, cell, replaced, out=kept)
        torch.maximum(out, value, out=out)
    if x.is_floating_point() and (torch.compiler.is_compiling() or bool(out.isnan().any())):
        for cell, offset in zip(cells, rest):
            value = at(offset)
            torch.ne(value, value, out=replaced)  # 1 where it is a NaN
            torch.lerp(kept, cell, replaced, out=kept)
    return out, kept


class _MaxPool(torch.autograd.Function):
    """Max pooling over offsets; backward: the output gradient scatter-added to the argmax cells,
    whose indices it keeps in floating point (half the bytes of int64)."""

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor, geometry: Geometry) -> tuple[torch.Tensor, torch.Tensor]:
        out, kept = _max_offsets(geometry, input, track=True)
        assert kept is not None
        ctx.mark_non_differentiable(kept)
        ctx.set_materialize_grads(False)  # no zeros for the indices' (absent) gradient
        ctx.save_for_backward(kept)
        ctx.geometry, ctx.shape = geometry, input.shape
        return out, kept

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor | None, _: Any) -> tuple[torch.Tensor | None, None]:
        if grad_out is None:
            return None, None
        (kept,) = ctx.saved_tensors
        geometry, n = ctx.geometry, ctx.geometry.n
        grad_input = grad_out.new_zeros(*ctx.shape[:-n], math.prod(geometry.spatial))  # ... (H W)
        indices = kept.to(torch.long)
        outside = _outside_windows(geometry)
        if outside is not None:  # no cell to route to (torch's own backward fails here)
            outside = outside.to(grad_out.device)
            grad_out, indices = grad_out.masked_fill(outside, 0), indices.masked_fill(outside, 0)
        grad_input.scatter_add_(-1, indices.flatten(-n), grad_out.flatten(-n))
        return grad_input.view(ctx.shape), None


def _outside_windows(geometry: Geometry) -> torch.Tensor | None:
    """(*out) True where a window has no cell inside the input (dilated windows in the padding),
    None when there are none — decided from the sizes alone."""
    empty = [
        [not any(0 <= o * s - p + j * d < size for j in range(k)) for o in range(out)]
        for size, out, k, s, (p, _), d in zip(
            geometry.spatial,
            geometry.out,
            geometry.kernel,
            geometry.stride,
            geometry.padding,
            geometry.dilation,
        )
    ]
    if not any(any(dim) for dim in empty):
        return None
    mask = torch.zeros((1,) * geometry.n, dtype=torch.bool)
    for i, dim in enumerate(empty):
        shape = [1] * geometry.n
        shape[i] = len(dim)
        mask = mask | torch.tensor(dim).view(shape)
    return mask


def max_pool(
    geometry: Geometry, input: torch.Tensor, return_indices: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Max pooling over the shifted slices: the values, and the flat argmax indices if asked."""
    if is_recording():
        count = math.prod(geometry.kernel)
        record(
            "schedule",
            f"running max over {count} shifted slices of the padded input's stride phases",
            [input],
            (*input.shape[: -geometry.n], *geometry.out),
        )
    with hidden():
        if return_indices or (torch.is_grad_enabled() and input.requires_grad):
            out, kept = _MaxPool.apply(input, geometry)
            return out, kept.to(torch.long) if return_indices else None
        return _max_offsets(geometry, input, track=False)[0], None  # inference: one `maximum` per offset


# --- avg: separable window sums ----------------------------------------------------------------


def _along(dim_slice: slice, m: int, n: int) -> tuple[Any, ...]:
    """An index that applies ``dim_slice`` to spatial dim m of n (trailing dims)."""
    return (..., dim_slice, *[slice(None)] * (n - 1 - m))


def _reshaped_pass(geometry: Geometry, m: int) -> bool:
    """Whether the pass along dim m is one reduction of a reshaped view, ``(o k) -> o k``: windows
    that tile the dim (kernel = stride, no padding) and are long (≥ 16; short ones add faster as slices)."""
    k, s, (p, _), d = geometry.kernel[m], geometry.stride[m], geometry.padding[m], geometry.dilation[m]
    return (
        k == s
        and p == 0
        and d == 1
        and k >= MIN_RESHAPED_KERNEL
        and geometry.out[m] * k <= geometry.spatial[m]
    )


def _sum_along(
    t: torch.Tensor, geometry: Geometry, m: int, accumulate: torch.dtype, into: torch.Tensor | None = None
) -> torch.Tensor:
    """The window sums along spatial dim m of t: (..., size_m, ...) → (..., out_m, ...), written
    ``into`` a given tensor if any."""
    n = geometry.n
    dim, out, k = t.ndim - n + m, geometry.out[m], geometry.kernel[m]
    shape = (*t.shape[:dim], out, *t.shape[dim + 1 :])
    total = t.new_empty(shape, dtype=accumulate) if into is None else into
    if _reshaped_pass(geometry, m):
        return torch.sum(t.narrow(dim, 0, out * k).unflatten(dim, (out, k)), dim + 1, out=total)
    slices = [(positions[0], cells[0]) for _, positions, cells in geometry.along(m).taps()]
    whole = [i for i, (outputs, _) in enumerate(slices) if outputs == slice(0, out)]
    if whole:  # an offset inside the input for every output starts the sum
        total.copy_(t[_along(slices.pop(whole[0])[1], m, n)])
    else:
        total.zero_()
    for out_slice, in_slice in slices:
        total[_along(out_slice, m, n)] += t[_along(in_slice, m, n)]
    return total


def _spread_along(grad: torch.Tensor, geometry: Geometry, m: int) -> torch.Tensor:
    """The adjoint of :func:`_sum_along`: each output's gradient overlap-added onto its window's cells."""
    dim, out, k = grad.ndim - geometry.n + m, geometry.out[m], geometry.kernel[m]
    if (
        _reshaped_pass(geometry, m) and out * k == geometry.spatial[m]
    ):  # every cell in one window: a broadcast
        return (
            grad.unsqueeze(dim + 1)
            .expand(*grad.shape[: dim + 1], k, *grad.shape[dim + 1 :])
            .flatten(dim, dim + 1)
        )
    spread = grad.new_zeros((*grad.shape[:dim], geometry.spatial[m], *grad.shape[dim + 1 :]))
    if _reshaped_pass(geometry, m):
        spread.narrow(dim, 0, out * k).unflatten(dim, (out, k)).copy_(grad.unsqueeze(dim + 1))
        return spread
    blocks = grad.movedim(dim, -1).unsqueeze(-1).expand(*grad.movedim(dim, -1).shape, k)  # ... out_m k
    overlap_add(blocks, geometry.along(m), into=spread.movedim(dim, -1))
    return spread


class _WindowSum(torch.autograd.Function):
    """The window sums (zero padding), one separable pass per dim, last dim first; backward: the
    passes' overlap-adds."""

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor, geometry: Geometry, accumulate: torch.dtype) -> torch.Tensor:
        ctx.geometry, ctx.dtype = geometry, input.dtype
        n = geometry.n
        if all(_reshaped_pass(geometry, m) for m in range(n)):  # long tiling windows: one reduction
            out_names, kernel_names = spatial_legend(n)
            blocks = " ".join(f"({o} {k})" for o, k in zip(out_names, kernel_names))
            used: tuple[Any, ...] = (..., *[slice(0, o * k) for o, k in zip(geometry.out, geometry.kernel)])
            windows = rearrange(  # a view
                input[used],
                f"... {blocks} -> ... {' '.join(out_names)} {' '.join(kernel_names)}",
                **dict(zip(kernel_names, geometry.kernel)),
            )
            return windows.sum(dim=tuple(range(-n, 0)), dtype=accumulate)
        # the result first: the passes' intermediates then sit above it, and go back when freed
        total = input.new_empty((*input.shape[:-n], *geometry.out), dtype=accumulate)
        partial = input
        for m in reversed(range(n)):
            partial = _sum_along(partial, geometry, m, accumulate, into=total if m == 0 else None)
        return total

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        if _tiles(ctx.geometry):
            return _spread_blocks(grad, ctx.geometry).to(ctx.dtype), None, None
        for m in range(ctx.geometry.n):
            grad = _spread_along(grad, ctx.geometry, m)
        return grad.to(ctx.dtype), None, None


def _tiles(geometry: Geometry) -> bool:
    """Whether the windows tile the input: kernel = stride, no padding or dilation, no window
    past the input's end (ceil mode). Every cell is then in at most one window."""
    return all(
        k == s and p == 0 and d == 1 and o * k <= size
        for k, s, (p, _), d, o, size in zip(
            geometry.kernel,
            geometry.stride,
            geometry.padding,
            geometry.dilation,
            geometry.out,
            geometry.spatial,
        )
    )


def _spread_blocks(grad: torch.Tensor, geometry: Geometry) -> torch.Tensor:
    """The adjoint of sums over tiling windows: each window's gradient broadcast over its block,
    ``... h w -> ... (h kh) (w kw)`` (one copy), and 0 for the cells past the last block."""
    out_names, kernel_names = spatial_legend(geometry.n)
    blocks = " ".join(f"({o} {k})" for o, k in zip(out_names, kernel_names))
    spread = einops.repeat(
        grad, f"... {' '.join(out_names)} -> ... {blocks}", **dict(zip(kernel_names, geometry.kernel))
    )
    if tuple(spread.shape[-geometry.n :]) == geometry.spatial:
        return spread
    padded = grad.new_zeros(*grad.shape[: -geometry.n], *geometry.spatial)
    covered: tuple[Any, ...] = (..., *[slice(0, size) for size in spread.shape[-geometry.n :]])
    padded[covered] = spread
    return padded


def window_sum(geometry: Geometry, input: torch.Tensor, accumulate: torch.dtype) -> torch.Tensor:
    """The zero-padded window sums (..., *out) in ``accumulate``, one separable pass per dim."""
    if is_recording():
        record(
            "schedule",
            "window sums, one separable pass per dim",
            [input],
            (*input.shape[: -geometry.n], *geometry.out),
        )
    with hidden():
        return _WindowSum.apply(input, geometry, accumulate)
