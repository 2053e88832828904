"""Cutting a recorded graph into pieces: the part of ``compile_graph`` that reads the graph.

A graph of more than ``PIECE_NODES`` intermediate nodes is not written out as
one function: it is cut into *pieces*. A sub-graph that appears several times
with the same structure (a sample's forward pass and loss term in a batch) is
found here, by hashing each node's operations below it; such a region becomes
one piece, written once (``autograd.compile_source``) and called once per copy
(``autograd.compile``). The rest is cut into runs of at most ``PIECE_NODES``.

Every reading of a node's parents and constants in the compiler goes through
:func:`_parents` and :func:`_constants`, one place to change how a node is decoded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from .value import Value

__all__ = ["PIECE_NODES", "REPEATED_NODES"]

#: A graph of more nodes than this is cut into pieces of at most this many nodes.
PIECE_NODES = 2000
#: A sub-graph found several times is written once if it has at least this many nodes.
REPEATED_NODES = 32


def _inputs(node: Value) -> tuple[tuple[Value, ...], tuple[float, ...]]:
    """A node's parents (``Value``\\ s, in order) and its plain-number constants, from its slots.

    The one place the compiler decodes a node: every walk and every line of
    generated code reads a node's inputs through here (or :func:`_parents`).
    """
    a, b = node._a, node._b
    if a is None:
        return (), ()
    if a.__class__ is tuple:
        parents: tuple[Value, ...] = a
    elif isinstance(b, Value):
        return (a, b), ()
    else:
        parents = (a,)
    if b is None:
        return parents, ()
    return parents, (b if b.__class__ is tuple else (b,))


def _parents(node: Value) -> tuple[Value, ...]:
    """A node's parents (see :func:`_inputs`)."""
    return _inputs(node)[0]


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

    def __init__(self, output: Value | Sequence[Value]) -> None:
        order: list[Value] = []
        nodes: list[Value] = []
        index: dict[Value, int] = {}  # intermediate node → its position in `nodes`
        begin: list[int] = []
        # last_use[k]: the last intermediate node that uses node k (k itself if none does);
        # shape[k]: a hash of the operations below node k, blind to which leaves and constants.
        last_use: list[int] = []
        shape: list[int] = []
        visited: set[Value] = set()
        stack: list[Value | int] = [output] if isinstance(output, Value) else list(reversed(output))
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
                h = id(node._operation)
                for parent in _parents(node):
                    j = get(parent)
                    if j is None:
                        h = hash((h, 0))
                    else:
                        last_use[j] = k
                        h = hash((h, shape[j]))
                shape.append(h)
                continue
            if node in visited:
                continue
            visited.add(node)
            if node._operation is None:
                order.append(node)
                continue
            push(node)
            push(len(nodes))
            for parent in _parents(node):
                if parent not in visited:
                    push(parent)
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
            parents, numbers = _inputs(node)
            push(len(parents))
            # A parent is a node of the piece (by position), or an input (by order of first use, as
            # -1, -2, ...).
            for parent in parents:
                j = index(parent)
                push(j - first if j is not None and j >= first else ~number(parent, len(inputs)))
            constants.extend(numbers)
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
