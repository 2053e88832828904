"""The node of a computation graph: :class:`Value`, and every operation on it.

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
derivative* of one operation, which only needs the numbers ``a``, ``b`` and
``out``. The ``+=`` is what makes a node used in several places receive the
*sum* of its contributions (the multivariate chain rule).

Each operation, once
--------------------
Further down, every operation is one :class:`~autograd.operation.Operation`:
its forward expression and, beside it, its local derivatives::

    MUL = _op("*", "a * b", a="b", b="a")          # d(a·b)/da = b, d(a·b)/db = a

Everything else is derived from that line: the method ``Value.__mul__`` that
computes ``out``, the backward function that adds ``out.grad * b`` to
``a.grad``, the code ``compile_graph`` writes, and the formula ``explain``
prints (see ``autograd/operation.py``). So the interpreter, a compiled replay
and ``explain`` compute the same numbers by construction. The methods and
backward functions are written out ahead of time into
``autograd/_generated.py`` by ``python -m autograd.codegen`` (so they have
real source); ``Value`` inherits the methods from its ``Operators`` class.

How a node is stored (and why)
------------------------------
micrograd gives each node a closure (``_backward``) and a ``set`` of children.
Closures cost hundreds of bytes per node, put every node in a reference cycle
for the garbage collector to chase, and cannot be read back. Here a node has
six slots: ``_data`` (the number, read and written as ``.data``), ``grad``,
``_label``, ``_operation`` (the shared :class:`Operation` record, ``None`` for
a leaf), and ``_a``, ``_b``: the parents, or in ``_b`` the plain number of an
operation with a constant (``x * 2.0`` keeps ``2.0`` there). About a hundred
bytes a node. :func:`decode` is the one function that reads ``_a`` and
``_b`` back as parents and constants. For code written for micrograd,
``_prev``, ``_op`` and ``_backward()`` are there too, computed from these
slots; and micrograd's ``Value(data, (a, b), "*")`` with its own
``_backward`` closure makes a node whose record (in ``_operation``) holds that
closure: that node, and only it, pays for one.

Plain numbers are constants, not nodes: ``x * 2`` records one node whose
parents are ``(x,)``. (PyTorch does the same: a Python scalar in an expression
needs no gradient.)
"""

from __future__ import annotations

import math
import numbers
import sys
import threading
from collections.abc import Callable, Iterable
from types import FunctionType
from typing import TYPE_CHECKING, Any, ClassVar, SupportsIndex, Union

from . import _generated
from .operation import Operation, register, register_source

Number = Union[int, float]
Operand = Union["Value", int, float]

__all__ = ["Value", "apply", "decode", "logsumexp", "OPERATIONS"]

# Whether operations record the graph. ``autograd.no_grad`` manages both:
# ``_grad_enabled`` is True while no thread is inside a ``no_grad`` block (one
# module global: the cheapest flag to read on every operation); while some
# thread is, each thread's own ``_state.enabled`` decides.
_grad_enabled = True


class _ThreadState(threading.local):
    enabled = True  # False inside this thread's no_grad blocks
    depth = 0  # how many of this thread's no_grad blocks are open


_state = _ThreadState()

_new = object.__new__


# ============================================================================
# Plain numbers
# ============================================================================


def _as_constant(other: Any) -> float | None:
    """A plain-number operand as a ``float``; ``None`` if it is not one.

    ``int``, ``float``, ``bool``, NumPy scalars (``np.float32``, ``np.int64``,
    ``np.bool_``), ``Fraction``... A number too large for a float (``10**400``,
    ``np.longdouble("1e400")``) is an ``OverflowError`` that shows the number:
    never a silent infinity.
    """
    if other.__class__ is float:
        return other
    if isinstance(other, numbers.Real) or _is_numpy_bool(other):
        try:
            number = float(other)
        except OverflowError:
            raise _too_large(other) from None
        if number in (math.inf, -math.inf) and other == other and not other == number:
            raise _too_large(other)  # a wider float (np.longdouble) that a float cannot hold
        return number
    return None


def _too_large(number: Any) -> OverflowError:
    """The error for a number beyond the largest float, showing the number (briefly, if it is long)."""
    try:
        text = str(number)
    except ValueError:  # an int of more digits than Python turns into text
        exponent = math.floor(math.log10(abs(number)))
        text = f"{'-' if number < 0 else ''}{10 ** (math.log10(abs(number)) - exponent):.6f}e+{exponent}"
        text += f" ({exponent + 1} digits)"
    if len(text) > 30:
        text = f"{text[:12]}...{text[-6:]} ({len(text)} digits)"
    return OverflowError(f"{text} is too large for a float (the largest is about 1.8e308)")


def _is_numpy_bool(x: object) -> bool:
    cls = type(x)
    return cls.__module__ == "numpy" and cls.__name__ in ("bool_", "bool")


def _check_data(data: object) -> float:
    """Validate a number given as ``Value(data)`` or assigned to ``.data``; return it as a ``float``."""
    if isinstance(data, Value):
        raise TypeError(
            "Value(data) takes a number, not a Value: use the Value itself, "
            "or Value(v.data) for a new leaf with the same number"
        )
    number = _as_constant(data)
    if number is None:
        raise TypeError(f"Value(data) takes an int, float, bool or NumPy scalar, not {type(data).__name__}")
    return number


def _param(x: object, name: str, op: str) -> float:
    number = _as_constant(x)
    if number is None:
        raise TypeError(f"{op}: {name} must be a number, not {type(x).__name__}")
    return number


# ============================================================================
# The node
# ============================================================================


