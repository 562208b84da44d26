"""Recurrent layers: scratchnn.nn.LSTM / GRU against torch.nn's, forward + backward.

LSTM(64 → 128, 2 layers) and GRU(64 → 128, 2 layers) on (T=50, batch 16, 64) float32 input, with
2 intra-op threads; the two sides have the same weights. On the CPU torch runs its LSTM in one
fused oneDNN kernel and its GRU as ATen's loop over time (``--no-mkldnn`` makes the LSTM take
that loop too). Each repeat times one forward+backward
step of each side, alternating which goes first (interleaved), after a warm-up; the report is the
median time per side and their ratio (ours / torch).

    .venv/bin/python benchmarks/rnn.py                # 30 interleaved repeats
    .venv/bin/python benchmarks/rnn.py --repeats 10 --json
    .venv/bin/python benchmarks/rnn.py --no-mkldnn
    .venv/bin/python benchmarks/rnn.py --steps 128 --batch 32 --input 512 --hidden 512 --layers 1
                                                      # the issue's target shape
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import scratchnn.nn as snn  # noqa: E402 - after the path fix above

STEPS, BATCH, INPUT, HIDDEN, LAYERS = 50, 16, 64, 128, 2


def step(module: torch.nn.Module, x: torch.Tensor) -> float:
    """Seconds for one forward + backward of ``module`` on ``x``."""
    start = time.perf_counter()
    out, _ = module(x)
    out.sum().backward()
    elapsed = time.perf_counter() - start
    module.zero_grad(set_to_none=True)
    return elapsed


def measure(name: str, repeats: int, shape: tuple[int, int, int, int, int]) -> dict[str, float]:
    steps, batch, features, hidden, layers = shape
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(features, hidden, num_layers=layers)
    ours = getattr(snn, name)(features, hidden, num_layers=layers)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(steps, batch, features)
    for module in (ours, theirs):  # warm-up
        step(module, x)
    times: dict[str, list[float]] = {"ours": [], "torch": []}
    for repeat in range(repeats):
        order = [("ours", ours), ("torch", theirs)]
        for side, module in order if repeat % 2 == 0 else order[::-1]:
            times[side].append(step(module, x))
    ours_ms, torch_ms = (1e3 * statistics.median(times[side]) for side in ("ours", "torch"))
    return {"ours_ms": ours_ms, "torch_ms": torch_ms, "ratio": ours_ms / torch_ms}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--input", type=int, default=INPUT)
    parser.add_argument("--hidden", type=int, default=HIDDEN)
    parser.add_argument("--layers", type=int, default=LAYERS)
    parser.add_argument(
        "--no-mkldnn",
        action="store_true",
        help="torch without oneDNN: its LSTM then runs ATen's own loop over time, as its GRU always does",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.backends.mkldnn.enabled = not args.no_mkldnn
    shape = (args.steps, args.batch, args.input, args.hidden, args.layers)
    results = {name: measure(name, args.repeats, shape) for name in ("LSTM", "GRU")}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        f"forward+backward, ({args.steps}, {args.batch}, {args.input}) float32, {args.layers} layers of "
        f"{args.hidden}, "
        f"{args.threads} threads, median of {args.repeats} interleaved runs"
    )
    for name, result in results.items():
        print(
            f"  {name:<5} ours {result['ours_ms']:8.2f} ms   torch {result['torch_ms']:8.2f} ms   "
            f"ratio {result['ratio']:.2f}×"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
