"""The vectorised replay (``compile_graph(..., vectorize=True)``, ``compile_sample``) against the interpreter.

A piece repeated across samples runs once over NumPy arrays. Its numbers must
be ``backward()``'s to 1e-12 (relative, or absolute below 1: NumPy's ``exp``,
``log``... and its pairwise sums round differently from ``math`` and from
one-by-one additions), its errors the scalar replay's (naming the operation
and the sample), and nothing may be written when it fails.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, compile_graph, topological_order
from autograd.compile import compile_sample
from autograd.compile_vector import ArrayForms, array_expression
from autograd.value import OPERATIONS
from tests.test_compile import batch_graph, mlp_batch, sample_steps, small_pieces

TOLERANCE = 1e-12


def close(a: float, b: float) -> bool:
    """Equal to 1e-12 (relative above 1, absolute below); NaN matches NaN, infinities match exactly."""
    if math.isnan(b):
        return math.isnan(a)
    if math.isinf(b) or math.isinf(a):
        return a == b
    return abs(a - b) <= TOLERANCE * max(1.0, abs(b))


# ---------------------------------------------------------------------------
# Each operation's array form, from its one definition, against its scalar form.

EDGES = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -2.5,
    3.0,
    1e-300,
    700.0,
    710.0,
    -745.0,
    1e300,
    math.inf,
    -math.inf,
    math.nan,
]


def _scalar(function, *arguments):
    try:
        return function(*arguments), None
    except (ArithmeticError, ValueError) as error:
        return None, type(error)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_operations_array_form_computes_its_scalar_form_sample_by_sample(name):
    """Forward and every derivative, evaluated over arrays of edge values, match the scalar expressions."""
    operation = OPERATIONS[name]
    forms = ArrayForms()
    rng = random.Random(0)
    if operation.nary:
        rows = [tuple(rng.choice(EDGES) for _ in range(3)) for _ in range(200)]
        names = ["xs"]
    else:
        names = list(operation.inputs + operation.params)
        rows = [tuple(rng.choice(EDGES) for _ in names) for _ in range(300)]
        rows += [tuple(e for _ in names) for e in EDGES]  # every edge value in every place
    # The expressions as generated code writes them: each helper under its bound name (one per function).
    expressions = {
        "forward": operation.bound_forward,
        **{f"d/d{k}": v for k, v in operation.bound_derivatives.items() if v is not None},
    }
    namespace = {"math": math, **operation.bound_helpers}
    for what, expression in expressions.items():
        array_text = forms(operation, expression)
        scalar_code = compile(expression, "<scalar>", "eval")
        array_code = compile(array_text, "<array>", "eval")
        for row in rows:
            env = {"xs": row} if operation.nary else dict(zip(names, row, strict=True))
            out, error = _scalar(operation.compute, *([row] if operation.nary else row))
            if error is not None:
                if what == "forward":  # the array form raises the same kind of error, naming the sample
                    arrays = {
                        k: (tuple(np.array([x, 1.0]) for x in v) if k == "xs" else np.array([v, 1.0]))
                        for k, v in env.items()
                    }
                    with pytest.raises(error, match=r"in sample 0"), np.errstate(all="ignore"):
                        eval(array_code, forms.namespace, arrays)
                continue
            env["out"] = out
            if operation.nary:
                env["x"] = row[0]
            expected, scalar_error = _scalar(eval, scalar_code, namespace, dict(env))
            if scalar_error is not None:
                continue  # a derivative the interpreter could not compute at a point it never reaches
            arrays = {
                k: (tuple(np.array([x, x]) for x in v) if isinstance(v, tuple) else np.array([v, v]))
                for k, v in env.items()
            }
            with np.errstate(all="ignore"):
                got = np.broadcast_to(
                    np.asarray(eval(array_code, forms.namespace, arrays), dtype=float), (2,)
                )
            assert close(float(got[0]), float(expected)), (name, what, row, got[0], expected)


def test_a_branch_becomes_an_element_wise_choice_written_from_the_same_expression():
    relu = OPERATIONS["relu"]
    assert array_expression(relu, relu.bound_forward) == "_where(a <= 0.0, 0.0, a)"
    assert array_expression(relu, relu.bound_derivatives["a"]) == "_where(a <= 0.0, 0.0, 1.0)"


# ---------------------------------------------------------------------------
# Whole graphs: random samples repeated over random batch sizes.


@settings(max_examples=60, deadline=None)
@given(
    program=st.lists(sample_steps, min_size=2, max_size=10),
    params=st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=3),
    new=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3),
    constants=st.lists(
        st.sampled_from([0.5, -1.5, 0.0, -0.0, 2.0, 1e-3, 40.0, math.inf, -math.inf, math.nan]),
        min_size=2,
        max_size=9,
    ),
    start=st.floats(-1.0, 1.0),
    pairwise=st.booleans(),
    write_back=st.booleans(),
    inputs_are_leaves=st.booleans(),
)
def test_vectorised_replay_equals_backward(
    program, params, new, constants, start, pairwise, write_back, inputs_are_leaves
):
    leaves = [Value(p) for p in params]
    inputs = [Value(c) for c in constants] if inputs_are_leaves else constants
    try:
        loss = batch_graph(program, leaves, inputs, pairwise)
    except (ArithmeticError, ValueError):
        return
    order = topological_order(loss)
    with small_pieces():
        step = compile_graph(loss, write_back=write_back, vectorize=True)

    new = new[: len(leaves)]
    for leaf, x in zip(leaves, new, strict=True):
        leaf.data, leaf.grad = x, start
    if inputs_are_leaves:
        for leaf in inputs:
            leaf.grad = start
    before = [(v.data, v.grad) for v in order]
    fresh = [Value(x) for x in new]
    for leaf in fresh:
        leaf.grad = start
    fresh_inputs = [Value(c) for c in constants] if inputs_are_leaves else constants
    if inputs_are_leaves:
        for leaf in fresh_inputs:
            leaf.grad = start
    try:
        fresh_loss = batch_graph(program, fresh, fresh_inputs, pairwise)
        fresh_loss.backward()
    except (ArithmeticError, ValueError):
        with pytest.raises((ArithmeticError, ValueError)):
            step()
        assert [(v.data, v.grad) for v in order] == before  # nothing written
        return
    result = step()
    assert close(result, fresh_loss.data), (result, fresh_loss.data)
    for leaf, other in zip(leaves, fresh, strict=True):
        assert close(leaf.grad, other.grad), (leaf.grad, other.grad)
    if inputs_are_leaves:
        for a, b in zip(inputs, fresh_inputs, strict=True):
            assert close(a.grad, b.grad), (a.grad, b.grad)
    if write_back:
        for node, other in zip(order, topological_order(fresh_loss), strict=True):
            assert close(node.data, other.data) and close(node.grad, other.grad)


def test_an_mlp_batch_runs_its_sample_piece_once_over_arrays_and_matches_backward():
    params, loss = mlp_batch(30)
    recorded = loss()
    step = compile_graph(recorded, vectorize=True, write_back=True)
    assert "found 30 times" in step.source and "over arrays" in step.source
    for p in params:
        p.data *= 0.9
        p.grad = 0.25
    result = step()
    grads = [p.grad for p in params]
    inner = [(n.data, n.grad) for n in topological_order(recorded)]
    for p in params:
        p.grad = 0.25
    fresh = loss()
    fresh.backward()
    assert close(result, fresh.data)
    assert all(close(a, p.grad) for a, p in zip(grads, params, strict=True))
    expected = [(n.data, n.grad) for n in topological_order(fresh)]
    assert all(close(a, c) and close(b, d) for (a, b), (c, d) in zip(inner, expected, strict=True))


def _moons_batch(values: list[float]) -> tuple[list[Value], Value]:
    """A batch whose samples take one leaf each through log: a domain error belongs to one sample."""
    w = Value(1.5)
    xs = [Value(v) for v in values]
    terms = [((x * w + 0.25).log() * w).tanh() + (x * x).sqrt() for x in xs]
    return xs, sum(terms[1:], terms[0])


def test_a_domain_error_names_the_operation_and_the_sample_and_writes_nothing():
    xs, loss = _moons_batch([0.5, 1.0, 2.0, 3.0, 0.7])
    with small_pieces(piece_nodes=4, repeated_nodes=3):
        step = compile_graph(loss, vectorize=True)
    assert "over arrays" in step.source
    xs[3].data = -2.0  # log(-2·1.5 + 0.25) in the fourth sample
    grads = [x.grad for x in xs]
    with pytest.raises(
        ValueError, match=r"log: logarithm of a non-positive number \(-2\.75\) in sample"
    ) as error:
        step()
    assert "Value(data=-2.0" in str(error.value) and "replaying line" in str(error.value)
    assert [x.grad for x in xs] == grads and loss.grad == 0.0


def test_nan_and_infinity_propagate_per_sample_as_in_the_interpreter():
    xs, loss = _moons_batch([0.5, 1.0, 2.0, 3.0, 0.7])
    with small_pieces(piece_nodes=4, repeated_nodes=3):
        step = compile_graph(loss, vectorize=True)
    xs[1].data, xs[2].data = math.nan, math.inf
    result = step()
    fresh, fresh_loss = _moons_batch([0.5, math.nan, math.inf, 3.0, 0.7])
    fresh_loss.backward()
    assert math.isnan(result) and math.isnan(fresh_loss.data)
    assert all(close(a.grad, b.grad) for a, b in zip(xs, fresh, strict=True)), (
        [x.grad for x in xs],
        [x.grad for x in fresh],
    )


# ---------------------------------------------------------------------------
# One sample's graph, replayed for batches of any size.


def _model(seed: int):
    nn = pytest.importorskip("nn")
    return nn.MLP(3, [5, 2], activation="tanh", seed=seed)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 100), sizes=st.lists(st.integers(1, 9), min_size=2, max_size=3))
def test_one_sample_graph_serves_batches_of_every_size(seed, sizes):
    model = _model(seed)
    params = model.parameters()
    inputs = [Value(0.0) for _ in range(3)]
    replay = compile_sample(model(inputs), inputs)
    rng = random.Random(seed)
    for n in sizes:  # a last, smaller (or larger) batch included
        X = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(n)]
        G = [[rng.uniform(-1, 1) for _ in range(2)] for _ in range(n)]
        for p in params:
            p.grad = 0.0
        outputs = replay.forward(X)
        replay.backward(G)
        grads = [p.grad for p in params]
        for p in params:
            p.grad = 0.0
        total = None
        for x, g, row in zip(X, G, outputs, strict=True):
            out = model(x)
            assert all(close(float(a), b.data) for a, b in zip(row, out, strict=True))
            term = out[0] * g[0] + out[1] * g[1]
            total = term if total is None else total + term
        total.backward()
        assert all(close(a, p.grad) for a, p in zip(grads, params, strict=True)), n


def test_compile_sample_rejects_what_it_cannot_replay():
    x = Value(1.0)
    y = x * 2.0
    with pytest.raises(ValueError, match="leaf"):
        compile_sample([x], [x])
    with pytest.raises(ValueError, match="distinct leaves"):
        compile_sample([y], [y])
    with pytest.raises(TypeError):
        compile_sample([1.0], [x])
    replay = compile_sample([y], [x])
    with pytest.raises(ValueError, match="1 columns"):
        replay.forward([[1.0, 2.0]])
    with pytest.raises(RuntimeError, match="forward first"):
        replay.backward([[1.0]])


def test_a_forward_pass_for_the_outputs_only_keeps_nothing_for_backward():
    w = Value(3.0)
    x = Value(0.0)
    y = (w * x).tanh() * w
    replay = compile_sample([y], [x])
    assert replay.operations == 3  # w·x, tanh, · w: one array each per forward pass
    kept = replay.forward([[0.5], [1.0]])
    only = replay.forward([[0.5], [1.0]], keep_for_backward=False)
    assert only.tolist() == kept.tolist()
    assert all(
        close(a, b) for a, b in zip(only[:, 0], [math.tanh(1.5) * 3.0, math.tanh(3.0) * 3.0], strict=True)
    )
    with pytest.raises(RuntimeError, match="forward first"):  # nor the pass kept before it
        replay.backward([[1.0], [1.0]])
    assert w.grad == 0.0


# ---------------------------------------------------------------------------
# fit(compile=True) with mini-batches: the vectorised replay against each batch's graph.


def test_fit_compiled_mini_batches_follow_each_batchs_own_graph(monkeypatch):
    nn = pytest.importorskip("nn")
    from nn import train

    X, y = nn.data.make_moons(23, noise=0.2, seed=3, labels="01")
    y = [int(t) for t in y]

    def run():
        model = nn.MLP(2, [6, 2], seed=1)
        optimizer = nn.optim.Adam(model.parameters(), lr=0.05)
        history = train.fit(
            model,
            X,
            y,
            nn.losses.cross_entropy,
            optimizer,
            epochs=5,
            batch_size=10,
            progress=False,
            seed=2,
            compile=True,
        )
        return history, [p.data for p in model.parameters()]

    vectorised, weights = run()  # batches of 10, 10 and a last one of 3
    monkeypatch.setattr(train, "_sample_by_sample", lambda model, X: False)
    each_batch, expected = run()  # each batch's own graph, compiled (bit for bit the interpreter)
    for key in each_batch:
        assert all(
            abs(a - b) <= 1e-9 * max(1.0, abs(b))
            for a, b in zip(vectorised[key], each_batch[key], strict=True)
        )
    assert all(abs(a - b) <= 1e-9 * max(1.0, abs(b)) for a, b in zip(weights, expected, strict=True))


def test_fit_compiled_uses_the_vectorised_replay_for_a_sample_by_sample_model():
    nn = pytest.importorskip("nn")
    from nn import train

    model = nn.MLP(2, [3, 1], seed=0)
    assert train._sample_by_sample(model, [[0.0, 1.0]])
    steps = train._compiled_steps(model, nn.losses.mse_loss, [[0.0, 1.0]])
    assert isinstance(steps, train._VectorisedSteps)
    batch_norm = nn.Sequential(nn.Layer(2, 3), nn.BatchNorm1d(3))
    assert not train._sample_by_sample(batch_norm, [[0.0, 1.0]])


def test_a_layer_of_neurons_is_fused_into_matrix_products_and_matches_backward():
    """Chains bias + Σ w·x over the same inputs become W @ X (forward) and Wᵀ @ G, G @ Xᵀ (backward)."""
    params, loss = mlp_batch(25)
    recorded = loss()
    step = compile_graph(recorded, vectorize=True)
    assert "fused layer" in step.source and "= W1 @ X1" in step.source
    for p in params:
        p.data *= 1.1
        p.grad = -0.5
    result = step()
    grads = [p.grad for p in params]
    for p in params:
        p.grad = -0.5
    fresh = loss()
    fresh.backward()
    assert close(result, fresh.data)
    assert all(close(a, p.grad) for a, p in zip(grads, params, strict=True))


# ---------------------------------------------------------------------------
# What the merge with the walks and engine work added: forward-only inputs (detach), the ``g / d`` form
# of a ``1.0 / d`` derivative, and helpers bound by object.


def _per_sample(build, params, rows):
    """The interpreter, sample by sample: each sample's outputs, and the parameters' summed gradients."""
    for p in params:
        p.grad = 0.0
    outputs = []
    for row in rows:
        xs = [Value(v) for v in row]
        y = build(xs)
        y.backward()
        outputs.append(y.data)
    return outputs, [p.grad for p in params]


def _replayed(build, params, rows):
    """``compile_sample`` over the whole batch: the outputs, and the parameters' summed gradients."""
    xs = [Value(v) for v in rows[0]]
    replay = compile_sample([build(xs)], xs)
    for p in params:
        p.grad = 0.0
    out = replay.forward(rows)[:, 0].tolist()
    replay.backward(np.ones((len(rows), 1)))
    return out, [p.grad for p in params], replay.source


