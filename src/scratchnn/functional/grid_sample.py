"""Sampling an input at arbitrary points: ``affine_grid`` makes the points, ``grid_sample`` reads them.

Legend: b batch, c channels, n = 2 or 3 spatial dims; the input's spatial sizes S are (h_in, w_in)
or (d_in, h_in, w_in), the output's o are (h, w) or (d, h, w). A grid point lists its coordinates
as (x, y) or (x, y, z): x runs along w, y along h, z along d — the reverse of the dims' order.

    affine_grid  grid[b, o] = theta[b] · (x_o, y_o, [z_o,] 1)     x_o: w points spread over [-1, 1]
    grid_sample  out[b, c, o] = Σ_taps weight(grid[b, o]) · input[b, c, tap(grid[b, o])]

A coordinate u ∈ [-1, 1] names the input position (``align_corners=True``: −1 and 1 are the
centres of the corner pixels; ``False``: their outer edges)::

    align_corners=True   i = (u + 1) · (S − 1) / 2
    align_corners=False  i = (u + 1) · S / 2 − ½

``padding_mode`` says what a position outside the input reads: ``zeros`` — taps outside read 0;
``border`` — the position is clamped to [0, S − 1]; ``reflection`` — it is mirrored at the
borders (the corner centres, or edges, as ``align_corners`` says), then clamped. Then::

    nearest   1 tap    round(i) (half to even)
    bilinear  2 taps   ⌊i⌋ with weight ⌊i⌋ + 1 − i, ⌊i⌋ + 1 with weight i − ⌊i⌋     per dim: 2ⁿ gathers
    bicubic   4 taps   ⌊i⌋ − 1 … ⌊i⌋ + 2, Keys' cubic weights (A = −0.75)          2-D only, 16 gathers
              (here the position is not padded; each tap is, on its own)

Gradients: w.r.t. ``input`` the scatter-add of the gathers; w.r.t. ``grid`` through the weights,
the unnormalization and the padding map, with torch's conventions: a clamped coordinate, also
one exactly on the border, has gradient 0; a mirrored one ±1.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch

from .._args import fail, warn
from .._contract import contract
from .._trace import rearrange
from .activation import _differentiated_as
from .interpolate import cubic_weights

__all__ = ["affine_grid", "grid_sample"]

MODES = ("bilinear", "nearest", "bicubic")
PADDING_MODES = ("zeros", "border", "reflection")
_DEFAULT_CHANGED = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
    "Please specify align_corners=True if the old behavior is desired. "
    "See the documentation of grid_sample for details."
)

Taps = list[tuple[torch.Tensor, torch.Tensor]]  # (position, weight), per tap


def _base_coordinates(steps: int, align_corners: bool, like: torch.Tensor) -> torch.Tensor:
    """The ``steps`` coordinates an output dim samples: evenly over [-1, 1] (align_corners), or
    the centres of ``steps`` equal cells of [-1, 1]; one point is 0."""
    if steps <= 1:
        return like.new_zeros(steps)
    points = torch.linspace(-1, 1, steps, dtype=like.dtype, device=like.device)
    return points if align_corners else points * (steps - 1) / steps


def affine_grid(theta: torch.Tensor, size: Sequence[int], align_corners: bool | None = None) -> torch.Tensor:
    """grid[b, o] = theta[b] · (x_o, y_o, [z_o,] 1): the points an affine map sends each output
    position to, for :func:`grid_sample`.

    Legend: b batch, k = n + 1 homogeneous coordinates, i = n grid coordinates.
    theta (b, 2, 3), size (b, c, h, w) → grid (b, h, w, 2);  theta (b, 3, 4), size (b, c, d, h, w)
    → grid (b, d, h, w, 3)

    >>> identity = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    >>> affine_grid(identity, (1, 1, 2, 2), align_corners=True)[0]
    tensor([[[-1., -1.],
             [ 1., -1.]],
    <BLANKLINE>
            [[-1.,  1.],
             [ 1.,  1.]]])
    """
    if align_corners is None:
        warn(_DEFAULT_CHANGED, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"affine_grid: Expected theta to have floating point type, but got {theta.dtype}")
    size = list(size)
    if len(size) not in (4, 5):
        raise NotImplementedError(
            "affine_grid: affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {size}."
        )
    n = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[-2:]) != (n, n + 1):
        raise fail(
            ValueError,
            "affine_grid",
            f"Expected a batch of {n}D affine matrices of shape Nx{n}x{n + 1} for size {size}. "
            f"Got {theta.shape}.",
            {"theta": ("b i k", theta.shape)},
        )
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
            "align_corners=True. This is not an intended use case of affine_grid. "
            "See the documentation of affine_grid for details.",
            stacklevel=2,
        )
    elif min(size) <= 0:
        raise ValueError(f"affine_grid: Expected non-zero, positive output size. Got {size}")
    if theta.dtype in (torch.float16, torch.bfloat16) and 1 in spatial:
        # torch makes a unit dim's single coordinate with a kernel that has no half types
        name = {torch.float16: "Half", torch.bfloat16: "BFloat16"}[theta.dtype]
        raise NotImplementedError(
            f"affine_grid: \"tensor_cpu\" not implemented for '{name}' (a size-1 output dim of a "
            f"{theta.dtype} theta, size {size})"
        )
    if theta.shape[0] != size[0]:
        raise fail(
            RuntimeError,
            "affine_grid",
            f"theta holds {theta.shape[0]} matrices but size asks for a batch of {size[0]}",
            {"theta": ("b i k", theta.shape)},
        )
    axes = torch.meshgrid(*[_base_coordinates(s, align_corners, theta) for s in spatial], indexing="ij")
    base = torch.stack([*reversed(axes), torch.ones_like(axes[0])], dim=-1)  # (d) h w k: x, y, (z,) 1
    if n == 2:
        grid = contract("h w k, b i k -> b h w i", base, theta)
    else:
        grid = contract("d h w k, b i k -> b d h w i", base, theta)
    return grid.contiguous()  # torch's grid is contiguous, whatever order the contraction left


def grid_sample(
    input: torch.Tensor,
    grid: torch.Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> torch.Tensor:
    """out[b, c, o] = input sampled at grid[b, o], by ``mode``, with ``padding_mode`` outside.

    input (b, c, h_in, w_in) · grid (b, h, w, 2) → (b, c, h, w);
    input (b, c, d_in, h_in, w_in) · grid (b, d, h, w, 3) → (b, c, d, h, w)

    >>> image = torch.arange(4.0).view(1, 1, 2, 2)
    >>> grid_sample(image, torch.tensor([[[[0.0, 0.0], [1.0, -1.0]]]]), align_corners=True)
    tensor([[[[1.5000, 1.0000]]]])
    """
    if mode not in MODES:
        raise ValueError(
            "grid_sample: nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in PADDING_MODES:
        raise ValueError(
            "grid_sample: nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    if align_corners is None:
        warn(_DEFAULT_CHANGED, stacklevel=2)
        align_corners = False
    _check_sample(input, grid, mode)
    sizes = input.shape[2:]
    n = len(sizes)
    coordinates = reversed(grid.unbind(-1))  # in the dims' order: ((z,) y, x), each (b, *o)
    positions = [_unnormalize(u, size, align_corners, n) for u, size in zip(coordinates, sizes)]
    if mode == "bicubic":
        taps = [_cubic_taps(i) for i in positions]
    else:
        positions = [_pad(i, size, padding_mode, align_corners, n) for i, size in zip(positions, sizes)]
        taps = [_nearest_taps(i) if mode == "nearest" else _linear_taps(i) for i in positions]
    out = None
    for combination in itertools.product(*taps):  # one gather per combination of taps along the dims
        index, weight, inside = [], input.new_ones(()), torch.ones((), dtype=torch.bool, device=input.device)
        for (position, tap_weight), size in zip(combination, sizes):
            if mode == "bicubic":
                position = _pad(position, size, padding_mode, align_corners, n)
            tap = position.long()
            inside = inside & (tap >= 0) & (tap < size)
            index.append(tap.clamp(0, size - 1))
            weight = weight * tap_weight
        # b c *o: taps outside the input read 0 (skipped, as torch's kernel: an inf there is no NaN)
        term = torch.where(inside.unsqueeze(1), _gather(input, index) * weight.unsqueeze(1), 0)
        out = term if out is None else out + term
    assert out is not None
    if mode == "bicubic" or (mode == "bilinear" and padding_mode == "zeros" and n == 2):
        # torch's 2-D kernel multiplies its (masked) taps by the weights of the unpadded position:
        # a NaN or infinite grid point gives NaN there (its 3-D kernel skips the taps outside)
        unknown = ~torch.isfinite(grid).all(-1)  # b *o
        out = torch.where(unknown.unsqueeze(1), torch.nan, out)
    return out.contiguous()  # torch's output is contiguous, also for a channels-last input


def _check_sample(input: torch.Tensor, grid: torch.Tensor, mode: str) -> None:
    """torch's checks, in torch's order."""
    shapes = {"input": ("b c *S", input.shape), "grid": ("b *o n", grid.shape)}
    if input.ndim == 0 or grid.ndim == 0 or input.shape[0] != grid.shape[0]:
        raise fail(RuntimeError, "grid_sample", "expected grid and input to have same batch size", shapes)
    if grid.shape[-1] != input.ndim - 2:
        raise fail(
            RuntimeError,
            "grid_sample",
            f"expected grid to have size {input.ndim - 2} in last dimension, but got grid with sizes "
            f"{list(grid.shape)}",
            shapes,
        )
    for dim in range(2, input.ndim):
        if input.shape[dim] == 0:
            raise fail(
                RuntimeError,
                "grid_sample",
                f"expected input to have non-empty spatial dimensions, but input has sizes "
                f"{list(input.shape)} with dimension {dim} being empty",
                shapes,
            )
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise fail(
            RuntimeError,
            "grid_sample",
            "expected 4D or 5D input and grid with same number of dimensions",
            shapes,
        )
    if mode == "bicubic" and input.ndim != 4:
        raise fail(RuntimeError, "grid_sample", "bicubic interpolation only supports 4D input", shapes)
    if not input.is_floating_point():
        raise NotImplementedError(
            f"grid_sample: not implemented for {input.dtype} input (floating point only)"
        )
    if grid.dtype != input.dtype:
        raise RuntimeError(
            f"grid_sample: expected input and grid of the same dtype, but input is {input.dtype} and grid "
            f"is {grid.dtype}"
        )


def _unnormalize(u: torch.Tensor, size: int, align_corners: bool, n: int) -> torch.Tensor:
    """The input position a coordinate in [-1, 1] names. torch's 2-D kernel scales (u + 1) by a
    precomputed factor, its 3-D kernel divides last; written as each, so float32 rounds as torch."""
    if n == 2:
        return (u + 1) * ((size - 1) / 2) if align_corners else (u + 1) * (size / 2) - 0.5
    return (u + 1) / 2 * (size - 1) if align_corners else ((u + 1) * size - 1) / 2


def _clip(i: torch.Tensor, size: int, n: int) -> torch.Tensor:
    """i clamped to [0, size − 1], with gradient 0 at and beyond both ends (torch's convention). A
    NaN position goes where torch's kernels send it: to 0 (2-D, vectorized), to size − 1 (3-D)."""
    if n == 3:
        return torch.where(i < size - 1, torch.where(i <= 0, 0, i), size - 1).to(i.dtype)
    return torch.where(i > 0, torch.where(i >= size - 1, size - 1, i), 0).to(i.dtype)


def _reflect(i: torch.Tensor, size: int, align_corners: bool) -> torch.Tensor:
    """i mirrored into [low, high] (the corner centres 0 … S − 1, or edges −½ … S − ½) as often as
    needed; its gradient is +1 or −1, as the number of mirrorings is even or odd."""
    low, high = (0.0, size - 1.0) if align_corners else (-0.5, size - 0.5)
    if low == high:
        return i * 0
    span = high - low
    shifted = i - low
    distance = shifted.abs()
    extra = torch.fmod(distance, span)
    even = torch.floor(distance / span) % 2 == 0
    value = torch.where(even, extra + low, span - extra + low)
    direction = torch.where(shifted < 0, -1, 1) * torch.where(even, 1, -1)  # ±1
    return _differentiated_as(value, i * direction.to(i.dtype))


def _pad(i: torch.Tensor, size: int, padding_mode: str, align_corners: bool, n: int) -> torch.Tensor:
    """The position that ``padding_mode`` reads for position i."""
    if padding_mode == "zeros":
        return i  # the taps outside read 0
    if padding_mode == "reflection":
        i = _reflect(i, size, align_corners)
    return _clip(i, size, n)


def _nearest_taps(i: torch.Tensor) -> Taps:
    # weight 1, yet part of the graph: the grid gets a zero gradient, as torch gives it
    return [(torch.round(i.detach()), _differentiated_as(torch.ones_like(i), i * 0))]


def _linear_taps(i: torch.Tensor) -> Taps:
    west = torch.floor(i.detach())
    return [(west, west + 1 - i), (west + 1, i - west)]


def _cubic_taps(i: torch.Tensor) -> Taps:
    west = torch.floor(i.detach())
    return [(west - 1 + j, weight) for j, weight in enumerate(cubic_weights(i - west))]


def _gather(input: torch.Tensor, index: list[torch.Tensor]) -> torch.Tensor:
    """input[b, c, index] for per-(b, o) positions inside the input: (b, c, *S) → (b, c, *o)."""
    batch = torch.arange(input.shape[0], device=input.device).view(-1, *[1] * (index[0].ndim - 1))  # b 1…1
    where: tuple[torch.Tensor | slice, ...] = (batch, slice(None), *index)
    values = input[where]  # b *o c: the indexed dims come first
    return rearrange(values, "b ... c -> b c ...")
