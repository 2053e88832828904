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
*exactly* (``==``, not approximately). Floating-point addition is not
associative, so this needs two things: the additions happen in the engine's
order, and each contribution is the very number the engine adds (``(g·out)/b``
and ``g·(out/b)`` can differ in the last bit). So :func:`explain` does not
recompute the numbers: it calls the engine's own backward function for every
node, with each input's ``.grad`` temporarily replaced by a :class:`_Tally`, a
``float`` that remembers every number added to (or subtracted from) it. The
contributions are those numbers; ``b.grad -= x`` is the contribution ``-x``
(subtracting equals adding the negation, exactly).

The table of rules below supplies what the engine does not say: the local
derivative's formula and its value (the ``local`` column); ``upstream · local``
equals the contribution up to rounding.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import value as _value
from .graph import topological_order
from .names import format_number, node_names
from .value import Value

__all__ = ["Explanation", "Step", "explain", "format_number", "node_names"]


# ============================================================================
# The rules: for each operation and each input, the local derivative
# ============================================================================

# ``n`` is the node ``out``; ``a`` and ``b`` its inputs (``n._a``, ``n._b``); ``c``
# the constant of an operation with a plain number (stored in ``n._b``).
Local = Callable[[Value], float]


@dataclass(frozen=True)
class _Rule:
    """How ``out`` depends on one input: d(out)/d(input) as a formula, and as a number."""

    formula: str
    local: Local


def _one(n: Value) -> float:
    return 1.0


def _minus_one(n: Value) -> float:
    return -1.0


def _relu_local(n: Value) -> float:
    return 1.0 if n.data > 0.0 else 0.0


def _abs_local(n: Value) -> float:
    x = n._a.data
    return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0


def _pow_exponent_local(n: Value) -> float:
    """d(a^b)/db = a^b · ln a for a > 0; 0 at a = 0 (PyTorch's convention); NaN for a < 0."""
    a = n._a.data
    return n.data * math.log(a) if a > 0.0 else math.nan if a < 0.0 else 0.0


def _rpow_local(n: Value) -> float:
    """d(c^a)/da = c^a · ln c for c > 0; 0 for c = 0; NaN for c < 0."""
    c = n._b
    return n.data * math.log(c) if c > 0.0 else math.nan if c < 0.0 else 0.0


_ADD = _Rule("1", _one)
_SUBTRACTED = _Rule("-1", _minus_one)

# backward function -> one rule per input, in the engine's order (a, then b).
_RULES: dict[Callable, tuple[_Rule, ...]] = {
    _value._add_backward: (_ADD, _ADD),
    _value._add_const_backward: (_ADD,),
    _value._sub_backward: (_ADD, _SUBTRACTED),
    _value._sub_const_backward: (_ADD,),
    _value._rsub_const_backward: (_SUBTRACTED,),
    _value._neg_backward: (_SUBTRACTED,),
    _value._mul_backward: (
        _Rule("b", lambda n: n._b.data),
        _Rule("a", lambda n: n._a.data),
    ),
    _value._mul_const_backward: (_Rule("c", lambda n: n._b),),
    _value._div_backward: (
        _Rule("1/b", lambda n: 1.0 / n._b.data),
        _Rule("-a/b² = -out/b", lambda n: -n.data / n._b.data),
    ),
    _value._div_const_backward: (_Rule("1/c", lambda n: 1.0 / n._b),),
    _value._rdiv_const_backward: (_Rule("-c/a² = -out/a", lambda n: -n.data / n._a.data),),
    _value._pow_backward: (
        _Rule("b·a^(b-1)", lambda n: _value._power_slope(n._a.data, n._b.data)),
        _Rule("a^b·ln a", _pow_exponent_local),
    ),
    _value._pow_const_backward: (_Rule("c·a^(c-1)", lambda n: _value._power_slope(n._a.data, n._b)),),
    _value._rpow_const_backward: (_Rule("c^a·ln c", _rpow_local),),
    _value._sqrt_backward: (
        _Rule("1/(2√a) = 0.5/out", lambda n: 0.5 / n.data if n.data != 0.0 else math.inf),
    ),
    _value._exp_backward: (_Rule("exp a = out", lambda n: n.data),),
    _value._log_backward: (_Rule("1/a", lambda n: 1.0 / n._a.data),),
    _value._tanh_backward: (_Rule("1 - tanh² = (1-out)(1+out)", lambda n: (1.0 - n.data) * (1.0 + n.data)),),
    _value._sigmoid_backward: (
        _Rule("sigmoid·(1 - sigmoid) = out·(1-out)", lambda n: n.data * (1.0 - n.data)),
    ),
    _value._relu_backward: (_Rule("1 if a > 0 else 0", _relu_local),),
    _value._leaky_relu_backward: (
        _Rule("1 if a > 0 else slope", lambda n: 1.0 if n._a.data > 0.0 else n._b),
    ),
    _value._abs_backward: (_Rule("sign(a)", _abs_local),),
    _value._sin_backward: (_Rule("cos a", lambda n: math.cos(n._a.data)),),
    _value._cos_backward: (_Rule("-sin a", lambda n: -math.sin(n._a.data)),),
}

