"""Pictures of computation graphs, drawn with Graphviz: :func:`draw_graph`, :func:`save_graph`.

Every ``Value`` becomes a box showing its name, ``data`` and ``grad``; every
operation a small oval (``*``, ``tanh``, ``* 2`` for a constant operand). Arrows
follow the data forwards: inputs → operation → result. Backpropagation walks
the same arrows backwards, so the ``grad`` in each box is d(root)/d(box).

Reading a picture
-----------------
* **Shape**: square corners for a leaf (an input), a thick border for a
  parameter of ``model``, rounded corners for the result of an operation.
  A legend below the picture repeats this.
* **Colour** (``color_by_grad=True``): the fill shows |grad| on a logarithmic
  scale, from dark purple (≤ 1e-6: a vanishing gradient) through teal and green
  to yellow (≥ 1e+2: an exploding one). The palette is *viridis*: its
  brightness rises steadily, so it reads correctly in greyscale and for
  colour-blind readers. Grey means exactly 0 (no gradient reaches the node: a
  switched-off ReLU, or ``backward`` not run yet); red means NaN or infinite.
* **Names**: a node's ``label``, or ``v{i}`` (its position in the topological
  order) if it has none; :func:`autograd.explain.explain` uses the same names.
  With ``model=``, a node computed inside a module is named after where it
  sits (see below). Any text is safe in a label: characters that mean
  something to Graphviz are escaped, and control characters (which XML, and
  so SVG, cannot hold) are shown as their Unicode pictures (``\\x07`` as ``␇``).
* **Size**: the picture is drawn at its natural size, text 11 points (about
  15 screen pixels) tall, in a notebook and in every file :func:`save_graph`
  writes. A notebook shows it in a view that scrolls and zooms
  (:func:`view_html`): a picture wider than the cell scrolls, it is never
  shrunk until its text cannot be read. ``size=(width, height)`` in inches
  scales a picture down to fit, if you ask for it. ``rankdir="auto"`` lays a
  graph out left to right when that fits a cell's width, and top to bottom
  when that is narrower.

Modules and levels (``model=``, ``level=``)
-------------------------------------------
This module draws any graph with any grouping it is *given*: a
:class:`Grouping` says each node's name and the dotted name of the module it
sits in (``layers.1.neurons.0``). Each module is drawn as a labelled box (a
Graphviz *cluster*), nested by the dots (``layers.1`` around
``layers.1.neurons.0``); a module with more than :data:`MAX_SUBCLUSTERS`
sub-modules is drawn as one cluster. A module named in ``Grouping.boxes`` is
drawn as one box instead, with its output's data and grad and the number of
operations inside: a coarser level, for a network too big to draw node by
node; ``expand=["layers.1"]`` opens such a box again.

Where does a grouping come from? ``model`` is any object with
``named_parameters()``. A parameter named ``layers.1.neurons.0.w.2`` is weight
2 of the module ``layers.1.neurons.0``. A model that also has a
``graph_grouping(order, level)`` method (every ``nn.Module``: see
``nn.graph_names``) says which operations each neuron computed, and draws at
``level="node"``, ``"neuron"`` or ``"layer"``; for any other model only the
parameters are put in their modules' boxes. Inside a module's box a node's
name is shown without the module's prefix (``sum``); the tooltip gives the
full name.
"""

from __future__ import annotations

import html
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from math import log10
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .files import write_atomically
from .graph import topological_order
from .names import format_number, node_names, op_label
from .value import Value

if TYPE_CHECKING:  # graphviz is imported lazily: ``import autograd`` does not need it
    import graphviz

__all__ = [
    "FORMATS",
    "LEVELS",
    "HasNamedParameters",
    "MAX_SUBCLUSTERS",
    "NOTEBOOK_MAX_NODES",
    "NOTEBOOK_WIDTH",
    "GraphvizNotFoundError",
    "Grouping",
    "Picture",
    "box_id",
    "check_drawable",
    "draw_graph",
    "grad_color",
    "grouping_of",
    "layout",
    "model_parameters",
    "module_chain",
    "name_in_module",
    "node_id",
    "notebook_html",
    "notebook_svg",
    "op_id",
    "picture_names",
    "render",
    "require_graphviz",
    "save_graph",
    "split_parameter_name",
    "svg_for_page",
    "contrast",
    "text_color",
    "view_html",
]

#: The file types :func:`save_graph` writes (by the path's suffix).
FORMATS = (".svg", ".png", ".pdf", ".dot")
#: A module with more sub-modules than this is drawn as one cluster.
MAX_SUBCLUSTERS = 16
#: The largest graph a notebook draws automatically (``Value._repr_svg_``).
NOTEBOOK_MAX_NODES = 150
#: The width of a notebook cell, in inches (1 inch = 96 screen pixels): ``rankdir="auto"`` aims at it.
NOTEBOOK_WIDTH = 9.0
#: The levels a picture can be drawn at: every node, one box per neuron or per layer, or "auto".
LEVELS = ("node", "neuron", "layer", "auto")

_RANKDIRS = ("LR", "RL", "TB", "BT", "auto")
# A picture with more edges than about this is laid out with fewer passes of dot's crossing minimisation.
_BUSY_EDGES = 300
# For rankdir="auto": the width a picture takes, in inches, measured on typical
# graphs: per level of operations laid out left to right, per box side by side
# top to bottom.
_LR_INCHES_PER_LEVEL = 3.3
_TB_INCHES_PER_NODE = 1.8