class Value(_generated.Operators):
    """One float in a computation graph, with the gradient of the output w.r.t. it.

    >>> x = Value(3.0, label="x")
    >>> y = x * x + 2 * x          # records the graph
    >>> y.backward()               # dy/dx = 2x + 2
    >>> x.grad
    8.0

    Comparisons (``<``, ``<=``, ``>``, ``>=``) compare the numbers, but ``==``
    and ``hash`` are by identity, as for PyTorch tensors used as dict keys:
    the engine keeps nodes in sets and dicts, where two different nodes that
    happen to hold the same number must stay two nodes. Compare ``a.data ==
    b.data`` for the numbers.

    The lecture's way of adding an operation works too: make the result with
    its children and its operation's name, and give it a ``_backward`` that
    passes the gradient on (this node's record then holds that function)::

        def cube(self):
            out = Value(self.data ** 3, (self,), "cube")
            def _backward():
                self.grad += 3 * self.data ** 2 * out.grad
            out._backward = _backward
            return out
        Value.cube = cube

    ``backward()``, ``draw_graph`` and ``topological_order`` handle such nodes;
    ``explain``, ``compile_graph`` and pickling need an operation written down
    as an :class:`~autograd.operation.Operation` and refuse them with a
    ``TypeError`` that says so.

    >>> a = Value(2.0, label="a")
    >>> c = Value(a.data ** 3, (a,), "cube")
    >>> def _backward():
    ...     a.grad += 3 * a.data ** 2 * c.grad
    >>> c._backward = _backward
    >>> c.backward(); a.grad
    12.0
    """

    __slots__ = ("_data", "grad", "_label", "_operation", "_a", "_b")
    _data: float
    grad: float
    _label: str
    _operation: Operation | _Closure | None
    _a: Any  # the first parent, or all the parents as a tuple; None for a leaf
    _b: Any  # the second parent, or the constant(s); None

    def __init__(
        self, data: Number, _children: Iterable[Value] | str = (), _op: str = "", label: str = ""
    ) -> None:
        # A leaf from a float is the common case: six slot writes, no call.
        self._data = data if data.__class__ is float else _check_data(data)
        self.grad = 0.0
        self._operation = self._a = self._b = None
        if _children:  # micrograd's Value(data, (a, b), "*"), or Value(2.0, "x") with a label
            if isinstance(_children, str):
                if label:
                    raise TypeError("Value(data, label): the label is given twice")
                label, _children = _children, ()
            else:
                _record_children(self, _children, _op)
        self._label = label if label.__class__ is str else _check_label(label)

    # ------------------------------------------------------------ the number and its name
    @property
    def data(self) -> float:
        """The number. Assigning converts it to a Python ``float`` (a NumPy ``float32`` would
        otherwise make every later operation compute in single precision)."""
        return self._data

    @data.setter
    def data(self, number: Number) -> None:
        self._data = number if number.__class__ is float else _check_data(number)

    @property
    def label(self) -> str:
        """An optional name, shown in pictures and explanations (a ``str``)."""
        return self._label

    @label.setter
    def label(self, label: str) -> None:
        self._label = label if label.__class__ is str else _check_label(label)

    # ------------------------------------------------------------ the graph
    @property
    def op(self) -> str:
        """The operation that produced this node (``"+"``, ``"tanh"``, ...); ``""`` for a leaf."""
        operation = self._operation
        return "" if operation is None else operation.name

    @property
    def operation(self) -> Operation | _Closure | None:
        """The :class:`~autograd.operation.Operation` that produced this node; ``None`` for a leaf.

        (For a node made the lecture's way, the record holding its ``_backward``.)
        """
        return self._operation

    @property
    def parents(self) -> tuple[Value, ...]:
        """The ``Value``\\ s this node was computed from, in order (constants are not parents)."""
        return decode(self)[0]

    @property
    def constants(self) -> tuple[float, ...]:
        """The plain numbers of this node's operation: ``(2.0,)`` for ``x * 2``, ``(low, high)`` for clamp."""
        return decode(self)[1]

    @property
    def constant(self) -> float | None:
        """The plain-number operand of this node's operation (``2.0`` in ``x * 2``), if it has one."""
        b = self._b
        return b if b.__class__ is float else None

    @property
    def is_leaf(self) -> bool:
        """True where the backward pass ends: inputs and parameters, and the results of ``detach()``.

        As in PyTorch (``x.detach().is_leaf`` is ``True``): no gradient flows
        from a detached node to anything. Unlike an input, it is still an
        operation's result (``op == "detach"``, its source in ``parents``), so
        a compiled replay recomputes it, and its ``.grad`` holds the gradient of
        the latest backward pass (as an intermediate node's does) rather than
        accumulating.
        """
        operation = self._operation
        return operation is None or not any(operation.receives)

    # micrograd's names, so code written for micrograd (and its lecture) runs unchanged.
    @property
    def _prev(self) -> set[Value]:
        """The set of parents (micrograd's name; read-only)."""
        return set(self.parents)

    @property
    def _op(self) -> str:
        """The operation's name (micrograd's name for :attr:`op`)."""
        return self.op

    @property
    def _backward(self) -> Callable[[], None]:
        """micrograd's per-node step: calling it adds ``self.grad * local`` to each parent's ``.grad``.

        >>> a, b = Value(2.0), Value(-3.0)
        >>> c = a * b
        >>> c.grad = 1.0
        >>> c._backward()       # one node's chain-rule step, by hand
        >>> a.grad, b.grad
        (-3.0, 2.0)

        On a node made the lecture's way (``Value(data, children, op)``) it is
        the function you assigned; on a node an operation of the engine made,
        assigning it is an ``AttributeError``: its rule comes from its
        operation's one definition.
        """
        operation = self._operation
        if operation is None:
            return _nothing
        if isinstance(operation, _Closure):
            return operation.function
        backward = operation.backward
        return lambda: backward(self)

    @_backward.setter
    def _backward(self, function: Callable[[], None]) -> None:
        operation = self._operation
        if isinstance(operation, _Closure):
            if not callable(function):
                raise TypeError(
                    f"_backward must be a function of no arguments, not {type(function).__name__}"
                )
            operation.function = function
        elif operation is not None:
            raise AttributeError(
                f"this node's backward rule comes from its operation's one definition "
                f"({operation.name!r}: {operation.rule_text()}), which every node of it shares; "
                "to write your own rule, make the node the lecture's way, "
                "Value(data, (parents...), 'name'), or define an autograd.Operation"
            )
        elif _grad_enabled or _state.enabled:
            raise AttributeError(
                "a leaf has no parents to pass its gradient to: give _backward to a node made with "
                "its children, Value(data, (parents...), 'name')"
            )
        # Under no_grad a node made with children records none (it is a leaf): nothing to pass on.

    if TYPE_CHECKING:  # attached to the class by the modules named below; declared for type checkers
        #: Fill ``.grad`` of every node this one depends on (``autograd.graph.backward``): ``y.backward()``.
        backward: ClassVar[Callable[[Value], None]]
        #: The picture of the graph a notebook shows (``autograd.viz.notebook_svg``, ``notebook_html``).
        _repr_svg_: ClassVar[Callable[[Value], str | None]]
        _repr_html_: ClassVar[Callable[[Value], str | None]]

    # ``v.backward()`` and pickling walk the whole graph: they are defined in
    # ``autograd/graph.py`` (the graph walk imports this module, never the other
    # way round) and attached to the class there; ``_repr_svg_`` (the picture a
    # notebook shows) likewise in ``autograd/viz.py``.

    def detach(self) -> Value:
        """The same number, with the gradient stopped here (for truncated backprop through time).

        ``detach`` is an operation (forward: the number ``a``) whose input is
        *forward-only*: no gradient flows back to it, not even ``0 × g``, and
        ``backward()`` does not walk past it into its source's history. A
        compiled replay recomputes it from its source, like any operation.
        It keeps a reference to its source, so the source's graph stays in
        memory as long as the detached node does; ``Value(v.data)`` is a new
        leaf with no history at all (but a replay cannot update it).

        >>> h = Value(2.0) * 3
        >>> d = h.detach()
        >>> d.data, d.op, d.parents == (h,), d.is_leaf
        (6.0, 'detach', True, True)
        """
        return apply(DETACH, self)

    # ------------------------------------------------------------ the number out
    def item(self) -> float:
        """The number, as PyTorch's ``tensor.item()``: ``loss.item()``."""
        return self._data

    def __float__(self) -> float:
        return self._data

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats the number; ``f"{loss}"`` is the repr."""
        return format(self._data, spec) if spec else repr(self)

    def __round__(self, ndigits: int | None = None) -> float:
        """``round(v, 2)`` rounds the number (a plain ``float``, not a node)."""
        return round(self._data, ndigits) if ndigits is not None else round(self._data)

    def __repr__(self) -> str:
        label = f", label={self._label!r}" if self._label else ""
        return f"Value(data={self._data!r}, grad={self.grad!r}{label})"

    # ------------------------------------------------------------ comparisons (by number)
    def _other_data(self, other: object) -> float | None:
        if isinstance(other, Value):
            return other._data
        return _as_constant(other)

    def __lt__(self, other: object) -> bool:
        o = self._other_data(other)
        return NotImplemented if o is None else self._data < o

    def __le__(self, other: object) -> bool:
        o = self._other_data(other)
        return NotImplemented if o is None else self._data <= o

    def __gt__(self, other: object) -> bool:
        o = self._other_data(other)
        return NotImplemented if o is None else self._data > o

    def __ge__(self, other: object) -> bool:
        o = self._other_data(other)
        return NotImplemented if o is None else self._data >= o

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    # ------------------------------------------------------------ NumPy
    def __array_ufunc__(self, ufunc, method: str, *inputs: object, **kwargs: object) -> object:
        """NumPy's functions on a ``Value`` are the engine's operations: ``np.exp(v)`` is ``v.exp()``.

        So gradients flow through ``np.exp``, ``np.tanh``, ``a + b`` with a NumPy
        scalar, and object arrays of ``Value``\\ s (``np.dot(W, x)``). With an
        array, NumPy's rules hold: ``Value(2.0) * np.array([1.0, 2.0])`` is an
        object array of ``Value``\\ s, one operation per element. Comparisons
        (``np.float64(3) > v``) compare the numbers. A NumPy function the engine
        has no operation for is a ``TypeError`` that says so.
        """
        name = ufunc.__name__
        if method != "__call__" or kwargs or (name not in _UFUNCS and name not in _COMPARISONS):
            known = ", ".join(sorted(_UFUNCS))
            raise TypeError(
                f"numpy.{name} ({method}) has no Value operation; the engine maps these ufuncs: {known}"
            )
        np = sys.modules["numpy"]
        inputs = tuple(x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x for x in inputs)
        if any(isinstance(x, np.ndarray) for x in inputs):
            # Each Value as a 0-d object array: NumPy then broadcasts and calls the operation per
            # element (v * 2.0, 2.0 * v, v.exp()...), giving an object array of Values.
            return ufunc(*(np.array(x, dtype=object) if isinstance(x, Value) else x for x in inputs))
        if name in _COMPARISONS:
            a, b = (self._other_data(x) for x in inputs)
            return NotImplemented if a is None or b is None else _COMPARISONS[name](a, b)
        operation = _UFUNCS[name]
        operands = [x if isinstance(x, Value) else _as_constant(x) for x in inputs]
        if any(x is None for x in operands):
            return NotImplemented
        return operation(*operands)

    # The operators (``+``, ``*``...) and the methods of the operations (``tanh``...) are
    # inherited from ``Operators`` in ``autograd/_generated.py``, written from the operation
    # table at the end of this module by ``python -m autograd.codegen`` (see ``_install``).


def _nothing() -> None:
    """A leaf's ``_backward``: nothing to pass on."""


