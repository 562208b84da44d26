"""Check cases: interpolate in every mode, up and down, by size and by scale_factor (recomputed or
not), with and without align_corners, antialias for bilinear/bicubic/lanczos."""

import warnings
from typing import Any

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register

SPATIAL = (7, 6, 5)

# (mode, number of spatial dims, keyword arguments)
CASES: list[tuple[str, int, dict[str, Any]]] = [
    ("nearest", 1, dict(size=11)),
    ("nearest", 2, dict(scale_factor=(2.0, 0.5))),
    ("nearest", 3, dict(size=(3, 8, 9))),
    ("nearest", 2, dict(scale_factor=1.7, recompute_scale_factor=True)),
    ("nearest-exact", 1, dict(scale_factor=0.6)),
    ("nearest-exact", 2, dict(size=(13, 4))),
    ("nearest-exact", 3, dict(scale_factor=(1.5, 2.0, 0.8))),
    ("linear", 1, dict(size=13)),
    ("linear", 1, dict(scale_factor=0.7, align_corners=True)),
    ("linear", 1, dict(size=1)),
    ("bilinear", 2, dict(scale_factor=2.0)),
    ("bilinear", 2, dict(size=(4, 11), align_corners=True)),
    ("bilinear", 2, dict(scale_factor=(1.3, 0.45), recompute_scale_factor=True)),
    ("bilinear", 2, dict(size=(3, 2), antialias=True)),
    ("trilinear", 3, dict(size=(9, 3, 5))),
    ("trilinear", 3, dict(scale_factor=1.5, align_corners=True)),
    ("bicubic", 2, dict(size=(12, 9))),
    ("bicubic", 2, dict(scale_factor=(0.6, 1.9), align_corners=True)),
    ("bicubic", 2, dict(size=(4, 3), antialias=True)),
    ("bicubic", 2, dict(size=(9, 2), antialias=True, align_corners=True)),
    ("lanczos", 2, dict(size=(3, 10), antialias=True)),
    ("area", 1, dict(size=4)),
    ("area", 2, dict(scale_factor=0.5)),
    ("area", 3, dict(size=(3, 4, 7))),
]


def make(mode: str, n: int, kwargs: dict):
    def make(generator: torch.Generator):
        x = torch.randn(2, 3, *SPATIAL[:n], generator=generator, dtype=torch.float64)
        return (x,), dict(kwargs, mode=mode)

    return make


register("interpolate", F.interpolate, torch_F.interpolate, [make(*case) for case in CASES])


def quiet(fn):
    """``fn`` without its deprecation warning (the deprecated upsample spellings)."""

    def call(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)

    return call


def upsampled(n: int, kwargs: dict):
    def make(generator: torch.Generator):
        x = torch.randn(2, 3, *SPATIAL[:n], generator=generator, dtype=torch.float64)
        return (x,), dict(kwargs)

    return make


UPSAMPLE: dict[str, list[tuple[int, dict[str, Any]]]] = {
    "upsample": [(1, dict(scale_factor=2.0)), (2, dict(size=(4, 11), mode="bilinear", align_corners=False))],
    "upsample_nearest": [(2, dict(scale_factor=1.5)), (3, dict(size=(3, 4, 7)))],
    "upsample_bilinear": [(2, dict(size=(4, 11))), (2, dict(scale_factor=0.6))],
}
for name, upsample_cases in UPSAMPLE.items():
    makers = [upsampled(n, kwargs) for n, kwargs in upsample_cases]
    register(name, quiet(getattr(F, name)), quiet(getattr(torch_F, name)), makers)
