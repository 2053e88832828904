"""The node of a computation graph: :class:`Value`.

A ``Value`` wraps one Python ``float``. Every arithmetic operation on ``Value``\\ s
returns a new ``Value`` that remembers *how* it was made: which operation, and
from which inputs (its *parents*). Those records form a directed acyclic graph
from the leaves (inputs and parameters) to the output (usually a loss).

Backpropagation walks that graph backwards. For a node ``out = f(a, b)`` and a
final output ``L`` the chain rule says::

    dL/da += dL/dout * dout/da
    dL/db += dL/dout * dout/db

``dL/dout`` is ``out.grad`` (already complete when we reach ``out``, because we
visit nodes in reverse topological order); ``dout/da`` is the *local
derivative* of one operation, which only needs the numbers stored in ``a``,
``b`` and ``out``. Each operation below is therefore two small pieces of code
side by side: the forward method that computes ``out.data``, and a module-level
``_..._backward`` function that adds ``out.grad * local derivative`` to each
parent's ``.grad``. The ``+=`` is what makes a node used in several places
receive the *sum* of its contributions (the multivariate chain rule).

How a node is stored (and why)
------------------------------
micrograd gives each node a closure (``_backward``) and a ``set`` of children.
Closures are convenient but cost hundreds of bytes per node, put every node in
a reference cycle for the garbage collector to chase, and are opaque: nothing
can read what a closure computes. Here a node has six slots and nothing else:

========== ===============================================================
``data``   the value, a ``float``
``grad``   d(output)/d(this node), filled in by ``backward()``
``label``  an optional name, for pictures and explanations
``_backward`` a *shared* module-level function for the operation (``None``
           for a leaf); its ``.op`` attribute is the public name ``"*"``...
``_a``     the first parent (``None`` for a leaf)
``_b``     the second parent, *or* the constant of an operation with a plain
           number (``x * 2.0`` stores ``2.0`` here), or ``None``
========== ===============================================================

Because the operation is a named, shared function rather than a closure, a
recorded graph can be read back and replayed (see ``autograd.compile``), and a
node costs about a hundred bytes. The local derivatives are not stored: each
backward function recomputes them from the parents' and the node's ``data``,
which is cheaper than keeping them.

Plain numbers are constants, not nodes: ``x * 2`` records one node whose
parents are ``(x,)``. (PyTorch does the same: a Python scalar in an expression
needs no gradient.)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Union

Number = Union[int, float]
Operand = Union["Value", int, float]

# Set to False by ``autograd.no_grad``: operations then record nothing and
# return leaves. A module global is the cheapest flag to read on every operation.
_grad_enabled = True

_new = object.__new__


def _op(symbol: str) -> Callable[[Callable], Callable]:
    """Tag a backward function with the public name of its operation."""

    def tag(backward: Callable) -> Callable:
        backward.op = symbol
        return backward

    return tag


def _as_constant(other: object) -> float | None:
    """Return a plain number operand as a ``float``; ``None`` if it is not one."""
    if isinstance(other, (float, int)):
        return float(other)
    if isinstance(other, numbers.Real):  # NumPy scalars, Fraction, ...
        return float(other)
    return None


def _check_data(data: object) -> float:
    """Validate the ``data`` given to ``Value(...)`` and convert it to ``float``."""
    if isinstance(data, Value):
        raise TypeError(
            "Value(data) takes a number, not a Value: use the Value itself, "
            "or Value(v.data) for a new leaf with the same number"
        )
    number = _as_constant(data)
    if number is None:
        raise TypeError(f"Value(data) takes an int, float, bool or NumPy scalar, not {type(data).__name__}")
    return number


def _node(data: float, backward: Callable, a: Value, b: object) -> Value:
    """Create the result of an operation (or a plain leaf under ``no_grad``)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    if _grad_enabled:
        out._backward = backward
        out._a = a
        out._b = b
    else:
        out._backward = out._a = out._b = None
    return out


def _domain_error(op: str, detail: str) -> ValueError:
    return ValueError(f"{op}: {detail}")