def _check_label(label: object) -> str:
    if not isinstance(label, str):
        raise TypeError(f"label must be a str, not {type(label).__name__}")
    return label


# ============================================================================
# Reading a node: the one decoder of the slots
# ============================================================================


def decode(node: Value) -> tuple[tuple[Value, ...], tuple[float, ...]]:
    """What ``node`` was computed from: its parents (``Value``\\ s) and its constants (plain numbers).

    The one place that knows how a node keeps them in its two slots ``_a``
    and ``_b``; every walk of the graph reads nodes through it (or, in a hot
    loop, through a copy of its rule that a test compares with it):

    * a leaf (``_operation is None``): nothing;
    * many parents (``logsumexp``, or a node made the lecture's way,
      ``Value(data, (a, b), "*")``): all of them, as a tuple in ``_a``;
    * otherwise the first parent in ``_a``; in ``_b`` the second parent if
      the operation has two (``operation.two_parents``), else its constants:
      one number, a tuple of several, or ``None``.

    The operation, not the class of what ``_b`` holds, says which: so a
    subclass of ``Value`` is a parent in every position.

    >>> x = Value(3.0)
    >>> decode(x * 2.0) == ((x,), (2.0,)), decode(x * x) == ((x, x), ())
    (True, True)
    """
    operation = node._operation
    if operation is None:
        return (), ()
    a = node._a
    if a.__class__ is tuple:
        return a, ()
    b = node._b
    if operation.two_parents:
        return (a, b), ()
    if b is None:
        return (a,), ()
    return (a,), (b if b.__class__ is tuple else (b,))


