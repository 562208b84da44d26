"""Fractional max pooling (Graham, 2014): max over windows whose starts advance by a fractional step.

Legend: b batch, c channels; per spatial dim an input size S, an output size o, a kernel size k,
and one random sample u ∈ [0, 1) per (b, c) and dim. The windows of a dim start at::

    α = (S − k) / (o − 1)
    start[j] = ⌊(j + u) · α⌋ − ⌊u · α⌋    for j < o − 1,     start[o − 1] = S − k

computed in the input's precision, as torch does. The windows must fit: o + k − 1 ≤ S (torch's
3-D kernel wants o + k − 1 < S). ``out[b, c, j…]`` is the max of the input over
[start[j], start[j] + k) in each dim, torch's first maximum (a NaN wins); ``indices`` are flat
positions in each (b, c) plane (``h · W + w``); the gradient goes to them, summed where windows
overlap.

torch draws u with ``torch.rand(b, c, n)`` when ``_random_samples`` is not given (so does this
module: under the same seed the samples are torch's); passed explicitly, the result is torch's
exactly. One deliberate difference: a kernel size ≤ 0 raises RuntimeError, where torch returns
-inf for the empty windows (and, for a negative size, indices outside the input).

The samples' last axis lists the dims as torch's kernels read them: (w, h) for 2-D, (d, h, w)
for 3-D.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._args import check_positive, fail, ntuple
from .pooling import _pick_max, _positions

__all__ = [
    "fractional_max_pool2d",
    "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
]

_DIM_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}
_INPUT_LEGEND = {2: "(b) c h w", 3: "(b) c d h w"}


def _window_starts(sample: torch.Tensor, size: int, out: int, kernel: int) -> torch.Tensor:
    """The start of each of ``out`` windows along a dim of ``size``: (b, c) samples → (b, c, out)."""
    last = torch.full((*sample.shape, 1), size - kernel, dtype=torch.long, device=sample.device)
    if out <= 1:
        return last[..., :out]
    alpha = torch.tensor(size - kernel, dtype=sample.dtype) / (out - 1)  # in the input's precision
    j = torch.arange(out - 1, device=sample.device).to(sample.dtype)  # o − 1
    starts = ((j + sample[..., None]) * alpha).long() - (sample * alpha).long()[..., None]  # b c (o − 1)
    return torch.cat([starts, last], dim=-1)


def _output_size(input: torch.Tensor, output_size, output_ratio, n: int, op: str) -> tuple[int, ...]:
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op}: {op} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        if n == 2 and not isinstance(output_ratio, Sequence):  # torch takes len() of it (its module pairs it)
            raise TypeError(
                f"{op}: output_ratio must be a tuple of 2 ratios, got output_ratio={output_ratio!r}"
            )
        if n == 2 and len(output_ratio) > 2:
            raise ValueError(f"{op}: {op} requires output_ratio to either be a single Int or tuple of Ints.")
        ratio = tuple(output_ratio) if isinstance(output_ratio, Sequence) else (output_ratio,) * n
        if len(ratio) < n:
            raise IndexError(f"{op}: output_ratio must hold {n} ratios, got output_ratio={output_ratio!r}")
        return tuple(int(input.shape[-n + d] * ratio[d]) for d in range(n))
    try:
        return ntuple(output_size, n, "output_size", op)
    except RuntimeError:
        raise RuntimeError(f"{op}: output_size must either be a single Int or tuple of Ints") from None


def _check(
    input: torch.Tensor, kernel: Sequence[int], out: Sequence[int], samples: torch.Tensor, n: int, op: str
) -> None:
    """torch's checks, in its order: the input, the sizes, then the samples."""
    shapes = {"input": (_INPUT_LEGEND[n], input.shape)}
    if input.ndim not in (n + 1, n + 2):
        raise fail(
            RuntimeError, op, f"Expected {n + 1}D or {n + 2}D tensor, but got: {list(input.shape)}", shapes
        )
    for dim in range(1, input.ndim):
        if input.shape[dim] == 0:
            raise fail(
                RuntimeError,
                op,
                f"Expected input to have non-zero size for non-batch dimensions, but got {list(input.shape)} "
                f"with dimension {dim} being empty.",
                shapes,
            )
    if any(o < 0 for o in out):
        raise RuntimeError(f"{op}: output_size must be non-negative, got output_size={tuple(out)}")
    # torch's 3-D kernel wants the windows strictly inside (and checks d, w, h in that order)
    strict, order = (True, (0, 2, 1)) if n == 3 else (False, (0, 1))
    for d in order:
        name, size, o, k = _DIM_NAMES[n][d], input.shape[-n + d], out[d], kernel[d]
        if o + k - 1 > size - strict:
            relation = "<" if strict else "<="
            raise fail(
                RuntimeError,
                op,
                f"pool {name} {k} too large relative to input {name} {size} (output {name} {o}: needs "
                f"output + kernel - 1 {relation} input)",
                shapes,
            )
    if samples.dtype != input.dtype:
        raise RuntimeError(
            f"{op}: Expect _random_samples to have the same dtype as input, got {samples.dtype} "
            f"and {input.dtype}"
        )
    if not input.is_floating_point():
        raise NotImplementedError(f"{op}: not implemented for {input.dtype} input (floating point only)")
    if samples.ndim != 3:
        raise RuntimeError(f"{op}: Expect _random_samples to have 3 dimensions, got {samples.ndim}")
    batch = input.shape[0] if input.ndim == n + 2 else 1
    if samples.shape[0] < batch:
        raise RuntimeError(
            f"{op}: Expect _random_samples.size(0) no less then input batch size, got "
            f"{samples.shape[0]} < {batch}."
        )
    if samples.shape[1] != input.shape[-n - 1]:
        raise RuntimeError(
            f"{op}: Expect _random_samples.size(1) equals to input channel size, got {samples.shape[1]} "
            f"and {input.shape[-n - 1]} channels."
        )
    if samples.shape[2] != n:
        raise RuntimeError(f"{op}: Expect _random_samples.size(2) equals to {n}; got {samples.shape[2]}.")


