"""Promises that hold under attack: Ctrl-C on every engine, divergence that loses nothing,
refused calls that change nothing, and sizes that are refused before they are allocated."""

from __future__ import annotations

import importlib.util
import os
import signal

import numpy as np
import pytest
from conftest import make_blobs

import nnscratch as nns
from nnscratch import tutorial as T
from nnscratch.core.checks import check_labels

X, Y = make_blobs(n=40, n_features=2, n_classes=2)
needs_numba = pytest.mark.skipif(
    importlib.util.find_spec("numba") is None, reason="the compiled path needs numba"
)


class At(nns.Callback):
    """Run ``action(run)`` at the end of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch, action):
        self.epoch, self.action = epoch, action

    def on_epoch_end(self, run, epoch, logs):
        if epoch == self.epoch:
            self.action(run)


def ctrl_c(run):
    os.kill(os.getpid(), signal.SIGINT)  # what a terminal sends on Ctrl-C


# --- Ctrl-C ---------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["numpy", pytest.param("numba", marks=needs_numba)])
def test_ctrl_c_stops_every_engine_after_the_epoch_it_lands_in(engine):
    """The compiled epoch sees no signal while it runs; the loop honours one after it."""
    net = nns.MLP([2, 8, 2], seed=0, population=8)
    history = net.fit(
        X, Y, epochs=50, batch_size=5, optimizer=nns.SGD(lr=0.1), engine=engine,
        callbacks=[At(2, ctrl_c)],
    )  # fmt: skip
    assert history.interrupted and history.epochs == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    assert np.isfinite(net.score(X, Y)).all()  # what was trained is kept and usable


# --- divergence ---------------------------------------------------------------------------


class Blow(nns.Callback):
    """Make member ``p``'s weights NaN during batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch, batch, p):
        self.epoch, self.batch, self.p = epoch, batch, p

    def on_batch_end(self, run, batch, logs):
        if run.epoch == self.epoch and batch == self.batch:
            run.net.population_params["W1"][self.p, 0, 0] = np.nan


class Snapshots(nns.Callback):
    """Every member's parameters when training begins and after each epoch."""

    def on_train_begin(self, run):
        self.params = [{k: v.copy() for k, v in run.net.params.items()}]

    def on_epoch_end(self, run, epoch, logs):
        self.params.append({k: v.copy() for k, v in run.net.params.items()})


def test_divergence_after_good_epochs_rolls_back_instead_of_destroying_them():
    net = nns.MLP([2, 8, 2], seed=1)
    net.fit(X, Y, epochs=5, batch_size=8, optimizer=nns.SGD(lr=0.1))
    snapshots = Snapshots()
    with np.errstate(all="ignore"), pytest.raises(nns.NonFiniteError, match="rolled back") as err:
        net.fit(X, Y, epochs=5, batch_size=8, optimizer=nns.SGD(lr=1e12), callbacks=[snapshots])
    began = snapshots.params[err.value.epoch]  # where the diverging epoch began
    for key, value in net.params.items():
        np.testing.assert_array_equal(value, began[key])
        assert np.isfinite(value).all()
    assert np.isfinite(net.score(X, Y))  # predicts again, instead of NaN everywhere


def test_a_diverged_member_is_rolled_back_and_its_optimizer_state_restarts():
    net = nns.MLP([2, 8, 2], seed=2, population=3)
    optimizer = nns.Adam(lr=0.01)
    start = {}

    class Keep(nns.Callback):
        def on_epoch_end(self, run, epoch, logs):
            if epoch == 1:  # the state epoch 2 begins from
                start.update({k: v.copy() for k, v in run.net.population_params.items()})

    with np.errstate(invalid="ignore"):
        history = net.fit(
            X, Y, epochs=4, batch_size=8, optimizer=optimizer, on_nonfinite="stop",
            callbacks=[Keep(), Blow(2, 1, p=1)],
        )  # fmt: skip
    np.testing.assert_array_equal(history.diverged, [False, True, False])
    for key, value in net.population_params.items():
        np.testing.assert_array_equal(value[1], start[key][1])  # frozen where epoch 2 began
        assert np.isfinite(value).all()
    for moments in optimizer.state.values():  # restarted at 0: no NaN to poison a later fit
        for value in moments.values():
            assert np.isfinite(value).all()
    assert np.isnan(history["loss"][2:, 1]).all() and np.isfinite(history["loss"][:2]).all()
    assert np.isfinite(net.score(X, Y)).all()


def test_predicting_with_weights_that_are_not_finite_raises():
    net = nns.MLP([2, 4, 2], seed=0, population=3)
    net.population_params["W2"][2, 1, 0] = np.inf
    for call in (net.predict, net.predict_proba, net.decision_function):
        with pytest.raises(nns.NonFiniteError, match=r"member\(s\) \[2\] have weights"):
            call(X)
    with pytest.raises(nns.NonFiniteError):
        net.score(X, Y)
    np.testing.assert_array_equal(net.select([0, 1]).predict(X).shape, (2, X.shape[0]))


# --- refused calls change nothing ---------------------------------------------------------


class Refuse(nns.Callback):
    def on_train_begin(self, run):
        raise ValueError("monitor: expected a logged value, got 'val_los'")


def test_a_call_refused_by_a_callback_leaves_later_calls_as_a_fresh_networks():
    refused, fresh = (
        nns.MLP([2, 6, 2], seed=3, dropout=0.3),
        nns.MLP([2, 6, 2], seed=3, dropout=0.3),
    )
    with pytest.raises(ValueError, match="monitor"):
        refused.fit(X, Y, epochs=2, callbacks=[Refuse()])
    for key, value in refused.params.items():
        np.testing.assert_array_equal(value, fresh.params[key])
    a = refused.fit(X, Y, epochs=2, batch_size=8)
    b = fresh.fit(X, Y, epochs=2, batch_size=8)
    np.testing.assert_array_equal(a["loss"], b["loss"])  # same shuffles, same dropout masks


