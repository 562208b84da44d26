"""Normalization: subtract a mean, divide by a root mean square, over the axes that make a group.

Legend: b batch, c channels, g groups, ... the remaining (spatial or feature) dims, k the window
of local_response_norm.

    standardize over axes A    (x − mean_A(x)) · 1/√(var_A(x) + eps),  var biased (÷ n)
    batch_norm                 A = b ...      per channel; running stats updated in place
    instance_norm              A = ...        per (b, c)
    group_norm                 A = c ...      of  b (g c) ... → b g (c ...)
    layer_norm                 A = the trailing normalized_shape dims
    rms_norm                   x · 1/√(mean_A(x²) + eps)
    local_response_norm        x / (k + alpha · mean over a window of k channels of x²)^beta
    normalize                  x / max(‖x‖_p over dim, eps)

The running statistics of batch_norm and instance_norm follow torch exactly:
``running = momentum · batch + (1 − momentum) · running``, written into the given tensors in place
(without autograd); the variance stored is the unbiased one (÷ (n − 1)), the one used to
normalize is the biased one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .._args import (
    channels_last_format,
    check_floating,
    check_positive,
    fail,
    in_memory_format,
    normalize_dim,
)
from .._trace import rearrange
from .._windows import sliding_windows

__all__ = [
    "batch_norm",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "local_response_norm",
    "normalize",
    "rms_norm",
]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _standardize(
    x: torch.Tensor, dims: Sequence[int], eps: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x − mean) · 1/√(var + eps) over ``dims``; also the mean and the sum of squared deviations
    (kept dims, for the running statistics)."""
    dims = list(dims)
    mean = x.mean(dims, keepdim=True)
    centered = x - mean
    squares = (centered * centered).sum(dims, keepdim=True)
    count = math.prod([x.shape[d] for d in dims])  # a list: dynamo cannot pass a generator
    variance = squares / count  # biased
    return centered * torch.rsqrt(variance + eps), mean, squares


def _compute(input: torch.Tensor) -> torch.Tensor:
    """The input in the dtype torch computes statistics in: float32 for half and bfloat16."""
    return input.float() if input.dtype in _LOW_PRECISION else input


def _check_dtypes(op: str, input: torch.Tensor, **others: torch.Tensor | None) -> None:
    """torch's CPU rule: parameters share the input's dtype (float32 also allowed for half inputs)."""
    for name, tensor in others.items():
        if tensor is None or tensor.dtype == input.dtype:
            continue
        if input.dtype in _LOW_PRECISION and tensor.dtype == torch.float32:
            continue
        raise RuntimeError(
            f"{op}: mixed dtype (CPU): all inputs must share same datatype, but input is {input.dtype} "
            f"and {name} is {tensor.dtype}"
        )


def _check_numel(op: str, name: str, tensor: torch.Tensor | None, expected: int, shapes: dict) -> None:
    if tensor is not None and tensor.numel() != expected:
        raise fail(
            RuntimeError,
            op,
            f"{name} should contain {expected} elements not {tensor.numel()}",
            {**shapes, name: ("c", tensor.shape)},
        )


def _check_momentum(op: str, momentum: float | None) -> None:
    if momentum is None or isinstance(momentum, bool) or not isinstance(momentum, int | float):
        raise TypeError(f"{op}(): argument 'momentum' must be float, not {type(momentum).__name__}")


def _per_channel(tensor: torch.Tensor, ndim: int) -> torch.Tensor:
    """A (c,) tensor shaped to broadcast over (b, c, ...) of ``ndim`` dims: c 1 … 1."""
    return tensor.reshape(-1, *[1] * (ndim - 2))


def _affine(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None) -> torch.Tensor:
    if weight is not None:
        x = x * weight
    if bias is not None:
        x = x + bias
    return x


def _channel_affine(
    out: torch.Tensor, input: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None
) -> torch.Tensor:
    """out · weight + bias with (c,) parameters broadcast over b c ..., in the input's dtype."""
    weight = None if weight is None else _per_channel(weight, input.ndim)
    bias = None if bias is None else _per_channel(bias, input.ndim)
    return _affine(out, weight, bias).to(input.dtype)


