"""The tutorial's own names, written like the tutorial, on the dict model it uses.

A two-layer network (affine, ReLU, affine, softmax) trained by minibatch SGD on two moons,
with the tutorial's choices kept because its reported numbers depend on them: ``randn``
initialisation (std 1, biases too), gradients SUMMED over the minibatch, ``alpha = 1e-4``
(:data:`ALPHA`, :func:`tutorial_config`; defined here once, and used by the report and
the benchmarks). :func:`forward`, :func:`backward` and :func:`sgd` are the tutorial's few
lines of eq. (6), (14)-(17) and (7) on the model dict, and tests pin them to the core's
gradients; ``fit`` and the experiments train on the core (:class:`~nnscratch.core.network.MLP`
and the population runner of :mod:`nnscratch.experiments`).

What differs from the tutorial's text, on purpose:

* ``backward`` returns the true gradient (``dL/dA2 = Z2 - Y``, eq. 14), not its negative,
  and ``sgd`` descends along it: ``theta := theta - alpha * grad`` (eq. 7).
* The ReLU gate of eq. (17) is ``A1 > 0``.
* ``relu`` returns a new array; ``one_hot_encode`` handles any number of classes.
* ``test`` trains all its experiments as ONE population and ``test_class`` all widths and
  trials as one population (widths padded and masked), instead of one after the other.
* No global random state: every function that draws takes ``seed`` (int, ``SeedSequence``
  or ``None`` for fresh entropy).

How the tutorial's ``A1, Z1, A2, Z2`` are named in the core: :mod:`nnscratch.core`.
"""

from __future__ import annotations

import os

import numpy as np

from nnscratch.core import functional as F
from nnscratch.core.checks import (
    check_int,
    check_labels,
    check_memory,
    check_positive,
    check_X,
    fail,
)
from nnscratch.core.losses import SoftmaxCrossEntropy
from nnscratch.core.network import MLP
from nnscratch.core.optim import SGD
from nnscratch.core.seeding import as_seed_sequence, child, member_seeds
from nnscratch.data import load_moons as _load_moons
from nnscratch.data import n_classes
from nnscratch.experiments.config import Config
from nnscratch.experiments.runner import build_network

__all__ = [
    "NeuralNet",
    "backward",
    "fit",
    "forward",
    "init_network",
    "load_moons",
    "one_hot_encode",
    "relu",
    "sgd",
    "softmax",
    "test",
    "test_class",
    "tutorial_config",
    "tutorial_network",
]

# --- the tutorial's settings, defined once -----------------------------------------------

ALPHA = 1e-4  # the learning rate of eq. (7)
INIT = "normal"  # randn: weights and biases drawn from N(0, 1)
REDUCTION = "sum"  # the loss, and so the gradients, summed over the minibatch
N_HIDDEN = 64  # init_network's width, and test's
KEYS = ("W1", "b1", "W2", "b2")


def load_moons():
    """The tutorial's data: ``(X_train, X_test, y_train, y_test)``, 3750 / 1250 rows (step 1)."""
    return _load_moons()


def one_hot_encode(labels, n_class: int | None = None) -> np.ndarray:
    """Integer labels ``(N,)`` to one-hot rows ``(N, K)`` (step 2); ``K`` defaults to max + 1."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise fail("labels", "a 1-D array of integer labels (N,)", labels)
    n_class = n_classes(labels, name="labels") if n_class is None else n_class
    n_class = check_int("n_class", n_class, minimum=1)
    labels = check_labels(labels, labels.shape[0], n_class, "labels")
    check_memory("n_class", 8.0 * labels.size * n_class, f"{labels.size} rows of {n_class}")
    return F.one_hot(labels, n_class)


def softmax(x) -> np.ndarray:
    """Row-wise softmax, eq. (1), with the row maximum subtracted, eq. (2) (step 3)."""
    return F.softmax(np.asarray(x, dtype=np.float64))


def relu(x) -> np.ndarray:
    """``max(0, x)``, eq. (3) (step 4); a new array, ``x`` is left alone."""
    return F.relu(np.asarray(x))


def tutorial_config(epochs: int, batch_size: int, hidden: int = N_HIDDEN) -> Config:
    """The tutorial's network and training as an experiment :class:`Config`: ReLU, ``randn``
    weights and biases, cross-entropy summed over the batch, SGD at :data:`ALPHA`."""
    return Config(
        hidden=hidden,
        activation="relu",
        init=INIT,
        bias_init=INIT,
        optimizer="sgd",
        lr=ALPHA,
        batch_size=batch_size,
        epochs=epochs,
        reduction=REDUCTION,
    )


def tutorial_network(n_features, n_hidden, n_class, seed=None, population=None, width=None) -> MLP:
    """The tutorial's network as an ``MLP`` (or a population of them): ReLU, ``randn``
    weights and biases (std 1), cross-entropy summed over the batch. Train it with
    ``fit(..., optimizer=SGD(lr=ALPHA))`` for the tutorial's algorithm."""
    return MLP(
        [n_features, n_hidden, n_class],
        activation="relu",
        init=INIT,
        bias_init=INIT,
        loss=SoftmaxCrossEntropy(reduction=REDUCTION),
        seed=seed,
        population=population,
        width=width,
    )


