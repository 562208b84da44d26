"""cosine_similarity, pairwise_distance, pdist and their modules against torch: values and
gradients (zero vectors, ties, every p), broadcasting, dtypes, errors."""

import math

import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import scratchnn.functional as F
import scratchnn.nn as nn
from helpers import assert_close, assert_matches_torch

f64 = torch.float64
P_VALUES = [2.0, 1.0, 0.0, 3.0, 1.5, 0.5, math.inf, -math.inf, -1.0]


@st.composite
def broadcastable(draw, min_rank=1):
    shape = draw(st.lists(st.integers(1, 4), min_size=min_rank, max_size=3))
    other = [draw(st.sampled_from([size, 1])) for size in shape]
    other = other[draw(st.integers(0, len(other) - 1)) :] if other else other  # fewer leading dims
    return shape, other


@given(broadcastable(), st.data(), st.sampled_from([f64, torch.float32]), st.sampled_from([1e-8, 0.5]))
def test_cosine_similarity_matches_torch(shapes, data, dtype, eps):
    shape1, shape2 = shapes
    dim = data.draw(st.integers(-len(shape1), len(shape1) - 1))
    x1, x2 = torch.randn(shape1, dtype=dtype), torch.randn(shape2, dtype=dtype)
    if data.draw(st.booleans()):
        x1.view(-1)[: x1.numel() // 2] = 0  # zero vectors: the clamped norm
    assert_matches_torch(F.cosine_similarity, torch_F.cosine_similarity, x1, x2, dim, eps)


def test_cosine_similarity_clamps_each_norm_and_differentiates_the_unclamped_norm():
    tiny = torch.tensor([[1e-9, 2e-9, 0.0], [0.0, 0.0, 0.0]], dtype=f64)
    other = torch.tensor([[3.0, -1.0, 2.0], [1.0, 1.0, 1.0]], dtype=f64)
    out = assert_matches_torch(F.cosine_similarity, torch_F.cosine_similarity, tiny, other)
    # max(‖x1‖, eps) · max(‖x2‖, eps), not max(‖x1‖ · ‖x2‖, eps) as torch's docs write it
    assert_close(out[0], (tiny[0] * other[0]).sum() / (1e-8 * other[0].norm()))


@pytest.mark.parametrize(
    ("x1", "x2", "dim"),
    [((), (), 0), ((3,), (3,), 0), ((2, 3, 1), (3, 4), 1), ((0, 3), (0, 3), 1), ((2, 0), (2, 0), 1)],
    ids=["scalars", "vectors", "broadcast", "empty-batch", "empty-dim"],
)
def test_cosine_similarity_shapes(x1, x2, dim):
    assert_matches_torch(
        F.cosine_similarity, torch_F.cosine_similarity, torch.randn(x1), torch.randn(x2), dim
    )


def test_cosine_similarity_dtypes():
    a, b = torch.randn(2, 3), torch.randn(2, 3, dtype=f64)
    assert_matches_torch(F.cosine_similarity, torch_F.cosine_similarity, a, b)  # promoted to float64


def test_cosine_similarity_gradcheck():
    x1 = torch.randn(3, 4, dtype=f64, requires_grad=True)
    x2 = torch.randn(3, 4, dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: F.cosine_similarity(a, b, 1), (x1, x2))


@given(
    broadcastable(min_rank=0),
    st.sampled_from(P_VALUES),
    st.sampled_from([1e-6, 0.0, 0.3]),
    st.booleans(),
    st.sampled_from([f64, torch.float32]),
)
def test_pairwise_distance_matches_torch(shapes, p, eps, keepdim, dtype):
    shape1, shape2 = shapes
    x1, x2 = torch.randn(shape1, dtype=dtype), torch.randn(shape2, dtype=dtype)
    if eps == 0 and p < 1:  # |0|^p: torch's gradient is inf/NaN where a difference vanishes
        x2 = x2 + 10
    assert_matches_torch(F.pairwise_distance, torch_F.pairwise_distance, x1, x2, p, eps, keepdim)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf])
def test_pairwise_distance_at_zero_distance_has_torchs_gradient(p):
    x = torch.randn(3, 4, dtype=f64)
    assert_matches_torch(F.pairwise_distance, torch_F.pairwise_distance, x, x.clone(), p, 0.0)


def test_pairwise_distance_integers_become_floats():
    a, b = torch.tensor([[1, 2], [0, 0]]), torch.tensor([[4, 6], [0, 1]])
    assert_matches_torch(F.pairwise_distance, torch_F.pairwise_distance, a, b, grad=False)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 1.5])
