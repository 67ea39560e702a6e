"""ONNX export: onnxruntime, a real peer, gives what the network predicts; refusals write nothing.

Skipped (with the reason) where the onnx or onnxruntime package is missing.
"""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx package")
ort = pytest.importorskip("onnxruntime", reason="the export is checked with onnxruntime")

import nnscratch as nns  # noqa: E402
from nnscratch.core import activations  # noqa: E402
from nnscratch.core.layers import Layer  # noqa: E402
from nnscratch.core.losses import MeanSquaredError  # noqa: E402
from nnscratch.io.onnx import IR_VERSION, OPSET, build_model, export_onnx  # noqa: E402

X = np.random.default_rng(0).normal(size=(40, 3))
#: float32 agrees to what the task asks (1e-6); float64 far tighter, so that a constant
#: rounded to float32 on the way (a leaky slope as a float attribute) would be caught.
TOL = {np.float32: 1e-6, np.float64: 1e-12}
BUILT_IN = ["identity", "relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus", "gelu"]
BUILT_IN += ["silu"]


def run_onnx(path, X, dtype):
    """Every output of the ONNX file at ``path`` for ``X``, by name."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": np.asarray(X, dtype=dtype)}), strict=True))


def perturb_batch_norm(net, seed=1):
    """Running averages (and gamma, beta) away from their defaults, as after training."""
    rng = np.random.default_rng(seed)
    for layer in net.layers:
        for arr in [*layer.buffers.values(), *(layer.params.values() if layer.buffers else [])]:
            arr += rng.uniform(0.1, 0.6, size=arr.shape).astype(arr.dtype)


def test_every_built_in_activation_is_covered():
    assert sorted(BUILT_IN) == activations.available_activations()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", BUILT_IN)
def test_every_activation_matches_predict_proba(tmp_path, activation, dtype):
    net = nns.MLP([3, 8, 6, 5, 4], activation=activation, dtype=dtype, seed=3)  # 3 hidden
    export_onnx(net, tmp_path / "m.onnx")
    out = run_onnx(tmp_path / "m.onnx", X * 2.5, dtype)  # both sides of every kink
    assert out["probabilities"].dtype == dtype and out["probabilities"].shape == (40, 4)
    np.testing.assert_allclose(out["probabilities"], net.predict_proba(X * 2.5), 0, TOL[dtype])
    ref = net.decision_function(X * 2.5)
    np.testing.assert_allclose(out["logits"], ref, 1e-5 if dtype == np.float32 else 1e-12, 1e-6)


@pytest.mark.parametrize(
    "activation", [activations.leaky_relu(0.2), activations.elu(0.3), activations.leaky_relu(0)]
)
def test_parametrised_activations_keep_their_parameter(tmp_path, activation):
    net = nns.MLP([3, 6, 3], activation=activation, seed=2)
    export_onnx(net, tmp_path / "m.onnx")
    out = run_onnx(tmp_path / "m.onnx", X * 3, np.float64)
    np.testing.assert_allclose(out["probabilities"], net.predict_proba(X * 3), 0, 1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_uses_the_running_averages_and_dropout_is_absent(tmp_path, dtype):
    net = nns.MLP([3, 6, 5, 3], activation="tanh", dtype=dtype, batch_norm=True, dropout=0.5)
    perturb_batch_norm(net)
    export_onnx(net, tmp_path / "m.onnx")
    out = run_onnx(tmp_path / "m.onnx", X, dtype)
    np.testing.assert_allclose(out["probabilities"], net.predict_proba(X), 0, TOL[dtype])
    ops = {node.op_type for node in onnx.load(str(tmp_path / "m.onnx")).graph.node}
    assert "Dropout" not in ops and "BatchNormalization" not in ops


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_population_member_with_its_width_mask(tmp_path, dtype):
    width = np.array([[7, 5], [3, 2], [1, 4]])
    net = nns.MLP([3, 7, 5, 2], population=3, width=width, dtype=dtype, seed=5, batch_norm=True)
    perturb_batch_norm(net)
    # masked units would output relu(4) = 4 without the mask, and reach the next layer
    net.params["b1"][:, 3:] = 4.0
    net.params["W2"][:, 3:, :] = 0.5
    for p in range(3):
        export_onnx(net, tmp_path / f"m{p}.onnx", member=p)
        out = run_onnx(tmp_path / f"m{p}.onnx", X, dtype)
        np.testing.assert_allclose(out["probabilities"], net.predict_proba(X)[p], 0, TOL[dtype])
        np.testing.assert_allclose(out["probabilities"], net.member(p).predict_proba(X), 0, 1e-6)


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy"])
def test_a_network_without_hidden_layers(tmp_path, loss):
    net = nns.MLP([3, 1 if loss == "binary_cross_entropy" else 4], loss=loss, seed=2)
    export_onnx(net, tmp_path / "m.onnx")
    out = run_onnx(tmp_path / "m.onnx", X, np.float64)
    np.testing.assert_allclose(out["probabilities"], net.predict_proba(X), 0, 1e-12)


def test_a_population_of_one_needs_no_member(tmp_path):
    net = nns.MLP([3, 4, 2], population=1, seed=1)
    export_onnx(net, tmp_path / "m.onnx")
    out = run_onnx(tmp_path / "m.onnx", X, np.float64)
    np.testing.assert_allclose(out["probabilities"], net.predict_proba(X)[0], 0, 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_cross_entropy_gives_two_columns(tmp_path, dtype):
    net = nns.MLP([3, 5, 1], loss="binary_cross_entropy", activation="elu", dtype=dtype, seed=4)
    export_onnx(net, tmp_path / "m.onnx")
    out = run_onnx(tmp_path / "m.onnx", X, dtype)
    assert out["probabilities"].shape == (40, 2) and out["logits"].shape == (40, 1)
    np.testing.assert_allclose(out["probabilities"], net.predict_proba(X), 0, TOL[dtype])


@pytest.mark.parametrize(("loss", "K"), [("mse", 1), ("mae", 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regression_predictions_as_predict(tmp_path, loss, K, dtype):
    net = nns.MLP([3, 6, 4, K], loss=loss, activation="softplus", dtype=dtype, seed=6)
    export_onnx(net, tmp_path / "m.onnx")
    out = run_onnx(tmp_path / "m.onnx", X, dtype)
    assert set(out) == {"logits", "predictions"}
    ref = net.predict(X)  # (N,) for one output, (N, K) for several
    assert out["predictions"].shape == ref.shape
    np.testing.assert_allclose(out["predictions"], ref, 1e-5 if dtype == np.float32 else 1e-12, 0)


def test_the_graph_names_its_input_and_outputs_and_any_batch_size(tmp_path):
    net = nns.MLP([3, 4, 2], dtype=np.float32, seed=1)
    export_onnx(net, tmp_path / "m.onnx")
    model = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == OPSET and model.ir_version == IR_VERSION
    (inp,) = model.graph.input
    assert inp.name == "X" and inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = inp.type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and dims[1].dim_value == 3
    assert [o.name for o in model.graph.output] == ["logits", "probabilities"]
    for n in (1, 7):
        assert run_onnx(tmp_path / "m.onnx", X[:n], np.float32)["probabilities"].shape == (n, 2)
    assert nns.export_onnx is export_onnx


class _Estimator:
    """The estimator contract: ``_to_model_file`` returns the network and its file info."""

    def __init__(self, net, **info):
        self.net, self.info = net, info

    def _to_model_file(self):
        return self.net, {"estimator": "Stand", **self.info}


def test_an_estimator_that_averages_its_members(tmp_path):
    net = nns.MLP([3, 5, 3], population=4, width=np.array([5, 2, 3, 1]), seed=7)
    export_onnx(_Estimator(net, out_activation_="softmax"), tmp_path / "m.onnx")
    out = run_onnx(tmp_path / "m.onnx", X, np.float64)
    mean = net.predict_proba(X).mean(axis=0)
    np.testing.assert_allclose(out["probabilities"], mean, 0, 1e-12)
    assert out["logits"].shape == (4, 40, 3)
    export_onnx(_Estimator(net, out_activation_="softmax"), tmp_path / "one.onnx", member=2)
    one = run_onnx(tmp_path / "one.onnx", X, np.float64)
    np.testing.assert_allclose(one["probabilities"], net.predict_proba(X)[2], 0, 1e-12)


def test_an_estimator_with_logistic_outputs(tmp_path):
    net = nns.MLP([3, 5, 3], seed=8)  # a multilabel estimator's file names a stand-in loss
    est = _Estimator(net, out_activation_="logistic", multilabel=True)
    export_onnx(est, tmp_path / "m.onnx")
    out = run_onnx(tmp_path / "m.onnx", X, np.float64)
    s = 1.0 / (1.0 + np.exp(-net.decision_function(X)))
    np.testing.assert_allclose(out["probabilities"], s, 0, 1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_scikit_learn_estimator(tmp_path):
    sk = pytest.importorskip("nnscratch.sklearn")
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    est = sk.MLPClassifier((6,), max_iter=5, random_state=0, n_members=3, ensemble="mean")
    est.fit(X, y)
    export_onnx(est, tmp_path / "m.onnx")
    out = run_onnx(tmp_path / "m.onnx", X, np.float64)
    np.testing.assert_allclose(out["probabilities"], est.predict_proba(X), 0, 1e-12)
    reg = sk.MLPRegressor((5, 4), max_iter=5, random_state=0, n_members=2, ensemble="mean")
    reg.fit(X, X[:, 0] - 2 * X[:, 1])
    export_onnx(reg, tmp_path / "r.onnx")
    out = run_onnx(tmp_path / "r.onnx", X, np.float64)
    np.testing.assert_allclose(out["predictions"], reg.predict(X), 1e-12, 1e-12)


# --- refusals: a ValueError naming what, and nothing written -----------------------------


class _Doubling(Layer):
    def forward(self, x):
        return 2 * x


def _custom_activation_net():  # as register_activation makes it, kept out of the registry
    cube = activations.Activation("cube", lambda a: a**3, lambda a, h: 3 * a**2)
    return nns.MLP([3, 4, 2], activation=cube)


def _custom_layer_net():
    net = nns.MLP([3, 4, 2])
    net.layers.insert(1, _Doubling())
    return net


def _non_finite_net():
    net = nns.MLP([3, 4, 2])
    net.params["b2"][1] = np.nan
    return net


class _Huber(MeanSquaredError):
    pass


@pytest.mark.parametrize(
    ("model", "member", "match"),
    [
        (_custom_activation_net, None, "activation: .*'cube', a function of its own"),
        (_custom_layer_net, None, "model: .*got a layer _Doubling"),
        (lambda: nns.MLP([3, 4, 2], loss=_Huber()), None, "model: .*got the loss _Huber"),
        (_non_finite_net, None, "model: expected finite weights.*'b2'"),
        (lambda: nns.MLP([3, 4, 2], population=3), None, "member: .*0..2 .* population of 3"),
        (lambda: nns.MLP([3, 4, 2], population=3), 3, "member: .*0..2"),
        (lambda: nns.MLP([3, 4, 2], population=3), True, "member: .*got True"),
        (lambda: nns.MLP([3, 4, 2]), 1, "member: expected member=0 or none"),
        (lambda: {"W1": np.zeros((3, 4))}, None, "model: expected an MLP"),
    ],
)
def test_refusals_name_what_and_write_nothing(tmp_path, model, member, match):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match=match):
        export_onnx(model(), path, member=member)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no temporary left


def test_refuses_a_path_that_cannot_be_written(tmp_path):
    with pytest.raises(ValueError, match="path: expected a file path, got the directory"):
        export_onnx(nns.MLP([3, 4, 2]), tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        export_onnx(nns.MLP([3, 4, 2]), tmp_path / "none" / "m.onnx")


def test_an_activation_is_known_by_its_function_not_its_name(tmp_path):
    mine = activations.Activation("my_tanh", activations.F.tanh, activations.F.tanh_grad)
    net = nns.MLP([3, 4, 2], activation=mine, seed=1)
    export_onnx(net, tmp_path / "m.onnx")
    out = run_onnx(tmp_path / "m.onnx", X, np.float64)
    np.testing.assert_allclose(out["probabilities"], net.predict_proba(X), 0, 1e-12)
    lookalike = activations.Activation("tanh", np.tanh, activations.F.tanh_grad)
    with pytest.raises(ValueError, match="'tanh', a function of its own"):
        build_model(nns.MLP([3, 4, 2], activation=lookalike))
