"""The course's exercise system: ``notebooks/course.py``, its checkers, ``answers/`` and the lessons.

For every exercise in ``course.EXERCISES``: wrong answers of every kind are refused without an
exception and without leaving anything patched; the solution passes (in the executed solutions
notebook); the lesson carries no solution; a student's lesson with every answer left as ``...``,
or set to ``None``, runs to the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import signal
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
if str(NOTEBOOKS) not in sys.path:
    sys.path.insert(0, str(NOTEBOOKS))

import build_solutions  # noqa: E402
import course  # noqa: E402

import autograd  # noqa: E402

IDS = sorted(course.EXERCISES)
LESSONS = build_solutions.lessons(NOTEBOOKS)
#: Lessons moved to the exercise system (their answer cells carry ``metadata["exercise"]``).
CONVERTED = [
    p for p in LESSONS if any(build_solutions.exercise_id(c) for c in nbformat.read(p, as_version=4).cells)
]


class AlwaysEqual:
    """Claims to equal (and be less and greater than) everything."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    __hash__ = object.__hash__


def raises(*args, **kwargs):
    raise RuntimeError("the student's function fails")


def loops(*args, **kwargs):
    while True:
        pass


class BadFloat:
    def __float__(self):
        raise ValueError("no")


#: Wrong answers of every kind, fed to every checker (≥ 10).
GENERIC_WRONG = {
    "None": None,
    "text": "0.25",
    "empty text": "",
    "a function that raises": raises,
    "a function that loops": loops,
    "a function returning None": lambda *args, **kwargs: None,
    "a function returning an always-equal object": lambda *args, **kwargs: AlwaysEqual(),
    "NaN": math.nan,
    "infinity": math.inf,
    "an always-equal object": AlwaysEqual(),
    "an empty list": [],
    "a long list": [0.5] * 11,
    "a NumPy matrix": np.full((3, 3), 0.5),
    "a dict": {"a": 1.0},
    "True": True,
    "an object whose float() raises": BadFloat(),
    "a bare object": object(),
}


def snapshot_classes():
    """What a checker must leave alone: the engine's class and NumPy's ufunc table."""
    return {name: value for name, value in vars(autograd.Value).items()}


def run_quietly(checker, answer):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        verdict = checker(answer)
    return verdict, out.getvalue()


@pytest.fixture
def short_time_limit(monkeypatch):
    monkeypatch.setattr(course, "TIME_LIMIT", 0.3)


# ------------------------------------------------------------------ the machinery


@pytest.fixture
def toy_exercise():
    @course.exercise("99.1", hint="d(x²)/dx = 2x.", wrong=[0.5, -0.25])
    def _(answer):
        return course.expect_close(course.number(answer), 0.25)

    @course.exercise("99.2", hint="Multiply.", wrong=[lambda x: x])
    def _(answer):
        rng = course.fresh_random()
        for _ in range(5):
            x = rng.uniform(-3, 3)
            course.expect_close(course.number(course.call(answer, x), "f(x)"), 3 * x, f"f({x:.3f})")
        return True

    yield
    del course.EXERCISES["99.1"], course.EXERCISES["99.2"]


def test_a_right_answer_passes_and_says_so(toy_exercise, capsys):
    assert course.check("99.1", 0.25) is None  # a check cell shows its message, not a value
    course.check("99.1", np.float64(0.25))
    course.check("99.2", lambda x: 3 * x)
    assert capsys.readouterr().out.count("✓") == 3
    assert course.EXERCISES["99.1"](0.25) is True and course.EXERCISES["99.2"](lambda x: 3 * x) is True


@pytest.mark.parametrize("kind", GENERIC_WRONG)
def test_a_wrong_answer_of_any_kind_is_refused_with_a_hint(toy_exercise, short_time_limit, kind):
    for exercise_id in ("99.1", "99.2"):
        verdict, printed = run_quietly(course.EXERCISES[exercise_id], GENERIC_WRONG[kind])
        assert verdict is False
        assert printed.startswith(f"✗ {exercise_id}: not yet.") and "Hint:" in printed


def test_a_wrong_answer_shows_no_expected_value(toy_exercise):
    verdict, printed = run_quietly(course.EXERCISES["99.1"], 0.5)
    assert verdict is False and "0.25" not in printed


def test_ellipsis_is_not_answered_yet_and_an_unknown_id_is_named(toy_exercise, capsys):
    course.check("99.1", ...)
    course.check("99.9", 0.25)
    out = capsys.readouterr().out
    assert "99.1: not answered yet" in out and "99.9: there is no such exercise" in out