_INSTALL_HINT = (
    "the Graphviz program `dot` was not found on PATH; install Graphviz "
    "(Debian/Ubuntu: `sudo apt-get install graphviz`, macOS: `brew install graphviz`, "
    "others: https://graphviz.org/download/), or save to a .dot file, which needs no Graphviz"
)


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz ``dot`` program, which turns a graph into a picture, is not installed."""


def require_graphviz() -> None:
    """Raise :class:`GraphvizNotFoundError`, with how to install it, unless ``dot`` is on PATH."""
    if shutil.which("dot") is None:
        raise GraphvizNotFoundError(_INSTALL_HINT)


# ============================================================================
# Colours: |grad| on a log scale, viridis palette
# ============================================================================

#: The colour scale covers |grad| from 10**LOW to 10**HIGH (values beyond are clipped).
LOW, HIGH = -6, 2
# Viridis (matplotlib's default colour map) at ten evenly spaced points.
_VIRIDIS = (
    (0x44, 0x01, 0x54),
    (0x48, 0x28, 0x78),
    (0x3E, 0x49, 0x89),
    (0x31, 0x68, 0x8E),
    (0x26, 0x82, 0x8E),
    (0x1F, 0x9E, 0x89),
    (0x35, 0xB7, 0x79),
    (0x6E, 0xCE, 0x58),
    (0xB5, 0xDE, 0x2B),
    (0xFD, 0xE7, 0x25),
)
_ZERO_COLOR = "#d9d9d9"
_NONFINITE_COLOR = "#e41a1c"
_PLAIN_COLOR = "#ffffff"


def _viridis(t: float) -> tuple[int, int, int]:
    """The viridis colour at ``t`` in [0, 1], interpolated linearly between the anchors."""
    t = min(max(t, 0.0), 1.0) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    f = t - i
    (r0, g0, b0), (r1, g1, b1) = _VIRIDIS[i], _VIRIDIS[i + 1]
    return round(r0 + (r1 - r0) * f), round(g0 + (g1 - g0) * f), round(b0 + (b1 - b0) * f)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def grad_color(grad: float) -> str:
    """The fill colour for a gradient: viridis of log10|grad| between ``LOW`` and ``HIGH``."""
    if grad != grad or grad in (float("inf"), float("-inf")):
        return _NONFINITE_COLOR
    if grad == 0.0:
        return _ZERO_COLOR
    return _hex(_viridis((log10(abs(grad)) - LOW) / (HIGH - LOW)))


def _luminance(color: str) -> float:
    """WCAG's relative luminance of ``#rrggbb``: 0 for black, 1 for white (linear light, eye-weighted)."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(color[i : i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG's contrast ratio of two ``#rrggbb`` colours: from 1 (the same) to 21 (black on white)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color(fill: str) -> str:
    """Black or white, whichever contrasts more with ``fill`` (by WCAG relative luminance)."""
    return "black" if contrast(fill, "#000000") >= contrast(fill, "#ffffff") else "white"


# ============================================================================
# Groupings: which nodes share a box
# ============================================================================


@dataclass(frozen=True)
class Grouping:
    """How to draw a graph's nodes: their names, and the modules they sit in.

    ``names`` maps every node to its name. ``modules`` maps a node that sits
    in a module to the module's dotted name (``"layers.1.neurons.0"``; ``""``
    is the model itself); each module is drawn as a labelled box around its
    nodes, nested by the dots. A module in ``boxes`` is drawn as *one* box
    instead (a coarser level: a neuron, a layer), with its output's data and
    gradient and the number of operations inside. ``parameters`` are drawn
    with a thick border; ``title`` labels the outermost box; ``level`` says
    which level this is (``"node"``, ``"neuron"``...).

    ``nn`` makes these for a model (``nn.graph_names.grouping``); any code can
    make one, and :func:`draw_graph` draws whatever it is given.
    """

    names: Mapping[Value, str]
    modules: Mapping[Value, str] = field(default_factory=dict)
    boxes: frozenset[str] = frozenset()
    parameters: frozenset[Value] = frozenset()
    title: str = ""
    level: str = "node"


def split_parameter_name(name: str) -> tuple[tuple[str, ...], str]:
    """``"layers.1.neurons.0.w.2"`` → ``(("layers", "1", "neurons", "0"), "w.2")``.

    The last name, with its indices if it has any (``weight_hh.0.1``, a row of
    a matrix), names the parameter; everything before names the module that
    owns it.
    """
    parts = name.split(".")
    cut = len(parts) - 1
    while cut > 0 and parts[cut].isdigit():
        cut -= 1
    return tuple(parts[:cut]), ".".join(parts[cut:])


