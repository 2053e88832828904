"""``BatchNorm1d`` against ``torch.nn.BatchNorm1d`` (float64), buffers in ``Module``, ``forward_batch``, and
training a model with batch norm through ``fit``."""

from __future__ import annotations

import random

import pytest
import torch

import nn
from autograd import Value, gradcheck
from nn import (
    MLP,
    Activation,
    BatchNorm1d,
    Dropout,
    Layer,
    LeakyReLU,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    data,
    losses,
    optim,
)
from nn.train import evaluate, fit, predict

TOL = 1e-9


def random_batch(n: int, c: int, seed: int) -> list[list[float]]:
    rng = random.Random(seed)
    return [[rng.gauss(1.5, 2.0) for _ in range(c)] for _ in range(n)]


def torch_twin(bn: BatchNorm1d) -> torch.nn.BatchNorm1d:
    """A float64 ``torch.nn.BatchNorm1d`` with the same settings, weights, running statistics and mode."""
    twin = torch.nn.BatchNorm1d(bn.num_features, eps=bn.eps, momentum=bn.momentum, dtype=torch.float64)
    with torch.no_grad():
        twin.weight.copy_(torch.tensor([w.data for w in bn.weight], dtype=torch.float64))
        twin.bias.copy_(torch.tensor([b.data for b in bn.bias], dtype=torch.float64))
        twin.running_mean.copy_(torch.tensor(bn.running_mean, dtype=torch.float64))
        twin.running_var.copy_(torch.tensor(bn.running_var, dtype=torch.float64))
    return twin.train(bn.training)


def set_affine(bn: BatchNorm1d, seed: int) -> None:
    """Weights and biases away from 1 and 0, so that a mix-up between features shows."""
    rng = random.Random(seed)
    for w, b in zip(bn.weight, bn.bias, strict=True):
        w.data, b.data = rng.uniform(0.5, 2.0), rng.uniform(-1.0, 1.0)


def forward_and_backward(bn: BatchNorm1d, batch: list[list[float]], coefficients: list[list[float]]):
    """Our outputs, and the gradients of Σ coefficient·output w.r.t. inputs, weight and bias."""
    xs = [[Value(v) for v in row] for row in batch]
    ys = bn(xs)
    loss = sum(
        k * y
        for row_k, row_y in zip(coefficients, ys, strict=True)
        for k, y in zip(row_k, row_y, strict=True)
    )
    bn.zero_grad()
    loss.backward()
    return (
        [[y.data for y in row] for row in ys],
        [[x.grad for x in row] for row in xs],
        [w.grad for w in bn.weight],
        [b.grad for b in bn.bias],
    )


def torch_forward_and_backward(twin: torch.nn.BatchNorm1d, batch, coefficients):
    x = torch.tensor(batch, dtype=torch.float64, requires_grad=True)
    twin.zero_grad()
    y = twin(x)
    (y * torch.tensor(coefficients, dtype=torch.float64)).sum().backward()
    return y.tolist(), x.grad.tolist(), twin.weight.grad.tolist(), twin.bias.grad.tolist()


def assert_close(ours, theirs, tol: float = TOL) -> None:
    flat_ours = torch.tensor(ours, dtype=torch.float64)
    flat_theirs = torch.tensor(theirs, dtype=torch.float64)
    assert flat_ours.shape == flat_theirs.shape
    assert torch.allclose(flat_ours, flat_theirs, rtol=0.0, atol=tol), (flat_ours - flat_theirs).abs().max()


# ---------------------------------------------------------------- against PyTorch


@pytest.mark.parametrize(
    ("n", "c", "eps", "momentum"), [(2, 1, 1e-5, 0.1), (5, 3, 1e-5, 0.1), (8, 4, 1e-3, 0.3)]
)
def test_training_outputs_and_gradients_match_torch(n, c, eps, momentum):
    bn = BatchNorm1d(c, eps=eps, momentum=momentum)
    set_affine(bn, seed=n)
    twin = torch_twin(bn)
    batch = random_batch(n, c, seed=c)
    coefficients = random_batch(n, c, seed=100 + c)
    ours = forward_and_backward(bn, batch, coefficients)
    theirs = torch_forward_and_backward(twin, batch, coefficients)
    for mine, reference in zip(ours, theirs, strict=True):
        assert_close(mine, reference)
    assert_close(bn.running_mean, twin.running_mean.tolist())
    assert_close(bn.running_var, twin.running_var.tolist())


