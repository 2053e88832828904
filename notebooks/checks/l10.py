"""Checkers of lesson 10's exercises (see ``course.py`` for what a checker promises)."""

from __future__ import annotations

from course import call, exercise, expect, expect_close, fresh_random, number, numbers

from autograd import Value
from nn import Dropout, optim


def _one_step(optimizer_class, theta: float, gradient: float, **settings) -> float:
    p = Value(theta)
    p.grad = gradient
    optimizer_class([p], **settings).step()
    return p.data


@exercise("10.1", hint="With g = 0 the step is θ ← (1 − γλ)·θ: the factor is 1 − 0.1·0.01 = 0.999.",
          wrong=[2.0, 1.98, 2.0 - 0.1 * 0.01, 1.999])
def _(answer):
    return expect_close(number(answer), _one_step(optim.SGD, 2.0, 0.0, lr=0.1, weight_decay=0.01), "θ", rel=1e-9)


@exercise("10.2", hint="Survivors are divided by 1 − p; that keeps the expected value: (1 − p)·h/(1 − p) + p·0 = h.",
          wrong=[(0.8, 0.8), (1.0, 1.0), (0.64, 0.8), (0.8 / 0.8, 0.64)])
def _(answer):
    survivor, expected = numbers(answer, 2)
    layer = Dropout(0.2, rng=fresh_random())
    out = [v.data for v in layer([Value(0.8) for _ in range(4000)])]
    survivors = {round(v, 12) for v in out if v != 0.0}
    expect(survivors == {round(survivor, 12)}, f"The survivors do not come out as {survivor!r}.")
    expect(abs(sum(out) / len(out) - expected) < 0.05, "Averaged over many masks, the output is not that.")
    return expect_close(expected, 0.8, "The expected value")


def _engine_dropout_gradient(rng, n: int, p: float) -> tuple[list[float], list[bool], list[float]]:
    """Upstream gradients, the mask a real ``Dropout`` drew, and the gradients ``backward()`` gives its inputs."""
    xs = [Value(rng.choice((-1, 1)) * rng.uniform(0.5, 2.0)) for _ in range(n)]
    out = Dropout(p, rng=rng)(xs)
    kept = [o.data != 0.0 for o in out]
    upstream = [rng.uniform(-2, 2) for _ in range(n)]
    sum((u * o for u, o in zip(upstream, out)), Value(0.0)).backward()
    return upstream, kept, [x.grad for x in xs]


@exercise("10.3", hint="Each output is x·m with m = 0 or 1/(1 − p): its local derivative is that same m, so the "
          "upstream gradient is multiplied by it.",
          wrong=[lambda upstream, kept, p: [u * k for u, k in zip(upstream, kept)],
                 lambda upstream, kept, p: [u / (1 - p) for u in upstream],
                 lambda upstream, kept, p: [u * k * (1 - p) for u, k in zip(upstream, kept)],
                 lambda upstream, kept, p: list(upstream)])
def _(answer):
    rng = fresh_random()
    for _ in range(5):
        n, p = rng.randint(3, 12), rng.uniform(0.1, 0.8)
        upstream, kept, reference = _engine_dropout_gradient(rng, n, p)
        ours = numbers(call(answer, list(upstream), list(kept), p, what="dropout_backward"), n,
                       f"The gradient for {n} inputs")
        for i, (g, r) in enumerate(zip(ours, reference)):
            expect_close(g, r, f"∂L/∂x_{i} (p = {p:.3f}, {'kept' if kept[i] else 'dropped'})", rel=1e-12, abs_=1e-15)
    return True


@exercise("10.4", hint="0.5·(1 − 0.02·1) = 0.49, then minus γ·sign(g) = 0.02 (ε makes a difference only in the "
          "9th digit).",
          wrong=[0.49, 0.48, 0.5 - 0.02, 0.5 * (1 - 0.02) + 0.02])
def _(answer):
    after = _one_step(optim.AdamW, 0.5, 3.0, lr=0.02, weight_decay=1.0)
    return expect_close(number(answer), after, "θ", rel=1e-6)
