"""Layers: ``Neuron``, ``Layer``, ``MLP``, ``Sequential``, ``Dropout``, ``BatchNorm1d`` and activations.

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
``Sequential``: ``{i}.<name inside module i>``. ``BatchNorm1d``: ``weight.{k}``,
``bias.{k}``, and the buffers ``running_mean.{k}``, ``running_var.{k}``. Each
parameter's ``label`` is its full name in the outermost module built, so graph
pictures are readable.

Activations as modules
----------------------
``ReLU()``, ``Tanh()``, ``Sigmoid()`` and ``LeakyReLU(negative_slope)`` apply
their function to each input, as ``torch.nn.ReLU`` and co. do. A ``Layer``
already ends in its own activation; the modules are for where an activation
stands alone, such as after a ``BatchNorm1d``:
``Sequential(Layer(2, 16, "linear"), BatchNorm1d(16), ReLU(), Layer(16, 1, "linear"))``.
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Union, cast

from autograd import Value

from .checks import int_at_least
from .init import check_scheme, initial_weights, make_rng
from .module import Module

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Activation",
    "BatchNorm1d",
    "Dropout",
    "Layer",
    "LeakyReLU",
    "Neuron",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
]

#: One input: a ``Value`` or a plain number (a constant).
Number = Union[Value, float]
#: What a layer takes: a list (or tuple, or any sequence) of inputs, or one input alone.
Input = Union[Number, Sequence[Number]]
#: What a ``Layer`` or ``MLP`` returns: one ``Value`` for one output, else a list of them.
#: The type cannot say which: narrow it (``assert isinstance(out, Value)``) before using it as one.
Output = Union[Value, list[Value]]
#: What ``Dropout`` and the activation modules take and give back: one input, or a list or tuple of them.
Features = Union[Number, list[Number], tuple[Number, ...]]

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


class Neuron(Module[Value]):
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
            inputs = cast("Sequence[Number]", x)  # if it has a length, x is the sequence of an Input
            given = len(inputs)
        except TypeError:  # a single Value or number
            inputs = (cast("Number", x),)
            given = 1
        if given != self.nin:
            raise ValueError(f"{self!r} expects {self.nin} input(s), got {given}")
        out = self.b
        for wi, xi in zip(self.w, inputs, strict=True):
            out = out + wi * xi
        act = self._act
        return out if act is None else act(out)

    def extra_repr(self) -> str:
        return f"{self.nin}, {_settings_repr(self.activation, self.init)}"


class Layer(Module[Output]):
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


class MLP(Module[Output]):
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
        out = self.layers[0].forward(x)
        for layer in self.layers[1:]:  # each layer reads the outputs of the one before
            out = layer.forward(out)
        return out

    def extra_repr(self) -> str:
        return f"{self.nin}, {self.nouts}, {_settings_repr(self.activation, self.init)}"


class Sequential(Module[Any]):
    """Modules applied one after the other, each one's output the next one's input.

    For a type checker ``model(x)`` is ``Any``: it is whatever the last module
    returns, and the modules are only known when the program runs.

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

    def forward(self, x: Any) -> Any:
        for module in self._modules:
            x = module(x)
        return x

    def forward_batch(self, batch: Sequence[Any]) -> list[Any]:
        """The batch passed through the children's ``forward_batch``, one after the other.

        The same as ``[model(x) for x in batch]`` unless a child computes across
        the batch (``BatchNorm1d`` in training mode), which is why a model with
        batch norm must be applied to batches.
        """
        for module in self._modules:
            batch = module.forward_batch(batch)
        return list(batch)

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


