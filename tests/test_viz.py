"""``autograd.viz``: Graphviz pictures of computation graphs, and ``Value``'s notebook display."""

from __future__ import annotations

import os
import re
import sys
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograd import Value, topological_order, viz
from autograd.__main__ import neuron_example
from autograd.explain import format_number, node_names
from autograd.viz import GraphvizNotFoundError, draw_graph, grad_color, save_graph, text_color
from nn import MLP, Neuron

SVG = "{http://www.w3.org/2000/svg}"


def neuron() -> Value:
    """o = tanh(x1*w1 + x2*w2 + b), micrograd's example, after backward()."""
    return neuron_example()


def svg_texts(svg: str | bytes) -> list[str]:
    """Every text drawn in an SVG (parsing it checks it is well-formed XML)."""
    root = ET.fromstring(svg)
    return [t.text for t in root.iter(f"{SVG}text") if t.text]


def memberships(source: str) -> dict[str, list[str]]:
    """Node id -> the clusters its declaration sits in, outermost first (from the DOT source)."""
    stack: list[str | None] = []
    where: dict[str, list[str]] = {}
    for line in source.splitlines():
        line = line.strip()
        if line.endswith("{"):
            opened = re.match(r"subgraph (\w+)", line)
            stack.append(opened.group(1) if opened else None)
        elif line == "}":
            stack.pop()
        else:
            node = re.match(r"(n\d+|op\d+) \[", line)
            if node and node.group(1) not in where:
                where[node.group(1)] = [s for s in stack if s and s.startswith("cluster_")]
    return where


def no_graphviz(monkeypatch, tmp_path):
    """Simulate a machine without Graphviz: an empty PATH."""
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


# ------------------------------------------------------------ content
def test_dot_source_shows_every_label_data_and_grad():
    o = neuron()
    source = draw_graph(o).source
    for label in ("x1", "x2", "w1", "w2", "b", "n", "o"):
        assert re.search(rf"\{{{label} \| data ", source), label
    # four significant digits, as a person would write them
    for text in ("data 0.8814", "grad 0.5", "data 0.7071", "grad 1", "data 6.881", "grad -1.5", "data -3"):
        assert text in source
    for node in topological_order(o):
        assert f"data {format_number(node.data)}" in source
        assert f"grad {format_number(node.grad)}" in source


def test_unlabelled_nodes_get_the_names_explain_uses():
    o = neuron()
    names = node_names(topological_order(o))
    source = draw_graph(o).source
    unlabelled = [n for n in topological_order(o) if not n.label]
    assert len(unlabelled) == 3
    for node in unlabelled:
        assert f"{{{names[node]} | data" in source


def test_one_op_node_per_operation_and_edges_follow_the_data():
    x, y = Value(3.0, label="x"), Value(4.0, label="y")
    z = x * y
    z.label = "z"
    source = draw_graph(z).source
    order = topological_order(z)
    i = {node: k for k, node in enumerate(order)}
    assert re.search(rf"op{i[z]} \[label=\"\*\"", source)
    assert f"n{i[x]} -> op{i[z]}" in source
    assert f"n{i[y]} -> op{i[z]}" in source
    assert f"op{i[z]} -> n{i[z]}" in source
    assert source.count("->") == 3


def test_constants_are_shown_on_the_operation():
    x = Value(3.0, label="x")
    y = (x * 2.0) ** 3 + (2.0 - x) + 0.5 / x
    source = draw_graph(y).source
    for label in ("* 2", "** 3", "2 -", "0.5 /"):
        assert f'label="{label}"' in source, label


def test_x_times_x_draws_two_edges_and_order_matters_for_division():
    x = Value(3.0, label="x")
    y = Value(2.0, label="y")
    z = x * x + x / y
    source = draw_graph(z).source
    order = topological_order(z)
    i = {node: k for k, node in enumerate(order)}
    square = z._a
    assert source.count(f"n{i[x]} -> op{i[square]}") == 2
    division = z._b
    assert re.search(rf"n{i[x]} -> op{i[division]} \[.*label=a", source)
    assert re.search(rf"n{i[y]} -> op{i[division]} \[.*label=b", source)


