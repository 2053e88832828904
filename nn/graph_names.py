"""Which module made each node of a graph: names for pictures, and the coarser levels.

``autograd.viz`` draws any graph with any grouping it is given (a
:class:`autograd.viz.Grouping`: every node's name and the dotted name of the
module it sits in); it knows nothing of neurons or layers. This module knows
them: :func:`grouping` walks a graph once and says which nodes a model's
neurons computed, so a picture can put them in labelled boxes (level
``"node"``) or draw each neuron, or each layer, as one box (``"neuron"``,
``"layer"``). Every :class:`nn.Module` offers it as ``graph_grouping``, which
is what ``draw_graph(loss, model=mlp)`` calls.

Which operations belong to a neuron? A neuron computes
``act(w0·x0 + w1·x1 + ... + b)``. So, walking the graph forwards (in
topological order, parents before children):

1. a parameter belongs to its module (``layers.1.neurons.0.w.2`` is weight 2 of
   the module ``layers.1.neurons.0``);
2. an operation belongs to module M when the inputs that pass a module on
   (parameters, and results that belong to a module and are still *open*)
   all pass M. Its weighted sum is then open until it has used every
   parameter of M: that node is M's *sum*;
3. an activation (``tanh``, ``sigmoid``, ``relu``, ``leaky_relu``) applied to
   M's sum also belongs to M; the sum (or the activation) *closes* M: results
   computed from it, such as the next layer's ``w·h`` or a loss, do not
   inherit M. (``w·h`` still joins the next neuron through its weight ``w``.)

Inputs, the loss, and anything mixing several modules belong to no module.

A node inside module ``M`` that has no label of its own is named after its
place: ``M.sum`` for M's weighted sum, ``M.tanh`` (``M.relu``...) for its
activation, ``M.t1``, ``M.t2``... for its intermediate results before the sum
(the products and partial sums), numbered in topological order
(``layers.0.neurons.1.sum``, ``layers.0.neurons.1.t3``). A name that occurs
more than once (the same model applied to several inputs) gets ``#1``,
``#2``... as repeated labels do.

>>> from autograd import Value, topological_order
>>> from nn import Neuron
>>> n = Neuron(2, activation="tanh", seed=0)
>>> out = n([Value(1.0, label="x0"), Value(2.0, label="x1")])
>>> g = grouping(n, topological_order(out))
>>> g.names[out], g.modules[out]
('tanh', '')
>>> grouping(n, topological_order(out), level="neuron").boxes
frozenset({''})
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autograd import Value
from autograd.names import node_names
from autograd.viz import Grouping, model_parameters, module_chain, split_parameter_name

__all__ = ["AUTO_MAX_NODES", "LEVELS", "grouping"]

#: The levels a model's graph can be drawn at, finest first ("auto" chooses one).
LEVELS = ("node", "neuron", "layer")
#: ``level="auto"`` draws every node when the graph has at most this many, else one box per neuron
#: (or per layer, when there are more neurons than this).
AUTO_MAX_NODES = 150
_ACTIVATIONS = frozenset({"tanh", "sigmoid", "relu", "leaky_relu"})


def owners(
    order: Sequence[Value], params: dict[Value, str]
) -> tuple[dict[Value, tuple[str, ...]], dict[Value, str]]:
    """The module each node belongs to (see the module docstring), for the nodes that have one.

    Also returns the *role* of the sums and activations: ``"sum"``, or the
    activation's operation (``"tanh"``...).
    """
    owner_of = {p: split_parameter_name(name)[0] for p, name in params.items()}
    needed: dict[tuple[str, ...], int] = {}
    for module in owner_of.values():
        needed[module] = needed.get(module, 0) + 1
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


def _names(
    order: Sequence[Value],
    params: dict[Value, str],
    owner: dict[Value, tuple[str, ...]],
    role: dict[Value, str],
) -> dict[Value, str]:
    """Every node's name: a parameter's name in the model, a node inside a module after its place."""
    names = node_names(order)
    wanted: dict[Value, str] = {}
    counter: dict[tuple[str, ...], int] = {}
    for node in order:
        if node in params:
            wanted[node] = params[node]
        elif node in owner and not node.label:
            module = owner[node]
            place = role.get(node)
            if place is None:
                counter[module] = counter.get(module, 0) + 1
                place = f"t{counter[module]}"
            wanted[node] = ".".join((*module, place))
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


def grouping(model: Any, order: Sequence[Value], level: str = "node") -> Grouping:
    """How to draw ``order`` (a topological order) with ``model``'s modules, at ``level``.

    ``"node"``: every node, the nodes of each module in a labelled box;
    ``"neuron"``: each neuron (the innermost module that computes something)
    as one box; ``"layer"``: each layer (the outermost numbered module, such
    as ``layers.1``) as one box; ``"auto"``: ``"node"`` for a graph of at most
    :data:`AUTO_MAX_NODES` nodes, else ``"neuron"`` when there are at most
    that many neurons, else ``"layer"``.
    """
    if level not in (*LEVELS, "auto"):
        raise ValueError(f"level must be one of {', '.join((*LEVELS, 'auto'))}, not {level!r}")
    params = model_parameters(model)
    owner, role = owners(order, params)
    neurons = frozenset(".".join(m) for m in owner.values())
    if level == "auto":
        if len(order) <= AUTO_MAX_NODES:
            level = "node"
        else:
            level = "neuron" if len(neurons) <= AUTO_MAX_NODES else "layer"
    if level == "node":
        boxes: frozenset[str] = frozenset()
    elif level == "neuron":
        boxes = neurons
    else:
        boxes = frozenset(".".join(module_chain(m)[0]) for m in owner.values())
    return Grouping(
        names=_names(order, params, owner, role),
        modules={node: ".".join(m) for node, m in owner.items()},
        boxes=boxes,
        parameters=frozenset(params),
        title=type(model).__name__,
        level=level,
    )
