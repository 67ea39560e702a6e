"""An activation function and its derivative on a line (the tutorial's ReLU plot, eq. (3)/(4))."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nnscratch.core.activations import Activation, get_activation
from nnscratch.core.checks import fail
from nnscratch.plots._common import class_color, figure_of, new_figure, style_axes


def plot_activation(
    name_or_activation: str | Activation = "relu",
    x=None,
    ax: Axes | None = None,
    derivative: bool = False,
) -> Figure:
    """Draw ``h = f(x)`` on ``x`` (default ``np.linspace(-10, 10, 100)``, as the tutorial).

    With ``derivative=True`` a dashed second line shows ``f'(x)``, from the activation's own
    ``grad(a, h)`` (the derivative the backward pass uses, e.g. the ReLU gate of eq. (17)).
    """
    act = get_activation(name_or_activation, name="name_or_activation")
    if x is None:
        x = np.linspace(-10.0, 10.0, 100)
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise fail("x", "a 1-D array of finite numbers", x) from None
    if x.ndim != 1 or x.size < 2 or not np.all(np.isfinite(x)):
        raise fail("x", "a 1-D array of at least 2 finite numbers", x)
    if ax is None:
        fig, ax = new_figure(figsize=(5.5, 4.0))
    else:
        fig = figure_of(ax)
    h = act.f(x)  # (n,)
    ax.axhline(0.0, color="0.6", linewidth=0.8, zorder=1)
    ax.axvline(0.0, color="0.6", linewidth=0.8, zorder=1)
    ax.plot(x, h, color=class_color(0), linewidth=2.2, label=f"{act.name}(x)", zorder=3)
    if derivative:
        dh = act.grad(x, h)  # (n,)
        ax.plot(
            x,
            dh,
            color=class_color(1),
            linewidth=1.8,
            linestyle="--",
            label=f"{act.name}'(x)",
            zorder=3,
        )
    style_axes(ax)
    ax.set_xlabel("x")
    ax.set_ylabel("activation")
    ax.set_title(f"{act.name} activation" + (" and its derivative" if derivative else ""))
    ax.legend(loc="upper left", frameon=False)
    return fig
