"""Activation modules: torch.nn's constructors, attributes and reprs; forward is one call into
``scratchnn.functional``."""

from __future__ import annotations

import warnings
from typing import ClassVar

import torch
from torch import nn

from .. import functional as F

__all__ = [
    "CELU",
    "ELU",
    "GELU",
    "GLU",
    "SELU",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSigmoid",
    "Mish",
    "PReLU",
    "RReLU",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softplus",
    "Softshrink",
    "Softsign",
    "Tanh",
    "Tanhshrink",
    "Threshold",
]


class _Inplace(nn.Module):
    """An activation whose only option is ``inplace``; ``function`` is its functional twin."""

    __constants__: ClassVar[list[str]] = ["inplace"]
    inplace: bool

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def function(self, input: torch.Tensor, inplace: bool) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.function(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """``torch.nn.ReLU``: max(0, x).

    >>> ReLU(inplace=True)
    ReLU(inplace=True)
    """

    function = staticmethod(F.relu)


class SELU(_Inplace):
    """``torch.nn.SELU``: scale · elu(x, alpha)."""

    function = staticmethod(F.selu)


class SiLU(_Inplace):
    """``torch.nn.SiLU``: x · sigmoid(x)."""

    function = staticmethod(F.silu)


class Mish(_Inplace):
    """``torch.nn.Mish``: x · tanh(softplus(x))."""

    function = staticmethod(F.mish)


class Hardswish(_Inplace):
    """``torch.nn.Hardswish``: x · relu6(x + 3) / 6 (its repr never shows ``inplace``, as torch's)."""

    function = staticmethod(F.hardswish)

    def extra_repr(self) -> str:
        return ""


class Hardsigmoid(_Inplace):
    """``torch.nn.Hardsigmoid``: relu6(x + 3) / 6 (its repr never shows ``inplace``, as torch's)."""

    function = staticmethod(F.hardsigmoid)

    def extra_repr(self) -> str:
        return ""


class Hardtanh(nn.Module):
    """``torch.nn.Hardtanh``: min(max(min_val, x), max_val).

    >>> Hardtanh(-2.0, 2.0)
    Hardtanh(min_val=-2.0, max_val=2.0)
    """

    __constants__: ClassVar[list[str]] = ["min_val", "max_val", "inplace"]

    def __init__(
        self,
        min_val: float = -1.0,
        max_val: float = 1.0,
        inplace: bool = False,
        min_value: float | None = None,
        max_value: float | None = None,
    ) -> None:
        super().__init__()
        if min_value is not None:
            warnings.warn(
                "keyword argument `min_value` is deprecated and renamed to `min_val`", FutureWarning, 2
            )
            min_val = min_value
        if max_value is not None:
            warnings.warn(
                "keyword argument `max_value` is deprecated and renamed to `max_val`", FutureWarning, 2
            )
            max_val = max_value
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace
        if self.max_val <= self.min_val:
            raise AssertionError(
                f"Hardtanh: max_val ({self.max_val}) must be greater than min_val ({self.min_val})"
            )

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace}"


class ReLU6(Hardtanh):
    """``torch.nn.ReLU6``: a ``Hardtanh(0, 6)``, as in torch."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(nn.Module):
    """``torch.nn.LeakyReLU``: x if x > 0 else negative_slope · x."""

    __constants__: ClassVar[list[str]] = ["inplace", "negative_slope"]

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"negative_slope={self.negative_slope}{inplace}"


class _Alpha(nn.Module):
    """An activation with ``alpha`` and ``inplace``."""

    __constants__: ClassVar[list[str]] = ["alpha", "inplace"]

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"alpha={self.alpha}{inplace}"


class ELU(_Alpha):
    """``torch.nn.ELU``: x if x > 0 else alpha · (exp(x) − 1)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.elu(input, self.alpha, self.inplace)


class CELU(_Alpha):
    """``torch.nn.CELU``: x if x > 0 else alpha · (exp(x / alpha) − 1)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.celu(input, self.alpha, self.inplace)


class GELU(nn.Module):
    """``torch.nn.GELU``: x · Φ(x), or its tanh approximation.

    >>> GELU(approximate="tanh")
    GELU(approximate='tanh')
    """

    __constants__: ClassVar[list[str]] = ["approximate"]

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(nn.Module):
    """``torch.nn.Softplus``: log(1 + exp(beta · x)) / beta, linear above ``threshold``."""

    __constants__: ClassVar[list[str]] = ["beta", "threshold"]

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class GLU(nn.Module):
    """``torch.nn.GLU``: a · sigmoid(b) over the two halves of ``dim``."""

    __constants__: ClassVar[list[str]] = ["dim"]

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class _Plain(nn.Module):
    """An activation without options."""

    def function(self, input: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.function(input)


class Sigmoid(_Plain):
    """``torch.nn.Sigmoid``: 1 / (1 + exp(−x))."""

    function = staticmethod(F.sigmoid)


class Tanh(_Plain):
    """``torch.nn.Tanh``."""

    function = staticmethod(F.tanh)


class LogSigmoid(_Plain):
    """``torch.nn.LogSigmoid``: −softplus(−x)."""

    function = staticmethod(F.logsigmoid)


class Softsign(_Plain):
    """``torch.nn.Softsign``: x / (1 + |x|)."""

    function = staticmethod(F.softsign)


class Tanhshrink(_Plain):
    """``torch.nn.Tanhshrink``: x − tanh(x)."""

    function = staticmethod(F.tanhshrink)


class PReLU(nn.Module):
    """``torch.nn.PReLU``: x if x > 0 else weight · x, with ``num_parameters`` learned slopes
    (1, or one per channel), initialized to ``init``.

    >>> PReLU(3)(torch.randn(2, 3, 5)).shape
    torch.Size([2, 3, 5])
    """

    __constants__: ClassVar[list[str]] = ["num_parameters"]
    num_parameters: int

    def __init__(
        self,
        num_parameters: int = 1,
        init: float = 0.25,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.num_parameters = num_parameters
        super().__init__()
        self.init = init
        self.weight = nn.Parameter(torch.empty(num_parameters, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.constant_(self.weight, self.init)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Threshold(nn.Module):
    """``torch.nn.Threshold``: x if x > threshold else value.

    >>> Threshold(0.1, 20.0)
    Threshold(threshold=0.1, value=20.0)
    """

    __constants__: ClassVar[list[str]] = ["threshold", "value", "inplace"]

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"threshold={self.threshold}, value={self.value}{inplace}"


class _Shrink(nn.Module):
    """An activation with one option, ``lambd``, shown bare in the repr (as torch's)."""

    __constants__: ClassVar[list[str]] = ["lambd"]
    lambd: float

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(_Shrink):
    """``torch.nn.Hardshrink``: x if |x| > lambd else 0.

    >>> Hardshrink()
    Hardshrink(0.5)
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.hardshrink(input, self.lambd)


class Softshrink(_Shrink):
    """``torch.nn.Softshrink``: x ∓ lambd outside [−lambd, lambd], 0 inside."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.softshrink(input, self.lambd)


class RReLU(nn.Module):
    """``torch.nn.RReLU``: x if x > 0 else a · x, a ~ U(lower, upper) in training, their mean in eval.

    >>> RReLU(0.1, 0.3)
    RReLU(lower=0.1, upper=0.3)
    """

    __constants__: ClassVar[list[str]] = ["lower", "upper", "inplace"]

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"lower={self.lower}, upper={self.upper}{inplace}"
