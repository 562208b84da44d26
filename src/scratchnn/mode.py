"""``scratchnn.mode()``: run unchanged PyTorch code on scratch layers.

Inside the block, every call of a torch op that ``scratchnn.functional`` implements runs the
scratch version instead, whoever makes the call — your model's ``forward``, a model zoo's, or
torch.nn's own modules (``nn.Conv2d.forward`` calls ``F.conv2d``, which is routed)::

    with scratchnn.mode(strict=True) as m:
        loss = model(x).sum()
    loss.backward()
    print(m.report())

It is a :class:`torch.overrides.TorchFunctionMode`: torch hands it every call of a torch
function, ``torch.nn.functional`` function and ``Tensor`` method.

**What is routed.** The routing table is built from ``scratchnn.functional.__all__``, by name, so
an op is routed as soon as it is exported there. For an op ``name`` it holds

* ``torch.nn.functional.name`` (whose signature scratchnn copies),
* the twins torch has elsewhere, when their arguments map onto the scratch signature by name:
  ``torch.name``, ``Tensor.name``, ``torch._C._nn.name`` — ``torch.softmax``, ``Tensor.softmax``,
  ``torch.conv2d``, ``Tensor.matmul`` (``a @ b``), ``Tensor.__rmatmul__``, ``torch.batch_norm`` …
  (``self`` is read as ``input``, ``train`` as ``training``; hints like ``cudnn_enabled`` and
  ``_stacklevel`` are dropped),
* torch's recurrent ops ``torch.lstm``, ``torch.gru``, ``torch.rnn_tanh``, ``torch.rnn_relu`` and
  ``torch.lstm_cell`` (what ``torch.nn.LSTM`` & co. call through ``torch._VF``, which does go
  through ``__torch_function__``), by position: they return several tensors and ``torch.lstm``
  has two overloads (padded and packed) told apart by position, which the scratch twins read
  themselves (see :data:`POSITIONAL_TWINS`); the other cells bind by name as usual,
* the in-place spellings ``name_`` (``Tensor.relu_``, ``torch.sigmoid_``): with ``inplace=True``
  when the scratch op takes it, else by copying the scratch result into the input;
  ``F.name_with_indices`` with ``return_indices=True`` when the scratch op takes that.

A routed call whose arguments the scratch op cannot take (an ``out=`` tensor, ``torch.elu_``'s
``scale``) falls through to torch and is recorded as a fallback, with the reason.

**What is a fallback.** Only *layer-level* native calls count: every public function of
``torch.nn.functional`` (convolutions, pooling, norms, activations, softmax, attention, dropout,
embedding, interpolate, pad, losses …), their twins in ``torch``/``Tensor`` (``torch.conv2d``,
``Tensor.softmax``, ``torch.batch_norm``, ``Tensor.relu_`` …), the matrix-multiply family
(``matmul mm bmm mv addmm addbmm baddbmm addmv chain_matmul``), recurrent cells (``lstm gru
rnn_*``) and torch's fused kernels (``_transformer_encoder_layer_fwd``,
``_native_multi_head_attention``, ``_scaled_dot_product_*``, ``native_layer_norm``, ``cudnn_*`` …).
Everything else is a *primitive* — what scratch layers are built from: elementwise math, views
(including ``Tensor.unfold``, the sliding-window view), reductions, creation, indexing, ``cat`` —
and passes through, counted in ``m.passed``. ``torch.einsum`` is both: a user's call is routed to
``scratchnn.functional.einsum`` (``torch.einsum`` takes ``*args``, so it is bound as given), while
the contractions inside scratch ops call it as their primitive and pass through. Calls that scratchnn's own
implementations make (from ``scratchnn.functional``, ``scratchnn.nn`` and its private helpers)
are primitives by definition and pass through too: a scratch op never re-enters the mode (torch
also suspends a mode while its ``__torch_function__`` runs, so a routed op's inner calls are not
seen at all).

**Fast paths.** While the mode is active, ``torch.backends.mha`` fast paths are switched off
(restored on exit), so ``nn.TransformerEncoderLayer``, ``nn.TransformerEncoder`` and
``nn.MultiheadAttention`` take their Python path, whose layer calls are routed; fused SDPA
kernels sit behind ``F.scaled_dot_product_attention``, which is routed or reported like any op.
If a fused kernel is called anyway, it is a fallback — never a silent bypass.

>>> import torch, scratchnn
>>> conv = torch.nn.Conv2d(3, 4, 3)
>>> with scratchnn.mode(strict=True) as m:
...     y = torch.relu(conv(torch.randn(1, 3, 8, 8)) @ torch.randn(6, 2))
>>> m.routed["conv2d"], m.routed["matmul"], sum(m.fallback.values())
(1, 1, 0)
"""

