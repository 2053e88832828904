"""Every operation, on every path: the interpreter, a compiled replay and ``explain`` agree exactly.

Each operation is defined once (``autograd/operation.py``); this walks the one
table of operations (``tests/ops.py``) at ordinary points and at the edges
(zero and negative inputs, the kinks of relu and abs, ±inf, NaN) and checks:

* a compiled replay gives the interpreter's value and gradients bit for bit,
  or raises the same kind of error;
* ``explain``'s contributions add up to the interpreter's gradients bit for bit;
* an infinite or NaN upstream gradient times a zero local derivative is NaN
  (IEEE arithmetic), never a silent 0 (PyTorch gives 0 where it selects
  instead of multiplying: relu, clamp, maximum/minimum, ``x ** 0``);
* the edges where PyTorch has a convention (NaN bounds, subnormal
  denominators, -0.0, ``abs(nan)``, ``0 ** nan``) against torch float64.
"""

from __future__ import annotations

import math
import struct

import pytest
import torch
from ops import OPS, Op

from autograd import Value, compile_graph, explain, topological_order
from autograd.value import _UFUNCS, OPERATIONS

EDGES = (0.0, -0.0, -2.0, 0.5, math.inf, -math.inf, math.nan)


def _edge_points(op: Op) -> list[tuple[float, ...]]:
    ordinary = op.points[0]
    points = list(op.points)
    for i in range(op.arity):
        for edge in EDGES:
            points.append(ordinary[:i] + (edge,) + ordinary[i + 1 :])
    return points


def _cases():
    return [pytest.param(op, point, id=f"{op.name}{point}") for op in OPS for point in _edge_points(op)]


