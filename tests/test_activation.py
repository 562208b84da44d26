"""Activations against torch: values and gradients (kinks, thresholds and overflow included),
in-place semantics, special values, module reprs and state_dicts, errors."""

import math
import warnings

import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn.functional as F
import scratchnn.nn as nn
from helpers import assert_close, assert_matches_torch
from scratchnn.functional.activation import gumbel_softmax_sample

# Elementwise activations: name → strategy of keyword arguments (torch's names and defaults).
# celu's alpha is drawn among float32 numbers: torch's celu backward rounds 1/alpha through
# float32 for every dtype (reproduced, see test_celu_gradient_uses_torchs_float32_scale).
ELEMENTWISE = {
    "relu": st.just({}),
    "relu6": st.just({}),
    "hardtanh": st.sampled_from([{}, {"min_val": -2.5, "max_val": 0.5}, {"min_val": 0.0, "max_val": 0.0}]),
    "leaky_relu": st.sampled_from([{}, {"negative_slope": 0.2}, {"negative_slope": -1.5}]),
    "elu": st.sampled_from([{}, {"alpha": 0.3}, {"alpha": 2.0}]),
    "selu": st.just({}),
    "celu": st.sampled_from([{}, {"alpha": 0.3}, {"alpha": 2.0}, {"alpha": -1.5}]),
    "gelu": st.sampled_from([{}, {"approximate": "none"}, {"approximate": "tanh"}]),
    "silu": st.just({}),
    "mish": st.just({}),
    "hardswish": st.just({}),
    "hardsigmoid": st.just({}),
    "sigmoid": st.just({}),
    "tanh": st.just({}),
    "softplus": st.sampled_from([{}, {"beta": 2.0}, {"beta": 0.5, "threshold": 3.0}, {"beta": -1.0}]),
    "logsigmoid": st.just({}),
    "softsign": st.just({}),
    "tanhshrink": st.just({}),
}
INPLACE = [
    "relu",
    "relu6",
    "hardtanh",
    "leaky_relu",
    "elu",
    "selu",
    "celu",
    "silu",
    "mish",
    "hardswish",
    "hardsigmoid",
]
# the points where a formula switches branch, and values where exp overflows
SPECIAL = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    3.0,
    -3.0,
    6.0,
    -2.5,
    0.5,
    1.5,
    20.0,
    10.0,
    40.0,
    -40.0,
    100.0,
    -100.0,
    800.0,
    -800.0,
]


def theirs(name):
    return getattr(torch_F, name) if hasattr(torch_F, name) else getattr(torch, name)


@st.composite
def tensors(draw, max_rank=3, min_rank=0):
    shape = draw(st.lists(st.integers(1, 4), min_size=min_rank, max_size=max_rank))
    count = math.prod(shape)
    values = draw(
        st.lists(
            st.one_of(st.sampled_from(SPECIAL), st.floats(-60, 60, allow_nan=False)),
            min_size=count,
            max_size=count,
        )
    )
    return torch.tensor(values, dtype=torch.float64).reshape(shape)


@given(
    st.sampled_from(sorted(ELEMENTWISE)),
    st.data(),
    tensors(),
    st.sampled_from([torch.float64, torch.float32]),
)
def test_elementwise_matches_torch(name, data, x, dtype):
    kwargs = data.draw(ELEMENTWISE[name])
    x = x.to(dtype)
    if dtype == torch.float32:
        x = x.clamp(-80, 80)  # float32's exp overflows at 88: the inf side is tested in float64
    assert_matches_torch(getattr(F, name), theirs(name), x, **kwargs)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_gradcheck(name):
    x = torch.tensor([-4.1, -2.2, -0.7, 0.3, 1.1, 2.9, 5.3], dtype=torch.float64, requires_grad=True)
    kwargs = {"min_val": -2.5, "max_val": 1.5} if name == "hardtanh" else {}
    assert torch.autograd.gradcheck(lambda x: getattr(F, name)(x, **kwargs), (x,))


SMOOTH = [
    "elu",
    "selu",
    "celu",
    "gelu",
    "silu",
    "mish",
    "sigmoid",
    "tanh",
    "softplus",
    "logsigmoid",
    "tanhshrink",
]