def _with_running_stats(
    input: torch.Tensor, running_mean: torch.Tensor, running_var: torch.Tensor, eps: float
) -> torch.Tensor:
    """(x − running_mean) · 1/√(running_var + eps), per channel c of b c ..."""
    mean, var = _per_channel(running_mean, input.ndim), _per_channel(running_var, input.ndim)
    return (_compute(input) - mean) * torch.rsqrt(var + eps)


def _check_channel_tensors(
    op: str,
    input: torch.Tensor,
    weight: torch.Tensor | None,
    bias: torch.Tensor | None,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
) -> None:
    """batch_norm's and instance_norm's per-channel tensors: c elements each, the input's dtype;
    the input floating point."""
    shapes = {"input": ("b c ...", input.shape)}
    tensors = {"weight": weight, "bias": bias, "running_mean": running_mean, "running_var": running_var}
    channels = input.shape[1] if input.ndim > 1 else 0  # torch: a 1-d input has no channels
    for name, tensor in tensors.items():
        _check_numel(op, name, tensor, channels, shapes)
        if tensor is not None and tensor.ndim != 1 and name.startswith("running"):
            raise fail(
                RuntimeError,
                op,
                f"{name} must be 1-d, got {tensor.ndim} dims",
                {**shapes, name: ("c", tensor.shape)},
            )
    check_floating(op, input)
    _check_dtypes(op, input, **tensors)


def _verify_values_per_channel(op: str, input: torch.Tensor, sizes: Sequence[int]) -> None:
    if math.prod([sizes[0], *sizes[2:]]) == 1:
        raise fail(
            ValueError,
            op,
            f"Expected more than 1 value per channel when training, got input size {list(input.shape)}",
            {"input": ("b c ...", input.shape)},
        )


