"""Operations of one's own: the lecture's way (a ``_backward`` closure) and the engine's (``Operation``).

The lecture's way: ``Value(data, (a, b), "*")`` and ``out._backward = ...``,
on the class (``Value.cube = cube``) or in a subclass, checked against
PyTorch; the engine's own work that needs an operation written down
(``explain``, ``compile_graph``, pickling) refuses such nodes clearly.

The engine's way: ``Operation`` checked at definition; its helpers its own
(a helper named like a built-in's does not replace it); interpreter =
``gradcheck`` = ``explain`` (= compiled replay, once compile binds helpers
by object); pickling only of the registered operation of a name.

Subclasses of ``Value`` in every position, through every walk.
"""

from __future__ import annotations

import copy
import math
import pickle
import traceback

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import (
    Operation,
    Value,
    apply,
    compile_graph,
    draw_graph,
    explain,
    gradcheck,
    no_grad,
    topological_order,
    walkthrough,
)
from autograd import graph as graph_module
from autograd import value as value_module
from autograd.explain import expression, node_names
from autograd.operation import register


def _t(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-14)


# ============================================================================
# The lecture's way
# ============================================================================


def lecture_exp(self):
    x = self.data
    out = type(self)(math.exp(x), (self,), "exp")

    def _backward():
        self.grad += out.data * out.grad

    out._backward = _backward
    return out


def lecture_tanh(self):
    x = self.data
    t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
    out = type(self)(t, (self,), "tanh")

    def _backward():
        self.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def lecture_cube(self):
    out = type(self)(self.data**3, (self,), "cube")

    def _backward():
        self.grad += 3 * self.data**2 * out.grad

    out._backward = _backward
    return out


def lecture_mul(self, other):
    out = type(self)(self.data * other.data, (self, other), "*")

    def _backward():
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad

    out._backward = _backward
    return out


class Lecture(Value):
    """The lecture's operations written in a subclass (no __slots__: a student's class)."""

    exp = lecture_exp
    tanh = lecture_tanh
    cube = lecture_cube


class Leaf(Value):
    """A subclass with nothing of its own: it must act as a Value everywhere."""

    __slots__ = ()


class Student(Value):
    """A subclass as a student writes one: no __slots__ (its instances have a __dict__)."""


def _expression(x, w, exp, tanh, cube):
    """One expression over both ways: closures mixed with built-in operations, nodes used twice."""
    h = tanh(x * w + cube(x))
    return h * exp(x) + cube(w) * x - h


def _torch_reference(xv: float, wv: float) -> tuple[float, float, float]:
    x, w = _t(xv), _t(wv)
    y = _expression(x, w, torch.exp, torch.tanh, lambda a: a**3)
    y.backward()
    return y.item(), x.grad.item(), w.grad.item()


@pytest.mark.parametrize("xv, wv", [(0.3, -1.2), (-0.7, 0.4), (1.1, 0.9)])
def test_closures_added_to_the_class_match_pytorch(monkeypatch, xv, wv):
    monkeypatch.setattr(Value, "exp", lecture_exp)
    monkeypatch.setattr(Value, "tanh", lecture_tanh)
    monkeypatch.setattr(Value, "cube", lecture_cube, raising=False)
    x, w = Value(xv), Value(wv)
    y = _expression(x, w, Value.exp, Value.tanh, Value.cube)
    assert y.parents and {n.op for n in topological_order(y)} >= {"exp", "tanh", "cube", "*", "+", "-"}
    y.backward()
    data, gx, gw = _torch_reference(xv, wv)
    assert close(y.data, data) and close(x.grad, gx) and close(w.grad, gw)


@pytest.mark.parametrize("xv, wv", [(0.3, -1.2), (-0.7, 0.4)])
def test_closures_written_in_a_subclass_match_pytorch(xv, wv):
    """Lecture.cube(x) is a Lecture node; in ``a + cube(x)`` it is the second operand."""
    x, w = Lecture(xv), Lecture(wv)
    y = _expression(x, w, Lecture.exp, Lecture.tanh, Lecture.cube)
    y.backward()
    data, gx, gw = _torch_reference(xv, wv)
    assert close(y.data, data) and close(x.grad, gx) and close(w.grad, gw)


