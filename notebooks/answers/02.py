"""Lesson 02's solutions: each exercise's answer cell, after its marker (see build_solutions.py)."""

# %% 02.1
def error_signals(x, y, w):
    h1, h2 = sigmoid(x * w["w11"]), sigmoid(x * w["w12"])
    o = sigmoid(h1 * w["w21"] + h2 * w["w22"])
    delta_o = (o - y) * o * (1 - o)
    return delta_o, delta_o * w["w21"] * h1 * (1 - h1), delta_o * w["w22"] * h2 * (1 - h2)


answer_1 = error_signals

# %% 02.2
def dE_dw21(x1, y, h1, h2, o1, w21, w22):
    return (o1 - y) * h1  # dE/do1 = (o1 - y)/(o1(1 - o1)): the sigmoid's slope cancels


answer_2 = dE_dw21

# %% 02.3
answer_3 = {"w11", "w12"}  # they multiply x = 0; w21 and w22 multiply h = σ(0) = 1/2
