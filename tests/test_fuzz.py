"""Differential fuzzing: every op and module against torch, on arguments around the valid region.

Each example starts from a valid call — a check case of the op (``scratchnn check``'s own cases,
so every op with cases is fuzzed, new ones included) or a module's compile case — and applies one
mutation: none; a tensor given as a list; another dtype (integer, bool, complex, half); a dim
emptied, cut to 1, dropped or added; NaN or ±inf in a tensor; a number argument made negative,
zero, NaN, inf or huge; a channels-last or non-contiguous input. Both sides run on private copies
of the arguments, after the same seed. Then:

* torch raises ⇔ scratchnn raises, with the same exception class, and scratchnn's message starts
  with the op's name;
* when both return: the same number of tensors, shapes, dtypes, memory format (contiguous /
  channels last), and equal values (``_comparison.mismatch`` at the dtype's tolerance: NaN where
  torch has NaN, the same infinities);
* a module call that raises leaves the module's buffers and parameters as they were.

``HYPOTHESIS_PROFILE``'s example count is per op; the slow profile (``-m slow``) draws 10× more.
Cases where torch disagrees with itself are listed in ``DELIBERATE`` with the reason (and in the
README's "Deliberate differences from torch").
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import torch
import torch.nn.functional as torch_F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scratchnn.functional as F
import scratchnn.nn as snn
from scratchnn._comparison import leaves, mismatch, tensors_in, tolerance
from scratchnn.check import cases
from test_compile import MODULES

STATS = os.environ.get("FUZZ_STATS")  # a file to append one line per example to (the note's figures)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))  # per op and module; the slow run draws 10× as many

MUTATIONS = (
    "none",
    "list",
    "dtype",
    "empty dim",
    "size-1 dim",
    "drop dim",
    "add dim",
    "nan/inf",
    "number",
    "channels last",
    "non-contiguous",
    "transposed layout",
)
DTYPES = (torch.int64, torch.int32, torch.bool, torch.complex64, torch.float16, torch.float32, torch.uint8)
NUMBERS = (-1, 0, -2.5, math.nan, math.inf, -math.inf, 100)


# ---------------------------------------------------------------------------------------------
# The valid starting points


@dataclass(frozen=True)
class Start:
    name: str  # the op or module, as messages name it
    ours: Callable
    theirs: Callable
    make: Callable[[], tuple[tuple, dict]]


def _torch_twin(name: str) -> Callable | None:
    for namespace in (torch_F, torch):
        if hasattr(namespace, name):
            return getattr(namespace, name)
    return None


def _functional_starts() -> dict[str, list[Start]]:
    """The check cases whose ``ours`` is the exported op itself and whose reference is torch's."""
    starts: dict[str, list[Start]] = {}
    for op, registered in cases().items():
        if op not in F.__all__ or _torch_twin(op) is None:
            continue  # scratch-only ops (semirings, morphology, N-d shuffles): no torch to differ from
        for index, case in enumerate(registered):
            if case.ours is not getattr(F, op):
                continue  # adapters (normalized_shape built from the input, …): not the op's own signature

            def make(case=case, index=index) -> tuple[tuple, dict]:
                return case.make(torch.Generator().manual_seed(index))

            starts.setdefault(op, []).append(Start(op, case.ours, _torch_twin(op), make))
    return starts


def _randn(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(sum(shape)), dtype=torch.float64)


