"""Margin losses: a hinge max(0, margin − score) on a score, a difference or a distance.

Legend: n batch, c classes, d features, x input, y target, w weight; a p n anchor, positive, negative.

    hinge_embedding_loss           x where y = 1, max(0, margin − x) where y = −1
    margin_ranking_loss            max(0, −y (x1 − x2) + margin)
    soft_margin_loss               log(1 + e^(−y x))
    multilabel_soft_margin_loss    mean_c −w (y log σ(x) + (1 − y) log σ(−x))
    multi_margin_loss              Σ_{i ≠ y} max(0, margin − x_y + x_i)^p · w_y / c
    multilabel_margin_loss         Σ_{j ∈ y} Σ_{i ∉ y} max(0, 1 − (x_j − x_i)) / c
    cosine_embedding_loss          1 − cos where y = 1, max(0, cos − margin) where y = −1
    triplet_margin_loss            max(0, margin + ‖a − p‖ − ‖a − n‖)   (swap: min with ‖p − n‖)
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

from .._args import check_floating, fail
from .._contract import contract
from .activation import logsigmoid
from .distance import pairwise_distance
from .loss import (
    REDUCTIONS,
    apply_reduction,
    broadcast_shape,
    check_float_result,
    found,
    resolve_reduction,
    type_name,
)

__all__ = [
    "cosine_embedding_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]

_COSINE_EPS = 1e-12  # cosine_embedding_loss adds it to each squared norm, as torch


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
    reduction = resolve_reduction(op, reduction, size_average, reduce)
    broadcast_shape(op, input=input, target=target)
    zeros = torch.zeros_like(input)
    # margin − x in the input's dtype, as torch: an integer input truncates the margin (and wraps)
    below_margin = (torch.full_like(input, margin) - input).clamp_min(0)
    loss = torch.where(target != 1, below_margin, zeros) + torch.where(target != -1, input, zeros)
    return apply_reduction(op, loss, reduction)


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
    reduction = resolve_reduction(op, reduction, size_average, reduce)
    if not input1.ndim == input2.ndim == target.ndim:
        raise fail(
            RuntimeError,
            op,
            "All input tensors should have same dimension",
            {
                "input1": ("...", input1.shape),
                "input2": ("...", input2.shape),
                "target": ("...", target.shape),
            },
        )
    broadcast_shape(op, input1=input1, input2=input2, target=target)
    return apply_reduction(op, (-target * (input1 - input2) + margin).clamp_min(0), reduction)


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
    reduction = resolve_reduction(op, reduction, size_average, reduce)
    expanded = broadcast_shape(op, input=input, target=target)
    if expanded != input.shape:
        raise fail(
            RuntimeError,
            op,
            f"output with shape {list(input.shape)} doesn't match the broadcast shape {list(expanded)} "
            "(torch writes the loss in the input's shape)",
            {"input": ("...", input.shape), "target": ("...", target.shape)},
        )
    check_float_result(op, input)
    common = torch.promote_types(input.dtype, target.dtype)
    # torch multiplies into −x in place (checked eagerly: dynamo cannot trace can_cast)
    if not torch.compiler.is_compiling() and not torch.can_cast(common, input.dtype):
        raise RuntimeError(
            f"{op}: result type {common} can't be cast to the desired output type {input.dtype}"
        )
    loss = torch.log1p(torch.exp(-input * target)).to(input.dtype)  # −x · y, in the input's dtype, as torch
    return apply_reduction(op, loss, reduction)


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
    check_floating(op, input)
    if input.ndim == 0:
        raise fail(
            IndexError,
            op,
            "input has no class dim: (c,) or (n, c) expected, got a 0-D tensor",
            {"input": ("n c", input.shape)},
        )
    broadcast_shape(op, input=input, target=target)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))  # n c
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]  # n
    reduction = resolve_reduction(op, reduction, size_average, reduce)  # validated last, as torch
    return apply_reduction(op, loss, reduction)


def _margin_rows(op: str, input: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(n, c), (c,) or () input, c > 0 (torch's rule) as n c, and its rank."""
    if input.ndim > 2 or (input.ndim >= 1 and input.shape[-1] == 0):
        raise fail(
            RuntimeError,
            op,
            "Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
            f"{list(input.shape)}",
            {"input": ("n c", input.shape)},
        )
    return input.reshape(-1, input.shape[-1] if input.ndim else 1), input.ndim


def _check_margin_dtypes(op: str, input: torch.Tensor, target: torch.Tensor) -> None:
    """torch's multi-class margin kernels: a float32 or float64 input (NotImplementedError, torch's
    type, for others: half too), then an int64 target."""
    if input.dtype not in (torch.float32, torch.float64):
        raise NotImplementedError(f"{op}: not implemented for {type_name(input.dtype)} input (float, double)")
    if target.dtype != torch.int64:
        raise RuntimeError(f"{op}: expected scalar type Long but found {type_name(target.dtype)}")


def _positive_part(z: torch.Tensor) -> torch.Tensor:
    """max(0, z) with gradient 0 at z = 0, as torch's multi-class margin kernels (``clamp_min``
    would pass the gradient there)."""
    return torch.where(z > 0, z, 0)


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
    reduction = resolve_reduction(op, reduction, size_average, reduce)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 supported, got p={p}")
    if weight is not None and weight.ndim != 1:
        raise fail(ValueError, op, "weight must be one-dimensional", {"weight": ("c", weight.shape)})
    x, rank = _margin_rows(op, input)  # n c
    _check_margin_dtypes(op, input, target)
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
    if found((y < 0) | (y >= classes)):
        raise RuntimeError(f"{op}: target out of range (classes 0..{classes - 1})")
    hinge = _positive_part(margin - x.gather(1, y) + x) ** p  # n c
    others = torch.arange(classes, device=x.device) != y  # n c: i ≠ y
    if weight is not None:
        hinge = hinge * weight[y]
    loss = (hinge * others).sum(1) / classes  # n
    return apply_reduction(op, loss if rank == 2 else loss.reshape(target.shape), reduction)


