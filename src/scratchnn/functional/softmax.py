"""Softmax and log-softmax from max-subtract, exp and sum.

Along ``dim`` (the legend's ``s``, the slice that sums to one)::

    shift   = max_s x                       (the value does not change: it only keeps exp finite)
    softmax = exp(x - shift) / sum_s exp(x - shift)
    log_softmax = (x - shift) - log sum_s exp(x - shift)
    softmin = softmax(-x)

Autograd differentiates these formulas directly. Half and bfloat16 inputs are computed in
float32 and rounded back, as torch's kernels accumulate in float32.
"""

from __future__ import annotations

import torch

from .._args import fail, normalize_dim, warn

__all__ = ["log_softmax", "softmax", "softmin"]

_UPCAST = (torch.float16, torch.bfloat16)


def softmax(
    input: torch.Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """``exp(x - max) / sum exp(x - max)`` along ``dim``; a slice of all ``-inf`` gives NaN, as torch.

    ``dtype`` casts the input before the operation. ``dim=None`` picks torch's deprecated
    implicit dim (0 for 0-, 1- and 3-D input, else 1) with torch's warning.

    >>> softmax(torch.tensor([[1.0, 1.0], [0.0, float("-inf")]]), dim=1)
    tensor([[0.5000, 0.5000],
            [1.0000, 0.0000]])
    """
    x, dim, out_dtype = _prepare("softmax", input, dim, _stacklevel, dtype)
    return _as(_softmax(x, dim), out_dtype)


def softmin(
    input: torch.Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """:func:`softmax` of ``-input``: the smallest entry gets the largest weight.

    >>> softmin(torch.tensor([0.0, 1.0]), dim=0)
    tensor([0.7311, 0.2689])
    """
    x, dim, out_dtype = _prepare("softmin", -input, dim, _stacklevel, dtype)
    return _as(_softmax(x, dim), out_dtype)


def log_softmax(
    input: torch.Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """``(x - max) - log sum exp(x - max)`` along ``dim``: log of :func:`softmax`, without its underflow.

    >>> log_softmax(torch.tensor([0.0, 0.0]), dim=0)
    tensor([-0.6931, -0.6931])
    """
    x, dim, out_dtype = _prepare("log_softmax", input, dim, _stacklevel, dtype)
    shifted = x - _shift(x, dim)
    return _as(shifted - shifted.exp().sum(dim, keepdim=True).log(), out_dtype)


def safe_softmax(input: torch.Tensor, dim: int) -> torch.Tensor:
    """:func:`softmax`, except that a slice of all ``-inf`` (a fully masked row) gives zeros and zero
    gradient instead of NaN: what torch's attention does with a query that may attend nowhere.

    >>> safe_softmax(torch.tensor([[0.0, float("-inf")], [float("-inf"), float("-inf")]]), dim=1)
    tensor([[1., 0.],
            [0., 0.]])
    """
    x = input.float() if input.dtype in _UPCAST else input
    shift = _shift(x, dim)
    shift = shift.masked_fill(shift == float("-inf"), 0.0)  # all -inf: exp(-inf - 0) = 0
    exp = (x - shift).exp()
    total = exp.sum(dim, keepdim=True)
    return _as(exp / total.masked_fill(total == 0, 1.0), input.dtype)  # 0 / 1 = 0 where all were -inf


def _softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    exp = (x - _shift(x, dim)).exp()
    return exp / exp.sum(dim, keepdim=True)


def _as(result: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Round a float32 result of half/bfloat16 input back; otherwise the result itself."""
    result = result if result.dtype == dtype else result.to(dtype)
    return result.contiguous()  # torch's softmax kernels write a contiguous result, whatever the input


def _shift(x: torch.Tensor, dim: int) -> torch.Tensor:
    """The max along ``dim``. Subtracting it leaves the result unchanged, so it carries no gradient."""
    if x.numel() == 0:  # amax refuses an empty slice; there is nothing to shift
        return x.new_zeros([1 if axis == dim else size for axis, size in enumerate(x.shape)])
    return x.detach().amax(dim, keepdim=True)


def _prepare(
    op: str, input: torch.Tensor, dim: int | None, stacklevel: int, dtype: torch.dtype | None
) -> tuple[torch.Tensor, int, torch.dtype]:
    """Cast to ``dtype``, check the dtype is floating, resolve ``dim``; returns the tensor to compute
    on (float32 for half/bfloat16), the normalized dim and the dtype of the result."""
    if dim is None:
        warn(
            f"Implicit dimension choice for {op} has been deprecated. "
            "Change the call to include dim=X as an argument.",
            stacklevel=stacklevel,
        )
        dim = 0 if input.ndim in (0, 1, 3) else 1
    x = input if dtype is None else input.to(dtype)
    if not x.is_floating_point():
        raise fail(
            NotImplementedError,
            op,
            f"needs a floating-point input, got {x.dtype} (pass dtype= to cast it)",
            {"input": ("...", input.shape)},
        )
    dim = normalize_dim(dim, x.ndim, op)
    x = x.contiguous()  # torch's kernels compute on a contiguous copy: the result is contiguous
    return (x.float() if x.dtype in _UPCAST else x), dim, x.dtype
