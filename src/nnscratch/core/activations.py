"""Named activation functions, each a (function, derivative) pair, and a registry for your own.

``get_activation("relu")`` returns an :class:`Activation`; so does
``get_activation(Activation(...))``. :func:`register_activation` adds a user's pair after
checking its derivative against central differences, so a wrong derivative is refused before
it can train anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from nnscratch.core import functional as F
from nnscratch.core.checks import check_range, fail


@dataclass(frozen=True)
class Activation:
    """An element-wise activation ``h = f(a)`` with its derivative ``f'(a)``.

    ``grad(a, h)`` receives both the input and the output so it can use the cheaper one.
    """

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def __call__(self, a: np.ndarray) -> np.ndarray:
        return self.f(a)


_BUILT_IN = [
    Activation("identity", F.identity, F.identity_grad),
    Activation("relu", F.relu, F.relu_grad),
    Activation("leaky_relu", F.leaky_relu, F.leaky_relu_grad),
    Activation("elu", F.elu, F.elu_grad),
    Activation("tanh", F.tanh, F.tanh_grad),
    Activation("sigmoid", F.sigmoid, F.sigmoid_grad),
    Activation("softplus", F.softplus, F.softplus_grad),
    Activation("gelu", F.gelu, F.gelu_grad),
    Activation("silu", F.silu, F.silu_grad),
]
_REGISTRY: dict[str, Activation] = {act.name: act for act in _BUILT_IN}


def available_activations() -> list[str]:
    """The names :func:`get_activation` accepts."""
    return sorted(_REGISTRY)


def leaky_relu(slope: float = F.LEAKY_RELU_SLOPE) -> Activation:
    """Leaky ReLU with a chosen negative slope."""
    slope = check_range("slope", slope, low=0.0)
    return Activation(
        f"leaky_relu({slope:g})",
        partial(F.leaky_relu, slope=slope),
        partial(F.leaky_relu_grad, slope=slope),
    )


def elu(alpha: float = 1.0) -> Activation:
    """ELU with a chosen ``alpha``."""
    alpha = check_range("alpha", alpha, low=0.0, low_open=True)
    return Activation(
        f"elu({alpha:g})", partial(F.elu, alpha=alpha), partial(F.elu_grad, alpha=alpha)
    )


def get_activation(activation: str | Activation, name: str = "activation") -> Activation:
    """Look an activation up by name, or pass an :class:`Activation` through."""
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str) and activation in _REGISTRY:
        return _REGISTRY[activation]
    raise fail(name, "one of: " + ", ".join(available_activations()), activation)


def check_derivative(f, grad, points: np.ndarray | None = None, tol: float = 1e-5) -> float:
    """Largest relative gap between ``grad`` and a central difference of ``f``, in float64."""
    if points is None:
        # avoid exactly 0, where kinked functions (relu) have no derivative
        points = np.linspace(-3.0, 3.0, 41) + 0.0123
    a = np.asarray(points, dtype=np.float64)
    eps = 1e-6
    numeric = (f(a + eps) - f(a - eps)) / (2 * eps)
    analytic = np.asarray(grad(a, f(a)), dtype=np.float64)
    return float(np.max(np.abs(numeric - analytic) / np.maximum(1.0, np.abs(numeric))))


def register_activation(name: str, f, grad, *, overwrite: bool = False) -> Activation:
    """Register ``f(a)`` and its derivative ``grad(a, h)`` under ``name``.

    ``grad`` receives the pre-activation ``a`` and the output ``h = f(a)``, so that it can
    use whichever is cheaper (``lambda a, h: 1 - h * h`` for tanh). The derivative is
    checked against central differences on ``[-3, 3]``; a mismatch raises ``ValueError``
    and nothing is registered.
    """
    if not isinstance(name, str) or not name:
        raise fail("name", "a non-empty string", name)
    if name in _REGISTRY and not overwrite:
        raise fail("name", "a name not yet registered (or overwrite=True)", name)
    if not callable(f) or not callable(grad):
        raise fail("f, grad", "two callables", (f, grad))
    try:
        gap = check_derivative(f, grad)
    except TypeError:  # a grad(a) of one argument, say: named here, not deep in the check
        raise fail("f, grad", "f(a) and grad(a, h), h = f(a), taking arrays", (f, grad)) from None
    if not np.isfinite(gap) or gap > 1e-4:
        expected = "the derivative of f (central differences agree to 1e-4)"
        raise fail("grad", expected, f"a largest relative gap of {gap:.3g}", described=True)
    act = Activation(name, f, grad)
    _REGISTRY[name] = act
    return act
