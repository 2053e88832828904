"""The chain rule, one step at a time: :func:`explain`.

``root.backward()`` fills every ``.grad`` in a blink; ``explain(root)`` does the
same backward pass but writes down every step it takes. For an output ``L``, a
node ``out = f(a, b)`` and one of its inputs ``a`` the chain rule reads::

    dL/da  +=  dL/dout  ·  dout/da
    ------      -------     -------
    grad of a   upstream    local derivative
                (out.grad)  (depends on f only)

The backward pass applies that line once for every edge of the graph: nodes in
reverse topological order (everything that uses a node comes before it), and
for each node its first input ``a`` before its second ``b``. Each step is one
row of the table :func:`explain` returns::

    >>> from autograd import Value
    >>> x = Value(3.0, label="x")
    >>> y = x * x
    >>> steps = explain(y, show=False)
    >>> [s.contribution for s in steps]   # seed, then dy/dx = x twice
    [1.0, 3.0, 3.0]
    >>> x.grad                            # 3 + 3: the sum of x's steps
    6.0

Exactness
---------
Adding up a node's ``contribution``\\ s, in table order, gives its ``.grad``
*exactly* (``==``, not approximately), because :func:`explain` does the
engine's arithmetic, not an imitation of it: each local derivative is
evaluated from the operation's one definition (``autograd/operation.py``),
each contribution is ``upstream * local`` as the engine computes it, and the
additions happen in the engine's order. The ``local derivative`` column is
that same definition, written with the graph's own names.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .graph import _in_backward, _intermediate_nodes, gradient_lock, topological_order
from .names import format_number, node_names
from .operation import Operation, substitute
from .value import Value, _Closure

__all__ = ["MAX_ROWS", "Explanation", "Step", "explain", "format_number", "node_names"]


# ============================================================================
# Formulas, from the operations' own expressions
# ============================================================================


def _pretty(expression: str) -> str:
    """An expression as a reader writes it: ``math.exp(x)`` → ``exp(x)``, ``1.0`` → ``1``."""
    expression = expression.replace("math.", "")
    expression = re.sub(r"(?<![\w.])_(?=[A-Za-z])", "", expression)  # helper names: _sigmoid → sigmoid
    return re.sub(r"(?<![\w.])(\d+)\.0(?![\d\w])", r"\1", expression)


def _symbols(node: Value, names: dict[Value, str], digits: int = 4) -> dict[str, str]:
    """Each name in ``node``'s operation → the graph's name for that input, or the constant's number."""
    operation = _definition(node)
    symbols = {"out": names[node]}
    if operation.nary:
        symbols["xs"] = ", ".join(names[p] for p in node.parents)
        return symbols
    for name, parent in zip(operation.value_inputs, node.parents, strict=True):
        symbols[name] = names[parent]
    for name, number in zip(operation.stored_numbers, node.constants, strict=True):
        symbols[name] = format_number(number, digits)
    return symbols


def _definition(node: Value) -> Operation:
    """The :class:`Operation` that made ``node`` (an intermediate result the engine made)."""
    operation = node.operation
    if isinstance(operation, _Closure):
        raise operation.refuse("explain")
    if operation is None:
        raise ValueError(f"{node!r} is a leaf: no operation made it")
    return operation


def expression(node: Value, names: dict[Value, str], digits: int = 4) -> str:
    """How ``node`` was computed, with names: ``v3 = x * w``, ``o = tanh(n)``, ``v5 = 2 - x``."""
    operation = node.operation
    if operation is None:
        return names[node]
    if isinstance(operation, _Closure):  # made the lecture's way: its name and parents are all to show
        parents = [names[p] for p in node.parents]
        if len(parents) == 2 and operation.name in ("+", "-", "*", "/", "**"):
            return f"{names[node]} = {parents[0]} {operation.name} {parents[1]}"
        return f"{names[node]} = {operation.name}({', '.join(parents)})"
    shown = substitute(operation.shown, _symbols(node, names, digits))
    return f"{names[node]} = {_pretty(shown)}"


def _formulas(node: Value, names: dict[Value, str]) -> list[str]:
    """d(node)/d(parent) for each parent, as the operation defines it, in the graph's names."""
    operation = _definition(node)
    symbols = _symbols(node, names)
    if operation.nary:
        derivative = operation.derivatives["x"]
        if derivative is None:
            return []
        return [_pretty(substitute(derivative, {**symbols, "x": names[p]})) for p in node.parents]
    derivatives = (operation.derivatives[v] for v in operation.value_inputs)
    # A forward-only input (detach's) gets no step.
    return [_pretty(substitute(d, symbols)) for d in derivatives if d is not None]


