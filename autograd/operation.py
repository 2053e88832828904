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

import keyword
import linecache
import math
import pickle
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

    A definition is checked when it is made: every name in ``forward`` and in
    each derivative must be an input, a param, ``out``, a helper, ``math`` (and
    ``math.f`` a function it has) or one of :data:`BUILTINS`; every input has a
    derivative (an expression, or ``None`` for a forward-only input). Otherwise
    a ``ValueError`` names the operation and the name:

    >>> Operation("cube", "a * a * a", {"a": "3.0 * a * aa"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: operation 'cube': the derivative for 'a' uses 'aa', which is not an input, ...

    Its helpers are its own: :attr:`bound_helpers` gives each a name no other
    function shares (:attr:`bound_forward` and :attr:`bound_derivatives` are
    the expressions written with those names), so code generated for two
    operations whose helpers have the same name cannot mix them up.
    """

    #: A node made the lecture's way has a record with ``closure = True`` instead (see ``value.py``).
    closure = False

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
        prebuilt: Mapping[frozenset[str], Mapping[str, Callable]] | None = None,
    ) -> None:
        if base is None:
            _check_definition(name, forward, derivatives, inputs, params, helpers or {}, nary)
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
        #: True when a node of this variant keeps a second parent in ``_b`` (not constants).
        self.two_parents = not nary and not self.forward_only and len(self.value_inputs) == 2
        aliases = {name: _alias(name, function) for name, function in self.helpers.items()}
        #: The helpers under names of their own (one per function object): what generated code calls.
        self.bound_helpers = MappingProxyType({aliases[n]: f for n, f in self.helpers.items()})
        #: ``forward`` and the derivatives, calling the helpers by their :attr:`bound_helpers` names.
        self.bound_forward = substitute(forward, aliases)
        self.bound_derivatives = MappingProxyType(
            {k: None if d is None else substitute(d, aliases) for k, d in self.derivatives.items()}
        )
        # The four functions made from the definition: written ahead of time for the built-in
        # operations (``autograd/_generated.py``, handed in as ``prebuilt``), with exec otherwise.
        self._prebuilt = prebuilt
        functions = (prebuilt or {}).get(constants, {})
        self.backward: Callable = functions.get("backward") or self._define("backward")
        self.local_derivatives: Callable = functions.get("local_derivatives") or self._define(
            "local_derivatives"
        )
        self.contributions: Callable = functions.get("contributions") or self._define("contributions")
        self.compute: Callable = functions.get("compute") or self._define("compute")

    def __repr__(self) -> str:
        constant = f", constants={sorted(self.constants)}" if self.constants else ""
        return f"Operation({self.name!r}, forward={self.forward!r}{constant})"

    def __reduce__(self) -> tuple:
        """Pickled by reference: a node's operation is found again by its registered name.

        Only the operation registered under its name can be found again that
        way; any other is refused (a ``PicklingError``), never swapped for the
        registered one.
        """
        base = self.base
        registered = REGISTRY.get(base.name)
        if registered is not base:
            why = (
                "no operation is registered under that name"
                if registered is None
                else ("another operation is registered under that name")
            )
            raise pickle.PicklingError(
                f"cannot pickle operation {base.name!r}: a node's operation is pickled by its registered "
                f"name, and {why}; register it (autograd.operation.register(op)) or give it a name of its own"
            )
        return (_registered, (base.name, tuple(sorted(self.constants))))

    def rule_text(self) -> str:
        """The local derivatives, for a reader: ``"d/da = b; d/db = a"``."""
        return "; ".join(
            f"d/d{v} = {d}" if d is not None else f"no gradient to {v} (forward-only)"
            for v, d in ((v, self.derivatives[v]) for v in self.value_inputs)
        )

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
                prebuilt=self._prebuilt,
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
    def source(self, kind: str, name: str | None = None) -> str:
        """The source of one function made from the definition, as ``def name(...)``.

        ``kind`` is ``"backward"`` (``backward(node)``: ``parent.grad += node.grad
        * (local)`` for each input), ``"local_derivatives"`` (``(d(node)/d(parent),
        ...)``), ``"contributions"`` (``contributions(node, g)``: what each parent
        receives, for ``explain``) or ``"compute"`` (the forward expression on numbers).
        """
        if kind == "backward":
            arguments, lines = "node", self._backward_lines()
        elif kind == "local_derivatives":
            arguments, lines = "node", self._locals_lines()
        elif kind == "contributions":
            arguments, lines = "node, g", self._contributions_lines()
        elif kind == "compute":
            arguments, lines = (
                "xs" if self.nary else ", ".join(self.inputs + self.params),
                [f"return {self.forward}"],
            )
        else:
            raise ValueError(
                f"no function of kind {kind!r}: backward, local_derivatives, contributions or compute"
            )
        return f"def {name or kind}({arguments}):\n" + "".join(f"    {line}\n" for line in lines)

    def _backward_lines(self) -> list[str]:
        """The body of ``backward(node)``."""
        if not any(self.receives):  # every input is forward-only (detach): nothing to add
            return ["return None  # no input receives a gradient"]
        where = self.storage()
        lines = ["g = node.grad"]
        if self.nary:
            derivative = self.derivatives["x"]
            assert derivative is not None  # some input receives (checked above)
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
                derivative = self.derivatives[name]
                if derivative is not None:  # a forward-only input gets nothing
                    lines.append(_accumulate(f"p{k}", derivative))
        return lines

    def _locals_lines(self) -> list[str]:
        """The body of ``local_derivatives(node)``: d(node)/d(parent) for each of :meth:`gradient_parents`."""
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
        return lines

    def _contributions_lines(self) -> list[str]:
        """The body of ``contributions(node, g)``: the number each of :meth:`gradient_parents` receives.

        Each is the term the backward function adds (:func:`contribution`),
        with its sign: ``g * (local)``, ``g / d``, ``g`` or ``-g`` (``x - g`` is
        ``x + (-g)`` bit for bit), so that ``explain`` shows exactly what
        ``backward()`` adds.
        """
        if self.nary:
            derivative = self.derivatives["x"]
            if derivative is None:
                return ["return ()"]
            sign, term = contribution(derivative)
            signed = f"-({term})" if sign == "-" else term
            return ["out = node._data", f"return tuple({signed} for x in (p._data for p in node._a))"]
        where = self.storage()
        lines = ["out = node._data"]
        for name in self.value_inputs:
            lines.append(f"{name} = {where[name]}._data")
        for name in self.stored_numbers:
            lines.append(f"{name} = {where[name]}")
        terms = []
        for v in self.value_inputs:
            derivative = self.derivatives[v]
            if derivative is not None:
                sign, term = contribution(derivative)
                terms.append(f"-({term})" if sign == "-" else f"{term}")
        lines.append(f"return ({''.join(t + ', ' for t in terms)})")
        return lines

    def _define(self, name: str) -> Callable:
        source = self.source(name)
        namespace: dict[str, Any] = {"math": math, **self.helpers}
        exec(compile(source, register_source(source, f"{self.name} {name}"), "exec"), namespace)
        function = namespace[name]
        function.source = source
        function.operation = self
        return function


#: Python's functions an expression may call besides ``math``'s and the helpers.
BUILTINS = frozenset(
    {"abs", "min", "max", "float", "int", "round", "pow", "sum", "len", "True", "False", "None"}
)


def _check_definition(
    name: str,
    forward: str,
    derivatives: Mapping[str, str | None],
    inputs: tuple[str, ...] | None,
    params: tuple[str, ...],
    helpers: Mapping[str, Callable],
    nary: bool,
) -> None:
    """Raise a ``ValueError`` naming ``name`` and the problem, unless the definition can run."""

    def fail(problem: str) -> ValueError:
        return ValueError(f"operation {name!r}: {problem}")

    if not isinstance(name, str) or not name:
        raise ValueError(f"an operation's name must be a non-empty str, not {name!r}")
    if not isinstance(forward, str) or not isinstance(derivatives, Mapping):
        raise fail("forward is an expression (a str) and derivatives a mapping input → expression")
    given = tuple(derivatives)
    inputs = ("x",) if nary else tuple(given if inputs is None else inputs)
    for what, names in (("input", inputs), ("param", tuple(params)), ("helper", tuple(helpers))):
        for n in names:
            if not isinstance(n, str) or not n.isidentifier() or keyword.iskeyword(n):
                raise fail(f"the {what} name {n!r} is not a Python name")
            if what != "helper" and n.startswith("_"):
                raise fail(
                    f"the {what} name {n!r} starts with _, which generated code keeps for its own names"
                )
    reserved = {"out", "math", "xs"} if nary else {"out", "math"}
    clash = (set(inputs) | set(params) | set(helpers)) & reserved
    taken = set(inputs) & set(params) or set(inputs) & set(helpers) or set(params) & set(helpers)
    if clash or taken:
        raise fail(f"the name {sorted(clash or taken)[0]!r} is used twice (or is reserved: out, math)")
    for n, helper in helpers.items():
        if not callable(helper):
            raise fail(f"the helper {n!r} is not a function")
    for n in inputs:
        if n not in derivatives:
            raise fail(f"the input {n!r} has no derivative (derivatives are given for: {', '.join(given)})")
    for n in given:
        if n not in inputs:
            raise fail(
                f"a derivative is given for {n!r}, which is not an input (inputs: {', '.join(inputs)})"
            )
    known = set(params) | set(helpers) | BUILTINS | {"math"}
    expressions: list[tuple[str, object, set[str]]] = [
        ("forward", forward, known | ({"xs"} if nary else set(inputs)))
    ]
    expressions += [
        (f"the derivative for {n!r}", derivatives[n], known | set(inputs) | {"out"})
        for n in inputs
        if derivatives[n] is not None  # None: a forward-only input (see Operation)
    ]
    for where, expression, allowed in expressions:
        if not isinstance(expression, str):
            none = "" if where == "forward" else ", or None for an input gradients do not flow to"
            raise fail(f"{where} must be an expression (a str){none}, not {type(expression).__name__}")
        try:
            compile(expression, f"<{name}>", "eval")
        except SyntaxError as error:
            raise fail(f"{where} is not a Python expression: {expression!r} ({error.msg})") from None
        for used in _NAME.findall(expression):
            if used not in allowed and not keyword.iskeyword(used):
                raise fail(
                    f"{where} uses {used!r}, which is not an input, a param, out, a helper or a known "
                    f"function (inputs: {', '.join(inputs)})"
                )
        for function in re.findall(r"(?<![\w.])math\.(\w+)", expression):
            if not hasattr(math, function):
                raise fail(f"{where} uses math.{function}, which the math module does not have")


# Helper functions, each under one name of its own for generated code: id(function) → (alias, function).
# (The function is kept, so its id is never reused by another.)
_ALIASES: dict[int, tuple[str, Callable]] = {}


def _alias(name: str, function: Callable) -> str:
    """A name for ``function`` that no other function gets: ``_sigmoid`` → ``_h3_sigmoid``."""
    found = _ALIASES.get(id(function))
    if found is None:
        found = _ALIASES[id(function)] = (f"_h{len(_ALIASES)}_{name.lstrip('_')}", function)
    return found[0]


def register_source(source: str, name: str) -> str:
    """Keep generated ``source`` where tracebacks and ``inspect`` find it; return its file name.

    Code made with ``exec`` has no file, so a traceback through it shows no
    line. Entered in :mod:`linecache` under a name of its own (``<cube
    backward #3>``), a failing rule shows its line, as a real file would.
    """
    filename = f"<{name} #{len(_SOURCES)}>"
    _SOURCES.append(filename)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return filename


_SOURCES: list[str] = []


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
