"""Training curves: loss and accuracy per epoch, for one network or a population."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nnscratch.core.checks import check_choice, fail
from nnscratch.plots._common import class_color, figure_of, new_figure, style_axes

BANDS = ("minmax", "std")


def _series(history, key: str) -> np.ndarray | None:
    """``history[key]`` as ``(epochs, P)``, or None when the key is absent."""
    if key not in history:
        return None
    values = np.asarray(history[key], dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]  # (epochs,) -> (epochs,1)
    if values.ndim != 2 or values.shape[0] < 1:
        raise fail("history", f"per-epoch values of shape (epochs, P) under {key!r}", values)
    return values


def _axes_list(ax, axes, n: int) -> list[Axes] | None:
    given = axes if axes is not None else ax
    if ax is not None and axes is not None:
        raise fail("axes", "either ax or axes, not both", (ax, axes))
    if given is None:
        return None
    if isinstance(given, Axes):
        given = [given]
    if isinstance(given, np.ndarray):
        given = list(given.ravel())
    if (
        not isinstance(given, Sequence)
        or len(given) != n
        or not all(isinstance(a, Axes) for a in given)
    ):
        raise fail("axes", f"{n} matplotlib Axes (one per metric)", given)
    return list(given)


def _draw(ax: Axes, epochs: np.ndarray, values: np.ndarray, label: str, color, dashed, band):
    """One split (train or validation): a line per epoch, a band over the members if P > 1."""
    style = "--" if dashed else "-"
    P = values.shape[1]
    if P == 1:
        ax.plot(epochs, values[:, 0], color=color, linestyle=style, linewidth=2, label=label)
        return
    mean = values.mean(axis=1)  # (epochs,)
    if band == "minmax":
        low, high = values.min(axis=1), values.max(axis=1)
        band_label = f"{label} min–max"
    else:
        spread = values.std(axis=1)
        low, high = mean - spread, mean + spread
        band_label = f"{label} ±1 std"
    ax.fill_between(epochs, low, high, color=color, alpha=0.2, linewidth=0, label=band_label)
    ax.plot(epochs, mean, color=color, linestyle=style, linewidth=2, label=f"{label} mean of {P}")


def plot_history(
    history,
    axes=None,
    *,
    ax=None,
    metrics: Sequence[str] = ("loss", "accuracy"),
    band: str = "minmax",
    validation_label: str = "validation",
) -> Figure:
    """Loss and accuracy per epoch, one panel per metric, from a ``History``.

    ``history[key]`` is ``(epochs, P)`` (a plain dict of such arrays, or of ``(epochs,)``
    arrays, works too). Training values are solid lines, validation values (``val_*``, when
    present) dashed. For ``P == 1`` each is one line; for a population, the members' mean
    with a band: ``band="minmax"`` (the lowest to the highest member) or ``"std"`` (mean
    ± one standard deviation across members); the legend says which.

    ``axes`` (or ``ax``) draws into existing Axes, one per metric. ``validation_label``
    names the validation data in the legend (``"test set"`` when that is what it is).
    """
    band = check_choice("band", band, BANDS)
    if not isinstance(validation_label, str) or not validation_label:
        raise fail("validation_label", "a non-empty string", validation_label)
    if isinstance(metrics, str) or not isinstance(metrics, Sequence) or not metrics:
        raise fail("metrics", "a non-empty list of history keys", metrics)
    if not hasattr(history, "__getitem__") or not hasattr(history, "__contains__"):
        raise fail("history", "a History or a dict of per-epoch arrays", history)
    for key in metrics:
        if key not in history:
            raise fail("metrics", "keys present in the history", key)
    given = _axes_list(ax, axes, len(metrics))
    if given is None:
        fig, panels = new_figure(figsize=(5.0 * len(metrics), 4.0), ncols=len(metrics))
        panels = list(np.atleast_1d(panels))
    else:
        fig, panels = figure_of(given[0], "axes"), given
    for panel, key in zip(panels, metrics, strict=True):
        train = _series(history, key)
        epochs = np.arange(1, train.shape[0] + 1)
        _draw(panel, epochs, train, "train", class_color(0), False, band)
        val = _series(history, f"val_{key}")
        if val is not None:
            _draw(panel, epochs, val, validation_label, class_color(1), True, band)
        style_axes(panel)
        panel.set_xlabel("epoch")
        panel.set_ylabel(key)
        panel.set_title(f"{key} per epoch")
        if key.endswith("accuracy"):
            panel.legend(loc="lower right", frameon=False)
        else:
            panel.legend(loc="upper right", frameon=False)
        if epochs.size <= 20:
            panel.set_xticks(epochs if epochs.size <= 10 else epochs[::2])
    return fig