def test_running_statistics_after_several_steps_then_eval_match_torch():
    bn = BatchNorm1d(3, momentum=0.2)
    set_affine(bn, seed=0)
    twin = torch_twin(bn)
    for step in range(6):  # batches of different sizes and spreads
        batch = random_batch(4 + step, 3, seed=step)
        coefficients = random_batch(4 + step, 3, seed=50 + step)
        forward_and_backward(bn, batch, coefficients)
        torch_forward_and_backward(twin, batch, coefficients)
    assert bn.running_mean != [0.0] * 3
    assert_close(bn.running_mean, twin.running_mean.tolist())
    assert_close(bn.running_var, twin.running_var.tolist())

    bn.eval()
    twin.eval()
    batch, coefficients = random_batch(5, 3, seed=99), random_batch(5, 3, seed=98)
    before = list(bn.running_mean), list(bn.running_var)
    ours = forward_and_backward(bn, batch, coefficients)
    theirs = torch_forward_and_backward(twin, batch, coefficients)
    for mine, reference in zip(ours, theirs, strict=True):
        assert_close(mine, reference)
    assert (list(bn.running_mean), list(bn.running_var)) == before  # eval mode does not update them


def test_gradients_match_finite_differences():
    bn = BatchNorm1d(2)
    set_affine(bn, seed=3)
    xs = [Value(v) for row in random_batch(4, 2, seed=7) for v in row]
    coefficients = [0.3, -1.2, 0.7, 2.0, -0.4, 1.1, 0.9, -0.8]

    def weighted_output(*inputs):
        rows = [list(inputs[i : i + 2]) for i in range(0, 8, 2)]
        outputs = [y for row in bn(rows) for y in row]
        return sum(k * y for k, y in zip(coefficients, outputs, strict=True))

    assert gradcheck(weighted_output, [*xs, *bn.parameters()])


def test_the_input_gradient_is_the_docstring_formula():
    # ∂L/∂x_i = (weight / √(σ² + eps)) · (g_i − ⟨g⟩ − x̂_i · ⟨g · x̂⟩), with g_i = ∂L/∂y_i.
    bn = BatchNorm1d(1, eps=1e-3)
    bn.weight[0].data = 1.7
    column, g = [0.3, -1.2, 2.5, 0.8, 1.1], [0.5, -2.0, 1.5, 0.25, -0.75]
    xs = [Value(v) for v in column]
    sum(k * y for k, y in zip(g, bn.forward_batch(xs), strict=True)).backward()
    n = len(column)
    mean = sum(column) / n
    variance = sum((v - mean) ** 2 for v in column) / n
    x_hat = [(v - mean) / (variance + 1e-3) ** 0.5 for v in column]
    mean_g, mean_g_x_hat = sum(g) / n, sum(a * b for a, b in zip(g, x_hat, strict=True)) / n
    expected = [
        1.7 / (variance + 1e-3) ** 0.5 * (gi - mean_g - xi * mean_g_x_hat)
        for gi, xi in zip(g, x_hat, strict=True)
    ]
    assert_close([x.grad for x in xs], expected, 1e-12)


def test_the_batch_couples_the_samples():
    # Every output depends on every input of its feature: the input gradients of one feature sum to 0
    # over the batch (shifting all of them by the same amount changes nothing), and a loss that is the
    # plain sum of the outputs (N · bias, whatever the inputs) gives the inputs no gradient at all.
    bn = BatchNorm1d(1)
    xs = [Value(v) for v in (0.5, 2.0, -1.0, 4.0)]
    ys = bn.forward_batch(xs)
    (ys[0] * 3.0 + ys[2]).backward()
    assert all(x.grad != 0.0 for x in xs)  # y0 and y2 depend on x1 and x3 too
    assert abs(sum(x.grad for x in xs)) < 1e-12

    xs = [Value(v) for v in (0.5, 2.0, -1.0, 4.0)]
    sum(bn.forward_batch(xs)).backward()
    assert max(abs(x.grad) for x in xs) < 1e-12


