"""The training loop: ``fit``, ``evaluate`` and ``predict`` (``accuracy`` lives in ``nn.metrics``).

Training repeats one step until the model is good enough::

    optimizer.zero_grad()                 # 1. forget the last step's gradients
    predictions = model.forward_batch(xs) # 2. forward pass: record a graph
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
import numbers
import random
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import cast

import numpy as np
from tqdm import tqdm

from autograd import Value, compile_graph, is_grad_enabled, no_grad, topological_order
from autograd.compile import SampleReplay, compile_sample

from .checks import int_at_least
from .data import batches
from .layers import MLP, Activation, Dropout, Layer, LeakyReLU, Neuron, ReLU, Sequential, Sigmoid, Tanh
from .losses import binary_cross_entropy
from .metrics import Output, accuracy, outputs_of, predicted_class
from .module import Module
from .optim import LRScheduler, Optimizer

Prediction = Value | list[Value]
Loss = Callable[[list[Prediction], Sequence], Value]
Metric = Callable[[list[Prediction], Sequence], float]
Metrics = Iterable[str | Metric] | Mapping[str, Metric]

__all__ = ["TrainingDiverged", "accuracy", "evaluate", "fit", "predict", "predicted_class"]


class TrainingDiverged(FloatingPointError):
    """The loss, an output or a parameter became NaN or infinite: the weights are garbage from here on."""


def _data_of(prediction: Prediction | float | list[float]) -> float | list[float]:
    """The number(s) of a prediction: ``Value``\\ s or plain floats (``predict``'s output)."""
    if isinstance(prediction, Value):
        return prediction.data
    if isinstance(prediction, (list, tuple)):
        return [p.data if isinstance(p, Value) else float(p) for p in prediction]
    return float(prediction)


def _accuracy_of_probabilities(predictions: Sequence[Prediction], targets: Sequence) -> float:
    """``accuracy`` with ``threshold=0.5``: what "accuracy" means for ``binary_cross_entropy``."""
    return accuracy(predictions, targets, threshold=0.5)


METRICS: dict[str, Metric] = {"accuracy": accuracy}


def _metric_functions(metrics: Metrics, loss: Loss) -> dict[str, Metric]:
    """Metric names (``"accuracy"``), functions ``f(predictions, targets) -> float``, or a dict of both.

    ``"accuracy"`` reads one output as a probability (threshold 0.5) when the
    loss is ``binary_cross_entropy``, which takes probabilities, and as a
    score or logit (threshold 0) with any other loss.
    """
    if isinstance(metrics, Mapping):
        for name, metric in metrics.items():
            if not isinstance(name, str) or not callable(metric):
                raise TypeError("a dict of metrics maps names (str) to functions f(predictions, targets)")
        return dict(metrics)
    if isinstance(metrics, str):
        metrics = (metrics,)
    found: dict[str, Metric] = {}
    for metric in metrics:
        if isinstance(metric, str):
            if metric not in METRICS:
                raise ValueError(f"unknown metric {metric!r}; known: {sorted(METRICS)}")
            takes_probabilities = metric == "accuracy" and loss is binary_cross_entropy
            found[metric] = _accuracy_of_probabilities if takes_probabilities else METRICS[metric]
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


_ADVICE = "Try a smaller learning rate, gradient clipping, or different initial weights."


def _diverged(
    loss: float, epoch: int, step: int, cause: Exception | None = None, what: str = "the loss"
) -> TrainingDiverged:
    because = f" ({cause})" if cause is not None else ""
    return TrainingDiverged(
        f"{what} became {loss} at epoch {epoch} (step {step} of the epoch){because}; "
        f"the weights were not updated with it. {_ADVICE}"
    )


def _first_non_finite_output(predictions: list[Prediction]) -> tuple[int, float] | None:
    """(sample index, number) of the first NaN or infinite model output, or None."""
    for i, prediction in enumerate(predictions):
        for number in prediction if isinstance(prediction, list) else [prediction]:
            if not math.isfinite(number.data):
                return i, number.data
    return None


def _check_parameters(named: list[tuple[str, Value]], epoch: int, step: int) -> None:
    """Raise ``TrainingDiverged`` if the update just made left any parameter NaN or infinite.

    The loss can stay finite while the weights blow up (an overflowing step,
    or NaN hidden by an operation that maps it to a number), so the weights
    themselves are checked after every step.
    """
    for name, p in named:
        if not math.isfinite(p.data):
            raise TrainingDiverged(
                f"parameter {name!r} became {p.data} in the update of epoch {epoch} "
                f"(step {step} of the epoch); the weights now hold non-finite numbers. {_ADVICE}"
            )


def _loss_value(loss: Loss, predictions: list[Prediction], targets: Sequence) -> Value:
    value = loss(predictions, targets)
    if not isinstance(value, Value):
        raise TypeError(f"the loss function must return a Value, not {type(value).__name__}")
    return value


class _InterpretedSteps:
    """Forward and backward with ``Value``\\ s: the graph is built anew for every batch."""

    def __init__(self, model: Module, loss: Loss) -> None:
        self.model, self.loss = model, loss

    def __call__(self, xb: list, yb: list, key: tuple[int, ...]) -> tuple[list[Prediction], float]:
        predictions = self.model.forward_batch(xb)
        if _first_non_finite_output(predictions) is not None:
            # fit reports the output; the loss is not computed: it might refuse the
            # number with an error of its own (binary_cross_entropy takes [0, 1]).
            return predictions, math.nan
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
        entry = self.compiled.get(key)
        if entry is None:
            predictions = self.model.forward_batch(xb)
            if _first_non_finite_output(predictions) is not None:  # as in _InterpretedSteps
                return predictions, math.nan
            value = _loss_value(self.loss, predictions, yb)
            if not math.isfinite(value.data):
                return predictions, value.data
            # write_back: the predictions are inner nodes, and the metrics read them (only them).
            outputs = [v for p in predictions for v in (p if isinstance(p, list) else [p])]
            entry = self.compiled[key] = (compile_graph(value, write_back=outputs), predictions)
        replay, predictions = entry
        try:
            return predictions, replay()
        except (ValueError, ZeroDivisionError):
            # The replay computes the loss with the predictions and writes nothing back if it fails:
            # a loss that refuses a NaN or infinite output (binary_cross_entropy) fails here. If an
            # output is the cause, report it as _InterpretedSteps does; else the error stands.
            with no_grad():
                fresh = self.model.forward_batch(xb)
            if _first_non_finite_output(fresh) is not None:
                return fresh, math.nan
            raise


class _VectorisedSteps(_InterpretedSteps):
    """One sample's graph, built and compiled once, replayed for every batch over arrays.

    The model is applied once, to one sample whose inputs are leaves; that
    graph, compiled with ``autograd.compile.compile_sample``, computes the
    predictions of a whole batch (one NumPy array per output, one number per
    sample) and, given d(loss)/d(prediction) for each sample, the parameters'
    gradients summed over the batch. The loss itself is built over the
    predictions as ``Value``\\ s (leaves holding the replay's numbers) and
    compiled once per batch (``compile_graph``): it is small, one node or a few
    per sample, and a loss such as cross-entropy has a shape per target class.

    So a batch costs the operations of *one* sample's graph, each over arrays,
    plus the loss; and building graphs costs one sample's and each batch's loss.
    """

    def __init__(self, model: Module, loss: Loss, sample: Sequence[float]) -> None:
        super().__init__(model, loss)
        self.inputs = [Value(float(number)) for number in sample]
        (prediction,) = model.forward_batch([self.inputs])
        self.several = isinstance(prediction, list)
        outputs = prediction if self.several else [prediction]
        if not all(isinstance(output, Value) for output in outputs):
            raise ValueError("the model's outputs are not all Values")
        self.replay = compile_sample(outputs, self.inputs)
        # batch → (the predictions as leaves, their flat list, the compiled loss)
        self.losses: dict[
            tuple[int, ...], tuple[list[Prediction], list[Value], Callable[[], float], list[int]]
        ] = {}

    def __call__(self, xb: list, yb: list, key: tuple[int, ...]) -> tuple[list[Prediction], float]:
        outputs = self.replay.forward(np.asarray(xb, dtype=float))  # n × outputs
        numbers = outputs.ravel().tolist()
        entry = self.losses.get(key)
        if entry is None:
            leaves = [Value(number) for number in numbers]
            width = outputs.shape[1]
            predictions = _predictions(leaves, width, self.several)
            if _first_non_finite_output(predictions) is not None:  # as in _InterpretedSteps
                return predictions, math.nan
            value = _loss_value(self.loss, predictions, yb)
            # The order in which backward() on this loss reaches the samples: the last one it
            # meets in topological order first. The parameters' gradients add up in that order.
            position = {leaf: i for i, leaf in enumerate(topological_order(value))}
            first = [
                min(position.get(leaf, -1) for leaf in leaves[i : i + width])
                for i in range(0, len(leaves), width)
            ]
            order = sorted(range(len(predictions)), key=first.__getitem__, reverse=True)
            entry = self.losses[key] = (predictions, leaves, compile_graph(value), order)
        predictions, leaves, loss_step, order = entry
        for leaf, number in zip(leaves, numbers, strict=True):
            leaf.data = number
            leaf.grad = 0.0
        if _first_non_finite_output(predictions) is not None:  # as in _InterpretedSteps
            return predictions, math.nan
        loss = loss_step()
        if math.isfinite(loss):
            grads = np.array([leaf.grad for leaf in leaves]).reshape(outputs.shape)
            self.replay.backward(grads, order)
        return predictions, loss


def _predictions(leaves: list[Value], width: int, several: bool) -> list[Prediction]:
    """A replay's outputs, ``width`` per sample, shaped as the model gives them: a list or one ``Value``."""
    rows = [leaves[i : i + width] for i in range(0, len(leaves), width)]
    return [row if several else row[0] for row in rows]


def _sample_by_sample(model: Module, X: Sequence) -> bool:
    """True if the model computes each sample on its own (no module looks across the batch) and
    the samples are flat lists of numbers: then one sample's graph serves every batch."""
    per_sample = (Module.forward_batch, Sequential.forward_batch)
    if any(type(m).forward_batch not in per_sample for m in model.modules()):
        return False
    first = X[0]
    return isinstance(first, Sequence) and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) for v in first
    )


