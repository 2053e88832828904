"""Checkers of lesson 14's exercises (see ``course.py`` for what a checker promises).

14.1 a stratified split; 14.2 the backward pass of a softmax layer on its own (Keras's
``Dense(10, activation="softmax")``), for any upstream gradient, over a batch in NumPy; 14.3 the
gradient of each sample's loss with respect to its input pixels, through the ReLU network, over a
batch in NumPy. The gradients are compared with the engine's ``backward()`` (``nn.losses.softmax``,
an ``nn.MLP`` given the same weights) at random points. A large batch made of one small batch
repeated many times checks that the code works on whole arrays (a loop over 200,000 samples runs
past the time limit) without any reference formula: every row of these gradients depends on its
own sample only, so the engine's gradients of the small batch, repeated, are the answer.
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


def _engine_softmax_backward(Z: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P, ∂L/∂Z) by the engine for L = Σ G ⊙ softmax(Z) (row by row): ``G`` is then ∂L/∂P."""
    logits = [[Value(float(z)) for z in row] for row in Z]
    probabilities = [losses.softmax(row) for row in logits]
    terms = [float(g) * p for g_row, p_row in zip(G, probabilities, strict=True) for g, p in zip(g_row, p_row, strict=True)]
    sum(terms).backward()
    P = np.array([[p.data for p in row] for row in probabilities])
    return P, np.array([[z.grad for z in row] for row in logits])


def _engine_input_gradient(X, t, W1, b1, W2, b2) -> np.ndarray:
    """∂(Σ of the samples' cross-entropies)/∂X for ``MLP(n, [h, K])`` holding these weights."""
    n, h = W1.shape
    K = W2.shape[1]
    model = MLP(n, [h, K])
    hidden, output = model.layers
    for weights, biases, layer in ((W1, b1, hidden), (W2, b2, output)):
        for j, neuron in enumerate(layer.neurons):
            for i, w in enumerate(neuron.w):
                w.data = float(weights[i, j])
            neuron.b.data = float(biases[j])
    pixels = [[Value(float(x)) for x in row] for row in X]
    losses.cross_entropy(model.forward_batch(pixels), [int(k) for k in t], reduction="sum").backward()
    return np.array([[x.grad for x in row] for row in pixels])


def _repeat(copies: int, *arrays: np.ndarray) -> list[np.ndarray]:
    """Each array's rows, the whole block repeated ``copies`` times."""
    return [np.tile(a, (copies,) + (1,) * (a.ndim - 1)) for a in arrays]


#: The size of the batch that only whole-array code handles within the time limit.
LARGE_BATCH = 200_000


def _call_quietly(answer: Any, *args: Any, what: str = "Your function") -> Any:
    """``course.call`` with NumPy's floating-point warnings off (an overflow in the student's code is
    judged by its result, NaN or infinite, not printed as a warning)."""
    with np.errstate(all="ignore"):
        return call(answer, *args, what=what)


def _call_on_large_batch(answer: Any, *args: np.ndarray) -> Any:
    try:
        return _call_quietly(answer, *args, what=f"Your function, on a batch of {len(args[0]):,} samples,")
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


# ---------------------------------------------------------------- 14.2 a softmax layer's backward pass


