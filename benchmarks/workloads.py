"""The workloads, each prepared for every engine, with the check that they agree.

A workload is a list of ``Case``\\ s, one per engine. ``case.run()`` is the
unit that is timed (one training step; or building a graph and
backpropagating through it); ``case.gradients()`` computes the gradients once,
from a known state, for the agreement check that runs before any timing.

Engines: ``floats`` (written by hand, ``benchmarks.floats``), ``autograd``
(this project, interpreted), ``compiled`` (this project, ``compile_graph``:
the graph is recorded once, then replayed), ``vectorised`` (``compile_graph(...,
vectorize=True)``: a sample's repeated piece replayed once over NumPy arrays)
and ``micrograd`` (0.1.0).
"""

from __future__ import annotations

import gc
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from autograd import Value, topological_order
from autograd.compile import CompiledGraph, compile_graph

from . import floats

LEARNING_RATE = 0.05
ALPHA = 1e-4  # the L2 penalty of micrograd's moons demo
SIZES = [2, 16, 16, 1]  # micrograd's moons MLP
CHAIN_LEAVES = (0.3, 0.9, 0.1, 1.0)  # y0, a, b, c: y ← ((relu(y·a + b)·0.5 + 0.5) / c) converges to 1
OPS_PER_GROUP = 6


@dataclass
class Case:
    """One engine's version of a workload."""

    engine: str
    run: Callable[[], object]
    gradients: Callable[[], list[float]]
    # For the memory measurement: build one graph, return it and a function counting the nodes created.
    build: Callable[[], tuple[object, Callable[[], int]]] | None = None
    # Make and drop the case's big inputs around each use (untimed), so that one engine's
    # objects never sit in the heap that the garbage collector traverses during another's run.
    setup: Callable[[], None] = lambda: None
    teardown: Callable[[], None] = lambda: None


@dataclass
class Workload:
    name: str
    description: str
    cases: list[Case]
    notes: list[str] = field(default_factory=list)
    operations: int = 0  # operations in one graph (what the memory is divided by)
    extra: dict[str, float] = field(default_factory=dict)


def micrograd_modules():
    """micrograd's ``Value`` and ``MLP``; a clear error if it is not installed."""
    try:
        from micrograd.engine import Value as MValue
        from micrograd.nn import MLP as MMLP
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise SystemExit(
            "benchmarks: micrograd is not installed; `pip install -e '.[bench]'` (micrograd==0.1.0)"
        ) from error
    return MValue, MMLP


def micrograd_recursion_limit(nodes: int) -> None:
    """micrograd's ``backward`` sorts the graph recursively: one Python frame per node of depth."""
    needed = 2 * nodes + 1000
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


# ---------------------------------------------------------------- moons
def hinge_objective(scores: Sequence, y: Sequence[float], params: Sequence) -> object:
    """micrograd's demo loss, for either engine: mean(relu(1 - y·score)) + α·Σ p²."""
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    return data_loss + ALPHA * sum(p * p for p in params)


def _sgd(params: Iterable, lr: float) -> None:
    for p in params:
        p.data -= lr * p.grad


def _zero(params: Iterable) -> None:
    for p in params:
        p.grad = 0.0


