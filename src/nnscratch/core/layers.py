"""Layers with a population axis: ``forward(x) -> y`` and ``backward(dy) -> dx``.

Every layer holds a stack of ``P`` independent members. ``x`` is ``(P, N, D)`` (or a shared
``(N, D)`` that broadcasts over members). A layer caches what its backward pass needs, keeps
its parameters in ``params`` and their gradients, after ``backward``, in ``grads`` under the
same keys. ``backward`` never changes ``dy`` in place.
"""

from __future__ import annotations

import copy

import numpy as np

from nnscratch.core.activations import Activation


class Layer:
    """Base class. ``params``/``grads`` are empty for layers without parameters."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def select(self, members) -> Layer:
        """A copy holding only the given members (an index array); parameters are copied."""
        new = copy.copy(self)
        new.params = {k: v[members].copy() for k, v in self.params.items()}
        new.grads = {}
        return new


class Dense(Layer):
    """Affine map, eq. (5)/(6): ``y = x W + b``.

    Backward, eq. (15)/(16): ``dW = x^T dy`` (summed over the batch), ``db = sum_n dy``,
    ``dx = dy W^T``.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        super().__init__()
        self.params = {"W": W, "b": b}  # W (P,D,H), b (P,H)
        self.x: np.ndarray | None = None

    def forward(self, x):
        self.x = x
        W, b = self.params["W"], self.params["b"]
        y = x @ W  # (P,N,D) @ (P,D,H) -> (P,N,H)
        y += b[:, None, :]  # (P,1,H) broadcast over the batch
        return y

    def backward(self, dy):
        x, W = self.x, self.params["W"]
        self.grads = {
            "W": np.swapaxes(x, -1, -2) @ dy,  # (P,D,N) @ (P,N,H) -> (P,D,H)
            "b": dy.sum(axis=1),  # (P,H)
        }
        return dy @ np.swapaxes(W, -1, -2)  # (P,N,H) @ (P,H,D) -> (P,N,D)


class ActivationLayer(Layer):
    """Element-wise ``h = f(a) * mask``; backward ``da = dh * mask * f'(a)``, eq. (17).

    ``mask`` (``(P, H)`` of 0/1, optional) switches off the units a member does not use, so
    members of different widths share one padded array: masked units output exactly zero,
    receive zero gradient and change nothing.
    """

    def __init__(self, activation: Activation, mask: np.ndarray | None = None) -> None:
        super().__init__()
        self.activation = activation
        self.mask = None if mask is None else mask[:, None, :]  # (P,1,H)
        self.a: np.ndarray | None = None
        self.h: np.ndarray | None = None

    def forward(self, a):
        h = self.activation.f(a)
        if self.mask is not None:
            h = h * self.mask  # a new array: a user's f may return its argument
        self.a, self.h = a, h
        return h

    def select(self, members):
        new = super().select(members)
        if self.mask is not None:
            new.mask = self.mask[members]
        return new

    def backward(self, dh):
        da = dh * self.activation.grad(self.a, self.h)
        if self.mask is not None:
            da *= self.mask
        return da
