"""Random composite graphs (hypothesis) against PyTorch: values and every leaf's gradient.

A graph is a little program: start from a few leaves, then each step applies
one operation to nodes chosen from *all* nodes made so far, so sub-expressions
are shared (a node feeds several later ones) and the same node can appear on
both sides of an operation. The same program runs on our engine and on torch
float64 tensors; the results must agree to 1e-9 relative.

Operations with a restricted domain get inputs that are always inside it
(``log(x² + 0.5)``, ``a / (b² + 1)``), so every generated program is valid.
"""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value

# name -> (number of node operands, function on any operands: ours or torch's).
# The functions use only operators and methods that both libraries share.
UNARY = {
    "neg": lambda a: -a,
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "relu": lambda a: a.relu(),
    "abs": lambda a: abs(a),
    "sin": lambda a: a.sin(),
    "cos": lambda a: a.cos(),
    "exp_tanh": lambda a: a.tanh().exp(),
    "log": lambda a: (a * a + 0.5).log(),
    "sqrt": lambda a: (a * a + 0.25).sqrt(),
    "pow_const": lambda a: (a * a + 0.5) ** 1.5,
    "square": lambda a: a**2,
    "rpow": lambda a: 1.5 ** a.tanh(),
    "add_const": lambda a: a + 0.75,
    "rsub_const": lambda a: 2.0 - a,
    "mul_const": lambda a: a * -1.25,
    "rdiv_const": lambda a: 1.0 / (a * a + 1.0),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "pow": lambda a, b: (a * a + 0.5) ** b.tanh(),
}


def _leaky(a):
    if isinstance(a, Value):
        return a.leaky_relu(0.05)
    return torch.nn.functional.leaky_relu(a, 0.05)


UNARY["leaky_relu"] = _leaky

steps = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(sorted(UNARY)), st.integers(0, 10**6)),
        st.tuples(st.sampled_from(sorted(BINARY)), st.integers(0, 10**6), st.integers(0, 10**6)),
    ),
    min_size=1,
    max_size=40,
)
leaf_values = st.lists(
    st.floats(min_value=-2.0, max_value=2.0, allow_nan=False, allow_infinity=False), min_size=1, max_size=4
)


def _run(program, leaves):
    """Apply the program to ``leaves``; return all nodes (the last is the output)."""
    nodes = list(leaves)
    for name, *picks in program:
        operands = [nodes[p % len(nodes)] for p in picks]
        fn = UNARY.get(name) or BINARY[name]
        nodes.append(fn(*operands))
    return nodes


def _sum_of_last(nodes, k=3):
    """Sum the last few nodes, so that several branches reach the output."""
    out = nodes[-1]
    for node in nodes[-k:-1]:
        out = out + node
    return out


@settings(max_examples=300)
@given(program=steps, data=leaf_values)
def test_random_graphs_match_pytorch(program, data):
    ours_leaves = [Value(x) for x in data]
    ours = _sum_of_last(_run(program, ours_leaves))
    ours.backward()

    torch_leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in data]
    theirs = _sum_of_last(_run(program, torch_leaves))
    theirs.backward()

    assert math.isclose(ours.data, theirs.item(), rel_tol=1e-9, abs_tol=1e-12)
    scale = max([1.0] + [abs(t.grad.item()) for t in torch_leaves if t.grad is not None])
    for v, t in zip(ours_leaves, torch_leaves, strict=True):
        expected = 0.0 if t.grad is None else t.grad.item()
        assert math.isclose(v.grad, expected, rel_tol=1e-9, abs_tol=1e-12 * scale), (v.grad, expected)
