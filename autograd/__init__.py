"""A scalar reverse-mode automatic differentiation engine.

>>> from autograd import Value
>>> a, b = Value(2.0), Value(-3.0)
>>> c = (a * b).tanh()
>>> c.backward()
"""

from . import pickling as _pickling  # noqa: F401 -- teaches Value to pickle (and deepcopy) any graph
from .check import gradcheck
from .compile import compile_graph
from .explain import explain
from .graph import backward, topological_order
from .no_grad import is_grad_enabled, no_grad
from .operation import Operation
from .value import Value, apply, logsumexp
from .viz import draw_graph, save_graph
from .walkthrough import walkthrough

__all__ = [
    "Operation",
    "Value",
    "apply",
    "backward",
    "compile_graph",
    "draw_graph",
    "explain",
    "gradcheck",
    "is_grad_enabled",
    "logsumexp",
    "no_grad",
    "save_graph",
    "topological_order",
    "walkthrough",
]
