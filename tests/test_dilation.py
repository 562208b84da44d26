"""Dilated convolution by space-to-batch (``schedules/dilation.py``) against torch's conv1d/2d/3d:
hypothesis over valid configurations (strides with and without a common factor with the dilation,
'same'/'valid' padding, groups, unbatched input, outputs shorter than the dilation), float64 and
float32, both contraction forms, gradcheck, and the same errors as ``conv_nd``."""

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import scratchnn
from helpers import assert_close, assert_matches_torch
from scratchnn._trace import recording
from scratchnn.functional.conv import conv_nd

THEIRS = {1: torch_F.conv1d, 2: torch_F.conv2d, 3: torch_F.conv3d}


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: threads only cost waits


def ours(n: int):
    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        with scratchnn.settings(conv="space-to-batch"):
            return conv_nd(input, weight, bias, stride, padding, dilation, groups, n, f"conv{n}d")

    return conv


@st.composite
def configs(draw, max_n: int = 3):
    n = draw(st.integers(1, max_n))
    small = n == 3
    groups = draw(st.sampled_from([1, 2]))
    kernel = [draw(st.integers(1, 2 if small else 3)) for _ in range(n)]
    dilation = [draw(st.integers(1, 4 if small else 6)) for _ in range(n)]
    same = draw(st.booleans()) and draw(st.booleans())
    stride = [1] * n if same else [draw(st.integers(1, 4)) for _ in range(n)]
    padding = [0] * n if same else [draw(st.integers(0, 3)) for _ in range(n)]
    spatial = [
        max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 4 if small else 9))
        for k, d, p in zip(kernel, dilation, padding)
    ]
    batch = draw(st.sampled_from([[], [1], [2]]))
    x = torch.randn(*batch, groups * draw(st.integers(1, 2)), *spatial, dtype=torch.float64)
    w = torch.randn(groups * draw(st.integers(1, 2)), x.shape[-n - 1] // groups, *kernel, dtype=torch.float64)
    b = torch.randn(w.shape[0], dtype=torch.float64) if draw(st.booleans()) else None
    padding_arg = "same" if same else (padding[0] if len(set(padding)) == 1 else tuple(padding))
    return (
        n,
        (x, w, b),
        dict(stride=tuple(stride), padding=padding_arg, dilation=tuple(dilation), groups=groups),
    )


@given(configs())
def test_matches_torch_float64(config):
    n, args, kwargs = config
    assert_matches_torch(ours(n), THEIRS[n], *args, **kwargs)


@given(configs(max_n=2))
def test_literal_form_matches_torch(config):
    n, args, kwargs = config
    with scratchnn.contraction("literal", budget=2**14):
        assert_matches_torch(ours(n), THEIRS[n], *args, **kwargs)


@given(configs())
def test_equals_the_window_path(config):
    """Same values as the plain dilated-window convolution, to rounding."""
    n, args, kwargs = config
    expected = conv_nd(
        *args, kwargs["stride"], kwargs["padding"], kwargs["dilation"], kwargs["groups"], n, "c"
    )
    assert_close(ours(n)(*args, **kwargs), expected)


@pytest.mark.parametrize(
    "n, kwargs",
    [
        (1, dict(dilation=16)),  # the dilated causal layer: k = 2, d = 16
        (2, dict(dilation=4, padding=4)),
        (2, dict(dilation=(3, 2), stride=(2, 4), padding=1, groups=2)),
        (3, dict(dilation=2, padding="same")),
    ],
    ids=["1d-causal-d16", "2d-d4", "2d-strided", "3d-same"],
)
def test_matches_torch_float32(n, kwargs):
    generator = torch.Generator().manual_seed(n)
    x = torch.randn(2, 4, *[40, 17, 9][:n], generator=generator)
    w = torch.randn(6, 4 // kwargs.get("groups", 1), *[2, 3, 3][:n], generator=generator)
    assert_matches_torch(ours(n), THEIRS[n], x, w, torch.randn(6, generator=generator), **kwargs)


def test_dense_convolution_on_phases():
    """The conv inside runs undilated on (b·d, c, n): the cheatsheet's b c (n d) -> (b d) c n."""
    x, w = torch.randn(2, 3, 40), torch.randn(4, 3, 2)
    with recording() as steps:
        out = ours(1)(x, w, dilation=16)
    assert_close(out, torch_F.conv1d(x, w, dilation=16))
    patterns = [step.text for step in steps if step.kind == "rearrange"]
    assert "b c rl nl -> (b rl) c nl" in patterns
    dense = [step for step in steps if step.kind == "schedule"]
    assert len(dense) == 1 and dense[0].inputs[0] == (2 * 16, 3, 3)  # 40 samples → 16 phases of 3


def test_the_literal_form_is_the_formula():
    """space-to-batch is a schedule: the literal form contracts the dilated window view instead."""
    x, w = torch.randn(2, 3, 40), torch.randn(4, 3, 2)
    with scratchnn.settings(form="literal"), recording() as steps:
        ours(1)(x, w, dilation=16)
    windows = [step for step in steps if step.kind == "windows"]
    assert len(windows) == 1 and "dilation (16,)" in windows[0].text


def test_gradcheck():
    x = torch.randn(1, 2, 7, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 1, 2, 2, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)
    for kwargs in (
        dict(dilation=(3, 2), padding=1, groups=2),
        dict(dilation=(2, 3), stride=(2, 2), groups=2),
    ):
        assert torch.autograd.gradcheck(lambda x, w, b, kwargs=kwargs: ours(2)(x, w, b, **kwargs), (x, w, b))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(dilation=0), RuntimeError, "dilation must be positive"),
        (dict(dilation=9), RuntimeError, "the dilated kernel"),
        (dict(padding="same", stride=2), RuntimeError, "padding='same' is not supported for strided"),
        (dict(groups=3), RuntimeError, "is not divisible by groups=3"),
    ],
    ids=["dilation-0", "kernel-too-large", "same-strided", "groups"],
)
def test_errors_are_conv_nds(kwargs, error, match):
    x, w = torch.randn(2, 4, 8), torch.randn(4, 4, 2)
    with pytest.raises(error):
        torch_F.conv1d(x, w, **kwargs)
    with pytest.raises(error, match=match):
        ours(1)(x, w, **kwargs)
