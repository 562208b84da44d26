"""Interpolation: gathers and weighted sums, one spatial dim at a time.

Every mode is separable. Resizing a dim from S to S' reads a few input positions ("taps") for
each output position o and weighs them::

    out[..., o, ...] = Σ_t weight_t[o] · input[..., index_t[o], ...]          gather, multiply, add

    nearest        index = min(⌊s·o⌋, S-1)                                     1 tap, weight 1
    nearest-exact  index = min(⌊s·(o + ½)⌋, S-1)                               1 tap, weight 1
    linear         x = s·(o + ½) - ½ clamped at 0 (align_corners: x = s·o);   2 taps
                   i = ⌊x⌋, λ = x - i:  (i, 1 - λ), (min(i + 1, S-1), λ)
    cubic          x as for linear, not clamped; i = ⌊x⌋, t = x - i:           4 taps
                   (clamp(i - 1 + j, 0, S-1), W_j(t)), Keys' cubic kernel with A = -0.75
    area           adaptive average pooling to S'

The step s is 1/scale_factor when a scale_factor is given (and not recomputed), S/S' otherwise,
and (S-1)/(S'-1) with align_corners — torch's formulas, computed in torch's precision (float32
for float32, float16, bfloat16 and uint8 inputs; float64 for float64). A linear dim whose size
does not change is copied, as torch does. ``bilinear``/``trilinear`` are ``linear`` over 2/3 dims,
``bicubic`` is ``cubic`` over 2.

``antialias=True`` (bilinear, bicubic, and ``lanczos`` which requires it) is PIL's resampling:
when shrinking by s, the filter (triangle, Keys' cubic with A = -0.5, or Lanczos-3) is stretched
s times and its taps renormalized, so each output averages all the input it covers.

Not reproduced: torch's uint8 path for the linear, cubic and antialias modes (it rounds in fixed
point); those raise NotImplementedError (nearest modes take uint8).

Known differences from torch 2.13's CPU kernels, where torch is the inconsistent one:

* antialias with an output width of 1: torch's forward copies the first row's value into every
  row (its own backward is the adjoint of the result computed here);
* torch's backward of ``nearest`` (1-D and large 2-D/3-D outputs), of ``bicubic`` and of antialias
  treats an unchanged dim — or, for ``nearest``, a doubled one — as a plain copy even when an
  explicit ``scale_factor`` maps it otherwise in the forward, so torch's gradient there is not
  the gradient of its forward; ours is (gradcheck passes).
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Sequence

import torch

from .._args import fail, warn
from .._trace import is_recording, record
from .adaptive_pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d

__all__ = ["interpolate", "upsample", "upsample_bilinear", "upsample_nearest"]

# mode → number of spatial dims it works on (None: any of 1, 2, 3)
MODES: dict[str, int | None] = {
    "nearest": None,
    "nearest-exact": None,
    "area": None,
    "linear": 1,
    "bilinear": 2,
    "bicubic": 2,
    "trilinear": 3,
    "lanczos": 2,
}
CUBIC_A = -0.75

Taps = list[tuple[torch.Tensor, torch.Tensor | None]]  # (index, weight or None for 1) per tap


def _is_integer(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, torch.Tensor):
        return value.ndim == 0 and not value.is_floating_point() and not value.is_complex()
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def _as_scale(value) -> float:
    """A scale factor: a real number (a tensor or a string is refused with TypeError, as torch)."""
    if not isinstance(value, numbers.Real):
        raise TypeError(
            f"interpolate: scale_factor must be a float or a tuple of floats, got {type(value).__name__}"
        )
    return float(value)


def _sizes_and_scales(
    input: torch.Tensor, size, scale_factor, mode: str, recompute_scale_factor: bool | None
) -> tuple[list[int], list[float | None]]:
    """torch's checks: exactly one of size / scale_factor, of the right length. Returns the output
    sizes and the scale factor of each dim that the coordinate mapping uses (None: size ratio).
    A size from a scale factor is truncated, ⌊S·f⌋."""
    n = input.ndim - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: give only one of size and scale_factor, got both")
    if size is not None:
        if isinstance(size, list | tuple):
            if len(size) != n:
                raise ValueError(
                    f"interpolate: size must have one entry per spatial dim of the input "
                    f"(b, c, *spatial) with spatial={spatial}, got size={tuple(size)}"
                )
            if not all(_is_integer(s) for s in size):
                raise TypeError(
                    f"interpolate: size must contain ints, got types {[type(s).__name__ for s in size]}"
                )
            sizes = [int(s) for s in size]
        else:
            if not _is_integer(size):
                raise TypeError(f"interpolate: size must be an int or a tuple of ints, got size={size!r}")
            sizes = [int(size)] * n
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size")
        return sizes, [None] * n
    if scale_factor is None:
        raise ValueError("interpolate: give either size or scale_factor, got neither")
    if isinstance(scale_factor, list | tuple):
        if len(scale_factor) != n:
            raise ValueError(
                f"interpolate: scale_factor must have one entry per spatial dim of the input "
                f"(b, c, *spatial) with spatial={spatial}, got scale_factor={tuple(scale_factor)}"
            )
        factors = [_as_scale(s) for s in scale_factor]
    else:
        factors = [_as_scale(scale_factor)] * n
    if not all(math.isfinite(s * f) for s, f in zip(spatial, factors)):
        raise RuntimeError(  # torch's size computation, in int64
            f"interpolate: value cannot be converted to type int64_t without overflow (output size "
            f"{tuple(spatial)} × scale_factor {tuple(factors)})"
        )
    sizes = [int(s * f) for s, f in zip(spatial, factors)]
    if recompute_scale_factor or mode == "area":  # the size from the scale, then the scale from the size
        return sizes, [None] * n
    return sizes, list(factors)


def _check_mode(input: torch.Tensor, mode: str) -> None:
    if mode not in MODES:
        raise NotImplementedError(f"interpolate: mode must be one of {', '.join(MODES)}; got mode={mode!r}")
    needs = MODES[mode]
    if input.ndim not in (3, 4, 5) or (needs is not None and input.ndim != needs + 2):
        expected = "a 3-D, 4-D or 5-D" if needs is None else f"a {needs + 2}-D"
        raise fail(
            NotImplementedError,
            "interpolate",
            f"mode={mode!r} needs {expected} input (batch, channel, *spatial), got a {input.ndim}-D input",
            {"input": ("b, c, *spatial", input.shape)},
        )


def _opmath(dtype: torch.dtype) -> torch.dtype:
    """The precision torch computes source positions in: float64 for float64, float32 otherwise."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _step(size: int, out: int, align_corners: bool, scale: float | None, dtype: torch.dtype) -> torch.Tensor:
    """Input positions per output position (torch's area_pixel_compute_scale), in ``dtype``."""
    if align_corners:
        if out > 1:
            return torch.tensor(size - 1, dtype=dtype) / (out - 1)
        return torch.zeros((), dtype=dtype)
    if scale is not None and scale > 0:
        return torch.tensor(1.0 / scale, dtype=dtype)
    return torch.tensor(size, dtype=dtype) / out


