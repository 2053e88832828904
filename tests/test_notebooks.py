"""The teaching notebooks as committed: lessons 00, 01, ... in order, executed, with exercises and solutions.

nbmake executes every notebook (``pytest`` collects ``notebooks/**/*.ipynb`` through ``--nbmake``),
the lessons *and* the solutions, where every check is strict. These tests look at the files themselves.
"""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

_spec = importlib.util.spec_from_file_location("build_solutions", NOTEBOOKS / "build_solutions.py")
build_solutions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_solutions)

LESSONS = build_solutions.lessons(NOTEBOOKS)
SOLUTIONS = [build_solutions.solution_path(p) for p in LESSONS]
ALL = LESSONS + SOLUTIONS
CHECK_CALL = re.compile(r"check\(\s*\"Exercise (\d+)\"\s*,\s*answer_(\d+)\s*,")
ANSWER_CELL = re.compile(r"^answer_(\d+) = \.\.\.\s*(#.*)?$")
#: Cells waiting for the engine's micrograd-style ``_prev``/``_op``/``_backward()`` (or NumPy ufuncs):
#: nbmake and nbclient skip cells with this tag.
SKIP = "skip-execution"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def test_the_lessons_are_numbered_from_00_without_gaps():
    numbers = [int(p.name[:2]) for p in LESSONS]
    assert numbers == list(range(len(numbers))), [p.name for p in LESSONS]
    assert len(numbers) >= 10  # 00 (the engine from scratch) to 09 at least
    assert LESSONS[0].name == "00_engine_from_scratch.ipynb"


