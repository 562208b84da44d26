"""``scratchnn.compare(reference, candidate, *inputs)``: where do two models part ways?

Runs both models on the same inputs (copied per side, same random seed) and, through forward
hooks on every module, records each module's outputs in the order they are computed; then backs
both up with the same random cotangent. The report gives, per module output, per parameter
gradient, per input gradient and per buffer after the run, the max absolute error, the max
relative error ``max|candidate − reference| / max|reference|`` and the *error* that is judged
against the tolerance — the comparison core's (``scratchnn/_comparison.py``, the one ``check``,
``explain`` and the test suite use): ``max |candidate − reference| / (max(1, max|reference|) +
|reference|)``, relative for values of size 1 and more, absolute below, so a gradient that is
zero up to rounding (a BatchNorm bias before another normalization) does not read as a 100 %
error. It names the first module (in execution order) whose output differs
by more than the tolerance: where the models diverge first. Modules and parameters are paired
by their qualified names, so a model and its :func:`scratchnn.convert` copy line up;
``reference`` and ``candidate`` may be the same module, run once natively and once inside
``context`` (e.g. ``context=scratchnn.mode``).

Neither model is changed: gradients and buffers (BatchNorm's running statistics) are restored
afterwards, and the global random state is left as it was.

>>> import torch, scratchnn
>>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).double()
>>> report = scratchnn.compare(model, scratchnn.convert(model)[0], torch.randn(3, 4, dtype=torch.float64))
>>> report.ok, report.first_divergence is None, report.max_output_error < 1e-12
(True, True, True)
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ._comparison import TOLERANCES, error, leaves, tensors_in
from ._comparison import tolerance as tolerance_of

__all__ = ["TOLERANCES", "CompareReport", "Row", "compare"]


@dataclass
class Row:
    """One compared tensor: a module output, a gradient or a buffer."""

    name: str
    kind: str  # "output", "grad", "input grad", "buffer"
    what: str  # the modules' classes, or the tensor's dtype
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float  # max_abs / max|reference|
    note: str = ""  # why the tensors could not be compared, if they could not
    error: float = float("nan")  # the comparison core's error, judged against the tolerance
    scale: float = 1.0  # max|reference|

    def over(self, tolerance: float) -> bool:
        return bool(self.note) or not self.error <= tolerance  # nan counts as over


@dataclass
class CompareReport:
    """Rows in execution order (outputs) or by name (gradients, buffers); ``str()`` prints a table."""

    outputs: list[Row] = field(default_factory=list)
    gradients: list[Row] = field(default_factory=list)
    buffers: list[Row] = field(default_factory=list)
    tolerance: float = 0.0

    @property
    def first_divergence(self) -> Row | None:
        """The first module output (then gradient, then buffer) beyond the tolerance."""
        for row in [*self.outputs, *self.gradients, *self.buffers]:
            if row.over(self.tolerance):
                return row
        return None

    @property
    def ok(self) -> bool:
        return self.first_divergence is None

    @property
    def max_output_error(self) -> float:
        """The error (see the module docstring) of the model's own output."""
        final = [row.error for row in self.outputs if row.name.split("[")[0] == "(model)"]
        return max(final, default=0.0)

    @property
    def max_gradient_error(self) -> float:
        """The largest error among the gradients."""
        return max((row.error for row in self.gradients), default=0.0)

    def __str__(self) -> str:
        first = self.first_divergence
        if first is None:
            head = f"compare: no divergence (tolerance {self.tolerance:.0e})"
        else:
            error = first.note or f"error {first.error:.2e} (max abs {first.max_abs:.2e})"
            head = f"compare: first divergence at {first.name} ({first.kind}, {first.what}): {error}"
        head += f"; model output error {self.max_output_error:.2e}, gradients {self.max_gradient_error:.2e}"
        lines = [head]
        sections = (("outputs, in execution order", self.outputs), ("gradients", self.gradients))
        for title, rows in (*sections, ("buffers after the run", self.buffers)):
            if not rows:
                continue
            width = max(len(row.name) for row in rows)
            what = max(len(row.what) for row in rows)
            lines.append(f"{title}:")
            lines.append(
                f"    {'':<{width}}  {'':<{what}}  {'shape':<18} {'max abs':>9} {'max rel':>9} {'error':>9}"
            )
            for row in rows:
                flag = "!" if row.over(self.tolerance) else " "
                shape = str(tuple(row.shape))
                values = row.note or f"{row.max_abs:>9.2e} {row.max_rel:>9.2e} {row.error:>9.2e}"
                lines.append(f"  {flag} {row.name:<{width}}  {row.what:<{what}}  {shape:<18} {values}")
        return "\n".join(lines)