def test_pairwise_distance_gradcheck(p):
    x1 = torch.randn(3, 4, dtype=f64, requires_grad=True)
    x2 = torch.randn(3, 4, dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: F.pairwise_distance(a, b, p), (x1, x2))


@st.composite
def rows(draw):
    n, d = draw(st.integers(1, 5)), draw(st.integers(0, 3))  # n = 0: torch's backward crashes (0, d)
    x = torch.randn(n, d, dtype=f64)
    if n >= 2 and draw(st.booleans()):
        x[1] = x[0]  # a zero distance
    if n >= 3 and d >= 2 and draw(st.booleans()):
        x[2] = x[0] + torch.tensor([1.0, -1.0] + [0.5] * (d - 2), dtype=f64)  # a tie for p = ∞
    return x


@given(rows(), st.sampled_from([p for p in P_VALUES if p >= 0]), st.sampled_from([f64, torch.float32]))
def test_pdist_matches_torch(x, p, dtype):
    if p < 1 and len(x) >= 2:
        x = x + torch.arange(x.numel(), dtype=f64).view(x.shape)  # no vanishing difference: |0|^(p−1)
    assert_matches_torch(F.pdist, torch_F.pdist, x.to(dtype), p)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 1.5, math.inf, 0.0])
def test_pdist_at_zero_distance_and_ties_has_torchs_gradient(p):
    x = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, -1.0, 0.5], [2.0, 1.0, 2.0]], dtype=f64)
    assert_matches_torch(F.pdist, torch_F.pdist, x, p)


def test_pdist_of_no_rows():
    assert_matches_torch(F.pdist, torch_F.pdist, torch.randn(0, 3, dtype=f64), grad=False)


def test_pdist_order_and_gradcheck():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [0.0, 1.0]], dtype=f64)
    assert_close(F.pdist(x), torch.tensor([5.0, 10.0, 1.0, 5.0, 3 * math.sqrt(2), math.sqrt(85)], dtype=f64))
    leaf = torch.randn(4, 3, dtype=f64, requires_grad=True)
    assert torch.autograd.gradcheck(F.pdist, (leaf,))


def test_distance_errors_match_torch():
    ints, floats = torch.tensor([[1, 2]]), torch.randn(2, 3)
    with pytest.raises(RuntimeError, match="expected common dtype to be floating point"):
        torch_F.cosine_similarity(ints, ints)
    with pytest.raises(
        RuntimeError,
        match=r"^cosine_similarity: expected common dtype to be floating point, yet common dtype is",
    ):
        F.cosine_similarity(ints, ints)
    for name in ("cosine_similarity", "pairwise_distance"):
        with pytest.raises(RuntimeError):
            getattr(torch_F, name)(floats, torch.randn(2, 4))
        with pytest.raises(RuntimeError, match=rf"^{name}: x1 and x2 must be broadcastable to one shape"):
            getattr(F, name)(floats, torch.randn(2, 4))
    with pytest.raises(IndexError):
        torch_F.cosine_similarity(floats, floats, dim=2)
    with pytest.raises(IndexError, match=r"^cosine_similarity: dim out of range"):
        F.cosine_similarity(floats, floats, dim=2)
    bools = torch.tensor([True])
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool tensors"):
        torch_F.pairwise_distance(bools, bools)
    with pytest.raises(
        RuntimeError, match=r"^pairwise_distance: Subtraction, the `-` operator, with two bool"
    ):
        F.pairwise_distance(bools, bools)
    cases = [
        (torch.randn(3), 2.0, RuntimeError, r"^pdist: pdist only supports 2D tensors, got: 1D"),
        (ints, 2.0, RuntimeError, r"^pdist: pdist only supports floating-point dtypes"),
        (floats.half(), 2.0, NotImplementedError, r"^pdist: not implemented for torch\.float16"),
        (floats, -1.0, RuntimeError, r"^pdist: pdist only supports non-negative p values"),
    ]
    for x, p, error, message in cases:
        with pytest.raises(error):
            torch_F.pdist(x, p)
        with pytest.raises(error, match=message):
            F.pdist(x, p)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("CosineSimilarity", {}),
        ("CosineSimilarity", {"dim": 0, "eps": 1e-3}),
        ("PairwiseDistance", {}),
        ("PairwiseDistance", {"p": 1.0, "eps": 1e-3, "keepdim": True}),
    ],
)
def test_modules_match_torch(name, kwargs):
    ours, reference = getattr(nn, name)(**kwargs), getattr(torch_nn, name)(**kwargs)
    assert repr(ours) == repr(reference)
    for attribute in ("dim", "eps", "norm", "keepdim"):
        assert getattr(ours, attribute, None) == getattr(reference, attribute, None), attribute
    x1, x2 = torch.randn(3, 4, dtype=f64), torch.randn(3, 4, dtype=f64)
    assert_matches_torch(ours, reference, x1, x2)
    assert ours.state_dict() == {} == reference.state_dict()
    ours.load_state_dict(reference.state_dict(), strict=True)
    reference.load_state_dict(ours.state_dict(), strict=True)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_reduced_precision_accumulates_the_norms_like_torch(dtype):
    a, b = torch.randn(4, 50).to(dtype), torch.randn(4, 50).to(dtype)
    assert_matches_torch(F.cosine_similarity, torch_F.cosine_similarity, a, b, grad=False)
    for p in (2.0, 1.0, 3.0, math.inf):
        assert_matches_torch(F.pairwise_distance, torch_F.pairwise_distance, a, b, p, grad=False)


