"""``nn.plots.plot_grad_flow``: mean and max |grad| per layer."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from autograd import Value
from nn import MLP
from nn.plots import LayerGrads, grad_flow, plot_grad_flow


class StandIn:
    """Anything with ``named_parameters()``: here ``{i}.w`` / ``{i}.b`` names, like a Sequential."""

    def __init__(self, grads: dict[str, list[float]]):
        self.params = [(name, Value(0.0)) for name, gs in grads.items() for _ in gs]
        for (_, p), g in zip(self.params, [g for gs in grads.values() for g in gs], strict=True):
            p.grad = g

    def named_parameters(self):
        return list(self.params)


def bars(fig: Figure) -> tuple[list[float], list[float]]:
    """The heights of the (max, mean) bars of the figure's only axes."""
    (ax,) = fig.axes
    maxes, means = ax.containers
    return [b.get_height() for b in maxes], [b.get_height() for b in means]


def test_sequential_like_models_group_by_the_first_name_component():
    model = StandIn({"0.w.0": [0.5], "0.w.1": [-1.5], "0.b": [0.25], "1.w.0": [1e-5], "1.b": [-3e-5]})
    fig = plot_grad_flow(model)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1"]
    maxes, means = bars(fig)
    assert maxes == [1.5, 3e-5]
    assert means == [pytest.approx((0.5 + 1.5 + 0.25) / 3), pytest.approx(2e-5)]
    assert ax.get_yscale() == "log"


def test_real_mlp_has_one_entry_per_layer_with_the_right_numbers():
    model = MLP(3, [4, 4, 1], activation="tanh", seed=0)
    loss = (model([0.5, -1.0, 2.0]) - 1.0) ** 2
    model.zero_grad()
    loss.backward()
    fig = plot_grad_flow(model)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["layers.0", "layers.1", "layers.2"]
    maxes, means = bars(fig)
    for i, (top, mean) in enumerate(zip(maxes, means, strict=True)):
        grads = [abs(p.grad) for p in model.layers[i].parameters()]
        assert top == max(grads)
        assert mean == pytest.approx(sum(grads) / len(grads), rel=1e-12)
    stats = grad_flow(model)
    assert [s.count for s in stats] == [16, 20, 5]
    assert all(isinstance(s, LayerGrads) for s in stats)


def test_a_model_with_layers_groups_by_layer_index():
    class TwoLayers(StandIn):
        layers = [object(), object()]

    model = TwoLayers(
        {"layers.0.neurons.0.w.0": [1.0], "layers.0.neurons.1.b": [3.0], "layers.1.neurons.0.w.0": [2.0]}
    )
    assert [(s.name, s.mean_abs, s.max_abs) for s in grad_flow(model)] == [
        ("layers.0", 2.0, 3.0),
        ("layers.1", 2.0, 2.0),
    ]


def test_zero_gradients_are_marked_not_hidden():
    model = StandIn({"0.w": [0.0, 0.0], "1.w": [0.1]})
    fig = plot_grad_flow(model)
    (ax,) = fig.axes
    assert "0" in [t.get_text() for t in ax.texts]
    assert bars(fig)[0] == [0.0, 0.1]

    untrained = MLP(2, [3, 1], seed=0)  # no backward yet: every gradient is 0
    (ax,) = plot_grad_flow(untrained).axes
    assert any("backward" in t.get_text() for t in ax.texts)
    assert ax.get_yscale() == "linear"


def test_draws_into_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    returned = plot_grad_flow(StandIn({"0.w": [1.0], "1.w": [2.0]}), ax=ax, title="mine")
    assert returned is fig and ax.get_title() == "mine"
    assert len(ax.get_xticklabels()) == 2


def test_the_figure_renders(tmp_path):
    path = tmp_path / "flow.png"
    plot_grad_flow(StandIn({"0.w": [1.0], "1.w": [1e-4]})).savefig(path)
    assert path.read_bytes().startswith(b"\x89PNG")


def test_bad_models_raise_clear_errors():
    with pytest.raises(TypeError, match="named_parameters"):
        plot_grad_flow(object())
    with pytest.raises(ValueError, match="no parameters"):
        plot_grad_flow(StandIn({}))

    class Broken:
        def named_parameters(self):
            return [("w", 1.0)]

    with pytest.raises(TypeError, match="not a Value"):
        plot_grad_flow(Broken())