def test_a_bias_just_before_batch_norm_gets_no_gradient():
    model = Sequential(Layer(2, 3, "linear", seed=0), BatchNorm1d(3), Layer(3, 1, "tanh", seed=1))
    outputs = model.forward_batch(random_batch(6, 2, seed=0))
    losses.mse_loss(outputs, [1.0, -1.0, 0.5, 0.0, 1.0, 2.0]).backward()
    first = model[0]
    assert max(abs(n.b.grad) for n in first.neurons) < 1e-12
    assert min(abs(n.w[0].grad) for n in first.neurons) > 1e-6


# ---------------------------------------------------------------- calling conventions


def test_single_sample_in_training_mode_explains_that_a_batch_is_needed():
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match="needs the whole batch"):
        bn([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="needs the whole batch"):
        Sequential(Layer(2, 3, "linear", seed=0), bn)([1.0, 2.0])
    assert (bn.running_mean, bn.running_var) == ([0.0] * 3, [1.0] * 3)


@pytest.mark.parametrize("call", [lambda bn: bn([[1.0, 2.0]]), lambda bn: bn.forward_batch([[1.0, 2.0]])])
def test_a_batch_of_one_in_training_mode_is_an_error_as_in_torch(call):
    bn = BatchNorm1d(2)
    with pytest.raises(ValueError, match="more than 1 sample per batch, got 1.*last batch of one sample"):
        call(bn)
    assert (bn.running_mean, bn.running_var) == ([0.0, 0.0], [1.0, 1.0])  # nothing changed
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        torch.nn.BatchNorm1d(2, dtype=torch.float64)(torch.tensor([[1.0, 2.0]], dtype=torch.float64))


def test_eval_mode_takes_one_sample_and_gives_the_batch_result():
    bn = BatchNorm1d(2)
    bn.forward_batch(random_batch(5, 2, seed=1))
    bn.eval()
    batch = random_batch(3, 2, seed=2)
    whole = [[y.data for y in row] for row in bn(batch)]
    alone = [[y.data for y in bn(sample)] for sample in batch]
    assert whole == alone
    x = Value(1.5)
    (y,) = BatchNorm1d(1).eval()([x])
    y.backward()
    assert x.grad == pytest.approx(1.0 / (1.0 + 1e-5) ** 0.5, rel=1e-15)


def test_shapes_one_feature_samples_numbers_and_empty_batches():
    bn = BatchNorm1d(1)
    out = bn.forward_batch([1.0, 3.0])  # one-feature samples may be bare numbers or Values
    assert [round(y.data, 4) for y in out] == [-1.0, 1.0]  # (x - 2) / sqrt(1 + eps)
    out = bn.forward_batch([[1.0], [3.0]])
    assert [[round(y.data, 4) for y in row] for row in out] == [[-1.0], [1.0]]
    assert bn.eval().forward_batch([]) == []
    with pytest.raises(ValueError, match="more than 1 sample per batch, got 0"):
        bn.train().forward_batch([])


@pytest.mark.parametrize(
    ("batch", "match"),
    [([[1.0, 2.0], [3.0]], "sample 1 has 1 feature"), ([[1.0, 2.0, 3.0], [1.0, 2.0, 4.0]], "sample 0 has 3")],
)
def test_wrong_number_of_features_names_the_sample(batch, match):
    bn = BatchNorm1d(2)
    with pytest.raises(ValueError, match=match):
        bn(batch)
    assert (bn.running_mean, bn.running_var) == ([0.0, 0.0], [1.0, 1.0])
    with pytest.raises(TypeError, match="takes a batch"):
        bn.forward_batch(Value(1.0))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_features": 0}, ValueError, "num_features must be a positive int"),
        ({"num_features": 2.0}, TypeError, "num_features must be a positive int"),
        ({"num_features": 2, "eps": 0.0}, ValueError, "eps must be positive"),
        ({"num_features": 2, "eps": "small"}, TypeError, "eps must be a number"),
        ({"num_features": 2, "momentum": 1.5}, ValueError, r"momentum must be in \[0, 1\]"),
        ({"num_features": 2, "momentum": None}, ValueError, "cumulative average"),
        ({"num_features": 2, "momentum": float("nan")}, ValueError, "momentum must be finite"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        BatchNorm1d(**kwargs)


def test_repr_and_parameters():
    bn = BatchNorm1d(2, eps=1e-3, momentum=0.5)
    assert repr(bn) == "BatchNorm1d(2, eps=0.001, momentum=0.5)"
    assert [name for name, _ in bn.named_parameters()] == ["weight.0", "weight.1", "bias.0", "bias.1"]
    assert [p.data for p in bn.parameters()] == [1.0, 1.0, 0.0, 0.0]


# ---------------------------------------------------------------- buffers and state_dict


def test_buffers_are_in_the_state_but_not_parameters():
    model = Sequential(Layer(2, 2, "linear", seed=0), BatchNorm1d(2), ReLU(), Layer(2, 1, "linear", seed=1))
    model.forward_batch(random_batch(4, 2, seed=0))
    buffers = model.named_buffers()
    assert [name for name, _ in buffers] == [
        "1.running_mean.0",
        "1.running_mean.1",
        "1.running_var.0",
        "1.running_var.1",
    ]
    assert [number for _, number in buffers] == [*model[1].running_mean, *model[1].running_var]
    state = model.state_dict()
    assert list(state)[-4:] == [name for name, _ in buffers]  # after the parameters
    assert len(state) == model.num_parameters() + 4
    assert all(name in state for name, _ in model.named_parameters())
    assert not any("running" in name for name, _ in model.named_parameters())
    model.zero_grad()
    assert [number for _, number in model.named_buffers()] == [number for _, number in buffers]


def test_state_dict_round_trip_with_buffers_through_a_file(tmp_path):
    model = Sequential(Layer(2, 3, "linear", seed=0), BatchNorm1d(3), Tanh(), Layer(3, 1, "linear", seed=1))
    for seed in range(3):
        model.forward_batch(random_batch(5, 2, seed=seed))
    path = nn.save(model.state_dict(), tmp_path / "bn.json")

    other = Sequential(Layer(2, 3, "linear", seed=5), BatchNorm1d(3), Tanh(), Layer(3, 1, "linear", seed=6))
    assert other.state_dict() != model.state_dict()
    other.load_state_dict(nn.load(path))
    assert other.state_dict() == model.state_dict()
    assert other[1].running_var == model[1].running_var
    model.eval(), other.eval()
    sample = [0.3, -0.7]
    assert other(sample).data == model(sample).data


def test_loading_checks_buffer_keys_and_numbers_before_writing():
    bn = BatchNorm1d(2)
    state = bn.state_dict()
    del state["running_var.1"]
    with pytest.raises(KeyError, match="missing key.*'running_var.1'"):
        bn.load_state_dict(state)
    state = {**bn.state_dict(), "running_mean.0": 5.0, "running_var.0": float("nan")}
    with pytest.raises(ValueError, match="running_var.0"):
        bn.load_state_dict(state)
    assert bn.running_mean == [0.0, 0.0]  # nothing was written


def test_a_negative_running_variance_is_refused_in_eval_mode():
    bn = BatchNorm1d(2).eval()
    bn.load_state_dict({**bn.state_dict(), "running_var.1": -3.0})
    with pytest.raises(ValueError, match=r"running_var.1 is -3.0: a variance cannot be negative"):
        bn([1.0, 2.0])


def test_a_custom_module_declares_a_scalar_buffer():
    class Counter(Module):
        buffer_names = ("seen",)

        def __init__(self) -> None:
            self.scale = Value(2.0)
            self.seen = 0.0

        def forward(self, x):
            self.seen += 1.0
            return self.scale * x

    counter = Counter()
    counter(1.0), counter(2.0)
    assert counter.named_buffers() == [("seen", 2.0)]
    assert counter.state_dict() == {"scale": 2.0, "seen": 2.0}
    counter.load_state_dict({"scale": 3.0, "seen": 7.0})
    assert (counter.scale.data, counter.seen) == (3.0, 7.0)
    assert counter.parameters() == [counter.scale]


# ---------------------------------------------------------------- forward_batch and training


def test_forward_batch_is_the_model_on_each_sample_without_batch_norm():
    X = random_batch(4, 2, seed=3)
    for model in (
        MLP(2, [3, 1], seed=0),
        Sequential(Layer(2, 3, "tanh", seed=0), Sigmoid(), Layer(3, 2, seed=1)),
    ):
        batch_outputs = model.forward_batch(X)
        one_by_one = [model(x) for x in X]
        assert [nn.train._data_of(o) for o in batch_outputs] == [nn.train._data_of(o) for o in one_by_one]


def test_sequential_forward_batch_matches_torch_with_batch_norm_inside():
    model = Sequential(
        Layer(2, 3, "linear", seed=0), BatchNorm1d(3), LeakyReLU(0.2), Layer(3, 1, "linear", seed=1)
    )
    set_affine(model[1], seed=4)
    linear = [torch.nn.Linear(2, 3, dtype=torch.float64), torch.nn.Linear(3, 1, dtype=torch.float64)]
    with torch.no_grad():
        for torch_layer, layer in zip(linear, (model[0], model[3]), strict=True):
            torch_layer.weight.copy_(
                torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64)
            )
            torch_layer.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64))
    twin = torch.nn.Sequential(linear[0], torch_twin(model[1]), torch.nn.LeakyReLU(0.2), linear[1])
    X = random_batch(6, 2, seed=8)
    ours = [y.data for y in model.forward_batch(X)]
    theirs = twin(torch.tensor(X, dtype=torch.float64)).squeeze(1).tolist()
    assert_close(ours, theirs)


