"""Self-checking exercises for the notebooks: the checkers, and the one function a lesson calls.

Every exercise is two cells in a lesson. The student's answer cell (its metadata
``{"exercise": "02.1"}``) ends by binding ``answer_1`` — a number, a tuple, or a
function the student wrote — and the next cell checks it::

    check("02.1", answer_1)

The checking itself lives here, never in the lesson: :data:`EXERCISES` maps each
exercise id ``"LL.k"`` (lesson ``LL``, exercise ``k``) to its checker, a callable
that takes the answer and returns ``True`` only for a right one. The checkers of
lesson ``LL`` are in ``checks/lLL.py`` (one module per lesson, imported at the end
of this file), written with the helpers below.

What a checker promises, whatever the student hands it (``None``, text, a function
that raises or loops, NaN, a list of the wrong length, a NumPy array, an object whose
``==`` always says yes):

* it **never raises**: a wrong answer is ``False`` and a printed hint;
* numbers are converted with ``float()`` and compared with a tolerance, so an
  object that claims to equal everything gets nowhere;
* a function is called on **fresh random inputs** the student never sees, under a
  time limit, and compared with the engine (and PyTorch where it fits);
* it changes nothing outside itself: no class is patched for the rest of the session.

``...`` (Ellipsis) means "not answered yet": a message, not a failure. A student's
notebook therefore runs top to bottom whatever they have answered. The solutions
notebooks (``notebooks/solutions/``, built by ``build_solutions.py`` from the lesson
and ``answers/LL.py``) set :data:`STRICT` first, so there anything but a pass raises
and CI fails.

A checker is a function that returns ``True`` or raises :class:`Wrong` with a message
saying what is wrong (without giving the answer away); :func:`exercise` registers it,
turning every other outcome — any exception, a time-out, a return value that is not
``True`` — into ``False`` and a hint:

>>> @exercise("99.1", hint="d(x²)/dx = 2x.", wrong=[0.5, -0.25])
... def _(answer):
...     return expect_close(number(answer), 2 * 0.125)
>>> EXERCISES["99.1"](0.25)
True
>>> EXERCISES["99.1"]("0.25")
✗ 99.1: not yet. The answer is a str; a number is expected. Hint: d(x²)/dx = 2x.
False
>>> check("99.1", ...)
99.1: not answered yet (replace the ... with your answer, then run this cell again)
>>> del EXERCISES["99.1"]
"""

from __future__ import annotations

import contextlib
import importlib
import io
import math
import random
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "EXERCISES",
    "STRICT",
    "Checker",
    "array",
    "expect_arrays_close",
    "Wrong",
    "call",
    "check",
    "close",
    "exercise",
    "expect",
    "expect_close",
    "fresh_random",
    "items",
    "number",
    "numbers",
]

#: True in the solutions notebooks: an unanswered or wrong exercise raises ``AssertionError``.
STRICT = False

#: Seconds a student's function may run in one call before the checker gives up on it.
TIME_LIMIT = 2.0


class Wrong(Exception):
    """Raised inside a checker: the answer is wrong, and the message says how (never what is right)."""


class _TimeUp(BaseException):
    """The student's function ran past its time limit (a BaseException, so ``except Exception`` in
    the student's own code does not swallow it)."""


class Checker:
    """One exercise's checker: ``checker(answer)`` is ``True`` for a right answer, else prints why and is ``False``.

    ``test`` returns ``True`` or raises :class:`Wrong`; anything else it does (another
    exception, a time-out, a return value other than ``True``) counts as a wrong answer.
    ``wrong`` lists answers that must be refused (the tests feed them, with generic wrong
    answers of every type). ``message`` holds the last verdict's text.
    """

    def __init__(self, exercise_id: str, test: Callable[[Any], object], hint: str, wrong: Sequence[Any] = ()):
        self.id = exercise_id
        self.test = test
        self.hint = hint
        self.wrong = list(wrong)
        self.message = ""

    def __call__(self, answer: Any) -> bool:
        try:
            passed = self.test(answer) is True
            detail = "" if passed else "That is not it."
        except Wrong as error:
            passed, detail = False, str(error)
        except (Exception, _TimeUp, SystemExit) as error:  # whatever the answer did, the notebook goes on
            passed, detail = False, f"Checking it raised {type(error).__name__}: {_short(error)}."
        if passed:
            self.message = f"✓ {self.id}: correct"
            return True
        self.message = f"✗ {self.id}: not yet. {detail}" + (f" Hint: {self.hint}" if self.hint else "")
        print(self.message)
        return False

    def __repr__(self) -> str:
        return f"<Checker {self.id}>"