def test_svg_is_valid_xml_and_shows_the_numbers():
    o = neuron()
    texts = svg_texts(draw_graph(o).pipe(format="svg"))
    for text in ("x1", "w1", "o", "data 0.7071", "grad 0.5", "data 6.881", "grad -1.5", "tanh"):
        assert text in texts, text


def test_record_special_characters_in_labels_are_escaped():
    x = Value(1.0, label='a|b{c}<d>"e')
    y = x * 2.0
    y.backward()
    texts = svg_texts(draw_graph(y).pipe(format="svg"))
    assert 'a|b{c}<d>"e' in texts


def test_show_grad_false_hides_gradients_and_colours():
    source = draw_graph(neuron(), show_grad=False).source
    assert "| grad " not in source and "fillcolor" not in source
    assert "data 0.7071" in source


def test_rankdir_tb_lays_records_out_horizontally():
    source = draw_graph(neuron(), rankdir="TB").source
    assert "rankdir=TB" in source
    assert 'label="o | data 0.7071 | grad 1"' in source


# ------------------------------------------------------------ colours
def test_colours_separate_vanishing_exploding_zero_and_nan():
    colours = {g: grad_color(g) for g in (1e-9, 1e-6, 1e-3, 1.0, 1e2, 1e5, 0.0)}
    assert colours[1e-9] == colours[1e-6]  # clipped at the ends of the scale
    assert colours[1e2] == colours[1e5]
    nan = grad_color(float("nan"))
    assert len({colours[g] for g in (1e-6, 1e-3, 1.0, 1e2, 0.0)} | {nan}) == 6
    assert grad_color(float("inf")) == grad_color(float("-inf")) == nan
    assert grad_color(-1e-3) == colours[1e-3]  # by size, not sign

    def brightness(colour: str) -> float:
        return sum(int(colour[k : k + 2], 16) for k in (1, 3, 5))

    # viridis: brightness rises with |grad|, so the order survives greyscale printing
    ladder = [brightness(grad_color(10.0**e)) for e in range(viz.LOW, viz.HIGH + 1)]
    assert ladder == sorted(ladder) and ladder[0] < ladder[-1] / 2


def test_text_stays_readable_on_every_fill():
    assert viz.text_color(grad_color(1e-6)) == "white"
    assert viz.text_color(grad_color(1e2)) == "black"
    assert viz.text_color(grad_color(0.0)) == "black"


def test_nodes_are_filled_by_their_gradient_and_the_legend_explains_it():
    x = Value(2.0, label="x")
    y = (x * 1e-7) * 1e9
    y.backward()
    source = draw_graph(y).source
    order = topological_order(y)
    i = {node: k for k, node in enumerate(order)}
    small = y._a  # d(y)/d(small) = 1e9: exploding; d(y)/d(x) = 100
    assert re.search(rf'n{i[small]} \[.*fillcolor="{grad_color(1e9)}"', source)
    assert re.search(rf'n{i[y]} \[.*fillcolor="{grad_color(1.0)}"', source)
    assert "|grad|" in source and "1e-6" in source and "1e+2" in source and "nan, inf" in source
    assert "square box: input" in source


def test_leaves_and_results_have_different_shapes():
    o = neuron()
    source = draw_graph(o).source
    order = topological_order(o)
    for k, node in enumerate(order):
        shape = "record" if node.is_leaf else "Mrecord"
        assert re.search(rf"\tn{k} \[.*shape={shape}\b", source), node


