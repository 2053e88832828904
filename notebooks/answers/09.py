"""Solutions of lesson 09's exercises (``build_solutions.py`` puts each into the solutions notebook)."""

# %% 09.1
answer_1 = [0.25, 0.25, 0.5]  # e^0, e^0, e^log 2 = 1, 1, 2, divided by their sum 4

# %% 09.2
def cross_entropy_backward(logits, target):
    m = max(logits)  # shift: every exponent <= 0, nothing overflows
    exps = [math.exp(z - m) for z in logits]
    normaliser = sum(exps)
    return [e / normaliser - (1.0 if i == target else 0.0) for i, e in enumerate(exps)]  # p - one-hot


answer_2 = cross_entropy_backward

# %% 09.3
answer_3 = math.log(4)  # p_t = 1/4 for every point: -log(1/4) = log 4 ≈ 1.386
