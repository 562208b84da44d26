"""Pooling: the window view, reduced over its kernel axes. One N-d implementation per kind;
the 1d/2d/3d functions name it.

Legend: b batch, c channels; L | H W | D H W input sizes; l | h w | d h w output positions;
kl | kh kw | kd kh kw kernel offsets; K the flattened kernel (kl | kh·kw | kd·kh·kw).

    input (b, c, *spatial)  →  windows (b, c, *out, *kernel)            the window core, a view
    max        out = windows[..., argmax over K]                        padding -inf, never chosen
    avg        out = windows.sum(kernel axes) / divisor                 padding 0
    adaptive   windows of the largest bin at stride 1, read at the bin starts; cells past a
               bin's end are masked (-inf for max, 0 for avg). When every output size divides
               its input size the bins are plain windows (kernel = stride = S/S')
    lp         out = (avg(input^p) · K)^(1/p)
    unpool     out = zeros(b, c, H·W).scatter(indices, input)           the inverse of max's gather

That is the literal form (``scratchnn.contraction("literal")``). The fast form (the default) never
builds the window view: max runs over the kernel offsets, one shifted slice of the input at a
time, and avg sums one dim at a time (separable passes), each with its own backward — see
"The fast form" below. Both give torch's values, indices and gradients.

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

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any, cast

import einops
import torch

from .._args import check_non_negative, check_positive, check_rank, fail, ntuple, spatial_legend
from .._contract import current_form
from .._trace import is_recording, rearrange, record
from .._windows import output_size as window_count
from .._windows import sliding_windows

__all__ = [
    "PoolArgs",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "pool_output_size",
]

IntOrTuple = int | Sequence[int]
Indices = torch.Tensor


def pool_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool
) -> int:
    """Number of pooling windows along one dim, torch's rule (``padding`` on each side).

    In ceil mode the count rounds up, unless the last window would start in the right padding:

    >>> pool_output_size(6, 3, 2, 0, 1, ceil_mode=False), pool_output_size(6, 3, 2, 0, 1, ceil_mode=True)
    (2, 3)
    >>> pool_output_size(5, 2, 2, 1, 1, ceil_mode=True)  # a 4th window would start at 6 ≥ 5 + 1
    3
    """
    count = window_count(size, kernel, stride, 2 * padding, dilation, ceil_mode)
    if ceil_mode and (count - 1) * stride >= size + padding:
        count -= 1
    return count


def input_legend(n: int) -> str:
    """``"b, c, H, W"`` for n=2: the legend of a pooling input."""
    return ", ".join(["b", "c", *[name.upper() for name in spatial_legend(n)[0]]])


def check_input(input: torch.Tensor, n: int, op: str) -> None:
    """Rank n+1 (unbatched) or n+2, with non-empty dims after the batch — RuntimeError otherwise."""
    legend = input_legend(n)
    check_rank(input, (n + 1, n + 2), "input", legend, op, "(unbatched or batched)")
    first = 1 if input.ndim == n + 2 else 0
    if any(size == 0 for size in input.shape[first:]):
        raise fail(
            RuntimeError,
            op,
            "input must have non-empty dims after the batch dim",
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
        self.output_size = tuple(
            pool_output_size(size, k, s, p, d, self.ceil_mode)
            for size, k, s, p, d in zip(
                self.spatial, self.kernel_size, self.stride, self.padding, self.dilation
            )
        )
        if any(size < 1 for size in self.output_size):
            raise fail(
                RuntimeError,
                op,
                f"output size {self.output_size} is too small: kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation} "
                f"do not fit one window in the input {self.spatial}",
                {"input": (input_legend(n), input.shape)},
            )
        # (before, after) padding of each dim; ceil mode's last window may run past the right padding.
        self.pairs = []
        for size, out, k, s, p, d in zip(
            self.spatial, self.output_size, self.kernel_size, self.stride, self.padding, self.dilation
        ):
            overrun = (out - 1) * s + d * (k - 1) + 1 - (size + 2 * p)
            self.pairs.append((p, p + max(overrun, 0)))

    def windows(self, x: torch.Tensor, value: float) -> torch.Tensor:
        """The window view (..., *out, *kernel) of x, padded with ``value``."""
        return sliding_windows(x, self.kernel_size, self.stride, self.pairs, self.dilation, value=value)

    def first_inside(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Per output position (*out): the flat kernel offset of the first window cell inside the
        input, and that cell's flat input index — torch's choice for a window of -inf only."""
        offset = index = torch.zeros((1,) * self.n, dtype=torch.long, device=device)
        for i, (size, out, k, s, p, d) in enumerate(
            zip(self.spatial, self.output_size, self.kernel_size, self.stride, self.padding, self.dilation)
        ):
            start = torch.arange(out, device=device) * s - p  # in input coordinates
            # kernel cells in the left padding: ⌈max(-start, 0) / d⌉
            skip = (-start).clamp(min=0).add(d - 1).div(d, rounding_mode="floor")
            shape = [1] * self.n
            shape[i] = out
            offset = offset * k + skip.clamp(max=k - 1).view(shape)
            index = index * size + (start + skip * d).view(shape)
        return offset, index