# ------------------------------------------------------------ modules
def mlp_loss(sizes=(3, 1), **kwargs):
    model = MLP(2, list(sizes), activation="tanh", seed=0, **kwargs)
    xs = [Value(0.5, label="x0"), Value(-1.0, label="x1")]
    loss = (model(xs) - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    return model, xs, loss


def test_model_clusters_layers_and_neurons():
    model, xs, loss = mlp_loss()
    source = draw_graph(loss, model=model).source
    for i, width in ((0, 3), (1, 1)):
        assert f"subgraph cluster_layers_{i} {{" in source
        assert f'label="layers.{i}"' in source
        for j in range(width):
            assert f"subgraph cluster_layers_{i}_neurons_{j} {{" in source
    where = memberships(source)
    order = topological_order(loss)
    i = {node: k for k, node in enumerate(order)}
    names = dict(model.named_parameters())
    for name, p in names.items():
        owner = "cluster_" + "_".join(name.split(".")[:4])
        assert where[f"n{i[p]}"] == ["cluster_layers_" + name.split(".")[1], owner], name
        assert f'tooltip="{name}"' in source
    # each hidden neuron's activation sits in its own neuron's cluster
    for node in order:
        if node.op == "tanh":
            product = node._a._b  # ((b + w0*x0) + w1*x1).tanh(): w1*x1
            (name,) = [n for n, p in names.items() if p in product.parents]
            assert where[f"n{i[node]}"][-1] == "cluster_" + "_".join(name.split(".")[:4])
    # the inputs and the loss stay outside
    for node in (*xs, loss, loss._a):
        assert where[f"n{i[node]}"] == []
    # the output neuron's products h * w belong to the output neuron (through w)
    out_neuron = "cluster_layers_1_neurons_0"
    products = [n for n in order if n.op == "*" and any(p in names.values() for p in n.parents)]
    assert sum(where[f"n{i[n]}"][-1:] == [out_neuron] for n in products) == 3


def test_model_parameters_are_labelled_and_drawn_thick():
    model, _, loss = mlp_loss()
    source = draw_graph(loss, model=model).source
    assert source.count("penwidth=3") == len(model.parameters())
    assert "thick border: parameter" in source
    assert "{w.0 | data" in source and "{b | data" in source


def test_a_neuron_model_is_one_cluster_named_after_its_class():
    neuron_model = Neuron(2, activation="relu", seed=1)
    out = neuron_model([1.0, -2.0])
    out.backward()
    source = draw_graph(out, model=neuron_model).source
    assert "subgraph cluster_model {" in source and re.search(r'label="?Neuron"?', source)
    where = memberships(source)
    assert all(clusters == ["cluster_model"] for node, clusters in where.items() if node.startswith("n"))


def test_many_neurons_are_drawn_as_one_layer_cluster(monkeypatch):
    monkeypatch.setattr(viz, "MAX_SUBCLUSTERS", 2)
    model, _, loss = mlp_loss()
    source = draw_graph(loss, model=model).source
    assert "cluster_layers_0 {" in source and "cluster_layers_0_neurons" not in source
    assert "cluster_layers_1_neurons_0 {" in source  # one neuron: small enough


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


def test_drawing_a_model_takes_work_in_proportion_to_its_size():
    """Twice the nodes, about twice the work: no step of drawing (clusters, owners, names) is quadratic."""

    def loss_of(width: int):
        model = MLP(4, [width, width, 1], seed=0)
        loss = model([0.1, 0.2, 0.3, 0.4]) ** 2
        loss.backward()
        return model, loss

    (small_model, small), (big_model, big) = loss_of(5), loss_of(10)
    nodes_small, nodes_big = len(topological_order(small)), len(topological_order(big))
    assert 250 < nodes_big < 500 and nodes_big > 2.5 * nodes_small
    work_small = lines_run(lambda: draw_graph(small, model=small_model))
    work_big = lines_run(lambda: draw_graph(big, model=big_model))
    assert work_big / work_small < 1.25 * nodes_big / nodes_small


def test_the_work_measure_sees_quadratic_work():
    """The measure above would catch a quadratic step: a loop over all nodes for each node."""
    linear = lines_run(lambda: [k for k in range(200)])
    quadratic = lines_run(lambda: [[j for j in range(200)] for k in range(200)])
    assert quadratic > 100 * linear


# ------------------------------------------------------------ errors and sizes
def chain(length: int) -> Value:
    x = Value(0.5, label="x")
    for _ in range(length):
        x = x * 1.01
    return x


def test_too_many_nodes_raises_with_the_count_and_a_way_out(tmp_path):
    root = chain(30)
    refusal = r"31 boxes.*max_nodes=10.*one sample's loss.*level=.*raise max_nodes"
    with pytest.raises(ValueError, match=refusal):
        draw_graph(root, max_nodes=10)
    with pytest.raises(ValueError, match="31 boxes"):
        save_graph(root, tmp_path / "big.svg", max_nodes=10)
    assert list(tmp_path.iterdir()) == []
    assert "n30" in draw_graph(root, max_nodes=31).source


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"rankdir": "XY"}, ValueError, "rankdir"),
        ({"max_nodes": 0}, ValueError, "max_nodes"),
        ({"max_nodes": 2.5}, ValueError, "max_nodes"),
        ({"model": object()}, TypeError, "named_parameters"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        draw_graph(neuron(), **kwargs)


def test_draw_graph_needs_a_value():
    with pytest.raises(TypeError, match="Value"):
        draw_graph(3.0)


# ------------------------------------------------------------ files
@pytest.mark.parametrize(
    "suffix, check",
    [
        (".svg", lambda data: "data 0.7071" in svg_texts(data)),
        (".png", lambda data: data.startswith(b"\x89PNG\r\n\x1a\n")),
        (".pdf", lambda data: data.startswith(b"%PDF")),
        (".dot", lambda data: data.startswith(b"digraph") and b"data 0.7071" in data),
    ],
)
def test_save_graph_writes_each_format(tmp_path, suffix, check):
    path = save_graph(neuron(), tmp_path / f"neuron{suffix}", rankdir="TB")
    assert path == tmp_path / f"neuron{suffix}"
    assert check(path.read_bytes())
    assert os.listdir(tmp_path) == [path.name]  # no temporary file left behind
    mode = path.stat().st_mode & 0o777
    assert mode & 0o644 == 0o644 or mode & 0o600 == 0o600


def test_save_graph_replaces_an_existing_file(tmp_path):
    path = tmp_path / "g.dot"
    path.write_text("old")
    save_graph(neuron(), str(path))
    assert path.read_text().startswith("digraph")


def test_unknown_suffix_lists_the_supported_ones(tmp_path):
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf, \.dot"):
        save_graph(neuron(), tmp_path / "graph.jpg")
    with pytest.raises(TypeError, match="path"):
        save_graph(neuron(), 42)
    assert list(tmp_path.iterdir()) == []


def test_without_graphviz_pictures_fail_helpfully_and_dot_still_works(monkeypatch, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    no_graphviz(monkeypatch, tmp_path)
    for suffix in (".svg", ".png", ".pdf"):
        with pytest.raises(GraphvizNotFoundError, match=r"apt-get install graphviz.*brew install graphviz"):
            save_graph(neuron(), out / f"g{suffix}")
    assert list(out.iterdir()) == []
    assert issubclass(GraphvizNotFoundError, RuntimeError)
    save_graph(neuron(), out / "g.dot")
    assert [p.name for p in out.iterdir()] == ["g.dot"]


def test_dot_vanishing_while_rendering_leaves_no_file(monkeypatch, tmp_path):
    """``shutil.which`` found ``dot`` but running it fails: the same error, still no file."""
    out = tmp_path / "out"
    out.mkdir()
    no_graphviz(monkeypatch, tmp_path)
    monkeypatch.setattr(viz.shutil, "which", lambda name: "/usr/bin/dot")
    with pytest.raises(GraphvizNotFoundError, match="install Graphviz"):
        save_graph(neuron(), out / "g.png")
    assert list(out.iterdir()) == []


# ------------------------------------------------------------ notebooks
def test_a_small_value_shows_as_an_svg_picture():
    svg = neuron()._repr_svg_()
    assert svg is not None and "<svg" in svg
    assert "data 0.7071" in svg_texts(svg)


def test_a_large_graph_falls_back_to_text(monkeypatch):
    monkeypatch.setattr(viz, "NOTEBOOK_MAX_NODES", 20)
    assert chain(25)._repr_svg_() is None
    assert chain(10)._repr_svg_() is not None
    assert repr(chain(25)).startswith("Value(data=")


def test_without_graphviz_a_value_shows_as_text(monkeypatch, tmp_path):
    no_graphviz(monkeypatch, tmp_path)
    assert neuron()._repr_svg_() is None


# ------------------------------------------------------------ any label
def labelled_graph(label: str) -> Value:
    x = Value(1.5, label=label)
    y = (x * 2.0).tanh()
    y.label = label + "!"
    y.backward()
    return y


def test_labels_graphviz_could_not_read_now_draw(tmp_path):
    for label in ("C:\\temp\\", "a\x00b", "bell\x07", "&#7;", "&amp;", "\\N", "<b>x</b>", "{a|b}", '"q"'):
        svg = save_graph(labelled_graph(label), tmp_path / "g.svg").read_bytes()
        texts = svg_texts(svg)
        shown = viz._printable(label)  # control characters as their pictures, the rest as typed
        assert shown in texts and shown + "!" in texts, (label, texts)
        dot = save_graph(labelled_graph(label), tmp_path / "g.dot").read_text(encoding="utf-8")
        assert dot.startswith("digraph") and "\x00" not in dot


def test_control_characters_are_shown_as_their_pictures():
    assert viz._printable("a\x00b\x07\n\x7f") == "a\u2400b\u2407\u240a\u2421"
    assert viz._printable("\x85\ufffe") == "\ufffd\ufffd"
    assert viz._printable("w.0 é ∂") == "w.0 é ∂"


@given(label=st.text(max_size=12))
def test_any_label_gives_a_valid_dot_file_and_well_formed_svg(label):
    graph = draw_graph(labelled_graph(label))
    source = graph.source
    svg = viz.render(graph, "svg")  # dot reads the source without error
    texts = svg_texts(svg)  # and writes well-formed XML
    shown = viz._printable(label)
    if shown.strip() and shown == shown.strip() and "  " not in shown:  # dot folds spaces in records
        assert shown in texts
    assert source.startswith("digraph")


# ------------------------------------------------------------ size and layout
def smallest_text_px(svg: bytes) -> float:
    """The height of the smallest text of a picture shown at 100 %, in CSS pixels (1 pt = 4/3 px).

    Graphviz writes each text's ``font-size`` in points and scales the whole
    drawing with the ``transform="scale(s s) ..."`` of its outermost group.
    """
    root = ET.fromstring(svg)
    group = root.find(f"{SVG}g")
    scale = float(re.match(r"scale\(([\d.]+)", group.get("transform")).group(1))
    sizes = [float(t.get("font-size")) for t in root.iter(f"{SVG}text")]
    return scale * min(sizes) * 4 / 3


def test_by_default_every_text_is_at_least_9_pixels_tall():
    """Issue 17 (1): natural size, never shrunk to fit a cell (before: MLP(2, [4, 4, 1]) at 0.2 scale)."""
    for sizes in ([4, 4, 1], [16, 16, 1]):
        model, _, loss = mlp_loss(sizes=sizes)
        picture = draw_graph(loss, model=model)
        assert not re.search(r"\bsize=", picture.source)
        assert smallest_text_px(viz.render(picture, "svg")) >= 9
    assert smallest_text_px(viz.render(draw_graph(neuron()), "svg")) >= 9


def test_the_size_argument_still_scales_a_picture_down_when_asked():
    model, _, loss = mlp_loss()
    small = ET.fromstring(viz.render(draw_graph(loss, model=model, size=(3.0, 3.0)), "svg"))
    assert float(small.get("width").removesuffix("pt")) <= 3 * 72 + 1


def test_a_small_graph_is_never_scaled_up():
    big = ET.fromstring(viz.render(draw_graph(neuron(), size=(100.0, 100.0)), "svg"))
    natural = ET.fromstring(viz.render(draw_graph(neuron(), size=None), "svg"))
    assert big.get("width") == natural.get("width")


def natural_width(root: Value, rankdir: str, **kwargs) -> float:
    svg = ET.fromstring(viz.render(draw_graph(root, rankdir=rankdir, size=None, **kwargs), "svg"))
    return float(svg.get("width").removesuffix("pt")) / 72  # inches


def product() -> Value:
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    return a * b


def test_auto_layout_is_left_to_right_when_that_fits_else_the_narrower():
    assert "rankdir=LR" in draw_graph(product(), rankdir="auto").source  # fits: stays LR
    assert "rankdir=TB" in draw_graph(chain(12), rankdir="auto").source  # deep: grows downwards
    assert "rankdir=LR" in draw_graph(chain(12), rankdir="auto", size=(60.0, 10.0)).source  # room enough
    model, _, loss = mlp_loss()
    width = viz.NOTEBOOK_WIDTH
    for root, kwargs in ((product(), {}), (neuron(), {}), (chain(12), {}), (loss, {"model": model})):
        source = draw_graph(root, rankdir="auto", **kwargs).source
        chosen = re.search(r"rankdir=(\w+)", source).group(1)
        lr, tb = natural_width(root, "LR", **kwargs), natural_width(root, "TB", **kwargs)
        if chosen == "LR":
            assert lr <= width or lr <= tb
        else:
            assert width < lr and tb < lr


@pytest.mark.parametrize("size", [(0, 5), (5,), "9,40", (float("nan"), 5), (True, 5), (5, float("inf"))])
def test_bad_sizes_are_refused(size):
    with pytest.raises(ValueError, match="size must be None or a"):
        draw_graph(neuron(), size=size)


# ------------------------------------------------------------ names inside a model
def test_a_models_nodes_are_named_after_where_they_sit():
    model, xs, loss = mlp_loss()
    order = topological_order(loss)
    names = viz.picture_names(order, model)
    source = draw_graph(loss, model=model).source
    where = memberships(source)
    i = {node: k for k, node in enumerate(order)}
    for node in order:
        if node.op == "tanh":  # a hidden neuron: its activation, and the sum under it
            neuron_name = names[node].removesuffix(".tanh")
            assert re.fullmatch(r"layers\.0\.neurons\.\d", neuron_name)
            assert names[node.parents[0]] == neuron_name + ".sum"
            cluster = "cluster_" + neuron_name.replace(".", "_")
            assert where[f"n{i[node]}"][-1] == cluster
            assert f'{{tanh | data {format_number(node.data)}' in source  # shown without the prefix
            assert f'tooltip="{neuron_name}.tanh"' in source
    for name, p in model.named_parameters():
        assert names[p] == name
    # products and partial sums: t1, t2, ... in each module; nothing inside the model is a v-number
    owned = [n for n in order if n not in xs and n is not loss and n is not loss.parents[0]]
    assert all(not re.search(r"(^|\.)v\d+$", names[n]) for n in owned)
    assert "layers.0.neurons.0.t1" in names.values()
    assert len(set(names.values())) == len(order)


def test_a_model_used_twice_numbers_its_repeated_names():
    neuron_model = Neuron(2, activation="tanh", seed=0)
    total = neuron_model([1.0, 2.0]) + neuron_model([3.0, -1.0])
    names = viz.picture_names(topological_order(total), neuron_model)
    assert {"sum#1", "sum#2", "tanh#1", "tanh#2"} <= set(names.values())
    assert len(set(names.values())) == len(names)


def test_without_a_model_the_names_are_explains():
    o = neuron()
    order = topological_order(o)
    assert viz.picture_names(order) == node_names(order)


def test_a_matrix_parameter_belongs_to_the_module_not_to_a_module_named_after_it():
    from autograd.viz import split_parameter_name

    assert split_parameter_name("weight_hh.0.1") == ((), "weight_hh.0.1")
    assert split_parameter_name("rnn.weight_ih.2.0") == (("rnn",), "weight_ih.2.0")
    assert split_parameter_name("layers.1.neurons.0.w.2") == (("layers", "1", "neurons", "0"), "w.2")


# ---------------------------------------------------------------------------
# Issue 20 (2): every string that reaches DOT is escaped, not only labels
# ---------------------------------------------------------------------------

HOSTILE = '<x> URL="javascript:alert(1)" target="_self" id=<y>'


def hostile_operation(name: str) -> Value:
    """``name`` as the name of a user operation (double its input) applied to a labelled leaf."""
    from autograd import Operation, apply

    op = Operation(name, forward="a * 2.0", derivatives={"a": "2.0"})
    out = apply(op, Value(1.5, label="x"))
    out.label = "y"
    return out


def hostile_model(name: str):
    """A one-neuron model whose class is called ``name``, and its output on one input."""
    model = type(name, (Neuron,), {})(1, seed=0)
    return model, model([Value(0.5, label="x")])


def unsafe_parts(svg: bytes) -> list[str]:
    """Every attribute of the SVG that could run a script: a link, an ``on...`` handler, a javascript: URL.

    A ``title`` (a tooltip: the name of a node, shown as text, never followed) may say anything.
    """
    found = []
    for element in ET.fromstring(svg).iter():
        for key, value in element.attrib.items():
            bare = key.rsplit("}", 1)[-1].lower()
            script = bare != "title" and "javascript:" in value.lower()
            if bare.startswith("on") or bare == "href" or script:
                found.append(f"{element.tag} {key}={value!r}")
    return found


@pytest.mark.parametrize("where", ["operation", "model class"])
def test_a_hostile_operation_or_class_name_is_shown_as_text_not_a_link(where):
    if where == "operation":
        root, model = hostile_operation(HOSTILE), None
    else:
        model, root = hostile_model(HOSTILE)
    svg = viz.render(draw_graph(root, model=model), "svg")
    assert unsafe_parts(svg) == []
    assert HOSTILE in svg_texts(svg)  # the name is still shown, exactly as written


# (A class name cannot hold "\x00" or a lone surrogate: type() refuses them.)
NAMEABLE = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))


