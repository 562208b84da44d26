"""Check cases: scaled_dot_product_attention in both forms (masks, causal, GQA, broadcast batch dims,
scale, fully masked rows, dropout), softmax / log_softmax, multi_head_attention_forward."""

from functools import partial

import torch
import torch.nn.functional as torch_F

from .. import functional as F
from ..check import register

F64 = torch.float64


def randn(generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=generator, dtype=F64)


def sdpa_case(query, key, value, mask=None, **kwargs):
    """Shapes of query, key, value; ``mask`` is a bool (True = may attend) or float mask shape, as
    ``("bool", shape)`` / ``("float", shape)``."""

    def make(generator: torch.Generator):
        args = [randn(generator, *query), randn(generator, *key), randn(generator, *value)]
        if mask is not None:
            kind, shape = mask
            if kind == "bool":
                attend = torch.rand(shape, generator=generator) > 0.3
                attend[..., 0, :] = False  # query 0 may attend nowhere: zeros, as torch
                args.append(attend)
            else:
                args.append(randn(generator, *shape))
        return tuple(args), kwargs

    return make


SDPA_CASES = [
    sdpa_case((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)),
    sdpa_case((3, 5, 4), (3, 7, 4), (3, 7, 4), scale=0.3),
    sdpa_case((5, 4), (7, 4), (7, 2)),
    sdpa_case((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4), ("bool", (5, 7))),
    sdpa_case((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4), ("bool", (2, 1, 5, 7))),
    sdpa_case((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4), ("float", (3, 1, 7))),
    sdpa_case((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 4), is_causal=True),
    sdpa_case((2, 3, 7, 4), (2, 3, 5, 4), (2, 3, 5, 4), is_causal=True),
    sdpa_case((2, 6, 5, 4), (2, 2, 7, 4), (2, 2, 7, 3), enable_gqa=True, is_causal=True),
    sdpa_case((1, 3, 5, 4), (2, 3, 7, 4), (2, 1, 7, 4)),
]


def torch_math_attention(query, key, value, attn_mask=None, dropout_p=0.0, **kwargs):
    """torch's math kernel: what torch's SDPA runs for dropout (its CPU flash kernel, picked when
    inputs need gradients, refuses dropout)."""
    return torch.ops.aten._scaled_dot_product_attention_math(
        query, key, value, attn_mask, dropout_p, **kwargs
    )[0]


register(
    "scaled_dot_product_attention",
    F.scaled_dot_product_attention,
    torch_F.scaled_dot_product_attention,
    SDPA_CASES,
)
register(
    "scaled_dot_product_attention dropout",
    partial(F.scaled_dot_product_attention, backend="literal"),  # torch's own draws
    torch_math_attention,
    [sdpa_case((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6), dropout_p=0.3)],
)
register(
    "scaled_dot_product_attention blocked",
    partial(F.scaled_dot_product_attention, backend="blocked", block_size=(2, 3)),
    torch_F.scaled_dot_product_attention,
    SDPA_CASES,
)


def softmax_case(shape, dim, **kwargs):
    def make(generator: torch.Generator):
        return (randn(generator, *shape) * 5, dim), kwargs

    return make


SOFTMAX_CASES = [
    softmax_case((4, 5), 1),
    softmax_case((2, 3, 4), 0),
    softmax_case((3, 4), -1, dtype=F64),
]
register("softmax", F.softmax, torch_F.softmax, SOFTMAX_CASES)
register("log_softmax", F.log_softmax, torch_F.log_softmax, SOFTMAX_CASES)


def mha_case(separate=False, bias=True, bias_kv=False, zero_attn=False, batched=True, masks=(), **kwargs):
    """multi_head_attention_forward with embed_dim 6, 2 heads, l 4, s 5, batch 3 (or unbatched);
    ``masks`` lists "attn", "padding"."""
    e, h, l, s, b = 6, 2, 4, 5, 3
    kdim, vdim = (4, 3) if separate else (e, e)

    def make(generator: torch.Generator):
        batch = (b,) if batched else ()
        query = randn(generator, l, *batch, e)
        key, value = randn(generator, s, *batch, kdim), randn(generator, s, *batch, vdim)
        in_proj = None if separate else randn(generator, 3 * e, e)
        in_bias = randn(generator, 3 * e) if bias else None
        bias_k, bias_v = (randn(generator, 1, 1, e), randn(generator, 1, 1, e)) if bias_kv else (None, None)
        out_weight, out_bias = randn(generator, e, e), randn(generator, e) if bias else None
        args = (
            query,
            key,
            value,
            e,
            h,
            in_proj,
            in_bias,
            bias_k,
            bias_v,
            zero_attn,
            0.0,
            out_weight,
            out_bias,
        )
        options = dict(kwargs)
        if separate:
            options.update(
                use_separate_proj_weight=True,
                q_proj_weight=randn(generator, e, e),
                k_proj_weight=randn(generator, e, kdim),
                v_proj_weight=randn(generator, e, vdim),
            )
        if "attn" in masks:  # True: may NOT attend
            options["attn_mask"] = torch.rand(l, s, generator=generator) < 0.3
        if "padding" in masks:
            options["key_padding_mask"] = torch.rand(*batch, s, generator=generator) < 0.3
        return args, options

    return make


register(
    "multi_head_attention_forward",
    F.multi_head_attention_forward,
    torch_F.multi_head_attention_forward,
    [
        mha_case(),
        mha_case(masks=("attn", "padding"), average_attn_weights=False),
        mha_case(separate=True, bias=False, masks=("padding",), need_weights=False),
        mha_case(bias_kv=True, zero_attn=True, masks=("attn",)),
        mha_case(batched=False, masks=("attn", "padding")),
        mha_case(batched=False, bias_kv=True, need_weights=False),
    ],
)
register("softmin", F.softmin, torch_F.softmin, SOFTMAX_CASES)
