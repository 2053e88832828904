"""Lesson 00's solutions: each exercise's answer cell, after its marker (see build_solutions.py)."""

# %% 00.1
def buggy_grad(a):
    # In the buggy __mul__, self and other are both a: `other.grad = self.data * out.grad` runs last,
    # so a.grad = a · 1, whatever the first line wrote.
    return a


answer_1 = buggy_grad

# %% 00.2
def dL_db(a, b):
    u = a * b
    # three paths: through u directly (∂u/∂b = a), the factor b in front of tanh u, and through tanh u
    return a + math.tanh(u) + b * (1 - math.tanh(u) ** 2) * a


answer_2 = dL_db

# %% 00.3
class ValueWithExp(Value):
    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():  # d eᵃ/da = eᵃ, which is out.data
            self.grad += out.data * out.grad

        out._backward = _backward
        return out


answer_3 = ValueWithExp

# %% 00.4
def backward_iterative(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)  # after all of its parents
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            stack.extend((parent, False) for parent in node._prev)
    root.grad = 1.0
    for node in reversed(order):
        node._backward()


answer_4 = backward_iterative
