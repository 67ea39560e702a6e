"""Splitting rows into training, validation and test sets, stratified for classes.

``split_indices`` draws the permutation from a ``np.random.Generator`` (no global state);
``split`` applies it. For class labels (integers) with ``stratify=True``, every class is
split in the same proportions: each class ``c`` with ``n_c`` rows sends about
``test * n_c`` of them to the test set, the rounding shared out by largest remainder, so
the set sizes are exactly ``ceil(test * N)`` and ``ceil(validation * N)`` as scikit-learn
counts them. Float targets (regression) are split without strata.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nnscratch.core.checks import check_range, fail
from nnscratch.data.synthetic import generator


@dataclass(frozen=True)
class Splits:
    """The rows of a split: ``X_*`` ``(N_*, D)``, ``y_*`` ``(N_*,)``, and which rows they were
    (``*_rows``, indices into the data given). The validation set is empty when not asked."""

    X_train: np.ndarray
    X_val: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray
    train_rows: np.ndarray
    val_rows: np.ndarray
    test_rows: np.ndarray

    def as_tuple(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(X_train, X_test, y_train, y_test)``, the order of ``load_moons``."""
        return self.X_train, self.X_test, self.y_train, self.y_test


def _sizes(n: int, test: float, validation: float) -> tuple[int, int]:
    test = check_range("test", test, low=0.0, high=1.0, high_open=True)
    validation = check_range("validation", validation, low=0.0, high=1.0, high_open=True)
    n_test, n_val = math.ceil(test * n), math.ceil(validation * n)
    if n - n_test - n_val < 1:
        got = f"test={test:g} and validation={validation:g} of {n} rows, leaving none to train"
        raise fail("test", "fractions that leave at least one training row", got, True)
    return n_test, n_val


def _shares(counts: np.ndarray, total: int) -> np.ndarray:
    """``total`` rows shared out over classes in proportion to ``counts`` (largest remainder;
    ties go to the earlier class), never more than a class has."""
    quota = counts * (total / counts.sum())  # (K,)
    share = np.minimum(np.floor(quota).astype(np.intp), counts)
    order = np.lexsort((np.arange(counts.size), -(quota - share)))
    for k in order:  # at most K rounds: each class gets at most one more row
        if share.sum() >= total:
            break
        if share[k] < counts[k]:
            share[k] += 1
    return share


def _is_labels(y: np.ndarray) -> bool:
    return y.dtype.kind in "iub" or y.dtype.kind in "US"


def split_indices(
    y: np.ndarray, test: float = 0.25, validation: float = 0.0, seed=0, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(train_rows, val_rows, test_rows)``: disjoint row indices covering ``range(len(y))``,
    each in a random order."""
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] < 2:
        raise fail("y", "a 1-D array of at least 2 targets", y)
    n_test, n_val = _sizes(y.shape[0], test, validation)
    rng = generator(seed)
    if not (stratify and _is_labels(y)):
        order = rng.permutation(y.shape[0])
        return order[n_test + n_val :], order[n_test : n_test + n_val], order[:n_test]
    classes, codes = np.unique(y, return_inverse=True)
    counts = np.bincount(codes, minlength=classes.size)
    test_share = _shares(counts, n_test)
    val_share = _shares(counts - test_share, n_val)
    parts: tuple[list, list, list] = ([], [], [])
    for k in range(classes.size):
        rows = rng.permutation(np.flatnonzero(codes == k))
        t, v = test_share[k], val_share[k]
        parts[0].append(rows[t + v :])
        parts[1].append(rows[t : t + v])
        parts[2].append(rows[:t])
    # the classes' rows interleaved at random, so no set is ordered by class
    train, val, test_rows = (rng.permutation(np.concatenate(p)) for p in parts)
    return train, val, test_rows


def split(
    X, y, test: float = 0.25, validation: float = 0.0, seed=0, stratify: bool = True
) -> Splits:
    """Split ``X (N, D)`` and ``y (N,)`` into training, validation and test rows.

    ``test`` and ``validation`` are fractions of ``N`` (``ceil`` of each, as scikit-learn
    counts); the rest trains. ``seed`` is an int, a ``SeedSequence`` or a ``Generator``.
    Integer or string labels are stratified unless ``stratify=False``.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise fail("X", f"a 2-D array with one row per target ({y.shape[0]})", X)
    train, val, test_rows = split_indices(y, test, validation, seed, stratify)
    return Splits(
        X[train], X[val], X[test_rows], y[train], y[val], y[test_rows], train, val, test_rows
    )
