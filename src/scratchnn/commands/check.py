"""Run every implemented op against torch (float64, forward and backward) and print a table.

Columns: the op, its number of cases, the largest output error and the largest input-gradient
error, each max |ours - torch| / (max(1, max |torch|) + |torch|) (the comparison core's error),
and ok/FAIL.
Exit status 1 when any case fails, 2 for an unknown op.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import torch

from .. import check
from .._comparison import TOLERANCES
from .._contract import FORMS, contraction


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ops", nargs="*", help="ops to check (default: all)")
    parser.add_argument("--form", choices=FORMS, default="fast", help="contraction form (default: fast)")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=TOLERANCES[torch.float64],
        help=f"largest error accepted (default: float64's, {TOLERANCES[torch.float64]:.0e})",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed of the first case (default: 0)")
    parser.add_argument(
        "--device", default="cpu", help="device the tensors are moved to, e.g. cuda (default: cpu)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        device = torch.device(args.device)
    except RuntimeError as exc:
        print(f"scratchnn check: --device {args.device!r}: {exc}", file=sys.stderr)
        return 2
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"scratchnn check: --device {args.device!r}: this torch has no CUDA device", file=sys.stderr)
        return 2
    try:
        with contraction(args.form), warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", UserWarning
            )  # torch's own notes (e.g. padding='same') are not findings
            rows = check.run(args.ops or None, tolerance=args.tolerance, seed=args.seed, device=device)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    print(check.format_table(rows))
    failed = [row.op for row in rows if not row.ok]
    total = sum(row.cases for row in rows)
    print(
        f"\n{len(rows)} ops, {total} cases, form={args.form}, device={device}: "
        + (f"FAIL ({', '.join(failed)})" if failed else "all ok")
    )
    return 1 if failed else 0
