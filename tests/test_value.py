"""``Value``: construction, operators, every operation's value and gradient, domain errors."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from ops import OPS, Op, close

from autograd import Value, gradcheck, topological_order

# ---------------------------------------------------------------- construction


@pytest.mark.parametrize(
    "data, expected",
    [
        (3, 3.0),
        (2.5, 2.5),
        (True, 1.0),
        (False, 0.0),
        (np.float64(1.25), 1.25),
        (np.float32(0.5), 0.5),
        (np.int64(-7), -7.0),
        (Fraction(1, 4), 0.25),
    ],
)
def test_data_is_stored_as_a_python_float(data, expected):
    v = Value(data)
    assert type(v.data) is float
    assert v.data == expected
    assert v.grad == 0.0 and type(v.grad) is float


@pytest.mark.parametrize(
    "bad, type_name",
    [("1.0", "str"), ([1.0], "list"), (None, "NoneType"), (1j, "complex"), (np.array([1.0, 2.0]), "ndarray")],
)
def test_non_numbers_are_rejected_with_the_type_named(bad, type_name):
    with pytest.raises(TypeError, match=type_name):
        Value(bad)


def test_a_value_is_not_accepted_as_data():
    with pytest.raises(TypeError, match="Value"):
        Value(Value(1.0))


def test_label_must_be_a_string():
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)


def test_a_leaf_has_no_op_and_no_parents():
    v = Value(2.0, label="x")
    assert v.op == ""
    assert v.parents == ()
    assert v.is_leaf
    assert v.label == "x"


def test_repr_shows_data_grad_and_label():
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(-1, label="w")) == "Value(data=-1.0, grad=0.0, label='w')"


# ---------------------------------------------------------------- the graph record


def test_operations_record_op_and_parents():
    a, b = Value(2.0), Value(3.0)
    c = a * b
    assert c.op == "*" and c.parents == (a, b) and not c.is_leaf
    d = c + 1
    assert d.op == "+" and d.parents == (c,) and d.constant == 1.0
    e = 2**a
    assert e.op == "**" and e.parents == (a,) and e.constant == 2.0
    assert a.tanh().op == "tanh"
    assert (-a).op == "neg"
    assert (a - 1).op == "-" and (1 - a).op == "-"
    assert (a / b).op == "/" and (3 / a).op == "/"


def test_constants_are_not_nodes():
    a = Value(2.0)
    y = (a * 3 + 1) ** 2
    assert len(topological_order(y)) == 4  # a, a*3, +1, **2


# ---------------------------------------------------------------- operators with numbers


def test_numbers_work_on_either_side():
    a = Value(3.0)
    assert (a + 1).data == 4.0 and (1 + a).data == 4.0
    assert (a - 1).data == 2.0 and (1 - a).data == -2.0
    assert (a * 2).data == 6.0 and (2 * a).data == 6.0
    assert (a / 2).data == 1.5 and (6 / a).data == 2.0
    assert (a**2).data == 9.0 and (2**a).data == 8.0
    assert (-a).data == -3.0 and abs(Value(-3.0)).data == 3.0


def test_numpy_scalars_on_the_left_defer_to_value():
    a = Value(3.0)
    for result in (np.float64(2.0) * a, np.float64(2.0) + a, np.int64(2) - a):
        assert isinstance(result, Value)
    assert (np.float64(2.0) * a).data == 6.0


@pytest.mark.parametrize("other", ["2", [1.0], None, 1j, object()])
def test_unsupported_operands_raise_python_type_error(other):
    a = Value(1.0)
    for operation in (
        lambda: a + other,
        lambda: other + a,
        lambda: a - other,
        lambda: other - a,
        lambda: a * other,
        lambda: other * a,
        lambda: a / other,
        lambda: other / a,
        lambda: a**other,
        lambda: other**a,
    ):
        with pytest.raises(TypeError):
            operation()


def test_comparisons_compare_data_and_return_bool():
    a, b = Value(1.0), Value(2.0)
    assert (a < b) is True and (a <= b) is True and (a > b) is False and (a >= b) is False
    assert (a < 1.5) is True and (2 > a) is True and (a >= 1) is True
    with pytest.raises(TypeError):
        _ = a < "x"


def test_equality_and_hash_are_by_identity():
    a, b = Value(1.0), Value(1.0)
    assert a != b and a == a
    assert len({a, b}) == 2
    assert {a: 1}[a] == 1


def test_value_uses_slots():
    v = Value(1.0)
    assert not hasattr(v, "__dict__")
    with pytest.raises(AttributeError):
        v.something_else = 1


# ---------------------------------------------------------------- every operation


def _cases():
    return [pytest.param(op, point, id=f"{op.name}{point}") for op in OPS for point in op.points]


def _ours(op: Op, point):
    leaves = [Value(x) for x in point]
    out = op.ours(*leaves)
    out.backward()
    return out.data, [v.grad for v in leaves]


def _theirs(op: Op, point):
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    out = op.theirs(*leaves)
    out.backward()
    return out.item(), [t.grad.item() for t in leaves]


@pytest.mark.parametrize("op, point", _cases())
def test_value_and_gradient_match_pytorch(op, point):
    data, grads = _ours(op, point)
    t_data, t_grads = _theirs(op, point)
    assert close(data, t_data), (data, t_data)
    for ours, theirs in zip(grads, t_grads, strict=True):
        # tanh/sigmoid/exp/log in torch may differ from libm by an ulp or two.
        assert close(ours, theirs, rel=1e-14), (ours, theirs)


def _moderate(point) -> bool:
    """Finite differences need moderate inputs, away from a domain's edge (log near 0)."""
    return all(abs(x) <= 50 and (x == 0 or abs(x) >= 1e-3) for x in point)


