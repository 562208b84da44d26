"""The benchmark harness: cases, timing, memory subprocess, reports, and the CLI wiring."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from scratchnn import bench
from scratchnn.bench import harness
from scratchnn.bench.harness import _interleaved
from scratchnn.cli import main


def _tiny_linear(device):
    return torch.randn(16, 8, device=device), torch.randn(4, 8, device=device)


TINY = bench.Case(
    "tiny linear",
    "linear",
    _tiny_linear,
    ours="scratchnn.functional.linear",
    theirs=F.linear,
    description="16×8 → 4",
)


def test_issue_cases_are_registered_once_each():
    names = [case.name for case in bench.all_cases()]
    assert len(names) == len(set(names))
    for expected in (
        "conv2d resnet 3x3",
        "conv2d depthwise 7x7",
        "conv1d audio k9",
        "conv3d video 3x3x3",
        "conv_transpose2d 4x4 s2",
        "linear 4096x1024→4096",
        "bmm 64x256x256",
        "max_pool2d 3x3 s2",
        "adaptive_avg_pool2d 1",
        "attention n4096",
    ):
        assert expected in names
    families = [case.family for case in bench.all_cases()]
    assert families == sorted(families, key=bench.FAMILIES.index)


def test_register_rejects_a_different_case_under_a_known_name():
    bench.register(TINY)
    bench.register(TINY)  # the same case again is fine
    other = bench.Case("tiny linear", "linear", _tiny_linear, ours="x.y", theirs=F.linear)
    with pytest.raises(ValueError, match="already registered"):
        bench.register(other)


def test_select_filters_by_name_and_family():
    cases = bench.all_cases()
    chosen = bench.select(cases, ["RESNET", "1x1"], None)
    assert [c.name for c in chosen] == ["conv2d resnet 3x3", "conv2d 1x1"]
    assert {c.family for c in bench.select(cases, None, ["pooling"])} == {"pooling"}
    assert bench.select(cases, ["3x3"], ["linear"]) == []


def test_time_case_measures_both_and_a_missing_op_reports_missing():
    result = bench.time_case(TINY, repeats=3, warmup=1, literal=True)
    assert result.status == "ok"
    assert set(result.times) == {"ours fwd", "theirs fwd", "ours f+b", "theirs f+b", "literal f+b"}
    assert all(t > 0 for t in result.times.values())
    missing = bench.Case(
        "nothing", "conv", _tiny_linear, ours="scratchnn.functional.no_such_op", theirs=F.linear
    )
    assert bench.time_case(missing).status.startswith("missing: scratchnn.functional.no_such_op")
    with pytest.raises(LookupError, match="does not exist"):
        bench.resolve("scratchnn.functional.no_such_op")


_FREED = """
import sys, torch
from scratchnn.bench.harness import _status_kib, steady_allocator
if sys.argv[1] == "steady":
    steady_allocator()
block = torch.ones(4 * 2**20)  # 16 MiB, touched
before = _status_kib("VmRSS")
del block
print(before - _status_kib("VmRSS"))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc")
def test_steady_allocator_keeps_freed_blocks_in_the_heap():
    def returned_kib(mode):
        run = subprocess.run([sys.executable, "-c", _FREED, mode], capture_output=True, text=True, check=True)
        return int(run.stdout.strip().splitlines()[-1])

    assert returned_kib("default") > 12 * 1024  # a fresh mapping, unmapped when freed
    assert returned_kib("steady") < 4 * 1024  # served by the heap, kept for the next step


def test_interleaved_reports_medians_of_each_call():
    calls = {"a": lambda: None, "b": lambda: sum(range(2000))}
    times = _interleaved(calls, repeats=5, warmup=1, min_time=0.001, sync=lambda: None)
    assert 0 < times["a"] < times["b"]


def test_memory_is_measured_in_a_fresh_subprocess():
    case = bench.select(bench.all_cases(), ["1x1"])[0]
    peak, seconds = bench.measure_memory(case, "theirs")
    # output (8, 64, 28, 28) and the input's and weight's gradients: ~8 MiB of float32 above baseline
    assert 4 * 2**20 < peak < 64 * 2**20 and seconds > 0
    with pytest.raises(ValueError, match="impl must be"):
        bench.measure_memory(TINY, "mine")


def test_a_failed_memory_run_says_which_case(monkeypatch):
    def failing(argv, **kwargs):
        assert argv[1:3] == ["-c", harness._CHILD] and argv[3:5] == ["tiny linear", "ours"]
        return subprocess.CompletedProcess(argv, 1, "", "Traceback ...\nKeyError: 'tiny linear'\n")

    monkeypatch.setattr(subprocess, "run", failing)
    with pytest.raises(RuntimeError, match=r"memory of 'tiny linear' \(ours\) failed: KeyError"):
        bench.measure_memory(TINY, "ours")


def _result(name, family, ours_fb, theirs_fb, memory=(1.0, 1.0)):
    case = bench.Case(name, family, _tiny_linear, ours="scratchnn.functional.linear", theirs=F.linear)
    return bench.Result(
        case,
        {"ours fwd": ours_fb, "theirs fwd": theirs_fb, "ours f+b": ours_fb, "theirs f+b": theirs_fb},
        {"ours": memory[0] * 2**30, "theirs": memory[1] * 2**30},
    )


def test_summary_geomean_worst_and_misses():
    results = [
        _result("a", "conv", 2.0, 1.0),
        _result("b", "conv", 1.0, 2.0),
        _result("c", "linear", 1.1, 1.0),
        _result("d", "attention", 9.0, 1.0, (3.0, 1.0)),
    ]
    s = bench.summary(results)
    assert math.isclose(s.geomean, 1.1 ** (1 / 3))  # attention is outside the target families
    assert s.worst == ("a", 2.0)
    assert s.worst_memory == ("d", 3.0)
    assert any("c 1.10× > 1.05" in m for m in s.misses)
    assert any("d memory 3.00× > 1.5" in m for m in s.misses)
    assert not any(m.startswith("a ") for m in s.misses)  # 2.0 is not above 2.0


def test_tables_and_chart(tmp_path):
    results = [_result("conv x", "conv", 3.0, 1.0), _result("lin y", "linear", 1.0, 1.0)]
    text = bench.format_table(results)
    assert "conv x" in text and "3.00!" in text and "1.00" in text
    markdown = bench.format_markdown(results)
    assert markdown.splitlines()[0].startswith("| case | shape |") and markdown.count("\n") == 3
    path = bench.plot(results, tmp_path / "chart.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_cli_runs_a_filtered_quick_bench(tmp_path, capsys):
    status = main(
        ["bench", "--quick", "--case", "bmm", "--no-memory", "--repeats", "2", "--out", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "bmm 64x256x256" in out and "geomean" in out
    assert {p.name for p in tmp_path.iterdir()} == {
        "benchmarks.png",
        "benchmarks-table.md",
        "benchmarks.json",
    }
    assert main(["bench", "--case", "no such case"]) == 2


def test_without_matplotlib_the_table_and_json_are_still_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    status = main(
        ["bench", "--quick", "--case", "bmm", "--no-memory", "--repeats", "2", "--out", str(tmp_path)]
    )
    captured = capsys.readouterr()
    assert status == 0
    assert {p.name for p in tmp_path.iterdir()} == {"benchmarks-table.md", "benchmarks.json"}
    assert "no plot: matplotlib is not installed (pip install 'scratchnn[demo]')" in captured.err