def test_a_detach_in_one_samples_graph_passes_no_gradient_back():
    """Issue 20, item 1, in the vectorised replay: a detach is recomputed over the arrays, and no
    gradient flows through it (nor into the nodes behind it, which get no backward lines)."""
    w, b = Value(0.7), Value(-0.2)

    def build(xs):
        z = w * xs[0] + b
        return z.tanh() * (z * z).detach() + z  # d/dw: through tanh(z) and z, not through z·z

    rows = [[0.5], [-1.5], [2.0], [0.0]]
    expected, expected_grads = _per_sample(build, [w, b], rows)
    got, grads, source = _replayed(build, [w, b], rows)
    assert all(close(g, e) for g, e in zip(got, expected, strict=True))
    assert all(close(g, e) for g, e in zip(grads, expected_grads, strict=True))
    full = [sum(2 * (w.data * r[0] + b.data) * r[0] for r in rows)]  # what a gradient through z·z adds
    assert not close(grads[0], expected_grads[0] + full[0])
    w.data = -0.4  # a replay recomputes the detach from the new numbers
    expected, expected_grads = _per_sample(build, [w, b], rows)
    got, grads, _ = _replayed(build, [w, b], rows)
    assert all(close(g, e) for g, e in zip(got, expected, strict=True))
    assert all(close(g, e) for g, e in zip(grads, expected_grads, strict=True))


