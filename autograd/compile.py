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
import re
import time
import weakref
from collections.abc import Sequence

from .graph import topological_order
from .operation import Operation, contribution, substitute
from .value import Value

__all__ = ["CompiledGraph", "compile_graph"]


# What the generated code may refer to, besides its own variables: the
# helper functions the operations' expressions call.
_ARGUMENTS = ("leaves", "nodes", "output")


def _namespace(operations: Sequence[Operation]) -> dict[str, object]:
    namespace: dict[str, object] = {"math": math}
    for operation in operations:
        namespace.update(operation.helpers)
    return namespace


def _literal(c: float) -> str:
    """Python source for the constant ``c`` (``repr`` round-trips every finite float)."""
    if math.isnan(c):
        return "math.nan"
    if math.isinf(c):
        return "math.inf" if c > 0 else "(-math.inf)"
    text = repr(float(c))
    return f"({text})" if text.startswith("-") else text


_GENERATED = re.compile(r"[vg]\d+\Z")


def _usable_label(label: str, reserved: set[str]) -> bool:
    """A label can name a variable when it is plain ASCII, an identifier, and no name the code uses.

    ASCII only: Python normalises identifiers (NFKC), so ``"𝐱"`` and ``"ｘ"``
    would silently be the same variable as ``"x"``.
    """
    return (
        label.isascii()
        and label.isidentifier()
        and not keyword.iskeyword(label)
        and not label.startswith(("_", "grad_"))
        and not _GENERATED.match(label)
        and label not in reserved
    )


def _variable_names(order: Sequence[Value], reserved: set[str]) -> tuple[list[str], list[str]]:
    """A (value, gradient) variable name for every node: its label where that is a safe name.

    A label is used when :func:`_usable_label` allows it and no other node has
    it. Every other node is ``v{i}``/``g{i}``, ``i`` being its position in
    ``topological_order(output)`` (its label, if any, goes in a comment).
    """
    counts: dict[str, int] = {}
    for node in order:
        counts[node.label] = counts.get(node.label, 0) + 1
    values, grads = [], []
    for i, node in enumerate(order):
        label = node.label
        usable = counts[label] == 1 and _usable_label(label, reserved)
        values.append(label if usable else f"v{i}")
        grads.append(f"grad_{label}" if usable else f"g{i}")
    return values, grads


def _generate(output: Value, write_back: bool) -> tuple[str, tuple[Value, ...], tuple[Value, ...], dict]:
    """The source of ``replay(leaves, nodes, output)``, its leaves, intermediate nodes and namespace."""
    order = topological_order(output)
    position = {id(node): i for i, node in enumerate(order)}
    leaves = tuple(node for node in order if node._operation is None)
    nodes = tuple(node for node in order if node._operation is not None)
    namespace = _namespace(list({id(n._operation): n._operation for n in nodes}.values()))
    values, grads = _variable_names(order, set(namespace) | set(_ARGUMENTS) | set(dir(builtins)))

    def value_of(node: Value) -> str:
        return values[position[id(node)]]

    def names(node: Value) -> dict[str, str]:
        """Each name in the node's operation's expressions → this node's variable or literal."""
        operation = node._operation
        mapping = {"out": value_of(node)}
        if operation.nary:
            mapping["xs"] = "(" + "".join(f"{value_of(p)}, " for p in node._a) + ")"
            return mapping
        for name, parent in zip(operation.value_inputs, node.parents, strict=True):
            mapping[name] = value_of(parent)
        for name, number in zip(operation.stored_numbers, node.constants, strict=True):
            mapping[name] = _literal(number)
        return mapping

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
        lines.append(f"{values[i]} = leaves[{k}]._data{note(leaf, values[i])}")
        lines.append(f"{grads[i]} = leaves[{k}].grad")

    lines.append("# Forward pass: every node from its parents, parents first.")
    forward_line: dict[int, str] = {}
    for node in nodes:
        text = f"{value_of(node)} = {substitute(node._operation.forward, names(node))}"
        forward_line[id(node)] = text
        lines.append(text + note(node, value_of(node)))

    out = value_of(output)
    lines.append(f"# Backward pass: d({out})/d({out}) = 1; then, from the output back to the")
    lines.append("# leaves, each node adds (its gradient × its local derivative) to its parents' gradients.")
    emit = lines.append
    started = {id(leaf) for leaf in leaves}  # a leaf's gradient accumulates on its .grad

    def add(target: Value, derivative: str, g: str, mapping: dict[str, str]) -> None:
        """``grad += g * (local)``; ``grad = 0.0 + ...`` for an intermediate gradient's first one.

        ``0.0 + ...`` is what ``backward()`` computes (it sets the gradient to
        0.0, then adds): the same number, down to the sign of a zero.
        """
        name = grads[position[id(target)]]
        sign, term = contribution(substitute(derivative, mapping), g)
        if id(target) in started:
            emit(f"{name} {sign}= {term}")
        else:
            started.add(id(target))
            emit(f"{name} = 0.0 {sign} {term}")

    if output._operation is None:  # a leaf: its gradient accumulates
        add(output, "1.0", "1.0", {})
    else:  # backward() sets it to 0.0, then adds 1.0
        started.add(id(output))
        emit(f"{grads[position[id(output)]]} = 1.0")
    for node in reversed(nodes):
        operation = node._operation
        mapping = names(node)
        g = grads[position[id(node)]]
        emit(f"# {forward_line[id(node)]}")
        if operation.nary:
            for parent in node._a:
                add(parent, operation.derivatives["x"], g, {**mapping, "x": value_of(parent)})
        else:
            for name, parent in zip(operation.value_inputs, node.parents, strict=True):
                add(parent, operation.derivatives[name], g, mapping)

    lines.append("# Write back: the leaves' gradients and the output.")
    for k, leaf in enumerate(leaves):
        lines.append(f"leaves[{k}].grad = {grads[position[id(leaf)]]}")
    if write_back:
        for k, node in enumerate(nodes):
            i = position[id(node)]
            lines.append(f"nodes[{k}]._data = {values[i]}")
            lines.append(f"nodes[{k}].grad = {grads[i]}")
    lines.append(f"output._data = {out}")
    lines.append(f"output.grad = {grads[position[id(output)]]}")
    lines.append(f"return {out}")
    source = f"def replay({', '.join(_ARGUMENTS)}):\n" + "".join(f"    {line}\n" for line in lines)
    return source, leaves, nodes, namespace


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
        self.source, self.leaves, self._nodes, namespace = _generate(output, write_back)
        self.num_nodes = len(self.leaves) + len(self._nodes)
        CompiledGraph._count += 1
        self._filename = f"<compiled graph {CompiledGraph._count}>"
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
