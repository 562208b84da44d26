"""``scratchnn.convert(model)``: the same model, its torch.nn layers replaced by their scratch twins.

Every module whose class is a ``torch.nn`` class with a twin of the same name in
``scratchnn.nn`` becomes that twin; ``convert(model, to="torch")`` goes back. A module keeps
everything but its class — the very same parameter and buffer tensors (so ``state_dict()`` keys
and values, tied weights and an optimizer's references are unchanged), its training flag, its
hooks and every attribute — because the twins use torch.nn's attribute names. After the swap the
twin's ``extra_repr()`` must work (it reads the constructor's attributes); a module for which it
does not is put back and reported.

Beyond modules:

* attributes holding a ``torch.nn.functional`` function with a scratch twin (the ``activation``
  of ``nn.TransformerEncoderLayer`` is ``F.relu`` or ``F.gelu``) are pointed at the twin;
* the Transformer modules (``nn.TransformerEncoderLayer`` …) become scratchnn's, like every
  other module: their forward is torch's Python path, so no fused native kernel (torch's fast
  path in eval mode without gradients) ever runs the converted layers' weights.

The report lists what was converted and what was left native: torch.nn modules without a twin
that compute something themselves (own parameters or buffers, or no children), and user
subclasses of torch.nn classes (their ``forward`` may differ from the twin's). Containers
(``Sequential``, ``ModuleList`` …) and your own modules are walked, not reported; functional calls
inside your own ``forward`` (``F.relu(x)``) are not touched — run the model under
:func:`scratchnn.mode` for those.

>>> import torch, scratchnn
>>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Linear(6, 2))  # Linear on the last dim
>>> scratch_model, report = scratchnn.convert(model)
>>> print(report)
convert to scratch: 2 modules converted, 0 left native
  0  Conv2d → scratchnn.nn.Conv2d
  1  Linear → scratchnn.nn.Linear
>>> scratch_model.state_dict().keys() == model.state_dict().keys()
True
>>> back, _ = scratchnn.convert(scratch_model, to="torch")
>>> type(back[0]) is torch.nn.Conv2d
True
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch.nn.functional as torch_F
from torch import nn

__all__ = ["ConvertReport", "convert"]

DIRECTIONS = ("scratch", "torch")
# Modules that only hold or reshape others: walked, never reported.
STRUCTURAL = (
    nn.Sequential,
    nn.ModuleList,
    nn.ModuleDict,
    nn.ParameterList,
    nn.ParameterDict,
    nn.Identity,
    nn.Flatten,
    nn.Unflatten,
)
# torch.nn classes not exported under their own name, served by the twin of their base.
ALIASES = {"NonDynamicallyQuantizableLinear": "Linear"}


@dataclass
class ConvertReport:
    """What :func:`convert` did. Rows are ``(module path, from, to or reason)``."""

    to: str
    converted: list[tuple[str, str, str]] = field(default_factory=list)
    functions: list[tuple[str, str, str]] = field(default_factory=list)
    native: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing was left native."""
        return not self.native

    def __str__(self) -> str:
        n, left = len(self.converted), len(self.native)
        lines = [f"convert to {self.to}: {n} module{'s' * (n != 1)} converted, {left} left native"]
        rows = [*self.converted, *self.functions]
        width = max((len(path or "(model)") for path, _, _ in [*rows, *self.native]), default=0)
        lines += [f"  {path or '(model)':<{width}}  {old} → {new}" for path, old, new in rows]
        lines += [
            f"  {path or '(model)':<{width}}  {cls} left native: {why}" for path, cls, why in self.native
        ]
        return "\n".join(lines)