def _compiled_steps(model: Module, loss: Loss, X: Sequence) -> _InterpretedSteps:
    """The vectorised replay when the model works sample by sample; else each batch's graph compiled."""
    if _sample_by_sample(model, X):
        try:
            return _VectorisedSteps(model, loss, X[0])
        except ValueError:  # an output that is not an operation's result (a leaf, a constant)
            pass
    return _CompiledSteps(model, loss)


def _has_active_dropout(model: Module) -> bool:
    return any(isinstance(m, Dropout) and m.p > 0 for m in model.modules())


def _module_with_buffers(model: Module) -> Module | None:
    """The first module below ``model`` that keeps buffers (``BatchNorm1d``'s running statistics), if any."""
    return next((m for m in model.modules() if m.buffer_names), None)


def _progress_bar(epochs: int, enabled: bool):
    """A ``tqdm`` progress bar over the epochs (text, so it renders in notebooks and terminals)."""
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
    metrics: Metrics = ("accuracy",),
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

    ``compile=True`` builds one sample's graph once and replays it for every
    batch at once over NumPy arrays (``autograd.compile.compile_sample``; the
    loss is compiled per batch), many times faster; a model that looks across
    the batch, or samples that are not flat lists of numbers, instead have
    each batch's graph built once and replayed (``autograd.compile_graph``).
    The numbers agree with ``compile=False`` to about 1e-12 relative per step.
    The batches are then fixed: shuffled once, the same samples every epoch
    (only their order changes). Not allowed with an active ``Dropout`` (its random mask
    would be frozen into the replay), nor with ``BatchNorm1d`` (its running
    statistics are updated in Python, not by the replay).

    The history maps ``"loss"`` and each metric name (and ``"val_loss"``,
    ``"val_<metric>"`` with validation data) to one number per epoch.

    The ``"accuracy"`` metric reads a one-output model's output as a
    probability (class 1 above 0.5) when ``loss`` is ``binary_cross_entropy``,
    and as a score or logit (class 1 above 0) otherwise; for anything else
    pass your own, e.g. ``metrics={"accuracy": lambda p, t: accuracy(p, t,
    threshold=0.5)}`` (see :func:`accuracy`).

    Raises ``TrainingDiverged`` (a ``FloatingPointError``) naming the epoch and
    step if the loss or a model output becomes NaN or infinite, before that
    step changes any weight; and naming the parameter if an update leaves one
    NaN or infinite.
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
    if not isinstance(metrics, (str, Mapping)):
        metrics = tuple(metrics)  # read twice: here and by evaluate on the validation data
    metric_fns = _metric_functions(metrics, loss)
    if compile and _has_active_dropout(model):
        raise ValueError("compile=True replays one recorded graph, which would freeze Dropout's random mask")
    stateful = _module_with_buffers(model) if compile else None
    if stateful is not None:
        raise ValueError(
            f"compile=True replays one recorded graph, but {type(stateful).__name__} updates its buffers "
            f"({', '.join(stateful.buffer_names)}) in Python while the graph is recorded, not on replay: "
            "they would stop following training (and eval mode would use stale ones); use compile=False"
        )
    run = _compiled_steps(model, loss, X) if compile else _InterpretedSteps(model, loss)

    history: dict[str, list[float]] = {"loss": [], **{name: [] for name in metric_fns}}
    if validation_data is not None:
        history["val_loss"] = []
        history.update({f"val_{name}": [] for name in metric_fns})

    names = {id(p): name for name, p in model.named_parameters()}
    named_params = [(names.get(id(p), f"optimizer.params[{i}]"), p) for i, p in enumerate(optimizer.params)]
    shuffle_rng = random.Random(seed)
    samples = list(range(len(X)))
    fixed_batches = [samples] if batch_size is None else None
    if compile and batch_size is not None:  # i.e. fixed_batches is None
        fixed_batches = [b for b, _ in batches(samples, samples, batch_size, rng=shuffle_rng)]
    bar = _progress_bar(epochs, progress)
    try:
        for epoch in bar:
            model.train()
            if fixed_batches is None:  # new mini-batches every epoch
                assert batch_size is not None  # fixed_batches is None only for mini-batches
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
                bad_output = _first_non_finite_output(predictions)  # the cause, so reported first
                if bad_output is not None:
                    sample, number = bad_output
                    what = f"the model's output for sample {sample} of the batch"
                    raise _diverged(number, epoch, step, what=what)
                if not math.isfinite(batch_loss):
                    raise _diverged(batch_loss, epoch, step)
                optimizer.step()
                _check_parameters(named_params, epoch, step)
                total_loss += batch_loss * len(xb)
                seen += len(xb)
                all_predictions.extend(predictions)
                all_targets.extend(yb)
            history["loss"].append(total_loss / seen)
            for name, fn in metric_fns.items():
                history[name].append(fn(all_predictions, all_targets))
            if validation_data is not None:
                scores = evaluate(model, *validation_data, loss=loss, metrics=metrics)
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


