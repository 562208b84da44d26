"""The scratchnn command: check's table and exit status."""

import subprocess
import sys

import torch

from scratchnn import _comparison, check, cli


def test_check_prints_a_table_and_succeeds(capsys):
    assert cli.main(["check", "conv2d", "pad", "matmul"]) == 0
    out = capsys.readouterr().out
    for op in ("conv2d", "pad", "matmul"):
        assert any(line.startswith(op) and line.rstrip().endswith("ok") for line in out.splitlines())
    assert "3 ops" in out and "all ok" in out


def test_check_literal_form(capsys):
    assert cli.main(["check", "conv1d", "--form", "literal"]) == 0
    assert "form=literal, device=cpu: all ok" in capsys.readouterr().out


def test_check_runs_on_the_named_device(capsys, monkeypatch):
    seen = []
    original = _comparison.leaves

    def spy(value, grad, device=None):  # records the device asked for, makes the tensors on the CPU
        seen.append(device)
        return original(value, grad, torch.device("cpu"))

    monkeypatch.setattr(_comparison, "leaves", spy)
    assert cli.main(["check", "relu", "--device", "meta"]) == 0
    assert seen and all(device == torch.device("meta") for device in seen)
    assert "device=meta: all ok" in capsys.readouterr().out


def test_check_rejects_an_unknown_device(capsys):
    assert cli.main(["check", "relu", "--device", "bogus"]) == 2
    assert "--device 'bogus'" in capsys.readouterr().err


def test_check_fails_on_a_mismatch(capsys):
    check.register(
        "broken_relu",
        lambda x: x.clamp(min=0) * 1.01,
        torch.relu,
        [lambda g: ((torch.randn(5, generator=g, dtype=torch.float64),), {})],
    )
    try:
        assert cli.main(["check", "broken_relu"]) == 1
        out = capsys.readouterr().out
        assert "FAIL" in out and "case 0: error" in out
    finally:
        del check._REGISTRY["broken_relu"]


def test_unknown_op_is_reported(capsys):
    assert cli.main(["check", "no_such_op"]) == 2
    assert "no cases for op 'no_such_op'; known ops: " in capsys.readouterr().err


def test_module_entry_point_help():
    result = subprocess.run(
        [sys.executable, "-m", "scratchnn", "--help"], capture_output=True, text=True, check=True
    )
    assert "check" in result.stdout


def test_check_on_cuda_without_cuda_fails_once(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cli.main(["check", "relu", "--device", "cuda"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == "scratchnn check: --device 'cuda': this torch has no CUDA device"
    assert captured.out == ""


def test_check_does_not_print_torchs_warnings(capsys):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cli.main(["check", "conv2d"]) == 0  # its cases include padding='same' with even kernels
    assert not [w for w in caught if issubclass(w.category, UserWarning)]