class Dropout(Module[Features]):
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
        self._rng: random.Random = make_rng(seed, rng)
        self.p: float = float(p)
        self._scale: float = 1.0 / (1.0 - self.p)

    def forward(self, x: Features) -> Features:
        if not self.training or self.p == 0.0:
            return x
        draw = self._rng.random
        p = self.p
        scale = self._scale
        if isinstance(x, (list, tuple)):
            return [xi * 0.0 if draw() < p else xi * scale for xi in x]
        return x * 0.0 if draw() < p else x * scale

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Activation(Module[Output]):
    """An activation function applied to each input, as a module (no parameters).

    ``Activation("tanh")`` is ``Tanh()``; the names are those of a ``Layer``'s
    ``activation`` (except ``"linear"``, which would do nothing). A list comes
    back as a list of the same length, a single ``Value`` as a ``Value``.
    """

    def __init__(self, activation: str) -> None:
        if _activation(activation) is None:
            raise ValueError("Activation('linear') would do nothing: leave it out")
        self.activation = activation

    def apply(self, v: Value) -> Value:
        """The activation of one ``Value``."""
        function = ACTIVATIONS[self.activation]
        assert function is not None  # __init__ refused "linear"
        return function(v)

    def forward(self, x: Features) -> Output:
        if isinstance(x, (list, tuple)):
            return [self.apply(_as_value(xi)) for xi in x]
        return self.apply(_as_value(x))

    def extra_repr(self) -> str:
        return "" if type(self) is not Activation else repr(self.activation)


class ReLU(Activation):
    """``max(0, x)`` for each input (``torch.nn.ReLU``)."""

    def __init__(self) -> None:
        super().__init__("relu")


class Tanh(Activation):
    """``tanh(x)`` for each input (``torch.nn.Tanh``)."""

    def __init__(self) -> None:
        super().__init__("tanh")


class Sigmoid(Activation):
    """``1 / (1 + exp(-x))`` for each input (``torch.nn.Sigmoid``)."""

    def __init__(self) -> None:
        super().__init__("sigmoid")


