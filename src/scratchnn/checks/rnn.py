"""Check cases: the recurrent cells and layers (torch.lstm & co. as torch.nn's modules call them):
layers, directions, biases, projections, batch_first and packed sequences of unequal lengths."""

from __future__ import annotations

from typing import Any

import torch

from .. import functional as F
from ..check import register

GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def cell_case(op: str, batch: int = 3, input_size: int = 4, hidden: int = 5, bias: bool = True):
    def make(generator: torch.Generator):
        def randn(*shape: int) -> torch.Tensor:
            return torch.randn(shape, generator=generator, dtype=torch.float64)

        gates = GATES[op.removesuffix("_cell")] * hidden
        x, h = randn(batch, input_size), randn(batch, hidden)
        hx: Any = (h, randn(batch, hidden)) if op == "lstm_cell" else h
        biases = (randn(gates), randn(gates)) if bias else (None, None)
        return (x, hx, 0.5 * randn(gates, input_size), 0.5 * randn(gates, hidden), *biases), {}

    return make


def flat_weights(
    generator: torch.Generator,
    op: str,
    input_size: int,
    hidden: int,
    num_layers: int,
    bias: bool,
    bidirectional: bool,
    proj_size: int = 0,
) -> list[torch.Tensor]:
    """torch.nn's ``_flat_weights`` layout for these options, with random values."""
    gates, directions = GATES[op] * hidden, 2 if bidirectional else 1
    real_hidden = proj_size or hidden
    weights = []
    for layer in range(num_layers):
        for _ in range(directions):
            layer_input = input_size if layer == 0 else real_hidden * directions
            shapes: list[tuple[int, ...]] = [(gates, layer_input), (gates, real_hidden)]
            shapes += [(gates,), (gates,)] if bias else []
            shapes += [(proj_size, hidden)] if proj_size else []
            weights += [
                0.5 * torch.randn(shape, generator=generator, dtype=torch.float64) for shape in shapes
            ]
    return weights


def layer_case(
    op: str,
    steps: int = 4,
    batch: int = 3,
    input_size: int = 3,
    hidden: int = 4,
    num_layers: int = 1,
    bias: bool = True,
    bidirectional: bool = False,
    batch_first: bool = False,
    proj_size: int = 0,
    lengths: tuple[int, ...] | None = None,
):
    """One call of torch.lstm & co.; ``lengths`` (non-increasing) makes it the packed overload."""

    def make(generator: torch.Generator):
        params = flat_weights(generator, op, input_size, hidden, num_layers, bias, bidirectional, proj_size)
        states = num_layers * (2 if bidirectional else 1)
        rows = batch if lengths is None else len(lengths)
        h0 = torch.randn((states, rows, proj_size or hidden), generator=generator, dtype=torch.float64)
        hx: Any = h0
        if op == "lstm":
            hx = (h0, torch.randn((states, rows, hidden), generator=generator, dtype=torch.float64))
        flags = (bias, num_layers, 0.0, False, bidirectional)
        if lengths is not None:
            batch_sizes = torch.tensor([sum(n > t for n in lengths) for t in range(lengths[0])])
            data = torch.randn((int(batch_sizes.sum()), input_size), generator=generator, dtype=torch.float64)
            return (data, batch_sizes, hx, params, *flags), {}
        shape = (batch, steps, input_size) if batch_first else (steps, batch, input_size)
        x = torch.randn(shape, generator=generator, dtype=torch.float64)
        return (x, hx, params, *flags, batch_first), {}

    return make


for cell in ("rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell"):
    register(
        cell,
        getattr(F, cell),
        getattr(torch, cell),
        [cell_case(cell), cell_case(cell, bias=False), cell_case(cell, batch=1, input_size=1, hidden=2)],
    )

for layer in ("rnn_tanh", "rnn_relu", "lstm", "gru"):
    makers = [
        layer_case(layer),
        layer_case(layer, num_layers=2, bidirectional=True),
        layer_case(layer, bias=False, batch_first=True, num_layers=2),
        layer_case(layer, lengths=(5, 3, 3, 1)),
        layer_case(layer, lengths=(4, 2), bidirectional=True, num_layers=2),
    ]
    if layer == "lstm":
        makers += [
            layer_case(layer, hidden=5, proj_size=2, num_layers=2, bidirectional=True),
            layer_case(layer, hidden=5, proj_size=3, bias=False, lengths=(3, 2, 2)),
        ]
    register(layer, getattr(F, layer), getattr(torch, layer), makers)
