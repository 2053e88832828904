"""Checkers of lesson 07's exercises (see ``course.py`` for what a checker promises)."""

from __future__ import annotations

import math

from course import call, exercise, expect, expect_close, fresh_random, number, numbers

from autograd import Value
from nn import optim

try:  # PyTorch is a second opinion where it is installed (the test extras install it)
    import torch
except ImportError:  # pragma: no cover - the course runs without it
    torch = None


def _valley_run(lr: float, steps: int) -> tuple[float, float]:
    """Plain SGD on the lesson's valley ½x² + 10y² from (-4, 1): the final point."""
    x, y = Value(-4.0), Value(1.0)
    sgd = optim.SGD([x, y], lr=lr)
    for _ in range(steps):
        sgd.zero_grad()
        (0.5 * x * x + 10.0 * y * y).backward()
        sgd.step()
        if not math.isfinite(y.data) or abs(y.data) > 1e6:
            break
    return x.data, y.data


@exercise("07.1", hint="The y factor 1 − 20γ must lie strictly between −1 and 1; which γ makes it exactly −1?",
          wrong=[0.05, 0.2, 1 / 20, 2.0])
def _(answer):
    lr = number(answer)
    expect(lr > 0, "A learning rate is positive.")
    below, above = _valley_run(lr * 0.98, 600), _valley_run(lr * 1.02, 600)
    expect(abs(below[1]) < 1e-3, f"At 0.98 × {lr:g}, y should settle at the floor; it ends at {below[1]:.3g}.")
    expect(abs(above[1]) > 10, f"At 1.02 × {lr:g}, y should blow up; it ends at {above[1]:.3g}.")
    return expect_close(lr, 2 / 20, rel=1e-9)


def _first_rmsprop_step(lr: float, alpha: float, gradient: float) -> float:
    p = Value(0.0)
    p.grad = gradient
    optim.RMSprop([p], lr=lr, alpha=alpha, eps=0.0).step()
    return abs(p.data)


@exercise("07.2", hint="v1 = (1 − α)·g1² = 0.1·g1², so √v1 = √0.1·|g1| and the step is γ/√0.1, whatever g1 is.",
          wrong=[0.01, 0.1, 0.01 / 0.1, 0.01 * math.sqrt(0.1)])
def _(answer):
    step = number(answer)
    rng = fresh_random()
    for _ in range(3):  # the first step does not depend on the gradient: any gradient will do
        gradient = rng.choice((-1, 1)) * 10 ** rng.uniform(-3, 3)
        expect_close(step, _first_rmsprop_step(0.01, 0.9, gradient), "The first step", rel=1e-6)
    return True


def _engine_adam(theta: float, gradients: list[float], lr: float, betas: tuple[float, float], eps: float):
    """θ after each step of ``nn.optim.Adam`` fed these gradients."""
    p = Value(theta)
    adam = optim.Adam([p], lr=lr, betas=betas, eps=eps)
    path = []
    for g in gradients:
        p.grad = g
        adam.step()
        path.append(p.data)
    return path


def _torch_adam(theta: float, gradients: list[float], lr: float, betas: tuple[float, float], eps: float):
    """θ after each step of ``torch.optim.Adam`` (float64) fed these gradients."""
    p = torch.tensor([theta], dtype=torch.float64, requires_grad=True)
    adam = torch.optim.Adam([p], lr=lr, betas=betas, eps=eps)
    path = []
    for g in gradients:
        p.grad = torch.tensor([g], dtype=torch.float64)
        adam.step()
        path.append(float(p.detach()[0]))
    return path


def _adam_without_bias_correction(theta, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return theta - lr * m / (math.sqrt(v) + eps), m, v


def _adam_eps_inside(theta, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return theta - lr * (m / (1 - beta1**t)) / math.sqrt(v / (1 - beta2**t) + eps), m, v


@exercise("07.3", hint="Follow the Adam section's formulas: first the new m and v (return those uncorrected: they "
          "are the state), then the bias-corrected m̂ and v̂ for the step; ε goes outside the square root.",
          wrong=[_adam_without_bias_correction, _adam_eps_inside,
                 lambda theta, g, m, v, t, lr, beta1, beta2, eps: (theta - lr * g, m, v),
                 lambda theta, g, m, v, t, lr, beta1, beta2, eps: theta - lr * math.copysign(1.0, g)])
def _(answer):
    rng = fresh_random()
    for _trial in range(3):
        theta0 = rng.uniform(-2, 2)
        lr = 10 ** rng.uniform(-3, -0.5)
        betas = (rng.uniform(0.5, 0.95), rng.uniform(0.9, 0.9999))
        eps = 10 ** rng.uniform(-3, -1)  # large enough that where ε goes shows
        gradients = [rng.choice((-1, 1)) * 10 ** rng.uniform(-2, 0.5) for _ in range(6)]
        references = [_engine_adam(theta0, gradients, lr, betas, eps)]
        if torch is not None:
            references.append(_torch_adam(theta0, gradients, lr, betas, eps))
        theta, m, v = theta0, 0.0, 0.0
        for t, g in enumerate(gradients, start=1):
            out = call(answer, theta, g, m, v, t, lr, betas[0], betas[1], eps, what="adam_step")
            theta, m, v = numbers(out, 3, "What adam_step returned (theta, m, v)")
            for reference in references:  # nn.optim.Adam, and torch.optim.Adam
                expect_close(theta, reference[t - 1], f"θ after step {t} (γ={lr:.3g}, "
                             f"β=({betas[0]:.3f}, {betas[1]:.4f}), ε={eps:.2g})", rel=1e-9, abs_=1e-12)
    return True
