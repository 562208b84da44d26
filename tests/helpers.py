"""The one helper every test uses to compare scratchnn against torch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from scratchnn import _comparison

# The one tolerance table (scratchnn._comparison): rtol = atol = TOLERANCES[dtype].
TOLERANCES = _comparison.TOLERANCES
tensors_in = _comparison.tensors_in


def assert_close(
    actual: torch.Tensor, expected: torch.Tensor, what: str = "output", rtol=None, atol=None
) -> None:
    """Values, shape and dtype: ``|actual − expected| ≤ atol · max(1, max|expected|) + rtol ·
    |expected|`` elementwise (NaN where torch has NaN), tolerances from the dtype unless given."""
    assert actual.shape == expected.shape, (
        f"{what}: shape {tuple(actual.shape)} != torch's {tuple(expected.shape)}"
    )
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != torch's {expected.dtype}"
    default = _comparison.tolerance(expected.dtype)
    rtol = default if rtol is None else rtol
    atol = default if atol is None else atol
    if rtol == 0 and atol == 0:
        mismatched = actual.ne(expected) & ~(actual.isnan() & expected.isnan())
        assert not mismatched.any(), f"{what}: {int(mismatched.sum())} of {actual.numel()} elements differ"
        return
    worst, where = _comparison.mismatch(actual, expected, rtol, atol)
    if worst > 1:
        assert where is not None
        raise AssertionError(
            f"{what}: not close (rtol={rtol}, atol={atol}): at index {where} ours is "
            f"{actual[where].item()!r}, torch's {expected[where].item()!r} ({worst:.3g}× the tolerance)"
        )


def assert_matches_torch(
    ours: Callable,
    theirs: Callable,
    *args: Any,
    grad: bool = True,
    rtol: float | None = None,
    atol: float | None = None,
    seed: int = 0,
    **kwargs: Any,
) -> Any:
    """``ours(*args, **kwargs)`` equals ``theirs(*args, **kwargs)`` in values, shapes, dtypes and
    (when ``grad``) in the gradients of every floating-point input for one random cotangent
    (``scratchnn._comparison.run_both``). Returns our output."""
    run = _comparison.run_both(ours, theirs, args, kwargs, grad=grad, seed=seed)
    for i, (a, b) in enumerate(zip(run.ours, run.theirs)):
        assert_close(a, b, f"output {i}", rtol, atol)
    for i, (ga, gb) in enumerate(zip(run.grads_ours, run.grads_theirs)):
        if gb is None:
            assert ga is None or not ga.any(), f"gradient {i}: ours is nonzero where torch has none"
            continue
        assert ga is not None, f"gradient {i}: ours is missing"
        assert_close(ga, gb, f"gradient of input {i}", rtol, atol)
    return run.value


def in_both_forms(fn: Callable[[], torch.Tensor], budget: int = 2**16) -> tuple[torch.Tensor, torch.Tensor]:
    """``fn()`` in the fast form and in the literal form (with a small budget, so chunking runs)."""
    import scratchnn

    with scratchnn.contraction("fast"):
        fast = fn()
    with scratchnn.contraction("literal", budget=budget):
        literal = fn()
    return fast, literal


@contextmanager
def conv_chunks_of(samples: int) -> Iterator[None]:
    """The fast convolution schedules split every batch into chunks of ``samples`` samples."""
    import scratchnn

    with scratchnn.settings(conv_chunk_samples=samples):
        yield
