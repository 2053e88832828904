"""Checkers of lesson 08's exercises (see ``course.py`` for what a checker promises)."""

from __future__ import annotations

import math

from course import call, exercise, expect, expect_close, fresh_random, number

from autograd import Value
from nn import Layer, optim

try:  # PyTorch is a second opinion where it is installed (the test extras install it)
    import torch
except ImportError:  # pragma: no cover - the course runs without it
    torch = None


def _chain_gradient_by_engine(x: float, weights: list[float]) -> float:
    """∂h_L/∂x for h_ℓ = σ(w_ℓ h_{ℓ-1}), h_0 = x, by the engine's backward()."""
    x_node = Value(x)
    h = x_node
    for w in weights:
        h = (w * h).sigmoid()
    h.backward()
    return x_node.grad


def _chain_gradient_by_torch(x: float, weights: list[float]) -> float:
    x_node = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    h = x_node
    for w in weights:
        h = torch.sigmoid(w * h)
    h.backward()
    return float(x_node.grad)


def _forward_only(x, weights):
    for w in weights:
        x = 1 / (1 + math.exp(-w * x))
    return x


def _slopes_without_weights(x, weights):
    grad = 1.0
    for w in weights:
        x = 1 / (1 + math.exp(-w * x))
        grad *= x * (1 - x)
    return grad


@exercise("08.1", hint="Forward: keep every h_ℓ. Backward: start from 1 and, for ℓ = L down to 1, multiply by "
          "h_ℓ(1 − h_ℓ)·w_ℓ.",
          wrong=[lambda x, weights: 0.25 ** len(weights), _forward_only, _slopes_without_weights,
                 lambda x, weights: math.prod(weights) / 4 ** len(weights)])
def _(answer):
    rng = fresh_random()
    for _ in range(6):
        depth = rng.randint(1, 8)
        weights = [rng.uniform(-3, 3) for _ in range(depth)]
        x = rng.uniform(-2, 2)
        ours = number(call(answer, x, list(weights), what="chain_gradient"), "chain_gradient's result")
        references = [_chain_gradient_by_engine(x, weights)]
        if torch is not None:
            references.append(_chain_gradient_by_torch(x, weights))
        for reference in references:  # the engine's backward(), and PyTorch's
            expect_close(ours, reference, f"∂h_L/∂x for {depth} layer(s) at x = {x:.3f}", rel=1e-9, abs_=1e-15)
    return True


def _clipped_sgd_step_length(gradient: list[float], max_norm: float, lr: float) -> float:
    params = [Value(0.0) for _ in gradient]
    for p, g in zip(params, gradient):
        p.grad = g
    optim.clip_grad_norm_(params, max_norm)
    optim.SGD(params, lr=lr).step()
    return math.sqrt(sum(p.data**2 for p in params))


@exercise("08.2", hint="After clipping the gradient has norm min(250, 1) = 1; an SGD step is lr × gradient.",
          wrong=[0.03 * 250, 1.0, 0.03 / 250, 250.0])
def _(answer):
    length = number(answer)
    rng = fresh_random()
    for _ in range(3):  # a gradient of norm 250 in a random direction, of a random number of parameters
        direction = [rng.gauss(0, 1) for _ in range(rng.randint(2, 12))]
        scale = 250 / math.sqrt(sum(d * d for d in direction))
        gradient = [scale * d for d in direction]
        expect_close(length, _clipped_sgd_step_length(gradient, 1.0, 0.03), "The step length", rel=1e-9)
    return True


@exercise("08.3", hint="σ = √(2/n_in) with n_in = 16.", wrong=[math.sqrt(1 / 16), 2 / 16, math.sqrt(2 / 32), 0.5])
def _(answer):
    sigma = number(answer)
    expect(sigma > 0, "A standard deviation is positive.")
    rng = fresh_random()
    layer = Layer(16, 1024, init="he", rng=rng)  # 16384 weights with fan-in 16, as nn makes them
    weights = [w.data for neuron in layer.neurons for w in neuron.w]
    measured = math.sqrt(sum(w * w for w in weights) / len(weights))
    expect(abs(measured - sigma) < 0.05 * sigma,
           f"He weights with 16 inputs have a standard deviation of about {measured:.3f}, not {sigma:.3f}.")
    return expect_close(sigma, math.sqrt(2 / 16))
