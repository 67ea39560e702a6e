"""The training loop: minibatch descent for every member of a population at once.

One epoch is a full pass, without replacement, over a fresh permutation of each member's
training rows, the short last batch included. Each member has its own shuffle and dropout
streams, so member ``p`` trained in a population equals member ``p`` trained alone with the
same seeds.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from nnscratch._validation import check_choice, check_int, check_range, fail
from nnscratch.core.layers import BatchNorm, Dropout
from nnscratch.core.losses import check_sample_weight
from nnscratch.core.optim import Adam, Optimizer
from nnscratch.core.seeding import member_seeds, rng_for


class NonFiniteError(FloatingPointError):
    """A member's loss or weights became NaN or infinite; ``members`` and ``epoch`` say where."""

    def __init__(self, members: np.ndarray, epoch: int) -> None:
        self.members, self.epoch = [int(p) for p in members], epoch
        super().__init__(
            f"member(s) {self.members} diverged (loss or weights not finite) in epoch "
            f"{epoch + 1}; lower the learning rate, or pass on_nonfinite='stop' to freeze them"
        )


class History:
    """Per-epoch values, each an array of shape ``(epochs, P)``.

    Keys: ``"loss"`` (including weight penalties) and, for a classifier, ``"accuracy"``:
    running means over the epoch's batches as seen while training, weighted by the batches'
    sample weights; ``"val_loss"``/``"val_accuracy"`` when validation data is given.
    ``interrupted`` is True when Ctrl-C ended training (the epochs completed are kept);
    ``diverged`` ``(P,)`` flags members frozen for non-finite values (``on_nonfinite="stop"``).
    """

    def __init__(self, n_members: int = 1) -> None:
        self._rows: dict[str, list[np.ndarray]] = {}
        self.interrupted = False
        self.diverged = np.zeros(n_members, dtype=bool)

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
    stop: bool = False  # set by a callback to end training after the current batch
    interrupt_requested: bool = False  # set by Ctrl-C; training ends after the current batch


class Callback:
    """Hooks into :func:`train`. Override any of the methods; all default to doing nothing."""

    def on_train_begin(self, run: Run) -> None: ...

    def on_batch_end(self, run: Run, batch: int, logs: dict[str, np.ndarray]) -> None: ...

    def on_epoch_end(self, run: Run, epoch: int, logs: dict[str, np.ndarray]) -> None: ...

    def on_train_end(self, run: Run) -> None: ...


def _split(net, X, y, w, validation_data, validation_split, seeds):
    """Per-member training row indices ``(P, N_train)`` and the validation set, if any."""
    P, N = net.n_members, X.shape[0]
    fraction = check_range("validation_split", validation_split, low=0.0, high=1.0, high_open=True)
    if validation_data is not None and fraction:
        raise fail("validation_split", "0 when validation_data is given", validation_split)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise fail(
                "validation_data", "(X_val, y_val) or (X_val, y_val, w_val)", validation_data
            )
        Xv = net._check_X(validation_data[0], name="X_val")
        yv = net.loss_fn.check_targets(validation_data[1], Xv.shape[0], net.n_outputs, "y_val")
        wv = validation_data[2] if len(validation_data) == 3 else None
        wv = check_sample_weight(wv, Xv.shape[0], "w_val")
        return np.broadcast_to(np.arange(N), (P, N)), (Xv, yv, wv)
    if not fraction:
        return np.broadcast_to(np.arange(N), (P, N)), None
    n_val = int(round(fraction * N))
    if n_val < 1 or n_val >= N:
        raise fail("validation_split", f"a fraction leaving 1..{N - 1} validation rows", fraction)
    # every member holds out its own random rows, drawn from its own stream
    perms = np.stack([rng_for(s, "split").permutation(N) for s in seeds])  # (P,N)
    val = perms[:, :n_val]
    return perms[:, n_val:], (X[val], y[val], None if w is None else w[val])  # (P,Nv,...)


def _evaluate(net, X, y, w) -> dict[str, np.ndarray]:
    """Loss per example (with penalties) and, for a classifier, accuracy per member."""
    net.train_mode(False)
    z = net.forward(X)  # (P,N,K)
    logs = {"val_loss": net.loss_fn.forward(z, y, w)}
    if net.loss_fn.reduction == "sum":  # per example, on the training loss's scale
        logs["val_loss"] = logs["val_loss"] / (z.shape[-2] if w is None else w.sum(axis=-1))
    if net.penalized:
        logs["val_loss"] = logs["val_loss"] + net.penalty()
    if net.loss_fn.classifier:
        logs["val_accuracy"] = net.loss_fn.score(z, y, w)
    return logs