def same(a: float, b: float) -> bool:
    """Bit-for-bit equal floats (every NaN counts as equal to every NaN)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return struct.pack("<d", a) == struct.pack("<d", b)


def interpret(op: Op, point: tuple[float, ...]) -> tuple[float, list[float]] | type:
    leaves = [Value(x) for x in point]
    try:
        out = op.ours(*leaves)
        out.backward()
    except (ArithmeticError, ValueError) as error:
        return type(error)
    return out.data, [v.grad for v in leaves]


def replay(op: Op, point: tuple[float, ...]) -> tuple[float, list[float]] | type:
    """Record the graph at an ordinary point, then replay it compiled at ``point``."""
    leaves = [Value(x) for x in op.points[0]]
    step = compile_graph(op.ours(*leaves))
    for leaf, x in zip(leaves, point, strict=True):
        leaf.data = x
        leaf.grad = 0.0
    try:
        value = step()
    except (ArithmeticError, ValueError) as error:
        return type(error)
    return value, [v.grad for v in leaves]


@pytest.mark.parametrize("op, point", _cases())
def test_interpreter_compiled_replay_and_explain_agree(op, point):
    replay_result = replay(op, point)
    interpreted = interpret(op, point)
    if isinstance(interpreted, type):
        assert replay_result is interpreted, f"the replay gave {replay_result}, the interpreter {interpreted}"
        return
    assert not isinstance(replay_result, type), f"the replay raised {replay_result.__name__}"
    value, grads = interpreted
    assert same(replay_result[0], value), (replay_result[0], value)
    for replayed, ours in zip(replay_result[1], grads, strict=True):
        assert same(replayed, ours), (replayed, ours)

    leaves = [Value(x) for x in point]
    steps = explain(op.ours(*leaves), show=False)
    for leaf, expected in zip(leaves, grads, strict=True):
        assert same(leaf.grad, expected), (leaf.grad, expected)
        if steps.steps_for(leaf):
            assert same(steps.total(leaf), expected)


def test_the_table_covers_every_operation():
    """A new operation needs a row in tests/ops.py (and nothing else: all paths derive from it)."""
    covered = set()
    for op in OPS:
        leaves = [Value(x) for x in op.points[0]]
        covered.update(n.op for n in topological_order(op.ours(*leaves)) if n.op)
    assert covered == set(OPERATIONS)


# ------------------------------------------------------------ IEEE: upstream × local, in full

ZERO_LOCAL = [
    ("0 ** x", lambda x: 0.0**x, 2.0),
    ("abs at 0", abs, 0.0),
    ("relu below 0", lambda x: x.relu(), -1.0),
    ("relu at 0", lambda x: x.relu(), 0.0),
    ("clamp outside", lambda x: x.clamp(-1.0, 1.0), 3.0),
    ("x * 0", lambda x: x * 0.0, 2.0),
    ("maximum, the other input", lambda x: x.maximum(5.0), 2.0),
]


@pytest.mark.parametrize("upstream", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("name, f, x0", ZERO_LOCAL, ids=[z[0] for z in ZERO_LOCAL])
def test_a_non_finite_upstream_times_a_zero_slope_is_nan(name, f, x0, upstream):
    for path in ("interpreter", "compiled", "explain"):
        x = Value(x0)
        y = f(x) * upstream  # d(out)/d(f(x)) = upstream
        if path == "interpreter":
            y.backward()
        elif path == "compiled":
            compile_graph(y)()
        else:
            explain(y, show=False)
        assert math.isnan(x.grad), f"{path}: {x.grad}"


def test_relu_of_nan_is_nan_with_gradient_passing_through_as_in_pytorch():
    x = Value(math.nan)
    y = x.relu()
    y.backward()
    t = torch.tensor(math.nan, dtype=torch.float64, requires_grad=True)
    torch.relu(t).backward()
    assert math.isnan(y.data) and math.isnan(torch.relu(t).item())
    assert x.grad == t.grad.item() == 1.0


@pytest.mark.parametrize(
    "make",
    [
        lambda x: x.log(),
        lambda x: x.sqrt(),
        lambda x: x.log1p(),
        lambda x: x.exp(),
        lambda x: x.tanh(),
        lambda x: x.sigmoid(),
        lambda x: x.softplus(),
        lambda x: x.relu(),
        lambda x: x.leaky_relu(),
        lambda x: abs(x),
        lambda x: x.sin(),
        lambda x: x.clamp(0.0, 1.0),
        lambda x: x.maximum(1.0),
        lambda x: x**2,
        lambda x: 2.0**x,
        lambda x: x / 2.0,
    ],
)
def test_nan_propagates_through_every_operation(make):
    assert math.isnan(make(Value(math.nan)).data)


@pytest.mark.parametrize(
    "base, exponent", [(-0.5, math.inf), (-math.inf, -math.inf), (-1.0, math.nan), (-2.0, math.inf)]
)
def test_negative_bases_to_infinite_or_nan_powers_follow_python_and_pytorch(base, exponent):
    ours = (Value(base) ** exponent).data
    theirs = torch.tensor(base, dtype=torch.float64) ** exponent
    assert same(ours, theirs.item()) and same(ours, base**exponent)


def test_every_mapped_ufunc_is_an_operation_with_gradients():
    np = pytest.importorskip("numpy")
    for name in _UFUNCS:
        ufunc = getattr(np, name)
        x = Value(0.7)
        out = ufunc(x, 2.0) if ufunc.nin == 2 else ufunc(x)
        assert isinstance(out, Value) and out.parents == (x,), name
        out.backward()
        assert x.grad != 0.0, name


# ------------------------------------------------------------ NaN bounds, subnormals, signed zeros (issue 20)


def _three_paths(make, point: tuple[float, ...], upstream: float = 1.0):
    """(value, gradients) from the interpreter, a compiled replay and ``explain``, at ``point``."""
    results = []
    for path in ("interpreter", "compiled", "explain"):
        leaves = [Value(x) for x in point]
        out = make(*leaves)
        y = out * upstream
        if path == "interpreter":
            y.backward()
        elif path == "compiled":
            compile_graph(y)()
        else:
            explain(y, show=False)
        results.append((path, out.data, [v.grad for v in leaves]))
    return results


def _torch(make, point: tuple[float, ...], upstream: float = 1.0):
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    out = make(*leaves)
    (out * upstream).backward()
    return out.item(), [t.grad.item() for t in leaves]


@pytest.mark.parametrize(
    "low, high, x",
    [(math.nan, 1.0, 0.5), (0.0, math.nan, 5.0), (math.nan, math.nan, 0.5), (math.nan, None, 2.0)],
)
def test_a_nan_bound_of_clamp_makes_value_and_gradient_nan(low, high, x):
    """Issue 20 item 3: the NaN is not hidden. PyTorch's value is NaN too (its gradient is 0: ours is
    NaN, which says that the output does not depend on ``x`` in any defined way)."""
    theirs, _ = _torch(lambda t: torch.clamp(t, low, high), (x,))
    assert math.isnan(theirs)
    for path, value, (grad,) in _three_paths(lambda v: v.clamp(low, high), (x,)):
        assert math.isnan(value) and math.isnan(grad), (path, value, grad)


def test_the_log_of_a_subnormal_number_has_a_finite_gradient_where_the_product_is_finite():
    """Issue 20 item 14: ``g / a``, not ``g · (1/a)`` (1/1e-310 overflows; 1e-10/1e-310 does not)."""
    make = lambda v: v.log() * 1e-10  # noqa: E731
    _, (theirs,) = _torch(lambda t: t.log() * 1e-10, (1e-310,))
    for path, _, (grad,) in _three_paths(make, (1e-310,)):
        assert math.isfinite(grad) and grad == pytest.approx(theirs, rel=1e-15), (path, grad, theirs)


@pytest.mark.parametrize(
    "name, ours, theirs, x, upstream",
    [
        ("sqrt at -0.0", lambda v: v.sqrt(), torch.sqrt, -0.0, 1.0),
        ("sqrt at -0.0, negative upstream", lambda v: v.sqrt(), torch.sqrt, -0.0, -2.0),
        ("sqrt at +0.0", lambda v: v.sqrt(), torch.sqrt, 0.0, 1.0),
        ("abs at nan", abs, torch.abs, math.nan, 1.0),
        ("abs at -0.0", abs, torch.abs, -0.0, 1.0),
    ],
)
def test_edge_gradients_match_pytorch_bit_for_bit(name, ours, theirs, x, upstream):
    """Signed zeros, infinities and NaN as torch (float64) gives them, on all three paths."""
    _, (expected,) = _torch(theirs, (x,), upstream)
    for path, _, (grad,) in _three_paths(ours, (x,), upstream):
        assert same(grad, expected) or (grad == pytest.approx(expected, rel=1e-15) and grad != 0.0), (
            name,
            path,
            grad,
            expected,
        )


@pytest.mark.parametrize("base, exponent", [(0.0, math.nan), (0.0, 2.0), (0.0, 0.0), (2.0, math.nan)])
def test_the_exponents_gradient_at_base_zero_is_nan_for_a_nan_exponent(base, exponent):
    """``0.0 ** nan``: d/d(exponent) is NaN (PyTorch), not the 0 of ``0 ** b`` for b ≥ 0."""
    _, expected = _torch(lambda a, b: a**b, (base, exponent))
    for path, _, grads in _three_paths(lambda a, b: a**b, (base, exponent)):
        assert all(same(g, e) for g, e in zip(grads, expected, strict=True)), (path, grads, expected)
