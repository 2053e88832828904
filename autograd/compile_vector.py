"""The vectorised replay: a piece that repeats across samples, run once over NumPy arrays.

A batch of 100 samples through a model is 100 copies of one sample's graph:
the same operations on the same parameters, with other inputs, constants and
targets. ``compile_graph(output, vectorize=True)`` writes such a repeated piece
once, and runs it *once per step* instead of once per sample: every variable
that differs from sample to sample is a float64 NumPy array with one number
per sample, and every variable that is the same in every copy (the
parameters) stays a plain float. A line such as ``v7 = x0 * x1`` is then one
NumPy operation over the whole batch, and the cost of a step becomes the
number of operations in *one* sample's graph (each a little dearer), not in
the batch's.

The backward pass runs over the same arrays. A parameter used by every sample
receives one contribution per sample (``g7 * x1``: an array); its gradient
is their sum, which the replay adds to the parameter's gradient at the end,
as ``backward()`` adds the samples' contributions one by one.

A layer of neurons, one matrix product
--------------------------------------
A neuron sums ``bias + w₀·x₀ + w₁·x₁ + ...``: a chain of products of a
parameter and a per-sample number. Chains over the same inputs (a layer) are
fused (:class:`_Layer`): ``Z = W @ X`` computes them all, and the backward
pass is ``Wᵀ @ G`` for the inputs and ``G @ Xᵀ`` for the parameters, already
summed over the samples: backpropagation in matrix form, found in the
scalar graph. Only ``compile_graph(..., vectorize=True)``
fuses; the sums then round in NumPy's order.

What follows the products is fused too, when every neuron does the same:
``relu(bias + Σ w·x)`` for each neuron of the layer becomes ``A = W @ X + B``
(``B``: the biases, one per row) and one ``relu`` over the whole block
``A`` (neurons × samples), instead of one addition and one ``relu`` per
neuron; backward, the block's gradient is multiplied by the ``relu``'s
derivative over the block, and each bias receives its row's sum. Each such
*stage* is an operation of the neuron's result alone, the same for every
neuron (with the same constants), written from the same expressions as
any other line: an element-wise expression computes a block as it computes
a row.

One definition per operation, here too
---------------------------------------
No operation is written twice: each line is the operation's own ``forward`` or
derivative expression from its :class:`~autograd.operation.Operation`, turned
into its array form by :func:`array_expression`, which changes only how
Python's scalar constructs are spelled for arrays:

* a branch inside an operation becomes an element-wise choice:
  ``0.0 if a <= 0.0 else a`` → ``_where(a <= 0.0, 0.0, a)``, evaluated for
  each sample on its own numbers, as the scalar replay re-evaluates it;
* a chained comparison (``low <= a <= high``) becomes ``(low <= a) & (a <= high)``,
  ``and``/``or``/``not`` their element-wise forms;
* ``math.tanh``, ``abs``, ... become NumPy's ``np.tanh``, ``np.abs``; ``/`` and
  ``**`` become functions that raise where Python's float arithmetic raises;
* each helper the expressions call (``_sigmoid``, ``_log``, ...) is replaced by
  its array version (:data:`ARRAY_HELPERS`): the same formula, with its
  domain checks over every sample. A helper that has none (your own
  operation's) is called once per sample, on plain floats.

Exactness, errors
-----------------
Values and gradients agree with ``backward()`` to about 1e-12 relative, not bit
for bit: NumPy's ``exp``, ``log``, ``tanh``... may round the last digit
differently from ``math``'s, and a parameter's gradient is the sum of its
samples' contributions in another order (NumPy's pairwise sum) than the
interpreter's one-by-one additions. ``vectorize=False`` stays bit for bit.
NaN and infinities propagate as in the scalar replay (NumPy's warnings are
silenced; the numbers are the same). Where the scalar replay raises (a
logarithm of a negative number, a division by zero, an ``exp`` that
overflows) the vectorised replay raises the same kind of error with the same
message, followed by the sample that failed (``in sample 3``: the position
of that copy among the piece's copies, in the graph's topological order) and
the line of the compiled source; nothing is written back.
"""

from __future__ import annotations

import ast
import builtins
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import cast

import numpy as np

from .compile_pieces import _inputs, _Piece
from .compile_source import _fill, _indent, _literal, _piece_names, _Writer
from .operation import Operation, contribution
from .value import _HELPERS as _ENGINE_HELPERS
from .value import ADD, MUL, Value

__all__ = ["ARRAY_HELPERS", "added_in_order", "array_expression"]

Array = np.ndarray
#: What an array helper takes: a plain float (the same for every sample) or an array (one per sample).
Samples = float | np.ndarray


# ============================================================================
# Array versions of the engine's helpers (autograd/value.py): the same formula,
# with the same domain checks, over one number per sample.
# ============================================================================


