"""Checking arguments: one place for the checks several modules share."""

from __future__ import annotations

import numbers

__all__ = ["int_at_least"]


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