@pytest.mark.parametrize("name", SMOOTH)
def test_gradgradcheck(name):
    x = torch.tensor([-4.1, -0.7, 0.3, 2.9], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(getattr(F, name), (x,))


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_special_values_match_torch(name):
    x = torch.tensor([-math.inf, math.inf, math.nan, -0.0, 0.0, -800.0, 800.0, -4.0], dtype=torch.float64)
    ours, expected = getattr(F, name)(x), theirs(name)(x)
    torch.testing.assert_close(ours, expected, equal_nan=True, rtol=1e-12, atol=1e-300)


@given(st.sampled_from(INPLACE), st.data(), tensors(min_rank=1))
def test_inplace_writes_into_input_and_keeps_gradients(name, data, x):
    kwargs = data.draw(ELEMENTWISE[name])
    if kwargs.get("negative_slope", 0) < 0 or kwargs.get("alpha", 0) < 0:
        kwargs = {}  # torch refuses that backward: test_inplace_with_negative_slope_refuses_backward
    runs = []
    for fn in (getattr(F, name), theirs(name)):
        leaf = x.clone().requires_grad_()
        inner = leaf * 1  # a non-leaf: in-place is allowed on it
        out = fn(inner, inplace=True, **kwargs)
        assert out is inner
        (grad,) = torch.autograd.grad(
            out, leaf, torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)
        )
        runs.append((out.detach(), grad))
    assert_close(runs[0][0], runs[1][0], "in-place output")
    assert_close(runs[0][1], runs[1][1], "gradient through the in-place op")


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_without_autograd_modifies_the_tensor(name):
    x = torch.linspace(-5, 5, 11, dtype=torch.float64)
    y = x.clone()
    out = getattr(F, name)(y, inplace=True)
    assert out is y
    assert_close(y, theirs(name)(x))
    assert_close(x, torch.linspace(-5, 5, 11, dtype=torch.float64), "the untouched copy")


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_on_a_leaf_that_requires_grad_raises_like_torch(name):
    leaf = torch.randn(3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        theirs(name)(leaf, inplace=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        getattr(F, name)(leaf, inplace=True)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("leaky_relu", {"negative_slope": -0.5}), ("elu", {"alpha": -1.0}), ("celu", {"alpha": -2.0})],
)
def test_inplace_with_negative_slope_refuses_backward(name, kwargs):
    for fn in (theirs(name), getattr(F, name)):
        leaf = torch.randn(3, dtype=torch.float64, requires_grad=True)
        out = fn(leaf * 1, inplace=True, **kwargs)
        with pytest.raises(RuntimeError, match="backward calculation is triggered with a negative slope"):
            out.sum().backward()
    x = torch.tensor([-2.0, 1.0])
    assert_close(
        getattr(F, name)(x.clone(), inplace=True, **kwargs), theirs(name)(x, **kwargs), "the forward"
    )


def test_hardsigmoid_gradient_uses_torchs_float32_slope():
    x = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(F.hardsigmoid(x), x)
    assert grad.item() == float(torch.tensor(1 / 6, dtype=torch.float32)) != 1 / 6
    assert F.hardsigmoid(x).item() == 3.5 / 6  # the value keeps the float64 slope


def test_celu_gradient_uses_torchs_float32_scale():
    x = torch.tensor([-0.5], dtype=torch.float64, requires_grad=True)
    for fn in (F.celu, torch_F.celu):
        (grad,) = torch.autograd.grad(fn(x, alpha=0.7), x)
        inverse32 = 1 / float(torch.tensor(0.7, dtype=torch.float32))
        assert grad.item() == pytest.approx(0.7 * inverse32 * math.exp(-0.5 * inverse32), rel=1e-15)


