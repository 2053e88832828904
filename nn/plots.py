"""Figures for training diagnostics: :func:`plot_grad_flow`.

Vanishing and exploding gradients
---------------------------------
Backpropagation multiplies local derivatives along every path from the loss
back to a weight. Through ``L`` layers that is a product of about ``L``
factors: if they are typically below 1 (a saturated ``tanh`` or ``sigmoid``,
whose slope is at most 1 and 1/4), the gradients of the first layers shrink
geometrically and those layers stop learning (*vanishing* gradients); if they
are above 1 (large weights), the gradients grow geometrically and training
diverges (*exploding* gradients).

The diagnostic is to look, after one ``backward()``, at the size of the
gradients layer by layer: the mean |grad| (the typical size) and the max
|grad| (the largest) of each layer's parameters, on a logarithmic axis, where
a geometric trend is a straight slope. Healthy networks show bars of similar
height across layers.

The figure is a ``matplotlib.figure.Figure`` made without ``pyplot``: it works
on machines without a display, never opens a window, and a notebook shows it
when it is the cell's result (or use ``fig.savefig("flow.png")``).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from autograd import Value
from autograd.files import write_atomically
from autograd.viz import HasNamedParameters

from .data import _evenly
from .metrics import confusion_matrix, predicted_class
from .train import predict

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = [
    "LayerGrads",
    "confusion_matrix",
    "grad_flow",
    "plot_confusion_matrix",
    "plot_curves",
    "plot_decision_boundary",
    "plot_grad_flow",
    "plot_history",
    "save_figure",
]


@dataclass(frozen=True)
class LayerGrads:
    """The gradient sizes of one layer's parameters."""

    name: str
    count: int
    mean_abs: float
    max_abs: float


def _layer_name(name: str, has_layers: bool) -> str:
    """``layers.1.neurons.0.w.2`` → ``layers.1`` (a model with ``.layers``); ``0.w.1`` → ``0``."""
    parts = name.split(".")
    if has_layers and len(parts) > 2 and parts[0] == "layers":
        return ".".join(parts[:2])
    return parts[0]


def grad_flow(model: HasNamedParameters) -> list[LayerGrads]:
    """Mean and max |grad| of each layer's parameters, in the model's order.

    Layers: a model with a ``.layers`` attribute (``MLP``) gives one entry per
    layer, named ``layers.{i}``; any other model's ``named_parameters()`` are
    grouped by the first component of their name (``Sequential``'s ``0``,
    ``1``, ...; a ``Layer``'s ``neurons``; a ``Neuron``'s ``w`` and ``b``).
    """
    named = getattr(model, "named_parameters", None)
    if not callable(named):
        raise TypeError(f"plot_grad_flow needs a model with named_parameters(), not {type(model).__name__}")
    has_layers = hasattr(model, "layers")
    groups: dict[str, list[float]] = {}
    for name, p in named():
        if not isinstance(p, Value):
            raise TypeError(f"parameter {name!r} is a {type(p).__name__}, not a Value")
        groups.setdefault(_layer_name(name, has_layers), []).append(abs(p.grad))
    if not groups:
        raise ValueError(f"{type(model).__name__} has no parameters: nothing to plot")
    return [LayerGrads(name, len(g), sum(g) / len(g), max(g)) for name, g in groups.items()]


