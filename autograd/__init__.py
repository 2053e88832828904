"""A scalar reverse-mode automatic differentiation engine.

>>> from autograd import Value
>>> a, b = Value(2.0), Value(-3.0)
>>> c = (a * b).tanh()
>>> c.backward()
"""

from .check import gradcheck
from .graph import backward, is_grad_enabled, no_grad, topological_order
from .value import Value

__all__ = [
    "Value",
    "backward",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "topological_order",
]
