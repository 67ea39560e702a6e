"""Generated data sets: ``make_<name>(n_samples, noise, seed) -> (X, y)``.

Classification sets return integer labels ``y (N,)`` (``intp``), regression sets float
targets ``y (N,)`` (``float64``); ``X`` is always ``(N, D)`` float64.

Seeds: an int, a ``SeedSequence`` or ``None`` becomes a ``np.random.Generator``; a
``Generator`` is drawn from as given. The global ``np.random`` state is never touched.
scikit-learn's three sets (``moons``, ``circles``, ``blobs``) are scikit-learn's own
generators, given an int seed as ``random_state`` (which scikit-learn reads as a private
``RandomState(seed)``), so ``make_moons(n, noise, seed)`` equals
``sklearn.datasets.make_moons(n, noise=noise, random_state=seed)`` bit for bit, and
``load_moons()`` stays the tutorial's data; another seed gives them a private
``RandomState`` on a stream drawn from its ``Generator``.

Sources: spiral
from "Neural Networks from Scratch" (``nnfs.datasets.spiral_data``: K arms, one class each);
xor, gauss and plane from TensorFlow Playground's ``dataset.ts``; sine is the classic 1-D
regression toy problem.
"""

from __future__ import annotations

import numbers

import numpy as np

from nnscratch.core.checks import check_int, check_range, fail
from nnscratch.core.seeding import as_seed_sequence
from nnscratch.data.memory import check_fits_memory

XY = tuple[np.ndarray, np.ndarray]


def generator(seed, name: str = "seed") -> np.random.Generator:
    """A ``Generator`` from an int >= 0, a ``SeedSequence``, ``None`` or a ``Generator``."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(as_seed_sequence(seed, name))


def _random_state(seed):
    """scikit-learn's ``random_state`` for ``seed``: an int as scikit-learn reads it (a
    private ``RandomState(seed)``, not the global state); anything else, a private
    ``RandomState`` on a stream drawn from its ``Generator``."""
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    bits = np.random.MT19937(generator(seed).integers(2**63))
    return np.random.RandomState(bits)  # noqa: NPY002 - a local stream for scikit-learn


#: The largest ``noise`` accepted. Every set lies within about 10 of the origin, so noise a
#: million times its scale leaves nothing of it; far larger noise (about 1e153 for xor's
#: product, 1e307 for moons) would overflow float64 into infinite values.
MAX_NOISE = 1e6

#: About how many float64 values per row a generator holds at its peak (its coordinates,
#: their shuffled copy, the noise, the labels and the row order), for the memory check.
_VALUES_PER_ROW = 12


def _checked(n_samples, noise) -> tuple[int, float]:
    """``n_samples`` (at least 2, and few enough to fit in memory) and ``noise`` in
    ``[0, MAX_NOISE]``, checked before anything is drawn."""
    n_samples = check_int("n_samples", n_samples, minimum=2)
    noise = check_range("noise", noise, low=0.0, high=MAX_NOISE)
    check_fits_memory("n_samples", 8.0 * _VALUES_PER_ROW * n_samples, f"{n_samples} rows")
    return n_samples, noise


def make_moons(n_samples: int = 5000, noise: float = 0.1, seed=42) -> XY:
    """Two interleaving half circles, two classes: scikit-learn's ``make_moons``."""
    from sklearn.datasets import make_moons as sklearn_moons

    n_samples, noise = _checked(n_samples, noise)
    X, y = sklearn_moons(n_samples, noise=noise, random_state=_random_state(seed))
    return X, y.astype(np.intp)


def make_circles(n_samples: int = 2000, noise: float = 0.1, seed=42, factor: float = 0.5) -> XY:
    """A small circle (radius ``factor``) inside a larger one, two classes: scikit-learn's
    ``make_circles``."""
    from sklearn.datasets import make_circles as sklearn_circles

    n_samples, noise = _checked(n_samples, noise)
    factor = check_range("factor", factor, low=0.0, high=1.0, low_open=True, high_open=True)
    X, y = sklearn_circles(n_samples, noise=noise, factor=factor, random_state=_random_state(seed))
    return X, y.astype(np.intp)


def make_blobs(n_samples: int = 1500, noise: float = 1.0, seed=42, n_classes: int = 3) -> XY:
    """Gaussian blobs in 2-D, one per class, centres uniform in ``[-10, 10]^2`` and standard
    deviation ``noise`` (scikit-learn's ``make_blobs`` with ``cluster_std=noise``)."""
    n_samples, noise = _checked(n_samples, noise)
    K = check_int("n_classes", n_classes, minimum=2)
    if K > n_samples:
        raise fail("n_classes", f"at most n_samples ({n_samples}): a point per blob", K)
    from sklearn.datasets import make_blobs as sklearn_blobs

    X, y = sklearn_blobs(
        n_samples,
        centers=K,
        cluster_std=noise,
        center_box=(-10.0, 10.0),
        random_state=_random_state(seed),
    )
    return X, y.astype(np.intp)


