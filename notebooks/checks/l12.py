"""Checkers of lesson 12's exercises (see ``course.py`` for what a checker promises)."""

from __future__ import annotations

import math

import numpy as np
from course import (
    Wrong,
    array,
    call,
    exercise,
    expect,
    expect_arrays_close,
    expect_close,
    fresh_random,
    items,
    number,
    numbers,
)

from autograd import Value
from nn import RNN

try:  # PyTorch is a second opinion where it is installed (the test extras install it)
    import torch
except ImportError:  # pragma: no cover - the course runs without it
    torch = None


def _engine_step(x, h_prev, w_ih, w_hh, b, dh):
    """(∂L/∂h_prev, ∂L/∂W_ih, ∂L/∂W_hh, ∂L/∂b) for L = Σ dh_j h_j, h = RNN cell(x, h_prev), by the engine."""
    n_h, n_in = len(w_ih), len(x)
    cell = RNN(n_in, n_h)
    state = {f"weight_ih.{j}.{k}": w_ih[j][k] for j in range(n_h) for k in range(n_in)}
    state |= {f"weight_hh.{j}.{k}": w_hh[j][k] for j in range(n_h) for k in range(n_h)}
    state |= {f"bias_ih.{j}": b[j] for j in range(n_h)} | {f"bias_hh.{j}": 0.0 for j in range(n_h)}
    cell.load_state_dict(state)
    h_nodes = [Value(v) for v in h_prev]
    h = cell.cell(x, h_nodes)
    sum((d * hj for d, hj in zip(dh, h)), Value(0.0)).backward()
    return ([v.grad for v in h_nodes], [[w.grad for w in row] for row in cell.weight_ih],
            [[w.grad for w in row] for row in cell.weight_hh], [bj.grad for bj in cell.bias_ih])


def _torch_step(x, h_prev, w_ih, w_hh, b, dh):
    def t(values):
        return torch.tensor(values, dtype=torch.float64, requires_grad=True)

    x_t, h_t, wi, wh, bias = t(x), t(h_prev), t(w_ih), t(w_hh), t(b)
    h = torch.tanh(wi @ x_t + wh @ h_t + bias)
    (h * torch.tensor(dh, dtype=torch.float64)).sum().backward()
    return h_t.grad.tolist(), wi.grad.tolist(), wh.grad.tolist(), bias.grad.tolist()


def _no_tanh_slope(x, h_prev, w_ih, w_hh, b, dh):
    n_h = len(dh)
    return ([sum(w_hh[j][k] * dh[j] for j in range(n_h)) for k in range(n_h)],
            [[dh[j] * xk for xk in x] for j in range(n_h)],
            [[dh[j] * hk for hk in h_prev] for j in range(n_h)], list(dh))


def _untransposed(x, h_prev, w_ih, w_hh, b, dh):
    n_h = len(dh)
    h = [math.tanh(sum(w * v for w, v in zip(w_ih[j], x)) + sum(w * v for w, v in zip(w_hh[j], h_prev)) + b[j])
         for j in range(n_h)]
    da = [d * (1 - hj * hj) for d, hj in zip(dh, h)]
    return ([sum(w_hh[k][j] * da[j] for j in range(n_h)) for k in range(n_h)],  # W_hh·da instead of W_hhᵀ·da
            [[da[j] * xk for xk in x] for j in range(n_h)],
            [[da[j] * hk for hk in h_prev] for j in range(n_h)], da)


@exercise("12.1", hint="Name a = W_ih x + W_hh h_prev + b, so that h = tanh(a). Go back through the tanh first "
          "(one gradient per hidden unit), then through each term of a; dh_prev needs W_hh transposed.",
          wrong=[_no_tanh_slope, _untransposed,
                 lambda x, h_prev, w_ih, w_hh, b, dh: (list(dh), w_ih, w_hh, list(dh))])