def _fail(kind: type[Exception], message: str, bad: Samples, *numbers: Samples) -> None:
    """Raise ``kind(message)`` for the first sample where ``bad`` is true; nothing if there is none.

    ``message`` is the scalar helper's, with ``{}`` for the numbers (shown at
    that sample, as Python shows a float), followed by the sample's position.
    The samples are the last axis (a fused layer's block has a row per neuron).
    """
    bad = np.asarray(bad)
    if not bad.any():
        return
    shape = np.broadcast_shapes(bad.shape, *(np.shape(n) for n in numbers))
    at = np.unravel_index(int(np.argmax(np.broadcast_to(bad, shape))), shape)
    shown = [repr(float(np.broadcast_to(np.asarray(n), shape)[at])) for n in numbers]
    where = f" in sample {int(at[-1])}" if shape else ""
    raise kind(message.format(*shown) + where)


#: ``yes if test else no``, sample by sample: ``np.where(test, yes, no)`` (both sides computed, one kept).
_where = np.where


def _divide(a: Samples, b: Samples) -> Array:
    _fail(ZeroDivisionError, "division by zero: {} / {}", np.asarray(b) == 0.0, a, b)
    return np.true_divide(a, b)


def _true_divide(a: Samples, b: Samples) -> Array:
    """Python's ``a / b`` on floats: a ``ZeroDivisionError`` where ``b`` is zero."""
    _fail(ZeroDivisionError, "float division by zero ({} / {})", np.asarray(b) == 0.0, a, b)
    return np.true_divide(a, b)


def _pow(a: Samples, b: Samples) -> Array:
    """Python's ``a ** b`` on floats: an ``OverflowError`` where the result is too large."""
    out = np.power(a, b)
    _fail(
        OverflowError,
        "({} ** {}) is too large for a float",
        np.isinf(out) & np.isfinite(a) & np.isfinite(b),
        a,
        b,
    )
    return out


def _exp(a: Samples) -> Array:
    out = np.exp(a)
    _fail(OverflowError, "exp: exp({}) is too large for a float", np.isinf(out) & np.isfinite(a), a)
    return out


def _log(a: Samples) -> Array:
    _fail(ValueError, "log: logarithm of a non-positive number ({})", np.asarray(a) <= 0.0, a)
    return np.log(a)


def _log1p(a: Samples) -> Array:
    _fail(ValueError, "log1p: log(1 + a) of a number a <= -1 ({})", np.asarray(a) <= -1.0, a)
    return np.log1p(a)


def _sqrt(a: Samples) -> Array:
    _fail(ValueError, "sqrt: square root of a negative number ({})", np.asarray(a) < 0.0, a)
    return np.sqrt(a)


def _sqrt_slope(out: Samples) -> Array:
    out = np.asarray(out, dtype=float)
    return np.where(out != 0.0, np.true_divide(0.5, out), np.copysign(math.inf, out))


def _sigmoid(a: Samples) -> Array:
    e = np.exp(a)
    return np.where(np.asarray(a) >= 0.0, 1.0 / (1.0 + np.exp(np.negative(a))), e / (1.0 + e))


def _softplus(a: Samples) -> Array:
    a = np.asarray(a)
    larger = np.where(0.0 > a, 0.0, a)  # Python's max(a, 0.0): a, unless 0.0 is larger
    return np.where(a != a, a, larger + np.log1p(np.exp(-np.abs(a))))


def _finite_trig(op: str, function: Callable) -> Callable:
    def checked(a: Samples) -> Array:
        _fail(ValueError, f"{op}: {op} of an infinite number ({{}})", np.isinf(a), a)
        return function(a)

    return checked


def _sign(a: Samples) -> Array:
    a = np.asarray(a)
    return np.where(a > 0.0, 1.0, np.where(a < 0.0, -1.0, 0.0))  # +0.0 at ±0 and NaN


def _power(base: Samples, exponent: Samples) -> Array:
    base, exponent = np.asarray(base, dtype=float), np.asarray(exponent, dtype=float)
    not_real = (base < 0.0) & np.isfinite(exponent) & (exponent != np.floor(exponent))
    _fail(
        ValueError,
        "**: a negative base to a non-integer power ({} ** {}) is not real",
        not_real,
        base,
        exponent,
    )
    _fail(
        ZeroDivisionError,
        "**: zero to a negative power ({} ** {}) divides by zero",
        (base == 0.0) & (exponent < 0.0),
        base,
        exponent,
    )
    out = np.power(base, exponent)
    too_large = np.isinf(out) & np.isfinite(base) & np.isfinite(exponent)
    _fail(OverflowError, "**: {} ** {} is too large for a float", too_large, base, exponent)
    return out


def _power_slope(base: Samples, exponent: Samples) -> Array:
    base, exponent = np.asarray(base, dtype=float), np.asarray(exponent, dtype=float)
    general = exponent * np.power(base, exponent - 1.0)  # overflows to the signed infinity
    at_zero = np.copysign(math.inf, exponent)
    return np.where(exponent == 0.0, 0.0, np.where((base == 0.0) & (exponent < 1.0), at_zero, general))


