"""Semiring convolution and morphology modules; ``forward`` is one call into ``scratchnn.functional``.

* :class:`SemiringConv2d` — ``Conv2d``'s constructor, parameters and state_dict, over any semiring
  (``semiring="plus-times"`` loads a ``torch.nn.Conv2d`` state_dict and computes the same).
* :class:`AdderConv2d` — AdderNet's layer: ``-Σ|x − w|`` (``semiring="l1"``), exact gradient by
  default, the paper's modified gradient with ``gradient="adder"``.
* :class:`MorphologicalDilation2d`, :class:`MorphologicalErosion2d` — grayscale dilation/erosion
  with a learnable structuring element per channel (scipy's conventions, see
  ``functional/morphology.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import functional as F
from .._args import check_positive, ntuple
from ..functional.semiring import Semiring, get_semiring
from .conv import ConvNd

__all__ = ["AdderConv2d", "MorphologicalDilation2d", "MorphologicalErosion2d", "SemiringConv2d"]


class SemiringConv2d(ConvNd):
    """``Conv2d`` over a semiring: (b, c_in, H, W) → (b, c_out, h, w),
    ``out = ⊕ over (c_in, kh, kw) of window ⊗ weight (+ bias)``.

    Same arguments as ``torch.nn.Conv2d`` plus ``semiring`` (a name or a ``Semiring``);
    ``padding_mode="zeros"`` pads with the semiring's identity (−inf for max-plus), the other
    modes as ``Conv2d``. Initialization is ``Conv2d``'s.

    >>> layer = SemiringConv2d(4, 6, 3, padding=1, semiring="max-plus")
    >>> layer(torch.randn(2, 4, 8, 8)).shape
    torch.Size([2, 6, 8, 8])
    >>> layer
    SemiringConv2d(4, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), semiring='max-plus')
    """

    n = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        semiring: str | Semiring,
    ) -> None:
        ring = get_semiring(semiring)  # checked before any parameter is made
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )
        self.semiring = ring

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if self.padding_mode == "zeros":
            return F.semiring_conv2d(
                input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                semiring=self.semiring,
            )  # fmt: skip
        padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        return F.semiring_conv2d(
            padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups, semiring=self.semiring
        )

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, semiring={self.semiring.name!r}"


class AdderConv2d(SemiringConv2d):
    """AdderNet's adder layer (Chen et al., CVPR 2020): ``out = −Σ over (c_in, kh, kw) of
    |window − weight|`` (b, c_in, H, W) → (b, c_out, h, w), in bounded memory.

    ``gradient="exact"`` (default) back-propagates the true (sub)gradient ``±sign(x − w)``;
    ``gradient="adder"`` the paper's: ``x − w`` for the weight, ``HardTanh(w − x)`` for the input
    (its adaptive learning-rate scaling is the optimizer's business and is not included).
    ``bias=False`` and weights drawn from N(0, 1), as in the paper's code.

    >>> layer = AdderConv2d(4, 8, 3, padding=1)
    >>> layer(torch.randn(2, 4, 8, 8)).shape
    torch.Size([2, 8, 8, 8])
    >>> layer
    AdderConv2d(4, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = False,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        gradient: str = "exact",
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
            device, dtype, semiring=get_semiring("l1", gradient=gradient),
        )  # fmt: skip
        self.gradient = gradient

    def reset_parameters(self) -> None:
        """The paper's initialization: weight ~ N(0, 1); bias 0."""
        nn.init.normal_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def extra_repr(self) -> str:
        s = ConvNd.extra_repr(self)
        return s if self.gradient == "exact" else f"{s}, gradient={self.gradient!r}"


class _Morphological2d(nn.Module):
    """A learnable structuring element per channel: weight (c, kh, kw), initialized flat (zeros)."""

    functional = staticmethod(F.dilation2d)

    def __init__(
        self,
        channels: int,
        kernel_size: int | Sequence[int],
        border_value: float | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if isinstance(channels, bool) or not isinstance(channels, int) or channels <= 0:
            raise ValueError(f"{name}: channels must be a positive integer, got channels={channels!r}")
        self.kernel_size = ntuple(kernel_size, 2, "kernel_size", name)
        check_positive(self.kernel_size, "kernel_size", name, ValueError)
        if border_value is not None and (
            isinstance(border_value, bool) or not isinstance(border_value, int | float)
        ):
            raise TypeError(
                f"{name}: border_value must be a number or None, got border_value={border_value!r}"
            )
        self.channels, self.border_value = channels, border_value
        self.weight = nn.Parameter(torch.empty(channels, *self.kernel_size, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """A flat element (zeros): the layer starts as a max (min) filter."""
        nn.init.zeros_(self.weight)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return type(self).functional(input, structure=self.weight, border_value=self.border_value)

    def extra_repr(self) -> str:
        s = f"{self.channels}, kernel_size={self.kernel_size}"
        return s if self.border_value is None else f"{s}, border_value={self.border_value}"


class MorphologicalDilation2d(_Morphological2d):
    """Grayscale dilation with a learnable structuring element per channel:
    (b, c, H, W) → (b, c, H, W), ``out = max over (p, q) of x[.., i + ch − p, j + cw − q] + weight[c, p, q]``.

    >>> layer = MorphologicalDilation2d(3, 5)
    >>> layer(torch.randn(2, 3, 16, 16)).shape, layer.weight.shape
    (torch.Size([2, 3, 16, 16]), torch.Size([3, 5, 5]))
    """

    functional = staticmethod(F.dilation2d)


class MorphologicalErosion2d(_Morphological2d):
    """Grayscale erosion with a learnable structuring element per channel:
    (b, c, H, W) → (b, c, H, W), ``out = min over (p, q) of x[.., i − ch + p, j − cw + q] − weight[c, p, q]``.

    >>> MorphologicalErosion2d(3, (3, 5), border_value=0.0)
    MorphologicalErosion2d(3, kernel_size=(3, 5), border_value=0.0)
    """

    functional = staticmethod(F.erosion2d)
