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
        w = leaves[0]._data
        grad_w = leaves[0].grad
        x = leaves[1]._data
        grad_x = leaves[1].grad
        # Forward pass: every node from its parents, parents first.
        v2 = x * w
        y = math.tanh(v2)
        # Backward pass: d(y)/d(y) = 1; then, from the output back to the
        # leaves, each node adds (its gradient × its local derivative) to its parents' gradients.
        grad_y = 1.0
        # y = math.tanh(v2)
        g2 = 0.0 + grad_y * ((1.0 - y) * (1.0 + y))
        # v2 = x * w
        grad_x += g2 * (w)
        grad_w += g2 * (x)
        # Write back: the leaves' gradients and the output.
        leaves[0].grad = grad_w
        ...

``step()`` then runs that function: it reads the current ``.data`` of every
leaf (parameters the optimizer changed, inputs you assigned), recomputes every
node, runs the backward pass, adds the gradients to the leaves' ``.grad``
exactly as ``output.backward()`` would, and returns the output's new value.

Big graphs: pieces of code, written once and run many times
-----------------------------------------------------------
A batch of 100 samples through an MLP is 100 copies of one computation, with
other numbers (the samples' inputs and targets) but the same operations on the
same parameters. Writing all of it out (65,000 lines for micrograd's moons
demo) makes Python's compiler the slowest part of training: seconds, and
hundreds of megabytes. So a graph of more than ``PIECE_NODES`` nodes is cut
into *pieces*, each a generator function that runs its forward pass, hands
over its results (``yield``), then receives its outputs' gradients and runs its
backward pass. A sub-graph that appears several times with the same structure
(a sample's forward pass and loss term: the same operations, wired the same
way, only its leaves and constants may differ) is written once, as one piece
that takes the leaves and constants as arguments, and called once per copy.
The rest of the graph is cut into pieces of at most ``PIECE_NODES`` nodes.
``step.source`` shows every distinct piece, then ``replay``, the loop that
calls them: all forward passes in topological order, then all backward passes
in reverse order. The numbers that pass from one piece to another live in two
lists, ``V`` (values) and ``G`` (gradients).

What is replayed, and what is not (the same contract as ``torch.jit.trace``)
---------------------------------------------------------------------------
The compiled function is a *trace*: the operations that ran when the graph was
built, on the nodes they ran on. Every branch *inside* an operation depends
only on numbers and is re-evaluated at every replay, with its backward rule:
``relu``, ``leaky_relu`` and ``abs`` test the sign of their input again,
``clamp`` its bounds, ``maximum``/``minimum`` which input is larger, and
``logsumexp`` chooses its shift (the largest input) again. A ``detach()`` is
an operation too: recomputed from its source, and, like ``backward()``, the
replay passes no gradient back through it. Not captured:
Python control flow in *your* code (if the graph was built by
``if loss.data > 1: loss = loss * 2``, the replay always multiplies by 2,
whatever the new numbers say), a ``Dropout`` mask (drawn once, when the graph
was built: the replay reuses it), and anything done outside the graph, such as
the running statistics a batch-norm layer updates in training mode (not
updated by a replay). Plain-number constants (the ``2.0`` in ``x * 2.0``) are
frozen at the value they had when the graph was built; new inputs must be
given by assigning ``.data`` of the leaves that were used.

Exactness
---------
Each line of the backward pass is the same floating-point expression as the
engine's backward function (``a.grad += g * b.data`` becomes
``grad_a += g * (b)``), and every gradient receives its contributions in the
order ``backward()`` adds them: nodes are visited in the reverse of the same
topological order, within a piece and from piece to piece (a piece covers
consecutive nodes of that order). A graph with a ``detach`` is the exception:
``backward()`` does not walk past it, and its order can then differ from the
reverse of the forward order, so such a graph is written as one function
whose backward pass follows ``backward()``'s own walk (``_gradient_walk``).
An intermediate gradient starts as ``0.0 + (first contribution)``, as
``backward()`` sets it to ``0.0`` and adds.
So values and gradients are the ones ``backward()`` computes, bit for bit.

What is written back
--------------------
By default only the leaves' ``.grad`` (accumulated, as ``backward()`` does)
and the output's ``.data`` and ``.grad``. The intermediate nodes keep the
numbers of the pass that built them, which saves two attribute writes per
node; ``compile_graph(output, write_back=True)`` writes every node's
``.data`` and ``.grad`` as ``backward()`` would leave them, and
``write_back=[node, ...]`` those nodes' only (the predictions a training
loop reads, say: writing 65,000 nodes back costs more than the replay).
A replay reads the leaves' ``.grad`` first and writes them at the end, so it
holds the lock ``backward()`` holds (``autograd.graph.gradient_lock``): a
replay and a backward pass, or two replays, in two threads never lose each
other's contributions to a shared leaf.

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
Compiling costs a few microseconds per node to find the repeated pieces, plus
Python's compiler on the distinct pieces only: for the moons demo's 65,614
nodes about 0.2 s (two interpreted training steps) and some 340 bytes of
memory per node (see ``benchmarks/RESULTS.md``). A replay costs under 200 ns
per node, against about 1,500 ns per node to build and backpropagate the
graph with ``Value``\\ s. Python's cyclic garbage collector is paused while
compiling and replaying: neither creates reference cycles, and the collector
would otherwise scan the whole heap over and over.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import gc
import keyword
import linecache
import math
import operator
import re
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence

from .graph import _intermediate_nodes, gradient_lock
from .operation import Operation, contribution, substitute
from .value import Value, decode

__all__ = ["CompiledGraph", "compile_graph", "PIECE_NODES"]

#: A graph of more nodes than this is cut into pieces of at most this many nodes.
PIECE_NODES = 2000
#: A sub-graph found several times is written once if it has at least this many nodes.
REPEATED_NODES = 32

# The names the generated code uses itself (labels may not take them).
_ARGUMENTS = ("leaves", "nodes", "output")
_DRIVER_NAMES = {"V", "G", "CALLS", "OUTPUT", "runs", "run", "call", "results", "grads", "deque"}
_DRIVER_NAMES |= {"held", "held_set", "held_grads"}
_GENERATED = re.compile(r"(?:[vgxc]|gx)\d+\Z|piece_\d+\Z")


def _namespace(operations: Sequence[Operation]) -> dict[str, object]:
    """What the generated code may refer to, besides its own variables: ``math`` and the helpers."""
    namespace: dict[str, object] = {"math": math, "deque": deque}
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


def _parents(node: Value) -> tuple[Value, ...]:
    """``node.parents``: read by the engine's one node decoder (``autograd.value.decode``)."""
    return decode(node)[0]


# ============================================================================
# Finding the pieces
# ============================================================================


class _Walk:
    """The graph in topological order, and where each node's sub-graph begins in it.

    ``order`` is ``topological_order(output)``; ``nodes`` its intermediate
    results (in the same relative order, which is the order ``backward()``
    visits them in reverse). The walk is the same depth-first search, which
    also notes, for the ``k``-th intermediate node, ``begin[k]``: how many
    intermediate nodes came before it was first reached. The nodes
    ``begin[k] .. k`` are the ones first reached through node ``k`` (its
    *region*): consecutive in the order, so a region can become a piece.
    """

    def __init__(self, output: Value) -> None:
        order: list[Value] = []
        nodes: list[Value] = []
        index: dict[Value, int] = {}  # intermediate node → its position in `nodes`
        begin: list[int] = []
        # last_use[k]: the last intermediate node that uses node k (k itself if none does);
        # shape[k]: a hash of the operations below node k, blind to which leaves and constants.
        last_use: list[int] = []
        shape: list[int] = []
        visited: set[Value] = set()
        stack: list[Value | int] = [output]
        push, pop, get = stack.append, stack.pop, index.get
        while stack:
            node = pop()
            if node.__class__ is int:  # a marker holding where the region of the node below it begins
                begin.append(node)
                node = pop()
                k = index[node] = len(nodes)
                order.append(node)
                nodes.append(node)
                last_use.append(k)
                a = node._a
                if a.__class__ is tuple:
                    h = id(node._operation)
                    for parent in a:
                        j = get(parent)
                        if j is None:
                            h = hash((h, 0))
                        else:
                            last_use[j] = k
                            h = hash((h, shape[j]))
                    shape.append(h)
                    continue
                j = get(a)
                if j is None:
                    sa = 0
                else:
                    last_use[j] = k
                    sa = shape[j]
                b = node._b
                j = get(b) if b.__class__ is Value else None
                if j is None:
                    sb = 0
                else:
                    last_use[j] = k
                    sb = shape[j]
                shape.append(hash((id(node._operation), sa, sb)))
                continue
            if node in visited:
                continue
            visited.add(node)
            a = node._a
            if a is None:
                order.append(node)
                continue
            push(node)
            push(len(nodes))
            if a.__class__ is tuple:
                for p in a:
                    if p not in visited:
                        push(p)
                continue
            if a not in visited:
                push(a)
            b = node._b
            if b.__class__ is Value and b not in visited:
                push(b)
        self.order, self.nodes, self.index, self.begin = order, nodes, index, begin
        self.last_use, self.shape = last_use, shape

    def largest_parent_region(self, k: int) -> int:
        """The parent of node ``k`` inside its region whose own region is largest (-1 if none)."""
        best, most, first, begin = -1, 0, self.begin[k], self.begin
        for parent in _parents(self.nodes[k]):
            j = self.index.get(parent)
            if j is not None and j >= first and j - begin[j] + 1 > most:
                best, most = j, j - begin[j] + 1
        return best

    def closed(self, first: int, last: int) -> bool:
        """True if no node of ``first .. last - 1`` is used after ``last``: only ``last`` leaves the range."""
        return first == last or max(self.last_use[first:last]) <= last

    def repeated_regions(self) -> list[tuple[int, int]]:
        """The regions worth writing once and calling many times, as ``(first, last)`` ranges.

        From the output back, look for a region that is closed (only its last
        node is used outside), of ``REPEATED_NODES`` to ``PIECE_NODES`` nodes,
        whose shape occurs more than once. Inside it, follow the largest
        sub-region down while it keeps half the nodes, and take the one whose
        shape occurs most often: a sample's prediction (the same for every
        sample) rather than its loss term (one shape per target class). Then
        go on before it.
        """
        counts = Counter(self.shape)
        found = []
        begin, shape = self.begin, self.shape
        k = len(self.nodes) - 1
        while k >= 0:
            first = begin[k]
            size = k - first + 1
            if not (REPEATED_NODES <= size <= PIECE_NODES and counts[shape[k]] > 1 and self.closed(first, k)):
                k -= 1
                continue
            best = j = k
            while True:
                j = self.largest_parent_region(j)
                if j < 0 or 2 * (j - begin[j] + 1) < size:
                    break
                if counts[shape[j]] > counts[shape[best]] and self.closed(begin[j], j):
                    best = j
            found.append((begin[best], best))
            k = begin[best] - 1
        found.reverse()
        return found


