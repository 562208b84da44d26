"""``Linear``, ``LazyLinear`` and ``Identity``: torch.nn's constructors, parameters and state_dict."""

from __future__ import annotations

import math
from typing import Any, cast

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import UninitializedParameter

from .. import functional as F

__all__ = ["Identity", "LazyLinear", "Linear"]


class Linear(nn.Module):
    """``torch.nn.Linear`` from scratch: (..., i) → (..., o), weight (o, i), bias (o,).

    >>> import torch
    >>> Linear(3, 4)(torch.randn(2, 5, 3)).shape
    torch.Size([2, 5, 4])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        for label, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"Linear: {label} must be a non-negative int, got {label}={value!r}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features, device=device, dtype=dtype))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's initialization: Kaiming-uniform weight (a=√5), bias uniform in ±1/√fan_in."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )


class Identity(nn.Module):
    """``torch.nn.Identity``: returns its input; any constructor arguments are ignored."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__()

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return input


class LazyLinear(LazyModuleMixin, Linear):
    """``torch.nn.LazyLinear``: a :class:`Linear` whose ``in_features`` is read from the first
    input's last dim; until then ``weight`` and ``bias`` are uninitialized, afterwards the module
    is a :class:`Linear` (torch's ``LazyModuleMixin`` with ``cls_to_become``).

    >>> layer = LazyLinear(4)
    >>> layer(torch.randn(2, 3)).shape, type(layer).__name__, layer.weight.shape
    (torch.Size([2, 4]), 'Linear', torch.Size([4, 3]))
    """

    cls_to_become = Linear

    def __init__(
        self,
        out_features: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        super().__init__(0, 0, False)  # no bias yet: it would be replaced at once
        self.weight = UninitializedParameter(**factory)  # type: ignore[assignment]
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(**factory)  # type: ignore[assignment]

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: torch.Tensor) -> None:  # type: ignore[override]
        if self.has_uninitialized_params():
            with torch.no_grad():
                self.in_features = input.shape[-1]
                cast(UninitializedParameter, self.weight).materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    cast(UninitializedParameter, self.bias).materialize((self.out_features,))
                self.reset_parameters()