def _power_exponent_slope(base: Samples, exponent: Samples, out: Samples) -> Array:
    base = np.asarray(base, dtype=float)
    flat = (base == 0.0) & (np.asarray(exponent) >= 0.0)  # 0^b is flat for b >= 0; NaN b stays NaN
    return np.where(base > 0.0, out * np.log(np.where(base > 0.0, base, 1.0)), np.where(flat, 0.0, math.nan))


def _clamp(a: Samples, low: Samples, high: Samples) -> Array:
    a = np.asarray(a)
    above = np.where(low > a, low, a)  # max(a, low)
    clamped = np.where(high < above, high, above)  # min(above, high)
    nan_bound = (np.asarray(low) != low) | (np.asarray(high) != high)
    return np.where(a != a, a, np.where(nan_bound, math.nan, clamped))


def _clamp_slope(a: Samples, low: Samples, high: Samples) -> Array:
    nan_bound = (np.asarray(low) != low) | (np.asarray(high) != high)
    inside = (np.asarray(low) <= a) & (np.asarray(a) <= high)
    return np.where(nan_bound, math.nan, np.where(inside, 1.0, 0.0))


def _maximum(a: Samples, b: Samples) -> Array:
    a, b = np.asarray(a), np.asarray(b)
    return np.where((a != a) | (b != b), math.nan, np.where(a >= b, a, b))


def _minimum(a: Samples, b: Samples) -> Array:
    a, b = np.asarray(a), np.asarray(b)
    return np.where((a != a) | (b != b), math.nan, np.where(a <= b, a, b))


def _logsumexp(xs: Sequence[object]) -> Array:
    stacked = np.stack(np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in xs)))
    m = stacked.max(axis=0)  # NaN if any input is NaN
    shifted = m + np.log(np.exp(stacked - m).sum(axis=0))
    return np.where(np.isnan(m) | np.isinf(m), m, shifted)


_LOG_CLAMP = -100.0
_BCE_EPSILON = 9.999999960041972e-13


def _binary_cross_entropy(p: Samples, y: Samples) -> Array:
    p = np.asarray(p, dtype=float)
    outside = ~((p >= 0.0) & (p <= 1.0))
    _fail(ValueError, "binary_cross_entropy: probabilities must be in [0, 1], got {}", outside, p)
    log_p = np.where(p > 0.0, np.log(p), -math.inf)
    log_q = np.where(p < 1.0, np.log1p(-p), -math.inf)
    clamped_p = np.where(_LOG_CLAMP > log_p, _LOG_CLAMP, log_p)
    clamped_q = np.where(_LOG_CLAMP > log_q, _LOG_CLAMP, log_q)
    return -(y * clamped_p + (1.0 - y) * clamped_q)


def _bce_slope(p: Samples, y: Samples) -> Array:
    d = (1.0 - np.asarray(p)) * p
    return (p - y) / np.where(_BCE_EPSILON > d, _BCE_EPSILON, d)


def _binary_cross_entropy_with_logits(x: Samples, y: Samples) -> Array:
    x = np.asarray(x, dtype=float)
    positive = x * (1.0 - y) + np.log1p(np.exp(-x))
    negative = np.log1p(np.exp(x)) - x * y
    return np.where(x >= 0.0, positive, np.where(x < 0.0, negative, x))


#: The array version of each of the engine's helpers, by the helper's name in ``autograd/value.py``.
ARRAY_HELPERS: dict[str, Callable] = {
    "_divide": _divide,
    "_exp": _exp,
    "_log": _log,
    "_log1p": _log1p,
    "_sqrt": _sqrt,
    "_sqrt_slope": _sqrt_slope,
    "_sigmoid": _sigmoid,
    "_softplus": _softplus,
    "_sin": _finite_trig("sin", np.sin),
    "_cos": _finite_trig("cos", np.cos),
    "_sign": _sign,
    "_power": _power,
    "_power_slope": _power_slope,
    "_power_exponent_slope": _power_exponent_slope,
    "_clamp": _clamp,
    "_clamp_slope": _clamp_slope,
    "_maximum": _maximum,
    "_minimum": _minimum,
    "_logsumexp": _logsumexp,
    "_binary_cross_entropy": _binary_cross_entropy,
    "_bce_slope": _bce_slope,
    "_binary_cross_entropy_with_logits": _binary_cross_entropy_with_logits,
}

#: The same, keyed by the engine's helper itself (the function object): an operation's helper gets
#: an array version only if it *is* the engine's, whatever its name (a user's ``_sigmoid`` does not).
_ARRAY_VERSIONS: dict[Callable, Callable] = {
    _ENGINE_HELPERS[name]: array for name, array in ARRAY_HELPERS.items()
}

