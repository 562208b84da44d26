"""scaled_dot_product_attention against torch, in both forms: masks, causal, GQA, broadcast batch dims,
scale, dropout (torch's draws in the literal form; per-tile draws in the blocked form), fully masked
rows, the blocked form against the literal form, backend selection and errors."""

import math

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn
import scratchnn.functional as F
from helpers import assert_matches_torch, in_both_forms
from scratchnn.functional.attention import sdpa_backend

FORMS = ["literal", "blocked"]


@st.composite
def attention_case(draw, gqa_allowed=True):
    """A valid SDPA call: shapes (with broadcast batch dims and GQA), mask or causal, scale."""
    seq_q, seq_k = draw(st.integers(1, 9)), draw(st.integers(0, 9))
    features, value_features = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    batch = draw(st.lists(st.integers(1, 3), min_size=0, max_size=2))
    gqa = gqa_allowed and draw(st.booleans())
    kv_heads = draw(st.integers(1, 2))
    heads = kv_heads * draw(st.integers(1, 3)) if gqa else draw(st.integers(1, 3))
    kv_heads = kv_heads if gqa else heads

    def dims(full, heads_here):  # each batch dim kept or broadcast (1 or missing)
        kept = [d if draw(st.booleans()) else 1 for d in full]
        if draw(st.booleans()) and not gqa:
            kept = kept[draw(st.integers(0, len(kept))) :]
        return [*kept, heads_here]

    query = (*dims(batch, heads), seq_q, features)
    key = (*dims(batch, kv_heads), seq_k, features)
    value = (*dims(batch, kv_heads if gqa else draw(st.sampled_from([heads, 1]))), seq_k, value_features)
    if gqa:  # torch repeats the key/value heads along dim -3; keep ranks equal there
        rank = max(len(query), len(key), len(value))
        query, key, value = ((1,) * (rank - len(s)) + tuple(s) for s in (query, key, value))
    kwargs = {"enable_gqa": gqa}
    mask_kind = draw(st.sampled_from(["none", "bool", "float", "causal"]))
    # the mask broadcasts to the scores of query and key (torch fills them in place)
    scores_shape = (*torch.broadcast_shapes(query[:-3], key[:-3]), heads, seq_q, seq_k)
    if mask_kind in ("bool", "float"):
        keep = draw(st.integers(0, len(scores_shape)))  # a trailing part of the scores' shape …
        shape = [d if draw(st.booleans()) else 1 for d in scores_shape[len(scores_shape) - keep :]]
        shape = ([1] * (2 - len(shape)) + shape) if len(shape) < 2 else shape  # … at least 2-D
        kwargs["attn_mask"] = (mask_kind, tuple(shape), draw(st.floats(0.0, 0.9)))
    kwargs["is_causal"] = mask_kind == "causal"
    if draw(st.booleans()):
        kwargs["scale"] = draw(st.floats(0.05, 2.0))
    return query, key, value, kwargs


def build(case, dtype=torch.float64, generator=None):
    query, key, value, kwargs = case
    generator = generator or torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(s, dtype=dtype, generator=generator) for s in (query, key, value))
    kwargs = dict(kwargs)
    if "attn_mask" in kwargs:
        kind, shape, rate = kwargs["attn_mask"]
        if kind == "bool":  # True = may attend; rows may end up fully masked
            kwargs["attn_mask"] = torch.rand(shape, generator=generator) >= rate
        else:
            mask = torch.randn(shape, dtype=dtype, generator=generator)
            kwargs["attn_mask"] = mask.masked_fill(torch.rand(shape, generator=generator) < rate, -math.inf)
    return (q, k, v), kwargs


def ours_in(form, block_size=(3, 4)):
    def run(*args, **kwargs):
        return F.scaled_dot_product_attention(*args, backend=form, block_size=block_size, **kwargs)

    return run


@pytest.mark.parametrize("form", FORMS)
@given(case=attention_case(), dtype=st.sampled_from([torch.float64, torch.float32]))
@settings(max_examples=100)
def test_matches_torch(form, case, dtype):
    args, kwargs = build(case, dtype)
    # gradients of query, key, value and of a float mask
    assert_matches_torch(ours_in(form), torch_F.scaled_dot_product_attention, *args, **kwargs)


@given(case=attention_case(), block_q=st.integers(1, 10), block_k=st.integers(1, 10))
@settings(max_examples=100)
def test_blocked_equals_literal(case, block_q, block_k):
    args, kwargs = build(case)
    for tensor in args:
        tensor.requires_grad_()
    outs = []
    for form, block_size in (("literal", None), ("blocked", (block_q, block_k))):
        out = ours_in(form, block_size)(*args, **kwargs)
        grads = torch.autograd.grad(out, args, torch.ones_like(out))
        outs.append((out, *grads))
    for literal, blocked in zip(*outs):
        torch.testing.assert_close(blocked, literal, rtol=1e-12, atol=1e-12)


