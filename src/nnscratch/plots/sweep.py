"""A metric against a swept hyperparameter, with its confidence band (SEED.md step 11)."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from nnscratch.core.checks import check_choice, fail
from nnscratch.plots._common import class_color, figure_of, new_figure, style_axes


def _vector(name: str, value, n: int | None, missing: bool = False) -> np.ndarray:
    """A 1-D float array (of length ``n``) of finite numbers, or NaN where ``missing``."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise fail(name, "a 1-D array of numbers", value) from None
    what = "finite numbers (NaN where undefined)" if missing else "finite numbers"
    expected = f"a 1-D array of {what}" + (f" of length {n}" if n is not None else "")
    if arr.ndim != 1 or arr.size < 1 or (n is not None and arr.size != n):
        raise fail(name, expected, arr)
    if not np.all(np.isfinite(arr) | (missing & np.isnan(arr))):
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
    missing_label: str = "every trial diverged",
    xscale: str = "linear",
    bounds: tuple[float, float] | None = None,
) -> Figure:
    """Mean metric per swept value (a line with markers) and its confidence band.

    ``values``, ``mean``, ``ci_low`` and ``ci_high`` are 1-D and of one length; the band is
    drawn when both bounds are given, where both are defined. A NaN ``mean`` is a value with
    no result (every trial diverged, say): it is drawn as a cross on the bottom edge, named
    ``missing_label`` in the legend, and the line joins the values that have one. NaN bounds
    (fewer than two trials) leave a gap in the band. ``reference`` is an optional ``(x, y)``
    pair of reported values, drawn as separate markers so the two can be compared by eye.
    ``xscale`` is ``"linear"`` or ``"log"`` (for learning rates, say). ``bounds``, the
    metric's range (``(0, 1)`` for an accuracy), keeps the y-axis inside it: the axis is
    fitted to what is drawn, then cut where it would pass a bound.
    """
    x, m, band, ref = _checked(values, mean, ci_low, ci_high, reference, xscale)
    if bounds is not None:
        b = _vector("bounds", bounds, 2)
        if not b[0] < b[1]:
            raise fail("bounds", "a pair (low, high) with low < high", bounds)
    fig, ax = new_figure(figsize=(6.5, 4.2)) if ax is None else (figure_of(ax), ax)
    order = np.argsort(x, kind="stable")  # draw left to right whatever the sweep order
    x, m = x[order], m[order]
    if band is not None:
        _draw_band(ax, x, *(a[order] for a in band), label=band_label)
    _draw_means(ax, x, m, f"mean {ylabel}", missing_label)
    if ref is not None:
        ax.plot(
            *ref,
            linestyle="none",
            marker="D",
            markersize=7,
            color=class_color(3),
            markeredgecolor="white",
            label=reference_label,
            zorder=4,
        )
    style_axes(ax)
    if bounds is not None:
        low, high = ax.get_ylim()
        ax.set_ylim(max(low, b[0]), min(high, b[1]))
    ax.set_xscale(xscale)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title if title is not None else f"{ylabel} against {xlabel}")
    ax.legend(loc="lower right", frameon=False)
    return fig


def _checked(values, mean, ci_low, ci_high, reference, xscale: str):
    """:func:`plot_sweep`'s arrays, checked: ``x``, ``mean``, the band ``(low, high,
    defined)`` or None, the reference ``(x, y)`` or None."""
    x = _vector("values", values, None)
    m = _vector("mean", mean, x.size, missing=True)
    if (ci_low is None) != (ci_high is None):
        raise fail("ci_low, ci_high", "both bounds or neither", (ci_low, ci_high))
    check_choice("xscale", xscale, {"linear", "log"})
    if xscale == "log" and np.any(x <= 0):
        raise fail("values", "values > 0 on a log scale", x)
    band = None
    if ci_low is not None:
        low = _vector("ci_low", ci_low, x.size, missing=True)
        high = _vector("ci_high", ci_high, x.size, missing=True)
        defined = np.isfinite(low) & np.isfinite(high)
        if np.any(low[defined] > high[defined]):
            raise fail("ci_low", "values no larger than ci_high", low)
        band = (low, high, defined) if defined.any() else None
    ref = None
    if reference is not None:
        if not isinstance(reference, (tuple, list)) or len(reference) != 2:
            raise fail("reference", "a pair (x, y) of reported values", reference)
        rx = _vector("reference", reference[0], None)
        ref = (rx, _vector("reference", reference[1], rx.size))
    return x, m, band, ref


