"""``autograd.explain``: the backward pass written out step by step, exact to the last bit."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, topological_order
from autograd.explain import Explanation, Step, explain, node_names


def neuron() -> tuple[Value, dict[str, Value]]:
    """micrograd's neuron: o = tanh(x1*w1 + x2*w2 + b)."""
    v = {
        "x1": Value(2.0, label="x1"),
        "x2": Value(0.0, label="x2"),
        "w1": Value(-3.0, label="w1"),
        "w2": Value(1.0, label="w2"),
        "b": Value(6.8813735870195432, label="b"),
    }
    n = v["x1"] * v["w1"] + v["x2"] * v["w2"] + v["b"]
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, v


# ------------------------------------------------------------ random graphs
# A recipe is a list of operations, each on nodes picked from everything built
# so far (so sub-expressions are shared, and ``x * x`` happens when i == j).
_BINARY = ("+", "-", "*", "/", "**")
_UNARY = ("tanh", "sigmoid", "relu", "leaky_relu", "abs", "neg", "sin", "cos", "exp", "log", "sqrt")
_CONSTANT = ("+c", "-c", "c-", "*c", "/c", "c/", "**c", "c**")


def _apply(op: str, a: Value, b: Value, c: float) -> Value:
    if op in _BINARY:
        return (
            {"+": a + b, "-": a - b, "*": a * b}[op] if op in "+-*" else (a / b if op == "/" else abs(a) ** b)
        )
    if op in _CONSTANT:
        return {
            "+c": lambda: a + c,
            "-c": lambda: a - c,
            "c-": lambda: c - a,
            "*c": lambda: a * c,
            "/c": lambda: a / c,
            "c/": lambda: c / a,
            "**c": lambda: a ** round(c * 2),
            "c**": lambda: abs(c) ** a,
        }[op]()
    if op == "neg":
        return -a
    if op == "abs":
        return abs(a)
    return getattr(a, op)()


def build(recipe, data):
    """The graph described by ``recipe`` on leaves holding ``data``; returns (leaves, nodes)."""
    leaves = [Value(x, label=f"x{i}") for i, x in enumerate(data)]
    nodes = list(leaves)
    for op, i, j, c in recipe:
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        try:
            out = _apply(op, a, b, c)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue  # outside the operation's domain: skip it
        # Moderate numbers only: huge or subnormal ones make the *engine's*
        # backward overflow (e.g. the slope of tiny ** tiny), which is not explain's business.
        if math.isfinite(out.data) and (out.data == 0.0 or 1e-6 < abs(out.data) < 1e6):
            nodes.append(out)
    return leaves, nodes


