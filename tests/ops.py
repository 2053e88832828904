"""Every operation of ``Value`` once, as a pair of functions: our engine and PyTorch.

The tests use this table to check each operation's value and gradient against
PyTorch (float64) and against finite differences, at ordinary points and at
the edge points where a derivative needs a convention (relu and abs at 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from autograd import apply, logsumexp
from autograd.value import BINARY_CROSS_ENTROPY, BINARY_CROSS_ENTROPY_WITH_LOGITS


def _t(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64)


@dataclass(frozen=True)
class Op:
    """One operation: ``ours(*values)`` and ``theirs(*tensors)`` compute the same thing."""

    name: str
    arity: int
    ours: Callable
    theirs: Callable
    points: tuple[tuple[float, ...], ...]  # inputs to test at, edge cases included
    smooth: bool = True  # False where finite differences straddle a kink


OPS: list[Op] = [
    Op("add", 2, lambda a, b: a + b, lambda a, b: a + b, ((1.5, -2.0), (0.0, 0.0))),
    Op("add_const", 1, lambda a: a + 2.5, lambda a: a + 2.5, ((1.5,), (-3.0,))),
    Op("radd_const", 1, lambda a: 2.5 + a, lambda a: 2.5 + a, ((1.5,),)),
    Op("sub", 2, lambda a, b: a - b, lambda a, b: a - b, ((1.5, -2.0), (3.0, 3.0))),
    Op("sub_const", 1, lambda a: a - 2.5, lambda a: a - 2.5, ((1.5,),)),
    Op("rsub_const", 1, lambda a: 2.5 - a, lambda a: 2.5 - a, ((1.5,),)),
    Op("neg", 1, lambda a: -a, lambda a: -a, ((1.5,), (0.0,))),
    Op("mul", 2, lambda a, b: a * b, lambda a, b: a * b, ((1.5, -2.0), (0.0, 4.0))),
    Op("mul_const", 1, lambda a: a * -3.0, lambda a: a * -3.0, ((1.5,),)),
    Op("rmul_const", 1, lambda a: -3.0 * a, lambda a: -3.0 * a, ((1.5,),)),
    Op("square_same_node", 1, lambda a: a * a, lambda a: a * a, ((1.5,), (-0.7,))),
    Op("div", 2, lambda a, b: a / b, lambda a, b: a / b, ((1.5, -2.0), (-3.0, 0.25))),
    Op("div_const", 1, lambda a: a / 4.0, lambda a: a / 4.0, ((1.5,),)),
    Op("rdiv_const", 1, lambda a: 3.0 / a, lambda a: 3.0 / a, ((1.5,), (-0.5,))),
    Op("pow_int", 1, lambda a: a**3, lambda a: a**3, ((1.5,), (-2.0,), (0.0,))),
    Op("pow_frac", 1, lambda a: a**2.5, lambda a: a**2.5, ((1.5,), (0.3,))),
    Op("pow_neg", 1, lambda a: a**-1.5, lambda a: a**-1.5, ((1.5,), (0.3,))),
    Op("pow_value", 2, lambda a, b: a**b, lambda a, b: a**b, ((1.5, 2.2), (0.7, -1.3))),
    Op("rpow", 1, lambda a: 2.0**a, lambda a: 2.0**a, ((1.5,), (-3.0,))),
    Op("sqrt", 1, lambda a: a.sqrt(), torch.sqrt, ((2.0,), (0.01,))),
    Op("exp", 1, lambda a: a.exp(), torch.exp, ((1.5,), (-700.0,), (700.0,))),
    Op("log", 1, lambda a: a.log(), torch.log, ((1.5,), (1e-300,), (1e300,))),
    Op("tanh", 1, lambda a: a.tanh(), torch.tanh, ((0.5,), (-3.0,), (1000.0,), (-1000.0,), (20.0,))),
    Op(
        "sigmoid",
        1,
        lambda a: a.sigmoid(),
        torch.sigmoid,
        ((0.5,), (-3.0,), (1000.0,), (-1000.0,), (-40.0,), (40.0,)),
    ),
    Op("relu", 1, lambda a: a.relu(), torch.relu, ((1.5,), (-1.5,), (0.0,)), smooth=False),
    Op(
        "leaky_relu",
        1,
        lambda a: a.leaky_relu(0.1),
        lambda a: F.leaky_relu(a, 0.1),
        ((1.5,), (-1.5,), (0.0,)),
        smooth=False,
    ),
    Op(
        "leaky_relu_default",
        1,
        lambda a: a.leaky_relu(),
        F.leaky_relu,
        ((1.5,), (-1.5,)),
    ),
    Op("abs", 1, abs, torch.abs, ((1.5,), (-1.5,), (0.0,)), smooth=False),
    Op("sin", 1, lambda a: a.sin(), torch.sin, ((0.5,), (-3.0,), (100.0,))),
    Op("cos", 1, lambda a: a.cos(), torch.cos, ((0.5,), (-3.0,), (100.0,))),
    Op("log1p", 1, lambda a: a.log1p(), torch.log1p, ((0.5,), (-0.5,), (1e-10,), (1e10,))),
    Op("softplus", 1, lambda a: a.softplus(), F.softplus, ((0.5,), (-3.0,), (15.0,), (-40.0,))),
    Op(
        "clamp",
        1,
        lambda a: a.clamp(-1.0, 2.0),
        lambda a: torch.clamp(a, -1.0, 2.0),
        ((0.5,), (-3.0,), (5.0,), (-1.0,), (2.0,)),
        smooth=False,
    ),
    Op("clamp_low", 1, lambda a: a.clamp(low=0.5), lambda a: torch.clamp(a, min=0.5), ((1.5,), (-3.0,))),
    Op("clamp_high", 1, lambda a: a.clamp(high=0.5), lambda a: torch.clamp(a, max=0.5), ((1.5,), (-3.0,))),
    Op(
        "maximum",
        2,
        lambda a, b: a.maximum(b),
        torch.maximum,
        ((1.5, -2.0), (-1.0, 3.0), (2.0, 2.0)),
        smooth=False,
    ),
    Op(
        "minimum",
        2,
        lambda a, b: a.minimum(b),
        torch.minimum,
        ((1.5, -2.0), (-1.0, 3.0), (2.0, 2.0)),
        smooth=False,
    ),
    Op(
        "maximum_const",
        1,
        lambda a: a.maximum(0.5),
        lambda a: torch.maximum(a, _t(0.5)),
        ((1.5,), (-2.0,), (0.5,)),
        smooth=False,
    ),
    Op(
        "rminimum_const",
        1,
        lambda a: a._rminimum(0.5),
        lambda a: torch.minimum(_t(0.5), a),
        ((1.5,), (-2.0,)),
    ),
    Op(
        "logsumexp",
        3,
        lambda a, b, c: logsumexp([a, b, c]),
        lambda a, b, c: torch.logsumexp(torch.stack([a, b, c]), 0),
        ((0.5, -1.0, 2.0), (1000.0, 1000.0, -1000.0), (0.0, 0.0, 0.0), (-3.0, 40.0, 7.0)),
    ),
    # x · detach(x): forward x², but only the first factor carries the gradient (x, not 2x).
    Op("detach", 1, lambda a: a * a.detach(), lambda a: a * a.detach(), ((1.5,), (-2.0,)), smooth=False),
    Op(
        "binary_cross_entropy",
        1,
        lambda p: apply(BINARY_CROSS_ENTROPY, p, 0.3),
        lambda p: F.binary_cross_entropy(p, _t(0.3)),
        ((0.2,), (0.9,), (1e-5,)),
    ),
    Op(
        "binary_cross_entropy_at_0_and_1",
        1,
        lambda p: apply(BINARY_CROSS_ENTROPY, p, 1.0),
        lambda p: F.binary_cross_entropy(p, _t(1.0)),
        ((0.0,), (1.0,), (1e-50,)),
        smooth=False,
    ),
    Op(
        "binary_cross_entropy_with_logits",
        1,
        lambda x: apply(BINARY_CROSS_ENTROPY_WITH_LOGITS, x, 0.3),
        lambda x: F.binary_cross_entropy_with_logits(x, _t(0.3)),
        ((0.5,), (-3.0,), (0.0,), (40.0,), (-40.0,)),
    ),
]


def close(ours: float, theirs: float, rel: float = 1e-12, abs_: float = 1e-300) -> bool:
    """Equal within ``rel`` relative error; NaN equals NaN and infinities must match."""
    if math.isnan(theirs) or math.isnan(ours):
        return math.isnan(theirs) and math.isnan(ours)
    if math.isinf(theirs) or math.isinf(ours):
        return ours == theirs
    return abs(ours - theirs) <= rel * abs(theirs) + abs_
