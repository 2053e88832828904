"""Pickling (and ``copy.deepcopy``) of a graph of any depth, from any thread, with any protocol.

A node is pickled as its slots, so by default pickling a node pickles its
parents inside it, and theirs inside those: a chain of a few thousand
operations would exceed Python's recursion limit. Instead, a node first hands
the pickler all its ancestors, in topological order (parents before
children); each of those is then pickled plainly and finds its parents
already written (in the pickler's memo), so nothing nests. The memo also
keeps identity: a node reached twice is stored once.

While the ancestors are written, each must be pickled plainly (not list its
own ancestors again, which would make the output quadratic in the depth). That
is state of *this* pickling: the ids of the ancestors being written. It lives
per thread, so two threads pickling at once (overlapping graphs included)
never see each other's.

Every pickle protocol (0 to 5) writes the same thing: a call that makes an
empty node of the node's class (``Value``, or a subclass of it), then its
slots as the state (``(None, {slot: value})``, or with the instance ``dict``
of a subclass that has one first; every unpickler and ``copy`` know how to
apply either).

A node's operation is pickled with it (by its registered name, see
:class:`~autograd.operation.Operation`). One that cannot be (an
unregistered or shadowing operation, or a node made the lecture's way, whose
rule is a closure) is refused before anything is written, so a refusal
leaves no pickling half-done in this thread.
"""

from __future__ import annotations

import threading

from .graph import topological_order
from .value import Value

__all__: list[str] = []

_SLOTS = Value.__slots__


def _reduce_ex(self: Value, protocol: int) -> tuple:
    """How the pickler writes ``self``: an empty node, then its slots (after its ancestors, if any)."""
    state = (getattr(self, "__dict__", None) or None, {name: getattr(self, name) for name in _SLOTS})
    cls = self.__class__
    pending = _pickling.__dict__.get("ancestors")
    if self._operation is None or (pending is not None and id(self) in pending):
        return (_empty_node, (cls,), state)  # a leaf, or an ancestor listed (and so preceded) by its parents
    order = topological_order(self)
    for operation in {node._operation for node in order} - {None}:
        operation.__reduce_ex__(protocol)  # refuses one that cannot be pickled, before any state is set
    ancestors = order[:-1]
    _pickling.ancestors = set(map(id, ancestors))
    # The pickler writes the arguments first, in order: the ancestors, then the
    # marker whose own pickling ends their plain mode again; then this node's slots.
    return (_node_after, (ancestors, _AncestorsDone(), cls), state)


class _Pickling(threading.local):
    """This thread's pickling in progress: ``ancestors``, the ids of the nodes written plainly."""


_pickling = _Pickling()


def _empty_node(cls: type[Value] = Value) -> Value:
    """Unpickling: an empty node of class ``cls`` (the unpickler then fills its slots)."""
    if not (isinstance(cls, type) and issubclass(cls, Value)):
        raise TypeError(f"a pickled node's class must be Value or a subclass of it, not {cls!r}")
    return object.__new__(cls)


def _node_after(ancestors: list[Value], done: _AncestorsDone, cls: type[Value] = Value) -> Value:
    """Unpickling: an empty node, made after its ancestors (the unpickler then fills its slots)."""
    return _empty_node(cls)


class _AncestorsDone:
    """Pickled right after a node's ancestors: pickling it ends their plain mode."""

    def __reduce__(self) -> tuple:
        _pickling.__dict__.pop("ancestors", None)
        return (_AncestorsDone, ())


Value.__reduce_ex__ = _reduce_ex  # type: ignore[method-assign,assignment]  # object's, replaced
