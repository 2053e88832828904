"""Layers: ``Neuron``, ``Layer``, ``MLP``, ``Sequential`` and ``Dropout``.

The first three are micrograd's, with PyTorch's names for what they share with
``torch.nn``. A ``Neuron`` with weights ``w₀ … wₙ₋₁`` and bias ``b`` computes::

    act(b + w₀·x₀ + w₁·x₁ + … + wₙ₋₁·xₙ₋₁)

a ``Layer`` is ``nout`` neurons reading the same inputs (what
``torch.nn.Linear`` followed by an activation computes, one row of the weight
matrix per neuron), and an ``MLP`` is a stack of layers whose last one is
linear (no activation), so that it can output any real number: a score for
the hinge loss, a logit for cross-entropy, a regression target.

Inputs and outputs
------------------
A module takes a list (or tuple) of numbers or ``Value``\\ s, or a single
``Value``/number for one input, and returns one ``Value`` when it has one
output, a list of ``Value``\\ s otherwise (micrograd's convention). Plain
numbers in the input are constants: ``w * 2.0`` is a single graph node, and
no gradient is computed for the input.

Parameter names (see ``nn.module``)
-----------------------------------
``Neuron``: ``w.0``, ``w.1``, …, ``b`` (weights first, bias last, like
micrograd's ``w + [b]``). ``Layer``: ``neurons.{j}.w.{k}``, ``neurons.{j}.b``.
``MLP``: ``layers.{i}.neurons.{j}.w.{k}``, ``layers.{i}.neurons.{j}.b``.
``Sequential``: ``{i}.<name inside module i>``. Each parameter's ``label`` is
its full name in the outermost module built, so graph pictures are readable.
"""

from __future__ import annotations

import numbers
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Union

from autograd import Value

from .checks import int_at_least
from .init import check_scheme, initial_weights, make_rng
from .module import Module

__all__ = ["ACTIVATIONS", "MLP", "Dropout", "Layer", "Neuron", "Sequential"]

Input = Union[Value, float, Sequence[Union[Value, float]]]
Output = Union[Value, list[Value]]

#: The activations by name. ``leaky_relu`` uses PyTorch's default slope 0.01
#: (``a`` if ``a > 0`` else ``0.01·a``); ``linear`` applies nothing.
ACTIVATIONS: dict[str, Callable[[Value], Value] | None] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "leaky_relu": Value.leaky_relu,
    "linear": None,
}


