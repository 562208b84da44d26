"""bilinear against torch (values, gradients, both contraction forms, errors) and the Bilinear,
Identity, Flatten and Unflatten modules."""

import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn.functional as F
import scratchnn.nn as nn
from helpers import assert_close, assert_matches_torch, in_both_forms


@settings(max_examples=60)
@given(
    st.lists(st.integers(0, 3), max_size=3),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(1, 4),
    st.booleans(),
    st.sampled_from([torch.float64, torch.float32]),
    st.integers(0, 2**16),
)
def test_bilinear_matches_torch(leading, in1, in2, out, bias, dtype, seed):
    torch.manual_seed(seed)
    x1, x2 = torch.randn(*leading, in1, dtype=dtype), torch.randn(*leading, in2, dtype=dtype)
    weight = torch.randn(out, in1, in2, dtype=dtype)
    b = torch.randn(out, dtype=dtype) if bias else None
    assert_matches_torch(F.bilinear, torch_F.bilinear, x1, x2, weight, b)


def test_literal_form_equals_fast_form_and_gradcheck():
    x1, x2 = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    weight, bias = torch.randn(5, 3, 2, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    fast, literal = in_both_forms(lambda: F.bilinear(x1, x2, weight, bias), budget=64)
    assert_close(literal, fast)
    inputs = [t.clone().requires_grad_() for t in (x1, x2, weight, bias)]
    assert torch.autograd.gradcheck(F.bilinear, tuple(inputs))


ERRORS = [
    ((torch.randn(5, 3), torch.randn(1, 5, 2)), RuntimeError, "input dimensions do not match: got 2 and 3"),
    (
        (torch.randn(5, 3), torch.randn(4, 2)),
        RuntimeError,
        "batch dimensions do not match at dim 0: got 5 and 4",
    ),
    (
        (torch.randn(5, 4), torch.randn(5, 2)),
        RuntimeError,
        "input1 size does not match weight size: got 4 but exp",
    ),
    (
        (torch.randn(5, 3), torch.randn(5, 3)),
        RuntimeError,
        "input2 size does not match weight size: got 3 but exp",
    ),
    (
        (torch.randn(()), torch.randn(())),
        IndexError,
        "Dimension specified as -1 but tensor has no dimensions",
    ),
]


@pytest.mark.parametrize(("inputs", "error", "match"), ERRORS)
def test_errors_like_torch(inputs, error, match):
    weight = torch.randn(4, 3, 2)
    with pytest.raises(error):
        torch_F.bilinear(*inputs, weight)
    with pytest.raises(error, match=match):
        F.bilinear(*inputs, weight)


@pytest.mark.parametrize(("weight_shape", "error"), [((4, 3), IndexError), ((4, 3, 2, 1), RuntimeError)])
def test_weight_of_the_wrong_rank_like_torch(weight_shape, error):
    x1, x2, weight = torch.randn(5, 3), torch.randn(5, 2), torch.randn(weight_shape)
    with pytest.raises(error):
        torch_F.bilinear(x1, x2, weight)
    with pytest.raises(error, match=r"weight must be 3-D \(o, i, j\), got"):
        F.bilinear(x1, x2, weight)


def test_bias_and_dtype_errors_like_torch():
    x1, x2, weight = torch.randn(5, 3), torch.randn(5, 2), torch.randn(4, 3, 2)
    for fn in (torch_F.bilinear, F.bilinear):
        with pytest.raises(RuntimeError, match="bias size does not match weight size: got 3 but expected 4"):
            fn(x1, x2, weight, torch.randn(3))
        with pytest.raises(RuntimeError, match="All tensors must have the same dtype"):
            fn(x1.double(), x2, weight)


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_module_matches_torch(bias):
    torch.manual_seed(0)
    theirs = torch_nn.Bilinear(3, 2, 4, bias=bias, dtype=torch.float64)
    torch.manual_seed(0)
    ours = nn.Bilinear(3, 2, 4, bias=bias, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()):
        assert_close(a, b, "initialization (same seed)")
    x1, x2 = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64)
    out_ours, out_theirs = ours(x1, x2), theirs(x1, x2)
    assert_close(out_ours, out_theirs)
    out_ours.square().sum().backward()
    out_theirs.square().sum().backward()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert_close(a.grad, b.grad)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    with pytest.raises(ValueError, match=r"in1_features must be > 0, but got \(in1_features=0\)"):
        nn.Bilinear(0, 2, 3)


@pytest.mark.parametrize(
    ("name", "args", "shape"),
    [
        ("Identity", (3,), (2, 3)),
        ("Flatten", (), (2, 3, 4)),
        ("Flatten", (0, 1), (2, 3, 4)),
        ("Unflatten", (1, (2, 3)), (4, 6)),
        ("Unflatten", (-1, [3, -1]), (4, 6)),
    ],
)
def test_shape_modules_match_torch(name, args, shape):
    ours, theirs = getattr(nn, name)(*args), getattr(torch_nn, name)(*args)
    assert repr(ours) == repr(theirs)
    x = torch.randn(shape)
    assert torch.equal(ours(x), theirs(x))


def test_unflatten_argument_errors_like_torch():
    for module in (nn, torch_nn):
        with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints, but found type int"):
            module.Unflatten(1, 6)
        with pytest.raises(TypeError, match="but found element of type float at pos 1"):
            module.Unflatten(1, (2, 3.0))
