"""Checkers of lesson 09's exercises (see ``course.py`` for what a checker promises)."""

from __future__ import annotations

import math

from course import call, exercise, expect_close, fresh_random, number, numbers

from autograd import Value
from nn import losses

try:  # PyTorch is a second opinion where it is installed (the test extras install it)
    import torch
except ImportError:  # pragma: no cover - the course runs without it
    torch = None


@exercise("09.1", hint="The exponentials are 1, 1 and 2; divide each by their sum.",
          wrong=[(1 / 3, 1 / 3, 1 / 3), (0.0, 0.0, 1.0), (0.25, 0.25, 0.5, 0.0), (0.5, 0.25, 0.25)])
def _(answer):
    probabilities = numbers(answer, 3)
    library = losses.softmax([Value(0.0), Value(0.0), Value(math.log(2))])
    for i, (ours, theirs) in enumerate(zip(probabilities, library)):
        expect_close(ours, theirs.data, f"Probability {i}")
    return True


def _engine_gradient(logits: list[float], target: int) -> list[float]:
    zs = [Value(z) for z in logits]
    losses.cross_entropy(zs, target).backward()
    return [z.grad for z in zs]


def _torch_gradient(logits: list[float], target: int) -> list[float]:
    z = torch.tensor([logits], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.cross_entropy(z, torch.tensor([target])).backward()
    return z.grad[0].tolist()


def _naive(logits, target):
    exps = [math.exp(z) for z in logits]
    return [e / sum(exps) - (i == target) for i, e in enumerate(exps)]


def _softmax_only(logits, target):
    m = max(logits)
    exps = [math.exp(z - m) for z in logits]
    return [e / sum(exps) for e in exps]


def _flipped(logits, target):
    return [-g for g in _softmax_only(logits, target)]


@exercise("09.2", hint="∂loss/∂z_i = p_i − [i = t], with p = softmax(z) computed after subtracting max(z) so that "
          "nothing overflows.",
          wrong=[_naive, _softmax_only, _flipped, lambda logits, target: [0.0] * len(logits)])
def _(answer):
    rng = fresh_random()
    for trial in range(6):
        k = rng.randint(2, 6)
        shift = 900.0 if trial == 5 else 0.0  # logits far beyond exp's range: the max shift is needed
        logits = [shift + rng.uniform(-6, 6) for _ in range(k)]
        target = rng.randrange(k)
        ours = numbers(call(answer, list(logits), target, what="cross_entropy_backward"), k,
                       f"The gradient for {k} logits")
        references = [_engine_gradient(logits, target)]
        if torch is not None:
            references.append(_torch_gradient(logits, target))
        for reference in references:  # the engine's backward(), and PyTorch's
            for i, (g, r) in enumerate(zip(ours, reference)):
                expect_close(g, r, f"∂loss/∂z_{i} ({k} logits{', around 900' if shift else ''}, target {target})",
                             rel=1e-7, abs_=1e-12)
    return True


@exercise("09.3", hint="Equal logits give p = 1/K for every class; the loss is −log p_t.",
          wrong=[0.25, math.log(3), -math.log(4), 4.0])
def _(answer):
    loss = number(answer)
    rng = fresh_random()
    for _ in range(3):  # any common logit, any true class
        logit, target = rng.uniform(-5, 5), rng.randrange(4)
        expect_close(loss, losses.cross_entropy([Value(logit) for _ in range(4)], target).data, "The loss")
    return True
