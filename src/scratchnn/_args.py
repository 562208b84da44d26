"""The one place where arguments are normalized and validated.

Every op normalizes its arguments here, so every op reports bad input the same way: the
exception type torch raises, a message that starts with the op's name, names the argument and
its value, and shows the shapes involved next to their legend::

    conv2d: input has 5 channels but weight expects 3 (weight.shape[1] × groups, groups=1)
      input  (b, c_in, h, w)          = (2, 5, 8, 8)
      weight (c_out, c_in/g, kh, kw)  = (4, 3, 3, 3)
"""

from __future__ import annotations

import functools
import inspect
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import torch

__all__ = [
    "channels_last_format",
    "check_positive",
    "check_rank",
    "check_same_dtype",
    "check_weight_groups",
    "fail",
    "in_memory_format",
    "normalize_dim",
    "ntuple",
    "public_op",
    "spatial_legend",
    "warn",
]

# Legend letters of the spatial axes of an N-d window op: output positions and kernel offsets.
_SPATIAL = {1: ("l",), 2: ("h", "w"), 3: ("d", "h", "w")}


def spatial_legend(n: int) -> tuple[list[str], list[str]]:
    """Names of the output and kernel axes of an ``n``-d window op.

    >>> spatial_legend(2)
    (['h', 'w'], ['kh', 'kw'])
    >>> spatial_legend(4)
    (['s1', 's2', 's3', 's4'], ['k1', 'k2', 'k3', 'k4'])
    """
    out = list(_SPATIAL.get(n, tuple(f"s{i + 1}" for i in range(n))))
    kernel = [f"k{name}" for name in out] if n in _SPATIAL else [f"k{i + 1}" for i in range(n)]
    return out, kernel


def fail(
    exc_type: type[Exception],
    op: str,
    message: str,
    shapes: Mapping[str, tuple[str, Sequence[int]]] | None = None,
) -> Exception:
    """Build the exception ``exc_type`` with ``op: message`` and a legend of shapes.

    ``shapes`` maps an argument name to ``(legend, shape)``.

    >>> print(fail(RuntimeError, "mm", "inner sizes differ", {"input": ("m n", (2, 3))}))
    mm: inner sizes differ
      input (m n) = (2, 3)
    """
    lines = [f"{op}: {message}"]
    if shapes:
        name_width = max(len(name) for name in shapes)
        legend_width = max(len(legend) for legend, _ in shapes.values()) + 2
        for name, (legend, shape) in shapes.items():
            lines.append(f"  {name.ljust(name_width)} {f'({legend})'.ljust(legend_width)} = {tuple(shape)}")
    return exc_type("\n".join(lines))


def ntuple(value: Any, n: int, name: str, op: str) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints (or of one int) as an ``n``-tuple of ints.

    >>> ntuple(2, 3, "stride", "conv3d")
    (2, 2, 2)
    >>> ntuple((1, 2), 3, "stride", "conv3d")
    Traceback (most recent call last):
      ...
    RuntimeError: conv3d: stride must be an int or a sequence of 3 ints, got stride=(1, 2)
    """
    if isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be an int or a sequence of ints, got {name}={value!r}")
    if isinstance(value, int):
        return (value,) * n
    if isinstance(value, torch.Size | Sequence) and not isinstance(value, str):
        items = tuple(value)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            raise TypeError(f"{op}: {name} must contain ints, got {name}={items!r}")
        if len(items) == 1:
            return items * n
        if len(items) == n:
            return items
        raise RuntimeError(f"{op}: {name} must be an int or a sequence of {n} ints, got {name}={items!r}")
    raise TypeError(f"{op}: {name} must be an int or a sequence of ints, got {name}={value!r}")


def check_weight_groups(op: str, weight: torch.Tensor, groups: int, shapes: Mapping[str, Any]) -> None:
    """A convolution's weight holds at least one (and a whole number of) dim-0 slices per group."""
    if weight.shape[0] < groups:  # no channels at all, or fewer than one per group
        raise fail(
            RuntimeError,
            op,
            f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, "
            f"but got weight of size {list(weight.shape)}",
            shapes,
        )


