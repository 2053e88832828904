"""``autograd.walkthrough``: the steps it records, the page it writes, and what it leaves alone.

What the page *does* in a browser is tested in ``tests/test_browser.py``.
"""

from __future__ import annotations

import html
import json
import re
import sys
import xml.etree.ElementTree as ET

import pytest

from autograd import Value, draw_graph, explain, topological_order, viz, walkthrough
from autograd.__main__ import neuron_example
from autograd.names import format_number
from autograd.viz import GraphvizNotFoundError
from autograd.walkthrough import Walkthrough
from nn import MLP

DIGITS = 6  # explain's table


def used_twice() -> tuple[Value, Value]:
    """y = x * x + x: x feeds one operation twice and another once."""
    x = Value(3.0, label="x")
    y = x * x + x
    y.label = "y"
    return y, x


def embedded_data(fragment: str) -> dict:
    match = re.search(r'<script type="application/json" class="wt-data">(.*?)</script>', fragment, re.S)
    return json.loads(match.group(1))


def final_state(page: Walkthrough) -> list[dict[str, str]]:
    """Each node's fields after the last step."""
    return page.state_at(len(page.steps) - 1)


def test_the_steps_are_start_forward_then_explains_backward_steps():
    y, x = used_twice()
    page = walkthrough(y)
    order = topological_order(y)
    phases = [s.phase for s in page.steps]
    assert phases == ["start"] + ["forward"] * len(order) + ["backward"] * len(page.explanation)
    # forward: one node per step, parents first, its value at explain's precision
    forward = [s for s in page.steps if s.phase == "forward"]
    for i, (step, node) in enumerate(zip(forward, order, strict=True)):
        assert step.changes == {i: {"value": format_number(node.data, DIGITS),
                                    "box_value": f"data {format_number(node.data)}"}}
    assert forward[-1].lines == ("y = v1 + x = 12",)


def test_the_last_gradients_are_the_engines_and_the_contributions_add_up():
    y, x = used_twice()
    page = walkthrough(y)
    y.backward()
    state = final_state(page)
    for i, node in enumerate(topological_order(y)):
        assert state[i]["grad"] == format_number(node.grad, DIGITS)
        assert state[i]["box_grad"] == f"grad {format_number(node.grad)}"
        assert state[i]["fill"] == viz.grad_color(node.grad)
    # x receives 1 (from + x), then 3 and 3 (from x * x): 7, shown adding up
    i = topological_order(y).index(x)
    assert state[i]["contributions"] == "1 + 3 + 3"
    assert x.grad == 7.0
    assert page.steps[-1].lines == (
        "d(y)/d(x) += d(y)/d(v1) · d(v1)/d(x)",
        "local: d(v1)/d(x) = x = 3",
        "upstream × local = contribution:  1 × 3 = 3",
        "grad x = 4 + 3 = 7   (x is used 3 times: the contributions add up)",
    )
    assert page.steps[-1].edges == ("n0->op1#1", "op1->n1#0")  # the second of the two x -> * edges


def test_negative_factors_are_bracketed():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    page = walkthrough(c * -1.0)
    lines = [line for s in page.steps for line in s.lines if line.startswith("upstream")]
    assert "upstream × local = contribution:  (-1) × (-3) = 3" in lines


def test_the_users_gradients_are_left_as_they_were():
    o = neuron_example()  # after backward(): every .grad set
    order = topological_order(o)
    for k, node in enumerate(order):
        node.grad = 0.25 * k - 1.0  # leftovers from earlier passes, not what backward gives
    before = [node.grad for node in order]
    page = walkthrough(o)
    assert [node.grad for node in order] == before
    # and the page shows a backward pass from zero, as after zero_grad()
    fresh = neuron_example()
    state = final_state(page)
    for i, node in enumerate(topological_order(fresh)):
        assert state[i]["grad"] == format_number(node.grad, DIGITS)


def test_the_numbers_are_explains_own():
    o = neuron_example()
    page = walkthrough(o)
    fresh = neuron_example()
    for node in topological_order(fresh):
        node.grad = 0.0
    steps = explain(fresh, show=False)
    backward = [s for s in page.steps if s.phase == "backward"]
    assert len(backward) == len(steps)
    for page_step, step in zip(backward[1:], steps[1:], strict=True):
        assert page_step.lines[2] == (
            f"upstream × local = contribution:  {fmt_factor(step.upstream)} × {fmt_factor(step.local)} "
            f"= {format_number(step.contribution, DIGITS)}"
        )


def fmt_factor(x: float) -> str:
    text = format_number(x, DIGITS)
    return f"({text})" if text.startswith("-") else text


