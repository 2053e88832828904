"""Checkers of lesson 01's exercises (see ``course.py`` for what a checker promises)."""

from __future__ import annotations

import math

import torch
from course import Wrong, call, exercise, expect_close, fresh_random, number, numbers

from autograd import Operation, Value, apply, gradcheck


def _f(x: float) -> float:
    """The lesson's f(x) = ½x³ − 2x + 1."""
    return 0.5 * x**3 - 2 * x + 1


def _f_prime(x: float) -> float:
    return 1.5 * x**2 - 2


# ---------------------------------------------------------------- 01.1 · the forward difference's error


@exercise(
    "01.1",
    hint="Taylor: f(x + h) = f(x) + f'(x)h + ½f''(x)h² + …, so the forward difference is off by about "
    "½f''(x)·h. Differentiate f twice.",
    wrong=[
        lambda x, h: 3 * x * h,
        lambda x, h: 0.75 * x * x * h,
        lambda x, h: 1.5 * h,
        lambda x, h: 1.5 * x * h * h,
    ],
)
def _(answer):
    rng = fresh_random()
    for _ in range(6):
        x, h = rng.uniform(0.5, 3.0), 10 ** rng.uniform(-4, -2)
        measured = abs((_f(x + h) - _f(x)) / h - _f_prime(x))
        predicted = number(call(answer, x, h), "Your prediction")
        expect_close(predicted, measured, f"At x = {x:.3f}, h = {h:.2e}, your predicted error", rel=0.02)
    return True


# ---------------------------------------------------------------- 01.2 · M = (a + b)·a


@exercise(
    "01.2",
    hint="Path 1: M = s·a with s = a + b, so ∂M/∂s = a and ∂s/∂a = 1. Path 2: the factor a itself, "
    "∂M/∂a = s. Add them; b has one path only.",
    wrong=[lambda a, b: (2 * a, a), lambda a, b: (a + b, a), lambda a, b: (2 * a + b, b), lambda a, b: (a,)],
)
def _(answer):
    rng = fresh_random()
    for _ in range(6):
        a0, b0 = rng.uniform(-3, 3), rng.uniform(-3, 3)
        a, b = Value(a0), Value(b0)
        ((a + b) * a).backward()
        mine = numbers(call(answer, a0, b0), 2, "Your pair (∂M/∂a, ∂M/∂b)")
        expect_close(mine[0], a.grad, f"At a = {a0:.3f}, b = {b0:.3f}, your ∂M/∂a")
        expect_close(mine[1], b.grad, f"At a = {a0:.3f}, b = {b0:.3f}, your ∂M/∂b")
    return True


# ---------------------------------------------------------------- 01.3 · softsign as an Operation

_WRONG_SOFTSIGN = [
    Operation("softsign", "a / (1 + abs(a))", {"a": "1 / (1 + abs(a))"}),
    Operation("softsign", "a / (1 + a)", {"a": "1 / (1 + a) ** 2"}),
    Operation("softsign", "a / (1 + abs(a))", {"a": "-1 / (1 + abs(a)) ** 2"}),
]


@exercise(
    "01.3",
    hint="Forward: a / (1 + abs(a)). For the slope, use the quotient rule on each side of 0 (where |a| = a, "
    "then −a) and see that both give one expression in |a|.",
    wrong=_WRONG_SOFTSIGN,
)
def _(answer):
    if not isinstance(answer, Operation):
        raise Wrong(f"answer_3 should be an Operation(...), not a {type(answer).__name__}.")
    rng = fresh_random()
    for _ in range(6):
        x0 = rng.uniform(-4, 4)
        x = Value(x0)
        y = call(apply, answer, x, what="apply(your operation, x)")
        if not isinstance(y, Value):
            raise Wrong("apply(your operation, x) should give a Value.")
        y.backward()
        t = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        torch.nn.functional.softsign(t).backward()
        expect_close(y.data, x0 / (1 + abs(x0)), f"softsign({x0:.3f}) from your forward")
        expect_close(x.grad, t.grad.item(), f"The slope at {x0:.3f} from your derivative")
        inner = Value(rng.uniform(-2, 2))
        try:  # inside a bigger expression, against finite differences
            call(gradcheck, lambda v: apply(answer, v * v - 1).tanh(), [inner], what="gradcheck")
        except Wrong as error:
            raise Wrong(
                f"gradcheck fails on tanh(softsign(v² − 1)) at v = {inner.data:.3f}: {error}"
            ) from None
    return math.isfinite(x.grad)
