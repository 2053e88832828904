"""The training loop: ``fit``, ``evaluate`` and ``predict``.

Training repeats one step until the model is good enough::

    optimizer.zero_grad()                 # 1. forget the last step's gradients
    predictions = [model(x) for x in xs]  # 2. forward pass: record a graph
    loss = loss_fn(predictions, ys)       #    ... ending in one number
    loss.backward()                       # 3. backward pass: d(loss)/d(parameter)
    optimizer.step()                      # 4. move every parameter downhill

One pass over the whole training set is an *epoch*. With ``batch_size=None``
every step sees all samples (full-batch gradient descent, as in micrograd's
demo); with a ``batch_size`` each step sees a mini-batch, shuffled afresh each
epoch (stochastic gradient descent), and an epoch has several steps.

``fit`` returns a *history*: the mean training loss and metrics per epoch and,
with ``validation_data``, the same on held-out data, measured with the
weights at the end of the epoch. Training metrics are measured on the
predictions made during the epoch (before each step's update), as Keras does.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence

from autograd import Value, no_grad

from .checks import int_at_least
from .data import batches
from .module import Module
from .optim import LRScheduler, Optimizer

Prediction = Value | list[Value]
Loss = Callable[[list[Prediction], Sequence], Value]
Metric = Callable[[list[Prediction], Sequence], float]

__all__ = ["TrainingDiverged", "accuracy", "evaluate", "fit", "predict", "predicted_class"]


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite: the weights would be garbage from here on."""


def _data_of(prediction: Prediction | float | list[float]) -> float | list[float]:
    """The number(s) of a prediction: ``Value``\\ s or plain floats (``predict``'s output)."""
    if isinstance(prediction, Value):
        return prediction.data
    if isinstance(prediction, (list, tuple)):
        return [p.data if isinstance(p, Value) else float(p) for p in prediction]
    return float(prediction)


def predicted_class(output: float | list[float], threshold: float = 0.0) -> int:
    """The class a model's output stands for.

    Several outputs (logits): the index of the largest. One output: 1 when it
    is above ``threshold`` (0 for scores and logits, 0.5 for probabilities),
    else 0.
    """
    if isinstance(output, list):
        return max(range(len(output)), key=output.__getitem__)
    return int(output > threshold)


def accuracy(predictions: Sequence[Prediction], targets: Sequence) -> float:
    """The fraction of samples classified correctly.

    How a prediction becomes a class (:func:`predicted_class`) depends on its
    shape and the labels:

    * several outputs (a list of logits): the class is the index of the largest;
    * one output and labels in {-1, +1} (hinge loss): the class is the sign;
    * one output and labels in {0, 1}: the output is read as a logit (class 1
      when it is > 0) unless every output lies in [0, 1], when it is read as a
      probability (class 1 when it is > 0.5).
    """
    if len(predictions) != len(targets):
        raise ValueError(f"accuracy: {len(predictions)} predictions but {len(targets)} targets")
    if not predictions:
        raise ValueError("accuracy: no predictions")
    outputs = [_data_of(p) for p in predictions]
    if isinstance(outputs[0], list):
        labels = targets
        threshold = 0.0
    else:
        labels = [int(t > 0) for t in targets]  # -1/+1 and 0/1 labels alike
        probabilities = all(t >= 0 for t in targets) and all(0.0 <= o <= 1.0 for o in outputs)
        threshold = 0.5 if probabilities else 0.0
    hits = sum(predicted_class(o, threshold) == t for o, t in zip(outputs, labels, strict=True))
    return hits / len(targets)


METRICS: dict[str, Metric] = {"accuracy": accuracy}


def _metric_functions(metrics: Iterable[str | Metric]) -> dict[str, Metric]:
    """Metric names (``"accuracy"``) or functions ``f(predictions, targets) -> float``."""
    if isinstance(metrics, str):
        metrics = (metrics,)
    found: dict[str, Metric] = {}
    for metric in metrics:
        if isinstance(metric, str):
            if metric not in METRICS:
                raise ValueError(f"unknown metric {metric!r}; known: {sorted(METRICS)}")
            found[metric] = METRICS[metric]
        elif callable(metric):
            found[getattr(metric, "__name__", "metric")] = metric
        else:
            raise TypeError(f"a metric is a name or a function, not {type(metric).__name__}")
    return found


