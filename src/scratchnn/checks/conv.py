"""Check cases: conv1d, conv2d, conv3d over strides, padding (ints, 'same', 'valid'), dilation,
groups, bias and unbatched input."""

from functools import partial
from typing import Any

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register

CONFIGS: list[dict[str, Any]] = [
    dict(),
    dict(stride=2, padding=1),
    dict(padding="same", dilation=2),
    dict(padding="valid", groups=2),
    dict(stride=(1, 2, 3), padding=(0, 1, 2), dilation=(2, 1, 1), groups=2),
    dict(padding="same", groups=4),
]


def make(n: int, config: dict, batched: bool, bias: bool, generator: torch.Generator):
    config = {k: (v[:n] if isinstance(v, tuple) else v) for k, v in config.items()}
    groups = config.get("groups", 1)
    spatial = [7, 6, 5][:n]
    kernel = [3, 2, 3][:n]  # an even kernel exercises asymmetric 'same' padding
    x = torch.randn(*([2] if batched else []), 4, *spatial, generator=generator, dtype=torch.float64)
    w = torch.randn(4, 4 // groups, *kernel, generator=generator, dtype=torch.float64)
    b = torch.randn(4, generator=generator, dtype=torch.float64) if bias else None
    return (x, w, b), config


for n, ours, theirs in [
    (1, F.conv1d, torch_F.conv1d),
    (2, F.conv2d, torch_F.conv2d),
    (3, F.conv3d, torch_F.conv3d),
]:
    register(
        ours.__name__,
        ours,
        theirs,
        [
            partial(make, n, config, batched, bias)
            for config in CONFIGS
            for batched, bias in ((True, True), (False, False))
        ],
    )


def make_tbc(steps: int, kernel: int, pad: int, generator: torch.Generator):
    x = torch.randn(steps, 2, 3, generator=generator, dtype=torch.float64)  # t b c_in
    w = torch.randn(kernel, 3, 4, generator=generator, dtype=torch.float64)  # k c_in c_out
    return (x, w, torch.randn(4, generator=generator, dtype=torch.float64), pad), {}


register(
    "conv_tbc",
    F.conv_tbc,
    torch_F.conv_tbc,
    [
        partial(make_tbc, steps, kernel, pad)
        for steps, kernel, pad in [(7, 3, 0), (6, 2, 1), (5, 1, 2), (8, 3, -1)]
    ],
)
