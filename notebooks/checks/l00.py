"""Checkers of lesson 00's exercises (see ``course.py`` for what a checker promises).

Exercises 3 and 4 hand the student's code graphs built from :class:`Node`, a small
micrograd-style engine of the checker's own (``_prev``, ``_op``, ``_backward``): the
student's code sees only what the lesson's engine offers, and there is no library
``backward()`` to call instead of writing one. The right numbers come from
``autograd.Value`` on the same expression.
"""

from __future__ import annotations

import math

from course import Wrong, call, exercise, expect, expect_close, fresh_random, number

import autograd


class Node:
    """A number in a graph, as in lesson 00 (after the fix): ``+``, ``*``, ``tanh``, accumulating ``_backward``."""

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(dict.fromkeys(_children))
        self._op = _op

    def _make(self, data, parents, op, locals_):
        out = type(self)(data, parents, op)

        def _backward():
            for parent, local in zip(parents, locals_, strict=True):
                parent.grad += local() * out.grad

        out._backward = _backward
        return out

    def __add__(self, other):
        other = other if isinstance(other, Node) else type(self)(other)
        return self._make(self.data + other.data, (self, other), "+", (lambda: 1.0, lambda: 1.0))

    def __mul__(self, other):
        other = other if isinstance(other, Node) else type(self)(other)
        return self._make(self.data * other.data, (self, other), "*", (lambda: other.data, lambda: self.data))

    __radd__, __rmul__ = __add__, __mul__

    def tanh(self):
        t = math.tanh(self.data)
        return self._make(t, (self,), "tanh", (lambda: 1 - t * t,))

    def backward(self):
        """The reference walk (iterative), for the wrong answers below."""
        self.grad = 1.0
        for node in reversed(_post_order(self)):
            node._backward()


# ---------------------------------------------------------------- 00.1 · the buggy a·a


@exercise(
    "00.1",
    hint="In the buggy __mul__, self and other are the same object a: both lines of _backward write a.grad "
    "with `=`, and only the last one counts. What is that line's right-hand side when out.grad = 1?",
    wrong=[lambda a: 2 * a, lambda a: a * a, lambda a: 1.0, lambda a: 0.0],
)
def _(answer):
    rng = fresh_random()
    for _ in range(6):
        a = rng.choice((-1, 1)) * rng.uniform(0.5, 4.0)
        # buggy: a.grad = other.data * 1, then a.grad = self.data * 1: both are a
        expect_close(number(call(answer, a), "Your function's result"), a, f"At a = {a:.4f}, your value")
    return True


# ---------------------------------------------------------------- 00.2 · dL/db of L = ab + b·tanh(ab) + a²


def _dL_db(a: float, b: float) -> float:
    va, vb = autograd.Value(a), autograd.Value(b)
    ab = va * vb
    (ab + vb * ab.tanh() + va * va).backward()
    return vb.grad


@exercise(
    "00.2",
    hint="With u = ab: b reaches L through u directly (∂u/∂b = a), as the factor in front of tanh u, "
    "and through tanh u (slope 1 − tanh²u, then ∂u/∂b = a). Add the three paths.",
    wrong=[
        lambda a, b: a + math.tanh(a * b),
        lambda a, b: a + b * (1 - math.tanh(a * b) ** 2) * a,
        lambda a, b: a + math.tanh(a * b) + b * (1 - math.tanh(a * b) ** 2),
    ],
)
def _(answer):
    rng = fresh_random()
    for _ in range(8):
        a, b = rng.uniform(-2, 2), rng.uniform(-2, 2)
        got = number(call(answer, a, b), "Your function's result")
        expect_close(got, _dL_db(a, b), f"At a = {a:.4f}, b = {b:.4f}, your ∂L/∂b")
    return True


# ---------------------------------------------------------------- 00.3 · exp, in a subclass


def _with_exp(derivative: str, accumulate: bool) -> type:
    """A Node subclass with an exp of the kind students get wrong (for the wrong answers)."""

    class WithExp(Node):
        def exp(self):
            out = Node(math.exp(self.data), (self,), "exp")

            def _backward():
                local = out.data if derivative == "out" else self.data
                self.grad = (self.grad if accumulate else 0.0) + local * out.grad

            out._backward = _backward
            return out

    return WithExp


