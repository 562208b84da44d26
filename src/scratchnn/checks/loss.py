"""Check cases: every loss, every reduction, the options that change the formula (weights,
ignore_index, label smoothing, class probabilities, K-d inputs, log_target, full, p, swap, blank…).

Tensors that torch refuses to differentiate (class weights, ``pos_weight``, soft_margin's target)
are fixed keyword arguments, moved to the input's device, rather than checked inputs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register

f64 = torch.float64
_fixed = torch.Generator().manual_seed(1234)


def fixed_rand(*shape: int, offset: float = 0.1) -> torch.Tensor:
    return torch.rand(shape, generator=_fixed, dtype=f64) + offset


def on_device(fn: Callable, fixed: dict[str, Any]) -> Callable:
    """``fn`` with the ``fixed`` keywords (tensors moved to the first argument's device)."""

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        device = args[0].device
        moved = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in fixed.items()}
        return fn(*args, **moved, **kwargs)

    return call


def case(
    op: str, make: Callable[[torch.Generator], tuple], fixed: dict | None = None, **options: Any
) -> None:
    """Register one case of ``op``: ``make(generator)`` gives the positional tensors, ``options`` the
    keywords, ``fixed`` the tensors that take no gradient."""
    ours, theirs = getattr(F, op), getattr(torch_F, op)
    if fixed:
        ours, theirs = on_device(ours, fixed), on_device(theirs, fixed)
    register(op, ours, theirs, [lambda generator: (make(generator), dict(options))])


def randn(*shape: int) -> Callable[[torch.Generator], torch.Tensor]:
    return lambda generator: torch.randn(shape, generator=generator, dtype=f64)


def inputs(*makers: Callable[[torch.Generator], torch.Tensor]) -> Callable[[torch.Generator], tuple]:
    return lambda generator: tuple(make(generator) for make in makers)


def classes_of(
    *shape: int, classes: int, ignored: int | None = None
) -> Callable[[torch.Generator], torch.Tensor]:
    def make(generator: torch.Generator) -> torch.Tensor:
        target = torch.randint(0, classes, shape, generator=generator)
        if ignored is not None:
            target.view(-1)[0] = ignored
        return target

    return make


def signs(*shape: int) -> Callable[[torch.Generator], torch.Tensor]:
    return lambda generator: torch.randint(0, 2, shape, generator=generator).to(f64) * 2 - 1


def rand(*shape: int, low: float = 0.0, high: float = 1.0) -> Callable[[torch.Generator], torch.Tensor]:
    return lambda generator: low + (high - low) * torch.rand(shape, generator=generator, dtype=f64)


def log_softmax_of(*shape: int) -> Callable[[torch.Generator], torch.Tensor]:
    return lambda generator: torch.randn(shape, generator=generator, dtype=f64).log_softmax(1)


def probabilities(*shape: int, dim: int = 1) -> Callable[[torch.Generator], torch.Tensor]:
    return lambda generator: torch.rand(shape, generator=generator, dtype=f64).softmax(dim)


REDUCTIONS = ("none", "mean", "sum")

# regression
for reduction in REDUCTIONS:
    pair = inputs(randn(3, 4), randn(3, 4))
    case("l1_loss", pair, reduction=reduction)
    case("mse_loss", pair, reduction=reduction)
    case("huber_loss", pair, reduction=reduction, delta=0.6)
    case("smooth_l1_loss", pair, reduction=reduction, beta=0.6)
    kl_reduction = "batchmean" if reduction == "mean" else reduction  # 'mean' warns (tests cover it)
    case("kl_div", inputs(log_softmax_of(3, 4), rand(3, 4)), reduction=kl_reduction)
    case("poisson_nll_loss", inputs(randn(3, 4), rand(3, 4, high=3)), reduction=reduction, full=True)
    case("gaussian_nll_loss", inputs(randn(3, 4), randn(3, 4), rand(3, 4, low=0.1)), reduction=reduction)
case("l1_loss", inputs(randn(3, 4), randn(3, 4)), weight=fixed_rand(3, 4))  # 'mean' = Σ w·|d| / Σ w
case("mse_loss", inputs(randn(3, 4), randn(3, 4)), weight=fixed_rand(3, 4))
case("huber_loss", inputs(randn(3, 4), randn(3, 4)), weight=fixed_rand(3, 4), delta=2.0)
case("smooth_l1_loss", inputs(randn(3, 4), randn(3, 4)), beta=0.0)
case("mse_loss", inputs(randn(3, 4), randn(4)))  # broadcast target
case("kl_div", inputs(log_softmax_of(3, 4), log_softmax_of(3, 4)), reduction="batchmean", log_target=True)
case("poisson_nll_loss", inputs(rand(3, 4, low=0.1), rand(3, 4, high=3)), log_input=False, eps=0.1)
case("gaussian_nll_loss", inputs(randn(3, 4), randn(3, 4), rand(3, low=0.1)), full=True)  # one dim short
case("gaussian_nll_loss", inputs(randn(3, 4), randn(3, 4), rand(3, 1, low=0.1)), eps=0.2)