@overload
def plot_grad_flow(model: HasNamedParameters, ax: None = None, title: str = ...) -> Figure: ...
@overload
def plot_grad_flow(model: HasNamedParameters, ax: Axes, title: str = ...) -> Figure | SubFigure: ...
def plot_grad_flow(
    model: HasNamedParameters, ax: Axes | None = None, title: str = "Gradient flow"
) -> Figure | SubFigure:
    """Bar chart of mean and max |grad| per layer (log scale), after a backward pass.

    One position per layer (see :func:`grad_flow`), left = first layer. The
    light bar is the layer's largest |grad|, the dark bar in front of it the
    mean. A layer whose gradients are all exactly 0 gets a "0" instead of a bar
    (a logarithmic axis has no 0): no gradient reached it (dead ReLUs, or no
    ``backward()`` yet). Pass ``ax`` to draw into an existing figure's axes.
    Returns the figure; nothing is shown or saved.
    """
    layers = grad_flow(model)
    fig, ax = _figure_and_axes(ax, (max(4.0, 0.9 * len(layers) + 2.0), 3.6))
    xs = range(len(layers))
    maxes = [layer.max_abs for layer in layers]
    means = [layer.mean_abs for layer in layers]
    ax.bar(xs, maxes, width=0.7, color="#9ecae1", label="max |grad|")
    ax.bar(xs, means, width=0.45, color="#08519c", label="mean |grad|")
    positive = [v for v in maxes + means if v > 0.0]
    if positive:  # a log axis needs positive numbers
        ax.set_yscale("log")
        ax.set_ylim(min(positive) / 3.0, max(positive) * 3.0)
    else:
        ax.set_ylim(0.0, 1.0)
        ax.set_yticks([0.0])
        ax.text(0.5, 0.5, "every gradient is 0: run backward() first?", transform=ax.transAxes, ha="center")
    _mark_zeros(ax, xs, maxes)
    ax.set_xticks(list(xs), [layer.name for layer in layers], rotation=30 if len(layers) > 6 else 0)
    ax.set_xlabel("layer (input → output)")
    ax.set_ylabel("|grad| of the parameters")
    ax.set_title(title)
    ax.grid(axis="y", which="major", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def _mark_zeros(ax: Axes, xs: Iterable[int], maxes: list[float]) -> None:
    """Write "0" where a layer's largest |grad| is 0 (a bar of height 0 is invisible)."""
    for x, m in zip(xs, maxes, strict=True):
        if m == 0.0:
            ax.annotate("0", (x, 0.02), xycoords=("data", "axes fraction"), ha="center", color="#b2182b")


# ============================================================================
# Figures for training: decision regions, learning curves, confusion matrices
# ============================================================================


def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure | SubFigure, Axes]:
    """Draw into ``ax`` if given, else into a new pyplot-free figure.

    Each function that takes ``ax`` returns the figure it drew in: a new
    ``Figure`` without ``ax``, else the figure ``ax`` belongs to, which
    matplotlib allows to be a ``SubFigure`` (their overloads say so).
    """
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


@overload
def plot_decision_boundary(
    model: Any,
    X: Sequence[Sequence[float]],
    y: Sequence,
    ax: None = None,
    title: str | None = ...,
    resolution: int = ...,
) -> Figure: ...
@overload
def plot_decision_boundary(
    model: Any,
    X: Sequence[Sequence[float]],
    y: Sequence,
    ax: Axes,
    title: str | None = ...,
    resolution: int = ...,
) -> Figure | SubFigure: ...
def plot_decision_boundary(
    model: Any,
    X: Sequence[Sequence[float]],
    y: Sequence,
    ax: Axes | None = None,
    title: str | None = None,
    resolution: int = 100,
) -> Figure | SubFigure:
    """The regions of the plane a 2-input classifier assigns to each class, with the data on top.

    The model is evaluated (in eval mode, recording no graph) on a
    ``resolution × resolution`` grid around the data. One output is read as a
    score: class 1 where it is > 0 (hinge loss, logits); several outputs as
    logits: the class is the largest. Each grid point is drawn as a small
    rectangle in its class's colour (``pcolormesh``): a class is a category,
    not a height, so the picture never shows a colour between two classes
    (filled contours of the class index would draw a band of class 1 along
    every border between classes 0 and 2). The points are coloured by their
    label.
    """
    from matplotlib.colors import ListedColormap


    if len(X) != len(y) or not X:
        raise ValueError(f"plot_decision_boundary: {len(X)} inputs and {len(y)} labels")
    if any(len(x) != 2 for x in X):
        raise ValueError("plot_decision_boundary draws models with exactly 2 inputs")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"plot_decision_boundary: resolution must be an int >= 2, not {resolution!r}")
    xs, ys = [p[0] for p in X], [p[1] for p in X]
    pad_x, pad_y = 0.15 * (max(xs) - min(xs) or 1.0), 0.15 * (max(ys) - min(ys) or 1.0)
    gx = _evenly(min(xs) - pad_x, max(xs) + pad_x, resolution)
    gy = _evenly(min(ys) - pad_y, max(ys) + pad_y, resolution)
    outputs = predict(model, [[a, b] for b in gy for a in gx])
    classes = [
        [predicted_class(outputs[j * resolution + i]) for i in range(resolution)] for j in range(resolution)
    ]
    # A NaN output is no class (None): its cell is NaN, which pcolormesh leaves blank.
    regions = [[math.nan if c is None else c for c in row] for row in classes]
    largest = max((c for row in classes for c in row if c is not None), default=0)

    labels = sorted(set(y))
    palette = ["#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB"]
    n_colors = max(len(labels), 2, largest + 1)
    colors = [palette[i % len(palette)] for i in range(n_colors)]
    fig, ax = _figure_and_axes(ax, (5.0, 4.2))
    ax.pcolormesh(
        gx,
        gy,
        regions,
        shading="nearest",  # grid point (i, j) is the centre of its cell
        cmap=ListedColormap(colors),
        vmin=-0.5,  # class k -> colour k
        vmax=n_colors - 0.5,
        alpha=0.3,
        linewidth=0,
        antialiased=False,
    )
    for k, label in enumerate(labels):
        points = [p for p, t in zip(X, y, strict=True) if t == label]
        ax.scatter(
            [p[0] for p in points],
            [p[1] for p in points],
            s=18,
            color=colors[k],
            edgecolors="black",
            linewidths=0.4,
            label=f"class {label}",
        )
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title or "Decision boundary")
    ax.legend(loc="best", fontsize="small")
    return fig


