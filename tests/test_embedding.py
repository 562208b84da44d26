"""embedding and embedding_bag against torch: values and weight gradients (padding_idx,
scale_grad_by_freq, per_sample_weights, sparse), max_norm renormalizing rows in place, bags from
offsets or 2-D input, empty bags, modules, errors."""

import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn.functional as F
import scratchnn.nn as nn
from helpers import assert_close, assert_matches_torch

dtypes = st.sampled_from([torch.float64, torch.float32])
index_dtypes = st.sampled_from([torch.int64, torch.int32])


def seeded(data):
    torch.manual_seed(data.draw(st.integers(0, 2**16), label="seed"))


@settings(max_examples=60)
@given(st.data(), dtypes, index_dtypes)
def test_embedding_matches_torch(data, dtype, index_dtype):
    seeded(data)
    vocab, dim = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 4))
    shape = data.draw(st.lists(st.integers(0, 4), max_size=3))
    input = torch.randint(0, vocab, shape, dtype=index_dtype)
    weight = torch.randn(vocab, dim, dtype=dtype)
    padding_idx = data.draw(st.none() | st.integers(-vocab, vocab - 1))
    scale = data.draw(st.booleans())
    assert_matches_torch(
        F.embedding, torch_F.embedding, input, weight, padding_idx=padding_idx, scale_grad_by_freq=scale
    )


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_max_norm_renormalizes_looked_up_rows_in_place_like_torch(norm_type):
    torch.manual_seed(0)
    table = 2 * torch.randn(8, 4, dtype=torch.float64)
    input = torch.tensor([[1, 2, 2], [7, 1, 0]])
    ours, theirs = table.clone().requires_grad_(), table.clone().requires_grad_()
    out_ours = F.embedding(input, ours, max_norm=1.5, norm_type=norm_type)
    out_theirs = torch_F.embedding(input, theirs, max_norm=1.5, norm_type=norm_type)
    assert_close(ours.detach(), theirs.detach(), "the table after renormalization")
    assert_close(out_ours, out_theirs)
    untouched = [3, 4, 5, 6]
    assert torch.equal(ours.detach()[untouched], table[untouched])  # only looked-up rows change
    norms = ours.detach()[[0, 1, 2, 7]].norm(p=norm_type, dim=1)
    assert bool((norms <= 1.5 + 1e-12).all())
    (grad_ours,) = torch.autograd.grad(out_ours.sum(), ours)
    (grad_theirs,) = torch.autograd.grad(out_theirs.sum(), theirs)
    assert_close(grad_ours, grad_theirs)


def test_max_norm_keeps_the_parameter_object_and_bumps_its_version():
    table = torch.nn.Parameter(5 * torch.ones(3, 2))
    version = table._version
    F.embedding(torch.tensor([0]), table, max_norm=1.0)
    assert table._version > version
    assert_close(table.detach()[0], torch.full((2,), 1.0 / (50**0.5 + 1e-7) * 5))


@pytest.mark.parametrize("padding_idx", [None, 0, 2])
def test_sparse_gradient_like_torch(padding_idx):
    torch.manual_seed(1)
    table = torch.randn(5, 3, dtype=torch.float64)
    input = torch.tensor([[1, 2, 1], [0, 4, 1]])
    grads = []
    for fn in (F.embedding, torch_F.embedding):
        weight = table.clone().requires_grad_()
        out = fn(input, weight, padding_idx=padding_idx, sparse=True)
        out.backward(torch.arange(out.numel(), dtype=out.dtype).reshape(out.shape))
        grads.append(weight.grad)
    assert grads[0].layout == grads[1].layout == torch.sparse_coo
    assert_close(grads[0].to_dense(), grads[1].to_dense())
    assert grads[0]._nnz() == grads[1]._nnz()  # one entry per looked-up (non-padding) index


def test_sparse_with_scale_grad_by_freq_refuses_backward_like_torch():
    for fn in (torch_F.embedding, F.embedding):
        weight = torch.randn(4, 2, requires_grad=True)
        out = fn(torch.tensor([1, 1]), weight, scale_grad_by_freq=True, sparse=True)
        with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse gradients"):
            out.sum().backward()


