"""The training loop: ``fit``, ``evaluate``, ``predict``, ``accuracy``."""

from __future__ import annotations

import math

import pytest

from autograd import Value
from nn import MLP, Dropout, Layer, Sequential, data, losses, optim
from nn.train import TrainingDiverged, accuracy, evaluate, fit, predict


def _xor():
    X, y = data.make_xor(4, noise=0.0)
    return X, y


def test_fit_learns_xor_and_records_the_history():
    X, y = _xor()
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    opt = optim.Adam(model.parameters(), lr=0.05)
    history = fit(model, X, y, losses.binary_cross_entropy_with_logits, opt, epochs=150, progress=False)
    assert set(history) == {"loss", "accuracy"}
    assert len(history["loss"]) == len(history["accuracy"]) == 150
    assert history["loss"][-1] < 0.1 * history["loss"][0]
    assert evaluate(model, X, y, losses.binary_cross_entropy_with_logits)["accuracy"] == 1.0


def test_the_history_loss_is_the_loss_of_the_epoch():
    X, y = _xor()
    model = MLP(2, [3, 1], seed=1)
    before = evaluate(model, X, y, losses.mse_loss)["loss"]
    opt = optim.SGD(model.parameters(), lr=0.0)  # no movement: every epoch sees the same loss
    history = fit(model, X, y, losses.mse_loss, opt, epochs=2, progress=False)
    assert history["loss"] == [before, before]


def test_mini_batches_and_validation_data():
    X, y = data.make_blobs(60, centers=3, seed=0)
    (X_train, X_val, y_train, y_val) = data.train_test_split(X, y, test_size=0.25, seed=0)
    model = MLP(2, [8, 3], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    seen_epochs = []
    history = fit(
        model,
        X_train,
        y_train,
        losses.cross_entropy,
        opt,
        epochs=5,
        batch_size=16,
        validation_data=(X_val, y_val),
        progress=False,
        seed=3,
        callback=lambda epoch, h: seen_epochs.append(epoch),
    )
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 5 for v in history.values())
    assert seen_epochs == [1, 2, 3, 4, 5]
    assert history["val_loss"][-1] == evaluate(model, X_val, y_val, losses.cross_entropy)["loss"]


def test_mini_batch_shuffling_is_reproducible_with_a_seed():
    X, y = data.make_moons(40, seed=2)
    runs = []
    for _ in range(2):
        model = MLP(2, [4, 1], seed=0)
        opt = optim.SGD(model.parameters(), lr=0.1)
        fit(
            model, X, y, losses.binary_cross_entropy_with_logits, opt, 3, batch_size=8, progress=False, seed=7
        )
        runs.append(model.state_dict())
    assert runs[0] == runs[1]


def test_scheduler_steps_once_per_epoch():
    X, y = _xor()
    model = MLP(2, [2, 1], seed=0)
    opt = optim.SGD(model.parameters(), lr=1.0)
    sched = optim.StepLR(opt, step_size=1, gamma=0.5)
    fit(model, X, y, losses.mse_loss, opt, epochs=3, scheduler=sched, progress=False)
    assert opt.lr == 0.125


