"""Check cases: the space-to-batch schedule of dilated convolution (``schedules/dilation.py``) against
torch's conv1d/2d/3d, over dilations with and without a common factor with the stride, 'same'
padding, groups and unbatched input."""

from functools import partial
from typing import Any

import torch
import torch.nn.functional as torch_F

from .._settings import settings
from ..check import register
from ..functional.conv import conv_nd

CONFIGS: list[dict[str, Any]] = [
    dict(dilation=2),
    dict(dilation=(4, 3, 2), padding=(4, 3, 2)),
    dict(dilation=3, padding="same", groups=2),
    dict(dilation=(2, 4, 3), stride=(3, 2, 3), padding=1),  # strides sharing factors with the dilation
    dict(dilation=5, stride=2, padding=(0, 2, 1), groups=4),
]


def make(n: int, config: dict, batched: bool, generator: torch.Generator):
    config = {k: (v[:n] if isinstance(v, tuple) else v) for k, v in config.items()}
    groups = config.get("groups", 1)
    x = torch.randn(*([2] if batched else []), 4, *[13, 11, 9][:n], generator=generator, dtype=torch.float64)
    w = torch.randn(4, 4 // groups, *[3, 2, 2][:n], generator=generator, dtype=torch.float64)
    b = torch.randn(4, generator=generator, dtype=torch.float64)
    return (x, w, b), config


def space_to_batch(n: int, op: str):
    def conv(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        with settings(conv="space-to-batch"):
            return conv_nd(input, weight, bias, stride, padding, dilation, groups, n, op)

    conv.__name__ = f"{op}_space_to_batch"
    return conv


for n, theirs in [(1, torch_F.conv1d), (2, torch_F.conv2d), (3, torch_F.conv3d)]:
    ours = space_to_batch(n, f"conv{n}d")
    register(
        ours.__name__,
        ours,
        theirs,
        [partial(make, n, config, batched) for config in CONFIGS for batched in (True, False)],
    )
