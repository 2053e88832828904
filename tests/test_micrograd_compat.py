"""Code written for micrograd runs on this library with only the import changed."""

from __future__ import annotations

import pytest

from autograd import Value
from nn import MLP, data


@pytest.mark.slow
def test_micrograd_demo_training_loop_reaches_full_accuracy():
    """micrograd's demo.ipynb loop, verbatim but for the imports: SVM loss, L2, manual SGD."""
    X, y = data.make_moons(100, noise=0.1, seed=1337, labels="pm1")  # micrograd: np.random.seed(1337)
    model = MLP(2, [16, 16, 1], seed=1337)  # random.seed(1337)

    def loss():
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores, strict=True)]
        return data_loss + reg_loss, sum(accuracy) / len(accuracy)

    for k in range(100):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
    total_loss, acc = loss()
    assert acc == 1.0, (total_loss.data, acc)
