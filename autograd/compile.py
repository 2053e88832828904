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
demo) makes Python's compiler the slowest part of training. So a graph of more
than ``PIECE_NODES`` nodes is cut into *pieces*, each a generator function
that runs its forward pass, hands over its results (``yield``), then receives
its outputs' gradients and runs its backward pass. A sub-graph that appears
several times with the same structure (a sample's forward pass and loss term:
the same operations, wired the same way, only its leaves and constants may
differ) is written once, as one piece that takes the leaves and constants as
arguments, and called once per copy. The rest of the graph is cut into pieces
of at most ``PIECE_NODES`` nodes. ``step.source`` shows every distinct piece,
then ``replay``, the loop that calls them: all forward passes in topological
order, then all backward passes in reverse order. The numbers that pass from
one piece to another live in two lists, ``V`` (values) and ``G`` (gradients).

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
whose backward pass follows ``backward()``'s own walk (``_gradient_walk``),
with ``vectorize=True`` too. A derivative ``1.0 / d`` is applied as ``g / d``,
as the interpreter applies it (``autograd.operation.contribution``).
An intermediate gradient starts as
``0.0 + (first contribution)``, as ``backward()`` sets it to ``0.0`` and adds.
So values and gradients are the ones ``backward()`` computes, bit for bit
(with ``vectorize=False``, the default).

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
other's contributions to a shared leaf (``SampleReplay.backward`` holds it too).

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

Vectorised: one call per step, not per sample
---------------------------------------------
``compile_graph(output, vectorize=True)`` runs each piece that repeats across
the samples of a batch *once*, over NumPy arrays: every number that differs
from sample to sample is an array (one number per sample), every number the
same in all of them (the parameters) a plain float, and each line of the
piece one NumPy operation for the whole batch. A layer of neurons (chains
``bias + Σ w·x`` over the same inputs) becomes a matrix product, and the
activation that every neuron of the layer applies one operation over the
layer's whole block. The batch's inputs, leaves that only the samples read,
go from the leaves into one array and their gradients back, without passing
through the replay's lists; a sum of every sample's loss term (``sum(losses)``:
a chain of additions) is one ``np.add.accumulate`` over the samples' array,
the same additions in the same order. Values and gradients are then
``backward()``'s to about 1e-12 relative, not bit for bit (see
``autograd/compile_vector.py``, which writes those pieces).
:func:`compile_sample` goes one step further: it compiles the graph of *one*
sample, with its inputs as leaves, into a replay that serves batches of any
size (``fit(compile=True)`` uses it).

Where the code lives
--------------------
``autograd/compile_pieces.py`` reads the graph and cuts it into pieces (every
node's parents and constants are read by ``_inputs``, which is the engine's
one node decoder, ``autograd.value.decode``);
``autograd/compile_source.py`` writes a piece's lines from its operations'
expressions; ``autograd/compile_vector.py`` writes them over arrays; this
module runs them (``replay`` and the loop over the pieces) and holds the
public ``compile_graph``, ``compile_sample`` and ``CompiledGraph``.

Cost
----
Compiling costs a few microseconds per node to find the repeated pieces, plus
Python's compiler on the distinct pieces only; a replay costs a small fraction
of building and backpropagating the graph with ``Value``\\ s. The measured
figures (compile seconds, bytes per node, milliseconds per step) are in
``benchmarks/RESULTS.md``, produced by ``python -m benchmarks``. Python's
cyclic garbage collector is paused while compiling and replaying: neither
creates reference cycles, and the collector would otherwise scan the whole
heap over and over.
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import heapq
import linecache
import operator
import re
import time
import weakref
from collections import deque
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Sequence
from itertools import repeat
from types import FunctionType
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from . import compile_pieces
from .compile_pieces import PIECE_NODES, REPEATED_NODES, _gradient_reach, _inputs, _Piece, _pieces, _Walk
from .compile_source import (
    _ARGUMENTS,
    _DRIVER_NAMES,
    _input_order,
    _literal,
    _Names,
    _namespace,
    _operation_of,
    _piece_source,
    _straight_line,
)
from .compile_vector import ArrayForms, added_in_order, as_columns, shown_constants, vector_piece_source
from .graph import _intermediate_nodes, gradient_lock
from .value import ADD, Value

if TYPE_CHECKING:
    from .graph import _Intermediate

__all__ = [
    "CompiledGraph",
    "SampleReplay",
    "compile_graph",
    "compile_sample",
    "PIECE_NODES",
    "REPEATED_NODES",
]


