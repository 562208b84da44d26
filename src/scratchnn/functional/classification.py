"""Classification losses: the log-probability of the target class, picked out and weighted.

Legend: n batch, c classes, ... the remaining (K-d) dims, x input, y target, w weight.

    nll_loss                          −w_y · x_y      'mean' = Σ / Σ w_y over non-ignored targets
    cross_entropy                     nll_loss(log_softmax(x, c), y); or −Σ_c y_c · w_c · log_softmax(x)_c
    binary_cross_entropy              −w (y · log x + (1 − y) · log(1 − x)),  logs clamped at −100
    binary_cross_entropy_with_logits  w ((1 − y) x + (1 + (pw − 1) y) · softplus(−x))
    linear_cross_entropy              cross_entropy(linear(x, W, b), y)
"""

from __future__ import annotations

import math
import operator
from typing import Any

import torch

from .._args import channels_last_format, check_floating, fail, in_memory_format
from ..schedules import cross_entropy as schedule
from .activation import logsigmoid
from .linear import linear
from .loss import apply_reduction, broadcast_shape, found, resolve_reduction, type_name
from .softmax import log_softmax

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "linear_cross_entropy",
    "nll_loss",
]

_CLAMP_LOG = -100.0  # binary_cross_entropy's floor for log x and log(1 − x), as torch's


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
            ValueError,
            op,
            f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({batch}).",
            shapes,
        )
    if input.ndim <= 2 and target.ndim > 1:
        raise fail(RuntimeError, op, "0D or 1D target tensor expected, multi-target not supported", shapes)
    if input.ndim == 1 and target.ndim == 1 and target.numel() != 1:
        raise fail(
            ValueError,
            op,
            f"For 1D input, 1D target must have size 1, but got target size: {target.numel()}",
            shapes,
        )
    if input.ndim > 2 and target.shape[1:] != input.shape[2:]:
        expected = [input.shape[0], *input.shape[2:]]
        raise fail(RuntimeError, op, f"Expected target size {expected}, got {list(target.shape)}", shapes)
    if target.dtype not in (torch.int64, torch.uint8):
        raise RuntimeError(
            f"{op}: expected target dtype to be Long or Byte, but got {type_name(target.dtype)}"
        )


def _ignore_index(op: str, ignore_index: Any) -> int:
    """``ignore_index`` as an int (a 0-D integer tensor counts); TypeError (torch's argument parser)
    for anything else, a float or a bool too."""
    try:
        if isinstance(ignore_index, bool):
            raise TypeError
        return operator.index(ignore_index)
    except TypeError:
        raise TypeError(
            f"{op}: argument 'ignore_index' must be int, not {type(ignore_index).__name__}"
        ) from None


def _check_targets_in_range(op: str, target: torch.Tensor, keep: torch.Tensor, classes: int) -> None:
    """IndexError (torch's type) for a kept target outside [0, classes)."""
    bad = keep & ((target < 0) | (target >= classes))
    if found(bad):
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
    reduction = resolve_reduction("nll_loss", reduction, size_average, reduce)
    ignore_index = _ignore_index("nll_loss", ignore_index)
    return _nll("nll_loss", input, target, weight, ignore_index, reduction)


def _nll(
    op: str,
    logp: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    ignore_index: int,
    reduction: str,
) -> torch.Tensor:
    ignored, safe, weights = _nll_targets(op, logp, target, weight, ignore_index)
    class_dim = _class_dim(logp)
    picked = logp.gather(class_dim, safe.unsqueeze(class_dim)).squeeze(class_dim)  # n ...: x_y
    loss = (-weights * picked).masked_fill(ignored, 0)
    if reduction == "mean":
        return loss.sum() / weights.sum()
    return loss.sum() if reduction == "sum" else loss


