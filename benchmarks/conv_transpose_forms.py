"""conv_transpose2d on input (8, 64, 32, 32), weight (64, 32, 4, 4), stride 2, padding 1 (float32):
torch, our fast form (scheduled as the adjoint convolution), the formula it computes run as
written (contract + overlap-add), the zero-insertion form with the same fast contraction, and the
literal form (zero insertion + broadcast multiply-and-sum; skip it with ``--no-literal``).

Times: medians of interleaved repeats, forward and forward+backward, in one process.
Peak memory: forward+backward in a fresh subprocess per implementation, peak RSS (VmHWM, reset
after imports and input creation) above that process's RSS at that point.

    .venv/bin/python benchmarks/conv_transpose_forms.py [--threads 1] [--repeats 9] [--no-literal]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as torch_F

import scratchnn
from scratchnn.functional import conv_transpose2d
from scratchnn.functional.conv_transpose import ConvTransposeArgs, transposed_formula, zero_insertion_formula

SHAPES = dict(input=(8, 64, 32, 32), weight=(64, 32, 4, 4), bias=(32,))
KWARGS = dict(stride=2, padding=1)


def inputs() -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(0)
    return tuple(torch.randn(*shape, generator=generator).requires_grad_() for shape in SHAPES.values())


def zero_insertion(x, w, b, stride, padding):
    args = ConvTransposeArgs("conv_transpose2d", x, w, b, stride, padding, 0, 1, 1, 2)
    with scratchnn.contraction("fast"):
        return zero_insertion_formula(x, w, b, args.geometry, 1)


def overlap_add(x, w, b, stride, padding):
    args = ConvTransposeArgs("conv_transpose2d", x, w, b, stride, padding, 0, 1, 1, 2)
    with scratchnn.contraction("fast"):
        return transposed_formula(x, w, b, args.geometry, 1)


def literal(x, w, b, stride, padding):
    with scratchnn.contraction("literal"):
        return conv_transpose2d(x, w, b, stride, padding)


IMPLS = {
    "torch": torch_F.conv_transpose2d,
    "fast (adjoint convolution)": conv_transpose2d,
    "contract + overlap-add": overlap_add,
    "zero-insertion (fast contraction)": zero_insertion,
    "literal (zero-insertion, broadcast multiply)": literal,
}


def step(fn, tensors, backward: bool) -> float:
    start = time.perf_counter()
    out = fn(*tensors, **KWARGS)
    if backward:
        out.backward(torch.ones_like(out))
    elapsed = time.perf_counter() - start
    for t in tensors:
        t.grad = None
    return elapsed


def peak_memory(name: str, threads: int) -> int:
    child = [sys.executable, __file__, "--child", name, "--threads", str(threads)]
    return int(subprocess.run(child, capture_output=True, text=True, check=True).stdout.strip())


def status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def child(name: str) -> None:
    """Peak RSS of one f+b step above the baseline after imports and inputs. ru_maxrss would carry
    the parent's high-water mark across fork + exec, so reset VmHWM (clear_refs) and read it."""
    tensors = inputs()
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # VmHWM := VmRSS
    baseline = status_kib("VmRSS")
    step(IMPLS[name], tensors, backward=True)
    print((status_kib("VmHWM") - baseline) * 1024)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--child")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-literal", action="store_true", help="leave out the literal form")
    args = parser.parse_args()
    if args.no_literal:
        del IMPLS["literal (zero-insertion, broadcast multiply)"]
    torch.set_num_threads(args.threads)
    if args.child:
        child(args.child)
        return
    tensors = inputs()
    reference = torch_F.conv_transpose2d(*tensors, **KWARGS)
    for fn in IMPLS.values():  # warm-up, and a correctness guard
        torch.testing.assert_close(fn(*tensors, **KWARGS), reference, rtol=1e-4, atol=1e-4)
        step(fn, tensors, backward=True)
    times: dict[str, dict[str, list[float]]] = {name: {"fwd": [], "f+b": []} for name in IMPLS}
    for i in range(args.repeats):
        order = list(IMPLS) if i % 2 == 0 else list(reversed(IMPLS))  # interleaved
        for name in order:
            if name.startswith("literal") and i >= 3:
                continue  # the literal form is not meant to be fast; three runs are enough
            times[name]["fwd"].append(step(IMPLS[name], tensors, backward=False))
            times[name]["f+b"].append(step(IMPLS[name], tensors, backward=True))
    rows = {}
    for name in IMPLS:
        rows[name] = {
            "fwd_ms": 1e3 * statistics.median(times[name]["fwd"]),
            "fb_ms": 1e3 * statistics.median(times[name]["f+b"]),
            "peak_mib": peak_memory(name, args.threads) / 2**20,
        }
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"conv_transpose2d {SHAPES} {KWARGS}, float32, {args.threads} thread(s), {args.repeats} repeats")
    print(f"{'implementation':<46} {'fwd ms':>9} {'f+b ms':>9} {'peak MiB (f+b)':>15}")
    for name, row in rows.items():
        print(f"{name:<46} {row['fwd_ms']:>9.1f} {row['fb_ms']:>9.1f} {row['peak_mib']:>15.1f}")


if __name__ == "__main__":
    main()
