"""The one place where arguments are normalized and validated.

Every op normalizes its arguments here, so every op reports bad input the same way: the
exception type torch raises, a message that starts with the op's name, names the argument and
its value, and shows the shapes involved next to their legend::

    conv2d: input has 5 channels but weight expects 3 (weight.shape[1] × groups, groups=1)
      input  (b, c_in, h, w)          = (2, 5, 8, 8)
      weight (c_out, c_in/g, kh, kw)  = (4, 3, 3, 3)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch

__all__ = [
    "check_positive",
    "check_rank",
    "check_same_dtype",
    "fail",
    "normalize_dim",
    "ntuple",
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
    if not torch.compiler.is_compiling():
        warnings.warn(message, category, stacklevel=stacklevel + 1)


def _show(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(values) == 1 else str(values)