def _exp_trial(cls: object) -> bool:
    if not isinstance(cls, type):
        raise Wrong(f"answer_3 should be your class (ValueWithExp), not a {type(cls).__name__}.")
    expect(callable(getattr(cls, "exp", None)), "Your class has no method exp.")
    rng = fresh_random()
    for _ in range(4):
        x0 = rng.uniform(-1.5, 1.5)
        x = cls(x0)
        e = x.exp()
        expect_close(float(e.data), math.exp(x0), f"exp({x0:.4f}).data")
        expect(getattr(e, "_op", None) == "exp", "The result of exp should have _op = 'exp'.")
        expect(list(e._prev) == [x], "The result of exp should have exactly one parent, self.")
        y = x * e  # x·eˣ: x reaches y along two paths
        y.backward()
        reference = autograd.Value(x0)
        (reference * reference.exp()).backward()
        expect_close(float(x.grad), reference.grad, f"d(x·eˣ)/dx at x = {x0:.4f}")
        z = cls(x0)
        twice = z.exp()
        (twice + twice).backward()  # e used twice: its backward runs once with out.grad = 2
        expect_close(float(z.grad), 2 * math.exp(x0), f"z.grad for e + e with e = exp(z), z = {x0:.4f}")
    return True


@exercise(
    "00.3",
    hint="Follow tanh's pattern: one parent, the name 'exp', and a closure that adds upstream × local slope "
    "to the parent's gradient. The slope of eˣ is eˣ itself, which the closure can read from out.",
    wrong=[_with_exp("self", True), _with_exp("out", False), Node, int],
)
def _(answer):
    return call(_exp_trial, answer, what="Your class")


# ---------------------------------------------------------------- 00.4 · backward without recursion


def _random_graph(rng, make):
    """A random expression with shared sub-expressions, built twice: with ``make`` (Node) and autograd."""
    n_leaves = rng.randint(2, 4)
    values = [rng.uniform(-1.5, 1.5) for _ in range(n_leaves)]
    ours = [make(v) for v in values]
    theirs = [autograd.Value(v) for v in values]
    leaves = list(zip(ours, theirs, strict=True))
    pool = list(leaves)
    for _ in range(rng.randint(6, 14)):
        kind = rng.choice(("+", "*", "tanh"))
        (a, ta), (b, tb) = rng.choice(pool), rng.choice(pool)  # the same node may be chosen twice
        if kind == "+":
            pool.append((a + b, ta + tb))
        elif kind == "*":
            pool.append((a * b, ta * tb))
        else:
            pool.append((a.tanh(), ta.tanh()))
    root, troot = pool[-1]
    for node, tnode in pool[-4:-1]:  # make sure several nodes feed the root
        root, troot = root + node, troot + tnode
    return root, troot, leaves


def _backward_trial(backward: object) -> bool:
    rng = fresh_random()
    for _ in range(5):
        root, troot, leaves = _random_graph(rng, Node)
        call(backward, root, what="Your backward")
        troot.backward()
        expect_close(float(root.grad), 1.0, "The output's own gradient")
        for i, (leaf, tleaf) in enumerate(leaves):
            expect_close(
                float(leaf.grad), tleaf.grad, f"The gradient of leaf {i} of a random graph", abs_=1e-9
            )
    # a chain deeper than Python's recursion limit
    x = Node(0.3)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    call(backward, y, what="Your backward")
    expect_close(float(x.grad), 1.0001**5000, "The gradient at the start of a 5000-step chain", rel=1e-9)
    return True


def _recursive(root):
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for parent in node._prev:
                visit(parent)
            order.append(node)

    visit(root)
    root.grad = 1.0
    for node in reversed(order):
        node._backward()


def _post_order(root):
    """Every node ``root`` depends on, parents first (an iterative depth-first walk)."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node._prev)
    return order


def _not_reversed(root):
    root.grad = 1.0
    for node in _post_order(root):  # parents first: each _backward runs before its node's gradient is known
        node._backward()


@exercise(
    "00.4",
    hint="A node may run its _backward only when every node that uses it has run. Build a topological order "
    "with an explicit stack (push a node back, marked, before its parents; append it when it comes off marked), "
    "seed the output's gradient, and walk the order from the output end.",
    wrong=[_recursive, _not_reversed, lambda root: None, lambda root: setattr(root, "grad", 1.0)],
)
def _(answer):
    return _backward_trial(answer)
