"""``gradcheck``: compare backpropagated gradients with finite differences.

The derivative of ``f`` at ``x`` is the slope of ``f`` there. The *central
difference* estimates it from two evaluations::

    f'(x) ≈ (f(x + ε) - f(x - ε)) / (2ε)

Its error shrinks like ε² (the forward difference ``(f(x + ε) - f(x)) / ε``
only like ε), until ε is so small that rounding in ``f`` dominates; ε = 1e-6
balances the two for double precision. If backpropagation is right, the two
numbers agree to about 1e-8 relative.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

from .no_grad import is_grad_enabled, no_grad
from .value import Value


def gradcheck(
    fn: Callable[..., Value],
    inputs: Sequence[Value],
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> bool:
    """Check ``fn``'s gradients w.r.t. ``inputs`` against central differences.

    ``fn(*inputs)`` must return one ``Value``. Returns ``True`` when, for every
    input, ``|analytic - numeric| <= atol + rtol * |numeric|``; otherwise raises
    ``AssertionError`` listing each mismatching input with both numbers.

    ``eps`` must be a finite number > 0, ``rtol`` and ``atol`` finite numbers
    >= 0 (``TypeError`` or ``ValueError`` naming the argument otherwise). It
    refuses to run inside ``no_grad()``: with recording off there is no graph
    to backpropagate through, and every gradient would read 0.

    The inputs' ``.data`` and ``.grad`` are the same afterwards as before.
    """
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"gradcheck: input {i} is a {type(x).__name__}, not a Value")
    eps = _finite_number("eps", eps, zero_allowed=False)
    rtol = _finite_number("rtol", rtol, zero_allowed=True)
    atol = _finite_number("atol", atol, zero_allowed=True)
    if not is_grad_enabled():
        raise RuntimeError(
            "gradcheck: recording is off (called inside no_grad()), so backward() would find no "
            "graph and report every gradient as 0; call gradcheck outside the no_grad block"
        )

    saved_grads = [x.grad for x in inputs]
    try:
        for x in inputs:
            x.grad = 0.0
        out = fn(*inputs)
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck: fn must return a Value, not {type(out).__name__}")
        out.backward()
        analytic = [x.grad for x in inputs]
    finally:
        for x, g in zip(inputs, saved_grads, strict=True):
            x.grad = g

    mismatches = []
    with no_grad():
        for i, x in enumerate(inputs):
            numeric = _central_difference(fn, inputs, x, eps)
            if not abs(analytic[i] - numeric) <= atol + rtol * abs(numeric):
                name = x.label or f"input {i}"
                mismatches.append(f"{name}: backprop {analytic[i]!r} vs finite difference {numeric!r}")
    if mismatches:
        raise AssertionError("gradcheck failed:\n  " + "\n  ".join(mismatches))
    return True


def _finite_number(name: str, value: object, *, zero_allowed: bool) -> float:
    """``value`` as a float: a real number (not a bool), finite, > 0 (or >= 0 when ``zero_allowed``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"gradcheck: {name} must be a real number, not {type(value).__name__}")
    x = float(value)
    if not (math.isfinite(x) and (x > 0.0 or (zero_allowed and x == 0.0))):
        bound = ">= 0" if zero_allowed else "> 0"
        raise ValueError(f"gradcheck: {name} must be a finite number {bound}, not {x!r}")
    return x


def _central_difference(fn: Callable[..., Value], inputs: list[Value], x: Value, eps: float) -> float:
    """(f(x + ε) - f(x - ε)) / 2ε, leaving ``x.data`` as it was."""
    original = x.data
    try:
        x.data = original + eps
        above = fn(*inputs).data
        x.data = original - eps
        below = fn(*inputs).data
    finally:
        x.data = original
    return (above - below) / (2.0 * eps)