class _Closure:
    """The record of a node made the lecture's way: ``Value(data, (a, b), "*")``, then ``_backward = f``.

    Each such node has its own record (its own function), in the slot where an
    engine-made node keeps its shared :class:`~autograd.operation.Operation`;
    its parents are a tuple in ``_a``. ``backward()`` calls ``function()`` in
    its place in the engine's order. What it computes is hidden in a closure,
    so the parts of the engine that read an operation's definition (its
    forward and derivatives) refuse it: see :meth:`refuse`.
    """

    __slots__ = ("name", "function")
    closure = True
    nary = True  # the parents are a tuple in ``_a``
    two_parents = False
    params = constants = ()
    # Its _backward may pass a gradient to any parent: the backward walk goes to all of them.
    receives = (True,)
    forward_only = False

    def __init__(self, name: str) -> None:
        self.name = name
        self.function: Callable[[], None] = _nothing

    def backward(self, node: Value) -> None:
        self.function()

    def gradient_parents(self, node: Value) -> tuple[Value, ...]:
        """Every parent (the backward walk cannot know which ones the closure passes a gradient to)."""
        return node._a

    def __repr__(self) -> str:
        return f"<operation {self.name!r} written as a _backward closure>"

    def refuse(
        self, what: str = "the engine's own work on a graph (explain, compile_graph, pickling)"
    ) -> TypeError:
        """The error for a use that needs the operation's definition, which a closure does not give."""
        return TypeError(
            f"{what} needs each operation's forward and derivatives written down, but {self.name!r} was "
            "made the lecture's way (Value(data, children, op) with its own _backward), a closure the "
            "engine cannot read; define it as an autograd.Operation(name, forward, derivatives) and "
            "apply(...) it: backward, explain, compile_graph and pickling then all know it"
        )

    def __getattr__(self, name: str) -> object:
        # forward, derivatives, helpers, local_derivatives...: what only a written-down operation has.
        if name.startswith("__"):
            raise AttributeError(name)
        raise self.refuse()

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple:
        raise self.refuse("pickling (and copy.deepcopy)")


def _record_children(node: Value, children: Iterable[Value], op: str) -> None:
    """Make ``node`` the result of a lecture-style operation named ``op`` on ``children``."""
    parents = tuple(children)
    for parent in parents:
        if not isinstance(parent, Value):
            raise TypeError(
                f"Value(data, _children): every child must be a Value, not {type(parent).__name__}"
            )
    if not isinstance(op, str):
        raise TypeError(f"Value(data, _children, _op): _op must be a str, not {type(op).__name__}")
    if parents and (_grad_enabled or _state.enabled):
        node._operation = _Closure(op)
        node._a = parents


# ============================================================================
# Helpers the operations' expressions call: each raises a clear error where
# the result is not a real number (and changes nothing, as nothing is
# recorded until the number exists).
# ============================================================================


def _domain_error(op: str, detail: str) -> ValueError:
    return ValueError(f"{op}: {detail}")


def _divide(a: float, b: float) -> float:
    if b == 0.0:
        raise ZeroDivisionError(f"division by zero: {a!r} / {b!r}")
    return a / b