class NamedParameters:
    """A model whose one parameter, ``x``, has the given (dotted) name: a module name in a cluster title."""

    def __init__(self, name: str, x: Value) -> None:
        self.name, self.x = name, x

    def named_parameters(self):
        return [(self.name, self.x)]


@given(st.text(NAMEABLE, min_size=1, max_size=40).map(lambda s: f"<{s}>") | st.sampled_from([HOSTILE]))
def test_any_operation_class_or_module_name_gives_a_picture_without_script(name):
    x = Value(1.5, label="x")
    pictures = [
        draw_graph(hostile_operation(name)),
        draw_graph(hostile_model(name)[1], model=hostile_model(name)[0]),
        draw_graph(x * 2.0, model=NamedParameters(f"{name}.w", x)),  # a module called name
    ]
    for picture in pictures:
        svg = viz.render(picture, "svg")
        assert unsafe_parts(svg) == []


def test_text_on_every_fill_has_a_contrast_of_at_least_4_5():
    """Issue 17 (5): black or white by WCAG relative luminance; before, a threshold on luminance without
    gamma chose white on teal #2c758e (4.0:1)."""
    fills = [grad_color(10.0 ** (e / 10)) for e in range(10 * viz.LOW - 10, 10 * viz.HIGH + 10)]
    fills += [grad_color(0.0), grad_color(float("nan"))]
    worst = min(viz.contrast(fill, "#000000" if text_color(fill) == "black" else "#ffffff") for fill in fills)
    assert worst >= 4.5
    assert viz.contrast("#000000", "#ffffff") == pytest.approx(21.0)


