"""Normalization against torch: values and gradients over random valid configurations, running
statistics updated in place step by step (momentum, momentum=None, num_batches_tracked), module
buffers, state_dicts both ways, reprs, errors."""

import math
import warnings

import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import scratchnn.functional as F
import scratchnn.nn as nn
from helpers import assert_close, assert_matches_torch

dtypes = st.sampled_from([torch.float64, torch.float32])
sizes = st.integers(1, 4)


def seeded(data):
    """Seed torch's generator from hypothesis, so every example (and its shrinking) is reproducible."""
    torch.manual_seed(data.draw(st.integers(0, 2**16), label="seed"))


def conditioned(x, dims):
    """In float32, whether every group's spread keeps 1/std (which scales rounding errors in the
    output and gradient) small enough for the 1e-5 tolerance; float64 is always compared."""
    if x.dtype == torch.float64 or x.numel() == 0:
        return True
    return bool(x.double().std(dims, correction=0).min() > 0.05)


def maybe(draw, shape, dtype):
    return torch.randn(shape, dtype=dtype) if draw(st.booleans()) else None


@settings(max_examples=50)
@given(st.data(), dtypes)
def test_layer_norm_matches_torch(data, dtype):
    seeded(data)
    shape = data.draw(st.lists(sizes, min_size=1, max_size=4))
    normalized = shape[len(shape) - data.draw(st.integers(1, len(shape))) :]
    x = torch.randn(shape, dtype=dtype)
    assume(conditioned(x, list(range(len(shape) - len(normalized), len(shape)))))
    weight, bias = maybe(data.draw, normalized, dtype), maybe(data.draw, normalized, dtype)
    eps = data.draw(st.sampled_from([1e-5, 1e-2, 0.0]))
    if math.prod(normalized) == 1:
        # one value per group: variance 0 and x − mean = 0 exactly, so 1/√eps scales torch's float32
        # rounding of x·rstd − mean·rstd (its fused kernel) up to the tolerance; eps = 0 would be 0/0
        eps = 0.5
    assert_matches_torch(F.layer_norm, torch_F.layer_norm, x, normalized, weight, bias, eps=eps)


@settings(max_examples=50)
@given(st.data(), dtypes)
def test_group_norm_matches_torch(data, dtype):
    seeded(data)
    groups, per_group, batch = data.draw(sizes), data.draw(sizes), data.draw(sizes)
    spatial = data.draw(st.lists(sizes, max_size=3))
    if batch * per_group * math.prod(spatial) == 1:
        per_group = 2  # torch refuses one value per group (tested below)
    channels = groups * per_group
    x = torch.randn(batch, channels, *spatial, dtype=dtype)
    assume(conditioned(x.reshape(batch, groups, -1), [-1]))
    weight, bias = maybe(data.draw, channels, dtype), maybe(data.draw, channels, dtype)
    if weight is None and bias is not None:
        # torch's backward fails for a bias without a weight ("tensor does not have a device");
        # compare with weight = 1, the same function
        ones = torch.ones(channels, dtype=dtype)
        assert_matches_torch(
            lambda x, b: F.group_norm(x, groups, None, b, eps=1e-3),
            lambda x, b: torch_F.group_norm(x, groups, ones, b, eps=1e-3),
            x,
            bias,
        )
    else:
        assert_matches_torch(F.group_norm, torch_F.group_norm, x, groups, weight, bias, eps=1e-3)


@settings(max_examples=50)
@given(st.data(), dtypes)
def test_rms_norm_matches_torch(data, dtype):
    seeded(data)
    shape = data.draw(st.lists(sizes, min_size=1, max_size=4))
    normalized = shape[len(shape) - data.draw(st.integers(1, len(shape))) :]
    weight = maybe(data.draw, normalized, dtype)
    eps = data.draw(st.sampled_from([None, 1e-6, 0.5]))
    assert_matches_torch(
        F.rms_norm, torch_F.rms_norm, torch.randn(shape, dtype=dtype), normalized, weight, eps
    )


