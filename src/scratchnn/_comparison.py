"""The one comparison core: how scratchnn is held against torch, everywhere.

``scratchnn check``, ``scratchnn.compare``, ``scratchnn.explain`` and the test suite's
``assert_matches_torch`` all measure agreement here, with one tolerance table and one error::

    error(ours, torch) = max over elements of |ours − torch| / (scale + |torch|),
                         scale = max(1, max |torch|)  (finite values)

Two tensors agree when ``error ≤ TOLERANCES[dtype]``: relative for large values, absolute near
zero (a gradient that is zero up to rounding does not read as a 100 % error), NaN where torch has
NaN, the same infinities. With separate tolerances the test is elementwise,
``|ours − torch| ≤ atol · scale + rtol · |torch|``.

:func:`run_both` runs two callables on private copies of the same arguments, with the same random
seed, and backs both up with the same random cotangent: the outputs and gradients it returns are
what every caller compares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["TOLERANCES", "Run", "error", "leaves", "mismatch", "run_both", "tensors_in", "tolerance"]

# The largest error accepted, per dtype: the test suite's, check's, compare's and explain's.
TOLERANCES = {
    torch.float64: 1e-10,
    torch.float32: 1e-5,
    torch.float16: 1e-2,
    torch.bfloat16: 5e-2,
    torch.complex128: 1e-10,
    torch.complex64: 1e-5,
}


def tolerance(dtype: torch.dtype) -> float:
    """The tolerance of ``dtype`` (0 for integers and bools: they must be equal).

    >>> tolerance(torch.float32), tolerance(torch.int64)
    (1e-05, 0.0)
    """
    return TOLERANCES.get(dtype, 0.0)


def tensors_in(value: Any) -> list[torch.Tensor]:
    """Every tensor in a (nested) tuple, list or dict, in order."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, tuple | list):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v)]
    return []


def leaves(value: Any, grad: bool, device: torch.device | str | None = None) -> Any:
    """A private copy of ``value`` (tensors cloned, on ``device`` if given); floating-point and
    complex tensors require grad when ``grad``."""

    def copy(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            leaf = value.detach().to(device, copy=True) if device is not None else value.detach().clone()
            return leaf.requires_grad_(grad and (leaf.is_floating_point() or leaf.is_complex()))
        if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple (PackedSequence …)
            return type(value)(*(copy(v) for v in value))
        if isinstance(value, tuple | list):
            return type(value)(copy(v) for v in value)
        if isinstance(value, dict):
            return {k: copy(v) for k, v in value.items()}
        return value

    return copy(value)


def mismatch(
    actual: torch.Tensor, expected: torch.Tensor, rtol: float = 1.0, atol: float = 1.0
) -> tuple[float, tuple[int, ...] | None]:
    """The largest ``|actual − expected| / (atol · scale + rtol · |expected|)`` over the elements
    (at most 1 means close), and where it is (None when it is 0). Shapes must match.

    >>> mismatch(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]))     # 0.5 / (2.5 + 2.5)
    (0.1, (1,))
    >>> mismatch(torch.tensor([float("nan"), float("inf")]), torch.tensor([float("nan"), float("inf")]))
    (0.0, None)
    """
    if actual.numel() == 0:
        return 0.0, None
    wide = torch.complex128 if actual.is_complex() or expected.is_complex() else torch.float64
    a, b = actual.detach().to(wide), expected.detach().to(wide)
    magnitude = b.abs()
    finite = magnitude[magnitude.isfinite()]
    scale = max(1.0, float(finite.max())) if finite.numel() else 1.0
    difference = (a - b).abs()
    same = (a == b) | (a.isnan() & b.isnan())  # equal infinities, NaN where torch has NaN
    ratio = torch.where(same, 0.0, difference / (atol * scale + rtol * magnitude))
    ratio = ratio.nan_to_num(nan=torch.inf)  # inf against a finite value, or NaN against a number
    worst = int(ratio.argmax())
    value = float(ratio.flatten()[worst])
    where = tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), ratio.shape)) if value else None
    return value, where


def error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """The error of the module docstring (``mismatch`` with rtol = atol = 1).

    >>> error(torch.tensor([2.0, 0.5]), torch.tensor([2.0, 0.0]))        # 0.5 / (max(1, 2) + 0)
    0.25
    """
    return mismatch(actual, expected)[0]


@dataclass
class Run:
    """Both sides of one comparison: outputs, and the gradients of the inputs that require grad
    (``None`` where a side has none), in the same order on both sides; ``value`` is what our
    callable returned."""

    value: Any
    ours: list[torch.Tensor]
    theirs: list[torch.Tensor]
    grads_ours: list[torch.Tensor | None]
    grads_theirs: list[torch.Tensor | None]


def run_both(
    ours: Callable[..., Any],
    theirs: Callable[..., Any],
    args: tuple,
    kwargs: dict,
    *,
    grad: bool = True,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> Run:
    """``ours(*args, **kwargs)`` and ``theirs(*args, **kwargs)``, each on its own copy of the
    arguments (so in-place ops cannot leak between them) after ``torch.manual_seed(seed)`` (so
    ops that draw random numbers draw the same ones); with ``grad``, both backed up with one
    random cotangent (drawn from a generator seeded ``seed + 1``) for the outputs that require
    grad on torch's side. Raises AssertionError when the outputs differ in number, shape or
    dtype, or when only one side has a gradient."""
    sides = []
    for fn in (ours, theirs):
        call_args, call_kwargs = leaves(args, grad, device), leaves(kwargs, grad, device)
        torch.manual_seed(seed)
        value = fn(*call_args, **call_kwargs)
        sides.append((call_args, call_kwargs, value, tensors_in(value)))
    (args_a, kwargs_a, value, out_a), (args_b, kwargs_b, _, out_b) = sides
    layout_a = [(tuple(t.shape), t.dtype) for t in out_a]
    layout_b = [(tuple(t.shape), t.dtype) for t in out_b]
    if layout_a != layout_b:
        raise AssertionError(f"outputs differ in number, shape or dtype: ours {layout_a}, torch's {layout_b}")
    run = Run(value, [t.detach() for t in out_a], [t.detach() for t in out_b], [], [])
    pairs = [(a, b) for a, b in zip(out_a, out_b) if b.requires_grad]
    if not grad or not pairs:
        return run
    if not all(a.requires_grad for a, _ in pairs):
        raise AssertionError("torch's output has a gradient, ours does not")
    generator = torch.Generator().manual_seed(seed + 1)
    cotangents = [torch.randn(b.shape, generator=generator, dtype=b.dtype).to(b.device) for _, b in pairs]
    inputs_a = [t for t in tensors_in([args_a, kwargs_a]) if t.requires_grad]
    inputs_b = [t for t in tensors_in([args_b, kwargs_b]) if t.requires_grad]
    run.grads_ours = list(torch.autograd.grad([a for a, _ in pairs], inputs_a, cotangents, allow_unused=True))
    run.grads_theirs = list(
        torch.autograd.grad([b for _, b in pairs], inputs_b, cotangents, allow_unused=True)
    )
    return run