from __future__ import annotations

import inspect
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from types import FrameType
from typing import Any

import torch
import torch.nn.functional as torch_F
from torch.overrides import TorchFunctionMode, resolve_name

__all__ = [
    "LAYER_NAMES",
    "NativeFallbackError",
    "Route",
    "ScratchMode",
    "is_layer_op",
    "mode",
    "native_name",
    "routing_table",
]

# Argument names of torch's native spellings, read as the scratch (torch.nn.functional) names.
RENAMED = {"self": "input", "train": "training"}
# Arguments that only steer torch's kernel choice (or its warnings): dropped when routing.
IGNORED = frozenset({"cudnn_enabled", "cudnn_enable", "_stacklevel"})

_F_HELPERS = frozenset(
    {
        "assert_int_or_pair",
        "boolean_dispatch",
        "handle_torch_function",
        "has_torch_function",
        "has_torch_function_unary",
        "has_torch_function_variadic",
    }
)
MATMUL_FAMILY = frozenset(
    {"matmul", "mm", "bmm", "mv", "addmm", "addbmm", "baddbmm", "addmv", "chain_matmul", "linear"}
)
_EXTRA_LAYERS = frozenset(
    {
        "convolution",
        "multi_head_attention",
        "transformer_encoder_layer_fwd",
        "masked_softmax",
        "feature_dropout",
        "feature_alpha_dropout",
        "lstm",
        "gru",
        "rnn_tanh",
        "rnn_relu",
        "lstm_cell",
        "gru_cell",
        "rnn_tanh_cell",
        "rnn_relu_cell",
        "constant_pad_nd",
    }
)
_LAYER_PREFIXES = (
    "scaled_dot_product",
    "fused_dropout",
    "fused_rms_norm",
    "cudnn_convolution",
    "cudnn_batch_norm",
    "cudnn_rnn",
    "cudnn_grid_sampler",
    "miopen_",
    "mkldnn_convolution",
    "mkldnn_linear",
    "mkldnn_max_pool",
    "mkldnn_adaptive_avg_pool",
    "mkldnn_rnn",
    "slow_conv",
    "thnn_conv",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_",
    "upsample_",
    "reflection_pad",
    "replication_pad",
    "max_pool",
    "avg_pool",
    "adaptive_",
    "fractional_max_pool",
    "max_unpool",
)


def _functional_names() -> frozenset[str]:
    names = set()
    for name in dir(torch_F):
        value = getattr(torch_F, name)
        if name.startswith("_") or name in _F_HELPERS or isinstance(value, type):
            continue
        if inspect.isfunction(value) or inspect.isbuiltin(value):
            names.add(name)
    return frozenset(names)


#: Base names of the native ops that count as layers (see the module docstring).
LAYER_NAMES: frozenset[str] = _functional_names() | MATMUL_FAMILY | _EXTRA_LAYERS

# Same name as a layer, but a different op: ``Tensor.unfold`` is the sliding-window *view*.
_PRIMITIVE_NAMESAKES = frozenset({"torch.Tensor.unfold"})


def _base_name(qualified: str) -> str:
    """``torch._native_multi_head_attention`` → ``multi_head_attention``; ``Tensor.relu_`` → ``relu``."""
    base = qualified.rsplit(".", 1)[-1].strip("_")
    base = base.removeprefix("native_")
    return base.removesuffix("_with_indices")


