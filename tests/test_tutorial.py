"""nnscratch.tutorial: the tutorial's facts, equations, algorithm and reported results."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import central_differences
from sklearn.datasets import make_moons

from nnscratch import tutorial as T
from nnscratch.core.optim import SGD
from nnscratch.core.seeding import child, rng_for


@pytest.fixture(scope="module")
def moons():
    return T.load_moons()


# --- step 1 to 4: data and small functions -----------------------------------------------


def test_moons_facts(moons):
    X, _ = make_moons(n_samples=5000, random_state=42, noise=0.1)
    expected = [
        [-0.1196884, 1.03684845],
        [0.03370055, 0.2493631],
        [0.03864294, 0.33033539],
        [0.22222051, 1.03355193],
        [0.74448612, 0.69288687],
    ]
    np.testing.assert_allclose(X[0:5], expected, atol=1e-8)
    X_train, X_test, y_train, y_test = moons
    assert X_train.shape == (3750, 2) and X_test.shape == (1250, 2)
    assert y_train.shape == (3750,) and y_test.shape == (1250,)
    assert list(y_train[:5]) == [0, 1, 0, 1, 0]
    assert set(np.unique(y_train)) == {0, 1}


def test_one_hot_encode():
    out = T.one_hot_encode([0, 1, 0, 1, 0])
    np.testing.assert_array_equal(out, [[1, 0], [0, 1], [1, 0], [0, 1], [1, 0]])
    # any number of classes, not only two
    np.testing.assert_array_equal(T.one_hot_encode([2, 0, 1]), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert T.one_hot_encode([0, 1], n_class=4).shape == (2, 4)
    with pytest.raises(ValueError, match="labels"):
        T.one_hot_encode([0, 3], n_class=2)


def test_softmax_reported_values():
    out = T.softmax([[10, 10], [1, 4]])
    np.testing.assert_allclose(out, [[0.5, 0.5], [0.04742587, 0.95257413]], atol=1e-8)
    # eq. (2): no overflow at large logits
    big = T.softmax([[1000.0, 1000.0], [1e4, 0.0]])
    np.testing.assert_allclose(big, [[0.5, 0.5], [1.0, 0.0]])


def test_relu_returns_new_array_and_leaves_argument_alone():
    x = np.linspace(-10, 10, 100)
    before = x.copy()
    out = T.relu(x)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(out, np.where(x > 0, x, 0.0))
    assert out is not x


# --- step 5 to 8: model, forward, backward, sgd, fit ------------------------------------


def test_init_network_shapes_and_randn_statistics():
    model = T.init_network(seed=0)
    assert {k: v.shape for k, v in model.items()} == {
        "W1": (2, 64),
        "b1": (64,),
        "W2": (64, 2),
        "b2": (2,),
    }
    big = T.init_network(n_features=50, n_class=40, n_hidden=400, seed=1)
    for key in ("W1", "W2", "b1"):
        values = big[key].ravel()
        assert abs(values.mean()) < 0.1 and abs(values.std() - 1.0) < 0.08, key
    # same seed, same draw; different seed, different draw
    np.testing.assert_array_equal(T.init_network(seed=3)["W1"], T.init_network(seed=3)["W1"])
    assert not np.array_equal(T.init_network(seed=3)["W1"], T.init_network(seed=4)["W1"])


def _equations(model, X, Y):
    """Eq. (6) and (14)-(17), written out independently of the library."""
    A1 = X @ model["W1"] + model["b1"]
    Z1 = np.maximum(A1, 0)
    A2 = Z1 @ model["W2"] + model["b2"]
    E = np.exp(A2 - A2.max(axis=1, keepdims=True))
    Z2 = E / E.sum(axis=1, keepdims=True)
    D2 = Z2 - Y  # eq. (14)
    D1 = (D2 @ model["W2"].T) * (A1 > 0)  # eq. (17): the gate is A1 > 0
    grads = {"W2": Z1.T @ D2, "b2": D2.sum(axis=0), "W1": X.T @ D1, "b1": D1.sum(axis=0)}
    loss = -np.sum(Y * np.log(Z2))  # eq. (9), summed over the batch
    return Z1, Z2, grads, loss


def test_forward_and_backward_follow_the_equations():
    rng = np.random.default_rng(0)
    model = T.init_network(n_features=3, n_class=4, n_hidden=5, seed=2)
    X = rng.normal(size=(7, 3))
    labels = rng.integers(0, 4, size=7)
    Y = T.one_hot_encode(labels, 4)
    Z1, Z2, grads, _ = _equations(model, X, Y)
    z1, z2 = T.forward(model, X)
    np.testing.assert_allclose(z1, Z1, rtol=1e-12)
    np.testing.assert_allclose(z2, Z2, rtol=1e-12)
    # labels as integers or as one-hot rows give the same gradients
    for label in (labels, Y):
        got = T.backward(model, X, label)
        assert set(got) == {"W1", "b1", "W2", "b2"}
        for key in grads:
            np.testing.assert_allclose(got[key], grads[key], rtol=1e-10, atol=1e-12)


def test_backward_is_the_gradient_of_the_summed_loss():
    """Central differences in float64: backward returns true gradients, not their negative."""
    rng = np.random.default_rng(1)
    model = T.init_network(n_features=2, n_class=3, n_hidden=4, seed=5)
    X = rng.normal(size=(6, 2))
    Y = T.one_hot_encode(rng.integers(0, 3, size=6), 3)
    grads = T.backward(model, X, Y)
    numeric = central_differences(lambda: _equations(model, X, Y)[3], model)
    for key, value in numeric.items():
        np.testing.assert_allclose(grads[key], value, rtol=1e-6, atol=1e-7, err_msg=key)


def test_tutorial_equations_equal_the_core():
    """The tutorial's few lines of eq. (6) and (14)-(17) on the dict give what the core's
    layers give for the same network: its forward pass and its gradients."""
    rng = np.random.default_rng(8)
    model = T.init_network(n_features=3, n_class=4, n_hidden=6, seed=9)
    X = rng.normal(size=(11, 3))
    labels = rng.integers(0, 4, size=11)
    net = T.tutorial_network(3, 6, 4, seed=0)
    for key, value in model.items():
        net.params[key][...] = value
    z1, z2 = T.forward(model, X)
    np.testing.assert_allclose(z2, net.predict_proba(X), rtol=1e-12)
    np.testing.assert_allclose(z1, np.maximum(X @ model["W1"] + model["b1"], 0), rtol=1e-12)
    grads, core = T.backward(model, X, labels), net.gradients(X, labels)
    for key in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(grads[key], core[key], rtol=1e-12, atol=1e-13, err_msg=key)
    assert not np.allclose(grads["W1"], 0)  # the comparison compares something


def test_sgd_descends_in_place():
    rng = np.random.default_rng(2)
    model = T.init_network(seed=7)
    X = rng.normal(size=(10, 2))
    y = rng.integers(0, 2, size=10)
    before = {k: v.copy() for k, v in model.items()}
    grads = T.backward(model, X, y)
    returned = T.sgd(model, X, y, alpha=1e-3)
    assert returned is model
    for key in model:
        np.testing.assert_allclose(model[key], before[key] - 1e-3 * grads[key], rtol=1e-14)
    loss_before = _equations(before, X, T.one_hot_encode(y, 2))[3]
    loss_after = _equations(model, X, T.one_hot_encode(y, 2))[3]
    assert loss_after < loss_before


def test_fit_is_the_tutorials_minibatch_loop():
    """Fresh permutation per epoch, contiguous slices, short last batch, summed sgd steps."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(23, 2))  # 23 rows, batch 5: four full batches and one of 3
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = T.init_network(n_hidden=6, seed=11)
    expected = {k: v.copy() for k, v in model.items()}
    seed = np.random.SeedSequence(99)
    T.fit(model, X, y, batch_size=5, iter_num=3, seed=[seed])
    # the reference: the same permutations, walked by hand with the equations
    shuffle = rng_for(seed, "shuffle", 0)
    Y = T.one_hot_encode(y, 2)
    for _ in range(3):
        order = shuffle.permutation(23)
        for start in range(0, 23, 5):
            idx = order[start : start + 5]
            grads = _equations(expected, X[idx], Y[idx])[2]
            for key in expected:
                expected[key] = expected[key] - 1e-4 * grads[key]
    for key in model:
        np.testing.assert_allclose(model[key], expected[key], rtol=1e-12, atol=1e-14)


