"""Where a command's data come from: a built-in data set's name or a file, split and
prepared the same way for training and, from the model file, for prediction.

A built-in name gives its usual split (``load_<name>``: the tutorial's split for moons),
unstandardised unless asked. A file (CSV/TSV, ``.npz``, IDX; :func:`~nnscratch.data.read`)
is split stratified by ``test_fraction`` (or tested on a second file), standardised on its
training rows unless asked not to, and its labels mapped to class indices; the
:class:`~nnscratch.data.preprocessing.Preprocessor` that did it goes into the model file,
so :func:`rows_for` applies it again to raw rows, columns found by name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnscratch.core.checks import fail
from nnscratch.data.datasets import DATASETS, load_dataset
from nnscratch.data.preprocessing import Preprocessor, prepare
from nnscratch.data.readers import column_names, read

Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass
class Source:
    """Data ready to train on: ``split`` ``(X_train, X_test, y_train, y_test)``, the labels
    of the classes (``classes[k]`` for class ``k``; None for a regression target), and the
    preprocessor (None: raw)."""

    name: str
    split: Split
    classes: list | None
    preprocessor: Preprocessor | None
    target: str | None = None

    def header(self) -> dict:
        """What a model file keeps of it: where the data came from and how it was prepared."""
        return {
            "data": self.name,
            "target": self.target,
            "preprocessing": None if self.preprocessor is None else self.preprocessor.to_header(),
        }


def is_builtin(name: str) -> bool:
    return name in DATASETS


def check_source(text: str) -> str:
    """A built-in data set's name, or a path to a data file that exists."""
    if is_builtin(text) or Path(text).is_file():
        return text
    why = "a directory" if Path(text).is_dir() else "no such file"
    raise fail(
        "data",
        f"a built-in data set ({', '.join(DATASETS)}) or a data file",
        f"{text!r} ({why})",
        True,
    )


def load_source(
    name: str,
    target: str | None = None,
    test: str | None = None,
    test_fraction: float = 0.25,
    standardize: bool | None = None,
    seed=0,
    crosses: bool = False,
    task: str = "auto",
    missing: str = "error",
) -> Source:
    """The data ``name`` stands for, split and prepared (see the module's docstring).

    ``standardize`` None: files yes, built-in sets no (they are the tutorial's, as it had
    them). ``test``: a second file of the same columns, the held-out rows (no split).
    ``crosses``: add Playground's crosses of two features (``x1^2, x2^2, x1*x2, sin``).
    ``task`` and ``missing``: as :func:`~nnscratch.data.read` takes them (a regression
    target gives ``classes`` None).
    """
    check_source(name)
    if is_builtin(name):
        for option, value in (("target", target), ("test", test)):
            if value is not None:
                raise fail(option, f"none for the built-in data set {name!r}", value)
        X_train, X_test, y_train, y_test = load_dataset(name)
        classes = np.unique(np.concatenate([y_train, y_test])).tolist()
        pre = None
        if standardize or crosses:
            names = [f"x{j + 1}" for j in range(X_train.shape[1])]
            pre = Preprocessor(bool(standardize), crosses).fit(X_train, names, classes)
            X_train, X_test = pre.transform(X_train), pre.transform(X_test)
        return Source(name, (X_train, X_test, y_train, y_test), classes, pre)
    table = read(name, target=target, task=task, missing=missing)
    standardize = True if standardize is None else standardize
    if test is None:
        # fmt: off
        splits, pre = prepare(table, test=test_fraction, seed=seed, standardize=standardize,
                              crosses=crosses)
        # fmt: on
        X_train, X_test, y_train, y_test = splits.as_tuple()
    else:
        check_source(test)
        held = read(test, target=table.target, task=table.task, missing=missing)
        pre = Preprocessor(standardize, crosses).fit(table.X, table.feature_names, table.classes)
        X_train, y_train = pre.transform(table.X), table.y
        X_test = pre.transform(held.X, held.feature_names)
        if table.classes is None:
            y_test = held.y
        else:  # the test file's labels, as the training file's indices
            y_test = pre.encode(held.decode(held.y))
    classes = None if table.classes is None else list(table.classes)
    return Source(name, (X_train, X_test, y_train, y_test), classes, pre, table.target)


def rows_for(path, header: dict) -> np.ndarray:
    """The rows of a data file, prepared as the model in ``header`` was trained: its feature
    columns found by name (in any order; the target column may be there or not; any
    other column is refused), and its preprocessing applied."""
    pre_header = header.get("preprocessing")
    if pre_header is None:
        raise fail(
            "DATA",
            "a built-in data set (this model was trained on one, without a file's columns)",
            os.fspath(path),
            True,
        )
    pre = Preprocessor.from_header(pre_header)
    features = list(pre.feature_names_)
    columns = _columns(path, header.get("target"))
    missing = [f for f in features if f not in columns]
    extra = [c for c in columns if c not in features]
    if missing or extra:
        got = (
            f"{path}: missing {', '.join(missing) or 'none'}; unknown {', '.join(extra) or 'none'}"
        )
        raise fail("DATA", f"the model's feature columns {', '.join(features)}", got, True)
    X = np.column_stack([columns[f] for f in features])  # (N, D), the model's order
    return pre.transform(X)


def _columns(path, target: str | None) -> dict[str, np.ndarray]:
    """A data file's feature columns by name, its target column left out where it has one."""
    names = column_names(path)
    if names is None:  # .npz or IDX: features and target apart already
        table = read(path)
        return dict(zip(table.feature_names, table.X.T, strict=True))
    if target in names:
        table = read(path, target=target)
        return dict(zip(table.feature_names, table.X.T, strict=True))
    table = read(path, target=names[-1], task="regression")  # every column: numbers
    return {**dict(zip(table.feature_names, table.X.T, strict=True)), names[-1]: table.y}
