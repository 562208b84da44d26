"""interpolate and the Upsample modules against torch: hypothesis over modes, sizes, scale factors
(recomputed or not), align_corners and antialias; exact nearest indices in both of torch's
kernels; gradcheck; the places where torch's gradient is not the gradient of its own forward;
dtypes; errors; modules."""

import random

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn as torch_nn

import scratchnn.functional as F
from helpers import assert_close, assert_matches_torch
from scratchnn import nn

LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}
SCALES = [0.3, 0.5, 0.6, 0.75, 1.0, 1.05, 1.3, 1.5, 2.0, 2.05, 2.5, 3.0, 1 / 3]


@st.composite
def interpolate_configs(draw):
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear", "bicubic", "area", "antialias"]))
    antialias = mode == "antialias"
    if antialias:
        mode = draw(st.sampled_from(["bilinear", "bicubic"]))
    n = 2 if mode in ("bicubic", "bilinear") else draw(st.integers(1, 3))
    if mode == "linear":
        mode = LINEAR[n]
    spatial = [draw(st.integers(1, 9 if n < 3 else 5)) for _ in range(n)]
    kwargs: dict = {"mode": mode}
    if antialias:
        kwargs["antialias"] = True
    if mode not in ("nearest", "nearest-exact", "area"):
        kwargs["align_corners"] = draw(st.sampled_from([None, False, True]))
    if draw(st.booleans()):
        sizes = [draw(st.integers(1, 12)) for _ in range(n)]
        kwargs["size"] = sizes[0] if len(set(sizes)) == 1 and draw(st.booleans()) else tuple(sizes)
        scales = None
    else:
        scales = [draw(st.sampled_from(SCALES)) for _ in range(n)]
        if any(int(s * f) < 1 for s, f in zip(spatial, scales)):
            scales = [max(f, 1.0) for f in scales]
        kwargs["scale_factor"] = scales[0] if len(set(scales)) == 1 and draw(st.booleans()) else tuple(scales)
        kwargs["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    return [draw(st.sampled_from([1, 2])), draw(st.integers(1, 3)), *spatial], kwargs


def output_sizes(spatial, kwargs):
    if "size" in kwargs:
        size = kwargs["size"]
        return list(size) if isinstance(size, tuple) else [size] * len(spatial)
    factor = kwargs["scale_factor"]
    factors = factor if isinstance(factor, tuple) else (factor,) * len(spatial)
    return [int(s * f) for s, f in zip(spatial, factors)]


def torch_gradient_is_its_forwards(shape, kwargs) -> bool:
    """False where torch 2.13's CPU backward is not the adjoint of its forward: a dim kept (or,
    for nearest, doubled) under an explicit scale_factor is treated as a copy by the backward of
    nearest (generic kernel), bicubic and antialias, but not by their forwards."""
    spatial, mode = shape[2:], kwargs["mode"]
    if "scale_factor" not in kwargs or kwargs.get("recompute_scale_factor") or mode == "area":
        return True
    sizes = output_sizes(spatial, kwargs)
    factor = kwargs["scale_factor"]
    factors = factor if isinstance(factor, tuple) else (factor,) * len(spatial)
    kept = [out == size and f != 1.0 for size, out, f in zip(spatial, sizes, factors)]
    doubled = [out == 2 * size and f != 2.0 for size, out, f in zip(spatial, sizes, factors)]
    if kwargs.get("antialias"):
        return not (any(kept) and not kwargs.get("align_corners"))
    if mode == "nearest":
        fast = len(spatial) == 2 and sum(sizes) <= 128
        return fast or not (any(kept) or any(doubled))
    if mode == "bicubic":
        return not (all(kept) and not kwargs.get("align_corners"))
    return True


def run_config(shape, kwargs, dtype):
    x = torch.randn(shape, dtype=dtype)
    if kwargs.get("antialias") and output_sizes(shape[2:], kwargs)[-1] == 1:
        return  # torch's antialiased forward is wrong for an output width of 1 (tested below)
    grad = torch_gradient_is_its_forwards(shape, kwargs)
    assert_matches_torch(F.interpolate, torch_F.interpolate, x, grad=grad, **kwargs)
    if not grad and dtype == torch.float64:  # ours is still the gradient of our forward
        small = x[:1, :1].clone().requires_grad_()
        assert torch.autograd.gradcheck(lambda t: F.interpolate(t, **kwargs), (small,))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_interpolate_matches_torch(dtype):
    @settings(max_examples=200 if dtype == torch.float64 else 80)
    @given(interpolate_configs())
    def check(config):
        run_config(*config, dtype)

    check()


def test_nearest_indices_match_both_of_torchs_kernels():
    """torch's CPU nearest uses a float32 "fast" kernel (2-D outputs with h + w ≤ 128, channels-last
    with c > 3) that copies kept sizes and halves doubled ones, and a generic one elsewhere that
    computes positions in the input's precision. Every index must match: values are the positions."""
    rng = random.Random(0)
    for _ in range(300):
        mode = rng.choice(["nearest", "nearest-exact"])
        dtype = rng.choice([torch.float32, torch.float64, torch.uint8])
        n = rng.choice([1, 2, 3])
        spatial = [rng.randint(1, 70 if n < 3 else 10) for _ in range(n)]
        x = (torch.arange(torch.tensor(spatial).prod().item()) % 251).view(1, 1, *spatial).to(dtype)
        if n == 2 and rng.random() < 0.3:
            x = x.expand(1, 5, *spatial).contiguous(memory_format=torch.channels_last)
        factor = rng.choice([*SCALES, 0.9999, 1.999, 4.7, None])
        if factor is None:
            kwargs = dict(size=[rng.randint(1, 150 if n < 3 else 20) for _ in range(n)])
        elif any(int(s * factor) < 1 for s in spatial):
            continue
        else:
            kwargs = dict(scale_factor=factor, recompute_scale_factor=rng.choice([None, True]))
        ours, theirs = F.interpolate(x, mode=mode, **kwargs), torch_F.interpolate(x, mode=mode, **kwargs)
        assert ours.shape == theirs.shape and torch.equal(ours, theirs), (mode, dtype, spatial, kwargs)


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((1, 2, 5), dict(size=8, mode="nearest")),
        ((1, 2, 5), dict(scale_factor=1.7, mode="nearest-exact")),
        ((1, 2, 5), dict(size=3, mode="linear")),
        ((1, 1, 4, 3), dict(scale_factor=(1.5, 0.7), mode="bilinear", align_corners=True)),
        ((1, 1, 3, 3, 2), dict(size=(4, 2, 3), mode="trilinear")),
        ((1, 1, 4, 5), dict(size=(6, 3), mode="bicubic")),
        ((1, 1, 4, 5), dict(size=(7, 2), mode="bicubic", align_corners=True)),
        ((1, 2, 5, 4), dict(size=(3, 2), mode="area")),
        ((1, 1, 6, 5), dict(size=(3, 2), mode="bilinear", antialias=True)),
        ((1, 1, 6, 5), dict(size=(4, 7), mode="bicubic", antialias=True)),
        ((1, 1, 7, 6), dict(size=(3, 4), mode="lanczos", antialias=True)),
    ],
)
def test_gradcheck(shape, kwargs):
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: F.interpolate(t, **kwargs), (x,))


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((1, 1, 15), dict(scale_factor=1.05, mode="nearest")),  # kept size: torch's backward copies
        ((1, 1, 10), dict(scale_factor=2.05, mode="nearest")),  # doubled size: torch's backward halves
        ((1, 1, 8, 9), dict(scale_factor=1.05, mode="bicubic")),
        ((1, 1, 8, 9), dict(scale_factor=(1.05, 0.5), mode="bilinear", antialias=True)),
    ],
)
def test_torch_gradient_deviates_from_its_forward_ours_does_not(shape, kwargs):
    """Known torch inconsistencies: our forward equals torch's, our gradient is the true one."""
    x = torch.randn(shape, dtype=torch.float64)
    assert not torch_gradient_is_its_forwards(shape, kwargs)
    assert_matches_torch(F.interpolate, torch_F.interpolate, x, grad=False, **kwargs)
    x.requires_grad_()
    assert torch.autograd.gradcheck(lambda t: F.interpolate(t, **kwargs), (x,))
    assert not torch.autograd.gradcheck(
        lambda t: torch_F.interpolate(t, **kwargs), (x,), raise_exception=False
    )


