"""ctc_loss against torch: the α scan over random lengths, padded and concatenated targets, tensor
and tuple lengths, unbatched input, every reduction, zero_infinity, torch's gradient (the one
through a log-softmax), gradcheck, errors with torch's types, the CTCLoss module."""

import warnings

import pytest
import torch
import torch.nn as torch_nn
import torch.nn.functional as torch_F
from hypothesis import given, settings
from hypothesis import strategies as st

import scratchnn.functional as F
import scratchnn.nn as nn
from helpers import assert_close, assert_matches_torch

f64 = torch.float64


def seeded(data):
    torch.manual_seed(data.draw(st.integers(0, 2**16), label="seed"))


def concatenated(padded, target_lengths):
    return torch.cat([row[:length] for row, length in zip(padded, target_lengths.tolist())])


@settings(max_examples=60)
@given(st.data(), st.sampled_from([torch.float64, torch.float32]), st.sampled_from(["none", "mean", "sum"]))
def test_ctc_loss_matches_torch(data, dtype, reduction):
    seeded(data)
    frames, batch, classes = (
        data.draw(st.integers(1, 8)),
        data.draw(st.integers(1, 3)),
        data.draw(st.integers(2, 5)),
    )
    longest = data.draw(st.integers(0, 4))
    blank = data.draw(st.integers(0, classes - 1))
    log_probs = torch.randn(frames, batch, classes, dtype=dtype).log_softmax(2)
    labels = [c for c in range(classes) if c != blank]
    padded = torch.tensor(labels)[torch.randint(0, len(labels), (batch, longest))]
    if data.draw(st.booleans(), label="repeats"):
        padded[:, 1::2] = padded[:, ::2][:, : padded[:, 1::2].shape[1]]  # a label twice in a row
    input_lengths = torch.randint(0, frames + 1, (batch,))
    target_lengths = torch.randint(0, longest + 1, (batch,))
    zero_infinity = data.draw(st.booleans(), label="zero_infinity")
    if not zero_infinity:  # an impossible alignment: inf loss, and a NaN gradient in torch
        needed = target_lengths + (padded[:, 1:] == padded[:, :-1]).sum(1) if longest > 1 else target_lengths
        input_lengths = torch.maximum(input_lengths, needed.clamp_max(frames))
        target_lengths = torch.where(needed > frames, 0, target_lengths)
    targets = padded if data.draw(st.booleans(), label="padded") else concatenated(padded, target_lengths)
    if data.draw(st.booleans(), label="tuples"):
        input_lengths, target_lengths = tuple(input_lengths.tolist()), tuple(target_lengths.tolist())
    kwargs = {"blank": blank, "reduction": reduction, "zero_infinity": zero_infinity}
    assert_matches_torch(
        F.ctc_loss, torch_F.ctc_loss, log_probs, targets, input_lengths, target_lengths, **kwargs
    )


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_unbatched_input(reduction):
    torch.manual_seed(1)
    log_probs = torch.randn(6, 4, dtype=f64).log_softmax(1)
    targets = torch.tensor([1, 2, 2])
    for lengths in ((torch.tensor(6), torch.tensor(3)), ((6,), (3,)), (torch.tensor([5]), torch.tensor([3]))):
        args = (log_probs, targets, *lengths)
        assert_matches_torch(F.ctc_loss, torch_F.ctc_loss, *args, reduction=reduction)
    assert F.ctc_loss(log_probs, targets, torch.tensor(6), torch.tensor(3), reduction="none").shape == ()


def test_infinite_losses_and_zero_infinity():
    torch.manual_seed(2)
    log_probs = torch.randn(4, 3, 5, dtype=f64).log_softmax(2).requires_grad_()
    targets = torch.tensor([[1, 1, 1], [1, 2, 3], [2, 3, 4]])
    args = (targets, torch.tensor([4, 2, 0]), torch.tensor([3, 3, 1]))  # 1 1 1 needs 5 frames
    ours, theirs = (
        F.ctc_loss(log_probs, *args, reduction="none"),
        torch_F.ctc_loss(log_probs, *args, reduction="none"),
    )
    assert_close(ours, theirs)
    assert torch.isinf(ours).all()
    assert_matches_torch(F.ctc_loss, torch_F.ctc_loss, log_probs, *args, zero_infinity=True, reduction="sum")
    grad = torch.autograd.grad(F.ctc_loss(log_probs, *args, zero_infinity=True, reduction="sum"), log_probs)[
        0
    ]
    assert not grad.isnan().any() and not grad.any()


def test_empty_input_and_empty_target():
    log_probs = torch.randn(3, 2, 4, dtype=f64).log_softmax(2)
    targets = torch.tensor([[1, 2], [3, 1]])
    args = (log_probs, targets, torch.tensor([0, 3]), torch.tensor([0, 0]))
    assert_matches_torch(F.ctc_loss, torch_F.ctc_loss, *args, reduction="none")
    args = (log_probs, targets, torch.tensor([0, 3]), torch.tensor([1, 2]))
    assert_close(F.ctc_loss(*args, reduction="none"), torch_F.ctc_loss(*args, reduction="none"))


