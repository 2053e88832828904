"""``compile_graph``: a replayed graph gives what a fresh interpreted pass gives.

The central test is a property: build a random expression graph, compile it,
give the leaves new numbers, replay; then build the same expression afresh
from the new numbers with ``Value``\\ s and run ``backward()``. Output, every
leaf gradient (accumulated onto a non-zero start) and, with
``write_back=True``, every intermediate ``.data``/``.grad`` must be equal
(the engine's own arithmetic, so equal exactly, which is stronger than the
1e-12 asked for), or both must raise the same kind of error.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value, no_grad
from autograd.compile import compile_graph

# Operations on nodes, with raw domains: log/sqrt of negatives, division by
# zero, negative bases and overflow can all happen, at build or at replay.
UNARY = {
    "neg": lambda a: -a,
    "add_c": lambda a: a + 0.75,
    "radd_c": lambda a: 0.75 + a,
    "sub_c": lambda a: a - 1.5,
    "rsub_c": lambda a: 2.0 - a,
    "mul_c": lambda a: a * -1.25,
    "div_c": lambda a: a / 3.0,
    "rdiv_c": lambda a: 1.0 / a,
    "pow_int": lambda a: a**3,
    "pow_frac": lambda a: a**1.5,
    "pow_neg": lambda a: a**-2.0,
    "pow_zero": lambda a: a**0.0,
    "rpow": lambda a: 1.5**a,
    "rpow_neg_base": lambda a: (-2.0) ** a,
    "rpow_zero_base": lambda a: 0.0**a,
    "sqrt": lambda a: a.sqrt(),
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "relu": lambda a: a.relu(),
    "leaky_relu": lambda a: a.leaky_relu(0.1),
    "abs": lambda a: abs(a),
    "sin": lambda a: a.sin(),
    "cos": lambda a: a.cos(),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
}

numbers = st.one_of(
    st.floats(-3.0, 3.0, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, 0.5]),  # the edges: kinks, zeros, integer powers
)
steps = st.one_of(
    st.tuples(st.sampled_from(sorted(UNARY)), st.integers(0, 10**6)),
    st.tuples(st.sampled_from(sorted(BINARY)), st.integers(0, 10**6), st.integers(0, 10**6)),
)


def run(program: list[tuple], leaves: list[Value]) -> list[Value]:
    """All nodes of ``program`` applied to ``leaves`` (operands index the nodes made so far).

    The last node is the sum of all the others, so that every node is in its graph.
    """
    nodes = list(leaves)
    for name, *operands in program:
        args = [nodes[i % len(nodes)] for i in operands]
        nodes.append((UNARY.get(name) or BINARY[name])(*args))
    total = nodes[0]
    for node in nodes[1:]:
        total = total + node
    return [*nodes, total]


def valid_prefix(program: list[tuple], data: list[float]) -> list[tuple]:
    """The steps of ``program`` that can be built from ``data`` (a step that raises is dropped)."""
    kept: list[tuple] = []
    for step in program:
        try:
            run([*kept, step], [Value(x) for x in data])
        except (ArithmeticError, ValueError):
            continue
        kept.append(step)
    return kept


def same(x: float, y: float) -> bool:
    return x == y or (math.isnan(x) and math.isnan(y))


def interpreted(
    program: list[tuple], data: list[float], start: list[float]
) -> tuple[list[Value], list[Value]]:
    """A fresh graph from ``data``, leaves' grads set to ``start``, backpropagated."""
    leaves = [Value(x) for x in data]
    nodes = run(program, leaves)
    for leaf, g in zip(leaves, start, strict=True):
        leaf.grad = g
    nodes[-1].backward()
    return leaves, nodes