def test_every_lesson_has_its_solutions_notebook_and_nothing_else_is_there():
    present = sorted(p.name for p in (NOTEBOOKS / "solutions").glob("*.ipynb"))
    assert present == [p.name for p in LESSONS]


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_every_code_cell_is_stored_executed_in_order(path):
    """Committed with outputs: every code cell ran, once, top to bottom, and none raised."""
    cells = [c for c in code_cells(read(path)) if SKIP not in tags(c)]
    counts = [c.execution_count for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"re-execute with `make notebooks`: counts {counts}"
    errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[0].get("ename") if errors else ""
    # a cell ending in a figure, a table or a value shows it
    assert any(c.outputs for c in cells)


@pytest.mark.parametrize("path", ALL, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_no_cell_is_skipped(path):
    """Every code cell runs: a ``skip-execution`` tag would hide a cell from nbmake and from CI."""
    assert not [c for c in code_cells(read(path)) if SKIP in tags(c)]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_solutions_are_in_sync_with_the_lesson(path):
    """The committed solutions notebook is exactly what build_solutions makes from the lesson (sources)."""
    expected = build_solutions.solution_notebook(read(path), build_solutions.answers_for(path))
    committed = read(build_solutions.solution_path(path))
    in_sync = build_solutions.cell_sources(committed) == build_solutions.cell_sources(expected)
    assert in_sync, "run `make notebooks`"
    assert "course.STRICT = True" in code_cells(committed)[0].source


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_every_lesson_has_three_or_four_self_checked_exercises(path):
    """(Lessons not yet moved to ``course.EXERCISES``; tests/test_course.py checks the others.)"""
    cells = read(path).cells
    if any(build_solutions.exercise_id(c) for c in cells):
        pytest.skip("converted to course.EXERCISES: see tests/test_course.py")
    exercises = [i for i, c in enumerate(cells) if build_solutions.is_exercise(c)]
    assert 3 <= len(exercises) <= 4, f"{len(exercises)} exercises"
    for n, i in enumerate(exercises, start=1):
        answer = cells[i]
        assert ANSWER_CELL.match(answer.source), f"exercise {n}: the student's cell is {answer.source!r}"
        assert int(ANSWER_CELL.match(answer.source).group(1)) == n, "exercises are numbered 1, 2, 3 in order"
        solution = answer.metadata["solution"]
        assert re.search(rf"^answer_{n} = ", solution, re.MULTILINE), solution
        checker = cells[i + 1]
        assert checker.cell_type == "code"
        call = CHECK_CALL.search(checker.source)
        assert call and call.groups() == (str(n), str(n)), f"exercise {n}: the next cell checks answer_{n}"
        assert "hint=" in checker.source, f"exercise {n}: a wrong answer needs a hint"
        # the prompt: a markdown cell before the answer says what to do
        prompt = cells[i - 1]
        assert prompt.cell_type == "markdown" and f"Exercise {n}" in prompt.source


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_answers_are_open_and_solutions_pass(path):
    """Executed, the lesson reports every exercise "not answered yet"; its solutions report ✓ for each."""
    lesson, solved = read(path), read(build_solutions.solution_path(path))
    if any(build_solutions.exercise_id(c) for c in lesson.cells):
        pytest.skip("converted to course.EXERCISES: see tests/test_course.py")

    def check_outputs(notebook):
        texts = []
        for c in code_cells(notebook):
            if CHECK_CALL.search(c.source):
                texts.append("".join(o.get("text", "") for o in c.outputs if o.output_type == "stream"))
        return texts

    for n, text in enumerate(check_outputs(lesson), start=1):
        assert f"Exercise {n}: not answered yet" in text, text
    solved_texts = check_outputs(solved)
    assert solved_texts and all(f"✓ Exercise {n}: correct" in t for n, t in enumerate(solved_texts, 1))


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_each_lesson_opens_with_a_title_and_imports_course(path):
    notebook = read(path)
    assert notebook.cells[0].cell_type == "markdown"
    number = int(path.name[:2])
    assert notebook.cells[0].source.startswith(f"# {number} · ")
    assert any("from course import" in c.source for c in code_cells(notebook))


def test_solution_notebook_replaces_exercises_and_adds_the_strict_cell():
    lesson = nbformat.v4.new_notebook()
    answer = nbformat.v4.new_code_cell("answer_1 = ...")
    answer.metadata = {"tags": ["exercise"], "solution": "answer_1 = 2 + 2"}
    lesson.cells = [
        nbformat.v4.new_markdown_cell("# 0 · x"),
        nbformat.v4.new_code_cell("from course import check"),
        answer,
        nbformat.v4.new_code_cell('check("Exercise 1", answer_1, lambda a: a == 4, hint="h")'),
    ]
    solved = build_solutions.solution_notebook(lesson)
    assert [c.source for c in solved.cells] == [
        "# 0 · x",
        build_solutions.STRICT_CELL,
        "from course import check",
        "answer_1 = 2 + 2",
        'check("Exercise 1", answer_1, lambda a: a == 4, hint="h")',
    ]
    assert lesson.cells[2].source == "answer_1 = ..."  # the lesson itself is untouched
    answer.metadata = {"tags": ["exercise"]}
    with pytest.raises(ValueError, match="no metadata\\['solution'\\]"):
        build_solutions.solution_notebook(lesson)


def test_write_solutions_keeps_an_up_to_date_solutions_notebook(tmp_path, monkeypatch):
    lesson = nbformat.v4.new_notebook()
    answer = nbformat.v4.new_code_cell("answer_1 = ...")
    answer.metadata = {"tags": ["exercise"], "solution": "answer_1 = 1"}
    lesson.cells = [nbformat.v4.new_markdown_cell("# 0 · x"), answer]
    source, target = tmp_path / "00_x.ipynb", tmp_path / "solutions" / "00_x.ipynb"
    nbformat.write(lesson, source)
    monkeypatch.setattr(build_solutions, "SOLUTIONS", tmp_path / "solutions")
    assert build_solutions.write_solutions([source]) == [target]
    executed = nbformat.read(target, as_version=4)
    executed.cells[1].execution_count = 1  # as if executed
    nbformat.write(executed, target)
    assert build_solutions.write_solutions([source]) == []  # in sync: the file is kept
    assert nbformat.read(target, as_version=4).cells[1].execution_count == 1
    answer.metadata["solution"] = "answer_1 = 2"
    nbformat.write(lesson, source)
    assert build_solutions.write_solutions([source]) == [target]  # changed: rewritten
    assert nbformat.read(target, as_version=4).cells[2].source == "answer_1 = 2"


def test_the_strict_cell_makes_course_strict(tmp_path, monkeypatch):
    """The solutions' first cell, run in notebooks/solutions/ as nbmake does: course imports, strict."""
    folder = NOTEBOOKS / "solutions"
    monkeypatch.chdir(folder)
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    monkeypatch.delitem(__import__("sys").modules, "course", raising=False)
    namespace: dict = {}
    exec(build_solutions.STRICT_CELL, namespace)
    course = namespace["course"]
    try:
        assert Path(course.__file__).resolve() == NOTEBOOKS / "course.py"
        assert course.STRICT is True
        with pytest.raises(AssertionError, match="not answered yet"):
            course.check("Exercise 1", ..., lambda a: True)
        with pytest.raises(AssertionError, match="hint here"):
            course.check("Exercise 1", 3, lambda a: a == 4, hint="hint here")
    finally:
        course.STRICT = False


def lesson_00_namespace(notebook) -> dict:
    """Lesson 00's engine as the notebook defines it: its code cells up to ``build_topo``, run."""
    namespace: dict = {"math": math}
    for cell in code_cells(notebook):
        if "import torch" in cell.source:
            continue  # the imports: the engine needs only math
        exec(cell.source.replace("%matplotlib inline", ""), namespace)
        if "def build_topo" in cell.source:
            return namespace
    raise AssertionError("lesson 00 defines no build_topo")


def test_lesson_00_prints_the_same_topological_order_on_every_run():
    """The order depends only on the graph, not on where the nodes sit in memory (no set iteration):
    the lecture's neuron, built 40 times at different addresses, is always ordered the same way."""
    namespace = lesson_00_namespace(read(NOTEBOOKS / "00_engine_from_scratch.ipynb"))
    keep = []  # keep every graph alive, so that each new one lands at new addresses
    orders = set()
    for _ in range(40):
        nodes = namespace["neuron"](namespace["Value"])
        keep.append(nodes)
        orders.add(tuple(node.label for node in namespace["build_topo"](nodes["o"])))
    assert len(orders) == 1, orders
