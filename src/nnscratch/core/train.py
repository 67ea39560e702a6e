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
from types import SimpleNamespace

import numpy as np

from nnscratch.core.callback import Callback, History, Run
from nnscratch.core.checks import check_choice, check_fits, check_int, check_range, fail
from nnscratch.core.engine import compiled_epoch
from nnscratch.core.epoch import Freezer, NumpyEpoch, finite_members
from nnscratch.core.layers import BatchNorm, Dropout
from nnscratch.core.losses import check_sample_weight
from nnscratch.core.optim import Adam, Optimizer
from nnscratch.core.seeding import member_seeds, rng_for


def _split(net, X, y, w, validation_data, validation_split, seeds):
    """Per-member training row indices ``(P, N_train)`` and the validation set, if any."""
    P, N = net.n_members, X.shape[0]
    fraction = check_range("validation_split", validation_split, low=0.0, high=1.0, high_open=True)
    if validation_data is not None and fraction:
        raise fail("validation_split", "0 when validation_data is given", validation_split)
    if validation_data is not None:
        expected = "(X_val, y_val) or (X_val, y_val, w_val)"
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise fail("validation_data", expected, validation_data)
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


def evaluate(net, X, y, sample_weight=None) -> dict[str, np.ndarray]:
    """``{"loss", "accuracy"}``, each ``(P,)``: the loss per example (without penalties) and,
    for a classifier, the accuracy, in evaluation mode. The one evaluation of a population
    on a data set: validation in :func:`train`, records of experiments, reports.

    ``X`` is ``(N, D)`` shared by every member, or ``(P, N, D)`` one set per member.
    """
    net.train_mode(False)
    z = net.forward(X) if X.ndim == 3 else net._predict_logits(X)  # (P,N,K), compiled or not
    loss = net.loss_fn.forward(z, y, sample_weight)  # (P,)
    if net.loss_fn.reduction == "sum":  # per example, on the scale of a mean
        loss = loss / (z.shape[-2] if sample_weight is None else sample_weight.sum(axis=-1))
    metrics = {"loss": loss}
    if net.loss_fn.classifier:
        metrics["accuracy"] = net.loss_fn.score(z, y, sample_weight)
    return metrics


def format_epoch(epoch: int, epochs: int, logs: dict[str, np.ndarray]) -> str:
    """``epoch 3/20  loss 0.1234 (mean)  accuracy ...``: one line per epoch, the members'
    mean where there are several. What ``verbose=True`` and the command line print."""
    parts = [f"epoch {epoch + 1}/{epochs}"]
    for key, value in logs.items():
        parts.append(f"{key} {np.mean(value):.4f}" + (" (mean)" if np.size(value) > 1 else ""))
    return "  ".join(parts)


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
    """Train ``net`` in place and return its :class:`History`; :meth:`MLP.fit` explains."""
    # --- check everything, then decide: rows, streams, the NumPy or the compiled epoch ---
    # fmt: off
    plan = _plan(net, X, y, epochs, batch_size, optimizer, seed, validation_data,
                 validation_split, sample_weight, callbacks, shuffle, on_nonfinite, engine)
    # fmt: on
    run = plan.run
    for cb in callbacks:  # a callback may still refuse the call: nothing has changed yet
        cb.on_train_begin(run)
    shufflers = plan.begin()  # from here on the call changes the network
    freezer = Freezer(run, net.population_state, on_nonfinite)

    with _interruptible(run):  # Ctrl-C: stop after the current batch, keep what is done
        for epoch in range(run.epochs):
            run.epoch = epoch
            freezer.checkpoint()  # what a member that diverges in this epoch returns to
            # --- shuffle: a fresh permutation of the training rows for every member ---
            order = plan.epoch.shuffled(plan.rows, shufflers) if shuffle else plan.rows
            # --- the epoch: forward, backward and update, batch by batch ---
            logs = plan.epoch(order, run, freezer)
            # --- evaluate ---
            freezer.check(~finite_members(net.population_params))
            if plan.validation is not None:
                logs.update(_validation_logs(net, *plan.validation))
            logs = freezer.mask(logs)
            run.history.append(logs)
            if verbose:
                print(format_epoch(epoch, run.epochs, logs), flush=True)
            # --- callbacks, then stop? ---
            for cb in callbacks:
                cb.on_epoch_end(run, epoch, logs)
            freezer.sync()
            if run.interrupt_requested:  # a Ctrl-C the epoch did not see (compiled)
                raise KeyboardInterrupt
            if run.stop or not run.active.any():
                break

    net.train_mode(False)
    for cb in callbacks:
        cb.on_train_end(run)
    return run.history


