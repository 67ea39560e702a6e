"""Layers with a population axis: ``forward(x) -> y`` and ``backward(dy) -> dx``.

Every layer holds a stack of ``P`` independent members. ``x`` is ``(P, N, D)`` (or a shared
``(N, D)`` that broadcasts over members). A layer caches what its backward pass needs, keeps
its parameters in ``params`` and their gradients, after ``backward``, in ``grads`` under the
same keys; state that is not trained (batch norm's running averages) lives in ``buffers``.
``backward`` never changes ``dy`` in place.
"""

from __future__ import annotations

import copy

import numpy as np

from nnscratch.core.activations import Activation


class Layer:
    """Base class. ``params``/``grads``/``buffers`` are empty for layers without them."""

    #: names of attributes holding per-member arrays ``(P, ...)`` that ``select`` subsets
    per_member: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.training = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def select(self, members) -> Layer:
        """A copy holding only the given members (an index array); arrays are copied."""
        new = copy.copy(self)
        new.params = {k: v[members].copy() for k, v in self.params.items()}
        new.buffers = {k: v[members].copy() for k, v in self.buffers.items()}
        new.grads = {}
        for name in self.per_member:
            value = getattr(self, name)
            if value is not None:
                setattr(new, name, value[members].copy())
        return new


class Dense(Layer):
    """Affine map, eq. (5)/(6): ``y = x W + b``.

    Backward, eq. (15)/(16): ``dW = x^T dy`` (summed over the batch), ``db = sum_n dy``;
    eq. (17): ``dx = dy W^T``. Optional weight penalties (never on ``b``), per member ``(P,)``:
    ``l2 / 2 ||W||^2 + l1 |W|_1``, adding ``l2 W + l1 sign(W)`` to ``dW``.
    """

    per_member = ("l2", "l1")

    def __init__(self, W: np.ndarray, b: np.ndarray, l2=None, l1=None, input_grad=True) -> None:
        super().__init__()
        self.params = {"W": W, "b": b}  # W (P,D,H), b (P,H)
        # the first layer's input is the data: no one needs dx, so backward skips it
        self.input_grad = input_grad
        # (P,1,1) penalty strengths, or None when off so the update pays nothing for them
        self.l2 = None if l2 is None else np.asarray(l2, dtype=W.dtype).reshape(-1, 1, 1)
        self.l1 = None if l1 is None else np.asarray(l1, dtype=W.dtype).reshape(-1, 1, 1)
        self.x: np.ndarray | None = None

    def forward(self, x):
        self.x = x
        W, b = self.params["W"], self.params["b"]
        y = x @ W  # (P,N,D) @ (P,D,H) -> (P,N,H)
        y += b[:, None, :]  # (P,1,H) broadcast over the batch
        return y

    def backward(self, dy):
        x, W = self.x, self.params["W"]
        dW = x.swapaxes(-1, -2) @ dy  # (P,D,N) @ (P,N,H) -> (P,D,H)
        if self.l2 is not None:
            dW += self.l2 * W
        if self.l1 is not None:
            dW += self.l1 * np.sign(W)
        # db = dy.sum(axis=-2), as a product with ones: faster for small N (benchmarks/tricks.py)
        db = (np.ones((1, dy.shape[-2]), dtype=dy.dtype) @ dy)[:, 0]  # (1,N) @ (P,N,H) -> (P,H)
        self.grads = {"W": dW, "b": db}
        if not self.input_grad:
            return None
        return dy @ W.swapaxes(-1, -2)  # (P,N,H) @ (P,H,D) -> (P,N,D)

    def penalty(self) -> np.ndarray | float:
        """``l2 / 2 ||W||^2 + l1 |W|_1`` per member, ``(P,)`` (0.0 when both are off)."""
        W, out = self.params["W"], 0.0
        if self.l2 is not None:
            out = out + 0.5 * self.l2[:, 0, 0] * (W * W).sum(axis=(1, 2))
        if self.l1 is not None:
            out = out + self.l1[:, 0, 0] * np.abs(W).sum(axis=(1, 2))
        return out


