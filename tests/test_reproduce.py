"""``nnscratch reproduce``: the report folder, its results and its figures (quick settings)."""

from __future__ import annotations

import dataclasses
import html
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnscratch.experiments.reproduce as reproduce_module
from nnscratch import tutorial
from nnscratch.cli import main
from nnscratch.data import load_moons
from nnscratch.experiments.report import _scientific, comparison_rows, render_html
from nnscratch.experiments.reproduce import REPORTED, Settings, prepare_output, reproduce

PNG = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "site"  # created by the run
    code = main(["reproduce", "--quick", "--quiet", "--out", str(out), "--seed", "3"])
    assert code == 0
    return out


def test_default_settings_are_the_tutorials():
    s = Settings()
    assert (s.experiment_batch, s.experiment_epochs, s.experiment_trials) == (10, 10, 100)
    assert (s.nn99_batch, s.nn99_epochs) == (20, 10)
    assert (s.sweep_min, s.sweep_max, s.sweep_trials) == (3, 40, 3)
    assert (s.sweep_batch, s.sweep_epochs) == (10, 100)
    assert not s.quick


def test_report_files(report):
    names = {p.name for p in report.iterdir()}
    for png in ("moons", "relu", "network", "sweep", "decision_boundary", "training_curves"):
        assert (report / f"{png}.png").read_bytes()[:8] == PNG
    assert (report / "training.gif").read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    assert {"index.html", "results.json"} <= names
    assert not [n for n in names if n.startswith(".")]  # no temporary files left


def test_results_json(report):
    results = json.loads((report / "results.json").read_text())
    s = Settings.quick_settings()
    e = results["experiment"]
    assert len(e["accuracies"]) == s.experiment_trials
    assert e["mean"] == pytest.approx(np.mean(e["accuracies"]), abs=1e-12)
    assert e["printed_std"] == pytest.approx(np.std(e["accuracies"]), abs=1e-12)  # as printed
    assert e["std"] == pytest.approx(np.std(e["accuracies"], ddof=1), abs=1e-12)  # ddof=1
    assert 0.0 <= e["ci_low"] <= e["mean"] <= e["ci_high"] <= 1.0
    assert "bootstrap" in e["ci_method"]
    assert 0.0 <= results["neuralnet_99"]["accuracy"] <= 1.0
    sw = results["sweep"]
    assert sw["widths"] == list(range(s.sweep_min, s.sweep_max))
    assert len(sw["mean_accuracy"]) == len(sw["widths"])
    np.testing.assert_allclose(np.mean(sw["accuracies"], axis=1), sw["mean_accuracy"])
    for key in ("data", "experiment", "neuralnet_99", "sweep", "animation", "tutorial_loop"):
        assert results["timings"][key] >= 0.0
    assert results["timings"]["total"] >= 0.0
    assert results["settings"] == dataclasses.asdict(s)
    assert results["reported"] == REPORTED


def test_results_match_the_tutorial_api_with_the_same_seed(report):
    """The report's numbers are the tutorial functions' own, each called with the run's seed
    as the README calls them (``seed=3`` here, ``seed=0`` there)."""
    results = json.loads((report / "results.json").read_text())
    s = Settings.quick_settings()
    X_train, X_test, y_train, y_test = load_moons()
    acc = tutorial.test(
        X_train,
        y_train,
        X_test,
        y_test,
        s.experiment_batch,
        s.experiment_epochs,
        s.experiment_trials,
        seed=3,
        verbose=False,
    )
    np.testing.assert_allclose(results["experiment"]["accuracies"], acc, atol=1e-12)
    nn = tutorial.NeuralNet(99, seed=3)
    assert results["neuralnet_99"]["accuracy"] == pytest.approx(
        nn.test(X_train, y_train, X_test, y_test, s.nn99_batch, s.nn99_epochs), abs=1e-12
    )
    widths, mean = tutorial.test_class(
        s.sweep_min,
        s.sweep_max,
        s.sweep_trials,
        plot=False,
        seed=3,
        iter_num=s.sweep_epochs,
        batch_size=s.sweep_batch,
    )
    np.testing.assert_allclose(results["sweep"]["mean_accuracy"], mean, atol=1e-12)
    assert results["experiment"]["call"].endswith(", seed=3)")