@pytest.mark.parametrize("op, point", [c for c in _cases() if c.values[0].smooth and _moderate(c.values[1])])
def test_gradient_matches_finite_differences(op, point):
    assert gradcheck(op.ours, [Value(x) for x in point])


@pytest.mark.parametrize("x", [-1000.0, -745.0, -40.0, 0.0, 40.0, 745.0, 1000.0, 1e308, -1e308])
def test_sigmoid_and_tanh_are_finite_for_every_finite_input(x):
    for method in ("sigmoid", "tanh"):
        v = Value(x)
        out = getattr(v, method)()
        out.backward()
        assert math.isfinite(out.data) and math.isfinite(v.grad)
    s = Value(-1000.0).sigmoid()
    assert s.data == 0.0


def test_sigmoid_of_minus_1000_is_zero_with_zero_gradient():
    v = Value(-1000)
    s = v.sigmoid()
    s.backward()
    assert s.data == 0.0 and v.grad == 0.0


def test_kink_conventions_follow_pytorch():
    for method, expected in (("relu", 0.0), ("__abs__", 0.0)):
        v = Value(0.0)
        getattr(v, method)().backward()
        assert v.grad == expected
    v = Value(0.0)
    v.leaky_relu(0.2).backward()
    assert v.grad == 0.2


def test_sqrt_of_zero_has_an_infinite_slope():
    v = Value(0.0)
    out = v.sqrt()
    out.backward()
    assert out.data == 0.0 and v.grad == math.inf


def test_division_is_correctly_rounded():
    # One rounding (a / b), not two (a * (1 / b)).
    assert (Value(0.1) / 3).data == 0.1 / 3
    assert (Value(1.0) / Value(49.0)).data == 1.0 / 49.0


def test_leaky_relu_slope_must_be_a_number():
    with pytest.raises(TypeError, match="slope"):
        Value(1.0).leaky_relu("0.1")