@given(case=attention_case())
@settings(max_examples=30)
def test_literal_contraction_form_equals_fast(case):
    args, kwargs = build(case)
    fast, literal = in_both_forms(lambda: ours_in("literal")(*args, **kwargs), budget=256)
    torch.testing.assert_close(literal, fast, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("form", FORMS)
def test_fully_masked_rows_give_zeros_and_zero_gradients(form):
    q, k, v = (torch.randn(2, 3, 4, 5, dtype=torch.float64) for _ in range(3))
    mask = torch.rand(4, 4) > 0.3
    mask[1] = False  # query 1 may attend nowhere
    float_mask = torch.zeros(4, 4, dtype=torch.float64).masked_fill(~mask, -math.inf)
    for attn_mask in (mask, float_mask):
        out = assert_matches_torch(
            ours_in(form, (2, 2)), torch_F.scaled_dot_product_attention, q, k, v, attn_mask
        )
        assert not out[..., 1, :].any()


@pytest.mark.parametrize("form", FORMS)
def test_default_block_sizes_and_float32_at_moderate_size(form):
    generator = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 3, 300, 32, generator=generator) for _ in range(3))
    mask = torch.rand(300, 300, generator=generator) > 0.2
    run = ours_in(form, None)
    assert_matches_torch(run, torch_F.scaled_dot_product_attention, q, k, v, is_causal=True)
    assert_matches_torch(
        run, torch_F.scaled_dot_product_attention, q, k[:, :, :170], v[:, :, :170], mask[:, :170]
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("form", FORMS)
def test_reduced_precision(form, dtype):
    q, k, v = (torch.randn(2, 2, 6, 8, dtype=torch.float64).to(dtype) for _ in range(3))
    assert_matches_torch(ours_in(form), torch_F.scaled_dot_product_attention, q, k, v, is_causal=True)


@pytest.mark.parametrize("form", FORMS)
def test_gradcheck(form):
    q, k, v = (torch.randn(1, 2, 5, 3, dtype=torch.float64, requires_grad=True) for _ in range(3))
    mask = torch.randn(5, 5, dtype=torch.float64, requires_grad=True)
    run = ours_in(form, (2, 3))
    assert torch.autograd.gradcheck(lambda *t: run(*t[:3], attn_mask=t[3]), (q, k, v, mask))
    assert torch.autograd.gradcheck(lambda *t: run(*t, is_causal=True, scale=0.7), (q, k, v))


def test_second_derivatives():
    q, k, v = (torch.randn(1, 4, 3, dtype=torch.float64, requires_grad=True) for _ in range(3))
    assert torch.autograd.gradgradcheck(ours_in("literal"), (q, k, v))
    out = ours_in("blocked")(q, k, v)  # its backward is not itself differentiable (nor is torch's flash)
    cotangent = torch.randn(out.shape, dtype=torch.float64, requires_grad=True)
    (grad_q,) = torch.autograd.grad(out, q, cotangent, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):
        grad_q.sum().backward()


# --------------------------------------------------------------------------------------------
# dropout


def torch_math_attention(query, key, value, mask, dropout_p):
    """torch's reference (math) kernel, which SDPA runs for dropout without gradients (with gradients
    SDPA picks its CPU flash kernel, which refuses dropout); SDPA hands it bool masks as float."""
    mask = torch.zeros(mask.shape, dtype=query.dtype).masked_fill(~mask, -math.inf)
    return torch.ops.aten._scaled_dot_product_attention_math(query, key, value, mask, dropout_p)[0]


def test_literal_dropout_draws_torchs_mask():
    q, k, v = (torch.randn(2, 3, 6, 4, dtype=torch.float64) for _ in range(3))
    mask = torch.rand(6, 6) > 0.2
    literal = ours_in("literal")
    for p in (0.3, 1.0):
        assert_matches_torch(
            literal, torch_F.scaled_dot_product_attention, q, k, v, mask, p, grad=False, seed=7
        )
        assert_matches_torch(literal, torch_math_attention, q, k, v, mask, p, seed=7)
    # a negative probability drops nothing, as in torch's math kernel (its flash kernel refuses it)
    assert_matches_torch(literal, torch_math_attention, q, k, v, mask, -0.5)


def blocked_keep_mask(seed, n, seq, p, block_size):
    """The blocked form's dropout multiplier for every (query, key), read off its output: with zero
    queries and keys every weight is 1/s, and one-hot values put weight j's multiplier in column j."""
    q = k = torch.zeros(n, seq, 1, dtype=torch.float64)
    v = torch.eye(seq, dtype=torch.float64).expand(n, seq, seq)
    torch.manual_seed(seed)
    return ours_in("blocked", block_size)(q, k, v, dropout_p=p) * seq


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_blocked_dropout_keep_rate_and_scaling(p):
    keep = blocked_keep_mask(0, 4, 200, p, (64, 48))  # 160 000 draws over 20 tiles
    dropped, scaled = keep.abs() < 1e-12, (keep - 1 / (1 - p)).abs() < 1e-12
    assert (dropped | scaled).all()  # each weight is dropped or scaled by 1/(1 - p)
    kept = scaled.double().mean().item()
    assert abs(kept - (1 - p)) < 5 * math.sqrt(p * (1 - p) / keep.numel())  # 5 standard deviations
    rows = scaled.double().mean(-1)  # no row all kept or all dropped
    assert 0 < rows.min() and rows.max() < 1


def test_blocked_dropout_is_reproducible_and_seeded():
    first = blocked_keep_mask(3, 2, 40, 0.4, (16, 16))
    assert torch.equal(first, blocked_keep_mask(3, 2, 40, 0.4, (16, 16)))
    assert not torch.equal(first, blocked_keep_mask(4, 2, 40, 0.4, (16, 16)))


def test_blocked_dropout_backward_uses_the_forward_mask():
    """Forward and backward of the blocked form equal attention computed by hand with its mask."""
    n, seq_q, seq_k, p, block_size = 3, 6, 9, 0.3, (3, 4)
    # the mask depends on the seed and the tiles only (seq_q a multiple of block_q: the same tiles),
    # so read it off a square run of size seq_k
    keep = blocked_keep_mask(11, n, seq_k, p, block_size)[:, :seq_q]
    generator = torch.Generator().manual_seed(0)
    args = [
        torch.randn(n, s, 4, dtype=torch.float64, generator=generator, requires_grad=True)
        for s in (seq_q, seq_k, seq_k)
    ]
    torch.manual_seed(11)
    out = ours_in("blocked", block_size)(*args, dropout_p=p, is_causal=True)
    q, k, v = args
    scores = (q @ k.transpose(1, 2) / 2).masked_fill(
        torch.ones(seq_q, seq_k, dtype=torch.bool).triu(1), -math.inf
    )
    expected = (scores.softmax(-1) * keep) @ v
    cotangent = torch.randn(out.shape, dtype=torch.float64, generator=generator)
    for ours, theirs in zip(
        torch.autograd.grad(out, args, cotangent), torch.autograd.grad(expected, args, cotangent)
    ):
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------------------
# backend selection


def form_used(*args, **kwargs):
    """Which form made the output: is the blocked form's autograd node in its graph?"""
    nodes, seen = [F.scaled_dot_product_attention(*args, **kwargs).grad_fn], set()
    while nodes:
        node = nodes.pop()
        if node is None or node in seen:
            continue
        if type(node).__name__.startswith("_BlockedAttention"):
            return "blocked"
        seen.add(node)
        nodes.extend(next_node for next_node, _ in node.next_functions)
    return "literal"


def test_auto_picks_blocked_above_the_threshold():
    q = torch.randn(2, 64, 8, requires_grad=True)  # scores: 2·64·64 float32 = 32 KiB
    assert scratchnn.current_settings() == scratchnn.Settings()
    assert form_used(q, q, q) == "literal"
    with sdpa_backend(threshold=32 * 1024):
        assert form_used(q, q, q) == "literal"
    with sdpa_backend(threshold=32 * 1024 - 1):
        assert form_used(q, q, q) == "blocked"
        with sdpa_backend("literal"):
            assert form_used(q, q, q) == "literal"
            assert form_used(q, q, q, backend="blocked") == "blocked"  # the argument wins
        assert form_used(q, q, q) == "blocked"
    with sdpa_backend("blocked", block_size=16) as config:
        assert (config.attention, *config.attention_tiles) == ("blocked", 16, 16)
        assert form_used(q, q, q) == "blocked"
    assert scratchnn.current_settings() == scratchnn.Settings()


def test_contraction_form_reaches_the_literal_attention():
    q = torch.randn(2, 5, 3, dtype=torch.float64)
    with scratchnn.contraction("literal", budget=64), scratchnn._trace.recording() as steps:
        F.scaled_dot_product_attention(q, q, q, backend="literal")
    notes = [step.note for step in steps if step.kind == "contract"]
    assert len(notes) == 2 and all("literal form" in note for note in notes)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"backend": "flash"},
            r"backend must be one of \('auto', 'literal', 'blocked'\), got backend='flash'",
        ),
        (
            {"block_size": 0},
            r"block_size must be a positive int or a pair \(block_q, block_k\), got block_size=0",
        ),
        ({"block_size": (2, 3, 4)}, r"block_size must be .*, got block_size=\(2, 3, 4\)"),
        ({"threshold": -1}, r"threshold must be a non-negative number of bytes, got threshold=-1"),
    ],
)
def test_configuration_errors(kwargs, message):
    with pytest.raises(ValueError, match=f"sdpa_backend: {message}"), sdpa_backend(**kwargs):
        pass
    if "threshold" not in kwargs:
        q = torch.randn(2, 3)
        with pytest.raises(ValueError, match=f"scaled_dot_product_attention: {message}"):
            F.scaled_dot_product_attention(q, q, q, **kwargs)