def test_a_detach_in_a_vectorised_batch_graph_is_replayed_as_backward_does():
    """compile_graph(vectorize=True) on a batch with a detach: the one-function replay, bit for bit."""
    w = Value(0.3)
    xs = [Value(0.1 * k - 1.0) for k in range(40)]

    def loss():
        terms = [(w * x).tanh() * (w * x).detach() for x in xs]
        return sum(terms[1:], terms[0])

    with small_pieces(piece_nodes=8, repeated_nodes=3):
        step = compile_graph(loss(), vectorize=True)
    w.data, w.grad = -0.6, 0.0
    result, grad = step(), w.grad
    w.grad = 0.0
    fresh = loss()
    fresh.backward()
    assert (result, grad) == (fresh.data, w.grad)


def test_a_reciprocal_derivative_is_applied_as_g_over_d_over_arrays():
    """log's derivative 1.0 / a is applied as g / a (as the interpreter does): at a = 1e-310 and
    g = 1e-10, g / a is 1e300, while g * (1/a) overflows to infinity."""
    w = Value(1.0)

    def build(xs):
        return (w * xs[0]).log() * 1e-10

    rows = [[1e-310], [2e-310]]
    expected, expected_grads = _per_sample(build, [w], rows)
    got, grads, source = _replayed(build, [w], rows)
    assert math.isfinite(expected_grads[0]) and close(grads[0], expected_grads[0])
    assert all(close(g, e) for g, e in zip(got, expected, strict=True))


