"""Ctrl-C: a run stops after the current batch, keeps what it trained, and says so.

Every interrupt here is a real SIGINT, sent by the process to itself from a callback at a
chosen batch (or, for the command line while it imports, by the test to a subprocess that
announces where it waits): nothing depends on how long anything takes.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

import nnscratch.experiments as experiments
from nnscratch.cli import main
from nnscratch.core.callback import Callback
from nnscratch.core.network import MLP
from nnscratch.data import load_moons
from nnscratch.experiments import (
    Config,
    Interrupted,
    load_records,
    summarize,
    sweep,
    train_population,
)
from nnscratch.experiments import reproduce as reproduce_module

DATA = load_moons(n_samples=200)  # 150 train / 50 test
TINY = Config(hidden=8, lr=0.1, batch_size=16, epochs=2)
GRID = {"batch_size": [16, 32, 64]}  # three batch sizes: three groups, one population each


class CtrlCAt(Callback):
    """Sends this process a SIGINT at batch ``batch`` of epoch ``epoch`` of the ``group``-th
    training it sees (0 = the first ``fit``), and logs every batch as ``(group, epoch, batch)``.
    """

    def __init__(self, group: int, epoch: int = 0, batch: int = 0) -> None:
        self.group, self.epoch, self.batch = group, epoch, batch
        self.began = 0
        self.seen: list[tuple[int, int, int]] = []

    def on_train_begin(self, run) -> None:
        self.began += 1

    def on_batch_end(self, run, batch, logs) -> None:
        self.seen.append((self.began - 1, run.epoch, batch))
        if (self.began - 1, run.epoch, batch) == (self.group, self.epoch, self.batch):
            os.kill(os.getpid(), signal.SIGINT)


class CtrlCAfter(Callback):
    """Sends a SIGINT when the first training has ended: between two populations."""

    def __init__(self) -> None:
        self.began = 0

    def on_train_begin(self, run) -> None:
        self.began += 1

    def on_train_end(self, run) -> None:
        if self.began == 1:
            os.kill(os.getpid(), signal.SIGINT)


def timeless(records):
    """Records without their wall time, to compare two runs of the same trials."""
    return [dataclasses.replace(r, seconds=0.0) for r in records]


# --- the runner -------------------------------------------------------------------------------


def test_ctrl_c_stops_the_whole_sweep_and_keeps_what_finished():
    previous = signal.getsignal(signal.SIGINT)
    ctrl_c = CtrlCAt(group=1, epoch=1, batch=0)
    records = sweep(GRID, trials=2, base=TINY, data=DATA, seed=5, quiet=True, callbacks=[ctrl_c])
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is put back
    # the run stopped after the batch that saw the Ctrl-C, and the third group never began
    assert ctrl_c.began == 2 and ctrl_c.seen[-1] == (1, 1, 0)
    assert [(r.config_index, r.trial) for r in records] == [
        (c, t) for c in range(3) for t in range(2)
    ]
    assert [r.interrupted for r in records] == [False, False, True, True, True, True]
    # nothing trained is lost: the first group is what an uninterrupted run gives
    watch = CtrlCAt(group=-1)  # watches every batch as ctrl_c does (the same NumPy loop)
    clean = sweep(GRID, trials=2, base=TINY, data=DATA, seed=5, quiet=True, callbacks=[watch])
    assert timeless(records[:2]) == timeless(clean[:2])  # (finite values: == compares)
    # the stopped group: the networks as they were, after 1 of 2 epochs
    stopped = records[2:4]
    assert all(r.epochs_run == 1 and np.isfinite(r.test_accuracy) for r in stopped)
    # the group never started: its seeds, no numbers, no time
    never = records[4:]
    assert all(r.epochs_run == 0 and r.seconds == 0.0 and math.isnan(r.test_loss) for r in never)
    assert [r.seed_spawn_key for r in never] == [(4,), (5,)]
    # summaries count interrupted trials apart and never average them in
    rows = summarize(records)
    assert [row["interrupted"] for row in rows] == [0, 2, 2]
    assert [row["n"] for row in rows] == [2, 0, 0]
    assert math.isnan(rows[1]["mean"]) and rows[0]["mean"] == pytest.approx(
        np.mean([r.test_accuracy for r in records[:2]])
    )


def test_a_second_ctrl_c_while_a_stopped_population_is_evaluated_stops_at_once(monkeypatch, capsys):
    """A stopped population's evaluation can take as long as an epoch: a second Ctrl-C
    there ends the run at once (that population's trials then count as never reached)."""
    from nnscratch.experiments import runner

    entered = []

    def evaluate_then_ctrl_c(net, X, y, sample_weight=None):
        entered.append(net.n_members)
        os.kill(os.getpid(), signal.SIGINT)  # the second press, while the first is handled
        return runner_evaluate(net, X, y, sample_weight)

    runner_evaluate = runner.evaluate
    monkeypatch.setattr(runner, "evaluate", evaluate_then_ctrl_c)
    ctrl_c = CtrlCAt(group=0, epoch=0, batch=1)
    records = sweep(GRID, trials=2, base=TINY, data=DATA, seed=5, quiet=False, callbacks=[ctrl_c])
    assert entered == [2]  # one evaluation begun, cut short, and no other population started
    assert all(r.interrupted and math.isnan(r.test_accuracy) for r in records)
    assert "Ctrl-C: evaluating the 2 networks trained so far" in capsys.readouterr().err


def test_ctrl_c_between_populations_starts_no_other():
    ctrl_c = CtrlCAfter()
    records = sweep(GRID, trials=1, base=TINY, data=DATA, seed=5, quiet=True, callbacks=[ctrl_c])
    assert ctrl_c.began == 1
    assert [r.interrupted for r in records] == [False, True, True]
    assert records[0].epochs_run == TINY.epochs and np.isfinite(records[0].test_accuracy)


def test_an_interrupted_repeat_marks_its_trials():
    records = experiments.repeat(
        TINY, trials=3, data=DATA, seed=1, quiet=True, callbacks=[CtrlCAt(0, epoch=0, batch=2)]
    )
    assert all(r.interrupted and r.epochs_run == 0 for r in records)
    assert all(np.isfinite(r.test_accuracy) for r in records)  # trained for 3 batches
    assert summarize(records)[0]["interrupted"] == 3


def test_train_population_raises_on_ctrl_c_unless_asked_to_return():
    """What the tutorial's ``test`` trains on: metrics of a run cut short are no results."""
    seeds = [np.random.SeedSequence(0)]
    with pytest.raises(Interrupted, match="after 0 of 2 epochs"):
        train_population([TINY], seeds, DATA, callbacks=[CtrlCAt(0, 0, 1)])
    _, history, metrics = train_population(
        [TINY], seeds, DATA, callbacks=[CtrlCAt(0, 0, 1)], on_interrupt="return"
    )
    assert history.interrupted and np.isfinite(metrics["test_accuracy"]).all()


# --- the command line -------------------------------------------------------------------------


def with_ctrl_c(monkeypatch, name: str, ctrl_c: Callback) -> None:
    """``nnscratch.experiments.<name>`` (what the commands call) with ``ctrl_c`` joined in."""
    monkeypatch.setattr(
        experiments, name, functools.partial(getattr(experiments, name), callbacks=[ctrl_c])
    )


def test_cli_sweep_stopped_by_ctrl_c_saves_prints_and_exits_130(capsys, monkeypatch, tmp_path):
    with_ctrl_c(monkeypatch, "sweep", CtrlCAt(group=1, epoch=0, batch=1))
    out_file = tmp_path / "sw.csv"
    argv = ["sweep", "--batch-size", "16,32,64", "--hidden", "4", "--trials", "2", "--epochs", "2"]
    code = main([*argv, "--quiet", "--out", str(out_file), "--plot", str(tmp_path / "sw.png")])
    out, err = capsys.readouterr()
    assert code == 130
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("nnscratch sweep: interrupted with 1 of 3 configurations finished")
    assert str(out_file) in err
    assert "interrupted" in out and "n/a" in out  # the table of what there is
    records = load_records(out_file)
    assert [r.interrupted for r in records] == [False] * 2 + [True] * 4
    assert (tmp_path / "sw.png").exists()  # what there is, drawn


def test_cli_experiment_stopped_by_ctrl_c_prints_json_and_exits_130(capsys, monkeypatch):
    with_ctrl_c(monkeypatch, "repeat", CtrlCAt(group=0, epoch=1, batch=0))
    code = main(
        ["experiment", "--trials", "3", "--epochs", "3", "--hidden", "4", "--json", "--quiet"]
    )
    out, err = capsys.readouterr()
    assert code == 130 and err.count("\n") == 1
    assert "0 of 1 configuration finished (0 of 3 trials)" in err
    assert "3 trials marked interrupted, trained for at most 1 of 3 epochs" in err
    payload = json.loads(out)
    assert all(r["interrupted"] for r in payload["records"])
    row = payload["summary"][0]
    assert row["interrupted"] == 3 and row["n"] == 0 and row["mean"] is None


def test_cli_train_stopped_by_ctrl_c_prints_the_network_and_exits_130(capsys, monkeypatch):
    fit = MLP.fit

    def fit_with_ctrl_c(self, X, y, **kwargs):
        callbacks = [*kwargs.pop("callbacks", ()), CtrlCAt(0, epoch=1, batch=0)]
        return fit(self, X, y, callbacks=callbacks, **kwargs)

    monkeypatch.setattr(MLP, "fit", fit_with_ctrl_c)
    code = main(["train", "--epochs", "5", "--hidden", "4", "--json", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 130
    assert err == (
        "nnscratch train: interrupted after 1 of 5 epochs: the accuracies printed are those of "
        "the network as it was then\n"
    )
    payload = json.loads(out)
    assert payload["interrupted"] is True and len(payload["history"]["loss"]) == 1


def test_cli_reproduce_stopped_in_the_width_sweep(capsys, monkeypatch, tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "index.html").write_text("a page of an earlier run")
    monkeypatch.setattr(
        reproduce_module, "sweep", functools.partial(reproduce_module.sweep, callbacks=[CtrlCAt(0)])
    )
    code = main(["reproduce", "--quick", "--quiet", "--out", str(out)])
    stdout, err = capsys.readouterr()
    assert code == 130 and stdout == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("nnscratch reproduce: interrupted during test_class(3, 6, 2)")
    assert "(4 of 9 parts done)" in err and "no index.html" in err
    names = {p.name for p in out.iterdir()}
    assert "index.html" not in names  # only a complete run has a page
    assert not [n for n in names if n.startswith(".")]  # no temporary files
    results = json.loads((out / "results.json").read_text())
    assert results["incomplete"]["why"] == "interrupted"
    assert results["incomplete"]["parts_done"] == ["data", "figures", "experiment", "neuralnet_99"]
    assert "sweep" not in results and len(results["experiment"]["accuracies"]) == 4


# --- Ctrl-C while the command line imports ----------------------------------------------------

# Runs the command line with an import hook that, when MODULE is first imported, says so on
# stdout and waits on stdin: the test sends SIGINT once it reads that line.
BLOCKING_IMPORT = r"""
import signal
import sys

# Ctrl-C as a terminal gives it (a process started in the background inherits it ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)

import nnscratch.cli as cli

module = sys.argv[1]
assert module not in sys.modules, f"{module} is imported already: choose another"


class Block:
    def find_spec(self, name, path=None, target=None):
        if name == module:
            sys.meta_path.remove(self)
            print("importing", name, flush=True)
            sys.stdin.readline()  # a SIGINT arrives here
        return None


sys.meta_path.insert(0, Block())
sys.exit(cli.main(sys.argv[2:]))
"""


def _first_line(stream, timeout: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else ""


@pytest.mark.parametrize(
    "module, argv, prog",
    [
        ("sklearn", ["experiment", "--trials", "1", "--epochs", "1"], "nnscratch experiment"),
        ("nnscratch.experiments", ["train", "--epochs", "1"], "nnscratch"),  # the parser's
    ],
)
def test_ctrl_c_while_importing_is_one_line_and_130(module, argv, prog):
    proc = subprocess.Popen(
        [sys.executable, "-c", BLOCKING_IMPORT, module, *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _first_line(proc.stdout, timeout=120)
        if line != f"importing {module}\n":
            proc.kill()
            pytest.fail(f"no announcement of the import, got {line!r}: {proc.communicate()[1]}")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert err == f"{prog}: interrupted\n"
