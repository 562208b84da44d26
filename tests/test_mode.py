"""scratchnn.mode(): routing by name, argument binding, fallbacks, strict, fast paths, recursion."""

import inspect

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn
import scratchnn.functional as F
from helpers import assert_close, assert_matches_torch
from scratchnn.mode import NativeFallbackError, is_layer_op, routing_table

f64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: threads only cost waits


def under_mode(fn, strict=True):
    """``fn`` run inside ``scratchnn.mode``; the mode is kept on ``wrapped.mode``."""

    def wrapped(*args, **kwargs):
        with scratchnn.mode(strict=strict) as m:
            wrapped.mode = m
            return fn(*args, **kwargs)

    return wrapped


@pytest.fixture
def fake_op(monkeypatch):
    """Export a fake op from scratchnn.functional that records its keyword arguments."""

    def export(name, result=None):
        calls = []

        def fake(input, *args, **kwargs):
            calls.append((args, kwargs))
            return torch.full_like(input, 7.0) if result is None else result(input, *args, **kwargs)

        fake.__signature__ = inspect.signature(getattr(torch_F, name))
        monkeypatch.setattr(F, name, fake, raising=False)
        monkeypatch.setattr(F, "__all__", [*F.__all__, name])
        return calls

    return export


# --- routing ------------------------------------------------------------------------------------


def test_every_exported_op_with_a_torch_functional_namesake_is_routed():
    table = routing_table()
    routed_natives = {route.native for route in table.values()}
    names = [name for name in F.__all__ if callable(getattr(torch_F, name, None))]
    assert names, "scratchnn.functional exports no torch.nn.functional namesake"
    missing = [name for name in names if f"torch.nn.functional.{name}" not in routed_natives]
    assert not missing, f"exported but not routed from torch.nn.functional: {missing}"


