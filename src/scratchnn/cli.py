"""The ``scratchnn`` command: ``check``, ``bench``, ``explain`` and ``demo`` (``scratchnn/commands/``).

``main(argv) -> int`` so tests can call it; ``__main__.py`` is a thin wrapper.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each subcommand lives in a module with ``add_arguments(parser)`` and ``run(args) -> int``;
# the first docstring line is its help.
COMMANDS = {
    "check": "scratchnn.commands.check",
    "bench": "scratchnn.commands.bench",
    "explain": "scratchnn.commands.explain",
    "demo": "scratchnn.commands.demo",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scratchnn", description="PyTorch layers from scratch, checked against torch."
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"scratchnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        summary = (module.__doc__ or name).strip().splitlines()[0]
        command = sub.add_parser(
            name,
            help=summary,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
