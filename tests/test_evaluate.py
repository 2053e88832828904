"""``evaluate`` and ``predict``: the vectorised replay against the interpreter, its cache, NaN outputs.

A model made of the library's own layers, applied to flat lists of numbers,
is evaluated by replaying one sample's compiled graph over the whole data set
(``autograd.compile.compile_sample``). Here every result is checked against
what the interpreter gives (``model.forward_batch`` under ``no_grad``, then the
loss and the metrics): the same types and structure, the same numbers to
1e-12 relative (NumPy rounds some operations differently from Python).
"""

from __future__ import annotations

import gc
import math
import weakref

import pytest

from autograd import Value, no_grad
from nn import MLP, RNN, BatchNorm1d, Dropout, Layer, LeakyReLU, Module, Sequential, Tanh, data, losses, train
from nn.metrics import accuracy, outputs_of
from nn.train import evaluate, predict

RELATIVE = 1e-12


def close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= RELATIVE * max(abs(a), abs(b))


def interpreted(model, X):
    """Today's outputs: the model applied to each sample with Values, in eval mode, recording nothing."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return model.forward_batch(X)
    finally:
        model.train(was_training)


def interpreted_scores(model, X, y, loss, metrics):
    predictions = interpreted(model, X)
    with no_grad():
        scores = {"loss": loss(predictions, y).data}
    scores.update({name: metric(predictions, y) for name, metric in metrics.items()})
    return scores


def same_floats(got, expected):
    """``got`` has exactly ``expected``'s structure (lists of floats, or floats) and its numbers to 1e-12."""
    assert type(got) is type(expected)
    if isinstance(expected, list):
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            same_floats(g, e)
    else:
        assert type(got) is float
        assert close(got, expected), (got, expected)


def plain(prediction):
    return [v.data for v in prediction] if isinstance(prediction, list) else prediction.data


def replayed(model) -> bool:
    """True if ``evaluate``/``predict`` went through a compiled replay of ``model``."""
    entry = train._FORWARD_REPLAYS.get(model)
    return entry is not None and entry.replay is not None


