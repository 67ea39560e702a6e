"""Learning-rate schedules: closed forms, torch's schedulers, per-member plateaus."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import make_blobs

import nnscratch as nns
from nnscratch.core.callback import History, Run


class Record(nns.Callback):
    """The optimizer's lr and the parameters after every epoch (placed after the schedule)."""

    def on_train_begin(self, run):
        self.lrs, self.params = [], []

    def on_epoch_end(self, run, epoch, logs):
        self.lrs.append(np.broadcast_to(run.optimizer.lr, run.active.shape).copy())  # (P,)
        self.params.append({k: v.copy() for k, v in run.net.params.items()})


def fit_with(schedule, epochs, lr=0.1, population=2, **kwargs):
    X, y = make_blobs(n=20, n_features=2, n_classes=3)
    net = nns.MLP([2, 4, 3], population=population, seed=0)
    record = Record()
    history = net.fit(
        X,
        y,
        epochs=epochs,
        batch_size=8,
        optimizer=nns.SGD(lr=lr),
        callbacks=[schedule, record],
        **kwargs,
    )
    return np.array(record.lrs), record, history


def torch_lrs(make, epochs, lr=0.1):
    """torch's lr after 1, 2, ..., ``epochs`` calls to ``scheduler.step()``."""
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = make(torch.optim.lr_scheduler, opt)
    out = []
    for _ in range(epochs):
        opt.step()
        scheduler.step()
        out.append(opt.param_groups[0]["lr"])
    return np.array(out)


CLOSED_FORMS = [
    (lambda: nns.StepLR(3, gamma=0.5), lambda t: 0.1 * 0.5 ** (t // 3)),
    (lambda: nns.ExponentialLR(0.9), lambda t: 0.1 * 0.9**t),
    (
        lambda: nns.CosineAnnealingLR(T_max=5, eta_min=0.01),
        lambda t: 0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * t / 5)) / 2,
    ),
]


@pytest.mark.parametrize(("make", "formula"), CLOSED_FORMS, ids=["step", "exp", "cosine"])
def test_lr_after_each_epoch_follows_the_closed_form(make, formula):
    lrs, _, _ = fit_with(make(), epochs=8)  # past T_max: the cosine rises again
    expected = [formula(e + 1) for e in range(8)]
    np.testing.assert_allclose(lrs, np.array(expected)[:, None].repeat(2, axis=1), rtol=1e-14)


TORCH = [
    (lambda: nns.StepLR(3, gamma=0.5), lambda s, o: s.StepLR(o, 3, gamma=0.5)),
    (lambda: nns.ExponentialLR(0.9), lambda s, o: s.ExponentialLR(o, 0.9)),
    (
        lambda: nns.CosineAnnealingLR(T_max=5, eta_min=0.01),
        lambda s, o: s.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
    ),
    (lambda: nns.CosineAnnealingLR(T_max=4), lambda s, o: s.CosineAnnealingLR(o, T_max=4)),
]


@pytest.mark.parametrize(("ours", "theirs"), TORCH, ids=["step", "exp", "cosine", "cosine0"])
def test_lr_after_each_epoch_matches_torch(ours, theirs):
    lrs, _, _ = fit_with(ours(), epochs=11)
    np.testing.assert_allclose(
        lrs, torch_lrs(theirs, 11)[:, None].repeat(2, axis=1), rtol=1e-12, atol=1e-16
    )


def test_per_member_base_lr_and_gamma():
    lrs, _, _ = fit_with(nns.ExponentialLR([0.5, 0.9]), epochs=3, lr=[0.1, 0.2])
    np.testing.assert_allclose(lrs, [[0.1 * 0.5**t, 0.2 * 0.9**t] for t in (1, 2, 3)], rtol=1e-14)


def test_cosine_may_anneal_to_zero_and_then_nothing_moves():
    lrs, record, _ = fit_with(nns.CosineAnnealingLR(T_max=2), epochs=3)
    assert np.all(lrs[1] == 0.0)  # after T_max epochs: eta_min exactly
    for key, value in record.params[1].items():  # the third epoch trains with lr 0
        np.testing.assert_array_equal(record.params[2][key], value)