# Ops whose check cases go through adapters: valid calls of the op's own signature.
OWN_CALLS: dict[str, list[Callable[[], tuple[tuple, dict]]]] = {
    "batch_norm": [
        lambda: ((_randn(4, 3, 5), _randn(3), _randn(3).abs(), _randn(3), _randn(3)), {"training": True}),
        lambda: ((_randn(2, 3, 4, 4), _randn(3), _randn(3).abs()), {"training": False, "eps": 1e-3}),
    ],
    "instance_norm": [
        lambda: ((_randn(2, 3, 6),), {}),
        lambda: ((_randn(2, 3, 4, 4), None, None, _randn(3)), {}),
    ],
    "group_norm": [lambda: ((_randn(2, 6, 5), 3, _randn(6), _randn(6)), {})],
    "layer_norm": [
        lambda: ((_randn(2, 3, 4), (3, 4), _randn(3, 4), _randn(3, 4)), {}),
        lambda: ((_randn(5, 4), [4]), {}),
    ],
    "rms_norm": [
        lambda: ((_randn(2, 3, 4), (4,), _randn(4)), {}),
        lambda: ((_randn(3, 4), [4]), {"eps": 1e-3}),
    ],
    "local_response_norm": [
        lambda: ((_randn(2, 6, 5, 5), 3), {}),
        lambda: ((_randn(2, 4, 7), 2), {"k": 2.0}),
    ],
    "normalize": [lambda: ((_randn(3, 4),), {}), lambda: ((_randn(2, 3, 4),), {"p": 1.0, "dim": -1})],
    "dropout2d": [
        lambda: ((_randn(2, 3, 4, 4), 0.5), {}),
        lambda: ((_randn(3, 4, 4), 0.3), {"training": False}),
    ],
    "dropout3d": [lambda: ((_randn(2, 3, 2, 4, 4), 0.5), {})],
    "soft_margin_loss": [
        lambda: ((_randn(3, 4), _randn(4, 3).T.sign()), {}),
        lambda: ((_randn(5), _randn(5).sign()), {}),
    ],
    # in place: each side gets its own copy of the arguments
    **{name: [lambda: ((_randn(2, 3, 4),), {})] for name in ("relu_", "elu_", "celu_", "selu_")},
    "leaky_relu_": [lambda: ((_randn(2, 3, 4), 0.2), {})],
    "hardtanh_": [lambda: ((_randn(2, 3, 4), -0.5, 0.5), {})],
    "threshold_": [lambda: ((_randn(2, 3, 4), 0.1, -2.0), {})],
    "rrelu_": [lambda: ((_randn(2, 3, 4),), {"lower": 0.2, "upper": 0.6})],
    "upsample": [
        lambda: ((_randn(2, 3, 4, 5),), {"scale_factor": 2, "mode": "bilinear", "align_corners": False}),
        lambda: ((_randn(2, 3, 5), 8), {}),
    ],
    "upsample_bilinear": [lambda: ((_randn(2, 3, 4, 5),), {"scale_factor": 2})],
    "upsample_nearest": [lambda: ((_randn(2, 3, 4, 5), (7, 9)), {})],
    "grouped_mm": [  # float32 (torch's CPU kernel has no float64); offsets that cover every row
        lambda: (
            (_randn(10, 8).float(), _randn(3, 8, 4).float()),
            {"offs": torch.tensor([2, 6, 10], dtype=torch.int32)},
        ),
        lambda: ((_randn(3, 4, 8).float(), _randn(3, 8, 4).float()), {}),
    ],
}


def _all_starts() -> dict[str, list[Start]]:
    starts = _functional_starts()
    for op, calls in OWN_CALLS.items():
        starts.setdefault(op, []).extend(Start(op, getattr(F, op), _torch_twin(op), call) for call in calls)
    return starts


FUNCTIONAL_STARTS = _all_starts()


def _module_start(case: str) -> Start | None:
    made = MODULES[case]()
    ours, theirs = made[0], made[1]
    if theirs is None:
        return None
    inputs, kwargs = made[2], (made[3] if len(made) > 3 else {})
    training = not case.endswith("-eval")
    ours.train(training), theirs.train(training)
    return Start(case, ours, theirs, lambda: (tuple(inputs), dict(kwargs)))


# ---------------------------------------------------------------------------------------------
# Mutations


