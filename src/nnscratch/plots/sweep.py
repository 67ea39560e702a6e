"""A metric against a swept hyperparameter, with its confidence band (SEED.md step 11)."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nnscratch.core.checks import fail
from nnscratch.plots._common import class_color, figure_of, new_figure, style_axes


def _vector(name: str, value, n: int | None) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise fail(name, "a 1-D array of numbers", value) from None
    expected = "a 1-D array of finite numbers" + (f" of length {n}" if n is not None else "")
    if arr.ndim != 1 or arr.size < 1 or (n is not None and arr.size != n):
        raise fail(name, expected, arr)
    if not np.all(np.isfinite(arr)):
        raise fail(name, expected, arr)
    return arr


def plot_sweep(
    values,
    mean,
    ci_low=None,
    ci_high=None,
    xlabel: str = "number of neurons",
    ylabel: str = "accuracy",
    ax: Axes | None = None,
    reference=None,
    *,
    title: str | None = None,
    band_label: str = "confidence interval",
    reference_label: str = "reported",
) -> Figure:
    """Mean metric per swept value (a line with markers) and its confidence band.

    ``values``, ``mean``, ``ci_low`` and ``ci_high`` are 1-D and of one length; the band is
    drawn when both bounds are given. ``reference`` is an optional ``(x, y)`` pair of
    reported values, drawn as separate markers so the two can be compared by eye.
    """
    x = _vector("values", values, None)
    m = _vector("mean", mean, x.size)
    if (ci_low is None) != (ci_high is None):
        raise fail("ci_low, ci_high", "both bounds or neither", (ci_low, ci_high))
    if ax is None:
        fig, ax = new_figure(figsize=(6.5, 4.2))
    else:
        fig = figure_of(ax)
    order = np.argsort(x, kind="stable")  # draw left to right whatever the sweep order
    color = class_color(0)
    if ci_low is not None:
        low = _vector("ci_low", ci_low, x.size)
        high = _vector("ci_high", ci_high, x.size)
        if np.any(low > high):
            raise fail("ci_low", "values no larger than ci_high", low)
        ax.fill_between(
            x[order],
            low[order],
            high[order],
            color=color,
            alpha=0.2,
            linewidth=0,
            label=band_label,
        )
    ax.plot(
        x[order],
        m[order],
        color=color,
        marker="o",
        markersize=4,
        linewidth=2,
        label=f"mean {ylabel}",
    )
    if reference is not None:
        if not isinstance(reference, (tuple, list)) or len(reference) != 2:
            raise fail("reference", "a pair (x, y) of reported values", reference)
        rx = _vector("reference", reference[0], None)
        ry = _vector("reference", reference[1], rx.size)
        ax.plot(
            rx,
            ry,
            linestyle="none",
            marker="D",
            markersize=7,
            color=class_color(3),
            markeredgecolor="white",
            label=reference_label,
            zorder=4,
        )
    style_axes(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title if title is not None else f"{ylabel} against {xlabel}")
    ax.legend(loc="lower right", frameon=False)
    return fig


def _field_value(config, field: str) -> float:
    """A row's swept value: a number, or the width of a single hidden layer."""
    values = config.to_dict() if hasattr(config, "to_dict") else config
    if not isinstance(values, dict) or field not in values:
        raise fail("field", "a field of every row's config", field)
    value = values[field]
    if isinstance(value, (list, tuple)):
        if len(value) != 1:
            raise fail("field", "a field holding one number per row", value)
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise fail("field", "a numeric field", value)
    return float(value)


def plot_summary(
    summary,
    field: str = "hidden",
    ax: Axes | None = None,
    reference=None,
    *,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
) -> Figure:
    """:func:`plot_sweep` from summary rows (``nnscratch.experiments.summarize``).

    Each row holds ``config`` (the swept ``field`` in it), ``mean``, ``ci_low``, ``ci_high``,
    ``confidence`` and ``metric``. Rows with no surviving trial (a NaN mean) are left out;
    the band is drawn when every row has an interval (two or more trials).
    """
    if isinstance(summary, (str, bytes, dict)) or not hasattr(summary, "__iter__"):
        raise fail("summary", "a list of summary rows (dicts)", summary)
    rows = list(summary)
    if not all(isinstance(row, dict) and "config" in row for row in rows):
        raise fail("summary", "summary rows (dicts with config, mean, ci_low, ci_high)", summary)
    rows = [row for row in rows if np.isfinite(row.get("mean", np.nan))]
    if not rows:
        raise fail("summary", "at least one row with a finite mean", summary)
    values = [_field_value(row["config"], field) for row in rows]
    mean = [row["mean"] for row in rows]
    low = np.array([row.get("ci_low", np.nan) for row in rows], dtype=np.float64)
    high = np.array([row.get("ci_high", np.nan) for row in rows], dtype=np.float64)
    band = bool(np.all(np.isfinite(low)) and np.all(np.isfinite(high)))
    level = rows[0].get("confidence")
    metric = str(rows[0].get("metric", "metric")).replace("_", " ")
    if xlabel is None:
        xlabel = "number of neurons" if field == "hidden" else field.replace("_", " ")
    return plot_sweep(
        values,
        mean,
        low if band else None,
        high if band else None,
        xlabel=xlabel,
        ylabel=ylabel if ylabel is not None else metric,
        ax=ax,
        reference=reference,
        title=title,
        band_label=f"{round(100 * level)}% CI of the mean" if level else "confidence interval",
    )
