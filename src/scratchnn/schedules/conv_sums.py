"""The sums of the flat convolution schedules (``schedules/conv.py``), over the flat layout
(``schedules/flat.py``): the weight arranged per kernel offset, then for each block of flat columns
the forward sum, the weight gradient and the input gradient of each algorithm.

Shapes: flat (g, c_in, r, m) — the phase-split padded input, r phases, m flat positions;
acc (g, c_out, m) — the output block; flat_grad (g, c_out, lead + m) — the output gradient, led
by zeros so every shift reads inside it; W_q (g, c_out, c_in) — the weight at kernel offset q.

    shift-gemm   acc += W_q @ flat[:, :, phase_q, m + shift_q]           one GEMM per offset
    unfold-gemm  acc  = W @ cols,  cols[g, (c_in q), m] = flat[..., phase_q, m + shift_q]
    shift-mac    acc += W_q * flat[:, :, phase_q, m + shift_q]           depthwise multiply-adds
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from .flat import FlatLayout

__all__ = ["arrange", "arranged_shape", "blocks", "forward_sum", "input_grad", "unarrange", "weight_grad"]


def blocks(first: int, stop: int, size: int) -> Iterator[tuple[int, int]]:
    """[start, stop) column ranges of ``size`` from ``first`` to ``stop``."""
    for start in range(first, stop, size):
        yield start, min(stop, start + size)


# ---------------------------------------------------------------------------------------------
# Weight layouts: shift-gemm and shift-mac keep one matrix per offset, unfold-gemm one matrix.


def arranged_shape(name: str, weight: torch.Tensor, groups: int) -> tuple[int, ...]:
    c_out, c_in, taps = weight.shape[0] // groups, weight.shape[1], math.prod(weight.shape[2:])
    if name == "unfold-gemm":
        return (groups, c_out, c_in * taps)
    return (taps, groups, c_out, c_in)


def arrange(name: str, weight: torch.Tensor, groups: int, order: list[int]) -> torch.Tensor:
    """(g·c_out, c_in, *kernel) → k g c_out c_in (per offset), or g c_out (c_in k) with the kernel
    offsets in ``order`` (unfold-gemm: the order its column matrix is built in)."""
    w = weight.reshape(groups, weight.shape[0] // groups, weight.shape[1], -1)  # g c_out c_in k
    if name == "unfold-gemm":
        if order != sorted(order):
            w = w[..., order]
        return w.reshape(arranged_shape(name, weight, groups))
    return w.permute(3, 0, 1, 2).contiguous()


def unarrange(
    name: str, arranged: torch.Tensor, weight: torch.Tensor, groups: int, order: list[int]
) -> torch.Tensor:
    c_out, c_in = weight.shape[0] // groups, weight.shape[1]
    if name == "unfold-gemm":
        w = arranged.view(groups, c_out, c_in, -1)  # g c_out c_in k, kernel offsets in `order`
        if order != sorted(order):
            w = w[..., sorted(range(len(order)), key=order.__getitem__)]
    else:
        w = arranged.permute(1, 2, 3, 0)  # g c_out c_in k
    return w.reshape(weight.shape).contiguous()


# ---------------------------------------------------------------------------------------------
# The three sums over kernel offsets, forward and backward. Shapes: flat (g, c_in, r, m),
# acc (g, c_out, m), flat_grad (g, c_out, lead + m).


def _gemm(acc: torch.Tensor, left: torch.Tensor, right: torch.Tensor, beta: float = 1.0) -> None:
    """acc += left @ right over the group axis (a 2-D addmm when there is one group)."""
    if acc.shape[0] == 1:
        acc[0].addmm_(left[0], right[0], beta=beta)
    else:
        acc.baddbmm_(left, right, beta=beta)


def _class_view(flat: torch.Tensor, layout: FlatLayout, group: tuple, start: int, stop: int) -> torch.Tensor:
    """One class of kernel offsets as a view: (g, c_in, *counts, m), element t at m + shift(t)."""
    phase, first, counts, steps, _ = group
    source = flat[:, :, phase]  # g c_in m
    return source.as_strided(
        (*source.shape[:2], *counts, stop - start),
        (*source.stride()[:2], *(step * source.stride(2) for step in steps), source.stride(2)),
        source.storage_offset() + (start + first) * source.stride(2),
    )


def _column_storage(flat: torch.Tensor, layout: FlatLayout, block: int) -> torch.Tensor:
    """Room for one block's column matrix, allocated once for all blocks (a fresh matrix per
    block pays its page faults each time)."""
    groups, c_in = flat.shape[:2]
    return flat.new_empty(groups * c_in * len(layout.order) * min(block, layout.columns))


def _column_matrix(storage: torch.Tensor, flat: torch.Tensor, layout: FlatLayout, n: int) -> torch.Tensor:
    """A block's column matrix (g, c_in·k, n), in ``storage``."""
    groups, c_in = flat.shape[:2]
    return storage[: groups * c_in * len(layout.order) * n].view(groups, -1, n)


def _columns(
    flat: torch.Tensor, layout: FlatLayout, start: int, stop: int, storage: torch.Tensor
) -> torch.Tensor:
    """The column matrix of a block, (g, c_in·k, m), in ``storage``: one strided copy per class
    of offsets (through a contiguous temporary: reading the strided view that way is fastest)."""
    groups, c_in = flat.shape[:2]
    n = stop - start
    cols = _column_matrix(storage, flat, layout, n).view(groups, c_in, len(layout.order), n)  # g c_in k m
    taken = 0
    for group in layout.classes:
        size = math.prod(group[2])
        view = _class_view(flat, layout, group, start, stop)  # g c_in *counts m
        cols[:, :, taken : taken + size] = view.reshape(groups, c_in, size, n)
        taken += size
    return cols.view(groups, -1, n)