def test_lecture_constructor_signatures():
    a, b = Value(2.0), Value(-3.0)
    c = Value(a.data * b.data, (a, b), "*", label="c")
    assert (c.data, c.op, c._op, c.label, c.parents, c._prev) == (-6.0, "*", "*", "c", (a, b), {a, b})
    d = Value(1.5, _children=(c,), _op="exp")
    assert d.parents == (c,) and d.op == "exp" and not d.is_leaf
    assert Value(2.0, "x").label == "x"  # a str second argument is still the label
    assert Value(2.0, (), "", "y").label == "y" and Value(2.0, ()).is_leaf
    with pytest.raises(TypeError, match="child must be a Value, not float"):
        Value(1.0, (a, 2.0), "+")
    with pytest.raises(TypeError, match="label is given twice"):
        Value(1.0, "x", label="y")


def test_a_lecture_node_without_backward_passes_nothing_on():
    a = Value(2.0)
    c = Value(4.0, (a,), "square")  # no _backward assigned: as micrograd's default
    (c * 3).backward()
    assert a.grad == 0.0 and c.grad == 3.0


def test_backward_calls_closures_in_the_engines_order():
    """Each closure runs once, after every node that uses its result (the engine's reverse order)."""
    calls = []
    x = Value(0.5)

    def node(value, parents, name):
        out = Value(value, parents, name)

        def _backward():
            calls.append(name)
            for p in parents:
                p.grad += out.grad

        out._backward = _backward
        return out

    a = node(1.0, (x,), "a")
    b = node(2.0, (a, x), "b")
    c = node(3.0, (a, b), "c")
    (c * 2.0).backward()
    assert calls == ["c", "b", "a"]
    order = [n for n in topological_order(c) if not n.is_leaf]
    assert [n.op for n in reversed(order)] == calls
    assert x.grad == 2.0 * 3  # c → a (2) and c → b → a (2) and b → x (2): 2 + 2 + 2


def test_assigning_backward_on_an_engine_node_explains_the_rule():
    a, b = Value(2.0), Value(3.0)
    with pytest.raises(AttributeError, match=r"one definition \('\*': d/da = b; d/db = a\)"):
        (a * b)._backward = lambda: None
    with pytest.raises(AttributeError, match="a leaf has no parents"):
        a._backward = lambda: None
    c = Value(6.0, (a, b), "*")
    with pytest.raises(TypeError, match="function of no arguments"):
        c._backward = 3.0
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_under_no_grad_a_lecture_node_is_a_leaf():
    a = Value(2.0)
    with no_grad():
        c = lecture_cube(a)  # assigns _backward: accepted, nothing recorded
    assert c.is_leaf and c.parents == () and c.data == 8.0


def test_draw_graph_shows_lecture_nodes():
    a = Value(2.0, label="a")
    y = lecture_cube(a) * 2.0
    source = draw_graph(y).source
    assert "op1 [label=cube " in source and "n0 -> op1" in source and "op1 -> n1" in source
    assert explain_expression(y) == ["v1 = cube(a)"]


def test_walkthrough_shows_the_forward_pass_of_lecture_nodes():
    a = Value(2.0, label="a")
    y = (lecture_cube(a) * 2.0).tanh()
    page = walkthrough(y)
    assert [s.phase for s in page.steps] == ["start", "forward", "forward", "forward", "forward"]
    assert page.steps[2].lines == ("v1 = cube(a) = 8",)
    assert (
        "'cube' is a _backward closure" in page.steps[0].lines[1]
        and "autograd.Operation" in page.steps[0].lines[1]
    )
    assert "cube(a)" in page.html() and a.grad == 0.0


def explain_expression(root):
    order = topological_order(root)
    names = node_names(order)
    return [expression(n, names) for n in order if n.op == "cube"]


