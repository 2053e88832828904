"""``no_grad``: a block in which operations record no graph.

The switch is **per thread**, as in PyTorch, and costs the operations one
module global while no thread is inside a block (see ``autograd/value.py``:
``_grad_enabled``). While some thread is, each operation reads its own
thread's flag (``_value._state.enabled``, a ``threading.local``).

A ``with`` block usually ends in the thread that began it. Not always: a
generator that is suspended inside ``with no_grad():`` and then closed (or
garbage-collected) from another thread runs the block's exit *there*. The
exit must still turn recording back on in the thread that entered the block
(else that thread would record nothing, for ever) and leave the closing
thread's own state alone. So each entry remembers whose state it changed:
the entering thread's attributes of ``_value._state`` (a ``threading.local``
keeps them in one ``dict`` per thread, which any thread may update).
"""

from __future__ import annotations

import threading
from contextlib import ContextDecorator
from typing import Any

from . import value as _value

__all__ = ["is_grad_enabled", "no_grad"]


class no_grad(ContextDecorator):
    """Record no graph inside this block: every result is a leaf.

    Use it where gradients are not wanted: an optimizer writing new ``.data``,
    or evaluating a model. It saves the time and memory of recording::

        with no_grad():
            prediction = model(x)      # a leaf: no parents, nothing to backprop

    Also usable as a decorator (``@no_grad()``), recursively too.

    Blocks nest and count: recording comes back on when the *last* block
    exits, whichever instance entered it (the same ``no_grad()`` object may be
    entered twice). As in PyTorch the switch is **per thread**: a ``no_grad``
    block in one thread does not stop another thread from recording. A block
    exited from another thread (a generator suspended inside it, closed
    elsewhere) restores the thread that *entered* it.

    >>> from autograd import Value
    >>> ng = no_grad()
    >>> with ng:
    ...     with ng:
    ...         pass
    ...     inner = Value(1.0) * 2
    >>> inner.is_leaf, (Value(1.0) * 2).is_leaf
    (True, False)
    """

    def __init__(self) -> None:
        # The per-thread state (a dict: ``depth``, ``enabled``) of each open entry, in entry order.
        self._entries: list[dict[str, Any]] = []

    def __enter__(self) -> no_grad:
        state = _value._state.__dict__  # this thread's attributes of the threading.local
        with _lock:
            global _blocks
            _blocks += 1
            state["depth"] = state.get("depth", 0) + 1
            state["enabled"] = False
            self._entries.append(state)
            _value._grad_enabled = False  # the fast path is off while any thread is inside a block
        return self

    def __exit__(self, *exc_info: object) -> None:
        mine = _value._state.__dict__
        with _lock:
            global _blocks
            entries = self._entries
            # This thread's latest entry; if it has none, the block was entered by
            # another thread (and is being closed from here): the latest entry.
            k = next((i for i in range(len(entries) - 1, -1, -1) if entries[i] is mine), len(entries) - 1)
            state = entries.pop(k)
            state["depth"] -= 1
            if state["depth"] == 0:
                state["enabled"] = True
            _blocks -= 1
            if _blocks == 0:
                _value._grad_enabled = True


# How many no_grad blocks are open, in all threads. While none is, every
# operation reads one module global (``_grad_enabled``) to know it records;
# while some are, it asks its own thread (``_value._state``).
_blocks = 0
_lock = threading.Lock()


def is_grad_enabled() -> bool:
    """True unless this thread is inside a ``no_grad`` block."""
    return _value._grad_enabled or _value._state.enabled
