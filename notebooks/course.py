"""Self-checking exercises for the notebooks.

Every exercise in a lesson is two cells: one where the student writes an
answer (``answer_1 = ...``, the ``...`` meaning "not answered yet"), and one
that checks it::

    check("Exercise 1", answer_1, lambda a: close(a, 0.25), hint="d(x²)/dx = 2x, at x = 0.125")

A student's notebook runs top to bottom whatever they have answered: an
unanswered exercise says so, a wrong answer prints the hint. The solutions
notebooks (``notebooks/solutions/``, made by ``build_solutions.py``) set
``STRICT = True`` first, so there an unanswered or wrong exercise fails the
run: CI executes them, and every check must pass on the solutions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = ["STRICT", "check", "close"]

#: True in the solutions notebooks: an unanswered or wrong exercise raises ``AssertionError``.
STRICT = False


def close(ours: float, expected: float, rel: float = 1e-6, abs_: float = 1e-9) -> bool:
    """``ours`` equals ``expected`` to ``rel`` relative (or ``abs_`` absolute) error."""
    return math.isclose(float(ours), float(expected), rel_tol=rel, abs_tol=abs_)


def check(exercise: str, answer: Any, test: Callable[[Any], object], hint: str = "") -> bool:
    """Check ``answer`` with ``test``; print ✓ or a helpful message, and return whether it passed.

    ``test(answer)`` returns a truth value, or raises ``AssertionError`` whose
    message says what is wrong. ``answer`` left as ``...`` (Ellipsis) is "not
    answered yet". With :data:`STRICT` (the solutions), anything but a pass raises.
    """
    if answer is Ellipsis:
        message = f"{exercise}: not answered yet (replace the ... with your answer, then run this cell again)"
        if STRICT:
            raise AssertionError(message)
        print(message)
        return False
    try:
        passed = bool(test(answer))
        detail = ""
    except AssertionError as error:
        passed, detail = False, str(error)
    if passed:
        print(f"✓ {exercise}: correct")
        return True
    message = f"✗ {exercise}: not yet. " + " ".join(part for part in (detail, hint) if part)
    if STRICT:
        raise AssertionError(message)
    print(message)
    return False