def _check_dataset(X: Sequence, y: Sequence, what: str) -> None:
    if len(X) != len(y):
        raise ValueError(f"{what}: {len(X)} inputs but {len(y)} targets")
    if len(X) == 0:
        raise ValueError(f"{what}: the data set is empty")


def _diverged(loss: float, epoch: int, step: int, cause: Exception | None = None) -> TrainingDiverged:
    because = f" ({cause})" if cause is not None else ""
    return TrainingDiverged(
        f"the loss became {loss} at epoch {epoch} (step {step} of the epoch){because}; "
        "the weights were not updated with it. Try a smaller learning rate, "
        "gradient clipping, or different initial weights."
    )


def _loss_value(loss: Loss, predictions: list[Prediction], targets: list) -> Value:
    value = loss(predictions, targets)
    if not isinstance(value, Value):
        raise TypeError(f"the loss function must return a Value, not {type(value).__name__}")
    return value


class _InterpretedSteps:
    """Forward and backward with ``Value``\\ s: the graph is built anew for every batch."""

    def __init__(self, model: Module, loss: Loss) -> None:
        self.model, self.loss = model, loss

    def __call__(self, xb: list, yb: list, key: tuple[int, ...]) -> tuple[list[Prediction], float]:
        predictions = [self.model(x) for x in xb]
        value = _loss_value(self.loss, predictions, yb)
        if math.isfinite(value.data):
            value.backward()
        return predictions, value.data


class _CompiledSteps(_InterpretedSteps):
    """Each batch's graph is built once, compiled (``autograd.compile_graph``), then replayed.

    A replay recomputes the same operations on the parameters' new values, so
    it is only right when nothing else changes: the batches must be the same
    samples every epoch (``fit`` fixes them) and the model must make no
    random or data-dependent choices in Python (no active ``Dropout``).
    """

    def __init__(self, model: Module, loss: Loss) -> None:
        super().__init__(model, loss)
        self.compiled: dict[tuple[int, ...], tuple[Callable[[], float], list[Prediction]]] = {}

    def __call__(self, xb: list, yb: list, key: tuple[int, ...]) -> tuple[list[Prediction], float]:
        from autograd import compile_graph

        entry = self.compiled.get(key)
        if entry is None:
            predictions = [self.model(x) for x in xb]
            value = _loss_value(self.loss, predictions, yb)
            if not math.isfinite(value.data):
                return predictions, value.data
            # write_back: the predictions are inner nodes, and the metrics read them (only them).
            outputs = [v for p in predictions for v in (p if isinstance(p, list) else [p])]
            entry = self.compiled[key] = (compile_graph(value, write_back=outputs), predictions)
        replay, predictions = entry
        return predictions, replay()


def _has_active_dropout(model: Module) -> bool:
    from .layers import Dropout

    return any(isinstance(m, Dropout) and m.p > 0 for m in model.modules())


def _progress_bar(epochs: int, enabled: bool):
    """A ``tqdm`` progress bar over the epochs (text, so it renders in notebooks and terminals)."""
    from tqdm import tqdm

    return tqdm(range(1, epochs + 1), desc="training", unit="epoch", disable=not enabled, leave=True)


