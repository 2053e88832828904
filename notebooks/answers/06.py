"""Lesson 06's solutions: each exercise's answer cell, after its marker (see build_solutions.py)."""

# %% 06.1
def linear_backward(X, W, b, dY):
    # Y = X Wᵀ + b: dX (N, n_in) = δ W, dW (n_out, n_in) = δᵀ X, db (n_out,) = Σ over the rows of δ
    return dY @ W, dY.T @ X, dY.sum(axis=0)


answer_1 = linear_backward

# %% 06.2
def softmax_ce_backward(Z, labels):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))  # shifted: no overflow, the same softmax
    P = E / E.sum(axis=1, keepdims=True)
    P[np.arange(len(Z)), labels] -= 1  # P − Y
    return P / len(Z)


answer_2 = softmax_ce_backward

# %% 06.3
def mlp_backward(X, labels, W1, b1, W2, b2):
    H = np.tanh(X @ W1 + b1)
    Z = H @ W2 + b2
    dZ = softmax_ce_backward(Z, labels)
    dW2, db2 = H.T @ dZ, dZ.sum(axis=0)  # the output layer: affine, input H
    dA = (dZ @ W2.T) * (1 - H**2)  # back through W2, then through tanh
    dW1, db1 = X.T @ dA, dA.sum(axis=0)  # the hidden layer: affine, input X
    return dW1, db1, dW2, db2


answer_3 = mlp_backward
