"""How good a classifier is: ``accuracy``, ``predicted_class``, ``confusion_matrix``.

A classifier's output for one sample is either **one number** (a score, a
logit or a probability for class 1) or **several numbers** (one logit or
probability per class). Which of the two it is depends only on *how many*
numbers there are, never on how they are wrapped: ``0.9``, ``Value(0.9)``,
``[0.9]`` and ``[[0.9]]`` (a row of PyTorch's ``(N, 1)`` output after
``.tolist()``) are all one output. Every sample of a batch must have the
same number of outputs; a mix is an error, not a guess.

A NaN output stands for no class at all: such a sample is counted as
wrong, whatever its label (``nan > 0.5`` is False, and reading that as
"class 0" would score a diverged model's NaNs as correct negatives).

>>> accuracy([[0.9], [0.1], [0.8]], [1, 0, 1], threshold=0.5)   # probabilities, shape (N, 1)
1.0
>>> accuracy([[0.2, 1.5, -0.3], [2.0, 0.1, 0.0]], [1, 2])          # logits: argmax
0.5
>>> predicted_class(float("nan")) is None
True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Union

from autograd import Value

__all__ = ["accuracy", "confusion_matrix", "outputs_of", "predicted_class"]

#: One sample's output: a number (``Value`` or plain), or a list or tuple of them, nested as you like.
Output = Union[Value, float, Sequence["Output"]]


def outputs_of(output: Output) -> list[float]:
    """The numbers of one sample's output, flattened, as floats: ``[[Value(0.9)]]`` gives ``[0.9]``.

    ``TypeError`` for anything that is not a number, a ``Value`` or a list or
    tuple of them; ``ValueError`` for an output holding no number at all.
    """
    numbers_found: list[float] = []
    pending = [output]  # an explicit stack, not recursion: nesting depth is the caller's business
    while pending:
        item = pending.pop()
        if isinstance(item, Value):
            numbers_found.append(item.data)
        elif isinstance(item, (list, tuple)):
            pending.extend(reversed(item))  # reversed: popped in their original order
        elif isinstance(item, numbers.Real) and not isinstance(item, bool):
            numbers_found.append(float(item))
        else:
            raise TypeError(f"an output is a number, a Value or a list of them, not {type(item).__name__}")
    if not numbers_found:
        raise ValueError(f"an output holds no outputs: {output!r}")
    return numbers_found


def predicted_class(output: Output, threshold: float = 0.0) -> int | None:
    """The class a model's output for one sample stands for, or ``None`` when it holds a NaN.

    One output (in any nesting): 1 when it is above ``threshold`` (0 for
    scores and logits, 0.5 for probabilities), else 0. Several outputs: the
    index of the largest (the first of equal ones, as ``torch.argmax``).

    >>> predicted_class([0.3]), predicted_class([0.3], threshold=0.5), predicted_class([0.1, 2.0, 0.5])
    (1, 0, 1)
    """
    values = outputs_of(output)
    if any(math.isnan(v) for v in values):
        return None
    if len(values) == 1:
        return int(values[0] > threshold)
    return max(range(len(values)), key=values.__getitem__)


def accuracy(predictions: Sequence[Output], targets: Sequence, threshold: float = 0.0) -> float:
    """The fraction of samples classified correctly.

    How a prediction becomes a class (:func:`predicted_class`) depends only on
    how many numbers it holds and on ``threshold``, never on the numbers
    themselves:

    * several outputs (logits or probabilities, one per class): the class is
      the index of the largest, and the target is the class index;
    * one output (``0.7``, ``[0.7]``, ``Value(0.7)``, ...): class 1 when it
      is ``> threshold``, else class 0; the target counts as class 1 when it
      is ``> 0``, so labels in {0, 1} and in {-1, +1} (hinge loss) both work.

    ``threshold=0`` suits scores and logits (the sign decides: hinge loss,
    ``mse_loss`` on ±1 labels, ``binary_cross_entropy_with_logits``). For
    probabilities (a sigmoid output, ``binary_cross_entropy``) pass
    ``threshold=0.5``; ``fit`` and ``evaluate`` do so themselves when the loss
    is ``binary_cross_entropy``. A prediction holding a NaN is wrong.
    ``ValueError`` when the samples do not all have the same number of outputs.

    >>> accuracy([0.3, 0.2, 0.9, 0.1], [1, 1, 1, 1])            # logits: all > 0
    1.0
    >>> accuracy([0.3, 0.2, 0.9, 0.1], [1, 1, 1, 1], threshold=0.5)  # probabilities
    0.25
    >>> accuracy([0.9, float("nan")], [1, 0], threshold=0.5)    # NaN: wrong, never class 0
    0.5
    """
    if len(predictions) != len(targets):
        raise ValueError(f"accuracy: {len(predictions)} predictions but {len(targets)} targets")
    if not predictions:
        raise ValueError("accuracy: no predictions")
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"accuracy: threshold must be a real number, not {type(threshold).__name__}")
    if not math.isfinite(threshold):
        raise ValueError(f"accuracy: threshold must be a finite number, not {threshold!r}")
    outputs = [outputs_of(p) for p in predictions]
    width = len(outputs[0])
    for i, numbers_of_sample in enumerate(outputs):
        if len(numbers_of_sample) != width:
            raise ValueError(
                f"accuracy: sample 0 has {_count(width)} but sample {i} has {len(numbers_of_sample)}: "
                "every sample needs the same number of outputs"
            )
    if width == 1:
        labels = [int(t > 0) for t in targets]  # -1/+1 and 0/1 labels alike
    else:
        labels = list(targets)
    hits = sum(predicted_class(o, threshold) == t for o, t in zip(outputs, labels, strict=True))
    return hits / len(targets)


def _count(n: int) -> str:
    return f"{n} output" if n == 1 else f"{n} outputs"


def confusion_matrix(
    y_true: Sequence[int], y_pred: Sequence[int], n_classes: int | None = None
) -> list[list[int]]:
    """``matrix[i][j]`` = how many samples of true class ``i`` were predicted as class ``j``.

    The diagonal holds the correct predictions; everything off it is a mistake,
    and *which* cell tells which classes are confused with which.

    >>> confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1])
    [[1, 1], [0, 2]]
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"confusion_matrix: {len(y_true)} true labels but {len(y_pred)} predictions")
    for label in (*y_true, *y_pred):
        if isinstance(label, bool) or not isinstance(label, int) or label < 0:
            raise ValueError(f"confusion_matrix takes class indices 0, 1, 2, ..., not {label!r}")
    n = n_classes if n_classes is not None else max((*y_true, *y_pred), default=-1) + 1
    matrix = [[0] * n for _ in range(n)]
    for t, p in zip(y_true, y_pred, strict=True):
        if t >= n or p >= n:
            raise ValueError(f"confusion_matrix: class {max(t, p)} but n_classes={n}")
        matrix[t][p] += 1
    return matrix