@overload
def plot_curves(
    curves: Mapping[str, Sequence[float]],
    ax: None = None,
    title: str | None = ...,
    ylabel: str = ...,
    log: bool = ...,
) -> Figure: ...
@overload
def plot_curves(
    curves: Mapping[str, Sequence[float]],
    ax: Axes,
    title: str | None = ...,
    ylabel: str = ...,
    log: bool = ...,
) -> Figure | SubFigure: ...
def plot_curves(
    curves: Mapping[str, Sequence[float]],
    ax: Axes | None = None,
    title: str | None = None,
    ylabel: str = "loss",
    log: bool = False,
) -> Figure | SubFigure:
    """Several named curves (e.g. the loss of each optimizer) against the epoch, on one axes."""
    if not curves:
        raise ValueError("plot_curves: no curves to plot")
    fig, ax = _figure_and_axes(ax, (6.0, 3.8))
    for name, values in curves.items():
        ax.plot(range(1, len(values) + 1), list(values), label=name, linewidth=1.6)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return fig


def plot_history(history: Mapping[str, Sequence[float]], title: str | None = None) -> Figure:
    """``fit``'s history: the losses on the left, the metrics (accuracy, ...) on the right.

    Training curves are solid, validation curves (``val_...``) dashed.
    """
    from matplotlib.figure import Figure

    metrics = [k for k in history if k != "loss" and not k.startswith("val_")]
    fig = Figure(figsize=(9.0 if metrics else 5.0, 3.6), layout="constrained")
    panels = fig.subplots(1, 2 if metrics else 1, squeeze=False)[0]
    for ax, name in zip(panels, ["loss", *metrics[:1]], strict=False):
        series = {key: history[key] for key in (name, f"val_{name}") if key in history}
        plot_curves(series, ax=ax, ylabel=name)
        for line, key in zip(ax.get_lines(), series, strict=True):
            line.set_linestyle("--" if key.startswith("val_") else "-")
        ax.legend(loc="best", fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


@overload
def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]], class_names: Sequence[str] | None = ..., ax: None = None
) -> Figure: ...
@overload
def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]], class_names: Sequence[str] | None = ..., *, ax: Axes
) -> Figure | SubFigure: ...
@overload
def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]], class_names: Sequence[str] | None, ax: Axes
) -> Figure | SubFigure: ...
def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]], class_names: Sequence[str] | None = None, ax: Axes | None = None
) -> Figure | SubFigure:
    """A confusion matrix as a heat map with the counts written in the cells."""
    n = len(matrix)
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    if len(names) != n:
        raise ValueError(f"plot_confusion_matrix: {n} classes but {len(names)} class names")
    fig, ax = _figure_and_axes(ax, (1.2 * n + 2.0, 1.1 * n + 1.6))
    image = ax.imshow(matrix, cmap="Blues")
    top = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center", color="white" if count > top / 2 else "black")
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("Confusion matrix")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def save_figure(figure: Figure, path: str | os.PathLike) -> Path:
    """Write a figure to ``path`` (format from the suffix: .png, .svg, .pdf), atomically:
    a failure leaves no partial file."""
    path = Path(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=path.suffix.lstrip(".") or "png", dpi=120)
    return write_atomically(path, buffer.getvalue())
