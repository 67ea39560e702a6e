"""Pure math: softmax, log-softmax, cross-entropy and activation functions.

Small stateless functions on arrays of any leading shape; the last axis is the class (or
unit) axis. Layers and losses call these and never re-derive them. Equation numbers refer
to the tutorial nnscratch grows out of (see ``nnscratch.tutorial``).
"""

from __future__ import annotations

import functools

import numpy as np

# --- softmax family ----------------------------------------------------------------------


def reduce_rows(ufunc: np.ufunc, z: np.ndarray) -> np.ndarray:
    """``ufunc.reduce(z, axis=-1, keepdims=True)``: with ``np.maximum`` the row maximum of
    eq. (2), with ``np.add`` a softmax's denominator.

    Computed as ``K - 1`` element-wise operations on columns when there are few classes
    and many rows per class: a reduction over the last axis runs one tiny loop per row, and
    for 100 members' 10 rows of 2 logits that is several times slower, while a column costs
    a call, so few rows or many classes reduce faster the plain way (``benchmarks/tricks.py``
    measures both). Up to 7 columns NumPy also adds in this order: the same sums, to the bit.
    """
    if z.shape[-1] > 7 or z.size < 64 * z.shape[-1] ** 2:  # many classes, or rows < 64 K
        return ufunc.reduce(z, axis=-1, keepdims=True)
    return functools.reduce(ufunc, [z[..., k : k + 1] for k in range(z.shape[-1])])


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, eq. (1): ``y_k = exp(z_k) / sum_i exp(z_i)``.

    Subtracting the row maximum first, eq. (2), changes nothing mathematically and keeps
    ``exp`` from overflowing.
    """
    e = np.exp(z - reduce_rows(np.maximum, z))
    e /= reduce_rows(np.add, e)
    return e


def logsumexp(z: np.ndarray) -> np.ndarray:
    """``log(sum_k exp(z_k))`` over the last axis, stable for large ``z``; keeps the axis."""
    m = reduce_rows(np.maximum, z)
    return m + np.log(reduce_rows(np.add, np.exp(z - m)))


def log_softmax(z: np.ndarray) -> np.ndarray:
    """``log softmax(z) = z - logsumexp(z)``, computed without ever taking ``log(softmax)``."""
    return z - logsumexp(z)


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row softmax cross-entropy ``-log softmax(z)[y]``, eq. (9) with one-hot targets.

    ``logits`` is ``(..., K)``; ``y`` holds integer class indices ``(...)`` (or fewer leading
    axes, broadcast: labels ``(N,)`` shared by every member's ``(P, N, K)``). Returns ``(...)``.
    """
    return nll(log_softmax(logits), y)


def nll(log_p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``-log_p[y]`` per row: the second half of :func:`cross_entropy`, for a caller that
    keeps the log-probabilities (the training loss needs ``softmax(z) = exp(log_p)`` too).

    Indexed by open grids over the leading axes, ``log_p[p, n, y[p, n]]``: the population's
    form of ``-log_p[np.arange(N), y]``; broadcasting the labels for ``np.take_along_axis``
    took 2-4x as long on one network's 10 rows (``benchmarks/tricks.py``). Labels are
    integers or booleans (0/1; a float raises), of ``log_p``'s leading shape or with fewer
    leading axes (``(N,)`` shared by ``P``).
    """
    grid = np.indices(log_p.shape[:-1], sparse=True)  # open grids: p (P,1), n (1,N)
    return -log_p[(*grid, np.asarray(y).astype(np.intp, casting="safe", copy=False))]


def soft_cross_entropy(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per-row cross-entropy with probability targets, eq. (9): ``-sum_k t_k log softmax(z)_k``."""
    return -(target * log_softmax(logits)).sum(axis=-1)


def one_hot(y: np.ndarray, n_classes: int, dtype=np.float64) -> np.ndarray:
    """Integer labels ``(...)`` to one-hot rows ``(..., K)``, without a Python loop."""
    return (np.asarray(y)[..., None] == np.arange(n_classes)).astype(dtype)


# --- activations and their derivatives ---------------------------------------------------
# Each derivative takes the pre-activation ``a`` and the output ``h = f(a)`` so that it can
# use whichever is cheaper (sigmoid and tanh reuse ``h``).


def identity(a):
    return a.copy()


def identity_grad(a, h):
    return np.ones_like(a)


def relu(a):
    """Eq. (3): ``max(0, a)``; a new array, the argument is left alone."""
    return np.maximum(a, 0)


def relu_grad(a, h):
    """Eq. (4)/(17): the gate ``I[a > 0]``, as booleans (multiplying by them is the cast)."""
    return a > 0


#: Leaky ReLU's default slope for ``a <= 0``: the activation named "leaky_relu", and the
#: one the compiled path (:mod:`nnscratch.fast.codes`) compiles in.
LEAKY_RELU_SLOPE = 0.01


def leaky_relu(a, slope=LEAKY_RELU_SLOPE):
    """``a`` where ``a > 0``, else ``slope * a`` (Maas et al., 2013)."""
    return np.where(a > 0, a, slope * a)


def leaky_relu_grad(a, h, slope=LEAKY_RELU_SLOPE):
    return np.where(a > 0, 1.0, slope).astype(a.dtype)


def elu(a, alpha=1.0):
    """``a`` where ``a > 0``, else ``alpha (exp(a) - 1)`` (Clevert et al., 2016)."""
    return np.where(a > 0, a, alpha * np.expm1(np.minimum(a, 0)))


def elu_grad(a, h, alpha=1.0):
    return np.where(a > 0, 1.0, alpha * np.exp(np.minimum(a, 0))).astype(a.dtype)


def tanh(a):
    return np.tanh(a)


def tanh_grad(a, h):
    """``1 - tanh(a)^2``."""
    return 1.0 - h * h


def sigmoid(a):
    """``1 / (1 + exp(-a))``, evaluated without overflow for large ``|a|``."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(a, h):
    """``s (1 - s)``."""
    return h * (1.0 - h)


def softplus(a):
    """``log(1 + exp(a))``, stable: ``max(a, 0) + log1p(exp(-|a|))``."""
    return np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))


def softplus_grad(a, h):
    """The logistic sigmoid."""
    return sigmoid(a)


_GELU_C = float(np.sqrt(2.0 / np.pi))  # a Python float: float32 inputs stay float32


def gelu(a):
    """GELU, tanh approximation (Hendrycks & Gimpel, 2016), as PyTorch's ``approximate="tanh"``:
    ``0.5 a (1 + tanh(sqrt(2/pi) (a + 0.044715 a^3)))``."""
    return 0.5 * a * (1.0 + np.tanh(_GELU_C * (a + 0.044715 * a**3)))


def gelu_grad(a, h):
    t = np.tanh(_GELU_C * (a + 0.044715 * a**3))
    dt = (1.0 - t * t) * _GELU_C * (1.0 + 3 * 0.044715 * a * a)
    return 0.5 * (1.0 + t) + 0.5 * a * dt


def silu(a):
    """SiLU / swish: ``a sigmoid(a)`` (Elfwing et al., 2018)."""
    return a * sigmoid(a)


def silu_grad(a, h):
    s = sigmoid(a)
    return s * (1.0 + a * (1.0 - s))
