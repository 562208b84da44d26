"""Check cases: embedding (padding_idx, max_norm, scale_grad_by_freq), embedding_bag in every
mode (offsets, 2-D input, empty bags, per_sample_weights, padding_idx), bilinear."""

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register


def lookup(indices, vocab=6, dim=3, **kwargs):
    def make(generator: torch.Generator):
        weight = 2 * torch.randn(vocab, dim, generator=generator, dtype=torch.float64)
        return (torch.tensor(indices), weight), dict(kwargs)

    return make


register(
    "embedding",
    F.embedding,
    torch_F.embedding,
    [
        lookup([[1, 2, 1], [5, 0, 3]]),
        lookup([[1, 2, 1], [5, 0, 3]], padding_idx=1),
        lookup([4, 4, 0], padding_idx=-2, scale_grad_by_freq=True),
        lookup([[1, 2], [2, 5]], max_norm=1.0),
        lookup([[1, 2], [2, 5]], max_norm=0.5, norm_type=1.0),
        lookup(3),
    ],
)


def bag(indices, offsets=None, psw=False, **kwargs):
    def make(generator: torch.Generator):
        (input, weight), options = lookup(indices, **kwargs)(generator)
        if psw:
            options["per_sample_weights"] = torch.randn(input.shape, generator=generator, dtype=torch.float64)
        return (input, weight, None if offsets is None else torch.tensor(offsets)), options

    return make


for mode in ("sum", "mean", "max"):
    register(
        "embedding_bag",
        F.embedding_bag,
        torch_F.embedding_bag,
        [
            bag([1, 2, 1, 5, 0, 3], [0, 2, 2, 5], mode=mode),
            bag([[1, 2, 1], [5, 0, 3]], mode=mode, padding_idx=1),
            bag([1, 2, 1, 5, 0, 3], [0, 3, 6], mode=mode, include_last_offset=True),
            bag([4, 3, 3, 0], [0, 1], mode=mode, max_norm=1.0),
        ],
    )
register(
    "embedding_bag",
    F.embedding_bag,
    torch_F.embedding_bag,
    [
        bag([1, 2, 1, 5, 0, 3], [0, 4], psw=True, mode="sum"),
        bag([[1, 2], [3, 3]], psw=True, mode="sum", padding_idx=3),
    ],
)


def bilinear_case(shape1, shape2, out, bias=True):
    def make(generator: torch.Generator):
        x1 = torch.randn(*shape1, generator=generator, dtype=torch.float64)
        x2 = torch.randn(*shape2, generator=generator, dtype=torch.float64)
        weight = torch.randn(out, shape1[-1], shape2[-1], generator=generator, dtype=torch.float64)
        b = torch.randn(out, generator=generator, dtype=torch.float64) if bias else None
        return (x1, x2, weight, b), {}

    return make


register(
    "bilinear",
    F.bilinear,
    torch_F.bilinear,
    [
        bilinear_case((5, 3), (5, 2), 4),
        bilinear_case((2, 3, 4), (2, 3, 5), 2, False),
        bilinear_case((3,), (2,), 3),
    ],
)


def one_hot_case(shape, high, num_classes=-1):
    def make(generator: torch.Generator):
        return (torch.randint(0, high, shape, generator=generator), num_classes), {}

    return make


register(
    "one_hot",
    F.one_hot,
    torch_F.one_hot,
    [one_hot_case((5,), 4), one_hot_case((2, 3), 3, 6), one_hot_case((), 5, 5)],
)
