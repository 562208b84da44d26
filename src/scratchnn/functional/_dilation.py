"""Dilation by space-to-batch: a dilated convolution is a dense one on the input's dilation phases.

The cheatsheet's "more efficient dilation". With stride 1 a kernel of dilation d only ever mixes
samples that are d apart, i.e. samples of one phase ``n mod d``. So split the (padded) input into
its d phases, move the phases into the batch, run a *dense* convolution, and interleave back::

    input (b, c, (n d))  →  (b d) c n                   phases into the batch   (pad n·d up first)
    dense conv (dilation 1)  →  (b d) c_out m
    output  (b d) c_out m  →  b c_out (m d)             interleave, crop to the true length

N-d: one phase axis per dim, ``b c (h dh) (w dw) -> (b dh dw) c h w``.

With stride s the output j reads ``x[j·s + q·d]``. Let g = gcd(s, d), d' = d/g, s' = s/g: outputs
j ≡ r (mod d') read the sequence ``x[r·s + d·u]`` only, with a dense stride-s' kernel. Those d'
sequences do not overlap, so the phase split is the rearrange above when s = 1 and an
``index_select`` of ``r·s + d·u`` per dim otherwise. (Not a dilated window view: the backward of
``sliding_windows``' ``[..., ::d]`` would materialize the whole dilated span.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import EllipsisType

import torch

from .._args import spatial_legend
from .._trace import rearrange
from .._windows import output_size
from .conv import ConvArgs, conv_nd
from .padding import pad

__all__ = ["conv_nd_space_to_batch"]


def conv_nd_space_to_batch(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: int | Sequence[int],
    padding: str | int | Sequence[int],
    dilation: int | Sequence[int],
    groups: int,
    n: int,
    op: str,
) -> torch.Tensor:
    """``conv.conv_nd`` (same arguments, same result) computed on the dilation phases of the input.

    >>> import torch.nn.functional as F
    >>> x, w = torch.randn(2, 3, 40), torch.randn(4, 3, 2)
    >>> y = conv_nd_space_to_batch(x, w, None, 1, 0, 16, 1, 1, "conv1d")
    >>> torch.allclose(y, F.conv1d(x, w, dilation=16), atol=1e-5)
    True
    """
    args = ConvArgs(op, input, weight, bias, stride, padding, dilation, groups, n)
    x = input.unsqueeze(0) if args.unbatched else input
    phases, lengths, steps, pairs, outs = [], [], [], [], []
    for size, k, s, d, (before, after) in zip(
        x.shape[2:], args.kernel_size, args.stride, args.dilation, args.padding
    ):
        out_size = output_size(size, k, s, before + after, d)
        common = math.gcd(s, d)
        step, period = s // common, d // common  # s', d'
        count = min(period, out_size)  # residue classes r of the outputs (fewer when the output is short)
        per_class = -(-out_size // period)  # outputs per class: ceil(out / d')
        length = (per_class - 1) * step + k  # samples each class's dense kernel reads
        needed = (count - 1) * s + (length - 1) * d + 1  # padded size that holds all classes' samples
        phases.append(count)
        lengths.append(length)
        steps.append(step)
        pairs.append((before, needed - size - before))  # a negative 'after' crops unread samples
        outs.append(out_size)
    positions, _ = spatial_legend(n)
    phase_axes = " ".join(f"r{name}" for name in positions)  # residue class (phase) per dim
    sample_axes = " ".join(f"n{name}" for name in positions)  # position within the phase
    if all(s == 1 for s in args.stride):
        # pad (or crop) each dim to length·d, then (n r) → r n: phase r of a dim is x[r + d·u]
        x = pad(
            x,
            _flat(
                [
                    (before, length * d - size - before)
                    for (before, _), size, length, d in zip(pairs, x.shape[2:], lengths, args.dilation)
                ]
            ),
        )
        grouped = " ".join(f"(n{name} r{name})" for name in positions)
        split = rearrange(
            x,
            f"b c {grouped} -> b c {phase_axes} {sample_axes}",
            **{f"r{name}": d for name, d in zip(positions, args.dilation)},
        )
        short: tuple[EllipsisType | slice, ...] = (
            ...,
            *(slice(0, count) for count in phases),
            *(slice(None),) * n,
        )
        split = split[short]  # short outputs
    else:
        # class r of a dim reads x[r·s + d·u]: one index_select per dim, (count·length) → count, length
        x = pad(x, _flat(pairs))
        for i, (count, length, s, d) in enumerate(zip(phases, lengths, args.stride, args.dilation)):
            index = (torch.arange(count).view(-1, 1) * s + torch.arange(length) * d).flatten()
            x = x.index_select(2 + 2 * i, index.to(x.device)).unflatten(2 + 2 * i, (count, length))
        pairs_in = " ".join(f"r{name} n{name}" for name in positions)
        split = rearrange(x, f"b c {pairs_in} -> b c {phase_axes} {sample_axes}")
    batched = rearrange(split, f"b c {phase_axes} {sample_axes} -> (b {phase_axes}) c {sample_axes}")
    dense = conv_nd(batched, weight, bias, steps, 0, 1, groups, n, op)  # (b·phases, c_out, *per_class)
    sizes = {f"r{name}": count for name, count in zip(positions, phases)}
    interleaved = " ".join(f"(n{name} r{name})" for name in positions)
    out = rearrange(dense, f"(b {phase_axes}) c {sample_axes} -> b c {interleaved}", **sizes)
    if tuple(out.shape[2:]) != tuple(outs):
        crop: tuple[EllipsisType | slice, ...] = (..., *(slice(0, o) for o in outs))
        out = out[crop].contiguous()
    return out.squeeze(0) if args.unbatched else out


def _flat(pairs: list[tuple[int, int]]) -> list[int]:
    """Per-dim (before, after) pairs, first dim first, as ``pad``'s flat list (last dim first)."""
    return [amount for pair in reversed(pairs) for amount in pair]
