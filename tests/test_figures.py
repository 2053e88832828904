"""Training figures in ``nn.plots``: decision regions, curves, confusion matrices, saving."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from nn import MLP, data
from nn.plots import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_curves,
    plot_decision_boundary,
    plot_history,
    save_figure,
)


def test_confusion_matrix_counts_true_against_predicted():
    matrix = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2])
    assert matrix == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert confusion_matrix([0], [0], n_classes=3) == [[1, 0, 0], [0, 0, 0], [0, 0, 0]]


@pytest.mark.parametrize("true, pred", [([0, 1], [0]), ([0, -1], [0, 1]), ([0, 1.5], [0, 1]), ([3], [0])])
def test_confusion_matrix_rejects_bad_labels(true, pred):
    with pytest.raises(ValueError):
        confusion_matrix(true, pred, n_classes=3 if true == [3] else None)


def test_decision_boundary_for_one_and_several_outputs():
    X, y = data.make_blobs(30, centers=3, seed=0)
    fig = plot_decision_boundary(MLP(2, [4, 3], seed=0), X, y, resolution=12)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.collections) >= 4  # the regions plus one scatter per class
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1", "class 2"]
    X2, y2 = data.make_moons(20, seed=0)
    assert isinstance(plot_decision_boundary(MLP(2, [4, 1], seed=0), X2, y2, resolution=10), Figure)
    with pytest.raises(ValueError, match="2 inputs"):
        plot_decision_boundary(MLP(3, [1], seed=0), [[0.0, 1.0, 2.0]], [0])


def test_curves_history_and_confusion_plots():
    fig = plot_curves({"sgd": [3.0, 2.0, 1.0], "adam": [3.0, 1.0, 0.5]}, log=True, title="t")
    lines = fig.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in lines] == [[3.0, 2.0, 1.0], [3.0, 1.0, 0.5]]
    history = {"loss": [1.0, 0.5], "accuracy": [0.5, 1.0], "val_loss": [1.1, 0.7], "val_accuracy": [0.4, 0.9]}
    fig = plot_history(history)
    assert len(fig.axes) == 2
    assert [line.get_linestyle() for line in fig.axes[0].get_lines()] == ["-", "--"]
    assert len(plot_history({"loss": [1.0]}).axes) == 1
    fig = plot_confusion_matrix([[3, 1], [0, 4]], class_names=["a", "b"])
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["0", "1", "3", "4"]


def test_save_figure_writes_atomically(tmp_path):
    fig = plot_curves({"a": [1.0, 2.0]})
    png = save_figure(fig, tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = save_figure(fig, tmp_path / "curve.svg")
    assert b"<svg" in svg.read_bytes()
    with pytest.raises(ValueError):
        save_figure(fig, tmp_path / "curve.unknown")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.png", "curve.svg"]


def test_decision_regions_are_cells_of_one_class_each_on_a_fine_grid():
    """Regions are drawn cell by cell (pcolormesh): each grid cell has exactly its predicted class's colour.

    (Filled contours of the class *index* would invent a band of class 1 along every 0/2 border.)
    """
    from matplotlib.collections import QuadMesh

    from nn.train import predict, predicted_class

    X, y = data.make_blobs(30, centers=3, seed=0)
    model = MLP(2, [4, 3], seed=0)
    fig = plot_decision_boundary(model, X, y)
    (mesh,) = [c for c in fig.axes[0].collections if isinstance(c, QuadMesh)]
    cells = mesh.get_array()
    assert cells.shape == (100, 100)  # the default grid: at least 100 × 100
    coordinates = mesh.get_coordinates()  # cell corners; the grid points are the cell centres
    centres = (coordinates[:-1, :-1] + coordinates[1:, 1:]) / 2
    expected = [[predicted_class(out) for out in predict(model, list(map(list, row)))] for row in centres]
    assert cells.tolist() == expected
    assert set(cells.flatten().tolist()) <= {0, 1, 2}
    # each class index gets its own colour, the one its points are drawn in
    scatter_colours = [tuple(c.get_facecolor()[0][:3]) for c in fig.axes[0].collections if c is not mesh]
    for k in set(cells.flatten().tolist()):
        assert tuple(mesh.cmap(mesh.norm(k))[:3]) == scatter_colours[k]
    with pytest.raises(ValueError, match="resolution"):
        plot_decision_boundary(model, X, y, resolution=1)


def test_decision_regions_leave_a_nan_output_blank():
    """A NaN output is no class (``predicted_class`` gives None): its cell is left empty, not class 0."""
    import numpy as np
    from matplotlib.collections import QuadMesh

    X, y = data.make_blobs(30, centers=3, seed=0)
    model = MLP(2, [4, 3], seed=0)
    model.parameters()[0].data = float("nan")  # every output NaN
    fig = plot_decision_boundary(model, X, y, resolution=5)
    (mesh,) = [c for c in fig.axes[0].collections if isinstance(c, QuadMesh)]
    assert np.ma.getmaskarray(mesh.get_array()).all()  # every cell masked: drawn in no colour
