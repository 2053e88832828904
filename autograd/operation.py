"""One definition per operation, and everything derived from it.

An operation is written down once, as a few short Python expressions::

    MUL = Operation("*", forward="a * b", derivatives={"a": "b", "b": "a"})

``forward`` computes the result from the inputs' numbers; ``derivatives``
gives, for each input, the *local derivative* d(out)/d(input), written in the
inputs' names and ``out`` (the result). Every part of the engine that needs
to know what ``*`` does reads it from here:

* the interpreter's **backward function** (``Value.backward``) is generated
  from the derivatives: for each input, ``input.grad += node.grad * (local)``;
* the **forward methods** of ``Value`` (``__mul__``...) are generated from
  ``forward``, so the number a node holds is computed by the same expression
  the compiler replays;
* the **compiler** (``autograd.compile``) writes the same expressions into
  straight-line code, with variables in place of the names;
* :func:`autograd.explain.explain` evaluates the same local derivatives and
  prints them as formulas, with the graph's own names.

So the interpreter, a compiled replay and ``explain`` cannot disagree: they
run one piece of arithmetic. Every contribution is ``upstream * local``,
computed in full even when ``local`` is 0 (IEEE arithmetic: an infinite or
NaN upstream gradient times 0 is NaN, not a silent 0; PyTorch agrees for
``x * 0`` and ``abs`` at 0, but gives 0 where it selects instead of
multiplying: ``relu``, ``clamp``, ``maximum``/``minimum``, ``x ** 0``). A
local derivative ``1.0 / d`` is applied as ``upstream / d`` (see
:func:`contribution`). The one input that gets nothing at all is a
*forward-only* one (derivative ``None``, ``detach``'s; see :class:`Operation`).

Inputs that are plain numbers
-----------------------------
``x * 2`` records one node with one parent: the ``2`` is a constant, not a
node. An operation has one *variant* per way of mixing ``Value``\\ s and
constants (``a * b``, ``a * c``, ``c * b``); :meth:`Operation.variant` derives
each from the one definition. A node stores its ``Value`` inputs in ``_a``
then ``_b``, and its constants (and parameters such as leaky ReLU's slope) in
the remaining slot: one number, or a tuple of several.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["REGISTRY", "Operation", "contribution", "register", "substitute"]

# A whole-word name in an expression (not an attribute such as the ``exp`` of ``math.exp``).
_NAME = re.compile(r"(?<![\w.])([A-Za-z_]\w*)(?!\w)")


def substitute(expression: str, names: Mapping[str, str]) -> str:
    """``expression`` with each whole-word name in ``names`` replaced: ``"a * b"`` → ``"x * w"``."""
    return _NAME.sub(lambda m: names.get(m.group(1), m.group(1)), expression)


class Operation:
    """One operation: its name, its forward expression and its local derivatives.

    ``inputs`` are the names of the operands (``("a", "b")``); ``params`` the
    names of settings given as plain numbers (``("slope",)``); ``derivatives``
    maps each input to d(out)/d(input) as an expression in the inputs, the
    params and ``out``. ``helpers`` are the functions those expressions call
    (``{"_sigmoid": _sigmoid}``). ``nary=True`` makes an operation of any
    number of ``Value`` inputs, written with the names ``xs`` (all of them, in
    ``forward``) and ``x`` (the one being differentiated, in its derivative).

    ``shown`` is how the operation is written for a reader, when ``forward``
    is less plain (``"a / b"`` for ``"_divide(a, b)"``).

    ``constants`` (set by :meth:`variant`) are the inputs that are plain
    numbers in this variant: they get no gradient.

    **Forward-only inputs.** A derivative given as ``None`` declares an input
    that gradients do not flow to: not even ``g * 0`` (which would be NaN for
    an infinite ``g``), and the backward walks do not go past it into the
    input's own history. Forward walks (the topological order, a compiled
    replay's forward pass, pictures) include it as any parent. ``detach`` is
    such an operation: forward the number ``a``, no derivative. A node of an
    operation with a forward-only input keeps its ``Value`` inputs as a tuple
    in ``_a`` (the layout of an operation of many inputs), so the backward walk
    meets them only on the branch it already takes for many inputs, and
    ordinary nodes pay nothing for the check.
    """

    def __init__(
        self,
        name: str,
        forward: str,
        derivatives: Mapping[str, str | None],
        *,
        inputs: tuple[str, ...] | None = None,
        params: tuple[str, ...] = (),
        helpers: Mapping[str, Callable] | None = None,
        nary: bool = False,
        shown: str | None = None,
        constants: frozenset[str] = frozenset(),
        base: Operation | None = None,
    ) -> None:
        self.name = name
        self.forward = forward
        #: How the operation is written for a reader (``"a / b"``, where ``forward`` calls ``_divide``).
        self.shown = shown or forward
        self.derivatives = MappingProxyType(dict(derivatives))
        self.inputs = tuple(inputs if inputs is not None else derivatives)
        self.params = params
        self.helpers = MappingProxyType(dict(helpers or {}))
        self.nary = nary
        self.constants = constants
        self.base = base or self
        self._variants: dict[frozenset[str], Operation] = {}
        #: The ``Value`` inputs of this variant, in order (stored in ``_a``, then ``_b``).
        self.value_inputs = ("x",) if nary else tuple(i for i in self.inputs if i not in constants)
        #: The plain numbers a node of this variant keeps: constant inputs, then params.
        self.stored_numbers = tuple(i for i in self.inputs if i in constants) + params
        for key, derivative in self.derivatives.items():
            if derivative is not None and not isinstance(derivative, str):
                raise TypeError(
                    f"operation {name!r}: the derivative for {key!r} must be an expression (a str), "
                    f"or None for an input gradients do not flow to; got {type(derivative).__name__}"
                )
        #: Per ``Value`` input (in order): does the gradient flow to it? (``False``: forward-only.)
        self.receives = tuple(self.derivatives[v] is not None for v in self.value_inputs)
        #: Some ``Value`` input is forward-only: a node keeps its inputs as a tuple in ``_a``.
        self.forward_only = not nary and not all(self.receives)
        if self.forward_only and self.stored_numbers:
            raise ValueError(
                f"operation {name!r}: an operation with a forward-only input keeps no plain numbers "
                f"(here {list(self.stored_numbers)}); make them Value inputs"
            )
        if not self.forward_only and len(self.value_inputs) + (1 if self.stored_numbers else 0) > 2:
            raise ValueError(f"operation {name!r}: a node has two slots, for at most two inputs")
        self.backward = self._compile_backward()
        self.local_derivatives = self._compile_locals()
        self.contributions = self._compile_contributions()
        self.compute = self._define(
            "compute", "xs" if nary else ", ".join(self.inputs + params), [f"return {forward}"]
        )

    def __repr__(self) -> str:
        constant = f", constants={sorted(self.constants)}" if self.constants else ""
        return f"Operation({self.name!r}, forward={self.forward!r}{constant})"

    def __reduce__(self) -> tuple:
        """Pickled by reference: a node's operation is found again by its registered name."""
        return (_registered, (self.base.name, tuple(sorted(self.constants))))

    def variant(self, *constants: str) -> Operation:
        """This operation with the named inputs given as plain numbers (``MUL.variant("b")`` is ``a * c``)."""
        key = frozenset(constants)
        if not key:
            return self
        found = self._variants.get(key)
        if found is None:
            unknown = key - set(self.inputs)
            if unknown or self.nary:
                raise ValueError(f"operation {self.name!r} has no input {sorted(unknown)}")
            found = self._variants[key] = Operation(
                self.name,
                self.forward,
                self.derivatives,
                inputs=self.inputs,
                params=self.params,
                helpers=self.helpers,
                shown=self.shown,
                constants=key,
                base=self,
            )
        return found

    # ------------------------------------------------------------ where numbers live
    def storage(self) -> dict[str, str]:
        """Where each name's number is found, as source code reading from a ``node``.

        ``Value`` inputs are parent nodes (``node._a``, ``node._b``); their
        numbers are ``._data``. Constants and params are plain numbers in the
        free slot: ``node._b`` for one, ``node._b[i]`` for several.
        """
        where: dict[str, str] = {}
        if self.forward_only:  # the Value inputs as a tuple (see the class docstring)
            return {name: f"node._a[{i}]" for i, name in enumerate(self.value_inputs)}
        slots = ["node._a", "node._b"]
        for name in self.value_inputs:
            where[name] = slots.pop(0)
        if len(self.stored_numbers) == 1:
            where[self.stored_numbers[0]] = slots[0]
        else:
            for i, name in enumerate(self.stored_numbers):
                where[name] = f"{slots[0]}[{i}]"
        return where

    def names_used(self, expression: str | None) -> set[str]:
        return set() if expression is None else {m.group(1) for m in _NAME.finditer(expression)}

    def gradient_parents(self, node: Any) -> tuple:
        """The parents of ``node`` (a node of this operation) that gradients flow to, in order."""
        a = node._a
        if self.nary:
            return a if self.receives[0] else ()
        if self.forward_only:
            return tuple(p for p, flows in zip(a, self.receives, strict=True) if flows)
        b = node._b
        return (a, b) if len(self.value_inputs) == 2 else (a,)

    # ------------------------------------------------------------ the interpreter's backward
    def _compile_backward(self) -> Callable:
        """Generate ``backward(node)``: ``parent.grad += node.grad * (local)`` for each input."""
        where = self.storage()
        lines = ["g = node.grad"]
        if self.nary and self.derivatives["x"] is None:
            pass  # every input is forward-only: nothing to add
        elif self.nary:
            derivative = self.derivatives["x"]
            if "out" in self.names_used(derivative):
                lines.append("out = node._data")
            lines += [
                "for parent in node._a:",
                "    x = parent._data",
                f"    {_accumulate('parent', derivative)}",
            ]
        else:
            used = set().union(*(self.names_used(self.derivatives[v]) for v in self.value_inputs))
            for k, name in enumerate(self.value_inputs):
                lines.append(f"p{k} = {where[name]}")
            for name in self.inputs + self.params:
                if name in used:
                    source = (
                        f"p{self.value_inputs.index(name)}._data"
                        if name in self.value_inputs
                        else where[name]
                    )
                    lines.append(f"{name} = {source}")
            if "out" in used:
                lines.append("out = node._data")
            for k, name in enumerate(self.value_inputs):
                if self.derivatives[name] is not None:  # a forward-only input gets nothing
                    lines.append(_accumulate(f"p{k}", self.derivatives[name]))
        return self._define("backward", "node", lines)

    def _compile_locals(self) -> Callable:
        """Generate ``local_derivatives(node)``: d(node)/d(parent) for each of :meth:`gradient_parents`."""
        where = self.storage()
        if self.nary and self.derivatives["x"] is None:
            lines = ["return ()"]
        elif self.nary:
            lines = [
                "out = node._data",
                f"return tuple({self.derivatives['x']} for x in (p._data for p in node._a))",
            ]
        else:
            lines = ["out = node._data"]
            for name in self.value_inputs:
                lines.append(f"{name} = {where[name]}._data")
            for name in self.stored_numbers:
                lines.append(f"{name} = {where[name]}")
            body = ", ".join(
                f"float({self.derivatives[v]})" for v in self.value_inputs if self.derivatives[v] is not None
            )
            lines.append(f"return ({body},)" if body else "return ()")
        return self._define("local_derivatives", "node", lines)

    def _compile_contributions(self) -> Callable:
        """Generate ``contributions(node, g)``: the number each of :meth:`gradient_parents` receives.

        Each is the term the backward function adds (:func:`contribution`),
        with its sign: ``g * (local)``, ``g / d``, ``g`` or ``-g`` (``x - g`` is
        ``x + (-g)`` bit for bit), so that ``explain`` shows exactly what
        ``backward()`` adds.
        """
        where = self.storage()
        lines = ["out = node._data"]
        if self.nary:
            derivative = self.derivatives["x"]
            if derivative is None:
                return self._define("contributions", "node, g", ["return ()"])
            sign, term = contribution(derivative)
            signed = f"-({term})" if sign == "-" else term
            lines.append(f"return tuple({signed} for x in (p._data for p in node._a))")
            return self._define("contributions", "node, g", lines)
        for name in self.value_inputs:
            lines.append(f"{name} = {where[name]}._data")
        for name in self.stored_numbers:
            lines.append(f"{name} = {where[name]}")
        terms = []
        for v in self.value_inputs:
            if self.derivatives[v] is not None:
                sign, term = contribution(self.derivatives[v])
                terms.append(f"-({term})" if sign == "-" else f"{term}")
        lines.append(f"return ({''.join(t + ', ' for t in terms)})")
        return self._define("contributions", "node, g", lines)

    def _define(self, name: str, arguments: str, lines: list[str]) -> Callable:
        source = f"def {name}({arguments}):\n" + "".join(f"    {line}\n" for line in lines)
        namespace: dict[str, Any] = {"math": math, **self.helpers}
        exec(compile(source, f"<{self.name} {name}>", "exec"), namespace)
        function = namespace[name]
        function.source = source
        function.operation = self
        return function