@pytest.mark.parametrize(("module", "reference"), [
    (ReLU(), torch.nn.ReLU()), (Tanh(), torch.nn.Tanh()), (Sigmoid(), torch.nn.Sigmoid()),
    (LeakyReLU(), torch.nn.LeakyReLU()), (LeakyReLU(0.3), torch.nn.LeakyReLU(0.3)),
])  # fmt: skip
def test_activation_modules_match_torch(module, reference):
    xs = [Value(v) for v in (-2.0, -0.5, 0.25, 3.0)]
    ys = module(xs)
    sum(y * k for y, k in zip(ys, (1.0, 2.0, 3.0, 4.0), strict=True)).backward()
    x = torch.tensor([-2.0, -0.5, 0.25, 3.0], dtype=torch.float64, requires_grad=True)
    y = reference(x)
    (y * torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)).sum().backward()
    assert_close([v.data for v in ys], y.tolist(), 1e-15)
    assert_close([v.grad for v in xs], x.grad.tolist(), 1e-15)
    assert module(Value(-2.0)).data == ys[0].data
    assert module.parameters() == []


def test_activation_module_errors_and_repr():
    with pytest.raises(ValueError, match=r"Activation\('linear'\) would do nothing"):
        Activation("linear")
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        Activation("gelu")
    with pytest.raises(TypeError, match="negative_slope must be a number, not str"):
        LeakyReLU("0.1")
    assert [repr(m) for m in (Activation("tanh"), Tanh(), LeakyReLU(0.2))] == [
        "Activation('tanh')",
        "Tanh()",
        "LeakyReLU(negative_slope=0.2)",
    ]
    assert Activation("sigmoid")([0.0])[0].data == 0.5