def is_layer_op(qualified: str) -> bool:
    """Whether a native op, named as :func:`torch.overrides.resolve_name` names it, is a layer.

    >>> is_layer_op("torch.nn.functional.cross_entropy"), is_layer_op("torch.Tensor.relu_")
    (True, True)
    >>> is_layer_op("torch._transformer_encoder_layer_fwd"), is_layer_op("torch.Tensor.unfold")
    (True, False)
    >>> is_layer_op("torch.einsum"), is_layer_op("torch.exp"), is_layer_op("torch.Tensor.add_")
    (False, False, False)
    """
    if qualified in _PRIMITIVE_NAMESAKES:
        return False
    base = _base_name(qualified)
    return base in LAYER_NAMES or base.startswith(_LAYER_PREFIXES)


def native_name(func: Any) -> str:
    """A native callable's qualified name (``torch.mm``, ``torch.Tensor.relu_``, ``torch.nn.functional.pad``).

    >>> native_name(torch.mm), native_name(torch.Tensor.softmax), native_name(torch.nn.functional.relu)
    ('torch.mm', 'torch.Tensor.softmax', 'torch.nn.functional.relu')
    """
    name = resolve_name(func)
    short = getattr(func, "__name__", None)
    if name is None:
        return f"{getattr(func, '__module__', None) or '?'}.{short or repr(func)}"
    if isinstance(short, str) and name.rsplit(".", 1)[-1] != short:  # torch.mm resolves to torch.spmm
        name = f"{name.rsplit('.', 1)[0]}.{short}"
    return name


class NativeFallbackError(RuntimeError):
    """Raised by ``scratchnn.mode(strict=True)`` when a layer-level op would run natively."""


class Unroutable(Exception):
    """A routed call whose arguments the scratch op cannot take; it falls through to torch."""


@dataclass(frozen=True)
class Route:
    """How one native callable is served by a scratch op."""

    op: str  # the scratch op's name in scratchnn.functional
    native: str  # the native callable's qualified name
    call: Callable[[tuple, dict], Any]


# ---------------------------------------------------------------------------------------------
# Signatures: the argument names of a native callable, in positional order.


@dataclass(frozen=True)
class _Signature:
    positional: tuple[str, ...]  # names that may be passed by position, in order
    names: frozenset[str]  # every name the callable takes
    required: frozenset[str]  # names without a default


def _python_signature(fn: Callable) -> _Signature | None:
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    kinds = inspect.Parameter
    if any(p.kind in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD) for p in parameters):
        return None
    positional = tuple(p.name for p in parameters if p.kind != kinds.KEYWORD_ONLY)
    required = frozenset(p.name for p in parameters if p.default is kinds.empty)
    return _Signature(positional, frozenset(p.name for p in parameters), required)


def _schema_signature(name: str) -> _Signature | None:
    """The argument names of ``aten::name`` (its Tensor overloads without ``out=``); ``None`` when
    it returns several tensors (``torch._C._nn.adaptive_max_pool2d`` returns the indices too)."""
    schemas = []
    for schema in torch._C._jit_get_schemas_for_operator(f"aten::{name}"):
        arguments = schema.arguments
        if not arguments or any(a.is_out for a in arguments) or str(arguments[0].type) != "Tensor":
            continue
        if len(schema.returns) != 1:
            return None
        schemas.append(arguments)
    if not schemas:
        return None
    longest = max(schemas, key=len)
    positional = tuple(a.name for a in longest if not a.kwarg_only)
    for arguments in schemas:  # overloads must agree on what each position means
        names = tuple(a.name for a in arguments if not a.kwarg_only)
        if positional[: len(names)] != names:
            return None
    # A name is required only where every overload requires it (mm's out_dtype is not).
    required = frozenset.intersection(
        *(frozenset(a.name for a in arguments if not a.has_default_value()) for arguments in schemas)
    )
    return _Signature(positional, frozenset(a.name for arguments in schemas for a in arguments), required)


def _native_signature(native: Callable) -> _Signature | None:
    if inspect.isfunction(native):
        dispatched = torch._jit_internal.boolean_dispatched.get(native)  # F.max_pool2d & co.
        if dispatched is not None:
            native = dispatched["if_true"]
        return _python_signature(native)
    return _schema_signature(native.__name__)  # F.logsigmoid is aten::log_sigmoid