class _Piece:
    """Consecutive intermediate nodes ``first .. last`` of the walk, seen from outside.

    ``inputs``: the nodes outside it that it reads (leaves and earlier
    results), in order of first use; ``constants``: its plain numbers, in
    order; ``key``: its structure (operations, and for each parent the
    position inside the piece or among the inputs), equal for two pieces
    that one function can compute.
    """

    __slots__ = ("first", "last", "nodes", "inputs", "constants", "key")

    def __init__(self, walk: _Walk, first: int, last: int) -> None:
        self.first, self.last = first, last
        self.nodes = nodes = walk.nodes[first : last + 1]
        index = walk.index.get
        inputs: dict[Value, int] = {}
        constants: list[float] = []
        key: list[object] = []  # flat: operation, then a reference per parent
        push, number = key.append, inputs.setdefault
        for node in nodes:
            push(node._operation)
            a, b = node._a, node._b
            if a.__class__ is tuple:  # many parents (logsumexp)
                push(len(a))
                for parent in a:
                    j = index(parent)
                    push(j - first if j is not None and j >= first else ~number(parent, len(inputs)))
                continue
            # A parent is a node of the piece (by position), or an input (by order of first use, as
            # -1, -2, ...); the constants are read as node.constants reads them.
            j = index(a)
            push(j - first if j is not None and j >= first else ~number(a, len(inputs)))
            if b.__class__ is Value:
                j = index(b)
                push(j - first if j is not None and j >= first else ~number(b, len(inputs)))
            elif b.__class__ is tuple:
                constants.extend(b)
            elif b is not None:
                constants.append(b)
        self.inputs = list(inputs)
        self.constants = constants
        self.key = tuple(key)

    def outputs(self, walk: _Walk, output: Value) -> list[Value]:
        """Its nodes used after it (and the graph's output, if it is here)."""
        last_use, end = walk.last_use, self.last
        found = [n for k, n in enumerate(self.nodes, self.first) if last_use[k] > end]
        if self.nodes[-1] is output:
            found.append(output)
        return found


def _pieces(walk: _Walk) -> list[list[_Piece]]:
    """The graph's intermediate nodes cut into pieces, grouped by structure: ``[[piece, ...], ...]``.

    Each group is one function; its pieces are the calls. The repeated
    regions are pieces; so are the runs of nodes between them, cut at
    ``PIECE_NODES`` nodes. Pieces with the same key share a group.
    """
    groups: dict[tuple, list[_Piece]] = {}

    def add(first: int, last: int) -> None:
        piece = _Piece(walk, first, last)
        group = groups.get(piece.key)
        if group is None:
            groups[piece.key] = [piece]
        else:
            group.append(piece)

    k = 0
    for first, last in [*walk.repeated_regions(), (len(walk.nodes), len(walk.nodes))]:
        while k < first:  # the nodes before this region
            end = min(first, k + PIECE_NODES)
            add(k, end - 1)
            k = end
        if first < len(walk.nodes):
            add(first, last)
        k = last + 1
    return list(groups.values())


# ============================================================================
# Writing the code
# ============================================================================


@functools.cache
def _template(expression: str, names: tuple[str, ...]) -> str:
    """``expression`` as a ``str.format`` template for ``names``: ``"a * b"`` → ``"{a} * {b}"``.

    The same replacement as :func:`~autograd.operation.substitute`, prepared
    once per expression, so that writing a node's line is one ``format_map``.
    """
    escaped = expression.replace("{", "{{").replace("}", "}}")
    return substitute(escaped, {name: "{" + name + "}" for name in names})


def _fill(expression: str, mapping: dict[str, str]) -> str:
    """``substitute(expression, mapping)``, through a cached template."""
    return _template(expression, tuple(mapping)).format_map(mapping)