def test_fit_trains_a_model_with_batch_norm_in_mini_batches():
    X, y = data.make_moons(64, noise=0.1, seed=0)
    model = Sequential(
        Layer(2, 16, "linear", seed=0), BatchNorm1d(16), ReLU(), Layer(16, 1, "linear", seed=1)
    )
    opt = optim.Adam(model.parameters(), lr=0.05)
    loss = losses.binary_cross_entropy_with_logits
    history = fit(model, X, y, loss, opt, epochs=15, batch_size=16, progress=False, seed=0)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert model.training  # fit trains in training mode
    # 15 epochs of 4 batches moved the running statistics away from 0 and 1.
    assert min(abs(m) for m in model[1].running_mean) > 0.0
    # evaluate and predict use eval mode: the running statistics, one sample independent of the others.
    scores = evaluate(model, X, y, losses.binary_cross_entropy_with_logits)
    assert scores["accuracy"] > 0.85
    outputs = predict(model, X)
    model.eval()
    assert outputs[:3] == [model(x).data for x in X[:3]]


def test_fit_refuses_to_compile_a_model_with_batch_norm():
    X, y = data.make_xor(4, noise=0.0)
    model = Sequential(Layer(2, 4, "linear", seed=0), BatchNorm1d(4), ReLU(), Layer(4, 1, "linear", seed=1))
    before = model.state_dict()
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"BatchNorm1d updates its buffers \(running_mean, running_var\)"):
        fit(model, X, y, losses.mse_loss, opt, epochs=1, compile=True, progress=False)
    assert model.state_dict() == before


def test_dropout_in_a_batch_draws_per_sample_as_before():
    X = random_batch(5, 3, seed=0)
    outputs = Sequential(Dropout(0.5, seed=1)).forward_batch(X)
    drop = Dropout(0.5, seed=1)
    assert outputs == [drop(x) for x in X]
