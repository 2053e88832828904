"""Lesson 04's solutions: each exercise's answer cell, after its marker (see build_solutions.py)."""

# %% 04.1
def hinge_and_slope(y, s):
    if 1 - y * s > 0:
        return 1 - y * s, -y
    return 0.0, 0.0  # beyond the margin: no loss, no slope


answer_1 = hinge_and_slope

# %% 04.2
def cosine_lr(t, T, lr_max, lr_min):
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * t / T))


answer_2 = cosine_lr

# %% 04.3
def loss_gradient(w, b, X, y, alpha):
    N = len(X)
    dw1, dw2, db = 2 * alpha * w[0], 2 * alpha * w[1], 2 * alpha * b  # the penalty's part
    for (x1, x2), t in zip(X, y):
        if 1 - t * (w[0] * x1 + w[1] * x2 + b) > 0:  # inside the margin: this point's loss is 1 - t·s
            dw1, dw2, db = dw1 - t * x1 / N, dw2 - t * x2 / N, db - t / N
    return [dw1, dw2, db]


answer_3 = loss_gradient