def moons(n_points: int, seed: int = 0, micrograd: bool = True, name: str = "moons step") -> Workload:
    """One training step of micrograd's demo: forward, backward, SGD; the same weights for every engine.

    ``micrograd=False`` leaves micrograd out (at 1,000 points one of its steps takes seconds).
    """
    from nn import MLP
    from nn.data import make_moons

    MValue, MMLP = micrograd_modules()
    X, labels = make_moons(n_points, noise=0.1, seed=seed, labels="pm1")
    y = [float(label) for label in labels]

    random.seed(seed)
    theirs = MMLP(SIZES[0], SIZES[1:])
    t_params = theirs.parameters()
    ours = MLP(SIZES[0], SIZES[1:], seed=seed)
    o_params = ours.parameters()
    if len(o_params) != len(t_params):
        raise RuntimeError("nn.MLP and micrograd's MLP have different numbers of parameters")
    initial = [float(q.data) for q in t_params]
    for p, x in zip(o_params, initial, strict=True):
        p.data = x
    for q, x in zip(t_params, initial, strict=True):
        q.data = x  # micrograd's biases start as the int 0
    layers = floats.split_mlp(initial, SIZES)
    compiled_model = MLP(SIZES[0], SIZES[1:], seed=seed)  # a separate copy, trained by the compiled step
    compiled_params = compiled_model.parameters()
    for p, x in zip(compiled_params, initial, strict=True):
        p.data = x

    def ours_loss() -> Value:
        inputs = [[Value(a), Value(b)] for a, b in X]
        return hinge_objective([ours(x) for x in inputs], y, o_params)

    def theirs_loss():
        inputs = [list(map(MValue, x)) for x in X]
        return hinge_objective([theirs(x) for x in inputs], y, t_params)

    def interpreted(loss_fn: Callable, params: list) -> Callable[[], object]:
        def step() -> None:
            loss = loss_fn()
            _zero(params)
            loss.backward()
            _sgd(params, LEARNING_RATE)

        return step

    def gradients_of(loss_fn: Callable, params: list) -> Callable[[], list[float]]:
        def grads() -> list[float]:
            for p, x in zip(params, initial, strict=True):
                p.data = x
            _zero(params)
            loss_fn().backward()
            return [float(p.grad) for p in params]

        return grads

    # The compiled step records the graph once (inputs are leaves, as in micrograd's demo).
    inputs = [[Value(a), Value(b)] for a, b in X]
    recorded = hinge_objective([compiled_model(x) for x in inputs], y, compiled_params)
    replay, compile_seconds, compile_bytes = compile_measured(recorded)

    def compiled_step() -> None:
        _zero(compiled_params)
        replay()
        _sgd(compiled_params, LEARNING_RATE)

    def compiled_gradients() -> list[float]:
        for p, x in zip(compiled_params, initial, strict=True):
            p.data = x
        _zero(compiled_params)
        replay()
        return [p.grad for p in compiled_params]

    # The vectorised step: the same recorded graph, each sample's repeated piece run once over arrays.
    vector_model = MLP(SIZES[0], SIZES[1:], seed=seed)
    vector_params = vector_model.parameters()
    for p, x in zip(vector_params, initial, strict=True):
        p.data = x
    vector_inputs = [[Value(a), Value(b)] for a, b in X]
    vector_recorded = hinge_objective([vector_model(x) for x in vector_inputs], y, vector_params)
    started = time.process_time()
    vector_replay = compile_graph(vector_recorded, vectorize=True)
    vector_compile_seconds = time.process_time() - started

    def vector_step() -> None:
        _zero(vector_params)
        vector_replay()
        _sgd(vector_params, LEARNING_RATE)

    def vector_gradients() -> list[float]:
        for p, x in zip(vector_params, initial, strict=True):
            p.data = x
        _zero(vector_params)
        vector_replay()
        return [p.grad for p in vector_params]

    float_layers = floats.split_mlp(initial, SIZES)

    def float_gradients() -> list[float]:
        _, grads = floats.moons_gradients(layers, X, y, ALPHA)
        return floats.flatten_mlp(grads)

    return Workload(
        name=name,
        description=(
            f"micrograd's demo: MLP(2, [16, 16, 1]), {n_points} points, hinge loss + 1e-4·Σp², "
            "forward + backward + SGD"
        ),
        cases=[
            Case("floats", lambda: floats.moons_step(float_layers, X, y, LEARNING_RATE), float_gradients),
            Case("autograd", interpreted(ours_loss, o_params), gradients_of(ours_loss, o_params)),
            Case("compiled", compiled_step, compiled_gradients),
            Case("vectorised", vector_step, vector_gradients),
            *(
                [Case("micrograd", interpreted(theirs_loss, t_params), gradients_of(theirs_loss, t_params))]
                if micrograd
                else []
            ),
        ],
        extra={
            "compile seconds": compile_seconds,
            "vectorised compile seconds": vector_compile_seconds,
            "compile memory, bytes per node": round(compile_bytes / replay.num_nodes),
            "graph nodes": replay.num_nodes,
            "points": n_points,
        },
    )


def compile_measured(output: Value) -> tuple[CompiledGraph, float, int]:
    """``compile_graph(output)``, the CPU seconds it took (GC on, as the steps are timed), and
    the peak memory a second compile allocates under ``tracemalloc`` (peak − start, in bytes;
    tracing slows it, so that one is not timed)."""
    started = time.process_time()
    compiled = compile_graph(output)
    seconds = time.process_time() - started
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        traced = compile_graph(output)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del traced
    return compiled, seconds, peak - start


# ---------------------------------------------------------------- chain
def build_chain(V: type, groups: int) -> tuple[list, object]:
    """``groups`` × (·a, +b, relu, ·0.5, +0.5, /c) on leaves (y0, a, b, c), for either engine."""
    leaves = [V(x) for x in CHAIN_LEAVES]
    y, a, b, c = leaves
    for _ in range(groups):
        y = y * a
        y = y + b
        y = y.relu()
        y = y * 0.5
        y = y + 0.5
        y = y / c
    return leaves, y