def module_chain(owner: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The boxes a module sits in, outermost first: every prefix ending in an index, and itself.

    ``("layers", "1", "neurons", "0")`` → ``[("layers", "1"), ("layers", "1", "neurons", "0")]``.
    """
    chain = [owner[: i + 1] for i in range(len(owner) - 1) if owner[i].isdigit()]
    chain.append(owner)
    return chain


class HasNamedParameters(Protocol):
    """What ``model=`` takes: any object that names its parameters (every ``nn.Module``).

    ``autograd`` never imports ``nn``; a model is anything with this method.
    """

    def named_parameters(self) -> Iterable[tuple[str, Value]]:
        """Each parameter with its dotted name (``layers.1.neurons.0.w.2``)."""
        ...


def model_parameters(model: HasNamedParameters) -> dict[Value, str]:
    """``model.named_parameters()`` as a dict parameter → name, checked."""
    named = getattr(model, "named_parameters", None)
    if not callable(named):
        raise TypeError(f"model must have a named_parameters() method; {type(model).__name__} has none")
    params: dict[Value, str] = {}
    for name, p in named():
        if not isinstance(p, Value) or not isinstance(name, str):
            raise TypeError(f"model.named_parameters() must yield (str, Value) pairs, got ({name!r}, {p!r})")
        params[p] = name
    return params


def grouping_of(order: list[Value], model: HasNamedParameters | None = None, level: str = "auto") -> Grouping:
    """The grouping :func:`draw_graph` uses for ``order`` (a topological order) and ``model``.

    Without a model: :func:`autograd.names.node_names`, no modules. A model
    with a ``graph_grouping(order, level)`` method (every ``nn.Module``) says
    itself which module made each node. Any other object with
    ``named_parameters()`` names its parameters and puts each in its module's
    box; the other nodes are in none, and only ``level="node"`` is possible.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if model is None:
        if level not in ("node", "auto"):
            raise ValueError(f"level={level!r} needs a model= that knows its {level}s (an nn.Module)")
        return Grouping(names=node_names(order))
    params = model_parameters(model)
    method = getattr(model, "graph_grouping", None)
    if callable(method):
        made = method(order, level)
        if not isinstance(made, Grouping):
            raise TypeError(f"model.graph_grouping() must return a Grouping, not {type(made).__name__}")
        return made
    if level not in ("node", "auto"):
        raise ValueError(
            f"level={level!r}: {type(model).__name__} has no graph_grouping() method to say which nodes "
            "make up a neuron or a layer; only level='node' is possible"
        )
    names = dict(node_names(order))
    taken = set(names.values()) - set(names[p] for p in params if p in names)
    for p, name in params.items():
        if p in names:
            while name in taken:
                name += "'"
            taken.add(name)
            names[p] = name
    modules = {p: ".".join(split_parameter_name(params[p])[0]) for p in order if p in params}
    return Grouping(names=names, modules=modules, parameters=frozenset(params), title=type(model).__name__)


def picture_names(
    order: list[Value], model: HasNamedParameters | None = None, level: str = "auto"
) -> dict[Value, str]:
    """The name :func:`draw_graph` gives every node of ``order`` (a topological order).

    Without ``model`` these are :func:`autograd.names.node_names`, the names
    ``explain`` uses; with it, the parameters' names and the names of the
    nodes inside modules (``layers.0.neurons.1.sum``).
    """
    return dict(grouping_of(order, model, level).names)


def name_in_module(name: str, module: str) -> str:
    """A node's name as a box of ``module`` shows it: without the module's prefix.

    >>> name_in_module("layers.0.neurons.1.sum", "layers.0")
    'neurons.1.sum'
    """
    return _shown_name(name, _as_module(module) if module else None)


def _shown_name(name: str, owner: tuple[str, ...] | None) -> str:
    """A node's name inside its module's box: without the module's prefix (``sum``, ``w.0``)."""
    prefix = ".".join(owner) + "." if owner else ""
    return name[len(prefix) :] if prefix and name.startswith(prefix) and len(name) > len(prefix) else name


# ============================================================================
# Drawing
# ============================================================================


def _printable(text: str) -> str:
    """``text`` with every character XML cannot hold replaced by a visible stand-in.

    Control characters become their Unicode pictures (``"\\x07"`` → ``"␇"``,
    ``"\\x00"`` → ``"␀"``, DEL → ``"␡"``); other code points that XML 1.0
    forbids or discourages (C1 controls, surrogates, U+FFFE, U+FFFF) become ``"�"``.
    """
    out = []
    for ch in text:
        code = ord(ch)
        if code < 0x20:
            out.append(chr(0x2400 + code))
        elif code == 0x7F:
            out.append("\u2421")
        elif 0x80 <= code <= 0x9F or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def _escape_text(text: str) -> str:
    """Any string as Graphviz attribute text that shows exactly as written.

    A backslash starts an escape in Graphviz (``\\n``, ``\\N``...), so it is
    doubled; ``&`` starts an entity (``&#7;``), so it becomes ``&amp;``.
    """
    return _printable(text).replace("\\", "\\\\").replace("&", "&amp;")


def _escape_record(text: str) -> str:
    """:func:`_escape_text`, and a backslash before the characters that structure a record label."""
    text = _escape_text(text)
    for ch in '{}|<>"':
        text = text.replace(ch, "\\" + ch)
    return text


def _count_check(drawn: int, total: int, max_nodes: int) -> None:
    if drawn > max_nodes:
        graph = f"{drawn} boxes" + ("" if drawn == total else f" (for a graph of {total} Value nodes)")
        raise ValueError(
            f"the picture would have {graph}, more than max_nodes={max_nodes}; Graphviz would take long "
            "and the picture could not be read. Draw one sample's loss instead of the whole batch's, "
            "or a coarser level (model=..., level='neuron' or 'layer': one box per neuron or layer), "
            "or raise max_nodes"
        )


def _validate(root: object, rankdir: object, max_nodes: object, size: object = None) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph expects a Value, not {type(root).__name__}")
    if rankdir not in _RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(_RANKDIRS)}, not {rankdir!r}")
    if not isinstance(max_nodes, int) or isinstance(max_nodes, bool) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int, not {max_nodes!r}")
    if size is not None and not (
        isinstance(size, tuple) and len(size) == 2 and all(_is_positive_number(x) for x in size)
    ):
        raise ValueError(f"size must be None or a (width, height) pair of positive inches, not {size!r}")


