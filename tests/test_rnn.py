"""Recurrent layers against torch: the cells (values, gradients, gradcheck), RNN/LSTM/GRU over every
option (layers, directions, bias, batch_first, proj_size, unbatched, h0/c0, packed sequences of
unsorted lengths) with the gradients of the input, the states and every parameter; inter-layer
dropout; construction (names, shapes, init, repr, state_dicts both ways, all_weights); errors."""

import copy
import math
import pickle
import warnings

import pytest
import torch
import torch.nn as torch_nn
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pack_sequence

import scratchnn.functional as F
import scratchnn.nn as nn
from helpers import assert_close, assert_matches_torch, tensors_in

dtypes = st.sampled_from([torch.float64, torch.float32])
GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
CELLS = ["rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"]
MODULES = ["LSTM", "GRU", "RNN"]


def seeded(data):
    torch.manual_seed(data.draw(st.integers(0, 2**16), label="seed"))


def cell_args(op, batch, input_size, hidden, bias, dtype):
    gates = GATES[op.removesuffix("_cell")] * hidden
    x, h = torch.randn(batch, input_size, dtype=dtype), torch.randn(batch, hidden, dtype=dtype)
    hx = (h, torch.randn(batch, hidden, dtype=dtype)) if op == "lstm_cell" else h
    w_ih, w_hh = (
        0.5 * torch.randn(gates, input_size, dtype=dtype),
        0.5 * torch.randn(gates, hidden, dtype=dtype),
    )
    biases = (torch.randn(gates, dtype=dtype), torch.randn(gates, dtype=dtype)) if bias else (None, None)
    return x, hx, w_ih, w_hh, *biases


# ---------------------------------------------------------------------------------------------
# Cells (functional)


@pytest.mark.parametrize("op", CELLS)
@settings(max_examples=300)  # per cell
@given(data=st.data(), dtype=dtypes)
def test_cells_match_torch(op, data, dtype):
    seeded(data)
    batch, input_size, hidden = (data.draw(st.integers(1, 4)) for _ in range(3))
    args = cell_args(op, batch, input_size, hidden, data.draw(st.booleans()), dtype)
    assert_matches_torch(getattr(F, op), getattr(torch, op), *args)


@pytest.mark.parametrize("op", CELLS)
@pytest.mark.parametrize("bias", [True, False])
def test_cells_gradcheck(op, bias):
    torch.manual_seed(0)
    args = [t.requires_grad_() for t in tensors_in(cell_args(op, 2, 3, 2, bias, torch.float64))]
    if op == "lstm_cell":

        def fn(x, h, c, *weights):
            return F.lstm_cell(x, (h, c), *weights)
    else:
        fn = getattr(F, op)
    assert torch.autograd.gradcheck(fn, tuple(args))


@pytest.mark.parametrize("op", CELLS)
def test_cell_input_size_error(op):
    _, hx, w_ih, w_hh, *_ = cell_args(op, 2, 3, 4, False, torch.float64)
    with pytest.raises(RuntimeError, match=rf"{op}: input has inconsistent input_size: got 5 expected 3"):
        getattr(F, op)(torch.randn(2, 5, dtype=torch.float64), hx, w_ih, w_hh)
    with pytest.raises(RuntimeError):
        getattr(torch, op)(torch.randn(2, 5, dtype=torch.float64), hx, w_ih, w_hh)


def test_cell_state_errors():
    x, (h, c), w_ih, w_hh, *_ = cell_args("lstm_cell", 2, 3, 4, False, torch.float64)
    wide = torch.zeros(2, 5, dtype=torch.float64)
    for ours, theirs in ((F, torch),):
        with pytest.raises(
            RuntimeError, match=r"lstm_cell: hidden0 has inconsistent hidden_size: got 5, expected 4"
        ):
            ours.lstm_cell(x, (wide, c), w_ih, w_hh)
        with pytest.raises(
            RuntimeError, match=r"lstm_cell: hidden1 has inconsistent hidden_size: got 5, expected 4"
        ):
            ours.lstm_cell(x, (h, wide), w_ih, w_hh)
        with pytest.raises(
            RuntimeError, match=r"lstm_cell: Input batch size 2 doesn't match hidden0 batch size 3"
        ):
            ours.lstm_cell(x, (h.new_zeros(3, 4), c), w_ih, w_hh)
        with pytest.raises(
            RuntimeError, match=r"lstm_cell: lstm_cell expects two hidden states \(h, c\), got 1"
        ):
            ours.lstm_cell(x, (h,), w_ih, w_hh)
        with pytest.raises(IndexError, match=r"lstm_cell: input has no dim 1: it is a 1-D tensor"):
            ours.lstm_cell(x[0], (h, c), w_ih, w_hh)
        with pytest.raises(IndexError):
            theirs.lstm_cell(x[0], (h, c), w_ih, w_hh)
        with pytest.raises(RuntimeError):
            theirs.lstm_cell(x, (h,), w_ih, w_hh)


# ---------------------------------------------------------------------------------------------
# Layers (modules and torch.lstm & co.)


