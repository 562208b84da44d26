"""Benchmark scratchnn against torch's native kernels: time and memory ratios, table and chart.

Each case is timed forward (no_grad) and forward+backward, scratchnn and torch interleaved in
one process (medians after a warm-up, the C allocator in its steady state); peak memory of one
forward+backward step is measured in a fresh subprocess per implementation; the literal form is
timed and measured once, in its own subprocess (skip it with ``--no-literal``; ``--quick`` skips
it unless ``--literal``). Prints
a table of ratios scratchnn/native (``!`` marks a ratio over its limit) and writes
``benchmarks.png``, ``benchmarks-table.md`` and ``benchmarks.json`` to ``--out``.

    scratchnn bench --quick --family conv --no-memory
    scratchnn bench --case "resnet" --case "1x1" --compile
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import torch

from ..bench.harness import FAMILIES, Result, all_cases, full_float32, measure_memory, select, time_case
from ..bench.report import format_markdown, format_table, plot, summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="fewer repeats (5 instead of 15), one warm-up")
    parser.add_argument(
        "--case", action="append", metavar="TEXT", help="only cases whose name contains TEXT (repeatable)"
    )
    parser.add_argument("--family", action="append", choices=FAMILIES, help="only this family (repeatable)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="device (default: cpu)")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="also time the torch.compile(fullgraph=True)-d scratch op (compiled column)",
    )
    parser.add_argument(
        "--out",
        default="bench-results",
        type=Path,
        help="folder for benchmarks.png / -table.md / .json (default: bench-results)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument(
        "--literal",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="time and measure the literal form too, once per case (default: on, off with --quick)",
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed samples per implementation")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads, here and in the memory subprocesses (default: torch's)",
    )


def run(args: argparse.Namespace) -> int:
    if args.device == "cuda" and not torch.cuda.is_available():
        print("scratchnn bench: --device cuda but torch.cuda.is_available() is False", file=sys.stderr)
        return 2
    full_float32(args.device)
    cases = select(all_cases(), args.case, args.family)
    if not cases:
        print("scratchnn bench: no case matches the filters", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(args.threads)  # the subprocesses
    repeats = args.repeats or (5 if args.quick else 15)
    if args.literal is None:
        args.literal = not args.quick
    results: list[Result] = []
    for case in cases:
        print(f"  {case.name} …", file=sys.stderr, flush=True)
        literal = args.literal and case.literal
        # With memory measured, the literal form's single run in its subprocess gives its time too.
        result = time_case(
            case,
            args.device,
            repeats=repeats,
            warmup=1 if args.quick else 2,
            literal=literal and args.no_memory,
            compile=args.compile,
        )
        if result.status == "ok" and not args.no_memory:
            for impl in ["ours", "theirs"] + (["literal"] if literal else []):
                try:
                    result.memory[impl], seconds = measure_memory(case, impl, args.device)
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as error:
                    result.notes.append(str(error))
                    continue
                if impl == "literal":
                    result.times["literal f+b"] = seconds
        for note in result.notes:
            print(f"    {note}", file=sys.stderr)
        results.append(result)
    machine = _machine(args.device)
    print(f"\n{machine}\nratios scratchnn / native, forward+backward unless marked; '!' over the limit\n")
    print(format_table(results))
    report = summary(results)
    print()
    print("\n".join(report.lines()))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmarks-table.md").write_text(format_markdown(results) + "\n")
    (args.out / "benchmarks.json").write_text(
        json.dumps(
            {
                "machine": machine,
                "device": args.device,
                "repeats": repeats,
                "summary": report.lines(),
                "cases": [
                    {
                        "name": r.case.name,
                        "family": r.case.family,
                        "description": r.case.description,
                        "status": r.status,
                        "times": r.times,
                        "memory": r.memory,
                        "notes": r.notes,
                    }
                    for r in results
                ],
            },
            indent=1,
        )
    )
    names = ["benchmarks-table.md", "benchmarks.json"]
    try:  # the table and the JSON are written first: a missing plotting library loses nothing else
        plot(results, args.out / "benchmarks.png", title=f"scratchnn / native — {machine}")
        names.insert(0, "benchmarks.png")
    except ImportError:
        print("no plot: matplotlib is not installed (pip install 'scratchnn[demo]')", file=sys.stderr)
    print(f"\nwrote {', '.join(str(args.out / name) for name in names)}")
    return 1 if any(r.status.startswith("error") for r in results) else 0


def _machine(device: str) -> str:
    if device == "cuda":
        name = f"{torch.cuda.get_device_name()}, float32 without TF32"
    else:
        name = platform.processor() or platform.machine()
        try:
            with open("/proc/cpuinfo") as cpuinfo:
                name = next(
                    line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
                )
        except (OSError, StopIteration):
            pass
        threads = torch.get_num_threads()
        name += f", {threads} thread{'' if threads == 1 else 's'}"
    return f"{name}, torch {torch.__version__}"
