"""The flat layout of the convolution schedules: a batch of samples as one long row of columns.

Legend: C channels, r stride phases, m flat positions, s stride, d dilation.

Pad the input, split every spatial dim into its ``s`` stride phases (the geometry's
:meth:`~scratchnn._windows.Geometry.phase_slices`; one phase when s = 1) and flatten what is left
of each sample, samples after one another::

    input (b, C, *S)  →  flat (C, r, m)      m = (b, *Q) flattened, Q = ⌈(S + p) / s⌉

Then a kernel offset is a *shift* of the flat index: window element q of the output at flat
position m is ``flat[:, phase(q), m + shift(q)]``, with phase and shift from the geometry's
:meth:`~scratchnn._windows.Geometry.phase_of` (``q·d = s·shift + phase`` per dim, the shifts of
the dims added with the flat strides). Every output is a sum over q of one shifted slice — a
plain strided view, which a GEMM reads in place. Flat positions that straddle a row or a sample
(the last ``(k − 1)·d`` columns of a row) are computed and dropped: the crop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from itertools import product

import torch

from .._windows import Geometry

__all__ = ["FlatLayout", "accumulator", "grouped", "layout"]


class FlatLayout:
    """The flat layout of ``count`` samples of one geometry: sizes, phases, shifts, and the copies
    in and out. Per spatial dim the phase length is ``Q = ⌈(S + before + after) / s⌉``;
    ``offsets[q] = (phase, shift)`` for every kernel offset, kernel dims row-major.

    >>> layout = FlatLayout(Geometry.of((5,), (3,), (1,), [(1, 1)]), count=2)
    >>> layout.columns, layout.valid, layout.offsets
    (14, 12, [(0, 0), (0, 1), (0, 2)])
    """

    def __init__(self, geometry: Geometry, count: int) -> None:
        self.geometry, self.count = geometry, count
        self.spatial, self.stride, self.out = geometry.spatial, geometry.stride, geometry.out
        # cells after the input count only where they exist (a transposed convolution's adjoint may
        # have fewer after-cells than before-cells: its output_padding)
        padded = [size + a + max(z, 0) for size, (a, z) in zip(geometry.spatial, geometry.padding)]
        self.lengths = tuple(-(-size // s) for size, s in zip(padded, geometry.stride))
        # flat strides of the spatial dims within a sample; a sample is `sample` columns
        self.steps = tuple(math.prod(self.lengths[i + 1 :]) for i in range(len(self.lengths)))
        self.sample = math.prod(self.lengths)
        self.columns = count * self.sample
        self.phases = math.prod(geometry.stride)
        self.phase_index = list(product(*[range(s) for s in geometry.stride]))  # row-major phase tuples
        self.offsets = []
        for offset in product(*[range(k) for k in geometry.kernel]):
            phase, positions = geometry.phase_of(offset)
            shift = sum(position * step for position, step in zip(positions, self.steps))
            self.offsets.append((self.phase_index.index(phase), shift))
        self.lead = max(shift for _, shift in self.offsets)
        self.classes = self._classes()
        self.order = [q for *_, indices in self.classes for q in indices]  # kernel offsets, class by class
        # columns that hold real outputs: up to the last output of the last sample
        self.valid = (
            (count - 1) * self.sample + sum((o - 1) * step for o, step in zip(self.out, self.steps)) + 1
        )
        self.identity = count == 1 and self.phases == 1 and not any(a or z for a, z in geometry.padding)
        self._phases = [
            (self.phase_index.index(residues), source, target)
            for residues, source, target in geometry.phase_slices(lengths=self.lengths)
        ]
        self.inputs = self._input_columns()

    def _input_columns(self) -> tuple[int, int]:
        """The flat columns that hold real inputs (not padding), first to last, over all phases:
        an input gradient is needed there only (a 3-D kernel's padded planes are ~10 % of them)."""
        firsts, lasts = [], []
        for _, _, target in self._phases:
            firsts.append(sum(t.start * step for t, step in zip(target, self.steps)))
            last = sum((t.stop - 1) * step for t, step in zip(target, self.steps))
            lasts.append((self.count - 1) * self.sample + last + 1)
        return (min(firsts), max(lasts)) if firsts else (0, 0)

    def _classes(self) -> list[tuple]:
        """Kernel offsets grouped so each group is a regular grid of shifts in one phase.

        Per dim, offsets ``q ≡ q0 (mod s / gcd(s, d))`` share the phase ``q0·d mod s`` and their
        shifts step by ``d / gcd(s, d)``. Returns ``(phase, first shift, counts, shift steps,
        kernel offsets)`` per group; one group when the stride is 1.
        """
        kernel = self.geometry.kernel
        per_dim = []
        for k, d, s, step in zip(kernel, self.geometry.dilation, self.stride, self.steps):
            period = s // math.gcd(s, d)
            per_dim.append(
                [
                    (
                        q0 * d % s,
                        q0 * d // s * step,
                        len(range(q0, k, period)),
                        d // math.gcd(s, d) * step,
                        list(range(q0, k, period)),
                    )
                    for q0 in range(min(period, k))
                ]
            )
        classes = []
        for combination in product(*per_dim):
            phase = self.phase_index.index(tuple(c[0] for c in combination))
            first = sum(c[1] for c in combination)
            counts, steps = tuple(c[2] for c in combination), tuple(c[3] for c in combination)
            flat_offsets = [
                sum(q * math.prod(kernel[i + 1 :]) for i, q in enumerate(qs))
                for qs in product(*[c[4] for c in combination])
            ]
            classes.append((phase, first, counts, steps, flat_offsets))
        return classes

    def fill(self, x: torch.Tensor, into: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` (count, C, *S) → flat (C, r, m): padded with zeros, phases split, samples flattened.

        ``into``: what ``fill`` returned for an earlier chunk of at least as many samples, reused
        (its padding is still zero, the rest is overwritten); else a new buffer.
        """
        channels = x.shape[1]
        if self.identity:
            return x[0].reshape(channels, 1, self.sample)
        shape = (channels, self.phases, self.count, *self.lengths)
        flat = x.new_zeros(shape) if into is None else into[..., : self.columns].view(shape)
        for index, source, target in self._phases:
            region: tuple[slice | int, ...] = (slice(None), index, slice(None), *target)
            flat[region] = x[(slice(None), slice(None), *source)].transpose(0, 1)
        return flat.view(channels, self.phases, self.columns)

    def unfill(self, flat: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """The adjoint of :meth:`fill`: flat (C, r, m) → ``out`` (count, C, *S), padding dropped.
        Every input position lies in exactly one phase: ``out`` is written whole."""
        channels = flat.shape[0]
        if self.identity:
            return out.copy_(flat.reshape(out.shape))
        flat = flat.view(channels, self.phases, self.count, *self.lengths)
        for index, source, target in self._phases:
            read: tuple[slice | int, ...] = (slice(None), index, slice(None), *target)
            out[(slice(None), slice(None), *source)] = flat[read].transpose(0, 1)
        return out

    def crop(self, flat: torch.Tensor) -> torch.Tensor:
        """Flat outputs (C, m) → the real ones as a view (count, C, *out)."""
        view = flat.view(flat.shape[0], self.count, *self.lengths)
        return view[(slice(None), slice(None), *(slice(0, o) for o in self.out))].transpose(0, 1)

    def uncrop(self, grad: torch.Tensor, into: torch.Tensor | None = None) -> torch.Tensor:
        """The adjoint of :meth:`crop`, led by ``lead`` zero columns: (count, C, *out) → (C, lead + m).

        ``into``: as in :meth:`fill`, what ``uncrop`` returned for an earlier, larger chunk.
        """
        channels = grad.shape[1]
        width = self.lead + self.columns
        flat = grad.new_zeros(channels, width) if into is None else into[:, :width]
        view = flat[:, self.lead :].view(channels, self.count, *self.lengths)
        view[(slice(None), slice(None), *(slice(0, o) for o in self.out))] = grad.transpose(0, 1)
        return flat


@lru_cache(maxsize=256)
def layout(geometry: Geometry, count: int) -> FlatLayout:
    """The :class:`FlatLayout` of ``count`` samples, built once: a layout is read-only once made,
    and its offsets and classes cost a few hundred microseconds of Python."""
    return FlatLayout(geometry, count)


def accumulator(like: torch.Tensor, shape: Sequence[int], positions_major: bool) -> torch.Tensor:
    """A new, uninitialized buffer of logical ``shape`` (C, …) for a sum to accumulate into;
    stored with C last when ``positions_major``."""
    if not positions_major:
        return like.new_empty(shape)
    return like.new_empty(*shape[1:], shape[0]).movedim(-1, 0)


def grouped(flat: torch.Tensor, groups: int) -> torch.Tensor:
    """A flat buffer (C, …) as (g, C / g, …)."""
    return flat.view(groups, -1, *flat.shape[1:])
