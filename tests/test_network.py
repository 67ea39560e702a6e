"""The MLP: gradient checks, shapes, one hand-worked SGD step, float32, seeding."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_blobs
from helpers import central_differences

import nnscratch as nns
from nnscratch.core.init import Normal
from nnscratch.core.losses import SoftmaxCrossEntropy

ACTIVATIONS = [
    "relu",
    "tanh",
    "sigmoid",
    "gelu",
    "elu",
    "leaky_relu",
    "softplus",
    "silu",
    "identity",
]
SIZES = [[3, 5, 4], [3, 6, 5, 4], [2, 4, 4, 4, 3]]


def data_for(sizes, n=12, seed=1):
    return make_blobs(n=n, n_features=sizes[0], n_classes=sizes[-1], seed=seed)


def numeric_gradients(net, X, y):
    """Central differences of ``net.loss`` for every parameter entry, ``(P, ...)`` each."""
    return central_differences(lambda: np.atleast_1d(net.loss(X, y)), net.population_params, lead=1)


def assert_gradients_match(net, X, y):
    analytic = {k: np.asarray(v) for k, v in net.gradients(X, y).items()}
    numeric = numeric_gradients(net, X, y)
    assert set(analytic) == set(numeric)
    for key, g in numeric.items():
        a = analytic[key].reshape(g.shape)  # a single network shows plain shapes
        np.testing.assert_allclose(a, g, rtol=1e-5, atol=1e-7, err_msg=key)
        assert np.any(g != 0), f"{key}: a gradient check on an all-zero gradient proves nothing"


# --- gradient checks ------------------------------------------------------------------------


@pytest.mark.parametrize("sizes", SIZES, ids=str)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_check_single(sizes, activation):
    X, y = data_for(sizes)
    net = nns.MLP(sizes, activation=activation, bias_init=Normal(0.1), seed=3)
    assert_gradients_match(net, X, y)


@pytest.mark.parametrize("sizes", SIZES, ids=str)
@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_gradient_check_population(sizes, activation):
    X, y = data_for(sizes)
    net = nns.MLP(sizes, activation=activation, bias_init=Normal(0.1), seed=4, population=3)
    assert_gradients_match(net, X, y)


@pytest.mark.parametrize(
    "sizes, width",
    [
        ([3, 6, 4], [2, 4, 6]),
        ([3, 6, 5, 4], [[2, 3], [6, 5], [4, 1]]),
        ([2, 4, 4, 4, 3], [[1, 2, 3], [4, 4, 4], [3, 1, 4]]),
    ],
    ids=["one-hidden", "two-hidden", "three-hidden"],
)
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "silu"])
def test_gradient_check_population_with_width_masks(sizes, width, activation):
    X, y = data_for(sizes)
    net = nns.MLP(
        sizes, activation=activation, bias_init=Normal(0.1), seed=5, population=3, width=width
    )
    analytic = net.gradients(X, y)
    numeric = numeric_gradients(net, X, y)
    for key in numeric:
        np.testing.assert_allclose(analytic[key], numeric[key], rtol=1e-5, atol=1e-7, err_msg=key)
    # masked units: no gradient at all, in either direction
    w = np.broadcast_to(np.asarray(width).reshape(3, -1), (3, len(sizes) - 2))
    for p in range(3):
        for k in range(len(sizes) - 2):
            assert np.all(analytic[f"W{k + 1}"][p, :, w[p, k] :] == 0)
            assert np.all(analytic[f"b{k + 1}"][p, w[p, k] :] == 0)
            assert np.all(analytic[f"W{k + 2}"][p, w[p, k] :, :] == 0)


def test_members_do_not_leak_into_each_other():
    sizes = [3, 6, 5, 4]
    X, y = data_for(sizes)
    net = nns.MLP(sizes, seed=6, population=3)
    loss0 = net.loss(X, y)
    grads0 = {k: v.copy() for k, v in net.gradients(X, y).items()}
    net.params["W2"][1] += 0.5  # change member 1 only
    loss1 = net.loss(X, y)
    grads1 = net.gradients(X, y)
    assert loss1[1] != loss0[1]
    assert loss1[0] == loss0[0] and loss1[2] == loss0[2]
    for k in grads0:
        np.testing.assert_array_equal(grads1[k][[0, 2]], grads0[k][[0, 2]])


def test_sum_reduction_gradient_is_n_times_mean():
    X, y = data_for([3, 5, 4], n=7)
    mean_net = nns.MLP([3, 5, 4], seed=2)
    sum_net = nns.MLP([3, 5, 4], seed=2, loss=SoftmaxCrossEntropy(reduction="sum"))
    assert sum_net.loss(X, y) == pytest.approx(7 * mean_net.loss(X, y), rel=1e-14)
    g_mean, g_sum = mean_net.gradients(X, y), sum_net.gradients(X, y)
    for k in g_mean:
        np.testing.assert_allclose(g_sum[k], 7 * g_mean[k], rtol=1e-13, atol=1e-15)
    assert_gradients_match(sum_net, X, y)


def test_backward_leaves_dz_alone():
    X, _ = data_for([3, 5, 4])
    net = nns.MLP([3, 6, 5, 4], seed=0, population=2)
    z = net.forward(X)
    dz = np.ones_like(z)
    net.backward(dz)
    np.testing.assert_array_equal(dz, np.ones_like(z))


# --- shapes ----------------------------------------------------------------------------------


def test_shapes_single_network(moons):
    X, y = moons
    net = nns.MLP([2, 64, 2], seed=0)
    assert net.population is None and net.n_members == 1
    expected = {"W1": (2, 64), "b1": (64,), "W2": (64, 2), "b2": (2,)}
    assert {k: v.shape for k, v in net.params.items()} == expected
    assert {k: v.shape for k, v in net.gradients(X, y).items()} == expected
    assert {k: v.shape for k, v in net.population_params.items()} == {
        k: (1, *s) for k, s in expected.items()
    }
    assert net.predict_proba(X).shape == (40, 2)
    assert net.decision_function(X).shape == (40, 2)
    assert net.predict(X).shape == (40,)
    assert isinstance(net.score(X, y), float)
    assert isinstance(net.loss(X, y), float)
    assert net.forward(X).shape == (1, 40, 2)


@pytest.mark.parametrize("P", [1, 5])
def test_shapes_population(moons, P):
    X, y = moons
    net = nns.MLP([2, 64, 2], seed=0, population=P)
    assert net.population == P and net.n_members == P
    expected = {"W1": (P, 2, 64), "b1": (P, 64), "W2": (P, 64, 2), "b2": (P, 2)}
    assert {k: v.shape for k, v in net.params.items()} == expected
    assert {k: v.shape for k, v in net.gradients(X, y).items()} == expected
    assert net.predict_proba(X).shape == (P, 40, 2)
    assert net.decision_function(X).shape == (P, 40, 2)
    assert net.predict(X).shape == (P, 40)
    assert net.score(X, y).shape == (P,)
    assert net.loss(X, y).shape == (P,)
    history = net.fit(X, y, epochs=2, batch_size=16, seed=0)
    assert history["loss"].shape == (2, P) and history.epochs == 2


def test_params_are_views():
    X, _ = data_for([3, 5, 4])
    net = nns.MLP([3, 5, 4], seed=0)
    before = net.decision_function(X)
    net.params["b2"][:] += 1.0  # adding 1 to every logit
    np.testing.assert_allclose(net.decision_function(X), before + 1.0, rtol=1e-14)


@pytest.mark.parametrize("P", [None, 3])
def test_predictions_are_consistent(blobs, P):
    X, y = blobs
    net = nns.MLP([3, 8, 4], seed=1, population=P)
    proba = net.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=-1), 1.0, rtol=0, atol=1e-14)
    assert np.all(proba >= 0)
    pred = net.predict(X)
    np.testing.assert_array_equal(pred, proba.argmax(axis=-1))
    np.testing.assert_array_equal(pred, net.decision_function(X).argmax(axis=-1))
    np.testing.assert_allclose(net.score(X, y), (pred == y).mean(axis=-1), rtol=0, atol=0)
    assert np.issubdtype(pred.dtype, np.integer)


# --- one hand-worked SGD step ----------------------------------------------------------------
#
# MLP([2, 2, 2], relu), mean cross-entropy, two samples, lr = 0.5:
#   X = [[1, 2], [2, -1]], y = [0, 1]
#   W1 = [[1, -1], [0.5, 1]], b1 = [0, 0.5], W2 = [[0.5, 0.75], [1, 0.25]], b2 = [-0.25, 0.375]
# forward:
#   A1 = X W1 + b1 = [[1 + 1, -1 + 2], [2 - 0.5, -2 - 1]] + b1 = [[2, 1.5], [1.5, -2.5]]
#   Z1 = relu(A1) = [[2, 1.5], [1.5, 0]]
#   A2 = Z1 W2 + b2 = [[1 + 1.5, 1.5 + 0.375], [0.75, 1.125]] + b2 = [[2.25, 2.25], [0.5, 1.5]]
#   Z2 = softmax(A2) = [[1/2, 1/2], [s, 1 - s]],  s = 1 / (1 + e) = 0.2689414213699951
# loss = (ln 2 + ln(1 + 1/e)) / 2 = (0.6931471805599453 + 0.31326168751822286) / 2
# backward, with q = s / 2 = 0.13447071068499755:
#   dA2 = (Z2 - Y) / 2 = [[-0.25, 0.25], [q, -q]]                              eq. (14)
#   dW2 = Z1^T dA2 = [[2(-0.25) + 1.5 q, 2(0.25) - 1.5 q], [1.5(-0.25), 1.5(0.25)]]  eq. (15)
#   db2 = [-0.25 + q, 0.25 - q]                                                eq. (16)
#   dZ1 = dA2 W2^T = [[-0.125 + 0.1875, -0.25 + 0.0625], [0.5 q - 0.75 q, q - 0.25 q]]
#       = [[0.0625, -0.1875], [-0.25 q, 0.75 q]]
#   dA1 = dZ1 * I[A1 > 0] = [[0.0625, -0.1875], [-0.25 q, 0]]                 eq. (17)
#   dW1 = X^T dA1 = [[0.0625 - 0.5 q, -0.1875], [0.125 + 0.25 q, -0.375]]
#   db1 = [0.0625 - 0.25 q, -0.1875]
# update, eq. (7): theta - 0.5 dtheta.

S = 0.2689414213699951  # 1 / (1 + e)
Q = 0.13447071068499755  # s / 2
X_HAND = np.array([[1.0, 2.0], [2.0, -1.0]])
Y_HAND = np.array([0, 1])
PARAMS_HAND = {
    "W1": [[1.0, -1.0], [0.5, 1.0]],
    "b1": [0.0, 0.5],
    "W2": [[0.5, 0.75], [1.0, 0.25]],
    "b2": [-0.25, 0.375],
}
GRADS_HAND = {
    "W1": [[0.0625 - 0.5 * Q, -0.1875], [0.125 + 0.25 * Q, -0.375]],
    "b1": [0.0625 - 0.25 * Q, -0.1875],
    "W2": [[-0.5 + 1.5 * Q, 0.5 - 1.5 * Q], [-0.375, 0.375]],
    "b2": [-0.25 + Q, 0.25 - Q],
}
UPDATED_HAND = {
    "W1": [[1 - 0.5 * (0.0625 - 0.5 * Q), -1 + 0.09375], [0.5 - 0.5 * (0.125 + 0.25 * Q), 1.1875]],
    "b1": [-0.5 * (0.0625 - 0.25 * Q), 0.59375],
    "W2": [[0.5 - 0.5 * (-0.5 + 1.5 * Q), 0.75 - 0.5 * (0.5 - 1.5 * Q)], [1.1875, 0.0625]],
    "b2": [-0.25 - 0.5 * (-0.25 + Q), 0.375 - 0.5 * (0.25 - Q)],
}


def hand_network(dtype=np.float64):
    net = nns.MLP([2, 2, 2], activation="relu", seed=0, dtype=dtype)
    for key, value in PARAMS_HAND.items():
        net.params[key][...] = value
    return net


def test_hand_worked_forward_loss_and_gradients():
    net = hand_network()
    np.testing.assert_array_equal(net.decision_function(X_HAND), [[2.25, 2.25], [0.5, 1.5]])
    proba = net.predict_proba(X_HAND)
    assert proba[0, 0] == 0.5 and proba[0, 1] == 0.5
    np.testing.assert_allclose(proba[1], [S, 1 - S], rtol=1e-15)
    hidden = net.layers[1].h[0]  # the ReLU layer's output Z1 (N,H)
    np.testing.assert_array_equal(hidden, [[2.0, 1.5], [1.5, 0.0]])
    expected_loss = (0.6931471805599453 + 0.31326168751822286) / 2
    assert net.loss(X_HAND, Y_HAND) == pytest.approx(expected_loss, rel=1e-15)
    grads = net.gradients(X_HAND, Y_HAND)
    for key, g in GRADS_HAND.items():
        np.testing.assert_allclose(grads[key], g, rtol=1e-14, atol=1e-16, err_msg=key)
    # the entries that do not involve s are binary fractions, right to the last bit or two
    # (the fused loss takes probabilities as exp(log_softmax), 0.5 to within one ulp)
    exact = {("W2", 1, 0): -0.375, ("W2", 1, 1): 0.375, ("W1", 0, 1): -0.1875}
    for (key, i, j), value in exact.items():
        assert grads[key][i, j] == pytest.approx(value, rel=1e-15, abs=0)
    assert grads["W1"][1, 1] == pytest.approx(-0.375, rel=1e-15, abs=0)
    assert grads["b1"][1] == pytest.approx(-0.1875, rel=1e-15, abs=0)


def test_hand_worked_sgd_step_through_fit():
    net = hand_network()
    history = net.fit(
        X_HAND, Y_HAND, epochs=1, batch_size=2, optimizer=nns.SGD(lr=0.5), shuffle=False
    )
    for key, value in UPDATED_HAND.items():
        np.testing.assert_allclose(net.params[key], value, rtol=1e-14, atol=1e-16, err_msg=key)
    for (key, *at), value in {
        ("W1", 1, 1): 1.1875,
        ("b1", 1): 0.59375,
        ("W2", 1, 0): 1.1875,
        ("W2", 1, 1): 0.0625,
    }.items():
        assert net.params[key][tuple(at)] == pytest.approx(value, rel=1e-15, abs=0)
    # the history holds the loss and accuracy seen during the step (before the update)
    assert history["loss"][0, 0] == pytest.approx((0.6931471805599453 + 0.31326168751822286) / 2)
    # sample 0: tie -> argmax picks class 0 (right); sample 1: class 1 (right)
    assert history["accuracy"][0, 0] == 1.0


def test_hand_worked_step_with_the_optimizer_directly():
    net = hand_network()
    grads = net.gradients(X_HAND, Y_HAND)
    nns.SGD(lr=0.5).step(net.population_params, net.population_grads())
    for key, value in UPDATED_HAND.items():
        np.testing.assert_allclose(net.params[key], value, rtol=1e-14, atol=1e-16, err_msg=key)
    # the step did not touch the gradients
    for key, g in GRADS_HAND.items():
        np.testing.assert_allclose(grads[key], g, rtol=1e-14, atol=1e-16)


# --- float32 ---------------------------------------------------------------------------------


def test_float32_is_kept(moons):
    X, y = moons
    net = nns.MLP([2, 8, 2], seed=0, dtype=np.float32, population=2)
    assert all(v.dtype == np.float32 for v in net.params.values())
    net.fit(X, y, epochs=2, batch_size=8, optimizer=nns.SGD(lr=np.array([0.1, 0.2])), seed=1)
    assert all(v.dtype == np.float32 for v in net.params.values())
    assert all(v.dtype == np.float32 for v in net.gradients(X, y).values())
    assert net.predict_proba(X).dtype == np.float32
    assert net.decision_function(X).dtype == np.float32
    assert np.all(np.isfinite(net.loss(X, y)))


def test_float32_close_to_float64(moons):
    X, y = moons
    n32 = nns.MLP([2, 8, 2], seed=0, dtype=np.float32)
    n64 = nns.MLP([2, 8, 2], seed=0)
    for key in n64.params:
        np.testing.assert_allclose(n32.params[key], n64.params[key], rtol=1e-6, atol=1e-7)
    n32.fit(X, y, epochs=2, batch_size=8, seed=1)
    n64.fit(X, y, epochs=2, batch_size=8, seed=1)
    np.testing.assert_allclose(n32.predict_proba(X), n64.predict_proba(X), atol=1e-4)


# --- seeds -----------------------------------------------------------------------------------


def trained(seed, fit_seed=None, X=None, y=None, **kwargs):
    net = nns.MLP([3, 6, 4], seed=seed, **kwargs)
    if X is not None:
        net.fit(X, y, epochs=3, batch_size=7, seed=fit_seed)
    return net


def test_same_seed_same_params_and_training(blobs):
    X, y = blobs
    a, b = trained(11), trained(11)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    ha = a.fit(X, y, epochs=3, batch_size=7)
    hb = b.fit(X, y, epochs=3, batch_size=7)
    np.testing.assert_array_equal(ha["loss"], hb["loss"])
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


def test_different_seeds_differ(blobs):
    X, y = blobs
    a, b = trained(11), trained(12)
    assert not np.array_equal(a.params["W1"], b.params["W1"])
    # same initialisation, different shuffles -> different training
    c, d = trained(11, 1, X, y), trained(11, 2, X, y)
    assert not np.array_equal(c.params["W1"], d.params["W1"])
    e = trained(11, 1, X, y)
    np.testing.assert_array_equal(c.params["W1"], e.params["W1"])


def test_no_global_rng(blobs):
    # the legacy global state is used on purpose here: the library must neither read it
    # (results do not depend on it) nor advance it
    X, y = blobs
    saved = np.random.get_state()  # noqa: NPY002
    try:
        np.random.seed(1234)  # noqa: NPY002
        state = np.random.get_state()  # noqa: NPY002
        a = trained(7, None, X, y, population=2)
        after = np.random.get_state()  # noqa: NPY002
        assert after[0] == state[0] and after[2:] == state[2:]
        np.testing.assert_array_equal(after[1], state[1])  # the global state did not advance
        np.random.seed(99)  # noqa: NPY002
        b = trained(7, None, X, y, population=2)
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


def test_unseeded_networks_differ():
    a, b = nns.MLP([3, 6, 4]), nns.MLP([3, 6, 4])
    assert not np.array_equal(a.params["W1"], b.params["W1"])


def test_seed_sequence_and_int_seed_agree():
    a = nns.MLP([3, 6, 4], seed=5)
    b = nns.MLP([3, 6, 4], seed=np.random.SeedSequence(5))
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])


def test_prediction_in_row_blocks_equals_one_pass():
    """Large populations predict a block of rows at a time; the blocks change nothing."""
    rng = np.random.default_rng(0)
    net = nns.MLP([3, 200, 4], population=50, seed=0)
    X = rng.normal(size=(1000, 3))  # 2**19 // (50 * 200) = 52 rows a block: 20 blocks
    y = rng.integers(0, 4, size=1000)
    net.train_mode(False)
    logits = net.forward(X)  # (P,N,K) in one pass
    np.testing.assert_allclose(net.decision_function(X), logits, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(net.predict(X), logits.argmax(axis=-1))
    np.testing.assert_array_equal(net.score(X, y), (logits.argmax(axis=-1) == y).mean(axis=-1))
    assert net.predict_proba(X).shape == (50, 1000, 4)
