"""``scratchnn.explain``: any op call, derived step by step for the caller's own shapes.

``explain(op, *args, **kwargs)`` runs ``op`` (a ``scratchnn.functional`` op, its name, or a
module: ``explain(module, x)``) with the steps recorded as the implementation runs (see
``_trace.py``), runs torch's own op on the same arguments, and returns a :class:`Derivation`:

* every step: its einops pattern, contraction spec or torch call; the concrete shapes before → after;
* the legend letters bound to numbers (``b=8 c_in=64 kh=3 …``);
* the memory each step takes in the literal (broadcast-multiply-and-sum) form;
* the check against torch: the largest absolute error.

``str(derivation)`` is plain text, ``derivation.markdown()`` Markdown. The steps come from the
run itself, so they cannot drift from the implementation.

>>> import torch, scratchnn
>>> x, w = torch.randn(1, 3, 8, 8), torch.randn(4, 3, 3, 3)
>>> d = scratchnn.explain("conv2d", x, w, stride=2, padding=1)
>>> [step.kind for step in d.steps]
['pad', 'windows', 'rearrange', 'rearrange', 'contract', 'rearrange']
>>> d.steps[4].text, d.steps[4].output
('b g c_in h w kh kw, g c_out c_in kh kw -> b g c_out h w', (1, 1, 4, 4, 4))
>>> d.legend()
'b=1 g=1 c_in=3 h=4 w=4 kh=3 kw=3 c_out=4'
>>> d.check.ok
True
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as torch_F

from ._comparison import error, leaves, tensors_in, tolerance
from ._settings import current_settings, settings
from ._trace import Step, recording

__all__ = ["Check", "Derivation", "explain", "torch_reference", "torch_twin"]


@dataclass
class Check:
    """How the output compares with torch's own op on the same arguments."""

    reference: str  # "torch.nn.functional.conv2d", "torch.nn.Conv2d", or "" when there is none
    max_abs_error: float | None = None
    relative_error: float | None = None
    tolerance: float | None = None
    ok: bool | None = None  # None: nothing to compare with
    message: str = ""

    def __str__(self) -> str:
        if self.ok is None:
            return f"torch check: none ({self.message})"
        if self.max_abs_error is None:
            return f"torch check: {self.reference}: FAILED ({self.message})"
        verdict = "ok" if self.ok else "FAILED"
        detail = f"; {self.message}" if self.message else ""
        return (
            f"torch check: {self.reference}: max abs error {self.max_abs_error:.2e} "
            f"(relative {self.relative_error:.2e}, tolerance {self.tolerance:.0e}) {verdict}{detail}"
        )


