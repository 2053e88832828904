"""``python -m autograd``: a one-neuron forward and backward pass, printed."""

from __future__ import annotations

from . import Value


def main() -> None:
    # A neuron: o = tanh(x1*w1 + x2*w2 + b), the example in micrograd's lecture.
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    print("o = tanh(x1*w1 + x2*w2 + b) =", round(o.data, 6))
    print("do/dn = 1 - o**2 =", round(n.grad, 6))
    for v in (x1, w1, x2, w2, b):
        print(f"do/d{v.label:<2} = {v.grad: .6f}")


if __name__ == "__main__":
    main()