def _activation(name: str) -> Callable[[Value], Value] | None:
    """The activation function called ``name``; ``ValueError`` listing the valid names otherwise."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}: choose one of {', '.join(map(repr, ACTIVATIONS))}")
    return ACTIVATIONS[name]


def _settings_repr(activation: str, init: str) -> str:
    text = f"activation={activation!r}"
    return text if init == "uniform" else f"{text}, init={init!r}"


class Neuron(Module):
    """One neuron: ``act(b + Σₖ wₖ·xₖ)``.

    Parameters
    ----------
    nin:
        The number of inputs (and of weights).
    activation:
        ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"leaky_relu"`` or ``"linear"``.
    init:
        How to draw the weights: ``"uniform"`` (micrograd's U(-1, 1)),
        ``"xavier"`` or ``"he"`` (see ``nn.init``). The bias starts at 0.0.
    seed, rng:
        A seed for a private generator, or a ``random.Random`` to draw from
        (at most one). The global ``random`` state is never used.
    fan_out:
        The width of the layer the neuron belongs to; only ``"xavier"`` uses
        it. ``Layer`` passes its ``nout``; a neuron alone has 1.
    """

    def __init__(
        self,
        nin: int,
        activation: str = "relu",
        init: str = "uniform",
        seed: int | None = None,
        rng: random.Random | None = None,
        fan_out: int = 1,
    ) -> None:
        self.nin = int_at_least(nin, "nin")
        int_at_least(fan_out, "fan_out")
        self._act = _activation(activation)
        self.activation = activation
        self.init = check_scheme(init)
        generator = make_rng(seed, rng)
        # Weights first, then the bias: the order of the parameters.
        self.w = [Value(x) for x in initial_weights(init, nin, fan_out, generator)]
        self.b = Value(0.0)
        self.label_parameters()

    def forward(self, x: Input) -> Value:
        """``act(b + w₀·x₀ + … )``, summed from the bias: 2·nin nodes, plus one for the activation."""
        try:
            given = len(x)
        except TypeError:  # a single Value or number
            x = (x,)
            given = 1
        if given != self.nin:
            raise ValueError(f"{self!r} expects {self.nin} input(s), got {given}")
        out = self.b
        for wi, xi in zip(self.w, x, strict=True):
            out = out + wi * xi
        act = self._act
        return out if act is None else act(out)

    def extra_repr(self) -> str:
        return f"{self.nin}, {_settings_repr(self.activation, self.init)}"


class Layer(Module):
    """``nout`` neurons, each reading all ``nin`` inputs (a fully connected layer).

    Returns one ``Value`` if ``nout == 1``, else a list of ``nout`` ``Value``\\ s.
    The other arguments are ``Neuron``'s; all neurons draw from one generator.
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "relu",
        init: str = "uniform",
        seed: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.nin = int_at_least(nin, "nin")
        self.nout = int_at_least(nout, "nout")
        _activation(activation)
        self.activation = activation
        self.init = check_scheme(init)
        generator = make_rng(seed, rng)
        self.neurons = [Neuron(nin, activation, init, rng=generator, fan_out=nout) for _ in range(nout)]
        self.label_parameters()

    def forward(self, x: Input) -> Output:
        # Each neuron checks the input length; calling ``forward`` directly
        # skips one function call per neuron (there are no hooks to run).
        out = [n.forward(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def extra_repr(self) -> str:
        return f"{self.nin}, {self.nout}, {_settings_repr(self.activation, self.init)}"


class MLP(Module):
    """A multi-layer perceptron: ``Layer(nin, nouts[0])``, ``Layer(nouts[0], nouts[1])``, ...

    ``activation`` applies to every layer but the last, which is linear (as in
    micrograd). ``MLP(2, [16, 16, 1])`` has two hidden ReLU layers of 16 and
    one linear output: 337 parameters. With ``seed=s`` (and the default
    ``init="uniform"``) its weights are exactly those of micrograd's
    ``MLP(2, [16, 16, 1])`` after ``random.seed(s)``.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str = "relu",
        init: str = "uniform",
        seed: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.nin = int_at_least(nin, "nin")
        if not isinstance(nouts, (list, tuple)) or not nouts:
            raise TypeError(f"nouts must be a non-empty list of layer sizes, not {nouts!r}")
        self.nouts = [int_at_least(n, f"nouts[{i}]") for i, n in enumerate(nouts)]
        _activation(activation)
        self.activation = activation
        self.init = check_scheme(init)
        generator = make_rng(seed, rng)
        sizes = [nin, *self.nouts]
        last = len(self.nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i != last else "linear", init, rng=generator)
            for i in range(len(self.nouts))
        ]
        self.label_parameters()

    def forward(self, x: Input) -> Output:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def extra_repr(self) -> str:
        return f"{self.nin}, {self.nouts}, {_settings_repr(self.activation, self.init)}"


class Sequential(Module):
    """Modules applied one after the other, each one's output the next one's input.

    For example ``Sequential(Layer(2, 8, "tanh"), Dropout(0.2), Layer(8, 1, "linear"))``.
    A single ``Value`` passed between modules is fine: every layer accepts one
    as a one-element input. The children are named
    ``0``, ``1``, ... as in ``torch.nn.Sequential``; ``len``, indexing
    (a slice gives a ``Sequential``) and iteration work as there.
    """

    def __init__(self, *modules: Module) -> None:
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                hint = " (pass the modules as separate arguments: Sequential(*modules))"
                raise TypeError(
                    f"Sequential argument {i} is a {type(module).__name__}, not a Module"
                    + (hint if isinstance(module, (list, tuple)) else "")
                )
        self._modules = list(modules)
        self.label_parameters()

    def named_members(self) -> Iterator[tuple[str, object]]:
        for i, module in enumerate(self._modules):
            yield str(i), module

    def forward(self, x: Input) -> Output:
        for module in self._modules:
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules)

    def __getitem__(self, index: int | slice) -> Module:
        if isinstance(index, slice):
            return Sequential(*self._modules[index])
        return self._modules[index]

    def __repr__(self) -> str:
        if not self._modules:
            return "Sequential()"
        # A nested module's repr may span lines: indent its continuation lines too.
        lines = "".join(f"  ({i}): {module!r}\n".replace("\n", "\n  ")[:-2] for i, module in enumerate(self))
        return f"Sequential(\n{lines})"


class Dropout(Module):
    """Randomly zero inputs while training (inverted dropout, as ``torch.nn.Dropout``).

    In training mode each input is, independently,

    * zeroed with probability ``p`` (output ``x · 0``: its gradient is 0), or
    * scaled by ``1 / (1 - p)`` otherwise,

    so the expected output equals the input: ``(1 - p) · x / (1 - p) = x``.
    Because of that scaling, evaluation mode (``model.eval()``) can simply be
    the identity: the same list comes back. Dropout stops neurons relying on
    particular other neurons, a form of regularisation.

    ``p`` must be in [0, 1). ``seed``/``rng`` make the masks reproducible
    without the global ``random`` state. No parameters.
    """

    def __init__(self, p: float = 0.5, seed: int | None = None, rng: random.Random | None = None) -> None:
        if isinstance(p, bool) or not isinstance(p, numbers.Real):
            raise TypeError(f"dropout probability p must be a number, not {type(p).__name__}")
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1), not {p!r}")
        self._rng = make_rng(seed, rng)
        self.p = float(p)
        self._scale = 1.0 / (1.0 - self.p)

    def forward(self, x: Input) -> Input:
        if not self.training or self.p == 0.0:
            return x
        single = not isinstance(x, (list, tuple))
        draw = self._rng.random
        p = self.p
        scale = self._scale
        out = [xi * 0.0 if draw() < p else xi * scale for xi in ((x,) if single else x)]
        return out[0] if single else out

    def extra_repr(self) -> str:
        return f"p={self.p}"