def test_elu_gradient_stays_exact_far_below_zero():
    x = torch.tensor([-50.0], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(F.elu(x), x)
    assert grad.item() == pytest.approx(math.exp(-50), rel=1e-14)  # expm1's own backward gives 0


@settings(max_examples=60)
@given(tensors(min_rank=1), st.data(), st.sampled_from([torch.float64, torch.float32]))
def test_glu_matches_torch(x, data, dtype):
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    x = torch.cat([x, x.flip(dim)], dim).to(dtype)
    if x.ndim == 1 and dim == -1:
        assert_matches_torch(F.glu, torch_F.glu, x)  # the default dim
    else:
        assert_matches_torch(F.glu, torch_F.glu, x, dim=dim)


@settings(max_examples=60)
@given(
    st.lists(st.integers(1, 4), max_size=4),
    st.sampled_from(["one", "scalar", "per channel"]),
    st.sampled_from([torch.float64, torch.float32]),
    st.integers(0, 2**16),
)
def test_prelu_matches_torch(shape, weight_kind, dtype, seed):
    torch.manual_seed(seed)
    x = torch.randn(shape, dtype=dtype)
    x.view(-1)[::3] = 0  # the kink
    channels = shape[1] if len(shape) >= 2 else 1
    weight = {"one": torch.randn(1), "scalar": torch.randn(()), "per channel": torch.randn(channels)}[
        weight_kind
    ]
    assert_matches_torch(F.prelu, torch_F.prelu, x, weight.to(dtype))


def test_prelu_gradcheck():
    x = torch.tensor([[-1.3, 0.4, 2.0], [0.7, -0.2, -3.1]], dtype=torch.float64, requires_grad=True)
    weight = torch.tensor([0.25, -0.5, 1.5], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(F.prelu, (x, weight))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: F.hardtanh(torch.zeros(2), 2.0, 1.0),
            ValueError,
            "hardtanh: min_val cannot be greater than max_val",
        ),
        (lambda: F.celu(torch.zeros(2), 0.0), RuntimeError, "alpha cannot be 0 for CELU"),
        (
            lambda: F.gelu(torch.zeros(2), approximate="erf"),
            RuntimeError,
            "approximate argument must be either none",
        ),
        (
            lambda: F.glu(torch.zeros(2, 3)),
            RuntimeError,
            "Halving dimension must be even, but dimension 1 is size 3",
        ),
        (lambda: F.glu(torch.zeros(3, 2), 0), RuntimeError, "dimension 0 is size 3"),
        (lambda: F.glu(torch.tensor(1.0)), RuntimeError, "glu does not support scalars"),
        (lambda: F.glu(torch.zeros(2, 2), 2), IndexError, r"range of \[-2, 1\], but got 2"),
        (
            lambda: F.prelu(torch.zeros(2, 3), torch.zeros(1, 3)),
            RuntimeError,
            "Expected `weight` to be a scalar or 1D",
        ),
        (
            lambda: F.prelu(torch.zeros(2, 3), torch.zeros(4)),
            RuntimeError,
            "parameter numbers = 4 and channel size = 3",
        ),
        (
            lambda: F.prelu(torch.zeros(3), torch.zeros(3)),
            RuntimeError,
            "parameter numbers = 3 and channel size = 1",
        ),
        (
            lambda: F.prelu(torch.zeros(2, 3), torch.zeros(3, dtype=torch.float64)),
            RuntimeError,
            "prelu: expected the same dtype for input, weight",
        ),
        (
            lambda: nn.Hardtanh(1.0, 1.0),
            AssertionError,
            r"max_val \(1.0\) must be greater than min_val \(1.0\)",
        ),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_errors_have_torchs_types():
    for ours, reference in [
        (
            lambda: F.gelu(torch.zeros(2), "tanh"),
            lambda: torch_F.gelu(torch.zeros(2), "tanh"),
        ),  # keyword-only
        (lambda: F.hardtanh(torch.zeros(2), 2.0, 1.0), lambda: torch_F.hardtanh(torch.zeros(2), 2.0, 1.0)),
        (lambda: F.celu(torch.zeros(2), 0.0), lambda: torch_F.celu(torch.zeros(2), 0.0)),
        (lambda: F.glu(torch.zeros(2, 3)), lambda: torch_F.glu(torch.zeros(2, 3))),
        (
            lambda: F.prelu(torch.zeros(3), torch.zeros(3)),
            lambda: torch_F.prelu(torch.zeros(3), torch.zeros(3)),
        ),
        (
            lambda: F.prelu(torch.zeros(2, 3), torch.zeros(3, dtype=torch.float64)),
            lambda: torch_F.prelu(torch.zeros(2, 3), torch.zeros(3, dtype=torch.float64)),
        ),
    ]:
        with pytest.raises(Exception) as expected:
            reference()
        with pytest.raises(expected.type):
            ours()


# torch's kernels that take integer input; the others raise NotImplementedError
INTEGER_INPUT = {"relu", "relu6", "hardtanh", "sigmoid", "tanh", "softsign", "tanhshrink"}


@pytest.mark.parametrize("name", [*sorted(set(ELEMENTWISE) - INTEGER_INPUT), "glu", "prelu"])
def test_integer_input_raises_not_implemented_like_torch(name):
    x = torch.tensor([[-3, 0, 2, 5]])
    args = (torch.tensor([1]),) if name == "prelu" else ()
    with pytest.raises(NotImplementedError):
        theirs(name)(x, *args)
    with pytest.raises(NotImplementedError, match=f"{name}: not implemented for torch.int64"):
        getattr(F, name)(x, *args)


@pytest.mark.parametrize("name", sorted(INTEGER_INPUT))
def test_integer_input_where_torch_takes_it(name):
    x = torch.tensor([[-3, -1, 0, 2, 5, 9]])
    kwargs = {"min_val": -1.5, "max_val": 2.5} if name == "hardtanh" else {}  # bounds truncate to ints
    assert_close(getattr(F, name)(x, **kwargs), theirs(name)(x, **kwargs))  # dtype too: int64 or float32


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("name", [*sorted(ELEMENTWISE), "glu"])
def test_low_precision_is_computed_in_float32_like_torch(name, dtype):
    x = (torch.randn(8, 50, generator=torch.Generator().manual_seed(0)) * 4).to(dtype)
    ours, expected = getattr(F, name)(x), theirs(name)(x)
    if name == "gelu":
        # within one ulp, or 1e-6 · max|y| in the left tail: there 1 + erf(x/√2) cancels, and torch's
        # vectorized float32 erf differs from torch.erf by an ulp, a large part of a tiny result
        assert_close(ours, expected, rtol=torch.finfo(dtype).eps, atol=1e-6)
    else:
        assert torch.equal(ours, expected)  # one rounding of the float32 result, bit for bit
    # gradients within the dtype's rounding (helpers.TOLERANCES): torch's backward of sigmoid, tanh
    # and the like reads the rounded output, ours differentiates the float32 formula
    assert_matches_torch(getattr(F, name), theirs(name), x)


MODULES = [
    ("ReLU", {}),
    ("ReLU", {"inplace": True}),
    ("ReLU6", {}),
    ("ReLU6", {"inplace": True}),
    ("Hardtanh", {}),
    ("Hardtanh", {"min_val": -2.0, "max_val": 3.0, "inplace": True}),
    ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.2, "inplace": True}),
    ("ELU", {"alpha": 0.5}),
    ("ELU", {"inplace": True}),
    ("SELU", {}),
    ("SELU", {"inplace": True}),
    ("CELU", {"alpha": 2.0, "inplace": True}),
    ("GELU", {}),
    ("GELU", {"approximate": "tanh"}),
    ("SiLU", {"inplace": True}),
    ("Mish", {}),
    ("Mish", {"inplace": True}),
    ("Hardswish", {"inplace": True}),
    ("Hardsigmoid", {"inplace": True}),
    ("Sigmoid", {}),
    ("Tanh", {}),
    ("Softplus", {"beta": 2.0, "threshold": 10.0}),
    ("GLU", {"dim": 1}),
    ("LogSigmoid", {}),
    ("Softsign", {}),
    ("Tanhshrink", {}),
    ("PReLU", {}),
    ("PReLU", {"num_parameters": 4, "init": 0.1}),
    ("Threshold", {"threshold": 0.2, "value": -5.0}),
    ("Threshold", {"threshold": 0.2, "value": -5.0, "inplace": True}),
    ("Hardshrink", {}),
    ("Hardshrink", {"lambd": 1.5}),
    ("Softshrink", {"lambd": 0.25}),
]


