"""Checkers of lesson 03's exercises (see ``course.py`` for what a checker promises)."""

from __future__ import annotations

import math

from course import Wrong, call, exercise, expect, expect_close, fresh_random, number, numbers

from autograd import Value
from nn import MLP, Layer

# ---------------------------------------------------------------- 03.1 · a sigmoid neuron's gradients


def _tanh_slope(x, w, b):
    n = x[0] * w[0] + x[1] * w[1] + b
    s = 1 - math.tanh(n) ** 2
    return s * x[0], s * x[1], s


def _no_input(x, w, b):
    o = 1 / (1 + math.exp(-(x[0] * w[0] + x[1] * w[1] + b)))
    return o * (1 - o), o * (1 - o), o * (1 - o)


@exercise(
    "03.1",
    hint="o = σ(n) with n = x1·w1 + x2·w2 + b; do/dn = o(1 − o), and dn/dwi is the input wi multiplies "
    "(dn/db = 1).",
    wrong=[_tanh_slope, _no_input, lambda x, w, b: (x[0], x[1], 1.0)],
)
def _(answer):
    rng = fresh_random()
    for _ in range(6):
        x = [rng.uniform(-2, 2) for _ in range(2)]
        w = [rng.uniform(-2, 2) for _ in range(2)]
        b = rng.uniform(-1, 1)
        vx, vw, vb = [Value(v) for v in x], [Value(v) for v in w], Value(b)
        (vx[0] * vw[0] + vx[1] * vw[1] + vb).sigmoid().backward()
        mine = numbers(call(answer, list(x), list(w), b), 3, "Your (do/dw1, do/dw2, do/db)")
        where = f"At x = ({x[0]:.2f}, {x[1]:.2f}), w = ({w[0]:.2f}, {w[1]:.2f}), b = {b:.2f}, your"
        for got, node, name in zip(mine, (vw[0], vw[1], vb), ("do/dw1", "do/dw2", "do/db"), strict=True):
            expect_close(got, node.grad, f"{where} {name}")
    return True


# ---------------------------------------------------------------- 03.2 · counting parameters


def _count(n_in: int, sizes: list[int]) -> int:
    total, fan_in = 0, n_in
    for n_out in sizes:
        total, fan_in = total + n_out * (fan_in + 1), n_out
    return total


def _integer(answer, what) -> int:
    value = number(answer, what)
    expect(value == int(value), f"{what} should be a whole number, not {value}.")
    return int(value)


@exercise(
    "03.2",
    hint="Each layer has n_out neurons, each with one weight per input and one bias: n_out·(n_in + 1); "
    "the next layer's n_in is this layer's n_out. (Building the MLP to count is too slow for the big ones.)",
    wrong=[
        lambda n_in, sizes: sum(sizes) * n_in,
        lambda n_in, sizes: sum(a * b for a, b in zip([n_in, *sizes], sizes)),
        lambda n_in, sizes: MLP(n_in, sizes).num_parameters(),
        lambda n_in, sizes: _count(n_in, sizes) + 1,
    ],
)
def _(answer):
    rng = fresh_random()
    for _ in range(3):  # small: compared with the library
        n_in, sizes = rng.randint(1, 5), [rng.randint(1, 5) for _ in range(rng.randint(1, 3))]
        got = _integer(call(answer, n_in, list(sizes)), "Your count")
        expect(
            got == MLP(n_in, sizes).num_parameters(),
            f"For MLP({n_in}, {sizes}) your count {got} is not right.",
        )
    for _ in range(3):  # big: a formula, not a model, answers in time
        n_in, sizes = rng.randint(10**4, 10**5), [rng.randint(10**3, 10**4) for _ in range(rng.randint(2, 4))]
        got = _integer(call(answer, n_in, list(sizes), seconds=0.5), "Your count")
        expect(got == _count(n_in, sizes), f"For MLP({n_in}, {sizes}) your count {got} is not right.")
    return True


# ---------------------------------------------------------------- 03.3 · the names of a layer's parameters


@exercise(
    "03.3",
    hint="Neurons are numbered from 0 and listed in order; within a neuron its weights w.0, w.1, … come "
    "before its bias b.",
    wrong=[
        lambda n_in, n_out: (n_in * n_out, f"neurons.{n_out - 1}.b"),
        lambda n_in, n_out: (n_out * (n_in + 1), f"neurons.{n_out}.b"),
        lambda n_in, n_out: (n_out * (n_in + 1), f"neurons.{n_out - 1}.w.{n_in - 1}"),
        lambda n_in, n_out: (n_out * (n_in + 1),),
    ],
)
def _(answer):
    rng = fresh_random()
    cases = [(rng.randint(1, 6), rng.randint(1, 6)) for _ in range(3)]
    cases += [(rng.randint(10**4, 10**5), rng.randint(10**3, 10**4)) for _ in range(2)]
    for n_in, n_out in cases:
        result = call(answer, n_in, n_out, seconds=0.5)
        if not isinstance(result, tuple) or len(result) != 2:
            raise Wrong("Your function should return a pair (count, name).")
        count, name = result
        expect(type(name) is str, "The second item should be the name, a string.")
        count = _integer(count, "The count")
        if n_in <= 6:
            named = Layer(n_in, n_out, seed=0).named_parameters()
            expected = (len(named), named[-1][0])
        else:
            expected = (n_out * (n_in + 1), f"neurons.{n_out - 1}.b")
        expect(
            (count, name) == expected, f"For Layer({n_in}, {n_out}) your ({count}, {name!r}) is not right."
        )
    return True