# ---------------------------------------------------------------- domain errors


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda x: x.log(), ValueError, ["log", "-1.0"]),
        (lambda x: (x + 1).log(), ValueError, ["log", "0.0"]),
        (lambda x: (x - 3).sqrt(), ValueError, ["sqrt", "-4.0"]),
        (lambda x: x**0.5, ValueError, ["**", "-1.0", "0.5"]),
        (lambda x: x ** Value(1.5), ValueError, ["**", "-1.0", "1.5"]),
        (lambda x: (-2.0) ** (x * -0.5), ValueError, ["**", "-2.0", "0.5"]),
        (lambda x: x / 0, ZeroDivisionError, ["division by zero", "-1.0"]),
        (lambda x: x / Value(0.0), ZeroDivisionError, ["division by zero", "-1.0"]),
        (lambda x: 1 / (x + 1), ZeroDivisionError, ["division by zero", "0.0"]),
        (lambda x: (x + 1) ** -1, ZeroDivisionError, ["**", "0.0", "-1.0"]),
        (lambda x: (x * -1000).exp(), OverflowError, ["exp", "1000.0"]),
        (lambda x: (x * -10) ** 400, OverflowError, ["**", "10.0", "400"]),
        (lambda x: (x * -math.inf).sin(), ValueError, ["sin", "inf"]),
        (lambda x: (x * -math.inf).cos(), ValueError, ["cos", "inf"]),
    ],
)
def test_domain_errors_name_the_operation_and_value_and_change_nothing(make, error, words):
    x = Value(-1.0, label="x")
    y = x * 1.0
    y.backward()
    before = [(n, n.data, n.grad) for n in topological_order(y)]
    with pytest.raises(error) as info:
        make(x)
    for word in words:
        assert word in str(info.value)
    after = [(n, n.data, n.grad) for n in topological_order(y)]
    assert after == before
    assert x.data == -1.0 and x.grad == 1.0


def test_exp_of_1000_raises_overflow_error_naming_exp():
    with pytest.raises(OverflowError, match=r"exp\(1000.0\)"):
        Value(1000).exp()


def test_log_of_zero_is_a_value_error():
    with pytest.raises(ValueError, match="log"):
        Value(0).log()


def test_negative_base_to_an_integer_power_is_fine():
    x = Value(-2.0)
    y = x**3
    y.backward()
    assert y.data == -8.0 and x.grad == 12.0


def test_an_overflowing_power_slope_is_infinite_as_in_pytorch():
    for base, exponent in ((2.2e-309, 2.2e-309), (-1e-300, -1.0), (-1e-110, -2.0)):
        a, b = Value(base), Value(exponent)
        (a**b).backward()
        ta = torch.tensor(base, dtype=torch.float64, requires_grad=True)
        tb = torch.tensor(exponent, dtype=torch.float64, requires_grad=True)
        (ta**tb).backward()
        assert a.grad == ta.grad.item() and math.isinf(a.grad)


# ---------------------------------------------------------------- numbers in, numbers out


def test_assigning_a_numpy_float32_keeps_double_precision():
    np = pytest.importorskip("numpy")
    x = Value(0.0)
    x.data = np.float32(0.1)
    assert type(x.data) is float and x.data == float(np.float32(0.1))
    y = (x * 3 + 1e-9).exp()
    exact = math.exp(float(np.float32(0.1)) * 3 + 1e-9)
    assert type(y.data) is float and y.data == exact  # float32 arithmetic would be ~6e-9 off


def test_assigning_a_non_number_to_data_is_refused_and_changes_nothing():
    x = Value(2.0)
    with pytest.raises(TypeError, match="str"):
        x.data = "3"
    assert x.data == 2.0


def test_numpy_booleans_are_numbers_like_pythons():
    np = pytest.importorskip("numpy")
    assert Value(np.bool_(True)).data == 1.0
    x = Value(2.0)
    y = x + np.bool_(1)
    y.backward()
    assert y.data == 3.0 and x.grad == 1.0


def test_a_huge_integer_is_an_overflow_error_that_shows_the_number():
    with pytest.raises(OverflowError, match=r"100000000000\.\.\.000000 \(401 digits\)"):
        Value(10**400)
    with pytest.raises(OverflowError, match="too large for a float"):
        Value(1.0) * 10**400


