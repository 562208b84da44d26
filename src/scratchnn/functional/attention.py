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
``"literal"`` otherwise: about where the two forms take the same time on CPU; above it the
blocked form is faster (the literal form makes several passes over whole n×n tensors) and holds
far less memory (docs/benchmarks.md, "Tuning notes"). The literal form draws dropout exactly as
torch does (same masks under the same seed); the blocked form's masks have the same distribution
but their own draws. Choose with ``scratchnn.settings(attention=...)`` for a block of code, or per
call with the keyword-only ``backend=`` and ``block_size=`` arguments.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager

import einops
import torch

from .. import schedules
from .._args import fail
from .._contract import contract
from .._settings import ATTENTION_FORMS, Settings, check_setting, current_settings, scoped
from .._trace import is_recording, record
from .dropout import dropout
from .softmax import safe_softmax

__all__ = [
    "BACKENDS",
    "scaled_dot_product_attention",
    "sdpa_backend",
]

BACKENDS = ATTENTION_FORMS
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

    ``backend`` and ``block_size`` (keyword-only, not in torch) override
    ``scratchnn.settings(attention=..., attention_tiles=...)``.
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
        out = attention_formula(query, key, value, attn_mask, dropout_p, is_causal, scale, len(batch))
    else:
        out = schedules.attention.blocked_attention(
            query, key, value, attn_mask, dropout_p, is_causal, scale, batch, tiles
        )
    return (out if out.dtype == dtype else out.to(dtype)).contiguous()  # torch returns a contiguous tensor


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


def attention_formula(
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
