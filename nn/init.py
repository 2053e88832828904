"""Initial weights: where training starts, and private random generators.

Why initialisation matters
--------------------------
A neuron computes ``act(b + Σₖ wₖ·xₖ)``. If the inputs ``xₖ`` are independent
with mean 0 and variance ``Var(x)``, and the weights are drawn independently
with mean 0 and variance ``Var(w)``, then the sum before the activation has::

    Var(Σₖ wₖ·xₖ) = fan_in · Var(w) · Var(x)

So each layer multiplies the variance of the signal by ``fan_in · Var(w)``
(times a factor from the activation). Much larger than 1, and activations
explode through the layers (tanh and sigmoid saturate, their gradients
vanish); much smaller, and the signal and the gradients fade away. The schemes
below choose ``Var(w)`` to keep that factor near 1.

The three schemes (``init=`` in ``Neuron``, ``Layer`` and ``MLP``)
-------------------------------------------------------------------
``"uniform"``
    micrograd's choice: ``w ~ U(-1, 1)``, so ``Var(w) = 1/3`` whatever the
    layer's width. Fine for the tiny networks of a demo; wide layers amplify.

``"xavier"`` (Glorot & Bengio, 2010; ``torch.nn.init.xavier_uniform_``)
    ``w ~ U(-a, a)`` with ``a = √(6 / (fan_in + fan_out))``. A uniform
    distribution on ``[-a, a]`` has variance ``a²/3``, so
    ``Var(w) = 2 / (fan_in + fan_out)``: a compromise between keeping the
    forward signal (``fan_in · Var(w) = 1``) and the backward gradient
    (``fan_out · Var(w) = 1``). Made for tanh and sigmoid.

``"he"`` (He et al., 2015; ``torch.nn.init.kaiming_normal_`` with
``mode="fan_in"``, ``nonlinearity="relu"``)
    ``w ~ N(0, σ²)`` with ``σ = √(2 / fan_in)``: the *normal* variant.
    ReLU zeroes half of its inputs, which halves the variance; the factor 2
    gives it back, so ``fan_in · Var(w) · ½ = 1``. Made for ReLU.

Biases start at 0.0 in every scheme (as micrograd's ``Value(0)``). ``fan_in``
is the number of inputs of a neuron; ``fan_out`` the number of neurons in its
layer (1 for a neuron on its own).

Reproducibility without global state
------------------------------------
Every random choice in ``nn`` (initial weights, dropout masks, toy data sets)
draws from a private ``random.Random`` made by :func:`make_rng`, never from
the module-level functions of ``random``. Seeding one model therefore does not
change, and is not changed by, any other code that uses ``random``. The same
seed gives the same numbers: ``random.Random(s)`` produces the same stream as
``random.seed(s)``, so ``MLP(2, [16, 16, 1], seed=s)`` has exactly the weights
micrograd's ``MLP(2, [16, 16, 1])`` gets after ``random.seed(s)`` (the draws
happen in the same order: layer by layer, neuron by neuron, weight by weight).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

__all__ = ["SCHEMES", "he_normal", "initial_weights", "make_rng", "uniform", "xavier_uniform"]


def make_rng(seed: int | None = None, rng: random.Random | None = None) -> random.Random:
    """The generator to draw from: ``rng`` itself, or a new ``random.Random(seed)``.

    ``seed=None`` (and no ``rng``) gives a generator seeded from the operating
    system: different numbers on every run, and still no global state touched.
    Give at most one of ``seed`` and ``rng``.
    """
    if rng is not None:
        if seed is not None:
            raise ValueError("give either seed or rng, not both")
        if not isinstance(rng, random.Random):
            raise TypeError(f"rng must be a random.Random, not {type(rng).__name__}")
        return rng
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, not {type(seed).__name__}")
    return random.Random(seed)


def uniform(fan_in: int, fan_out: int, rng: random.Random) -> list[float]:
    """micrograd's weights: ``fan_in`` draws from U(-1, 1) (``fan_out`` is unused)."""
    return [rng.uniform(-1.0, 1.0) for _ in range(fan_in)]


def xavier_uniform(fan_in: int, fan_out: int, rng: random.Random) -> list[float]:
    """Glorot: ``fan_in`` draws from U(-a, a), ``a = √(6 / (fan_in + fan_out))``."""
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return [rng.uniform(-a, a) for _ in range(fan_in)]


def he_normal(fan_in: int, fan_out: int, rng: random.Random) -> list[float]:
    """Kaiming (normal): ``fan_in`` draws from N(0, σ²), ``σ = √(2 / fan_in)`` (``fan_out`` unused)."""
    std = math.sqrt(2.0 / fan_in)
    return [rng.gauss(0.0, std) for _ in range(fan_in)]


#: The schemes by the name ``Neuron``/``Layer``/``MLP`` accept as ``init=``.
SCHEMES: dict[str, Callable[[int, int, random.Random], list[float]]] = {
    "uniform": uniform,
    "xavier": xavier_uniform,
    "he": he_normal,
}


def check_scheme(name: str) -> str:
    """Return ``name`` if it is a known scheme; raise ``ValueError`` listing them otherwise."""
    if not isinstance(name, str) or name not in SCHEMES:
        raise ValueError(f"unknown init {name!r}: choose one of {', '.join(map(repr, SCHEMES))}")
    return name


def initial_weights(scheme: str, fan_in: int, fan_out: int, rng: random.Random) -> list[float]:
    """The ``fan_in`` initial weights of one neuron under ``scheme`` (see the module docstring)."""
    return SCHEMES[check_scheme(scheme)](fan_in, fan_out, rng)
