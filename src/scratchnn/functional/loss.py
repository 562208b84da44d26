"""Losses: an elementwise penalty, weighted, then reduced ('none' | 'mean' | 'sum').

Legend: n batch, c classes, ... the remaining (K-d) dims, x input, y target, w weight, d = x − y.

    l1_loss                        |d|                       (weight: Σ w·|d| / Σ w for 'mean')
    mse_loss                       d²                        (weight: Σ w·d² / Σ w for 'mean')
    huber_loss                     ½d² if |d| < δ else δ(|d| − ½δ)
    smooth_l1_loss                 ½d²/β if |d| < β else |d| − ½β       (β = 0: |d|)
    nll_loss                       −w_y · x_y        'mean' = Σ / Σ w_y over non-ignored targets
    cross_entropy                  nll_loss(log_softmax(x, c), y); or −Σ_c y_c · w_c · log_softmax(x)_c
    binary_cross_entropy           −w (y · log x + (1 − y) · log(1 − x)),  logs clamped at −100
    binary_cross_entropy_with_logits  w ((1 − y) x + (1 + (pw − 1) y) · softplus(−x))
    kl_div                         y (log y − x);  log_target: e^y (y − x)
    poisson_nll_loss               e^x − y x;  not log_input: x − y log(x + eps);  full: + Stirling
    gaussian_nll_loss              ½ (log v + d² / v)  (+ ½ log 2π when full), v = max(var, eps)
    hinge_embedding_loss           x where y = 1, max(0, margin − x) where y = −1
    margin_ranking_loss            max(0, −y (x1 − x2) + margin)
    soft_margin_loss               log(1 + e^(−y x))
    multilabel_soft_margin_loss    mean_c −w (y log σ(x) + (1 − y) log σ(−x))
    multi_margin_loss              Σ_{i ≠ y} max(0, margin − x_y + x_i)^p · w_y / c
    multilabel_margin_loss         Σ_{j ∈ y} Σ_{i ∉ y} max(0, 1 − (x_j − x_i)) / c
    cosine_embedding_loss          1 − cos where y = 1, max(0, cos − margin) where y = −1
    triplet_margin_loss            max(0, margin + ‖a − p‖ − ‖a − n‖)   (swap: min with ‖p − n‖)

``size_average`` and ``reduce`` are torch's deprecated spellings of ``reduction``: they map onto
it as in torch (``_Reduction.legacy_get_string``), with torch's warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .._args import check_floating, fail, warn
from .._contract import contract
from .activation import logsigmoid
from .linear import linear
from .softmax import log_softmax

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "linear_cross_entropy",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]

REDUCTIONS = ("none", "mean", "sum")
_CLAMP_LOG = -100.0  # binary_cross_entropy's floor for log x and log(1 − x), as torch's
_COSINE_EPS = 1e-12  # cosine_embedding_loss adds it to each squared norm, as torch


# --- reduction -----------------------------------------------------------------------------------


def legacy_reduction(size_average: bool | None, reduce: bool | None, op: str) -> str:
    """torch's mapping of the deprecated ``size_average``/``reduce`` onto ``reduction`` (None = True),
    with its warning.

    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     legacy_reduction(False, None, "l1_loss"), legacy_reduction(True, False, "l1_loss")
    ('sum', 'none')
    """
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = ("mean" if size_average else "sum") if reduce else "none"
    warn(
        f"{op}: size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
        stacklevel=3,
    )
    return reduction


def _reduction(
    op: str,
    reduction: str,
    size_average: bool | None = None,
    reduce: bool | None = None,
    allowed: tuple[str, ...] = REDUCTIONS,
) -> str:
    """The reduction to apply: from the legacy arguments when either is given; ValueError (torch's
    type) for an unknown one; ``'elementwise_mean'`` is torch's deprecated name of ``'mean'``."""
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce, op)
    if reduction == "elementwise_mean":
        warn(f"{op}: reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.", stacklevel=3)
        return "mean"
    if reduction not in allowed:
        raise ValueError(f"{op}: {reduction} is not a valid value for reduction (expected one of {allowed})")
    return reduction