def _nll_targets(
    op: str, logp: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None, ignore_index: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """nll_loss's checks (shapes, dtypes, weight, targets in range), then the targets as
    (ignored, safe: the ignored replaced by 0, weights: w_y, 0 where ignored), each n ..."""
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
    weights = torch.ones(safe.shape, dtype=logp.dtype, device=logp.device) if weight is None else weight[safe]
    return ignored, safe, weights.masked_fill(ignored, 0)


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
    reduction = resolve_reduction(op, reduction, size_average, reduce)
    ignore_index = _ignore_index(op, ignore_index)
    check_floating(op, input)
    if input.shape == target.shape:
        return _cross_entropy_probabilities(input, target, weight, ignore_index, reduction, label_smoothing)
    _check_class_dim(input)
    class_dim = _class_dim(input)
    classes = input.shape[class_dim]
    if input.ndim == 1 and target.ndim == 1 and target.numel() == 1:
        target = target.reshape(())  # one (1,) target of an unbatched (c,) input
    smoothing = label_smoothing > 0  # a NaN one smooths nothing, as torch's `label_smoothing > 0`
    if smoothing:
        _check_smoothing(label_smoothing)
    if not smoothing and schedule.applies(input, target, weight):  # the same loss, one buffer
        ignored, safe, weights = _nll_targets(op, input, target, weight, ignore_index)

        def formula(x: torch.Tensor) -> torch.Tensor:
            return _nll(op, log_softmax(x, class_dim), target, weight, ignore_index, reduction)

        fast = schedule.cross_entropy(input, safe, ignored, weights, reduction, formula)
        if fast is not None:
            return fast
    logp = log_softmax(input, class_dim)  # n c ...
    loss = _nll(op, logp, target, weight, ignore_index, reduction)
    if not smoothing:
        return loss
    # the uniform part: −Σ_c w_c · log p_c per position, ignored positions 0, reduced like nll_loss
    uniform = -(logp if weight is None else logp * _per_class(weight, input)).sum(class_dim)  # n ...
    ignored = target == ignore_index
    uniform = uniform.masked_fill(ignored, 0)
    if reduction == "mean":  # divided by the weight of the kept targets, as nll_loss
        kept = (~ignored).to(uniform.dtype)
        total = kept.sum() if weight is None else (weight[target.masked_fill(ignored, 0)] * kept).sum()
        uniform = uniform.sum() / total
    elif reduction == "sum":
        uniform = uniform.sum()
    return (1 - label_smoothing) * loss + uniform * (label_smoothing / classes)


def _check_class_dim(input: torch.Tensor) -> None:
    """IndexError (torch's type: its log_softmax over dim 1 fails) for a 0-D input, which has no classes."""
    if input.ndim == 0:
        raise fail(
            IndexError,
            "cross_entropy",
            "input has no class dim: (c,) or (n, c, ...) expected, got a 0-D tensor",
            {"input": ("n c ...", input.shape)},
        )


def _check_smoothing(label_smoothing: float) -> None:
    if label_smoothing > 1:
        raise RuntimeError(
            f"cross_entropy: label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}"
        )


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
        raise RuntimeError(
            f"{op}: Expected floating point type for target with class probabilities, "
            f"got {type_name(target.dtype)}"
        )
    _check_class_dim(input)
    if ignore_index >= 0:
        raise RuntimeError(
            f"{op}: ignore_index is not supported for floating point target, got {ignore_index}"
        )
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
    reduction = resolve_reduction(op, reduction, size_average, reduce)
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
        weight = weight.expand(broadcast_shape(op, target=target, weight=weight))  # as torch
    if target.dtype != input.dtype:
        raise RuntimeError(
            f"{op}: Found dtype {target.dtype} for target but expected {input.dtype} (the input's)"
        )
    check_floating(op, input)
    for name, tensor in (("input", input), ("target", target)):
        if found((tensor < 0) | (tensor > 1) | tensor.isnan()):
            raise RuntimeError(f"{op}: all elements of {name} should be between 0 and 1")
    log_x = torch.log(input).clamp_min(_CLAMP_LOG)
    log_1mx = torch.log1p(-input).clamp_min(_CLAMP_LOG)
    loss = -(target * log_x + (1 - target) * log_1mx)
    loss = loss if weight is None else loss * weight
    # written into a tensor like the input, as torch's kernel: contiguous, or channels last as it is
    loss = in_memory_format(loss.contiguous(), channels_last_format(input))
    return apply_reduction(op, loss, reduction)


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

    >>> x, y = torch.tensor([0.0, 100.0]), torch.tensor([1.0, 0.0])
    >>> binary_cross_entropy_with_logits(x, y, reduction="none")
    tensor([  0.6931, 100.0000])
    """
    op = "binary_cross_entropy_with_logits"
    reduction = resolve_reduction(op, reduction, size_average, reduce)
    if target.shape != input.shape:
        raise fail(
            ValueError,
            op,
            f"Target size ({target.size()}) must be the same as input size ({input.size()})",
            {"input": ("...", input.shape), "target": ("...", target.shape)},
        )
    check_floating(op, input)
    if not (target.is_floating_point() or target.is_complex()):  # torch computes in the target's dtype
        raise RuntimeError(
            f"{op}: result type {input.dtype} can't be cast to the desired output type {target.dtype}"
        )
    for name, tensor in (("pos_weight", pos_weight), ("weight", weight)):
        if tensor is not None:
            broadcast_shape(op, target=target, **{name: tensor})
    log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    loss = (1 - target) * input - log_weight * logsigmoid(input)
    loss = loss if weight is None else loss * weight
    return apply_reduction(
        op, loss.to(target.dtype), reduction
    )  # torch computes in place, in the target's dtype


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
        raise fail(
            RuntimeError,
            op,
            f"expected input with dimensionality 1 or 2, got {input.ndim}",
            {"input": ("n in", input.shape)},
        )
    if linear_weight.ndim < 2:
        raise fail(
            RuntimeError,
            op,
            f"expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}",
            {"linear_weight": ("c ... in", linear_weight.shape)},
        )
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
            f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires "
            f"batched input, (N, {input.shape[-1]}), got unbatched input with shape {tuple(input.shape)}",
            shapes,
        )
    if features and classes == 0:  # torch's K-d reshape of empty logits fails before any target check
        raise fail(RuntimeError, op, "size mismatch: a K-dimensional loss with no classes", shapes)
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