#: The library's own layers: each ``forward`` chooses nothing in Python from the numbers it is given
#: (the branches of relu and its kin are inside the operations, which a replay re-evaluates). In
#: ``eval()`` mode ``Dropout`` is the identity. ``BatchNorm1d`` is not here: it overrides
#: ``forward_batch``, so ``_sample_by_sample`` already sends it to the interpreter.
_REPLAYABLE_LAYERS = (Neuron, Layer, MLP, Sequential, Activation, ReLU, Tanh, Sigmoid, LeakyReLU, Dropout)


def _structure(model: Module) -> tuple:
    """What one sample's graph of ``model`` is made from, apart from the parameters' numbers.

    Each module (by identity and type) with its own settings (an activation's
    name, a slope: every attribute that is neither a parameter nor a module,
    nor a list of them), and the parameters themselves (``Value`` objects,
    compared by identity). A replay compiled from a model with an equal
    structure computes what the model computes now.
    """

    def settings(module: Module) -> tuple:
        return tuple(
            (name, tuple(value) if isinstance(value, list) else value)
            for name, value in vars(module).items()
            if not isinstance(value, (Value, Module))
            and not (isinstance(value, (list, tuple)) and any(isinstance(v, (Value, Module)) for v in value))
        )

    modules = tuple((id(m), type(m), settings(m)) for m in model.modules())
    return modules, tuple(model.parameters())


