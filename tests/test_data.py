"""``nn.data``: determinism, shapes, labels, geometry, splitting and batching, argument checks."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from nn import data

MAKERS = {
    "moons": lambda **kw: data.make_moons(101, noise=0.1, **kw),
    "circles": lambda **kw: data.make_circles(101, noise=0.05, **kw),
    "blobs": lambda **kw: data.make_blobs(101, centers=3, **kw),
    "spiral": lambda **kw: data.make_spiral(101, n_classes=3, **kw),
    "xor": lambda **kw: data.make_xor(101, noise=0.1, **kw),
}
CLASSES = {"moons": 2, "circles": 2, "blobs": 3, "spiral": 3, "xor": 2}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_shapes_types_labels_and_balance(name):
    X, y = MAKERS[name](seed=0)
    assert isinstance(X, list) and isinstance(y, list) and len(X) == len(y) == 101
    assert all(isinstance(p, list) and len(p) == 2 and all(type(v) is float for v in p) for p in X)
    assert all(type(label) is int for label in y)
    counts = Counter(y)
    assert sorted(counts) == list(range(CLASSES[name]))
    assert max(counts.values()) - min(counts.values()) <= 1


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_same_seed_same_data_and_global_random_untouched(name):
    random.seed(99)
    state = random.getstate()
    first, again, other = MAKERS[name](seed=1), MAKERS[name](seed=1), MAKERS[name](seed=2)
    MAKERS[name]()
    assert random.getstate() == state
    assert first == again
    assert first != other


def test_moons_geometry_without_noise():
    X, y = data.make_moons(40, noise=0.0, seed=0)
    for (x1, x2), label in zip(X, y, strict=True):
        if label == 0:  # upper unit half circle
            assert math.hypot(x1, x2) == pytest.approx(1.0) and x2 >= -1e-12
        else:  # lower half circle of radius 1 centred at (1, 0.5)
            assert math.hypot(x1 - 1.0, x2 - 0.5) == pytest.approx(1.0) and x2 <= 0.5 + 1e-12
    assert sorted(map(tuple, X))[0] == pytest.approx((-1.0, 0.0), abs=1e-12)
    assert sorted(map(tuple, X))[-1] == pytest.approx((2.0, 0.5), abs=1e-12)


def test_noise_has_the_requested_spread():
    clean, _ = data.make_moons(2000, noise=0.0, seed=0, shuffle=False)
    noisy, _ = data.make_moons(2000, noise=0.2, seed=0, shuffle=False)
    deltas = [a - b for p, q in zip(noisy, clean, strict=True) for a, b in zip(p, q, strict=True)]
    mean = sum(deltas) / len(deltas)
    std = math.sqrt(sum((d - mean) ** 2 for d in deltas) / len(deltas))
    assert abs(mean) < 0.02 and std == pytest.approx(0.2, rel=0.05)


def test_pm1_labels():
    X, y = data.make_moons(20, seed=3)
    X2, y2 = data.make_moons(20, seed=3, labels="pm1")
    assert X2 == X and y2 == [2 * label - 1 for label in y] == data.to_pm1(y)
    assert set(data.make_xor(labels="pm1")[1]) == {-1, 1}
    assert set(data.make_circles(10, labels="pm1")[1]) == {-1, 1}
    with pytest.raises(ValueError, match="'01', 'pm1'"):
        data.make_moons(10, labels="+-")
    with pytest.raises(ValueError, match="label 1 is 2"):
        data.to_pm1([0, 2])


def test_circles_radii():
    X, y = data.make_circles(30, noise=0.0, factor=0.3, seed=0)
    for point, label in zip(X, y, strict=True):
        assert math.hypot(*point) == pytest.approx(1.0 if label == 0 else 0.3)
    assert Counter(y) == {0: 15, 1: 15}


def test_blobs_cluster_around_given_centers():
    centers = [[-5.0, 0.0], [5.0, 5.0]]
    X, y = data.make_blobs(400, centers=centers, cluster_std=0.5, seed=0)
    for k, (c1, c2) in enumerate(centers):
        points = [p for p, label in zip(X, y, strict=True) if label == k]
        assert len(points) == 200
        assert sum(p[0] for p in points) / 200 == pytest.approx(c1, abs=0.15)
        assert sum(p[1] for p in points) / 200 == pytest.approx(c2, abs=0.15)
        assert all(math.hypot(p[0] - c1, p[1] - c2) < 5 * 0.5 for p in points)
    # Drawn centres lie in the centre box.
    X, _ = data.make_blobs(30, centers=3, cluster_std=0.0, center_box=(-2.0, 3.0), seed=1)
    assert all(-2.0 <= v <= 3.0 for p in X for v in p)


def test_spiral_radius_and_classes():
    X, y = data.make_spiral(300, n_classes=3, noise=0.0, seed=0, shuffle=False)
    assert y == [0] * 100 + [1] * 100 + [2] * 100
    radii = [math.hypot(*p) for p in X[:100]]
    assert radii[0] == 0.0 and radii[-1] == pytest.approx(1.0)
    assert radii == sorted(radii)
    # Without noise, arm k at radius r is at angle 4k + 4r measured from the x2 axis.
    x1, x2 = X[199]
    assert math.atan2(x1, x2) == pytest.approx(math.remainder(8.0, 2 * math.pi))


def test_xor_truth_table():
    X, y = data.make_xor()
    assert X == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    assert y == [0, 1, 1, 0]
    X, y = data.make_xor(8, noise=0.0, shuffle=True, seed=0)
    assert all(label == int(p[0]) ^ int(p[1]) for p, label in zip(X, y, strict=True))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: data.make_moons(1), ValueError, "at least 2"),
        (lambda: data.make_moons(10.0), TypeError, "n_samples must be an int"),
        (lambda: data.make_moons(True), TypeError, "n_samples"),
        (lambda: data.make_moons(10, noise=-0.1), ValueError, "noise"),
        (lambda: data.make_moons(10, noise=math.inf), ValueError, "noise"),
        (lambda: data.make_moons(10, noise="0.1"), TypeError, "noise"),
        (lambda: data.make_moons(10, seed=1.5), TypeError, "seed"),
        (lambda: data.make_circles(10, factor=1.0), ValueError, "factor"),
        (lambda: data.make_blobs(2, centers=3), ValueError, "at least the number of centers"),
        (lambda: data.make_blobs(10, centers=0), ValueError, "centers"),
        (lambda: data.make_blobs(10, centers=[[1.0, 2.0, 3.0]]), ValueError, "centers"),
        (lambda: data.make_blobs(10, cluster_std=-1.0), ValueError, "cluster_std"),
        (lambda: data.make_blobs(10, center_box=(1.0, 1.0)), ValueError, "center_box"),
        (lambda: data.make_spiral(2, n_classes=3), ValueError, "n_classes"),
        (lambda: data.make_spiral(10, n_classes=0), ValueError, "n_classes"),
        (lambda: data.make_xor(3), ValueError, "at least 4"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---------------------------------------------------------------- train_test_split
def test_train_test_split_partitions_and_keeps_pairs():
    X = [[float(i), -float(i)] for i in range(20)]
    y = list(range(20))
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.25, seed=0)
    assert len(X_test) == len(y_test) == 5 and len(X_train) == len(y_train) == 15
    assert sorted(y_train + y_test) == y
    assert all(p[0] == label for p, label in zip(X_train + X_test, y_train + y_test, strict=True))
    assert y_test != list(range(15, 20))  # shuffled
    assert data.train_test_split(X, y, seed=0) == data.train_test_split(X, y, seed=0)
    assert data.train_test_split(X, y, test_size=0.1, shuffle=False)[3] == [18, 19]
    assert len(data.train_test_split(X, y, test_size=3)[1]) == 3
    assert len(data.train_test_split(X, y, test_size=0.33)[1]) == math.ceil(0.33 * 20)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"test_size": 0.0}, ValueError, r"\(0, 1\)"),
        ({"test_size": 1.5}, ValueError, r"\(0, 1\)"),
        ({"test_size": 0}, ValueError, "both"),
        ({"test_size": 4}, ValueError, "both"),
        ({"test_size": "half"}, TypeError, "test_size"),
    ],
)
def test_train_test_split_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.train_test_split([[0.0, 0.0]] * 4, [0, 1, 0, 1], **kwargs)


def test_train_test_split_length_mismatch():
    with pytest.raises(ValueError, match="X has 3 samples but y has 2"):
        data.train_test_split([[0.0, 0.0]] * 3, [0, 1])


# ---------------------------------------------------------------- batches
def test_batches_cover_every_sample_once():
    X = [[float(i), 0.0] for i in range(10)]
    y = list(range(10))
    got = list(data.batches(X, y, batch_size=4, seed=0))
    assert [len(yb) for _, yb in got] == [4, 4, 2]
    assert sorted(label for _, yb in got for label in yb) == y
    assert all(p[0] == label for Xb, yb in got for p, label in zip(Xb, yb, strict=True))
    assert [yb for _, yb in got] != [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert got == list(data.batches(X, y, batch_size=4, seed=0))
    assert [yb for _, yb in data.batches(X, y, 4, shuffle=False)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(list(data.batches(X, y, 100))) == 1


def test_batches_without_shuffling_ignore_a_seed_or_generator_as_pytorch_does():
    X, y = [[float(i), 0.0] for i in range(5)], list(range(5))
    rng = random.Random(0)
    state = rng.getstate()
    in_order = [[0, 1], [2, 3], [4]]
    assert [yb for _, yb in data.batches(X, y, 2, shuffle=False, seed=0)] == in_order
    assert [yb for _, yb in data.batches(X, y, 2, shuffle=False, rng=rng)] == in_order
    assert rng.getstate() == state  # nothing drawn from it


def test_batches_with_a_shared_generator_change_order_each_epoch():
    X, y = [[0.0, 0.0]] * 30, list(range(30))
    rng = random.Random(0)
    first = [yb for _, yb in data.batches(X, y, 30, rng=rng)]
    second = [yb for _, yb in data.batches(X, y, 30, rng=rng)]
    assert first != second and sorted(first[0]) == sorted(second[0]) == y


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 2.0}, TypeError, "batch_size"),
        ({"batch_size": 2, "shuffle": False, "seed": "1"}, TypeError, "seed"),
        ({"batch_size": 2, "seed": 1, "rng": random.Random(1)}, ValueError, "not both"),
    ],
)
def test_batches_bad_arguments_raise_at_call_time(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.batches([[0.0, 0.0]] * 4, [0, 1, 0, 1], **kwargs)  # no next(): checked eagerly
    with pytest.raises(ValueError, match="X has 4 samples but y has 3"):
        data.batches([[0.0, 0.0]] * 4, [0, 1, 0], 2)
