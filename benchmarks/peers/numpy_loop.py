"""Plain NumPy peers: the tutorial's algorithm one network at a time, and a bare epoch.

``init_network``/``forward``/``backward``/``sgd``/``fit``/``test``: the tutorial's code style
(a dict of weights, a Python loop over experiments and over widths), with a vectorised
softmax. This is the reference every speed-up is quoted against: what the tutorial's user
runs. Model, eq. (6): ``A1 = X W1 + b1; Z1 = max(0, A1); A2 = Z1 W2 + b2; Z2 = softmax(A2)``;
gradients eq. (14)-(17), SUMMED over the minibatch (``reduction="sum"``) as the tutorial
trains, or averaged (``"mean"``) for the Adam workload.

``softmax_rows``/``one_hot_rows`` build those rows in Python loops, as the tutorial's own
code does; the ``tutorial-code`` peer uses them (the tutorial's measured 23 s and 234 s).

``BareMLP``: one epoch of minibatch SGD for a ReLU MLP with softmax cross-entropy (mean),
written as tightly as plain NumPy allows (preallocated buffers, ``out=`` everywhere, in-place
ReLU): the floor a NumPy implementation can reach on a matrix-multiply-bound problem.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnscratch.experiments import reproduce as loop
from nnscratch.tutorial import ALPHA  # the tutorial's learning rate

# --- the tutorial's functions ------------------------------------------------------------


def softmax(a: np.ndarray) -> np.ndarray:
    """Row-wise softmax with the row maximum subtracted, eq. (1)/(2)."""
    e = np.exp(a - a.max(axis=1, keepdims=True))  # (N,K)
    return e / e.sum(axis=1, keepdims=True)


def one_hot(labels: np.ndarray, n_class: int) -> np.ndarray:
    return np.eye(n_class)[labels]  # (N,K)


# The tutorial's loop itself lives in the package, where ``nnscratch reproduce`` times it for
# its report: one definition, and the benchmark and the report measure the same code. Here it
# runs with the vectorised softmax by default; the ``tutorial-code`` peer passes the
# package's row-by-row one.
softmax_rows, one_hot_rows = loop.softmax_rows, loop.one_hot_rows
init_network = loop.loop_init


def forward(model: dict, X: np.ndarray, softmax_fn=softmax) -> tuple[np.ndarray, np.ndarray]:
    """``(Z1, Z2)``: hidden activations ``(N, H)`` and probabilities ``(N, K)``, eq. (6)."""
    return loop.loop_forward(model, X, softmax_fn)


def backward(
    model: dict, X: np.ndarray, Y: np.ndarray, reduction: str = "sum", softmax_fn=softmax
) -> dict:
    """True gradients of the cross-entropy (summed or averaged over the batch), eq. (14)-(17)."""
    return loop.loop_backward(model, X, Y, reduction, softmax_fn)


def sgd(model: dict, X: np.ndarray, Y: np.ndarray, alpha: float = ALPHA, softmax_fn=softmax):
    """``theta := theta - alpha * grad``, eq. (7), in place."""
    loop.loop_sgd(model, X, Y, alpha, softmax_fn)


def fit(
    model: dict,
    X: np.ndarray,
    Y: np.ndarray,
    batch_size: int,
    iter_num: int,
    rng: np.random.Generator | None = None,
    perms: Sequence[np.ndarray] | None = None,
    softmax_fn=softmax,
) -> dict:
    """``iter_num`` epochs: a fresh permutation each (``perms[e]`` when given, else drawn
    from ``rng``), contiguous slices of ``batch_size``, the short last one included."""
    return loop.loop_fit(model, X, Y, batch_size, iter_num, rng, perms, softmax_fn)


def accuracy(model: dict, X: np.ndarray, y: np.ndarray) -> float:
    return loop.loop_accuracy(model, X, y, softmax)


def test(X_train, y_train, X_test, y_test, batch_size, iter_num, n_experiment, rng) -> np.ndarray:
    """The tutorial's ``test``: ``n_experiment`` networks trained one after another."""
    Y = one_hot(y_train, 2)
    acc = []
    for _ in range(n_experiment):
        model = init_network(rng)
        fit(model, X_train, Y, batch_size, iter_num, rng)
        acc.append(accuracy(model, X_test, y_test))
    return np.array(acc)


test.__test__ = False


def test_widths(
    X_train, y_train, X_test, y_test, widths, rng, batch_size=10, iter_num=100, literal=False
):
    """The tutorial's ``test_class`` loop: one network per entry of ``widths``, in turn.

    ``literal``: build the softmax and the one-hot rows in Python loops, as the tutorial's
    own code does, instead of vectorised.
    """
    softmax_fn, one_hot_fn = (softmax_rows, one_hot_rows) if literal else (softmax, one_hot)
    Y = one_hot_fn(y_train, 2)
    acc = []
    for h in widths:
        model = init_network(rng, n_hidden=int(h))
        fit(model, X_train, Y, batch_size, iter_num, rng, softmax_fn=softmax_fn)
        acc.append(accuracy(model, X_test, y_test))
    return np.array(acc)


