"""Checking arguments: one place for the checks several modules share."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

from autograd import Value

__all__ = ["distinct_values", "finite_float", "int_at_least", "leaf_parameters", "value_list"]


def finite_float(number: object, where: str, type_error: type[Exception] = TypeError) -> float:
    """``number`` as a Python ``float`` if it is a finite real number; else a clear error naming ``where``.

    Accepted: ``int``, ``float``, and anything registered as a real number
    (NumPy scalars such as ``np.float32`` or ``np.int64``, ``Fraction``). The
    result is always a Python ``float``, so a NumPy ``float32`` never slips
    into a graph and silently lowers its precision. Refused: ``bool`` (a
    flag, not a weight), anything else (``type_error``, TypeError unless the
    caller documents another), a number too large for a float such as
    ``10**400`` (``OverflowError``), and NaN or ±inf (``ValueError``).

    >>> finite_float(3, "w")
    3.0
    >>> finite_float(10**400, "state_dict['w']")
    Traceback (most recent call last):
    ...
    OverflowError: state_dict['w'] is 100000…000 (401 digits), too large for a float (at most about 1.8e308)
    """
    if isinstance(number, bool) or not isinstance(number, numbers.Real):
        raise type_error(f"{where} must be a real number, not {type(number).__name__}")
    try:
        x = float(number)
    except OverflowError:
        raise OverflowError(
            f"{where} is {_short_text(number)}, too large for a float (at most about 1.8e308)"
        ) from None
    if not math.isfinite(x):
        raise ValueError(f"{where} is {x!r}, not a finite number")
    return x


def _short_text(number: object) -> str:
    """A huge number as a few of its digits and its length (Python will not print over 4300 digits)."""
    try:
        text = str(number)
    except ValueError:  # Python converts at most 4300 digits (sys.set_int_max_str_digits)
        return "an integer of more digits than Python converts to text"
    if len(text) <= 24:
        return text
    unit = "digits" if text.lstrip("-").isdigit() else "characters"
    return f"{text[:6]}…{text[-3:]} ({len(text.lstrip('-'))} {unit})"


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


def value_list(items: object, who: str, single: bool = False) -> list[Value]:
    """``items`` (an iterable of ``Value``\\ s, consumed once) as a list; with ``single``, one ``Value`` too.

    ``TypeError`` for a non-iterable or an item that is not a ``Value``, and,
    without ``single``, for a single ``Value`` (``model.parameters()`` was
    meant). Messages start with ``who``.
    """
    if isinstance(items, Value):
        if single:
            return [items]
        raise TypeError(f"{who} takes an iterable of Values (e.g. model.parameters()), not a single Value")
    if not isinstance(items, Iterable):
        accepted = "a Value or an iterable of Values" if single else "an iterable of Values"
        raise TypeError(f"{who} takes {accepted}, not {type(items).__name__}")
    items = list(items)
    for i, p in enumerate(items):
        if not isinstance(p, Value):
            raise TypeError(f"{who}: parameter {i} is a {type(p).__name__}, not a Value")
    return items


def distinct_values(params: object, who: str) -> list[Value]:
    """``params`` as a list (see :func:`value_list`) in which no ``Value`` repeats.

    ``ValueError`` for a repeated one (it would be updated twice per step).
    """
    params = value_list(params, who)
    if len({id(p) for p in params}) != len(params):
        raise ValueError(f"{who}: a parameter appears more than once (it would be updated twice per step)")
    return params


def leaf_parameters(params: object, who: str) -> list[Value]:
    """``params`` as a list of distinct leaves (see :func:`distinct_values`): what an optimizer may update.

    ``ValueError`` for a ``Value`` an operation produced (``Value(1.0) * 2``),
    as PyTorch refuses ("can't optimize a non-leaf Tensor"): ``backward()``
    sets such a node's ``.grad`` afresh and the next forward pass recomputes
    its ``.data`` from its parents, so a step written into it would be lost.
    Optimize the leaf it came from, or ``v.detach()`` (a new leaf).
    """
    params = distinct_values(params, who)
    for i, p in enumerate(params):
        if not p.is_leaf:
            raise ValueError(
                f"{who}: parameter {i} is not a leaf but the result of the operation {p.op!r} "
                "(can't optimize a non-leaf Value, as in PyTorch): pass the Values it was computed "
                "from, or v.detach() for a new leaf"
            )
    return params
