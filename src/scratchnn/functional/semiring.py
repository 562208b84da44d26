"""Convolution over other semirings: "combine, then reduce" over windows, in bounded memory.

A convolution multiplies each window by the weights and sums. Replace the pair (×, +) by
(⊗, ⊕) and the same windows give grayscale morphology, AdderNet, soft-max filters and more.

Legend: b batch, g groups, c_in/c_out channels per group, l | h w | d h w output positions,
kl | kh kw | kd kh kw kernel offsets; s stride, d dilation (per spatial dim).

    out[b, g·c_out, h, w] = ⊕ over (c_in, kh, kw) of
                                x_pad[b, g·c_in, h·s + kh·d, w·s + kw·d] ⊗ weight[g·c_out, c_in, kh, kw]

=================  ==============  ======================  ===========  ===============================
semiring           x ⊗ w           ⊕ (reduce)              padding      what it is
=================  ==============  ======================  ===========  ===============================
``plus-times``     x · w           sum                     0            ``conv2d`` (cross-correlation)
``max-plus``       x + w           max                     -inf         grayscale dilation (tropical)
``min-plus``       x + w           min                     +inf         grayscale erosion
``logsumexp-plus`` x + w           T·log Σ exp(·/T)        -inf         soft max-plus (→ max-plus, T→0)
``l1``             -|x − w|        sum                     0            AdderNet
``lp``             -|x − w|^p      sum                     0            negative p-th power distance
=================  ==============  ======================  ===========  ===============================

Padding uses the identity of ⊕ (padded taps then change nothing for max-plus, min-plus,
logsumexp-plus and plus-times), unless ``padding_value=`` says otherwise. For ``l1``/``lp`` the
identity of the sum is 0 *as an input value*, so padded taps contribute ``-|w|`` (``-|w|^p``): the
zero padding of AdderNet's reference implementation.

A semiring of your own is a :class:`Semiring`: an elementwise ``combine(x, w)`` (broadcasting)
and a ``reduce`` named from ``"sum"``, ``"max"``, ``"min"``, ``"logsumexp"`` (these are the
reductions whose gradient the bounded backward knows)::

    >>> max_min = Semiring("max-min", combine=torch.minimum, reduce="max")   # fuzzy morphology
    >>> x, w = torch.rand(1, 2, 6, 6), torch.rand(3, 2, 3, 3)
    >>> semiring_conv2d(x, w, padding=1, semiring=max_min).shape
    torch.Size([1, 3, 6, 6])

How it is computed
------------------
The formula ``combine(windows, weight).reduce(over c_in and the kernel)`` materializes an
(output × window) tensor: ``b·g·c_out·c_in·h·w·kh·kw`` elements — 20 GB for a 71×71 element on
a 1024² image. ``scratchnn/schedules/semiring.py`` evaluates it in blocks of that product under a
memory bound (a custom backward recomputes them; ties of max/min share the gradient as autograd
of the formula does), and flat max-plus/min-plus elements (morphology) as separable filters. The
literal form (``scratchnn.settings(form="literal")``) evaluates the formula block by block under
the literal form's budget, without the separable shortcut.

A −inf weight in max-plus (+inf in min-plus) is a missing tap: it absorbs, so an infinite input of
the other sign meets it as −inf, not NaN (as a footprint's holes should).

Double backward is not supported (the backward is ``once_differentiable``).
"""

from __future__ import annotations

import torch

from .. import schedules
from .._args import check_floating
from .._semirings import SEMIRINGS, Semiring, get_semiring
from .._windows import Geometry
from .conv import ConvArgs, IntOrTuple, Padding

__all__ = [
    "SEMIRINGS",
    "Semiring",
    "get_semiring",
    "semiring_conv",
    "semiring_conv1d",
    "semiring_conv2d",
    "semiring_conv3d",
    "semiring_conv_nd",
]

# --------------------------------------------------------------------------------------------
# The public ops


