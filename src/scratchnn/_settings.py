"""The one settings object: how every op computes, chosen for a block of code.

One frozen :class:`Settings` value lives in one context variable; :func:`settings` replaces some
of its fields inside a ``with`` block (nested blocks stack, threads and asyncio tasks each see
their own), and :func:`current_settings` reads it. Every family reads its fields from here:

===========================  ==========================================================  ==========
field                        what it chooses                                               default
===========================  ==========================================================  ==========
``form``                     ``"fast"`` (the schedules) or ``"literal"`` (the formula as    ``"fast"``
                             written: window views contracted by broadcast multiply-sum)
``budget``                   bytes one broadcast product of the literal form may take        256 MiB
``conv``                     convolution algorithm: ``"auto"`` (per shape), ``"einsum"``      ``"auto"``
                             (the formula), ``"shift-gemm"``, ``"unfold-gemm"``,
                             ``"shift-mac"``, ``"space-to-batch"`` (dilated only)
``conv_chunk_samples``       samples per chunk of the conv schedules (None: by memory)         None
``conv_chunk_bytes``         the conv schedules' smallest chunk of temporaries                 8 MiB
``conv_block_columns``       flat columns per block of the conv schedules' sums                8192
``conv_column_bytes``        unfold-gemm's column matrix per block                             8 MiB
``attention``                ``"auto"``, ``"literal"`` (the formula), ``"blocked"`` (tiles)   ``"auto"``
``attention_tiles``          the blocked form's (queries, keys) per tile                  (256, 256)
``attention_threshold``      score bytes above which ``"auto"`` picks ``"blocked"``            1 MiB
``semiring_block_bytes``     one block of a semiring convolution's product                     4 MiB
``semiring_small_window``    taps per dim up to which flat filters reduce tap by tap           6
===========================  ==========================================================  ==========

The literal form wins over the algorithm fields: ``settings(form="literal")`` makes every op
compute its formula (attention included), whatever ``conv`` or ``attention`` say.

>>> import torch, scratchnn
>>> x, w = torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3)
>>> with scratchnn.settings(form="literal", budget=2**20):
...     slow = scratchnn.functional.conv2d(x, w)
>>> torch.allclose(slow, scratchnn.functional.conv2d(x, w), atol=1e-5)
True
>>> scratchnn.current_settings().form
'fast'

Under ``torch.compile`` the settings are read once, when a function is traced, and baked into the
graph (call ``torch._dynamo.reset()`` after changing them to retrace).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ATTENTION_FORMS",
    "CONV_ALGORITHMS",
    "FORMS",
    "Settings",
    "check_setting",
    "current_settings",
    "scoped",
    "settings",
    "validated",
]

FORMS = ("fast", "literal")
CONV_ALGORITHMS = ("auto", "einsum", "shift-gemm", "unfold-gemm", "shift-mac", "space-to-batch")
ATTENTION_FORMS = ("auto", "literal", "blocked")


@dataclass(frozen=True)
class Settings:
    """How every op computes; see the module's table. ``chosen`` names the fields set explicitly
    by an enclosing :func:`settings` block (``scratchnn.explain`` honours an explicit form)."""

    form: str = "fast"
    budget: int = 256 * 2**20
    conv: str = "auto"
    conv_chunk_samples: int | None = None
    conv_chunk_bytes: int = 8 * 2**20
    conv_block_columns: int = 8192
    conv_column_bytes: int = 8 * 2**20
    attention: str = "auto"
    attention_tiles: tuple[int, int] = (256, 256)
    attention_threshold: int = 2**20
    semiring_block_bytes: int = 4 * 2**20
    semiring_small_window: int = 6
    chosen: frozenset[str] = field(default=frozenset(), compare=False, repr=False)


DEFAULTS = Settings()
_current: ContextVar[Settings] = ContextVar("scratchnn_settings", default=DEFAULTS)


def current_settings() -> Settings:
    """The settings in effect (under ``torch.compile``: read once, when a function is traced)."""
    return _current.get()


# torch.compiler.assume_constant_result(current_settings), which only sets this mark, without the
# import of torch._dynamo it makes (most of ``import scratchnn``'s time otherwise)
current_settings._dynamo_marked_constant = True  # type: ignore[attr-defined]


def settings(**changes: Any) -> AbstractContextManager[Settings]:
    """Replace some fields of the settings inside a block; yields the settings in effect.

    >>> import scratchnn
    >>> with scratchnn.settings(conv="shift-gemm", attention_tiles=(64, 128)) as chosen:
    ...     chosen.conv, chosen.attention_tiles, chosen.form
    ('shift-gemm', (64, 128), 'fast')
    >>> with scratchnn.settings(form="exact"):
    ...     pass
    Traceback (most recent call last):
      ...
    ValueError: settings: form must be one of ('fast', 'literal'), got form='exact'
    """
    return scoped(changes, "settings")


@contextmanager
def scoped(changes: dict[str, Any], op: str) -> Iterator[Settings]:
    """:func:`settings` for the older names that alias it: their errors start with ``op``."""
    new = validated(_current.get(), changes, op)
    token = _current.set(new)
    try:
        yield new
    finally:
        _current.reset(token)


def validated(base: Settings, changes: dict[str, Any], op: str) -> Settings:
    """``base`` with ``changes`` applied, each checked (ValueError naming the field and value;
    TypeError for a field that does not exist). ``None`` leaves a field as it is, except for the
    fields whose value may be None."""
    known = {f.name for f in dataclasses.fields(Settings)} - {"chosen"}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise TypeError(f"{op}: no setting named {unknown[0]!r}; the settings are {', '.join(sorted(known))}")
    updates = {}
    for name, value in changes.items():
        if value is None and name not in _NULLABLE:
            continue
        updates[name] = _CHECKS[name](value, name, op)
    if not updates:
        return base
    return dataclasses.replace(base, **updates, chosen=base.chosen | frozenset(updates))


def check_setting(field: str, value: Any, name: str, op: str) -> Any:
    """``value`` checked as a value of the setting ``field``; the error names it ``name`` (an older
    alias's argument name) and starts with ``op``."""
    return _CHECKS[field](value, name, op)


def _choice(options: tuple[str, ...]):
    def check(value: Any, name: str, op: str) -> str:
        if value not in options:
            raise ValueError(f"{op}: {name} must be one of {options}, got {name}={value!r}")
        return value

    return check


def _count(minimum: int, what: str):
    def check(value: Any, name: str, op: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{op}: {name} must be {what}, got {name}={value!r}")
        return value

    return check


def _tiles(value: Any, name: str, op: str) -> tuple[int, int]:
    sizes = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(sizes, tuple | list)
        or len(sizes) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes)
    ):
        raise ValueError(
            f"{op}: {name} must be a positive int or a pair (block_q, block_k), got {name}={value!r}"
        )
    return (sizes[0], sizes[1])


_CHECKS = {
    "form": _choice(FORMS),
    "budget": _count(1, "a positive number of bytes"),
    "conv": _choice(CONV_ALGORITHMS),
    "conv_chunk_samples": _count(1, "a positive number of samples or None"),
    "conv_chunk_bytes": _count(1, "a positive number of bytes"),
    "conv_block_columns": _count(1, "a positive number of columns"),
    "conv_column_bytes": _count(1, "a positive number of bytes"),
    "attention": _choice(ATTENTION_FORMS),
    "attention_tiles": _tiles,
    "attention_threshold": _count(0, "a non-negative number of bytes"),
    "semiring_block_bytes": _count(1, "a positive number of bytes"),
    "semiring_small_window": _count(1, "a positive number of taps"),
}
_NULLABLE = frozenset({"conv_chunk_samples"})
