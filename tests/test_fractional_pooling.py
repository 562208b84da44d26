"""fractional_max_pool2d/3d against torch: with explicit ``_random_samples`` the windows, values,
indices and gradients are torch's exactly; without, the shapes and the window rule hold; errors;
the modules (buffers, state_dict, repr)."""

import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
from hypothesis import given
from hypothesis import strategies as st

import scratchnn.functional as F
import scratchnn.nn as nn
from helpers import assert_close, assert_matches_torch
from scratchnn.functional.fractional_pooling import _window_starts

f64 = torch.float64


def theirs(n, with_indices=False):
    """torch's op; its ``_random_samples`` must not require grad (assert_matches_torch makes every
    floating tensor a leaf that does)."""
    fn = getattr(torch_F, f"fractional_max_pool{n}d" + ("_with_indices" if with_indices else ""))

    def call(*args, _random_samples, **kwargs):
        return fn(*args, _random_samples=_random_samples.detach(), **kwargs)

    return call


def ours(n, with_indices=False):
    return getattr(F, f"fractional_max_pool{n}d" + ("_with_indices" if with_indices else ""))


@st.composite
def pool_config(draw):
    n = draw(st.sampled_from([2, 3]))
    kernel = tuple(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    out = tuple(draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)))
    # windows that fit: o + k − 1 ≤ S (torch's 3-D kernel wants <)
    spatial = [o + k - 1 + draw(st.integers(n - 2, 4)) for o, k in zip(out, kernel)]
    batched = draw(st.booleans())
    channels = draw(st.integers(1, 3))
    shape = ([draw(st.integers(1, 2))] if batched else []) + [channels, *spatial]
    x = torch.randn(shape, dtype=f64)
    if draw(st.booleans()):
        x = x.round()  # ties: torch's first maximum
    samples = torch.rand(shape[0] if batched else 1, channels, n, dtype=f64)
    return n, x, kernel, out, samples


@given(pool_config(), st.booleans(), st.sampled_from([f64, torch.float32]))
def test_matches_torch_with_given_samples(config, return_indices, dtype):
    n, x, kernel, out, samples = config
    assert_matches_torch(
        ours(n),
        theirs(n),
        x.to(dtype),
        kernel,
        output_size=out,
        return_indices=return_indices,
        _random_samples=samples.to(dtype),
    )


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("ratio", [0.5, 0.75])
def test_output_ratio_and_indices_match_torch(n, ratio):
    x = torch.randn(2, 3, *[9] * n, dtype=f64)
    samples = torch.rand(2, 3, n, dtype=f64)
    assert_matches_torch(
        ours(n, True), theirs(n, True), x, 2, output_ratio=(ratio,) * n, _random_samples=samples
    )


@pytest.mark.parametrize("n", [2, 3])
def test_gradcheck(n):
    x = torch.randn(1, 2, *[5] * n, dtype=f64, requires_grad=True)
    samples = torch.rand(1, 2, n, dtype=f64)
    assert torch.autograd.gradcheck(lambda t: ours(n)(t, 2, output_size=3, _random_samples=samples), (x,))


def test_nan_wins_as_in_torch():
    x = torch.randn(1, 1, 6, 6, dtype=f64)
    x[0, 0, 1, 1] = x[0, 0, 4, 2] = float("nan")
    samples = torch.rand(1, 1, 2, dtype=f64)
    assert_matches_torch(ours(2, True), theirs(2, True), x, 3, output_size=3, _random_samples=samples)


def test_window_starts_follow_torchs_rule():
    sample = torch.tensor([[0.3]], dtype=f64)
    alpha = (10 - 3) / (4 - 1)
    expected = [int((j + 0.3) * alpha) - int(0.3 * alpha) for j in range(3)] + [10 - 3]
    assert _window_starts(sample, 10, 4, 3).flatten().tolist() == expected
    assert _window_starts(sample, 10, 1, 3).flatten().tolist() == [7]


@pytest.mark.parametrize("n", [2, 3])
def test_without_samples_draws_windows_like_torch(n):
    x = torch.randn(2, 3, *[11] * n, dtype=f64)
    torch.manual_seed(0)
    out, indices = ours(n)(x, 2, output_size=5, return_indices=True)
    torch.manual_seed(0)
    expected, expected_indices = torch_F.__dict__[f"fractional_max_pool{n}d"](
        x, 2, output_size=5, return_indices=True
    )
    # the same torch.rand call under the same seed: the same samples, so torch's result
    assert_close(out, expected)
    assert torch.equal(indices, expected_indices)
    assert_close(x.flatten(2).gather(2, indices.flatten(2)).view_as(out), out, "values at the indices")


