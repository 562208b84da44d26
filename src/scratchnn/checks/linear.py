"""Check cases: linear, matmul, mm, bmm, including 1-D operands and broadcast batch dims."""

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register


def shapes(*shapes):
    def make(generator: torch.Generator):
        return tuple(torch.randn(*s, generator=generator, dtype=torch.float64) for s in shapes), {}

    return make


def linear_case(input_shape, weight_shape, bias_shape):
    def make(generator: torch.Generator):
        args: list[torch.Tensor | None] = [
            torch.randn(*input_shape, generator=generator, dtype=torch.float64)
        ]
        args.append(torch.randn(*weight_shape, generator=generator, dtype=torch.float64))
        args.append(
            None if bias_shape is None else torch.randn(*bias_shape, generator=generator, dtype=torch.float64)
        )
        return tuple(args), {}

    return make


register(
    "linear",
    F.linear,
    torch_F.linear,
    [
        linear_case((5, 3), (4, 3), (4,)),
        linear_case((2, 5, 3), (4, 3), None),
        linear_case((3,), (4, 3), (4,)),
        linear_case((2, 3), (3,), None),
    ],
)
register(
    "matmul",
    F.matmul,
    torch.matmul,
    [
        shapes((3,), (3,)),
        shapes((2, 3), (3,)),
        shapes((3,), (3, 4)),
        shapes((5, 2, 3), (3, 4)),
        shapes((7, 1, 2, 3), (5, 3, 4)),
        shapes((3,), (5, 3, 4)),
        shapes((5, 2, 3), (3,)),
    ],
)
register("mm", F.mm, torch.mm, [shapes((2, 3), (3, 4)), shapes((1, 5), (5, 1))])
register("bmm", F.bmm, torch.bmm, [shapes((5, 2, 3), (5, 3, 4)), shapes((1, 1, 5), (1, 5, 2))])


def scaled(*shapes, **kwargs):
    def make(generator: torch.Generator):
        return tuple(torch.randn(*s, generator=generator, dtype=torch.float64) for s in shapes), dict(kwargs)

    return make


register("mv", F.mv, torch.mv, [shapes((2, 3), (3,)), shapes((1, 5), (5,))])
register(
    "addmm",
    F.addmm,
    torch.addmm,
    [
        scaled((2, 4), (2, 3), (3, 4)),
        scaled((4,), (2, 3), (3, 4), beta=0.5, alpha=-2.0),
        scaled((1, 1), (2, 3), (3, 4), beta=0),
    ],
)
register(
    "addmv",
    F.addmv,
    torch.addmv,
    [scaled((2,), (2, 3), (3,)), scaled((1,), (2, 3), (3,), beta=2.0, alpha=0.5)],
)
register(
    "baddbmm",
    F.baddbmm,
    torch.baddbmm,
    [scaled((5, 2, 4), (5, 2, 3), (5, 3, 4)), scaled((2, 4), (5, 2, 3), (5, 3, 4), beta=0.0, alpha=1.5)],
)
register(
    "addbmm",
    F.addbmm,
    torch.addbmm,
    [scaled((2, 4), (5, 2, 3), (5, 3, 4)), scaled((4,), (5, 2, 3), (5, 3, 4), beta=-1.0, alpha=0.5)],
)


def equation(spec, *shapes):
    def make(generator: torch.Generator):
        return (spec, *(torch.randn(*s, generator=generator, dtype=torch.float64) for s in shapes)), {}

    return make


register(
    "einsum",
    F.einsum,
    torch.einsum,
    [
        equation("ij,jk->ik", (2, 3), (3, 4)),
        equation("bij,bjk", (5, 2, 3), (5, 3, 4)),
        equation("ii->i", (3, 3)),
        equation("...ij,...jk->...ik", (5, 1, 2, 3), (7, 3, 4)),
        equation("ij,jk,kl->il", (2, 3), (3, 4), (4, 5)),
        equation("i,j->ij", (3,), (4,)),
        equation("ijk->", (2, 3, 4)),
    ],
)


def grouped(shape_a, shape_b, ends):
    """float32 operands (torch's grouped_mm takes no float64); the output up to the last offset."""

    def make(generator: torch.Generator):
        a = torch.randn(*shape_a, generator=generator, dtype=torch.float32)
        b = torch.randn(*shape_b, generator=generator, dtype=torch.float32)
        offs = None if ends is None else torch.tensor(ends, dtype=torch.int32)
        return (a, b), {"offs": offs}

    return make


def defined_part(grouped_mm):
    """``grouped_mm`` without the rows (columns) past the last offset, which torch leaves unwritten."""

    def call(a, b, offs=None):
        out = grouped_mm(a, b, offs=offs)
        if offs is None or a.ndim == b.ndim:
            return out
        end = int(offs[-1])
        return out[:end] if a.ndim == 2 else out[:, :end]

    return call


register(
    "grouped_mm",
    defined_part(F.grouped_mm),
    defined_part(torch_F.grouped_mm),
    [
        grouped((10, 8), (3, 8, 4), [2, 6, 10]),  # (rows past the last offset: torch's gradient is undefined)
        grouped((3, 4, 8), (8, 12), [4, 4, 12]),
        grouped((4, 12), (12, 8), [4, 8, 12]),
        grouped((3, 4, 8), (3, 8, 4), None),
    ],
    dtype=torch.float32,
)