def _renamed(signature: _Signature) -> _Signature:
    def rename(names):
        return type(names)(RENAMED.get(n, n) for n in names)

    return _Signature(rename(signature.positional), rename(signature.names), rename(signature.required))


def _binder(
    op: str,
    target: Callable,
    native: _Signature,
    fixed: dict[str, Any] | None = None,
    swap: bool = False,
    in_place: bool = False,
) -> Callable[[tuple, dict], Any] | None:
    """A call adapter from the native signature to the scratch one, matched by argument name;
    ``None`` when the two cannot agree (a required argument one side lacks).

    ``in_place``: the native op writes into its input and the scratch op has no ``inplace``
    argument, so the scratch result is copied in (computed from a copy of the input, which
    autograd may keep for the backward while the input itself is overwritten)."""
    scratch = _python_signature(target)
    if scratch is None:
        return None
    native = _renamed(native)
    if not (native.required - IGNORED) <= scratch.names or not scratch.required <= native.names:
        return None
    positional, accepted, fixed = native.positional, scratch.names, dict(fixed or {})

    def call(args: tuple, kwargs: dict) -> Any:
        if swap:  # Tensor.__rmatmul__(self, other) is other @ self
            args = tuple(reversed(args))
        if len(args) > len(positional):
            raise Unroutable(f"{len(args)} positional arguments")
        bound = dict(zip(positional, args))
        for key, value in kwargs.items():
            bound[RENAMED.get(key, key)] = value
        for key in IGNORED:
            bound.pop(key, None)
        refused = [key for key in bound if key not in accepted]
        if refused:
            raise Unroutable(f"scratchnn.functional.{op} takes no argument {', '.join(refused)}")
        bound.update(fixed)
        if in_place:
            written = bound["input"]
            bound["input"] = written.clone()
            return written.copy_(target(**bound))
        return target(**bound)

    return call


# ---------------------------------------------------------------------------------------------
# The routing table.

# torch's recurrent ops (what torch.nn.LSTM & co. call through torch._VF): they return several
# tensors and ``torch.lstm`` has two overloads told apart by position (``lstm(input, hx, params,
# …)`` and the packed ``lstm(data, batch_sizes, hx, params, …)``), so no binding by name fits.
# Their scratch twins take torch's positions as they are and tell the overloads apart themselves.
POSITIONAL_TWINS = frozenset({"lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell"})


def _call_positionally(target: Callable, args: tuple, kwargs: dict) -> Any:
    if kwargs:
        raise Unroutable(
            f"keyword arguments {', '.join(kwargs)} (torch's recurrent ops are called by position)"
        )
    return target(*args)


def routing_table() -> dict[Callable, Route]:
    """Native callable → :class:`Route`, for every op exported by ``scratchnn.functional``."""
    from . import functional

    return _routing_table(tuple((name, getattr(functional, name, None)) for name in functional.__all__))


