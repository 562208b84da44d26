"""`scratchnn demo`: scratch networks train on digits in step with their torch.nn twins."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch

from scratchnn import cli
from scratchnn import nn as snn
from scratchnn.commands import demo


def test_models_are_scratch_layers_with_torch_twins() -> None:
    for build in (demo.DigitsCNN, demo.DigitsTransformer):
        scratch, twin = build(snn), build(torch.nn)
        layers = [m for m in scratch.modules() if m is not scratch]
        assert layers and all(type(m).__module__.startswith("scratchnn.nn") for m in layers)
        assert all(type(m).__module__.startswith("torch.nn") for m in twin.modules() if m is not twin)
        twin.load_state_dict(scratch.state_dict())  # the same names and shapes
        images = torch.randn(3, 1, 8, 8)
        torch.testing.assert_close(scratch(images), twin(images), rtol=1e-5, atol=1e-5)


def test_digits_split_is_stratified_and_standardized() -> None:
    data = demo.load_digits(seed=0)
    assert data.train_images.shape == (1437, 1, 8, 8) and data.test_images.shape == (360, 1, 8, 8)
    assert data.train_images.dtype == torch.float32
    assert torch.bincount(data.test_labels).min() >= 35  # every class in the test part
    assert abs(data.train_images.mean().item()) < 1e-5 and abs(data.train_images.std().item() - 1) < 1e-5


def test_twins_train_in_step() -> None:
    data = demo.load_digits(seed=1)
    stream = io.StringIO()
    result = demo.train_twins("CNN", demo.DigitsCNN, data, epochs=2, seed=1, stream=stream)
    assert len(result.scratch_losses) == len(result.torch_losses) == 2 * 23
    assert result.max_gap <= demo.AGREEMENT
    assert result.scratch_losses[-1] < result.scratch_losses[0]
    lines = stream.getvalue().splitlines()  # not a terminal: one line per epoch
    assert len(lines) == 2 and lines[-1].startswith(
        "CNN          [########################] epoch 2/2 step 46/46"
    )


def test_result_gaps() -> None:
    result = demo.Result("x", 1, [1.0, 2.0, 0.5], [1.0, 2.002, 0.5])
    assert result.gaps == pytest.approx([0.0, 0.002 / 2.002, 0.0])
    assert "max loss gap" in demo.summary_table([result])


def test_smoke_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plots" / "demo.png"
    threads = torch.get_num_threads()
    code = cli.main(["demo", "--epochs", "1", "--transformer-epochs", "1", "--seed", "2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert torch.get_num_threads() == threads  # the demo gives its thread setting back
    assert out.read_bytes().startswith(b"\x89PNG")
    table = printed.split("model")[1]
    assert "CNN" in table and "Transformer" in table
    assert "agrees with torch.nn's" in printed and f"Plot: {out}." in printed


def test_bad_epochs(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--epochs", "0"]) == 2
    assert "demo: --epochs must be at least 1" in capsys.readouterr().err


@pytest.mark.slow
def test_full_demo_reaches_the_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["demo", "--out", str(tmp_path / "demo.png")])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "at least the 97% target" in printed and "agrees with torch.nn's" in printed
