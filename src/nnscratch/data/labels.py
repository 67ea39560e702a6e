"""Class labels: how many classes a set of integer labels implies."""

from __future__ import annotations

from typing import Any

import numpy as np

#: Up to this many classes, any label is taken at its word; past it, a largest label far
#: above the number of distinct labels (more than twice) is refused as a mislabelling.
FEW_CLASSES = 1024


def n_classes(*labels: Any, name: str = "y") -> int:
    """``K``, the number of classes that integer labels ``0 .. K-1`` imply: the largest label
    in any of ``labels`` plus one, and at least 2 (a sample that shows one class of a binary
    task is still binary). The one place the package counts classes; anything that is not
    a label is left for :func:`nnscratch.core.checks.check_labels` to refuse.

    A largest label far above the number of distinct labels (``[0, 10**9]``) would make a
    network with a billion outputs: it is refused, naming ``name``, before anything is built.
    """
    seen = []
    for arr in map(np.asarray, labels):
        if arr.dtype.kind in "iubf":
            seen.append(arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr.ravel())
    values = np.concatenate(seen) if seen else np.zeros(0)
    top = int(values.max()) + 1 if values.size else 2
    distinct = np.unique(values).size
    if top > FEW_CLASSES and top > 2 * distinct:
        raise ValueError(
            f"{name}: expected class indices 0..K-1, got the label {top - 1} among "
            f"{distinct} distinct labels; number the classes 0..{distinct - 1} first"
        )
    return max(2, top)