def twins(name, *args, dtype=torch.float64, **kwargs):
    """A torch.nn module and its scratch twin with the same parameters."""
    theirs = getattr(torch_nn, name)(*args, **kwargs, dtype=dtype)
    ours = getattr(nn, name)(*args, **kwargs, dtype=dtype)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def assert_same_forward_backward(ours, theirs, input, hx=None, tolerance=None):
    """Outputs (and packed batch_sizes/indices) equal; the gradients of the input, h0 (c0) and every
    parameter equal for one random cotangent."""

    def leaves(value):
        if isinstance(value, PackedSequence):
            data = value.data.detach().clone().requires_grad_()
            return PackedSequence(data, value.batch_sizes, value.sorted_indices, value.unsorted_indices), [
                data
            ]
        if isinstance(value, torch.Tensor):
            leaf = value.detach().clone().requires_grad_()
            return leaf, [leaf]
        if isinstance(value, tuple):
            pairs = [leaves(v) for v in value]
            return tuple(p[0] for p in pairs), [t for p in pairs for t in p[1]]
        return value, []

    results = []
    for module in (ours, theirs):
        call_input, inputs = leaves(input)
        call_hx, states = leaves(hx)
        output, final = module(call_input, call_hx)
        results.append((output, final, inputs + states, list(module.parameters())))
    (out_a, final_a, in_a, params_a), (out_b, final_b, in_b, params_b) = results
    if isinstance(out_b, PackedSequence):
        assert isinstance(out_a, PackedSequence)
        for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
            assert_close(getattr(out_a, field), getattr(out_b, field), field, rtol=0, atol=0)
        out_a, out_b = out_a.data, out_b.data
    outputs_a, outputs_b = [out_a, *tensors_in(final_a)], [out_b, *tensors_in(final_b)]
    assert len(outputs_a) == len(outputs_b)
    generator = torch.Generator().manual_seed(1)
    cotangents = [torch.randn(b.shape, generator=generator, dtype=b.dtype) for b in outputs_b]
    for i, (a, b) in enumerate(zip(outputs_a, outputs_b)):
        assert_close(a, b, f"output {i}", tolerance, tolerance)
    grads_a = torch.autograd.grad(outputs_a, in_a + params_a, cotangents, allow_unused=True)
    grads_b = torch.autograd.grad(outputs_b, in_b + params_b, cotangents, allow_unused=True)
    names = [f"input {i}" for i in range(len(in_a))] + [name for name, _ in ours.named_parameters()]
    for name, ga, gb in zip(names, grads_a, grads_b):
        if gb is None:
            assert ga is None or not ga.any(), f"gradient of {name}: ours nonzero where torch has none"
            continue
        assert ga is not None, f"gradient of {name}: ours is missing"
        assert_close(ga, gb, f"gradient of {name}", tolerance, tolerance)


