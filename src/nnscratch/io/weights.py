"""Weight files: every parameter and buffer of a network, as the ``(P, ...)`` arrays it trains.

A weight file holds arrays only; the network they belong to is rebuilt by the caller with
the same sizes before :func:`load_weights` fills it in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnscratch.core.checks import fail
from nnscratch.io.atomic import atomic_open, check_writable


def save_weights(net, path) -> None:
    """Save every parameter and buffer of ``net`` (``(P, ...)`` arrays) with ``np.savez``."""
    path = check_writable(path)
    arrays = {k: np.asarray(v) for k, v in net.population_state.items()}
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)


def load_weights(net, path) -> None:
    """Load what :func:`save_weights` or :class:`~nnscratch.callbacks.ModelCheckpoint` saved
    into ``net``, in place.

    The file must hold every key of ``net.population_state`` with the same shape.
    """
    with np.load(Path(path)) as data:
        state = net.population_state
        for key, target in state.items():
            if key not in data.files or data[key].shape != target.shape:
                got = data[key].shape if key in data.files else "no such array"
                raise fail(f"{path}[{key!r}]", f"an array of shape {target.shape}", got)
        for key, target in state.items():
            target[...] = data[key]
