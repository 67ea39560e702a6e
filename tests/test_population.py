"""The population contract (DESIGN.md): P networks trained together equal P trained alone."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_blobs
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as nns
from nnscratch.core.init import Normal

TOL = {"rtol": 1e-12, "atol": 1e-12}
INIT_SEEDS = [11, 22, 33]
FIT_SEEDS = [101, 202, 303]


def assert_member_equal(pop, p, single, X=None, y=None):
    """Member ``p`` of ``pop`` equals the single network ``single``: params, outputs, loss."""
    for key, value in single.params.items():
        np.testing.assert_allclose(pop.params[key][p], value, **TOL, err_msg=key)
    if X is not None:
        np.testing.assert_allclose(pop.predict_proba(X)[p], single.predict_proba(X), **TOL)
        np.testing.assert_allclose(pop.loss(X, y)[p], single.loss(X, y), **TOL)


def data(sizes, n=23, seed=0):
    return make_blobs(n=n, n_features=sizes[0], n_classes=sizes[-1], seed=seed)


@pytest.mark.parametrize("sizes", [[3, 5, 4], [3, 6, 5, 4], [2, 4, 4, 4, 3]], ids=str)
@pytest.mark.parametrize("batch_size", [5, 23, 40])  # 23 rows: short last batch, one, one
def test_population_equals_members_trained_alone(sizes, batch_size):
    X, y = data(sizes)
    P = len(INIT_SEEDS)
    pop = nns.MLP(sizes, population=P, seed=INIT_SEEDS, bias_init=Normal(0.1))
    h_pop = pop.fit(X, y, epochs=3, batch_size=batch_size, seed=FIT_SEEDS)
    for p in range(P):
        single = nns.MLP(sizes, seed=[INIT_SEEDS[p]], bias_init=Normal(0.1))
        h = single.fit(X, y, epochs=3, batch_size=batch_size, seed=[FIT_SEEDS[p]])
        assert_member_equal(pop, p, single, X, y)
        for key in ("loss", "accuracy"):
            np.testing.assert_allclose(h_pop[key][:, p], h[key][:, 0], **TOL)
    # the members really did differ (so the comparison above was not trivial)
    assert not np.allclose(pop.params["W1"][0], pop.params["W1"][1])
    if batch_size < len(y):  # with several batches, the shuffle order matters: wrong seed, no match
        other = nns.MLP(sizes, seed=[INIT_SEEDS[0]], bias_init=Normal(0.1))
        other.fit(X, y, epochs=3, batch_size=batch_size, seed=[FIT_SEEDS[1]])
        assert not np.allclose(pop.params["W1"][0], other.params["W1"], **TOL)


def test_population_equals_members_with_validation_split():
    sizes = [3, 6, 5, 4]
    X, y = data(sizes, n=30)
    pop = nns.MLP(sizes, population=3, seed=INIT_SEEDS)
    h_pop = pop.fit(X, y, epochs=3, batch_size=7, seed=FIT_SEEDS, validation_split=0.3)
    assert set(h_pop.keys()) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h_pop["val_loss"].shape == (3, 3)
    for p in range(3):
        single = nns.MLP(sizes, seed=[INIT_SEEDS[p]])
        h = single.fit(X, y, epochs=3, batch_size=7, seed=[FIT_SEEDS[p]], validation_split=0.3)
        assert_member_equal(pop, p, single, X, y)
        for key in h_pop.keys():
            np.testing.assert_allclose(h_pop[key][:, p], h[key][:, 0], **TOL, err_msg=key)
    # each member held out its own rows
    assert not np.allclose(h_pop["val_loss"][:, 0], h_pop["val_loss"][:, 1])


def test_population_equals_members_with_validation_data():
    sizes = [3, 5, 4]
    X, y = data(sizes)
    Xv, yv = data(sizes, n=9, seed=5)
    pop = nns.MLP(sizes, population=3, seed=INIT_SEEDS)
    h_pop = pop.fit(X, y, epochs=2, batch_size=4, seed=FIT_SEEDS, validation_data=(Xv, yv))
    for p in range(3):
        single = nns.MLP(sizes, seed=[INIT_SEEDS[p]])
        h = single.fit(X, y, epochs=2, batch_size=4, seed=[FIT_SEEDS[p]], validation_data=(Xv, yv))
        np.testing.assert_allclose(h_pop["val_loss"][:, p], h["val_loss"][:, 0], **TOL)
        np.testing.assert_allclose(single.loss(Xv, yv), h["val_loss"][-1, 0], **TOL)


def test_member_zero_equals_single_network_with_the_same_seed():
    sizes = [3, 6, 4]
    X, y = data(sizes)
    pop = nns.MLP(sizes, population=4, seed=9)
    single = nns.MLP(sizes, seed=9)
    assert_member_equal(pop, 0, single)
    pop.fit(X, y, epochs=2, batch_size=5)  # default shuffles: each member's own stream
    single.fit(X, y, epochs=2, batch_size=5)
    assert_member_equal(pop, 0, single, X, y)
    pop.fit(X, y, epochs=1, batch_size=5, seed=4)  # one fit seed for the whole population
    single.fit(X, y, epochs=1, batch_size=5, seed=4)
    assert_member_equal(pop, 0, single, X, y)


def test_any_member_recreated_from_its_spawned_seed():
    sizes = [3, 6, 4]
    X, y = data(sizes)
    P = 4
    pop = nns.MLP(sizes, population=P, seed=9)
    pop.fit(X, y, epochs=2, batch_size=5, seed=8)
    init_children = np.random.SeedSequence(9).spawn(P)
    fit_children = np.random.SeedSequence(8).spawn(P)
    for p in range(P):
        single = nns.MLP(sizes, seed=[init_children[p]])
        single.fit(X, y, epochs=2, batch_size=5, seed=[fit_children[p]])
        assert_member_equal(pop, p, single, X, y)


def test_member_and_select():
    sizes = [3, 6, 5, 4]
    X, y = data(sizes)
    pop = nns.MLP(sizes, population=4, seed=INIT_SEEDS + [44], width=[5, 3, 4, 2])
    pop.fit(X, y, epochs=2, batch_size=6, seed=1)
    for p in range(4):
        m = pop.member(p)
        assert m.population is None and m.n_members == 1
        assert m.params["W1"].shape == (3, 6)
        assert_member_equal(pop, p, m, X, y)
    chosen = pop.select([3, 1])
    assert chosen.population == 2
    for i, p in enumerate([3, 1]):
        for key in pop.params:
            np.testing.assert_array_equal(chosen.params[key][i], pop.params[key][p])
        np.testing.assert_array_equal(chosen.predict_proba(X)[i], pop.predict_proba(X)[p])
    # copies, not views: training the selection leaves the population alone
    before = {k: v.copy() for k, v in pop.params.items()}
    chosen.fit(X, y, epochs=1, batch_size=6, seed=2)
    pop.member(0).fit(X, y, epochs=1, batch_size=6, seed=2)
    for k in before:
        np.testing.assert_array_equal(pop.params[k], before[k])
    assert not np.array_equal(chosen.params["W1"][0], before["W1"][3])


def test_selection_trains_like_the_population():
    sizes = [3, 6, 4]
    X, y = data(sizes)
    full = nns.MLP(sizes, population=3, seed=INIT_SEEDS, width=[2, 6, 4])
    part = full.select([2, 0])
    full.fit(X, y, epochs=2, batch_size=5, seed=FIT_SEEDS)
    part.fit(X, y, epochs=2, batch_size=5, seed=[FIT_SEEDS[2], FIT_SEEDS[0]])
    for i, p in enumerate([2, 0]):
        for key in full.params:
            np.testing.assert_allclose(part.params[key][i], full.params[key][p], **TOL)


def test_per_member_learning_rates():
    sizes = [3, 6, 4]
    X, y = data(sizes)
    lrs = [0.03, 0.1, 0.4]
    pop = nns.MLP(sizes, population=3, seed=INIT_SEEDS)
    pop.fit(X, y, epochs=3, batch_size=5, seed=FIT_SEEDS, optimizer=nns.SGD(lr=np.array(lrs)))
    for p in range(3):
        single = nns.MLP(sizes, seed=[INIT_SEEDS[p]])
        single.fit(X, y, epochs=3, batch_size=5, seed=[FIT_SEEDS[p]], optimizer=nns.SGD(lr=lrs[p]))
        assert_member_equal(pop, p, single, X, y)


def test_per_member_init_scale():
    sizes = [3, 6, 5, 4]
    scales = [0.5, 1.0, 2.0]
    pop = nns.MLP(sizes, population=3, seed=INIT_SEEDS, init_scale=np.array(scales))
    plain = nns.MLP(sizes, population=3, seed=INIT_SEEDS)
    for p in range(3):
        single = nns.MLP(sizes, seed=[INIT_SEEDS[p]], init_scale=scales[p])
        assert_member_equal(pop, p, single)
        for k in (1, 2, 3):  # the weights are scaled, the (zero) biases are not
            np.testing.assert_allclose(
                pop.params[f"W{k}"][p], scales[p] * plain.params[f"W{k}"][p], rtol=1e-15
            )


# --- width masks -----------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["relu", "tanh", "elu"])
def test_width_masks_one_hidden_layer(activation):
    X, y = data([2, 8, 3], n=25)
    widths = [3, 5, 8]
    pop = nns.MLP(
        [2, 8, 3],
        activation=activation,
        population=3,
        seed=INIT_SEEDS,
        width=widths,
        bias_init=Normal(0.5),
    )
    W1, b1, W2 = (pop.params[k].copy() for k in ("W1", "b1", "W2"))
    for p, w in enumerate(widths):  # padded parameters start at zero
        assert np.all(W1[p, :, w:] == 0) and np.all(b1[p, w:] == 0) and np.all(W2[p, w:] == 0)
    pop.fit(X, y, epochs=3, batch_size=4, seed=FIT_SEEDS, optimizer=nns.SGD(lr=0.2))
    pop.forward(X)
    hidden = pop.layers[1].h  # (P,N,H): the activation layer's output
    for p, w in enumerate(widths):
        # masked units output exactly zero (elu(0) = 0, but tanh(b) would not be without the mask)
        assert np.all(hidden[p, :, w:] == 0)
        assert np.any(hidden[p, :, :w] != 0)
        # and their parameters never changed
        np.testing.assert_array_equal(pop.params["W1"][p, :, w:], W1[p, :, w:])
        np.testing.assert_array_equal(pop.params["b1"][p, w:], b1[p, w:])
        np.testing.assert_array_equal(pop.params["W2"][p, w:], W2[p, w:])
        # the active part trained
        assert not np.array_equal(pop.params["W1"][p, :, :w], W1[p, :, :w])
        # member p equals a network of exactly that width, built and trained alone
        single = nns.MLP(
            [2, w, 3], activation=activation, seed=[INIT_SEEDS[p]], bias_init=Normal(0.5)
        )
        single.fit(X, y, epochs=3, batch_size=4, seed=[FIT_SEEDS[p]], optimizer=nns.SGD(lr=0.2))
        np.testing.assert_allclose(pop.predict_proba(X)[p], single.predict_proba(X), **TOL)
        np.testing.assert_allclose(pop.loss(X, y)[p], single.loss(X, y), **TOL)
        np.testing.assert_allclose(pop.params["W1"][p, :, :w], single.params["W1"], **TOL)
        np.testing.assert_allclose(pop.params["W2"][p, :w], single.params["W2"], **TOL)
        np.testing.assert_allclose(pop.params["b2"][p], single.params["b2"], **TOL)


def test_width_masks_two_hidden_layers_per_layer_widths():
    sizes = [3, 6, 5, 4]
    X, y = data(sizes, n=21)
    widths = [[2, 3], [6, 5], [4, 1]]
    pop = nns.MLP(sizes, population=3, seed=INIT_SEEDS, width=widths, activation="tanh")
    before = {k: v.copy() for k, v in pop.params.items()}
    pop.fit(X, y, epochs=3, batch_size=5, seed=FIT_SEEDS, validation_split=0.2)
    for p, (w1, w2) in enumerate(widths):
        np.testing.assert_array_equal(pop.params["W1"][p, :, w1:], before["W1"][p, :, w1:])
        np.testing.assert_array_equal(pop.params["W2"][p, w1:, :], before["W2"][p, w1:, :])
        np.testing.assert_array_equal(pop.params["W2"][p, :, w2:], before["W2"][p, :, w2:])
        np.testing.assert_array_equal(pop.params["W3"][p, w2:, :], before["W3"][p, w2:, :])
        single = nns.MLP([3, w1, w2, 4], seed=[INIT_SEEDS[p]], activation="tanh")
        single.fit(X, y, epochs=3, batch_size=5, seed=[FIT_SEEDS[p]], validation_split=0.2)
        np.testing.assert_allclose(pop.predict_proba(X)[p], single.predict_proba(X), **TOL)
        np.testing.assert_allclose(pop.loss(X, y)[p], single.loss(X, y), **TOL)
        np.testing.assert_allclose(pop.params["W2"][p, :w1, :w2], single.params["W2"], **TOL)


def test_width_with_a_single_network():
    X, y = data([3, 8, 4])
    padded = nns.MLP([3, 8, 4], seed=[5], width=3)
    alone = nns.MLP([3, 3, 4], seed=[5])
    padded.fit(X, y, epochs=2, batch_size=6, seed=[1])
    alone.fit(X, y, epochs=2, batch_size=6, seed=[1])
    np.testing.assert_allclose(padded.predict_proba(X), alone.predict_proba(X), **TOL)
    assert np.all(padded.params["W1"][:, 3:] == 0)


# --- the contract as a property ----------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(
    P=st.integers(1, 3),
    n=st.integers(2, 17),
    batch_size=st.integers(1, 9),
    hidden=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_property_population_equals_members(P, n, batch_size, hidden, seed, data):
    widths = data.draw(st.lists(st.integers(1, hidden), min_size=P, max_size=P))
    X, y = make_blobs(n=n, n_features=2, n_classes=3, seed=seed % 1000)
    init_seeds = [seed + p for p in range(P)]
    fit_seeds = [seed + 100 + p for p in range(P)]
    pop = nns.MLP([2, hidden, 3], population=P, seed=init_seeds, width=widths)
    pop.fit(X, y, epochs=2, batch_size=batch_size, seed=fit_seeds)
    for p in range(P):
        single = nns.MLP([2, widths[p], 3], seed=[init_seeds[p]])
        single.fit(X, y, epochs=2, batch_size=batch_size, seed=[fit_seeds[p]])
        np.testing.assert_allclose(pop.predict_proba(X)[p], single.predict_proba(X), **TOL)
