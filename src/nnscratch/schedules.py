"""Learning-rate schedules: callbacks that set ``run.optimizer.lr`` at the end of every epoch.

Each follows the ``torch.optim.lr_scheduler`` class of the same name, counted in epochs:
after epoch ``e`` (0-based) the learning rate is what torch's scheduler gives after ``e + 1``
calls to ``step()``. The base rate ``lr_0`` is the optimizer's ``lr`` when training begins,
a scalar or one value per member ``(P,)``; every schedule parameter may be per member too.

A schedule is a callback, passed to ``fit(callbacks=[StepLR(2)])``, which steps it; there
is no ``step()`` to call. Torch's form, the optimizer first (``StepLR(optimizer,
step_size=2)``), is accepted too: that optimizer must then be the one ``fit`` trains with.
"""

from __future__ import annotations

import functools

import numpy as np

from nnscratch.core.callback import Callback, Run
from nnscratch.core.checks import check_choice, check_int, check_range, fail
from nnscratch.core.optim import Optimizer


def torch_form(init):
    """Let ``Schedule(optimizer, ...)``, torch's form, stand for ``Schedule(...)``: a leading
    :class:`~nnscratch.core.optim.Optimizer` is kept in ``self.optimizer`` (else ``None``)."""

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        self.optimizer = None
        if args and isinstance(args[0], Optimizer):
            self.optimizer, args = args[0], args[1:]
        init(self, *args, **kwargs)

    return wrapper


def _check_optimizer(schedule, run: Run) -> None:
    """A schedule made with torch's form must be given the optimizer that trains."""
    if schedule.optimizer is not None and schedule.optimizer is not run.optimizer:
        raise fail(
            "optimizer",
            f"the optimizer fit trains with ({type(run.optimizer).__name__}) for "
            f"{type(schedule).__name__}",
            schedule.optimizer,
        )


def _per_member(name: str, value, low=0.0, low_open=False, high=np.inf, high_open=True):
    population = np.size(value) if np.ndim(value) == 1 else None
    return check_range(name, value, low, high, low_open, high_open, population=population)


class _EpochSchedule(Callback):
    """A closed-form schedule: ``lr = lr_at(t)`` after ``t`` epochs."""

    def on_train_begin(self, run: Run) -> None:
        _check_optimizer(self, run)
        self.base_lr = np.copy(run.optimizer.lr) if np.ndim(run.optimizer.lr) else run.optimizer.lr

    def on_epoch_end(self, run: Run, epoch: int, logs: dict[str, np.ndarray]) -> None:
        run.optimizer.lr = self.lr_at(epoch + 1)

    def lr_at(self, t: int):
        """The learning rate after ``t`` epochs (scheduler steps)."""
        raise NotImplementedError