def test_the_demos_neuron_picture_is_readable_at_100_percent(tmp_path):
    """Issue 17 (6): ``out/neuron.svg`` was drawn at 0.45 scale (text under 7 px)."""
    from nn import demo

    model = MLP(2, [16, 16, 1], seed=1337)
    path = demo.save_neuron_graph(model, [0.5, -0.25], tmp_path / "neuron.svg")
    assert smallest_text_px(path.read_bytes()) >= 9


# ---------------------------------------------------------------------------
# Issue 17 (2): coarser levels, known to nn; autograd draws the grouping it is given
# ---------------------------------------------------------------------------


def boxes_of(picture) -> dict[str, list[str]]:
    """Graphviz name of each module drawn as one box -> the texts of its label (from the DOT source)."""
    found = {}
    for name, label in re.findall(r'\b(m\d+) \[label="([^"]*)"', picture.source):
        found[name] = [part.strip(" {}") for part in label.split("|")]
    return found


def test_a_network_is_drawn_one_box_per_neuron_or_per_layer_with_output_and_operation_count():
    model, _, loss = mlp_loss(sizes=(16, 16, 1))
    order = topological_order(loss)
    neurons = draw_graph(loss, model=model, level="neuron")
    boxes = boxes_of(neurons)
    assert len(boxes) == 33  # 16 + 16 + 1 neurons
    # a hidden neuron's box: its name, its operations (16 products, 16 sums, tanh), its output's numbers
    neuron = model.layers[1].neurons[3]
    box = neurons.shown_in[order.index(neuron.w[0])]
    inside = [v for i, v in enumerate(order) if neurons.shown_in[i] == box]
    output = next(v for v in inside if v.op == "tanh")
    assert boxes[box] == [
        "neurons.3",  # inside the box of layers.1
        f"{2 * 16 + 1} operations",
        f"data {format_number(output.data)}",
        f"grad {format_number(output.grad)}",
    ]
    assert sum(1 for v in inside if not v.is_leaf) == 2 * 16 + 1
    layers = draw_graph(loss, model=model, level="layer")
    assert sorted(label[0] for label in boxes_of(layers).values()) == ["layers.0", "layers.1", "layers.2"]
    # the edges go between the boxes: 16 neurons of layer 0 feed each of the 16 of layer 1
    assert len(re.findall(r"\bm\d+ -> m\d+", neurons.source)) == 16 * 16 + 16
    assert draw_graph(loss, model=model).grouping.level == "neuron"  # "auto": too big for every node


