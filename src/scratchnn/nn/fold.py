"""``Unfold`` (im2col) and ``Fold`` (col2im) modules: torch's constructors and ``repr``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import functional as F

__all__ = ["Fold", "Unfold"]

IntOrPair = int | Sequence[int]


class Fold(nn.Module):
    """``torch.nn.Fold``: columns (b, c·kh·kw, L) → image (b, c, H, W), overlaps summed.

    >>> import torch
    >>> Fold(output_size=(4, 5), kernel_size=2)(torch.randn(1, 12, 12)).shape
    torch.Size([1, 3, 4, 5])
    """

    def __init__(
        self,
        output_size: IntOrPair,
        kernel_size: IntOrPair,
        dilation: IntOrPair = 1,
        padding: IntOrPair = 0,
        stride: IntOrPair = 1,
    ) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )


class Unfold(nn.Module):
    """``torch.nn.Unfold``: image (b, c, H, W) → columns (b, c·kh·kw, L), one per window.

    >>> import torch
    >>> Unfold(kernel_size=2)(torch.randn(1, 3, 4, 5)).shape
    torch.Size([1, 12, 12])
    """

    def __init__(
        self,
        kernel_size: IntOrPair,
        dilation: IntOrPair = 1,
        padding: IntOrPair = 0,
        stride: IntOrPair = 1,
    ) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
            f"stride={self.stride}"
        )
