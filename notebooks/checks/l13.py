"""Checkers of lesson 13's exercises (see ``course.py`` for what a checker promises)."""

from __future__ import annotations

import math

from course import call, exercise, expect_close, fresh_random, number, numbers

from autograd import Value
from nn.optim import LevenbergMarquardt

try:  # PyTorch is a second opinion where it is installed (the test extras install it)
    import torch
except ImportError:  # pragma: no cover - the course runs without it
    torch = None


def _engine_row(a: float, b: float, c: float, x: float, y: float) -> list[float]:
    nodes = [Value(a), Value(b), Value(c)]
    (nodes[0] * (-nodes[1] * x).exp() + nodes[2] - y).backward()
    return [p.grad for p in nodes]


def _torch_row(a: float, b: float, c: float, x: float, y: float) -> list[float]:
    theta = torch.tensor([a, b, c], dtype=torch.float64, requires_grad=True)
    (theta[0] * torch.exp(-theta[1] * x) + theta[2] - y).backward()
    return theta.grad.tolist()


@exercise("13.1", hint="d/db of e^(-bx) is -x·e^(-bx) (chain rule), times a; c enters with slope 1.",
          wrong=[lambda a, b, c, x: (math.exp(-b * x), a * x * math.exp(-b * x), 1.0),
                 lambda a, b, c, x: (math.exp(-b * x), -a * math.exp(-b * x), 1.0),
                 lambda a, b, c, x: (math.exp(-b * x), -x * math.exp(-b * x), 0.0),
                 lambda a, b, c, x: (1.0, 0.0, 1.0)])
def _(answer):
    rng = fresh_random()
    for _ in range(6):
        a, b, c = rng.uniform(-3, 3), rng.uniform(-1, 2), rng.uniform(-2, 2)
        x, y = rng.uniform(0, 4), rng.uniform(-1, 3)
        row = numbers(call(answer, a, b, c, x, what="Your function"), 3, "The row")
        references = [_engine_row(a, b, c, x, y)]
        if torch is not None:
            references.append(_torch_row(a, b, c, x, y))
        for reference in references:  # backward(), and PyTorch's
            for name, ours, theirs in zip(("∂r/∂a", "∂r/∂b", "∂r/∂c"), row, reference):
                expect_close(ours, theirs, f"{name} at a={a:.3f}, b={b:.3f}, c={c:.3f}, x={x:.3f}",
                             rel=1e-9, abs_=1e-12)
    return True


@exercise("13.2", hint="At a = 0 every residual is -y_i, so Σ x_i·r_i = -(1·2 + 2·4 + 3·6); Σ x_i² = 1 + 4 + 9.",
          wrong=[2.0, -28 / (14 + 1e-3), 28 / 14 + 1e-3, 28.0])
def _(answer):
    a = Value(0.0)
    LevenbergMarquardt([a], damping=1e-3).step(lambda: [a * x - y for x, y in ((1.0, 2.0), (2.0, 4.0), (3.0, 6.0))])
    return expect_close(number(answer), a.data, "a after one step", rel=1e-9)


def _random_linear_problem(rng, m: int, n: int):
    J = [[rng.uniform(-2, 2) for _ in range(n)] for _ in range(m)]
    r = [rng.uniform(-2, 2) for _ in range(m)]
    return J, r


def _engine_lm_step(J: list[list[float]], r: list[float], damping: float) -> list[float]:
    """The step ``nn.optim.LevenbergMarquardt`` takes from θ = 0 on the residuals r + Jθ (linear in θ)."""
    theta = [Value(0.0) for _ in J[0]]

    def residuals():
        return [sum((j * t for j, t in zip(row, theta)), Value(ri)) for row, ri in zip(J, r)]

    LevenbergMarquardt(theta, damping=damping).step(residuals)  # on a linear problem, accepted
    return [t.data for t in theta]


def _torch_lm_step(J, r, damping):
    Jt, rt = torch.tensor(J, dtype=torch.float64), torch.tensor(r, dtype=torch.float64)
    system = Jt.T @ Jt + damping * torch.eye(Jt.shape[1], dtype=torch.float64)
    return torch.linalg.solve(system, -Jt.T @ rt).tolist()


def _gauss_newton(J, r, damping):
    """The undamped step (the mistake of leaving λ out)."""
    n = len(J[0])
    normal = [[sum(row[a] * row[b] for row in J) for b in range(n)] for a in range(n)]
    return _solve(normal, [-sum(row[a] * ri for row, ri in zip(J, r)) for a in range(n)])