# ``math`` functions with a NumPy twin of the same meaning (element-wise, same special values).
_MATH_TWINS = {
    name: getattr(np, twin)
    for name, twin in {
        "tanh": "tanh",
        "exp": "exp",
        "log": "log",
        "log1p": "log1p",
        "expm1": "expm1",
        "sin": "sin",
        "cos": "cos",
        "tan": "tan",
        "sqrt": "sqrt",
        "fabs": "abs",
        "atan": "arctan",
        "sinh": "sinh",
        "cosh": "cosh",
        "copysign": "copysign",
        "isnan": "isnan",
        "isinf": "isinf",
        "isfinite": "isfinite",
    }.items()
}


def _each_sample(function: Callable) -> Callable:
    """``function`` (of plain floats) applied sample by sample: for helpers without an array version.

    Tuples (an n-ary operation's ``xs``) are taken apart per sample too. An
    error names the sample.
    """

    @functools.wraps(function)
    def apply(*arguments: Samples) -> object:
        flat = [a for x in arguments for a in (x if isinstance(x, tuple) else (x,))]
        arrays = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in flat))
        if not arrays or arrays[0].ndim == 0:
            return function(*arguments)
        shape = arrays[0].shape  # samples on the last axis (a fused layer's block: a row per neuron)
        columns = [a.ravel().tolist() for a in arrays]
        out = np.empty(arrays[0].size)
        for i in range(len(out)):
            numbers, at = [], 0
            for x in arguments:
                width = len(x) if isinstance(x, tuple) else 1
                row = [columns[at + w][i] for w in range(width)]
                numbers.append(tuple(row) if isinstance(x, tuple) else row[0])
                at += width
            try:
                out[i] = function(*numbers)
            except (ArithmeticError, ValueError) as error:
                raise type(error)(f"{error} in sample {i % shape[-1]}") from None
        return out.reshape(shape)

    return apply


def _max2(*xs: Samples) -> Array:
    """Python's ``max(a, b, ...)``, sample by sample: the first, unless a later one is larger."""
    best = np.asarray(xs[0])
    for x in xs[1:]:
        best = np.where(x > best, x, best)
    return best


def _min2(*xs: Samples) -> Array:
    best = np.asarray(xs[0])
    for x in xs[1:]:
        best = np.where(x < best, x, best)
    return best


def _and(*xs: Samples) -> Array:
    return functools.reduce(np.logical_and, map(np.asarray, xs))


def _or(*xs: Samples) -> Array:
    return functools.reduce(np.logical_or, map(np.asarray, xs))


def _float(x: Samples) -> Array:
    return np.asarray(x, dtype=float)


#: What the array forms call, besides the helpers (always the same objects).
_ARRAY_NAMESPACE: dict[str, object] = {
    "_where": _where,
    "_true_divide": _true_divide,
    "_pow": _pow,
    "_max2": _max2,
    "_min2": _min2,
    "_and": _and,
    "_or": _or,
    "_not": np.logical_not,
    "_abs": np.abs,
    "_float": _float,
    "math": math,
    "np": np,
}


class _ToArrays(ast.NodeTransformer):
    """Rewrites one expression's scalar constructs into their element-wise forms (see the module doc)."""

    def __init__(self, rename: Mapping[str, str], namespace: dict[str, object]) -> None:
        self.rename, self.namespace = rename, namespace

    @staticmethod
    def _call(name: str, *arguments: ast.expr) -> ast.Call:
        return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(arguments), keywords=[])

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        return self._call("_where", node.test, node.body, node.orelse)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1:
            return node
        left, parts = node.left, []
        for op, right in zip(node.ops, node.comparators, strict=True):
            parts.append(ast.Compare(left=left, ops=[op], comparators=[right]))
            left = right
        return self._call("_and", *parts)

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        return self._call("_and" if isinstance(node.op, ast.And) else "_or", *node.values)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        return self._call("_not", node.operand) if isinstance(node.op, ast.Not) else node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Div):
            return self._call("_true_divide", node.left, node.right)
        if isinstance(node.op, ast.Pow):
            return self._call("_pow", node.left, node.right)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        function = node.func
        if isinstance(function, ast.Name):
            name = function.id
            if name in self.rename:
                function.id = self.rename[name]
            elif name in ("abs", "float"):
                function.id = f"_{name}"
            elif name in ("max", "min"):
                function.id = f"_{name}2"
            elif hasattr(builtins, name):
                function.id = f"_each_{name}"
                self.namespace[function.id] = _each_sample(getattr(builtins, name))
        elif (
            isinstance(function, ast.Attribute)
            and isinstance(function.value, ast.Name)
            and function.value.id == "math"
        ):
            name = f"_math_{function.attr}"
            twin = _MATH_TWINS.get(function.attr)
            self.namespace[name] = twin if twin is not None else _each_sample(getattr(math, function.attr))
            return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=node.args, keywords=node.keywords)
        return node


