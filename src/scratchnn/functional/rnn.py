"""Recurrent layers: a cell is one time step; a layer scans its cell over time, per direction.

Legend: t time, b batch, n = t·b rows of a sequence laid out time-major (packed), i input features,
h hidden, p projected hidden (LSTM ``proj_size``; p = h without), g gate blocks, gh = g·h the
gate blocks side by side.

    gates      x W_ihᵀ + b_ih + h W_hhᵀ + b_hh                                    (b, g·h)
    rnn_tanh   h' = tanh(gates)                                                   g = 1
    rnn_relu   h' = relu(gates)                                                   g = 1
    lstm       i f c̃ o = σ σ tanh σ (gates)   c' = f c + i c̃   h' = o tanh(c') W_hrᵀ   g = 4
    gru        r z = σ(gates_rz)   n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn))
               h' = (1 − z) n + z h                                               g = 3

A layer computes the input half of the gates for every time step at once (one contraction over
all rows), then runs the recurrence as a loop over time with one matrix multiply per step; the
hidden half is added *into* the step's hidden gates, as torch's cells do, so a step's input may
broadcast to the state's batch but not the other way round.

A packed sequence (``batch_sizes``) holds at step t the first ``batch_sizes[t]`` sequences (the
longest first), stacked time-major; a padded (t, b, i) batch is unbound along t. When a shorter
sequence ends, its state is kept aside as its final state; the reverse direction starts each
sequence at its own last step.

Layers stack: layer l + 1 reads layer l's output (both directions concatenated, b (d·p)), with
dropout between layers when training. The states ``hx`` are (l·d, b, p) (and c (l·d, b, h)),
row ``layer · d + direction``. ``params`` is torch's flat list, per layer and direction:
``w_ih, w_hh[, b_ih, b_hh][, w_hr]``.

The functions take torch's ATen signatures (``torch.lstm``, ``torch.gru_cell`` …, which torch.nn's
modules call), so :func:`scratchnn.mode` routes torch.nn.LSTM & co. here. They check what torch's
CPU kernels check, in the same order, and raise the same exception types.

One file (about 740 lines): the four cells, the packed scan every layer shares, and the parsing
of torch's two overloads per layer op are one recurrence; the modules are in ``nn/rnn.py``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .._args import check_same_dtype, fail
from .._contract import contract
from .dropout import dropout as _dropout

__all__ = [
    "gru",
    "gru_cell",
    "lstm",
    "lstm_cell",
    "rnn_relu",
    "rnn_relu_cell",
    "rnn_tanh",
    "rnn_tanh_cell",
]

Tensor = torch.Tensor
State = tuple[Tensor, ...]  # (h,) or, for the LSTM, (h, c)


@dataclass(frozen=True)
class Weights:
    """One layer and direction of ``params``: w_ih (g·h, i), w_hh (g·h, p), b_ih b_hh (g·h,),
    w_hr (p, h) (an LSTM with projections only)."""

    w_ih: Tensor
    w_hh: Tensor
    b_ih: Tensor | None = None
    b_hh: Tensor | None = None
    w_hr: Tensor | None = None


# One time step: (input half of the gates (b, g·h), state, weights) → new state; the output is state[0].
Step = Callable[[Tensor, State, Weights], State]


# ---------------------------------------------------------------------------------------------
# The two halves of the gates.


def _input_gates(op: str, x: Tensor, w_ih: Tensor, b_ih: Tensor | None) -> Tensor:
    """x W_ihᵀ + b_ih for every row of x at once: (…, i), (g·h, i) -> (…, g·h), checked as torch's
    ``linear`` checks it (its fused multiply-add takes a bias of x's dtype only)."""
    shapes = {"input": ("… i", x.shape), "w_ih": ("(g h) i", w_ih.shape)}
    if x.ndim == 0 or w_ih.ndim not in (1, 2) or (w_ih.ndim == 1 and x.ndim == 2 and b_ih is not None):
        raise fail(
            RuntimeError,
            op,
            "the input projection needs a >= 1-D input and a 2-D w_ih (a 1-D one: no bias on 2-D rows)",
            shapes,
        )
    check_same_dtype(op, input=x, w_ih=w_ih, b_ih=b_ih)
    if x.shape[-1] != w_ih.shape[-1]:
        raise fail(
            RuntimeError, op, f"input has {x.shape[-1]} features but w_ih expects {w_ih.shape[-1]}", shapes
        )
    rows = x.reshape(math.prod(x.shape[:-1]), x.shape[-1])  # n i (not -1: i may be 0)
    if w_ih.ndim == 1:  # one gate column, dropped (torch's linear allows it)
        gates = contract("n i, i -> n", rows, w_ih).reshape(x.shape[:-1])
    else:
        gates = contract("n i, gh i -> n gh", rows, w_ih).reshape(*x.shape[:-1], w_ih.shape[0])
    return gates if b_ih is None else gates.add_(b_ih)  # in place: b_ih broadcasts into (…, g·h)


def _hidden_gates(h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """h W_hhᵀ + b_hh: b p, (g h) p -> b (g h). A plain matmul: it runs once per time step."""
    if h.ndim == 2 and b_hh is not None:
        return torch.addmm(b_hh, h, w_hh.t())
    gates = torch.matmul(h, w_hh.t())
    return gates if b_hh is None else gates.add_(b_hh)


def _gates(x_gates: Tensor, h: Tensor, weights: Weights) -> Tensor:
    """The step's hidden gates plus its input gates, added into the hidden ones: one fused
    multiply-add when b_hh already sits in x_gates (a layer folds it in)."""
    if weights.b_hh is None and h.ndim == 2:
        return torch.addmm(x_gates, h, weights.w_hh.t())
    return _hidden_gates(h, weights.w_hh, weights.b_hh).add_(x_gates)


# ---------------------------------------------------------------------------------------------
# The cells, on the input half of the gates (x W_ihᵀ + b_ih, precomputed).


def _tanh_step(x_gates: Tensor, state: State, weights: Weights) -> State:
    return (torch.tanh(_gates(x_gates, state[0], weights)),)


def _relu_step(x_gates: Tensor, state: State, weights: Weights) -> State:
    return (torch.relu(_gates(x_gates, state[0], weights)),)


def _lstm_step(x_gates: Tensor, state: State, weights: Weights) -> State:
    h, c = state
    gates = _gates(x_gates, h, weights)  # b (4 h): i f c̃ o
    sigmoids = torch.sigmoid(gates)  # one kernel for i f o (the c̃ block of it goes unused)
    input_gate, forget_gate, _, output_gate = sigmoids.chunk(4, dim=1)
    candidate = torch.tanh(gates.chunk(4, dim=1)[2])
    c = torch.addcmul(forget_gate * c, input_gate, candidate)  # f c + i c̃
    h = output_gate * torch.tanh(c)  # b h
    return (h if weights.w_hr is None else torch.matmul(h, weights.w_hr.t()), c)  # b h, p h -> b p


def _gru_step(x_gates: Tensor, state: State, weights: Weights) -> State:
    (h,) = state
    x_parts = x_gates.unsafe_chunk(3, 1)  # x_r x_z x_n, each b h
    h_parts = _hidden_gates(h, weights.w_hh, weights.b_hh).unsafe_chunk(3, 1)  # h_r h_z h_n
    reset = torch.sigmoid(h_parts[0].add_(x_parts[0]))  # the x half added into the h half, as torch
    update = torch.sigmoid(h_parts[1].add_(x_parts[1]))
    new = torch.tanh(torch.addcmul(x_parts[2], reset, h_parts[2]))  # x_n + r (h W_hnᵀ + b_hn)
    return (torch.addcmul(new, update, h - new),)  # (1 − z) n + z h


# name → (step, whether b_hh may be folded into the input gates)
_MODES: dict[str, tuple[Step, bool]] = {
    "rnn_tanh": (_tanh_step, True),
    "rnn_relu": (_relu_step, True),
    "lstm": (_lstm_step, True),
    "gru": (_gru_step, False),  # b_hn sits inside r ⊙ (…): it stays in the step
}


# ---------------------------------------------------------------------------------------------
# The cell functions (one step, torch's ATen signatures), checked in torch's order.


def _size(op: str, name: str, tensor: Tensor, dim: int, legend: str) -> int:
    """``tensor.size(dim)``, or torch's IndexError naming the argument."""
    if not -tensor.ndim <= dim < tensor.ndim:
        raise fail(
            IndexError,
            op,
            f"{name} has no dim {dim}: it is a {tensor.ndim}-D tensor",
            {name: (legend, tensor.shape)},
        )
    return tensor.shape[dim]


def _check_cell_input(op: str, input: Tensor, w_ih: Tensor) -> None:
    expected = _size(op, "w_ih", w_ih, 1, "(g h) i")
    if _size(op, "input", input, 1, "b i") != expected:
        raise fail(
            RuntimeError,
            op,
            f"input has inconsistent input_size: got {input.shape[1]} expected {expected}",
            {"input": ("b i", input.shape), "w_ih": ("(g h) i", w_ih.shape)},
        )


def _check_cell_hidden(op: str, input: Tensor, h: Tensor, hidden_size: int, k: int) -> None:
    shapes = {"input": ("b i", input.shape), f"hx[{k}]": ("b h", h.shape)}
    batch = _size(op, "input", input, 0, "b i")
    if batch != _size(op, f"hx[{k}]", h, 0, "b h"):
        raise fail(
            RuntimeError,
            op,
            f"Input batch size {batch} doesn't match hidden{k} batch size {h.shape[0]}",
            shapes,
        )
    if _size(op, f"hx[{k}]", h, 1, "b h") != hidden_size:
        raise fail(
            RuntimeError,
            op,
            f"hidden{k} has inconsistent hidden_size: got {h.shape[1]}, expected {hidden_size}",
            shapes,
        )


def _check_cell_weights(op: str, w_ih: Tensor, w_hh: Tensor, gates: int, hidden_size: int) -> None:
    for name, weight in (("w_ih", w_ih), ("w_hh", w_hh)):
        if _size(op, name, weight, 0, "(g h) ·") != gates * hidden_size:
            raise fail(
                RuntimeError,
                op,
                f"{name} first dim must be {gates} * hidden_size = {gates * hidden_size}, "
                f"but got {weight.shape[0]}",
                {"w_ih": ("(g h) i", w_ih.shape), "w_hh": ("(g h) h", w_hh.shape)},
            )


def _cell(
    mode: str, input: Tensor, hx: State, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None
) -> State:
    step, _ = _MODES[mode]
    return step(_input_gates(f"{mode}_cell", input, w_ih, b_ih), hx, Weights(w_ih, w_hh, b_ih, b_hh))


def rnn_tanh_cell(
    input: torch.Tensor,
    hx: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor | None = None,
    b_hh: torch.Tensor | None = None,
) -> Tensor:
    """One Elman step, ``h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)``, as ``torch.rnn_tanh_cell``.

    input (b, i), hx (b, h), w_ih (h, i), w_hh (h, h), b_ih b_hh (h,) → h' (b, h)

    >>> x, h = torch.randn(2, 3), torch.randn(2, 4)
    >>> w_ih, w_hh = torch.randn(4, 3), torch.randn(4, 4)
    >>> torch.allclose(rnn_tanh_cell(x, h, w_ih, w_hh), torch.tanh(x @ w_ih.T + h @ w_hh.T))
    True
    """
    return _elman_cell("rnn_tanh", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(
    input: torch.Tensor,
    hx: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor | None = None,
    b_hh: torch.Tensor | None = None,
) -> Tensor:
    """One Elman step with ReLU, ``h' = relu(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)``, as
    ``torch.rnn_relu_cell``. Shapes as :func:`rnn_tanh_cell`.

    >>> x, h, w_ih, w_hh = torch.randn(2, 3), torch.randn(2, 4), torch.randn(4, 3), torch.randn(4, 4)
    >>> bool((rnn_relu_cell(x, h, w_ih, w_hh) >= 0).all())
    True
    """
    return _elman_cell("rnn_relu", input, hx, w_ih, w_hh, b_ih, b_hh)


def _elman_cell(
    mode: str, input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None
) -> Tensor:
    op = f"{mode}_cell"
    hidden_size = _size(op, "w_hh", w_hh, 1, "h h")
    _check_cell_weights(op, w_ih, w_hh, 1, hidden_size)
    _check_cell_input(op, input, w_ih)
    _check_cell_hidden(op, input, hx, hidden_size, 0)
    return _cell(mode, input, (hx,), w_ih, w_hh, b_ih, b_hh)[0]


def lstm_cell(
    input: torch.Tensor,
    hx: Sequence[Tensor],
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor | None = None,
    b_hh: torch.Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One LSTM step, as ``torch.lstm_cell``: gates i f c̃ o (in that order in W), then
    ``c' = σ(f) c + σ(i) tanh(c̃)``, ``h' = σ(o) tanh(c')``.

    input (b, i), hx = (h (b, h), c (b, h)), w_ih (4h, i), w_hh (4h, h), b_ih b_hh (4h,) → (h', c')

    >>> x, h, c = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
    >>> w_ih, w_hh = torch.randn(16, 3), torch.randn(16, 4)
    >>> h1, c1 = lstm_cell(x, (h, c), w_ih, w_hh)
    >>> i, f, g, o = (x @ w_ih.T + h @ w_hh.T).chunk(4, 1)
    >>> torch.allclose(c1, f.sigmoid() * c + i.sigmoid() * g.tanh())
    True
    >>> torch.allclose(h1, o.sigmoid() * c1.tanh())
    True
    """
    states = _tensor_list("lstm_cell", "hx", hx, 2)
    if len(states) != 2:
        raise RuntimeError(f"lstm_cell: lstm_cell expects two hidden states (h, c), got {len(states)}")
    hidden_size = _size("lstm_cell", "w_hh", w_hh, 1, "(4 h) h")
    _check_cell_input("lstm_cell", input, w_ih)
    _check_cell_weights("lstm_cell", w_ih, w_hh, 4, hidden_size)
    for k, state in enumerate(states):
        _check_cell_hidden("lstm_cell", input, state, hidden_size, k)
    h, c = _cell("lstm", input, states, w_ih, w_hh, b_ih, b_hh)
    return h, c


def gru_cell(
    input: torch.Tensor,
    hx: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor | None = None,
    b_hh: torch.Tensor | None = None,
) -> Tensor:
    """One GRU step, as ``torch.gru_cell``: gates r z n (in that order in W),
    ``n = tanh(x W_inᵀ + b_in + r (h W_hnᵀ + b_hn))``, ``h' = (1 − z) n + z h``.

    input (b, i), hx (b, h), w_ih (3h, i), w_hh (3h, h), b_ih b_hh (3h,) → h' (b, h)

    >>> x, h, w_ih, w_hh = torch.randn(2, 3), torch.randn(2, 4), torch.randn(12, 3), torch.randn(12, 4)
    >>> (xr, xz, xn), (hr, hz, hn) = (x @ w_ih.T).chunk(3, 1), (h @ w_hh.T).chunk(3, 1)
    >>> r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
    >>> torch.allclose(gru_cell(x, h, w_ih, w_hh), (1 - z) * (xn + r * hn).tanh() + z * h)
    True
    """
    _check_cell_input("gru_cell", input, w_ih)
    hidden_size = _size("gru_cell", "w_hh", w_hh, 1, "(3 h) h")
    _check_cell_hidden("gru_cell", input, hx, hidden_size, 0)
    _check_cell_weights("gru_cell", w_ih, w_hh, 3, hidden_size)
    return _cell("gru", input, (hx,), w_ih, w_hh, b_ih, b_hh)[0]


# ---------------------------------------------------------------------------------------------
# One layer, one direction: the scan over time.


def _full_layer(
    op: str, step: Step, input: Tensor, initial: State, weights: Weights, reverse: bool
) -> tuple[Tensor, State]:
    """A padded sequence: the input gates of all steps at once, unbound along t (dim 0), scanned
    from the first step (or the last). Returns the outputs (t, b, p) and the final states."""
    x_gates = list(_input_gates(op, input, weights.w_ih, weights.b_ih).unbind(0))  # t × (b, g·h)
    state, outputs = initial, []
    for gates in reversed(x_gates) if reverse else x_gates:
        state = step(gates, state, weights)
        outputs.append(state[0])
    if not outputs:
        raise fail(
            RuntimeError,
            op,
            "Expected sequence length to be larger than 0 in RNN",
            {"input": ("t b i", input.shape)},
        )
    return torch.stack(outputs[::-1] if reverse else outputs), state


def _packed_layer(
    op: str, step: Step, data: Tensor, batch_sizes: list[int], initial: State, weights: Weights
) -> tuple[Tensor, State]:
    """A packed sequence, from its first step: step t reads the next ``batch_sizes[t]`` rows; when
    the batch shrinks, the states of the sequences that ended are set aside as their final states."""
    x_gates = _input_gates(op, data, weights.w_ih, weights.b_ih)  # n (g h)
    state, ended, outputs, offset, active = initial, [], [], 0, batch_sizes[0]
    for size in batch_sizes:
        gates = x_gates.narrow(0, offset, size)  # b_t (g h)
        offset += size
        if size < active:  # sequences size..active-1 ended at the last step
            ended.append(tuple(s.narrow(0, size, active - size) for s in state))
            state = tuple(s.narrow(0, 0, size) for s in state)
        active = size
        state = step(gates, state, weights)
        outputs.append(state[0])
    parts = [state, *ended[::-1]]  # the rows still active, then the ones that ended latest first
    return torch.cat(outputs), tuple(torch.cat(rows) for rows in zip(*parts))


def _reversed_packed_layer(
    op: str, step: Step, data: Tensor, batch_sizes: list[int], initial: State, weights: Weights
) -> tuple[Tensor, State]:
    """A packed sequence, from its last step back: a sequence joins (from its initial state) at the
    step where it ends."""
    x_gates = _input_gates(op, data, weights.w_ih, weights.b_ih)  # n (g h)
    offset, active = data.shape[0], batch_sizes[-1]
    state, outputs = tuple(s.narrow(0, 0, active) for s in initial), []
    for size in reversed(batch_sizes):
        if size > active:  # sequences active..size-1 have their last step here
            state = tuple(
                torch.cat([s, s0.narrow(0, active, size - active)]) for s, s0 in zip(state, initial)
            )
        gates = x_gates.narrow(0, offset - size, size)
        offset -= size
        active = size
        state = step(gates, state, weights)
        outputs.append(state[0])
    return torch.cat(outputs[::-1]), state


# ---------------------------------------------------------------------------------------------
# The stack of layers.


def _stack(
    op: str,
    input: Tensor,
    batch_sizes: Tensor | None,
    hiddens: list[State],
    weights: list[Weights],
    num_layers: int,
    dropout: float,
    train: bool,
    bidirectional: bool,
) -> tuple[Tensor, list[State]]:
    """Layer after layer, each direction from its own initial state; the last layer's output and
    every layer's and direction's final states (row layer · d + direction)."""
    step, fold_bias = _MODES[op]
    directions = 2 if bidirectional else 1
    if bidirectional and (len(hiddens) % 2 or len(weights) % 2):
        raise RuntimeError(
            f"{op}: Odd number of params or hiddens given to a bidirectional RNN: "
            f"{len(hiddens)} states, {len(weights)} weight groups"
        )
    for what, count in (("hidden states", len(hiddens)), ("weights", len(weights))):
        if count != num_layers * directions:
            raise RuntimeError(
                f"{op}: Expected more {what} in stacked_rnn: num_layers={num_layers} × {directions} "
                f"directions, got {count} {what}"
            )
    if fold_bias:  # both biases join the input gates, once per layer
        weights = [_folded(w) for w in weights]
    sizes = None if batch_sizes is None else _batch_sizes(op, batch_sizes, input)
    finals: list[State] = []
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            index = layer * directions + direction
            if sizes is None:
                out, final = _full_layer(op, step, input, hiddens[index], weights[index], direction == 1)
            else:
                scan = _reversed_packed_layer if direction == 1 else _packed_layer
                out, final = scan(op, step, input, sizes, hiddens[index], weights[index])
            outputs.append(out)
            finals.append(final)
        input = outputs[0] if directions == 1 else torch.cat(outputs, dim=outputs[0].ndim - 1)  # … (d p)
        if dropout != 0 and train and layer < num_layers - 1:
            if not 0 <= dropout <= 1:
                raise RuntimeError(f"{op}: dropout probability has to be between 0 and 1, but got {dropout}")
            input = _dropout(input, dropout, training=True)
    return input, finals


def _folded(weights: Weights) -> Weights:
    """b_hh added to b_ih: the input gates then carry both biases (two of one shape and dtype only,
    so that odd ones fail where torch's do)."""
    b_ih, b_hh = weights.b_ih, weights.b_hh
    if b_ih is None or b_hh is None or b_ih.shape != b_hh.shape or b_ih.dtype != b_hh.dtype:
        return weights
    return Weights(weights.w_ih, weights.w_hh, b_ih + b_hh, None, weights.w_hr)


def _batch_sizes(op: str, batch_sizes: Tensor, data: Tensor) -> list[int]:
    """The steps' batch sizes of a packed sequence: a non-empty 1-D int64 tensor summing to the
    rows of ``data``."""
    shapes = {"batch_sizes": ("t", batch_sizes.shape), "data": ("n i", data.shape)}
    steps = _size(op, "batch_sizes", batch_sizes, 0, "t")
    if batch_sizes.dtype != torch.int64:
        raise RuntimeError(f"{op}: expected batch_sizes of dtype torch.int64, got {batch_sizes.dtype}")
    if batch_sizes.ndim != 1 or steps == 0:
        raise fail(RuntimeError, op, "batch_sizes must be a non-empty 1-D tensor", shapes)
    sizes = [int(size) for size in batch_sizes.tolist()]
    if data.ndim == 0 or sum(sizes) != data.shape[0]:
        raise fail(RuntimeError, op, f"batch_sizes sum to {sum(sizes)}, but data has other rows", shapes)
    return sizes


def _group_params(
    op: str, params: Sequence[Tensor], has_biases: bool, has_projections: bool
) -> list[Weights]:
    """torch's flat ``params`` as one :class:`Weights` per layer and direction."""
    names = [
        "w_ih",
        "w_hh",
        *(["b_ih", "b_hh"] if has_biases else []),
        *(["w_hr"] if has_projections else []),
    ]
    stride = len(names)
    if len(params) % stride:
        raise RuntimeError(
            f"{op}: got an incorrect number of RNN parameters: {len(params)} is no multiple of "
            f"{stride} ({', '.join(names)} per layer and direction)"
        )
    grouped = []
    for k in range(0, len(params), stride):
        w_ih, w_hh, *rest = params[k : k + stride]
        b_ih, b_hh = (rest[0], rest[1]) if has_biases else (None, None)
        grouped.append(Weights(w_ih, w_hh, b_ih, b_hh, rest[-1] if has_projections else None))
    return grouped


# ---------------------------------------------------------------------------------------------
# Arguments: torch's two overloads, parsed as torch's binding parses them.


def _tensor_list(op: str, name: str, value: Any, position: int) -> tuple[Tensor, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, Tensor) for v in value):
        what = type(value).__name__
        if isinstance(value, list | tuple):
            what += " of " + ", ".join(sorted({type(v).__name__ for v in value}))
        raise TypeError(f"{op}: argument '{name}' (position {position}) must be tuple of Tensors, not {what}")
    return tuple(value)


def _is(kind: str, value: Any) -> bool:
    """Whether torch's argument parser takes ``value`` as a ``kind``."""
    if kind == "Tensor":
        return isinstance(value, Tensor)
    if kind == "tuple of Tensors":
        return isinstance(value, list | tuple) and all(isinstance(v, Tensor) for v in value)
    if kind == "bool":
        return isinstance(value, bool)
    if isinstance(value, Tensor):  # a 0-d tensor passes for a number
        return value.ndim == 0 and (kind == "float" or not (value.is_floating_point() or value.is_complex()))
    if kind == "int":
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    return isinstance(value, numbers.Real)  # float: an int or a bool is taken too


def _overloads(op: str) -> dict[str, tuple[tuple[str, str], ...]]:
    hx = "tuple of Tensors" if op == "lstm" else "Tensor"
    flags = (("has_biases", "bool"), ("num_layers", "int"), ("dropout", "float"), ("train", "bool"))
    return {
        "padded": (
            ("input", "Tensor"),
            ("hx", hx),
            ("params", "tuple of Tensors"),
            *flags,
            ("bidirectional", "bool"),
            ("batch_first", "bool"),
        ),
        "packed": (
            ("data", "Tensor"),
            ("batch_sizes", "Tensor"),
            ("hx", hx),
            ("params", "tuple of Tensors"),
            *flags,
            ("bidirectional", "bool"),
        ),
    }


def _parse(op: str, args: tuple[Any, ...]) -> str:
    """Which overload ``args`` call ("padded" or "packed"); TypeError naming the first argument of
    the nearer one that torch would not take."""
    overloads = _overloads(op)
    wrong = {
        name: [
            (k, arg, kind)
            for k, ((arg, kind), value) in enumerate(zip(signature, args))
            if not _is(kind, value)
        ]
        for name, signature in overloads.items()
    }
    for name in ("packed", "padded"):
        if not wrong[name]:
            return name
    nearer = min(("padded", "packed"), key=lambda name: len(wrong[name]))
    k, arg, kind = wrong[nearer][0]
    signatures = " or ".join(f"({', '.join(f'{a} {t}' for a, t in s)})" for s in overloads.values())
    raise TypeError(
        f"{op}: argument '{arg}' (position {k + 1}) must be {kind}, not {type(args[k]).__name__}; "
        f"{op} takes {signatures}"
    )


def _recurrent(op: str, args: tuple[Any, ...]) -> tuple[Tensor, State]:
    """torch's ``lstm`` & co. on either overload: ``(input, hx, params, has_biases, num_layers,
    dropout, train, bidirectional, batch_first)`` or, packed, ``(data, batch_sizes, hx, params,
    has_biases, num_layers, dropout, train, bidirectional)``. Returns the output and the final
    states stacked (l·d, b, ·)."""
    overload = _parse(op, args)
    batch_sizes: Tensor | None = None
    if overload == "packed":
        input, batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidirectional = args
        batch_first = False
    else:
        input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first = args
    has_projections = False
    if op == "lstm":
        if len(hx) != 2:
            raise RuntimeError(f"lstm: lstm expects two hidden states (h, c), got {len(hx)}")
        has_projections = _size(op, "hx[0]", hx[0], 2, "l·d b p") != _size(op, "hx[1]", hx[1], 2, "l·d b h")
    states = tuple(hx) if op == "lstm" else (hx,)
    if overload == "padded":
        _check_devices(op, input, [*states, *params])
        if batch_first:
            _size(op, "input", input, 1, "b t i")
            input = input.transpose(0, 1)  # b t i -> t b i
    weights = _group_params(op, params, has_biases, has_projections)
    for k, state in enumerate(states):
        _size(op, f"hx[{k}]" if op == "lstm" else "hx", state, 0, "l·d b h")
    layers = len(states[0])  # torch pairs h and c per layer by h's count
    if any(len(state) < layers for state in states):
        raise RuntimeError(f"{op}: hx[1] holds fewer layers than hx[0]: {[tuple(s.shape) for s in states]}")
    hiddens = [tuple(state[k] for state in states) for k in range(layers)]  # per layer: (b, p)[, (b, h)]
    out, finals = _stack(
        op, input, batch_sizes, hiddens, weights, int(num_layers), float(dropout), train, bidirectional
    )
    if not finals:
        raise RuntimeError(f"{op}: num_layers=0 leaves no final state to stack (l·d = 0)")
    stacked = tuple(torch.stack(parts) for parts in zip(*finals))  # (l·d, b, ·) each
    return (out.transpose(0, 1) if batch_first else out), stacked


def _check_devices(op: str, input: Tensor, tensors: list[Tensor]) -> None:
    for tensor in tensors:
        if tensor.device != input.device:
            raise RuntimeError(
                f"{op}: Input and parameter tensors are not at the same device, found input tensor at "
                f"{input.device} and another at {tensor.device}"
            )


def lstm(
    input: torch.Tensor,
    hx: Any,
    params: Any,
    has_biases: Any,
    num_layers: Any,
    dropout: Any,
    train: Any,
    bidirectional: Any,
    batch_first: Any,
) -> tuple[Tensor, Tensor, Tensor]:
    """A stacked LSTM over a sequence, as ``torch.lstm`` (what ``torch.nn.LSTM`` calls).

    input (t, b, i) ((b, t, i) with batch_first), hx = (h0 (l·d, b, p), c0 (l·d, b, h)),
    params (see the module docstring) → output (t, b, d·p), h_n (l·d, b, p), c_n (l·d, b, h).
    With ``proj_size`` (h0 narrower than c0) the hidden state is projected: h = σ(o) tanh(c) W_hrᵀ.

    The packed overload, as torch's: ``lstm(data, batch_sizes, hx, params, has_biases, num_layers,
    dropout, train, bidirectional)`` with data (n, i) → output (n, d·p), h_n, c_n.

    >>> module = torch.nn.LSTM(3, 4, num_layers=2)
    >>> x, h0, c0 = torch.randn(5, 2, 3), torch.zeros(2, 2, 4), torch.zeros(2, 2, 4)
    >>> out, h, c = lstm(x, (h0, c0), module._flat_weights, True, 2, 0.0, False, False, False)
    >>> expected, (h_ref, c_ref) = module(x)
    >>> torch.allclose(out, expected, atol=1e-6), torch.allclose(c, c_ref, atol=1e-6)
    (True, True)
    """
    out, (h, c) = _recurrent(
        "lstm", (input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
    )
    return out, h, c


def gru(
    input: torch.Tensor,
    hx: Any,
    params: Any,
    has_biases: Any,
    num_layers: Any,
    dropout: Any,
    train: Any,
    bidirectional: Any,
    batch_first: Any,
) -> tuple[Tensor, Tensor]:
    """A stacked GRU over a sequence, as ``torch.gru`` (what ``torch.nn.GRU`` calls); the packed
    overload ``gru(data, batch_sizes, hx, params, …, bidirectional)`` too.

    input (t, b, i), hx (l·d, b, h) → output (t, b, d·h), h_n (l·d, b, h)

    >>> module = torch.nn.GRU(3, 4, bidirectional=True)
    >>> x, h0 = torch.randn(5, 2, 3), torch.zeros(2, 2, 4)
    >>> out, h = gru(x, h0, module._flat_weights, True, 1, 0.0, False, True, False)
    >>> out.shape, torch.allclose(out, module(x, h0)[0], atol=1e-6)
    (torch.Size([5, 2, 8]), True)
    """
    out, (h,) = _recurrent(
        "gru", (input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
    )
    return out, h


def rnn_tanh(
    input: torch.Tensor,
    hx: Any,
    params: Any,
    has_biases: Any,
    num_layers: Any,
    dropout: Any,
    train: Any,
    bidirectional: Any,
    batch_first: Any,
) -> tuple[Tensor, Tensor]:
    """A stacked Elman RNN with tanh, as ``torch.rnn_tanh`` (``torch.nn.RNN``); packed overload too.

    input (t, b, i), hx (l·d, b, h) → output (t, b, d·h), h_n (l·d, b, h)

    >>> module = torch.nn.RNN(3, 4, batch_first=True)
    >>> x, h0 = torch.randn(2, 5, 3), torch.zeros(1, 2, 4)
    >>> out, h = rnn_tanh(x, h0, module._flat_weights, True, 1, 0.0, False, False, True)
    >>> torch.allclose(out, module(x)[0], atol=1e-6), torch.allclose(h[0], out[:, -1])
    (True, True)
    """
    out, (h,) = _recurrent(
        "rnn_tanh", (input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
    )
    return out, h


def rnn_relu(
    input: torch.Tensor,
    hx: Any,
    params: Any,
    has_biases: Any,
    num_layers: Any,
    dropout: Any,
    train: Any,
    bidirectional: Any,
    batch_first: Any,
) -> tuple[Tensor, Tensor]:
    """A stacked Elman RNN with ReLU, as ``torch.rnn_relu`` (``torch.nn.RNN(nonlinearity="relu")``);
    packed overload too. Shapes as :func:`rnn_tanh`.

    >>> module = torch.nn.RNN(3, 4, nonlinearity="relu")
    >>> x, h0 = torch.randn(5, 2, 3), torch.zeros(1, 2, 4)
    >>> out, h = rnn_relu(x, h0, module._flat_weights, True, 1, 0.0, False, False, False)
    >>> torch.allclose(out, module(x)[0], atol=1e-6)
    True
    """
    out, (h,) = _recurrent(
        "rnn_relu", (input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
    )
    return out, h
