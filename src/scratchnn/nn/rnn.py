"""Recurrent modules: torch.nn's RNN, LSTM, GRU and their cells — constructors, checks, parameter
names and shapes (``weight_ih_l0``, ``bias_hh_l1_reverse``, ``weight_hr_l0`` …), initialization,
``all_weights``, ``_flat_weights`` and reprs; forward is one call into ``scratchnn.functional``.

Legend: t time, b batch, i input_size, h hidden_size, p proj_size (or h), l num_layers,
d directions (2 when bidirectional).
"""

from __future__ import annotations

import math
import numbers
import weakref
from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from .. import functional as F
from .._args import warn

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
_FUNCTIONS = {"LSTM": F.lstm, "GRU": F.gru, "RNN_TANH": F.rnn_tanh, "RNN_RELU": F.rnn_relu}


def _permute(hx: tuple[torch.Tensor, ...], permutation: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
    """The batch dim (1) of each state reordered by ``permutation`` (a packed batch's sort order)."""
    if permutation is None:
        return hx
    return tuple(h.index_select(1, permutation) for h in hx)


class RNNBase(nn.Module):
    """``torch.nn.RNNBase`` from scratch: the parameters of ``mode`` ("LSTM", "GRU", "RNN_TANH",
    "RNN_RELU") for l layers × d directions, and the forward shared by RNN, LSTM and GRU.

    Per layer k and direction (suffix ``_reverse`` for the second): ``weight_ih_lk`` (g·h, i or d·p),
    ``weight_hh_lk`` (g·h, p), ``bias_ih_lk`` ``bias_hh_lk`` (g·h,) with ``bias``, ``weight_hr_lk``
    (p, h) with ``proj_size``; g = 4 (LSTM), 3 (GRU), 1 (RNN). All uniform in ±1/√h.
    """

    __constants__: ClassVar[list[str]] = [
        "mode",
        "input_size",
        "hidden_size",
        "num_layers",
        "bias",
        "batch_first",
        "dropout",
        "bidirectional",
        "proj_size",
    ]
    __jit_unused_properties__: ClassVar[list[str]] = ["all_weights"]
    mode: str
    input_size: int
    hidden_size: int
    num_layers: int
    bias: bool
    batch_first: bool
    dropout: float
    bidirectional: bool
    proj_size: int

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        name = "LSTM" if mode == "LSTM" else "GRU" if mode == "GRU" else "RNN"
        _check_constructor(
            name, mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size
        )
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.num_layers = (
            mode,
            input_size,
            hidden_size,
            num_layers,
        )
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        self._flat_weight_refs: list[weakref.ReferenceType[nn.Parameter] | None] = []
        gate_size = _GATES[mode] * hidden_size
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input_size = input_size if layer == 0 else real_hidden_size * directions
                suffix = f"_l{layer}{'_reverse' if direction == 1 else ''}"
                shapes: dict[str, tuple[int, ...]] = {
                    f"weight_ih{suffix}": (gate_size, layer_input_size),
                    f"weight_hh{suffix}": (gate_size, real_hidden_size),
                }
                if bias:
                    shapes |= {f"bias_ih{suffix}": (gate_size,), f"bias_hh{suffix}": (gate_size,)}
                if proj_size > 0:
                    shapes[f"weight_hr{suffix}"] = (proj_size, hidden_size)
                for weight_name, shape in shapes.items():
                    setattr(self, weight_name, nn.Parameter(torch.empty(shape, **factory)))
                self._flat_weights_names.extend(shapes)
                self._all_weights.append(list(shapes))
        self._init_flat_weights()
        self.reset_parameters()

    # -- torch's bookkeeping of the flat weight list (what torch.lstm & co. take) -------------

    def _init_flat_weights(self) -> None:
        self._flat_weights = [getattr(self, name, None) for name in self._flat_weights_names]
        self._flat_weight_refs = [weakref.ref(w) if w is not None else None for w in self._flat_weights]

    def __setattr__(self, attr: str, value: Any) -> None:
        if "_flat_weights_names" in self.__dict__ and attr in self._flat_weights_names:
            self._flat_weights[self._flat_weights_names.index(attr)] = value  # module.weight_ih_l0 = …
        super().__setattr__(attr, value)

    def flatten_parameters(self) -> None:
        """A no-op, as torch's on the CPU (it packs the weights for cuDNN)."""

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        self._flat_weight_refs = []
        result = super()._apply(fn, recurse)
        self._init_flat_weights()  # .to(), .double() … made new tensors
        return result

    def _weights_have_changed(self) -> bool:
        """Whether a weight attribute is no longer the tensor last listed (``functional_call``)."""
        for ref, name in zip(self._flat_weight_refs, self._flat_weights_names):
            weight = getattr(self, name, None)
            if weight is not None and ref is not None and ref() is not weight:
                return True
        return False

    def _update_flat_weights(self) -> None:
        if self._weights_have_changed():
            self._init_flat_weights()

    def __getstate__(self) -> dict[str, Any]:
        self._update_flat_weights()
        state = self.__dict__.copy()
        del state["_flat_weight_refs"]  # weak references do not pickle
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._flat_weight_refs = [weakref.ref(w) if w is not None else None for w in self._flat_weights]

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """The parameters per layer and direction, in the order of ``_flat_weights``."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def reset_parameters(self) -> None:
        """Every parameter uniform in ±1/√hidden_size."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    # -- checks, as torch's ----------------------------------------------------------------------

    @property
    def _name(self) -> str:
        return type(self).__name__

    def check_input(self, input: torch.Tensor, batch_sizes: torch.Tensor | None) -> None:
        weight_dtype = self._flat_weights[0].dtype  # type: ignore[union-attr]
        if input.dtype != weight_dtype and not torch._C._is_any_autocast_enabled():
            raise ValueError(
                f"{self._name}: RNN input dtype ({input.dtype}) does not match weight dtype "
                f"({weight_dtype}). "
                f"Convert input: input.to({weight_dtype}), or convert model: model.to({input.dtype})"
            )
        expected_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_dim:
            raise RuntimeError(f"{self._name}: input must have {expected_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(
                f"{self._name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {input.size(-1)} (input shape {tuple(input.shape)})"
            )

    def get_expected_hidden_size(
        self, input: torch.Tensor, batch_sizes: torch.Tensor | None
    ) -> tuple[int, int, int]:
        """(l·d, b, p): the shape of h0 and h_n."""
        return (self._states(), self._batch(input, batch_sizes), self.proj_size or self.hidden_size)

    def get_expected_cell_size(
        self, input: torch.Tensor, batch_sizes: torch.Tensor | None
    ) -> tuple[int, int, int]:
        """(l·d, b, h): the shape of the LSTM's c0 and c_n."""
        return (self._states(), self._batch(input, batch_sizes), self.hidden_size)

    def _states(self) -> int:
        return self.num_layers * (2 if self.bidirectional else 1)

    def _batch(self, input: torch.Tensor, batch_sizes: torch.Tensor | None) -> int:
        if batch_sizes is not None:
            return int(batch_sizes[0])
        return input.size(0) if self.batch_first else input.size(1)

    def check_hidden_size(
        self,
        hx: torch.Tensor,
        expected_hidden_size: tuple[int, int, int],
        msg: str = "Expected hidden size {}, got {}",
    ) -> None:
        if hx.size() != expected_hidden_size:
            raise RuntimeError(f"{self._name}: " + msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input: torch.Tensor, hidden: Any, batch_sizes: torch.Tensor | None) -> None:
        self.check_input(input, batch_sizes)
        if self.mode != "LSTM":
            self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))
            return
        self.check_hidden_size(
            hidden[0], self.get_expected_hidden_size(input, batch_sizes), "Expected hidden[0] size {}, got {}"
        )
        self.check_hidden_size(
            hidden[1], self.get_expected_cell_size(input, batch_sizes), "Expected hidden[1] size {}, got {}"
        )

    def permute_hidden(self, hx: Any, permutation: torch.Tensor | None) -> Any:
        if self.mode == "LSTM":
            return _permute(tuple(hx), permutation)
        return _permute((hx,), permutation)[0]

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # -- forward ---------------------------------------------------------------------------------

    def forward(self, input: torch.Tensor | PackedSequence, hx: Any = None) -> tuple[Any, Any]:
        """input (t, b, i) ((b, t, i) with batch_first; (t, i) unbatched; or a PackedSequence),
        hx (l·d, b, p) (a pair (h0, c0) for the LSTM; zeros when None) → output (t, b, d·p) (or a
        PackedSequence), h_n (l·d, b, p) (and c_n (l·d, b, h))."""
        self._update_flat_weights()
        is_lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        batch_sizes: torch.Tensor | None = None
        sorted_indices: torch.Tensor | None = None
        unsorted_indices: torch.Tensor | None = None
        if isinstance(input, PackedSequence):
            data, batch_sizes, sorted_indices, unsorted_indices = input
            batched, batch_dim = True, 1
        else:
            data = input
            if data.dim() not in (2, 3):
                raise ValueError(
                    f"{self._name}: Expected input to be 2D or 3D, got {data.dim()}D tensor instead"
                )
            batched, batch_dim = data.dim() == 3, 0 if self.batch_first else 1
            if not batched:
                data = data.unsqueeze(batch_dim)  # t i -> t 1 i
        if hx is None:
            hx = self._zeros(data, batch_sizes)
        else:
            states = tuple(hx) if is_lstm else (hx,)
            if not packed:
                self._check_state_dims(states, batched)
                states = states if batched else tuple(h.unsqueeze(1) for h in states)
            hx = _permute(states, sorted_indices)
        hidden = hx if is_lstm else hx[0]
        self.check_forward_args(data, hidden, batch_sizes)
        function = _FUNCTIONS[self.mode]
        flags = (self.bias, self.num_layers, self.dropout, self.training, self.bidirectional)
        if packed:
            output, *final = function(data, batch_sizes, hidden, self._flat_weights, *flags)
        else:
            output, *final = function(data, hidden, self._flat_weights, *flags, self.batch_first)
        states = _permute(tuple(final), unsorted_indices)
        result: torch.Tensor | PackedSequence = output
        if packed:
            result = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
        elif not batched:
            result, states = output.squeeze(batch_dim), tuple(h.squeeze(1) for h in states)
        return result, (states if is_lstm else states[0])

    def _zeros(self, data: torch.Tensor, batch_sizes: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        shape = self.get_expected_hidden_size(data, batch_sizes)
        h = torch.zeros(shape, dtype=data.dtype, device=data.device)
        if self.mode != "LSTM":
            return (h,)
        shape = self.get_expected_cell_size(data, batch_sizes)
        return h, torch.zeros(shape, dtype=data.dtype, device=data.device)

    def _check_state_dims(self, states: tuple[torch.Tensor, ...], batched: bool) -> None:
        expected = 3 if batched else 2
        if all(h.dim() == expected for h in states):
            return
        what = "batched 3-D" if batched else "unbatched 2-D"
        if self.mode == "LSTM":
            dims = ", ".join(f"{h.dim()}-D" for h in states)
            message = f"For {what} input, hx and cx should also be {expected}-D but got ({dims}) tensors"
        else:
            message = f"For {what} input, hx should also be {expected}-D but got {states[0].dim()}-D tensor"
        raise RuntimeError(f"{self._name}: {message}")


def _check_constructor(
    name: str,
    mode: str,
    input_size: Any,
    hidden_size: Any,
    num_layers: Any,
    bias: Any,
    batch_first: Any,
    dropout: Any,
    proj_size: Any,
) -> None:
    """torch.nn.RNNBase's argument checks, in its order, with its exception types."""
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:  # type: ignore[operator]
        raise ValueError(
            f"{name}: dropout should be a number in range [0, 1] representing the probability of an "
            f"element being zeroed, got dropout={dropout!r}"
        )
    if dropout > 0 and num_layers == 1:  # type: ignore[operator]
        warn(
            f"{name}: dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
            f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
            stacklevel=4,
        )
    for argument, value in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(value, bool):
            raise TypeError(f"{name}: {argument} should be of type bool, got: {type(value).__name__}")
    for argument, value in (
        ("input_size", input_size),
        ("hidden_size", hidden_size),
        ("num_layers", num_layers),
    ):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name}: {argument} should be of type int, got: {type(value).__name__}")
        if value <= 0:
            raise ValueError(f"{name}: {argument} must be greater than zero, got {argument}={value}")
    if not isinstance(proj_size, int) or proj_size < 0:
        raise ValueError(
            f"{name}: proj_size should be a positive integer or zero to disable projections, "
            f"got {proj_size!r}"
        )
    if proj_size >= hidden_size:
        raise ValueError(
            f"{name}: proj_size has to be smaller than hidden_size, got proj_size={proj_size}, "
            f"hidden_size={hidden_size}"
        )
    if mode not in _GATES:
        raise ValueError(f"{name}: Unrecognized RNN mode: {mode}")


