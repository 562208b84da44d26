"""The issue's benchmark cases: float32, batch 8 unless the name says otherwise.

Convolutions carry a bias (as ``nn.Conv*d`` does by default). Cases of ops that do not exist
yet are listed all the same and report *missing* until the op lands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .harness import Case, register

__all__: list[str] = []


def _randn(*shape: int) -> Callable[[torch.device], torch.Tensor]:
    return lambda device: torch.randn(*shape, device=device)


def _inputs(*makers: Callable[[torch.device], torch.Tensor]) -> Callable[[torch.device], tuple[Any, ...]]:
    def make(device: torch.device) -> tuple[Any, ...]:
        return tuple(maker(device) for maker in makers)

    return make


def _conv(
    name: str,
    n: int,
    x: tuple[int, ...],
    c_out: int,
    kernel: int,
    description: str,
    groups: int = 1,
    **kwargs: Any,
) -> None:
    c_in = x[1]
    weight = (c_out, c_in // groups, *[kernel] * n)
    register(
        Case(
            name,
            "conv",
            _inputs(_randn(*x), _randn(*weight), _randn(c_out)),
            ours=f"scratchnn.functional.conv{n}d",
            theirs=getattr(F, f"conv{n}d"),
            kwargs=dict(kwargs, groups=groups) if groups > 1 else kwargs,
            description=description,
        )
    )


_conv("conv2d resnet 3x3", 2, (8, 64, 56, 56), 64, 3, "64→64, 56², pad 1", padding=1)
_conv("conv2d 1x1", 2, (8, 256, 28, 28), 64, 1, "256→64, 28²")
_conv("conv2d strided 3x3 s2", 2, (8, 64, 56, 56), 128, 3, "64→128, 56², s2 pad 1", stride=2, padding=1)
_conv("conv2d depthwise 3x3", 2, (8, 128, 56, 56), 128, 3, "128 ch, 56², pad 1", groups=128, padding=1)
_conv("conv2d grouped 3x3 g32", 2, (8, 128, 28, 28), 128, 3, "128 ch, 28², g=32, pad 1", groups=32, padding=1)
_conv(
    "conv2d dilated 3x3 d4",
    2,
    (4, 64, 64, 64),
    64,
    3,
    "64 ch, 64², d=4, pad 4, batch 4",
    dilation=4,
    padding=4,
)
_conv("conv2d stem 7x7 s2", 2, (8, 3, 224, 224), 64, 7, "3→64, 224², s2 pad 3", stride=2, padding=3)
_conv("conv2d depthwise 7x7", 2, (8, 256, 28, 28), 256, 7, "256 ch, 28², pad 3", groups=256, padding=3)
_conv("conv1d audio k9", 1, (8, 64, 16000), 64, 9, "64→64, L 16000, pad 4", padding=4)
# A causal layer sees its input pre-padded on the left by d·(k-1) = 16.
_conv("conv1d causal k2 d16", 1, (8, 64, 16016), 64, 2, "64→64, L 16000 (+16 left pad), d=16", dilation=16)
_conv("conv3d video 3x3x3", 3, (2, 32, 16, 56, 56), 32, 3, "32→32, 16×56², pad 1, batch 2", padding=1)

for _name, _x, _c_out, _k, _padding, _desc in (
    ("conv_transpose2d 4x4 s2", (8, 64, 32, 32), 32, 4, 1, "64→32, 32² → 64², pad 1"),
    ("conv_transpose2d 2x2 s2", (8, 128, 32, 32), 64, 2, 0, "128→64, 32² → 64²"),
):
    register(
        Case(
            _name,
            "conv_transpose",
            _inputs(_randn(*_x), _randn(_x[1], _c_out, _k, _k), _randn(_c_out)),
            ours="scratchnn.functional.conv_transpose2d",
            theirs=F.conv_transpose2d,
            kwargs={"stride": 2, "padding": _padding},
            description=_desc,
        )
    )

register(
    Case(
        "linear 4096x1024→4096",
        "linear",
        _inputs(_randn(4096, 1024), _randn(4096, 1024), _randn(4096)),
        ours="scratchnn.functional.linear",
        theirs=F.linear,
        description="batch 4096, 1024→4096, bias",
    )
)
register(
    Case(
        "bmm 64x256x256",
        "linear",
        _inputs(_randn(64, 256, 256), _randn(64, 256, 256)),
        ours="scratchnn.functional.bmm",
        theirs=torch.bmm,
        description="64 × (256×256 @ 256×256)",
    )
)

_POOL_INPUT = _inputs(_randn(8, 64, 112, 112))
for _name, _op, _kwargs, _desc in (
    ("max_pool2d 3x3 s2", "max_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, "64 ch, 112², pad 1"),
    ("avg_pool2d 2x2", "avg_pool2d", {"kernel_size": 2}, "64 ch, 112²"),
    ("adaptive_avg_pool2d 1", "adaptive_avg_pool2d", {"output_size": 1}, "64 ch, 112² → 1²"),
):
    register(
        Case(
            _name,
            "pooling",
            _POOL_INPUT,
            ours=f"scratchnn.functional.{_op}",
            theirs=getattr(F, _op),
            kwargs=_kwargs,
            description=_desc,
        )
    )

for _n in (1024, 4096):
    register(
        Case(
            f"attention n{_n}",
            "attention",
            _inputs(*[_randn(1, 8, _n, 64)] * 3),
            ours="scratchnn.functional.scaled_dot_product_attention",
            theirs=F.scaled_dot_product_attention,
            description=f"b1 h8 d64, n={_n}",
        )
    )
