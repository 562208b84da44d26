"""The semiring algebra: pairs (⊗, ⊕) a convolution can run over.

A :class:`Semiring` is an elementwise ``combine(x, w)`` (⊗) and a ``reduce`` (⊕) named from
``"sum"``, ``"max"``, ``"min"``, ``"logsumexp"``; the built-in ones are named in
:data:`SEMIRINGS` (see ``functional/semiring.py`` for the table). Both the family
(``functional/semiring.py``) and its schedule (``schedules/semiring.py``) speak this vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

__all__ = ["REDUCTIONS", "SEMIRINGS", "Semiring", "get_semiring"]

# The identity of each reduction: the padding value and the value of an empty reduction.
REDUCTIONS = {"sum": 0.0, "max": -math.inf, "min": math.inf, "logsumexp": -math.inf}


# --------------------------------------------------------------------------------------------
# Semirings


def _plus(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return x + w


def _times(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return x * w


def _plus_absorbing_minus_inf(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """x + w with −inf absorbing (−inf + +inf = −inf, not NaN): a −inf weight is a missing tap."""
    return torch.where(w == -math.inf, w, x + w)


def _plus_absorbing_plus_inf(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """x + w with +inf absorbing: a +inf weight is a missing tap of a min-plus element."""
    return torch.where(w == math.inf, w, x + w)


def _plus_vjp(x: torch.Tensor, w: torch.Tensor, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return grad, grad


@dataclass(frozen=True)
class _NegativeDistance:
    """``-|x − w|^p`` (p = 1: AdderNet's ``-|x − w|``)."""

    p: float

    def __call__(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return -self.distance(x, w)

    def distance(self, x: torch.Tensor, w: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """``|x − w|^p``, in place on the difference (the forward negates the reduced sum instead),
        written into ``out`` when given."""
        distance = torch.sub(x, w, out=out).abs_()
        return distance if self.p == 1 else distance.pow_(self.p)


@dataclass(frozen=True)
class _NegativeDistanceVjp:
    """Gradients of ``-|x − w|^p`` times ``grad``: exact (``∓p·|x − w|^(p−1)·sign(x − w)``), or
    AdderNet's modified ones for p = 1 (``x − w`` for w, ``HardTanh(w − x)`` for x)."""

    p: float
    adder: bool = False

    def __call__(
        self, x: torch.Tensor, w: torch.Tensor, grad: torch.Tensor, out: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, float]:
        """(grad for x, grad for w, a scale the caller applies to x's grad once reduced): the exact
        gradients share one tensor, ∂/∂x = −∂/∂w, so the sign is applied after the reduction."""
        difference = torch.sub(x, w, out=out)
        if self.adder:
            return (-difference).clamp_(-1, 1).mul_(grad), difference.mul_(grad), 1.0
        if self.p == 1:
            toward_w = difference.sign_().mul_(grad)  # ∂(-|x − w|)/∂w · grad
        else:
            toward_w = difference.abs().pow_(self.p - 1).mul_(difference.sign_()).mul_(grad).mul_(self.p)
        return toward_w, toward_w, -1.0


@dataclass(frozen=True)
class Semiring:
    """A pair (⊗, ⊕): ``combine(x, w)`` elementwise, then ``reduce`` over (c_in, kernel offsets).

    * ``combine``: an elementwise, broadcasting, differentiable function of (input, weight).
    * ``reduce``: ``"sum"``, ``"max"``, ``"min"`` or ``"logsumexp"`` (with ``temperature`` T:
      ``T·log Σ exp(v / T)``).
    * ``padding_value``: the value padded inputs take; default the identity of ``reduce``.
    * ``vjp`` (optional): ``vjp(x, w, grad) -> (grad_x, grad_w)``, the gradients of ``combine``
      times ``grad`` with the broadcast shape (summed down by the caller). It may return a third
      item, a number that multiplies ``grad_x`` after the summing (the AdderNet gradient of the
      built-in ``"l1"`` uses it). Without ``vjp`` the backward differentiates ``combine`` with
      autograd, block by block.

    >>> Semiring("max-times", torch.mul, "max").padding_value_or_identity
    -inf
    """

    name: str
    combine: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    reduce: str = "sum"
    padding_value: float | None = None
    temperature: float = 1.0
    # the built-in _NegativeDistanceVjp also returns a third item, a scale for grad_x
    vjp: (
        Callable[
            [torch.Tensor, torch.Tensor, torch.Tensor],
            tuple[torch.Tensor, torch.Tensor] | tuple[torch.Tensor, torch.Tensor, float],
        ]
        | None
    ) = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"Semiring: name must be a string, got name={self.name!r}")
        if not callable(self.combine):
            raise TypeError(f"Semiring {self.name!r}: combine must be callable, got combine={self.combine!r}")
        if self.reduce not in REDUCTIONS:
            raise ValueError(
                f"Semiring {self.name!r}: reduce must be one of {tuple(REDUCTIONS)}, "
                f"got reduce={self.reduce!r}"
            )
        if not (isinstance(self.temperature, int | float) and self.temperature > 0):
            raise ValueError(
                f"Semiring {self.name!r}: temperature must be a positive number, "
                f"got temperature={self.temperature!r}"
            )

    @property
    def identity(self) -> float:
        """The identity of ⊕ (0, -inf, +inf, -inf)."""
        return REDUCTIONS[self.reduce]

    @property
    def padding_value_or_identity(self) -> float:
        return self.identity if self.padding_value is None else self.padding_value


def _plus_times() -> Semiring:
    return Semiring("plus-times", _times, "sum")


def _max_plus() -> Semiring:
    return Semiring("max-plus", _plus, "max", vjp=_plus_vjp)


def _min_plus() -> Semiring:
    return Semiring("min-plus", _plus, "min", vjp=_plus_vjp)


def _logsumexp_plus(temperature: float = 1.0) -> Semiring:
    return Semiring("logsumexp-plus", _plus, "logsumexp", temperature=temperature, vjp=_plus_vjp)


def _l1(gradient: str = "exact") -> Semiring:
    if gradient not in ("exact", "adder"):
        raise ValueError(f"semiring 'l1': gradient must be 'exact' or 'adder', got gradient={gradient!r}")
    return Semiring("l1", _NegativeDistance(1), "sum", vjp=_NegativeDistanceVjp(1, gradient == "adder"))


def _lp(p: float = 2.0) -> Semiring:
    if isinstance(p, bool) or not isinstance(p, int | float) or not p >= 1:
        raise ValueError(f"semiring 'lp': p must be a number >= 1, got p={p!r}")
    return Semiring("lp", _NegativeDistance(float(p)), "sum", vjp=_NegativeDistanceVjp(float(p)))


SEMIRINGS: dict[str, Callable[..., Semiring]] = {
    "plus-times": _plus_times,
    "max-plus": _max_plus,
    "min-plus": _min_plus,
    "logsumexp-plus": _logsumexp_plus,
    "l1": _l1,
    "lp": _lp,
}


def get_semiring(semiring: str | Semiring, **options: object) -> Semiring:
    """A built-in semiring by name, with its options (``temperature`` for ``logsumexp-plus``,
    ``gradient`` for ``l1``, ``p`` for ``lp``); a :class:`Semiring` passes through.

    >>> get_semiring("lp", p=3).combine(torch.tensor(1.0), torch.tensor(3.0))
    tensor(-8.)
    >>> get_semiring("max-times")
    Traceback (most recent call last):
      ...
    ValueError: unknown semiring 'max-times'; built-in: plus-times, max-plus, min-plus, logsumexp-plus, l1, lp
    """
    if isinstance(semiring, Semiring):
        if options:
            raise TypeError(f"get_semiring: options {sorted(options)} apply to built-in names only")
        return semiring
    if not isinstance(semiring, str):
        raise TypeError(f"semiring must be a name or a Semiring, got semiring={semiring!r}")
    if semiring not in SEMIRINGS:
        raise ValueError(f"unknown semiring {semiring!r}; built-in: {', '.join(SEMIRINGS)}")
    try:
        return SEMIRINGS[semiring](**options)
    except TypeError:
        raise TypeError(f"semiring {semiring!r} takes no options {sorted(options)}") from None