def test_a_diverging_loss_stops_training_naming_the_epoch_and_updates_nothing():
    X, y = _xor()
    model = MLP(2, [2, 1], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    calls = {"n": 0}

    def loss_that_breaks(predictions, targets):
        calls["n"] += 1
        value = losses.mse_loss(predictions, targets)
        return value * math.inf if calls["n"] == 3 else value

    snapshot = {}
    with pytest.raises(TrainingDiverged, match="epoch 3") as info:
        fit(
            model,
            X,
            y,
            loss_that_breaks,
            opt,
            epochs=5,
            progress=False,
            callback=lambda epoch, h: snapshot.update(model.state_dict()),
        )
    assert isinstance(info.value, FloatingPointError)
    assert model.state_dict() == snapshot  # the weights after epoch 2, untouched by epoch 3


def test_progress_bar_can_be_silenced(capsys):
    X, y = _xor()
    model = MLP(2, [2, 1], seed=0)
    fit(model, X, y, losses.mse_loss, optim.SGD(model.parameters(), lr=0.1), 2, progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    fit(model, X, y, losses.mse_loss, optim.SGD(model.parameters(), lr=0.1), 2, progress=True)
    assert "2/2" in capsys.readouterr().err


def test_evaluate_and_predict_record_no_graph_and_restore_the_mode():
    model = Sequential(
        Layer(2, 4, activation="tanh", seed=0), Dropout(0.5, seed=0), Layer(4, 1, "linear", seed=1)
    )
    model.train()
    X = [[0.1, 0.2], [0.3, -0.4]]
    outputs = predict(model, X)
    assert all(type(o) is float for o in outputs)
    assert outputs == predict(model, X)  # dropout is off in eval mode: deterministic
    assert model.training
    scores = evaluate(model, X, [0.0, 1.0], losses.mse_loss, metrics=())
    assert set(scores) == {"loss"}
    assert model.training


def test_predict_returns_a_list_per_input_for_several_outputs():
    model = MLP(2, [3], seed=0)
    outputs = predict(model, [[1.0, 2.0]])
    assert len(outputs) == 1 and len(outputs[0]) == 3


@pytest.mark.parametrize(
    "predictions, targets, threshold, expected",
    [
        ([Value(0.3), Value(-2.0), Value(1.0)], [1, -1, -1], 0.0, 2 / 3),  # signs, labels ±1
        ([Value(0.3), Value(-2.0), Value(1.0)], [1, 0, 0], 0.0, 2 / 3),  # logits, labels 0/1
        ([Value(0.7), Value(0.2), Value(0.4)], [1, 0, 1], 0.5, 2 / 3),  # probabilities
        ([[Value(0.1), Value(2.0)], [Value(3.0), Value(1.0)]], [1, 1], 0.0, 1 / 2),  # argmax
        ([[0.1, 2.0], [3.0, 1.0]], [1, 1], 0.5, 1 / 2),  # argmax: no threshold involved
    ],
)
def test_accuracy_reads_the_prediction_shape_and_labels(predictions, targets, threshold, expected):
    assert accuracy(predictions, targets, threshold=threshold) == pytest.approx(expected)


def test_accuracy_does_not_change_meaning_with_the_range_of_the_outputs():
    # Logits that all happen to lie in [0, 1] are still logits: each is > 0, so class 1.
    assert accuracy([0.3, 0.2, 0.9, 0.1], [1, 1, 1, 1]) == 1.0
    assert accuracy([0.3, 0.2, 0.9, 0.1], [1, 1, 1, 1], threshold=0.5) == 0.25  # read as probabilities
    with pytest.raises(TypeError, match="threshold must be a real number, not str"):
        accuracy([0.3], [1], threshold="0.5")
    with pytest.raises(ValueError, match="threshold must be a finite number, not nan"):
        accuracy([0.3], [1], threshold=math.nan)


def test_fit_and_evaluate_read_binary_cross_entropy_outputs_as_probabilities():
    X, y = [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [-1.0, 0.5]], [1, 0, 1, 0]
    model = Sequential(Layer(2, 3, "tanh", seed=0), Layer(3, 1, "sigmoid", seed=1))
    probabilities = predict(model, X)
    expected = accuracy(probabilities, y, threshold=0.5)
    assert expected != accuracy(probabilities, y)  # the threshold matters here
    assert evaluate(model, X, y, losses.binary_cross_entropy)["accuracy"] == expected
    opt = optim.SGD(model.parameters(), lr=0.0)
    history = fit(model, X, y, losses.binary_cross_entropy, opt, 1, progress=False)
    assert history["accuracy"] == [expected]
    # Any other loss: the outputs are scores or logits, class 1 above 0.
    assert evaluate(model, X, y, losses.mse_loss)["accuracy"] == accuracy(probabilities, y)


def test_a_metric_can_be_named_with_a_mapping():
    X, y = [[0.0, 1.0], [1.0, 0.0]], [1, 0]
    model = MLP(2, [2, 1], seed=0)
    at_half = {"accuracy": lambda p, t: accuracy(p, t, threshold=0.5)}
    scores = evaluate(model, X, y, losses.mse_loss, metrics=at_half)
    assert scores["accuracy"] == accuracy(predict(model, X), y, threshold=0.5)


def test_bad_arguments_raise_clear_errors():
    X, y = _xor()
    model = MLP(2, [2, 1], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, X, y, losses.mse_loss, opt, epochs=0, progress=False)
    with pytest.raises(TypeError, match="batch_size"):
        fit(model, X, y, losses.mse_loss, opt, epochs=1, batch_size=2.5, progress=False)
    with pytest.raises(ValueError, match="4 inputs but 3 targets"):
        fit(model, X, y[:3], losses.mse_loss, opt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="unknown metric"):
        fit(model, X, y, losses.mse_loss, opt, epochs=1, metrics=("precision",), progress=False)
    with pytest.raises(TypeError, match="Module"):
        fit(lambda x: x, X, y, losses.mse_loss, opt, epochs=1, progress=False)
    with pytest.raises(TypeError, match="optimizer"):
        fit(model, X, y, losses.mse_loss, "sgd", epochs=1, progress=False)


def test_compiled_training_follows_the_interpreted_trajectory():
    X, y = data.make_moons(30, seed=0, labels="pm1")
    states, histories = [], []
    for compile_ in (False, True):
        model = MLP(2, [6, 6, 1], seed=0)
        params = model.parameters()
        opt = optim.SGD(params, lr=0.3, momentum=0.9)

        def loss(p, t, params=params):
            return losses.hinge_loss(p, t) + 1e-4 * sum(w * w for w in params)

        histories.append(fit(model, X, y, loss, opt, epochs=15, progress=False, compile=compile_))
        states.append(model.state_dict())
    for name, value in states[0].items():
        assert states[1][name] == pytest.approx(value, rel=1e-10, abs=1e-12)
    assert histories[1]["loss"] == pytest.approx(histories[0]["loss"], rel=1e-10)
    assert histories[1]["accuracy"] == histories[0]["accuracy"]


def test_compiled_training_with_fixed_mini_batches():
    X, y = data.make_blobs(40, centers=3, seed=1)
    model = MLP(2, [8, 3], seed=0)
    opt = optim.Adam(model.parameters(), lr=0.05)
    history = fit(
        model, X, y, losses.cross_entropy, opt, 20, batch_size=16, progress=False, compile=True, seed=0
    )
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["accuracy"][-1] >= 0.9


def test_compile_refuses_active_dropout():
    model = Sequential(Layer(2, 4, seed=0), Dropout(0.5), Layer(4, 1, "linear", seed=0))
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="Dropout"):
        fit(model, [[0.0, 1.0]], [1.0], losses.mse_loss, opt, 1, progress=False, compile=True)


def test_accuracy_takes_the_plain_floats_predict_returns():
    model = MLP(2, [3, 2], seed=0)
    X = [[0.1, 0.2], [0.5, -1.0], [2.0, 0.3]]
    y = [0, 1, 1]
    with_values = accuracy([model(x) for x in X], y)
    assert accuracy(predict(model, X), y) == with_values
    assert accuracy([0.3, -0.2], [1, -1]) == 1.0


def test_an_overflow_during_the_forward_pass_is_reported_as_divergence():
    X, y = _xor()
    model = MLP(2, [2, 1], seed=0)
    opt = optim.SGD(model.parameters(), lr=0.1)

    def loss_that_overflows(predictions, targets):
        return (losses.mse_loss(predictions, targets) + 1e200) ** 2  # 1e400: too large for a float

    before = model.state_dict()
    with pytest.raises(TrainingDiverged, match="epoch 1.*too large") as info:
        fit(model, X, y, loss_that_overflows, opt, epochs=2, progress=False)
    assert isinstance(info.value.__cause__, OverflowError)
    assert model.state_dict() == before



def _one_linear_neuron(w0, w1, b):
    model = MLP(2, [1], activation="linear", seed=0)
    neuron = model.layers[0].neurons[0]
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = w0, w1, b
    return model


def test_a_diverging_hinge_loss_run_stops_instead_of_reporting_loss_zero():
    # The example: after one step with lr 1e300 the outputs are NaN,
    # and relu(NaN) made the hinge loss 0 (history [1.02, 0.0, 0.0, ...]).
    X, y = data.make_moons(100, noise=0.1, seed=0, labels="pm1")
    model = MLP(2, [8, 1], seed=0)
    opt = optim.SGD(model.parameters(), lr=1e300)
    with pytest.raises(TrainingDiverged, match=r"epoch 2 \(step 1 of the epoch\)"):
        fit(model, X, y, losses.hinge_loss, opt, epochs=5, progress=False)


@pytest.mark.parametrize("compile_", [False, True])
def test_a_parameter_that_becomes_non_finite_stops_training_naming_it(compile_):
    # Loss (0.5·1 + 0.5·2 - 1)² = 0.25 is finite; d/dw1 = 2·0.5·2 = 2, so
    # w1 ← 0.5 - 1e308·2 overflows to -inf, while b ← 0 - 1e308·1 stays finite.
    model = _one_linear_neuron(0.5, 0.5, 0.0)
    opt = optim.SGD(model.parameters(), lr=1e308)
    epochs_done = []
    with pytest.raises(TrainingDiverged, match=r"'layers.0.neurons.0.w.1' became -inf .*epoch 1 \(step 1"):
        fit(
            model, [[1.0, 2.0]], [1.0], losses.mse_loss, opt, 3,
            progress=False, compile=compile_, callback=lambda e, h: epochs_done.append(e),
        )
    assert epochs_done == []  # stopped inside the first epoch
    assert math.isinf(model.layers[0].neurons[0].w[1].data)


def test_a_non_finite_output_stops_training_before_the_update():
    model = _one_linear_neuron(0.0, 0.0, math.nan)
    opt = optim.SGD(model.parameters(), lr=0.1)

    def blind_loss(predictions, targets):  # finite whatever the predictions are
        return Value(1.0) * 1.0

    with pytest.raises(TrainingDiverged, match=r"output .*nan.*epoch 1 \(step 1 .*not updated"):
        fit(model, [[1.0, 2.0]], [1.0], blind_loss, opt, 2, progress=False)
    assert opt.steps == 0
