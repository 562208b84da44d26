"""Embeddings: rows of a table picked by index; bags of rows summed, averaged or maxed.

Legend: v vocabulary (rows of weight), d embedding dim, n indices, bag bags.

    embedding       weight (v, d)[input (...)]                     → (..., d)
    one_hot         input (...) == arange(v)                       → (..., v)   int64
    embedding_bag   rows = weight[input] (n, d), bag_of (n,) from offsets
                    sum:  out[bag] = Σ_{j ∈ bag} psw_j · rows_j     → (bag, d)   scatter-add
                    mean: the sum ÷ the bag's size;  max: elementwise max over the bag

Gradients follow torch: rows at ``padding_idx`` get none (and padding indices are left out of
bags), ``scale_grad_by_freq`` divides each row's gradient by how often its index occurs in the
mini-batch, ``sparse=True`` returns the weight's gradient as a sparse COO tensor with one entry
per looked-up index. ``max_norm`` renormalizes the looked-up rows of ``weight`` in place (without
autograd) to norm ≤ max_norm before the lookup, as torch does.
"""

from __future__ import annotations

import torch

from .._args import check_same_dtype, fail, warn
from .normalization import _vector_norm

__all__ = ["embedding", "embedding_bag", "one_hot"]

_SPARSE_FREQ = "embedding_backward: scale_grad_by_freq not supported with sparse gradients"