class _ForwardReplay:
    """One sample's forward graph of a model in ``eval()`` mode, compiled (``compile_sample``).

    ``replay`` is ``None`` when the graph cannot be compiled this way (an
    output that is a leaf or a constant, or not a ``Value``): that is
    remembered too, so the model is not traced again on every call.
    """

    def __init__(self, model: Module, sample: Sequence[float], structure: tuple) -> None:
        self.structure, self.width = structure, len(sample)
        self.replay: SampleReplay | None = None
        inputs = [Value(float(number)) for number in sample]
        (prediction,) = model.forward_batch([inputs])
        self.several = isinstance(prediction, list)
        outputs = prediction if self.several else [prediction]
        if all(isinstance(output, Value) for output in outputs):
            try:
                self.replay = compile_sample(outputs, inputs)
            except ValueError:  # an output that is not an operation's result (a leaf, a constant)
                pass

    def matches(self, structure: tuple, width: int) -> bool:
        """True if this replay computes what the model (now of ``structure``) does on ``width`` inputs."""
        # Tuples compare item by item, by identity first: the parameters by identity, settings by ==.
        try:
            return width == self.width and structure == self.structure
        except (TypeError, ValueError):  # a setting whose == is not a yes or no (a NumPy array): changed
            return False


#: The fewest samples worth a replay. A replay runs each of one sample's operations once, over arrays:
#: a NumPy call per operation, whatever the number of samples. The interpreter costs about a third
#: of that per operation and sample, so below a few samples it is faster (measured on MLP(64, [64, 10])
#: and MLP(2, [16, 16, 1]): the replay's cost is reached between 4 and 8 samples).
_REPLAY_FROM = 8