class StepLR(_EpochSchedule):
    """``lr_t = lr_0 gamma^floor(t / step_size)``: decay by ``gamma`` every ``step_size`` epochs."""

    @torch_form
    def __init__(self, step_size: int, gamma=0.1) -> None:
        self.step_size = check_int("step_size", step_size)
        self.gamma = _per_member("gamma", gamma, low_open=True)

    def lr_at(self, t):
        return self.base_lr * self.gamma ** (t // self.step_size)


class ExponentialLR(_EpochSchedule):
    """``lr_t = lr_0 gamma^t``: decay by ``gamma`` every epoch."""

    @torch_form
    def __init__(self, gamma) -> None:
        self.gamma = _per_member("gamma", gamma, low_open=True)

    def lr_at(self, t):
        return self.base_lr * self.gamma**t


class CosineAnnealingLR(_EpochSchedule):
    """``lr_t = eta_min + (lr_0 - eta_min) (1 + cos(pi t / T_max)) / 2``.

    Loshchilov & Hutter (2017), "SGDR: stochastic gradient descent with warm restarts",
    eq. (5), without restarts: ``lr`` falls from ``lr_0`` to ``eta_min`` over ``T_max``
    epochs (and, past ``T_max``, rises again along the same cosine, as torch's does).
    """

    @torch_form
    def __init__(self, T_max: int, eta_min=0.0) -> None:
        self.T_max = check_int("T_max", T_max)
        self.eta_min = _per_member("eta_min", eta_min)

    def lr_at(self, t):
        cosine = (1 + np.cos(np.pi * t / self.T_max)) / 2
        return self.eta_min + (self.base_lr - self.eta_min) * cosine


class ReduceLROnPlateau(Callback):
    """Multiply a member's ``lr`` by ``factor`` when its monitored value stops improving.

    Per member, as ``torch.optim.lr_scheduler.ReduceLROnPlateau`` (relative threshold): an
    epoch improves when ``value < best (1 - threshold)`` (``mode="min"``; ``"max"``:
    ``value > best (1 + threshold)``). After more than ``patience`` epochs without
    improvement, ``lr := max(lr factor, min_lr)`` (skipped when the change is under ``eps``),
    then ``cooldown`` epochs pass before bad epochs count again. Each member follows its own
    plateau, so ``lr`` becomes an array ``(P,)``. ``monitor="val_loss"`` falls back to
    ``"loss"`` when training has no validation data.
    """

    @torch_form
    def __init__(
        self,
        monitor: str = "val_loss",
        factor=0.1,
        patience: int = 10,
        threshold=1e-4,
        min_lr=0.0,
        cooldown: int = 0,
        mode: str = "min",
        eps: float = 1e-8,
    ) -> None:
        if not isinstance(monitor, str):
            raise fail("monitor", "the name of a logged value, e.g. 'val_loss'", monitor)
        self.monitor = monitor
        self.factor = _per_member("factor", factor, low_open=True, high=1.0)
        self.patience = check_int("patience", patience, minimum=0)
        self.threshold = _per_member("threshold", threshold)
        self.min_lr = _per_member("min_lr", min_lr)
        self.cooldown = check_int("cooldown", cooldown, minimum=0)
        self.mode = check_choice("mode", mode, ("min", "max"))
        self.eps = _per_member("eps", eps)

    def on_train_begin(self, run: Run) -> None:
        _check_optimizer(self, run)
        P = run.net.n_members
        self.best = np.full(P, np.inf if self.mode == "min" else -np.inf)  # (P,)
        self.num_bad_epochs = np.zeros(P, dtype=np.intp)  # (P,)
        self.cooldown_counter = np.zeros(P, dtype=np.intp)  # (P,)

    def on_epoch_end(self, run: Run, epoch: int, logs: dict[str, np.ndarray]) -> None:
        key = self.monitor
        if key not in logs and key == "val_loss":
            key = "loss"
        if key not in logs:
            raise fail("monitor", f"one of the logged values ({', '.join(logs)})", self.monitor)
        current = np.asarray(logs[key], dtype=np.float64)  # (P,)
        if self.mode == "min":
            better = current < self.best * (1 - self.threshold)
        else:
            better = current > self.best * (1 + self.threshold)
        self.best = np.where(better, current, self.best)
        self.num_bad_epochs = np.where(better, 0, self.num_bad_epochs + 1)
        cooling = self.cooldown_counter > 0
        self.cooldown_counter[cooling] -= 1
        self.num_bad_epochs[cooling] = 0  # bad epochs do not count while cooling down
        reduce = self.num_bad_epochs > self.patience  # (P,)
        if reduce.any():
            lr = np.broadcast_to(np.asarray(run.optimizer.lr, dtype=np.float64), current.shape)
            new = np.maximum(lr * self.factor, self.min_lr)  # (P,)
            run.optimizer.lr = np.where(reduce & (lr - new > self.eps), new, lr)
            self.cooldown_counter[reduce] = self.cooldown
            self.num_bad_epochs[reduce] = 0