@settings(max_examples=50)
@given(st.data(), dtypes)
def test_local_response_norm_matches_torch(data, dtype):
    seeded(data)
    shape = data.draw(st.lists(sizes, min_size=3, max_size=5))
    size = data.draw(st.integers(1, shape[1] + 2))
    alpha, beta, k = data.draw(st.sampled_from([(1e-4, 0.75, 1.0), (0.5, 0.5, 2.0), (1.0, 1.5, 0.5)]))
    x = torch.randn(shape, dtype=dtype)
    assert_matches_torch(F.local_response_norm, torch_F.local_response_norm, x, size, alpha, beta, k)


@settings(max_examples=50)
@given(st.data(), dtypes, st.sampled_from([2.0, 1.0, 3.0, 0.5, math.inf, -math.inf, 0.0]))
def test_normalize_matches_torch(data, dtype, p):
    seeded(data)
    shape = data.draw(st.lists(sizes, min_size=1, max_size=4))
    dims = st.integers(-len(shape), len(shape) - 1)
    several = st.lists(st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True)
    dim = data.draw(dims | several.map(tuple))  # one dim or several
    x = torch.randn(shape, dtype=dtype)
    if data.draw(st.booleans()):
        x.view(-1)[:: data.draw(st.integers(1, 3))] = 0  # zero entries and whole zero vectors
    eps = data.draw(st.sampled_from([1e-12, 0.5]))
    assert_matches_torch(F.normalize, torch_F.normalize, x, p, dim, eps)


def test_normalize_out_and_scalar_input():
    x = torch.randn(3, 4, dtype=torch.float64)
    out, expected = torch.empty_like(x), torch.empty_like(x)
    assert F.normalize(x, dim=0, out=out) is out
    torch_F.normalize(x, dim=0, out=expected)
    assert_close(out, expected)
    assert_matches_torch(F.normalize, torch_F.normalize, torch.tensor(-2.0, dtype=torch.float64), dim=0)


@pytest.mark.filterwarnings("ignore:Mismatch dtype between input and weight")  # torch's, for a float32 weight
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_rounds_once_as_torch(dtype):
    # torch accumulates half/bfloat16 in float32 and rounds the result once: bit-equal outputs
    x = torch.randn(4, 6, 5).to(dtype)
    weight = torch.rand(5)
    assert torch.equal(F.normalize(x), torch_F.normalize(x))
    for w in (weight, weight.to(dtype)):
        assert torch.equal(F.rms_norm(x, (5,), w), torch_F.rms_norm(x, (5,), w))


def test_rms_norm_output_has_the_input_dtype():
    for x_dtype, w_dtype in ((torch.float32, torch.float64), (torch.float64, torch.float32)):
        x, w = torch.randn(3, 4, dtype=x_dtype), torch.rand(4, dtype=w_dtype)
        assert F.rms_norm(x, (4,), w).dtype == torch_F.rms_norm(x, (4,), w).dtype == x_dtype


def run_with_stats(fn, x, stats, *args, **kwargs):
    """Call a batch/instance norm with copies of the running statistics; return the output, the
    input gradient and the updated statistics."""
    stats = None if stats is None else tuple(s.clone() for s in stats)
    leaf = x.clone().requires_grad_()
    out = fn(leaf, *(stats or (None, None)), *args, **kwargs)
    (grad,) = torch.autograd.grad(
        out, leaf, torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)
    )
    return out.detach(), grad, stats


