"""Check cases: conv_transpose1d/2d/3d over stride, padding, output_padding (below the stride, and
below the dilation only), dilation, groups (incl. depthwise), bias and unbatched input."""

from functools import partial
from typing import Any

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register

CONFIGS: list[dict[str, Any]] = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=2, padding=1, output_padding=1),  # output_padding < stride
    dict(stride=1, dilation=3, output_padding=2),  # output_padding >= stride, < dilation
    dict(stride=(3, 2, 1), padding=(2, 0, 1), output_padding=(1, 1, 0), dilation=(1, 2, 2), groups=2),
    dict(stride=2, groups=4),  # depthwise
    dict(stride=(1, 3, 2), padding=3, dilation=2),  # padding crops more than the kernel reach at stride 1
]


def make(n: int, config: dict, batched: bool, bias: bool, generator: torch.Generator):
    config = {k: (v[:n] if isinstance(v, tuple) else v) for k, v in config.items()}
    groups = config.get("groups", 1)
    spatial = [5, 4, 3][:n]
    kernel = [3, 2, 3][:n]
    x = torch.randn(*([2] if batched else []), 4, *spatial, generator=generator, dtype=torch.float64)
    w = torch.randn(4, 6 // groups if groups != 4 else 1, *kernel, generator=generator, dtype=torch.float64)
    out_channels = w.shape[1] * groups
    b = torch.randn(out_channels, generator=generator, dtype=torch.float64) if bias else None
    return (x, w, b), config


for n, ours, theirs in [
    (1, F.conv_transpose1d, torch_F.conv_transpose1d),
    (2, F.conv_transpose2d, torch_F.conv_transpose2d),
    (3, F.conv_transpose3d, torch_F.conv_transpose3d),
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