def test_gradcheck():
    weight = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    input = torch.tensor([[0, 2, 2], [4, 1, 2]])
    # (padding_idx and scale_grad_by_freq change the gradient on purpose: not a derivative to check)
    assert torch.autograd.gradcheck(lambda w: F.embedding(input, w), (weight,))
    psw = torch.randn(6, dtype=torch.float64, requires_grad=True)
    offsets = torch.tensor([0, 2, 2])
    for mode in ("sum", "mean", "max"):
        assert torch.autograd.gradcheck(
            lambda w, mode=mode: F.embedding_bag(input.reshape(-1), w, offsets, mode=mode), (weight,)
        )
    assert torch.autograd.gradcheck(
        lambda w, p: F.embedding_bag(input.reshape(-1), w, offsets, mode="sum", per_sample_weights=p),
        (weight, psw),
    )


@st.composite
def bags(draw, vocab, index_dtype):
    """A 1-D input with offsets (empty bags allowed), or a 2-D input (one bag per row)."""
    if draw(st.booleans()):
        rows, length = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        return torch.randint(0, vocab, (rows, length), dtype=index_dtype), None, False
    n = draw(st.integers(0, 8))
    cuts = sorted(draw(st.lists(st.integers(0, n), min_size=0, max_size=4)))
    include_last = draw(st.booleans())
    offsets = [0, *cuts, n] if include_last else [0, *cuts]
    input = torch.randint(0, vocab, (n,), dtype=index_dtype)
    return input, torch.tensor(offsets, dtype=index_dtype), include_last


@settings(max_examples=80)
@given(st.data(), dtypes, index_dtypes, st.sampled_from(["sum", "mean", "max"]))
def test_embedding_bag_matches_torch(data, dtype, index_dtype, mode):
    seeded(data)
    vocab, dim = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 4))
    input, offsets, include_last = data.draw(bags(vocab, index_dtype))
    weight = torch.randn(vocab, dim, dtype=dtype)
    padding_idx = data.draw(st.none() | st.integers(-vocab, vocab - 1))
    kwargs = {"mode": mode, "include_last_offset": include_last, "padding_idx": padding_idx}
    if mode == "sum" and data.draw(st.booleans()):
        kwargs["per_sample_weights"] = torch.randn(input.shape, dtype=dtype)
    assert_matches_torch(F.embedding_bag, torch_F.embedding_bag, input, weight, offsets, **kwargs)


@settings(max_examples=40)
@given(st.data(), st.sampled_from(["sum", "mean"]))
def test_embedding_bag_scale_grad_by_freq_divides_by_the_index_frequency(data, mode):
    """torch 2.13's CPU kernel divides some rows by the wrong count (pytorch#190063); the
    documented rule is checked instead: the gradient without scaling, ÷ each index's count."""
    seeded(data)
    vocab = data.draw(st.integers(1, 5))
    input, offsets, include_last = data.draw(bags(vocab, torch.int64))
    padding_idx = data.draw(st.none() | st.integers(0, vocab - 1))
    weight = torch.randn(vocab, 3, dtype=torch.float64)
    kwargs = {"mode": mode, "include_last_offset": include_last, "padding_idx": padding_idx}
    ours = weight.clone().requires_grad_()
    out = F.embedding_bag(input, ours, offsets, scale_grad_by_freq=True, **kwargs)
    cotangent = torch.randn(out.shape, dtype=out.dtype)
    (grad,) = torch.autograd.grad(out, ours, cotangent, allow_unused=True)
    reference = weight.clone().requires_grad_()
    expected_out = torch_F.embedding_bag(input, reference, offsets, **kwargs)
    (unscaled,) = torch.autograd.grad(expected_out, reference, cotangent, allow_unused=True)
    assert_close(out.detach(), expected_out.detach())
    if unscaled is None or grad is None:
        assert grad is None or not grad.any()
        return
    counts = torch.bincount(input.reshape(-1), minlength=vocab).clamp(min=1).to(torch.float64)
    assert_close(grad, unscaled / counts.unsqueeze(-1))


def test_embedding_bag_scale_grad_by_freq_matches_torch_where_torch_is_right():
    # every index occurs equally often, so torch's miscounted divisor happens to be right
    weight = torch.randn(4, 3, dtype=torch.float64)
    input, offsets = torch.tensor([3, 1, 1, 3, 0, 0]), torch.tensor([0, 3])
    assert_matches_torch(
        F.embedding_bag, torch_F.embedding_bag, input, weight, offsets, scale_grad_by_freq=True
    )


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_sparse_gradient_like_torch(mode):
    torch.manual_seed(2)
    table = torch.randn(6, 3, dtype=torch.float64)
    input, offsets = torch.tensor([1, 2, 1, 5, 0, 2]), torch.tensor([0, 2, 2, 5])
    psw = torch.randn(6, dtype=torch.float64) if mode == "sum" else None
    grads = []
    for fn in (F.embedding_bag, torch_F.embedding_bag):
        weight = table.clone().requires_grad_()
        out = fn(input, weight, offsets, mode=mode, sparse=True, padding_idx=2, per_sample_weights=psw)
        out.backward(torch.ones_like(out))
        grads.append(weight.grad)
    assert grads[0].layout == grads[1].layout == torch.sparse_coo
    assert_close(grads[0].to_dense(), grads[1].to_dense())


