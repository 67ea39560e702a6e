"""An activation per hidden layer: the math, the checks, and every path that reads it."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_blobs
from test_network import assert_gradients_match

import nnscratch as nns
from nnscratch.core import functional as F
from nnscratch.core.init import Normal

MIXED = ["tanh", "relu", "sigmoid"]


def test_gradient_check_one_activation_per_layer():
    sizes = [3, 5, 4, 6, 3]
    X, y = make_blobs(n=12, n_features=3, n_classes=3, seed=2)
    for population in (None, 3):
        net = nns.MLP(sizes, activation=MIXED, bias_init=Normal(0.1), seed=5, population=population)
        assert_gradients_match(net, X, y)


def test_forward_is_each_layers_own_activation_by_hand():
    net = nns.MLP([2, 3, 4, 2], activation=["tanh", "softplus"], bias_init=Normal(0.3), seed=0)
    X = np.array([[0.5, -1.0], [2.0, 0.25]])
    p = net.params
    h1 = np.tanh(X @ p["W1"] + p["b1"])
    h2 = F.softplus(h1 @ p["W2"] + p["b2"])
    np.testing.assert_allclose(net.decision_function(X), h2 @ p["W3"] + p["b3"], rtol=1e-14)
    # and the same layers in the other order give another function: the order is kept
    swapped = nns.MLP([2, 3, 4, 2], activation=["softplus", "tanh"], bias_init=Normal(0.3), seed=0)
    assert not np.allclose(swapped.decision_function(X), net.decision_function(X))


def test_shared_and_per_layer_names():
    mixed = nns.MLP([2, 4, 4, 2], activation=["tanh", "relu"])
    assert mixed.activation is None
    assert [a.name for a in mixed.activations] == ["tanh", "relu"]
    assert repr(mixed) == "MLP([2, 4, 4, 2], activation=['tanh', 'relu'])"
    same = nns.MLP([2, 4, 4, 2], activation=["relu", "relu"])
    assert same.activation is not None and same.activation.name == "relu"
    assert [a.name for a in nns.MLP([2, 4, 4, 2], activation="elu").activations] == ["elu"] * 2
    assert nns.MLP([2, 2], activation="tanh").activations == []


@pytest.mark.parametrize(
    "activation, message",
    [
        (["tanh"], "activation: expected a name or Activation, or a list of 2"),
        (
            ["tanh", "relu", "relu"],
            "a list of 2 (one per hidden layer), got ['tanh', 'relu', 'relu']",
        ),
        (["tanh", "nope"], "activation[1]: expected one of: "),
        ([3, "relu"], "activation[0]: expected one of: "),
        (42, "activation: expected one of: elu, gelu"),
        (None, "activation: expected one of: elu, gelu"),
    ],
)
def test_bad_activation_lists_are_named(activation, message):
    with pytest.raises(ValueError) as err:
        nns.MLP([2, 4, 4, 2], activation=activation)
    assert message in str(err.value)


def test_population_trains_like_its_members_alone():
    X, y = make_blobs(n=60, n_features=2, n_classes=3, seed=4)
    init, shuffle = [11, 12, 13], [21, 22, 23]
    kwargs = dict(epochs=3, batch_size=16, engine="numpy")
    pop = nns.MLP([2, 6, 5, 3], activation=["tanh", "relu"], population=3, seed=init)
    pop.fit(X, y, optimizer=nns.SGD(lr=0.1), seed=shuffle, **kwargs)
    for p in range(3):
        alone = nns.MLP([2, 6, 5, 3], activation=["tanh", "relu"], seed=[init[p]])
        alone.fit(X, y, optimizer=nns.SGD(lr=0.1), seed=[shuffle[p]], **kwargs)
        for key, value in alone.params.items():
            np.testing.assert_allclose(pop.params[key][p], value, rtol=1e-12, atol=1e-14)
    assert not np.allclose(pop.params["W1"][0], pop.params["W1"][1])


def test_compiled_path_declines_and_auto_runs_numpy():
    X, y = make_blobs(n=40, n_features=2, n_classes=2, seed=1)
    net = nns.MLP([2, 4, 4, 2], activation=["tanh", "relu"], population=2, seed=0)
    with pytest.raises(ValueError, match="an activation per hidden layer runs on the NumPy loop"):
        net.fit(X, y, epochs=1, engine="numba")
    twin = nns.MLP([2, 4, 4, 2], activation=["tanh", "relu"], population=2, seed=0)
    net.fit(X, y, epochs=2, seed=3, engine="auto")
    twin.fit(X, y, epochs=2, seed=3, engine="numpy")
    for key, value in net.population_params.items():
        np.testing.assert_array_equal(value, twin.population_params[key])


def test_save_load_and_inspect_keep_each_layers_activation(tmp_path):
    X, y = make_blobs(n=30, n_features=2, n_classes=2, seed=3)
    net = nns.MLP([2, 5, 4, 2], activation=["sigmoid", "elu"], population=2, seed=1)
    path = tmp_path / "mixed.npz"
    nns.save(net, path)
    back = nns.load(path)
    assert [a.name for a in back.activations] == ["sigmoid", "elu"]
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))
    from nnscratch.io.model import describe_header, read_header

    assert "2-5-4-2, sigmoid/elu hidden" in describe_header(read_header(path))


def test_onnx_export_runs_each_layers_activation(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    X, _ = make_blobs(n=25, n_features=2, n_classes=3, seed=6)
    net = nns.MLP([2, 5, 4, 3], activation=["gelu", "tanh"], bias_init=Normal(0.2), seed=2)
    path = tmp_path / "mixed.onnx"
    nns.export_onnx(net, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits, proba = session.run(None, {"X": X})
    np.testing.assert_allclose(logits, net.decision_function(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(proba, net.predict_proba(X), rtol=1e-9, atol=1e-12)
