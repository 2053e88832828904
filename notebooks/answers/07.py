"""Solutions of lesson 07's exercises (``build_solutions.py`` puts each into the solutions notebook)."""

# %% 07.1
answer_1 = 2 / 20  # |1 - 20 lr| < 1  <=>  0 < lr < 0.1; at exactly 0.1, y flips between +1 and -1 for ever

# %% 07.2
answer_2 = 0.01 / math.sqrt(1 - 0.9)  # v1 = 0.1 g², so the step is lr·|g|/(√0.1·|g|) = lr/√0.1 ≈ 0.0316

# %% 07.3
def adam_step(theta, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g  # smoothed gradient
    v = beta2 * v + (1 - beta2) * g * g  # smoothed squared gradient
    m_hat = m / (1 - beta1**t)  # undo the pull towards the zero start
    v_hat = v / (1 - beta2**t)
    return theta - lr * m_hat / (math.sqrt(v_hat) + eps), m, v


answer_3 = adam_step
