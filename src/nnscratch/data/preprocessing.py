"""Preprocessing that travels with a model: columns by name, optional crosses, standardisation
fitted on the training rows only, and the label mapping; all of it in a JSON-able header.

``transform`` computes, for the columns put in the fitted order by name::

    Z = (cross(X) - mean) / scale      # (N, D') ; mean, scale (D',) from the training rows

where ``cross`` appends TensorFlow Playground's features to 2-D data, ``x1^2, x2^2, x1*x2,
sin(x1), sin(x2)`` (``D' = 7``), or is the identity; ``scale`` is the standard deviation
(``ddof=0``), 1 for a column that is constant in training (it then becomes 0).

``to_header()`` gives a dict of strings, bools, lists and Python floats that ``json``
writes and reads back bit for bit (``repr`` of a float64 round-trips);
``Preprocessor.from_header(d)`` checks it and rebuilds the same object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nnscratch.core.checks import check_X, fail
from nnscratch.data.split import Splits, split
from nnscratch.data.table import Table

HEADER_FORMAT = "nnscratch.preprocessor"
HEADER_VERSION = 1


def cross_names(names: Sequence[str]) -> tuple[str, ...]:
    """The output columns' names after Playground's crosses of two features ``a, b``."""
    a, b = names
    return (a, b, f"{a}^2", f"{b}^2", f"{a}*{b}", f"sin({a})", f"sin({b})")


def cross(X: np.ndarray) -> np.ndarray:
    """``(N, 2) -> (N, 7)``: ``x1, x2, x1^2, x2^2, x1*x2, sin x1, sin x2``."""
    x1, x2 = X[:, 0], X[:, 1]
    return np.column_stack([x1, x2, x1 * x1, x2 * x2, x1 * x2, np.sin(x1), np.sin(x2)])


class Preprocessor:
    """Columns by name, optional Playground crosses (2-D data), standardisation, labels.

    ``Preprocessor(standardize=True, crosses=False).fit(X_train, feature_names, classes)``;
    then ``transform(X, feature_names)`` for any rows, ``encode(labels)`` and
    ``decode(indices)`` for the targets. Fitted attributes end in ``_``.
    """

    def __init__(self, standardize: bool = True, crosses: bool = False) -> None:
        self.standardize = bool(standardize)
        self.crosses = bool(crosses)

    # fitting ------------------------------------------------------------------------------

    def fit(
        self, X, feature_names: Sequence[str] | None = None, classes: Sequence | None = None
    ) -> Preprocessor:
        """Learn the columns, the mean and scale of the training rows ``X (N, D)``, and the
        class labels (``classes[k]`` is class ``k``'s label; ``None`` for regression)."""
        X = check_X(X, name="X")
        names = _names(feature_names, X.shape[1])
        if self.crosses and X.shape[1] != 2:
            raise fail("crosses", "data with 2 features (x1, x2)", f"{X.shape[1]} features", True)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: refused below
            mean, scale = self._moments(cross(X) if self.crosses else X)

        if not (np.isfinite(mean).all() and np.isfinite(scale).all()):  # overflowed
            got = "values so large that their mean or standard deviation overflows float64"
            raise fail("X", "values whose standardisation is finite", got, True)
        self.feature_names_ = names
        self.mean_, self.scale_ = mean, scale
        self.classes_ = None if classes is None else _classes(classes)
        return self

    def _moments(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, scale)`` of the training rows ``Z (N, D')``; zeros and ones when not
        standardising."""
        if not self.standardize:
            return np.zeros(Z.shape[1]), np.ones(Z.shape[1])
        mean = Z.mean(axis=0)  # (D',)
        std = Z.std(axis=0)
        constant = (Z.max(axis=0) == Z.min(axis=0)) | (std == 0)
        return mean, np.where(constant, 1.0, std)

    @property
    def output_names(self) -> tuple[str, ...]:
        """The columns ``transform`` returns, in order."""
        return cross_names(self.feature_names_) if self.crosses else self.feature_names_

    # applying -----------------------------------------------------------------------------

    def transform(self, X, feature_names: Sequence[str] | None = None) -> np.ndarray:
        """``(N, D) -> (N, D')``: columns put in the fitted order by ``feature_names`` (or
        taken as given when ``None``), crossed, standardised."""
        self._check_fitted()
        X = check_X(X, name="X", n_features=len(self.feature_names_))
        if feature_names is not None:
            X = X[:, self._order(feature_names)]
        Z = cross(X) if self.crosses else X
        return (Z - self.mean_) / self.scale_

    def fit_transform(self, X, feature_names=None, classes=None) -> np.ndarray:
        return self.fit(X, feature_names, classes).transform(X)

    def _order(self, feature_names: Sequence[str]) -> np.ndarray:
        """Where each fitted column is in ``feature_names``; refuses other names."""
        given = list(feature_names)
        fitted = list(self.feature_names_)
        if sorted(given) != sorted(fitted) or len(set(given)) != len(given):
            missing = [n for n in fitted if n not in given]
            extra = [n for n in given if n not in fitted]
            got = f"missing {missing}, unknown {extra}" if missing or extra else f"{given}"
            raise fail("feature_names", f"the fitted columns {fitted} in any order", got, True)
        return np.array([given.index(n) for n in fitted], dtype=np.intp)

    def encode(self, labels) -> np.ndarray:
        """Class indices ``(N,)`` for labels as the file had them; an unseen label is refused."""
        self._check_fitted()
        if self.classes_ is None:
            raise fail("labels", "a preprocessor fitted with classes", "one without", True)
        labels = np.asarray(labels)
        if labels.ndim != 1:
            raise fail("labels", "a 1-D array of labels", labels)
        index = {c: k for k, c in enumerate(self.classes_)}
        values, inverse = np.unique(labels, return_inverse=True)
        codes = []
        for v in values:
            key = v.item() if isinstance(v, np.generic) else v
            if isinstance(key, float) and key.is_integer():
                key = int(key)
            if key not in index:
                raise fail("labels", f"one of the classes seen in training {list(index)}", key)
            codes.append(index[key])
        return np.asarray(codes, dtype=np.intp)[inverse.reshape(-1)]

    def decode(self, indices) -> np.ndarray:
        """The labels of class indices ``0..K-1``."""
        self._check_fitted()
        if self.classes_ is None:
            raise fail("indices", "a preprocessor fitted with classes", "one without", True)
        indices = np.asarray(indices)
        K = len(self.classes_)
        if indices.dtype.kind not in "iu" or (
            indices.size and not 0 <= indices.min() <= indices.max() < K
        ):
            raise fail("indices", f"class indices 0..{K - 1}", indices)
        return np.asarray(self.classes_)[indices]

    def _check_fitted(self) -> None:
        if not hasattr(self, "mean_"):
            raise ValueError(
                "Preprocessor: expected a fitted preprocessor (call fit), got one not fitted"
            )

    # the header ---------------------------------------------------------------------------

    def to_header(self) -> dict[str, Any]:
        """A JSON-able dict; floats are Python floats, which ``json`` round-trips exactly."""
        self._check_fitted()
        return {
            "format": HEADER_FORMAT,
            "version": HEADER_VERSION,
            "features": list(self.feature_names_),
            "standardize": self.standardize,
            "crosses": self.crosses,
            "mean": [float(v) for v in self.mean_],
            "scale": [float(v) for v in self.scale_],
            "classes": None if self.classes_ is None else list(self.classes_),
        }

    @classmethod
    def from_header(cls, header: dict[str, Any]) -> Preprocessor:
        """The preprocessor ``to_header`` described, every entry checked first."""
        if not isinstance(header, dict) or header.get("format") != HEADER_FORMAT:
            raise fail("header", f"a dict with format {HEADER_FORMAT!r}", header)
        if header.get("version") != HEADER_VERSION:
            raise fail("header['version']", str(HEADER_VERSION), header.get("version"))
        flags = {k: header.get(k) for k in ("standardize", "crosses")}
        for k, v in flags.items():
            if not isinstance(v, bool):
                raise fail(f"header[{k!r}]", "true or false", v)
        names = _names(header.get("features"), None, name="header['features']")
        if flags["crosses"] and len(names) != 2:
            raise fail("header['features']", "2 features with crosses", list(names))
        width = 7 if flags["crosses"] else len(names)
        mean = _floats(header.get("mean"), width, "header['mean']")
        scale = _floats(header.get("scale"), width, "header['scale']")
        if not np.all(scale > 0):
            raise fail("header['scale']", "numbers > 0", list(scale))
        classes = header.get("classes")
        pre = cls(standardize=flags["standardize"], crosses=flags["crosses"])
        pre.feature_names_, pre.mean_, pre.scale_ = names, mean, scale
        pre.classes_ = None if classes is None else _classes(classes, "header['classes']")
        return pre


def _names(names, n: int | None, name: str = "feature_names") -> tuple[str, ...]:
    if names is None and n is not None:
        return tuple(f"x{j + 1}" for j in range(n))
    if isinstance(names, (str, bytes)) or not isinstance(names, (Sequence, np.ndarray)):
        raise fail(name, "a sequence of column names", names)
    names = tuple(names)
    if (n is not None and len(names) != n) or not names:
        raise fail(name, f"{n} column names (one per column of X)", list(names))
    if not all(isinstance(s, str) and s for s in names) or len(set(names)) != len(names):
        raise fail(name, "distinct, non-empty strings", list(names))
    return names


def _classes(classes, name: str = "classes") -> tuple:
    """Class labels as plain ``str`` or ``int`` (JSON's own types), distinct, at least 2."""
    out = []
    for c in classes:
        c = c.item() if isinstance(c, np.generic) else c
        if isinstance(c, bool) or not isinstance(c, (str, int)):
            raise fail(name, "labels that are strings or integers", c)
        out.append(c)
    if len(out) < 2 or len(set(out)) != len(out):
        raise fail(name, "at least 2 distinct labels", out)
    return tuple(out)


def _floats(values, n: int, name: str) -> np.ndarray:
    ok = isinstance(values, list) and len(values) == n
    ok = ok and all(
        isinstance(v, (float, int)) and not isinstance(v, bool) and math.isfinite(v) for v in values
    )
    if not ok:
        raise fail(name, f"a list of {n} finite floats", values)
    return np.array(values, dtype=np.float64)


def prepare(
    table: Table,
    test: float = 0.25,
    validation: float = 0.0,
    seed=0,
    standardize: bool = True,
    crosses: bool = False,
    stratify: bool = True,
) -> tuple[Splits, Preprocessor]:
    """Split a table's rows (:func:`~nnscratch.data.split.split`), fit a ``Preprocessor`` on
    the training rows alone and apply it to every set: ``(splits, preprocessor)``."""
    parts = split(table.X, table.y, test, validation, seed, stratify)
    pre = Preprocessor(standardize, crosses).fit(parts.X_train, table.feature_names, table.classes)

    def apply(X: np.ndarray) -> np.ndarray:
        return pre.transform(X) if X.shape[0] else np.empty((0, len(pre.output_names)))

    done = Splits(
        apply(parts.X_train),
        apply(parts.X_val),
        apply(parts.X_test),
        parts.y_train,
        parts.y_val,
        parts.y_test,
        parts.train_rows,
        parts.val_rows,
        parts.test_rows,
    )
    return done, pre
