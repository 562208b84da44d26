"""Check cases: unfold (im2col) and fold (col2im) over kernel sizes, dilation, padding and stride,
batched and unbatched, with fold's output larger than the blocks cover."""

from functools import partial
from typing import Any

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from .._windows import output_size
from ..check import register

CONFIGS: list[dict[str, Any]] = [
    dict(kernel_size=2),
    dict(kernel_size=(2, 3), dilation=(1, 2), padding=(1, 0), stride=(2, 1)),
    dict(kernel_size=3, padding=2, stride=3, dilation=2),  # windows that skip input rows
    dict(kernel_size=(1, 4), stride=(1, 2)),
]
SIZE = (7, 8)


def make_unfold(config: dict, batched: bool, generator: torch.Generator):
    x = torch.randn(*([2] if batched else []), 3, *SIZE, generator=generator, dtype=torch.float64)
    return (x,), config


def make_fold(config: dict, batched: bool, generator: torch.Generator):
    pairs = {k: (v, v) if isinstance(v, int) else v for k, v in config.items()}
    kernel, stride = pairs["kernel_size"], pairs.get("stride", (1, 1))
    padding, dilation = pairs.get("padding", (0, 0)), pairs.get("dilation", (1, 1))
    blocks = 1
    for size, k, s, p, d in zip(SIZE, kernel, stride, padding, dilation):
        blocks *= output_size(size, k, s, 2 * p, d)
    columns = 3 * kernel[0] * kernel[1]
    x = torch.randn(*([2] if batched else []), columns, blocks, generator=generator, dtype=torch.float64)
    return (x, SIZE), config


register(
    "unfold",
    F.unfold,
    torch_F.unfold,
    [partial(make_unfold, config, batched) for config in CONFIGS for batched in (True, False)],
)
register(
    "fold",
    F.fold,
    torch_F.fold,
    [partial(make_fold, config, batched) for config in CONFIGS for batched in (True, False)],
)
