"""Checkers of lesson 04's exercises (see ``course.py`` for what a checker promises)."""

from __future__ import annotations

import math

from course import call, exercise, expect_close, fresh_random, number, numbers

from autograd import Value
from nn import losses, optim

# ---------------------------------------------------------------- 04.1 · one point's hinge loss and slope


@exercise(
    "04.1",
    hint="ℓ = max(0, 1 − y·s). Where 1 − y·s > 0 the loss is 1 − y·s, whose slope in s is −y; elsewhere "
    "the loss is 0 and so is its slope.",
    wrong=[
        lambda y, s: (1 - y * s, -y),
        lambda y, s: (max(0.0, 1 - y * s), -s),
        lambda y, s: (max(0.0, 1 - y * s), y if y * s < 1 else 0.0),
        lambda y, s: (max(0.0, -y * s), -y if y * s < 0 else 0.0),
    ],
)
def _(answer):
    rng = fresh_random()
    for trial in range(10):
        y = rng.choice((-1, 1))
        s = y * rng.uniform(1.1, 3) if trial % 3 == 0 else rng.uniform(-3, 3)  # some points beyond the margin
        if abs(1 - y * s) < 1e-6:
            continue
        v = Value(s)
        loss = losses.hinge_loss([v], [y])
        loss.backward()
        mine = numbers(call(answer, y, s), 2, "Your (loss, dloss/ds)")
        expect_close(mine[0], loss.data, f"For y = {y:+d}, s = {s:.3f}, your loss", abs_=1e-12)
        expect_close(mine[1], v.grad, f"For y = {y:+d}, s = {s:.3f}, your slope", abs_=1e-12)
    return True


# ---------------------------------------------------------------- 04.2 · the cosine schedule


def _scheduled(t: int, T: int, lr_max: float, lr_min: float) -> float:
    p = Value(0.0)
    opt = optim.SGD([p], lr=lr_max)
    schedule = optim.CosineAnnealingLR(opt, T_max=T, eta_min=lr_min)
    for _ in range(t):
        schedule.step()
    return opt.lr


@exercise(
    "04.2",
    hint="η_t = η_min + ½(η_max − η_min)(1 + cos(πt/T)): η_max at t = 0, η_min at t = T.",
    wrong=[
        lambda t, T, hi, lo: lo + (hi - lo) * (1 + math.cos(math.pi * t / T)),
        lambda t, T, hi, lo: lo + 0.5 * (hi - lo) * (1 + math.sin(math.pi * t / T)),
        lambda t, T, hi, lo: 0.5 * hi * (1 + math.cos(math.pi * t / T)),
    ],
)
def _(answer):
    rng = fresh_random()
    for _ in range(5):
        T = rng.randint(5, 60)
        t = rng.randint(0, T)
        hi, lo = rng.uniform(0.5, 2.0), rng.uniform(0.01, 0.3)
        got = number(call(answer, t, T, hi, lo), "Your learning rate")
        expect_close(
            got,
            _scheduled(t, T, hi, lo),
            f"At t = {t} of T = {T} (from {hi:.3f} to {lo:.3f}), yours",
            rel=1e-9,
        )
    return True


# ---------------------------------------------------------------- 04.3 · the gradient of hinge + L2, linear model


def _engine_gradient(w, b, X, y, alpha):
    vw, vb = [Value(v) for v in w], Value(b)
    scores = [vw[0] * x[0] + vw[1] * x[1] + vb for x in X]
    loss = losses.hinge_loss(scores, y) + alpha * (vw[0] * vw[0] + vw[1] * vw[1] + vb * vb)
    loss.backward()
    return [vw[0].grad, vw[1].grad, vb.grad]


def _no_penalty_factor(w, b, X, y, alpha):
    g = _hinge_part(w, b, X, y)
    return [g[0] + alpha * w[0], g[1] + alpha * w[1], g[2] + alpha * b]


def _hinge_part(w, b, X, y):
    g = [0.0, 0.0, 0.0]
    for x, t in zip(X, y, strict=True):
        if 1 - t * (w[0] * x[0] + w[1] * x[1] + b) > 0:
            g = [g[0] - t * x[0] / len(X), g[1] - t * x[1] / len(X), g[2] - t / len(X)]
    return g


def _summed(w, b, X, y, alpha):
    g = _hinge_part(w, b, X, y)
    return [len(X) * g[0] + 2 * alpha * w[0], len(X) * g[1] + 2 * alpha * w[1], len(X) * g[2] + 2 * alpha * b]


@exercise(
    "04.3",
    hint="Only the points with 1 − y·s > 0 contribute, each −y·x/N to the weights and −y/N to the bias "
    "(s = w·x + b); the penalty α(w1² + w2² + b²) adds 2α times each parameter.",
    wrong=[
        _no_penalty_factor,
        _summed,
        lambda w, b, X, y, alpha: [2 * alpha * w[0], 2 * alpha * w[1], 2 * alpha * b],
    ],
)
def _(answer):
    rng = fresh_random()
    for _ in range(5):
        n = rng.randint(4, 9)
        X = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(n)]
        y = [rng.choice((-1, 1)) for _ in range(n)]
        w, b, alpha = [rng.uniform(-1, 1), rng.uniform(-1, 1)], rng.uniform(-0.5, 0.5), rng.uniform(1e-3, 0.1)
        reference = _engine_gradient(w, b, X, y, alpha)
        mine = numbers(
            call(answer, list(w), b, [list(x) for x in X], list(y), alpha), 3, "Your [dL/dw1, dL/dw2, dL/db]"
        )
        for got, right, name in zip(mine, reference, ("dL/dw1", "dL/dw2", "dL/db"), strict=True):
            expect_close(got, right, f"On {n} random points, your {name}", abs_=1e-12)
    return True
