"""Check cases: cosine_similarity (zero vectors, broadcasting, dims), pairwise_distance (p, eps,
keepdim), pdist (p, equal rows)."""

import math

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register


def pair(shape1, shape2, zero_row=False, **kwargs):
    def make(generator: torch.Generator):
        x1 = torch.randn(shape1, generator=generator, dtype=torch.float64)
        x2 = torch.randn(shape2, generator=generator, dtype=torch.float64)
        if zero_row:
            x1[0] = 0
        return (x1, x2), dict(kwargs)

    return make


register(
    "cosine_similarity",
    F.cosine_similarity,
    torch_F.cosine_similarity,
    [
        pair((4, 5), (4, 5), zero_row=True),
        pair((3, 4, 2), (4, 1), dim=1),
        pair((6,), (6,), dim=0, eps=0.5),
        pair((2, 3, 4), (2, 3, 4), dim=-1),
    ],
)
register(
    "pairwise_distance",
    F.pairwise_distance,
    torch_F.pairwise_distance,
    [pair((4, 5), (4, 5))]
    + [pair((3, 4), (4,), p=p) for p in (1.0, 3.0, 0.5, math.inf, -math.inf, -1.0)]
    + [pair((2, 3, 4), (2, 3, 4), keepdim=True), pair((5,), (5,), eps=0.0)],
)


def rows(n, d, p):
    def make(generator: torch.Generator):
        x = torch.randn(n, d, generator=generator, dtype=torch.float64)
        if n > 2:
            x[1] = x[0]  # a zero distance: torch's gradient there is 0
        return (x, p), {}

    return make


register(
    "pdist",
    F.pdist,
    torch_F.pdist,
    [rows(5, 3, p) for p in (2.0, 1.0, 0.0, 3.0, 1.5, 0.5, math.inf)] + [rows(1, 3, 2.0)],
)
