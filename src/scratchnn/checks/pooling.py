"""Check cases: max/avg/lp pooling over strides, padding, dilation, ceil_mode windows that start
in the padding, count_include_pad, divisor_override, return_indices and unbatched input; adaptive
pooling to smaller, larger and partly kept sizes; max_unpool from torch's own pooling indices."""

from functools import partial
from typing import Any

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register

SPATIAL = (9, 8, 7)


def tensor(shape, generator):
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def make_pool(n: int, config: dict, batched: bool, generator: torch.Generator):
    """An input (b, c, *spatial) or (c, *spatial) and the keyword arguments, cut to n dims."""
    config = {k: (v[:n] if isinstance(v, tuple) else v) for k, v in config.items()}
    x = tensor((*([2] if batched else []), 3, *SPATIAL[:n]), generator)
    return (x,), config


MAX_CONFIGS: list[dict[str, Any]] = [
    dict(kernel_size=3),
    dict(kernel_size=(3, 2, 2), stride=2, padding=1, return_indices=True),
    dict(
        kernel_size=2, stride=(3, 2, 2), padding=1, ceil_mode=True, return_indices=True
    ),  # starts in padding
    dict(kernel_size=(2, 3, 2), stride=(2, 1, 3), padding=(1, 1, 0), dilation=(2, 1, 2), ceil_mode=True),
    dict(kernel_size=3, stride=2, dilation=2, return_indices=True),
]
AVG_CONFIGS: list[dict[str, Any]] = [
    dict(kernel_size=3),
    dict(kernel_size=(3, 2, 2), stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=2, stride=(3, 2, 2), padding=1, ceil_mode=True),  # ends past the right padding
    dict(kernel_size=(2, 3, 2), stride=(2, 1, 3), padding=(1, 1, 0), ceil_mode=True, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, divisor_override=5),
]
LP_CONFIGS: list[dict[str, Any]] = [
    dict(norm_type=2.0, kernel_size=3),
    dict(norm_type=1.5, kernel_size=2, stride=(3, 2, 2), ceil_mode=True),
    dict(norm_type=float("inf"), kernel_size=3, stride=2),
]
ADAPTIVE_SIZES = [(4, 3, 2), (1, 1, 1), (11, 13, 9), (5, None, 3)]


def make_lp(n: int, config: dict, batched: bool, generator: torch.Generator):
    (x,), config = make_pool(n, config, batched, generator)
    config = dict(config)
    if n == 1 and not isinstance(config["kernel_size"], int):  # lp_pool1d takes an int kernel
        config["kernel_size"] = config["kernel_size"][0]
    # |x| keeps fractional powers real; the sign of x still shows in p = inf
    x = x.abs() + 0.1 if config["norm_type"] != float("inf") else x
    norm_type, kernel_size = config.pop("norm_type"), config.pop("kernel_size")
    return (x, norm_type, kernel_size), config


def make_adaptive(n: int, size: tuple, batched: bool, with_indices: bool, generator: torch.Generator):
    (x,), _ = make_pool(n, {}, batched, generator)
    output_size = size[0] if n == 1 else size[:n]
    return (x, output_size), ({"return_indices": True} if with_indices else {})


def make_unpool(
    n: int, config: dict, output_size, batched: bool, generator: torch.Generator, spatial=SPATIAL
):
    """torch's max pool of a random input gives the indices; the values are random."""
    source = tensor((*([2] if batched else []), 3, *spatial[:n]), generator)
    pool = {1: torch_F.max_pool1d, 2: torch_F.max_pool2d, 3: torch_F.max_pool3d}[n]
    _, indices = pool(source, **config, return_indices=True)
    values = tensor(indices.shape, generator)
    return (values, indices, config["kernel_size"]), {
        "stride": config.get("stride"),
        "padding": config.get("padding", 0),
        "output_size": output_size,
    }


for n in (1, 2, 3):
    name = f"max_pool{n}d"
    register(
        name,
        getattr(F, name),
        getattr(torch_F, name),
        [partial(make_pool, n, config, batched) for config in MAX_CONFIGS for batched in (True, False)],
    )
    name = f"avg_pool{n}d"
    avg_configs = [c for c in AVG_CONFIGS if n > 1 or "divisor_override" not in c]
    register(
        name,
        getattr(F, name),
        getattr(torch_F, name),
        [partial(make_pool, n, config, batched) for config in avg_configs for batched in (True, False)],
    )
    name = f"lp_pool{n}d"
    register(
        name,
        getattr(F, name),
        getattr(torch_F, name),
        [partial(make_lp, n, config, batched) for config in LP_CONFIGS for batched in (True, False)],
    )
    for kind, with_indices in (("avg", (False,)), ("max", (False, True))):
        name = f"adaptive_{kind}_pool{n}d"
        register(
            name,
            getattr(F, name),
            getattr(torch_F, name),
            [
                partial(make_adaptive, n, size, batched, indices)
                for size in ADAPTIVE_SIZES
                if n > 1 or size[0] is not None
                for batched in (True, False)
                for indices in with_indices
            ],
        )
    name = f"max_unpool{n}d"
    full = tuple(SPATIAL[:n])
    register(
        name,
        getattr(F, name),
        getattr(torch_F, name),
        [
            partial(make_unpool, n, {"kernel_size": 2}, None, True, spatial=(8, 6, 4)),  # the default size
            partial(make_unpool, n, {"kernel_size": 2}, full, False),  # odd sizes: output_size recovers them
            partial(make_unpool, n, {"kernel_size": 3, "stride": 2, "padding": 1}, full, True),
            partial(
                make_unpool, n, {"kernel_size": 3, "stride": 1}, None, True
            ),  # overlapping: repeated indices
        ],
    )

for n in (1, 2, 3):  # the *_with_indices spellings: (values, indices) whatever return_indices says
    name = f"max_pool{n}d_with_indices"
    register(
        name,
        getattr(F, name),
        getattr(torch_F, name),
        [partial(make_pool, n, config, True) for config in MAX_CONFIGS[:3]],
    )
    name = f"adaptive_max_pool{n}d_with_indices"
    register(
        name,
        getattr(F, name),
        getattr(torch_F, name),
        [
            partial(make_adaptive, n, size, batched, False)
            for size in ADAPTIVE_SIZES[:2]
            for batched in (True, False)
        ],
    )