#: Every exercise of the course: id ``"LL.k"`` → its :class:`Checker`.
EXERCISES: dict[str, Checker] = {}


def exercise(exercise_id: str, *, hint: str, wrong: Sequence[Any] = ()) -> Callable[[Callable], Checker]:
    """Decorator: register ``test`` as the checker of ``exercise_id`` (see :class:`Checker`)."""

    def register(test: Callable[[Any], object]) -> Checker:
        if exercise_id in EXERCISES:
            raise ValueError(f"exercise {exercise_id!r} is registered twice")
        checker = Checker(exercise_id, test, hint, wrong)
        EXERCISES[exercise_id] = checker
        return checker

    return register


def _fail(message: str) -> None:
    if STRICT:
        raise AssertionError(message)
    print(message)


def check(exercise_id: str, answer: Any, test: Callable[[Any], object] | None = None, hint: str = "") -> None:
    """Check ``answer`` to exercise ``exercise_id``: print ✓, "not answered yet" or what is wrong and a hint.

    It returns nothing, so that a check cell shows only its message (the verdict itself is
    ``EXERCISES[exercise_id](answer)``).

    ``answer`` left as ``...`` is "not answered yet". With :data:`STRICT` (the solutions),
    anything but a pass raises ``AssertionError``.

    (Transitional: a lesson not yet moved to :data:`EXERCISES` passes its own ``test`` and
    ``hint`` here; ``test`` then returns a truth value or raises with a message.)
    """
    if answer is Ellipsis:
        _fail(f"{exercise_id}: not answered yet (replace the ... with your answer, then run this cell again)")
        return
    if test is not None:
        checker = Checker(exercise_id, lambda a: bool(test(a)) or None, hint)
    elif exercise_id in EXERCISES:
        checker = EXERCISES[exercise_id]
    else:
        _fail(f"{exercise_id}: there is no such exercise (is the id spelt as in the lesson?)")
        return
    if STRICT:
        with contextlib.redirect_stdout(io.StringIO()):  # the message is raised instead
            passed = checker(answer)
        if not passed:
            raise AssertionError(checker.message)
    else:
        passed = checker(answer)
    if passed:
        print(checker.message)


# ---------------------------------------------------------------- helpers for checkers


def close(ours: float, expected: float, rel: float = 1e-6, abs_: float = 1e-9) -> bool:
    """``ours`` equals ``expected`` to ``rel`` relative (or ``abs_`` absolute) error; NaN is never close."""
    return math.isclose(float(ours), float(expected), rel_tol=rel, abs_tol=abs_)


def _short(thing: object, limit: int = 120) -> str:
    try:
        text = str(thing)
    except Exception:  # an object whose str() raises
        text = f"<{type(thing).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def number(answer: Any, what: str = "The answer") -> float:
    """``answer`` as a finite ``float``, or :class:`Wrong` saying why it is not a number.

    Text is refused even when it spells a number (``"0.25"``): the exercise asks for the value.
    """
    if answer is None:
        raise Wrong(f"{what} is None (did a function forget to `return`?); a number is expected.")
    if isinstance(answer, (str, bytes)):
        raise Wrong(f"{what} is a {type(answer).__name__}; a number is expected.")
    if isinstance(answer, bool):
        raise Wrong(f"{what} is {answer}, a truth value; a number is expected.")
    if callable(answer) and not hasattr(answer, "__float__"):
        raise Wrong(f"{what} is a function; a number is expected (call it?).")
    if getattr(answer, "ndim", 0) != 0:
        raise Wrong(f"{what} is an array of shape {getattr(answer, 'shape', '?')}; one number is expected.")
    try:
        value = float(answer)
    except (TypeError, ValueError, OverflowError) as error:
        raise Wrong(f"{what} ({type(answer).__name__}) is not a number: {_short(error)}.") from None
    if not math.isfinite(value):
        raise Wrong(f"{what} is {value}; a finite number is expected.")
    return value


def items(answer: Any, count: int, what: str = "The answer") -> list[Any]:
    """``answer``'s items: exactly ``count`` of them, in order (a tuple, a list or a 1-D array), or :class:`Wrong`."""
    if answer is None or isinstance(answer, (str, bytes, dict, set, frozenset)) or callable(answer):
        raise Wrong(f"{what} is {type(answer).__name__}; {count} items in order (a tuple) are expected.")
    if getattr(answer, "ndim", 1) == 0:
        raise Wrong(f"{what} is a single number; {count} items in order (a tuple) are expected.")
    try:
        found = list(answer)[: count + 1]
    except Exception:
        raise Wrong(f"{what} ({type(answer).__name__}) is not a sequence of {count} items.") from None
    if len(found) != count:
        raise Wrong(
            f"{what} has {'more than ' if len(found) > count else ''}{len(found)} items; {count} are expected."
        )
    return found


