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
the n rows), then runs the recurrence as a loop over time with one matrix multiply per step.
A sequence is always handled in torch's packed layout: the rows of step t are the first
``batch_sizes[t]`` sequences (the longest first), stacked time-major; a padded (t, b, i) batch is
the packed one with ``batch_sizes = [b] * t``. When a shorter sequence ends, its state is kept
aside as its final state; the reverse direction starts each sequence at its own last step.

Layers stack: layer l + 1 reads layer l's output (both directions concatenated, b (d·p)), with
dropout between layers when training. The states ``hx`` are (l·d, b, p) (and c (l·d, b, h)),
row ``layer · d + direction``. ``params`` is torch's flat list, per layer and direction:
``w_ih, w_hh[, b_ih, b_hh][, w_hr]``.

The functions take torch's ATen signatures (``torch.lstm``, ``torch.gru_cell`` …, which torch.nn's
modules call), so :func:`scratchnn.mode` routes torch.nn.LSTM & co. here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from .._args import fail
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
# One time step: (input gates (b, g·h), state, w_hh, b_hh, w_hr) → new state; the output is state[0].
Step = Callable[[Tensor, State, Tensor, Tensor | None, Tensor | None], State]


# ---------------------------------------------------------------------------------------------
# The cells, on the input half of the gates (x W_ihᵀ + b_ih, precomputed).


