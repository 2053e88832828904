"""The workloads written by hand with plain floats: the speed limit of pure Python.

No graph, no objects per operation: the forward pass keeps the numbers the
backward pass needs in lists, and the backward pass is the chain rule
written out for this one computation. The runner first checks that these
gradients equal the engines' (to 1e-9), then times them next to the engines.
"""

from __future__ import annotations

from collections.abc import Sequence

Matrix = list[list[float]]


def split_mlp(flat: Sequence[float], sizes: Sequence[int]) -> list[tuple[Matrix, list[float]]]:
    """Flat parameters in micrograd's order (per layer, per neuron: weights, bias) → (W, b) per layer."""
    pairs = list(zip(sizes, sizes[1:], strict=False))
    expected = sum((nin + 1) * nout for nin, nout in pairs)
    if len(flat) != expected:
        raise ValueError(f"{len(flat)} parameters do not fit an MLP of sizes {list(sizes)} ({expected})")
    layers = []
    k = 0
    for nin, nout in pairs:
        weights, biases = [], []
        for _ in range(nout):
            weights.append([float(w) for w in flat[k : k + nin]])
            biases.append(float(flat[k + nin]))
            k += nin + 1
        layers.append((weights, biases))
    return layers


def flatten_mlp(layers: Sequence[tuple[Matrix, list[float]]]) -> list[float]:
    """The inverse of ``split_mlp``: one list in micrograd's parameter order."""
    return [
        x for weights, biases in layers for row, b in zip(weights, biases, strict=True) for x in (*row, b)
    ]


def moons_gradients(
    layers: list[tuple[Matrix, list[float]]],
    X: Sequence[Sequence[float]],
    y: Sequence[float],
    alpha: float = 1e-4,
) -> tuple[float, list[tuple[Matrix, list[float]]]]:
    """Loss and gradients of micrograd's moons objective for an MLP with ReLU hidden layers.

    loss = (1/n) Σᵢ relu(1 - yᵢ·scoreᵢ) + α Σ p²; the last layer is linear.
    """
    n = len(X)
    grads = [([[0.0] * len(row) for row in weights], [0.0] * len(biases)) for weights, biases in layers]
    last = len(layers) - 1
    data_loss = 0.0
    for xi, yi in zip(X, y, strict=True):
        # forward: keep every layer's input and pre-activation
        inputs, pre = [], []
        h = [float(v) for v in xi]
        for li, (weights, biases) in enumerate(layers):
            inputs.append(h)
            z = []
            for row, b in zip(weights, biases, strict=True):
                s = b
                for w, v in zip(row, h, strict=True):
                    s += w * v
                z.append(s)
            pre.append(z)
            h = z if li == last else [v if v > 0.0 else 0.0 for v in z]
        margin = 1.0 - yi * h[0]
        if margin <= 0.0:
            continue  # relu(margin) = 0: no loss, no gradient
        data_loss += margin
        # backward: d loss / d score = -y / n, then layer by layer
        dz = [-yi / n]
        for li in range(last, -1, -1):
            weights, _ = layers[li]
            gw, gb = grads[li]
            h = inputs[li]
            dh = [0.0] * len(h)
            for j, (row, d) in enumerate(zip(weights, dz, strict=True)):
                if d == 0.0:
                    continue
                gb[j] += d
                grow = gw[j]
                for k, (w, v) in enumerate(zip(row, h, strict=True)):
                    grow[k] += d * v
                    dh[k] += d * w
            if li:
                dz = [d if z > 0.0 else 0.0 for d, z in zip(dh, pre[li - 1], strict=True)]
    reg = 0.0
    for (weights, biases), (gw, gb) in zip(layers, grads, strict=True):
        for row, grow in zip(weights, gw, strict=True):
            for k, w in enumerate(row):
                reg += w * w
                grow[k] += 2.0 * alpha * w
        for j, b in enumerate(biases):
            reg += b * b
            gb[j] += 2.0 * alpha * b
    return data_loss / n + alpha * reg, grads


def moons_step(layers: list[tuple[Matrix, list[float]]], X: Sequence, y: Sequence, lr: float) -> float:
    """One training step: loss and gradients, then SGD ``p -= lr * grad`` in place."""
    loss, grads = moons_gradients(layers, X, y)
    for (weights, biases), (gw, gb) in zip(layers, grads, strict=True):
        for row, grow in zip(weights, gw, strict=True):
            for k, g in enumerate(grow):
                row[k] -= lr * g
        for j, g in enumerate(gb):
            biases[j] -= lr * g
    return loss


def chain(y0: float, a: float, b: float, c: float, groups: int) -> tuple[float, list[float]]:
    """The chain workload: ``groups`` times ``y = relu(y·a + b)·0.5 + 0.5) / c`` (6 operations).

    Returns the output and its gradient with respect to (y0, a, b, c).
    """
    tape = []  # (y, y·a + b) of each group: what the backward pass needs
    y = y0
    for _ in range(groups):
        u = y * a + b
        tape.append((y, u))
        r = u if u > 0.0 else 0.0
        y = (r * 0.5 + 0.5) / c
    out = y
    gy, ga, gb, gc = 1.0, 0.0, 0.0, 0.0
    for y_in, u in reversed(tape):
        r = u if u > 0.0 else 0.0
        gc -= gy * ((r * 0.5 + 0.5) / c) / c
        gr = gy / c * 0.5
        gu = gr if u > 0.0 else 0.0
        gb += gu
        ga += gu * y_in
        gy = gu * a
    return out, [gy, ga, gb, gc]


def wide(
    xs: Sequence[float], ws: Sequence[float], pairwise: bool = False
) -> tuple[float, list[float], list[float]]:
    """The wide workload: ``s = Σ xᵢ·wᵢ`` (left to right, or as a balanced tree); ds/dxᵢ = wᵢ, ds/dwᵢ = xᵢ.

    Every product reaches the sum through additions only, so the gradients
    are the same for both shapes: a seed of 1.0 passed down unchanged.
    """
    if pairwise:
        products = [x * w for x, w in zip(xs, ws, strict=True)]
        while len(products) > 1:
            paired = [a + b for a, b in zip(products[::2], products[1::2], strict=False)]
            if len(products) % 2:
                paired.append(products[-1])
            products = paired
        s = products[0]
    else:
        s = 0.0
        for x, w in zip(xs, ws, strict=True):
            s += x * w
    gs = 1.0
    return s, [gs * w for w in ws], [gs * x for x in xs]