# --- Adam, the same dict style (workload W4) ---------------------------------------------


def he_network(rng: np.random.Generator, sizes: Sequence[int]) -> dict[str, np.ndarray]:
    """He-normal weights ``N(0, 2 / fan_in)`` and zero biases for a two-layer network."""
    D, H, K = sizes
    return {
        "W1": np.sqrt(2.0 / D) * rng.standard_normal((D, H)),
        "b1": np.zeros(H),
        "W2": np.sqrt(2.0 / H) * rng.standard_normal((H, K)),
        "b2": np.zeros(K),
    }


def fit_adam(model, X, Y, batch_size, iter_num, rng, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """Minibatch Adam (Kingma & Ba, 2015) on the mean cross-entropy, dicts of moments."""
    b1, b2 = betas
    m = {k: np.zeros_like(v) for k, v in model.items()}
    v = {k: np.zeros_like(w) for k, w in model.items()}
    t, n = 0, X.shape[0]
    for _ in range(iter_num):
        perm = rng.permutation(n)
        Xs, Ys = X[perm], Y[perm]
        for start in range(0, n, batch_size):
            grads = backward(
                model,
                Xs[start : start + batch_size],
                Ys[start : start + batch_size],
                reduction="mean",
            )
            t += 1
            for k in model:
                g = grads[k]
                m[k] = b1 * m[k] + (1 - b1) * g
                v[k] = b2 * v[k] + (1 - b2) * g * g
                denom = np.sqrt(v[k]) / np.sqrt(1 - b2**t) + eps
                model[k] -= lr / (1 - b1**t) * m[k] / denom
    return model


# --- the bare floor (workload W5) --------------------------------------------------------


class BareMLP:
    """A ReLU MLP with softmax cross-entropy (mean), minibatch SGD, preallocated buffers.

    ``Ws[l]`` ``(D_l, H_l)`` and ``bs[l]`` ``(H_l,)`` are updated in place. The first layer's
    ``dx`` is never computed (nothing needs it).
    """

    def __init__(self, Ws: Sequence[np.ndarray], bs: Sequence[np.ndarray], batch_size: int):
        self.Ws, self.bs, self.B = list(Ws), list(bs), batch_size
        dt = self.Ws[0].dtype
        B = batch_size
        self.x = np.empty((B, self.Ws[0].shape[0]), dtype=dt)  # (B,D) gathered rows
        self.h = [np.empty((B, W.shape[1]), dtype=dt) for W in self.Ws]  # (B,H_l) outputs
        self.dh = [np.empty((B, W.shape[0]), dtype=dt) for W in self.Ws]  # (B,D_l) input grads
        self.gate = [np.empty((B, W.shape[0]), dtype=bool) for W in self.Ws]
        self.dW = [np.empty_like(W) for W in self.Ws]
        self.db = [np.empty_like(b) for b in self.bs]
        self.rows = np.arange(B)

    def epoch(self, X: np.ndarray, y: np.ndarray, perm: np.ndarray, lr: float) -> None:
        """One pass over ``X`` in the order ``perm``, batches of ``B``, short last included."""
        Ws, bs, L = self.Ws, self.bs, len(self.Ws)
        lr = Ws[0].dtype.type(lr)
        for start in range(0, X.shape[0], self.B):
            idx = perm[start : start + self.B]
            n = idx.shape[0]
            x = self.x[:n]
            np.take(X, idx, axis=0, out=x)  # (n,D)
            # forward
            inputs = [x]
            for k in range(L):
                a = self.h[k][:n]
                np.matmul(inputs[-1], Ws[k], out=a)  # (n,H_k)
                a += bs[k]
                if k < L - 1:
                    np.maximum(a, 0, out=a)  # ReLU in place: a > 0 exactly where relu(a) > 0
                inputs.append(a)
            # softmax cross-entropy, mean over the batch: dz = (softmax(z) - onehot) / n
            dz = inputs[-1]  # (n,K)
            dz -= dz.max(axis=1, keepdims=True)
            np.exp(dz, out=dz)
            dz /= dz.sum(axis=1, keepdims=True)
            dz[self.rows[:n], y[idx]] -= 1
            dz *= dz.dtype.type(1.0 / n)
            # backward and update, last layer first (dx uses W before its update)
            for k in range(L - 1, -1, -1):
                h_in = inputs[k]  # (n,D_k)
                np.matmul(h_in.T, dz, out=self.dW[k])  # (D_k,H_k)
                np.sum(dz, axis=0, out=self.db[k])
                if k > 0:
                    dh = self.dh[k][:n]
                    np.matmul(dz, Ws[k].T, out=dh)  # (n,D_k)
                    gate = self.gate[k][:n]
                    np.greater(h_in, 0, out=gate)
                    np.multiply(dh, gate, out=dh)
                self.dW[k] *= lr
                Ws[k] -= self.dW[k]
                self.db[k] *= lr
                bs[k] -= self.db[k]
                if k > 0:
                    dz = dh