def test_gradient_is_torchs_and_equals_the_true_one_through_log_softmax():
    """torch's gradient w.r.t. log_probs is e^lp − posterior; through a log-softmax it is the true one."""
    torch.manual_seed(3)
    logits = torch.randn(5, 2, 4, dtype=f64, requires_grad=True)
    args = (torch.tensor([[1, 2], [3, 0]]), torch.tensor([5, 4]), torch.tensor([2, 1]))
    assert torch.autograd.gradcheck(lambda z: F.ctc_loss(z.log_softmax(2), *args, reduction="sum"), (logits,))
    log_probs = logits.detach().log_softmax(2).requires_grad_()
    ours = torch.autograd.grad(F.ctc_loss(log_probs, *args, reduction="sum"), log_probs)[0]
    theirs = torch.autograd.grad(torch_F.ctc_loss(log_probs, *args, reduction="sum"), log_probs)[0]
    assert_close(ours, theirs)
    assert_close(ours[:4, 1].sum(-1), torch.zeros(4, dtype=f64))  # e^lp sums to 1, the posteriors too
    assert not ours[4:, 1].any()  # beyond the input's length


def test_gradcheck_through_log_softmax_with_blank_and_repeats():
    torch.manual_seed(4)
    logits = torch.randn(6, 2, 3, dtype=f64, requires_grad=True)
    args = (torch.tensor([0, 0, 1, 0]), (6, 5), (2, 2))  # blank=2, repeated 0 0
    fn = lambda z: F.ctc_loss(z.log_softmax(2), *args, blank=2, reduction="mean")  # noqa: E731
    assert torch.autograd.gradcheck(fn, (logits,))


lp = torch.randn(6, 2, 4).log_softmax(2)
tg = torch.tensor([[1, 2, 3], [1, 2, 3]])
il, tl = torch.tensor([6, 5]), torch.tensor([3, 2])
ERRORS = [
    ((lp, tg, il, tl), {"reduction": "x"}, ValueError, r"ctc_loss: x is not a valid value for reduction"),
    (
        (lp, tg, torch.tensor([7, 5]), tl),
        {},
        RuntimeError,
        r"ctc_loss: Expected input_lengths to have value at most 6",
    ),
    (
        (lp, tg, il, torch.tensor([4, 2])),
        {},
        RuntimeError,
        r"ctc_loss: Expected tensor to have size at least 4 at dim",
    ),
    (
        (lp, tg, torch.tensor([6]), tl),
        {},
        RuntimeError,
        r"ctc_loss: input_lengths must be of size batch_size \(2\)",
    ),
    (
        (lp, tg, il, torch.tensor([3])),
        {},
        RuntimeError,
        r"ctc_loss: target_lengths must be of size batch_size",
    ),
    (
        (lp, tg, il, tl),
        {"blank": 4},
        RuntimeError,
        r"ctc_loss: blank must be in label range \[0, 4\), got blank=4",
    ),
    ((lp, tg, il, tl), {"blank": -1}, RuntimeError, r"ctc_loss: blank must be in label range"),
    (
        (lp, torch.tensor([1, 2, 3, 1]), il, tl),
        {},
        RuntimeError,
        r"ctc_loss: Expected tensor to have size 5 at dim",
    ),
    (
        (lp, torch.tensor([[1, 2, 3]] * 3), il, tl),
        {},
        RuntimeError,
        r"ctc_loss: Expected tensor to have size 2 at",
    ),
    (
        (lp, tg[None], il, tl),
        {},
        RuntimeError,
        r"ctc_loss: Expected 1 to 2 dimensions, but got 3-dimensional",
    ),
    ((lp, tg, il.float(), tl), {}, RuntimeError, r"ctc_loss: input_lengths must be integral"),
    (
        (lp, tg, torch.tensor([-1, 5]), tl),
        {},
        RuntimeError,
        r"ctc_loss: Expected input_lengths to have value at least 0",
    ),
    (
        (lp, tg, il, torch.tensor([-1, 2])),
        {},
        RuntimeError,
        r"ctc_loss: Expected target_lengths to have value at least",
    ),
    (
        (lp[0, 0], tg, il, tl),
        {},
        RuntimeError,
        r"ctc_loss: Expected 3-dimensional tensor, but got 2-dimensional",
    ),
    (
        (lp[None], tg, il, tl),
        {},
        RuntimeError,
        r"ctc_loss: Expected 3-dimensional tensor, but got 5-dimensional",
    ),
    ((lp.long(), tg, il, tl), {}, NotImplementedError, r"ctc_loss: not implemented for torch.int64"),
    ((lp, tg, (6, 5), tl), {}, TypeError, r"ctc_loss: input_lengths and target_lengths must both be tensors"),
]