#: A model → its compiled forward replay. Weak keys: the entry goes when the model does; the entry
#: holds the parameters (their ``Value`` objects) but nothing that leads back to the model.
_FORWARD_REPLAYS: weakref.WeakKeyDictionary[Module, _ForwardReplay] = weakref.WeakKeyDictionary()


def _replay_for(model: Module, X: Sequence) -> _ForwardReplay | None:
    """The compiled forward replay for ``model`` (in ``eval()`` mode) on ``X``, if it can have one.

    Only for a model of the library's own layers, applied sample by sample to
    flat lists of numbers, and at least ``_REPLAY_FROM`` of them. Compiled on
    the first call and kept while the model's structure stays the same; a
    replay that can no longer be right (a parameter, a module or a setting
    changed) is compiled again. Under ``no_grad`` no graph can be recorded,
    so nothing new is compiled there.
    """
    if len(X) < _REPLAY_FROM or not _sample_by_sample(model, X):
        return None
    if any(type(m) not in _REPLAYABLE_LAYERS for m in model.modules()):  # a subclass may branch in Python
        return None
    structure, width = _structure(model), len(X[0])
    entry = _FORWARD_REPLAYS.get(model)
    if entry is None or not entry.matches(structure, width):
        if not is_grad_enabled():
            return None
        entry = _FORWARD_REPLAYS[model] = _ForwardReplay(model, X[0], structure)
    return entry if entry.replay is not None else None


#: How many numbers (8 bytes each) one forward pass of ``evaluate``/``predict`` may hold: 32 MB.
_REPLAY_NUMBERS = 1 << 22


