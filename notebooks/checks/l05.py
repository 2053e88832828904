"""Checkers of lesson 05's exercises (see ``course.py`` for what a checker promises)."""

from __future__ import annotations

import math

import numpy as np
import torch
from course import (
    array,
    call,
    exercise,
    expect_arrays_close,
    expect_close,
    fresh_random,
    items,
    number,
    numbers,
)

from autograd import Value

# ---------------------------------------------------------------- 05.1 · tanh hidden layer, cross-entropy: all 9 gradients

ORDER = ("W1[0][0]", "W1[0][1]", "b1[0]", "W1[1][0]", "W1[1][1]", "b1[1]", "W2[0]", "W2[1]", "b2")


def _random_params(rng) -> dict:
    return {
        "W1": [[rng.uniform(-2, 2) for _ in range(2)] for _ in range(2)],
        "b1": [rng.uniform(-1, 1) for _ in range(2)],
        "W2": [rng.uniform(-2, 2) for _ in range(2)],
        "b2": rng.uniform(-1, 1),
    }


def _engine_221(p: dict, x: list, y: float) -> list[float]:
    W1 = [[Value(w) for w in row] for row in p["W1"]]
    b1 = [Value(b) for b in p["b1"]]
    W2 = [Value(w) for w in p["W2"]]
    b2 = Value(p["b2"])
    h = [(b1[j] + W1[j][0] * x[0] + W1[j][1] * x[1]).tanh() for j in range(2)]
    o = (b2 + W2[0] * h[0] + W2[1] * h[1]).sigmoid()
    (-(y * o.log() + (1 - y) * (1 - o).log())).backward()
    return [
        W1[0][0].grad,
        W1[0][1].grad,
        b1[0].grad,
        W1[1][0].grad,
        W1[1][1].grad,
        b1[1].grad,
        W2[0].grad,
        W2[1].grad,
        b2.grad,
    ]


def _sigmoid_slope_kept(p, x, y):
    """δo with the sigmoid's slope left in (it cancels against cross-entropy's derivative)."""
    h = [math.tanh(p["b1"][j] + p["W1"][j][0] * x[0] + p["W1"][j][1] * x[1]) for j in range(2)]
    o = 1 / (1 + math.exp(-(p["b2"] + p["W2"][0] * h[0] + p["W2"][1] * h[1])))
    d_o = (o - y) * o * (1 - o)
    out = []
    for j in range(2):
        d_j = d_o * p["W2"][j] * (1 - h[j] ** 2)
        out += [d_j * x[0], d_j * x[1], d_j]
    return out + [d_o * h[0], d_o * h[1], d_o]


def _sigmoid_hidden(p, x, y):
    """The lesson's hidden slope h(1 − h) where the hidden layer is tanh."""
    h = [math.tanh(p["b1"][j] + p["W1"][j][0] * x[0] + p["W1"][j][1] * x[1]) for j in range(2)]
    o = 1 / (1 + math.exp(-(p["b2"] + p["W2"][0] * h[0] + p["W2"][1] * h[1])))
    d_o = o - y
    out = []
    for j in range(2):
        d_j = d_o * p["W2"][j] * h[j] * (1 - h[j])
        out += [d_j * x[0], d_j * x[1], d_j]
    return out + [d_o * h[0], d_o * h[1], d_o]


@exercise(
    "05.1",
    hint="With cross-entropy after a sigmoid, δo = ∂E/∂z_o = o − y (the sigmoid's slope cancels). Each hidden "
    "δj = δo·W2[j]·(1 − hj²), tanh's slope. Then every gradient is a δ times the input it multiplies (1 for a bias).",
    wrong=[_sigmoid_slope_kept, _sigmoid_hidden, lambda p, x, y: [0.0] * 9, lambda p, x, y: [0.0] * 8],
)
def _(answer):
    rng = fresh_random()
    for _ in range(6):
        p = _random_params(rng)
        x, y = [rng.choice((0.0, 1.0)), rng.choice((0.0, 1.0))], rng.choice((0.0, 1.0))
        x = [x[0] + rng.uniform(-0.3, 0.3), x[1] + rng.uniform(-0.3, 0.3)]
        reference = _engine_221(p, x, y)
        copy_ = {"W1": [list(r) for r in p["W1"]], "b1": list(p["b1"]), "W2": list(p["W2"]), "b2": p["b2"]}
        mine = numbers(call(answer, copy_, list(x), y), 9, "Your 9 gradients")
        for got, right, name in zip(mine, reference, ORDER, strict=True):
            expect_close(
                got,
                right,
                f"At random weights, x = ({x[0]:.2f}, {x[1]:.2f}), y = {y:.0f}, your dE/d{name}",
                abs_=1e-12,
            )
    return True


