"""Activations, each written as its formula.

Every function here is elementwise (``glu`` halves one dim first; ``prelu`` broadcasts a weight
along the channel dim ``c``). Where a formula has branches, each branch is evaluated only on the
elements it owns (:func:`_piecewise`), so an overflow in an unused branch (``exp(800)``) cannot
turn a gradient into ``0 · inf = nan``. Branch points follow torch's kernels, so the gradient at a
kink (``relu`` at 0, ``hardtanh`` at its bounds, ``hardswish`` at ±3) is the one torch returns.

``inplace=True`` writes the result into ``input`` and returns ``input``, as torch does: the
formula runs on a copy of the input when autograd needs it, and autograd then sees one in-place
``copy_`` (so a leaf that requires grad refuses it with torch's own error).

dtypes follow torch's CPU kernels: half and bfloat16 are computed in float32 and rounded once;
integer input works where torch's does (``relu``, ``relu6`` and ``hardtanh`` keep the integer
dtype, ``sigmoid``, ``tanh``, ``softsign`` and ``tanhshrink`` give floats) and raises
NotImplementedError elsewhere.

One file for all of torch.nn's activations (about 670 lines): they share the branch, in-place and
low-precision helpers above, and each is a few lines; split, they would import each other.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .._args import check_floating, check_same_dtype, fail, normalize_dim, warn
from .softmax import softmax

__all__ = [
    "celu",
    "celu_",
    "elu",
    "elu_",
    "gelu",
    "glu",
    "gumbel_softmax",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "logsigmoid",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "sigmoid",
    "silu",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
    "threshold_",
]

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _float32(value: float) -> float:
    return float(torch.tensor(value, dtype=torch.float32))


# Two of torch's backward kernels use float32 constants for every dtype; they are reproduced
# (see _differentiated_as) so that float64 gradients match torch's to the last bits:
# hardsigmoid's slope is float32(1/6), celu's input scale is 1 / float32(alpha).
_HARDSIGMOID_SLOPE = _float32(1 / 6)
_LOW_PRECISION = (torch.float16, torch.bfloat16)
# how torch's C++ messages name the floating dtypes
_TORCH_DTYPE_NAMES = {
    torch.float64: "Double",
    torch.float32: "Float",
    torch.float16: "Half",
    torch.bfloat16: "BFloat16",
}


def _piecewise(
    condition: torch.Tensor,
    x: torch.Tensor,
    then: Callable[[torch.Tensor], torch.Tensor],
    otherwise: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """``then(x)`` where ``condition`` holds, ``otherwise(x)`` elsewhere; each branch sees 0 at the
    other branch's positions, so neither can overflow (and poison the gradient) where it is unused."""
    return torch.where(condition, then(torch.where(condition, x, 0)), otherwise(torch.where(condition, 0, x)))


def _differentiated_as(value: torch.Tensor, surrogate: torch.Tensor) -> torch.Tensor:
    """``value``, whose gradient is ``surrogate``'s. The surrogate equals the value up to rounding
    (``surrogate − surrogate`` adds an exact 0); it is used where autograd's derivative of the
    value's own formula is less exact than torch's kernel, or where torch's kernel rounds."""
    if not surrogate.requires_grad:
        return value
    return value.detach() + (surrogate - surrogate.detach())


def _apply(
    formula: Callable[[torch.Tensor], torch.Tensor],
    input: torch.Tensor,
    inplace: bool = False,
    floating_only: str | None = None,
) -> torch.Tensor:
    """``formula(input)``, or its result written into ``input`` when ``inplace``; half and bfloat16
    computed in float32 and rounded once. ``floating_only`` names an op that refuses integer input."""
    if floating_only is not None:
        check_floating(floating_only, input)
    if input.dtype in _LOW_PRECISION:
        low_precision_formula = formula

        def formula(x: torch.Tensor) -> torch.Tensor:
            return low_precision_formula(x.float()).to(x.dtype)

    if not inplace:
        return formula(input)
    source = input.clone() if input.requires_grad and torch.is_grad_enabled() else input
    return input.copy_(formula(source))