@settings(max_examples=50)
@given(st.data(), dtypes, st.booleans())
def test_batch_norm_matches_torch_with_in_place_running_stats(data, dtype, training):
    seeded(data)
    batch, channels = data.draw(sizes), data.draw(sizes)
    spatial = data.draw(st.lists(sizes, max_size=3))
    if training and batch * math.prod(spatial) == 1:
        batch = 2
    x = 3 * torch.randn(batch, channels, *spatial, dtype=dtype) + 1
    assume(not training or conditioned(x, [0, *range(2, x.ndim)]))
    tracked = not training or data.draw(st.booleans())
    stats = (torch.randn(channels, dtype=dtype), torch.rand(channels, dtype=dtype) + 0.5) if tracked else None
    weight, bias = maybe(data.draw, channels, dtype), maybe(data.draw, channels, dtype)
    momentum = data.draw(st.sampled_from([0.1, 0.0, 1.0, 0.37]))
    kwargs = {"weight": weight, "bias": bias, "training": training, "momentum": momentum, "eps": 1e-4}
    ours = run_with_stats(F.batch_norm, x, stats, **kwargs)
    theirs = run_with_stats(torch_F.batch_norm, x, stats, **kwargs)
    assert_close(ours[0], theirs[0], "output")
    assert_close(ours[1], theirs[1], "input gradient")
    if stats is not None:
        assert_close(ours[2][0], theirs[2][0], "running_mean")
        assert_close(ours[2][1], theirs[2][1], "running_var")
    assert_matches_torch(
        lambda x, w, b: F.batch_norm(x, *(stats or (None, None)), w, b, training, momentum),
        lambda x, w, b: torch_F.batch_norm(x, *(stats or (None, None)), w, b, training, momentum),
        x,
        weight,
        bias,
    )  # parameter gradients


@settings(max_examples=50)
@given(st.data(), dtypes, st.booleans())
def test_instance_norm_matches_torch_with_in_place_running_stats(data, dtype, use_input_stats):
    seeded(data)
    batch, channels = data.draw(sizes), data.draw(sizes)
    spatial = data.draw(st.lists(sizes, min_size=1, max_size=3))
    if math.prod(spatial) == 1:
        spatial[0] = 2
    x = 2 * torch.randn(batch, channels, *spatial, dtype=dtype) - 1
    assume(not use_input_stats or conditioned(x, list(range(2, x.ndim))))
    tracked = not use_input_stats or data.draw(st.booleans())
    stats = (torch.randn(channels, dtype=dtype), torch.rand(channels, dtype=dtype) + 0.5) if tracked else None
    weight, bias = maybe(data.draw, channels, dtype), maybe(data.draw, channels, dtype)
    momentum = data.draw(st.sampled_from([0.1, 0.0, 0.6]))
    kwargs = {"weight": weight, "bias": bias, "use_input_stats": use_input_stats, "momentum": momentum}
    ours = run_with_stats(F.instance_norm, x, stats, **kwargs)
    theirs = run_with_stats(torch_F.instance_norm, x, stats, **kwargs)
    for a, b, what in zip(ours[:2], theirs[:2], ("output", "input gradient")):
        assert_close(a, b, what)
    if stats is not None:
        assert_close(ours[2][0], theirs[2][0], "running_mean")
        assert_close(ours[2][1], theirs[2][1], "running_var")


def test_running_stats_are_updated_in_place_without_autograd():
    x = torch.randn(6, 3, 4, dtype=torch.float64, requires_grad=True)
    mean, var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    mean_id, var_id = id(mean), id(var)
    F.batch_norm(x, mean, var, training=True, momentum=0.25)
    assert (id(mean), id(var)) == (mean_id, var_id)
    assert not mean.requires_grad and not var.requires_grad
    assert_close(mean, 0.25 * x.detach().mean((0, 2)))
    assert_close(var, 0.75 + 0.25 * x.detach().var((0, 2), unbiased=True))  # the unbiased variance


def test_empty_batch_leaves_running_stats_alone():
    mean, var = torch.zeros(3), torch.ones(3)
    assert F.batch_norm(torch.zeros(0, 3), mean, var, training=True).shape == (0, 3)
    assert torch.equal(mean, torch.zeros(3)) and torch.equal(var, torch.ones(3))


@pytest.mark.parametrize(
    ("fn", "args"),
    [
        (F.layer_norm, ([3],)),
        (F.group_norm, (2,)),
        (F.rms_norm, ([3],)),
        (lambda x: F.local_response_norm(x, 2, 0.5, 0.75, 1.0), ()),
        (lambda x: F.normalize(x, dim=-1), ()),
        (lambda x: F.batch_norm(x, None, None, training=True), ()),
        (lambda x: F.instance_norm(x), ()),
    ],
)
def test_gradcheck(fn, args):
    x = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: fn(x, *args), (x,))