@contextmanager
def _interruptible(run: Run):
    """End training cleanly on Ctrl-C, keeping the model and the epochs completed.

    A first Ctrl-C only sets ``run.interrupt_requested``; the loop then stops after the
    current batch, never halfway through an update. A second one, or a ``KeyboardInterrupt``
    raised by a callback, stops at once. Either way ``history.interrupted`` is set.
    """
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main else None

    def handler(signum, frame):
        if run.interrupt_requested:
            raise KeyboardInterrupt
        run.interrupt_requested = True

    if previous is not None:
        signal.signal(signal.SIGINT, handler)
    try:
        yield
    except KeyboardInterrupt:
        run.history.interrupted = True
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


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
    sample_weight=None,
    callbacks: Sequence[Callback] = (),
    shuffle: bool = True,
    verbose: bool = False,
    on_nonfinite: str = "raise",
    engine: str = "auto",
) -> History:
    """Train ``net`` in place on ``(X, y)`` and return its :class:`History`.

    ``optimizer`` defaults to a fresh ``Adam(lr=1e-3)``; per-member hyperparameters may differ.
    Training starts from the current weights, so a second call continues (a warm start);
    passing the same optimizer again keeps its state too.
    ``seed`` seeds the shuffles and dropout masks (an int, a ``SeedSequence`` or one per
    member); by default each member draws from its own streams, fresh on every call.
    ``validation_data`` is ``(X_val, y_val)`` or ``(X_val, y_val, w_val)``;
    ``sample_weight`` ``(N,)`` weights the training rows (and the held-out ones of
    ``validation_split``). ``on_nonfinite``: when a member's loss or weights become NaN or
    infinite, ``"raise"`` a :class:`NonFiniteError`, or ``"stop"`` (freeze) that member, flag
    it in ``history.diverged`` and let the others finish. Ctrl-C ends training after the
    current batch and returns the history so far with ``history.interrupted = True``.
    ``engine``: ``"numpy"`` runs the loop below; ``"numba"`` runs each epoch through the
    compiled kernel of :mod:`nnscratch.accel` (plain SGD on a softmax MLP; an error if the
    run is not one it covers); ``"auto"`` (default) uses the kernel where it applies and
    numba is installed. Both give the same results to rounding.
    """
    # --- check everything before any work ---
    epochs = check_int("epochs", epochs)
    batch_size = check_int("batch_size", batch_size)
    optimizer = Adam(lr=1e-3) if optimizer is None else optimizer
    if not isinstance(optimizer, Optimizer):
        raise fail("optimizer", "an nnscratch Optimizer (SGD, Adam, ...)", optimizer)
    X = net._check_X(X)
    y = net._check_y(y, X.shape[0])
    w = check_sample_weight(sample_weight, X.shape[0])
    on_nonfinite = check_choice("on_nonfinite", on_nonfinite, {"raise", "stop"})
    engine = check_choice("engine", engine, {"auto", "numpy", "numba"})
    if not isinstance(shuffle, (bool, np.bool_)):
        raise fail("shuffle", "True or False", shuffle)
    if isinstance(callbacks, Callback) or not all(isinstance(c, Callback) for c in callbacks):
        raise fail("callbacks", "a list of nnscratch Callback objects", callbacks)
    P = net.n_members
    n_fits = getattr(net, "_n_fits", 0) + 1  # counted below, once the call is known valid
    if seed is None:
        seeds, call = net.seeds, n_fits
    else:
        seeds, call = member_seeds(seed, P), 0
    rows, validation = _split(net, X, y, w, validation_data, validation_split, seeds)
    n_rows = rows.shape[1]
    if any(isinstance(la, BatchNorm) for la in net.layers) and n_rows % batch_size == 1:
        raise fail(
            "batch_size", f"a size leaving no 1-row batch of {n_rows} rows (batch norm)", batch_size
        )
    fast_epoch = _fast_epoch(engine, net, X, y, w, optimizer, callbacks, batch_size)
    net._n_fits = n_fits  # a call that failed its checks must not shift later streams
    shufflers = [rng_for(s, "shuffle", call) for s in seeds]
    for layer in net.layers:  # dropout masks: one stream per member, fresh per call
        if isinstance(layer, Dropout):
            layer.rngs = [rng_for(s, "dropout", call) for s in seeds]
    params, state = net.population_params, net.population_state
    mean = net.loss_fn.reduction == "mean"
    weighted_mean = w is not None and mean
    penalized = net.penalized  # decided once: a run without penalties pays nothing for them
    run = Run(net, optimizer, History(P), epochs, active=np.ones(P, dtype=bool))
    for cb in callbacks:
        cb.on_train_begin(run)
    # frozen members' parameters and buffers, written back after every update
    held = _hold(state, run.active, None)

    with _interruptible(run):  # Ctrl-C: stop after the current batch, keep what is done
        for epoch in range(epochs):
            run.epoch = epoch
            # --- shuffle: a fresh permutation per member ---
            if shuffle:  # the compiled shuffle, where there is one, gives the same rows
                order = (shuffled if fast_epoch is None else fast_epoch.shuffled)(rows, shufflers)
            else:
                order = rows
            if fast_epoch is not None:  # the same epoch, compiled (nnscratch.accel)
                loss_sum, correct = fast_epoch(order, run.active)
                seen = n_seen = n_rows
                _check_finite(run, ~np.isfinite(loss_sum), on_nonfinite)
            else:
                net.train_mode(True)
                loss_sum, seen, correct, n_seen = np.zeros(P), np.zeros(P), np.zeros(P), 0
                for batch, start in enumerate(range(0, n_rows, batch_size)):
                    idx = order[:, start : start + batch_size]  # (P,n)
                    xb, yb = X.take(idx, axis=0), y.take(idx, axis=0)  # (P,n,D), (P,n)
                    wb = None if w is None else w[idx]  # (P,n)
                    # --- forward ---
                    z = net.forward(xb)  # (P,n,K)
                    loss = net.loss_fn.forward(z, yb, wb)  # (P,)
                    if penalized:
                        loss = loss + net.penalty()
                    # --- backward ---
                    net.backward(net.loss_fn.backward())
                    # --- update ---
                    optimizer.step(params, net.population_grads())
                    if held is not None:
                        _restore(state, held)
                    # --- running means ---
                    n_batch = wb.sum(axis=-1) if weighted_mean else idx.shape[1]
                    loss_sum += loss * n_batch if mean else loss
                    seen += wb.sum(axis=-1) if w is not None else idx.shape[1]
                    if net.loss_fn.classifier:
                        correct += net.loss_fn.hits(z, yb).sum(axis=-1)
                    n_seen += idx.shape[1]
                    for cb in callbacks:
                        cb.on_batch_end(run, batch, {"loss": loss})
                    # --- diverged? (raise, or freeze) ---
                    _check_finite(run, ~np.isfinite(loss), on_nonfinite)
                    held = _hold(state, run.active, held)
                    if run.interrupt_requested:
                        raise KeyboardInterrupt
                    if run.stop or not run.active.any():
                        break
            # --- evaluate ---
            logs = {"loss": loss_sum / seen}
            if net.loss_fn.classifier:
                logs["accuracy"] = correct / n_seen
            _check_finite(run, ~_finite_members(params), on_nonfinite)
            held = _hold(state, run.active, held)
            if validation is not None:
                logs.update(_evaluate(net, *validation))
            run.history.append(logs)
            if verbose:
                _print_epoch(epoch, epochs, logs)
            # --- stop? ---
            for cb in callbacks:
                cb.on_epoch_end(run, epoch, logs)
            held = _hold(state, run.active, held)
            if run.stop or not run.active.any():
                break

    net.train_mode(False)
    for cb in callbacks:
        cb.on_train_end(run)
    return run.history


