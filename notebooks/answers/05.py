"""Lesson 05's solutions: each exercise's answer cell, after its marker (see build_solutions.py)."""

# %% 05.1
def backward_221(p, x, y):
    h = [math.tanh(p["b1"][j] + p["W1"][j][0] * x[0] + p["W1"][j][1] * x[1]) for j in range(2)]
    o = sigmoid(p["b2"] + p["W2"][0] * h[0] + p["W2"][1] * h[1])
    delta_o = o - y  # cross-entropy after a sigmoid: the sigmoid's slope cancels
    grads = []
    for j in range(2):
        delta_j = delta_o * p["W2"][j] * (1 - h[j] ** 2)  # tanh's slope, from its output
        grads += [delta_j * x[0], delta_j * x[1], delta_j]
    return grads + [delta_o * h[0], delta_o * h[1], delta_o]


answer_1 = backward_221

# %% 05.2
answer_2 = 2 * 0.5 / 4  # L = (2/N) S, so the same step needs lr_numpy = (2/N) lr = 0.25

# %% 05.3
def numpy_gradients(X, T, W1, b1, W2, b2):
    hidden = np_sigmoid(X.dot(W1) + b1)
    out = np_sigmoid(hidden.dot(W2) + b2)
    delta_out = (out - T) * out * (1 - out)  # ∂S/∂z_out: the tutorial's d with the sign flipped
    delta_hidden = delta_out.dot(W2.T) * hidden * (1 - hidden)
    return (X.T.dot(delta_hidden), delta_hidden.sum(axis=0, keepdims=True),
            hidden.T.dot(delta_out), delta_out.sum(axis=0, keepdims=True))


answer_3 = numpy_gradients