def multilabel_margin_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Σ_{j ∈ y} Σ_{i ∉ y} max(0, 1 − (x_j − x_i)) / c: each target class should score a margin of 1
    above each other class. The target lists class indices, ended by the first −1 (every entry,
    listed or not, in [−1, c)).

    input (n, c) or (c,) · target (n, c) or (c,) of indices → loss (n,) or ()

    >>> multilabel_margin_loss(torch.tensor([[0.1, 0.2, 0.4, 0.8]]), torch.tensor([[3, 0, -1, 1]]))
    tensor(0.8500)
    """
    op = "multilabel_margin_loss"
    reduction = resolve_reduction(op, reduction, size_average, reduce)
    x, rank = _margin_rows(op, input)  # n c
    samples, classes = x.shape
    if target.numel() != x.numel() or (rank and target.shape != input.shape):
        raise fail(
            RuntimeError,
            op,
            f"inconsistent target size: {list(target.shape)} for input of size: {list(input.shape)}",
            {"input": ("n c", input.shape), "target": ("n c", target.shape)},
        )
    if target.is_complex():  # torch checks the range (a min and a max) before any dtype
        raise NotImplementedError(f"{op}: the target holds class indices, got {target.dtype}")
    labels = target.reshape(samples, classes)  # n t: the list of target classes
    if found((labels < -1) | (labels >= classes)):  # every entry, even past the end, as torch
        raise RuntimeError(f"{op}: argument #2 'target' is out of range (classes 0..{classes - 1})")
    _check_margin_dtypes(op, input, target)
    listed = (labels < 0).cumsum(1) == 0  # n t: before the first −1
    one_hot = (labels[:, :, None] == torch.arange(classes, device=x.device)) & listed[:, :, None]  # n t c
    count = one_hot.sum(1).to(x.dtype)  # n c: how often class j is listed
    is_target = count > 0
    pairs = count[:, :, None] * (~is_target).to(x.dtype)[:, None, :]  # n j i: j listed (times), i not
    hinge = _positive_part(1 - x[:, :, None] + x[:, None, :])  # n j i: 1 − (x_j − x_i)
    hinge = torch.where(pairs > 0, hinge, 0)  # the pairs not counted add nothing, an infinite one too
    loss = contract("n j i, n j i -> n", hinge, pairs) / classes
    return apply_reduction(op, loss if rank == 2 else loss.reshape(()), reduction)


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
    reduction = resolve_reduction(op, reduction, size_average, reduce)
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
    broadcast_shape(op, input1=input1, input2=input2)
    dim = target.ndim
    dot = (input1 * input2).sum(dim)
    norms = ((input1 * input1).sum(dim) + _COSINE_EPS) * ((input2 * input2).sum(dim) + _COSINE_EPS)
    cos = dot / norms.sqrt()
    broadcast_shape(op, cos=cos, target=target)
    zeros = torch.zeros_like(cos)
    loss = torch.where(target == 1, 1 - cos, zeros) + torch.where(
        target == -1, (cos - margin).clamp_min(0), zeros
    )
    return apply_reduction(op, loss, reduction)


# --- triplets ------------------------------------------------------------------------------------


def _check_triplet(
    op: str, margin: float, anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor
) -> None:
    if margin <= 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise fail(
            RuntimeError,
            op,
            "The anchor, positive, and negative tensors are expected to have the same number of "
            f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
            f"{negative.ndim}D inputs",
            {
                "anchor": ("n d", anchor.shape),
                "positive": ("n d", positive.shape),
                "negative": ("n d", negative.shape),
            },
        )


def _triplet(
    op: str,
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    margin: float,
    swap: bool,
    *,
    pairwise: bool,
) -> torch.Tensor:
    """max(0, margin + d(a, p) − d(a, n)); ``swap`` uses min(d(a, n), d(p, n)) for the negative.
    ``pairwise``: ``distance`` is the pairwise distance, so each pair it meets must broadcast."""
    if pairwise:
        broadcast_shape(op, anchor=anchor, positive=positive)
        broadcast_shape(op, anchor=anchor, negative=negative)
        if swap:
            broadcast_shape(op, positive=positive, negative=negative)
    to_positive = distance(anchor, positive)
    to_negative = distance(anchor, negative)
    if swap:
        to_swapped = distance(positive, negative)
        broadcast_shape(op, **{"d(a, n)": to_negative, "d(p, n)": to_swapped})
        to_negative = torch.minimum(to_negative, to_swapped)
    broadcast_shape(op, **{"d(a, p)": to_positive, "d(a, n)": to_negative})
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
    reduction = resolve_reduction(op, reduction, size_average, reduce)
    _check_triplet(op, margin, anchor, positive, negative)
    distance = functools.partial(pairwise_distance, p=p, eps=eps)
    loss = _triplet(op, distance, anchor, positive, negative, margin, swap, pairwise=True)
    return apply_reduction(op, loss, reduction)


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
        raise ValueError(
            f"{op}: {reduction} is not a valid value for reduction (expected one of {REDUCTIONS})"
        )
    _check_triplet(op, margin, anchor, positive, negative)
    distance = pairwise_distance if distance_function is None else distance_function
    loss = _triplet(
        op, distance, anchor, positive, negative, margin, swap, pairwise=distance_function is None
    )
    return apply_reduction(op, loss, reduction)
