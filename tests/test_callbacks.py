"""Callbacks: early stopping per member, CSV log, checkpoints, progress bar, NaN guard."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

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


def unchanged(net, before):
    return all(np.array_equal(v, before[k]) for k, v in net.population_state.items())


@pytest.mark.parametrize(
    "monitor, loss, validation, logged",
    [  # the keys listed, in the loop's order ("(and val_... with validation data)" where
        # the Run does not say whether it validates)
        ("val_los", "cross_entropy", True, "loss, accuracy,? .*val_loss, val_accuracy"),
        ("val_acc", "cross_entropy", True, "loss, accuracy,? .*val_loss, val_accuracy"),
        ("Loss", "cross_entropy", False, "loss, accuracy \\(.*val_loss, val_accuracy"),
        ("accuracy", "mse", True, "loss,? .*val_loss.*, got 'accuracy'"),
        ("val_loss", "cross_entropy", False, "loss, accuracy \\(val_loss"),  # needs Run.validation
    ],
)
@pytest.mark.parametrize("make", [nns.EarlyStopping, nns.ModelCheckpoint])
def test_a_monitor_the_loop_will_not_log_fails_before_any_batch(
    tmp_path, make, monitor, loss, validation, logged
):
    callback = (
        make(monitor=monitor) if make is nns.EarlyStopping else make(tmp_path / "w.npz", monitor)
    )
    net = nns.MLP([3, 4, 3], seed=1, population=2, loss=loss)
    y = Y if loss == "cross_entropy" else np.eye(3)[Y]
    before = {k: v.copy() for k, v in net.population_state.items()}
    with pytest.raises(ValueError, match="monitor: expected one of the values logged.*" + logged):
        net.fit(X, y, epochs=2, validation_split=0.25 if validation else 0.0, callbacks=[callback])
    assert unchanged(net, before)
    assert list(tmp_path.iterdir()) == []


def test_a_monitor_another_callback_may_add_is_checked_when_the_epoch_ends():
    net = nns.MLP([3, 4, 3], seed=1)
    stopper = nns.EarlyStopping(monitor="val_auc")  # unlike the loop's names: not a typo
    with pytest.raises(ValueError, match="monitor: expected one of the logged values"):
        net.fit(X, Y, epochs=2, validation_data=(XV, YV), callbacks=[stopper])
    history = net.fit(
        X, Y, epochs=2, callbacks=[Scripted(np.ones((2, 1))), nns.EarlyStopping("custom")]
    )
    assert history.epochs == 2


def test_the_monitor_check_where_the_loop_does_not_say_whether_it_validates():
    net = nns.MLP([3, 4, 3], seed=1)
    for validation in (None, True):  # None: a Run without the field; val_... checked later
        run = SimpleNamespace(net=net, epochs=1, validation=validation)
        if validation is None:
            del run.validation
        nns.EarlyStopping("val_loss").on_train_begin(run)
        with pytest.raises(ValueError, match="monitor: .*loss, accuracy.*got 'val_los'"):
            nns.EarlyStopping("val_los").on_train_begin(run)
    with pytest.raises(ValueError, match="monitor: .*need validation_data or validation_split"):
        nns.EarlyStopping("val_loss").on_train_begin(SimpleNamespace(net=net, validation=False))


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: nns.EarlyStopping(restore_best_weights="no"), "restore_best_weights"),
        (lambda: nns.EarlyStopping(restore_best_weights=None), "restore_best_weights"),
        (lambda: nns.ModelCheckpoint("w.npz", save_best_only="False"), "save_best_only"),
        (lambda: nns.ProgressBar(disable="yes"), "disable"),
        (lambda: nns.ProgressBar(file=5), "file"),
        (lambda: nns.ProgressBar(file="log.txt"), "file"),
        (lambda: nns.CSVLogger(5), "path"),
        (lambda: nns.CSVLogger(None), "path"),
        (lambda: nns.ModelCheckpoint(None), "path"),
        (lambda: nns.ModelCheckpoint(5), "path"),
    ],
)
def test_callback_arguments_of_the_wrong_kind(make, name):
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        make()


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


@pytest.mark.parametrize(
    "pattern", ["w{foo}.npz", "w{0}.npz", "w{}.npz", "w{epoch:s}.npz", "w{.npz", "w{epoch[0]}.npz"]
)
def test_checkpoint_pattern_is_checked(tmp_path, pattern):
    with pytest.raises(
        ValueError, match=r"^path: expected a file path whose only field is \{epoch\}"
    ):
        nns.ModelCheckpoint(tmp_path / pattern)


def test_checkpoint_names_are_checked_for_the_last_epoch(tmp_path):
    """'w' * 250 + '9.npz' fits (255 bytes); the name of epoch 10 would not."""
    callback = nns.ModelCheckpoint(tmp_path / ("w" * 250 + "{epoch}.npz"), save_best_only=False)
    with pytest.raises(ValueError, match="path: expected file and folder names of at most 255"):
        nns.MLP([3, 4, 3], seed=1).fit(X, Y, epochs=10, callbacks=[callback])
    assert list(tmp_path.iterdir()) == []


def test_save_and_load_weights(tmp_path):
    net = nns.MLP([3, 4, 3], seed=9, population=3)
    save_weights(net, tmp_path / "w.npz")
    other = nns.MLP([3, 4, 3], seed=10, population=3)
    load_weights(other, tmp_path / "w.npz")
    np.testing.assert_array_equal(other.params["W1"], net.params["W1"])
    with pytest.raises(
        ValueError, match="sizes: file has \\[3, 4, 3\\], network has \\[3, 5, 3\\]"
    ):
        load_weights(nns.MLP([3, 5, 3], population=3), tmp_path / "w.npz")
    with pytest.raises(ValueError, match="batch_norm: file has False, network has True"):
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
