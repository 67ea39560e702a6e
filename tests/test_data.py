"""Built-in data sets, splits and the preprocessing that travels with a model.

Peers: scikit-learn's generators (moons, circles, blobs bit for bit) and its bundled data;
hand-worked numbers for Playground's sets and the standardisation; JSON round trips bit
for bit.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import sklearn.datasets as sk
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import train_test_split

import nnscratch.data as D
from nnscratch.data import Preprocessor, split, split_indices
from nnscratch.data.preprocessing import cross

# --- the data sets ---------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 7, 100, 5000])
@pytest.mark.parametrize("noise", [0.0, 0.1, 0.35])
@pytest.mark.parametrize("seed", [0, 42, 2**31])
def test_moons_equal_scikit_learn(n, noise, seed):
    X, y = D.make_moons(n, noise, seed)
    X_sk, y_sk = sk.make_moons(n, noise=noise, random_state=seed)
    np.testing.assert_array_equal(X, X_sk)
    np.testing.assert_array_equal(y, y_sk)
    assert X.dtype == np.float64 and y.dtype == np.intp


@pytest.mark.parametrize("seed", [0, 3])
def test_circles_and_blobs_equal_scikit_learn(seed):
    X, y = D.make_circles(301, 0.05, seed)
    X_sk, y_sk = sk.make_circles(301, noise=0.05, random_state=seed, factor=0.5)
    np.testing.assert_array_equal(X, X_sk)
    np.testing.assert_array_equal(y, y_sk)
    X, y = D.make_blobs(301, 0.7, seed, n_classes=4)
    X_sk, y_sk = sk.make_blobs(301, centers=4, n_features=2, cluster_std=0.7, random_state=seed)
    np.testing.assert_array_equal(X, X_sk)
    np.testing.assert_array_equal(y, y_sk)


def test_load_moons_is_the_tutorials_split():
    X, y = sk.make_moons(n_samples=5000, noise=0.1, random_state=42)
    expected = train_test_split(X, y, random_state=42)
    got = D.load_moons()
    assert [a.shape for a in got] == [(3750, 2), (1250, 2), (3750,), (1250,)]
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert got[2].dtype == np.intp


SHAPES = {  # name -> (X shape, number of classes or None for regression), default arguments
    "moons": ((5000, 2), 2),
    "circles": ((2000, 2), 2),
    "blobs": ((1500, 2), 3),
    "spiral": ((1500, 2), 3),
    "xor": ((500, 2), 2),
    "gauss": ((500, 2), 2),
    "plane": ((500, 2), None),
    "sine": ((500, 1), None),
    "digits": ((1797, 64), 10),
    "iris": ((150, 4), 3),
    "wine": ((178, 13), 3),
    "breast_cancer": ((569, 30), 2),
}


def test_every_name_is_listed_once_with_its_task():
    assert set(SHAPES) == set(D.TASKS)
    assert set(D.DATASETS) | set(D.REGRESSION_DATASETS) == set(D.TASKS)
    assert not set(D.DATASETS) & set(D.REGRESSION_DATASETS)
    assert {n for n, t in D.TASKS.items() if t == "regression"} == {"plane", "sine"}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shapes_types_and_determinism(name):
    shape, K = SHAPES[name]
    X, y = D.make_dataset(name)
    assert X.shape == shape and y.shape == (shape[0],) and X.dtype == np.float64
    if K is None:
        assert y.dtype == np.float64
    else:
        assert y.dtype == np.intp and set(np.unique(y)) == set(range(K))
    again = D.make_dataset(name)
    np.testing.assert_array_equal(X, again[0])
    np.testing.assert_array_equal(y, again[1])
    parts = D.load_dataset(name)
    assert parts[0].shape[0] + parts[1].shape[0] == shape[0]
    assert parts[1].shape[0] == int(np.ceil(0.25 * shape[0]))
    assert parts[2].dtype == y.dtype
    if name not in D.BUNDLED:  # a different seed, different data
        other = D.make_dataset(name, seed=7)
        assert not np.array_equal(X, other[0])


def test_bundled_sets_are_scikit_learns():
    X, y = D.bundled("digits")
    X_sk, y_sk = sk.load_digits(return_X_y=True)
    np.testing.assert_array_equal(X, X_sk / 16.0)
    assert X.max() == 1.0
    for name in ("iris", "wine", "breast_cancer"):
        X, y = D.bundled(name)
        X_sk, y_sk = getattr(sk, f"load_{name}")(return_X_y=True)
        np.testing.assert_array_equal(X, X_sk)
        np.testing.assert_array_equal(y, y_sk)


def test_generators_are_drawn_from_as_given_and_no_global_state():
    # the legacy global state is read on purpose: the data sets must not advance it
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    for name in ("moons", "circles", "blobs", "spiral", "xor", "gauss", "plane", "sine"):
        a = D.make_dataset(name, seed=np.random.default_rng(3), n_samples=50)
        b = D.make_dataset(name, seed=np.random.default_rng(3), n_samples=50)
        c = D.make_dataset(name, seed=np.random.SeedSequence(3), n_samples=50)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[0], c[0])  # a SeedSequence becomes default_rng(it)
        D.load_dataset(name, n_samples=50)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002


def test_spiral_is_the_books():
    """nnfs.datasets.spiral_data written out, with its np.random.randn from a Generator."""
    X, y = D.make_spiral(30, 0.2, 0, n_classes=3)
    rng = np.random.default_rng(0)
    for k in range(3):
        r = np.linspace(0.0, 1, 10)
        t = np.linspace(k * 4, (k + 1) * 4, 10) + rng.standard_normal(10) * 0.2
        np.testing.assert_array_equal(
            X[10 * k : 10 * (k + 1)], np.c_[r * np.sin(t * 2.5), r * np.cos(t * 2.5)]
        )
        assert (y[10 * k : 10 * (k + 1)] == k).all()
    X, y = D.make_spiral(31, 0.0, 0, n_classes=3)  # the remainder goes to the first arm
    assert np.bincount(y).tolist() == [11, 10, 10]
    np.testing.assert_allclose(np.hypot(*X[:11].T), np.linspace(0, 1, 11), atol=1e-15)


def test_playground_sets_by_hand():
    X, y = D.make_xor(2000, 0.0, 1)
    assert np.all(np.abs(X) >= 0.3) and np.all(np.abs(X) <= 5.3)  # the margin around the axes
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    noisy = D.make_xor(2000, 0.5, 1)[1]
    assert 0 < np.count_nonzero(noisy != y) < 1000  # the jitter flips some labels
    X, y = D.make_gauss(1001, 0.0, 1)
    assert np.bincount(y).tolist() == [500, 501] and (y[:501] == 1).all()
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(X[y == 0].var(axis=0), [0.5, 0.5], rtol=0.2)
    assert D.make_gauss(4000, 0.5, 1)[0][:2000].var(axis=0) == pytest.approx([4, 4], rel=0.1)
    X, y = D.make_plane(100, 0.0, 1)
    np.testing.assert_array_equal(y, X.sum(axis=1) / 10.0)
    assert np.abs(X).max() <= 6.0
    X, y = D.make_sine(100, 0.0, 1)
    np.testing.assert_array_equal(y, np.sin(X[:, 0]))


@pytest.mark.parametrize(
    "call",
    [
        lambda: D.make_moons(1, 0.1, 0),
        lambda: D.make_moons(10, -0.1, 0),
        lambda: D.make_xor(10, 0.1, -1),
        lambda: D.make_spiral(5, 0.1, 0, n_classes=3),
        lambda: D.load_dataset("nope"),
        lambda: D.make_dataset("iris", n_samples=3),
    ],
)
def test_bad_arguments_are_refused(call):
    with pytest.raises(ValueError, match="expected"):
        call()


GENERATORS = ["moons", "circles", "blobs", "spiral", "xor", "gauss", "plane", "sine"]


@pytest.mark.parametrize("name", GENERATORS)
def test_more_rows_than_memory_are_refused_before_drawing(name, monkeypatch):
    # a machine of 1 MiB: 10**5 rows (a few MB, harmless if drawn) do not fit there, as
    # 10**12 rows fit nowhere
    monkeypatch.setattr("nnscratch.core.checks.memory_bytes", lambda: 2**20)
    with pytest.raises(ValueError, match=r"^n_samples: expected sizes that fit in memory"):
        getattr(D, f"make_{name}")(n_samples=10**5)


def test_blobs_need_a_point_per_class():
    with pytest.raises(ValueError, match=r"^n_classes: expected at most n_samples \(1500\)"):
        D.make_blobs(n_classes=1501)  # 10**9 classes were a (10**9, 2) array of centres
    with pytest.raises(ValueError, match=r"^n_classes: expected at most n_samples \(10\)"):
        D.make_blobs(10, n_classes=11)
    X, y = D.make_blobs(10, n_classes=10)
    assert np.bincount(y).tolist() == [1] * 10


@pytest.mark.parametrize("name", GENERATORS)
def test_noise_that_would_overflow_is_refused(name):
    make = getattr(D, f"make_{name}")
    for noise in (1e308, np.inf, 1e7):
        with pytest.raises(ValueError, match=r"^noise: expected a finite number in \[0, 1e\+06\]"):
            make(n_samples=100, noise=noise)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning at the largest noise accepted
        X, y = make(n_samples=100, noise=D.synthetic.MAX_NOISE)
    assert np.all(np.isfinite(X)) and np.all(np.isfinite(y))


# --- splits ----------------------------------------------------------------------------


def test_split_sizes_strata_and_determinism():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    X = np.arange(100.0)[:, None]
    s = split(X, y, test=0.2, validation=0.1, seed=3)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (70, 10, 20)
    assert np.bincount(s.y_test).tolist() == [10, 6, 4]
    assert np.bincount(s.y_val).tolist() == [5, 3, 2]
    rows = np.concatenate([s.train_rows, s.val_rows, s.test_rows])
    assert sorted(rows) == list(range(100))
    np.testing.assert_array_equal(s.X_test[:, 0], s.test_rows)
    again = split(X, y, test=0.2, validation=0.1, seed=3)
    np.testing.assert_array_equal(s.test_rows, again.test_rows)
    assert not np.array_equal(s.test_rows, split(X, y, 0.2, 0.1, seed=4).test_rows)
    assert s.as_tuple()[1] is s.X_test


def test_split_regression_is_not_stratified_and_refuses_empty_training():
    y = np.linspace(0, 1, 10)
    train, val, test = split_indices(y, test=0.25, seed=0)
    assert (len(train), len(val), len(test)) == (7, 0, 3)
    np.testing.assert_array_equal(test, np.random.default_rng(0).permutation(10)[:3])
    with pytest.raises(ValueError, match="test: expected fractions that leave"):
        split_indices(y, test=0.5, validation=0.5)
    with pytest.raises(ValueError, match="test: expected a finite number in"):
        split_indices(y, test=1.5)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=2, max_size=60),
    st.floats(0.0, 0.45),
    st.floats(0.0, 0.45),
    st.integers(0, 2**32),
)
def test_split_property(labels, test, validation, seed):
    y = np.array(labels)
    n = y.size
    n_test, n_val = int(np.ceil(test * n)), int(np.ceil(validation * n))
    if n - n_test - n_val < 1:
        return
    train, val, test_rows = split_indices(y, test, validation, seed)
    assert (len(test_rows), len(val)) == (n_test, n_val)
    assert sorted(np.concatenate([train, val, test_rows]).tolist()) == list(range(n))
    counts = np.bincount(y, minlength=5)
    for k in range(5):  # each class within one row of its share
        assert abs(np.count_nonzero(y[test_rows] == k) - counts[k] * n_test / n) < 1 + 1e-9


# --- preprocessing ---------------------------------------------------------------------


def test_standardisation_is_fitted_on_training_rows_only():
    X_train = np.array([[1.0, 10.0], [3.0, 10.0]])
    X_test = np.array([[5.0, 12.0]])
    pre = Preprocessor().fit(X_train, ["a", "b"])
    np.testing.assert_array_equal(pre.mean_, [2.0, 10.0])
    np.testing.assert_array_equal(pre.scale_, [1.0, 1.0])  # b is constant: scale 1
    np.testing.assert_array_equal(pre.transform(X_train), [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(pre.transform(X_test), [[3.0, 2.0]])
    X, y = D.make_dataset("wine")
    splits, pre = D.prepare(D.Table.from_arrays(X, y))
    np.testing.assert_array_equal(pre.mean_, X[splits.train_rows].mean(axis=0))
    np.testing.assert_allclose(splits.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(splits.X_train.std(axis=0), 1, rtol=1e-12)
    assert abs(splits.X_test.mean(axis=0)).max() > 1e-3  # the test rows were not used


def test_table_from_arrays():
    t = D.Table.from_arrays(*D.make_dataset("blobs"))
    assert (t.task, t.classes, t.feature_names) == ("classification", (0, 1, 2), ("x1", "x2"))
    r = D.Table.from_arrays(*D.make_dataset("plane"))
    assert r.task == "regression" and r.classes is None
    s = D.Table.from_arrays(np.eye(3), ["b", "a", "b"], feature_names=("p", "q", "r"))
    assert s.y.tolist() == [1, 0, 1] and s.classes == ("a", "b")
    with pytest.raises(ValueError, match="expected at least 2 classes"):
        D.Table.from_arrays(np.eye(2), [1, 1])
    with pytest.raises(ValueError, match="feature_names: expected 3 names"):
        D.Table.from_arrays(np.eye(3), [0, 1, 0], feature_names=("p",))


def test_columns_by_name_in_any_order_and_others_refused():
    X = np.array([[1.0, 2.0, 3.0], [4.0, 6.0, 9.0], [0.0, 1.0, 0.0]])
    pre = Preprocessor().fit(X, ["a", "b", "c"])
    expected = pre.transform(X)
    np.testing.assert_array_equal(pre.transform(X[:, [2, 0, 1]], ["c", "a", "b"]), expected)
    with pytest.raises(ValueError, match=r"missing \['c'\], unknown \['d'\]"):
        pre.transform(X, ["a", "b", "d"])
    with pytest.raises(ValueError, match="X: expected 3 features"):
        pre.transform(X[:, :2], ["a", "b"])
    with pytest.raises(ValueError, match="feature_names"):
        pre.transform(X, ["a", "a", "b"])


def test_crosses_are_playgrounds():
    X = np.array([[0.5, -2.0], [1.0, 3.0]])
    np.testing.assert_array_equal(
        cross(X)[0], [0.5, -2.0, 0.25, 4.0, -1.0, np.sin(0.5), np.sin(-2.0)]
    )
    pre = Preprocessor(standardize=False, crosses=True).fit(X, ["u", "v"])
    assert pre.output_names == ("u", "v", "u^2", "v^2", "u*v", "sin(u)", "sin(v)")
    np.testing.assert_array_equal(pre.transform(X), cross(X))
    np.testing.assert_array_equal(pre.transform(X[:, ::-1], ["v", "u"]), cross(X))
    with pytest.raises(ValueError, match="crosses: expected data with 2 features"):
        Preprocessor(crosses=True).fit(np.ones((3, 3)))


def test_labels_encode_decode_and_unseen_refused():
    pre = Preprocessor().fit(np.eye(2), classes=("cat", "dog"))
    np.testing.assert_array_equal(pre.encode(["dog", "cat", "dog"]), [1, 0, 1])
    assert pre.decode([1, 0]).tolist() == ["dog", "cat"]
    with pytest.raises(ValueError, match="labels: expected one of the classes seen in training"):
        pre.encode(["cat", "cow"])
    with pytest.raises(ValueError, match="indices: expected class indices 0..1"):
        pre.decode([2])
    nums = Preprocessor().fit(np.eye(2), classes=(3, 7))
    np.testing.assert_array_equal(nums.encode(np.array([7, 3])), [1, 0])
    np.testing.assert_array_equal(nums.encode(np.array([7.0])), [1])
    assert nums.decode([1]).tolist() == [7]


floats = st.floats(-1e50, 1e50, allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(floats, floats), min_size=1, max_size=20), st.booleans(), st.booleans())
def test_header_round_trip_bit_for_bit(rows, standardize, crosses):
    X = np.array(rows)
    pre = Preprocessor(standardize, crosses).fit(X, ["x1", "x2"], classes=["no", "yes"])
    header = json.loads(json.dumps(pre.to_header(), allow_nan=False))
    back = Preprocessor.from_header(header)
    assert back.mean_.tobytes() == pre.mean_.tobytes()
    assert back.scale_.tobytes() == pre.scale_.tobytes()
    assert (back.feature_names_, back.classes_) == (pre.feature_names_, pre.classes_)
    assert (back.standardize, back.crosses) == (standardize, crosses)
    assert back.transform(X).tobytes() == pre.transform(X).tobytes()
    assert back.to_header() == pre.to_header()


def test_overflowing_moments_are_refused():
    X = np.array([[1e150, 1.0], [0.0, 2.0]])  # as hypothesis found: x1**2 overflows std
    with pytest.raises(ValueError, match="X: expected values whose standardisation is finite"):
        Preprocessor(crosses=True).fit(X)
    Preprocessor().fit(X)  # without crosses the moments fit


def test_header_damage_is_refused():
    good = Preprocessor().fit(np.eye(3), ["a", "b", "c"], classes=[0, 1]).to_header()
    for key, value, match in [
        ("format", "other", "header: expected a dict with format"),
        ("version", 2, r"header\['version'\]"),
        ("mean", [0.0, 1.0], r"header\['mean'\]: expected a list of 3 finite floats"),
        ("scale", [1.0, 0.0, 1.0], r"header\['scale'\]: expected numbers > 0"),
        ("features", ["a", "a", "b"], r"header\['features'\]"),
        ("classes", ["a"], r"header\['classes'\]: expected at least 2"),
        ("crosses", "yes", r"header\['crosses'\]: expected true or false"),
    ]:
        with pytest.raises(ValueError, match=match):
            Preprocessor.from_header({**good, key: value})
    with pytest.raises(ValueError, match="expected a fitted preprocessor"):
        Preprocessor().transform(np.eye(2))