def test_a_neuron_or_a_layer_can_be_opened():
    model, _, loss = mlp_loss(sizes=(16, 16, 1))
    opened = draw_graph(loss, model=model, level="neuron", expand=["layers.2.neurons.0"])
    assert "cluster_layers_2_neurons_0" in opened.source and len(boxes_of(opened)) == 32
    opened = draw_graph(loss, model=model, level="layer", expand=["layers.1"], max_nodes=1000)
    assert sorted(label[0] for label in boxes_of(opened).values()) == ["layers.0", "layers.2"]
    with pytest.raises(ValueError, match=r"cannot expand 'layers\.7'.*layers\.0"):
        draw_graph(loss, model=model, level="layer", expand=["layers.7"])


def test_autograd_draws_any_grouping_and_a_model_without_one_only_node_by_node():
    x, w = Value(2.0, label="x"), Value(3.0, label="w")
    y = x * w + 1.0
    order = topological_order(y)
    given = viz.Grouping(names={v: f"node{i}" for i, v in enumerate(order)}, modules={x: "a.b", w: "a"})
    source = draw_graph(y, grouping=given).source
    assert "cluster_a_b" in source and "node0" in source

    class Plain:  # any object with named_parameters(): its parameters' boxes, nothing more
        def named_parameters(self):
            return [("layer.weight", w)]

    assert "cluster_layer" in draw_graph(y, model=Plain()).source
    with pytest.raises(ValueError, match="no graph_grouping"):
        draw_graph(y, model=Plain(), level="neuron")
    with pytest.raises(ValueError, match="needs a model"):
        draw_graph(y, level="layer")
    with pytest.raises(ValueError, match="level must be one of"):
        draw_graph(y, level="neurons")