def _add_columns(flat: torch.Tensor, cols: torch.Tensor, layout: FlatLayout, start: int, stop: int) -> None:
    """The adjoint of :func:`_columns`: overlap-add (g, c_in·k, m) back into flat (g, c_in, r, m),
    one shifted slice per kernel offset."""
    groups, c_in = flat.shape[:2]
    cols = cols.view(groups, c_in, len(layout.order), stop - start)
    for t, k in enumerate(layout.order):
        phase, shift = layout.offsets[k]
        flat[:, :, phase, start + shift : stop + shift] += cols[:, :, t]


def _shift_operands(flat: torch.Tensor, weights: torch.Tensor, *others: torch.Tensor) -> tuple:
    """The operands of one GEMM per kernel offset (shift-gemm's sums, and the weight gradient of
    shift-mac), split once per call so each GEMM costs one slice and one call:
    the phases of ``flat`` (g, c_in, r, m) as (g, c_in, m) each, one weight matrix per kernel
    offset (g, c_out, c_in), ``others`` as they are, and the in-place GEMM to call. With one
    group the group axis is dropped: 2-D operands and ``addmm_``; else batched, ``baddbmm_``."""
    if flat.shape[0] == 1:
        return flat[0].unbind(1), weights[:, 0].unbind(0), *(t[0] for t in others), torch.Tensor.addmm_
    return flat.unbind(2), weights.unbind(0), *others, torch.Tensor.baddbmm_


def forward_sum(
    name: str, acc: torch.Tensor, flat: torch.Tensor, weights: torch.Tensor, layout: FlatLayout, block: int
) -> None:
    c_in = flat.shape[1]
    if name == "shift-gemm":
        phases, w, acc, gemm = _shift_operands(flat, weights, acc)
        for start, stop in blocks(0, layout.valid, block):
            n = stop - start
            target = acc.narrow(-1, start, n)
            for k, (phase, shift) in enumerate(layout.offsets):
                gemm(target, w[k], phases[phase].narrow(-1, start + shift, n), beta=0.0 if k == 0 else 1.0)
        return
    if name == "unfold-gemm":
        storage = _column_storage(flat, layout, block)
        for start, stop in blocks(0, layout.valid, block):
            _gemm(acc[:, :, start:stop], weights, _columns(flat, layout, start, stop, storage), beta=0.0)
        return
    for start, stop in blocks(0, layout.valid, block):
        target = acc[:, :, start:stop]
        target.zero_()
        for k, (phase, shift) in enumerate(layout.offsets):  # shift-mac
            window = flat[:, :, phase, start + shift : stop + shift]  # g c_in m
            for i in range(c_in):
                target.addcmul_(window[:, i : i + 1], weights[k][:, :, i, None])  # g c_out m · g c_out 1


def weight_grad(
    name: str,
    grad_weight: torch.Tensor,
    flat: torch.Tensor,
    flat_grad: torch.Tensor,
    layout: FlatLayout,
    block: int,
) -> None:
    lead, valid = layout.lead, layout.valid
    if name == "unfold-gemm":
        storage = _column_storage(flat, layout, block)
        for start, stop in blocks(0, valid, block):
            right = _columns(flat, layout, start, stop, storage).transpose(1, 2)
            _gemm(grad_weight, flat_grad[:, :, lead + start : lead + stop], right)
        return
    # one matrix per offset (shift-mac too: a batch of 1 × 1 GEMMs over the groups)
    phases, grads, flat_grad, gemm = _shift_operands(flat, grad_weight, flat_grad)
    for start, stop in blocks(0, valid, block):  # the block's output gradient stays in cache
        n = stop - start
        g_out = flat_grad.narrow(-1, lead + start, n)  # (g) c_out m
        for k, (phase, shift) in enumerate(layout.offsets):
            gemm(grads[k], g_out, phases[phase].narrow(-1, start + shift, n).mT)


def input_grad(
    name: str,
    flat_x: torch.Tensor,
    flat_grad: torch.Tensor,
    weights: torch.Tensor,
    layout: FlatLayout,
    block: int,
) -> None:
    lead = layout.lead
    if name == "unfold-gemm":
        storage = _column_storage(flat_x, layout, block)
        for start, stop in blocks(0, layout.valid, block):
            cols = _column_matrix(storage, flat_x, layout, stop - start)
            torch.bmm(weights.mT, flat_grad[:, :, lead + start : lead + stop], out=cols)
            _add_columns(flat_x, cols, layout, start, stop)
        return
    # the correlation form: each flat input column gathers the grads of the outputs it fed
    first, last = layout.inputs
    if name == "shift-gemm":
        targets, w, flat_grad, gemm = _shift_operands(flat_x, weights, flat_grad)
        w_t = [matrix.mT for matrix in w]
        for start, stop in blocks(first, last, block):
            n = stop - start
            for k, (phase, shift) in enumerate(layout.offsets):
                source = flat_grad.narrow(-1, lead + start - shift, n)  # (g) c_out m
                gemm(targets[phase].narrow(-1, start, n), w_t[k], source)
        return
    for start, stop in blocks(first, last, block):  # shift-mac
        for k, (phase, shift) in enumerate(layout.offsets):
            source = flat_grad[:, :, lead + start - shift : lead + stop - shift]  # g c_out m
            target = flat_x[:, :, phase, start:stop]  # g c_in m
            w = weights[k]  # g c_out c_in
            for i in range(w.shape[2]):
                for o in range(w.shape[1]):
                    target[:, i : i + 1].addcmul_(source[:, o : o + 1], w[:, o, i, None, None])