@given(
    data=st.lists(numbers, min_size=1, max_size=4),
    new=st.lists(numbers, min_size=4, max_size=4),
    start=st.lists(st.floats(-2.0, 2.0), min_size=4, max_size=4),
    program=st.lists(steps, min_size=1, max_size=14),
    write_back=st.booleans(),
)
def test_replay_equals_a_fresh_interpreted_pass(data, new, start, program, write_back):
    n = len(data)
    new, start = new[:n], start[:n]
    program = valid_prefix(program, data)
    leaves = [Value(x) for x in data]
    nodes = run(program, leaves)
    step = compile_graph(nodes[-1], write_back=write_back)

    for leaf, x, g in zip(leaves, new, start, strict=True):
        leaf.data, leaf.grad = x, g
    before = [(v.data, v.grad) for v in nodes]
    try:
        fresh_leaves, fresh_nodes = interpreted(program, new, start)
    except (ArithmeticError, ValueError):
        # Not necessarily the same error: when several operations fail, the replay (in
        # topological order) may meet another one first than rebuilding (in program order).
        with pytest.raises((ArithmeticError, ValueError)):
            step()
        assert [(v.data, v.grad) for v in nodes] == before  # a failed replay changes nothing
        return

    result = step()
    assert same(result, fresh_nodes[-1].data)
    assert same(nodes[-1].data, fresh_nodes[-1].data) and same(nodes[-1].grad, fresh_nodes[-1].grad)
    for leaf, fresh in zip(leaves, fresh_leaves, strict=True):
        assert same(leaf.grad, fresh.grad), (leaf.grad, fresh.grad, step.source)
    if write_back:
        for node, fresh in zip(nodes, fresh_nodes, strict=True):
            assert same(node.data, fresh.data) and same(node.grad, fresh.grad)

    # Replaying again accumulates once more into the leaves, as a second backward() does.
    fresh_nodes[-1].backward()
    step()
    for leaf, fresh in zip(leaves, fresh_leaves, strict=True):
        assert same(leaf.grad, fresh.grad)


def test_docstring_example_and_repr():
    x = Value(3.0)
    y = x * x + 2 * x
    step = compile_graph(y)
    x.data = 1.0
    assert step() == 3.0 and x.grad == 4.0
    assert y.data == 3.0 and y.grad == 1.0  # the output is written back
    assert "4 nodes" in repr(step) and "1 leaves" in repr(step)


def test_branches_inside_operations_are_reevaluated():
    x = Value(2.0)
    y = x.relu() * 3.0 + abs(x) + x.leaky_relu(0.5)
    step = compile_graph(y)
    x.data, x.grad = -2.0, 0.0
    assert step() == 0.0 + 2.0 - 1.0
    assert x.grad == 0.0 - 1.0 + 0.5  # relu' = 0, |x|' = -1, leaky' = 0.5


def test_python_control_flow_is_not_captured():
    """Like torch.jit.trace: the branch taken while recording is the one replayed."""
    x = Value(2.0)
    y = x * 10.0 if x.data > 0 else x * -10.0
    step = compile_graph(y)
    x.data = -1.0
    assert step() == -10.0  # the recorded branch, not x * -10.0 = 10.0


def test_write_back_off_leaves_intermediate_nodes_alone():
    x = Value(1.0)
    h = x * 2.0
    y = h * h
    step = compile_graph(y)
    x.data = 3.0
    step()
    assert (y.data, y.grad) == (36.0, 1.0)
    assert h.data == 2.0 and h.grad == 0.0  # still the recording pass's numbers
    compile_graph(y, write_back=True)()
    assert (h.data, h.grad) == (6.0, 12.0)


