"""Step recording: how an op explains itself from its own implementation.

The core primitives (:func:`rearrange` below, the window view in ``_windows.py``, the
contraction in ``_contract.py``, ``pad``) call :func:`record` as they run. Normally that is a
no-op: one context-variable lookup. Inside :func:`recording`, each call appends a :class:`Step`
with the concrete shapes of the run, so ``scratchnn.explain`` shows exactly what the op did,
never a second hand-written copy of it.

``recording(torch_calls=True)`` also records every torch call an op makes *outside* the core
primitives (``x.amax(-1)``, ``out + bias``, ``torch.where(...)``), through a
``TorchFunctionMode``; the primitives' own internals (the ``einsum`` inside ``contract``, the
``reshape`` inside ``rearrange``) stay hidden behind their one recorded step.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import einops
import torch
from torch.overrides import TorchFunctionMode, resolve_name

__all__ = ["Step", "bind_pattern", "hidden", "is_recording", "rearrange", "record", "recording"]


@dataclass
class Step:
    """One step of an op: what ran, on which shapes, and what it cost in literal form."""

    kind: str  # "rearrange", "windows", "contract", "pad", "torch" (a torch call), "op"
    text: str  # the pattern, formula or call
    inputs: list[tuple[int, ...]]
    output: tuple[int, ...]
    bindings: dict[str, int] = field(default_factory=dict)  # legend letters bound to sizes
    literal_bytes: int = 0  # temporary memory this step takes in literal form (0: a view)
    note: str = ""
    where: str = ""  # "conv.py:conv_nd": the scratchnn function whose code issued the step


_steps: ContextVar[list[Step] | None] = ContextVar("scratchnn_steps", default=None)

_PACKAGE = Path(__file__).resolve().parent
# The core primitives: each records itself as one step, so the torch calls inside them do not.
_PRIMITIVES = frozenset(
    str(_PACKAGE / name) for name in ("_trace.py", "_contract.py", "_windows.py", "functional/padding.py")
)
_EINOPS = str(Path(einops.__file__).resolve().parent)
_NOT_AN_ORIGIN = _PRIMITIVES | {str(_PACKAGE / "explain.py")}


def is_recording() -> bool:
    """Whether a :func:`recording` is active. Never under ``torch.compile``: a compiled graph runs
    without its Python, so there is nothing to record (and dynamo cannot trace a ContextVar read).
    """
    if torch.compiler.is_compiling():
        return False
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
    steps = _steps.get() if is_recording() else None  # is_recording() first: no ContextVar read compiled
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
            _origin(sys._getframe(1)),
        )
    )


@contextmanager
def recording(*, torch_calls: bool = False) -> Iterator[list[Step]]:
    """Collect the steps of every op run inside the block.

    With ``torch_calls``, torch calls made outside the core primitives are steps too.

    >>> from scratchnn import functional as F
    >>> x, w, b = torch.randn(2, 3), torch.randn(4, 3), torch.randn(4)
    >>> with recording() as steps:
    ...     _ = F.linear(x, w, b)
    >>> [step.kind for step in steps]
    ['contract']
    >>> with recording(torch_calls=True) as steps:
    ...     _ = F.linear(x, w, b)
    >>> for step in steps:
    ...     print(f"{step.kind:<9} {step.text:<16} {step.inputs} -> {step.output}")
    torch     x.reshape(2, 3)  [(2, 3)] -> (2, 3)
    contract  b i, o i -> b o  [(2, 3), (4, 3)] -> (2, 4)
    torch     x.reshape(2, 4)  [(2, 4)] -> (2, 4)
    torch     x.add(y)         [(2, 4), (4,)] -> (2, 4)
    """
    token = _steps.set([])
    try:
        with _TorchCalls() if torch_calls else nullcontext():
            yield _steps.get()  # type: ignore[misc]
    finally:
        _steps.reset(token)


@contextmanager
def hidden() -> Iterator[None]:
    """Run the block unrecorded: an op whose inner loops are a schedule's (blocks, tiles) records
    itself as one step and hides the steps of its loops."""
    if torch.compiler.is_compiling():  # nothing records under torch.compile (no ContextVar to set)
        yield
        return
    token = _steps.set(None)
    try:
        yield
    finally:
        _steps.reset(token)


def rearrange(tensor: torch.Tensor, pattern: str, **axes_lengths: int) -> torch.Tensor:
    """``einops.rearrange``, recorded as a step (with the legend letters bound to sizes).

    >>> rearrange(torch.zeros(2, 6), "b (g c) -> b g c", g=3).shape
    torch.Size([2, 3, 2])
    >>> with recording() as steps:
    ...     _ = rearrange(torch.zeros(2, 6, 5), "b (g c) n -> b n g c", g=3)
    >>> steps[0].bindings, steps[0].note
    ({'b': 2, 'g': 3, 'c': 2, 'n': 5}, 'a view: no copy')
    """
    out = einops.rearrange(tensor, pattern, **axes_lengths)
    if is_recording():
        copied = not _shares_storage(out, [tensor])
        record(
            "rearrange",
            pattern,
            [tensor],
            out,
            bindings=bind_pattern(pattern, tensor.shape, out.shape, axes_lengths),
            literal_bytes=_nbytes(out) if copied else 0,
            note="a copy" if copied else "a view: no copy",
        )
    return out


# --- the legend letters of an einops pattern, bound to sizes ------------------------------------

_TOKEN = re.compile(r"\(|\)|\.\.\.|[^\s()]+")


def _parse_side(side: str) -> list[str | list[str]]:
    items: list[str | list[str]] = []
    group: list[str] | None = None
    for token in _TOKEN.findall(side):
        if token == "(":
            group = []
        elif token == ")":
            items.append(group or [])
            group = None
        elif group is not None:
            group.append(token)
        else:
            items.append(token)
    return items


def _align(items: list[str | list[str]], shape: Sequence[int]) -> list[tuple[str | list[str], int]]:
    if "..." not in items:
        return list(zip(items, shape))
    i = items.index("...")
    after = len(items) - i - 1
    return list(zip(items[:i], shape[:i])) + list(zip(items[i + 1 :], shape[len(shape) - after :]))


def bind_pattern(
    pattern: str,
    in_shape: Sequence[int],
    out_shape: Sequence[int],
    axes_lengths: dict[str, int] | None = None,
) -> dict[str, int]:
    """Sizes of the named axes of an einops pattern, from both sides (groups are solved for their
    one unknown name).

    >>> bind_pattern("b (g c_in) h -> b g c_in h", (2, 6, 5), (2, 3, 2, 5))
    {'b': 2, 'g': 3, 'c_in': 2, 'h': 5}
    >>> bind_pattern("b (h r) ... -> b h r ...", (2, 6, 7, 7), (2, 3, 2, 7, 7), {"r": 2})
    {'b': 2, 'h': 3, 'r': 2}
    """
    bindings: dict[str, int] = dict(axes_lengths or {})
    left, _, right = pattern.partition("->")
    aligned = _align(_parse_side(left), in_shape) + _align(_parse_side(right), out_shape)
    for _ in range(2):  # a second pass solves groups whose other names the first pass found
        for item, size in aligned:
            if isinstance(item, str):
                if item.isidentifier():
                    bindings.setdefault(item, int(size))
                continue
            known, unknown = 1, []
            for name in item:
                if name.isdigit():
                    known *= int(name)
                elif name in bindings:
                    known *= bindings[name]
                else:
                    unknown.append(name)
            if len(unknown) == 1 and known and size % known == 0:
                bindings[unknown[0]] = int(size) // known
    order = {name: i for i, name in enumerate(dict.fromkeys(_TOKEN.findall(pattern)))}
    return dict(sorted(bindings.items(), key=lambda item: order.get(item[0], len(order))))


# --- recording torch calls ----------------------------------------------------------------------

_HIDDEN_CALLS = {"detach", "requires_grad_", "retain_grad", "register_hook", "data", "grad"}


class _TorchCalls(TorchFunctionMode):
    """Records the torch calls of op code (not of the core primitives) as ``"torch"`` steps."""

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        steps = _steps.get()
        if steps is None:
            return out
        name = resolve_name(func) or getattr(func, "__name__", repr(func))
        short = name.removesuffix(".__get__").rsplit(".", 1)[-1]
        if short in _HIDDEN_CALLS:
            return out
        if short == "__setitem__" and args and isinstance(args[0], torch.Tensor):
            outputs = [args[0]]
        else:
            outputs = _tensors(out)
            if not outputs or not (isinstance(out, torch.Tensor) or isinstance(out, tuple | list)):
                return out
        frame = sys._getframe(1)
        if _inside_primitive(frame):
            return out
        inputs = _tensors([list(args), list(kwargs.values())])
        new = [t for t in outputs if not _shares_storage(t, inputs)]
        if short == "__setitem__":
            note, literal_bytes = "in place", 0
        elif not new:
            note, literal_bytes = "a view: no copy", 0
        else:
            note, literal_bytes = "", sum(_nbytes(t) for t in new)
        if len(outputs) > 1:
            note = f"{len(outputs)} outputs of this shape" + (f", {note}" if note else "")
        steps.append(
            Step(
                "torch",
                _call_text(name, args, kwargs),
                [tuple(t.shape) for t in inputs],
                tuple(outputs[0].shape),
                {},
                literal_bytes,
                note,
                _origin(frame),
            )
        )
        return out


def _inside_primitive(frame: Any) -> bool:
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename in _PRIMITIVES or filename.startswith(_EINOPS):
            return True
        frame = frame.f_back
    return False


def _origin(frame: Any) -> str:
    """``file.py:function`` of the innermost scratchnn function, outside the primitives, on the stack."""
    first = ""
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(str(_PACKAGE)):
            where = f"{Path(filename).name}:{frame.f_code.co_name}"
            if filename not in _NOT_AN_ORIGIN:
                return where
            first = first or (where if filename in _PRIMITIVES else "")
        frame = frame.f_back
    return first


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, tuple | list):
        return [t for v in value for t in _tensors(v)]
    return []


def _nbytes(tensor: torch.Tensor) -> int:
    return tensor.numel() * tensor.element_size()


def _shares_storage(tensor: torch.Tensor, others: Sequence[torch.Tensor]) -> bool:
    try:
        pointer = tensor.untyped_storage().data_ptr()
        return pointer != 0 and any(other.untyped_storage().data_ptr() == pointer for other in others)
    except (RuntimeError, NotImplementedError):  # tensors without storage (meta, functional)
        return False


_UNARY = {"__neg__": "-", "__invert__": "~", "__pos__": "+"}
_BINARY = {
    f"__{reflected}{name}__": (operator, bool(reflected))
    for name, operator in {
        "add": "+",
        "sub": "-",
        "mul": "*",
        "truediv": "/",
        "floordiv": "//",
        "mod": "%",
        "pow": "**",
        "matmul": "@",
        "and": "&",
        "or": "|",
        "xor": "^",
        "eq": "==",
        "ne": "!=",
        "lt": "<",
        "le": "<=",
        "gt": ">",
        "ge": ">=",
    }.items()
    for reflected in ("", "r")
}


def _call_text(name: str, args: tuple, kwargs: dict) -> str:
    """``x.amax(-1, keepdim=True)``, ``torch.where(x, y, 0.0)``, ``x[..., ::2]``: tensors named by
    order of appearance."""
    names = iter("xyzuvwpqrst")
    labels: dict[int, str] = {}

    def show(value: Any) -> str:
        if isinstance(value, torch.Tensor):
            if id(value) not in labels:
                labels[id(value)] = next(names, "t")
            return labels[id(value)]
        if isinstance(value, float):
            return f"{value:.6g}" if value == value and abs(value) != float("inf") else repr(value)
        if isinstance(value, slice):
            parts = ["" if part is None else show(part) for part in (value.start, value.stop, value.step)]
            return ":".join(parts[:2]) + (f":{parts[2]}" if parts[2] else "")
        if value is Ellipsis:
            return "..."
        if isinstance(value, tuple):
            inner = ", ".join(show(v) for v in value)
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        if isinstance(value, list):
            return "[" + ", ".join(show(v) for v in value) + "]"
        if isinstance(value, torch.dtype):
            return str(value)
        if isinstance(value, torch.device):
            return repr(str(value))
        return repr(value)

    short = name.removesuffix(".__get__")
    if short.startswith("torch.Tensor."):
        method = short.removeprefix("torch.Tensor.")
        self_text = show(args[0]) if args else "x"
        rest = args[1:]
        if method in ("__getitem__", "__setitem__"):
            index = rest[0] if rest else ()
            index_text = ", ".join(show(v) for v in index) if isinstance(index, tuple) else show(index)
            if method == "__getitem__":
                return f"{self_text}[{index_text}]"
            return f"{self_text}[{index_text}] = {show(rest[1]) if len(rest) > 1 else '?'}"
        if name.endswith(".__get__"):
            return f"{self_text}.{method}"
        if method in _UNARY and not rest and not kwargs:
            return f"{_UNARY[method]}{self_text}"
        if method in _BINARY and len(rest) == 1 and not kwargs:
            operator, reflected = _BINARY[method]
            other = show(rest[0])
            return f"{other} {operator} {self_text}" if reflected else f"{self_text} {operator} {other}"
        call_args = [show(v) for v in rest] + [f"{k}={show(v)}" for k, v in kwargs.items()]
        return f"{self_text}.{method}({', '.join(call_args)})"
    call_args = [show(v) for v in args] + [f"{k}={show(v)}" for k, v in kwargs.items()]
    return f"{short.replace('torch.functional.', 'torch.')}({', '.join(call_args)})"
