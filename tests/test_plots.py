"""Figures: each returns a Figure holding exactly the data it was given, saved atomically."""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # headless, whatever the environment says

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.patches import Circle
from PIL import Image

import nnscratch as nns
import nnscratch.plots as nplt
from nnscratch.core.callback import History

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def moons():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, np.pi, 60)
    upper = np.column_stack([np.cos(t[:30]), np.sin(t[:30])])
    lower = np.column_stack([1 - np.cos(t[30:]), 0.5 - np.sin(t[30:])])
    X = np.vstack([upper, lower]) + rng.normal(0, 0.05, (60, 2))
    y = np.repeat([0, 1], 30)
    return X, y


@pytest.fixture(scope="module")
def trained(moons):
    X, y = moons
    net = nns.MLP([2, 8, 2], seed=0)
    net.fit(X, y, epochs=5, batch_size=10)
    return net


@pytest.fixture(scope="module")
def population(moons):
    X, y = moons
    net = nns.MLP([2, 8, 2], seed=1, population=5)
    net.fit(X, y, epochs=5, batch_size=10)
    return net


def only_figure_axes(fig):
    """Axes that are not colour bars."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def contours(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


# --- lazy import and global state ------------------------------------------------------


def test_import_nnscratch_does_not_import_matplotlib():
    code = "import nnscratch, sys; assert 'matplotlib' not in sys.modules, 'matplotlib loaded'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_plots_never_import_pyplot():
    code = (
        "import sys, numpy as np, nnscratch.plots as p\n"
        "p.plot_network([2, 3, 2]); p.plot_activation('tanh')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot loaded'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- data -------------------------------------------------------------------------------


def test_dataset_scatters_each_class_rows(moons):
    X, y = moons
    fig = nplt.plot_dataset(X, y, title="moons")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert len(ax.collections) == 2
    for k, scatter in enumerate(ax.collections):
        np.testing.assert_array_equal(scatter.get_offsets(), X[y == k])
        assert scatter.get_label() == f"class {k}"
        np.testing.assert_allclose(scatter.get_facecolor()[0], to_rgba(nplt.class_color(k)))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    assert ax.get_title() == "moons"


def test_dataset_draws_into_given_axes(moons):
    X, y = moons
    fig = Figure()
    ax = fig.add_subplot()
    assert nplt.plot_dataset(X, y, ax=ax) is fig
    assert fig.axes == [ax] and len(ax.collections) == 2


@pytest.mark.parametrize(
    "X, y, name",
    [
        (np.zeros(5), np.zeros(5, int), "X"),
        (np.zeros((5, 3)), np.zeros(5, int), "X"),
        (np.zeros((5, 2)), np.zeros(4, int), "y"),
        (np.zeros((5, 2)), np.full(5, 0.5), "y"),
    ],
)
def test_dataset_rejects_bad_input(X, y, name):
    with pytest.raises(ValueError, match=rf"^{name}:"):
        nplt.plot_dataset(X, y)


# --- activation -------------------------------------------------------------------------


def test_activation_relu_curve_and_derivative():
    fig = nplt.plot_activation("relu", derivative=True)
    (ax,) = fig.axes
    curve, slope = [line for line in ax.get_lines() if line.get_label().startswith("relu")]
    x = np.linspace(-10, 10, 100)
    np.testing.assert_array_equal(curve.get_xdata(), x)
    np.testing.assert_array_equal(curve.get_ydata(), np.maximum(0.0, x))
    np.testing.assert_array_equal(slope.get_ydata(), (x > 0).astype(float))


def test_activation_custom_x_and_object():
    x = np.array([-1.0, 0.0, 2.0])
    fig = nplt.plot_activation(nns.get_activation("tanh"), x=x, derivative=True)
    curve, slope = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("tanh")]
    np.testing.assert_allclose(curve.get_ydata(), np.tanh(x))
    np.testing.assert_allclose(slope.get_ydata(), 1 - np.tanh(x) ** 2)


def test_activation_rejects_bad_input():
    with pytest.raises(ValueError, match="^name_or_activation:"):
        nplt.plot_activation("swish-ish")
    with pytest.raises(ValueError, match="^x:"):
        nplt.plot_activation("relu", x=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="^x:"):
        nplt.plot_activation("relu", x=[0.0, np.nan])


# --- history ----------------------------------------------------------------------------


def make_history(P: int, validation: bool) -> History:
    history = History()
    for epoch in range(4):
        base = np.array([0.0, 1.0, 5.0, 2.0][:P])  # (P,) skewed, so mean != median
        logs = {"loss": 1.0 / (epoch + 1) + base, "accuracy": 0.5 + 0.1 * epoch + 0.01 * base}
        if validation:
            logs["val_loss"] = logs["loss"] + 0.2
            logs["val_accuracy"] = logs["accuracy"] - 0.05
        history.append(logs)
    return history


def test_history_single_network_lines():
    history = make_history(1, validation=True)
    fig = nplt.plot_history(history)
    assert len(fig.axes) == 2
    for ax, key in zip(fig.axes, ["loss", "accuracy"], strict=True):
        train, val = ax.get_lines()
        np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3, 4])
        np.testing.assert_array_equal(train.get_ydata(), history[key][:, 0])
        np.testing.assert_array_equal(val.get_ydata(), history[f"val_{key}"][:, 0])
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == key


@pytest.mark.parametrize("band", ["minmax", "std"])
def test_history_population_mean_and_band(band):
    history = make_history(3, validation=False)
    fig = nplt.plot_history(history, band=band)
    for ax, key in zip(fig.axes, ["loss", "accuracy"], strict=True):
        (mean_line,) = ax.get_lines()
        values = history[key]  # (4,3)
        np.testing.assert_allclose(mean_line.get_ydata(), values.mean(axis=1))
        (fill,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
        vertices = fill.get_paths()[0].vertices
        if band == "minmax":
            low, high = values.min(axis=1), values.max(axis=1)
            assert "min–max" in fill.get_label()
        else:
            low, high = values.mean(1) - values.std(1), values.mean(1) + values.std(1)
            assert "std" in fill.get_label()
        np.testing.assert_allclose(vertices[:, 1].min(), low.min())
        np.testing.assert_allclose(vertices[:, 1].max(), high.max())
        assert "mean of 3" in mean_line.get_label()


def test_history_from_real_training_and_given_axes(moons, population):
    X, y = moons
    net = nns.MLP([2, 4, 2], seed=2, population=2)
    history = net.fit(X, y, epochs=3, batch_size=20, validation_split=0.25)
    fig = Figure()
    axes = fig.subplots(1, 2)
    assert nplt.plot_history(history, axes=axes) is fig
    assert len(fig.axes) == 2 and len(axes[0].get_lines()) == 2  # train and validation means
    np.testing.assert_allclose(axes[0].get_lines()[0].get_ydata(), history["loss"].mean(1))


def test_history_names_its_validation_data():
    history = make_history(1, validation=True)
    ax = nplt.plot_history(history, validation_label="test set").axes[1]
    assert ax.get_legend_handles_labels()[1] == ["train", "test set"]
    assert nplt.plot_history(history).axes[0].get_legend_handles_labels()[1][1] == "validation"
    with pytest.raises(ValueError, match="^validation_label:"):
        nplt.plot_history(history, validation_label="")


def test_history_rejects_bad_input():
    history = make_history(1, validation=False)
    with pytest.raises(ValueError, match="^band:"):
        nplt.plot_history(history, band="iqr")
    with pytest.raises(ValueError, match="^metrics:"):
        nplt.plot_history(history, metrics=["f1"])
    with pytest.raises(ValueError, match="^axes:"):
        nplt.plot_history(history, axes=[Figure().add_subplot()])


# --- sweep ------------------------------------------------------------------------------


def test_sweep_line_band_and_reference():
    values = np.array([3, 10, 20, 40])
    mean = np.array([0.85, 0.93, 0.97, 0.98])
    low, high = mean - 0.02, mean + np.array([0.01, 0.01, 0.005, 0.004])
    fig = nplt.plot_sweep(values, mean, low, high, reference=([64, 99], [0.94541, 0.9496]))
    (ax,) = fig.axes
    line, reported = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), values)
    np.testing.assert_array_equal(line.get_ydata(), mean)
    np.testing.assert_array_equal(reported.get_ydata(), [0.94541, 0.9496])
    assert reported.get_linestyle() == "None"
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    vertices = band.get_paths()[0].vertices
    assert vertices[:, 1].min() == pytest.approx(low.min())
    assert vertices[:, 1].max() == pytest.approx(high.max())
    assert ax.get_xlabel() == "number of neurons" and ax.get_ylabel() == "accuracy"


def test_sweep_sorts_values_and_draws_without_band():
    fig = nplt.plot_sweep([20, 3, 10], [0.97, 0.85, 0.93], xlabel="width", ylabel="score")
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [3, 10, 20])
    np.testing.assert_array_equal(line.get_ydata(), [0.85, 0.93, 0.97])
    assert not [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]


def test_sweep_rejects_bad_input():
    with pytest.raises(ValueError, match="^mean:"):
        nplt.plot_sweep([1, 2, 3], [0.5, 0.6])
    with pytest.raises(ValueError, match="^ci_low, ci_high:"):
        nplt.plot_sweep([1, 2], [0.5, 0.6], ci_low=[0.4, 0.5])
    with pytest.raises(ValueError, match="^ci_low:"):
        nplt.plot_sweep([1, 2], [0.5, 0.6], [0.6, 0.5], [0.5, 0.7])
    with pytest.raises(ValueError, match="^reference:"):
        nplt.plot_sweep([1, 2], [0.5, 0.6], reference=[1, 2, 3])


def summary_row(hidden, mean, half, n=3):
    """A row shaped like ``nnscratch.experiments.summarize`` output."""
    nan = float("nan")
    return {
        "config": {"hidden": [hidden], "lr": 0.1},
        "metric": "test_accuracy",
        "confidence": 0.95,
        "n": n,
        "mean": mean,
        "ci_low": mean - half if n > 1 else nan,
        "ci_high": mean + half if n > 1 else nan,
    }


def test_summary_rows_become_a_sweep():
    rows = [summary_row(8, 0.95, 0.01), summary_row(2, 0.88, 0.03), summary_row(4, 0.91, 0.02)]
    rows.append({**summary_row(16, float("nan"), 0.0), "n": 0})  # every trial diverged
    fig = nplt.plot_summary(rows)
    (ax,) = fig.axes
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [2, 4, 8])
    np.testing.assert_array_equal(line.get_ydata(), [0.88, 0.91, 0.95])
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert band.get_label() == "95% CI of the mean"
    np.testing.assert_allclose(band.get_paths()[0].vertices[:, 1].min(), 0.85)
    assert ax.get_xlabel() == "number of neurons" and ax.get_ylabel() == "test accuracy"


def test_summary_band_names_its_method_and_the_axis_stays_in_0_1():
    rows = [
        {**summary_row(2, 0.97, 0.03), "ci_method": "percentile bootstrap"},
        {**summary_row(4, 0.99, 0.01), "ci_method": "percentile bootstrap"},
    ]
    ax = nplt.plot_summary(rows).axes[0]
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert band.get_label() == "95% CI of the mean (percentile bootstrap)"
    assert ax.get_ylim()[1] == 1.0  # the band reaches 1.0; the margin above it is cut
    loss = [{**row, "metric": "test_loss", "mean": 1.5} for row in rows]
    assert nplt.plot_summary(loss).axes[0].get_ylim()[1] > 1.5  # a loss has no such bound


def test_sweep_bounds_cut_the_axis_and_are_checked():
    mean = np.array([0.5, 0.99])
    ax = nplt.plot_sweep([1, 2], mean, mean - 0.05, [0.55, 1.0], bounds=(0, 1)).axes[0]
    assert ax.get_ylim()[1] == 1.0 and ax.get_ylim()[0] < 0.45
    free = nplt.plot_sweep([1, 2], mean, mean - 0.05, [0.55, 1.0]).axes[0]
    assert free.get_ylim()[1] > 1.0  # matplotlib's own margin, without bounds
    with pytest.raises(ValueError, match="^bounds:"):
        nplt.plot_sweep([1, 2], mean, bounds=(1, 0))
    with pytest.raises(ValueError, match="^bounds:"):
        nplt.plot_sweep([1, 2], mean, bounds=(0,))


def test_summary_without_intervals_and_bad_fields():
    fig = nplt.plot_summary([summary_row(2, 0.9, 0, n=1), summary_row(4, 0.92, 0, n=1)])
    assert not [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    with pytest.raises(ValueError, match="^field:"):
        nplt.plot_summary([summary_row(2, 0.9, 0.01)], field="epochs")
    with pytest.raises(ValueError, match="^summary:"):
        nplt.plot_summary([])
    with pytest.raises(ValueError, match="^summary:"):
        nplt.plot_summary([0.9, 0.95])


# --- decision boundary ------------------------------------------------------------------


def test_probability_grid_matches_predict_proba(moons, trained):
    X, _ = moons
    xx, yy, proba = nplt.probability_grid(trained, X, resolution=7, pad=0.1)
    assert xx.shape == yy.shape == (7, 7) and proba.shape == (1, 7, 7, 2)
    span = X.max(0) - X.min(0)
    assert xx.min() == pytest.approx(X[:, 0].min() - 0.1 * span[0])
    assert yy.max() == pytest.approx(X[:, 1].max() + 0.1 * span[1])
    expected = trained.predict_proba(np.column_stack([xx.ravel(), yy.ravel()]))  # (49,2)
    np.testing.assert_allclose(proba[0].reshape(-1, 2), expected)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(-1), 1.0)


def test_probability_grid_chunks_populations_exactly(moons, population, monkeypatch):
    X, _ = moons
    whole = nplt.probability_grid(population, X, resolution=30)[2]
    monkeypatch.setattr("nnscratch.plots.boundary._CHUNK_FLOATS", 1)  # 256-row chunks
    chunked = nplt.probability_grid(population, X, resolution=30)[2]
    assert chunked.shape == (5, 30, 30, 2)
    np.testing.assert_array_equal(chunked, whole)


def test_boundary_single_network(moons, trained):
    X, y = moons
    fig = nplt.plot_decision_boundary(trained, X, y, resolution=20)
    (ax,) = only_figure_axes(fig)
    assert len(fig.axes) == 2  # the map and its colour bar
    filled = [c for c in contours(ax) if c.filled]
    assert len(filled) == 1
    np.testing.assert_allclose(filled[0].levels, np.linspace(0, 1, 21))
    scatters = [c for c in ax.collections if c.get_label().startswith("class")]
    for k, scatter in enumerate(scatters):
        np.testing.assert_array_equal(scatter.get_offsets(), X[y == k])
        # the same class colours as the data set plot
        np.testing.assert_allclose(scatter.get_facecolor()[0], to_rgba(nplt.class_color(k)))
    assert f"{trained.score(X, y):.3f}" in ax.get_title()


def test_boundary_population_grid_and_members(moons, population):
    X, y = moons
    fig = nplt.plot_decision_boundary(population, X, y, resolution=10)
    panels = only_figure_axes(fig)
    assert len(panels) == 5 and len(fig.axes) == 6
    assert all(len(contours(ax)) >= 1 for ax in panels)
    fig = nplt.plot_decision_boundary(population, X, y, resolution=10, members=[4, 1])
    panels = only_figure_axes(fig)
    assert [ax.get_title().split(":")[0] for ax in panels] == ["member 4", "member 1"]


def test_boundary_population_mean(moons, population):
    X, y = moons
    fig = nplt.plot_decision_boundary(population, X, y, resolution=12, mode="mean")
    (ax,) = only_figure_axes(fig)
    (filled,) = [c for c in contours(ax) if c.filled]
    assert "mean of 5 members" in ax.get_title()
    # the drawn field is the members' mean: its range matches the mean grid's
    proba = nplt.probability_grid(population, X, resolution=12)[2].mean(axis=0)[..., 1]
    assert proba.min() >= filled.levels[0] and proba.max() <= filled.levels[-1]


def test_boundary_mean_uses_every_member_by_default(moons):
    X, y = moons
    net = nns.MLP([2, 3, 2], seed=0, population=20)
    fig = nplt.plot_decision_boundary(net, X, y, resolution=6, mode="mean")
    assert "mean of 20 members" in fig.axes[0].get_title()
    fig = nplt.plot_decision_boundary(net, X, y, resolution=6)  # grid: the first 16
    assert len(only_figure_axes(fig)) == 16


def test_boundary_three_classes():
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(c, 0.3, (20, 2)) for c in ([0, 0], [2, 0], [1, 2])])
    y = np.repeat([0, 1, 2], 20)
    net = nns.MLP([2, 6, 3], seed=0)
    net.fit(X, y, epochs=5, batch_size=10)
    fig = nplt.plot_decision_boundary(net, X, y, resolution=15)
    assert len(fig.axes) == 1  # the predicted class needs no colour bar
    (filled,) = contours(fig.axes[0])
    np.testing.assert_array_equal(filled.levels, [-0.5, 0.5, 1.5, 2.5])


def test_boundary_draws_into_given_axes(moons, population):
    X, y = moons
    fig = Figure()
    ax = fig.add_subplot()
    out = nplt.plot_decision_boundary(population, X, y, ax=ax, resolution=8, mode="mean")
    assert out is fig and only_figure_axes(fig) == [ax]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"X": np.zeros(10)}, "X"),
        ({"resolution": 0}, "resolution"),
        ({"resolution": -5}, "resolution"),
        ({"mode": "median"}, "mode"),
        ({"members": [7]}, "members"),
        ({"members": list(range(17))}, "members"),
        ({"ax": "axes"}, "ax"),
    ],
)
def test_boundary_rejects_bad_input(moons, population, kwargs, name):
    X, y = moons
    args = {"X": X, "y": y, **kwargs}
    if name == "members" and kwargs["members"] == list(range(17)):
        population = nns.MLP([2, 3, 2], seed=0, population=17)
    with pytest.raises(ValueError, match=rf"^{name}:"):
        nplt.plot_decision_boundary(population, **args)


def test_boundary_grid_mode_refuses_a_single_axes(moons, population):
    X, y = moons
    with pytest.raises(ValueError, match="^ax:"):
        nplt.plot_decision_boundary(population, X, y, ax=Figure().add_subplot())
    with pytest.raises(ValueError, match="^net:"):
        nplt.plot_decision_boundary(object(), X, y)


def test_boundary_grid_mode_refuses_axes_before_evaluating_the_network(
    moons, population, monkeypatch
):
    X, y = moons

    def no_work(points):
        raise AssertionError("the grid was evaluated before the arguments were checked")

    monkeypatch.setattr(population, "predict_proba", no_work)
    with pytest.raises(ValueError, match="^ax:"):
        nplt.plot_decision_boundary(population, X, y, ax=Figure().add_subplot())


def test_boundary_grid_of_three_class_members_has_no_colour_bar():
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(c, 0.3, (10, 2)) for c in ([0, 0], [2, 0], [1, 2])])
    y = np.repeat([0, 1, 2], 10)
    net = nns.MLP([2, 4, 3], seed=0, population=3)
    fig = nplt.plot_decision_boundary(net, X, y, resolution=6)
    assert len(fig.axes) == 3 == len(only_figure_axes(fig))  # 2 x 2 grid, the empty slot gone
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == [f"member {j}" for j in range(3)]
    for ax in fig.axes:
        (filled,) = contours(ax)
        np.testing.assert_array_equal(filled.levels, [-0.5, 0.5, 1.5, 2.5])
    assert fig.get_suptitle() == "decision boundaries of 3 members"


# --- network drawing --------------------------------------------------------------------


def drawing_counts(fig):
    (ax,) = fig.axes
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    lines = sum(len(c.get_segments()) for c in ax.collections if isinstance(c, LineCollection))
    labels = [t.get_text() for t in ax.texts]
    return circles, lines, labels


def test_network_small_draws_every_unit_and_connection():
    circles, lines, labels = drawing_counts(nplt.plot_network([2, 3, 2]))
    assert len(circles) == 7
    assert lines == 2 * 3 + 3 * 2
    assert labels == ["input (2)", "hidden (3)", "output (2)"]


def test_network_wide_layer_is_elided():
    fig = nplt.plot_network([2, 64, 2], max_units=12)
    circles, lines, labels = drawing_counts(fig)
    assert len(circles) == 2 + 12 + 2
    assert lines == 2 * 12 + 12 * 2
    assert labels == ["input (2)", "hidden (64)", "output (2)"]
    (dots,) = fig.axes[0].get_lines()
    assert dots.get_gid() == "ellipsis"
    # the hidden column: 11 units one slot apart, the ellipsis in the gap, the last unit
    hidden = sorted(c.center[1] for c in circles if c.center[0] == 3.0)  # hidden layer at x = 3
    gaps = np.diff(hidden)
    np.testing.assert_allclose(gaps, [2.0] + [1.0] * 10)
    assert hidden[0] < dots.get_ydata().min() and dots.get_ydata().max() < hidden[1]


def test_network_from_mlp_numbers_hidden_layers():
    _, _, labels = drawing_counts(nplt.plot_network(nns.MLP([3, 4, 5, 2], seed=0)))
    assert labels == ["input (3)", "hidden 1 (4)", "hidden 2 (5)", "output (2)"]


@settings(max_examples=20, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 40), min_size=2, max_size=5),
    max_units=st.integers(2, 15),
)
def test_network_counts_property(sizes, max_units):
    shown = [min(s, max_units) for s in sizes]
    circles, lines, _ = drawing_counts(nplt.plot_network(sizes, max_units=max_units))
    assert len(circles) == sum(shown)
    assert lines == sum(a * b for a, b in zip(shown[:-1], shown[1:], strict=True))


def test_network_rejects_bad_input():
    with pytest.raises(ValueError, match="^sizes:"):
        nplt.plot_network([2])
    with pytest.raises(ValueError, match=r"^sizes\[1\]:"):
        nplt.plot_network([2, 0, 2])
    with pytest.raises(ValueError, match="^max_units:"):
        nplt.plot_network([2, 3, 2], max_units=1)


# --- saving -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix, magic", [("png", PNG_SIGNATURE), ("svg", b"<?xml"), ("pdf", b"%PDF")]
)
def test_save_figure_formats_and_no_temp_files(tmp_path, suffix, magic):
    fig = nplt.plot_network([2, 3, 2])
    path = tmp_path / f"net.{suffix}"
    assert nplt.save_figure(fig, path, dpi=50) == str(path)
    assert path.read_bytes().startswith(magic)
    assert os.listdir(tmp_path) == [path.name]


def test_save_figure_replaces_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / "fig.png"
    path.write_bytes(b"old")
    fig = nplt.plot_activation()

    def broken(*args, **kwargs):
        with open(args[0], "wb") as handle:
            handle.write(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(RuntimeError):
        nplt.save_figure(fig, path)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["fig.png"]


def test_save_figure_rejects_bad_input(tmp_path):
    fig = nplt.plot_activation()
    with pytest.raises(ValueError, match="^path:"):
        nplt.save_figure(fig, tmp_path / "fig.jpg")
    with pytest.raises(ValueError, match="^path:"):
        nplt.save_figure(fig, tmp_path / "missing" / "fig.png")
    with pytest.raises(ValueError, match="^fig:"):
        nplt.save_figure("figure", tmp_path / "fig.png")
    with pytest.raises(ValueError, match="^dpi:"):
        nplt.save_figure(fig, tmp_path / "fig.png", dpi=0)


# --- animation --------------------------------------------------------------------------


def test_record_snapshots_epochs_and_copies(moons):
    X, y = moons
    net = nns.MLP([2, 5, 2], seed=4)
    initial = {k: v.copy() for k, v in net.params.items()}
    snapshots = nplt.record_snapshots(net, X, y, epochs=5, every=2, batch_size=10)
    assert [epoch for epoch, _ in snapshots] == [0, 2, 4, 5]
    for key, value in initial.items():
        np.testing.assert_array_equal(snapshots[0][1].params[key], value)
        np.testing.assert_array_equal(snapshots[-1][1].params[key], net.params[key])
    assert all(copy is not net for _, copy in snapshots)
    # recording does not change the training path
    plain = nns.MLP([2, 5, 2], seed=4)
    plain.fit(X, y, epochs=5, batch_size=10)
    for key, value in plain.params.items():
        np.testing.assert_array_equal(net.params[key], value)


def test_record_snapshots_early_steps_label_fractions_of_the_first_epoch(moons):
    X, y = moons  # 60 rows, batch 10: 6 steps an epoch
    net = nns.MLP([2, 5, 2], seed=4)
    initial = {k: v.copy() for k, v in net.params.items()}
    snapshots = nplt.record_snapshots(
        net, X, y, epochs=2, batch_size=10, early_steps=[1, 3], optimizer=nns.SGD(lr=0.1)
    )
    assert [epoch for epoch, _ in snapshots] == [0, 1 / 6, 3 / 6, 1, 2]
    # after one step: exactly one SGD step away from the initial weights
    one = snapshots[1][1]
    assert not np.array_equal(one.params["W1"], initial["W1"])
    plain = nns.MLP([2, 5, 2], seed=4)
    plain.fit(X, y, epochs=2, batch_size=10, optimizer=nns.SGD(lr=0.1))
    for key, value in plain.params.items():  # the batch callback changes nothing
        np.testing.assert_allclose(net.params[key], value, atol=1e-12)
    for bad in ([0], [6], [2.5], "1"):
        with pytest.raises(ValueError, match="^early_steps:"):
            nplt.record_snapshots(
                nns.MLP([2, 5, 2], seed=4), X, y, 1, batch_size=10, early_steps=bad
            )


def test_animation_frames_have_ticks_and_titles(tmp_path, moons, monkeypatch):
    """Each frame keeps the data's axes (ticks and labels) and says its epoch and accuracy."""
    import nnscratch.plots.animation as animation

    X, y = moons
    snapshots = nplt.record_snapshots(
        nns.MLP([2, 5, 2], seed=5), X, y, epochs=1, batch_size=10, early_steps=[2]
    )
    seen = []
    real = animation.draw_boundary

    def spy(ax, xx, yy, proba, X_, y_, title=None):
        out = real(ax, xx, yy, proba, X_, y_, title)
        seen.append(ax)
        return out

    monkeypatch.setattr(animation, "draw_boundary", spy)
    titles = []
    original_grab = animation.PillowWriter.grab_frame

    def grab(self, **kwargs):
        ax = seen[-1]
        titles.append((ax.get_title(), len(ax.get_xticks()) > 0, ax.get_xlabel()))
        return original_grab(self, **kwargs)

    monkeypatch.setattr(animation.PillowWriter, "grab_frame", grab)
    nplt.animate_decision_boundary(X, y, snapshots, tmp_path / "a.gif", resolution=8)
    assert [t[0].split(",")[0] for t in titles] == ["epoch 0", "epoch 0.333", "epoch 1"]
    assert all("accuracy 0." in t[0] or "accuracy 1." in t[0] for t in titles)
    assert all(t[1] and t[2] == "$x_1$" for t in titles)