def test_a_model_names_the_nodes_as_the_picture_does():
    model = MLP(2, [2, 1], activation="tanh", seed=0)
    loss = (model([Value(0.5, label="x0"), Value(-1.0, label="x1")]) - 1.0) ** 2
    loss.label = "loss"
    page = walkthrough(loss, model=model)
    lines = "\n".join(line for s in page.steps for line in s.lines)
    assert "layers.0.neurons.1.sum = " in lines
    assert "layers.0.neurons.0.b = 0   — a parameter" in lines and "x0 = 0.5   — an input (leaf)" in lines
    assert (
        "local: d(layers.0.neurons.1.tanh)/d(layers.0.neurons.1.sum) = "
        "(1 - layers.0.neurons.1.tanh) * (1 + layers.0.neurons.1.tanh) = " in lines
    )
    # every node inside the model is named after its place; only the loss's "out - 1" is a v-number
    assert set(re.findall(r"\bv\d+\b", lines)) == {page.names[loss.parents[0]]}
    source = draw_graph(loss, model=model).source
    assert 'tooltip="layers.0.neurons.1.sum"' in source


def test_the_state_at_a_step_is_recomputed_from_the_start():
    y, x = used_twice()
    page = walkthrough(y)
    n = len(topological_order(y))
    assert page.state_at(0) == [{}] * n
    assert [s.get("value") for s in page.state_at(n)] == ["3", "9", "12"]
    assert all("grad" not in s for s in page.state_at(n))  # the forward pass knows no gradient
    assert page.state_at(len(page.steps) - 2)[0]["contributions"] == "1 + 3"
    assert page.state_at(3) == page.state_at(3)  # the same step, the same state, however reached
    for bad in (-1, len(page.steps), 1.0, True):
        with pytest.raises(ValueError, match="step number"):
            page.state_at(bad)


def test_without_javascript_the_page_shows_the_last_step():
    y, _ = used_twice()
    page = walkthrough(y)
    fragment = page._repr_html_()
    assert '<td class="wt-grad">7</td>' in fragment
    assert '<td class="wt-contributions">1 + 3 + 3</td>' in fragment
    assert html.escape(page.steps[-1].lines[-1]) in fragment


# ------------------------------------------------------------ the page
def test_the_saved_page_is_one_self_contained_file(tmp_path):
    y, _ = used_twice()
    path = walkthrough(y).save(tmp_path / "backprop.html")
    assert path == tmp_path / "backprop.html"
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<style>" in page and "<script>" in page and "<svg" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)  # nothing fetched
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    svgs = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(svgs) == 2  # left to right, and top to bottom for a narrow screen
    for svg in svgs:
        ET.fromstring(svg)  # the pictures are well-formed
    assert [p.name for p in tmp_path.iterdir()] == ["backprop.html"]


def test_text_in_the_graph_cannot_end_the_script_early():
    x = Value(1.0, label="</script><script>alert(1)</script>")
    y = x * 2.0
    fragment = walkthrough(y)._repr_html_()
    # the data's, the page's, and the views' of its two pictures (left to right, top to bottom)
    assert fragment.count("</script>") == 4
    data = embedded_data(fragment)
    assert "</script><script>alert(1)</script>" in data["steps"][1]["title"]


def test_every_display_has_its_own_ids():
    y, _ = used_twice()
    page = walkthrough(y)
    first, second = page._repr_html_(), page._repr_html_()
    ids = re.findall(r'\bid="([^"]+)"', first + second)
    assert len(ids) == len(set(ids)) > 10


def test_the_page_shows_step_zero_blank_and_every_step_refers_to_the_picture():
    y, _ = used_twice()
    fragment = walkthrough(y)._repr_html_()
    data = embedded_data(fragment)
    assert data["steps"][0]["set"] == []
    svgs = re.findall(r"<svg.*?</svg>", fragment, re.S)
    assert len(svgs) == 2  # left to right, top to bottom: every step is drawn in both
    for svg in svgs:
        titles, edge_keys = svg_names(svg)
        for step in data["steps"]:
            assert set(step["focus"]) <= set(titles)
            assert set(step["edges"]) <= edge_keys


def svg_names(svg: str) -> tuple[list[str], set[str]]:
    """The Graphviz names of a picture's boxes and edges, the edges keyed as the page keys them (``#k``)."""
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    titles = [g.find(f"{ns}title").text for g in root.iter(f"{ns}g") if g.get("class") in ("node", "edge")]
    edge_keys = set()
    for title in titles:
        if "->" in title:
            k = 0
            while f"{title}#{k}" in edge_keys:
                k += 1
            edge_keys.add(f"{title}#{k}")
    return titles, edge_keys