def test_embedding_bag_trailing_indices_after_the_last_offset_belong_to_no_bag():
    """With include_last_offset the last offset is documented to be len(input); for a smaller one
    torch's modes disagree with each other (sum ignores the trailing indices, mean still divides
    by them, max still takes them). Ours ignores them in every mode."""
    weight = torch.arange(15.0).reshape(5, 3)
    input, offsets = torch.tensor([1, 2, 3]), torch.tensor([0, 1])
    for mode in ("sum", "mean", "max"):
        out = F.embedding_bag(input, weight, offsets, mode=mode, include_last_offset=True)
        assert torch.equal(out, weight[1:2])
    assert torch.equal(
        torch_F.embedding_bag(input, weight, offsets, mode="sum", include_last_offset=True), weight[1:2]
    )


def test_embedding_bag_empty_bags_and_all_padding_bags_are_zero():
    weight = torch.randn(4, 2)
    for mode in ("sum", "mean", "max"):
        for fn in (F.embedding_bag, torch_F.embedding_bag):
            out = fn(torch.tensor([1, 1, 2]), weight, torch.tensor([0, 0, 2]), mode=mode, padding_idx=1)
            assert torch.equal(out[:2], torch.zeros(2, 2))


def test_max_norm_in_embedding_bag_like_torch():
    table = 3 * torch.randn(6, 2, dtype=torch.float64)
    ours, theirs = table.clone(), table.clone()
    a = F.embedding_bag(torch.tensor([0, 3, 3]), ours, torch.tensor([0, 1]), max_norm=1.0, mode="sum")
    b = torch_F.embedding_bag(torch.tensor([0, 3, 3]), theirs, torch.tensor([0, 1]), max_norm=1.0, mode="sum")
    assert_close(ours, theirs)
    assert_close(a, b)


EMBEDDING_ERRORS = [
    (
        lambda m: m.embedding(torch.tensor([1]), torch.randn(5, 3), padding_idx=5),
        AssertionError,
        "Padding_idx must",
    ),
    (
        lambda m: m.embedding(torch.tensor([1]), torch.randn(5, 3), padding_idx=-6),
        AssertionError,
        "Padding_idx must",
    ),
    (lambda m: m.embedding(torch.tensor([5]), torch.randn(5, 3)), IndexError, "index out of range in self"),
    (lambda m: m.embedding(torch.tensor([-1]), torch.randn(5, 3)), IndexError, "index out of range in self"),
    (lambda m: m.embedding(torch.tensor([1.0]), torch.randn(5, 3)), RuntimeError, "scalar types: Long, Int"),
    (lambda m: m.embedding(torch.tensor([1]), torch.randn(5)), RuntimeError, "'weight' must be 2-D"),
    (
        lambda m: m.embedding_bag(torch.tensor([1, 5]), torch.randn(5, 3), torch.tensor([0])),
        RuntimeError,
        "Index 1",
    ),
    (
        lambda m: m.embedding_bag(torch.tensor([1, 2]), torch.randn(5, 3), torch.tensor([1])),
        RuntimeError,
        r"offsets\[0\]",
    ),
    (
        lambda m: m.embedding_bag(torch.tensor([1, 2]), torch.randn(5, 3), torch.tensor([0, 3])),
        RuntimeError,
        r"offsets\[-1\] can not be greater than input's length 2",
    ),
    (
        lambda m: m.embedding_bag(torch.tensor([1, 2, 3]), torch.randn(5, 3), torch.tensor([0, 2, 1])),
        RuntimeError,
        "offsets must be non-decreasing",
    ),
    (
        lambda m: m.embedding_bag(torch.tensor([1]), torch.randn(5, 3), torch.tensor([0]), mode="min"),
        ValueError,
        "mode",
    ),
    (
        lambda m: m.embedding_bag(
            torch.tensor([1]), torch.randn(5, 3), torch.tensor([0]), per_sample_weights=torch.ones(1)
        ),
        NotImplementedError,
        "per_sample_weights is only supported for mode='sum'",
    ),
    (
        lambda m: m.embedding_bag(
            torch.tensor([1, 2]),
            torch.randn(5, 3),
            torch.tensor([0]),
            mode="sum",
            per_sample_weights=torch.ones(3),
        ),
        ValueError,
        "must have the same shape as the input",
    ),
    (
        lambda m: m.embedding_bag(
            torch.tensor([1, 2]),
            torch.randn(5, 3),
            torch.tensor([0]),
            mode="sum",
            per_sample_weights=torch.ones(2, dtype=torch.float64),
        ),
        RuntimeError,
        "expected the same dtype for weight, per_sample_weights",
    ),
    (
        lambda m: m.embedding_bag(torch.tensor([[1, 2]]), torch.randn(5, 3), torch.tensor([0])),
        ValueError,
        "2D, then",
    ),
    (
        lambda m: m.embedding_bag(torch.tensor([1, 2]), torch.randn(5, 3)),
        ValueError,
        "offsets has to be a 1D Tensor",
    ),
    (
        lambda m: m.embedding_bag(torch.tensor([[[1]]]), torch.randn(5, 3)),
        ValueError,
        "input has to be 1D or 2D",
    ),
    (
        lambda m: m.embedding_bag(torch.tensor([1]), torch.randn(5), torch.tensor([0])),
        ValueError,
        "weight has to be",
    ),
    (
        lambda m: m.embedding_bag(torch.tensor([1]), torch.randn(5, 3), torch.tensor([0]), padding_idx=5),
        RuntimeError,
        "padding_idx must be within the number of embeddings, -5 through 4, but got 5",
    ),
    (
        lambda m: m.embedding_bag(
            torch.tensor([1]), torch.randn(5, 3), torch.tensor([0]), mode="max", sparse=True
        ),
        ValueError,
        "max mode does not support sparse weights",
    ),
    (
        lambda m: m.embedding_bag(
            torch.tensor([1]), torch.randn(5, 3), torch.tensor([0]), mode="max", scale_grad_by_freq=True
        ),
        ValueError,
        "max mode does not support scaling the gradient",
    ),
]