@pytest.mark.parametrize(
    "use",
    [
        lambda y: explain(y, show=False),
        lambda y: compile_graph(y),
        lambda y: pickle.dumps(y),
        lambda y: copy.deepcopy(y),
    ],
    ids=["explain", "compile_graph", "pickle", "deepcopy"],
)
def test_the_engines_own_work_refuses_lecture_nodes(use):
    a = Value(2.0)
    y = lecture_cube(a).tanh()
    with pytest.raises(TypeError, match=r"'cube' was made the lecture's way.*autograd\.Operation"):
        use(y)


# ============================================================================
# The engine's way: Operation
# ============================================================================


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (("cube", "a * a * a", {"a": "3.0 * a * aa"}), {}, r"'cube'.*derivative for 'a' uses 'aa'"),
        (("cube", "a * a * b", {"a": "3.0 * a * a"}), {}, r"'cube'.*forward uses 'b'"),
        (("mul2", "a * b", {"a": "b"}), {"inputs": ("a", "b")}, r"'mul2'.*input 'b' has no derivative"),
        (("mul2", "a * 2.0", {"a": "2.0", "z": "1.0"}), {"inputs": ("a",)}, r"'mul2'.*given for 'z'"),
        (("bad", "a *", {"a": "1.0"}), {}, r"'bad'.*forward is not a Python expression"),
        (("bad", "math.expp(a)", {"a": "out"}), {}, r"'bad'.*math.expp"),
        (("bad", "_f(a)", {"a": "1.0"}), {}, r"'bad'.*forward uses '_f'"),
        (
            ("bad", "a * k", {"a": "k"}),
            {"params": ("k",), "helpers": {"k": abs}},
            r"'bad'.*'k' is used twice",
        ),
        (("bad", "a", {"out": "1.0"}), {}, r"'bad'.*'out'"),
        (("bad", "_x", {"_x": "1.0"}), {}, r"'bad'.*'_x' starts with _"),
        (("bad", "_h(a)", {"a": "1.0"}), {"helpers": {"_h": 3.0}}, r"'bad'.*helper '_h' is not a function"),
    ],
)
def test_operation_is_checked_at_definition(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        Operation(*args, **kwargs)


def test_a_correct_definition_is_accepted_with_math_and_builtins():
    op = Operation(
        "soft_abs",
        "math.sqrt(a * a + eps) + abs(0.0)",
        {"a": "a / out"},
        params=("eps",),
    )
    x = Value(-3.0)
    y = apply(op, x, 1e-12)
    y.backward()
    assert math.isclose(y.data, 3.0) and math.isclose(x.grad, -1.0)


# One user operation whose helper has the name of a built-in's helper (``_sigmoid``), another whose
# helper is a different function under the same name again.
DOUBLE = Operation(
    "double_by_helper",
    "_sigmoid(a)",
    {"a": "_two(a)"},
    helpers={"_sigmoid": lambda a: 2 * a, "_two": lambda a: 2.0},
)
TRIPLE = Operation("triple_by_helper", "_sigmoid(a)", {"a": "3.0"}, helpers={"_sigmoid": lambda a: 3 * a})


def _clashing_graph(x: Value, w: Value) -> Value:
    return apply(DOUBLE, x).sigmoid() * w + apply(TRIPLE, w * x).sigmoid() + x.sigmoid()


def _sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def test_helpers_clashing_with_built_ins_interpreter_gradcheck_explain():
    xv, wv = 0.3, -0.8
    x, w = Value(xv), Value(wv)
    y = _clashing_graph(x, w)
    expected = _sig(2 * xv) * wv + _sig(3 * wv * xv) + _sig(xv)
    assert math.isclose(y.data, expected, rel_tol=1e-15)
    y.backward()
    tx, tw = _t(xv), _t(wv)
    (torch.sigmoid(2 * tx) * tw + torch.sigmoid(3 * tw * tx) + torch.sigmoid(tx)).backward()
    assert close(x.grad, tx.grad.item()) and close(w.grad, tw.grad.item())
    assert gradcheck(_clashing_graph, [Value(xv), Value(wv)])
    x2, w2 = Value(xv), Value(wv)
    explanation = explain(_clashing_graph(x2, w2), show=False)
    assert x2.grad == x.grad and w2.grad == w.grad
    formulas = {step.formula for step in explanation if step.op == "double_by_helper"}
    assert formulas == {"two(v0)"}  # the helper's own name, as written in its derivative


def test_helpers_clashing_with_built_ins_compiled_replay():
    x, w = Value(0.3), Value(-0.8)
    y = _clashing_graph(x, w)
    y.backward()
    interpreted = (y.data, x.grad, w.grad)
    x.grad = w.grad = 0.0
    step = compile_graph(y)
    step()
    assert (y.data, x.grad, w.grad) == interpreted


def test_each_operation_gets_its_own_helper_names():
    assert DOUBLE.bound_helpers.keys().isdisjoint(TRIPLE.bound_helpers.keys())
    assert DOUBLE.bound_helpers.keys().isdisjoint(value_module.SIGMOID.bound_helpers.keys())
    # the same function object keeps one name, in every operation that uses it
    assert value_module.SIGMOID.bound_helpers.keys() <= value_module.SOFTPLUS.bound_helpers.keys() | {
        k for k, f in value_module.SIGMOID.bound_helpers.items() if f is value_module._sigmoid
    }
    (alias,) = [k for k, f in TRIPLE.bound_helpers.items()]
    assert TRIPLE.bound_forward == f"{alias}(a)" and alias.startswith("_")
    namespace = {"math": math, **TRIPLE.bound_helpers, "a": 2.0}
    assert eval(TRIPLE.bound_forward, namespace) == 6.0


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("right", [True, False])
def test_apply_every_mix_of_values_and_numbers(left, right):
    op = Operation("scaled_diff", "(a - b) * 3.0", {"a": "3.0", "b": "-3.0"})
    a = Value(5.0) if left else 5.0
    b = Value(2.0) if right else 2.0
    if not (left or right):
        with pytest.raises(TypeError, match="scaled_diff: at least one input must be a Value"):
            apply(op, a, b)
        return
    y = apply(op, a, b)
    assert y.data == 9.0 and y.operation.base is op
    assert y.constants == (() if left and right else (2.0,) if left else (5.0,))
    y.backward()
    assert [p.grad for p in y.parents] == [g for g, on in ((3.0, left), (-3.0, right)) if on]
    with pytest.raises(TypeError, match="scaled_diff takes 2 inputs and 0 params, not 1 operands"):
        apply(op, a)


def test_apply_with_params():
    op = Operation("scaled", "a * k", {"a": "k"}, params=("k",))
    x = Value(2.0)
    y = apply(op, x, 4)
    y.backward()
    assert (y.data, y.constants, x.grad) == (8.0, (4.0,), 4.0)
    with pytest.raises(TypeError, match="k must be a number, not str"):
        apply(op, x, "3")


def test_apply_and_the_built_in_methods_build_the_same_node():
    x, w = Value(1.5), Value(-2.0)
    for built, applied in [
        (x * w, apply(value_module.MUL, x, w)),
        (x * 2, apply(value_module.MUL, x, 2)),
        (2 * x, apply(value_module.MUL, 2, x)),
        (x.leaky_relu(0.1), apply(value_module.LEAKY_RELU, x, 0.1)),
        (x.clamp(0.0, 1.0), apply(value_module.CLAMP, x, 0.0, 1.0)),
    ]:
        assert (built.data, built.operation, built.parents, built.constants) == (
            applied.data,
            applied.operation,
            applied.parents,
            applied.constants,
        )


def test_a_user_operation_with_a_forward_only_input_through_every_walk():
    """``apply`` (written per operation) keeps a forward-only operation's inputs as a tuple in ``_a``:
    no gradient reaches the stopped input, in backward, ``explain`` and a compiled replay alike."""
    stopped_scale = register(Operation("stopped_scale", "a * b", {"a": None, "b": "a"}))
    x, w = Value(3.0), Value(2.0)
    h = x * 1.0
    node = apply(stopped_scale, h, w)
    assert node._a == (h, w) and node._b is None
    assert (node.parents, node.constants, node.is_leaf) == ((h, w), (), False)
    y = node * w  # a * w * w with a stopped: dy/dw = 2 a w = 12, dy/dx = 0 (no contribution at all)
    y.backward()
    interpreted = (y.data, x.grad, w.grad, h.grad)
    assert interpreted == (12.0, 0.0, 12.0, 0.0)
    x.grad = w.grad = 0.0
    explanation = explain(y, show=False)
    assert (x.grad, w.grad) == (0.0, 12.0)
    assert h not in {step.parent for step in explanation}
    x.grad = w.grad = 0.0
    compile_graph(y)()
    assert (y.data, x.grad, w.grad) == interpreted[:3]
    x.grad = w.grad = 0.0
    copied = pickle.loads(pickle.dumps(y))
    copied.backward()
    assert copied.parents[0].parents[1].grad == 12.0  # w's copy
    with pytest.raises(ValueError, match="'stopped_scale': an operation with a forward-only input keeps no"):
        apply(stopped_scale, h, 2.0)


def test_a_failing_user_rule_shows_its_line_in_the_traceback():
    shaky = Operation("shaky", "a * 2.0", {"a": "1.0 / (a - a)"})
    y = apply(shaky, Value(1.0))
    with pytest.raises(ZeroDivisionError) as caught:
        y.backward()
    text = "".join(traceback.format_exception(caught.value))
    assert "p0.grad += g / (a - a)" in text  # a derivative 1.0 / d is applied as g / d


# ---------------------------------------------------------------- pickling
SQUARE_PLUS = register(Operation("test_square_plus", "a * a + b", {"a": "2.0 * a", "b": "1.0"}))


def test_a_registered_user_operation_pickles_and_deepcopies():
    x, b = Value(3.0), Value(1.0)
    y = apply(SQUARE_PLUS, x, b) * 2.0
    for copied in (pickle.loads(pickle.dumps(y)), copy.deepcopy(y)):
        assert copied.parents[0].operation is SQUARE_PLUS
        copied.backward()
        assert [p.grad for p in copied.parents[0].parents] == [12.0, 2.0]


@pytest.mark.parametrize("name", ["tanh", "test_unregistered_cube"])
def test_an_operation_that_is_not_the_registered_one_is_never_pickled(name):
    shadow = Operation(name, "a * 10.0", {"a": "10.0"})
    y = apply(shadow, Value(2.0))
    for use in (pickle.dumps, copy.deepcopy):
        with pytest.raises(pickle.PicklingError, match=rf"cannot pickle operation '{name}'.*register"):
            use(y)


# ============================================================================
# Subclasses of Value in every position, through every walk
# ============================================================================

BINARY = [
    lambda a, b: a + b,
    lambda a, b: a - b,
    lambda a, b: a * b,
    lambda a, b: a / (b * b + 1.0),
    lambda a, b: a.maximum(b),
]
UNARY = [
    lambda a: a.tanh(),
    lambda a: a * 0.5,
    lambda a: 2.0 - a,
    lambda a: a.sigmoid(),
]
programs = st.lists(
    st.tuples(st.integers(0, len(BINARY) + len(UNARY) - 1), st.integers(0, 10**6), st.integers(0, 10**6)),
    min_size=1,
    max_size=25,
)
kinds = st.lists(st.sampled_from([Value, Leaf, Student]), min_size=2, max_size=5)


def _build(program, leaves):
    nodes = list(leaves)
    for op, i, j in program:
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        nodes.append(BINARY[op](a, b) if op < len(BINARY) else UNARY[op - len(BINARY)](a))
    out = nodes[-1]
    for node in nodes[-4:-1]:
        out = out + node
    return out


def _leaves(kinds):
    return [kind(0.3 + 0.37 * k) for k, kind in enumerate(kinds)]


def _reference_grads(program, n):
    """The same program on plain Values: the gradients every walk must reproduce."""
    leaves = _leaves([Value] * n)
    out = _build(program, leaves)
    out.backward()
    return out.data, [v.grad for v in leaves]


@settings(max_examples=120)
@given(program=programs, kinds=kinds)
def test_subclass_leaves_in_every_position_through_every_walk(program, kinds):
    data, expected = _reference_grads(program, len(kinds))
    leaves = _leaves(kinds)
    out = _build(program, leaves)
    order = topological_order(out)
    assert set(order) >= {v for v in leaves if v in _ancestors(out)}
    out.backward()
    assert out.data == data and [v.grad for v in leaves] == expected
    for v in leaves:
        v.grad = 0.0
    explain(out, show=False)
    assert [v.grad for v in leaves] == expected
    assert draw_graph(out, max_nodes=10_000).source.count("->") >= len(order) - 1
    copied = pickle.loads(pickle.dumps((out, leaves)))
    for v in copied[1]:
        v.grad = 0.0
    copied[0].backward()
    assert [v.grad for v in copied[1]] == expected
    assert [type(v) for v in copied[1]] == kinds


def _ancestors(root):
    """Every node reachable through ``decode``: the reference the walks are compared with."""
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(value_module.decode(node)[0])
    return seen


def test_decode_reads_every_layout():
    x, s = Value(2.0), Leaf(3.0)
    lecture = Lecture(4.0)
    for node, parents, constants in [
        (x, (), ()),
        (x * s, (x, s), ()),
        (s * x, (s, x), ()),
        (s * 2.0, (s,), (2.0,)),
        (2.0 - s, (s,), (2.0,)),
        (s.clamp(0.0, 1.0), (s,), (0.0, 1.0)),
        (s.tanh(), (s,), ()),
        (value_module.logsumexp([x, s]), (x, s), ()),
        (s.detach(), (s,), ()),
        (lecture.cube(), (lecture,), ()),
        (Value(1.0, (x, s, x), "f"), (x, s, x), ()),
    ]:
        assert value_module.decode(node) == (parents, constants)
        assert (node.parents, node.constants) == (parents, constants)


def test_a_subclass_result_as_second_operand_gets_its_gradient():
    x, s = Value(2.0), Lecture(3.0)
    y = x * s.cube()  # the Lecture node is in the product's _b
    y.backward()
    assert (x.grad, s.grad) == (27.0, 3 * 9.0 * 2.0)


def test_the_backward_walk_visits_what_decode_reaches():
    x, s = Value(2.0), Lecture(3.0)
    y = (x * s.cube()).tanh() + s.exp() * x
    intermediate = set(graph_module._intermediate_nodes(y))
    assert intermediate == {n for n in _ancestors(y) if not n.is_leaf}


def test_compile_graph_with_a_subclass_leaf_as_second_operand():
    x, s = Value(2.0), Leaf(3.0)
    y = (x * s).tanh()
    y.backward()
    expected = (x.grad, s.grad)
    x.grad = s.grad = 0.0
    compile_graph(y)()
    assert (x.grad, s.grad) == expected


@settings(max_examples=60)
@given(program=programs, n=st.integers(2, 5))
def test_lecture_subclass_nodes_in_every_position_in_backward(program, n):
    """Every leaf a Lecture: its tanh results are closure nodes, anywhere in the graph."""
    data, expected = _reference_grads(program, n)
    leaves = _leaves([Lecture] * n)
    out = _build(program, leaves)
    out.backward()
    assert math.isclose(out.data, data, rel_tol=1e-12)
    assert all(
        math.isclose(g, e, rel_tol=1e-9, abs_tol=1e-12)
        for g, e in zip([v.grad for v in leaves], expected, strict=True)
    )
