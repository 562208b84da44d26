"""Linear maps and the matrix-multiply family, as contractions.

Legend: b flattened leading (batch) dims, i input features, o output features; m n p the
matrix sizes of ``(m, n) @ (n, p)``; b0 b1 … broadcast batch dims of ``matmul``.

The ``add*`` family is ``beta · input + alpha · product`` with ``input`` broadcast to the
product's shape; ``beta = 0`` ignores ``input`` (its NaN and inf do not propagate), as torch
documents, and so does ``alpha = 0`` for the product where torch's kernels skip it (``addmm``,
``addbmm``, ``addmv``; not ``baddbmm``). ``einsum`` is torch's equation syntax over ``contract``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from .._args import check_rank, check_same_dtype, fail
from .._contract import contract, current_form
from .._trace import is_recording

__all__ = [
    "addbmm",
    "addmm",
    "addmv",
    "baddbmm",
    "bmm",
    "einsum",
    "grouped_mm",
    "linear",
    "matmul",
    "mm",
    "mv",
]


def linear(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``input @ weight.T + bias`` over any number of leading dims.

    input (..., i) · weight (o, i) → (..., o); a 1-D weight (i,) gives (...,).

    >>> linear(torch.randn(5, 2, 3), torch.randn(4, 3), torch.randn(4)).shape
    torch.Size([5, 2, 4])
    """
    check_rank(weight, (1, 2), "weight", "o i", "linear")
    if input.ndim == 0:
        raise fail(
            RuntimeError, "linear", "input must have at least 1 dim", {"input": ("... i", input.shape)}
        )
    check_same_dtype("linear", input=input, weight=weight, bias=bias)
    features = weight.shape[-1]
    if input.shape[-1] != features:
        raise fail(
            RuntimeError,
            "linear",
            f"input has {input.shape[-1]} features but weight expects {features}",
            {"input": ("... i", input.shape), "weight": ("o i" if weight.ndim == 2 else "i", weight.shape)},
        )
    x = input.reshape(math.prod(input.shape[:-1]), features)  # b i (not -1: i may be 0)
    if bias is not None and _fused_bias(x, weight, bias):
        # fast form: the bias rides in the GEMM, out = bias + x @ weightᵀ
        return torch.addmm(bias, x, weight.t()).reshape(*input.shape[:-1], weight.shape[0])
    if weight.ndim == 1:
        out = contract("b i, i -> b", x, weight).reshape(input.shape[:-1])
    else:
        out = contract("b i, o i -> b o", x, weight).reshape(*input.shape[:-1], weight.shape[0])
    if bias is None:
        return out
    try:
        torch.broadcast_shapes(bias.shape, out.shape)
    except RuntimeError:
        raise fail(
            RuntimeError,
            "linear",
            f"bias of shape {tuple(bias.shape)} does not broadcast to the output {tuple(out.shape)}",
            {"bias": ("o", bias.shape), "weight": ("o i", weight.shape)},
        ) from None
    return out + bias


