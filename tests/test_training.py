"""The training loop: sample weights, non-finite values, Ctrl-C, warm starts, defaults."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from helpers import random_classification

import nnscratch as nns
from nnscratch.core.seeding import child

X, Y, XV, YV = random_classification(12, n_val=6)


class At(nns.Callback):
    """Run ``action(run)`` at the end of batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch, batch, action):
        self.epoch, self.batch, self.action = epoch, batch, action

    def on_batch_end(self, run, batch, logs):
        if run.epoch == self.epoch and batch == self.batch:
            self.action(run)


def set_nan(member):
    def action(run):
        run.net.population_params["W1"][member, 0, 0] = np.nan

    return action


# --- sample weights ------------------------------------------------------------------------


def test_integer_sample_weights_equal_repeated_rows_full_batch():
    counts = np.array([1, 2, 0, 3, 1, 1, 0, 2, 1, 1, 2, 1])
    repeat = np.repeat(np.arange(12), counts)
    a = nns.MLP([3, 5, 3], seed=1, population=2)
    b = nns.MLP([3, 5, 3], seed=1, population=2)
    ha = a.fit(X, Y, epochs=4, batch_size=100, shuffle=False, sample_weight=counts)
    hb = b.fit(X[repeat], Y[repeat], epochs=4, batch_size=100, shuffle=False)
    for key in a.params:
        np.testing.assert_allclose(a.params[key], b.params[key], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-12)


def test_epoch_loss_is_the_weighted_loss_before_the_update():
    w = np.linspace(0.1, 2.0, 12)
    net = nns.MLP([3, 5, 3], seed=2, l2=0.01)
    before = net.loss(X, Y, sample_weight=w)
    history = net.fit(X, Y, epochs=1, batch_size=12, sample_weight=w, validation_data=(XV, YV))
    assert history["loss"][0, 0] == pytest.approx(before, rel=1e-13)
    assert history["val_loss"][0, 0] == pytest.approx(net.loss(XV, YV), rel=1e-13)


def test_validation_weights_and_split():
    wv = np.array([1.0, 0.0, 2.0, 1.0, 1.0, 0.5])
    net = nns.MLP([3, 5, 3], seed=3)
    history = net.fit(X, Y, epochs=1, validation_data=(XV, YV, wv))
    assert history["val_loss"][0, 0] == pytest.approx(net.loss(XV, YV, sample_weight=wv))
    assert history["val_accuracy"][0, 0] == pytest.approx(net.score(XV, YV, sample_weight=wv))
    net.fit(X, Y, epochs=1, validation_split=0.25, sample_weight=np.ones(12))
    with pytest.raises(ValueError, match="w_val"):
        net.fit(X, Y, validation_data=(XV, YV, np.ones(5)))
    with pytest.raises(ValueError, match="sample_weight"):
        net.fit(X, Y, sample_weight=-np.ones(12))


def test_regressor_history_has_no_accuracy():
    y = X @ np.array([1.0, -2.0, 0.5])
    net = nns.MLP([3, 8, 1], loss="mse", seed=4)
    history = net.fit(X, y, epochs=30, batch_size=4, validation_split=0.25)
    assert history.keys() == ["loss", "val_loss"]
    assert history["loss"][-1, 0] < history["loss"][0, 0]


def test_single_network_history_keeps_the_member_axis():
    """A history is per member for one network too, (epochs, 1), while its weights and
    predictions drop the axis: settled and documented in History."""
    net = nns.MLP([3, 4, 3], seed=0)
    history = net.fit(X, Y, epochs=3, batch_size=5, validation_data=(X, Y))
    assert net.params["W1"].shape == (3, 4) and net.predict(X).shape == (X.shape[0],)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert history[key].shape == (3, 1)
    assert history["val_loss"][-1, 0] == pytest.approx(net.loss(X, Y), rel=1e-12)
    assert "(epochs, 1)" in nns.History.__doc__


# --- non-finite values ---------------------------------------------------------------------


def test_nonfinite_raises_naming_members_and_epoch():
    net = nns.MLP([3, 5, 3], seed=5, population=3)
    with pytest.raises(nns.NonFiniteError, match=r"member\(s\) \[1\].*epoch 2") as err:
        net.fit(X, Y, epochs=4, batch_size=4, callbacks=[At(1, 0, set_nan(1))])
    assert isinstance(err.value, FloatingPointError)
    assert err.value.members == [1] and err.value.epoch == 1


def test_nonfinite_weights_found_at_the_end_of_the_epoch():
    net = nns.MLP([3, 5, 3], seed=5, population=2)
    with pytest.raises(nns.NonFiniteError, match=r"\[0\].*epoch 1"):
        net.fit(X, Y, epochs=3, batch_size=4, callbacks=[At(0, 2, set_nan(0))])  # last batch


