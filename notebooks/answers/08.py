"""Solutions of lesson 08's exercises (``build_solutions.py`` puts each into the solutions notebook)."""

# %% 08.1
def chain_gradient(x, weights):
    hs = [x]  # forward: keep every h_l
    for w in weights:
        hs.append(1 / (1 + math.exp(-w * hs[-1])))
    grad = 1.0  # dh_L/dh_L
    for w, h in zip(reversed(weights), reversed(hs[1:])):
        grad *= h * (1 - h) * w  # dh_l/dh_(l-1) = sigma'(z_l) w_l, with sigma' = h (1 - h)
    return grad


answer_1 = chain_gradient

# %% 08.2
answer_2 = 0.03 * 1.0  # clipping rescales the gradient to norm 1, the step is lr times that

# %% 08.3
answer_3 = math.sqrt(2 / 16)  # 0.354: then 16 · (2/16) · 1/2 = 1
