"""The contraction core and the form selector."""

import pytest
import torch

import scratchnn
from scratchnn._contract import contract, current_budget, current_form, parse


def test_forms_agree_on_a_general_contraction():
    a = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    b = torch.randn(3, 6, 5, 1, dtype=torch.float64)  # size-1 'x' broadcasts against a's 2
    spec = "x g c i, g o i x -> x o g"
    fast = contract(spec, a, b, form="fast")
    literal = contract(spec, a, b, form="literal")
    expected = torch.einsum("xgci,goix->xog", a, b.expand(3, 6, 5, 2))
    torch.testing.assert_close(fast, expected)
    torch.testing.assert_close(literal, expected)


def test_chunking_splits_summed_axes_too():
    a, b = torch.randn(1, 4096, dtype=torch.float64), torch.randn(4096, 1, dtype=torch.float64)
    with scratchnn.contraction("literal", budget=1024):  # 128 float64s per chunk
        out = contract("m n, n p -> m p", a, b)
    torch.testing.assert_close(out, a @ b)


def test_context_manager_nests_and_restores():
    assert current_form() == "fast"
    with scratchnn.contraction("literal", budget=1000):
        assert (current_form(), current_budget()) == ("literal", 1000)
        with scratchnn.contraction(budget=10):
            assert (current_form(), current_budget()) == ("literal", 10)
        with scratchnn.contraction("fast"):
            assert (current_form(), current_budget()) == ("fast", 1000)
        assert current_budget() == 1000
    assert current_form() == "fast"


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: scratchnn.contraction("naive").__enter__(),
            ValueError,
            r"form must be one of \('fast', 'literal'\)",
        ),
        (
            lambda: scratchnn.contraction(budget=0).__enter__(),
            ValueError,
            r"budget must be a positive number",
        ),
        (lambda: parse("a b -> a"), ValueError, r"spec must read"),
        (lambda: parse("a a, a -> a"), ValueError, r"an axis repeats"),
        (lambda: parse("a b, b c -> d"), ValueError, r"output axes \{'d'\} appear in no input"),
        (
            lambda: contract("a b, b c -> a c", torch.ones(2), torch.ones(2, 2)),
            ValueError,
            r"left operand has shape \(2,\) but 'a b, b c -> a c' names 2 axes",
        ),
        (
            lambda: contract("a b, b c -> a c", torch.ones(2, 3), torch.ones(2, 2)),
            RuntimeError,
            r"axis 'b' has size 3 in one operand and 2 in the other",
        ),
        (
            lambda: contract("a b, b c -> a c", torch.ones(2, 2), torch.ones(2, 2), form="naive"),
            ValueError,
            r"form must be one of",
        ),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