def convert(
    model: nn.Module, inplace: bool = False, *, to: str = "scratch"
) -> tuple[nn.Module, ConvertReport]:
    """Swap ``model``'s torch.nn layers for scratch twins (``to="scratch"``) or back (``to="torch"``).

    Returns the converted model (``model`` itself when ``inplace``, else a deep copy) and a
    :class:`ConvertReport`.
    """
    if to not in DIRECTIONS:
        raise ValueError(f"convert: to must be one of {DIRECTIONS}, got to={to!r}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"convert: model must be a torch.nn.Module, got {type(model).__name__}")
    if not inplace:
        model = copy.deepcopy(model)
    report = ConvertReport(to)
    for path, module in list(model.named_modules(remove_duplicate=True)):
        _convert_functions(path, module, to, report)
        old = type(module)
        new = _target_class(module, to)
        if new is None:
            why = _why_native(module) if to == "scratch" else None
            if why:
                report.native.append((path, old.__name__, why))
            continue
        module.__class__ = new
        try:
            module.extra_repr()
        except AttributeError as error:
            module.__class__ = old
            why = f"its attributes do not fit {_qualified(new)} ({error})"
            report.native.append((path, old.__name__, why))
            continue
        if old.__name__ in ALIASES:  # remembered, so that converting back restores it
            module._scratchnn_torch_class = old
        elif to == "torch":
            vars(module).pop("_scratchnn_torch_class", None)
        report.converted.append((path, old.__name__, _qualified(new)))
    return model, report


def _qualified(cls: type) -> str:
    module = cls.__module__
    if module.startswith("scratchnn.nn"):
        module = "scratchnn.nn"
    elif module.startswith("torch.nn.modules"):
        module = "torch.nn"
    return f"{module}.{cls.__name__}"


def _scratch_nn() -> Any:
    from . import nn as scratch_nn

    return scratch_nn


def _is_torch_class(cls: type) -> bool:
    return cls.__module__.startswith("torch.nn.modules")


def _target_class(module: nn.Module, to: str) -> type[nn.Module] | None:
    """The class ``module`` becomes, or ``None`` when it stays as it is."""
    cls, scratch_nn = type(module), _scratch_nn()
    if to == "scratch":
        if not _is_torch_class(cls):
            return None
        name = ALIASES.get(cls.__name__, cls.__name__)
        if name not in getattr(scratch_nn, "__all__", ()):
            return None
        if cls is not getattr(nn, name, None) and cls.__name__ not in ALIASES:
            return None
        return getattr(scratch_nn, name)
    if not cls.__module__.startswith("scratchnn.nn") or cls is not getattr(scratch_nn, cls.__name__, None):
        return None
    return vars(module).get("_scratchnn_torch_class") or getattr(nn, cls.__name__, None)


def _why_native(module: nn.Module) -> str | None:
    """Why a module that :func:`_target_class` keeps is worth reporting (``None``: it is not)."""
    cls = type(module)
    if isinstance(module, STRUCTURAL) and _is_torch_class(cls):
        return None
    twin_names = set(getattr(_scratch_nn(), "__all__", ()))
    if not _is_torch_class(cls):
        bases = [base for base in cls.__mro__[1:] if _is_torch_class(base) and base.__name__ in twin_names]
        if bases:
            return f"a subclass of torch.nn.{bases[0].__name__}; its forward may differ from the twin's"
        return None
    computes = (
        next(module.parameters(recurse=False), None) is not None
        or next(module.buffers(recurse=False), None) is not None
        or next(module.children(), None) is None
    )
    return "scratchnn.nn has no twin" if computes else None


def _convert_functions(path: str, module: nn.Module, to: str, report: ConvertReport) -> None:
    """Point attributes that hold a functional (``activation = F.relu``) at its twin."""
    from . import functional as scratch_F

    source, target = (torch_F, scratch_F) if to == "scratch" else (scratch_F, torch_F)
    exported = set(getattr(scratch_F, "__all__", ()))
    for attribute, value in list(vars(module).items()):
        name = getattr(value, "__name__", None)
        if not callable(value) or not isinstance(name, str) or name not in exported:
            continue
        if getattr(source, name, None) is not value:
            continue
        twin = getattr(target, name, None)
        if twin is not None:
            setattr(module, attribute, twin)
            where = f"{path}.{attribute}" if path else attribute
            report.functions.append((where, f"{source.__name__}.{name}", f"{target.__name__}.{name}"))