def _is_positive_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x < float("inf")


def _levels(order: list[Value]) -> dict[Value, int]:
    """Each node's level: 0 for a leaf, else one more than its highest parent."""
    level: dict[Value, int] = {}
    for node in order:
        level[node] = 1 + max((level[p] for p in node.parents), default=-1)
    return level


def _auto_rankdir(order: list[Value], width: float) -> str:
    """``"LR"`` when a left-to-right picture fits ``width`` inches or is the narrower one, else ``"TB"``.

    Left to right, the picture is as wide as the graph is deep; top to bottom,
    as wide as its widest level (the most nodes side by side).
    """
    level = _levels(order)
    depth = max(level.values()) + 1
    per_level: dict[int, int] = {}
    for k in level.values():
        per_level[k] = per_level.get(k, 0) + 1
    lr_width = depth * _LR_INCHES_PER_LEVEL
    tb_width = max(per_level.values()) * _TB_INCHES_PER_NODE
    return "LR" if lr_width <= width or lr_width <= tb_width else "TB"


def node_id(i: int) -> str:
    """The Graphviz name of the ``i``-th node's box (``i``: its place in topological order).

    In an SVG picture it is the ``<title>`` of the box's group, so a page can find the box.
    """
    return f"n{i}"


def op_id(i: int) -> str:
    """The Graphviz name of the oval of the operation that made the ``i``-th node."""
    return f"op{i}"


def box_id(k: int) -> str:
    """The Graphviz name of the ``k``-th module drawn as one box (a neuron or layer, at a coarser level)."""
    return f"m{k}"


def _legend(color_by_grad: bool, with_parameters: bool, with_boxes: bool) -> str:
    """The key below the picture (an HTML-like Graphviz label): shapes and, if used, colours."""
    shapes = "square box: input (leaf)"
    if with_parameters:
        shapes += "   thick border: parameter"
    shapes += "   rounded box: result of an operation   oval: the operation"
    rows = [f'<TR><TD COLSPAN="{HIGH - LOW + 4}" BORDER="0" ALIGN="LEFT">{shapes}</TD></TR>']
    if with_boxes:
        rows.append(
            f'<TR><TD COLSPAN="{HIGH - LOW + 4}" BORDER="0" ALIGN="LEFT">box with a name and a count of '
            "operations: a whole module (a neuron, a layer) drawn as one box, with its output</TD></TR>"
        )
    if color_by_grad:
        scale = []
        for e in range(LOW, HIGH + 1):
            fill = grad_color(10.0**e)
            text = ("≤" if e == LOW else "≥" if e == HIGH else "") + f"1e{e:+d}"
            scale.append(f'<TD BGCOLOR="{fill}"><FONT COLOR="{text_color(fill)}">{text}</FONT></TD>')
        rows.append(
            f'<TR><TD BORDER="0">|grad|:</TD><TD BGCOLOR="{_ZERO_COLOR}">0</TD>{"".join(scale)}'
            f'<TD BGCOLOR="{_NONFINITE_COLOR}"><FONT COLOR="{text_color(_NONFINITE_COLOR)}">nan, inf</FONT>'
            "</TD></TR>"
        )
    table = "".join(rows)
    return f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">{table}</TABLE>>'


def check_drawable(
    root: Value,
    rankdir: str = "LR",
    max_nodes: int = 500,
    size: tuple[float, float] | None = None,
    model: HasNamedParameters | None = None,
    level: str = "auto",
) -> list[Value]:
    """Check :func:`draw_graph`'s arguments, before anything is drawn; return ``root``'s topological order.

    Raises what :func:`draw_graph` raises for them: ``TypeError`` for a root
    that is not a ``Value`` or a model without ``named_parameters()``,
    ``ValueError`` for a bad ``rankdir``, ``size``, ``max_nodes`` or ``level``.
    (Whether the picture is too big is known once the grouping is: :func:`layout`.)
    """
    _validate(root, rankdir, max_nodes, size)
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if model is not None:
        model_parameters(model)
    return topological_order(root)


