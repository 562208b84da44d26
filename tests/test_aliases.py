"""torch.nn.functional's other spellings against torch's: the in-place activations (relu_ …), the
pooling *_with_indices functions and the deprecated upsample* wrappers (with their warnings)."""

import math
import warnings

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn
import scratchnn.functional as F
from helpers import assert_close, assert_matches_torch

IN_PLACE = [
    ("relu_", {}),
    ("elu_", {"alpha": 0.7}),
    ("celu_", {"alpha": 1.5}),
    ("selu_", {}),
    ("leaky_relu_", {"negative_slope": 0.2}),
    ("hardtanh_", {"min_val": -0.5, "max_val": 2.0}),
    ("threshold_", {"threshold": 0.5, "value": -2.0}),
    ("rrelu_", {"lower": 0.2, "upper": 0.6}),
]


@pytest.mark.parametrize("name, kwargs", IN_PLACE, ids=[name for name, _ in IN_PLACE])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_in_place_activations_match_torch(name, kwargs, dtype):
    x = 3 * torch.randn(4, 5, dtype=dtype)
    ours, theirs = x.clone(), x.clone()
    assert getattr(F, name)(ours, **kwargs) is ours
    assert getattr(torch_F, name)(theirs, **kwargs) is theirs
    assert_close(ours, theirs)
    # gradients through the in-place op (on a non-leaf, as autograd requires)
    assert_matches_torch(
        lambda x: getattr(F, name)(x * 1, **kwargs), lambda x: getattr(torch_F, name)(x * 1, **kwargs), x
    )


@pytest.mark.parametrize("name, kwargs", IN_PLACE, ids=[name for name, _ in IN_PLACE])
def test_in_place_on_a_leaf_that_requires_grad_fails_as_torch(name, kwargs):
    x = torch.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        torch_F.__dict__[name](x, **kwargs)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        getattr(F, name)(x, **kwargs)


def test_in_place_errors_name_the_op():
    x = torch.tensor([-2.0, 0.7, 3.0])  # torch's hardtanh_ does not check its bounds: all max_val
    assert torch.equal(F.hardtanh_(x.clone(), 2.0, 1.0), torch_F.hardtanh_(x.clone(), 2.0, 1.0))
    with pytest.raises(RuntimeError, match="celu: ZeroDivisionError: alpha cannot be 0"):
        F.celu_(torch.randn(3), 0.0)
    with pytest.raises(RuntimeError, match="leaky_relu: In-place leakyReLu backward"):
        F.leaky_relu_(torch.randn(3, requires_grad=True) * 1, -0.5).sum().backward()


def test_gradcheck_through_an_in_place_alias():
    x = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: F.elu_(x * 1, 0.5), (x,))


WITH_INDICES = [
    ("max_pool1d_with_indices", (2, 3, 9), (3,), {"stride": 2, "padding": 1}),
    ("max_pool2d_with_indices", (2, 3, 7, 8), (2,), {"dilation": 2, "ceil_mode": True}),
    ("max_pool3d_with_indices", (1, 2, 5, 6, 4), ((2, 3, 2),), {}),
    ("adaptive_max_pool1d_with_indices", (2, 3, 9), (4,), {}),
    ("adaptive_max_pool2d_with_indices", (2, 3, 7, 8), ((3, 5),), {}),
    ("adaptive_max_pool3d_with_indices", (1, 2, 5, 6, 4), (2,), {}),
]


@pytest.mark.parametrize("name, shape, args, kwargs", WITH_INDICES, ids=[case[0] for case in WITH_INDICES])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("return_indices", [False, True])
def test_with_indices_match_torch(name, shape, args, kwargs, dtype, return_indices):
    """Values and indices, whatever return_indices says (torch's ignore it too), and gradients."""
    x = torch.randn(shape, dtype=dtype)
    ours = getattr(F, name)(x, *args, return_indices=return_indices, **kwargs)
    theirs = getattr(torch_F, name)(x, *args, return_indices=return_indices, **kwargs)
    assert isinstance(ours, tuple) and len(ours) == 2
    assert_close(ours[0], theirs[0])
    assert torch.equal(ours[1], theirs[1])
    assert_matches_torch(
        lambda x: getattr(F, name)(x, *args, **kwargs)[0],
        lambda x: getattr(torch_F, name)(x, *args, **kwargs)[0],
        x,
    )


def test_with_indices_errors_name_the_op():
    with pytest.raises(RuntimeError, match="max_pool2d_with_indices: "):
        F.max_pool2d_with_indices(torch.randn(2, 3, 4, 4), 5)
    with pytest.raises(RuntimeError):  # torch raises the same type
        torch_F.max_pool2d_with_indices(torch.randn(2, 3, 4, 4), 5)


UPSAMPLE = [
    ("upsample", {"scale_factor": 2.0}, 1),
    ("upsample", {"size": (5, 7), "mode": "bilinear", "align_corners": True}, 2),
    ("upsample", {"size": (3, 4, 5), "mode": "trilinear"}, 3),
    ("upsample_nearest", {"scale_factor": 1.5}, 2),
    ("upsample_nearest", {"size": 7}, 1),
    ("upsample_bilinear", {"size": (5, 9)}, 2),
    ("upsample_bilinear", {"scale_factor": 0.6}, 2),
]


