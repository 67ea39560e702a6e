"""Data sets: built-in ones generated locally (nothing is downloaded), split for training and test.

``load_moons()`` is the tutorial's data exactly (see :mod:`nnscratch.data.datasets`).
"""

from nnscratch.data.datasets import (
    DATASETS,
    Split,
    load_blobs,
    load_circles,
    load_dataset,
    load_digits,
    load_moons,
    load_spiral,
)
from nnscratch.data.labels import n_classes

__all__ = [
    "DATASETS",
    "Split",
    "load_blobs",
    "load_circles",
    "load_dataset",
    "load_digits",
    "load_moons",
    "load_spiral",
    "n_classes",
]
