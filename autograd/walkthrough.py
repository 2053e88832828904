"""Watch backpropagation happen: :func:`walkthrough`, a step-by-step page for any graph.

``draw_graph`` shows where the gradients end up and ``explain`` lists the
chain-rule steps as a table. ``walkthrough(root)`` turns both into a page to
step through, in a notebook (it displays itself) or in a browser
(``page.save("backprop.html")``, one file that works offline):

1. **The forward pass.** One step per node, inputs first (topological order):
   each node's value appears once the values it is computed from are known.
2. **The backward pass.** The seed d(root)/d(root) = 1, then one step per edge,
   from the output back to the inputs (``explain``'s order). Each step lights
   up one edge and writes the chain rule with the graph's own names and
   numbers::

       d(o)/d(x1) += d(o)/d(v3) · d(v3)/d(x1)
       upstream × local = contribution:  0.5 × (-3) = -1.5

   and the input's gradient grows by that contribution. A node used twice
   receives two contributions, and the page shows them adding up.

The numbers are the engine's own: the backward steps are those of
:func:`autograd.explain.explain`, whose contributions add up exactly to every
``.grad``. The page shows the backward pass of a fresh start, every gradient
from zero (as after ``zero_grad()``), so at its last step every gradient is
what ``root.backward()`` gives from zero. Running it changes nothing: every
node's ``.grad`` is put back as it was.

At every step the page shows each node's value and gradient *as known at that
step* (blank until then); going back, the page puts back what each step it
crosses had overwritten, so it undoes exactly. The picture is
:func:`autograd.viz.draw_graph`'s (rounded to 4 significant digits, coloured by
|grad| once a gradient is known), at its natural size in a view that scrolls
and zooms and brings each step's boxes into view; the chain-rule lines and the
table (in the picture's order, scrolled to the step's row) use ``explain``'s 6
digits. A backward step is drawn going backward: a dashed arrow against the
edges from the node the gradient comes from (orange outline) to the one it
goes to (blue), the contribution written beside the edge, where it stays as
later steps add theirs. The page holds two layouts of the picture, left to
right and top to bottom (the one a narrow screen, a phone, shows), and draws
every step in both. In a neuron or layer drawn as one box, each step writes a
line about its node inside (its value, its gradient, or a contribution along
an edge inside the box, which has no edge in the picture to be written on).
The topological order and the names are computed once,
at the top, and handed to the drawing and to ``explain`` (which still walks
the graph for its own backward pass).

>>> from autograd import Value
>>> x = Value(3.0, label="x")
>>> y = x * x
>>> y.label = "y"
>>> page = walkthrough(y)          # needs Graphviz's dot program
>>> for line in page.steps[-1].lines:
...     print(line)
d(y)/d(x) += d(y)/d(y) · d(y)/d(x)
local: d(y)/d(x) = x = 3
upstream × local = contribution:  1 × 3 = 3
grad x = 3 + 3 = 6   (x is used 2 times: the contributions add up)
>>> page.save("backprop.html")    # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .explain import Explanation, explain, expression
from .files import write_atomically
from .names import format_number
from .value import Value, _Closure
from .viz import (
    HasNamedParameters,
    Picture,
    check_drawable,
    grad_color,
    grouping_of,
    layout,
    name_in_module,
    node_id,
    op_id,
    render,
    require_graphviz,
    text_color,
    view_html,
)

__all__ = ["PageStep", "Walkthrough", "walkthrough"]

_HERE = Path(__file__).parent
#: The page's script and styles, kept in files of their own so they read as JavaScript and CSS.
_SCRIPT = _HERE / "walkthrough.js"
_STYLES = _HERE / "walkthrough.css"
#: The most steps a page may have: past it, stepping is no way to learn (and the page takes too long).
MAX_STEPS = 25_000


@dataclass(frozen=True)
class PageStep:
    """One step of the page: what it says, what it lights up, and what it changes.

    ``phase`` is ``"start"``, ``"forward"`` or ``"backward"``. ``focus`` holds
    the Graphviz names of the boxes and ovals to highlight (``"n3"``,
    ``"op3"``, or ``"m0"`` for a module drawn as one box), ``edges`` the
    edges (``"n0->op3#1"``: the second edge from ``n0`` to ``op3``, as in
    ``x * x``). A backward step also names the box the gradient comes from
    (``upstream``) and the box it goes to (``receiving``), and the
    ``contribution`` written on the edge it flows along (``edges[0]``).
    ``changes`` maps a node's index (its place in topological order) to the
    fields that this step sets: ``value`` and ``box_value`` (the forward
    pass), or ``grad``, ``box_grad``, ``fill`` and ``ink`` (the backward
    pass), and ``contributions_more``: the text this step's contribution adds
    to the node's ``contributions`` (``"0.5"``, then ``" + (-3)"``).

    At a coarser level a neuron or layer is one box, and most of its nodes
    have no box of their own: ``box_lines`` pairs such a box's name with the
    line the step writes in it, about the step's node inside (``"sum =
    0.5312"``, ``"grad sum = -0.2"``, or, when the gradient flows along an
    edge inside the box, ``"grad w.0 += (-0.1) → -0.1"``).
    """

    phase: str
    title: str
    lines: tuple[str, ...]
    focus: tuple[str, ...] = ()
    edges: tuple[str, ...] = ()
    changes: dict[int, dict[str, str]] = field(default_factory=dict)
    upstream: str = ""
    receiving: str = ""
    contribution: str = ""
    box_lines: tuple[tuple[str, str], ...] = ()


class Walkthrough:
    """The steps of a forward and a backward pass over one graph, as a page.

    ``_repr_html_`` shows it in a notebook; :meth:`save` writes it as one
    HTML file; :meth:`html` returns that file's text. ``steps`` are the
    :class:`PageStep`\\ s, ``names`` the node names, ``explanation`` the
    backward pass as :func:`autograd.explain.explain` recorded it,
    ``picture`` the :class:`autograd.viz.Picture` the page shows, and
    ``narrow`` the same graph laid out top to bottom, which the page shows
    instead on a narrow screen (a phone), or ``None`` when ``picture`` is
    already drawn top to bottom. ``svg`` and ``narrow_svg`` are their SVG text.
    """

    def __init__(
        self,
        root: Value,
        order: list[Value],
        names: dict[Value, str],
        explanation: Explanation,
        steps: list[PageStep],
        svg: str,
        parameters: frozenset[Value] = frozenset(),
        picture: Picture | None = None,
        narrow: Picture | None = None,
        narrow_svg: str = "",
    ) -> None:
        self.root = root
        self.order = order
        self.names = names
        self.explanation = explanation
        self.steps = steps
        self.svg = svg
        self.parameters = parameters  # the model's parameters, if a model was given
        self.picture = picture
        self.narrow = narrow
        self.narrow_svg = narrow_svg
        self._how: list[str] = []  # how each node is computed, as the forward steps wrote it

    def state_at(self, k: int) -> list[dict[str, str]]:
        """Every node's shown fields after step ``k``: all blank, then steps 0..k applied in order.

        The page's script shows the same state at step ``k`` however it got
        there (it keeps what each step overwrote, to undo it going back), so
        going back to a step shows what it showed before. (Fields: see :class:`PageStep`.)
        """
        if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < len(self.steps):
            raise ValueError(f"k must be a step number from 0 to {len(self.steps) - 1}, not {k!r}")
        state: list[dict[str, str]] = [{} for _ in self.order]
        for step in self.steps[: k + 1]:
            for i, change in step.changes.items():
                _apply(state[i], change)
        return state

    def __repr__(self) -> str:
        return (
            f"<Walkthrough of {self.names[self.root]}: {len(self.order)} nodes, {len(self.steps)} steps; "
            "display it in a notebook or .save('backprop.html')>"
        )

    def _repr_html_(self) -> str:
        return _encodable(self._fragment(standalone=False))

    def html(self) -> str:
        """The page as a complete HTML document: picture, script and styles inline, nothing fetched.

        Text that cannot be written as UTF-8 (a lone surrogate in a label,
        ``"x\\udc80"``) is written escaped, as ``x\\udc80``.
        """
        title = html.escape(f"Backpropagation through {self.names[self.root]}")
        return _encodable(
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n</head>\n<body>\n{self._fragment(standalone=True)}\n</body>\n</html>\n"
        )

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`html` to ``path`` (atomically: a failure leaves no partial file). Returns the path."""
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or a path, not {type(path).__name__}")
        return write_atomically(Path(path), self.html().encode("utf-8"))

    def _fragment(self, standalone: bool) -> str:
        """The page's ``<div>``: its own id, so that several pages can share one notebook."""
        page_id = "wt-" + secrets.token_hex(6)
        last = len(self.steps) - 1
        buttons = "".join(
            f'<button type="button" data-go="{go}" aria-label="{name}" title="{name} ({key})">'
            f"{symbol}</button>"
            for go, symbol, name, key in (
                ("first", "|◀", "First step", "Home"),
                ("previous", "◀", "Previous step", "←"),
                ("play", "▶ play", "Play", "space"),
                ("next", "▶", "Next step", "→"),
                ("last", "▶|", "Last step", "End"),
            )
        )
        where = (
            "Keys: ← and → step, Home and End jump, space plays."
            if standalone
            else "Click the picture first; then ← and → step, Home and End jump, space plays."
        )
        final = self.steps[-1]
        label = f"computation graph of {self.names[self.root]}"
        # Two layouts of one graph, when the page has both: CSS shows the one that suits the screen.
        pictures = [f'<div class="wt-picture">{view_html(self.svg, label, f"{page_id}-view")}</div>']
        if self.narrow_svg:
            pictures = [
                f'<div class="wt-picture wt-wide">{view_html(self.svg, label, f"{page_id}-view")}</div>',
                f'<div class="wt-picture wt-narrow">'
                f'{view_html(self.narrow_svg, label + ", top to bottom", f"{page_id}-narrow")}</div>',
            ]
        return "\n".join(
            (
                f'<div class="wt" id="{page_id}" tabindex="-1" data-standalone="{int(standalone)}">',
                f"<style>{_STYLES.read_text(encoding='utf-8')}</style>",
                f'<div class="wt-controls" role="group" aria-label="steps">{buttons}'
                f'<input type="range" class="wt-slider" min="0" max="{last}" value="{last}"'
                f' aria-label="Step" aria-valuetext="step {last} of {last}">'
                f'<span class="wt-counter">step {last} of {last}</span></div>',
                f'<p class="wt-keys">{where}</p>',
                '<p class="wt-noscript">This is the last step. The controls that step through the page need '
                "JavaScript, which is off or blocked here.</p>",
                f'<div class="wt-title" role="status" aria-live="polite">{html.escape(final.title)}</div>',
                f'<div class="wt-lines">{html.escape(chr(10).join(final.lines))}</div>',
                '<div class="wt-legend"><span class="wt-key wt-key-up">gradient comes from</span> '
                '<span class="wt-key wt-key-to">gradient goes to</span> '
                '<span class="wt-key wt-key-on">this step</span> '
                '<span class="wt-key wt-key-pending">not computed yet</span></div>',
                *pictures,
                self._table(),
                f'<script type="application/json" class="wt-data">{_json_for_html(self._data())}</script>',
                f'<script>\n{_SCRIPT.read_text(encoding="utf-8")}("{page_id}");\n</script>',
                "</div>",
            )
        )

    def _table(self) -> str:
        """Every node's value, gradient and contributions: at the last step until the script runs."""
        head = "".join(
            f'<th scope="col">{h}</th>' for h in ("node", "computed as", "value", "gradient", "contributions")
        )
        rows = []
        for i, (node, known) in enumerate(zip(self.order, self.state_at(len(self.steps) - 1), strict=True)):
            how = self._how[i] if self._how else _how(node, self.names, self.parameters)
            cells = "".join(
                f'<td class="wt-{key}">{html.escape(known.get(key, ""))}</td>'
                for key in ("value", "grad", "contributions")
            )
            rows.append(
                f'<tr data-node="{i}"><td class="wt-name">{html.escape(self.names[node])}</td>'
                f'<td class="wt-how">{html.escape(how)}</td>{cells}</tr>'
            )
        return (
            f'<div class="wt-table" tabindex="0" role="region" aria-label="every node, step by step">'
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )

    def _data(self) -> dict[str, Any]:
        """What the script needs: where each node is drawn, and the steps."""
        shown_in = self.picture.shown_in if self.picture else [node_id(i) for i in range(len(self.order))]
        own = self.picture.own if self.picture else [True] * len(self.order)
        nodes = [
            {
                "id": shown_in[i],
                "op": op_id(i) if node.parents and shown_in[i] == node_id(i) else None,
                "own": own[i],
            }
            for i, node in enumerate(self.order)
        ]
        steps = []
        for s in self.steps:
            step: dict[str, Any] = {
                "phase": s.phase,
                "title": s.title,
                "lines": list(s.lines),
                "focus": list(s.focus),
                "edges": list(s.edges),
                "set": [[i, _camel(change)] for i, change in s.changes.items()],
            }
            if s.upstream:
                step.update(up=s.upstream, to=s.receiving, contribution=s.contribution)
            steps.append(step)
            if s.box_lines:
                step["box"] = [list(pair) for pair in s.box_lines]
        drawn = [p for p in (self.picture, self.narrow) if p is not None]
        rankdirs = [p.graph.graph_attr.get("rankdir", "LR") for p in drawn] or ["LR"]
        fielded = sorted(self.picture.box_modules) if self.picture else []
        return {"nodes": nodes, "steps": steps, "rankdirs": rankdirs, "fielded": fielded}


