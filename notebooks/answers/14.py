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
def softmax_backward(P, G):
    # dL/dz_j = sum_i G_i p_i ([i = j] - p_j) = p_j (G_j - sum_i G_i p_i): the sum is one number per row
    return P * (G - (G * P).sum(axis=1, keepdims=True))


answer_2 = softmax_backward

# %% 14.3
def input_gradient(X, t, W1, b1, W2, b2):
    A = X @ W1 + b1                            # B×h pre-activations
    Z = np.maximum(A, 0) @ W2 + b2             # B×K logits
    dZ = np.exp(Z - Z.max(axis=1, keepdims=True))
    dZ /= dZ.sum(axis=1, keepdims=True)        # softmax, row by row
    dZ[np.arange(len(t)), t] -= 1              # P - one-hot: each sample's own loss (their sum, no 1/B)
    dA = (dZ @ W2.T) * (A > 0)                 # back through W2, then the ReLU's slope (1 or 0)
    return dA @ W1.T                           # back through W1: the affine layer's dX = δ·W1ᵀ


answer_3 = input_gradient
