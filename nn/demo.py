"""The main demo: micrograd's two-moons classifier, trained with this library.

``python -m nn.demo [--steps N] [--seed S] [--optimizer NAME] [--out DIR]``

An ``MLP(2, [16, 16, 1])`` (two hidden ReLU layers of 16, one linear output)
learns to separate two interleaving half-moons of 100 points. As in
micrograd's demo the loss is the max-margin ("hinge") loss plus a little L2
regularisation, ``mean(relu(1 - y·score)) + 1e-4·Σ w²``, with labels y = ±1,
and every step sees the whole data set. It writes to ``DIR`` (``out/``):

* ``moons.png`` — the data and the learned decision boundary;
* ``loss.png`` — the loss and accuracy per step;
* ``neuron.svg`` — the computation graph of one neuron of the trained network
  on one input, with the gradients of the last backward pass on it;
* ``backprop.html`` — the same neuron's forward and backward pass, step by
  step, as a page to open in a browser (``autograd.walkthrough``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from autograd import Value, save_graph, walkthrough

from . import MLP, data, losses, optim, plots
from .train import fit

# Each optimizer with a learning rate that trains this problem well in ~100 steps.
OPTIMIZERS = {
    "sgd": lambda params: optim.SGD(params, lr=1.0),
    "momentum": lambda params: optim.SGD(params, lr=0.1, momentum=0.9),
    "nesterov": lambda params: optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True),
    "adagrad": lambda params: optim.Adagrad(params, lr=0.1),
    "rmsprop": lambda params: optim.RMSprop(params, lr=0.01),
    "adam": lambda params: optim.Adam(params, lr=0.05),
    "adamw": lambda params: optim.AdamW(params, lr=0.05, weight_decay=1e-4),
    "rprop": lambda params: optim.Rprop(params, lr=0.01),
}
L2 = 1e-4


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m nn.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="training steps (full-batch epochs)")
    parser.add_argument("--seed", type=int, default=1337, help="seed for the data and the initial weights")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd")
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the pictures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--no-compile", action="store_true", help="rebuild the graph every step instead of replaying it"
    )
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    return args


def train_moons(steps: int, seed: int, optimizer: str, progress: bool = True, compile: bool = True):
    """Train the demo's model; return ``(model, X, y, history)``.

    Every step sees the same 100 points, so the graph has the same shape every
    time: by default it is recorded once and replayed (``compile=True``), which
    gives the same numbers as rebuilding it, several times faster.
    """
    X, y01 = data.make_moons(100, noise=0.1, seed=seed)
    y = data.to_pm1(y01)
    model = MLP(2, [16, 16, 1], seed=seed)
    params = model.parameters()

    def loss(scores: list[Value | list[Value]], targets: Sequence[int]) -> Value:
        # fit hands over each sample's model(x); with one output, each is a single Value
        return losses.hinge_loss(cast("list[Value]", scores), targets) + L2 * sum(p * p for p in params)

    opt = OPTIMIZERS[optimizer](params)
    # micrograd decays its learning rate from 1.0 to 0.1; a cosine schedule does the same job.
    scheduler = optim.CosineAnnealingLR(opt, T_max=steps, eta_min=opt.lr / 10)
    history = fit(
        model, X, y, loss, opt, epochs=steps, scheduler=scheduler, progress=progress, compile=compile
    )
    return model, X, y, history


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"Training MLP(2, [16, 16, 1]) on two moons: {args.steps} steps of {args.optimizer}, seed {args.seed}"
    )
    start = time.perf_counter()
    model, X, y, history = train_moons(
        args.steps, args.seed, args.optimizer, progress=not args.no_progress, compile=not args.no_compile
    )
    seconds = time.perf_counter() - start
    print(
        f"final loss {history['loss'][-1]:.4f}, training accuracy {history['accuracy'][-1]:.0%} "
        f"({seconds:.1f} s, {1000 * seconds / args.steps:.0f} ms per step)"
    )
    for path in write_pictures(model, X, y, history, args.out):
        print(f"wrote {path}")
    return 0


def write_pictures(model: MLP, X, y, history, out: Path) -> list[Path]:
    """The decision boundary, the learning curves and one neuron's graph, in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, figure in (
        ("moons.png", plots.plot_decision_boundary(model, X, y)),
        ("loss.png", plots.plot_history(history)),
    ):
        plots.save_figure(figure, out / name)
        written.append(out / name)
    written.append(save_neuron_graph(model, X[0], out / "neuron.svg"))
    neuron, output = neuron_on(model, X[0])
    written.append(walkthrough(output, model=neuron).save(out / "backprop.html"))
    return written


def neuron_on(model: MLP, x: Sequence[float]):
    """The first neuron of ``model``'s first layer that is active on input ``x``, and its output on ``x``.

    The neuron computes ``relu(w·x + b)``; backpropagating from its output
    puts d(output)/d(w_i) = x_i on each weight where the ReLU is active, so an
    active neuron is chosen (an inactive one would show only zero gradients).
    The output is labelled ``out``, the inputs ``x0``, ``x1``...
    """
    neurons = model.layers[0].neurons
    neuron = next((n for n in neurons if n(x).data > 0.0), neurons[0])
    out = neuron([Value(v, label=f"x{i}") for i, v in enumerate(x)])
    out.label = "out"
    return neuron, out


def save_neuron_graph(model: MLP, x: Sequence[float], path: Path) -> Path:
    """Draw a first-layer neuron of ``model`` working on input ``x`` (see :func:`neuron_on`).

    After a backward pass from its output; the weights' gradients from
    training are saved and restored around it.
    """
    neuron, out = neuron_on(model, x)
    saved = [p.grad for p in neuron.parameters()]
    try:
        neuron.zero_grad()
        out.backward()
        return save_graph(out, path, model=neuron)
    finally:
        for p, g in zip(neuron.parameters(), saved, strict=True):
            p.grad = g


if __name__ == "__main__":
    sys.exit(main())
