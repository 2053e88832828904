"""Metrics: ``accuracy``, ``predicted_class``, ``confusion_matrix`` (``nn.metrics``)."""

from __future__ import annotations

import math

import pytest
import torch

from autograd import Value
from nn import Layer, Sequential, losses, optim
from nn.metrics import accuracy, confusion_matrix, predicted_class
from nn.train import TrainingDiverged, fit

NAN = math.nan


@pytest.mark.parametrize(
    "predictions",
    [
        [[0.9], [0.1], [0.8]],  # PyTorch's (N, 1) outputs as .tolist()
        [[Value(0.9)], [Value(0.1)], [Value(0.8)]],  # a model with a one-output Layer, as a list
        [0.9, 0.1, 0.8],
        [Value(0.9), Value(0.1), Value(0.8)],
        [[[0.9]], [[0.1]], [[0.8]]],  # deeper nesting is still one output
        [(0.9,), [Value(0.1)], 0.8],  # the nesting may differ from sample to sample
    ],
)
def test_one_output_is_one_output_in_any_nesting(predictions):
    """Issue 20, item 4: a one-element list was read as several outputs (argmax: always 0)."""
    assert accuracy(predictions, [1, 0, 1], threshold=0.5) == 1.0
    assert accuracy(predictions, [1, 1, 1], threshold=0.85) == pytest.approx(1 / 3)
    as_torch = torch.tensor([[0.9], [0.1], [0.8]], dtype=torch.float64)
    torch_accuracy = ((as_torch[:, 0] > 0.5).long() == torch.tensor([1, 0, 1])).double().mean().item()
    assert accuracy(as_torch.tolist(), [1, 0, 1], threshold=0.5) == torch_accuracy
    assert [predicted_class(p, 0.5) for p in predictions] == [1, 0, 1]


def test_several_outputs_are_read_by_argmax_in_any_nesting():
    assert accuracy([[0.1, 2.0], [[3.0], [1.0]], (Value(0.0), Value(-1.0))], [1, 0, 0]) == 1.0


@pytest.mark.parametrize(
    "predictions, words",
    [
        ([[0.9], [0.1, 0.3]], "sample 0 has 1 output but sample 1 has 2"),
        ([0.9, [0.1, 0.3, 0.2]], "sample 0 has 1 output but sample 1 has 3"),
        ([[0.1, 0.3], [0.9]], "sample 0 has 2 outputs but sample 1 has 1"),
    ],
)
def test_mixed_shapes_are_an_error(predictions, words):
    with pytest.raises(ValueError, match=words):
        accuracy(predictions, [1, 0])


@pytest.mark.parametrize("bad, error, words", [([], ValueError, "no outputs"), (["0.5"], TypeError, "str")])
def test_a_prediction_that_is_not_numbers_is_an_error(bad, error, words):
    with pytest.raises(error, match=words):
        accuracy([bad], [1])


@pytest.mark.parametrize(
    "predictions, targets",
    [
        ([NAN, NAN, 0.9], [0, 0, 1]),  # one output: NaN > threshold is False, which read as class 0
        ([[NAN], [Value(NAN)], [0.9]], [0, 0, 1]),
        ([[NAN, 0.1], [0.2, NAN], [0.0, 1.0]], [0, 1, 1]),  # argmax of a list holding NaN
        ([[NAN, NAN], [0.2, 0.1], [0.0, 1.0]], [0, 1, 1]),
    ],
)
def test_a_nan_prediction_is_always_wrong(predictions, targets):
    """Issue 20, item 17: a NaN output is no class at all, never class 0."""
    assert accuracy(predictions, targets) == pytest.approx(1 / 3)
    assert predicted_class(predictions[0]) is None


def test_binary_cross_entropy_on_a_nan_output_stops_fit_with_training_diverged():
    """Issue 20, item 17: the loss refused the NaN probability with its own ValueError first."""
    model = Sequential(Layer(1, 1, "sigmoid", seed=0))
    model.parameters()[0].data = NAN
    before = [p.data for p in model.parameters()]
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TrainingDiverged, match="the model's output for sample 0 of the batch became nan"):
        fit(model, [[1.0], [2.0]], [1, 0], losses.binary_cross_entropy, opt, 1, progress=False)
    assert [p.data for p in model.parameters()] == pytest.approx(before, nan_ok=True)


class _WholeBatch(Sequential):
    """A model with its own ``forward_batch``: fit(compile=True) compiles each batch's graph for it."""

    def forward_batch(self, xb):
        return super().forward_batch(xb)


@pytest.mark.parametrize("model_class", [Sequential, _WholeBatch], ids=["vectorised", "batch graph"])
@pytest.mark.parametrize("when", ["first step", "replayed step"])
def test_binary_cross_entropy_on_a_nan_output_stops_compiled_fit_with_training_diverged(model_class, when):
    """Issue 20, item 17, with fit(compile=True): the compiled steps report the NaN output before the
    loss (which refused it with a ValueError of its own), on the step that builds the graph and on
    a replayed one: the vectorised replay (one sample's graph) and the compiled batch graph alike."""
    model = model_class(Layer(1, 1, "sigmoid", seed=0))
    weight = model.parameters()[0]
    if when == "first step":
        weight.data = NAN

    def poison(epoch, history):  # after epoch 1's update: epoch 2 replays the compiled step
        weight.data = NAN

    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(
        TrainingDiverged, match="the model's output for sample 0 of the batch became nan"
    ) as info:
        fit(
            model,
            [[1.0], [2.0]],
            [1, 0],
            losses.binary_cross_entropy,
            opt,
            2,
            progress=False,
            compile=True,
            callback=poison,
        )
    assert f"epoch {1 if when == 'first step' else 2} (step 1" in str(info.value)
    assert math.isnan(weight.data)


def test_confusion_matrix_keeps_its_old_import_path():
    from nn.plots import confusion_matrix as from_plots

    assert from_plots is confusion_matrix
    assert confusion_matrix([0, 1, 1], [0, 1, 0]) == [[1, 0], [1, 1]]