def test_animation_gif_frames(tmp_path, moons, population):
    X, y = moons
    snapshots = nplt.record_snapshots(nns.MLP([2, 5, 2], seed=5), X, y, epochs=3, batch_size=10)
    path = tmp_path / "boundary.gif"
    assert nplt.animate_decision_boundary(X, y, snapshots, path, resolution=10) == str(path)
    assert path.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    with Image.open(path) as gif:
        assert gif.n_frames == 4
    assert os.listdir(tmp_path) == ["boundary.gif"]
    # a population is drawn as its mean; long recordings are thinned to max_frames
    many = [(epoch, population) for epoch in range(10)]
    nplt.animate_decision_boundary(X, y, many, path, resolution=8, max_frames=4)
    with Image.open(path) as gif:
        assert gif.n_frames == 4


def test_animation_from_parameter_dicts(tmp_path, moons, trained):
    X, y = moons
    zeros = {k: np.zeros_like(v) for k, v in trained.params.items()}
    snapshots = [(0, zeros), (5, {k: v.copy() for k, v in trained.params.items()})]
    path = tmp_path / "params.gif"
    nplt.animate_decision_boundary(X, y, snapshots, path, resolution=8, net=trained)
    with Image.open(path) as gif:
        assert gif.n_frames == 2
    with pytest.raises(ValueError, match="^net:"):
        nplt.animate_decision_boundary(X, y, snapshots, path, resolution=8)


def test_animation_rejects_bad_input(tmp_path, moons, trained):
    X, y = moons
    snapshots = [(0, trained)]
    with pytest.raises(ValueError, match="^path:"):
        nplt.animate_decision_boundary(X, y, snapshots, tmp_path / "a.png")
    with pytest.raises(ValueError, match="^fps:"):
        nplt.animate_decision_boundary(X, y, snapshots, tmp_path / "a.gif", fps=0)
    with pytest.raises(ValueError, match="^resolution:"):
        nplt.animate_decision_boundary(X, y, snapshots, tmp_path / "a.gif", resolution=0)
    with pytest.raises(ValueError, match="^snapshots:"):
        nplt.animate_decision_boundary(X, y, [], tmp_path / "a.gif")
    with pytest.raises(ValueError, match="^X:"):
        nplt.animate_decision_boundary(X[:, 0], y, snapshots, tmp_path / "a.gif")
    assert os.listdir(tmp_path) == []
