"""The training loop: minibatch descent for every member of a population at once.

One epoch is a full pass, without replacement, over a fresh permutation of each member's
training rows, the short last batch included. Each member has its own shuffle stream, so
member ``p`` trained in a population equals member ``p`` trained alone with the same seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nnscratch._validation import check_int, check_range, fail
from nnscratch.core.optim import SGD, Optimizer
from nnscratch.core.seeding import member_seeds, rng_for


class History:
    """Per-epoch values, each an array of shape ``(epochs, P)``.

    Keys: ``"loss"`` and ``"accuracy"`` (running means over the epoch's batches, as seen
    while training), and ``"val_loss"``/``"val_accuracy"`` when validation data is given.
    """

    def __init__(self) -> None:
        self._rows: dict[str, list[np.ndarray]] = {}

    def append(self, logs: dict[str, np.ndarray]) -> None:
        for key, value in logs.items():
            self._rows.setdefault(key, []).append(np.asarray(value, dtype=np.float64))

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._rows:
            raise KeyError(f"{key!r} not in history; available: {', '.join(self._rows)}")
        return np.stack(self._rows[key])  # (epochs, P)

    def __contains__(self, key: str) -> bool:
        return key in self._rows

    def keys(self) -> list[str]:
        return list(self._rows)

    @property
    def epochs(self) -> int:
        return len(next(iter(self._rows.values()), []))

    def to_dict(self) -> dict[str, list[list[float]]]:
        """Plain lists, ready for JSON."""
        return {k: self[k].tolist() for k in self._rows}

    def __repr__(self) -> str:
        return f"History(epochs={self.epochs}, keys={self.keys()})"


@dataclass
class Run:
    """What callbacks see and may change while training runs."""

    net: object
    optimizer: Optimizer
    history: History
    epochs: int
    epoch: int = 0
    #: (P,) members still training; a callback clears an entry to freeze that member.
    active: np.ndarray = field(default_factory=lambda: np.ones(0, dtype=bool))
    stop: bool = False  # set by a callback to end training after the current epoch


class Callback:
    """Hooks into :func:`train`. Override any of the methods; all default to doing nothing."""

    def on_train_begin(self, run: Run) -> None: ...

    def on_batch_end(self, run: Run, batch: int, logs: dict[str, np.ndarray]) -> None: ...

    def on_epoch_end(self, run: Run, epoch: int, logs: dict[str, np.ndarray]) -> None: ...

    def on_train_end(self, run: Run) -> None: ...


def _split(net, X, y, validation_data, validation_split, seeds):
    """Per-member training row indices ``(P, N_train)`` and the validation set, if any."""
    P, N = net.n_members, X.shape[0]
    fraction = check_range("validation_split", validation_split, low=0.0, high=1.0, high_open=True)
    if validation_data is not None and fraction:
        raise fail("validation_split", "0 when validation_data is given", validation_split)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise fail("validation_data", "a pair (X_val, y_val)", validation_data)
        Xv = net._check_X(validation_data[0])
        yv = net.loss_fn.check_targets(validation_data[1], Xv.shape[0], net.n_outputs, "y_val")
        return np.broadcast_to(np.arange(N), (P, N)), (Xv, yv)
    if not fraction:
        return np.broadcast_to(np.arange(N), (P, N)), None
    n_val = int(round(fraction * N))
    if n_val < 1 or n_val >= N:
        raise fail("validation_split", f"a fraction leaving 1..{N - 1} validation rows", fraction)
    # every member holds out its own random rows, drawn from its own stream
    perms = np.stack([rng_for(s, "split").permutation(N) for s in seeds])  # (P,N)
    val = perms[:, :n_val]
    return perms[:, n_val:], (X[val], y[val])  # (P,Nv,D), (P,Nv)


def _evaluate(net, X, y) -> tuple[np.ndarray, np.ndarray]:
    """Loss and accuracy per member on a fixed set, in evaluation mode."""
    net.train_mode(False)
    z = net.forward(X)  # (P,N,K)
    loss = net.loss_fn.forward(z, y)
    acc = (net.loss_fn.predict(z) == y).mean(axis=-1)
    return loss, acc


def train(
    net,
    X,
    y,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    optimizer: Optimizer | None = None,
    seed=None,
    validation_data=None,
    validation_split: float = 0.0,
    callbacks: Sequence[Callback] = (),
    shuffle: bool = True,
    verbose: bool = False,
) -> History:
    """Train ``net`` in place on ``(X, y)`` and return its :class:`History`.

    ``optimizer`` defaults to ``SGD(lr=0.1)``; its per-member hyperparameters may differ.
    ``seed`` seeds the shuffles (an int, a ``SeedSequence`` or one per member); by default
    each member shuffles from its own initialisation stream, fresh on every call to ``fit``.
    """
    # --- check everything before any work ---
    epochs = check_int("epochs", epochs)
    batch_size = check_int("batch_size", batch_size)
    optimizer = SGD(lr=0.1) if optimizer is None else optimizer
    if not isinstance(optimizer, Optimizer):
        raise fail("optimizer", "an nnscratch Optimizer (SGD, Adam, ...)", optimizer)
    X = net._check_X(X)
    y = net._check_y(y, X.shape[0])
    P = net.n_members
    net._n_fits = getattr(net, "_n_fits", 0) + 1
    if seed is None:
        seeds, call = net.seeds, net._n_fits
    else:
        seeds, call = member_seeds(seed, P), 0
    rows, validation = _split(net, X, y, validation_data, validation_split, seeds)
    shufflers = [rng_for(s, "shuffle", call) for s in seeds]
    n_rows = rows.shape[1]
    params = net.population_params
    run = Run(net, optimizer, History(), epochs, active=np.ones(P, dtype=bool))
    held = None  # frozen members' parameters, written back after every update
    for cb in callbacks:
        cb.on_train_begin(run)

    for epoch in range(epochs):
        run.epoch = epoch
        # --- shuffle: a fresh permutation per member ---
        if shuffle:
            order = np.stack([rows[p, r.permutation(n_rows)] for p, r in enumerate(shufflers)])
        else:
            order = rows
        net.train_mode(True)
        loss_sum = np.zeros(P)
        correct = np.zeros(P)
        for batch, start in enumerate(range(0, n_rows, batch_size)):
            idx = order[:, start : start + batch_size]  # (P,n)
            xb, yb = X[idx], y[idx]  # (P,n,D), (P,n)
            # --- forward ---
            z = net.forward(xb)  # (P,n,K)
            loss = net.loss_fn.forward(z, yb)  # (P,)
            # --- backward ---
            net.backward(net.loss_fn.backward())
            # --- update ---
            optimizer.step(params, net.population_grads())
            if held is not None:
                _restore(params, held)
            loss_sum += loss * (idx.shape[1] if net.loss_fn.reduction == "mean" else 1)
            correct += (net.loss_fn.predict(z) == yb).sum(axis=-1)
            if callbacks:
                for cb in callbacks:
                    cb.on_batch_end(run, batch, {"loss": loss})
                held = _hold(params, run.active, held)
        # --- evaluate ---
        logs = {"loss": loss_sum / n_rows, "accuracy": correct / n_rows}
        if validation is not None:
            logs["val_loss"], logs["val_accuracy"] = _evaluate(net, *validation)
        run.history.append(logs)
        if verbose:
            _print_epoch(epoch, epochs, logs)
        # --- stop? ---
        for cb in callbacks:
            cb.on_epoch_end(run, epoch, logs)
        held = _hold(params, run.active, held)
        if run.stop or not run.active.any():
            break

    net.train_mode(False)
    for cb in callbacks:
        cb.on_train_end(run)
    return run.history


def _hold(params, active, held):
    """Snapshot the frozen members' parameters when the set of frozen members changes."""
    frozen = ~active
    if not frozen.any():
        return None
    if held is not None and np.array_equal(held[0], frozen):
        return held
    return frozen.copy(), {k: v[frozen].copy() for k, v in params.items()}


def _restore(params, held):
    """Undo an update for frozen members: they keep the values they were frozen with."""
    frozen, values = held
    for k, v in params.items():
        v[frozen] = values[k]


def _print_epoch(epoch: int, epochs: int, logs: dict[str, np.ndarray]) -> None:
    parts = [f"epoch {epoch + 1}/{epochs}"]
    for key, value in logs.items():
        value = np.asarray(value)
        parts.append(f"{key} {value.mean():.4f}" + (" (mean)" if value.size > 1 else ""))
    print("  ".join(parts), flush=True)