@pytest.mark.parametrize(("name", "kwargs"), MODULES, ids=[f"{n}-{k}" for n, k in MODULES])
def test_module_matches_torch(name, kwargs):
    ours, reference = getattr(nn, name)(**kwargs), getattr(torch_nn, name)(**kwargs)
    assert repr(ours) == repr(reference)
    assert ours.extra_repr() == reference.extra_repr()
    for attribute in ("inplace", "alpha", "negative_slope", "min_val", "max_val", "beta", "threshold", "dim"):
        assert getattr(ours, attribute, None) == getattr(reference, attribute, None), attribute
    x = torch.randn(3, 4, 2, dtype=torch.float64)
    ours, reference = ours.double(), reference.double()
    leaf_a, leaf_b = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_a, out_b = ours(leaf_a * 1), reference(leaf_b * 1)
    assert_close(out_a, out_b)
    out_a.sum().backward()
    out_b.sum().backward()
    assert_close(leaf_a.grad, leaf_b.grad, "input gradient")
    for (key_a, value_a), (key_b, value_b) in zip(ours.state_dict().items(), reference.state_dict().items()):
        assert key_a == key_b
        assert_close(value_a, value_b, key_a)
    for p_a, p_b in zip(ours.parameters(), reference.parameters()):
        assert_close(p_a.grad, p_b.grad, "parameter gradient")


