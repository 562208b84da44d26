"""Transposed convolution against torch: hypothesis over valid configurations (output_padding below
the stride or only below the dilation, groups, unbatched input), float64 and float32, both forms
(overlap-add and zero insertion), gradcheck, errors with torch's types, the modules (repr,
initialization, state_dict both ways, output_size) and the sub-pixel conversion."""

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn as torch_nn

import scratchnn
import scratchnn.functional as F
from helpers import assert_close, assert_matches_torch, conv_chunks_of, in_both_forms
from scratchnn import nn
from scratchnn.functional.conv_transpose import ConvTransposeArgs, transposed_formula, zero_insertion_formula

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: threads only cost waits


OURS = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}
THEIRS = {1: torch_F.conv_transpose1d, 2: torch_F.conv_transpose2d, 3: torch_F.conv_transpose3d}
MODULES = {
    1: (nn.ConvTranspose1d, torch_nn.ConvTranspose1d),
    2: (nn.ConvTranspose2d, torch_nn.ConvTranspose2d),
    3: (nn.ConvTranspose3d, torch_nn.ConvTranspose3d),
}


@st.composite
def configs(draw, max_n: int = 3):
    """A valid transposed convolution: output_padding < stride or < dilation, output size ≥ 1."""
    n = draw(st.integers(1, max_n))
    small = n == 3
    groups = draw(st.sampled_from([1, 2, 3]))
    c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kernel = [draw(st.integers(1, 2 if small else 3)) for _ in range(n)]
    stride = [draw(st.integers(1, 3)) for _ in range(n)]
    dilation = [draw(st.integers(1, 3)) for _ in range(n)]
    output_padding = [draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation)]
    spatial = [draw(st.integers(1, 3 if small else 5)) for _ in range(n)]
    reach = [
        (i - 1) * s + d * (k - 1) + o
        for i, s, d, k, o in zip(spatial, stride, dilation, kernel, output_padding)
    ]
    padding = [draw(st.integers(0, min(3, r // 2))) for r in reach]  # keeps every output size ≥ 1
    batch = draw(st.sampled_from([[], [1], [2]]))
    x = torch.randn(*batch, groups * c_in, *spatial, dtype=torch.float64)
    w = torch.randn(groups * c_in, c_out, *kernel, dtype=torch.float64)
    b = torch.randn(groups * c_out, dtype=torch.float64) if draw(st.booleans()) else None

    def pick(values):
        return values[0] if len(set(values)) == 1 and draw(st.booleans()) else tuple(values)

    kwargs = dict(
        stride=pick(stride),
        padding=pick(padding),
        output_padding=pick(output_padding),
        groups=groups,
        dilation=pick(dilation),
    )
    return n, (x, w, b), kwargs


@given(configs())
def test_matches_torch_float64(config):
    n, args, kwargs = config
    assert_matches_torch(OURS[n], THEIRS[n], *args, **kwargs)


@given(configs())
def test_matches_torch_in_chunks_of_two_samples(config):
    """Three samples in chunks of two: the last chunk reuses a prefix of the first one's buffers."""
    n, (x, w, b), kwargs = config
    x = torch.randn(3, *x.shape[-n - 1 :], dtype=x.dtype)
    with conv_chunks_of(2):
        assert_matches_torch(OURS[n], THEIRS[n], x, w, b, **kwargs)


@given(configs())
def test_literal_form_matches_torch(config):
    n, args, kwargs = config
    with scratchnn.contraction("literal", budget=2**14):
        assert_matches_torch(OURS[n], THEIRS[n], *args, **kwargs)


@given(configs())
def test_fast_equals_literal(config):
    n, args, kwargs = config
    fast, literal = in_both_forms(lambda: OURS[n](*args, **kwargs))
    assert_close(fast, literal)


@pytest.mark.parametrize(
    "n, kwargs",
    [
        (1, dict(stride=3, padding=1, output_padding=2)),
        (2, dict(stride=2, padding=1)),
        (2, dict(stride=(2, 1), dilation=(1, 3), output_padding=(1, 2), groups=2)),
        (3, dict(stride=2, padding=(0, 1, 1), output_padding=1, groups=2)),
    ],
    ids=["1d-op2", "2d-upsample", "2d-op-below-dilation", "3d-groups"],
)
def test_matches_torch_float32(n, kwargs):
    generator = torch.Generator().manual_seed(n)
    x = torch.randn(2, 4, *[6, 5, 4][:n], generator=generator)
    w = torch.randn(4, 3, *[3, 4, 3][:n], generator=generator)
    b = torch.randn(3 * kwargs.get("groups", 1), generator=generator)
    assert_matches_torch(OURS[n], THEIRS[n], x, w, b, **kwargs)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("form", ["fast", "literal"])
def test_gradcheck(n, form):
    x = torch.randn(1, 2, *[3, 2, 2][:n], dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 1, *[2, 3, 1][:n], dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, requires_grad=True)

    def fn(x, w, b):
        return OURS[n](x, w, b, stride=2, padding=1, output_padding=1, groups=2, dilation=(2, 1, 1)[:n])

    with scratchnn.contraction(form):
        assert torch.autograd.gradcheck(fn, (x, w, b))
        if form == "fast":  # the overlap-add's backward is a window view; its own backward is the overlap-add
            assert torch.autograd.gradgradcheck(fn, (x, w, b))


@pytest.mark.parametrize("form", ["fast", "literal"])
def test_forward_mode_ad(form):
    import torch.autograd.forward_ad as fwAD

    x, w = torch.randn(2, 4, 5, 3, dtype=torch.float64), torch.randn(4, 3, 3, 2, dtype=torch.float64)
    tangents = torch.randn_like(x), torch.randn_like(w)
    results = []
    for fn in (F.conv_transpose2d, torch_F.conv_transpose2d):
        with scratchnn.contraction(form), fwAD.dual_level():
            dual = [fwAD.make_dual(p, t) for p, t in zip((x, w), tangents)]
            results.append(
                fwAD.unpack_dual(fn(*dual, stride=2, padding=1, output_padding=1, groups=2)).tangent
            )
    assert_close(*results)


def test_torch_func_transforms():
    from torch.func import grad, vmap

    x, w = torch.randn(3, 2, 4, 5, 5, dtype=torch.float64), torch.randn(4, 3, 3, 3, dtype=torch.float64)
    for in_dims in (0, 1):
        batched = x if in_dims == 0 else x.transpose(0, 1)
        ours = vmap(lambda x: F.conv_transpose2d(x, w, stride=2, padding=1), in_dims=in_dims)(batched)
        theirs = vmap(lambda x: torch_F.conv_transpose2d(x, w, stride=2, padding=1), in_dims=in_dims)(batched)
        assert_close(ours, theirs)
    gradients = [
        grad(lambda w, fn=fn: fn(x[0], w, stride=2, output_padding=1).pow(2).sum())(w)
        for fn in (F.conv_transpose2d, torch_F.conv_transpose2d)
    ]
    assert_close(*gradients)


def test_fast_form_skips_inserted_zeros():
    """The fast form contracts the input once per kernel offset, the zero-insertion form s^d times
    as many (windows of the zero-spread input): count the contracted elements."""
    from scratchnn._trace import recording

    x, w = torch.randn(1, 4, 8, 8), torch.randn(4, 2, 4, 4)
    args = ConvTransposeArgs("conv_transpose2d", x, w, None, 2, 1, 0, 1, 1, 2)
    with scratchnn.contraction("literal"), recording() as fast_steps:  # literal: conv_nd contracts windows
        transposed_formula(x, w, None, args.geometry, 1)
    with scratchnn.contraction("literal"), recording() as zero_steps:
        zero_insertion_formula(x, w, None, args.geometry, 1)
    fast_work = sum(s.literal_bytes for s in fast_steps if s.kind == "contract")
    zero_work = sum(s.literal_bytes for s in zero_steps if s.kind == "contract")
    assert fast_work * 3.5 < zero_work  # stride² = 4, less the border


def test_output_is_contiguous_and_keeps_dtype():
    x, w = torch.randn(2, 2, 4, 4, dtype=torch.float64), torch.randn(2, 3, 3, 3, dtype=torch.float64)
    out = F.conv_transpose2d(x, w, stride=2, padding=1)
    assert out.is_contiguous() and out.dtype == torch.float64


def test_empty_batch():
    x, w = torch.randn(0, 4, 3, 3), torch.randn(4, 2, 2, 2)
    assert_matches_torch(F.conv_transpose2d, torch_F.conv_transpose2d, x, w, stride=2)


# --- errors: the exception type torch raises, our message -------------------------------------

X, W = torch.randn(2, 4, 5, 5), torch.randn(4, 3, 3, 3)
ERRORS = [
    (
        dict(stride=2, output_padding=2),
        RuntimeError,
        "output_padding must be smaller than either stride or dilation",
    ),
    (dict(stride=(1, 2), output_padding=1, dilation=(1, 2)), RuntimeError, "output_padding must be smaller"),
    (dict(groups=3), RuntimeError, r"weight.shape\[0\]=4 is not divisible by groups=3"),
    (dict(groups=0), RuntimeError, "groups must be positive"),
    (dict(groups=1.0), TypeError, "groups must be an int"),
    (dict(stride=0), RuntimeError, "stride must be positive"),
    (dict(dilation=0), RuntimeError, "dilation must be positive"),
    (dict(padding=-1), RuntimeError, "padding must be non-negative"),
    (dict(output_padding=-1), RuntimeError, "output_padding must be non-negative"),
    (dict(stride=(1, 2, 3)), RuntimeError, "stride must be an int or a sequence of 2 ints"),
    (dict(stride=True), TypeError, "stride must be an int or a sequence of ints"),
    (dict(padding=5), RuntimeError, r"the output size \(-3, -3\) is too small"),
    (dict(bias=torch.randn(4)), RuntimeError, "bias must be 1-D with 3 elements"),
]


@pytest.mark.parametrize("kwargs, error, match", ERRORS, ids=[m[:30] for _, _, m in ERRORS])
def test_errors(kwargs, error, match):
    with pytest.raises(error):
        torch_F.conv_transpose2d(X, W, **kwargs)
    with pytest.raises(error, match=match):
        F.conv_transpose2d(X, W, **kwargs)


@pytest.mark.parametrize(
    "x, w, error, match",
    [
        (X[:, :3], W, RuntimeError, "input has 3 channels but weight expects 4"),
        (X[0, 0], W, RuntimeError, "input must be 3-D or 4-D"),
        (X, W[0], RuntimeError, "weight must be 4-D"),
        (X, W.double(), RuntimeError, "expected the same dtype"),
        (torch.randn(2, 4, 0, 5), W, RuntimeError, "input must have non-zero spatial sizes"),
        (X, torch.randn(4, 0, 3, 3), RuntimeError, "weight must be non-empty"),
        (X, torch.randn(4, 3, 0, 3), RuntimeError, "weight must be non-empty"),
    ],
    ids=["channels", "input-rank", "weight-rank", "dtype", "empty-spatial", "empty-c_out", "empty-kernel"],
)
def test_tensor_errors(x, w, error, match):
    with pytest.raises(error):
        torch_F.conv_transpose2d(x, w)
    with pytest.raises(error, match=match):
        F.conv_transpose2d(x, w)


def test_output_padding_below_dilation_only_is_valid():
    x, w = torch.randn(1, 2, 4), torch.randn(2, 2, 3)
    out = assert_matches_torch(
        F.conv_transpose1d, torch_F.conv_transpose1d, x, w, output_padding=2, dilation=3
    )
    assert out.shape[-1] == 3 * 1 + 3 * 2 + 1 + 2


# --- modules ----------------------------------------------------------------------------------

MODULE_CONFIGS = [
    dict(in_channels=4, out_channels=6, kernel_size=3),
    dict(
        in_channels=4,
        out_channels=6,
        kernel_size=(3, 2, 1),
        stride=2,
        padding=(0, 1, 1),
        output_padding=1,
        groups=2,
        bias=False,
        dilation=(1, 2, 1),
    ),
    dict(in_channels=2, out_channels=2, kernel_size=2, stride=2, groups=2),
    dict(in_channels=3, out_channels=3, kernel_size=1, dilation=3, output_padding=2),
]


def cut(config: dict, n: int) -> dict:
    return {k: (v[:n] if isinstance(v, tuple) else v) for k, v in config.items()}


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("config", MODULE_CONFIGS)
def test_module_repr_init_and_state_dict(n, config):
    ours_cls, theirs_cls = MODULES[n]
    config = cut(config, n)
    torch.manual_seed(0)
    ours = ours_cls(**config, dtype=torch.float64)
    torch.manual_seed(0)
    theirs = theirs_cls(**config, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    for name, value in theirs.state_dict().items():  # torch's initialization, draw for draw
        assert torch.equal(ours.state_dict()[name], value), name
    theirs_cls(**config, dtype=torch.float64).load_state_dict(ours.state_dict())
    fresh = ours_cls(**config, dtype=torch.float64)
    fresh.load_state_dict(theirs.state_dict())
    x = torch.randn(2, config["in_channels"], *[4, 3, 3][:n], dtype=torch.float64)
    assert_close(fresh(x), theirs(x))
    assert_close(fresh(x[0]), theirs(x[0]))
    assert (ours.transposed, ours.padding_mode, ours._reversed_padding_repeated_twice) == (
        theirs.transposed,
        theirs.padding_mode,
        theirs._reversed_padding_repeated_twice,
    )


@pytest.mark.parametrize(
    "input_shape, output_size",
    [
        ((2, 4, 5, 5), [10, 10]),
        ((2, 4, 5, 5), [9, 10]),
        ((2, 4, 5, 5), torch.Size([2, 6, 10, 9])),
        ((4, 5, 5), [6, 9, 9]),
        ((4, 5, 5), (10, 9)),
    ],
    ids=["plain", "mixed", "with-batch-and-channels", "unbatched-with-channels", "unbatched"],
)
def test_module_output_size(input_shape, output_size):
    torch.manual_seed(1)
    theirs = torch_nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, dtype=torch.float64)
    ours = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, dtype=torch.float64)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(*input_shape, dtype=torch.float64)
    assert_matches_torch(ours, theirs, x, output_size=output_size)


@pytest.mark.parametrize(
    "input_shape, output_size, match",
    [
        (
            (2, 4, 5, 5),
            [11, 9],
            r"requested an output size of \[11, 9\], but valid sizes range from \[9, 9\] to",
        ),
        ((2, 4, 5, 5), [8, 9], r"valid sizes range from \[9, 9\] to \[10, 10\]"),
        ((2, 4, 5, 5), [9, 9, 9], "for a 4-D input, output_size must have 2 or 4 elements"),
        ((4, 5, 5), [1, 9, 9, 9], "for a 3-D input, output_size must have 2 or 3 elements"),
    ],
    ids=["too-large", "too-small", "length-batched", "length-unbatched"],
)
def test_module_output_size_errors(input_shape, output_size, match):
    theirs = torch_nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1)
    ours = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1)
    x = torch.randn(*input_shape)
    with pytest.raises(ValueError):
        theirs(x, output_size=output_size)
    with pytest.raises(ValueError, match=match):
        ours(x, output_size=output_size)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(padding_mode="reflect"), "only padding_mode='zeros' is supported"),
        (dict(groups=3), "in_channels must be divisible by groups"),
        (dict(groups=0), "groups must be a positive integer"),
        (dict(out_channels=5, groups=2), "out_channels must be divisible by groups"),
    ],
    ids=["padding-mode", "in-groups", "groups-zero", "out-groups"],
)
def test_module_constructor_errors(kwargs, match):
    config = dict(in_channels=4, out_channels=6, kernel_size=3) | kwargs
    with pytest.raises(ValueError):
        torch_nn.ConvTranspose2d(**config)
    with pytest.raises(ValueError, match=match):
        nn.ConvTranspose2d(**config)