def relu(input: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """relu(x) = max(0, x); the gradient at 0 is 0, NaN stays NaN.

    >>> relu(torch.tensor([-1.0, 0.0, 2.0]))
    tensor([0., 0., 2.])
    """
    if input.dtype == torch.bool:
        raise RuntimeError("relu: Boolean inputs not supported for relu")
    return _apply(lambda x: torch.where(x <= 0, 0, x), input, inplace)


def relu6(input: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """relu6(x) = min(max(0, x), 6) = hardtanh(x, 0, 6).

    >>> relu6(torch.tensor([-1.0, 3.0, 7.0]))
    tensor([0., 3., 6.])
    """
    _check_hardtanh_input("relu6", input, 0)
    return _apply(lambda x: _hardtanh(x, 0, 6), input, inplace)


def _check_hardtanh_input(op: str, input: torch.Tensor, low: float) -> None:
    if input.dtype == torch.bool:
        raise RuntimeError(f"{op}: Bool inputs not supported for hardtanh")
    if input.dtype == torch.uint8 and low < 0:
        raise RuntimeError(f"{op}: cannot do hardtanh on an unsigned type with negative limits")


def _hardtanh(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    if math.isnan(low) or math.isnan(high):  # torch's clamp: a NaN bound makes every value NaN
        return x * math.nan
    if not x.is_floating_point():  # integer input keeps its dtype; the bounds truncate, as in torch
        low, high = int(low), int(high)
    return torch.where(x <= low, low, torch.where(x >= high, high, x))


def hardtanh(
    input: torch.Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> torch.Tensor:
    """hardtanh(x) = min(max(min_val, x), max_val); the gradient is 0 at and beyond the bounds.

    >>> hardtanh(torch.tensor([-3.0, 0.5, 3.0]))
    tensor([-1.0000,  0.5000,  1.0000])
    """
    if min_val > max_val:
        raise ValueError(
            f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val}, max_val={max_val}"
        )
    _check_hardtanh_input("hardtanh", input, min_val)
    return _apply(lambda x: _hardtanh(x, min_val, max_val), input, inplace)


def leaky_relu(input: torch.Tensor, negative_slope: float = 0.01, inplace: bool = False) -> torch.Tensor:
    """leaky_relu(x) = x if x > 0 else negative_slope · x.

    >>> leaky_relu(torch.tensor([-2.0, 3.0]), 0.5)
    tensor([-1.,  3.])

    In place with a negative slope, the backward raises RuntimeError, as torch's does (its
    backward recovers x from the result, which a negative slope makes ambiguous).
    """
    out = _apply(lambda x: torch.where(x > 0, x, x * negative_slope), input, inplace, "leaky_relu")
    if inplace and negative_slope < 0:
        _refuse_backward(out, "leaky_relu", "leakyReLu")
    return out


def _refuse_backward(out: torch.Tensor, op: str, kernel: str) -> None:
    """Make the backward through ``out`` raise, as torch's in-place backward does for a negative slope."""

    def refuse(grad: torch.Tensor) -> torch.Tensor:
        raise RuntimeError(
            f"{op}: In-place {kernel} backward calculation is triggered with a negative slope which is not "
            "supported. This is caused by calling in-place forward function with a negative slope, please "
            "call out-of-place version instead."
        )

    if out.requires_grad:
        out.register_hook(refuse)


def _elu(
    x: torch.Tensor,
    alpha: float,
    scale: float = 1.0,
    input_scale: float = 1.0,
    gradient_scale: tuple[float, float] | None = None,
) -> torch.Tensor:
    """scale · (x if x > 0 else alpha · (exp(x · input_scale) − 1)), torch's one ELU kernel.

    Below 0 it is differentiated as alpha · scale · s · exp(x · s′) with ``(s, s′) = gradient_scale``
    (``(input_scale, input_scale)`` unless celu's float32 quirk says otherwise), and never through
    expm1's own backward, which uses (result + 1) and so rounds eˣ to 0 below x ≈ −37.
    """
    negative = alpha * scale
    factor, exponent = gradient_scale or (input_scale, input_scale)

    def below(neg: torch.Tensor) -> torch.Tensor:
        value = torch.expm1(neg * input_scale) * negative
        surrogate = (torch.exp(neg * exponent) - 1) * (negative * factor / exponent)
        return _differentiated_as(value, surrogate)

    return _piecewise(x > 0, x, lambda pos: pos * scale, below)


def elu(input: torch.Tensor, alpha: float = 1.0, inplace: bool = False) -> torch.Tensor:
    """elu(x) = x if x > 0 else alpha · (exp(x) − 1).

    >>> elu(torch.tensor([-1.0, 2.0]))
    tensor([-0.6321,  2.0000])
    """
    out = _apply(lambda x: _elu(x, alpha), input, inplace, "elu")
    if inplace and alpha < 0:
        _refuse_backward(out, "elu", "elu")
    return out


def selu(input: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """selu(x) = scale · elu(x, alpha), alpha ≈ 1.6733, scale ≈ 1.0507.

    >>> selu(torch.tensor([-1.0, 1.0]))
    tensor([-1.1113,  1.0507])
    """
    return _apply(lambda x: _elu(x, SELU_ALPHA, SELU_SCALE), input, inplace, "selu")


def celu(input: torch.Tensor, alpha: float = 1.0, inplace: bool = False) -> torch.Tensor:
    """celu(x) = x if x > 0 else alpha · (exp(x / alpha) − 1).

    >>> celu(torch.tensor([-1.0, 1.0]), alpha=2.0)
    tensor([-0.7869,  1.0000])
    """
    if alpha == 0:
        raise RuntimeError("celu: ZeroDivisionError: alpha cannot be 0 for CELU")
    # torch's backward scales by 1 / float32(alpha); out of place also inside the exp, in place
    # (where it rebuilds exp(x / alpha) from the result) only outside
    inverse32 = 1.0 / _float32(alpha)
    gradient_scale = (inverse32, 1.0 / alpha) if inplace else (inverse32, inverse32)
    out = _apply(lambda x: _elu(x, alpha, 1.0, 1.0 / alpha, gradient_scale), input, inplace, "celu")
    if inplace and alpha < 0:
        _refuse_backward(out, "celu", "elu")
    return out


def _sigmoid(x: torch.Tensor) -> torch.Tensor:
    # 1 / (1 + e^-x), with e^x / (1 + e^x) for x < 0 so that no exp overflows
    return _piecewise(
        _real(x) >= 0,
        x,
        lambda pos: 1 / (1 + torch.exp(-pos)),
        lambda neg: torch.exp(neg) / (1 + torch.exp(neg)),
    )


def _as_floating(x: torch.Tensor) -> torch.Tensor:
    """Integer and bool input in the default float dtype, as torch's sigmoid and tanh promote it."""
    return x if x.is_floating_point() or x.is_complex() else x.to(torch.get_default_dtype())


def _real(x: torch.Tensor) -> torch.Tensor:
    """The real part of a complex ``x`` (where the branches of sigmoid and tanh split), else x."""
    return x.real if x.is_complex() else x


def sigmoid(input: torch.Tensor) -> torch.Tensor:
    """sigmoid(x) = 1 / (1 + exp(−x)).

    >>> sigmoid(torch.tensor([0.0, 2.0]))
    tensor([0.5000, 0.8808])
    """
    return _apply(_sigmoid, _as_floating(input))


def _tanh(x: torch.Tensor) -> torch.Tensor:
    # (1 − e^{−2x}) / (1 + e^{−2x}) for x ≥ 0 (expm1 keeps small x exact), odd for x < 0
    return _piecewise(
        _real(x) >= 0,
        x,
        lambda pos: -torch.expm1(-2 * pos) / (1 + torch.exp(-2 * pos)),
        lambda neg: torch.expm1(2 * neg) / (1 + torch.exp(2 * neg)),
    )


def tanh(input: torch.Tensor) -> torch.Tensor:
    """tanh(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ).

    >>> tanh(torch.tensor([0.0, 1.0]))
    tensor([0.0000, 0.7616])
    """
    return _apply(_tanh, _as_floating(input))


def tanhshrink(input: torch.Tensor) -> torch.Tensor:
    """tanhshrink(x) = x − tanh(x).

    >>> tanhshrink(torch.tensor([0.0, 1.0]))
    tensor([0.0000, 0.2384])
    """
    return input - tanh(input)  # torch's composite: two ops, each rounded in half precision


def softsign(input: torch.Tensor) -> torch.Tensor:
    """softsign(x) = x / (1 + |x|).

    >>> softsign(torch.tensor([-1.0, 3.0]))
    tensor([-0.5000,  0.7500])
    """
    return input / (input.abs() + 1)  # torch's composite: each op rounded in half precision


def softplus(input: torch.Tensor, beta: float = 1.0, threshold: float = 20.0) -> torch.Tensor:
    """softplus(x) = log(1 + exp(beta · x)) / beta, or x where beta · x > threshold.

    >>> softplus(torch.tensor([0.0, 30.0]))
    tensor([ 0.6931, 30.0000])
    """

    def formula(x: torch.Tensor) -> torch.Tensor:
        scaled = x * beta
        linear = scaled > threshold
        return torch.where(linear, x, torch.log1p(torch.exp(torch.where(linear, 0, scaled))) / beta)

    return _apply(formula, input, floating_only="softplus")


def _softplus_exact(x: torch.Tensor) -> torch.Tensor:
    # log(1 + eˣ) without overflow: x + log(1 + e⁻ˣ) for x > 0
    return _piecewise(
        x > 0, x, lambda pos: pos + torch.log1p(torch.exp(-pos)), lambda neg: torch.log1p(torch.exp(neg))
    )


def logsigmoid(input: torch.Tensor) -> torch.Tensor:
    """logsigmoid(x) = log(1 / (1 + exp(−x))) = −softplus(−x).

    >>> logsigmoid(torch.tensor([0.0, -100.0]))
    tensor([  -0.6931, -100.0000])
    """
    return _apply(lambda x: -_softplus_exact(-x), input, floating_only="logsigmoid").contiguous()  # as torch


def gelu(input: torch.Tensor, *, approximate: str = "none") -> torch.Tensor:
    """gelu(x) = x · Φ(x) = x · ½ · (1 + erf(x / √2));
    ``approximate='tanh'``: ½ · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))).

    >>> gelu(torch.tensor([1.0])), gelu(torch.tensor([1.0]), approximate="tanh")
    (tensor([0.8413]), tensor([0.8412]))
    """
    if approximate == "none":
        return _apply(lambda x: x * 0.5 * (1 + torch.erf(x * math.sqrt(0.5))), input, floating_only="gelu")
    if approximate == "tanh":
        return _apply(
            lambda x: 0.5 * x * (1 + _tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
            input,
            floating_only="gelu",
        )
    raise RuntimeError(
        f"gelu: approximate argument must be either none or tanh, got approximate={approximate!r}"
    )


def silu(input: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """silu(x) = x · sigmoid(x).

    >>> silu(torch.tensor([0.0, 1.0]))
    tensor([0.0000, 0.7311])
    """
    return _apply(lambda x: x * _sigmoid(x), input, inplace, None if input.is_complex() else "silu")


def mish(input: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """mish(x) = x · tanh(softplus(x)).

    >>> mish(torch.tensor([0.0, 1.0]))
    tensor([0.0000, 0.8651])
    """
    return _apply(lambda x: x * _tanh(_softplus_exact(x)), input, inplace, "mish")


def hardswish(input: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """hardswish(x) = x · relu6(x + 3) / 6: 0 (signed) for x ≤ −3, x for x ≥ 3, x · (x + 3) / 6 between.

    >>> hardswish(torch.tensor([-4.0, 1.0, 4.0]))
    tensor([-0.0000, 0.6667, 4.0000])
    """
    return _apply(
        lambda x: torch.where(x <= -3, x * 0, torch.where(x >= 3, x, x * (x + 3) / 6)),
        input,
        inplace,
        "hardswish",
    )


def _hardsigmoid(x: torch.Tensor) -> torch.Tensor:
    middle = _differentiated_as((x + 3) / 6, x * _HARDSIGMOID_SLOPE)
    return torch.where(x <= -3, 0, torch.where(x >= 3, 1, middle))


def hardsigmoid(input: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """hardsigmoid(x) = relu6(x + 3) / 6: 0 for x ≤ −3, 1 for x ≥ 3, (x + 3) / 6 between.

    >>> hardsigmoid(torch.tensor([-4.0, 0.0, 4.0]))
    tensor([0.0000, 0.5000, 1.0000])
    """
    return _apply(_hardsigmoid, input, inplace, "hardsigmoid")


def glu(input: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """glu(x) = a · sigmoid(b), where a, b are the two halves of ``input`` along ``dim``.

    >>> glu(torch.tensor([[1.0, 2.0, 0.0, 100.0]]))
    tensor([[0.5000, 2.0000]])
    """
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"glu: argument 'dim' (position 2) must be int, not {type(dim).__name__}")
    if input.ndim == 0:
        raise RuntimeError("glu: glu does not support scalars because halving size must be even")
    if not -input.ndim <= dim < input.ndim:
        raise IndexError(
            f"glu: Dimension out of range (expected to be in range of [{-input.ndim}, {input.ndim - 1}], "
            f"but got {dim})"
        )
    size = input.shape[dim]
    if size % 2:
        raise fail(
            RuntimeError,
            "glu",
            f"Halving dimension must be even, but dimension {dim % input.ndim} is size {size}",
            {"input": ("...", input.shape)},
        )

    def formula(x: torch.Tensor) -> torch.Tensor:
        a, b = x.narrow(dim, 0, size // 2), x.narrow(dim, size // 2, size // 2)  # the two halves
        return a * _sigmoid(b)

    return _apply(formula, input, floating_only="glu")


def prelu(input: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """prelu(x) = x if x > 0 else weight · x, one weight per channel (dim 1) or one for all.

    Legend: b batch, c channels. input (b, c, ...) or (c,)... · weight (c,) or (1,) or ().

    >>> prelu(torch.tensor([[-2.0, -2.0], [1.0, 1.0]]), torch.tensor([0.5, 0.25]))
    tensor([[-1.0000, -0.5000],
            [ 1.0000,  1.0000]])
    """
    if weight.ndim > 1:
        raise fail(
            RuntimeError,
            "prelu",
            f"Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}",
            {"weight": ("c", weight.shape)},
        )
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise fail(
            RuntimeError,
            "prelu",
            "Mismatch of parameter numbers and input channel size. "
            f"Found parameter numbers = {weight.numel()} and channel size = {channels}.",
            {"input": ("b c ...", input.shape), "weight": ("c", weight.shape)},
        )
    check_same_dtype("prelu", input=input, weight=weight)
    check_floating("prelu", input)
    if weight.numel() == 1:
        slope = weight.reshape(())
    else:
        slope = weight.reshape(channels, *([1] * (input.ndim - 2)))  # c 1 … 1, broadcast over b and space
    return _apply(lambda x: torch.where(x > 0, x, slope * x), input)


def threshold(input: torch.Tensor, threshold: float, value: float, inplace: bool = False) -> torch.Tensor:
    """threshold(x) = x if x > threshold else value (NaN stays NaN); integer input keeps its dtype
    and truncates ``threshold`` and ``value``, as torch's kernel does.

    >>> threshold(torch.tensor([-1.0, 0.5, 2.0]), 0.5, 9.0)
    tensor([9., 9., 2.])
    """
    if input.dtype == torch.bool or input.is_complex():
        raise NotImplementedError(f"threshold: not implemented for {input.dtype} input")
    if not input.is_floating_point():
        threshold, value = (_as_integer(number, input.dtype) for number in (threshold, value))
    return _apply(lambda x: torch.where(x <= threshold, value, x), input, inplace)


def _as_integer(number: float, dtype: torch.dtype) -> int:
    """``number`` as torch's kernel reads it for an integer ``dtype``: truncated; a float outside the
    dtype's range (or not finite) overflows; an int of an unsigned dtype may be negative, and wraps."""
    info = torch.iinfo(dtype)
    if isinstance(number, float) and not info.min <= number <= info.max:
        raise RuntimeError(
            f"threshold: value cannot be converted to type {dtype} without overflow, got {number}"
        )
    number = int(number)
    low = -info.max if info.min == 0 else info.min
    if not low <= number <= info.max:
        raise RuntimeError(
            f"threshold: value cannot be converted to type {dtype} without overflow, got {number}"
        )
    return number % (info.max + 1) if info.min == 0 else number


_threshold = threshold  # for threshold_, whose parameter shadows the op's name


def hardshrink(input: torch.Tensor, lambd: float = 0.5) -> torch.Tensor:
    """hardshrink(x) = x if |x| > lambd else 0 (0 also at ±lambd, where the gradient is 0).

    >>> hardshrink(torch.tensor([-1.0, 0.5, 0.2, 2.0]))
    tensor([-1.,  0.,  0.,  2.])
    """
    check_floating("hardshrink", input)
    return _apply(lambda x: torch.where((x >= -lambd) & (x <= lambd), 0, x), input)


def softshrink(input: torch.Tensor, lambd: float = 0.5) -> torch.Tensor:
    """softshrink(x) = x − lambd if x > lambd, x + lambd if x < −lambd, else 0 (signed: x · 0).

    >>> softshrink(torch.tensor([-1.0, 0.2, 2.0]))
    tensor([-0.5000,  0.0000,  1.5000])
    """
    check_floating("softshrink", input)
    largest = torch.finfo(input.dtype).max
    if not 0 <= lambd <= largest:
        raise RuntimeError(
            f"softshrink: lambda must be in range [0, {largest:.6g}] for input dtype "
            f"{_TORCH_DTYPE_NAMES.get(input.dtype, input.dtype)}, but found {lambd:.6g}"
        )
    return _apply(
        lambda x: torch.where(x > lambd, x - lambd, torch.where(x < -lambd, x + lambd, x * 0)), input
    )


def rrelu(
    input: torch.Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> torch.Tensor:
    """rrelu(x) = x if x > 0 else a · x: in training a ~ U(lower, upper) drawn per element (the
    gradient there is the drawn a), in evaluation a = (lower + upper) / 2, a leaky_relu.

    >>> rrelu(torch.tensor([-2.0, 3.0]), 0.25, 0.75)
    tensor([-1.,  3.])

    torch draws the slopes with its own kernel, so training-mode values match torch's in
    distribution only.
    """
    check_floating("rrelu", input)
    if lower > upper:
        raise RuntimeError(
            f"rrelu: Lower bound should be less than or equal to the upper bound, got lower={lower}, "
            f"upper={upper}"
        )
    if not training:
        out = leaky_relu(input, (lower + upper) / 2, inplace)
        return out if inplace else out.contiguous()  # torch's rrelu kernel writes a contiguous result
    slope = torch.empty_like(input).uniform_(lower, upper)  # one draw per element
    return _apply(lambda x: torch.where(x <= 0, x * slope.to(x.dtype), x), input, inplace)


def rrelu_(
    input: torch.Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> torch.Tensor:
    """``rrelu(input, lower, upper, training, inplace=True)``.

    >>> x = torch.tensor([-2.0, 3.0])
    >>> rrelu_(x, 0.25, 0.75) is x, x
    (True, tensor([-1.,  3.]))
    """
    return rrelu(input, lower, upper, training, inplace=True)


def gumbel_softmax(
    logits: torch.Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> torch.Tensor:
    """softmax((logits + g) / tau) along ``dim``, g = −log(e), e ~ Exp(1) i.i.d. (Gumbel noise);
    ``hard=True``: the one-hot of its argmax, with the soft sample's gradient (straight through).

    The noise is drawn as torch draws it (``exponential_`` on a tensor like ``logits``), so under
    the same seed the sample is torch's; :func:`gumbel_softmax_sample` is the formula given the noise.

    >>> y = gumbel_softmax(torch.zeros(4, 3), hard=True)
    >>> y.sum(-1)
    tensor([1., 1., 1., 1.])
    """
    if eps != 1e-10:
        warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    if not logits.is_floating_point():
        raise RuntimeError(f"gumbel_softmax: logits must be floating point, got {logits.dtype}")
    normalize_dim(dim, logits.ndim, "gumbel_softmax")
    gumbels = -torch.empty_like(logits, memory_format=torch.legacy_contiguous_format).exponential_().log()
    return gumbel_softmax_sample(logits, gumbels, tau, hard, dim)


def gumbel_softmax_sample(
    logits: torch.Tensor, gumbels: torch.Tensor, tau: float = 1, hard: bool = False, dim: int = -1
) -> torch.Tensor:
    """:func:`gumbel_softmax` for given Gumbel noise ``gumbels`` (same shape as ``logits``).

    >>> gumbel_softmax_sample(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 0.0]), hard=True)
    tensor([1., 0.])
    """
    soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return soft
    index = soft.argmax(dim, keepdim=True)  # the first maximum, as torch's max
    one_hot = torch.zeros_like(logits, memory_format=torch.legacy_contiguous_format).scatter_(dim, index, 1.0)
    return one_hot - soft.detach() + soft  # the value of one_hot, the gradient of soft


# In-place spellings, as torch.nn.functional has them: the op with inplace=True, returning input.


def relu_(input: torch.Tensor) -> torch.Tensor:
    """``relu(input, inplace=True)``: writes into ``input`` and returns it.

    >>> x = torch.tensor([-1.0, 2.0])
    >>> relu_(x) is x, x
    (True, tensor([0., 2.]))
    """
    return relu(input, inplace=True)


def elu_(input: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """``elu(input, alpha, inplace=True)``."""
    return elu(input, alpha, inplace=True)


def celu_(input: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """``celu(input, alpha, inplace=True)``."""
    return celu(input, alpha, inplace=True)


def selu_(input: torch.Tensor) -> torch.Tensor:
    """``selu(input, inplace=True)``."""
    return selu(input, inplace=True)


def leaky_relu_(input: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """``leaky_relu(input, negative_slope, inplace=True)``."""
    return leaky_relu(input, negative_slope, inplace=True)


def threshold_(input: torch.Tensor, threshold: float, value: float) -> torch.Tensor:
    """``threshold(input, threshold, value, inplace=True)``.

    >>> threshold_(torch.tensor([-1.0, 2.0]), 0.0, 5.0)
    tensor([5., 2.])
    """
    return _threshold(input, threshold, value, inplace=True)


def hardtanh_(input: torch.Tensor, min_val: float = -1.0, max_val: float = 1.0) -> torch.Tensor:
    """``hardtanh(input, min_val, max_val, inplace=True)``; as torch's kernel (which, unlike
    ``F.hardtanh``, does not check the bounds), min_val > max_val gives max_val everywhere.

    >>> hardtanh_(torch.tensor([-2.0, 0.7, 3.0]), 1.0, 0.5)
    tensor([0.5000, 0.5000, 0.5000])
    """
    return hardtanh(input, min(min_val, max_val), max_val, inplace=True)
