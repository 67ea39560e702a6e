"""Bad input fails loudly, before any work: a ValueError naming the argument, what was
expected and what was given; a failed call leaves the network exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnscratch as nns
from nnscratch.core import checks as V

SIZES = [3, 5, 4]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(10, 3)), np.arange(10) % 4


def snapshot(net):
    return {k: v.copy() for k, v in net.population_params.items()}


def assert_unchanged(net, before):
    for k, v in net.population_params.items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)


# --- fit: every bad argument is refused and nothing trains -----------------------------------

X0 = np.random.default_rng(0).normal(size=(10, 3))
Y0 = np.arange(10) % 4
X_NAN = X0.copy()
X_NAN[3, 1] = np.nan
X_INF = X0.copy()
X_INF[0, 0] = -np.inf

BAD_FIT = [
    # (X, y, kwargs, pattern the message must match)
    (X0[0], Y0, {}, r"^X: expected a 2-D array.*got an array of shape \(3,\)"),
    (X0[None], Y0, {}, r"^X: expected a 2-D array.*got an array of shape \(1, 10, 3\)"),
    (np.zeros((0, 3)), Y0[:0], {}, r"^X: expected .*N >= 1.*shape \(0, 3\)"),
    ([["a", "b", "c"]], [0], {}, r"^X: expected a 2-D array of numbers.*'a'"),
    (X_NAN, Y0, {}, r"^X: expected finite values, got 1 NaN or infinite"),
    (X_INF, Y0, {}, r"^X: expected finite values, got 1 NaN or infinite"),
    (X0[:, :2], Y0, {}, r"^X: expected 3 features \(columns\), got an array of shape \(10, 2\)"),
    (X0, Y0[:7], {}, r"^y: expected .*10 labels.*got an array of shape \(7,\)"),
    (X0, Y0 + 1, {}, r"^y: expected integer class indices 0\.\.3, got values from 1 to 4"),
    (X0, Y0 - 1, {}, r"^y: expected integer class indices 0\.\.3, got values from -1 to 2"),
    (X0, Y0 + 0.5, {}, r"^y: expected integer class indices 0\.\.3, got .*float64"),
    (X0, np.full(10, np.nan), {}, r"^y: expected integer class indices 0\.\.3"),
    (X0, np.array(list("abcdefghij")), {}, r"^y: expected integer class indices 0\.\.3"),
    (X0, Y0, {"epochs": 0}, r"^epochs: expected an integer >= 1, got 0$"),
    (X0, Y0, {"epochs": 2.5}, r"^epochs: expected an integer >= 1, got 2\.5$"),
    (X0, Y0, {"epochs": True}, r"^epochs: expected an integer >= 1, got True$"),
    (X0, Y0, {"batch_size": 0}, r"^batch_size: expected an integer >= 1, got 0$"),
    (X0, Y0, {"batch_size": -4}, r"^batch_size: expected an integer >= 1, got -4$"),
    (X0, Y0, {"batch_size": 2.0}, r"^batch_size: expected an integer >= 1, got 2\.0$"),
    (X0, Y0, {"batch_size": False}, r"^batch_size: expected an integer >= 1, got False$"),
    (X0, Y0, {"optimizer": "sgd"}, r"^optimizer: expected an nnscratch Optimizer.*'sgd'"),
    (X0, Y0, {"seed": -3}, r"^seed: expected a non-negative integer.*got -3$"),
    (X0, Y0, {"seed": 1.5}, r"^seed: expected a non-negative integer.*got 1\.5$"),
    (X0, Y0, {"validation_split": 1.0}, r"^validation_split: expected .*\[0, 1\), got 1\.0"),
    (X0, Y0, {"validation_split": -0.1}, r"^validation_split: expected .*got -0\.1"),
    (X0, Y0, {"validation_split": 0.01}, r"^validation_split: expected .*1\.\.9 validation rows"),
    (X0, Y0, {"validation_data": X0}, r"^validation_data: expected .*\(X_val, y_val"),
    (X0, Y0, {"validation_data": (X0, Y0 + 4)}, r"^y_val: expected integer class indices 0\.\.3"),
    (X0, Y0, {"validation_data": (X0[:, :2], Y0)}, r"expected 3 features"),
    (
        X0,
        Y0,
        {"validation_data": (X0, Y0), "validation_split": 0.2},
        r"^validation_split: expected 0 when validation_data is given, got 0\.2",
    ),
]


@pytest.mark.parametrize("X, y, kwargs, pattern", BAD_FIT)
@pytest.mark.parametrize("population", [None, 2])
def test_bad_fit_arguments_raise_and_nothing_trains(X, y, kwargs, pattern, population):
    net = nns.MLP(SIZES, seed=0, population=population)
    before = snapshot(net)
    kwargs = {"epochs": 2, **kwargs}
    with pytest.raises(ValueError, match=pattern):
        net.fit(X, y, **kwargs)
    assert_unchanged(net, before)


def test_a_failed_fit_leaves_no_trace(data):
    # the default shuffle streams advance once per fit call; a refused call must not count
    X, y = data
    clean = nns.MLP(SIZES, seed=3, population=2)
    failed = nns.MLP(SIZES, seed=3, population=2)
    for bad in ({"validation_split": 0.01}, {"validation_data": X}, {"epochs": 0}):
        with pytest.raises(ValueError):
            failed.fit(X, y, batch_size=3, **bad)
    clean.fit(X, y, epochs=2, batch_size=3)
    failed.fit(X, y, epochs=2, batch_size=3)
    for k, v in clean.population_params.items():
        np.testing.assert_array_equal(failed.population_params[k], v)


def test_wrong_number_of_learning_rates_nothing_trains(data):
    X, y = data
    net = nns.MLP(SIZES, seed=0, population=3)
    before = snapshot(net)
    with pytest.raises(ValueError, match=r"^lr: expected a scalar or an array of shape \(3,\)"):
        net.fit(X, y, optimizer=nns.SGD(lr=np.array([0.1, 0.2])))
    assert_unchanged(net, before)


# --- prediction and evaluation -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function"])
def test_prediction_checks_X(method, data):
    X, _ = data
    net = nns.MLP(SIZES, seed=0)
    with pytest.raises(ValueError, match=r"^X: expected 3 features \(columns\), got an array"):
        getattr(net, method)(X[:, :2])
    with pytest.raises(ValueError, match=r"^X: expected finite values"):
        getattr(net, method)(X_NAN)
    with pytest.raises(ValueError, match=r"^X: expected a 2-D array"):
        getattr(net, method)(X[0])


@pytest.mark.parametrize("method", ["loss", "score", "gradients"])
def test_evaluation_checks_y(method, data):
    X, y = data
    net = nns.MLP(SIZES, seed=0)
    with pytest.raises(ValueError, match=r"^y: expected .*10 labels.*shape \(3,\)"):
        getattr(net, method)(X, y[:3])
    with pytest.raises(ValueError, match=r"^y: expected integer class indices 0\.\.3, got values"):
        getattr(net, method)(X, y + 4)


# --- construction ------------------------------------------------------------------------------

BAD_MLP = [
    ({"sizes": [3]}, r"^sizes: expected a list of at least two layer widths.*got \[3\]"),
    ({"sizes": "35"}, r"^sizes: expected a list .*got '35'"),
    ({"sizes": 5}, r"^sizes: expected a list .*got 5$"),
    ({"sizes": None}, r"^sizes: expected a list .*got None$"),
    ({"sizes": [3, 0, 4]}, r"^sizes\[1\]: expected an integer >= 1, got 0$"),
    ({"sizes": [3, 2.5, 4]}, r"^sizes\[1\]: expected an integer >= 1, got 2\.5$"),
    ({"sizes": [3, True, 4]}, r"^sizes\[1\]: expected an integer >= 1, got True$"),
    ({"sizes": [3, 5, -4]}, r"^sizes\[2\]: expected an integer >= 1, got -4$"),
    ({"seed": -1}, r"^seed: expected a non-negative integer, a SeedSequence or None, got -1$"),
    ({"seed": 1.5}, r"^seed: expected a non-negative integer.*got 1\.5$"),
    ({"seed": "a"}, r"^seed: expected a non-negative integer.*got 'a'$"),
    ({"seed": True}, r"^seed: expected a non-negative integer.*got True$"),
    ({"seed": [1, 2], "population": 3}, r"^seed: expected one seed per member \(3\), got \[1, 2\]"),
    ({"seed": [1, 2]}, r"^seed: expected one seed per member \(1\), got \[1, 2\]"),
    ({"seed": [1, -2], "population": 2}, r"^seed: expected a non-negative integer.*got -2$"),
    ({"population": 0}, r"^population: expected an integer >= 1, got 0$"),
    ({"population": -2}, r"^population: expected an integer >= 1, got -2$"),
    ({"population": 2.0}, r"^population: expected an integer >= 1, got 2\.0$"),
    ({"population": True}, r"^population: expected an integer >= 1, got True$"),
    ({"dtype": int}, r"^dtype: expected float32 or float64, got <class 'int'>"),
    ({"dtype": np.float16}, r"^dtype: expected float32 or float64, got .*float16"),
    ({"dtype": "banana"}, r"^dtype: expected float32 or float64, got 'banana'$"),
    ({"width": 0}, r"^width: expected integers 1\.\.hidden size.*got 0$"),
    ({"width": 6}, r"^width: expected integers 1\.\.hidden size.*got 6$"),
    ({"width": 2.5}, r"^width: expected integers 1\.\.hidden size.*got 2\.5$"),
    ({"width": True}, r"^width: expected integers 1\.\.hidden size.*got True$"),
    ({"width": "3"}, r"^width: expected integers.*got '3'$"),
    ({"width": [2, 3], "population": 3}, r"^width: expected .*shape \(3,\) or \(3, 1\).*\[2, 3\]"),
    ({"init_scale": -1}, r"^init_scale: expected a finite number in \[0, inf\].*got -1$"),
    ({"init_scale": np.nan}, r"^init_scale: expected a finite number.*got nan$"),
    ({"init_scale": [1, 2], "population": 3}, r"^init_scale: expected .*shape \(3,\).*\[1, 2\]"),
]


@pytest.mark.parametrize("kwargs, pattern", BAD_MLP)
def test_bad_constructor_arguments(kwargs, pattern):
    kwargs = dict(kwargs)
    sizes = kwargs.pop("sizes", SIZES)
    with pytest.raises(ValueError, match=pattern):
        nns.MLP(sizes, **kwargs)


def test_unknown_names_list_the_accepted_ones():
    with pytest.raises(ValueError, match=r"^activation: expected one of: .*relu.*tanh.*'relux'"):
        nns.MLP(SIZES, activation="relux")
    with pytest.raises(ValueError, match=r"^activation: expected one of: .*got None$"):
        nns.MLP(SIZES, activation=None)
    with pytest.raises(ValueError, match=r"^init: expected one of: .*glorot.*he.*'kaiming'$"):
        nns.MLP(SIZES, init="kaiming")
    with pytest.raises(ValueError, match=r"^bias_init: expected one of: .*zeros.*'kaiming'$"):
        nns.MLP(SIZES, bias_init="kaiming")
    with pytest.raises(ValueError, match=r"^loss: expected one of: .*cross_entropy.*'hinge2'$"):
        nns.MLP(SIZES, loss="hinge2")


def test_every_listed_activation_name_is_accepted():
    with pytest.raises(ValueError) as info:
        nns.MLP(SIZES, activation="no-such-activation")
    names = str(info.value).split("one of: ")[1].split(", got")[0].split(", ")
    assert "relu" in names and len(names) >= 5
    for name in names:
        assert nns.MLP(SIZES, activation=name, seed=0).activation.name == name


BAD_LR = [
    (0, r"^lr: expected a finite number in \(0, inf\]"),
    (-1, r"^lr: expected .*got -1$"),
    (np.nan, r"^lr: expected .*got nan$"),
    (np.inf, r"^lr: expected .*got inf$"),
    (True, r"^lr: expected .*got True$"),
    ("fast", r"^lr: expected .*got 'fast'$"),
    (np.array([0.1, -0.1]), r"^lr: expected .*array of shape \(2,\)"),
    (np.ones((2, 2)), r"^lr: expected .*shape \(2, 2\)"),
]


@pytest.mark.parametrize("lr, pattern", BAD_LR)
def test_bad_learning_rates(lr, pattern):
    with pytest.raises(ValueError, match=pattern):
        nns.SGD(lr=lr)


def test_member_and_select_indices():
    net = nns.MLP(SIZES, seed=0, population=2)
    with pytest.raises(ValueError, match=r"^members: expected member indices 0\.\.1, got \[5\]"):
        net.member(5)
    with pytest.raises(ValueError, match=r"^p: expected an integer >= 0, got -1$"):
        net.member(-1)
    with pytest.raises(ValueError, match=r"^members: expected member indices 0\.\.1, got \[\]"):
        net.select([])
    with pytest.raises(ValueError, match=r"^members: expected member indices 0\.\.1, got \[2\]"):
        net.select([2])
    # no silent casts: 1.5 is not member 1, a boolean mask is not a list of indices
    with pytest.raises(ValueError, match=r"^members: expected member indices 0\.\.1, got \[1\.5\]"):
        net.select([1.5])
    with pytest.raises(ValueError, match=r"^members: expected member indices 0\.\.1, got .*bool"):
        net.select(np.array([True, False]))
    assert net.select(np.array([1], dtype=np.uint8)).population == 1


def test_width_without_a_hidden_layer_is_refused():
    with pytest.raises(ValueError, match=r"^width: expected .*got 2$"):
        nns.MLP([3, 4], width=2)
    assert nns.MLP([3, 4], seed=0).params["W1"].shape == (3, 4)


# --- the helpers themselves -------------------------------------------------------------------


def test_fail_message_format():
    err = V.fail("alpha", "a number in [0, 1]", 7)
    assert isinstance(err, ValueError)
    assert str(err) == "alpha: expected a number in [0, 1], got 7"
    assert str(V.fail("X", "2-D", np.zeros((2, 3, 4)))) == (
        "X: expected 2-D, got an array of shape (2, 3, 4) and dtype float64"
    )
    long = V.fail("s", "short", "x" * 200)
    assert len(str(long)) < 100 and str(long).endswith("...")


def test_check_int():
    assert V.check_int("n", 3) == 3 and type(V.check_int("n", np.int64(3))) is int
    assert V.check_int("n", 0, minimum=0) == 0
    for bad in (0, -1, 2.5, 2.0, True, "3", None):
        with pytest.raises(ValueError, match=r"^n: expected an integer >= 1"):
            V.check_int("n", bad)


def test_check_range_and_positive():
    assert V.check_range("a", 0.5, low=0.0, high=1.0) == 0.5
    assert V.check_range("a", 1.0, low=0.0, high=1.0) == 1.0
    with pytest.raises(ValueError, match=r"^a: expected a finite number in \[0, 1\), got 1\.0$"):
        V.check_range("a", 1.0, low=0.0, high=1.0, high_open=True)
    out = V.check_positive("lr", [0.1, 0.2], population=2)
    assert isinstance(out, np.ndarray) and out.shape == (2,) and out.dtype == np.float64
    with pytest.raises(ValueError, match=r"^lr: expected .*shape \(3,\)"):
        V.check_positive("lr", [0.1, 0.2], population=3)
    with pytest.raises(ValueError, match=r"^lr: expected .*\(0, inf\]"):
        V.check_positive("lr", [0.1, 0.2])  # an array where only a scalar is allowed


def test_check_X_and_labels():
    X = V.check_X([[1, 2], [3, 4]])
    assert X.dtype == np.float64 and X.shape == (2, 2)
    assert V.check_X([[1, 2]], dtype=np.float32).dtype == np.float32
    y = V.check_labels(np.array([0.0, 2.0, 1.0]), 3, 3)
    assert np.issubdtype(y.dtype, np.integer) and y.tolist() == [0, 2, 1]
    with pytest.raises(ValueError, match=r"^labels: expected integer class indices 0\.\.1"):
        V.check_labels([0, 1, 2], 3, 2, name="labels")


def test_check_choice():
    assert V.check_choice("mode", "a", {"a", "b"}) == "a"
    with pytest.raises(ValueError, match=r"^mode: expected one of: a, b, got 'c'$"):
        V.check_choice("mode", "c", {"b", "a"})
    with pytest.raises(ValueError, match=r"^mode: expected one of: a, b, got 1$"):
        V.check_choice("mode", 1, {"b", "a"})


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
        elements=st.floats(allow_nan=True, allow_infinity=True),
    )
)
def test_all_finite_agrees_with_isfinite(arr):
    """The fast finiteness check (a sum in the array's dtype, the exact test when it is not
    finite) never disagrees, also where finite float32 entries overflow a float32 sum."""
    assert V.all_finite(arr) == bool(np.all(np.isfinite(arr)))
    with np.errstate(over="ignore"):  # large doubles become float32 infinities
        small = arr.astype(np.float32)
    assert V.all_finite(small) == bool(np.all(np.isfinite(small)))
    huge = np.concatenate([small.ravel(), np.full(3, 3e38, dtype=np.float32)])
    assert V.all_finite(huge) == bool(np.all(np.isfinite(small)))


def test_sizes_may_be_an_array():
    net = nns.MLP(np.array([2, 3, 2]), seed=0)
    assert net.sizes == [2, 3, 2] and all(type(s) is int for s in net.sizes)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"callbacks": [1]}, "callbacks"),
        ({"callbacks": nns.Callback()}, "callbacks"),
        ({"shuffle": "no"}, "shuffle"),
    ],
)
def test_bad_fit_options_train_nothing(kwargs, name):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 2)), rng.integers(0, 2, size=10)
    net = nns.MLP([2, 3, 2], seed=0)
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        net.fit(X, y, epochs=1, **kwargs)
    for key, value in before.items():
        np.testing.assert_array_equal(net.params[key], value)


def test_validation_data_errors_name_the_validation_arrays():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 2)), rng.integers(0, 2, size=10)
    net = nns.MLP([2, 3, 2], seed=0)
    with pytest.raises(ValueError, match="^X_val: expected 2 features"):
        net.fit(X, y, epochs=1, validation_data=(rng.normal(size=(4, 3)), y[:4]))
    with pytest.raises(ValueError, match="^y_val: expected"):
        net.fit(X, y, epochs=1, validation_data=(X[:4], y[:3]))