def shuffled(rows: np.ndarray, shufflers) -> np.ndarray:
    """This epoch's training rows, ``(P, N_train)``: member ``p``'s ``rows[p]`` reordered by
    its own stream, as ``rows[p][shufflers[p].permutation(N_train)]`` (Fisher-Yates swaps the
    same positions whatever the values, so shuffling the rows in place is the same)."""
    order = np.array(rows, order="C")  # a copy; rows shared by all become a row each
    for p, r in enumerate(shufflers):
        r.shuffle(order[p])
    return order


def _fast_epoch(engine, net, X, y, w, optimizer, callbacks, batch_size):
    """The compiled epoch of :mod:`nnscratch.accel` when it applies, else ``None``."""
    if engine == "numpy":
        return None
    from nnscratch import accel  # optional: needs numba, imported only when asked for

    why = accel.unsupported(net, y, w, optimizer, callbacks)
    if why is None and (engine == "numba" or accel.worthwhile(net, batch_size)):
        return accel.epoch_runner(net, X, y, optimizer, batch_size)
    if engine == "numba":
        raise fail("engine", "'auto' or 'numpy' for this run (" + why + ")", engine)
    return None


def _finite_members(params) -> np.ndarray:
    """``(P,)``: True where every parameter of the member is finite."""
    ok = [np.isfinite(v).reshape(v.shape[0], -1).all(axis=1) for v in params.values()]
    return np.logical_and.reduce(ok)


def _check_finite(run: Run, bad: np.ndarray, on_nonfinite: str) -> None:
    """Raise, or freeze and flag the active members whose loss or weights are not finite."""
    bad = bad & run.active
    if not bad.any():
        return
    if on_nonfinite == "raise":
        raise NonFiniteError(np.flatnonzero(bad), run.epoch)
    run.active &= ~bad
    run.history.diverged |= bad


def _hold(state, active, held):
    """Snapshot the frozen members' state when the set of frozen members changes."""
    frozen = ~active
    if not frozen.any():
        return None
    if held is not None and np.array_equal(held[0], frozen):
        return held
    return frozen.copy(), {k: v[frozen].copy() for k, v in state.items()}


def _restore(state, held):
    """Undo an update for frozen members: they keep the values they were frozen with."""
    frozen, values = held
    for k, v in state.items():
        v[frozen] = values[k]


def _print_epoch(epoch: int, epochs: int, logs: dict[str, np.ndarray]) -> None:
    parts = [f"epoch {epoch + 1}/{epochs}"]
    for key, value in logs.items():
        value = np.asarray(value)
        parts.append(f"{key} {value.mean():.4f}" + (" (mean)" if value.size > 1 else ""))
    print("  ".join(parts), flush=True)