def _nearest_taps(
    size: int, out: int, scale: float | None, exact: bool, dtype: torch.dtype, fast_kernel: bool
) -> Taps:
    """One tap per output position: the input position it copies.

    torch has two kernels with slightly different index arithmetic; ``fast_kernel`` picks the
    one torch picks (see ``_torch_uses_fast_nearest``). Both floor in float32.
    """
    o = torch.arange(out)
    if fast_kernel:  # float32 throughout; copies an unchanged size, halves a doubled one
        if not exact and out == size:
            return [(o, None)]
        if not exact and out == 2 * size:
            return [(o // 2, None)]
        step = _step(size, out, False, scale, torch.float32)
        if exact:
            source = ((o.double() + 0.5) * step.double()).float().floor()
        else:
            source = (o.float() * step).floor()
    else:  # torch's generic kernel: positions in the op-math precision, floored in float32
        step = _step(size, out, False, scale, dtype)
        o = o.to(dtype)
        if exact:
            source = ((step * (o + 0.5) - 0.5).clamp(min=0) + 0.5).float().floor()
        else:
            source = (step * o).float().floor()
    return [(source.long().clamp(max=size - 1), None)]


def _linear_taps(
    size: int, out: int, scale: float | None, align_corners: bool, dtype: torch.dtype
) -> Taps | None:
    """Two taps per output position; None when the size does not change (torch copies)."""
    if out == size:
        return None
    step = _step(size, out, align_corners, scale, dtype)
    o = torch.arange(out, dtype=dtype)
    x = step * o if align_corners else (step * (o + 0.5) - 0.5).clamp(min=0)
    left = x.long().clamp(max=size - 1)  # x ≥ 0: truncation is the floor
    right = left + (left < size - 1)
    lam = (x - left).clamp(0, 1)
    return [(left, 1 - lam), (right, lam)]


def _cubic(x: torch.Tensor, near: bool) -> torch.Tensor:
    """Keys' cubic convolution kernel at distance x: |x| ≤ 1 (near) or 1 < |x| < 2."""
    a = CUBIC_A
    if near:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def _cubic_taps(size: int, out: int, scale: float | None, align_corners: bool, dtype: torch.dtype) -> Taps:
    """Four taps per output position, at i-1, i, i+1, i+2 (clamped to the input)."""
    step = _step(size, out, align_corners, scale, dtype)
    o = torch.arange(out, dtype=dtype)
    x = step * o if align_corners else step * (o + 0.5) - 0.5
    i = x.float().floor().long().clamp(max=size - 1)  # torch floors in float32 (floorf)
    t = (x - i).clamp(0, 1)
    return [((i - 1 + j).clamp(0, size - 1), w) for j, w in enumerate(cubic_weights(t))]


def cubic_weights(t: torch.Tensor) -> list[torch.Tensor]:
    """The weights of the taps at i-1, i, i+1, i+2 for a point at i + t (0 ≤ t < 1), Keys' kernel
    (also grid_sample's bicubic)."""
    return [
        _cubic(t + 1, near=False),
        _cubic(t, near=True),
        _cubic(1 - t, near=True),
        _cubic(2 - t, near=False),
    ]


def _triangle(x: torch.Tensor) -> torch.Tensor:
    """The linear filter: 1 - |x| on |x| < 1."""
    return (1 - x.abs()).clamp(min=0)


def _keys(x: torch.Tensor) -> torch.Tensor:
    """Keys' cubic with A = -0.5 (the antialiased bicubic filter, as PIL's), support |x| < 2."""
    x, a = x.abs(), -0.5
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return torch.where(x < 1, near, torch.where(x < 2, far, torch.zeros_like(x)))


def _lanczos3(x: torch.Tensor) -> torch.Tensor:
    """sinc(x)·sinc(x/3) on |x| < 3."""
    return torch.where(x.abs() < 3, torch.sinc(x) * torch.sinc(x / 3), torch.zeros_like(x))


# mode → (filter, half-width of its support in input cells at scale 1)
FILTERS = {"bilinear": (_triangle, 1.0), "bicubic": (_keys, 2.0), "lanczos": (_lanczos3, 3.0)}


def _antialias_taps(
    size: int, out: int, scale: float | None, align_corners: bool, filter, dtype
) -> Taps | None:
    """Antialiased taps (PIL's resampling, as torch's): when shrinking by s > 1, the filter is
    stretched s times, so every input cell under an output cell contributes; weights are normalized.

        center = s·(o + ½);   taps j = ⌊center - support + ½⌋ … ⌊center + support + ½⌋ (inside the input)
        weight_j ∝ filter((j - center + ½) / max(s, 1)),   support = half-width · max(s, 1)
    """
    if out == size:
        return None
    kernel, half_width = filter
    step = _step(size, out, align_corners, scale, dtype)
    stretch = max(float(step), 1.0)
    support = half_width * stretch
    count = math.ceil(support) * 2 + 1  # taps per output position, the most any needs
    center = step * (torch.arange(out, dtype=dtype) + 0.5)
    first = (center - support + 0.5).long().clamp(min=0)  # o
    last = (center + support + 0.5).long().clamp(max=size)  # o, one past the last tap
    index = first[:, None] + torch.arange(count)  # o j
    weight = kernel((index - center[:, None] + 0.5) / stretch)
    weight = torch.where(index < last[:, None], weight, torch.zeros_like(weight))
    total = weight.sum(-1, keepdim=True)
    weight = torch.where(total != 0, weight / total, weight)
    index = index.clamp(max=size - 1)
    return [(index[:, j], weight[:, j]) for j in range(count)]


def _resample(x: torch.Tensor, dim: int, taps: Taps) -> torch.Tensor:
    """Σ_t weight_t · x[..., index_t, ...] along ``dim``: the output along ``dim`` from its taps.

    The gather is an indexing (``x[:, :, index]``), which torch runs much faster on CPU than
    ``index_select`` on an inner dim; its backward is the same scatter-add.
    """
    shape = (-1,) + (1,) * (x.ndim - dim - 1)  # weights broadcast along the dims after ``dim``
    out = None
    for index, weight in taps:
        term = x[(slice(None),) * dim + (index.to(x.device),)]
        if weight is not None:
            term = term * weight.to(device=x.device, dtype=x.dtype).view(shape)
        out = term if out is None else out + term
    assert out is not None
    return out


def _torch_uses_fast_nearest(input: torch.Tensor, sizes: Sequence[int]) -> bool:
    """Whether torch's CPU nearest kernel for this call is its channels-last/small-output one."""
    if input.ndim == 4:
        channels_last = input.is_contiguous(memory_format=torch.channels_last) and input.shape[1] > 3
        return channels_last or sizes[-2] + sizes[-1] <= 128
    if input.ndim == 5:
        return input.is_contiguous(memory_format=torch.channels_last_3d) and input.shape[1] > 3
    return False


def _layout(input: torch.Tensor) -> torch.memory_format:
    """The memory format torch gives the output (its suggest_memory_format): channels-last input
    (4-D or 5-D, not also plain contiguous) stays channels-last."""
    for ndim, layout in ((4, torch.channels_last), (5, torch.channels_last_3d)):
        if input.ndim == ndim and input.is_contiguous(memory_format=layout) and not input.is_contiguous():
            return layout
    return torch.contiguous_format


def interpolate(
    input: torch.Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> torch.Tensor:
    """Resize the spatial dims of (b, c, *spatial) to ``size`` or ``spatial · scale_factor``.

    >>> x = torch.tensor([[[0., 1., 2.]]])
    >>> interpolate(x, scale_factor=2, mode="linear")
    tensor([[[0.0000, 0.2500, 0.7500, 1.2500, 1.7500, 2.0000]]])
    >>> interpolate(x, size=5, mode="linear", align_corners=True)
    tensor([[[0.0000, 0.5000, 1.0000, 1.5000, 2.0000]]])
    >>> interpolate(x, size=4, mode="nearest-exact")
    tensor([[[0., 1., 1., 2.]]])
    >>> interpolate(torch.randn(2, 3, 8, 8), size=(4, 12), mode="bicubic").shape
    torch.Size([2, 3, 4, 12])
    """
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                f"interpolate: align_corners applies to the modes linear, bilinear, bicubic and trilinear "
                f"only, got align_corners={align_corners!r} with mode={mode!r}"
            )
    elif align_corners is None:
        align_corners = False
    sizes, scales = _sizes_and_scales(input, size, scale_factor, mode, recompute_scale_factor)
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.ndim == 4):
        raise ValueError(
            f"interpolate: antialias=True works with the modes bilinear, bicubic and lanczos on a 4-D input "
            f"only, got mode={mode!r} with a {input.ndim}-D input"
        )
    _check_mode(input, mode)
    if mode == "lanczos":
        if align_corners:
            raise ValueError("interpolate: mode='lanczos' does not support align_corners=True")
        if not antialias:
            raise ValueError("interpolate: mode='lanczos' requires antialias=True")
    if mode == "area":
        pool = {3: adaptive_avg_pool1d, 4: adaptive_avg_pool2d, 5: adaptive_avg_pool3d}[input.ndim]
        return pool(input, sizes)
    spatial = list(input.shape[2:])
    if any(s <= 0 for s in spatial) or any(s <= 0 for s in sizes):
        raise fail(
            RuntimeError,
            "interpolate",
            f"input and output sizes must be greater than 0, "
            f"got input {tuple(spatial)} and output {tuple(sizes)}",
            {"input": ("b, c, *spatial", input.shape)},
        )
    if input.shape[1] == 0:
        raise fail(
            RuntimeError, "interpolate", "input has no channels", {"input": ("b, c, *spatial", input.shape)}
        )
    nearest = mode in ("nearest", "nearest-exact")
    if not (input.is_floating_point() or (nearest and input.dtype == torch.uint8)):
        raise NotImplementedError(
            f"interpolate: mode={mode!r} is not implemented for {input.dtype} input"
            + (
                " (torch's uint8 path rounds in fixed point; it is not reproduced here)"
                if input.dtype == torch.uint8
                else ""
            )
        )
    if antialias and input.dtype in (torch.float16, torch.bfloat16):
        raise NotImplementedError(
            f"interpolate: antialias=True is not implemented for {input.dtype} (as in torch)"
        )
    dtype = _opmath(input.dtype)
    fast_nearest = nearest and _torch_uses_fast_nearest(input, sizes)
    # the weighted sums of half and bfloat16 in float32, rounded once at the end, as torch's kernels
    out = input.float() if not nearest and input.dtype in (torch.float16, torch.bfloat16) else input
    # one dim at a time, the last (contiguous) one first: its gathers are the slow kind, so they run
    # on the tensor before the other dims grow
    for dim, (in_size, out_size, scale) in reversed(list(enumerate(zip(spatial, sizes, scales), start=2))):
        if nearest:
            taps: Taps | None = _nearest_taps(
                in_size, out_size, scale, mode == "nearest-exact", dtype, fast_nearest
            )
        elif antialias:
            taps = _antialias_taps(in_size, out_size, scale, bool(align_corners), FILTERS[mode], dtype)
        elif mode == "bicubic":
            taps = _cubic_taps(in_size, out_size, scale, bool(align_corners), dtype)
        else:
            taps = _linear_taps(in_size, out_size, scale, bool(align_corners), dtype)
        if taps is not None:
            out = _resample(out, dim, taps)
    if is_recording():
        record("op", f"interpolate {mode}: {len(spatial)} separable gathers + weighted sums", [input], out)
    if out is input:
        return input.clone()
    return out.to(input.dtype).contiguous(memory_format=_layout(input))


# torch's deprecated spellings: interpolate with a UserWarning, as torch warns.


def upsample(
    input: torch.Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> torch.Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode, align_corners)``, with torch's warning.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     upsample(torch.ones(1, 1, 2), scale_factor=2).shape, caught[0].message.args[0][:34]
    (torch.Size([1, 1, 4]), '`nn.functional.upsample` is deprec')
    """
    warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(
    input: torch.Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
) -> torch.Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode="nearest")``, with torch's warning."""
    warn(
        "`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(
    input: torch.Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
) -> torch.Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)``,
    with torch's warning."""
    warn(
        "`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
