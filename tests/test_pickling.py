"""``copy.deepcopy`` and ``pickle`` of models and graphs (checkpoints, multiprocessing)."""

from __future__ import annotations

import copy
import pickle

import pytest

from autograd import Value
from nn import MLP, Dropout, Layer, Neuron, Sequential, losses, optim
from nn.layers import ACTIVATIONS


def pickle_round_trip(obj):
    return pickle.loads(pickle.dumps(obj))


COPIES = {"deepcopy": copy.deepcopy, "pickle": pickle_round_trip}

MODELS = {
    "Neuron": lambda: Neuron(3, activation="tanh", seed=0),
    "Layer": lambda: Layer(3, 4, activation="leaky_relu", seed=0),
    "MLP": lambda: MLP(3, [5, 4, 2], seed=0),
    "Sequential": lambda: Sequential(
        Layer(3, 6, "relu", seed=0), Dropout(0.3, seed=1), Sequential(Layer(6, 2, "sigmoid", seed=2))
    ),
    **{f"MLP-{name}": (lambda name=name: MLP(3, [4, 1], activation=name, seed=3)) for name in ACTIVATIONS},
}

X = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [-1.0, -1.0, 0.5], [0.0, 2.0, 1.0]]
Y = [1.0, -1.0, 0.5, 0.0]


def outputs(model):
    out = [model(x) for x in X]
    return [[o.data for o in row] if isinstance(row, list) else [row.data] for row in out]


def train(model, steps=3):
    """A few Adam steps on a fixed problem; returns the losses."""
    opt = optim.Adam(model.parameters(), lr=0.05)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        predictions = [model(x) for x in X]
        flat = [p if isinstance(p, Value) else sum(p, Value(0.0)) for p in predictions]
        loss = losses.mse_loss(flat, Y)
        loss.backward()
        opt.step()
        history.append(loss.data)
    return history


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("make", MODELS.values(), ids=MODELS)
def test_a_copied_model_predicts_and_trains_like_the_original(make, how):
    model = make()
    train(model, steps=1)  # a used model: gradients and optimizer history exist
    clone = COPIES[how](model)
    assert type(clone) is type(model) and repr(clone) == repr(model)
    assert clone.state_dict() == model.state_dict()
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in model.named_parameters()]
    assert all(p.label == n for n, p in clone.named_parameters())
    # Its own parameters, not the original's:
    assert not {id(p) for p in clone.parameters()} & {id(p) for p in model.parameters()}
    assert outputs(clone) == outputs(model)  # Dropout: the random state is copied too
    assert train(clone) == train(model)
    assert clone.state_dict() == model.state_dict()
    before = model.state_dict()
    train(clone)
    assert model.state_dict() == before  # training the copy leaves the original alone
    clone.eval()
    assert model.training


def test_a_shared_weight_stays_shared_in_the_copy():
    first, second = Neuron(2, seed=0), Neuron(2, seed=1)
    second.w[0] = first.w[0]
    for how in COPIES.values():
        clone = how(Sequential(first, second))
        assert clone[1].w[0] is clone[0].w[0]
        assert len(clone.parameters()) == 5


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("inner_first", [True, False])
def test_a_copied_graph_backpropagates_like_the_original(how, inner_first):
    x, w = Value(0.5, label="x"), Value(-2.0, label="w")
    h = x * w
    y = h.tanh() + x.exp() * w
    if inner_first:
        x2, w2, h2, y2 = COPIES[how]((x, w, h, y))
    else:
        y2, h2, w2, x2 = COPIES[how]((y, h, w, x))
    assert (y2.data, y2.op, x2.label, h2.op) == (y.data, y.op, "x", "*")
    assert h2.parents == (x2, w2)  # the copies are one graph, as the originals were
    y.backward()
    y2.backward()
    assert (x2.grad, w2.grad, h2.grad) == (x.grad, w.grad, h.grad)


