"""A tiny neural-network library on top of ``autograd``, with PyTorch's names.

>>> from nn import MLP
>>> from nn.losses import hinge_loss
>>> model = MLP(2, [16, 16, 1], seed=0)        # 2 inputs, two hidden ReLU layers, 1 output
>>> loss = hinge_loss([model([0.5, -1.0])], [1])
>>> model.zero_grad(); loss.backward()

Submodules: ``nn.module`` (the ``Module`` base class), ``nn.layers`` (``Neuron``,
``Layer``, ``MLP``, ``Sequential``, ``Dropout``, ``BatchNorm1d``, activation modules),
``nn.init`` (initial weights),
``nn.losses`` (loss functions), ``nn.data`` (toy data sets and batching),
``nn.optim`` (optimizers, clipping, schedules), ``nn.train`` (``fit``, ``evaluate``, ``predict``),
``nn.metrics`` (``accuracy``, ``predicted_class``, ``confusion_matrix``),
``nn.plots`` (figures), ``nn.serialization`` (``save``/``load`` of weights),
``nn.torch_bridge`` (``to_torch``/``from_torch``: the same model in PyTorch).
Everything is plain Python on ``autograd.Value``: no NumPy.
"""

from . import data, init, losses, metrics, optim, plots, train
from .layers import (
    MLP,
    Activation,
    BatchNorm1d,
    Dropout,
    Layer,
    LeakyReLU,
    Neuron,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from .module import Module
from .rnn import RNN
from .serialization import load, save
from .torch_bridge import from_torch, to_torch

__all__ = [
    "MLP",
    "Activation",
    "BatchNorm1d",
    "Dropout",
    "Layer",
    "LeakyReLU",
    "Module",
    "Neuron",
    "RNN",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "data",
    "from_torch",
    "init",
    "load",
    "losses",
    "metrics",
    "optim",
    "plots",
    "save",
    "to_torch",
    "train",
]