def test_matches_pytorch_for_a_neuron():
    ws = [Value(w) for w in (0.5, -1.5, 2.0)]
    xs = [Value(v) for v in (1.0, 2.0, -0.5)]
    b = Value(0.1)
    out = sum((w * x for w, x in zip(ws, xs, strict=True)), b).tanh() ** 2
    step = compile_graph(out)
    new_w, new_x = (0.3, 0.2, -0.7), (2.0, -1.0, 0.25)
    for w, v in zip(ws, new_w, strict=True):
        w.data = v
    for x, v in zip(xs, new_x, strict=True):
        x.data = v
    result = step()
    tw = torch.tensor(new_w, dtype=torch.float64, requires_grad=True)
    tx = torch.tensor(new_x, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    tout = torch.tanh((tw * tx).sum() + tb) ** 2
    tout.backward()
    assert result == pytest.approx(tout.item(), rel=1e-12)
    assert [w.grad for w in ws] == pytest.approx(tw.grad.tolist(), rel=1e-12)
    assert [x.grad for x in xs] == pytest.approx(tx.grad.tolist(), rel=1e-12)
    assert b.grad == pytest.approx(tb.grad.item(), rel=1e-12)


@pytest.mark.parametrize(
    ("build", "bad", "error", "words"),
    [
        (lambda x: x.log(), -1.0, ValueError, "logarithm"),
        (lambda x: 1.0 / x, 0.0, ZeroDivisionError, "replaying line"),
        (lambda x: x / (x - 1.0), 1.0, ZeroDivisionError, "replaying line"),
        (lambda x: x.sqrt(), -4.0, ValueError, "replaying line"),
        (lambda x: x.exp(), 1000.0, OverflowError, "replaying line"),
        (lambda x: x**0.5, -1.0, ValueError, "negative base"),
        (lambda x: x.sin(), math.inf, ValueError, "replaying line"),
    ],
)
def test_domain_errors_at_replay_raise_the_engines_kind_and_change_nothing(build, bad, error, words):
    x = Value(2.0)
    y = build(x)
    step = compile_graph(y)
    x.data = bad
    with pytest.raises(error) as info:
        step()
    assert words in str(info.value)
    with pytest.raises(error):  # the interpreted engine agrees on the kind of error
        build(Value(bad))
    assert x.grad == 0.0 and y.grad == 0.0 and y.data == build(Value(2.0)).data


def test_source_is_readable_with_labels():
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    n = x * w
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    source = compile_graph(o).source
    assert "n = x * w" in source
    assert "o = math.tanh(n)" in source
    assert "grad_o = 1.0" in source
    assert "grad_n = 0.0 + grad_o * ((1.0 - o) * (1.0 + o))" in source  # the tanh rule, unrolled
    assert "grad_x += grad_n * (w)" in source and "grad_w += grad_n * (x)" in source


def test_labels_that_are_not_names_become_comments_not_code():
    evil = Value(1.0, label="x\nimport os; os.exit(1)  #")
    dup1, dup2 = Value(2.0, label="a"), Value(3.0, label="a")  # a label used twice is not a name
    builtin = Value(4.0, label="abs")
    y = abs(evil * dup1 + dup2 * builtin)
    step = compile_graph(y)
    assert "\nimport" not in step.source.replace("\\n", "")
    assert repr(evil.label) in step.source
    assert step() == 14.0 and builtin.grad == 3.0 and dup1.grad == 1.0


def test_a_leaf_compiles_to_adding_one_to_its_grad():
    x = Value(5.0)
    step = compile_graph(x)
    assert step() == 5.0 and x.grad == 1.0
    step()
    assert x.grad == 2.0


def test_bad_arguments():
    with pytest.raises(TypeError, match="must be a Value"):
        compile_graph(3.0)
    with pytest.raises(TypeError, match="write_back"):
        compile_graph(Value(1.0), write_back="yes")


def test_no_grad_results_are_leaves():
    x = Value(2.0)
    with no_grad():
        y = x * 3.0
    step = compile_graph(y)
    assert step() == 6.0 and x.grad == 0.0 and y.grad == 1.0


def test_a_small_mlp_step_matches_backward():
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [4, 4, 1], seed=1)
    params = model.parameters()
    X = [[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]]
    loss = sum((model(x) - 1.0) ** 2 for x in X)
    step = compile_graph(loss)
    for p in params:
        p.data *= 0.9
        p.grad = 0.0
    result = step()
    grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    fresh = sum((model(x) - 1.0) ** 2 for x in X)
    fresh.backward()
    assert result == fresh.data
    assert grads == [p.grad for p in params]


def test_tracebacks_show_the_generated_line():
    import traceback

    x = Value(1.0, label="x")
    y = 1.0 / x
    y.label = "y"
    step = compile_graph(y)
    x.data = 0.0
    with pytest.raises(ZeroDivisionError) as info:
        step()
    cause = info.value.__cause__
    assert isinstance(cause, ZeroDivisionError)
    text = "".join(traceback.format_exception(cause))
    assert "y = _divide(1.0, x)" in text  # the generated source, through linecache
    assert "y = _divide(1.0, x)" in str(info.value)


# ---------------------------------------------------------------- any label, any graph


