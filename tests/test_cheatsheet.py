"""Every ```python block of docs/cheatsheet.md runs, and compares itself with torch.

The first block (under "Setup") holds the imports; each other block runs in a fresh namespace
after it, so a block can be read, and copied, on its own. Each block must call ``assert_close``
at least once: that call is counted, so a block that compares nothing fails.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
import torch

CHEATSHEET = Path(__file__).resolve().parent.parent / "docs" / "cheatsheet.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)


def blocks() -> list[tuple[str, int, str]]:
    """(the nearest heading above, line number, code) of every python block."""
    text = CHEATSHEET.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        headings = HEADING.findall(text, 0, match.start())
        line = text.count("\n", 0, match.start()) + 1
        found.append((headings[-1] if headings else "", line, match.group(1)))
    return found


BLOCKS = blocks()
SETUP = BLOCKS[0]
EXAMPLES = BLOCKS[1:]


def slug(heading: str, line: int) -> str:
    return f"L{line}-" + re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def test_the_first_block_is_the_setup() -> None:
    heading, _, code = SETUP
    assert heading == "Setup" and "import torch" in code
    assert len(EXAMPLES) >= 30


@pytest.mark.parametrize("heading, line, code", EXAMPLES, ids=[slug(h, n) for h, n, _ in EXAMPLES])
def test_block_runs_and_matches_torch(heading: str, line: int, code: str) -> None:
    with torch.random.fork_rng():  # the blocks seed torch: leave the other tests' generator alone
        compared = run_block(code, line)
    assert compared, f"the block at line {line} ({heading}) compares nothing with torch: add an assert_close"


def run_block(code: str, line: int) -> list[int]:
    namespace: dict = {"__name__": f"cheatsheet_L{line}"}
    exec(compile(SETUP[2], f"{CHEATSHEET.name}:{SETUP[1]}", "exec"), namespace)
    compared: list[int] = []

    def assert_close(actual, expected, **kwargs) -> None:
        compared.append(1)
        torch.testing.assert_close(actual, expected, **kwargs)

    namespace["assert_close"] = assert_close
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's note on even kernels with padding='same'
        exec(compile(code, f"{CHEATSHEET.name}:{line + 1}", "exec"), namespace)
    return compared