# --------------------------------------------------------------------------------------------
# errors: torch's exception types, our messages


def r(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype)


BOOL, LONG, F64 = torch.bool, torch.long, torch.float64
ERRORS = [
    ((r(4), r(5, 4), r(5, 6)), {}, RuntimeError, "query, key and value must be at least 2-D"),
    ((r(3, 4), r(5, 4, dtype=F64), r(5, 6)), {}, RuntimeError,
     "query, key and value must have one dtype, got torch.float32, torch.float64 and torch.float32"),
    ((torch.ones(3, 4, dtype=LONG),) * 3, {}, RuntimeError, "needs floating-point inputs, got torch.int64"),
    ((r(3, 4), r(5, 3), r(5, 6)), {}, RuntimeError, "query has e=4 features per head but key has 3"),
    ((r(3, 4), r(5, 4), r(6, 6)), {}, RuntimeError, "key has s=5 positions but value has 6"),
    ((r(2, 3, 4), r(3, 5, 4), r(3, 5, 6)), {}, RuntimeError,
     "the batch dims of query, key and value do not broadcast"),
    ((r(2, 8, 3, 4), r(2, 2, 5, 4), r(2, 2, 5, 6)), {}, RuntimeError,
     "the batch dims of query, key and value do not broadcast"),
    ((r(2, 8, 3, 4), r(2, 3, 5, 4), r(2, 3, 5, 6)), {"enable_gqa": True}, RuntimeError,
     r"the number of heads in key \(3\) must divide the number of heads in query \(8\)"),
    ((r(6, 4), r(3, 4), r(3, 6)), {"enable_gqa": True}, IndexError, "enable_gqa needs a heads dim"),
    ((r(3, 4), r(5, 4), r(5, 6)), {"attn_mask": torch.ones(3, 4, dtype=BOOL)}, RuntimeError,
     r"attn_mask does not broadcast to the scores \(3, 5\)"),
    ((r(2, 3, 4), r(2, 5, 4), r(2, 5, 6)), {"attn_mask": torch.ones(3, 2, 3, 5, dtype=BOOL)}, RuntimeError,
     r"attn_mask does not broadcast to the scores \(2, 3, 5\)"),
    ((r(1, 1, 3, 4), r(1, 1, 5, 4), r(1, 1, 5, 6)), {"attn_mask": torch.ones(5, dtype=BOOL)}, IndexError,
     r"attn_mask must be at least 2-D \(l, s\) for 4-D inputs, got 1-D"),
    ((r(3, 4), r(5, 4), r(5, 6)), {"attn_mask": torch.ones(3, 5, dtype=LONG)}, RuntimeError,
     "attn_mask must be bool or have the query's dtype torch.float32, got torch.int64"),
    ((r(3, 4), r(5, 4), r(5, 6)), {"attn_mask": torch.ones(3, 5, dtype=F64)}, RuntimeError,
     "attn_mask must be bool or have the query's dtype torch.float32, got torch.float64"),
    ((r(3, 4), r(5, 4), r(5, 6)), {"attn_mask": torch.ones(3, 5, dtype=BOOL), "is_causal": True},
     RuntimeError, r"attn_mask must not be given with is_causal=True"),
    ((r(3, 4), r(5, 4), r(5, 6)), {"dropout_p": 1.5}, RuntimeError,
     "dropout probability has to be between 0 and 1, got dropout_p=1.5"),
    ((r(3, 4, dtype=torch.complex64),) * 3, {}, NotImplementedError, "complex inputs are not supported"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "kwargs", "error", "message"), ERRORS)
def test_errors_have_torchs_types(args, kwargs, error, message):
    with pytest.raises(error):
        torch_F.scaled_dot_product_attention(*args, **kwargs)
    with pytest.raises(error, match=f"scaled_dot_product_attention: {message}"):
        F.scaled_dot_product_attention(*args, **kwargs)