@pytest.mark.parametrize(
    "labels",
    [
        ("x", "𝐱"),  # the same identifier after Python's NFKC normalisation
        ("ｍath", "y"),
        ("ｌeaves", "ｏutput"),
        ("nodes", "output"),
        ("print", "len"),
        ("class", "lambda"),
        ("v1", "g0"),
        ("grad_x", "x"),
        ("_divide", "_power"),
        ("a b", "1x"),
    ],
)
def test_any_labels_replay_exactly(labels):
    a, b = Value(2.0, label=labels[0]), Value(3.0, label=labels[1])
    out = a * 3 + b
    step = compile_graph(out)
    a.data, b.data = 2.5, -1.0
    value = step()
    assert (value, a.grad, b.grad) == (6.5, 3.0, 1.0)
    for label in labels:  # a label that cannot be a variable is kept in a comment
        assert repr(label) in step.source or f"{label} = leaves" in step.source


def test_only_plain_ascii_labels_become_variable_names():
    x, y = Value(1.0, label="x"), Value(2.0, label="𝐱")
    source = compile_graph(x + y).source
    assert "x = leaves" in source and "𝐱 =" not in source and "# '𝐱'" in source


def test_an_intermediate_used_only_by_zero_to_its_power_replays():
    x = Value(2.0)
    y = 0 ** (x * 3)
    step = compile_graph(y)
    assert step() == 0.0 and x.grad == 0.0
    x.grad = 0.0
    y.backward()
    assert x.grad == 0.0


@pytest.mark.parametrize("p0, p1", [(1e-50, 0.5), (0.5, 1e-50), (0.999, 1.0)])
def test_a_loss_branch_recorded_on_one_side_replays_on_the_other(p0, p1):
    nn = pytest.importorskip("nn")
    p = Value(p0)
    loss = nn.losses.binary_cross_entropy(p, 1.0)
    step = compile_graph(loss)
    p.data, p.grad = p1, 0.0
    replayed = (step(), p.grad)
    fresh = Value(p1)
    expected = nn.losses.binary_cross_entropy(fresh, 1.0)
    expected.backward()
    assert replayed == (expected.data, fresh.grad)


def test_the_max_shift_of_cross_entropy_is_chosen_again_on_replay():
    nn = pytest.importorskip("nn")
    z = [Value(0.0), Value(-1000.0)]  # recorded with z0 the largest
    step = compile_graph(nn.losses.cross_entropy(z, 1))
    z[0].data, z[1].data = -1000.0, 800.0  # a shift frozen at 0 would overflow exp(800)
    assert step() == 0.0 and [v.grad for v in z] == [0.0, 0.0]


# ---------------------------------------------------------------------------
# Big graphs: pieces of code, a repeated sub-graph written once and called per copy
# (see "Big graphs" in autograd/compile.py). Every replay must still be backward(), bit for bit.

from contextlib import contextmanager  # noqa: E402

from autograd import compile_pieces as compile_module  # noqa: E402
from autograd import topological_order  # noqa: E402
from tests.ops import OPS  # noqa: E402


