"""Check cases: pad in every mode, 1 to 3 padded dims, batched and unbatched, negative pads."""

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register

CASES = [
    ((2, 3, 5), (2, 1), "constant", 1.5),
    ((2, 3, 5), (-1, 2), "constant", None),
    ((5,), (1, 1), "constant", None),
    ((2, 3, 4, 5), (1, 2, 3, 0, 1, 1, 1, 1), "constant", 0.0),
    ((2, 3, 5), (3, 4), "reflect", None),
    ((3, 4, 5), (2, 1, 3, 2), "reflect", None),
    ((2, 3, 4, 5, 6), (1, 2, 3, 2, 1, 0), "reflect", None),
    ((2, 3, 5), (6, -2), "replicate", None),
    ((3, 4, 5), (2, 1, 3, 2), "replicate", None),
    ((2, 3, 4, 5, 6), (1, 2, 3, 2, 1, 0), "replicate", None),
    ((2, 3, 5), (4, -1), "circular", None),
    ((3, 4, 5), (2, 1, 3, 2), "circular", None),
    ((2, 3, 4, 5, 6), (1, 2, 3, 2, -1, 0), "circular", None),
]


def make(shape, pad, mode, value):
    def make(generator: torch.Generator):
        x = torch.randn(*shape, generator=generator, dtype=torch.float64)
        kwargs = {"mode": mode} if value is None else {"mode": mode, "value": value}
        return (x, pad), kwargs

    return make


register("pad", F.pad, torch_F.pad, [make(*case) for case in CASES])
