"""Toy data sets in two dimensions, a train/test split and mini-batches.

Every function returns plain Python lists: ``X`` is a list of ``[x1, x2]``
points (floats) and ``y`` a list of ``int`` labels. Randomness comes from a
private ``random.Random`` (``seed=...``), so the same seed gives the same data
and the global ``random`` state is never touched (see ``nn.init.make_rng``).

Labels are 0, 1, … . The hinge loss of micrograd's demo wants -1/+1 for two
classes: pass ``labels="pm1"`` to the binary makers (moons, circles, xor) or
convert with :func:`to_pm1`.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Iterator, Sequence

from .checks import int_at_least
from .init import make_rng

__all__ = [
    "batches",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spiral",
    "make_xor",
    "to_pm1",
    "train_test_split",
]

Points = list[list[float]]
Labels = list[int]
LABELINGS = ("01", "pm1")


# ---------------------------------------------------------------- argument checks
def _non_negative(x: object, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a number, not {type(x).__name__}")
    if x < 0.0 or not x < math.inf:  # NaN fails the second test
        raise ValueError(f"{name} must be a finite number >= 0, not {x!r}")
    return float(x)


def _check_labels(labels: str) -> None:
    if labels not in LABELINGS:
        raise ValueError(f"labels must be one of {', '.join(map(repr, LABELINGS))}, not {labels!r}")


# ---------------------------------------------------------------- shared steps
def to_pm1(y: Sequence[int]) -> Labels:
    """Binary labels 0/1 as -1/+1 (``2·y - 1``), for the hinge loss."""
    out = []
    for i, label in enumerate(y):
        if label not in (0, 1) or isinstance(label, bool):
            raise ValueError(f"to_pm1 takes labels 0 and 1; label {i} is {label!r}")
        out.append(2 * label - 1)
    return out


def _per_class(n_samples: int, n_classes: int) -> list[int]:
    """Split ``n_samples`` into ``n_classes`` counts as evenly as possible (the first ones get the rest)."""
    base, rest = divmod(n_samples, n_classes)
    return [base + (1 if k < rest else 0) for k in range(n_classes)]


def _finish(
    X: Points, y: Labels, noise: float, shuffle: bool, rng: random.Random, labels: str = "01"
) -> tuple[Points, Labels]:
    """Add Gaussian noise N(0, noise²) to each coordinate, shuffle (points and labels together), relabel."""
    if noise:
        X = [[x1 + rng.gauss(0.0, noise), x2 + rng.gauss(0.0, noise)] for x1, x2 in X]
    if shuffle:
        order = list(range(len(X)))
        rng.shuffle(order)
        X = [X[i] for i in order]
        y = [y[i] for i in order]
    return X, (to_pm1(y) if labels == "pm1" else y)


def _evenly(start: float, stop: float, n: int, endpoint: bool = True) -> list[float]:
    """``n`` evenly spaced numbers from ``start`` to ``stop`` (like ``numpy.linspace``)."""
    steps = (n - 1 if endpoint else n) or 1
    return [start + (stop - start) * i / steps for i in range(n)]


# ---------------------------------------------------------------- data sets
def make_moons(
    n_samples: int = 100,
    noise: float = 0.1,
    seed: int | None = None,
    shuffle: bool = True,
    labels: str = "01",
) -> tuple[Points, Labels]:
    """Two interleaving half circles (as ``sklearn.datasets.make_moons``).

    Class 0 is the upper half of the unit circle, ``(cos t, sin t)`` for ``t``
    from 0 to π; class 1 is the same arc turned upside down and moved right
    and down, ``(1 - cos t, 1 - sin t - 0.5)``. Neither class can be separated
    from the other by a straight line, which makes it the classic first test
    for a network with a hidden layer. Class 0 gets ``n_samples // 2`` points.
    ``noise`` is the standard deviation of Gaussian noise added to each
    coordinate; ``labels="pm1"`` gives -1/+1 instead of 0/1.
    """
    n = int_at_least(n_samples, "n_samples", 2)
    noise = _non_negative(noise, "noise")
    _check_labels(labels)
    rng = make_rng(seed)
    n_outer = n // 2
    outer = [[math.cos(t), math.sin(t)] for t in _evenly(0.0, math.pi, n_outer)]
    inner = [[1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5] for t in _evenly(0.0, math.pi, n - n_outer)]
    return _finish(outer + inner, [0] * len(outer) + [1] * len(inner), noise, shuffle, rng, labels)


def make_circles(
    n_samples: int = 100,
    noise: float = 0.0,
    factor: float = 0.5,
    seed: int | None = None,
    shuffle: bool = True,
    labels: str = "01",
) -> tuple[Points, Labels]:
    """A circle inside a circle (as ``sklearn.datasets.make_circles``).

    Class 0 lies on the unit circle, class 1 on a circle of radius ``factor``
    (0 ≤ factor < 1), each at evenly spaced angles; class 0 gets
    ``n_samples // 2`` points. Separable by a circle, not by a line: a model
    must combine its inputs non-linearly (``x1² + x2²`` would do).
    """
    n = int_at_least(n_samples, "n_samples", 2)
    noise = _non_negative(noise, "noise")
    factor = _non_negative(factor, "factor")
    if factor >= 1.0:
        raise ValueError(f"factor must be in [0, 1), not {factor!r}")
    _check_labels(labels)
    rng = make_rng(seed)
    n_outer = n // 2
    angles_out = _evenly(0.0, 2.0 * math.pi, n_outer, endpoint=False)
    angles_in = _evenly(0.0, 2.0 * math.pi, n - n_outer, endpoint=False)
    outer = [[math.cos(t), math.sin(t)] for t in angles_out]
    inner = [[factor * math.cos(t), factor * math.sin(t)] for t in angles_in]
    return _finish(outer + inner, [0] * len(outer) + [1] * len(inner), noise, shuffle, rng, labels)


def make_blobs(
    n_samples: int = 100,
    centers: int | Sequence[Sequence[float]] = 3,
    cluster_std: float = 1.0,
    seed: int | None = None,
    shuffle: bool = True,
    center_box: tuple[float, float] = (-10.0, 10.0),
) -> tuple[Points, Labels]:
    """Gaussian clusters (as ``sklearn.datasets.make_blobs``): class ``k`` is N(center_k, cluster_std²·I).

    ``centers`` is a number of clusters, whose centres are then drawn
    uniformly from ``center_box`` in each coordinate, or a list of ``[x1, x2]``
    centres. The samples are shared out as evenly as possible.
    """
    n = int_at_least(n_samples, "n_samples", 1)
    std = _non_negative(cluster_std, "cluster_std")
    low, high = center_box
    if not (_is_finite(low) and _is_finite(high) and low < high):
        raise ValueError(f"center_box must be finite numbers (low, high) with low < high, not {center_box!r}")
    rng = make_rng(seed)
    if isinstance(centers, (list, tuple)):
        if not centers or any(len(c) != 2 or not all(_is_finite(v) for v in c) for c in centers):
            raise ValueError(f"centers must be a non-empty list of [x1, x2] points, not {centers!r}")
        points = [[float(c[0]), float(c[1])] for c in centers]
    else:
        k = int_at_least(centers, "centers", 1)
        points = [[rng.uniform(low, high), rng.uniform(low, high)] for _ in range(k)]
    if n < len(points):
        raise ValueError(f"n_samples ({n}) must be at least the number of centers ({len(points)})")
    X: Points = []
    y: Labels = []
    for k, (count, (c1, c2)) in enumerate(zip(_per_class(n, len(points)), points, strict=True)):
        X += [[c1 + rng.gauss(0.0, std), c2 + rng.gauss(0.0, std)] for _ in range(count)]
        y += [k] * count
    return _finish(X, y, 0.0, shuffle, rng)


def _is_finite(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def make_spiral(
    n_samples: int = 300,
    n_classes: int = 3,
    noise: float = 0.2,
    seed: int | None = None,
    shuffle: bool = True,
) -> tuple[Points, Labels]:
    """Interleaved spiral arms, one per class (the CS231n spiral).

    Arm ``k`` has points at radius ``r`` from 0 to 1 and angle
    ``θ = 4k + 4r`` (plus Gaussian noise of standard deviation ``noise`` on the
    *angle*, as in CS231n), at ``(r·sin θ, r·cos θ)``. Hard for a linear model;
    a small MLP separates it.
    """
    n = int_at_least(n_samples, "n_samples", 1)
    k_total = int_at_least(n_classes, "n_classes", 1)
    noise = _non_negative(noise, "noise")
    if n < k_total:
        raise ValueError(f"n_samples ({n}) must be at least n_classes ({k_total})")
    rng = make_rng(seed)
    X: Points = []
    y: Labels = []
    for k, count in enumerate(_per_class(n, k_total)):
        for r in _evenly(0.0, 1.0, count):
            theta = 4.0 * k + 4.0 * r + (rng.gauss(0.0, noise) if noise else 0.0)
            X.append([r * math.sin(theta), r * math.cos(theta)])
        y += [k] * count
    return _finish(X, y, 0.0, shuffle, rng)


def make_xor(
    n_samples: int = 4,
    noise: float = 0.0,
    seed: int | None = None,
    shuffle: bool = False,
    labels: str = "01",
) -> tuple[Points, Labels]:
    """The XOR problem: corners (0,0), (0,1), (1,0), (1,1) with labels 0, 1, 1, 0.

    Point ``i`` is corner ``i mod 4`` plus Gaussian noise, so with the
    defaults (4 samples, no noise, no shuffling) this is exactly the truth
    table. The smallest problem no single neuron can solve.
    """
    n = int_at_least(n_samples, "n_samples", 4)
    noise = _non_negative(noise, "noise")
    _check_labels(labels)
    rng = make_rng(seed)
    corners = [([0.0, 0.0], 0), ([0.0, 1.0], 1), ([1.0, 0.0], 1), ([1.0, 1.0], 0)]
    X = [list(corners[i % 4][0]) for i in range(n)]
    y = [corners[i % 4][1] for i in range(n)]
    return _finish(X, y, noise, shuffle, rng, labels)


# ---------------------------------------------------------------- splitting and batching
def _check_xy(X: Sequence, y: Sequence) -> int:
    if not isinstance(X, Sequence) or not isinstance(y, Sequence):
        raise TypeError(f"X and y must be sequences, not {type(X).__name__} and {type(y).__name__}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    return len(X)


def train_test_split(
    X: Sequence, y: Sequence, test_size: float | int = 0.25, seed: int | None = None, shuffle: bool = True
) -> tuple[list, list, list, list]:
    """Split into ``X_train, X_test, y_train, y_test`` (sklearn's order).

    ``test_size`` is a fraction in (0, 1) (the test set gets
    ``ceil(test_size · n)`` samples, as in sklearn) or a number of samples.
    Both parts must be non-empty. Without shuffling the test set is the last
    samples.
    """
    n = _check_xy(X, y)
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"test_size must be a fraction or an int, not {type(test_size).__name__}")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
    elif 0.0 < test_size < 1.0:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(f"a fractional test_size must be in (0, 1), not {test_size!r}")
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size!r} leaves {n_test} of {n} samples for testing; both need one")
    order = list(range(n))
    if shuffle:
        make_rng(seed).shuffle(order)
    train, test = order[: n - n_test], order[n - n_test :]
    return [X[i] for i in train], [X[i] for i in test], [y[i] for i in train], [y[i] for i in test]


def batches(
    X: Sequence,
    y: Sequence,
    batch_size: int,
    shuffle: bool = True,
    seed: int | None = None,
    rng: random.Random | None = None,
) -> Iterator[tuple[list, list]]:
    """Yield ``(X_batch, y_batch)`` pairs covering every sample exactly once (one epoch).

    All batches have ``batch_size`` samples except possibly the last, which
    has the rest. With ``shuffle`` the order is random: a fixed ``seed`` gives
    the same order on every call; to get a new order each epoch, pass one
    ``random.Random`` as ``rng`` to every call. Without ``shuffle`` the
    batches keep the data's order and a ``seed`` or ``rng`` is checked but not
    used (nothing is drawn from it), as PyTorch's ``DataLoader`` ignores its
    generator when it does not shuffle. Arguments are checked when ``batches``
    is called, not when the first batch is taken.
    """
    n = _check_xy(X, y)
    size = int_at_least(batch_size, "batch_size", 1)
    generator = make_rng(seed, rng)  # checked even when not shuffling
    order = list(range(n))
    if shuffle:
        generator.shuffle(order)
    return _batches(X, y, order, size)


def _batches(X: Sequence, y: Sequence, order: list[int], size: int) -> Iterator[tuple[list, list]]:
    for start in range(0, len(order), size):
        chunk = order[start : start + size]
        yield [X[i] for i in chunk], [y[i] for i in chunk]
