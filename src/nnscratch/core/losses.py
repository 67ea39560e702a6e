"""Losses computed from the network's raw outputs (logits), fused with their output layer.

A loss reduces over the batch axis only and returns one value per member, ``(P,)``; the
training objective is the sum over members, so no member's gradient leaks into another.
``forward(z, target, sample_weight=None)`` caches what ``backward()`` needs; ``backward()``
returns ``dL/dz``.

Weights: with per-row weights ``w_n`` (``sample_weight``, times the class weight of the row's
label for a classifier) the ``"mean"`` reduction is ``sum_n w_n l_n / sum_n w_n`` (as PyTorch
does for class weights) and ``"sum"`` is ``sum_n w_n l_n``.
"""

from __future__ import annotations

import numpy as np

from nnscratch.core import functional as F
from nnscratch.core.checks import check_choice, check_labels, fail


def check_sample_weight(sample_weight, n_samples: int, name: str = "sample_weight"):
    """``None``, or ``(N,)`` finite non-negative weights with a positive sum."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (n_samples,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise fail(name, f"({n_samples},) finite non-negative weights, not all zero", w)
    return w


def _check_class_weight(class_weight):
    if class_weight is None:
        return None
    cw = np.asarray(class_weight, dtype=np.float64)
    if cw.ndim != 1 or not np.all(np.isfinite(cw)) or np.any(cw < 0):
        raise fail("class_weight", "a 1-D array of finite non-negative weights (K,)", cw)
    return cw


class Loss:
    """Base class for losses. ``reduction`` is ``"mean"`` (over the batch) or ``"sum"``."""

    #: True when outputs are class scores and ``predict`` returns class indices.
    classifier = True
    #: The number of output units the loss needs (``None``: any).
    n_outputs: int | None = None

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = check_choice("reduction", reduction, {"mean", "sum"})
        self._scale: float | np.ndarray = 1.0

    def _reduce(self, rows: np.ndarray, weight=None, norm=None) -> np.ndarray:
        """Per-row losses ``(P, N)`` to per-member losses ``(P,)``, remembering ``dL/dl_n``.

        ``weight`` (``(N,)`` or ``(P, N)``) multiplies each row; the mean divides by ``norm``
        (per member; default ``sum_n weight_n``, or ``N`` without weights).
        """
        mean = self.reduction == "mean"
        if weight is None:
            self._scale = 1.0 / rows.shape[-1] if mean else 1.0
            return rows.mean(axis=-1) if mean else rows.sum(axis=-1)
        weight = np.broadcast_to(weight, rows.shape)  # (P,N)
        if mean:
            norm = weight.sum(axis=-1) if norm is None else norm  # (P,)
            norm = np.where(norm > 0, norm, 1.0)  # a batch of zero weights: loss 0, grad 0
            weight = weight / norm[:, None]
        self._scale = weight[..., None].astype(rows.dtype)  # (P,N,1)
        return (weight * rows).sum(axis=-1)

    def check_targets(self, y, n_samples: int, n_outputs: int, name: str = "y") -> np.ndarray:
        raise NotImplementedError

    def forward(self, z: np.ndarray, target: np.ndarray, sample_weight=None) -> np.ndarray:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def output(self, z: np.ndarray) -> np.ndarray:
        """What ``predict_proba`` shows: probabilities for a classifier."""
        raise NotImplementedError

    def predict(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def hits(self, z: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Correctly classified rows, ``(P, N)`` booleans (classifiers only)."""
        raise NotImplementedError

    def score(self, z: np.ndarray, target: np.ndarray, sample_weight=None) -> np.ndarray:
        """Per-member accuracy ``(P,)``, weighted by ``sample_weight`` when given."""
        return np.average(self.hits(z, target), axis=-1, weights=sample_weight)


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by cross-entropy, fused, eq. (9)/(13)/(14).

    Forward: ``l = -sum_k c_k t_k log softmax(z)_k`` per row, with ``t`` the one-hot label or
    a given probability row, optionally smoothed (``t = (1 - eps) t + eps / K``), and ``c``
    the class weights (default 1). Backward: ``dl/dz = (sum_k c_k t_k) softmax(z) - c t``,
    i.e. ``softmax(z) - t`` without class weights, eq. (14). Targets are integer labels
    ``(N,)`` or probability rows ``(N, K)``; a row's class weight for the mean is ``c[y]``
    (labels) or ``sum_k c_k t_k`` (probability rows).
    """

    def __init__(
        self, reduction: str = "mean", label_smoothing: float = 0.0, class_weight=None
    ) -> None:
        super().__init__(reduction)
        if not 0.0 <= label_smoothing < 1.0:
            raise fail("label_smoothing", "a number in [0, 1)", label_smoothing)
        self.label_smoothing = float(label_smoothing)
        self.class_weight = _check_class_weight(class_weight)
        self._cache: tuple | None = None

    def check_targets(self, y, n_samples, n_outputs, name="y"):
        if self.class_weight is not None and self.class_weight.shape != (n_outputs,):
            raise fail("class_weight", f"one weight per class ({n_outputs},)", self.class_weight)
        t = np.asarray(y)
        if t.ndim != 2:
            return check_labels(y, n_samples, n_outputs, name=name)
        expected = f"labels (N,) or probability rows ({n_samples}, {n_outputs}) summing to 1"
        if t.shape != (n_samples, n_outputs) or t.dtype.kind not in "fiub":
            raise fail(name, expected, t)
        t = t.astype(np.float64)
        if not np.all(np.isfinite(t)) or np.any(t < 0) or not np.allclose(t.sum(axis=1), 1.0):
            raise fail(name, expected, t)
        return t

    def forward(self, z, target, sample_weight=None):
        # z: (P,N,K) logits; target: labels (P,N)/(N,) or probability rows (P,N,K)/(N,K)
        K = z.shape[-1]
        labels = target.dtype.kind in "iub"  # integer labels, else probability rows
        cw, norm = self.class_weight, None
        if labels and not self.label_smoothing and cw is None:  # the tutorial's case
            log_p = F.log_softmax(z)  # stable; never log(softmax(z))
            self._cache = (np.exp(log_p), target, None)  # softmax(z), for backward
            return self._reduce(F.nll(log_p, target), sample_weight)  # eq. (9): cross_entropy
        t = F.one_hot(target, K, dtype=z.dtype) if labels else target.astype(z.dtype)
        if self.label_smoothing:
            t = (1.0 - self.label_smoothing) * t + self.label_smoothing / K
        if cw is not None:
            row_cw = cw[target] if labels else target @ cw  # (P,N) or (N,)
            t = t * cw  # (..., N, K): c_k t_k
            w = row_cw if sample_weight is None else sample_weight * row_cw
            norm = np.broadcast_to(w, z.shape[:-1]).sum(axis=-1)  # (P,)
            if sample_weight is None:
                sample_weight = np.ones(z.shape[-2], dtype=z.dtype)  # rows carry c already
        self._cache = (F.softmax(z), None, t)
        return self._reduce(F.soft_cross_entropy(z, t), sample_weight, norm)  # eq. (9), (P,)

    def backward(self):
        p, labels, t = self._cache  # p = softmax(z), (P,N,K)
        if t is None:
            dz = p - F.one_hot(labels, p.shape[-1], dtype=p.dtype)  # eq. (14): Z2 - Y
        elif self.class_weight is not None:
            dz = t.sum(axis=-1, keepdims=True) * p - t  # (sum_k c_k t_k) p - c t
        else:
            dz = p - t  # eq. (14), with probability rows
        dz *= self._scale
        return dz

    def output(self, z):
        return F.softmax(z)

    def predict(self, z):
        return z.argmax(axis=-1)

    def hits(self, z, target):
        labels = target if target.dtype.kind in "iub" else target.argmax(axis=-1)
        return z.argmax(axis=-1) == labels  # (P,N)


class SigmoidBinaryCrossEntropy(Loss):
    """One output unit ``z``, labels 0/1: ``l = softplus(z) - y z = -[y log s + (1-y) log(1-s)]``.

    With ``s = sigmoid(z)``; computed as ``softplus`` so large ``|z|`` cannot overflow.
    Backward: ``dl/dz = s - y``. ``class_weight`` ``(2,)`` weights a row by its label's
    weight. ``predict_proba`` gives two columns ``[1 - s, s]``, like a two-class softmax.
    """

    n_outputs = 1

    def __init__(self, reduction: str = "mean", class_weight=None) -> None:
        super().__init__(reduction)
        self.class_weight = _check_class_weight(class_weight)
        if self.class_weight is not None and self.class_weight.shape != (2,):
            raise fail("class_weight", "two weights (2,): for label 0 and label 1", class_weight)
        self._cache: tuple | None = None

    def check_targets(self, y, n_samples, n_outputs, name="y"):
        return check_labels(y, n_samples, 2, name=name)

    def forward(self, z, target, sample_weight=None):
        a = z[..., 0]  # (P,N)
        t = target.astype(z.dtype)
        w = sample_weight
        if self.class_weight is not None:
            w = self.class_weight[target] if w is None else w * self.class_weight[target]
        self._cache = (F.sigmoid(a), t)
        return self._reduce(F.softplus(a) - t * a, w)  # (P,)

    def backward(self):
        s, t = self._cache
        return (s - t)[..., None] * self._scale  # (P,N,1)

    def output(self, z):
        s = F.sigmoid(z[..., 0])
        return np.stack([1.0 - s, s], axis=-1)  # (P,N,2)

    def predict(self, z):
        return (z[..., 0] > 0).astype(np.intp)

    def hits(self, z, target):
        return self.predict(z) == target


class _Regression(Loss):
    """Base of the regression losses: identity output, float targets ``(N,)`` or ``(N, K)``.

    Per row the elementwise loss is averaged over the ``K`` outputs for ``"mean"`` (so the
    mean runs over all ``N K`` entries, as in PyTorch) and summed for ``"sum"``.
    ``score`` is the coefficient of determination R^2 (averaged over outputs).
    """

    classifier = False

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._cache: np.ndarray | None = None

    def _elementwise(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(l(d), l'(d))`` for the residual ``d = z - y``."""
        raise NotImplementedError

    def check_targets(self, y, n_samples, n_outputs, name="y"):
        t = np.asarray(y)
        flat = f" or ({n_samples},)" if n_outputs == 1 else ""
        expected = f"finite numbers of shape ({n_samples}, {n_outputs}){flat}"
        if t.ndim == 1 and n_outputs == 1:
            t = t[:, None]
        if t.shape != (n_samples, n_outputs) or t.dtype.kind not in "fiub":
            raise fail(name, expected, np.asarray(y))
        t = t.astype(np.float64)
        if not np.all(np.isfinite(t)):
            raise fail(name, expected, np.asarray(y))
        return t

    def forward(self, z, target, sample_weight=None):
        values, grad = self._elementwise(z - target)  # (P,N,K)
        K = z.shape[-1]
        self._cache = grad / K if self.reduction == "mean" else grad
        rows = values.mean(axis=-1) if self.reduction == "mean" else values.sum(axis=-1)
        return self._reduce(rows, sample_weight)

    def backward(self):
        return self._cache * self._scale

    def output(self, z):
        return z

    def predict(self, z):
        return z[..., 0] if z.shape[-1] == 1 else z

    def score(self, z, target, sample_weight=None):
        """R^2 ``= 1 - sum w (y - z)^2 / sum w (y - ybar)^2`` per output, averaged, ``(P,)``."""
        w = np.ones(z.shape[-2]) if sample_weight is None else sample_weight
        w = np.broadcast_to(w, z.shape[:-1])[..., None]  # (P,N,1)
        ybar = (w * target).sum(axis=-2, keepdims=True) / w.sum(axis=-2, keepdims=True)
        ss_res = (w * (target - z) ** 2).sum(axis=-2)  # (P,K)
        ss_tot = (w * (target - ybar) ** 2).sum(axis=-2)  # (P,K)
        # constant targets: 1 for a perfect fit, else 0 (as scikit-learn's r2_score)
        safe = np.where(ss_tot > 0, ss_tot, 1.0)
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / safe, np.where(ss_res == 0, 1.0, 0.0))
        return r2.mean(axis=-1)


class MeanSquaredError(_Regression):
    """``l = (z - y)^2``; backward ``dl/dz = 2 (z - y)``."""

    def _elementwise(self, d):
        return d * d, 2.0 * d


class MeanAbsoluteError(_Regression):
    """``l = |z - y|``; backward ``dl/dz = sign(z - y)`` (0 where ``z == y``)."""

    def _elementwise(self, d):
        return np.abs(d), np.sign(d)


_NAMED = {
    "cross_entropy": SoftmaxCrossEntropy,
    "softmax_cross_entropy": SoftmaxCrossEntropy,
    "binary_cross_entropy": SigmoidBinaryCrossEntropy,
    "mse": MeanSquaredError,
    "mae": MeanAbsoluteError,
}


def available_losses() -> list[str]:
    return sorted(_NAMED)


def get_loss(loss: str | Loss, name: str = "loss") -> Loss:
    """A loss by name (a fresh instance with default settings) or passed through."""
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str) and loss in _NAMED:
        return _NAMED[loss]()
    raise fail(name, "one of: " + ", ".join(available_losses()), loss)