def _(answer):
    rng = fresh_random()
    for trial in range(4):
        n_in, n_h = rng.randint(1, 3), rng.randint(2, 4)
        if trial == 0:
            n_in, n_h = 2, 3  # a rectangular W_ih and a W_hh that is not symmetric
        x = [rng.uniform(-1, 1) for _ in range(n_in)]
        h_prev = [rng.uniform(-0.9, 0.9) for _ in range(n_h)]
        w_ih = [[rng.uniform(-1, 1) for _ in range(n_in)] for _ in range(n_h)]
        w_hh = [[rng.uniform(-1, 1) for _ in range(n_h)] for _ in range(n_h)]
        b = [rng.uniform(-0.5, 0.5) for _ in range(n_h)]
        dh = [rng.uniform(-2, 2) for _ in range(n_h)]
        out = call(answer, list(x), list(h_prev), [list(r) for r in w_ih], [list(r) for r in w_hh], list(b),
                   list(dh), what="bptt_step")
        parts = items(out, 4, "What bptt_step returned (dh_prev, dW_ih, dW_hh, db)")
        shapes = ((n_h,), (n_h, n_in), (n_h, n_h), (n_h,))
        names = ("dh_prev", "dW_ih", "dW_hh", "db")
        ours = [array(part, shape, name) for part, shape, name in zip(parts, shapes, names)]
        references = [_engine_step(x, h_prev, w_ih, w_hh, b, dh)]
        if torch is not None:
            references.append(_torch_step(x, h_prev, w_ih, w_hh, b, dh))
        where = f"({n_in} input(s), {n_h} hidden units)"
        for reference in references:  # the engine's backward() through RNN.cell, and PyTorch's
            for name, mine, theirs in zip(names, ours, reference):
                expect_arrays_close(mine, np.array(theirs), f"{name} {where}", rel=1e-9, abs_=1e-12)
    return True


def _shared_weight_gradient(u: float) -> float:
    unit = RNN(1, 1, nonlinearity="relu")
    unit.load_state_dict({"weight_ih.0.0": 1.0, "weight_hh.0.0": u, "bias_ih.0": 0.0, "bias_hh.0": 0.0})
    _, last = unit([[1.0], [1.0], [1.0]])
    last[0].backward()
    return unit.weight_hh[0][0].grad


@exercise("12.2", hint="h_3 = u·(u·1 + 1) + 1 = u² + u + 1.",
          wrong=[lambda u: u * u + u + 1, lambda u: 2 * u, lambda u: 3 * u * u, lambda u: 1.0])
def _(answer):
    rng = fresh_random()
    for _ in range(4):
        u = rng.uniform(0.05, 2.0)
        ours = number(call(answer, u, what="Your function"), f"Your function at u = {u:.3f}")
        expect_close(ours, _shared_weight_gradient(u), f"∂h_3/∂u at u = {u:.3f}", rel=1e-9)
    return True


def _measured_decay() -> float:
    unit = RNN(1, 1)
    unit.load_state_dict({"weight_ih.0.0": 1.0, "weight_hh.0.0": 0.5, "bias_ih.0": 0.0, "bias_hh.0": 0.0})
    outputs, last = unit([[1e-3]] * 11)
    last[0].backward()
    return abs(outputs[0][0].grad) / abs(outputs[-1][0].grad)


@exercise("12.3", hint="One step back multiplies by W_hh·(1 − h²) ≈ 0.5; ten steps back, by that ten times.",
          wrong=[0.5**11, 0.5 * 10, 0.5**9, 2.0**10])
def _(answer):
    return expect_close(number(answer), _measured_decay(), "The ratio", rel=0.01)


def _steps_with_gradient(length: int, chunk: int) -> list[int]:
    net = RNN(1, 3, seed=1)
    h, states, last = None, [], None
    for start in range(0, length, chunk):
        outputs, h = net([[0.5]] * min(chunk, length - start), h)
        states += outputs
        last = h
        h = [v.detach() for v in h]
    sum(last, Value(0.0)).backward()
    return [t for t, out in enumerate(states, start=1) if any(v.grad != 0.0 for v in out)]


@exercise("12.4", hint="The detached state at the start of each chunk is a leaf: the gradient cannot go past it.",
          wrong=[[12], list(range(1, 13)), [9, 10, 11], [10, 11, 12], [8, 9, 10, 11, 12]])
def _(answer):
    expected = _steps_with_gradient(12, 4)
    if getattr(answer, "__len__", None) is None or isinstance(answer, (str, bytes, dict)):
        raise Wrong("The answer should be a list of step numbers.")
    expect(len(answer) == len(expected), f"The list has {len(answer)} steps; that is not how many get a gradient.")
    steps = numbers(answer, len(expected))
    expect(all(s == int(s) for s in steps), "Steps are whole numbers, counted from 1.")
    expect(sorted(int(s) for s in steps) == expected, "Not those steps.")
    return True
