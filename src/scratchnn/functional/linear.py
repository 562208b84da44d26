"""Linear maps and the matrix-multiply family, as contractions.

Legend: b flattened leading (batch) dims, i input features, o output features; m n p the
matrix sizes of ``(m, n) @ (n, p)``; b0 b1 … broadcast batch dims of ``matmul``.
"""

from __future__ import annotations

import math

import torch

from .._args import check_rank, check_same_dtype, fail
from .._contract import contract, current_form
from .._trace import is_recording

__all__ = ["bmm", "linear", "matmul", "mm"]


def linear(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``input @ weight.T + bias`` over any number of leading dims.

    input (..., i) · weight (o, i) → (..., o); a 1-D weight (i,) gives (...,).

    >>> linear(torch.randn(5, 2, 3), torch.randn(4, 3), torch.randn(4)).shape
    torch.Size([5, 2, 4])
    """
    check_rank(weight, (1, 2), "weight", "o i", "linear")
    if input.ndim == 0:
        raise fail(
            RuntimeError, "linear", "input must have at least 1 dim", {"input": ("... i", input.shape)}
        )
    check_same_dtype("linear", input=input, weight=weight, bias=bias)
    features = weight.shape[-1]
    if input.shape[-1] != features:
        raise fail(
            RuntimeError,
            "linear",
            f"input has {input.shape[-1]} features but weight expects {features}",
            {"input": ("... i", input.shape), "weight": ("o i" if weight.ndim == 2 else "i", weight.shape)},
        )
    x = input.reshape(math.prod(input.shape[:-1]), features)  # b i (not -1: i may be 0)
    if bias is not None and _fused_bias(x, weight, bias):
        # fast form: the bias rides in the GEMM, out = bias + x @ weightᵀ
        return torch.addmm(bias, x, weight.t()).reshape(*input.shape[:-1], weight.shape[0])
    if weight.ndim == 1:
        out = contract("b i, i -> b", x, weight).reshape(input.shape[:-1])
    else:
        out = contract("b i, o i -> b o", x, weight).reshape(*input.shape[:-1], weight.shape[0])
    if bias is None:
        return out
    try:
        torch.broadcast_shapes(bias.shape, out.shape)
    except RuntimeError:
        raise fail(
            RuntimeError,
            "linear",
            f"bias of shape {tuple(bias.shape)} does not broadcast to the output {tuple(out.shape)}",
            {"bias": ("o", bias.shape), "weight": ("o i", weight.shape)},
        ) from None
    return out + bias


def _fused_bias(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> bool:
    """Whether ``linear`` may add a 1-D bias inside its GEMM (``addmm``) instead of in a second pass."""
    return (
        bias is not None
        and weight.ndim == 2
        and tuple(bias.shape) == (weight.shape[0],)
        and x.is_floating_point()
        and current_form() == "fast"
        and not is_recording()
    )


def mm(input: torch.Tensor, mat2: torch.Tensor) -> torch.Tensor:
    """Matrix product (m, n) @ (n, p) → (m, p).

    >>> mm(torch.ones(2, 3), torch.ones(3, 4))[0, 0]
    tensor(3.)
    """
    check_rank(input, (2,), "input", "m n", "mm")
    check_rank(mat2, (2,), "mat2", "n p", "mm")
    _check_inner("mm", input, mat2, "m n", "n p")
    return contract("m n, n p -> m p", input, mat2)


def bmm(input: torch.Tensor, mat2: torch.Tensor) -> torch.Tensor:
    """Batched matrix product (b, m, n) @ (b, n, p) → (b, m, p), no broadcasting.

    >>> bmm(torch.ones(5, 2, 3), torch.ones(5, 3, 4)).shape
    torch.Size([5, 2, 4])
    """
    check_rank(input, (3,), "input", "b m n", "bmm")
    check_rank(mat2, (3,), "mat2", "b n p", "bmm")
    if input.shape[0] != mat2.shape[0]:
        raise fail(
            RuntimeError,
            "bmm",
            f"batch sizes differ: {input.shape[0]} and {mat2.shape[0]}",
            {"input": ("b m n", input.shape), "mat2": ("b n p", mat2.shape)},
        )
    _check_inner("bmm", input, mat2, "b m n", "b n p")
    return contract("b m n, b n p -> b m p", input, mat2)


def matmul(input: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """``torch.matmul``: 1-D operands become a row (left) or a column (right) and lose it again;
    batch dims broadcast.

    >>> matmul(torch.randn(3), torch.randn(3)).shape
    torch.Size([])
    >>> matmul(torch.randn(7, 1, 2, 3), torch.randn(5, 3, 4)).shape
    torch.Size([7, 5, 2, 4])
    """
    if input.ndim == 0 or other.ndim == 0:
        raise fail(
            RuntimeError,
            "matmul",
            f"both arguments need at least 1 dim, got {input.ndim}-D and {other.ndim}-D",
            {"input": ("...", input.shape), "other": ("...", other.shape)},
        )
    check_same_dtype("matmul", input=input, other=other)
    left = input.unsqueeze(0) if input.ndim == 1 else input  # (..., m, n)
    right = other.unsqueeze(-1) if other.ndim == 1 else other  # (..., n, p)
    _check_inner("matmul", left, right, "... m n", "... n p", names=("input", "other"))
    try:
        batch = torch.broadcast_shapes(left.shape[:-2], right.shape[:-2])
    except RuntimeError:
        raise fail(
            RuntimeError,
            "matmul",
            "batch dims do not broadcast",
            {"input": ("... m n", input.shape), "other": ("... n p", other.shape)},
        ) from None
    batch_axes = [f"b{i}" for i in range(len(batch))]
    left_batch = " ".join(batch_axes[len(batch_axes) - (left.ndim - 2) :])
    right_batch = " ".join(batch_axes[len(batch_axes) - (right.ndim - 2) :])
    out = contract(f"{left_batch} m n, {right_batch} n p -> {' '.join(batch_axes)} m p", left, right)
    if input.ndim == 1:
        out = out.squeeze(-2)
    if other.ndim == 1:
        out = out.squeeze(-1)
    return out


def _check_inner(
    op: str,
    left: torch.Tensor,
    right: torch.Tensor,
    left_legend: str,
    right_legend: str,
    names: tuple[str, str] = ("input", "mat2"),
) -> None:
    check_same_dtype(op, **{names[0]: left, names[1]: right})
    if left.shape[-1] != right.shape[-2]:
        raise fail(
            RuntimeError,
            op,
            f"shapes cannot be multiplied: n={left.shape[-1]} on the left "
            f"but n={right.shape[-2]} on the right",
            {names[0]: (left_legend, left.shape), names[1]: (right_legend, right.shape)},
        )