class ArrayForms:
    """The array form of every expression a program writes, and the namespace its code runs in.

    Each operation's helpers are bound by object, under their bound names
    (``operation.bound_helpers``, one per function object): the engine's own
    to their array versions, any other to :func:`_each_sample` of it. Two
    operations' helpers that share a name are never confused.
    """

    def __init__(self) -> None:
        self.namespace: dict[str, object] = dict(_ARRAY_NAMESPACE)
        self._names: dict[int, str] = {}  # id(helper) → its name in the generated code
        self._kept: list[object] = []  # the helpers and operations named, so their ids stay theirs
        self._forms: dict[tuple[int, str], str] = {}  # (id(operation), expression) → its array form

    def _bind(self, alias: str, helper: Callable) -> str:
        bound = self._names.get(id(helper))
        if bound is None:
            ours = _ARRAY_VERSIONS.get(helper)
            if ours is not None:
                bound = f"_array{alias}"
                self.namespace[bound] = ours
            else:
                bound = f"_each{alias}"
                self.namespace[bound] = _each_sample(helper)
            self._names[id(helper)] = bound
            self._kept.append(helper)
        return bound

    def __call__(self, operation: Operation, expression: str) -> str:
        """``expression`` of ``operation`` (written with its bound helper names) in its array form.

        Cached per operation and expression.
        """
        key = (id(operation), expression)
        found = self._forms.get(key)
        if found is None:
            rename = {alias: self._bind(alias, helper) for alias, helper in operation.bound_helpers.items()}
            found = self._forms[key] = _array_form(expression, tuple(sorted(rename.items())), self.namespace)
            self._kept.append(operation)
        return found


def _array_form(expression: str, rename: tuple[tuple[str, str], ...], namespace: dict[str, object]) -> str:
    tree = ast.parse(expression, mode="eval")
    tree = ast.fix_missing_locations(_ToArrays(dict(rename), namespace).visit(tree))
    return ast.unparse(tree)


def array_expression(operation: Operation, expression: str) -> str:
    """``expression`` of ``operation`` as the vectorised replay writes it.

    >>> from autograd.value import RELU, SIGMOID
    >>> array_expression(RELU, RELU.bound_forward)
    '_where(a <= 0.0, 0.0, a)'
    >>> array_expression(RELU, RELU.bound_derivatives["a"])
    '_where(a <= 0.0, 0.0, 1.0)'
    >>> array_expression(SIGMOID, SIGMOID.bound_forward).startswith("_array_h")   # the array _sigmoid
    True
    """
    return ArrayForms()(operation, expression)


# ============================================================================
# Writing a piece over arrays
# ============================================================================


def vector_piece_source(
    name: str,
    piece: _Piece,
    order: Sequence[int],
    held: int,
    shown: Sequence[str],
    outputs: Sequence[Value],
    written: Sequence[int],
    forms: ArrayForms,
    what: str,
    fuse: bool = False,
    carried: set[Value] | None = None,
) -> str:
    """A generator function computing one piece for every sample at once.

    Arguments: the piece's inputs in ``order`` as ``x{e}`` (the first ``held``
    the same in every copy: plain floats; the others arrays, one number per
    copy), then the constants that differ between copies (``shown`` names
    them ``c{i}``; the others are literals). It yields its outputs (arrays);
    resumed with their gradients, it runs the backward pass and yields the
    inputs' gradient contributions (each an array of one contribution per
    copy, summed by the caller), then the values and gradients of the nodes
    at ``written``, then the held inputs' contributions already summed over
    the copies (``fuse=True``: by the matrix products of fused layers, see
    :class:`_Layer`; else zeros). ``carried``: the nodes a gradient reaches,
    if not all (a graph with a ``detach``: the nodes behind it get no backward
    lines, as ``backward()`` does not walk past it); such a piece is not fused.
    """
    if carried is not None and fuse:
        raise ValueError("vector_piece_source: a piece with a forward-only input is not fused")
    value_of, grad_of, constants_of = _piece_names(piece, shown)
    writer = _Writer(value_of, grad_of, constants_of, rewrite=forms, arrays=True)
    arguments = [f"x{e}" for e in order] + sorted(
        {s for s in shown if s.startswith("c")}, key=lambda s: int(s[1:])
    )
    held_inputs = {piece.inputs[e]: e for e in order[:held]}
    layers = _layers(piece, held_inputs, set(order[held:]), constants_of, outputs, written) if fuse else []
    # The nodes in order, with each fused layer in place of its chains' nodes (before the first node after
    # all of its inputs).
    skipped = {node for layer in layers for node in layer.inside}
    at: dict[int, list[_Layer]] = {}
    for layer in layers:
        at.setdefault(layer.after, []).append(layer)
    steps: list[list[Value] | _Layer] = []
    run: list[Value] = []
    for k in range(-1, len(piece.nodes)):
        if k >= 0 and piece.nodes[k] not in skipped:
            run.append(piece.nodes[k])
        for layer in at.get(k, ()):
            steps += [run, layer]
            run = []
    steps.append(run)
    forward: list[str] = []
    done: dict[int, list] = {}
    for q, step in enumerate(steps):
        if isinstance(step, list):
            lines, done[q] = writer.forward(step)
            forward += lines
        else:
            forward += step.forward(q, writer)
    backward: list[str] = []
    sums: dict[int, list[str]] = {}  # a parameter's sums over the copies, from the fused layers
    writer.started = set(outputs)
    for q in reversed(range(len(steps))):
        step = steps[q]
        if isinstance(step, list):
            backward += writer.backward(step, done[q], None, carried)
        else:
            writer.emit = backward.append
            step.backward(q, writer, held_inputs, sums)
    untouched = [f"gx{e} = 0.0" for e, node in enumerate(piece.inputs) if node not in writer.started]
    results = "".join(f"{value_of(n)}, " for n in outputs)
    given = "".join(f"{grad_of(n)}, " for n in outputs)
    kinds = (
        f"x{', x'.join(map(str, order[:held]))}: the same in every copy; the others: arrays" if held else ""
    )
    # A parameter in one fused layer hands back its entry of ``G @ Xᵀ`` as it is; one in several, their sum.
    summed = {e: " + ".join(found) for e, found in sums.items()}
    totals = [f"t{e} = {summed[e]}" for e in order[:held] if len(sums.get(e, ())) > 1]
    for e in order[:held]:
        if len(sums.get(e, ())) > 1:
            summed[e] = f"t{e}"
    lines = [
        f'"""{what}: forward, then (once resumed with the gradients) backward, over arrays."""',
        *([f"# {kinds}"] if kinds else []),
        *forward,
        "# Hand over the results; receive their gradients (arrays: one number per copy).",
        f"{given} = yield ({results})",
        *backward,
        *(["# Parameters in several fused layers: their sums over the copies added up."] if totals else []),
        *totals,
        *(["# Inputs that no gradient reaches."] if untouched else []),
        *untouched,
        "# Hand back the inputs' contributions, the numbers of the nodes to write back, the sums.",
        f"yield ({''.join(f'gx{e}, ' for e in order)}), "
        f"({''.join(f'v{j}, ' for j in written)}), ({''.join(f'g{j}, ' for j in written)}), "
        f"({''.join(f'{summed.get(e, 0.0)}, ' for e in order[:held])})",
    ]
    return f"def {name}({', '.join(arguments)}):\n" + _indent(lines)