def _lowest(dtype: torch.dtype) -> float:
    """The padding of max pooling: below every value (-inf, or the integer minimum)."""
    return -math.inf if dtype.is_floating_point else torch.iinfo(dtype).min


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


# ---------------------------------------------------------------------------------------------
# The fast form: no window view, so memory stays O(input + output) instead of O(output · kernel).
#
# max  Each kernel offset reads the padded input as one shifted slice the size of the output,
#          slice(i, j) = x_padded[..., i·dh :: sh, j·dw :: sw][..., :h, :w]
#      (a box of a space-to-depth copy of the input), and the maximum runs over the offsets, one
#      slice at a time. Alongside it runs, per output, the flat index of the cell torch's loop
#      keeps (it replaces its maximum when val > max or val is NaN): the argmax. Backward: one
#      scatter-add of the output gradient to those cells (an autograd.Function).
# avg  A window sum is separable: sum along the last dim, then along the one before, … Each pass
#      adds the k strided slices of one dim (zero padding adds nothing, so each slice is clipped
#      to the input). Backward runs the passes' adjoints: the gradient added back into the same
#      slices (an overlap-add); windows that tile the input broadcast it over their blocks.
# Max pooling with more kernel offsets than a plane has outputs (and more than 64: global pooling)
# reduces the window view instead. A dim whose windows tile it (kernel = stride ≥ 16, no padding)
# is summed as one reduction of a reshaped view, `(o k) -> o k`.

MAX_LOOPED_OFFSETS = 64
FLOAT32_EXACT_INTEGERS = 2**24  # float32 holds every integer up to here
MIN_RESHAPED_KERNEL = 16


def _loop_over_offsets(args: PoolArgs) -> bool:
    """Whether fast max pooling reduces over the kernel offsets one slice at a time: when a plane
    has at least as many outputs as the kernel has offsets, or the kernel is small (≤ 64 offsets).

    >>> x = torch.zeros(1, 1, 112, 112)
    >>> _loop_over_offsets(PoolArgs("max_pool2d", x, 2, 3, 2, 1, 1, False))
    True
    >>> _loop_over_offsets(PoolArgs("max_pool2d", x, 2, 112, 112, 0, 1, False))  # one window per plane
    False
    """
    return math.prod(args.kernel_size) <= max(MAX_LOOPED_OFFSETS, math.prod(args.output_size))


def _offsets(kernel_size: Sequence[int]) -> list[tuple[int, tuple[int, ...]]]:
    """Every kernel offset in row-major order (torch's window order), with its flat number.

    >>> _offsets((2, 2))
    [(0, (0, 0)), (1, (0, 1)), (2, (1, 0)), (3, (1, 1))]
    """
    return list(enumerate(itertools.product(*(range(k) for k in kernel_size))))