def _fractional_max_pool(
    input: torch.Tensor,
    kernel_size,
    output_size,
    output_ratio,
    _random_samples: torch.Tensor | None,
    n: int,
    op: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The N-d fractional max pooling behind the 2-D and 3-D ops: (values, indices)."""
    out = _output_size(input, output_size, output_ratio, n, op)
    try:
        kernel = ntuple(kernel_size, n, "kernel_size", op)
    except RuntimeError:
        raise RuntimeError(f"{op}: kernel_size must either be a single Int or tuple of Ints") from None
    check_positive(kernel, "kernel_size", op)  # torch returns -inf (and stray indices) for empty windows
    if _random_samples is None:
        if input.ndim < n + 1:
            raise IndexError(f"{op}: input must be {n + 1}-D or {n + 2}-D, got a {input.ndim}-D tensor")
        if not input.is_floating_point():
            raise NotImplementedError(f"{op}: not implemented for {input.dtype} input (floating point only)")
        batch = 1 if input.ndim == n + 1 else input.shape[0]
        _random_samples = torch.rand(batch, input.shape[-n - 1], n, dtype=input.dtype, device=input.device)
    _check(input, kernel, out, _random_samples, n, op)
    batched = input.ndim == n + 2
    x = input if batched else input.unsqueeze(0)  # b c *S
    samples = _random_samples[: x.shape[0]]  # b c n
    order = (1, 0) if n == 2 else (0, 1, 2)  # the sample of each spatial dim: 2-D kernels read (w, h)
    spatial = x.shape[2:]
    # per dim: the input position of every (window, offset): b c o k, spread onto its own axes
    picks: list[torch.Tensor] = []
    for d in range(n):
        starts = _window_starts(samples[..., order[d]], spatial[d], out[d], kernel[d])  # b c o
        position = starts[..., None] + torch.arange(kernel[d], device=x.device)  # b c o k
        shape = [*position.shape[:2]] + [1] * (2 * n)
        shape[2 + d], shape[2 + n + d] = out[d], kernel[d]
        picks.append(position.view(shape))  # b c 1…o…1 1…k…1
    batch_index = torch.arange(x.shape[0], device=x.device).view(-1, *[1] * (2 * n + 1))
    channel_index = torch.arange(x.shape[1], device=x.device).view(1, -1, *[1] * (2 * n))
    windows = x[(batch_index, channel_index, *picks)]  # b c *o *k
    flat = windows.flatten(-n)  # b c *o K
    pick = _pick_max(flat)  # b c *o 1
    values = flat.gather(-1, pick).squeeze(-1)  # b c *o
    plane = _positions(spatial, x.device)  # *S: the flat index of each cell
    indices = plane[tuple(picks)].flatten(-n)  # b c *o K
    indices = indices.gather(-1, pick).squeeze(-1)  # b c *o
    if not batched:
        values, indices = values.squeeze(0), indices.squeeze(0)
    return values, indices


def fractional_max_pool2d_with_indices(
    input: torch.Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`fractional_max_pool2d` with its indices: (values, indices), both (b, c, h, w).

    input (b, c, H, W) or (c, H, W), kernel (kh, kw), output (h, w) = output_size, or
    ⌊(H, W) · output_ratio⌋.

    >>> x = torch.arange(16.0).view(1, 1, 4, 4)
    >>> fractional_max_pool2d_with_indices(x, 2, output_size=2, _random_samples=torch.full((1, 1, 2), 0.5))
    (tensor([[[[ 5.,  7.],
              [13., 15.]]]]), tensor([[[[ 5,  7],
              [13, 15]]]]))
    """
    return _fractional_max_pool(
        input, kernel_size, output_size, output_ratio, _random_samples, 2, "fractional_max_pool2d"
    )


def fractional_max_pool2d(
    input: torch.Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples: torch.Tensor | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """2-D fractional max pooling; with ``return_indices`` also the flat index (h · W + w) of each max.

    >>> fractional_max_pool2d(torch.randn(2, 3, 9, 9), 2, output_ratio=(0.5, 0.5)).shape
    torch.Size([2, 3, 4, 4])
    """
    values, indices = fractional_max_pool2d_with_indices(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples
    )
    return (values, indices) if return_indices else values


def fractional_max_pool3d_with_indices(
    input: torch.Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`fractional_max_pool3d` with its indices: (values, indices), both (b, c, d, h, w).

    >>> x = torch.randn(1, 2, 5, 6, 7)
    >>> [t.shape for t in fractional_max_pool3d_with_indices(x, 2, output_size=(2, 3, 3))]
    [torch.Size([1, 2, 2, 3, 3]), torch.Size([1, 2, 2, 3, 3])]
    """
    return _fractional_max_pool(
        input, kernel_size, output_size, output_ratio, _random_samples, 3, "fractional_max_pool3d"
    )


def fractional_max_pool3d(
    input: torch.Tensor,
    kernel_size,
    output_size=None,
    output_ratio=None,
    return_indices: bool = False,
    _random_samples: torch.Tensor | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """3-D fractional max pooling; with ``return_indices`` also the flat index (d · H · W + h · W + w).

    >>> fractional_max_pool3d(torch.randn(1, 2, 8, 8, 8), 3, output_ratio=0.5).shape
    torch.Size([1, 2, 4, 4, 4])
    """
    values, indices = fractional_max_pool3d_with_indices(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples
    )
    return (values, indices) if return_indices else values
