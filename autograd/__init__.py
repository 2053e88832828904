"""A scalar reverse-mode automatic differentiation engine.

>>> from autograd import Value
>>> a, b = Value(2.0), Value(-3.0)
>>> c = (a * b).tanh()
>>> c.backward()
"""

from .check import gradcheck
from .compile import compile_graph
from .explain import explain
from .graph import backward, is_grad_enabled, no_grad, topological_order
from .value import Value
from .viz import draw_graph, save_graph
from .walkthrough import walkthrough

__all__ = [
    "Value",
    "backward",
    "compile_graph",
    "draw_graph",
    "explain",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "save_graph",
    "topological_order",
    "walkthrough",
]
