"""Transformer modules: torch.nn's constructors, submodule names and state_dicts, built from
scratchnn's :class:`MultiheadAttention`, :class:`Linear`, :class:`Dropout` and :class:`LayerNorm`.

``forward`` is torch's Python path, read top to bottom (Fig. 1 of arXiv:2002.04745):

    post-norm:  x = norm1(x + attend(x));          x = norm2(x + feed_forward(x))
    pre-norm:   x = x + attend(norm1(x));          x = x + feed_forward(norm2(x))
    feed_forward(x) = dropout2(linear2(dropout(activation(linear1(x)))))

There is no fused fast path: torch's ``_transformer_encoder_layer_fwd`` and its nested-tensor
encoder (eval mode, no gradients) are never run. Where torch's encoder would take the nested-tensor
path, its padded positions come out as 0 (before ``norm``), and so do ours; torch's fused layer
alone gives NaN for a sequence that is all padding, where its Python path (and ours) does not.
Masks are torch's: True or -inf = may NOT attend.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, ClassVar

import torch
import torch.nn.functional as torch_F
from torch import nn

from .. import functional as F
from .._args import warn
from ..functional.multihead import _canonical_mask
from .dropout import Dropout
from .linear import Linear
from .multihead import MultiheadAttention
from .normalization import LayerNorm

__all__ = [
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]

Activation = str | Callable[[torch.Tensor], torch.Tensor]


def _generate_square_subsequent_mask(
    sz: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """(sz, sz): 0 on and below the diagonal, -inf above — position i may attend to j ≤ i."""
    return torch.triu(torch.full((sz, sz), float("-inf"), dtype=dtype, device=device), diagonal=1)


def _activation(activation: Activation) -> Callable[[torch.Tensor], torch.Tensor]:
    """torch's legacy strings "relu"/"gelu" as scratch functions; a torch.nn.functional function
    as its scratch twin (as :func:`scratchnn.convert` points it); any other callable as it is."""
    if not isinstance(activation, str):
        name = getattr(activation, "__name__", None)
        if isinstance(name, str) and name in F.__all__ and getattr(torch_F, name, None) is activation:
            return getattr(F, name)
        return activation
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _sequence_length(src: torch.Tensor, batch_first: bool) -> int | None:
    """Positions in ``src``: (s, e) unbatched, (b, s, e) batch-first, else (s, b, e)."""
    if src.is_nested:
        return None
    if src.ndim == 2:
        return src.shape[0]
    return src.shape[1 if batch_first else 0]


def _detect_is_causal_mask(mask: torch.Tensor | None, is_causal: bool | None, size: int | None) -> bool:
    """torch's rule: ``is_causal`` when given; when ``None``, whether ``mask`` is the square
    subsequent mask (same shape, same values)."""
    if is_causal is not None or mask is None:
        return is_causal is True
    causal = _generate_square_subsequent_mask(
        size if size is not None else mask.shape[-2], device=mask.device, dtype=mask.dtype
    )
    return mask.shape == causal.shape and bool((mask == causal).all())


def _clones(module: nn.Module, copies: int) -> nn.ModuleList:
    return nn.ModuleList([copy.deepcopy(module) for _ in range(copies)])


class _Functional:
    """A ``scratchnn.functional`` op in a pickle, by its name: the exported op is a wrapper of its
    family's function, which pickle (by module and name) would find in place of it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> tuple:
        return _functional_op, (self.name,)