@given(
    st.lists(st.integers(0, 3), min_size=0, max_size=3),
    st.sampled_from([2.0, 1.0, -1.0, math.inf]),
    st.sampled_from([f64, torch.float32, torch.float16, torch.int64]),
)
def test_pdist_valid_and_invalid_inputs_behave_like_torch(shape, p, dtype):
    x = torch.randn(shape).to(dtype) if dtype.is_floating_point else torch.randint(0, 3, shape)
    try:
        expected = torch_F.pdist(x, p)
    except Exception as error:  # invalid: both raise the same type, ours naming the op
        with pytest.raises(type(error), match=r"^pdist: "):
            F.pdist(x, p)
        return
    assert_close(F.pdist(x, p), expected)


@given(
    st.lists(st.integers(1, 3), min_size=0, max_size=3),
    st.lists(st.integers(1, 3), min_size=0, max_size=3),
    st.integers(-4, 3),
    st.sampled_from([f64, torch.int64]),
)
def test_cosine_similarity_valid_and_invalid_inputs_behave_like_torch(shape1, shape2, dim, dtype):
    x1, x2 = torch.randn(shape1).to(dtype), torch.randn(shape2).to(dtype)
    try:
        expected = torch_F.cosine_similarity(x1, x2, dim)
    except Exception as error:
        with pytest.raises(type(error), match=r"^cosine_similarity: "):
            F.cosine_similarity(x1, x2, dim)
        return
    assert_close(F.cosine_similarity(x1, x2, dim), expected)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool])
def test_cosine_similarity_casts_an_integer_operand_before_its_norm(dtype):
    x1 = torch.randn(3, 5, dtype=torch.float64)
    x2 = (torch.randn(3, 5, dtype=torch.float64) * 3).to(dtype)
    assert_close(F.cosine_similarity(x1, x2, eps=0.5), torch_F.cosine_similarity(x1, x2, eps=0.5))
    assert_close(F.cosine_similarity(x2, x1.float()), torch_F.cosine_similarity(x2, x1.float()))
    with pytest.raises(RuntimeError, match=r"^cosine_similarity: expected common dtype to be floating"):
        F.cosine_similarity(x2, x2)


@pytest.mark.parametrize("eps", [-1.0, math.nan])
def test_cosine_similarity_refuses_a_negative_or_nan_eps(eps):
    x = torch.randn(3, 4)
    with pytest.raises(RuntimeError):
        torch_F.cosine_similarity(x, x, eps=eps)
    with pytest.raises(RuntimeError, match=r"^cosine_similarity: eps must be non-negative"):
        F.cosine_similarity(x, x, eps=eps)


def test_pdist_refuses_a_nan_p():
    with pytest.raises(RuntimeError):
        torch_F.pdist(torch.randn(4, 3), math.nan)
    with pytest.raises(RuntimeError, match=r"^pdist: pdist only supports non-negative p values"):
        F.pdist(torch.randn(4, 3), math.nan)


@pytest.mark.parametrize("p", [2.0, 1.0, math.inf])
def test_pairwise_distance_of_complex_input_is_real(p):
    x1, x2 = torch.randn(3, 4, dtype=torch.complex64), torch.randn(4, dtype=torch.float64)
    ours, theirs = F.pairwise_distance(x1, x2, p=p), torch_F.pairwise_distance(x1, x2, p=p)
    assert ours.dtype == theirs.dtype == torch.float64
    assert_close(ours, theirs)
