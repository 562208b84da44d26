"""Dropout against torch: the same masks under the same seed (values and gradients), in-place
semantics, the statistics of the noise (keep rate, scale, whole channels, alpha's mean and
variance), identity when not training, warnings and errors."""

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

VARIANTS = ["dropout", "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d", "dropout3d"]
# ranks each variant takes without a warning or an error
RANKS = {
    "dropout": [0, 1, 2, 3, 4],
    "alpha_dropout": [0, 1, 2, 3, 4],
    "feature_alpha_dropout": [2, 3, 4, 5],
    "dropout1d": [2, 3],
    "dropout2d": [4],
    "dropout3d": [4, 5],
}
probabilities = st.sampled_from([0.0, 0.1, 0.5, 0.75, 1.0]) | st.floats(0, 1)


@given(
    st.sampled_from(VARIANTS),
    st.data(),
    probabilities,
    st.booleans(),
    st.sampled_from([torch.float64, torch.float32]),
    st.booleans(),
)
def test_same_masks_values_and_gradients_as_torch(name, data, p, training, dtype, keywords):
    rank = data.draw(st.sampled_from(RANKS[name]))
    shape = data.draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
    torch.manual_seed(data.draw(st.integers(0, 2**16), label="seed"))  # reproducible examples
    x = torch.randn(shape, dtype=dtype)
    if keywords:
        assert_matches_torch(getattr(F, name), getattr(torch_F, name), x, p=p, training=training, seed=5)
    else:
        assert_matches_torch(getattr(F, name), getattr(torch_F, name), x, p, training)


@settings(max_examples=50)
@given(st.sampled_from(VARIANTS), st.data(), probabilities, st.booleans())
def test_inplace_matches_torch_and_returns_the_input(name, data, p, training):
    rank = data.draw(st.sampled_from([r for r in RANKS[name] if r]))
    torch.manual_seed(data.draw(st.integers(0, 2**16), label="seed"))
    x = torch.randn(data.draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)), dtype=torch.float64)
    runs = []
    for fn in (getattr(F, name), getattr(torch_F, name)):
        leaf = x.clone().requires_grad_()
        inner = leaf * 1
        torch.manual_seed(0)
        out = fn(inner, p, training, inplace=True)
        assert out is inner
        assert out.shape == x.shape
        (grad,) = torch.autograd.grad(out, leaf, torch.ones_like(out))
        runs.append((out.detach(), grad))
    assert_close(runs[0][0], runs[1][0], "in-place output")
    assert_close(runs[0][1], runs[1][1], "gradient")


@pytest.mark.parametrize("name", VARIANTS)
def test_not_training_or_nothing_to_drop_returns_the_input_itself(name):
    shape = (2, 3, 4, 5, 6)[: max(RANKS[name])]  # batched
    x = torch.randn(shape)
    assert getattr(F, name)(x, 0.5, False) is x
    assert getattr(F, name)(x, 0.0, True) is x
    empty = torch.zeros(0, *shape[1:])
    assert getattr(F, name)(empty, 0.5, True) is empty


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keep_rate_and_scale(p):
    torch.manual_seed(1)
    n = 200_000
    y = F.dropout(torch.ones(n, dtype=torch.float64), p)
    kept = y != 0
    sigma = math.sqrt(p * (1 - p) / n)
    assert abs(kept.double().mean().item() - (1 - p)) < 5 * sigma
    assert torch.all(y[kept] == 1 / (1 - p))
    assert abs(y.mean().item() - 1) < 5 * sigma / (1 - p)  # the expectation is unchanged


@pytest.mark.parametrize(
    ("name", "shape", "spatial_dims"),
    [
        ("dropout1d", (40, 50, 7), 1),
        ("dropout1d", (2000, 7), 1),  # unbatched (c, l)
        ("dropout2d", (40, 50, 3, 3), 2),
        ("dropout3d", (40, 50, 2, 2, 2), 3),
        ("dropout3d", (2000, 2, 2, 2), 3),  # unbatched (c, d, h, w)
        ("feature_alpha_dropout", (40, 50, 6), 1),
    ],
)
def test_channel_dropout_zeroes_whole_channels(name, shape, spatial_dims):
    torch.manual_seed(2)
    p = 0.3
    y = getattr(F, name)(torch.ones(shape, dtype=torch.float64), p, True)
    channels = y.flatten(start_dim=-spatial_dims)  # (..., the elements of one channel)
    first = channels[..., :1]
    assert bool((channels == first).all()), "a channel is dropped or kept as a whole"
    dropped = (first != first.max()).double()  # the kept value is the larger one
    sigma = math.sqrt(p * (1 - p) / dropped.numel())
    assert abs(dropped.mean().item() - p) < 5 * sigma