@st.composite
def invalid_config(draw):
    """A call torch refuses: (args, kwargs)."""
    x = torch.randn(2, 3, 9, 11)
    wrong = draw(
        st.sampled_from(
            [
                "no-size",
                "too-large",
                "ratio-triple",
                "rank",
                "empty",
                "sample-dtype",
                "sample-rank",
                "sample-batch",
                "sample-channels",
                "sample-dims",
                "kernel",
                "output-size",
            ]
        )
    )
    samples = torch.rand(2, 3, 2)
    kwargs = {"output_size": 4, "_random_samples": samples}
    kernel = 2
    if wrong == "no-size":
        kwargs = {}
    elif wrong == "too-large":
        kwargs["output_size"] = (9, 4)
    elif wrong == "ratio-triple":
        kwargs = {"output_ratio": (0.5, 0.5, 0.5)}
    elif wrong == "rank":
        x = torch.randn(2, 2, 3, 9, 11)
    elif wrong == "empty":
        x = torch.randn(2, 0, 9, 11)
    elif wrong == "sample-dtype":
        kwargs["_random_samples"] = samples.double()
    elif wrong == "sample-rank":
        kwargs["_random_samples"] = samples[0]
    elif wrong == "sample-batch":
        kwargs["_random_samples"] = samples[:1]
    elif wrong == "sample-channels":
        kwargs["_random_samples"] = samples[:, :2]
    elif wrong == "sample-dims":
        kwargs["_random_samples"] = torch.rand(2, 3, 3)
    elif wrong == "kernel":
        kernel = (2, 2, 2)
    else:
        kwargs["output_size"] = (3, 3, 3)
    return (x, kernel), kwargs


@given(invalid_config())
def test_invalid_configurations_raise_like_torch(config):
    args, kwargs = config
    with pytest.raises(Exception) as expected:
        torch_F.fractional_max_pool2d(*args, **kwargs)
    with pytest.raises(expected.type, match=r"^fractional_max_pool2d: "):
        F.fractional_max_pool2d(*args, **kwargs)


@pytest.mark.parametrize(
    ("n", "args", "kwargs", "error", "message"),
    [
        (
            2,
            ((2, 3, 9, 11), 2),
            {},
            ValueError,
            "requires specifying either an output_size or an output_ratio",
        ),
        (
            2,
            ((2, 3, 9, 11), 2),
            {"output_size": (9, 4)},
            RuntimeError,
            "pool height 2 too large relative to input height 9",
        ),
        (
            3,
            ((2, 3, 5, 9, 11), 2),
            {"output_size": (5, 3, 3)},
            RuntimeError,
            "pool time 2 too large relative to input time 5",
        ),
        (
            2,
            ((2, 3, 9, 11), 2),
            {"output_ratio": (0.5, 0.5, 0.5)},
            ValueError,
            "requires output_ratio to either be a single",
        ),
        (2, ((2, 0, 9, 11), 2), {"output_size": 3}, RuntimeError, "non-zero size for non-batch dimensions"),
        (
            2,
            ((2, 3, 9, 11), (2, 2, 2)),
            {"output_size": 3},
            RuntimeError,
            "kernel_size must either be a single Int",
        ),
        (
            2,
            ((2, 3, 9, 11), 2),
            {"output_size": (3, 3, 3)},
            RuntimeError,
            "output_size must either be a single Int",
        ),
        (3, ((9, 11, 4), 2), {"output_size": 3}, RuntimeError, "Expected 4D or 5D tensor"),
        (
            3,
            ((1, 2, 4, 5, 5), 2),
            {"output_size": 3},
            RuntimeError,
            "pool time 2 too large relative to input time 4",
        ),
    ],
    ids=[
        "no-size",
        "too-large-2d",
        "too-large-3d",
        "ratio-triple",
        "empty",
        "kernel",
        "output-size",
        "rank",
        "3d-strict",
    ],
)
def test_error_messages(n, args, kwargs, error, message):
    shape, kernel = args
    x = torch.randn(shape)
    samples = torch.rand(shape[0], shape[1], n) if shape[1] else None
    kwargs = (
        {**kwargs, "_random_samples": samples}
        if "output_ratio" not in kwargs and samples is not None
        else kwargs
    )
    with pytest.raises(error, match=message):
        getattr(torch_F, f"fractional_max_pool{n}d")(x, kernel, **kwargs)
    with pytest.raises(error, match=rf"^fractional_max_pool{n}d: .*{message}"):
        ours(n)(x, kernel, **kwargs)


