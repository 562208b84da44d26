"""Upsampling modules: torch.nn's ``Upsample``, ``UpsamplingNearest2d`` and
``UpsamplingBilinear2d``; forward is one call into ``scratchnn.functional.interpolate``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import functional as F

__all__ = ["Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d"]


class Upsample(nn.Module):
    """``torch.nn.Upsample`` from scratch: ``interpolate`` with the stored arguments.

    As in torch, a tuple ``scale_factor`` is stored as floats and a falsy one (``None``, ``0``) as None.

    >>> Upsample(scale_factor=2, mode="bilinear")
    Upsample(scale_factor=2.0, mode='bilinear')
    >>> Upsample(size=(4, 6))(torch.randn(1, 2, 2, 3)).shape
    torch.Size([1, 2, 4, 6])
    """

    def __init__(
        self,
        size: int | Sequence[int] | None = None,
        scale_factor: float | Sequence[float] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor: float | tuple[float, ...] | None = tuple(
                float(factor) for factor in scale_factor
            )
        else:
            # a list fails here, as in torch
            self.scale_factor = float(scale_factor) if scale_factor else None  # type: ignore[arg-type]
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.interpolate(
            input,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            recompute_scale_factor=self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``torch.nn.UpsamplingNearest2d``: ``Upsample(mode="nearest")`` on (b, c, H, W).

    >>> UpsamplingNearest2d(scale_factor=2)(torch.arange(4.).view(1, 1, 2, 2))[0, 0]
    tensor([[0., 0., 1., 1.],
            [0., 0., 1., 1.],
            [2., 2., 3., 3.],
            [2., 2., 3., 3.]])
    """

    def __init__(
        self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None
    ):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``torch.nn.UpsamplingBilinear2d``: ``Upsample(mode="bilinear", align_corners=True)``.

    >>> UpsamplingBilinear2d(size=3)(torch.arange(4.).view(1, 1, 2, 2))[0, 0]
    tensor([[0.0000, 0.5000, 1.0000],
            [1.0000, 1.5000, 2.0000],
            [2.0000, 2.5000, 3.0000]])
    """

    def __init__(
        self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None
    ):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
