"""Check cases: pixel_shuffle and pixel_unshuffle with batched, unbatched and extra leading dims."""

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
