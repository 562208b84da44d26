"""The convolution's schedules: the formula's windows × weights, summed as GEMMs.

``functional/conv.py`` holds the formula — the window view contracted with the weight — and
dispatches here (:func:`choose`). These schedules compute the same sums without the window view,
over the flat layout of ``schedules/flat.py`` (every kernel offset a shifted slice of the padded,
phase-split input, which a GEMM reads in place, unlike the window view's overlapping rows: an
``einsum`` would copy it, ``kh·kw`` times the input).

Legend: b batch, g groups, c_in/c_out channels per group, q kernel offsets, m flat positions.
The accumulator of a shift-gemm without groups (the output, or the input gradient) is stored
channels last, (r, m, c) behind the same (c, r, m) view, so each GEMM writes a
(positions × c_out) block — the shape the CPU's GEMM runs fastest — while it reads its operand
channel-major, transposed, at about the same speed (and the copy that fills it stays a plain
one). The sums read the same either way. The algorithms differ in how they sum over q:

    shift-gemm   out[g, c_out, m] += W_q[g, c_out, c_in] @ flat[g, c_in, phase_q, m + shift_q]
                 one GEMM per kernel offset, accumulated (dense and grouped convolutions)
    unfold-gemm  cols[g, (c_in q), m] = flat[g, c_in, phase_q, m + shift_q]    (a copy, per block)
                 out[g, c_out, m] = W[g, c_out, (c_in q)] @ cols              (one GEMM per block)
    shift-mac    out[g, c_out, m] += W_q[g, c_out, c_in] * flat[g, c_in, phase_q, m + shift_q]
                 multiply-accumulate per input channel (depthwise: c_in = 1)

The backward passes are the same sums transposed (a custom ``autograd.Function``, so autograd
never stores or overlap-adds a window view):

    grad W_q = grad_out[g, c_out, m] @ flat[g, c_in, phase_q, m + shift_q]ᵀ       one GEMM per offset
    grad flat[g, c_in, phase, u] = Σ_(q in phase) W_qᵀ @ grad_out[g, c_out, u - shift_q]  (a correlation)

Double backward differentiates the formula (handed in by ``functional/conv.py``), not the
schedule. A transposed convolution is its adjoint convolution's input gradient
(:func:`flat_conv_transpose`).

Work is done a chunk of samples at a time (temporaries stay a fraction of the input and output;
the chunks of a call share their buffers) and, within a chunk, a block of flat columns at a time
(the accumulator stays in cache).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from types import EllipsisType
from typing import Any

import torch
from torch import Tensor
from torch._C import _functorch
from torch.autograd import forward_ad

from .._settings import current_settings
from .._trace import hidden, is_recording, record
from .._windows import Geometry
from . import conv_sums as sums
from .flat import FlatLayout, accumulator, grouped, layout

Formula = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]
Config = tuple[str, Geometry, int]  # (algorithm, geometry, groups)

__all__ = [
    "FLAT_ALGORITHMS",
    "SUMS",
    "algorithm_for",
    "choose",
    "choose_transposed",
    "flat_conv",
    "flat_conv_transpose",
    "supports",
]

FLAT_ALGORITHMS = ("shift-gemm", "unfold-gemm", "shift-mac")

# The sums each schedule computes, as ``scratchnn explain --form fast`` names them.
SUMS = {
    "shift-gemm": "out[g, c_out, m] += W_q[g, c_out, c_in] @ flat[g, c_in, phase_q, m + shift_q], "
    "one GEMM per offset q",
    "unfold-gemm": "cols[g, (c_in q), m] = flat[g, c_in, phase_q, m + shift_q]; "
    "out[g, c_out, m] = W[g, c_out, (c_in q)] @ cols",
    "shift-mac": "out[g, c_out, m] += W_q[g, c_out, c_in] * flat[g, c_in, phase_q, m + shift_q], "
    "per input channel",
    "space-to-batch": "the dilation phases moved into the batch, one dense convolution",
}


def choose(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, geometry: Geometry, groups: int
) -> str | None:
    """The schedule for one batched convolution, or None for the formula itself: in the literal
    form, for ``"einsum"``, and where the custom autograd Functions do not apply (:func:`supports`).

    >>> x, w = torch.randn(1, 8, 5, 5), torch.randn(8, 1, 3, 3)
    >>> choose(x, w, None, Geometry.of((5, 5), (3, 3)), 8)
    'shift-mac'
    """
    chosen = current_settings()
    if chosen.form == "literal" and not torch.compiler.is_compiling():  # traced: the schedule's plain ops
        return None
    name = algorithm_for(x, weight, groups, geometry.dilation)
    if name == "einsum" or (name in FLAT_ALGORITHMS and not supports(x, weight, bias)):
        return None
    return name


def choose_transposed(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, geometry: Geometry, groups: int
) -> str | None:
    """The schedule of a transposed convolution (``geometry``: its adjoint convolution's), or None
    for its formula (contract, then overlap-add): when the windows do not overlap (k·d ≤ s in
    every dim: the overlap-add only places blocks), under ``torch.compile``, for ``torch.func``
    and forward-mode AD, and when output_padding ≥ stride."""
    overlapping = any(k * d > s for k, d, s in zip(geometry.kernel, geometry.dilation, geometry.stride))
    output_padding = [a - z for a, z in geometry.padding]
    if (
        not overlapping
        or torch.compiler.is_compiling()
        or not supports(x, weight, bias)
        or any(o >= s for o, s in zip(output_padding, geometry.stride))
    ):
        return None
    name = algorithm_for(x, weight, groups, geometry.dilation)
    return name if name in FLAT_ALGORITHMS else None


def algorithm_for(x: torch.Tensor, weight: torch.Tensor, groups: int, dilation: Sequence[int]) -> str:
    """The algorithm for one batched convolution: the explicit choice (``settings(conv=...)``) if
    any, else the heuristic (chosen from the suite's measurements, docs/benchmarks.md):

    * c_in per group = 1 (depthwise)        → ``shift-mac``: a GEMM with one input channel is
      a multiply-add;
    * c_in per group < 16 and g = 1 (a stem) → ``unfold-gemm``: per-offset GEMMs would have an
      inner dimension of c_in, so gather the offsets and run one GEMM with k·c_in;
    * otherwise                              → ``shift-gemm``;
    * an empty input or output               → ``einsum`` (the formula: nothing to schedule).

    ``"space-to-batch"`` applies to dilated convolutions only (others take the heuristic).

    >>> algorithm_for(torch.randn(1, 8, 5, 5), torch.randn(8, 1, 3, 3), 8, (1, 1))
    'shift-mac'
    >>> algorithm_for(torch.randn(1, 3, 5, 5), torch.randn(8, 3, 3, 3), 1, (1, 1))
    'unfold-gemm'
    >>> algorithm_for(torch.randn(1, 64, 5, 5), torch.randn(8, 64, 3, 3), 1, (1, 1))
    'shift-gemm'
    """
    chosen = current_settings().conv
    if chosen == "space-to-batch" and all(d == 1 for d in dilation):
        chosen = "auto"
    if chosen != "auto":
        return chosen
    if x.numel() == 0 or weight.numel() == 0:
        return "einsum"
    c_in = weight.shape[1]
    if c_in == 1:
        return "shift-mac"
    if c_in < 16 and groups == 1:
        return "unfold-gemm"
    return "shift-gemm"


def _positions_major(name: str, groups: int) -> bool:
    """Whether the accumulator of this algorithm (output or input gradient) is stored channels last.

    shift-gemm without groups: each GEMM then writes a (positions × c_out) block, the shape the
    CPU's GEMM runs fastest; the operands stay channel-major, filled by plain copies. With groups,
    and for the other algorithms, the channel-major order is the faster one (figures:
    docs/benchmarks.md, "Tuning notes").
    """
    return name == "shift-gemm" and groups == 1


def _chunk_count(x_shape: Sequence[int], weight: torch.Tensor, layout_one: FlatLayout) -> int:
    """Samples per chunk: the backward's temporaries (flat input, its gradient, the flat output
    gradient) stay under max(8 MiB, (input + output) / 2), so the peak memory stays within ~1.5×
    of a kernel that needs only the output and the input gradient. The 8 MiB floor
    (``conv_chunk_bytes``) keeps small layers in one or two chunks, since the grouped and
    depthwise schedules pay per chunk (docs/benchmarks.md, "Tuning notes")."""
    chosen = current_settings()
    batch, channels = x_shape[0], x_shape[1]
    if chosen.conv_chunk_samples is not None:
        return min(chosen.conv_chunk_samples, batch)
    size = weight.element_size()
    per_sample = (2 * channels * layout_one.phases + weight.shape[0]) * layout_one.sample * size
    total = (math.prod(x_shape[1:]) + weight.shape[0] * math.prod(layout_one.out)) * batch * size
    budget = max(chosen.conv_chunk_bytes, total // 2)
    return max(1, min(batch, budget // max(per_sample, 1)))


def _block_size(x: torch.Tensor, name: str, rows: int) -> int:
    """Columns per block: the accumulator (or the unfold's column matrix) stays in cache."""
    if x.device.type != "cpu":
        return 1 << 62  # one block: no cache to fit, fewer kernel launches
    if name == "unfold-gemm":
        return max(256, current_settings().conv_column_bytes // (rows * x.element_size()))
    return current_settings().conv_block_columns


def flat_conv(
    name: str,
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    geometry: Geometry,
    groups: int,
    formula: Formula,
) -> torch.Tensor:
    """A batched convolution ``x`` (b, g·c_in, *S) · ``weight`` (g·c_out, c_in, *kernel) by a flat
    algorithm; ``formula(x, weight, bias)`` is the convolution as written, for double backward.

    >>> import torch.nn.functional as F
    >>> from scratchnn.functional.conv import conv_formula
    >>> x, w = torch.randn(2, 4, 7, 6, dtype=torch.float64), torch.randn(6, 2, 3, 2, dtype=torch.float64)
    >>> geometry = Geometry.of((7, 6), (3, 2), (2, 1), [(1, 1), (1, 1)], (1, 2))
    >>> formula = lambda x, w, b: conv_formula(x, w, b, geometry, 2)
    >>> y = flat_conv("shift-gemm", x, w, None, geometry, 2, formula)
    >>> torch.allclose(y, F.conv2d(x, w, None, (2, 1), 1, (1, 2), 2))
    True
    """
    if name not in FLAT_ALGORITHMS:
        raise ValueError(f"flat_conv: algorithm must be one of {FLAT_ALGORITHMS}, got {name!r}")
    if name == "shift-gemm" and _pointwise(geometry):
        return _pointwise_conv(x, weight, bias, geometry.stride, groups)
    if torch.compiler.is_compiling():
        return _traced_flat_conv(name, x, weight, bias, geometry, groups)
    if is_recording():
        record("schedule", f"{name}: {SUMS[name]}", [x, weight], (x.shape[0], weight.shape[0], *geometry.out))
    with hidden():
        return _FlatConv.apply(x, weight, bias, (name, geometry, groups), formula)


def _traced_flat_conv(
    name: str,
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    geometry: Geometry,
    groups: int,
) -> torch.Tensor:
    """The algorithm as plain differentiable ops over the whole batch, for ``torch.compile``: the
    compiler derives and fuses the backward itself. shift-gemm: one matmul per kernel offset;
    unfold-gemm: the offsets stacked, one matmul; shift-mac: broadcast products, summed (one
    fused loop once compiled)."""
    layout = FlatLayout(geometry, x.shape[0])
    flat = layout.fill(x).view(groups, x.shape[1] // groups, layout.phases, layout.columns)  # g c_in r m
    w = weight.reshape(groups, weight.shape[0] // groups, weight.shape[1], -1)  # g c_out c_in k
    windows = [flat[:, :, phase, shift : shift + layout.valid] for phase, shift in layout.offsets]  # g c_in m
    if name == "unfold-gemm":
        cols = torch.stack(windows, 2).reshape(groups, -1, layout.valid)  # g (c_in k) m
        out = torch.matmul(w.reshape(groups, w.shape[1], -1), cols)
    else:
        out = None
        for k, window in enumerate(windows):
            if name == "shift-mac" and window.shape[1] == 1:  # depthwise: g c_out 1 · g 1 m
                term = w[:, :, 0, k, None] * window
            elif name == "shift-mac":  # g c_out c_in 1 · g 1 c_in m, summed over c_in
                term = (w[..., k, None] * window[:, None]).sum(2)
            else:
                term = torch.matmul(w[..., k], window)  # g c_out m
            out = term if out is None else out + term
    assert out is not None  # the kernel has at least one offset
    tail = out.new_zeros(*out.shape[:2], layout.columns - layout.valid)
    out = layout.crop(torch.cat([out, tail], -1).view(weight.shape[0], layout.columns)).contiguous()
    return out if bias is None else out + bias.view(-1, *[1] * (x.ndim - 2))


def supports(*tensors: torch.Tensor | None) -> bool:
    """Whether the custom autograd Functions here apply: no forward-mode tangent and no
    ``torch.func`` (vmap, grad, jvp) wrapper on any operand; otherwise use the plain formula,
    whose every op those transforms know. Under ``torch.compile`` the traced schedule is plain
    ops already.
    """
    if torch.compiler.is_compiling():
        return True
    return not any(
        t is not None
        and (_functorch.is_functorch_wrapped_tensor(t) or forward_ad.unpack_dual(t).tangent is not None)
        for t in tensors
    )


def _pointwise(geometry: Geometry) -> bool:
    return all(k == 1 for k in geometry.kernel) and not any(a or z for a, z in geometry.padding)


def _pointwise_conv(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: Sequence[int], groups: int
) -> torch.Tensor:
    """A 1×…×1 kernel without padding: one batched GEMM, no window at all.

    out (b, g, c_out, m) = weight (g, c_out, c_in) @ x (b, g, c_in, m), m the (strided) positions.
    """
    if any(s > 1 for s in stride):
        strided: tuple[EllipsisType | slice, ...] = (..., *(slice(None, None, s) for s in stride))
        x = x[strided]
    spatial = x.shape[2:]
    samples = x.reshape(x.shape[0], groups, x.shape[1] // groups, -1)  # b g c_in m
    w = weight.reshape(groups, weight.shape[0] // groups, weight.shape[1])  # g c_out c_in
    out = torch.matmul(w, samples).reshape(x.shape[0], weight.shape[0], *spatial)
    return out if bias is None else out + bias.view(-1, *[1] * len(spatial))


class _FlatConv(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, config: Config, formula: Formula
    ) -> Tensor:
        ctx.config, ctx.formula = config, formula
        ctx.save_for_backward(x, weight, bias)
        return _conv_forward(x, weight, bias, config)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, weight, _ = ctx.saved_tensors
        need_x, need_weight, need_bias, *_ = ctx.needs_input_grad
        if torch.is_grad_enabled():  # create_graph: differentiate the plain formula instead
            return (*_formula_grads(ctx.formula, ctx, grad), None, None)
        grad_x = torch.empty_like(x) if need_x else None
        grad_weight = _conv_backward(x, weight, grad, ctx.config, grad_x, need_weight)
        grad_bias = grad.sum([0, *range(2, grad.ndim)]) if need_bias else None
        return grad_x, grad_weight, grad_bias, None, None


def _conv_forward(x: Tensor, weight: Tensor, bias: Tensor | None, config: Config) -> Tensor:
    """out = conv(x, weight) + bias, a chunk of samples at a time."""
    name, geometry, groups = config
    one = layout(geometry, 1)
    out = x.new_empty(x.shape[0], weight.shape[0], *one.out)
    weights = sums.arrange(name, weight, groups, one.order)
    count = _chunk_count(x.shape, weight, one)
    major = _positions_major(name, groups)
    # the chunks share their buffers, made for the first (largest): see _conv_backward
    columns = min(count, x.shape[0]) * one.sample
    acc_buffer = accumulator(x, (weight.shape[0], columns), major)
    block = _block_size(x, name, weight[0].numel())
    flat_buffer = None
    for first in range(0, x.shape[0], count):
        chunk = x[first : first + count]
        chunk_layout = layout(geometry, chunk.shape[0])
        flat = chunk_layout.fill(chunk, flat_buffer)
        flat_buffer = None if chunk_layout.identity else flat
        acc = acc_buffer[:, : chunk_layout.columns]
        sums.forward_sum(name, grouped(acc, groups), grouped(flat, groups), weights, chunk_layout, block)
        result = chunk_layout.crop(acc)
        target = out[first : first + count]
        if bias is None:
            target.copy_(result)
        else:  # crop and bias in one pass
            torch.add(result, bias.view(-1, *[1] * geometry.n), out=target)
    return out


def _conv_backward(
    x: Tensor | None, weight: Tensor, grad: Tensor, config: Config, grad_x: Tensor | None, need_weight: bool
) -> Tensor | None:
    """The gradients of conv(x, weight) for the output gradient ``grad``, a chunk at a time.

    Writes the input gradient into ``grad_x`` (of x's shape; None: not needed) and returns the
    weight gradient (None if not needed). ``x`` is read only for the weight gradient.
    """
    name, geometry, groups = config
    source = grad_x if grad_x is not None else x
    assert source is not None  # x is None only when the input gradient is wanted
    x_shape = source.shape
    one = layout(geometry, 1)
    count = _chunk_count(x_shape, weight, one)
    grad_weight = weight.new_zeros(sums.arranged_shape(name, weight, groups)) if need_weight else None
    weights = sums.arrange(name, weight, groups, one.order)
    block = _block_size(weight, name, weight[0].numel())
    # The chunks share their buffers, made for the first (largest) chunk: buffers made afresh per
    # chunk stay resident in the allocator's heap and the peak grows with every chunk.
    columns = min(count, x_shape[0]) * one.sample
    if grad_x is not None:
        major = _positions_major(name, groups)  # the input gradient's accumulator
        x_buffer = accumulator(weight, (x_shape[1], one.phases, columns), major)
    flat_grad = flat = None
    for first in range(0, x_shape[0], count):
        samples = min(count, x_shape[0] - first)
        chunk_layout = layout(geometry, samples)
        flat_grad = chunk_layout.uncrop(grad[first : first + count], flat_grad)  # c_out (lead + m)
        grads = grouped(flat_grad, groups)
        if need_weight:
            assert x is not None and grad_weight is not None  # the weight gradient reads x
            flat = chunk_layout.fill(x[first : first + count], flat)
            sums.weight_grad(name, grad_weight, grouped(flat, groups), grads, chunk_layout, block)
            flat = None if chunk_layout.identity else flat
        if grad_x is not None:
            flat_x = x_buffer[..., : chunk_layout.columns].zero_()  # c_in r m
            sums.input_grad(name, grouped(flat_x, groups), grads, weights, chunk_layout, block)
            chunk_layout.unfill(flat_x, grad_x[first : first + count])
    return None if grad_weight is None else sums.unarrange(name, grad_weight, weight, groups, one.order)


def flat_conv_transpose(
    name: str,
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    geometry: Geometry,
    groups: int,
    formula: Formula,
) -> torch.Tensor:
    """A transposed convolution as what it is: the adjoint of a convolution.

    conv_transpose(x, weight) is the input gradient of ``y ↦ conv(y, weight)`` (same stride,
    padding, dilation, groups; ``y`` of the transposed output's size: ``geometry`` is that
    convolution's, :meth:`Geometry.transposed`) for the output gradient ``x``, and torch's weight
    layout (g·c_in, c_out, *kernel) is that convolution's. So the forward is the convolution's
    input-gradient sum (each output phase gathers only its own kernel offsets: no inserted zeros,
    and no (…, *in, *kernel) block tensor to overlap-add), and the backward is the convolution's
    forward (for x) and its weight-gradient sum with input and output gradient swapped. Needs
    output_padding < stride in every dim (the adjoint convolution's output then has x's size).
    ``formula(x, weight, bias)`` is the transposed convolution as written, for double backward.

    >>> import torch.nn.functional as F
    >>> from scratchnn.functional.conv_transpose import transposed_formula
    >>> x, w = torch.randn(2, 4, 5, 6, dtype=torch.float64), torch.randn(4, 3, 4, 4, dtype=torch.float64)
    >>> geometry = Geometry.transposed((5, 6), (4, 4), (2, 2), (1, 1), (1, 1), (0, 0))
    >>> formula = lambda x, w, b: transposed_formula(x, w, b, geometry, 2)
    >>> y = flat_conv_transpose("shift-gemm", x, w, None, geometry, 2, formula)
    >>> torch.allclose(y, F.conv_transpose2d(x, w, stride=2, padding=1, groups=2))
    True
    """
    if name not in FLAT_ALGORITHMS:
        raise ValueError(f"flat_conv_transpose: algorithm must be one of {FLAT_ALGORITHMS}, got {name!r}")
    if is_recording():
        record(
            "schedule",
            f"the adjoint convolution's input-gradient sum, by {name}: {SUMS[name]}, transposed",
            [x, weight],
            (x.shape[0], weight.shape[1] * groups, *geometry.spatial),
        )
    # the adjoint convolution pads (p, p): output_padding only adds cells after the input
    padding = tuple((a, a) for a, _ in geometry.padding)
    adjoint = Geometry.of(geometry.spatial, geometry.kernel, geometry.stride, padding, geometry.dilation)
    with hidden():
        return _FlatConvTranspose.apply(x, weight, bias, (name, adjoint, groups), formula)


class _FlatConvTranspose(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, config: Config, formula: Formula
    ) -> Tensor:
        ctx.config, ctx.formula = config, formula
        ctx.save_for_backward(x, weight, bias)
        _, geometry, groups = config
        out = x.new_empty(x.shape[0], weight.shape[1] * groups, *geometry.spatial)
        _conv_backward(None, weight, x, config, out, need_weight=False)
        return out if bias is None else out.add_(bias.view(-1, *[1] * geometry.n))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, weight, _ = ctx.saved_tensors
        need_x, need_weight, need_bias, *_ = ctx.needs_input_grad
        if torch.is_grad_enabled():  # create_graph: differentiate the formula instead
            return (*_formula_grads(ctx.formula, ctx, grad), None, None)
        grad_x = _conv_forward(grad, weight, None, ctx.config) if need_x else None
        grad_weight = _conv_backward(grad, weight, x, ctx.config, None, True) if need_weight else None
        grad_bias = grad.sum([0, *range(2, grad.ndim)]) if need_bias else None
        return grad_x, grad_weight, grad_bias, None, None


def _formula_grads(formula: Formula, ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
    """Gradients of ``formula(x, weight, bias)`` (the saved tensors) for the output gradient
    ``grad``, with a graph: double backward differentiates the plain formula, not the schedule."""
    tensors, needs = ctx.saved_tensors, ctx.needs_input_grad[:3]
    inputs = [t for t, need in zip(tensors, needs) if need]
    with torch.enable_grad():
        grads = iter(torch.autograd.grad(formula(*tensors), inputs, grad, create_graph=True))
    return tuple(next(grads) if need else None for need in needs)