class _Writer:
    """Forward and backward lines for a run of nodes, given how each node and constant is named.

    ``value_of(node)``/``grad_of(node)`` name a node's number and gradient;
    ``constants_of(node)`` gives the source of its plain numbers; ``received``
    are the nodes whose gradient variable already exists when the backward
    lines start (inputs and outputs of a piece: their gradients are added to,
    not started).
    """

    def __init__(
        self,
        value_of: Callable[[Value], str],
        grad_of: Callable[[Value], str],
        constants_of: Callable[[Value], Sequence[str]],
        note: Callable[[Value, str], str] = lambda node, name: "",
    ) -> None:
        self.value_of, self.grad_of, self.constants_of, self.note = value_of, grad_of, constants_of, note

    def names(self, node: Value) -> dict[str, str]:
        """Each name in the node's operation's expressions → this node's variable or literal."""
        operation = node._operation
        value_of = self.value_of
        mapping = {"out": value_of(node)}
        if operation.nary:
            mapping["xs"] = "(" + "".join(f"{value_of(p)}, " for p in node._a) + ")"
            return mapping
        for name, parent in zip(operation.value_inputs, node.parents, strict=True):
            mapping[name] = value_of(parent)
        for name, text in zip(operation.stored_numbers, self.constants_of(node), strict=True):
            mapping[name] = text
        return mapping

    def forward(self, nodes: Sequence[Value]) -> tuple[list[str], list[tuple[str, dict[str, str]]]]:
        """The forward lines (with notes); and per node its line without the note and its names."""
        lines, done = [], []
        for node in nodes:
            name = self.value_of(node)
            mapping = self.names(node)
            text = f"{name} = {_fill(node._operation.forward, mapping)}"
            done.append((text, mapping))
            lines.append(text + self.note(node, name))
        return lines, done

    def backward(
        self, nodes: Sequence[Value], done: Sequence[tuple[str, dict[str, str]]], received: set[Value]
    ) -> list[str]:
        """From the last node back: each adds (its gradient × local derivative) to its parents'."""
        lines: list[str] = []
        emit = lines.append
        started = set(received)
        grad_of = self.grad_of

        def add(target: Value, derivative: str, g: str, mapping: dict[str, str]) -> None:
            """``grad += g * (local)``; ``grad = 0.0 + ...`` for an intermediate gradient's first one.

            ``0.0 + ...`` is what ``backward()`` computes (it sets the gradient to
            0.0, then adds): the same number, down to the sign of a zero.
            """
            # The shape of the term (g * (local), g / d, ±g) is chosen on the definition, as the
            # interpreter's is, before the names become variables or literals.
            sign, term = contribution(derivative, "_upstream_")
            term = _fill(term, {**mapping, "_upstream_": g})
            if target in started:
                emit(f"{grad_of(target)} {sign}= {term}")
            else:
                started.add(target)
                emit(f"{grad_of(target)} = 0.0 {sign} {term}")

        for node, (text, mapping) in zip(reversed(nodes), reversed(done), strict=True):
            operation = node._operation
            g = grad_of(node)
            emit(f"# {text}")
            if operation.nary:
                for parent in operation.gradient_parents(node):
                    add(parent, operation.derivatives["x"], g, {**mapping, "x": self.value_of(parent)})
            else:
                for name, parent in zip(operation.value_inputs, node.parents, strict=True):
                    if operation.derivatives[name] is not None:  # a forward-only input gets nothing
                        add(parent, operation.derivatives[name], g, mapping)
        return lines


class _Names:
    """Variable names for a graph's nodes: the label where it is a safe, unique name, else ``v{i}``.

    ``i`` is the node's position in ``topological_order(output)``; a label that
    could not be used goes in a comment beside the node's line.
    """

    def __init__(self, order: Sequence[Value], reserved: set[str]) -> None:
        self.order = order
        counts = Counter(map(operator.attrgetter("_label"), order))
        self.usable = {
            label for label, n in counts.items() if n == 1 and label and _usable_label(label, reserved)
        }

    @functools.cached_property
    def position(self) -> dict[Value, int]:
        return {node: i for i, node in enumerate(self.order)}

    def value(self, node: Value) -> str:
        label = node._label
        return label if label in self.usable else f"v{self.position[node]}"

    def grad(self, node: Value) -> str:
        label = node._label
        return f"grad_{label}" if label in self.usable else f"g{self.position[node]}"

    @staticmethod
    def note(node: Value, name: str) -> str:
        """A comment with the label, when the label could not be the variable's name."""
        return f"  # {node.label!r}" if node.label and node.label != name else ""


def _literals(node: Value) -> list[str]:
    return [_literal(c) for c in node.constants]


def _indent(lines: Sequence[str], depth: int = 1) -> str:
    pad = "    " * depth
    return "".join(f"{pad}{line}\n" for line in lines)