def test_population_with_schedule_equals_members_trained_alone():
    X, y = make_blobs(n=20, n_features=2, n_classes=3, seed=1)
    lr, gamma = [0.3, 0.1, 0.2], [0.5, 0.9, 0.7]
    pop = nns.MLP([2, 4, 3], population=3, seed=[1, 2, 3])
    pop.fit(
        X,
        y,
        epochs=3,
        batch_size=6,
        optimizer=nns.Adam(lr=lr),
        seed=[4, 5, 6],
        callbacks=[nns.ExponentialLR(gamma)],
    )
    for p in range(3):
        single = nns.MLP([2, 4, 3], seed=[p + 1])
        single.fit(
            X,
            y,
            epochs=3,
            batch_size=6,
            optimizer=nns.Adam(lr=lr[p]),
            seed=[p + 4],
            callbacks=[nns.ExponentialLR(gamma[p])],
        )
        for key, value in single.params.items():
            np.testing.assert_allclose(pop.params[key][p], value, rtol=0, atol=1e-12)


# --- ReduceLROnPlateau ----------------------------------------------------------------------


def ref_plateau(metrics, lr, factor, patience, threshold=1e-4, min_lr=0.0, cooldown=0):
    """One member's lr after each epoch, torch's algorithm written out plainly (mode min)."""
    best, bad, cool, out = math.inf, 0, 0, []
    for value in metrics:
        if value < best * (1 - threshold):
            best, bad = value, 0
        else:
            bad += 1
        if cool > 0:
            cool, bad = cool - 1, 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > 1e-8:
                lr = new
            cool, bad = cooldown, 0
        out.append(lr)
    return out


# member 0 keeps improving, member 1 is flat from the start, member 2 improves, then stalls
METRICS = np.array([[1 / (e + 1), 1.0, max(1.0 - 0.2 * e, 0.5)] for e in range(12)])


def drive(schedule, metrics, lr=0.1, key="val_loss"):
    """Feed ``metrics`` ``(epochs, P)`` to a callback as if training ran, lr after each epoch."""
    net = SimpleNamespace(n_members=metrics.shape[1])
    run = Run(net, nns.SGD(lr=lr), History(), len(metrics))
    schedule.on_train_begin(run)
    out = []
    for epoch, row in enumerate(metrics):
        schedule.on_epoch_end(run, epoch, {"loss": row + 1.0, key: row})
        out.append(np.broadcast_to(run.optimizer.lr, row.shape).copy())
    return np.array(out)


def test_plateau_reduces_only_the_members_on_a_plateau():
    lrs = drive(nns.ReduceLROnPlateau(factor=0.5, patience=2), METRICS)
    np.testing.assert_array_equal(lrs[:, 0], 0.1)  # never stalls
    flat = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125]
    np.testing.assert_allclose(lrs[:, 1], flat, rtol=1e-15)  # reduced every third bad epoch
    assert lrs[3, 2] == 0.1 and lrs[-1, 2] < 0.1  # reduced only once it stalled


PLATEAUS = [
    {"factor": 0.5, "patience": 2},
    {"factor": 0.3, "patience": 1, "cooldown": 2, "min_lr": 0.02},
    {"factor": 0.5, "patience": 0, "threshold": 0.3},
]


@pytest.mark.parametrize("kwargs", PLATEAUS)
def test_plateau_matches_reference_per_member(kwargs):
    lrs = drive(nns.ReduceLROnPlateau(**kwargs), METRICS)
    for p in range(METRICS.shape[1]):
        np.testing.assert_allclose(lrs[:, p], ref_plateau(METRICS[:, p], 0.1, **kwargs))


@pytest.mark.parametrize("kwargs", PLATEAUS)
def test_plateau_matches_torch_per_member(kwargs):
    torch = pytest.importorskip("torch")
    lrs = drive(nns.ReduceLROnPlateau(**kwargs), METRICS)
    for p in range(METRICS.shape[1]):  # one torch scheduler per member
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        expected = []
        for value in METRICS[:, p]:
            scheduler.step(value)
            expected.append(opt.param_groups[0]["lr"])
        np.testing.assert_allclose(lrs[:, p], expected, rtol=1e-15)