def test_gradcheck_affine_parameters():
    x = torch.randn(3, 4, 2, dtype=torch.float64, requires_grad=True)
    w, b = (torch.randn(4, dtype=torch.float64, requires_grad=True) for _ in range(2))
    assert torch.autograd.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, True), (x, w, b))
    assert torch.autograd.gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), (x, w, b))
    w2, b2 = (torch.randn(2, dtype=torch.float64, requires_grad=True) for _ in range(2))
    assert torch.autograd.gradcheck(lambda x, w, b: F.layer_norm(x, [2], w, b), (x, w2, b2))
    assert torch.autograd.gradcheck(lambda x, w: F.rms_norm(x, [2], w), (x, w2))


def test_half_precision_follows_torch():
    x = torch.randn(4, 3, 5).half()
    mean, var = torch.zeros(3), torch.ones(3)  # float32 statistics for a half input, as torch allows
    ours = F.batch_norm(x, mean.clone(), var.clone(), training=True)
    theirs = torch_F.batch_norm(x, mean.clone(), var.clone(), training=True)
    assert ours.dtype == theirs.dtype == torch.float16
    assert_close(ours, theirs)
    assert_close(F.layer_norm(x, [5]), torch_F.layer_norm(x, [5]))
    assert_close(F.rms_norm(x, [5]), torch_F.rms_norm(x, [5]))


ERRORS = [
    (
        lambda m: m.layer_norm(torch.zeros(2, 3, 4), [3]),
        RuntimeError,
        r"Given normalized_shape=\[3\], expected input",
    ),
    (
        lambda m: m.layer_norm(torch.zeros(2, 3), []),
        RuntimeError,
        "Expected normalized_shape to be at least 1-dim",
    ),
    (lambda m: m.layer_norm(torch.zeros(2, 3), 3), TypeError, "must be tuple of ints, not int"),
    (
        lambda m: m.layer_norm(torch.zeros(2, 4), [4], torch.ones(3)),
        RuntimeError,
        "Expected weight to be of same",
    ),
    (
        lambda m: m.layer_norm(torch.zeros(2, 4), [4], None, torch.ones(3)),
        RuntimeError,
        "Expected bias to be of",
    ),
    (lambda m: m.rms_norm(torch.zeros(2, 3, 4), [3]), RuntimeError, r"expected input with shape \[\*3\]"),
    (
        lambda m: m.group_norm(torch.zeros(3), 1),
        RuntimeError,
        "Expected at least 2 dimensions for input tensor",
    ),
    (
        lambda m: m.group_norm(torch.zeros(2, 5, 3), 2),
        RuntimeError,
        "channels in input to be divisible by num_gr",
    ),
    (
        lambda m: m.group_norm(torch.zeros(2, 4), 2, torch.ones(3)),
        RuntimeError,
        "Expected weight to be a vector",
    ),
    (lambda m: m.group_norm(torch.zeros(1, 4, 1), 4), ValueError, "Expected more than 1 value per channel"),
    (lambda m: m.group_norm(torch.zeros(2, 4), 0), ZeroDivisionError, ""),
    (
        lambda m: m.batch_norm(torch.zeros(1, 3), None, None, training=True),
        ValueError,
        "more than 1 value per",
    ),
    (
        lambda m: m.batch_norm(torch.zeros(4, 3), None, None, training=True, eps=0),
        ValueError,
        "eps must be posit",
    ),
    (lambda m: m.batch_norm(torch.zeros(4, 3), None, None, eps=-1.0), ValueError, "eps must be non-negative"),
    (lambda m: m.batch_norm(torch.zeros(3), None, None, training=True), IndexError, "Dimension out of range"),
    (
        lambda m: m.batch_norm(torch.zeros(4, 3), None, None),
        RuntimeError,
        "running_mean must be defined in eval",
    ),
    (
        lambda m: m.batch_norm(torch.zeros(4, 3), torch.zeros(3), None, training=True),
        ValueError,
        "running_mean and running_var must either both be None or neither",
    ),
    (
        lambda m: m.batch_norm(torch.zeros(4, 3), torch.zeros(4), torch.ones(4)),
        RuntimeError,
        "running_mean should contain 3 elements not 4",
    ),
    (
        lambda m: m.batch_norm(torch.zeros(4, 3), None, None, torch.ones(2), training=True),
        RuntimeError,
        "weight should contain 3 elements not 2",
    ),
    (
        lambda m: m.batch_norm(torch.zeros(4, 3, dtype=torch.float64), torch.zeros(3), torch.ones(3)),
        RuntimeError,
        "mixed dtype",
    ),
    (
        lambda m: m.batch_norm(torch.zeros(4, 3), torch.zeros(3), torch.ones(3), momentum=None),
        TypeError,
        "momentum",
    ),
    (lambda m: m.instance_norm(torch.zeros(2, 3, 1)), ValueError, "Expected more than 1 spatial element"),
    (
        lambda m: m.instance_norm(torch.zeros(2, 3, 4), use_input_stats=False),
        RuntimeError,
        "running_mean and run",
    ),
    (
        lambda m: m.instance_norm(torch.zeros(2, 3, 4), weight=torch.ones(4)),
        RuntimeError,
        "weight should contain",
    ),
    (
        lambda m: m.local_response_norm(torch.zeros(2, 3), 2),
        ValueError,
        "Expected 3D or higher dimensionality",
    ),
    (
        lambda m: m.local_response_norm(torch.zeros(2, 3, 4), 0),
        RuntimeError,
        "size must be positive|kernel size",
    ),
    (lambda m: m.normalize(torch.zeros(2, 3), dim=2), IndexError, "out of range"),
    (lambda m: m.normalize(torch.zeros(2, 3), dim=(0, -2)), RuntimeError, "more than once"),
    (lambda m: m.normalize(torch.zeros(2, 3, dtype=torch.long)), RuntimeError, "floating point"),
    (
        lambda m: m.instance_norm(torch.zeros(2, 3, 4), torch.zeros(3), None),
        ValueError,
        "running_mean and running_var must either both be None or neither",
    ),
    (
        lambda m: m.instance_norm(torch.zeros(2, 3, 4), torch.zeros(3), None, use_input_stats=False),
        RuntimeError,
        "Expected running_mean and running_var to be defined when use_input_stats is false",
    ),
    (
        lambda m: m.batch_norm(torch.zeros(4, 3), torch.zeros(3), None),
        RuntimeError,
        "running_var must be defined in evaluation mode",
    ),
    *[
        (call, NotImplementedError, "not implemented for torch.int64")
        for call in (
            lambda m: m.layer_norm(torch.ones(2, 3, dtype=torch.long), (3,)),
            lambda m: m.rms_norm(torch.ones(2, 3, dtype=torch.long), (3,)),
            lambda m: m.group_norm(torch.ones(2, 4, dtype=torch.long), 2),
            lambda m: m.batch_norm(torch.ones(2, 3, dtype=torch.long), None, None, training=True),
            lambda m: m.instance_norm(torch.ones(2, 3, 4, dtype=torch.long)),
        )
    ],
]


