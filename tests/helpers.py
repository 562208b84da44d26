"""The one helper every test uses to compare scratchnn against torch."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

# (rtol, atol) per dtype; atol scales with the size of the reference values.
TOLERANCES = {
    torch.float64: (1e-10, 1e-10),
    torch.float32: (1e-5, 1e-5),
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (5e-2, 5e-2),
}


def _leaves(value: Any, grad: bool) -> Any:
    if isinstance(value, torch.Tensor):
        leaf = value.detach().clone()
        return leaf.requires_grad_(grad and (leaf.is_floating_point() or leaf.is_complex()))
    if isinstance(value, tuple | list):
        return type(value)(_leaves(v, grad) for v in value)
    if isinstance(value, dict):
        return {k: _leaves(v, grad) for k, v in value.items()}
    return value


def tensors_in(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, tuple | list):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v)]
    return []


def assert_close(
    actual: torch.Tensor, expected: torch.Tensor, what: str = "output", rtol=None, atol=None
) -> None:
    """Values, shape and dtype; tolerance from the dtype unless given, atol scaled by max |expected|."""
    assert actual.shape == expected.shape, (
        f"{what}: shape {tuple(actual.shape)} != torch's {tuple(expected.shape)}"
    )
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype} != torch's {expected.dtype}"
    default_rtol, default_atol = TOLERANCES.get(expected.dtype, (0, 0))
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    if expected.is_floating_point() and expected.numel():
        finite = expected[expected.isfinite()]
        scale = max(1.0, finite.abs().max().item()) if finite.numel() else 1.0
        atol = atol * scale
    torch.testing.assert_close(
        actual, expected, rtol=rtol, atol=atol, equal_nan=True, msg=lambda m: f"{what}: {m}"
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
    (when ``grad``) in the gradients of every floating-point input for one random cotangent.

    Inputs are copied for each side, so in-place ops cannot leak between them. Returns our output.
    """
    runs = []
    for fn in (ours, theirs):
        call_args, call_kwargs = _leaves(args, grad), _leaves(kwargs, grad)
        torch.manual_seed(seed)
        runs.append((call_args, call_kwargs, fn(*call_args, **call_kwargs)))
    (args_a, kwargs_a, out_a), (args_b, kwargs_b, out_b) = runs
    outs_a, outs_b = tensors_in(out_a), tensors_in(out_b)
    assert len(outs_a) == len(outs_b), f"{len(outs_a)} output tensors != torch's {len(outs_b)}"
    for i, (a, b) in enumerate(zip(outs_a, outs_b)):
        assert_close(a.detach(), b.detach(), f"output {i}", rtol, atol)
    if not grad:
        return out_a
    pairs = [(a, b) for a, b in zip(outs_a, outs_b) if b.requires_grad]
    if not pairs:
        return out_a
    assert all(a.requires_grad for a, _ in pairs), "torch's output has a gradient, ours does not"
    generator = torch.Generator().manual_seed(seed + 1)
    cotangents = [torch.randn(b.shape, generator=generator, dtype=b.dtype) for _, b in pairs]
    inputs_a = [t for t in tensors_in([args_a, kwargs_a]) if t.requires_grad]
    inputs_b = [t for t in tensors_in([args_b, kwargs_b]) if t.requires_grad]
    grads_a = torch.autograd.grad([a for a, _ in pairs], inputs_a, cotangents, allow_unused=True)
    grads_b = torch.autograd.grad([b for _, b in pairs], inputs_b, cotangents, allow_unused=True)
    for i, (ga, gb) in enumerate(zip(grads_a, grads_b)):
        if gb is None:
            assert ga is None or not ga.any(), f"gradient {i}: ours is nonzero where torch has none"
            continue
        assert ga is not None, f"gradient {i}: ours is missing"
        assert_close(ga, gb, f"gradient of input {i}", rtol, atol)
    return out_a


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
