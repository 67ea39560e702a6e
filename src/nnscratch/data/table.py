"""What a reader returns: a ``Table`` of features, targets and what their columns mean."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnscratch.core.checks import fail

TASKS = ("auto", "classification", "regression")

#: More distinct labels than this in a classification target is refused (a regression
#: target read as classes, most likely).
MAX_CLASSES = 10_000


@dataclass(frozen=True)
class Table:
    """Rows read from a file.

    ``X (N, D)`` float64 features, columns named by ``feature_names``; ``y (N,)`` the target
    column ``target``: class indices (``intp``, ``0..K-1``) for classification, where
    ``classes[k]`` is the label class ``k`` had in the file (a ``str``, or an ``int`` for
    numeric labels), or float64 values for regression (``classes`` is ``None``).
    ``n_dropped`` counts the rows left out by ``missing="drop"``.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target: str
    task: str
    classes: tuple | None
    path: str
    n_dropped: int = 0

    @classmethod
    def from_arrays(
        cls, X, y, task: str = "auto", feature_names=None, target: str = "y", path: str = ""
    ) -> Table:
        """A table from arrays (a built-in data set's ``make_<name>()``, say): ``task="auto"``
        reads float ``y`` as regression; labels (any integers or strings) become indices."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if X.ndim != 2 or y.shape != (X.shape[0],):
            raise fail("X", f"a 2-D array with one row per target ({y.shape[0]})", X)
        check_task(task)
        if task == "auto":
            task = "regression" if y.dtype.kind == "f" else "classification"
        classes = None
        if task == "classification":
            y, classes = label_table(y, "y")
        else:
            y = y.astype(np.float64)
        if feature_names is None:
            feature_names = [f"x{j + 1}" for j in range(X.shape[1])]
        names = tuple(str(n) for n in feature_names)
        if len(names) != X.shape[1]:
            raise fail("feature_names", f"{X.shape[1]} names (one per column of X)", names)
        return cls(X, y, names, target, task, classes, path)

    def decode(self, indices) -> np.ndarray:
        """The file's labels for class indices (classification only)."""
        if self.classes is None:
            raise fail("indices", "a classification table to decode", "a regression table", True)
        return np.asarray(self.classes, dtype=object)[np.asarray(indices, dtype=np.intp)]


def where(path, line: int | None = None, column: int | None = None, name=None) -> str:
    """``'data.csv, line 4, column 2 ("x2")'``: the place an error message starts with.
    ``column`` counts from 1, as a spreadsheet does."""
    place = str(path)
    if line is not None:
        place += f", line {line}"
    if column is not None:
        place += f", column {column}"
        if name is not None:
            place += f" ({name!r})"
    return place


def check_task(task: str) -> str:
    if task not in TASKS:
        raise fail("task", f"one of {', '.join(TASKS)}", task)
    return task


def label_table(labels: np.ndarray, place: str) -> tuple[np.ndarray, tuple]:
    """Class indices and their labels from an array of labels (integers or strings), sorted;
    refused with fewer than two classes or more than ``MAX_CLASSES``."""
    if labels.dtype.kind in "bS":  # labels as JSON has them: ints and str, not bools and bytes
        labels = labels.astype(np.int64 if labels.dtype.kind == "b" else np.str_)
    if labels.dtype.kind == "f":
        whole = np.isfinite(labels) & (labels == np.round(labels))
        if not np.all(whole):
            bad = labels[np.flatnonzero(~whole)[0]]
            raise ValueError(f"{place}: expected integer class labels, got {bad!r}")
        labels = labels.astype(np.int64)
    classes, y = np.unique(labels, return_inverse=True)
    if classes.size > MAX_CLASSES:
        raise ValueError(
            f"{place}: expected at most {MAX_CLASSES} classes, got {classes.size} distinct "
            "labels; pass task='regression' for a numeric target"
        )
    if classes.size < 2:
        got = f"only one class, {classes[0].item()!r}" if classes.size else "no labels"
        raise ValueError(f"{place}: expected at least 2 classes, got {got}")
    return y.astype(np.intp).reshape(-1), tuple(c.item() for c in classes)