def test_strict_raises_the_hint_for_a_wrong_or_missing_answer(toy_exercise, monkeypatch, capsys):
    monkeypatch.setattr(course, "STRICT", True)
    with pytest.raises(AssertionError, match="not answered yet"):
        course.check("99.1", ...)
    with pytest.raises(AssertionError, match=r"✗ 99\.1: not yet\. .*Hint: d\(x²\)/dx = 2x\."):
        course.check("99.1", None)
    course.check("99.1", 0.25)
    assert capsys.readouterr().out == "✓ 99.1: correct\n"  # the refusal was raised, not printed too


def test_a_looping_function_is_stopped_and_the_timer_is_left_off(toy_exercise, short_time_limit):
    verdict, printed = run_quietly(course.EXERCISES["99.2"], loops)
    assert verdict is False and "ran longer than 0.3 s" in printed
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.default_int_handler, None)


def test_a_checker_that_returns_something_truthy_but_not_true_fails():
    checker = course.Checker("99.3", lambda a: 1, hint="h")
    assert run_quietly(checker, 0)[0] is False


def test_registering_an_id_twice_is_an_error(toy_exercise):
    with pytest.raises(ValueError, match="99.1"):
        course.exercise("99.1", hint="")(lambda a: True)


def test_the_transitional_form_with_a_test_never_raises(capsys):
    course.check("Exercise 1", None, lambda a: a + 1 == 2, hint="h")
    course.check("Exercise 1", 1, lambda a: a + 1 == 2, hint="h")
    out = capsys.readouterr().out
    assert "✗ Exercise 1: not yet." in out and "✓ Exercise 1: correct" in out


def test_number_and_numbers_convert_or_refuse():
    assert course.number(np.float32(0.5)) == 0.5 and course.numbers((1, 2.5), 2) == [1.0, 2.5]
    for bad in (None, "1", True, math.nan, [1.0], np.zeros(2), AlwaysEqual()):
        with pytest.raises(course.Wrong):
            course.number(bad)
    for bad in ((1, 2, 3), [1.0], {1.0, 2.0}, "12", None, np.zeros((1, 2)), (1, "x")):
        with pytest.raises(course.Wrong):
            course.numbers(bad, 2)


def test_the_lessons_have_one_section_each():
    assert course.LESSONS == [f"{n:02d}" for n in range(15)]
    assert sorted(p.stem for p in (NOTEBOOKS / "checks").glob("l*.py")) == [f"l{n}" for n in course.LESSONS]


def test_read_answers_splits_at_markers_and_refuses_duplicates():
    text = (
        '"""Lesson 02."""\n\n# %% 02.1\ndef f():\n    return 1\n\n\nanswer_1 = f\n\n# %% 02.2\nanswer_2 = 4\n'
    )
    assert build_solutions.read_answers(text) == {
        "02.1": "def f():\n    return 1\n\n\nanswer_1 = f",
        "02.2": "answer_2 = 4",
    }
    with pytest.raises(ValueError, match="02.1"):
        build_solutions.read_answers("# %% 02.1\na = 1\n# %% 02.1\na = 2\n")


def test_a_solution_notebook_takes_its_answers_from_the_answers_file():
    lesson = nbformat.v4.new_notebook()
    answer = nbformat.v4.new_code_cell("def f(x):\n    ...\n\n\nanswer_1 = ...")
    answer.metadata = {"exercise": "00.1"}
    lesson.cells = [
        nbformat.v4.new_markdown_cell("# 0 · x"),
        answer,
        nbformat.v4.new_code_cell('check("00.1", answer_1)'),
    ]
    solved = build_solutions.solution_notebook(lesson, {"00.1": "answer_1 = 2"})
    assert [c.source for c in solved.cells] == [
        "# 0 · x",
        build_solutions.STRICT_CELL,
        "answer_1 = 2",
        'check("00.1", answer_1)',
    ]
    with pytest.raises(ValueError, match="exercise 00.1, which has no answer"):
        build_solutions.solution_notebook(lesson, {})


# ------------------------------------------------------------------ every registered exercise


@pytest.mark.parametrize("exercise_id", IDS)
def test_wrong_answers_are_refused_without_an_exception_or_a_leftover_patch(exercise_id, short_time_limit):
    checker = course.EXERCISES[exercise_id]
    assert len(checker.wrong) >= 2, "give each exercise at least two wrong answers of its own (wrong=[...])"
    assert checker.hint, "a wrong answer needs a hint"
    before = snapshot_classes()
    answers = list(GENERIC_WRONG.items()) + [(f"wrong[{i}]", a) for i, a in enumerate(checker.wrong)]
    for kind, answer in answers:
        verdict, printed = run_quietly(checker, answer)
        assert verdict is False, f"{exercise_id} accepted {kind}"
        assert f"✗ {exercise_id}: not yet." in printed, kind
        assert snapshot_classes() == before, f"{exercise_id} left autograd.Value patched after {kind}"