def _readme_example() -> dict[str, str]:
    """The numbers the README's "The tutorial, reproduced" example says its calls print."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## The tutorial, reproduced", 1)[1].split("```", 2)[1]
    printed = re.search(r"Mean Accuracy: ([0-9.]+), Standard Deviation: ([0-9.]+)", block)
    nn99 = re.search(r"NeuralNet\(99, seed=0\)\.test\(.*\)\s+#\s*([0-9.]+)", block)
    sweep = re.search(r"test_class\(3, 40, 3, seed=0.*#\s*([0-9.]+) at 30-39", block)
    assert "T.test(X_train, y_train, X_test, y_test, 10, 10, 100, seed=0)" in block
    assert printed and nn99 and sweep, "README: the tutorial example's printed numbers moved"
    return {
        "mean": printed[1],
        "std": printed[2],
        "nn99": nn99[1],
        "sweep": sweep[1],
    }


def test_the_readme_example_prints_what_the_report_computes(tmp_path):
    """The README's example numbers (seed 0, the tutorial's full settings) are the ones the
    report's own calls give: a change in either the README or the code fails here."""
    expected = _readme_example()
    s, data = Settings(), load_moons()
    timer = reproduce_module._Timer(lambda text: None)
    e = reproduce_module._experiment(s, data, 0, timer)
    assert e["call"] == "test(X_train, y_train, X_test, y_test, 10, 10, 100, seed=0)"
    assert (f"{e['mean']:.5g}", f"{e['printed_std']:.5g}") == (expected["mean"], expected["std"])
    n = reproduce_module._neuralnet_99(s, data, 0, timer)
    assert f"{n['accuracy']:.5g}" == expected["nn99"]
    sw = reproduce_module._width_sweep(s, data, 0, timer, quiet=True)
    assert f"{sw['mean_accuracy_30_40']:.2f}" == expected["sweep"]
    # and the report shows them as the README prints them
    row = comparison_rows({"experiment": e, "neuralnet_99": n, "sweep": sw})
    assert row[0][2] == f"{expected['mean']} ± {expected['std']}"
    assert row[1][2] == expected["nn99"]


