"""Checkers of lesson 14's exercises (see ``course.py`` for what a checker promises).

14.1 a stratified split; 14.2 the gradient of a batch's mean cross-entropy with respect to its
logits, in NumPy; 14.3 the backward pass of a one-hidden-layer ReLU network in matrix form.
The gradients are compared with the engine's ``backward()`` (``nn.losses.cross_entropy``, an
``nn.MLP`` given the same weights) at random points. A large batch made of one small batch
repeated many times checks that the code works on whole arrays (a loop over 200,000 samples
runs past the time limit) without any reference formula: repeating the samples does not change
the mean, so the engine's gradient of the small batch is the answer.
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Any

import numpy as np
from course import Wrong, call, exercise, expect, fresh_random

from autograd import Value
from nn import MLP, losses

# ---------------------------------------------------------------- helpers


def _array(result: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``result`` as a finite float64 array of ``shape``, or :class:`Wrong` saying why it is not one."""
    if result is None:
        raise Wrong(f"{what} is None (did the function forget to `return`?).")
    if isinstance(result, (str, bytes, dict, set)) or callable(result):
        raise Wrong(f"{what} is a {type(result).__name__}; a NumPy array of shape {shape} is expected.")
    try:
        array = np.asarray(result, dtype=float)
    except Exception:
        raise Wrong(f"{what} ({type(result).__name__}) is not an array of numbers.") from None
    expect(array.shape == shape, f"{what} has shape {array.shape}; {shape} is expected.")
    expect(bool(np.isfinite(array).all()), f"{what} holds NaN or infinite numbers.")
    return array


def _expect_array_close(ours: np.ndarray, expected: np.ndarray, what: str) -> bool:
    scale = float(np.abs(expected).max(initial=0.0))
    close = bool(np.allclose(ours, expected, rtol=1e-7, atol=1e-9 * max(scale, 1.0)))
    return expect(close, f"{what} does not match the engine's gradient.")


def _engine_ce_grad(Z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """∂(mean cross-entropy)/∂Z by the engine: one ``Value`` per logit, ``backward()``."""
    logits = [[Value(float(z)) for z in row] for row in Z]
    losses.cross_entropy(logits, [int(k) for k in t]).backward()
    return np.array([[z.grad for z in row] for row in logits])


def _engine_mlp_grads(X, t, W1, b1, W2, b2) -> tuple[np.ndarray, ...]:
    """The gradients of the mean cross-entropy of ``MLP(n, [h, K])`` holding these weights."""
    n, h = W1.shape
    K = W2.shape[1]
    model = MLP(n, [h, K])
    hidden, output = model.layers
    for weights, biases, layer in ((W1, b1, hidden), (W2, b2, output)):
        for j, neuron in enumerate(layer.neurons):
            for i, w in enumerate(neuron.w):
                w.data = float(weights[i, j])
            neuron.b.data = float(biases[j])
    losses.cross_entropy(model.forward_batch(X.tolist()), [int(k) for k in t]).backward()

    def grads(layer) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.array([[neuron.w[i].grad for neuron in layer.neurons] for i in range(layer.nin)]),
            np.array([neuron.b.grad for neuron in layer.neurons]),
        )

    return (*grads(hidden), *grads(output))


def _repeat(copies: int, *arrays: np.ndarray) -> list[np.ndarray]:
    """Each array's rows, the whole block repeated ``copies`` times."""
    return [np.tile(a, (copies,) + (1,) * (a.ndim - 1)) for a in arrays]


#: The size of the batch that only whole-array code handles within the time limit.
LARGE_BATCH = 200_000


def _call_on_large_batch(answer: Any, *args: np.ndarray) -> Any:
    try:
        return call(answer, *args, what=f"Your function, on a batch of {len(args[0]):,} samples,")
    except Wrong as error:
        raise Wrong(f"{error} Work on whole arrays: a Python loop over the samples is too slow.") from None

# ---------------------------------------------------------------- 14.1 a stratified split