def contribution(derivative: str, g: str = "g") -> tuple[str, str]:
    """How ``upstream * local`` is added to a gradient: ``("+", "g * (local)")``, ``("+", "g / d")``
    or ``("+"/"-", "g")``.

    A derivative of exactly ``1.0`` or ``-1.0`` needs no multiplication:
    ``g * 1.0`` is ``g`` and ``x + g * -1.0`` is ``x - g``, bit for bit (NaN and
    infinities included), so the shortcut changes no number.

    A derivative ``1.0 / d`` (``log``'s ``1.0 / a``) is applied as ``g / d``:
    one rounding instead of two, and no overflow where ``1/d`` is infinite but
    the product is not (``d`` = 1e-310, ``g`` = 1e-10: ``g / d`` is 1e300,
    ``g * (1/d)`` infinite). PyTorch computes these gradients the same way.

    The interpreter, the compiler and ``explain`` all write their additions
    with this function, so they stay identical.
    """
    if derivative == "1.0":
        return "+", g
    if derivative == "-1.0":
        return "-", g
    denominator = _reciprocal_of(derivative)
    if denominator is not None:
        return "+", f"{g} / {denominator}"
    return "+", f"{g} * ({derivative})"


# ``1.0 / name`` or ``1.0 / (...)`` with the parentheses closing at the very end (checked below).
_RECIPROCAL = re.compile(r"1\.0 / ([A-Za-z_][\w.]*|\(.*\))")