# --- step 9 to 11: experiments, the class API and the sweep -----------------------------


def test_population_members_equal_networks_trained_alone(moons):
    """test() trains one population; member p equals that network trained on its own."""
    X_train, X_test, y_train, y_test = moons
    X_train, y_train = X_train[:300], y_train[:300]
    root = np.random.SeedSequence(5)
    acc = T.test(X_train, y_train, X_test, y_test, 10, 2, 4, seed=root, verbose=False)
    for p in (0, 3):
        alone = T.tutorial_network(2, 64, 2, seed=[child(root, p)])
        alone.fit(X_train, y_train, epochs=2, batch_size=10, optimizer=SGD(lr=1e-4))
        assert alone.score(X_test, y_test) == pytest.approx(acc[p], abs=1e-12)


def test_reported_experiment_result(moons, capsys):
    """test(X_train, y_train, X_test, y_test, 10, 10, 100): reported 0.94541 +- 0.019558."""
    X_train, X_test, y_train, y_test = moons
    acc = T.test(X_train, y_train, X_test, y_test, 10, 10, 100, seed=2024)
    assert acc.shape == (100,)
    assert 0.93 <= acc.mean() <= 0.96
    assert 0.005 <= acc.std() <= 0.04
    line = capsys.readouterr().out.strip()
    assert line == f"Mean Accuracy: {acc.mean():.5g}, Standard Deviation: {acc.std():.5g}"