@dataclass(eq=False)
class Picture:
    """What :func:`draw_graph` returns: a Graphviz graph, and where each node of the graph is drawn.

    ``graph`` is the ``graphviz.Digraph`` (its ``source``, ``pipe``, ``render``
    can be used on the picture directly). ``shown_in[i]`` is the Graphviz name
    of the box that shows the ``i``-th node of ``order`` (its own, ``"n3"``, or
    its module's, ``"m0"``); ``own[i]`` says whether that box shows *this*
    node's data and grad; ``edge_keys[(i, k)]`` names the edge along which the
    ``i``-th node's ``k``-th parent is read (``"n0->op3#1"``: the second edge
    from ``n0`` to ``op3``), and ``edge_keys[(i, -1)]`` the edge from its
    operation to it; an edge inside a module's box has no key. ``box_modules``
    maps the Graphviz name of each module drawn as one box (``"m0"``) to the
    module's dotted name (``"layers.0"``).

    In a notebook it shows itself in a scrollable, zoomable view at its
    natural size (:func:`view_html`), so its text is as large as Graphviz drew it.
    """

    graph: graphviz.Digraph
    order: list[Value]
    grouping: Grouping
    shown_in: list[str]
    own: list[bool]
    edge_keys: dict[tuple[int, int], str]
    box_modules: dict[str, str] = field(default_factory=dict)

    def inner_name(self, i: int) -> str:
        """The ``i``-th node's name as its box shows it: without the prefix of the module it is drawn in.

        ``layers.0.neurons.1.sum`` is ``neurons.1.sum`` inside the box of ``layers.0``.
        """
        return name_in_module(self.grouping.names[self.order[i]], self.box_modules.get(self.shown_in[i], ""))

    def __getattr__(self, name: str) -> Any:
        if name == "graph":  # not set yet (while unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.graph, name)

    def svg(self) -> str:
        """The picture as SVG text (runs Graphviz's ``dot``)."""
        return render(self.graph, "svg").decode("utf-8")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": view_html(self.svg(), "computation graph"), "text/plain": repr(self)}

    def __repr__(self) -> str:
        boxes = len(set(self.shown_in))
        return f"<Picture of {len(self.order)} nodes in {boxes} boxes, level {self.grouping.level!r}>"


def draw_graph(
    root: Value,
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int = 500,
    color_by_grad: bool = True,
    model: HasNamedParameters | None = None,
    size: tuple[float, float] | None = None,
    level: str = "auto",
    expand: Iterable[str] = (),
    grouping: Grouping | None = None,
) -> Picture:
    """A Graphviz picture of everything ``root`` depends on (see the module docstring).

    ``rankdir`` is the direction of the arrows: ``"LR"`` (left to right),
    ``"TB"`` (top to bottom), ``"RL"``, ``"BT"``, or ``"auto"``: ``"LR"`` when that
    fits a notebook cell's width (or ``size``'s), otherwise whichever is
    narrower. The picture is drawn at its natural size, text 11 points
    (about 15 screen pixels) tall; ``size`` (inches, width by height), if
    given, is the largest it may be, and a larger one is scaled down, text
    and all. ``show_grad=False`` leaves the gradients out (for a graph before
    ``backward()``) and with them the colours. ``color_by_grad`` fills each box
    by |grad| (log scale); the legend below the picture explains the colours
    and shapes.

    ``model`` (anything with ``named_parameters()``) names the parameters and
    groups the nodes into modules; an ``nn`` model also knows its neurons and
    layers, and ``level`` chooses how much to draw: ``"node"`` (every node),
    ``"neuron"`` or ``"layer"`` (one box each, with its output's data and grad
    and the number of operations inside), or ``"auto"`` (every node for a
    small graph, else the finest level that stays readable). ``expand`` names
    modules to open (``["layers.1.neurons.0"]``): drawn node by node inside a
    coarser picture. ``grouping`` draws any :class:`Grouping` given instead.

    A picture of more than ``max_nodes`` boxes raises ``ValueError`` before any
    drawing, saying what to do instead. In a notebook the returned
    :class:`Picture` shows itself in a pan and zoom view; outside, use
    :func:`save_graph` or its ``source``/``pipe``/``render``.
    """
    order = check_drawable(root, rankdir, max_nodes, size, model, level)
    if grouping is None:
        grouping = grouping_of(order, model, level)
    return layout(
        order,
        grouping,
        rankdir=rankdir,
        show_grad=show_grad,
        color_by_grad=color_by_grad,
        size=size,
        max_nodes=max_nodes,
        expand=expand,
    )


def _as_module(name: str) -> tuple[str, ...]:
    return tuple(name.split(".")) if name else ()


def _closed_boxes(grouping: Grouping, expand: Iterable[str]) -> set[tuple[str, ...]]:
    """The modules drawn as one box: ``grouping.boxes`` but those inside a module of ``expand``."""
    if isinstance(expand, str):
        raise TypeError("expand must be a list of module names, such as ['layers.0'], not one string")
    opened = [_as_module(name) for name in expand]
    known = {m for b in grouping.boxes for m in module_chain(_as_module(b))} | {
        _as_module(b) for b in grouping.boxes
    }
    for module in opened:
        if module not in known:
            names = ", ".join(sorted(".".join(b) or "(the model)" for b in known)) or "none at this level"
            raise ValueError(f"cannot expand {'.'.join(module)!r}: the modules drawn as one box are {names}")
    return {
        _as_module(b)
        for b in grouping.boxes
        if not any(_as_module(b)[: len(o)] == o for o in opened)
    }


