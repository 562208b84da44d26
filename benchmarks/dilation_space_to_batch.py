"""Dilated convolution: the plain dilated-window path against space-to-batch (``schedules/dilation.py``).

Rows per case (float32, medians of interleaved repeats, forward and forward+backward):

* ``window (einsum)``        — ``conv_nd`` contracting the dilated window view (``algorithm("einsum")``)
* ``space-to-batch (einsum)`` — phases into the batch, the same einsum contraction inside
* ``space-to-batch (auto)``   — phases into the batch, ``conv_nd``'s own choice for the dense conv
* ``conv_nd auto``            — whatever ``conv_nd`` picks for the dilated conv today
* ``torch``

    .venv/bin/python benchmarks/dilation_space_to_batch.py [--threads 1] [--repeats 5] [--fwd-only]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as torch_F

import scratchnn
from scratchnn.functional.conv import ConvArgs, conv_formula, conv_nd, convolve
from scratchnn.schedules.dilation import space_to_batch

# name, input shape, weight shape, padding, dilation
CASES = [
    ("2-D 64 ch 64², k3 d4 pad 4, batch 4", (4, 64, 64, 64), (64, 64, 3, 3), 4, 4),
    ("2-D 64 ch 64², k3 d16 pad 16, batch 4", (4, 64, 64, 64), (64, 64, 3, 3), 16, 16),
    ("2-D 64 ch 64², k3 d2 pad 2, batch 4", (4, 64, 64, 64), (64, 64, 3, 3), 2, 2),
    ("1-D causal 64 ch, L 16000 (+16), k2 d16, batch 8", (8, 64, 16016), (64, 64, 2), 0, 16),
]


def implementations(n: int, padding: int, dilation: int):
    op = f"conv{n}d"
    torch_conv = {1: torch_F.conv1d, 2: torch_F.conv2d}[n]

    def window(x, w, b):
        with scratchnn.settings(conv="einsum"):
            return conv_nd(x, w, b, 1, padding, dilation, 1, n, op)

    def space_to_batch_einsum(x, w, b):
        geometry = ConvArgs(op, x, w, b, 1, padding, dilation, 1, n).geometry
        return space_to_batch(x, w, b, geometry, 1, dense=conv_formula)

    def space_to_batch_auto(x, w, b):
        geometry = ConvArgs(op, x, w, b, 1, padding, dilation, 1, n).geometry
        return space_to_batch(x, w, b, geometry, 1, dense=convolve)

    def auto(x, w, b):
        return conv_nd(x, w, b, 1, padding, dilation, 1, n, op)

    def theirs(x, w, b):
        return torch_conv(x, w, b, 1, padding, dilation)

    return {
        "window (einsum)": window,
        "space-to-batch (einsum)": space_to_batch_einsum,
        "space-to-batch (auto)": space_to_batch_auto,
        "conv_nd auto": auto,
        "torch": theirs,
    }


def step(fn, tensors, backward: bool) -> float:
    start = time.perf_counter()
    out = fn(*tensors)
    if backward:
        out.backward(torch.ones_like(out))
    elapsed = time.perf_counter() - start
    for t in tensors:
        t.grad = None
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fwd-only", action="store_true")
    parser.add_argument("--slow-limit", type=float, default=20.0, help="seconds; one run above it is enough")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"float32, {args.threads} thread(s), medians of {args.repeats} interleaved repeats (ms)")
    for name, x_shape, w_shape, padding, dilation in CASES:
        n = len(x_shape) - 2
        generator = torch.Generator().manual_seed(0)
        shapes = (x_shape, w_shape, w_shape[:1])
        tensors = [torch.randn(*shape, generator=generator).requires_grad_() for shape in shapes]
        impls = implementations(n, padding, dilation)
        reference = impls["torch"](*tensors)
        for fn in impls.values():  # correctness guard, and warm-up
            torch.testing.assert_close(fn(*tensors), reference, rtol=1e-4, atol=1e-3)
        kinds = ["fwd"] if args.fwd_only else ["fwd", "f+b"]
        times = {impl: {kind: [] for kind in kinds} for impl in impls}
        for i in range(args.repeats):
            for impl in impls if i % 2 == 0 else reversed(impls):
                for kind in kinds:
                    runs = times[impl][kind]
                    if runs and max(runs) > args.slow_limit:
                        continue
                    runs.append(step(impls[impl], tensors, backward=kind == "f+b"))
        print(f"\n{name}")
        print(f"  {'path':<26}" + "".join(f"{kind:>12}" for kind in kinds))
        for impl in impls:
            cells = "".join(f"{1e3 * statistics.median(times[impl][kind]):>12.1f}" for kind in kinds)
            print(f"  {impl:<26}{cells}")


if __name__ == "__main__":
    main()
