"""Solutions of lesson 10's exercises (``build_solutions.py`` puts each into the solutions notebook)."""

# %% 10.1
answer_1 = (1 - 0.1 * 0.01) * 2.0  # g = 0: only the decay acts, 2 -> 1.998

# %% 10.2
answer_2 = (0.8 / (1 - 0.2), 0.8)  # survivors are scaled by 1/(1 - p) = 1.25, so the mean is unchanged

# %% 10.3
def dropout_backward(upstream, kept, p):
    scale = 1 / (1 - p)  # out_i = x_i * m_i with m_i = scale (kept) or 0 (dropped): d out_i / d x_i = m_i
    return [u * (scale if k else 0.0) for u, k in zip(upstream, kept)]


answer_3 = dropout_backward

# %% 10.4
answer_4 = 0.5 * (1 - 0.02 * 1.0) - 0.02  # decay: 0.49, then the Adam step of length lr against the gradient: 0.47