def semiring_conv_nd(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: IntOrTuple,
    padding: Padding,
    dilation: IntOrTuple,
    groups: int,
    n: int,
    op: str,
    *,
    semiring: str | Semiring,
    padding_value: float | None = None,
) -> torch.Tensor:
    """The N-d semiring convolution behind semiring_conv1d, semiring_conv2d and semiring_conv3d."""
    ring = get_semiring(semiring)
    args = ConvArgs(op, input, weight, bias, stride, padding, dilation, groups, n)
    check_floating(op, input, error=RuntimeError)
    if padding_value is not None and not isinstance(padding_value, int | float):
        raise TypeError(f"{op}: padding_value must be a number or None, got padding_value={padding_value!r}")
    x = input.unsqueeze(0) if args.unbatched else input
    out = semiring_conv(x, weight, bias, args.geometry, groups, ring, padding_value, args.unbatched)
    return out.squeeze(0) if args.unbatched else out


def semiring_conv1d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    semiring: str | Semiring,
    padding_value: float | None = None,
) -> torch.Tensor:
    """1-D semiring convolution: input (b, g·c_in, L) ⊗ weight (g·c_out, c_in, kl) → (b, g·c_out, l).

    >>> x = torch.tensor([[[0., 3., 1., 2.]]])
    >>> semiring_conv1d(x, torch.zeros(1, 1, 3), padding=1, semiring="max-plus")
    tensor([[[3., 3., 3., 2.]]])
    """
    return semiring_conv_nd(
        input, weight, bias, stride, padding, dilation, groups, 1, "semiring_conv1d",
        semiring=semiring, padding_value=padding_value,
    )  # fmt: skip


def semiring_conv2d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    semiring: str | Semiring,
    padding_value: float | None = None,
) -> torch.Tensor:
    """2-D semiring convolution: (b, g·c_in, H, W) ⊗ weight (g·c_out, c_in, kh, kw) → (b, g·c_out, h, w).

    ``semiring="plus-times"`` is ``conv2d``; ``"l1"`` is AdderNet's layer.

    >>> x, w = torch.randn(2, 4, 8, 8), torch.randn(6, 2, 3, 3)
    >>> semiring_conv2d(x, w, padding=1, groups=2, semiring="l1").shape
    torch.Size([2, 6, 8, 8])
    >>> torch.allclose(semiring_conv2d(x, w, groups=2, semiring="plus-times"),
    ...                torch.nn.functional.conv2d(x, w, groups=2), atol=1e-5)
    True
    """
    return semiring_conv_nd(
        input, weight, bias, stride, padding, dilation, groups, 2, "semiring_conv2d",
        semiring=semiring, padding_value=padding_value,
    )  # fmt: skip


def semiring_conv3d(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: Padding = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    *,
    semiring: str | Semiring,
    padding_value: float | None = None,
) -> torch.Tensor:
    """3-D semiring convolution: (b, g·c_in, D, H, W) ⊗ (g·c_out, c_in, kd, kh, kw) → (b, g·c_out, d, h, w).

    >>> semiring_conv3d(torch.randn(1, 2, 4, 5, 6), torch.randn(3, 2, 2, 2, 2), stride=2,
    ...                 semiring=get_semiring("logsumexp-plus", temperature=0.5)).shape
    torch.Size([1, 3, 2, 2, 3])
    """
    return semiring_conv_nd(
        input, weight, bias, stride, padding, dilation, groups, 3, "semiring_conv3d",
        semiring=semiring, padding_value=padding_value,
    )  # fmt: skip


def semiring_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    geometry: Geometry,
    groups: int,
    semiring: Semiring,
    padding_value: float | None = None,
    unbatched: bool = False,
) -> torch.Tensor:
    """Batched, validated arguments: x (b, g·c_in, *spatial) ⊗ weight over ``geometry``'s windows,
    computed by the schedule (``unbatched`` only tells the recorded step the caller's shape)::

        out[b, g, c_out, *o] = ⊕ over (c_in, *q) of windows[b, g, c_in, *o, *q] ⊗ weight[g, c_out, c_in, *q]
    """
    pad_value = semiring.padding_value_or_identity if padding_value is None else float(padding_value)
    problem = schedules.semiring.Problem(
        geometry, groups, weight.shape[1], weight.shape[0] // groups, pad_value
    )
    return schedules.semiring.semiring_conv(x, weight, bias, problem, semiring, unbatched)