def _plane_strides(spatial: Sequence[int]) -> list[int]:
    """Strides of the flat input plane: (H, W) → [W, 1]."""
    return [math.prod(spatial[i + 1 :]) for i in range(len(spatial))]


def _phase_slices(args: PoolArgs, x: torch.Tensor, value: float) -> Callable[[tuple[int, ...]], torch.Tensor]:
    """``x`` padded with ``value``, as a function from a kernel offset to its slice (..., *out).

    Offset i of a dim reads, for output o, the input cell o·s + c with c = i·d - p. Elementwise
    ops over slices that skip cells (s > 1) are several times slower than over a box, so x is
    stored split into its stride phases (space-to-depth: one copy), each phase with a margin of
    ``value`` cells for the padding; in 2-D, with margins (mh, mw)::

        buffer (..., sh, sw, h', w')      buffer[..., r, t, mh + a, mw + b] = x[..., a·sh + r, b·sw + t]

    and offset i reads phase c mod s, from row m + ⌊c/s⌋ on: a box, per dim.
    """
    n = args.n
    shifts = [[i * d - p for i in range(k)] for k, d, p in zip(args.kernel_size, args.dilation, args.padding)]
    margins = [-(min(c) // s) for c, s in zip(shifts, args.stride)]  # ⌈p / s⌉
    lengths = [m + max(c) // s + o for m, c, s, o in zip(margins, shifts, args.stride, args.output_size)]
    if all(s == 1 for s in args.stride) and not any(args.padding):
        buffer = x.view(*x.shape[:-n], *[1] * n, *x.shape[-n:])  # nothing to pad or split: x itself
    else:
        buffer = x.new_full((*x.shape[:-n], *args.stride, *lengths), value)
        rows = [
            min(length - m, -(-size // s))
            for length, m, size, s in zip(lengths, margins, args.spatial, args.stride)
        ]
        if all(r * s <= size for r, s, size in zip(rows, args.stride, args.spatial)):  # every phase as long
            names = spatial_legend(n)[0]  # "... (h sh) (w sw) -> ... sh sw h w"
            split = " ".join(f"({a} s{a})" for a in names)
            pattern = f"... {split} -> ... {' '.join(f's{a}' for a in names)} {' '.join(names)}"
            used: tuple[Any, ...] = (..., *[slice(0, r * s) for r, s in zip(rows, args.stride)])
            phases = rearrange(x[used], pattern, **{f"s{a}": s for a, s in zip(names, args.stride)})
            inside: tuple[Any, ...] = (
                ...,
                *[slice(None)] * n,
                *[slice(m, m + r) for m, r in zip(margins, rows)],
            )
            buffer[inside] = phases
        else:
            for residues in itertools.product(*(range(s) for s in args.stride)):
                counts = [
                    min(len(range(r, size, s)), length - m)
                    for r, size, s, length, m in zip(residues, args.spatial, args.stride, lengths, margins)
                ]
                source: tuple[Any, ...] = (
                    ...,
                    *[slice(r, r + s * count, s) for r, s, count in zip(residues, args.stride, counts)],
                )
                target: tuple[Any, ...] = (
                    ...,
                    *residues,
                    *[slice(m, m + c) for m, c in zip(margins, counts)],
                )
                buffer[target] = x[source]

    def at(offset: tuple[int, ...]) -> torch.Tensor:
        cells = [shift[i] for shift, i in zip(shifts, offset)]
        residues = [c % s for c, s in zip(cells, args.stride)]
        boxes = [
            slice(m + c // s, m + c // s + o)
            for m, c, s, o in zip(margins, cells, args.stride, args.output_size)
        ]
        box: tuple[Any, ...] = (..., *residues, *boxes)
        return buffer[box]

    return at


def _window_starts(args: PoolArgs, device: torch.device) -> torch.Tensor:
    """(*out) the flat index of each window's first cell (padding included: may be off the plane)."""
    start = torch.zeros((1,) * args.n, dtype=torch.long, device=device)
    for i, (out, s, p, plane_stride) in enumerate(
        zip(args.output_size, args.stride, args.padding, _plane_strides(args.spatial))
    ):
        shape = [1] * args.n
        shape[i] = out
        start = start + ((torch.arange(out, device=device) * s - p) * plane_stride).view(shape)
    return start


def _max_offsets(args: PoolArgs, x: torch.Tensor, track: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
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
    at = _phase_slices(args, x, _lowest(x.dtype))
    (_, first), *rest = _offsets(args.kernel_size)
    out = at(first).clone(memory_format=torch.contiguous_format)
    if not track:
        for _, offset in rest:
            torch.maximum(out, at(offset), out=out)
        return out, None
    plane_strides = _plane_strides(args.spatial)
    reach = math.prod(args.spatial) + sum(  # a bound on the indices (off the plane for the padding)
        (k * d + p) * stride
        for k, d, p, stride in zip(args.kernel_size, args.dilation, args.padding, plane_strides)
    )
    low_precision = x.dtype in (torch.float32, torch.float16, torch.bfloat16)
    code = torch.float32 if low_precision and reach <= FLOAT32_EXACT_INTEGERS else torch.float64
    start = _window_starts(args, x.device)  # *out
    cells = [  # each offset's cell index, window start + its displacement: *out
        (start + sum(map(math.prod, zip(offset, args.dilation, plane_strides)))).to(code)
        for _, offset in rest
    ]
    kept = args.first_inside(x.device)[1].to(code).expand(out.shape).contiguous()
    replaced = torch.empty(out.shape, dtype=code, device=x.device)
    for cell, (_, offset) in zip(cells, rest):
        value = at(offset)
        torch.gt(value, out, out=replaced)  # 1 where torch's loop replaces its maximum by a larger value
        torch.lerp(kept, cell, replaced, out=kept)
        torch.maximum(out, value, out=out)
    if x.is_floating_point() and (torch.compiler.is_compiling() or bool(out.isnan().any())):
        for cell, (_, offset) in zip(cells, rest):
            value = at(offset)
            torch.ne(value, value, out=replaced)  # 1 where it is a NaN
            torch.lerp(kept, cell, replaced, out=kept)
    return out, kept


class _MaxPoolFast(torch.autograd.Function):
    """Max pooling over offsets; backward: the output gradient scatter-added to the argmax cells,
    whose indices it keeps in floating point (half the bytes of int64)."""

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor, args: PoolArgs) -> tuple[torch.Tensor, torch.Tensor]:
        out, kept = _max_offsets(args, input, track=True)
        assert kept is not None
        ctx.mark_non_differentiable(kept)
        ctx.set_materialize_grads(False)  # no zeros for the indices' (absent) gradient
        ctx.save_for_backward(kept)
        ctx.args, ctx.shape = args, input.shape
        return out, kept

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor | None, _: Any) -> tuple[torch.Tensor | None, None]:
        if grad_out is None:
            return None, None
        (kept,) = ctx.saved_tensors
        args, n = ctx.args, ctx.args.n
        grad_input = grad_out.new_zeros(*ctx.shape[:-n], math.prod(args.spatial))  # ... (H W)
        indices = kept.to(torch.long)
        outside = _outside_windows(args)
        if outside is not None:  # no cell to route to (torch's own backward fails here)
            outside = outside.to(grad_out.device)
            grad_out, indices = grad_out.masked_fill(outside, 0), indices.masked_fill(outside, 0)
        grad_input.scatter_add_(-1, indices.flatten(-n), grad_out.flatten(-n))
        return grad_input.view(ctx.shape), None


def _outside_windows(args: PoolArgs) -> torch.Tensor | None:
    """(*out) True where a window has no cell inside the input (dilated windows in the padding),
    None when there are none — decided from the sizes alone."""
    empty = [
        [not any(0 <= o * s - p + j * d < size for j in range(k)) for o in range(out)]
        for size, out, k, s, p, d in zip(
            args.spatial, args.output_size, args.kernel_size, args.stride, args.padding, args.dilation
        )
    ]
    if not any(any(dim) for dim in empty):
        return None
    mask = torch.zeros((1,) * args.n, dtype=torch.bool)
    for i, dim in enumerate(empty):
        shape = [1] * args.n
        shape[i] = len(dim)
        mask = mask | torch.tensor(dim).view(shape)
    return mask


def _max_pool_fast(
    args: PoolArgs, input: torch.Tensor, return_indices: bool
) -> tuple[torch.Tensor, Indices | None]:
    if return_indices or (torch.is_grad_enabled() and input.requires_grad):
        out, kept = _MaxPoolFast.apply(input, args)
        indices = kept.to(torch.long) if return_indices else None
    else:  # inference: the values alone, one `maximum` per offset
        out, indices = _max_offsets(args, input, track=False)[0], None
    if is_recording():
        count = math.prod(args.kernel_size)
        record("op", f"running max over {count} shifted slices (fast form)", [input], out)
    return out, indices


def _pass_slices(args: PoolArgs, m: int) -> list[tuple[slice, slice]]:
    """Along spatial dim m, per kernel offset: the outputs whose cell at that offset lies inside
    the input (a slice), and those cells (a strided slice); offsets entirely in the padding are left out.

    >>> x = torch.zeros(1, 5)
    >>> for outputs, cells in _pass_slices(PoolArgs("avg_pool1d", x, 1, 3, 2, 1, 1, False), 0):
    ...     print(outputs, cells)
    slice(1, 3, None) slice(1, 4, 2)
    slice(0, 3, None) slice(0, 5, 2)
    slice(0, 2, None) slice(1, 4, 2)
    """
    size, out, k, s, p, d = (
        args.spatial[m],
        args.output_size[m],
        args.kernel_size[m],
        args.stride[m],
        args.padding[m],
        args.dilation[m],
    )
    slices = []
    for i in range(k):
        shift = i * d - p  # the input cell of output 0
        low = -(shift // s) if shift < 0 else 0  # first output whose cell is ≥ 0
        high = min(out, (size - 1 - shift) // s + 1)  # past the last one whose cell is < size
        if high > low:
            slices.append((slice(low, high), slice(low * s + shift, (high - 1) * s + shift + 1, s)))
    return slices


def _along(dim_slice: slice, m: int, n: int) -> tuple[Any, ...]:
    """An index that applies ``dim_slice`` to spatial dim m of n (trailing dims)."""
    return (..., dim_slice, *[slice(None)] * (n - 1 - m))


def _reshaped_pass(args: PoolArgs, m: int) -> bool:
    """Whether the pass along dim m is one reduction of a reshaped view, ``(o k) -> o k``: windows
    that tile the dim (kernel = stride, no padding) and are long (≥ 16; short ones add faster as slices)."""
    k, s, p, d = args.kernel_size[m], args.stride[m], args.padding[m], args.dilation[m]
    return (
        k == s
        and p == 0
        and d == 1
        and k >= MIN_RESHAPED_KERNEL
        and args.output_size[m] * k <= args.spatial[m]
    )


def _sum_along(
    t: torch.Tensor, args: PoolArgs, m: int, accumulate: torch.dtype, into: torch.Tensor | None = None
) -> torch.Tensor:
    """The window sums along spatial dim m of t: (..., size_m, ...) → (..., out_m, ...), written
    ``into`` a given tensor if any."""
    dim, out, k = t.ndim - args.n + m, args.output_size[m], args.kernel_size[m]
    shape = (*t.shape[:dim], out, *t.shape[dim + 1 :])
    total = t.new_empty(shape, dtype=accumulate) if into is None else into
    if _reshaped_pass(args, m):
        return torch.sum(t.narrow(dim, 0, out * k).unflatten(dim, (out, k)), dim + 1, out=total)
    slices = _pass_slices(args, m)
    whole = [i for i, (outputs, _) in enumerate(slices) if outputs == slice(0, out)]
    if whole:  # an offset inside the input for every output starts the sum
        total.copy_(t[_along(slices.pop(whole[0])[1], m, args.n)])
    else:
        total.zero_()
    for out_slice, in_slice in slices:
        total[_along(out_slice, m, args.n)] += t[_along(in_slice, m, args.n)]
    return total


def _spread_along(grad: torch.Tensor, args: PoolArgs, m: int) -> torch.Tensor:
    """The adjoint of :func:`_sum_along`: each output's gradient added to the cells of its window."""
    dim, out, k = grad.ndim - args.n + m, args.output_size[m], args.kernel_size[m]
    if _reshaped_pass(args, m) and out * k == args.spatial[m]:  # every cell in one window: a broadcast
        return (
            grad.unsqueeze(dim + 1)
            .expand(*grad.shape[: dim + 1], k, *grad.shape[dim + 1 :])
            .flatten(dim, dim + 1)
        )
    spread = grad.new_zeros((*grad.shape[:dim], args.spatial[m], *grad.shape[dim + 1 :]))
    if _reshaped_pass(args, m):
        spread.narrow(dim, 0, out * k).unflatten(dim, (out, k)).copy_(grad.unsqueeze(dim + 1))
        return spread
    for out_slice, in_slice in _pass_slices(args, m):
        spread[_along(in_slice, m, args.n)] += grad[_along(out_slice, m, args.n)]
    return spread


class _WindowSum(torch.autograd.Function):
    """The window sums (zero padding), one separable pass per dim, last dim first; backward: the
    passes' overlap-adds."""

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor, args: PoolArgs, accumulate: torch.dtype) -> torch.Tensor:
        ctx.args, ctx.dtype = args, input.dtype
        if all(_reshaped_pass(args, m) for m in range(args.n)):  # long tiling windows: one reduction
            out_names, kernel_names = spatial_legend(args.n)
            blocks = " ".join(f"({o} {k})" for o, k in zip(out_names, kernel_names))
            used: tuple[Any, ...] = (
                ...,
                *[slice(0, o * k) for o, k in zip(args.output_size, args.kernel_size)],
            )
            windows = rearrange(  # a view
                input[used],
                f"... {blocks} -> ... {' '.join(out_names)} {' '.join(kernel_names)}",
                **dict(zip(kernel_names, args.kernel_size)),
            )
            return windows.sum(dim=tuple(range(-args.n, 0)), dtype=accumulate)
        # the result first: the passes' intermediates then sit above it, and go back when freed
        total = input.new_empty((*input.shape[: -args.n], *args.output_size), dtype=accumulate)
        partial = input
        for m in reversed(range(args.n)):
            partial = _sum_along(partial, args, m, accumulate, into=total if m == 0 else None)
        return total

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        if _tiles(ctx.args):
            return _spread_blocks(grad, ctx.args).to(ctx.dtype), None, None
        for m in range(ctx.args.n):
            grad = _spread_along(grad, ctx.args, m)
        return grad.to(ctx.dtype), None, None


def _tiles(args: PoolArgs) -> bool:
    """Whether the windows tile the input: kernel = stride, no padding or dilation, no window
    past the input's end (ceil mode). Every cell is then in at most one window."""
    return all(
        k == s and p == 0 and d == 1 and o * k <= size
        for k, s, p, d, o, size in zip(
            args.kernel_size, args.stride, args.padding, args.dilation, args.output_size, args.spatial
        )
    )


def _spread_blocks(grad: torch.Tensor, args: PoolArgs) -> torch.Tensor:
    """The adjoint of sums over tiling windows: each window's gradient broadcast over its block,
    ``... h w -> ... (h kh) (w kw)`` (one copy), and 0 for the cells past the last block."""
    out_names, kernel_names = spatial_legend(args.n)
    blocks = " ".join(f"({o} {k})" for o, k in zip(out_names, kernel_names))
    spread = einops.repeat(
        grad, f"... {' '.join(out_names)} -> ... {blocks}", **dict(zip(kernel_names, args.kernel_size))
    )
    if tuple(spread.shape[-args.n :]) == args.spatial:
        return spread
    padded = grad.new_zeros(*grad.shape[: -args.n], *args.spatial)
    covered: tuple[Any, ...] = (..., *[slice(0, size) for size in spread.shape[-args.n :]])
    padded[covered] = spread
    return padded


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
    if current_form() == "fast" and _loop_over_offsets(args):
        out, indices = _max_pool_fast(args, input, return_indices)
        return (out, cast(torch.Tensor, indices)) if return_indices else out
    return _max_pool_windows(args, input, return_indices)


def _max_pool_windows(
    args: PoolArgs, input: torch.Tensor, return_indices: bool
) -> torch.Tensor | tuple[torch.Tensor, Indices]:
    """Max pooling as the window view's argmax (the literal form)."""
    n = args.n
    lowest = _lowest(input.dtype)
    windows = args.windows(input, lowest)  # b c *out *kernel
    flat = windows.flatten(-n)  # b c *out K
    pick = _pick_max(flat)  # b c *out 1
    out = flat.gather(-1, pick)
    stuck = out == lowest  # windows of -inf only: torch keeps the first cell inside the input
    first_index = None
    if torch.compiler.is_compiling() or stuck.any():  # traced: always (the same values)
        first_offset, first_index = args.first_inside(input.device)
        pick = torch.where(stuck, first_offset.unsqueeze(-1), pick)
        out = flat.gather(-1, pick)
    out = out.squeeze(-1)
    if is_recording():
        record("op", f"max over the kernel axes ({n}-d windows), first maximum", [windows], out)
    if not return_indices:
        return out
    # the same windows over the map of flat input positions (padding: -1) give the argmax's index
    positions = args.windows(_positions(args.spatial, input.device), -1).flatten(-n)  # *out K
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
    if current_form() == "fast":
        total = _WindowSum.apply(input, args, accumulate)  # b c *out
        step = "window sums, one separable pass per dim"
    else:
        windows = args.windows(input, 0)  # b c *out *kernel
        total = windows.sum(dim=tuple(range(-n, 0)), dtype=accumulate)  # b c *out
        step = f"sum over the kernel axes ({n}-d windows)"
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
        record("op", f"{step} / divisor", [input], out)
    return out


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
# Adaptive pooling: output position i of a dim of size S → S' covers the bin
#     [floor(i·S / S'), ceil((i+1)·S / S'))
# The bins differ in length by at most one cell (plus overlap when S' > S), so all are read from
# one window view whose kernel is the longest bin, at stride 1, taken at the bin starts.


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
    windows = sliding_windows(x, kernel, (1,) * n, [(0, k - 1) for k in kernel], value=fill)
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


def _adaptive_avg_pool(input: torch.Tensor, output_size, n: int, op: str) -> torch.Tensor:
    sizes = _adaptive_output_size(output_size, input, n, op)
    check_input(input, n, op)
    _check_dtype(input, op, integers=False)
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
    sizes = _adaptive_output_size(output_size, input, n, op)
    check_input(input, n, op)
    _check_dtype(input, op, integers=False)
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
    max_pool = {1: max_pool1d, 2: max_pool2d, 3: max_pool3d}[n]
    if norm_type == math.inf:
        return cast(torch.Tensor, max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode))
    if norm_type == -math.inf:
        return -cast(torch.Tensor, max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode))
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


# ---------------------------------------------------------------------------------------------
# Max unpooling: every input value goes back to the flat position its index names; the rest is 0.


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
    default = tuple(
        (size - 1) * s + k - 2 * p for size, k, s, p in zip(input.shape[-n:], kernel, stride, padding)
    )
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
    return out.view(*values.shape[:-1], *sizes)


def max_unpool1d(
    input: torch.Tensor,
    indices: torch.Tensor,
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    output_size: Sequence[int] | None = None,
) -> torch.Tensor:
    """Partial inverse of max_pool1d: (b, c, l) values at their flat indices in (b, c, L), zeros elsewhere.

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

    >>> out, indices = max_pool3d(torch.randn(3, 4, 4, 4), 2, return_indices=True)
    >>> max_unpool3d(out, indices, 2).shape
    torch.Size([3, 4, 4, 4])
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3, "max_unpool3d")
