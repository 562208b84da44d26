"""Pixel shuffle modules: ``PixelShuffle``/``PixelUnshuffle`` (torch's, 2-D) and their N-d forms;
``ChannelShuffle``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import functional as F

__all__ = ["ChannelShuffle", "PixelShuffle", "PixelShuffleNd", "PixelUnshuffle", "PixelUnshuffleNd"]


class PixelShuffle(nn.Module):
    """``torch.nn.PixelShuffle``: ``... (c r r) h w → ... c (h r) (w r)``.

    >>> import torch
    >>> PixelShuffle(3)(torch.randn(1, 18, 4, 4)).shape
    torch.Size([1, 2, 12, 12])
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(nn.Module):
    """``torch.nn.PixelUnshuffle``: ``... c (h r) (w r) → ... (c r r) h w``.

    >>> import torch
    >>> PixelUnshuffle(3)(torch.randn(1, 2, 12, 12)).shape
    torch.Size([1, 18, 4, 4])
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class PixelShuffleNd(nn.Module):
    """Pixel shuffle over the last ``ndim`` dims (torch has 2-D only).

    ``... (c r1 … rn) s1 … sn → ... c (s1 r1) … (sn rn)``

    >>> import torch
    >>> PixelShuffleNd((2, 3), ndim=2)(torch.randn(1, 12, 4, 4)).shape
    torch.Size([1, 2, 8, 12])
    """

    def __init__(self, upscale_factor: int | Sequence[int], ndim: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor if isinstance(upscale_factor, int) else tuple(upscale_factor)
        self.ndim = ndim

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle_nd(input, self.upscale_factor, self.ndim)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}, ndim={self.ndim}"


class PixelUnshuffleNd(nn.Module):
    """Pixel unshuffle over the last ``ndim`` dims (torch has 2-D only).

    ``... c (s1 r1) … (sn rn) → ... (c r1 … rn) s1 … sn``

    >>> import torch
    >>> PixelUnshuffleNd(2, ndim=3)(torch.randn(1, 1, 4, 4, 4)).shape
    torch.Size([1, 8, 2, 2, 2])
    """

    def __init__(self, downscale_factor: int | Sequence[int], ndim: int) -> None:
        super().__init__()
        self.downscale_factor = (
            downscale_factor if isinstance(downscale_factor, int) else tuple(downscale_factor)
        )
        self.ndim = ndim

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.pixel_unshuffle_nd(input, self.downscale_factor, self.ndim)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}, ndim={self.ndim}"


class ChannelShuffle(nn.Module):
    """``torch.nn.ChannelShuffle``: ``b (g c) ... → b (c g) ...``.

    >>> ChannelShuffle(2)
    ChannelShuffle(groups=2)
    """

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
