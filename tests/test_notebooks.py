"""The teaching notebooks as stored in git: nine lessons, outputs stripped, a clear frame.

(nbmake executes them: `pytest` collects `notebooks/*.ipynb` through `--nbmake`.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_the_nine_lessons_are_there_in_order():
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{i:02d}" for i in range(1, 10)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs_and_has_a_frame(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = notebook["cells"]
    for cell in cells:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, "outputs not stripped"
    first = "".join(cells[0]["source"])
    assert first.startswith("# ") and "learn" in first.lower()
    last_markdown = "".join(next(c for c in reversed(cells) if c["cell_type"] == "markdown")["source"])
    assert "summary" in last_markdown.lower()