def init_network(n_features: int = 2, n_class: int = 2, n_hidden: int = 64, *, seed=None) -> dict:
    """``{'W1': (D, H), 'b1': (H,), 'W2': (H, K), 'b2': (K,)}``, every entry ``randn`` (step 5)."""
    net = tutorial_network(
        check_int("n_features", n_features),
        check_int("n_hidden", n_hidden),
        check_int("n_class", n_class, minimum=2),
        seed=seed,
    )
    return {k: v.copy() for k, v in net.params.items()}


def _check_model(model: dict) -> tuple[np.ndarray, ...]:
    """``W1 (D, H), b1 (H,), W2 (H, K), b2 (K,)``, stored back as float64 (updated in place)."""
    if not isinstance(model, dict) or set(model) != set(KEYS):
        raise fail("model", f"a dict with keys {list(KEYS)}", model)
    for k in KEYS:
        model[k] = np.ascontiguousarray(model[k], dtype=np.float64)
    W1, b1, W2, b2 = (model[k] for k in KEYS)
    if W1.ndim != 2 or W2.ndim != 2 or W1.shape[1] != W2.shape[0]:
        raise fail("model", "W1 (D, H) and W2 (H, K)", {k: model[k].shape for k in KEYS})
    if b1.shape != (W1.shape[1],) or b2.shape != (W2.shape[1],):
        raise fail("model", "b1 (H,) and b2 (K,)", {k: model[k].shape for k in KEYS})
    return W1, b1, W2, b2


def _as_net(model: dict) -> MLP:
    """An ``MLP`` whose parameters ARE the dict's arrays, so training updates the dict."""
    W1, b1, W2, b2 = _check_model(model)
    net = tutorial_network(W1.shape[0], W1.shape[1], W2.shape[1], seed=0)
    for layer, (w, b) in zip(net.dense_layers, [(W1, b1), (W2, b2)], strict=True):
        layer.params = {"W": w[None], "b": b[None]}  # (1, ...) views
    return net


def _labels(label, n_samples: int, n_class: int) -> np.ndarray:
    """Integer labels from integer labels or one-hot rows (the tutorial passes either)."""
    label = np.asarray(label)
    if label.ndim == 2:
        if (
            label.shape != (n_samples, n_class)
            or not np.all((label == 0) | (label == 1))
            or not np.all(label.sum(axis=1) == 1)
        ):
            raise fail(
                "label", f"integer labels (N,) or one-hot rows ({n_samples}, {n_class})", label
            )
        label = label.argmax(axis=1)
    return check_labels(label, n_samples, n_class, name="label")


def _forward(model: dict, X: np.ndarray):
    """Eq. (6), every intermediate kept for backward: ``A1, Z1, A2, Z2``."""
    W1, b1, W2, b2 = _check_model(model)
    A1 = X @ W1 + b1  # (N,H)
    Z1 = relu(A1)  # eq. (3)
    A2 = Z1 @ W2 + b2  # (N,K)
    Z2 = softmax(A2)  # eq. (1), (2)
    return A1, Z1, A2, Z2


def forward(model: dict, input_data) -> tuple[np.ndarray, np.ndarray]:
    """``(Z1, Z2)``: hidden activations ``(N, H)`` and softmax probabilities ``(N, K)`` (step 6).

    Eq. (6): ``A1 = X W1 + b1;  Z1 = max(0, A1);  A2 = Z1 W2 + b2;  Z2 = softmax(A2)``.
    """
    X = check_X(input_data, name="input_data", n_features=_check_model(model)[0].shape[0])
    _, Z1, _, Z2 = _forward(model, X)
    return Z1, Z2


