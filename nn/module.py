"""``Module``: the base class of every layer and model, as in ``torch.nn.Module``.

A module holds *parameters* (``Value``\\ s that training changes) and *child
modules*, and computes something in :meth:`Module.forward`. The base class
provides everything that only needs to know what the parameters are:
collecting them (for an optimizer), zeroing their gradients, saving and
loading their numbers, and switching between training and evaluation.

How a module finds its parameters and children
----------------------------------------------
There is no registration step: the base class looks at the module's public
attributes (those not starting with ``_``), in the order ``__init__`` assigned
them:

* an attribute holding a ``Value`` is a parameter named after the attribute
  (``b``);
* an attribute holding a list or tuple of ``Value``\\ s gives one parameter per
  item, named ``attribute.index`` (``w.0``, ``w.1``, ...);
* an attribute holding a ``Module``, or a list or tuple of them, is a child
  (``neurons.3``), whose parameters are named with the child's name as a
  prefix (``neurons.3.w.0``).

Anything else (numbers, strings, lists of ints, the ``training`` flag) is
ignored, and so are attributes starting with ``_``: keep a ``Value`` that is
*not* a parameter, or a generator, under such a name. So a ``Neuron`` with
``self.w = [...]`` then ``self.b = Value(0.0)`` has the parameters ``w.0``,
``w.1``, ..., ``b``, in that order, and a ``Layer`` with
``self.neurons = [...]`` has ``neurons.0.w.0``, ..., ``neurons.0.b``,
``neurons.1.w.0``, ... This is what ``torch.nn.Module`` does too, except that
PyTorch registers members as they are assigned (``__setattr__``) and needs
``nn.ModuleList`` for lists. A subclass that keeps its members elsewhere
overrides the one method :meth:`Module.named_members` (``Sequential`` does, to
name its children ``0``, ``1``, ... like PyTorch).

A ``Value`` that appears twice (a shared weight) is reported once, under its
first name, so an optimizer does not update it twice.

Buffers: state that is not a parameter
--------------------------------------
Some modules keep numbers that belong to their state but that gradient
descent must not touch: ``BatchNorm1d``'s running mean and variance, which the
module updates itself as it sees batches. PyTorch calls them *buffers*
(``register_buffer``). Here a class declares them by name in the class
attribute ``buffer_names`` (``BatchNorm1d.buffer_names = ("running_mean",
"running_var")``); each named attribute holds a float or a list of floats.
Buffers are

* listed by :meth:`Module.named_buffers`, named like parameters: one entry per
  item, ``running_mean.0``, ``running_mean.1``, ..., with the module's name as
  a prefix (``1.running_var.3`` in a ``Sequential``). PyTorch keeps one
  tensor, ``running_mean``; with scalars, one key per number, as for weights;
* part of :meth:`Module.state_dict` (after all the parameters) and so saved by
  ``nn.save`` and restored by :meth:`Module.load_state_dict`;
* *not* returned by :meth:`Module.parameters`: an optimizer never sees them,
  and ``zero_grad`` leaves them alone.

Applying a model to a batch
---------------------------
``module(x)`` takes one sample. :meth:`Module.forward_batch` takes a list of
samples and returns the list of outputs: by default the module applied to each
sample in turn. A layer that needs the whole batch at once (``BatchNorm1d``)
overrides it, and ``Sequential`` passes the batch from child to child, so a
model containing batch norm is applied with ``model.forward_batch(batch)``
(``fit``, ``evaluate`` and ``predict`` do).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

from autograd import Value
from autograd.viz import Grouping

from .checks import finite_float
from .graph_names import grouping

__all__ = ["IncompatibleKeys", "Module"]

#: What a module's ``forward`` returns (``Value`` for a ``Neuron``): ``Module[Value]``.
Out = TypeVar("Out", covariant=True)
_M = TypeVar("_M", bound="Module[Any]")


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` could not match (PyTorch's ``_IncompatibleKeys``).

    ``missing_keys``: parameters of the model that the state did not provide
    (they keep their values); ``unexpected_keys``: entries of the state that
    are not parameters of the model (ignored). Both empty after a strict load.
    """

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module(Generic[Out]):
    """Base class: subclasses assign parameters and children in ``__init__`` and define ``forward``.

    For type checkers, ``Module[T]`` is a module whose ``forward`` (and so
    ``module(x)``) returns a ``T``: ``Neuron`` is a ``Module[Value]``, ``MLP`` a
    ``Module[Value | list[Value]]``. A subclass written as ``class Scale(Module)``
    is a ``Module[Any]``: its outputs are not checked.

    >>> from autograd import Value
    >>> class Scale(Module):
    ...     def __init__(self):
    ...         self.k = Value(2.0)
    ...     def forward(self, x):
    ...         return self.k * x
    >>> m = Scale()
    >>> m.named_parameters()
    [('k', Value(data=2.0, grad=0.0))]
    >>> m(3.0).data
    6.0
    """

    #: True in training mode (``train()``), False in evaluation mode (``eval()``).
    #: Only layers that behave differently (``Dropout``) read it. A class
    #: attribute, so subclasses need not call ``super().__init__()``.
    training: bool = True

    #: Names of the attributes that hold buffers (see the module docstring):
    #: each a float or a list of floats, in the state but not a parameter.
    buffer_names: tuple[str, ...] = ()

    def forward(self, *args: Any, **kwargs: Any) -> Out:
        """Compute the module's output. Subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Out:
        """``module(x)`` is ``module.forward(x)``, as in PyTorch."""
        return self.forward(*args, **kwargs)

    def forward_batch(self, batch: Sequence[Any]) -> list[Out]:
        """The outputs for a batch (a list of samples), as a list in the same order.

        By default, the module applied to each sample in turn: the same numbers
        as ``[module(x) for x in batch]``. Layers that compute across the batch
        (``BatchNorm1d``) and containers (``Sequential``) override it.
        """
        return [self(x) for x in batch]

    # ------------------------------------------------------------ discovery
    def named_members(self) -> Iterator[tuple[str, object]]:
        """Every public attribute item that may be a parameter or a child, with its name.

        Yields ``(name, value)`` for each public attribute, and
        ``(f"{name}.{i}", item)`` for each item of a public list or tuple
        attribute. The callers keep the ``Value``\\ s (parameters) and the
        ``Module``\\ s (children) and ignore the rest.
        """
        for name, value in vars(self).items():
            if name.startswith("_"):
                continue
            if isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    yield f"{name}.{i}", item
            else:
                yield name, value

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules, with their names (``layers.0``, ``layers.1``, ...)."""
        for name, member in self.named_members():
            if isinstance(member, Module):
                yield name, member

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        for _, child in self.named_children():
            yield child

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (named ``prefix``) and all modules below it, parents first."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        """This module and all modules below it."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self) -> list[tuple[str, Value]]:
        """Every parameter with its full name, in a stable order (see the module docstring)."""
        found: list[tuple[str, Value]] = []
        self._collect_parameters("", found, set())
        return found

    def _collect_parameters(self, prefix: str, found: list[tuple[str, Value]], seen: set[int]) -> None:
        for name, member in self.named_members():
            if isinstance(member, Value):
                if id(member) not in seen:
                    seen.add(id(member))
                    found.append((prefix + name, member))
            elif isinstance(member, Module):
                member._collect_parameters(f"{prefix}{name}.", found, seen)

    def graph_grouping(self, order: Sequence[Value], level: str = "node") -> Grouping:
        """Which of this module's neurons made each node of ``order``: how ``draw_graph(model=...)`` draws it.

        ``level`` is ``"node"``, ``"neuron"``, ``"layer"`` or ``"auto"``; see
        :func:`nn.graph_names.grouping`, which this calls.
        """
        return grouping(self, order, level)

    def parameters(self) -> list[Value]:
        """Every parameter, in the order of :meth:`named_parameters` (what an optimizer takes)."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        """How many numbers training adjusts (``MLP(2, [16, 16, 1])`` has 337)."""
        return len(self.named_parameters())

    def label_parameters(self) -> None:
        """Set each parameter's ``label`` to its full name, so graph pictures say which weight is which.

        ``Neuron``, ``Layer``, ``MLP`` and ``Sequential`` call this at the end
        of ``__init__``; the outermost one built last wins, so the parameters
        of an ``MLP`` read ``layers.1.neurons.4.w.2``.
        """
        for name, p in self.named_parameters():
            p.label = name

    def named_buffers(self) -> list[tuple[str, float]]:
        """Each buffer number with its full name (``running_mean.0``, ...), in :meth:`named_modules` order."""
        return [(name, slot.data) for name, slot in self._buffer_slots().items()]

    def _buffer_slots(self) -> dict[str, _BufferSlot]:
        """One :class:`_BufferSlot` per buffer number, by full name (a module seen twice counts once)."""
        slots: dict[str, _BufferSlot] = {}
        seen: set[int] = set()
        for prefix, module in self.named_modules():
            if id(module) in seen:
                continue
            seen.add(id(module))
            for attribute in type(module).buffer_names:
                name = f"{prefix}.{attribute}" if prefix else attribute
                if isinstance(getattr(module, attribute), list):
                    for i in range(len(getattr(module, attribute))):
                        slots[f"{name}.{i}"] = _BufferSlot(module, attribute, i)
                else:
                    slots[name] = _BufferSlot(module, attribute, None)
        return slots

    # ------------------------------------------------------------ gradients
    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0 (gradients accumulate across ``backward()`` calls)."""
        for p in self.parameters():
            p.grad = 0.0

    # ------------------------------------------------------------ modes
    def train(self: _M, mode: bool = True) -> _M:
        """Set training mode (``mode=True``) or evaluation mode on this module and every module below it.

        Returns the module itself, so ``model = MLP(...).eval()`` works.
        """
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) takes a bool, not {type(mode).__name__}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self: _M) -> _M:
        """Evaluation mode: ``train(False)``. Dropout becomes the identity."""
        return self.train(False)

    # ------------------------------------------------------------ saving and loading
    def state_dict(self) -> dict[str, float]:
        """The parameters' numbers by name, in :meth:`named_parameters` order, then the buffers'.

        Plain floats, so the dict can be saved with ``json`` and does not keep
        the model's graph alive.
        """
        entries: list[tuple[str, Value | _BufferSlot]] = [*self.named_parameters()]
        entries += self._buffer_slots().items()
        return {name: entry.data for name, entry in entries}

    def load_state_dict(self, state_dict: Mapping[str, float], strict: bool = True) -> IncompatibleKeys:
        """Copy numbers from ``state_dict`` (as made by :meth:`state_dict`) into the parameters.

        With ``strict=True`` the keys must be exactly the parameter names: a
        missing or an extra key raises ``KeyError`` naming it. With
        ``strict=False`` the parameters whose names are in ``state_dict`` are
        loaded, the others keep their values, extra keys are ignored, and the
        returned :class:`IncompatibleKeys` lists both kinds (as PyTorch does).

        Each entry loaded must be a finite real number (``int``, ``float``, or
        e.g. a NumPy scalar), stored as a Python ``float``; anything else —
        ``bool``, ``str``, ``None``, a ``Value``, NaN or ±inf — raises
        ``ValueError``, and a number too large for a float (``10**400``)
        ``OverflowError``, naming the key. (PyTorch would load a NaN; here a
        non-finite weight is taken to be a mistake, such as a saved diverged
        run.)

        Everything is checked before anything is written: a load that fails
        leaves every weight as it was. Gradients are not touched.
        """
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be True or False, not {type(strict).__name__}")
        if not isinstance(state_dict, Mapping):
            kind = type(state_dict).__name__
            raise TypeError(f"load_state_dict takes a mapping of names to numbers, not {kind}")
        # Buffers load like weights: a _BufferSlot reads and writes its number as .data, as a Value does.
        params: dict[str, Value | _BufferSlot] = {**dict(self.named_parameters()), **self._buffer_slots()}
        missing = [name for name in params if name not in state_dict]
        unexpected = [key for key in state_dict if key not in params]
        if strict and (missing or unexpected):
            problems = []
            if missing:
                problems.append(f"missing key(s) {', '.join(map(repr, missing))}")
            if unexpected:
                problems.append(f"unexpected key(s) {', '.join(map(repr, unexpected))}")
            raise KeyError(f"load_state_dict into {type(self).__name__}: {'; '.join(problems)}")
        numbers_by_name = {name: _weight(name, state_dict[name]) for name in params if name in state_dict}
        for name, number in numbers_by_name.items():
            params[name].data = number
        return IncompatibleKeys(missing, unexpected)  # both empty after a strict load

    # ------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text between the parentheses of ``repr(module)``; subclasses describe their settings."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class _BufferSlot:
    """One number of a buffer: ``.data`` reads and writes it where the module keeps it.

    So that :meth:`Module.state_dict` and :meth:`Module.load_state_dict` treat
    a buffer entry and a parameter (a ``Value``, also with ``.data``) alike.
    """

    __slots__ = ("module", "attribute", "index")

    def __init__(self, module: Module, attribute: str, index: int | None) -> None:
        self.module, self.attribute, self.index = module, attribute, index

    @property
    def data(self) -> float:
        held = getattr(self.module, self.attribute)
        return held if self.index is None else held[self.index]

    @data.setter
    def data(self, number: float) -> None:
        if self.index is None:
            setattr(self.module, self.attribute, number)
        else:
            getattr(self.module, self.attribute)[self.index] = number


def _weight(name: str, number: object) -> float:
    """Validate one ``state_dict`` entry and return it as a float."""
    return finite_float(number, f"state_dict[{name!r}]", type_error=ValueError)
