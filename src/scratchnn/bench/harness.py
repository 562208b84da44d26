"""Cases, their registry, and the two measurements: interleaved median times and peak memory.

Times (seconds per call) are medians over ``repeats`` samples; each sample runs one
implementation ``number`` times in a row (``number`` chosen from the warm-up so a sample lasts
at least ``min_time``), and the implementations take turns, in alternating order, so that
noise from other processes on the machine hits both alike. *fwd* runs under ``torch.no_grad()``
(inference); *f+b* runs the forward with gradients on and ``backward`` with a fixed random
output gradient, i.e. one training step of the op. Timing runs with the C allocator in its
steady state (:func:`steady_allocator`), whatever ran before.

Peak memory is measured in a fresh interpreter per (case, implementation): it imports, builds
the inputs, runs one warm-up step, returns freed memory to the OS (``malloc_trim``), resets the
kernel's resident high-water mark (``/proc/self/clear_refs``), then runs the step and reports
``VmHWM - VmRSS(before)``: the resident memory the step needed above what was already there
(inputs, output gradient and the imported libraries). On CUDA the same is read from the caching
allocator (``max_memory_allocated`` above ``memory_allocated``), in the benchmark's own process.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import pkgutil
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from .._contract import contraction

__all__ = [
    "FAMILIES",
    "TARGET_FAMILIES",
    "Case",
    "Result",
    "all_cases",
    "full_float32",
    "measure_memory",
    "register",
    "resolve",
    "select",
    "steady_allocator",
    "time_case",
]

# Families in report order; the Done-means targets (geomean ≤ 1.25, none > 2.0) cover TARGET_FAMILIES.
FAMILIES = ("conv", "conv_transpose", "linear", "pooling", "attention", "semiring")
TARGET_FAMILIES = ("conv", "conv_transpose", "linear", "pooling")


@dataclass(frozen=True)
class Case:
    """One benchmark: the same call made by scratchnn (``ours``) and by torch (``theirs``).

    ``make_inputs(device)`` returns the positional arguments (built anew for every process,
    after ``torch.manual_seed(0)``); ``kwargs`` are passed to both implementations. Floating
    tensors among the inputs get gradients in the f+b runs, unless ``grad`` lists the positions
    that should. ``ours`` is a callable or a dotted name resolved when the case runs.
    ``literal=False`` skips the literal form (for cases where it is not meaningful).
    """

    name: str
    family: str
    make_inputs: Callable[[torch.device], Sequence[Any]]
    ours: Callable[..., torch.Tensor] | str
    theirs: Callable[..., torch.Tensor]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    grad: tuple[int, ...] | None = None
    literal: bool = True


@dataclass
class Result:
    """What the harness measured for one case; absent entries were not measured.

    ``times`` (seconds per call): ``ours fwd``, ``theirs fwd``, ``ours f+b``, ``theirs f+b``,
    ``literal f+b``, ``compiled fwd``, ``compiled f+b``. ``memory`` (bytes above baseline, f+b):
    ``ours``, ``theirs``, ``literal``. ``status`` is ``"ok"``, ``"missing: …"`` or ``"error: …"``;
    ``notes`` say what else went wrong (a compile that failed, a memory run that did not finish).
    """

    case: Case
    times: dict[str, float] = field(default_factory=dict)
    memory: dict[str, float] = field(default_factory=dict)
    status: str = "ok"
    notes: list[str] = field(default_factory=list)

    def ratio(self, what: str = "f+b", impl: str = "ours") -> float | None:
        """Time ratio ``impl``/native for ``what`` (``"fwd"`` or ``"f+b"``)."""
        mine, native = self.times.get(f"{impl} {what}"), self.times.get(f"theirs {what}")
        return mine / native if mine is not None and native else None

    def memory_ratio(self, impl: str = "ours") -> float | None:
        """Peak-memory ratio ``impl``/native of the f+b step (native's peak floored at 1 MiB)."""
        mine, native = self.memory.get(impl), self.memory.get("theirs")
        if mine is None or native is None:
            return None
        return max(mine, 2**20) / max(native, 2**20)


_REGISTRY: dict[str, Case] = {}


def register(case: Case) -> Case:
    """Add ``case`` to the suite (names are unique); returns it, so it can decorate nothing else."""
    known = _REGISTRY.get(case.name)
    if known is not None and known != case:
        raise ValueError(f"bench: a different case named {case.name!r} is already registered")
    _REGISTRY[case.name] = case
    return case


def all_cases() -> list[Case]:
    """Every registered case, after importing each ``scratchnn.bench.cases*`` module; family order."""
    package = importlib.import_module(__package__ or "scratchnn.bench")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("cases"):
            importlib.import_module(f"{package.__name__}.{module.name}")
    order = {family: i for i, family in enumerate(FAMILIES)}
    return sorted(_REGISTRY.values(), key=lambda case: order.get(case.family, len(order)))


def select(
    cases: Iterable[Case], names: Sequence[str] | None = None, families: Sequence[str] | None = None
) -> list[Case]:
    """Cases whose name contains one of ``names`` (case-insensitive) and whose family is in ``families``."""
    chosen = []
    for case in cases:
        if names and not any(name.lower() in case.name.lower() for name in names):
            continue
        if families and case.family not in families:
            continue
        chosen.append(case)
    return chosen


def resolve(ours: Callable[..., Any] | str) -> Callable[..., Any]:
    """The callable behind a dotted name such as ``"scratchnn.functional.conv2d"``.

    >>> resolve("scratchnn.functional.conv2d").__name__
    'conv2d'
    """
    if callable(ours):
        return ours
    module_name, _, attribute = ours.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        raise LookupError(f"{ours} does not exist (yet)") from None


# ---------------------------------------------------------------------------------------------
# One process's view of a case: inputs, output gradient, and the step to run.


class _Prepared:
    def __init__(self, case: Case, device: torch.device) -> None:
        torch.manual_seed(0)
        self.inputs = list(case.make_inputs(device))
        positions = case.grad
        if positions is None:
            positions = tuple(
                i for i, x in enumerate(self.inputs) if isinstance(x, torch.Tensor) and x.is_floating_point()
            )
        self.leaves = [self.inputs[i].requires_grad_() for i in positions]
        self.kwargs = dict(case.kwargs)
        self.device = device
        shape, dtype = self._output_meta(case)
        generator = torch.Generator(device=device).manual_seed(1)
        self.grad_out = torch.randn(shape, dtype=dtype, device=device, generator=generator)

    def _output_meta(self, case: Case) -> tuple[torch.Size, torch.dtype]:
        meta = [x.detach().to("meta") if isinstance(x, torch.Tensor) else x for x in self.inputs]
        try:
            out = case.theirs(*meta, **self.kwargs)
        except Exception:  # no meta kernel: run it for real, once
            with torch.no_grad():
                out = case.theirs(*self.inputs, **self.kwargs)
        return out.shape, out.dtype

    def step(self, fn: Callable[..., torch.Tensor], backward: bool, form: str = "fast") -> Callable[[], None]:
        inputs, kwargs, grad_out, leaves = self.inputs, self.kwargs, self.grad_out, self.leaves

        def run() -> None:
            with contraction(form):
                if backward:
                    torch.autograd.backward(fn(*inputs, **kwargs), grad_out)
                    for leaf in leaves:
                        leaf.grad = None
                else:
                    with torch.no_grad():
                        fn(*inputs, **kwargs)

        return run


def full_float32(device: str | torch.device) -> None:
    """On CUDA, turn TF32 off for torch's convolutions and matrix products: both sides then
    compute in float32 (scratchnn's products, like torch's ``matmul`` by default, use no TF32)."""
    if torch.device(device).type == "cuda":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False


def _synchronizer(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def _interleaved(
    calls: Mapping[str, Callable[[], None]],
    repeats: int,
    warmup: int,
    min_time: float,
    sync: Callable[[], None],
) -> dict[str, float]:
    """Median seconds per call of each of ``calls``, sampled in turn (alternating order)."""
    number = dict.fromkeys(calls, 1)
    for name, call in calls.items():
        for _ in range(warmup):
            sync()
            start = time.perf_counter()
            call()
            sync()
            number[name] = max(1, round(min_time / max(time.perf_counter() - start, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(repeats):
            for name in names if r % 2 == 0 else reversed(names):
                sync()
                start = time.perf_counter()
                for _ in range(number[name]):
                    calls[name]()
                sync()
                samples[name].append((time.perf_counter() - start) / number[name])
    finally:
        if enabled:
            gc.enable()
    return {name: statistics.median(values) for name, values in samples.items()}


# glibc's mallopt parameters
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def steady_allocator() -> None:
    """Time in the allocator's steady state: glibc serves blocks under 32 MiB from its heap and
    keeps what is freed, as it does after the first steps of a training loop. Left to itself,
    glibc's thresholds follow the largest block the process has freed so far, so a case's native
    time depended on the cases before it (depthwise 3×3: 8 ms after a large case, 17–40 ms
    otherwise, each output page faulted in afresh). Peak memory is measured in fresh processes,
    with glibc's defaults."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
        libc.mallopt(_M_TRIM_THRESHOLD, 2**30)


def time_case(
    case: Case,
    device: str | torch.device = "cpu",
    *,
    repeats: int = 15,
    warmup: int = 2,
    min_time: float = 0.02,
    literal: bool = True,
    literal_repeats: int = 1,
    compile: bool = False,
) -> Result:
    """Time ``case``: ours against native, fwd and f+b, interleaved; the literal form and the
    ``torch.compile``-d scratch version (``fullgraph=True``) optionally, f+b against native."""
    device = torch.device(device)
    steady_allocator()
    result = Result(case)
    try:
        ours = resolve(case.ours)
    except LookupError as error:
        result.status = f"missing: {error}"
        return result
    try:
        prepared = _Prepared(case, device)
        sync = _synchronizer(device)
        for what, backward in (("fwd", False), ("f+b", True)):
            calls = {
                f"ours {what}": prepared.step(ours, backward),
                f"theirs {what}": prepared.step(case.theirs, backward),
            }
            result.times.update(_interleaved(calls, repeats, warmup, min_time, sync))
        if compile:
            try:
                torch._dynamo.reset()
                compiled = torch.compile(ours, fullgraph=True, dynamic=False)
                calls = {
                    "compiled fwd": prepared.step(compiled, False),
                    "compiled f+b": prepared.step(compiled, True),
                }
                result.times.update(_interleaved(calls, max(3, repeats // 2), max(warmup, 1), min_time, sync))
            except Exception as error:  # a graph break or a compiler failure: no compiled column
                result.notes.append(f"compile failed: {type(error).__name__}: {_first_line(error)}")
        if literal and case.literal:
            calls = {"literal f+b": prepared.step(ours, True, form="literal")}
            result.times.update(_interleaved(calls, literal_repeats, 0, 0.0, sync))
    except Exception as error:  # report and go on with the next case
        result.status = f"error: {type(error).__name__}: {_first_line(error)}"
    return result


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [""])[0]


# ---------------------------------------------------------------------------------------------
# Peak memory, in a fresh interpreter.

_CHILD = (
    "import sys; from scratchnn.bench.harness import _memory_child; sys.exit(_memory_child(sys.argv[1:]))"
)


def measure_memory(
    case: Case, impl: str, device: str | torch.device = "cpu", timeout: float = 1800
) -> tuple[float, float]:
    """Peak memory (bytes) of one f+b step of ``case`` by ``impl`` (``"ours"``, ``"theirs"`` or
    ``"literal"``) above the baseline of a process that holds the inputs, and the seconds that
    step took. The literal form gets no warm-up step (it is slow and allocates nothing lasting),
    so its single measured step gives its time too. On the CPU the step runs in a fresh
    interpreter (resident memory is per process); on CUDA it runs here, since the caching
    allocator's peak counts this step's allocations alone."""
    if impl not in ("ours", "theirs", "literal"):
        raise ValueError(f"bench: impl must be 'ours', 'theirs' or 'literal', got impl={impl!r}")
    if torch.device(device).type == "cuda":
        figures = _measure_step(case, impl, torch.device(device))
        return figures["f+b"], figures["seconds"]
    module = getattr(case.make_inputs, "__module__", "") or ""
    argv = [sys.executable, "-c", _CHILD, case.name, impl, str(device), module]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"bench: memory of {case.name!r} ({impl}) failed: {last}")
    figures = json.loads(lines[-1])
    return float(figures["f+b"]), float(figures["seconds"])


def _memory_child(argv: Sequence[str]) -> int:
    name, impl, device_name, module = argv
    if module and module not in ("__main__", "builtins"):
        importlib.import_module(module)  # a case registered outside the cases* modules
    cases = {case.name: case for case in all_cases()}
    print(json.dumps(_measure_step(cases[name], impl, torch.device(device_name))))
    return 0


def _measure_step(case: Case, impl: str, device: torch.device) -> dict[str, float]:
    fn = case.theirs if impl == "theirs" else resolve(case.ours)
    form = "literal" if impl == "literal" else "fast"
    prepared = _Prepared(case, device)
    step = prepared.step(fn, True, form)
    if impl != "literal":
        step()  # warm-up
    baseline = _reset_peak(device)
    sync = _synchronizer(device)
    start = time.perf_counter()
    step()
    sync()
    seconds = time.perf_counter() - start
    return {"f+b": float(_peak(device) - baseline), "seconds": seconds}


def _reset_peak(device: torch.device) -> int:
    """Forget the high-water mark; return the current usage (the baseline)."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # reset VmHWM to VmRSS (Linux ≥ 4.0)
        return _status_kib("VmRSS") * 1024
    except OSError:  # no reset: the baseline is the high-water mark so far (may under-count)
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _peak(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    try:
        return _status_kib("VmHWM") * 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _status_kib(field_name: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise OSError(f"{field_name} not in /proc/self/status")