@pytest.mark.parametrize("how", COPIES)
def test_a_graph_deeper_than_the_recursion_limit_can_be_pickled_and_copied(how):
    x = Value(1.0, label="x")
    y = x
    for _ in range(100_000):
        y = y + 0.0
    x2, y2 = COPIES[how]((x, y))
    y2.backward()
    assert x2.grad == 1.0 and y2.data == 1.0


# ---------------------------------------------------------------- from several threads; old protocols


def _chain(n: int, start: Value | None = None) -> Value:
    y = Value(0.5, label="x") if start is None else start
    for i in range(n):
        y = y * 1.0 + 0.001 * (i % 3)
    return y


def _dump_in_threads(roots: list[Value]) -> list[bytes]:
    """Each root pickled in its own thread, all at once, switching threads as often as Python can."""
    import sys
    import threading

    results: list[bytes | BaseException] = [b""] * len(roots)
    start = threading.Barrier(len(roots))

    def dump(k: int) -> None:
        start.wait()
        try:
            results[k] = pickle.dumps(roots[k])
        except BaseException as error:  # noqa: BLE001 -- reported by the test below
            results[k] = error

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=dump, args=(k,)) for k in range(len(roots))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


@pytest.mark.parametrize("nodes", [8_000, 40_000])
def test_two_threads_pickling_two_chains_write_what_one_thread_writes(nodes):
    """Issue 20 item 7: each pickling has its own state.

    With one set shared by all threads, one thread's pickling emptied the
    other's, whose ancestors then each listed *their* ancestors again: output
    (and time) quadratic in the depth. The bytes must be those of a lone pickling.
    """
    roots = [_chain(nodes // 2), _chain(nodes // 2)]
    alone = [pickle.dumps(r) for r in roots]
    together = _dump_in_threads(roots)
    assert [len(b) for b in together] == [len(b) for b in alone]
    assert together == alone
    assert pickle.loads(together[0]).data == roots[0].data


def test_two_threads_pickling_graphs_that_share_a_deep_trunk():
    trunk = _chain(20_000)
    roots = [trunk * 2.0, trunk.tanh()]
    alone = [pickle.dumps(r) for r in roots]
    assert _dump_in_threads(roots) == alone
    copy_ = pickle.loads(alone[1])
    copy_.backward()
    assert copy_.data == roots[1].data


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_pickle_protocol_round_trips_a_graph(protocol):
    x, w = Value(0.5, label="x"), Value(-2.0, label="w")
    y = (x * w).tanh() + x.clamp(0.0, 1.0)
    y.grad = 3.0
    x2, y2 = pickle.loads(pickle.dumps((x, y), protocol=protocol))
    assert (y2.data, y2.grad, y2.op, x2.label) == (y.data, 3.0, "+", "x")
    assert y2.parents[1].constants == (0.0, 1.0) and y2.parents[1].parents == (x2,)
    y.backward()
    y2.backward()
    assert x2.grad == x.grad


# ---------------------------------------------------------------- refusals leave nothing behind


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("kind", ["unregistered operation", "lecture-style node"])
def test_a_refused_graph_leaves_no_pickling_half_done(how, kind):
    """A node that cannot be pickled inside a graph is refused before anything is written.

    Refused half-way (while the ancestors were being written), the thread's
    pickling kept them marked "written plainly": pickling the deep trunk
    afterwards then nested node in node and hit the recursion limit.
    """
    from autograd import Operation, apply

    trunk = _chain(20_000)
    if kind == "unregistered operation":
        middle = apply(Operation("not_registered_anywhere", "a * 2.0", {"a": "2.0"}), trunk)
        refusal: type[Exception] = pickle.PicklingError
    else:
        middle = Value(trunk.data, (trunk,), "mine")
        refusal = TypeError
    with pytest.raises(refusal, match="not_registered_anywhere|'mine'"):
        COPIES[how](middle * 3.0)
    copied = COPIES[how](trunk)
    assert copied.data == trunk.data
