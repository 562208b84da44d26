"""Semiring convolutions in bounded memory: blocks of the formula's product, and flat filters.

``functional/semiring.py`` holds the formula::

    out[b, g, c_out, *o] = ⊕ over (c_in, *q) of windows[b, g, c_in, *o, *q] ⊗ weight[g, c_out, c_in, *q]

Bounded memory
--------------
Written out, the product ⊗ is an (output × window) tensor: ``b·g·c_out·c_in·h·w·kh·kw``
elements — 20 GB for a 71×71 element on a 1024² image. Here it is cut into blocks along its axes
(batch, kernel offsets, channels, output positions) that each hold at most
``min(budget, semiring_block_bytes)`` bytes (both ``scratchnn.settings``; in the literal form
the budget alone); a block is combined, reduced, and folded into an accumulator the size of its
output block (``+`` for sum, ``maximum``, ``logaddexp``). The backward is a custom
``autograd.Function`` that stores only the input, the weight and the output, and recomputes block
by block. Peak memory is O(input + output + a few blocks).

Gradients
---------
* sum-reductions: exact (``∂⊗`` per element, as autograd of the literal form).
* ``max``/``min``: the subgradient goes to the taps that attain the extremum; ties share it
  *equally* — ``g / count`` each, exactly what autograd gives for ``amax``/``amin`` of the literal
  form (a first pass counts the ties against the saved output, a second routes the gradient).
* ``logsumexp``: exact, ``g · exp((x ⊗ w − out) / T)``.
* ``l1`` offers AdderNet's modified gradient (``get_semiring("l1", gradient="adder")``):
  ``∂out/∂w = x − w`` and ``∂out/∂x = HardTanh(w − x)`` instead of ``±sign(x − w)``.
  (The paper's adaptive learning-rate scaling belongs to the optimizer and is not included.)

Flat max-plus/min-plus filters (a constant element per channel, depthwise, no weight gradient
needed) take a separable path instead: a rectangular max filter is a max over rows, then over
columns. Along each dim, small windows (up to ``semiring_small_window`` taps, a setting) reduce
tap by tap over shifted slices, larger ones by binary doubling of non-overlapping spans: O(log k)
full passes whatever k.
Both also *count* the taps that attain the extremum (non-overlapping spans make that exact), and
the backward gives each tied tap g / count through the adjoint filter — a min over the reflected
window of the window starts, summing the shares of the windows whose max is the pixel's value. That
is the literal form's gradient, ties included, in O(input) memory whatever the element size.

A −inf weight in max-plus (+inf in min-plus) is a missing tap: it absorbs, so an infinite input of
the other sign meets it as −inf, not NaN (as a footprint's holes should).

Double backward is not supported (the backward is ``once_differentiable``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .._args import spatial_legend
from .._contract import contract
from .._semirings import (
    REDUCTIONS,
    Semiring,
    _NegativeDistance,
    _NegativeDistanceVjp,
    _plus,
    _plus_absorbing_minus_inf,
    _plus_absorbing_plus_inf,
    _plus_vjp,
    _times,
)
from .._settings import current_settings
from .._trace import hidden, is_recording, record
from .._windows import Geometry, Slices, overlap_add
from .flat_filter import flat_filter, padded

__all__ = ["Problem", "semiring_conv"]

# --------------------------------------------------------------------------------------------
# Geometry and blocks


def semiring_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    problem: Problem,
    semiring: Semiring,
    unbatched: bool = False,
) -> torch.Tensor:
    """x (b, g·c_in, *spatial) ⊗ weight (g·c_out, c_in, *kernel) → (b, g·c_out, *out): a separable
    flat filter where it applies, else the blocks (the only way in the literal form)."""
    n = problem.window.n
    chosen = current_settings()
    literal = chosen.form == "literal"
    budget = chosen.budget if literal else min(chosen.budget, chosen.semiring_block_bytes)
    with hidden():
        semiring = _with_missing_taps(semiring, weight)
        flat = None if literal else _flat_constant(weight, problem, semiring)
    if is_recording():
        out_names, kernel_names = spatial_legend(n)
        sizes = [
            x.shape[0],
            problem.groups,
            problem.c_out,
            problem.c_in,
            *problem.window.out,
            *problem.window.kernel,
        ]
        names = ["b", "g", "c_out", "c_in", *out_names, *kernel_names]
        record(
            "schedule",
            f"{semiring.name}: out[b, g, c_out, {', '.join(out_names)}] = "
            f"⊕ over c_in {' '.join(kernel_names)} "
            f"of windows ⊗ weight",
            [x, weight],
            [*([] if unbatched else [x.shape[0]]), problem.groups * problem.c_out, *problem.window.out],
            bindings=dict(zip(names, sizes)),
            literal_bytes=math.prod(sizes) * x.element_size(),
            note="a separable flat filter: O(image) memory"
            if flat is not None
            else f"in blocks of at most {budget / 2**20:.3g} MiB: the product is never materialized",
        )
    with hidden():
        if flat is not None:
            out = flat_filter(x, problem.window, semiring.reduce == "max", problem.pad_value) + flat.view(
                -1, *[1] * n
            )
        else:
            out = _SemiringConv.apply(x, weight, problem, _kernel_for(semiring), budget)
            out = out.flatten(1, 2)  # b g c_out *out -> b (g c_out) *out
        if bias is not None:
            out = out + bias.view(-1, *[1] * n)
    return out


def _with_missing_taps(semiring: Semiring, weight: torch.Tensor) -> Semiring:
    """max-plus (min-plus) whose weight has −inf (+inf) taps: make those taps absorbing, so an
    infinite input of the other sign meets them as a missing tap, not as NaN."""
    if semiring.combine is not _plus or semiring.reduce not in ("max", "min"):
        return semiring
    missing = -math.inf if semiring.reduce == "max" else math.inf
    # traced by torch.compile, which cannot branch on values: always absorbing (the same values when
    # no tap is missing)
    if not torch.compiler.is_compiling() and not bool((weight.detach() == missing).any()):
        return semiring
    absorbing = _plus_absorbing_minus_inf if semiring.reduce == "max" else _plus_absorbing_plus_inf
    return dataclasses.replace(semiring, combine=absorbing)


# --------------------------------------------------------------------------------------------
# The problem and its blocks


@dataclass(frozen=True)
class Problem:
    """One semiring convolution: its window geometry (of one sample), the channels per group, and
    the value padded cells take."""

    window: Geometry
    groups: int
    c_in: int  # per group
    c_out: int  # per group
    pad_value: float


def _block_sizes(
    sizes: dict[str, int], order: Sequence[str], limit: int, free: Sequence[str] = ()
) -> dict[str, int]:
    """Block size per axis so that the product of the blocks (``free`` axes not counted) is at most
    ``limit`` elements, splitting the axes in ``order`` first, each as little as needed.

    >>> _block_sizes({"b": 16, "k": 9, "c": 64}, ["b", "k", "c"], 100)
    {'b': 1, 'k': 1, 'c': 64}
    """
    blocks = dict(sizes)
    for axis in order:
        total = math.prod([size for name, size in blocks.items() if name not in free])
        if total <= limit:
            break
        rest = total // blocks[axis]
        blocks[axis] = max(1, min(blocks[axis], limit // max(rest, 1)))
    return blocks


def _ranges(size: int, block: int) -> list[tuple[int, int]]:
    return [(start, min(start + block, size)) for start in range(0, size, max(block, 1))]


def _interior(x_pad: torch.Tensor, padding: Sequence[tuple[int, int]]) -> torch.Tensor:
    n = len(padding)
    sizes = x_pad.shape[x_pad.ndim - n :]
    inside: Slices = (..., *(slice(before, size - after) for size, (before, after) in zip(sizes, padding)))
    return x_pad[inside]


@dataclass(frozen=True)
class _Block:
    """One block of the product: ranges of b, g, c_out, output positions (kept) and c_in,
    kernel offsets (reduced)."""

    g: tuple[int, int]
    c_out: tuple[int, int]
    out: tuple[tuple[int, int], ...]
    c_in: tuple[int, int]
    kernel: tuple[tuple[int, int], ...]


def _kept_and_reduced(problem: Problem, blocks: dict[str, int]) -> Iterator[tuple[tuple, list[_Block]]]:
    """Each block of the kept axes (its output index), with the blocks of the reduced axes under it."""
    n = problem.window.n
    kept = itertools.product(
        _ranges(problem.groups, blocks["g"]),
        _ranges(problem.c_out, blocks["c_out"]),
        itertools.product(*(_ranges(problem.window.out[i], blocks[f"o{i}"]) for i in range(n))),
    )
    reduced = list(
        itertools.product(
            _ranges(problem.c_in, blocks["c_in"]),
            itertools.product(*(_ranges(problem.window.kernel[i], blocks[f"k{i}"]) for i in range(n))),
        )
    )
    for g, c_out, out in kept:
        index = (slice(None), slice(*g), slice(*c_out), *(slice(*o) for o in out))
        yield index, [_Block(g, c_out, out, c_in, kernel) for c_in, kernel in reduced]


def _region(block: _Block, problem: Problem) -> tuple[tuple[slice, ...], Geometry]:
    """The cells of x_pad (b, g, c_in, *padded) that one block's windows read, and their geometry:
    windows ``o0 … o1`` with kernel offsets ``q0 … q1`` read ``o·s + q·d`` from ``o0·s + q0·d`` on."""
    index, sizes = [slice(None), slice(*block.g), slice(*block.c_in)], []
    for (o0, o1), (q0, q1), s, d in zip(
        block.out, block.kernel, problem.window.stride, problem.window.dilation
    ):
        start, size = o0 * s + q0 * d, (o1 - o0 - 1) * s + (q1 - q0 - 1) * d + 1
        index.append(slice(start, start + size))
        sizes.append(size)
    kernel = [q1 - q0 for q0, q1 in block.kernel]
    return tuple(index), Geometry.of(sizes, kernel, problem.window.stride, None, problem.window.dilation)


def _windows(x_pad: torch.Tensor, block: _Block, problem: Problem) -> torch.Tensor:
    """The windows of one block, a view: x_pad (b, g, c_in, *padded) → (b, g, c_in, *out, *kernel)."""
    index, geometry = _region(block, problem)
    return geometry.windows(x_pad[index])


def _weights(weight: torch.Tensor, block: _Block) -> torch.Tensor:
    """weight (g, c_out, c_in, *kernel) → the block's (g, c_out, c_in, *kernel_block), a view."""
    return weight[
        (slice(*block.g), slice(*block.c_out), slice(*block.c_in), *(slice(*k) for k in block.kernel))
    ]


