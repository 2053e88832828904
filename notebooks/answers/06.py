"""Lesson 06's solutions: each exercise's answer cell, after its marker (see build_solutions.py)."""

# %% 06.1
def affine_backward(X, W, b, dY):
    return dY @ W.T, X.T @ dY, dY.sum(axis=0)  # dX (N, n_in), dW (n_in, n_out), db (n_out,)


answer_1 = affine_backward

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
    dH, dW2, db2 = affine_backward(H, W2, b2, dZ)
    dA = dH * (1 - H**2)  # through tanh
    _, dW1, db1 = affine_backward(X, W1, b1, dA)
    return dW1, db1, dW2, db2


answer_3 = mlp_backward
