"""Lesson 03's solutions: each exercise's answer cell, after its marker (see build_solutions.py)."""

# %% 03.1
def sigmoid_neuron_grads(x, w, b):
    n = x[0] * w[0] + x[1] * w[1] + b
    o = 1 / (1 + math.exp(-n))
    slope = o * (1 - o)  # do/dn
    return slope * x[0], slope * x[1], slope  # dn/dwi = xi, dn/db = 1


answer_1 = sigmoid_neuron_grads

# %% 03.2
def parameter_count(n_in, sizes):
    total = 0
    for n_out in sizes:
        total += n_out * (n_in + 1)  # n_out neurons, each with n_in weights and a bias
        n_in = n_out
    return total


answer_2 = parameter_count

# %% 03.3
def count_and_last_name(n_in, n_out):
    return n_out * (n_in + 1), f"neurons.{n_out - 1}.b"  # the last neuron's bias comes last


answer_3 = count_and_last_name
