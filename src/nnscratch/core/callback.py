"""What the training loop shares with callbacks: the run state, the History, the Callback hooks.

Callbacks, schedules and the compiled path import this file, never the loop itself
(:mod:`nnscratch.core.train`), so the loop can change without touching them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnscratch.core.optim import Optimizer


class NonFiniteError(FloatingPointError):
    """A member's loss or weights became NaN or infinite; ``members`` and ``epoch`` say where
    (``epoch`` is None when a prediction finds them so)."""

    def __init__(self, members: np.ndarray, epoch: int | None) -> None:
        self.members, self.epoch = [int(p) for p in members], epoch
        super().__init__(
            f"member(s) {self.members} have weights that are not finite, so predictions "
            "from them would mean nothing; select() the others, or train again"
            if epoch is None
            else f"member(s) {self.members} diverged (loss or weights not finite) in epoch "
            f"{epoch + 1} and are rolled back to where they were when it began; lower the "
            "learning rate, or pass on_nonfinite='stop' to freeze them and train the others"
        )


class History:
    """Per-epoch values, each an array of shape ``(epochs, P)``.

    A single network's history keeps the member axis, ``(epochs, 1)``, unlike its weights
    and predictions: a history is a table of per-member values, read the same way by
    callbacks, schedules, plots and records for one network and for a population
    (``history["loss"][:, 0]`` is a single network's curve).

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
    validation: bool = False  # whether val_loss (and val_accuracy) are logged
    stop: bool = False  # set by a callback to end training after the current batch
    interrupt_requested: bool = False  # set by Ctrl-C; training ends after the current batch


class Callback:
    """Hooks into :func:`train`. Override any of the methods; all default to doing nothing."""

    def on_train_begin(self, run: Run) -> None: ...

    def on_batch_end(self, run: Run, batch: int, logs: dict[str, np.ndarray]) -> None: ...

    def on_epoch_end(self, run: Run, epoch: int, logs: dict[str, np.ndarray]) -> None: ...

    def on_train_end(self, run: Run) -> None: ...
