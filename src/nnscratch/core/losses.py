"""Losses computed from the network's raw outputs (logits), fused with their output layer.

A loss reduces over the batch axis only and returns one value per member, ``(P,)``; the
training objective is the sum over members, so no member's gradient leaks into another.
``forward(z, target)`` caches what ``backward()`` needs; ``backward()`` returns ``dL/dz``.
"""

from __future__ import annotations

import numpy as np

from nnscratch._validation import check_choice, check_labels, fail
from nnscratch.core import functional as F


class Loss:
    """Base class for losses. ``reduction`` is ``"mean"`` (over the batch) or ``"sum"``."""

    #: True when outputs are class scores and ``predict`` returns class indices.
    classifier = True

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = check_choice("reduction", reduction, {"mean", "sum"})

    def _reduce(self, rows: np.ndarray) -> np.ndarray:
        """Per-row losses ``(P, N)`` to per-member losses ``(P,)``."""
        return rows.mean(axis=-1) if self.reduction == "mean" else rows.sum(axis=-1)

    def _scale(self, n_rows: int) -> float:
        """The factor the reduction puts in front of each row's gradient."""
        return 1.0 / n_rows if self.reduction == "mean" else 1.0

    def check_targets(self, y, n_samples: int, n_outputs: int, name: str = "y") -> np.ndarray:
        raise NotImplementedError

    def forward(self, z: np.ndarray, target: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def output(self, z: np.ndarray) -> np.ndarray:
        """What ``predict_proba`` shows: probabilities for a classifier."""
        raise NotImplementedError

    def predict(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by cross-entropy, fused, eq. (9)/(13)/(14).

    Forward: ``L = -sum_k t_k log softmax(z)_k`` per row, with ``t`` the one-hot label
    (optionally smoothed: ``t = (1 - eps) onehot + eps / K``). Backward: ``dL/dz = softmax(z) - t``
    per row, divided by the batch size for ``reduction="mean"``.
    """

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction)
        if not 0.0 <= label_smoothing < 1.0:
            raise fail("label_smoothing", "a number in [0, 1)", label_smoothing)
        self.label_smoothing = float(label_smoothing)
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    def check_targets(self, y, n_samples, n_outputs, name="y"):
        return check_labels(y, n_samples, n_outputs, name=name)

    def _soft_targets(self, y: np.ndarray, n_classes: int, dtype) -> np.ndarray:
        t = F.one_hot(y, n_classes, dtype=dtype)  # (..., N, K)
        if self.label_smoothing:
            t = (1.0 - self.label_smoothing) * t + self.label_smoothing / n_classes
        return t

    def forward(self, z, target):
        # z: (P,N,K) logits; target: (P,N) or (N,) integer labels
        t = self._soft_targets(target, z.shape[-1], z.dtype)
        log_p = F.log_softmax(z)  # stable; never log(softmax(z))
        self._cache = (np.exp(log_p), t)
        return self._reduce(-(t * log_p).sum(axis=-1))  # (P,)

    def backward(self):
        p, t = self._cache
        dz = p - t  # eq. (14): dL/dA2 = Z2 - y
        if self.reduction == "mean":
            dz *= self._scale(p.shape[-2])
        return dz

    def output(self, z):
        return F.softmax(z)

    def predict(self, z):
        return z.argmax(axis=-1)


_NAMED = {"cross_entropy": SoftmaxCrossEntropy, "softmax_cross_entropy": SoftmaxCrossEntropy}


def available_losses() -> list[str]:
    return sorted(_NAMED)


def get_loss(loss: str | Loss, name: str = "loss") -> Loss:
    """A loss by name (a fresh instance with default settings) or passed through."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss in _NAMED:
        return _NAMED[loss]()
    raise fail(name, "one of: " + ", ".join(available_losses()), loss)