@pytest.mark.parametrize("callbacks", [None, 5, "EarlyStopping", [None], nns.EarlyStopping()])
def test_callbacks_must_be_a_list_of_callbacks(callbacks):
    with pytest.raises(ValueError, match=r"^callbacks: expected a list of nnscratch Callback"):
        nns.MLP([2, 4, 2]).fit(X, Y, callbacks=callbacks)


def test_unsigned_labels_are_reported_as_they_are():
    labels = np.array([0, 1, 2**64 - 1], dtype=np.uint64)
    with pytest.raises(ValueError, match=rf"got values from 0 to {2**64 - 1}$"):
        check_labels(labels, 3, 2)


# --- sizes refused before they are allocated ----------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: nns.MLP([2, 10**5, 2], population=10**5),
        lambda: nns.MLP([2, 10**10, 2]),
        lambda: nns.MLP([2, 4, 2], population=10**11),
    ],
)
def test_networks_that_do_not_fit_in_memory_are_refused_with_the_estimate(make):
    with pytest.raises(ValueError, match=r"^sizes: expected sizes that fit in memory .* GiB$"):
        make()


def test_one_hot_rows_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="^labels: expected class indices 0..K-1, got the label"):
        T.one_hot_encode([0, 10**10])
    with pytest.raises(ValueError, match="^n_class: expected sizes that fit in memory"):
        T.one_hot_encode([0, 1], n_class=10**12)
    with pytest.raises(ValueError, match="^labels: expected integer class indices"):
        T.one_hot_encode(["a", "b"])
    with pytest.raises(ValueError, match=r"^labels: expected a 1-D array"):
        T.one_hot_encode([[0, 1]])


def test_a_label_far_above_the_classes_seen_is_refused_as_such():
    data = (X[:4], [0, 1, 0, 10**9], X[:4], [0, 1, 0, 1])
    with pytest.raises(ValueError, match=r"^train_label: .* the label 1000000000 among 3 distinct"):
        T.test(*data, 2, 1, 2, verbose=False)
    assert nns.data.n_classes(np.arange(1500)) == 1500  # many classes, all seen: fine
    assert nns.data.n_classes([0, 5]) == 6  # a few classes missing from a sample: fine


def test_the_tutorial_fit_passes_ctrl_c_on_keeping_the_epochs_done(monkeypatch):
    """T.fit has no callbacks: Ctrl-C is simulated as the loop's handler records it, when
    the second epoch begins; fit keeps the first epoch in the model and raises."""
    from nnscratch.core.epoch import Freezer

    checkpoint = Freezer.checkpoint

    def ctrl_c_in_epoch_two(self):
        self.run.interrupt_requested = self.run.epoch == 1 or self.run.interrupt_requested
        checkpoint(self)

    monkeypatch.setattr(Freezer, "checkpoint", ctrl_c_in_epoch_two)
    model = T.init_network(seed=0)
    before = {k: v.copy() for k, v in model.items()}
    with pytest.raises(KeyboardInterrupt):
        T.fit(model, X, Y, batch_size=8, iter_num=5, seed=1)
    assert not np.array_equal(model["W1"], before["W1"])  # the first epoch is kept


def test_networks_deeper_than_the_kernels_take_run_on_numpy():
    from nnscratch.fast import epoch as fast

    deep = nns.MLP([2] + [3] * fast.MAX_LAYERS + [2], population=8)
    assert "layers" in (fast.unsupported_network(deep) or "")
    assert fast.unsupported_network(nns.MLP([2, 3, 2], population=8)) in (
        None,
        "numba is not installed",
    )


# --- records -------------------------------------------------------------------------------


@pytest.mark.parametrize("records", [None, 5, "records.json", [None], [{"trial": 0}]])
def test_summarize_names_what_it_wants(records):
    from nnscratch.experiments import summarize

    with pytest.raises(ValueError, match=r"^records: expected a list of TrialRecord"):
        summarize(records)


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_load_records_of_a_binary_file_names_the_path(tmp_path, suffix):
    from nnscratch.experiments import load_records

    path = tmp_path / f"records{suffix}"
    path.write_bytes(b"\x00\xff\xfe\x80 not text")
    with pytest.raises(ValueError, match=rf"^path: expected a {suffix[1:].upper()} file of"):
        load_records(path)


def test_a_decision_boundary_grid_that_does_not_fit_is_refused():
    from nnscratch.plots import plot_decision_boundary, probability_grid

    net = nns.MLP([2, 4, 2], seed=0)
    with pytest.raises(ValueError, match=r"^resolution: expected sizes that fit in memory"):
        plot_decision_boundary(net, X, Y, resolution=10**6)
    assert probability_grid(net, X, resolution=3)[2].shape == (1, 3, 3, 2)


def test_training_batches_that_do_not_fit_are_refused_before_any_change():
    # the weights fit (40k of them); a batch of 10**6 rows through 10**4 units does not
    X = np.zeros((10**6, 2))
    y = np.arange(10**6) % 2
    net = nns.MLP([2, 10**4, 2], seed=0)
    before = {k: v.copy() for k, v in net.population_state.items()}
    with pytest.raises(
        ValueError,
        match=r"^batch_size: expected sizes that fit in memory .*"
        r"on batches of 1000000 of 1000000 rows, about \d+ GiB$",
    ):
        net.fit(X, y, batch_size=10**6, epochs=1)
    assert getattr(net, "_n_fits", 0) == 0
    for key, value in net.population_state.items():
        np.testing.assert_array_equal(value, before[key])