def fit(
    model: Module,
    X: Sequence[Sequence[float]],
    y: Sequence,
    loss: Loss,
    optimizer: Optimizer,
    epochs: int,
    batch_size: int | None = None,
    validation_data: tuple[Sequence, Sequence] | None = None,
    metrics: Iterable[str | Metric] = ("accuracy",),
    progress: bool = True,
    scheduler: LRScheduler | None = None,
    seed: int | None = None,
    callback: Callable[[int, dict[str, list[float]]], None] | None = None,
    compile: bool = False,
) -> dict[str, list[float]]:
    """Train ``model`` on ``(X, y)`` for ``epochs`` passes; return the history.

    ``loss(predictions, targets)`` returns one ``Value`` (the mean over the
    batch), e.g. ``nn.losses.mse_loss``. ``batch_size=None`` trains full-batch.
    ``scheduler.step()`` (if given) runs after each epoch; ``seed`` fixes the
    mini-batch shuffling; ``callback(epoch, history)`` runs after each epoch.

    ``compile=True`` builds each batch's graph once and then replays it
    (``autograd.compile_graph``), which is several times faster. The batches
    are then fixed: shuffled once, the same samples every epoch (only their
    order changes). Not allowed with an active ``Dropout`` (its random mask
    would be frozen into the replay).

    The history maps ``"loss"`` and each metric name (and ``"val_loss"``,
    ``"val_<metric>"`` with validation data) to one number per epoch.

    Raises ``TrainingDiverged`` (a ``FloatingPointError``) naming the epoch if
    the loss becomes NaN or infinite, before that step changes any weight.
    """
    if not isinstance(model, Module):
        raise TypeError(f"fit trains a Module, not {type(model).__name__}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an nn.optim optimizer, not {type(optimizer).__name__}")
    int_at_least(epochs, "epochs", 1)
    if batch_size is not None:
        int_at_least(batch_size, "batch_size", 1)
    _check_dataset(X, y, "fit")
    if validation_data is not None:
        _check_dataset(*validation_data, "validation_data")
    metric_fns = _metric_functions(metrics)
    if compile and _has_active_dropout(model):
        raise ValueError("compile=True replays one recorded graph, which would freeze Dropout's random mask")
    run = _CompiledSteps(model, loss) if compile else _InterpretedSteps(model, loss)

    history: dict[str, list[float]] = {"loss": [], **{name: [] for name in metric_fns}}
    if validation_data is not None:
        history["val_loss"] = []
        history.update({f"val_{name}": [] for name in metric_fns})

    shuffle_rng = random.Random(seed)
    samples = list(range(len(X)))
    fixed_batches = [samples] if batch_size is None else None
    if compile and fixed_batches is None:
        fixed_batches = [b for b, _ in batches(samples, samples, batch_size, rng=shuffle_rng)]
    bar = _progress_bar(epochs, progress)
    try:
        for epoch in bar:
            model.train()
            if fixed_batches is None:  # new mini-batches every epoch
                epoch_batches = [b for b, _ in batches(samples, samples, batch_size, rng=shuffle_rng)]
            else:
                epoch_batches = list(fixed_batches)
                shuffle_rng.shuffle(epoch_batches)
            total_loss, seen = 0.0, 0
            all_predictions: list[Prediction] = []
            all_targets: list = []
            for step, indices in enumerate(epoch_batches, start=1):
                xb, yb = [X[i] for i in indices], [y[i] for i in indices]
                optimizer.zero_grad()
                try:
                    predictions, batch_loss = run(xb, yb, tuple(indices))
                except OverflowError as error:  # e.g. exp() or ** of a number grown too large
                    raise _diverged(math.inf, epoch, step, cause=error) from error
                if not math.isfinite(batch_loss):
                    raise _diverged(batch_loss, epoch, step)
                optimizer.step()
                total_loss += batch_loss * len(xb)
                seen += len(xb)
                all_predictions.extend(predictions)
                all_targets.extend(yb)
            history["loss"].append(total_loss / seen)
            for name, fn in metric_fns.items():
                history[name].append(fn(all_predictions, all_targets))
            if validation_data is not None:
                scores = evaluate(model, *validation_data, loss=loss, metrics=tuple(metric_fns.values()))
                for name, value in scores.items():
                    history[f"val_{name}"].append(value)
            if scheduler is not None:
                scheduler.step()
            bar.set_postfix({k: f"{v[-1]:.4g}" for k, v in history.items()}, refresh=False)
            if callback is not None:
                callback(epoch, history)
    finally:
        bar.close()
    return history


def evaluate(
    model: Module,
    X: Sequence[Sequence[float]],
    y: Sequence,
    loss: Loss,
    metrics: Iterable[str | Metric] = ("accuracy",),
) -> dict[str, float]:
    """The loss and metrics of ``model`` on ``(X, y)``, in ``eval()`` mode, recording no graph.

    The model's training mode is restored afterwards.
    """
    _check_dataset(X, y, "evaluate")
    metric_fns = _metric_functions(metrics)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            predictions = [model(x) for x in X]
            scores = {"loss": loss(predictions, y).data}
    finally:
        model.train(was_training)
    for name, fn in metric_fns.items():
        scores[name] = fn(predictions, y)
    return scores


def predict(model: Module, X: Sequence[Sequence[float]]) -> list[float] | list[list[float]]:
    """The model's outputs for each input as plain floats (a list of floats per input
    for several outputs), in ``eval()`` mode, recording no graph."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return [_data_of(model(x)) for x in X]
    finally:
        model.train(was_training)