def _gather(slots: Sequence[int]) -> Callable[[list], tuple]:
    """``lambda V: (V[s0], V[s1], ...)`` at C speed (``itemgetter`` returns a bare item for one slot)."""
    if not slots:
        return lambda numbers: ()
    if len(slots) == 1:

        def one(numbers: list, slot: int = slots[0]) -> tuple:  # the slot a local: no closure cell to read
            return (numbers[slot],)

        return one
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

    __slots__ = (
        "piece",
        "inputs",
        "outputs",
        "input_slots",
        "output_slots",
        "slots",
        "held",
        "held_slots",
        "own",
        "own_slots",
        "constants",
        "nodes",
    )

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


class _ScalarUnit:
    """One call of a piece written for plain floats, in the vectorised replay's schedule."""

    __slots__ = ("call", "written")

    def __init__(self, call: _Call, written: bool) -> None:
        self.call, self.written = call, written

    def bind(self, namespace: dict[str, object]) -> None:
        self.call.piece = namespace[self.call.piece]

    def forward(self, V: list) -> object:
        call = self.call
        extra = (call.nodes,) if self.written else ()
        run = call.piece(*call.inputs(V), *call.constants, *extra)
        deque(map(V.__setitem__, call.output_slots, next(run)), 0)
        return run

    def backward(self, run, G: list) -> None:
        call = self.call
        deque(map(G.__setitem__, call.input_slots, run.send(call.outputs(G) + call.inputs(G))), 0)

    def write_back(self, run) -> None:
        if self.written:
            next(run, None)


class _BatchUnit:
    """Every copy of a repeated piece as one call over arrays (``autograd.compile_vector``).

    ``inputs[c]``/``outputs[c]``: the slots of ``V``/``G`` copy ``c`` reads and
    writes; its first ``held`` inputs are the same in every copy (plain floats),
    the others are gathered into one array per input, one number per copy.
    """

    def __init__(
        self, piece, inputs, held, outputs, constants, nodes, copies, direct=False, total=None
    ) -> None:
        self.piece, self.n, self.held = piece, len(inputs), held
        self.copies = copies  # each copy's own inputs (nodes), to name a copy in an error
        self.held_slots = tuple(inputs[0][:held])
        self.get_held = _gather(self.held_slots)
        self.width = len(inputs[0]) - held
        # ``direct``: every own input is a leaf that nothing else reads; its number is read from the
        # leaf itself and its gradient written to it (in write_back), not passed through V and G.
        self.direct = direct
        own = [x for xs in copies for x in xs] if direct else [s for slots in inputs for s in slots[held:]]
        # An input may be read by several copies: their contributions are added (bincount).
        keys = np.array([id(x) for x in own] if direct else own, dtype=np.intp)
        _, first, self.inverse = np.unique(keys, return_index=True, return_inverse=True)
        self.unique = [own[i] for i in first.tolist()]  # slots; or the leaves themselves, if direct
        self.own_leaves = own if direct else []
        self.get_own = _gather([] if direct else own)
        self.get_unique = _gather([] if direct else self.unique)
        self.new_grads: list[float] = []
        self.output_slots = [s for slots in outputs for s in slots]
        self.k = len(outputs[0])  # the outputs each copy hands over through V and G
        self.get_outputs = _gather(self.output_slots)
        # ``total``: one output of every copy is only added up, copy after copy (a batch's loss terms):
        # the unit adds them itself and hands over their sum (see _SumOfCopies).
        self.total: _SumOfCopies | None = total
        self.kept = [i for i in range(self.k + 1) if i != total.output] if total is not None else None
        self.constants = [np.array(column, dtype=float) for column in constants]
        self.nodes = nodes
        self.written: tuple = ((), ())

    def bind(self, namespace: dict[str, object]) -> None:
        self.piece = namespace[self.piece]

    def forward(self, V: list) -> object:
        n = self.n
        if not self.width:
            own = ()
        elif self.direct:  # copy by copy, straight from the leaves
            own = np.fromiter(map(_DATA, self.own_leaves), float, n * self.width).reshape(n, self.width).T
        else:
            own = np.array(self.get_own(V), dtype=float).reshape(n, self.width).T
        run = self.piece(*self.get_held(V), *own, *self.constants)
        with self._naming_the_copy():
            results = next(run)
        total = self.total
        if total is not None:
            V[total.slot] = total.forward(as_columns(results[total.output : total.output + 1], n)[0])
            results = [results[i] for i in cast("list[int]", self.kept)]
        if self.k:
            flat = np.column_stack(as_columns(results, n)).ravel().tolist()  # copy by copy
            deque(map(V.__setitem__, self.output_slots, flat), 0)
        return run

    def backward(self, run, G: list) -> None:
        n, held = self.n, self.held
        grads = list(np.array(self.get_outputs(G), dtype=float).reshape(n, self.k).T) if self.k else []
        total = self.total
        if total is not None:
            grads.insert(total.output, total.backward(G[total.slot], n))
        with self._naming_the_copy():
            contributions, values, gradients, summed = run.send(tuple(grads))
        if held:  # each parameter's contributions, summed over the copies (one pairwise sum for all)
            totals = np.array(summed, dtype=float)
            arrays = [i for i, c in enumerate(contributions[:held]) if c.__class__ is not float]
            if arrays:  # (a parameter used only by fused layers has all its sum in `summed`)
                totals[arrays] += np.stack(as_columns([contributions[i] for i in arrays], n)).sum(axis=1)
            totals += self.get_held(G)  # G[s] + total for each parameter's slot s, in one NumPy addition
            deque(map(G.__setitem__, self.held_slots, totals.tolist()), 0)
        if self.width:
            flat = np.column_stack(as_columns(contributions[held:], n)).ravel()
            totals = np.bincount(self.inverse, weights=flat, minlength=len(self.unique))
            if self.direct:  # the leaves' gradients so far, plus these; written in write_back
                current = np.fromiter(map(_GRAD, self.unique), float, len(self.unique)) + totals
                self.new_grads = current.tolist()
            else:
                current = np.array(self.get_unique(G), dtype=float) + totals
                deque(map(G.__setitem__, self.unique, current.tolist()), 0)
        self.written = (values, gradients)

    @contextlib.contextmanager
    def _naming_the_copy(self) -> Iterator[None]:
        """An error "in sample i" (of the arrays) says which copy that is: the inputs it reads."""
        try:
            yield
        except (ArithmeticError, ValueError) as error:
            found = re.search(r" in sample (\d+)", str(error))
            if found is not None and len(error.args) == 1:
                i = int(found.group(1))
                inputs = ", ".join(repr(node) for node in self.copies[i][:3])
                which = f" in sample {i} (copy {i} of {self.n} of {self.piece.__name__}, reading {inputs})"
                error.args = (str(error).replace(found.group(0), which),)
            raise

    def write_back(self, run) -> None:
        if self.direct and self.width:
            deque(map(setattr, self.unique, repeat("grad"), self.new_grads), 0)  # leaf.grad = new grad
        if not self.nodes[0]:
            return
        values, gradients = self.written
        values, gradients = as_columns(values, self.n), as_columns(gradients, self.n)
        for c, nodes in enumerate(self.nodes):
            for node, value, grad in zip(nodes, values, gradients, strict=True):
                node._data, node.grad = float(value[c]), float(grad[c])


