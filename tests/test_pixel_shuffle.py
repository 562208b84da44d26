"""pixel_shuffle / pixel_unshuffle against torch (any leading dims, errors with torch's types), the
N-d forms against an index-by-index reference, and the modules."""

import itertools
import math

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn as torch_nn

import scratchnn.functional as F
from helpers import assert_matches_torch
from scratchnn import nn

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: threads only cost waits


leading = st.lists(st.integers(1, 3), max_size=2)


@given(leading, st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4))
def test_pixel_shuffle_matches_torch(lead, channels, factor, height, width):
    x = torch.randn(*lead, channels * factor * factor, height, width, dtype=torch.float64)
    assert_matches_torch(F.pixel_shuffle, torch_F.pixel_shuffle, x, factor)


@given(leading, st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))
def test_pixel_unshuffle_matches_torch(lead, channels, factor, height, width):
    x = torch.randn(*lead, channels, height * factor, width * factor, dtype=torch.float64)
    assert_matches_torch(F.pixel_unshuffle, torch_F.pixel_unshuffle, x, factor)


def test_empty_inputs():
    """pixel_shuffle's empty shapes are torch's. torch's pixel_unshuffle returns an empty input
    unchanged, (0, c, H, W); ours gives the shape every non-empty input gets, (0, c·r², H/r, W/r)."""
    for shape in [(0, 8, 2, 2), (2, 0, 2, 2)]:
        x = torch.randn(*shape)
        assert F.pixel_shuffle(x, 2).shape == torch_F.pixel_shuffle(x, 2).shape
    assert F.pixel_unshuffle(torch.randn(0, 2, 4, 6), 2).shape == (0, 8, 2, 3)
    assert torch_F.pixel_unshuffle(torch.randn(0, 2, 4, 6), 2).shape == (0, 2, 4, 6)  # torch's quirk


def test_float32_and_integer_dtypes():
    x = torch.randn(2, 8, 3, 5)
    assert_matches_torch(F.pixel_shuffle, torch_F.pixel_shuffle, x, 2)
    assert_matches_torch(F.pixel_unshuffle, torch_F.pixel_unshuffle, x, 1)
    ints = torch.arange(2 * 9 * 6 * 6).view(2, 9, 6, 6)
    assert torch.equal(F.pixel_shuffle(ints, 3), torch_F.pixel_shuffle(ints, 3))
    assert torch.equal(F.pixel_unshuffle(ints, 3), torch_F.pixel_unshuffle(ints, 3))


@pytest.mark.parametrize("op", [F.pixel_shuffle, F.pixel_unshuffle])
@pytest.mark.parametrize("shape", [(2, 4, 3, 3), (2, 4, 1, 1)], ids=["factor-1", "1x1-image"])
def test_output_never_aliases_the_input(op, shape):
    """torch always returns new memory, even where the rearrange is a pure reshape."""
    x = torch.randn(*shape)
    factor = 1 if shape[-1] > 1 or op is F.pixel_unshuffle else 2
    out = op(x, factor)
    out.add_(1)
    assert not torch.equal(x.view(-1), out.reshape(-1))


def reference_shuffle(x: torch.Tensor, factors: tuple[int, ...]) -> torch.Tensor:
    """out[..., c, s1·r1 + i1, …] = x[..., (c, i1, …, in) flattened, s1, …], one element at a time."""
    n = len(factors)
    block = math.prod(factors)
    spatial = x.shape[-n:]
    out = x.new_empty(
        *x.shape[: -n - 1], x.shape[-n - 1] // block, *(s * f for s, f in zip(spatial, factors))
    )
    for c in range(out.shape[-n - 1]):
        for offsets in itertools.product(*map(range, factors)):
            channel = c
            for i, f in zip(offsets, factors):
                channel = channel * f + i
            for position in itertools.product(*map(range, spatial)):
                target = tuple(p * f + i for p, f, i in zip(position, factors, offsets))
                out[(..., c, *target)] = x[(..., channel, *position)]
    return out