def test_antialias_to_width_one_is_torchs_two_step_result():
    """torch's antialiased forward repeats the first row when the output width is 1; resizing the
    height first and the width second (where torch is right) gives ours."""
    x = torch.randn(2, 3, 9, 5, dtype=torch.float64)
    for mode in ("bilinear", "bicubic"):
        ours = F.interpolate(x, size=(4, 1), mode=mode, antialias=True)
        tall = torch_F.interpolate(x, size=(4, 5), mode=mode, antialias=True)
        assert_close(ours, torch_F.interpolate(tall, size=(4, 1), mode=mode, antialias=True))


def test_same_size_linear_is_a_copy_even_with_a_scale_factor():
    x = torch.randn(1, 2, 10, dtype=torch.float64)
    out = assert_matches_torch(F.interpolate, torch_F.interpolate, x, scale_factor=1.05, mode="linear")
    assert torch.equal(out, x) and out is not x


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic", "area"])
def test_reduced_precision(mode, dtype):
    x = torch.randn(2, 3, 6, 7).to(dtype)
    out = assert_matches_torch(F.interpolate, torch_F.interpolate, x, size=(9, 4), mode=mode, grad=False)
    assert out.dtype == dtype
    expected = torch_F.interpolate(x, size=(9, 4), mode=mode)
    if mode == "bicubic":  # 4×4 taps summed in another order than torch's kernel: within one ulp
        assert_close(out, expected, rtol=torch.finfo(dtype).eps, atol=torch.finfo(dtype).eps)
    else:  # computed in float32 and rounded once, as torch: bit for bit
        assert torch.equal(out, expected)