def _gradient_walk(walk: _Walk, output: Value) -> list[Value] | None:
    """``backward()``'s own walk (its nodes, in its order) if some input is forward-only; else ``None``.

    A forward-only input (``detach``'s) is recomputed in the forward pass but
    gets no gradient, and ``backward()`` does not walk past it: the nodes
    behind it get no backward lines, and the others are visited in
    ``backward()``'s order (which may then differ from the forward order's
    reverse), so that every gradient is summed in the same order, bit for bit.
    Such a graph is written as one function (not cut into pieces).
    """
    if not any(node._operation.forward_only for node in walk.nodes):
        return None
    with gradient_lock:  # the walk marks the nodes' .grad: put them back
        grads = [node.grad for node in walk.nodes]
        try:
            return _intermediate_nodes(output)
        finally:
            for node, grad in zip(walk.nodes, grads, strict=True):
                node.grad = grad


def _straight_line(
    walk: _Walk,
    output: Value,
    leaves: Sequence[Value],
    names: _Names,
    written: Collection[Value],
    carrying: list[Value] | None = None,
) -> str:
    """The whole graph as one function, ``replay(leaves, nodes, output)``: for small graphs.

    ``carrying``: the nodes the backward pass walks, in its order (see
    :func:`_gradient_walk`); by default every node, in reverse forward order.
    """
    nodes = walk.nodes
    writer = _Writer(names.value, names.grad, _literals, names.note)
    lines = [
        f'"""Replay of a graph of {len(walk.order)} nodes ({len(leaves)} leaves): '
        'forward pass, then backward pass."""',
        "# Leaves: their current numbers, and the gradients accumulated so far.",
    ]
    for k, leaf in enumerate(leaves):
        name = names.value(leaf)
        lines.append(f"{name} = leaves[{k}]._data{names.note(leaf, name)}")
        lines.append(f"{names.grad(leaf)} = leaves[{k}].grad")
    lines.append("# Forward pass: every node from its parents, parents first.")
    forward, done = writer.forward(nodes)
    lines += forward
    out = names.value(output)
    lines.append(f"# Backward pass: d({out})/d({out}) = 1; then, from the output back to the")
    lines.append("# leaves, each node adds (its gradient × its local derivative) to its parents' gradients.")
    if output._operation is None:  # a leaf: its gradient accumulates
        lines.append(f"{names.grad(output)} += 1.0")
    else:  # backward() sets it to 0.0, then adds 1.0
        lines.append(f"{names.grad(output)} = 1.0")
    if carrying is None:
        lines += writer.backward(nodes, done, set(leaves) | {output})
    else:
        line_of = dict(zip(nodes, done, strict=True))
        lines += writer.backward(carrying, [line_of[n] for n in carrying], set(leaves) | {output})
    lines.append("# Write back: the leaves' gradients and the output.")
    for k, leaf in enumerate(leaves):
        lines.append(f"leaves[{k}].grad = {names.grad(leaf)}")
    walked = set(nodes if carrying is None else carrying)  # behind a detach, a .grad is left alone
    for k, node in enumerate(nodes):
        if node in written:
            lines.append(f"nodes[{k}]._data = {names.value(node)}")
            if node in walked:
                lines.append(f"nodes[{k}].grad = {names.grad(node)}")
    lines.append(f"output._data = {out}")
    lines.append(f"output.grad = {names.grad(output)}")
    lines.append(f"return {out}")
    return f"def replay({', '.join(_ARGUMENTS)}):\n" + _indent(lines)


def _input_order(group: list[_Piece]) -> tuple[list[int], int]:
    """The order of a group's inputs as arguments: those the same in every call first; and how many.

    For a batch, the parameters are the same in every sample's call, its
    inputs (if they are leaves) are not. The driver passes the gradients of
    the common ones from call to call without storing them (see ``_DRIVER``).
    """
    first = group[0].inputs
    if len(group) == 1:
        return list(range(len(first))), 0
    common = [e for e, node in enumerate(first) if all(p.inputs[e] is node for p in group)]
    seen = set(common)
    return common + [e for e in range(len(first)) if e not in seen], len(common)


