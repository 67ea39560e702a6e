"""The ``nnscratch`` command line, run in-process through ``main([...])``."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnscratch.cli import main, parse_values
from nnscratch.experiments import load_records

FAST = ["--epochs", "1", "--hidden", "4", "--batch-size", "64"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_for_every_command(capsys):
    commands = ["reproduce", "train", "experiment", "sweep", "predict", "inspect", "export"]
    commands += ["playground", "warmup"]
    for command in ([], *([c] for c in commands)):
        code, out, _ = run(capsys, *command, "--help")
        assert code == 0
        assert "usage: nnscratch" in out
        assert "%%" not in out  # argparse's escape, shown as written when not formatted
    assert "Student" not in run(capsys, "experiment", "--help")[1]
    assert "--quick" not in run(capsys, "reproduce", "--help")[1]  # a test switch, not shown


@pytest.mark.parametrize(
    "text, kind, expected",
    [
        ("3:7", int, [3, 4, 5, 6]),
        ("3:10:3", int, [3, 6, 9]),
        ("8,16,32", int, [8, 16, 32]),
        ("64", int, [64]),
        ("0.1,1", float, [0.1, 1.0]),
        ("0.1:0.5:0.1", float, [0.1, 0.2, 0.3, 0.4]),
    ],
)
def test_parse_values(text, kind, expected):
    assert parse_values(text, kind) == expected


def test_train_prints_progress_and_accuracy(capsys, tmp_path):
    plot = tmp_path / "boundary.png"
    code, out, err = run(capsys, "train", *FAST, "--epochs", "2", "--plot", str(plot))
    assert code == 0, err
    assert "epoch 1/2" in out and "epoch 2/2" in out
    assert "test accuracy" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_json_population(capsys):
    code, out, err = run(capsys, "train", *FAST, "--population", "3", "--json", "--seed", "4")
    assert code == 0
    payload = json.loads(out)
    assert payload["population"] == 3 and len(payload["test_accuracy"]) == 3
    assert payload["config"]["hidden"] == [4]
    assert len(payload["history"]["loss"]) == 1  # one epoch of (P,) values
    assert "epoch 1/1" in err  # progress goes to stderr when stdout carries JSON


def test_train_names_its_held_out_figures_after_the_test_set(capsys):
    """``train`` evaluates on the test split: ``test_loss``/``test_accuracy``, not ``val_*``."""
    code, out, err = run(capsys, "train", *FAST, "--epochs", "2", "--json")
    assert code == 0, err
    history = json.loads(out)["history"]
    assert set(history) == {"loss", "accuracy", "test_loss", "test_accuracy"}
    assert all(len(values) == 2 for values in history.values())
    progress = err.strip().splitlines()
    assert len(progress) == 2 and all("test_loss" in line for line in progress)
    assert "test_accuracy" in progress[0] and "val_" not in err
    code, out, _ = run(capsys, "train", *FAST)
    assert code == 0 and "test_loss" in out and "val_" not in out


def test_train_help_says_why_its_defaults_differ_from_fit(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # no wrapping: argparse breaks lines at hyphens
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    options = " ".join(out.split("options:")[1].split())

    def help_of(option: str, next_option: str) -> str:
        return options.split(f" {option} ")[1].split(f" {next_option} ")[0]

    optimizer = help_of("--optimizer OPTIMIZER", "--dtype")
    lr = help_of("--lr LR", "--population")
    for line in (optimizer, lr):
        assert "adam at 1e-3" in line and "MLP.fit" in line  # the library's default
    assert "default: sgd" in optimizer and "tutorial" in optimizer  # the command line's
    assert "default: 0.1" in lr and "2-64-2" in lr


def test_reproduce_names_the_option_in_its_error(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, out, err = run(capsys, "reproduce", "--quick", "--out", str(blocker))
    assert code == 2 and out == ""
    assert err.startswith("nnscratch reproduce: error: --out: expected a directory")


def test_train_single_equals_member_zero_of_population(capsys):
    single = json.loads(run(capsys, "train", *FAST, "--json", "--seed", "8")[1])
    pop = json.loads(run(capsys, "train", *FAST, "--json", "--seed", "8", "--population", "2")[1])
    assert single["test_accuracy"] == pytest.approx(pop["test_accuracy"][0], abs=1e-12)


def test_train_quiet_prints_only_the_result(capsys):
    code, out, err = run(capsys, "train", *FAST, "--quiet")
    assert code == 0 and "epoch" not in out + err
    assert "test accuracy" in out


def test_experiment_json_and_records_file(capsys, tmp_path):
    out_file = tmp_path / "records.csv"
    code, out, _ = run(
        capsys,
        "experiment",
        *FAST,
        "--trials",
        "3",
        "--json",
        "--seed",
        "2",
        "--out",
        str(out_file),
    )
    assert code == 0
    payload = json.loads(out)
    assert len(payload["records"]) == 3 and len(payload["summary"]) == 1
    row = payload["summary"][0]
    assert row["n"] == 3 and row["ci_low"] <= row["mean"] <= row["ci_high"]
    accs = [r["test_accuracy"] for r in payload["records"]]
    assert row["mean"] == pytest.approx(sum(accs) / 3, abs=1e-12)
    assert [r.test_accuracy for r in load_records(out_file)] == accs
    # same seed, same numbers
    again = json.loads(
        run(capsys, "experiment", *FAST, "--trials", "3", "--json", "--seed", "2")[1]
    )
    assert [r["test_accuracy"] for r in again["records"]] == accs


def test_experiment_prints_the_summary_table(capsys):
    code, out, _ = run(capsys, "experiment", *FAST, "--trials", "2", "--quiet")
    assert code == 0
    assert "95% CI" in out and "mean" in out and "std" in out


def test_sweep_json_plot_and_out(capsys, tmp_path):
    plot, out_file = tmp_path / "sweep.png", tmp_path / "sweep.json"
    code, out, err = run(
        capsys,
        "sweep",
        "--hidden",
        "3:6",
        "--trials",
        "2",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--json",
        "--plot",
        str(plot),
        "--out",
        str(out_file),
    )
    assert code == 0, err
    payload = json.loads(out)
    assert len(payload["records"]) == 3 * 2
    assert [row["config"]["hidden"] for row in payload["summary"]] == [[3], [4], [5]]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(load_records(out_file)) == 6


def test_sweep_grid_over_several_options(capsys):
    code, out, _ = run(
        capsys,
        "sweep",
        "--hidden",
        "3,5",
        "--lr",
        "0.1,0.2",
        "--batch-size",
        "32,64",
        "--trials",
        "1",
        "--epochs",
        "1",
        "--json",
        "--layers",
        "2",
    )
    assert code == 0
    payload = json.loads(out)
    assert len(payload["records"]) == 8
    assert payload["records"][0]["config"]["hidden"] == [3, 3]
    assert all(row["std"] is None for row in payload["summary"])  # one trial: NaN -> null


def test_sweep_table(capsys):
    code, out, _ = run(
        capsys, "sweep", "--hidden", "3:5", "--trials", "2", "--epochs", "1", "--quiet"
    )
    assert code == 0 and "hidden" in out and "95% CI" in out


BAD = [
    ["sweep", "--hidden", "40:3"],
    ["sweep", "--hidden", "a:b"],
    ["sweep", "--hidden", "3:40:0"],
    ["sweep", "--lr", "0.1,-1"],
    ["sweep", "--batch-size", "0"],
    ["experiment", "--trials", "0"],
    ["experiment", "--trials", "-2"],
    ["train", "--epochs", "0"],
    ["train", "--batch-size", "-5"],
    ["train", "--lr", "0"],
    ["train", "--lr", "inf"],
    ["train", "--hidden", "64,x"],
    ["train", "--data", "nope"],
    ["train", "--activation", "nope"],
    ["train", "--optimizer", "nope"],
    ["train", "--seed", "-1"],
    ["train", "--bogus"],
    ["train", "--plot", "boundary.txt"],
    ["train", "--plot", "x.png", "--data", "digits"],
    ["experiment", "--out", "records.xml"],
    ["sweep", "--hidden", "3,4", "--lr", "0.1,0.2", "--plot", "s.png"],
    ["frobnicate"],
    # absurd sizes: counted and refused at once, never built one by one
    ["experiment", "--trials", "1000000000"],
    ["sweep", "--lr", "0.1:0.5:1e-300"],
    ["sweep", "--lr", "1e-300:1e300:1e-300"],
    ["sweep", "--hidden", "1:1000000000"],
    ["sweep", "--layers", "1000000000"],
    ["sweep", "--hidden", "1:1001", "--lr", "0.1:0.2:0.0001", "--trials", "2"],
    ["sweep", "--hidden", "1:100000", "--trials", "11"],
    ["train", "--population", "1000000000"],
]

ABSURD = {  # each refusal gives the count it refused
    "experiment --trials 1000000000": "1000000000",
    "sweep --lr 0.1:0.5:1e-300": "4e+299 values",
    "sweep --hidden 1:1001 --lr 0.1:0.2:0.0001 --trials 2": "1000000 configurations x 2 trials",
    "sweep --hidden 1:100000 --trials 11": "99999 configurations x 11 trials = 1099989",
}


@pytest.mark.parametrize("argv", BAD, ids=lambda a: " ".join(a))
def test_bad_input_one_line_exit_2(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "error" in lines[0] and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert ABSURD.get(" ".join(argv), "") in lines[0]


def test_unwritable_output_paths(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    for argv in (
        ["experiment", "--trials", "1", "--out", str(blocker / "r.json")],
        ["sweep", "--plot", str(tmp_path / "missing" / "s.png")],
        ["train", "--plot", str(tmp_path)],
        ["reproduce", "--quick", "--out", str(blocker / "report")],
        ["reproduce", "--quick", "--out", str(blocker)],
    ):
        code, out, err = (
            run(capsys, *argv, "--epochs", "1") if argv[0] != "reproduce" else run(capsys, *argv)
        )
        assert code == 2, argv
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_the_installed_script_runs():
    script = Path(sys.executable).with_name("nnscratch")
    if not script.exists():
        pytest.skip("the nnscratch console script is not installed next to this Python")
    done = subprocess.run(
        [str(script), "train", *FAST, "--json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert 0.0 <= json.loads(done.stdout)["test_accuracy"] <= 1.0
    bad = subprocess.run(
        [str(script), "sweep", "--hidden", "40:3"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


# --- failures while running: one line, exit status 1, what was made is kept -----------------


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_sweep_with_a_diverged_configuration_saves_its_records_and_plots_it(capsys, tmp_path):
    plot, out_file = tmp_path / "sw.png", tmp_path / "sw.csv"
    code, out, err = run(
        capsys,
        *("sweep", "--lr", "0.1,1e6", "--trials", "2", "--epochs", "1", "--quiet"),
        *("--plot", str(plot), "--out", str(out_file)),
    )
    assert code == 0, err
    records = load_records(out_file)
    assert [r.diverged for r in records] == [False, False, True, True]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "n/a" in out and "nan" not in out  # the all-diverged row


def test_a_plot_that_fails_after_the_records_exits_1_and_says_they_are_saved(
    capsys, tmp_path, monkeypatch
):
    def broken(fig, path, **kwargs):
        raise ValueError("the renderer broke")

    monkeypatch.setattr("nnscratch.plots.save_figure", broken)
    out_file = tmp_path / "sw.json"
    code, out, err = run(
        capsys,
        *("sweep", "--hidden", "3,4", "--trials", "2", "--epochs", "1", "--quiet"),
        *("--plot", str(tmp_path / "sw.png"), "--out", str(out_file)),
    )
    assert code == 1
    line = one_line(err)
    assert "--plot" in line and "the renderer broke" in line
    assert f"the records are saved in {str(out_file)!r}" in line
    assert len(load_records(out_file)) == 4 and "95% CI" in out  # saved and printed first


def test_a_diverging_train_exits_1_saying_what_to_do_from_the_command_line(capsys):
    code, out, err = run(capsys, "train", "--lr", "1e6", "--epochs", "1", "--quiet")
    assert code == 1 and out == ""
    line = one_line(err)
    assert line.startswith("nnscratch train: error: training diverged")
    assert "--lr" in line and "on_nonfinite" not in line and "Warning" not in err


def test_a_full_disk_while_saving_the_records_exits_1(capsys, tmp_path, monkeypatch):
    def full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("nnscratch.experiments.records.write_text", full)
    out_file = tmp_path / "r.csv"
    code, out, err = run(capsys, "experiment", *FAST, "--trials", "2", "--out", str(out_file))
    assert code == 1
    line = one_line(err)
    assert "--out" in line and str(out_file) in line and "No space left on device" in line
    assert list(tmp_path.iterdir()) == []


def test_one_trial_prints_n_a_in_text_and_null_in_json(capsys):
    code, out, _ = run(capsys, "experiment", *FAST, "--trials", "1", "--quiet")
    assert code == 0
    table = out.split("\n", 1)[1]
    assert "n/a" in table and "nan" not in table
    code, out, _ = run(capsys, "experiment", *FAST, "--trials", "1", "--quiet", "--json")
    row = json.loads(out)["summary"][0]
    assert row["std"] is None and row["ci_low"] is None and row["mean"] is not None


def test_an_unexpected_failure_is_one_line_naming_it(capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("results")

    monkeypatch.setattr("nnscratch.experiments.repeat", broken)
    code, out, err = run(capsys, "experiment", *FAST)
    assert code == 1 and out == ""
    assert one_line(err) == "nnscratch experiment: error: KeyError: 'results'"


def test_warmup_compiles_what_it_is_asked_and_names_its_options(capsys, monkeypatch):
    from nnscratch.fast import warmup as warmup_module

    asked = []

    def fake_warmup(activations, dtypes, hidden_layers):
        asked.append((activations, dtypes, hidden_layers))
        return [
            {"kernel": "lanes", "state": "cold", "seconds": 1.5},
            {"kernel": "forward", "state": "cached", "seconds": 0.1},
        ]

    monkeypatch.setattr(warmup_module, "warmup", fake_warmup)
    argv = ["warmup", "--activation", "tanh", "--activation", "relu", "--dtype", "both"]
    code, out, _ = run(capsys, *argv, "--hidden-layers", "1,2")
    assert code == 0
    assert asked == [(["tanh", "relu"], ("float64", "float32"), [1, 2])]
    assert out == "2 kernels ready: 1 compiled now (1.5 s)\n"
    code, out, _ = run(capsys, "warmup", "--hidden-layers", "0,1,2")  # as the README says
    assert code == 0 and asked[-1] == (["relu"], ("float64",), [0, 1, 2])
    code, _, err = run(capsys, "warmup", "--hidden-layers", "one")
    assert code == 2 and "--hidden-layers: expected a comma list of whole numbers" in err
    monkeypatch.undo()
    code, _, err = run(capsys, "warmup", "--hidden-layers", "9")  # the library's range
    assert code == 2 and err.startswith("nnscratch warmup: error: --hidden-layers: expected")
    code, _, err = run(capsys, "warmup", "--activation", "banana")
    assert code == 2 and err.startswith("nnscratch warmup: error: --activation: expected names")