@contextmanager
def small_pieces(piece_nodes: int = 12, repeated_nodes: int = 3):
    """Pieces of a few nodes, so that small random graphs are cut and deduplicated too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compile_module, "PIECE_NODES", piece_nodes)
        patch.setattr(compile_module, "REPEATED_NODES", repeated_nodes)
        yield


# Operations a sample applies with its own constant c (the samples of a batch differ here).
WITH_SAMPLE_CONSTANT = {
    "mul_c": lambda a, c: a * c,
    "rsub_c": lambda a, c: c - a,
    "add_c": lambda a, c: a + c,
    "clamp_c": lambda a, c: a.clamp(low=float(c)),
    "maximum_c": lambda a, c: a.maximum(c),
}
TABLE = {op.name: op for op in OPS if op.arity in (1, 2)}
sample_steps = st.one_of(
    st.tuples(st.sampled_from(sorted(TABLE)), st.integers(0, 10**6), st.integers(0, 10**6)),
    st.tuples(st.sampled_from(sorted(WITH_SAMPLE_CONSTANT)), st.integers(0, 10**6)),
)


def sample_graph(program: list[tuple], params: list[Value], c: float) -> Value:
    """One sample: ``program`` on the shared ``params`` and this sample's constant ``c``.

    Operands index every node made so far (parameters included), so nodes are
    shared inside a sample; the result is the sum of the sample's nodes.
    """
    nodes = list(params)
    for name, *operands in program:
        args = [nodes[i % len(nodes)] for i in operands]
        if name in WITH_SAMPLE_CONSTANT:
            nodes.append(WITH_SAMPLE_CONSTANT[name](args[0], c))
        else:
            op = TABLE[name]
            nodes.append(op.ours(*args[: op.arity]))
    total = nodes[len(params)] if len(nodes) > len(params) else params[0] * c
    for node in nodes[len(params) + 1 :]:
        total = total + node
    return total


def batch_graph(program, params, constants, pairwise: bool) -> Value:
    """The samples' terms summed (left to right, or pairwise), plus a term of the parameters.

    ``constants`` are numbers, or leaves of their own (each sample's input, as
    in micrograd's demo).
    """
    from benchmarks.workloads import pairwise_sum

    terms = [sample_graph(program, params, c) for c in constants]
    loss = pairwise_sum(terms) if pairwise else sum(terms[1:], terms[0])
    return loss + sum(p * p for p in params)  # a part that is not repeated


@given(
    program=st.lists(sample_steps, min_size=2, max_size=10),
    params=st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=3),
    new=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3),
    constants=st.lists(st.sampled_from([0.5, -1.5, 0.0, -0.0, 2.0, 1e-3]), min_size=2, max_size=6),
    start=st.floats(-1.0, 1.0),
    pairwise=st.booleans(),
    write_back=st.booleans(),
    inputs_are_leaves=st.booleans(),
)
def test_pieces_replay_bit_identically_to_backward(
    program, params, new, constants, start, pairwise, write_back, inputs_are_leaves
):
    leaves = [Value(p) for p in params]
    inputs = [Value(c) for c in constants] if inputs_are_leaves else constants
    try:
        loss = batch_graph(program, leaves, inputs, pairwise)
    except (ArithmeticError, ValueError):
        return  # a program that cannot be built from these numbers
    order = topological_order(loss)
    with small_pieces():
        step = compile_graph(loss, write_back=write_back)
        cut = len(order) - len(step.leaves) > compile_module.PIECE_NODES
    assert step.leaves == tuple(n for n in order if n.is_leaf)
    assert step.num_nodes == len(order)
    assert ("def piece_0(" in step.source) == cut  # cut into pieces, or one function if small

    new = new[: len(leaves)]
    for leaf, x in zip(leaves, new, strict=True):
        leaf.data, leaf.grad = x, start
    before = [(v.data, v.grad) for v in order]
    fresh = [Value(x) for x in new]
    for leaf in fresh:
        leaf.grad = start
    fresh_inputs = [Value(c) for c in constants] if inputs_are_leaves else constants
    try:
        fresh_loss = batch_graph(program, fresh, fresh_inputs, pairwise)
        fresh_loss.backward()
    except (ArithmeticError, ValueError):
        # An error at replay too, and nothing written. (Not necessarily the same one: when several
        # operations fail, the replay, in topological order, may meet another one first.)
        with pytest.raises((ArithmeticError, ValueError)):
            step()
        assert [(v.data, v.grad) for v in order] == before
        return
    result = step()
    assert same(result, fresh_loss.data)
    for leaf, other in zip(leaves, fresh, strict=True):
        assert same(leaf.grad, other.grad), (leaf.grad, other.grad)
    if inputs_are_leaves:
        assert all(same(a.grad, b.grad) for a, b in zip(inputs, fresh_inputs, strict=True))
    if write_back:
        fresh_order = topological_order(fresh_loss)
        for node, other in zip(order, fresh_order, strict=True):
            assert same(node.data, other.data) and same(node.grad, other.grad)


def mlp_batch(n_samples: int, seed: int = 0):
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [16, 16, 1], seed=seed)
    X, y = nn.data.make_moons(n_samples, noise=0.1, seed=seed, labels="pm1")
    params = model.parameters()

    def loss() -> Value:
        return nn.losses.hinge_loss([model(x) for x in X], y) + 1e-4 * sum(p * p for p in params)

    return params, loss


def test_an_mlp_batch_is_written_once_per_sample_shape_and_replays_exactly():
    params, loss = mlp_batch(30)
    recorded = loss()
    step = compile_graph(recorded, write_back=True)
    # 30 samples, each ~650 nodes: one piece for every sample's prediction, called 30 times,
    # plus small pieces around them; not 30 copies of the code.
    assert step.num_nodes > 15_000
    assert "found 30 times" in step.source
    assert step.source.count("\ndef piece_") < 8
    assert len(step.source) < 40 * step.num_nodes  # the straight-line version: ~250 characters a node

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
    assert result == fresh.data
    assert grads == [p.grad for p in params]  # every parameter, bit for bit
    assert inner == [(n.data, n.grad) for n in topological_order(fresh)]  # write_back: every node


def test_compiling_a_batch_adds_well_under_a_kilobyte_per_node():
    from benchmarks.workloads import compile_measured  # the benchmarks' own measurement

    _, loss = mlp_batch(50)
    step, _, peak = compile_measured(loss())
    assert peak / step.num_nodes < 1024  # writing it all out took ~5-7 KB a node


def test_an_error_in_a_piece_names_its_line_and_changes_nothing():
    x = Value(1.0, label="x")
    terms = [(x * c - 2.0).log() for c in (3.0, 4.0, 5.0, 6.0)]
    total = sum(terms[1:], terms[0])
    with small_pieces(piece_nodes=4, repeated_nodes=2):
        step = compile_graph(total, write_back=True)
    assert "found 4 times" in step.source  # one piece, called once per term
    x.data = 2.0
    assert step() == sum(math.log(2.0 * c - 2.0) for c in (3.0, 4.0, 5.0, 6.0))
    x.data = 0.6  # 0.6·c - 2 < 0 for c = 3 only: one call of the piece fails, mid-replay
    nodes = topological_order(total)
    before = [(n.data, n.grad) for n in nodes]
    with pytest.raises(ValueError, match="logarithm") as info:
        step()
    assert "replaying line" in str(info.value) and "= _log(" in str(info.value)
    assert [(n.data, n.grad) for n in nodes] == before  # nothing written
    with pytest.raises(ValueError, match="logarithm"):  # the interpreter agrees
        (Value(0.6) * 3.0 - 2.0).log()


def test_compile_seconds_is_the_time_compile_graph_took():
    import time

    x = Value(3.0, label="x")
    y = x * x + 2 * x
    started = time.perf_counter()
    step = compile_graph(y)
    took = time.perf_counter() - started
    assert 0.0 < step.compile_seconds <= took
    assert step.output is y and step.leaves == (x,) and step.write_back is False
    assert step.num_nodes == len(topological_order(y)) == 4


@pytest.mark.parametrize("pieces", [False, True])
def test_write_back_of_chosen_nodes_only(pieces):
    params, loss = mlp_batch(6)
    recorded = loss()
    order = topological_order(recorded)
    chosen = [n for n in order if n.op == "relu"][::7]  # some nodes inside the samples' pieces
    others = [n for n in order if not n.is_leaf and n not in chosen and n is not recorded]
    with small_pieces(piece_nodes=200, repeated_nodes=20) if pieces else small_pieces(10**6, 10**6):
        step = compile_graph(recorded, write_back=chosen)
    assert ("def piece_0(" in step.source) == pieces
    for p in params:
        p.data *= 0.5
    kept = [(n.data, n.grad) for n in others]
    step()
    fresh = loss()
    fresh.backward()
    position = {n: i for i, n in enumerate(order)}
    fresh_order = topological_order(fresh)
    for node in chosen:  # as backward() leaves them
        assert (node.data, node.grad) == (fresh_order[position[node]].data, fresh_order[position[node]].grad)
    assert [(n.data, n.grad) for n in others] == kept  # the rest keep the recording's numbers
    assert "write_back=<" in repr(step)


def test_write_back_refuses_what_is_not_a_node_of_the_graph():
    x = Value(1.0)
    y = x * 2.0
    with pytest.raises(ValueError, match="does not depend on"):
        compile_graph(y, write_back=[Value(3.0) * 2.0])
    with pytest.raises(TypeError, match="bool or Values"):
        compile_graph(y, write_back=[1.0])
    with pytest.raises(TypeError, match="bool or Values"):
        compile_graph(y, write_back=1)