def _replayed(model: Module, X: Sequence) -> tuple[np.ndarray, bool] | None:
    """The model's outputs for ``X`` through its compiled replay, or None if it cannot have one here.

    ``(outputs, several)``: one row of outputs per sample, and whether the
    model gives a list per sample (else one ``Value``). ``X`` must be a table
    of numbers; anything else (rows of different lengths, a ``Value`` or a
    string among the numbers) is left to the interpreter, which names the
    sample at fault.
    """
    entry = _replay_for(model, X)
    if entry is None:
        return None
    assert entry.replay is not None  # _replay_for gives only entries with one
    try:
        table = np.array(X)
    except (ValueError, TypeError):
        return None
    if table.dtype.kind not in "biuf" or table.shape != (len(X), entry.width):
        return None
    table = table.astype(float)
    # A pass holds one number per sample and node at once: a few MB per chunk of samples, not the data set's.
    rows = max(1, _REPLAY_NUMBERS // entry.replay.operations)
    forward = entry.replay.forward
    chunks = [forward(table[i : i + rows], keep_for_backward=False) for i in range(0, len(X), rows)]
    return np.concatenate(chunks), entry.several


def _non_finite(prediction: object) -> bool:
    """True if a prediction holds a NaN or an infinity (False for what is not numbers: the loss decides)."""
    try:
        return not all(math.isfinite(number) for number in outputs_of(cast("Output", prediction)))
    except (TypeError, ValueError):
        return False


def evaluate(
    model: Module,
    X: Sequence[Sequence[float]],
    y: Sequence,
    loss: Loss,
    metrics: Metrics = ("accuracy",),
) -> dict[str, float]:
    """The loss and metrics of ``model`` on ``(X, y)``, in ``eval()`` mode, recording no graph.

    The model's training mode is restored afterwards. ``metrics`` as in
    :func:`fit` (``"accuracy"`` takes its threshold from the loss).

    A model made of the library's layers (``MLP``, ``Layer``, ``Sequential``
    of those and of activations and ``Dropout``), on flat lists of numbers
    (eight samples or more), is not run sample by sample: one sample's graph is compiled once
    (``autograd.compile.compile_sample``, kept for the next call while the
    model's parameters, modules and their settings stay the same) and
    replayed over all the samples at once with NumPy, a chunk of them at a
    time; the loss and the metrics are then computed over its outputs as
    ``Value``\\ s. NumPy rounds some operations
    (``exp``, ``tanh``, sums) differently from Python, so the numbers agree
    with the sample-by-sample interpreter to about 1e-12 relative, not bit for
    bit. Any other model (``BatchNorm1d``, your own modules, sequences) is
    interpreted.

    A NaN or infinite output gives the loss the loss function gives it (NaN,
    or infinity for ``mse_loss``); where the loss refuses such a number
    (``binary_cross_entropy`` takes [0, 1]) the loss is reported as ``nan``
    instead of the error. The metrics are computed all the same (a NaN
    prediction counts as wrong).
    """
    _check_dataset(X, y, "evaluate")
    metric_fns = _metric_functions(metrics, loss)
    was_training = model.training
    model.eval()
    try:
        replayed = _replayed(model, X)
        if replayed is None:
            with no_grad():
                predictions = model.forward_batch(X)
            non_finite = any(_non_finite(p) for p in predictions)
        else:
            outputs, several = replayed
            leaves = [Value(number) for number in outputs.ravel().tolist()]
            predictions = _predictions(leaves, outputs.shape[1], several)
            non_finite = not np.isfinite(outputs).all()
        with no_grad():
            try:
                scores = {"loss": _loss_value(loss, predictions, y).data}
            except (ArithmeticError, ValueError):
                if not non_finite:
                    raise
                scores = {"loss": math.nan}  # the loss refuses a NaN or infinite output (BCE takes [0, 1])
    finally:
        model.train(was_training)
    for name, fn in metric_fns.items():
        scores[name] = fn(predictions, y)
    return scores


def predict(model: Module, X: Sequence[Sequence[float]]) -> list[float] | list[list[float]]:
    """The model's outputs for each input as plain floats (a list of floats per input
    for several outputs), in ``eval()`` mode, recording no graph.

    Replayed over arrays when the model allows it, as in :func:`evaluate`
    (equal to the interpreter's numbers to about 1e-12 relative)."""
    was_training = model.training
    model.eval()
    try:
        replayed = _replayed(model, X)
        if replayed is not None:
            outputs, several = replayed
            return outputs.tolist() if several else outputs[:, 0].tolist()
        with no_grad():
            # A model gives one Value per input, or one list per input: all floats or all lists.
            return cast("list[float] | list[list[float]]", [_data_of(o) for o in model.forward_batch(X)])
    finally:
        model.train(was_training)