def walkthrough(
    root: Value,
    *,
    model: HasNamedParameters | None = None,
    rankdir: str = "LR",
    max_nodes: int = 500,
    size: tuple[float, float] | None = None,
    level: str = "auto",
    expand: Any = (),
) -> Walkthrough:
    """Record a forward and a backward pass over ``root``'s graph, as a page to step through.

    ``model``, ``rankdir``, ``max_nodes``, ``size``, ``level`` and ``expand``
    are :func:`autograd.viz.draw_graph`'s: the picture is the same, at its
    natural size in a view that scrolls, zooms and follows the step; with an
    ``nn`` model a big network is drawn one box per neuron or layer (the steps
    still go node by node, lighting up the box a node is in). A picture over
    ``max_nodes`` boxes, or a page over :data:`MAX_STEPS` steps, is refused at
    once with a ``ValueError`` that says how many steps it would have and what
    to walk through instead. The picture needs Graphviz's ``dot`` program
    (:class:`autograd.viz.GraphvizNotFoundError` says how to install it).
    Every node's ``.grad`` is left as it was.
    """
    order = check_drawable(root, rankdir, max_nodes, size, model, level)
    require_graphviz()
    total = 2 + len(order) + sum(len(node.parents) for node in order)  # start, forward, seed, one per edge
    way_out = (
        "Walk through one sample's loss instead of a whole batch's (or a part of the graph: one neuron's "
        "output); draw_graph(..., level='neuron' or 'layer') shows the whole graph's gradients at once."
    )
    if total > MAX_STEPS:
        raise ValueError(
            f"the walkthrough would have {total} steps ({len(order)} nodes), "
            f"more than MAX_STEPS={MAX_STEPS}. {way_out}"
        )
    grouping = grouping_of(order, model, level)
    names = dict(grouping.names)
    saved = [node.grad for node in order]
    # Graphviz lays the picture out in a process of its own (two: one per layout, on two cores)
    # while Python writes the steps.
    # A node made the lecture's way (a _backward closure) has no chain-rule steps to show: its page
    # is the forward pass only, and says so.
    closures = [node for node in order if isinstance(node.operation, _Closure)]
    with ThreadPoolExecutor(2) as pool:
        try:
            for node in order:  # the page shows a backward pass from zero, as after zero_grad()
                node.grad = 0.0
            explanation = Explanation(root, names, []) if closures else explain(root, show=False, names=names)
            widest = _widest_box_line(order, names, explanation)

            def draw(direction: str) -> Picture:
                # Drawn with the last step's numbers, so every box is wide enough for them.
                return layout(
                    order,
                    grouping,
                    rankdir=direction,
                    size=size,
                    max_nodes=max_nodes,
                    expand=expand,
                    refusal=f". The walkthrough would have {total} steps.",
                    # room to write the contributions on the edges: more across, where they run along the edge
                    ranksep=1.1 if direction in ("LR", "RL") else 0.8,
                    box_field=widest,
                )

            picture = draw(rankdir)
            svgs = [pool.submit(render, picture, "svg")]
            # On a narrow screen the page shows the graph top to bottom: a second layout, unless this one is.
            narrow = None if picture.graph.graph_attr["rankdir"] in ("TB", "BT") else draw("TB")
            if narrow is not None:
                svgs.append(pool.submit(render, narrow, "svg"))
        finally:
            for node, grad in zip(order, saved, strict=True):
                node.grad = grad
        parameters = grouping.parameters
        hows = [_how(node, names, parameters) for node in order]
        steps = [_start_step(names[root], closures)]
        inner = [picture.inner_name(i) for i in range(len(order))]  # each node's name in its box
        steps += _forward_steps(order, picture, names, hows, explanation.digits, inner)
        index = {node: i for i, node in enumerate(order)}
        if not closures:
            steps += _backward_steps(explanation, index, names, picture, inner)
        # Without the script the page shows its last step: each box's line as the last step wrote it.
        final = {box: line for step in steps for box, line in step.box_lines}
        texts = [_write_in_boxes(svg.result().decode("utf-8"), final) for svg in svgs]
    page = Walkthrough(
        root, order, names, explanation, steps, texts[0], parameters, picture, narrow, "".join(texts[1:])
    )
    page._how = hows
    return page


