"""Weight and bias initialisers.

An initialiser draws ONE member's array: ``init(rng, shape, fan_in, fan_out) -> ndarray``.
The network calls it once per member with that member's own ``Generator``, so every member
of a population gets an independent draw, identical to the draw it would get alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnscratch.core.checks import check_range, fail


class Initializer:
    """Base class: subclasses implement ``__call__(rng, shape, fan_in, fan_out)``."""

    def __call__(self, rng: np.random.Generator, shape, fan_in: int, fan_out: int) -> np.ndarray:
        raise NotImplementedError


@dataclass(frozen=True)
class Zeros(Initializer):
    """All zeros (the usual bias initialisation)."""

    def __call__(self, rng, shape, fan_in, fan_out):
        return np.zeros(shape)


@dataclass(frozen=True)
class Constant(Initializer):
    """Every entry equal to ``value``."""

    value: float = 0.0

    def __call__(self, rng, shape, fan_in, fan_out):
        return np.full(shape, float(self.value))


@dataclass(frozen=True)
class Normal(Initializer):
    """``N(0, std^2)``; ``Normal(1.0)`` is the tutorial's ``randn``."""

    std: float = 1.0

    def __post_init__(self):
        check_range("std", self.std, low=0.0)

    def __call__(self, rng, shape, fan_in, fan_out):
        return self.std * rng.standard_normal(shape)


@dataclass(frozen=True)
class Uniform(Initializer):
    """``U(-limit, limit)``."""

    limit: float = 0.05

    def __post_init__(self):
        check_range("limit", self.limit, low=0.0)

    def __call__(self, rng, shape, fan_in, fan_out):
        return rng.uniform(-self.limit, self.limit, shape)


@dataclass(frozen=True)
class HeNormal(Initializer):
    """``N(0, 2 / fan_in)`` (He et al., 2015, "Delving Deep into Rectifiers")."""

    def __call__(self, rng, shape, fan_in, fan_out):
        return np.sqrt(2.0 / fan_in) * rng.standard_normal(shape)


@dataclass(frozen=True)
class HeUniform(Initializer):
    """``U(-sqrt(6 / fan_in), sqrt(6 / fan_in))`` (He et al., 2015)."""

    def __call__(self, rng, shape, fan_in, fan_out):
        limit = np.sqrt(6.0 / fan_in)
        return rng.uniform(-limit, limit, shape)


@dataclass(frozen=True)
class GlorotNormal(Initializer):
    """``N(0, 2 / (fan_in + fan_out))`` (Glorot & Bengio, 2010)."""

    def __call__(self, rng, shape, fan_in, fan_out):
        return np.sqrt(2.0 / (fan_in + fan_out)) * rng.standard_normal(shape)


@dataclass(frozen=True)
class GlorotUniform(Initializer):
    """``U(-sqrt(6 / (fan_in + fan_out)), +...)`` (Glorot & Bengio, 2010)."""

    def __call__(self, rng, shape, fan_in, fan_out):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, shape)


@dataclass(frozen=True)
class LecunNormal(Initializer):
    """``N(0, 1 / fan_in)`` (LeCun et al., 1998, "Efficient BackProp")."""

    def __call__(self, rng, shape, fan_in, fan_out):
        return np.sqrt(1.0 / fan_in) * rng.standard_normal(shape)


_NAMED = {
    "zeros": Zeros(),
    "normal": Normal(1.0),
    "uniform": Uniform(),
    "he": HeNormal(),
    "he_normal": HeNormal(),
    "he_uniform": HeUniform(),
    "glorot": GlorotUniform(),
    "glorot_normal": GlorotNormal(),
    "glorot_uniform": GlorotUniform(),
    "lecun_normal": LecunNormal(),
}


def available_initializers() -> list[str]:
    return sorted(_NAMED)


def get_initializer(init: str | Initializer, name: str = "init") -> Initializer:
    """An initialiser by name (``"he"``, ``"glorot"``, ``"normal"``, ...) or passed through."""
    if isinstance(init, Initializer):
        return init
    if isinstance(init, str) and init in _NAMED:
        return _NAMED[init]
    raise fail(name, "one of: " + ", ".join(available_initializers()), init)