def lesson_of(exercise_id: str) -> Path:
    (path,) = [p for p in LESSONS if p.name.startswith(exercise_id[:2] + "_")]
    return path


def check_cell_outputs(path: Path) -> dict[str, str]:
    """The printed output of each ``check("LL.k", ...)`` cell of an executed notebook file."""
    return check_cell_outputs_of(nbformat.read(path, as_version=4))


def check_cell_outputs_of(notebook) -> dict[str, str]:
    """The printed output of each ``check("LL.k", ...)`` cell of an executed notebook."""
    found = {}
    for cell in notebook.cells:
        call = re.search(r'check\("(\d\d\.\d+)"', cell.source) if cell.cell_type == "code" else None
        if call:
            found[call.group(1)] = "".join(
                o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream"
            )
    return found


@pytest.mark.parametrize("exercise_id", IDS)
def test_each_exercise_is_in_its_lesson_and_its_solution_passes(exercise_id):
    """The lesson has the answer cell and the check cell; the executed solutions notebook shows ✓
    (nbmake re-executes it strictly: there a wrong solution raises)."""
    lesson = lesson_of(exercise_id)
    n = exercise_id.split(".")[1]
    cells = nbformat.read(lesson, as_version=4).cells
    (i,) = [i for i, c in enumerate(cells) if build_solutions.exercise_id(c) == exercise_id]
    assert re.search(rf"^answer_{n} = \.\.\.", cells[i].source, re.MULTILINE), cells[i].source
    assert cells[i + 1].source.strip() == f'check("{exercise_id}", answer_{n})'
    assert f"Exercise {exercise_id}" in cells[i - 1].source, (
        "the prompt before the answer cell names the exercise"
    )
    assert exercise_id in build_solutions.answers_for(lesson)
    assert "not answered yet" in check_cell_outputs(lesson)[exercise_id]
    solved = check_cell_outputs(build_solutions.solution_path(lesson))
    assert solved[exercise_id].strip() == f"✓ {exercise_id}: correct"


@pytest.mark.parametrize("path", CONVERTED, ids=lambda p: p.name)
def test_a_converted_lesson_carries_no_solution(path):
    """No answer is in the lesson: not in any cell's metadata, not as a cell, and no line of it in any
    output (a printed expected value or solution). (A line the lesson itself teaches, such as lesson 02's
    delta_o, may of course appear in its own cells.)"""
    notebook = nbformat.read(path, as_version=4)
    answers = build_solutions.answers_for(path)
    ids = [build_solutions.exercise_id(c) for c in notebook.cells if build_solutions.exercise_id(c)]
    assert sorted(ids) == sorted(answers), "every exercise has an answer, and every answer an exercise"
    assert ids == sorted(ids, key=lambda i: int(i.split(".")[1])), "exercises are numbered in order"
    assert 3 <= len(ids) <= 4
    assert set(ids) <= set(course.EXERCISES), "every exercise has a checker"
    assert not any("solution" in c.metadata for c in notebook.cells)
    sources = [c.source.strip() for c in notebook.cells]
    hidden = json.dumps([c.get("outputs", []) for c in notebook.cells] + [c.metadata for c in notebook.cells])
    for exercise_id, solution in answers.items():
        assert solution.strip() not in sources, f"{path.name} has the answer to {exercise_id} as a cell"
        for line in solution.splitlines():
            line = line.strip()
            binding = re.fullmatch(r"answer_\d+ = [A-Za-z_]\w*", line)  # the function the prompt names
            if len(line) >= 16 and not line.startswith("#") and not binding:
                assert json_escaped(line) not in hidden, f"{path.name} shows {exercise_id}'s line {line!r}"


def json_escaped(line: str) -> str:
    return json.dumps(line)[1:-1]


def student_notebook(path: Path, answer: str) -> nbformat.NotebookNode:
    """The lesson as a student might run it: every answer cell ends by setting ``answer_k = <answer>``."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if build_solutions.exercise_id(cell):
            n = build_solutions.exercise_id(cell).split(".")[1]
            cell.source += f"\nanswer_{n} = {answer}"
        if cell.cell_type == "code":
            cell.outputs = []
    return notebook


@pytest.mark.slow
@pytest.mark.parametrize("answer", ["...", "None"])
@pytest.mark.parametrize("path", CONVERTED, ids=lambda p: p.name)
def test_a_students_lesson_runs_to_the_end_whatever_the_answers(path, answer):
    notebook = student_notebook(path, answer)
    NotebookClient(notebook, timeout=600, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    printed = check_cell_outputs_of(notebook)
    expected = "not answered yet" if answer == "..." else "not yet."
    assert printed and all(expected in text for text in printed.values()), printed