# ============================================================================
# The steps
# ============================================================================


def _factor(x: float, digits: int) -> str:
    """A number inside a product: negative ones in brackets, ``0.5 × (-3)``."""
    text = format_number(x, digits)
    return f"({text})" if text.startswith("-") else text


def _start_step(root_name: str, closures: list[Value]) -> PageStep:
    then = f"then the backward pass applies the chain rule from {root_name} back to every input."
    if closures:  # the lecture's way: the rule is a closure, which the page cannot show
        then = (
            f"the backward pass is not shown: {closures[0].op!r} is a _backward closure "
            "(define it as an autograd.Operation to see its chain-rule steps)."
        )
    return PageStep(
        phase="start",
        title="Before the forward pass: nothing is computed yet",
        lines=("Step forward (→) to compute each node from its inputs, inputs first;", then),
    )


def _leaf_kind(node: Value, parameters: frozenset[Value]) -> str:
    return "a parameter" if node in parameters else "an input (leaf)"


def _how(node: Value, names: dict[Value, str], parameters: frozenset[Value]) -> str:
    """How a node is computed (``x * w``), or what kind of leaf it is: the table's second column."""
    return expression(node, names) if node.parents else _leaf_kind(node, parameters)


def _drawn(picture: Picture, i: int, node: Value) -> tuple[str, ...]:
    """What lights up when node ``i`` is computed: its box and its operation's oval, or its module's box."""
    box = picture.shown_in[i]
    return (box, op_id(i)) if node.parents and box == node_id(i) else (box,)


