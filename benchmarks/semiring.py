"""Semiring benchmarks (issue 7): scratchnn's bounded forms against the unfold approach used in the
wild, forward+backward time and peak memory, on the shared harness (``scratchnn.bench``).

* flat dilation of a (1, 1, 1024, 1024) float32 image with 3×3, 31×31 and 71×71 elements:
  ``scratchnn.functional.dilation2d(x, size=k)`` against ``F.unfold`` + ``amax`` (written below,
  as kornia and ComfyUI do it; skipped at 71×71, where its window tensor alone is 1024²·71²·4 B ≈
  20 GB), and against torch's native ``max_pool2d`` (stride 1, same padding: the same filter);
* AdderConv2d 3×3 64→64 on (16, 64, 56, 56): ``semiring_conv2d(x, w, padding=1, semiring="l1")``
  against ``conv2d`` on the same shapes (the memory target is < 2× conv2d's peak), and at batch 2
  against AdderNet's own unfold implementation (at batch 16 its forward temporary alone is
  16·64·576·3136·4 B ≈ 7.4 GB).

Times are the harness's interleaved medians (``time_case``); peak memory is measured by the
harness in a fresh process per case and implementation: resident memory of one forward+backward
step above the baseline after imports, input creation and a warm-up step (``measure_memory``).

    .venv/bin/python benchmarks/semiring.py              # everything (several minutes)
    .venv/bin/python benchmarks/semiring.py --case adder --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
IMAGE = (1, 1, 1024, 1024)
ADDER_INPUT, ADDER_WEIGHT = (16, 64, 56, 56), (64, 64, 3, 3)


def unfold_dilation(x: torch.Tensor, size: int) -> torch.Tensor:
    """Flat dilation the usual way: every window materialized by ``F.unfold``, then ``amax``.
    Padding is −inf (outside pixels ignored), as ``dilation2d``'s default border."""
    height, width = x.shape[-2:]
    padded = F.pad(x, (size // 2,) * 4, value=-torch.inf)
    windows = F.unfold(padded, size)  # b (c kh kw) (h w): the (output × window) tensor
    return windows.amax(1).view(x.shape[0], 1, height, width)


def max_pool_dilation(x: torch.Tensor, size: int) -> torch.Tensor:
    """Torch's native kernel for the same flat filter."""
    return F.max_pool2d(x, size, stride=1, padding=size // 2)


def ours_dilation(x: torch.Tensor, size: int) -> torch.Tensor:
    from scratchnn.functional import dilation2d

    return dilation2d(x, size=size)


def ours_adder(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    from scratchnn.functional import semiring_conv2d

    return semiring_conv2d(x, weight, padding=1, semiring="l1")


def torch_conv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return F.conv2d(x, weight, padding=1)


def unfold_adder(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """AdderNet's reference implementation: unfold, then −Σ|window − weight| by broadcasting:
    a (b, c_out, c_in·kh·kw, h·w) temporary."""
    windows = F.unfold(x, 3, padding=1)  # b (c_in kh kw) (h w)
    flat = weight.flatten(1)  # c_out (c_in kh kw)
    out = -(windows[:, None] - flat[None, :, :, None]).abs().sum(2)  # b c_out (h w)
    return out.view(x.shape[0], weight.shape[0], *x.shape[2:])


def image(device: torch.device) -> tuple[torch.Tensor]:
    return (torch.rand(*IMAGE, device=device),)


def adder_inputs(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(*ADDER_INPUT, device=device), torch.randn(*ADDER_WEIGHT, device=device)


def small_adder_inputs(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(2, *ADDER_INPUT[1:], device=device), torch.randn(*ADDER_WEIGHT, device=device)


def cases() -> list:
    """The cases, registered with the harness (the memory subprocess imports this module)."""
    from scratchnn.bench import Case, register

    found = []
    for size in (3, 31, 71):
        if size != 71:
            found.append(
                Case(
                    f"dilation {size}x{size} vs unfold",
                    "semiring",
                    image,
                    ours=ours_dilation,
                    theirs=unfold_dilation,
                    kwargs={"size": size},
                    description=f"flat {size}×{size}, (1, 1, 1024, 1024) float32",
                    literal=False,
                )
            )
        found.append(
            Case(
                f"dilation {size}x{size} vs max_pool2d",
                "semiring",
                image,
                ours=ours_dilation,
                theirs=max_pool_dilation,
                kwargs={"size": size},
                description=f"flat {size}×{size}, (1, 1, 1024, 1024) float32",
                literal=False,
            )
        )
    found.append(
        Case(
            "adder 3x3 64->64 vs conv2d",
            "semiring",
            adder_inputs,
            ours=ours_adder,
            theirs=torch_conv,
            description="l1 semiring, (16, 64, 56, 56), 64→64, pad 1",
            literal=False,
        )
    )
    found.append(  # at batch 16 the unfold form needs ~7.4 GB for its forward temporary alone
        Case(
            "adder 3x3 64->64 b2 vs unfold",
            "semiring",
            small_adder_inputs,
            ours=ours_adder,
            theirs=unfold_adder,
            description="l1 semiring, (2, 64, 56, 56), 64→64, pad 1",
            literal=False,
        )
    )
    return [register(case) for case in found]


if __name__ != "__main__":
    CASES = cases()


def main(argv: list[str] | None = None) -> int:
    from scratchnn.bench import measure_memory, time_case

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", help="only cases whose name contains this (repeatable)")
    parser.add_argument("--repeats", type=int, default=5, help="timed samples per implementation (median)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--threads", type=int, help="torch threads, here and in the memory subprocesses")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    selected = [c for c in CASES if not args.case or any(s.lower() in c.name.lower() for s in args.case)]
    rows = []
    print(f"torch threads: {torch.get_num_threads()}")
    print(f"{'case':<30} {'ours f+b ms':>12} {'theirs f+b ms':>14} {'ratio':>6} ", end="")
    print(f"{'ours MiB':>9} {'theirs MiB':>11}", flush=True)
    for case in selected:
        result = time_case(case, repeats=args.repeats, warmup=1, min_time=0.0, literal=False)
        row = {"case": case.name, "status": result.status, **{k: v for k, v in result.times.items()}}
        if result.status == "ok" and not args.no_memory:
            for impl in ("ours", "theirs"):
                row[f"{impl} peak"], _ = measure_memory(case, impl)
        rows.append(row)
        ours, theirs = row.get("ours f+b"), row.get("theirs f+b")
        mib = {impl: row.get(f"{impl} peak") for impl in ("ours", "theirs")}
        print(
            f"{case.name:<30} {_ms(ours):>12} {_ms(theirs):>14} "
            f"{(ours / theirs if ours and theirs else float('nan')):>6.2f} "
            f"{_mib(mib['ours']):>9} {_mib(mib['theirs']):>11}  {result.status}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


def _ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{1e3 * seconds:.1f}"


def _mib(nbytes: float | None) -> str:
    return "—" if nbytes is None else f"{nbytes / 2**20:.1f}"


if __name__ == "__main__":
    # Run as a script, the cases must still live in an importable module: the harness measures
    # memory in a fresh interpreter that imports the module defining them.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    sys.path.insert(0, str(ROOT))
    from benchmarks import semiring as module

    raise SystemExit(module.main())