def check_positive(
    values: tuple[int, ...], name: str, op: str, exc_type: type[Exception] = RuntimeError
) -> None:
    """Raise ``exc_type`` (torch's RuntimeError by default) unless every value is > 0."""
    if any(v <= 0 for v in values):
        raise exc_type(f"{op}: {name} must be positive, got {name}={_show(values)}")


def check_non_negative(
    values: tuple[int, ...], name: str, op: str, exc_type: type[Exception] = RuntimeError
) -> None:
    """Raise ``exc_type`` (torch's RuntimeError by default) unless every value is >= 0."""
    if any(v < 0 for v in values):
        raise exc_type(f"{op}: {name} must be non-negative, got {name}={_show(values)}")


def check_rank(
    tensor: torch.Tensor, ranks: Sequence[int], name: str, legend: str, op: str, what: str = ""
) -> None:
    """Raise RuntimeError unless ``tensor.ndim`` is one of ``ranks``.

    >>> check_rank(torch.zeros(3), (2,), "input", "m n", "mm")
    Traceback (most recent call last):
      ...
    RuntimeError: mm: input must be 2-D, got a 1-D tensor
      input (m n) = (3,)
    """
    if tensor.ndim not in ranks:
        expected = " or ".join(f"{r}-D" for r in ranks)
        detail = f" {what}" if what else ""
        raise fail(
            RuntimeError,
            op,
            f"{name} must be {expected}{detail}, got a {tensor.ndim}-D tensor",
            {name: (legend, tensor.shape)},
        )


def check_same_dtype(op: str, **tensors: torch.Tensor | None) -> None:
    """Raise RuntimeError unless all given tensors (None skipped) share one dtype, as torch requires."""
    present = {name: t for name, t in tensors.items() if t is not None}
    dtypes = {t.dtype for t in present.values()}
    if len(dtypes) > 1:
        listed = ", ".join(f"{name} is {t.dtype}" for name, t in present.items())
        raise RuntimeError(f"{op}: expected the same dtype for {', '.join(present)}, but {listed}")


def check_floating(
    op: str, tensor: torch.Tensor, name: str = "input", error: type[Exception] = NotImplementedError
) -> None:
    """Raise ``error`` unless ``tensor`` is floating point: NotImplementedError, torch's type for a
    kernel without that dtype, by default (a convolution-like op raises RuntimeError, as torch's
    convolutions do).

    >>> check_floating("gelu", torch.tensor([1, 2]))
    Traceback (most recent call last):
      ...
    NotImplementedError: gelu: not implemented for torch.int64 input (floating point only)
    """
    if not tensor.is_floating_point():
        raise error(f"{op}: not implemented for {tensor.dtype} {name} (floating point only)")


def normalize_dim(dim: int, ndim: int, op: str, name: str = "dim") -> int:
    """``dim`` counted from the front (a 0-d tensor has one wrappable dim, as in torch); IndexError
    (torch's type) when it is out of range.

    >>> normalize_dim(-1, 3, "softmax")
    2
    >>> normalize_dim(3, 3, "softmax")
    Traceback (most recent call last):
      ...
    IndexError: softmax: dim out of range (expected to be in range of [-3, 2]), got dim=3
    """
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{op}: {name} must be an int, got {name}={dim!r}")
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(
            f"{op}: {name} out of range (expected to be in range of [{-size}, {size - 1}]), got {name}={dim}"
        )
    return dim % size


def warn(message: str, category: type[Warning] = UserWarning, stacklevel: int = 1) -> None:
    """``warnings.warn(message, category, stacklevel)`` from the caller's point of view, in eager mode
    only: under ``torch.compile`` a warning would break the graph (dynamo cannot trace ``warn``), so
    a compiled op stays silent. ``stacklevel`` counts as if the caller called ``warnings.warn``."""
    if torch.compiler.is_compiling():
        return
    level, frame, wanted = 1, sys._getframe(1), stacklevel
    while wanted > 1 and frame.f_back is not None:  # public_op's wrappers are not counted
        frame, level = frame.f_back, level + 1
        if frame.f_code is not _WRAPPER_CODE:
            wanted -= 1
    warnings.warn(message, category, stacklevel=level + 1)