def _piece_source(
    name: str, group: list[_Piece], walk: _Walk, output: Value, names: _Names, written: Collection[Value]
) -> tuple[str, list[int], list[int]]:
    """A generator function computing one piece; returns it, the constants passed per call, and
    the positions of the nodes it writes back (``written``: in any call), passed as ``nodes``.

    A piece of a group of one is written with the graph's names and its
    constants as literals. A piece called several times takes its inputs as
    ``x0, x1, ...`` and the constants that differ from call to call as
    ``c0, c1, ...`` (those equal in every call are written as literals).
    """
    piece = group[0]
    outputs = piece.outputs(walk, output)
    order, _ = _input_order(group)
    if len(group) == 1:
        writer = _Writer(names.value, names.grad, _literals, names.note)
        inputs = [names.value(n) for n in piece.inputs]
        input_grads = [names.grad(n) for n in piece.inputs]
        varying: list[int] = []
        what = f"Nodes {piece.first}-{piece.last} of the graph's {len(walk.nodes)} intermediate results"
    else:
        inside = {node: j for j, node in enumerate(piece.nodes)}
        outside = {node: e for e, node in enumerate(piece.inputs)}
        # A constant is written as a literal if it is the same in every call (bit for bit).
        columns = list(zip(*(p.constants for p in group), strict=True))
        varying = [i for i, column in enumerate(columns) if len(set(map(float.hex, column))) > 1]
        shown = [_literal(column[0]) for column in columns]
        for i in varying:
            shown[i] = f"c{i}"

        constant_at: dict[Value, list[str]] = {}
        i = 0
        for node in piece.nodes:
            n = len(node.constants)
            constant_at[node] = shown[i : i + n]
            i += n

        def value_of(node: Value) -> str:
            j = inside.get(node)
            return f"v{j}" if j is not None else f"x{outside[node]}"

        def grad_of(node: Value) -> str:
            j = inside.get(node)
            return f"g{j}" if j is not None else f"gx{outside[node]}"

        writer = _Writer(value_of, grad_of, constant_at.__getitem__)
        inputs = [f"x{e}" for e in order]
        input_grads = [f"gx{e}" for e in order]
        what = (
            f"A sub-graph of {len(piece.nodes)} nodes found {len(group)} times in the graph, "
            "with other inputs or constants"
        )
    positions = []
    if written:
        positions = sorted({j for p in group for j, node in enumerate(p.nodes) if node in written})
    arguments = inputs + [f"c{i}" for i in varying] + (["nodes"] if written else [])
    forward, done = writer.forward(piece.nodes)
    received = set(piece.inputs) | set(outputs)
    backward = writer.backward(piece.nodes, done, received)
    results = "".join(f"{writer.value_of(n)}, " for n in outputs)
    given = ", ".join([writer.grad_of(n) for n in outputs] + input_grads)
    labels = [
        f"# {name}:{note[3:]}"
        for name, node in zip(inputs, [piece.inputs[e] for e in order], strict=True)
        if (note := writer.note(node, name))
    ]
    lines = [
        f'"""{what}: forward, then (once resumed with the gradients) backward."""',
        *labels,
        *forward,
        "# Hand over the results; receive their gradients and the inputs' gradients so far.",
        f"{given}, = yield ({results})",
        *backward,
        "# Hand back the inputs' gradients.",
        f"yield ({''.join(f'{g}, ' for g in input_grads)})",
    ]
    if positions:
        lines.append("# Write back the nodes' numbers and gradients.")
        for i, j in enumerate(positions):
            lines.append(f"nodes[{i}]._data = {writer.value_of(piece.nodes[j])}")
            lines.append(f"nodes[{i}].grad = {writer.grad_of(piece.nodes[j])}")
    return f"def {name}({', '.join(arguments)}):\n" + _indent(lines), varying, positions


def _gather(slots: Sequence[int]) -> Callable[[list], tuple]:
    """``lambda V: (V[s0], V[s1], ...)`` at C speed (``itemgetter`` returns a bare item for one slot)."""
    if len(slots) <= 1:
        return (lambda numbers, slot=slots[0]: (numbers[slot],)) if slots else (lambda numbers: ())
    return operator.itemgetter(*slots)


class _Discard:
    """Where a piece writes the number and gradient of a node that this call was not asked to write
    back (a node at the same place was, in another call of the piece)."""

    __slots__ = ("_data", "grad")


_DISCARD = _Discard()


class _Call:
    """One call of a piece: which function, which slots of ``V``/``G`` in and out, which constants.

    Its first ``held`` inputs are the same in every call of its piece
    (``held_slots``, one tuple shared by those calls); ``own_slots`` the rest.
    """

    __slots__ = ("piece", "inputs", "outputs", "input_slots", "output_slots", "slots", "held")
    __slots__ += ("held_slots", "own", "own_slots", "constants", "nodes")

    def __init__(self, piece, input_slots, held_slots, output_slots, constants, nodes) -> None:
        self.piece = piece
        self.input_slots, self.output_slots = tuple(input_slots), tuple(output_slots)
        self.held, self.held_slots = len(held_slots), held_slots
        self.own_slots = self.input_slots[self.held :]
        self.slots = self.input_slots + self.output_slots  # every slot of V and G it reads
        self.inputs, self.outputs = _gather(self.input_slots), _gather(self.output_slots)
        self.own = _gather(self.own_slots)
        self.constants = tuple(constants)
        self.nodes = nodes


