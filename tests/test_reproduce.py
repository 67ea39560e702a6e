"""``nnscratch reproduce``: the report folder, its results and its figures (quick settings)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from nnscratch import tutorial
from nnscratch.cli import main
from nnscratch.core.seeding import child
from nnscratch.data import load_moons
from nnscratch.experiments.report import _scientific, render_html
from nnscratch.experiments.reproduce import REPORTED, Settings, prepare_output, reproduce

PNG = b"\x89PNG\r\n\x1a\n"


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
    assert e["std"] == pytest.approx(np.std(e["accuracies"]), abs=1e-12)
    assert e["ci_low"] <= e["mean"] <= e["ci_high"]
    assert 0.0 <= results["neuralnet_99"]["accuracy"] <= 1.0
    sw = results["sweep"]
    assert sw["widths"] == list(range(s.sweep_min, s.sweep_max))
    assert len(sw["mean_accuracy"]) == len(sw["widths"])
    np.testing.assert_allclose(np.mean(sw["accuracies"], axis=1), sw["mean_accuracy"])
    for key in ("data", "experiment", "neuralnet_99", "sweep", "animation", "total"):
        assert results["timings"][key] >= 0.0
    assert results["reported"] == REPORTED


def test_results_match_the_tutorial_api_with_the_same_seeds(report):
    """The report's numbers are the tutorial functions' own, seeded by children of the root."""
    results = json.loads((report / "results.json").read_text())
    s, root = Settings.quick_settings(), np.random.SeedSequence(3)
    X_train, X_test, y_train, y_test = load_moons()
    acc = tutorial.test(
        X_train,
        y_train,
        X_test,
        y_test,
        s.experiment_batch,
        s.experiment_epochs,
        s.experiment_trials,
        seed=child(root, 0),
        verbose=False,
    )
    np.testing.assert_allclose(results["experiment"]["accuracies"], acc, atol=1e-12)
    nn = tutorial.NeuralNet(99, seed=child(root, 1))
    assert results["neuralnet_99"]["accuracy"] == pytest.approx(
        nn.test(X_train, y_train, X_test, y_test, s.nn99_batch, s.nn99_epochs), abs=1e-12
    )
    widths, mean = tutorial.test_class(
        s.sweep_min,
        s.sweep_max,
        s.sweep_trials,
        plot=False,
        seed=child(root, 2),
        iter_num=s.sweep_epochs,
        batch_size=s.sweep_batch,
    )
    np.testing.assert_allclose(results["sweep"]["mean_accuracy"], mean, atol=1e-12)


def test_index_html_is_self_contained(report):
    page = (report / "index.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    for number in ("0.94541", "0.019558", "0.9496", "0.98", "23 s", "234 s"):
        assert number in page
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
    assert "0.94541" in out and "234 s" in out and "total:" in out


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