def layout(
    order: list[Value],
    grouping: Grouping,
    *,
    rankdir: str = "LR",
    show_grad: bool = True,
    color_by_grad: bool = True,
    size: tuple[float, float] | None = None,
    max_nodes: int = 500,
    expand: Iterable[str] = (),
    refusal: str = "",
    ranksep: float = 0.35,
    box_field: Callable[[str, list[int]], str] | None = None,
) -> Picture:
    """:func:`draw_graph` for a graph already sorted (``order``) and grouped: the drawing itself.

    A picture over ``max_nodes`` boxes raises ``ValueError`` (``refusal`` is added to its message).
    ``ranksep`` is the room between ranks, in inches (a page that writes on the edges wants more).
    ``box_field``, for a page that writes in a module's box as it steps (the walkthrough), adds
    a row below the fields of every module drawn as one box, its last text: called with the module's dotted
    name and the places (in ``order``) of the nodes inside, it returns the field's text, the
    widest the page will write there, so that Graphviz draws the box wide enough for it.
    """
    index = {node: i for i, node in enumerate(order)}
    modules = {node: _as_module(m) for node, m in grouping.modules.items()}
    closed = _closed_boxes(grouping, expand)
    # Which closed box each node falls in: its module, or the module around it, is one.
    box_of: dict[Value, tuple[str, ...]] = {}
    if closed:
        for node, module in modules.items():
            for outer in module_chain(module):
                if outer in closed:
                    box_of[node] = outer
                    break
    box_names: dict[tuple[str, ...], str] = {}
    members: dict[tuple[str, ...], list[int]] = {}  # the places (in order) of the nodes in each box
    for i, node in enumerate(order):
        if node in box_of:
            box = box_of[node]
            box_names.setdefault(box, box_id(len(box_names)))
            members.setdefault(box, []).append(i)
    shown_in = [box_names[box_of[node]] if node in box_of else node_id(i) for i, node in enumerate(order)]
    drawn = len(order) - len(box_of) + len(box_names)
    try:
        _count_check(drawn, len(order), max_nodes)
    except ValueError as error:
        raise ValueError(f"{error}{refusal}") from None
    import graphviz

    # A box's outputs: its nodes that a node outside it reads, and the root.
    outputs: dict[tuple[str, ...], list[Value]] = {box: [] for box in box_names}
    for node in order:
        for parent in node.parents:
            their_box = box_of.get(parent)
            if their_box is not None and box_of.get(node) != their_box and parent not in outputs[their_box]:
                outputs[their_box].append(parent)
    if order and order[-1] in box_of and order[-1] not in outputs[box_of[order[-1]]]:
        outputs[box_of[order[-1]]].append(order[-1])
    own = [node not in box_of or outputs[box_of[node]] == [node] for node in order]

    if rankdir == "auto":
        rankdir = _auto_rankdir(order, size[0] if size is not None else NOTEBOOK_WIDTH)
    horizontal = rankdir in ("LR", "RL")
    colored = color_by_grad and show_grad
    graph_attr = {"rankdir": rankdir, "nodesep": "0.25", "ranksep": f"{ranksep:g}", "newrank": "true"}
    if size is not None:
        graph_attr["size"] = f"{size[0]:g},{size[1]:g}"  # without "!": scale down only
    graph = graphviz.Digraph("autograd", graph_attr=graph_attr)
    graph.attr("node", fontname="Helvetica", fontsize="11")
    graph.attr("edge", color="#555555", arrowsize="0.7")

    def record(fields: list[str]) -> str:
        label = " | ".join(fields)
        return "{" + label + "}" if horizontal else label

    def numbers(node: Value) -> list[str]:
        fields = [f"data {format_number(node.data)}"]
        if show_grad:
            fields.append(f"grad {format_number(node.grad)}")
        return fields

    def fill(attrs: dict[str, str], grad: float) -> None:
        if colored:
            color = grad_color(grad)
            attrs.update(style="filled", fillcolor=color, fontcolor=text_color(color))

    # Clusters: module -> the statements of the nodes inside it (drawn later).
    inside: dict[tuple[str, ...], list[tuple[str, dict[str, str]]]] = {}
    top: list[tuple[str, dict[str, str]]] = []
    for i, node in enumerate(order):
        if node in box_of:
            continue
        name = grouping.names[node]
        attrs = {
            "label": record([_escape_record(_shown_name(name, modules.get(node))), *numbers(node)]),
            "shape": "record" if node.is_leaf else "Mrecord",
            "tooltip": graphviz.nohtml(_escape_text(name)),
        }
        if node in grouping.parameters:
            attrs["penwidth"] = "3"
        fill(attrs, node.grad)
        home = inside.setdefault(modules[node], []) if node in modules else top
        home.append((node_id(i), attrs))
        if not node.is_leaf:
            home.append(
                (
                    op_id(i),
                    {
                        "label": graphviz.nohtml(_escape_text(op_label(node))),
                        "shape": "ellipse",
                        "fontsize": "10",
                        "height": "0.3",
                    },
                )
            )
    for box, name in box_names.items():
        chain = module_chain(box)
        around = chain[-2] if len(chain) > 1 else None
        title = ".".join(box) or grouping.title or "model"
        count = sum(1 for i in members[box] if not order[i].is_leaf)
        fields = [_escape_record(_shown_name(title, around)), f"{count} operations"]
        out = outputs[box]
        attrs = {"shape": "record", "penwidth": "2", "tooltip": graphviz.nohtml(_escape_text(title))}
        if len(out) == 1:
            fields += numbers(out[0])
            fill(attrs, out[0].grad)
        else:
            fields.append(f"{len(out)} outputs")
        attrs["label"] = record(fields)
        if box_field is not None:  # a second row, below the fields: [name | count | numbers] over [line]
            line = _escape_record(box_field(".".join(box), members[box]))
            row = attrs["label"]
            attrs["label"] = f"{row} | {line}" if horizontal else f"{{{{{row}}} | {line}}}"
        (inside.setdefault(around, []) if around is not None else top).append((name, attrs))

    for name, attrs in top:
        graph.node(name, **attrs)
    if modules:  # the model's inputs side by side at the start, not scattered between layers
        inputs = [
            shown_in[index[p]]
            for node in order
            if node in modules
            for p in node.parents
            if p.is_leaf and p not in modules
        ]
        if inputs:
            with graph.subgraph() as first:
                first.attr(rank="min")
                for name in dict.fromkeys(inputs):
                    first.node(name)
    _draw_clusters(graph, inside, _escape_text(grouping.title), vertical=not horizontal)

    edge_keys: dict[tuple[int, int], str] = {}
    drawn_edges: dict[str, int] = {}

    def edge(tail: str, head: str, repeat: bool = True, **attrs: str) -> str:
        title = f"{tail}->{head}"
        if title in drawn_edges and not repeat:
            return f"{title}#0"
        k = drawn_edges.get(title, 0)
        drawn_edges[title] = k + 1
        graph.edge(tail, head, **attrs)
        return f"{title}#{k}"

    for i, node in enumerate(order):
        if node.is_leaf:
            continue
        parents = node.parents
        node_box = box_of.get(node)
        if node_box is None:
            ordered = len(parents) == 2 and node.op in ("-", "/", "**")
            for k, parent in enumerate(parents):
                attrs = {"label": "ab"[k], "fontsize": "9"} if ordered else {}
                edge_keys[(i, k)] = edge(shown_in[index[parent]], op_id(i), **attrs)
            edge_keys[(i, -1)] = edge(op_id(i), node_id(i))
            continue
        for k, parent in enumerate(parents):
            if box_of.get(parent) != node_box:
                edge_keys[(i, k)] = edge(shown_in[index[parent]], shown_in[i], repeat=False)

    if sum(drawn_edges.values()) > _BUSY_EDGES:
        # Past a few hundred edges, dot spends most of its time reordering the nodes of each rank
        # to uncross edges: fewer passes (instead of up to 24) keep a big picture to a second or two.
        graph.attr(mclimit="0.5", nslimit="2", nslimit1="2")
    graph.attr(
        label=_legend(colored, bool(grouping.parameters), bool(box_names)),
        labelloc="b",
        labeljust="l",
        fontsize="10",
        fontname="Helvetica",
    )
    box_modules = {name: ".".join(box) for box, name in box_names.items()}
    return Picture(graph, order, grouping, shown_in, own, edge_keys, box_modules)


