"""Layers: penalties, dropout and batch norm; gradients, populations, width masks, select."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import network_gradient_check, random_classification

import nnscratch as nns
from nnscratch.core.layers import BatchNorm, Dense, Dropout
from nnscratch.core.seeding import child

X, Y = random_classification(9)


# --- penalties -----------------------------------------------------------------------------


def test_penalty_value_is_on_weights_only():
    net = nns.MLP([3, 4, 3], seed=0, l2=0.5, l1=0.25)
    plain = nns.MLP([3, 4, 3], seed=0)
    W1, W2 = net.params["W1"], net.params["W2"]
    expected = 0.25 * ((W1**2).sum() + (W2**2).sum()) + 0.25 * (abs(W1).sum() + abs(W2).sum())
    assert net.loss(X, Y) == pytest.approx(plain.loss(X, Y) + expected, rel=1e-14)
    net.params["b1"][:] = 100.0  # biases carry no penalty
    plain.params["b1"][:] = 100.0
    assert net.loss(X, Y) - plain.loss(X, Y) == pytest.approx(expected, rel=1e-12)


def test_penalty_gradients_per_member():
    net = nns.MLP(
        [3, 4, 3],
        activation="tanh",
        seed=1,
        population=3,
        l2=[0.0, 0.1, 1.0],
        l1=[0.3, 0.0, 0.05],
    )
    network_gradient_check(net, X, Y)


def test_penalised_member_equals_itself_alone():
    pop = nns.MLP([3, 4, 3], seed=2, population=2, l2=[0.0, 0.5])
    ss = np.random.SeedSequence(2)
    for p, l2 in enumerate([0.0, 0.5]):
        single = nns.MLP([3, 4, 3], seed=[child(ss, p)], l2=l2)
        np.testing.assert_allclose(pop.loss(X, Y)[p], single.loss(X, Y), rtol=1e-14)


# --- dropout -------------------------------------------------------------------------------


def test_dropout_gradients_with_the_mask_held():
    net = nns.MLP([3, 5, 4, 3], activation="tanh", seed=3, population=2, dropout=[0.3, 0.6])
    net.train_mode(True)
    net.forward(X)  # draws the masks
    drops = [layer for layer in net.layers if isinstance(layer, Dropout)]
    assert len(drops) == 2
    for layer in drops:
        layer.hold_mask = True
    network_gradient_check(net, X, Y, training=True)
    assert any(np.any(layer.mask == 0) for layer in drops)


def test_dropout_mask_statistics_and_scaling():
    rate = 0.3
    layer = Dropout(np.array([rate, 0.0]), [np.random.default_rng(s) for s in (0, 1)])
    layer.training = True
    x = np.ones((2, 2000, 50))
    y = layer.forward(x)
    kept = y[0] != 0
    assert kept.mean() == pytest.approx(1 - rate, abs=0.01)
    np.testing.assert_allclose(y[0][kept], 1 / (1 - rate))  # inverted: E[y] = x
    np.testing.assert_array_equal(y[1], x[1])  # rate 0: untouched
    dy = np.full_like(x, 2.0)
    np.testing.assert_array_equal(layer.backward(dy), 2.0 * y)
    layer.training = False
    assert layer.forward(x) is x


def test_dropout_is_off_at_prediction_time():
    with_dropout = nns.MLP([3, 6, 3], seed=4, dropout=0.5)
    without = nns.MLP([3, 6, 3], seed=4)
    np.testing.assert_array_equal(with_dropout.predict_proba(X), without.predict_proba(X))
    np.testing.assert_array_equal(with_dropout.predict_proba(X), with_dropout.predict_proba(X))
    a = with_dropout.loss(X, Y, training=True)
    b = with_dropout.loss(X, Y, training=True)
    assert a != b  # fresh masks in training mode


def test_dropout_population_equals_members_alone():
    kw = dict(activation="relu", dropout=[0.2, 0.5, 0.0])
    pop = nns.MLP([3, 6, 5, 3], seed=5, population=3, **kw)
    pop.fit(X, Y, epochs=3, batch_size=3, optimizer=nns.SGD(lr=0.1))
    ss = np.random.SeedSequence(5)
    for p, rate in enumerate(kw["dropout"]):
        single = nns.MLP([3, 6, 5, 3], seed=[child(ss, p)], activation="relu", dropout=rate)
        single.fit(X, Y, epochs=3, batch_size=3, optimizer=nns.SGD(lr=0.1))
        for key, value in single.params.items():
            np.testing.assert_allclose(pop.params[key][p], value, rtol=1e-12, atol=1e-14)


def test_dropout_masks_are_reproducible_with_a_seed():
    nets = [nns.MLP([3, 6, 3], seed=6, dropout=0.5) for _ in range(2)]
    for net in nets:
        net.fit(X, Y, epochs=2, batch_size=3, seed=11)
    np.testing.assert_array_equal(nets[0].params["W1"], nets[1].params["W1"])


# --- batch norm ----------------------------------------------------------------------------


def test_batch_norm_forward_by_hand():
    rng = np.random.default_rng(7)
    x = rng.normal(2.0, 3.0, size=(2, 6, 4))  # (P,N,H)
    gamma, beta = rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    layer = BatchNorm(gamma.copy(), beta.copy())
    layer.training = True
    y = layer.forward(x)
    for p in range(2):
        mu = x[p].sum(axis=0) / 6
        var = ((x[p] - mu) ** 2).sum(axis=0) / 6  # biased, for normalising
        expected = gamma[p] * (x[p] - mu) / np.sqrt(var + 1e-5) + beta[p]
        np.testing.assert_allclose(y[p], expected, rtol=1e-12)
        unbiased = ((x[p] - mu) ** 2).sum(axis=0) / 5  # for the running average
        np.testing.assert_allclose(layer.buffers["running_mean"][p], 0.1 * mu, rtol=1e-12)
        np.testing.assert_allclose(layer.buffers["running_var"][p], 0.9 + 0.1 * unbiased)
    layer.training = False
    rm, rv = layer.buffers["running_mean"], layer.buffers["running_var"]
    expected = gamma[:, None] * (x - rm[:, None]) / np.sqrt(rv[:, None] + 1e-5) + beta[:, None]
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)


def test_batch_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    H = 4
    gamma, beta = rng.normal(size=(1, H)), rng.normal(size=(1, H))
    layer = BatchNorm(gamma.copy(), beta.copy())
    ref = torch.nn.BatchNorm1d(H, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma[0]))
        ref.bias.copy_(torch.tensor(beta[0]))
    for _step in range(3):
        x = rng.normal(1.0, 2.0, size=(1, 5, H))
        dy = rng.normal(size=(1, 5, H))
        tx = torch.tensor(x[0], requires_grad=True)
        ref.train()
        ty = ref(tx)
        (ty * torch.tensor(dy[0])).sum().backward()
        layer.training = True
        y = layer.forward(x)
        dx = layer.backward(dy)
        np.testing.assert_allclose(y[0], ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dx[0], tx.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.grads["gamma"][0], ref.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(layer.grads["beta"][0], ref.bias.grad.numpy(), rtol=1e-10)
        ref.weight.grad = ref.bias.grad = None
        np.testing.assert_allclose(layer.buffers["running_mean"][0], ref.running_mean.numpy())
        np.testing.assert_allclose(layer.buffers["running_var"][0], ref.running_var.numpy())
    ref.eval()
    layer.training = False
    x = rng.normal(size=(1, 3, H))
    np.testing.assert_allclose(
        layer.forward(x)[0], ref(torch.tensor(x[0])).detach().numpy(), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_network_gradients(training):
    net = nns.MLP([3, 5, 4, 3], activation="tanh", seed=9, population=2, batch_norm=True)
    rng = np.random.default_rng(10)
    for key in ("gamma1", "beta1", "gamma2", "beta2"):  # away from the initial 1 and 0
        net.params[key][:] += rng.normal(0.0, 0.3, size=net.params[key].shape)
    if not training:
        net.fit(X, Y, epochs=1, batch_size=3)  # non-trivial running averages
    keys = ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3"]
    assert list(net.params) == keys
    network_gradient_check(net, X, Y, training=training)


def test_everything_at_once_gradients():
    net = nns.MLP(
        [3, 5, 3],
        activation="gelu",
        seed=12,
        population=2,
        batch_norm=True,
        dropout=0.4,
        l2=[0.1, 0.0],
        l1=0.01,
        loss=nns.SoftmaxCrossEntropy(label_smoothing=0.1),
    )
    net.train_mode(True)
    net.forward(X)
    for layer in net.layers:
        if isinstance(layer, Dropout):
            layer.hold_mask = True
    network_gradient_check(net, X, Y, training=True)


def test_batch_norm_population_equals_members_alone():
    pop = nns.MLP([3, 6, 3], seed=13, population=3, batch_norm=True, dropout=0.3)
    pop.fit(X, Y, epochs=3, batch_size=3, optimizer=nns.Adam(lr=0.01))
    ss = np.random.SeedSequence(13)
    for p in range(3):
        single = nns.MLP([3, 6, 3], seed=[child(ss, p)], batch_norm=True, dropout=0.3)
        single.fit(X, Y, epochs=3, batch_size=3, optimizer=nns.Adam(lr=0.01))
        for key, value in single.population_state.items():
            np.testing.assert_allclose(
                pop.population_state[key][p], value[0], rtol=1e-11, atol=1e-13, err_msg=key
            )
        np.testing.assert_allclose(pop.predict_proba(X)[p], single.predict_proba(X), rtol=1e-11)


def test_width_masks_with_batch_norm_equal_a_narrow_network():
    """A member of width 3 padded to 6 equals a 3-unit network; its padding stays zero."""
    pop = nns.MLP([3, 6, 3], seed=14, population=2, width=[3, 6], batch_norm=True)
    pop.fit(X, Y, epochs=3, batch_size=3, optimizer=nns.SGD(lr=0.1))
    narrow = nns.MLP([3, 3, 3], seed=[child(np.random.SeedSequence(14), 0)], batch_norm=True)
    narrow.fit(X, Y, epochs=3, batch_size=3, optimizer=nns.SGD(lr=0.1))
    np.testing.assert_allclose(pop.params["W1"][0, :, :3], narrow.params["W1"], rtol=1e-12)
    np.testing.assert_allclose(pop.params["gamma1"][0, :3], narrow.params["gamma1"], rtol=1e-12)
    np.testing.assert_allclose(pop.params["W2"][0, :3], narrow.params["W2"], rtol=1e-12)
    np.testing.assert_allclose(pop.predict_proba(X)[0], narrow.predict_proba(X), rtol=1e-11)
    assert np.all(pop.params["W1"][0, :, 3:] == 0) and np.all(pop.params["W2"][0, 3:] == 0)
    assert np.all(pop.params["gamma1"][0, 3:] == 1) and np.all(pop.params["beta1"][0, 3:] == 0)


def test_width_masks_with_dropout_keep_padding_zero():
    pop = nns.MLP([3, 6, 3], seed=15, population=2, width=[2, 6], dropout=0.5, l2=0.01, l1=0.01)
    pop.fit(X, Y, epochs=3, batch_size=3)
    assert np.all(pop.params["W1"][0, :, 2:] == 0) and np.all(pop.params["b1"][0, 2:] == 0)
    assert np.all(pop.params["W2"][0, 2:] == 0)
    assert np.any(pop.params["W1"][1, :, 2:] != 0)


def test_select_and_member_keep_layers_and_state():
    pop = nns.MLP(
        [3, 5, 3], seed=16, population=3, batch_norm=True, dropout=[0.1, 0.2, 0.3], l2=[0, 1, 2]
    )
    pop.fit(X, Y, epochs=2, batch_size=3)
    sub = pop.select([2, 0])
    np.testing.assert_array_equal(sub.predict_proba(X), pop.predict_proba(X)[[2, 0]])
    np.testing.assert_array_equal(sub.loss(X, Y), pop.loss(X, Y)[[2, 0]])
    for key, value in sub.population_state.items():
        np.testing.assert_array_equal(value, pop.population_state[key][[2, 0]])
    drop = next(layer for layer in sub.layers if isinstance(layer, Dropout))
    np.testing.assert_array_equal(drop.rate[:, 0, 0], [0.3, 0.1])
    dense = next(layer for layer in sub.layers if isinstance(layer, Dense))
    np.testing.assert_array_equal(dense.l2[:, 0, 0], [2.0, 0.0])
    one = pop.member(1)
    assert one.loss(X, Y) == pytest.approx(pop.loss(X, Y)[1], rel=1e-14)
    sub.fit(X, Y, epochs=1, batch_size=3)  # the copy trains without touching the original
    np.testing.assert_array_equal(one.params["W1"], pop.params["W1"][1])


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"dropout": [0.1, 0.2]}, "dropout"),
        ({"l2": -1.0}, "l2"),
        ({"l1": [0.1, -0.1, 0.0]}, "l1"),
        ({"batch_norm": "yes"}, "batch_norm"),
    ],
)
def test_bad_options(kwargs, name):
    with pytest.raises(ValueError, match=name) as err:
        nns.MLP([3, 4, 3], population=3, **kwargs)
    if name in ("dropout", "l2", "l1"):
        assert "[0" in str(err.value)  # the accepted range is named


def test_batch_norm_refuses_one_row_batches():
    net = nns.MLP([3, 4, 3], batch_norm=True)
    with pytest.raises(ValueError, match="batch_size"):
        net.fit(X, Y, batch_size=4)  # 9 rows: a last batch of 1
    net.fit(X, Y, batch_size=3, epochs=1)
