"""Connectionist temporal classification: −log p(target | input), summed over every alignment.

Legend: t time, n batch, c classes (``blank`` among them), s positions of the extended target
l' = (blank, l1, blank, l2, …, blank), of length 2·S + 1 for S target labels.

The forward variable α_t(s) is the log-probability of every alignment of the first t frames that
ends in l'_s; the loss is −log(e^α(2S) + e^α(2S − 1)) at the last frame. One step of the scan::

    α_t(s) = log p_t(l'_s) + log(e^α_{t−1}(s) + e^α_{t−1}(s − 1) + [skip_s] e^α_{t−1}(s − 2))

where skip_s holds for a label that differs from the label two positions back (a blank, or a
repeat, cannot be jumped over). The scan runs over time for the whole batch at once; a sample
whose input has ended keeps its α. Autograd differentiates the scan.

torch's gradient is the one of the loss composed with a log-softmax over the classes:
e^{log p} − (posterior of each class) at each frame of the input, 0 beyond it. It differs from the
gradient with respect to ``log_probs`` taken alone by e^{log p}, which sums to 0 through a
log-softmax; the scratch version adds that term (with a zero value), so both match.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import torch

from .._args import fail
from .loss import found, resolve_reduction

__all__ = ["ctc_loss"]

_NEG_INF = float("-inf")


def _log_add(*terms: torch.Tensor) -> torch.Tensor:
    """log Σ e^term, with −inf where every term is −inf and a gradient of 0 (not NaN) there; shifted
    by the max as torch's kernel (0 where it is −inf), so a +inf or NaN term gives NaN, as there."""
    stacked = torch.stack(terms)  # k ...
    top = stacked.amax(0).detach()
    top = torch.where(top == _NEG_INF, torch.zeros_like(top), top)
    total = (stacked - top).exp().sum(0)
    unreachable = total == 0
    safe = torch.where(unreachable, torch.ones_like(total), total)
    return torch.where(unreachable, torch.full_like(total, _NEG_INF), top + safe.log())


def _shift(alpha: torch.Tensor, by: int) -> torch.Tensor:
    """α(s − by) along the positions, −inf where s < by:  n s → n s."""
    pad = alpha.new_full((alpha.shape[0], by), _NEG_INF)
    return torch.cat([pad, alpha], dim=1)[:, : alpha.shape[1]]


