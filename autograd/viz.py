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
* **Size** (``size=``): the picture is scaled down, never up, to fit a box of
  ``size`` inches (width, height); the default :data:`NOTEBOOK_SIZE` fits a
  notebook cell. ``rankdir="auto"`` lays a graph out left to right when that
  fits the width, and top to bottom when that is narrower.

Modules (``model=``)
--------------------
``model`` is any object with ``named_parameters()`` (an ``nn.MLP``, ``Layer``,
``Neuron``, ``Sequential``...). A parameter named ``layers.1.neurons.0.w.2`` is
weight 2 of the module ``layers.1.neurons.0`` inside ``layers.1``; each such
module becomes a labelled box (a Graphviz *cluster*), nested the same way. A
module with more than :data:`MAX_SUBCLUSTERS` sub-modules is drawn as one box.

Which operations belong to a neuron? A neuron computes
``act(w0·x0 + w1·x1 + ... + b)``. So, walking the graph forwards:

1. a parameter belongs to its module;
2. an operation belongs to module M when the inputs that pass a module on
   (parameters, and results that belong to a module and are still *open*)
   all pass M. Its weighted sum is then open until it has used every
   parameter of M: that node is M's *sum*;
3. an activation (``tanh``, ``sigmoid``, ``relu``, ``leaky_relu``) applied to
   M's sum also belongs to M; the sum (or the activation) *closes* M: results
   computed from it, such as the next layer's ``w·h`` or a loss, do not
   inherit M. (``w·h`` still joins the next neuron through its weight ``w``.)

Inputs, the loss, and anything mixing several modules stay outside the boxes.

A node inside module ``M`` that has no label of its own is named after its
place: ``M.sum`` for M's weighted sum, ``M.tanh`` (``M.relu``...) for its
activation, ``M.t1``, ``M.t2``... for its intermediate results before the sum
(the products and partial sums), numbered in topological order, the order
``v{i}`` counts in (``layers.0.neurons.1.sum``, ``layers.0.neurons.1.t3``). A name that occurs
more than once (the same model applied to several inputs) gets ``#1``, ``#2``...
as repeated labels do. Inside a module's box the name is shown without the
module's prefix (``sum``); the tooltip gives the full name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from math import log10
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .files import write_atomically
from .graph import topological_order
from .names import format_number, node_names, op_label
from .value import Value

if TYPE_CHECKING:  # graphviz is imported lazily: ``import autograd`` does not need it
    import graphviz

__all__ = [
    "FORMATS",
    "MAX_SUBCLUSTERS",
    "NOTEBOOK_MAX_NODES",
    "NOTEBOOK_SIZE",
    "GraphvizNotFoundError",
    "check_drawable",
    "draw_graph",
    "grad_color",
    "node_id",
    "notebook_svg",
    "op_id",
    "picture_names",
    "render",
    "require_graphviz",
    "save_graph",
    "text_color",
]

#: The file types :func:`save_graph` writes (by the path's suffix).
FORMATS = (".svg", ".png", ".pdf", ".dot")
#: A module with more sub-modules than this is drawn as one cluster.
MAX_SUBCLUSTERS = 16
#: The largest graph a notebook draws automatically (``Value._repr_svg_``).
NOTEBOOK_MAX_NODES = 150
#: The default largest picture, in inches (width, height): about the width of a
#: notebook cell (1 inch = 96 screen pixels); taller pictures scroll.
NOTEBOOK_SIZE = (9.0, 40.0)

_RANKDIRS = ("LR", "RL", "TB", "BT", "auto")
# For rankdir="auto": the width a picture takes, in inches, measured on typical
# graphs: per level of operations laid out left to right, per box side by side
# top to bottom.
_LR_INCHES_PER_LEVEL = 3.3
_TB_INCHES_PER_NODE = 1.8
_ACTIVATIONS = frozenset({"tanh", "sigmoid", "relu", "leaky_relu"})

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
    lo, hi = _VIRIDIS[i], _VIRIDIS[i + 1]
    return tuple(round(a + (b - a) * f) for a, b in zip(lo, hi, strict=True))


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def grad_color(grad: float) -> str:
    """The fill colour for a gradient: viridis of log10|grad| between ``LOW`` and ``HIGH``."""
    if grad != grad or grad in (float("inf"), float("-inf")):
        return _NONFINITE_COLOR
    if grad == 0.0:
        return _ZERO_COLOR
    return _hex(_viridis((log10(abs(grad)) - LOW) / (HIGH - LOW)))


