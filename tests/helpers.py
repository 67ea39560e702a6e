"""Test helpers: central-difference gradients and tiny random classification data."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np


def central_differences(
    f: Callable[[], np.ndarray | float],
    params: Mapping[str, np.ndarray],
    eps: float = 1e-6,
    lead: int = 0,
) -> dict[str, np.ndarray]:
    """``(f(theta + eps) - f(theta - eps)) / (2 eps)`` for every entry of every array.

    Each entry is moved in place and put back. With ``lead = 1`` the entry is moved in every
    member at once (arrays ``(P, ...)``) and ``f()`` returns ``(P,)``: member ``p``'s value
    depends on its own parameters only, so column ``p`` of the difference is member ``p``'s.
    """
    out = {}
    for key, theta in params.items():
        numeric = np.zeros_like(theta)
        for idx in np.ndindex(theta.shape[lead:]):
            at = (slice(None),) * lead + idx
            old = theta[at].copy()
            theta[at] = old + eps
            up = f()
            theta[at] = old - eps
            down = f()
            theta[at] = old
            numeric[at] = (up - down) / (2 * eps)
        out[key] = numeric
    return out


def network_gradient_check(net, X, y, eps=1e-6, rtol=1e-5, atol=1e-8, **loss_kwargs):
    """``net.gradients`` against central differences of ``sum_p net.loss``, every parameter.

    ``loss_kwargs`` (``training=``, ``sample_weight=``) go to both ``gradients`` and ``loss``.
    """
    grads = net.gradients(X, y, **loss_kwargs)
    numeric = central_differences(lambda: np.sum(net.loss(X, y, **loss_kwargs)), net.params, eps)
    for key, value in numeric.items():
        np.testing.assert_allclose(grads[key], value, rtol=rtol, atol=atol, err_msg=key)


def random_classification(n: int, n_val: int = 0, n_features: int = 3, n_classes: int = 3):
    """Standard-normal rows with uniform labels, from ``default_rng(0)``.

    Returns ``X (n, D)``, ``y (n,)`` and, when ``n_val > 0``, ``X_val (n_val, D)``, ``y_val``.
    """
    rng = np.random.default_rng(0)
    out = []
    for rows in (n, n_val) if n_val else (n,):
        out += [rng.normal(size=(rows, n_features)), rng.integers(0, n_classes, size=rows)]
    return tuple(out)