def _draw_clusters(
    graph: graphviz.Digraph,
    members: dict[tuple[str, ...], list[tuple[str, dict[str, str]]]],
    model_name: str,
    vertical: bool,
) -> None:
    """Nest the modules' nodes into clusters: ``layers.1`` around ``layers.1.neurons.0``..."""
    import graphviz

    children: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    content: dict[tuple[str, ...], list[tuple[str, dict[str, str]]]] = {}
    for owner, statements in members.items():
        chain = module_chain(owner)
        for outer, inner in zip(chain, chain[1:], strict=False):
            children.setdefault(outer, set()).add(inner)
        content.setdefault(owner, []).extend(statements)
    roots = {module_chain(owner)[0] for owner in members}

    def nodes_below(module: tuple[str, ...]) -> Iterable[tuple[str, dict[str, str]]]:
        yield from content.get(module, ())
        for child in sorted(children.get(module, ()), key=_natural):
            yield from nodes_below(child)

    def draw(parent: graphviz.Digraph, module: tuple[str, ...], depth: int) -> None:
        with parent.subgraph(name=_escape_text("cluster_" + ("_".join(module) or "model"))) as cluster:
            title = ".".join(module) if module else model_name
            cluster.attr(
                label=graphviz.nohtml(_escape_text(title) if module else title),
                style="rounded,filled",
                fillcolor="#f4f4f4" if depth % 2 == 0 else "#ffffff",
                color="#767676",
                fontname="Helvetica",
                fontsize="12",
            )
            # dot places sibling clusters right to left in declaration order:
            # declaring them last-first puts neuron 0 on the left of a "TB" picture.
            subs = sorted(children.get(module, ()), key=_natural, reverse=vertical)
            if len(subs) > MAX_SUBCLUSTERS:
                for name, attrs in nodes_below(module):
                    cluster.node(name, **attrs)
                return
            for name, attrs in content.get(module, ()):
                cluster.node(name, **attrs)
            for sub in subs:
                draw(cluster, sub, depth + 1)

    for module in sorted(roots, key=_natural):
        draw(graph, module, 0)


