"""Attention at b 1, h 8, d 64, float32: the literal form, the blocked (memory-efficient) form and
torch.nn.functional.scaled_dot_product_attention, n = 1024, 4096, 16384 (the literal form only where
its n × n scores fit: up to 4096).

Times (seconds per call): medians of interleaved repeats in one process, forward (no_grad) and
forward+backward, from the shared harness (``scratchnn.bench.harness.time_case``; torch is timed
next to each form). Peak memory (bytes above baseline): in a fresh subprocess per implementation,
after imports, input creation and one warm-up step, the resident high-water mark is reset and the
measured step's peak RSS is read (VmHWM − VmRSS before): forward+backward from the harness
(``measure_memory``), forward (no_grad) from this script's own child in the same way.

Run from the repository root (the harness's subprocesses import this file as
``benchmarks.attention``):

    .venv/bin/python benchmarks/attention.py [--sizes 1024 4096 16384] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as torch_F

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import scratchnn.functional as F  # noqa: E402
from scratchnn.bench.harness import Case, Result, measure_memory, register, time_case  # noqa: E402

SIZES = (1024, 4096, 16384)
LITERAL_MAX = 4096  # the literal form's f+b holds several n² tensors: 8·16384² floats is 8 GiB each


def literal(query, key, value):
    return F.scaled_dot_product_attention(query, key, value, backend="literal")


def blocked(query, key, value):
    return F.scaled_dot_product_attention(query, key, value, backend="blocked")


FORMS = {"literal": literal, "blocked": blocked}


def make_inputs(n: int):
    def make(device: torch.device) -> tuple[torch.Tensor, ...]:
        return tuple(torch.randn(1, 8, n, 64, device=device) for _ in range(3))

    return make


def cases() -> dict[tuple[str, int], Case]:
    """One harness case per (form, n): that form against torch."""
    found = {}
    for n in SIZES:
        for form in FORMS:
            if form == "literal" and n > LITERAL_MAX:
                continue
            found[form, n] = register(
                Case(
                    f"sdpa {form} n{n}",
                    "attention",
                    make_inputs(n),
                    ours=f"benchmarks.attention.{form}",
                    theirs=torch_F.scaled_dot_product_attention,
                    description=f"b1 h8 d64, n={n}, float32",
                    literal=False,
                )
            )
    return found


if __name__ != "__main__":
    CASES = cases()


# --------------------------------------------------------------------------------------------
# forward peak memory, in a fresh subprocess


def forward_memory(impl: str, n: int) -> float:
    """Peak RSS (bytes) of one no_grad forward above the baseline of a fresh process holding the inputs."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    argv = [
        sys.executable,
        "-c",
        "import benchmarks.attention as b, sys; b._forward_child(sys.argv[1:])",
        impl,
        str(n),
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"forward memory of {impl} n{n} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["fwd"])


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(field)


def _forward_child(argv: list[str]) -> None:
    impl, n = argv[0], int(argv[1])
    fn = torch_F.scaled_dot_product_attention if impl == "torch" else FORMS[impl]
    torch.manual_seed(0)
    tensors = make_inputs(n)(torch.device("cpu"))
    with torch.no_grad():
        fn(*tensors)  # warm-up
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")  # reset the high-water mark to the current RSS
        baseline = _status_kib("VmRSS")
        fn(*tensors)
        print(json.dumps({"fwd": (_status_kib("VmHWM") - baseline) * 1024}))


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--repeats", type=int, default=3, help="timed samples per implementation (default 3)")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    rows = []
    for n in args.sizes:
        row: dict[str, float | int | str] = {"n": n}
        for form in FORMS:
            case = CASES.get((form, n))
            if case is None:
                continue
            print(f"  {case.name} …", file=sys.stderr, flush=True)
            start = time.perf_counter()
            result: Result = time_case(case, repeats=args.repeats, warmup=1, min_time=0.0, literal=False)
            if result.status != "ok":
                raise SystemExit(f"{case.name}: {result.status}")
            for what in ("fwd", "f+b"):
                row[f"{form} {what} s"] = result.times[f"ours {what}"]
                row.setdefault(f"torch {what} s", [])
                row[f"torch {what} s"].append(result.times[f"theirs {what}"])  # type: ignore[union-attr]
            if not args.no_memory:
                row[f"{form} f+b bytes"] = measure_memory(case, "ours")[0]
                row[f"{form} fwd bytes"] = forward_memory(form, n)
                if "torch f+b bytes" not in row:
                    row["torch f+b bytes"] = measure_memory(case, "theirs")[0]
                    row["torch fwd bytes"] = forward_memory("torch", n)
            print(f"    {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        for what in ("fwd", "f+b"):  # torch was timed next to each form: report the median of those
            times = sorted(row[f"torch {what} s"])  # type: ignore[arg-type]
            row[f"torch {what} s"] = times[len(times) // 2]
        rows.append(row)
    print(format_rows(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


def format_rows(rows: list[dict]) -> str:
    lines = [
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, float32, b 1 h 8 d 64",
        "",
        "| n | form | fwd time (s) | f+b time (s) | fwd peak (MiB) | f+b peak (MiB) "
        "| f+b time / torch | f+b peak / torch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for impl in ("literal", "blocked", "torch"):
            if f"{impl} f+b s" not in row:
                continue

            def mib(key: str, row: dict = row) -> str:
                return f"{row[key] / 2**20:.0f}" if key in row else "–"

            ratio_t = row[f"{impl} f+b s"] / row["torch f+b s"]
            ratio_m = (
                f"{max(row[f'{impl} f+b bytes'], 2**20) / max(row['torch f+b bytes'], 2**20):.2f}"
                if f"{impl} f+b bytes" in row
                else "–"
            )
            lines.append(
                f"| {row['n']} | {impl} | {row[f'{impl} fwd s']:.3f} | {row[f'{impl} f+b s']:.3f} | "
                f"{mib(f'{impl} fwd bytes')} | {mib(f'{impl} f+b bytes')} | {ratio_t:.2f} | {ratio_m} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    import benchmarks.attention as module  # the cases live in the importable module

    sys.exit(module.main())