@pytest.mark.parametrize(("call", "error", "match"), ERRORS)
def test_errors_have_torchs_types(call, error, match):
    with pytest.raises(error):
        call(torch_F)
    with pytest.raises(error, match=match or None):
        call(F)


def test_batch_norm_module_step_by_step():
    for momentum, affine, bias in ((0.1, True, True), (None, True, False), (0.5, False, True)):
        torch.manual_seed(0)
        ours = nn.BatchNorm2d(3, momentum=momentum, affine=affine, bias=bias, dtype=torch.float64)
        theirs = torch_nn.BatchNorm2d(3, momentum=momentum, affine=affine, bias=bias, dtype=torch.float64)
        if affine:
            with torch.no_grad():
                theirs.weight.uniform_()
            ours.load_state_dict(theirs.state_dict(), strict=True)
        for step in range(6):
            train = step != 3
            ours.train(train)
            theirs.train(train)
            x = torch.randn(4, 3, 2, 5, dtype=torch.float64) * (step + 1) + step
            assert_matches_torch(ours, theirs, x)
            for name, buffer in theirs.named_buffers():
                assert_close(getattr(ours, name), buffer, f"{name} after step {step}")
            trained = sum(1 for earlier in range(step + 1) if earlier != 3)
            assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == trained
        theirs.load_state_dict(ours.state_dict(), strict=True)


