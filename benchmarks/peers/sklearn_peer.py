"""scikit-learn's ``MLPClassifier``, one network at a time.

Where its algorithm differs from the workloads' (timing is comparable, results are not
bit-for-bit): it averages the gradient over the minibatch (so the tutorial's summed step
``alpha = 1e-4`` with batch 10 becomes ``learning_rate_init = 1e-3``, equal for every full
batch), initialises with Glorot-uniform instead of ``randn``, and for two classes uses ONE
logistic output unit instead of a two-unit softmax. ``alpha=0`` (no L2), no momentum, a
constant rate, and ``n_iter_no_change`` past ``max_iter`` so every epoch runs.
"""

from __future__ import annotations

import warnings

import numpy as np


def classifier(hidden, solver, batch_size, epochs, lr, seed):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=tuple(hidden),
        activation="relu",
        solver=solver,
        alpha=0.0,
        batch_size=batch_size,
        learning_rate="constant",
        learning_rate_init=lr,
        max_iter=epochs,
        shuffle=True,
        random_state=seed,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        momentum=0.0,
        nesterovs_momentum=False,
        early_stopping=False,
    )


def fit(clf, X, y):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y)


def test_loop(X_train, y_train, X_test, y_test, widths, batch_size, epochs, seed, alpha=1e-4):
    """One network per entry of ``widths``, one after another; test accuracies."""
    acc = []
    for i, h in enumerate(widths):
        clf = classifier([int(h)], "sgd", batch_size, epochs, alpha * batch_size, seed + i)
        acc.append(fit(clf, X_train, y_train).score(X_test, y_test))
    return np.array(acc)
