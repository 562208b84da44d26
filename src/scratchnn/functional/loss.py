"""Regression losses, and the reduction every loss shares ('none' | 'mean' | 'sum').

Each is an elementwise penalty, weighted, then reduced.

Legend: x input, y target, w weight, d = x − y.

    l1_loss                        |d|                       (weight: Σ w·|d| / Σ w for 'mean')
    mse_loss                       d²                        (weight: Σ w·d² / Σ w for 'mean')
    huber_loss                     ½d² if |d| < δ else δ(|d| − ½δ)
    smooth_l1_loss                 ½d²/β if |d| < β else |d| − ½β       (β = 0: |d|)
    kl_div                         y (log y − x);  log_target: e^y (y − x)
    poisson_nll_loss               e^x − y x;  not log_input: x − y log(x + eps);  full: + Stirling
    gaussian_nll_loss              ½ (log v + d² / v)  (+ ½ log 2π when full), v = max(var, eps)

``size_average`` and ``reduce`` are torch's deprecated spellings of ``reduction``: they map onto
it as in torch (``_Reduction.legacy_get_string``), with torch's warning. This module holds the
regression losses and the reduction every loss shares; the classification losses are in
``classification.py``, the margin and triplet losses in ``margin.py``, CTC in ``ctc.py``.
"""

from __future__ import annotations

import math

import torch

from .._args import fail, warn

__all__ = [
    "gaussian_nll_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
]

REDUCTIONS = ("none", "mean", "sum")


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


def resolve_reduction(
    op: str,
    reduction: str,
    size_average: bool | None = None,
    reduce: bool | None = None,
    allowed: tuple[str, ...] = REDUCTIONS,
) -> str:
    """The reduction to apply: from the legacy arguments when either is given; ValueError (torch's
    type) for an unknown one; ``'elementwise_mean'`` is torch's deprecated name of ``'mean'``; 0, 1,
    2 are torch's enum for none, mean, sum (its native spellings, ``torch.kl_div`` …, pass it)."""
    if isinstance(reduction, int) and not isinstance(reduction, bool) and 0 <= reduction < len(REDUCTIONS):
        reduction = REDUCTIONS[reduction]
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce, op)
    if reduction == "elementwise_mean":
        warn(
            f"{op}: reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
            stacklevel=3,
        )
        return "mean"
    if reduction not in allowed:
        raise ValueError(f"{op}: {reduction} is not a valid value for reduction (expected one of {allowed})")
    return reduction


