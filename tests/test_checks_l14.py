"""Lesson 14's checkers (``notebooks/checks/l14.py``) beyond the generic wrong answers of ``test_course.py``.

A right answer written another way passes (another generator, lists instead of arrays, labels that
are not ints); each typical mistake is refused for its own reason, with a message that names it.
"""

from __future__ import annotations

import contextlib
import io
import random
import sys
from pathlib import Path

import numpy as np
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
if str(NOTEBOOKS) not in sys.path:
    sys.path.insert(0, str(NOTEBOOKS))

import build_solutions  # noqa: E402
import course  # noqa: E402


def verdict(exercise_id: str, answer) -> tuple[bool, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        passed = course.EXERCISES[exercise_id](answer)
    return passed, out.getvalue()


@pytest.fixture(scope="module")
def solutions() -> dict:
    """The answers file's functions, run as the solutions notebook runs them (NumPy as ``np``)."""
    namespace = {"np": np}
    answers = build_solutions.read_answers((NOTEBOOKS / "answers" / "14.py").read_text(encoding="utf-8"))
    for exercise_id in ("14.1", "14.2", "14.3"):
        exec(answers[exercise_id], namespace)
    return namespace


def test_the_solutions_pass(solutions):
    for n in (1, 2, 3):
        assert verdict(f"14.{n}", solutions[f"answer_{n}"]) == (True, "")


def test_a_stratified_split_with_random_random_and_arrays_passes():
    def split(labels, n_test, seed):
        rng = random.Random(seed)
        classes = sorted(set(labels), key=repr)
        rows = {k: [i for i, label in enumerate(labels) if label == k] for k in classes}
        exact = {k: n_test * len(rows[k]) / len(labels) for k in classes}
        take = {k: int(exact[k]) for k in classes}
        missing = n_test - sum(take.values())
        for k in sorted(classes, key=lambda k: exact[k] - take[k], reverse=True)[:missing]:
            take[k] += 1
        test = [i for k in classes for i in rng.sample(rows[k], take[k])]
        return np.array(sorted(set(range(len(labels))) - set(test))), np.array(test)

    assert verdict("14.1", split) == (True, "")


def test_a_split_that_ignores_the_classes_is_refused_for_its_counts():
    def random_split(labels, n_test, seed):
        order = random.Random(seed).sample(range(len(labels)), len(labels))
        return order[n_test:], order[:n_test]

    passed, printed = verdict("14.1", random_split)
    assert not passed and "not within 1 of its share" in printed


def test_a_split_that_loses_or_repeats_rows_is_refused():
    passed, printed = verdict("14.1", lambda labels, n_test, seed: ([], list(range(n_test))))
    assert not passed and "exactly one of the two parts" in printed
    passed, printed = verdict("14.1", lambda labels, n_test, seed: (list(range(len(labels))), [0.5]))
    assert not passed and "not a list of row indices" in printed


def test_softmax_backward_as_nested_lists_passes(solutions):
    assert verdict("14.2", lambda P, G: solutions["softmax_backward"](P, G).tolist()) == (True, "")


def test_softmax_backward_through_each_samples_jacobian_passes_when_given_time(monkeypatch):
    """Right but one sample at a time: the numbers are accepted on small batches, the large one is
    refused for its time only (with a short limit), naming the loop."""
    monkeypatch.setattr(course, "TIME_LIMIT", 0.3)
    passed, printed = verdict("14.2", course.EXERCISES["14.2"].wrong[4])
    assert not passed and "a Python loop over the samples is too slow" in printed


@pytest.mark.parametrize("index", [0, 1, 2, 3], ids=["p - g", "p * g", "diagonal only", "unweighted sum"])
def test_softmax_backward_mistakes_are_refused(index):
    passed, printed = verdict("14.2", course.EXERCISES["14.2"].wrong[index])
    assert not passed and "does not match the engine's gradient" in printed


def test_a_warning_from_the_students_numpy_code_does_not_leak(recwarn):
    passed, _ = verdict("14.2", lambda P, G: np.log(P * 0.0))  # log(0): NumPy's divide-by-zero warning
    assert not passed
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_input_gradient_as_nested_lists_passes(solutions):
    assert verdict("14.3", lambda *args: solutions["input_gradient"](*args).tolist()) == (True, "")


@pytest.mark.parametrize(
    ("index", "message"),
    [(0, "does not match"), (1, "does not match"), (2, "has shape")],
    ids=["mean instead of sum", "no ReLU slope", "stopped at the hidden layer"],
)
def test_input_gradient_mistakes_are_refused(index, message):
    passed, printed = verdict("14.3", course.EXERCISES["14.3"].wrong[index])
    assert not passed and message in printed