# Operations whose constant comes first: ``2 - x``, ``2 / x``, ``2 ** x``.
CONSTANT_FIRST = frozenset(
    {_value._rsub_const_backward, _value._rdiv_const_backward, _value._rpow_const_backward}
)
_INFIX = frozenset({"+", "-", "*", "/", "**"})


def _rules_for(node: Value) -> tuple[_Rule, ...]:
    rules = _RULES.get(node._backward)
    if rules is None:
        name = getattr(node._backward, "__name__", repr(node._backward))
        raise ValueError(
            f"explain: no chain-rule entry for operation {node.op!r} (backward function {name}); "
            "add one to autograd.explain._RULES"
        )
    return rules


def expression(node: Value, names: dict[Value, str], digits: int = 4) -> str:
    """How ``node`` was computed, with names: ``v3 = x * w``, ``o = tanh(n)``, ``v5 = 2 - x``."""
    op = node.op
    if not op:
        return names[node]
    operands = [names[p] for p in node.parents]
    if node.constant is not None:
        c = format_number(node.constant, digits)
        if node._backward in CONSTANT_FIRST:
            operands.insert(0, c)
        else:
            operands.append(c)
    if op in _INFIX and len(operands) == 2:
        body = f"{operands[0]} {op} {operands[1]}"
    elif op == "neg":
        body = f"-{operands[0]}"
    else:
        body = f"{op}({', '.join(operands)})"
    return f"{names[node]} = {body}"


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


# The letters of a rule's formula: a whole-word a, b, c or out (not the a in "tanh").
_SYMBOL = re.compile(r"(?<![A-Za-z_])(out|a|b|c)(?![A-Za-z_])")


def _with_names(formula: str, node: Value, names: dict[Value, str]) -> str:
    """The formula in the graph's own names: ``b`` of ``v2 = x * w`` becomes ``w``."""
    symbols = {"a": names[node._a], "out": names[node]}
    b = node._b
    if isinstance(b, Value):
        symbols["b"] = names[b]
    elif node.constant is not None:
        symbols["c"] = format_number(node.constant)
    return _SYMBOL.sub(lambda m: symbols.get(m.group(1), m.group(1)), formula)


_COLUMNS = ("#", "chain rule", "operation", "local derivative", "upstream", "local", "contribution", "grad")


_KEY = (
    "local derivative: d(node)/d(input), written with the graph's names; "
    "contribution = upstream · local, the number added to the input's grad"
)


