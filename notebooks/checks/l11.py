"""Checkers of lesson 11's exercises (see ``course.py`` for what a checker promises)."""

from __future__ import annotations

import math

from course import call, exercise, expect_close, fresh_random, items, number, numbers

from autograd import Value
from nn import BatchNorm1d

try:  # PyTorch is a second opinion where it is installed (the test extras install it)
    import torch
except ImportError:  # pragma: no cover - the course runs without it
    torch = None

EIGHT = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]


@exercise("11.1", hint="The mean is 40/8 = 5. The squared deviations are 9, 1, 1, 1, 0, 0, 4, 16: divide their sum "
          "by 8, not 7.",
          wrong=[4 / math.sqrt(32 / 7), 4.0, 9.0, 4 / 4])
def _(answer):
    return expect_close(number(answer), BatchNorm1d(1).forward_batch(EIGHT)[-1].data, "The output", rel=1e-5)


@exercise("11.2", hint="running_var starts at 1; the update uses the unbiased variance, the sum of squared "
          "deviations over N − 1 = 7.",
          wrong=[0.9 + 0.1 * 4.0, 4.0, 32 / 7, 0.1 * 32 / 7])
def _(answer):
    layer = BatchNorm1d(1)
    layer.forward_batch(EIGHT)
    return expect_close(number(answer), layer.running_var[0], "running_var", rel=1e-9)


def _engine_backward(x, gamma, beta, upstream, eps):
    """(∂L/∂x, ∂L/∂γ, ∂L/∂β) for L = Σ upstream_i · BatchNorm1d(x)_i, by the engine."""
    layer = BatchNorm1d(1, eps=eps)
    layer.weight[0].data, layer.bias[0].data = gamma, beta
    xs = [Value(v) for v in x]
    out = layer.forward_batch(xs)
    sum((u * y for u, y in zip(upstream, out)), Value(0.0)).backward()
    return [v.grad for v in xs], layer.weight[0].grad, layer.bias[0].grad


def _torch_backward(x, gamma, beta, upstream, eps):
    xs = torch.tensor(x, dtype=torch.float64).reshape(-1, 1).requires_grad_()
    weight = torch.tensor([gamma], dtype=torch.float64, requires_grad=True)
    bias = torch.tensor([beta], dtype=torch.float64, requires_grad=True)
    y = torch.nn.functional.batch_norm(xs, None, None, weight, bias, training=True, eps=eps)
    (y.reshape(-1) * torch.tensor(upstream, dtype=torch.float64)).sum().backward()
    return xs.grad.reshape(-1).tolist(), float(weight.grad[0]), float(bias.grad[0])


def _without_the_batch_statistics(x, gamma, upstream, eps):
    """The mistake of treating μ and σ² as constants."""
    mean = sum(x) / len(x)
    std = math.sqrt(sum((v - mean) ** 2 for v in x) / len(x) + eps)
    x_hat = [(v - mean) / std for v in x]
    return [gamma * g / std for g in upstream], sum(g * h for g, h in zip(upstream, x_hat)), sum(upstream)


def _unbiased_variance(x, gamma, upstream, eps):
    n = len(x)
    mean = sum(x) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in x) / (n - 1) + eps)
    x_hat = [(v - mean) / std for v in x]
    g_mean = sum(upstream) / n
    gx_mean = sum(g * h for g, h in zip(upstream, x_hat)) / n
    dx = [gamma / std * (g - g_mean - h * gx_mean) for g, h in zip(upstream, x_hat)]
    return dx, sum(g * h for g, h in zip(upstream, x_hat)), sum(upstream)


@exercise("11.3", hint="Forward first: μ, the biased σ², x̂. Then ∂L/∂β = Σ g_i, ∂L/∂γ = Σ g_i x̂_i, and ∂L/∂x_i "
          "from section 4's formula, with ⟨·⟩ a mean over the batch.",
          wrong=[_without_the_batch_statistics, _unbiased_variance,
                 lambda x, gamma, upstream, eps: (list(upstream), sum(upstream), sum(upstream)),
                 lambda x, gamma, upstream, eps: ([0.0] * len(x), 0.0, 0.0)])
def _(answer):
    rng = fresh_random()
    for _ in range(5):
        n = rng.randint(2, 8)
        x = [rng.uniform(-3, 3) for _ in range(n)]
        upstream = [rng.uniform(-2, 2) for _ in range(n)]
        gamma, beta, eps = rng.uniform(0.2, 3), rng.uniform(-1, 1), 10 ** rng.uniform(-5, -1)
        out = call(answer, list(x), gamma, list(upstream), eps, what="batchnorm_backward")
        out_dx, out_dgamma, out_dbeta = items(out, 3, "What batchnorm_backward returned (dx, dgamma, dbeta)")
        dx = numbers(out_dx, n, f"dx for a batch of {n}")
        dgamma, dbeta = number(out_dgamma, "dgamma"), number(out_dbeta, "dbeta")
        references = [_engine_backward(x, gamma, beta, upstream, eps)]
        if torch is not None:
            references.append(_torch_backward(x, gamma, beta, upstream, eps))
        for ref_dx, ref_dgamma, ref_dbeta in references:  # the engine's backward(), and PyTorch's
            where = f"(a batch of {n}, γ = {gamma:.3f}, ε = {eps:.1e})"
            for i, (g, r) in enumerate(zip(dx, ref_dx)):
                expect_close(g, r, f"∂L/∂x_{i} {where}", rel=1e-7, abs_=1e-10)
            expect_close(dgamma, ref_dgamma, f"∂L/∂γ {where}", rel=1e-7, abs_=1e-10)
            expect_close(dbeta, ref_dbeta, f"∂L/∂β {where}", rel=1e-7, abs_=1e-10)
    return True


@exercise("11.4", hint="y = γ (x − mean) / sqrt(var) + β: the coefficient of x is γ / sqrt(var); the rest is the "
          "constant.",
          wrong=[(1.0, 0.5), (2.0, -2.5), (1.0, 2.5), (0.5, -1.0)])
def _(answer):
    a, c = numbers(answer, 2)
    layer = BatchNorm1d(1).eval()
    layer.weight[0].data, layer.bias[0].data = 2.0, 0.5
    layer.running_mean, layer.running_var = [3.0], [4.0]
    rng = fresh_random()
    for _ in range(4):
        x = rng.uniform(-10, 10)
        expect_close(a * x + c, layer([x])[0].data, f"a·x + c at x = {x:.3f}", rel=1e-5, abs_=1e-5)
    return True
