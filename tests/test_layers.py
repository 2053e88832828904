"""The layers (``Neuron`` ... ``Dropout``) and ``nn.init``: against PyTorch and micrograd."""

from __future__ import annotations

import math
import random
import statistics

import pytest
import torch

from autograd import Value
from nn import MLP, Dropout, Layer, Neuron, Sequential
from nn.layers import ACTIVATIONS

TORCH_ACTIVATIONS = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "leaky_relu": torch.nn.functional.leaky_relu,
    "linear": lambda t: t,
}


def approx(expected):
    return pytest.approx(expected, rel=1e-12, abs=1e-14)


def torch_layers(model: MLP | Layer) -> list[tuple[torch.Tensor, torch.Tensor, str]]:
    """Our weights as PyTorch tensors: one (W, b, activation) per layer, W[j][k] = neuron j's w.k."""
    layers = model.layers if isinstance(model, MLP) else [model]
    out = []
    for layer in layers:
        W = torch.tensor(
            [[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64, requires_grad=True
        )
        b = torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True)
        out.append((W, b, layer.activation))
    return out


def torch_forward(layers, x: list[float]) -> torch.Tensor:
    h = torch.tensor(x, dtype=torch.float64)
    for W, b, activation in layers:
        h = TORCH_ACTIVATIONS[activation](W @ h + b)
    return h


def torch_grads(layers) -> list[float]:
    """The gradients in our parameter order: per neuron its weights, then its bias."""
    grads = []
    for W, b, _ in layers:
        for j in range(W.shape[0]):
            grads += W.grad[j].tolist() + [b.grad[j].item()]
    return grads


# ---------------------------------------------------------------- forward and backward against PyTorch
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("init", ["uniform", "xavier", "he"])
def test_layer_forward_and_gradients_match_torch(activation, init):
    layer = Layer(3, 4, activation, init, seed=7)
    x_values = [Value(0.3), Value(-1.2), Value(0.8)]
    outputs = layer(x_values)
    loss = sum((o * (i + 1) for i, o in enumerate(outputs)), Value(0.0))
    loss.backward()

    layers = torch_layers(layer)
    x = torch.tensor([0.3, -1.2, 0.8], dtype=torch.float64, requires_grad=True)
    W, b, _ = layers[0]
    h = TORCH_ACTIVATIONS[activation](W @ x + b)
    (h * torch.arange(1, 5, dtype=torch.float64)).sum().backward()

    assert [o.data for o in outputs] == approx(h.tolist())
    assert [p.grad for p in layer.parameters()] == approx(torch_grads(layers))
    assert [v.grad for v in x_values] == approx(x.grad.tolist())


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_mlp_forward_and_gradients_match_torch(activation):
    model = MLP(2, [5, 4, 3], activation=activation, seed=3)
    points = [[0.5, -1.5], [2.0, 0.25], [-0.75, 1.0]]
    loss = Value(0.0)
    for x in points:
        out = model(x)
        loss = loss + out[0] * out[1] - out[2]
    loss.backward()

    layers = torch_layers(model)
    expected = torch.tensor(0.0, dtype=torch.float64)
    for x in points:
        out = torch_forward(layers, x)
        expected = expected + out[0] * out[1] - out[2]
    expected.backward()

    assert loss.data == approx(expected.item())
    assert [p.grad for p in model.parameters()] == approx(torch_grads(layers))


def test_mlp_last_layer_is_linear_and_output_shapes():
    model = MLP(2, [4, 1], activation="relu", seed=0)
    assert [layer.activation for layer in model.layers] == ["relu", "linear"]
    assert isinstance(model([1.0, 2.0]), Value)
    wide = MLP(2, [4, 3], seed=0)
    out = wide([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 3
    # With a large negative bias ReLU would clip; a linear output can be negative.
    model.layers[-1].neurons[0].b.data = -100.0
    assert model([1.0, 2.0]).data < 0


def test_neuron_forward_builds_few_nodes_and_matches_formula():
    n = Neuron(3, activation="tanh", seed=1)
    x = [0.5, -2.0, 1.5]
    out = n(x)
    expected = math.tanh(sum(w.data * xi for w, xi in zip(n.w, x, strict=True)) + n.b.data)
    assert out.data == pytest.approx(expected, rel=1e-15)
    # 3 products with constants, 3 additions starting from the bias, 1 tanh.
    nodes, stack, seen = 0, [out], set()
    while stack:
        node = stack.pop()
        if id(node) in seen or node.is_leaf:
            continue
        seen.add(id(node))
        nodes += 1
        stack.extend(node.parents)
    assert nodes == 7
    assert out.op == "tanh"


def test_single_value_input_and_length_errors():
    n = Neuron(1, activation="linear", seed=0)
    x = Value(2.0)
    assert n(x).data == pytest.approx(n.w[0].data * 2.0)
    assert n(2.0).data == n([2.0]).data
    layer = Layer(3, 2, seed=0)
    with pytest.raises(ValueError, match="expects 3 input.*got 2"):
        layer([1.0, 2.0])
    with pytest.raises(ValueError, match="expects 3 input.*got 1"):
        layer(Value(1.0))
    with pytest.raises(ValueError, match="expects 2 input"):
        MLP(2, [3, 1], seed=0)([1.0, 2.0, 3.0])


# ---------------------------------------------------------------- naming
def test_parameter_names_and_order():
    n = Neuron(3, seed=0)
    assert [name for name, _ in n.named_parameters()] == ["w.0", "w.1", "w.2", "b"]
    assert n.parameters() == [*n.w, n.b]

    layer = Layer(2, 2, seed=0)
    assert [name for name, _ in layer.named_parameters()] == [
        "neurons.0.w.0",
        "neurons.0.w.1",
        "neurons.0.b",
        "neurons.1.w.0",
        "neurons.1.w.1",
        "neurons.1.b",
    ]
    model = MLP(2, [16, 16, 1], seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert len(names) == model.num_parameters() == 2 * 16 + 16 + 16 * 16 + 16 + 16 + 1 == 337
    assert names[:3] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b"]
    assert names[-1] == "layers.2.neurons.0.b"
    expected = [p for layer in model.layers for neuron in layer.neurons for p in [*neuron.w, neuron.b]]
    assert model.parameters() == expected


def test_labels_are_full_names_in_the_outermost_module():
    assert [p.label for p in Neuron(2, seed=0).parameters()] == ["w.0", "w.1", "b"]
    model = MLP(2, [3, 1], seed=0)
    assert all(p.label == name for name, p in model.named_parameters())
    assert model.layers[1].neurons[0].b.label == "layers.1.neurons.0.b"
    seq = Sequential(Layer(2, 2, seed=0), Dropout(0.1), Neuron(2, seed=0))
    assert [name for name, _ in seq.named_parameters()][-3:] == ["2.w.0", "2.w.1", "2.b"]
    assert all(p.label == name for name, p in seq.named_parameters())


def test_repr():
    assert repr(MLP(2, [16, 16, 1], seed=0)) == "MLP(2, [16, 16, 1], activation='relu')"
    assert repr(MLP(2, [4, 1], activation="tanh", init="xavier", seed=0)) == (
        "MLP(2, [4, 1], activation='tanh', init='xavier')"
    )
    assert repr(Layer(2, 8, "tanh", seed=0)) == "Layer(2, 8, activation='tanh')"
    assert repr(Neuron(3, seed=0)) == "Neuron(3, activation='relu')"
    assert repr(Dropout(0.2)) == "Dropout(p=0.2)"
    seq = Sequential(Layer(2, 8, "tanh", seed=0), Sequential(Dropout(0.2)))
    assert repr(seq) == (
        "Sequential(\n"
        "  (0): Layer(2, 8, activation='tanh')\n"
        "  (1): Sequential(\n"
        "    (0): Dropout(p=0.2)\n"
        "  )\n"
        ")"
    )


# ---------------------------------------------------------------- argument checks
@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: Neuron(0), ValueError, "nin must be a positive int"),
        (lambda: Neuron(2.0), TypeError, "nin must be a positive int, not float"),
        (lambda: Neuron(True), TypeError, "nin"),
        (lambda: Layer(2, -1), ValueError, "nout"),
        (lambda: Layer(2, "3"), TypeError, "nout"),
        (lambda: MLP(2, []), TypeError, "nouts"),
        (lambda: MLP(2, 3), TypeError, "nouts"),
        (lambda: MLP(2, [3, 0]), ValueError, r"nouts\[1\]"),
        (
            lambda: Neuron(2, activation="softplus"),
            ValueError,
            "'relu', 'tanh', 'sigmoid', 'leaky_relu', 'linear'",
        ),
        (lambda: MLP(2, [3], activation="ReLU"), ValueError, "unknown activation 'ReLU'"),
        (lambda: Layer(2, 3, init="normal"), ValueError, "'uniform', 'xavier', 'he'"),
        (lambda: Neuron(2, seed=1, rng=random.Random(1)), ValueError, "not both"),
        (lambda: Neuron(2, seed=1.5), TypeError, "seed"),
        (lambda: Neuron(2, rng=1), TypeError, "rng"),
    ],
)
def test_bad_arguments(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_bad_arguments_draw_nothing_from_the_generator():
    rng = random.Random(0)
    state = rng.getstate()
    with pytest.raises(ValueError):
        MLP(2, [3, 1], activation="nope", rng=rng)
    with pytest.raises(ValueError):
        Layer(2, 3, init="nope", rng=rng)
    assert rng.getstate() == state


# ---------------------------------------------------------------- initialisation and seeds
def test_same_seed_same_weights_and_global_random_untouched():
    random.seed(1234)
    state = random.getstate()
    a = MLP(2, [8, 8, 1], seed=42)
    b = MLP(2, [8, 8, 1], seed=42)
    c = MLP(2, [8, 8, 1], seed=43)
    unseeded = MLP(2, [8, 8, 1])
    Dropout(0.5, seed=1)([1.0] * 10)
    Dropout(0.5)([1.0] * 10)
    assert random.getstate() == state
    assert a.state_dict() == b.state_dict()
    assert a.state_dict() != c.state_dict()
    assert unseeded.state_dict() != a.state_dict()


def test_one_generator_is_shared_down_the_model():
    rng = random.Random(5)
    model = MLP(2, [3, 2], rng=rng)
    again = random.Random(5)
    expected = [again.uniform(-1, 1) for _ in range(2 * 3 + 3 * 2)]
    weights = [p.data for name, p in model.named_parameters() if not name.endswith(".b")]
    assert weights == expected
    assert all(p.data == 0.0 for name, p in model.named_parameters() if name.endswith(".b"))


def test_seeded_mlp_has_micrograds_weights():
    micrograd_nn = pytest.importorskip("micrograd.nn")
    state = random.getstate()
    try:
        random.seed(2024)
        theirs = micrograd_nn.MLP(2, [16, 16, 1])
    finally:
        random.setstate(state)
    ours = MLP(2, [16, 16, 1], seed=2024)
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    xs = [[0.3, -0.7], [1.5, 0.2]]
    assert [ours(x).data for x in xs] == approx([theirs(x).data for x in xs])


def weights_of(init: str, nin: int, nout: int, count: int) -> list[float]:
    rng = random.Random(11)
    return [w.data for _ in range(count) for n in Layer(nin, nout, init=init, rng=rng).neurons for w in n.w]


def test_uniform_init_statistics():
    w = weights_of("uniform", 50, 20, 10)  # 10,000 weights from U(-1, 1)
    assert min(w) >= -1.0 and max(w) <= 1.0
    assert statistics.fmean(w) == pytest.approx(0.0, abs=0.03)
    assert statistics.pvariance(w) == pytest.approx(1 / 3, rel=0.05)


def test_xavier_init_statistics():
    nin, nout = 50, 30
    w = weights_of("xavier", nin, nout, 10)
    bound = math.sqrt(6 / (nin + nout))
    assert max(abs(x) for x in w) <= bound
    assert max(abs(x) for x in w) > 0.95 * bound
    assert statistics.pvariance(w) == pytest.approx(2 / (nin + nout), rel=0.05)
    lone = [w.data for _ in range(200) for w in Neuron(50, init="xavier", rng=random.Random(_)).w]
    assert max(abs(x) for x in lone) <= math.sqrt(6 / 51)  # a lone neuron: fan_out = 1


def test_he_init_statistics():
    nin = 40
    w = weights_of("he", nin, 25, 10)
    assert statistics.fmean(w) == pytest.approx(0.0, abs=0.01)
    assert statistics.pstdev(w) == pytest.approx(math.sqrt(2 / nin), rel=0.03)
    assert max(abs(x) for x in w) > 2.5 * math.sqrt(2 / nin)  # a normal, not a bounded uniform


# ---------------------------------------------------------------- Sequential
def test_sequential_chains_modules_like_torch():
    first, last = Layer(2, 3, "tanh", seed=0), Layer(3, 1, "linear", seed=1)
    seq = Sequential(first, Dropout(0.2, seed=0), last)
    seq.eval()
    x = [0.4, -0.9]
    assert seq(x).data == last(first(x)).data
    assert isinstance(seq(x), Value)
    assert len(seq) == 3 and seq[0] is first and list(seq)[2] is last
    assert isinstance(seq[1:], Sequential) and len(seq[1:]) == 2
    # A single Value between modules is passed on as a one-element input.
    chain = Sequential(Layer(2, 1, "linear", seed=0), Neuron(1, "tanh", seed=1))
    assert chain(x).data == chain[1](chain[0](x)).data
    assert Sequential()(x) is x


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="argument 1 is a int"):
        Sequential(Layer(2, 2), 3)
    with pytest.raises(TypeError, match="separate arguments"):
        Sequential([Layer(2, 2)])


def test_sequential_gradients_match_torch_in_eval_mode():
    seq = Sequential(Layer(2, 4, "sigmoid", seed=2), Dropout(0.5), Layer(4, 2, "linear", seed=3)).eval()
    out = seq([1.5, -0.5])
    (out[0] - out[1] * 2.0).backward()
    layers = torch_layers(seq[0]) + torch_layers(seq[2])
    t = torch_forward(layers, [1.5, -0.5])
    (t[0] - t[1] * 2.0).backward()
    assert [p.grad for p in seq.parameters()] == approx(torch_grads(layers))


# ---------------------------------------------------------------- Dropout
def test_dropout_statistics_in_training_mode():
    p, n = 0.3, 20_000
    drop = Dropout(p, seed=0)
    assert drop.training
    xs = [Value(1.0) for _ in range(n)]
    out = drop(xs)
    zeros = sum(1 for o in out if o.data == 0.0)
    # The number dropped is Binomial(n, p): within 5 standard deviations.
    assert abs(zeros - p * n) < 5 * math.sqrt(n * p * (1 - p))
    assert all(o.data == 0.0 or o.data == 1.0 / (1.0 - p) for o in out)
    assert statistics.fmean(o.data for o in out) == pytest.approx(1.0, abs=0.03)
    # Gradients: 0 for dropped inputs, 1/(1 - p) for kept ones.
    total = out[0]
    for o in out[1:]:
        total = total + o
    total.backward()
    assert all(x.grad == o.data for x, o in zip(xs, out, strict=True))


def test_dropout_eval_is_identity_and_train_restores():
    drop = Dropout(0.5, seed=0)
    x = [Value(1.0), Value(2.0), 3.0]
    assert drop.eval() is drop and not drop.training
    assert drop(x) is x
    single = Value(2.0)
    assert drop(single) is single
    drop.train()
    outs = [drop(single).data for _ in range(200)]
    assert set(outs) == {0.0, 4.0}


def test_dropout_seed_reproducible_and_p_zero():
    def mask(seed):
        return [o.data for o in Dropout(0.5, seed=seed)([Value(1.0)] * 50)]

    assert mask(3) == mask(3)
    assert mask(3) != mask(4)
    x = [Value(1.0), Value(-2.0)]
    assert [o.data for o in Dropout(0.0)(x)] == [1.0, -2.0]
    assert Dropout(0.4).parameters() == []


@pytest.mark.parametrize(
    "p, error, message",
    [
        (1.0, ValueError, r"p must be in \[0, 1\), not 1\.0$"),
        (-0.1, ValueError, r"p must be in \[0, 1\), not -0\.1$"),
        (math.nan, ValueError, r"p must be in \[0, 1\), not nan$"),
        ("0.5", TypeError, r"p must be a number, not str$"),
    ],
)
def test_dropout_bad_p(p, error, message):
    with pytest.raises(error, match=message):
        Dropout(p)


def test_train_eval_reach_dropout_inside_models():
    seq = Sequential(Layer(2, 4, seed=0), Sequential(Dropout(0.5, seed=0)), Layer(4, 1, "linear", seed=0))
    assert seq.eval() is seq
    assert not any(m.training for m in seq.modules())
    assert seq([1.0, 2.0]).data == seq([1.0, 2.0]).data
    seq.train()
    assert all(m.training for m in seq.modules())
    # The Module machinery reaches through the nested Sequential: parameters
    # named by position, as in torch.nn.Sequential (the Dropout at 1.0 has none).
    names = [name for name, _ in seq.named_parameters()]
    assert len(names) == 4 * (2 + 1) + (4 + 1)
    assert names[:3] == ["0.neurons.0.w.0", "0.neurons.0.w.1", "0.neurons.0.b"]
    assert names[-1] == "2.neurons.0.b"