class _SumOfCopies:
    """A sum ``t = ((c + o₁) + o₂) + ... + oₙ`` of one output ``o`` of every copy of a batched piece.

    ``sum(losses)`` over a batch's samples is such a chain: n additions of
    plain floats, which the unit computes over the array of the copies'
    outputs instead, with ``np.add.accumulate`` (one addition after the other,
    so the same roundings as the chain's). Backward, each addition passes its
    gradient on unchanged: every copy's output receives ``0.0 + g`` (what the
    chain's ``g_o = 0.0 + g_t`` gives, down to the sign of a zero).

    ``output``: which output of a copy; ``order``: the copies in the chain's
    order; ``start``: the constant ``c`` the chain starts from (``sum``'s 0),
    or ``None`` if it starts ``o₁ + o₂``; ``slot``: where ``t`` goes in ``V`` and ``G``.
    """

    __slots__ = ("output", "order", "start", "slot")

    def __init__(self, output: int, order: Sequence[int], start: float | None, slot: int) -> None:
        self.output, self.start, self.slot = output, start, slot
        self.order = np.array(order, dtype=np.intp)

    def forward(self, outputs: np.ndarray) -> float:
        terms = outputs[self.order]  # a copy, in the chain's order
        if self.start is not None:
            terms[0] = self.start + terms[0]
        return float(np.add.accumulate(terms)[-1])

    def backward(self, g: float, n: int) -> np.ndarray:
        return np.full(n, 0.0 + g)