@lru_cache(maxsize=8)
def _routing_table(exported: tuple[tuple[str, Any], ...]) -> dict[Callable, Route]:
    table: dict[Callable, Route] = {}
    owners = {
        "torch.nn.functional": torch_F,
        "torch": torch,
        "torch.Tensor": torch.Tensor,
        "torch._C._nn": torch._C._nn,
    }

    def add(spelled: str, op: str, target: Callable, signature: _Signature | None = None, **options: Any):
        owner, _, attribute = spelled.rpartition(".")
        native = getattr(owners[owner], attribute, None)
        if not callable(native) or native in table:
            return
        signature = signature or _native_signature(native)
        if signature is None:
            return
        call = _binder(op, target, signature, **options)
        if call is not None:
            table[native] = Route(op, spelled, call)

    for name, target in exported:
        if not callable(target):
            continue
        if name in POSITIONAL_TWINS:  # torch.lstm(...) & co.: the scratch op reads torch's positions
            native = getattr(torch, name)
            table[native] = Route(name, f"torch.{name}", partial(_call_positionally, target))
            continue
        scratch = _python_signature(target)
        takes = scratch.names if scratch else frozenset()
        for owner in owners:
            add(f"{owner}.{name}", name, target)
        for owner in owners:  # Tensor.relu_(), torch.sigmoid_() …
            if "inplace" in takes:
                add(f"{owner}.{name}_", name, target, fixed={"inplace": True})
            elif "input" in takes:
                add(f"{owner}.{name}_", name, target, in_place=True)
        if "return_indices" in takes:
            add(f"torch.nn.functional.{name}_with_indices", name, target, fixed={"return_indices": True})
        if name == "matmul":  # a @ b; b.__rmatmul__(a) when a is not a Tensor
            names = ("self", "other")
            operator = _Signature(names, frozenset(names), frozenset(names))
            add("torch.Tensor.__matmul__", name, target, operator)
            add("torch.Tensor.__rmatmul__", name, target, operator, swap=True)
        if name == "einsum" and torch.einsum not in table:  # einsum(*args): passed on as given
            table[torch.einsum] = Route(name, "torch.einsum", _variadic(name, target))
        if name == "grouped_mm":  # torch._grouped_mm(self, mat2, offs, bias, out_dtype), renamed
            spelled = ("mat_a", "mat_b", "offs", "bias", "out_dtype")
            signature = _Signature(spelled, frozenset(spelled), frozenset(spelled[:2]))
            add("torch._grouped_mm", name, target, signature)
    return table


def _variadic(op: str, target: Callable) -> Callable[[tuple, dict], Any]:
    """A call adapter for a native op that takes ``*args`` only (``torch.einsum``)."""

    def call(args: tuple, kwargs: dict) -> Any:
        if kwargs:
            raise Unroutable(f"scratchnn.functional.{op} takes no argument {', '.join(kwargs)}")
        return target(*args)

    return call


# ---------------------------------------------------------------------------------------------
# The mode.

# Files of torch's dispatch glue between a caller and the mode: skipped to find the real caller.
_GLUE_FILES = tuple(
    module.__file__
    for module in (torch.overrides, torch_F, torch._jit_internal, torch._tensor, torch.functional)
    if getattr(module, "__file__", None)
)
# Modules whose torch calls are scratchnn's own building blocks.
_INTERNAL = ("scratchnn.functional", "scratchnn.nn", "scratchnn.schedules", "scratchnn._")


def _called_from_scratchnn() -> bool:
    """Whether the op being dispatched was called by scratchnn's implementation code."""
    frame: FrameType | None = sys._getframe(2)  # skip this function and __torch_function__
    while frame is not None and frame.f_code.co_filename in _GLUE_FILES:
        frame = frame.f_back
    return frame is not None and str(frame.f_globals.get("__name__", "")).startswith(_INTERNAL)