class Explanation(list):
    """The steps of one backward pass: a ``list`` of :class:`Step`.

    Prints as an aligned text table and shows as an HTML table in a notebook.
    ``steps_for(v)`` are the steps that added to ``v.grad``; ``total(v)`` adds
    them up the way the engine did and equals ``v.grad``.
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

    def _rows(self) -> list[tuple[str, ...]]:
        root_name = self.names[self.root]

        def num(x: float) -> str:
            return format_number(x, self.digits)

        rows = []
        for s in self:
            rows.append(
                (
                    str(s.index),
                    s.chain_rule(root_name),
                    s.expression,
                    s.formula,
                    "" if s.is_seed else num(s.upstream),
                    "" if s.is_seed else num(s.local),
                    num(s.contribution),
                    num(s.grad_after),
                )
            )
        return rows

    def __str__(self) -> str:
        rows = [_COLUMNS, *self._rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
        numeric = {0, 4, 5, 6, 7}  # right-aligned columns

        def line(row: tuple[str, ...]) -> str:
            cells = (
                cell.rjust(w) if i in numeric else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            return "  ".join(cells).rstrip()

        rule = "  ".join("-" * w for w in widths)
        return "\n".join([line(rows[0]), rule, *(line(r) for r in rows[1:]), _KEY])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in self._rows()
        )
        caption = f"<caption>{html.escape(_KEY)}</caption>"
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Tally(float):
    """A ``float`` that writes down every number added to or subtracted from it.

    ``explain`` puts one in an input's ``.grad`` while the engine's backward
    function runs: ``a.grad += x`` then calls ``__add__``, which records ``x``
    and returns another ``_Tally`` (so ``x * x``, which adds to the same
    ``.grad`` twice, is recorded twice). Anything else (``g * b.data``...) is
    plain ``float`` arithmetic with the same result as for a ``float``.
    """

    __slots__ = ("parent", "log")

    def __new__(cls, number: float, parent: Value, log: list) -> _Tally:
        tally = super().__new__(cls, number)
        tally.parent = parent
        tally.log = log
        return tally

    def __add__(self, other: float) -> _Tally:
        self.log.append((self.parent, float(other)))
        return _Tally(float(self) + other, self.parent, self.log)

    __radd__ = __add__

    def __sub__(self, other: float) -> _Tally:
        self.log.append((self.parent, -float(other)))
        return _Tally(float(self) - other, self.parent, self.log)


def _run_backward_function(node: Value) -> list[float]:
    """Call ``node``'s backward function; return the number it added to each input, in order.

    One number per edge (per entry of ``node.parents``): ``0.0`` where the
    engine added nothing (a ReLU that is off). The numbers are exactly what the
    engine added, so each input's ``.grad`` afterwards equals its old ``.grad``
    plus its numbers, summed in this order.
    """
    log: list[tuple[Value, float]] = []
    parents = node.parents
    for parent in dict.fromkeys(parents):  # x * x: one tally for both edges
        parent.grad = _Tally(parent.grad, parent, log)
    try:
        node._backward(node)
    finally:
        for parent in parents:
            parent.grad = float(parent.grad)
    contributions = []
    for parent in parents:  # the engine handles input a, then input b
        k = next((k for k, (p, _) in enumerate(log) if p is parent), None)
        contributions.append(0.0 if k is None else log.pop(k)[1])
    if log:
        raise RuntimeError(f"explain: {node._backward.__name__} added more than one number per input")
    return contributions


def explain(root: Value, show: bool = True) -> Explanation:
    """Run the backward pass from ``root`` and return (and print) every step.

    This *is* a backward pass: afterwards every ``.grad`` is what
    ``root.backward()`` would have left, including its accumulation rule
    (leaves add to the gradient they already held, every other node starts
    from zero). Call it instead of ``root.backward()``, not after it, unless
    you want the leaves' gradients doubled. ``show=False`` only returns the
    :class:`Explanation` (in a notebook, its HTML table is then displayed).

    The steps come in the engine's order: the seed d(root)/d(root) = 1, then
    the nodes in reverse topological order, for each node its input ``a``
    before ``b`` (a node used twice, as in ``x * x``, gets two steps).
    """
    if not isinstance(root, Value):
        raise TypeError(f"explain expects a Value, not {type(root).__name__}")
    if not isinstance(show, bool):
        raise TypeError(f"show must be True or False, not {show!r}")
    order = topological_order(root)
    for node in order:  # check every operation is known before changing any gradient
        if node._backward is not None:
            _rules_for(node)
    names = node_names(order)

    for node in order:
        if node._backward is not None:  # intermediate results start from zero
            node.grad = 0.0
    before = root.grad
    root.grad += 1.0
    name = names[root]
    steps = [Step(0, root, root, name, name, "", name, "1 (seed)", 1.0, 1.0, 1.0, before, root.grad)]
    for node in reversed(order):
        if node._backward is None:
            continue
        g = node.grad
        running = {p: p.grad for p in node.parents}
        contributions = _run_backward_function(node)
        expr = expression(node, names)
        for parent, rule, contribution in zip(node.parents, _rules_for(node), contributions, strict=True):
            grad_before = running[parent]
            running[parent] = grad_before + contribution
            steps.append(
                Step(
                    index=len(steps),
                    node=node,
                    parent=parent,
                    node_name=names[node],
                    parent_name=names[parent],
                    op=node.op,
                    expression=expr,
                    formula=_with_names(rule.formula, node, names),
                    upstream=g,
                    local=rule.local(node),
                    contribution=contribution,
                    grad_before=grad_before,
                    grad_after=running[parent],
                )
            )
    result = Explanation(root, names, steps)
    if show:
        print(result)
    return result