def _sums_of_copies(
    walk: _Walk,
    output: Value,
    groups: list[list[_Piece]],
    batched: Collection[int],
    owner: dict,
    written: Collection[Value],
) -> dict[int, tuple[int, int, int, list[int], float | None]]:
    """The pieces (run once) that begin with a sum of one output of every copy of a batched group.

    For each such piece's group number: ``(batched group, output, chain length,
    copies in the chain's order, start)``. The chain's nodes may be used by
    nothing but the next addition (its last one excepted) and written back by
    no one; each copy's output is read by the chain only.
    """
    found: dict[int, tuple[int, int, int, list[int], float | None]] = {}
    read_elsewhere: set[Value] | None = None
    for number, group in enumerate(groups):
        if number in batched or len(group) != 1:
            continue
        chain = _sum_chain(group[0], walk, written)
        if chain is None:
            continue
        length, terms, start = chain
        source = owner.get(terms[0], (-1, 0))[0]
        if source not in batched or len(terms) < len(groups[source]):
            continue
        copies = groups[source]
        n = len(copies)
        length -= len(terms) - n  # the chain may go on past the copies' outputs: it stops there
        terms = terms[:n]
        outputs = [copy.outputs(walk, output) for copy in copies]
        order = [owner[o][1] if owner.get(o, (-1,))[0] == source else -1 for o in terms]
        if sorted(order) != list(range(n)):
            continue
        # Each term is used last by the addition that reads it (so, in this piece, by nothing else).
        first = group[0].first
        readers = [first + max(0, j - (start is None)) for j in range(n)]
        if any(walk.last_use[walk.index[o]] != k for o, k in zip(terms, readers, strict=True)):
            continue
        places = {outputs[c].index(o) if o in outputs[c] else -1 for c, o in zip(order, terms, strict=True)}
        if len(places) != 1 or -1 in places or any(o in written for o in terms):
            continue
        if read_elsewhere is None:  # what every other piece reads
            read_elsewhere = {x for g in groups for p in g if p is not group[0] for x in p.inputs}
        if any(o in read_elsewhere for o in terms):
            continue
        found[number] = (source, places.pop(), length, order, start)
    return found


def _sum_chain(
    piece: _Piece, walk: _Walk, written: Collection[Value]
) -> tuple[int, list[Value], float | None] | None:
    """``piece``'s first nodes as a chain of additions ``((c + o₁) + o₂) + ...`` (or ``(o₁ + o₂) + ...``).

    Returns how many nodes the chain has, the terms ``o`` in order and ``c``
    (``None`` if none); ``None`` if the piece does not begin so. Each node but
    the last is used by the next only, and none is written back.
    """
    nodes = piece.nodes
    first = nodes[0]
    parents, numbers = _inputs(first)
    if first._operation is ADD:
        terms, start = list(parents), None
    elif first._operation is ADD.variant("a") or first._operation is ADD.variant("b"):
        terms, start = list(parents), numbers[0]
    else:
        return None
    length = 1
    for k in range(1, len(nodes)):
        node, before = nodes[k], nodes[k - 1]
        if node._operation is not ADD or before in written:
            break
        a, b = _inputs(node)[0]
        if a is not before or walk.last_use[piece.first + k - 1] != piece.first + k or b is before:
            break
        terms.append(b)
        length += 1
    if length < 2 or nodes[length - 1] in written:
        return None
    return length, terms, start


def _schedule(groups, owner, batched) -> list | set:
    """The units in an order where each comes after those it reads from; or the batched groups
    found in a cycle (their copies depend on one another through the graph).

    A unit is a batched group (its number) or one call, ``(group, copy)``. Among
    the units ready to run, the one earliest in the graph's order goes first.
    """

    def unit_of(number: int, c: int) -> object:
        return number if number in batched else (number, c)

    first: dict[object, int] = {}
    needs: dict[object, set] = {}
    for number, group in enumerate(groups):
        for c, piece in enumerate(group):
            unit = unit_of(number, c)
            first[unit] = min(first.get(unit, piece.first), piece.first)
            deps = needs.setdefault(unit, set())
            for node in piece.inputs:
                producer = owner.get(node)
                if producer is None:
                    continue
                if unit_of(*producer) == unit:  # one copy reads another's result: they cannot run together
                    return {number}
                deps.add(unit_of(*producer))
    users: dict[object, list] = {unit: [] for unit in needs}
    waiting = {unit: len(deps) for unit, deps in needs.items()}
    for unit, deps in needs.items():
        for dep in deps:
            users[dep].append(unit)
    ready = [(first[unit], i, unit) for i, unit in enumerate(needs) if not waiting[unit]]
    heapq.heapify(ready)
    keys = {unit: i for i, unit in enumerate(needs)}
    order = []
    while ready:
        _, _, unit = heapq.heappop(ready)
        order.append(unit)
        for user in users[unit]:
            waiting[user] -= 1
            if not waiting[user]:
                heapq.heappush(ready, (first[user], keys[user], user))
    if len(order) == len(needs):
        return order
    return {unit for unit, count in waiting.items() if count and unit in batched} or set(batched)


_DATA, _GRAD = operator.attrgetter("_data"), operator.attrgetter("grad")