def _hidden_gates(h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """h W_hhᵀ + b_hh: b p, (g h) p -> b (g h). A plain matmul: it runs once per time step."""
    return h @ w_hh.mT if b_hh is None else torch.addmm(b_hh, h, w_hh.mT)


def _gates(x_gates: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """x_gates + h W_hhᵀ (+ b_hh): one fused multiply-add per step when b_hh is already in x_gates."""
    if b_hh is None:
        return torch.addmm(x_gates, h, w_hh.mT)
    return x_gates + _hidden_gates(h, w_hh, b_hh)


def _tanh_step(
    x_gates: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None
) -> State:
    return (torch.tanh(_gates(x_gates, state[0], w_hh, b_hh)),)


def _relu_step(
    x_gates: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None
) -> State:
    return (torch.relu(_gates(x_gates, state[0], w_hh, b_hh)),)


def _lstm_step(
    x_gates: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None
) -> State:
    h, c = state
    gates = _gates(x_gates, h, w_hh, b_hh)  # b (4 h): i f c̃ o
    sigmoids = torch.sigmoid(gates)  # one kernel for i f o (the c̃ block of it goes unused)
    input_gate, forget_gate, _, output_gate = sigmoids.chunk(4, dim=1)
    candidate = torch.tanh(gates.chunk(4, dim=1)[2])
    c = torch.addcmul(forget_gate * c, input_gate, candidate)  # f c + i c̃
    h = output_gate * torch.tanh(c)  # b h
    return (h if w_hr is None else h @ w_hr.mT, c)  # b p: b h, p h -> b p


def _gru_step(x_gates: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None) -> State:
    (h,) = state
    h_gates = _hidden_gates(h, w_hh, b_hh)  # b (3 h)
    x_reset_update, x_new = x_gates.split([2 * h.shape[1], h.shape[1]], dim=1)
    h_reset_update, h_new = h_gates.split([2 * h.shape[1], h.shape[1]], dim=1)
    reset, update = torch.sigmoid(x_reset_update + h_reset_update).chunk(2, dim=1)  # one kernel for r z
    new = torch.tanh(torch.addcmul(x_new, reset, h_new))  # x_n + r (h W_hnᵀ + b_hn)
    return (torch.addcmul(new, update, h - new),)  # (1 − z) n + z h


# name → (step, whether b_hh may be folded into the input gates)
_MODES: dict[str, tuple[Step, bool]] = {
    "rnn_tanh": (_tanh_step, True),
    "rnn_relu": (_relu_step, True),
    "lstm": (_lstm_step, True),
    "gru": (_gru_step, False),  # b_hn sits inside r ⊙ (…): it stays in the step
}


def _input_gates(x: Tensor, w_ih: Tensor, bias: Tensor | None) -> Tensor:
    """x W_ihᵀ + bias for all rows at once: n i, (g h) i -> n (g h)."""
    gates = contract("n i, gh i -> n gh", x, w_ih)
    return gates if bias is None else gates + bias


# ---------------------------------------------------------------------------------------------
# The cell functions (one step, torch's ATen signatures).


def _check_cell(op: str, input: Tensor, hx: Sequence[Tensor], w_ih: Tensor, w_hh: Tensor) -> None:
    """torch's checks of a cell call: 2-D input and states, input size i of w_ih, state size of
    w_hh, one batch size."""
    shapes = {"input": ("b i", input.shape), "w_ih": ("(g h) i", w_ih.shape), "w_hh": ("(g h) p", w_hh.shape)}
    for name, tensor in {"input": input, **{f"hx[{k}]": h for k, h in enumerate(hx)}}.items():
        if tensor.ndim != 2:
            raise fail(
                IndexError, op, f"{name} must be 2-D (b, features), got a {tensor.ndim}-D tensor", shapes
            )
    if input.shape[1] != w_ih.shape[1]:
        raise fail(
            RuntimeError,
            op,
            f"input has inconsistent input_size: got {input.shape[1]} expected {w_ih.shape[1]}",
            shapes,
        )
    for k, h in enumerate(hx):
        expected = w_hh.shape[1]
        if h.shape[1] != expected:
            raise fail(
                RuntimeError,
                op,
                f"hidden{k} has inconsistent hidden_size: got {h.shape[1]}, expected {expected}",
                {**shapes, f"hx[{k}]": ("b h", h.shape)},
            )
        if h.shape[0] != input.shape[0]:
            raise fail(
                RuntimeError,
                op,
                f"Input batch size {input.shape[0]} doesn't match hidden{k} batch size {h.shape[0]}",
                {**shapes, f"hx[{k}]": ("b h", h.shape)},
            )


def _cell(
    op: str,
    input: Tensor,
    hx: Sequence[Tensor],
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
) -> State:
    _check_cell(op, input, hx, w_ih, w_hh)
    step, _ = _MODES[op.removesuffix("_cell")]
    return step(_input_gates(input, w_ih, b_ih), tuple(hx), w_hh, b_hh, None)


def rnn_tanh_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One Elman step, ``h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)``, as ``torch.rnn_tanh_cell``.

    input (b, i), hx (b, h), w_ih (h, i), w_hh (h, h), b_ih b_hh (h,) → h' (b, h)

    >>> x, h = torch.randn(2, 3), torch.randn(2, 4)
    >>> w_ih, w_hh = torch.randn(4, 3), torch.randn(4, 4)
    >>> torch.allclose(rnn_tanh_cell(x, h, w_ih, w_hh), torch.tanh(x @ w_ih.T + h @ w_hh.T))
    True
    """
    return _cell("rnn_tanh_cell", input, (hx,), w_ih, w_hh, b_ih, b_hh)[0]


def rnn_relu_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One Elman step with ReLU, ``h' = relu(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)``, as
    ``torch.rnn_relu_cell``. Shapes as :func:`rnn_tanh_cell`.

    >>> x, h, w_ih, w_hh = torch.randn(2, 3), torch.randn(2, 4), torch.randn(4, 3), torch.randn(4, 4)
    >>> bool((rnn_relu_cell(x, h, w_ih, w_hh) >= 0).all())
    True
    """
    return _cell("rnn_relu_cell", input, (hx,), w_ih, w_hh, b_ih, b_hh)[0]


def lstm_cell(
    input: Tensor,
    hx: Sequence[Tensor],
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
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
    if len(hx) != 2:
        raise RuntimeError(f"lstm_cell: lstm_cell expects two hidden states (h, c), got {len(hx)}")
    h, c = _cell("lstm_cell", input, tuple(hx), w_ih, w_hh, b_ih, b_hh)
    return h, c


def gru_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
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
    return _cell("gru_cell", input, (hx,), w_ih, w_hh, b_ih, b_hh)[0]


# ---------------------------------------------------------------------------------------------
# The scan over time.


def _scan(
    step: Step,
    x_gates: Sequence[Tensor],
    initial: State,
    w_hh: Tensor,
    b_hh: Tensor | None,
    w_hr: Tensor | None,
    reverse: bool,
) -> tuple[list[Tensor], State]:
    """Run ``step`` over the time steps ``x_gates`` (step t: (b_t, g·h), b_t not increasing), from
    the states ``initial`` (b_0, ·). Returns the output of every step (in time order) and the final
    states (b_0, ·): a sequence's state after its own last step."""
    outputs: list[Tensor] = []
    if not reverse:
        state, ended = initial, []  # ended: states of the sequences that stopped, latest last
        for gates in x_gates:
            active = gates.shape[0]
            if active < state[0].shape[0]:  # the sequences active..b_{t-1} ended at the last step
                ended.append(tuple(s[active:] for s in state))
                state = tuple(s[:active] for s in state)
            state = step(gates, state, w_hh, b_hh, w_hr)
            outputs.append(state[0])
        if ended:  # rows b_T.. ended latest, so they come right after the ones still active
            state = tuple(torch.cat([s, *parts[::-1]]) for s, parts in zip(state, zip(*ended)))
        return outputs, state
    state = tuple(s[: x_gates[-1].shape[0]] for s in initial)
    for gates in reversed(x_gates):
        active = gates.shape[0]
        if active > state[0].shape[0]:  # sequences whose last step is t start here, from initial
            state = tuple(torch.cat([s, s0[s.shape[0] : active]]) for s, s0 in zip(state, initial))
        state = step(gates, state, w_hh, b_hh, w_hr)
        outputs.append(state[0])
    return outputs[::-1], state


def _layers(
    op: str,
    data: Tensor,
    batch_sizes: list[int],
    hx: State,
    params: Sequence[Tensor],
    has_biases: bool,
    num_layers: int,
    dropout: float,
    train: bool,
    bidirectional: bool,
) -> tuple[Tensor, State]:
    """The stacked, optionally bidirectional recurrence on packed ``data`` (n, i). Returns the last
    layer's output (n, d·p) and the final states, stacked (l·d, b, ·)."""
    step, fold_bias = _MODES[op]
    directions = 2 if bidirectional else 1
    has_projections = op == "lstm" and hx[0].shape[2] != hx[1].shape[2]
    weights = _group_params(op, params, has_biases, has_projections, num_layers * directions)
    finals: list[State] = []
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            index = layer * directions + direction
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[index]
            _check_layer_input(op, data, w_ih, layer)
            if fold_bias and b_hh is not None:  # both biases join the input gates, once
                b_ih, b_hh = b_ih + b_hh if b_ih is not None else b_hh, None
            x_gates = _input_gates(data, w_ih, b_ih).split(batch_sizes)  # t × (b_t, g·h)
            steps, final = _scan(step, x_gates, tuple(s[index] for s in hx), w_hh, b_hh, w_hr, direction == 1)
            outputs.append(torch.cat(steps))  # n p
            finals.append(final)
        data = outputs[0] if directions == 1 else torch.cat(outputs, dim=1)  # n (d p)
        if dropout > 0 and train and layer < num_layers - 1:
            data = _dropout(data, dropout, training=True)
    return data, tuple(torch.stack(states) for states in zip(*finals))


def _group_params(
    op: str, params: Sequence[Tensor], has_biases: bool, has_projections: bool, count: int
) -> list[tuple[Tensor, Tensor, Tensor | None, Tensor | None, Tensor | None]]:
    """torch's flat ``params`` as (w_ih, w_hh, b_ih, b_hh, w_hr) per layer and direction."""
    stride = 2 + 2 * has_biases + has_projections
    if len(params) != stride * count:
        raise RuntimeError(
            f"{op}: expected {stride * count} weights ({count} layers × directions of "
            f"w_ih, w_hh{', b_ih, b_hh' if has_biases else ''}{', w_hr' if has_projections else ''}), "
            f"got {len(params)}"
        )
    grouped = []
    for k in range(count):
        group = list(params[k * stride : (k + 1) * stride])
        w_ih, w_hh = group[0], group[1]
        b_ih, b_hh = (group[2], group[3]) if has_biases else (None, None)
        grouped.append((w_ih, w_hh, b_ih, b_hh, group[-1] if has_projections else None))
    return grouped


def _check_layer_input(op: str, data: Tensor, w_ih: Tensor, layer: int) -> None:
    if data.shape[1] != w_ih.shape[1]:
        raise fail(
            RuntimeError,
            op,
            f"input.size(-1) must be equal to the input size of layer {layer}. "
            f"Expected {w_ih.shape[1]}, got {data.shape[1]}",
            {"input": ("n i", data.shape), f"w_ih of layer {layer}": ("(g h) i", w_ih.shape)},
        )


def _recurrent(op: str, args: tuple[Any, ...]) -> tuple[Tensor, State]:
    """torch's two overloads of ``torch.lstm`` & co., told apart by position:
    ``(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)`` or,
    packed, ``(data, batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidirectional)``."""
    if isinstance(args[3], list | tuple):  # the packed overload: params comes fourth
        data, batch_sizes_tensor, hx, params, has_biases, num_layers, dropout, train, bidirectional = args
        hx = _states(op, hx)
        if data.ndim != 2:
            raise fail(
                IndexError,
                op,
                f"packed data must be 2-D, got a {data.ndim}-D tensor",
                {"data": ("n i", data.shape)},
            )
        batch_sizes = [int(size) for size in batch_sizes_tensor.tolist()]
        out, finals = _layers(
            op, data, batch_sizes, hx, params, has_biases, num_layers, dropout, train, bidirectional
        )
        return out, finals
    input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first = args
    hx = _states(op, hx)
    if input.ndim != 3:
        legend = "b t i" if batch_first else "t b i"
        raise fail(
            IndexError,
            op,
            f"input must be 3-D, got a {input.ndim}-D tensor",
            {"input": (legend, input.shape)},
        )
    if batch_first:
        input = input.transpose(0, 1)  # b t i -> t b i
    steps, batch = input.shape[0], input.shape[1]
    if steps == 0:
        raise RuntimeError(
            f"{op}: Expected sequence length to be larger than 0 in RNN, got input {tuple(input.shape)}"
        )
    data = input.reshape(steps * batch, input.shape[2])  # (t b) i
    out, finals = _layers(
        op, data, [batch] * steps, hx, params, has_biases, num_layers, dropout, train, bidirectional
    )
    out = out.view(steps, batch, out.shape[1])  # (t b) (d p) -> t b (d p)
    return (out.transpose(0, 1) if batch_first else out), finals


def _states(op: str, hx: Tensor | Sequence[Tensor]) -> State:
    states = (hx,) if isinstance(hx, Tensor) else tuple(hx)
    expected = 2 if op == "lstm" else 1
    if len(states) != expected or any(s.ndim != 3 for s in states):
        shapes = [tuple(s.shape) for s in states]
        raise RuntimeError(f"{op}: hx must be {expected} 3-D tensor(s) (l·d, b, h), got shapes {shapes}")
    return states


def lstm(
    input: Tensor,
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
    input: Tensor,
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
    input: Tensor,
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
    input: Tensor,
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
