"""Shared fixtures: tiny, seeded data sets that every test file may use."""

from __future__ import annotations

import numpy as np
import pytest


def make_blobs(n: int = 30, n_features: int = 3, n_classes: int = 4, seed: int = 0):
    """``n`` rows around ``n_classes`` random centres; labels cycle so every class appears."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 2.0, size=(n_classes, n_features))  # (K,D)
    y = np.arange(n) % n_classes  # (N,)
    X = centres[y] + rng.normal(0.0, 1.0, size=(n, n_features))  # (N,D)
    return X, y


def make_moons(n: int = 40, noise: float = 0.1, seed: int = 0):
    """Two interleaved half circles in 2-D, labels 0/1 (a tiny, dependency-free moons)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2  # (N,)
    t = rng.uniform(0.0, np.pi, size=n)
    X = np.where(
        y[:, None] == 0,
        np.stack([np.cos(t), np.sin(t)], axis=1),
        np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1),
    )  # (N,2)
    return X + rng.normal(0.0, noise, size=X.shape), y


@pytest.fixture
def blobs():
    """30 rows, 3 features, 4 classes (``X (30, 3)``, ``y (30,)``)."""
    return make_blobs()


@pytest.fixture
def moons():
    """40 rows, 2 features, 2 classes (``X (40, 2)``, ``y (40,)``)."""
    return make_moons()