def _direct_groups(groups: list[list[_Piece]], batched: Collection[int]) -> tuple[set[int], set[Value]]:
    """The batched groups whose copies' own inputs are all leaves that no other piece reads; those leaves.

    Such a group reads those leaves' ``.data`` itself (one ``np.fromiter``
    over the leaves, not one list of numbers ``V`` filled and then gathered)
    and writes their ``.grad`` itself: a batch's input samples never pass
    through the replay's lists ``V`` and ``G``.
    """
    readers: dict[Value, set[tuple[int, bool]]] = {}  # leaf → (group, whether held) of each reading
    for number, group in enumerate(groups):
        if not group:  # a piece that was only a sum of copies
            continue
        order, held = _input_order(group)
        kept = set(order[:held])
        for piece in group:
            for e, node in enumerate(piece.inputs):
                if node._operation is None:
                    readers.setdefault(node, set()).add((number, e in kept))
    found: set[int] = set()
    leaves: set[Value] = set()
    for number in batched:
        order, held = _input_order(groups[number])
        own = [piece.inputs[e] for piece in groups[number] for e in order[held:]]
        if own and all(readers.get(node) == {(number, False)} for node in own):
            found.add(number)
            leaves.update(own)
    return found, leaves


def _vector_replay(units: list, leaves: Sequence[Value], crossing: int, output_slot: int) -> Callable:
    """``replay(_, nodes, output)`` for the vectorised replay: the units forward, then backward.

    ``leaves``: those passed through ``V`` and ``G`` (the leaves that only one
    batched unit reads, as per-copy inputs, it reads and writes itself).
    """

    def replay(_, nodes, output) -> float:
        V = list(map(_DATA, leaves))
        V += [0.0] * crossing
        G = list(map(_GRAD, leaves))
        G += [0.0] * crossing
        with np.errstate(all="ignore"):  # NaN and infinities as in the scalar replay, silently
            runs = [unit.forward(V) for unit in units]
            G[output_slot] = 1.0
            for unit, run in zip(reversed(units), reversed(runs), strict=True):
                unit.backward(run, G)
        # Write back, once both passes have succeeded: the leaves' gradients, the nodes asked for.
        deque(map(setattr, leaves, repeat("grad"), G), 0)  # leaf.grad = G[k], for each leaf
        for unit, run in zip(units, runs, strict=True):
            unit.write_back(run)
        output._data = V[output_slot]
        output.grad = G[output_slot]
        return V[output_slot]

    return replay


def _forward_only_anywhere(walk: _Walk) -> bool:
    """Whether some node of ``walk`` has a forward-only input (``detach``'s): no gradient flows behind it."""
    nodes = cast("list[_Intermediate]", walk.nodes)  # a walk's nodes are results of operations, not leaves
    return any(node._operation.forward_only for node in nodes)


def _gradient_walk(walk: _Walk, output: Value) -> list[Value] | None:
    """``backward()``'s own walk (its nodes, in its order) if some input is forward-only; else ``None``.

    A forward-only input (``detach``'s) is recomputed in the forward pass but
    gets no gradient, and ``backward()`` does not walk past it: the nodes
    behind it get no backward lines, and the others are visited in
    ``backward()``'s order (which may then differ from the forward order's
    reverse), so that every gradient is summed in the same order, bit for bit.
    Such a graph is written as one function (not cut into pieces).
    """
    if not _forward_only_anywhere(walk):
        return None
    with gradient_lock:  # the walk marks the nodes' .grad: put them back
        grads = [node.grad for node in walk.nodes]
        try:
            return cast("list[Value]", _intermediate_nodes(output))  # Values, read only
        finally:
            for node, grad in zip(walk.nodes, grads, strict=True):
                node.grad = grad


