"""``python -m autograd``: a one-neuron forward and backward pass, printed."""

from __future__ import annotations

from . import Value, topological_order


def neuron_example() -> Value:
    """``o = tanh(x1*w1 + x2*w2 + b)``, the neuron of micrograd's lecture, after ``backward()``.

    The bias is chosen so that ``n = 0.8813...`` and ``o = tanh(n) = 1/√2``:
    then do/dn = 1 - o² = 0.5 (up to rounding).
    """
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def main() -> None:
    o = neuron_example()
    nodes = {v.label: v for v in topological_order(o) if v.label}
    print("o = tanh(x1*w1 + x2*w2 + b) =", round(o.data, 6))
    print("do/dn = 1 - o**2 =", round(nodes["n"].grad, 6))
    for name in ("x1", "w1", "x2", "w2", "b"):
        print(f"do/d{name:<2} = {nodes[name].grad: .6f}")


if __name__ == "__main__":
    main()
