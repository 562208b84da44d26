"""Every ```python block of the README runs (```py blocks are abridged excerpts, not run)."""

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_readme_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no runnable example"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})