def _reciprocal_of(derivative: str) -> str | None:
    """``d`` if ``derivative`` is exactly ``1.0 / d`` with ``d`` one name or one parenthesised group."""
    match = _RECIPROCAL.fullmatch(derivative)
    if match is None:
        return None
    denominator = match.group(1)
    if denominator.startswith("("):  # the first "(" must close at the end: not "(a) * (b)"
        depth = 0
        for i, char in enumerate(denominator):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and i < len(denominator) - 1:
                return None
    return denominator


def _accumulate(parent: str, derivative: str) -> str:
    """``parent.grad += g * (derivative)`` (see :func:`contribution`)."""
    sign, term = contribution(derivative)
    return f"{parent}.grad {sign}= {term}"


#: Every operation by name, so that a pickled node finds its operation again.
REGISTRY: dict[str, Operation] = {}


def register(operation: Operation) -> Operation:
    """Add ``operation`` to :data:`REGISTRY` (its name must be new) and return it."""
    if operation.name in REGISTRY and REGISTRY[operation.name] is not operation:
        raise ValueError(f"an operation named {operation.name!r} is registered already")
    REGISTRY[operation.name] = operation
    return operation


def _registered(name: str, constants: tuple[str, ...]) -> Operation:
    return REGISTRY[name].variant(*constants)