# An operation whose helpers are engine functions under other names: the function, not its name,
# decides which array version runs (the engine's _softplus under the name ``_sigmoid``).
from autograd import apply  # noqa: E402
from autograd import value as value_module  # noqa: E402
from autograd.operation import Operation  # noqa: E402

SOFTPLUS_RENAMED = Operation(
    "softplus_renamed",
    "_sigmoid(a)",
    {"a": "_slope(a)"},
    helpers={"_sigmoid": value_module._softplus, "_slope": value_module._sigmoid},
)
DOUBLE_NAMED_SIGMOID = Operation(
    "double_named_sigmoid", "_sigmoid(a)", {"a": "2.0"}, helpers={"_sigmoid": lambda a: 2 * a}
)


def test_helpers_are_bound_by_object_in_the_vectorised_replay():
    """Two operations with a helper named ``_sigmoid`` beside the built-in sigmoid, in one sample's graph
    and in a vectorised batch graph: each calls its own (the interpreter's numbers)."""
    w = Value(0.8)

    def build(xs):
        z = w * xs[0]
        return apply(SOFTPLUS_RENAMED, z) + apply(DOUBLE_NAMED_SIGMOID, z).sigmoid() + z.sigmoid()

    rows = [[0.5], [-1.5], [2.0], [3.0]]
    expected, expected_grads = _per_sample(build, [w], rows)
    got, grads, source = _replayed(build, [w], rows)
    assert all(close(g, e) for g, e in zip(got, expected, strict=True)), (got, expected)
    assert close(grads[0], expected_grads[0])
    assert "_array" in source and "_each" in source  # the engine's as arrays, the lambda per sample
    xs = [Value(r[0]) for r in rows * 12]
    terms = [build([x]) for x in xs]
    total = sum(terms[1:], terms[0])
    with small_pieces(piece_nodes=16, repeated_nodes=3):
        step = compile_graph(total, vectorize=True)
    assert "over arrays" in step.source
    w.grad = 0.0
    total.backward()
    expected_grad = w.grad
    w.grad = 0.0
    assert close(step(), total.data) and close(w.grad, expected_grad)


