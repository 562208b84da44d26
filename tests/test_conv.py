"""conv1d/2d/3d against torch: hypothesis over valid configurations, gradcheck, both forms, errors."""

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn
import scratchnn.functional as F
from helpers import assert_matches_torch, in_both_forms

OPS = {1: (F.conv1d, torch_F.conv1d), 2: (F.conv2d, torch_F.conv2d), 3: (F.conv3d, torch_F.conv3d)}


@st.composite
def conv_configs(draw, n: int):
    """A valid convolution: the dilated kernel fits the padded input, channels divide by groups."""
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 3)) for _ in range(n)]
    dilation = [draw(st.integers(1, 3)) for _ in range(n)]
    padding_kind = draw(st.sampled_from(["int", "tuple", "same", "valid"]))
    stride = [1] * n if padding_kind == "same" else [draw(st.integers(1, 3)) for _ in range(n)]
    if padding_kind == "same":
        padding, pads = "same", [d * (k - 1) for k, d in zip(kernel, dilation)]
    elif padding_kind == "valid":
        padding, pads = "valid", [0] * n
    elif padding_kind == "int":
        padding = draw(st.integers(0, 2))
        pads = [2 * padding] * n
    else:
        padding = tuple(draw(st.integers(0, 2)) for _ in range(n))
        pads = [2 * p for p in padding]
    spatial = [
        max(d * (k - 1) + 1 - p, 1) + draw(st.integers(0, 4)) for k, d, p in zip(kernel, dilation, pads)
    ]
    batch = draw(st.sampled_from([None, 1, 2]))
    kwargs = dict(
        stride=draw(st.sampled_from([stride, tuple(stride)])) if len(set(stride)) > 1 else stride[0],
        padding=padding,
        dilation=tuple(dilation) if len(set(dilation)) > 1 else dilation[0],
        groups=groups,
    )
    shapes = (([] if batch is None else [batch]) + [c_in, *spatial], [c_out, c_in // groups, *kernel])
    return shapes, draw(st.booleans()), kwargs


def run_config(n, config, dtype=torch.float64):
    (input_shape, weight_shape), bias, kwargs = config
    x = torch.randn(input_shape, dtype=dtype)
    w = torch.randn(weight_shape, dtype=dtype)
    b = torch.randn(weight_shape[0], dtype=dtype) if bias else None
    ours, theirs = OPS[n]
    assert_matches_torch(ours, theirs, x, w, b, **kwargs)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_matches_torch_float64(n):
    @settings(max_examples=2000)
    @given(conv_configs(n))
    def check(config):
        run_config(n, config)

    check()


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_matches_torch_float32(n):
    @settings(max_examples=200)
    @given(conv_configs(n))
    def check(config):
        run_config(n, config, torch.float32)

    check()


@pytest.mark.parametrize("n", [1, 2, 3])
def test_literal_form_equals_fast_form(n):
    @settings(max_examples=100)
    @given(conv_configs(n))
    def check(config):
        (input_shape, weight_shape), _, kwargs = config
        x, w = torch.randn(input_shape, dtype=torch.float64), torch.randn(weight_shape, dtype=torch.float64)
        fast, literal = in_both_forms(lambda: OPS[n][0](x, w, **kwargs), budget=512)
        torch.testing.assert_close(literal, fast, rtol=1e-12, atol=1e-12)

    check()


def test_literal_form_gradients_match_torch():
    x, w = torch.randn(2, 4, 7, 6, dtype=torch.float64), torch.randn(6, 2, 3, 2, dtype=torch.float64)
    with scratchnn.contraction("literal", budget=4096):  # forces many chunks
        assert_matches_torch(
            F.conv2d,
            torch_F.conv2d,
            x,
            w,
            torch.randn(6, dtype=torch.float64),
            stride=(2, 1),
            padding="valid",
            dilation=(1, 2),
            groups=2,
        )


@pytest.mark.parametrize("form", scratchnn.FORMS)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_gradcheck(n, form):
    x = torch.randn(1, 2, *[4] * n, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 1, *[2] * n, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)
    with scratchnn.contraction(form, budget=256):
        assert torch.autograd.gradcheck(
            lambda *t: OPS[n][0](*t, padding="same", groups=2, dilation=2), (x, w, b)
        )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_forward(dtype):
    x, w = torch.randn(2, 4, 9, 9), torch.randn(6, 2, 3, 3)
    ours = F.conv2d(x.to(dtype), w.to(dtype), padding=1, groups=2)
    theirs = torch_F.conv2d(x.to(dtype), w.to(dtype), padding=1, groups=2)
    assert ours.dtype == dtype
    torch.testing.assert_close(ours.float(), theirs.float(), rtol=2e-2, atol=5e-2)


def test_non_contiguous_and_channels_last_inputs():
    x = torch.randn(2, 9, 8, 4, dtype=torch.float64).permute(0, 3, 1, 2)  # non-contiguous view
    w = torch.randn(5, 4, 3, 3, dtype=torch.float64)
    assert not x.is_contiguous()
    assert_matches_torch(F.conv2d, torch_F.conv2d, x, w, stride=2)
    x = torch.randn(2, 4, 9, 8, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    assert_matches_torch(F.conv2d, torch_F.conv2d, x, w, padding="same")


def test_integer_and_empty_batch():
    x, w = torch.randint(-3, 4, (2, 2, 5, 5)), torch.randint(-3, 4, (3, 2, 2, 2))
    assert torch.equal(F.conv2d(x, w), torch_F.conv2d(x, w))
    empty = torch.randn(0, 2, 5, 5, dtype=torch.float64)
    assert F.conv2d(empty, w.double()).shape == torch_F.conv2d(empty, w.double()).shape == (0, 3, 4, 4)


def test_literal_form_chunks_under_its_budget(monkeypatch):
    """The literal form never builds a broadcast product larger than the budget."""
    largest = []
    original = torch.Tensor.__mul__

    def spy(a, b):
        out = original(a, b)
        largest.append(out.numel() * out.element_size())
        return out

    x, w = torch.randn(2, 8, 16, 16), torch.randn(8, 8, 3, 3)
    monkeypatch.setattr(torch.Tensor, "__mul__", spy)
    with scratchnn.contraction("literal", budget=2**18):
        out = F.conv2d(x, w, padding=1)
    monkeypatch.undo()
    assert max(largest) <= 2**18 and len(largest) > 1
    torch.testing.assert_close(out, torch_F.conv2d(x, w, padding=1), rtol=1e-5, atol=1e-5)


x4, w4 = torch.randn(2, 4, 8, 8), torch.randn(6, 2, 3, 3)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: F.conv2d(x4[0, 0], w4, groups=2),
            RuntimeError,
            r"conv2d: input must be 3-D or 4-D.*got a 2-D",
        ),
        (lambda: F.conv2d(x4[None], w4, groups=2), RuntimeError, r"input must be 3-D or 4-D .*5-D"),
        (lambda: F.conv2d(x4, w4[0], groups=2), RuntimeError, r"weight must be 4-D, got a 3-D tensor"),
        (lambda: F.conv2d(x4, w4), RuntimeError, r"input has 4 channels but weight expects 2 .*groups=1"),
        (
            lambda: F.conv2d(x4, torch.randn(6, 1, 3, 3), groups=4),
            RuntimeError,
            r"weight.shape\[0\]=6 is not divisible by groups=4",
        ),
        (
            lambda: F.conv2d(x4, w4, groups=2, stride=0),
            RuntimeError,
            r"stride must be positive, got stride=\(0, 0\)",
        ),
        (lambda: F.conv2d(x4, w4, groups=2, dilation=(1, -1)), RuntimeError, r"dilation must be positive"),
        (lambda: F.conv2d(x4, w4, groups=0), RuntimeError, r"groups must be positive, got groups=0"),
        (lambda: F.conv2d(x4, w4, groups=2, padding=-1), RuntimeError, r"padding must be non-negative"),
        (
            lambda: F.conv2d(x4, torch.randn(6, 2, 9, 3), groups=2),
            RuntimeError,
            r"dilated kernel \(9, 3\) .* larger than the padded input \(8, 8\)",
        ),
        (
            lambda: F.conv2d(x4, w4, groups=2, padding="same", stride=2),
            RuntimeError,
            r"padding='same' is not supported for strided convolutions",
        ),
        (
            lambda: F.conv2d(x4, w4, groups=2, padding="full"),
            RuntimeError,
            r"padding must be 'valid', 'same'",
        ),
        (
            lambda: F.conv2d(x4.double(), w4, groups=2),
            RuntimeError,
            r"same dtype .*input is torch.float64, weight is torch.float32",
        ),
        (
            lambda: F.conv2d(x4, w4, torch.randn(5), groups=2),
            RuntimeError,
            r"bias must be 1-D with 6 elements",
        ),
        (
            lambda: F.conv2d(x4, w4, groups=2, stride=(1, 1, 1)),
            RuntimeError,
            r"stride must be an int or a sequence of 2 ints",
        ),
        (lambda: F.conv2d(x4, w4, groups=2, stride=1.5), TypeError, r"stride must be an int"),
        (lambda: F.conv2d(x4, w4, groups=True), TypeError, r"groups must be an int"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_error_shows_shapes_with_legend():
    with pytest.raises(RuntimeError) as info:
        F.conv2d(torch.randn(2, 5, 8, 8), torch.randn(4, 3, 3, 3))
    assert "input  (b, g·c_in, H, W)" in str(info.value)
    assert "= (2, 5, 8, 8)" in str(info.value) and "= (4, 3, 3, 3)" in str(info.value)


def test_torch_raises_the_same_types():
    """The error cases above raise in torch too, with the same exception type."""
    for call in [
        lambda: torch_F.conv2d(x4, w4),
        lambda: torch_F.conv2d(x4, w4, groups=2, stride=0),
        lambda: torch_F.conv2d(x4, w4, groups=2, padding="same", stride=2),
        lambda: torch_F.conv2d(x4.double(), w4, groups=2),
        lambda: torch_F.conv2d(x4, torch.randn(6, 2, 9, 3), groups=2),
    ]:
        with pytest.raises(RuntimeError):
            call()


# --- conv_tbc: the (time, batch, channel) layout ------------------------------------------------


@given(
    steps=st.integers(1, 9),
    kernel=st.integers(1, 4),
    pad=st.integers(-2, 3),
    batch=st.integers(1, 3),
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 3),
)
@settings(max_examples=40, deadline=None)
def test_conv_tbc_matches_torch(steps, kernel, pad, batch, c_in, c_out):
    x, w, b = (
        torch.randn(steps, batch, c_in, dtype=torch.float64),
        torch.randn(kernel, c_in, c_out, dtype=torch.float64),
        torch.randn(c_out, dtype=torch.float64),
    )
    if steps + 2 * pad - kernel + 1 < 0:
        with pytest.raises(RuntimeError, match=r"conv_tbc: the output would have -\d+ time steps"):
            F.conv_tbc(x, w, b, pad)
        with pytest.raises(RuntimeError):
            torch.conv_tbc(x, w, b, pad)
        return
    assert_matches_torch(F.conv_tbc, torch.conv_tbc, x, w, b, pad)


def test_conv_tbc_gradcheck():
    x = torch.randn(5, 2, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *t: F.conv_tbc(*t, 1), (x, w, b))


@pytest.mark.parametrize(
    "shapes, message",
    [
        (((7, 2), (3, 3, 4), (4,)), "conv_tbc: Input must have 3 dims: time, batch, in_channel"),
        (((7, 2, 3), (3, 3), (4,)), "conv_tbc: Weight tensor must have 3 dims"),
        (((7, 2, 3), (3, 3, 4), (4, 1)), "conv_tbc: Bias must be 1-D"),
        (((7, 2, 3), (3, 5, 4), (4,)), r"conv_tbc: Input dim 2 \(input channels\) is not == dim 1"),
        (((7, 2, 3), (3, 3, 4), (5,)), "conv_tbc: Bias size must equal dim 2 in the weight tensor"),
    ],
)
def test_conv_tbc_errors(shapes, message):
    tensors = [torch.randn(shape) for shape in shapes]
    with pytest.raises(RuntimeError, match=message):
        F.conv_tbc(*tensors)
    with pytest.raises(RuntimeError):
        torch.conv_tbc(*tensors)