def test_batch_norm_module_forward_tracks_like_torch():
    # the module's buffers after three training steps and one eval step, momentum=None: cumulative average
    ours, theirs = nn.BatchNorm1d(4, momentum=None), torch_nn.BatchNorm1d(4, momentum=None)
    batches = [torch.randn(8, 4) * i for i in range(1, 4)]
    for x in batches:
        ours(x)
        theirs(x)
    assert_close(ours.running_mean, theirs.running_mean)
    assert_close(ours.running_mean, torch.stack([x.mean(0) for x in batches]).mean(0))
    assert_close(ours.running_var, theirs.running_var)
    assert ours.num_batches_tracked.dtype == torch.long and ours.num_batches_tracked.item() == 3


@pytest.mark.parametrize("track_running_stats", [True, False])
def test_batch_norm_without_tracking_uses_batch_stats_in_eval(track_running_stats):
    ours = nn.BatchNorm1d(3, track_running_stats=track_running_stats).eval()
    theirs = torch_nn.BatchNorm1d(3, track_running_stats=track_running_stats).eval()
    x = torch.randn(5, 3, 2)
    assert_matches_torch(ours, theirs, x)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [name for name, _ in ours.named_buffers()] == [name for name, _ in theirs.named_buffers()]


@pytest.mark.parametrize("track", [True, False])
@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("InstanceNorm1d", (2, 3, 5)),
        ("InstanceNorm1d", (3, 5)),
        ("InstanceNorm2d", (2, 3, 4, 2)),
        ("InstanceNorm2d", (3, 4, 2)),
        ("InstanceNorm3d", (2, 3, 2, 2, 2)),
        ("InstanceNorm3d", (3, 2, 2, 2)),
    ],
)
def test_instance_norm_modules_step_by_step(name, shape, track):
    ours = getattr(nn, name)(3, affine=True, track_running_stats=track, momentum=0.3, dtype=torch.float64)
    theirs = getattr(torch_nn, name)(
        3, affine=True, track_running_stats=track, momentum=0.3, dtype=torch.float64
    )
    with torch.no_grad():
        theirs.weight.normal_()
        theirs.bias.normal_()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    for step in range(4):
        ours.train(step != 2)
        theirs.train(step != 2)
        assert_matches_torch(ours, theirs, torch.randn(shape, dtype=torch.float64) + step)
        for buffer_name, buffer in theirs.named_buffers():
            assert_close(getattr(ours, buffer_name), buffer, buffer_name)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    assert repr(ours) == repr(theirs)


