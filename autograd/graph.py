"""Walking the graph: topological order, the backward pass, and ``no_grad``.

The backward pass in three steps
--------------------------------
1. **Order the nodes.** Collect every node the output depends on, each one
   *after* all of its parents (a topological order). Reversed, that order
   visits a node only once every node that used it has been visited, so by the
   time we reach a node its ``grad`` has received all its contributions.
2. **Seed.** d(output)/d(output) = 1.
3. **Apply the chain rule in reverse order.** Each node hands
   ``node.grad * local derivative`` to its parents (``Value``'s backward
   functions do this).

The walk is iterative, with an explicit stack instead of recursion, so a
chain of a million operations needs no more than Python's default recursion
limit (micrograd's recursive ``build_topo`` stops near a depth of 1,000).
"""

from __future__ import annotations

from contextlib import ContextDecorator

from . import value as _value
from .value import Value


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
    return _post_order(root, leaves=True)


def _post_order(root: Value, leaves: bool) -> list[Value]:
    """The walk behind ``topological_order``; ``leaves=False`` leaves the leaves out.

    ``backward`` only needs the nodes that have a backward function, in the
    same relative order. Never pushing a leaf saves a stack push, a pop and a
    set insertion per leaf: half the work on a graph like ``sum(x_i * w_i)``,
    where every product has two leaf parents.
    """
    order: list[Value] = []
    if not leaves and root._backward is None:
        return order
    visited: set[Value] = set()
    stack: list[Value | None] = [root]
    push = stack.append
    pop = stack.pop
    append = order.append
    while stack:
        node = pop()
        if node is None:  # marker: the node below it has all its parents in `order`
            append(pop())
            continue
        if node in visited:
            continue
        visited.add(node)
        a = node._a
        if a is None:  # a leaf has no parents: it is finished as soon as it is reached
            append(node)
            continue
        push(node)
        push(None)
        # Without leaves, the attribute test comes first: it spares a set lookup per leaf.
        if (leaves or a._backward is not None) and a not in visited:
            push(a)
        b = node._b
        # _b may hold a constant (a float) instead of a second parent.
        if b.__class__ is Value and (leaves or b._backward is not None) and b not in visited:
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
    floating-point sums round exactly as the full walk would.
    """
    if not isinstance(root, Value):
        raise TypeError(f"expected a Value, not {type(root).__name__}")
    order = _post_order(root, leaves=False)
    for node in order:  # intermediate results: start from zero
        node.grad = 0.0
    root.grad += 1.0  # d(root)/d(root)
    for node in reversed(order):
        node._backward(node)  # adds node.grad * d(node)/d(parent) to each parent


class no_grad(ContextDecorator):
    """Record no graph inside this block: every result is a leaf.

    Use it where gradients are not wanted: an optimizer writing new ``.data``,
    or evaluating a model. It saves the time and memory of recording::

        with no_grad():
            prediction = model(x)      # a leaf: no parents, nothing to backprop

    Also usable as a decorator. The switch is global to the process (not per
    thread, unlike PyTorch's).
    """

    def __enter__(self) -> no_grad:
        self._previous = _value._grad_enabled
        _value._grad_enabled = False
        return self

    def __exit__(self, *exc_info: object) -> None:
        _value._grad_enabled = self._previous


def is_grad_enabled() -> bool:
    """True unless inside a ``no_grad`` block."""
    return _value._grad_enabled