#: A chain of at least this many terms ``w·x`` is fused into a matrix product.
FUSED_TERMS = 2
#: The operations a fused layer stands for, by forward expression.
_FUSED = {"a * b": MUL, "a + b": ADD}


def _is(operation: object, forward: str) -> bool:
    """The engine's own product or sum of two ``Value``\\ s (``"a * b"``, ``"a + b"``): what a layer fuses.

    By identity, not by the text of ``forward``: the matrix form assumes the
    built-in derivatives (``b`` and ``a``; ``1.0`` and ``1.0``), which an
    operation of your own with the same forward expression need not have.
    """
    return operation is _FUSED[forward]


class _Layer:
    """Chains ``start + w₀·x₀ + w₁·x₁ + ...`` over the same ``x``\\ s (``w``: parameters): one matrix product.

    A neuron is such a chain (its bias, then one product per input), and a
    layer of neurons reads the same inputs: ``Z = W @ X`` computes every
    chain at once (``X``: the inputs stacked, one row per input, one column
    per copy; ``W``: the parameters). Backward: the inputs' gradients are
    ``Wᵀ @ G`` and the parameters' ``G @ Xᵀ`` (already summed over the
    copies). The products add up in another order than the chain's.
    """

    def __init__(self, chains: list, after: int) -> None:
        self.chains, self.after = chains, after
        self.xs = [x for _, x in chains[0].terms]
        # Every node the layer computes or makes unnecessary: the chains' products and sums.
        self.inside = {node for chain in chains for node in (*chain.inside, chain.end)}
        # The element-wise operations applied to every chain's result, stage after stage (see
        # _stages): each stage one operation over the whole ``k × copies`` block.
        self.stages: list[list[Value]] = []

    def add_stages(self, stages: list[list[Value]]) -> None:
        """Computes ``stages`` too (each a list of nodes, one per chain), over the whole block at once."""
        self.stages = stages
        for stage in stages:  # the last stage's nodes are rows of the last block (see forward)
            self.inside.update(stage)

    def forward(self, q: int, writer: _Writer) -> list[str]:
        value_of = writer.value_of
        rows = ", ".join("(" + "".join(f"{value_of(w)}, " for w, _ in c.terms) + ")" for c in self.chains)
        lines = [
            f"# A fused layer: {len(self.chains)} chains of {len(self.xs)} products w·x, one matrix product.",
            f"X{q} = np.stack(({''.join(f'{value_of(x)}, ' for x in self.xs)}))",
            f"W{q} = np.array(({rows},))",
        ]
        if not self.stages:
            lines.append(f"Z{q} = W{q} @ X{q}")
            for j, chain in enumerate(self.chains):
                lines.append(f"{value_of(chain.end)} = {value_of(chain.start)} + Z{q}[{j}]")
            return lines
        # Each chain starts from a parameter (its bias): a column added to every copy.
        starts = "".join(f"({value_of(c.start)},), " for c in self.chains)
        lines.append(f"A{q}_0 = W{q} @ X{q} + np.array(({starts}))")
        for s, stage in enumerate(self.stages, start=1):
            operation = _stage_operation(stage)
            mapping = self._names(q, s, stage[0], writer)
            form = _fill(writer.rewrite(operation, operation.bound_forward), mapping)
            lines.append(f"A{q}_{s} = {form}  # {operation.name}, for the {len(stage)} rows at once")
        last = len(self.stages)
        lines += [f"{value_of(node)} = A{q}_{last}[{j}]" for j, node in enumerate(self.stages[-1])]
        return lines

    def _names(self, q: int, s: int, node: Value, writer: _Writer) -> dict[str, str]:
        """The names in stage ``s``'s expressions: its rows' block, the block before, the constants."""
        mapping = writer.names(node)
        operation = _stage_operation([node])
        mapping[operation.value_inputs[0]] = f"A{q}_{s - 1}"
        mapping["out"] = f"A{q}_{s}"
        return mapping

    def backward(self, q: int, writer: _Writer, held_inputs: dict, sums: dict[int, list[str]]) -> None:
        """Writes the layer's backward pass; each parameter's entry of ``G @ Xᵀ`` goes to ``sums``."""
        emit = writer.emit
        emit(f"# The fused layer {q}: inputs' gradients Wᵀ @ G, parameters' G @ Xᵀ (summed over the copies).")
        if self.stages:
            last = len(self.stages)
            emit(f"GA{q}_{last} = np.stack(({''.join(f'{writer.grad_of(n)}, ' for n in self.stages[-1])}))")
            for s in range(last, 0, -1):
                operation = _stage_operation(self.stages[s - 1])
                mapping = self._names(q, s, self.stages[s - 1][0], writer)
                derivative = cast(str, operation.bound_derivatives[operation.value_inputs[0]])
                sign, term = contribution(derivative, "_upstream_")
                term = _fill(writer.rewrite(operation, term), {**mapping, "_upstream_": f"GA{q}_{s}"})
                emit(f"GA{q}_{s - 1} = {'-' if sign == '-' else ''}{term}  # {operation.name}'s rows")
            emit(f"G{q} = GA{q}_0")
        else:
            emit(f"G{q} = np.stack(({''.join(f'{writer.grad_of(c.end)}, ' for c in self.chains)}))")
        emit(f"GX{q} = W{q}.T @ G{q}")
        # The parameters' sums as a list of lists of floats, handed back as they are (plain floats,
        # not one NumPy scalar per parameter).
        emit(f"GW{q} = (G{q} @ X{q}.T).tolist()")
        if self.stages:  # the biases' sums over the copies, one row each
            emit(f"GB{q} = G{q}.sum(axis=1).tolist()")
        for i, x in enumerate(self.xs):
            writer.add(x, "+", f"GX{q}[{i}]")
        for j, chain in enumerate(self.chains):
            for i, (w, _) in enumerate(chain.terms):
                e = held_inputs[w]
                sums.setdefault(e, []).append(f"GW{q}[{j}][{i}]")
            if self.stages:
                sums.setdefault(held_inputs[chain.start], []).append(f"GB{q}[{j}]")
            else:
                writer.add(chain.start, "+", writer.grad_of(chain.end))


