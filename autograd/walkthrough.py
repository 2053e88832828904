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
step* (blank until then); stepping back recomputes that state from the step
number, so it undoes exactly. The picture is :func:`autograd.viz.draw_graph`'s
(rounded to 4 significant digits, coloured by |grad| once a gradient is known);
the chain-rule lines and the table use ``explain``'s 6 digits.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .explain import Explanation, explain, expression
from .files import write_atomically
from .names import format_number
from .value import Value
from .viz import (
    check_drawable,
    draw_graph,
    grad_color,
    node_id,
    op_id,
    picture_names,
    render,
    require_graphviz,
    text_color,
)

__all__ = ["PageStep", "Walkthrough", "walkthrough"]

_HERE = Path(__file__).parent
#: The page's script and styles, kept in files of their own so they read as JavaScript and CSS.
_SCRIPT = _HERE / "walkthrough.js"
_STYLES = _HERE / "walkthrough.css"
_BLANK_FILL = "#ffffff"


@dataclass(frozen=True)
class PageStep:
    """One step of the page: what it says, what it lights up, and what it changes.

    ``phase`` is ``"start"``, ``"forward"`` or ``"backward"``. ``focus`` holds
    the Graphviz names of the boxes and ovals to highlight (``"n3"``,
    ``"op3"``), ``edges`` the edges (``"n0->op3#1"``: the second edge from
    ``n0`` to ``op3``, as in ``x * x``). ``changes`` maps a node's index (its
    place in topological order) to the fields that this step sets: ``value``
    and ``box_value`` (the forward pass), or ``grad``, ``box_grad``,
    ``contributions``, ``fill`` and ``ink`` (the backward pass).
    """

    phase: str
    title: str
    lines: tuple[str, ...]
    focus: tuple[str, ...] = ()
    edges: tuple[str, ...] = ()
    changes: dict[int, dict[str, str]] = field(default_factory=dict)