_DRIVER = '''\
def replay(leaves, nodes, output):
    """Replay of a graph of {nodes:,} nodes ({leaves:,} leaves): {calls:,} calls of {pieces} pieces."""
    # V[s], G[s]: the number and the gradient of each node that one piece hands to another;
    # the leaves first, with their current .data and the gradients accumulated so far.
    V = [leaf._data for leaf in leaves]
    V += [0.0] * {crossing}
    G = [leaf.grad for leaf in leaves]
    G += [0.0] * {crossing}
    # Forward pass: the calls in topological order ({schedule}).
    runs = []
    for call in CALLS:
        run = call.piece(*call.inputs(V), *call.constants{nodes_argument})
        results = next(run)  # the piece's forward pass, up to its first yield
        deque(map(V.__setitem__, call.output_slots, results), 0)  # V[slot] = value, for each output
        runs.append(run)
    # Backward pass: d(output)/d(output) = 1; then the calls in reverse order. Each receives
    # its outputs' gradients and its inputs' gradients so far, and hands the inputs' back.
    # The inputs common to every call of a piece (the parameters, for a batch's samples) pass
    # from call to call directly (`held`), and are stored in G before a call that uses them.
    G[OUTPUT] = 1.0
    held = None
    for call, run in zip(reversed(CALLS), reversed(runs)):
        if held is not None and call.held_slots is held.held_slots:
            grads = run.send(call.outputs(G) + held_grads + call.own(G))
            held_grads = grads[: call.held]
            deque(map(G.__setitem__, call.own_slots, grads[call.held :]), 0)  # G[slot] = grad
            continue
        if held is not None and not held_set.isdisjoint(call.slots):
            deque(map(G.__setitem__, held.held_slots, held_grads), 0)
            held = None
        grads = run.send(call.outputs(G) + call.inputs(G))
        if call.held:
            if held is not None:
                deque(map(G.__setitem__, held.held_slots, held_grads), 0)
            held, held_set, held_grads = call, frozenset(call.held_slots), grads[: call.held]
            grads = grads[call.held :]
        deque(map(G.__setitem__, call.own_slots, grads), 0)
    if held is not None:
        deque(map(G.__setitem__, held.held_slots, held_grads), 0)
    # Write back: the leaves' gradients{write_back_what} and the output.
    for leaf, grad in zip(leaves, G):
        leaf.grad = grad
{write_back}    output._data = V[OUTPUT]
    output.grad = G[OUTPUT]
    return V[OUTPUT]
'''


