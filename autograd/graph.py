"""Walking the graph: topological order and the backward pass.

The backward pass in three steps
--------------------------------
1. **Order the nodes.** Collect every node the output depends on, each one
   *after* all of its parents (a topological order). Reversed, that order
   visits a node only once every node that used it has been visited, so by the
   time we reach a node its ``grad`` has received all its contributions.
   Every intermediate node starts from ``grad = 0.0`` (leaves keep theirs:
   they accumulate).
2. **Seed.** d(output)/d(output) = 1.
3. **Apply the chain rule in reverse order.** Each node hands
   ``node.grad * local derivative`` to its parents (``Value``'s backward
   functions do this).

The walk is iterative, with an explicit stack instead of recursion, so a
chain of a million operations needs no more than Python's default recursion
limit (micrograd's recursive ``build_topo`` stops near a depth of 1,000).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from .value import Value, decode

if TYPE_CHECKING:
    from .value import Operation, _Closure  # graph reads value alone (value imports operation)

    class _Intermediate(Value):
        """A node the backward pass walks, as a type checker sees it: the result of an operation.

        Only such nodes are pushed (a leaf has no backward function), so their
        ``_operation`` is never ``None``; saying so once, where a node enters the
        walk, costs nothing per node at run time (there is no such class then).
        """

        _operation: Operation | _Closure


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on (``root`` included), parents before children.

    An iterative depth-first search. A node is pushed, and when it is first
    popped it is pushed again under a ``None`` marker, with its parents above
    both. Everything above the marker (the parents and, in turn, their
    parents) is finished before the marker is popped again; then the node
    itself is appended. This is the post-order of the recursive version::

        def visit(node):
            if node not in visited:
                visited.add(node)
                for parent in node.parents:
                    visit(parent)
                order.append(node)

    (with the second parent visited before the first, because the stack pops
    the last one pushed first).
    """
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, not {type(root).__name__}")
    order: list[Value] = []
    visited: set[Value] = set()
    stack: list[Value | None] = [root]
    push = stack.append
    pop = stack.pop
    # Below a None marker there is always the node it marks: popped there, the item is a Value.
    pop_marked = cast("Callable[[], Value]", stack.pop)
    append = order.append
    while stack:
        node = pop()
        if node is None:  # marker: the node below it has all its parents in `order`
            append(pop_marked())
            continue
        if node in visited:
            continue
        visited.add(node)
        parents = decode(node)[0]  # the one reader of a node's slots (any subclass of Value)
        if not parents:  # a leaf has no parents: it is finished as soon as it is reached
            append(node)
            continue
        push(node)
        push(None)
        stack.extend(parents)  # popped last first; one visited already is skipped when popped
    return order


class _Zero(float):
    """0.0 as an object of its own: each backward walk marks the nodes it has visited with one."""

    __slots__ = ()


def _intermediate_nodes(root: Value) -> list[_Intermediate]:
    """The intermediate results ``root`` depends on, ``grad`` set to 0.0: what ``backward`` walks.

    The same walk as :func:`topological_order`, in the same order (where no
    input is forward-only, see below), with savings that make it about twice
    as fast:

    * **Leaves are never pushed.** They have no backward function to call, and
      on a graph like ``sum(x_i * w_i)`` they are half the parents.
    * **Not past a forward-only input.** The input of ``detach`` (and any
      input an operation declares with no derivative) gets no gradient, so its
      history is not walked: truncated backpropagation through time costs one
      chunk, not the whole sequence. Such nodes keep their inputs as a tuple
      (see :class:`~autograd.operation.Operation`), so the check lives on the
      branch already taken for operations of many inputs.
    * **No visited set.** Every intermediate node has to start the pass with
      ``grad = 0.0`` anyway, so the walk sets it as it arrives, to one float
      object made for this walk: ``zero``. No node can have held that very
      object before, so ``node.grad is zero`` means "visited in this walk".
      An identity test on the node in hand costs less than hashing it into a
      set, and the separate pass that zeroed the gradients is gone.
    """
    order: list[_Intermediate] = []
    if root._operation is None:
        return order
    zero = _Zero()  # a new object each call: equal to 0.0, identical to nothing else
    stack: list[_Intermediate | None] = [cast("_Intermediate", root)]  # it has an operation (above)
    push = stack.append
    pop = stack.pop
    pop_marked = cast("Callable[[], _Intermediate]", stack.pop)  # as in topological_order
    append = order.append
    while stack:
        node = pop()
        if node is None:  # marker: the node below it has all its parents in `order`
            append(pop_marked())
            continue
        if node.grad is zero:
            continue
        node.grad = zero
        push(node)
        push(None)
        a = node._a
        if a.__class__ is tuple:  # many inputs (logsumexp), or some that gradients do not flow to (detach)
            parents = node._operation.gradient_parents(node)
            pending = (p for p in parents if p._operation is not None and p.grad is not zero)
            stack.extend(cast("Iterable[_Intermediate]", pending))  # each has an operation
            continue
        if a._operation is not None and a.grad is not zero:
            push(a)
        if node._operation.two_parents:  # decode's rule: the operation says whether _b is a parent
            b = node._b  # (any subclass of Value), not the class of what _b holds
            if b._operation is not None and b.grad is not zero:
                push(b)
    return order