def test_module_bad_output_padding_fails_at_forward_like_torch():
    ours, theirs = (
        nn.ConvTranspose2d(2, 2, 3, output_padding=3),
        torch_nn.ConvTranspose2d(2, 2, 3, output_padding=3),
    )
    x = torch.randn(1, 2, 4, 4)
    with pytest.raises(RuntimeError):
        theirs(x)
    with pytest.raises(RuntimeError, match="output_padding must be smaller"):
        ours(x)


# --- sub-pixel conversion ---------------------------------------------------------------------

SUBPIXEL = [
    (1, dict(in_channels=3, out_channels=4, kernel_size=3, stride=3)),
    (1, dict(in_channels=4, out_channels=4, kernel_size=2, stride=2, groups=4)),
    (2, dict(in_channels=3, out_channels=5, kernel_size=2, stride=2)),
    (2, dict(in_channels=6, out_channels=6, kernel_size=2, stride=2, groups=6)),
    (2, dict(in_channels=4, out_channels=6, kernel_size=(2, 3), stride=(2, 3), groups=2, bias=False)),
    (3, dict(in_channels=2, out_channels=3, kernel_size=2, stride=2)),
    (3, dict(in_channels=3, out_channels=3, kernel_size=(1, 2, 3), stride=(1, 2, 3), groups=3)),
]


