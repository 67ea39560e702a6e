"""Built-in data sets, generated locally or shipped with scikit-learn (nothing is downloaded),
split for training and test: ``load_<name>(...) -> (X_train, X_test, y_train, y_test)``.

``load_<name>`` is ``make_<name>`` (:mod:`nnscratch.data.synthetic`) followed by the
tutorial's split, ``train_test_split(test_size=0.25, random_state=random_state)``: a
permutation drawn from a private ``RandomState(random_state)``, as scikit-learn draws it.
So ``load_moons()`` is the tutorial's data exactly: ``make_moons(n_samples=5000, noise=0.1,
random_state=42)`` split 3750 train, 1250 test. For a stratified split with a validation
set, from a ``Generator``, use :func:`nnscratch.data.split` on ``make_<name>``'s ``(X, y)``.

``DATASETS`` holds the classification sets (integer labels ``0..K-1``), the ones the CLI's
``--data`` lists; ``REGRESSION_DATASETS`` the regression sets (float targets); ``TASKS``
says which task each name is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnscratch.core.checks import check_choice
from nnscratch.data import synthetic as S

Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _split(X, y, test_size: float, random_state: int) -> Split:
    from sklearn.model_selection import train_test_split

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state
    )
    kind = np.float64 if y.dtype.kind == "f" else np.intp
    return X_train, X_test, y_train.astype(kind), y_test.astype(kind)


def load_moons(
    n_samples: int = 5000, noise: float = 0.1, random_state: int = 42, test_size: float = 0.25
) -> Split:
    """Two interleaving half-circles, two classes: ``(X_train, X_test, y_train, y_test)``.

    The defaults give the tutorial's split: ``X_train`` (3750, 2) and ``X_test`` (1250, 2).
    """
    return _split(*S.make_moons(n_samples, noise, random_state), test_size, random_state)


def load_circles(
    n_samples: int = 2000, noise: float = 0.1, random_state: int = 42, test_size: float = 0.25
) -> Split:
    """A small circle (radius 0.5) inside a larger one, two classes."""
    return _split(*S.make_circles(n_samples, noise, random_state), test_size, random_state)


def load_blobs(
    n_samples: int = 1500,
    n_classes: int = 3,
    random_state: int = 42,
    test_size: float = 0.25,
    noise: float = 1.0,
) -> Split:
    """Gaussian blobs in 2-D, one per class (standard deviation ``noise``)."""
    X, y = S.make_blobs(n_samples, noise, random_state, n_classes=n_classes)
    return _split(X, y, test_size, random_state)


def load_spiral(
    n_samples: int = 1500,
    n_classes: int = 3,
    noise: float = 0.2,
    random_state: int = 42,
    test_size: float = 0.25,
) -> Split:
    """Spiral arms, one per class ("Neural Networks from Scratch")."""
    X, y = S.make_spiral(n_samples, noise, random_state, n_classes=n_classes)
    return _split(X, y, test_size, random_state)


def load_xor(
    n_samples: int = 500, noise: float = 0.0, random_state: int = 42, test_size: float = 0.25
) -> Split:
    """TensorFlow Playground's XOR: the sign of ``x1 * x2``, two classes."""
    return _split(*S.make_xor(n_samples, noise, random_state), test_size, random_state)


def load_gauss(
    n_samples: int = 500, noise: float = 0.0, random_state: int = 42, test_size: float = 0.25
) -> Split:
    """TensorFlow Playground's two Gaussian clusters, two classes."""
    return _split(*S.make_gauss(n_samples, noise, random_state), test_size, random_state)


def load_plane(
    n_samples: int = 500, noise: float = 0.0, random_state: int = 42, test_size: float = 0.25
) -> Split:
    """TensorFlow Playground's regression plane, float targets ``(x1 + x2) / 10``."""
    return _split(*S.make_plane(n_samples, noise, random_state), test_size, random_state)