def _exp(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        raise OverflowError(f"exp: exp({a!r}) is too large for a float") from None


def _log(a: float) -> float:
    """``ln a`` for ``a > 0`` (NaN gives NaN); a ``ValueError`` naming the number otherwise."""
    if a > 0.0 or a != a:
        return math.log(a)
    raise _domain_error("log", f"logarithm of a non-positive number ({a!r})")


def _log1p(a: float) -> float:
    """``ln(1 + a)``, accurate for tiny ``a``; ``a > -1``."""
    if a > -1.0 or a != a:
        return math.log1p(a)
    raise _domain_error("log1p", f"log(1 + a) of a number a <= -1 ({a!r})")


def _sqrt(a: float) -> float:
    if a < 0.0:
        raise _domain_error("sqrt", f"square root of a negative number ({a!r})")
    return math.sqrt(a)


def _sqrt_slope(out: float) -> float:
    """d√a/da = 1/(2√a) = 0.5/out; infinite at 0, with the zero's sign (√-0.0 is -0.0), as in PyTorch."""
    return 0.5 / out if out != 0.0 else math.copysign(math.inf, out)


def _sigmoid(a: float) -> float:
    """``1 / (1 + e⁻ᵃ)``, evaluated so that ``exp`` only ever sees ``-|a|`` and cannot overflow."""
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def _softplus(a: float) -> float:
    """``ln(1 + eᵃ) = max(a, 0) + ln(1 + e^-|a|)``: ``exp`` never overflows, never rounds to 0 wrongly."""
    if a != a:
        return a
    return max(a, 0.0) + math.log1p(math.exp(-abs(a)))


def _finite_trig(op: str, function: Callable[[float], float]) -> Callable[[float], float]:
    def checked(a: float) -> float:
        if math.isinf(a):
            raise _domain_error(op, f"{op} of an infinite number ({a!r})")
        return function(a)

    checked.__name__ = f"_{op}"
    return checked


_sin = _finite_trig("sin", math.sin)
_cos = _finite_trig("cos", math.cos)


def _sign(a: float) -> float:
    """sign(a): 1, -1, or 0 at ±0 and NaN: PyTorch's slope of ``abs`` (``sgn``), at its kink too.

    The 0 is +0.0 (so ``g · 0`` has the sign of ``g``) and NaN's slope is 0, as
    in PyTorch; an infinite or NaN ``g`` times it is still NaN.
    """
    return 1.0 if a > 0.0 else -1.0 if a < 0.0 else 0.0


def _power(base: float, exponent: float) -> float:
    """``base ** exponent`` as a real number, with errors that say what went wrong.

    A negative base to a finite non-integer power is not real (Python would
    return a complex number): a ``ValueError``. Infinite and NaN exponents
    follow IEEE and Python: ``(-0.5) ** inf`` is 0, ``(-1) ** nan`` is NaN.
    """
    if base < 0.0 and math.isfinite(exponent) and not exponent.is_integer():
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
        return exponent * _power(base, exponent - 1.0)
    except OverflowError:  # e.g. a tiny base to a power near -1: the slope is infinite
        negative = base < 0.0 and (exponent - 1.0) % 2.0 == 1.0  # odd power of a negative base
        return exponent * (-math.inf if negative else math.inf)


def _power_exponent_slope(base: float, exponent: float, out: float) -> float:
    """d(base^b)/db = base^b · ln(base); NaN for base < 0.

    At base = 0 it is 0 for b ≥ 0 (PyTorch's convention: ``0^b`` is flat
    there) and NaN for a NaN ``b``, as in PyTorch (a 0 would hide the NaN).
    """
    if base > 0.0:
        return out * math.log(base)
    return 0.0 if base == 0.0 and exponent >= 0.0 else math.nan


def _clamp(a: float, low: float, high: float) -> float:
    """``a`` limited to [low, high]; for low > high everything is high (as PyTorch).

    NaN propagates: a NaN ``a`` stays NaN, and a NaN bound makes the result
    NaN (as in PyTorch; ``min``/``max`` would silently ignore it).
    """
    if a != a:
        return a
    if low != low or high != high:
        return math.nan
    return min(max(a, low), high)


def _clamp_slope(a: float, low: float, high: float) -> float:
    """1 inside [low, high] (ends included, as PyTorch), 0 outside; NaN for a NaN bound.

    With a NaN bound the output is NaN whatever ``a`` is, so its slope is NaN
    too (PyTorch returns 0 there: the engine does not hide the NaN).
    """
    if low != low or high != high:
        return math.nan
    return 1.0 if low <= a <= high else 0.0


def _maximum(a: float, b: float) -> float:
    """The larger of ``a`` and ``b``; NaN if either is NaN (as ``torch.maximum``)."""
    if a != a or b != b:
        return math.nan
    return a if a >= b else b


def _minimum(a: float, b: float) -> float:
    """The smaller of ``a`` and ``b``; NaN if either is NaN (as ``torch.minimum``)."""
    if a != a or b != b:
        return math.nan
    return a if a <= b else b


def _logsumexp(xs: tuple[float, ...]) -> float:
    """``ln Σ eˣ``, shifted by the largest ``x`` so no ``exp`` overflows: ``m + ln Σ e^(x - m)``.

    The identity holds for every shift ``m``; the largest makes every exponent
    ≤ 0 and the sum ≥ 1. All ``-inf`` gives ``-inf``; any ``+inf`` gives ``+inf``.
    """
    m = max(xs)
    if m != m or any(x != x for x in xs):
        return math.nan
    if math.isinf(m):
        return m
    return m + math.log(math.fsum(math.exp(x - m) for x in xs))


#: PyTorch's ``binary_cross_entropy`` clamps each log at -100, so that a
#: probability of exactly 0 or 1 gives a finite loss; so do we.
LOG_CLAMP = -100.0


def _binary_cross_entropy(p: float, y: float) -> float:
    """``-[y·log p + (1 - y)·log(1 - p)]``, each log clamped at -100, ``log(1 - p)`` as ``log1p(-p)``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"binary_cross_entropy: probabilities must be in [0, 1], got {p!r}")
    log_p = math.log(p) if p > 0.0 else -math.inf
    log_q = math.log1p(-p) if p < 1.0 else -math.inf
    return -(y * max(log_p, LOG_CLAMP) + (1.0 - y) * max(log_q, LOG_CLAMP))


#: PyTorch's floor under p(1 - p) in the gradient of binary cross-entropy: 1e-12 as a float32.
BCE_EPSILON = 9.999999960041972e-13


def _bce_slope(p: float, y: float) -> float:
    """d/dp of binary cross-entropy, PyTorch's formula: ``(p - y) / max(p(1 - p), 1e-12)``.

    ``(p - y) / (p(1 - p))`` is the exact derivative; the floor (PyTorch's,
    :data:`BCE_EPSILON`) keeps it finite at p = 0 and p = 1.
    """
    return (p - y) / max((1.0 - p) * p, BCE_EPSILON)


def _binary_cross_entropy_with_logits(x: float, y: float) -> float:
    """``log(1 + eˣ) - x·y``, with ``exp`` only of a number ≤ 0 (the branch lives inside the operation).

    For x ≥ 0, ``log(1 + eˣ) = x + log(1 + e⁻ˣ)``; ``log1p`` keeps the digits
    of a tiny loss (``1 + e⁻⁴⁰`` would round to 1).
    """
    if x >= 0.0:
        return x * (1.0 - y) + math.log1p(math.exp(-x))
    if x < 0.0:
        return math.log1p(math.exp(x)) - x * y
    return x  # NaN


_HELPERS = {
    f.__name__: f
    for f in (
        _binary_cross_entropy,
        _bce_slope,
        _binary_cross_entropy_with_logits,
        _divide,
        _exp,
        _log,
        _log1p,
        _sqrt,
        _sqrt_slope,
        _sigmoid,
        _softplus,
        _sin,
        _cos,
        _sign,
        _power,
        _power_slope,
        _power_exponent_slope,
        _clamp,
        _clamp_slope,
        _maximum,
        _minimum,
        _logsumexp,
    )
}


# ============================================================================
# The generated code: names, and binding it here
# ============================================================================


def _make_node(forward: str, record: str, a: str, b: str, indent: str) -> str:
    """Source that creates the result node (a leaf under ``no_grad``) and returns it.

    The one template of every node an operation makes: the methods written
    into ``autograd/_generated.py`` and the ``apply`` of a user operation.
    """
    lines = [
        "out = _new(Value)",
        f"out._data = {forward}",
        "out.grad = 0.0",
        'out._label = ""',
        "if _grad_enabled or _state.enabled:",
        f"    out._operation = {record}",
        f"    out._a = {a}",
        f"    out._b = {b}",
        "else:",
        "    out._operation = out._a = out._b = None",
        "return out",
    ]
    return "".join(f"{indent}{line}\n" for line in lines)


#: The functions each variant of an operation has (see ``Operation.source``).
KINDS = ("backward", "local_derivatives", "contributions", "compute")
_WORDS = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}


def _stem(name: str, constants: Iterable[str]) -> str:
    """``"mul"``, ``"mul_constant_b"``: a Python name for one variant of the operation ``name``."""
    stem = _WORDS.get(name, name)
    constants = sorted(constants)
    return stem + ("_constant_" + "_".join(constants) if constants else "")


def _record_name(operation: Operation) -> str:
    """The module-level name generated methods record a variant by: ``_OP_mul_constant_b``."""
    return "_OP_" + _stem(operation.base.name, operation.constants)


def _function_name(operation: Operation, kind: str) -> str:
    """The name of a variant's generated function: ``_mul_constant_b_backward``."""
    return f"_{_stem(operation.base.name, operation.constants)}_{kind}"


def _variants(operation: Operation) -> list[Operation]:
    """The variants the methods use: the operation, and for two inputs each one as a constant."""
    if operation.nary or len(operation.inputs) != 2:
        return [operation]
    return [operation, operation.variant("b"), operation.variant("a")]


def _bind(function: Callable) -> Callable:
    """``function`` (from ``_generated.py``) running in this module's namespace.

    The same code (so its source, line numbers and tracebacks are those of
    ``_generated.py``), reading its globals here: the helpers, the records,
    and the switch ``_grad_enabled`` that ``no_grad`` flips in this module.
    """
    bound = FunctionType(function.__code__, globals(), function.__name__, function.__defaults__)
    bound.__kwdefaults__ = function.__kwdefaults__
    bound.__doc__ = function.__doc__
    bound.__qualname__ = function.__qualname__.replace("Operators.", "Value.")
    bound.__annotations__ = function.__annotations__
    bound.__module__ = __name__
    return bound


def _prebuilt(name: str, inputs: Iterable[str]) -> dict[frozenset[str], dict[str, Callable]]:
    """The generated functions of operation ``name``'s variants, each bound here (missing ones left out)."""
    inputs = tuple(inputs)
    keys = [()] + ([("b",), ("a",)] if len(inputs) == 2 else [])
    found: dict[frozenset[str], dict[str, Callable]] = {}
    for constants in keys:
        functions = {}
        for kind in KINDS:
            function = getattr(_generated, f"_{_stem(name, constants)}_{kind}", None)
            if function is not None:
                functions[kind] = _bind(function)
        found[frozenset(constants)] = functions
    return found


def _op(
    name: str,
    forward: str,
    *,
    params: tuple[str, ...] = (),
    nary: bool = False,
    shown: str | None = None,
    **derivatives: str | None,
) -> Operation:
    """Define and register one operation (see ``autograd/operation.py``)."""
    prebuilt = _prebuilt(name, () if nary else derivatives)
    operation = Operation(
        name, forward, derivatives, params=params, helpers=_HELPERS, nary=nary, shown=shown, prebuilt=prebuilt
    )
    return register(operation)


# ============================================================================
# The operations: forward expression, then d(out)/d(each input).
# ``out`` is the result; ``g`` (not written) is out.grad: each input's grad
# receives g * (its local derivative).
# ============================================================================

# a + b: the gradient passes through unchanged to both inputs.
ADD = _op("+", "a + b", a="1.0", b="1.0")
# a - b: unchanged to a, negated to b.
SUB = _op("-", "a - b", a="1.0", b="-1.0")
# -a
NEG = _op("neg", "-a", a="-1.0")
# a * b: each input is scaled by the other.
MUL = _op("*", "a * b", a="b", b="a")
# a / b: d/da = 1/b, d/db = -a/b² = -out/b. Its own operation (not a * b**-1
# as in micrograd): one correctly rounded result instead of two roundings.
DIV = _op("/", "_divide(a, b)", shown="a / b", a="1.0 / b", b="-out / b")
# a ** b: d/da = b·a^(b-1); d/db = a^b·ln a = out·ln a.
POW = _op("**", "_power(a, b)", shown="a ** b", a="_power_slope(a, b)", b="_power_exponent_slope(a, b, out)")
# √a: d/da = 1/(2√a) = 0.5/out.
SQRT = _op("sqrt", "_sqrt(a)", a="_sqrt_slope(out)")
# eᵃ: the exponential is its own derivative.
EXP = _op("exp", "_exp(a)", a="out")
# ln a: d/da = 1/a.
LOG = _op("log", "_log(a)", a="1.0 / a")
# ln(1 + a), accurate for tiny a: d/da = 1/(1 + a).
LOG1P = _op("log1p", "_log1p(a)", a="1.0 / (1.0 + a)")
# tanh a: d/da = 1 - tanh² a, factored as (1 - out)(1 + out), accurate near ±1.
TANH = _op("tanh", "math.tanh(a)", a="(1.0 - out) * (1.0 + out)")
# σ(a) = 1/(1 + e⁻ᵃ): d/da = σ(a)(1 - σ(a)) = out·(1 - out).
SIGMOID = _op("sigmoid", "_sigmoid(a)", a="out * (1.0 - out)")
# softplus(a) = ln(1 + eᵃ), a smooth ReLU: d/da = σ(a).
SOFTPLUS = _op("softplus", "_softplus(a)", a="_sigmoid(a)")
# max(0, a): slope 1 where a > 0, 0 where a ≤ 0 (0 at the kink, as PyTorch); NaN passes through.
RELU = _op("relu", "0.0 if a <= 0.0 else a", shown="relu(a)", a="0.0 if a <= 0.0 else 1.0")
# a if a > 0 else slope·a.
LEAKY_RELU = _op(
    "leaky_relu",
    "a if a > 0.0 else a * slope",
    shown="leaky_relu(a, slope)",
    params=("slope",),
    a="1.0 if a > 0.0 else slope",
)
# |a|: slope sign(a), 0 at the kink (as PyTorch).
ABS = _op("abs", "abs(a)", a="_sign(a)")
# sin a → cos a; cos a → -sin a.
SIN = _op("sin", "_sin(a)", a="math.cos(a)")
COS = _op("cos", "_cos(a)", a="-math.sin(a)")
# a limited to [low, high]: slope 1 inside (ends included, as PyTorch), 0 outside; a NaN bound gives NaN.
CLAMP = _op("clamp", "_clamp(a, low, high)", params=("low", "high"), a="_clamp_slope(a, low, high)")
# The larger (smaller) of a and b: the gradient goes to the one chosen, half to each on a tie (as PyTorch).
MAXIMUM = _op(
    "maximum",
    "_maximum(a, b)",
    a="0.5 if a == b else 0.0 if a < b else 1.0",
    b="0.5 if a == b else 0.0 if a > b else 1.0",
)
MINIMUM = _op(
    "minimum",
    "_minimum(a, b)",
    a="0.5 if a == b else 0.0 if a > b else 1.0",
    b="0.5 if a == b else 0.0 if a < b else 1.0",
)
# ln Σ eˣ over any number of inputs: d/dx = eˣ / Σ e^x' = e^(x - out), the softmax.
LOGSUMEXP = _op("logsumexp", "_logsumexp(xs)", shown="logsumexp(xs)", nary=True, x="math.exp(x - out)")

# Binary cross-entropy of a probability p against a target y (a plain number),
# and of a logit x (p = σ(x)): fused, as in PyTorch, so the clamp at -100 and the
# choice of a stable formula are made inside the operation, again at every replay.
BINARY_CROSS_ENTROPY = _op(
    "binary_cross_entropy", "_binary_cross_entropy(p, y)", params=("y",), p="_bce_slope(p, y)"
)
BINARY_CROSS_ENTROPY_WITH_LOGITS = _op(
    "binary_cross_entropy_with_logits",
    "_binary_cross_entropy_with_logits(x, y)",
    params=("y",),
    x="_sigmoid(x) - y",
)

# The same number, with the gradient stopped: the input is forward-only (derivative None), so no
# gradient flows back to it and backward() does not walk past it; a compiled replay recomputes it.
DETACH = _op("detach", "a", shown="detach(a)", a=None)

#: Every operation of ``Value``, by name.
OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (ADD, SUB, NEG, MUL, DIV, POW, SQRT, EXP, LOG, LOG1P, TANH, SIGMOID, SOFTPLUS, RELU)
    + (LEAKY_RELU, ABS, SIN, COS, CLAMP, MAXIMUM, MINIMUM, LOGSUMEXP)
    + (BINARY_CROSS_ENTROPY, BINARY_CROSS_ENTROPY_WITH_LOGITS, DETACH)
}


