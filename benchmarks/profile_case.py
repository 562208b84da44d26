"""Where one benchmark case spends its time: torch.profiler tables of one forward+backward step,
scratchnn and native, on the CPU or CUDA. Shows the op count, the host (Python + dispatch)
time and, on CUDA, the kernel time — what a ratio in ``scratchnn bench`` is made of.

    .venv/bin/python benchmarks/profile_case.py "conv2d resnet" [--device cuda] [--rows 12]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scratchnn.bench.harness import _Prepared, all_cases, full_float32, resolve, select  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", help="text in the case's name (the first match is profiled)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rows", type=int, default=12, help="rows of each table")
    parser.add_argument("--steps", type=int, default=3, help="profiled steps per implementation")
    args = parser.parse_args()
    cases = select(all_cases(), [args.case])
    if not cases:
        print(f"profile_case: no case matches {args.case!r}", file=sys.stderr)
        return 2
    case, device = cases[0], torch.device(args.device)
    full_float32(device)  # as scratchnn bench: no TF32 on either side
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    prepared = _Prepared(case, device)
    for label, fn in (("scratchnn", resolve(case.ours)), ("native", case.theirs)):
        step = prepared.step(fn, backward=True)
        for _ in range(2):  # warm-up
            step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        with profile(activities=activities) as prof:
            for _ in range(args.steps):
                step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
        events = prof.key_averages()
        sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
        calls = sum(event.count for event in events if event.key.startswith("aten::")) // args.steps
        print(f"\n== {case.name}, {label}, {args.device}: {calls} aten calls per forward+backward step")
        print(events.table(sort_by=sort, row_limit=args.rows, max_name_column_width=48))
    return 0


if __name__ == "__main__":
    sys.exit(main())