def _label_lists(rng) -> list[tuple[list, int]]:
    """Label lists with classes of uneven sizes, and a test size for each."""
    cases = [(["a"] * 10 + ["b"] * 10 + ["c"] * 10, 10)]  # shares of 3⅓: rounding each one is not enough
    for _ in range(4):
        sizes = [rng.randint(1, 60) for _ in range(rng.randint(2, 10))]
        labels = [k for k, size in enumerate(sizes) for _ in range(size)]
        rng.shuffle(labels)
        cases.append((labels, rng.randint(1, len(labels) - 1)))
    digits = [k for k in range(10) for _ in range(rng.randint(30, 50))]  # sorted by class
    cases.append((digits, rng.randint(60, 120)))
    return cases


def _rows(result: Any, n: int) -> tuple[list[int], list[int]]:
    """``(train_rows, test_rows)`` as lists of row indices, or :class:`Wrong`."""
    if result is None or isinstance(result, (str, bytes, dict, set)) or callable(result):
        raise Wrong(f"The function returned a {type(result).__name__}; (train_rows, test_rows) is expected.")
    try:
        parts = list(result)
    except Exception:
        raise Wrong(f"The function returned a {type(result).__name__}; (train_rows, test_rows) is expected.") from None
    expect(len(parts) == 2, f"The function returned {len(parts)} things; (train_rows, test_rows) is expected.")
    rows = []
    for part, name in zip(parts, ("train_rows", "test_rows"), strict=True):
        try:
            rows.append([operator.index(i) for i in part])
        except Exception:
            raise Wrong(f"{name} is not a list of row indices (whole numbers).") from None
    train, test = rows
    expect(all(0 <= i < n for i in train + test), f"A row index is outside 0..{n - 1}.")
    expect(sorted(train + test) == list(range(n)), "Every row must be in exactly one of the two parts.")
    return train, test


@exercise(
    "14.1",
    hint="Round every class's share n_test·n_c/n down, give the rows still missing to the classes with the "
    "largest remainders, then draw that many rows of each class at random with the seeded generator.",
    wrong=[
        lambda labels, n_test, seed: (list(range(n_test, len(labels))), list(range(n_test))),
        lambda labels, n_test, seed: tuple(
            np.split(np.random.default_rng(seed).permutation(len(labels)), [len(labels) - n_test])
        ),
        lambda labels, n_test, seed: _first_rows_of_each_class(labels, n_test),
        lambda labels, n_test, seed: _rounded_shares(labels, n_test, seed),
    ],
)
def _(answer):
    rng = fresh_random()
    for labels, n_test in _label_lists(rng):
        seed = rng.randrange(2**31)
        train, test = _rows(call(answer, list(labels), n_test, seed), len(labels))
        expect(len(test) == n_test, f"test_rows has {len(test)} rows where n_test = {n_test}.")
        counts, totals = Counter(labels[i] for i in test), Counter(labels)
        for label, total in totals.items():
            share = n_test * total / len(labels)
            expect(
                abs(counts[label] - share) < 1,
                f"With {len(labels)} labels and n_test = {n_test}, class {label!r} ({total} rows) gets "
                f"{counts[label]} test rows, not within 1 of its share.",
            )
        again = _rows(call(answer, list(labels), n_test, seed), len(labels))[1]
        expect(sorted(again) == sorted(test), "The same seed must give the same split.")
    labels, n_test = _label_lists(rng)[-1]
    seeds = rng.sample(range(2**31), 2)
    first, second = (sorted(_rows(call(answer, list(labels), n_test, s), len(labels))[1]) for s in seeds)
    return expect(first != second, "Two different seeds gave the same test rows: choose them at random.")