# --------------------------------------------------------------------------------------------
# Block kernels: how one block is combined, reduced and differentiated


class _Elementwise:
    """Blocks as the literal form computes them: combine(windows, weight) broadcast over
    (b, g, c_out, c_in, *out, *kernel), reduced over (c_in, *kernel)."""

    split_c_out = True

    def __init__(self, semiring: Semiring) -> None:
        self.semiring = semiring
        self.selective = semiring.reduce in ("max", "min")
        self._scratch: torch.Tensor | None = None

    def _buffer(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """A reused block-sized tensor of the broadcast shape of ``x ⊗ w``: fresh allocations of
        megabytes cost page faults on every block. Valid until the next call."""
        shape = _broadcast(x.shape, w.shape)
        if torch.compiler.is_compiling():  # traced: no state to mutate; the compiler plans its buffers
            return x.new_empty(shape)
        size = math.prod(shape)
        scratch = self._scratch
        if (
            scratch is None
            or scratch.numel() < size
            or scratch.dtype != x.dtype
            or scratch.device != x.device
        ):
            scratch = self._scratch = torch.empty(size, dtype=x.dtype, device=x.device)
        return scratch[:size].view(shape)

    def release(self) -> None:
        if not torch.compiler.is_compiling():
            self._scratch = None

    def _combine(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """``combine(x, w)``; the built-in ones write into the reused buffer."""
        combine = self.semiring.combine
        if combine is _plus:
            return torch.add(x, w, out=self._buffer(x, w))
        if combine is _times:
            return torch.mul(x, w, out=self._buffer(x, w))
        return combine(x, w)

    @staticmethod
    def _aligned(
        windows: torch.Tensor, weights: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]:
        n = (windows.ndim - 3) // 2
        x = windows.unsqueeze(2)  # b g 1 c_in *out *kernel
        w = weights[(None, slice(None), slice(None), slice(None), *[None] * n)]  # 1 g c_out c_in 1… *kernel
        return x, w, (3, *range(4 + n, 4 + 2 * n))

    @staticmethod
    def _out_aligned(out: torch.Tensor) -> torch.Tensor:
        n = out.ndim - 3
        return out[(slice(None), slice(None), slice(None), None, *[slice(None)] * n, *[None] * n)]

    def _reduce(self, values: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
        kind, temperature = self.semiring.reduce, self.semiring.temperature
        if kind == "sum":
            return values.sum(dims)
        if kind == "max":
            return values.amax(dims)
        if kind == "min":
            return values.amin(dims)
        if temperature == 1:
            return torch.logsumexp(values, dims)
        return torch.logsumexp(values / temperature, dims) * temperature

    def add(self, total: torch.Tensor, part: torch.Tensor) -> torch.Tensor:
        kind, temperature = self.semiring.reduce, self.semiring.temperature
        if kind == "sum":
            return total.add_(part)
        if kind == "max":
            return torch.maximum(total, part)
        if kind == "min":
            return torch.minimum(total, part)
        if temperature == 1:
            return torch.logaddexp(total, part)
        return torch.logaddexp(total / temperature, part / temperature) * temperature

    def forward(self, windows: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        x, w, dims = self._aligned(windows, weights)
        combine = self.semiring.combine
        if isinstance(combine, _NegativeDistance) and self.semiring.reduce == "sum":
            return combine.distance(x, w, self._buffer(x, w)).sum(dims).neg_()  # negate once, reduced
        return self._reduce(self._combine(x, w), dims)

    def count(self, windows: torch.Tensor, weights: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """How many taps of each output attain its value (max/min ties)."""
        x, w, dims = self._aligned(windows, weights)
        return (self._combine(x, w) == self._out_aligned(out)).sum(dims)

    def backward(
        self,
        windows: torch.Tensor,
        weights: torch.Tensor,
        out: torch.Tensor,
        grad: torch.Tensor,
        need: tuple[bool, bool],
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Gradients of the block for the output gradient ``grad`` (already divided by the tie
        counts for max/min): (b, g, c_in, *out, *kernel) for the windows, (g, c_out, c_in, *kernel)
        for the weights."""
        x, w, _ = self._aligned(windows, weights)
        shape = _broadcast(x.shape, w.shape)
        grad, out = self._out_aligned(grad), self._out_aligned(out)
        ring = self.semiring
        x_scale: list[float] = []
        if ring.vjp is None:
            with torch.enable_grad():
                x_leaf = x.detach().requires_grad_(need[0])
                w_leaf = w.detach().requires_grad_(need[1])
                values = ring.combine(x_leaf, w_leaf)
                grad_values = self._sensitivity(values.detach(), out, grad, shape, in_place=False)
                leaves = [leaf for leaf, wanted in zip((x_leaf, w_leaf), need) if wanted]
                grads = iter(torch.autograd.grad(values, leaves, grad_values, allow_unused=True))
                grad_x = next(grads) if need[0] else None
                grad_w = next(grads) if need[1] else None
        else:
            combined = self._combine(x, w) if ring.reduce != "sum" else None
            grad_values = self._sensitivity(combined, out, grad, shape, in_place=True)
            if isinstance(ring.vjp, _NegativeDistanceVjp):  # built-in: a reused buffer, a scale for x
                grad_x, grad_w, *x_scale = ring.vjp(x, w, grad_values, self._buffer(x, w))
            else:
                grad_x, grad_w, *x_scale = ring.vjp(x, w, grad_values)
        if need[0] and grad_x is not None:
            grad_x = _sum_to(grad_x, x.shape).squeeze(2)
            grad_x = grad_x * x_scale[0] if x_scale and x_scale[0] != 1 else grad_x
        else:
            grad_x = None
        grad_w = (
            _sum_to(grad_w, w.shape).squeeze(0).flatten(3, 3 + (x.ndim - 4) // 2)
            if need[1] and grad_w is not None
            else None
        )
        return grad_x, grad_w

    def _sensitivity(
        self,
        values: torch.Tensor | None,
        out: torch.Tensor,
        grad: torch.Tensor,
        shape: tuple[int, ...],
        in_place: bool,
    ) -> torch.Tensor:
        """∂out/∂value · grad for every value of the block, in the broadcast shape (``grad`` is
        already divided by the tie counts for max/min)."""
        kind = self.semiring.reduce
        if kind == "sum" or values is None:
            return grad.expand(shape)
        if kind in ("max", "min"):
            return (values == out).to(grad.dtype).mul_(grad)
        if not in_place:
            values = values.clone()
        return values.sub_(out).div_(self.semiring.temperature).exp_().mul_(grad)


def _broadcast(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The broadcast shape of same-rank shapes (``torch.broadcast_shapes`` is slow per call)."""
    return tuple(max(sizes) if 0 not in sizes else 0 for sizes in zip(*shapes))


def _sum_to(tensor: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Sum ``tensor`` down to ``shape`` (same rank) over the axes where ``shape`` has size 1."""
    tensor = tensor.expand(_broadcast(tensor.shape, shape))
    return tensor.sum_to_size(shape)


class _Contraction:
    """plus-times: each block is a contraction (einsum), never an elementwise product."""

    split_c_out = False
    selective = False

    def release(self) -> None:
        pass

    def __init__(self, n: int) -> None:
        out_names, kernel_names = spatial_legend(n)
        out_axes, kernel_axes = " ".join(out_names), " ".join(kernel_names)
        windows = f"b g c_in {out_axes} {kernel_axes}"
        weights = f"g c_out c_in {kernel_axes}"
        output = f"b g c_out {out_axes}"
        self.forward_spec = f"{windows}, {weights} -> {output}"
        self.grad_windows_spec = f"{output}, {weights} -> {windows}"
        self.grad_weights_spec = f"{windows}, {output} -> {weights}"

    def forward(self, windows: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return contract(self.forward_spec, windows, weights)

    def add(self, total: torch.Tensor, part: torch.Tensor) -> torch.Tensor:
        return total.add_(part)

    def backward(
        self,
        windows: torch.Tensor,
        weights: torch.Tensor,
        out: torch.Tensor,
        grad: torch.Tensor,
        need: tuple[bool, bool],
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        grad_x = contract(self.grad_windows_spec, grad, weights) if need[0] else None
        grad_w = contract(self.grad_weights_spec, windows, grad) if need[1] else None
        return grad_x, grad_w


Kernel = _Contraction | _Elementwise  # how one block is combined, reduced and differentiated


def _kernel_for(semiring: Semiring) -> Semiring | str:
    if semiring.combine is _times and semiring.reduce == "sum" and semiring.vjp is None:
        return "contraction"
    return semiring


def _make_kernel(kernel: Semiring | str, n: int) -> Kernel:
    return _Contraction(n) if isinstance(kernel, str) else _Elementwise(kernel)


def _plan(kernel: Kernel, problem: Problem, batch: int, limit: int) -> dict[str, int]:
    n = problem.window.n
    sizes = {"b": batch, "g": problem.groups, "c_out": problem.c_out, "c_in": problem.c_in}
    sizes |= {f"o{i}": problem.window.out[i] for i in range(n)} | {
        f"k{i}": problem.window.kernel[i] for i in range(n)
    }
    order = ["b", *(f"k{i}" for i in range(n)), "g", "c_out", "c_in", *(f"o{i}" for i in range(n))]
    free = () if kernel.split_c_out else ("c_out",)
    if not kernel.split_c_out:
        order.remove("c_out")
    return _block_sizes(sizes, order, limit, free)


# --------------------------------------------------------------------------------------------
# The chunked forward and backward


def _forward(
    x: torch.Tensor, weight: torch.Tensor, problem: Problem, kernel: Kernel, budget: int
) -> torch.Tensor:
    batch = x.shape[0]
    blocks = _plan(kernel, problem, batch, max(1, budget // x.element_size()))
    x = x.reshape(batch, problem.groups, problem.c_in, *problem.window.spatial)  # b (g c_in) … -> b g c_in …
    weight = weight.reshape(problem.groups, problem.c_out, problem.c_in, *problem.window.kernel)
    out = x.new_empty(batch, problem.groups, problem.c_out, *problem.window.out)
    identity = REDUCTIONS[kernel.semiring.reduce] if isinstance(kernel, _Elementwise) else 0.0
    for b0, b1 in _ranges(batch, blocks["b"]):
        x_pad = padded(x[b0:b1], problem.window, problem.pad_value)  # b g c_in *padded
        for index, group in _kept_and_reduced(problem, blocks):
            total = None
            for block in group:
                part = kernel.forward(_windows(x_pad, block, problem), _weights(weight, block))
                total = part if total is None else kernel.add(total, part)
            if total is None:  # nothing to reduce (no input channels): the identity
                out[b0:b1][index] = identity
            else:
                out[b0:b1][index] = total
    kernel.release()
    return out


def _backward(
    x: torch.Tensor,
    weight: torch.Tensor,
    out: torch.Tensor,
    grad_out: torch.Tensor,
    problem: Problem,
    kernel: Kernel,
    budget: int,
    need: tuple[bool, bool],
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    batch = x.shape[0]
    blocks = _plan(kernel, problem, batch, max(1, budget // x.element_size()))
    x = x.reshape(batch, problem.groups, problem.c_in, *problem.window.spatial)  # b (g c_in) … -> b g c_in …
    weight = weight.reshape(problem.groups, problem.c_out, problem.c_in, *problem.window.kernel)
    grad_x = torch.zeros_like(x) if need[0] else None
    grad_w = torch.zeros_like(weight) if need[1] else None
    for b0, b1 in _ranges(batch, blocks["b"]):
        x_pad = padded(x[b0:b1], problem.window, problem.pad_value)
        grad_pad = torch.zeros_like(x_pad) if need[0] else None
        for index, group in _kept_and_reduced(problem, blocks):
            out_block, grad_block = out[b0:b1][index], grad_out[b0:b1][index]
            if (
                isinstance(kernel, _Elementwise) and kernel.selective
            ):  # ties share the gradient: g / count each
                count = None
                for block in group:
                    part = kernel.count(_windows(x_pad, block, problem), _weights(weight, block), out_block)
                    count = part if count is None else count.add_(part)
                assert count is not None  # a group holds at least one block
                grad_block = grad_block / count
            for block in group:
                windows = _windows(x_pad, block, problem)
                grad_windows, grad_weights = kernel.backward(
                    windows, _weights(weight, block), out_block, grad_block, need
                )
                if grad_windows is not None:
                    assert grad_pad is not None  # grad_windows is computed only when need[0]
                    index, region = _region(block, problem)  # the adjoint of _windows:
                    overlap_add(grad_windows, region, into=grad_pad[index])
                if grad_weights is not None:
                    assert grad_w is not None  # grad_weights is computed only when need[1]
                    _weights(grad_w, block).add_(grad_weights)
        if grad_x is not None:
            assert grad_pad is not None  # both exist exactly when need[0]
            grad_x[b0:b1] = _interior(grad_pad, problem.window.padding)
    kernel.release()
    if grad_x is not None:
        grad_x = grad_x.flatten(1, 2)
    if grad_w is not None:
        grad_w = grad_w.flatten(0, 1)
    return grad_x, grad_w


class _SemiringConv(torch.autograd.Function):
    """x (b, g·c_in, *spatial), weight (g·c_out, c_in, *kernel) → (b, g, c_out, *out), chunked;
    saves the input, the weight and the output, and recomputes blocks in the backward."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: Tensor, weight: Tensor, problem: Problem, kernel_spec: Semiring | str, budget: int
    ) -> Tensor:
        kernel = _make_kernel(kernel_spec, problem.window.n)
        out = _forward(x, weight, problem, kernel, budget)
        ctx.save_for_backward(x, weight, out)
        ctx.problem, ctx.kernel, ctx.budget = problem, kernel, budget
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, weight, out = ctx.saved_tensors
        need = (ctx.needs_input_grad[0], ctx.needs_input_grad[1])
        with hidden():
            grad_x, grad_w = _backward(x, weight, out, grad_out, ctx.problem, ctx.kernel, ctx.budget, need)
        return grad_x, grad_w, None, None, None


# --------------------------------------------------------------------------------------------
# Flat max/min filters (schedules/flat_filter.py): when they apply


def _flat_constant(weight: torch.Tensor, problem: Problem, semiring: Semiring) -> torch.Tensor | None:
    """The per-channel constant of a flat, depthwise max-plus/min-plus element, or None when the
    separable path does not apply (other semirings, channel mixing, a weight that needs a gradient,
    non-constant or infinite elements)."""
    if (
        semiring.combine is not _plus
        or semiring.reduce not in ("max", "min")
        or semiring.vjp is not _plus_vjp
    ):
        return None
    if problem.c_in != 1 or problem.c_out != 1 or (weight.requires_grad and torch.is_grad_enabled()):
        return None
    flat = weight.detach().flatten(1)  # channel, taps
    if flat.numel() == 0:
        return None
    constant = flat[:, 0]
    if not bool(torch.isfinite(constant).all()) or not bool((flat == constant[:, None]).all()):
        return None
    return constant