def numbers(answer: Any, count: int, what: str = "The answer") -> list[float]:
    """``answer`` as exactly ``count`` finite floats (a tuple, a list or a 1-D array), or :class:`Wrong`."""
    if getattr(answer, "ndim", 1) not in (0, 1):
        raise Wrong(
            f"{what} has shape {getattr(answer, 'shape', '?')}; {count} numbers in a row are expected."
        )
    return [number(item, f"Item {i} of {what.lower()}") for i, item in enumerate(items(answer, count, what))]


def array(answer: Any, shape: tuple[int, ...], what: str = "The answer") -> np.ndarray:
    """``answer`` as a finite float NumPy array of exactly ``shape``, or :class:`Wrong` saying why not."""
    if answer is None or isinstance(answer, (str, bytes, dict, set)) or callable(answer):
        raise Wrong(f"{what} is {type(answer).__name__}; an array of shape {shape} is expected.")
    try:
        result = np.array(answer, dtype=float)
    except (TypeError, ValueError, OverflowError) as error:
        raise Wrong(f"{what} is not an array of numbers: {_short(error)}.") from None
    if result.shape != tuple(shape):
        raise Wrong(f"{what} has shape {result.shape}; {tuple(shape)} is expected.")
    if not np.all(np.isfinite(result)):
        raise Wrong(f"{what} contains NaN or infinity.")
    return result


def expect_arrays_close(
    ours: np.ndarray, expected: np.ndarray, what: str, rel: float = 1e-7, abs_: float = 1e-10
) -> bool:
    """``True`` if the arrays agree elementwise, else :class:`Wrong` naming the worst entry (not its right value)."""
    gap = np.abs(ours - expected) - (abs_ + rel * np.abs(expected))
    if np.all(gap <= 0):
        return True
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(gap)), gap.shape))
    raise Wrong(f"{what} is not right: entry {list(index)} is {ours[index]!r}.")


def expect(condition: bool, message: str) -> bool:
    """``True`` if ``condition`` holds, else :class:`Wrong` with ``message`` (a readable ``assert``)."""
    if condition is not True:
        raise Wrong(message)
    return True


def expect_close(
    ours: float, expected: float, what: str = "The answer", rel: float = 1e-6, abs_: float = 1e-9
) -> bool:
    """``True`` if the two floats agree (see :func:`close`), else :class:`Wrong` that does not reveal ``expected``."""
    return expect(close(ours, expected, rel, abs_), f"{what} is not right ({ours!r}).")


def fresh_random() -> random.Random:
    """A random generator seeded from the operating system: inputs the student cannot know in advance."""
    return random.Random(random.SystemRandom().getrandbits(64))


def call(function: Any, *args: Any, seconds: float | None = None, what: str = "Your function") -> Any:
    """``function(*args)``, or :class:`Wrong` if it is not callable, raises, or runs longer than ``seconds``
    (default :data:`TIME_LIMIT`).

    In the main thread (a notebook's cells run there) the limit is a timer signal that interrupts
    the call; elsewhere the call runs in a helper thread that is abandoned after the limit.
    """
    if not callable(function):
        raise Wrong(f"{what} should be a function (a def or a lambda), not a {type(function).__name__}.")
    seconds = TIME_LIMIT if seconds is None else seconds
    try:
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            return _call_with_alarm(function, args, seconds)
        return _call_in_thread(function, args, seconds)
    except _TimeUp:
        raise Wrong(f"{what} ran longer than {seconds:g} s (an endless loop?).") from None
    except Wrong:
        raise
    except (Exception, SystemExit) as error:
        raise Wrong(f"{what} raised {type(error).__name__}: {_short(error)}.") from None


def _call_with_alarm(function: Callable, args: tuple, seconds: float) -> Any:
    def time_up(signum, frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, time_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return function(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _call_in_thread(function: Callable, args: tuple, seconds: float) -> Any:
    box: dict[str, Any] = {}

    def run():
        try:
            box["result"] = function(*args)
        except BaseException as error:  # handed back to the caller below
            box["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise _TimeUp
    if "error" in box:
        raise box["error"]
    return box["result"]


# ---------------------------------------------------------------- the checkers, one module per lesson
# checks/l00.py … checks/l14.py register their exercises with @exercise("LL.k", ...).

LESSONS = [f"{n:02d}" for n in range(15)]
for _lesson in LESSONS:
    importlib.import_module(f"checks.l{_lesson}")