def test_prelu_state_dict_loads_both_ways():
    ours, reference = nn.PReLU(3, dtype=torch.float64), torch_nn.PReLU(3, dtype=torch.float64)
    reference.weight.data.uniform_()
    ours.load_state_dict(reference.state_dict(), strict=True)
    assert_close(ours.weight.data, reference.weight.data)
    ours.weight.data.uniform_()
    reference.load_state_dict(ours.state_dict(), strict=True)
    assert_close(ours.weight.data, reference.weight.data)
    assert ours.weight.dtype == torch.float64
    ours.reset_parameters()
    assert (ours.weight == 0.25).all()


def test_hardtanh_deprecated_keywords_warn_like_torch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = nn.Hardtanh(min_value=-2.0, max_value=2.0)
    assert [w.category for w in caught] == [FutureWarning, FutureWarning]
    assert (module.min_val, module.max_val) == (-2.0, 2.0)


# --- threshold, hardshrink, softshrink, rrelu, gumbel_softmax ----------------------------------

SHRINKS = {
    "threshold": st.sampled_from([{"threshold": 0.5, "value": -3.0}, {"threshold": -1.0, "value": 2.5}]),
    "hardshrink": st.sampled_from([{}, {"lambd": 1.0}, {"lambd": 0.0}, {"lambd": -1.0}]),
    "softshrink": st.sampled_from([{}, {"lambd": 1.0}, {"lambd": 0.0}]),
    "rrelu": st.sampled_from([{}, {"lower": 0.2, "upper": 0.6}, {"lower": 0.3, "upper": 0.3}]),
}
EDGES = [0.5, -0.5, 1.0, -1.0, 0.0, -0.0, 2.5, 0.3]


@given(
    st.sampled_from(sorted(SHRINKS)),
    st.data(),
    st.lists(st.one_of(st.sampled_from(EDGES), st.floats(-5, 5)), min_size=1, max_size=12),
    st.sampled_from([torch.float64, torch.float32]),
)
def test_shrinks_match_torch(name, data, values, dtype):
    kwargs = data.draw(SHRINKS[name])
    x = torch.tensor(values, dtype=dtype)
    assert_matches_torch(getattr(F, name), theirs(name), x, **kwargs)


@pytest.mark.parametrize("name", sorted(SHRINKS))
def test_shrinks_gradcheck_and_special_values(name):
    kwargs = {"threshold": 0.5, "value": 2.0} if name == "threshold" else {}
    x = torch.tensor([-2.1, -0.7, 0.2, 0.9, 1.7], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: getattr(F, name)(x, **kwargs), (x,))
    special = torch.tensor([-math.inf, math.inf, math.nan, -0.0, 0.0, 0.5, -0.5], dtype=torch.float64)
    torch.testing.assert_close(
        getattr(F, name)(special, **kwargs), theirs(name)(special, **kwargs), equal_nan=True
    )