def backward(model: dict, data, label) -> dict:
    """Gradients of the SUMMED cross-entropy, eq. (9), with the model's keys (step 8).

    These are true gradients: the tutorial's text returns ``Y - Z2``, their negative.
    """
    W1, _, W2, _ = _check_model(model)
    X = check_X(data, name="data", n_features=W1.shape[0])
    Y = F.one_hot(_labels(label, X.shape[0], W2.shape[1]), W2.shape[1])  # (N,K)
    A1, Z1, _, Z2 = _forward(model, X)
    dA2 = Z2 - Y  # eq. (14): dL/dA2, softmax and cross-entropy combined
    dW2 = Z1.T @ dA2  # eq. (15), summed over the batch by the product
    db2 = dA2.sum(axis=0)  # eq. (16): column sums
    dA1 = (dA2 @ W2.T) * (A1 > 0)  # eq. (17): back through W2, then the ReLU gate A1 > 0
    dW1 = X.T @ dA1
    db1 = dA1.sum(axis=0)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def sgd(model: dict, data, label, alpha: float = ALPHA) -> dict:
    """One descent step on the model, in place (step 7); returns the model.

    Eq. (7): ``theta := theta - alpha * grad``, with the true gradient of :func:`backward`
    (the tutorial's text adds ``alpha * (Y - Z2) ...``: the same step, its sign folded in).
    """
    alpha = check_positive("alpha", alpha)
    grads = backward(model, data, label)
    for key in KEYS:
        model[key] -= alpha * grads[key]  # eq. (7)
    return model


def fit(model: dict, input_data, label, batch_size: int, iter_num: int, *, seed=None) -> dict:
    """``iter_num`` epochs of minibatch SGD on the model, in place (step 7).

    Each epoch shuffles with a fresh permutation and walks it in contiguous slices of
    ``batch_size``, the short last one included, one :func:`sgd` step each.
    """
    net = _as_net(model)
    X = check_X(input_data, name="input_data", n_features=net.n_features)
    y = _labels(label, X.shape[0], net.n_outputs)
    seed = np.random.SeedSequence() if seed is None else seed  # None: fresh shuffles
    history = net.fit(
        X, y, epochs=iter_num, batch_size=batch_size, optimizer=SGD(lr=ALPHA), seed=seed
    )
    if history.interrupted:  # the epochs done are in the model; the caller stops too
        raise KeyboardInterrupt
    return model


def _population_accuracy(
    train_data, train_label, test_data, test_label, batch_size, iter_num, widths, seed
) -> np.ndarray:
    """Train one tutorial network per entry of ``widths`` as ONE population, built by the
    runner of :mod:`nnscratch.experiments` (member ``p`` seeded
    ``SeedSequence(seed).spawn(P)[p]``, as the runner seeds trials); the test accuracy of
    each, ``(P,)``. Ctrl-C stops it after the current batch and is passed on."""
    X = check_X(train_data, name="train_data")
    X_test = check_X(test_data, name="test_data", n_features=X.shape[1])
    K = n_classes(train_label, test_label, name="train_label")
    y = check_labels(train_label, X.shape[0], K, name="train_label")
    y_test = check_labels(test_label, X_test.shape[0], K, name="test_label")
    batch_size = check_int("batch_size", batch_size)
    iter_num = check_int("iter_num", iter_num)
    root = as_seed_sequence(seed)
    config = {w: tutorial_config(iter_num, batch_size, int(w)) for w in set(widths)}
    seeds = [child(root, p) for p in range(len(widths))]
    net = build_network([config[w] for w in widths], X.shape[1], K, seeds)
    history = net.fit(X, y, epochs=iter_num, batch_size=batch_size, optimizer=SGD(lr=ALPHA))
    if history.interrupted:  # accuracies of a run cut short are not its results
        raise KeyboardInterrupt
    return net.score(X_test, y_test)


def test(
    train_data,
    train_label,
    test_data,
    test_label,
    batch_size: int,
    iter_num: int,
    n_experiment: int,
    *,
    seed=None,
    verbose: bool = True,
) -> np.ndarray:
    """``n_experiment`` fresh 64-unit networks, trained as ONE population (step 9).

    Prints ``Mean Accuracy: ..., Standard Deviation: ...`` as the tutorial does and returns
    the test accuracies, ``(n_experiment,)``.
    """
    n_experiment = check_int("n_experiment", n_experiment)
    widths = [N_HIDDEN] * n_experiment  # every experiment a fresh init_network()
    acc = _population_accuracy(
        train_data, train_label, test_data, test_label, batch_size, iter_num, widths, seed
    )
    if verbose:
        print(f"Mean Accuracy: {acc.mean():.5g}, Standard Deviation: {acc.std():.5g}")
    return acc


