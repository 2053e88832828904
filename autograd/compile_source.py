"""Writing a piece's code: the forward and backward lines of the nodes, from their operations.

Each node becomes one forward line, its operation's ``forward`` expression with
the names of its inputs' variables in place of ``a``, ``b``; and, in reverse
order, one backward line per input, ``grad_input += grad_node * (local
derivative)``, from the operation's ``derivatives`` (see ``autograd/operation.py``).
``autograd.compile_vector`` writes the same lines over NumPy arrays.
"""

from __future__ import annotations

import functools
import keyword
import math
import operator
import re
from collections import Counter, deque
from collections.abc import Callable, Collection, Sequence
from typing import cast

from .compile_pieces import _inputs, _parents, _Piece, _Walk
from .operation import Operation, contribution, substitute
from .value import Value

# The names the generated code uses itself (labels may not take them).
_ARGUMENTS = ("leaves", "nodes", "output")
_DRIVER_NAMES = {"V", "G", "CALLS", "OUTPUT", "runs", "run", "call", "results", "grads", "deque"}
_DRIVER_NAMES |= {"held", "held_set", "held_grads"}
_GENERATED = re.compile(r"(?:[vgxc]|gx)\d+\Z|piece_\d+\Z")


def _namespace(operations: Sequence[Operation]) -> dict[str, object]:
    """What the generated code may refer to, besides its own variables: ``math`` and the helpers.

    Each operation's helpers under their bound names (``operation.bound_helpers``:
    one name per function object), so two operations whose helpers share a
    name (a user's ``_sigmoid`` and the engine's) each call their own.
    """
    namespace: dict[str, object] = {"math": math, "deque": deque}
    for operation in operations:
        namespace.update(operation.bound_helpers)
    return namespace


def _operation_of(node: Value) -> Operation:
    """The operation that computed ``node``, an intermediate node of the graph being compiled.

    (A node made the lecture's way holds a record instead, which refuses, with
    a ``TypeError`` that says why, the first time the compiler reads it.)
    """
    return cast(Operation, node._operation)


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
        rewrite: Callable[[Operation, str], str] | None = None,
        arrays: bool = False,
    ) -> None:
        self.value_of, self.grad_of, self.constants_of, self.note = value_of, grad_of, constants_of, note
        # rewrite(operation, expression): the expression as it is to be written (the vectorised
        # replay's array form, autograd.compile_vector); None writes the table's own expression.
        self.rewrite = rewrite or (lambda operation, expression: expression)
        # arrays: gradients are NumPy arrays (the vectorised replay). A first contribution is then
        # taken as it is (not 0.0 + it: the sign of a zero gradient is not kept), and gradients are
        # never added to in place, so that one array can stand for several gradients.
        self.arrays = arrays
        self.started: set[Value] = set()

    def names(self, node: Value) -> dict[str, str]:
        """Each name in the node's operation's expressions → this node's variable or literal."""
        operation = _operation_of(node)
        value_of = self.value_of
        mapping = {"out": value_of(node)}
        if operation.nary:
            mapping["xs"] = "(" + "".join(f"{value_of(p)}, " for p in _parents(node)) + ")"
            return mapping
        for name, parent in zip(operation.value_inputs, _parents(node), strict=True):
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
            operation = _operation_of(node)
            text = f"{name} = {_fill(self.rewrite(operation, operation.bound_forward), mapping)}"
            done.append((text, mapping))
            lines.append(text + self.note(node, name))
        return lines, done

    def backward(
        self,
        nodes: Sequence[Value],
        done: Sequence[tuple[str, dict[str, str]]],
        received: set[Value] | None,
        carried: Collection[Value] | None = None,
    ) -> list[str]:
        """From the last node back: each adds (its gradient × local derivative) to its parents'.

        ``received=None`` continues the backward pass of an earlier call (the
        gradients it started stay started), for a pass written in several runs.
        A forward-only input (derivative ``None``, ``detach``'s) gets nothing;
        ``carried``, if given, are the nodes a gradient reaches at all (the
        others, behind a ``detach`` only, get no backward lines).
        """
        lines: list[str] = []
        self.emit = lines.append
        if received is not None:
            self.started = set(received)
        grad_of = self.grad_of
        for node, (text, mapping) in zip(reversed(nodes), reversed(done), strict=True):
            if carried is not None and node not in carried:
                continue
            operation = _operation_of(node)
            g = grad_of(node)
            self.emit(f"# {text}")
            if operation.nary:
                derivative = operation.bound_derivatives["x"]
                if derivative is None:  # inputs that are all forward-only: nothing to add
                    continue
                for parent in operation.gradient_parents(node):
                    names = {**mapping, "x": self.value_of(parent)}
                    self._contribute(operation, parent, derivative, names, g)
            else:
                for name, parent in zip(operation.value_inputs, _parents(node), strict=True):
                    derivative = operation.bound_derivatives[name]
                    if derivative is not None:  # None: a forward-only input, which no gradient reaches
                        self._contribute(operation, parent, derivative, mapping, g)
        return lines

    def _contribute(
        self, operation: Operation, target: Value, derivative: str, mapping: dict[str, str], g: str
    ) -> None:
        """Add ``g × derivative`` to ``target``'s gradient, in the form the interpreter uses.

        The shape of the term (``g * (local)``, ``g / d``, ``±g``) is chosen on
        the definition, as the interpreter's is (:func:`~autograd.operation.contribution`),
        before the names become variables or literals; then rewritten (the array
        form) and filled in.
        """
        sign, term = contribution(derivative, "_upstream_")
        self.add(target, sign, _fill(self.rewrite(operation, term), {**mapping, "_upstream_": g}))

    def add(self, target: Value, sign: str, term: str) -> None:
        """``grad += g * (local)``; ``grad = 0.0 + ...`` for an intermediate gradient's first one.

        ``0.0 + ...`` is what ``backward()`` computes (it sets the gradient to
        0.0, then adds): the same number, down to the sign of a zero.
        """
        grad, started = self.grad_of(target), self.started
        if self.arrays:  # never in place: an array may be shared by several gradients
            if target in started:
                self.emit(f"{grad} = {grad} {sign} {term}")
            else:
                started.add(target)
                self.emit(f"{grad} = {term}" if sign == "+" else f"{grad} = -{term}")
        elif target in started:
            self.emit(f"{grad} {sign}= {term}")
        else:
            started.add(target)
            self.emit(f"{grad} = 0.0 {sign} {term}")


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
    return [_literal(c) for c in _inputs(node)[1]]


