"""Whole training steps under ``scratchnn.mode(strict=True)``: forward, loss, backward and the
optimizer step of recurrent, CTC and encoder-decoder models (in-repo, random weights) and of the
models in ``test_models.py`` with their losses — no layer op runs natively, and three steps give
torch's losses and parameters (float64)."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as torch_F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import scratchnn
from helpers import assert_close
from test_models import SPECS, build

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: threads only cost waits


VOCAB, CLASSES, TAGS = 20, 4, 5


class LSTMLanguageModel(nn.Module):
    """Embedding → 2-layer LSTM (dropout between layers) → tied-size linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 8)
        self.lstm = nn.LSTM(8, 12, num_layers=2, dropout=0.25, batch_first=True)
        self.head = nn.Linear(12, VOCAB)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embed(tokens))
        return self.head(out)


class GRUClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(6, 10)
        self.head = nn.Linear(10, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.gru(x)  # x: (t, b, 6)
        return self.head(h[-1])


class BiLSTMTagger(nn.Module):
    """A bidirectional 2-layer LSTM over a PackedSequence of variable lengths, one tag per step."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 8, padding_idx=0)
        self.lstm = nn.LSTM(8, 6, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(12, TAGS)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(self.embed(tokens), lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])
        return self.head(out)


class CTCSpeechModel(nn.Module):
    """A conv front end over (b, features, t), a BiLSTM, log-probabilities for CTC."""

    def __init__(self) -> None:
        super().__init__()
        self.front = nn.Sequential(nn.Conv1d(5, 8, 3, padding=1), nn.BatchNorm1d(8), nn.ReLU())
        self.lstm = nn.LSTM(8, 6, bidirectional=True)
        self.head = nn.Linear(12, CLASSES + 1)  # + blank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.front(x).permute(2, 0, 1)  # (t, b, c)
        out, _ = self.lstm(features)
        return self.head(out).log_softmax(-1)  # (t, b, classes + 1)


class Seq2Seq(nn.Module):
    """nn.Transformer encoder-decoder with a causal target mask."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 8)
        self.transformer = nn.Transformer(8, 2, 1, 1, 16, dropout=0.1, batch_first=True)
        self.head = nn.Linear(8, VOCAB)

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        mask = nn.Transformer.generate_square_subsequent_mask(target.shape[1], dtype=torch.float64)
        out = self.transformer(self.embed(source), self.embed(target), tgt_mask=mask, tgt_is_causal=True)
        return self.head(out)


def _tokens(generator: torch.Generator, *shape: int, low: int = 0) -> torch.Tensor:
    return torch.randint(low, VOCAB, shape, generator=generator)


def lstm_lm_step(model: nn.Module, generator: torch.Generator) -> torch.Tensor:
    tokens = _tokens(generator, 3, 7)
    logits = model(tokens[:, :-1])
    return torch_F.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten())


def gru_step(model: nn.Module, generator: torch.Generator) -> torch.Tensor:
    x = torch.randn(6, 3, 6, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, CLASSES, (3,), generator=generator)
    return nn.CrossEntropyLoss(label_smoothing=0.1)(model(x), labels)


def tagger_step(model: nn.Module, generator: torch.Generator) -> torch.Tensor:
    lengths = torch.tensor([7, 4, 6])
    tokens = _tokens(generator, 3, 7, low=1) * (torch.arange(7) < lengths[:, None])  # 0 = padding
    tags = torch.randint(0, TAGS, (3, 7), generator=generator).masked_fill(tokens == 0, -100)
    return torch_F.cross_entropy(model(tokens, lengths).flatten(0, 1), tags.flatten(), ignore_index=-100)


def ctc_step(model: nn.Module, generator: torch.Generator) -> torch.Tensor:
    x = torch.randn(2, 5, 12, generator=generator, dtype=torch.float64)
    targets = torch.randint(1, CLASSES + 1, (2, 4), generator=generator)
    log_probs = model(x)
    return nn.CTCLoss(blank=0)(log_probs, targets, torch.tensor([12, 10]), torch.tensor([4, 3]))


def seq2seq_step(model: nn.Module, generator: torch.Generator) -> torch.Tensor:
    source, target = _tokens(generator, 2, 6), _tokens(generator, 2, 5)
    logits = model(source, target[:, :-1])
    return torch_F.cross_entropy(logits.flatten(0, 1), target[:, 1:].flatten())


def spec_step(spec) -> Callable[[nn.Module, torch.Generator], torch.Tensor]:
    def step(model: nn.Module, generator: torch.Generator) -> torch.Tensor:
        x, target = spec.inputs(torch.float64, seed=int(torch.randint(0, 4, (1,), generator=generator)))
        return spec.loss(model(x), target)

    return step


def _spec_model(spec) -> Callable[[], nn.Module]:
    return lambda: build(spec, torch.float64, train=True)


MODELS: dict[str, tuple[Callable[[], nn.Module], Callable[[nn.Module, torch.Generator], torch.Tensor]]] = {
    "lstm-language-model": (LSTMLanguageModel, lstm_lm_step),
    "gru-classifier": (GRUClassifier, gru_step),
    "bilstm-tagger-packed": (BiLSTMTagger, tagger_step),
    "ctc-conv-bilstm": (CTCSpeechModel, ctc_step),
    "transformer-encoder-decoder": (Seq2Seq, seq2seq_step),
    **{spec.name: (_spec_model(spec), spec_step(spec)) for spec in SPECS},
}


def _train(model: nn.Module, step, context=None, steps: int = 3) -> list[float]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(steps):
        torch.manual_seed(len(losses))  # the same dropout masks on both sides
        optimizer.zero_grad()
        if context is None:
            loss = step(model, generator)
            loss.backward()
            optimizer.step()
        else:
            with context:
                loss = step(model, generator)
                loss.backward()
                optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("name", list(MODELS))
def test_a_training_step_runs_on_scratch_layers_and_equals_torch(name):
    make, step = MODELS[name]
    torch.manual_seed(0)
    reference = make().double().train()
    ours = copy.deepcopy(reference)
    expected = _train(reference, step)
    mode = scratchnn.mode(strict=True)  # raises on the first layer op that would run natively
    losses = _train(ours, step, mode)
    assert not mode.fallback and mode.routed
    torch.testing.assert_close(torch.tensor(losses), torch.tensor(expected), rtol=1e-9, atol=1e-12)
    for (key, mine), (_, theirs) in zip(
        ours.state_dict().items(), reference.state_dict().items(), strict=True
    ):
        assert_close(mine, theirs, f"{key} after three optimizer steps")
