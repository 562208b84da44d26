"""Pixel shuffle: trade channels for resolution, one ``rearrange`` each way.

Legend: c channels, h w spatial positions, r1 r2 the factor along each spatial dim;
``...`` any leading dims (batch, or none).

    pixel_shuffle    ... (c r1 r2) h w  →  ... c (h r1) (w r2)
    pixel_unshuffle  ... c (h r1) (w r2)  →  ... (c r1 r2) h w
    channel_shuffle  b (g c) ...          →  b (c g) ...           g groups of c channels

torch has them for 2-D only; ``pixel_shuffle_nd``/``pixel_unshuffle_nd`` are the same patterns
over any number of trailing spatial dims, with one factor per dim (what the sub-pixel form of a
``ConvTranspose1d``/``3d`` needs).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._args import channels_last_format, fail, in_memory_format, ntuple, spatial_legend
from .._trace import rearrange

__all__ = [
    "channel_shuffle",
    "native_channel_shuffle",
    "pixel_shuffle",
    "pixel_shuffle_nd",
    "pixel_unshuffle",
    "pixel_unshuffle_nd",
]


def _factors(value: int | Sequence[int], ndim: int, name: str, op: str) -> tuple[int, ...]:
    if isinstance(value, bool) or not isinstance(value, int | Sequence):
        raise TypeError(f"{op}: {name} must be an int or a sequence of ints, got {name}={value!r}")
    factors = ntuple(value, ndim, name, op)
    if any(f <= 0 for f in factors):
        raise RuntimeError(f"{op}: {name} must be positive, got {name}={value!r}")
    return factors


def _check_input(input: torch.Tensor, ndim: int, op: str) -> None:
    if not isinstance(ndim, int) or isinstance(ndim, bool) or ndim < 1:
        raise ValueError(f"{op}: ndim must be a positive int, got ndim={ndim!r}")
    if input.ndim < ndim + 1:
        names = " ".join(spatial_legend(ndim)[0])
        raise fail(
            RuntimeError,
            op,
            f"input must have at least {ndim + 1} dims (..., c, {names}), got a {input.ndim}-D tensor",
            {"input": ("...", input.shape)},
        )


def pixel_shuffle_nd(input: torch.Tensor, upscale_factor: int | Sequence[int], ndim: int) -> torch.Tensor:
    """N-d pixel shuffle: ``... (c r1 … rn) s1 … sn → ... c (s1 r1) … (sn rn)``.

    ``upscale_factor`` is one int, or one per spatial dim.

    >>> pixel_shuffle_nd(torch.randn(2, 12, 5), 3, ndim=1).shape
    torch.Size([2, 4, 15])
    >>> pixel_shuffle_nd(torch.randn(16, 2, 3, 4), (2, 1, 2), ndim=3).shape
    torch.Size([4, 4, 3, 8])
    """
    return _shuffle(input, upscale_factor, ndim, "pixel_shuffle_nd")


def pixel_unshuffle_nd(input: torch.Tensor, downscale_factor: int | Sequence[int], ndim: int) -> torch.Tensor:
    """N-d pixel unshuffle, the inverse: ``... c (s1 r1) … (sn rn) → ... (c r1 … rn) s1 … sn``.

    >>> x = torch.randn(2, 4, 15)
    >>> torch.equal(pixel_shuffle_nd(pixel_unshuffle_nd(x, 3, ndim=1), 3, ndim=1), x)
    True
    """
    return _unshuffle(input, downscale_factor, ndim, "pixel_unshuffle_nd")


def pixel_shuffle(input: torch.Tensor, upscale_factor: int) -> torch.Tensor:
    """``torch.nn.functional.pixel_shuffle``: ``... (c r r) h w → ... c (h r) (w r)``.

    >>> x = torch.arange(8.).view(1, 8, 1, 1)
    >>> pixel_shuffle(x, 2)
    tensor([[[[0., 1.],
              [2., 3.]],
    <BLANKLINE>
             [[4., 5.],
              [6., 7.]]]])
    """
    if isinstance(upscale_factor, bool) or not isinstance(upscale_factor, int):
        raise TypeError(
            f"pixel_shuffle: upscale_factor must be an int, got upscale_factor={upscale_factor!r}"
        )
    out = _shuffle(input, upscale_factor, 2, "pixel_shuffle")
    return in_memory_format(out, channels_last_format(input), otherwise_contiguous=True)  # as torch's kernel


def pixel_unshuffle(input: torch.Tensor, downscale_factor: int) -> torch.Tensor:
    """``torch.nn.functional.pixel_unshuffle``: ``... c (h r) (w r) → ... (c r r) h w``.

    >>> pixel_unshuffle(torch.randn(3, 2, 6, 4), 2).shape
    torch.Size([3, 8, 3, 2])
    """
    if isinstance(downscale_factor, bool) or not isinstance(downscale_factor, int):
        raise TypeError(
            f"pixel_unshuffle: downscale_factor must be an int, got downscale_factor={downscale_factor!r}"
        )
    out = _unshuffle(input, downscale_factor, 2, "pixel_unshuffle")
    return in_memory_format(out, channels_last_format(input), otherwise_contiguous=True)


def channel_shuffle(input: torch.Tensor, groups: int) -> torch.Tensor:
    """``b (g c) ... → b (c g) ...``: the channels in ``groups`` groups, interleaved.

    >>> channel_shuffle(torch.arange(6.0).view(1, 6, 1), 2).flatten()
    tensor([0., 3., 1., 4., 2., 5.])
    """
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise TypeError(f"channel_shuffle: groups must be an int, got groups={groups!r}")
    if groups <= 0:
        raise RuntimeError(
            "channel_shuffle: Number of groups to divide channels in must be positive. "
            f"Value of groups:{groups}"
        )
    if input.ndim <= 2:
        raise fail(
            RuntimeError,
            "channel_shuffle",
            f"channel_shuffle expects input with > 2 dims, but got input with sizes {list(input.shape)}",
            {"input": ("b c ...", input.shape)},
        )
    if input.shape[1] % groups:
        raise fail(
            RuntimeError,
            "channel_shuffle",
            f"Number of channels must be divisible by groups. Got {input.shape[1]} channels and "
            f"{groups} groups.",
            {"input": ("b (g c) ...", input.shape)},
        )
    out = _fresh(rearrange(input, "b (g c) ... -> b (c g) ...", g=groups), input)
    return in_memory_format(out, channels_last_format(input), otherwise_contiguous=True)  # as torch


def native_channel_shuffle(input: torch.Tensor, groups: int) -> torch.Tensor:
    """:func:`channel_shuffle` under torch's second name (torch's has no derivative; this one has).

    >>> native_channel_shuffle(torch.arange(4.0).view(1, 4, 1), 2).flatten()
    tensor([0., 2., 1., 3.])
    """
    return channel_shuffle(input, groups)


def _patterns(ndim: int) -> tuple[str, str, str]:
    """(channels with factors, spatial dims, spatial dims with factors) for an ``ndim``-d shuffle."""
    names = spatial_legend(ndim)[0]
    factors = [f"r{i + 1}" for i in range(ndim)]
    return (
        f"(c {' '.join(factors)})",
        " ".join(names),
        " ".join(f"({name} {factor})" for name, factor in zip(names, factors)),
    )


def _shuffle(input: torch.Tensor, upscale_factor: int | Sequence[int], ndim: int, op: str) -> torch.Tensor:
    _check_input(input, ndim, op)
    factors = _factors(upscale_factor, ndim, "upscale_factor", op)
    channels, block = input.shape[-ndim - 1], 1
    for f in factors:
        block *= f
    if channels % block:
        raise fail(
            RuntimeError,
            op,
            f"the channel dim ({channels}) must be divisible by the product of the upscale factors "
            f"{' × '.join(map(str, factors))} = {block}",
            {"input": ("..., c, " + ", ".join(spatial_legend(ndim)[0]), input.shape)},
        )
    grouped, spatial, spread = _patterns(ndim)
    sizes = {f"r{i + 1}": f for i, f in enumerate(factors)}
    return _fresh(rearrange(input, f"... {grouped} {spatial} -> ... c {spread}", **sizes), input)


def _unshuffle(
    input: torch.Tensor, downscale_factor: int | Sequence[int], ndim: int, op: str
) -> torch.Tensor:
    _check_input(input, ndim, op)
    factors = _factors(downscale_factor, ndim, "downscale_factor", op)
    names = spatial_legend(ndim)[0]
    for name, size, f in zip(names, input.shape[-ndim:], factors):
        if size % f:
            raise fail(
                RuntimeError,
                op,
                f"spatial dim {name} ({size}) must be divisible by downscale_factor {f}",
                {"input": ("..., c, " + ", ".join(names), input.shape)},
            )
    grouped, spatial, spread = _patterns(ndim)
    sizes = {f"r{i + 1}": f for i, f in enumerate(factors)}
    return _fresh(rearrange(input, f"... c {spread} -> ... {grouped} {spatial}", **sizes), input)


def _fresh(out: torch.Tensor, input: torch.Tensor) -> torch.Tensor:
    """torch's shuffles always return new memory; a rearrange that is a pure reshape (factor 1, or
    1×1 spatial dims) returns a view, so copy it then. (Traced by torch.compile, where data
    pointers cannot be compared: always copy; the compiler fuses the copy with the rearrange.)"""
    if torch.compiler.is_compiling():
        return out.clone()
    return out.clone() if out.numel() and out.data_ptr() == input.data_ptr() else out
