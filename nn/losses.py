"""Loss functions, softmax and log-softmax, built from ``Value`` operations.

Each loss compares predictions (``Value``\\ s, the output of a model) with
targets (plain numbers: constants, so no gradient flows into them) and
returns one ``Value`` to call ``backward()`` on. Like ``torch.nn.functional``,
each takes one prediction or a list of them and, by default, averages the
per-sample losses (``reduction="mean"``); ``"sum"`` adds them and ``"none"``
returns the list. A plain number given as a prediction is a constant.

The numbers and gradients agree with ``torch.nn.functional`` (float64) to
about 1e-12 relative; ``tests/test_losses.py`` checks 1e-9 on random inputs.

Numerical stability: subtracting a constant
-------------------------------------------
``Value`` has no ``max`` or ``clamp``, and it does not need one. Softmax and
log-sum-exp are unchanged when every logit is shifted by the same number
``m``::

    softmax(z)ᵢ = exp(zᵢ) / Σⱼ exp(zⱼ) = exp(zᵢ - m) / Σⱼ exp(zⱼ - m)
    log Σⱼ exp(zⱼ) = m + log Σⱼ exp(zⱼ - m)

These identities hold for *every* number ``m``, so we may pick ``m`` as a plain
number, the largest logit's ``.data``, and differentiate with ``m`` held
fixed: the derivative of the right-hand side with respect to each ``zᵢ`` is
the derivative of the left-hand side, exactly. Choosing the largest logit
makes every ``exp`` argument ≤ 0, so nothing overflows (logits of ±1000 are
fine), and the largest term is ``exp(0) = 1``, so the sum is ≥ 1 and its
``log`` never sees 0.

The same idea corrects a logarithm's *value* without touching its slope: to
get ``log(1 + v)`` accurately for a tiny ``v`` (where ``1 + v`` rounds to 1 and
``log`` returns 0), we add the plain number ``math.log1p(v) - log(1 + v)`` to
``log(1 + v)``. The slope ``1 / (1 + v)`` of the uncorrected node was already
accurate; only its value lost digits.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Union

from autograd import Value

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_loss",
    "log_softmax",
    "mse_loss",
    "softmax",
]

Prediction = Union[Value, float]
Loss = Union[Value, list[Value]]
REDUCTIONS = ("mean", "sum", "none")

#: PyTorch's ``binary_cross_entropy`` clamps each log at -100 (so that a
#: probability of exactly 0 or 1 gives a finite loss); we do the same.
LOG_CLAMP = -100.0


# ---------------------------------------------------------------- helpers
def _is_number(x: object) -> bool:
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


def _log(u: Value, exact: float) -> Value:
    """``log(u)`` whose value is corrected to ``exact`` (a plain number) and clamped at -100.

    ``u`` is a node whose ``data`` may carry a rounding error (``1 - p`` for a
    tiny ``p``); ``exact`` is the logarithm computed accurately from the data
    (e.g. ``math.log1p(-p)``). The correction ``exact - log(u)`` is a constant,
    so the gradient is the ordinary ``1/u``. Below -100 the result is the
    constant -100 (PyTorch's clamp), still connected to ``u`` with slope 0.
    """
    if exact < LOG_CLAMP:
        return u * 0.0 + LOG_CLAMP
    out = u.log()
    correction = exact - out.data
    return out + correction if correction else out


def _log1p(v: Value) -> Value:
    """``log(1 + v)``, accurate for tiny ``v`` (see the module docstring); ``v > -1``."""
    return _log(v + 1.0, math.log1p(v.data))


# ---------------------------------------------------------------- regression
def mse_loss(
    pred: Prediction | Sequence[Prediction], target: float | Sequence[float], reduction: str = "mean"
) -> Loss:
    """Mean squared error: ``mean((pred - target)²)``; gradient ``2·(pred - target)/n``."""
    return _elementwise("mse_loss", pred, target, reduction, lambda p, t: (p - t) ** 2)


# ---------------------------------------------------------------- binary classification
def _bce_term(p: Value, y: float) -> Value:
    """``-[y·log p + (1 - y)·log(1 - p)]``, skipping a term whose weight is 0."""
    if not 0.0 <= p.data <= 1.0:
        raise ValueError(f"binary_cross_entropy: probabilities must be in [0, 1], got {p.data!r}")
    terms = []
    if y != 0.0:
        terms.append(_log(p, math.log(p.data) if p.data > 0.0 else -math.inf) * -y)
    if y != 1.0:
        terms.append(_log(1.0 - p, math.log1p(-p.data) if p.data < 1.0 else -math.inf) * (y - 1.0))
    return _total(terms)


def binary_cross_entropy(
    prob: Prediction | Sequence[Prediction], target: float | Sequence[float], reduction: str = "mean"
) -> Loss:
    """Binary cross-entropy of probabilities: ``-[y·log p + (1 - y)·log(1 - p)]``, averaged.

    ``prob`` is a probability in [0, 1] (e.g. a sigmoid output); anything
    outside raises ``ValueError``. ``target`` is usually 0 or 1 (any number
    works, as in PyTorch: soft labels). The loss is the negative
    log-likelihood of a Bernoulli variable; its gradient is
    ``(p - y) / (p·(1 - p))``, so it is steep where the model is confidently
    wrong.

    As in PyTorch each log is clamped at -100, so ``p = 0`` or ``p = 1`` gives
    a finite loss (at most 100 per sample). Where a log is clamped the term is
    a constant and its gradient is 0 (what autograd through ``torch.clamp``
    gives; PyTorch's own fused backward returns ``(p - y)/max(p(1 - p), 1e-12)``
    there instead). ``log(1 - p)`` is computed accurately for tiny ``p``.
    Prefer :func:`binary_cross_entropy_with_logits`: it needs no clamp.
    """
    return _elementwise("binary_cross_entropy", prob, target, reduction, _bce_term)


def _bce_logits_term(x: Value, y: float) -> Value:
    """``log(1 + eˣ) - x·y`` with ``exp`` only of a number ≤ 0 (the branch is chosen by ``x.data``)."""
    if x.data >= 0.0:  # log(1 + eˣ) = x + log(1 + e⁻ˣ)
        return x * (1.0 - y) + _log1p((-x).exp())
    return _log1p(x.exp()) - x * y


def binary_cross_entropy_with_logits(
    logit: Prediction | Sequence[Prediction], target: float | Sequence[float], reduction: str = "mean"
) -> Loss:
    """Binary cross-entropy of ``sigmoid(logit)``, computed stably from the logit.

    With ``p = σ(x) = 1/(1 + e⁻ˣ)``, the loss ``-[y·log p + (1 - y)·log(1 - p)]``
    simplifies to ``log(1 + eˣ) - x·y``. For ``x ≥ 0`` we write
    ``log(1 + eˣ) = x + log(1 + e⁻ˣ)``, so no ``exp`` ever sees a positive
    number (``e¹⁰⁰⁰`` would overflow)::

        loss = max(x, 0) - x·y + log(1 + exp(-|x|))

    That is PyTorch's formula. Built literally from ``relu`` and ``abs`` it
    would have the wrong gradient at ``x = 0``: each of those has a kink there
    (we take slope 0 at a kink), while their sum is smooth. So the branch,
    ``x ≥ 0`` or ``x < 0``, is chosen from the number ``x.data`` (a constant
    decision, like the max in log-sum-exp) and each branch is a smooth
    expression whose gradient is exact, ``σ(x) - y``. Unlike
    ``binary_cross_entropy(sigmoid(x), y)`` this stays exact when the sigmoid
    would round to 0 or 1.
    """
    return _elementwise("binary_cross_entropy_with_logits", logit, target, reduction, _bce_logits_term)


def hinge_loss(
    scores: Prediction | Sequence[Prediction], targets: float | Sequence[float], reduction: str = "mean"
) -> Loss:
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
def _shifted_and_total(logits: Sequence[Prediction]) -> tuple[list[Value], list[Value], Value]:
    """``zᵢ - m``, ``exp(zᵢ - m)`` and ``Σ exp(zⱼ - m)`` for ``m = max(z).data`` (a constant)."""
    if not isinstance(logits, (list, tuple)) or not logits:
        raise ValueError(f"logits must be a non-empty list of Values, not {logits!r}")
    values = [_as_value(z, f"logit {i}") for i, z in enumerate(logits)]
    m = max(v.data for v in values)
    shifted = [v - m for v in values]
    exps = [s.exp() for s in shifted]
    return shifted, exps, _total(exps)


def softmax(logits: Sequence[Prediction]) -> list[Value]:
    """``exp(zᵢ) / Σⱼ exp(zⱼ)``: probabilities (positive, summing to 1) from one sample's logits."""
    _, exps, total = _shifted_and_total(logits)
    return [e / total for e in exps]


def log_softmax(logits: Sequence[Prediction]) -> list[Value]:
    """``zᵢ - log Σⱼ exp(zⱼ)``, computed as ``(zᵢ - m) - log Σⱼ exp(zⱼ - m)``: finite for any logits."""
    shifted, _, total = _shifted_and_total(logits)
    log_total = total.log()
    return [s - log_total for s in shifted]


def _cross_entropy_term(logits: Sequence[Prediction], target: object, what: str) -> Value:
    """``-log softmax(z)[t] = log Σⱼ exp(zⱼ - m) - (z_t - m)``."""
    if isinstance(target, bool) or not isinstance(target, int):
        raise TypeError(f"cross_entropy: {what} must be an int class index, not {type(target).__name__}")
    shifted, _, total = _shifted_and_total(logits)
    if not 0 <= target < len(shifted):
        raise ValueError(f"cross_entropy: {what} is {target}, outside 0..{len(shifted) - 1}")
    return total.log() - shifted[target]


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
