"""Callbacks: early stopping per member, CSV log, checkpoints, progress bar, NaN guard."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from helpers import random_classification

import nnscratch as nns
from nnscratch.io.weights import load_weights, save_weights

X, Y, XV, YV = random_classification(12, n_val=8)


class Scripted(nns.Callback):
    """Puts scripted per-member values ``(epochs, P)`` into the logs under ``"custom"`` and
    records the weights every member had at each epoch's end."""

    def __init__(self, values):
        self.values = np.asarray(values, dtype=float)
        self.snapshots = []

    def on_epoch_end(self, run, epoch, logs):
        logs["custom"] = self.values[epoch]
        self.snapshots.append({k: v.copy() for k, v in run.net.population_state.items()})


# --- early stopping ------------------------------------------------------------------------


def test_early_stopping_restores_each_members_best_epoch():
    values = np.array(
        [[5, 5, 5], [4, 4, 6], [3, 3.5, 7], [3.5, 3, 8], [3.6, 2, 9], [3.7, 1, 9], [4, 0, 9]]
    )  # member 0: best epoch 2; member 1: keeps improving; member 2: best epoch 0
    script = Scripted(values)
    stopper = nns.EarlyStopping(monitor="custom", patience=2)
    net = nns.MLP([3, 5, 3], seed=1, population=3, batch_norm=True)
    history = net.fit(X, Y, epochs=7, batch_size=4, callbacks=[script, stopper])
    assert history.epochs == 7
    np.testing.assert_array_equal(stopper.best_epoch, [2, 6, 0])
    np.testing.assert_array_equal(stopper.stopped_epoch, [4, -1, 2])
    for p, best in enumerate([2, 6, 0]):
        for key, value in net.population_state.items():
            np.testing.assert_array_equal(value[p], script.snapshots[best][key][p], err_msg=key)
    # a stopped member is frozen: from its stop on it held its best weights
    np.testing.assert_array_equal(script.snapshots[6]["W1"][0], script.snapshots[2]["W1"][0])


def test_training_ends_when_every_member_has_stopped():
    script = Scripted(np.full((20, 2), 1.0))
    stopper = nns.EarlyStopping(monitor="custom", patience=3)
    history = nns.MLP([3, 4, 3], seed=2, population=2).fit(
        X, Y, epochs=20, callbacks=[script, stopper]
    )
    assert history.epochs == 4  # best at epoch 0, then 3 epochs without improvement
    np.testing.assert_array_equal(stopper.stopped_epoch, [3, 3])


def test_early_stopping_on_val_loss_leaves_the_best_val_loss():
    net = nns.MLP([3, 16, 3], seed=3, population=2)
    stopper = nns.EarlyStopping(patience=3)
    history = net.fit(
        X,
        Y,
        epochs=40,
        batch_size=4,
        optimizer=nns.SGD(lr=[0.5, 2.0]),
        validation_data=(XV, YV),
        callbacks=[stopper],
    )
    np.testing.assert_allclose(net.loss(XV, YV), np.nanmin(history["val_loss"], axis=0))
    assert stopper.mode == "min"


def test_monitor_checks():
    assert nns.EarlyStopping(monitor="val_accuracy").mode == "max"
    with pytest.raises(ValueError, match="monitor.*loss, accuracy"):
        nns.MLP([3, 4, 3]).fit(X, Y, epochs=1, callbacks=[nns.EarlyStopping()])
    with pytest.raises(ValueError, match="patience"):
        nns.EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode"):
        nns.EarlyStopping(mode="up")
    with pytest.raises(ValueError, match="min_delta"):
        nns.EarlyStopping(min_delta=-1.0)


# --- CSV log -------------------------------------------------------------------------------


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_logger_rows_per_epoch_and_member(tmp_path):
    path = tmp_path / "log.csv"
    seen = []

    class Reader(nns.Callback):  # the file is complete after every epoch
        def on_epoch_end(self, run, epoch, logs):
            seen.append(len(read_csv(path)))

    net = nns.MLP([3, 4, 3], seed=4, population=2)
    history = net.fit(
        X, Y, epochs=3, validation_data=(XV, YV), callbacks=[nns.CSVLogger(path), Reader()]
    )
    assert seen == [2, 4, 6]
    rows = read_csv(path)
    assert list(rows[0]) == ["epoch", "member", "loss", "accuracy", "val_loss", "val_accuracy"]
    for row in rows:
        e, p = int(row["epoch"]), int(row["member"])
        for key in history.keys():
            assert float(row[key]) == history[key][e, p]  # full precision
    assert [f.name for f in tmp_path.iterdir()] == ["log.csv"]  # no temporary files left