def test_plateau_in_training_monitors_val_loss_or_falls_back_to_loss():
    kwargs = {"factor": 0.5, "patience": 0, "threshold": 0.05}
    lrs, _, history = fit_with(nns.ReduceLROnPlateau(**kwargs), epochs=6, population=3)
    assert lrs.shape == (6, 3)  # one lr per member
    for p in range(3):  # no validation data: the training loss decides
        np.testing.assert_allclose(lrs[:, p], ref_plateau(history["loss"][:, p], 0.1, **kwargs))
    lrs, _, history = fit_with(
        nns.ReduceLROnPlateau(**kwargs), epochs=6, population=3, validation_split=0.3
    )
    for p in range(3):
        expected = ref_plateau(history["val_loss"][:, p], 0.1, **kwargs)
        np.testing.assert_allclose(lrs[:, p], expected)


def test_plateau_on_accuracy_in_max_mode():
    accuracy = np.array([[0.5, 0.5], [0.6, 0.5], [0.7, 0.5], [0.8, 0.5]])
    lrs = drive(
        nns.ReduceLROnPlateau("val_accuracy", patience=1, mode="max"), accuracy, key="val_accuracy"
    )
    np.testing.assert_allclose(lrs, [[0.1, 0.1], [0.1, 0.1], [0.1, 0.01], [0.1, 0.01]])


def test_unknown_monitor_names_the_logged_values():
    with pytest.raises(ValueError, match="^monitor: expected one of the logged values"):
        fit_with(nns.ReduceLROnPlateau(monitor="val_accuracy"), epochs=1)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: nns.StepLR(0), "step_size"),
        (lambda: nns.StepLR(2, gamma=0.0), "gamma"),
        (lambda: nns.ExponentialLR(-0.5), "gamma"),
        (lambda: nns.CosineAnnealingLR(0), "T_max"),
        (lambda: nns.CosineAnnealingLR(5, eta_min=-1.0), "eta_min"),
        (lambda: nns.ReduceLROnPlateau(factor=1.0), "factor"),
        (lambda: nns.ReduceLROnPlateau(patience=-1), "patience"),
        (lambda: nns.ReduceLROnPlateau(cooldown=1.5), "cooldown"),
        (lambda: nns.ReduceLROnPlateau(min_lr=-0.1), "min_lr"),
        (lambda: nns.ReduceLROnPlateau(mode="up"), "mode"),
        (lambda: nns.ReduceLROnPlateau(monitor=3), "monitor"),
    ],
)
def test_bad_schedule_arguments_raise_naming_them(make, name):
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        make()


TORCH_FORM = [
    (lambda o: nns.StepLR(o, step_size=3, gamma=0.5), lambda: nns.StepLR(3, gamma=0.5)),
    (lambda o: nns.StepLR(o, 3, 0.5), lambda: nns.StepLR(3, 0.5)),
    (lambda o: nns.ExponentialLR(o, 0.9), lambda: nns.ExponentialLR(0.9)),
    (lambda o: nns.CosineAnnealingLR(o, T_max=4), lambda: nns.CosineAnnealingLR(T_max=4)),
    (lambda o: nns.ReduceLROnPlateau(o, patience=0), lambda: nns.ReduceLROnPlateau(patience=0)),
]


@pytest.mark.parametrize(("torch_form", "ours"), TORCH_FORM)
def test_torch_form_with_the_optimizer_first_schedules_the_same(torch_form, ours):
    """``StepLR(optimizer, step_size=2)``, as torch writes it, is the same callback."""
    X, y = make_blobs(n=20, n_features=2, n_classes=3)
    runs = []
    for make in (torch_form, ours):
        net, optimizer, record = nns.MLP([2, 4, 3], seed=0), nns.SGD(lr=0.1), Record()
        schedule = make(optimizer) if make is torch_form else make()
        net.fit(X, y, epochs=6, batch_size=8, optimizer=optimizer, callbacks=[schedule, record])
        runs.append(np.array(record.lrs))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_torch_form_refuses_an_optimizer_that_does_not_train():
    X, y = make_blobs(n=20, n_features=2, n_classes=3)
    net, before = nns.MLP([2, 4, 3], seed=0), None
    before = {k: v.copy() for k, v in net.params.items()}
    schedule = nns.StepLR(nns.SGD(lr=0.1), step_size=2)
    with pytest.raises(ValueError, match=r"^optimizer: expected the optimizer fit trains with"):
        net.fit(X, y, epochs=2, optimizer=nns.SGD(lr=0.1), callbacks=[schedule])
    for key, value in net.params.items():  # refused before any step
        np.testing.assert_array_equal(value, before[key])