class _Program:
    """The source of a replay, compiled piece by piece: ``replay`` and what it needs."""

    def __init__(self, output: Value, write_back: bool | tuple[Value, ...], vectorize: bool = False) -> None:
        walk = _Walk(output)
        self.units: list[_ScalarUnit | _BatchUnit] = []
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
        # One node per distinct operation; its operation read as the compiler reads them (a
        # lecture-style node's record refuses, with a TypeError, in _namespace).
        operations = [_operation_of(n) for n in {id(n._operation): n for n in walk.nodes}.values()]
        self.namespace = _namespace(operations)
        reserved = set(self.namespace) | set(_ARGUMENTS) | _DRIVER_NAMES | set(dir(builtins))
        names = _Names(walk.order, reserved)
        self.calls: list[_Call] = []
        carrying = _gradient_walk(walk, output)
        if len(walk.nodes) <= compile_pieces.PIECE_NODES or carrying is not None:
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
        if vectorize:
            self._vectorised(walk, output, groups, names, written, slot)
            self.output_slot = slot[output]
            self.crossing = len(slot) - len(self.slot_leaves)
            return
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

    def _vectorised(self, walk, output, groups, names, written, slot) -> None:
        """The pieces, each group of copies that can run together as one batched call over arrays.

        A group of several copies runs once, after every copy's inputs exist and
        before any copy's result is used: the units (batched groups, single
        calls) are ordered topologically. A group whose copies depend on one
        another (a running sum: each copy adds to the last) cannot; it stays
        one call per copy, as in the scalar replay.
        """
        owner: dict[Value, tuple[int, int]] = {}  # node → (group, copy) that computes it
        for number, group in enumerate(groups):
            for c, piece in enumerate(group):
                for node in piece.nodes:
                    owner[node] = (number, c)
        batched = {number for number, group in enumerate(groups) if len(group) > 1}
        while True:
            order = _schedule(groups, owner, batched)
            if isinstance(order, list):
                break
            batched -= order  # groups caught in a cycle: one call per copy
        # A piece that starts by adding up one output of every copy (the batch's loss terms): the
        # batched unit adds them itself, and the piece keeps the rest of its nodes (if any).
        sums = _sums_of_copies(walk, output, groups, batched, owner, written)
        totals: dict[int, tuple[int, int, list[int], float | None, Value]] = {}
        for number, (adding, place, length, copies, start) in sums.items():
            (piece,) = groups[number]
            totals[adding] = (place, length, copies, start, piece.nodes[length - 1])
            if piece.first + length <= piece.last:
                groups[number] = [_Piece(walk, piece.first + length, piece.last)]
            else:
                groups[number] = []
                order.remove((number, 0))
        direct, read_directly = _direct_groups(groups, batched)
        # The leaves that pass through V and G get the first slots; the others none.
        self.slot_leaves = tuple(leaf for leaf in self.leaves if leaf not in read_directly)
        slot.clear()
        slot.update((leaf, s) for s, leaf in enumerate(self.slot_leaves))

        def slot_of(node: Value) -> int:
            s = slot.get(node)
            if s is None:
                s = slot[node] = len(slot)
            return s

        forms = ArrayForms()
        units: dict[object, _ScalarUnit | _BatchUnit] = {}
        for number, group in enumerate(groups):
            if not group:  # a piece that was only a sum of copies (see above)
                continue
            name = f"piece_{number}"
            order_e, held = _input_order(group)
            if number in batched:
                shown, varying, columns = shown_constants(group)
                positions = []
                if written:
                    positions = sorted(
                        {j for p in group for j, node in enumerate(p.nodes) if node in written}
                    )
                outputs = group[0].outputs(walk, output)
                what = f"A sub-graph of {len(group[0].nodes)} nodes found {len(group)} times in the graph"
                total, skip = None, -1
                if number in totals:
                    place, length, copies, start, end = totals[number]
                    total, skip = _SumOfCopies(place, copies, start, slot_of(end)), place
                    what += (
                        f"; its output {place + 1} of every copy is then added up, copy after copy "
                        f"({length} additions), by the replay itself (np.add.accumulate)"
                    )
                self.parts.append(
                    vector_piece_source(
                        name, group[0], order_e, held, shown, outputs, positions, forms, what, fuse=True
                    )
                )
                units[number] = _BatchUnit(
                    name,
                    [[slot_of(p.inputs[e]) for e in order_e] for p in group],
                    held,
                    [[slot_of(n) for i, n in enumerate(p.outputs(walk, output)) if i != skip] for p in group],
                    [columns[i] for i in varying],
                    [[p.nodes[j] if p.nodes[j] in written else _DISCARD for j in positions] for p in group],
                    [[p.inputs[e] for e in order_e[held:]] for p in group],
                    direct=number in direct,
                    total=total,
                )
                continue
            source, varying, positions = _piece_source(name, group, walk, output, names, written)
            self.parts.append(source)
            for c, piece in enumerate(group):
                call = _Call(
                    name,
                    tuple(slot_of(piece.inputs[e]) for e in order_e),
                    (),
                    [slot_of(n) for n in piece.outputs(walk, output)],
                    [piece.constants[i] for i in varying],
                    [piece.nodes[j] if piece.nodes[j] in written else _DISCARD for j in positions],
                )
                units[(number, c)] = _ScalarUnit(call, bool(written))
        self.units = [units[key] for key in order]
        self.namespace.update(forms.namespace)

    def compile(self, filename: str) -> tuple[str, Callable]:
        """Compile each part on its own (so the compiler's memory stays that of one part); the source."""
        source = "\n".join(self.parts)
        namespace = self.namespace
        line = 1
        for part in self.parts:
            before = set(namespace)
            exec(compile(part, filename, "exec"), namespace)
            (name,) = set(namespace) - before - {"__builtins__"}
            function = cast(FunctionType, namespace[name])  # each part is one `def`
            # Number its lines as they stand in the whole source (tracebacks, error messages).
            function.__code__ = function.__code__.replace(co_firstlineno=line)
            line += part.count("\n") + 1
        if self.calls:
            for call in self.calls:
                call.piece = namespace[call.piece]
            namespace["CALLS"] = self.calls
        if self.units:
            for unit in self.units:
                unit.bind(namespace)
            return source, _vector_replay(self.units, self.slot_leaves, self.crossing, self.output_slot)
        return source, cast("Callable[..., float]", namespace["replay"])


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

    def __init__(
        self, output: Value, write_back: bool | tuple[Value, ...] = False, vectorize: bool = False
    ) -> None:
        start = time.perf_counter()
        self.output = output
        self.write_back = write_back
        self.vectorize = vectorize
        CompiledGraph._count += 1
        self._filename = f"<compiled graph {CompiledGraph._count}>"
        # Compiling allocates many small objects and no garbage cycles: the cyclic collector,
        # which they would trigger again and again to scan the whole heap, is paused meanwhile.
        with _collector_paused():
            program = _Program(output, write_back, vectorize)
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