def make_spiral(n_samples: int = 1500, noise: float = 0.2, seed=42, n_classes: int = 3) -> XY:
    """K spiral arms, one class each, as "Neural Networks from Scratch" draws them: arm ``k``
    has radius ``r = linspace(0, 1)`` and angle ``2.5 t``, ``t = linspace(4k, 4(k+1)) +
    noise * N(0, 1)``. The rows come class by class (the book's order); the first
    ``n_samples % K`` arms get one point more."""
    n_samples, noise = _checked(n_samples, noise)
    K = check_int("n_classes", n_classes, minimum=2)
    if n_samples < 2 * K:
        raise fail("n_samples", f"at least 2 points per arm ({2 * K} for {K} arms)", n_samples)
    rng = generator(seed)
    X, y = [], []
    for k in range(K):
        n = n_samples // K + (k < n_samples % K)
        r = np.linspace(0.0, 1.0, n)  # (n,)
        t = np.linspace(k * 4.0, (k + 1) * 4.0, n) + rng.standard_normal(n) * noise
        X.append(np.column_stack([r * np.sin(t * 2.5), r * np.cos(t * 2.5)]))
        y.append(np.full(n, k, dtype=np.intp))
    return np.concatenate(X), np.concatenate(y)


def make_xor(n_samples: int = 500, noise: float = 0.0, seed=42) -> XY:
    """TensorFlow Playground's XOR: points uniform in ``[-5, 5]^2`` pushed 0.3 away from the
    axes, labelled 1 where ``x1 * x2 >= 0`` (after a uniform jitter of ``5 * noise``), else 0."""
    n_samples, noise = _checked(n_samples, noise)
    rng = generator(seed)
    u = rng.uniform(-5.0, 5.0, size=(n_samples, 4))  # (N,4): x1, x2, jitter1, jitter2
    X = u[:, :2] + np.where(u[:, :2] > 0, 0.3, -0.3)  # the margin around the axes
    jittered = X + u[:, 2:] * noise
    y = (jittered[:, 0] * jittered[:, 1] >= 0).astype(np.intp)
    return X, y


def make_gauss(n_samples: int = 500, noise: float = 0.0, seed=42) -> XY:
    """TensorFlow Playground's two Gaussians: class 1 around ``(2, 2)``, class 0 around
    ``(-2, -2)``, each with variance ``0.5 + 7 noise`` (Playground maps noise 0..0.5 to
    variance 0.5..4). Class 1's rows come first, as in Playground."""
    n_samples, noise = _checked(n_samples, noise)
    rng = generator(seed)
    std = np.sqrt(0.5 + 7.0 * noise)
    n_pos = n_samples - n_samples // 2
    centres = np.where(np.arange(n_samples)[:, None] < n_pos, 2.0, -2.0)  # (N,1)
    X = centres + std * rng.standard_normal((n_samples, 2))  # (N,2)
    y = (np.arange(n_samples) < n_pos).astype(np.intp)
    return X, y


def make_plane(n_samples: int = 500, noise: float = 0.0, seed=42) -> XY:
    """TensorFlow Playground's regression plane: points uniform in ``[-6, 6]^2``, target
    ``(x1 + x2) / 10`` in ``[-1.2, 1.2]``, computed after a uniform jitter of ``6 * noise``."""
    n_samples, noise = _checked(n_samples, noise)
    rng = generator(seed)
    u = rng.uniform(-6.0, 6.0, size=(n_samples, 4))  # (N,4): x1, x2, jitter1, jitter2
    X = u[:, :2].copy()
    y = (X + u[:, 2:] * noise).sum(axis=1) / 10.0  # Playground's scale [-10, 10] -> [-1, 1]
    return X, y


def make_sine(n_samples: int = 500, noise: float = 0.1, seed=42) -> XY:
    """One feature ``x`` uniform in ``[-2 pi, 2 pi]``, target ``sin(x) + noise * N(0, 1)``."""
    n_samples, noise = _checked(n_samples, noise)
    rng = generator(seed)
    x = rng.uniform(-2 * np.pi, 2 * np.pi, size=n_samples)  # (N,)
    y = np.sin(x) + noise * rng.standard_normal(n_samples)
    return x[:, None], y