class _Program:
    """The source of a replay, compiled piece by piece: ``replay`` and what it needs."""

    def __init__(self, output: Value, write_back: bool | tuple[Value, ...]) -> None:
        walk = _Walk(output)
        if write_back is True:
            written: Collection[Value] = walk.index
        else:
            written = {node for node in write_back or () if node._operation is not None}
            strangers = [node for node in written if node not in walk.index]
            if strangers:
                raise ValueError(
                    f"compile_graph: write_back names {len(strangers)} node(s) that the output does not "
                    f"depend on, e.g. {strangers[0]!r}"
                )
        self.leaves = tuple(node for node in walk.order if node._operation is None)
        self.nodes = tuple(walk.nodes)
        self.num_nodes = len(walk.order)
        operations = list({id(n._operation): n._operation for n in walk.nodes}.values())
        self.namespace = _namespace(operations)
        reserved = set(self.namespace) | set(_ARGUMENTS) | _DRIVER_NAMES | set(dir(builtins))
        names = _Names(walk.order, reserved)
        self.calls: list[_Call] = []
        carrying = _gradient_walk(walk, output)
        if len(walk.nodes) <= PIECE_NODES or carrying is not None:
            self.parts = [_straight_line(walk, output, self.leaves, names, written, carrying)]
            return
        slot = {leaf: s for s, leaf in enumerate(self.leaves)}

        def slot_of(node: Value) -> int:
            s = slot.get(node)
            if s is None:
                s = slot[node] = len(slot)
            return s

        self.parts = []
        calls: list[tuple[int, _Call]] = []
        groups = _pieces(walk)
        shared: dict[tuple[int, ...], tuple[int, ...]] = {}
        for number, group in enumerate(groups):
            name = f"piece_{number}"
            source, varying, positions = _piece_source(name, group, walk, output, names, written)
            self.parts.append(source)
            order, held = _input_order(group)
            for piece in group:
                constants = [piece.constants[i] for i in varying]
                outputs = piece.outputs(walk, output)
                input_slots = tuple(slot_of(piece.inputs[e]) for e in order)
                held_slots = shared.setdefault(input_slots[:held], input_slots[:held])  # `is` compares
                call = _Call(
                    name,
                    input_slots,
                    held_slots,
                    [slot_of(n) for n in outputs],
                    constants,
                    [piece.nodes[j] if piece.nodes[j] in written else _DISCARD for j in positions],
                )
                calls.append((piece.first, call))
        calls.sort(key=lambda item: item[0])
        self.calls = [call for _, call in calls]
        schedule = ", ".join(
            f"piece_{k} ×{len(g)}" if len(g) > 1 else f"piece_{k}" for k, g in enumerate(groups)
        )
        self.parts.append(
            _DRIVER.format(
                nodes=self.num_nodes,
                leaves=len(self.leaves),
                calls=len(self.calls),
                pieces=len(groups),
                crossing=len(slot) - len(self.leaves),
                schedule=schedule if len(schedule) < 200 else schedule[:200] + "…",
                nodes_argument=", call.nodes" if written else "",
                write_back_what=", the nodes' numbers and gradients" if written else "",
                write_back=(
                    "    for run in runs:\n        next(run, None)  # each piece writes its nodes\n"
                    if written
                    else ""
                ),
            )
        )
        self.namespace["OUTPUT"] = slot[output]
        self.output_slot = slot[output]

    def compile(self, filename: str) -> tuple[str, Callable]:
        """Compile each part on its own (so the compiler's memory stays that of one part); the source."""
        source = "\n".join(self.parts)
        namespace = self.namespace
        line = 1
        for part in self.parts:
            before = set(namespace)
            exec(compile(part, filename, "exec"), namespace)
            (name,) = set(namespace) - before - {"__builtins__"}
            function = namespace[name]
            # Number its lines as they stand in the whole source (tracebacks, error messages).
            function.__code__ = function.__code__.replace(co_firstlineno=line)
            line += part.count("\n") + 1
        if self.calls:
            for call in self.calls:
                call.piece = namespace[call.piece]
            namespace["CALLS"] = self.calls
        return source, namespace["replay"]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off inside the block (if it was on), back on after.

    For work that creates no reference cycles: everything it frees goes by
    reference counting, and anything else waits for the next collection.
    """
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class CompiledGraph:
    """A recorded graph, replayable with new leaf values: ``step()`` → the output's new value.

    Attributes: ``source`` (the generated Python, to read), ``output``,
    ``leaves`` (in ``topological_order``), ``write_back``, ``num_nodes`` and
    ``compile_seconds`` (finding the pieces, generating and compiling the source).
    """

    _count = 0

    def __init__(self, output: Value, write_back: bool | tuple[Value, ...] = False) -> None:
        start = time.perf_counter()
        self.output = output
        self.write_back = write_back
        CompiledGraph._count += 1
        self._filename = f"<compiled graph {CompiledGraph._count}>"
        # Compiling allocates many small objects and no garbage cycles: the cyclic collector,
        # which they would trigger again and again to scan the whole heap, is paused meanwhile.
        with _collector_paused():
            program = _Program(output, write_back)
            self.leaves, self._nodes, self.num_nodes = program.leaves, program.nodes, program.num_nodes
            self.source, self._replay = program.compile(self._filename)
        # Let tracebacks (and ``inspect``) show the generated lines; forget them with the graph.
        lines = self.source.splitlines(keepends=True)
        linecache.cache[self._filename] = (len(self.source), None, lines, self._filename)
        weakref.finalize(self, linecache.cache.pop, self._filename, None)
        self.compile_seconds = time.perf_counter() - start

    def __call__(self) -> float:
        """Recompute every node from the leaves' ``.data``, backpropagate, return the output.

        The cyclic garbage collector is paused meanwhile: a replay creates no
        reference cycles (everything it allocates is freed by reference
        counting), and the collector, triggered by its allocations, would
        otherwise scan the suspended pieces' frames over and over.
        """
        try:
            with gradient_lock, _collector_paused():  # as backward(): one gradient pass at a time
                return self._replay(self.leaves, self._nodes, self.output)
        except (ArithmeticError, ValueError) as error:
            clearer = _with_line(error, self._filename, self.source)
            if clearer is None:
                raise
            raise clearer from error

    def __repr__(self) -> str:
        shown = self.write_back if isinstance(self.write_back, bool) else f"<{len(self.write_back)} nodes>"
        return (
            f"CompiledGraph({self.num_nodes} nodes, {len(self.leaves)} leaves, "
            f"write_back={shown}, output={self.output!r})"
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


def compile_graph(output: Value, *, write_back: bool | Iterable[Value] = False) -> CompiledGraph:
    """Compile the graph that produced ``output`` into a replayable forward+backward step.

    ``output`` must already have been computed (its graph recorded, i.e. not
    under ``no_grad``). Returns a ``CompiledGraph``: call it to replay the
    graph with the leaves' current ``.data``; it accumulates into the leaves'
    ``.grad`` like ``output.backward()`` (bit for bit) and returns the
    output's new value. Read ``.source`` to see the chain rule unrolled.
    Intermediate nodes keep their numbers unless ``write_back`` is ``True``
    (every node gets its ``.data`` and ``.grad``, as after ``backward()``) or a
    collection of nodes (those nodes do).

    What a replay captures: the operations that ran, and every branch inside
    them, re-evaluated on the new numbers (``relu``, ``leaky_relu``, ``abs``,
    ``clamp``, ``maximum``/``minimum``, ``logsumexp``'s shift). What it does
    not: your own Python ``if``\\ s (the branch taken while recording is
    replayed), ``Dropout``'s random mask (the recorded one is reused),
    batch-norm running statistics (not updated by a replay), and plain-number
    constants (frozen). See the module docstring.

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
        try:
            write_back = tuple(write_back)
        except TypeError:
            raise TypeError(
                f"compile_graph: write_back must be a bool or Values, not {type(write_back).__name__}"
            ) from None
        if not all(isinstance(node, Value) for node in write_back):
            raise TypeError("compile_graph: write_back must be a bool or Values")
    return CompiledGraph(output, write_back)
