"""The pure-math module: softmax family, cross-entropy, one-hot (eq. (1), (2), (9))."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnscratch.core import functional as F

# logits (N, K) with 1..6 rows and 2..6 classes, magnitudes up to 1e4
logits_strategy = st.tuples(st.integers(1, 6), st.integers(2, 6)).flatmap(
    lambda shape: arrays(
        np.float64, shape, elements=st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
    )
)


def labels_for(z: np.ndarray, data) -> np.ndarray:
    n, k = z.shape
    return np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))


# --- hand-worked numbers --------------------------------------------------------------------


def test_softmax_tutorial_example():
    # SEED.md step 3: softmax([[10, 10], [1, 4]])
    out = F.softmax(np.array([[10.0, 10.0], [1.0, 4.0]]))
    np.testing.assert_allclose(out, [[0.5, 0.5], [0.04742587, 0.95257413]], rtol=0, atol=5e-9)
    # exactly: 1 / (1 + e^3) and e^3 / (1 + e^3)
    assert out[1, 0] == pytest.approx(1 / (1 + 20.085536923187668), rel=1e-15)


def test_softmax_does_not_modify_its_argument():
    z = np.array([[1.0, 2.0, 3.0]])
    F.softmax(z)
    F.log_softmax(z)
    np.testing.assert_array_equal(z, [[1.0, 2.0, 3.0]])


def test_logsumexp_hand_worked():
    # log(e^0 + e^0) = log 2; log(e^1000 + e^1000) = 1000 + log 2 (no overflow)
    z = np.array([[0.0, 0.0], [1000.0, 1000.0], [-1000.0, -1000.0]])
    np.testing.assert_allclose(
        F.logsumexp(z),
        [[0.6931471805599453], [1000.6931471805599453], [-999.3068528194400547]],
        rtol=1e-15,
    )
    assert F.logsumexp(z).shape == (3, 1)


def test_log_softmax_hand_worked():
    # [0, ln 3]: softmax = [1/4, 3/4]; log = [-ln 4, ln 3 - ln 4]
    z = np.array([[0.0, 1.0986122886681098]])
    np.testing.assert_allclose(
        F.log_softmax(z), [[-1.3862943611198906, -0.2876820724517809]], rtol=1e-14
    )


def test_cross_entropy_hand_worked():
    # row 0: equal logits, K = 2 -> ln 2 for either label
    # row 1: [0, ln 3] -> softmax [1/4, 3/4]; label 1 -> -ln(3/4) = 0.2876820724517809
    # row 2: the same logits, label 0 -> -ln(1/4) = 1.3862943611198906
    z = np.array([[2.0, 2.0], [0.0, 1.0986122886681098], [0.0, 1.0986122886681098]])
    y = np.array([1, 1, 0])
    np.testing.assert_allclose(
        F.cross_entropy(z, y),
        [0.6931471805599453, 0.2876820724517809, 1.3862943611198906],
        rtol=1e-14,
    )
    # four equal logits -> ln 4; [20, 0, 0, 0], label 0 -> ln(1 + 3 e^-20)
    np.testing.assert_allclose(
        F.cross_entropy(np.array([[5.0, 5.0, 5.0, 5.0], [20.0, 0.0, 0.0, 0.0]]), np.array([3, 0])),
        [1.3862943611198906, 6.183460848198079e-09],
        rtol=1e-14,
        atol=1e-14,  # logsumexp(z) - z_y loses digits below the ulp of 20 (3.6e-15)
    )


def test_cross_entropy_batched_leading_axes():
    # (P, N, K) logits with (P, N) labels -> (P, N)
    z = np.zeros((2, 3, 4))
    y = np.zeros((2, 3), dtype=int)
    np.testing.assert_allclose(F.cross_entropy(z, y), np.full((2, 3), math.log(4)))


def test_soft_cross_entropy_matches_hard_for_one_hot():
    z = np.array([[0.3, -1.2, 2.0], [1.0, 1.0, 0.0]])
    y = np.array([2, 0])
    np.testing.assert_allclose(
        F.soft_cross_entropy(z, F.one_hot(y, 3)), F.cross_entropy(z, y), rtol=1e-15
    )
    # uniform target on equal logits: -sum (1/3) log(1/3) = ln 3
    assert F.soft_cross_entropy(np.zeros((1, 3)), np.full((1, 3), 1 / 3))[0] == pytest.approx(
        1.0986122886681098, rel=1e-15
    )


def test_one_hot_tutorial_example():
    # SEED.md step 2
    out = F.one_hot(np.array([0, 1, 0, 1, 0]), 2)
    np.testing.assert_array_equal(out, [[1, 0], [0, 1], [1, 0], [0, 1], [1, 0]])
    assert out.dtype == np.float64


def test_one_hot_more_classes_and_dtype():
    out = F.one_hot(np.array([[2, 0], [1, 3]]), 4, dtype=np.float32)
    assert out.shape == (2, 2, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 0], [0, 0, 1, 0])
    np.testing.assert_array_equal(out[1, 1], [0, 0, 0, 1])
    np.testing.assert_array_equal(out.sum(axis=-1), np.ones((2, 2)))


# --- properties -------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(logits_strategy)
def test_softmax_rows_sum_to_one_and_are_finite(z):
    p = F.softmax(z)
    assert np.all(np.isfinite(p))
    assert np.all(p >= 0) and np.all(p <= 1)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    # the largest logit has the largest probability
    rows = np.arange(z.shape[0])
    assert np.all(p[rows, z.argmax(axis=-1)] == p.max(axis=-1))


@settings(max_examples=60, deadline=None)
@given(logits_strategy, st.data())
def test_softmax_shift_invariance(z, data):
    # eq. (2): adding a constant to each row changes nothing
    c = np.array(
        data.draw(st.lists(st.floats(-1e3, 1e3), min_size=z.shape[0], max_size=z.shape[0]))
    )[:, None]
    np.testing.assert_allclose(F.softmax(z + c), F.softmax(z), rtol=0, atol=1e-9)
    np.testing.assert_allclose(F.log_softmax(z + c), F.log_softmax(z), rtol=1e-9, atol=1e-8)
    y = labels_for(z, data)
    np.testing.assert_allclose(F.cross_entropy(z + c, y), F.cross_entropy(z, y), atol=1e-8)


@settings(max_examples=60, deadline=None)
@given(logits_strategy)
def test_log_softmax_finite_and_exp_sums_to_one(z):
    log_p = F.log_softmax(z)
    assert np.all(np.isfinite(log_p)) and np.all(log_p <= 0)
    np.testing.assert_allclose(np.exp(log_p).sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    lse = F.logsumexp(z)
    assert np.all(np.isfinite(lse)) and np.all(lse[:, 0] >= z.max(axis=-1))


@settings(max_examples=60, deadline=None)
@given(logits_strategy)
def test_log_softmax_equals_log_of_softmax_where_not_tiny(z):
    p = F.softmax(z)
    ok = p > 1e-200
    np.testing.assert_allclose(F.log_softmax(z)[ok], np.log(p[ok]), rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(logits_strategy, st.data())
def test_cross_entropy_non_negative_finite_and_consistent(z, data):
    y = labels_for(z, data)
    ce = F.cross_entropy(z, y)
    assert ce.shape == (z.shape[0],)
    assert np.all(np.isfinite(ce)) and np.all(ce >= 0)
    rows = np.arange(z.shape[0])
    np.testing.assert_allclose(ce, -F.log_softmax(z)[rows, y], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        F.soft_cross_entropy(z, F.one_hot(y, z.shape[1])), ce, rtol=1e-12, atol=1e-9
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=20))
def test_one_hot_property(labels):
    y = np.array(labels)
    out = F.one_hot(y, 7)
    assert out.shape == (len(labels), 7)
    np.testing.assert_array_equal(out.argmax(axis=-1), y)
    np.testing.assert_array_equal(out.sum(axis=-1), 1.0)


# --- the speed tricks compute the plain formulas --------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.tuples(st.integers(1, 40), st.integers(1, 30), st.integers(1, 12)),
    st.sampled_from([np.maximum, np.add]),
    st.integers(0, 2**32 - 1),
)
def test_reduce_rows_equals_the_plain_reduction_to_the_bit(shape, ufunc, seed):
    # (P, N, K) on both sides of the switch to columns (K <= 7 and rows >= 64 K): 1 to 1200
    # rows; up to 7 columns NumPy adds in the columns' order, beyond that it is the plain way
    z = np.random.default_rng(seed).normal(scale=50.0, size=shape)
    got, want = F.reduce_rows(ufunc, z), ufunc.reduce(z, axis=-1, keepdims=True)
    assert got.shape == want.shape == (*shape[:-1], 1)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("K", [2, 5, 7])
def test_reduce_rows_by_columns_for_many_rows_of_few_classes(K, monkeypatch):
    z = np.random.default_rng(K).normal(size=(64 * K, K))  # just enough rows for columns
    calls = []
    reduce = F.functools.reduce
    monkeypatch.setattr(F.functools, "reduce", lambda *a: calls.append(1) or reduce(*a))
    for ufunc in (np.maximum, np.add):
        np.testing.assert_array_equal(F.reduce_rows(ufunc, z), ufunc.reduce(z, -1, keepdims=True))
    assert len(calls) == 2  # both by columns
    F.reduce_rows(np.add, z[1:])  # one row fewer: the plain way
    F.reduce_rows(np.add, np.ones((1000, 8)))  # 8 classes: the plain way
    assert len(calls) == 2


@pytest.mark.parametrize("shape", [(5, 3), (4, 6, 3), (2, 3, 4, 2)])
def test_nll_picks_each_rows_label_and_broadcasts_labels(shape):
    rng = np.random.default_rng(0)
    log_p = F.log_softmax(rng.normal(size=shape))
    y = rng.integers(0, shape[-1], size=shape[:-1])
    want = -np.take_along_axis(log_p, y[..., None], axis=-1)[..., 0]
    np.testing.assert_array_equal(F.nll(log_p, y), want)
    # labels shared by every leading index: (N,) against (..., N, K)
    shared = y.reshape(-1, shape[-2])[0]
    want = -np.take_along_axis(log_p, np.broadcast_to(shared, shape[:-1])[..., None], -1)
    np.testing.assert_array_equal(F.nll(log_p, shared), want[..., 0])


def test_nll_hand_worked_with_lists_booleans_and_floats():
    log_p = np.log([[0.25, 0.75], [0.6, 0.4]])  # two rows, two classes
    np.testing.assert_allclose(F.nll(log_p, [1, 0]), [-math.log(0.75), -math.log(0.6)])
    # booleans are the labels 0 and 1, not a mask (with N == K a mask would also fit)
    np.testing.assert_allclose(F.nll(log_p, np.array([True, False])), F.nll(log_p, [1, 0]))
    with pytest.raises(TypeError):  # a float is not a label
        F.nll(log_p, np.array([1.0, 0.0]))
