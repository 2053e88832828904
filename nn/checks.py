"""Checking arguments: one place for the checks several modules share."""

from __future__ import annotations

import numbers
from collections.abc import Iterable

from autograd import Value

__all__ = ["distinct_values", "int_at_least"]


def int_at_least(value: object, name: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is a whole number ``>= minimum``.

    ``TypeError`` for anything but an integer (``bool`` is not a count, nor is
    ``2.0``), ``ValueError`` for one that is too small; both name the argument.
    """
    wanted = "a positive int" if minimum == 1 else "an int"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {wanted}, not {type(value).__name__}")
    if value < minimum:
        limit = "a positive int" if minimum == 1 else f"at least {minimum}"
        raise ValueError(f"{name} must be {limit}, not {value!r}")
    return int(value)


def distinct_values(params: object, who: str) -> list[Value]:
    """``params`` (an iterable of ``Value``\\ s, consumed once) as a list in which no ``Value`` repeats.

    ``TypeError`` for a single ``Value`` (``model.parameters()`` was meant), a
    non-iterable, or an item that is not a ``Value``; ``ValueError`` for a
    repeated one (it would be updated twice per step). Messages start with ``who``.
    """
    if isinstance(params, Value):
        raise TypeError(f"{who} takes an iterable of Values (e.g. model.parameters()), not a single Value")
    if not isinstance(params, Iterable):
        raise TypeError(f"{who} takes an iterable of Values, not {type(params).__name__}")
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"{who}: parameter {i} is a {type(p).__name__}, not a Value")
    if len({id(p) for p in params}) != len(params):
        raise ValueError(f"{who}: a parameter appears more than once (it would be updated twice per step)")
    return params
