"""``MultiheadAttention``: torch.nn's constructor, parameters and state_dict; forward is one
call into :func:`scratchnn.functional.multi_head_attention_forward`."""

from __future__ import annotations

import torch
from torch import nn

from .. import functional as F
from .linear import Linear

__all__ = ["MultiheadAttention"]


class MultiheadAttention(nn.Module):
    """``torch.nn.MultiheadAttention`` from scratch.

    Legend: l target positions, s source positions, b batch, e = embed_dim = h·d.
    query (l, b, e) · key (s, b, kdim) · value (s, b, vdim) → output (l, b, e) and weights
    (b, l, s), or (b, h, l, s) per head; (b, l, ·) with ``batch_first``; no b for unbatched input.

    Parameters, as torch's: ``in_proj_weight`` (3e, e) when kdim = vdim = e, else
    ``q_proj_weight`` (e, e), ``k_proj_weight`` (e, kdim), ``v_proj_weight`` (e, vdim);
    ``in_proj_bias`` (3e,), ``out_proj.weight`` (e, e), ``out_proj.bias`` (e,) with ``bias``;
    ``bias_k``, ``bias_v`` (1, 1, e) with ``add_bias_kv``.

    Masks say where a query may NOT attend (bool True, or float -inf), the opposite of SDPA.

    >>> mha = MultiheadAttention(8, 2, batch_first=True)
    >>> x = torch.randn(3, 5, 8)
    >>> out, weights = mha(x, x, x, key_padding_mask=torch.tensor([[False] * 4 + [True]] * 3))
    >>> out.shape, weights.shape, float(weights.detach()[..., -1].abs().max())
    (torch.Size([3, 5, 8]), torch.Size([3, 5, 5]), 0.0)
    """

    bias_k: torch.Tensor | None
    bias_v: torch.Tensor | None

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                "MultiheadAttention: embed_dim and num_heads must be greater than 0, "
                f"got embed_dim={embed_dim} and num_heads={num_heads}"
            )
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError(
                f"MultiheadAttention: embed_dim must be divisible by num_heads, got embed_dim={embed_dim} "
                f"and num_heads={num_heads}"
            )
        if self._qkv_same_embed_dim:
            self.in_proj_weight = nn.Parameter(
                torch.empty(3 * embed_dim, embed_dim, device=device, dtype=dtype)
            )
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = nn.Parameter(torch.empty(embed_dim, embed_dim, device=device, dtype=dtype))
            self.k_proj_weight = nn.Parameter(torch.empty(embed_dim, self.kdim, device=device, dtype=dtype))
            self.v_proj_weight = nn.Parameter(torch.empty(embed_dim, self.vdim, device=device, dtype=dtype))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim, device=device, dtype=dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = nn.Parameter(torch.empty(1, 1, embed_dim, device=device, dtype=dtype))
            self.bias_v = nn.Parameter(torch.empty(1, 1, embed_dim, device=device, dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """torch's initialization (same draws in the same order): Xavier-uniform projections, zero
        biases, Xavier-normal ``bias_k``/``bias_v``; ``out_proj.weight`` keeps Linear's init."""
        if self._qkv_same_embed_dim:
            nn.init.xavier_uniform_(self.in_proj_weight)
        else:
            nn.init.xavier_uniform_(self.q_proj_weight)
            nn.init.xavier_uniform_(self.k_proj_weight)
            nn.init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            nn.init.constant_(self.in_proj_bias, 0.0)
            nn.init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            nn.init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            nn.init.xavier_normal_(self.bias_v)

    def __setstate__(self, state):  # checkpoints from torch 1.1 lack this flag
        state.setdefault("_qkv_same_embed_dim", True)
        super().__setstate__(state)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        need_weights: bool = True,
        attn_mask: torch.Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        batched = query.ndim == 3
        if self.batch_first and batched:  # (b, l, e) → (l, b, e)
            query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        attn_output, attn_weights = F.multi_head_attention_forward(
            query,
            key,
            value,
            self.embed_dim,
            self.num_heads,
            self.in_proj_weight,
            self.in_proj_bias,
            self.bias_k,
            self.bias_v,
            self.add_zero_attn,
            self.dropout,
            self.out_proj.weight,
            self.out_proj.bias,
            training=self.training,
            key_padding_mask=key_padding_mask,
            need_weights=need_weights,
            attn_mask=attn_mask,
            use_separate_proj_weight=separate,
            q_proj_weight=self.q_proj_weight if separate else None,
            k_proj_weight=self.k_proj_weight if separate else None,
            v_proj_weight=self.v_proj_weight if separate else None,
            average_attn_weights=average_attn_weights,
            is_causal=is_causal,
        )
        if self.batch_first and batched:
            attn_output = attn_output.transpose(0, 1)
        return attn_output, attn_weights

    def merge_masks(
        self, attn_mask: torch.Tensor | None, key_padding_mask: torch.Tensor | None, query: torch.Tensor
    ) -> tuple[torch.Tensor | None, int | None]:
        """torch's helper for batch-first self-attention ``query`` (b, l, e): one mask and its type,
        1 for ``key_padding_mask`` alone, 2 for ``attn_mask`` as (b, h, l, l) (plus the padding)."""
        if attn_mask is None:
            return (None, None) if key_padding_mask is None else (key_padding_mask, 1)
        batch_size, seq_len, _ = query.shape
        if attn_mask.ndim == 3:  # (b·h, l, l)
            merged = attn_mask.view(batch_size, -1, seq_len, seq_len)
        else:  # (l, l)
            merged = attn_mask.view(1, 1, seq_len, seq_len).expand(batch_size, self.num_heads, -1, -1)
        if key_padding_mask is not None:
            padding = key_padding_mask.view(batch_size, 1, 1, seq_len).expand(-1, self.num_heads, -1, -1)
            merged = merged + padding
        return merged, 2