# torch checks these only on some code paths (decreasing offsets: only when its kernel runs on
# more than one thread); ours always refuses them.
TORCH_CHECKS_SOMETIMES = {"offsets must be non-decreasing"}


@pytest.mark.parametrize(("call", "error", "match"), EMBEDDING_ERRORS)
def test_errors_have_torchs_types(call, error, match):
    if match not in TORCH_CHECKS_SOMETIMES:
        with pytest.raises(error):
            call(torch_F)
    with pytest.raises(error, match=match):
        call(F)


def test_embedding_bag_swapped_arguments_warn_like_torch():
    weight, input = torch.randn(5, 3), torch.tensor([1, 2])
    for fn in (F.embedding_bag, torch_F.embedding_bag):
        with pytest.warns(UserWarning, match="Argument order of nn.functional.embedding_bag was changed"):
            out = fn(weight, input, torch.tensor([0]))
        assert out.shape == (1, 3)


EMBEDDING_MODULES = [
    ("Embedding", (10, 3), {}),
    (
        "Embedding",
        (10, 3),
        {"padding_idx": -2, "max_norm": 1.0, "norm_type": 1.0, "scale_grad_by_freq": True},
    ),
    ("Embedding", (10, 3), {"sparse": True, "padding_idx": 0}),
    ("EmbeddingBag", (10, 3), {}),
    (
        "EmbeddingBag",
        (10, 3),
        {"mode": "sum", "max_norm": 2.0, "padding_idx": 3, "include_last_offset": True},
    ),
    ("EmbeddingBag", (10, 3), {"mode": "max", "norm_type": 3.0}),
]


@pytest.mark.parametrize(
    ("name", "args", "kwargs"), EMBEDDING_MODULES, ids=[f"{n}{k}" for n, _, k in EMBEDDING_MODULES]
)
def test_modules_match_torch(name, args, kwargs):
    torch.manual_seed(3)
    theirs = getattr(torch_nn, name)(*args, **kwargs, dtype=torch.float64)
    torch.manual_seed(3)
    ours = getattr(nn, name)(*args, **kwargs, dtype=torch.float64)
    assert repr(ours) == repr(theirs)
    assert ours.padding_idx == theirs.padding_idx
    assert_close(ours.weight.detach(), theirs.weight.detach(), "initialization (same seed)")
    ours.load_state_dict(theirs.state_dict(), strict=True)
    input = torch.tensor([[1, 2, 3], [8, 3, 0]])
    out_ours, out_theirs = ours(input), theirs(input)
    assert_close(out_ours, out_theirs)
    out_ours.square().sum().backward()
    out_theirs.square().sum().backward()
    assert_close(ours.weight.grad.to_dense(), theirs.weight.grad.to_dense(), "weight gradient")
    assert_close(ours.weight.detach(), theirs.weight.detach(), "weight after max_norm")
    theirs.load_state_dict(ours.state_dict(), strict=True)