def test_a_page_has_a_top_to_bottom_picture_for_narrow_screens_unless_it_is_one():
    """Issue 17: "on a narrow screen the layout is top to bottom" (CSS chooses: see test_browser.py)."""
    y, _ = used_twice()
    wide = walkthrough(y)
    assert wide.picture.graph.graph_attr["rankdir"] == "LR"
    assert wide.narrow.graph.graph_attr["rankdir"] == "TB"
    # the same boxes and edges by the same names, so every step lights up the same things in both
    assert wide.narrow.shown_in == wide.picture.shown_in and wide.narrow.edge_keys == wide.picture.edge_keys
    assert svg_names(wide.narrow_svg) == svg_names(wide.svg)
    tall = walkthrough(y, rankdir="TB")
    assert tall.narrow is None and tall.narrow_svg == ""
    assert tall.html().count("<svg") == 1 and wide.html().count("<svg") == 2


def test_a_layer_drawn_as_one_box_gets_a_line_about_each_steps_node_inside():
    """Issue 17 (coarse levels). Before: a box of several outputs said "4 outputs" at every step, and a
    gradient along an edge inside a box was written only in the chain-rule lines."""
    model = MLP(2, [4, 1], seed=0)
    loss = (model([Value(0.5, label="x0"), Value(-1.0, label="x1")]) - 1.0) ** 2
    page = walkthrough(loss, model=model, level="layer")
    picture, order = page.picture, page.order
    assert set(picture.box_modules.values()) == {"layers.0", "layers.1"}
    forward = [s for s in page.steps if s.phase == "forward"]
    for i, step in enumerate(forward):
        box = picture.shown_in[i]
        if box in picture.box_modules:
            inner = page.names[order[i]].removeprefix(picture.box_modules[box] + ".")
            assert step.box_lines == ((box, f"{inner} = {format_number(order[i].data)}"),)
        else:
            assert step.box_lines == ()
    # a gradient along an edge inside a box is written in the box; across boxes, on the edge
    explained = [s for s in page.explanation if not s.is_seed]
    backward = [s for s in page.steps if s.contribution]
    inside = [(s, e) for s, e in zip(backward, explained, strict=True) if s.upstream == s.receiving]
    assert len(inside) > 10
    for s, e in inside:
        added = format_number(e.contribution)  # rounded as the boxes round
        added = f"({added})" if added.startswith("-") else added
        assert not s.edges and s.box_lines[-1][0] == s.receiving
        assert s.box_lines[-1][1].endswith(f" += {added} → {format_number(e.grad_after)}")
    across = [s for s in backward if s.upstream != s.receiving and s.upstream in picture.box_modules]
    assert across and all(s.edges for s in across)
    # without the script the page shows its last step: each box's last line (the SVG's last text there)
    final = {box: line for s in page.steps for box, line in s.box_lines}
    ns = "{http://www.w3.org/2000/svg}"
    for svg in (page.svg, page.narrow_svg):
        for g in ET.fromstring(svg).iter(f"{ns}g"):
            if g.get("class") == "node" and g.find(f"{ns}title").text in final:
                assert [t.text for t in g.iter(f"{ns}text")][-1] == final[g.find(f"{ns}title").text]


# ------------------------------------------------------------ errors
def test_a_graph_over_max_nodes_is_refused_like_draw_graph_and_nothing_changes():
    x = Value(0.5, label="x")
    y = x
    for _ in range(30):
        y = y * 1.01
    y.backward()
    before = [node.grad for node in topological_order(y)]
    steps = len(walkthrough(y, max_nodes=31).steps)
    refusal = rf"31 boxes.*max_nodes=10.*raise max_nodes.*would have {steps} steps"
    with pytest.raises(ValueError, match=refusal):
        walkthrough(y, max_nodes=10)
    with pytest.raises(ValueError, match=r"31 boxes.*max_nodes=10.*raise max_nodes"):
        draw_graph(y, max_nodes=10)
    assert [node.grad for node in topological_order(y)] == before