# ============================================================================
# The steps
# ============================================================================


@dataclass(frozen=True)
class Step:
    """One application of the chain rule: ``d(root)/d(parent) += upstream · local``.

    ``node`` is the result of an operation and ``parent`` one of its inputs
    (``node.parents``); ``upstream`` is d(root)/d(node) (``node.grad``),
    ``local`` is d(node)/d(parent), ``formula`` says how ``local`` is computed,
    and ``contribution`` is the number added to ``parent.grad``, which went from
    ``grad_before`` to ``grad_after``.

    The first step of every explanation is the *seed*, d(root)/d(root) = 1: there
    ``node`` and ``parent`` are both the root and ``op`` is ``""``.
    """

    index: int
    node: Value
    parent: Value
    node_name: str
    parent_name: str
    op: str
    expression: str
    formula: str
    upstream: float
    local: float
    contribution: float
    grad_before: float
    grad_after: float

    @property
    def is_seed(self) -> bool:
        """True for the first step, d(root)/d(root) = 1."""
        return self.op == ""

    def chain_rule(self, root_name: str) -> str:
        """The step as an equation: ``d(L)/d(x) += d(L)/d(v3) · d(v3)/d(x)``."""
        if self.is_seed:
            return f"d({root_name})/d({root_name}) = 1"
        r, n, p = root_name, self.node_name, self.parent_name
        return f"d({r})/d({p}) += d({r})/d({n}) · d({n})/d({p})"


_COLUMNS = ("#", "chain rule", "operation", "local derivative", "upstream", "local", "contribution", "grad")


_KEY = (
    "local derivative: d(node)/d(input), written with the graph's names; "
    "contribution = upstream · local, the number added to the input's grad"
)


#: How many steps a printed or displayed table shows: the first and the last half of them, and a line
#: saying how many are left out between (a training loss has ~10 steps per weight and sample: the
#: moons demo's printed 28.8 MB). ``explanation.table(max_rows=None)`` writes every step.
MAX_ROWS = 200


class Explanation(list):
    """The steps of one backward pass: a ``list`` of :class:`Step`.

    Prints as an aligned text table and shows as an HTML table in a notebook;
    past :data:`MAX_ROWS` steps, the table shows the first and the last steps
    and how many it leaves out (``table(max_rows=None)`` shows all). The list
    always holds every step. ``steps_for(v)`` are the steps that added to
    ``v.grad``; ``total(v)`` adds them up the way the engine did and equals
    ``v.grad``.
    """

    def __init__(self, root: Value, names: dict[Value, str], steps: Iterable[Step], digits: int = 6):
        super().__init__(steps)
        self.root = root
        self.names = names
        self.digits = digits

    def steps_for(self, value: Value) -> list[Step]:
        """The steps whose contribution went into ``value.grad``, in order."""
        return [s for s in self if s.parent is value]

    def total(self, value: Value) -> float:
        """``value``'s gradient before the pass plus its contributions, summed in order."""
        steps = self.steps_for(value)
        if not steps:
            raise ValueError(f"{self.names.get(value, repr(value))} receives no step in this explanation")
        total = steps[0].grad_before
        for s in steps:
            total += s.contribution
        return total

    def _shown(self, max_rows: int | None) -> tuple[list[Step], list[Step], int]:
        """The steps a table shows, first and last, and how many it leaves out between them."""
        if max_rows is None or len(self) <= max_rows:
            return list(self), [], 0
        head = max_rows - max_rows // 2
        tail = max_rows // 2
        return self[:head], self[len(self) - tail :] if tail else [], len(self) - max_rows

    def _row(self, s: Step) -> tuple[str, ...]:
        """One step as the table's cells."""

        def num(x: float) -> str:
            return format_number(x, self.digits)

        return (
            str(s.index),
            s.chain_rule(self.names[self.root]),
            s.expression,
            s.formula,
            "" if s.is_seed else num(s.upstream),
            "" if s.is_seed else num(s.local),
            num(s.contribution),
            num(s.grad_after),
        )

    def table(self, max_rows: int | None = MAX_ROWS) -> str:
        """The steps as an aligned text table (``None``: every step, however many)."""
        head, tail, hidden = self._shown(max_rows)
        head_rows, tail_rows = [self._row(s) for s in head], [self._row(s) for s in tail]
        rows = [_COLUMNS, *head_rows, *tail_rows]
        widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
        numeric = {0, 4, 5, 6, 7}  # right-aligned columns

        def line(row: tuple[str, ...]) -> str:
            cells = (
                cell.rjust(w) if i in numeric else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            return "  ".join(cells).rstrip()

        rule = "  ".join("-" * w for w in widths)
        gap = [_not_shown(hidden)] if hidden else []
        return "\n".join([line(_COLUMNS), rule, *map(line, head_rows), *gap, *map(line, tail_rows), _KEY])

    def __str__(self) -> str:
        return self.table()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head, tail, hidden = self._shown(MAX_ROWS)

        def rows(steps: list[Step]) -> str:
            return "".join(
                "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in self._row(s)) + "</tr>"
                for s in steps
            )

        gap = ""
        if hidden:
            gap = f'<tr><td colspan="{len(_COLUMNS)}">{html.escape(_not_shown(hidden))}</td></tr>'
        columns = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS)
        caption = f"<caption>{html.escape(_KEY)}</caption>"
        body = rows(head) + gap + rows(tail)
        return f"<table>{caption}<thead><tr>{columns}</tr></thead><tbody>{body}</tbody></table>"


