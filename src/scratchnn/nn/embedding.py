"""Embedding modules: torch.nn's constructors, ``from_pretrained``, parameters and reprs; forward
is one call into ``scratchnn.functional``."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from .. import functional as F

__all__ = ["Embedding", "EmbeddingBag"]


def _padding_index(padding_idx: int | None, num_embeddings: int, name: str) -> int | None:
    """A negative ``padding_idx`` counts from the end; out of range is torch's AssertionError."""
    if padding_idx is None:
        return None
    if padding_idx >= num_embeddings or padding_idx < -num_embeddings:
        label = "Padding_idx" if name == "Embedding" else "padding_idx"  # torch's two spellings
        raise AssertionError(
            f"{name}: {label} must be within num_embeddings, got padding_idx={padding_idx} "
            f"for num_embeddings={num_embeddings}"
        )
    return padding_idx % num_embeddings


def _table(
    weight: torch.Tensor | None, shape: tuple[int, int], factory: dict[str, Any], frozen: bool, name: str
) -> nn.Parameter:
    """The module's table: ``weight`` itself (its shape checked), or an uninitialized (v, d) one."""
    if weight is None:
        return nn.Parameter(torch.empty(shape, **factory), requires_grad=not frozen)
    if list(weight.shape) != list(shape):
        raise AssertionError(
            f"{name}: Shape of weight does not match num_embeddings and embedding_dim: "
            f"{tuple(weight.shape)} vs {shape}"
        )
    return nn.Parameter(weight, requires_grad=not frozen)


class Embedding(nn.Module):
    """``torch.nn.Embedding``: a table weight (v, d) ~ N(0, 1), the ``padding_idx`` row zeroed;
    (...) indices → (..., d).

    >>> Embedding(10, 3, padding_idx=0)
    Embedding(10, 3, padding_idx=0)
    >>> Embedding(10, 3)(torch.tensor([[1, 2], [3, 4]])).shape
    torch.Size([2, 2, 3])
    """

    __constants__: ClassVar[list[str]] = [
        "num_embeddings",
        "embedding_dim",
        "padding_idx",
        "max_norm",
        "norm_type",
        "scale_grad_by_freq",
        "sparse",
    ]
    weight: torch.Tensor

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: torch.Tensor | None = None,
        _freeze: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding_index(padding_idx, num_embeddings, "Embedding")
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        factory = {"device": device, "dtype": dtype}
        self.weight = _table(_weight, (num_embeddings, embedding_dim), factory, _freeze, "Embedding")
        if _weight is None:
            self.reset_parameters()
        self.sparse = sparse

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with torch.no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.embedding(
            input,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            text += ", sparse=True"
        return text

    @classmethod
    def from_pretrained(
        cls,
        embeddings: torch.Tensor,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose table is ``embeddings`` (v, d) itself (frozen unless ``freeze=False``)."""
        if embeddings.dim() != 2:
            raise AssertionError(
                "Embedding.from_pretrained: Embeddings parameter is expected to be 2-dimensional"
            )
        rows, cols = embeddings.shape
        return cls(
            num_embeddings=rows,
            embedding_dim=cols,
            _weight=embeddings,
            _freeze=freeze,
            padding_idx=padding_idx,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            sparse=sparse,
        )


class EmbeddingBag(nn.Module):
    """``torch.nn.EmbeddingBag``: sums, means or maxes of bags of rows of a table (v, d).

    >>> EmbeddingBag(10, 3, mode="sum")
    EmbeddingBag(10, 3, mode='sum')
    >>> EmbeddingBag(10, 3)(torch.tensor([1, 2, 4, 5]), torch.tensor([0, 2])).shape
    torch.Size([2, 3])
    """

    __constants__: ClassVar[list[str]] = [
        "num_embeddings",
        "embedding_dim",
        "max_norm",
        "norm_type",
        "scale_grad_by_freq",
        "mode",
        "sparse",
        "include_last_offset",
        "padding_idx",
    ]
    weight: torch.Tensor

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        _weight: torch.Tensor | None = None,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type, self.scale_grad_by_freq = max_norm, norm_type, scale_grad_by_freq
        self.padding_idx = _padding_index(padding_idx, num_embeddings, "EmbeddingBag")
        factory = {"device": device, "dtype": dtype}
        self.weight = _table(_weight, (num_embeddings, embedding_dim), factory, False, "EmbeddingBag")
        if _weight is None:
            self.reset_parameters()
        self.mode, self.sparse, self.include_last_offset = mode, sparse, include_last_offset

    def reset_parameters(self) -> None:
        nn.init.normal_(self.weight)
        if self.padding_idx is not None:
            with torch.no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(
        self,
        input: torch.Tensor,
        offsets: torch.Tensor | None = None,
        per_sample_weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return F.embedding_bag(
            input,
            self.weight,
            offsets,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.mode,
            self.sparse,
            per_sample_weights,
            self.include_last_offset,
            self.padding_idx,
        )

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings!r}, {self.embedding_dim!r}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm!r}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type!r}"
        if self.scale_grad_by_freq is not False:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq!r}"
        text += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx!r}"
        return text

    @classmethod
    def from_pretrained(
        cls,
        embeddings: torch.Tensor,
        freeze: bool = True,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        mode: str = "mean",
        sparse: bool = False,
        include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:
        """An EmbeddingBag whose table is ``embeddings`` (v, d) itself (frozen unless ``freeze=False``)."""
        if embeddings.dim() != 2:
            raise AssertionError(
                "EmbeddingBag.from_pretrained: Embeddings parameter is expected to be 2-dimensional"
            )
        rows, cols = embeddings.shape
        bag = cls(
            num_embeddings=rows,
            embedding_dim=cols,
            _weight=embeddings,
            max_norm=max_norm,
            norm_type=norm_type,
            scale_grad_by_freq=scale_grad_by_freq,
            mode=mode,
            sparse=sparse,
            include_last_offset=include_last_offset,
            padding_idx=padding_idx,
        )
        bag.weight.requires_grad = not freeze
        return bag