def _reduce(op: str, loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """'mean' over every element (NaN when there is none, as torch), 'sum', or the loss itself."""
    if reduction == "mean":
        if not (loss.is_floating_point() or loss.is_complex()):
            raise RuntimeError(
                f"{op}: mean(): could not infer output dtype. Input dtype must be either a floating point "
                f"or complex dtype. Got: {str(loss.dtype).removeprefix('torch.').capitalize()}"
            )
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _weighted(
    op: str, loss: torch.Tensor, weight: torch.Tensor | None, input: torch.Tensor, reduction: str, mean: str
) -> torch.Tensor:
    """``loss · weight`` reduced; 'mean' is Σ w·loss / Σ w (``mean='weights'``) or the plain mean."""
    if weight is None:
        return _reduce(op, loss, reduction)
    if weight.shape != input.shape:
        raise fail(
            ValueError,
            op,
            "Weights and input must have the same size.",
            {"input": ("...", input.shape), "weight": ("...", weight.shape)},
        )
    weighted = loss * weight
    if reduction == "mean" and mean == "weights":
        return weighted.sum() / weight.sum()
    return _reduce(op, weighted, reduction)


def _check_float_result(op: str, *tensors: torch.Tensor) -> None:
    """RuntimeError (torch's type) when an integer tensor would receive a floating-point result."""
    for tensor in tensors:
        if not (tensor.is_floating_point() or tensor.is_complex()):
            raise RuntimeError(f"{op}: result type Float can't be cast to the desired output type {tensor.dtype}")


def _broadcast(op: str, **tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The tensors broadcast to one shape; RuntimeError (torch's type) naming them when they do not."""
    try:
        return torch.broadcast_tensors(*tensors.values())
    except RuntimeError:
        names = " and ".join(tensors)
        shapes = {name: ("...", t.shape) for name, t in tensors.items()}
        raise fail(RuntimeError, op, f"{names} do not broadcast to one shape", shapes) from None


def _pair(op: str, input: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """input and target broadcast together, with torch's warning when their sizes differ."""
    if target.shape != input.shape:
        warn(
            f"{op}: Using a target size ({target.size()}) that is different to the input size "
            f"({input.size()}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )
    input, target = _broadcast(op, input=input, target=target)
    return input, target


# --- regression ----------------------------------------------------------------------------------


def l1_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """|x − y|, reduced; with ``weight`` (the input's shape), 'mean' is Σ w·|x − y| / Σ w.

    >>> l1_loss(torch.tensor([1.0, 4.0]), torch.tensor([2.0, 2.0]))
    tensor(1.5000)
    """
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    x, y = _pair("l1_loss", input, target)
    return _weighted("l1_loss", (x - y).abs(), weight, input, reduction, mean="weights")


def mse_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """(x − y)², reduced; with ``weight`` (the input's shape), 'mean' is Σ w·(x − y)² / Σ w.

    >>> mse_loss(torch.tensor([1.0, 4.0]), torch.tensor([2.0, 2.0]))
    tensor(2.5000)
    """
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    x, y = _pair("mse_loss", input, target)
    check_floating("mse_loss", x)
    return _weighted("mse_loss", (x - y) ** 2, weight, input, reduction, mean="weights")


def _huber(diff: torch.Tensor, delta: float) -> torch.Tensor:
    """½d² inside |d| < δ, δ·(|d| − ½δ) outside: quadratic near 0, linear (slope δ) beyond."""
    return torch.where(diff.abs() < delta, 0.5 * diff**2, delta * (diff.abs() - 0.5 * delta))


def huber_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """½d² if |d| < δ else δ(|d| − ½δ), d = x − y; with ``weight``, 'mean' is the mean of w·loss.

    >>> huber_loss(torch.tensor([0.5, 3.0]), torch.tensor([0.0, 0.0]), reduction="none")
    tensor([0.1250, 2.5000])
    """
    reduction = _reduction("huber_loss", reduction)
    if delta <= 0:
        raise RuntimeError(f"huber_loss: huber_loss does not support non-positive values for delta, got delta={delta}")
    x, y = _pair("huber_loss", input, target)
    check_floating("huber_loss", x)
    return _weighted("huber_loss", _huber(x - y, delta), weight, input, reduction, mean="elements")


def smooth_l1_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> torch.Tensor:
    """½d²/β if |d| < β else |d| − ½β (Huber divided by β); β = 0 is the L1 loss.

    >>> smooth_l1_loss(torch.tensor([0.5, 3.0]), torch.tensor([0.0, 0.0]), reduction="none")
    tensor([0.1250, 2.5000])
    """
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise RuntimeError(f"smooth_l1_loss: smooth_l1_loss does not support negative values for beta, got beta={beta}")
    x, y = _pair("smooth_l1_loss", input, target)
    check_floating("smooth_l1_loss", x)
    loss = (x - y).abs() if beta == 0 else _huber(x - y, beta) / beta
    return _reduce("smooth_l1_loss", loss, reduction)


def gaussian_nll_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    var: torch.Tensor | float,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> torch.Tensor:
    """½ (log v + (x − y)² / v), v = max(var, eps) (clamped without changing the gradient), plus
    ½ log 2π when ``full``. ``var`` has the input's shape, or one dim fewer (the last), or the input's
    rank with exactly one dim of size 1 where the input's differs (homoscedastic), or is a float.

    >>> gaussian_nll_loss(torch.tensor([1.0]), torch.tensor([1.0]), torch.tensor([1.0]))
    tensor(0.)
    """
    op = "gaussian_nll_loss"
    if isinstance(var, float):
        if var < 0:
            raise ValueError(f"{op}: var has negative entry/entries, got var={var}")
        var = var * torch.ones_like(input)
    elif not isinstance(var, torch.Tensor):
        raise TypeError(f"{op}: var must be a tensor or a float, got {type(var).__name__}")
    elif torch.any(var < 0):
        raise ValueError(f"{op}: var has negative entry/entries")
    if var.shape != input.shape:
        one_short = input.shape[:-1] == var.shape
        mismatched = [v for i, v in zip(input.shape, var.shape) if i != v] if input.ndim == var.ndim else None
        if one_short:
            var = var.unsqueeze(-1)  # ... → ... 1
        elif mismatched is None or sum(mismatched) != 1:
            raise fail(
                ValueError,
                op,
                "var is of incorrect size (the input's shape, the input's shape without its last dim, "
                "or one dim of size 1 where the input's differs)",
                {"input": ("...", input.shape), "var": ("...", var.shape)},
            )
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: {reduction} is not valid (expected one of {REDUCTIONS})")
    _check_float_result(op, input, target, var)
    var = var.clone()
    with torch.no_grad():
        var.clamp_(min=eps)  # a straight-through clamp: the value changes, the gradient does not
    loss = 0.5 * (torch.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(op, loss, reduction)


def poisson_nll_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """e^x − y·x (``log_input``) or x − y·log(x + eps); ``full`` adds Stirling's approximation of
    log(y!), y·log y − y + ½·log(2π y), where y > 1.

    >>> poisson_nll_loss(torch.tensor([0.0]), torch.tensor([1.0]))
    tensor(1.)
    """
    reduction = _reduction("poisson_nll_loss", reduction, size_average, reduce)
    loss = torch.exp(input) - target * input if log_input else input - target * torch.log(input + eps)
    if full:
        stirling = target * torch.log(target) - target + 0.5 * torch.log(2 * math.pi * target)
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce("poisson_nll_loss", loss, reduction)


def kl_div(
    input: torch.Tensor,
    target: torch.Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> torch.Tensor:
    """y·(log y − x) pointwise (x holds log-probabilities; 0·log 0 = 0), or e^y·(y − x) when
    ``log_target``. 'batchmean' is the sum divided by the batch size (the KL divergence); 'mean'
    divides by every element, with torch's warning.

    >>> p = torch.tensor([[0.5, 0.5]])
    >>> kl_div(p.log(), p, reduction="batchmean")
    tensor(0.)
    """
    op = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, op)
    else:
        reduction = _reduction(op, reduction, allowed=(*REDUCTIONS, "batchmean"))
        if reduction == "mean":
            warn(
                f"{op}: reduction: 'mean' divides the total loss by both the batch size and the support size."
                "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                stacklevel=2,
            )
    if not (input.is_floating_point() and target.is_floating_point()):
        raise RuntimeError(f"{op}: Integral inputs not supported, got {input.dtype} input and {target.dtype} target")
    if log_target:
        loss = torch.exp(target) * (target - input)
    else:
        loss = torch.xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim != 0 else loss.sum()
    return _reduce(op, loss, reduction)


# --- classification: log-probabilities of the target class ---------------------------------------


def _class_dim(input: torch.Tensor) -> int:
    """Where the classes are: dim 0 of an unbatched (c,) input, else dim 1 of (n, c, ...)."""
    return 0 if input.ndim == 1 else 1


def _per_class(weight: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
    """A (c,) weight shaped to broadcast over the input's class dim: c 1 … 1."""
    return weight.reshape(-1, *[1] * (input.ndim - 1 - _class_dim(input)))


def _check_class_weight(op: str, weight: torch.Tensor | None, classes: int) -> None:
    if weight is not None and (weight.ndim != 1 or weight.numel() != classes):
        raise fail(
            RuntimeError,
            op,
            f"weight tensor should be defined either for all {classes} classes or no classes but got "
            f"weight tensor of shape: {list(weight.shape)}",
            {"weight": ("c", weight.shape)},
        )


def _check_nll_shapes(op: str, input: torch.Tensor, target: torch.Tensor) -> None:
    """torch's rules: input (c,) with target (), or (n, c, ...) with target (n, ...)."""
    shapes = {"input": ("n c ...", input.shape), "target": ("n ...", target.shape)}
    if input.ndim < 1:
        raise fail(ValueError, op, f"Expected 1 or more dimensions (got {input.ndim})", shapes)
    if input.ndim != 1 and (target.ndim == 0 or input.shape[0] != target.shape[0]):
        batch = target.shape[0] if target.ndim else "none"
        raise fail(
            ValueError, op, f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({batch}).", shapes
        )
    if input.ndim <= 2 and target.ndim > 1:
        raise fail(RuntimeError, op, "0D or 1D target tensor expected, multi-target not supported", shapes)
    if input.ndim == 1 and target.ndim == 1 and target.numel() != 1:
        raise fail(
            ValueError, op, f"For 1D input, 1D target must have size 1, but got target size: {target.numel()}", shapes
        )
    if input.ndim > 2 and target.shape[1:] != input.shape[2:]:
        expected = [input.shape[0], *input.shape[2:]]
        raise fail(RuntimeError, op, f"Expected target size {expected}, got {list(target.shape)}", shapes)
    if target.dtype not in (torch.int64, torch.uint8):
        name = str(target.dtype).removeprefix("torch.")
        raise RuntimeError(f"{op}: expected target dtype to be Long or Byte, but got {name.capitalize()}")


def _check_targets_in_range(op: str, target: torch.Tensor, keep: torch.Tensor, classes: int) -> None:
    """IndexError (torch's type) for a kept target outside [0, classes)."""
    bad = keep & ((target < 0) | (target >= classes))
    if bad.any():
        raise IndexError(f"{op}: Target {int(target[bad][0])} is out of bounds (classes 0..{classes - 1}).")


def nll_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """−w_y · x_y: the log-probability of the target class, picked out (gather) and weighted;
    targets equal to ``ignore_index`` count 0 and weigh 0. 'mean' divides by Σ w_y (NaN when
    every target is ignored, as torch).

    input (n, c, ...) or (c,) · target (n, ...) or () of class indices → loss (n, ...) or ()

    >>> logp = torch.tensor([[0.0, -1.0], [-2.0, 0.0]])
    >>> nll_loss(logp, torch.tensor([1, 0]), reduction="none")
    tensor([1., 2.])
    """
    reduction = _reduction("nll_loss", reduction, size_average, reduce)
    return _nll("nll_loss", input, target, weight, ignore_index, reduction)


def _nll(
    op: str, logp: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None, ignore_index: int, reduction: str
) -> torch.Tensor:
    _check_nll_shapes(op, logp, target)
    check_floating(op, logp)
    class_dim = _class_dim(logp)
    classes = logp.shape[class_dim]
    _check_class_weight(op, weight, classes)
    if weight is not None and weight.dtype != logp.dtype:
        raise RuntimeError(f"{op}: expected scalar type {logp.dtype} for weight but found {weight.dtype}")
    target = target.long() if logp.ndim > 1 else target.long().reshape(())  # a (1,) target of a (c,) input
    ignored = target == ignore_index
    _check_targets_in_range(op, target, ~ignored, classes)
    safe = target.masked_fill(ignored, 0)  # n ...
    picked = logp.gather(class_dim, safe.unsqueeze(class_dim)).squeeze(class_dim)  # n ...: x_y
    weights = torch.ones_like(picked) if weight is None else weight[safe]  # n ...: w_y
    weights = weights.masked_fill(ignored, 0)
    loss = (-weights * picked).masked_fill(ignored, 0)
    if reduction == "mean":
        return loss.sum() / weights.sum()
    return loss.sum() if reduction == "sum" else loss


def cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """nll_loss of log_softmax over the classes, for class indices; for class probabilities (a
    target of the input's shape), −Σ_c y_c · w_c · log_softmax(x)_c, 'mean' over n·... positions.
    ``label_smoothing`` ε mixes the target with the uniform distribution: (1 − ε)·y + ε/c.

    input (n, c, ...) or (c,) · target (n, ...) of indices, or (n, c, ...) of probabilities

    >>> x = torch.tensor([[2.0, 0.0, 0.0]])
    >>> cross_entropy(x, torch.tensor([0])), cross_entropy(x, torch.tensor([[1.0, 0.0, 0.0]]))
    (tensor(0.2395), tensor(0.2395))
    """
    op = "cross_entropy"
    reduction = _reduction(op, reduction, size_average, reduce)
    check_floating(op, input)
    if input.ndim == 0:
        raise fail(ValueError, op, "Expected 1 or more dimensions (got 0)", {"input": ("n c ...", input.shape)})
    class_dim = _class_dim(input)
    classes = input.shape[class_dim]
    if input.shape == target.shape:
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing)
    if label_smoothing > 0:
        _check_smoothing(label_smoothing)
    logp = log_softmax(input, class_dim)  # n c ...
    loss = _nll(op, logp, target, weight, ignore_index, reduction)
    if label_smoothing <= 0:
        return loss
    # the uniform part: −Σ_c w_c · log p_c per position, ignored positions 0, reduced like nll_loss
    uniform = -(logp if weight is None else logp * _per_class(weight, input)).sum(class_dim)  # n ...
    ignored = target == ignore_index
    uniform = uniform.masked_fill(ignored, 0)
    if reduction == "mean":
        kept = target[~ignored]
        total = kept.numel() if weight is None else weight[kept].sum()
        uniform = uniform.sum() / total
    elif reduction == "sum":
        uniform = uniform.sum()
    return (1 - label_smoothing) * loss + uniform * (label_smoothing / classes)


def _check_smoothing(label_smoothing: float) -> None:
    if label_smoothing > 1:
        raise RuntimeError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")


def _cross_entropy_probabilities(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
) -> torch.Tensor:
    """−Σ_c y_c · w_c · log_softmax(x)_c over the class dim; 'mean' divides by the positions (n·...)."""
    op = "cross_entropy"
    if not target.is_floating_point():
        name = str(target.dtype).removeprefix("torch.").capitalize()
        raise RuntimeError(f"{op}: Expected floating point type for target with class probabilities, got {name}")
    if ignore_index >= 0:
        raise RuntimeError(f"{op}: ignore_index is not supported for floating point target, got {ignore_index}")
    class_dim = _class_dim(input)
    classes = input.shape[class_dim]
    _check_class_weight(op, weight, classes)
    logp = log_softmax(input, class_dim)  # n c ...
    if label_smoothing > 0:
        _check_smoothing(label_smoothing)
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = logp * target if weight is None else logp * target * _per_class(weight, input)
    if reduction == "mean":
        positions = input.numel() // classes if classes else 0
        return -terms.sum() / positions if positions else -terms.sum() * math.nan
    if reduction == "sum":
        return -terms.sum()
    return -terms.sum(class_dim)


def binary_cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """−w·(y·log x + (1 − y)·log(1 − x)) for probabilities x ∈ [0, 1]; each log is clamped at −100,
    as torch, so x = 0 or 1 costs at most 100. ``weight`` broadcasts to the target.

    >>> binary_cross_entropy(torch.tensor([0.5, 0.0]), torch.tensor([1.0, 1.0]), reduction="none")
    tensor([  0.6931, 100.0000])
    """
    op = "binary_cross_entropy"
    reduction = _reduction(op, reduction, size_average, reduce)
    shapes = {"input": ("...", input.shape), "target": ("...", target.shape)}
    if target.shape != input.shape:
        raise fail(
            ValueError,
            op,
            f"Using a target size ({target.size()}) that is different to the input size ({input.size()}) is "
            "deprecated. Please ensure they have the same size.",
            shapes,
        )
    if weight is not None:
        _, weight = _broadcast(op, target=target, weight=weight)  # torch expands weight to the target
    if target.dtype != input.dtype:
        raise RuntimeError(f"{op}: Found dtype {target.dtype} for target but expected {input.dtype} (the input's)")
    check_floating(op, input)
    if ((input < 0) | (input > 1) | input.isnan()).any():
        raise RuntimeError(f"{op}: all elements of input should be between 0 and 1")
    log_x = torch.log(input).clamp_min(_CLAMP_LOG)
    log_1mx = torch.log(1 - input).clamp_min(_CLAMP_LOG)
    loss = -(target * log_x + (1 - target) * log_1mx)
    return _reduce(op, loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """binary_cross_entropy of σ(x), in the stable form w·((1 − y)·x − (1 + (pw − 1)·y)·logσ(x)):
    −log σ(x) = softplus(−x) never overflows. ``pos_weight`` pw weighs the positives (broadcast over
    the last dim, the classes).

    >>> binary_cross_entropy_with_logits(torch.tensor([0.0, 100.0]), torch.tensor([1.0, 0.0]), reduction="none")
    tensor([  0.6931, 100.0000])
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(op, reduction, size_average, reduce)
    if target.shape != input.shape:
        raise fail(
            ValueError,
            op,
            f"Target size ({target.size()}) must be the same as input size ({input.size()})",
            {"input": ("...", input.shape), "target": ("...", target.shape)},
        )
    if not target.is_floating_point():
        raise RuntimeError(f"{op}: result type {input.dtype} can't be cast to the desired output type {target.dtype}")
    check_floating(op, input)
    for name, tensor in (("pos_weight", pos_weight), ("weight", weight)):
        if tensor is not None:
            _broadcast(op, target=target, **{name: tensor})
    log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    loss = (1 - target) * input - log_weight * logsigmoid(input)
    return _reduce(op, loss if weight is None else loss * weight, reduction)


# --- margins -------------------------------------------------------------------------------------


def hinge_embedding_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """x where y ≠ −1, plus max(0, margin − x) where y ≠ 1 (y is ±1: one of the two).

    >>> hinge_embedding_loss(torch.tensor([0.3, 0.3]), torch.tensor([1.0, -1.0]), reduction="none")
    tensor([0.3000, 0.7000])
    """
    op = "hinge_embedding_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    input, target = _broadcast(op, input=input, target=target)
    zeros = torch.zeros_like(input)
    loss = torch.where(target != 1, (margin - input).clamp_min(0), zeros) + torch.where(target != -1, input, zeros)
    return _reduce(op, loss, reduction)


def margin_ranking_loss(
    input1: torch.Tensor,
    input2: torch.Tensor,
    target: torch.Tensor,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """max(0, −y·(x1 − x2) + margin): y = 1 wants x1 above x2 by the margin, y = −1 below.

    >>> margin_ranking_loss(torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([1.0]))
    tensor(1.)
    """
    op = "margin_ranking_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    if not input1.ndim == input2.ndim == target.ndim:
        raise fail(
            RuntimeError,
            op,
            "All input tensors should have same dimension",
            {"input1": ("...", input1.shape), "input2": ("...", input2.shape), "target": ("...", target.shape)},
        )
    input1, input2, target = _broadcast(op, input1=input1, input2=input2, target=target)
    return _reduce(op, (-target * (input1 - input2) + margin).clamp_min(0), reduction)


def soft_margin_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """log(1 + e^(−y·x)), as torch computes it (it overflows to inf for y·x < −88 in float32).

    >>> soft_margin_loss(torch.tensor([0.0]), torch.tensor([1.0]))
    tensor(0.6931)
    """
    op = "soft_margin_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    input, target = _broadcast(op, input=input, target=target)
    _check_float_result(op, input, target)
    return _reduce(op, torch.log1p(torch.exp(-target * input)), reduction)


def multilabel_soft_margin_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """−w·(y·logσ(x) + (1 − y)·logσ(−x)) averaged over the classes (the last dim): one binary
    cross-entropy per class.

    input (n, c) or (c,) · target (n, c) of 0/1 → loss (n,) or ()

    >>> multilabel_soft_margin_loss(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]))
    tensor(0.6931)
    """
    op = "multilabel_soft_margin_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))  # n c
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]  # n
    return _reduce(op, loss, reduction)


def _check_margin_input(op: str, input: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(n, c), (c,) or () input, c > 0 (torch's rule) as n c; the target must be int64."""
    if input.ndim > 2 or (input.ndim >= 1 and input.shape[-1] == 0):
        raise fail(
            RuntimeError,
            op,
            f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: {list(input.shape)}",
            {"input": ("n c", input.shape)},
        )
    if target.dtype != torch.int64:
        raise RuntimeError(f"{op}: expected scalar type Long but found {str(target.dtype).removeprefix('torch.')}")
    check_floating(op, input)
    return input.reshape(-1, input.shape[-1] if input.ndim else 1), input.ndim


def multi_margin_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    p: int = 1,
    margin: float = 1.0,
    weight: torch.Tensor | None = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Σ_{i ≠ y} max(0, margin − x_y + x_i)^p · w_y / c: every other class should score at least
    ``margin`` below the target class (a multi-class hinge), p = 1 or 2.

    input (n, c) or (c,) · target (n,) or () → loss (n,) or ()

    >>> multi_margin_loss(torch.tensor([[0.1, 0.2, 0.4, 0.8]]), torch.tensor([3]))
    tensor(0.3250)
    """
    op = "multi_margin_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 supported, got p={p}")
    if weight is not None and weight.ndim != 1:
        raise fail(ValueError, op, "weight must be one-dimensional", {"weight": ("c", weight.shape)})
    x, rank = _check_margin_input(op, input, target)  # n c
    samples, classes = x.shape
    if target.ndim > 1 or target.numel() != samples:
        raise fail(
            RuntimeError,
            op,
            "target tensor should be 1-D with size equal to the number of input samples (batch size). "
            f"Expected target size [{samples}], but got {list(target.shape)}.",
            {"input": ("n c", input.shape), "target": ("n", target.shape)},
        )
    if weight is not None and weight.numel() != classes:
        raise fail(
            RuntimeError,
            op,
            f"inconsistent weight size, expected {classes} but got {list(weight.shape)}",
            {"weight": ("c", weight.shape)},
        )
    y = target.reshape(samples, 1)  # n 1
    if ((y < 0) | (y >= classes)).any():
        raise RuntimeError(f"{op}: target out of range (classes 0..{classes - 1})")
    hinge = (margin - x.gather(1, y) + x).clamp_min(0) ** p  # n c
    others = torch.arange(classes, device=x.device) != y  # n c: i ≠ y
    if weight is not None:
        hinge = hinge * weight[y]
    loss = (hinge * others).sum(1) / classes  # n
    return _reduce(op, loss if rank == 2 else loss.reshape(target.shape), reduction)


def multilabel_margin_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Σ_{j ∈ y} Σ_{i ∉ y} max(0, 1 − (x_j − x_i)) / c: each target class should score a margin of 1
    above each other class. The target lists class indices, ended by the first negative entry.

    input (n, c) or (c,) · target (n, c) or (c,) of indices → loss (n,) or ()

    >>> multilabel_margin_loss(torch.tensor([[0.1, 0.2, 0.4, 0.8]]), torch.tensor([[3, 0, -1, 1]]))
    tensor(0.8500)
    """
    op = "multilabel_margin_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    x, rank = _check_margin_input(op, input, target)  # n c
    samples, classes = x.shape
    if target.numel() != x.numel() or (rank and target.shape != input.shape):
        raise fail(
            RuntimeError,
            op,
            f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}",
            {"input": ("n c", input.shape), "target": ("n c", target.shape)},
        )
    labels = target.reshape(samples, classes)  # n t: the list of target classes
    listed = (labels < 0).cumsum(1) == 0  # n t: before the first negative entry
    if (listed & (labels >= classes)).any():
        raise RuntimeError(f"{op}: argument #2 'target' is out of range (classes 0..{classes - 1})")
    one_hot = (labels[:, :, None] == torch.arange(classes, device=x.device)) & listed[:, :, None]  # n t c
    count = one_hot.sum(1).to(x.dtype)  # n c: how often class j is listed
    is_target = count > 0
    hinge = (1 - x[:, :, None] + x[:, None, :]).clamp_min(0)  # n j i: 1 − (x_j − x_i)
    loss = contract("n j i, n j, n i -> n", hinge, count, (~is_target).to(x.dtype)) / classes
    return _reduce(op, loss if rank == 2 else loss.reshape(()), reduction)


def cosine_embedding_loss(
    input1: torch.Tensor,
    input2: torch.Tensor,
    target: torch.Tensor,
    margin: float = 0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """1 − cos(x1, x2) where y = 1, max(0, cos(x1, x2) − margin) where y = −1 (else 0); cos over the
    last dim, each squared norm + 1e-12 as torch.

    input1, input2 (n, d) · target (n,), or (d,) · () → loss (n,) or ()

    >>> cosine_embedding_loss(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), torch.tensor([1]))
    tensor(1.)
    """
    op = "cosine_embedding_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    shapes = {"input1": ("n d", input1.shape), "input2": ("n d", input2.shape), "target": ("n", target.shape)}
    if target.ndim > 1:
        raise fail(RuntimeError, op, "0D or 1D target tensor expected, multi-target not supported", shapes)
    if not input1.ndim == input2.ndim == target.ndim + 1:
        raise fail(
            RuntimeError,
            op,
            f"{target.ndim}D target tensor expects {target.ndim + 1}D input tensors, but found inputs with "
            f"sizes {list(input1.shape)} and {list(input2.shape)}.",
            shapes,
        )
    product = _broadcast(op, input1=input1, input2=input2)
    dim = target.ndim
    dot = (product[0] * product[1]).sum(dim)
    norms = ((input1 * input1).sum(dim) + _COSINE_EPS) * ((input2 * input2).sum(dim) + _COSINE_EPS)
    cos, target = _broadcast(op, cos=dot / norms.sqrt(), target=target)
    zeros = torch.zeros_like(cos)
    loss = torch.where(target == 1, 1 - cos, zeros) + torch.where(target == -1, (cos - margin).clamp_min(0), zeros)
    return _reduce(op, loss, reduction)


# --- triplets ------------------------------------------------------------------------------------


def _pairwise_distance(x1: torch.Tensor, x2: torch.Tensor, p: float = 2.0, eps: float = 1e-6) -> torch.Tensor:
    """‖x1 − x2 + eps‖_p over the last dim (torch.pairwise_distance's formula, keepdim=False)."""
    return torch.linalg.vector_norm(x1 - x2 + eps, ord=p, dim=-1)


def _check_triplet(
    op: str, margin: float, anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor
) -> None:
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise fail(
            RuntimeError,
            op,
            "The anchor, positive, and negative tensors are expected to have the same number of dimensions, "
            f"but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative {negative.ndim}D inputs",
            {"anchor": ("n d", anchor.shape), "positive": ("n d", positive.shape), "negative": ("n d", negative.shape)},
        )


def _triplet(
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    margin: float,
    swap: bool,
) -> torch.Tensor:
    """max(0, margin + d(a, p) − d(a, n)); ``swap`` uses min(d(a, n), d(p, n)) for the negative."""
    to_positive = distance(anchor, positive)
    to_negative = distance(anchor, negative)
    if swap:
        to_negative = torch.minimum(to_negative, distance(positive, negative))
    return (margin + to_positive - to_negative).clamp_min(0)


def triplet_margin_loss(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """max(0, margin + ‖a − p + eps‖_p − ‖a − n + eps‖_p) over the last dim: the anchor should be
    nearer the positive than the negative by ``margin``.

    anchor, positive, negative (n, d) or (d,) → loss (n,) or ()

    >>> a = torch.tensor([[0.0, 0.0]])
    >>> triplet_margin_loss(a, a, torch.tensor([[3.0, 4.0]]), margin=6.0, eps=0.0)
    tensor(1.)
    """
    op = "triplet_margin_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    _check_triplet(op, margin, anchor, positive, negative)
    loss = _triplet(lambda u, v: _pairwise_distance(u, v, p, eps), anchor, positive, negative, margin, swap)
    return _reduce(op, loss, reduction)


def triplet_margin_with_distance_loss(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    *,
    distance_function: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> torch.Tensor:
    """triplet_margin_loss with any ``distance_function(u, v)`` (default the pairwise distance,
    p = 2, eps = 1e-6).

    >>> a = torch.tensor([[0.0, 0.0]])
    >>> l1 = lambda u, v: (u - v).abs().sum(-1)
    >>> triplet_margin_with_distance_loss(a, a, torch.tensor([[3.0, 4.0]]), distance_function=l1, margin=8.0)
    tensor(1.)
    """
    op = "triplet_margin_with_distance_loss"
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: {reduction} is not a valid value for reduction (expected one of {REDUCTIONS})")
    _check_triplet(op, margin, anchor, positive, negative)
    distance = _pairwise_distance if distance_function is None else distance_function
    return _reduce(op, _triplet(distance, anchor, positive, negative, margin, swap), reduction)


# --- linear + cross-entropy ----------------------------------------------------------------------


def linear_cross_entropy(
    input: torch.Tensor,
    linear_weight: torch.Tensor,
    target: torch.Tensor,
    *,
    linear_bias: torch.Tensor | None = None,
    weight: torch.Tensor | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: Any = None,
) -> torch.Tensor:
    """cross_entropy(linear(x, W, b), y): the logits of a linear layer, scored.

    ``linear_weight`` is (c, in) or (c, d1, …, dk, in) for a K-d loss (batched input only);
    ``ignore_index`` None means −100 for class indices and is refused with probabilities.
    ``options`` (torch's chunking schedule) changes how torch computes the loss, never its value:
    it is accepted and the formula is computed as written.

    input (n, in) or (in,) · linear_weight (c, ..., in) → logits (n, c, ...) → loss

    >>> x, w = torch.randn(4, 3), torch.randn(5, 3)
    >>> y = torch.tensor([0, 1, 2, 4])
    >>> torch.allclose(linear_cross_entropy(x, w, y), cross_entropy(x @ w.T, y))
    True
    """
    op = "linear_cross_entropy"
    if not 1 <= input.ndim <= 2:
        raise fail(RuntimeError, op, f"expected input with dimensionality 1 or 2, got {input.ndim}",
                   {"input": ("n in", input.shape)})
    if linear_weight.ndim < 2:
        raise fail(RuntimeError, op, f"expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}",
                   {"linear_weight": ("c ... in", linear_weight.shape)})
    shapes = {"input": ("n in", input.shape), "linear_weight": ("c ... in", linear_weight.shape)}
    if input.shape[-1] != linear_weight.shape[-1]:
        raise fail(
            RuntimeError,
            op,
            "expected equal input and linear_weight last dimensions (in_features), "
            f"got {input.shape[-1]} and {linear_weight.shape[-1]}, respectively",
            shapes,
        )
    classes, features = linear_weight.shape[0], linear_weight.shape[1:-1]
    if linear_bias is not None and tuple(linear_bias.shape) != (classes, *features):
        raise fail(
            RuntimeError,
            op,
            f"expected linear_bias shape {(classes, *features)}, got {tuple(linear_bias.shape)}",
            {**shapes, "linear_bias": ("c ...", linear_bias.shape)},
        )
    if features and input.ndim == 1:
        raise fail(
            RuntimeError,
            op,
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires batched "
            f"input, (N, {input.shape[-1]}), got unbatched input with shape {tuple(input.shape)}",
            shapes,
        )
    logits_shape = (*input.shape[:-1], classes, *features)
    if target.shape == logits_shape and ignore_index is not None:
        raise RuntimeError(f"{op}: ignore_index cannot be specified when target contains probabilities")
    flat_weight = linear_weight.reshape(-1, input.shape[-1])  # (c ...) in
    flat_bias = None if linear_bias is None else linear_bias.reshape(-1)
    logits = linear(input, flat_weight, flat_bias).reshape(logits_shape)  # n c ...
    return cross_entropy(
        logits,
        target,
        weight=weight,
        reduction=reduction,
        ignore_index=-100 if ignore_index is None else ignore_index,
        label_smoothing=label_smoothing,
    )