class ActivationLayer(Layer):
    """Element-wise ``h = f(a) * mask``; backward ``da = dh * mask * f'(a)``, eq. (17).

    ``mask`` (``(P, H)`` of 0/1, optional) switches off the units a member does not use, so
    members of different widths share one padded array: masked units output exactly zero,
    receive zero gradient and change nothing.
    """

    per_member = ("mask",)

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

    def backward(self, dh):
        da = dh * self.activation.grad(self.a, self.h)
        if self.mask is not None:
            da *= self.mask
        return da


class Dropout(Layer):
    """Inverted dropout (Srivastava et al., 2014), per member rate ``r`` ``(P,)``.

    Training: ``y = x * m / (1 - r)`` with ``m ~ Bernoulli(1 - r)`` drawn per row and unit
    from each member's own generator; evaluation: ``y = x``. Backward: ``dx = dy * m / (1 - r)``.
    ``hold_mask = True`` reuses the last mask (for gradient checks).
    """

    per_member = ("rate",)

    def __init__(self, rate: np.ndarray, rngs: list[np.random.Generator]) -> None:
        super().__init__()
        self.rate = np.asarray(rate, dtype=np.float64).reshape(-1, 1, 1)  # (P,1,1)
        self.rngs = rngs  # one Generator per member
        self.mask: np.ndarray | None = None  # (P,N,H): m / (1 - r), or None when off
        self.hold_mask = False

    def forward(self, x):
        if not self.training:
            self.mask = None
            return x
        if not (self.hold_mask and self.mask is not None):
            u = np.stack([rng.random(x.shape[1:]) for rng in self.rngs])  # (P,N,H)
            self.mask = ((u >= self.rate) / (1.0 - self.rate)).astype(x.dtype)
        return x * self.mask

    def backward(self, dy):
        return dy if self.mask is None else dy * self.mask

    def select(self, members):
        new = super().select(members)
        new.rngs = [copy.deepcopy(self.rngs[p]) for p in members]  # independent streams
        new.mask = None
        return new


class BatchNorm(Layer):
    """Batch normalisation (Ioffe & Szegedy, 2015) per member and unit, as PyTorch's BatchNorm1d.

    Training: ``xhat = (x - mu) / sqrt(var + eps)`` with the batch mean and biased variance,
    ``y = gamma xhat + beta``; running averages ``r := (1 - momentum) r + momentum s`` with the
    unbiased variance. Evaluation normalises with the running averages. Backward (batch
    statistics): ``dx = (g - mean_n g - xhat mean_n(g xhat)) / sqrt(var + eps)``, ``g = dy
    gamma``; ``dgamma = sum_n dy xhat``, ``dbeta = sum_n dy``.
    """

    def __init__(
        self, gamma: np.ndarray, beta: np.ndarray, momentum: float = 0.1, eps: float = 1e-5
    ) -> None:
        super().__init__()
        self.params = {"gamma": gamma, "beta": beta}  # (P,H) each
        self.buffers = {"running_mean": np.zeros_like(gamma), "running_var": np.ones_like(gamma)}
        self.momentum, self.eps = momentum, eps
        self.cache: tuple | None = None

    def forward(self, x):
        if self.training:
            n = x.shape[1]
            if n < 2:
                raise ValueError("batch norm: expected at least 2 rows per training batch, got 1")
            mu, var = x.mean(axis=1), x.var(axis=1)  # (P,H): batch mean, biased variance
            m, rm, rv = self.momentum, self.buffers["running_mean"], self.buffers["running_var"]
            rm *= 1.0 - m  # in place: the buffers are views other code holds
            rm += m * mu
            rv *= 1.0 - m
            rv += m * var * (n / (n - 1))  # unbiased variance for the running average
        else:
            mu, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = 1.0 / np.sqrt(var + self.eps)  # (P,H)
        xhat = (x - mu[:, None, :]) * inv_std[:, None, :]  # (P,N,H)
        self.cache = (xhat, inv_std, self.training)
        return self.params["gamma"][:, None, :] * xhat + self.params["beta"][:, None, :]

    def backward(self, dy):
        xhat, inv_std, batch_stats = self.cache
        self.grads = {"gamma": (dy * xhat).sum(axis=1), "beta": dy.sum(axis=1)}  # (P,H)
        g = dy * self.params["gamma"][:, None, :]  # (P,N,H)
        if batch_stats:  # the batch statistics depend on x too
            g = g - g.mean(axis=1, keepdims=True) - xhat * (g * xhat).mean(axis=1, keepdims=True)
        return g * inv_std[:, None, :]
