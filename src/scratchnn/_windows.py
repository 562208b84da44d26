"""The one window geometry: where the windows of a windowed op lie, and the window view itself.

Every windowed op — convolution, transposed convolution, pooling, unfold/fold, semiring
convolutions, space-to-batch — describes its windows with one :class:`Geometry`, built once by
its argument normalizer. Per spatial dim: input size ``S``, kernel ``k``, stride ``s``,
dilation ``d``, padding ``(before, after)``::

    span  = d·(k − 1) + 1                                  cells one window covers
    out   = ⌊(S + before + after − span) / s⌋ + 1          windows (⌈·⌉ in ceil mode, see below)
    window o, offset q reads the input cell  o·s + q·d − before   (padding outside 0 ≤ · < S)

Three things follow from it, each written once, here:

* the **window view** — ``sliding_windows`` / :meth:`Geometry.windows`: the padded input as
  ``(..., *out, *kernel)``, a view (``Tensor.unfold`` per dim; one ``as_strided`` with dilation);
* the **overlap-add**, its adjoint — :func:`overlap_add`: ``out[..., o·s + q·d − before] +=
  blocks[..., o, q]``, one strided slice-add per kernel offset (:meth:`Geometry.taps`);
* the **stride phases** — :meth:`Geometry.phase_slices`: the padded input split by stride, phase
  ``r`` holding the padded cells ``r, r + s, r + 2s, …``; window o's offset q lies in phase
  ``(q·d) mod s`` at position ``o + ⌊q·d / s⌋``: a box, so schedules read shifted slices.

A transposed convolution's windows are its adjoint convolution's: :meth:`Geometry.transposed`
gives the geometry whose ``out`` is the transposed op's input size and whose ``spatial`` is its
output size, ``(n − 1)·s − before − after + span`` (the formula above solved for ``S``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Any, TypeVar

import torch

from ._args import spatial_legend
from ._trace import is_recording, record
from .functional.padding import pad as pad_fn

__all__ = ["Geometry", "output_size", "overlap_add", "same_padding", "sliding_windows"]


def output_size(
    size: int,
    kernel: int,
    stride: int,
    padding: int | tuple[int, int],
    dilation: int,
    ceil_mode: bool = False,
) -> int:
    """Number of windows along one dim: the one output-size formula. ``padding`` is
    ``(before, after)`` or their total (split evenly).

    In ceil mode the count rounds up, but the last window must *start* inside the input or its
    left padding (torch's pooling rule):

    >>> output_size(8, 3, 2, 2, 1)
    4
    >>> output_size(6, 3, 2, 0, 1, ceil_mode=True), output_size(5, 2, 2, 2, 1, ceil_mode=True)
    (3, 3)
    """
    before, after = (padding // 2, padding - padding // 2) if isinstance(padding, int) else padding
    room = size + before + after - (dilation * (kernel - 1) + 1)
    if not ceil_mode:
        return room // stride + 1
    count = -(-room // stride) + 1
    if (count - 1) * stride >= size + before:  # that window would start in the right padding
        count -= 1
    return count


def same_padding(kernel_size: Sequence[int], dilation: Sequence[int]) -> list[tuple[int, int]]:
    """Per-dim (before, after) padding that keeps the size at stride 1.

    An even span pads one more after than before, as torch does.

    >>> same_padding((4, 3), (1, 2))
    [(1, 2), (2, 2)]
    """
    pairs = []
    for k, d in zip(kernel_size, dilation):
        total = d * (k - 1)
        pairs.append((total // 2, total - total // 2))
    return pairs


Slices = tuple[Any, ...]  # an index of slices (Any: mypy types `(..., *slices)` as tuple[object, ...])
F = TypeVar("F", bound=Callable[..., Any])


def _cached(fn: F) -> F:
    """``fn`` memoized on its (hashable) arguments in eager mode; plain under ``torch.compile``,
    which does not trace through ``lru_cache``."""
    memo = lru_cache(maxsize=1024)(fn)

    @wraps(fn)
    def call(*args: Any) -> Any:
        return fn(*args) if torch.compiler.is_compiling() else memo(*args)

    return call  # type: ignore[return-value]


@dataclass(frozen=True)
class Geometry:
    """The windows of an op over the last ``n`` dims: one entry per spatial dim in each field.

    >>> g = Geometry.of((5,), (3,), (2,), ((1, 1),))
    >>> g.out, g.reach, g.window_padding
    ((3,), (7,), ((1, 1),))
    >>> [(q, cells) for q, _, cells in g.taps()]     # offset q of each window reads these cells
    [((0,), (slice(1, 4, 2),)), ((1,), (slice(0, 5, 2),)), ((2,), (slice(1, 4, 2),))]
    """

    spatial: tuple[int, ...]  # input sizes, unpadded
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]  # (before, after) per dim
    dilation: tuple[int, ...]
    out: tuple[int, ...]  # windows per dim

    @staticmethod
    def of(
        spatial: Sequence[int],
        kernel: Sequence[int],
        stride: Sequence[int] | None = None,
        padding: Sequence[tuple[int, int]] | None = None,
        dilation: Sequence[int] | None = None,
        ceil_mode: bool = False,
    ) -> Geometry:
        """The geometry of these sizes (stride 1, no padding, no dilation by default); built once
        per distinct sizes (a geometry is a value)."""
        n = len(kernel)
        return _geometry(
            tuple(int(s) for s in spatial),
            tuple(int(k) for k in kernel),
            tuple(stride) if stride is not None else (1,) * n,
            tuple((int(a), int(z)) for a, z in padding) if padding is not None else ((0, 0),) * n,
            tuple(dilation) if dilation is not None else (1,) * n,
            bool(ceil_mode),
        )

    @staticmethod
    def transposed(
        positions: Sequence[int],
        kernel: Sequence[int],
        stride: Sequence[int],
        padding: Sequence[int],
        dilation: Sequence[int],
        output_padding: Sequence[int],
    ) -> Geometry:
        """The windows of a transposed convolution with ``positions`` inputs per dim: those of its
        adjoint convolution, whose input is the transposed op's output, of size
        ``(n − 1)·s − 2·p + d·(k − 1) + 1 + output_padding`` — the output-size formula solved for
        the input size with padding ``(p, p − output_padding)``.

        >>> Geometry.transposed((4,), (4,), (2,), (1,), (1,), (0,)).spatial    # the usual ×2
        (8,)
        """
        pairs = tuple((p, p - o) for p, o in zip(padding, output_padding))
        spatial = tuple(
            (n - 1) * s + d * (k - 1) + 1 - a - z
            for n, k, s, d, (a, z) in zip(positions, kernel, stride, dilation, pairs)
        )
        return Geometry(spatial, tuple(kernel), tuple(stride), pairs, tuple(dilation), tuple(positions))

    @property
    def n(self) -> int:
        return len(self.kernel)

    @property
    def padded(self) -> tuple[int, ...]:
        """The padded input's size per dim."""
        return tuple(size + a + z for size, (a, z) in zip(self.spatial, self.padding))

    @property
    def reach(self) -> tuple[int, ...]:
        """The padded cells the windows read, per dim: ``(out − 1)·s + span``."""
        return tuple(
            (o - 1) * s + d * (k - 1) + 1
            for o, s, d, k in zip(self.out, self.stride, self.dilation, self.kernel)
        )

    @property
    def window_padding(self) -> tuple[tuple[int, int], ...]:
        """The padding the window view needs: ``before``, and after it as many cells as the
        windows reach (more than ``after`` in ceil mode, fewer when the last cells are unread)."""
        return tuple((a, r - size - a) for size, (a, _), r in zip(self.spatial, self.padding, self.reach))

    def windows(self, x: torch.Tensor, value: float = 0.0, mode: str = "constant") -> torch.Tensor:
        """The window view of ``x`` (..., *spatial) → (..., *out, *kernel), padded with ``value``."""
        return sliding_windows(
            x, self.kernel, self.stride, self.window_padding, self.dilation, mode=mode, value=value
        )

    def along(self, dim: int) -> Geometry:
        """The 1-D geometry of spatial dim ``dim`` alone."""
        return Geometry(
            (self.spatial[dim],),
            (self.kernel[dim],),
            (self.stride[dim],),
            (self.padding[dim],),
            (self.dilation[dim],),
            (self.out[dim],),
        )

    def taps(self) -> list[tuple[tuple[int, ...], Slices, Slices]]:
        """Per kernel offset q (row-major), the windows whose cell q lies inside the input (a box
        of window positions) and those cells (strided slices of the input); offsets whose cell is
        in the padding for every window are left out. The one place the overlap-add and the
        separable window sums find their slices."""
        return _taps(self)

    def phase_slices(
        self, step: Sequence[int] | None = None, lengths: Sequence[int] | None = None
    ) -> list[tuple[tuple[int, ...], Slices, Slices]]:
        """The padded input split into phases of ``step`` (the stride by default): phase ``r``
        holds the padded cells ``r, r + step, …`` (``lengths`` of them per dim, by default as many
        as the padded size gives). Per phase with input cells in it: its residues, the input cells
        (strided slices of the input) and where they go in the phase (a box).

        >>> Geometry.of((5,), (3,), (2,), ((1, 1),)).phase_slices()
        [((0,), (slice(1, 4, 2),), (slice(1, 3, None),)), ((1,), (slice(0, 5, 2),), (slice(0, 3, None),))]
        """
        steps = tuple(self.stride if step is None else step)
        sizes = (
            tuple(lengths) if lengths is not None else tuple(-(-p // t) for p, t in zip(self.padded, steps))
        )
        return _phase_slices(self.spatial, tuple(a for a, _ in self.padding), steps, sizes)

    def phase_of(self, offset: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The stride phase of kernel offset ``offset`` and the position of window 0's cell in it:
        ``(q·d) mod s`` and ``⌊q·d / s⌋`` per dim."""
        cells = [q * d for q, d in zip(offset, self.dilation)]
        return (
            tuple(c % s for c, s in zip(cells, self.stride)),
            tuple(c // s for c, s in zip(cells, self.stride)),
        )


@_cached
def _geometry(
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[tuple[int, int], ...],
    dilation: tuple[int, ...],
    ceil_mode: bool,
) -> Geometry:
    out = tuple(
        output_size(size, k, s, pair, d, ceil_mode)
        for size, k, s, pair, d in zip(spatial, kernel, stride, padding, dilation)
    )
    return Geometry(spatial, kernel, stride, padding, dilation, out)


@_cached
def _taps(geometry: Geometry) -> list[tuple[tuple[int, ...], Slices, Slices]]:
    per_dim = []
    for size, out, k, s, (before, _), d in zip(
        geometry.spatial, geometry.out, geometry.kernel, geometry.stride, geometry.padding, geometry.dilation
    ):
        dim = {}
        for q in range(k):
            shift = q * d - before  # the input cell of window 0
            low = -(shift // s) if shift < 0 else 0  # first window whose cell is ≥ 0
            high = min(out, (size - 1 - shift) // s + 1)  # past the last one whose cell is < size
            if high > low:
                dim[q] = (slice(low, high), slice(low * s + shift, (high - 1) * s + shift + 1, s))
        per_dim.append(dim)
    taps = []
    for offset in itertools.product(*(range(k) for k in geometry.kernel)):
        if all(q in dim for q, dim in zip(offset, per_dim)):
            pieces = [dim[q] for q, dim in zip(offset, per_dim)]
            taps.append((offset, tuple(p for p, _ in pieces), tuple(c for _, c in pieces)))
    return taps


@_cached
def _phase_slices(
    spatial: tuple[int, ...], before: tuple[int, ...], steps: tuple[int, ...], lengths: tuple[int, ...]
) -> list[tuple[tuple[int, ...], Slices, Slices]]:
    phases = []
    for residues in itertools.product(*(range(t) for t in steps)):
        source, target = [], []
        for r, size, a, t, length in zip(residues, spatial, before, steps, lengths):
            first = max(0, -(-(a - r) // t))  # the first phase position that lies in the input
            start = r - a + t * first  # ... and its input cell
            count = min(len(range(start, size, t)), length - first)
            if count <= 0:
                break
            source.append(slice(start, start + t * (count - 1) + 1, t))
            target.append(slice(first, first + count))
        else:
            phases.append((residues, tuple(source), tuple(target)))
    return phases


# --- the window view ---------------------------------------------------------------------------


def sliding_windows(
    x: torch.Tensor,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[tuple[int, int]] | None = None,
    dilation: Sequence[int] | None = None,
    *,
    mode: str = "constant",
    value: float = 0.0,
) -> torch.Tensor:
    """View the last ``len(kernel_size)`` dims of ``x`` as windows::

        x (b, c, H, W)  →  windows (b, c, h, w, kh, kw)
        windows[..., i, j, p, q] == x_padded[..., i·sh + p·dh, j·sw + q·dw]

    ``padding`` is one (before, after) pair per spatial dim, first dim first (a negative amount
    crops); the padding itself uses ``pad`` with ``mode`` and ``value`` (``-inf`` for max pooling,
    for instance). Without dilation each dim is ``Tensor.unfold``-ed (whose backward is an
    overlap-add); with dilation, one ``as_strided`` view steps by ``stride`` between windows and by
    ``dilation`` within one. No data is copied (beyond the padding).

    >>> x = torch.arange(5.).view(1, 1, 5)
    >>> sliding_windows(x, (2,), (1,), [(0, 0)], (2,))[0, 0]
    tensor([[0., 2.],
            [1., 3.],
            [2., 4.]])
    """
    n = len(kernel_size)
    dilation = tuple(dilation or (1,) * n)
    if padding is not None and any(before or after for before, after in padding):
        flat = [amount for before_after in reversed(list(padding)) for amount in before_after]
        x = pad_fn(x, flat, mode=mode, value=value if mode == "constant" else None)
    first = x.ndim - n
    if all(d == 1 for d in dilation):
        windows = x
        for i, (k, s) in enumerate(zip(kernel_size, stride)):
            windows = windows.unfold(first + i, k, s)
    else:
        windows = _dilated_windows(x, first, kernel_size, stride, dilation)
    if is_recording():
        record(
            "windows",
            f"windows of kernel {tuple(kernel_size)}, stride {tuple(stride)}, dilation {dilation}",
            [x],
            windows,
            bindings=_window_bindings(windows, n),
            note="a view: no copy",
        )
    return windows


def _dilated_windows(
    x: torch.Tensor, first: int, kernel_size: Sequence[int], stride: Sequence[int], dilation: Sequence[int]
) -> torch.Tensor:
    """One strided view: output step ``stride``, kernel step ``dilation``, along each spatial dim.

    (Unfolding the whole dilated span and keeping every d-th offset gives the same values, but its
    backward materializes gradients for the skipped offsets too: d times the work.)
    """
    spatial_strides = x.stride()[first:]
    out_sizes = [
        output_size(size, k, s, 0, d) for size, k, s, d in zip(x.shape[first:], kernel_size, stride, dilation)
    ]
    return x.as_strided(
        (*x.shape[:first], *out_sizes, *kernel_size),
        (
            *x.stride()[:first],
            *(step * s for step, s in zip(spatial_strides, stride)),
            *(step * d for step, d in zip(spatial_strides, dilation)),
        ),
    )  # no storage_offset argument: x's own (torch.compile cannot trace x.storage_offset())


def _window_bindings(windows: torch.Tensor, n: int) -> dict[str, int]:
    """The legend letters of the output positions and kernel offsets, bound to their sizes."""
    out_names, kernel_names = spatial_legend(n)
    sizes = windows.shape[windows.ndim - 2 * n :]
    return dict(zip([*out_names, *kernel_names], (int(size) for size in sizes)))


# --- the overlap-add ---------------------------------------------------------------------------


def overlap_add(blocks: torch.Tensor, geometry: Geometry, into: torch.Tensor | None = None) -> torch.Tensor:
    """Add each block entry where its window read it: the adjoint of the window view.

    blocks (..., *out, *kernel) → (..., *spatial)::

        out[..., o·s + q·d − before] += blocks[..., o, q]      (cells in the padding are dropped)

    One strided slice-add per kernel offset (:meth:`Geometry.taps`); its backward is the window
    view of the gradient (a custom ``autograd.Function``, also differentiable forward). ``into``:
    add into this tensor (..., *spatial) in place instead of a new one (a schedule's accumulator).

    >>> blocks = torch.ones(3, 2)                  # 3 windows of 2 cells, stride 1
    >>> overlap_add(blocks, Geometry.of((4,), (2,)))
    tensor([1., 2., 2., 1.])
    """
    if into is not None:
        return _slice_adds(into, blocks, geometry)
    if torch.compiler.is_compiling():  # dynamo cannot trace a custom jvp: autograd differentiates the adds
        out = _slice_adds(blocks.new_zeros(_lead(blocks, geometry) + geometry.spatial), blocks, geometry)
    else:
        out = _OverlapAdd.apply(blocks, geometry)
    if is_recording():
        record(
            "overlap-add",
            f"overlap-add of kernel {geometry.kernel}, stride {geometry.stride}, "
            f"dilation {geometry.dilation}, padding {tuple(a for a, _ in geometry.padding)}",
            [blocks],
            out,
            note=f"{math.prod(geometry.kernel)} strided slice-adds over {geometry.n}-d",
        )
    return out


def _lead(blocks: torch.Tensor, geometry: Geometry) -> tuple[int, ...]:
    return tuple(blocks.shape[: blocks.ndim - 2 * geometry.n])


def _slice_adds(out: torch.Tensor, blocks: torch.Tensor, geometry: Geometry) -> torch.Tensor:
    """``out[..., cells(q)] += blocks[..., windows(q), q]`` for every kernel offset q."""
    for offset, positions, cells in geometry.taps():
        out[(..., *cells)] += blocks[(..., *positions, *offset)]
    return out


class _OverlapAdd(torch.autograd.Function):
    """Forward (and jvp): one slice-add per kernel offset. Backward: the window view of the gradient."""

    @staticmethod
    def forward(blocks: torch.Tensor, geometry: Geometry) -> torch.Tensor:  # type: ignore[override]
        return _slice_adds(blocks.new_zeros(_lead(blocks, geometry) + geometry.spatial), blocks, geometry)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        ctx.geometry = inputs[1]

    @staticmethod
    def jvp(ctx: Any, blocks_tangent: torch.Tensor, _: Any) -> torch.Tensor:
        return _OverlapAdd.forward(blocks_tangent, ctx.geometry)  # the op is linear: its jvp is itself

    @staticmethod
    def vmap(info: Any, in_dims: tuple, blocks: torch.Tensor, geometry: Geometry) -> tuple:
        if in_dims[0] is None:
            return _OverlapAdd.apply(blocks, geometry), None
        return _OverlapAdd.apply(blocks.movedim(in_dims[0], 0), geometry), 0  # one more leading dim

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return ctx.geometry.windows(grad), None
