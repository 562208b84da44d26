"""The contraction core: multiply two tensors over named axes and sum the ones that vanish.

A spec names every axis, einops-style, with the legend's words::

    contract("b g c_in h w kh kw, g c_out c_in kh kw -> b g c_out h w", windows, weight)

Axes that appear in the output are kept, the others are summed. Two forms compute it:

* ``"literal"`` — the cheatsheet's form: align both operands on all axes, multiply with
  broadcasting, ``.sum()`` the contracted axes. The broadcast product can be huge, so it is
  computed in chunks that each stay under a temporary-memory budget (default 256 MiB).
* ``"fast"`` (default) — the same contraction without the broadcast product (``torch.einsum``,
  which lowers to a batched matrix multiply).

Choose the form for a block of code with ``scratchnn.settings(form=..., budget=...)`` (or its
older name :func:`contraction`); ops that have schedules of their own (``scratchnn/schedules/``)
read the same setting, so the literal form makes every op compute its formula as written.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import torch

from ._settings import FORMS, Settings, current_settings, scoped
from ._trace import is_recording, record

__all__ = ["FORMS", "contract", "contraction", "current_budget", "current_form"]


@contextmanager
def contraction(form: str | None = None, *, budget: int | None = None) -> Iterator[Settings]:
    """``scratchnn.settings(form=form, budget=budget)`` under its older name: select the form (and
    the literal form's memory budget) inside a block.

    >>> import torch, scratchnn
    >>> x, w = torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3)
    >>> with scratchnn.contraction("literal", budget=2**20):
    ...     slow = scratchnn.functional.conv2d(x, w)
    >>> torch.allclose(slow, scratchnn.functional.conv2d(x, w), atol=1e-5)
    True
    """
    with scoped({"form": form, "budget": budget}, "contraction") as chosen:
        yield chosen


def current_form() -> str:
    """The form in effect, ``"fast"`` or ``"literal"``: ``current_settings().form``."""
    return current_settings().form


def current_budget() -> int:
    """The literal form's temporary-memory budget in bytes: ``current_settings().budget``."""
    return current_settings().budget


@dataclass(frozen=True)
class Spec:
    left: tuple[str, ...]
    right: tuple[str, ...]
    out: tuple[str, ...]
    summed: tuple[str, ...]
    einsum: str  # the same spec in torch.einsum's one-letter notation


def parse(spec: str) -> Spec:
    """Parse ``"a b c, c d -> a b d"`` (cached in eager mode; traced as plain Python under
    ``torch.compile``, which does not trace through ``lru_cache``).

    >>> parse("b i, o i -> b o").einsum
    'ab,cb->ac'
    """
    return _parse(spec) if torch.compiler.is_compiling() else _parse_cached(spec)


def _parse(spec: str) -> Spec:
    inputs, arrow, output = spec.partition("->")
    operands = inputs.split(",")
    if not arrow or len(operands) != 2:
        raise ValueError(f"contract: spec must read 'x y, y z -> x z', got {spec!r}")
    left, right, out = (tuple(part.split()) for part in (*operands, output))
    for axes in (left, right, out):
        if len(set(axes)) != len(axes):
            raise ValueError(f"contract: an axis repeats within one operand in {spec!r}")
    if not set(out) <= set(left) | set(right):
        raise ValueError(f"contract: output axes {set(out) - set(left) - set(right)} appear in no input")
    names = list(dict.fromkeys(left + right + out))
    if len(names) > 52:
        raise ValueError(f"contract: at most 52 axes, got {len(names)}")
    letter = {name: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[i] for i, name in enumerate(names)}
    summed = tuple(name for name in dict.fromkeys(left + right) if name not in out)
    einsum = "{},{}->{}".format(*("".join(letter[a] for a in axes) for axes in (left, right, out)))
    return Spec(left, right, out, summed, einsum)


_parse_cached = lru_cache(maxsize=1024)(_parse)