def test_reported_neuralnet_99_result(moons):
    """NeuralNet(99).test(X_train, y_train, X_test, y_test, 20, 10): reported 0.9496."""
    X_train, X_test, y_train, y_test = moons
    net = T.NeuralNet(99, seed=7)
    assert net.params["W1"].shape == (2, 99)
    acc = net.test(X_train, y_train, X_test, y_test, 20, 10)
    assert isinstance(acc, float) and 0.9 <= acc <= 0.99


def test_reported_width_sweep(moons, tmp_path):
    """test_class(3, 40, 3): accuracy rises with width, about 0.98 at 30 to 40 neurons."""
    path = tmp_path / "sweep.png"
    widths, mean_accuracy = T.test_class(3, 40, 3, data=moons, seed=7, plot=str(path))
    np.testing.assert_array_equal(widths, np.arange(3, 40))
    assert mean_accuracy.shape == (37,)
    assert mean_accuracy[widths >= 30].mean() >= 0.97
    assert mean_accuracy[widths >= 30].mean() > mean_accuracy[widths < 8].mean()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_class_api_matches_functions():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(12, 2))
    y = rng.integers(0, 2, size=12)
    net = T.NeuralNet(5, seed=3)
    model = {k: v.copy() for k, v in net.params.items()}
    for a, b in zip(net.forward(X), T.forward(model, X), strict=True):
        np.testing.assert_array_equal(a, b)
    for key, value in net.backward(X, y).items():
        np.testing.assert_array_equal(value, T.backward(model, X, y)[key])
    net.sgd(X, y)
    T.sgd(model, X, y)
    for key in model:
        np.testing.assert_array_equal(net.params[key], model[key])


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda d: T.test(*d, 0, 1, 2, verbose=False), "batch_size"),
        (lambda d: T.test(*d, 10, 0, 2, verbose=False), "iter_num"),
        (lambda d: T.test(*d, 10, 1, 0, verbose=False), "n_experiment"),
        (lambda d: T.test_class(5, 5, 1, data=_swap(d), plot=False), "max_neuron"),
        (lambda d: T.test_class(0, 5, 1, data=_swap(d), plot=False), "min_neuron"),
        (lambda d: T.test_class(3, 5, 0, data=_swap(d), plot=False), "n_trial"),
        (lambda d: T.init_network(n_hidden=0), "n_hidden"),
        (lambda d: T.fit(T.init_network(), d[0][:, :1], d[1], 10, 1), "input_data"),
        (lambda d: T.fit(T.init_network(), d[0], d[1][:-1], 10, 1), "label"),
        (lambda d: T.backward({"W1": 1}, d[0], d[1]), "model"),
    ],
)
def test_bad_input_is_refused(call, name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    y = rng.integers(0, 2, size=20)
    with pytest.raises(ValueError, match=name):
        call((X, y, X, y))


def _swap(d):
    X, y, X_test, y_test = d
    return X, X_test, y, y_test