class RNN(RNNBase):
    """``torch.nn.RNN`` from scratch: an Elman RNN,
    h_t = tanh (or relu)(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh).

    Arguments as torch's: ``RNN(input_size, hidden_size, num_layers=1, nonlinearity="tanh",
    bias=True, batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None)``.

    >>> rnn = RNN(3, 4, num_layers=2, nonlinearity="relu", batch_first=True)
    >>> out, h = rnn(torch.randn(2, 5, 3))
    >>> out.shape, h.shape
    (torch.Size([2, 5, 4]), torch.Size([2, 2, 4]))
    """

    nonlinearity: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("RNN: proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if self.nonlinearity not in modes:
            raise ValueError(
                f"RNN: Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(modes[self.nonlinearity], *args, **kwargs)


class LSTM(RNNBase):
    """``torch.nn.LSTM`` from scratch (see :func:`scratchnn.functional.lstm` for the formula).

    Arguments as torch's: ``LSTM(input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None)``.

    >>> lstm = LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=4)
    >>> out, (h, c) = lstm(torch.randn(5, 2, 3))
    >>> out.shape, h.shape, c.shape
    (torch.Size([5, 2, 8]), torch.Size([4, 2, 4]), torch.Size([4, 2, 8]))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """``torch.nn.GRU`` from scratch (see :func:`scratchnn.functional.gru_cell` for the formula).

    Arguments as torch's: ``GRU(input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None)``.

    >>> gru = GRU(3, 4)
    >>> out, h = gru(torch.randn(5, 3))  # unbatched: t i
    >>> out.shape, h.shape
    (torch.Size([5, 4]), torch.Size([1, 4]))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("GRU: proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---------------------------------------------------------------------------------------------
# Cells


class RNNCellBase(nn.Module):
    """``torch.nn.RNNCellBase`` from scratch: ``weight_ih`` (g·h, i), ``weight_hh`` (g·h, h),
    ``bias_ih`` ``bias_hh`` (g·h,) (None without ``bias``), uniform in ±1/√h."""

    __constants__: ClassVar[list[str]] = ["input_size", "hidden_size", "bias"]
    input_size: int
    hidden_size: int
    bias: bool
    weight_ih: torch.Tensor
    weight_hh: torch.Tensor

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        factory: dict[str, Any] = {"device": device, "dtype": dtype}
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = nn.Parameter(torch.empty((num_chunks * hidden_size, input_size), **factory))
        self.weight_hh = nn.Parameter(torch.empty((num_chunks * hidden_size, hidden_size), **factory))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(num_chunks * hidden_size, **factory))
            self.bias_hh = nn.Parameter(torch.empty(num_chunks * hidden_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        """Every parameter uniform in ±1/√hidden_size."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def _step(self, input: torch.Tensor, hx: Any, states: int) -> Any:
        """Check dims, batch an unbatched call (i → 1 i), zeros for a missing hx, run the cell."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if hx is not None:
            for index, value in enumerate(hx if states == 2 else (hx,)):
                if value.dim() not in (1, 2):
                    which = f"hx[{index}]" if states == 2 else "hidden"
                    raise ValueError(f"{name}: Expected {which} to be 1D or 2D, got {value.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            zeros = torch.zeros(input.size(0), self.hidden_size, dtype=input.dtype, device=input.device)
            hx = (zeros,) * states
        elif states == 2:
            hx = tuple(hx) if batched else tuple(h.unsqueeze(0) for h in hx)
        else:
            hx = (hx if batched else hx.unsqueeze(0),)
        out = self._cell()(
            input, hx if states == 2 else hx[0], self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh
        )
        if batched:
            return out
        return tuple(h.squeeze(0) for h in out) if states == 2 else out.squeeze(0)

    def _cell(self) -> Any:
        raise NotImplementedError


class RNNCell(RNNCellBase):
    """``torch.nn.RNNCell`` from scratch: h' = tanh (or relu)(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh).

    input (b, i) or (i,), hx (b, h) or (h,) (zeros when None) → h' (b, h) or (h,)

    >>> cell = RNNCell(3, 4, nonlinearity="relu")
    >>> cell(torch.randn(2, 3)).shape
    torch.Size([2, 4])
    """

    __constants__: ClassVar[list[str]] = ["input_size", "hidden_size", "bias", "nonlinearity"]
    nonlinearity: str

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _cell(self) -> Any:
        cells = {"tanh": F.rnn_tanh_cell, "relu": F.rnn_relu_cell}
        if self.nonlinearity not in cells:
            raise RuntimeError(f"RNNCell: Unknown nonlinearity: {self.nonlinearity}")
        return cells[self.nonlinearity]

    def forward(self, input: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        return self._step(input, hx, states=1)


class LSTMCell(RNNCellBase):
    """``torch.nn.LSTMCell`` from scratch (see :func:`scratchnn.functional.lstm_cell`).

    input (b, i) or (i,), hx = (h, c) each (b, h) or (h,) (zeros when None) → (h', c')

    >>> cell = LSTMCell(3, 4)
    >>> h, c = cell(torch.randn(3))
    >>> h.shape, c.shape
    (torch.Size([4]), torch.Size([4]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def _cell(self) -> Any:
        return F.lstm_cell

    def forward(
        self, input: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self._step(input, hx, states=2)


class GRUCell(RNNCellBase):
    """``torch.nn.GRUCell`` from scratch (see :func:`scratchnn.functional.gru_cell`).

    input (b, i) or (i,), hx (b, h) or (h,) (zeros when None) → h' (b, h) or (h,)

    >>> GRUCell(3, 4)(torch.randn(2, 3), torch.zeros(2, 4)).shape
    torch.Size([2, 4])
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def _cell(self) -> Any:
        return F.gru_cell

    def forward(self, input: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        return self._step(input, hx, states=1)