@pytest.mark.parametrize(
    "native, op",
    [
        (torch.matmul, "matmul"),
        (torch.Tensor.matmul, "matmul"),
        (torch.Tensor.__matmul__, "matmul"),
        (torch.Tensor.__rmatmul__, "matmul"),
        (torch.mm, "mm"),
        (torch.Tensor.mm, "mm"),
        (torch.bmm, "bmm"),
        (torch.Tensor.bmm, "bmm"),
        (torch_F.linear, "linear"),
        (torch_F.conv2d, "conv2d"),
        (torch.conv2d, "conv2d"),
        (torch_F.pad, "pad"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_routing_table_holds_the_native_spellings(native, op):
    assert routing_table()[native].op == op


@pytest.mark.parametrize(
    "native",
    [
        torch.lstm,
        torch.gru,
        torch.rnn_tanh,
        torch.rnn_relu,
        torch.lstm_cell,
        torch.gru_cell,
        torch.rnn_tanh_cell,
        torch.rnn_relu_cell,
    ],
    ids=lambda native: native.__name__,
)
def test_recurrent_ops_are_routed(native):
    assert routing_table()[native].op == native.__name__
    assert torch._VF.lstm is torch.lstm  # what torch.nn.LSTM calls is the routed callable


RECURRENT = [
    (torch.nn.LSTM, {"num_layers": 2, "bidirectional": True, "proj_size": 2}, "lstm"),
    (torch.nn.GRU, {"batch_first": True}, "gru"),
    (torch.nn.RNN, {"nonlinearity": "relu", "num_layers": 2}, "rnn_relu"),
    (torch.nn.RNN, {}, "rnn_tanh"),
]


@pytest.mark.parametrize(("cls", "kwargs", "op"), RECURRENT, ids=[op for *_, op in RECURRENT])
@pytest.mark.parametrize("packed", [False, True], ids=["padded", "packed"])
def test_torch_recurrent_modules_run_on_scratch_ops(cls, kwargs, op, packed):
    """torch.nn.LSTM & co. call torch._VF.lstm & co., which go through __torch_function__: the mode
    serves them (both overloads) with no native fallback, with torch's values and gradients."""
    torch.manual_seed(0)
    module = cls(3, 4, dtype=f64, **kwargs)
    if packed:
        sequences = [torch.randn(n, 3, dtype=f64) for n in (2, 5, 1)]
        x = torch.nn.utils.rnn.pack_sequence(sequences, enforce_sorted=False)

        def forward(data):
            out, _ = module(
                torch.nn.utils.rnn.PackedSequence(data, x.batch_sizes, x.sorted_indices, x.unsorted_indices)
            )
            return out.data

        routed = under_mode(forward)
        assert_matches_torch(routed, forward, x.data)
    else:
        routed = under_mode(module)
        assert_matches_torch(routed, module, torch.randn(2, 5, 3, dtype=f64))
    assert routed.mode.routed == {op: 1} and not routed.mode.fallback


@pytest.mark.parametrize("cls", [torch.nn.LSTMCell, torch.nn.GRUCell, torch.nn.RNNCell])
def test_torch_recurrent_cells_run_on_scratch_ops(cls):
    torch.manual_seed(0)
    cell = cls(3, 4, dtype=f64)
    routed = under_mode(cell)
    assert_matches_torch(routed, cell, torch.randn(2, 3, dtype=f64))
    assert sum(routed.mode.routed.values()) == 1 and not routed.mode.fallback


def test_recurrent_ops_called_by_keyword_fall_back():
    weights = torch.nn.RNN(3, 4)._flat_weights
    x, h0 = torch.randn(5, 2, 3), torch.zeros(1, 2, 4)
    with scratchnn.mode() as m:
        torch.rnn_tanh(x, h0, weights, True, 1, 0.0, False, False, batch_first=False)
    assert m.fallback == {"torch.rnn_tanh": 1} and "by position" in m.reasons["torch.rnn_tanh"]


def test_a_new_export_is_routed_without_registration(fake_op):
    calls = fake_op("softmin")
    x = torch.randn(2, 3)
    with scratchnn.mode(strict=True) as m:
        out = torch_F.softmin(x, dim=1)
    assert torch.equal(out, torch.full_like(x, 7.0))
    assert m.routed == {"softmin": 1}
    assert calls == [((), {"dim": 1, "dtype": None})]  # torch passes dtype on; _stacklevel is dropped


def test_native_signatures_are_bound_by_name(fake_op):
    calls = fake_op("batch_norm")
    x, w, b, mean, var = torch.randn(4, 3), torch.randn(3), torch.randn(3), torch.zeros(3), torch.ones(3)
    with scratchnn.mode(strict=True) as m:
        torch.batch_norm(x, w, b, mean, var, True, 0.3, 1e-3, False)
    ((args, kwargs),) = calls
    assert args == ()
    assert kwargs.pop("weight") is w and kwargs.pop("bias") is b
    assert kwargs.pop("running_mean") is mean and kwargs.pop("running_var") is var
    assert kwargs == {"training": True, "momentum": 0.3, "eps": 1e-3}  # cudnn_enabled dropped
    assert m.routed == {"batch_norm": 1}


def test_train_is_read_as_training(fake_op):
    calls = fake_op("dropout")
    with scratchnn.mode(strict=True):
        torch.dropout(torch.randn(3), 0.25, False)
    assert calls == [((), {"p": 0.25, "training": False})]


@pytest.mark.parametrize(
    "call",
    [
        lambda a, b: torch.matmul(a, b),
        lambda a, b: a.matmul(b),
        lambda a, b: a @ b,
        lambda a, b: b.__rmatmul__(a),
        lambda a, b: torch.mm(a, b),
        lambda a, b: a.mm(b),
        lambda a, b: torch.bmm(a[None], b[None]),
        lambda a, b: torch_F.linear(a, b.T),
    ],
    ids=[
        "torch.matmul",
        "Tensor.matmul",
        "@",
        "__rmatmul__",
        "torch.mm",
        "Tensor.mm",
        "torch.bmm",
        "F.linear",
    ],
)
def test_matmul_spellings_match_torch_under_the_mode(call):
    a, b = torch.randn(3, 4, dtype=f64), torch.randn(4, 5, dtype=f64)
    ours = under_mode(call)
    assert_matches_torch(ours, call, a, b)
    assert sum(ours.mode.routed.values()) == 1 and not ours.mode.fallback


@settings(max_examples=25)
@given(
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(1, 3),
    st.integers(1, 2),
    st.integers(0, 2),
    st.integers(1, 2),
    st.sampled_from(["zeros", "reflect", "replicate", "circular"]),
    st.booleans(),
)
def test_torch_conv_modules_run_on_scratch_ops(groups, c_in, c_out, stride, padding, dilation, mode, bias):
    conv = torch.nn.Conv2d(
        c_in * groups,
        c_out * groups,
        3,
        stride,
        padding,
        dilation,
        groups,
        bias,
        padding_mode=mode,
        dtype=f64,
    )
    x = torch.randn(2, c_in * groups, 7, 7, dtype=f64)
    ours = under_mode(conv)
    assert_matches_torch(ours, conv, x)
    expected = {"conv2d": 1} if mode == "zeros" else {"conv2d": 1, "pad": 1}
    assert dict(ours.mode.routed) == expected


def test_float32_and_in_place_spellings():
    x = torch.randn(4, 5)
    with scratchnn.mode(strict=True) as m:
        y = x.clone().relu_()
        z = torch.relu_(x.clone())
        s = x.softmax(-1)
    assert_close(y, x.relu())
    assert_close(z, x.relu())
    assert_close(s, torch.softmax(x, -1))
    assert m.routed == {"relu": 2, "softmax": 1}


@pytest.mark.parametrize("spelling", ["Tensor.sigmoid_", "torch.tanh_", "Tensor.relu_"])
def test_in_place_spellings_write_into_the_input_with_torch_gradients(spelling):
    def op(x):
        y = x * 1.5  # a non-leaf, written in place
        owner, name = spelling.split(".")
        out = getattr(torch if owner == "torch" else torch.Tensor, name)(y)
        assert out is y
        return y * y

    ours = under_mode(op)
    assert_matches_torch(ours, op, torch.randn(4, 5, dtype=f64))
    assert sum(ours.mode.routed.values()) == 1 and not ours.mode.fallback


def test_in_place_on_a_leaf_that_requires_grad_raises_as_in_torch():
    leaf = torch.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        leaf.sigmoid_()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"), scratchnn.mode():
        leaf.sigmoid_()


# --- fallbacks and strict ----------------------------------------------------------------------


def _slow_conv3d(x: torch.Tensor) -> torch.Tensor:
    """A layer op scratchnn has no twin of: torch's internal slow 3-d convolution kernel."""
    return torch._C._nn.slow_conv3d(x, torch.ones(2, 2, 1, 1, 1), (1, 1, 1))


def test_a_layer_op_without_twin_is_a_fallback():
    x = torch.randn(1, 2, 3, 3, 3)
    with scratchnn.mode() as m:
        out = _slow_conv3d(x)
    torch.testing.assert_close(out, _slow_conv3d(x))
    assert m.fallback == {"torch._C._nn.slow_conv3d": 1}
    assert "fallback  torch._C._nn.slow_conv3d ×1  (scratchnn.functional has no such op)" in m.report()


def test_strict_raises_on_the_first_fallback():
    with pytest.raises(NativeFallbackError, match=r"torch\._C\._nn\.slow_conv3d would run natively"):
        with scratchnn.mode(strict=True):
            _slow_conv3d(torch.randn(1, 2, 3, 3, 3))


def test_strict_allows_listed_ops():
    with scratchnn.mode(strict=True, allow=("slow_conv3d",)) as m:
        _slow_conv3d(torch.randn(1, 2, 3, 3, 3) @ torch.eye(3))
    assert m.fallback == {"torch._C._nn.slow_conv3d": 1} and m.routed == {"matmul": 1}


@pytest.mark.parametrize(
    "call, op",
    [
        (lambda x, y: torch_F.cross_entropy(x, y), "cross_entropy"),
        (lambda x, y: torch.nn.CrossEntropyLoss(label_smoothing=0.1)(x, y), "cross_entropy"),
        (lambda x, y: torch_F.nll_loss(x.log_softmax(1), y), "nll_loss"),
        (lambda x, y: torch.nn.MSELoss()(x, torch.zeros_like(x)), "mse_loss"),
        (
            lambda x, y: torch_F.binary_cross_entropy_with_logits(x, torch.full_like(x, 0.3)),
            "binary_cross_entropy_with_logits",
        ),
        (
            lambda x, y: torch_F.kl_div(x.log_softmax(1), torch.full_like(x, 0.25), reduction="batchmean"),
            "kl_div",
        ),
        (lambda x, y: torch_F.ctc_loss(x.log_softmax(1)[:, None], y[None, :2], (3,), (2,)), "ctc_loss"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_losses_are_routed(call, op):
    x, y = torch.randn(3, 4, requires_grad=True), torch.tensor([1, 3, 2])
    with scratchnn.mode(strict=True) as m:
        loss = call(x, y)
    loss.backward()
    assert m.routed[op] == 1 and sum(m.fallback.values()) == 0
    expected = call(x.detach().requires_grad_(), y)
    torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize(
    "call, op",
    [
        (lambda x, y: torch.kl_div(x.log_softmax(1), torch.full_like(x, 0.25), 2), "kl_div"),
        (
            lambda x, y: torch.binary_cross_entropy_with_logits(x, torch.full_like(x, 0.3), None, None, 0),
            "binary_cross_entropy_with_logits",
        ),
        (lambda x, y: torch._C._nn.nll_loss(x.log_softmax(1), y, None, 1, -100), "nll_loss"),
        (
            lambda x, y: torch.ctc_loss(x.log_softmax(1)[:, None], y[None, :2], [3], [2], 0, 1, False),
            "ctc_loss",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_native_loss_spellings_pass_the_reduction_enum(call, op):
    """torch's native spellings take the reduction as torch's enum (0 none, 1 mean, 2 sum)."""
    x, y = torch.randn(3, 4), torch.tensor([1, 3, 2])
    with scratchnn.mode(strict=True) as m:
        loss = call(x, y)
    assert m.routed[op] == 1 and sum(m.fallback.values()) == 0
    torch.testing.assert_close(loss, call(x, y))


def test_arguments_the_scratch_op_cannot_take_fall_back_with_the_reason():
    a, out = torch.randn(2, 2), torch.empty(2, 2)
    with scratchnn.mode() as m:
        torch.mm(a, a, out=out)
    torch.testing.assert_close(out, a @ a)
    assert m.fallback == {"torch.mm": 1} and "takes no argument out" in m.reasons["torch.mm"]
    with pytest.raises(
        NativeFallbackError, match=r"torch\.mm would run natively \(scratchnn\.functional\.mm"
    ):
        with scratchnn.mode(strict=True):
            torch.mm(a, a, out=out)


def test_primitives_pass_through_uncounted_as_fallbacks():
    x = torch.randn(2, 3, 6)
    with scratchnn.mode(strict=True) as m:
        y = (x[:, :, None] * x[:, None]).sum(-1).exp().sum(-1)
        windows = x.unfold(-1, 3, 1)
        torch.cat([y, y]).amax()
    assert windows.shape == (2, 3, 4, 3)
    assert not m.routed and not m.fallback
    assert {"torch.Tensor.unfold", "torch.cat", "torch.Tensor.exp"} <= set(m.passed)


def test_tensor_products_and_user_einsum_are_routed_but_scratchs_own_einsum_passes():
    x = torch.randn(3, 3)
    with scratchnn.mode(strict=True) as m:
        torch.einsum("ij,jk->ik", x, x)
        torch.addmm(x, x, x, beta=0)
        x[0].addmv(x, x[1])
        torch.baddbmm(x, x[None], x[None])
        torch.addbmm(x, x[None], x[None])
        torch.mv(x, x[0])
        scratchnn.functional.mm(x, x)  # scratch code: its contraction's torch.einsum passes through
    assert dict(m.routed) == {"einsum": 1, "addmm": 1, "addmv": 1, "baddbmm": 1, "addbmm": 1, "mv": 1}
    assert m.passed["torch.einsum"] == 1


@pytest.mark.parametrize(
    "name, layer",
    [
        ("torch.nn.functional.conv2d", True),
        ("torch.conv2d", True),
        ("torch.Tensor.softmax", True),
        ("torch.Tensor.relu_", True),
        ("torch.addmm", True),
        ("torch.baddbmm", True),
        ("torch.nn.functional.max_pool2d_with_indices", True),
        ("torch._transformer_encoder_layer_fwd", True),
        ("torch._native_multi_head_attention", True),
        ("torch._scaled_dot_product_flash_attention", True),
        ("torch.native_layer_norm", True),
        ("torch.lstm", True),
        ("torch.Tensor.unfold", False),
        ("torch.einsum", False),
        ("torch.Tensor.add_", False),
        ("torch.cat", False),
        ("torch.Tensor.shape.__get__", False),
    ],
)
def test_what_counts_as_a_layer(name, layer):
    assert is_layer_op(name) is layer


def test_a_fused_kernel_called_in_the_mode_is_reported():
    x = torch.randn(2, 3)
    with scratchnn.mode() as m:
        torch._softmax(x, 1, False)
    assert m.fallback == {"torch._softmax": 1}


# --- fast paths ----------------------------------------------------------------------------------


@pytest.fixture
def fused_kernels_forbidden(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a fused native kernel ran")

    for name in (
        "_transformer_encoder_layer_fwd",
        "_native_multi_head_attention",
        "_nested_tensor_from_mask",
    ):
        monkeypatch.setattr(torch, name, forbidden)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_mha_fast_path_is_off_inside_and_restored_after(enabled):
    saved = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(enabled)
    try:
        with scratchnn.mode():
            assert torch.backends.mha.get_fastpath_enabled() is False
            with scratchnn.mode():
                assert torch.backends.mha.get_fastpath_enabled() is False
            assert torch.backends.mha.get_fastpath_enabled() is False
        assert torch.backends.mha.get_fastpath_enabled() is enabled
        with pytest.raises(ValueError), scratchnn.mode():
            raise ValueError
        assert torch.backends.mha.get_fastpath_enabled() is enabled
    finally:
        torch.backends.mha.set_fastpath_enabled(saved)


def _encoder():
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    return torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=True).eval()


def test_fast_path_conditions_would_take_the_fused_kernel_natively(fused_kernels_forbidden):
    """The guard's premise: outside the mode, eval + no_grad runs torch's fused kernels."""
    x, padding = torch.randn(2, 5, 8), torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    with torch.no_grad(), pytest.raises(AssertionError, match="fused native kernel"):
        _encoder()(x, src_key_padding_mask=padding)


def test_transformer_fast_paths_do_not_bypass_the_mode(fused_kernels_forbidden):
    x, padding = torch.randn(2, 5, 8), torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    encoder = _encoder()
    with torch.no_grad(), scratchnn.mode() as m:
        out = encoder(x, src_key_padding_mask=padding)
        attention = encoder.layers[0].self_attn(x, x, x, need_weights=False)[0]
    # Every attention call reached the mode: routed when scratchnn exports the op, else reported.
    attention_calls = m.routed["multi_head_attention_forward"]
    attention_calls += m.fallback["torch.nn.functional.multi_head_attention_forward"]
    assert attention_calls == 3 and m.routed["linear"] == 4
    if "multi_head_attention_forward" in F.__all__:
        assert m.routed["multi_head_attention_forward"] == 3
    assert not [name for name in m.fallback if name.rsplit(".", 1)[-1] in F.__all__]  # only ops not in F
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad():
            expected = encoder(x, src_key_padding_mask=padding)
            expected_attention = encoder.layers[0].self_attn(x, x, x, need_weights=False)[0]
    finally:
        torch.backends.mha.set_fastpath_enabled(True)
    assert_close(out, expected)
    assert_close(attention, expected_attention)


def test_sdpa_is_routed_never_run_by_a_fused_kernel():
    q, k, v = (torch.randn(2, 2, 5, 4, dtype=f64) for _ in range(3))
    if "scaled_dot_product_attention" not in F.__all__:  # then it is reported, never silent
        with (
            pytest.raises(NativeFallbackError, match="scaled_dot_product_attention"),
            scratchnn.mode(strict=True),
        ):
            torch_F.scaled_dot_product_attention(q, k, v)
        return
    ours = under_mode(lambda q, k, v: torch_F.scaled_dot_product_attention(q, k, v, is_causal=True))
    assert_matches_torch(
        ours, lambda q, k, v: torch_F.scaled_dot_product_attention(q, k, v, is_causal=True), q, k, v
    )
    assert ours.mode.routed == {"scaled_dot_product_attention": 1}


# --- recursion and scratchnn's own calls ---------------------------------------------------------


def test_a_routed_op_runs_its_own_torch_calls_natively(fake_op):
    inner = []

    def uses_routable_ops(input, dim=None, _stacklevel=3, dtype=None):
        inner.append(torch.matmul(input, input.T))  # would route to scratch matmul if the mode saw it
        return input.relu()

    fake_op("softmin", result=uses_routable_ops)
    with scratchnn.mode(strict=True) as m:
        torch_F.softmin(torch.randn(3, 3), 1)
    assert m.routed == {"softmin": 1} and inner


def test_calls_from_scratchnn_implementations_pass_through():
    namespace = {"__name__": "scratchnn.functional._fake", "torch": torch}
    exec("def inner(x):\n    return torch.relu(x) @ x", namespace)
    x = torch.randn(3, 3)
    with scratchnn.mode(strict=True) as m:
        namespace["inner"](x)
        torch.relu(x)
    assert m.routed == {"relu": 1} and {"torch.relu", "torch.Tensor.matmul"} <= set(m.passed)


def test_converted_modules_make_no_native_layer_calls():
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(16, 2)
    )
    converted, _ = scratchnn.convert(model)
    with scratchnn.mode(strict=True) as m:
        converted(torch.randn(1, 3, 4, 4))
    assert not m.routed and not m.fallback and m.passed


def test_report_and_repr():
    with scratchnn.mode() as m:
        torch.randn(2, 2) @ torch.randn(2, 2)
    assert m.report().splitlines()[:2] == [
        "scratchnn.mode: 1 call routed to scratch ops, 0 native layer calls",
        "  routed    matmul ×1",
    ]
    assert repr(m) == "ScratchMode(strict=False, routed=1, fallback=0)"


# --- every routed op is checked against torch by `scratchnn check` --------------------------------


@pytest.mark.parametrize("op", sorted({route.op for route in routing_table().values()}))
def test_every_routed_op_has_check_cases(op):
    from scratchnn.check import cases

    assert cases().get(op), f"scratchnn check has no cases for {op}, which the mode routes torch calls to"


# --- the activation, distance, shuffle and sampling ops are routed ------------------------------

PART_4 = [
    "affine_grid",
    "channel_shuffle",
    "cosine_similarity",
    "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
    "grid_sample",
    "gumbel_softmax",
    "hardshrink",
    "native_channel_shuffle",
    "one_hot",
    "pairwise_distance",
    "pdist",
    "rrelu",
    "softmin",
    "softshrink",
    "threshold",
]


@pytest.mark.parametrize("name", PART_4)
def test_the_remaining_ops_are_exported_and_routed(name):
    assert name in F.__all__
    # F.name_with_indices is routed to the op itself, with return_indices=True
    assert routing_table()[getattr(torch_F, name)].op == name.removesuffix("_with_indices")


def test_the_remaining_ops_run_routed_under_the_mode():
    x = torch.randn(2, 4, 5, 6, dtype=f64)
    grid = torch.rand(2, 3, 3, 2, dtype=f64) * 2 - 1
    theta = torch.randn(2, 2, 3, dtype=f64)
    samples = torch.rand(2, 4, 2, dtype=f64)
    calls = [
        lambda: torch_F.grid_sample(x, grid, align_corners=False),
        lambda: torch_F.affine_grid(theta, [2, 4, 5, 6], align_corners=True),
        lambda: torch.cosine_similarity(x, x.flip(0)),
        lambda: torch_F.pairwise_distance(x, x + 1, p=1.0),
        lambda: torch.pdist(x[0, 0]),
        lambda: torch_F.hardshrink(x),
        lambda: x.softshrink(0.2) if hasattr(x, "softshrink") else torch_F.softshrink(x, 0.2),
        lambda: torch.threshold(x, 0.1, 2.0),
        lambda: torch_F.rrelu(x),
        lambda: torch_F.softmin(x, 1),
        lambda: torch.channel_shuffle(x, 2),
        lambda: torch_F.one_hot(torch.tensor([0, 2, 1]), 4),
        lambda: torch_F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=samples),
    ]
    for call in calls:
        with scratchnn.mode(strict=True) as m:
            ours = call()
        assert sum(m.routed.values()) == 1 and not m.fallback, m.report()
        assert_close(ours, call())