@pytest.mark.parametrize("p", [0.1, 0.5])
@pytest.mark.parametrize("name", ["alpha_dropout", "feature_alpha_dropout"])
def test_alpha_dropout_keeps_mean_and_variance(name, p):
    torch.manual_seed(3)
    x = torch.randn(400, 500, dtype=torch.float64)
    y = getattr(F, name)(x, p, training=True)
    assert abs(y.mean().item()) < 0.02
    assert abs(y.var().item() - 1) < 0.03
    dropped_value = -1.7580993408473766 / math.sqrt((1.7580993408473766**2 * p + 1) * (1 - p))
    dropped_value += 1.7580993408473766 * p / math.sqrt((1.7580993408473766**2 * p + 1) * (1 - p))
    share = (y - dropped_value).abs().lt(1e-12).double().mean().item()
    assert abs(share - p) < 0.01  # dropped units all land on one value


def test_gradcheck():
    x = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    for name in VARIANTS:

        def seeded(x, name=name):
            torch.manual_seed(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # (b, c, l) to dropout2d/3d: torch warns too
                return getattr(F, name)(x, 0.4, True)

        assert torch.autograd.gradcheck(seeded, (x,)), name


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_probability_outside_zero_one_raises_value_error(name, p):
    with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, but got {p}"):
        getattr(F, name)(torch.zeros(2, 3, 4, 5), p)


def test_rank_errors_like_torch():
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        F.dropout1d(torch.zeros(2, 3, 4, 5))
    for fn in (F.feature_alpha_dropout, torch_F.feature_alpha_dropout):
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions in the input"):
            fn(torch.zeros(5), 0.5, True)
    assert torch.equal(
        F.feature_alpha_dropout(torch.ones(5), 1.0, True), torch.zeros(5)
    )  # p=1 checks nothing


@pytest.mark.parametrize(
    ("name", "shape", "match"),
    [
        ("dropout2d", (2, 3), "Received a 2-D input to dropout2d, which is deprecated"),
        (
            "dropout2d",
            (2, 3, 4),
            "Received a 3D input to dropout2d and assuming that channel-wise 1D dropout",
        ),
        ("dropout3d", (2, 3, 4), "Received a 3-D input to dropout3d, which is deprecated"),
    ],
)
def test_warnings_like_torch(name, shape, match):
    for fn in (getattr(F, name), getattr(torch_F, name)):
        with pytest.warns(UserWarning, match=match):
            fn(torch.ones(shape), 0.5)


def test_dropout2d_reads_3d_input_as_batched_like_torch():
    x = torch.randn(5, 6, 7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_matches_torch(F.dropout2d, torch_F.dropout2d, x, 0.5)


MODULES = {
    "Dropout": (2, 3, 4),
    "Dropout1d": (2, 3, 4),
    "Dropout2d": (2, 3, 4, 4),
    "Dropout3d": (2, 3, 2, 2, 2),
    "AlphaDropout": (2, 3, 4),
    "FeatureAlphaDropout": (2, 3, 4),
}


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize(
    "kwargs", [{}, {"p": 0.25}, {"p": 0.0, "inplace": True}, {"p": 0.5, "inplace": True}]
)
def test_modules_match_torch(name, kwargs):
    ours, reference = getattr(nn, name)(**kwargs), getattr(torch_nn, name)(**kwargs)
    assert repr(ours) == repr(reference)
    assert (ours.p, ours.inplace) == (reference.p, reference.inplace)
    assert ours.state_dict() == reference.state_dict() == {}
    x = torch.randn(MODULES[name], dtype=torch.float64)
    for training in (True, False):
        ours.train(training)
        reference.train(training)
        if kwargs.get("inplace") and "Alpha" not in name:
            torch.manual_seed(0)
            a = ours(x.clone())
            torch.manual_seed(0)
            assert_close(a, reference(x.clone()))
        else:
            assert_matches_torch(ours, reference, x)
    ours.eval()
    assert ours(x) is x


@pytest.mark.parametrize("name", MODULES)
def test_module_probability_error(name):
    with pytest.raises(ValueError, match=r"dropout probability has to be between 0 and 1, but got 1\.5"):
        getattr(nn, name)(1.5)
    with pytest.raises(ValueError):
        getattr(torch_nn, name)(1.5)
