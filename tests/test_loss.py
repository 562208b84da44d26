"""Losses against torch: values and gradients over random valid configurations (every reduction and
option, float64 and float32), gradcheck, torch's edge cases (empty inputs, every target ignored,
the log clamp), legacy size_average/reduce and the warnings, every error message (and torch's
exception type for the same call), modules: reprs, buffers and state_dicts both ways."""

import functools
import math
import warnings

import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn
import scratchnn.functional as F
import scratchnn.nn as nn
from helpers import assert_close, assert_matches_torch
from scratchnn._comparison import tolerance

f64 = torch.float64
dtypes = st.sampled_from([torch.float64, torch.float32])
sizes = st.integers(1, 4)
reductions = st.sampled_from(["none", "mean", "sum"])


def seeded(data):
    torch.manual_seed(data.draw(st.integers(0, 2**16), label="seed"))


def both(name, *args, fixed=None, **kwargs):
    """Our op and torch's on the same arguments (values, dtypes, gradients of every float tensor but
    those in ``fixed``: torch refuses a class weight that requires grad)."""
    fixed = fixed or {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the target-size and 'mean' warnings are tested below
        return assert_matches_torch(
            functools.partial(getattr(F, name), **fixed),
            functools.partial(getattr(torch_F, name), **fixed),
            *args,
            **kwargs,
        )


def shape(data, min_dims=0, max_dims=3):
    return tuple(data.draw(st.lists(sizes, min_size=min_dims, max_size=max_dims), label="shape"))


# --- regression ----------------------------------------------------------------------------------


@settings(max_examples=60)
@given(
    st.data(), dtypes, reductions, st.sampled_from(["l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss"])
)
def test_regression_losses_match_torch(data, dtype, reduction, name):
    seeded(data)
    dims = shape(data)
    x, y = torch.randn(dims, dtype=dtype), torch.randn(dims, dtype=dtype)
    if data.draw(st.booleans(), label="broadcast target") and dims:
        y = y[..., :1]  # broadcasts (with torch's warning)
    kwargs = {"reduction": reduction}
    if name == "huber_loss":
        kwargs["delta"] = data.draw(st.sampled_from([1.0, 0.3, 2.5]))
    if name == "smooth_l1_loss":
        kwargs["beta"] = data.draw(st.sampled_from([1.0, 0.0, 0.4, 3.0]))
    if name != "smooth_l1_loss" and data.draw(st.booleans(), label="weight"):
        kwargs["weight"] = torch.rand(dims, dtype=dtype) + 0.1
    both(name, x, y, **kwargs)


@settings(max_examples=40)
@given(st.data(), dtypes, st.sampled_from(["none", "mean", "sum", "batchmean"]), st.booleans())
def test_kl_div_matches_torch(data, dtype, reduction, log_target):
    seeded(data)
    dims = shape(data)
    x = torch.randn(dims, dtype=dtype).log_softmax(-1) if dims else torch.randn((), dtype=dtype)
    y = torch.rand(dims, dtype=dtype)
    if log_target:
        y = y.log()
    elif dims:
        y.view(-1)[0] = 0  # 0·log 0 = 0
    both("kl_div", x, y, reduction=reduction, log_target=log_target)


@settings(max_examples=40)
@given(st.data(), dtypes, reductions, st.booleans(), st.booleans())
def test_poisson_nll_loss_matches_torch(data, dtype, reduction, log_input, full):
    seeded(data)
    dims = shape(data)
    x = torch.randn(dims, dtype=dtype) if log_input else torch.rand(dims, dtype=dtype) + 0.1
    y = 3 * torch.rand(dims, dtype=dtype) + 0.01  # both sides of the Stirling cut at y = 1
    eps = data.draw(st.sampled_from([1e-8, 0.1]))
    both("poisson_nll_loss", x, y, log_input=log_input, full=full, eps=eps, reduction=reduction)


@settings(max_examples=40)
@given(st.data(), dtypes, reductions, st.booleans())
def test_gaussian_nll_loss_matches_torch(data, dtype, reduction, full):
    seeded(data)
    dims = (data.draw(sizes), *shape(data, 1, 2))
    x, y = torch.randn(dims, dtype=dtype), torch.randn(dims, dtype=dtype)
    form = data.draw(st.sampled_from(["same", "one short", "one dim 1", "float"]))
    if form == "same":
        var = torch.rand(dims, dtype=dtype) + 0.05
        var.view(-1)[0] = 1e-9  # clamped to eps
    elif form == "one short":
        var = torch.rand(dims[:-1], dtype=dtype) + 0.05
    elif form == "one dim 1":
        at = data.draw(st.integers(0, len(dims) - 1))
        var = torch.rand((*dims[:at], 1, *dims[at + 1 :]), dtype=dtype) + 0.05
    else:
        var = 0.7
    both("gaussian_nll_loss", x, y, var, full=full, eps=1e-3, reduction=reduction)


# --- classification ------------------------------------------------------------------------------


def class_indices(data, target_shape, classes, ignore_index):
    target = torch.randint(0, classes, target_shape)
    if data.draw(st.booleans(), label="some ignored") and target.numel():
        target.view(-1)[0] = ignore_index
    return target


@settings(max_examples=80)
@given(st.data(), dtypes, reductions, st.sampled_from(["nll_loss", "cross_entropy"]))
def test_nll_and_cross_entropy_with_class_indices_match_torch(data, dtype, reduction, name):
    seeded(data)
    classes = data.draw(st.integers(1, 5))
    unbatched = data.draw(st.booleans(), label="unbatched")
    batch = data.draw(st.integers(1, 4))
    spatial = () if unbatched else shape(data, 0, 3)
    input_shape = (classes,) if unbatched else (batch, classes, *spatial)
    target_shape = () if unbatched else (batch, *spatial)
    ignore_index = data.draw(st.sampled_from([-100, 0, 2]))
    x = torch.randn(input_shape, dtype=dtype)
    if name == "nll_loss":
        x = x.log_softmax(0 if unbatched else 1)
    target = class_indices(data, target_shape, classes, ignore_index)
    kwargs = {"reduction": reduction, "ignore_index": ignore_index}
    fixed = {}
    if data.draw(st.booleans(), label="weight"):
        fixed["weight"] = torch.rand(classes, dtype=dtype) + 0.1
    if name == "cross_entropy":
        kwargs["label_smoothing"] = data.draw(st.sampled_from([0.0, 0.1, 1.0]))
    both(name, x, target, fixed=fixed, **kwargs)


@settings(max_examples=60)
@given(st.data(), dtypes, reductions)
def test_cross_entropy_with_class_probabilities_matches_torch(data, dtype, reduction):
    seeded(data)
    classes = data.draw(st.integers(1, 5))
    unbatched = data.draw(st.booleans(), label="unbatched")
    dims = (classes,) if unbatched else (data.draw(sizes), classes, *shape(data, 0, 2))
    x = torch.randn(dims, dtype=dtype)
    target = torch.rand(dims, dtype=dtype).softmax(0 if unbatched else 1)
    kwargs = {"reduction": reduction, "label_smoothing": data.draw(st.sampled_from([0.0, 0.25]))}
    if data.draw(st.booleans(), label="weight"):
        kwargs["weight"] = torch.rand(classes, dtype=dtype) + 0.1
    both("cross_entropy", x, target, **kwargs)


def test_class_weights_are_differentiable_where_torch_refuses():
    x = torch.randn(3, 4, dtype=f64).log_softmax(1)
    target, weight = torch.tensor([0, 3, 1]), torch.rand(4, dtype=f64, requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        torch_F.nll_loss(x, target, weight=weight)
    assert torch.autograd.gradcheck(lambda w: F.nll_loss(x, target, weight=w), (weight,))


@settings(max_examples=60)
@given(st.data(), dtypes, reductions)
def test_binary_cross_entropy_matches_torch(data, dtype, reduction):
    seeded(data)
    dims = shape(data)
    x = 0.05 + 0.9 * torch.rand(dims, dtype=dtype)
    y = torch.rand(dims, dtype=dtype)
    fixed = {}
    if data.draw(st.booleans(), label="weight"):
        fixed["weight"] = torch.rand(dims[-1:] if dims else (), dtype=dtype)  # broadcasts to the target
    both("binary_cross_entropy", x, y, fixed=fixed, reduction=reduction)


@settings(max_examples=60)
@given(st.data(), dtypes, reductions)
def test_binary_cross_entropy_with_logits_matches_torch(data, dtype, reduction):
    seeded(data)
    dims = shape(data, 1)
    x = 5 * torch.randn(dims, dtype=dtype)
    y = torch.rand(dims, dtype=dtype)
    fixed = {}  # torch has no gradient for either weight
    if data.draw(st.booleans(), label="weight"):
        fixed["weight"] = torch.rand(dims, dtype=dtype)
    if data.draw(st.booleans(), label="pos_weight"):
        fixed["pos_weight"] = 2 * torch.rand(dims[-1:], dtype=dtype)
    both("binary_cross_entropy_with_logits", x, y, fixed=fixed, reduction=reduction)


def test_binary_cross_entropy_clamps_the_log_at_minus_100():
    x, y = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=f64), torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=f64)
    assert_close(
        F.binary_cross_entropy(x, y, reduction="none"), torch_F.binary_cross_entropy(x, y, reduction="none")
    )
    assert F.binary_cross_entropy(x, y, reduction="none").tolist() == [100.0, 100.0, 0.0, 0.0]