def _not_shown(hidden: int) -> str:
    return (
        f"… {hidden:,} steps not shown (the Explanation holds them all: "
        "steps[i], steps_for(v), table(max_rows=None)) …"
    )


def explain(root: Value, show: bool = True, names: dict[Value, str] | None = None) -> Explanation:
    """Run the backward pass from ``root`` and return (and print) every step.

    This *is* a backward pass: afterwards every ``.grad`` is what
    ``root.backward()`` would have left, including its accumulation rule
    (leaves add to the gradient they already held, every other node starts
    from zero). Call it instead of ``root.backward()``, not after it, unless
    you want the leaves' gradients doubled. ``show=False`` only returns the
    :class:`Explanation` (in a notebook, its HTML table is then displayed).
    Past :data:`MAX_ROWS` steps the printed table is cut in the middle (it
    says how many steps it leaves out); the returned list keeps them all.
    ``names`` maps nodes to the names to write (default: :func:`node_names`,
    as the pictures use; ``autograd.viz.picture_names`` names a model's nodes).

    The steps come in the engine's order: the seed d(root)/d(root) = 1, then
    the nodes in reverse topological order, for each node its inputs in order
    (a node used twice, as in ``x * x``, gets two steps).
    """
    if not isinstance(root, Value):
        raise TypeError(f"explain expects a Value, not {type(root).__name__}")
    if not isinstance(show, bool):
        raise TypeError(f"show must be True or False, not {show!r}")
    order = topological_order(root)
    for node in order:
        if node.operation is not None:
            _definition(node)  # a node made the lecture's way is refused, before anything changes
    names = node_names(order) if names is None else {**node_names(order), **names}

    with gradient_lock:  # a backward pass: one at a time (see autograd.graph.backward)
        # The nodes backward() walks, in its order (not past a detach): intermediate results start from zero.
        walked = _intermediate_nodes(root)
        for node in walked:
            node.grad = 0.0
        before = root.grad
        root.grad += 1.0
        name = names[root]
        steps = [Step(0, root, root, name, name, "", name, "1 (seed)", 1.0, 1.0, 1.0, before, root.grad)]
        for node in reversed(walked):
            operation = _definition(node)
            g = node.grad
            try:
                local = operation.local_derivatives(node)
                added = operation.contributions(node, g)  # what backward() adds: g * local, or g / d
            except ArithmeticError as error:
                raise _in_backward(error, node) from error
            expr = expression(node, names)
            receivers = operation.gradient_parents(node)
            for parent, formula, d, contribution in zip(
                receivers, _formulas(node, names), local, added, strict=True
            ):
                grad_before = parent.grad
                parent.grad = grad_before + contribution
                steps.append(
                    Step(
                        index=len(steps),
                        node=node,
                        parent=parent,
                        node_name=names[node],
                        parent_name=names[parent],
                        op=node.op,
                        expression=expr,
                        formula=formula,
                        upstream=g,
                        local=d,
                        contribution=contribution,
                        grad_before=grad_before,
                        grad_after=parent.grad,
                    )
                )
    result = Explanation(root, names, steps)
    if show:
        print(result)
    return result