def _fused_bias(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> bool:
    """Whether ``linear`` may add a 1-D bias inside its GEMM (``addmm``) instead of in a second pass."""
    return (
        bias is not None
        and weight.ndim == 2
        and tuple(bias.shape) == (weight.shape[0],)
        and x.is_floating_point()
        and current_form() == "fast"
        and not is_recording()
    )


def mm(input: torch.Tensor, mat2: torch.Tensor) -> torch.Tensor:
    """Matrix product (m, n) @ (n, p) → (m, p).

    >>> mm(torch.ones(2, 3), torch.ones(3, 4))[0, 0]
    tensor(3.)
    """
    check_rank(input, (2,), "input", "m n", "mm")
    check_rank(mat2, (2,), "mat2", "n p", "mm")
    _check_inner("mm", input, mat2, "m n", "n p")
    return contract("m n, n p -> m p", input, mat2)


def bmm(input: torch.Tensor, mat2: torch.Tensor) -> torch.Tensor:
    """Batched matrix product (b, m, n) @ (b, n, p) → (b, m, p), no broadcasting.

    >>> bmm(torch.ones(5, 2, 3), torch.ones(5, 3, 4)).shape
    torch.Size([5, 2, 4])
    """
    if input.dtype == torch.bool:  # torch's kernel is chosen by input's dtype, before any other check
        raise NotImplementedError("bmm: \"bmm\" not implemented for 'Bool'")
    check_rank(input, (3,), "input", "b m n", "bmm")
    check_rank(mat2, (3,), "mat2", "b n p", "bmm")
    if input.shape[0] != mat2.shape[0]:
        raise fail(
            RuntimeError,
            "bmm",
            f"batch sizes differ: {input.shape[0]} and {mat2.shape[0]}",
            {"input": ("b m n", input.shape), "mat2": ("b n p", mat2.shape)},
        )
    _check_inner("bmm", input, mat2, "b m n", "b n p")
    return contract("b m n, b n p -> b m p", input, mat2)


def matmul(input: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """``torch.matmul``: 1-D operands become a row (left) or a column (right) and lose it again;
    batch dims broadcast.

    >>> matmul(torch.randn(3), torch.randn(3)).shape
    torch.Size([])
    >>> matmul(torch.randn(7, 1, 2, 3), torch.randn(5, 3, 4)).shape
    torch.Size([7, 5, 2, 4])
    """
    if input.ndim == 0 or other.ndim == 0:
        raise fail(
            RuntimeError,
            "matmul",
            f"both arguments need at least 1 dim, got {input.ndim}-D and {other.ndim}-D",
            {"input": ("...", input.shape), "other": ("...", other.shape)},
        )
    check_same_dtype("matmul", input=input, other=other)
    left = input.unsqueeze(0) if input.ndim == 1 else input  # (..., m, n)
    right = other.unsqueeze(-1) if other.ndim == 1 else other  # (..., n, p)
    _check_inner("matmul", left, right, "... m n", "... n p", names=("input", "other"))
    try:
        batch = torch.broadcast_shapes(left.shape[:-2], right.shape[:-2])
    except RuntimeError:
        raise fail(
            RuntimeError,
            "matmul",
            "batch dims do not broadcast",
            {"input": ("... m n", input.shape), "other": ("... n p", other.shape)},
        ) from None
    batch_axes = [f"b{i}" for i in range(len(batch))]
    left_batch = " ".join(batch_axes[len(batch_axes) - (left.ndim - 2) :])
    right_batch = " ".join(batch_axes[len(batch_axes) - (right.ndim - 2) :])
    out = contract(f"{left_batch} m n, {right_batch} n p -> {' '.join(batch_axes)} m p", left, right)
    if input.ndim == 1:
        out = out.squeeze(-2)
    if other.ndim == 1:
        out = out.squeeze(-1)
    return out.contiguous()  # torch's matmul returns a contiguous tensor, broadcast or not


def _check_inner(
    op: str,
    left: torch.Tensor,
    right: torch.Tensor,
    left_legend: str,
    right_legend: str,
    names: tuple[str, str] = ("input", "mat2"),
) -> None:
    check_same_dtype(op, **{names[0]: left, names[1]: right})
    if left.shape[-1] != right.shape[-2]:
        raise fail(
            RuntimeError,
            op,
            f"shapes cannot be multiplied: n={left.shape[-1]} on the left "
            f"but n={right.shape[-2]} on the right",
            {names[0]: (left_legend, left.shape), names[1]: (right_legend, right.shape)},
        )


def mv(input: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
    """Matrix-vector product (m, n) @ (n,) → (m,).

    >>> mv(torch.ones(2, 3), torch.arange(3.))
    tensor([3., 3.])
    """
    check_rank(input, (2,), "input", "m n", "mv")
    check_rank(vec, (1,), "vec", "n", "mv")
    check_same_dtype("mv", input=input, vec=vec)
    if input.shape[1] != vec.shape[0]:
        raise fail(
            RuntimeError,
            "mv",
            f"size mismatch: n={input.shape[1]} in input but n={vec.shape[0]} in vec",
            {"input": ("m n", input.shape), "vec": ("n", vec.shape)},
        )
    return contract("m n, n -> m", input, vec)


def _scaled(term: torch.Tensor, scale: Any) -> torch.Tensor:
    """``scale · term``; ``scale = 0`` drops the term: zeros, NaN and inf included, gradient 0."""
    if scale == 0:
        return torch.where(torch.zeros((), dtype=torch.bool, device=term.device), term, 0)
    return term if scale == 1 else term * scale


def _add_scaled(
    op: str, input: torch.Tensor, product: torch.Tensor, beta: Any, alpha: Any, drop_product: bool = True
) -> torch.Tensor:
    """``beta · input + alpha · product``, ``input`` broadcast to the product's shape; for integer
    tensors beta and alpha are truncated to ints, as torch's kernels read them."""
    if not (product.is_floating_point() or product.is_complex()):
        beta, alpha = int(beta), int(alpha)
    try:
        input = input.expand(product.shape)
    except RuntimeError:
        raise fail(
            RuntimeError,
            op,
            f"input of shape {tuple(input.shape)} does not broadcast to the product's {tuple(product.shape)}",
            {"input": ("...", input.shape)},
        ) from None
    product = _scaled(product, alpha) if drop_product else product * alpha
    return (_scaled(input, beta) + product).contiguous()  # torch's kernels write a fresh contiguous tensor


def addmm(
    input: torch.Tensor, mat1: torch.Tensor, mat2: torch.Tensor, *, beta: Any = 1, alpha: Any = 1
) -> torch.Tensor:
    """beta · input + alpha · (mat1 @ mat2): input broadcasts to (m, p), mat1 (m, n), mat2 (n, p).

    >>> addmm(torch.ones(3), torch.ones(2, 4), torch.ones(4, 3), beta=0.5, alpha=2)
    tensor([[8.5000, 8.5000, 8.5000],
            [8.5000, 8.5000, 8.5000]])
    """
    check_rank(mat1, (2,), "mat1", "m n", "addmm")
    check_rank(mat2, (2,), "mat2", "n p", "addmm")
    check_same_dtype("addmm", input=input, mat1=mat1, mat2=mat2)
    _check_inner("addmm", mat1, mat2, "m n", "n p", names=("mat1", "mat2"))
    return _add_scaled("addmm", input, contract("m n, n p -> m p", mat1, mat2), beta, alpha)


def addmv(
    input: torch.Tensor, mat: torch.Tensor, vec: torch.Tensor, *, beta: Any = 1, alpha: Any = 1
) -> torch.Tensor:
    """beta · input + alpha · (mat @ vec): input broadcasts to (m,), mat (m, n), vec (n,).

    >>> addmv(torch.ones(2), torch.ones(2, 3), torch.ones(3), alpha=-1)
    tensor([-2., -2.])
    """
    check_same_dtype("addmv", input=input, mat=mat, vec=vec)
    if input.ndim == 0 and mat.ndim == 2 and vec.ndim == 1 and mat.shape[1] != vec.shape[0]:
        # torch's size check reads input.size(0) for its message, which a 0-d input lacks
        raise IndexError(
            f"addmv: size mismatch: n={mat.shape[1]} in mat but n={vec.shape[0]} in vec (and a 0-d input)"
        )
    product = mv(mat, vec)
    return _add_scaled("addmv", input, product, beta, alpha)


def baddbmm(
    input: torch.Tensor, batch1: torch.Tensor, batch2: torch.Tensor, *, beta: Any = 1, alpha: Any = 1
) -> torch.Tensor:
    """beta · input + alpha · (batch1 @ batch2) per batch: input broadcasts to (b, m, p),
    batch1 (b, m, n), batch2 (b, n, p).

    >>> baddbmm(torch.zeros(1, 3), torch.ones(5, 2, 4), torch.ones(5, 4, 3), alpha=0.5).shape
    torch.Size([5, 2, 3])
    """
    _check_batch2_rank("baddbmm", batch2)
    check_rank(batch1, (3,), "batch1", "b m n", "baddbmm")
    check_rank(batch2, (3,), "batch2", "b n p", "baddbmm")
    check_same_dtype("baddbmm", input=input, batch1=batch1, batch2=batch2)
    _check_batches("baddbmm", batch1, batch2)
    product = contract("b m n, b n p -> b m p", batch1, batch2)
    return _add_scaled("baddbmm", input, product, beta, alpha, drop_product=False)


def addbmm(
    input: torch.Tensor, batch1: torch.Tensor, batch2: torch.Tensor, *, beta: Any = 1, alpha: Any = 1
) -> torch.Tensor:
    """beta · input + alpha · Σ_b batch1[b] @ batch2[b]: input broadcasts to (m, p).

    >>> addbmm(torch.zeros(3), torch.ones(5, 2, 4), torch.ones(5, 4, 3))
    tensor([[20., 20., 20.],
            [20., 20., 20.]])
    """
    _check_batch2_rank("addbmm", batch2)
    check_rank(batch1, (3,), "batch1", "b m n", "addbmm")
    check_rank(batch2, (3,), "batch2", "b n p", "addbmm")
    check_same_dtype("addbmm", input=input, batch1=batch1, batch2=batch2)
    _check_batches("addbmm", batch1, batch2)
    if isinstance(alpha, float) and not math.isfinite(alpha) and batch1.is_floating_point():
        # torch scales each batch's product before the sum: an infinite alpha meets products of
        # both signs as NaN, where the scaled sum would be an infinity
        product = (contract("b m n, b n p -> b m p", batch1, batch2) * alpha).sum(0)
        return _add_scaled("addbmm", input, product, beta, 1)
    product = contract("b m n, b n p -> m p", batch1, batch2)  # the batch is summed too
    return _add_scaled("addbmm", input, product, beta, alpha)


def _check_batch2_rank(op: str, batch2: torch.Tensor) -> None:
    """torch reads batch2.size(2) first: a batch2 of fewer dims is its IndexError."""
    if batch2.ndim < 3:
        raise fail(
            IndexError,
            op,
            f"batch2 must be 3-D (Dimension out of range: dim 2 of a {batch2.ndim}-D tensor)",
            {"batch2": ("b n p", batch2.shape)},
        )


def _check_batches(op: str, batch1: torch.Tensor, batch2: torch.Tensor) -> None:
    if batch1.shape[0] != batch2.shape[0]:
        raise fail(
            RuntimeError,
            op,
            f"batch sizes differ: {batch1.shape[0]} and {batch2.shape[0]}",
            {"batch1": ("b m n", batch1.shape), "batch2": ("b n p", batch2.shape)},
        )
    _check_inner(op, batch1, batch2, "b m n", "b n p", names=("batch1", "batch2"))


# ---------------------------------------------------------------------------------------------
# einsum: torch's equation syntax, each operand's letters as axis names for contract.

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # torch's order for the implicit output


def einsum(equation: Any, *operands: Any) -> torch.Tensor:
    """``torch.einsum``: ``"ij,jk->ik"``, with ``...`` for broadcast dims, spaces allowed, the
    output implied when ``->`` is absent (letters seen once, uppercase first, after the ``...``
    dims); operands as arguments or one list; torch's sublist form ``einsum(a, [0, 1], b, [1, 2])``.

    Repeated letters in one operand take its diagonal; size-1 dims broadcast. One operand is a
    permutation and a sum; two are one :func:`contract`; more are contracted left to right,
    each intermediate keeping the letters that a later operand or the output still needs.

    >>> a, b, c = torch.randn(2, 3), torch.randn(3, 4), torch.randn(4)
    >>> torch.allclose(einsum("ij,jk,k->i", a, b, c), a @ b @ c, atol=1e-6)
    True
    >>> einsum("...ij->...ji", torch.randn(5, 2, 3)).shape, einsum("ii", torch.eye(3))
    (torch.Size([5, 3, 2]), tensor(3.))
    """
    if not isinstance(equation, str):  # the sublist form: operand, sublist, operand, sublist, …[, output]
        equation, operands = _sublist_equation((equation, *operands))
    elif len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError("einsum: must provide at least one operand")
    for i, operand in enumerate(operands):
        if not isinstance(operand, torch.Tensor):
            raise TypeError(f"einsum: operand {i} must be a Tensor, got {type(operand).__name__}")
    terms, output = _parse_equation(equation, operands)
    axes = [_named(term, operand, equation) for term, operand in zip(terms, operands)]
    names = _output_names(axes, output)
    tensors = [_diagonal(operand, term) for operand, term in zip(operands, axes)]
    distinct = [list(dict.fromkeys(term)) for term in axes]
    _check_sizes(equation, distinct, tensors)
    current, current_axes = tensors[0], distinct[0]
    for k in range(1, len(tensors)):
        later = {axis for term in distinct[k + 1 :] for axis in term} | set(names)
        kept = [a for a in dict.fromkeys(current_axes + distinct[k]) if a in later]
        spec = f"{' '.join(current_axes)}, {' '.join(distinct[k])} -> {' '.join(kept)}"
        current, operand = _pair_dtypes(current, current_axes, tensors[k], distinct[k], kept, k)
        current, current_axes = contract(spec, current, operand), kept
    summed = [i for i, axis in enumerate(current_axes) if axis not in names]
    if summed:  # one operand: its letters absent from the output are summed here
        current = current.sum(summed)
        current_axes = [axis for axis in current_axes if axis in names]
    return current.permute([current_axes.index(name) for name in names]) if names else current


def _pair_dtypes(
    current: torch.Tensor,
    current_axes: list[str],
    operand: torch.Tensor,
    axes: list[str],
    kept: list[str],
    k: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The pair in the dtypes torch multiplies them in. torch multiplies a pair without a shared
    summed letter (sizes 1 aside) elementwise, promoting the dtypes; one with such a letter goes to a
    matrix product, which wants one dtype (and, all empty, returns the second operand's)."""
    if current.dtype == operand.dtype:
        return current, operand
    sizes = [
        (current.shape[current_axes.index(a)], operand.shape[axes.index(a)])
        for a in current_axes
        if a in axes and a not in kept
    ]
    summed = [left for left, right in sizes if left != 1 and right != 1]
    if summed and 0 in summed:
        return current.to(operand.dtype), operand
    if summed:
        raise RuntimeError(
            f"einsum: expected the same dtype for operands summed over a shared letter, but the product "
            f"so far is {current.dtype} and operand {k} is {operand.dtype}"
        )
    common = torch.promote_types(current.dtype, operand.dtype)
    return current.to(common), operand.to(common)


def _sublist_equation(arguments: tuple) -> tuple[str, tuple]:
    """torch's sublist form as an equation: integers 0..51 are letters, ``...`` is ``Ellipsis``."""

    def letters(sublist: Sequence) -> str:
        out = []
        for item in sublist:
            if item is Ellipsis:
                out.append("...")
            elif isinstance(item, int) and 0 <= item < 52:
                out.append(_LETTERS[item])
            else:
                raise ValueError(
                    f"einsum: subscript in a sublist must be within [0, 52) or ..., got {item!r}"
                )
        return "".join(out)

    pairs, rest = arguments[: len(arguments) // 2 * 2], arguments[len(arguments) // 2 * 2 :]
    operands = tuple(pairs[0::2])
    equation = ",".join(letters(sublist) for sublist in pairs[1::2])
    if rest:
        equation += "->" + letters(rest[0])
    return equation, operands


def _parse_equation(equation: str, operands: Sequence[torch.Tensor]) -> tuple[list[str], list[str] | None]:
    """The terms of each operand and the output (``None``: implied), spaces removed."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError(
            f"einsum: {equation!r} has {len(terms)} operand term{'s' * (len(terms) != 1)} "
            f"but {len(operands)} operand{'s' * (len(operands) != 1)} were given"
        )
    for term in [*terms, output]:
        stripped = term.replace("...", "")
        if "." in stripped or any(c not in _LETTERS for c in stripped):
            raise RuntimeError(f"einsum: invalid subscript in {equation!r}: only letters a-z, A-Z and '...'")
        if term.count("...") > 1:
            raise RuntimeError(f"einsum: more than one ellipsis in one term of {equation!r}")
    if not arrow:
        return terms, None
    before, ellipsis, after = output.partition("...")
    tokens = [*before, *([ellipsis] if ellipsis else []), *after]
    if len(set(tokens)) != len(tokens):
        raise RuntimeError(f"einsum: an output subscript appears more than once in {equation!r}")
    missing = set(before + after) - set("".join(terms))
    if missing:
        raise RuntimeError(
            f"einsum: output subscript {sorted(missing)[0]} does not appear in an operand of {equation!r}"
        )
    return terms, tokens


def _named(term: str, operand: torch.Tensor, equation: str) -> list[str]:
    """One axis name per dim of ``operand``: its letters, ``...`` as e1 e2 … counted from the right
    (so the broadcast dims of every operand line up)."""
    before, ellipsis, after = term.partition("...")
    if not ellipsis:
        if len(term) != operand.ndim:
            raise RuntimeError(
                f"einsum: the term {term!r} of {equation!r} has {len(term)} subscripts but its operand has "
                f"{operand.ndim} dims (shape {tuple(operand.shape)})"
            )
        return list(term)
    broadcast = operand.ndim - len(before) - len(after)
    if broadcast < 0:
        raise RuntimeError(
            f"einsum: the term {term!r} of {equation!r} needs at least {len(before) + len(after)} dims, "
            f"its operand has {operand.ndim} (shape {tuple(operand.shape)})"
        )
    return [*before, *(f"e{i}" for i in range(broadcast, 0, -1)), *after]


def _diagonal(operand: torch.Tensor, axes: list[str]) -> torch.Tensor:
    """``operand`` with each repeated axis taken once, along its diagonal (``"ii"`` → ``"i"``)."""
    seen: list[str] = []
    for axis in axes:
        if axis in seen:
            first, second = seen.index(axis), len(seen)
            if operand.shape[first] != operand.shape[second]:
                raise RuntimeError(
                    f"einsum: subscript {axis} is repeated in one operand with sizes {operand.shape[first]} "
                    f"and {operand.shape[second]}"
                )
            # the diagonal goes last; move it back to where the axis first appeared
            operand = operand.diagonal(dim1=first, dim2=second).movedim(-1, first)
        else:
            seen.append(axis)
    return operand


def _check_sizes(equation: str, terms: list[list[str]], tensors: list[torch.Tensor]) -> None:
    sizes: dict[str, int] = {}
    for term, tensor in zip(terms, tensors):
        for axis, size in zip(term, tensor.shape):
            known = sizes.setdefault(axis, size)
            if known != size and 1 not in (known, size):
                name = "..." if axis.startswith("e") and len(axis) > 1 else axis
                raise RuntimeError(
                    f"einsum: subscript {name} has size {size} for one operand which does not broadcast "
                    f"with the size {known} of another in {equation!r} (shapes "
                    f"{', '.join(str(tuple(t.shape)) for t in tensors)})"
                )
            sizes[axis] = max(known, size)


def _output_names(axes: list[list[str]], output: list[str] | None) -> list[str]:
    """The output's axis names: as written (``...`` → the broadcast dims), or implied — the
    broadcast dims, then the letters that appear once in the whole equation, uppercase first."""
    widest = max([0] + [sum(len(axis) > 1 for axis in term) for term in axes])  # (dynamo: no default=)
    broadcast = [f"e{i}" for i in range(widest, 0, -1)]
    if output is None:
        counts: dict[str, int] = {}
        for term in axes:
            for axis in term:
                counts[axis] = counts.get(axis, 0) + 1
        once = [axis for axis, count in counts.items() if count == 1 and len(axis) == 1]
        return broadcast + sorted(once, key=_LETTERS.index)
    return [name for item in output for name in (broadcast if item == "..." else [item])]


# ---------------------------------------------------------------------------------------------
# grouped_mm: one matrix product per group, the groups of a 2-D operand cut by offsets.

_GROUPED_DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def grouped_mm(
    mat_a: torch.Tensor,
    mat_b: torch.Tensor,
    *,
    offs: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    out_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """``torch.nn.functional.grouped_mm`` (``torch._grouped_mm``): a matrix product per group g,
    a 2-D operand cut into groups along one dim by the int32 end offsets ``offs`` (group g is
    ``[offs[g-1], offs[g])``, the first starting at 0; what lies beyond ``offs[-1]`` is ignored).

    Legend: g groups, m n rows and columns of a product, k the contracted dim.

        a (M, k)    · b (g, k, n) → (M, n)     rows of a cut: out[rows_g] = a[rows_g] @ b[g]
        a (g, m, k) · b (k, N)    → (m, N)     columns of b cut: out[:, cols_g] = a[g] @ b[:, cols_g]
        a (m, K)    · b (K, n)    → (g, m, n)  k cut: out[g] = a[:, ks_g] @ b[ks_g]
        a (g, m, k) · b (g, k, n) → (g, m, n)  no offs: a batched product

    Rows (or columns) beyond ``offs[-1]`` are 0 here, where torch leaves them unwritten. As in
    torch 2.13 on the CPU: float32, bfloat16 and float16 only, no ``bias``, ``out_dtype`` only as
    ``mat_a``'s dtype. Offsets that decrease or run past their dim are refused (torch reads
    undefined memory there).

    >>> a, b = torch.randn(5, 4), torch.randn(2, 4, 4)  # leading strides of 16 bytes, as torch wants
    >>> out = grouped_mm(a, b, offs=torch.tensor([2, 5], dtype=torch.int32))
    >>> torch.allclose(out[2:], a[2:] @ b[1], atol=1e-6), out.shape
    (True, torch.Size([5, 4]))
    """
    _check_grouped(mat_a, mat_b, offs, bias, out_dtype)
    if offs is None:  # both 3-D
        return contract("g m k, g k n -> g m n", mat_a, mat_b)
    ends = [int(end) for end in offs.tolist()]
    starts = [0, *ends[:-1]]
    if mat_a.ndim == 2 and mat_b.ndim == 3:  # rows of a by group
        pieces = [
            contract("m k, k n -> m n", mat_a[s:e], mat_b[g]) for g, (s, e) in enumerate(zip(starts, ends))
        ]
        rest = mat_a.new_zeros(mat_a.shape[0] - ends[-1], mat_b.shape[-1])
        return torch.cat([*pieces, rest], dim=0)
    if mat_a.ndim == 3 and mat_b.ndim == 2:  # columns of b by group
        pieces = [
            contract("m k, k n -> m n", mat_a[g], mat_b[:, s:e]) for g, (s, e) in enumerate(zip(starts, ends))
        ]
        rest = mat_b.new_zeros(mat_a.shape[1], mat_b.shape[1] - ends[-1])
        return torch.cat([*pieces, rest], dim=1)
    # both 2-D: the contracted k by group, one (m, n) product each
    pieces = [contract("m k, k n -> m n", mat_a[:, s:e], mat_b[s:e]) for s, e in zip(starts, ends)]
    return torch.stack(pieces)


def _check_grouped_strides(name: str, mat: torch.Tensor) -> None:
    """torch's kernel reads each matrix row- or column-major, its leading stride a multiple of 16
    bytes (what a size-1 or narrowed dim can break)."""
    strides, sizes, alignment = mat.stride(), mat.shape, 16 // mat.element_size()
    if strides[-2] == 1 and strides[-1] >= max(1, sizes[-2]):
        leading = strides[-1]
    elif strides[-1] == 1 and strides[-2] >= max(1, sizes[-1]):
        leading = strides[-2]
    else:
        raise RuntimeError(
            f"grouped_mm: Invalid strides/sizes of {name}, got {tuple(strides)} for strides and "
            f"{tuple(sizes)} for sizes"
        )
    if leading % alignment:
        raise RuntimeError(
            f"grouped_mm: strides should be multiple of 16 bytes, {name} has strides {tuple(strides)}"
        )


def _check_grouped(
    mat_a: torch.Tensor,
    mat_b: torch.Tensor,
    offs: torch.Tensor | None,
    bias: torch.Tensor | None,
    out_dtype: torch.dtype | None,
) -> None:
    shapes = {"mat_a": ("[g] m k", mat_a.shape), "mat_b": ("[g] k n", mat_b.shape)}
    for name, mat in (("mat_a", mat_a), ("mat_b", mat_b)):
        if mat.ndim not in (2, 3):
            raise fail(RuntimeError, "grouped_mm", f"{name} has to be 2 or 3d, got {mat.ndim}-D", shapes)
        if mat.dtype not in _GROUPED_DTYPES:
            raise RuntimeError(
                f"grouped_mm: expected {name} to be Float32, BFloat16 or Float16, got {mat.dtype}"
            )
    check_same_dtype("grouped_mm", mat_a=mat_a, mat_b=mat_b)
    if bias is not None:
        raise RuntimeError("grouped_mm: bias is not supported (as in torch 2.13)")
    if out_dtype is not None and out_dtype != mat_a.dtype:
        raise RuntimeError(f"grouped_mm: out_dtype must match mat_a's dtype {mat_a.dtype}, got {out_dtype}")
    if mat_a.shape[-1] != mat_b.shape[-2]:
        raise fail(
            RuntimeError,
            "grouped_mm",
            f"contraction dimension of mat_a and mat_b must match: {mat_a.shape[-1]} and {mat_b.shape[-2]}",
            shapes,
        )
    both_3d = mat_a.ndim == 3 and mat_b.ndim == 3
    if both_3d != (offs is None):
        raise fail(
            RuntimeError,
            "grouped_mm",
            "offs must be given when an operand is 2-D, and only then",
            shapes,
        )
    for name, mat in (("mat_a", mat_a), ("mat_b", mat_b)):
        _check_grouped_strides(name, mat)
    if offs is None:  # both 3-D
        if mat_a.shape[0] != mat_b.shape[0]:
            raise fail(RuntimeError, "grouped_mm", "batched dimension has to match", shapes)
        return
    if offs.dtype != torch.int32:
        raise RuntimeError(f"grouped_mm: offs has to be int32, got {offs.dtype}")
    if offs.ndim != 1 or offs.numel() == 0:
        raise RuntimeError(
            f"grouped_mm: offs has to be a non-empty 1-D tensor, got shape {tuple(offs.shape)}"
        )
    groups = mat_b.shape[0] if mat_b.ndim == 3 else mat_a.shape[0] if mat_a.ndim == 3 else offs.numel()
    if offs.numel() != groups:
        raise fail(
            RuntimeError,
            "grouped_mm",
            f"{offs.numel()} offsets for {groups} groups: matrix batch sizes have to match",
            shapes,
        )
    length = mat_a.shape[0] if mat_b.ndim == 3 else mat_b.shape[1] if mat_a.ndim == 3 else mat_a.shape[1]
    ends = offs.tolist()
    if any(b < a for a, b in zip([0, *ends], ends)) or ends[-1] > length:
        raise RuntimeError(
            f"grouped_mm: offs must be non-decreasing and at most {length} (the length of the cut dim), "
            f"got offs={ends}"
        )