# (model, loss, targets) for every loss in nn/losses.py that applies to a model's outputs.
X_MOONS, Y01 = data.make_moons(37, noise=0.2, seed=4, labels="01")
YPM = [2 * t - 1 for t in Y01]
X_BLOBS, Y3 = data.make_blobs(41, centers=3, seed=2)
CASES = {
    "mse": (lambda: MLP(2, [8, 8, 1], activation="tanh", seed=0), losses.mse_loss, X_MOONS, Y01),
    "hinge": (lambda: MLP(2, [16, 16, 1], seed=1), losses.hinge_loss, X_MOONS, YPM),
    "bce": (
        lambda: Sequential(Layer(2, 6, "tanh", seed=0), Layer(6, 1, "sigmoid", seed=1)),
        losses.binary_cross_entropy,
        X_MOONS,
        Y01,
    ),
    "bce_logits": (
        lambda: Sequential(Layer(2, 6, "linear", seed=2), LeakyReLU(0.1), Layer(6, 1, "linear", seed=3)),
        losses.binary_cross_entropy_with_logits,
        X_MOONS,
        Y01,
    ),
    "cross_entropy": (lambda: MLP(2, [8, 3], seed=5), losses.cross_entropy, X_BLOBS, Y3),
    "cross_entropy_dropout": (
        lambda: Sequential(Layer(2, 5, "relu", seed=6), Dropout(0.5, seed=0), Layer(5, 3, "linear", seed=7)),
        losses.cross_entropy,
        X_BLOBS,
        Y3,
    ),
    "your_own_loss": (  # a squared error over two sigmoid outputs per sample, written by hand
        lambda: Sequential(Layer(2, 5, "tanh", seed=8), Layer(5, 2, "sigmoid", seed=9)),
        lambda p, t: (
            sum((pk - tk) ** 2 for row, ts in zip(p, t, strict=True) for pk, tk in zip(row, ts, strict=True))
            / len(p)
        ),
        X_BLOBS,
        [[float(t == 0), float(t == 1)] for t in Y3],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_evaluate_and_predict_replay_the_interpreters_numbers(name):
    make, loss, X, y = CASES[name]
    model = make()
    model.train()
    metrics = {"accuracy": accuracy, "mean_output": lambda p, t: sum(sum(outputs_of(o)) for o in p)}
    if name == "your_own_loss":  # the targets are not class indices
        metrics = {"mean_output": metrics["mean_output"]}
    expected = interpreted_scores(model, X, y, loss, metrics)
    scores = evaluate(model, X, y, loss, metrics=metrics)
    assert replayed(model)
    assert model.training  # the mode is restored
    assert list(scores) == list(expected)
    for key, value in expected.items():
        assert type(scores[key]) is float
        assert close(scores[key], value), (key, scores[key], value)
    same_floats(predict(model, X), [plain(p) for p in interpreted(model, X)])
    # A smaller data set: the same replay serves any number of samples.
    same_floats(predict(model, X[:9]), [plain(p) for p in interpreted(model, X[:9])])


def test_a_handful_of_samples_is_interpreted_where_a_replay_would_cost_more():
    model = MLP(2, [4, 1], seed=0)
    few = X_MOONS[: train._REPLAY_FROM - 1]
    assert predict(model, few) == [plain(p) for p in interpreted(model, few)]  # the interpreter's floats
    assert not replayed(model)
    predict(model, X_MOONS[: train._REPLAY_FROM])
    assert replayed(model)


def test_predict_keeps_the_shape_of_one_output_in_a_list():
    # Tanh() of a one-element list gives a one-element list: a list per sample, as the interpreter gives.
    model = Sequential(Tanh())
    X = [[0.5 * k - 2.0] for k in range(9)]
    outputs = predict(model, X)
    assert replayed(model)
    assert all(isinstance(o, list) and len(o) == 1 for o in outputs)
    same_floats(outputs, [plain(p) for p in interpreted(model, X)])
    assert predict(model, []) == []


def test_a_model_that_looks_across_the_batch_or_reads_sequences_is_interpreted():
    model = Sequential(Layer(2, 4, "linear", seed=0), BatchNorm1d(4), Layer(4, 1, "linear", seed=1))
    model[1].running_mean = [0.1, -0.2, 0.3, 0.0]
    scores = evaluate(model, X_MOONS, YPM, losses.hinge_loss)
    assert not replayed(model)
    assert scores == interpreted_scores(model, X_MOONS, YPM, losses.hinge_loss, {"accuracy": accuracy})
    assert predict(model, X_MOONS) == [plain(p) for p in interpreted(model, X_MOONS)]

    class LastState(Module):
        def __init__(self):
            self.rnn = RNN(1, 3, seed=0)
            self.head = Layer(3, 1, "linear", seed=1)

        def forward(self, sequence):
            _, h = self.rnn(sequence)
            return self.head(h)

    recurrent = LastState()
    sequences = [[[0.5], [-1.0]], [[2.0], [0.1], [0.3]]]
    assert predict(recurrent, sequences) == [plain(p) for p in interpreted(recurrent, sequences)]
    assert not replayed(recurrent)


def test_a_module_of_your_own_is_interpreted_since_its_python_may_branch_on_the_numbers():
    class Fold(Module):
        """|x| written with a Python ``if``: a replay would keep the branch taken for the first sample."""

        def __init__(self):
            self.layer = Layer(2, 1, "linear", seed=0)

        def forward(self, x):
            out = self.layer(x)
            return out if out.data >= 0 else -out

    model = Fold()
    X = [[1.0, 1.0], [-1.0, -1.0], [0.3, -2.0]] * 3  # enough samples for a replay (train._REPLAY_FROM)
    expected = [abs(model.layer(x).data) for x in X]
    assert predict(model, X) == expected
    assert not replayed(model)


def test_evaluate_takes_outputs_that_are_not_values_as_before():
    class Both(Module):
        """Two outputs as a tuple: the loss, written for it, is what reads them."""

        def __init__(self):
            self.layer = Layer(2, 1, "linear", seed=0)

        def forward(self, x):
            out = self.layer(x)
            return out, out * 2.0

    def loss(predictions, targets):
        return sum((a - t) ** 2 + (b - 2 * t) ** 2 for (a, b), t in zip(predictions, targets, strict=True))

    model = Both()
    scores = evaluate(model, X_MOONS, Y01, loss, metrics=())
    with no_grad():
        assert scores == {"loss": loss(interpreted(model, X_MOONS), Y01).data}


def test_the_cached_replay_reads_new_weights_and_recompiles_for_a_new_structure(monkeypatch):
    model = MLP(2, [4, 1], seed=0)
    X = X_MOONS[:10]
    compiled = []
    real = train.compile_sample
    monkeypatch.setattr(train, "compile_sample", lambda *a: compiled.append(1) or real(*a))
    first = predict(model, X)
    assert predict(model, X) == first and len(compiled) == 1  # compiled once, then reused
    for p in model.parameters():  # new values: the replay reads them, no new compile
        p.data = 0.5 * p.data + 0.1
    same_floats(predict(model, X), [plain(p) for p in interpreted(model, X)])
    assert predict(model, X) != first and len(compiled) == 1
    # New parameters (a layer replaced): compiled again, with the new layer's weights.
    model.layers[1] = Layer(4, 1, "linear", seed=9)
    same_floats(predict(model, X), [plain(p) for p in interpreted(model, X)])
    assert len(compiled) == 2
    # The same parameters, a setting changed in place (a slope): compiled again.
    leaky = Sequential(Layer(2, 3, "linear", seed=0), LeakyReLU(0.01), Layer(3, 1, "linear", seed=1))
    before = predict(leaky, X)
    leaky[1].negative_slope = 0.5
    after = predict(leaky, X)
    same_floats(after, [plain(p) for p in interpreted(leaky, X)])
    assert after != before and len(compiled) == 4
    # A module inserted without parameters (an activation): compiled again.
    leaky._modules.insert(2, Tanh())
    same_floats(predict(leaky, X), [plain(p) for p in interpreted(leaky, X)])
    assert len(compiled) == 5


def test_a_large_data_set_is_replayed_in_chunks_of_samples(monkeypatch):
    # One forward pass holds a number per sample and node: evaluate replays the samples a chunk at a time.
    model = MLP(2, [5, 3], seed=0)
    whole = predict(model, X_BLOBS)
    assert len(whole) == len(X_BLOBS)
    monkeypatch.setattr(train, "_REPLAY_NUMBERS", 4 * train._FORWARD_REPLAYS[model].replay.operations)
    same_floats(predict(model, X_BLOBS), whole)  # chunks of 4 samples, and a last one of 1
    same_floats(whole, [plain(p) for p in interpreted(model, X_BLOBS)])


def test_the_cache_does_not_keep_a_deleted_model_alive():
    model = MLP(2, [4, 1], seed=0)
    predict(model, X_MOONS)
    assert replayed(model)
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None


def test_inputs_the_replay_cannot_take_go_to_the_interpreter_and_its_errors():
    model = MLP(2, [3, 1], seed=0)
    X = [list(x) for x in X_MOONS[:10]]
    predict(model, X)
    assert replayed(model)  # a replay for two inputs exists now
    with pytest.raises(ValueError, match="expects 2 input"):
        predict(model, [*X, [1.0, 2.0, 3.0]])  # a ragged data set: the row is named as before
    with pytest.raises(ValueError, match="expects 2 input"):
        predict(model, [[0.0, 1.0, 2.0]] * 10)
    for odd in (Value(2.0), True):  # a Value among the numbers; a bool (a number to the interpreter)
        mixed = [*X, [odd, 0.5]]
        assert predict(model, mixed) == [plain(p) for p in interpreted(model, mixed)]
    with pytest.raises(TypeError):
        predict(model, [*X, ["1.0", 0.5]])  # a string is not a number, as before


def test_under_no_grad_a_model_not_yet_compiled_is_interpreted():
    model = MLP(2, [3, 1], seed=0)
    with no_grad():
        outputs = predict(model, X_MOONS)
    assert outputs == [plain(p) for p in interpreted(model, X_MOONS)]
    assert not replayed(model)
    predict(model, X_MOONS)
    assert replayed(model)


@pytest.mark.parametrize("replay", [True, False], ids=["replayed", "interpreted"])
def test_evaluate_reports_a_nan_loss_for_a_nan_output_instead_of_the_losss_error(replay, monkeypatch):
    if not replay:
        monkeypatch.setattr(train, "_sample_by_sample", lambda model, X: False)
    model = Sequential(Layer(2, 3, "tanh", seed=0), Layer(3, 1, "sigmoid", seed=1))
    X, y = [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [-1.0, 0.5]] * 2, [1, 0, 1, 0] * 2
    model[1].neurons[0].w[0].data = math.nan  # every output is NaN
    scores = evaluate(model, X, y, losses.binary_cross_entropy)  # used to raise "must be in [0, 1]"
    assert math.isnan(scores["loss"])
    assert scores["accuracy"] == 0.0  # a NaN prediction is wrong, never class 0
    assert replayed(model) is replay
    model[1].neurons[0].w[0].data = math.inf  # +inf·tanh(...) gives ±inf before the sigmoid: 0 or 1
    model[0].neurons[0].w[0].data = math.inf  # and inf·0 = NaN for the sample [0, 1]
    scores = evaluate(model, X, y, losses.mse_loss)
    assert math.isnan(scores["loss"])


@pytest.mark.parametrize("replay", [True, False], ids=["replayed", "interpreted"])
def test_evaluate_reports_the_losss_own_infinity_for_an_infinite_output(replay, monkeypatch):
    """An infinite prediction is a number mse_loss takes: its loss is inf (as torch's), not nan."""
    if not replay:
        monkeypatch.setattr(train, "_sample_by_sample", lambda model, X: False)
    model = Sequential(Layer(2, 1, "linear", seed=0))
    model[0].neurons[0].w[0].data = math.inf
    model[0].neurons[0].w[1].data = 1.0
    X, y = [[1.0, 0.0], [2.0, 1.0], [0.5, -1.0], [3.0, 0.0]] * 2, [0.0, 1.0, 0.0, 1.0] * 2
    assert evaluate(model, X, y, losses.mse_loss)["loss"] == math.inf
    assert replayed(model) is replay