# What a step writes in the box of a neuron or layer drawn as one (``PageStep.box_lines``): about the
# step's node inside, named as the box shows it, its numbers rounded as the boxes round them.


def _line_value(name: str, data: float) -> str:
    return f"{name} = {format_number(data)}"


def _line_grad(name: str, grad: float) -> str:
    return f"grad {name} = {format_number(grad)}"


def _line_added(name: str, contribution: float, grad: float) -> str:
    """A gradient along an edge inside the box: there is no edge in the picture to write it on."""
    return f"grad {name} += {_factor(contribution, 4)} → {format_number(grad)}"


def _widest_box_line(order: list[Value], names: dict[Value, str], explanation: Explanation):
    """For :func:`autograd.viz.layout`'s ``box_field``: the longest line any step writes in a box.

    Called with a box's module and the places of its nodes; a node is named in
    the box without the module's prefix.
    """
    received: dict[Value, list[tuple[float, float]]] = {}
    for s in explanation:
        received.setdefault(s.parent, []).append((s.contribution, s.grad_after))

    def widest(module: str, inside: list[int]) -> str:
        lines = []
        for i in inside:
            node = order[i]
            name = name_in_module(names[node], module)
            lines.append(_line_value(name, node.data))
            lines.extend(_line_added(name, c, g) for c, g in received.get(node, ()))
        return max(lines, key=len)

    return widest