def test_binary_cross_entropy_with_logits_is_stable_for_large_logits():
    x, y = torch.tensor([800.0, -800.0, 90.0]), torch.tensor([0.0, 1.0, 1.0])
    both("binary_cross_entropy_with_logits", x, y, reduction="none")
    assert torch.isfinite(F.binary_cross_entropy_with_logits(x, y, reduction="none")).all()


@settings(max_examples=40)
@given(st.data(), dtypes, st.sampled_from(["mean", "sum", "none"]))
def test_linear_cross_entropy_matches_torch(data, dtype, reduction):
    seeded(data)
    features, classes = data.draw(sizes), data.draw(st.integers(1, 5))
    k_dims = () if data.draw(st.booleans()) else shape(data, 1, 2)
    unbatched = not k_dims and data.draw(st.booleans(), label="unbatched")
    batch = data.draw(sizes)
    x = torch.randn((features,) if unbatched else (batch, features), dtype=dtype)
    w = torch.randn(classes, *k_dims, features, dtype=dtype)
    b = torch.randn(classes, *k_dims, dtype=dtype) if data.draw(st.booleans(), label="bias") else None
    logits_shape = (classes,) if unbatched else (batch, classes, *k_dims)
    if data.draw(st.booleans(), label="probabilities"):
        target = torch.rand(logits_shape, dtype=dtype).softmax(0 if unbatched else 1)
        ignore_index = None
    else:
        target = torch.randint(0, classes, () if unbatched else (batch, *k_dims))
        ignore_index = data.draw(st.sampled_from([None, 1]))
    kwargs = {"linear_bias": b, "reduction": reduction, "ignore_index": ignore_index}
    kwargs["label_smoothing"] = data.draw(st.sampled_from([0.0, 0.2]))
    both("linear_cross_entropy", x, w, target, **kwargs)


# --- margins -------------------------------------------------------------------------------------


def signs(dims):
    return torch.randint(0, 2, dims).double() * 2 - 1


@settings(max_examples=40)
@given(st.data(), dtypes, reductions, st.sampled_from([1.0, 0.0, -0.5, 2.0]))
def test_hinge_embedding_and_soft_margin_match_torch(data, dtype, reduction, margin):
    seeded(data)
    dims = shape(data)
    x, y = 2 * torch.randn(dims, dtype=dtype), signs(dims).to(dtype)
    both("hinge_embedding_loss", x, y, margin=margin, reduction=reduction)
    both("soft_margin_loss", x, fixed={"target": y}, reduction=reduction)  # torch: no target gradient


@settings(max_examples=40)
@given(st.data(), dtypes, reductions, st.sampled_from([0.0, 0.5, -0.3]))
def test_margin_ranking_loss_matches_torch(data, dtype, reduction, margin):
    seeded(data)
    dims = shape(data)
    x1, x2, y = torch.randn(dims, dtype=dtype), torch.randn(dims, dtype=dtype), signs(dims).to(dtype)
    both("margin_ranking_loss", x1, x2, y, margin=margin, reduction=reduction)


@settings(max_examples=60)
@given(st.data(), dtypes, reductions)
def test_multi_margin_loss_matches_torch(data, dtype, reduction):
    seeded(data)
    classes = data.draw(sizes)
    form = data.draw(st.sampled_from(["batched", "unbatched", "unbatched (1,) target", "scalar"]))
    batch = data.draw(sizes)
    x = torch.randn({"batched": (batch, classes), "scalar": ()}.get(form, (classes,)), dtype=dtype)
    target_shape = {"batched": (batch,), "unbatched (1,) target": (1,)}.get(form, ())
    target = torch.randint(0, classes if form != "scalar" else 1, target_shape)
    p, margin = data.draw(st.sampled_from([1, 2])), data.draw(st.sampled_from([1.0, 0.3, 2.0]))
    weight = torch.rand(classes if form != "scalar" else 1, dtype=dtype) if data.draw(st.booleans()) else None
    both("multi_margin_loss", x, target, p=p, margin=margin, fixed={"weight": weight}, reduction=reduction)


@settings(max_examples=60)
@given(st.data(), dtypes, reductions)
def test_multilabel_margin_loss_matches_torch(data, dtype, reduction):
    seeded(data)
    classes = data.draw(sizes)
    unbatched = data.draw(st.booleans(), label="unbatched")
    dims = (classes,) if unbatched else (data.draw(sizes), classes)
    x = torch.randn(dims, dtype=dtype)
    target = torch.randint(0, classes, dims)  # repeats count twice, as torch
    ends = torch.rand(dims) < 0.3
    target[ends] = -1  # the list ends at the first -1; what follows it may be anything in range
    both("multilabel_margin_loss", x, target, reduction=reduction)


@settings(max_examples=40)
@given(st.data(), dtypes, reductions)
def test_multilabel_soft_margin_loss_matches_torch(data, dtype, reduction):
    seeded(data)
    dims = (data.draw(sizes),) if data.draw(st.booleans()) else (data.draw(sizes), data.draw(sizes))
    x, y = 3 * torch.randn(dims, dtype=dtype), (torch.rand(dims) < 0.5).to(dtype)
    weight = torch.rand(dims[-1:], dtype=dtype) if data.draw(st.booleans(), label="weight") else None
    both("multilabel_soft_margin_loss", x, y, weight=weight, reduction=reduction)


@settings(max_examples=40)
@given(st.data(), dtypes, reductions, st.sampled_from([0.0, 0.3, -0.4]))
def test_cosine_embedding_loss_matches_torch(data, dtype, reduction, margin):
    seeded(data)
    features, unbatched = data.draw(sizes), data.draw(st.booleans())
    dims = (features,) if unbatched else (data.draw(sizes), features)
    x1, x2 = torch.randn(dims, dtype=dtype), torch.randn(dims, dtype=dtype)
    y = signs(dims[:-1]).to(dtype)
    if not unbatched and data.draw(st.booleans(), label="a zero target"):
        y[0] = 0  # neither 1 nor −1: costs 0, as torch
    both("cosine_embedding_loss", x1, x2, y, margin=margin, reduction=reduction)


@settings(max_examples=60)
@given(st.data(), dtypes, reductions, st.booleans())
def test_triplet_margin_loss_matches_torch(data, dtype, reduction, swap):
    seeded(data)
    dims = shape(data, 0, 3)
    anchor, positive, negative = (torch.randn(dims, dtype=dtype) for _ in range(3))
    if dims and data.draw(st.booleans(), label="broadcast positive"):
        positive = positive[:1] if len(dims) > 1 else positive
    p = data.draw(st.sampled_from([2.0, 1.0, 3.0, math.inf]))
    margin, eps = data.draw(st.sampled_from([1.0, 0.2, 4.0])), data.draw(st.sampled_from([1e-6, 0.0, 0.1]))
    both(
        "triplet_margin_loss",
        anchor,
        positive,
        negative,
        margin=margin,
        p=p,
        eps=eps,
        swap=swap,
        reduction=reduction,
    )


def l1_distance(u, v):
    return (u - v).abs().sum(-1)


@settings(max_examples=40)
@given(st.data(), dtypes, reductions, st.booleans(), st.sampled_from([None, l1_distance]))
def test_triplet_margin_with_distance_loss_matches_torch(data, dtype, reduction, swap, distance):
    seeded(data)
    dims = shape(data, 1, 3)
    anchor, positive, negative = (torch.randn(dims, dtype=dtype) for _ in range(3))
    margin = data.draw(st.sampled_from([1.0, 0.5, 3.0]))
    both(
        "triplet_margin_with_distance_loss",
        anchor,
        positive,
        negative,
        distance_function=distance,
        margin=margin,
        swap=swap,
        reduction=reduction,
    )


@pytest.mark.parametrize(
    "name, target",
    [("multi_margin_loss", torch.tensor([1])), ("multilabel_margin_loss", torch.tensor([[1, -1, 0]]))],
)
def test_margin_kinks_have_torchs_zero_gradient(name, target):
    x = torch.tensor([[0.0, 1.0, 0.0]], dtype=f64)  # margin − x_y + x_i = 0 exactly
    both(name, x, target)
    assert not torch.autograd.grad(getattr(F, name)(x.requires_grad_(), target), x)[0].any()


# --- gradcheck -----------------------------------------------------------------------------------


def tiny(*dims):
    return torch.randn(*dims, dtype=f64, requires_grad=True)