def test_an_integer_too_long_for_text_is_an_overflow_error_that_shows_the_number():
    """10**5000 has more digits than Python turns into text: the error still shows the number."""
    with pytest.raises(OverflowError, match=r"1\.000000e\+5000 \(5001 digits\) is too large for a float"):
        Value(10**5000)
    with pytest.raises(OverflowError, match=r"-3\.000000e\+5000"):
        Value(1.0) * (-3 * 10**5000)


def test_a_longdouble_beyond_a_float_is_refused_not_infinite():
    with pytest.raises(OverflowError, match=r"1e\+400 is too large for a float"):
        Value(np.longdouble("1e400"))
    x = Value(1.0)
    with pytest.raises(OverflowError, match="too large for a float"):
        x.data = np.longdouble("-1e400")
    assert x.data == 1.0  # refused: nothing changed
    assert Value(np.longdouble("inf")).data == math.inf  # an infinity is an infinity
    assert Value(np.longdouble("1.5")).data == 1.5


def test_a_value_and_a_numpy_array_give_an_object_array_of_values():
    a = Value(2.0)
    for result, expected in [
        (a * np.array([1.0, 2.0]), [2.0, 4.0]),
        (np.array([1.0, 2.0]) * a, [2.0, 4.0]),
        (np.array([Value(1.0), Value(3.0)], dtype=object) * a, [2.0, 6.0]),
        (a - np.array([[1.0], [3.0]]), [[1.0], [-1.0]]),
        (np.array([1.0, 4.0]) / a, [0.5, 2.0]),
    ]:
        assert result.dtype == object and result.shape == np.asarray(expected).shape
        assert all(type(v) is Value for v in result.flat)
        assert [v.data for v in result.flat] == list(np.asarray(expected, dtype=float).flat)
    total = (a * np.array([1.0, 2.0, 3.0])).sum()
    total.backward()
    assert a.grad == 6.0  # each element is an operation on a: the gradients add up


def test_numpy_scalars_compare_with_values():
    v = Value(2.0)
    assert (np.float64(3) > v) is True and (np.float64(1) > v) is False
    assert (np.float64(2) >= v) is True and (np.int64(1) < v) is True and (np.float32(2) <= v) is True
    assert list(np.array([1.0, 3.0]) > v) == [False, True]


def test_a_label_assigned_later_must_be_a_string():
    v = Value(1.0, label="x")
    with pytest.raises(TypeError, match="label must be a str, not int"):
        v.label = 5
    assert v.label == "x"


def test_the_number_comes_out_as_pytorch_and_python_expect():
    loss = Value(0.123456789)
    assert f"{loss:.4f}" == "0.1235"
    assert f"{loss}" == repr(loss)
    assert loss.item() == 0.123456789 and float(loss) == 0.123456789
    assert round(loss, 2) == 0.12 and round(Value(2.5)) == 2


def test_numpy_functions_are_the_engines_operations():
    np = pytest.importorskip("numpy")
    x = Value(0.5)
    y = np.tanh(np.exp(x) * 2.0)
    y.backward()
    assert y.op == "tanh"
    expected = (1 - math.tanh(2 * math.exp(0.5)) ** 2) * 2 * math.exp(0.5)
    assert x.grad == pytest.approx(expected, rel=1e-14)
    with pytest.raises(TypeError, match="numpy.arctan .*has no Value operation.*tanh"):
        np.arctan(x)


def test_numpy_object_arrays_of_values_give_gradients():
    np = pytest.importorskip("numpy")
    W = np.array([[Value(0.1), Value(-0.2)], [Value(0.3), Value(0.4)]], dtype=object)
    x = np.array([1.0, 2.0])
    h = np.tanh(W.dot(x))  # the NumPy XOR tutorial's shape of code
    loss = (h**2).sum()
    loss.backward()
    tW = torch.tensor([[0.1, -0.2], [0.3, 0.4]], dtype=torch.float64, requires_grad=True)
    (torch.tanh(tW @ torch.tensor([1.0, 2.0], dtype=torch.float64)) ** 2).sum().backward()
    assert [w.grad for w in W.flat] == pytest.approx(tW.grad.flatten().tolist(), rel=1e-12)


