"""Attention: scores → mask → softmax → weighted sum of the values.

Legend: b batch dims (any number, broadcast against each other; named b0 b1 … in the patterns,
usually batch and heads), l query positions, s key/value positions, e query/key features per
head, ev value features per head. With grouped-query attention the h query heads are
hk key/value heads × g query heads each.

    scores  (b, l, s)  = contract("b l e, b s e -> b l s", query, key) · scale
    scores            += mask         bool: False → -inf;  float: added;  causal: s > l → -inf
    weights (b, l, s)  = softmax over s               a row with nothing to attend → zeros
    output  (b, l, ev) = contract("b l s, b s ev -> b l ev", dropout(weights), value)

Two forms compute it:

* ``"literal"`` — the formula above, holding the (b, l, s) scores; its contractions follow
  :func:`scratchnn.contraction` (einsum or broadcast multiply-and-sum).
* ``"blocked"`` — the memory-efficient form (FlashAttention-2's algorithm in plain torch): tiles
  of ``block_q`` queries × ``block_k`` keys, an online softmax (running max and sum) in the
  forward, which keeps only the output and each row's log-sum-exp; the backward recomputes each
  tile's weights from them. Tiles are batched matrix multiplies (``baddbmm``) over all of b.
  Causal tiles above the diagonal are skipped; masks are sliced per tile; dropout is drawn per
  tile from a seed taken from torch's generator, so the backward regenerates the same mask.

Half and bfloat16 inputs are computed in float32 and rounded back.

``"auto"`` (the default) picks ``"blocked"`` when the scores (b·l·s × element size) would take
more than ``threshold`` bytes, default 1 MiB (8 heads of l = s = 128 in float32 are 512 KiB), and
``"literal"`` otherwise. Measured on CPU, the two forms take the same time at that size, and the
blocked form is 2-3× faster from l = s = 512 on (the literal form makes several passes over
whole n×n tensors), besides holding far less memory. The literal form draws dropout exactly as
torch does (same masks under the same seed); the blocked form's masks have the same distribution
but their own draws. Choose with :func:`sdpa_backend` for a block of code, or per call with the
keyword-only ``backend=`` and ``block_size=`` arguments.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import cast

import einops
import torch

from .._args import fail, warn
from .._contract import contract
from .._settings import ATTENTION_FORMS, Settings, check_setting, current_settings, scoped
from .._trace import is_recording, rearrange, record
from .dropout import dropout
from .linear import linear
from .padding import pad
from .softmax import safe_softmax, softmax

__all__ = [
    "BACKENDS",
    "multi_head_attention_forward",
    "scaled_dot_product_attention",
    "sdpa_backend",
]

BACKENDS = ATTENTION_FORMS
LOG2E = math.log2(math.e)  # the blocked form keeps scores in base 2: exp2 is ~3× faster than exp on CPU
_UPCAST = (torch.float16, torch.bfloat16)


def sdpa_backend(
    backend: str | None = None,
    *,
    block_size: int | tuple[int, int] | None = None,
    threshold: int | None = None,
) -> AbstractContextManager[Settings]:
    """``scratchnn.settings(attention=backend, attention_tiles=block_size,
    attention_threshold=threshold)`` under its older name: select the attention form
    (``"auto"``, ``"literal"``, ``"blocked"``), the blocked form's tile size (``block_q`` or
    ``(block_q, block_k)``) and the ``"auto"`` threshold inside a block.

    >>> q = k = v = torch.randn(2, 4, 300, 16)
    >>> with sdpa_backend("blocked", block_size=(64, 128)):
    ...     tiled = scaled_dot_product_attention(q, k, v, is_causal=True)
    >>> with sdpa_backend("literal"):
    ...     whole = scaled_dot_product_attention(q, k, v, is_causal=True)
    >>> torch.allclose(tiled, whole, atol=1e-5)
    True
    """
    return scoped(_attention_changes(backend, block_size, threshold, "sdpa_backend"), "sdpa_backend")


def _attention_changes(
    backend: str | None, block_size: int | tuple[int, int] | None, threshold: int | None, op: str
) -> dict[str, object]:
    """The settings named by the attention arguments, checked under their own names."""
    changes: dict[str, object] = {}
    for field, name, value in (
        ("attention", "backend", backend),
        ("attention_tiles", "block_size", block_size),
        ("attention_threshold", "threshold", threshold),
    ):
        if value is not None:
            changes[field] = check_setting(field, value, name, op)
    return changes


# --------------------------------------------------------------------------------------------
# scaled_dot_product_attention
# --------------------------------------------------------------------------------------------


def scaled_dot_product_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
    *,
    backend: str | None = None,
    block_size: int | tuple[int, int] | None = None,
) -> torch.Tensor:
    """``softmax(query · keyᵀ · scale + mask) · value``, torch's SDPA.

    query (..., l, e) · key (..., s, e) · value (..., s, ev) → (..., l, ev); the leading dims
    broadcast. ``attn_mask`` broadcasts to (..., l, s): bool True = may attend, float is added.
    ``is_causal`` lets query i attend keys j ≤ i (top-left aligned when l ≠ s). ``scale``
    defaults to 1/√e. ``enable_gqa`` shares each key/value head among h/hk query heads (dim -3).
    ``dropout_p`` drops weights with that probability and scales the rest by 1/(1 - p), always
    (torch's SDPA has no training flag). A query that may attend nowhere gets zeros.

    ``backend`` and ``block_size`` (keyword-only, not in torch) override :func:`sdpa_backend`.
    Under ``torch.compile`` the literal form is traced whatever the backend (the compiler fuses it).

    >>> q, k, v = torch.randn(2, 8, 5, 16), torch.randn(2, 2, 7, 16), torch.randn(2, 2, 7, 4)
    >>> scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True).shape
    torch.Size([2, 8, 5, 4])
    """
    op = "scaled_dot_product_attention"
    chosen = current_settings()
    form = chosen.attention if backend is None else check_setting("attention", backend, "backend", op)
    tiles = (
        chosen.attention_tiles
        if block_size is None
        else check_setting("attention_tiles", block_size, "block_size", op)
    )
    if chosen.form == "literal" and backend is None:  # the literal form computes the formula, attention too
        form = "literal"
    _check_operands(op, query, key, value, attn_mask)
    if query.shape[-2] == 0 or value.numel() == 0:  # torch's shortcut, before its other checks
        return _empty_attention(query, key, value)
    key, value, batch = _check_sdpa(op, query, key, value, attn_mask, dropout_p, is_causal, enable_gqa)
    seq_q, seq_k = query.shape[-2], key.shape[-2]
    if scale is None:  # 1/√e; with e = 0 every score is an empty sum, 0, whatever the scale
        scale = 1 / math.sqrt(query.shape[-1]) if query.shape[-1] else 1.0
    dropout_p = dropout_p if dropout_p > 0 else 0.0
    dtype = query.dtype
    if dtype in _UPCAST:  # computed in float32, rounded back
        query, key, value = query.float(), key.float(), value.float()
        attn_mask = (
            attn_mask.float() if attn_mask is not None and attn_mask.is_floating_point() else attn_mask
        )
    if torch.compiler.is_compiling():  # traced: the formula, for the compiler to fuse; the blocked
        form = "literal"  # kernel (threads, in-place tiles, per-tile generators) runs eagerly only
    if form == "auto":
        score_bytes = math.prod(batch) * seq_q * seq_k * query.element_size()
        form = "blocked" if score_bytes > chosen.attention_threshold else "literal"
    if form == "literal":
        out = _attention_literal(query, key, value, attn_mask, dropout_p, is_causal, scale, len(batch))
    else:
        out = _attention_blocked(query, key, value, attn_mask, dropout_p, is_causal, scale, batch, tiles)
    return out if out.dtype == dtype else out.to(dtype)


def _shapes(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> dict[str, tuple[str, torch.Size]]:
    return {
        "query": ("..., l, e", query.shape),
        "key": ("..., s, e", key.shape),
        "value": ("..., s, ev", value.shape),
    }


def _check_operands(
    op: str, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, attn_mask: torch.Tensor | None
) -> None:
    """What torch checks first: ranks and dtypes (RuntimeError)."""
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise fail(RuntimeError, op, "query, key and value must be at least 2-D", _shapes(query, key, value))
    if not query.dtype == key.dtype == value.dtype:
        raise fail(
            RuntimeError,
            op,
            f"query, key and value must have one dtype, got {query.dtype}, {key.dtype} and {value.dtype}",
        )
    if attn_mask is not None and attn_mask.dtype not in (torch.bool, query.dtype):
        raise fail(
            RuntimeError,
            op,
            f"attn_mask must be bool or have the query's dtype {query.dtype}, got {attn_mask.dtype}",
        )


def _check_sdpa(
    op: str,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None,
    dropout_p: float,
    is_causal: bool,
    enable_gqa: bool,
) -> tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]:
    """Validate the rest as torch does (same exception types); returns key and value with their heads
    repeated for grouped-query attention, and the broadcast batch shape."""
    shapes = _shapes(query, key, value)
    if query.is_complex():
        raise fail(NotImplementedError, op, f"complex inputs are not supported, got {query.dtype}")
    if not query.is_floating_point():
        raise fail(RuntimeError, op, f"needs floating-point inputs, got {query.dtype}")
    if attn_mask is not None and is_causal:
        raise fail(RuntimeError, op, "attn_mask must not be given with is_causal=True (causal is the mask)")
    if dropout_p > 1:
        raise fail(
            RuntimeError, op, f"dropout probability has to be between 0 and 1, got dropout_p={dropout_p}"
        )
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3 and value.ndim >= 3:
        heads = query.shape[-3]
        for name, tensor in (("key", key), ("value", value)):
            if heads % tensor.shape[-3]:
                raise fail(
                    RuntimeError,
                    op,
                    f"the number of heads in {name} ({tensor.shape[-3]}) must divide the number of heads in "
                    f"query ({heads}) for grouped-query attention",
                    shapes,
                )
        key, value = _repeat_heads(key, heads), _repeat_heads(value, heads)
    elif enable_gqa:
        raise fail(IndexError, op, "enable_gqa needs a heads dim (-3) in query, key and value", shapes)
    if key.shape[-1] != query.shape[-1]:
        raise fail(
            RuntimeError,
            op,
            f"query has e={query.shape[-1]} features per head but key has {key.shape[-1]}",
            shapes,
        )
    if key.shape[-2] != value.shape[-2]:
        raise fail(
            RuntimeError, op, f"key has s={key.shape[-2]} positions but value has {value.shape[-2]}", shapes
        )
    try:
        batch = tuple(torch.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2]))
    except RuntimeError:
        raise fail(
            RuntimeError, op, "the batch dims of query, key and value do not broadcast", shapes
        ) from None
    if attn_mask is not None:
        # torch masks the scores of query and key in place: the value's batch dims do not count
        scores = (*torch.broadcast_shapes(query.shape[:-2], key.shape[:-2]), query.shape[-2], key.shape[-2])
        mask_shapes = {**shapes, "attn_mask": ("..., l, s", attn_mask.shape)}
        if attn_mask.ndim < 2 and query.ndim == key.ndim == value.ndim == 4:  # torch's fused-kernel check
            raise fail(
                IndexError,
                op,
                f"attn_mask must be at least 2-D (l, s) for 4-D inputs, got {attn_mask.ndim}-D",
                mask_shapes,
            )
        try:
            fits = torch.broadcast_shapes(attn_mask.shape, scores) == scores
        except RuntimeError:
            fits = False
        if not fits:
            raise fail(RuntimeError, op, f"attn_mask does not broadcast to the scores {scores}", mask_shapes)
    return key, value, batch


def _empty_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """torch's result when l, s or ev is 0: zeros shaped (*query.shape[:-1], ev), whatever the batch
    dims of key and value, with zero gradients for all three (sums over empty slices)."""
    zeros = query.narrow(-1, 0, 0).sum(-1, keepdim=True).expand(*query.shape[:-1], value.shape[-1])
    return zeros + key.narrow(-1, 0, 0).sum() + value.narrow(-1, 0, 0).sum()


def _repeat_heads(tensor: torch.Tensor, heads: int) -> torch.Tensor:
    """(..., hk, s, e) → (..., hk·g, s, e), each key/value head repeated for its g query heads."""
    groups = heads // tensor.shape[-3]
    if groups == 1:
        return tensor
    repeated = einops.repeat(tensor, "... hk s e -> ... (hk g) s e", g=groups)
    if is_recording():
        record(
            "rearrange",
            "... hk s e -> ... (hk g) s e",
            [tensor],
            repeated,
            bindings={"g": groups},
            note="repeat",
        )
    return repeated


def _batch_axes(n: int) -> list[str]:
    return [f"b{i}" for i in range(n)]


def _axes(tensor: torch.Tensor, batch: list[str], tail: str) -> str:
    """The pattern of an operand whose leading dims are the last of the broadcast batch dims."""
    return " ".join([*batch[len(batch) - (tensor.ndim - 2) :], tail])


def _attention_literal(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None,
    dropout_p: float,
    is_causal: bool,
    scale: float,
    batch_dims: int,
) -> torch.Tensor:
    """The formula as written: the whole (b, l, s) score matrix, masked, softmaxed, contracted."""
    b = _batch_axes(batch_dims)
    q_axes, k_axes, v_axes = _axes(query, b, "l e"), _axes(key, b, "s e"), _axes(value, b, "s ev")
    scores_axes = _axes(query if query.ndim >= key.ndim else key, b, "l s")  # batch dims of query and key
    scores = contract(f"{q_axes}, {k_axes} -> {scores_axes}", query, key) * scale
    if is_causal:  # query i sees keys j ≤ i
        attn_mask = torch.ones(query.shape[-2], key.shape[-2], dtype=torch.bool, device=query.device).tril()
    if attn_mask is not None:  # the mask may bring batch dims of the value's
        if attn_mask.dtype == torch.bool:
            scores = torch.where(attn_mask, scores, float("-inf"))
        else:
            scores = scores + attn_mask
        if is_recording():
            record("op", "scores + mask (False → -inf)", [scores, attn_mask], scores)
    weights = safe_softmax(scores, dim=-1)  # over s; a fully masked row → 0
    if is_recording():
        record("op", "softmax over s (a fully masked row → 0)", [scores], weights)
    if dropout_p > 0:  # torch's own draws: bernoulli(1 - p) on a tensor shaped like the weights
        weights = dropout(weights, dropout_p)
    return contract(f"{_axes(weights, b, 'l s')}, {v_axes} -> {' '.join(b)} l ev", weights, value)


# --------------------------------------------------------------------------------------------
# The blocked (memory-efficient) form
# --------------------------------------------------------------------------------------------


def _attention_blocked(
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
            "op",
            f"blocked attention: tiles of {tiling.block_q} queries × {tiling.block_k} keys, online softmax",
            [query, key, value],
            (*batch, seq_q, features),
            literal_bytes=tile_bytes,
            note="blocked form",
        )
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
    def forward(ctx, query, key, value, mask, tiling: _Tiling):  # type: ignore[override]
        out = torch.empty(tiling.n, tiling.seq_q, value.shape[2], dtype=query.dtype, device=query.device)
        lse = torch.empty(tiling.n, tiling.seq_q, 1, dtype=query.dtype, device=query.device)
        _forward_tiles(query, key, value, mask, tiling, out, lse)
        ctx.save_for_backward(query, key, value, mask, out, lse)
        ctx.tiling = tiling
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):  # type: ignore[override]
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


def _forward_tiles(query, key, value, mask, tiling: _Tiling, out, lse) -> None:
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


def _backward_tiles(query, key, value, mask, tiling: _Tiling, out, lse, grad_out, grads, needs) -> None:
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


# --------------------------------------------------------------------------------------------
# multi_head_attention_forward
# --------------------------------------------------------------------------------------------


def multi_head_attention_forward(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: torch.Tensor | None,
    in_proj_bias: torch.Tensor | None,
    bias_k: torch.Tensor | None,
    bias_v: torch.Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: torch.Tensor,
    out_proj_bias: torch.Tensor | None,
    training: bool = True,
    key_padding_mask: torch.Tensor | None = None,
    need_weights: bool = True,
    attn_mask: torch.Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: torch.Tensor | None = None,
    k_proj_weight: torch.Tensor | None = None,
    v_proj_weight: torch.Tensor | None = None,
    static_k: torch.Tensor | None = None,
    static_v: torch.Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """torch's multi-head attention: project, split into heads, attend, merge heads, project.

    Legend: l target (query) positions, s source (key/value) positions, b batch, h heads,
    d features per head (embed_dim = h·d).

        q, k, v (l|s, b, h·d)  = linear(query|key|value, W_q|W_k|W_v, bias)
        (b h) l d              = rearrange(q, "l b (h d) -> (b h) l d")
        out (l, b, h·d)        = linear(attend(q, k, v), out_proj_weight, out_proj_bias)

    Masks here say where a query may NOT attend (bool True, or float -inf), the opposite of
    SDPA's bool masks. With ``need_weights`` the weights are computed explicitly and returned
    (averaged over heads if ``average_attn_weights``), through a plain softmax: a query with
    nothing to attend gets NaN, as in torch; otherwise :func:`scaled_dot_product_attention` runs
    (such a query gets zeros). ``is_causal`` is a hint that ``attn_mask`` is causal.

    >>> e = 8
    >>> x = torch.randn(5, 2, e)
    >>> out, weights = multi_head_attention_forward(
    ...     x, x, x, e, 2, torch.randn(3 * e, e), torch.zeros(3 * e), None, None, False, 0.0,
    ...     torch.randn(e, e), torch.zeros(e))
    >>> out.shape, weights.shape
    (torch.Size([5, 2, 8]), torch.Size([2, 5, 5]))
    """
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:  # pretend there is a batch of one (dim 1), and drop it at the end
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(
        key_padding_mask, "key_padding_mask", attn_mask, "attn_mask", query.dtype
    )
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "multi_head_attention_forward: is_causal is a hint that attn_mask is causal, so it needs "
            "attn_mask "
            "(e.g. torch.nn.Transformer.generate_square_subsequent_mask)"
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # SDPA makes the causal mask itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype)
        if key_padding_mask is not None:
            is_causal = False  # the merged mask is no longer causal
    if embed_dim != embed_dim_to_check:
        raise AssertionError(
            f"multi_head_attention_forward: expected embedding dimension {embed_dim_to_check}, "
            f"got {embed_dim} "
            f"(query {tuple(query.shape)})"
        )
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(
            f"multi_head_attention_forward: embed_dim {embed_dim} not divisible by num_heads {num_heads}"
        )
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(
                f"multi_head_attention_forward: key's sequence and batch dims {tuple(key.shape[:2])} do not "
                f"match value's {tuple(value.shape[:2])}"
            )
    elif key.shape != value.shape:
        raise AssertionError(
            f"multi_head_attention_forward: key shape {tuple(key.shape)} does not match value shape "
            f"{tuple(value.shape)}"
        )

    q, k, v = _in_projection(
        query, key, value, use_separate_proj_weight, in_proj_weight, in_proj_bias,
        q_proj_weight, k_proj_weight, v_proj_weight,
    )  # fmt: skip

    if attn_mask is not None:  # (l, s) or (b·h, l, s) → 3-D
        expected = (tgt_len, src_len) if attn_mask.ndim == 2 else (bsz * num_heads, tgt_len, src_len)
        if tuple(attn_mask.shape) != expected:
            raise RuntimeError(
                f"multi_head_attention_forward: the shape of the {attn_mask.ndim}D attn_mask is "
                f"{tuple(attn_mask.shape)}, but should be {expected}"
            )
        attn_mask = attn_mask.unsqueeze(0) if attn_mask.ndim == 2 else attn_mask

    if bias_k is not None and bias_v is not None:  # one more key/value position, the learned bias
        if static_k is not None or static_v is not None:
            raise AssertionError(
                "multi_head_attention_forward: bias_k/bias_v cannot be added to static_k/static_v"
            )
        k = torch.cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = torch.cat([v, bias_v.expand(1, bsz, embed_dim)])
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        set_, unset = ("bias_k", "bias_v") if bias_k is not None else ("bias_v", "bias_k")
        raise AssertionError(f"multi_head_attention_forward: {set_} is set but {unset} is None")

    q = rearrange(q, "l b (h d) -> (b h) l d", h=num_heads)
    k = _heads(k, static_k, "static_k", bsz, num_heads, head_dim)
    v = _heads(v, static_v, "static_v", bsz, num_heads, head_dim)

    if add_zero_attn:  # one more key/value position of zeros
        zeros = k.new_zeros(bsz * num_heads, 1, head_dim)
        k, v = torch.cat([k, zeros], dim=1), torch.cat([v, zeros.to(v.dtype)], dim=1)
        attn_mask = None if attn_mask is None else pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]

    if key_padding_mask is not None:  # (b, s) → (b·h, 1, s), merged into the mask
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(
                "multi_head_attention_forward: expected key_padding_mask of shape (b, s) = "
                f"{(bsz, src_len)}, "
                f"got {tuple(key_padding_mask.shape)}"
            )
        padding = einops.repeat(key_padding_mask, "b s -> (b h) 1 s", h=num_heads)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    if not training:
        dropout_p = 0.0

    if need_weights:
        scores = contract("n l d, n s d -> n l s", q * math.sqrt(1.0 / head_dim), k)  # n = b·h
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = softmax(scores, dim=-1)  # plain softmax, as torch: a fully masked row → NaN
        if dropout_p > 0:
            weights = dropout(weights, dropout_p)
        heads_out = contract("n l s, n s d -> n l d", weights, v)
        attn_output = linear(
            rearrange(heads_out, "(b h) l d -> l b (h d)", h=num_heads), out_proj_weight, out_proj_bias
        )
        weights = rearrange(weights, "(b h) l s -> b h l s", h=num_heads)
        if average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            attn_output, weights = attn_output.squeeze(1), weights.squeeze(0)
        return attn_output, weights

    if attn_mask is not None:  # (1, l, s) or (b·h, l|1, s) → (b|1, h|1, l|1, s) for SDPA
        attn_mask = (
            attn_mask.unsqueeze(0)
            if attn_mask.shape[0] == 1
            else rearrange(attn_mask, "(b h) l s -> b h l s", h=num_heads)
        )
    heads_out = scaled_dot_product_attention(
        rearrange(q, "(b h) l d -> b h l d", h=num_heads),
        rearrange(k, "(b h) s d -> b h s d", h=num_heads),
        rearrange(v, "(b h) s d -> b h s d", h=num_heads),
        attn_mask,
        dropout_p,
        is_causal,
    )
    attn_output = linear(rearrange(heads_out, "b h l d -> l b (h d)"), out_proj_weight, out_proj_bias)
    return (attn_output if batched else attn_output.squeeze(1)), None


def _mha_shape_check(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    key_padding_mask: torch.Tensor | None,
    attn_mask: torch.Tensor | None,
    num_heads: int,
) -> bool:
    """Whether the input is batched (3-D) or not (2-D); AssertionError (torch's type) otherwise."""
    op = "multi_head_attention_forward"
    if query.ndim not in (2, 3):
        raise AssertionError(
            f"{op}: query should be unbatched 2-D or batched 3-D, got a {query.ndim}-D query"
        )
    batched = query.ndim == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(
            f"{op}: for {kind} query, expected key and value to be {query.ndim}-D, got {key.ndim}-D and "
            f"{value.ndim}-D"
        )
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise AssertionError(
            f"{op}: for {kind} query, expected key_padding_mask to be None or {query.ndim - 1}-D, got "
            f"{key_padding_mask.ndim}-D"
        )
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise AssertionError(
                f"{op}: for {kind} query, expected attn_mask to be None, 2-D or 3-D, got {attn_mask.ndim}-D"
            )
        if not batched and attn_mask.ndim == 3:
            expected = (num_heads, query.shape[0], key.shape[0])
            if tuple(attn_mask.shape) != expected:
                raise AssertionError(
                    f"{op}: expected a 3-D attn_mask of shape (h, l, s) = {expected}, "
                    f"got {tuple(attn_mask.shape)}"
                )
    return batched


def _canonical_mask(
    mask: torch.Tensor | None,
    name: str,
    other: torch.Tensor | None,
    other_name: str,
    dtype: torch.dtype,
) -> torch.Tensor | None:
    """A bool mask (True = may not attend) as a float mask of ``dtype``: 0 or -inf; a float mask as is."""
    if mask is None:
        return None
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise AssertionError(
            f"multi_head_attention_forward: only bool and floating types of {name} are supported"
        )
    if other is not None and other.dtype != mask.dtype:
        warn(
            f"Support for mismatched {name} and {other_name} is deprecated. Use same type for both instead.",
            stacklevel=3,
        )
    if mask.is_floating_point():
        return mask
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill_(mask, float("-inf"))


def _in_projection(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    separate: bool,
    in_proj_weight: torch.Tensor | None,
    in_proj_bias: torch.Tensor | None,
    q_proj_weight: torch.Tensor | None,
    k_proj_weight: torch.Tensor | None,
    v_proj_weight: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """q, k, v = linear(query, W_q, b_q), linear(key, W_k, b_k), linear(value, W_v, b_v), from the
    packed (3·E, E) ``in_proj_weight`` or from the three separate weights."""
    op = "multi_head_attention_forward"
    embed_dim = query.shape[-1]
    biases = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
    if not separate:
        if in_proj_weight is None:
            raise AssertionError(f"{op}: use_separate_proj_weight is False but in_proj_weight is None")
        weights = in_proj_weight.chunk(3)
    else:
        separate_weights = (q_proj_weight, k_proj_weight, v_proj_weight)
        for name, weight, source in zip(("q", "k", "v"), separate_weights, (query, key, value)):
            if weight is None:
                raise AssertionError(f"{op}: use_separate_proj_weight is True but {name}_proj_weight is None")
            expected = (embed_dim, source.shape[-1])
            if tuple(weight.shape) != expected:
                raise AssertionError(
                    f"{op}: expected {name}_proj_weight of shape {expected}, got {tuple(weight.shape)}"
                )
        weights = cast(tuple[torch.Tensor, ...], separate_weights)  # each checked not None above
        for name, bias in zip(("q", "k", "v"), biases):
            if bias is not None and tuple(bias.shape) != (embed_dim,):
                raise AssertionError(
                    f"{op}: expected the {name} bias of shape {(embed_dim,)}, got {tuple(bias.shape)}"
                )
    q, k, v = (linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))
    return q, k, v


def _heads(
    projected: torch.Tensor, static: torch.Tensor | None, name: str, bsz: int, num_heads: int, head_dim: int
) -> torch.Tensor:
    """(s, b, h·d) → (b·h, s, d), or the given ``static_k``/``static_v`` (b·h, s, d) after checking it."""
    if static is None:
        return rearrange(projected, "s b (h d) -> (b h) s d", h=num_heads)
    if static.shape[0] != bsz * num_heads or static.shape[2] != head_dim:
        raise AssertionError(
            f"multi_head_attention_forward: expected {name} of shape (b·h, s, d) = ({bsz * num_heads}, s, "
            f"{head_dim}), got {tuple(static.shape)}"
        )
    return static