# ---------------------------------------------------------------- 05.2 · the NumPy learning rate


@exercise(
    "05.2",
    hint="L = (1/N)·Σ(o − t)² and S = ½·Σ(t − o)², so L = (2/N)·S and ∇L = (2/N)·∇S. Our step is 0.5·∇L.",
    wrong=[0.5, 1.0, 0.125, 2.0, 0.0625],
)
def _(answer):
    lr, n = 0.5, 4
    return expect_close(number(answer), 2 * lr / n, "That learning rate")  # lr·∇L = lr·(2/N)·∇S


# ---------------------------------------------------------------- 05.3 · the NumPy loop's gradients, in matrix form


def _torch_gradients(X, T, W1, b1, W2, b2):
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (W1, b1, W2, b2)]
    hidden = torch.sigmoid(torch.tensor(X) @ ts[0] + ts[1])
    out = torch.sigmoid(hidden @ ts[2] + ts[3])
    (0.5 * ((torch.tensor(T) - out) ** 2).sum()).backward()
    return [t.grad.numpy() for t in ts]


def _tutorial_sign(X, T, W1, b1, W2, b2):
    """The tutorial's d's: the negatives of the gradients."""
    hidden = 1 / (1 + np.exp(-(X @ W1 + b1)))
    out = 1 / (1 + np.exp(-(hidden @ W2 + b2)))
    d_out = (T - out) * out * (1 - out)
    d_hidden = d_out @ W2.T * hidden * (1 - hidden)
    return (
        X.T @ d_hidden,
        d_hidden.sum(axis=0, keepdims=True),
        hidden.T @ d_out,
        d_out.sum(axis=0, keepdims=True),
    )


def _mean_not_sum(X, T, W1, b1, W2, b2):
    return tuple(-g / len(X) for g in _tutorial_sign(X, T, W1, b1, W2, b2))


@exercise(
    "05.3",
    hint="∂S/∂o = o − t (the opposite of the tutorial's error); times o(1 − o) gives δ_out (n × 1). "
    "δ_hidden = δ_out·W2ᵀ times h(1 − h). Each weight matrix's gradient is (its layer's input)ᵀ·δ; each bias's, "
    "δ summed over the rows (keepdims).",
    wrong=[_tutorial_sign, _mean_not_sum, lambda X, T, W1, b1, W2, b2: (W1, b1, W2, b2)],
)
def _(answer):
    rng = np.random.default_rng(fresh_random().getrandbits(64))
    for _ in range(4):
        n, hidden = int(rng.integers(3, 7)), int(rng.integers(2, 5))
        X, T = rng.uniform(-1, 1, (n, 2)), rng.integers(0, 2, (n, 1)).astype(float)
        W1, b1 = rng.normal(size=(2, hidden)), rng.normal(size=(1, hidden))
        W2, b2 = rng.normal(size=(hidden, 1)), rng.normal(size=(1, 1))
        reference = _torch_gradients(X, T, W1, b1, W2, b2)
        result = call(answer, X.copy(), T.copy(), W1.copy(), b1.copy(), W2.copy(), b2.copy())
        for got, right, name in zip(
            items(result, 4, "Your (dW1, db1, dW2, db2)"),
            reference,
            ("dW1", "db1", "dW2", "db2"),
            strict=True,
        ):
            mine = array(got, right.shape, f"Your {name} (batch of {n}, {hidden} hidden neurons)")
            expect_arrays_close(mine, right, f"Your {name} (batch of {n}, {hidden} hidden neurons)")
    return True