def batch_norm(
    input: torch.Tensor,
    running_mean: torch.Tensor | None,
    running_var: torch.Tensor | None,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Standardize each channel over the batch and the remaining dims: input (b, c, ...).

    Training: the batch's mean and biased variance normalize, and ``running_mean``/``running_var``
    (when given) move toward the batch's mean and unbiased variance, in place. Not training: the
    running statistics normalize.

    >>> x = torch.randn(8, 3, 5)
    >>> mean, var = torch.zeros(3), torch.ones(3)
    >>> y = batch_norm(x, mean, var, training=True, momentum=0.5)
    >>> torch.allclose(mean, 0.5 * x.mean((0, 2)), atol=1e-6)
    True
    """
    if training:
        _verify_values_per_channel("batch_norm", input, input.shape)
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm: batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm: batch_norm eps must be non-negative, but got {eps}")
    _check_momentum("batch_norm", momentum)
    if training and (running_mean is None) != (running_var is None):
        raise ValueError(
            "batch_norm: running_mean and running_var must either both be None or neither be None"
        )
    for name, tensor in (("running_mean", running_mean), ("running_var", running_var)):
        if not training and tensor is None:
            raise RuntimeError(f"batch_norm: {name} must be defined in evaluation mode")
    if input.numel() == 0:  # torch returns an empty tensor, checking nothing more
        return input.clone()
    _check_channel_tensors("batch_norm", input, weight, bias, running_mean, running_var)
    if input.ndim < 2:
        raise IndexError(
            f"batch_norm: Dimension out of range (expected to be in range of [-1, 0], but got 1): input must "
            f"be (b, c, ...), got shape {tuple(input.shape)}"
        )

    dims = [0, *range(2, input.ndim)]  # b ...
    if training:
        out, mean, squares = _standardize(_compute(input), dims, eps)
        count = math.prod([input.shape[d] for d in dims])
        if running_mean is not None and running_var is not None and count > 0:
            with torch.no_grad():
                running_mean.copy_(momentum * mean.reshape(-1) + (1 - momentum) * running_mean)
                running_var.copy_(
                    momentum * (squares.reshape(-1) / (count - 1)) + (1 - momentum) * running_var
                )
    else:
        assert running_mean is not None and running_var is not None  # checked above; for the type checker
        out = _with_running_stats(input, running_mean, running_var, eps)
    return in_memory_format(
        _channel_affine(out, input, weight, bias), channels_last_format(input), otherwise_contiguous=True
    )


def instance_norm(
    input: torch.Tensor,
    running_mean: torch.Tensor | None = None,
    running_var: torch.Tensor | None = None,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Standardize each (b, c) instance over its remaining dims: input (b, c, ...).

    With ``use_input_stats`` the instance's own statistics normalize and the running statistics
    (when given) move toward their average over the batch, in place; without, the running
    statistics normalize.

    >>> instance_norm(torch.randn(2, 3, 10)).mean(-1).abs().max() < 1e-6
    tensor(True)
    """
    if use_input_stats and math.prod(input.shape[2:]) == 1:
        raise fail(
            ValueError,
            "instance_norm",
            f"Expected more than 1 spatial element when training, got input size {list(input.shape)}",
            {"input": ("b c ...", input.shape)},
        )
    _check_momentum("instance_norm", momentum)
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError(
            "instance_norm: Expected running_mean and running_var to be defined when use_input_stats is false"
        )
    if (running_mean is None) != (running_var is None):
        raise ValueError(
            "instance_norm: running_mean and running_var must either both be None or neither be None"
        )
    _check_channel_tensors("instance_norm", input, weight, bias, running_mean, running_var)

    dims = list(range(2, input.ndim))  # ...
    if use_input_stats:
        out, mean, squares = _standardize(_compute(input), dims, eps)
        count = math.prod(input.shape[2:])
        with torch.no_grad():  # each instance updates its own copy; the copies are averaged over b
            if running_mean is not None:
                running_mean.copy_(
                    (momentum * mean.reshape(input.shape[:2]) + (1 - momentum) * running_mean).mean(0)
                )
            if running_var is not None:
                unbiased = squares.reshape(input.shape[:2]) / (count - 1)
                running_var.copy_((momentum * unbiased + (1 - momentum) * running_var).mean(0))
    else:
        assert running_mean is not None and running_var is not None  # checked above; for the type checker
        out = _with_running_stats(input, running_mean, running_var, eps)
    return _channel_affine(out, input, weight, bias).contiguous()  # torch's: contiguous, whatever the input


def group_norm(
    input: torch.Tensor,
    num_groups: int,
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Standardize each group of channels over the group and the remaining dims:
    input (b, g·c, ...) → b g (c ...) standardized over (c ...), then a per-channel affine.

    >>> group_norm(torch.randn(2, 6, 4), 3).shape
    torch.Size([2, 6, 4])
    """
    if input.ndim < 2:
        raise fail(
            RuntimeError,
            "group_norm",
            f"Expected at least 2 dimensions for input tensor but received {input.ndim}",
            {"input": ("b (g c) ...", input.shape)},
        )
    if isinstance(num_groups, bool) or not isinstance(num_groups, int):
        raise TypeError(
            f"group_norm: argument 'num_groups' (position 2) must be int, not {type(num_groups).__name__}"
        )
    if num_groups == 0:
        raise ZeroDivisionError("group_norm: integer division or modulo by zero (num_groups=0)")
    batch, channels = input.shape[0], input.shape[1]
    if batch * channels // num_groups * math.prod(input.shape[2:]) == 1:
        raise fail(
            ValueError,
            "group_norm",
            "Expected more than 1 value per channel when training, got input size "
            f"{[batch * channels // num_groups, num_groups, *input.shape[2:]]}",
            {"input": ("b (g c) ...", input.shape)},
        )
    shapes = {"input": ("b (g c) ...", input.shape)}
    if num_groups < 0 or channels % num_groups:
        raise fail(
            RuntimeError,
            "group_norm",
            "Expected number of channels in input to be divisible by num_groups, but got input of shape "
            f"{list(input.shape)} and num_groups={num_groups}",
            shapes,
        )
    for name, tensor in (("weight", weight), ("bias", bias)):
        if tensor is not None and (tensor.ndim != 1 or tensor.numel() != channels):
            raise fail(
                RuntimeError,
                "group_norm",
                f"Expected {name} to be a vector of size equal to the number of channels in input, but got "
                f"{name} of shape {list(tensor.shape)} and input of shape {list(input.shape)}",
                {**shapes, name: ("(g c)", tensor.shape)},
            )
    _check_dtypes("group_norm", input, weight=weight, bias=bias)
    check_floating("group_norm", input)
    if input.numel() == 0:
        out = input * 1
    else:
        grouped = rearrange(_compute(input), "b (g c) ... -> b g (c ...)", g=num_groups)
        out, _, _ = _standardize(grouped, [-1], eps)
        out = out.reshape(input.shape)  # b (g c) ...
    return in_memory_format(
        _channel_affine(out, input, weight, bias), channels_last_format(input), otherwise_contiguous=True
    )


def _trailing_shape(op: str, input: torch.Tensor, normalized_shape: Sequence[int] | int, separator: str):
    if isinstance(normalized_shape, int):
        raise TypeError(f"{op}(): argument 'normalized_shape' must be tuple of ints, not int")
    shape = tuple(normalized_shape)
    if not shape:
        raise RuntimeError(
            f"{op}: Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
            "element, but got normalized_shape = []"
        )
    if input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape) :]) != shape:
        listed = ", ".join(map(str, shape))
        raise fail(
            RuntimeError,
            op,
            f"Given normalized_shape={list(shape)}, expected input with shape [*{separator}{listed}], "
            f"but got input of size{list(input.shape)}",
            {"input": ("... " + " ".join(f"n{i}" for i in range(len(shape))), input.shape)},
        )
    return shape


def _check_like_shape(op: str, name: str, tensor: torch.Tensor | None, shape: tuple[int, ...]) -> None:
    if tensor is not None and tuple(tensor.shape) != shape:
        raise fail(
            RuntimeError,
            op,
            f"Expected {name} to be of same shape as normalized_shape, but got {name} of shape "
            f"{list(tensor.shape)} and normalized_shape = {list(shape)}",
            {name: ("n ...", tensor.shape)},
        )


def layer_norm(
    input: torch.Tensor,
    normalized_shape: Sequence[int],
    weight: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Standardize over the trailing ``normalized_shape`` dims, then an elementwise affine.

    >>> y = layer_norm(torch.randn(2, 5, 4), [4])
    >>> bool(y.mean(-1).abs().max() < 1e-6)
    True
    """
    shape = _trailing_shape("layer_norm", input, normalized_shape, ", ")
    _check_like_shape("layer_norm", "weight", weight, shape)
    _check_like_shape("layer_norm", "bias", bias, shape)
    _check_dtypes("layer_norm", input, weight=weight, bias=bias)
    check_floating("layer_norm", input)
    dims = list(range(input.ndim - len(shape), input.ndim))
    out = _standardize(_compute(input), dims, eps)[0] if input.numel() else input * 1
    return _affine(out, weight, bias).to(input.dtype).contiguous()  # torch's kernel: a contiguous result


def rms_norm(
    input: torch.Tensor,
    normalized_shape: Sequence[int],
    weight: torch.Tensor | None = None,
    eps: float | None = None,
) -> torch.Tensor:
    """x · 1/√(mean(x²) + eps) over the trailing ``normalized_shape`` dims, times ``weight``;
    ``eps=None`` is the machine epsilon of the input's (computation) dtype, as torch.

    >>> y = rms_norm(torch.randn(3, 8), [8])
    >>> torch.allclose(y.pow(2).mean(-1), torch.ones(3), atol=1e-5)
    True
    """
    shape = _trailing_shape("rms_norm", input, normalized_shape, "")
    _check_like_shape("rms_norm", "weight", weight, shape)
    if not input.is_complex():  # torch's rms_norm takes complex input too
        check_floating("rms_norm", input)
    dims = list(range(input.ndim - len(shape), input.ndim))
    x = _compute(input)
    if eps is None:
        eps = torch.finfo(x.dtype).eps
    out = x * torch.rsqrt((x * x).mean(dims, keepdim=True) + eps)
    out = (out if weight is None else out * weight).to(input.dtype)  # one rounding, as torch
    return out.contiguous()


def local_response_norm(
    input: torch.Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> torch.Tensor:
    """x / (k + alpha · mean(x²) over a window of ``size`` neighbouring channels)^beta;
    the channel axis is zero-padded by size//2 before and (size−1)//2 after.

    Legend: b batch, c channels, r the remaining dims flattened, k window offsets.
    x² (b, c, ...) → b r c → windows b r c k → mean over k → b c ...

    >>> local_response_norm(torch.randn(2, 5, 3, 3), 3).shape
    torch.Size([2, 5, 3, 3])
    """
    if input.ndim < 3:
        raise fail(
            ValueError,
            "local_response_norm",
            f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)",
            {"input": ("b c ...", input.shape)},
        )
    check_positive((size,), "size", "local_response_norm")
    check_floating("local_response_norm", input)  # torch's average pool refuses integers
    if input.ndim > 3 and input.dtype == torch.float16:  # torch averages with its 3-d pool: no half kernel
        raise NotImplementedError(
            "local_response_norm: not implemented for torch.float16 input of 4 or more dims"
        )
    if input.numel() == 0:
        return input
    squares = rearrange(input * input, "b c ... -> b (...) c")  # b r c
    windows = sliding_windows(squares, (size,), (1,), [(size // 2, (size - 1) // 2)])  # b r c k
    average = rearrange(windows.mean(-1), "b r c -> b c r").reshape(input.shape)
    return input / (average * alpha + k) ** beta


def _vector_norm(x: torch.Tensor, p: float, dim: int | tuple[int, ...]) -> torch.Tensor:
    """‖x‖_p along ``dim`` (kept; one dim or several), with torch's gradient conventions: 0 at a
    zero vector (and at zero entries for p < 1), split evenly among ties for p = ±∞."""
    magnitude = x.abs()
    if p == math.inf:
        return magnitude.amax(dim, keepdim=True)
    if p == -math.inf:
        return magnitude.amin(dim, keepdim=True)
    if p == 0:  # the count of nonzero entries (NaN counts), with gradient 0 — as torch, not none
        return magnitude.sign().nan_to_num(1.0).sum(dim, keepdim=True)
    if p == 1:
        return magnitude.sum(dim, keepdim=True)
    if p < 0:
        return (magnitude**p).sum(dim, keepdim=True) ** (1 / p)
    nonzero = magnitude != 0
    total = torch.where(nonzero, torch.where(nonzero, magnitude, 1) ** p, 0).sum(dim, keepdim=True)
    positive = total != 0
    return torch.where(positive, torch.where(positive, total, 1) ** (1 / p), 0)


def normalize(
    input: torch.Tensor,
    p: float = 2.0,
    dim: int | Sequence[int] = 1,
    eps: float = 1e-12,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """x / max(‖x‖_p, eps), the p-norm taken along ``dim`` (an int or a sequence of ints).

    >>> normalize(torch.tensor([[3.0, 4.0]]))
    tensor([[0.6000, 0.8000]])
    >>> normalize(torch.ones(2, 2), dim=(0, 1))
    tensor([[0.5000, 0.5000],
            [0.5000, 0.5000]])
    """
    if isinstance(dim, int):
        dims: int | tuple[int, ...] = normalize_dim(dim, input.ndim, "normalize")
    else:
        dims = tuple(normalize_dim(d, input.ndim, "normalize") for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"normalize: a dim appears more than once in the list of dims, got dim={dim}")
    if not (input.is_floating_point() or input.is_complex()):
        raise RuntimeError(f"normalize: expected a floating point or complex input, got {input.dtype}")
    norm = _vector_norm(_compute(input), p, dims).to(input.dtype)  # half: accumulated in float32, as torch
    denominator = norm.clamp_min(eps).expand_as(input)
    if out is None:
        return input / denominator
    return torch.div(input, denominator, out=out)
