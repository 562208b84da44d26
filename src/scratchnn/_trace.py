"""Step recording: how an op explains itself from its own implementation.

The core primitives (:func:`rearrange` below, the window view in ``_windows.py``, the
contraction in ``_contract.py``, ``pad``) call :func:`record` as they run. Normally that is a
no-op: one context-variable lookup. Inside :func:`recording`, each call appends a :class:`Step`
with the concrete shapes of the run, so ``scratchnn.explain`` shows exactly what the op did,
never a second hand-written copy of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import einops
import torch

__all__ = ["Step", "record", "recording", "rearrange"]


@dataclass
class Step:
    """One step of an op: what ran, on which shapes, and what it cost in literal form."""

    kind: str  # "rearrange", "windows", "contract", "pad", "op"
    text: str  # the pattern, formula or call
    inputs: list[tuple[int, ...]]
    output: tuple[int, ...]
    bindings: dict[str, int] = field(default_factory=dict)  # legend letters bound to sizes
    literal_bytes: int = 0  # temporary memory this step takes in literal form (0: a view)
    note: str = ""


_steps: ContextVar[list[Step] | None] = ContextVar("scratchnn_steps", default=None)


def is_recording() -> bool:
    return _steps.get() is not None


def record(
    kind: str,
    text: str,
    inputs: Sequence[torch.Tensor | Sequence[int]],
    output: torch.Tensor | Sequence[int],
    *,
    bindings: dict[str, int] | None = None,
    literal_bytes: int = 0,
    note: str = "",
) -> None:
    """Append a step to the active recording, if any."""
    steps = _steps.get()
    if steps is None:
        return
    steps.append(
        Step(
            kind,
            text,
            [tuple(t.shape) if isinstance(t, torch.Tensor) else tuple(t) for t in inputs],
            tuple(output.shape) if isinstance(output, torch.Tensor) else tuple(output),
            dict(bindings or {}),
            literal_bytes,
            note,
        )
    )


@contextmanager
def recording() -> Iterator[list[Step]]:
    """Collect the steps of every op run inside the block.

    >>> from scratchnn import functional as F
    >>> with recording() as steps:
    ...     _ = F.linear(torch.randn(2, 3), torch.randn(4, 3))
    >>> [step.kind for step in steps]
    ['contract']
    """
    token = _steps.set([])
    try:
        yield _steps.get()  # type: ignore[misc]
    finally:
        _steps.reset(token)


def rearrange(tensor: torch.Tensor, pattern: str, **axes_lengths: int) -> torch.Tensor:
    """``einops.rearrange``, recorded as a step.

    >>> rearrange(torch.zeros(2, 6), "b (g c) -> b g c", g=3).shape
    torch.Size([2, 3, 2])
    """
    out = einops.rearrange(tensor, pattern, **axes_lengths)
    if is_recording():
        record("rearrange", pattern, [tensor], out, bindings=_bind(pattern, tensor.shape, axes_lengths))
    return out


def _bind(pattern: str, shape: Sequence[int], axes_lengths: dict[str, int]) -> dict[str, int]:
    """Sizes of the plain (ungrouped) axis names on the left of a pattern."""
    left = pattern.split("->")[0].split()
    bindings: dict[str, int] = dict(axes_lengths)
    if "(" in pattern.split("->")[0] or "..." in left:
        return bindings
    for name, size in zip(left, shape):
        if name.isidentifier():
            bindings[name] = int(size)
    return bindings