def _validation_logs(net, X, y, w) -> dict[str, np.ndarray]:
    """``val_loss`` (with the penalties, as the training loss) and ``val_accuracy``."""
    metrics = evaluate(net, X, y, w)
    if net.penalized:
        metrics["loss"] = metrics["loss"] + net.penalty()
    return {f"val_{key}": value for key, value in metrics.items()}


# fmt: off
def _plan(net, X, y, epochs, batch_size, optimizer, seed, validation_data, validation_split,
          sample_weight, callbacks, shuffle, on_nonfinite, engine) -> SimpleNamespace:
    # fmt: on
    """Check every argument of :func:`train` (in its order) and decide what the loop needs:
    ``run`` (what callbacks see), each member's training ``rows`` ``(P, N_train)``, the
    ``validation`` set or None, the ``epoch`` (NumPy or compiled, one interface), and
    ``begin()``, which makes the changes a call makes to the network and returns each
    member's shuffle stream; nothing changes before it is called."""
    epochs = check_int("epochs", epochs)
    batch_size = check_int("batch_size", batch_size)
    optimizer = Adam(lr=1e-3) if optimizer is None else optimizer
    if not isinstance(optimizer, Optimizer):
        raise fail("optimizer", "an nnscratch Optimizer (SGD, Adam, ...)", optimizer)
    X = net._check_X(X)
    y = net._check_y(y, X.shape[0])
    w = check_sample_weight(sample_weight, X.shape[0])
    check_choice("on_nonfinite", on_nonfinite, {"raise", "stop"})
    engine = check_choice("engine", engine, {"auto", "numpy", "numba"})
    if not isinstance(shuffle, (bool, np.bool_)):
        raise fail("shuffle", "True or False", shuffle)
    listed = isinstance(callbacks, (list, tuple))
    if not listed or not all(isinstance(c, Callback) for c in callbacks):
        raise fail("callbacks", "a list of nnscratch Callback objects", callbacks)
    P = net.n_members
    n_fits = getattr(net, "_n_fits", 0) + 1  # counted by begin(), once the call is known valid
    if seed is None:  # each call draws fresh streams from the network's own seeds
        seeds, call = net.seeds, n_fits
    else:
        seeds, call = member_seeds(seed, P), 0
    rows, validation = _split(net, X, y, w, validation_data, validation_split, seeds)
    n_rows = rows.shape[1]
    if any(isinstance(la, BatchNorm) for la in net.layers) and n_rows % batch_size == 1:
        expected = f"a size leaving no 1-row batch of {n_rows} rows (batch norm)"
        raise fail("batch_size", expected, batch_size)
    # one batch's activations and the evaluation of every row must fit, before any work
    check_fits("batch_size", P, net.sizes, net.dtype.itemsize, min(batch_size, n_rows), len(X))
    epoch = compiled_epoch(engine, net, X, y, w, optimizer, callbacks, batch_size)
    epoch = epoch or NumpyEpoch(net, X, y, w, optimizer, batch_size, callbacks)
    run = Run(net, optimizer, History(P), epochs, active=np.ones(P, dtype=bool))
    run.validation = validation is not None

    def begin() -> list[np.random.Generator]:
        net._n_fits = n_fits  # a refused call must not shift later streams
        for layer in net.layers:  # dropout masks: one stream per member, fresh per call
            if isinstance(layer, Dropout):
                layer.rngs = [rng_for(s, "dropout", call) for s in seeds]
        return [rng_for(s, "shuffle", call) for s in seeds]

    return SimpleNamespace(run=run, rows=rows, validation=validation, epoch=epoch, begin=begin)