def test_index_html_is_self_contained(report):
    page = (report / "index.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    for number in ("0.94541", "0.019558", "0.9496", "0.98"):  # the tutorial's, reported
        assert number in page
    text = html.unescape(page)
    assert "tutorial's loop, timed here" in text and "timed, scaled)" in text
    assert "percentile bootstrap" in page and "ddof=1" in page  # the method, stated
    sources = re.findall(r'src="([^"]+)"', page)
    assert sources and all("/" not in s and ":" not in s for s in sources)  # relative names
    assert all((report / s).exists() for s in sources)
    assert "http" not in page  # nothing fetched from elsewhere


def test_reproduce_json_output(tmp_path, capsys):
    code = main(["reproduce", "--quick", "--quiet", "--json", "--out", str(tmp_path / "r")])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    payload = json.loads(out)
    assert {"experiment", "neuralnet_99", "sweep", "timings"} <= set(payload)


def test_reproduce_prints_a_summary_with_timings(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--quiet", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "0.94541" in out and "timed, scaled)" in out and "total:" in out


def test_unwritable_folder_writes_nothing(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["reproduce", "--quick", "--out", str(blocker / "report")])
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
    with pytest.raises(ValueError, match="^out: "):  # the library names its own argument
        reproduce(blocker, quick=True)


def test_the_library_names_its_argument_out(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for out, expected in [
        (blocker, "^out: expected a directory, got the file"),
        (tmp_path / "missing" / "report", "^out: expected a directory whose parent exists"),
    ]:
        with pytest.raises(ValueError, match=expected):
            prepare_output(out)
        with pytest.raises(ValueError, match=expected):
            reproduce(out, quick=True)
    with pytest.raises(ValueError, match="^--out: expected a directory"):
        prepare_output(blocker, "--out")  # how the command line asks
    assert [p.name for p in tmp_path.iterdir()] == ["file"]
    assert prepare_output(tmp_path / "new") == tmp_path / "new" and (tmp_path / "new").is_dir()


def test_the_page_renders_again_from_results_json(report):
    """report.py only renders: the saved results give back the very page."""
    results = json.loads((report / "results.json").read_text())
    assert render_html(results) == (report / "index.html").read_text()
    assert "<code>alpha = 1e-4</code>" in render_html(results)  # tutorial.ALPHA, as written


def test_rates_are_written_as_the_tutorial_writes_them():
    assert _scientific(tutorial.ALPHA) == "1e-4"
    assert [_scientific(x) for x in (2.5e-3, 1e-12, 0.1)] == ["2.5e-3", "1e-12", "1e-1"]


def test_importing_experiments_leaves_the_report_alone():
    """``nnscratch.experiments`` must not import the report: reproduce imports the tutorial,
    which imports ``nnscratch.experiments`` (an import circle otherwise)."""
    code = (
        "import sys, nnscratch.experiments; "
        "assert not {'nnscratch.experiments.reproduce', 'nnscratch.experiments.report'} "
        "& set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_failing_figure_keeps_what_finished_and_exits_1(tmp_path, capsys, monkeypatch):
    import nnscratch.experiments.reproduce as reproduce_module

    def broken(s, result):
        raise ValueError("mean: no finite values to draw")

    monkeypatch.setattr(reproduce_module, "_sweep_figure", broken)
    out = tmp_path / "r"
    code = main(["reproduce", "--quick", "--quiet", "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert code == 1 and stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("nnscratch reproduce: error: sweep plot with its 95% band")
    assert "failed: ValueError: mean: no finite values to draw" in lines[0]
    assert "no index.html" in lines[0]
    assert not (out / "index.html").exists()
    results = json.loads((out / "results.json").read_text())
    assert results["incomplete"]["during"] == "sweep plot with its 95% band"
    assert results["incomplete"]["parts_done"][-1] == "sweep"
    assert len(results["sweep"]["accuracies"]) == 3  # the sweep that trained is kept
    with pytest.raises(RuntimeError, match="failed: ValueError: mean"):  # in the library
        reproduce(tmp_path / "again", quick=True, quiet=True)


# --- the tutorial's loop, timed in the run ----------------------------------------------------


def test_the_loop_times_are_measured_in_the_run(tmp_path, monkeypatch):
    """The loop column follows the clock it is measured with: a clock that advances 5 s for
    every reading gives 5 s for each timed subsample, scaled by networks / timed."""
    ticks = iter(range(0, 10_000, 5))
    calls = []
    real_loop = reproduce_module.tutorial_loop

    def counting_loop(X_train, y_train, X_test, y_test, widths, batch_size, iter_num, rng):
        calls.append((list(widths), batch_size, iter_num))
        return real_loop(X_train, y_train, X_test, y_test, widths, batch_size, iter_num, rng)

    monkeypatch.setattr(reproduce_module, "_loop_clock", lambda: float(next(ticks)))
    monkeypatch.setattr(reproduce_module, "tutorial_loop", counting_loop)
    results = reproduce(tmp_path / "r", seed=1, quick=True, quiet=True)
    s = Settings.quick_settings()
    # the subsamples: evenly spread, the first and last network included
    assert calls == [
        ([64, 64], s.experiment_batch, s.experiment_epochs),  # 2 of 4
        ([99], s.nn99_batch, s.nn99_epochs),
        ([3, 5], s.sweep_batch, s.sweep_epochs),  # 2 of [3, 3, 4, 4, 5, 5]
    ]
    e, n, sw = (results[k]["loop"] for k in ("experiment", "neuralnet_99", "sweep"))
    assert (e["seconds_timed"], e["timed"], e["networks"], e["seconds"]) == (5.0, 2, 4, 10.0)
    assert (n["seconds"], sw["seconds"]) == (5.0, 15.0)
    assert e["speedup"] == 10.0 / results["experiment"]["seconds"]
    page = html.unescape((tmp_path / "r" / "index.html").read_text())
    assert "10.0 s (2 of 4 timed, scaled)" in page and "15.0 s (2 of 6 timed, scaled)" in page
    assert "5.00 s (timed)" in page


def test_the_loop_with_the_real_clock(report):
    results = json.loads((report / "results.json").read_text())
    for name in ("experiment", "neuralnet_99", "sweep"):
        loop = results[name]["loop"]
        assert loop["seconds_timed"] > 0.0
        assert loop["seconds"] == pytest.approx(
            loop["seconds_timed"] * loop["networks"] / loop["timed"], rel=1e-12
        )
        assert 0.0 <= loop["mean_accuracy_timed"] <= 1.0


def test_the_timed_loop_is_the_tutorials_algorithm():
    """softmax and one-hot rows built in loops give the vectorised values, and the loop's
    training equals the core's tutorial network step for step (same weights, same orders)."""
    from nnscratch.core import functional as F
    from nnscratch.core.optim import SGD

    rng = np.random.default_rng(0)
    a = rng.normal(size=(7, 3))
    np.testing.assert_allclose(reproduce_module.softmax_rows(a), F.softmax(a), atol=1e-15)
    labels = np.array([0, 1, 1, 0, 1])
    np.testing.assert_array_equal(reproduce_module.one_hot_rows(labels, 2), F.one_hot(labels, 2))
    X_train, _, y_train, _ = load_moons()
    X, y = X_train[:95], y_train[:95]  # batch 10: a short last batch of 5
    net = tutorial.tutorial_network(2, 64, 2, seed=3)
    model = {k: v.copy() for k, v in net.params.items()}
    perms = [rng.permutation(X.shape[0]) for _ in range(2)]
    for perm in perms:
        net.fit(X[perm], y[perm], epochs=1, batch_size=10, optimizer=SGD(lr=1e-4), shuffle=False)
    Y = reproduce_module.one_hot_rows(y, 2)
    reproduce_module.loop_fit(model, X, Y, batch_size=10, iter_num=2, perms=perms)
    for k, v in net.params.items():
        np.testing.assert_allclose(model[k], v, atol=1e-10)


def test_spread_takes_evenly_spaced_networks():
    assert reproduce_module.spread(111, 6).tolist() == [0, 22, 44, 66, 88, 110]
    assert reproduce_module.spread(4, 2).tolist() == [0, 3]
    assert reproduce_module.spread(1, 5).tolist() == [0]


# --- intervals -----------------------------------------------------------------------------


def test_every_interval_of_the_report_stays_in_the_metrics_range(report):
    results = json.loads((report / "results.json").read_text())
    sw = results["sweep"]
    for low, high, accs in zip(sw["ci_low"], sw["ci_high"], sw["accuracies"], strict=True):
        assert 0.0 <= min(accs) <= low <= high <= max(accs) <= 1.0
    e = results["experiment"]
    assert min(e["accuracies"]) <= e["ci_low"] <= e["ci_high"] <= max(e["accuracies"])


def test_the_sweep_band_and_axis_stay_in_0_1():
    """Accuracies near 1 with a wide spread: a t interval would pass 1 (mean 0.96, s 0.05,
    t(0.975, 1) = 12.7: up to 1.41); the band drawn, and the y-axis, stay in [0, 1]."""
    from matplotlib.collections import PolyCollection

    accs = np.array([[0.99, 0.93], [1.0, 0.96], [0.9, 1.0]])  # (W,T)
    low, high = zip(*(reproduce_module.bootstrap_interval(row) for row in accs), strict=True)
    result = {
        "widths": [30, 31, 32],
        "mean_accuracy": accs.mean(axis=1).tolist(),
        "ci_low": list(low),
        "ci_high": list(high),
    }
    fig = reproduce_module._sweep_figure(Settings(), result)
    ax = fig.axes[0]
    band = next(c for c in ax.collections if isinstance(c, PolyCollection))
    ys = np.concatenate([path.vertices[:, 1] for path in band.get_paths()])
    assert ys.min() >= 0.9 and ys.max() <= 1.0
    assert ax.get_ylim()[1] <= 1.0
    assert "bootstrap" in ax.get_legend_handles_labels()[1][0]


def test_what_to_try_next_lines_are_real_commands():
    """Each line of the page's "what to try next" parses with the CLI's own parser."""
    import shlex

    from nnscratch.cli import build_parser
    from nnscratch.experiments.report import TRY_NEXT

    for _, line in TRY_NEXT:
        argv = shlex.split(line)
        assert argv[0] == "nnscratch"
        args = build_parser().parse_args(argv[1:])  # SystemExit on an unknown option
        assert args.command == argv[1]


def test_the_animated_network_is_the_first_network_of_test(tmp_path):
    """The page says the animated network is test's first one trained again: with equal
    epochs, its test accuracy is test's first accuracy, for the same seed."""
    s = dataclasses.replace(Settings.quick_settings(), experiment_epochs=2, animation_epochs=2)
    data = load_moons()
    timer = reproduce_module._Timer(lambda text: None)
    e = reproduce_module._experiment(s, data, 5, timer)
    folder = reproduce_module._Folder(tmp_path)
    anim = reproduce_module._animated_network(s, data, 5, timer, folder)
    assert anim["test_accuracy"] == e["accuracies"][0]
    assert anim["test_accuracy"] != e["accuracies"][1]  # not any network: the first
    assert anim["frames"][:6] == [0.0] + [k / 375 for k in reproduce_module.EARLY_STEPS]


def test_without_timing_the_tutorial_the_page_says_not_timed(tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the tutorial's loop ran")

    monkeypatch.setattr(reproduce_module, "tutorial_loop", never)
    results = reproduce(tmp_path / "r", quick=True, quiet=True, time_tutorial=False)
    assert "loop" not in results["experiment"] and "tutorial_loop" not in results["timings"]
    rows = comparison_rows(results)
    assert [row[4:] for row in rows] == [("not timed", "n/a")] * 3
    assert "not timed" in (tmp_path / "r" / "index.html").read_text()
