"""``fit(compile=True)`` trains the same model as ``fit(compile=False)``, for every loss and optimizer.

A compiled replay re-evaluates every branch inside an operation (relu's kink,
the clamp of binary cross-entropy, the sign test of its logits form, the max
shift of log-sum-exp), so a run whose numbers cross a branch mid-training
still follows the interpreter step for step.

(With mini-batches, ``compile=True`` draws the batches once and replays them
every epoch, where ``compile=False`` draws new ones: the two then see different
batches by design, so these runs are full-batch.)
"""

from __future__ import annotations

import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nn import Layer, Sequential, data, losses, optim
from nn.train import fit

OPTIMIZERS = {
    "SGD": lambda p, lr: optim.SGD(p, lr=lr),
    "SGD momentum nesterov": lambda p, lr: optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
    "Adagrad": lambda p, lr: optim.Adagrad(p, lr=lr),
    "RMSprop": lambda p, lr: optim.RMSprop(p, lr=lr),
    "Adam": lambda p, lr: optim.Adam(p, lr=lr),
    "AdamW": lambda p, lr: optim.AdamW(p, lr=lr),
    "Rprop": lambda p, lr: optim.Rprop(p, lr=lr),
}

# loss name: (loss function, output activation, labels, number of outputs)
LOSSES = {
    "mse": (losses.mse_loss, "linear", "01", 1),
    "hinge": (losses.hinge_loss, "linear", "pm1", 1),
    "bce": (losses.binary_cross_entropy, "sigmoid", "01", 1),
    "bce_with_logits": (losses.binary_cross_entropy_with_logits, "linear", "01", 1),
    "cross_entropy": (losses.cross_entropy, "linear", "01", 2),
}


def _run(loss_name: str, optimizer: str, lr: float, seed: int, compile: bool, batch_size: int | None):
    loss, activation, labels, outputs = LOSSES[loss_name]
    X, y = data.make_moons(12, noise=0.2, seed=seed, labels="pm1" if labels == "pm1" else "01")
    if loss_name == "cross_entropy":
        y = [int(t) for t in y]
    rng = random.Random(seed)
    model = Sequential(Layer(2, 4, "relu", rng=rng), Layer(4, outputs, activation, rng=rng))
    history = fit(
        model,
        X,
        y,
        loss,
        OPTIMIZERS[optimizer](model.parameters(), lr),
        epochs=6,
        batch_size=batch_size,
        progress=False,
        seed=seed,
        compile=compile,
        metrics=(),
    )
    return history["loss"], [p.data for p in model.parameters()]


def _same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(
        x == y or abs(x - y) <= 1e-12 * max(1.0, abs(y)) for x, y in zip(a, b, strict=True)
    )


@settings(max_examples=25, deadline=None)
@given(
    loss_name=st.sampled_from(sorted(LOSSES)),
    optimizer=st.sampled_from(sorted(OPTIMIZERS)),
    lr=st.sampled_from([1e-3, 0.1, 1.0, 5.0]),
    seed=st.integers(0, 50),
    batch_size=st.just(None),
)
# Adagrad divides each gradient by its own size: a parameter whose gradient is a near-cancelling sum
# over the samples moves by a full step either way, so the sum must be added in backward()'s order.
@example(loss_name="hinge", optimizer="Adagrad", lr=0.1, seed=1, batch_size=None)
def test_compiled_training_follows_the_interpreter(loss_name, optimizer, lr, seed, batch_size):
    try:
        interpreted = _run(loss_name, optimizer, lr, seed, False, batch_size)
    except FloatingPointError:  # diverged: the compiled run must diverge too
        with pytest.raises(FloatingPointError):
            _run(loss_name, optimizer, lr, seed, True, batch_size)
        return
    compiled = _run(loss_name, optimizer, lr, seed, True, batch_size)
    assert _same(compiled[0], interpreted[0]), (compiled[0], interpreted[0])
    assert _same(compiled[1], interpreted[1])