def backward(root: Value) -> None:
    """Backpropagate from ``root``: fill ``.grad`` of every node it depends on.

    Leaves (inputs, parameters) **accumulate**: a second call adds to their
    ``.grad``, as in PyTorch, so reset them between optimisation steps
    (``zero_grad``). Every other node's ``.grad`` is set afresh: it holds the
    gradient of this pass only.

    Only the intermediate results are walked (leaves have no backward function
    to call), in the same relative order as ``topological_order(root)``, so
    every ``.grad`` receives its contributions in the same order, and the
    floating-point sums round exactly as the full walk would. The walk stops
    at a ``detach()`` (an input that gets no gradient): nodes behind it keep
    their ``.grad``, and the order of the rest may then differ from
    ``topological_order``'s (``explain`` and compiled replays follow this walk).

    **Threads.** The pass keeps its intermediate results in the nodes
    themselves (their ``.grad``), so two passes over graphs that share nodes
    (two losses on one model) would overwrite each other's. Passes are
    therefore serialised by one lock (:data:`gradient_lock`, also held by
    ``explain`` and compiled replays): two threads may call ``backward()`` at
    once, and every leaf ends with exactly what the two calls one after the
    other would give (which one goes first is not said). With Python's global
    interpreter lock the pure-Python walk would not run in parallel anyway, so
    the lock costs no speed.

    A local derivative that cannot be computed (a division by a number that
    was set to 0 after the forward pass) raises the same kind of error, naming
    the operation and the node; the leaves' gradients may then be partly
    updated (as after any exception in PyTorch's backward).
    """
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, not {type(root).__name__}")
    with gradient_lock:  # one backward pass at a time: they share the .grad of shared nodes
        order = _intermediate_nodes(root)  # each with grad 0.0
        root.grad += 1.0  # d(root)/d(root)
        node = root
        try:
            for node in reversed(order):
                node._operation.backward(node)  # adds node.grad * d(node)/d(parent) to each parent
        except ArithmeticError as error:
            raise _in_backward(error, node) from error


#: Held by every pass that writes gradients (``backward``, ``explain``, a compiled
#: replay), from its first ``.grad`` written to its last: see :func:`backward`.
gradient_lock = threading.RLock()


def _in_backward(error: ArithmeticError, node: Value) -> ArithmeticError:
    """The same kind of error, saying where in the backward pass it happened."""
    inputs = ", ".join(repr(p.data) for p in node.parents)
    return type(error)(
        f"backward through {node.op!r} (inputs {inputs}, output {node.data!r}"
        f"{', label ' + repr(node.label) if node.label else ''}): {error}; "
        "was an input's .data changed after the forward pass?"
    )


# ============================================================================
# Methods of Value that walk the graph (attached to the class below)
# ============================================================================


def _backward_method(self: Value) -> None:
    """Fill ``.grad`` of every node this one depends on: ``loss.backward()`` (see :func:`backward`)."""
    backward(self)


Value.backward = _backward_method  # declared in value.py, which cannot import this module
