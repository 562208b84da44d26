"""Normalization modules: torch.nn's constructors, parameters, buffers (``running_mean``,
``running_var``, ``num_batches_tracked``), state_dict versions and reprs; forward is one call into
``scratchnn.functional``."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, ClassVar, cast

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter

from .. import functional as F
from .._args import warn

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LayerNorm",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "LocalResponseNorm",
    "RMSNorm",
]


def _affine_parameters(
    module: nn.Module, shape: int | tuple[int, ...], affine: bool, bias: bool, factory: dict[str, Any]
) -> None:
    """Register ``weight`` and ``bias`` of ``shape`` (bias only with ``bias``), or None when not
    ``affine``, as torch's modules do; :func:`_reset_affine` fills them."""
    module.register_parameter("weight", nn.Parameter(torch.empty(shape, **factory)) if affine else None)
    module.register_parameter(
        "bias", nn.Parameter(torch.empty(shape, **factory)) if affine and bias else None
    )


def _reset_affine(weight: torch.Tensor | None, bias: torch.Tensor | None) -> None:
    """weight = 1, bias = 0 (those that exist)."""
    if weight is not None:
        nn.init.ones_(weight)
    if bias is not None:
        nn.init.zeros_(bias)


class _NormBase(nn.Module):
    """Parameters and running statistics shared by batch and instance norm (torch's ``_NormBase``):
    weight (c,) = 1, bias (c,) = 0 when ``affine``; running_mean (c,) = 0, running_var (c,) = 1
    and num_batches_tracked () = 0 (int64) when ``track_running_stats``, else those buffers are None."""

    _version = 2  # state_dicts of version < 2 lack num_batches_tracked
    __constants__: ClassVar[list[str]] = ["track_running_stats", "momentum", "eps", "num_features", "affine"]
    num_features: int
    eps: float
    momentum: float | None
    affine: bool
    track_running_stats: bool
    weight: torch.Tensor | None
    bias: torch.Tensor | None
    running_mean: torch.Tensor | None
    running_var: torch.Tensor | None
    num_batches_tracked: torch.Tensor | None

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine_parameters(self, num_features, affine, bias, factory)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **factory))
            self.register_buffer("running_var", torch.ones(num_features, **factory))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if (
            self.running_mean is not None
            and self.running_var is not None
            and self.num_batches_tracked is not None
        ):
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self.weight, self.bias)

    def _check_input_dim(self, input: torch.Tensor) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ) -> None:
        version = local_metadata.get("version", None)
        if (version is None or version < 2) and self.track_running_stats:
            key = prefix + "num_batches_tracked"  # checkpoints from before version 2 lack it
            if key not in state_dict:
                state_dict[key] = (
                    self.num_batches_tracked
                    if self.num_batches_tracked is not None
                    and self.num_batches_tracked.device != torch.device("meta")
                    else torch.tensor(0, dtype=torch.long)
                )
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )


class _BatchNorm(_NormBase):
    """Batch norm over (b, c, ...): batch statistics while training (the running ones move toward
    them, in place), running statistics in eval mode; ``momentum=None`` averages all batches seen
    (factor 1 / num_batches_tracked)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        counting = self.training and self.track_running_stats and self.num_batches_tracked is not None
        if counting and self.momentum is None:  # the cumulative average over the batches, this one included
            factor = 1.0 / (float(cast(torch.Tensor, self.num_batches_tracked)) + 1)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        # the running statistics are passed when they are updated (training and tracked) or used (eval)
        passed = not self.training or self.track_running_stats
        out = F.batch_norm(
            input,
            self.running_mean if passed else None,
            self.running_var if passed else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )
        if counting:  # after the call: a call that raises changes no state
            cast(torch.Tensor, self.num_batches_tracked).add_(1)
        return out


class BatchNorm1d(_BatchNorm):
    """``torch.nn.BatchNorm1d``: input (b, c) or (b, c, l).

    >>> BatchNorm1d(4)
    BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() not in (2, 3):
            raise ValueError(f"BatchNorm1d: expected 2D or 3D input (got {input.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """``torch.nn.BatchNorm2d``: input (b, c, h, w)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() != 4:
            raise ValueError(f"BatchNorm2d: expected 4D input (got {input.dim()}D input)")


class BatchNorm3d(_BatchNorm):
    """``torch.nn.BatchNorm3d``: input (b, c, d, h, w)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() != 5:
            raise ValueError(f"BatchNorm3d: expected 5D input (got {input.dim()}D input)")


class _InstanceNorm(_NormBase):
    """Instance norm over (b, c, ...) or unbatched (c, ...); no affine and no running statistics
    by default. With ``track_running_stats``, eval mode normalizes with the running statistics."""

    unbatched_rank: int = 0

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _check_input_dim(self, input: torch.Tensor) -> None:
        ranks = (self.unbatched_rank, self.unbatched_rank + 1)
        if input.dim() not in ranks:
            raise ValueError(
                f"{type(self).__name__}: expected {ranks[0]}D or {ranks[1]}D input (got {input.dim()}D input)"
            )

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ) -> None:
        version = local_metadata.get("version", None)
        if version is None and not self.track_running_stats:  # checkpoints from before torch 0.4
            keys = [prefix + name for name in ("running_mean", "running_var") if prefix + name in state_dict]
            if keys:
                klass = type(self).__name__
                error_msgs.append(
                    f"Unexpected running stats buffer(s) {' and '.join(f'{k!r}' for k in keys)} for {klass} "
                    "with track_running_stats=False. If state_dict is a checkpoint saved before 0.4.0, this "
                    f"may be expected because {klass} does not track running stats by default since 0.4.0. "
                    "Please remove these keys from state_dict. If the running stats are actually needed, "
                    f"instead set track_running_stats=True in {klass} to enable them. See the documentation "
                    f"of {klass} for details."
                )
                for key in keys:
                    state_dict.pop(key)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )

    def _apply_instance_norm(self, input: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(
            input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0,
            self.eps,
        )

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(input)
        feature_dim = input.dim() - self.unbatched_rank
        if input.size(feature_dim) != self.num_features:
            if self.affine:
                raise ValueError(
                    f"{type(self).__name__}: expected input's size at dim={feature_dim} to match "
                    f"num_features ({self.num_features}), but got: {input.size(feature_dim)}."
                )
            warn(
                f"input's size at dim={feature_dim} does not match num_features. You can silence this "
                "warning by not passing in num_features, which is not used because affine=False",
                stacklevel=2,
            )
        if input.dim() == self.unbatched_rank:  # (c, ...): a batch of one
            return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)
        return self._apply_instance_norm(input)


class InstanceNorm1d(_InstanceNorm):
    """``torch.nn.InstanceNorm1d``: input (b, c, l) or (c, l).

    >>> InstanceNorm1d(3, affine=True)
    InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=False)
    """

    unbatched_rank = 2


class InstanceNorm2d(_InstanceNorm):
    """``torch.nn.InstanceNorm2d``: input (b, c, h, w) or (c, h, w)."""

    unbatched_rank = 3


class InstanceNorm3d(_InstanceNorm):
    """``torch.nn.InstanceNorm3d``: input (b, c, d, h, w) or (c, d, h, w)."""

    unbatched_rank = 4


def _as_shape(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    """An int (numpy's too) as a 1-tuple, a sequence as a tuple, as torch does."""
    if isinstance(normalized_shape, Sequence):
        return tuple(normalized_shape)
    return (operator.index(normalized_shape),)


class LayerNorm(nn.Module):
    """``torch.nn.LayerNorm``: standardize the trailing ``normalized_shape`` dims; weight = 1 and
    bias = 0 of that shape when ``elementwise_affine``.

    >>> LayerNorm(8)
    LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)
    """

    __constants__: ClassVar[list[str]] = ["normalized_shape", "eps", "elementwise_affine"]
    normalized_shape: tuple[int, ...]
    eps: float
    elementwise_affine: bool
    weight: torch.Tensor | None
    bias: torch.Tensor | None

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        _affine_parameters(self, self.normalized_shape, elementwise_affine, bias, factory)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self.weight, self.bias)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class GroupNorm(nn.Module):
    """``torch.nn.GroupNorm``: standardize groups of channels of (b, g·c, ...); weight = 1 and
    bias = 0 per channel when ``affine``.

    >>> GroupNorm(2, 6)
    GroupNorm(2, 6, eps=1e-05, affine=True, bias=True)
    """

    __constants__: ClassVar[list[str]] = ["num_groups", "num_channels", "eps", "affine"]
    num_groups: int
    num_channels: int
    eps: float
    affine: bool
    weight: torch.Tensor | None
    bias: torch.Tensor | None

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        if num_channels % num_groups != 0:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        _affine_parameters(self, num_channels, affine, bias, factory)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self.weight, self.bias)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class RMSNorm(nn.Module):
    """``torch.nn.RMSNorm``: x / rms(x) over the trailing ``normalized_shape`` dims, times weight = 1.

    >>> RMSNorm([4, 8], eps=1e-6)
    RMSNorm((4, 8), eps=1e-06, elementwise_affine=True)
    """

    __constants__: ClassVar[list[str]] = ["normalized_shape", "eps", "elementwise_affine"]
    normalized_shape: tuple[int, ...]
    eps: float | None
    elementwise_affine: bool
    weight: torch.Tensor | None

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        weight = torch.empty(self.normalized_shape, device=device, dtype=dtype)
        self.register_parameter("weight", nn.Parameter(weight) if elementwise_affine else None)  # no bias
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset_affine(self.weight, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(nn.Module):
    """``torch.nn.LocalResponseNorm``: x / (k + alpha · mean of x² over ``size`` channels)^beta.

    >>> LocalResponseNorm(2)
    LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)
    """

    __constants__: ClassVar[list[str]] = ["size", "alpha", "beta", "k"]
    size: int
    alpha: float
    beta: float
    k: float

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


# ---------------------------------------------------------------------------------------------
# Lazy batch and instance norms: num_features read from the first input (torch's LazyModuleMixin).


class _LazyNormBase(LazyModuleMixin, _NormBase):
    """torch's ``_LazyNormBase``: ``num_features`` is the first input's dim 1; weight, bias and
    the running statistics are materialized then and reset as torch does. Note torch's defaults:
    ``affine`` and ``track_running_stats`` are True here, for the lazy instance norms too."""

    weight: UninitializedParameter  # type: ignore[assignment]
    bias: UninitializedParameter  # type: ignore[assignment]

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        *,
        bias: bool = True,
    ) -> None:
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        # no parameters or statistics for now: they would be replaced at once
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = UninitializedParameter(**factory)
            if bias:
                self.bias = UninitializedParameter(**factory)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(**factory)
            self.running_var = UninitializedBuffer(**factory)
            self.num_batches_tracked = torch.tensor(0, dtype=torch.long, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: torch.Tensor) -> None:  # type: ignore[override]
        if not self.has_uninitialized_params():
            return
        self.num_features = input.shape[1]  # dim 1, as torch reads it (also for unbatched input)
        if self.affine:
            self.weight.materialize((self.num_features,))
            if self.bias is not None:
                self.bias.materialize((self.num_features,))
        if self.track_running_stats:
            cast(UninitializedBuffer, self.running_mean).materialize((self.num_features,))
            cast(UninitializedBuffer, self.running_var).materialize((self.num_features,))
        self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, BatchNorm1d):
    """``torch.nn.LazyBatchNorm1d``: a :class:`BatchNorm1d` once the first input has set ``num_features``.

    >>> norm = LazyBatchNorm1d()
    >>> norm(torch.randn(8, 3)).shape, type(norm).__name__, norm.running_mean.shape
    (torch.Size([8, 3]), 'BatchNorm1d', torch.Size([3]))
    """

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormBase, BatchNorm2d):
    """``torch.nn.LazyBatchNorm2d``: a :class:`BatchNorm2d` once ``num_features`` is known."""

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNormBase, BatchNorm3d):
    """``torch.nn.LazyBatchNorm3d``: a :class:`BatchNorm3d` once ``num_features`` is known."""

    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNormBase, InstanceNorm1d):
    """``torch.nn.LazyInstanceNorm1d``: an :class:`InstanceNorm1d` once ``num_features`` is known
    (affine and with running statistics by default, as torch's)."""

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNormBase, InstanceNorm2d):
    """``torch.nn.LazyInstanceNorm2d``: an :class:`InstanceNorm2d` once ``num_features`` is known."""

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNormBase, InstanceNorm3d):
    """``torch.nn.LazyInstanceNorm3d``: an :class:`InstanceNorm3d` once ``num_features`` is known."""

    cls_to_become = InstanceNorm3d
