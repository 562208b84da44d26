"""MultiheadAttention and multi_head_attention_forward against torch: every constructor option,
masks (True = may NOT attend), unbatched input, weights averaged or per head, dropout, the is_causal
hint, static keys/values, state_dicts both ways, initialization and errors."""

import itertools
import math
import warnings

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn.functional as F
import scratchnn.nn as snn
from helpers import assert_close, assert_matches_torch

E, H = 8, 2  # embed_dim, num_heads
L, S, B = 4, 6, 3  # target length, source length, batch
CONSTRUCTOR = {
    "bias": [True, False],
    "add_bias_kv": [False, True],
    "add_zero_attn": [False, True],
    "kv_dims": [None, (3, 5)],
    "batch_first": [False, True],
}
MASKS = ["none", "bool 2-D", "float 3-D", "padding", "padding float", "both", "causal hint"]


def twins(seed=0, dtype=torch.float64, kv_dims=None, **options):
    """torch's module and ours, built under the same seed: the same parameters."""
    kdim, vdim = kv_dims or (None, None)
    modules = []
    for cls in (torch.nn.MultiheadAttention, snn.MultiheadAttention):
        torch.manual_seed(seed)
        modules.append(cls(E, H, kdim=kdim, vdim=vdim, dtype=dtype, **options))
    return modules


def inputs(module, batched=True, generator=None, dtype=torch.float64):
    generator = generator or torch.Generator().manual_seed(1)

    def seq(length, features):
        if not batched:
            shape = (length, features)
        else:
            shape = (B, length, features) if module.batch_first else (length, B, features)
        return torch.randn(shape, dtype=dtype, generator=generator)

    return seq(L, E), seq(S, module.kdim), seq(S, module.vdim)


def masks(kind, batched=True, generator=None, dtype=torch.float64):
    generator = generator or torch.Generator().manual_seed(2)
    rand = lambda *shape: torch.rand(shape, generator=generator)  # noqa: E731
    batch = (B,) if batched else ()
    kwargs = {}
    if kind in ("bool 2-D", "both"):
        kwargs["attn_mask"] = rand(L, S) < 0.3  # True: may NOT attend
    if kind == "float 3-D":
        kwargs["attn_mask"] = torch.randn(B * H if batched else H, L, S, dtype=dtype, generator=generator)
    if kind in ("padding", "both"):
        kwargs["key_padding_mask"] = rand(*batch, S) < 0.3
    if kind == "padding float":
        kwargs["key_padding_mask"] = torch.zeros(*batch, S, dtype=dtype).masked_fill(
            rand(*batch, S) < 0.3, -math.inf
        )
    if kind == "causal hint":
        kwargs["attn_mask"] = torch.ones(L, S, dtype=torch.bool).triu(1)
        kwargs["is_causal"] = True
    return kwargs


def run_pair(ref, ours, args, kwargs):
    results = []
    for module in (ref, ours):
        module.zero_grad()
        call = [a.detach().clone().requires_grad_() for a in args]
        out, weights = module(*call, **kwargs)
        loss = out.pow(2).sum() + (0 if weights is None else weights.nan_to_num().pow(2).sum())
        loss.backward()
        results.append((out, weights, [a.grad for a in call], [p.grad for p in module.parameters()]))
    (out_a, w_a, gin_a, gp_a), (out_b, w_b, gin_b, gp_b) = results
    assert_close(out_b.detach(), out_a.detach(), "output")
    assert (w_a is None) == (w_b is None)
    if w_a is not None:
        assert_close(w_b.detach(), w_a.detach(), "weights")
    for name, a, b in [("input", *pair) for pair in zip(gin_a, gin_b)] + [
        (f"parameter {n}", *pair) for (n, _), pair in zip(ref.named_parameters(), zip(gp_a, gp_b))
    ]:
        assert (a is None) == (b is None), name
        if a is not None:
            assert_close(b.nan_to_num(), a.nan_to_num(), f"gradient of {name}")


@pytest.mark.parametrize(
    "options",
    [dict(zip(CONSTRUCTOR, values)) for values in itertools.product(*CONSTRUCTOR.values())],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()),
)
def test_every_constructor_option_combination(options):
    ref, ours = twins(**options)
    assert [(n, p.shape) for n, p in ref.named_parameters()] == [
        (n, p.shape) for n, p in ours.named_parameters()
    ]
    for (name, a), b in zip(ref.state_dict().items(), ours.state_dict().values()):
        assert torch.equal(a, b), f"{name}: same seed, same initialization"
    for need_weights, kind in (True, "both"), (False, "padding"), (True, "none"):
        run_pair(ref, ours, inputs(ours), dict(masks(kind), need_weights=need_weights))