# ============================================================================
# Methods generated from the operations
# ============================================================================


def apply(operation: Operation, *operands: object) -> Value:
    """``operation`` on ``operands`` (``Value``\\ s or plain numbers, then its params).

    Use it for an operation of your own: define an
    :class:`~autograd.operation.Operation` (forward and local derivatives) and
    ``apply`` it; backward, ``compile_graph``, ``explain`` and ``gradcheck``
    then know it too. The first call writes a function for the operation, as
    the methods of ``Value`` are written (one branch per way of mixing
    ``Value``\\ s and plain numbers), so later calls run as fast as a built-in
    operation's.

    >>> from autograd.operation import Operation
    >>> CUBE = Operation("cube", "a * a * a", {"a": "3.0 * a * a"})
    >>> x = Value(2.0)
    >>> y = apply(CUBE, x); y.backward()
    >>> y.data, x.grad
    (8.0, 12.0)
    """
    run = _APPLIERS.get(operation)
    if run is None:
        run = _APPLIERS[operation] = _applier(operation.base)
    return run(*operands)


# Each operation's own ``apply``, written at its first use (see ``_applier``).
_APPLIERS: dict[Operation, Callable[..., Value]] = {}


def _applier(operation: Operation) -> Callable[..., Value]:
    """Write ``apply`` for one user operation (see :func:`_apply_source`), with ``exec``.

    The operation's helpers, its variants and its name reach the code as
    variables of an enclosing function: fast to read, and its own (two
    operations with helpers of the same name cannot mix them up).
    """
    if operation.nary:
        return lambda *operands: _apply_many(operation, *operands)
    body, records = _apply_source(operation, "run", written=False)
    free = ["_OPERATION", "_NAME", *records, *operation.bound_helpers]
    source = f"def make({', '.join(free)}):\n" + "".join(f"    {line}\n" for line in body.splitlines())
    source += "    return run\n"
    namespace: dict[str, Callable] = {}
    exec(compile(source, register_source(source, f"apply {operation.name}"), "exec"), globals(), namespace)
    run = namespace["make"](operation, operation.name, *records.values(), *operation.bound_helpers.values())
    run.__qualname__ = run.__name__ = f"apply_{operation.name}" if operation.name.isidentifier() else "apply"
    return run