def apply_reduction(op: str, loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """'mean' over every element (NaN when there is none, as torch), 'sum', or the loss itself."""
    if reduction == "mean":
        if not (loss.is_floating_point() or loss.is_complex()):
            raise RuntimeError(
                f"{op}: mean(): could not infer output dtype. Input dtype must be either a floating point "
                f"or complex dtype. Got: {type_name(loss.dtype)}"
            )
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _weighted(
    op: str, loss: torch.Tensor, weight: torch.Tensor | None, input: torch.Tensor, reduction: str, mean: str
) -> torch.Tensor:
    """``loss · weight`` reduced; 'mean' is Σ w·loss / Σ w (``mean='weights'``) or the plain mean."""
    if weight is None:
        return apply_reduction(op, loss, reduction)
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
    return apply_reduction(op, weighted, reduction)


_TYPE_NAMES = {
    torch.int64: "Long",
    torch.int32: "Int",
    torch.int16: "Short",
    torch.int8: "Char",
    torch.uint8: "Byte",
    torch.bool: "Bool",
    torch.float64: "Double",
    torch.float32: "Float",
    torch.float16: "Half",
    torch.bfloat16: "BFloat16",
}


def found(mask: torch.Tensor) -> bool:
    """Whether any element of ``mask`` is set: a check on values, eager only (under torch.compile a
    graph cannot branch on values, so a compiled loss skips it)."""
    return not torch.compiler.is_compiling() and bool(mask.any())


def type_name(dtype: torch.dtype) -> str:
    """torch's C++ name of a dtype, as its messages spell it: Long for torch.int64, Float for float32."""
    return _TYPE_NAMES.get(dtype, str(dtype).removeprefix("torch."))


def check_float_result(op: str, *tensors: torch.Tensor) -> None:
    """RuntimeError (torch's type) when an integer tensor would receive a floating-point result."""
    for tensor in tensors:
        if not (tensor.is_floating_point() or tensor.is_complex()):
            raise RuntimeError(
                f"{op}: result type Float can't be cast to the desired output type {tensor.dtype}"
            )


def broadcast_shape(op: str, **tensors: torch.Tensor) -> torch.Size:
    """The shape the tensors broadcast to; RuntimeError (torch's type) naming them when they do not.
    A check only: the formulas broadcast by themselves, so a 0-D tensor keeps its weaker say in
    type promotion (as in torch)."""
    try:
        return torch.broadcast_shapes(*(t.shape for t in tensors.values()))
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
    broadcast_shape(op, input=input, target=target)
    return torch.broadcast_tensors(input, target)  # torch broadcasts both explicitly here


def _difference(op: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """x − y in their promoted dtype, as torch's fused kernels take it (a bool side promotes too);
    NotImplementedError (torch's type) unless that dtype is floating point."""
    common = torch.promote_types(x.dtype, y.dtype)  # broadcast already: no 0-D side to weaken
    if not common.is_floating_point:
        raise NotImplementedError(f"{op}: not implemented for {common} (input and target promote to it)")
    return x.to(common) - y.to(common)


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
    x, y = _pair("l1_loss", input, target)  # broadcast first, then the reduction: torch's order
    reduction = resolve_reduction("l1_loss", reduction, size_average, reduce)
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
    x, y = _pair("mse_loss", input, target)
    reduction = resolve_reduction("mse_loss", reduction, size_average, reduce)
    if weight is not None:  # torch's weighted path is plain tensor math: a bool side cannot subtract
        return _weighted("mse_loss", (x - y) ** 2, weight, input, reduction, mean="weights")
    difference = _difference("mse_loss", x, y)  # an integer input with a floating-point target is fine
    return apply_reduction("mse_loss", difference**2, reduction)


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
    x, y = _pair("huber_loss", input, target)
    reduction = resolve_reduction("huber_loss", reduction)
    if not delta > 0:  # NaN too
        raise RuntimeError(
            f"huber_loss: huber_loss does not support non-positive values for delta, got delta={delta}"
        )
    difference = _difference("huber_loss", x, y)
    check_float_result("huber_loss", input)
    loss = _huber(difference, delta).to(input.dtype)  # torch writes the loss in the input's dtype
    return _weighted("huber_loss", loss, weight, input, reduction, mean="elements")


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
    x, y = _pair("smooth_l1_loss", input, target)
    reduction = resolve_reduction("smooth_l1_loss", reduction, size_average, reduce)
    if not beta >= 0:  # NaN too
        raise RuntimeError(
            f"smooth_l1_loss: smooth_l1_loss does not support negative values for beta, got beta={beta}"
        )
    if beta == 0:  # torch's l1_loss: plain tensor math, so a bool side cannot subtract
        return apply_reduction("smooth_l1_loss", (x - y).abs(), reduction)
    loss = _huber(_difference("smooth_l1_loss", x, y), beta) / beta
    return apply_reduction("smooth_l1_loss", loss, reduction)


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
    elif found(var < 0):
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
    check_float_result(op, var)  # clamped in place below; integer input and target promote, as torch
    var = var.clone()
    with torch.no_grad():
        var.clamp_(min=eps)  # a straight-through clamp: the value changes, the gradient does not
    loss = 0.5 * (torch.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return apply_reduction(op, loss, reduction)


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
    reduction = resolve_reduction("poisson_nll_loss", reduction, size_average, reduce)
    broadcast_shape("poisson_nll_loss", input=input, target=target)
    loss = torch.exp(input) - target * input if log_input else input - target * torch.log(input + eps)
    if full:
        stirling = target * torch.log(target) - target + 0.5 * torch.log(2 * math.pi * target)
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return apply_reduction("poisson_nll_loss", loss, reduction)


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
        reduction = resolve_reduction(op, reduction, allowed=(*REDUCTIONS, "batchmean"))
        if reduction == "mean":
            warn(
                f"{op}: reduction: 'mean' divides the total loss by both the batch size and the support size."
                "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                stacklevel=2,
            )
    broadcast_shape(op, input=input, target=target)
    if not (input.is_floating_point() and target.is_floating_point()):
        raise RuntimeError(
            f"{op}: Integral inputs not supported, got {input.dtype} input and {target.dtype} target"
        )
    if log_target:
        loss = torch.exp(target) * (target - input)
    else:
        loss = torch.xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim != 0 else loss.sum()
    return apply_reduction(op, loss, reduction)
