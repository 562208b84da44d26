"""Dilation by space-to-batch: a dilated convolution is a dense one on the input's dilation phases.

The cheatsheet's "more efficient dilation". Output j of a dim reads the padded cells
``j·s + q·d``. Let g = gcd(s, d), d' = d/g, s' = s/g: the outputs j = r + d'·i of one residue
class r read ``r·s + d·(i·s' + q)`` — a *dense* kernel at stride s' over the cells
``r·s + d·u``, which lie in the padded input's phase ``(r·s) mod d`` of step d (the geometry's
:meth:`~scratchnn._windows.Geometry.phase_slices`), from position ``⌊r·s / d⌋`` on. So split the
padded input into its d phases, take each class's run of its phase, move the classes into the
batch, run one dense convolution, and interleave::

    input (b, c, *S)  →  phases (b, c, *d, *L)                  the one phase split (zeros padded)
                      →  classes (b, c, *r, *n)                 run of length n of phase (r·s) mod d
                      →  (b r) c n  →  dense conv  →  (b r) c_out i  →  b c_out (i r)   interleave

With stride 1 the classes are the phases themselves (the rearrange ``(n r) → r n``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .._args import spatial_legend
from .._trace import rearrange
from .._windows import Geometry, Slices

__all__ = ["space_to_batch"]

Dense = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None", Geometry, int], torch.Tensor]


def space_to_batch(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    geometry: Geometry,
    groups: int,
    dense: Dense,
) -> torch.Tensor:
    """The convolution of ``geometry`` on a batched ``x`` (b, g·c_in, *S), computed as
    ``dense(x', weight, bias, dense_geometry, groups)`` on the dilation classes (``dense`` is the
    convolution itself: ``functional.conv.convolve``, which dispatches again).

    >>> import torch.nn.functional as F
    >>> from scratchnn.functional.conv import convolve
    >>> x, w = torch.randn(2, 3, 40), torch.randn(4, 3, 2)
    >>> y = space_to_batch(x, w, None, Geometry.of((40,), (2,), (1,), [(0, 0)], (16,)), 1, convolve)
    >>> torch.allclose(y, F.conv1d(x, w, dilation=16), atol=1e-5)
    True
    """
    n = geometry.n
    classes, lengths, steps, phase_lengths, runs = [], [], [], [], []
    for k, s, d, size in zip(geometry.kernel, geometry.stride, geometry.dilation, geometry.out):
        common = math.gcd(s, d)
        step, period = s // common, d // common  # s', d'
        count = min(period, size)  # residue classes r of the outputs (fewer when the output is short)
        length = (-(-size // period) - 1) * step + k  # cells each class's dense kernel reads
        run = [((r * s) % d, (r * s) // d) for r in range(count)]  # (phase, first position) per class
        classes.append(count)
        lengths.append(length)
        steps.append(step)
        runs.append(run)
        phase_lengths.append(max(first for _, first in run) + length)
    phases = x.new_zeros(*x.shape[:2], *geometry.dilation, *phase_lengths)  # b c *d *L
    for residues, source, target in geometry.phase_slices(step=geometry.dilation, lengths=phase_lengths):
        phases[(slice(None), slice(None), *residues, *target)] = x[(slice(None), slice(None), *source)]
    split = phases
    for i, run in enumerate(runs):  # phase axis i → class axis i, position axis n + i → its run
        phase_dim, position_dim = 2 + i, 2 + n + i
        split = torch.stack(
            [
                split.select(phase_dim, phase).narrow(position_dim - 1, first, lengths[i])
                for phase, first in run
            ],
            phase_dim,
        )
    positions, _ = spatial_legend(n)
    class_axes = " ".join(f"r{name}" for name in positions)  # residue class per dim
    sample_axes = " ".join(f"n{name}" for name in positions)  # position within the class
    batched = rearrange(split, f"b c {class_axes} {sample_axes} -> (b {class_axes}) c {sample_axes}")
    out = dense(batched, weight, bias, Geometry.of(lengths, geometry.kernel, steps), groups)
    sizes = {f"r{name}": count for name, count in zip(positions, classes)}
    interleaved = " ".join(f"(n{name} r{name})" for name in positions)
    out = rearrange(out, f"(b {class_axes}) c {sample_axes} -> b c {interleaved}", **sizes)
    if tuple(out.shape[2:]) != geometry.out:
        crop: Slices = (..., *(slice(0, o) for o in geometry.out))
        out = out[crop].contiguous()
    return out
