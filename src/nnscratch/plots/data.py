"""The data set in the plane: one scatter per class (the two-moons plot, SEED.md step 1)."""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nnscratch.plots._common import check_xy, figure_of, new_figure, scatter_classes, style_axes


def plot_dataset(X, y, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Scatter two-feature points ``X (N, 2)`` coloured by their class ``y (N,)``.

    Each class is its own scatter labelled ``class k`` in the legend, in the colour that
    class has in every other plot (the decision boundary included).
    """
    X, y = check_xy(X, y)
    if ax is None:
        fig, ax = new_figure(figsize=(6.0, 4.5))
    else:
        fig = figure_of(ax)
    handles = scatter_classes(ax, X, y)
    style_axes(ax)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title if title is not None else f"data set ({X.shape[0]} points)")
    # legend markers at least as big as a 30-point scatter marker, however small the points
    markerscale = max(1.0, (30.0 / handles[0].get_sizes()[0]) ** 0.5)
    ax.legend(loc="best", frameon=True, framealpha=0.9, markerscale=markerscale)
    return fig