@st.composite
def configurations(draw, names=MODULES):
    name = draw(st.sampled_from(names))
    hidden = draw(st.integers(1, 4))
    kwargs = {
        "num_layers": draw(st.integers(1, 3)),
        "bias": draw(st.booleans()),
        "batch_first": draw(st.booleans()),
        "bidirectional": draw(st.booleans()),
    }
    if name == "LSTM" and hidden > 1 and draw(st.booleans()):
        kwargs["proj_size"] = draw(st.integers(1, hidden - 1))
    if name == "RNN":
        kwargs["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    return name, draw(st.integers(1, 4)), hidden, kwargs


def initial_states(name, module, batch, batched, dtype):
    shape = (module.num_layers * (2 if module.bidirectional else 1), *([batch] if batched else []))
    h0 = torch.randn(*shape, module.proj_size or module.hidden_size, dtype=dtype)
    if name != "LSTM":
        return h0
    return h0, torch.randn(*shape, module.hidden_size, dtype=dtype)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")  # torch's note
@pytest.mark.parametrize("module", MODULES)
@settings(max_examples=300)  # per recurrent layer
@given(data=st.data(), dtype=dtypes, layout=st.sampled_from(["batched", "unbatched", "packed"]))
def test_modules_match_torch(module, data, dtype, layout):
    configuration = data.draw(configurations((module,)), label="configuration")
    seeded(data)
    name, input_size, hidden, kwargs = configuration
    ours, theirs = twins(name, input_size, hidden, dtype=dtype, **kwargs)
    steps, batch = data.draw(st.integers(1, 4), label="steps"), data.draw(st.integers(1, 3), label="batch")
    if layout == "packed":
        lengths = data.draw(st.lists(st.integers(1, steps), min_size=batch, max_size=batch), label="lengths")
        sequences = [torch.randn(n, input_size, dtype=dtype) for n in lengths]
        input = pack_sequence(sequences, enforce_sorted=False)
    elif layout == "unbatched":
        input = torch.randn(steps, input_size, dtype=dtype)
    else:
        shape = (batch, steps) if ours.batch_first else (steps, batch)
        input = torch.randn(*shape, input_size, dtype=dtype)
    hx = initial_states(name, ours, batch, layout != "unbatched", dtype) if data.draw(st.booleans()) else None
    assert_same_forward_backward(ours, theirs, input, hx)


@pytest.mark.parametrize("name", MODULES)
def test_pack_padded_sequence_unsorted(name):
    torch.manual_seed(0)
    ours, theirs = twins(name, 3, 4, num_layers=2, bidirectional=True, batch_first=True)
    padded = torch.randn(4, 6, 3, dtype=torch.float64)
    packed = pack_padded_sequence(padded, torch.tensor([2, 6, 1, 4]), batch_first=True, enforce_sorted=False)
    assert_same_forward_backward(ours, theirs, packed, initial_states(name, ours, 4, True, torch.float64))


@pytest.mark.parametrize("op", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
@pytest.mark.parametrize("packed", [False, True])
def test_layers_gradcheck(op, packed):
    torch.manual_seed(0)
    module = {"lstm": torch_nn.LSTM, "gru": torch_nn.GRU}.get(op, torch_nn.RNN)
    options = {"nonlinearity": op.removeprefix("rnn_")} if op.startswith("rnn_") else {}
    if op == "lstm":
        options["proj_size"] = 1
    weights = module(2, 2, num_layers=2, bidirectional=True, dtype=torch.float64, **options)._flat_weights
    params = [w.detach().clone().requires_grad_() for w in weights]
    h0 = torch.randn(4, 3, 1 if op == "lstm" else 2, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)
    if packed:
        x = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)  # lengths 3, 2, 1
        batch_sizes = torch.tensor([3, 2, 1])
    else:
        x = torch.randn(3, 3, 2, dtype=torch.float64, requires_grad=True)

    def fn(x, h0, c0, *params):
        hx = (h0, c0) if op == "lstm" else h0
        flags = (True, 2, 0.0, False, True)
        if packed:
            return getattr(F, op)(x, batch_sizes, hx, list(params), *flags)
        return getattr(F, op)(x, hx, list(params), *flags, False)

    assert torch.autograd.gradcheck(fn, (x, h0, c0, *params))


def test_functional_overloads_match_torch():
    """torch.lstm's two overloads, called as torch.nn.LSTM calls them, through the check cases'
    argument makers."""
    from scratchnn.checks.rnn import layer_case

    for op in ("lstm", "gru"):
        for make in (layer_case(op, num_layers=2, bidirectional=True), layer_case(op, lengths=(3, 3, 1))):
            args, _ = make(torch.Generator().manual_seed(0))
            assert_matches_torch(getattr(F, op), getattr(torch, op), *args)


def test_float32_batch_first_lstm_with_projection():
    torch.manual_seed(0)
    ours, theirs = twins("LSTM", 5, 6, num_layers=2, proj_size=3, batch_first=True, dtype=torch.float32)
    assert_same_forward_backward(ours, theirs, torch.randn(2, 7, 5), None)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name", [*MODULES, "LSTMCell", "GRUCell", "RNNCell"])
def test_low_precision_matches_torch(name, dtype):
    """Half and bfloat16 run (as torch's CPU kernels do), within those dtypes' tolerances."""
    torch.manual_seed(0)
    ours, theirs = twins(name, 3, 4, dtype=dtype)
    x = torch.randn((5, 2, 3) if name in MODULES else (2, 3), dtype=dtype)
    for a, b in zip(tensors_in(ours(x)), tensors_in(theirs(x))):
        assert_close(a, b)


@pytest.mark.parametrize("name", MODULES)
def test_empty_batch_and_non_contiguous_input(name):
    ours, theirs = twins(name, 3, 4, num_layers=2, bidirectional=True)
    empty = torch.randn(5, 0, 3, dtype=torch.float64)
    assert [t.shape for t in tensors_in(ours(empty))] == [t.shape for t in tensors_in(theirs(empty))]
    strided = torch.randn(3, 5, 4, dtype=torch.float64).transpose(0, 1)[..., :3]  # t b i, not contiguous
    assert_same_forward_backward(ours, theirs, strided)


# ---------------------------------------------------------------------------------------------
# Dropout between layers


@pytest.mark.parametrize("name", MODULES)
def test_dropout_zero_in_eval_and_one_in_training_match_torch(name):
    torch.manual_seed(0)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    ours, theirs = twins(name, 3, 4, num_layers=3, dropout=0.5)
    ours.eval(), theirs.eval()
    assert_same_forward_backward(ours, theirs, x)  # eval: no dropout
    ours, theirs = twins(name, 3, 4, num_layers=3, dropout=1.0)  # training: layers 2, 3 see zeros
    assert_same_forward_backward(ours, theirs, x)


def test_dropout_mask_statistics():
    """Layer 2 of a ReLU RNN with W_ih = I, W_hh = 0, no bias passes its (non-negative) input through,
    so the output is dropout(layer 1's output): each element 0 (with probability p) or scaled by
    1/(1 − p), independently."""
    torch.manual_seed(0)
    p, hidden = 0.3, 50
    rnn = nn.RNN(8, hidden, num_layers=2, nonlinearity="relu", bias=False, dropout=p, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l1.copy_(torch.eye(hidden))
        rnn.weight_hh_l1.zero_()
    x = torch.randn(40, 20, 8, dtype=torch.float64)
    rnn.eval()
    layer1, _ = rnn(x)
    rnn.train()
    dropped, _ = rnn(x)
    active = layer1 > 0
    kept = dropped[active] != 0
    assert_close(dropped[active][kept], layer1[active][kept] / (1 - p), "kept values")
    assert not dropped[~active].any()
    fraction = 1 - kept.double().mean().item()
    sigma = math.sqrt(p * (1 - p) / kept.numel())
    assert abs(fraction - p) < 4 * sigma, f"dropped fraction {fraction:.4f}, expected {p} ± {4 * sigma:.4f}"
    again, _ = rnn(x)
    assert (again[active] != 0).ne(kept).any()  # a new mask every call


def test_dropout_with_one_layer_warns_as_torch():
    message = (
        r"LSTM: dropout option adds dropout after all but last recurrent layer.*dropout=0.5 and num_layers=1"
    )
    with pytest.warns(UserWarning, match=message) as record:
        nn.LSTM(3, 4, dropout=0.5)
    assert record[0].filename == __file__  # reported at the caller's line
    with pytest.warns(UserWarning, match="dropout option adds dropout"):
        torch_nn.LSTM(3, 4, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.LSTM(3, 4, num_layers=2, dropout=0.5)


# ---------------------------------------------------------------------------------------------
# Construction: parameters, init, repr, state_dicts, all_weights


MODULE_OPTIONS = [
    ("LSTM", (3, 4), {}),
    ("LSTM", (3, 4, 2), {"bidirectional": True, "proj_size": 2, "bias": False}),
    ("LSTM", (3, 5), {"num_layers": 3, "batch_first": True, "dropout": 0.25}),
    ("GRU", (3, 4), {"num_layers": 2, "bidirectional": True}),
    ("RNN", (3, 4, 2, "relu"), {"bias": False}),
    ("RNN", (3, 4), {"nonlinearity": "tanh", "bidirectional": True}),
    ("LSTMCell", (3, 4), {}),
    ("GRUCell", (3, 4), {"bias": False}),
    ("RNNCell", (3, 4), {"nonlinearity": "relu"}),
    ("RNNCell", (3, 4, False, "tanh"), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), MODULE_OPTIONS)
def test_construction_matches_torch(name, args, kwargs):
    torch.manual_seed(0)
    theirs = getattr(torch_nn, name)(*args, **kwargs)
    torch.manual_seed(0)
    ours = getattr(nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key in theirs_state:  # same shapes and, from the same seed, the same uniform(±1/√h) draws
        assert_close(ours_state[key], theirs_state[key], key, rtol=0, atol=0)
    bound = 1 / math.sqrt(ours.hidden_size)
    assert all(float(p.detach().abs().max()) <= bound for p in ours.parameters())
    if name.endswith("Cell"):
        assert (ours.bias_ih is None) == (theirs.bias_ih is None)
        return
    assert ours._flat_weights_names == theirs._flat_weights_names
    assert ours._all_weights == theirs._all_weights
    assert [[tuple(w.shape) for w in ws] for ws in ours.all_weights] == [
        [tuple(w.shape) for w in ws] for ws in theirs.all_weights
    ]
    for key in ("mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout"):
        assert getattr(ours, key) == getattr(theirs, key), key


@pytest.mark.parametrize(("name", "args", "kwargs"), MODULE_OPTIONS)
def test_state_dict_loads_both_ways(name, args, kwargs):
    theirs, ours = getattr(torch_nn, name)(*args, **kwargs), getattr(nn, name)(*args, **kwargs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(5, 2, 3) if not name.endswith("Cell") else torch.randn(2, 3)
    ours.eval(), theirs.eval()
    assert_close(tensors_in(ours(x))[0], tensors_in(theirs(x))[0])
    other = getattr(nn, name)(*args, **kwargs)
    theirs.load_state_dict(other.state_dict(), strict=True)
    other.eval()
    assert_close(tensors_in(other(x))[0], tensors_in(theirs(x))[0])


def test_flat_weights_follow_to_assignment_and_functional_call():
    lstm = nn.LSTM(3, 4, num_layers=2).double()
    assert all(w.dtype == torch.float64 for w in lstm._flat_weights)
    assert all(a is b for a, b in zip(lstm._flat_weights, lstm.parameters()))
    replacement = torch.nn.Parameter(torch.zeros(16, 3, dtype=torch.float64))
    lstm.weight_ih_l0 = replacement
    assert lstm._flat_weights[0] is replacement
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    weights = {name: torch.zeros_like(p) for name, p in lstm.named_parameters()}
    out, (_, c) = torch.func.functional_call(lstm, weights, (x,))
    assert not out.any() and not c.any()  # all-zero weights: every gate 0.5, candidate 0
    out, _ = lstm(x)
    assert out.any()  # back to its own weights


def test_deepcopy_and_pickle():
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    x = torch.randn(5, 2, 3)
    expected, _ = gru(x)
    for clone in (copy.deepcopy(gru), pickle.loads(pickle.dumps(gru))):
        assert_close(clone(x)[0], expected)
        assert clone._flat_weights[0] is clone.weight_ih_l0


def test_unbatched_cells_match_torch():
    for name in ("LSTMCell", "GRUCell", "RNNCell"):
        ours, theirs = twins(name, 3, 4)
        x = torch.randn(3, dtype=torch.float64)
        hx = (
            (torch.randn(4, dtype=torch.float64),) * 2
            if name == "LSTMCell"
            else torch.randn(4, dtype=torch.float64)
        )
        for state in (None, hx):
            assert_matches_torch(ours, theirs, x, state)


# ---------------------------------------------------------------------------------------------
# Errors


CONSTRUCTOR_ERRORS = [
    ("LSTM", (3, 4), {"dropout": 1.5}, ValueError, r"LSTM: dropout should be a number in range \[0, 1\]"),
    ("LSTM", (3, 4), {"dropout": True}, ValueError, r"LSTM: dropout should be a number .*got dropout=True"),
    ("GRU", (3, 4), {"bias": 1}, TypeError, r"GRU: bias should be of type bool, got: int"),
    ("GRU", (3, 4), {"batch_first": 0}, TypeError, r"GRU: batch_first should be of type bool, got: int"),
    ("LSTM", (3.0, 4), {}, TypeError, r"LSTM: input_size should be of type int, got: float"),
    ("LSTM", (3, 4.0), {}, TypeError, r"LSTM: hidden_size should be of type int, got: float"),
    ("LSTM", (3, 4, 2.0), {}, TypeError, r"LSTM: num_layers should be of type int, got: float"),
    ("LSTM", (0, 4), {}, ValueError, r"LSTM: input_size must be greater than zero, got input_size=0"),
    ("RNN", (3, 0), {}, ValueError, r"RNN: hidden_size must be greater than zero, got hidden_size=0"),
    ("RNN", (3, 4, 0), {}, ValueError, r"RNN: num_layers must be greater than zero, got num_layers=0"),
    ("LSTM", (3, 4), {"proj_size": -1}, ValueError, r"LSTM: proj_size should be a positive integer or zero"),
    ("LSTM", (3, 4), {"proj_size": 4}, ValueError, r"LSTM: proj_size has to be smaller than hidden_size"),
    ("GRU", (3, 4), {"proj_size": 2}, ValueError, r"GRU: proj_size argument is only supported for LSTM"),
    ("RNN", (3, 4), {"proj_size": 2}, ValueError, r"RNN: proj_size argument is only supported for LSTM"),
    ("RNN", (3, 4), {"nonlinearity": "gelu"}, ValueError, r"RNN: Unknown nonlinearity 'gelu'\. Select from"),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "error", "match"), CONSTRUCTOR_ERRORS)
def test_constructor_errors(name, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        getattr(nn, name)(*args, **kwargs)
    with pytest.raises(error):
        getattr(torch_nn, name)(*args, **kwargs)


def test_rnn_base_rejects_unknown_mode():
    with pytest.raises(ValueError, match=r"RNN: Unrecognized RNN mode: SRU"):
        nn.RNNBase("SRU", 3, 4)
    with pytest.raises(ValueError):
        torch_nn.RNNBase("SRU", 3, 4)


def _forward_errors():
    lstm, gru = (3, 4), (3, 4)
    return [
        (
            "LSTM",
            lstm,
            (torch.randn(5, 2, 6),),
            RuntimeError,
            r"LSTM: input.size\(-1\) must be equal to input_size. Expected 3, got 6",
        ),
        (
            "GRU",
            gru,
            (torch.randn(5, 2, 3, 1),),
            ValueError,
            r"GRU: Expected input to be 2D or 3D, got 4D tensor instead",
        ),
        (
            "LSTM",
            lstm,
            (torch.randn(5, 2, 3), (torch.zeros(1, 2, 5), torch.zeros(1, 2, 4))),
            RuntimeError,
            r"LSTM: Expected hidden\[0\] size \(1, 2, 4\), got \[1, 2, 5\]",
        ),
        (
            "LSTM",
            lstm,
            (torch.randn(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 5))),
            RuntimeError,
            r"LSTM: Expected hidden\[1\] size \(1, 2, 4\), got \[1, 2, 5\]",
        ),
        (
            "LSTM",
            lstm,
            (torch.randn(5, 2, 3), (torch.zeros(2, 4), torch.zeros(2, 4))),
            RuntimeError,
            r"LSTM: For batched 3-D input, hx and cx should also be 3-D but got \(2-D, 2-D\) tensors",
        ),
        (
            "LSTM",
            lstm,
            (torch.randn(5, 3), (torch.zeros(1, 1, 4), torch.zeros(1, 4))),
            RuntimeError,
            r"LSTM: For unbatched 2-D input, hx and cx should also be 2-D but got \(3-D, 2-D\) tensors",
        ),
        (
            "GRU",
            gru,
            (torch.randn(5, 3), torch.zeros(1, 2, 4)),
            RuntimeError,
            r"GRU: For unbatched 2-D input, hx should also be 2-D but got 3-D tensor",
        ),
        (
            "RNN",
            gru,
            (torch.randn(5, 2, 3), torch.zeros(2, 4)),
            RuntimeError,
            r"RNN: For batched 3-D input, hx should also be 3-D but got 2-D tensor",
        ),
        (
            "RNN",
            gru,
            (torch.randn(5, 2, 3), torch.zeros(1, 3, 4)),
            RuntimeError,
            r"RNN: Expected hidden size \(1, 2, 4\), got \[1, 3, 4\]",
        ),
        (
            "RNN",
            gru,
            (pack_sequence([torch.randn(3, 3)]), torch.zeros(1, 2, 4)),
            RuntimeError,
            r"RNN: Expected hidden size \(1, 1, 4\), got \[1, 2, 4\]",
        ),
        (
            "LSTM",
            lstm,
            (torch.randn(5, 2, 3, dtype=torch.float64),),
            ValueError,
            r"LSTM: RNN input dtype \(torch.float64\) does not match weight dtype \(torch.float32\)",
        ),
        (
            "LSTM",
            lstm,
            (torch.randn(0, 2, 3),),
            RuntimeError,
            r"lstm: Expected sequence length to be larger than 0 in RNN",
        ),
        (
            "LSTMCell",
            lstm,
            (torch.randn(2, 2, 3),),
            ValueError,
            r"LSTMCell: Expected input to be 1D or 2D, got 3D instead",
        ),
        (
            "LSTMCell",
            lstm,
            (torch.randn(2, 3), (torch.zeros(1, 2, 4), torch.zeros(2, 4))),
            ValueError,
            r"LSTMCell: Expected hx\[0\] to be 1D or 2D, got 3D instead",
        ),
        (
            "GRUCell",
            gru,
            (torch.randn(2, 3), torch.zeros(1, 2, 4)),
            ValueError,
            r"GRUCell: Expected hidden to be 1D or 2D, got 3D instead",
        ),
        (
            "GRUCell",
            gru,
            (torch.randn(2, 5),),
            RuntimeError,
            r"gru_cell: input has inconsistent input_size: got 5 expected 3",
        ),
        (
            "RNNCell",
            gru,
            (torch.randn(2, 3), torch.zeros(3, 4)),
            RuntimeError,
            r"rnn_tanh_cell: Input batch size 2 doesn't match hidden0 batch size 3",
        ),
    ]


@pytest.mark.parametrize(("name", "args", "inputs", "error", "match"), _forward_errors())
def test_forward_errors(name, args, inputs, error, match):
    with pytest.raises(error, match=match):
        getattr(nn, name)(*args)(*inputs)
    with pytest.raises(error):
        getattr(torch_nn, name)(*args)(*inputs)


def test_cell_unknown_nonlinearity_at_call():
    ours, theirs = nn.RNNCell(3, 4, nonlinearity="gelu"), torch_nn.RNNCell(3, 4, nonlinearity="gelu")
    with pytest.raises(RuntimeError, match=r"RNNCell: Unknown nonlinearity: gelu"):
        ours(torch.randn(2, 3))
    with pytest.raises(RuntimeError):
        theirs(torch.randn(2, 3))


def test_functional_argument_errors():
    weights = torch_nn.LSTM(3, 4)._flat_weights
    x, hx = torch.randn(5, 2, 3), (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4))
    with pytest.raises(
        RuntimeError,
        match=r"lstm: got an incorrect number of RNN parameters: 3 is no multiple of 4 "
        r"\(w_ih, w_hh, b_ih, b_hh per layer and direction\)",
    ):
        F.lstm(x, hx, weights[:3], True, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError):
        torch.lstm(x, hx, weights[:3], True, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError, match=r"lstm: input has 6 features but w_ih expects 3"):
        F.lstm(torch.randn(5, 2, 6), hx, weights, True, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError):  # float64: torch's float32 (oneDNN) kernel skips this check
        torch.lstm(
            torch.randn(5, 2, 6, dtype=torch.float64),
            tuple(h.double() for h in hx),
            [w.double() for w in weights],
            *(True, 1, 0.0, False, False, False),
        )
    with pytest.raises(RuntimeError, match=r"lstm: Expected more hidden states in stacked_rnn: num_layers=2"):
        F.lstm(x, hx, weights, True, 2, 0.0, False, False, False)
    with pytest.raises(RuntimeError):
        torch.lstm(x, hx, weights, True, 2, 0.0, False, False, False)
    with pytest.raises(IndexError, match=r"lstm: hx\[0\] has no dim 2: it is a 2-D tensor"):
        F.lstm(x, (hx[0][0], hx[1]), weights, True, 1, 0.0, False, False, False)
    with pytest.raises(IndexError):
        torch.lstm(x, (hx[0][0], hx[1]), weights, True, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError, match=r"lstm: Expected sequence length to be larger than 0 in RNN"):
        F.lstm(x[:0], hx, weights, True, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError, match=r"Expected sequence length to be larger than 0 in RNN"):
        torch.lstm(x[:0], hx, weights, True, 1, 0.0, False, False, False)


@settings(max_examples=40)
@given(
    st.sampled_from(MODULES),
    st.sampled_from([0, 1, 3, -1, 2.0]),
    st.sampled_from([0, 1, 4, 2.0]),
    st.sampled_from([1, 0, 2, 1.5]),
    st.sampled_from([0.0, 0.5, 1.5, -0.1, True]),
    st.sampled_from([0, 1, 3, 4, -1]),
    st.sampled_from([(5, 2, 3), (5, 2, 4), (5, 3), (5, 2, 3, 1)]),
)
def test_invalid_configurations_raise_like_torch(name, input_size, hidden, layers, dropout, proj, shape):
    """Random (often invalid) constructor arguments and input shapes: both raise the same exception
    type, or neither does and the outputs agree."""
    kwargs = {"dropout": dropout}
    if proj and name == "LSTM":
        kwargs["proj_size"] = proj

    def build_and_run(namespace):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(0)
            module = getattr(namespace, name)(input_size, hidden, layers, **kwargs).eval()
        torch.manual_seed(1)
        return module(torch.randn(shape))

    outcomes = []
    for namespace in (nn, torch_nn):
        try:
            outcomes.append(build_and_run(namespace))
        except Exception as exc:  # compared below
            outcomes.append(type(exc))
    ours, theirs = outcomes
    if isinstance(theirs, type):
        assert ours is theirs
        return
    assert not isinstance(ours, type), f"ours raised {ours.__name__}, torch did not"
    for a, b in zip(tensors_in(ours), tensors_in(theirs)):
        assert_close(a, b)


# ---------------------------------------------------------------------------------------------
# explain


@pytest.mark.parametrize("op", ["lstm", "gru_cell"])
def test_scratchnn_explain_runs_the_first_check_case(op, capsys):
    from scratchnn import cli

    assert cli.main(["explain", op]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"{op}(") and f"torch check: torch.{op}: max abs error" in text and " ok" in text
    assert "contract" in text and "n i, gh i -> n gh" in text  # the input projection, for all steps at once


def test_remaining_messages():
    x, (h, c), w_ih, w_hh, *_ = cell_args("lstm_cell", 2, 3, 4, False, torch.float64)
    with pytest.raises(
        RuntimeError, match=r"lstm_cell: Input batch size 2 doesn't match hidden1 batch size 1"
    ):
        F.lstm_cell(x, (h, c[None]), w_ih, w_hh)
    with pytest.raises(RuntimeError):
        torch.lstm_cell(x, (h, c[None]), w_ih, w_hh)
    with pytest.raises(
        RuntimeError, match=r"gru_cell: hidden0 has inconsistent hidden_size: got 5, expected 4"
    ):
        F.gru_cell(x, torch.zeros(2, 5, dtype=torch.float64), torch.randn(12, 3), torch.randn(12, 4))
    lstm = nn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match=r"LSTM: input must have 3 dimensions, got 2"):
        lstm.check_input(torch.randn(5, 3), None)
    with pytest.raises(RuntimeError):
        torch_nn.LSTM(3, 4).check_input(torch.randn(5, 3), None)
    with pytest.raises(RuntimeError, match=r"LSTM: input must have 2 dimensions, got 3"):
        lstm.check_input(torch.randn(5, 2, 3), torch.tensor([2] * 5))


# ---------------------------------------------------------------------------------------------
# Odd calls of the ATen-signature functions (the differential fuzzer's findings): scratchnn raises
# the exception torch raises, or returns what torch returns.


def _double(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def _cell_call(op, batch=3, input_size=4, hidden=5):
    gates = GATES[op.removesuffix("_cell")] * hidden
    x, h = _double(batch, input_size), _double(batch, hidden)
    hx = (h, _double(batch, hidden)) if op == "lstm_cell" else h
    return [x, hx, _double(gates, input_size), _double(gates, hidden), _double(gates), _double(gates)]


def _layer_call(op, steps=4, batch=3, num_layers=1, bidirectional=False, lengths=None):
    module = getattr(torch_nn, {"lstm": "LSTM", "gru": "GRU"}.get(op, "RNN"))
    kwargs = {"nonlinearity": op.removeprefix("rnn_")} if op.startswith("rnn") else {}
    params = [
        p.detach().double()
        for p in module(3, 4, num_layers, bidirectional=bidirectional, **kwargs).parameters()
    ]
    rows = batch if lengths is None else len(lengths)
    h0 = _double(num_layers * (1 + bidirectional), rows, 4)
    hx = (h0, _double(*h0.shape)) if op == "lstm" else h0
    flags = [True, num_layers, 0.0, False, bidirectional]
    if lengths is not None:
        batch_sizes = torch.tensor([sum(n > t for n in lengths) for t in range(lengths[0])])
        return [_double(sum(lengths), 3), batch_sizes, hx, params, *flags]
    return [_double(steps, batch, 3), hx, params, *flags, False]


def _set(call, index, value):
    call[index] = value
    return call


ODD_CALLS = {  # id: (op, call, error or None (torch returns), our message)
    "cell input as a list": (
        "rnn_tanh_cell",
        lambda: _set(_cell_call("rnn_tanh_cell"), 0, _double(3, 4).tolist()),
        TypeError,
        r"rnn_tanh_cell: argument 'input' \(position 1\) must be Tensor, not list",
    ),
    "lstm_cell hx holding a list": (
        "lstm_cell",
        lambda: _set(_cell_call("lstm_cell"), 1, [_double(3, 5).tolist(), _double(3, 5)]),
        TypeError,
        r"lstm_cell: argument 'hx' \(position 2\) must be tuple of Tensors, not list of Tensor, list",
    ),
    "cell bool input": (
        "gru_cell",
        lambda: _set(_cell_call("gru_cell"), 0, torch.ones(3, 4, dtype=torch.bool)),
        RuntimeError,
        r"gru_cell: expected the same dtype for input, w_ih, b_ih, but input is torch.bool",
    ),
    "cell integer bias": (
        "gru_cell",
        lambda: _set(_cell_call("gru_cell"), 4, torch.ones(15, dtype=torch.int64)),
        RuntimeError,
        r"gru_cell: expected the same dtype for input, w_ih, b_ih, but .* b_ih is torch.int64",
    ),
    "cell w_ih of one row": (
        "rnn_tanh_cell",
        lambda: _set(_cell_call("rnn_tanh_cell"), 2, _double(1, 4)),
        RuntimeError,
        r"rnn_tanh_cell: w_ih first dim must be 1 \* hidden_size = 5, but got 1",
    ),
    "cell 3-d input of one feature": (
        "gru_cell",
        lambda: _set(_cell_call("gru_cell", 1, 1, 2), 0, _double(1, 1, 1)),
        RuntimeError,
        r"gru_cell: The size of tensor a \(2\) must match the size of tensor b \(6\)",
    ),
    "cell 1-d state": (
        "gru_cell",
        lambda: _set(_cell_call("gru_cell"), 1, _double(5)),
        RuntimeError,
        r"gru_cell: Input batch size 3 doesn't match hidden0 batch size 5",
    ),
    "cell 1-d w_hh": (
        "rnn_relu_cell",
        lambda: _set(_cell_call("rnn_relu_cell"), 3, _double(5)),
        IndexError,
        r"rnn_relu_cell: w_hh has no dim 1: it is a 1-D tensor",
    ),
    "layer input as a list": (
        "gru",
        lambda: _set(_layer_call("gru"), 0, _double(4, 3, 3).tolist()),
        TypeError,
        r"gru: argument 'input' \(position 1\) must be Tensor, not list",
    ),
    "gru hx as a list": (
        "gru",
        lambda: _set(_layer_call("gru"), 1, _double(1, 3, 4).tolist()),
        TypeError,
        r"gru: argument 'hx' \(position 2\) must be Tensor, not list",
    ),
    "lstm hx as one tensor": (
        "lstm",
        lambda: _set(_layer_call("lstm"), 1, _double(1, 3, 4)),
        TypeError,
        r"lstm: argument 'hx' \(position 2\) must be tuple of Tensors, not Tensor",
    ),
    "batch_sizes as a list": (
        "lstm",
        lambda: _set(_layer_call("lstm", lengths=(3, 2)), 1, [2, 2, 1]),
        TypeError,
        r"lstm: argument 'batch_sizes' \(position 2\) must be Tensor, not list",
    ),
    "num_layers nan": (
        "rnn_tanh",
        lambda: _set(_layer_call("rnn_tanh"), 4, math.nan),
        TypeError,
        r"rnn_tanh: argument 'num_layers' \(position 5\) must be int, not float",
    ),
    "params holding a list": (
        "gru",
        lambda: _set(_layer_call("gru"), 2, [_double(12, 3).tolist(), *_layer_call("gru")[2][1:]]),
        TypeError,
        r"gru: argument 'params' \(position 3\) must be tuple of Tensors, not list",
    ),
    "an input batch of 1 broadcasts to the states'": (
        "gru",
        lambda: _set(_layer_call("gru"), 0, _double(4, 1, 3)),
        None,
        None,
    ),
    "a state batch of 1 does not broadcast": (
        "gru",
        lambda: _set(_layer_call("gru"), 1, _double(1, 1, 4)),
        RuntimeError,
        r"gru: output with shape \[1, 4\] doesn't match the broadcast shape \[3, 4\]",
    ),
    "rnn_tanh 2-d input broadcasts to every state": (
        "rnn_tanh",
        lambda: _set(_layer_call("rnn_tanh"), 0, _double(4, 3)),
        None,
        None,
    ),
    "gru 2-d input": (
        "gru",
        lambda: _set(_layer_call("gru"), 0, _double(4, 3)),
        IndexError,
        r"gru: Dimension out of range",
    ),
    "no states": (
        "gru",
        lambda: _set(_layer_call("gru"), 1, _double(0, 3, 4)),
        RuntimeError,
        r"gru: Expected more hidden states in stacked_rnn: num_layers=1 × 1 directions, got 0",
    ),
    "one state for two directions": (
        "gru",
        lambda: _set(_layer_call("gru", bidirectional=True), 1, _double(1, 3, 4)),
        RuntimeError,
        r"gru: Odd number of params or hiddens given to a bidirectional RNN: 1 states, 2 weight groups",
    ),
    "int32 batch_sizes": (
        "rnn_relu",
        lambda: (call := _layer_call("rnn_relu", lengths=(3, 1))) and _set(call, 1, call[1].int()),
        RuntimeError,
        r"rnn_relu: expected batch_sizes of dtype torch.int64, got torch.int32",
    ),
    "0-d batch_sizes": (
        "gru",
        lambda: _set(_layer_call("gru", lengths=(3, 1)), 1, torch.tensor(4)),
        IndexError,
        r"gru: batch_sizes has no dim 0: it is a 0-D tensor",
    ),
    "dropout 1.5 between layers": (
        "lstm",
        lambda: _set(_set(_layer_call("lstm", num_layers=2), 5, 1.5), 6, True),
        RuntimeError,
        r"lstm: dropout probability has to be between 0 and 1, but got 1.5",
    ),
    "no layers": (
        "lstm",
        lambda: _set(_set(_set(_layer_call("lstm"), 1, (_double(0, 3, 4), _double(0, 3, 4))), 2, []), 4, 0),
        RuntimeError,
        r"lstm: num_layers=0 leaves no final state to stack",
    ),
    "layer integer b_ih": (
        "lstm",
        lambda: (
            (call := _layer_call("lstm")) and _set(call, 2, [*call[2][:2], call[2][2].long(), call[2][3]])
        ),
        RuntimeError,
        r"lstm: expected the same dtype for input, w_ih, b_ih, but .* b_ih is torch.int64",
    ),
    "packed, 1-d w_ih": (
        "gru",
        lambda: (call := _layer_call("gru", lengths=(3, 2))) and _set(call, 3, [call[3][0][0], *call[3][1:]]),
        RuntimeError,
        r"gru: the input projection needs a >= 1-D input and a 2-D w_ih",
    ),
    "batch_first 1-d input": (
        "rnn_tanh",
        lambda: _set(_set(_layer_call("rnn_tanh"), 0, _double(3)), 8, True),
        IndexError,
        r"rnn_tanh: input has no dim 1: it is a 1-D tensor",
    ),
    "packed, a state batch of 1": (
        "lstm",
        lambda: _set(_layer_call("lstm", lengths=(3, 2)), 2, (_double(1, 1, 4), _double(1, 1, 4))),
        RuntimeError,
        r"lstm: The expanded size of the tensor \(1\) must match the existing size \(2\)",
    ),
}


@pytest.mark.parametrize("case", ODD_CALLS)
def test_odd_calls_raise_or_return_like_torch(case):
    op, make, error, match = ODD_CALLS[case]
    torch.manual_seed(0)
    call = make()
    if error is None:
        ours, theirs = getattr(F, op)(*call), getattr(torch, op)(*call)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_close(a, b)
        return
    with pytest.raises(error, match=match):
        getattr(F, op)(*call)
    with pytest.raises(error):
        getattr(torch, op)(*call)


def test_an_empty_batch_sizes_is_a_runtime_error():  # torch reads batch_sizes[0] anyway (and may crash)
    call = _set(_layer_call("gru", lengths=(3, 1)), 1, torch.zeros(0, dtype=torch.int64))
    with pytest.raises(RuntimeError, match=r"gru: batch_sizes must be a non-empty 1-D tensor"):
        F.gru(*call)


def test_the_fuzzer_copies_a_packed_sequence_as_one():
    from scratchnn._comparison import leaves

    packed = pack_sequence([torch.randn(3, 2), torch.randn(1, 2)])
    copied = leaves((packed,), grad=True)[0]
    assert isinstance(copied, PackedSequence) and copied.data.requires_grad
    assert torch.equal(copied.data, packed.data) and torch.equal(copied.batch_sizes, packed.batch_sizes)
    assert copied.data.data_ptr() != packed.data.data_ptr()
