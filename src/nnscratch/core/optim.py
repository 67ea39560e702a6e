"""Optimizers, from simple to complex, behind one interface: ``step(params, grads)``.

``params`` and ``grads`` are dicts with the same keys whose arrays carry the population
axis first, ``(P, ...)``. ``step`` updates ``params`` in place and never changes ``grads``.
Any hyperparameter may be a scalar or an array of shape ``(P,)``: one value per member.
"""

from __future__ import annotations

import numpy as np

from nnscratch._validation import check_positive, fail


def per_member(value, like: np.ndarray) -> np.ndarray | float:
    """Broadcast a scalar or ``(P,)`` hyperparameter against a ``(P, ...)`` parameter."""
    if np.ndim(value) == 0:
        return value
    value = np.asarray(value)
    if value.shape != like.shape[:1]:
        raise fail("hyperparameter", f"a scalar or an array of shape ({like.shape[0]},)", value)
    return value.reshape((-1,) + (1,) * (like.ndim - 1)).astype(like.dtype, copy=False)


class Optimizer:
    """Base class. Subclasses implement ``step``; state lives in ``self.state[key]``."""

    def __init__(self, lr) -> None:
        self.lr = check_positive("lr", lr, population=np.size(lr) if np.ndim(lr) else None)
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget all state (moments, step counts)."""
        self.state = {}


class SGD(Optimizer):
    """Stochastic gradient descent, eq. (7): ``theta := theta - lr * grad``."""

    def step(self, params, grads):
        for key, theta in params.items():
            theta -= per_member(self.lr, theta) * grads[key]
