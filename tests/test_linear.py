"""linear, matmul, mm, bmm against torch: broadcasting, 1-D operands, both forms, errors."""

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import scratchnn
import scratchnn.functional as F
from helpers import assert_matches_torch, in_both_forms

sizes = st.integers(1, 4)


@st.composite
def matmul_shapes(draw):
    """Two operands torch.matmul accepts: 1-D or batched, batch dims broadcasting (size 1 or missing)."""
    m, n, p = draw(sizes), draw(sizes), draw(sizes)
    batch = draw(st.lists(sizes, max_size=3))
    left_rank, right_rank = draw(st.integers(1, len(batch) + 2)), draw(st.integers(1, len(batch) + 2))

    def operand(rank, matrix):  # a rank-1 operand is the vector (n,)
        if rank == 1:
            return [n]
        dims = batch[len(batch) - (rank - 2) :] if rank > 2 else []
        return [d if draw(st.booleans()) else 1 for d in dims] + matrix

    return operand(left_rank, [m, n]), operand(right_rank, [n, p])


@given(matmul_shapes(), st.sampled_from([torch.float64, torch.float32]))
def test_matmul_matches_torch(shapes, dtype):
    left, right = (torch.randn(s, dtype=dtype) for s in shapes)
    assert_matches_torch(F.matmul, torch.matmul, left, right)


@given(matmul_shapes())
def test_matmul_literal_equals_fast(shapes):
    left, right = (torch.randn(s, dtype=torch.float64) for s in shapes)
    fast, literal = in_both_forms(lambda: F.matmul(left, right), budget=64)
    torch.testing.assert_close(literal, fast, rtol=1e-12, atol=1e-12)


@given(
    st.lists(sizes, max_size=3),
    sizes,
    st.integers(0, 4),
    st.sampled_from(["none", "vector", "broadcast"]),
    st.sampled_from([torch.float64, torch.float32]),
)
def test_linear_matches_torch(leading, features, outputs, bias_kind, dtype):
    x = torch.randn(*leading, features, dtype=dtype)
    weight = torch.randn(outputs, features, dtype=dtype) if outputs else torch.randn(features, dtype=dtype)
    out_shape = (*leading, outputs) if outputs else tuple(leading)
    bias = {
        "none": None,
        "vector": torch.randn(outputs, dtype=dtype) if outputs else torch.randn((), dtype=dtype),
        "broadcast": torch.randn(out_shape[-1:] if out_shape else (), dtype=dtype),
    }[bias_kind]
    if not outputs:
        bias = None  # torch rejects a 1-D weight together with a bias ("mat2 must be a matrix")
    assert_matches_torch(F.linear, torch_F.linear, x, weight, bias)


@given(sizes, sizes, sizes, sizes)
def test_mm_and_bmm_match_torch(b, m, n, p):
    assert_matches_torch(
        F.mm, torch.mm, torch.randn(m, n, dtype=torch.float64), torch.randn(n, p, dtype=torch.float64)
    )
    assert_matches_torch(
        F.bmm, torch.bmm, torch.randn(b, m, n, dtype=torch.float64), torch.randn(b, n, p, dtype=torch.float64)
    )


@pytest.mark.parametrize("form", scratchnn.FORMS)
def test_gradcheck(form):
    a, b = (torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True) for _ in range(2))
    w = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    with scratchnn.contraction(form, budget=128):
        assert torch.autograd.gradcheck(lambda a, b: F.matmul(a, b.transpose(-1, -2)), (a, b))
        assert torch.autograd.gradcheck(lambda a, w: F.linear(a, w), (a, w))


def test_integer_dtypes_keep_their_dtype():
    a, b = torch.randint(-5, 5, (3, 4), dtype=torch.int32), torch.randint(-5, 5, (4, 2), dtype=torch.int32)
    for form in scratchnn.FORMS:
        with scratchnn.contraction(form):
            out = F.mm(a, b)
        assert out.dtype == torch.int32 and torch.equal(out, torch.mm(a, b))


a23, b34 = torch.randn(2, 3), torch.randn(3, 4)


@pytest.mark.parametrize(
    "call, theirs, match",
    [
        (
            lambda: F.mm(a23, torch.randn(4, 4)),
            lambda: torch.mm(a23, torch.randn(4, 4)),
            r"mm: shapes cannot be multiplied: n=3 on the left but n=4 on the right",
        ),
        (
            lambda: F.mm(a23[None], b34),
            lambda: torch.mm(a23[None], b34),
            r"mm: input must be 2-D, got a 3-D tensor",
        ),
        (
            lambda: F.mm(a23, b34.double()),
            lambda: torch.mm(a23, b34.double()),
            r"mm: expected the same dtype",
        ),
        (lambda: F.bmm(a23, b34), lambda: torch.bmm(a23, b34), r"bmm: input must be 3-D"),
        (
            lambda: F.bmm(torch.randn(2, 2, 3), torch.randn(3, 3, 4)),
            lambda: torch.bmm(torch.randn(2, 2, 3), torch.randn(3, 3, 4)),
            r"bmm: batch sizes differ: 2 and 3",
        ),
        (
            lambda: F.matmul(torch.tensor(1.0), b34),
            lambda: torch.matmul(torch.tensor(1.0), b34),
            r"matmul: both arguments need at least 1 dim, got 0-D and 2-D",
        ),
        (
            lambda: F.matmul(torch.randn(2, 2, 3), torch.randn(5, 3, 4)),
            lambda: torch.matmul(torch.randn(2, 2, 3), torch.randn(5, 3, 4)),
            r"matmul: batch dims do not broadcast",
        ),
        (
            lambda: F.matmul(torch.randn(3), torch.randn(4)),
            lambda: torch.matmul(torch.randn(3), torch.randn(4)),
            r"matmul: shapes cannot be multiplied",
        ),
        (
            lambda: F.linear(a23, torch.randn(5, 4)),
            lambda: torch_F.linear(a23, torch.randn(5, 4)),
            r"linear: input has 3 features but weight expects 4",
        ),
        (
            lambda: F.linear(a23, torch.randn(5, 3), torch.randn(4)),
            lambda: torch_F.linear(a23, torch.randn(5, 3), torch.randn(4)),
            r"bias of shape \(4,\) does not broadcast",
        ),
        (
            lambda: F.linear(a23, torch.randn(5, 3).double()),
            lambda: torch_F.linear(a23, torch.randn(5, 3).double()),
            r"linear: expected the same dtype",
        ),
    ],
)
def test_errors_match_torch_types(call, theirs, match):
    with pytest.raises(RuntimeError):
        theirs()
    with pytest.raises(RuntimeError, match=match):
        call()