def test_without_graphviz_the_install_hint_and_nothing_changes(monkeypatch, tmp_path):
    o = neuron_example()
    before = [node.grad for node in topological_order(o)]
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(GraphvizNotFoundError, match=r"apt-get install graphviz.*brew install graphviz"):
        walkthrough(o)
    assert [node.grad for node in topological_order(o)] == before


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: walkthrough(3.0), TypeError, "expects a Value"),
        (lambda: walkthrough(neuron_example(), rankdir="XY"), ValueError, "rankdir"),
        (lambda: walkthrough(neuron_example(), model=object()), TypeError, "named_parameters"),
        (lambda: walkthrough(neuron_example()).save(42), TypeError, "path must be"),
    ],
)
def test_bad_arguments_are_refused_clearly(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_label_holding_a_lone_surrogate_is_saved_escaped(tmp_path):
    """Issue 20 (11): ``"x\\udc80"`` is no UTF-8; the page shows it as ``\\udc80`` instead of crashing."""
    x = Value(2.0, label="x\udc80")
    y = x * 3.0
    path = walkthrough(y).save(tmp_path / "page.html")
    text = path.read_text(encoding="utf-8")
    assert "x\\udc80" in text
    assert "\udc80" not in text


def test_a_page_with_too_many_steps_is_refused_at_once_saying_how_many_and_what_instead(monkeypatch):
    """Issue 17 (4): the number of steps it would have, and a way out: one sample's loss, a coarser level."""
    module = sys.modules["autograd.walkthrough"]  # (the package's `walkthrough` is the function)
    y, _ = used_twice()
    steps = len(walkthrough(y).steps)
    monkeypatch.setattr(module, "MAX_STEPS", steps - 1)
    monkeypatch.setattr(module, "explain", None)  # refused before any work: explain is never reached
    with pytest.raises(ValueError, match=rf"would have {steps} steps.*one sample's loss.*level='neuron'"):
        walkthrough(y)


def test_a_network_too_big_to_draw_node_by_node_is_walked_through_one_box_per_neuron():
    """MLP(2, [16, 16, 1]) on one point: ~1000 nodes, drawn as 33 neuron boxes; the steps go node by node."""
    model = MLP(2, [16, 16, 1], seed=0)
    loss = (model([Value(0.5, label="x0"), Value(-1.0, label="x1")]) - 1.0) ** 2
    order = topological_order(loss)
    page = walkthrough(loss, model=model)
    assert page.picture.grouping.level == "neuron"
    boxes = {name for name in page.picture.shown_in if name.startswith("m")}
    assert len(boxes) == 33
    assert len(page.steps) == 2 + len(order) + sum(len(node.parents) for node in order)
    # a backward step into a neuron's weight lights up that neuron's box, as receiving
    weight = "layers.2.neurons.0.w.0"
    into_weight = next(s for s in page.steps if s.phase == "backward" and s.title.endswith(weight))
    assert into_weight.receiving == page.picture.shown_in[order.index(model.layers[2].neurons[0].w[0])]


def moons_loss(points: int):
    """The demo's model and loss on ``points`` moons points (hinge loss plus L2), as in ``nn.demo``."""
    from nn import data, losses

    X, y01 = data.make_moons(100, noise=0.1, seed=1337)
    model = MLP(2, [16, 16, 1], seed=1337)
    scores = [model([Value(a) for a in x]) for x in X[:points]]
    l2 = 1e-4 * sum(p * p for p in model.parameters())
    return losses.hinge_loss(scores, data.to_pm1(y01)[:points]) + l2, model


def lines_run(fn) -> int:
    """How many lines of Python ``fn()`` executes: a measure of work that does not depend on the machine."""
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(None)
    return count


def test_building_a_page_takes_work_and_space_in_proportion_to_its_steps():
    """Issue 17 (4): no quadratic step. Twice the moons points, about twice the work and the page's size.

    (Before, each step stored every contribution its node had received so far: a node used n times
    cost n² in the page.)
    """
    work, size, steps = {}, {}, {}
    for points in (2, 4):
        loss, model = moons_loss(points)
        pages = []
        work[points] = lines_run(lambda: pages.append(walkthrough(loss, model=model)))  # noqa: B023
        size[points], steps[points] = len(pages[0].html()), len(pages[0].steps)
    assert work[4] / work[2] < 1.25 * steps[4] / steps[2]
    assert size[4] / size[2] < 1.25 * steps[4] / steps[2]


def test_inline_in_a_notebook_the_page_says_to_click_it_first_and_a_saved_page_does_not():
    y, _ = used_twice()
    page = walkthrough(y)
    assert "Click the picture first" in page._repr_html_()
    assert "Click the picture first" not in page.html()


def test_a_page_of_hostile_names_has_no_link_and_no_handler():
    """Issue 20 (2): an operation's or a class's name reaches the page as text, never as markup."""
    from html.parser import HTMLParser

    from autograd import Operation, apply
    from nn import Neuron

    hostile = '<x> URL="javascript:alert(1)" target="_self" id=<y> onclick="alert(2)"'
    op = Operation(hostile, forward="a * 2.0", derivatives={"a": "2.0"})
    model = type(hostile, (Neuron,), {})(1, seed=0)
    root = apply(op, model([Value(0.5, label=hostile)]))
    found = []

    class Attributes(HTMLParser):
        def handle_starttag(self, tag, attrs):
            for key, value in attrs:
                text = key in ("title", "xlink:title", "aria-label")  # shown as text, never followed
                if key.startswith("on") or key.endswith("href") or (
                    not text and "javascript:" in (value or "").lower()
                ):
                    found.append((tag, key, value))

    Attributes().feed(walkthrough(root, model=model).html())
    assert found == []