def chain(n_ops: int) -> Workload:
    """A chain of ``n_ops`` operations (rounded down to whole groups of 6), then backward."""
    MValue, _ = micrograd_modules()
    groups = max(1, n_ops // OPS_PER_GROUP)
    # micrograd makes ~9 nodes per group (constants become nodes; / is ·c⁻¹; the recursion follows them)
    micrograd_recursion_limit(10 * groups)

    def engine_case(name: str, V: type) -> Case:
        def run() -> None:
            _, root = build_chain(V, groups)
            root.backward()

        def grads() -> list[float]:
            leaves, root = build_chain(V, groups)
            root.backward()
            return [float(v.grad) for v in leaves]

        def build() -> tuple[object, Callable[[], int]]:
            leaves, root = build_chain(V, groups)
            return root, lambda: count_nodes(root) - len(leaves)

        return Case(name, run, grads, build)

    return Workload(
        name="chain",
        description=f"{groups * OPS_PER_GROUP:,} operations in a chain (·a, +b, relu, ·0.5, +0.5, /c), "
        "then backward",
        cases=[
            Case(
                "floats",
                lambda: floats.chain(*CHAIN_LEAVES, groups),
                lambda: floats.chain(*CHAIN_LEAVES, groups)[1],
                lambda: (floats.chain(*CHAIN_LEAVES, groups), lambda: 0),
            ),
            engine_case("autograd", Value),
            engine_case("micrograd", MValue),
        ],
        operations=groups * OPS_PER_GROUP,
        notes=[
            f"micrograd needs `sys.setrecursionlimit({sys.getrecursionlimit():,})` for its recursive "
            "topological sort of this chain (the default, 1,000, stops it near 1,000 nodes)."
        ],
    )


# ---------------------------------------------------------------- wide
def pairwise_sum(terms: Sequence):
    """``terms`` summed as a balanced tree: neighbours first, then pairs of pairs (depth log₂ n)."""
    level = list(terms)  # (an iterable: the products are made as the first level is)
    while len(level) > 1:
        paired = [a + b for a, b in zip(level[::2], level[1::2], strict=False)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def wide(n_products: int, pairwise: bool = False) -> Workload:
    """``Σᵢ xᵢ·wᵢ`` over ``n_products`` pairs of leaves (made before each run, untimed), then backward.

    ``pairwise=False`` sums left to right with Python's ``sum`` (a chain of
    additions as deep as the graph is wide); ``pairwise=True`` as a balanced
    tree (``pairwise_sum``), the shape of a reduction written for accuracy.
    """
    MValue, _ = micrograd_modules()
    rng = random.Random(1)
    xs = [rng.uniform(-1.0, 1.0) for _ in range(n_products)]
    ws = [rng.uniform(-1.0, 1.0) for _ in range(n_products)]
    micrograd_recursion_limit(2 * n_products)
    add_up = pairwise_sum if pairwise else sum

    def engine_case(name: str, V: type) -> Case:
        leaves: dict[str, list] = {}

        def setup() -> None:
            leaves["x"] = [V(x) for x in xs]
            leaves["w"] = [V(w) for w in ws]

        def total():
            return add_up(x * w for x, w in zip(leaves["x"], leaves["w"], strict=True))

        def build() -> tuple[object, Callable[[], int]]:
            root = total()
            return root, lambda: count_nodes(root) - 2 * n_products

        def run() -> None:
            total().backward()

        def grads() -> list[float]:
            run()
            return [float(v.grad) for v in leaves["x"] + leaves["w"]]

        return Case(name, run, grads, build, setup, leaves.clear)

    def float_run():
        return floats.wide(xs, ws, pairwise)

    def float_grads() -> list[float]:
        _, gx, gw = float_run()
        return gx + gw

    shape = "as a balanced tree (pairwise)" if pairwise else "left to right (sum)"
    return Workload(
        name="wide pairwise" if pairwise else "wide",
        description=f"{n_products:,} products of leaves (x·w) summed {shape}, then backward",
        cases=[
            Case("floats", float_run, float_grads, lambda: (float_run(), lambda: 0)),
            engine_case("autograd", Value),
            engine_case("micrograd", MValue),
        ],
        operations=2 * n_products - (1 if pairwise else 0),
    )


def count_nodes(root: object) -> int:
    """The nodes of either engine's graph (ours: ``_a``/``_b``; micrograd: ``_prev``), iteratively."""
    if isinstance(root, Value):
        return len(topological_order(root))
    seen = {id(root)}
    stack = [root]
    while stack:
        node = stack.pop()
        for parent in node._prev:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return len(seen)