def test_nonfinite_stop_freezes_and_flags_the_diverged_member():
    kw = dict(epochs=4, batch_size=4, optimizer=nns.SGD(lr=0.1))
    net = nns.MLP([3, 5, 3], seed=6, population=3)
    with np.errstate(invalid="ignore"):
        history = net.fit(X, Y, on_nonfinite="stop", callbacks=[At(1, 0, set_nan(1))], **kw)
    np.testing.assert_array_equal(history.diverged, [False, True, False])
    assert history.epochs == 4
    assert np.isnan(history["loss"][1:, 1]).all() and np.isfinite(history["loss"][:, [0, 2]]).all()
    ss = np.random.SeedSequence(6)
    for p in (0, 2):  # the others finish exactly as they would have alone
        alone = nns.MLP([3, 5, 3], seed=[child(ss, p)])
        alone.fit(X, Y, **{**kw, "optimizer": nns.SGD(lr=0.1)})
        np.testing.assert_allclose(net.params["W2"][p], alone.params["W2"], rtol=1e-12)


def test_real_divergence_is_caught():
    y = X[:, 0] * 1e3
    net = nns.MLP([3, 8, 1], loss="mse", seed=7)
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError, match="member"):
        net.fit(X, y, epochs=50, optimizer=nns.SGD(lr=10.0))


def test_on_nonfinite_is_checked():
    with pytest.raises(ValueError, match="on_nonfinite"):
        nns.MLP([3, 4, 3]).fit(X, Y, on_nonfinite="ignore")


# --- Ctrl-C --------------------------------------------------------------------------------


def interrupt(run):
    raise KeyboardInterrupt


def test_keyboard_interrupt_keeps_the_model_and_history():
    kw = dict(epochs=5, batch_size=4, optimizer=nns.SGD(lr=0.1), seed=1)
    net = nns.MLP([3, 5, 3], seed=8, population=2)
    history = net.fit(X, Y, callbacks=[At(2, 1, interrupt)], **kw)
    assert history.interrupted
    assert history.epochs == 2  # the completed epochs
    ref = nns.MLP([3, 5, 3], seed=8, population=2)

    def stop(run):
        run.stop = True

    ref_history = ref.fit(X, Y, callbacks=[At(2, 1, stop)], **{**kw, "optimizer": nns.SGD(0.1)})
    assert not ref_history.interrupted
    for key in net.params:  # weights after batch 1 of epoch 3: nothing lost, nothing extra
        np.testing.assert_array_equal(net.params[key], ref.params[key])


def test_ctrl_c_signal_stops_after_the_current_batch():
    kw = dict(epochs=5, batch_size=4, optimizer=nns.SGD(lr=0.1), seed=1)
    net = nns.MLP([3, 5, 3], seed=9)
    previous = signal.getsignal(signal.SIGINT)
    history = net.fit(
        X, Y, callbacks=[At(1, 0, lambda run: os.kill(os.getpid(), signal.SIGINT))], **kw
    )
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is put back
    assert history.interrupted and history.epochs == 1
    ref = nns.MLP([3, 5, 3], seed=9)
    ref.fit(
        X,
        Y,
        epochs=2,
        batch_size=4,
        optimizer=nns.SGD(lr=0.1),
        seed=1,
        callbacks=[At(1, 0, lambda run: setattr(run, "stop", True))],
    )
    np.testing.assert_array_equal(net.params["W1"], ref.params["W1"])


# --- warm start and defaults ---------------------------------------------------------------


def test_fit_again_continues_with_the_optimizer_state():
    once = nns.MLP([3, 5, 3], seed=10)
    once.fit(X, Y, epochs=6, batch_size=5, shuffle=False, optimizer=nns.Adam(lr=0.01))
    twice = nns.MLP([3, 5, 3], seed=10)
    opt = nns.Adam(lr=0.01)
    twice.fit(X, Y, epochs=3, batch_size=5, shuffle=False, optimizer=opt)
    assert opt.t == 9
    twice.fit(X, Y, epochs=3, batch_size=5, shuffle=False, optimizer=opt)
    assert opt.t == 18
    for key in once.params:
        np.testing.assert_array_equal(once.params[key], twice.params[key])
    fresh = nns.MLP([3, 5, 3], seed=10)  # a new optimizer: the moments start over
    fresh.fit(X, Y, epochs=3, batch_size=5, shuffle=False, optimizer=nns.Adam(lr=0.01))
    fresh.fit(X, Y, epochs=3, batch_size=5, shuffle=False, optimizer=nns.Adam(lr=0.01))
    assert not np.array_equal(fresh.params["W1"], once.params["W1"])


def test_default_optimizer_is_adam():
    a, b = nns.MLP([3, 5, 3], seed=11), nns.MLP([3, 5, 3], seed=11)
    a.fit(X, Y, epochs=2, batch_size=4, seed=0)
    b.fit(X, Y, epochs=2, batch_size=4, seed=0, optimizer=nns.Adam(lr=1e-3))
    np.testing.assert_array_equal(a.params["W1"], b.params["W1"])


def test_stop_from_a_batch_callback_records_the_partial_epoch():
    net = nns.MLP([3, 5, 3], seed=12)
    history = net.fit(
        X, Y, epochs=3, batch_size=4, callbacks=[At(1, 0, lambda run: setattr(run, "stop", True))]
    )
    assert history.epochs == 2 and not history.interrupted
