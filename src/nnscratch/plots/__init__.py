"""Figures for nnscratch: data, activations, training curves, sweeps, decision boundaries,
the network drawing and an animation of training.

Import it explicitly (``import nnscratch.plots``); ``import nnscratch`` alone does not load
matplotlib. Every function returns a ``matplotlib.figure.Figure`` built without ``pyplot``
(no global state, nothing shown) and accepts ``ax=`` to draw into existing Axes; save with
:func:`save_figure`, which writes atomically. Class ``k`` has the same colour in every plot.
"""

from nnscratch.plots._common import CLASS_COLORS, class_color, save_figure
from nnscratch.plots.activation import plot_activation
from nnscratch.plots.animation import animate_decision_boundary, record_snapshots
from nnscratch.plots.boundary import plot_decision_boundary, probability_grid
from nnscratch.plots.data import plot_dataset
from nnscratch.plots.history import plot_history
from nnscratch.plots.network import plot_network
from nnscratch.plots.sweep import plot_summary, plot_sweep

__all__ = [
    "CLASS_COLORS",
    "animate_decision_boundary",
    "class_color",
    "plot_activation",
    "plot_dataset",
    "plot_decision_boundary",
    "plot_history",
    "plot_network",
    "plot_summary",
    "plot_sweep",
    "probability_grid",
    "record_snapshots",
    "save_figure",
]