@pytest.mark.parametrize(("name", "kwargs"), [("threshold", {"threshold": 0.0, "value": 9.0}), ("rrelu", {})])
def test_threshold_and_rrelu_in_place(name, kwargs):
    x = torch.linspace(-2, 2, 9, dtype=torch.float64)
    y = x.clone()
    assert getattr(F, name)(y, inplace=True, **kwargs) is y
    assert_close(y, theirs(name)(x, **kwargs))
    leaf = torch.randn(3, dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        getattr(F, name)(leaf, inplace=True, **kwargs)


@pytest.mark.parametrize(("value", "bound"), [(0.5, 7.5), (-0.5, 7.5), (1.9, -2.2)])
def test_threshold_on_integers_truncates_like_torch(value, bound):
    x = torch.tensor([-3, -1, 0, 1, 2, 5])
    assert_matches_torch(F.threshold, torch_F.threshold, x, value, bound, grad=False)


def test_new_activation_errors_match_torch():
    ints, floats = torch.tensor([1, -2]), torch.randn(3)
    for name in ("hardshrink", "softshrink", "rrelu"):
        with pytest.raises(NotImplementedError):
            theirs(name)(ints)
        with pytest.raises(NotImplementedError, match=rf"^{name}: not implemented for torch\.int64"):
            getattr(F, name)(ints)
    with pytest.raises(NotImplementedError):
        torch_F.threshold(torch.tensor([True]), 0, 1)
    with pytest.raises(NotImplementedError, match=r"^threshold: not implemented for torch.bool"):
        F.threshold(torch.tensor([True]), 0, 1)
    with pytest.raises(RuntimeError, match="lambda must be in range"):
        torch_F.softshrink(floats, -1.0)
    with pytest.raises(
        RuntimeError, match=r"^softshrink: lambda must be in range \[0, 3.40282e\+38\] for input dtype Float"
    ):
        F.softshrink(floats, -1.0)
    for training in (False, True):
        with pytest.raises(RuntimeError, match="Lower bound should be less than or equal to the upper bound"):
            torch_F.rrelu(floats, 0.5, 0.1, training)
        with pytest.raises(
            RuntimeError, match=r"^rrelu: Lower bound should be less than or equal to the upper"
        ):
            F.rrelu(floats, 0.5, 0.1, training)
    with pytest.raises(RuntimeError):
        torch_F.gumbel_softmax(ints)
    with pytest.raises(RuntimeError, match=r"^gumbel_softmax: logits must be floating point"):
        F.gumbel_softmax(ints)
    with pytest.raises(IndexError):
        torch_F.gumbel_softmax(floats, dim=1)
    with pytest.raises(IndexError, match=r"^gumbel_softmax: dim out of range"):
        F.gumbel_softmax(floats, dim=1)


def test_rrelu_training_draws_slopes_uniformly_and_differentiates_by_them():
    torch.manual_seed(0)
    x = -torch.rand(200_000, dtype=torch.float64) - 0.5  # all negative
    x[:10] = torch.linspace(0.1, 3, 10, dtype=torch.float64)  # and a few positive
    leaf = x.clone().requires_grad_()
    out = F.rrelu(leaf, 0.1, 0.4, training=True)
    (grad,) = torch.autograd.grad(out.sum(), leaf)
    slopes = out[10:].detach() / x[10:]
    assert_close(out[:10].detach(), x[:10], "positive inputs pass")
    assert_close(grad[:10], torch.ones(10, dtype=torch.float64), "their gradient")
    assert_close(grad[10:], slopes, "the gradient is the drawn slope")
    assert slopes.min() >= 0.1 and slopes.max() <= 0.4
    # U(0.1, 0.4): mean 0.25, variance 0.3² / 12; torch's draws have the same statistics
    reference = torch_F.rrelu(x[10:], 0.1, 0.4, training=True) / x[10:]
    for drawn in (slopes, reference):
        assert abs(drawn.mean().item() - 0.25) < 1e-3
        assert abs(drawn.var().item() - 0.09 / 12) < 1e-4
        assert abs((drawn < 0.175).double().mean().item() - 0.25) < 5e-3  # the first quarter of the range


def test_rrelu_module_eval_matches_torch_and_training_is_random():
    ours, reference = nn.RReLU(0.1, 0.3), torch_nn.RReLU(0.1, 0.3)
    assert repr(ours) == repr(reference) == "RReLU(lower=0.1, upper=0.3)"
    assert repr(nn.RReLU(inplace=True)) == repr(torch_nn.RReLU(inplace=True))
    x = torch.randn(4, 5, dtype=torch.float64)
    assert_matches_torch(ours.eval(), reference.eval(), x)
    ours.train()
    first, second = ours(x), ours(x)
    negative = x < 0
    assert not torch.equal(first[negative], second[negative])
    assert ours.state_dict() == {} == reference.state_dict()


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("dim", [-1, 0, 1])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gumbel_softmax_under_the_same_seed_is_torchs(hard, dim, dtype):
    logits = torch.randn(3, 5, 2, dtype=dtype)
    assert_matches_torch(F.gumbel_softmax, torch_F.gumbel_softmax, logits, 0.7, hard, dim=dim, seed=5)


def test_gumbel_softmax_sample_is_torchs_formula_for_given_noise():
    logits = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    gumbels = -torch.empty_like(logits).exponential_().log()
    for hard in (False, True):
        soft = torch_F.softmax((logits + gumbels) / 0.5, -1)
        index = soft.argmax(-1, keepdim=True)
        expected = torch.zeros_like(soft).scatter_(-1, index, 1.0) - soft.detach() + soft if hard else soft
        ours = gumbel_softmax_sample(logits, gumbels, 0.5, hard)
        assert_close(ours, expected)
        cotangent = torch.randn_like(ours)
        (grad_ours,) = torch.autograd.grad(ours, logits, cotangent)
        (grad_expected,) = torch.autograd.grad(expected, logits, cotangent)
        assert_close(grad_ours, grad_expected, "gradient")


def test_gumbel_softmax_hard_is_one_hot_with_the_soft_gradient():
    logits = torch.randn(50, 4, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(1)
    hard = F.gumbel_softmax(logits, tau=0.8, hard=True)
    assert ((hard == 0) | (hard == 1)).all() and (hard.sum(-1) == 1).all()
    torch.manual_seed(1)
    soft = F.gumbel_softmax(logits, tau=0.8)
    assert torch.equal(hard.argmax(-1), soft.argmax(-1))
    cotangent = torch.randn_like(hard)
    assert_close(
        torch.autograd.grad(hard, logits, cotangent)[0], torch.autograd.grad(soft, logits, cotangent)[0]
    )


def test_gumbel_softmax_statistics():
    torch.manual_seed(2)
    logits = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64).expand(100_000, 3)
    hard = F.gumbel_softmax(logits, hard=True)
    frequencies = hard.mean(0)  # argmax of logits + Gumbel noise ~ softmax(logits)
    assert_close(frequencies, torch.softmax(logits[0], 0), rtol=0, atol=5e-3)
    soft = F.gumbel_softmax(logits, tau=1e3)  # a large temperature flattens every sample
    assert_close(soft, torch.full_like(soft, 1 / 3), rtol=0, atol=1e-2)


def test_gumbel_softmax_eps_warns_like_torch():
    logits = torch.randn(2, 3)
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated and has no effect."):
        torch_F.gumbel_softmax(logits, eps=1e-3)
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated and has no effect.") as caught:
        F.gumbel_softmax(logits, eps=1e-3)
    assert caught[0].filename == __file__


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_softshrink_names_the_dtype_like_torch(dtype):
    x = torch.randn(3).to(dtype)
    with pytest.raises(RuntimeError) as expected:
        torch_F.softshrink(x, -1.0)
    with pytest.raises(RuntimeError) as caught:
        F.softshrink(x, -1.0)
    assert str(caught.value) == f"softshrink: {expected.value}"


@given(
    st.sampled_from(["softshrink", "hardshrink", "rrelu", "threshold", "gumbel_softmax"]),
    st.floats(-1, 1),
    st.floats(-1, 1),
    st.booleans(),
    st.sampled_from([torch.float64, torch.float32, torch.int64, torch.bool]),
)
def test_new_activations_on_valid_and_invalid_arguments_behave_like_torch(name, a, b, training, dtype):
    x = torch.randn(3, 2).to(dtype) if dtype.is_floating_point else torch.randint(-2, 3, (3, 2)).to(dtype)
    args = {
        "softshrink": (a,),
        "hardshrink": (a,),
        "rrelu": (a, b, training),
        "threshold": (a, b),
        "gumbel_softmax": (abs(a) + 0.1, training),
    }[name]
    try:
        torch.manual_seed(0)
        expected = theirs(name)(x, *args)
    except Exception as error:  # invalid: the same type, ours naming the op
        with pytest.raises(type(error), match=rf"^{name}: "):
            getattr(F, name)(x, *args)
        return
    torch.manual_seed(0)
    out = getattr(F, name)(x, *args)
    if name == "rrelu" and training:  # its slopes are drawn differently: their range and the rest
        assert out.shape == expected.shape and out.dtype == expected.dtype
        assert torch.equal(out[x > 0], x[x > 0])
        return
    assert_close(out, expected)
