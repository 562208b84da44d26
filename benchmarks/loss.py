"""cross_entropy (issue 18's target): scratchnn.functional.cross_entropy against torch's on
(4096 × 32000) float32 logits with class-index targets, forward + backward, 2 threads.

Times: medians of interleaved repeats in one process (``scratchnn.bench.harness.time_case``,
which alternates which side goes first). Peak memory: in a fresh subprocess per side, after the
inputs and one warm-up step, the resident high-water mark of the measured f+b step above the
process's baseline (``measure_memory``). Target: ours ≤ 1.5× torch in both.

Run from the repository root (the harness's subprocesses import this file as ``benchmarks.loss``):

    .venv/bin/python benchmarks/loss.py [--rows 4096] [--classes 32000] [--repeats 7] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as torch_F

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "src"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from scratchnn.bench.harness import Case, measure_memory, register, time_case  # noqa: E402

ROWS, CLASSES = 4096, 32000


def make_inputs(rows: int, classes: int):
    def make(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(rows, classes, device=device), torch.randint(0, classes, (rows,), device=device)

    return make


def case(rows: int, classes: int) -> Case:
    return register(
        Case(
            f"cross_entropy {rows}x{classes}",
            "loss",
            make_inputs(rows, classes),
            ours="scratchnn.functional.cross_entropy",
            theirs=torch_F.cross_entropy,
            description=f"({rows}, {classes}) float32 logits, int64 targets, reduction='mean'",
            grad=(0,),
            literal=False,
        )
    )


if __name__ != "__main__":
    CASES = {(ROWS, CLASSES): case(ROWS, CLASSES), (512, 32000): case(512, 32000)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=ROWS, choices=sorted({rows for rows, _ in CASES}))
    parser.add_argument("--classes", type=int, default=CLASSES)
    parser.add_argument("--repeats", type=int, default=7, help="timed samples per side (default 7)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH")])
    )
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))  # the memory subprocesses too
    chosen = CASES[args.rows, args.classes]
    result = time_case(chosen, repeats=args.repeats, warmup=1, min_time=0.0, literal=False)
    if result.status != "ok":
        raise SystemExit(f"{chosen.name}: {result.status}")
    row = {"case": chosen.name, "threads": args.threads, **{f"{k} s": v for k, v in result.times.items()}}
    if not args.no_memory:
        row["ours f+b bytes"] = measure_memory(chosen, "ours")[0]
        row["torch f+b bytes"] = measure_memory(chosen, "theirs")[0]
    print(f"torch {torch.__version__}, {args.threads} threads, {chosen.description}")
    for what in ("fwd", "f+b"):
        ours, theirs = row[f"ours {what} s"], row[f"theirs {what} s"]
        ratio = ours / theirs
        print(f"  {what:<4} ours {1e3 * ours:8.1f} ms   torch {1e3 * theirs:8.1f} ms   ratio {ratio:.2f}×")
    if not args.no_memory:
        ours, theirs = row["ours f+b bytes"], row["torch f+b bytes"]
        print(
            f"  f+b peak ours {ours / 2**20:8.0f} MiB torch {theirs / 2**20:8.0f} MiB   "
            f"ratio {max(ours, 2**20) / max(theirs, 2**20):.2f}×"
        )
    if args.json:
        args.json.write_text(json.dumps(row, indent=2))
    return 0


if __name__ == "__main__":
    import benchmarks.loss as module  # the cases live in the importable module

    sys.exit(module.main())