@pytest.mark.parametrize("name, kwargs, dims", UPSAMPLE)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_upsample_wrappers_match_torch_and_warn_as_torch(name, kwargs, dims, dtype):
    x = torch.randn(2, 3, *(6, 5, 4)[:dims], dtype=dtype)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        F.__dict__[name](x, **kwargs)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        torch_F.__dict__[name](x, **kwargs)
    assert [(w.category, str(w.message)) for w in ours] == [(w.category, str(w.message)) for w in theirs]
    assert ours[0].filename == __file__  # the warning points at the caller, as torch's does
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_matches_torch(F.__dict__[name], torch_F.__dict__[name], x, **kwargs)


def test_upsample_errors_are_interpolates():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="interpolate: "):
            F.upsample(torch.randn(1, 1, 4))
        with pytest.raises(ValueError):  # torch: "either size or scale_factor should be defined"
            torch_F.upsample(torch.randn(1, 1, 4))


def test_the_spellings_are_routed_by_the_mode():
    x = torch.randn(2, 3, 8, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with scratchnn.mode(strict=True) as m:
            torch_F.relu_(x.clone())
            torch_F.max_pool2d_with_indices(x, 2)
            torch_F.adaptive_max_pool2d_with_indices(x, 3)
            torch_F.upsample(x, scale_factor=2)
            torch_F.upsample_bilinear(x, size=(4, 4))
    assert m.routed["relu"] == 1 and m.routed["max_pool2d"] == 1 and m.routed["adaptive_max_pool2d"] == 1
    # torch's upsample* are plain Python over F.interpolate (no torch-function dispatch): the mode
    # sees, and routes, their interpolate calls
    assert m.routed["interpolate"] == 2 and not m.fallback


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from([name for name, _ in IN_PLACE]),
    values=st.lists(st.floats(-50, 50), min_size=1, max_size=8),
    parameter=st.floats(-2, 2),
)
def test_random_in_place_configurations(name, values, parameter):
    """Random inputs and parameters: same values, or the same exception type (celu with alpha 0,
    hardtanh with min_val > max_val)."""
    kwargs = {
        "elu_": {"alpha": parameter},
        "celu_": {"alpha": parameter},
        "leaky_relu_": {"negative_slope": parameter},
        "hardtanh_": {"min_val": parameter, "max_val": 0.5},
    }.get(name, {})
    x = torch.tensor(values, dtype=torch.float64)
    ours, theirs = x.clone(), x.clone()
    try:
        getattr(torch_F, name)(theirs, **kwargs)
    except Exception as error:  # the type is what is compared
        with pytest.raises(type(error)):
            getattr(F, name)(ours, **kwargs)
        return
    getattr(F, name)(ours, **kwargs)
    assert_close(ours, theirs)


@pytest.mark.parametrize("op", ["relu", "relu_", "hardtanh", "hardtanh_", "relu6"])
def test_a_bool_input_is_refused_as_torch_refuses_it(op):
    with pytest.raises(RuntimeError):
        getattr(torch_F, op)(torch.ones(3, dtype=torch.bool))
    with pytest.raises(RuntimeError, match=rf"^{op}: .*(Bool|Boolean) inputs not supported"):
        getattr(F, op)(torch.ones(3, dtype=torch.bool))


@pytest.mark.parametrize("scale_factor", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("op", ["upsample", "upsample_bilinear", "upsample_nearest"])
def test_a_non_finite_scale_factor_is_a_runtime_error(op, scale_factor):
    x = torch.randn(2, 3, 4, 5)
    with pytest.raises(RuntimeError):
        getattr(torch_F, op)(x, scale_factor=scale_factor)
    with pytest.raises(RuntimeError, match=r"value cannot be converted to type int64_t without overflow"):
        getattr(F, op)(x, scale_factor=scale_factor)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int32])
@pytest.mark.parametrize("numbers", [(0.1, -2.0), (-1, 2), (1, math.inf), (math.nan, 1), (0.5, 100)])
def test_threshold_of_integers_reads_its_numbers_as_torch(dtype, numbers):
    x = torch.arange(6).to(dtype)
    try:
        expected = torch_F.threshold_(x.clone(), *numbers)
    except RuntimeError:
        with pytest.raises(RuntimeError, match=r"^threshold_: .*value cannot be converted to type"):
            F.threshold_(x.clone(), *numbers)
    else:
        assert torch.equal(F.threshold_(x.clone(), *numbers), expected)


def test_threshold_of_complex_input_is_not_implemented():
    with pytest.raises(NotImplementedError):
        torch_F.threshold(torch.ones(2, dtype=torch.complex64), 0.1, 0.0)
    with pytest.raises(NotImplementedError, match=r"^threshold: not implemented for torch\.complex64"):
        F.threshold(torch.ones(2, dtype=torch.complex64), 0.1, 0.0)
