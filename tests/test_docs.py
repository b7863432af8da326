"""Every ```python block in docs/ runs: the blocks of one page in order, in one fresh namespace,
under the Agg backend (so examples can draw figures without a display)."""

import re
import textwrap
from pathlib import Path

import matplotlib


matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


DOCS = Path(__file__).resolve().parent.parent / "docs"

# An opening fence ```python (possibly indented, e.g. inside an admonition), its body, and the
# matching closing fence at the same indentation.
_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """The ```python blocks of a markdown page, as (line number, dedented code)."""
    blocks = []
    for m in _FENCE.finditer(text):
        line = text.count("\n", 0, m.start("body")) + 1
        blocks.append((line, textwrap.dedent(m.group("body"))))
    return blocks


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if python_blocks(p.read_text(encoding="utf-8")))


def test_block_extraction():
    text = (
        "intro\n```python\nx = 1\n```\n\n```bash\nls\n```\n"
        "!!! note\n    ```python\n    y = x\n    ```\n"
    )
    assert python_blocks(text) == [(3, "x = 1\n"), (11, "y = x\n")]


def test_docs_have_examples():
    names = {p.relative_to(DOCS).as_posix() for p in _pages()}
    assert {"index.md", "linear-models.md"} <= names


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_runs(page: Path):
    namespace = {"__name__": "__docs__"}
    try:
        for line, code in python_blocks(page.read_text(encoding="utf-8")):
            # Name the page and line in tracebacks.
            exec(compile(code, f"{page.relative_to(DOCS)}:{line}", "exec"), namespace)
    finally:
        plt.close("all")
