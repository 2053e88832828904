"""Names and numbers shared by everything that shows a graph: tables, pictures, pages.

A leaf module: it knows only what a node exposes (``label``, ``op``,
``constant``), so ``explain``, ``viz`` and ``walkthrough`` name every node the
same way and print every number the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .operation import Operation

if TYPE_CHECKING:
    from .value import Value

__all__ = ["format_number", "node_names", "op_label"]


def format_number(x: float, digits: int = 4) -> str:
    """``x`` with ``digits`` significant digits: ``2``, ``-0.5``, ``0.0001234``, ``1.5e+08``."""
    return f"{x:.{digits}g}"


def node_names(order: Iterable[Value]) -> dict[Value, str]:
    """A unique, stable name for every node of ``order`` (a topological order).

    A node's ``label`` is its name when no other node has the same label; a
    label used by several nodes gets ``#1``, ``#2``, ... in order. An unlabelled
    node is called ``v{i}``, ``i`` being its position in the topological order,
    so the same graph always gets the same names (and the pictures of
    ``autograd.viz`` use the same names as the tables of :func:`explain`).
    """
    order = list(order)
    counts: dict[str, int] = {}
    for node in order:
        if node.label:
            counts[node.label] = counts.get(node.label, 0) + 1
    taken = {label for label, n in counts.items() if n == 1}
    seen: dict[str, int] = {}
    names: dict[Value, str] = {}
    for node in order:
        label = node.label
        if label and counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            name = f"{label}#{seen[label]}"
            taken.add(name)
            names[node] = name
        elif label:
            names[node] = label
    for i, node in enumerate(order):
        if node not in names:
            name = f"v{i}"
            while name in taken:  # a user labelled some other node "v3"
                name += "'"
            taken.add(name)
            names[node] = name
    return names


def op_label(node: Value) -> str:
    """The operation of ``node`` as a short label: ``*``, ``tanh``, with its constants where it has
    some, on the side they were written: ``* 2``, ``2 -`` (for ``2 - x``), ``clamp -1, 1``."""
    operation = node.operation
    if operation is None:
        return ""
    numbers = node.constants
    if not numbers or not isinstance(operation, Operation):  # a lecture-style node: its name only
        return operation.name
    text = ", ".join(format_number(c) for c in numbers)
    constant_first = operation.inputs[0] in operation.constants
    return f"{text} {operation.name}" if constant_first else f"{operation.name} {text}"
