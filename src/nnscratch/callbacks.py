"""Callbacks for :meth:`MLP.fit`: early stopping, progress bar, CSV log, checkpoints, NaN guard.

Every callback is population-aware: it sees per-member values ``(P,)`` and acts per member
(a member that stops early is frozen through ``run.active`` while the others go on).
Files are written atomically (a temporary file in the same directory, then ``os.replace``),
so a reader never sees a half-written log or checkpoint.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import sys

import numpy as np

from nnscratch.core.callback import Callback, Run
from nnscratch.core.checks import check_choice, check_int, check_range, fail
from nnscratch.io.atomic import atomic_open, check_writable
from nnscratch.io.weights import save_weights

__all__ = [
    "CSVLogger",
    "EarlyStopping",
    "ModelCheckpoint",
    "ProgressBar",
    "TerminateOnNaN",
]


# --- monitoring a logged value -----------------------------------------------------------

#: Every value the training loop ever logs: ``loss``, for a classifier ``accuracy``, and both
#: again as ``val_...`` with validation data (or a validation split).
_LOOP_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def _check_bool(name: str, value) -> bool:
    """True or False, not any truthy value (``"no"`` is truthy): checks.py has no such check."""
    if not isinstance(value, (bool, np.bool_)):
        raise fail(name, "True or False", value)
    return bool(value)


def _like_a_loop_key(monitor: str) -> bool:
    """A name meant as one of the loop's values: a different case or separator, a typo
    (``val_los``) or an abbreviation (``val_acc``). Other names (``val_auc``, ``lr``) may be
    values another callback adds to the logs."""
    name = monitor.lower().replace("-", "_").replace(" ", "_")
    close = difflib.get_close_matches(name, _LOOP_KEYS, n=1, cutoff=0.9)
    return bool(close) or any(key.startswith(name) for key in _LOOP_KEYS)


class _Monitor(Callback):
    """Tracks, per member, the best value of one logged key (``mode``: min, max or auto).

    ``monitor`` is checked when training begins, before any batch: a name the loop will not
    log in this run (``val_loss`` without validation, ``accuracy`` for a regressor, a typo
    such as ``val_los``) raises ``ValueError`` listing the values it will log.
    """

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0) -> None:
        if not isinstance(monitor, str):
            raise fail("monitor", "the name of a logged value, e.g. 'val_loss'", monitor)
        self.monitor = monitor
        mode = check_choice("mode", mode, {"auto", "min", "max"})
        if mode == "auto":
            mode = "max" if monitor.endswith(("accuracy", "score", "r2")) else "min"
        self.mode = mode
        self.min_delta = check_range("min_delta", min_delta, low=0.0)

    def on_train_begin(self, run: Run) -> None:
        P = run.net.n_members
        self.best = np.full(P, np.inf if self.mode == "min" else -np.inf)
        self.best_epoch = np.full(P, -1)

    def _check_monitor(self, run: Run) -> None:
        """Refuse, before any batch, a ``monitor`` that the loop will not log in this run.

        A name unlike any of the loop's values may be one another callback adds to the
        logs; that one is checked when the first epoch ends.
        """
        train = ["loss", "accuracy"] if run.net.loss_fn.classifier else ["loss"]
        val = [f"val_{key}" for key in train]
        validation = getattr(run, "validation", None)  # None: a loop that does not say
        logged = train + val if validation else train
        if self.monitor in logged or (validation is None and self.monitor in val):
            return
        if self.monitor in _LOOP_KEYS or _like_a_loop_key(self.monitor):
            keys = ", ".join(logged)
            if validation is None:
                keys += " (and " + ", ".join(val) + " with validation data)"
            elif not validation:
                keys += " (" + ", ".join(val) + " need validation_data or validation_split)"
            raise fail("monitor", f"one of the values logged in this run: {keys}", self.monitor)

    def _improved(self, run: Run, logs: dict[str, np.ndarray]) -> np.ndarray:
        """``(P,)``: active members whose value beat their best by more than ``min_delta``."""
        if self.monitor not in logs:
            raise fail("monitor", "one of the logged values: " + ", ".join(logs), self.monitor)
        value = np.asarray(logs[self.monitor], dtype=np.float64)
        sign = 1.0 if self.mode == "min" else -1.0
        improved = run.active & (sign * value < sign * self.best - self.min_delta)  # NaN: False
        self.best[improved] = value[improved]
        self.best_epoch[improved] = run.epoch
        return improved


class EarlyStopping(_Monitor):
    """Stop each member once ``monitor`` has not improved for ``patience`` epochs.

    A member that stops is frozen (``run.active``); training ends when all have stopped.
    With ``restore_best_weights`` every member gets back the weights (and batch norm
    averages) of its own best epoch, when it stops and again at the end of training.
    ``stopped_epoch`` ``(P,)`` is the epoch each member stopped (-1: it never did).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
        mode: str = "auto",
    ) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience = check_int("patience", patience, minimum=0)
        self.restore_best_weights = _check_bool("restore_best_weights", restore_best_weights)

    def on_train_begin(self, run):
        self._check_monitor(run)
        super().on_train_begin(run)
        self.wait = np.zeros(run.net.n_members, dtype=np.intp)
        self.stopped_epoch = np.full(run.net.n_members, -1)
        self.best_state = {k: v.copy() for k, v in run.net.population_state.items()}

    def on_epoch_end(self, run, epoch, logs):
        improved = self._improved(run, logs)
        for k, v in run.net.population_state.items():
            self.best_state[k][improved] = v[improved]
        self.wait[improved] = 0
        self.wait[run.active & ~improved] += 1
        stop = run.active & (self.wait >= self.patience) & ~improved
        if stop.any():
            run.active[stop] = False
            self.stopped_epoch[stop] = epoch
            self._restore(run, stop)

    def on_train_end(self, run):
        self._restore(run, self.best_epoch >= 0)

    def _restore(self, run: Run, members: np.ndarray) -> None:
        if self.restore_best_weights:
            for k, v in run.net.population_state.items():
                v[members] = self.best_state[k][members]


