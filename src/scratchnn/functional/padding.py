"""Padding from indexing and concatenation.

``pad`` lists the *last* dimension first, as ``torch.nn.functional.pad`` does:
``pad=(left, right, top, bottom)`` pads width by (left, right) and height by (top, bottom).
A negative amount crops.

* ``constant``: concatenate blocks filled with ``value`` (crop by slicing first).
* ``reflect``, ``replicate``, ``circular``: every output position ``j`` reads one input
  position, so each is one ``index_select`` with an index built from ``arange``::

      reflect    j ↦ (n-1) - |(n-1) - |j||         0 1 2 3 → 2 1 | 0 1 2 3 | 2 1
      replicate  j ↦ clamp(j, 0, n-1)               0 1 2 3 → 0 0 | 0 1 2 3 | 3 3
      circular   j ↦ j mod n                        0 1 2 3 → 2 3 | 0 1 2 3 | 0 1
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._args import channels_last_format, fail, in_memory_format
from .._trace import is_recording, record

__all__ = ["pad"]

MODES = ("constant", "reflect", "replicate", "circular")


def pad(
    input: torch.Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None
) -> torch.Tensor:
    """Pad (or, with negative amounts, crop) the last ``len(pad) // 2`` dimensions.

    >>> x = torch.arange(4.).view(1, 1, 4)
    >>> pad(x, (2, 1), mode="reflect")
    tensor([[[2., 1., 0., 1., 2., 3., 2.]]])
    >>> pad(x, (1, -2), value=9.0)
    tensor([[[9., 0., 1.]]])
    """
    pairs = _normalize(input, pad, mode, value)
    out = input
    for offset, (before, after) in enumerate(pairs):  # last dimension first
        dim = input.ndim - 1 - offset
        if before == 0 and after == 0:
            continue
        if mode == "constant":
            out = _pad_constant(out, dim, before, after, 0 if value is None else value)
        else:
            out = out.index_select(dim, _source_index(out.shape[dim], before, after, mode, out.device))
    if mode != "circular" and out is not input:  # torch keeps channels last, except circularly
        out = in_memory_format(out, channels_last_format(input))
    if is_recording():
        copied = out is not input
        record(
            "pad",
            f"pad({list(pad)}, mode={mode!r})" + (f", value={value!r}" if value not in (None, 0) else ""),
            [input],
            out,
            literal_bytes=out.numel() * out.element_size() if copied else 0,
            note="a copy" if copied else "nothing to pad: the input itself",
        )
    return out


def _normalize(
    input: torch.Tensor, pad: Sequence[int], mode: str, value: float | None
) -> list[tuple[int, int]]:
    if isinstance(pad, torch.Tensor) or not isinstance(pad, Sequence):
        raise TypeError(f"pad: pad must be a tuple of ints, got {type(pad).__name__}")
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in pad):
        raise TypeError(f"pad: pad must be a tuple of ints, got pad={tuple(pad)!r}")
    if mode not in MODES:
        raise NotImplementedError(f"pad: mode must be one of {MODES}, got mode={mode!r}")
    if len(pad) % 2:
        raise RuntimeError(f"pad: pad must have an even length (before, after per dim), got pad={tuple(pad)}")
    shapes = {"input": ("...", input.shape)}
    if len(pad) // 2 > input.ndim:
        raise fail(
            RuntimeError,
            "pad",
            f"pad={tuple(pad)} pads {len(pad) // 2} dims but input has only {input.ndim}",
            shapes,
        )
    pairs = [(pad[i], pad[i + 1]) for i in range(0, len(pad), 2)]
    dims = len(pairs)
    if mode != "constant":
        if value is not None and value != 0:
            raise RuntimeError(f"pad: mode={mode!r} takes no value argument, got value={value!r}")
        if dims > 3 or input.ndim not in (dims + 1, dims + 2):
            raise fail(
                NotImplementedError,
                "pad",
                f"mode={mode!r} pads the last 1, 2 or 3 dims of a (batch, channel, *dims) or "
                f"(channel, *dims) input; pad={tuple(pad)} pads {dims} dims of a {input.ndim}-D input",
                shapes,
            )
        if mode in ("reflect", "replicate"):
            first = 1 if input.ndim == dims + 2 else 0
            if any(size == 0 for size in input.shape[first:]):
                raise fail(RuntimeError, "pad", f"mode={mode!r} needs non-empty dims after the batch", shapes)
    for offset, (before, after) in enumerate(pairs):
        dim = input.ndim - 1 - offset
        size = input.shape[dim]
        if mode == "reflect" and max(before, after) >= size:
            raise fail(
                RuntimeError,
                "pad",
                f"reflect padding must be smaller than the padded dim: ({before}, {after}) "
                f"for dim {dim} of size {size}",
                shapes,
            )
        out_size = size + before + after
        if out_size < 0:
            raise fail(
                RuntimeError,
                "pad",
                f"padding ({before}, {after}) leaves dim {dim} of size {size} with size {out_size}",
                shapes,
            )
        cropped = size + min(before, 0) + min(after, 0)
        widest = max(before, after)
        if mode == "circular" and (widest > size or (out_size > 0 and widest > cropped)):
            raise fail(
                RuntimeError,
                "pad",
                f"circular padding ({before}, {after}) of dim {dim} wraps around more than once "
                f"(size {cropped} after cropping)",
                shapes,
            )
    if mode in ("reflect", "replicate") and all(
        input.shape[input.ndim - 1 - offset] + before + after < 1
        for offset, (before, after) in enumerate(pairs)
    ):
        raise fail(RuntimeError, "pad", f"padding {tuple(pad)} leaves no element in the padded dims", shapes)
    return pairs


def _pad_constant(x: torch.Tensor, dim: int, before: int, after: int, value: float) -> torch.Tensor:
    crop_before, crop_after = max(-before, 0), max(-after, 0)
    x = x.narrow(dim, crop_before, x.shape[dim] - crop_before - crop_after)

    def filled(amount: int) -> torch.Tensor:
        shape = list(x.shape)
        shape[dim] = amount
        return x.new_full(shape, value)

    parts = [filled(before)] if before > 0 else []
    parts.append(x)
    if after > 0:
        parts.append(filled(after))
    return torch.cat(parts, dim=dim) if len(parts) > 1 else x


def _source_index(size: int, before: int, after: int, mode: str, device: torch.device) -> torch.Tensor:
    """For each output position, the input position it reads."""
    if mode == "circular":  # crop first, then wrap around what is left
        start = max(-before, 0)
        size = size - start - max(-after, 0)
        j = torch.arange(-max(before, 0), size + max(after, 0), device=device)
        return j.remainder(size) + start
    j = torch.arange(-before, size + after, device=device)
    if mode == "replicate":
        return j.clamp(0, size - 1)
    last = size - 1  # reflect
    return last - (last - j.abs()).abs()
