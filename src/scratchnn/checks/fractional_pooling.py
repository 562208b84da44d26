"""Check cases: fractional_max_pool2d/3d with explicit ``_random_samples`` (then the windows are
torch's), output_size or output_ratio, batched and unbatched, with indices."""

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register


def pool_case(shape, kernel, n, **kwargs):
    def make(generator: torch.Generator):
        x = torch.randn(shape, generator=generator, dtype=torch.float64)
        batch = shape[0] if len(shape) == n + 2 else 1
        samples = torch.rand(batch, shape[-n - 1], n, generator=generator, dtype=torch.float64)
        return (x, kernel), {**kwargs, "_random_samples": samples}

    return make


def samples_detached(fn):
    """torch refuses ``_random_samples`` that require grad (the harness makes every float leaf one)."""

    def call(*args, _random_samples, **kwargs):
        return fn(*args, _random_samples=_random_samples.detach(), **kwargs)

    return call


register(
    "fractional_max_pool2d",
    F.fractional_max_pool2d,
    samples_detached(torch_F.fractional_max_pool2d),
    [
        pool_case((2, 3, 9, 11), 2, 2, output_size=(4, 5)),
        pool_case((3, 10, 10), (3, 2), 2, output_ratio=(0.5, 0.7)),
        pool_case((1, 2, 7, 8), 2, 2, output_size=3, return_indices=True),
        pool_case((1, 2, 5, 6), 2, 2, output_size=1),
    ],
)
register(
    "fractional_max_pool3d",
    F.fractional_max_pool3d,
    samples_detached(torch_F.fractional_max_pool3d),
    [
        pool_case((2, 2, 6, 7, 8), 2, 3, output_size=(3, 4, 4)),
        pool_case((2, 6, 6, 7), (2, 3, 2), 3, output_ratio=0.5),
        pool_case((1, 2, 5, 6, 7), 2, 3, output_size=2, return_indices=True),
    ],
)

for n, cases in (
    (2, [((2, 3, 9, 11), (4, 5)), ((3, 8, 8), 3)]),
    (3, [((1, 2, 6, 7, 8), (3, 4, 4)), ((2, 5, 6, 7), 2)]),
):
    name = f"fractional_max_pool{n}d_with_indices"
    register(
        name,
        getattr(F, name),
        samples_detached(getattr(torch_F, name)),
        [pool_case(shape, 2, n, output_size=size) for shape, size in cases],
    )