def _indent(lines: Sequence[str], depth: int = 1) -> str:
    pad = "    " * depth
    return "".join(f"{pad}{line}\n" for line in lines)


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
    ``autograd.compile._gradient_walk``); by default every node, in reverse forward order.
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
    else:  # backward()'s own walk (in its topological order, which backward() runs in reverse)
        line_of = dict(zip(nodes, done, strict=True))
        lines += writer.backward(carrying, [line_of[n] for n in carrying], set(leaves) | {output})
    lines.append("# Write back: the leaves' gradients and the output.")
    for k, leaf in enumerate(leaves):
        lines.append(f"leaves[{k}].grad = {names.grad(leaf)}")
    reached = set(nodes if carrying is None else carrying)  # behind a detach, a .grad is left alone
    for k, node in enumerate(nodes):
        if node in written:
            lines.append(f"nodes[{k}]._data = {names.value(node)}")
            if node in reached:
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


def _piece_names(
    piece: _Piece, shown: Sequence[str]
) -> tuple[Callable[[Value], str], Callable[[Value], str], Callable[[Value], list[str]]]:
    """How a piece called once per copy names its numbers: ``v{j}``/``g{j}`` for its own ``j``-th
    node's value and gradient, ``x{e}``/``gx{e}`` for its ``e``-th input's, and for each node its
    constants as ``shown`` lists them (a literal, or ``c{i}`` where the copies differ).

    The scalar writer and the vectorised one (``compile_vector``) name a piece's numbers alike.
    """
    inside = {node: j for j, node in enumerate(piece.nodes)}
    outside = {node: e for e, node in enumerate(piece.inputs)}
    constant_at: dict[Value, list[str]] = {}
    i = 0
    for node in piece.nodes:
        n = len(_inputs(node)[1])
        constant_at[node] = list(shown[i : i + n])
        i += n

    def value_of(node: Value) -> str:
        j = inside.get(node)
        return f"v{j}" if j is not None else f"x{outside[node]}"

    def grad_of(node: Value) -> str:
        j = inside.get(node)
        return f"g{j}" if j is not None else f"gx{outside[node]}"

    return value_of, grad_of, constant_at.__getitem__


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
        # A constant is written as a literal if it is the same in every call (bit for bit).
        columns = list(zip(*(p.constants for p in group), strict=True))
        varying = [i for i, column in enumerate(columns) if len(set(map(float.hex, column))) > 1]
        shown = [_literal(column[0]) for column in columns]
        for i in varying:
            shown[i] = f"c{i}"

        value_of, grad_of, constants_of = _piece_names(piece, shown)
        writer = _Writer(value_of, grad_of, constants_of)
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
