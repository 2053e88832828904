"""Compiled graphs: replay a recorded graph as straight-line Python.

Every operation on ``Value``\\ s does two things: the arithmetic, and the
bookkeeping (allocate a node, remember the parents; later, sort the graph and
call one backward function per node). For a training loop that rebuilds *the
same* graph every step, the bookkeeping is most of the time. ``compile_graph``
does it once: it walks a graph that has been built, and writes a Python
function that contains only the arithmetic, one line per operation, with the
numbers in local variables::

    >>> from autograd import Value
    >>> x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    >>> y = (x * w).tanh(); y.label = "y"
    >>> step = compile_graph(y)
    >>> print(step.source)                            # doctest: +SKIP
    def replay(leaves, nodes, output):
        ...
        w = leaves[0].data
        grad_w = leaves[0].grad
        x = leaves[1].data
        grad_x = leaves[1].grad
        # Forward pass: every node from its parents, parents first.
        v2 = x * w
        y = math.tanh(v2)
        # Backward pass: d(y)/d(y) = 1; then, from the output back to the
        # leaves, each node adds (its gradient × its local derivative) to its parents' gradients.
        grad_y = 1.0
        # y = math.tanh(v2)
        g2 = grad_y * ((1.0 - y) * (1.0 + y))
        # v2 = x * w
        grad_x += g2 * w
        grad_w += g2 * x
        # Write back: the leaves' gradients and the output.
        leaves[0].grad = grad_w
        ...

``step()`` then runs that function: it reads the current ``.data`` of every
leaf (parameters the optimizer changed, inputs you assigned), recomputes every
node, runs the backward pass, adds the gradients to the leaves' ``.grad``
exactly as ``output.backward()`` would, and returns the output's new value.

What is replayed, and what is not (the same contract as ``torch.jit.trace``)
---------------------------------------------------------------------------
The compiled function is a *trace*: the operations that ran when the graph was
built, on the nodes they ran on. Branches *inside* an operation depend only on
numbers and are re-evaluated at every replay (``relu``, ``abs`` and
``leaky_relu`` test the sign of their input again; so do their backward
rules). Python control flow in *your* code is not captured: if the graph was
built by ``if loss.data > 1: loss = loss * 2``, the replay always multiplies
by 2, whatever the new numbers say. Plain-number constants (the ``2.0`` in
``x * 2.0``) are frozen at the value they had when the graph was built; new
inputs must be given by assigning ``.data`` of the leaves that were used.

Exactness
---------
Each backward rule below is the same floating-point expression as the
engine's backward function (``a.grad += g * b.data`` becomes
``grad_a += g * b``), applied in the same order as ``backward()`` applies
them, so the gradients are the ones ``backward()`` computes, bit for bit,
except possibly the sign of a zero: ``backward()`` starts an intermediate
gradient at ``0.0`` and adds its first contribution, here the first
contribution is assigned (``0.0 + (-0.0)`` is ``0.0``, the assignment keeps
``-0.0``; the two compare equal and every later product or quotient differs
at most in the sign of a zero, never in magnitude).

What is written back
--------------------
By default only the leaves' ``.grad`` (accumulated, as ``backward()`` does)
and the output's ``.data`` and ``.grad``. The intermediate nodes keep the
numbers of the pass that built them, which saves two attribute writes per
node; ``compile_graph(output, write_back=True)`` writes every node's
``.data`` and ``.grad`` as ``backward()`` would leave them.

Errors
------
An operation that fails at replay raises the same kind of error as the
engine: ``ZeroDivisionError`` for a division by zero, ``ValueError`` for the
logarithm or square root of a negative number, ``OverflowError`` for an
``exp`` or power too large for a float. Its message names the line of
``step.source`` that failed, and no ``.data`` or ``.grad`` has been changed:
everything is written at the end, after both passes have succeeded. (When
several operations would fail, the replay reports the first in topological
order, which need not be the first your code would meet when rebuilding.)

Cost
----
Compiling takes about 30 µs per node (mostly Python's own compiler, which is
slightly worse than linear on one very long function: about 2 s for a graph
of 65,000 nodes). A replay costs some 100 ns per node, against about
700 ns per node to build and backpropagate the graph with ``Value``\\ s (see
``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import builtins
import keyword
import linecache
import math
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import value as _v
from .value import Value

__all__ = ["CompiledGraph", "compile_graph"]


@dataclass(frozen=True)
class _Term:
    """One contribution of a backward rule: ``<parent's grad> += expr`` (or ``-=``).

    ``expr`` and ``when`` are templates with the names ``{g}`` (the node's
    gradient), ``{out}`` (its value), ``{a}``/``{b}`` (the parents' values)
    and ``{c}`` (the constant). ``when`` is a condition tested at replay;
    ``static`` a condition on the constant, decided once, at compile time.
    """

    parent: str  # "a" or "b"
    expr: str
    sign: str = "+"
    when: str | None = None
    static: Callable[[float], bool] | None = None


@dataclass(frozen=True)
class _Rule:
    """How to replay one operation: its forward expression and its backward terms."""

    forward: str
    backward: tuple[_Term, ...]


def _t(parent: str, expr: str, sign: str = "+", **kwargs: object) -> _Term:
    return _Term(parent, expr, sign, **kwargs)


# One rule per backward function of ``autograd.value``: the forward expression
# mirrors the ``Value`` method, each term mirrors one ``+=``/``-=`` line of the
# backward function. Checked operations call the engine's own helpers
# (``_power``, ``_log``, ``_sigmoid``) so that errors are the engine's errors.
_RULES: dict[Callable, _Rule] = {
    _v._add_backward: _Rule("{a} + {b}", (_t("a", "{g}"), _t("b", "{g}"))),
    _v._add_const_backward: _Rule("{a} + {c}", (_t("a", "{g}"),)),
    _v._sub_backward: _Rule("{a} - {b}", (_t("a", "{g}"), _t("b", "{g}", "-"))),
    _v._sub_const_backward: _Rule("{a} - {c}", (_t("a", "{g}"),)),
    _v._rsub_const_backward: _Rule("{c} - {a}", (_t("a", "{g}", "-"),)),
    _v._neg_backward: _Rule("-{a}", (_t("a", "{g}", "-"),)),
    _v._mul_backward: _Rule("{a} * {b}", (_t("a", "{g} * {b}"), _t("b", "{g} * {a}"))),
    _v._mul_const_backward: _Rule("{a} * {c}", (_t("a", "{g} * {c}"),)),
    _v._div_backward: _Rule("{a} / {b}", (_t("a", "{g} / {b}"), _t("b", "{g} * {out} / {b}", "-"))),
    _v._div_const_backward: _Rule("{a} / {c}", (_t("a", "{g} / {c}"),)),
    _v._rdiv_const_backward: _Rule("{c} / {a}", (_t("a", "{g} * {out} / {a}", "-"),)),
    _v._pow_backward: _Rule(
        "_power({a}, {b})",
        (
            _t("a", "{g} * _power_slope({a}, {b})"),
            _t("b", "{g} * {out} * math.log({a})", when="{a} > 0.0"),
            _t("b", "{g} * math.nan", when="{a} < 0.0"),
        ),
    ),
    _v._pow_const_backward: _Rule("_power({a}, {c})", (_t("a", "{g} * _power_slope({a}, {c})"),)),
    _v._rpow_const_backward: _Rule(
        "_power({c}, {a})",
        (
            _t("a", "{g} * {out} * math.log({c})", static=lambda c: c > 0.0),
            _t("a", "{g} * math.nan", static=lambda c: c < 0.0),
        ),
    ),
    _v._sqrt_backward: _Rule(
        "math.sqrt({a})", (_t("a", "{g} * (0.5 / {out} if {out} != 0.0 else math.inf)"),)
    ),
    _v._exp_backward: _Rule("math.exp({a})", (_t("a", "{g} * {out}"),)),
    _v._log_backward: _Rule("_log({a})", (_t("a", "{g} / {a}"),)),
    _v._tanh_backward: _Rule("math.tanh({a})", (_t("a", "{g} * ((1.0 - {out}) * (1.0 + {out}))"),)),
    _v._sigmoid_backward: _Rule("_sigmoid({a})", (_t("a", "{g} * ({out} * (1.0 - {out}))"),)),
    _v._relu_backward: _Rule("{a} if {a} > 0.0 else 0.0", (_t("a", "{g}", when="{out} > 0.0"),)),
    _v._leaky_relu_backward: _Rule(
        "{a} if {a} > 0.0 else {a} * {c}", (_t("a", "{g} if {a} > 0.0 else {g} * {c}"),)
    ),
    _v._abs_backward: _Rule(
        "abs({a})", (_t("a", "{g}", when="{a} > 0.0"), _t("a", "{g}", "-", when="{a} < 0.0"))
    ),
    _v._sin_backward: _Rule("math.sin({a})", (_t("a", "{g} * math.cos({a})"),)),
    _v._cos_backward: _Rule("math.cos({a})", (_t("a", "{g} * math.sin({a})", "-"),)),
}

# What the generated code may refer to, besides its own variables.
_NAMESPACE = {
    "math": math,
    "_power": _v._power,
    "_power_slope": _v._power_slope,
    "_log": _v._log,
    "_sigmoid": _v._sigmoid,
}
_ARGUMENTS = ("leaves", "nodes", "output")


def _literal(c: float) -> str:
    """Python source for the constant ``c`` (``repr`` round-trips every finite float)."""
    if math.isnan(c):
        return "math.nan"
    if math.isinf(c):
        return "math.inf" if c > 0 else "(-math.inf)"
    text = repr(float(c))
    return f"({text})" if text.startswith("-") else text


def _variable_names(order: Sequence[Value]) -> tuple[list[str], list[str]]:
    """A (value, gradient) variable name for every node: its label where that is a fine name.

    A label is used when it is a Python identifier, unique in the graph, and
    cannot collide with the generated names (``v12``/``g12``, ``grad_...``,
    names starting with ``_``) or with what the code refers to (``math``,
    ``abs``, any builtin). Every other node is ``v{i}``/``g{i}``, ``i`` being
    its position in ``topological_order(output)``.
    """
    counts: dict[str, int] = {}
    for node in order:
        counts[node.label] = counts.get(node.label, 0) + 1
    taken = set(_NAMESPACE) | set(_ARGUMENTS) | set(dir(builtins))
    values, grads = [], []
    for i, node in enumerate(order):
        label = node.label
        usable = (
            label.isidentifier()
            and counts[label] == 1
            and not keyword.iskeyword(label)
            and not label.startswith(("_", "grad_"))
            and not (label[0] in "vg" and label[1:].isdigit())
            and label not in taken
        )
        values.append(label if usable else f"v{i}")
        grads.append(f"grad_{label}" if usable else f"g{i}")
    return values, grads


def _generate(output: Value, write_back: bool) -> tuple[str, tuple[Value, ...], tuple[Value, ...]]:
    """The source of ``replay(leaves, nodes, output)``, with its leaves and intermediate nodes."""
    from .graph import topological_order

    order = topological_order(output)
    position = {id(node): i for i, node in enumerate(order)}
    values, grads = _variable_names(order)
    leaves = tuple(node for node in order if node._backward is None)
    nodes = tuple(node for node in order if node._backward is not None)
    for node in nodes:
        if node._backward not in _RULES:
            raise NotImplementedError(f"compile_graph: no code template for the operation {node.op!r}")

    def names(node: Value) -> dict[str, str]:
        i = position[id(node)]
        a, b = node._a, node._b
        return {
            "out": values[i],
            "g": grads[i],
            "a": values[position[id(a)]],
            "b": values[position[id(b)]] if isinstance(b, Value) else "",
            "c": _literal(b) if isinstance(b, float) else "",
        }

    def note(node: Value, name: str) -> str:
        """A comment with the label, when the label could not be the variable's name."""
        return f"  # {node.label!r}" if node.label and node.label != name else ""

    lines = [
        f'"""Replay of a graph of {len(order)} nodes ({len(leaves)} leaves): '
        'forward pass, then backward pass."""',
        "# Leaves: their current numbers, and the gradients accumulated so far.",
    ]
    for k, leaf in enumerate(leaves):
        i = position[id(leaf)]
        lines.append(f"{values[i]} = leaves[{k}].data{note(leaf, values[i])}")
        lines.append(f"{grads[i]} = leaves[{k}].grad")

    lines.append("# Forward pass: every node from its parents, parents first.")
    forward_line: dict[int, str] = {}
    for node in nodes:
        fmt = names(node)
        text = f"{fmt['out']} = {_RULES[node._backward].forward.format(**fmt)}"
        forward_line[id(node)] = text
        lines.append(text + note(node, fmt["out"]))

    root = position[id(output)]
    out = values[root]
    lines.append(f"# Backward pass: d({out})/d({out}) = 1; then, from the output back to the")
    lines.append("# leaves, each node adds (its gradient × its local derivative) to its parents' gradients.")
    defined = {id(leaf) for leaf in leaves}  # a leaf's gradient accumulates on its .grad
    emit = lines.append

    def contribute(target: Value, sign: str, expr: str, when: str | None) -> None:
        """``grad += expr`` or, for an intermediate gradient's first contribution, ``grad = expr``."""
        name = grads[position[id(target)]]
        if id(target) in defined:
            emit(f"{name} {sign}= {expr}" if when is None else f"if {when}: {name} {sign}= {expr}")
            return
        defined.add(id(target))
        if sign == "-":
            expr = f"-{expr}" if expr.isidentifier() else f"-({expr})"
        emit(f"{name} = {expr}" if when is None else f"{name} = {expr} if {when} else 0.0")

    contribute(output, "+", "1.0", None)
    for node in reversed(nodes):
        fmt = names(node)
        emit(f"# {forward_line[id(node)]}")
        for term in _RULES[node._backward].backward:
            if term.static is not None and not term.static(node._b):
                continue
            parent = node._a if term.parent == "a" else node._b
            when = term.when.format(**fmt) if term.when else None
            contribute(parent, term.sign, term.expr.format(**fmt), when)

    lines.append("# Write back: the leaves' gradients and the output.")
    for k, leaf in enumerate(leaves):
        lines.append(f"leaves[{k}].grad = {grads[position[id(leaf)]]}")
    if write_back:
        for k, node in enumerate(nodes):
            i = position[id(node)]
            lines.append(f"nodes[{k}].data = {values[i]}")
            lines.append(f"nodes[{k}].grad = {grads[i]}")
    lines.append(f"output.data = {values[root]}")
    lines.append(f"output.grad = {grads[root]}")
    lines.append(f"return {values[root]}")
    source = f"def replay({', '.join(_ARGUMENTS)}):\n" + "".join(f"    {line}\n" for line in lines)
    return source, leaves, nodes


class CompiledGraph:
    """A recorded graph, replayable with new leaf values: ``step()`` → the output's new value.

    Attributes: ``source`` (the generated Python, to read), ``output``,
    ``leaves`` (in ``topological_order``), ``write_back``, ``num_nodes`` and
    ``compile_seconds`` (generating plus compiling the source).
    """

    _count = 0

    def __init__(self, output: Value, write_back: bool = False) -> None:
        start = time.perf_counter()
        self.output = output
        self.write_back = write_back
        self.source, self.leaves, self._nodes = _generate(output, write_back)
        self.num_nodes = len(self.leaves) + len(self._nodes)
        CompiledGraph._count += 1
        self._filename = f"<compiled graph {CompiledGraph._count}>"
        namespace = dict(_NAMESPACE)
        exec(compile(self.source, self._filename, "exec"), namespace)
        self._replay = namespace["replay"]
        # Let tracebacks (and ``inspect``) show the generated lines; forget them with the graph.
        lines = self.source.splitlines(keepends=True)
        linecache.cache[self._filename] = (len(self.source), None, lines, self._filename)
        weakref.finalize(self, linecache.cache.pop, self._filename, None)
        self.compile_seconds = time.perf_counter() - start

    def __call__(self) -> float:
        """Recompute every node from the leaves' ``.data``, backpropagate, return the output."""
        try:
            return self._replay(self.leaves, self._nodes, self.output)
        except (ArithmeticError, ValueError) as error:
            clearer = _with_line(error, self._filename, self.source)
            if clearer is None:
                raise
            raise clearer from error

    def __repr__(self) -> str:
        return (
            f"CompiledGraph({self.num_nodes} nodes, {len(self.leaves)} leaves, "
            f"write_back={self.write_back}, output={self.output!r})"
        )


def _with_line(error: Exception, filename: str, source: str) -> Exception | None:
    """The same kind of error, its message followed by the line of ``source`` that raised it."""
    tb = error.__traceback__
    lineno = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    if lineno is None:
        return None
    line = source.splitlines()[lineno - 1].strip()
    try:
        return type(error)(f"{error} (replaying line {lineno} of the compiled graph's source: {line})")
    except TypeError:  # an exception type whose constructor wants other arguments
        return None


def compile_graph(output: Value, *, write_back: bool = False) -> CompiledGraph:
    """Compile the graph that produced ``output`` into a replayable forward+backward step.

    ``output`` must already have been computed (its graph recorded, i.e. not
    under ``no_grad``). Returns a ``CompiledGraph``: call it to replay the
    graph with the leaves' current ``.data``; it accumulates into the leaves'
    ``.grad`` like ``output.backward()`` and returns the output's new value.
    Read ``.source`` to see the chain rule unrolled. See the module docstring
    for what is (and is not) replayed.

    >>> x = Value(3.0)
    >>> y = x * x + 2 * x
    >>> step = compile_graph(y)
    >>> x.data = 1.0
    >>> step(), x.grad                 # y = 1 + 2, dy/dx = 2·1 + 2
    (3.0, 4.0)
    """
    if not isinstance(output, Value):
        raise TypeError(f"compile_graph: output must be a Value, not {type(output).__name__}")
    if not isinstance(write_back, bool):
        raise TypeError(f"compile_graph: write_back must be a bool, not {type(write_back).__name__}")
    return CompiledGraph(output, write_back)