@pytest.mark.parametrize("args, kwargs, error, match", ERRORS, ids=[e[3][10:40] for e in ERRORS])
def test_errors_have_torchs_types(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        F.ctc_loss(*args, **kwargs)
    with pytest.raises(error):
        torch_F.ctc_loss(*args, **kwargs)


@pytest.mark.parametrize("kwargs", [{}, {"blank": 3, "reduction": "sum", "zero_infinity": True}])
def test_ctc_module_matches_torch(kwargs):
    ours, theirs = nn.CTCLoss(**kwargs), torch_nn.CTCLoss(**kwargs)
    assert repr(ours) == repr(theirs) and ours.state_dict().keys() == theirs.state_dict().keys()
    log_probs = torch.randn(6, 2, 4, dtype=f64).log_softmax(2)
    targets = torch.tensor([[1, 2, 0], [2, 1, 1]]) if kwargs else torch.tensor([[1, 2, 3], [3, 1, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_matches_torch(ours, theirs, log_probs, targets, torch.tensor([6, 5]), torch.tensor([3, 2]))


# --- the differential fuzzer's finds (tests/test_fuzz.py) ----------------------------------------


def fuzz_inputs():
    torch.manual_seed(1)
    log_probs = torch.randn(7, 2, 5, dtype=f64).log_softmax(2)
    return log_probs, torch.tensor([[1, 2, 2], [3, 1, 0]]), torch.tensor([7, 6]), torch.tensor([3, 2])


@pytest.mark.parametrize(
    "position", [(0, 0, 4), (6, 1, 2), (3, 0, 1)], ids=["unused class", "past input", "on path"]
)
@pytest.mark.parametrize("special", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_inf_log_probs_as_torch(position, special):
    """A NaN where no alignment looks adds nothing (the zero term of torch's gradient skips it); on
    an alignment's path NaN and +inf give NaN (torch shifts its log-sum-exp by the max)."""
    log_probs, targets, input_lengths, target_lengths = fuzz_inputs()
    log_probs[position] = special
    for zero_infinity in (False, True):
        kwargs = {"reduction": "none", "zero_infinity": zero_infinity}
        assert_close(
            F.ctc_loss(log_probs, targets, input_lengths, target_lengths, **kwargs),
            torch_F.ctc_loss(log_probs, targets, input_lengths, target_lengths, **kwargs),
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"blank": 1.0}, "ctc_loss: blank must be an int, got float"),
        ({"blank": True}, "ctc_loss: blank must be an int, got bool"),
        ({"blank": float("-inf")}, "ctc_loss: blank must be an int"),
        ({"zero_infinity": 1}, "ctc_loss: zero_infinity must be a bool, got int"),
    ],
)
def test_blank_and_zero_infinity_of_the_wrong_type_are_type_errors(kwargs, match):
    args = fuzz_inputs()
    with pytest.raises(TypeError):
        torch_F.ctc_loss(*args, **kwargs)
    with pytest.raises(TypeError, match=match):
        F.ctc_loss(*args, **kwargs)


def test_a_zero_dim_integer_tensor_is_a_blank():
    args = fuzz_inputs()
    assert_close(F.ctc_loss(*args, blank=torch.tensor(4)), torch_F.ctc_loss(*args, blank=torch.tensor(4)))


def test_tuple_lengths_must_hold_ints():
    log_probs, targets, _, _ = fuzz_inputs()
    for lengths in [((7.0, 6), (3, 2)), ((True, 6), (3, 2))]:
        with pytest.raises(TypeError):
            torch_F.ctc_loss(log_probs, targets, *lengths)
        with pytest.raises(TypeError, match="ctc_loss: input_lengths must be a tensor or a tuple of ints"):
            F.ctc_loss(log_probs, targets, *lengths)


def test_bool_lengths_are_not_integral():
    log_probs, targets, _, target_lengths = fuzz_inputs()
    flags = torch.tensor([True, True])
    with pytest.raises(RuntimeError, match="input_lengths must be integral"):
        torch_F.ctc_loss(log_probs, targets, flags, target_lengths)
    with pytest.raises(RuntimeError, match=r"ctc_loss: input_lengths must be integral, got torch\.bool"):
        F.ctc_loss(log_probs, targets, flags, target_lengths)


def test_padding_past_a_targets_length_may_hold_anything():
    log_probs, targets, input_lengths, target_lengths = fuzz_inputs()
    targets[1, 2] = -1  # beyond the second target's length 2
    assert_close(
        F.ctc_loss(log_probs, targets, input_lengths, target_lengths),
        torch_F.ctc_loss(log_probs, targets, input_lengths, target_lengths),
    )


def test_a_label_outside_the_classes_is_a_runtime_error():
    log_probs, targets, input_lengths, target_lengths = fuzz_inputs()
    with pytest.raises(
        RuntimeError, match=r"ctc_loss: targets must be class indices in \[0, 3\), got labels"
    ):
        F.ctc_loss(log_probs[:, :, :3], targets, input_lengths, target_lengths)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int64])
def test_log_probs_are_float_or_double(dtype):
    log_probs, *rest = fuzz_inputs()
    with pytest.raises(NotImplementedError):
        torch_F.ctc_loss(log_probs.to(dtype), *rest)
    with pytest.raises(NotImplementedError, match="ctc_loss: not implemented for"):
        F.ctc_loss(log_probs.to(dtype), *rest)