def compare(
    reference: nn.Module,
    candidate: nn.Module,
    *inputs: Any,
    context: Callable[[], AbstractContextManager[Any]] | None = None,
    backward: bool = True,
    tolerance: float | None = None,
    seed: int = 0,
    **kwargs: Any,
) -> CompareReport:
    """Run ``reference(*inputs, **kwargs)`` and ``candidate(*inputs, **kwargs)`` and compare them
    layer by layer (see the module docstring). ``context()`` is entered around the candidate's
    run; ``tolerance`` defaults to the comparison core's for the dtype of the model's output
    (``scratchnn._comparison.TOLERANCES``)."""
    sides = []
    for model, make_context in ((reference, None), (candidate, context)):
        with make_context() if make_context else nullcontext():
            sides.append(_run(model, inputs, kwargs, backward, seed))
    (ref_calls, ref_grads, ref_buffers), (cand_calls, cand_grads, cand_buffers) = sides
    report = CompareReport()
    dtypes = [t.dtype for _, _, tensors in ref_calls for t in tensors if t.is_floating_point()]
    default = tolerance_of(dtypes[-1] if dtypes else torch.float64)  # the model output's dtype
    report.tolerance = tolerance if tolerance is not None else default
    candidates = {name: (cls, tensors) for name, cls, tensors in cand_calls}
    for name, cls, tensors in ref_calls:
        cand_cls, cand_tensors = candidates.get(name, (None, []))
        what = cls.__name__ if cand_cls is cls else f"{_qualified(cls)} → {_qualified(cand_cls)}"
        for index, tensor in enumerate(tensors):
            label = f"{name}[{index}]" if len(tensors) > 1 else name
            other = cand_tensors[index] if index < len(cand_tensors) else None
            report.outputs.append(_row(label, "output", what, tensor, other))
    for kind, ref, cand in (("grad", ref_grads, cand_grads), ("buffer", ref_buffers, cand_buffers)):
        rows = report.gradients if kind == "grad" else report.buffers
        for name, tensor in ref.items():
            row_kind = "input grad" if kind == "grad" and name.startswith("input ") else kind
            rows.append(
                _row(name, row_kind, str(tensor.dtype).removeprefix("torch."), tensor, cand.get(name))
            )
    return report


def _qualified(cls: type | None) -> str:
    if cls is None:
        return "—"
    module = cls.__module__
    for package in ("scratchnn.nn", "torch.nn"):
        if module.startswith(package):
            module = package
    return f"{module}.{cls.__name__}"


def _run(
    model: nn.Module, inputs: tuple, kwargs: dict, backward: bool, seed: int
) -> tuple[list[tuple[str, type, list[torch.Tensor]]], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """One side: module outputs in execution order, gradients by name, buffers after the run.

    Leaves the model as it found it (gradients, buffers) and the global random state too.
    """
    names = {id(module): name or "(model)" for name, module in model.named_modules()}
    calls: list[tuple[str, type, list[torch.Tensor]]] = []
    seen: dict[str, int] = {}

    def hook(module: nn.Module, args: Any, output: Any) -> None:
        name = names[id(module)]
        seen[name] = seen.get(name, 0) + 1
        label = name if seen[name] == 1 else f"{name}#{seen[name]}"
        calls.append((label, type(module), [t.detach().clone() for t in tensors_in(output)]))

    parameters = dict(model.named_parameters())
    saved_grads = {name: p.grad for name, p in parameters.items()}
    saved_buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    handles = [module.register_forward_hook(hook) for module in model.modules()]
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for p in parameters.values():
                p.grad = None
            call_inputs, call_kwargs = leaves(inputs, True), leaves(kwargs, True)
            outputs = [t for t in tensors_in(model(*call_inputs, **call_kwargs)) if t.requires_grad]
            grads: dict[str, torch.Tensor] = {}
            if backward and outputs:
                generator = torch.Generator().manual_seed(seed + 1)
                cotangents = [torch.randn(t.shape, generator=generator, dtype=t.dtype) for t in outputs]
                torch.autograd.backward(outputs, cotangents)
                inputs_used = tensors_in([call_inputs, call_kwargs])
                grads = {f"input {i}": t.grad for i, t in enumerate(inputs_used) if t.grad is not None}
                grads |= {name: p.grad.clone() for name, p in parameters.items() if p.grad is not None}
        buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    finally:
        for handle in handles:
            handle.remove()
        for name, p in parameters.items():
            p.grad = saved_grads[name]
        with torch.no_grad():
            for name, b in model.named_buffers():
                if name in saved_buffers:
                    b.copy_(saved_buffers[name])
    return calls, grads, buffers


def _row(name: str, kind: str, what: str, reference: torch.Tensor, candidate: torch.Tensor | None) -> Row:
    shape = tuple(reference.shape)
    if candidate is None:
        return Row(name, kind, what, shape, float("nan"), float("nan"), "missing in the candidate")
    if candidate.shape != reference.shape:
        return Row(
            name, kind, what, shape, float("nan"), float("nan"), f"candidate shape {tuple(candidate.shape)}"
        )
    if candidate.dtype != reference.dtype:
        what = f"{what} ({reference.dtype} vs {candidate.dtype})"
    if reference.numel() == 0:
        return Row(name, kind, what, shape, 0.0, 0.0, error=0.0)
    ref, cand = reference.detach().double(), candidate.detach().double()
    difference = torch.where((ref == cand) | (ref.isnan() & cand.isnan()), 0.0, (cand - ref).abs())
    max_abs = difference.max().item()
    scale = ref[ref.isfinite()].abs().max().item() if ref.isfinite().any() else 0.0
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    return Row(name, kind, what, shape, max_abs, max_rel, error=error(cand, ref), scale=scale)
