"""unfold (im2col) and fold (col2im) against torch: hypothesis over valid configurations, batched
and unbatched, float64/float32/half/complex/bool, gradcheck, the overlap-add as the adjoint of the
window view, errors with torch's types, and the modules."""

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn as torch_nn

import scratchnn.functional as F
from helpers import assert_close, assert_matches_torch
from scratchnn import nn
from scratchnn._windows import Geometry, output_size, overlap_add, sliding_windows

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: threads only cost waits


@st.composite
def configs(draw):
    """Window arguments (ints or pairs) and an image size with at least one block per dim."""
    kernel = [draw(st.integers(1, 3)) for _ in range(2)]
    dilation = [draw(st.integers(1, 3)) for _ in range(2)]
    padding = [draw(st.integers(0, 2)) for _ in range(2)]
    stride = [draw(st.integers(1, 3)) for _ in range(2)]
    size = [
        max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 4))
        for k, d, p in zip(kernel, dilation, padding)
    ]

    def pick(values):
        return values[0] if values[0] == values[1] and draw(st.booleans()) else tuple(values)

    kwargs = dict(
        kernel_size=pick(kernel), dilation=pick(dilation), padding=pick(padding), stride=pick(stride)
    )
    blocks = [
        output_size(s, k, st_, 2 * p, d) for s, k, st_, p, d in zip(size, kernel, stride, padding, dilation)
    ]
    batch = draw(st.sampled_from([[], [1], [2]]))
    channels = draw(st.integers(1, 3))
    return size, blocks, kernel, batch, channels, kwargs


@given(configs())
def test_unfold_matches_torch(config):
    size, _, _, batch, channels, kwargs = config
    x = torch.randn(*batch, channels, *size, dtype=torch.float64)
    assert_matches_torch(F.unfold, torch_F.unfold, x, **kwargs)


@given(configs())
def test_fold_matches_torch(config):
    size, blocks, kernel, batch, channels, kwargs = config
    x = torch.randn(*batch, channels * kernel[0] * kernel[1], blocks[0] * blocks[1], dtype=torch.float64)
    output = tuple(size) if len(set(size)) > 1 else size[0]
    assert_matches_torch(F.fold, torch_F.fold, x, output, **kwargs)


@given(configs())
def test_fold_of_unfold_counts_windows(config):
    """fold(unfold(x)) = x · (number of windows covering each pixel): the two are adjoint."""
    size, _, _, batch, channels, kwargs = config
    x = torch.randn(*batch, channels, *size, dtype=torch.float64)
    coverage = F.fold(F.unfold(torch.ones_like(x), **kwargs), tuple(size), **kwargs)
    assert_close(F.fold(F.unfold(x, **kwargs), tuple(size), **kwargs), x * coverage)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.complex128, torch.bool])
def test_dtypes(dtype):
    x = torch.randn(2, 3, 6, 7).to(dtype) if dtype != torch.bool else torch.rand(2, 3, 6, 7) > 0.5
    kwargs = dict(kernel_size=(2, 3), padding=1, stride=(2, 1), dilation=(1, 2))
    assert_matches_torch(F.unfold, torch_F.unfold, x, grad=dtype.is_floating_point, **kwargs)
    columns = torch_F.unfold(x, **kwargs)
    assert_matches_torch(F.fold, torch_F.fold, columns, (6, 7), grad=dtype.is_floating_point, **kwargs)


def test_gradcheck():
    x = torch.randn(1, 2, 4, 5, dtype=torch.float64, requires_grad=True)
    kwargs = dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    assert torch.autograd.gradcheck(lambda x: F.unfold(x, **kwargs), (x,))
    columns = F.unfold(x, **kwargs).detach().requires_grad_()
    assert torch.autograd.gradcheck(lambda c: F.fold(c, (4, 5), **kwargs), (columns,))
    assert torch.autograd.gradgradcheck(lambda c: F.fold(c, (4, 5), **kwargs), (columns,))


def test_torch_func_transforms():
    from torch.func import jacrev, vmap

    columns = torch.randn(5, 2, 12, 30, dtype=torch.float64)
    ours = vmap(lambda c: F.fold(c, (6, 7), 2), in_dims=1)(columns)
    assert_close(ours, vmap(lambda c: torch_F.fold(c, (6, 7), 2), in_dims=1)(columns))
    small = torch.randn(1, 4, 6, dtype=torch.float64)
    assert_close(
        jacrev(lambda c: F.fold(c, (3, 4), 2))(small), jacrev(lambda c: torch_F.fold(c, (3, 4), 2))(small)
    )


def test_forward_mode_ad():
    import torch.autograd.forward_ad as fwAD

    columns, tangent = (
        torch.randn(2, 12, 30, dtype=torch.float64),
        torch.randn(2, 12, 30, dtype=torch.float64),
    )
    with fwAD.dual_level():
        out = F.fold(fwAD.make_dual(columns, tangent), (6, 7), 2)
        assert_close(fwAD.unpack_dual(out).tangent, torch_F.fold(tangent, (6, 7), 2))


