"""Pooling against torch: hypothesis over valid configurations (ceil_mode windows that start in
the padding and run past it, unbatched input), float64 and float32, exact max-pool indices,
gradcheck, special values, dtypes, the max_unpool round trip, errors and modules."""

import math

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn as torch_nn

import scratchnn
import scratchnn.functional as F
from helpers import assert_close, assert_matches_torch, in_both_forms
from scratchnn import nn
from scratchnn._trace import recording
from scratchnn._windows import output_size
from scratchnn.functional.pooling import PoolArgs
from scratchnn.schedules import pooling


def distinct(shape, dtype=torch.float64, positive=False):
    """Values without ties (a shuffled range, scaled), so the argmax of every window is unique."""
    values = torch.randperm(math.prod(shape)).to(dtype).view(shape)
    return values + 1 if positive else (values - values.numel() / 2) / 7


def ours_theirs(kind: str, n: int):
    name = f"{kind}{n}d"
    return getattr(F, name), getattr(torch_F, name)


@st.composite
def pool_configs(draw, kind: str):
    """A valid window pooling: padding ≤ kernel/2 and at least one window (torch's rules)."""
    n = draw(st.integers(1, 3))
    kernel = [draw(st.integers(1, 4)) for _ in range(n)]
    stride = [draw(st.integers(1, 3)) for _ in range(n)]
    padding = [draw(st.integers(0, k // 2)) for k in kernel]
    dilation = [draw(st.integers(1, 3)) if kind == "max_pool" else 1 for _ in range(n)]
    ceil_mode = draw(st.booleans())
    smallest = [max(d * (k - 1) + 1 - 2 * p, 1) for k, d, p in zip(kernel, dilation, padding)]
    if kind == "avg_pool" and n == 3:  # torch's avg_pool3d wants the unpadded input ≥ the kernel
        smallest = [max(s, k) for s, k in zip(smallest, kernel)]
    spatial = [s + draw(st.integers(0, 5)) for s in smallest]
    batch = draw(st.sampled_from([[], [1], [2]]))
    shape = [*batch, draw(st.integers(1, 3)), *spatial]

    def pick(values, default):  # an int, a tuple, or (for stride) None meaning the kernel
        if values == default:
            return (
                draw(st.sampled_from([values[0], tuple(values)])) if len(set(values)) == 1 else tuple(values)
            )
        return values[0] if len(set(values)) == 1 and draw(st.booleans()) else tuple(values)

    kwargs = dict(kernel_size=pick(kernel, kernel), padding=pick(padding, padding), ceil_mode=ceil_mode)
    kwargs["stride"] = None if stride == kernel and draw(st.booleans()) else pick(stride, stride)
    if kind == "max_pool":
        kwargs["dilation"] = pick(dilation, dilation)
        kwargs["return_indices"] = draw(st.booleans())
    if kind == "avg_pool":
        kwargs["count_include_pad"] = draw(st.booleans())
        if n > 1 and draw(st.booleans()):
            kwargs["divisor_override"] = draw(st.sampled_from([1, 3, -2]))
    return n, shape, kwargs


def windows_touch_input(n, shape, kwargs) -> bool:
    """Whether every window has a cell inside the input. A dilated window can sit entirely in
    the padding; torch's max-pool backward then aborts the process (its index is off the plane)."""

    def as_tuple(value, default):
        return default if value is None else value if isinstance(value, tuple) else (value,) * n

    kernel = as_tuple(kwargs["kernel_size"], None)
    stride = as_tuple(kwargs.get("stride"), kernel)
    padding, dilation = as_tuple(kwargs.get("padding", 0), 0), as_tuple(kwargs.get("dilation", 1), 1)
    for size, k, s, p, d in zip(shape[-n:], kernel, stride, padding, dilation):
        for o in range(output_size(size, k, s, 2 * p, d, kwargs.get("ceil_mode", False))):
            if not any(0 <= o * s - p + j * d < size for j in range(k)):
                return False
    return True


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kind", ["max_pool", "avg_pool"])
def test_pooling_matches_torch(kind, dtype):
    @settings(max_examples=120 if dtype == torch.float64 else 60)
    @given(pool_configs(kind))
    def check(config):
        n, shape, kwargs = config
        grad = windows_touch_input(n, shape, kwargs)
        assert_matches_torch(*ours_theirs(kind, n), distinct(shape, dtype), grad=grad, **kwargs)

    check()


def test_windows_entirely_in_padding():
    """Value -inf and torch's (off-plane) index; our gradient simply skips such a window."""
    x = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    kwargs = dict(kernel_size=2, padding=1, dilation=4, return_indices=True)
    assert not windows_touch_input(1, x.shape, kwargs)
    out, indices = assert_matches_torch(F.max_pool1d, torch_F.max_pool1d, x, grad=False, **kwargs)
    assert out.item() == -math.inf and indices.item() == 3
    x.requires_grad_()
    (grad,) = torch.autograd.grad(F.max_pool1d(x, 2, padding=1, dilation=4).sum(), x, allow_unused=True)
    assert grad is None or not grad.any()


@pytest.mark.parametrize(
    "size, kernel, stride, padding, expected",
    [
        (5, 2, 2, 1, 3),  # a 4th window would start in the right padding: dropped
        (6, 3, 2, 1, 4),  # the last window starts inside the input and runs past the right padding
        (4, 3, 3, 1, 2),  # the last window starts in the last input cell
        (1, 2, 3, 1, 1),
        (7, 4, 3, 2, 3),  # a 4th would start at 9 - 2 = 7: in the right padding
    ],
)
@pytest.mark.parametrize("kind", ["max_pool", "avg_pool"])
def test_ceil_mode_edges(kind, size, kernel, stride, padding, expected):
    assert output_size(size, kernel, stride, 2 * padding, 1, ceil_mode=True) == expected
    extra = {"return_indices": True} if kind == "max_pool" else {"count_include_pad": False}
    for n in (1, 2):
        x = distinct((2, *[size] * n))
        out = assert_matches_torch(*ours_theirs(kind, n), x, kernel, stride, padding, ceil_mode=True, **extra)
        assert (out[0] if kind == "max_pool" else out).shape[-1] == expected


@st.composite
def adaptive_configs(draw):
    n = draw(st.integers(1, 3))
    spatial = [draw(st.integers(1, 9)) for _ in range(n)]
    output = [draw(st.integers(1, 11)) for _ in range(n)]
    if n > 1 and draw(st.booleans()):
        output[draw(st.integers(0, n - 1))] = None  # keep that size
    output_size = output[0] if (n == 1 or len(set(output)) == 1) and draw(st.booleans()) else tuple(output)
    batch = draw(st.sampled_from([[], [2]]))
    return n, [*batch, draw(st.integers(1, 3)), *spatial], output_size


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_adaptive_pooling_matches_torch(dtype):
    @settings(max_examples=100 if dtype == torch.float64 else 40)
    @given(adaptive_configs(), st.booleans())
    def check(config, return_indices):
        n, shape, output_size = config
        x = distinct(shape, dtype)
        assert_matches_torch(*ours_theirs("adaptive_avg_pool", n), x, output_size)
        assert_matches_torch(*ours_theirs("adaptive_max_pool", n), x, output_size, return_indices)

    check()


@st.composite
def lp_configs(draw):
    n = draw(st.integers(1, 3))
    kernel = [draw(st.integers(1, 3)) for _ in range(n)]
    stride = [draw(st.integers(1, 3)) for _ in range(n)]
    spatial = [k + draw(st.integers(0, 4)) for k in kernel]
    kernel_size = kernel[0] if n == 1 else tuple(kernel)
    stride_arg = draw(st.sampled_from([None, tuple(stride)]))
    norm_type = draw(st.sampled_from([1, 2, 1.5, 3.0, math.inf]))
    return n, [*draw(st.sampled_from([[], [2]])), 2, *spatial], norm_type, kernel_size, stride_arg


def test_lp_pooling_matches_torch():
    @settings(max_examples=80)
    @given(lp_configs(), st.booleans())
    def check(config, ceil_mode):
        n, shape, norm_type, kernel_size, stride = config
        x = distinct(shape, positive=norm_type != math.inf)  # fractional powers of positive values
        ours, theirs = ours_theirs("lp_pool", n)
        assert_matches_torch(ours, theirs, x, norm_type, kernel_size, stride, ceil_mode)

    check()


def test_lp_pool_minus_inf_is_the_smallest_magnitude():
    x = distinct((2, 6, 6))
    assert_matches_torch(F.lp_pool2d, torch_F.lp_pool2d, x, -math.inf, 2)


@st.composite
def unpool_configs(draw):
    n = draw(st.integers(1, 3))
    kernel = [draw(st.integers(1, 3)) for _ in range(n)]
    stride = [draw(st.integers(1, 3)) for _ in range(n)]
    padding = [draw(st.integers(0, k // 2)) for k in kernel]
    spatial = [max(k - 2 * p, 1) + draw(st.integers(0, 4)) for k, p in zip(kernel, padding)]
    return n, [*draw(st.sampled_from([[], [2]])), 2, *spatial], tuple(kernel), tuple(stride), tuple(padding)


def test_max_unpool_round_trip():
    """unpool(pool(x)) puts every window maximum back in place; pooling it again gives the same
    maxima and indices (positive inputs: the zeros in between never win)."""

    @settings(max_examples=80)
    @given(unpool_configs(), st.booleans())
    def check(config, give_size):
        n, shape, kernel, stride, padding = config
        x = distinct(shape, positive=True)
        pool, torch_pool = ours_theirs("max_pool", n)
        unpool, torch_unpool = ours_theirs("max_unpool", n)
        out, indices = assert_matches_torch(pool, torch_pool, x, kernel, stride, padding, return_indices=True)
        size = tuple(shape[-n:])
        default = [(o - 1) * s + k - 2 * p for o, k, s, p in zip(out.shape[-n:], kernel, stride, padding)]
        if not give_size and list(size) != default:
            return  # without output_size the plane is the default one, where these indices do not fit
        output_size = size if give_size else None
        back = assert_matches_torch(unpool, torch_unpool, out, indices, kernel, stride, padding, output_size)
        assert back.shape == x.shape
        again, again_indices = pool(back, kernel, stride, padding, return_indices=True)
        assert torch.equal(again, out) and torch.equal(again_indices, indices)

    check()


def test_max_unpool_output_size_with_batch_and_channel_dims():
    x = distinct((2, 3, 5, 7))
    out, indices = torch_F.max_pool2d(x, 2, return_indices=True)
    assert_matches_torch(F.max_unpool2d, torch_F.max_unpool2d, out, indices, 2, output_size=[2, 3, 5, 7])


@pytest.mark.parametrize(
    "op, args",
    [
        ("max_pool1d", ((2, 3, 7), 3, 2, 1, 2, True)),
        ("max_pool2d", ((1, 2, 5, 6), (2, 3), (2, 1), (1, 1), (1, 2), True)),
        ("max_pool3d", ((2, 4, 3, 5), 2, 1, 1, 1, True)),
        ("avg_pool1d", ((1, 2, 7), 3, 2, 1, True, False)),
        ("avg_pool2d", ((1, 2, 5, 6), (2, 3), 2, 1, True, True, 5)),
        ("avg_pool3d", ((1, 2, 4, 3, 5), 3, 2, 1, True, False)),
        ("adaptive_avg_pool2d", ((1, 2, 5, 6), (3, 4))),
        ("adaptive_max_pool3d", ((2, 4, 3, 5), (3, 2, 4))),
        ("lp_pool2d", ((1, 2, 5, 6), 2.5, 2, None, True)),
    ],
)
def test_gradcheck(op, args):
    shape, *rest = args
    x = distinct(shape, positive=op.startswith("lp")).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: getattr(F, op)(x, *rest), (x,))


def test_gradcheck_max_unpool():
    out, indices = torch_F.max_pool2d(distinct((1, 2, 5, 6)), 2, return_indices=True)
    values = out.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda v: F.max_unpool2d(v, indices, 2, output_size=(5, 6)), (values,))


NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    "values, kwargs",
    [
        ([[NAN, 1.0, NAN, 3.0]], dict(kernel_size=4, padding=1)),  # torch keeps the *last* NaN
        ([[-INF, -INF, 3.0, -INF]], dict(kernel_size=2, padding=1)),  # all -inf: the first cell inside
        ([[2.0, 2.0, 1.0, 2.0, 2.0]], dict(kernel_size=3, stride=1, padding=1)),  # ties: the first
        ([[-INF, 1.0, -INF, -INF]], dict(kernel_size=2, stride=1, padding=1, ceil_mode=True)),
    ],
)
def test_max_pool_special_values(values, kwargs):
    x = torch.tensor(values, dtype=torch.float64)
    out = assert_matches_torch(F.max_pool1d, torch_F.max_pool1d, x, return_indices=True, **kwargs)
    assert out[1].dtype == torch.int64


def test_max_pool_gradient_goes_to_one_of_tied_cells():
    x = torch.ones(1, 4, 4, dtype=torch.float64)
    assert_matches_torch(F.max_pool2d, torch_F.max_pool2d, x, 2)  # one cell per window, as torch


def test_adaptive_max_pool_nan_and_ties():
    x = torch.tensor([[NAN, 1.0, NAN, 3.0, 3.0, -INF]], dtype=torch.float64)
    assert_matches_torch(F.adaptive_max_pool1d, torch_F.adaptive_max_pool1d, x, 2, True)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.int16, torch.uint8])
def test_integer_pooling(dtype):
    """Max pooling takes every integer dtype (max_pool1d only with return_indices, as torch);
    average pooling takes int64 only and divides like C, truncating toward zero."""
    low = 0 if dtype == torch.uint8 else -50
    x = torch.randint(low, 50, (2, 3, 6, 7), dtype=dtype)
    out = assert_matches_torch(F.max_pool2d, torch_F.max_pool2d, x, 3, 2, 1, return_indices=True)
    assert out[0].dtype == dtype
    assert_matches_torch(F.max_pool1d, torch_F.max_pool1d, x[0], 2, 1, 1, return_indices=True)
    assert_matches_torch(F.max_pool3d, torch_F.max_pool3d, x, 2, 1, 1)
    if dtype == torch.int64:
        assert_matches_torch(F.avg_pool2d, torch_F.avg_pool2d, x, 3, 2, 1, divisor_override=4)
        assert_matches_torch(F.avg_pool1d, torch_F.avg_pool1d, x[0], 3, 2, 1, True, False)
        assert_matches_torch(F.lp_pool2d, torch_F.lp_pool2d, x, 2, 2)
    else:
        for fn in (F.avg_pool2d, torch_F.avg_pool2d):
            with pytest.raises(NotImplementedError):
                fn(x, 2)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_reduced_precision_keeps_its_dtype(dtype):
    x = torch.randn(2, 3, 7, 6).to(dtype)
    for ours, theirs, args in [
        (F.max_pool2d, torch_F.max_pool2d, (3, 2, 1)),
        (F.avg_pool2d, torch_F.avg_pool2d, (3, 2, 1, True)),
        (F.adaptive_avg_pool2d, torch_F.adaptive_avg_pool2d, ((4, 3),)),
        (F.adaptive_max_pool2d, torch_F.adaptive_max_pool2d, ((4, 3),)),
    ]:
        assert_matches_torch(ours, theirs, x, *args, grad=False)


def test_empty_batch_and_empty_output():
    x = torch.randn(0, 3, 6, 6)
    assert_matches_torch(F.max_pool2d, torch_F.max_pool2d, x, 2, return_indices=True)
    assert_matches_torch(F.avg_pool2d, torch_F.avg_pool2d, x, 2)
    y = torch.randn(2, 3, 4, 4)  # torch's backward refuses an empty output: values only
    assert_matches_torch(F.adaptive_avg_pool2d, torch_F.adaptive_avg_pool2d, y, 0, grad=False)
    assert_matches_torch(F.adaptive_max_pool2d, torch_F.adaptive_max_pool2d, y, (0, 2), True, grad=False)


def test_avg_pool_with_many_windows_in_padding_counts_like_torch():
    x = torch.randn(1, 1, 3, 3, dtype=torch.float64)
    for count_include_pad in (True, False):
        assert_matches_torch(F.avg_pool2d, torch_F.avg_pool2d, x, 3, 2, 1, True, count_include_pad)


x4 = torch.randn(2, 3, 8, 8)
x3 = torch.randn(3, 8, 8)


def pooled():
    return torch_F.max_pool2d(x4, 2, return_indices=True)


# (ours, torch's, exception type, message pattern); torch is checked to raise the same type
ERRORS = [
    (lambda f: f.max_pool2d(x4, 3, padding=2), RuntimeError, r"max_pool2d: padding must be at most half"),
    (
        lambda f: f.avg_pool3d(x4[None], 3, padding=2),
        RuntimeError,
        r"avg_pool3d: padding must be at most half",
    ),
    (lambda f: f.max_pool1d(x3, 3, padding=2), RuntimeError, r"max_pool1d: padding must be at most half"),
    (lambda f: f.max_pool2d(x4, 3, padding=-1), RuntimeError, r"padding must be non-negative"),
    (lambda f: f.max_pool2d(x4, 0), RuntimeError, r"max_pool2d: kernel_size must be positive"),
    (lambda f: f.avg_pool2d(x4, 2, stride=0), RuntimeError, r"avg_pool2d: stride must be positive"),
    (lambda f: f.max_pool2d(x4, 2, dilation=0), RuntimeError, r"dilation must be positive"),
    (lambda f: f.max_pool2d(x4, 10), RuntimeError, r"output size \(0, 0\) is too small"),
    (lambda f: f.avg_pool1d(x3, 9), RuntimeError, r"avg_pool1d: output size \(0,\) is too small"),
    (lambda f: f.max_pool2d(x4[0, 0], 2), RuntimeError, r"max_pool2d: input must be 3-D or 4-D"),
    (lambda f: f.max_pool3d(x4[0], 2), RuntimeError, r"max_pool3d: input must be 4-D or 5-D"),
    (lambda f: f.avg_pool1d(x4, 2), RuntimeError, r"avg_pool1d: input must be 2-D or 3-D"),
    (lambda f: f.avg_pool2d(x4[0, 0], 2), IndexError, r"avg_pool2d: input must be 3-D or 4-D"),
    (lambda f: f.max_pool2d(torch.randn(2, 0, 4, 4), 2), RuntimeError, r"non-empty dims after the batch"),
    (lambda f: f.max_pool2d(x4, (2, 2, 2)), RuntimeError, r"kernel_size must be an int or a sequence of 2"),
    (lambda f: f.avg_pool2d(x4, 2, (1, 1, 1)), RuntimeError, r"stride must be an int or a sequence of 2"),
    (lambda f: f.max_pool1d(x3, (3, 3)), RuntimeError, r"kernel_size must be an int or a sequence of 1"),
    (lambda f: f.max_pool2d(x4, 2.0), TypeError, r"kernel_size must be an int or a sequence of ints"),
    (lambda f: f.avg_pool2d(x4, 3, divisor_override=0), RuntimeError, r"divisor_override must not be zero"),
    (lambda f: f.max_pool2d(x4 > 0, 2), NotImplementedError, r"not implemented for torch.bool"),
    (
        lambda f: f.max_pool1d(x3.long(), 2),
        NotImplementedError,
        r"max_pool1d: not implemented for torch.int64",
    ),
    (
        lambda f: f.adaptive_avg_pool2d(x4, (2, 2, 2)),
        RuntimeError,
        r"output_size must be an int or a sequence",
    ),
    (lambda f: f.adaptive_avg_pool2d(x4, -1), RuntimeError, r"output_size must be non-negative"),
    (lambda f: f.adaptive_max_pool2d(x4, -2), RuntimeError, r"output_size must be non-negative"),
    (
        lambda f: f.adaptive_avg_pool1d(x3, (2, 2)),
        RuntimeError,
        r"output_size must be an int or a sequence of 1",
    ),
    (lambda f: f.adaptive_avg_pool2d(x4[0, 0], 2), RuntimeError, r"input must be 3-D or 4-D"),
    (lambda f: f.adaptive_avg_pool2d(x4[0, 0], (2, 2)), ValueError, r"input must have at least 3 dims"),
    (lambda f: f.adaptive_max_pool2d(torch.randn(2, 3, 0, 4), 2), RuntimeError, r"non-empty dims"),
    (lambda f: f.adaptive_avg_pool2d(x4.long(), 2), NotImplementedError, r"not implemented for torch.int64"),
    (lambda f: f.lp_pool1d(x3, 2, (3,)), TypeError, r"lp_pool1d: kernel_size must be an int"),
    (lambda f: f.lp_pool2d(x4, 2, (3,)), ValueError, r"lp_pool2d: kernel_size must be an int or 2 ints"),
    (lambda f: f.max_unpool2d(*pooled(), 2, output_size=(12, 12)), ValueError, r"strictly between 6 and 10"),
    (lambda f: f.max_unpool2d(*pooled(), 2, output_size=(8, 8, 8)), ValueError, r"must have 2 or 4 entries"),
    (lambda f: f.max_unpool2d(pooled()[0], pooled()[1].int(), 2), RuntimeError, r"indices must be int64"),
    (lambda f: f.max_unpool2d(pooled()[0], pooled()[1] + 100, 2), RuntimeError, r"invalid max index 1\d\d"),
    (lambda f: f.max_unpool2d(pooled()[0], pooled()[1] - 100, 2), RuntimeError, r"invalid max index -"),
    (
        lambda f: f.max_unpool2d(pooled()[0], pooled()[1][:, :2], 2),
        RuntimeError,
        r"indices must have the shape",
    ),
    (lambda f: f.max_unpool2d(x4[0, 0], x4[0, 0].long(), 2), RuntimeError, r"input must be 3-D or 4-D"),
    (lambda f: f.max_unpool3d(x4, x4.long(), 2, stride=0), RuntimeError, r"stride must be positive"),
    (
        lambda f: f.max_unpool2d(x4.long(), x4.long(), 2),
        NotImplementedError,
        r"not implemented for torch.int64",
    ),
]


@pytest.mark.parametrize("call, error, pattern", ERRORS)
def test_errors_match_torch(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(F)
    with pytest.raises(error):
        call(torch_F)


MODULES = [
    ("MaxPool1d", (3,), {}),
    ("MaxPool2d", (3, 2, 1, 1, True, True), {}),  # torch's order: ..., return_indices, ceil_mode
    ("MaxPool3d", ((2, 2, 1),), dict(stride=(1, 2, 1), dilation=(2, 1, 1))),
    ("AvgPool1d", (3, 2, 1, True, False), {}),
    ("AvgPool2d", ((2, 3),), dict(ceil_mode=True, divisor_override=2)),
    ("AvgPool3d", (2, 1, 1, False, False, 3), {}),
    ("LPPool1d", (2, 3), dict(stride=2)),
    ("LPPool2d", (1.5, (2, 3), None, True), {}),
    ("LPPool3d", (3, 2), {}),
    ("AdaptiveAvgPool1d", (3,), {}),
    ("AdaptiveAvgPool2d", ((None, 3),), {}),
    ("AdaptiveAvgPool3d", (2,), {}),
    ("AdaptiveMaxPool1d", (3, True), {}),
    ("AdaptiveMaxPool2d", ((4, None),), {}),
    ("AdaptiveMaxPool3d", ((1, 2, 3),), dict(return_indices=True)),
]
SHAPES = {"1d": (2, 3, 9), "2d": (2, 3, 7, 8), "3d": (2, 3, 5, 6, 7)}


@pytest.mark.parametrize("name, args, kwargs", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(name, args, kwargs):
    ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch_nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.__dict__.keys() >= {k for k in theirs.__dict__ if not k.startswith("_")}
    for key in ("kernel_size", "stride", "padding", "dilation", "output_size", "norm_type", "ceil_mode"):
        assert getattr(ours, key, None) == getattr(theirs, key, None)
    x = distinct(SHAPES[name[-2:]], positive=name.startswith("LP"))
    assert_matches_torch(ours, theirs, x)
    assert ours.state_dict().keys() == theirs.state_dict().keys() == set()


@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_modules(n):
    pool = getattr(nn, f"MaxPool{n}d")(2, stride=2, return_indices=True)
    unpool, torch_unpool = getattr(nn, f"MaxUnpool{n}d")(2), getattr(torch_nn, f"MaxUnpool{n}d")(2)
    assert repr(unpool) == repr(torch_unpool)
    assert (unpool.kernel_size, unpool.stride, unpool.padding) == ((2,) * n, (2,) * n, (0,) * n)
    x = distinct((2, 3, *[5] * n))
    out, indices = pool(x)
    assert_close(out, torch_F.max_pool1d(x, 2) if n == 1 else getattr(torch_F, f"max_pool{n}d")(x, 2))
    assert_matches_torch(unpool, torch_unpool, out, indices, output_size=x.shape[-n:])


def test_module_reprs_store_arguments_like_torch():
    assert (
        repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    )
    assert repr(nn.AvgPool1d(4)) == "AvgPool1d(kernel_size=(4,), stride=(4,), padding=(0,))"
    assert repr(nn.LPPool2d(2, 3)) == "LPPool2d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)"
    assert (
        repr(nn.MaxUnpool3d(2, 1))
        == "MaxUnpool3d(kernel_size=(2, 2, 2), stride=(1, 1, 1), padding=(0, 0, 0))"
    )
    assert repr(nn.AdaptiveMaxPool2d((None, 7))) == "AdaptiveMaxPool2d(output_size=(None, 7))"


@pytest.mark.parametrize("stride", [None, []])
def test_stride_none_or_empty_means_the_kernel(stride):
    x = distinct((2, 3, 7, 9))
    out = assert_matches_torch(F.max_pool2d, torch_F.max_pool2d, x, (2, 3), stride)
    assert out.shape == (2, 3, 3, 3)
    assert_matches_torch(F.avg_pool2d, torch_F.avg_pool2d, x, (2, 3), stride)
    assert_matches_torch(F.lp_pool2d, torch_F.lp_pool2d, x.abs(), 2, (2, 3), stride or None)


# ---------------------------------------------------------------------------------------------
# The fast form (the default: shifted slices, separable sums, custom backward passes) against the
# literal form (the window view, reduced) and against torch, on inputs full of ties, NaN and ±inf.


@st.composite
def pool_inputs(draw, kind: str, dtype=torch.float64):
    """A valid configuration and an input: distinct values, small integers (many ties), or small
    integers with NaN, -inf and +inf mixed in."""
    n, shape, kwargs = draw(pool_configs(kind))
    style = draw(st.sampled_from(["distinct", "ties", "specials"]))
    if style == "distinct":
        return n, shape, kwargs, distinct(shape, dtype)
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    x = torch.randint(-2, 3, shape, generator=generator).to(dtype)
    if style == "specials":
        pick = torch.rand(shape, generator=generator)
        x[pick < 0.15] = NAN
        x[(pick >= 0.15) & (pick < 0.3)] = -INF
        x[(pick >= 0.3) & (pick < 0.35)] = INF
    return n, shape, kwargs, x


def forward_backward(op, x, **kwargs):
    """op's outputs and the gradient of its values (for a fixed random cotangent) w.r.t. x."""
    x = x.detach().clone().requires_grad_(x.is_floating_point())
    out = op(x, **kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    if not x.requires_grad:
        return (*outs, None)
    generator = torch.Generator().manual_seed(1)
    cotangent = torch.randn(outs[0].shape, generator=generator, dtype=torch.float64).to(outs[0].dtype)
    (grad,) = torch.autograd.grad(outs[0], x, cotangent, allow_unused=True)
    return (*outs, grad if grad is not None else torch.zeros_like(x))


def assert_forms_agree(op, x, **kwargs):
    fast, literal = in_both_forms(lambda: forward_backward(op, x, **kwargs))
    for i, (a, b) in enumerate(zip(fast, literal)):
        if b is None:
            assert a is None
        elif b.is_floating_point():
            assert_close(a, b, f"fast vs literal, output {i}")
        else:
            assert torch.equal(a, b), f"fast vs literal, output {i} (indices)"
    return fast


@pytest.mark.parametrize("kind", ["max_pool", "avg_pool"])
def test_fast_form_equals_literal_form(kind):
    """Values, indices (exactly) and gradients, float64, incl. windows of ties, NaN and ±inf."""

    @settings(max_examples=80)
    @given(pool_inputs(kind))
    def check(case):
        n, _, kwargs, x = case
        assert_forms_agree(getattr(F, f"{kind}{n}d"), x, **kwargs)

    check()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_max_pool_ties_and_special_values_match_torch(dtype):
    """torch's loop: the first maximum in window order, the last NaN, the first cell inside the
    input for a window of -inf; the gradient goes to that one cell."""

    @settings(max_examples=60 if dtype == torch.float64 else 30)
    @given(pool_inputs("max_pool", dtype))
    def check(case):
        n, shape, kwargs, x = case
        grad = windows_touch_input(n, shape, kwargs)
        assert_matches_torch(*ours_theirs("max_pool", n), x, grad=grad, **kwargs)

    check()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int32, torch.uint8])
def test_fast_form_other_dtypes(dtype):
    """Half precision (float32 argmax bookkeeping) and integers: same values and indices as the
    literal form and torch; gradients of the halves agree with the literal form."""
    x = distinct((2, 3, 9, 8)) if dtype.is_floating_point else torch.randint(0, 9, (2, 3, 9, 8))
    x = x.to(dtype)
    out, indices, *_ = assert_forms_agree(
        F.max_pool2d, x, kernel_size=3, stride=2, padding=1, return_indices=True
    )
    expected, expected_indices = torch_F.max_pool2d(x, 3, 2, 1, return_indices=True)
    assert torch.equal(out, expected) and torch.equal(indices, expected_indices)
    if dtype.is_floating_point:
        assert_forms_agree(F.avg_pool2d, x, kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True)


def test_argmax_bookkeeping_in_float64_for_large_planes(monkeypatch):
    """Displacements past float32's exact integers switch the bookkeeping to float64."""
    x = distinct((2, 3, 11, 13), torch.float32)
    monkeypatch.setattr(pooling, "FLOAT32_EXACT_INTEGERS", 0)
    assert_matches_torch(F.max_pool2d, torch_F.max_pool2d, x, 3, 2, 1, 2, True, True)


@pytest.mark.parametrize(
    "op, shape, args",
    [
        ("max_pool2d", (2, 3, 12, 12), (12,)),  # 144 offsets, one window per plane: the window view
        ("max_pool1d", (2, 3, 70), (70, 1, 0, 1, False, True)),
        ("avg_pool1d", (2, 3, 40), (16,)),  # tiling windows, one reduction; 8 cells past the last window
        ("avg_pool2d", (2, 3, 32, 20), ((16, 20),)),
        ("avg_pool2d", (2, 3, 9, 40), ((3, 16), (3, 16))),  # a reshaped pass beside a sliced one
        ("avg_pool2d", (2, 3, 8, 6), (2,)),  # small tiles: slices forward, one broadcast backward
        ("avg_pool3d", (2, 2, 5, 6, 7), (2, 2, 0, True)),  # ceil mode: the last windows are cut
        ("adaptive_avg_pool2d", (2, 3, 33, 17), (1,)),
        ("adaptive_avg_pool3d", (2, 2, 4, 18, 32), ((2, 1, 2),)),
        ("adaptive_max_pool2d", (2, 3, 10, 9), (1, True)),
    ],
)
def test_global_and_tiling_windows(op, shape, args):
    x = distinct(shape)
    assert_matches_torch(getattr(F, op), getattr(torch_F, op), x, *args)
    assert_forms_agree(lambda t: getattr(F, op)(t, *args), x)


@pytest.mark.parametrize(
    "op, args",
    [
        ("max_pool2d", (3, 2, 1)),
        ("max_pool3d", (2, 1, 1, 2, True)),
        ("avg_pool2d", (3, 2, 1, True, False)),
        ("avg_pool1d", (2,)),
    ],
)
def test_second_derivatives(op, args):
    """The custom backward passes are differentiable: gradgradcheck on tiny float64 inputs."""
    x = distinct((1, 2, 5, 6) if op.endswith("2d") else (1, 2, 4, 4, 5) if op.endswith("3d") else (2, 7))
    assert torch.autograd.gradgradcheck(lambda t: getattr(F, op)(t, *args), (x.requires_grad_(),))


def test_phase_buffer_boxes_are_the_window_slices():
    """Every kernel offset's box in the space-to-depth buffer is that offset's slice of the window view."""

    @settings(max_examples=100)
    @given(pool_configs("max_pool"))
    def check(config):
        n, shape, kwargs = config
        kernel, stride = kwargs["kernel_size"], kwargs["stride"]
        args = PoolArgs(
            "pool",
            torch.zeros(shape),
            n,
            kernel,
            stride,
            kwargs["padding"],
            kwargs["dilation"],
            kwargs["ceil_mode"],
        )
        x = distinct(shape)
        at, windows = pooling._shifted_slices(args.geometry, x, -7.0), args.geometry.windows(x, -7.0)
        for offset in pooling._offsets(args.kernel_size):
            assert torch.equal(at(offset), windows[(..., *offset)])

    check()


@pytest.mark.parametrize("op", ["max_pool2d", "avg_pool2d"])
def test_the_forms_run_different_algorithms(op):
    """The literal form reduces the window view; the fast form never builds it."""
    x = distinct((2, 3, 8, 8))
    for form, expected in (
        ("fast", "shifted slices" if op == "max_pool2d" else "separable"),
        ("literal", "windows"),
    ):
        with scratchnn.contraction(form), recording() as steps:
            getattr(F, op)(x, 3, 2, 1)
        kinds = [step.kind for step in steps]
        assert any(expected in step.text or expected == step.kind for step in steps), (form, steps)
        assert ("windows" in kinds) == (form == "literal")


@pytest.mark.parametrize("form", ["fast", "literal"])
def test_signed_zeros_keep_the_first(form):
    """-0.0 and +0.0 tie: the first one in window order is the value (its sign included) and the index."""
    x = torch.tensor([[[-0.0, 0.0, 0.0, -0.0, 0.0]]])
    with scratchnn.contraction(form):
        out, indices = F.max_pool1d(x, 2, 1, return_indices=True)
    expected, expected_indices = torch_F.max_pool1d(x, 2, 1, return_indices=True)
    assert torch.equal(indices, expected_indices)
    assert torch.equal(out.signbit(), expected.signbit())
