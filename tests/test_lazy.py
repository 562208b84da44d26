"""Lazy modules against torch's: sizes read from the first input, the class they become, seeded
initialization, outputs and gradients, reprs before and after, state_dicts loaded into
uninitialized modules both ways, errors and random configurations."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import scratchnn
import scratchnn.nn as snn
from helpers import assert_close, assert_matches_torch

# torch's lazy instance norm without affine or statistics never learns num_features, and warns
pytestmark = pytest.mark.filterwarnings("ignore:input's size at dim=1 does not match num_features")

# class name, constructor arguments, input shape
LAZY = [
    ("LazyLinear", (4,), {}, (2, 5, 3)),
    ("LazyLinear", (4,), {"bias": False}, (3,)),
    ("LazyConv1d", (4, 3), {"stride": 2, "padding": 1}, (2, 6, 9)),
    ("LazyConv1d", (4, 3), {"groups": 2, "padding_mode": "reflect", "padding": 1}, (6, 9)),
    ("LazyConv2d", (6, 3), {"dilation": 2, "bias": False}, (2, 3, 8, 7)),
    ("LazyConv3d", (2, (1, 2, 3)), {"padding": "same"}, (1, 3, 4, 5, 6)),
    ("LazyConvTranspose1d", (4, 3), {"stride": 2, "output_padding": 1}, (2, 6, 5)),
    ("LazyConvTranspose2d", (4, 3), {"groups": 2, "dilation": 2}, (2, 4, 5, 4)),
    ("LazyConvTranspose3d", (2, 2), {"bias": False}, (3, 3, 4, 5)),
    ("LazyBatchNorm1d", (), {}, (8, 3)),
    ("LazyBatchNorm1d", (), {"affine": False, "momentum": None}, (8, 3, 5)),
    ("LazyBatchNorm2d", (), {"track_running_stats": False}, (4, 3, 5, 5)),
    ("LazyBatchNorm3d", (), {"bias": False}, (2, 3, 3, 4, 5)),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 7)),
    ("LazyInstanceNorm2d", (), {"affine": False, "track_running_stats": False}, (2, 3, 5, 5)),
    ("LazyInstanceNorm3d", (), {"bias": False}, (2, 3, 3, 4, 5)),
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(LAZY)]


def twins(name, args, kwargs, seed=0, dtype=torch.float64):
    modules = []
    for namespace in (nn, snn):
        torch.manual_seed(seed)
        modules.append(getattr(namespace, name)(*args, dtype=dtype, **kwargs))
    return modules


def become(name):
    return name.removeprefix("Lazy")


@pytest.mark.parametrize("name, args, kwargs, shape", LAZY, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_first_call_materializes_as_torch(name, args, kwargs, shape, dtype):
    theirs, ours = twins(name, args, kwargs, dtype=dtype)
    assert repr(ours) == repr(theirs)
    assert ours.has_uninitialized_params() == theirs.has_uninitialized_params()
    x = torch.randn(shape, dtype=dtype)
    torch.manual_seed(1)
    expected = theirs(x)
    torch.manual_seed(1)
    out = ours(x)
    assert type(ours) is getattr(snn, become(name)) and type(theirs) is getattr(nn, become(name))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (key, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(a, b, key, rtol=0, atol=0)  # torch's initialization, drawn in torch's order
    for (key, a), (_, b) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert_close(a, b, key)  # running statistics, updated by the first call
    assert_close(out, expected)
    assert_matches_torch(ours, theirs, x)  # now ordinary modules: values and gradients


@pytest.mark.parametrize("name, args, kwargs, shape", LAZY[::2], ids=IDS[::2])
def test_state_dicts_materialize_uninitialized_modules_both_ways(name, args, kwargs, shape):
    theirs, ours = twins(name, args, kwargs, seed=3)
    x = torch.randn(shape, dtype=torch.float64)
    for module in (ours, theirs):
        torch.manual_seed(5)  # the parameters are drawn on the first call
        module(x)
    fresh_ours, fresh_theirs = twins(name, args, kwargs, seed=4)
    fresh_ours.load_state_dict(theirs.state_dict())
    fresh_theirs.load_state_dict(ours.state_dict())
    for key, value in ours.state_dict().items():
        assert torch.equal(fresh_ours.state_dict()[key], theirs.state_dict()[key]), key
        assert torch.equal(fresh_theirs.state_dict()[key], value), key
    assert not fresh_ours.has_uninitialized_params()
    assert_close(fresh_ours(x), fresh_theirs(x))


@pytest.mark.parametrize("name, args, kwargs, shape", LAZY, ids=IDS)
def test_attributes_and_conversion(name, args, kwargs, shape):
    theirs, ours = twins(name, args, kwargs)
    assert set(vars(ours)) <= set(vars(theirs))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    # in place: torch cannot deep-copy uninitialized parameters
    converted, report = scratchnn.convert(nn.Sequential(theirs), inplace=True)
    assert type(converted[0]) is getattr(snn, name) and report.ok
    converted(torch.randn(shape, dtype=torch.float64))
    assert type(converted[0]) is getattr(snn, become(name))
    back, report = scratchnn.convert(nn.Sequential(ours), to="torch", inplace=True)  # and back, uninitialized
    assert type(back[0]) is getattr(nn, name) and report.ok
    back(torch.randn(shape, dtype=torch.float64))
    assert type(back[0]) is getattr(nn, become(name))


def test_lazy_instance_norm_defaults_are_torchs():
    """torch's lazy instance norms are affine and track running statistics by default."""
    for dims in (1, 2, 3):
        ours, theirs = getattr(snn, f"LazyInstanceNorm{dims}d")(), getattr(nn, f"LazyInstanceNorm{dims}d")()
        assert (
            (ours.affine, ours.track_running_stats)
            == (theirs.affine, theirs.track_running_stats)
            == (True, True)
        )