def _tensor_slots(args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
    slots: list[tuple[str, Any]] = [("arg", i) for i, a in enumerate(args) if isinstance(a, torch.Tensor)]
    return slots + [("kwarg", k) for k, v in kwargs.items() if isinstance(v, torch.Tensor)]


def _number_slots(args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    slots: list[tuple[str, Any]] = [("arg", i) for i, a in enumerate(args) if number(a)]
    return slots + [("kwarg", k) for k, v in kwargs.items() if number(v)]


def _get(args: tuple, kwargs: dict, slot: tuple[str, Any]) -> Any:
    return args[slot[1]] if slot[0] == "arg" else kwargs[slot[1]]


def _set(args: tuple, kwargs: dict, slot: tuple[str, Any], value: Any) -> tuple[tuple, dict]:
    if slot[0] == "arg":
        return (*args[: slot[1]], value, *args[slot[1] + 1 :]), kwargs
    return args, {**kwargs, slot[1]: value}


def mutate(data: st.DataObject, mutation: str, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """One mutation of a valid call; an inapplicable one returns the call unchanged."""
    if mutation == "number":
        slots = _number_slots(args, kwargs)
        if not slots:
            return args, kwargs
        slot = data.draw(st.sampled_from(slots), label="number slot")
        value = data.draw(st.sampled_from(NUMBERS), label="number")
        if isinstance(_get(args, kwargs, slot), int) and isinstance(value, float) and math.isfinite(value):
            value = int(value)
        return _set(args, kwargs, slot, value)
    slots = _tensor_slots(args, kwargs)
    if mutation == "none" or not slots:
        return args, kwargs
    slot = data.draw(st.sampled_from(slots), label="tensor slot")
    tensor: torch.Tensor = _get(args, kwargs, slot)
    if mutation == "list":
        return _set(args, kwargs, slot, tensor.tolist())
    if mutation == "dtype":
        dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
        return _set(args, kwargs, slot, tensor.to(dtype))
    if mutation in ("empty dim", "size-1 dim", "drop dim") and tensor.ndim == 0:
        return args, kwargs
    if mutation in ("empty dim", "size-1 dim"):
        dim = data.draw(st.integers(0, tensor.ndim - 1), label="dim")
        return _set(
            args, kwargs, slot, tensor.narrow(dim, 0, min(tensor.shape[dim], int(mutation != "empty dim")))
        )
    if mutation == "drop dim":
        return _set(args, kwargs, slot, tensor.select(0, 0) if tensor.shape[0] else tensor.sum(0))
    if mutation == "add dim":
        return _set(args, kwargs, slot, tensor.unsqueeze(0))
    if mutation == "nan/inf":
        if not tensor.is_floating_point() or tensor.numel() == 0:
            return args, kwargs
        value = data.draw(st.sampled_from([math.nan, math.inf, -math.inf]), label="special")
        position = data.draw(st.integers(0, tensor.numel() - 1), label="position")
        changed = tensor.clone()
        changed[tuple(int(i) for i in torch.unravel_index(torch.tensor(position), tensor.shape))] = value
        return _set(args, kwargs, slot, changed)
    if mutation == "channels last":
        formats = {4: torch.channels_last, 5: torch.channels_last_3d}
        if tensor.ndim not in formats:
            return args, kwargs
        return _set(args, kwargs, slot, tensor.contiguous(memory_format=formats[tensor.ndim]))
    if mutation == "transposed layout":  # the same values, stored last dims first (column-major)
        if tensor.ndim < 2:
            return args, kwargs
        return _set(
            args,
            kwargs,
            slot,
            tensor.permute(*reversed(range(tensor.ndim))).contiguous().permute(*reversed(range(tensor.ndim))),
        )
    if mutation == "non-contiguous":
        if tensor.ndim == 0:
            return args, kwargs
        wide = torch.stack([tensor, tensor], dim=-1)  # every other element of a wider tensor
        return _set(args, kwargs, slot, wide[..., 0])
    raise AssertionError(mutation)


# ---------------------------------------------------------------------------------------------
# Running both sides and comparing


def _outcome(fn: Callable, args: tuple, kwargs: dict) -> tuple[Any, BaseException | None]:
    call_args, call_kwargs = leaves(args, grad=False), leaves(kwargs, grad=False)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*call_args, **call_kwargs), None
        except Exception as error:
            return None, error


def _memory_format(t: torch.Tensor) -> str:
    if t.ndim == 4 and not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last):
        return "channels_last"
    if t.ndim == 5 and not t.is_contiguous() and t.is_contiguous(memory_format=torch.channels_last_3d):
        return "channels_last_3d"
    return "contiguous" if t.is_contiguous() else "strided"


def _describe(args: tuple, kwargs: dict) -> str:
    def one(value: Any) -> str:
        if isinstance(value, torch.Tensor):
            dtype = str(value.dtype).removeprefix("torch.")
            return f"tensor{tuple(value.shape)}:{dtype}:{_memory_format(value)}"
        if isinstance(value, list):
            return f"list(len {len(value)})"
        return repr(value)

    return ", ".join([*(one(a) for a in args), *(f"{k}={one(v)}" for k, v in kwargs.items())])


def divergence(start: Start, args: tuple, kwargs: dict) -> str | None:
    """Why scratchnn and torch disagree on this call, or None."""
    return _judge(start, args, kwargs)[0]


def _judge(start: Start, args: tuple, kwargs: dict) -> tuple[str | None, BaseException | None, bool]:
    """(the divergence or None, scratchnn's error, whether torch raised): each side runs once."""
    theirs, their_error = _outcome(start.theirs, args, kwargs)
    ours, our_error = _outcome(start.ours, args, kwargs)
    return (
        _disagreement(start, args, kwargs, ours, our_error, theirs, their_error),
        our_error,
        their_error is not None,
    )


def _disagreement(
    start: Start,
    args: tuple,
    kwargs: dict,
    ours: Any,
    our_error: BaseException | None,
    theirs: Any,
    their_error: BaseException | None,
) -> str | None:
    call = f"{start.name}({_describe(args, kwargs)})"
    if their_error is not None and our_error is None:
        return f"{call}: torch raises {type(their_error).__name__}({their_error}), scratchnn returns"
    if their_error is None and our_error is not None:
        return f"{call}: torch returns, scratchnn raises {type(our_error).__name__}({our_error})"
    if their_error is not None and our_error is not None:
        if type(their_error) is AttributeError and type(our_error) is TypeError:
            return None  # torch's Python wrapper calls a method on a non-tensor; scratchnn names the argument
        if type(our_error) is not type(their_error):
            return (
                f"{call}: torch raises {type(their_error).__name__}({their_error}), "
                f"scratchnn {type(our_error).__name__}({our_error})"
            )
        op = start.name.split("-", 1)[0]
        if not str(our_error).startswith(op) and not isinstance(start.ours, torch.nn.Module):
            return f"{call}: the message does not start with {op!r}: {our_error}"
        return None
    out_ours, out_theirs = tensors_in(ours), tensors_in(theirs)
    layout = [(tuple(t.shape), t.dtype) for t in out_ours], [(tuple(t.shape), t.dtype) for t in out_theirs]
    if layout[0] != layout[1]:
        return f"{call}: outputs differ: scratchnn {layout[0]}, torch {layout[1]}"
    for index, (a, b) in enumerate(zip(out_ours, out_theirs)):
        if _memory_format(a) != _memory_format(b) and _memory_format(b) != "strided":
            return f"{call}: output {index} is {_memory_format(a)}, torch's {_memory_format(b)}"
        if b.is_floating_point() or b.is_complex():
            # the least precise floating input bounds the agreement (torch computes some steps in it)
            bound = max([tolerance(b.dtype)] + [tolerance(t.dtype) for t in tensors_in([args, kwargs])])
            worst, where = mismatch(a, b, bound, bound)
            if worst > 1:
                return f"{call}: output {index} differs at {where}: {a.flatten()[:4]} vs {b.flatten()[:4]}"
        elif not torch.equal(a, b):
            return f"{call}: output {index} (integer) differs"
    return None


def _state(module: Any) -> dict[str, torch.Tensor]:
    if not isinstance(module, torch.nn.Module):
        return {}
    return {name: t.detach().clone() for name, t in module.state_dict().items()}


def _unchanged(before: dict[str, torch.Tensor], module: Any) -> str | None:
    after = _state(module)
    for name, value in before.items():
        if not torch.equal(value, after[name]) and not (value.isnan() == after[name].isnan()).all():
            return f"{name} changed"
        if not torch.equal(value.nan_to_num(), after[name].nan_to_num()):
            return f"{name} changed"
    return None


# ---------------------------------------------------------------------------------------------
# Where torch disagrees with itself: scratchnn follows torch's reference (math) path.


def _first_tensor_is(layout: torch.memory_format, ndim: int) -> Callable[[tuple, dict], bool]:
    def applies(args: tuple, kwargs: dict) -> bool:
        tensors = tensors_in([args, kwargs])
        return (
            bool(tensors)
            and tensors[0].ndim == ndim
            and not tensors[0].is_contiguous()
            and (tensors[0].is_contiguous(memory_format=layout))
        )

    return applies


def _has_positive_inf(args: tuple, kwargs: dict) -> bool:
    return any(bool((t == math.inf).any()) for t in tensors_in([args, kwargs]) if t.is_floating_point())


def _first_tensor_empty(args: tuple, kwargs: dict) -> bool:
    tensors = tensors_in([args, kwargs])
    return bool(tensors) and tensors[0].numel() == 0


def _nan_argument(args: tuple, kwargs: dict) -> bool:
    return any(isinstance(v, float) and math.isnan(v) for v in [*args, *kwargs.values()])


# op -> [(when, why)]: where torch disagrees with itself or with the formula; README lists them.
Deliberate = list[tuple[Callable[[tuple, dict], bool], str]]  # [(when, why)]
DELIBERATE: dict[str, Deliberate] = {}


def deliberate(ops: tuple[str, ...], when: Callable[[tuple, dict], bool], why: str) -> None:
    for op in ops:
        DELIBERATE.setdefault(op, []).append((when, why))


deliberate(
    ("gelu", "GELU"), _has_positive_inf, "gelu(+inf) is +inf, the formula's limit; torch's kernel: NaN"
)
deliberate(
    ("instance_norm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"),
    _first_tensor_empty,
    "an empty batch gives an empty result; torch: IndexError",
)
deliberate(
    ("pixel_unshuffle", "PixelUnshuffle"),
    _first_tensor_empty,
    "an empty input gives the unshuffled shape; torch returns the input's shape",
)
deliberate(
    ("max_unpool1d", "max_unpool2d", "max_unpool3d"),
    _nan_argument,
    "a NaN kernel_size is a TypeError naming it; torch: a ValueError from its output-size check",
)
deliberate(
    ("pixel_shuffle", "pixel_unshuffle", "PixelShuffle", "PixelUnshuffle"),
    _first_tensor_is(torch.channels_last_3d, 5),
    "a channels_last_3d input is computed as the contiguous one is; torch: 'Unsupported memory format'",
)
deliberate(
    ("elu", "elu_", "celu", "celu_", "ELU", "CELU"),
    lambda args, kwargs: any(
        isinstance(v, float) and not math.isfinite(v) for v in [*args[1:], *kwargs.values()]
    ),
    "a NaN or infinite alpha gives the formula's value (NaN, or a division by it); torch's kernel other ones",
)
deliberate(
    ("embedding_bag", "EmbeddingBag", "EmbeddingBag-per_sample_weights"),
    lambda args, kwargs: any(t.dtype in (torch.bool, torch.uint8) for t in tensors_in([args, kwargs])),
    "bool or uint8 indices are refused (Long or Int, as embedding); torch reads them as indices",
)
deliberate(
    ("local_response_norm", "LocalResponseNorm"),
    lambda args, kwargs: (
        bool(tensors_in([args, kwargs])) and tensors_in([args, kwargs])[0].dtype == torch.int64
    ),
    "int64 input is refused (floating point only); torch averages it with integer pooling",
)
deliberate(
    ("max_pool3d", "avg_pool3d", "lp_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d"),
    _first_tensor_is(torch.channels_last, 4),
    "an unbatched 4-d channels-last input is computed; torch: 'Unsupported memory format'",
)

# recurrent layers (torch.lstm & co.): the packed overload is (data, batch_sizes, hx, params, ...)
RECURRENT_LAYERS = ("gru", "lstm", "rnn_relu", "rnn_tanh")


def _packed_batch_sizes(args: tuple, kwargs: dict) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(data, batch_sizes) of a packed call of a recurrent layer (params, a list, comes 4th), else None."""
    if len(args) < 4 or not isinstance(args[3], list | tuple):
        return None
    data, batch_sizes = args[0], args[1]
    if not isinstance(data, torch.Tensor) or not isinstance(batch_sizes, torch.Tensor):
        return None
    return data, batch_sizes


def _batch_sizes_off_the_data(args: tuple, kwargs: dict) -> bool:
    packed = _packed_batch_sizes(args, kwargs)
    if packed is None:
        return False
    data, batch_sizes = packed
    if batch_sizes.dtype != torch.int64 or batch_sizes.ndim == 0 or batch_sizes.numel() == 0:
        return False  # both raise alike (0-d, dtype); an empty one crashes torch (CRASHES_TORCH)
    rows = data.shape[0] if data.ndim else -1
    return batch_sizes.ndim != 1 or not batch_sizes.is_contiguous() or int(batch_sizes.sum()) != rows


def _bool_input(args: tuple, kwargs: dict) -> bool:
    return bool(args) and isinstance(args[0], torch.Tensor) and args[0].dtype == torch.bool


deliberate(
    RECURRENT_LAYERS,
    _batch_sizes_off_the_data,
    "a packed call's batch_sizes must be a 1-D tensor summing to data's rows (RuntimeError); torch "
    "reads its memory ignoring shape and strides, and then runs the forward direction on the first "
    "rows of data and the reverse direction on the last ones",
)
deliberate(
    RECURRENT_LAYERS,
    _bool_input,
    "a bool input is a RuntimeError (its dtype is not the weights'); torch raises NotImplementedError "
    "instead when its matmul takes the bmm path (an input it cannot fold into a matrix: batch_first)",
)


# losses
def _byte_target_past_127(args: tuple, kwargs: dict) -> bool:
    target = _argument(args, kwargs, 1, "target")
    return isinstance(target, torch.Tensor) and target.dtype == torch.uint8 and bool((target > 127).any())


deliberate(
    ("nll_loss", "cross_entropy", "NLLLoss", "CrossEntropyLoss"),
    _byte_target_past_127,
    "a uint8 target ≥ 128 out of range is an IndexError; torch (reduction='none'): its message holds the raw "
    "byte, so UnicodeDecodeError",
)


def _ctc_label_out_of_range(args: tuple, kwargs: dict) -> bool:
    log_probs, targets = _argument(args, kwargs, 0, "log_probs"), _argument(args, kwargs, 1, "targets")
    lengths = _argument(args, kwargs, 3, "target_lengths")
    if not all(isinstance(t, torch.Tensor) for t in (log_probs, targets)) or log_probs.ndim == 0:
        return False
    if targets.ndim == 2 and lengths is not None:  # padded: the labels within each target's length
        lengths = torch.as_tensor(lengths).reshape(-1, 1)
        if lengths.shape[0] != targets.shape[0]:
            return False
        targets = targets[torch.arange(targets.shape[1]) < lengths]
    return bool(((targets < 0) | (targets >= log_probs.shape[-1])).any())


deliberate(
    ("ctc_loss", "CTCLoss"),
    _ctc_label_out_of_range,
    "a target label outside [0, classes) is a RuntimeError; torch's CPU kernel reads past the class dim",
)


def _argument(args: tuple, kwargs: dict, position: int, name: str) -> Any:
    return kwargs[name] if name in kwargs else (args[position] if len(args) > position else None)


# distances, grid sampling, fractional pooling, shuffles, einsum
def _non_positive_kernel(args: tuple, kwargs: dict) -> bool:
    kernel = _argument(args, kwargs, 1, "kernel_size")
    sizes = kernel if isinstance(kernel, tuple | list) else [kernel]
    return any(isinstance(k, int | float) and k <= 0 for k in sizes)


deliberate(
    (
        "fractional_max_pool2d",
        "fractional_max_pool3d",
        "fractional_max_pool2d_with_indices",
        "fractional_max_pool3d_with_indices",
    ),
    _non_positive_kernel,
    "a kernel_size <= 0 is a RuntimeError; torch returns -inf for the empty windows (and stray indices)",
)


def _addmv_of_an_empty_matrix(args: tuple, kwargs: dict) -> bool:
    input, mat = _argument(args, kwargs, 0, "input"), _argument(args, kwargs, 1, "mat")
    if not (isinstance(input, torch.Tensor) and isinstance(mat, torch.Tensor)) or mat.ndim != 2:
        return False
    return mat.numel() == 0 and tuple(input.shape) != (mat.shape[0],)


deliberate(
    ("addmv",),
    _addmv_of_an_empty_matrix,
    "addmv with an empty mat broadcasts beta * input to the product's (m,), as addmm; torch returns "
    "beta * input in input's own shape",
)


def _offsets_past_the_cut(args: tuple, kwargs: dict) -> bool:
    a, b, offs = _argument(args, kwargs, 0, "mat_a"), _argument(args, kwargs, 1, "mat_b"), kwargs.get("offs")
    if not all(isinstance(t, torch.Tensor) for t in (a, b, offs)) or offs.ndim != 1 or not offs.numel():
        return False
    if a.ndim not in (2, 3) or b.ndim not in (2, 3) or offs.is_floating_point() or offs.is_complex():
        return False
    length = a.shape[0] if b.ndim == 3 else b.shape[1] if a.ndim == 3 else a.shape[1]
    ends = offs.tolist()
    return any(e < s for s, e in zip([0, *ends], ends)) or ends[-1] > length


deliberate(
    ("grouped_mm",),
    _offsets_past_the_cut,
    "offsets that decrease or run past the cut dim are a RuntimeError; torch reads undefined memory",
)


def _uint8_bilinear(args: tuple, kwargs: dict) -> bool:
    tensors = tensors_in([args, kwargs])
    bilinear = kwargs.get("mode", "bilinear") == "bilinear"  # upsample_bilinear has no mode
    return bool(tensors) and tensors[0].dtype == torch.uint8 and bilinear


deliberate(
    ("upsample", "upsample_bilinear"),
    _uint8_bilinear,
    "bilinear upsampling of uint8 input is NotImplementedError (interpolate's: torch's fixed-point "
    "rounding is not reproduced); torch returns",
)
deliberate(  # the lazy modules' compile cases: materialized, they are InstanceNorm1d/2d/3d
    ("LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d"),
    _first_tensor_empty,
    "an empty batch gives an empty result; torch: IndexError (as instance_norm above)",
)


# Calls that crash torch's own kernel (the process dies): never handed to torch.
CRASHES_TORCH: dict[str, Callable[[tuple, dict], bool]] = {
    "embedding_bag": lambda args, kwargs: (
        isinstance(offsets := _argument(args, kwargs, 2, "offsets"), torch.Tensor) and offsets.numel() == 0
    ),
}


def _empty_batch_sizes(args: tuple, kwargs: dict) -> bool:  # torch reads batch_sizes[0] regardless
    packed = _packed_batch_sizes(args, kwargs)
    return (
        packed is not None
        and packed[1].dtype == torch.int64
        and packed[1].ndim > 0
        and packed[1].numel() == 0
    )


CRASHES_TORCH.update(dict.fromkeys(RECURRENT_LAYERS, _empty_batch_sizes))


def _fuzz(data: st.DataObject, starts: list[Start], failures: list[str]) -> None:
    start = data.draw(st.sampled_from(starts), label="start")
    mutation = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    args, kwargs = mutate(data, mutation, *start.make())
    op = start.name.split("-", 1)[0]
    if any(when(args, kwargs) for when, _ in DELIBERATE.get(op, [])):
        return
    if CRASHES_TORCH.get(op, lambda *_: False)(args, kwargs):
        return
    before = _state(start.ours)
    found, our_error, torch_raised = _judge(start, args, kwargs)
    if found is not None:
        failures.append(f"[{mutation}] {found}")
    if our_error is not None and (changed := _unchanged(before, start.ours)):
        failures.append(f"[{mutation}] {start.name}: a failed call changed the module: {changed}")
    if STATS:  # one line per example: what was tried, and what was found
        with open(STATS, "a") as stats:
            stats.write(f"{op}\t{mutation}\t{int(torch_raised)}\t{int(found is not None)}\n")


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@pytest.mark.parametrize("op", sorted(FUNCTIONAL_STARTS))
def test_functional_op_agrees_with_torch_around_the_valid_region(op):
    failures: list[str] = []

    @FUZZ
    @given(st.data())
    def run(data):
        _fuzz(data, FUNCTIONAL_STARTS[op], failures)

    run()
    assert not failures, "\n".join(dict.fromkeys(failures))


MODULE_CASES = [case for case in MODULES if _module_start(case) is not None]


@pytest.mark.parametrize("case", MODULE_CASES)
def test_module_agrees_with_torch_around_the_valid_region(case):
    failures: list[str] = []

    @FUZZ
    @given(st.data())
    def run(data):
        start = _module_start(case)
        assert start is not None
        _fuzz(data, [start], failures)

    run()
    assert not failures, "\n".join(dict.fromkeys(failures))


@pytest.mark.slow
@pytest.mark.parametrize("op", sorted(FUNCTIONAL_STARTS))
def test_functional_op_agrees_with_torch_slow(op):
    failures: list[str] = []

    @settings(FUZZ, max_examples=10 * EXAMPLES)
    @given(st.data())
    def run(data):
        _fuzz(data, FUNCTIONAL_STARTS[op], failures)

    run()
    assert not failures, "\n".join(dict.fromkeys(failures))


def test_every_functional_op_with_a_torch_twin_is_fuzzed():
    twins = {name for name in F.__all__ if _torch_twin(name) is not None}
    assert sorted(twins - set(FUNCTIONAL_STARTS)) == []


def test_a_divergence_is_found():
    """The comparison itself: an op that returns where torch raises, and one with another
    exception class, are both reported."""
    start = Start("relu", lambda x: x, torch_F.relu, lambda: ((torch.randn(3),), {}))
    assert divergence(start, ("not a tensor",), {}) is not None
    start = Start("relu", lambda x: (_ for _ in ()).throw(ValueError("relu: no")), torch_F.relu, start.make)
    assert "ValueError" in (divergence(start, (torch.randn(3),), {}) or "")
    assert copy.copy(start) == start


# ---------------------------------------------------------------------------------------------
# Ops and modules torch has no twin of (semirings, morphology, N-d pixel shuffles): no reference to
# differ from, so the fuzzer holds them to the same contract on their own — bad input raises one of
# torch's argument-error types with a message that names the op (never an AttributeError or a
# KeyError from inside), and a module call that raises changes no state.

ARGUMENT_ERRORS = (TypeError, ValueError, RuntimeError, NotImplementedError, IndexError)


def _own_starts() -> dict[str, list[Start]]:
    starts: dict[str, list[Start]] = {}
    for op, registered in cases().items():
        if op not in F.__all__ or op in FUNCTIONAL_STARTS:
            continue
        for index, case in enumerate(registered):
            if case.ours is getattr(F, op):

                def make(case=case, index=index) -> tuple[tuple, dict]:
                    return case.make(torch.Generator().manual_seed(index))

                starts.setdefault(op, []).append(Start(op, case.ours, case.theirs, make))
    return starts


OWN_STARTS = _own_starts()
OWN_MODULE_CASES = [case for case in MODULES if MODULES[case]()[1] is None]


def _fuzz_alone(data: st.DataObject, start: Start, failures: list[str], named: bool) -> None:
    mutation = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    args, kwargs = mutate(data, mutation, *start.make())
    before = _state(start.ours)
    _, error = _outcome(start.ours, args, kwargs)
    call = f"[{mutation}] {start.name}({_describe(args, kwargs)})"
    if error is None:
        return
    if not isinstance(error, ARGUMENT_ERRORS):
        failures.append(f"{call}: raises {type(error).__name__}({error})")
    elif named and not str(error).startswith(start.name):
        failures.append(f"{call}: the message does not start with {start.name!r}: {error}")
    if changed := _unchanged(before, start.ours):
        failures.append(f"{call}: a failed call changed the module: {changed}")


@pytest.mark.parametrize("op", sorted(OWN_STARTS))
def test_an_op_without_a_torch_twin_fails_cleanly(op):
    failures: list[str] = []

    @FUZZ
    @given(st.data())
    def run(data):
        _fuzz_alone(data, data.draw(st.sampled_from(OWN_STARTS[op]), label="start"), failures, named=True)

    run()
    assert not failures, "\n".join(dict.fromkeys(failures))


@pytest.mark.parametrize("case", OWN_MODULE_CASES)
def test_a_module_without_a_torch_twin_fails_cleanly(case):
    failures: list[str] = []

    @FUZZ
    @given(st.data())
    def run(data):
        ours, _, inputs = MODULES[case]()[:3]
        _fuzz_alone(data, Start(case, ours, ours, lambda: (tuple(inputs), {})), failures, named=False)

    run()
    assert not failures, "\n".join(dict.fromkeys(failures))


def test_every_export_is_fuzzed():
    assert sorted(set(F.__all__) - set(FUNCTIONAL_STARTS) - set(OWN_STARTS)) == []
    fuzzed = {case.split("-", 1)[0] for case in [*MODULE_CASES, *OWN_MODULE_CASES]}
    assert sorted(set(snn.__all__) - fuzzed) == []