def _write_in_boxes(svg: str, lines: dict[str, str]) -> str:
    """``svg`` with the last text of each box named in ``lines`` (its ``box_field``) replaced by its line."""
    if not lines:
        return svg
    out = []
    done = 0
    for match in re.finditer(r"<title>(m\d+)</title>", svg):
        if match.group(1) not in lines:
            continue
        end = svg.find("<!-- ", match.end())
        end = len(svg) if end < 0 else end
        close = svg.rfind("</text>", match.end(), end)
        start = svg.rfind(">", match.end(), close) + 1
        out += [svg[done:start], html.escape(lines[match.group(1)], quote=False)]
        done = close
    return "".join(out) + svg[done:]


def _forward_steps(
    order: list[Value],
    picture: Picture,
    names: dict[Value, str],
    hows: list[str],
    digits: int,
    inner: list[str],
) -> list[PageStep]:
    """One step per node, in topological order: the node's value appears (``hows``: see :func:`_how`).

    ``inner[i]`` is the ``i``-th node's name as its box shows it (:meth:`autograd.viz.Picture.inner_name`).
    """
    steps = []
    for i, node in enumerate(order):
        name = names[node]
        value = format_number(node.data, digits)
        change = {"value": value}
        if picture.own[i]:
            change["box_value"] = f"data {format_number(node.data)}"
        how = hows[i]
        if node.parents:
            line = f"{how} = {value}"
            keys = [picture.edge_keys.get((i, k)) for k in range(-1, len(node.parents))]
            edges = tuple(key for key in keys if key)
        else:
            line = f"{name} = {value}   — {how}"
            edges = ()
        box = picture.shown_in[i]
        in_box = ((box, _line_value(inner[i], node.data)),) if box in picture.box_modules else ()
        steps.append(
            PageStep(
                phase="forward",
                title=f"Forward pass: {name}",
                lines=(line,),
                focus=_drawn(picture, i, node),
                edges=edges,
                changes={i: change},
                box_lines=in_box,
            )
        )
    return steps