def _functional_op(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """The exported ``scratchnn.functional`` op of this name (what a pickled activation names)."""
    return getattr(F, name)


def _picklable(state: dict[str, Any]) -> dict[str, Any]:
    """A layer's state with its activation, if a functional op, pickled as :class:`_Functional`."""
    activation = state.get("activation")
    name = getattr(activation, "__name__", None)
    if isinstance(name, str) and name in F.__all__ and getattr(F, name) is activation:
        state = {**state, "activation": _Functional(name)}
    return state


def _is_relu(activation: object) -> bool:
    return activation is F.relu or activation is torch_F.relu or isinstance(activation, nn.ReLU)


def _is_gelu(activation: object) -> bool:
    return activation is F.gelu or activation is torch_F.gelu or isinstance(activation, nn.GELU)


class TransformerEncoderLayer(nn.Module):
    """``torch.nn.TransformerEncoderLayer``: self-attention then a feed-forward block, each with a
    residual connection and a LayerNorm (after it, or before it with ``norm_first``).

    Legend: s positions, b batch, e = d_model. src (s, b, e) → (s, b, e); (b, s, e) with
    ``batch_first``; (s, e) unbatched.

    >>> layer = TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
    >>> layer(torch.randn(3, 5, 8), src_key_padding_mask=torch.tensor([[False] * 4 + [True]] * 3)).shape
    torch.Size([3, 5, 8])
    """

    __constants__: ClassVar[list[str]] = ["norm_first"]

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        super().__init__()
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **factory
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        activation = _activation(activation)
        # torch's flag for its fused kernel: 1 relu, 2 gelu, 0 other (kept for state and convert)
        self.activation_relu_or_gelu = 1 if _is_relu(activation) else 2 if _is_gelu(activation) else 0
        self.activation = activation

    def __getstate__(self) -> dict[str, Any]:
        return _picklable(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if not hasattr(self, "activation"):
            self.activation = F.relu

    def forward(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor | None = None,
        src_key_padding_mask: torch.Tensor | None = None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        src_key_padding_mask = _canonical_mask(
            src_key_padding_mask, "src_key_padding_mask", src_mask, "src_mask", src.dtype,
            op="TransformerEncoderLayer",
        )  # fmt: skip
        src_mask = _canonical_mask(src_mask, "src_mask", None, "", src.dtype, op="TransformerEncoderLayer")
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(
        self,
        x: torch.Tensor,
        attn_mask: torch.Tensor | None,
        key_padding_mask: torch.Tensor | None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        x = self.self_attn(
            x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
            is_causal=is_causal,
        )[0]  # fmt: skip
        return self.dropout1(x)

    def _ff_block(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)


class TransformerDecoderLayer(nn.Module):
    """``torch.nn.TransformerDecoderLayer``: self-attention, attention over ``memory``, then a
    feed-forward block, each with a residual connection and a LayerNorm (``norm1..3``).

    Legend: t target positions, s memory positions, b batch, e = d_model.
    tgt (t, b, e) · memory (s, b, e) → (t, b, e); (b, ·, e) with ``batch_first``.

    >>> layer = TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
    >>> mask = Transformer.generate_square_subsequent_mask(4)
    >>> layer(torch.randn(4, 3, 8), torch.randn(6, 3, 8), tgt_mask=mask, tgt_is_causal=True).shape
    torch.Size([4, 3, 8])
    """

    __constants__: ClassVar[list[str]] = ["norm_first"]

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        super().__init__()
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, **factory
        )
        self.multihead_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, **factory
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation)

    def __getstate__(self) -> dict[str, Any]:
        return _picklable(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("activation", F.relu)
        super().__setstate__(state)

    def forward(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        tgt_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
        tgt_key_padding_mask: torch.Tensor | None = None,
        memory_key_padding_mask: torch.Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> torch.Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(
                x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            )
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(
        self,
        x: torch.Tensor,
        attn_mask: torch.Tensor | None,
        key_padding_mask: torch.Tensor | None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        x = self.self_attn(
            x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=is_causal,
            need_weights=False,
        )[0]  # fmt: skip
        return self.dropout1(x)

    def _mha_block(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        attn_mask: torch.Tensor | None,
        key_padding_mask: torch.Tensor | None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        x = self.multihead_attn(
            x, memory, memory, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
            is_causal=is_causal, need_weights=False,
        )[0]  # fmt: skip
        return self.dropout2(x)

    def _ff_block(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout3(x)


def _why_no_nested_tensor(layer: nn.Module) -> str:
    """torch's reason (in its words) why its encoder could not take the nested-tensor path; ''
    when it could. scratchnn never takes it, but warns as torch does when the layer rules it out."""
    name = "encoder_layer"
    if not isinstance(layer, (TransformerEncoderLayer, nn.TransformerEncoderLayer)):
        return f"{name} was not TransformerEncoderLayer"
    attention = layer.self_attn
    reasons = [
        (layer.norm_first, f"{name}.norm_first was True"),
        (
            not attention.batch_first,
            f"{name}.self_attn.batch_first was not True(use batch_first for better inference performance)",
        ),
        (not attention._qkv_same_embed_dim, f"{name}.self_attn._qkv_same_embed_dim was not True"),
        (attention.in_proj_bias is None, f"{name}.self_attn was passed bias=False"),
        (not layer.activation_relu_or_gelu, f"{name}.activation_relu_or_gelu was not True"),
        (layer.norm1.eps != layer.norm2.eps, f"{name}.norm1.eps was not equal to {name}.norm2.eps"),
        (attention.num_heads % 2 == 1, f"{name}.self_attn.num_heads is odd"),
    ]
    return next((why for failed, why in reasons if failed), "")


class TransformerEncoder(nn.Module):
    """``torch.nn.TransformerEncoder``: ``num_layers`` deep copies of ``encoder_layer`` in
    ``layers``, then ``norm`` if given. ``enable_nested_tensor`` and ``mask_check`` are kept (and
    warned about) as torch does; there is no nested-tensor path here, but where torch would take
    it, the padded positions are zeroed as torch's are.

    >>> layer = TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
    >>> encoder = TransformerEncoder(layer, 2, enable_nested_tensor=False)
    >>> mask = Transformer.generate_square_subsequent_mask(5)
    >>> encoder(torch.randn(5, 3, 8), mask=mask).shape
    torch.Size([5, 3, 8])
    """

    __constants__: ClassVar[list[str]] = ["norm"]

    def __init__(
        self,
        encoder_layer: nn.Module,
        num_layers: int,
        norm: nn.Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why = _why_no_nested_tensor(encoder_layer)
        if enable_nested_tensor and why:
            warn(
                f"enable_nested_tensor is True, but self.use_nested_tensor is False because {why}",
                stacklevel=2,
            )
            self.use_nested_tensor = False

    def forward(
        self,
        src: torch.Tensor,
        mask: torch.Tensor | None = None,
        src_key_padding_mask: torch.Tensor | None = None,
        is_causal: bool | None = None,
    ) -> torch.Tensor:
        src_key_padding_mask = _canonical_mask(
            src_key_padding_mask, "src_key_padding_mask", mask, "mask", src.dtype, op="TransformerEncoder"
        )
        mask = _canonical_mask(mask, "mask", None, "", src.dtype, op="TransformerEncoder")
        first_layer: Any = self.layers[0]
        seq_len = _sequence_length(src, first_layer.self_attn.batch_first)
        is_causal = _detect_is_causal_mask(mask, is_causal, seq_len)
        output = src
        for layer in self.layers:
            output = layer(
                output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask
            )
        if src_key_padding_mask is not None and self._torch_would_nest(src, mask, src_key_padding_mask):
            # torch computes only the real tokens (a nested tensor) and pads the result with zeros
            padded = src_key_padding_mask != 0  # (b, s): True where a token is padding
            output = output.masked_fill(padded.unsqueeze(-1), 0.0)  # (b, s, e)
        return output if self.norm is None else self.norm(output)

    def _torch_would_nest(self, src: torch.Tensor, mask: torch.Tensor | None, padding: torch.Tensor) -> bool:
        """Whether torch's encoder would take its nested-tensor path (eval mode, no gradients, a
        batch-first (b, s, e) input with a left-aligned key padding mask and no attn mask …), where
        padded positions come out as 0. The values of the real tokens are the same either way."""
        first: Any = self.layers[0]
        if not (torch.backends.mha.get_fastpath_enabled() and getattr(self, "use_nested_tensor", False)):
            return False
        if first.training or src.dim() != 3 or src.is_nested or mask is not None:
            return False
        if getattr(self, "mask_check", True):
            keep = padding == 0  # (b, s): True for real tokens, which must come first in each row
            if torch.compiler.is_compiling() or not bool(
                (keep.int().cummin(dim=1).values.bool() == keep).all()
            ):
                return False
        devices = ("cpu", "cuda", "xpu", torch.utils.backend_registration._privateuse1_backend_name)
        weights = [src, *first.parameters()]
        return (
            not torch.is_autocast_enabled()
            and src.device.type in devices
            and not (torch.is_grad_enabled() and any(tensor.requires_grad for tensor in weights))
        )


class TransformerDecoder(nn.Module):
    """``torch.nn.TransformerDecoder``: ``num_layers`` deep copies of ``decoder_layer`` in
    ``layers``, then ``norm`` if given; ``tgt_is_causal=None`` is detected from ``tgt_mask``.

    >>> decoder = TransformerDecoder(TransformerDecoderLayer(8, 2, dim_feedforward=16), 2)
    >>> decoder(torch.randn(4, 3, 8), torch.randn(6, 3, 8)).shape
    torch.Size([4, 3, 8])
    """

    __constants__: ClassVar[list[str]] = ["norm"]

    def __init__(self, decoder_layer: nn.Module, num_layers: int, norm: nn.Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        tgt_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
        tgt_key_padding_mask: torch.Tensor | None = None,
        memory_key_padding_mask: torch.Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> torch.Tensor:
        first_layer: Any = self.layers[0]
        seq_len = _sequence_length(tgt, first_layer.self_attn.batch_first)
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, seq_len)
        output = tgt
        for layer in self.layers:
            output = layer(
                output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal,
            )  # fmt: skip
        return output if self.norm is None else self.norm(output)


class Transformer(nn.Module):
    """``torch.nn.Transformer``: an encoder over ``src`` and a decoder over ``tgt`` that attends to
    the encoder's output (``memory``); each stack ends in a LayerNorm. Parameters of 2 or more
    dims are Xavier-uniform, drawn in torch's order, so a seed gives torch's weights.

    Legend: s source positions, t target positions, b batch, e = d_model.
    src (s, b, e) · tgt (t, b, e) → (t, b, e); (b, ·, e) with ``batch_first``.

    >>> model = Transformer(8, 2, 1, 1, dim_feedforward=16, dropout=0.0)
    >>> tgt_mask = model.generate_square_subsequent_mask(4)
    >>> model(torch.randn(6, 3, 8), torch.randn(4, 3, 8), tgt_mask=tgt_mask).shape
    torch.Size([4, 3, 8])
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = F.relu,
        custom_encoder: Any | None = None,
        custom_decoder: Any | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        super().__init__()
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            encoder_layer = TransformerEncoderLayer(*layer_args, norm_first, bias, **factory)
            encoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
            self.encoder = TransformerEncoder(encoder_layer, num_encoder_layers, encoder_norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            decoder_layer = TransformerDecoderLayer(*layer_args, norm_first, bias, **factory)
            decoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
            self.decoder = TransformerDecoder(decoder_layer, num_decoder_layers, decoder_norm)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(
        self,
        src: torch.Tensor,
        tgt: torch.Tensor,
        src_mask: torch.Tensor | None = None,
        tgt_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
        src_key_padding_mask: torch.Tensor | None = None,
        tgt_key_padding_mask: torch.Tensor | None = None,
        memory_key_padding_mask: torch.Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> torch.Tensor:
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and src.size(batch_dim) != tgt.size(batch_dim):
            raise RuntimeError(
                f"Transformer: the batch number of src and tgt must be equal, got src {tuple(src.shape)} "
                f"and tgt {tuple(tgt.shape)} (batch_first={self.batch_first})"
            )
        if src.size(-1) != self.d_model or tgt.size(-1) != self.d_model:
            raise RuntimeError(
                f"Transformer: the feature number of src and tgt must be equal to d_model={self.d_model}, "
                f"got src {tuple(src.shape)} and tgt {tuple(tgt.shape)}"
            )
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )  # fmt: skip

    @staticmethod
    def generate_square_subsequent_mask(
        sz: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> torch.Tensor:
        """(sz, sz) float mask: -inf above the diagonal (future positions), 0 elsewhere.

        >>> Transformer.generate_square_subsequent_mask(3)
        tensor([[0., -inf, -inf],
                [0., 0., -inf],
                [0., 0., 0.]])
        """
        return _generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def _reset_parameters(self) -> None:
        """torch's initialization: Xavier-uniform for every parameter of 2 or more dims."""
        for parameter in self.parameters():
            if parameter.dim() > 1:
                nn.init.xavier_uniform_(parameter)
