"""Multi-head attention: project, split into heads, attend, merge heads, project.

torch's ``multi_head_attention_forward`` (behind ``torch.nn.MultiheadAttention``), over
:func:`~scratchnn.functional.attention.scaled_dot_product_attention` and ``linear``.
"""

from __future__ import annotations

import math
from typing import cast

import einops
import torch

from .._args import warn
from .._contract import contract
from .._trace import rearrange
from .attention import scaled_dot_product_attention
from .dropout import dropout
from .linear import linear
from .padding import pad
from .softmax import softmax

__all__ = ["multi_head_attention_forward"]


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

    if key.shape[1] != bsz:  # torch fails in its reshape, with a RuntimeError
        raise RuntimeError(
            f"multi_head_attention_forward: key has batch size {key.shape[1]} but query has {bsz} "
            f"(query {tuple(query.shape)}, key {tuple(key.shape)}: (l, b, e) and (s, b, e))"
        )
    if out_proj_weight.ndim != 2:  # torch: IndexError from its shape arithmetic (1-d), else RuntimeError
        raise (IndexError if out_proj_weight.ndim < 2 else RuntimeError)(
            f"multi_head_attention_forward: out_proj_weight must be 2-d (e_out, e), got shape "
            f"{tuple(out_proj_weight.shape)}"
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
    op: str = "multi_head_attention_forward",
    stacklevel: int = 3,
) -> torch.Tensor | None:
    """A bool mask (True = may not attend) as a float mask of ``dtype``: 0 or -inf; a float mask as is.
    ``op`` names the caller in the error (the Transformer modules check their masks too)."""
    if mask is None:
        return None
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise AssertionError(f"{op}: only bool and floating types of {name} are supported")
    if other is not None and other.dtype != mask.dtype:
        warn(
            f"Support for mismatched {name} and {other_name} is deprecated. Use same type for both instead.",
            stacklevel=stacklevel,
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
