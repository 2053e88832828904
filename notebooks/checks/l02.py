"""Checkers of lesson 02's exercises (see ``course.py`` for what a checker promises).

The network is the lesson's: ``h_i = σ(x·w_1i)``, ``o = σ(h1·w21 + h2·w22)``, ``E = ½(y − o)²``.
"""

from __future__ import annotations

import math

from course import Wrong, call, exercise, expect, expect_close, fresh_random, number, numbers

from autograd import Value

NAMES = ("w11", "w12", "w21", "w22")


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def network(x: float, y: float, weights: dict, loss: str = "squared") -> dict:
    """The 1-2-1 network as Values; every node by name, after ``backward()``."""
    v = {n: Value(weights[n]) for n in NAMES}
    v["x"] = Value(x)
    v["z1"], v["z2"] = v["x"] * v["w11"], v["x"] * v["w12"]
    v["h1"], v["h2"] = v["z1"].sigmoid(), v["z2"].sigmoid()
    v["z3"] = v["h1"] * v["w21"] + v["h2"] * v["w22"]
    v["o"] = v["z3"].sigmoid()
    if loss == "squared":
        v["E"] = 0.5 * (y - v["o"]) ** 2
    else:
        v["E"] = -(y * v["o"].log() + (1 - y) * (1 - v["o"]).log())
    v["E"].backward()
    return v


def _random_case(rng):
    weights = {n: rng.uniform(-2, 2) for n in NAMES}
    return rng.uniform(-2, 2), rng.uniform(0.05, 0.95), weights


# ---------------------------------------------------------------- 02.1 · the error signals


def _no_hidden_slope(x, y, w):
    h1, h2 = _sigmoid(x * w["w11"]), _sigmoid(x * w["w12"])
    o = _sigmoid(h1 * w["w21"] + h2 * w["w22"])
    d = (o - y) * o * (1 - o)
    return d, d * w["w21"], d * w["w22"]


def _flipped(x, y, w):
    d, d1, d2 = _no_hidden_slope(x, y, w)
    h1, h2 = _sigmoid(x * w["w11"]), _sigmoid(x * w["w12"])
    return -d, -d1 * h1 * (1 - h1), -d2 * h2 * (1 - h2)


@exercise(
    "02.1",
    hint="δo = ∂E/∂z3 = (o − y)·o(1 − o); each hidden δ is δo, times the weight that carries it back, "
    "times that hidden neuron's own slope h(1 − h).",
    wrong=[_no_hidden_slope, _flipped, lambda x, y, w: (0.0, 0.0, 0.0)],
)
def _(answer):
    rng = fresh_random()
    for _ in range(6):
        x, y, weights = _random_case(rng)
        v = network(x, y, weights)
        mine = numbers(call(answer, x, y, dict(weights)), 3, "Your (delta_o, delta_1, delta_2)")
        where = f"At x = {x:.3f}, y = {y:.3f} and random weights, your"
        for got, node, name in zip(mine, ("z3", "z1", "z2"), ("delta_o", "delta_1", "delta_2"), strict=True):
            expect_close(got, v[node].grad, f"{where} {name}", abs_=1e-12)
    return True


# ---------------------------------------------------------------- 02.2 · cross-entropy's dE/dw21


@exercise(
    "02.2",
    hint="∂E/∂o1 = −y/o1 + (1 − y)/(1 − o1) = (o1 − y)/(o1(1 − o1)); multiply by o1(1 − o1) and by h1.",
    wrong=[
        lambda x1, y, h1, h2, o1, w21, w22: (o1 - y) * o1 * (1 - o1) * h1,
        lambda x1, y, h1, h2, o1, w21, w22: (y - o1) * h1,
        lambda x1, y, h1, h2, o1, w21, w22: o1 - y,
    ],
)
def _(answer):
    rng = fresh_random()
    for _ in range(6):
        x, y, weights = _random_case(rng)
        v = network(x, y, weights, loss="cross-entropy")
        args = (x, y, v["h1"].data, v["h2"].data, v["o"].data, weights["w21"], weights["w22"])
        got = number(call(answer, *args), "Your ∂E/∂w21")
        expect_close(got, v["w21"].grad, f"At x = {x:.3f}, y = {y:.3f} and random weights, your ∂E/∂w21")
    return True


# ---------------------------------------------------------------- 02.3 · which gradients vanish at x = 0


@exercise(
    "02.3",
    hint="Each weight's gradient is the δ of the neuron it feeds times the input it multiplies: what do "
    "w11 and w12 multiply, and what are h1 and h2 when their input is 0?",
    wrong=[{"w21", "w22"}, {"w11"}, set(), {"w11", "w12", "w21", "w22"}, ("w11", "w12", "w12")],
)
def _(answer):
    if not isinstance(answer, (set, frozenset, list, tuple)):
        raise Wrong(f"answer_3 should be a set of names like {{'w21'}}, not a {type(answer).__name__}.")
    items = list(answer)[:5]
    expect(all(type(n) is str for n in items), "Every item should be a weight's name, a string like 'w21'.")
    expect(len(set(items)) == len(answer), "Name each weight once.")
    unknown = set(items) - set(NAMES)
    expect(not unknown, f"There is no weight called {sorted(unknown)}; the names are {', '.join(NAMES)}.")
    rng = fresh_random()
    for _ in range(3):
        _, y, weights = _random_case(rng)
        v = network(0.0, y, weights)
        zero = {n for n in NAMES if v[n].grad == 0.0}
        expect(set(items) == zero, "That is not the set of weights whose gradient is exactly 0 at x = 0.")
    return True
