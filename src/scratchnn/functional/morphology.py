"""Grayscale morphology: dilation is a max-plus convolution, erosion a min-plus one.

Legend: b batch, c channels, H W image, kh kw structuring element, (ch, cw) = (kh // 2, kw // 2)
its centre, s the element's offsets (0 on a flat footprint), F the footprint.

    dilation(x)[b, c, i, j] = max over (p, q) in F of  x[b, c, i + ch − p, j + cw − q] + s[p, q]
    erosion(x)[b, c, i, j]  = min over (p, q) in F of  x[b, c, i − ch + p, j − cw + q] − s[p, q]

These are the conventions of ``scipy.ndimage.grey_dilation`` / ``grey_erosion`` (``size=``,
``footprint=``, ``structure=``, centre ``k // 2``, even sizes included) and of
``skimage.morphology.dilation`` / ``erosion`` for flat footprints: **dilation reflects the
element** (the Minkowski sum x ⊕ s: tap (p, q) reads the pixel *before* the centre by p − ch),
**erosion does not** (x ⊖ s). For a symmetric element the two read the same pixels. They are
adjoint: erosion(x, s) = −dilation(−x, s reflected) for odd sizes, and opening = dilation of the
erosion removes bright details smaller than the element.

In semiring terms: dilation = ``semiring_conv2d(x, flip(s), padding=(kh−1−ch, ch), …,
semiring="max-plus")`` with one element per channel (``groups = c``), off-footprint taps at
−inf; erosion = ``min-plus`` with −s, padding (ch, kh−1−ch), off-footprint taps at +inf.

Borders (``border_value``):

* ``None`` (default): pixels outside the image are *ignored* (padding with −inf for dilation, +inf
  for erosion) — skimage's ``mode="ignore"``, kornia's ``border_type="geodesic"``;
* a number: pixels outside the image take that value — scipy's ``mode="constant",
  cval=border_value`` (scipy's own default, ``mode="reflect"``, is not offered).

Flat rectangular elements (``size=``, or an all-True ``footprint``) take the separable path of
``semiring.py``: O(log k) passes per axis and O(image) memory whatever the element size, with the
gradient of the literal form (ties split equally). Other elements run chunked over offsets.

>>> x = torch.zeros(1, 1, 5, 5); x[0, 0, 2, 2] = 1
>>> dilation2d(x, size=3)[0, 0]
tensor([[0., 0., 0., 0., 0.],
        [0., 1., 1., 1., 0.],
        [0., 1., 1., 1., 0.],
        [0., 1., 1., 1., 0.],
        [0., 0., 0., 0., 0.]])
>>> erosion2d(dilation2d(x, size=3), size=3)[0, 0, 2]  # closing
tensor([0., 0., 1., 0., 0.])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .._args import check_floating, check_positive, check_rank, check_same_dtype, fail, ntuple
from .._windows import Geometry
from .semiring import get_semiring, semiring_conv

__all__ = ["closing2d", "dilation2d", "erosion2d", "gradient2d", "opening2d", "tophat2d"]

Element = torch.Tensor | None


def dilation2d(
    input: torch.Tensor,
    size: int | Sequence[int] | None = None,
    footprint: Element = None,
    structure: Element = None,
    *,
    border_value: float | None = None,
) -> torch.Tensor:
    """Grayscale dilation (scipy.ndimage.grey_dilation's conventions; see the module docstring).

    input (b, c, H, W) or (c, H, W); ``size`` (kh, kw) a flat rectangle, or ``footprint`` (kh, kw)
    or (c, kh, kw) boolean, and/or ``structure`` (kh, kw) or (c, kh, kw) offsets. Same shape out.

    >>> x = torch.tensor([[[0., 5., 0., 0., 2.]]])
    >>> dilation2d(x, structure=torch.tensor([[0., -1., -3.]]))  # tap (0, 2) reads the pixel 1 before
    tensor([[[5., 4., 2., 2., 1.]]])
    """
    return _morphology("dilation2d", input, size, footprint, structure, border_value, dilate=True)


def erosion2d(
    input: torch.Tensor,
    size: int | Sequence[int] | None = None,
    footprint: Element = None,
    structure: Element = None,
    *,
    border_value: float | None = None,
) -> torch.Tensor:
    """Grayscale erosion (scipy.ndimage.grey_erosion's conventions; see the module docstring).

    >>> x = torch.tensor([[[9., 5., 9., 9., 7.]]])
    >>> erosion2d(x, structure=torch.tensor([[0., 1., 3.]]))  # tap (0, 2) reads the pixel 1 after
    tensor([[[2., 4., 5., 4., 6.]]])
    """
    return _morphology("erosion2d", input, size, footprint, structure, border_value, dilate=False)


def opening2d(
    input: torch.Tensor,
    size: int | Sequence[int] | None = None,
    footprint: Element = None,
    structure: Element = None,
    *,
    border_value: float | None = None,
) -> torch.Tensor:
    """Opening: dilation of the erosion (scipy.ndimage.grey_opening). Removes bright details
    smaller than the element.

    >>> opening2d(torch.tensor([[[0., 0., 7., 0., 3., 3., 3.]]]), size=(1, 3))
    tensor([[[0., 0., 0., 0., 3., 3., 3.]]])
    """
    eroded = _morphology("opening2d", input, size, footprint, structure, border_value, dilate=False)
    return _morphology("opening2d", eroded, size, footprint, structure, border_value, dilate=True)


def closing2d(
    input: torch.Tensor,
    size: int | Sequence[int] | None = None,
    footprint: Element = None,
    structure: Element = None,
    *,
    border_value: float | None = None,
) -> torch.Tensor:
    """Closing: erosion of the dilation (scipy.ndimage.grey_closing). Removes dark details
    smaller than the element.

    >>> closing2d(torch.tensor([[[5., 5., 0., 5., 1., 1., 1.]]]), size=(1, 3))
    tensor([[[5., 5., 5., 5., 1., 1., 1.]]])
    """
    dilated = _morphology("closing2d", input, size, footprint, structure, border_value, dilate=True)
    return _morphology("closing2d", dilated, size, footprint, structure, border_value, dilate=False)


def gradient2d(
    input: torch.Tensor,
    size: int | Sequence[int] | None = None,
    footprint: Element = None,
    structure: Element = None,
    *,
    border_value: float | None = None,
) -> torch.Tensor:
    """Morphological gradient: dilation − erosion (scipy.ndimage.morphological_gradient).

    >>> gradient2d(torch.tensor([[[0., 0., 4., 4., 4.]]]), size=(1, 3))
    tensor([[[0., 4., 4., 0., 0.]]])
    """
    dilated = _morphology("gradient2d", input, size, footprint, structure, border_value, dilate=True)
    return dilated - _morphology("gradient2d", input, size, footprint, structure, border_value, dilate=False)


def tophat2d(
    input: torch.Tensor,
    size: int | Sequence[int] | None = None,
    footprint: Element = None,
    structure: Element = None,
    *,
    border_value: float | None = None,
) -> torch.Tensor:
    """White top-hat: input − opening (scipy.ndimage.white_tophat): the bright details smaller
    than the element. (The black top-hat is ``closing2d(x, …) − x``.)

    >>> tophat2d(torch.tensor([[[1., 1., 7., 1., 3., 3., 3.]]]), size=(1, 3))
    tensor([[[0., 0., 6., 0., 0., 0., 0.]]])
    """
    eroded = _morphology("tophat2d", input, size, footprint, structure, border_value, dilate=False)
    return input - _morphology("tophat2d", eroded, size, footprint, structure, border_value, dilate=True)


def _morphology(
    op: str,
    input: torch.Tensor,
    size: int | Sequence[int] | None,
    footprint: Element,
    structure: Element,
    border_value: float | None,
    dilate: bool,
) -> torch.Tensor:
    legend = "b, c, H, W"
    check_rank(input, (3, 4), "input", legend, op, "(unbatched (c, H, W) or batched (b, c, H, W))")
    check_floating(op, input, error=RuntimeError)
    if border_value is not None and (
        isinstance(border_value, bool) or not isinstance(border_value, int | float)
    ):
        raise TypeError(f"{op}: border_value must be a number or None, got border_value={border_value!r}")
    channels = input.shape[-3]
    offsets = _element(op, input, channels, size, footprint, structure)  # (1 or c, kh, kw), ±inf off F
    kernel = offsets.shape[-2:]
    centre = [k // 2 for k in kernel]
    if dilate:
        weight = offsets.flip(-2, -1)  # the reflected element
        padding = [(k - 1 - c, c) for k, c in zip(kernel, centre)]
        semiring = get_semiring("max-plus")
    else:
        weight = -offsets
        padding = [(c, k - 1 - c) for k, c in zip(kernel, centre)]
        semiring = get_semiring("min-plus")
    weight = weight.expand(channels, *kernel).unsqueeze(1)  # c 1 kh kw: one element per channel
    x = input.unsqueeze(0) if input.ndim == 3 else input
    geometry = Geometry.of(x.shape[2:], kernel, (1, 1), padding)
    out = semiring_conv(x, weight, None, geometry, channels, semiring, border_value, input.ndim == 3)
    return out.squeeze(0) if input.ndim == 3 else out


def _element(
    op: str, input: torch.Tensor, channels: int, size, footprint: Element, structure: Element
) -> torch.Tensor:
    """The element as additive offsets (1 or c, kh, kw): ``structure`` (or 0) on the footprint,
    −inf off it (what dilation adds; erosion subtracts it, so off-footprint taps become +inf)."""
    if size is not None and (footprint is not None or structure is not None):
        raise ValueError(f"{op}: give either size, or footprint and/or structure, not both")
    if size is None and footprint is None and structure is None:
        raise ValueError(f"{op}: give the element: size=, footprint= or structure=")
    if size is not None:
        kernel = ntuple(size, 2, "size", op)
        check_positive(kernel, "size", op, ValueError)
        return input.new_zeros(1, *kernel)
    shapes = {}
    for name, element in (("footprint", footprint), ("structure", structure)):
        if element is None:
            continue
        if not isinstance(element, torch.Tensor):
            raise TypeError(f"{op}: {name} must be a tensor, got {type(element).__name__}")
        shapes[name] = ("c, kh, kw" if element.ndim == 3 else "kh, kw", element.shape)
        if element.ndim not in (2, 3) or (element.ndim == 3 and element.shape[0] not in (1, channels)):
            raise fail(
                ValueError,
                op,
                f"{name} must be (kh, kw) or (c, kh, kw) with c = {channels} input channels",
                {"input": ("b, c, H, W", input.shape), name: shapes[name]},
            )
        if math.prod(element.shape[-2:]) == 0:
            raise fail(ValueError, op, f"{name} must not be empty", {name: shapes[name]})
    if footprint is not None and structure is not None and footprint.shape[-2:] != structure.shape[-2:]:
        raise fail(ValueError, op, "footprint and structure must have the same (kh, kw)", shapes)
    if structure is not None:
        check_same_dtype(op, input=input, structure=structure)
        offsets = structure if structure.ndim == 3 else structure.unsqueeze(0)
    else:
        offsets = input.new_zeros(1, *footprint.shape[-2:])  # type: ignore[union-attr]
    if footprint is not None:
        inside = (footprint != 0).to(input.device)
        if not bool(inside.flatten(-2).any(-1).all()):
            raise fail(
                ValueError, op, "footprint must contain at least one True element (per channel)", shapes
            )
        inside = inside if inside.ndim == 3 else inside.unsqueeze(0)
        offsets = torch.where(inside, offsets, -math.inf)
    return offsets