class ModelCheckpoint(_Monitor):
    """Save the network with :func:`save_weights` after each epoch.

    With ``save_best_only`` the file holds each member's weights from ITS best epoch so far
    (by ``monitor``), rewritten whenever any member improves; otherwise the current weights
    are saved every epoch. ``path`` may contain ``{epoch}`` (1-based), e.g. ``"w{epoch:03d}.npz"``,
    and no other field; the last epoch's name (the longest) is checked before training.
    Each file is a model file: :func:`nnscratch.load` rebuilds the network from it, and
    :func:`nnscratch.io.load_weights` fills in one of the same architecture.
    """

    def __init__(
        self, path, monitor: str = "val_loss", save_best_only: bool = True, mode: str = "auto"
    ) -> None:
        super().__init__(monitor, mode)
        self.path = _check_pattern(path)
        self.save_best_only = _check_bool("save_best_only", save_best_only)
        check_writable(self.path.format(epoch=1))

    def on_train_begin(self, run):
        if self.save_best_only:
            self._check_monitor(run)
        check_writable(self.path.format(epoch=run.epochs))  # the longest epoch number
        super().on_train_begin(run)
        self.best_state = {k: v.copy() for k, v in run.net.population_state.items()}

    def on_epoch_end(self, run, epoch, logs):
        path = check_writable(self.path.format(epoch=epoch + 1))
        if not self.save_best_only:
            save_weights(run.net, path)
            return
        improved = self._improved(run, logs)
        if improved.any():
            for k, v in run.net.population_state.items():
                self.best_state[k][improved] = v[improved]
            with atomic_open(path, "wb") as fh:
                np.savez(fh, **self.best_state)


def _check_pattern(path) -> str:
    """A file path whose only replacement field is ``{epoch}`` (with or without a format)."""
    expected = "a file path whose only field is {epoch}, e.g. 'w{epoch:03d}.npz'"
    if not isinstance(path, (str, os.PathLike)) or not isinstance(os.fspath(path), str):
        raise fail("path", expected, path)
    pattern = os.fspath(path)
    try:
        pattern.format(epoch=1)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        raise fail("path", expected, pattern) from None
    return pattern


class TerminateOnNaN(Callback):
    """End the whole run at the first batch whose loss is NaN or infinite for any member.

    The diverged members are frozen and flagged in ``history.diverged`` (so the loop's own
    ``on_nonfinite="raise"`` does not raise); the others keep the weights they have.
    """

    def on_batch_end(self, run, batch, logs):
        bad = run.active & ~np.isfinite(logs["loss"])
        if bad.any():
            run.active &= ~bad
            run.history.diverged |= bad
            run.stop = True


# --- reporting ---------------------------------------------------------------------------


class ProgressBar(Callback):
    """A tqdm bar over epochs on ``file`` (stderr), showing the members' mean of each value.

    Silent when ``file`` is not a terminal (logs, CI), unless ``disable=False`` forces it.
    """

    def __init__(self, file=None, disable: bool | None = None) -> None:
        if file is not None and not callable(getattr(file, "write", None)):
            raise fail("file", "None (stderr) or a text stream with a write method", file)
        if disable is not None:
            disable = _check_bool("disable", disable)
        self.file = file
        self.disable = disable
        self.bar = None

    def on_train_begin(self, run):
        from tqdm.auto import tqdm

        stream = sys.stderr if self.file is None else self.file
        disable = self.disable
        if disable is None:
            disable = not (hasattr(stream, "isatty") and stream.isatty())
        self.bar = tqdm(total=run.epochs, file=stream, disable=disable, unit="epoch")

    def on_epoch_end(self, run, epoch, logs):
        self.bar.set_postfix({k: f"{np.mean(v):.4f}" for k, v in logs.items()}, refresh=False)
        self.bar.update(1)

    def on_train_end(self, run):
        self.bar.close()


class CSVLogger(Callback):
    """Write one row per epoch and member: ``epoch`` (0-based), ``member``, then every value.

    The whole file is rewritten atomically after every epoch and at the end of training, so
    it is complete and readable at any moment, also after an interruption.
    """

    def __init__(self, path) -> None:
        self.path = check_writable(path)
        self.rows: list[dict[str, float]] = []

    def on_train_begin(self, run):
        self.rows = []

    def on_epoch_end(self, run, epoch, logs):
        for p in range(run.net.n_members):
            row = {"epoch": epoch, "member": p}
            row.update({k: float(np.asarray(v)[p]) for k, v in logs.items()})
            self.rows.append(row)
        self._write()

    def on_train_end(self, run):
        self._write()

    def _write(self) -> None:
        fields: list[str] = []
        for row in self.rows:
            fields += [k for k in row if k not in fields]
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        data = text.getvalue().encode("utf-8")
        with atomic_open(self.path, "wb") as fh:
            fh.write(data)