@pytest.mark.parametrize("source", ["torch", "ours"])
@pytest.mark.parametrize("n, config", SUBPIXEL, ids=[f"{n}d-{i}" for i, (n, _) in enumerate(SUBPIXEL)])
def test_subpixel_conversion_is_exact(source, n, config):
    layer = MODULES[n][0 if source == "ours" else 1](**config, dtype=torch.float64)
    with torch.no_grad():
        if layer.bias is not None:
            layer.bias.normal_()
    converted = nn.conv_transpose_to_subpixel(layer)
    assert isinstance(converted, torch_nn.Sequential) and len(converted) == 2
    assert isinstance(converted[0], (nn.Conv1d, nn.Conv2d, nn.Conv3d)[n - 1])
    assert converted[0].kernel_size == (1,) * n and converted[0].groups == layer.groups
    x = torch.randn(2, config["in_channels"], *[5, 4, 3][:n], dtype=torch.float64)
    expected = layer(x)
    assert_close(converted(x), expected, rtol=1e-12, atol=1e-12)
    assert_close(converted(x[0]), expected[0], rtol=1e-12, atol=1e-12)


def test_subpixel_uses_torch_pixel_shuffle_layout_in_2d():
    converted = nn.conv_transpose_to_subpixel(torch_nn.ConvTranspose2d(4, 4, 2, stride=2, groups=4))
    assert repr(converted[1]) == repr(torch_nn.PixelShuffle(2))
    assert converted[0].weight.shape == (16, 1, 1, 1)