@pytest.mark.parametrize(
    ("shape", "layout", "kwargs"),
    [
        ((2, 4, 5, 6), torch.channels_last, {"scale_factor": 2, "mode": "nearest"}),
        ((2, 4, 5, 6), torch.channels_last, {"size": (7, 3), "mode": "bilinear"}),
        ((2, 4, 5, 6), torch.channels_last, {"size": (7, 9), "mode": "bicubic"}),
        ((2, 4, 5, 6), torch.channels_last, {"size": (2, 3), "mode": "bilinear", "antialias": True}),
        ((2, 4, 3, 5, 6), torch.channels_last_3d, {"scale_factor": 1.5, "mode": "trilinear"}),
    ],
)
def test_channels_last_input_gives_channels_last_output_like_torch(shape, layout, kwargs):
    x = torch.randn(shape, dtype=torch.float64).contiguous(memory_format=layout)
    out = assert_matches_torch(F.interpolate, torch_F.interpolate, x, **kwargs)
    assert out.is_contiguous(memory_format=layout)
    assert out.stride() == torch_F.interpolate(x, **kwargs).stride()


def test_uint8_nearest_and_empty_batch():
    x = torch.randint(0, 256, (2, 3, 5, 6), dtype=torch.uint8)
    for mode in ("nearest", "nearest-exact"):
        assert_matches_torch(F.interpolate, torch_F.interpolate, x, size=(7, 4), mode=mode)
    empty = torch.randn(0, 3, 4, 4)
    for mode in ("nearest", "bilinear", "bicubic", "area"):
        assert_matches_torch(F.interpolate, torch_F.interpolate, empty, size=(2, 5), mode=mode)


x3, x4, x5 = torch.randn(2, 3, 8), torch.randn(2, 3, 8, 8), torch.randn(1, 2, 4, 4, 4)