class _ScaleGradient(torch.autograd.Function):
    """Identity forward; the gradient is multiplied by ``scale`` (for scale_grad_by_freq)."""

    @staticmethod
    def forward(ctx, rows: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(scale)
        return rows.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (scale,) = ctx.saved_tensors
        return grad * scale, None


class _SparseRows(torch.autograd.Function):
    """``weight[indices]`` whose weight gradient is sparse: one COO entry per index in ``keep``."""

    @staticmethod
    def forward(
        ctx, weight: torch.Tensor, indices: torch.Tensor, keep: torch.Tensor, refuse: bool
    ) -> torch.Tensor:
        ctx.save_for_backward(indices, keep)
        ctx.weight_shape, ctx.refuse = weight.shape, refuse
        return weight[indices]

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        if ctx.refuse:
            raise RuntimeError(_SPARSE_FREQ)
        indices, keep = ctx.saved_tensors
        sparse = torch.sparse_coo_tensor(
            indices[keep].unsqueeze(0), grad[keep], ctx.weight_shape, check_invariants=False
        )
        return sparse, None, None, None


def _check_indices(op: str, input: torch.Tensor, argument: str = "indices") -> None:
    if input.dtype not in (torch.int64, torch.int32):
        raise RuntimeError(
            f"{op}: Expected tensor for argument #1 '{argument}' to have one of the following scalar types: "
            f"Long, Int; but got {input.dtype} instead"
        )


def _renorm_(weight: torch.Tensor, indices: torch.Tensor, max_norm: float, norm_type: float) -> None:
    """Scale each looked-up row whose ``norm_type``-norm exceeds ``max_norm`` to max_norm / (norm + 1e-7)
    of itself, in place and outside autograd (torch's embedding_renorm_)."""
    with torch.no_grad():
        table = weight.detach()  # shares storage (and the version counter) with weight, as in torch
        unique = indices.reshape(-1).unique()
        rows = table[unique]  # u d
        norms = _vector_norm(rows, norm_type, 1)  # u 1
        scale = torch.where(norms > max_norm, max_norm / (norms + 1e-7), 1)
        table[unique] = rows * scale.to(rows.dtype)


def _rows(
    weight: torch.Tensor,
    indices: torch.Tensor,
    padding_idx: int | None,
    scale_grad_by_freq: bool,
    sparse: bool,
) -> torch.Tensor:
    """``weight[indices]`` (n, d) with torch's embedding gradient: none at padding_idx, divided by
    the index frequency when ``scale_grad_by_freq``, sparse when ``sparse``."""
    padding = (
        indices == padding_idx if padding_idx is not None else torch.zeros_like(indices, dtype=torch.bool)
    )
    if sparse:
        return _SparseRows.apply(weight, indices, ~padding, scale_grad_by_freq and weight.requires_grad)
    rows = weight[indices]  # n d; autograd's backward of indexing adds each row's gradient back
    if padding_idx is not None:
        rows = torch.where(padding.unsqueeze(-1), rows.detach(), rows)
    if scale_grad_by_freq and rows.requires_grad:
        _, inverse, counts = indices.unique(return_inverse=True, return_counts=True)
        rows = _ScaleGradient.apply(rows, 1 / counts[inverse].to(rows.dtype).unsqueeze(-1))
    return rows


def embedding(
    input: torch.Tensor,
    weight: torch.Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> torch.Tensor:
    """Rows of ``weight`` (v, d) picked by ``input`` (...) → (..., d).

    >>> table = torch.arange(6.0).reshape(3, 2)
    >>> embedding(torch.tensor([[2, 0]]), table)
    tensor([[[4., 5.],
             [0., 1.]]])
    """
    if padding_idx is not None:
        if padding_idx >= weight.size(0) or padding_idx < -weight.size(0):
            raise AssertionError(
                f"embedding: Padding_idx must be within num_embeddings, got padding_idx={padding_idx} "
                f"for {weight.size(0)} embeddings"
            )
        padding_idx = padding_idx % weight.size(0)
    if weight.ndim != 2:
        raise fail(RuntimeError, "embedding", "'weight' must be 2-D", {"weight": ("v d", weight.shape)})
    _check_indices("embedding", input)
    # data-dependent: checked eagerly; a compiled graph relies on the indexing's own bounds check
    if (
        not torch.compiler.is_compiling()
        and input.numel()
        and (input.min() < 0 or input.max() >= weight.size(0))
    ):
        if weight.size(0) == 0:  # torch's index_select on an empty table
            raise RuntimeError(
                "embedding: index_select(): self indexing axis dim should be positive (weight has 0 rows)"
            )
        bad = input[(input < 0) | (input >= weight.size(0))][0].item()
        raise IndexError(
            f"embedding: index out of range in self: index {bad} for {weight.size(0)} embeddings"
        )
    if max_norm is not None:
        if not (weight.is_floating_point() or weight.is_complex()):
            raise RuntimeError(
                "embedding: norm(): input dtype should be either floating point or complex. "
                f"Got {weight.dtype} instead (max_norm renormalizes the weight's rows)"
            )
        input = input.contiguous()
        _renorm_(weight, input, max_norm, norm_type)
    rows = _rows(weight, input.reshape(-1), padding_idx, scale_grad_by_freq, sparse)  # n d
    return rows.reshape(*input.shape, weight.size(1))


MODES = ("sum", "mean", "max")


def embedding_bag(
    input: torch.Tensor,
    weight: torch.Tensor,
    offsets: torch.Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: torch.Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> torch.Tensor:
    """Sum, mean or max of bags of rows of ``weight`` (v, d) → (bag, d).

    A 2-D ``input`` (bag, n) is one bag per row; a 1-D ``input`` (n,) is cut into bags at
    ``offsets`` (bag i is input[offsets[i] : offsets[i+1]], the last runs to the end, or with
    ``include_last_offset`` offsets has one more entry, the end). Empty bags give zeros.

    >>> table = torch.arange(8.0).reshape(4, 2)
    >>> embedding_bag(torch.tensor([0, 1, 3, 2]), table, torch.tensor([0, 3]), mode="sum")
    tensor([[ 8., 11.],
            [ 4.,  5.]])
    """
    if weight.dtype == torch.long and input.is_floating_point():
        warn(
            "Argument order of nn.functional.embedding_bag was changed. Usage `embedding_bag(weight, input, "
            "...)` is deprecated, and should now be `embedding_bag(input, weight, ...)`.",
            stacklevel=2,
        )
        weight, input = input, weight
    if per_sample_weights is not None and input.size() != per_sample_weights.size():
        raise ValueError(
            f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it must "
            f"have the same shape as the input ({input.shape})"
        )
    if weight.dim() != 2:
        raise ValueError(
            f"embedding_bag: weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()}"
        )
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(
                "embedding_bag: if input is 2D, then offsets has to be None, as input is treated is a "
                f"mini-batch of fixed length sequences. However, found offsets of type {type(offsets)}"
            )
        offsets = torch.arange(0, input.numel(), input.size(1), dtype=input.dtype, device=input.device)
        include_last_offset = False
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("embedding_bag: offsets has to be a 1D Tensor")
    else:
        raise ValueError(
            f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}"
        )
    if mode not in MODES:
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got mode={mode!r}")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("embedding_bag: max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("embedding_bag: max mode does not support sparse weights")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for "
            f"mode='sum' (got mode='{mode}'). Please open a feature request on GitHub."
        )
    padding_idx = _bag_padding(padding_idx, weight.size(0))
    _check_indices("embedding_bag", input)
    _check_indices("embedding_bag", offsets, "offsets")
    _check_bag_input(input, offsets, weight.size(0))
    if not weight.is_floating_point():
        raise RuntimeError(
            "embedding_bag: Expected tensor for argument #1 'weight' to have one of the following scalar "
            f"types: Half, BFloat16, Float, Double; but got {weight.dtype} instead"
        )
    check_same_dtype("embedding_bag", weight=weight, per_sample_weights=per_sample_weights)
    if max_norm is not None:  # in place: after every check, so a call that raises changes nothing
        _renorm_(weight, input, max_norm, norm_type)

    n, dim = input.numel(), weight.size(1)
    bags = offsets.numel() - 1 if include_last_offset else offsets.numel()
    starts = offsets[: max(bags, 0)]
    ends = offsets[1 : bags + 1] if include_last_offset else torch.cat([offsets[1:], offsets.new_tensor([n])])
    positions = torch.arange(n, device=input.device)
    bag_of = torch.bucketize(positions, starts.long(), right=True) - 1  # the last bag starting at or before j
    if bags > 0:
        keep = (bag_of >= 0) & (positions < ends.long()[bag_of.clamp(min=0)])
    else:
        keep = torch.zeros(n, dtype=torch.bool, device=input.device)
    if padding_idx is not None:
        keep &= input != padding_idx  # padding indices belong to no bag
    indices, bag_of = input[keep], bag_of[keep]
    rows = _rows(weight, indices, None, scale_grad_by_freq, sparse)  # n d
    if per_sample_weights is not None:
        rows = rows * per_sample_weights[keep].unsqueeze(-1)
    zeros = torch.zeros(max(bags, 0), dim, dtype=rows.dtype, device=rows.device)
    if mode == "max":  # elementwise max over each bag; an empty bag stays 0
        return zeros.scatter_reduce(0, bag_of.unsqueeze(-1).expand(-1, dim), rows, "amax", include_self=False)
    total = zeros.index_add(0, bag_of, rows)  # bag d: the sum over each bag
    if mode == "sum":
        return total
    sizes = torch.bincount(bag_of, minlength=max(bags, 0)).clamp(min=1).to(rows.dtype)
    return total / sizes.unsqueeze(-1)


def _bag_padding(padding_idx: int | None, num: int) -> int | None:
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise RuntimeError(
            f"embedding_bag: padding_idx must be within the number of embeddings, -{num} through {num - 1}, "
            f"but got {padding_idx}"
        )
    return padding_idx % num


def _check_bag_input(input: torch.Tensor, offsets: torch.Tensor, num: int) -> None:
    if torch.compiler.is_compiling():  # data-dependent checks: eager only (a graph cannot branch on values)
        return
    if input.numel():
        bad = ((input < 0) | (input >= num)).nonzero()
        if bad.numel():
            position = int(bad[0, 0])
            raise RuntimeError(
                f"embedding_bag: Index {position} of input takes value {input[position].item()} which is "
                f"not in the valid range [0, {num})"
            )
    if offsets.numel():
        if offsets[0].item() != 0:
            raise RuntimeError(
                "embedding_bag: offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to "
                f"start from position 0. However, got {offsets[0].item()}"
            )
        if offsets[-1].item() > input.numel():
            raise RuntimeError(
                f"embedding_bag: offsets[-1] can not be greater than input's length {input.numel()} but got "
                f"offsets[-1] of {offsets[-1].item()}"
            )
        if (offsets[1:] < offsets[:-1]).any():
            raise fail(
                RuntimeError,
                "embedding_bag",
                "offsets must be non-decreasing",
                {"offsets": ("bag", offsets.shape)},
            )


def one_hot(input: torch.Tensor, num_classes: int = -1) -> torch.Tensor:
    """out[..., v] = 1 if input[...] == v else 0, int64; ``num_classes=-1`` takes max(input) + 1.

    Legend: v classes. input (...) int64 → output (..., v) int64

    >>> one_hot(torch.tensor([0, 2]))
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int):
        raise TypeError(
            f"one_hot: argument 'num_classes' (position 2) must be int, not {type(num_classes).__name__}"
        )
    if input.dtype != torch.int64:
        raise RuntimeError(
            f"one_hot: one_hot is only applicable to index tensor of type LongTensor, got {input.dtype}"
        )
    if input.numel() == 0:
        if num_classes <= 0:
            raise RuntimeError(
                "one_hot: Can not infer total number of classes from empty tensor "
                f"(num_classes={num_classes}, input shape {tuple(input.shape)})."
            )
        return input.new_zeros((*input.shape, num_classes))
    # torch._check: a RuntimeError in eager mode, a runtime assert under torch.compile (whose
    # messages may hold constants only, not the values found)
    smallest, largest = int(input.min()), int(input.max())
    negative = f"one_hot: Class values must be non-negative (input has shape {tuple(input.shape)})."
    torch._check(smallest >= 0, lambda: negative)
    if num_classes == -1:
        num_classes = largest + 1
    else:
        too_large = f"one_hot: Class values must be smaller than num_classes (num_classes={num_classes})."
        torch._check(largest < num_classes, lambda: too_large)
    classes = torch.arange(num_classes, device=input.device)  # v
    return (input[..., None] == classes).long()  # ... v
