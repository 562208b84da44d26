"""cross_entropy's schedule for class indices: one softmax buffer instead of log_softmax's chain.

``functional/classification.py`` holds the formula, nll_loss of log_softmax: autograd keeps the
shifted logits, their exponentials and the log-probabilities, three tensors of the input's size.
For an (n, c) float32/float64 input with finite row maxima m this computes the same loss, in the
same operations (so the same values), keeping only the softmax p for backward:

    loss_i = −w_{y_i} · ((x_{i, y_i} − m_i) − log s_i)       s_i = Σ_c e^{x_ic − m_i},  p = e^{x − m} / s
    ∂loss/∂x_ic = g_i · w_{y_i} · (p_ic − [c = y_i])             g: the output gradient (÷ Σ w for 'mean')

p is one buffer, filled in place (x − m, exp, ÷ s); backward writes one more, the input gradient.
Double backward differentiates the formula (handed in), recomputed from the saved input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch._C import _functorch
from torch.autograd import forward_ad

from .._contract import current_form
from .._trace import is_recording

__all__ = ["applies", "cross_entropy"]

Formula = Callable[[Tensor], Tensor]  # the loss as a function of the input alone


def applies(input: Tensor, target: Tensor, weight: Tensor | None) -> bool:
    """Whether the schedule computes this call: the fast form, eager, a non-empty (n, c) float32 or
    float64 input with (n,) targets, a weight that needs no gradient, no forward-mode tangent and no
    ``torch.func`` wrapper (those transforms get the formula, whose every op they know)."""
    if torch.compiler.is_compiling() or current_form() != "fast" or is_recording():
        return False
    if input.ndim != 2 or target.ndim != 1 or input.numel() == 0 or input.dtype not in _DTYPES:
        return False
    if weight is not None and weight.requires_grad:
        return False
    return not any(
        t is not None
        and (_functorch.is_functorch_wrapped_tensor(t) or forward_ad.unpack_dual(t).tangent is not None)
        for t in (input, target, weight)
    )


_DTYPES = (torch.float32, torch.float64)


def cross_entropy(
    input: Tensor, safe: Tensor, ignored: Tensor, weights: Tensor, reduction: str, formula: Formula
) -> Tensor | None:
    """The loss of ``input`` (n c) for the targets ``safe`` (n, the ``ignored`` ones replaced by 0)
    weighed ``weights`` (n: w_y, 0 where ignored); None where a row maximum is not finite (an inf
    or NaN logit: the formula's own arithmetic then decides, gradient too)."""
    top = input.detach().amax(1, keepdim=True)  # n 1
    if not bool(top.isfinite().all()):
        return None
    return _CrossEntropy.apply(input, top, safe, ignored, weights, reduction, formula)


class _CrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: Tensor,
        top: Tensor,
        safe: Tensor,
        ignored: Tensor,
        weights: Tensor,
        reduction: str,
        formula: Formula,
    ) -> Tensor:
        p = torch.sub(x, top)  # n c: x − m, then e^(x − m), then the softmax, in place
        picked = p.gather(1, safe[:, None]).squeeze(1)  # n: x_y − m
        p.exp_()
        total = p.sum(1, keepdim=True)  # n 1: s
        loss = (-weights * (picked - total.squeeze(1).log())).masked_fill(ignored, 0)  # n
        if ctx.needs_input_grad[0]:  # the softmax only backward reads
            p.div_(total)
            ctx.save_for_backward(x, p, safe, weights)
        ctx.reduction, ctx.formula = reduction, formula
        if reduction == "mean":
            return loss.sum() / weights.sum()
        return loss.sum() if reduction == "sum" else loss

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, p, safe, weights = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: differentiate the formula instead
            with torch.enable_grad():
                (grad_x,) = torch.autograd.grad(ctx.formula(x), x, grad, create_graph=True)
            return grad_x, None, None, None, None, None, None
        scale = weights * grad if ctx.reduction != "mean" else weights * (grad / weights.sum())  # n
        grad_x = p * scale[:, None]  # n c
        grad_x.scatter_add_(1, safe[:, None], -scale[:, None])  # − g_i w_i at each target class
        return grad_x, None, None, None, None, None, None
