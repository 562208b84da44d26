"""Blocked attention: the formula's scores, softmax and weighted sum, tile by tile.

``functional/attention.py`` holds the formula::

    out = softmax(query · keyᵀ · scale + mask) · value

This is its memory-efficient schedule (FlashAttention-2's algorithm in plain torch): tiles of
``block_q`` queries × ``block_k`` keys (``scratchnn.settings(attention_tiles=...)``), an online
softmax (running max and sum) in the forward, which keeps only the output and each row's
log-sum-exp; the backward recomputes each tile's weights from them. Tiles are batched matrix
multiplies (``baddbmm``) over all of the batch. Causal tiles above the diagonal are skipped;
masks are sliced per tile; dropout is drawn per tile from a seed taken from torch's generator,
so the backward regenerates the same mask (the same distribution as torch's draws, not the same
draws).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .._trace import hidden, is_recording, record

__all__ = ["blocked_attention"]

LOG2E = math.log2(math.e)  # the blocked form keeps scores in base 2: exp2 is cheaper than exp on CPU


def blocked_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None,
    dropout_p: float,
    is_causal: bool,
    scale: float,
    batch: tuple[int, ...],
    tiles: tuple[int, int],
) -> torch.Tensor:
    """Flatten the batch dims to one (n = prod b), run the tiled kernel, restore the batch dims."""
    seq_q, seq_k, features = query.shape[-2], key.shape[-2], value.shape[-1]
    n = math.prod(batch)

    def flat(tensor: torch.Tensor) -> torch.Tensor:  # (..., t, f) → (n, t, f), contiguous
        return tensor.expand(*batch, *tensor.shape[-2:]).reshape(n, *tensor.shape[-2:]).contiguous()

    mask_index = None
    if attn_mask is not None:  # (..., l|1, s|1) → (m, l|1, s|1), not expanded; batch row i uses mask_index[i]
        lead = tuple(attn_mask.shape[:-2])
        mask_batch = (1,) * (len(batch) - len(lead)) + lead
        mask_index = (
            torch.arange(math.prod(mask_batch), device=query.device)
            .reshape(mask_batch)
            .expand(batch)
            .reshape(n)
        )
        attn_mask = attn_mask.reshape(
            -1, *(1,) * (2 - attn_mask.ndim), *attn_mask.shape[max(attn_mask.ndim - 2, 0) :]
        )
    # drawn from torch's generator, so torch.manual_seed makes the dropout reproducible
    seed = int(torch.randint(0, 2**62, (), dtype=torch.int64)) if dropout_p > 0 else 0
    tiling = _Tiling(
        n, seq_q, seq_k, min(tiles[0], seq_q), min(tiles[1], seq_k),
        scale, is_causal, dropout_p, seed, mask_index,
    )  # fmt: skip
    if is_recording():
        tile_bytes = n * tiling.block_q * tiling.block_k * query.element_size()
        record(
            "schedule",
            f"blocked attention: tiles of {tiling.block_q} queries × {tiling.block_k} keys, online softmax",
            [query, key, value],
            (*batch, seq_q, features),
            literal_bytes=tile_bytes,
            note="blocked form",
        )
    with hidden():
        out = _BlockedAttention.apply(flat(query), flat(key), flat(value), attn_mask, tiling)
    return out.view(*batch, seq_q, features)


@dataclass(frozen=True, eq=False)
class _Tiling:
    """The tiles of a blocked attention over n flattened batch rows, and what each tile needs:
    its slice of the mask (row i of the batch uses mask row ``mask_index[i]``), the causal
    fill, its dropout draws."""

    n: int
    seq_q: int
    seq_k: int
    block_q: int
    block_k: int
    scale: float
    causal: bool
    dropout_p: float
    seed: int
    mask_index: torch.Tensor | None

    def query_blocks(self) -> range:
        return range(0, self.seq_q, self.block_q)

    def key_blocks(self, q1: int) -> range:
        """Key tiles seen by the query rows before q1: under causal, those with a key j < q1."""
        return range(0, min(self.seq_k, q1) if self.causal else self.seq_k, self.block_k)

    def query_blocks_for(self, k0: int) -> range:
        """Query tiles that see key tile k0 (under causal: rows ≥ k0)."""
        return range((k0 // self.block_q) * self.block_q if self.causal else 0, self.seq_q, self.block_q)

    def mask_scores(self, scores: torch.Tensor, mask: torch.Tensor | None, q0: int, k0: int) -> None:
        """Apply the mask (or the causal mask) to the scores of a tile, in place."""
        _, height, width = scores.shape
        if self.causal and k0 + width - 1 > q0:  # the tile crosses the diagonal: hide keys j > i
            above = torch.ones(height, width, dtype=torch.bool, device=scores.device).triu_(q0 - k0 + 1)
            scores.masked_fill_(above, float("-inf"))
        if mask is None:
            return
        tile = _mask_tile(mask, q0, height, k0, width)  # (m, height|1, width|1)
        if tile.shape[0] > 1:  # one mask per batch row (a copy of this tile's rows)
            tile = tile[self.mask_index]  # type: ignore[index]
        if tile.dtype == torch.bool:
            scores.masked_fill_(tile.logical_not(), float("-inf"))
        else:
            scores.add_(tile, alpha=LOG2E)

    def keep(
        self, q0: int, k0: int, shape: torch.Size, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor | None:
        """This tile's dropout multiplier (0 or 1/(1 - p)), regenerated identically in the backward."""
        if not self.dropout_p:
            return None
        keep = 1 - self.dropout_p
        if keep <= 0:
            return torch.zeros(shape, dtype=dtype, device=device)
        tile = (q0 // self.block_q) * (self.seq_k // self.block_k + 1) + k0 // self.block_k
        generator = torch.Generator(device=device).manual_seed((self.seed + tile) % 2**63)
        return torch.empty(shape, dtype=dtype, device=device).bernoulli_(keep, generator=generator).div_(keep)


def _mask_tile(mask: torch.Tensor, q0: int, rows: int, k0: int, cols: int) -> torch.Tensor:
    """mask[:, q0:q0+rows, k0:k0+cols], leaving broadcast (size-1) dims whole."""
    row_slice = slice(q0, q0 + rows) if mask.shape[-2] > 1 else slice(None)
    col_slice = slice(k0, k0 + cols) if mask.shape[-1] > 1 else slice(None)
    return mask[:, row_slice, col_slice]


def _tile_buffer(storage: torch.Tensor, n: int, rows: int, cols: int) -> torch.Tensor:
    """A contiguous (n, rows, cols) tensor in the front of a reused buffer."""
    return storage[: n * rows * cols].view(n, rows, cols)


class _BlockedAttention(torch.autograd.Function):
    """FlashAttention-2 in torch ops. Forward keeps output and log-sum-exp; backward recomputes.

    Per query tile i and key tile j (queries q, keys k, values v; n batch, b_q × b_k tile), with
    the scores in base 2 (s = log2(e) · (scale · q kᵀ + mask), so that exp2 replaces exp)::

        s    = log2(e) · (scale · q_i k_jᵀ + mask_ij)           (n, b_q, b_k)
        m'   = max(m, max_j s);  p = 2^(s - m')                  running max
        l    = l · 2^(m - m') + Σ_j p                            running sum
        o_i  = o_i · 2^(m - m') + p v_j;  finally o_i / l,  lse_i = m + log2 l

    Backward, with D_i = Σ_e dO_i ∘ O_i and p = 2^(s - lse) recomputed per tile::

        dV_j += pᵀ dO_i;   ds = p ∘ (dO_i V_jᵀ - D_i)
        dQ_i += scale · ds K_j;   dK_j += scale · dsᵀ Q_i;   dmask_ij = ds

    With dropout the tile's keep multiplier z scales p before it meets V (and dO Vᵀ before ds).
    A row with nothing to attend has l = 0: its output is 0 and its lse +inf, so its p is 0.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None, tiling: _Tiling
    ) -> Tensor:
        out = torch.empty(tiling.n, tiling.seq_q, value.shape[2], dtype=query.dtype, device=query.device)
        lse = torch.empty(tiling.n, tiling.seq_q, 1, dtype=query.dtype, device=query.device)
        _forward_tiles(query, key, value, mask, tiling, out, lse)
        ctx.save_for_backward(query, key, value, mask, out, lse)
        ctx.tiling = tiling
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        query, key, value, mask, out, lse = ctx.saved_tensors
        tiling: _Tiling = ctx.tiling
        need_mask = ctx.needs_input_grad[3]
        grads = (
            torch.zeros_like(query),
            torch.empty_like(key),
            torch.empty_like(value),
            torch.zeros_like(mask, memory_format=torch.contiguous_format) if need_mask else None,
        )
        needs = ctx.needs_input_grad[:4]
        _backward_tiles(query, key, value, mask, tiling, out, lse, grad_out.contiguous(), grads, needs)
        return (*(grad if need else None for grad, need in zip(grads, needs)), None)


def _forward_tiles(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None, tiling: _Tiling, out: Tensor, lse: Tensor
) -> None:
    """The forward: each query tile meets the key tiles it sees."""
    n, features = query.shape[0], value.shape[2]
    storage = query.new_empty(n * tiling.block_q * tiling.block_k)
    for q0 in tiling.query_blocks():
        q1 = min(q0 + tiling.block_q, tiling.seq_q)
        q_tile = query[:, q0:q1]
        acc = query.new_zeros(n, q1 - q0, features)  # contiguous: fast in-place matmuls
        running_max = query.new_full((n, q1 - q0, 1), float("-inf"))
        running_sum = query.new_zeros(n, q1 - q0, 1)
        shift = torch.zeros_like(running_max)
        for k0 in tiling.key_blocks(q1):
            k1 = min(k0 + tiling.block_k, tiling.seq_k)
            scores = _tile_buffer(storage, n, q1 - q0, k1 - k0)
            alpha = tiling.scale * LOG2E
            torch.baddbmm(scores, q_tile, key[:, k0:k1].transpose(1, 2), beta=0, alpha=alpha, out=scores)
            tiling.mask_scores(scores, mask, q0, k0)
            new_max = torch.maximum(running_max, scores.amax(-1, keepdim=True))
            shift = new_max.masked_fill(new_max == float("-inf"), 0.0)  # nothing seen yet: shift by 0
            weights = scores.sub_(shift).exp2_()
            rescale = (running_max - shift).exp2_()
            running_sum.mul_(rescale).add_(weights.sum(-1, keepdim=True))
            keep = tiling.keep(q0, k0, weights.shape, weights.dtype, weights.device)
            if keep is not None:
                weights.mul_(keep)
            acc.mul_(rescale).baddbmm_(weights, value[:, k0:k1])
            running_max = new_max
        torch.div(acc, running_sum.masked_fill(running_sum == 0, 1.0), out=out[:, q0:q1])
        lse[:, q0:q1] = torch.where(running_sum > 0, shift + running_sum.log2(), float("inf"))


def _backward_tiles(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    mask: Tensor | None,
    tiling: _Tiling,
    out: Tensor,
    lse: Tensor,
    grad_out: Tensor,
    grads: tuple[Tensor, Tensor, Tensor, Tensor | None],
    needs: tuple[bool, ...],
) -> None:
    """The backward: each key tile meets the query tiles that see it."""
    grad_q, grad_k, grad_v, grad_mask = grads
    need_q, need_k, need_v, need_mask = needs
    n = query.shape[0]
    # D_i = Σ_e dO ∘ O, per query tile (no full-size temporary)
    row_dot = torch.empty_like(lse)
    for q0 in tiling.query_blocks():
        q1 = min(q0 + tiling.block_q, tiling.seq_q)
        torch.sum(grad_out[:, q0:q1] * out[:, q0:q1], -1, keepdim=True, out=row_dot[:, q0:q1])
    neg_lse = lse.neg()
    tile_size = n * tiling.block_q * tiling.block_k
    weights_storage = query.new_empty(tile_size)
    grad_storage = query.new_empty(tile_size)
    grad_q_storage = query.new_empty(n * tiling.block_q * query.shape[2])
    for k0 in range(0, tiling.seq_k, tiling.block_k):
        k1 = min(k0 + tiling.block_k, tiling.seq_k)
        k_tile, v_tile = key[:, k0:k1], value[:, k0:k1]
        # accumulated over the query tiles in contiguous buffers (in-place matmuls into strided
        # slices take a slow path), then written to their rows
        grad_k_tile = key.new_zeros(n, k1 - k0, key.shape[2])
        grad_v_tile = value.new_zeros(n, k1 - k0, value.shape[2])
        for q0 in tiling.query_blocks_for(k0):
            q1 = min(q0 + tiling.block_q, tiling.seq_q)
            q_tile, grad_out_tile = query[:, q0:q1], grad_out[:, q0:q1]
            weights = _tile_buffer(weights_storage, n, q1 - q0, k1 - k0)
            alpha = tiling.scale * LOG2E
            torch.baddbmm(neg_lse[:, q0:q1], q_tile, k_tile.transpose(1, 2), alpha=alpha, out=weights)
            tiling.mask_scores(weights, mask, q0, k0)
            weights.exp2_()  # p = 2^(s - lse), in base 2 as in the forward
            keep = tiling.keep(q0, k0, weights.shape, weights.dtype, weights.device)
            kept = weights if keep is None else weights * keep
            if need_v:
                grad_v_tile.baddbmm_(kept.transpose(1, 2), grad_out_tile)
            if not (need_q or need_k or need_mask):
                continue
            grad_scores = _tile_buffer(grad_storage, n, q1 - q0, k1 - k0)
            if keep is None:  # dO Vᵀ - D in one call
                torch.baddbmm(
                    row_dot[:, q0:q1], grad_out_tile, v_tile.transpose(1, 2), beta=-1, out=grad_scores
                )
            else:
                torch.bmm(grad_out_tile, v_tile.transpose(1, 2), out=grad_scores)
                grad_scores.mul_(keep).sub_(row_dot[:, q0:q1])
            grad_scores.mul_(weights)  # ds = p ∘ (dP - D)
            if need_mask:
                assert grad_mask is not None  # made exactly when need_mask
                _accumulate_mask_grad(grad_mask, grad_scores, tiling, q0, k0)
            if need_q:
                grad_q_tile = _tile_buffer(grad_q_storage, n, q1 - q0, query.shape[2])
                grad_q[:, q0:q1].add_(torch.bmm(grad_scores, k_tile, out=grad_q_tile), alpha=tiling.scale)
            if need_k:
                grad_k_tile.baddbmm_(grad_scores.transpose(1, 2), q_tile, alpha=tiling.scale)
        grad_k[:, k0:k1], grad_v[:, k0:k1] = grad_k_tile, grad_v_tile


def _accumulate_mask_grad(
    grad_mask: torch.Tensor, grad_scores: torch.Tensor, tiling: _Tiling, q0: int, k0: int
) -> None:
    """Add a tile of score gradients (all n batch rows) into the mask's gradient (m, l|1, s|1): sum
    over the rows and columns the mask broadcast along, and over the batch rows sharing a mask row."""
    _, height, width = grad_scores.shape
    target = _mask_tile(grad_mask, q0, height, k0, width)
    summed = [axis for axis in (1, 2) if target.shape[axis] == 1 and grad_scores.shape[axis] != 1]
    tile = grad_scores.sum(summed, keepdim=True) if summed else grad_scores
    target.index_add_(0, tiling.mask_index, tile)  # type: ignore[arg-type]