@pytest.mark.parametrize(
    "shape, factors",
    [((2, 6, 4), (3,)), ((12, 2, 3), (2, 3)), ((1, 16, 2, 1, 2), (2, 2, 4)), ((2, 2, 6, 2, 1, 2), (1, 3, 2))],
    ids=["1d", "2d-uneven", "3d", "3d-extra-leading"],
)
def test_nd_shuffle_matches_the_index_reference(shape, factors):
    x = torch.randn(*shape, dtype=torch.float64)
    n = len(factors)
    out = F.pixel_shuffle_nd(x, factors, n)
    assert torch.equal(out, reference_shuffle(x, factors))
    assert torch.equal(F.pixel_unshuffle_nd(out, factors, n), x)


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))
def test_nd_shuffle_in_2d_is_torchs(factor, height, width):
    x = torch.randn(2, 2 * factor * factor, height, width, dtype=torch.float64)
    assert_matches_torch(
        lambda x: F.pixel_shuffle_nd(x, factor, 2), lambda x: torch_F.pixel_shuffle(x, factor), x
    )


# --- errors: the exception type torch raises, our message -------------------------------------

ERRORS = [
    ("shuffle", torch.randn(6, 6), 2, RuntimeError, "input must have at least 3 dims"),
    ("shuffle", torch.randn(6, 6, 6), 4, RuntimeError, r"channel dim \(6\) must be divisible by .* = 16"),
    ("shuffle", torch.randn(8, 6, 6), 0, RuntimeError, "upscale_factor must be positive"),
    ("shuffle", torch.randn(8, 6, 6), -2, RuntimeError, "upscale_factor must be positive"),
    ("shuffle", torch.randn(8, 6, 6), 2.0, TypeError, "upscale_factor must be an int"),
    ("shuffle", torch.randn(8, 6, 6), True, TypeError, "upscale_factor must be an int"),
    ("unshuffle", torch.randn(5), 5, RuntimeError, "input must have at least 3 dims"),
    (
        "unshuffle",
        torch.randn(2, 6, 8),
        4,
        RuntimeError,
        r"spatial dim h \(6\) must be divisible by downscale_factor 4",
    ),
    ("unshuffle", torch.randn(2, 8, 6), 4, RuntimeError, r"spatial dim w \(6\) must be divisible"),
    ("unshuffle", torch.randn(2, 6, 6), 0, RuntimeError, "downscale_factor must be positive"),
    ("unshuffle", torch.randn(2, 6, 6), 2.0, TypeError, "downscale_factor must be an int"),
]


@pytest.mark.parametrize(
    "which, x, factor, error, match", ERRORS, ids=[f"{e[0]}-{e[4][:20]}" for e in ERRORS]
)
def test_errors(which, x, factor, error, match):
    ours, theirs = {
        "shuffle": (F.pixel_shuffle, torch_F.pixel_shuffle),
        "unshuffle": (F.pixel_unshuffle, torch_F.pixel_unshuffle),
    }[which]
    with pytest.raises(error):
        theirs(x, factor)
    with pytest.raises(error, match=match):
        ours(x, factor)


def test_nd_errors():
    with pytest.raises(RuntimeError, match=r"upscale_factor must be an int or a sequence of 3 ints"):
        F.pixel_shuffle_nd(torch.randn(8, 2, 2, 2), (2, 2), 3)
    with pytest.raises(RuntimeError, match="input must have at least 4 dims"):
        F.pixel_shuffle_nd(torch.randn(8, 2, 2), 2, 3)
    with pytest.raises(ValueError, match="ndim must be a positive int"):
        F.pixel_unshuffle_nd(torch.randn(8, 2, 2), 2, 0)
    with pytest.raises(RuntimeError, match=r"spatial dim l \(5\) must be divisible by downscale_factor 2"):
        F.pixel_unshuffle_nd(torch.randn(3, 5), 2, 1)


# --- modules ----------------------------------------------------------------------------------


def test_modules_match_torch():
    x = torch.randn(2, 18, 3, 4, dtype=torch.float64)
    for ours, theirs, factor in [
        (nn.PixelShuffle, torch_nn.PixelShuffle, 3),
        (nn.PixelUnshuffle, torch_nn.PixelUnshuffle, 1),
    ]:
        assert repr(ours(factor)) == repr(theirs(factor))
        assert_matches_torch(ours(factor), theirs(factor), x)


def test_nd_modules():
    x = torch.randn(2, 8, 3, 2, 1)
    shuffle, unshuffle = nn.PixelShuffleNd(2, 3), nn.PixelUnshuffleNd((2, 2, 2), ndim=3)
    assert repr(shuffle) == "PixelShuffleNd(upscale_factor=2, ndim=3)"
    assert repr(unshuffle) == "PixelUnshuffleNd(downscale_factor=(2, 2, 2), ndim=3)"
    assert torch.equal(unshuffle(shuffle(x)), x)


