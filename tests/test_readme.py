"""The README's Python examples: they compile, and its mocks example passes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_every_python_example_compiles() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 4
    for number, block in enumerate(blocks):
        compile(block, f"README.md python block {number}", "exec")


def test_the_mocks_example_runs_and_passes() -> None:
    [example] = [block for block in python_blocks() if "def test_" in block]
    namespace: dict[str, Any] = {}
    exec(compile(example, "README.md mocks example", "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert len(tests) == 1
    tests[0]()
