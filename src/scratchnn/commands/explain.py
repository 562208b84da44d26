"""Explain one op call step by step, for the shapes you give: patterns, shapes, legend, memory, check.

    scratchnn explain conv2d --input 1,3,8,8 --weight 4,3,3,3 --stride 2 --padding 1
    scratchnn explain max_pool2d --input 1,3,8,8 --kernel-size 2
    scratchnn explain scaled_dot_product_attention --query 2,4,5,8 --is-causal True
    scratchnn explain multi_head_attention_forward --query 5,2,16 --num-heads 4
    scratchnn explain conv2d                  (no arguments: the op's first check case)
    scratchnn explain multi_head_attention_forward   (no arguments: a query of shape 5,2,16)

The op's arguments follow its name, spelled as in its signature (``--kernel-size`` or
``--kernel_size``). Tensors are given by their shape, random values fill them:
``--input 1,3,8,8`` or ``--input 1x3x8x8``; a dtype after a colon: ``--attn-mask 5,5:bool``;
integers below a bound: ``--input 2,7:long:10``; ``--bias None`` leaves one out. Other
arguments are Python literals: ``--stride 2``, ``--padding 1,2``, ``--padding same``, ``--is-causal True``.

Arguments left out take the op's defaults. The attention ops build what the query's shape
implies: ``scaled_dot_product_attention`` uses the query's shape for a missing key and value;
``multi_head_attention_forward`` makes the key and value from the query, and the in/out projection
weights and biases for ``embed_dim = query.shape[-1]`` (``--num-heads`` defaults to 2).

The op runs in the literal form (its steps are the formula); ``--form fast`` shows the fast
form's schedule instead. Options of the command itself (``--markdown``, ``--form``, ``--dtype``,
``--seed``) may come before or after the op's name, unless the op has an argument of that name.
Exit status 1 when the check against torch fails or the op raises, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .._contract import FORMS, contraction

__all__ = ["TensorSpec", "add_arguments", "parse_arguments", "run"]

DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "bool": torch.bool,
    "long": torch.long,
    "int64": torch.long,
    "int32": torch.int32,
    "uint8": torch.uint8,
}
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
OWN_OPTIONS = ("markdown", "form", "dtype", "seed")


@dataclass(frozen=True)
class TensorSpec:
    """A tensor argument by its shape: random values of ``dtype`` (None: the command's float dtype);
    integers are drawn from ``[0, high)``."""

    shape: tuple[int, ...]
    dtype: torch.dtype | None = None
    high: int | None = None

    def make(self, generator: torch.Generator, float_dtype: torch.dtype) -> torch.Tensor:
        dtype = self.dtype or float_dtype
        if dtype == torch.bool:
            return torch.rand(self.shape, generator=generator) < 0.75
        if not dtype.is_floating_point:
            return torch.randint(0, self.high or 2, self.shape, generator=generator, dtype=dtype)
        return torch.randn(self.shape, generator=generator, dtype=torch.float64).to(dtype)


class UsageError(ValueError):
    """A command line the op cannot be called with."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("op", help="a scratchnn.functional op, e.g. conv2d")
    parser.add_argument(
        "arguments", nargs=argparse.REMAINDER, help="the op's arguments: --NAME VALUE (tensors by shape)"
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown instead of text")
    parser.add_argument(
        "--form",
        choices=FORMS,
        default="literal",
        help="contraction form: literal (the formula, default) or fast (the fast schedule)",
    )
    parser.add_argument(
        "--dtype",
        choices=FLOAT_DTYPES,
        default="float32",
        help="floating dtype of the tensors (default: float32)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random tensors (default: 0)")


def run(args: argparse.Namespace) -> int:
    from .. import functional
    from ..explain import explain

    if args.op not in functional.__all__:
        known = ", ".join(sorted(functional.__all__))
        print(f"explain: unknown op {args.op!r}; scratchnn.functional has: {known}", file=sys.stderr)
        return 2
    fn = getattr(functional, args.op)
    try:
        values, own = parse_arguments(args.op, fn, args.arguments)
    except UsageError as exc:
        print(f"explain: {exc}", file=sys.stderr)
        return 2
    for option, value in own.items():
        setattr(args, option, value)
    if args.form not in FORMS or args.dtype not in FLOAT_DTYPES:
        print(f"explain: --form must be one of {FORMS} and --dtype one of {FLOAT_DTYPES}", file=sys.stderr)
        return 2
    generator = torch.Generator().manual_seed(args.seed)
    float_dtype = DTYPES[args.dtype]
    try:
        call_args, call_kwargs = build_call(args.op, fn, values, generator, float_dtype)
    except UsageError as exc:
        print(f"explain: {exc}", file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)  # ops that draw random numbers (dropout) draw the same ones each run
    try:
        with contraction(args.form):
            derivation = explain(fn, *call_args, **call_kwargs)
    except Exception as exc:  # the op refused the arguments: say so, as the op says it
        print(f"explain: {args.op} raised {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(derivation.markdown() if args.markdown else derivation)
    return 1 if derivation.check.ok is False else 0


# --- the command line → the op's arguments ------------------------------------------------------


def parse_arguments(
    op: str, fn: Callable[..., Any], tokens: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``["--input", "1,3,8,8", "--stride", "2"]`` → ``{"input": TensorSpec((1, 3, 8, 8)), "stride": 2}``,
    and the command's own options found among them.

    >>> from scratchnn import functional as F
    >>> parse_arguments("conv2d", F.conv2d, ["--input", "1,3,8,8", "--padding=same", "--markdown"])
    ({'input': TensorSpec(shape=(1, 3, 8, 8), dtype=None, high=None), 'padding': 'same'}, {'markdown': True})
    """
    parameters = inspect.signature(fn).parameters
    tensors = tensor_parameters(op, fn)
    values: dict[str, Any] = {}
    own: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.startswith("--") or len(token) == 2:
            raise UsageError(f"expected --NAME VALUE, got {token!r}")
        name, has_value, text = token[2:].partition("=")
        name = name.replace("-", "_")
        if not has_value:
            if i + 1 < len(tokens) and not _is_option(tokens[i + 1]):
                text, i = tokens[i + 1], i + 1
            elif name == "markdown" and name not in parameters:
                text = "True"
            else:
                raise UsageError(f"--{name} needs a value")
        i += 1
        if name in OWN_OPTIONS and name not in parameters:
            own[name] = _own_option(name, text)
            continue
        if name not in parameters:
            known = ", ".join(f"--{p}" for p in parameters)
            raise UsageError(f"{op} has no argument {name!r}; its arguments: {known}")
        if name in values:
            raise UsageError(f"--{name} given twice")
        values[name] = parse_tensor(text, name) if name in tensors else parse_literal(text)
    return values, own


def _is_option(token: str) -> bool:
    if not token.startswith("--"):
        return False
    try:  # a negative number is a value
        float(token)
        return False
    except ValueError:
        return True


def _own_option(name: str, text: str) -> Any:
    if name == "markdown":
        return parse_literal(text) is True
    if name == "seed":
        value = parse_literal(text)
        if not isinstance(value, int):
            raise UsageError(f"--seed must be an int, got {text!r}")
        return value
    return text


def parse_literal(text: str) -> Any:
    """A Python literal, else the text itself: ``"2"`` → 2, ``"1,2"`` → (1, 2), ``"same"`` → 'same'.

    >>> parse_literal("1,2"), parse_literal("same"), parse_literal("-inf"), parse_literal("None")
    ((1, 2), 'same', -inf, None)
    """
    if text.lower() in ("inf", "+inf", "-inf", "nan"):
        return float(text)
    if text.startswith("torch.") and isinstance(getattr(torch, text[6:], None), torch.dtype):
        return getattr(torch, text[6:])
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_tensor(text: str, name: str = "tensor") -> TensorSpec | None:
    """``"1,3,8,8"`` → a float tensor of that shape; ``"5,5:bool"``; ``"2,7:long:10"``; ``"None"``.

    >>> parse_tensor("2,7:long:10")
    TensorSpec(shape=(2, 7), dtype=torch.int64, high=10)
    >>> parse_tensor("()")
    TensorSpec(shape=(), dtype=None, high=None)
    """
    if text in ("None", "none"):
        return None
    shape_text, _, rest = text.partition(":")
    dtype_text, _, high_text = rest.partition(":")
    shape_text = shape_text.strip().strip("()[]").strip().removesuffix(",")  # "(5,)" is (5,)
    parts = re.split(r"\s*[,x×]\s*", shape_text) if shape_text else []
    if not all(part.isdigit() for part in parts):  # "1,3,x,8" is a mistake, not (1, 3, 8)
        raise UsageError(f"--{name} is a tensor: give its shape, e.g. 1,3,8,8 or 1x3x8x8; got {text!r}")
    shape = tuple(int(part) for part in parts)
    if any(size < 0 for size in shape):
        raise UsageError(f"--{name}: sizes must be non-negative, got {text!r}")
    dtype = None
    if dtype_text:
        if dtype_text not in DTYPES:
            raise UsageError(f"--{name}: unknown dtype {dtype_text!r}; one of {', '.join(DTYPES)}")
        dtype = DTYPES[dtype_text]
    high = None
    if high_text:
        if not high_text.isdigit() or int(high_text) < 1:
            raise UsageError(f"--{name}: the bound after the dtype must be a positive int, got {high_text!r}")
        high = int(high_text)
    return TensorSpec(shape, dtype, high)


def tensor_parameters(op: str, fn: Callable[..., Any]) -> dict[str, TensorSpec | None]:
    """The op's tensor arguments: those its check cases pass tensors to (with their non-float
    dtype), and those annotated as tensors.

    >>> from scratchnn import functional as F
    >>> sorted(tensor_parameters("conv2d", F.conv2d))
    ['bias', 'input', 'weight']
    """
    from ..check import cases

    signature = inspect.signature(fn)
    found: dict[str, TensorSpec | None] = {
        name: None for name, p in signature.parameters.items() if "Tensor" in str(p.annotation)
    }
    for case in cases().get(op, [])[:8]:
        args, kwargs = case.make(torch.Generator().manual_seed(0))
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            continue
        for name, value in bound.arguments.items():
            if isinstance(value, torch.Tensor):
                if not value.is_floating_point() and found.get(name) is None:
                    high = int(value.max()) + 1 if value.numel() and value.dtype != torch.bool else None
                    found[name] = TensorSpec(tuple(value.shape), value.dtype, high)
                else:
                    found.setdefault(name, None)
    return found


def build_call(
    op: str,
    fn: Callable[..., Any],
    values: dict[str, Any],
    generator: torch.Generator,
    float_dtype: torch.dtype,
) -> tuple[tuple, dict]:
    """Positional and keyword arguments for ``fn``: the given values, completed by the op's filler,
    tensors made; no values at all (and no filler) → the op's first check case."""
    from ..check import cases

    signature = inspect.signature(fn)
    if not values and op not in FILLERS:
        registered = cases().get(op)
        if not registered:
            raise UsageError(f"{op} has no check case to take example arguments from; give its arguments")
        args, kwargs = registered[0].make(generator)
        return _cast((args, kwargs), float_dtype)
    values = dict(values)
    FILLERS.get(op, lambda values: None)(values)
    integer_specs = {k: v for k, v in tensor_parameters(op, fn).items() if v is not None}
    made: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, TensorSpec):
            spec = value
            known = integer_specs.get(name)
            if known is not None and spec.dtype is None:  # an index or mask argument keeps its dtype
                spec = TensorSpec(spec.shape, known.dtype, spec.high or known.high)
            value = spec.make(generator, float_dtype)
        made[name] = value
    missing = [
        name
        for name, p in signature.parameters.items()
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and name not in made
    ]
    if missing:
        raise UsageError(f"{op} needs {', '.join('--' + name.replace('_', '-') for name in missing)}")
    bound = signature.bind(**made)
    return bound.args, bound.kwargs


def _cast(value: Any, dtype: torch.dtype) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, tuple | list):
        return type(value)(_cast(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast(v, dtype) for k, v in value.items()}
    return value


# --- fillers: what the attention ops' long argument lists follow from the query's shape ------


def _fill_scaled_dot_product_attention(values: dict[str, Any]) -> None:
    query = values.setdefault("query", TensorSpec((2, 4, 5, 8)))  # b h n d
    key = values.setdefault("key", query)
    values.setdefault("value", key)


def _fill_multi_head_attention_forward(values: dict[str, Any]) -> None:
    query = values.setdefault("query", TensorSpec((5, 2, 16)))  # n b e (or n e unbatched)
    key = values.setdefault("key", query)
    value = values.setdefault("value", key)
    if not isinstance(query, TensorSpec) or not query.shape:
        raise UsageError("multi_head_attention_forward: --query must be a tensor shape, e.g. 5,2,16")
    embed_dim = query.shape[-1]
    values.setdefault("embed_dim_to_check", embed_dim)
    values.setdefault("num_heads", 2 if embed_dim % 2 == 0 else 1)
    separate = any(isinstance(t, TensorSpec) and t.shape[-1:] != (embed_dim,) for t in (key, value))
    values.setdefault("use_separate_proj_weight", separate)
    if values["use_separate_proj_weight"]:
        values.setdefault("in_proj_weight", None)
        values.setdefault("q_proj_weight", TensorSpec((embed_dim, embed_dim)))
        values.setdefault("k_proj_weight", TensorSpec((embed_dim, key.shape[-1])))
        values.setdefault("v_proj_weight", TensorSpec((embed_dim, value.shape[-1])))
    else:
        values.setdefault("in_proj_weight", TensorSpec((3 * embed_dim, embed_dim)))
    values.setdefault("in_proj_bias", TensorSpec((3 * embed_dim,)))
    values.setdefault("bias_k", None)
    values.setdefault("bias_v", None)
    values.setdefault("add_zero_attn", False)
    values.setdefault("dropout_p", 0.0)
    values.setdefault("out_proj_weight", TensorSpec((embed_dim, embed_dim)))
    values.setdefault("out_proj_bias", TensorSpec((embed_dim,)))


def _fill_embedding(values: dict[str, Any]) -> None:
    weight, indices = values.get("weight"), values.get("input")
    if isinstance(weight, TensorSpec) and isinstance(indices, TensorSpec) and weight.shape:
        values["input"] = TensorSpec(
            indices.shape, indices.dtype or torch.long, indices.high or weight.shape[0]
        )


FILLERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "scaled_dot_product_attention": _fill_scaled_dot_product_attention,
    "multi_head_attention_forward": _fill_multi_head_attention_forward,
    "embedding": _fill_embedding,
}
