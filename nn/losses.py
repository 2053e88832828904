"""Loss functions, softmax and log-softmax, built from ``Value`` operations.

Each loss compares predictions (``Value``\\ s, the output of a model) with
targets (plain numbers: constants, so no gradient flows into them) and
returns one ``Value`` to call ``backward()`` on. Like ``torch.nn.functional``,
each takes one prediction or a list of them and, by default, averages the
per-sample losses (``reduction="mean"``); ``"sum"`` adds them and ``"none"``
returns the list. A plain number given as a prediction is a constant.

The numbers and gradients agree with ``torch.nn.functional`` (float64) to
about 1e-12 relative; ``tests/test_losses.py`` checks 1e-9 on random inputs.

Numerical stability, and why the losses use fused operations
------------------------------------------------------------
Softmax and log-sum-exp are unchanged when every logit is shifted by the same
number ``m``::

    log Σⱼ exp(zⱼ) = m + log Σⱼ exp(zⱼ - m)

Choosing ``m`` = the largest logit makes every ``exp`` argument ≤ 0, so nothing
overflows (logits of ±1000 are fine). *Which* logit is largest depends on the
numbers, so the choice is made inside one operation, ``autograd.logsumexp``,
which makes it again every time the graph is evaluated, including when a
compiled graph is replayed with new numbers (a choice made in Python, around
the operations, would be frozen into the recording).

Binary cross-entropy clamps each log at -100, as PyTorch does, and the
logits version picks one of two stable formulas by the sign of the logit:
both are data-dependent choices too, so each loss is one fused operation of
the engine (``BINARY_CROSS_ENTROPY``, ``BINARY_CROSS_ENTROPY_WITH_LOGITS``),
with PyTorch's formulas for the value and the gradient.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Literal, TypeGuard, Union, overload

from autograd import Value, logsumexp
from autograd.value import BINARY_CROSS_ENTROPY, BINARY_CROSS_ENTROPY_WITH_LOGITS, LOG_CLAMP, apply

__all__ = [
    "LOG_CLAMP",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_loss",
    "log_softmax",
    "mse_loss",
    "softmax",
]

Prediction = Union[Value, float]
#: One prediction per sample, or a single one; the targets alike.
Predictions = Union[Prediction, Sequence[Prediction]]
Targets = Union[float, Sequence[float]]
#: The class scores of one sample, or of each sample of a batch.
Logits = Union[Sequence[Prediction], Sequence[Sequence[Prediction]]]
Loss = Union[Value, list[Value]]
#: The reductions that give one ``Value`` (a type checker then knows ``loss.backward()`` is fine);
#: ``reduction="none"`` gives the list of per-sample losses.
Reduced = Literal["mean", "sum"]
REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------- helpers
def _is_number(x: object) -> TypeGuard[numbers.Real]:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _as_value(x: object, what: str) -> Value:
    """A prediction: a ``Value`` as it is, a plain number as a constant leaf."""
    if isinstance(x, Value):
        return x
    if _is_number(x):
        return Value(float(x))
    raise TypeError(f"{what} must be a Value or a number, not {type(x).__name__}")


def _as_target(t: object, what: str) -> float:
    """A target: a plain number (a ``Value`` target would be asked for a gradient we do not compute)."""
    if _is_number(t):
        return float(t)
    hint = " (use its .data)" if isinstance(t, Value) else ""
    raise TypeError(f"{what} must be a number, not {type(t).__name__}{hint}")


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}: choose one of {', '.join(map(repr, REDUCTIONS))}")


def _samples(name: str, pred: object, target: object) -> list[tuple[Value, float]]:
    """Pair predictions with targets: one of each, or two lists of the same length."""
    if isinstance(pred, (list, tuple)):
        if not isinstance(target, (list, tuple)):
            raise ValueError(f"{name}: {len(pred)} predictions but a single target {target!r}")
        if len(pred) != len(target):
            raise ValueError(f"{name}: {len(pred)} predictions but {len(target)} targets")
        if not pred:
            raise ValueError(f"{name}: no predictions (an empty list has no mean)")
        return [
            (_as_value(p, f"{name}: prediction {i}"), _as_target(t, f"{name}: target {i}"))
            for i, (p, t) in enumerate(zip(pred, target, strict=True))
        ]
    if isinstance(target, (list, tuple)):
        raise ValueError(f"{name}: a single prediction but {len(target)} targets")
    return [(_as_value(pred, f"{name}: the prediction"), _as_target(target, f"{name}: the target"))]


def _total(terms: Sequence[Value]) -> Value:
    """``terms[0] + terms[1] + …`` (one node per addition, no ``0 + …`` node)."""
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _reduce(terms: list[Value], reduction: str) -> Loss:
    """Apply ``reduction`` to the per-sample losses: their mean (sum / n), sum, or the list itself."""
    if reduction == "none":
        return terms
    total = _total(terms)
    if reduction == "sum" or len(terms) == 1:
        return total
    return total / len(terms)


def _elementwise(
    name: str, pred: object, target: object, reduction: str, term: Callable[[Value, float], Value]
) -> Loss:
    """The shared shape of the element-wise losses: pair up, compute each ``term(p, t)``, reduce."""
    _check_reduction(reduction)
    return _reduce([term(p, t) for p, t in _samples(name, pred, target)], reduction)


# ---------------------------------------------------------------- regression
@overload
def mse_loss(pred: Predictions, target: Targets, reduction: Reduced = "mean") -> Value: ...
@overload
def mse_loss(pred: Predictions, target: Targets, reduction: Literal["none"]) -> list[Value]: ...
@overload
def mse_loss(pred: Predictions, target: Targets, reduction: str) -> Loss: ...
def mse_loss(pred: Predictions, target: Targets, reduction: str = "mean") -> Loss:
    """Mean squared error: ``mean((pred - target)²)``; gradient ``2·(pred - target)/n``."""
    return _elementwise("mse_loss", pred, target, reduction, lambda p, t: (p - t) ** 2)


# ---------------------------------------------------------------- binary classification
def _bce_term(p: Value, y: float) -> Value:
    """One sample's binary cross-entropy: the engine's fused operation (see the module docstring)."""
    return apply(BINARY_CROSS_ENTROPY, p, y)


@overload
def binary_cross_entropy(prob: Predictions, target: Targets, reduction: Reduced = "mean") -> Value: ...
@overload
def binary_cross_entropy(prob: Predictions, target: Targets, reduction: Literal["none"]) -> list[Value]: ...
@overload
def binary_cross_entropy(prob: Predictions, target: Targets, reduction: str) -> Loss: ...
def binary_cross_entropy(prob: Predictions, target: Targets, reduction: str = "mean") -> Loss:
    """Binary cross-entropy of probabilities: ``-[y·log p + (1 - y)·log(1 - p)]``, averaged.

    ``prob`` is a probability in [0, 1] (e.g. a sigmoid output); anything
    outside raises ``ValueError``. ``target`` is usually 0 or 1 (any number
    works, as in PyTorch: soft labels). The loss is the negative
    log-likelihood of a Bernoulli variable; its gradient is
    ``(p - y) / (p·(1 - p))``, so it is steep where the model is confidently
    wrong.

    As in PyTorch each log is clamped at -100, so ``p = 0`` or ``p = 1`` gives
    a finite loss (at most 100 per sample), and the gradient is PyTorch's
    ``(p - y) / max(p(1 - p), 1e-12)``: finite everywhere. ``log(1 - p)`` is
    computed accurately for tiny ``p``.
    Prefer :func:`binary_cross_entropy_with_logits`: it needs no clamp.
    """
    return _elementwise("binary_cross_entropy", prob, target, reduction, _bce_term)


def _bce_logits_term(x: Value, y: float) -> Value:
    """One sample's loss: the engine's fused operation, its branch chosen inside it by the sign of ``x``."""
    return apply(BINARY_CROSS_ENTROPY_WITH_LOGITS, x, y)


@overload
def binary_cross_entropy_with_logits(
    logit: Predictions, target: Targets, reduction: Reduced = "mean"
) -> Value: ...
@overload
def binary_cross_entropy_with_logits(
    logit: Predictions, target: Targets, reduction: Literal["none"]
) -> list[Value]: ...
@overload
def binary_cross_entropy_with_logits(logit: Predictions, target: Targets, reduction: str) -> Loss: ...
def binary_cross_entropy_with_logits(logit: Predictions, target: Targets, reduction: str = "mean") -> Loss:
    """Binary cross-entropy of ``sigmoid(logit)``, computed stably from the logit.

    With ``p = σ(x) = 1/(1 + e⁻ˣ)``, the loss ``-[y·log p + (1 - y)·log(1 - p)]``
    simplifies to ``log(1 + eˣ) - x·y``. For ``x ≥ 0`` we write
    ``log(1 + eˣ) = x + log(1 + e⁻ˣ)``, so no ``exp`` ever sees a positive
    number (``e¹⁰⁰⁰`` would overflow)::

        loss = max(x, 0) - x·y + log(1 + exp(-|x|))

    That is PyTorch's formula. Built literally from ``relu`` and ``abs`` it
    would have the wrong gradient at ``x = 0``: each of those has a kink there
    (we take slope 0 at a kink), while their sum is smooth. So it is one
    operation of the engine: the branch, ``x ≥ 0`` or ``x < 0``, is chosen
    inside it (again at every replay of a compiled graph), each branch is a
    smooth expression, and the gradient is exactly ``σ(x) - y``. Unlike
    ``binary_cross_entropy(sigmoid(x), y)`` this stays exact when the sigmoid
    would round to 0 or 1.
    """
    return _elementwise("binary_cross_entropy_with_logits", logit, target, reduction, _bce_logits_term)


@overload
def hinge_loss(scores: Predictions, targets: Targets, reduction: Reduced = "mean") -> Value: ...
@overload
def hinge_loss(scores: Predictions, targets: Targets, reduction: Literal["none"]) -> list[Value]: ...
@overload
def hinge_loss(scores: Predictions, targets: Targets, reduction: str) -> Loss: ...
def hinge_loss(scores: Predictions, targets: Targets, reduction: str = "mean") -> Loss:
    """The max-margin (SVM) loss of micrograd's demo: ``mean(relu(1 - y·score))``, ``y`` in {-1, +1}.

    A sample costs nothing once it is on the right side of the boundary with
    a margin of 1 (``y·score ≥ 1``); otherwise it costs ``1 - y·score`` and its
    gradient pushes the score toward ``y``. Labels 0/1 from ``nn.data`` become
    -1/+1 with ``nn.data.to_pm1`` (or ``labels="pm1"``).
    """

    def term(score: Value, y: float) -> Value:
        if y == 1.0:
            return (1.0 - score).relu()
        if y == -1.0:
            return (score + 1.0).relu()
        raise ValueError(f"hinge_loss: targets must be -1 or +1, got {y!r}")

    return _elementwise("hinge_loss", scores, targets, reduction, term)


# ---------------------------------------------------------------- several classes
def _logits(logits: object) -> list[Value]:
    """The logits as ``Value``\\ s, checked: a non-empty list or tuple of ``Value``\\ s or numbers."""
    if not isinstance(logits, (list, tuple)) or not logits:
        raise ValueError(f"logits must be a non-empty list of Values, not {logits!r}")
    return [_as_value(z, f"logit {i}") for i, z in enumerate(logits)]


def softmax(logits: Sequence[Prediction]) -> list[Value]:
    """``exp(zᵢ) / Σⱼ exp(zⱼ) = exp(zᵢ - logsumexp(z))``: probabilities (positive, summing to 1)."""
    values = _logits(logits)
    log_total = logsumexp(values)
    return [(v - log_total).exp() for v in values]


def log_softmax(logits: Sequence[Prediction]) -> list[Value]:
    """``zᵢ - log Σⱼ exp(zⱼ)``, with ``autograd.logsumexp``: finite for any logits."""
    values = _logits(logits)
    log_total = logsumexp(values)
    return [v - log_total for v in values]


def _cross_entropy_term(logits: object, target: object, what: str) -> Value:
    """``-log softmax(z)[t] = logsumexp(z) - z_t``."""
    if isinstance(target, bool) or not isinstance(target, int):
        raise TypeError(f"cross_entropy: {what} must be an int class index, not {type(target).__name__}")
    values = _logits(logits)
    if not 0 <= target < len(values):
        raise ValueError(f"cross_entropy: {what} is {target}, outside 0..{len(values) - 1}")
    return logsumexp(values) - values[target]


@overload
def cross_entropy(logits: Logits, target: int | Sequence[int], reduction: Reduced = "mean") -> Value: ...
@overload
def cross_entropy(logits: Logits, target: int | Sequence[int], reduction: Literal["none"]) -> list[Value]: ...
@overload
def cross_entropy(logits: Logits, target: int | Sequence[int], reduction: str) -> Loss: ...
def cross_entropy(
    logits: Sequence[Prediction] | Sequence[Sequence[Prediction]],
    target: int | Sequence[int],
    reduction: str = "mean",
) -> Loss:
    """Cross-entropy of class scores: ``-log softmax(logits)[target]``, averaged over samples.

    One sample: ``logits`` is a list of ``Value``\\ s (one per class) and
    ``target`` the index of the right class. A batch: a list of such lists
    and a list of indices. The gradient with respect to ``zᵢ`` is
    ``softmax(z)ᵢ - [i = target]``: push the right class up, the others down
    in proportion to their probability. Stable for any logits (see the module
    docstring): ``cross_entropy([Value(1000.0), Value(-1000.0)], 1)`` is 2000.
    """
    _check_reduction(reduction)
    if isinstance(target, (list, tuple)):
        if not isinstance(logits, (list, tuple)) or len(logits) != len(target):
            given = len(logits) if isinstance(logits, (list, tuple)) else "no list of"
            raise ValueError(f"cross_entropy: {len(target)} targets but {given} samples of logits")
        if not target:
            raise ValueError("cross_entropy: no samples (an empty list has no mean)")
        terms = [
            _cross_entropy_term(z, t, f"target {i}")
            for i, (z, t) in enumerate(zip(logits, target, strict=True))
        ]
    else:
        terms = [_cross_entropy_term(logits, target, "the target")]
    return _reduce(terms, reduction)