def test_sample_errors_match_torch():
    x, samples = torch.randn(2, 3, 9, 11), torch.rand(2, 3, 2)
    cases = [
        (samples.double(), "Expect _random_samples to have the same dtype as input"),
        (samples[0], "Expect _random_samples to have 3 dimensions, got 2"),
        (samples[:1], r"Expect _random_samples.size\(0\) no less then input batch size"),
        (samples[:, :2], r"Expect _random_samples.size\(1\) equals to input channel size"),
        (torch.rand(2, 3, 3), r"Expect _random_samples.size\(2\) equals to 2; got 3."),
    ]
    for wrong, message in cases:
        with pytest.raises(RuntimeError, match=message):
            torch_F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=wrong)
        with pytest.raises(RuntimeError, match=f"^fractional_max_pool2d: {message}"):
            F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=wrong)
    with pytest.raises(NotImplementedError):
        torch_F.fractional_max_pool2d(x.long(), 2, output_size=3)
    with pytest.raises(
        NotImplementedError, match=r"^fractional_max_pool2d: not implemented for torch\.int64"
    ):
        F.fractional_max_pool2d(x.long(), 2, output_size=3)
    with pytest.raises(TypeError):  # torch 2.13 takes len() of a bare float ratio (its module pairs it)
        torch_F.fractional_max_pool2d(x, 2, output_ratio=0.5)
    with pytest.raises(TypeError, match=r"^fractional_max_pool2d: output_ratio must be a tuple of 2 ratios"):
        F.fractional_max_pool2d(x, 2, output_ratio=0.5)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("FractionalMaxPool2d", {"kernel_size": 2, "output_size": 3}),
        ("FractionalMaxPool2d", {"kernel_size": (2, 3), "output_ratio": 0.5, "return_indices": True}),
        ("FractionalMaxPool3d", {"kernel_size": 2, "output_size": (2, 3, 3)}),
        ("FractionalMaxPool3d", {"kernel_size": 2, "output_ratio": (0.5, 0.6, 0.7)}),
    ],
)
def test_modules_match_torch(name, kwargs):
    n = 2 if name.endswith("2d") else 3
    samples = torch.rand(2, 3, n, dtype=f64)
    ours_module = getattr(nn, name)(**kwargs, _random_samples=samples)
    reference = getattr(torch_nn, name)(**kwargs, _random_samples=samples.clone())
    assert repr(ours_module) == repr(reference)
    for attribute in ("kernel_size", "output_size", "output_ratio", "return_indices"):
        assert getattr(ours_module, attribute) == getattr(reference, attribute), attribute
    x = torch.randn(2, 3, *[8] * n, dtype=f64)
    assert_close(
        ours_module(x)[0] if kwargs.get("return_indices") else ours_module(x),
        (reference(x)[0] if kwargs.get("return_indices") else reference(x)),
    )
    assert list(ours_module.state_dict()) == list(reference.state_dict()) == ["_random_samples"]
    ours_module.load_state_dict(reference.state_dict(), strict=True)
    reference.load_state_dict(ours_module.state_dict(), strict=True)
    plain = getattr(nn, name)(**kwargs)
    assert plain.state_dict() == {} == getattr(torch_nn, name)(**kwargs).state_dict()


def test_module_constructor_errors_match_torch():
    for module in (torch_nn, nn):
        with pytest.raises(ValueError, match="requires specifying either an output size, or a pooling ratio"):
            module.FractionalMaxPool2d(2)
        with pytest.raises(ValueError, match="only one of output_size and output_ratio may be specified"):
            module.FractionalMaxPool3d(2, output_size=3, output_ratio=0.5)
        with pytest.raises(ValueError, match=r"output_ratio must be between 0 and 1 \(got 1.5\)"):
            module.FractionalMaxPool2d(2, output_ratio=1.5)


@pytest.mark.parametrize("kernel", [(0, 2), (-1, 2)])
def test_empty_windows_are_refused_where_torch_returns_minus_infinity(kernel):
    x, samples = torch.randn(1, 1, 5, 5), torch.rand(1, 1, 2)
    assert torch_F.fractional_max_pool2d(x, kernel, output_size=3, _random_samples=samples).isneginf().all()
    with pytest.raises(RuntimeError, match=r"^fractional_max_pool2d: kernel_size must be positive"):
        F.fractional_max_pool2d(x, kernel, output_size=3, _random_samples=samples)