def _softmax(Z: np.ndarray) -> np.ndarray:
    e = np.exp(Z - Z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_batches(rng) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random logits ``Z`` (B×K) and upstream gradients ``G``: several sizes, one row near one-hot."""
    generator = np.random.default_rng(rng.getrandbits(64))
    batches = []
    for B, K in ((1, 3), (rng.randint(2, 9), rng.randint(2, 7)), (5, 4), (6, 10)):
        batches.append((generator.normal(0.0, 2.0, size=(B, K)), generator.normal(0.0, 1.0, size=(B, K))))
    batches[2][0][0] = [30.0, 0.0, -1.0, 2.0]  # a confident row: probabilities near 1 and near 0
    return batches


def _softmax_backward_loop(P, G):
    """Right, one sample at a time through the K×K Jacobian: too slow for 200,000 samples."""
    return np.array([(np.diag(p) - np.outer(p, p)) @ g for p, g in zip(P, G, strict=True)])


@exercise(
    "14.2",
    hint="∂p_i/∂z_j = p_i·([i = j] − p_j), so ∂L/∂z_j = Σ_i G_i·p_i·([i = j] − p_j): one term from i = j, "
    "and one sum over i that is the same for every j of a row. Work on whole arrays (axis=1, keepdims=True).",
    wrong=[
        lambda P, G: P - G,  # the cross-entropy shortcut, where it does not apply
        lambda P, G: P * G,  # the diagonal of the Jacobian only, with the wrong slope
        lambda P, G: G * P * (1 - P),  # the diagonal of the Jacobian only
        lambda P, G: P * (G - G.sum(axis=1, keepdims=True)),  # the sum not weighted by P
        _softmax_backward_loop,
    ],
)
def _(answer):
    rng = fresh_random()
    for Z, G in _softmax_batches(rng):
        P, expected = _engine_softmax_backward(Z, G)
        result = _call_quietly(answer, P.copy(), G.copy())
        ours = _array(result, Z.shape, f"softmax_backward(P, G) for a batch of shape {Z.shape}")
        _expect_array_close(ours, expected, f"softmax_backward(P, G) for a batch of shape {Z.shape}")
    Z, G = _softmax_batches(rng)[1]
    P, expected = _engine_softmax_backward(Z, G)
    copies = LARGE_BATCH // len(Z)
    P_big, G_big = _repeat(copies, P, G)
    result = _call_on_large_batch(answer, P_big, G_big)
    ours = _array(result, P_big.shape, f"softmax_backward(P, G) for a batch of {len(P_big):,} samples")
    return _expect_array_close(ours, np.tile(expected, (copies, 1)), "softmax_backward on a large batch")


# ---------------------------------------------------------------- 14.3 the gradient with respect to the pixels


def _network(rng, n: int, h: int, K: int, B: int) -> tuple[np.ndarray, ...]:
    g = np.random.default_rng(rng.getrandbits(64))
    X = g.normal(size=(B, n))
    t = g.integers(0, K, size=B)
    return X, t, g.normal(size=(n, h)), g.normal(size=h), g.normal(size=(h, K)), g.normal(size=K)


def _input_gradient_parts(X, t, W1, b1, W2, b2):
    """(A, ∂L/∂Z) of the network, for the wrong answers below."""
    A = X @ W1 + b1
    Z = np.maximum(A, 0) @ W2 + b2
    return A, _softmax(Z) - np.eye(W2.shape[1])[t]


def _input_gradient_of_the_mean(X, t, W1, b1, W2, b2):
    """Wrong: the gradient of the mean loss, so every row is divided by B."""
    A, dZ = _input_gradient_parts(X, t, W1, b1, W2, b2)
    return ((dZ @ W2.T) * (A > 0)) @ W1.T / len(X)


def _input_gradient_without_relu_slope(X, t, W1, b1, W2, b2):
    """Wrong: the ReLU's slope (0 where its input is negative) is forgotten."""
    _, dZ = _input_gradient_parts(X, t, W1, b1, W2, b2)
    return dZ @ W2.T @ W1.T


def _input_gradient_stopped_at_the_hidden_layer(X, t, W1, b1, W2, b2):
    """Wrong: ∂L/∂A, the hidden layer's pre-activations, not the pixels."""
    A, dZ = _input_gradient_parts(X, t, W1, b1, W2, b2)
    return (dZ @ W2.T) * (A > 0)


@exercise(
    "14.3",
    hint="Backwards from the logits, as for the weights in lesson 6, but to the input: ∂L/∂Z for the SUM of the "
    "losses (no 1/B), back through W2 to H, through the ReLU's slope, and back through W1 to X (the affine "
    "layer's dX). The result has X's shape.",
    wrong=[
        _input_gradient_of_the_mean,
        _input_gradient_without_relu_slope,
        _input_gradient_stopped_at_the_hidden_layer,
        lambda X, t, W1, b1, W2, b2: np.zeros_like(X),
    ],
)
def _(answer):
    rng = fresh_random()
    sizes = [(3, 5, 4, 6), (rng.randint(2, 7), rng.randint(2, 7), rng.randint(2, 5), rng.randint(1, 9)), (4, 3, 2, 1)]
    for n, h, K, B in sizes:
        X, t, *params = _network(rng, n, h, K, B)
        expected = _engine_input_gradient(X, t, *params)
        what = f"a batch of {B}, {n} inputs, {h} hidden, {K} classes"
        result = _call_quietly(answer, X.copy(), t.copy(), *(p.copy() for p in params))
        _expect_array_close(_array(result, X.shape, f"The gradient for {what}"), expected, f"The gradient for {what}")
    X, t, *params = _network(rng, 6, 5, 4, 8)
    expected = _engine_input_gradient(X, t, *params)
    copies = LARGE_BATCH // len(X)
    X_big, t_big = _repeat(copies, X, t)
    result = _call_on_large_batch(answer, X_big, t_big, *params)
    what = f"The gradient for a batch of {len(X_big):,} samples"
    return _expect_array_close(_array(result, X_big.shape, what), np.tile(expected, (copies, 1)), what)
