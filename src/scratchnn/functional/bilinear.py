"""Bilinear map: y = x1ᵀ · A · x2 + b, one matrix A per output feature, as two contractions.

Legend: n flattened leading (batch) dims, i input1 features, j input2 features, o output features.

    input1 (..., i), input2 (..., j), weight (o, i, j), bias (o,)  →  (..., o)
    t[n, o, j] = Σ_i input1[n, i] · weight[o, i, j];   y[n, o] = Σ_j t[n, o, j] · input2[n, j]
"""

from __future__ import annotations

import torch

from .._args import fail
from .._contract import contract

__all__ = ["bilinear"]


def bilinear(
    input1: torch.Tensor, input2: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """y[..., o] = Σ_ij input1[..., i] · weight[o, i, j] · input2[..., j] + bias[o].

    >>> bilinear(torch.randn(5, 3), torch.randn(5, 2), torch.randn(4, 3, 2), torch.randn(4)).shape
    torch.Size([5, 4])
    """
    shapes = {
        "input1": ("... i", input1.shape),
        "input2": ("... j", input2.shape),
        "weight": ("o i j", weight.shape),
    }
    if input1.ndim == 0 or input2.ndim == 0:
        raise IndexError("bilinear: Dimension specified as -1 but tensor has no dimensions")
    if input1.ndim != input2.ndim:
        raise fail(
            RuntimeError,
            "bilinear",
            f"input dimensions do not match: got {input1.ndim} and {input2.ndim}",
            shapes,
        )
    for dim, (a, b) in enumerate(zip(input1.shape[:-1], input2.shape[:-1])):
        if a != b:
            raise fail(
                RuntimeError,
                "bilinear",
                f"input batch dimensions do not match at dim {dim}: got {a} and {b}",
                shapes,
            )
    if weight.ndim != 3:  # torch: IndexError when it reaches for a missing dim, RuntimeError for extra ones
        raise fail(
            IndexError if weight.ndim < 3 else RuntimeError,
            "bilinear",
            f"weight must be 3-D (o, i, j), got {weight.ndim}-D",
            shapes,
        )
    for name, tensor, want in (("input1", input1, weight.size(1)), ("input2", input2, weight.size(2))):
        if tensor.size(-1) != want:
            raise fail(
                RuntimeError,
                "bilinear",
                f"{name} size does not match weight size: got {tensor.size(-1)} but expected {want}",
                shapes,
            )
    if bias is not None and (bias.ndim != 1 or bias.size(0) != weight.size(0)):
        raise fail(
            RuntimeError,
            "bilinear",
            f"bias size does not match weight size: got {bias.size(-1)} but expected {weight.size(0)}",
            {**shapes, "bias": ("o", bias.shape)},
        )
    dtypes = {t.dtype for t in (input1, input2, weight, bias) if t is not None}
    if len(dtypes) > 1:
        raise RuntimeError(
            f"bilinear: All tensors must have the same dtype, got input1: {input1.dtype}, "
            f"input2: {input2.dtype}, weight: {weight.dtype}"
        )
    x1 = input1.reshape(-1, input1.size(-1))  # n i
    x2 = input2.reshape(-1, input2.size(-1))  # n j
    mixed = contract("n i, o i j -> n o j", x1, weight)
    out = contract("n o j, n j -> n o", mixed, x2).reshape(*input1.shape[:-1], weight.size(0))
    return out if bias is None else out + bias
