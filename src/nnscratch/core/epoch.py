"""One epoch of minibatch descent in NumPy: per batch, forward, backward, update.

This is the reference. The compiled epoch of :mod:`nnscratch.fast` has the same small
interface (``shuffled(rows, shufflers)`` and ``epoch(order, run, freezer) -> logs``) and is
pinned to this one by tests; :func:`nnscratch.core.train.train` picks one of the two before
its loop starts and never looks back.
"""

from __future__ import annotations

import numpy as np

from nnscratch.core.callback import NonFiniteError, Run


def shuffled(rows: np.ndarray, shufflers) -> np.ndarray:
    """This epoch's training rows, ``(P, N_train)``: member ``p``'s ``rows[p]`` reordered by
    its own stream, as ``rows[p][shufflers[p].permutation(N_train)]`` (Fisher-Yates swaps the
    same positions whatever the values, so shuffling the rows in place is the same)."""
    order = np.array(rows, order="C")  # a copy; rows shared by all become a row each
    for p, r in enumerate(shufflers):
        r.shuffle(order[p])
    return order


def finite_members(params: dict[str, np.ndarray]) -> np.ndarray:
    """``(P,)``: True where every parameter of the member is finite."""
    ok = [np.isfinite(v).reshape(v.shape[0], -1).all(axis=1) for v in params.values()]
    return np.logical_and.reduce(ok)


class Freezer:
    """Members that leave training keep their values while the others go on.

    A member leaves when it diverges (``on_nonfinite="stop"``) or when a callback clears its
    entry of ``run.active`` (early stopping). Its parameters and buffers are copied when it
    leaves and written back after every update, so the population's shared steps never
    move it. A member that diverges is first rolled back to where it was when the epoch
    began, its optimizer state (moments, buffers) restarting from zero: nothing it learnt
    before is lost to the NaN.
    """

    def __init__(self, run: Run, state: dict[str, np.ndarray], on_nonfinite: str) -> None:
        self.run, self.state, self.on_nonfinite = run, state, on_nonfinite
        self.held: tuple[np.ndarray, dict[str, np.ndarray]] | None = None
        self.sync()

    def checkpoint(self) -> None:
        """Copy every member's state: what a member that diverges returns to."""
        self.saved = {k: v.copy() for k, v in self.state.items()}

    def check(self, bad: np.ndarray) -> None:
        """Roll back, then raise, or freeze and flag, the active members where ``bad`` ``(P,)``."""
        bad = bad & self.run.active
        if bad.any():
            for k, v in self.state.items():
                v[bad] = self.saved[k][bad]
            for moments in self.run.optimizer.state.values():  # {name: (P, ...)}
                for v in moments.values():
                    v[bad] = 0
            if self.on_nonfinite == "raise":
                raise NonFiniteError(np.flatnonzero(bad), self.run.epoch)
            self.run.active &= ~bad
            self.run.history.diverged |= bad
        self.sync()

    def mask(self, logs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A diverged member logs NaN from its divergence on: it no longer trains."""
        gone = self.run.history.diverged
        return {k: np.where(gone, np.nan, v) if gone.any() else v for k, v in logs.items()}

    def sync(self) -> None:
        """Copy the frozen members' state when the set of frozen members has changed."""
        frozen = ~self.run.active
        if not frozen.any():
            self.held = None
        elif self.held is None or not np.array_equal(self.held[0], frozen):
            self.held = frozen.copy(), {k: v[frozen].copy() for k, v in self.state.items()}

    def restore(self) -> None:
        """Undo an update for the frozen members: they keep the values they left with."""
        if self.held is not None:
            frozen, values = self.held
            for k, v in self.state.items():
                v[frozen] = values[k]


class NumpyEpoch:
    """One epoch of minibatch descent for every member at once, in NumPy."""

    shuffled = staticmethod(shuffled)

    def __init__(self, net, X, y, w, optimizer, batch_size: int, callbacks) -> None:
        self.net, self.X, self.y, self.w = net, X, y, w
        self.optimizer, self.batch_size, self.callbacks = optimizer, batch_size, callbacks
        self.params = net.population_params  # the arrays the optimizer updates in place
        self.penalized = net.penalized  # decided once: a run without penalties pays nothing

    def __call__(self, order: np.ndarray, run: Run, freezer: Freezer) -> dict[str, np.ndarray]:
        """Walk ``order`` ``(P, N_train)`` in batches; the epoch's running means ``(P,)``."""
        net, X, y, w = self.net, self.X, self.y, self.w
        P, mean = net.n_members, net.loss_fn.reduction == "mean"
        net.train_mode(True)
        loss_sum, seen, correct, n_seen = np.zeros(P), np.zeros(P), np.zeros(P), 0
        for batch, start in enumerate(range(0, order.shape[1], self.batch_size)):
            idx = order[:, start : start + self.batch_size]  # (P,n)
            xb, yb = X.take(idx, axis=0), y.take(idx, axis=0)  # (P,n,D), (P,n)
            wb = None if w is None else w[idx]  # (P,n)
            # --- forward: logits, then the loss, eq. (6) and (9) ---
            z = net.forward(xb)  # (P,n,K)
            loss = net.loss_fn.forward(z, yb, wb)  # (P,)
            if self.penalized:
                loss = loss + net.penalty()
            # --- backward: every layer's gradients, eq. (14)-(17) ---
            net.backward(net.loss_fn.backward())
            # --- update: eq. (7), or the optimizer's rule; frozen members stay put ---
            self.optimizer.step(self.params, net.population_grads())
            freezer.restore()
            # --- running means, weighted like the loss ---
            rows = idx.shape[1] if wb is None else wb.sum(axis=-1)  # (P,) or n
            loss_sum += loss * rows if mean else loss
            seen += rows
            if net.loss_fn.classifier:
                correct += net.loss_fn.hits(z, yb).sum(axis=-1)
            n_seen += idx.shape[1]
            for cb in self.callbacks:
                cb.on_batch_end(run, batch, {"loss": loss})
            # --- diverged? (raise, or freeze); stop after this batch? ---
            freezer.check(~np.isfinite(loss))
            if run.interrupt_requested:
                raise KeyboardInterrupt
            if run.stop or not run.active.any():
                break
        logs = {"loss": loss_sum / seen}
        if net.loss_fn.classifier:
            logs["accuracy"] = correct / n_seen
        return logs
