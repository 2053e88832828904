"""Lesson 01's solutions: each exercise's answer cell, after its marker (see build_solutions.py)."""

# %% 01.1
def predicted_error(x, h):
    # f''(x) = 3x, and the forward difference is off by about ½·f''(x)·h
    return 0.5 * (3 * x) * h


answer_1 = predicted_error

# %% 01.2
def partials(a, b):
    return 2 * a + b, a  # a reaches M through (a + b) and as the factor: (a + b)·1 + a


answer_2 = partials

# %% 01.3
# for a > 0: a/(1 + a) has slope 1/(1 + a)²; for a < 0: a/(1 − a) has slope 1/(1 − a)²: both 1/(1 + |a|)²
softsign = Operation("softsign", "a / (1 + abs(a))", {"a": "1 / (1 + abs(a)) ** 2"})
answer_3 = softsign