def _only_parent(node: Value) -> Value | None:
    parents = _inputs(node)[0]
    return parents[0] if len(parents) == 1 else None


def _stage_operation(stage: Sequence[Value]) -> Operation:
    return cast(Operation, stage[0]._operation)


class _Chain:
    __slots__ = ("start", "terms", "end", "inside")

    def __init__(self, start: Value, term: tuple[Value, Value], end: Value, product: Value) -> None:
        self.start, self.terms, self.end, self.inside = start, [term], end, [product]


def _layers(
    piece: _Piece,
    held_inputs: dict,
    own: set,
    constants_of: Callable[[Value], list[str]],
    outputs,
    written,
) -> list[_Layer]:
    """The chains of products of a parameter and a per-copy number in ``piece``, fused by shared inputs."""
    nodes = piece.nodes
    position = {node: k for k, node in enumerate(nodes)}
    uses: dict[Value, int] = {}
    users: dict[Value, list[Value]] = {}
    first_use: dict[Value, int] = {}
    varies: set[Value] = {piece.inputs[e] for e in own}
    for k, node in enumerate(nodes):
        parents = _inputs(node)[0]
        for parent in parents:
            uses[parent] = uses.get(parent, 0) + 1
            users.setdefault(parent, []).append(node)
            first_use.setdefault(parent, k)
        if any(p in varies for p in parents) or any(c.startswith("c") for c in constants_of(node)):
            varies.add(node)
    kept = set(outputs) | {nodes[j] for j in written}

    def single_use(node: Value) -> bool:
        return node in position and uses.get(node, 0) == 1 and node not in kept

    def term(node: Value) -> tuple[Value, Value] | None:
        if not (single_use(node) and _is(node._operation, "a * b")):
            return None
        a, b = _inputs(node)[0]
        if a in held_inputs and b in varies:
            return a, b
        if b in held_inputs and a in varies:
            return b, a
        return None

    chains: dict[Value, _Chain] = {}  # the last node of each chain so far → its chain
    for node in nodes:
        if not _is(node._operation, "a + b"):
            continue
        left, right = _inputs(node)[0]
        found = term(right)
        if found is None:
            continue
        chain = chains.pop(left, None) if single_use(left) else None
        if chain is None:
            chains[node] = _Chain(left, found, node, right)
        else:
            chain.terms.append(found)
            chain.inside += [left, right]
            chain.end = node
            chains[node] = chain
    groups: dict[tuple, list[_Chain]] = {}
    for chain in chains.values():
        if len(chain.terms) >= FUSED_TERMS:
            groups.setdefault(tuple(x for _, x in chain.terms), []).append(chain)
    layers = []
    for xs, group in groups.items():
        # The layer runs once all its inputs exist, and must before any of its chains' results is used.
        ready = max((position.get(n, -1) for n in (*xs, *(c.start for c in group))), default=-1)
        needed = min((first_use.get(c.end, len(nodes)) for c in group), default=len(nodes))
        if ready < needed and all(position.get(c.start, -1) < position[c.inside[0]] for c in group):
            layer = _Layer(group, ready)
            if all(c.start in held_inputs for c in group):
                layer.add_stages(_stages([c.end for c in group], users, kept, constants_of))
            layers.append(layer)
    return layers


