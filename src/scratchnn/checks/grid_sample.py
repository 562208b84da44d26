"""Check cases: affine_grid (2-D, 3-D, align_corners) and grid_sample over every mode, padding mode
and align_corners, with grid points inside, on and beyond the borders."""

import itertools

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register


def theta_case(size, align_corners):
    def make(generator: torch.Generator):
        n = len(size) - 2
        theta = torch.randn(size[0], n, n + 1, generator=generator, dtype=torch.float64)
        return (theta, list(size), align_corners), {}

    return make


register(
    "affine_grid",
    F.affine_grid,
    torch_F.affine_grid,
    [theta_case(size, ac) for size in [(2, 3, 4, 5), (1, 1, 3, 4, 2), (2, 1, 1, 6)] for ac in (True, False)],
)


def sample_case(spatial, out, mode, padding_mode, align_corners):
    def make(generator: torch.Generator):
        n = len(spatial)
        x = torch.randn(2, 3, *spatial, generator=generator, dtype=torch.float64)
        grid = (
            2.6 * torch.rand(2, *out, n, generator=generator, dtype=torch.float64) - 1.3
        )  # beyond [-1, 1] too
        grid.view(-1)[:4] = torch.tensor([1.0, -1.0, 0.0, 0.5], dtype=torch.float64)  # on the borders
        return (x, grid), {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}

    return make


CASES = [
    sample_case(spatial, out, mode, padding, ac)
    for (spatial, out), mode, padding, ac in itertools.product(
        [((4, 5), (3, 6)), ((3, 4, 5), (2, 3, 2))],
        ["bilinear", "nearest", "bicubic"],
        ["zeros", "border", "reflection"],
        [True, False],
    )
    if not (mode == "bicubic" and len(spatial) == 3)
]
register("grid_sample", F.grid_sample, torch_F.grid_sample, CASES)