def _solve(A, rhs):
    """Gaussian elimination (for the wrong answers)."""
    n = len(rhs)
    M = [list(row) + [v] for row, v in zip(A, rhs)]
    for k in range(n):
        pivot = max(range(k, n), key=lambda i: abs(M[i][k]))
        M[k], M[pivot] = M[pivot], M[k]
        for i in range(k + 1, n):
            f = M[i][k] / M[k][k]
            M[i] = [a - f * b for a, b in zip(M[i], M[k])]
    x = [0.0] * n
    for k in reversed(range(n)):
        x[k] = (M[k][n] - sum(M[k][j] * x[j] for j in range(k + 1, n))) / M[k][k]
    return x


@exercise("13.3", hint="Build JᵀJ (n × n) and Jᵀr (n), add λ to the diagonal only, and solve (JᵀJ + λI)·δ = −Jᵀr "
          "(numpy.linalg.solve, or the lesson's cholesky_solve).",
          wrong=[_gauss_newton,
                 lambda J, r, lam: [-d for d in _engine_lm_step(J, r, lam)],
                 lambda J, r, lam: [-sum(J[i][k] * r[i] for i in range(len(J))) / lam for k in range(len(J[0]))],
                 lambda J, r, lam: [0.0] * len(J[0])])
def _(answer):
    rng = fresh_random()
    for trial in range(5):
        n = rng.randint(2, 4)
        m = n + rng.randint(1, 4)
        J, r = _random_linear_problem(rng, m, n)
        damping = 10 ** rng.uniform(-1, 1.5) if trial else 5.0  # large enough that λ shows
        step = numbers(call(answer, [list(row) for row in J], list(r), damping, what="lm_step"), n,
                       f"The step for {n} parameters")
        references = [_engine_lm_step(J, r, damping)]
        if torch is not None:
            references.append(_torch_lm_step(J, r, damping))
        for reference in references:  # nn.optim.LevenbergMarquardt, and torch.linalg.solve
            for k, (d, e) in enumerate(zip(step, reference)):
                expect_close(d, e, f"δ_{k} ({m} residuals, {n} parameters, λ = {damping:.3g})", rel=1e-8, abs_=1e-12)
    return True


def _gradient(J, r):
    """g = Jᵀr: the gradient of ½Σr², one sum over the residuals per parameter."""
    return [sum(row[k] * ri for row, ri in zip(J, r)) for k in range(len(J[0]))]


def _expansion(J, r, lam, second=1.0):
    """−g/λ + second·Jᵀ(Jg)/λ²: the LM step to second order in 1/λ (``second=1``), for the wrong answers
    with another factor on the second term."""
    g = _gradient(J, r)
    Jg = [sum(a * b for a, b in zip(row, g)) for row in J]
    Ag = _gradient(J, Jg)  # Jᵀ(J g) = (JᵀJ) g, without forming JᵀJ
    return [-gk / lam + second * ak / lam**2 for gk, ak in zip(g, Ag)]


@exercise("13.4", hint="Three products: g = Jᵀr (for each parameter k, Σ_i J[i][k]·r[i]); Jg (for each residual i, "
          "Σ_k J[i][k]·g[k]); Jᵀ(Jg) as the first. The step is −g/λ + Jᵀ(Jg)/λ².",
          wrong=[lambda J, r, lam: [-x / lam for x in _gradient(J, r)],  # first order only: gradient descent
                 _engine_lm_step,  # the exact step: not the expansion where λ is small
                 lambda J, r, lam: _expansion(J, r, lam, second=-1.0),
                 lambda J, r, lam: _expansion(J, r, lam, second=lam),  # Ag/λ: a power of λ lost
                 lambda J, r, lam: [-x for x in _expansion(J, r, lam)]])
def _(answer):
    rng = fresh_random()
    for lam in (1e4, 1e2, 10 ** rng.uniform(0.3, 1.5), 2.0, 0.5):
        n = rng.randint(2, 4)
        m = n + rng.randint(0, 4)
        J, r = _random_linear_problem(rng, m, n)
        step = numbers(call(answer, [list(row) for row in J], list(r), lam, what="large_damping_step"), n,
                       f"The step for {n} parameters")
        expected = _expansion(J, r, lam)
        scale = max(abs(x) for x in _gradient(J, r)) / lam  # the size of the first term
        for k, (d, e) in enumerate(zip(step, expected)):
            expect_close(d, e, f"δ_{k} ({m} residuals, {n} parameters, λ = {lam:.3g})", rel=1e-9,
                         abs_=1e-12 * scale)
    return True