def contract(spec: str, left: torch.Tensor, right: torch.Tensor, *, form: str | None = None) -> torch.Tensor:
    """Multiply ``left`` and ``right`` over the named axes of ``spec``, summing the vanishing ones.

    Size-1 axes broadcast against the other operand, as in torch.

    >>> a, b = torch.randn(2, 3), torch.randn(3, 4)
    >>> torch.allclose(contract("m n, n p -> m p", a, b), a @ b, atol=1e-6)
    True
    >>> torch.allclose(contract("m n, n p -> m p", a, b, form="literal"), a @ b, atol=1e-6)
    True
    """
    parsed = parse(spec)
    for operand, axes, side in ((left, parsed.left, "left"), (right, parsed.right, "right")):
        if operand.ndim != len(axes):
            raise ValueError(
                f"contract: the {side} operand has shape {tuple(operand.shape)} but {spec!r} names "
                f"{len(axes)} axes"
            )
    sizes = _sizes(parsed, left, right, spec)
    form = form or current_form()
    if is_recording():
        record(
            "contract",
            spec,
            [left, right],
            [sizes[a] for a in parsed.out],
            bindings=sizes,
            literal_bytes=math.prod(sizes.values()) * left.element_size(),
            note=f"computed in the {form} form",
        )
    if form == "fast":
        return torch.einsum(parsed.einsum, left, right)
    if form == "literal":
        order = parsed.out + parsed.summed
        aligned_left, aligned_right = _align(left, parsed.left, order), _align(right, parsed.right, order)
        return _product_sum(aligned_left, aligned_right, len(parsed.out), current_budget())
    raise ValueError(f"contract: form must be one of {FORMS}, got form={form!r}")


def _sizes(parsed: Spec, left: torch.Tensor, right: torch.Tensor, spec: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for operand, axes in ((left, parsed.left), (right, parsed.right)):
        for name, size in zip(axes, operand.shape):
            known = sizes.get(name, 1)
            if known != size and 1 not in (known, size):
                raise RuntimeError(
                    f"contract: axis {name!r} has size {known} in one operand and {size} in the other "
                    f"({spec!r}, shapes {tuple(left.shape)} and {tuple(right.shape)})"
                )
            sizes[name] = max(known, size) if 1 in (known, size) else size
    return sizes


def _align(operand: torch.Tensor, axes: tuple[str, ...], order: tuple[str, ...]) -> torch.Tensor:
    """View ``operand`` with one axis per name in ``order``: permuted, size 1 where it lacks one."""
    present = [name for name in order if name in axes]
    operand = operand.permute([axes.index(name) for name in present])
    return operand.reshape([operand.shape[present.index(name)] if name in axes else 1 for name in order])


def _product_sum(left: torch.Tensor, right: torch.Tensor, kept: int, budget: int) -> torch.Tensor:
    """``(left * right).sum(the axes after the first `kept`)``, in chunks of at most ``budget`` bytes.

    When the broadcast product would exceed the budget, split its largest axis and recurse: a
    kept axis concatenates the pieces, a summed axis adds them.
    """
    shape = torch.broadcast_shapes(left.shape, right.shape)
    dtype = torch.promote_types(left.dtype, right.dtype)
    nbytes = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
    axis = max(range(len(shape)), key=lambda i: shape[i], default=0)
    if nbytes <= budget or not shape or shape[axis] <= 1:
        product = left * right
        summed = tuple(range(kept, product.ndim))
        if not summed:
            return product
        return product.sum(summed, dtype=None if dtype.is_floating_point or dtype.is_complex else dtype)
    pieces = min(shape[axis], math.ceil(nbytes / budget))
    step = math.ceil(shape[axis] / pieces)
    parts = [
        _product_sum(_narrow(left, axis, start, step), _narrow(right, axis, start, step), kept, budget)
        for start in range(0, shape[axis], step)
    ]
    if axis < kept:
        return torch.cat(parts, dim=axis)
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def _narrow(operand: torch.Tensor, axis: int, start: int, length: int) -> torch.Tensor:
    if operand.shape[axis] == 1:  # broadcast along this axis: every chunk sees the same slice
        return operand
    return operand.narrow(axis, start, min(length, operand.shape[axis] - start))
