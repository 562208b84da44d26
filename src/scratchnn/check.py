"""``scratchnn check``: every implemented op against torch, forward and backward.

Each family registers its cases in a module of ``scratchnn/checks/`` (found automatically), with
:func:`register`. A case is a function of a ``torch.Generator`` that returns the positional and
keyword arguments of one call; floating-point tensors among them get gradients.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

__all__ = ["Case", "Row", "cases", "register", "run"]

Make = Callable[[torch.Generator], tuple[tuple, dict]]


@dataclass(frozen=True)
class Case:
    op: str
    ours: Callable
    theirs: Callable
    make: Make


_REGISTRY: dict[str, list[Case]] = {}


def register(op: str, ours: Callable, theirs: Callable, makers: Iterable[Make]) -> None:
    """Add cases for ``op``: ``ours(*args, **kwargs)`` must equal ``theirs(*args, **kwargs)``."""
    _REGISTRY.setdefault(op, []).extend(Case(op, ours, theirs, make) for make in makers)


def cases() -> dict[str, list[Case]]:
    """All registered cases, by op name (imports every module of ``scratchnn.checks``)."""
    from . import checks

    for module in pkgutil.iter_modules(checks.__path__):
        importlib.import_module(f"{checks.__name__}.{module.name}")
    return _REGISTRY


@dataclass
class Row:
    op: str
    cases: int
    max_error: float
    max_grad_error: float
    failures: list[str]

    @property
    def ok(self) -> bool:
        return not self.failures


def _leaves(value, grad: bool, device: torch.device):
    if isinstance(value, torch.Tensor):
        leaf = value.detach().to(device, copy=True)
        return leaf.requires_grad_(grad and leaf.is_floating_point())
    if isinstance(value, tuple | list):
        return type(value)(_leaves(v, grad, device) for v in value)
    if isinstance(value, dict):
        return {key: _leaves(v, grad, device) for key, v in value.items()}
    return value


def _tensors(value) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, tuple | list):
        return [t for v in value for t in _tensors(v)]
    return []


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    if a.numel() == 0:
        return 0.0
    return ((a.double() - b.double()).abs().max() / (1 + b.double().abs().max())).item()


def run_case(case: Case, seed: int, device: str | torch.device = "cpu") -> tuple[float, float]:
    """Max relative error of the outputs and of the input gradients for one case, whose tensors
    are made on the CPU (the same on every machine) and moved to ``device``."""
    device = torch.device(device)
    generator = torch.Generator().manual_seed(seed)
    args, kwargs = case.make(generator)
    results = []
    for fn in (case.ours, case.theirs):
        call_args, call_kwargs = _leaves(args, True, device), _leaves(kwargs, True, device)
        torch.manual_seed(seed)  # ops that draw random numbers draw the same ones
        out = _tensors(fn(*call_args, **call_kwargs))
        results.append((call_args, call_kwargs, out))
    (args_a, kwargs_a, out_a), (args_b, kwargs_b, out_b) = results
    if len(out_a) != len(out_b) or any(
        a.shape != b.shape or a.dtype != b.dtype for a, b in zip(out_a, out_b)
    ):
        shapes = [(tuple(t.shape), t.dtype) for t in out_a], [(tuple(t.shape), t.dtype) for t in out_b]
        raise AssertionError(f"outputs differ in shape or dtype: {shapes[0]} vs {shapes[1]}")
    error = max((_relative(a, b) for a, b in zip(out_a, out_b)), default=0.0)
    differentiable = [(a, b) for a, b in zip(out_a, out_b) if a.requires_grad and b.requires_grad]
    if not differentiable:
        return error, 0.0
    cotangents = [
        torch.randn(a.shape, generator=generator, dtype=a.dtype).to(a.device) for a, _ in differentiable
    ]
    inputs_a = [t for t in _tensors([args_a, list(kwargs_a.values())]) if t.requires_grad]
    inputs_b = [t for t in _tensors([args_b, list(kwargs_b.values())]) if t.requires_grad]
    grads_a = torch.autograd.grad([a for a, _ in differentiable], inputs_a, cotangents, allow_unused=True)
    grads_b = torch.autograd.grad([b for _, b in differentiable], inputs_b, cotangents, allow_unused=True)
    grad_error = 0.0
    for ga, gb in zip(grads_a, grads_b):
        if (ga is None) != (gb is None):
            raise AssertionError("one side has a gradient where the other has none")
        if ga is not None:
            grad_error = max(grad_error, _relative(ga, gb))
    return error, grad_error


def run(
    ops: Iterable[str] | None = None,
    tolerance: float = 1e-9,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> list[Row]:
    """Run the registered cases (all, or those of ``ops``) in float64 on ``device`` and summarize by op."""
    registry = cases()
    selected = sorted(registry) if ops is None else list(ops)
    rows = []
    for op in selected:
        if op not in registry:
            raise KeyError(f"check: no cases for op {op!r}; known ops: {', '.join(sorted(registry))}")
        row = Row(op, 0, 0.0, 0.0, [])
        for index, case in enumerate(registry[op]):
            row.cases += 1
            try:
                error, grad_error = run_case(case, seed + index, device)
            except Exception as exc:  # a crash is a failure of that case, reported in the table
                row.failures.append(f"case {index}: {type(exc).__name__}: {exc}")
                continue
            row.max_error = max(row.max_error, error)
            row.max_grad_error = max(row.max_grad_error, grad_error)
            if error > tolerance or grad_error > tolerance:
                row.failures.append(f"case {index}: error {error:.2e}, grad error {grad_error:.2e}")
        rows.append(row)
    return rows


def format_table(rows: list[Row]) -> str:
    header = f"{'op':<34} {'cases':>5} {'max err':>12} {'max grad err':>12}  status"
    lines = [header, "-" * len(header)]
    for row in rows:
        status = "ok" if row.ok else "FAIL"
        lines.append(
            f"{row.op:<34} {row.cases:>5} {row.max_error:>12.2e} {row.max_grad_error:>12.2e}  {status}"
        )
        lines.extend(f"    {failure}" for failure in row.failures[:5])
    return "\n".join(lines)