@dataclass
class Derivation:
    """The recorded derivation of one call: its steps, its legend and its check against torch."""

    op: str
    call: str  # the call with its arguments' shapes
    steps: list[Step]
    outputs: list[tuple[tuple[int, ...], torch.dtype]]
    check: Check
    form: str  # the contraction form the call ran in
    result: Any = field(default=None, repr=False)

    def bindings(self) -> dict[str, list[int]]:
        """Every legend letter of the steps with the sizes it was bound to (usually one)."""
        merged: dict[str, list[int]] = {}
        ordered = [step for step in self.steps if step.kind == "contract"]  # the formula's letters first
        ordered += [step for step in self.steps if step.kind != "contract"]
        for step in ordered:
            for name, size in step.bindings.items():
                sizes = merged.setdefault(name, [])
                if size not in sizes:
                    sizes.append(size)
        return merged

    def legend(self) -> str:
        """``b=8 c_in=64 kh=3 …``; a letter bound to several sizes shows them all: ``n=3/5``."""
        return " ".join(f"{name}={'/'.join(map(str, sizes))}" for name, sizes in self.bindings().items())

    def literal_bytes(self) -> tuple[int, int]:
        """(largest single step, total over the steps) of the literal form's temporary memory."""
        sizes = [step.literal_bytes for step in self.steps]
        return max(sizes, default=0), sum(sizes)

    def _outputs_text(self) -> str:
        return (
            ", ".join(_shape_text(shape) + f" {_dtype_text(dtype)}" for shape, dtype in self.outputs)
            or "None"
        )

    def _memory_text(self) -> str:
        largest, total = self.literal_bytes()
        if not total:
            return "literal form: no temporary memory beyond views"
        where = next(i for i, step in enumerate(self.steps, 1) if step.literal_bytes == largest)
        return (
            f"literal form: {_bytes(largest)} in the largest step (step {where}, "
            f"{self.steps[where - 1].kind}), {_bytes(total)} over all steps"
        )

    def __str__(self) -> str:
        summary = f"{_plural(len(self.steps), 'step')}, contraction form: {self.form}"
        lines = [self.call, f"  → {self._outputs_text()}   ({summary})"]
        legend = self.legend()
        if legend:
            lines += ["", f"legend: {legend}"]
        lines.append("")
        if not self.steps:
            lines.append("  (no recorded steps: the op returned without computing anything)")
        width = max((len(step.kind) for step in self.steps), default=0)
        for number, step in enumerate(self.steps, 1):
            if step.kind == "module":
                lines.append(f"{number:>3}  ── {step.text}   {_shapes_text(step)}")
                continue
            lines.append(f"{number:>3}  {step.kind:<{width}}  {_step_text(step)}")
            details = [_shapes_text(step)]
            if step.bindings:
                details.append(" ".join(f"{k}={v}" for k, v in step.bindings.items()))
            details.append(f"{_bytes(step.literal_bytes)}" + (f" ({step.note})" if step.note else ""))
            if step.where:
                details.append(f"[{step.where}]")
            lines.append(" " * (7 + width) + "   ".join(details))
        lines += ["", self._memory_text(), str(self.check)]
        return "\n".join(lines)

    def markdown(self) -> str:
        """The derivation as Markdown: the call, the legend, a table of the steps, the check."""
        lines = [f"### `{self.op}`", "", f"`{self.call}` → `{self._outputs_text()}`", ""]
        lines.append(f"{_plural(len(self.steps), 'step')}, contraction form **{self.form}**.")
        legend = self.legend()
        if legend:
            lines += ["", f"Legend: `{legend}`"]
        lines += [
            "",
            "| # | step | pattern / operation | shapes | legend | literal memory | from |",
            "|--:|---|---|---|---|--:|---|",
        ]
        for number, step in enumerate(self.steps, 1):
            bindings = " ".join(f"{k}={v}" for k, v in step.bindings.items())
            memory = _bytes(step.literal_bytes) + (f" ({step.note})" if step.note else "")
            cells = [
                str(number),
                step.kind,
                f"`{_md(_step_text(step))}`",
                _md(_shapes_text(step)),
                f"`{bindings}`" if bindings else "",
                _md(memory),
                f"`{step.where}`" if step.where else "",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", self._memory_text() + ".", "", _md(str(self.check)) + "."]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:  # notebooks render the Markdown
        return self.markdown()


def explain(op: str | Callable[..., Any] | torch.nn.Module, /, *args: Any, **kwargs: Any) -> Derivation:
    """Run ``op(*args, **kwargs)`` with its steps recorded and check it against torch.

    ``op`` is a ``scratchnn.functional`` op or its name, or a module (``explain(module, x)``).
    The op runs in the literal form, whose steps are the formula (``contract`` multiplies and sums
    the window view), unless the call is inside ``with scratchnn.contraction(form):``, which
    chooses: ``contraction("fast")`` shows the fast form's schedule (a GEMM algorithm for conv).
    Modules are checked against their torch.nn twin: every ``scratchnn.nn`` layer in it replaced by
    the torch.nn layer of the same name, with the same state_dict. A module with torch.nn layers (a
    plain torch model) runs under ``scratchnn.mode()``: its layer calls run on scratch ops, whose
    steps are shown, and the check compares them with torch's own layers.

    >>> import torch, scratchnn
    >>> d = scratchnn.explain(scratchnn.nn.Linear(3, 2), torch.randn(5, 3))
    >>> print(d.check.reference, d.check.ok)
    torch.nn.Linear True
    """
    name, fn, module = _resolve(op)
    reference: Callable[..., Any] | None
    if module is not None:
        call = _module_call_text(module, args, kwargs)
        try:
            twin = torch_twin(module)
            twin_name = type(twin).__name__
            if type(twin).__module__.startswith("torch.nn"):
                reference_name = f"torch.nn.{twin_name}"
            else:  # the user's own module class, with torch.nn layers in place of scratchnn.nn ones
                reference_name = f"{twin_name} with torch.nn layers"
            reference, missing = twin, ""
        except (TypeError, ValueError, RuntimeError, AttributeError) as exc:
            reference, reference_name, missing = None, "", f"no torch.nn twin: {exc}"
    else:
        call = _call_text(name, fn, args, kwargs)
        reference, reference_name = torch_reference(name, fn)
        missing = (
            "" if reference is not None else f"torch has no op named {name!r} and no check case gives one"
        )
    snapshot = leaves((args, kwargs), False)  # torch's side gets the arguments as they were before our call
    rng_before = torch.random.get_rng_state()
    chosen = "form" in current_settings().chosen  # inside an explicit scratchnn.settings(form=...)
    handles = _module_markers(module) if module is not None else []
    routed = module is not None and _has_torch_layers(module)
    if routed:  # a torch model: its layer calls run on scratch ops, so their steps show
        call += "   (torch.nn layers run on scratch ops, under scratchnn.mode())"
    try:
        with settings(form=None if chosen else "literal"), recording(torch_calls=True) as steps:
            form = current_settings().form
            with _routing() if routed else contextlib.nullcontext():
                result = fn(*args, **kwargs)
    finally:
        for handle in handles:
            handle.remove()
    outputs = [(tuple(t.shape), t.dtype) for t in tensors_in(result)]
    if reference is None:
        check = Check("", ok=None, message=missing)
    else:
        rng_after = torch.random.get_rng_state()
        torch.random.set_rng_state(rng_before)  # random ops draw the same numbers on both sides
        try:
            check = _compare(reference_name, result, reference, *snapshot)
        finally:
            torch.random.set_rng_state(rng_after)
    return Derivation(name, call, list(steps), outputs, check, form, result)


# --- what to run, and what to compare with ------------------------------------------------------


def _has_torch_layers(module: torch.nn.Module) -> bool:
    """Whether a module (or one inside it) is a torch.nn layer rather than a scratchnn.nn twin."""
    containers = (torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict)
    return any(
        type(m).__module__.startswith("torch.nn") and not isinstance(m, containers) for m in module.modules()
    )


def _routing() -> Any:
    from .mode import mode

    return mode()


def _resolve(op: Any) -> tuple[str, Callable[..., Any], torch.nn.Module | None]:
    from . import functional

    if isinstance(op, torch.nn.Module):
        return type(op).__name__, op, op
    if isinstance(op, str):
        if op in functional.__all__:
            return op, getattr(functional, op), None
        raise ValueError(
            f"explain: unknown op {op!r}; scratchnn.functional has: {', '.join(sorted(functional.__all__))}"
        )
    if callable(op):
        name = getattr(op, "__name__", type(op).__name__)
        module_name = getattr(op, "__module__", "") or ""
        if not module_name.startswith("scratchnn") and name in functional.__all__:
            return name, getattr(functional, name), None  # torch's op given: explain our twin of it
        case = _case_of(op)
        return (case.op if case is not None else name), op, None
    raise TypeError(f"explain: op must be a scratchnn op, its name or a module, got {type(op).__name__}")


def torch_reference(name: str, fn: Callable[..., Any] | None = None) -> tuple[Callable[..., Any] | None, str]:
    """Torch's op of the same name (``torch.nn.functional.<name>``, ``torch.<name>``, …), else the
    reference of the op's check cases; ``(None, "")`` when there is neither.

    >>> torch_reference("conv2d")[1]
    'torch.nn.functional.conv2d'
    >>> torch_reference("bmm")[1]
    'torch.bmm'
    """
    from . import functional
    from .check import cases

    op = getattr(functional, name, None)
    case = _case_of(fn) if fn is not None and fn is not op else None
    if case is not None:  # a check case's adapter of the op: its own reference takes the same arguments
        return case.theirs, f"{_torch_op(case.op)[1] or 'torch'}, through the {case.op} check case"
    if fn is not None and fn is not op:
        return None, ""  # not one of our ops (a user's function): nothing of that name to compare with
    reference, label = _torch_op(name)
    if reference is not None:
        return reference, label
    plain = [case for case in cases().get(name, []) if case.ours is op]
    if plain:  # an op torch lacks (morphology, semiring convolutions): its check cases' reference
        theirs = plain[0].theirs
        target = getattr(theirs, "func", theirs)  # a functools.partial names its function
        module, qualname = getattr(target, "__module__", "") or "", getattr(target, "__qualname__", "")
        return theirs, f"the {name} check cases' reference ({module}.{qualname})"
    return None, ""


def _torch_op(name: str) -> tuple[Callable[..., Any] | None, str]:
    """``torch.nn.functional.<name>``, ``torch.<name>``, … whichever torch has, and its name."""
    for namespace, prefix in (
        (torch_F, "torch.nn.functional"),
        (torch, "torch"),
        (torch.special, "torch.special"),
        (torch.linalg, "torch.linalg"),
    ):
        candidate = getattr(namespace, name, None)
        if callable(candidate):
            return candidate, f"{prefix}.{name}"
    return None, ""


def _case_of(fn: Any) -> Any:
    """The check case whose ``ours`` is ``fn`` (an adapter that calls the op), if any."""
    from .check import cases

    for registered in cases().values():
        for case in registered:
            if case.ours is fn:
                return case
    return None


# Constructor arguments that torch.nn modules keep under another attribute name.
_ATTRIBUTE_ALIASES = {"bias": ("bias", "in_proj_bias"), "add_bias_kv": ("bias_k",)}


def torch_twin(module: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``module`` with every ``scratchnn.nn`` layer replaced by its torch.nn twin (same
    constructor arguments, same state_dict, same train/eval mode).

    >>> import scratchnn
    >>> torch_twin(scratchnn.nn.Conv2d(3, 4, 3, stride=2))
    Conv2d(3, 4, kernel_size=(3, 3), stride=(2, 2))
    """
    if _is_scratch_layer(module):
        return _twin_layer(module)
    twin = copy.deepcopy(module)
    _replace_layers(twin)
    return twin


def _is_scratch_layer(module: torch.nn.Module) -> bool:
    return type(module).__module__.startswith("scratchnn.nn")


def _replace_layers(module: torch.nn.Module) -> None:
    for name, child in list(module.named_children()):
        if _is_scratch_layer(child):
            setattr(module, name, _twin_layer(child))
        else:
            _replace_layers(child)


def _twin_layer(module: torch.nn.Module) -> torch.nn.Module:
    cls_name = type(module).__name__
    cls = getattr(torch.nn, cls_name, None)
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise TypeError(f"torch.nn has no module named {cls_name}")
    kwargs: dict[str, Any] = {}
    for param in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or param.name.startswith("_"):
            continue
        if param.name in ("device", "dtype"):
            continue
        for attribute in _ATTRIBUTE_ALIASES.get(param.name, (param.name,)):
            if hasattr(module, attribute):
                value = getattr(module, attribute)
                if isinstance(param.default, bool) and (value is None or isinstance(value, torch.Tensor)):
                    value = value is not None  # bias=True/False kept as a parameter or None
                kwargs[param.name] = value
                break
        else:
            if param.default is param.empty:
                raise TypeError(
                    f"cannot build torch.nn.{cls_name}: {cls_name} has no attribute {param.name!r}"
                )
    tensors = [*module.parameters(recurse=False), *module.buffers(recurse=False)]
    floating = [t for t in tensors if t.is_floating_point()]
    if floating:
        kwargs["dtype"] = floating[0].dtype
        kwargs["device"] = floating[0].device
    twin = cls(**kwargs)
    twin.load_state_dict(module.state_dict())
    return twin.train(module.training)


def _compare(
    reference_name: str, ours: Any, reference: Callable[..., Any], args: tuple, kwargs: dict
) -> Check:
    check = Check(reference_name)
    try:
        theirs = reference(*args, **kwargs)
    except Exception as exc:
        if reference_name.startswith("the "):  # a check case's reference covers some arguments only
            return Check(  # (a custom Semiring, say): there is no reference, which is not a failure
                reference_name,
                ok=None,
                message=f"no reference: {reference_name} does not take these arguments "
                f"({type(exc).__name__}: {exc})",
            )
        # torch refuses the call: the check fails and says why
        check.ok, check.message = False, f"torch raised {type(exc).__name__}: {exc}"
        return check
    ours_list, theirs_list = tensors_in(ours), tensors_in(theirs)
    if [(t.shape, t.dtype) for t in ours_list] != [(t.shape, t.dtype) for t in theirs_list]:
        shapes = (
            [(tuple(t.shape), t.dtype) for t in ours_list],
            [(tuple(t.shape), t.dtype) for t in theirs_list],
        )
        check.ok, check.message = False, f"outputs differ: ours {shapes[0]}, torch's {shapes[1]}"
        return check
    errors = [error(a, b) for a, b in zip(ours_list, theirs_list)]
    check.max_abs_error = max((_max_abs(a, b) for a, b in zip(ours_list, theirs_list)), default=0.0)
    check.relative_error = max(errors, default=0.0)
    check.tolerance = max(
        (tolerance(t.dtype) for t in theirs_list if t.is_floating_point() or t.is_complex()), default=0.0
    )
    check.ok = check.relative_error <= check.tolerance
    return check


# --- module markers ----------------------------------------------------------------------------


def _module_markers(module: torch.nn.Module) -> list[Any]:
    """Hooks that mark, among the steps, where each submodule's call begins."""
    from ._trace import _steps

    handles = []
    for name, child in module.named_modules():
        if child is module:
            continue

        def before(mod: torch.nn.Module, inputs: tuple, name: str = name) -> None:
            steps = _steps.get()
            if steps is not None:
                text = f"{name}: {_one_line(mod)}"
                steps.append(Step("module", text, [tuple(t.shape) for t in tensors_in(inputs)], ()))
                mod._scratchnn_marker = steps[-1]  # type: ignore[assignment]

        def after(mod: torch.nn.Module, inputs: tuple, output: Any) -> None:
            marker = mod.__dict__.pop("_scratchnn_marker", None)
            outputs = tensors_in(output)
            if marker is not None and outputs:
                marker.output = tuple(outputs[0].shape)

        handles.append(child.register_forward_pre_hook(before))
        handles.append(child.register_forward_hook(after))
    return handles


def _one_line(module: torch.nn.Module) -> str:
    extra = module.extra_repr()
    if not extra or "\n" in extra:
        return type(module).__name__
    return f"{type(module).__name__}({extra})"


# --- text helpers ------------------------------------------------------------------------------


def _max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a − b| (0 where both are NaN or equal infinities)."""
    if not a.numel():
        return 0.0
    wide = torch.complex128 if a.is_complex() else torch.float64
    a, b = a.detach().to(wide), b.detach().to(wide)
    same = (a == b) | (a.isnan() & b.isnan())
    return float(torch.where(same, 0.0, (a - b).abs()).nan_to_num(nan=math.inf).max())


def _step_text(step: Step) -> str:
    """The step's pattern, with runs of spaces collapsed (a spec built from parts may have them)."""
    return " ".join(step.text.split()) if step.kind in ("contract", "rearrange") else step.text


def _dtype_text(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _shapes_text(step: Step) -> str:
    inputs = ", ".join(_shape_text(shape) for shape in step.inputs)
    return f"{inputs or '()'} → {_shape_text(step.output)}"


def _value_text(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"{_shape_text(value.shape)} {_dtype_text(value.dtype)}"
    if isinstance(value, tuple | list) and any(isinstance(v, torch.Tensor) for v in value):
        inner = ", ".join(_value_text(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    return repr(value)


def _call_text(name: str, fn: Callable[..., Any], args: tuple, kwargs: dict) -> str:
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
        parts = []
        for param_name, value in bound.arguments.items():
            kind = bound.signature.parameters[param_name].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                parts += [_value_text(v) for v in value]
            elif kind is inspect.Parameter.VAR_KEYWORD:
                parts += [f"{k}={_value_text(v)}" for k, v in value.items()]
            elif isinstance(value, torch.Tensor):
                parts.append(f"{param_name} {_value_text(value)}")
            else:
                parts.append(f"{param_name}={_value_text(value)}")
    except (TypeError, ValueError):  # no signature, or arguments it does not take: show them as given
        parts = [_value_text(v) for v in args] + [f"{k}={_value_text(v)}" for k, v in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _module_call_text(module: torch.nn.Module, args: tuple, kwargs: dict) -> str:
    parts = [_value_text(v) for v in args] + [f"{k}={_value_text(v)}" for k, v in kwargs.items()]
    return f"{_one_line(module)}({', '.join(parts)})"


def _bytes(n: int) -> str:
    """``1.2 KiB``: bytes in binary units."""
    if n < 1024:
        return f"{n} B"
    exponent = min(int(math.log(n, 1024)), 4)
    return f"{n / 1024**exponent:.1f} {('KiB', 'MiB', 'GiB', 'TiB')[exponent - 1]}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _md(text: str) -> str:
    return text.replace("|", "\\|")