def test_csv_logger_after_an_interruption(tmp_path):
    path = tmp_path / "log.csv"

    class Interrupt(nns.Callback):
        def on_batch_end(self, run, batch, logs):
            if run.epoch == 2:
                raise KeyboardInterrupt

    history = nns.MLP([3, 4, 3], seed=5).fit(
        X, Y, epochs=5, callbacks=[nns.CSVLogger(path), Interrupt()]
    )
    assert history.interrupted
    assert [int(r["epoch"]) for r in read_csv(path)] == [0, 1]


def test_csv_logger_path_is_checked(tmp_path):
    with pytest.raises(ValueError, match="path"):
        nns.CSVLogger(tmp_path / "missing" / "log.csv")


# --- checkpoints ---------------------------------------------------------------------------


def test_checkpoint_keeps_each_members_best(tmp_path):
    path = tmp_path / "best.npz"
    net = nns.MLP([3, 8, 3], seed=6, population=2, batch_norm=True)
    history = net.fit(
        X,
        Y,
        epochs=15,
        batch_size=4,
        optimizer=nns.SGD(lr=[0.3, 1.5]),
        validation_data=(XV, YV),
        callbacks=[nns.ModelCheckpoint(path)],
    )
    fresh = nns.MLP([3, 8, 3], seed=99, population=2, batch_norm=True)
    load_weights(fresh, path)
    np.testing.assert_allclose(fresh.loss(XV, YV), history["val_loss"].min(axis=0), rtol=1e-12)


def test_checkpoint_every_epoch_and_round_trip(tmp_path):
    pattern = str(tmp_path / "w{epoch:02d}.npz")
    net = nns.MLP([3, 4, 3], seed=7, dropout=0.2, batch_norm=True)
    net.fit(X, Y, epochs=3, callbacks=[nns.ModelCheckpoint(pattern, save_best_only=False)])
    assert sorted(f.name for f in tmp_path.iterdir()) == ["w01.npz", "w02.npz", "w03.npz"]
    copy = nns.MLP([3, 4, 3], seed=8, dropout=0.2, batch_norm=True)
    load_weights(copy, tmp_path / "w03.npz")
    for key, value in net.population_state.items():
        np.testing.assert_array_equal(copy.population_state[key], value)
    np.testing.assert_array_equal(copy.predict_proba(X), net.predict_proba(X))


def test_save_and_load_weights(tmp_path):
    net = nns.MLP([3, 4, 3], seed=9, population=3)
    save_weights(net, tmp_path / "w.npz")
    other = nns.MLP([3, 4, 3], seed=10, population=3)
    load_weights(other, tmp_path / "w.npz")
    np.testing.assert_array_equal(other.params["W1"], net.params["W1"])
    with pytest.raises(ValueError, match="W1"):
        load_weights(nns.MLP([3, 5, 3], population=3), tmp_path / "w.npz")
    with pytest.raises(ValueError, match="gamma1"):
        load_weights(nns.MLP([3, 4, 3], population=3, batch_norm=True), tmp_path / "w.npz")


# --- progress bar and NaN guard ------------------------------------------------------------


def test_progress_bar_is_silent_off_a_terminal():
    stream = io.StringIO()
    nns.MLP([3, 4, 3], seed=11).fit(X, Y, epochs=3, callbacks=[nns.ProgressBar(file=stream)])
    assert stream.getvalue() == ""
    forced = io.StringIO()
    nns.MLP([3, 4, 3], seed=11).fit(
        X, Y, epochs=3, callbacks=[nns.ProgressBar(file=forced, disable=False)]
    )
    assert "3/3" in forced.getvalue() and "loss=" in forced.getvalue()


def test_terminate_on_nan_stops_everything_without_raising():
    class Poison(nns.Callback):
        def on_batch_end(self, run, batch, logs):
            if run.epoch == 1 and batch == 0:
                run.net.population_params["W1"][1, 0, 0] = np.nan

    net = nns.MLP([3, 4, 3], seed=12, population=3)
    with np.errstate(invalid="ignore"):
        history = net.fit(X, Y, epochs=5, batch_size=4, callbacks=[Poison(), nns.TerminateOnNaN()])
    assert history.epochs == 2  # the partial second epoch is recorded
    np.testing.assert_array_equal(history.diverged, [False, True, False])
