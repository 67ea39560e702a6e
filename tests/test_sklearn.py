"""The scikit-learn estimators: scikit-learn's own checks, its tools, and its MLP as a peer.

A hand-worked peer: from the same weights, one full-batch SGD step of ours equals one of
``sklearn.neural_network``'s (binary, multiclass, multilabel, regression, with alpha).
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import nnscratch as nns
from nnscratch.io.model import load, save
from nnscratch.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@parametrize_with_checks(
    [
        MLPClassifier(max_iter=100, engine="numpy"),
        MLPRegressor(max_iter=100, engine="numpy"),
        MLPClassifier(hidden_layer_sizes=(16,), max_iter=50, n_members=2, ensemble="mean"),
        MLPRegressor(max_iter=100, n_members=2, ensemble="mean"),
    ]
)
def test_scikit_learn_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def small(cls=MLPClassifier, **kwargs):
    kwargs = {"hidden_layer_sizes": (16,), "max_iter": 60, "random_state": 0, **kwargs}
    return cls(**kwargs)


# --- scikit-learn's tools ----------------------------------------------------------------


def test_pipeline_grid_search_cross_val_score(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), small(learning_rate_init=0.01))
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.8
    grid = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)
    assert grid.best_params_["mlpclassifier__alpha"] in (1e-4, 1e-2)
    assert grid.score(X, y) > 0.8


def test_clone_and_pickle_predict_identically(iris):
    X, y = iris
    est = small(n_members=2, ensemble="mean").fit(X, y)
    again = clone(est)
    assert again.get_params() == est.get_params() and not hasattr(again, "net_")
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))


def test_string_labels_and_log_proba(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])
    est = small(learning_rate_init=0.01).fit(X, names[y])
    assert list(est.classes_) == list(names) and est.out_activation_ == "softmax"
    assert est.predict(X).dtype == names.dtype
    assert est.score(X, names[y]) > 0.85
    p = est.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(p))
    np.testing.assert_array_equal(est.predict(X), names[p.argmax(axis=1)])


def test_sparse_input_is_the_dense_one(iris):
    import scipy.sparse as sp

    X, y = iris
    dense = small(max_iter=10).fit(X, y)
    sparse = small(max_iter=10).fit(sp.csr_array(X), y)
    np.testing.assert_array_equal(sparse.coefs_[0], dense.coefs_[0])
    np.testing.assert_array_equal(dense.predict_proba(sp.csc_array(X)), dense.predict_proba(X))


def test_binary_has_one_logistic_output(iris):
    X, y = iris
    est = small().fit(X, np.where(y == 0, "yes", "no"))
    assert est.n_outputs_ == 1 and est.out_activation_ == "logistic"
    assert est.coefs_[-1].shape == (16, 1) and est.predict_proba(X).shape == (150, 2)
    assert est.n_layers_ == 3 and est.n_features_in_ == 4


def test_multilabel():
    X, Y = make_multilabel_classification(200, 6, n_classes=3, random_state=0)
    est = small(max_iter=200, learning_rate_init=0.01).fit(X, Y)
    assert est.out_activation_ == "logistic" and est.n_outputs_ == 3
    assert est.predict(X).shape == (200, 3) and set(np.unique(est.predict(X))) <= {0, 1}
    p = est.predict_proba(X)
    assert p.shape == (200, 3) and np.all((p > 0) & (p < 1))
    np.testing.assert_array_equal(est.predict(X), (p > 0.5).astype(int))
    assert est.score(X, Y) > 0.5  # subset accuracy


def test_multi_output_regression():
    X, Y = make_regression(200, 5, n_targets=3, random_state=0)
    est = small(MLPRegressor, max_iter=300, learning_rate_init=0.01).fit(X, Y / 100)
    assert est.predict(X).shape == (200, 3) and est.n_outputs_ == 3
    assert est.score(X, Y / 100) > 0.9
    assert small(MLPRegressor, max_iter=5).fit(X, Y[:, 0]).predict(X).shape == (200,)


# --- fit options ---------------------------------------------------------------------


def test_sample_weight_equals_repeated_rows_and_changes_the_fit(iris):
    X, y = iris
    rng = np.random.default_rng(0)
    w = rng.integers(0, 3, size=len(y))
    # full batches (the default 'auto' for 150 rows): a weight of k is k copies of a row
    weighted = small(max_iter=20).fit(X, y, sample_weight=w)
    repeated = small(max_iter=20).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-9)
    plain = small(max_iter=20).fit(X, y)
    assert not np.allclose(plain.predict_proba(X), weighted.predict_proba(X))


def test_class_weight_balanced_is_sample_weight(iris):
    X, y = iris
    keep = np.r_[0:50, 50:70, 100:150]  # unbalanced: 50, 20, 50
    X, y = X[keep], y[keep]
    balanced = small(max_iter=20, class_weight="balanced").fit(X, y)
    w = len(y) / (3 * np.bincount(y))
    # a class weight scales a row's loss; the penalty's batch weight stays the row count
    as_rows = small(max_iter=20, alpha=0.0).fit(X, y, sample_weight=w[y])
    both = small(max_iter=20, alpha=0.0, class_weight="balanced").fit(X, y)
    np.testing.assert_allclose(both.predict_proba(X), as_rows.predict_proba(X), rtol=1e-9)
    assert not np.allclose(balanced.predict_proba(X), small(max_iter=20).fit(X, y).predict_proba(X))


def test_partial_fit(iris):
    X, y = iris
    est = small(solver="sgd", learning_rate_init=0.1)
    with pytest.raises(ValueError, match="classes"):
        est.partial_fit(X, y)
    for _ in range(30):
        est.partial_fit(X, y, classes=[0, 1, 2])
    assert est.score(X, y) > 0.8 and len(est.loss_curve_) == 30 and est.t_ == 30 * 150
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    with pytest.raises(ValueError, match="classes"):
        est.partial_fit(X, y + 1)
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match="early_stopping"):
        small(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


def test_warm_start_continues(iris):
    X, y = iris
    est = small(max_iter=5, warm_start=True, tol=0.0)
    est.fit(X, y)
    W = est.coefs_[0].copy()
    first = list(est.loss_curve_)
    est.fit(X, y)
    assert len(est.loss_curve_) == 10 and est.loss_curve_[:5] == first and est.t_ == 1500
    cold = small(max_iter=5, tol=0.0).fit(X, y)
    np.testing.assert_array_equal(cold.coefs_[0], W)  # the first fit was an ordinary one
    assert est.loss_curve_[5] < first[0]  # the second fit started from the trained weights
    with pytest.raises(ValueError, match="classes"):
        est.fit(X[y < 2], y[y < 2])


def test_stopping_follows_scikit_learn_rule(iris):
    X, y = iris
    est = small(max_iter=500, tol=0.5, n_iter_no_change=3).fit(X, y)
    # tol 0.5: no epoch improves on the first by that much, so it stops after 1 + 3 + 1
    assert est.n_iter_ == 5 and len(est.loss_curve_) == 5
    assert est.best_loss_ == min(est.loss_curve_) and est.loss_ == est.loss_curve_[-1]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        small(max_iter=500, tol=0.5, n_iter_no_change=3).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        small(max_iter=3).fit(X, y)


def test_verbose_prints_scikit_learns_lines(iris, capsys):
    X, y = iris
    est = small(max_iter=2, verbose=True, early_stopping=True).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Iteration 1, loss = {est.loss_curve_[0]:.8f}"
    assert lines[1] == f"Validation score: {est.validation_scores_[0]:f}" and len(lines) == 4


def test_adaptive_learning_rate_divides_by_five(iris):
    X, y = iris
    est = small(solver="sgd", learning_rate="adaptive", tol=10.0, n_iter_no_change=2, max_iter=9)
    est.fit(X, y)
    # tol 10: never an improvement; every 3 epochs the rate is divided by 5 instead of stopping
    assert est.n_iter_ == 9
    assert est._optimizer.lr == pytest.approx(0.001 / 5**2)  # after epochs 4 and 7


def test_invscaling_sets_the_rate_from_samples_seen(iris):
    X, y = iris
    est = small(solver="sgd", learning_rate="invscaling", power_t=0.25, max_iter=4, tol=0.0)
    est.fit(X, y)
    assert est.t_ == 600 and est._optimizer.lr == pytest.approx(0.001 / 601**0.25)


def test_early_stopping_and_validation_loss_curve(iris):
    X, y = iris
    est = small(early_stopping=True, max_iter=200, learning_rate_init=0.01, validation_fraction=0.2)
    est.fit(X, y)
    n = est.n_iter_
    assert len(est.validation_scores_) == n == len(est.validation_loss_curve_)
    assert est.best_loss_ is None and est.best_validation_score_ == max(est.validation_scores_)
    # the restored weights are those of the best epoch: its validation loss, by hand
    _, Xv, _, yv = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    best = int(np.argmax(est.validation_scores_))
    penalty = est.alpha / 2 / 120 * sum((W**2).sum() for W in est.coefs_)  # batch: 120 rows
    expected = log_loss(yv, est.predict_proba(Xv), labels=[0, 1, 2]) + penalty
    assert est.validation_loss_curve_[best] == pytest.approx(expected, rel=1e-10)
    assert est.score(Xv, yv) == pytest.approx(est.best_validation_score_)
    assert small().fit(X, y).validation_loss_curve_ is None


def test_n_members_best_is_the_best_member_of_the_population(iris):
    X, y = iris
    best = small(n_members=3, ensemble="best", max_iter=30).fit(X, y)
    assert best.net_.population is None and best.coefs_[0].shape == (4, 16)
    # the same members trained on the same rows, all kept: the one chosen is the best one
    Xt, Xv, yt, yv = train_test_split(X, y, test_size=0.1, random_state=0, stratify=y)
    every = small(n_members=3, ensemble="mean", max_iter=30).fit(Xt, yt)
    scores = [every.net_.member(p).score(Xv, yv) for p in range(3)]
    assert best.best_member_ == int(np.argmax(scores))
    np.testing.assert_array_equal(best.coefs_[0], every.coefs_[0][best.best_member_])
    assert best.validation_scores_[-1] == max(scores)


def test_n_members_mean_averages_probabilities(iris):
    X, y = iris
    est = small(n_members=3, ensemble="mean").fit(X, y == 2)
    assert est.coefs_[0].shape == (3, 4, 16)
    members = [est.net_.member(p).predict_proba(X) for p in range(3)]
    np.testing.assert_allclose(est.predict_proba(X), np.mean(members, axis=0), rtol=1e-12)
    assert set(est.predict(X)) <= {False, True} and est.predict(X).dtype == bool
    reg = small(MLPRegressor, n_members=2, ensemble="mean").fit(X, X[:, 0] - X[:, 1])
    per = [reg.net_.member(p).predict(X) for p in range(2)]
    np.testing.assert_allclose(reg.predict(X), np.mean(per, axis=0), rtol=1e-12)


@pytest.mark.parametrize(
    "name, value",
    [
        ("hidden_layer_sizes", (0,)),
        ("hidden_layer_sizes", "10"),
        ("activation", "banana"),
        ("solver", "lbfgs"),
        ("alpha", -1.0),
        ("batch_size", 0),
        ("learning_rate", "fast"),
        ("learning_rate_init", 0.0),
        ("max_iter", 0),
        ("momentum", 1.5),
        ("validation_fraction", 1.0),
        ("beta_1", 1.0),
        ("epsilon", 0.0),
        ("n_iter_no_change", 0),
        ("shuffle", "yes"),
        ("dropout", 1.0),
        ("init", "nope"),
        ("class_weight", "even"),
        ("n_members", 0),
        ("ensemble", "vote"),
        ("engine", "gpu"),
        ("random_state", "seed"),
        ("random_state", -1),  # refused by the estimator, not by the seeding below it
        ("random_state", 2**32),
        ("hidden_layer_sizes", (10**9,)),  # too large for memory: refused before building
        ("hidden_layer_sizes", (10**6, 10**6)),
    ],
)
def test_bad_parameters_name_themselves(iris, name, value):
    X, y = iris
    est = small(**{name: value})
    with pytest.raises(ValueError, match=f"^{name}"):
        est.fit(X, y)
    assert not hasattr(est, "net_")


def test_a_refused_fit_changes_nothing(iris):
    X, y = iris
    est = small(max_iter=5, batch_norm=True).fit(X, y)
    before = dict(est.__dict__)
    p = est.predict_proba(X)
    with pytest.raises(ValueError, match="one class"):
        est.fit(X[:, :3], np.zeros(150))  # other features, one class
    with pytest.raises(ValueError, match="^batch_size"):  # refused by the training loop
        est.set_params(warm_start=True, batch_size=149).fit(X, y)  # a 1-row batch
    assert est.__dict__.keys() == before.keys()
    assert all(est.__dict__[k] is v for k, v in before.items() if k not in est.get_params())
    np.testing.assert_array_equal(est.predict_proba(X), p)


@pytest.mark.parametrize("warm_start", [False, True])
def test_a_diverging_fit_is_refused_with_advice_and_changes_nothing(warm_start):
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = X[:, 0]
    fresh = small(MLPRegressor, max_iter=5)
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="diverged") as err:
        fresh.fit(X, y * 1e300)
    message = str(err.value)
    assert "learning_rate_init" in message and "scale X and y" in message
    assert "on_nonfinite" not in message  # not an argument the estimator takes
    assert isinstance(err.value, nns.NonFiniteError) and err.value.members == [0]
    assert not hasattr(fresh, "net_") and not hasattr(fresh, "coefs_")  # still unfitted
    est = small(MLPRegressor, max_iter=5, warm_start=warm_start).fit(X, y)
    before = dict(est.__dict__)
    weights = {k: v.copy() for k, v in est.net_.population_state.items()}

    def trained(est):  # the optimizer's moments and the curves, what training changes in place
        pickled = {f"_state[{k!r}]": pickle.dumps(v) for k, v in est._state.items()}
        return pickled | {k: pickle.dumps(v) for k, v in vars(est._optimizer).items()}

    state = trained(est)
    p = est.predict(X)
    for call in (est.fit, est.partial_fit):
        with np.errstate(all="ignore"), pytest.raises(ValueError, match="diverged"):
            call(X, y * 1e300)
        assert est.__dict__.keys() == before.keys()
        assert all(
            est.__dict__[k] is v for k, v in before.items() if k not in ("_optimizer", "_state")
        )
        assert trained(est) == state
        for k, v in est.net_.population_state.items():
            assert v.tobytes() == weights[k].tobytes(), k
    assert est.predict(X).tobytes() == p.tobytes()


def test_regressor_loss_is_refused_by_name():
    with pytest.raises(ValueError, match="^loss"):
        MLPRegressor(loss="poisson").fit(np.ones((4, 2)), np.arange(4.0))


# --- scikit-learn's MLP as a peer ---------------------------------------------------


@pytest.mark.parametrize("task", ["binary", "multiclass", "multilabel", "regression", "outputs"])
def test_one_sgd_step_equals_scikit_learn(iris, task):
    X, y = iris
    if task == "binary":
        y = y == 1
    elif task == "multilabel":
        y = np.column_stack([y == 0, y == 2, X[:, 0] > 0]).astype(int)
    elif task == "regression":
        y = X[:, 0] - X[:, 1] * X[:, 2]
    elif task == "outputs":
        y = np.column_stack([X[:, 0] - X[:, 1], X[:, 2] * X[:, 3]])
    kw = dict(
        hidden_layer_sizes=(8, 5),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        alpha=0.3,
        learning_rate_init=0.05,
        random_state=0,
    )
    regression = task in ("regression", "outputs")
    ours = (MLPRegressor if regression else MLPClassifier)(**kw)
    peer = (SkRegressor if regression else SkClassifier)(**kw)
    fit = {} if regression or task == "multilabel" else {"classes": np.unique(y)}
    if task == "multilabel":  # partial_fit's classes are labels; a multilabel y starts with fit
        ours.set_params(max_iter=1).fit(X, y)
        ours.set_params(max_iter=1, warm_start=True)
        peer.set_params(max_iter=1).fit(X, y)
        peer.set_params(warm_start=True)
    else:
        ours.partial_fit(X, y, **fit)
        peer.partial_fit(X, y, **fit)
    peer.coefs_ = [W.copy() for W in ours.coefs_]
    peer.intercepts_ = [b.copy() for b in ours.intercepts_]
    step = (lambda e: e.fit(X, y)) if task == "multilabel" else (lambda e: e.partial_fit(X, y))
    step(ours)
    step(peer)
    for a, b in zip(ours.coefs_ + ours.intercepts_, peer.coefs_ + peer.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)
    if task != "outputs":  # for several outputs scikit-learn's loss_ is their mean instead
        assert ours.loss_ == pytest.approx(peer.loss_, rel=1e-10)


def test_accuracy_close_to_scikit_learn(iris):
    X, y = iris
    Xt, Xv, yt, yv = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    kw = dict(hidden_layer_sizes=(32,), max_iter=150, batch_size=16, learning_rate_init=0.01)
    ours = [MLPClassifier(random_state=s, **kw).fit(Xt, yt).score(Xv, yv) for s in range(3)]
    peer = [SkClassifier(random_state=s, **kw).fit(Xt, yt).score(Xv, yv) for s in range(3)]
    assert np.mean(ours) >= np.mean(peer) - 0.05


# --- model files ---------------------------------------------------------------------


def _same_fit(a, b, X):
    for name in ("n_iter_", "t_", "loss_", "loss_curve_", "best_loss_", "validation_scores_",
                 "validation_loss_curve_", "best_validation_score_", "n_features_in_",
                 "n_layers_", "n_outputs_", "out_activation_"):  # fmt: skip
        assert getattr(a, name) == getattr(b, name), name
    assert a.get_params() == b.get_params()
    for u, v in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    if hasattr(a, "predict_proba"):
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["setosa", "versicolor", "virginica"]),
        np.array(["a", "b", "c"], dtype=object),
        np.array([3, 7, 11]),
        np.array([1.0, 2.0, 4.0]),  # float labels: scikit-learn wants whole numbers
        np.array([True, False, True]),
    ],
)
def test_classifier_model_file_round_trip(tmp_path, iris, labels):
    X, y = iris
    target = labels[y]
    est = small(early_stopping=True, max_iter=20).fit(X.astype(np.float32), target)
    save(est, tmp_path / "clf.npz")
    back = load(tmp_path / "clf.npz")
    assert type(back) is MLPClassifier
    assert back.classes_.dtype == est.classes_.dtype
    assert [type(c) for c in back.classes_] == [type(c) for c in est.classes_]
    np.testing.assert_array_equal(back.classes_, est.classes_)
    assert back.predict(X).dtype == est.predict(X).dtype
    _same_fit(est, back, X)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_model_file_round_trip_multilabel_mean_and_regressor(tmp_path, iris):
    X, y = iris
    Y = np.column_stack([y == 0, y == 2]).astype(int)
    cases = [
        (small(n_members=2, ensemble="mean"), Y),
        (small(n_members=3, ensemble="best", class_weight={0: 1.0, 1: 2.0, 2: 1.0}), y),
        (small(MLPRegressor, max_iter=10), np.column_stack([X[:, 0], X[:, 1] ** 2])),
        (small(MLPRegressor, max_iter=10, n_members=2, ensemble="mean"), X[:, 0]),
    ]
    for i, (est, target) in enumerate(cases):
        est.fit(X, target)
        est.feature_names_in_ = np.array(["a", "b", "c", "d"], dtype=object)  # a frame's
        save(est, tmp_path / f"m{i}.npz")
        back = load(tmp_path / f"m{i}.npz")
        assert type(back) is type(est)
        _same_fit(est, back, X)
        np.testing.assert_array_equal(back.feature_names_in_, est.feature_names_in_)
        del back.feature_names_in_  # X below is an array: no names to check against
        back.set_params(warm_start=True, max_iter=2).fit(X, target)  # it trains on
        assert back.t_ == est.t_ + 2 * 150 and len(back.loss_curve_) == len(est.loss_curve_) + 2


def test_model_file_that_does_not_fit_is_refused(tmp_path, iris):
    X, y = iris
    est = small(max_iter=2).fit(X, y)
    net, info = est._to_model_file()
    with pytest.raises(ValueError, match="^estimator"):
        MLPClassifier._from_model_file(net, {**info, "classes_": [0, 1, 2, 3]})
    with pytest.raises(ValueError, match="^estimator"):
        MLPClassifier._from_model_file(net, {k: v for k, v in info.items() if k != "t_"})
    with pytest.raises(ValueError, match="^alpha"):
        MLPClassifier._from_model_file(net, {**info, "params": {**info["params"], "alpha": -1}})