def _backward_steps(
    explanation: Explanation,
    index: dict[Value, int],
    names: dict[Value, str],
    picture: Picture,
    inner: list[str],
) -> list[PageStep]:
    """The seed, then one step per edge: the chain rule with the graph's names and numbers (``inner``:
    see :func:`_forward_steps`)."""
    digits = explanation.digits
    root = explanation.root
    r = names[root]
    uses: dict[Value, int] = {}
    for s in explanation:
        uses[s.parent] = uses.get(s.parent, 0) + 1
    received: dict[Value, int] = {}  # how many contributions each node has received so far
    seen_edges: dict[Value, int] = {}
    steps = []
    for s in explanation:
        parent = s.parent
        p_index = index[parent]
        contribution = format_number(s.contribution, digits)
        count = received[parent] = received.get(parent, 0) + 1
        change = {
            "grad": format_number(s.grad_after, digits),
            # written after the ones before: "0.5 + (-3)" (each step adds a term, not the whole sum)
            "contributions_more": contribution if count == 1 else " + " + _factor(s.contribution, digits),
        }
        if picture.own[p_index]:
            fill = grad_color(s.grad_after)
            change.update(box_grad=f"grad {format_number(s.grad_after)}", fill=fill, ink=text_color(fill))
        to_box = picture.shown_in[p_index]
        if s.is_seed:
            seed_line = _line_grad(inner[p_index], s.grad_after)
            steps.append(
                PageStep(
                    phase="backward",
                    title=f"Backward pass: the seed, d({r})/d({r}) = 1",
                    lines=(
                        f"d({r})/d({r}) = 1: a change in {r} changes {r} by as much.",
                        "From here each step sends a gradient one edge back, from a node to an input of it.",
                    ),
                    focus=(to_box,),
                    changes={p_index: change},
                    box_lines=((to_box, seed_line),) if to_box in picture.box_modules else (),
                )
            )
            continue
        node = s.node
        i = index[node]
        n, p = names[node], names[parent]
        k = seen_edges.get(node, 0)
        seen_edges[node] = k + 1
        edges = tuple(key for key in (picture.edge_keys.get((i, k)), picture.edge_keys.get((i, -1))) if key)
        local = format_number(s.local, digits)
        formula = s.formula
        local_line = f"local: d({n})/d({p}) = {formula}"
        if formula != local:
            local_line += f" = {local}"
        if count == 1:
            grad_line = f"grad {p} = {contribution}"
            if uses[parent] > 1:
                grad_line += f"   (the first of {uses[parent]}: {p} is used {uses[parent]} times)"
        else:
            grad_line = (
                f"grad {p} = {format_number(s.grad_before, digits)} + {_factor(s.contribution, digits)}"
                f" = {change['grad']}   ({p} is used {uses[parent]} times: the contributions add up)"
            )
        from_box = picture.shown_in[i]
        in_boxes = []
        if from_box in picture.box_modules and from_box != to_box:  # its gradient, complete by now
            in_boxes.append((from_box, _line_grad(inner[i], s.upstream)))
        if to_box in picture.box_modules:
            name = inner[p_index]
            line = _line_added(name, s.contribution, s.grad_after) if from_box == to_box else None
            in_boxes.append((to_box, line or _line_grad(name, s.grad_after)))
        steps.append(
            PageStep(
                phase="backward",
                title=f"Backward pass: from {n} to {p}",
                lines=(
                    f"d({r})/d({p}) += d({r})/d({n}) · d({n})/d({p})",
                    local_line,
                    f"upstream × local = contribution:  {_factor(s.upstream, digits)} × "
                    f"{_factor(s.local, digits)} = {contribution}",
                    grad_line,
                ),
                focus=(*_drawn(picture, i, node), picture.shown_in[p_index]),
                edges=edges,
                changes={p_index: change},
                upstream=from_box,
                receiving=to_box,
                contribution=contribution,
                box_lines=tuple(in_boxes),
            )
        )
    return steps


# ============================================================================
# The page's text
# ============================================================================


def _apply(fields: dict[str, str], change: dict[str, str]) -> None:
    """What a step does to a node's fields: set them, but ``contributions_more`` is written after
    ``contributions`` (so a page holds each contribution once, not the growing sum at every step)."""
    for key, text in change.items():
        if key == "contributions_more":
            fields["contributions"] = fields.get("contributions", "") + text
        else:
            fields[key] = text


def _camel(change: dict[str, str]) -> dict[str, str]:
    """``box_value`` → ``boxValue``: the script's spelling."""
    return {re.sub(r"_(\w)", lambda m: m.group(1).upper(), key): text for key, text in change.items()}


def _json_for_html(data: object) -> str:
    """JSON that is safe inside ``<script>``: ``<``, ``>`` and ``&`` written as ``\\u`` escapes.

    So no text in the data (a label ``"</script>"``) can end the script
    element early; ``JSON.parse`` reads the escapes back as the characters.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _encodable(text: str) -> str:
    """``text`` with every code point UTF-8 cannot hold (a lone surrogate) written as ``\\udc80``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