_constants = torch.Generator().manual_seed(0)
Y, P = torch.randn(2, 3, dtype=f64, generator=_constants), torch.rand(2, 3, dtype=f64, generator=_constants)
V, W = torch.rand(2, 1, dtype=f64, generator=_constants) + 1, torch.rand(3, dtype=f64, generator=_constants)
SIGNS = torch.tensor([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0]], dtype=f64)
LABELS = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=f64)
GRADCHECKS = {
    "l1_loss": lambda x: F.l1_loss(x, Y, weight=P),
    "mse_loss": lambda x: F.mse_loss(x, Y),
    "huber_loss": lambda x: F.huber_loss(x, Y, delta=0.7),
    "smooth_l1_loss": lambda x: F.smooth_l1_loss(x, Y, beta=0.7),
    "kl_div": lambda x: F.kl_div(x, P, reduction="batchmean"),
    "poisson_nll_loss": lambda x: F.poisson_nll_loss(x, 3 * P, full=True),
    "gaussian_nll_loss": lambda x: F.gaussian_nll_loss(x, Y, V),
    "cross_entropy": lambda x: F.cross_entropy(x, torch.tensor([0, 2]), weight=W, label_smoothing=0.2),
    "cross_entropy (probabilities)": lambda x: F.cross_entropy(x, P),
    "nll_loss": lambda x: F.nll_loss(x, torch.tensor([1, -100])),
    "binary_cross_entropy": lambda x: F.binary_cross_entropy(x.sigmoid(), P),
    "binary_cross_entropy_with_logits": lambda x: F.binary_cross_entropy_with_logits(x, P, pos_weight=W),
    "hinge_embedding_loss": lambda x: F.hinge_embedding_loss(x, SIGNS),
    "soft_margin_loss": lambda x: F.soft_margin_loss(x, SIGNS),
    "multilabel_soft_margin_loss": lambda x: F.multilabel_soft_margin_loss(x, LABELS),
    "multi_margin_loss": lambda x: F.multi_margin_loss(x, torch.tensor([0, 2]), p=2),
    "multilabel_margin_loss": lambda x: F.multilabel_margin_loss(x, torch.tensor([[0, -1, 1], [2, 1, -1]])),
    "triplet_margin_loss": lambda x: F.triplet_margin_loss(x, Y, Y.flip(0)),
    "cosine_embedding_loss": lambda x: F.cosine_embedding_loss(x, Y, torch.tensor([1, -1]), margin=-1.0),
}


@pytest.mark.parametrize("name", list(GRADCHECKS))
def test_gradcheck(name):
    torch.manual_seed(0)
    assert torch.autograd.gradcheck(GRADCHECKS[name], (tiny(2, 3),))


