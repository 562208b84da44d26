"""Packaging: one version, a typed package, a cheap import, ``scratchnn --version``."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import scratchnn
from scratchnn import cli

ROOT = Path(__file__).resolve().parent.parent


def test_the_version_is_written_once():
    assert metadata.version("scratchnn") == scratchnn.__version__
    assert "version = " not in (ROOT / "pyproject.toml").read_text().split("[project]")[1].split("\n[")[0]


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out.strip() == f"scratchnn {scratchnn.__version__}"


def test_the_package_is_typed():
    assert (Path(scratchnn.__file__).parent / "py.typed").exists()


def test_import_does_not_load_the_compiler():
    """torch._dynamo is most of an import's time: scratchnn marks its settings for the compiler
    without importing it."""
    code = "import sys, scratchnn; print('torch._dynamo' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_native_fallback_error_is_reachable_from_the_top():
    with pytest.raises(scratchnn.NativeFallbackError):
        with scratchnn.mode(strict=True):
            import torch

            torch._C._nn.slow_conv3d(torch.randn(1, 2, 3, 3, 3), torch.ones(2, 2, 1, 1, 1), 1)