def test_subpixel_does_not_draw_random_numbers():
    layer = nn.ConvTranspose2d(2, 2, 2, stride=2)
    torch.manual_seed(3)
    nn.conv_transpose_to_subpixel(layer)
    after = torch.rand(1)
    torch.manual_seed(3)
    assert torch.equal(after, torch.rand(1))


@pytest.mark.parametrize(
    "config, match",
    [
        (dict(kernel_size=3, stride=2), r"kernel_size=\(3, 3\) must equal stride=\(2, 2\)"),
        (dict(kernel_size=2, stride=2, padding=1), r"padding=\(1, 1\) must be 0"),
        (dict(kernel_size=2, stride=2, dilation=2), r"dilation=\(2, 2\) must be 1"),
        (dict(kernel_size=2, stride=2, output_padding=1), r"output_padding=\(1, 1\) must be 0"),
    ],
    ids=["kernel-stride", "padding", "dilation", "output-padding"],
)
def test_subpixel_rejects_layers_that_do_not_qualify(config, match):
    for layer in (torch_nn.ConvTranspose2d(2, 2, **config), nn.ConvTranspose2d(2, 2, **config)):
        with pytest.raises(ValueError, match="has no exact sub-pixel form: " + match):
            nn.conv_transpose_to_subpixel(layer)


def test_subpixel_rejects_other_modules():
    with pytest.raises(TypeError, match="expected a ConvTranspose1d/2d/3d"):
        nn.conv_transpose_to_subpixel(torch_nn.Conv2d(2, 2, 2, stride=2))
    with pytest.raises(ValueError, match="is lazy and not initialized yet"):
        nn.conv_transpose_to_subpixel(torch_nn.LazyConvTranspose2d(2, 2, stride=2))
