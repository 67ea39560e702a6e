"""Class labels: how many classes a set of integer labels implies."""

from __future__ import annotations

from typing import Any

import numpy as np


def n_classes(*labels: Any) -> int:
    """``K``, the number of classes that integer labels ``0 .. K-1`` imply: the largest label
    in any of ``labels`` plus one, and at least 2 (a sample that shows one class of a binary
    task is still binary). The one place the package counts classes; anything that is not
    a label is left for :func:`nnscratch.core.checks.check_labels` to refuse."""
    top = 1
    for arr in map(np.asarray, labels):
        if arr.dtype.kind in "iubf":
            seen = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr.ravel()
            top = max(top, int(seen.max()) if seen.size else 1)
    return top + 1