class ScratchMode(TorchFunctionMode):
    """The mode returned by :func:`mode`. Counters, filled while it is active:

    * ``routed`` — scratch op name → calls served by scratchnn;
    * ``fallback`` — native layer op name → calls that ran natively (see ``reasons``);
    * ``passed`` — native primitive name → calls passed through (building blocks, not layers).
    """

    def __init__(self, strict: bool = False, allow: Iterable[str] = ()) -> None:
        super().__init__()
        if isinstance(allow, str):
            allow = (allow,)
        self.strict = strict
        self.allow = frozenset(allow)
        self.routed: Counter[str] = Counter()
        self.fallback: Counter[str] = Counter()
        self.passed: Counter[str] = Counter()
        self.reasons: dict[str, str] = {}
        self._table = routing_table()
        self._names: dict[Any, tuple[str, bool]] = {}
        self._saved_fastpath: list[bool] = []

    def __enter__(self) -> ScratchMode:
        self._table = routing_table()  # ops exported since the mode was made are routed too
        self._saved_fastpath.append(torch.backends.mha.get_fastpath_enabled())
        torch.backends.mha.set_fastpath_enabled(False)
        try:
            return super().__enter__()
        except BaseException:
            torch.backends.mha.set_fastpath_enabled(self._saved_fastpath.pop())
            raise

    def __exit__(self, *exc: Any) -> None:
        try:
            super().__exit__(*exc)
        finally:
            torch.backends.mha.set_fastpath_enabled(self._saved_fastpath.pop())

    def _classify(self, func: Any) -> tuple[str, bool]:
        try:
            known = self._names.get(func)
        except TypeError:  # unhashable callable
            known = None
        if known is None:
            name = native_name(func)
            known = (name, is_layer_op(name))
            try:
                self._names[func] = known
            except TypeError:
                pass
        return known

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        try:
            route = self._table.get(func)
        except TypeError:
            route = None
        if route is None:
            name, layer = self._classify(func)
            if not layer or _called_from_scratchnn():
                self.passed[name] += 1
                return func(*args, **kwargs)
            self._fall_back(name, "scratchnn.functional has no such op")
            return func(*args, **kwargs)
        if _called_from_scratchnn():
            self.passed[route.native] += 1
            return func(*args, **kwargs)
        try:
            out = route.call(args, kwargs)
        except Unroutable as reason:
            self._fall_back(route.native, str(reason))
            return func(*args, **kwargs)
        self.routed[route.op] += 1
        return out

    def _fall_back(self, name: str, reason: str) -> None:
        self.fallback[name] += 1
        self.reasons.setdefault(name, reason)
        if self.strict and name not in self.allow and _base_name(name) not in self.allow:
            raise NativeFallbackError(
                f"scratchnn.mode(strict=True): {name} would run natively ({reason}). "
                f"Pass allow=({_base_name(name)!r},) to let it through, or strict=False to record it."
            )

    def report(self) -> str:
        """What ran where, as text.

        >>> import torch, scratchnn
        >>> weight = torch.ones(2, 2, 1, 1, 1)
        >>> with scratchnn.mode() as m:  # slow_conv3d: one of torch's internal kernels, no twin
        ...     _ = torch._C._nn.slow_conv3d(torch.randn(1, 2, 3, 3, 3) @ torch.eye(3), weight, 1)
        >>> print(m.report())  # doctest: +NORMALIZE_WHITESPACE
        scratchnn.mode: 1 call routed to scratch ops, 1 native layer call
          routed    matmul ×1
          fallback  torch._C._nn.slow_conv3d ×1  (scratchnn.functional has no such op)
          passed    2 primitive calls (torch.eye, torch.randn)
        """
        routed, fallback = sum(self.routed.values()), sum(self.fallback.values())
        lines = [
            f"scratchnn.mode: {routed} call{'s' * (routed != 1)} routed to scratch ops, "
            f"{fallback} native layer call{'s' * (fallback != 1)}"
        ]
        if self.routed:
            lines.append("  routed    " + ", ".join(f"{op} ×{n}" for op, n in sorted(self.routed.items())))
        for name, count in sorted(self.fallback.items()):
            lines.append(f"  fallback  {name} ×{count}  ({self.reasons[name]})")
        passed = sum(self.passed.values())
        if passed:
            shown = sorted(self.passed)[:8]
            more = f", … {len(self.passed) - len(shown)} more" if len(self.passed) > len(shown) else ""
            plural = "s" * (passed != 1)
            lines.append(f"  passed    {passed} primitive call{plural} ({', '.join(shown)}{more})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"ScratchMode(strict={self.strict}, routed={sum(self.routed.values())}, "
            f"fallback={sum(self.fallback.values())})"
        )


def mode(strict: bool = False, *, allow: Iterable[str] = ()) -> ScratchMode:
    """Route torch's layer ops to scratchnn inside a ``with`` block (see the module docstring).

    ``strict=True`` raises :class:`NativeFallbackError` on the first layer op that would run
    natively; ``allow`` names ops (``"slow_conv3d"`` or a full name) exempt from that.

    >>> import torch, scratchnn
    >>> with scratchnn.mode(strict=True):  # doctest: +ELLIPSIS
    ...     torch._C._nn.slow_conv3d(torch.randn(1, 2, 3, 3, 3), torch.ones(2, 2, 1, 1, 1), 1)
    Traceback (most recent call last):
    scratchnn.mode.NativeFallbackError: scratchnn.mode(strict=True): torch._C._nn.slow_conv3d ...
    """
    return ScratchMode(strict=strict, allow=allow)