class Walkthrough:
    """The steps of a forward and a backward pass over one graph, as a page.

    ``_repr_html_`` shows it in a notebook; :meth:`save` writes it as one
    HTML file; :meth:`html` returns that file's text. ``steps`` are the
    :class:`PageStep`\\ s, ``names`` the node names, ``explanation`` the
    backward pass as :func:`autograd.explain.explain` recorded it.
    """

    def __init__(
        self,
        root: Value,
        order: list[Value],
        names: dict[Value, str],
        explanation: Explanation,
        steps: list[PageStep],
        svg: str,
        parameters: frozenset[int] = frozenset(),
    ) -> None:
        self.root = root
        self.order = order
        self.names = names
        self.explanation = explanation
        self.steps = steps
        self.svg = svg
        self.parameters = parameters  # the ids of the model's parameters, if a model was given

    def state_at(self, k: int) -> list[dict[str, str]]:
        """Every node's shown fields after step ``k``: all blank, then steps 0..k applied in order.

        The page's script does exactly this at every step, so going back to a
        step shows what it showed before. (Fields: see :class:`PageStep`.)
        """
        if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k < len(self.steps):
            raise ValueError(f"k must be a step number from 0 to {len(self.steps) - 1}, not {k!r}")
        state: list[dict[str, str]] = [{} for _ in self.order]
        for step in self.steps[: k + 1]:
            for i, change in step.changes.items():
                state[i].update(change)
        return state

    def __repr__(self) -> str:
        return (
            f"<Walkthrough of {self.names[self.root]}: {len(self.order)} nodes, {len(self.steps)} steps; "
            "display it in a notebook or .save('backprop.html')>"
        )

    def _repr_html_(self) -> str:
        return self._fragment(standalone=False)

    def html(self) -> str:
        """The page as a complete HTML document: picture, script and styles inline, nothing fetched."""
        title = html.escape(f"Backpropagation through {self.names[self.root]}")
        return (
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
        svg = _svg_with_unique_ids(self.svg, page_id)
        last = len(self.steps) - 1
        buttons = "".join(
            f'<button type="button" data-go="{go}" title="{html.escape(tip)}">{symbol}</button>'
            for go, symbol, tip in (
                ("first", "|◀", "first step (Home)"),
                ("previous", "◀", "previous step (←)"),
                ("play", "▶ play", "play / pause"),
                ("next", "▶", "next step (→)"),
                ("last", "▶|", "last step (End)"),
            )
        )
        return "\n".join(
            (
                f'<div class="wt" id="{page_id}" tabindex="0" data-standalone="{int(standalone)}">',
                f"<style>{_STYLES.read_text(encoding='utf-8')}</style>",
                f'<div class="wt-controls">{buttons}'
                f'<input type="range" class="wt-slider" min="0" max="{last}" value="{last}"'
                ' aria-label="step">'
                f'<span class="wt-counter">step {last} of {last}</span></div>',
                '<div class="wt-title">The last step (stepping through the page needs JavaScript)</div>',
                f'<div class="wt-lines">{html.escape(chr(10).join(self.steps[-1].lines))}</div>',
                f'<div class="wt-picture">{svg}</div>',
                self._table(),
                f'<script type="application/json" class="wt-data">{_json_for_html(self._data())}</script>',
                f'<script>\n{_SCRIPT.read_text(encoding="utf-8")}("{page_id}");\n</script>',
                "</div>",
            )
        )

    def _table(self) -> str:
        """Every node's value, gradient and contributions: at the last step until the script runs."""
        head = "".join(f"<th>{h}</th>" for h in ("node", "computed as", "value", "gradient", "contributions"))
        rows = []
        for i, (node, known) in enumerate(zip(self.order, self.state_at(len(self.steps) - 1), strict=True)):
            how = expression(node, self.names) if node.parents else _leaf_kind(node, self.parameters)
            cells = "".join(
                f'<td class="wt-{key}">{html.escape(known.get(key, ""))}</td>'
                for key in ("value", "grad", "contributions")
            )
            rows.append(
                f'<tr data-node="{node_id(i)}"><td class="wt-name">{html.escape(self.names[node])}</td>'
                f'<td class="wt-how">{html.escape(how)}</td>{cells}</tr>'
            )
        return (
            f'<div class="wt-table"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )

    def _data(self) -> dict[str, Any]:
        """What the script needs: the nodes' Graphviz names and the steps."""
        nodes = [
            {"id": node_id(i), "op": op_id(i) if node.parents else None} for i, node in enumerate(self.order)
        ]
        steps = [
            {
                "phase": s.phase,
                "title": s.title,
                "lines": list(s.lines),
                "focus": list(s.focus),
                "edges": list(s.edges),
                "set": [[i, _camel(change)] for i, change in s.changes.items()],
            }
            for s in self.steps
        ]
        return {"nodes": nodes, "steps": steps}


def walkthrough(
    root: Value,
    *,
    model: Any = None,
    rankdir: str = "LR",
    max_nodes: int = 500,
    size: tuple[float, float] | None = None,
) -> Walkthrough:
    """Record a forward and a backward pass over ``root``'s graph, as a page to step through.

    ``model``, ``rankdir``, ``max_nodes`` and ``size`` are
    :func:`autograd.viz.draw_graph`'s: the picture is the same (drawn at its
    natural size, ``size=None``, and shrunk by the page to fit its width), and a graph
    over ``max_nodes`` is refused with the same ``ValueError``. The picture
    needs Graphviz's ``dot`` program (:class:`autograd.viz.GraphvizNotFoundError`
    says how to install it). Every node's ``.grad`` is left as it was.
    """
    order = check_drawable(root, rankdir, max_nodes, size, model)
    require_graphviz()
    names = picture_names(order, model)
    saved = [node.grad for node in order]
    try:
        for node in order:  # the page shows a backward pass from zero, as after zero_grad()
            node.grad = 0.0
        explanation = explain(root, show=False, names=names)
        graph = draw_graph(root, rankdir=rankdir, max_nodes=max_nodes, model=model, size=size)
        svg = render(graph, "svg").decode("utf-8")
    finally:
        for node, grad in zip(order, saved, strict=True):
            node.grad = grad
    index = {node: i for i, node in enumerate(order)}
    steps = [_start_step(names[root])]
    parameters = frozenset(id(p) for _, p in model.named_parameters()) if model is not None else frozenset()
    steps += _forward_steps(order, index, names, parameters, explanation.digits)
    steps += _backward_steps(explanation, index, names)
    return Walkthrough(root, order, names, explanation, steps, svg, parameters)


# ============================================================================
# The steps
# ============================================================================


def _factor(x: float, digits: int) -> str:
    """A number inside a product: negative ones in brackets, ``0.5 × (-3)``."""
    text = format_number(x, digits)
    return f"({text})" if text.startswith("-") else text


def _start_step(root_name: str) -> PageStep:
    return PageStep(
        phase="start",
        title="Before the forward pass: nothing is computed yet",
        lines=(
            "Step forward (→) to compute each node from its inputs, inputs first;",
            f"then the backward pass applies the chain rule from {root_name} back to every input.",
        ),
    )


def _leaf_kind(node: Value, parameters: frozenset[int]) -> str:
    return "a parameter" if id(node) in parameters else "an input (leaf)"


def _forward_steps(
    order: list[Value],
    index: dict[Value, int],
    names: dict[Value, str],
    parameters: frozenset[int],
    digits: int,
) -> list[PageStep]:
    """One step per node, in topological order: the node's value appears."""
    steps = []
    for i, node in enumerate(order):
        name = names[node]
        value = format_number(node.data, digits)
        if node.parents:
            line = f"{expression(node, names)} = {value}"
            focus = (node_id(i), op_id(i))
            edges = (*_edge_keys(node, index), f"{op_id(i)}->{node_id(i)}#0")
        else:
            line = f"{name} = {value}   — {_leaf_kind(node, parameters)}"
            focus, edges = (node_id(i),), ()
        steps.append(
            PageStep(
                phase="forward",
                title=f"Forward pass, step {i + 1} of {len(order)}: {name}",
                lines=(line,),
                focus=focus,
                edges=edges,
                changes={i: {"value": value, "box_value": f"data {format_number(node.data)}"}},
            )
        )
    return steps


def _edge_keys(node: Value, index: dict[Value, int]) -> list[str]:
    """The keys of the edges into ``node``'s oval, one per parent, as :func:`draw_graph` draws them."""
    i = index[node]
    keys = []
    for k, parent in enumerate(node.parents):
        repeat = node.parents[:k].count(parent)  # x * x: the second edge from x
        keys.append(f"{node_id(index[parent])}->{op_id(i)}#{repeat}")
    return keys


def _backward_steps(
    explanation: Explanation, index: dict[Value, int], names: dict[Value, str]
) -> list[PageStep]:
    """The seed, then one step per edge: the chain rule with the graph's names and numbers."""
    digits = explanation.digits
    root = explanation.root
    r = names[root]
    uses: dict[Value, int] = {}
    for s in explanation:
        uses[s.parent] = uses.get(s.parent, 0) + 1
    received: dict[Value, list[float]] = {}
    seen_edges: dict[Value, int] = {}
    total = len(explanation) - 1
    steps = []
    for s in explanation:
        parent = s.parent
        contribution = format_number(s.contribution, digits)
        received.setdefault(parent, []).append(s.contribution)
        change = {
            "grad": format_number(s.grad_after, digits),
            "box_grad": f"grad {format_number(s.grad_after)}",
            "contributions": " + ".join(
                _factor(c, digits) if k else format_number(c, digits) for k, c in enumerate(received[parent])
            ),
            "fill": grad_color(s.grad_after),
            "ink": text_color(grad_color(s.grad_after)),
        }
        if s.is_seed:
            steps.append(
                PageStep(
                    phase="backward",
                    title=f"Backward pass: the seed, d({r})/d({r}) = 1",
                    lines=(
                        f"d({r})/d({r}) = 1: a change in {r} changes {r} by as much.",
                        "From here each step sends a gradient one edge back, from a node to an input of it.",
                    ),
                    focus=(node_id(index[root]),),
                    changes={index[parent]: change},
                )
            )
            continue
        node = s.node
        n, p = names[node], names[parent]
        k = seen_edges.get(node, 0)
        seen_edges[node] = k + 1
        edge = _edge_keys(node, index)[k]
        local = format_number(s.local, digits)
        formula = s.formula
        local_line = f"local: d({n})/d({p}) = {formula}"
        if formula != local:
            local_line += f" = {local}"
        if len(received[parent]) == 1:
            grad_line = f"grad {p} = {contribution}"
            if uses[parent] > 1:
                grad_line += f"   (the first of {uses[parent]}: {p} is used {uses[parent]} times)"
        else:
            grad_line = (
                f"grad {p} = {format_number(s.grad_before, digits)} + {_factor(s.contribution, digits)}"
                f" = {change['grad']}   ({p} is used {uses[parent]} times: the contributions add up)"
            )
        steps.append(
            PageStep(
                phase="backward",
                title=f"Backward pass, step {s.index} of {total}: from {n} to {p}",
                lines=(
                    f"d({r})/d({p}) += d({r})/d({n}) · d({n})/d({p})",
                    local_line,
                    f"upstream × local = contribution:  {_factor(s.upstream, digits)} × "
                    f"{_factor(s.local, digits)} = {contribution}",
                    grad_line,
                ),
                focus=(node_id(index[node]), op_id(index[node]), node_id(index[parent])),
                edges=(edge, f"{op_id(index[node])}->{node_id(index[node])}#0"),
                changes={index[parent]: change},
            )
        )
    return steps


# ============================================================================
# The page's text
# ============================================================================


def _camel(change: dict[str, str]) -> dict[str, str]:
    """``box_value`` → ``boxValue``: the script's spelling."""
    return {re.sub(r"_(\w)", lambda m: m.group(1).upper(), key): text for key, text in change.items()}


def _json_for_html(data: object) -> str:
    """JSON that is safe inside ``<script>``: ``<``, ``>`` and ``&`` written as ``\\u`` escapes.

    So no text in the data (a label ``"</script>"``) can end the script
    element early; ``JSON.parse`` reads the escapes back as the characters.
    """
    text = json.dumps(data, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _svg_with_unique_ids(svg: str, page_id: str) -> str:
    """Graphviz's SVG without its XML header, every ``id`` prefixed by the page's (ids are page-wide)."""
    start = svg.find("<svg")
    if start < 0:
        raise ValueError("Graphviz returned no <svg> element")
    return re.sub(r'\bid="', f'id="{page_id}-', svg[start:])
