"""Data: built-in data sets (generated or shipped with scikit-learn, never downloaded),
readers for CSV/TSV, ``.npz`` and MNIST-style IDX files, splits, and preprocessing that
travels with a model.

``load_moons()`` is the tutorial's data exactly (see :mod:`nnscratch.data.datasets`).

- ``make_<name>(n_samples, noise, seed) -> (X, y)`` and ``load_<name>(...) ->
  (X_train, X_test, y_train, y_test)``; ``DATASETS`` (classification), ``REGRESSION_DATASETS``,
  ``TASKS`` (name -> task), ``load_dataset(name)``, ``make_dataset(name)``.
- ``read(path, target=None, task="auto", delimiter=None, missing="error") -> Table``.
- ``split(X, y, test=0.25, validation=0.0, seed=0, stratify=True) -> Splits``.
- ``Preprocessor(standardize=True, crosses=False)``, fitted on training rows; its
  ``to_header()`` / ``Preprocessor.from_header(d)``; ``prepare(table, ...)`` does all three.
"""

from nnscratch.data.datasets import (
    BUNDLED,
    DATASETS,
    REGRESSION_DATASETS,
    TASKS,
    Split,
    bundled,
    load_blobs,
    load_breast_cancer,
    load_circles,
    load_dataset,
    load_digits,
    load_gauss,
    load_iris,
    load_moons,
    load_plane,
    load_sine,
    load_spiral,
    load_wine,
    load_xor,
    make_dataset,
)
from nnscratch.data.labels import n_classes
from nnscratch.data.preprocessing import Preprocessor, prepare
from nnscratch.data.readers import read
from nnscratch.data.split import Splits, split, split_indices
from nnscratch.data.synthetic import (
    make_blobs,
    make_circles,
    make_gauss,
    make_moons,
    make_plane,
    make_sine,
    make_spiral,
    make_xor,
)
from nnscratch.data.table import Table

__all__ = [
    "BUNDLED",
    "DATASETS",
    "REGRESSION_DATASETS",
    "TASKS",
    "Preprocessor",
    "Split",
    "Splits",
    "Table",
    "bundled",
    "load_blobs",
    "load_breast_cancer",
    "load_circles",
    "load_dataset",
    "load_digits",
    "load_gauss",
    "load_iris",
    "load_moons",
    "load_plane",
    "load_sine",
    "load_spiral",
    "load_wine",
    "load_xor",
    "make_blobs",
    "make_circles",
    "make_dataset",
    "make_gauss",
    "make_moons",
    "make_plane",
    "make_sine",
    "make_spiral",
    "make_xor",
    "n_classes",
    "prepare",
    "read",
    "split",
    "split_indices",
]
