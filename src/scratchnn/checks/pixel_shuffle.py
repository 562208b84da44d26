"""Check cases: pixel_shuffle and pixel_unshuffle with batched, unbatched and extra leading dims; the
N-d forms (which torch lacks) against a view-and-permute reference."""

from functools import partial

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register


def make(shape: tuple[int, ...], factor: int, generator: torch.Generator):
    return (torch.randn(*shape, generator=generator, dtype=torch.float64), factor), {}


register(
    "pixel_shuffle",
    F.pixel_shuffle,
    torch_F.pixel_shuffle,
    [
        partial(make, shape, r)
        for shape, r in [((2, 12, 3, 4), 2), ((18, 2, 3), 3), ((2, 3, 8, 2, 2), 2), ((2, 4, 3, 3), 1)]
    ],
)
register(
    "pixel_unshuffle",
    F.pixel_unshuffle,
    torch_F.pixel_unshuffle,
    [
        partial(make, shape, r)
        for shape, r in [((2, 3, 6, 4), 2), ((2, 6, 9), 3), ((2, 3, 2, 4, 6), 2), ((2, 4, 3, 3), 1)]
    ],
)


def reference_shuffle_nd(input: torch.Tensor, upscale_factor, ndim: int) -> torch.Tensor:
    """torch has no N-d pixel shuffle: this reference spells it with view and permute."""
    factors = [upscale_factor] * ndim if isinstance(upscale_factor, int) else list(upscale_factor)
    lead, channels, spatial = input.shape[: -ndim - 1], input.shape[-ndim - 1], input.shape[-ndim:]
    block = 1
    for f in factors:
        block *= f
    x = input.reshape(-1, channels // block, *factors, *spatial)  # B c r1 … rn s1 … sn
    order = [0, 1] + [item for i in range(ndim) for item in (2 + ndim + i, 2 + i)]  # B c s1 r1 … sn rn
    x = x.permute(order)
    return x.reshape(*lead, channels // block, *(s * f for s, f in zip(spatial, factors)))


def reference_unshuffle_nd(input: torch.Tensor, downscale_factor, ndim: int) -> torch.Tensor:
    factors = [downscale_factor] * ndim if isinstance(downscale_factor, int) else list(downscale_factor)
    lead, channels, spatial = input.shape[: -ndim - 1], input.shape[-ndim - 1], input.shape[-ndim:]
    sizes = [s // f for s, f in zip(spatial, factors)]
    x = input.reshape(-1, channels, *[item for s, f in zip(sizes, factors) for item in (s, f)])
    order = [0, 1] + [3 + 2 * i for i in range(ndim)] + [2 + 2 * i for i in range(ndim)]  # B c r… s…
    block = 1
    for f in factors:
        block *= f
    return x.permute(order).reshape(*lead, channels * block, *sizes)


def make_nd(shape: tuple[int, ...], factor, ndim: int, generator: torch.Generator):
    return (torch.randn(*shape, generator=generator, dtype=torch.float64), factor, ndim), {}


register(
    "pixel_shuffle_nd",
    F.pixel_shuffle_nd,
    reference_shuffle_nd,
    [
        partial(make_nd, shape, r, n)
        for shape, r, n in [
            ((2, 6, 5), 3, 1),
            ((2, 12, 3, 4), (2, 3), 2),
            ((16, 2, 3, 1), 2, 3),
            ((2, 3, 12, 2, 1, 2), (1, 3, 4), 3),
        ]
    ],
)
register(
    "pixel_unshuffle_nd",
    F.pixel_unshuffle_nd,
    reference_unshuffle_nd,
    [
        partial(make_nd, shape, r, n)
        for shape, r, n in [
            ((2, 2, 15), 3, 1),
            ((2, 3, 4, 9), (2, 3), 2),
            ((2, 4, 6, 2), 2, 3),
            ((2, 3, 1, 2, 6, 8), (1, 3, 4), 3),
        ]
    ],
)
register(
    "channel_shuffle",
    F.channel_shuffle,
    torch_F.channel_shuffle,
    [
        partial(make, shape, g)
        for shape, g in [((2, 6, 3, 4), 3), ((2, 4, 5), 2), ((1, 8, 2, 2, 2), 4), ((2, 3, 4), 1)]
    ],
)
# the same op under torch's second name; torch's native_channel_shuffle has no derivative, so the
# gradients are compared with channel_shuffle's
register(
    "native_channel_shuffle",
    F.native_channel_shuffle,
    torch_F.channel_shuffle,
    [partial(make, shape, g) for shape, g in [((2, 6, 3, 4), 3), ((2, 4, 5), 2)]],
)
