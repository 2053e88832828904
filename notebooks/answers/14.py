"""Lesson 14's solutions: each exercise's answer cell, after its marker line (see build_solutions.py)."""

# %% 14.1
def stratified_split(labels, n_test, seed):
    rng = np.random.default_rng(seed)
    rows_of = {}                                   # class -> its rows, in file order
    for row, label in enumerate(labels):
        rows_of.setdefault(label, []).append(row)
    n = len(labels)
    # Each class's share n_test·n_c/n, rounded down (exact integer arithmetic) ...
    counts = {label: n_test * len(rows) // n for label, rows in rows_of.items()}
    # ... and the rows still missing go to the largest remainders, one each.
    missing = n_test - sum(counts.values())
    by_remainder = sorted(rows_of, key=lambda label: n_test * len(rows_of[label]) % n, reverse=True)
    for label in by_remainder[:missing]:
        counts[label] += 1
    test_rows = []
    for label, rows in rows_of.items():            # at random within each class
        test_rows += rng.choice(rows, size=counts[label], replace=False).tolist()
    chosen = set(test_rows)
    return [row for row in range(n) if row not in chosen], sorted(test_rows)


answer_1 = stratified_split

# %% 14.2
def ce_grad(Z, t):
    Z = np.asarray(Z, dtype=float)
    B = len(t)
    P = np.exp(Z - Z.max(axis=1, keepdims=True))   # lesson 9's shift: no overflow, same softmax
    P /= P.sum(axis=1, keepdims=True)              # softmax, row by row
    P[np.arange(B), t] -= 1                        # p - one-hot(t)
    return P / B                                   # the MEAN over the batch: each sample weighs 1/B


answer_2 = ce_grad

# %% 14.3
def backward(X, t, W1, b1, W2, b2):
    A = X @ W1 + b1                    # B×h pre-activations
    H = np.maximum(A, 0)               # B×h hidden layer
    dZ = ce_grad(H @ W2 + b2, t)       # B×K, exercise 2
    dW2 = H.T @ dZ                     # h×K: every sample's contribution, summed by the product
    db2 = dZ.sum(axis=0)               # K
    dA = (dZ @ W2.T) * (A > 0)         # B×h: back through W2, then the ReLU's slope (1 or 0)
    return X.T @ dA, dA.sum(axis=0), dW2, db2


answer_3 = backward