def _draw_means(ax: Axes, x, m, label: str, missing_label: str) -> None:
    """The line through the defined means; a cross on the bottom edge where one is NaN."""
    found = np.isfinite(m)
    if found.any():
        ax.plot(
            x[found],
            m[found],
            color=class_color(0),
            marker="o",
            markersize=4,
            linewidth=2,
            label=label,
        )
    if not found.all():
        edge = np.zeros(np.count_nonzero(~found))
        # the crosses sit in axes units vertically: widen the x range by hand to hold them
        ax.update_datalim(np.column_stack([x[~found], edge]), updatey=False)
        ax.scatter(
            x[~found],
            edge,
            marker="x",
            s=40,
            color=class_color(3),
            transform=ax.get_xaxis_transform(),  # x in data, y in axes units (0: the edge)
            clip_on=False,
            zorder=5,
            label=missing_label,
        )


def _draw_band(ax: Axes, x, low, high, defined, label: str) -> None:
    """The band between ``low`` and ``high`` ``(C,)``, with gaps where they are undefined."""
    ax.fill_between(
        x,
        np.where(defined, low, 0.0),
        np.where(defined, high, 0.0),
        where=defined,
        color=class_color(0),
        alpha=0.2,
        linewidth=0,
        label=label,
    )


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
    xscale: str = "linear",
) -> Figure:
    """:func:`plot_sweep` from summary rows (``nnscratch.experiments.summarize``).

    Each row holds ``config`` (the swept ``field`` in it), ``mean``, ``ci_low``, ``ci_high``,
    ``confidence`` and ``metric``. Rows with no surviving trial (a NaN mean) are drawn as
    missing (see :func:`plot_sweep`), labelled as a sweep whose trials all diverged, or all
    did not finish (``interrupted``); the band where rows have an interval (two or more
    trials), named with the row's ``ci_method``. An accuracy's y-axis stays in ``[0, 1]``.
    """
    if isinstance(summary, (str, bytes, dict)) or not hasattr(summary, "__iter__"):
        raise fail("summary", "a list of summary rows (dicts)", summary)
    rows = list(summary)
    if not all(isinstance(row, dict) and "config" in row for row in rows):
        raise fail("summary", "summary rows (dicts with config, mean, ci_low, ci_high)", summary)
    if not rows:
        raise fail("summary", "at least one summary row", summary)
    values = [_field_value(row["config"], field) for row in rows]
    mean = [row.get("mean", np.nan) for row in rows]
    low = [row.get("ci_low", np.nan) for row in rows]
    high = [row.get("ci_high", np.nan) for row in rows]
    interrupted = any(row.get("interrupted") and not row.get("n") for row in rows)
    level = rows[0].get("confidence")
    method = rows[0].get("ci_method")
    metric = str(rows[0].get("metric", "metric")).replace("_", " ")
    if xlabel is None:
        xlabel = "number of neurons" if field == "hidden" else field.replace("_", " ")
    return plot_sweep(
        values,
        mean,
        low,
        high,
        xlabel=xlabel,
        ylabel=ylabel if ylabel is not None else metric,
        ax=ax,
        reference=reference,
        title=title,
        band_label=(f"{round(100 * level)}% CI of the mean" if level else "confidence interval")
        + (f" ({method})" if method else ""),
        missing_label="no trial left (diverged or interrupted)"
        if interrupted
        else "every trial diverged",
        xscale=xscale,
        bounds=(0.0, 1.0) if metric.endswith("accuracy") else None,
    )