def _apply_source(operation: Operation, function: str, *, written: bool) -> tuple[str, dict[str, Operation]]:
    """The source of ``apply`` for ``operation``: the methods' code, with every variant as a branch.

    For ``a * b`` the branches are: both ``Value``\\ s (record ``*``); ``a``
    a ``Value``, ``b`` a number (record ``a * c``); the reverse; and neither
    (an error). ``written=True`` is the built-in operations' version, for
    ``autograd/_generated.py`` (records and helpers by their names in this
    module); otherwise a user operation's, whose records (returned, by name)
    and helpers are free variables the caller supplies.
    """
    inputs, params = operation.inputs, operation.params
    records: dict[str, Operation] = {}
    name = repr(operation.name) if written else "_NAME"

    def record_of(variant: Operation) -> str:
        if written:
            return _record_name(variant)
        records[f"_RECORD_{len(records)}"] = variant
        return f"_RECORD_{len(records) - 1}"

    def number(p: str, indent: str = "") -> str:
        return f"{indent}{p} = {p} if {p}.__class__ is float else _param({p}, {p!r}, {name})"

    lines = [
        f"if len(_operands) != {len(inputs) + len(params)}:",
        f"    raise _arity_error({_record_name(operation) if written else '_OPERATION'}, _operands)",
        f"{', '.join(inputs + params)}, = _operands",
    ]
    lines += [number(p) for p in params]

    def branch(i: int, values: list[str], indent: str) -> None:
        if i < len(inputs):
            lines.append(f"{indent}if isinstance({inputs[i]}, Value):")
            branch(i + 1, [*values, inputs[i]], indent + "    ")
            branch(i + 1, values, indent)
            return
        if not values:
            lines.append(f"{indent}raise TypeError({name} + ': at least one input must be a Value')")
            return
        try:
            variant = operation.variant(*(n for n in inputs if n not in values))
        except ValueError as error:  # a forward-only operation keeps no plain numbers: refused when called
            lines.append(f"{indent}raise ValueError({str(error)!r})")
            return
        for k, value in enumerate(values):
            lines.append(f"{indent}_node{k} = {value}")
            lines.append(f"{indent}{value} = _node{k}._data")
        lines.extend(number(c, indent) for c in variant.stored_numbers[: len(variant.constants)])
        stored = variant.stored_numbers
        slot_a, slot_b = "_node0", "_node1" if len(values) == 2 else "None" if not stored else stored[0]
        if len(values) < 2 and len(stored) > 1:
            slot_b = f"({', '.join(stored)},)"
        if variant.forward_only:  # the Value inputs as a tuple in _a (see Operation); no numbers kept
            slot_a, slot_b = f"({''.join(f'_node{k}, ' for k in range(len(values))).rstrip()})", "None"
        forward = variant.forward if written else variant.bound_forward
        lines.extend(_make_node(forward, record_of(variant), slot_a, slot_b, indent).splitlines())

    branch(0, [], "")
    return f"def {function}(*_operands):\n" + "".join(f"    {line}\n" for line in lines), records


