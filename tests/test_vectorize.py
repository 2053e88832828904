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
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd import Value, compile_graph, compile_vector, topological_order
from autograd.compile import compile_sample
from autograd.compile_vector import ArrayForms, array_expression
from autograd.value import OPERATIONS
from tests.test_compile import UNARY, batch_graph, mlp_batch, sample_steps, small_pieces

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


# Parameters: zero, or at least 1e-3 in size. A tinier one (2.6e-219) makes a sample's gradient
# 1 + 1/p - 1/p + 1, where 1 is absorbed by 1/p or not depending on the order of the additions:
# backward() adds every sample's terms into one running total, the vectorised replay each sample's
# apart and then the samples (1.0 against 2.0: both right to the rounding of their order).
moderate = st.floats(-2.0, 2.0).filter(lambda x: x == 0.0 or abs(x) >= 1e-3)


@settings(max_examples=60, deadline=None)
@given(
    program=st.lists(sample_steps, min_size=2, max_size=10),
    params=st.lists(moderate, min_size=1, max_size=3),
    new=st.lists(moderate, min_size=3, max_size=3),
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


# ---------------------------------------------------------------------------
# A fused layer's element-wise stages (one operation over the whole neurons × samples block), and
# the batch's input leaves read and written by the batched piece itself.


def _layer_batch(n: int, stage, seed: int = 0, inputs: list[list[Value]] | None = None, total=None):
    """Samples through one layer of 4 neurons, each neuron's result through ``stage``, then summed.

    ``stage(z)`` is the same operations for every neuron (what a fused layer takes as its stages);
    ``total(terms)`` adds up the samples' terms (by default ``sum(terms[1:], terms[0])``).
    Returns the parameters, the samples' input leaves (flat) and the loss, built anew at each call.
    """
    rng = random.Random(seed)
    weights = [[Value(rng.uniform(-1, 1)) for _ in range(3)] for _ in range(4)]
    biases = [Value(rng.uniform(-0.5, 0.5)) for _ in range(4)]
    params = [p for row in weights for p in row] + biases
    if inputs is None:
        inputs = [[Value(rng.uniform(-2, 2)) for _ in range(3)] for _ in range(n)]

    def neuron(row: list[Value], b: Value, xs: list[Value]) -> Value:
        return stage(sum((w * x for w, x in zip(row, xs, strict=True)), b))

    def loss() -> Value:
        terms = []
        for xs in inputs:
            hidden = [neuron(row, b, xs) for row, b in zip(weights, biases, strict=True)]
            terms.append(sum(hidden[1:], hidden[0]) * 0.5)
        return sum(terms[1:], terms[0]) if total is None else total(terms)

    unique = list({id(x): x for xs in inputs for x in xs}.values())
    return params, unique, loss


def _against_backward(params, inputs, loss, step, reset=0.25):
    """The step's result and every leaf's gradient against a fresh graph's backward()."""
    for leaf in (*params, *inputs):
        leaf.grad = reset
    result = step()
    grads = [leaf.grad for leaf in (*params, *inputs)]
    for leaf in (*params, *inputs):
        leaf.grad = reset
    fresh = loss()
    fresh.backward()
    assert close(result, fresh.data), (result, fresh.data)
    expected = [leaf.grad for leaf in (*params, *inputs)]
    assert all(close(a, b) for a, b in zip(grads, expected, strict=True)), (grads, expected)


SOFTSIGN = Operation(
    "softsign_for_a_block",
    "_softsign(a)",
    {"a": "_softsign_slope(a)"},
    helpers={
        "_softsign": lambda a: a / (1.0 + abs(a)),
        "_softsign_slope": lambda a: 1.0 / (1.0 + abs(a)) ** 2,
    },
)


@pytest.mark.parametrize(
    "stage, operations",
    [
        (lambda z: z.relu(), ["relu"]),
        (lambda z: (z.tanh() * 2.0).sigmoid(), ["tanh", "*", "sigmoid"]),
        (lambda z: (-z).exp(), ["neg", "exp"]),
        (lambda z: apply(SOFTSIGN, z), None),  # an operation of one's own: its helpers run per sample
    ],
)
def test_a_fused_layers_element_wise_stages_run_once_over_the_whole_block(stage, operations):
    params, inputs, loss = _layer_batch(30, stage)
    with small_pieces(piece_nodes=64, repeated_nodes=8):
        step = compile_graph(loss(), vectorize=True)
    stages = [line.split("# ")[1] for line in step.source.splitlines() if "for the 4 rows at once" in line]
    assert len(stages) == len(operations or [None]), stages
    if operations:
        assert [text.split(",")[0] for text in stages] == operations
    for p in params:
        p.data *= 0.9
    for x in inputs:
        x.data += 0.1
    _against_backward(params, inputs, loss, step)


def test_a_stage_with_a_constant_that_differs_between_samples_is_not_fused():
    """``z * c`` with each sample's own c cannot be one block operation with one literal."""
    rng = random.Random(1)
    w = [Value(rng.uniform(-1, 1)) for _ in range(6)]
    b = [Value(0.1), Value(-0.2)]
    inputs = [[Value(rng.uniform(-2, 2)) for _ in range(3)] for _ in range(12)]

    def loss() -> Value:
        terms = []
        for c, xs in enumerate(inputs):
            rows = [w[3 * j : 3 * j + 3] for j in range(2)]
            z = [sum((wi * x for wi, x in zip(row, xs, strict=True)), b[j]) for j, row in enumerate(rows)]
            terms.append((z[0] * float(c)).tanh() + (z[1] * float(c)).tanh())
        return sum(terms[1:], terms[0])

    with small_pieces(piece_nodes=64, repeated_nodes=8):
        step = compile_graph(loss(), vectorize=True)
    assert "rows at once" not in step.source and "fused layer" in step.source
    _against_backward([*w, *b], [x for xs in inputs for x in xs], loss, step)


def test_a_domain_error_in_a_fused_stage_names_the_sample_and_writes_nothing():
    params, inputs, loss = _layer_batch(20, lambda z: (z + 10.0).log())
    recorded = loss()
    with small_pieces(piece_nodes=64, repeated_nodes=8):
        step = compile_graph(recorded, vectorize=True)
    assert "rows at once" in step.source
    inputs[3 * 7].data = -1e6  # sample 7: some neuron's z + 10 is then far below zero
    before = [(leaf.data, leaf.grad) for leaf in (*params, *inputs)]
    # The copy is named by its place among the piece's copies (the graph's order) and by what it reads.
    with pytest.raises(
        ValueError,
        match=r"log: logarithm of a non-positive number \(-[\d.]+\) in sample (\d+) \(copy \1 of 20",
    ) as error:
        step()
    assert "Value(data=-1000000.0" in str(error.value) and "rows at once" in str(error.value)
    assert [(leaf.data, leaf.grad) for leaf in (*params, *inputs)] == before
    assert recorded.grad == 0.0


def test_input_leaves_read_by_the_batch_only_skip_the_replays_lists_and_get_backwards_gradients():
    """The samples' input leaves: read and written by the batched piece itself; a leaf that
    something else reads too (here the first sample's, also in a term of its own), and a leaf
    that two samples share, still get backward()'s gradients."""
    rng = random.Random(2)
    samples = [[Value(rng.uniform(-2, 2)) for _ in range(3)] for _ in range(15)]
    samples[1][1] = samples[0][1]  # samples 0 and 1 share a leaf
    params, inputs, build = _layer_batch(15, lambda z: z.tanh(), inputs=samples)
    first = samples[2][0]

    def loss() -> Value:
        return build() + first * 3.0

    with small_pieces(piece_nodes=64, repeated_nodes=8):
        step = compile_graph(loss(), vectorize=True)
    assert "over arrays" in step.source
    _against_backward(params, inputs, loss, step)


@pytest.mark.parametrize(
    "total, summed",
    [
        (lambda terms: sum(terms[1:], terms[0]), True),  # (o₁ + o₂) + o₃ + ...
        (lambda terms: sum(terms) * (1.0 / 17), True),  # ((0 + o₁) + o₂) + ..., then a mean
        (lambda terms: sum(reversed(terms)), True),  # the copies in another order
        (lambda terms: sum([*terms, Value(2.0)]), True),  # the chain goes on past the copies
        (lambda terms: sum(terms) + terms[3].exp(), False),  # a term used twice: not a plain sum
        (lambda terms: sum(terms[:-1]) * terms[-1], False),  # not every copy's term in the chain
    ],
)
def test_a_sum_of_every_copys_output_is_added_up_by_the_replay_as_the_chain_does(total, summed):
    """``sum(losses)`` over a batch: one ``np.add.accumulate`` over the copies' outputs, the same
    additions in the same order; each output's gradient ``0.0 + g``, as the chain hands it back."""
    params, inputs, loss = _layer_batch(17, lambda z: z.tanh(), total=total)
    with small_pieces(piece_nodes=64, repeated_nodes=8):
        step = compile_graph(loss(), vectorize=True)
    assert ("added up, copy after copy" in step.source) == summed
    for x in inputs:
        x.data *= -1.5
    _against_backward(params, inputs, loss, step)


def test_a_sum_of_copies_carries_nan_and_a_negative_zero_gradient_as_backward_does():
    """A NaN in one sample's term makes the sum NaN; the sum's gradient -0.0 reaches each term as 0.0."""
    for scale in (-0.0, 1.0):
        params, inputs, loss = _layer_batch(
            9, lambda z: z.relu(), total=lambda terms, scale=scale: sum(terms) * scale
        )
        with small_pieces(piece_nodes=64, repeated_nodes=8):
            step = compile_graph(loss(), vectorize=True)
        assert "added up, copy after copy" in step.source
        inputs[5].data = math.nan if scale else inputs[5].data
        for leaf in (*params, *inputs):
            leaf.grad = 0.0
        result = step()
        got = [
            (leaf.grad, math.copysign(1.0, leaf.grad))
            for leaf in (*params, *inputs)
            if not math.isnan(leaf.grad)
        ]
        for leaf in (*params, *inputs):
            leaf.grad = 0.0
        fresh = loss()
        fresh.backward()
        assert close(result, fresh.data)
        expected = [
            (leaf.grad, math.copysign(1.0, leaf.grad))
            for leaf in (*params, *inputs)
            if not math.isnan(leaf.grad)
        ]
        assert got == expected or all(
            close(a[0], b[0]) and a[1] == b[1] for a, b in zip(got, expected, strict=True)
        )


def _numbers(leaves) -> list[tuple[str, str]]:
    """Each leaf's number and gradient as exact text (``float.hex``: NaN, infinities and -0.0 included)."""
    return [(float(leaf.data).hex(), float(leaf.grad).hex()) for leaf in leaves]


def _replayed_or_error(step, leaves, start: list[tuple[float, float]]):
    for leaf, (data, grad) in zip(leaves, start, strict=True):
        leaf.data, leaf.grad = data, grad
    try:
        return float(step()).hex(), _numbers(leaves)
    except (ArithmeticError, ValueError) as error:
        found = re.search(r"in sample \d+", str(error))
        return type(error), found.group(0) if found else None, _numbers(leaves)


@settings(max_examples=60, deadline=None)
@given(
    stages=st.lists(st.sampled_from(sorted(UNARY)), min_size=1, max_size=3),
    scale=st.sampled_from([1.0, -1.0, 1e-3, 40.0, 800.0]),
    edge=st.sampled_from([0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 1e300]),
    n=st.integers(2, 9),
    seed=st.integers(0, 1000),
)
def test_every_one_input_operation_as_a_fused_stage_computes_each_row_as_the_rows_do(
    stages, scale, edge, n, seed
):
    """Any operation of one input, applied by every neuron of a layer, runs once over the whole block:
    the numbers are those of the same replay with one line per neuron, to the last bit (values,
    gradients, NaN, infinities, signed zeros), and an error is the same error for the same sample,
    with nothing written. (Against backward() they agree to 1e-12 where the graph is well conditioned,
    as the tests above check: NumPy's sums and functions round otherwise than Python's.)"""

    def stage(z: Value) -> Value:
        for name in stages:
            z = UNARY[name](z)
        return z

    params, inputs, loss = _layer_batch(n, stage, seed=seed)
    for x in inputs:
        x.data *= scale
    inputs[seed % len(inputs)].data = edge
    try:
        recorded = loss()
    except (ArithmeticError, ValueError):
        return
    with small_pieces(piece_nodes=64, repeated_nodes=8):
        fused = compile_graph(recorded, vectorize=True)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(compile_vector, "_stages", lambda *args: [])
            per_row = compile_graph(recorded, vectorize=True)
    assert "rows at once" in fused.source and "rows at once" not in per_row.source
    leaves = [*params, *inputs]
    start = [(leaf.data * -1.1 if leaf in params else leaf.data, 0.25) for leaf in leaves]
    assert _replayed_or_error(fused, leaves, start) == _replayed_or_error(per_row, leaves, start)