# --- edge cases ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("nll_loss", (torch.randn(3, 4), torch.tensor([-100, -100, -100])), {}),
        ("nll_loss", (torch.randn(0, 4), torch.zeros(0, dtype=torch.long)), {}),
        ("nll_loss", (torch.randn(0, 4), torch.zeros(0, dtype=torch.long)), {"reduction": "sum"}),
        ("cross_entropy", (torch.randn(3, 4), torch.tensor([-100, -100, -100])), {"label_smoothing": 0.2}),
        ("cross_entropy", (torch.randn(0, 4), torch.rand(0, 4)), {}),
        ("cross_entropy", (torch.randn(4), torch.tensor([2])), {"reduction": "none"}),
        ("nll_loss", (torch.randn(4), torch.tensor([2])), {"reduction": "none"}),
        ("nll_loss", (torch.randn(3, 4), torch.tensor([2, 1, 0], dtype=torch.uint8)), {"reduction": "none"}),
        ("l1_loss", (torch.rand(0), torch.rand(0)), {}),
        ("mse_loss", (torch.rand(3), torch.rand(3)), {"weight": torch.zeros(3)}),
        ("l1_loss", (torch.tensor([1, 2]), torch.tensor([1, 3])), {"reduction": "none"}),
        ("hinge_embedding_loss", (torch.tensor([0, 1]), torch.tensor([0, 1])), {"reduction": "none"}),
        ("soft_margin_loss", (torch.tensor([-1000.0]), torch.tensor([1.0])), {}),
        ("kl_div", (torch.rand(()), torch.rand(())), {"reduction": "batchmean"}),
        ("multi_margin_loss", (torch.randn(()), torch.tensor(0)), {"reduction": "none"}),
        ("multilabel_margin_loss", (torch.randn(()), torch.tensor(0)), {"reduction": "none"}),
        ("mse_loss", (torch.rand(3, dtype=torch.float16), torch.rand(3, dtype=torch.float16)), {}),
        ("binary_cross_entropy_with_logits", (torch.rand(3), torch.rand(3, dtype=f64)), {}),
        ("triplet_margin_loss", (torch.tensor([[0, 1]]), torch.tensor([[0, 1]]), torch.tensor([[1, 1]])), {}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_edge_cases_as_torch(name, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = getattr(F, name)(*args, **kwargs), getattr(torch_F, name)(*args, **kwargs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    # at the coarsest input dtype's tolerance: a float32 input's logsigmoid stays float32 in torch too
    # (rounded one ulp apart now and then) before the float64 target promotes the loss
    floats = [a.dtype for a in args if a.is_floating_point()] or [torch.float64]
    coarsest = max(floats, key=lambda d: torch.finfo(d).eps)
    rtol = 1e-3 if coarsest == torch.float16 else tolerance(coarsest)
    assert_close(ours, theirs, rtol=rtol, atol=rtol)


LEGACY = [(a, r) for a in (None, True, False) for r in (None, True, False) if (a, r) != (None, None)]
LEGACY_OPS = [
    "l1_loss", "mse_loss", "smooth_l1_loss", "cross_entropy", "nll_loss", "kl_div", "poisson_nll_loss",
    "binary_cross_entropy_with_logits", "soft_margin_loss", "multi_margin_loss",
    "multilabel_soft_margin_loss",
]  # fmt: skip


@pytest.mark.parametrize("size_average, reduce", LEGACY)
@pytest.mark.parametrize("name", LEGACY_OPS)
def test_legacy_size_average_and_reduce_map_as_torch_with_its_warning(name, size_average, reduce):
    x, y = torch.randn(3, 4, dtype=f64), torch.rand(3, 4, dtype=f64)
    if name in ("cross_entropy", "nll_loss", "multi_margin_loss"):
        y = torch.tensor([0, 3, 1])
    legacy = {"size_average": size_average, "reduce": reduce}
    with pytest.warns(UserWarning, match=rf"{name}: size_average and reduce args will be deprecated"):
        ours = getattr(F, name)(x, y, **legacy)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        theirs = getattr(torch_F, name)(x, y, **legacy)
    assert_close(ours, theirs)


def test_target_size_warning_as_torch():
    x, y = torch.randn(3, 4), torch.randn(4)
    for name in ("l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss"):
        with pytest.warns(
            UserWarning, match=rf"{name}: Using a target size \(torch.Size\(\[4\]\)\) that is different"
        ):
            getattr(F, name)(x, y)
        with pytest.warns(UserWarning, match="Using a target size"):
            getattr(torch_F, name)(x, y)


def test_kl_div_mean_warns_as_torch():
    x, y = torch.randn(2, 3).log_softmax(1), torch.rand(2, 3)
    with pytest.warns(UserWarning, match=r"kl_div: reduction: 'mean' divides the total loss by both"):
        F.kl_div(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(x, y, reduction="batchmean")


def test_elementwise_mean_is_the_deprecated_name_of_mean():
    x, y = torch.randn(3), torch.randn(3)
    with pytest.warns(UserWarning, match="reduction='elementwise_mean' is deprecated"):
        assert_close(F.l1_loss(x, y, reduction="elementwise_mean"), torch_F.l1_loss(x, y))


# --- errors: our message, torch's exception type -------------------------------------------------

x34, long3 = torch.randn(3, 4), torch.tensor([0, 1, 2])
lp = torch.randn(6, 2, 4).log_softmax(2)
ERRORS = [
    ("l1_loss", (x34, x34), {"reduction": "x"}, ValueError, r"l1_loss: x is not a valid value for reduction"),
    (
        "l1_loss",
        (torch.rand(3), torch.rand(2)),
        {},
        RuntimeError,
        r"l1_loss: input and target do not broadcast",
    ),
    (
        "l1_loss",
        (x34, x34),
        {"weight": torch.rand(4)},
        ValueError,
        r"l1_loss: Weights and input must have the same size",
    ),
    (
        "mse_loss",
        (torch.tensor([1, 2]), torch.tensor([1, 3])),
        {},
        NotImplementedError,
        r"mse_loss: not implemented for torch.int64",
    ),
    (
        "l1_loss",
        (torch.tensor([1, 2]), torch.tensor([1, 3])),
        {},
        RuntimeError,
        r"l1_loss: mean\(\): could not infer output dtype",
    ),
    (
        "huber_loss",
        (x34, x34),
        {"delta": 0.0},
        RuntimeError,
        r"huber_loss: .*non-positive values for delta, got delta=0.0",
    ),
    ("huber_loss", (x34, x34), {"reduction": "x"}, ValueError, r"huber_loss: x is not a valid value"),
    (
        "huber_loss",
        (torch.tensor([0, 1]), torch.tensor([0, 1])),
        {},
        NotImplementedError,
        r"huber_loss: not implemented",
    ),
    (
        "smooth_l1_loss",
        (x34, x34),
        {"beta": -1.0},
        RuntimeError,
        r"smooth_l1_loss: .*negative values for beta, got beta=-1.0",
    ),
    (
        "kl_div",
        (x34, x34),
        {"reduction": "batchmean2"},
        ValueError,
        r"kl_div: batchmean2 is not a valid value",
    ),
    (
        "kl_div",
        (torch.tensor([0, 1]), torch.tensor([0, 1])),
        {"reduction": "sum"},
        RuntimeError,
        r"kl_div: Integral inputs not supported",
    ),
    (
        "poisson_nll_loss",
        (x34, x34),
        {"reduction": "batchmean"},
        ValueError,
        r"poisson_nll_loss: batchmean is not a valid",
    ),
    (
        "gaussian_nll_loss",
        (x34, x34, -1.0),
        {},
        ValueError,
        r"gaussian_nll_loss: var has negative entry/entries, got var=-1.0",
    ),
    (
        "gaussian_nll_loss",
        (x34, x34, -torch.ones(3, 4)),
        {},
        ValueError,
        r"gaussian_nll_loss: var has negative entry",
    ),
    (
        "gaussian_nll_loss",
        (x34, x34, torch.ones(2)),
        {},
        ValueError,
        r"gaussian_nll_loss: var is of incorrect size",
    ),
    (
        "gaussian_nll_loss",
        (x34, x34, torch.ones(3, 4)),
        {"reduction": "x"},
        ValueError,
        r"gaussian_nll_loss: x is not valid",
    ),
    (
        "gaussian_nll_loss",
        (x34, x34, 1),
        {},
        TypeError,
        r"gaussian_nll_loss: var must be a tensor or a float, got int",
    ),
    (
        "gaussian_nll_loss",
        (torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([1, 1])),
        {},
        RuntimeError,
        r"gaussian_nll_loss: result type Float",
    ),
    ("nll_loss", (x34, torch.tensor([0, 1, 4])), {}, IndexError, r"nll_loss: Target 4 is out of bounds"),
    ("nll_loss", (x34, torch.tensor([0, 1, -3])), {}, IndexError, r"nll_loss: Target -3 is out of bounds"),
    (
        "nll_loss",
        (x34, torch.tensor([0.0, 1, 2])),
        {},
        RuntimeError,
        r"nll_loss: expected target dtype to be Long or Byte, but got Float",
    ),
    (
        "nll_loss",
        (x34, torch.tensor([0, 1])),
        {},
        ValueError,
        r"nll_loss: Expected input batch_size \(3\) to match target batch_size \(2\)",
    ),
    (
        "nll_loss",
        (torch.tensor(1.0), torch.tensor(0)),
        {},
        ValueError,
        r"nll_loss: Expected 1 or more dimensions \(got 0\)",
    ),
    (
        "nll_loss",
        (x34, torch.zeros(3, 2, dtype=torch.long)),
        {},
        RuntimeError,
        r"nll_loss: 0D or 1D target tensor expected",
    ),
    (
        "nll_loss",
        (x34, long3),
        {"weight": torch.ones(3)},
        RuntimeError,
        r"nll_loss: weight tensor should be defined either for all 4 classes",
    ),
    (
        "nll_loss",
        (x34, long3),
        {"weight": torch.ones(4, dtype=f64)},
        RuntimeError,
        r"nll_loss: expected scalar type torch.float32 for weight",
    ),
    (
        "nll_loss",
        (torch.randn(4), torch.tensor([2, 1])),
        {},
        ValueError,
        r"nll_loss: For 1D input, 1D target must have size 1",
    ),
    (
        "nll_loss",
        (torch.randn(2, 4, 5), torch.zeros(2, 6, dtype=torch.long)),
        {},
        RuntimeError,
        r"nll_loss: Expected target size \[2, 5\], got \[2, 6\]",
    ),
    (
        "nll_loss",
        (torch.randn(2, 4, 5, 5), torch.zeros(2, 5, dtype=torch.long)),
        {},
        RuntimeError,
        r"nll_loss: Expected target size \[2, 5, 5\], got \[2, 5\]",
    ),
    (
        "nll_loss",
        (torch.randn(2, 4, 5), torch.full((2, 5), 7)),
        {},
        IndexError,
        r"nll_loss: Target 7 is out of bounds",
    ),
    (
        "nll_loss",
        (torch.zeros(3, 4, dtype=torch.long), long3),
        {},
        NotImplementedError,
        r"nll_loss: not implemented for torch.int64",
    ),
    (
        "cross_entropy",
        (x34, torch.zeros(3, 4, dtype=torch.long)),
        {},
        RuntimeError,
        r"cross_entropy: Expected floating point type for target with class probabilities, got Long",
    ),
    (
        "cross_entropy",
        (x34, torch.rand(3, 4)),
        {"ignore_index": 1},
        RuntimeError,
        r"cross_entropy: ignore_index is not supported for floating point target",
    ),
    (
        "cross_entropy",
        (x34, long3),
        {"label_smoothing": 1.5},
        RuntimeError,
        r"cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: 1.5",
    ),
    (
        "cross_entropy",
        (x34, torch.rand(3, 4)),
        {"label_smoothing": 1.5},
        RuntimeError,
        r"cross_entropy: label_smoothing must be between",
    ),
    (
        "cross_entropy",
        (x34, torch.rand(3, 4)),
        {"weight": torch.ones(3)},
        RuntimeError,
        r"cross_entropy: weight tensor should be defined either for all 4",
    ),
    (
        "cross_entropy",
        (x34, long3),
        {"weight": torch.ones(3), "label_smoothing": 0.1},
        RuntimeError,
        r"cross_entropy: weight tensor should be",
    ),
    (
        "cross_entropy",
        (x34, torch.tensor([0, 1, 9])),
        {"label_smoothing": 0.2},
        IndexError,
        r"cross_entropy: Target 9 is out of bounds",
    ),
    (
        "cross_entropy",
        (torch.zeros(3, 4, dtype=torch.long), long3),
        {},
        NotImplementedError,
        r"cross_entropy: not implemented for torch.int64",
    ),
    (
        "cross_entropy",
        (x34, long3),
        {"reduction": "avg"},
        ValueError,
        r"cross_entropy: avg is not a valid value for reduction",
    ),
    (
        "cross_entropy",
        (torch.tensor(1.0), torch.tensor(0.5)),
        {},
        IndexError,
        r"cross_entropy: input has no class dim",
    ),
    (
        "cross_entropy",
        (torch.tensor(1.0), torch.tensor([1])),
        {},
        IndexError,
        r"cross_entropy: input has no class dim",
    ),
    (
        "cross_entropy",
        (torch.tensor(1.0), torch.tensor(0)),
        {},
        RuntimeError,
        r"cross_entropy: Expected floating point type for target with class probabilities",
    ),
    (
        "binary_cross_entropy",
        (torch.tensor([1.5]), torch.tensor([1.0])),
        {},
        RuntimeError,
        r"binary_cross_entropy: all elements of input should be between 0 and 1",
    ),
    (
        "binary_cross_entropy",
        (torch.tensor([math.nan]), torch.tensor([1.0])),
        {},
        RuntimeError,
        r"binary_cross_entropy: all elements of input should be between 0 and 1",
    ),
    (
        "binary_cross_entropy",
        (torch.rand(3), torch.tensor([0.0, 1.5, 1.0])),
        {},
        RuntimeError,
        r"binary_cross_entropy: all elements of target should be between 0 and 1",
    ),
    (
        "binary_cross_entropy",
        (torch.rand(3), torch.rand(3, 1)),
        {},
        ValueError,
        r"binary_cross_entropy: Using a target size \(torch.Size\(\[3, 1\]\)\) that is different",
    ),
    (
        "binary_cross_entropy",
        (torch.rand(3, 2), torch.rand(3, 2)),
        {"weight": torch.rand(3)},
        RuntimeError,
        r"binary_cross_entropy: target and weight do not broadcast",
    ),
    (
        "binary_cross_entropy",
        (torch.rand(3), torch.rand(3).double()),
        {},
        RuntimeError,
        r"binary_cross_entropy: Found dtype torch.float64 for target but expected torch.float32",
    ),
    (
        "binary_cross_entropy",
        (torch.tensor([0, 1]), torch.tensor([0, 1])),
        {},
        NotImplementedError,
        r"binary_cross_entropy: not implemented",
    ),
    (
        "binary_cross_entropy_with_logits",
        (torch.rand(3), torch.rand(3, 1)),
        {},
        ValueError,
        r"binary_cross_entropy_with_logits: Target size \(torch.Size\(\[3, 1\]\)\) must be the same as",
    ),
    (
        "binary_cross_entropy_with_logits",
        (torch.rand(3, 2), torch.rand(3, 2)),
        {"pos_weight": torch.rand(3)},
        RuntimeError,
        r"binary_cross_entropy_with_logits: target and pos_weight do not broadcast",
    ),
    (
        "binary_cross_entropy_with_logits",
        (torch.rand(3), torch.tensor([0, 1, 1])),
        {},
        RuntimeError,
        r"binary_cross_entropy_with_logits: result type torch.float32 can't be cast",
    ),
    (
        "binary_cross_entropy_with_logits",
        (torch.tensor([0, 1]), torch.tensor([0.0, 1])),
        {},
        NotImplementedError,
        r"binary_cross_entropy_with_logits: not implemented",
    ),
    (
        "hinge_embedding_loss",
        (torch.rand(3), torch.rand(2)),
        {},
        RuntimeError,
        r"hinge_embedding_loss: input and target do not broadcast",
    ),
    (
        "margin_ranking_loss",
        (torch.rand(3), torch.rand(3), torch.rand(1, 3)),
        {},
        RuntimeError,
        r"margin_ranking_loss: All input tensors should have same dimension",
    ),
    (
        "soft_margin_loss",
        (torch.tensor([0, 1]), torch.tensor([0, 1])),
        {},
        RuntimeError,
        r"soft_margin_loss: result type Float can't be cast",
    ),
    (
        "multi_margin_loss",
        (x34, long3),
        {"p": 3},
        ValueError,
        r"multi_margin_loss: only p == 1 and p == 2 supported, got p=3",
    ),
    (
        "multi_margin_loss",
        (x34, torch.tensor([0, 1, 4])),
        {},
        RuntimeError,
        r"multi_margin_loss: target out of range",
    ),
    (
        "multi_margin_loss",
        (x34, long3),
        {"weight": torch.ones(4, 1)},
        ValueError,
        r"multi_margin_loss: weight must be one-dimensional",
    ),
    (
        "multi_margin_loss",
        (x34, long3),
        {"weight": torch.ones(3)},
        RuntimeError,
        r"multi_margin_loss: inconsistent weight size, expected 4 but got \[3\]",
    ),
    (
        "multi_margin_loss",
        (x34, torch.tensor([0, 1])),
        {},
        RuntimeError,
        r"multi_margin_loss: target tensor should be 1-D with size equal to the number of input samples",
    ),
    (
        "multi_margin_loss",
        (torch.rand(2, 3, 4), torch.tensor([0, 1])),
        {},
        RuntimeError,
        r"multi_margin_loss: Expected non-empty vector or matrix",
    ),
    (
        "multi_margin_loss",
        (torch.rand(3, 0), torch.zeros(3, dtype=torch.long)),
        {},
        RuntimeError,
        r"multi_margin_loss: Expected non-empty vector or matrix",
    ),
    (
        "multi_margin_loss",
        (x34, torch.tensor([0.0, 1, 2])),
        {},
        RuntimeError,
        r"multi_margin_loss: expected scalar type Long but found Float",
    ),
    (
        "multilabel_margin_loss",
        (x34, torch.tensor([[0, 5, -1, 0]] * 3)),
        {},
        RuntimeError,
        r"multilabel_margin_loss: argument #2 'target' is out of range",
    ),
    (
        "multilabel_margin_loss",
        (torch.randn(4), torch.tensor([0, -1, 7, 0])),
        {},
        RuntimeError,
        r"multilabel_margin_loss: argument #2 'target' is out of range",
    ),
    (
        "multilabel_margin_loss",
        (torch.randn(4), torch.tensor([0, -2, 1, 0])),
        {},
        RuntimeError,
        r"multilabel_margin_loss: argument #2 'target' is out of range",
    ),
    (
        "multilabel_margin_loss",
        (x34, torch.tensor([[0, 1, -1]] * 3)),
        {},
        RuntimeError,
        r"multilabel_margin_loss: inconsistent target size: \[3, 3\] for input of size: \[3, 4\]",
    ),
    (
        "multilabel_margin_loss",
        (torch.rand(2, 3, 4), torch.zeros(2, 3, 4, dtype=torch.long)),
        {},
        RuntimeError,
        r"multilabel_margin_loss: Expected non-empty vector or matrix",
    ),
    (
        "multilabel_margin_loss",
        (x34, torch.zeros(3, 4)),
        {},
        RuntimeError,
        r"multilabel_margin_loss: expected scalar type Long",
    ),
    (
        "cosine_embedding_loss",
        (x34, x34, torch.ones(3, 1)),
        {},
        RuntimeError,
        r"cosine_embedding_loss: 0D or 1D target tensor expected",
    ),
    (
        "cosine_embedding_loss",
        (x34, x34, torch.ones(())),
        {},
        RuntimeError,
        r"cosine_embedding_loss: 0D target tensor expects 1D input tensors, but found inputs with sizes",
    ),
    (
        "cosine_embedding_loss",
        (x34[0], x34, torch.ones(3)),
        {},
        RuntimeError,
        r"cosine_embedding_loss: 1D target tensor expects 2D input tensors",
    ),
    (
        "cosine_embedding_loss",
        (x34, torch.rand(3, 5), torch.ones(3)),
        {},
        RuntimeError,
        r"cosine_embedding_loss: input1 and input2 do not broadcast",
    ),
    (
        "cosine_embedding_loss",
        (x34, x34, torch.ones(2)),
        {},
        RuntimeError,
        r"cosine_embedding_loss: cos and target do not broadcast",
    ),
    (
        "triplet_margin_loss",
        (x34, x34, x34),
        {"margin": 0.0},
        ValueError,
        r"triplet_margin_loss: margin must be greater than 0, got 0.0",
    ),
    (
        "triplet_margin_loss",
        (x34, x34, x34[0]),
        {},
        RuntimeError,
        r"triplet_margin_loss: The anchor, positive, and negative tensors are expected to have the same",
    ),
    (
        "triplet_margin_with_distance_loss",
        (x34, x34, x34[0]),
        {},
        RuntimeError,
        r"triplet_margin_with_distance_loss: The anchor, positive, and negative",
    ),
    (
        "triplet_margin_with_distance_loss",
        (x34, x34, x34),
        {"reduction": "x"},
        ValueError,
        r"triplet_margin_with_distance_loss: x is not a valid value for reduction",
    ),
    (
        "triplet_margin_with_distance_loss",
        (x34, x34, x34),
        {"margin": -1.0},
        ValueError,
        r"triplet_margin_with_distance_loss: margin must be greater than 0, got -1.0",
    ),
    (
        "linear_cross_entropy",
        (torch.randn(2, 3, 4), torch.randn(5, 4), long3),
        {},
        RuntimeError,
        r"linear_cross_entropy: expected input with dimensionality 1 or 2, got 3",
    ),
    (
        "linear_cross_entropy",
        (x34, torch.randn(4), long3),
        {},
        RuntimeError,
        r"linear_cross_entropy: expected linear_weight with dimensionality at least 2, got 1",
    ),
    (
        "linear_cross_entropy",
        (x34, torch.randn(5, 3), long3),
        {},
        RuntimeError,
        r"linear_cross_entropy: expected equal input and linear_weight last dimensions \(in_features\), got",
    ),
    (
        "linear_cross_entropy",
        (x34, torch.randn(5, 4), long3),
        {"linear_bias": torch.randn(4)},
        RuntimeError,
        r"linear_cross_entropy: expected linear_bias shape \(5,\), got \(4,\)",
    ),
    (
        "linear_cross_entropy",
        (x34[0], torch.randn(5, 2, 4), long3),
        {},
        RuntimeError,
        r"linear_cross_entropy: K-dimensional loss defined by linear_weight shape \(5, 2, 4\) requires",
    ),
    (
        "linear_cross_entropy",
        (x34, torch.randn(5, 4), torch.rand(3, 5)),
        {"ignore_index": 1},
        RuntimeError,
        r"linear_cross_entropy: ignore_index cannot be specified when target contains probabilities",
    ),
]


@pytest.mark.parametrize(
    "name, args, kwargs, error, match", ERRORS, ids=[f"{e[0]}-{e[4][:40]}" for e in ERRORS]
)
def test_errors_have_torchs_types(name, args, kwargs, error, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error, match=match):
            getattr(F, name)(*args, **kwargs)
        with pytest.raises(error):
            getattr(torch_F, name)(*args, **kwargs)


@settings(max_examples=60)
@given(st.data())
def test_random_invalid_class_configurations_raise_torchs_type(data):
    """nll_loss / cross_entropy with one thing wrong: the same exception type as torch."""
    seeded(data)
    classes, batch = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    spatial = shape(data, 0, 2)
    x = torch.randn(batch, classes, *spatial)
    target = torch.randint(0, classes, (batch, *spatial))
    fault = data.draw(st.sampled_from(["out of range", "batch", "spatial", "dtype", "weight", "reduction"]))
    kwargs = {}
    if fault == "out of range":
        target.view(-1)[0] = data.draw(st.sampled_from([classes, classes + 3, -1, -7]))
    elif fault == "batch":
        target = torch.randint(0, classes, (batch + 1, *spatial))
    elif fault == "spatial":
        target = torch.randint(0, classes, (batch, *spatial, 2))
    elif fault == "dtype":
        target = target.to(data.draw(st.sampled_from([torch.int32, torch.float64, torch.int16])))
    elif fault == "weight":
        kwargs["weight"] = torch.rand(classes + data.draw(st.sampled_from([1, -1])) if classes > 1 else 2)
    else:
        kwargs["reduction"] = data.draw(st.sampled_from(["avg", "batchmean", ""]))
    name = data.draw(st.sampled_from(["nll_loss", "cross_entropy"]))
    with pytest.raises(Exception) as theirs:
        getattr(torch_F, name)(x, target, **kwargs)
    with pytest.raises(theirs.type, match=rf"^{name}: "):
        getattr(F, name)(x, target, **kwargs)


# --- modules -------------------------------------------------------------------------------------


def class_case():
    return (torch.randn(4, 5, dtype=f64), torch.tensor([0, 4, 2, -100]))


def pair(shape=(4, 5)):
    return (torch.randn(shape, dtype=f64), torch.randn(shape, dtype=f64))


MODULES = [
    ("L1Loss", (), {}, pair),
    ("L1Loss", (), {"reduction": "sum"}, pair),
    ("MSELoss", (), {"reduction": "none"}, pair),
    ("HuberLoss", (), {"delta": 0.5}, pair),
    ("SmoothL1Loss", (), {"beta": 0.3}, pair),
    (
        "NLLLoss",
        (),
        {"weight": torch.rand(5, dtype=f64)},
        lambda: (torch.randn(4, 5, dtype=f64).log_softmax(1), torch.tensor([0, 4, 2, 1])),
    ),
    (
        "NLLLoss2d",
        (),
        {"ignore_index": 1},
        lambda: (torch.randn(2, 5, 3, 3, dtype=f64).log_softmax(1), torch.randint(0, 5, (2, 3, 3))),
    ),
    ("CrossEntropyLoss", (), {}, class_case),
    ("CrossEntropyLoss", (), {"weight": torch.rand(5, dtype=f64), "label_smoothing": 0.1}, class_case),
    (
        "CrossEntropyLoss",
        (),
        {"ignore_index": 2, "reduction": "sum"},
        lambda: (class_case()[0], torch.tensor([0, 4, 2, 1])),
    ),
    (
        "BCELoss",
        (),
        {"weight": torch.rand(5, dtype=f64)},
        lambda: (torch.rand(4, 5, dtype=f64), torch.rand(4, 5, dtype=f64)),
    ),
    (
        "BCEWithLogitsLoss",
        (),
        {"weight": torch.rand(5, dtype=f64), "pos_weight": torch.rand(5, dtype=f64)},
        pair,
    ),
    ("BCEWithLogitsLoss", (), {"pos_weight": torch.rand(5, dtype=f64)}, pair),
    ("KLDivLoss", (), {"reduction": "batchmean", "log_target": True}, pair),
    (
        "PoissonNLLLoss",
        (),
        {"log_input": False, "full": True},
        lambda: (torch.rand(4, 5, dtype=f64) + 0.1, 3 * torch.rand(4, 5, dtype=f64)),
    ),
    ("GaussianNLLLoss", (), {"full": True, "eps": 1e-3}, lambda: (*pair(), torch.rand(4, 5, dtype=f64))),
    ("HingeEmbeddingLoss", (), {"margin": 0.5}, lambda: (torch.randn(4, 5, dtype=f64), signs((4, 5)))),
    ("MarginRankingLoss", (), {"margin": 0.2}, lambda: (*pair((6,)), signs((6,)))),
    (
        "MultiMarginLoss",
        (),
        {"p": 2, "margin": 0.5},
        lambda: (torch.randn(4, 5, dtype=f64), torch.tensor([0, 4, 2, 1])),
    ),
    (
        "MultiLabelMarginLoss",
        (),
        {},
        lambda: (torch.randn(2, 4, dtype=f64), torch.tensor([[3, 0, -1, 1], [1, 2, 0, -1]])),
    ),
    (
        "MultiLabelSoftMarginLoss",
        (),
        {"weight": torch.rand(5, dtype=f64)},
        lambda: (torch.randn(4, 5, dtype=f64), (torch.rand(4, 5) < 0.5).double()),
    ),
    ("SoftMarginLoss", (), {}, lambda: (torch.randn(4, 5, dtype=f64), signs((4, 5)).long())),
    ("CosineEmbeddingLoss", (), {"margin": 0.1}, lambda: (*pair(), signs((4,)))),
    (
        "TripletMarginLoss",
        (),
        {"margin": 0.5, "p": 1.0, "swap": True},
        lambda: (*pair(), torch.randn(4, 5, dtype=f64)),
    ),
    ("TripletMarginWithDistanceLoss", (), {}, lambda: (*pair(), torch.randn(4, 5, dtype=f64))),
    (
        "TripletMarginWithDistanceLoss",
        (),
        {"distance_function": l1_distance, "swap": True},
        lambda: (*pair(), torch.randn(4, 5, dtype=f64)),
    ),
    ("L1Loss", (), {"size_average": False}, pair),
    ("CrossEntropyLoss", (), {"reduce": False}, class_case),
]


@pytest.mark.parametrize(
    "name, args, kwargs, inputs", MODULES, ids=[f"{m[0]}-{sorted(m[2])}" for m in MODULES]
)
def test_modules_match_torch(name, args, kwargs, inputs):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = getattr(nn, name)(*args, **kwargs), getattr(torch_nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.reduction == theirs.reduction
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [name for name, _ in ours.named_buffers()] == [name for name, _ in theirs.named_buffers()]
    ours.load_state_dict(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    grad = name not in ("NLLLoss", "NLLLoss2d", "MultiMarginLoss")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_matches_torch(ours, theirs, *inputs(), grad=grad)


def test_nll_loss_2d_is_deprecated_as_in_torch():
    with pytest.warns(FutureWarning, match=r"NLLLoss2d: `NLLLoss2d` has been deprecated"):
        nn.NLLLoss2d()
    with pytest.warns(FutureWarning, match=r"`NLLLoss2d` has been deprecated"):
        torch_nn.NLLLoss2d()


def test_weight_buffers_load_both_ways():
    ours, theirs = (
        nn.BCEWithLogitsLoss(pos_weight=torch.ones(3)),
        torch_nn.BCEWithLogitsLoss(pos_weight=torch.ones(3)),
    )
    theirs.pos_weight.fill_(2.0)
    ours.load_state_dict(theirs.state_dict())
    assert torch.equal(ours.pos_weight, torch.full((3,), 2.0))
    ours.pos_weight.fill_(5.0)
    theirs.load_state_dict(ours.state_dict())
    assert torch.equal(theirs.pos_weight, torch.full((3,), 5.0))
    assert "pos_weight" in dict(ours.named_buffers()) and "weight" not in ours.state_dict()


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("out_features", [(), (2,)])
def test_linear_cross_entropy_module_matches_torch(bias, out_features):
    torch.manual_seed(0)
    ours = nn.LinearCrossEntropyLoss(
        4, 3, out_features=out_features, bias=bias, dtype=f64, label_smoothing=0.1
    )
    theirs = torch_nn.LinearCrossEntropyLoss(
        4, 3, out_features=out_features, bias=bias, dtype=f64, label_smoothing=0.1
    )
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    x, target = torch.randn(5, 4, dtype=f64), torch.randint(0, 3, (5, *out_features))
    assert_matches_torch(ours, theirs, x, target)
    theirs.load_state_dict(ours.state_dict())


MODULE_ERRORS = [
    (
        "TripletMarginLoss",
        {"margin": 0.0},
        ValueError,
        r"TripletMarginLoss: expected margin to be greater than 0",
    ),
    (
        "MultiMarginLoss",
        {"weight": torch.ones(2, 2)},
        ValueError,
        r"MultiMarginLoss: expected weight to be None or 1D",
    ),
    ("MultiMarginLoss", {"p": 3}, ValueError, r"MultiMarginLoss: only p == 1 and p == 2 supported"),
    (
        "TripletMarginWithDistanceLoss",
        {"margin": 0.0},
        ValueError,
        r"TripletMarginWithDistanceLoss: expected margin to be greater than 0",
    ),
    (
        "LinearCrossEntropyLoss",
        {"in_features": 2, "num_classes": 3, "weight": torch.ones(2)},
        RuntimeError,
        r"LinearCrossEntropyLoss: expected weight shape to be \(3,\), got \(2,\)",
    ),
    (
        "LinearCrossEntropyLoss",
        {"in_features": 2, "num_classes": 3, "label_smoothing": 1.5},
        RuntimeError,
        r"LinearCrossEntropyLoss: expected label_smoothing to be in range \[0, 1\], got 1.5",
    ),
]


@pytest.mark.parametrize("name, kwargs, error, match", MODULE_ERRORS, ids=[e[0] for e in MODULE_ERRORS])
def test_module_constructor_errors_as_torch(name, kwargs, error, match):
    with pytest.raises(error, match=match):
        getattr(nn, name)(**kwargs)
    with pytest.raises(error):
        getattr(torch_nn, name)(**kwargs)


def asm_pair(*args, **kwargs):
    torch.manual_seed(0)
    theirs = torch_nn.AdaptiveLogSoftmaxWithLoss(*args, **kwargs, dtype=f64)
    ours = nn.AdaptiveLogSoftmaxWithLoss(*args, **kwargs, dtype=f64)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


@pytest.mark.parametrize(
    "cutoffs, div_value, head_bias", [([3, 6], 4.0, False), ([2], 2.0, True), ([1, 4, 8], 1.5, False)]
)
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")  # torch's too: a 0-wide tail
def test_adaptive_log_softmax_matches_torch(cutoffs, div_value, head_bias):
    ours, theirs = asm_pair(8, 10, cutoffs, div_value=div_value, head_bias=head_bias)
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    x, target = torch.randn(6, 8, dtype=f64), torch.tensor([0, 9, 4, 2, 7, 5])
    ours_out, theirs_out = assert_matches_torch(ours, theirs, x, target), theirs(x, target)
    assert type(ours_out) is type(theirs_out)
    for module in (ours, theirs):
        module.zero_grad()
        module(x, target).loss.backward()
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(a.grad, b.grad, f"{name}.grad")
    assert_matches_torch(ours.log_prob, theirs.log_prob, x)
    assert torch.equal(ours.predict(x), theirs.predict(x))
    assert_matches_torch(ours, theirs, x[0], target[0])  # unbatched


ASM_ERRORS = [
    (
        (8, 10, []),
        ValueError,
        r"AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of length larger than 0",
    ),
    (
        (8, 10, [6, 3]),
        ValueError,
        r"AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of unique, positive",
    ),
    ((8, 10, [3, 10]), ValueError, r"cutoffs should be .* got cutoffs=\[3, 10\] for n_classes=10"),
    ((8, 10, [3, 3]), ValueError, r"AdaptiveLogSoftmaxWithLoss: cutoffs should be"),
]


@pytest.mark.parametrize("args, error, match", ASM_ERRORS)
def test_adaptive_log_softmax_constructor_errors(args, error, match):
    with pytest.raises(error, match=match):
        nn.AdaptiveLogSoftmaxWithLoss(*args)
    with pytest.raises(error):
        torch_nn.AdaptiveLogSoftmaxWithLoss(*args)


@pytest.mark.parametrize(
    "x, target, match",
    [
        (torch.randn(3, 8), torch.tensor([0, 1]), r"Input and target should have the same size in the batch"),
        (torch.randn(3, 2, 8), torch.tensor([0, 1, 2]), r"1D target tensor expects 2D input tensors"),
        (torch.randn(3, 8), torch.tensor(1), r"0D target tensor expects 1D input tensors"),
        (torch.randn(3, 8), torch.zeros(3, 1, dtype=torch.long), r"0D or 1D target tensor expected"),
        (
            torch.randn(3, 8),
            torch.tensor([0, 10, 2]),
            r"Target values should be in \[0, 9\], but values in range \[0, 10\]",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
def test_adaptive_log_softmax_forward_errors(x, target, match):
    ours, theirs = asm_pair(8, 10, [3, 6])
    with pytest.raises(RuntimeError, match=rf"AdaptiveLogSoftmaxWithLoss: {match}"):
        ours(x.double(), target)
    with pytest.raises(RuntimeError):
        theirs(x.double(), target)


def test_legacy_module_arguments_warn_and_map():
    with pytest.warns(UserWarning, match="L1Loss: size_average and reduce args will be deprecated"):
        assert nn.L1Loss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.NLLLoss(reduce=False).reduction == "none"


def test_training_step_runs_on_scratch_ops_under_the_mode():
    """A model + cross_entropy + backward under scratchnn.mode(strict=True): no fallback."""
    torch.manual_seed(0)
    model = torch_nn.Sequential(torch_nn.Linear(6, 8), torch_nn.ReLU(), torch_nn.Linear(8, 4))
    x, target = torch.randn(5, 6), torch.tensor([0, 3, 1, 2, 3])
    with scratchnn.mode(strict=True) as m:
        loss = torch_F.cross_entropy(model(x), target, label_smoothing=0.1)
        loss = loss + torch_nn.MSELoss()(model(x), torch.zeros(5, 4))
    loss.backward()
    assert m.routed["cross_entropy"] == 1 and m.routed["mse_loss"] == 1
    assert sum(m.fallback.values()) == 0
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    expected = torch_F.cross_entropy(model(x), target, label_smoothing=0.1) + torch_F.mse_loss(
        model(x), torch.zeros(5, 4)
    )
    expected.backward()
    assert_close(loss.detach(), expected.detach())
    for ours, theirs in zip(grads, (p.grad for p in model.parameters())):
        assert_close(ours, theirs)


PAIRWISE = [
    "l1_loss",
    "mse_loss",
    "huber_loss",
    "smooth_l1_loss",
    "kl_div",
    "poisson_nll_loss",
    "hinge_embedding_loss",
    "soft_margin_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "multilabel_soft_margin_loss",
]


@pytest.mark.parametrize("name", PAIRWISE)
@settings(max_examples=300)  # per loss
@given(data=st.data())
def test_random_configurations_valid_or_not_behave_as_torch(name, data):
    """Random shapes (broadcastable or not), dtypes (integer too) and reductions: where torch raises,
    the same exception type with a message that names the op; where it does not, the same result."""
    seeded(data)
    input_shape, target_shape = shape(data, 0, 3), shape(data, 0, 3)
    if data.draw(st.booleans(), label="same shape"):
        target_shape = input_shape
    dtype_of = st.sampled_from([torch.float64, torch.float64, torch.float32, torch.int64])
    x = torch.rand(input_shape).to(data.draw(dtype_of, label="input dtype"))
    y = torch.rand(target_shape).to(data.draw(dtype_of, label="target dtype"))
    reduction = data.draw(st.sampled_from(["none", "mean", "sum", "avg"]), label="reduction")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs = getattr(torch_F, name)(x, y, reduction=reduction)
        except Exception as error:
            with pytest.raises(type(error), match=rf"^{name}: "):
                getattr(F, name)(x, y, reduction=reduction)
            return
        ours = getattr(F, name)(x, y, reduction=reduction)
    single = torch.float32 in (x.dtype, y.dtype)  # torch computes some terms in float32, then promotes
    assert_close(ours, theirs, rtol=1e-5 if single else None, atol=1e-5 if single else None)


TRIPLES = [
    "margin_ranking_loss",
    "cosine_embedding_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


@pytest.mark.parametrize("name", TRIPLES)
@settings(max_examples=300)  # per loss
@given(data=st.data())
def test_random_three_input_configurations_behave_as_torch(name, data):
    """Three inputs of random shapes (matching or not) and reductions: torch's exception type with a
    message naming the op, or torch's result."""
    seeded(data)
    shapes = [shape(data, 0, 3) for _ in range(3)]
    if data.draw(st.booleans(), label="first two alike"):
        shapes[1] = shapes[0]
    tensors = [torch.randn(s, dtype=f64) for s in shapes]
    if name == "cosine_embedding_loss":
        tensors[2] = torch.randint(0, 2, shapes[2]).double() * 2 - 1
    reduction = data.draw(st.sampled_from(["none", "mean", "sum", "avg"]), label="reduction")
    kwargs = {"reduction": reduction}
    if name.startswith("triplet"):
        kwargs["margin"] = data.draw(st.sampled_from([1.0, 0.0, -1.0]), label="margin")
    try:
        theirs = getattr(torch_F, name)(*tensors, **kwargs)
    except Exception as error:
        with pytest.raises(type(error), match=rf"^{name}: "):
            getattr(F, name)(*tensors, **kwargs)
        return
    assert_close(getattr(F, name)(*tensors, **kwargs), theirs)


# --- the differential fuzzer's finds (tests/test_fuzz.py) ----------------------------------------


def _both(name, *args, **kwargs):
    """torch's result and ours, with warnings off."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(F, name)(*args, **kwargs), getattr(torch_F, name)(*args, **kwargs)


@pytest.mark.parametrize("integer", ["input", "target", "both"])
def test_gaussian_nll_loss_promotes_integer_input_and_target(integer):
    x, y, var = torch.randn(3, 4, dtype=f64), torch.randn(3, 4, dtype=f64), torch.rand(3, 1, dtype=f64) + 0.1
    x, y = (x.long() if integer != "target" else x), (y.long() if integer != "input" else y)
    ours, theirs = _both("gaussian_nll_loss", x, y, var, full=True)
    assert_close(ours, theirs)


def test_gaussian_nll_loss_integer_var_is_an_error():
    x, var = torch.randn(3, 4), torch.ones(3, 4, dtype=torch.long)
    with pytest.raises(RuntimeError, match="can't be cast"):
        torch_F.gaussian_nll_loss(x, x, var)
    with pytest.raises(RuntimeError, match="gaussian_nll_loss: result type Float can't be cast"):
        F.gaussian_nll_loss(x, x, var)


@pytest.mark.parametrize("special", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("position", range(4))
def test_multilabel_margin_loss_ignores_the_pairs_it_does_not_count(special, position):
    """An infinite score in a pair that is not (target, non-target) adds nothing (torch loops over
    the counted pairs only); a NaN hinge adds nothing either (torch's ``z > 0``)."""
    x = torch.tensor([0.3, -1.2, 0.5, 2.0], dtype=f64)
    x[position] = special
    ours, theirs = _both("multilabel_margin_loss", x, torch.tensor([2, 2, -1, 0]), reduction="none")
    assert_close(ours, theirs)


@pytest.mark.parametrize("name", ["mse_loss", "huber_loss", "smooth_l1_loss"])
@pytest.mark.parametrize("flags", ["target", "input"])
def test_a_bool_side_promotes_in_the_fused_losses(name, flags):
    x = torch.randn(3, 4, dtype=f64)
    args = (x, x > 0) if flags == "target" else (x > 0, x)
    try:
        theirs = getattr(torch_F, name)(*args)
    except RuntimeError:  # huber_loss writes into a bool input
        with pytest.raises(RuntimeError, match=f"{name}: result type"):
            getattr(F, name)(*args)
        return
    assert_close(getattr(F, name)(*args), theirs)


@pytest.mark.parametrize(
    "name, kwargs", [("mse_loss", {"weight": torch.ones(3, 4)}), ("smooth_l1_loss", {"beta": 0.0})]
)
def test_a_bool_side_cannot_subtract_on_torchs_plain_paths(name, kwargs):
    x = torch.randn(3, 4)
    with pytest.raises(RuntimeError, match="Subtraction"):
        getattr(torch_F, name)(x, x > 0, **kwargs)
    with pytest.raises(RuntimeError, match=f"{name}: Subtraction"):
        getattr(F, name)(x, x > 0, **kwargs)


def test_huber_loss_nan_delta_is_an_error():
    x = torch.randn(3)
    with pytest.raises(RuntimeError, match="non-positive values for delta"):
        torch_F.huber_loss(x, x, delta=math.nan)
    with pytest.raises(RuntimeError, match="huber_loss: huber_loss does not support non-positive values"):
        F.huber_loss(x, x, delta=math.nan)


@pytest.mark.parametrize("margin", [0.5, 1.5, 2])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64])
def test_hinge_embedding_loss_integer_input_takes_the_margin_in_its_dtype(margin, dtype):
    x, target = torch.tensor([0, 1, 2, 3, 200], dtype=dtype), -torch.ones(5, dtype=f64)
    ours, theirs = _both("hinge_embedding_loss", x, target, margin=margin, reduction="none")
    assert ours.dtype == theirs.dtype == dtype and torch.equal(ours, theirs)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int64])
@pytest.mark.parametrize("name", ["multi_margin_loss", "multilabel_margin_loss"])
def test_margin_kernels_take_float_and_double_only(name, dtype):
    x = torch.randn(2, 4).to(dtype)
    target = (
        torch.tensor([1, 3]) if name == "multi_margin_loss" else torch.tensor([[1, -1, 0, 0], [3, -1, 0, 0]])
    )
    with pytest.raises(NotImplementedError):
        getattr(torch_F, name)(x, target)
    with pytest.raises(NotImplementedError, match=f"{name}: not implemented for"):
        getattr(F, name)(x, target)


def test_multilabel_margin_loss_complex_target_fails_its_range_check():
    x, target = torch.randn(2, 4), torch.zeros(2, 4, dtype=torch.complex64)
    with pytest.raises(NotImplementedError):
        torch_F.multilabel_margin_loss(x, target)
    with pytest.raises(NotImplementedError, match="multilabel_margin_loss: the target holds class indices"):
        F.multilabel_margin_loss(x, target)


@pytest.mark.parametrize("name", ["triplet_margin_loss", "triplet_margin_with_distance_loss"])
def test_triplet_distances_of_complex_inputs_are_real(name):
    a = torch.randn(4, 3, dtype=f64)
    ours, theirs = _both(name, a, a.flip(0), torch.randn(4, 3).to(torch.complex64), reduction="none")
    assert_close(ours, theirs)


def test_triplet_margin_with_distance_loss_default_distance_is_scratchnns_pairwise_distance():
    module = nn.TripletMarginWithDistanceLoss()
    assert type(module.distance_function) is nn.PairwiseDistance
    assert repr(module) == repr(torch_nn.TripletMarginWithDistanceLoss())


# --- cross_entropy's schedule (scratchnn/schedules/cross_entropy.py) -----------------------------


def _literal(fn):
    with scratchnn.settings(form="literal"):
        return fn()


@pytest.mark.parametrize("dtype", [torch.float32, f64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_schedule_is_the_formula(dtype, reduction, weighted):
    """The schedule's loss is the formula's to the bit (the same operations); its closed-form
    gradient matches the formula's and torch's."""
    torch.manual_seed(0)
    x = torch.randn(6, 7, dtype=dtype, requires_grad=True)
    y, weight = torch.tensor([0, 3, -100, 6, 2, 2]), (torch.rand(7, dtype=dtype) if weighted else None)
    grad = torch.randn(6, dtype=dtype) if reduction == "none" else torch.tensor(1.3, dtype=dtype)

    def run():
        loss = F.cross_entropy(x, y, weight=weight, reduction=reduction)
        return loss, torch.autograd.grad(loss, x, grad)[0]

    (ours, ours_grad), (formula, formula_grad) = run(), _literal(run)
    assert type(ours.grad_fn).__name__ == "_CrossEntropyBackward"
    assert type(formula.grad_fn).__name__ != "_CrossEntropyBackward"
    assert torch.equal(ours, formula)
    assert_close(ours_grad, formula_grad)
    theirs = torch_F.cross_entropy(x, y, weight=weight, reduction=reduction)
    assert_close(ours, theirs)
    assert_close(ours_grad, torch.autograd.grad(theirs, x, grad)[0])


def test_cross_entropy_schedule_double_backward_differentiates_the_formula():
    x, y = torch.randn(3, 4, dtype=f64, requires_grad=True), torch.tensor([1, 0, 3])
    assert type(F.cross_entropy(x, y).grad_fn).__name__ == "_CrossEntropyBackward"
    assert torch.autograd.gradgradcheck(lambda x: F.cross_entropy(x, y, reduction="none"), (x,))


def test_cross_entropy_schedule_leaves_infinite_rows_to_the_formula():
    x, y = torch.randn(3, 4, requires_grad=True), torch.tensor([1, 0, 3])
    with torch.no_grad():
        x[1, 2] = math.inf
    loss = F.cross_entropy(x, y, reduction="none")
    assert type(loss.grad_fn).__name__ != "_CrossEntropyBackward"
    assert_close(loss, torch_F.cross_entropy(x, y, reduction="none"))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("ignore_index", [1.0, True, math.nan])
def test_ignore_index_must_be_an_int(name, ignore_index):
    x, y = torch.randn(3, 4).log_softmax(1), torch.tensor([1, 0, 3])
    with pytest.raises(TypeError, match="ignore_index"):
        getattr(torch_F, name)(x, y, ignore_index=ignore_index)
    with pytest.raises(TypeError, match=f"{name}: argument 'ignore_index' must be int"):
        getattr(F, name)(x, y, ignore_index=ignore_index)


def test_ignore_index_may_be_a_zero_dim_integer_tensor():
    x, y = torch.randn(3, 4), torch.tensor([1, 0, 3])
    ours, theirs = _both("cross_entropy", x, y, ignore_index=torch.tensor(1))
    assert_close(ours, theirs)


def test_a_nan_label_smoothing_smooths_nothing():
    x, y = torch.randn(3, 4, dtype=f64), torch.tensor([1, 0, 3])
    ours, theirs = _both("cross_entropy", x, y, label_smoothing=math.nan)
    assert_close(ours, theirs)
    assert_close(ours, F.cross_entropy(x, y))


def test_binary_cross_entropy_with_logits_complex_target_computes_in_its_dtype():
    x, y = torch.randn(3, 4, dtype=f64), torch.rand(3, 4).to(torch.complex64)
    ours, theirs = _both("binary_cross_entropy_with_logits", x, y, reduction="none")
    assert ours.dtype == theirs.dtype == torch.complex64
    assert_close(ours, theirs)


def test_smooth_l1_loss_nan_beta_is_an_error():
    x = torch.randn(3)
    with pytest.raises(RuntimeError, match="negative values for beta"):
        torch_F.smooth_l1_loss(x, x, beta=math.nan)
    with pytest.raises(RuntimeError, match="smooth_l1_loss: smooth_l1_loss does not support negative"):
        F.smooth_l1_loss(x, x, beta=math.nan)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.bool, torch.int64, torch.float32])
def test_soft_margin_loss_multiplies_minus_x_by_the_target(dtype):
    """−x · y, as torch's kernel (−y · x would wrap an unsigned target, refuse a bool one)."""
    x, y = torch.randn(5, dtype=f64), torch.tensor([1, 0, 1, 1, 0]).to(dtype)
    ours, theirs = _both("soft_margin_loss", x, y, reduction="none")
    assert_close(ours, theirs)


def test_soft_margin_loss_complex_target_cannot_be_written_into_a_real_input():
    x, y = torch.randn(5, dtype=f64), torch.ones(5, dtype=torch.complex64)
    with pytest.raises(RuntimeError, match="can't be cast"):
        torch_F.soft_margin_loss(x, y)
    with pytest.raises(RuntimeError, match=r"soft_margin_loss: result type torch\.complex128 can't be cast"):
        F.soft_margin_loss(x, y)


def test_binary_cross_entropy_is_laid_out_like_its_input():
    x, y = torch.rand(4, 3, dtype=f64), torch.rand(3, 4, dtype=f64).T  # a transposed target
    ours, theirs = _both("binary_cross_entropy", x, y, reduction="none")
    assert ours.is_contiguous() and theirs.is_contiguous()
    assert_close(ours, theirs)
    x4 = torch.rand(2, 3, 4, 5, dtype=f64).contiguous(memory_format=torch.channels_last)
    ours, theirs = _both("binary_cross_entropy", x4, torch.rand(2, 3, 4, 5, dtype=f64), reduction="none")
    assert ours.is_contiguous(memory_format=torch.channels_last) and theirs.is_contiguous(
        memory_format=torch.channels_last
    )


def test_linear_cross_entropy_k_dimensional_without_classes_is_a_size_mismatch():
    x, w, y = (
        torch.randn(4, 3, dtype=f64),
        torch.randn(0, 2, 3, dtype=f64),
        torch.zeros(4, 2, dtype=torch.long),
    )
    with pytest.raises(RuntimeError, match="size mismatch"):
        torch_F.linear_cross_entropy(x, w, y)
    with pytest.raises(RuntimeError, match="linear_cross_entropy: size mismatch"):
        F.linear_cross_entropy(x, w, y)
