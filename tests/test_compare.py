"""scratchnn.compare(): per-layer errors, first divergence, gradients, buffers, no side effects."""

import math

import pytest
import torch
from torch import nn

import scratchnn
from scratchnn.compare import TOLERANCES

f64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: threads only cost waits


def mlp(dtype=f64):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2)).to(dtype)


def test_identical_models_do_not_diverge():
    model = mlp()
    report = scratchnn.compare(model, scratchnn.convert(model)[0], torch.randn(3, 4, dtype=f64))
    assert report.ok and report.first_divergence is None
    assert [row.name for row in report.outputs] == ["0", "1", "2", "3", "4", "(model)"]
    assert [row.name for row in report.gradients] == ["input 0"] + [n for n, _ in model.named_parameters()]
    assert report.max_output_error < 1e-13 and report.max_gradient_error < 1e-13
    assert report.outputs[0].what == "torch.nn.Linear → scratchnn.nn.Linear"
    assert str(report).startswith(f"compare: no divergence (tolerance {TOLERANCES[torch.float64]:.0e})")


def test_the_first_divergent_layer_is_named():
    model = mlp()
    candidate = scratchnn.convert(model)[0]
    with torch.no_grad():
        candidate[2].bias[0] += 1e-3
    report = scratchnn.compare(model, candidate, torch.randn(3, 4, dtype=f64))
    first = report.first_divergence
    assert (first.name, first.kind) == ("2", "output")
    assert first.max_abs == pytest.approx(1e-3, rel=1e-6)
    assert [row.over(report.tolerance) for row in report.outputs] == [False, False, True, True, True, True]
    diverged = {row.name for row in report.gradients if row.over(report.tolerance)}
    assert {"input 0", "0.weight", "0.bias"} <= diverged and "4.bias" not in diverged
    lines = str(report).splitlines()
    assert lines[0].startswith(
        "compare: first divergence at 2 (output, torch.nn.Linear → scratchnn.nn.Linear)"
    )
    assert any(line.startswith("  ! 2 ") for line in lines) and any(
        line.startswith("    0 ") for line in lines
    )


def test_relative_error_is_against_the_reference_scale():
    model = mlp()
    candidate = scratchnn.convert(model)[0]
    with torch.no_grad():
        candidate[4].weight.mul_(1.5)
    x = torch.randn(3, 4, dtype=f64)
    report = scratchnn.compare(model, candidate, x)
    reference, ours = model(x), candidate(x)
    expected = ((ours - reference).abs().max() / reference.abs().max()).item()
    assert report.outputs[-1].max_rel == pytest.approx(expected)
    scale = max(1.0, reference.abs().max().item())
    expected_error = ((ours - reference).abs() / (scale + reference.abs())).max().item()
    assert report.max_output_error == pytest.approx(expected_error)


def test_a_gradient_that_is_zero_up_to_rounding_is_not_a_divergence():
    """BatchNorm's bias before another BatchNorm has a zero gradient, computed as rounding noise."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.BatchNorm1d(4)).to(f64)
    report = scratchnn.compare(model, scratchnn.convert(model)[0], torch.randn(8, 3, dtype=f64))
    bias = next(row for row in report.gradients if row.name == "1.bias")
    assert bias.scale < 1e-14 and report.ok


def test_default_tolerance_follows_the_dtype():
    for dtype in (torch.float64, torch.float32):
        model = mlp(dtype)
        report = scratchnn.compare(model, model, torch.randn(2, 4, dtype=dtype))
        assert report.tolerance == TOLERANCES[dtype]
    assert scratchnn.compare(model, model, torch.randn(2, 4), tolerance=0.5).tolerance == 0.5


def test_same_model_in_a_context():
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular"), nn.ReLU()).to(f64)
    report = scratchnn.compare(model, model, torch.randn(1, 2, 5, 5, dtype=f64), context=scratchnn.mode)
    assert report.ok and report.max_output_error < 1e-13 and len(report.gradients) == 3


def test_models_and_random_state_are_left_as_found():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5)).to(f64).train()
    model[0].weight.grad = torch.ones(4, 4, dtype=f64)
    running_mean = model[1].running_mean.clone()
    x = torch.randn(8, 4, dtype=f64)
    state = torch.random.get_rng_state()
    report = scratchnn.compare(model, model, x)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(model[1].running_mean, running_mean) and model[1].num_batches_tracked == 0
    assert torch.equal(model[0].weight.grad, torch.ones(4, 4, dtype=f64)) and model[0].bias.grad is None
    assert report.ok, "same seed on both sides: the same dropout mask"
    buffers = {row.name: row for row in report.buffers}
    assert set(buffers) == {"1.running_mean", "1.running_var", "1.num_batches_tracked"}


def test_buffers_that_differ_are_reported():
    torch.manual_seed(0)
    reference = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3)).to(f64)
    candidate = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3, momentum=0.5)).to(f64)
    candidate.load_state_dict(reference.state_dict())
    report = scratchnn.compare(reference, candidate, torch.randn(6, 3, dtype=f64))
    over = [row.name for row in report.buffers if row.over(report.tolerance)]
    assert over == ["1.running_mean", "1.running_var"]
    assert not [row for row in report.outputs if row.over(report.tolerance)]
    assert report.first_divergence.name == "1.running_mean"


def test_tuple_outputs_repeated_calls_and_missing_modules():
    class Twice(nn.Module):
        def __init__(self, extra=False):
            super().__init__()
            self.attention = nn.MultiheadAttention(4, 2, batch_first=True)
            self.act = nn.ReLU()
            if extra:
                self.extra = nn.Identity()

        def forward(self, x):
            x = self.act(self.attention(x, x, x)[0])
            return self.act(x) if not hasattr(self, "extra") else self.act(self.extra(x))

    torch.manual_seed(0)
    reference = Twice().to(f64)
    candidate = Twice(extra=True).to(f64)
    candidate.load_state_dict(reference.state_dict())
    report = scratchnn.compare(candidate, reference, torch.randn(2, 3, 4, dtype=f64))
    names = [row.name for row in report.outputs]
    assert names == ["attention[0]", "attention[1]", "act", "extra", "act#2", "(model)"]
    missing = next(row for row in report.outputs if row.name == "extra")
    assert missing.note == "missing in the candidate" and math.isnan(missing.max_rel)
    assert report.first_divergence is missing


def test_shape_mismatch_is_a_divergence():
    torch.manual_seed(0)
    report = scratchnn.compare(nn.Linear(3, 2), nn.Linear(3, 4), torch.randn(1, 3), backward=False)
    assert report.outputs[0].note == "candidate shape (1, 4)" and not report.ok
    assert report.gradients == []