def test_instance_norm_channel_mismatch_like_torch():
    with pytest.raises(ValueError, match=r"expected input's size at dim=1 to match num_features \(4\)"):
        nn.InstanceNorm1d(4, affine=True)(torch.randn(2, 3, 5))
    for module in (nn.InstanceNorm1d(4), torch_nn.InstanceNorm1d(4)):
        with pytest.warns(UserWarning, match="input's size at dim=1 does not match num_features"):
            module(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.InstanceNorm1d(3)(torch.randn(2, 3, 4, 4))


@pytest.mark.parametrize(
    ("name", "bad"),
    [("BatchNorm1d", (2, 3, 4, 5)), ("BatchNorm2d", (2, 3, 4)), ("BatchNorm3d", (2, 3, 4, 4))],
)
def test_batch_norm_rank_errors(name, bad):
    with pytest.raises(ValueError, match=rf"expected .*D input \(got {len(bad)}D input\)"):
        getattr(nn, name)(3)(torch.randn(bad))
    with pytest.raises(ValueError):
        getattr(torch_nn, name)(3)(torch.randn(bad))


def test_old_state_dict_without_num_batches_tracked_loads():
    theirs = torch_nn.BatchNorm1d(3)
    state = theirs.state_dict()
    del state["num_batches_tracked"]
    state._metadata[""]["version"] = 1  # a checkpoint from before num_batches_tracked
    ours = nn.BatchNorm1d(3)
    ours.load_state_dict(state, strict=True)
    assert ours.num_batches_tracked.item() == 0


def test_instance_norm_rejects_stray_running_stats_like_torch():
    state = torch_nn.BatchNorm1d(3).state_dict()
    state._metadata = {"": {}}  # no version: a pre-0.4 checkpoint
    for module in (nn.InstanceNorm1d(3, affine=True), torch_nn.InstanceNorm1d(3, affine=True)):
        with pytest.raises(RuntimeError, match="Unexpected running stats buffer"):
            module.load_state_dict(state, strict=True)


MODULES = [
    ("BatchNorm1d", (3,), {}),
    ("BatchNorm2d", (3,), {"eps": 1e-3, "momentum": None, "affine": False}),
    ("BatchNorm3d", (3,), {"track_running_stats": False, "bias": False}),
    ("InstanceNorm2d", (3,), {}),
    ("InstanceNorm3d", (3,), {"affine": True, "track_running_stats": True}),
    ("LayerNorm", (4,), {}),
    ("LayerNorm", ([3, 4],), {"eps": 1e-3, "elementwise_affine": False}),
    ("LayerNorm", ((4,),), {"bias": False}),
    ("GroupNorm", (2, 4), {}),
    ("GroupNorm", (1, 4), {"affine": False}),
    ("GroupNorm", (4, 4), {"bias": False, "eps": 0.1}),
    ("RMSNorm", (4,), {}),
    ("RMSNorm", ([3, 4],), {"eps": 1e-5, "elementwise_affine": False}),
    ("LocalResponseNorm", (3,), {}),
    ("LocalResponseNorm", (2,), {"alpha": 0.1, "beta": 0.5, "k": 2.0}),
]
INPUTS = {"1d": (5, 3, 4), "2d": (5, 3, 4, 4), "3d": (5, 3, 2, 3, 4)}


@pytest.mark.parametrize(("name", "args", "kwargs"), MODULES, ids=[f"{n}{a}{k}" for n, a, k in MODULES])
def test_modules_match_torch(name, args, kwargs):
    torch.manual_seed(0)
    theirs = (
        getattr(torch_nn, name)(*args, **kwargs, dtype=torch.float64)
        if name != "LocalResponseNorm"
        else (getattr(torch_nn, name)(*args, **kwargs))
    )
    ours = (
        getattr(nn, name)(*args, **kwargs, dtype=torch.float64)
        if name != "LocalResponseNorm"
        else (getattr(nn, name)(*args, **kwargs))
    )
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (key, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert_close(a, b, key)
        assert a.dtype == b.dtype
    with torch.no_grad():
        for parameter in theirs.parameters():
            parameter.normal_()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(INPUTS["3d" if "3d" in name else "2d" if "2d" in name else "1d"], dtype=torch.float64)
    if name in ("LayerNorm", "RMSNorm", "GroupNorm", "LocalResponseNorm"):
        x = torch.randn(5, 4, 3, 4, dtype=torch.float64)
    x.requires_grad_()
    for training in (True, False):
        ours.train(training)
        theirs.train(training)
        assert_matches_torch(ours, theirs, x)
        for parameter_a, parameter_b in zip(ours.parameters(), theirs.parameters()):
            parameter_a.grad = parameter_b.grad = None
        ours(x).square().sum().backward()
        theirs(x).square().sum().backward()
        for (key, parameter_a), parameter_b in zip(ours.named_parameters(), theirs.parameters()):
            assert_close(parameter_a.grad, parameter_b.grad, f"{key}.grad")
    theirs.load_state_dict(ours.state_dict(), strict=True)
    if hasattr(theirs, "reset_parameters"):
        ours.reset_parameters()
        theirs.reset_parameters()
        for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()):
            assert_close(a, b)


def test_group_norm_module_channel_error():
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible by num_groups \(2\)"):
        nn.GroupNorm(2, 5)
    with pytest.raises(ValueError):
        torch_nn.GroupNorm(2, 5)


@settings(max_examples=20)
@given(st.integers(0, 3))
def test_literal_form_matches_fast_form(seed):
    from helpers import in_both_forms

    torch.manual_seed(seed)
    x = torch.randn(2, 6, 5, dtype=torch.float64)
    with warnings.catch_warnings():
        fast, literal = in_both_forms(lambda: F.local_response_norm(x, 3) + F.group_norm(x, 3))
    assert_close(literal, fast)