# classification
for reduction in REDUCTIONS:
    case(
        "nll_loss", inputs(log_softmax_of(4, 5), classes_of(4, classes=5, ignored=-100)), reduction=reduction
    )
    case("cross_entropy", inputs(randn(4, 5), classes_of(4, classes=5)), reduction=reduction)
    case("cross_entropy", inputs(randn(4, 5), probabilities(4, 5)), reduction=reduction, label_smoothing=0.2)
    case("binary_cross_entropy", inputs(rand(3, 4, low=0.05, high=0.95), rand(3, 4)), reduction=reduction)
    case("binary_cross_entropy_with_logits", inputs(randn(3, 4), rand(3, 4)), reduction=reduction)
    case(
        "linear_cross_entropy",
        inputs(randn(4, 3), randn(5, 3), classes_of(4, classes=5)),
        reduction=reduction,
    )
weights = {"weight": fixed_rand(5)}
case("nll_loss", inputs(log_softmax_of(2, 5, 3, 2), classes_of(2, 3, 2, classes=5)), weights, ignore_index=1)
case("nll_loss", inputs(log_softmax_of(2, 5, 3), classes_of(2, 3, classes=5)), weights)
case(
    "cross_entropy",
    inputs(randn(2, 5, 3), classes_of(2, 3, classes=5, ignored=-100)),
    weights,
    label_smoothing=0.1,
)
case("cross_entropy", inputs(randn(5), classes_of(classes=5)))  # unbatched
case("cross_entropy", inputs(randn(2, 5, 3), probabilities(2, 5, 3)), weights)
case("binary_cross_entropy", inputs(rand(3, 4, low=0.05, high=0.95), rand(3, 4)), {"weight": fixed_rand(4)})
case(
    "binary_cross_entropy_with_logits",
    inputs(randn(3, 4), rand(3, 4)),
    {"weight": fixed_rand(3, 4), "pos_weight": fixed_rand(4)},
)
case(
    "linear_cross_entropy",
    inputs(randn(4, 3), randn(5, 2, 3), classes_of(4, 2, classes=5)),
    label_smoothing=0.1,
    ignore_index=0,
)

# margins
for reduction in REDUCTIONS:
    case("hinge_embedding_loss", inputs(randn(3, 4), signs(3, 4)), reduction=reduction, margin=0.5)
    case("soft_margin_loss", inputs(randn(3, 4)), {"target": signs(3, 4)(_fixed)}, reduction=reduction)
    case("margin_ranking_loss", inputs(randn(6), randn(6), signs(6)), reduction=reduction, margin=0.3)
    case("multi_margin_loss", inputs(randn(4, 5), classes_of(4, classes=5)), reduction=reduction)
    case(
        "multilabel_margin_loss",
        inputs(randn(2, 4), lambda g: torch.tensor([[3, 0, -1, 1], [1, 2, 0, -1]])),
        reduction=reduction,
    )
    case("multilabel_soft_margin_loss", inputs(randn(3, 4), rand(3, 4)), reduction=reduction)
    case("cosine_embedding_loss", inputs(randn(4, 3), randn(4, 3), signs(4)), reduction=reduction, margin=0.2)
    case(
        "triplet_margin_loss", inputs(randn(4, 3), randn(4, 3), randn(4, 3)), reduction=reduction, margin=2.0
    )
    case(
        "triplet_margin_with_distance_loss",
        inputs(randn(4, 3), randn(4, 3), randn(4, 3)),
        reduction=reduction,
    )
case("multi_margin_loss", inputs(randn(4, 5), classes_of(4, classes=5)), weights, p=2, margin=0.7)
case("multi_margin_loss", inputs(randn(5), classes_of(classes=5)))
case("multilabel_margin_loss", inputs(randn(4), lambda g: torch.tensor([2, 2, -1, 0])), reduction="none")
case("multilabel_soft_margin_loss", inputs(randn(3, 4), rand(3, 4)), {"weight": fixed_rand(4)})
case("cosine_embedding_loss", inputs(randn(3), randn(3), lambda g: torch.tensor(-1.0, dtype=f64)))
case("triplet_margin_loss", inputs(randn(4, 3), randn(4, 3), randn(4, 3)), p=1.0, swap=True, eps=0.01)
case("triplet_margin_loss", inputs(randn(4, 3), randn(4, 3), randn(4, 3)), p=math.inf, margin=0.5)


def l1_distance(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return (u - v).abs().sum(-1)


case(
    "triplet_margin_with_distance_loss",
    inputs(randn(4, 3), randn(4, 3), randn(4, 3)),
    distance_function=l1_distance,
    swap=True,
    margin=3.0,
)


# CTC: log-probabilities over (t, n, c), targets padded or concatenated, lengths as tensors or tuples
def ctc_inputs(
    frames: int, batch: int, classes: int, concatenated: bool
) -> Callable[[torch.Generator], tuple]:
    def make(generator: torch.Generator) -> tuple:
        log_probs = torch.randn(frames, batch, classes, generator=generator, dtype=f64).log_softmax(2)
        target_lengths = torch.randint(1, 4, (batch,), generator=generator)
        padded = torch.randint(1, classes, (batch, 3), generator=generator)
        input_lengths = torch.randint(frames - 2, frames + 1, (batch,), generator=generator)
        if concatenated:
            targets = torch.cat([row[:length] for row, length in zip(padded, target_lengths.tolist())])
            return log_probs, targets, tuple(input_lengths.tolist()), tuple(target_lengths.tolist())
        return log_probs, padded, input_lengths, target_lengths

    return make


for reduction in REDUCTIONS:
    case("ctc_loss", ctc_inputs(8, 3, 5, concatenated=False), reduction=reduction)
case("ctc_loss", ctc_inputs(8, 3, 5, concatenated=True), zero_infinity=True)
case("ctc_loss", ctc_inputs(10, 2, 4, concatenated=False), reduction="sum", blank=0)
