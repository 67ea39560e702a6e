"""Decision boundaries: what a trained network predicts over the whole plane around the data."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nnscratch.core.checks import check_choice, check_int, check_memory, check_range, fail
from nnscratch.plots._common import (
    check_points,
    check_xy,
    class_cmap,
    figure_of,
    new_figure,
    probability_cmap,
    scatter_classes,
    style_axes,
)

MODES = ("grid", "mean")
MAX_PANELS = 16
#: Rough cap on the floats one hidden layer holds while the grid is evaluated, (P, chunk, H).
_CHUNK_FLOATS = 4_000_000


def check_network(net, name: str = "net"):
    if not callable(getattr(net, "predict_proba", None)):
        raise fail(name, "a trained network with predict_proba (an nnscratch MLP)", net)
    return net


def _members(net, members, mode: str) -> np.ndarray:
    """Indices of the members to draw: ``members``, else all (mean) or the first 16 (grid)."""
    P = getattr(net, "n_members", 1)
    limit = MAX_PANELS if mode == "grid" else P
    if members is None:
        return np.arange(min(P, limit))
    idx = np.asarray(members).reshape(-1)
    if idx.size == 0 or idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= P:
        raise fail("members", f"member indices 0..{P - 1}", members)
    if idx.size > limit:
        raise fail("members", f"at most {MAX_PANELS} members for mode='grid'", members)
    return idx


def _proba(net, points: np.ndarray) -> np.ndarray:
    """``net.predict_proba`` as ``(P, N, K)`` for any network, evaluated in row chunks.

    Chunking bounds memory: a population of 100 members with 64 hidden units over a
    200 x 200 grid would otherwise hold 100 * 40000 * 64 floats at once.
    """
    P = getattr(net, "n_members", 1)
    widest = max(getattr(net, "sizes", [64]))
    chunk = max(256, _CHUNK_FLOATS // (P * widest))
    parts = []
    for start in range(0, points.shape[0], chunk):
        p = np.asarray(net.predict_proba(points[start : start + chunk]), dtype=np.float64)
        parts.append(p if p.ndim == 3 else p[None])  # (N,K) -> (1,N,K)
    return np.concatenate(parts, axis=1)  # (P,N,K)


def probability_grid(net, X, resolution: int = 200, pad: float = 0.1):
    """Class probabilities on a ``resolution x resolution`` grid around ``X``.

    The grid spans the range of each feature of ``X``, widened by ``pad`` times that range
    on both sides. Returns ``(xx, yy, proba)`` with ``xx, yy`` of shape ``(R, R)`` and
    ``proba`` of shape ``(P, R, R, K)`` (``P == 1`` for a single network).
    """
    check_network(net)
    resolution = check_int("resolution", resolution, minimum=2)
    # the grid, its points and every member's probabilities on them, in float64
    need = 8.0 * resolution**2 * (4 + net.n_members * net.n_outputs)
    check_memory("resolution", need, f"{resolution} x {resolution} points")
    pad = check_range("pad", pad, low=0.0)
    X = check_points(X)
    low, high = X.min(axis=0), X.max(axis=0)  # (2,)
    span = np.where(high > low, high - low, 1.0)  # a single point still gets a plane
    low, high = low - pad * span, high + pad * span
    xx, yy = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )  # (R,R) each
    points = np.column_stack([xx.ravel(), yy.ravel()])  # (R*R,2)
    proba = _proba(net, points)  # (P,R*R,K)
    return xx, yy, proba.reshape(proba.shape[0], resolution, resolution, -1)


def draw_boundary(ax: Axes, xx, yy, proba: np.ndarray, X, y, title: str | None = None):
    """Fill one Axes with one member's map ``proba (R, R, K)`` and the data on top.

    Two classes: P(class 1) from class 0's colour through white (0.5) to class 1's, with
    the 0.5 line drawn. More classes: the argmax class in a light tint of its colour.
    Returns the filled contour set (for a colour bar).
    """
    K = proba.shape[-1]
    if K == 2:
        filled = ax.contourf(
            xx,
            yy,
            proba[..., 1],
            levels=np.linspace(0.0, 1.0, 21),
            cmap=probability_cmap(),
            zorder=1,
        )
        if proba[..., 1].min() < 0.5 < proba[..., 1].max():
            ax.contour(xx, yy, proba[..., 1], levels=[0.5], colors="0.15", linewidths=1.2)
    else:
        filled = ax.contourf(
            xx,
            yy,
            proba.argmax(axis=-1),
            levels=np.arange(K + 1) - 0.5,
            cmap=class_cmap(K),
            zorder=1,
        )
    size = float(np.clip(600.0 / max(len(X), 1), 2.0, 20.0))
    scatter_classes(ax, X, y, size=size, edgecolor="0.25" if size > 5 else "none")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    style_axes(ax, grid=False)
    if title is not None:
        ax.set_title(title)
    return filled


def _accuracy(proba_X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (proba_X.argmax(axis=-1) == y).mean(axis=-1)  # (P,N,K) -> (P,)


def plot_decision_boundary(
    net,
    X,
    y,
    ax: Axes | None = None,
    resolution: int = 200,
    members=None,
    mode: str = "grid",
    *,
    colorbar: bool = True,
    title: str | None = None,
) -> Figure:
    """The network's prediction over a padded grid around ``X``, with the data on top.

    Two classes show ``P(class 1)`` as a filled contour (and the 0.5 boundary); more
    classes show the predicted class. For a population, ``mode="grid"`` draws one panel per
    member (``members``, or the first 16) and ``mode="mean"`` one panel of the mean
    probability of ``members`` (all of them by default). Titles give the accuracy on ``(X, y)``.
    """
    check_network(net)
    X, y = check_xy(X, y)
    mode = check_choice("mode", mode, MODES)
    resolution = check_int("resolution", resolution, minimum=2)
    idx = _members(net, members, mode)
    single = mode == "mean" or idx.size == 1  # one panel, else one per member
    if ax is not None and not single:
        raise fail("ax", "None when mode='grid' draws several members (or use mode='mean')", ax)
    P = getattr(net, "n_members", 1)
    if P > 1 and not np.array_equal(idx, np.arange(P)):
        net = net.select(idx)  # evaluate only the members drawn
    xx, yy, proba = probability_grid(net, X, resolution)  # (P',R,R,K)
    proba_X = _proba(net, X)  # (P',N,K)
    K = proba.shape[-1]
    label = "P(class 1)" if K == 2 else None

    if single:
        if ax is None:
            fig, ax = new_figure(figsize=(6.2 if K == 2 and colorbar else 5.2, 4.6))
        else:
            fig = figure_of(ax)
        acc = float(_accuracy(proba_X.mean(axis=0, keepdims=True), y)[0])
        if title is None:
            who = f"mean of {idx.size} members" if idx.size > 1 else "decision boundary"
            if P > 1 and idx.size == 1:
                who = f"member {int(idx[0])}"
            title = f"{who} (accuracy {acc:.3f})"
        filled = draw_boundary(ax, xx, yy, proba.mean(axis=0), X, y, title)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.legend(loc="upper right", frameon=True, framealpha=0.9, markerscale=2.0)
        if colorbar and label:
            fig.colorbar(filled, ax=ax, label=label, ticks=np.linspace(0, 1, 6))
        return fig
    accuracy = _accuracy(proba_X, y)  # (P',)
    return _member_panels(idx, xx, yy, proba, accuracy, X, y, title, colorbar, label)


def _member_panels(idx, xx, yy, proba, accuracy, X, y, title, colorbar: bool, label) -> Figure:
    """``mode="grid"``: one panel per member drawn, ``proba (P', R, R, K)``, in a near-square
    grid sharing its axes, and one colour bar for all (two classes only: ``label`` is None
    for more)."""
    n = idx.size
    ncols = math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    fig, grid = new_figure(
        figsize=(2.7 * ncols + (0.9 if colorbar else 0.0), 2.5 * nrows + 0.4),
        nrows=nrows,
        ncols=ncols,
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    panels = list(grid.ravel())
    filled = None
    for j, panel in enumerate(panels):
        if j >= n:
            panel.remove()
            # the panel above an empty slot is now the bottom of its column: show its ticks
            panels[j - ncols].xaxis.set_tick_params(labelbottom=True)
            continue
        filled = draw_boundary(
            panel, xx, yy, proba[j], X, y, f"member {int(idx[j])}: {accuracy[j]:.3f}"
        )
        panel.title.set_fontsize(9)
        panel.tick_params(labelsize=7)
    fig.suptitle(title if title is not None else f"decision boundaries of {n} members")
    if colorbar and label:
        fig.colorbar(filled, ax=panels[:n], label=label, shrink=0.8, ticks=np.linspace(0, 1, 6))
    return fig
