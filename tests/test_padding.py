"""pad against torch: every mode, padded-dim count, negative pads, and torch's failures."""

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import scratchnn.functional as F
from helpers import assert_matches_torch


@st.composite
def pad_cases(draw):
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    if mode == "constant":
        rank = draw(st.integers(1, 5))
        padded = draw(st.integers(1, rank))
    else:
        padded = draw(st.integers(1, 3))
        rank = padded + draw(st.integers(1, 2))
    shape = [draw(st.integers(1, 4)) for _ in range(rank)]
    pad = [draw(st.integers(-4, 4)) for _ in range(2 * padded)]
    value = draw(st.sampled_from([None, 0.0, -1.5])) if mode == "constant" else None
    return shape, tuple(pad), mode, value


def wraps_more_than_once(shape, pad):
    for offset in range(len(pad) // 2):
        before, after = pad[2 * offset], pad[2 * offset + 1]
        cropped = shape[-1 - offset] + min(before, 0) + min(after, 0)
        size = shape[-1 - offset]
        if max(before, after) > size or (size + before + after > 0 and max(before, after) > cropped):
            return True
    return False


@given(pad_cases())
def test_pad_matches_torch_or_fails_like_it(case):
    shape, pad, mode, value = case
    x = torch.randn(shape, dtype=torch.float64)
    if mode == "circular" and wraps_more_than_once(shape, pad):
        # torch either raises an aliasing RuntimeError or returns uninitialized memory here
        with pytest.raises(RuntimeError, match=r"wraps around more than once|leaves dim"):
            F.pad(x, pad, mode=mode)
        return
    try:
        torch_F.pad(x.clone(), pad, mode=mode, value=value)
    except (RuntimeError, NotImplementedError) as exc:
        # torch refuses: so must we, with the same type
        with pytest.raises(type(exc)):
            F.pad(x, pad, mode=mode, value=value)
        return
    assert_matches_torch(F.pad, torch_F.pad, x, pad, mode=mode, value=value)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x: F.pad(x, (1,)), RuntimeError, r"pad must have an even length"),
        (lambda x: F.pad(x, (1,) * 10), RuntimeError, r"pads 5 dims but input has only 4"),
        (lambda x: F.pad(x, (1, 1), mode="mirror"), NotImplementedError, r"mode must be one of"),
        (lambda x: F.pad(x, (1.5, 1)), TypeError, r"pad must be a tuple of ints"),
        (lambda x: F.pad(x, torch.tensor([1, 1])), TypeError, r"pad must be a tuple of ints, got Tensor"),
        (lambda x: F.pad(x, (1, 1), mode="reflect", value=2.0), RuntimeError, r"takes no value argument"),
        (
            lambda x: F.pad(x, (1, 1), mode="reflect"),
            NotImplementedError,
            r"mode='reflect' pads the last 1, 2 or 3 dims .* pads 1 dims of a 4-D input",
        ),
        (
            lambda x: F.pad(x, (4, 0, 0, 0), mode="reflect"),
            RuntimeError,
            r"reflect padding must be smaller than the padded dim: \(4, 0\) for dim 3 of size 4",
        ),
        (lambda x: F.pad(x, (5, 0, 0, 0), mode="circular"), RuntimeError, r"wraps around more than once"),
        (lambda x: F.pad(x, (-5, 0)), RuntimeError, r"leaves dim 3 of size 4 with size -1"),
        (
            lambda x: F.pad(x, (-4, 0, -5, 1), mode="replicate"),
            RuntimeError,
            r"leaves no element in the padded dims",
        ),
    ],
)
def test_errors(call, error, match):
    x = torch.randn(2, 3, 4, 4)
    with pytest.raises(error, match=match):
        call(x)


def test_constant_pad_keeps_integer_dtype():
    x = torch.ones(1, 2, 3, dtype=torch.long)
    assert torch.equal(F.pad(x, (1, 2), value=1.5), torch_F.pad(x, (1, 2), value=1.5))
