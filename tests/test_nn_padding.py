"""Padding modules against torch.nn's: every mode and rank, batched and unbatched, negative pads,
gradients, reprs, torch's lenient constructors, errors and random configurations."""

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import scratchnn
import scratchnn.nn as snn
from helpers import assert_matches_torch

KINDS = ["Zero", "Constant", "Reflection", "Replication", "Circular"]
NAMES = [f"{kind}Pad{dims}d" for kind, dims in itertools.product(KINDS, (1, 2, 3))]


def build(namespace, name, padding, value=1.5):
    cls = getattr(namespace, name)
    return cls(padding, value) if name.startswith("Constant") else cls(padding)


def rank(name):
    return int(name[-2])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_matches_torch(name, batched, dtype):
    dims = rank(name)
    padding = (2, 1, 0, 3, 1, 1)[: 2 * dims]
    if not name.startswith(("Reflection", "Replication")):
        padding = (2, -1, 0, 3, -1, 1)[: 2 * dims]  # negative amounts crop
    shape = (2, 3, 5, 4, 6)[: dims + 1 + batched] if batched else (3, 5, 4, 6)[: dims + 1]
    x = torch.randn(shape, dtype=dtype)
    assert_matches_torch(build(snn, name, padding), build(nn, name, padding), x)


@pytest.mark.parametrize("name", NAMES)
def test_int_padding_repr_and_attributes(name):
    ours, theirs = build(snn, name, 1), build(nn, name, 1)
    assert repr(ours) == repr(theirs)
    assert vars(ours).keys() == vars(theirs).keys()
    assert ours.padding == theirs.padding == (1,) * (2 * rank(name))
    assert isinstance(ours, snn.ConstantPad1d) == isinstance(theirs, nn.ConstantPad1d)
    converted, report = scratchnn.convert(nn.Sequential(theirs))
    assert type(converted[0]) is type(ours) and report.ok


def test_sequences_are_kept_as_given_like_torch():
    """torch's constructors do not check the length: ReflectionPad1d((1, 1, 2, 2)) pads two dims."""
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    assert (
        snn.ReflectionPad1d([1, 1, 2, 2]).padding == nn.ReflectionPad1d([1, 1, 2, 2]).padding == (1, 1, 2, 2)
    )
    assert_matches_torch(snn.ReflectionPad1d((1, 1, 2, 2)), nn.ReflectionPad1d((1, 1, 2, 2)), x)


def test_errors_have_torchs_types():
    x = torch.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match=r"pad: pad must have an even length"):
        snn.ReflectionPad1d((1, 2, 3))(x)
    with pytest.raises(RuntimeError, match=r"pad: reflect padding must be smaller than the padded dim"):
        snn.ReflectionPad1d(4)(x)
    with pytest.raises(TypeError, match=r"pad: pad must be a tuple of ints, got pad=\(1\.5, 1\.5"):
        snn.ZeroPad2d(1.5)(x)
    with pytest.raises(
        RuntimeError, match=r"pad: circular padding \(5, 5\) of dim 2 wraps around more than once"
    ):
        snn.CircularPad1d(5)(x)
    with pytest.raises(
        ValueError, match=r"CircularPad2d: expected 3D or 4D input \(got 2D input of shape \(3, 4\)\)"
    ):
        snn.CircularPad2d(1)(torch.randn(3, 4))
    with pytest.raises(ValueError, match=r"CircularPad1d: expected 2D or 3D input \(got 4D input"):
        snn.CircularPad1d(1)(torch.randn(1, 2, 3, 4))
    for make, shape in [
        (lambda ns: ns.ReflectionPad1d((1, 2, 3)), (2, 3, 4)),
        (lambda ns: ns.ZeroPad2d(1.5), (2, 3, 4)),
        (lambda ns: ns.CircularPad1d(5), (2, 3, 4)),
        (lambda ns: ns.CircularPad2d(1), (3, 4)),
        (lambda ns: ns.ReplicationPad3d(1), (3, 4)),
    ]:
        x = torch.randn(shape)
        with pytest.raises((RuntimeError, TypeError, ValueError)) as theirs:
            make(nn)(x)
        with pytest.raises(theirs.type):
            make(snn)(x)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    sizes=st.lists(st.integers(1, 5), min_size=3, max_size=3),
    amounts=st.lists(st.integers(-2, 5), min_size=6, max_size=6),
    batched=st.booleans(),
)
def test_random_configurations(name, sizes, amounts, batched):
    """Valid configurations agree with torch; invalid ones (too much reflection, wrapping, cropping
    everything) raise the same exception type."""
    dims = rank(name)
    shape = ((2, 3) if batched else (3,)) + tuple(sizes[:dims])
    padding = tuple(amounts[: 2 * dims])
    x = torch.randn(shape, dtype=torch.float64)
    ours, theirs = build(snn, name, padding), build(nn, name, padding)
    try:
        expected = theirs(x)
    except Exception as error:  # the type is what is compared
        with pytest.raises(type(error)):
            ours(x)
        return
    assert expected is not None
    assert_matches_torch(ours, theirs, x)


@pytest.mark.parametrize("name", ["ReflectionPad2d", "CircularPad1d", "ConstantPad3d"])
def test_gradcheck(name):
    x = torch.randn((1, 2, 3, 3, 3)[: rank(name) + 2], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(build(snn, name, (1, 2, 2, 0, 1, -1)[: 2 * rank(name)]), (x,))
