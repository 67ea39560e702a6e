"""Argument checks shared by the whole package.

Every check raises ``ValueError`` whose message names the argument, what was expected and
what was given, so that bad input fails loudly before any training starts.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fail(name: str, expected: str, got: Any, described: bool = False) -> ValueError:
    """Build the package's standard error: ``name: expected ..., got ...``.

    ``got`` is the value given, described here, or (``described=True``) words already
    saying what was given ("values from 0 to 9").
    """
    return ValueError(f"{name}: expected {expected}, got {got if described else _describe(got)}")


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """An integer (not a bool) at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise fail(name, f"an integer >= {minimum}", value)
    return int(value)


def check_positive(name: str, value: Any, population: int | None = None) -> float | np.ndarray:
    """A finite number > 0, or (when ``population`` is given) an array of shape ``(P,)`` of them."""
    return check_range(name, value, low=0.0, low_open=True, population=population)


def check_range(
    name: str,
    value: Any,
    low: float = -np.inf,
    high: float = np.inf,
    low_open: bool = False,
    high_open: bool = False,
    population: int | None = None,
) -> float | np.ndarray:
    """A finite number (or a ``(P,)`` array of them) in the interval ``low .. high``.

    Scalars come back as ``float``, per-member values as a float64 array of shape ``(P,)``.
    """
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    interval = f"{left}{low:g}, {high:g}{right}"
    expected = f"a finite number in {interval}"
    if population is not None:
        expected += f" or an array of shape ({population},) of them"
    if isinstance(value, bool):
        raise fail(name, expected, value)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise fail(name, expected, value) from None
    if arr.ndim == 1 and population is not None and arr.shape != (population,):
        raise fail(name, expected, value)
    if arr.ndim > 1 or (arr.ndim == 1 and population is None):
        raise fail(name, expected, value)
    below = (arr <= low) if low_open else (arr < low)
    above = (arr >= high) if high_open else (arr > high)
    if not np.all(np.isfinite(arr)) or np.any(below) or np.any(above):
        raise fail(name, expected, value)
    return float(arr) if arr.ndim == 0 else arr


def all_finite(arr: np.ndarray) -> bool:
    """True when no entry is NaN or infinite, checked without an array-sized temporary.

    A sum (in the array's own dtype: float32 sums at twice float64's speed) is finite exactly
    when every entry is, unless finite entries overflow it; only then does the exact
    element-wise test run.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # inf + (-inf), or an overflow
        if np.isfinite(arr.sum()):
            return True
    return bool(np.all(np.isfinite(arr)))


def check_X(X: Any, name: str = "X", n_features: int | None = None, dtype=None) -> np.ndarray:
    """A finite 2-D float array ``(N, D)`` with at least one row."""
    try:
        arr = np.asarray(X, dtype=dtype if dtype is not None else np.float64)
    except (TypeError, ValueError):
        raise fail(name, "a 2-D array of numbers (N, D)", X) from None
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise fail(name, "a 2-D array of numbers (N, D) with N >= 1 and D >= 1", arr)
    if n_features is not None and arr.shape[1] != n_features:
        raise fail(name, f"{n_features} features (columns)", arr)
    if not all_finite(arr):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        got = f"{bad} NaN or infinite value(s) in an array of shape {arr.shape}"
        raise fail(name, "finite values", got, described=True)
    return arr


def check_labels(y: Any, n_samples: int, n_classes: int, name: str = "y") -> np.ndarray:
    """Integer class indices ``0 .. n_classes-1``, one per row of ``X``."""
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise fail(name, f"a 1-D array of {n_samples} labels (one per row of X)", arr)
    whole = arr.dtype.kind == "f" and np.all(np.isfinite(arr) & (arr == np.round(arr)))
    if arr.dtype.kind not in "iub" and not whole:
        raise fail(name, f"integer class indices 0..{n_classes - 1}", arr)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):  # before a cast can wrap
        got = f"values from {int(arr.min())} to {int(arr.max())}"
        raise fail(name, f"integer class indices 0..{n_classes - 1}", got, described=True)
    return arr.astype(np.intp)


def memory_bytes() -> int:
    """This machine's physical memory in bytes (POSIX ``sysconf``); 0 where unknown."""
    sysconf = getattr(os, "sysconf", lambda key: 0)
    return sysconf("SC_PHYS_PAGES") * sysconf("SC_PAGE_SIZE")