@pytest.mark.parametrize("name", ["Embedding", "EmbeddingBag"])
def test_from_pretrained_like_torch(name):
    table = torch.randn(4, 2)
    for freeze in (True, False):
        ours = getattr(nn, name).from_pretrained(table, freeze=freeze, padding_idx=1)
        theirs = getattr(torch_nn, name).from_pretrained(table, freeze=freeze, padding_idx=1)
        assert ours.weight.requires_grad == theirs.weight.requires_grad == (not freeze)
        assert torch.equal(ours.weight, table) and repr(ours) == repr(theirs)
    with pytest.raises(AssertionError, match="expected to be 2-dimensional"):
        getattr(nn, name).from_pretrained(torch.randn(4))


@pytest.mark.parametrize("name", ["Embedding", "EmbeddingBag"])
def test_module_errors_like_torch(name):
    for module in (nn, torch_nn):
        with pytest.raises(AssertionError, match=r"(?i)padding_idx must be within num_embeddings"):
            getattr(module, name)(4, 2, padding_idx=4)
        with pytest.raises(AssertionError, match="Shape of weight does not match"):
            getattr(module, name)(4, 2, _weight=torch.randn(3, 2))
    assert getattr(nn, name)(4, 2, padding_idx=-1).padding_idx == 3
    assert not getattr(nn, name)(4, 2, padding_idx=2).weight[2].any()  # the padding row starts at 0


# --- one_hot -----------------------------------------------------------------------------------


@given(st.lists(st.integers(1, 4), max_size=3), st.integers(1, 6), st.sampled_from([-1, 0, 3]))
def test_one_hot_matches_torch(shape, high, extra):
    indices = torch.randint(0, high, shape)
    num_classes = -1 if extra == -1 else high + extra
    if extra == 0 and indices.numel():
        num_classes = int(indices.max()) + 1  # exactly enough classes
    assert_matches_torch(F.one_hot, torch_F.one_hot, indices, num_classes, grad=False)


def test_one_hot_of_an_empty_tensor_needs_num_classes():
    empty = torch.zeros(0, 2, dtype=torch.long)
    assert_matches_torch(F.one_hot, torch_F.one_hot, empty, 4, grad=False)
    for num_classes in (-1, 0):
        with pytest.raises(RuntimeError, match="Can not infer total number of classes from empty tensor"):
            torch_F.one_hot(empty, num_classes)
        with pytest.raises(RuntimeError, match=r"^one_hot: Can not infer total number of classes from empty"):
            F.one_hot(empty, num_classes)


@pytest.mark.parametrize(
    ("indices", "num_classes", "message"),
    [
        (
            torch.tensor([0, 1], dtype=torch.int32),
            -1,
            "one_hot is only applicable to index tensor of type LongTensor",
        ),
        (torch.tensor([0.0, 1.0]), -1, "one_hot is only applicable to index tensor of type LongTensor"),
        (torch.tensor([0, -1]), -1, "Class values must be non-negative"),
        (torch.tensor([0, -1]), 3, "Class values must be non-negative"),
        (torch.tensor([0, 2]), 2, "Class values must be smaller than num_classes"),
        (torch.tensor([0, 1]), -2, "Class values must be smaller than num_classes"),
    ],
    ids=["int32", "float", "negative", "negative-with-classes", "too-large", "num-classes-below-minus-one"],
)
def test_one_hot_errors_match_torch(indices, num_classes, message):
    with pytest.raises(RuntimeError, match=message):
        torch_F.one_hot(indices, num_classes)
    with pytest.raises(RuntimeError, match=f"^one_hot: {message}"):
        F.one_hot(indices, num_classes)


@given(
    st.lists(st.integers(-1, 4), max_size=4), st.integers(-2, 5), st.sampled_from([torch.int64, torch.int32])
)
def test_one_hot_valid_and_invalid_inputs_behave_like_torch(values, num_classes, dtype):
    indices = torch.tensor(values, dtype=dtype)
    try:
        expected = torch_F.one_hot(indices, num_classes)
    except RuntimeError:
        with pytest.raises(RuntimeError, match=r"^one_hot: "):
            F.one_hot(indices, num_classes)
        return
    assert torch.equal(F.one_hot(indices, num_classes), expected)
