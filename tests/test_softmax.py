"""softmax / log_softmax and their modules against torch: dims, dtype=, -inf rows, implicit dim, errors."""

import pickle
import warnings

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import scratchnn.functional as F
import scratchnn.nn as snn
from helpers import TOLERANCES, assert_matches_torch
from scratchnn.functional.softmax import safe_softmax

PAIRS = [(F.softmax, torch_F.softmax), (F.log_softmax, torch_F.log_softmax), (F.softmin, torch_F.softmin)]
NAMES = ["softmax", "log_softmax", "softmin"]


@st.composite
def input_and_dim(draw):
    shape = draw(st.lists(st.integers(1, 4), max_size=4))
    dim = draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1))
    return shape, dim


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=NAMES)
@given(input_and_dim(), st.sampled_from([torch.float64, torch.float32]), st.floats(0.1, 30))
def test_matches_torch(ours, theirs, shape_dim, dtype, spread):
    shape, dim = shape_dim
    x = torch.randn(shape, dtype=dtype) * spread  # large spreads need the max-subtract
    assert_matches_torch(ours, theirs, x, dim)


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_dtype_argument_and_reduced_precision(ours, theirs, dtype):
    x = torch.randn(3, 5, dtype=torch.float64) * 4
    assert_matches_torch(ours, theirs, x.to(dtype), 1)  # half/bfloat16 computed in float32, as torch
    # cast first: computed in `dtype`, so its gradient (back in float64) has `dtype`'s precision
    tolerance = TOLERANCES[dtype]
    assert_matches_torch(ours, theirs, x, -1, dtype=dtype, rtol=tolerance, atol=tolerance)
    assert_matches_torch(ours, theirs, torch.arange(6).reshape(2, 3), 0, dtype=torch.float64, grad=False)


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=NAMES)
def test_infinities_and_extremes(ours, theirs):
    inf = float("inf")
    x = torch.tensor(
        [[-inf, -inf, -inf], [-inf, 0.0, 1.0], [inf, 0.0, 1.0], [1e4, -1e4, 0.0], [-1e30, -1e30, -1e30]],
        dtype=torch.float64,
    )
    assert_matches_torch(ours, theirs, x, 1)  # all -inf → NaN, one -inf → 0 / -inf, +inf → NaN


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=NAMES)
@pytest.mark.parametrize("shape_dim", [((0, 3), 0), ((0, 3), 1), ((), 0), ((), -1), ((2, 0, 3), 2)])
def test_empty_and_scalar(ours, theirs, shape_dim):
    shape, dim = shape_dim
    assert_matches_torch(ours, theirs, torch.randn(shape, dtype=torch.float64), dim)


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=NAMES)
@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
def test_implicit_dim_warns_like_torch(ours, theirs, ndim):
    x = torch.randn([3] * ndim, dtype=torch.float64)
    with pytest.warns(UserWarning, match="Implicit dimension choice") as record:
        out = ours(x)
    assert record[0].filename == __file__  # _stacklevel=3 points at the caller
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.testing.assert_close(out, theirs(x))


def test_safe_softmax_zeroes_fully_masked_rows_and_their_gradient():
    inf = float("inf")
    x = torch.tensor([[-inf, -inf], [0.0, -inf], [1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    out = safe_softmax(x, dim=1)
    torch.testing.assert_close(out[0], torch.zeros(2, dtype=torch.float64))
    torch.testing.assert_close(out[1:], torch.softmax(x[1:], 1))
    (grad,) = torch.autograd.grad(out, x, torch.randn(3, 2, dtype=torch.float64))
    assert grad.isfinite().all() and not grad[0].any()


def test_gradcheck():
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: F.softmax(t, 1), (x,))
    assert torch.autograd.gradgradcheck(lambda t: F.log_softmax(t, 0), (x,))


@pytest.mark.parametrize(
    ("ours", "name"), [(F.softmax, "softmax"), (F.log_softmax, "log_softmax"), (F.softmin, "softmin")]
)
def test_errors(ours, name):
    with pytest.raises(
        IndexError, match=rf"{name}: dim out of range \(expected to be in range of \[-2, 1\]\)"
    ):
        ours(torch.randn(2, 3), dim=2)
    with pytest.raises(IndexError, match=r"range of \[-1, 0\]\), got dim=1"):
        ours(torch.tensor(1.0), dim=1)
    with pytest.raises(NotImplementedError, match=rf"{name}: needs a floating-point input, got torch.int64"):
        ours(torch.arange(3), dim=0)
    with pytest.raises(NotImplementedError, match=r"got torch\.int64"):  # dtype= casts first, as torch
        ours(torch.randn(3), dim=0, dtype=torch.int64)
    with pytest.raises(TypeError, match=rf"{name}: dim must be an int, got dim='x'"):
        ours(torch.randn(3), dim="x")


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [(snn.Softmax, torch.nn.Softmax), (snn.LogSoftmax, torch.nn.LogSoftmax), (snn.Softmin, torch.nn.Softmin)],
)
def test_modules(ours, theirs):
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    assert_matches_torch(ours(dim=-1), theirs(dim=-1), x)
    assert repr(ours(dim=1)) == repr(theirs(dim=1)).replace("torch.nn.", "")
    module = ours(dim=0)
    del module.dim  # a module pickled before torch gave it a dim
    restored = pickle.loads(pickle.dumps(module))
    assert restored.dim is None
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        assert_matches_torch(ours(), theirs(), x)


def test_softmin_is_softmax_of_the_negation():
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: F.softmin(t, 1), (x,))
    assert_matches_torch(lambda t: F.softmin(t, 0), lambda t: torch_F.softmax(-t, 0), x)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 4, 5), (1, 1, 2, 2)])
def test_softmax2d_matches_torch(shape):
    x = torch.randn(shape, dtype=torch.float64)
    assert_matches_torch(snn.Softmax2d(), torch.nn.Softmax2d(), x)
    assert repr(snn.Softmax2d()) == repr(torch.nn.Softmax2d()) == "Softmax2d()"


@pytest.mark.parametrize("shape", [(2, 3), (1, 2, 3, 4, 5)])
def test_softmax2d_refuses_other_ranks_like_torch(shape):
    x = torch.randn(shape)
    with pytest.raises(ValueError, match="expected input to be 3D or 4D"):
        torch.nn.Softmax2d()(x)
    with pytest.raises(
        ValueError, match=rf"^Softmax2d: expected input to be 3D or 4D, got {len(shape)}D instead"
    ):
        snn.Softmax2d()(x)


@pytest.mark.parametrize("op", ["softmax", "log_softmax", "softmin"])
def test_a_channels_last_input_gives_a_contiguous_result_as_torch(op):
    x = torch.randn(2, 4, 3, 3).contiguous(memory_format=torch.channels_last)
    for dim in (1, -1):
        ours, theirs = getattr(F, op)(x, dim), getattr(torch_F, op)(x, dim)
        assert ours.is_contiguous() and theirs.is_contiguous()
        torch.testing.assert_close(ours, theirs)
    assert snn.Softmax2d()(x).is_contiguous() and torch.nn.Softmax2d()(x).is_contiguous()