def _first_rows_of_each_class(labels: list, n_test: int) -> tuple[list[int], list[int]]:
    """Wrong: the right counts, but always the first rows of each class (the seed is ignored)."""
    totals = Counter(labels)
    quota = {k: n_test * c // len(labels) for k, c in totals.items()}
    by_remainder = sorted(totals, key=lambda k: n_test * totals[k] % len(labels), reverse=True)
    for k in by_remainder[: n_test - sum(quota.values())]:
        quota[k] += 1
    test = []
    for row, label in enumerate(labels):
        if quota[label] > 0:
            quota[label] -= 1
            test.append(row)
    return [r for r in range(len(labels)) if r not in set(test)], test


def _rounded_shares(labels: list, n_test: int, seed: int) -> tuple[list[int], list[int]]:
    """Wrong: each class's share rounded on its own, so the total can miss ``n_test``."""
    rng = np.random.default_rng(seed)
    test = []
    for label, total in Counter(labels).items():
        rows = [r for r, k in enumerate(labels) if k == label]
        test += rng.choice(rows, size=round(n_test * total / len(labels)), replace=False).tolist()
    return [r for r in range(len(labels)) if r not in set(test)], test


# ---------------------------------------------------------------- 14.2 the batch's cross-entropy gradient


def _softmax(Z: np.ndarray) -> np.ndarray:
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _one_hot(t: np.ndarray, K: int) -> np.ndarray:
    return np.eye(K)[t]


def _logit_batches(rng) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random logits ``Z`` (B×K) and targets ``t``: several sizes, one batch of logits in the hundreds."""
    generator = np.random.default_rng(rng.getrandbits(64))
    batches = []
    for B, K, offset in ((1, 3, 0.0), (rng.randint(2, 9), rng.randint(2, 7), 0.0), (5, 4, 0.0), (6, 10, 1000.0)):
        Z = generator.normal(0.0, 3.0, size=(B, K)) + offset
        t = generator.integers(0, K, size=B)
        batches.append((Z, t))
    batches[2][0][:, 0] = -800.0  # one class the network rules out completely
    return batches


@exercise(
    "14.2",
    hint="Lesson 9 gives one sample's gradient; the loss here is the MEAN over the B samples. Subtract each row's "
    "largest logit before exp (lesson 9's shift), and work on whole arrays (axis=1, keepdims=True).",
    wrong=[
        lambda Z, t: _softmax(Z) - _one_hot(t, Z.shape[1]),  # the sum, not the mean
        lambda Z, t: (np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True) - _one_hot(t, Z.shape[1])) / len(t),
        lambda Z, t: (_softmax(Z) - _one_hot(t, Z.shape[1])) / Z.size,
        lambda Z, t: np.array([(_softmax(z[None]) - _one_hot(k[None], Z.shape[1]))[0] for z, k in zip(Z, t)]) / len(t),
        lambda Z, t: _softmax(Z) / len(t),
    ],
)
def _(answer):
    rng = fresh_random()
    for Z, t in _logit_batches(rng):
        expected = _engine_ce_grad(Z, t)
        with np.errstate(all="ignore"):
            result = call(answer, Z.copy(), t.copy())
        ours = _array(result, Z.shape, f"ce_grad(Z, t) for a batch of shape {Z.shape}")
        _expect_array_close(ours, expected, f"ce_grad(Z, t) for a batch of shape {Z.shape}")
    Z, t = _logit_batches(rng)[1]
    copies = LARGE_BATCH // len(t)
    Z_big, t_big = _repeat(copies, Z, t)
    small = _engine_ce_grad(Z, t) / copies  # each sample weighs 1/B in the mean: B is `copies` times larger
    with np.errstate(all="ignore"):
        result = _call_on_large_batch(answer, Z_big, t_big)
    ours = _array(result, Z_big.shape, f"ce_grad(Z, t) for a batch of {len(t_big):,} samples")
    return _expect_array_close(ours, np.tile(small, (copies, 1)), "ce_grad on a large batch")


# ---------------------------------------------------------------- 14.3 the network's backward pass


def _network(rng, n: int, h: int, K: int, B: int) -> tuple[np.ndarray, ...]:
    g = np.random.default_rng(rng.getrandbits(64))
    X = g.normal(size=(B, n))
    t = g.integers(0, K, size=B)
    return X, t, g.normal(size=(n, h)), g.normal(size=h), g.normal(size=(h, K)), g.normal(size=K)


def _mlp_backward_without_relu_slope(X, t, W1, b1, W2, b2):
    """Wrong: the ReLU's slope (0 where the pre-activation is negative) is forgotten."""
    H = np.maximum(X @ W1 + b1, 0)
    dZ = (_softmax(H @ W2 + b2) - _one_hot(t, W2.shape[1])) / len(t)
    dH = dZ @ W2.T
    return X.T @ dH, dH.sum(axis=0), H.T @ dZ, dZ.sum(axis=0)


def _mlp_backward_mean_biases(X, t, W1, b1, W2, b2):
    """Wrong: the biases' gradients averaged over the batch, which divides by B a second time."""
    A = X @ W1 + b1
    H = np.maximum(A, 0)
    dZ = (_softmax(H @ W2 + b2) - _one_hot(t, W2.shape[1])) / len(t)
    dA = (dZ @ W2.T) * (A > 0)
    return X.T @ dA, dA.mean(axis=0), H.T @ dZ, dZ.mean(axis=0)


def _mlp_backward_transposed(X, t, W1, b1, W2, b2):
    """Wrong: the weight gradients of the transposed layout (h×n and K×h)."""
    A = X @ W1 + b1
    H = np.maximum(A, 0)
    dZ = (_softmax(H @ W2 + b2) - _one_hot(t, W2.shape[1])) / len(t)
    dA = (dZ @ W2.T) * (A > 0)
    return dA.T @ X, dA.sum(axis=0), dZ.T @ H, dZ.sum(axis=0)


@exercise(
    "14.3",
    hint="Go backwards one layer at a time, as in lesson 6: from dZ (exercise 2) to the output layer's gradients "
    "and dH, through the ReLU's slope, then the hidden layer's. Let the shapes guide the products; a bias "
    "gradient sums over the samples.",
    wrong=[
        _mlp_backward_without_relu_slope,
        _mlp_backward_mean_biases,
        _mlp_backward_transposed,
        lambda X, t, W1, b1, W2, b2: (np.zeros_like(W1), np.zeros_like(b1), np.zeros_like(W2), np.zeros_like(b2)),
    ],
)
def _(answer):
    rng = fresh_random()
    sizes = [(3, 5, 4, 6), (rng.randint(2, 7), rng.randint(2, 7), rng.randint(2, 5), rng.randint(1, 9)), (4, 3, 2, 1)]
    names = ("dW1", "db1", "dW2", "db2")
    for n, h, K, B in sizes:
        X, t, *params = _network(rng, n, h, K, B)
        expected = _engine_mlp_grads(X, t, *params)
        result = call(answer, X.copy(), t.copy(), *(p.copy() for p in params))
        grads = _gradients(result, params, f"a batch of {B}, {n} inputs, {h} hidden, {K} classes")
        for name, ours, right in zip(names, grads, expected, strict=True):
            _expect_array_close(ours, right, f"{name} (batch of {B}, {n} inputs, {h} hidden, {K} classes)")
    X, t, *params = _network(rng, 6, 5, 4, 8)
    expected = _engine_mlp_grads(X, t, *params)  # the mean over 8 samples = the mean over 25,000 copies of them
    X_big, t_big = _repeat(LARGE_BATCH // 8, X, t)
    result = _call_on_large_batch(answer, X_big, t_big, *params)
    grads = _gradients(result, params, f"a batch of {len(t_big):,} samples")
    for name, ours, right in zip(names, grads, expected, strict=True):
        _expect_array_close(ours, right, f"{name} on a batch of {len(t_big):,} samples")
    return True


def _gradients(result: Any, params: list[np.ndarray], what: str) -> list[np.ndarray]:
    """``(dW1, db1, dW2, db2)`` as arrays of the parameters' shapes, or :class:`Wrong`."""
    if result is None or isinstance(result, (str, bytes, dict, set)) or callable(result) or isinstance(result, np.ndarray):
        raise Wrong(f"For {what} the function returned a {type(result).__name__}; (dW1, db1, dW2, db2) is expected.")
    try:
        parts = list(result)
    except Exception:
        raise Wrong(f"For {what} the function returned a {type(result).__name__}; (dW1, db1, dW2, db2) is expected.") from None
    expect(len(parts) == 4, f"For {what} the function returned {len(parts)} things; (dW1, db1, dW2, db2) is expected.")
    return [
        _array(part, p.shape, f"{name} for {what}")
        for part, p, name in zip(parts, params, ("dW1", "db1", "dW2", "db2"), strict=True)
    ]
