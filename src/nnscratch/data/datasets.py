"""Built-in data sets, generated locally (nothing is downloaded), split for training and test.

``load_moons()`` is the tutorial's data exactly: ``make_moons(n_samples=5000, noise=0.1,
random_state=42)`` split by ``train_test_split(random_state=42)`` (3750 train, 1250 test).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnscratch.core.checks import check_choice, check_int, check_range

Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _split(X, y, test_size: float, random_state: int) -> Split:
    from sklearn.model_selection import train_test_split

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state
    )
    return X_train, X_test, y_train.astype(np.intp), y_test.astype(np.intp)


def load_moons(
    n_samples: int = 5000, noise: float = 0.1, random_state: int = 42, test_size: float = 0.25
) -> Split:
    """Two interleaving half-circles, two classes: ``(X_train, X_test, y_train, y_test)``.

    The defaults give the tutorial's split: ``X_train`` (3750, 2) and ``X_test`` (1250, 2).
    """
    from sklearn.datasets import make_moons

    n_samples = check_int("n_samples", n_samples, minimum=4)
    noise = check_range("noise", noise, low=0.0)
    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=random_state)
    return _split(X, y, test_size, random_state)


def load_circles(
    n_samples: int = 2000, noise: float = 0.1, random_state: int = 42, test_size: float = 0.25
) -> Split:
    """A small circle inside a larger one, two classes."""
    from sklearn.datasets import make_circles

    X, y = make_circles(
        n_samples=check_int("n_samples", n_samples, minimum=4),
        noise=check_range("noise", noise, low=0.0),
        factor=0.5,
        random_state=random_state,
    )
    return _split(X, y, test_size, random_state)


def load_blobs(
    n_samples: int = 1500, n_classes: int = 3, random_state: int = 42, test_size: float = 0.25
) -> Split:
    """Gaussian blobs in 2-D, one per class."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(
        n_samples=check_int("n_samples", n_samples, minimum=4),
        centers=check_int("n_classes", n_classes, minimum=2),
        n_features=2,
        random_state=random_state,
    )
    return _split(X, y, test_size, random_state)


def load_spiral(
    n_samples: int = 1500,
    n_classes: int = 3,
    noise: float = 0.2,
    random_state: int = 42,
    test_size: float = 0.25,
) -> Split:
    """Interleaved spiral arms, one per class (the classic CS231n toy problem)."""
    n_samples = check_int("n_samples", n_samples, minimum=4)
    n_classes = check_int("n_classes", n_classes, minimum=2)
    rng = np.random.default_rng(random_state)
    per = n_samples // n_classes
    r = np.tile(np.linspace(0.05, 1.0, per), n_classes)  # (N,)
    y = np.repeat(np.arange(n_classes), per)
    theta = y * (2 * np.pi / n_classes) + r * 4.0 + rng.normal(0.0, noise, r.size)
    X = np.column_stack([r * np.sin(theta), r * np.cos(theta)])
    return _split(X, y, test_size, random_state)


def load_digits(random_state: int = 42, test_size: float = 0.25) -> Split:
    """scikit-learn's 8x8 handwritten digits (ships with scikit-learn), scaled to [0, 1]."""
    from sklearn.datasets import load_digits as sk_digits

    X, y = sk_digits(return_X_y=True)
    return _split(X / 16.0, y, test_size, random_state)


DATASETS: dict[str, Callable[..., Split]] = {
    "moons": load_moons,
    "circles": load_circles,
    "blobs": load_blobs,
    "spiral": load_spiral,
    "digits": load_digits,
}


def load_dataset(name: str, random_state: int = 42, **kwargs) -> Split:
    """A built-in data set by name (see ``DATASETS``), as ``(X_train, X_test, y_train, y_test)``."""
    check_choice("data", name, DATASETS)
    return DATASETS[name](random_state=random_state, **kwargs)