def check_memory(name: str, n_bytes: float, what: str) -> None:
    """Refuse, before allocating, what would not fit in this machine's memory (POSIX)."""
    limit = memory_bytes()  # 0: unknown, nothing refused
    if 0 < limit < n_bytes:
        got = f"{what}, about {n_bytes / 2**30:.3g} GiB"
        raise fail(name, f"sizes that fit in memory ({limit / 2**30:.1f} GiB here)", got, True)


def training_bytes(sizes, batch_size: int = 0, n_rows: int = 0, itemsize: int = 8) -> float:
    """About the peak bytes one member of a population needs to train on ``n_rows`` rows in
    batches of ``batch_size``, then evaluate them all (an estimate, a little high).

    Training holds its weights six times (``6 W``: the weights, their gradients, the
    epoch's copy a diverging member returns to, two optimizer moments (Adam's; plain SGD
    has none, so it needs about ``4 W``), an update's temporary), one batch's
    activations, caches and their gradients (``3 B sum(sizes)``) and two int64 row orders
    of ``N`` (the shuffle). Evaluating the ``N`` rows afterwards, the training's buffers
    gone, holds the weights and five ``(N, K)`` arrays (the logits, the loss's log-softmax,
    what scoring takes: about four of NumPy's, and the allocator's slack that the process's
    resident memory shows beside them). The larger of the two counts.
    ``benchmarks/scaling.py`` measures both peaks against this estimate; the hidden values
    of an evaluation, worked through in blocks of rows that the population shares, are
    counted by :func:`population_bytes`.
    """
    n_weights = sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))
    training = itemsize * (6 * n_weights + 3 * batch_size * sum(sizes)) + 16 * n_rows
    evaluating = itemsize * (n_weights + 5 * sizes[-1] * n_rows)
    return float(max(training, evaluating))


#: Prediction works through blocks of rows of at most this many hidden values per layer.
BLOCK = 2**19


def block_rows(P: int, widest: int) -> int:
    """Rows per block of prediction: ``P x rows x widest`` stays under :data:`BLOCK`."""
    return max(1, BLOCK // (P * widest))


def population_bytes(
    P: int, sizes, batch_size: int = 0, n_rows: int = 0, itemsize: int = 8
) -> float:
    """About the peak bytes ``P`` members need to train and then evaluate (the estimate
    :func:`check_fits` refuses by): ``P`` times :func:`training_bytes`, plus the hidden values
    of the evaluation, worked through in blocks of rows
    (:meth:`~nnscratch.core.network.MLP.logits_in_blocks`): four arrays of a block, a
    layer's product and activation for one block and the one before it still cached: 16 MB
    in float64 at most, however large ``P`` (unless one row of every member fills more)."""
    rows = min(n_rows, block_rows(P, max(sizes)))  # rows per block of the evaluation
    shared = 4.0 * itemsize * P * rows * max(sizes)
    return P * training_bytes(sizes, batch_size, n_rows, itemsize) + shared


def check_fits(name: str, P: int, sizes, itemsize: int, batch_size=0, n_rows=0) -> None:
    """Refuse ``P`` networks of widths ``sizes`` (trained on ``batch_size`` of ``n_rows``
    rows, where given) whose :func:`population_bytes` exceed this machine's memory."""
    on = f" on batches of {batch_size} of {n_rows} rows" if batch_size else ""
    need = population_bytes(P, sizes, batch_size, n_rows, itemsize)
    check_memory(name, need, f"{P} network(s) of widths {list(sizes)}{on}")


def check_choice(name: str, value: Any, choices) -> str:
    """One of a fixed set of names."""
    if not isinstance(value, str) or value not in choices:
        accepted = ", ".join(sorted(choices))
        raise fail(name, f"one of: {accepted}", value)
    return value