def _natural(module: tuple[str, ...]) -> tuple:
    """Sort key putting ``layers.2`` before ``layers.10``."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in module)


# ============================================================================
# The view a notebook and a page show: the picture at its size, scrolled and zoomed
# ============================================================================

_VIEW_SCRIPT = Path(__file__).with_name("view.js")
_VIEW_STYLES = Path(__file__).with_name("view.css")


def svg_for_page(svg: str, page_id: str, label: str) -> str:
    """Graphviz's SVG ready to sit in an HTML page.

    Without its XML header; every ``id`` prefixed by ``page_id`` (ids are
    page-wide, and a notebook shows many pictures); and marked as one image
    named ``label`` (``role="img"``), so a screen reader says the name and not
    Graphviz's internal names (``n3``, ``op3->n3``) inside.
    """
    start = svg.find("<svg")
    if start < 0:
        raise ValueError("Graphviz returned no <svg> element")
    svg = re.sub(r'\bid="', f'id="{page_id}-', svg[start:])
    # (max-width in the element itself too: a notebook that strips <style> still leaves it unshrunk)
    return svg.replace(
        "<svg", f'<svg role="img" aria-label="{html.escape(label)}" style="max-width: none"', 1
    )


def view_html(svg: str, label: str, view_id: str | None = None) -> str:
    """An SVG picture in a view that scrolls and zooms: how a notebook or a page shows a graph.

    The picture starts at its natural size (its text as Graphviz drew it,
    never shrunk to fit); a picture bigger than the view scrolls. With
    JavaScript, buttons zoom in and out, ``fit`` shows it whole and ``100%``
    goes back; Ctrl + mouse wheel and a two-finger pinch zoom too.
    """
    view_id = view_id or "ag-" + secrets.token_hex(6)
    picture = svg_for_page(svg, view_id, label)
    buttons = "".join(
        f'<button type="button" data-zoom="{go}" aria-label="{name}" title="{name}">{text}</button>'
        for go, text, name in (
            ("out", "−", "Zoom out"),
            ("in", "+", "Zoom in"),
            ("one", "100%", "Natural size"),
            ("fit", "fit", "Fit the whole picture in view"),
        )
    )
    return "\n".join(
        (
            f'<div class="ag-view" id="{view_id}">',
            f"<style>{_VIEW_STYLES.read_text(encoding='utf-8')}</style>",
            f'<div class="ag-zoom" role="group" aria-label="zoom">{buttons}'
            '<span class="ag-zoom-level" aria-live="polite">100%</span></div>',
            f'<div class="ag-port" tabindex="0" role="region" aria-label="{html.escape(label)}: '
            f'scroll to move around; Ctrl + wheel or pinch to zoom">{picture}</div>',
            f'<script>\n{_VIEW_SCRIPT.read_text(encoding="utf-8")}("{view_id}");\n</script>',
            "</div>",
        )
    )


# ============================================================================
# Saving, and the picture a notebook shows
# ============================================================================


def save_graph(root: Value, path: str | os.PathLike, **draw_kwargs: Any) -> Path:
    """Draw ``root``'s graph (see :func:`draw_graph`) and write it to ``path``.

    The suffix chooses the format: ``.svg``, ``.png``, ``.pdf`` (these need
    Graphviz's ``dot`` program) or ``.dot`` (the graph's source text, which
    needs nothing). The file is written to a temporary name in the same
    directory and then renamed, so a failure never leaves a partial file.
    Returns the path written.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a path, not {type(path).__name__}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"cannot save a graph as {path.name!r}: the suffix must be one of {', '.join(FORMATS)}"
        )
    if suffix != ".dot":
        require_graphviz()
    graph = draw_graph(root, **draw_kwargs)
    if suffix == ".dot":
        data = graph.source.encode("utf-8")
    else:
        data = render(graph, suffix[1:])
    write_atomically(path, data)
    return path


def render(graph: graphviz.Digraph, fmt: str) -> bytes:
    """Run ``dot`` on the graph (``fmt``: ``"svg"``, ``"png"``...).

    Graphviz missing is our :class:`GraphvizNotFoundError`, with the install hint.
    """
    import graphviz

    try:
        return graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFoundError(_INSTALL_HINT) from None


def notebook_svg(root: Value) -> str | None:
    """The SVG a notebook shows for ``root`` (``Value._repr_svg_``), or ``None`` for plain text.

    ``None`` when the graph has more than :data:`NOTEBOOK_MAX_NODES` values or
    Graphviz is not installed: displaying a value must never fail.
    """
    if shutil.which("dot") is None:
        return None
    try:
        return render(draw_graph(root, max_nodes=NOTEBOOK_MAX_NODES), "svg").decode("utf-8")
    except (ImportError, ValueError, RuntimeError, OSError, subprocess.CalledProcessError):
        return None


def notebook_html(root: Value) -> str | None:
    """The picture of ``root``'s graph in a pan and zoom view (``Value._repr_html_``), or ``None``.

    What :func:`notebook_svg` shows, at its natural size: a notebook prefers
    HTML, and in HTML a picture wider than the cell scrolls instead of shrinking.
    """
    svg = notebook_svg(root)
    return None if svg is None else view_html(svg, "computation graph")


# A notebook shows a Value as the picture of its graph (Jupyter calls ``_repr_html_``, else ``_repr_svg_``).
Value._repr_svg_ = notebook_svg
Value._repr_html_ = notebook_html