@given(
    options=st.fixed_dictionaries({k: st.sampled_from(v) for k, v in CONSTRUCTOR.items()}),
    batched=st.booleans(),
    kind=st.sampled_from(MASKS),
    need_weights=st.booleans(),
    average=st.booleans(),
    dtype=st.sampled_from([torch.float64, torch.float32]),
)
@settings(max_examples=60)
def test_every_forward_option(options, batched, kind, need_weights, average, dtype):
    ref, ours = twins(dtype=dtype, **options)
    kwargs = dict(masks(kind, batched, dtype=dtype), need_weights=need_weights, average_attn_weights=average)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "mismatched key_padding_mask and attn_mask" (both warn)
        run_pair(ref, ours, inputs(ours, batched, dtype=dtype), kwargs)


def test_fully_masked_rows_nan_with_weights_zero_without():
    ref, ours = twins()
    args = inputs(ours)
    padding = torch.zeros(B, S, dtype=torch.bool)
    padding[0] = True  # the first sequence may attend nowhere
    for need_weights in (True, False):
        out, _ = ours(*args, key_padding_mask=padding, need_weights=need_weights)
        expected, _ = ref(*args, key_padding_mask=padding, need_weights=need_weights)
        assert_close(out, expected)
        assert out[:, 0].isnan().all() if need_weights else out[:, 0].isfinite().all()


def test_is_causal_is_a_hint_about_attn_mask():
    ref, ours = twins()
    args = inputs(ours)
    not_causal = torch.rand(L, S) < 0.3
    for need_weights in (False, True):  # without weights SDPA's causal mask replaces attn_mask
        kwargs = dict(attn_mask=not_causal, is_causal=True, need_weights=need_weights)
        run_pair(ref, ours, args, kwargs)


@pytest.mark.parametrize("need_weights", [True, False])
def test_dropout_in_training_draws_torchs_mask(need_weights):
    ref, ours = twins(dropout=0.4)
    args = inputs(ours)
    for module in (ref, ours):
        module.train()
    torch.manual_seed(5)
    expected, _ = ref(*args, need_weights=need_weights)
    torch.manual_seed(5)
    out, _ = ours(*args, need_weights=need_weights)
    assert_close(out, expected)
    for module in (ref, ours):
        module.eval()
    with torch.no_grad():  # eval and no grad: torch's fast path
        assert_close(ours(*args)[0], ref(*args)[0])
        for module in (ref, ours):
            module.batch_first = True
        x = args[0]
        assert_close(ours(x, x, x, need_weights=False)[0], ref(x, x, x, need_weights=False)[0])


@pytest.mark.parametrize("kv_dims", [None, (3, 5)])
@pytest.mark.parametrize("options", [{}, {"bias": False, "add_bias_kv": True}])
def test_state_dict_loads_both_ways(kv_dims, options):
    ref, ours = twins(seed=0, kv_dims=kv_dims, **options)
    other_ref, other_ours = twins(seed=1, kv_dims=kv_dims, **options)
    assert list(ref.state_dict()) == list(ours.state_dict())
    other_ours.load_state_dict(ref.state_dict(), strict=True)  # torch → ours
    other_ref.load_state_dict(ours.state_dict(), strict=True)  # ours → torch
    args = inputs(ours)
    assert_close(other_ours(*args)[0], ref(*args)[0])
    assert_close(other_ref(*args)[0], ours(*args)[0])
    assert ours.head_dim == ref.head_dim and ours._qkv_same_embed_dim == ref._qkv_same_embed_dim
    assert repr(ours).replace("Linear", "NonDynamicallyQuantizableLinear") == repr(ref).replace(
        "torch.nn.", ""
    )


def test_old_checkpoints_without_the_layout_flag():
    _, ours = twins()
    state = ours.__dict__.copy()
    del state["_qkv_same_embed_dim"]
    ours.__setstate__(state)
    assert ours._qkv_same_embed_dim is True


