"""Distances and similarities between vectors, from the p-norm.

Legend: ``d`` the vector dim (``dim`` for cosine_similarity, the last dim for pairwise_distance),
``n`` rows and ``k = n(n-1)/2`` row pairs for pdist::

    cosine_similarity(x1, x2) = Σ_d (x1 / max(‖x1‖, eps)) · (x2 / max(‖x2‖, eps))
    pairwise_distance(x1, x2) = ‖x1 − x2 + eps‖_p                        along the last dim
    pdist(x)[k]               = ‖x[i] − x[j]‖_p                          for each pair i < j

cosine_similarity clamps each norm separately (torch 2.13; not their product, as the docs'
formula reads) and does not differentiate the clamp: the gradient is the one of ‖x‖, evaluated
with the clamped value in the denominator. The norms have torch's gradient conventions
(``normalization._vector_norm``: 0 at a zero vector); pdist's backward at p = ∞ gives every tied
entry the full gradient (its own kernel), where the norm's splits it among the ties.
"""

from __future__ import annotations

import math

import torch

from .._args import fail, normalize_dim
from .activation import _differentiated_as
from .normalization import _compute, _vector_norm

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def _broadcast_shape(op: str, x1: torch.Tensor, x2: torch.Tensor) -> torch.Size:
    try:
        return torch.broadcast_shapes(x1.shape, x2.shape)
    except RuntimeError:
        raise fail(
            RuntimeError,
            op,
            "x1 and x2 must be broadcastable to one shape",
            {"x1": ("...", x1.shape), "x2": ("...", x2.shape)},
        ) from None


_REAL = {torch.complex32: torch.float16, torch.complex64: torch.float32, torch.complex128: torch.float64}


def _norm(x: torch.Tensor, p: float, dim: int) -> torch.Tensor:
    """‖x‖_p along ``dim`` (kept), accumulated in float32 for half and bfloat16, as torch's norm;
    real (a complex x's norm is of its moduli)."""
    return _vector_norm(_compute(x), p, dim).to(_REAL.get(x.dtype, x.dtype))


def cosine_similarity(x1: torch.Tensor, x2: torch.Tensor, dim: int = 1, eps: float = 1e-8) -> torch.Tensor:
    """Σ_d (x1 / max(‖x1‖₂, eps)) · (x2 / max(‖x2‖₂, eps)): the cosine of the angle along ``dim``,
    after broadcasting x1 and x2 (``dim`` counts in the broadcast shape, and is removed).

    >>> cosine_similarity(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([[2.0, 0.0], [0.0, 3.0]]))
    tensor([1., 0.])
    """
    common = torch.promote_types(x1.dtype, x2.dtype)
    if not common.is_floating_point:
        raise RuntimeError(
            f"cosine_similarity: expected common dtype to be floating point, yet common dtype is {common}"
        )
    if not eps >= 0:  # NaN too
        raise RuntimeError(f"cosine_similarity: eps must be non-negative, got: {eps}")
    shape = _broadcast_shape("cosine_similarity", x1, x2)
    dim = normalize_dim(dim, len(shape), "cosine_similarity")
    # an integer (or bool) operand is cast to the common dtype first; a floating one is normalized
    # in its own dtype, then promoted (as torch)
    x1, x2 = (x if x.is_floating_point() or x.is_complex() else x.to(common) for x in (x1, x2))
    x1, x2 = x1.expand(shape), x2.expand(shape)
    norm1, norm2 = _norm(x1, 2, dim), _norm(x2, 2, dim)  # ... 1 ...
    # max(‖x‖, eps) in value; differentiated as ‖x‖ (torch clamps in place, outside autograd)
    norm1 = _differentiated_as(norm1.detach().clamp_min(eps), norm1)
    norm2 = _differentiated_as(norm2.detach().clamp_min(eps), norm2)
    return ((x1 / norm1) * (x2 / norm2)).sum(dim)


def pairwise_distance(
    x1: torch.Tensor, x2: torch.Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> torch.Tensor:
    """‖x1 − x2 + eps‖_p along the last dim of the broadcast shape (kept when ``keepdim``).

    >>> pairwise_distance(torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]]), eps=0.0)
    tensor([5.])
    """
    if x1.dtype == torch.bool and x2.dtype == torch.bool:
        raise RuntimeError(
            "pairwise_distance: Subtraction, the `-` operator, with two bool tensors is not supported."
        )
    shape = _broadcast_shape("pairwise_distance", x1, x2)
    last = max(len(shape) - 1, 0)
    difference = x1 - x2 + eps  # ... d
    norm = _norm(difference, p, last)  # ... 1
    return norm if keepdim else norm.squeeze(last)


def pdist(input: torch.Tensor, p: float = 2) -> torch.Tensor:
    """‖x[i] − x[j]‖_p for every pair of rows i < j, in row-major order (the upper triangle of
    the distance matrix).

    Legend: n rows, d features, k = n(n-1)/2 pairs. input (n, d) → output (k,)

    >>> pdist(torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]]))
    tensor([ 5., 10.,  5.])
    """
    if input.ndim != 2:
        raise fail(
            RuntimeError,
            "pdist",
            f"pdist only supports 2D tensors, got: {input.ndim}D",
            {"input": ("n d", input.shape)},
        )
    if not input.is_floating_point():
        raise RuntimeError(f"pdist: pdist only supports floating-point dtypes, got {input.dtype}")
    if not p >= 0:  # NaN too
        raise RuntimeError(f"pdist: pdist only supports non-negative p values, got p={p}")
    if input.dtype in (torch.float16, torch.bfloat16) and input.shape[0] >= 2 and input.shape[1] >= 1:
        raise NotImplementedError(
            f"pdist: not implemented for {input.dtype} input"
        )  # torch's kernel has none
    rows, cols = torch.triu_indices(input.shape[0], input.shape[0], 1, device=input.device)  # k, k
    difference = input[rows] - input[cols]  # k d
    if input.shape[1] == 0:  # no features: every distance is 0 (max over nothing would fail)
        return difference.sum(1)
    distance = _vector_norm(difference, p, 1).squeeze(1)  # k
    if p != math.inf:
        return distance
    # every entry that attains the max gets the whole gradient, as in torch's pdist backward
    attains = (difference.abs() == distance[:, None]).detach()  # k d
    return _differentiated_as(distance, (difference.abs() * attains).sum(1))