def text_color(fill: str) -> str:
    """Black or white, whichever is readable on ``fill`` (by its relative luminance)."""
    r, g, b = (int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.4 else "white"


# ============================================================================
# Modules: which nodes belong to which cluster
# ============================================================================


def _split_parameter_name(name: str) -> tuple[tuple[str, ...], str]:
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


def _module_chain(owner: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The clusters a module sits in, outermost first: every prefix ending in an index, and itself.

    ``("layers", "1", "neurons", "0")`` → ``[("layers", "1"), ("layers", "1", "neurons", "0")]``.
    """
    chain = [owner[: i + 1] for i in range(len(owner) - 1) if owner[i].isdigit()]
    chain.append(owner)
    return chain


def _parameters(model: Any) -> dict[Value, str]:
    named = getattr(model, "named_parameters", None)
    if not callable(named):
        raise TypeError(f"model must have a named_parameters() method; {type(model).__name__} has none")
    params: dict[Value, str] = {}
    for name, p in named():
        if not isinstance(p, Value) or not isinstance(name, str):
            raise TypeError(f"model.named_parameters() must yield (str, Value) pairs, got ({name!r}, {p!r})")
        params[p] = name
    return params


def _owners(
    order: list[Value], params: dict[Value, str]
) -> tuple[dict[Value, tuple[str, ...]], dict[Value, str]]:
    """The module each node belongs to (see the module docstring), for the nodes that have one.

    Also returns the *role* of the sums and activations: ``"sum"``, or the
    activation's operation (``"tanh"``...).
    """
    owner_of = {p: _split_parameter_name(name)[0] for p, name in params.items()}
    needed: dict[tuple[str, ...], int] = {}
    for owner in owner_of.values():
        needed[owner] = needed.get(owner, 0) + 1
    owner: dict[Value, tuple[str, ...]] = {}
    role: dict[Value, str] = {}
    used: dict[Value, frozenset] = {}  # parameters an open node was computed from
    state: dict[Value, str] = {}  # "open", "sum" (all parameters used) or "closed"
    for node in order:
        if node in owner_of:
            owner[node], used[node], state[node] = owner_of[node], frozenset((node,)), "open"
            continue
        parents = node.parents
        if not parents:
            continue
        if node.op in _ACTIVATIONS and len(parents) == 1 and state.get(parents[0]) == "sum":
            owner[node], state[node], role[node] = owner[parents[0]], "closed", node.op
            state[parents[0]] = "closed"
            continue
        passing = [p for p in parents if state.get(p) == "open"]
        modules = {owner[p] for p in passing}
        if len(modules) != 1:
            continue
        (module,) = modules
        reached = frozenset().union(*(used[p] for p in passing))
        owner[node], used[node] = module, reached
        state[node] = "sum" if len(reached) == needed[module] else "open"
        if state[node] == "sum":
            role[node] = "sum"
    return owner, role


def _model_names(
    order: list[Value],
    params: dict[Value, str],
    owners: dict[Value, tuple[str, ...]],
    roles: dict[Value, str],
) -> dict[Value, str]:
    """Every node's name when a model is drawn (see the module docstring).

    A parameter is called by its name in the model; an unlabelled node inside
    a module after its place (``layers.0.neurons.1.sum``); every other node as
    :func:`autograd.names.node_names` calls it.
    """
    names = node_names(order)
    wanted: dict[Value, str] = {}
    counter: dict[tuple[str, ...], int] = {}
    for node in order:
        if node in params:
            wanted[node] = params[node]
        elif node in owners and not node.label:
            module = owners[node]
            role = roles.get(node)
            if role is None:
                counter[module] = counter.get(module, 0) + 1
                role = f"t{counter[module]}"
            wanted[node] = ".".join((*module, role))
    repeats: dict[str, int] = {}
    for name in wanted.values():
        repeats[name] = repeats.get(name, 0) + 1
    taken = {name for node, name in names.items() if node not in wanted}
    seen: dict[str, int] = {}
    for node, name in wanted.items():
        if repeats[name] > 1:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name}#{seen[name]}"
        while name in taken:  # another node is labelled so already
            name += "'"
        taken.add(name)
        names[node] = name
    return names


def picture_names(order: list[Value], model: Any = None) -> dict[Value, str]:
    """The name :func:`draw_graph` gives every node of ``order`` (a topological order).

    Without ``model`` these are :func:`autograd.names.node_names`, the names
    ``explain`` uses; with it, the parameters' names and the names of the
    nodes inside modules (``layers.0.neurons.1.sum``).
    """
    if model is None:
        return node_names(order)
    params = _parameters(model)
    owners, roles = _owners(order, params)
    return _model_names(order, params, owners, roles)


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


def _count_check(order: list[Value], max_nodes: int) -> None:
    if len(order) > max_nodes:
        raise ValueError(
            f"the graph has {len(order)} Value nodes, more than max_nodes={max_nodes}; "
            "Graphviz would take long and the picture would be unreadable. Draw a smaller "
            "sub-expression (e.g. one neuron's output), or raise max_nodes"
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


def _legend(color_by_grad: bool, with_parameters: bool) -> str:
    """The key below the picture (an HTML-like Graphviz label): shapes and, if used, colours."""
    shapes = "square box: input (leaf)"
    if with_parameters:
        shapes += "   thick border: parameter"
    shapes += "   rounded box: result of an operation   oval: the operation"
    rows = [f'<TR><TD COLSPAN="{HIGH - LOW + 4}" BORDER="0" ALIGN="LEFT">{shapes}</TD></TR>']
    if color_by_grad:
        scale = []
        for e in range(LOW, HIGH + 1):
            fill = grad_color(10.0**e)
            text = ("≤" if e == LOW else "≥" if e == HIGH else "") + f"1e{e:+d}"
            scale.append(f'<TD BGCOLOR="{fill}"><FONT COLOR="{text_color(fill)}">{text}</FONT></TD>')
        rows.append(
            f'<TR><TD BORDER="0">|grad|:</TD><TD BGCOLOR="{_ZERO_COLOR}">0</TD>{"".join(scale)}'
            f'<TD BGCOLOR="{_NONFINITE_COLOR}"><FONT COLOR="white">nan, inf</FONT></TD></TR>'
        )
    table = "".join(rows)
    return f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">{table}</TABLE>>'


def check_drawable(
    root: Value,
    rankdir: str = "LR",
    max_nodes: int = 500,
    size: tuple[float, float] | None = NOTEBOOK_SIZE,
    model: Any = None,
) -> list[Value]:
    """Check :func:`draw_graph`'s arguments, before anything is drawn; return ``root``'s topological order.

    Raises what :func:`draw_graph` raises for them: ``TypeError`` for a root
    that is not a ``Value`` or a model without ``named_parameters()``,
    ``ValueError`` for a bad ``rankdir``, ``size`` or ``max_nodes``, or for a
    graph with more than ``max_nodes`` values.
    """
    _validate(root, rankdir, max_nodes, size)
    if model is not None:
        _parameters(model)
    order = topological_order(root)
    _count_check(order, max_nodes)
    return order


def draw_graph(
    root: Value,
    rankdir: str = "LR",
    show_grad: bool = True,
    max_nodes: int = 500,
    color_by_grad: bool = True,
    model: Any = None,
    size: tuple[float, float] | None = NOTEBOOK_SIZE,
) -> graphviz.Digraph:
    """A Graphviz picture of everything ``root`` depends on (see the module docstring).

    ``rankdir`` is the direction of the arrows: ``"LR"`` (left to right),
    ``"TB"`` (top to bottom), ``"RL"``, ``"BT"``, or ``"auto"``: ``"LR"`` when that
    fits the width of ``size``, otherwise whichever is narrower. ``size``
    (inches, width by height) is the largest the picture may be: a larger one
    is scaled down to fit; ``None`` draws it at its natural size. ``show_grad=False`` leaves the
    gradients out (for a graph before ``backward()``) and with them the
    colours. ``color_by_grad`` fills each box by |grad| (log scale); the legend
    below the picture explains the colours and shapes. ``model`` (anything with
    ``named_parameters()``) names the parameters and groups the nodes into
    modules. A graph with more than ``max_nodes`` values raises ``ValueError``
    before any drawing.

    In a notebook the returned ``graphviz.Digraph`` displays itself; outside,
    use :func:`save_graph` or the Digraph's ``render``/``pipe``/``source``.
    """
    order = check_drawable(root, rankdir, max_nodes, size, model)
    params = _parameters(model) if model is not None else {}
    import graphviz

    index = {node: i for i, node in enumerate(order)}
    owners, roles = _owners(order, params) if params else ({}, {})
    names = _model_names(order, params, owners, roles) if params else node_names(order)
    if rankdir == "auto":
        rankdir = _auto_rankdir(order, size[0] if size is not None else float("inf"))
    horizontal = rankdir in ("LR", "RL")
    colored = color_by_grad and show_grad

    graph_attr = {"rankdir": rankdir, "nodesep": "0.25", "ranksep": "0.35", "newrank": "true"}
    if size is not None:
        graph_attr["size"] = f"{size[0]:g},{size[1]:g}"  # without "!": scale down only
    graph = graphviz.Digraph("autograd", graph_attr=graph_attr)
    graph.attr("node", fontname="Helvetica", fontsize="11")
    graph.attr("edge", color="#555555", arrowsize="0.7")

    # Clusters: module -> the statements of the nodes inside it (drawn later).
    members: dict[tuple[str, ...], list[tuple[str, dict[str, str]]]] = {}
    top: list[tuple[str, dict[str, str]]] = []
    model_name = type(model).__name__ if model is not None else ""

    for node in order:
        i = index[node]
        name = names[node]
        param_name = params.get(node)
        shown = _shown_name(name, owners.get(node))
        fields = [_escape_record(shown), f"data {format_number(node.data)}"]
        if show_grad:
            fields.append(f"grad {format_number(node.grad)}")
        label = " | ".join(fields)
        attrs = {
            "label": "{" + label + "}" if horizontal else label,
            "shape": "record" if node.is_leaf else "Mrecord",
            "tooltip": graphviz.nohtml(_escape_text(name)),
        }
        if param_name is not None:
            attrs["penwidth"] = "3"
        if colored:
            fill = grad_color(node.grad)
            attrs.update(style="filled", fillcolor=fill, fontcolor=text_color(fill))
        home = members.setdefault(owners[node], []) if node in owners else top
        home.append((node_id(i), attrs))
        if not node.is_leaf:
            home.append(
                (op_id(i), {"label": op_label(node), "shape": "ellipse", "fontsize": "10", "height": "0.3"})
            )

    for name, attrs in top:
        graph.node(name, **attrs)
    if owners:  # the model's inputs side by side at the start, not scattered between layers
        inputs = [
            node_id(index[p])
            for node in order
            if node in owners
            for p in node.parents
            if _is_input(p, owners)
        ]
        if inputs:
            with graph.subgraph() as first:
                first.attr(rank="min")
                for name in dict.fromkeys(inputs):
                    first.node(name)
    _draw_clusters(graph, members, _escape_text(model_name), vertical=not horizontal)
    for node in order:
        i = index[node]
        if node.is_leaf:
            continue
        parents = node.parents
        ordered = len(parents) == 2 and node.op in ("-", "/", "**")
        for k, parent in enumerate(parents):
            graph.edge(
                node_id(index[parent]), op_id(i), **({"label": "ab"[k], "fontsize": "9"} if ordered else {})
            )
        graph.edge(op_id(i), node_id(i))

    graph.attr(
        label=_legend(colored, bool(params)),
        labelloc="b",
        labeljust="l",
        fontsize="10",
        fontname="Helvetica",
    )
    return graph


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
        chain = _module_chain(owner)
        for outer, inner in zip(chain, chain[1:], strict=False):
            children.setdefault(outer, set()).add(inner)
        content.setdefault(owner, []).extend(statements)
    roots = {_module_chain(owner)[0] for owner in members}

    def nodes_below(module: tuple[str, ...]) -> Iterable[tuple[str, dict[str, str]]]:
        yield from content.get(module, ())
        for child in sorted(children.get(module, ()), key=_natural):
            yield from nodes_below(child)

    def draw(parent: graphviz.Digraph, module: tuple[str, ...], depth: int) -> None:
        with parent.subgraph(name=_escape_text("cluster_" + ("_".join(module) or "model"))) as cluster:
            cluster.attr(
                label=graphviz.nohtml(_escape_text(".".join(module))) if module else model_name,
                style="rounded,filled",
                fillcolor="#f4f4f4" if depth % 2 == 0 else "#ffffff",
                color="#888888",
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


def _is_input(node: Value, owners: dict[Value, tuple[str, ...]]) -> bool:
    return node.is_leaf and node not in owners


def _natural(module: tuple[str, ...]) -> tuple:
    """Sort key putting ``layers.2`` before ``layers.10``."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in module)


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


# A notebook shows a Value as the picture of its graph (Jupyter calls ``_repr_svg_``).
Value._repr_svg_ = notebook_svg