def test_functional_with_static_keys_and_values():
    torch.manual_seed(0)
    q = torch.randn(L, B, E, dtype=torch.float64)
    k, v = (torch.randn(S, B, E, dtype=torch.float64) for _ in range(2))
    weight, bias = torch.randn(3 * E, E, dtype=torch.float64), torch.randn(3 * E, dtype=torch.float64)
    out_weight, out_bias = torch.randn(E, E, dtype=torch.float64), torch.randn(E, dtype=torch.float64)
    static_k, static_v = (torch.randn(B * H, S + 2, E // H, dtype=torch.float64) for _ in range(2))
    padding = torch.rand(B, S + 2) < 0.2
    args = (q, k, v, E, H, weight, bias, None, None, False, 0.0, out_weight, out_bias)
    for need_weights in (True, False):
        kwargs = dict(
            static_k=static_k, static_v=static_v, key_padding_mask=padding, need_weights=need_weights
        )
        assert_matches_torch(
            F.multi_head_attention_forward, torch_F.multi_head_attention_forward, *args, **kwargs
        )


def test_merge_masks():
    ref, ours = twins(batch_first=True)
    query = torch.randn(B, L, E, dtype=torch.float64)
    attn = torch.zeros(L, L, dtype=torch.float64).masked_fill(
        torch.ones(L, L, dtype=torch.bool).triu(1), -math.inf
    )
    padding = torch.zeros(B, L, dtype=torch.float64).masked_fill(torch.rand(B, L) < 0.3, -math.inf)
    for a, p in [
        (None, None),
        (None, padding),
        (attn, None),
        (attn, padding),
        (attn.expand(B * H, L, L), padding),
    ]:
        merged, kind = ours.merge_masks(a, p, query)
        expected, expected_kind = ref.merge_masks(a, p, query)
        assert kind == expected_kind
        assert (merged is None and expected is None) or torch.equal(merged, expected)


# --------------------------------------------------------------------------------------------
# errors: torch's exception types


def test_constructor_errors():
    for args in ((0, 2), (4, 0), (-4, 2)):
        with pytest.raises(
            ValueError, match="MultiheadAttention: embed_dim and num_heads must be greater than 0"
        ):
            snn.MultiheadAttention(*args)
        with pytest.raises(ValueError):
            torch.nn.MultiheadAttention(*args)
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads, got embed_dim=5"):
        snn.MultiheadAttention(5, 2)
    with pytest.raises(AssertionError):
        torch.nn.MultiheadAttention(5, 2)


def r(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype)


MODULE_ERRORS = [
    ({"kdim": 3}, (r(2, 1, 4), r(3, 1, 4), r(3, 1, 4)), {}, AssertionError,
     r"expected k_proj_weight of shape \(4, 4\), got \(4, 3\)"),
    ({}, (r(2, 1, 1, 4), r(3, 1, 4), r(3, 1, 4)), {}, AssertionError,
     "query should be unbatched 2-D or batched 3-D, got a 4-D query"),
    ({}, (r(2, 1, 4), r(3, 4), r(3, 4)), {}, AssertionError,
     r"for batched \(3-D\) query, expected key and value to be 3-D, got 2-D and 2-D"),
    ({}, (r(2, 1, 6), r(3, 1, 6), r(3, 1, 6)), {}, AssertionError, "expected embedding dimension 4, got 6"),
    ({}, (r(2, 1, 4), r(3, 1, 4), r(3, 1, 4)), {"is_causal": True}, RuntimeError,
     "is_causal is a hint that attn_mask is causal, so it needs attn_mask"),
    ({}, (r(2, 1, 4), r(3, 1, 4), r(3, 1, 4)), {"attn_mask": torch.ones(2, 3, dtype=torch.long)},
     AssertionError, "only bool and floating types of attn_mask are supported"),
    ({}, (r(2, 1, 4), r(3, 1, 4), r(3, 1, 4)), {"attn_mask": torch.ones(2, 2, dtype=torch.bool)},
     RuntimeError, r"the shape of the 2D attn_mask is \(2, 2\), but should be \(2, 3\)"),
    ({}, (r(2, 1, 4), r(3, 1, 4), r(3, 1, 4)), {"attn_mask": torch.ones(3, 2, 3, dtype=torch.bool)},
     RuntimeError, r"the shape of the 3D attn_mask is \(3, 2, 3\), but should be \(2, 2, 3\)"),
    ({}, (r(2, 1, 4), r(3, 1, 4), r(3, 1, 4)), {"attn_mask": torch.ones(1, 1, 2, 3, dtype=torch.bool)},
     AssertionError, "expected attn_mask to be None, 2-D or 3-D, got 4-D"),
    ({}, (r(2, 4), r(3, 4), r(3, 4)), {"attn_mask": torch.ones(3, 2, 3, dtype=torch.bool)},
     AssertionError, r"expected a 3-D attn_mask of shape \(h, l, s\) = \(2, 2, 3\), got \(3, 2, 3\)"),
    ({}, (r(2, 1, 4), r(3, 1, 4), r(3, 1, 4)), {"key_padding_mask": torch.ones(1, 2, dtype=torch.bool)},
     AssertionError, r"expected key_padding_mask of shape \(b, s\) = \(1, 3\), got \(1, 2\)"),
    ({}, (r(2, 1, 4), r(3, 1, 4), r(3, 1, 4)), {"key_padding_mask": torch.ones(3, dtype=torch.bool)},
     AssertionError, "expected key_padding_mask to be None or 2-D, got 1-D"),
    ({}, (r(2, 1, 4), r(3, 1, 4), r(4, 1, 4)), {}, AssertionError,
     r"key shape \(3, 1, 4\) does not match value shape \(4, 1, 4\)"),
    ({"kdim": 3, "vdim": 5}, (r(2, 1, 4), r(3, 1, 3), r(4, 1, 5)), {}, AssertionError,
     r"key's sequence and batch dims \(3, 1\) do not match value's \(4, 1\)"),
    ({}, (r(2, 1, 4, dtype=torch.float64),) * 3, {}, RuntimeError, "linear: expected the same dtype"),
]  # fmt: skip


@pytest.mark.parametrize(("options", "args", "kwargs", "error", "message"), MODULE_ERRORS)
def test_forward_errors_have_torchs_types(options, args, kwargs, error, message):
    with pytest.raises(error):
        torch.nn.MultiheadAttention(4, 2, **options)(*args, **kwargs)
    with pytest.raises(error, match=message):
        snn.MultiheadAttention(4, 2, **options)(*args, **kwargs)


def test_functional_errors():
    q = torch.randn(2, 1, 4)
    base = (q, q, q, 4, 2, torch.randn(12, 4), None)
    tail = (False, 0.0, torch.randn(4, 4), None)
    with pytest.raises(AssertionError, match="bias_k is set but bias_v is None"):
        F.multi_head_attention_forward(*base, torch.randn(1, 1, 4), None, *tail)
    with pytest.raises(AssertionError, match="bias_v is set but bias_k is None"):
        F.multi_head_attention_forward(*base, None, torch.randn(1, 1, 4), *tail)
    bias_kv = (torch.randn(1, 1, 4), torch.randn(1, 1, 4))
    with pytest.raises(AssertionError, match="bias_k/bias_v cannot be added to static_k/static_v"):
        F.multi_head_attention_forward(*base, *bias_kv, *tail, static_k=torch.randn(2, 2, 2))
    with pytest.raises(AssertionError, match=r"expected static_k of shape \(b·h, s, d\) = \(2, s, 2\), got"):
        F.multi_head_attention_forward(*base, None, None, *tail, static_k=torch.randn(3, 2, 2))
    with pytest.raises(AssertionError, match="use_separate_proj_weight is False but in_proj_weight is None"):
        F.multi_head_attention_forward(q, q, q, 4, 2, None, None, None, None, *tail)
    with pytest.raises(AssertionError, match="use_separate_proj_weight is True but k_proj_weight is None"):
        F.multi_head_attention_forward(
            *base, None, None, *tail, use_separate_proj_weight=True, q_proj_weight=torch.randn(4, 4)
        )
    with pytest.raises(AssertionError, match="embed_dim 4 not divisible by num_heads 3"):
        F.multi_head_attention_forward(q, q, q, 4, 3, torch.randn(12, 4), None, None, None, *tail)


def test_mismatched_mask_types_warn_like_torch():
    ref, ours = twins()
    args = inputs(ours)
    kwargs = dict(
        attn_mask=torch.zeros(L, S, dtype=torch.bool), key_padding_mask=torch.zeros(B, S, dtype=torch.float64)
    )
    with pytest.warns(
        UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"
    ):
        out, _ = ours(*args, **kwargs)
    with pytest.warns(UserWarning):
        expected, _ = ref(*args, **kwargs)
    assert_close(out, expected)