class SampleReplay:
    """One sample's graph, replayed for a whole batch at once: ``forward(X)``, then ``backward(grads)``.

    Made by :func:`compile_sample` from a graph built for one sample, with that
    sample's inputs as leaves. ``forward(X)`` takes one row of inputs per
    sample (an ``n × len(inputs)`` array) and returns one row of outputs per
    sample (``n × len(outputs)``), computed with the other leaves' (the
    parameters') current ``.data``; ``backward(grads)``, given d(loss)/d(output)
    for each sample and output, adds d(loss)/d(parameter), summed over the
    samples, to each parameter's ``.grad``. One compiled piece serves batches
    of every size: a last, smaller batch too.

    Attributes: ``source``, ``inputs``, ``outputs``, ``parameters`` (the
    other leaves, in the order of the source's arguments), ``operations``
    (how many nodes one sample's graph has: a forward pass over ``n`` samples
    keeps about ``operations × n`` numbers until ``backward``) and
    ``compile_seconds``.
    """

    _count = 0

    def __init__(self, outputs: Sequence[Value], inputs: Sequence[Value]) -> None:
        start = time.perf_counter()
        self.outputs, self.inputs = tuple(outputs), tuple(inputs)
        if len(set(self.outputs)) != len(self.outputs):
            raise ValueError("compile_sample: an output is given twice")
        if any(node._operation is None for node in self.outputs):
            raise ValueError("compile_sample: every output must be computed by an operation, not a leaf")
        if any(node._operation is not None for node in self.inputs) or len(set(self.inputs)) != len(inputs):
            raise ValueError("compile_sample: the inputs must be distinct leaves")
        with _collector_paused():
            walk = _Walk(self.outputs)
            piece = _Piece(walk, 0, len(walk.nodes) - 1)
            given = set(self.inputs)
            used = {node: e for e, node in enumerate(piece.inputs)}
            held = [e for e, node in enumerate(piece.inputs) if node not in given]
            #: which columns of X the piece reads (an input the outputs do not depend on is not read)
            self._columns = [i for i, x in enumerate(self.inputs) if x in used]
            order = held + [used[self.inputs[i]] for i in self._columns]
            self.parameters = tuple(piece.inputs[e] for e in held)
            forms = ArrayForms()
            shown = [_literal(c) for c in piece.constants]
            self.operations = len(walk.nodes)
            what = f"One sample's graph of {self.operations} operations, for every sample of a batch"
            SampleReplay._count += 1
            self._filename = f"<compiled sample {SampleReplay._count}>"
            # Behind a detach no gradient flows: only the nodes backward() reaches get backward lines.
            carried = _gradient_reach(self.outputs) if _forward_only_anywhere(walk) else None
            self.source = vector_piece_source(
                "sample", piece, order, len(held), shown, self.outputs, [], forms, what, carried=carried
            )
            namespace = forms.namespace
            exec(compile(self.source, self._filename, "exec"), namespace)
            # A generator function: its forward pass up to the first yield, then its backward pass.
            self._function = cast("Callable[..., Generator[Any, Any, None]]", namespace["sample"])
        lines = self.source.splitlines(keepends=True)
        linecache.cache[self._filename] = (len(self.source), None, lines, self._filename)
        weakref.finalize(self, linecache.cache.pop, self._filename, None)
        self._run: Generator[Any, Any, None] | None = None  # between forward and backward
        self._n = 0
        self.compile_seconds = time.perf_counter() - start

    def forward(
        self, X: Sequence[Sequence[float]] | np.ndarray, keep_for_backward: bool = True
    ) -> np.ndarray:
        """The outputs for each row of ``X`` (``n × len(inputs)``), as an ``n × len(outputs)`` array.

        The pass keeps every intermediate array (one number per sample and
        node) for ``backward``; with ``keep_for_backward=False`` (outputs only,
        as ``evaluate`` wants) they are freed when it returns, and ``backward``
        cannot follow.
        """
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.inputs):
            raise ValueError(
                f"SampleReplay.forward: X must have {len(self.inputs)} columns, not shape {X.shape}"
            )
        n = len(X)
        columns = X.T[self._columns]
        with self._errors(), np.errstate(all="ignore"):
            run = self._function(*(p._data for p in self.parameters), *columns)
            results = next(run)
        if keep_for_backward:
            self._run, self._n = run, n
        else:
            run.close()
            self._run = None  # a pass kept from an earlier call would be for other samples
        return np.column_stack(as_columns(results, n))

    def backward(self, grads: np.ndarray, order: Sequence[int] | None = None) -> None:
        """Add d(loss)/d(parameter) to each parameter's ``.grad``, from d(loss)/d(output) per sample.

        The samples' contributions are added one by one, in ``order`` (default:
        first to last): give the order in which ``backward()`` on the batch's
        graph would reach the samples, and the sums are rounded as it rounds them.
        """
        if self._run is None:
            raise RuntimeError("SampleReplay.backward: call forward first (once per backward)")
        grads = np.asarray(grads, dtype=float)
        if grads.shape != (self._n, len(self.outputs)):
            raise ValueError(f"SampleReplay.backward: grads must have shape {(self._n, len(self.outputs))}")
        run, self._run = self._run, None
        # The parameters' .grad are read, then written: one gradient pass at a time, as backward().
        with gradient_lock, self._errors(), np.errstate(all="ignore"):
            contributions, _, _, _ = run.send(tuple(grads.T))  # nothing fused: no sums
            held = contributions[: len(self.parameters)]
            start = [p.grad for p in self.parameters]
            totals = (
                added_in_order(start, held, self._n, slice(None) if order is None else list(order))
                if held
                else []
            )
        for parameter, total in zip(self.parameters, totals, strict=True):
            parameter.grad = total

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (ArithmeticError, ValueError) as error:
            clearer = _with_line(error, self._filename, self.source)
            if clearer is None:
                raise
            raise clearer from error


