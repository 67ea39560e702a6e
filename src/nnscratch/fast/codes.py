"""The vocabulary the kernels share: activations as integer codes, and leaky ReLU's slope.

A kernel cannot take an :class:`nnscratch.core.activations.Activation`; it takes one of these
codes as its ``kind`` argument and branches on it. numba reads module-level numbers as
compile-time constants, so ``kind == RELU`` costs what ``kind == 1`` does. Importing this
module imports nothing of numba.
"""

from __future__ import annotations

from nnscratch.core.functional import LEAKY_RELU_SLOPE

IDENTITY = 0
RELU = 1
LEAKY_RELU = 2  # slope LEAKY_RELU_SLOPE, as the core's activation named "leaky_relu"
TANH = 3
SIGMOID = 4

#: The code of every compiled activation, by its name in :mod:`nnscratch.core.activations`.
ACTIVATIONS = {
    "identity": IDENTITY,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "tanh": TANH,
    "sigmoid": SIGMOID,
}

__all__ = ["ACTIVATIONS", "IDENTITY", "LEAKY_RELU", "LEAKY_RELU_SLOPE", "RELU", "SIGMOID", "TANH"]