class Value:
    """One float in a computation graph, with the gradient of the output w.r.t. it.

    >>> x = Value(3.0, label="x")
    >>> y = x * x + 2 * x          # records the graph
    >>> y.backward()               # dy/dx = 2x + 2
    >>> x.grad
    8.0
    """

    __slots__ = ("data", "grad", "label", "_backward", "_a", "_b")

    # NumPy scalars on the left (np.float64(2) * v) defer to our reflected methods.
    __array_ufunc__ = None

    def __init__(self, data: Number, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, not {type(label).__name__}")
        self.data = _check_data(data)
        self.grad = 0.0
        self.label = label
        self._backward = None
        self._a = None
        self._b = None

    # ------------------------------------------------------------------ graph
    @property
    def op(self) -> str:
        """The operation that produced this node (``"+"``, ``"tanh"``, ...); ``""`` for a leaf."""
        backward = self._backward
        return "" if backward is None else backward.op

    @property
    def parents(self) -> tuple[Value, ...]:
        """The ``Value``\\ s this node was computed from (constants are not parents)."""
        return tuple(p for p in (self._a, self._b) if isinstance(p, Value))

    @property
    def constant(self) -> float | None:
        """The plain-number operand of this node's operation (``2.0`` in ``x * 2``), if any."""
        b = self._b
        return b if isinstance(b, float) else None

    @property
    def is_leaf(self) -> bool:
        """True for inputs and parameters: nodes that no recorded operation produced."""
        return self._backward is None

    def detach(self) -> Value:
        """A new leaf with the same number: the graph stops here (for truncated backprop through time).

        >>> h = Value(2.0) * 3
        >>> h.detach().is_leaf, h.detach().data
        (True, 6.0)
        """
        return Value(self.data)

    def backward(self) -> None:
        """Fill ``.grad`` of every node this one depends on (see ``autograd.graph``)."""
        from .graph import backward

        backward(self)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def _repr_svg_(self) -> str | None:
        """Jupyter shows a value as a picture of its graph (``autograd.viz``).

        ``None`` (so Jupyter falls back to the text repr) for a graph too large
        to draw or when Graphviz is not installed.
        """
        from .viz import notebook_svg

        return notebook_svg(self)

    # ---------------------------------------------------- comparison (by data)
    # Equality and hashing stay by identity: nodes are kept in sets and dicts.
    def _other_data(self, other: object) -> float | None:
        if isinstance(other, Value):
            return other.data
        return _as_constant(other)

    def __lt__(self, other: object) -> bool:
        o = self._other_data(other)
        return NotImplemented if o is None else self.data < o

    def __le__(self, other: object) -> bool:
        o = self._other_data(other)
        return NotImplemented if o is None else self.data <= o

    def __gt__(self, other: object) -> bool:
        o = self._other_data(other)
        return NotImplemented if o is None else self.data > o

    def __ge__(self, other: object) -> bool:
        o = self._other_data(other)
        return NotImplemented if o is None else self.data >= o

    # ---------------------------------------------------------- addition
    def __add__(self, other: Operand) -> Value:
        """``a + b``: d/da = 1, d/db = 1, so the gradient passes through unchanged."""
        if isinstance(other, Value):
            return _node(self.data + other.data, _add_backward, self, other)
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        return _node(self.data + c, _add_const_backward, self, c)

    __radd__ = __add__

    # ---------------------------------------------------------- subtraction
    def __sub__(self, other: Operand) -> Value:
        """``a - b``: d/da = 1, d/db = -1."""
        if isinstance(other, Value):
            return _node(self.data - other.data, _sub_backward, self, other)
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        return _node(self.data - c, _sub_const_backward, self, c)

    def __rsub__(self, other: Number) -> Value:
        """``c - a``: d/da = -1."""
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        return _node(c - self.data, _rsub_const_backward, self, c)

    def __neg__(self) -> Value:
        """``-a``: d/da = -1."""
        return _node(-self.data, _neg_backward, self, None)

    # ---------------------------------------------------------- multiplication
    def __mul__(self, other: Operand) -> Value:
        """``a * b``: d/da = b, d/db = a (each input is scaled by the other)."""
        if isinstance(other, Value):
            return _node(self.data * other.data, _mul_backward, self, other)
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        return _node(self.data * c, _mul_const_backward, self, c)

    __rmul__ = __mul__

    # ---------------------------------------------------------- division
    def __truediv__(self, other: Operand) -> Value:
        """``a / b``: d/da = 1/b, d/db = -a/b² = -out/b.

        Division is its own operation (not ``a * b**-1`` as in micrograd): one
        correctly rounded result instead of two roundings.
        """
        if isinstance(other, Value):
            if other.data == 0.0:
                raise ZeroDivisionError(f"division by zero: {self.data!r} / {other.data!r}")
            return _node(self.data / other.data, _div_backward, self, other)
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        if c == 0.0:
            raise ZeroDivisionError(f"division by zero: {self.data!r} / {c!r}")
        return _node(self.data / c, _div_const_backward, self, c)

    def __rtruediv__(self, other: Number) -> Value:
        """``c / a``: d/da = -c/a² = -out/a."""
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        if self.data == 0.0:
            raise ZeroDivisionError(f"division by zero: {c!r} / {self.data!r}")
        return _node(c / self.data, _rdiv_const_backward, self, c)

    # ---------------------------------------------------------- powers
    def __pow__(self, other: Operand) -> Value:
        """``a ** b``: d/da = b·a^(b-1); for a ``Value`` exponent also d/db = a^b·ln(a)."""
        if isinstance(other, Value):
            return _node(_power(self.data, other.data), _pow_backward, self, other)
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        return _node(_power(self.data, c), _pow_const_backward, self, c)

    def __rpow__(self, other: Number) -> Value:
        """``c ** a`` (a number base): d/da = c^a·ln(c) = out·ln(c)."""
        c = _as_constant(other)
        if c is None:
            return NotImplemented
        return _node(_power(c, self.data), _rpow_const_backward, self, c)

    def sqrt(self) -> Value:
        """``√a``: d/da = 1/(2√a) = 0.5/out."""
        if self.data < 0.0:
            raise _domain_error("sqrt", f"square root of a negative number ({self.data!r})")
        return _node(math.sqrt(self.data), _sqrt_backward, self, None)

    # ---------------------------------------------------------- exp and log
    def exp(self) -> Value:
        """``eᵃ``: d/da = eᵃ = out (the exponential is its own derivative)."""
        try:
            data = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp: exp({self.data!r}) is too large for a float") from None
        return _node(data, _exp_backward, self, None)

    def log(self) -> Value:
        """``ln a`` (natural logarithm): d/da = 1/a."""
        return _node(_log(self.data), _log_backward, self, None)

    # ---------------------------------------------------------- activations
    def tanh(self) -> Value:
        """``tanh a``: d/da = 1 - tanh² a = (1 - out)(1 + out).

        ``math.tanh`` is finite for every input (±1.0 for large |a|). The
        factored form ``(1 - t)(1 + t)`` is more accurate than ``1 - t*t`` when
        ``t`` is close to ±1.
        """
        return _node(math.tanh(self.data), _tanh_backward, self, None)

    def sigmoid(self) -> Value:
        """``σ(a) = 1 / (1 + e⁻ᵃ)``: d/da = σ(a)·(1 - σ(a)) = out·(1 - out).

        Computed so that ``exp`` never overflows: for ``a ≥ 0`` as
        ``1 / (1 + e⁻ᵃ)``, for ``a < 0`` as ``eᵃ / (1 + eᵃ)``.
        """
        return _node(_sigmoid(self.data), _sigmoid_backward, self, None)

    def relu(self) -> Value:
        """``max(0, a)``: d/da = 1 if a > 0 else 0 (0 at a = 0, as in PyTorch)."""
        x = self.data
        return _node(x if x > 0.0 else 0.0, _relu_backward, self, None)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """``a if a > 0 else slope·a``: d/da = 1 if a > 0 else slope."""
        s = _as_constant(slope)
        if s is None:
            raise TypeError(f"leaky_relu: slope must be a number, not {type(slope).__name__}")
        x = self.data
        return _node(x if x > 0.0 else x * s, _leaky_relu_backward, self, s)

    def __abs__(self) -> Value:
        """``|a|``: d/da = sign(a) (0 at a = 0, as in PyTorch)."""
        return _node(abs(self.data), _abs_backward, self, None)

    # ---------------------------------------------------------- trigonometry
    def sin(self) -> Value:
        """``sin a``: d/da = cos a."""
        _check_finite("sin", self.data)
        return _node(math.sin(self.data), _sin_backward, self, None)

    def cos(self) -> Value:
        """``cos a``: d/da = -sin a."""
        _check_finite("cos", self.data)
        return _node(math.cos(self.data), _cos_backward, self, None)


def _log(x: float) -> float:
    """``ln x`` for ``x > 0``; a ``ValueError`` naming the number otherwise (NaN included)."""
    if not x > 0.0:
        raise _domain_error("log", f"logarithm of a non-positive number ({x!r})")
    return math.log(x)


def _sigmoid(x: float) -> float:
    """``1 / (1 + e⁻ˣ)``, evaluated so that ``exp`` only ever sees ``-|x|`` and cannot overflow."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _check_finite(op: str, x: float) -> None:
    if math.isinf(x):
        raise _domain_error(op, f"{op} of an infinite number ({x!r})")


def _power(base: float, exponent: float) -> float:
    """``base ** exponent`` as a real number, with errors that say what went wrong."""
    if base < 0.0 and not exponent.is_integer():
        raise _domain_error(
            "**", f"a negative base to a non-integer power ({base!r} ** {exponent!r}) is not real"
        )
    if base == 0.0 and exponent < 0.0:
        raise ZeroDivisionError(f"**: zero to a negative power ({base!r} ** {exponent!r}) divides by zero")
    try:
        return base**exponent
    except OverflowError:
        raise OverflowError(f"**: {base!r} ** {exponent!r} is too large for a float") from None


def _power_slope(base: float, exponent: float) -> float:
    """d(base^exponent)/d(base) = exponent · base^(exponent - 1).

    At ``base = 0`` with ``0 < exponent < 1`` the slope is infinite (as in
    PyTorch); with ``exponent = 0`` the function is constant, so the slope is 0.
    """
    if exponent == 0.0:
        return 0.0
    if base == 0.0 and exponent < 1.0:
        return math.copysign(math.inf, exponent)
    try:
        return exponent * base ** (exponent - 1.0)
    except OverflowError:  # e.g. a tiny base to a power near -1: the slope is infinite
        negative = base < 0.0 and (exponent - 1.0) % 2.0 == 1.0  # odd power of a negative base
        return exponent * (-math.inf if negative else math.inf)


# ============================================================================
# Backward functions: one per operation, each adds out.grad * (local derivative)
# to its parents' .grad. ``node`` is the output of the operation.
# ============================================================================


@_op("+")
def _add_backward(node: Value) -> None:
    g = node.grad
    node._a.grad += g
    node._b.grad += g


@_op("+")
def _add_const_backward(node: Value) -> None:
    node._a.grad += node.grad


@_op("-")
def _sub_backward(node: Value) -> None:
    g = node.grad
    node._a.grad += g
    node._b.grad -= g


@_op("-")
def _sub_const_backward(node: Value) -> None:
    node._a.grad += node.grad


@_op("-")
def _rsub_const_backward(node: Value) -> None:
    node._a.grad -= node.grad


@_op("neg")
def _neg_backward(node: Value) -> None:
    node._a.grad -= node.grad


@_op("*")
def _mul_backward(node: Value) -> None:
    g = node.grad
    a = node._a
    b = node._b
    a.grad += g * b.data
    b.grad += g * a.data


@_op("*")
def _mul_const_backward(node: Value) -> None:
    node._a.grad += node.grad * node._b


@_op("/")
def _div_backward(node: Value) -> None:
    g = node.grad
    b = node._b
    node._a.grad += g / b.data
    b.grad -= g * node.data / b.data


@_op("/")
def _div_const_backward(node: Value) -> None:
    node._a.grad += node.grad / node._b


@_op("/")
def _rdiv_const_backward(node: Value) -> None:
    a = node._a
    a.grad -= node.grad * node.data / a.data


@_op("**")
def _pow_backward(node: Value) -> None:
    g = node.grad
    a = node._a
    b = node._b
    a.grad += g * _power_slope(a.data, b.data)
    # d(a^b)/db = a^b · ln(a): defined for a > 0; at a = 0 the limit is 0 for
    # b ≥ 0 (PyTorch's convention); for a < 0 it is not a real number.
    if a.data > 0.0:
        b.grad += g * node.data * math.log(a.data)
    elif a.data < 0.0:
        b.grad += g * math.nan


@_op("**")
def _pow_const_backward(node: Value) -> None:
    a = node._a
    a.grad += node.grad * _power_slope(a.data, node._b)


@_op("**")
def _rpow_const_backward(node: Value) -> None:
    c = node._b
    # d(c^a)/da = c^a · ln(c); a zero base gives 0 (constant 0 for a > 0).
    if c > 0.0:
        node._a.grad += node.grad * node.data * math.log(c)
    elif c < 0.0:
        node._a.grad += node.grad * math.nan


@_op("sqrt")
def _sqrt_backward(node: Value) -> None:
    out = node.data
    node._a.grad += node.grad * (0.5 / out if out != 0.0 else math.inf)


@_op("exp")
def _exp_backward(node: Value) -> None:
    node._a.grad += node.grad * node.data


@_op("log")
def _log_backward(node: Value) -> None:
    a = node._a
    a.grad += node.grad / a.data


@_op("tanh")
def _tanh_backward(node: Value) -> None:
    t = node.data
    node._a.grad += node.grad * ((1.0 - t) * (1.0 + t))


@_op("sigmoid")
def _sigmoid_backward(node: Value) -> None:
    s = node.data
    node._a.grad += node.grad * (s * (1.0 - s))


@_op("relu")
def _relu_backward(node: Value) -> None:
    if node.data > 0.0:
        node._a.grad += node.grad


@_op("leaky_relu")
def _leaky_relu_backward(node: Value) -> None:
    a = node._a
    a.grad += node.grad if a.data > 0.0 else node.grad * node._b


@_op("abs")
def _abs_backward(node: Value) -> None:
    a = node._a
    x = a.data
    if x > 0.0:
        a.grad += node.grad
    elif x < 0.0:
        a.grad -= node.grad


@_op("sin")
def _sin_backward(node: Value) -> None:
    a = node._a
    a.grad += node.grad * math.cos(a.data)


@_op("cos")
def _cos_backward(node: Value) -> None:
    a = node._a
    a.grad -= node.grad * math.sin(a.data)