def test_a_division_by_a_zero_set_after_the_forward_pass_names_the_operation():
    x = Value(2.0, label="x")
    y = 1.0 / x
    x.data = 0.0
    with pytest.raises(ZeroDivisionError, match=r"through ./. .*inputs 0\.0.*changed after the forward"):
        y.backward()


# ---------------------------------------------------------------- pickling and copying


def test_a_graph_deeper_than_the_recursion_limit_pickles_and_copies():
    import copy
    import pickle

    x = Value(0.5, label="x")
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    for clone in (pickle.loads(pickle.dumps(y)), copy.deepcopy(y)):
        assert clone.data == y.data and clone.op == y.op
        clone.backward()
        (leaf,) = [n for n in topological_order(clone) if n.is_leaf]
        assert leaf.label == "x" and leaf.grad == 1.0 and leaf is not x


def test_pickling_keeps_shared_leaves_shared():
    import pickle

    w = Value(3.0)
    a, b = w * 2.0, w + 1.0
    a2, b2 = pickle.loads(pickle.dumps([a, b]))
    assert a2.parents[0] is b2.parents[0]
    (a2 + b2).backward()
    assert a2.parents[0].grad == 3.0


# ---------------------------------------------------------------- micrograd's names


def test_micrograd_names_work_node_by_node():
    """``_prev``, ``_op`` and ``_backward()`` behave as in micrograd's lecture."""
    x1, w1, b = Value(2.0), Value(-3.0), Value(6.8813735870195432)
    n = x1 * w1 + b
    o = n.tanh()
    assert o._prev == {n} and o._op == "tanh" and x1._op == "" and x1._prev == set()
    o.grad = 1.0
    o._backward()
    n._backward()
    n._prev.pop()  # a copy: the graph is read-only through _prev
    assert n._prev == {n.parents[0], b}
    n.parents[0]._backward()
    x1._backward()  # a leaf: nothing to do
    assert n.grad == pytest.approx(0.5) and w1.grad == pytest.approx(1.0) and x1.grad == pytest.approx(-1.5)
    with pytest.raises(AttributeError):
        o._prev = set()


def test_the_lectures_trace_helper_walks_our_graphs():
    def trace(root):  # as in micrograd's lecture notebook
        nodes, edges = set(), set()

        def build(v):
            if v not in nodes:
                nodes.add(v)
                for child in v._prev:
                    edges.add((child, v))
                    build(child)

        build(root)
        return nodes, edges

    a, b = Value(2.0), Value(-3.0)
    c = a * b
    d = c + a
    nodes, edges = trace(d)
    assert nodes == {a, b, c, d}
    assert edges == {(a, c), (b, c), (c, d), (a, d)}
    assert sorted(n._op for n in nodes) == ["", "", "*", "+"]


def test_micrograd_style_expressions_match_pytorch():
    """In the spirit of micrograd's test_engine: relu, powers, constants on both sides, ``+=``."""
    a, b = Value(-4.0), Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()

    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (-4.0, 2.0))
    tc = ta + tb
    td = ta * tb + tb**3
    tc = tc + tc + 1
    tc = tc + 1 + tc + (-ta)
    td = td + td * 2 + (tb + ta).relu()
    td = td + 3 * td + (tb - ta).relu()
    te = tc - td
    tf = te**2
    tg = tf / 2.0
    tg = tg + 10.0 / tf
    tg.backward()
    assert g.data == pytest.approx(tg.item(), rel=1e-12)
    assert a.grad == pytest.approx(ta.grad.item(), rel=1e-12)
    assert b.grad == pytest.approx(tb.grad.item(), rel=1e-12)
