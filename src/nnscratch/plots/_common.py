"""What every figure shares: a headless figure factory, class colours, axes style and saving.

Figures are built as ``matplotlib.figure.Figure`` with an Agg canvas, never through
``pyplot``: no global figure registry, no backend switch, nothing shown. The caller owns
the figure and may save it with :func:`save_figure` or show it however it likes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, ListedColormap, to_rgb
from matplotlib.figure import Figure

from nnscratch.core.checks import check_int, check_X, fail
from nnscratch.io.atomic import atomic_path

#: Class ``k`` is drawn in ``CLASS_COLORS[k % 10]`` in every plot (scatter and boundary alike).
CLASS_COLORS = (
    "#1f77b4",  # blue
    "#ff7f0e",  # orange
    "#2ca02c",  # green
    "#d62728",  # red
    "#9467bd",  # purple
    "#8c564b",  # brown
    "#e377c2",  # pink
    "#7f7f7f",  # grey
    "#bcbd22",  # olive
    "#17becf",  # cyan
)

SAVE_FORMATS = ("png", "svg", "pdf")


def class_color(k: int) -> str:
    """The colour of class ``k``."""
    return CLASS_COLORS[int(k) % len(CLASS_COLORS)]


def class_cmap(n_classes: int) -> ListedColormap:
    """One light tint per class, for a map of predicted classes."""
    return ListedColormap([lighten(class_color(k)) for k in range(n_classes)], name="classes")


def lighten(color, amount: float = 0.5) -> tuple[float, float, float]:
    """``color`` mixed with white: ``amount`` 0 keeps it, 1 gives white."""
    r, g, b = to_rgb(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


def probability_cmap() -> LinearSegmentedColormap:
    """A light tint of class 0's colour at P(class 1) = 0, white at 0.5, class 1's at 1.

    Tints, not the full colours, so that the class-coloured points stay visible on top.
    """
    return LinearSegmentedColormap.from_list(
        "class0_class1", [lighten(class_color(0)), (1.0, 1.0, 1.0), lighten(class_color(1))]
    )


def new_figure(figsize=(6.0, 4.5), nrows: int = 1, ncols: int = 1, **subplot_kw):
    """A headless figure with an Agg canvas and its axes (``squeeze`` as in ``subplots``)."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, **subplot_kw)
    return fig, axes


def figure_of(ax, name: str = "ax") -> Figure:
    """The figure an ``ax`` argument belongs to, after checking it is an Axes."""
    if not isinstance(ax, Axes):
        raise fail(name, "a matplotlib Axes", ax)
    try:
        return ax.get_figure(root=True)  # the top figure, also for axes in a subfigure
    except TypeError:  # matplotlib < 3.10 has no ``root``
        return ax.figure


def style_axes(ax: Axes, grid: bool = True) -> None:
    """Light grid behind the data, no top and right frame lines."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    if grid:
        ax.grid(True, color="0.85", linewidth=0.8)
        ax.set_axisbelow(True)


def scatter_classes(
    ax: Axes, X: np.ndarray, y: np.ndarray, size: float | None = None, edgecolor="white"
) -> list:
    """One scatter per class present in ``y``, labelled ``class k``, in the class colours."""
    if size is None:
        # smaller points for bigger data sets, so 5000 moons points stay readable
        size = float(np.clip(2000.0 / max(len(X), 1), 4.0, 30.0))
    handles = []
    for k in np.unique(y):
        rows = X[y == k]  # (N_k,2)
        handles.append(
            ax.scatter(
                rows[:, 0],
                rows[:, 1],
                s=size,
                color=class_color(k),
                edgecolors=edgecolor,
                linewidths=0.3,
                label=f"class {int(k)}",
                zorder=3,
            )
        )
    return handles


def check_points(X, name: str = "X") -> np.ndarray:
    """Finite two-feature points ``(N, 2)``: what a plane can show."""
    X = check_X(X, name=name)
    if X.shape[1] != 2:
        raise fail(name, "a 2-D array with 2 features (N, 2) to draw in the plane", X)
    return X


def check_xy(X, y, name_X: str = "X", name_y: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Two-feature points ``(N, 2)`` and their integer labels ``(N,)``."""
    X = check_points(X, name_X)
    labels = np.asarray(y)
    if labels.ndim != 1 or labels.shape[0] != X.shape[0]:
        raise fail(name_y, f"a 1-D array of {X.shape[0]} labels (one per row of X)", labels)
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise fail(name_y, "integer class labels", labels)
    elif labels.dtype.kind not in "iub":
        raise fail(name_y, "integer class labels", labels)
    labels = labels.astype(np.intp)
    if labels.size and labels.min() < 0:
        raise fail(name_y, "class labels >= 0", labels)
    return X, labels


def atomic_write(path, write, suffixes) -> str:
    """Call ``write(temp_path)``, then move the temporary file onto ``path`` in one step.

    The format follows the suffix, which must be one of ``suffixes``; see
    :func:`nnscratch.io.atomic.atomic_path` for the guarantees.
    """
    target = Path(os.fspath(path))
    suffix = target.suffix.lower().lstrip(".")
    if suffix not in suffixes:
        raise fail("path", "a file name ending in " + ", ".join(f".{s}" for s in suffixes), path)
    if not target.parent.is_dir():
        raise fail("path", "a file in an existing directory", path)
    with atomic_path(target) as temp:
        write(temp)
    return str(target)


def save_figure(fig: Figure, path, dpi: int = 150, **savefig_kwargs) -> str:
    """Write ``fig`` to ``path`` atomically; the format comes from the suffix (png, svg, pdf).

    Returns the path written, as a string.
    """
    if not isinstance(fig, Figure):
        raise fail("fig", "a matplotlib Figure", fig)
    dpi = check_int("dpi", dpi)
    options = {"bbox_inches": "tight", **savefig_kwargs}

    def write(temp: Path) -> None:
        fmt = temp.suffix.lower().lstrip(".")
        fig.savefig(temp, format=fmt, dpi=dpi, **options)

    return atomic_write(path, write, SAVE_FORMATS)
