"""Linear and Conv1d/2d/3d modules: state_dicts both ways, outputs, repr, init, padding modes, errors."""

import itertools
import math

import pytest
import torch

import scratchnn
from helpers import assert_close

CONVS = {
    1: (scratchnn.nn.Conv1d, torch.nn.Conv1d),
    2: (scratchnn.nn.Conv2d, torch.nn.Conv2d),
    3: (scratchnn.nn.Conv3d, torch.nn.Conv3d),
}

OPTIONS = [
    dict(
        in_channels=4,
        out_channels=6,
        kernel_size=3,
        stride=s,
        padding=p,
        dilation=d,
        groups=g,
        bias=b,
        padding_mode=m,
    )
    for s, p, d, g, b, m in itertools.product(
        [1, 2],
        [0, 1, "same", "valid"],
        [1, 2],
        [1, 2],
        [True, False],
        ["zeros", "reflect", "replicate", "circular"],
    )
    if not (p == "same" and s != 1)
]
# A fixed sample of the grid for the (slower) forward/backward checks; repr covers all of it.
SAMPLE = [OPTIONS[i] for i in torch.randperm(len(OPTIONS), generator=torch.Generator().manual_seed(0))[:40]]


def twins(n, options, dtype=torch.float64):
    ours_cls, torch_cls = CONVS[n]
    ours, theirs = ours_cls(**options, dtype=dtype), torch_cls(**options, dtype=dtype)
    return ours, theirs


def check_pair(ours, theirs, x):
    assert set(ours.state_dict()) == set(theirs.state_dict())
    out_ours, out_theirs = ours(x), theirs(x)
    assert_close(out_ours, out_theirs)
    out_ours.backward(torch.ones_like(out_ours))
    out_theirs.backward(torch.ones_like(out_theirs))
    for (name, p_ours), (_, p_theirs) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p_ours.grad, p_theirs.grad, f"grad of {name}")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_state_dicts_load_both_ways_and_outputs_match(n):
    for options in SAMPLE:
        ours, theirs = twins(n, options)
        ours.load_state_dict(theirs.state_dict(), strict=True)  # torch → ours
        x = torch.randn(2, 4, *[7] * n, dtype=torch.float64)
        check_pair(ours, theirs, x)
        fresh = CONVS[n][1](**options, dtype=torch.float64)
        fresh.load_state_dict(ours.state_dict(), strict=True)  # ours → torch
        assert_close(fresh(x), ours(x))
        check_pair(ours, theirs, x[0])  # unbatched input


@pytest.mark.parametrize("n", [1, 2, 3])
def test_repr_equals_torch(n):
    for options in OPTIONS:
        ours, theirs = twins(n, options)
        assert repr(ours) == repr(theirs)


def test_linear_twin():
    for bias in (True, False):
        ours, theirs = (
            scratchnn.nn.Linear(5, 3, bias, dtype=torch.float64),
            torch.nn.Linear(5, 3, bias, dtype=torch.float64),
        )
        ours.load_state_dict(theirs.state_dict())
        assert repr(ours) == repr(theirs)
        check_pair(ours, theirs, torch.randn(2, 4, 5, dtype=torch.float64))
        theirs.load_state_dict(ours.state_dict())


@pytest.mark.parametrize("n", [1, 2, 3])
def test_initialization_matches_torch_bounds_and_rng(n):
    """Same seed, same draws: reset_parameters follows torch's Kaiming-uniform recipe exactly."""
    torch.manual_seed(0)
    ours = CONVS[n][0](4, 6, 3, groups=2)
    torch.manual_seed(0)
    theirs = CONVS[n][1](4, 6, 3, groups=2)
    assert torch.equal(ours.weight, theirs.weight) and torch.equal(ours.bias, theirs.bias)
    fan_in = 2 * 3**n
    assert ours.weight.abs().max() <= 1 / math.sqrt(fan_in) and ours.bias.abs().max() <= 1 / math.sqrt(fan_in)
    torch.manual_seed(1)
    linear = scratchnn.nn.Linear(7, 3)
    torch.manual_seed(1)
    assert torch.equal(linear.weight, torch.nn.Linear(7, 3).weight)


def test_device_and_dtype_kwargs():
    conv = scratchnn.nn.Conv2d(2, 3, 3, device="cpu", dtype=torch.float16)
    assert conv.weight.dtype == torch.float16 and conv.weight.device.type == "cpu"
    assert scratchnn.nn.Linear(2, 3, dtype=torch.float64).weight.dtype == torch.float64


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(groups=0), r"groups must be a positive integer"),
        (dict(groups=3), r"in_channels must be divisible by groups, got in_channels=4, groups=3"),
        (dict(out_channels=5, groups=2), r"out_channels must be divisible by groups"),
        (dict(padding="full"), r"padding must be 'valid', 'same'"),
        (dict(padding="same", stride=2), r"padding='same' is not supported for strided convolutions"),
        (dict(padding_mode="mirror"), r"padding_mode must be one of"),
        (dict(stride=0), r"stride must be positive"),
        (dict(kernel_size=(3, 0)), r"kernel_size must be positive"),
        (dict(padding=-1), r"padding must be non-negative"),
    ],
)
def test_constructor_errors(options, match):
    kwargs = dict(in_channels=4, out_channels=4, kernel_size=3) | options
    with pytest.raises(ValueError, match=match):
        scratchnn.nn.Conv2d(**kwargs)


def test_linear_constructor_error():
    with pytest.raises(ValueError, match=r"in_features must be a non-negative int, got in_features=-1"):
        scratchnn.nn.Linear(-1, 2)


def test_forward_error_names_the_op():
    with pytest.raises(RuntimeError, match=r"conv2d: input has 3 channels but weight expects 4"):
        scratchnn.nn.Conv2d(4, 4, 3)(torch.randn(1, 3, 8, 8))