recipes = st.lists(
    st.tuples(
        st.sampled_from(_BINARY + _UNARY + _CONSTANT),
        st.integers(0, 50),
        st.integers(0, 50),
        st.floats(-3, 3).filter(lambda c: abs(c) > 0.1),
    ),
    min_size=1,
    max_size=25,
)
leaf_data = st.lists(st.floats(-2, 2).filter(lambda x: x == 0.0 or abs(x) > 1e-6), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(recipes, leaf_data)
def test_steps_sum_exactly_to_every_grad_and_match_backward(recipe, data):
    leaves, nodes = build(recipe, data)
    root = nodes[-1]
    steps = explain(root, show=False)

    twin_leaves, twin_nodes = build(recipe, data)  # the same graph, differentiated by the engine
    twin_nodes[-1].backward()
    twin = dict(zip(topological_order(root), topological_order(twin_nodes[-1]), strict=True))

    for node in topological_order(root):
        assert node.grad == twin[node].grad or (math.isnan(node.grad) and math.isnan(twin[node].grad))
        # Summing a node's contributions, in order, from 0 gives its .grad exactly.
        total = 0.0
        for step in steps:
            if step.parent is node:
                total += step.contribution
        assert total == node.grad or (math.isnan(total) and math.isnan(node.grad))
        assert steps.total(node) == total or math.isnan(total)


def test_x_times_x_gets_two_steps_one_per_edge():
    x = Value(3.0, label="x")
    y = x * x
    steps = explain(y, show=False)
    assert [s.contribution for s in steps] == [1.0, 3.0, 3.0]
    assert [s.parent for s in steps] == [y, x, x]
    assert [s.grad_after for s in steps[1:]] == [3.0, 6.0]
    assert x.grad == 6.0


def test_order_is_the_engines_and_one_step_per_edge():
    o, v = neuron()
    steps = explain(o, show=False)
    order = topological_order(o)
    expected = [(o, o)] + [(n, p) for n in reversed(order) for p in n.parents]
    assert [(s.node, s.parent) for s in steps] == expected
    assert steps[0].is_seed and not any(s.is_seed for s in steps[1:])
    assert [s.index for s in steps] == list(range(len(steps)))


def test_neuron_numbers_match_pytorch():
    o, v = neuron()
    steps = explain(o, show=False)
    t = {k: torch.tensor(x.data, dtype=torch.float64, requires_grad=True) for k, x in v.items()}
    to = torch.tanh(t["x1"] * t["w1"] + t["x2"] * t["w2"] + t["b"])
    to.backward()
    for k, x in v.items():
        assert x.grad == pytest.approx(t[k].grad.item(), rel=1e-12, abs=1e-15)
    tanh_step = next(s for s in steps if s.op == "tanh")
    assert tanh_step.formula == "(1 - o) * (1 + o)"  # d tanh(n)/dn = 1 - tanh², with o = tanh(n)
    assert tanh_step.local == pytest.approx(1 - math.tanh(o._a.data) ** 2)
    assert (tanh_step.node_name, tanh_step.parent_name) == ("o", "n")


def test_leaves_accumulate_like_backward():
    o, v = neuron()
    v["w1"].grad = 0.25  # left over from an earlier pass
    steps = explain(o, show=False)
    w1_steps = steps.steps_for(v["w1"])
    assert w1_steps[0].grad_before == 0.25
    assert 0.25 + sum(s.contribution for s in w1_steps) == v["w1"].grad == steps.total(v["w1"])

    o2, v2 = neuron()
    v2["w1"].grad = 0.25
    o2.backward()
    assert {k: x.grad for k, x in v.items()} == {k: x.grad for k, x in v2.items()}


def test_a_second_explain_accumulates_leaves_but_resets_intermediates():
    o, v = neuron()
    explain(o, show=False)
    first = {k: x.grad for k, x in v.items()}
    n_grad = o._a.grad
    explain(o, show=False)
    assert {k: x.grad for k, x in v.items()} == {k: 2 * g for k, g in first.items()}
    assert o._a.grad == n_grad


# ------------------------------------------------------------ local derivatives against PyTorch
# name: (expression on autograd Values a, b; the same on torch tensors)
_LOCAL_CASES = {
    "a + b": (lambda a, b: a + b, lambda a, b: a + b),
    "a - b": (lambda a, b: a - b, lambda a, b: a - b),
    "a * b": (lambda a, b: a * b, lambda a, b: a * b),
    "a / b": (lambda a, b: a / b, lambda a, b: a / b),
    "a ** b": (lambda a, b: a**b, lambda a, b: a**b),
    "a + c": (lambda a, b: a + 2.5, lambda a, b: a + 2.5),
    "a - c": (lambda a, b: a - 2.5, lambda a, b: a - 2.5),
    "c - a": (lambda a, b: 2.5 - a, lambda a, b: 2.5 - a),
    "-a": (lambda a, b: -a, lambda a, b: -a),
    "a * c": (lambda a, b: a * 2.5, lambda a, b: a * 2.5),
    "a / c": (lambda a, b: a / 2.5, lambda a, b: a / 2.5),
    "c / a": (lambda a, b: 2.5 / a, lambda a, b: 2.5 / a),
    "a ** c": (lambda a, b: a**3, lambda a, b: a**3),
    "c ** a": (lambda a, b: 2.5**a, lambda a, b: 2.5**a),
    "sqrt": (lambda a, b: a.sqrt(), lambda a, b: a.sqrt()),
    "exp": (lambda a, b: a.exp(), lambda a, b: a.exp()),
    "log": (lambda a, b: a.log(), lambda a, b: a.log()),
    "tanh": (lambda a, b: a.tanh(), lambda a, b: a.tanh()),
    "sigmoid": (lambda a, b: a.sigmoid(), lambda a, b: a.sigmoid()),
    "relu on": (lambda a, b: a.relu(), lambda a, b: a.relu()),
    "relu off": (lambda a, b: (a * -1.0).relu(), lambda a, b: (a * -1.0).relu()),
    "leaky_relu on": (lambda a, b: a.leaky_relu(0.1), lambda a, b: torch.nn.functional.leaky_relu(a, 0.1)),
    "leaky_relu off": (
        lambda a, b: (a * -1.0).leaky_relu(0.1),
        lambda a, b: torch.nn.functional.leaky_relu(a * -1.0, 0.1),
    ),
    "abs": (lambda a, b: abs(a), lambda a, b: a.abs()),
    "sin": (lambda a, b: a.sin(), lambda a, b: a.sin()),
    "cos": (lambda a, b: a.cos(), lambda a, b: a.cos()),
}


@pytest.mark.parametrize("case", list(_LOCAL_CASES))
def test_local_derivatives_match_pytorch(case):
    ours, theirs = _LOCAL_CASES[case]
    a, b = Value(1.7, label="a"), Value(0.6, label="b")
    out = ours(a, b)
    steps = explain(out * 3.0, show=False)
    ta, tb = (torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (1.7, 0.6))
    tout = theirs(ta, tb)
    local_steps = [s for s in steps if s.node is out]
    assert len(local_steps) == len(out.parents) >= 1
    for s in local_steps:
        # d(out)/d(input) from PyTorch, the input being a, b, or a's product with -1 ("off" cases)
        tin = {"a": ta, "b": tb}.get(s.parent_name)
        if tin is None:
            (d,) = torch.autograd.grad(tout, [ta])
            expected = d.item() / -1.0
        else:
            (d,) = torch.autograd.grad(tout, [tin], retain_graph=True)
            expected = d.item()
        assert s.local == pytest.approx(expected, rel=1e-12, abs=1e-15), s
        assert s.upstream == 3.0
        assert s.contribution == pytest.approx(s.upstream * s.local, rel=1e-14)


def test_switched_off_branches_contribute_zero():
    x = Value(-1.0, label="x")
    z = Value(0.0, label="z")
    y = x.relu() + abs(z) + z**2.0 + 0.0 ** x.relu()
    steps = explain(y, show=False)
    relu_step = next(s for s in steps if s.op == "relu")
    abs_step = next(s for s in steps if s.op == "abs")
    assert relu_step.contribution == 0.0 and relu_step.local == 0.0
    assert abs_step.contribution == 0.0
    assert x.grad == steps.total(x) == 0.0
    assert z.grad == steps.total(z) == 0.0


@settings(max_examples=100, deadline=None)
@given(recipes, leaf_data)
def test_contribution_is_upstream_times_local_up_to_rounding(recipe, data):
    """The table's local derivatives agree with what the engine's backward functions add."""
    _, nodes = build(recipe, data)
    for s in explain(nodes[-1], show=False):
        expected = s.upstream * s.local
        if math.isnan(expected) or math.isinf(expected):
            continue
        assert s.contribution == pytest.approx(expected, rel=1e-12, abs=1e-300), s


# ------------------------------------------------------------ names and output
def test_names_are_labels_or_stable_generated_names():
    a, b = Value(1.0, label="x"), Value(2.0, label="x")
    c = Value(3.0, label="v3")
    y = (a * b + c) * 2.0
    order = topological_order(y)
    names = node_names(order)
    assert len(set(names.values())) == len(order)
    assert {names[a], names[b]} == {"x#1", "x#2"}
    assert names[c] == "v3"
    generated = [names[n] for n in order if not n.label]
    assert all(name.startswith("v") for name in generated)
    assert names == node_names(topological_order(y))  # stable


def test_text_table_is_aligned_and_readable(capsys):
    o, v = neuron()
    steps = explain(o)
    printed = capsys.readouterr().out
    assert printed.strip() == str(steps)
    lines = str(steps).splitlines()
    assert len(lines) == len(steps) + 3  # header, rule, the key below
    assert lines[0].split()[:3] == ["#", "chain", "rule"]
    assert "d(o)/d(n) += d(o)/d(o) · d(o)/d(n)" in str(steps)
    assert "o = tanh(n)" in str(steps)
    assert "d(o)/d(o) = 1" in lines[2]
    # every column starts at the same place on every line
    rule = lines[1]
    starts = [i for i in range(len(rule)) if rule[i] == "-" and (i == 0 or rule[i - 1] == " ")]
    for line in lines[2:-1]:
        for start in starts[1:]:
            assert line[start - 2 : start] == "  "


def test_show_false_prints_nothing(capsys):
    o, _ = neuron()
    explain(o, show=False)
    assert capsys.readouterr().out == ""


def test_html_table_is_well_formed():
    o, _ = neuron()
    steps = explain(o, show=False)
    table = ET.fromstring(steps._repr_html_())
    assert table.tag == "table"
    assert len(table.findall("./tbody/tr")) == len(steps)
    assert len(table.findall("./thead/tr/th")) == len(table.find("./tbody/tr"))


def test_result_is_a_list_of_steps():
    o, _ = neuron()
    steps = explain(o, show=False)
    assert isinstance(steps, Explanation) and isinstance(steps, list)
    assert all(isinstance(s, Step) for s in steps)


def test_a_leaf_root_is_just_the_seed():
    x = Value(2.0, label="x")
    steps = explain(x, show=False)
    assert len(steps) == 1 and x.grad == 1.0 and steps.total(x) == 1.0


def test_bad_input_raises_and_changes_nothing():
    o, v = neuron()
    with pytest.raises(TypeError, match="Value"):
        explain(3.0)
    with pytest.raises(TypeError, match="show"):
        explain(o, show="yes")
    assert all(x.grad == 0.0 for x in v.values())
    steps = explain(o, show=False)
    with pytest.raises(ValueError, match="no step"):
        steps.total(Value(1.0))


def _big_graph(n: int) -> tuple[Value, list[Value]]:
    """sum of x_i * w_i: 1 + 2n + (n - 1) * 2 chain-rule steps."""
    xs = [Value(float(i), label=f"x{i}") for i in range(n)]
    ws = [Value(0.5, label=f"w{i}") for i in range(n)]
    total = xs[0] * ws[0]
    for x, w in zip(xs[1:], ws[1:], strict=True):
        total = total + x * w
    return total, xs + ws


def test_a_big_explanation_prints_a_summary_but_keeps_every_step(capsys):
    """Issue 20, item 19: explain(loss) on the moons demo printed 28.8 MB; now the table is cut."""
    root, leaves = _big_graph(2_000)
    steps = explain(root)
    printed = capsys.readouterr().out
    assert len(printed) < 100_000, f"{len(printed):,} characters printed for {len(steps):,} steps"
    from autograd.explain import MAX_ROWS

    assert len(steps) == 1 + 2 * 2_000 + 2 * 1_999  # every step is kept
    assert all(steps.total(v) == v.grad for v in leaves)
    lines = printed.splitlines()
    assert len(lines) <= MAX_ROWS + 4  # header, rule, the "not shown" line, the key
    hidden = len(steps) - MAX_ROWS
    assert f"… {hidden:,} steps not shown" in printed
    shown = [int(line.split()[0]) for line in lines[2:] if line.split()[0].isdigit()]
    assert shown == [*range(MAX_ROWS // 2), *range(len(steps) - MAX_ROWS // 2, len(steps))]  # first and last
    assert str(steps) == printed.rstrip("\n") and repr(steps) == str(steps)
    page = steps._repr_html_()
    assert page.count("<tr>") <= MAX_ROWS + 2 and f"{hidden:,} steps not shown" in page
    full = steps.table(max_rows=None)
    assert len(full.splitlines()) == len(steps) + 3 and "not shown" not in full
    small, _ = neuron()
    assert "not shown" not in str(explain(small, show=False))  # a small graph: every row
