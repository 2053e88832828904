"""The way out to PyTorch: ``to_torch(model)`` and ``from_torch(module)``.

A model learnt here on scalars is an ordinary network, and PyTorch can run
it: ``to_torch`` builds the ``torch.nn.Sequential`` (float64) that computes
the same function, with the same numbers in it, and ``from_torch`` does the
reverse. What corresponds to what:

==========================================  ==========================================
here                                        PyTorch
==========================================  ==========================================
``Layer(n_in, n_out, activation)``          ``Linear(n_in, n_out)`` then the activation
                                            module (none for ``"linear"``)
``ReLU()``, ``Tanh()``, ``Sigmoid()``,      ``ReLU()``, ``Tanh()``, ``Sigmoid()``,
``LeakyReLU(s)``                            ``LeakyReLU(s)``
``Dropout(p)``                              ``Dropout(p)``
``BatchNorm1d(n, eps, momentum)``           ``BatchNorm1d(n, eps, momentum)``
``MLP``, ``Sequential``                     ``Sequential``
==========================================  ==========================================

A ``Layer`` keeps one row of ``Linear.weight`` per neuron: neuron ``j``'s
weight ``w.k`` is ``weight[j, k]``, its ``b`` is ``bias[j]``. Batch norm's
``weight``, ``bias``, ``running_mean`` and ``running_var`` are copied item by
item, and every module keeps its training or eval mode. A nested ``MLP`` or
``Sequential`` becomes a nested ``torch.nn.Sequential``.

Going back, ``from_torch`` reads a ``Linear`` followed directly by a ``ReLU``,
``Tanh``, ``Sigmoid`` or ``LeakyReLU(0.01)`` as one ``Layer`` with that
activation, and any other ``Linear`` as a ``Layer(..., "linear")``. So
``from_torch(to_torch(model))`` gives back a model with the same modules and
``state_dict`` — except that an ``MLP`` comes back as a ``Sequential`` of its
layers (``layers.0.…`` becomes ``0.…``), and a ``Layer(..., "linear")``
followed by an activation module comes back as one ``Layer`` with that
activation: the same numbers, one module fewer. Anything without a
counterpart (a convolution, a ``Linear`` without bias, batch norm without
running statistics, ...) is refused with an error that names it.

Not carried over: ``Dropout``'s random generator (the masks differ), and
PyTorch's ``num_batches_tracked``, which only matters with ``momentum=None``.

``torch`` is an optional dependency: it is imported only when these
functions run, and without it they raise an ``ImportError`` saying how to
install it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from .layers import MLP, Activation, BatchNorm1d, Dropout, Layer, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh
from .module import Module

if TYPE_CHECKING:
    import torch
    from torch import nn as torch_nn  # the classes, for casts where a test of type(child) has chosen one

__all__ = ["from_torch", "to_torch"]

#: PyTorch's activation modules by the ``activation`` names of ``Layer``.
_TORCH_NAMES = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "leaky_relu": "LeakyReLU"}
_SUPPORTED = "Sequential, Linear, ReLU, Tanh, Sigmoid, LeakyReLU, Dropout and BatchNorm1d"


def _import_torch(caller: str) -> Any:
    """The ``torch`` module, or an ``ImportError`` that says how to get it."""
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            f"{caller} needs PyTorch, which is not installed. Install it with `pip install torch` "
            "(CPU only: `pip install torch --index-url https://download.pytorch.org/whl/cpu`), "
            "or install this project's test extras: `pip install -e '.[test]'`."
        ) from error
    return torch


# ---------------------------------------------------------------- here → PyTorch


def to_torch(model: Module) -> torch.nn.Sequential:
    """A float64 ``torch.nn.Sequential`` that computes what ``model`` computes, with the same numbers.

    ``model`` is an ``MLP`` or a ``Sequential`` of ``Layer``\\ s, activation
    modules, ``Dropout`` and ``BatchNorm1d`` (or one of those alone). A
    ``TypeError`` names any other module. The result shares nothing with
    ``model``: training one does not change the other.

    >>> from nn import MLP
    >>> to_torch(MLP(2, [3, 1], activation="tanh", seed=0))
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): Tanh()
      (2): Linear(in_features=3, out_features=1, bias=True)
    )
    """
    torch = _import_torch("to_torch")
    if not isinstance(model, Module):
        raise TypeError(f"to_torch converts a Module (an MLP or a Sequential), not {type(model).__name__}")
    if isinstance(model, (MLP, Sequential)):
        return _torch_sequential(model, torch, "model")
    return torch.nn.Sequential(*_torch_modules(model, torch, "model")).train(model.training)


def _torch_sequential(model: MLP | Sequential, torch: Any, path: str) -> torch.nn.Sequential:
    children = model.layers if isinstance(model, MLP) else list(model)
    modules = [m for i, child in enumerate(children) for m in _torch_modules(child, torch, f"{path}[{i}]")]
    sequential = torch.nn.Sequential(*modules)
    sequential.training = model.training  # the container's own flag; each child keeps its own
    return sequential


def _torch_modules(module: Module, torch: Any, path: str) -> list[torch.nn.Module]:
    """The PyTorch module(s) standing for ``module`` (two for a ``Layer`` with an activation)."""
    if isinstance(module, (MLP, Sequential)):
        return [_torch_sequential(module, torch, path)]
    if type(module) is Layer:
        converted = [_torch_linear(module, torch), *_torch_activation(module.activation, torch, 0.01)]
    elif isinstance(module, Activation):
        converted = _torch_activation(module.activation, torch, getattr(module, "negative_slope", 0.01))
    elif type(module) is Dropout:
        converted = [torch.nn.Dropout(module.p)]
    elif type(module) is BatchNorm1d:
        converted = [_torch_batch_norm(module, torch)]
    else:
        raise TypeError(
            f"to_torch: {path} is {module!r}, which has no PyTorch counterpart here; "
            "supported: MLP, Sequential, Layer, ReLU, Tanh, Sigmoid, LeakyReLU, Dropout and BatchNorm1d"
            + (" (put a Neuron's weights in a Layer(nin, 1))" if type(module).__name__ == "Neuron" else "")
        )
    for m in converted:
        m.train(module.training)
    return converted


def _torch_linear(layer: Layer, torch: Any) -> torch.nn.Linear:
    linear = torch.nn.Linear(layer.nin, layer.nout, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(_tensor([[w.data for w in n.w] for n in layer.neurons], torch))
        linear.bias.copy_(_tensor([n.b.data for n in layer.neurons], torch))
    return linear


def _torch_activation(name: str, torch: Any, slope: float) -> list[torch.nn.Module]:
    if name == "linear":
        return []
    if name == "leaky_relu":
        return [torch.nn.LeakyReLU(slope)]
    return [getattr(torch.nn, _TORCH_NAMES[name])()]


def _torch_batch_norm(bn: BatchNorm1d, torch: Any) -> torch.nn.BatchNorm1d:
    twin = torch.nn.BatchNorm1d(bn.num_features, eps=bn.eps, momentum=bn.momentum, dtype=torch.float64)
    with torch.no_grad():
        twin.weight.copy_(_tensor([w.data for w in bn.weight], torch))
        twin.bias.copy_(_tensor([b.data for b in bn.bias], torch))
        twin.running_mean.copy_(_tensor(bn.running_mean, torch))
        twin.running_var.copy_(_tensor(bn.running_var, torch))
    return twin


def _tensor(numbers: list, torch: Any) -> torch.Tensor:
    return torch.tensor(numbers, dtype=torch.float64)


# ---------------------------------------------------------------- PyTorch → here


def from_torch(module: torch.nn.Module) -> Sequential:
    """A ``Sequential`` that computes what the PyTorch ``module`` computes, with the same numbers.

    ``module`` is a ``torch.nn.Sequential`` (possibly nested) of ``Linear``
    (with a bias), ``ReLU``, ``Tanh``, ``Sigmoid``, ``LeakyReLU``, ``Dropout``
    and ``BatchNorm1d`` (with learnt ``weight``/``bias`` and running
    statistics, and a numeric ``momentum``), or one such module alone. Any
    other module — a subclass of these included, since it may compute
    something else — is refused with a ``TypeError`` naming it and where it
    is; a supported module with settings this library lacks, with a
    ``ValueError``. Weights of any floating dtype are read as Python floats.
    """
    torch = _import_torch("from_torch")
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch converts a torch.nn.Module, not {type(module).__name__}")
    if type(module) is torch.nn.Sequential:
        return _our_sequential(module, torch, "module")
    converted = Sequential(*_our_modules([module], torch, "module"))
    converted.training = module.training
    return converted


def _our_sequential(sequential: torch.nn.Sequential, torch: Any, path: str) -> Sequential:
    names = [name for name, _ in sequential.named_children()]
    converted = Sequential(*_our_modules(list(sequential), torch, path, names))
    converted.training = sequential.training
    return converted


def _our_modules(
    children: list[torch.nn.Module], torch: Any, path: str, names: list[str] | None = None
) -> list[Module]:
    """Our modules for PyTorch's ``children``; a ``Linear`` and the activation after it make one ``Layer``.

    Errors name a child by its place, ``module[1][0]``, and by the name it has
    in its ``Sequential`` when that is not just its index (``module[1] 'fc2'``,
    from ``Sequential(OrderedDict(fc1=..., fc2=...))``).
    """
    converted: list[Module] = []
    i = 0
    while i < len(children):
        name = None if names is None else names[i]
        child, where = children[i], f"{path}[{i}]" + (f" {name!r}" if name not in (None, str(i)) else "")
        following = children[i + 1] if i + 1 < len(children) else None
        try:
            if type(child) is torch.nn.Linear:
                activation = _layer_activation(following, torch)
                converted.append(_our_layer(cast("torch_nn.Linear", child), activation, torch, where))
                i += 1 if activation == "linear" else 2
                continue
            ours = _our_module(child, torch, where)
        except (TypeError, ValueError) as error:
            raise _located(error, child, where) from error
        ours.training = child.training
        converted.append(ours)
        i += 1
    return converted


def _our_module(child: torch.nn.Module, torch: Any, where: str) -> Module:
    """Our module for one PyTorch module other than ``Linear`` (which may pair with the next one)."""
    # ``torch`` is the module passed in, so a type checker cannot narrow by it: each cast below
    # names the class that the test above it has just checked.
    if type(child) is torch.nn.Sequential:
        return _our_sequential(cast("torch_nn.Sequential", child), torch, where)
    if type(child) is torch.nn.Dropout:
        return Dropout(cast("torch_nn.Dropout", child).p)
    if type(child) is torch.nn.BatchNorm1d:
        return _our_batch_norm(cast("torch_nn.BatchNorm1d", child), where)
    if type(child) is torch.nn.LeakyReLU:
        return LeakyReLU(cast("torch_nn.LeakyReLU", child).negative_slope)
    if type(child) in (torch.nn.ReLU, torch.nn.Tanh, torch.nn.Sigmoid):
        return {torch.nn.ReLU: ReLU, torch.nn.Tanh: Tanh, torch.nn.Sigmoid: Sigmoid}[type(child)]()
    raise TypeError(
        f"from_torch: {where} is {type(child).__name__} ({child!r}), which has no counterpart "
        f"in this library; supported: {_SUPPORTED}"
    )


def _located(error: TypeError | ValueError, child: torch.nn.Module, where: str) -> TypeError | ValueError:
    """``error`` saying where in the model it happened, unless it already does.

    Our constructors check their arguments (``Dropout(1.0)``, ``eps=0``) and
    know nothing of PyTorch; the message gets the module's place and text:
    ``from_torch: module[1] is Dropout(p=1.0, inplace=False): dropout probability ...``.
    """
    if str(error).startswith("from_torch: "):
        return error
    return type(error)(f"from_torch: {where} is {child!r}: {error}")


def _layer_activation(module: torch.nn.Module | None, torch: Any) -> str:
    """The ``Layer`` activation that ``module`` (right after a ``Linear``) is, or ``"linear"`` if none."""
    kinds = {torch.nn.ReLU: "relu", torch.nn.Tanh: "tanh", torch.nn.Sigmoid: "sigmoid"}
    if type(module) in kinds:
        return kinds[type(module)]
    if type(module) is torch.nn.LeakyReLU and cast("torch_nn.LeakyReLU", module).negative_slope == 0.01:
        return "leaky_relu"
    return "linear"


def _our_layer(linear: torch.nn.Linear, activation: str, torch: Any, where: str) -> Layer:
    if linear.bias is None:
        raise ValueError(f"from_torch: {where} is {linear!r} without a bias; every Layer here has one")
    weight, bias = _numbers(linear.weight), _numbers(linear.bias)
    layer = Layer(linear.in_features, linear.out_features, activation, seed=0)  # weights overwritten below
    for neuron, row, b in zip(layer.neurons, weight, bias, strict=True):
        for w, number in zip(neuron.w, row, strict=True):
            w.data = number
        neuron.b.data = b
    layer.train(linear.training)
    return layer


def _our_batch_norm(twin: torch.nn.BatchNorm1d, where: str) -> BatchNorm1d:
    running_mean, running_var = twin.running_mean, twin.running_var  # None without track_running_stats
    if (
        not twin.affine
        or twin.bias is None
        or not twin.track_running_stats
        or running_mean is None
        or running_var is None
    ):
        raise ValueError(
            f"from_torch: {where} is {twin!r}; only affine=True (with a bias) and "
            "track_running_stats=True are supported here"
        )
    if twin.momentum is None:
        raise ValueError(
            f"from_torch: {where} is {twin!r}; momentum=None (a cumulative average) is not supported"
        )
    bn = BatchNorm1d(twin.num_features, eps=twin.eps, momentum=twin.momentum)
    for ours, theirs in ((bn.weight, twin.weight), (bn.bias, twin.bias)):
        for value, number in zip(ours, _numbers(theirs), strict=True):
            value.data = number
    bn.running_mean = _numbers(running_mean)
    bn.running_var = _numbers(running_var)
    return bn


def _numbers(tensor: torch.Tensor) -> list:
    """A tensor's numbers as (nested lists of) Python floats."""
    return tensor.detach().double().tolist()