class LeakyReLU(Activation):
    """``x`` if ``x > 0`` else ``negative_slope · x``, for each input (``torch.nn.LeakyReLU``, slope 0.01)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
            raise TypeError(f"negative_slope must be a number, not {type(negative_slope).__name__}")
        super().__init__("leaky_relu")
        self.negative_slope: float = float(negative_slope)

    def apply(self, v: Value) -> Value:
        return v.leaky_relu(self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


def _as_value(x: Value | float) -> Value:
    """A ``Value`` as it is, a number as a new leaf (an activation is a ``Value`` method)."""
    return x if isinstance(x, Value) else Value(x)


class BatchNorm1d(Module[Any]):
    """Batch normalisation (``torch.nn.BatchNorm1d``): each feature to mean 0, variance 1 over the batch.

    The forward pass, in training mode
    ----------------------------------
    Given a batch of ``N`` samples ``x₁ … x_N`` (each a list of
    ``num_features`` numbers), for every feature ``c`` separately::

        μ_c  = (1/N) Σᵢ x_ic                       the batch mean
        σ²_c = (1/N) Σᵢ (x_ic − μ_c)²              the batch variance (biased: divided by N)
        x̂_ic = (x_ic − μ_c) / √(σ²_c + eps)        mean 0, variance ≈ 1 over the batch
        y_ic = weight_c · x̂_ic + bias_c            a learnt scale and shift

    ``weight`` and ``bias`` (one ``Value`` per feature, starting at 1 and 0)
    let the network undo the normalisation where that helps, so nothing
    the layer before could express is lost.

    Why it helps the gradients
    --------------------------
    Each feature leaves the layer with the same spread over the batch,
    whatever the layers before it did. Without it, a deep stack can make the
    samples more and more alike (or unlike) layer after layer, and the
    gradient, which flows back through the same weights and slopes, shrinks
    (or grows) by the same factors. The backward pass divides by the same
    ``σ_c`` as the forward pass did: with ``g_i = ∂L/∂y_ic`` and means over
    the batch written ⟨·⟩::

        ∂L/∂x_ic = (weight_c / √(σ²_c + eps)) · (g_i − ⟨g⟩ − x̂_ic · ⟨g · x̂_c⟩)

    so a layer whose outputs had shrunk gets a gradient enlarged by the same
    factor, and the factors no longer compound over depth. It also keeps the
    inputs of a ``sigmoid`` or ``tanh`` after it away from their flat tails,
    and makes a layer's output independent of the scale of its incoming
    weights (scaling them by ``k`` divides their gradient by ``k``).

    Why the samples are coupled
    ---------------------------
    ``μ_c`` and ``σ²_c`` are ``Value``\\ s computed from every sample of the
    batch, so each output depends on every input, and ``backward()`` sends
    gradient through them to all samples. For example the gradients with
    respect to the inputs of one feature always sum to 0 over the batch
    (shifting every ``x_ic`` by the same amount changes no output), and the
    bias of a layer just before batch norm gets no gradient (0 up to
    rounding: the bias is subtracted again with the mean).

    Running statistics and eval mode
    --------------------------------
    Each training batch also updates the buffers (plain floats, no graph)::

        running_mean_c ← (1 − momentum) · running_mean_c + momentum · μ_c
        running_var_c  ← (1 − momentum) · running_var_c  + momentum · σ²_c · N/(N − 1)

    (the *unbiased* variance there, as PyTorch). In evaluation mode
    (``model.eval()``) they replace the batch statistics, so each sample's
    output depends on that sample alone and one sample at a time is fine.

    Calling it
    ----------
    ``bn(batch)`` or ``bn.forward_batch(batch)``: a list of samples, each a
    list of ``num_features`` ``Value``\\ s or numbers (or, when
    ``num_features == 1``, a single ``Value`` or number); the result has the
    same shape. ``bn(sample)`` with one sample (a flat list) works in eval
    mode only. Training mode needs at least 2 samples per batch (a
    ``ValueError`` otherwise, as in PyTorch).

    >>> bn = BatchNorm1d(1)
    >>> [round(y[0].data, 4) for y in bn([[1.0], [3.0]])]
    [-1.0, 1.0]
    >>> bn.running_mean, bn.running_var     # 0.9·0 + 0.1·2, 0.9·1 + 0.1·2
    ([0.2], [1.1])
    >>> bn.state_dict()                     # parameters, then buffers
    {'weight.0': 1.0, 'bias.0': 0.0, 'running_mean.0': 0.2, 'running_var.0': 1.1}
    >>> len(bn.parameters())                # the buffers are not parameters
    2

    ``momentum=None`` (PyTorch's cumulative average), ``affine=False`` and
    ``track_running_stats=False`` are not supported.
    """

    buffer_names = ("running_mean", "running_var")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        self.num_features = int_at_least(num_features, "num_features")
        self.eps = _real(eps, "eps")
        if not self.eps > 0.0:
            raise ValueError(f"eps must be positive, not {eps!r}")
        if momentum is None:
            raise ValueError("momentum=None (PyTorch's cumulative average) is not supported: give a number")
        self.momentum = _real(momentum, "momentum")
        if not 0.0 <= self.momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], not {momentum!r}")
        self.weight = [Value(1.0) for _ in range(num_features)]
        self.bias = [Value(0.0) for _ in range(num_features)]
        self.running_mean = [0.0] * num_features
        self.running_var = [1.0] * num_features
        self.label_parameters()

    def forward(self, x: Sequence) -> list:
        """A batch → :meth:`forward_batch`; one sample (in eval mode only) → its normalised features.

        ``x`` is one sample when it is a single ``Value`` or number, or a flat
        list of ``num_features`` of them; anything else is taken as a batch.
        """
        one_sample = not isinstance(x, (list, tuple)) or (
            len(x) == self.num_features and not any(isinstance(item, (list, tuple)) for item in x)
        )
        if not one_sample:
            return self.forward_batch(x)
        if self.training:
            raise ValueError(
                "BatchNorm1d in training mode normalises each feature with the mean and variance of the "
                "batch, so it needs the whole batch: pass a list of samples (bn(batch), or "
                "model.forward_batch(batch) for a model), not one sample. In eval mode (model.eval()) "
                "it uses the running statistics and takes one sample at a time."
            )
        return self.forward_batch([x])[0]

    def forward_batch(self, batch: Sequence) -> list:
        """The normalised batch, each sample in the shape it came in (see the class docstring)."""
        if not isinstance(batch, (list, tuple)):
            raise TypeError(f"BatchNorm1d takes a batch (a list of samples), not {type(batch).__name__}")
        rows = [self._features(sample, i) for i, sample in enumerate(batch)]
        if self.training:
            columns = self._normalise_with_batch_statistics(rows)
        else:
            columns = self._normalise_with_running_statistics(rows)
        scaled = [[w * v + b for v in col] for w, b, col in zip(self.weight, self.bias, columns, strict=True)]
        out = [list(sample) for sample in zip(*scaled, strict=True)]  # features back into samples
        return [y if isinstance(x, (list, tuple)) else y[0] for x, y in zip(batch, out, strict=True)]

    def _features(self, sample: object, index: int) -> Sequence:
        """One sample as a sequence of ``num_features`` items; ``ValueError`` naming it otherwise."""
        if not isinstance(sample, (list, tuple)):
            sample = (sample,)
        if len(sample) != self.num_features:
            raise ValueError(
                f"{self!r}: sample {index} has {len(sample)} feature(s), expected {self.num_features}"
            )
        return sample

    def _normalise_with_batch_statistics(self, rows: list[Sequence]) -> list[list]:
        """x̂ per feature (a list of columns) from the batch statistics; then updates the running ones."""
        n = len(rows)
        if n < 2:
            raise ValueError(
                f"BatchNorm1d in training mode needs more than 1 sample per batch, got {n}: the variance "
                "of a single number is 0, so there is nothing to normalise with (as in PyTorch). With fit, "
                "choose a batch_size that does not leave a last batch of one sample."
            )
        columns, means, variances = [], [], []
        for c, column in enumerate(zip(*rows, strict=True)):
            mean = _total(column) / n
            centred = [x - mean for x in column]
            variance = _total([d * d for d in centred]) / n
            inv_std = (variance + self.eps) ** -0.5  # one node, shared by every sample
            for node, name in ((mean, "batch_mean"), (variance, "batch_var"), (inv_std, "inv_std")):
                _name(node, f"{name}.{c}")  # so that a picture of the graph shows them
            columns.append([d * inv_std for d in centred])
            means.append(_data(mean))
            variances.append(_data(variance))
        # Only once every feature is computed, so that a failure changes nothing.
        m = self.momentum
        for c in range(self.num_features):
            self.running_mean[c] = (1.0 - m) * self.running_mean[c] + m * means[c]
            self.running_var[c] = (1.0 - m) * self.running_var[c] + m * variances[c] * n / (n - 1)
        return columns

    def _normalise_with_running_statistics(self, rows: list[Sequence]) -> list[list]:
        """x̂ per feature (a list of columns) from the running statistics (plain numbers: no coupling)."""
        columns = []
        for c in range(self.num_features):
            if not self.running_var[c] + self.eps > 0.0:  # e.g. loaded from a bad state_dict
                raise ValueError(f"running_var.{c} is {self.running_var[c]!r}: a variance cannot be negative")
            mean, inv_std = self.running_mean[c], (self.running_var[c] + self.eps) ** -0.5
            columns.append([(row[c] - mean) * inv_std for row in rows])
        return columns

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


def _real(number: object, name: str) -> float:
    """``number`` as a float if it is a finite real number; ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(number, bool) or not isinstance(number, numbers.Real):
        raise TypeError(f"{name} must be a number, not {type(number).__name__}")
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, not {number!r}")
    return float(number)


def _total(items: Sequence[Value | float]) -> Value | float:
    """``items[0] + items[1] + …``: N − 1 additions (``sum`` would add a node for its start, 0)."""
    total = items[0]
    for item in items[1:]:
        total = total + item
    return total


def _name(x: Value | float, label: str) -> None:
    """Set the label of a graph node; a plain number (no graph) stays as it is."""
    if isinstance(x, Value):
        x.label = label


def _data(x: Value | float) -> float:
    return x.data if isinstance(x, Value) else float(x)
