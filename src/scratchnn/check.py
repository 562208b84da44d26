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

from ._comparison import TOLERANCES, error, run_both

__all__ = ["Case", "Row", "cases", "register", "run"]

Make = Callable[[torch.Generator], tuple[tuple, dict]]


@dataclass(frozen=True)
class Case:
    op: str
    ours: Callable
    theirs: Callable
    make: Make
    dtype: torch.dtype = torch.float64  # the precision the case runs in (its tolerance)


_REGISTRY: dict[str, list[Case]] = {}


def register(
    op: str, ours: Callable, theirs: Callable, makers: Iterable[Make], dtype: torch.dtype = torch.float64
) -> None:
    """Add cases for ``op``: ``ours(*args, **kwargs)`` must equal ``theirs(*args, **kwargs)``.
    ``dtype``: the precision the cases run in, for an op that torch has in no float64
    (``grouped_mm``); they are judged at that dtype's tolerance."""
    _REGISTRY.setdefault(op, []).extend(Case(op, ours, theirs, make, dtype) for make in makers)


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


def run_case(case: Case, seed: int, device: str | torch.device = "cpu") -> tuple[float, float]:
    """The largest error (``_comparison.error``) of the outputs and of the input gradients for
    one case, whose tensors are made on the CPU (the same on every machine) and moved to
    ``device``."""
    args, kwargs = case.make(torch.Generator().manual_seed(seed))
    run = run_both(case.ours, case.theirs, args, kwargs, seed=seed, device=torch.device(device))
    output_error = max((error(a, b) for a, b in zip(run.ours, run.theirs)), default=0.0)
    grad_error = 0.0
    for ga, gb in zip(run.grads_ours, run.grads_theirs):
        if (ga is None) != (gb is None):
            raise AssertionError("one side has a gradient where the other has none")
        if ga is not None and gb is not None:
            grad_error = max(grad_error, error(ga, gb))
    return output_error, grad_error


def run(
    ops: Iterable[str] | None = None,
    tolerance: float = TOLERANCES[torch.float64],
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> list[Row]:
    """Run the registered cases (all, or those of ``ops``) in float64 on ``device`` and summarize
    by op; a case fails when an error exceeds ``tolerance`` (float64's, by default)."""
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
            allowed = max(tolerance, TOLERANCES[case.dtype])
            if error > allowed or grad_error > allowed:
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
