"""The one seam between the core and the optional compiled path, :mod:`nnscratch.fast`.

No other file of the core imports ``nnscratch.fast``, and this one only inside its
functions, when they are called: the core imports, runs and reads with NumPy alone, and
``nnscratch.fast`` imports the core, never the other way round.
"""

from __future__ import annotations

import numpy as np


def compiled_epoch(engine: str, net, X, y, w, optimizer, callbacks, batch_size: int):
    """The compiled epoch for this run, or ``None`` for the NumPy one.

    ``engine``: ``"numpy"`` the loop of :mod:`nnscratch.core.epoch`; ``"numba"`` the compiled
    epoch (an error where it does not apply); ``"auto"`` compiled where it applies and repays.

    It has the interface of :class:`nnscratch.core.epoch.NumpyEpoch` and gives the same
    results to rounding. ``"auto"`` takes it where numba is installed, the run is one it
    covers, its layers are small enough for its loops to beat NumPy's matrix products, and
    the run is long enough to repay the kernels' compile (decided in ``nnscratch.fast``).
    """
    if engine == "numpy":
        return None
    from nnscratch.fast import epoch as fast  # optional: numba, imported only when asked for

    return fast.compiled_epoch(engine, net, X, y, w, optimizer, callbacks, batch_size)


def compiled_logits(net, X: np.ndarray) -> np.ndarray | None:
    """Every member's logits ``(P, N, K)`` from the compiled forward pass, or ``None``
    where it does not apply (then the caller runs NumPy's; the two agree to rounding)."""
    from nnscratch.fast import forward  # optional: numba, imported only when asked for

    return forward.logits(net, X)
