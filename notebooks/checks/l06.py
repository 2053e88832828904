"""Checkers of lesson 06's exercises (see ``course.py`` for what a checker promises).

Each exercise is a NumPy function on a batch; the right gradients come from PyTorch (float64) on
fresh random shapes and numbers.
"""

from __future__ import annotations

import numpy as np
import torch
from course import array, call, exercise, expect_arrays_close, fresh_random, items


def _rng() -> np.random.Generator:
    return np.random.default_rng(fresh_random().getrandbits(64))


def _compare(result, reference: list, names: tuple[str, ...], where: str) -> bool:
    """Each returned array has the reference's shape and numbers."""
    found = items(result, len(names), f"Your ({', '.join(names)})")
    for got, right, name in zip(found, reference, names, strict=True):
        expect_arrays_close(array(got, right.shape, f"Your {name} {where}"), right, f"Your {name} {where}")
    return True


def _leaves(*arrays_: np.ndarray) -> list[torch.Tensor]:
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays_]


# ---------------------------------------------------------------- 06.1 · the affine layer's backward, PyTorch's layout


@exercise(
    "06.1",
    hint="Y = X·Wᵀ + b, with W of shape (n_out, n_in) as in torch.nn.Linear. Write the shapes: X is (N, n_in), "
    "δ = ∂L/∂Y is (N, n_out). dW must be (n_out, n_in) and dX (N, n_in): find the one product of δ with X, and of "
    "δ with W, that has each shape. b was added to every row, so its gradient sums δ over the rows.",
    wrong=[
        lambda X, W, b, d: (d @ W.T, X.T @ d, d.sum(axis=0)),
        lambda X, W, b, d: (d @ W, X.T @ d, d.sum(axis=0)),
        lambda X, W, b, d: (d @ W, d.T @ X, d.mean(axis=0)),
        lambda X, W, b, d: (d @ W, d.T @ X, d.sum(axis=1)),
    ],
)
def _(answer):
    rng = _rng()
    for _ in range(4):
        n, n_in, n_out = (int(k) for k in rng.integers(2, 7, size=3))
        X, W = rng.normal(size=(n, n_in)), rng.normal(size=(n_out, n_in))
        b, d = rng.normal(size=n_out), rng.normal(size=(n, n_out))
        tX, tW, tb = _leaves(X, W, b)
        (tX @ tW.T + tb).backward(torch.tensor(d))
        result = call(answer, X.copy(), W.copy(), b.copy(), d.copy())
        reference = [tX.grad.numpy(), tW.grad.numpy(), tb.grad.numpy()]
        _compare(result, reference, ("dX", "dW", "db"), f"(N={n}, {n_in}→{n_out})")
    return True


# ---------------------------------------------------------------- 06.2 · softmax–cross-entropy's backward


def _naive(Z, labels):
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    P[np.arange(len(Z)), labels] -= 1
    return P / len(Z)


def _not_averaged(Z, labels):
    return _naive(Z - Z.max(axis=1, keepdims=True), labels) * len(Z)


def _softmax_only(Z, labels):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True) / len(Z)


@exercise(
    "06.2",
    hint="For the mean over N rows of −log softmax(z)[label], ∂L/∂Z = (P − Y)/N, with P the softmax of each row "
    "and Y the one-hot labels. Subtract each row's maximum before exp: the logits can be in the hundreds.",
    wrong=[_naive, _not_averaged, _softmax_only],
)
def _(answer):
    rng = _rng()
    for trial in range(4):
        n, k = int(rng.integers(2, 8)), int(rng.integers(2, 6))
        Z = rng.normal(size=(n, k)) * 2.0 + (
            800.0 if trial == 3 else 0.0
        )  # one batch of logits in the hundreds
        labels = rng.integers(0, k, size=n)
        (tZ,) = _leaves(Z)
        torch.nn.functional.cross_entropy(tZ, torch.tensor(labels)).backward()
        result = call(answer, Z.copy(), labels.copy())
        expect_arrays_close(
            array(result, (n, k), f"Your dZ (N={n}, {k} classes)"),
            tZ.grad.numpy(),
            f"Your dZ (N={n}, {k} classes)",
        )
    return True


# ---------------------------------------------------------------- 06.3 · a whole MLP's backward, batched


def _mlp_reference(X, labels, W1, b1, W2, b2) -> list[np.ndarray]:
    ts = _leaves(W1, b1, W2, b2)
    logits = torch.tanh(torch.tensor(X) @ ts[0] + ts[1]) @ ts[2] + ts[3]
    torch.nn.functional.cross_entropy(logits, torch.tensor(labels)).backward()
    return [t.grad.numpy() for t in ts]


def _forgot_tanh_slope(X, labels, W1, b1, W2, b2):
    H = np.tanh(X @ W1 + b1)
    Z = H @ W2 + b2
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    P[np.arange(len(X)), labels] -= 1
    dZ = P / len(X)
    dH = dZ @ W2.T
    return X.T @ dH, dH.sum(axis=0), H.T @ dZ, dZ.sum(axis=0)


def _slope_of_preactivation(X, labels, W1, b1, W2, b2):
    A = X @ W1 + b1
    H = np.tanh(A)
    Z = H @ W2 + b2
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    P[np.arange(len(X)), labels] -= 1
    dZ = P / len(X)
    dA = dZ @ W2.T * (1 - A**2)
    return X.T @ dA, dA.sum(axis=0), H.T @ dZ, dZ.sum(axis=0)


@exercise(
    "06.3",
    hint="Backward in the reverse order of the forward: dZ = (P − Y)/N; the output layer is affine (exercise 1) with "
    "input H; dH = dZ·W2ᵀ, then through tanh: dA = dH ⊙ (1 − H²); the hidden layer is affine with input X.",
    wrong=[_forgot_tanh_slope, _slope_of_preactivation, lambda X, labels, W1, b1, W2, b2: (W1, b1, W2, b2)],
)
def _(answer):
    rng = _rng()
    for _ in range(4):
        n, n_in, hidden, k = (
            int(rng.integers(3, 9)),
            int(rng.integers(2, 4)),
            int(rng.integers(2, 6)),
            int(rng.integers(2, 4)),
        )
        X, labels = rng.normal(size=(n, n_in)), rng.integers(0, k, size=n)
        W1, b1 = rng.normal(size=(n_in, hidden)), rng.normal(size=hidden) * 0.5
        W2, b2 = rng.normal(size=(hidden, k)), rng.normal(size=k) * 0.5
        reference = _mlp_reference(X, labels, W1, b1, W2, b2)
        result = call(answer, X.copy(), labels.copy(), W1.copy(), b1.copy(), W2.copy(), b2.copy())
        _compare(result, reference, ("dW1", "db1", "dW2", "db2"), f"(N={n}, {n_in}→{hidden}→{k})")
    return True
