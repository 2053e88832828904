"""Solutions of lesson 12's exercises (``build_solutions.py`` puts each into the solutions notebook)."""

# %% 12.1
def bptt_step(x, h_prev, W_ih, W_hh, b, dh):
    n_h = len(b)
    a = [sum(w * v for w, v in zip(W_ih[j], x)) + sum(w * v for w, v in zip(W_hh[j], h_prev)) + b[j]
         for j in range(n_h)]  # forward, again: the sum inside the tanh
    h = [math.tanh(aj) for aj in a]
    da = [dh[j] * (1 - h[j] ** 2) for j in range(n_h)]  # through the tanh
    dW_ih = [[da[j] * xk for xk in x] for j in range(n_h)]  # a_j = ... + W_ih[j][k] x[k]
    dW_hh = [[da[j] * hk for hk in h_prev] for j in range(n_h)]
    db = da
    dh_prev = [sum(W_hh[j][k] * da[j] for j in range(n_h)) for k in range(len(h_prev))]  # W_hh^T da
    return dh_prev, dW_ih, dW_hh, db


answer_1 = bptt_step

# %% 12.2
def dh3_du(u):
    return 2 * u + 1  # h_3 = u² + u + 1: one term per step


answer_2 = dh3_du

# %% 12.3
answer_3 = 0.5**10  # each step back multiplies by W_hh·(1 − h²) ≈ 0.5

# %% 12.4
answer_4 = [9, 10, 11, 12]  # only the last chunk: the detach stops the gradient at its start