def _stages(
    rows: list[Value], users: Mapping[Value, list[Value]], kept: set[Value], constants_of: Callable
) -> list[list[Value]]:
    """The element-wise operations a fused layer's results go through, each the same for every row.

    ``relu(bias + Σ w·x)`` for each neuron of a layer: after the matrix
    product, one ``relu`` over the whole block of neurons × copies, instead
    of one per neuron. A stage is taken while every row's node is used once
    (and kept by no one: not an output, not written back), by the same
    operation of that node alone (with the same literal constants), which
    passes a gradient back to it.
    """
    stages: list[list[Value]] = []
    while all(n not in kept and len(users.get(n, ())) == 1 for n in rows):
        following = [users[n][0] for n in rows]
        operation = following[0]._operation
        if not isinstance(operation, Operation) or operation.nary or len(operation.value_inputs) != 1:
            break
        if operation.bound_derivatives[operation.value_inputs[0]] is None:  # forward-only: no gradient
            break
        texts = constants_of(following[0])
        if any(t.startswith("c") for t in texts) or len(set(following)) != len(following):
            break  # a constant that differs between copies
        if not all(
            u._operation is operation and _only_parent(u) is n and constants_of(u) == texts
            for u, n in zip(following, rows, strict=True)
        ):
            break
        stages.append(following)
        rows = following
    return stages


def shown_constants(group: Sequence[_Piece]) -> tuple[list[str], list[int], list[tuple[float, ...]]]:
    """How a group's constants are written: a literal where every copy has the same, else ``c{i}``.

    Returns the texts, the positions that vary, and the constants as columns (one tuple per constant).
    """
    columns = list(zip(*(p.constants for p in group), strict=True))
    varying = [i for i, column in enumerate(columns) if len(set(map(float.hex, column))) > 1]
    shown = [_literal(column[0]) for column in columns]
    for i in varying:
        shown[i] = f"c{i}"
    return shown, varying, columns


def added_in_order(
    start: Sequence[float], contributions: Sequence[object], n: int, order: Sequence[int] | slice
) -> list[float]:
    """``start[i] + c[order[0]] + c[order[1]] + ...`` for each row ``c`` (``n`` numbers) of ``contributions``.

    The order of ``backward()``, which adds the copies' contributions to a
    parameter's gradient one after the other: the same numbers, rounded the
    same way (NumPy's ``cumsum`` adds sequentially, unlike its pairwise ``sum``).
    """
    table = np.empty((len(start), 1 + n))
    table[:, 0] = start
    table[:, 1:] = np.stack(as_columns(contributions, n))[:, order]
    return np.cumsum(table, axis=1)[:, -1].tolist()


def as_columns(values: Sequence[object], n: int) -> list[Array]:
    """Each value (an array, or one number for every copy) as an array of ``n`` floats."""
    shape = (n,)
    return [
        v
        if v.__class__ is np.ndarray and v.shape == shape
        else np.broadcast_to(np.asarray(v, dtype=float), shape)
        for v in values
    ]