@settings(max_examples=40, deadline=None)
@given(
    nin=st.integers(1, 4),
    hidden=st.integers(1, 5),
    activation=st.sampled_from(["relu", "tanh", "linear", "sigmoid"]),
    n=st.integers(2, 7),
    seed=st.integers(0, 1000),
)
def test_fused_layers_of_random_mlps_match_backward(nin, hidden, activation, n, seed):
    """Random small MLPs over random batches: the fused layers (W @ X, Wᵀ @ G, G @ Xᵀ) against backward()."""
    nn = pytest.importorskip("nn")
    rng = random.Random(seed)
    model = nn.MLP(nin, [hidden, hidden, 1], activation=activation, seed=seed)
    params = model.parameters()
    X = [[rng.uniform(-2, 2) for _ in range(nin)] for _ in range(n)]
    t = [rng.uniform(-1, 1) for _ in range(n)]

    def loss() -> Value:
        terms = [(model(x) - y) * (model(x) - y) for x, y in zip(X, t, strict=True)]
        return sum(terms[1:], terms[0]) * (1.0 / n)

    recorded = loss()
    with small_pieces(piece_nodes=8, repeated_nodes=3):
        step = compile_graph(recorded, vectorize=True)
    for p in params:
        p.data += rng.uniform(-0.1, 0.1)
        p.grad = 0.0
    result = step()
    grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    fresh = loss()
    fresh.backward()
    assert close(result, fresh.data), (result, fresh.data)
    assert all(close(a, p.grad) for a, p in zip(grads, params, strict=True)), (
        grads,
        [p.grad for p in params],
    )


def test_a_parameter_in_several_fused_layers_gets_the_sum_of_its_entries():
    """A model applied twice per sample: each weight is in two fused layers; its gradient sums both."""
    nn = pytest.importorskip("nn")
    rng = random.Random(0)
    model = nn.MLP(2, [3, 3, 1], seed=1)
    params = model.parameters()
    X = [[rng.uniform(-2, 2) for _ in range(2)] for _ in range(40)]
    t = [rng.uniform(-1, 1) for _ in range(40)]

    def loss() -> Value:
        terms = [(model(x) - y) * (model(x) - y) for x, y in zip(X, t, strict=True)]
        return sum(terms[1:], terms[0]) * (1.0 / 40)

    step = compile_graph(loss(), vectorize=True)
    assert "Parameters in several fused layers" in step.source
    result = step()
    grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    fresh = loss()
    fresh.backward()
    assert close(result, fresh.data)
    assert all(close(a, p.grad) for a, p in zip(grads, params, strict=True))
