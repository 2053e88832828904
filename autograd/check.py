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

from collections.abc import Callable, Sequence

from .graph import no_grad
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

    The inputs' ``.data`` and ``.grad`` are the same afterwards as before.
    """
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"gradcheck: input {i} is a {type(x).__name__}, not a Value")
    if not eps > 0:
        raise ValueError(f"gradcheck: eps must be positive, not {eps!r}")

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