@pytest.mark.parametrize(
    "kernel, stride, padding, dilation, size",
    [
        ((3,), (2,), (1,), (1,), (9,)),
        ((2, 3), (1, 2), (0, 2), (3, 1), (7, 8)),
        ((2, 1, 2), (2, 3, 1), (1, 0, 1), (1, 1, 2), (5, 4, 6)),
    ],
    ids=["1d", "2d", "3d"],
)
def test_overlap_add_is_the_adjoint_of_the_window_view(kernel, stride, padding, dilation, size):
    """<overlap_add(blocks), x> = <blocks, windows(x)> for every blocks and x, in any dimension."""
    x = torch.randn(2, *size, dtype=torch.float64)
    pairs = [(p, p) for p in padding]
    windows = sliding_windows(x, kernel, stride, pairs, dilation)
    blocks = torch.randn(windows.shape, dtype=torch.float64)
    added = overlap_add(blocks, Geometry.of(size, kernel, stride, pairs, dilation))
    assert added.shape == x.shape
    assert torch.allclose((added * x).sum(), (blocks * windows).sum(), rtol=1e-12)


# --- errors: the exception type torch raises, our message -------------------------------------

IMAGE = torch.randn(2, 3, 6, 7)
COLUMNS = torch.randn(2, 12, 30)
UNFOLD_ERRORS = [
    (IMAGE, dict(kernel_size=8), RuntimeError, r"give \(-1, 0\) blocks"),
    (IMAGE, dict(kernel_size=0), RuntimeError, "kernel_size must be positive"),
    (IMAGE, dict(kernel_size=2, stride=0), RuntimeError, "stride must be positive"),
    (IMAGE, dict(kernel_size=2, dilation=0), RuntimeError, "dilation must be positive"),
    (IMAGE, dict(kernel_size=2, padding=-1), RuntimeError, "padding must be non-negative"),
    (IMAGE, dict(kernel_size=(2, 2, 2)), RuntimeError, "kernel_size must be an int or a pair of ints"),
    (IMAGE, dict(kernel_size=[2]), RuntimeError, "kernel_size must be an int or a pair of ints"),
    (IMAGE, dict(kernel_size=2.5), TypeError, "kernel_size must be an int or a pair of ints"),
    (IMAGE[0, 0], dict(kernel_size=2), IndexError, "got a 2-D tensor"),
    (IMAGE[None], dict(kernel_size=2), RuntimeError, "input must be 3-D"),
    (torch.randn(2, 0, 6, 7), dict(kernel_size=2), RuntimeError, "with non-zero c, H, W"),
    (IMAGE.long(), dict(kernel_size=2), NotImplementedError, "torch.int64 is not supported"),
]


@pytest.mark.parametrize("x, kwargs, error, match", UNFOLD_ERRORS, ids=[m[:24] for *_, m in UNFOLD_ERRORS])
def test_unfold_errors(x, kwargs, error, match):
    with pytest.raises(error):
        torch_F.unfold(x, **kwargs)
    with pytest.raises(error, match=match):
        F.unfold(x, **kwargs)


FOLD_ERRORS = [
    (COLUMNS, (6, 8), dict(kernel_size=2), RuntimeError, r"give 5 × 7 = 35 blocks, but input.shape\[-1\]=30"),
    (
        COLUMNS,
        (6, 7),
        dict(kernel_size=3),
        RuntimeError,
        r"input.shape\[-2\]=12 is not divisible by the kernel",
    ),
    (COLUMNS, (6, 7), dict(kernel_size=2, padding=1), RuntimeError, "7 × 8 = 56 blocks"),
    (COLUMNS, (1, 1), dict(kernel_size=2), RuntimeError, "0 × 0 = 0 blocks"),
    (COLUMNS, (6, 7, 1), dict(kernel_size=2), RuntimeError, "output_size must be an int or a pair of ints"),
    (COLUMNS, (6, 7), dict(kernel_size=0), RuntimeError, "kernel_size must be positive"),
    (COLUMNS, (6, 7), dict(kernel_size=2, stride=0), RuntimeError, "stride must be positive"),
    (COLUMNS[None], (6, 7), dict(kernel_size=2), RuntimeError, r"input must be 2-D \(c·kh·kw, L\) or 3-D"),
    (torch.randn(2, 12, 0), (6, 7), dict(kernel_size=2), RuntimeError, "with non-zero c·kh·kw and L"),
    (COLUMNS.long(), (6, 7), dict(kernel_size=2), NotImplementedError, "torch.int64 is not supported"),
]


@pytest.mark.parametrize("x, size, kwargs, error, match", FOLD_ERRORS, ids=[m[:24] for *_, m in FOLD_ERRORS])
def test_fold_errors(x, size, kwargs, error, match):
    with pytest.raises(error):
        torch_F.fold(x, size, **kwargs)
    with pytest.raises(error, match=match):
        F.fold(x, size, **kwargs)


# --- modules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [dict(kernel_size=2), dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))],
    ids=["plain", "all-options"],
)
def test_modules(kwargs):
    x = torch.randn(2, 3, 6, 7, dtype=torch.float64)
    ours, theirs = nn.Unfold(**kwargs), torch_nn.Unfold(**kwargs)
    assert repr(ours) == repr(theirs)
    columns = assert_matches_torch(ours, theirs, x)
    ours, theirs = nn.Fold((6, 7), **kwargs), torch_nn.Fold((6, 7), **kwargs)
    assert repr(ours) == repr(theirs)
    assert_matches_torch(ours, theirs, columns.detach())