def _arity_error(operation: Operation, operands: tuple) -> TypeError:
    return TypeError(
        f"{operation.name} takes {len(operation.inputs)} inputs and {len(operation.params)} params, "
        f"not {len(operands)} operands"
    )


def _apply_many(operation: Operation, *operands: Any) -> Value:
    """``apply`` for an operation of any number of inputs (``logsumexp``): one iterable of them."""
    if len(operands) != 1:
        raise TypeError(f"{operation.name} takes one iterable of inputs, not {len(operands)} operands")
    values = tuple(v if isinstance(v, Value) else Value(_check_data(v)) for v in operands[0])
    if not values:
        raise ValueError(f"{operation.name}: needs at least one input")
    return _result(operation.compute(tuple(v._data for v in values)), operation, values, None)


def _result(data: float, operation: Operation, a: object, b: object) -> Value:
    out = _new(Value)
    out._data = data
    out.grad = 0.0
    out._label = ""
    if _grad_enabled or _state.enabled:
        out._operation, out._a, out._b = operation, a, b
    else:
        out._operation = out._a = out._b = None
    return out


def logsumexp(values: Iterable[Value | float]) -> Value:
    """``ln Σᵢ exp(xᵢ)``, one node for any number of inputs; d/dxᵢ = softmax(x)ᵢ.

    Computed with the largest input subtracted first, so it never overflows
    (``logsumexp([1000, 1000])`` is ``1000 + ln 2``), and the shift is chosen
    again at every replay of a compiled graph: it lives inside the operation.

    >>> x, y = Value(0.0), Value(0.0)
    >>> z = logsumexp([x, y]); z.backward()
    >>> round(z.data, 6), x.grad
    (0.693147, 0.5)
    """
    return apply(LOGSUMEXP, tuple(values))


def _install() -> None:
    """Bind the generated methods to ``Value`` and name each variant where they find it."""
    for operation in OPERATIONS.values():
        for variant in _variants(operation):
            globals()[_record_name(variant)] = variant
    for name, function in vars(_generated.Operators).items():
        if isinstance(function, FunctionType):
            setattr(Value, name, _bind(function))
    for operation in OPERATIONS.values():
        function = getattr(_generated, _function_name(operation, "apply"), None)
        if function is not None:
            _APPLIERS[operation] = _bind(function)


_install()

#: NumPy's comparison ufuncs on scalars: the numbers compared, as ``Value``'s own ``<``... do.
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "greater": lambda a, b: a > b,
    "greater_equal": lambda a, b: a >= b,
    "less": lambda a, b: a < b,
    "less_equal": lambda a, b: a <= b,
}

#: NumPy ufuncs and the engine's operations they stand for (``Value.__array_ufunc__``).
_UFUNCS: dict[str, Callable] = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
    "true_divide": lambda a, b: a / b,
    "power": lambda a, b: a**b,
    "negative": lambda a: -a,
    "absolute": abs,
    "exp": lambda a: Value.exp(a),
    "log": lambda a: Value.log(a),
    "sqrt": lambda a: Value.sqrt(a),
    "tanh": lambda a: Value.tanh(a),
    "sin": lambda a: Value.sin(a),
    "cos": lambda a: Value.cos(a),
}