def _step(alpha: torch.Tensor, emit: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    """One frame of the scan: α_t(s) = emit(s) + log(e^α(s) + e^α(s − 1) + [skip] e^α(s − 2))."""
    jump = _shift(alpha, 2).masked_fill(~skip, _NEG_INF)
    return emit + _log_add(alpha, _shift(alpha, 1), jump)


def _lengths(name: str, lengths: torch.Tensor | Sequence[int], batch: int, limit: int | None) -> torch.Tensor:
    """The lengths as an int64 (n,) tensor: from a tensor (of any shape, flattened, as torch) or a
    tuple/list of ints; each in [0, limit] (a check on values: eager only)."""
    op = "ctc_loss"
    if isinstance(lengths, torch.Tensor):
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise RuntimeError(f"{op}: {name} must be integral, got {lengths.dtype}")
        values = lengths.detach().reshape(-1).long()
    else:
        items = list(lengths)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
            raise TypeError(f"{op}: {name} must be a tensor or a tuple of ints, got {tuple(items)!r}")
        values = torch.tensor(items, dtype=torch.int64)
    if values.numel() != batch:
        raise RuntimeError(f"{op}: {name} must be of size batch_size ({batch}), got {values.numel()} values")
    if found(values < 0):
        raise RuntimeError(
            f"{op}: Expected {name} to have value at least 0, but got value {int(values.min())}"
        )
    if limit is not None and found(values > limit):
        raise RuntimeError(
            f"{op}: Expected {name} to have value at most {limit}, but got value {int(values.max())}"
        )
    return values


def _padded_targets(targets: torch.Tensor, target_lengths: torch.Tensor, batch: int) -> torch.Tensor:
    """Targets as n S (padded with 0 beyond each length): from (n, S) padded, or from the 1-D
    concatenation of every sample's labels. Eager, S is the longest target; compiled (no shape may
    depend on values), S is every label the targets hold."""
    op = "ctc_loss"
    if targets.ndim not in (1, 2):
        raise fail(
            RuntimeError,
            op,
            f"Expected 1 to 2 dimensions, but got {targets.ndim}-dimensional tensor for argument #2 "
            "'targets'",
            {"targets": ("n S", targets.shape)},
        )
    targets = targets.long()
    eager = not torch.compiler.is_compiling()
    longest = int(target_lengths.max()) if eager and batch else None
    if targets.ndim == 2:
        if targets.shape[0] != batch:
            raise fail(
                RuntimeError,
                op,
                f"Expected tensor to have size {batch} at dimension 0, but got size {targets.shape[0]} for "
                "argument #2 'targets'",
                {"targets": ("n S", targets.shape)},
            )
        if longest is not None and targets.shape[1] < longest:
            raise fail(
                RuntimeError,
                op,
                f"Expected tensor to have size at least {longest} at dimension 1, but got size "
                f"{targets.shape[1]} for argument #2 'targets'",
                {"targets": ("n S", targets.shape)},
            )
        labels = targets if longest is None else targets[:, :longest]
        position = torch.arange(labels.shape[1], device=targets.device)  # S
        return labels.masked_fill(position >= target_lengths.to(targets.device)[:, None], 0)  # padding: any
    total = targets.numel()
    if eager and total != int(target_lengths.sum()):
        raise fail(
            RuntimeError,
            op,
            f"Expected tensor to have size {int(target_lengths.sum())} at dimension 0 (the sum of "
            f"target_lengths), but got size {total} for argument #2 'targets'",
            {"targets": ("Σ S", targets.shape)},
        )
    if total == 0:
        return targets.new_zeros(batch, 0)
    lengths = target_lengths.to(targets.device)
    position = torch.arange(total if longest is None else longest, device=targets.device)  # S
    starts = lengths.cumsum(0) - lengths  # n: where each sample's labels begin
    index = (starts[:, None] + position).clamp_max(total - 1)  # n S
    return targets[index].masked_fill(position >= lengths[:, None], 0)


def ctc_loss(
    log_probs: torch.Tensor,
    targets: torch.Tensor,
    input_lengths: torch.Tensor | Sequence[int],
    target_lengths: torch.Tensor | Sequence[int],
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> torch.Tensor:
    """−log Σ_alignments Π_t p_t(alignment_t), by the forward (α) scan over time in log space.

    log_probs (t, n, c) or unbatched (t, c) · targets (n, S) padded or (Σ S,) concatenated
    · input_lengths, target_lengths (n,) tensors or tuples → loss (n,) ('none'), or reduced:
    'mean' averages loss / target_length (at least 1) over the batch. ``zero_infinity`` turns the
    infinite loss of an impossible alignment (input too short) into 0, its gradient too.

    >>> log_probs = torch.randn(5, 2, 4).log_softmax(2)
    >>> targets = torch.tensor([[1, 2], [3, 3]])
    >>> ours = ctc_loss(log_probs, targets, (5, 4), (2, 2), reduction="none")
    >>> theirs = torch.nn.functional.ctc_loss(log_probs, targets, (5, 4), (2, 2), reduction="none")
    >>> torch.allclose(ours, theirs)
    True
    """
    op = "ctc_loss"
    reduction = resolve_reduction(op, reduction)
    if isinstance(input_lengths, torch.Tensor) != isinstance(target_lengths, torch.Tensor):
        raise TypeError(f"{op}: input_lengths and target_lengths must both be tensors or both tuples of ints")
    if isinstance(blank, bool) or not isinstance(blank, int | torch.Tensor):
        raise TypeError(f"{op}: blank must be an int, got {type(blank).__name__} {blank!r}")
    blank = operator.index(blank)  # a 0-D integer tensor counts as an int (a float one: TypeError)
    if not isinstance(zero_infinity, bool):
        raise TypeError(f"{op}: zero_infinity must be a bool, got {type(zero_infinity).__name__}")
    if log_probs.dtype not in (torch.float32, torch.float64):  # torch's CPU kernel has no other
        raise NotImplementedError(f"{op}: not implemented for {log_probs.dtype} log_probs (float, double)")
    batched = log_probs.ndim == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)  # t n c
    if lp.ndim != 3:
        raise fail(
            RuntimeError,
            op,
            f"Expected 3-dimensional tensor, but got {lp.ndim}-dimensional tensor for argument #1 "
            "'log_probs' (the unbatched (t, c) input gains a batch dim)",
            {"log_probs": ("t n c", log_probs.shape)},
        )
    frames, batch, classes = lp.shape
    if not 0 <= blank < classes:
        raise RuntimeError(f"{op}: blank must be in label range [0, {classes}), got blank={blank}")
    input_lengths = _lengths("input_lengths", input_lengths, batch, frames)
    target_lengths = _lengths("target_lengths", target_lengths, batch, None)
    labels = _padded_targets(targets, target_lengths, batch).to(lp.device)  # n S
    if found((labels < 0) | (labels >= classes)):  # torch's CPU kernel reads past the class dim instead
        raise RuntimeError(
            f"{op}: targets must be class indices in [0, {classes}), got labels from {int(labels.min())} "
            f"to {int(labels.max())}"
        )

    # the extended target l' = blank l1 blank l2 … blank, and where a jump over two positions is allowed
    positions = 2 * labels.shape[1] + 1
    extended = labels.new_full((batch, positions), blank)  # n s
    extended[:, 1::2] = labels
    skip = torch.zeros_like(extended, dtype=torch.bool)  # n s
    skip[:, 2:] = (extended[:, 2:] != blank) & (extended[:, 2:] != extended[:, :-2])
    emit = lp.gather(2, extended.expand(frames, batch, positions)).unbind(0)  # t × (n s): log p_t(l'_s)

    # the scan over time: α_0 = emit_0 on (blank, l1), then one _step per frame while the input lasts
    start = lp.new_full((batch, positions), _NEG_INF)
    first = torch.arange(positions, device=lp.device) < 2  # s
    alpha = torch.where(first, emit[0], start) if frames else start  # n s
    lasting = input_lengths.to(lp.device)[:, None]  # n 1
    for t, frame in enumerate(emit[1:], start=1):
        alpha = torch.where(t < lasting, _step(alpha, frame, skip), alpha)

    # log p(l | x) = log(e^α(2S) + e^α(2S − 1)) at the last frame; an empty input emits only the empty target
    ends = (2 * target_lengths).to(lp.device)[:, None]  # n 1
    last = alpha.gather(1, ends).squeeze(1)  # n
    before = alpha.gather(1, (ends - 1).clamp_min(0)).squeeze(1).masked_fill(ends.squeeze(1) == 0, _NEG_INF)
    log_likelihood = _log_add(last, before)  # n
    empty = lasting.squeeze(1) == 0
    nothing = torch.where(ends.squeeze(1) == 0, 0.0, _NEG_INF).to(lp.dtype)
    log_likelihood = torch.where(empty, nothing, log_likelihood)

    # torch's gradient: + e^{log p} at every frame of the input (a zero in value, see the module docstring)
    frame_mask = torch.arange(frames, device=lp.device)[:, None] < lasting.squeeze(1)  # t n
    probs = lp.exp()
    zero = _frame_sum(probs - probs.detach(), frame_mask)  # n
    loss = -log_likelihood + zero
    if zero_infinity:
        loss = torch.where(loss == float("inf"), torch.zeros_like(loss), loss)
    if reduction == "mean":
        return (loss / target_lengths.to(device=lp.device, dtype=lp.dtype).clamp_min(1)).mean()
    if reduction == "sum":
        return loss.sum()
    return loss if batched else loss.squeeze(0)


def _frame_sum(values: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """Σ over the frames of the input (t < input_length) and the classes:  t n c, t n → n. A NaN
    (or ±inf − ±inf) entry adds nothing: the sum is a zero in value, whatever log_probs hold."""
    kept = frame_mask[:, :, None] & values.detach().isfinite()
    return torch.where(kept, values, 0).sum((0, 2))