def compile_sample(outputs: Sequence[Value], inputs: Sequence[Value]) -> SampleReplay:
    """Compile one sample's graph into a replay over whole batches (a :class:`SampleReplay`).

    Build the graph once, for one sample whose ``inputs`` are leaves; the
    result computes ``outputs`` (and their parameters' gradients) for any
    number of samples at once, over NumPy arrays, with each operation's own
    forward and derivative expressions (``autograd/compile_vector.py``).

    >>> w, b = Value(2.0), Value(0.5)
    >>> x = Value(0.0)
    >>> y = (w * x + b).relu()
    >>> replay = compile_sample([y], [x])
    >>> replay.forward([[1.0], [-1.0], [3.0]])[:, 0].tolist()   # relu(2x + 0.5) per sample
    [2.5, 0.0, 6.5]
    >>> replay.backward([[1.0], [1.0], [1.0]])                  # d(Σ y)/dw = 1 + 0 + 3
    >>> w.grad, b.grad
    (4.0, 2.0)
    """
    outputs, inputs = list(outputs), list(inputs)
    if not all(isinstance(node, Value) for node in outputs + inputs):
        raise TypeError("compile_sample: outputs and inputs must be Values")
    if not outputs:
        raise ValueError("compile_sample: no outputs")
    return SampleReplay(outputs, inputs)


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


def compile_graph(
    output: Value, *, write_back: bool | Iterable[Value] = False, vectorize: bool = False
) -> CompiledGraph:
    """Compile the graph that produced ``output`` into a replayable forward+backward step.

    ``output`` must already have been computed (its graph recorded, i.e. not
    under ``no_grad``). Returns a ``CompiledGraph``: call it to replay the
    graph with the leaves' current ``.data``; it accumulates into the leaves'
    ``.grad`` like ``output.backward()`` (bit for bit) and returns the
    output's new value. Read ``.source`` to see the chain rule unrolled.
    Intermediate nodes keep their numbers unless ``write_back`` is ``True``
    (every node gets its ``.data`` and ``.grad``, as after ``backward()``) or a
    collection of nodes (those nodes do).

    ``vectorize=True`` runs each sub-graph that repeats across the samples of
    a batch once, over NumPy arrays (one number per sample), instead of once
    per sample (see ``autograd/compile_vector.py``): much faster on batches,
    and equal to ``backward()`` to about 1e-12 relative instead of bit for bit.

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
    if not isinstance(vectorize, bool):
        raise TypeError(f"compile_graph: vectorize must be True or False, not {type(vectorize).__name__}")
    return CompiledGraph(output, write_back, vectorize)