# --- channel_shuffle ---------------------------------------------------------------------------


@given(
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 3),
    st.lists(st.integers(1, 3), min_size=1, max_size=3),
)
def test_channel_shuffle_matches_torch(batch, groups, per_group, spatial):
    x = torch.randn(batch, groups * per_group, *spatial, dtype=torch.float64)
    assert_matches_torch(F.channel_shuffle, torch_F.channel_shuffle, x, groups)
    assert_matches_torch(F.channel_shuffle, torch_F.channel_shuffle, x.float(), groups)
    # torch's native_channel_shuffle has no derivative; ours is the same op, differentiable
    assert_matches_torch(F.native_channel_shuffle, torch.native_channel_shuffle, x, groups, grad=False)


def test_channel_shuffle_interleaves_the_groups_and_copies():
    x = torch.arange(6.0).view(1, 6, 1)
    out = F.channel_shuffle(x, 3)
    assert out.flatten().tolist() == [0.0, 2.0, 4.0, 1.0, 3.0, 5.0]
    assert out.data_ptr() != x.data_ptr()
    assert F.channel_shuffle(x, 1).data_ptr() != x.data_ptr()  # groups=1: a copy, as torch
    assert_matches_torch(
        F.channel_shuffle, torch_F.channel_shuffle, torch.arange(24).view(2, 4, 3), 2, grad=False
    )
    assert_matches_torch(F.channel_shuffle, torch_F.channel_shuffle, torch.zeros(0, 4, 2), 2)


@pytest.mark.parametrize(
    ("shape", "groups", "message"),
    [
        ((1, 4, 2), 3, "Number of channels must be divisible by groups. Got 4 channels and 3 groups."),
        ((1, 4, 2), 0, "Number of groups to divide channels in must be positive. Value of groups:0"),
        ((1, 4, 2), -2, "Number of groups to divide channels in must be positive. Value of groups:-2"),
        ((4, 2), 2, r"channel_shuffle expects input with > 2 dims, but got input with sizes \[4, 2\]"),
    ],
    ids=["indivisible", "zero-groups", "negative-groups", "2-d"],
)
def test_channel_shuffle_errors_match_torch(shape, groups, message):
    x = torch.randn(shape)
    with pytest.raises(RuntimeError, match=message):
        torch_F.channel_shuffle(x, groups)
    with pytest.raises(RuntimeError, match=f"^channel_shuffle: {message}"):
        F.channel_shuffle(x, groups)
    with pytest.raises(TypeError):
        torch_F.channel_shuffle(x, 1.5)
    with pytest.raises(TypeError, match=r"^channel_shuffle: groups must be an int, got groups=1\.5"):
        F.channel_shuffle(x, 1.5)


def test_channel_shuffle_module_matches_torch():
    ours, reference = nn.ChannelShuffle(3), torch_nn.ChannelShuffle(3)
    assert repr(ours) == repr(reference) == "ChannelShuffle(groups=3)"
    assert_matches_torch(ours, reference, torch.randn(2, 6, 4, dtype=torch.float64))
    ours.load_state_dict(reference.state_dict(), strict=True)
    reference.load_state_dict(ours.state_dict(), strict=True)


@given(st.lists(st.integers(0, 4), min_size=0, max_size=4), st.integers(-1, 4))
def test_channel_shuffle_valid_and_invalid_inputs_behave_like_torch(shape, groups):
    x = torch.randn(shape)
    try:
        expected = torch_F.channel_shuffle(x, groups)
    except RuntimeError:
        with pytest.raises(RuntimeError, match=r"^channel_shuffle: "):
            F.channel_shuffle(x, groups)
        return
    assert torch.equal(F.channel_shuffle(x, groups), expected)


@pytest.mark.parametrize("op", ["channel_shuffle", "native_channel_shuffle"])
@pytest.mark.parametrize(
    "shape, layout", [((2, 6, 3, 4), torch.channels_last), ((1, 8, 2, 2, 2), torch.channels_last_3d)]
)
def test_channel_shuffle_keeps_channels_last(op, shape, layout):
    x = torch.randn(shape).contiguous(memory_format=layout)
    ours, theirs = getattr(F, op)(x, 2), getattr(torch_F, op)(x, 2)
    assert ours.is_contiguous(memory_format=layout) and theirs.is_contiguous(memory_format=layout)
    assert torch.equal(ours, theirs)