test.__test__ = False  # a tutorial function, not a pytest test


class NeuralNet:
    """The tutorial's class API (step 10): one network whose ``params`` is the tutorial's dict."""

    def __init__(self, n_hidden: int, n_features: int = 2, n_class: int = 2, *, seed=None):
        self.n_hidden, self.n_features, self.n_class = n_hidden, n_features, n_class
        self.params = init_network(n_features, n_class, n_hidden, seed=seed)
        # each fit call shuffles from its own child of the seed, so calls never repeat
        self._fit_seeds = member_seeds(seed, 1)[0]
        self._n_fits = 0

    def forward(self, input_data):
        return forward(self.params, input_data)

    def backward(self, data, label):
        return backward(self.params, data, label)

    def sgd(self, data, label, alpha: float = ALPHA):
        return sgd(self.params, data, label, alpha)

    def fit(self, input_data, label, batch_size: int, iter_num: int):
        self._n_fits += 1
        seed = child(self._fit_seeds, self._n_fits)
        return fit(self.params, input_data, label, batch_size, iter_num, seed=[seed])

    def predict(self, input_data) -> np.ndarray:
        return self.forward(input_data)[1].argmax(axis=1)

    def test(
        self, train_data, train_label, test_data, test_label, batch_size: int, iter_num: int
    ) -> float:
        """Train on the training set, return the test accuracy."""
        self.fit(train_data, train_label, batch_size, iter_num)
        X_test = check_X(test_data, name="test_data", n_features=self.n_features)
        y_test = check_labels(test_label, X_test.shape[0], self.n_class, name="test_label")
        return float(np.mean(self.predict(X_test) == y_test))

    def __repr__(self) -> str:
        return (
            f"NeuralNet(n_hidden={self.n_hidden}, n_features={self.n_features}, "
            f"n_class={self.n_class})"
        )


def test_class(
    min_neuron: int,
    max_neuron: int,
    n_trial: int,
    *,
    data=None,
    plot=True,
    seed=None,
    batch_size: int = 10,
    iter_num: int = 100,
):
    """Mean test accuracy for every width in ``range(min_neuron, max_neuron)`` (step 11).

    All ``len(widths) * n_trial`` networks train as ONE population, each padded to the widest
    and masked to its own width, with batch 10 for 100 epochs as in the tutorial.
    Returns ``(widths, mean_accuracy)``. ``plot``: ``True`` draws accuracy against the
    number of neurons on a new pyplot figure (shown by notebooks; no ``plt.show()`` here),
    a path saves that plot as an image, an ``Axes`` draws into it, ``False`` draws nothing.
    """
    min_neuron = check_int("min_neuron", min_neuron)
    max_neuron = check_int("max_neuron", max_neuron, minimum=min_neuron + 1)
    n_trial = check_int("n_trial", n_trial)
    X_train, X_test, y_train, y_test = load_moons() if data is None else data
    widths = np.arange(min_neuron, max_neuron)
    member_width = np.repeat(widths, n_trial)  # (P,): width w for n_trial members in a row
    acc = _population_accuracy(
        X_train, y_train, X_test, y_test, batch_size, iter_num, member_width, seed
    )
    mean_accuracy = acc.reshape(widths.size, n_trial).mean(axis=1)
    if plot is not False and plot is not None:
        _plot_widths(widths, mean_accuracy, plot)
    return widths, mean_accuracy


test_class.__test__ = False


def _plot_widths(widths, mean_accuracy, target) -> None:
    """Accuracy against the number of neurons, as the tutorial plotted it."""
    if isinstance(target, (str, os.PathLike)):
        from matplotlib.figure import Figure

        from nnscratch.plots import save_figure

        fig = Figure(figsize=(6, 4))
        ax = fig.add_subplot()
    elif target is True:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
    elif hasattr(target, "plot"):
        fig, ax = target.figure, target
    else:
        raise fail("plot", "True, False, a file path or a matplotlib Axes", target)
    ax.plot(widths, mean_accuracy, marker="o")
    ax.set_xlabel("number of neurons")
    ax.set_ylabel("accuracy")
    ax.set_title("Mean test accuracy against hidden width")
    ax.grid(alpha=0.3)
    if isinstance(target, (str, os.PathLike)):
        save_figure(fig, target)