def test_errors():
    with pytest.raises(
        RuntimeError, match=r"Expected 4D \(unbatched\) or 5D \(batched\) input to LazyConv3d"
    ):
        snn.LazyConv3d(2, 3)(torch.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="Expected 4D"):
        nn.LazyConv3d(2, 3)(torch.randn(2, 3, 4))
    with pytest.raises(
        ValueError, match=r"LazyConv2d: in_channels must be divisible by groups, got in_channels=3"
    ):
        snn.LazyConv2d(4, 3, groups=2)(torch.randn(1, 3, 5, 5))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(torch.randn(1, 3, 5, 5))
    with pytest.raises(ValueError, match=r"LazyConvTranspose1d: in_channels must be divisible by groups"):
        snn.LazyConvTranspose1d(4, 3, groups=2)(torch.randn(1, 3, 5))
    with pytest.raises(ValueError, match="BatchNorm2d: expected 4D input"):
        snn.LazyBatchNorm2d()(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.LazyBatchNorm2d()(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"LazyConv1d: padding_mode must be one of"):
        snn.LazyConv1d(4, 3, padding_mode="wrap")
    with pytest.raises(ValueError):
        nn.LazyConv1d(4, 3, padding_mode="wrap")


@settings(max_examples=25, deadline=None)
@given(
    in_channels=st.integers(1, 6),
    out_channels=st.integers(1, 6),
    groups=st.integers(1, 3),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 2),
    transposed=st.booleans(),
)
def test_random_conv_configurations(in_channels, out_channels, groups, kernel, stride, transposed):
    """Valid configurations agree with torch; invalid ones (channels not divisible by groups) fail
    with the same exception type, at construction or on the first call."""
    name = "LazyConvTranspose1d" if transposed else "LazyConv1d"
    x = torch.randn(2, in_channels, 7, dtype=torch.float64)
    try:
        torch.manual_seed(0)
        theirs = getattr(nn, name)(out_channels, kernel, stride=stride, groups=groups, dtype=torch.float64)
        expected = theirs(x)
    except (ValueError, RuntimeError) as error:
        with pytest.raises(type(error)):
            getattr(snn, name)(out_channels, kernel, stride=stride, groups=groups, dtype=torch.float64)(x)
        return
    torch.manual_seed(0)
    ours = getattr(snn, name)(out_channels, kernel, stride=stride, groups=groups, dtype=torch.float64)
    assert_close(ours(x), expected)


def test_gradcheck_after_materializing():
    conv = snn.LazyConvTranspose1d(2, 3, stride=2, dtype=torch.float64)
    x = torch.randn(1, 3, 4, dtype=torch.float64, requires_grad=True)
    conv(x)  # materializes
    assert torch.autograd.gradcheck(conv, (x,))