# (call with f = F or torch_F, exception type, our message); torch is checked to raise the same type
ERRORS = [
    (lambda f: f.interpolate(x4, size=4, align_corners=False), ValueError, r"align_corners applies to"),
    (lambda f: f.interpolate(x4, size=4, mode="area", align_corners=True), ValueError, r"align_corners"),
    (lambda f: f.interpolate(x4, size=2, scale_factor=2.0), ValueError, r"only one of size and scale_factor"),
    (lambda f: f.interpolate(x4), ValueError, r"either size or scale_factor"),
    (lambda f: f.interpolate(x4, size=(2, 2, 2)), ValueError, r"size must have one entry per spatial dim"),
    (lambda f: f.interpolate(x4, scale_factor=(2.0,) * 3), ValueError, r"scale_factor must have one entry"),
    (lambda f: f.interpolate(x4, size=(2.0, 2)), TypeError, r"size must contain ints"),
    (lambda f: f.interpolate(x4, size=2.5), TypeError, r"size must be an int or a tuple of ints"),
    (lambda f: f.interpolate(x4, size=4, recompute_scale_factor=True), ValueError, r"not meaningful"),
    (lambda f: f.interpolate(x4, size=4, antialias=True), ValueError, r"antialias=True works with the modes"),
    (lambda f: f.interpolate(x3, size=4, mode="bilinear", antialias=True), ValueError, r"on a 4-D input"),
    (lambda f: f.interpolate(x4, size=4, mode="lanczos"), ValueError, r"lanczos' requires antialias"),
    (
        lambda f: f.interpolate(x4, size=4, mode="lanczos", align_corners=True, antialias=True),
        ValueError,
        r"does not support align_corners",
    ),
    (lambda f: f.interpolate(x3, size=4, mode="bilinear"), NotImplementedError, r"needs a 4-D input"),
    (lambda f: f.interpolate(x4, size=4, mode="linear"), NotImplementedError, r"needs a 3-D input"),
    (lambda f: f.interpolate(x5, size=4, mode="bicubic"), NotImplementedError, r"needs a 4-D input"),
    (lambda f: f.interpolate(x4, size=4, mode="trilinear"), NotImplementedError, r"needs a 5-D input"),
    (lambda f: f.interpolate(x4[0, 0], size=4), NotImplementedError, r"needs a 3-D, 4-D or 5-D input"),
    (lambda f: f.interpolate(x5[None], size=4), NotImplementedError, r"needs a 3-D, 4-D or 5-D input"),
    (lambda f: f.interpolate(x4, size=4, mode="cubic"), NotImplementedError, r"mode must be one of"),
    (lambda f: f.interpolate(x4, size=0), RuntimeError, r"sizes must be greater than 0"),
    (lambda f: f.interpolate(x4, scale_factor=0.1), RuntimeError, r"output \(0, 0\)"),
    (lambda f: f.interpolate(x4, scale_factor=-1.0, mode="bilinear"), RuntimeError, r"greater than 0"),
    (lambda f: f.interpolate(torch.randn(1, 3, 0, 4), size=2), RuntimeError, r"input \(0, 4\)"),
    (lambda f: f.interpolate(x4, size=-1, mode="area"), RuntimeError, r"output_size must be non-negative"),
    (lambda f: f.interpolate(x4.long(), size=4), NotImplementedError, r"not implemented for torch.int64"),
    (lambda f: f.interpolate(x4, scale_factor=torch.tensor(2.0)), TypeError, r"scale_factor must be a float"),
    (lambda f: f.interpolate(x4, scale_factor=(2.0, "2")), TypeError, r"or a tuple of floats, got str"),
    (
        lambda f: f.interpolate(x4.half(), size=4, mode="bilinear", antialias=True),
        NotImplementedError,
        r"antialias=True is not implemented for torch.float16",
    ),
]


@pytest.mark.parametrize("call, error, pattern", ERRORS)
def test_errors_match_torch(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call(F)
    with pytest.raises(error):
        call(torch_F)


def test_uint8_interpolating_modes_are_not_implemented():
    """A known gap: torch resizes uint8 bilinearly/bicubically in fixed point; we raise."""
    x = torch.randint(0, 256, (1, 3, 5, 5), dtype=torch.uint8)
    with pytest.raises(NotImplementedError, match=r"uint8 path rounds in fixed point"):
        F.interpolate(x, size=3, mode="bilinear")


MODULES = [
    ("Upsample", dict(scale_factor=2)),
    ("Upsample", dict(size=(5, 7), mode="bilinear")),
    ("Upsample", dict(scale_factor=(1.5, 0.5), mode="bicubic", align_corners=True)),
    ("Upsample", dict(scale_factor=1.7, mode="nearest-exact", recompute_scale_factor=True)),
    ("Upsample", dict(size=3, mode="area")),
    ("UpsamplingNearest2d", dict(scale_factor=3)),
    ("UpsamplingBilinear2d", dict(size=(6, 2))),
]


@pytest.mark.parametrize("name, kwargs", MODULES)
def test_modules_match_torch(name, kwargs):
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch_nn, name)(**kwargs)
    assert repr(ours) == repr(theirs)
    for key in ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "name"):
        assert getattr(ours, key) == getattr(theirs, key)
    assert_matches_torch(ours, theirs, torch.randn(2, 3, 4, 5, dtype=torch.float64))


def test_upsample_stores_scale_factor_like_torch():
    assert nn.Upsample(scale_factor=0).scale_factor is None  # falsy: None, as torch
    assert nn.Upsample(scale_factor=(2, 3)).scale_factor == (2.0, 3.0)
    assert repr(nn.Upsample(size=4)) == "Upsample(size=4, mode='nearest')"
    assert (
        repr(nn.UpsamplingBilinear2d(scale_factor=2))
        == "UpsamplingBilinear2d(scale_factor=2.0, mode='bilinear')"
    )