def _show(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(values) == 1 else str(values)


Op = TypeVar("Op", bound=Callable[..., Any])
_TENSOR = {"torch.Tensor": False, "torch.Tensor | None": True}  # annotation -> None allowed
_MISSING = object()


def public_op(op: Op) -> Op:
    """``op`` as ``scratchnn.functional`` exports it: its tensor parameters (annotated
    ``torch.Tensor`` or ``torch.Tensor | None``) are checked first — anything else raises torch's
    TypeError naming the argument — and every error it raises starts with the op's name (an error
    from a primitive deep inside gets the name put in front, same type, same traceback).

    >>> def relu(input: torch.Tensor) -> torch.Tensor: return input.clamp(min=0)
    >>> public_op(relu)([1.0, 2.0])
    Traceback (most recent call last):
    TypeError: relu: argument 'input' (position 1) must be Tensor, not list
    >>> public_op(relu)(torch.tensor([1j]))
    Traceback (most recent call last):
    NotImplementedError: relu: clamp is not supported for complex types
    """
    slots = []
    for index, parameter in enumerate(inspect.signature(op).parameters.values()):
        annotation = parameter.annotation if isinstance(parameter.annotation, str) else None
        if annotation in _TENSOR:
            position = index if parameter.kind is not inspect.Parameter.KEYWORD_ONLY else None
            slots.append((position, parameter.name, _TENSOR[annotation]))
    name = op.__name__
    prefix = f"{name}:"

    @functools.wraps(op)
    def checked(*args: Any, **kwargs: Any) -> Any:
        for position, parameter, optional in slots:
            if position is not None and position < len(args):
                value = args[position]
            else:
                value = kwargs.get(parameter, _MISSING)
            if isinstance(value, torch.Tensor) or value is _MISSING or (optional and value is None):
                continue
            where = f" (position {position + 1})" if position is not None and position < len(args) else ""
            wanted = "Tensor or None" if optional else "Tensor"
            raise TypeError(
                f"{name}: argument '{parameter}'{where} must be {wanted}, not {type(value).__name__}"
            )
        try:
            return op(*args, **kwargs)
        except Exception as error:
            if error.args and isinstance(error.args[0], str) and not error.args[0].startswith(prefix):
                error.args = (f"{prefix} {error.args[0]}", *error.args[1:])
            raise

    return checked  # type: ignore[return-value]


_CHANNELS_LAST = {4: torch.channels_last, 5: torch.channels_last_3d}


def channels_last_format(*tensors: torch.Tensor | None) -> torch.memory_format | None:
    """torch's suggested memory format when it is channels last: the format of the first 4-d or
    5-d tensor stored channels last (and not also contiguous), else None.

    >>> channels_last_format(torch.randn(2, 3, 4, 4).to(memory_format=torch.channels_last))
    torch.channels_last
    >>> channels_last_format(torch.randn(2, 3, 4, 4)) is None
    True
    """
    for tensor in tensors:
        if tensor is None or tensor.ndim not in _CHANNELS_LAST:
            continue
        layout = _CHANNELS_LAST[tensor.ndim]
        try:
            if tensor.is_contiguous(memory_format=layout) and not tensor.is_contiguous():
                return layout
        except RuntimeError:  # inside vmap, torch answers only for the contiguous format
            return None
    return None


def in_memory_format(
    out: torch.Tensor, layout: torch.memory_format | None, otherwise_contiguous: bool = False
) -> torch.Tensor:
    """``out`` stored in ``layout`` (a channels-last format from :func:`channels_last_format`), as
    torch's kernels return it; when ``layout`` is None or does not fit ``out``'s rank, ``out``
    unchanged (or contiguous, with ``otherwise_contiguous``: kernels that write a fresh tensor)."""
    if layout is None or out.ndim != {torch.channels_last: 4, torch.channels_last_3d: 5}[layout]:
        return out.contiguous() if otherwise_contiguous else out
    return out.contiguous(memory_format=layout)


_WRAPPER_CODE = public_op(lambda: None).__code__  # the frames :func:`warn` skips
