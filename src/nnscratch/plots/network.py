"""A drawing of the network itself, in the style NN-SVG draws it (SEED.md step 12).

Each layer is a column of unit circles; every unit is joined to every unit of the next
layer. Layers wider than ``max_units`` show their first units, a vertical ellipsis and
their last unit; the label under each column gives the true width.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from nnscratch.core.checks import check_int, fail
from nnscratch.plots._common import class_color, figure_of, lighten, new_figure

RADIUS = 0.32  # unit circles, in slot heights
LAYER_GAP = 3.0  # horizontal distance between layers, in slot heights


def layer_labels(sizes: Sequence[int]) -> list[str]:
    """``input (D)``, ``hidden (H)`` (numbered when there are several), ``output (K)``."""
    n_hidden = len(sizes) - 2
    labels = [f"input ({sizes[0]})"]
    for j, width in enumerate(sizes[1:-1]):
        name = "hidden" if n_hidden == 1 else f"hidden {j + 1}"
        labels.append(f"{name} ({width})")
    labels.append(f"output ({sizes[-1]})")
    return labels


def unit_positions(width: int, max_units: int) -> tuple[np.ndarray, float | None]:
    """The heights of the units drawn for a layer of ``width`` units, and of its ellipsis.

    A layer that fits shows every unit; a wider one shows ``max_units - 1`` units, an
    ellipsis in the next slot and the last unit, ``max_units`` circles in all. Columns are
    centred on height 0, one slot apart.
    """
    if width <= max_units:
        slots = np.arange(width, dtype=np.float64)
        ellipsis = None
    else:
        slots = np.append(np.arange(max_units - 1, dtype=np.float64), max_units)
        ellipsis = float(max_units - 1)
    centre = slots[-1] / 2.0
    heights = centre - slots  # top to bottom
    return heights, (None if ellipsis is None else centre - ellipsis)


def plot_network(
    sizes, ax: Axes | None = None, max_units: int = 12, *, title: str | None = None
) -> Figure:
    """Draw the layers ``sizes = [D, H1, ..., K]`` (or an ``MLP``'s) as circles and lines.

    ``sum(min(width, max_units))`` unit circles and, between consecutive layers, one line
    per pair of drawn units.
    """
    if hasattr(sizes, "sizes") and not isinstance(sizes, Sequence):
        sizes = sizes.sizes  # an MLP
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise fail("sizes", "a list of at least two layer widths [D, ..., K]", sizes)
    sizes = [check_int(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
    max_units = check_int("max_units", max_units, minimum=2)
    columns = [unit_positions(width, max_units) for width in sizes]
    tallest = max(len(h) + (ellipsis is not None) for h, ellipsis in columns)
    if ax is None:
        fig, ax = new_figure(figsize=(1.2 + 1.7 * len(sizes), 1.4 + 0.36 * tallest))
    else:
        fig = figure_of(ax)

    last = len(sizes) - 1
    fills = [
        lighten(class_color(2), 0.7) if k == 0 else lighten(class_color(1 if k == last else 0), 0.7)
        for k in range(len(sizes))
    ]
    # --- connections: every drawn unit to every drawn unit of the next layer ---
    for k in range(last):
        (h0, _), (h1, _) = columns[k], columns[k + 1]
        x0, x1 = k * LAYER_GAP, (k + 1) * LAYER_GAP
        segments = [((x0, a), (x1, b)) for a in h0 for b in h1]
        alpha = float(np.clip(30.0 / len(segments), 0.12, 0.7))
        ax.add_collection(
            LineCollection(segments, colors="0.35", linewidths=0.7, alpha=alpha, zorder=1)
        )
    # --- units, ellipses and labels ---
    bottom = min(h.min() for h, _ in columns)
    for k, ((heights, ellipsis), label) in enumerate(
        zip(columns, layer_labels(sizes), strict=True)
    ):
        x = k * LAYER_GAP
        for height in heights:
            ax.add_patch(
                Circle(
                    (x, height),
                    RADIUS,
                    facecolor=fills[k],
                    edgecolor="0.2",
                    linewidth=1.0,
                    zorder=3,
                )
            )
        if ellipsis is not None:
            dots = ellipsis + np.array([-0.25, 0.0, 0.25])
            ax.plot(
                np.full(3, x),
                dots,
                linestyle="none",
                marker="o",
                markersize=2.2,
                color="0.2",
                zorder=3,
                gid="ellipsis",
            )
        ax.text(x, bottom - 0.7, label, ha="center", va="top", fontsize=10)
    ax.set_xlim(-1.2, last * LAYER_GAP + 1.2)
    ax.set_ylim(bottom - 1.5, -bottom + 0.8)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title if title is not None else "network " + "-".join(map(str, sizes)))
    return fig