def load_sine(
    n_samples: int = 500, noise: float = 0.1, random_state: int = 42, test_size: float = 0.25
) -> Split:
    """One feature, float targets ``sin(x)`` plus noise."""
    return _split(*S.make_sine(n_samples, noise, random_state), test_size, random_state)


def bundled(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A data set that ships with scikit-learn, whole: ``(X (N, D) float64, y (N,) intp)``.

    ``digits`` are 8x8 images scaled to ``[0, 1]`` (pixels / 16); ``iris``, ``wine`` and
    ``breast_cancer`` keep their raw measurements (standardise them with a
    :class:`~nnscratch.data.preprocessing.Preprocessor` fitted on the training rows).
    """
    import sklearn.datasets as sk

    check_choice("name", name, BUNDLED)
    X, y = getattr(sk, f"load_{name}")(return_X_y=True)
    X = np.asarray(X, dtype=np.float64)
    return (X / 16.0 if name == "digits" else X), np.asarray(y, dtype=np.intp)


def load_digits(random_state: int = 42, test_size: float = 0.25) -> Split:
    """scikit-learn's 8x8 handwritten digits (1797 rows, 64 features, 10 classes) in [0, 1]."""
    return _split(*bundled("digits"), test_size, random_state)


def load_iris(random_state: int = 42, test_size: float = 0.25) -> Split:
    """Fisher's iris flowers (150 rows, 4 features, 3 classes), as scikit-learn ships them."""
    return _split(*bundled("iris"), test_size, random_state)


def load_wine(random_state: int = 42, test_size: float = 0.25) -> Split:
    """The UCI wine recognition data (178 rows, 13 features, 3 classes)."""
    return _split(*bundled("wine"), test_size, random_state)


def load_breast_cancer(random_state: int = 42, test_size: float = 0.25) -> Split:
    """The Wisconsin breast cancer data (569 rows, 30 features, 2 classes)."""
    return _split(*bundled("breast_cancer"), test_size, random_state)


BUNDLED = ("digits", "iris", "wine", "breast_cancer")

DATASETS: dict[str, Callable[..., Split]] = {
    "moons": load_moons,
    "circles": load_circles,
    "blobs": load_blobs,
    "spiral": load_spiral,
    "digits": load_digits,
    "xor": load_xor,
    "gauss": load_gauss,
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
}

REGRESSION_DATASETS: dict[str, Callable[..., Split]] = {
    "plane": load_plane,
    "sine": load_sine,
}

#: Every built-in name and its task, ``"classification"`` or ``"regression"``.
TASKS: dict[str, str] = {
    **dict.fromkeys(DATASETS, "classification"),
    **dict.fromkeys(REGRESSION_DATASETS, "regression"),
}

_MAKERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "moons": S.make_moons,
    "circles": S.make_circles,
    "blobs": S.make_blobs,
    "spiral": S.make_spiral,
    "xor": S.make_xor,
    "gauss": S.make_gauss,
    "plane": S.make_plane,
    "sine": S.make_sine,
}


def load_dataset(name: str, random_state: int = 42, **kwargs) -> Split:
    """A built-in data set by name (see ``TASKS``), as ``(X_train, X_test, y_train, y_test)``."""
    check_choice("data", name, TASKS)
    loader = DATASETS.get(name) or REGRESSION_DATASETS[name]
    return loader(random_state=random_state, **kwargs)


def make_dataset(name: str, seed=42, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """A built-in data set by name, whole and unsplit: ``(X, y)``. Generated sets take
    ``n_samples``, ``noise`` (and their own options) as keywords; bundled ones take none."""
    check_choice("data", name, TASKS)
    if name in BUNDLED:
        if kwargs:
            raise ValueError(f"{name}: expected no options (it ships fixed), got {sorted(kwargs)}")
        return bundled(name)
    return _MAKERS[name](seed=seed, **kwargs)
