"""Losses: gradients by central differences, weights, soft targets, stability, R^2."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import network_gradient_check
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as nns
from nnscratch.core.losses import (
    MeanAbsoluteError,
    MeanSquaredError,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
    get_loss,
)

P, N, K = 3, 7, 4


def numeric_dz(loss, z, target, w=None, eps=1e-6):
    """Central differences of the objective ``sum_p L_p`` with respect to every logit.

    Logit ``z[p, ...]`` reaches only ``L_p`` (the population test pins that), so the
    difference of ``L_p`` alone is taken, which keeps round-off small.
    """
    dz = np.zeros_like(z)
    for i in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[i] += eps
        zm[i] -= eps
        dz[i] = (loss.forward(zp, target, w)[i[0]] - loss.forward(zm, target, w)[i[0]]) / (2 * eps)
    return dz


def test_members_do_not_leak(data):
    z, labels, _, w, cw = data
    loss = SoftmaxCrossEntropy(class_weight=cw)
    before = loss.forward(z, labels, w)
    z2 = z.copy()
    z2[1] += 5.0 * np.random.default_rng(9).normal(size=z[1].shape)
    after = loss.forward(z2, labels, w)
    assert before[0] == after[0] and before[2] == after[2] and before[1] != after[1]


def check_gradient(loss, z, target, w=None):
    value = loss.forward(z, target, w)
    assert value.shape == (z.shape[0],)
    analytic = loss.backward()
    np.testing.assert_allclose(analytic, numeric_dz(loss, z, target, w), rtol=1e-6, atol=1e-8)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(P, N, K))  # (P,N,K)
    labels = rng.integers(0, K, size=N)  # (N,)
    soft = rng.dirichlet(np.ones(K), size=N)  # (N,K)
    w = rng.uniform(0.1, 2.0, size=N)  # (N,)
    cw = rng.uniform(0.5, 2.0, size=K)  # (K,)
    return z, labels, soft, w, cw


# --- gradients -----------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("class_weighted", [False, True])
@pytest.mark.parametrize("soft", [False, True])
def test_cross_entropy_gradient(data, reduction, smoothing, weighted, class_weighted, soft):
    z, labels, soft_t, w, cw = data
    loss = SoftmaxCrossEntropy(reduction, smoothing, cw if class_weighted else None)
    check_gradient(loss, z, soft_t if soft else labels, w if weighted else None)


def test_cross_entropy_gradient_with_per_member_targets(data):
    z, _, _, _, _ = data
    rng = np.random.default_rng(1)
    labels = rng.integers(0, K, size=(P, N))  # each member its own rows, as in training
    w = rng.uniform(0.1, 2.0, size=(P, N))
    check_gradient(SoftmaxCrossEntropy(class_weight=np.arange(1, K + 1)), z, labels, w)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_gradient(data, reduction, weighted):
    z, labels, _, w, _ = data
    loss = SigmoidBinaryCrossEntropy(reduction, class_weight=[0.7, 1.9] if weighted else None)
    check_gradient(loss, z[..., :1], labels % 2, w if weighted else None)


@pytest.mark.parametrize("cls", [MeanSquaredError, MeanAbsoluteError])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_regression_gradient(data, cls, reduction, weighted):
    z, _, soft, w, _ = data  # soft rows serve as float targets (never equal to z: MAE's kink)
    check_gradient(cls(reduction), z, soft, w if weighted else None)


# --- values --------------------------------------------------------------------------------


def test_hand_worked_values():
    z = np.array([[[0.0, 0.0], [np.log(3.0), 0.0]]])  # (1,2,2)
    y = np.array([0, 0])
    # rows: -log(1/2) and -log(3/4)
    expected = (np.log(2.0) + np.log(4.0 / 3.0)) / 2
    assert SoftmaxCrossEntropy().forward(z, y)[0] == pytest.approx(expected, rel=1e-15)
    assert SoftmaxCrossEntropy("sum").forward(z, y)[0] == pytest.approx(2 * expected, rel=1e-15)
    # class weights [2, 1]: (2 l1 + 2 l2) / (2 + 2) = plain mean
    assert SoftmaxCrossEntropy(class_weight=[2.0, 1.0]).forward(z, y)[0] == pytest.approx(expected)
    # sample weights [3, 1]: (3 log 2 + log 4/3) / 4
    value = SoftmaxCrossEntropy().forward(z, y, np.array([3.0, 1.0]))[0]
    assert value == pytest.approx((3 * np.log(2.0) + np.log(4.0 / 3.0)) / 4, rel=1e-15)
    # binary: z = 0 gives log 2 for either label; z = log 3, y = 1: -log(3/4)
    bce = SigmoidBinaryCrossEntropy().forward(np.array([[[0.0], [np.log(3.0)]]]), np.array([0, 1]))
    assert bce[0] == pytest.approx((np.log(2.0) + np.log(4.0 / 3.0)) / 2, rel=1e-15)
    # regression: residuals 1, -2 (one output), then 2 outputs
    zr = np.array([[[1.0], [0.0]]])
    tr = np.array([[0.0], [2.0]])
    assert MeanSquaredError().forward(zr, tr)[0] == 2.5
    assert MeanAbsoluteError().forward(zr, tr)[0] == 1.5
    assert MeanSquaredError("sum").forward(zr, tr)[0] == 5.0
    z2 = np.array([[[1.0, 3.0]]])
    assert MeanSquaredError().forward(z2, np.array([[0.0, 0.0]]))[0] == 5.0  # mean over N K


def test_label_smoothing_matches_the_formula():
    z = np.array([[[2.0, -1.0, 0.5]]])
    log_p = z - np.log(np.exp(z).sum())
    eps = 0.3
    t = (1 - eps) * np.array([0.0, 1.0, 0.0]) + eps / 3
    expected = -(t * log_p).sum()
    assert SoftmaxCrossEntropy(label_smoothing=eps).forward(z, np.array([1]))[0] == pytest.approx(
        expected, rel=1e-14
    )


def test_class_weights_with_smoothing_follow_torch_formula(data):
    z, labels, _, w, cw = data
    eps = 0.1
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))  # (P,N,K)
    nll = -np.take_along_axis(log_p, labels[None, :, None], -1)[..., 0] * cw[labels]  # (P,N)
    smooth = -(log_p * cw).sum(axis=-1)  # (P,N)
    norm = cw[labels].sum()
    expected = ((1 - eps) * nll.sum(axis=1) + eps / K * smooth.sum(axis=1)) / norm
    got = SoftmaxCrossEntropy(label_smoothing=eps, class_weight=cw).forward(z, labels)
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_cross_entropy_matches_torch(data):
    torch = pytest.importorskip("torch")
    z, labels, soft, _, cw = data
    tz = torch.tensor(z[0], requires_grad=True)
    for target, tt in ((labels, torch.tensor(labels)), (soft, torch.tensor(soft))):
        for kw in ({}, {"label_smoothing": 0.2}):
            ref = torch.nn.functional.cross_entropy(tz, tt, **kw)
            got = SoftmaxCrossEntropy(label_smoothing=kw.get("label_smoothing", 0.0))
            assert got.forward(z[:1], target)[0] == pytest.approx(ref.item(), rel=1e-12)
    ref = torch.nn.functional.cross_entropy(
        tz, torch.tensor(labels), weight=torch.tensor(cw), label_smoothing=0.1
    )
    got = SoftmaxCrossEntropy(label_smoothing=0.1, class_weight=cw).forward(z[:1], labels)
    assert got[0] == pytest.approx(ref.item(), rel=1e-12)
    ref.backward()
    loss = SoftmaxCrossEntropy(label_smoothing=0.1, class_weight=cw)
    loss.forward(z[:1], labels)
    np.testing.assert_allclose(loss.backward()[0], tz.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_large_logits_stay_finite():
    z = np.array([[[1000.0, 0.0], [-1000.0, 1000.0]]])
    y = np.array([1, 0])
    with np.errstate(over="raise", invalid="raise"):
        ce = SoftmaxCrossEntropy()
        assert ce.forward(z, y)[0] == pytest.approx((1000.0 + 2000.0) / 2)
        assert np.all(np.isfinite(ce.backward()))
        bce = SigmoidBinaryCrossEntropy()
        zb = np.array([[[1000.0], [-1000.0]]])
        assert bce.forward(zb, np.array([0, 1]))[0] == pytest.approx(1000.0)
        np.testing.assert_allclose(bce.backward()[0, :, 0], [0.5, -0.5])


# --- weights -------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=N, max_size=N).filter(lambda c: sum(c) > 0))
def test_integer_sample_weights_equal_repeated_rows(counts):
    """Weighted mean ``sum w l / sum w``: weight 2 is the same row twice, weight 0 no row."""
    rng = np.random.default_rng(2)
    z = rng.normal(size=(2, N, K))
    y = rng.integers(0, K, size=N)
    counts = np.array(counts)
    repeat = np.repeat(np.arange(N), counts)
    for loss in (SoftmaxCrossEntropy(label_smoothing=0.1), MeanSquaredError()):
        target = y if loss.classifier else rng.normal(size=(N, K))
        weighted = loss.forward(z, target, counts.astype(float))
        dz_w = loss.backward()
        repeated = loss.forward(z[:, repeat], target[repeat])
        dz_r = np.zeros_like(z)
        np.add.at(dz_r, (slice(None), repeat), loss.backward())
        np.testing.assert_allclose(weighted, repeated, rtol=1e-12)
        np.testing.assert_allclose(dz_w, dz_r, rtol=1e-12, atol=1e-15)


def test_one_hot_targets_equal_integer_labels(data):
    z, labels, _, w, cw = data
    one_hot = np.eye(K)[labels]
    for kw in ({}, {"label_smoothing": 0.2}, {"class_weight": cw}):
        a, b = SoftmaxCrossEntropy(**kw), SoftmaxCrossEntropy(**kw)
        np.testing.assert_allclose(a.forward(z, labels, w), b.forward(z, one_hot, w), rtol=1e-13)
        np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-12, atol=1e-15)


def test_binary_matches_two_class_softmax():
    """sigmoid(z) is softmax([0, z]): the binary loss equals cross-entropy on [0, z]."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=(2, N, 1))
    y = rng.integers(0, 2, size=N)
    w = rng.uniform(0.5, 1.5, size=N)
    two = np.concatenate([np.zeros_like(z), z], axis=-1)
    bce, ce = SigmoidBinaryCrossEntropy(class_weight=[1.0, 3.0]), SoftmaxCrossEntropy()
    np.testing.assert_allclose(
        bce.forward(z, y, w), ce.forward(two, y, w * np.array([1.0, 3.0])[y]), rtol=1e-13
    )
    np.testing.assert_allclose(bce.output(z), ce.output(two), rtol=1e-13)


# --- networks with these losses ------------------------------------------------------------


@pytest.mark.parametrize(
    "loss, K_out",
    [
        (SoftmaxCrossEntropy(label_smoothing=0.1, class_weight=[1.0, 2.0, 0.5]), 3),
        (SigmoidBinaryCrossEntropy(class_weight=[2.0, 1.0]), 1),
        (MeanSquaredError(), 2),
        (MeanAbsoluteError("sum"), 2),
    ],
)
def test_network_gradients_with_each_loss(loss, K_out):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(6, 3))
    w = rng.uniform(0.2, 2.0, size=6)
    if loss.classifier:
        y = rng.integers(0, max(K_out, 2), size=6)
    else:
        y = rng.normal(size=(6, K_out))
    net = nns.MLP([3, 4, K_out], activation="tanh", loss=loss, seed=0, population=2)
    network_gradient_check(net, X, y, sample_weight=w)


def test_binary_network_api():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(8, 2))
    y = (X[:, 0] > 0).astype(int)
    net = nns.MLP([2, 4, 1], loss="binary_cross_entropy", seed=0)
    proba = net.predict_proba(X)
    assert proba.shape == (8, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    z = net.decision_function(X)[:, 0]
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-z)))
    np.testing.assert_array_equal(net.predict(X), (z > 0).astype(int))
    assert net.score(X, y) == np.mean(net.predict(X) == y)
    with pytest.raises(ValueError, match="sizes"):
        nns.MLP([2, 4, 2], loss="binary_cross_entropy")
    with pytest.raises(ValueError, match="y"):
        net.loss(X, y + 1)


def test_regression_network_api_and_r2():
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(6)
    X = rng.normal(size=(12, 3))
    y1 = rng.normal(size=12)
    y2 = rng.normal(size=(12, 2))
    w = rng.uniform(0.1, 1.0, size=12)
    net = nns.MLP([3, 5, 1], loss="mse", seed=0, population=2)
    assert not net.loss_fn.classifier
    pred = net.predict(X)
    assert pred.shape == (2, 12)
    for p in range(2):
        assert net.score(X, y1)[p] == pytest.approx(r2_score(y1, pred[p]), rel=1e-12)
        assert net.score(X, y1, sample_weight=w)[p] == pytest.approx(
            r2_score(y1, pred[p], sample_weight=w), rel=1e-12
        )
    single = nns.MLP([3, 5, 2], loss="mae", seed=1)
    assert single.predict(X).shape == (12, 2)
    assert single.score(X, y2) == pytest.approx(r2_score(y2, single.predict(X)), rel=1e-12)
    with pytest.raises(AttributeError, match="regressor"):
        single.predict_proba(X)
    with pytest.raises(ValueError, match="y"):
        net.loss(X, y2)  # two columns for one output


def test_soft_targets_through_the_network():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(10, 2))
    soft = rng.dirichlet(np.ones(3), size=10)
    net = nns.MLP([2, 4, 3], seed=0)
    hard = soft.argmax(axis=1)
    one_hot = np.eye(3)[hard]
    assert net.loss(X, one_hot) == pytest.approx(net.loss(X, hard), rel=1e-14)
    history = net.fit(X, soft, epochs=2, batch_size=4, validation_data=(X, soft))
    assert history["accuracy"].shape == (2, 1) and history["val_accuracy"].shape == (2, 1)
    assert net.score(X, soft) == np.mean(net.predict(X) == hard)
    with pytest.raises(ValueError, match="summing to 1"):
        net.loss(X, soft * 2)


# --- errors --------------------------------------------------------------------------------


def test_names_and_errors():
    assert isinstance(get_loss("cross_entropy"), SoftmaxCrossEntropy)
    assert isinstance(get_loss("binary_cross_entropy"), SigmoidBinaryCrossEntropy)
    assert isinstance(get_loss("mse"), MeanSquaredError)
    assert isinstance(get_loss("mae"), MeanAbsoluteError)
    with pytest.raises(ValueError, match="loss: expected one of: .*binary_cross_entropy.*mse"):
        get_loss("hinge")
    with pytest.raises(ValueError, match="label_smoothing"):
        SoftmaxCrossEntropy(label_smoothing=1.0)
    with pytest.raises(ValueError, match="reduction"):
        MeanSquaredError("max")
    with pytest.raises(ValueError, match="class_weight"):
        SoftmaxCrossEntropy(class_weight=[1.0, -1.0])
    with pytest.raises(ValueError, match="class_weight"):
        SigmoidBinaryCrossEntropy(class_weight=[1.0, 2.0, 3.0])
    net = nns.MLP([2, 3, 3], loss=SoftmaxCrossEntropy(class_weight=[1.0, 2.0]))
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match="class_weight"):
        net.loss(X, [0, 1, 2, 0])
    net = nns.MLP([2, 3, 3])
    for bad in ([1.0, 1.0, 1.0], [1.0, -1.0, 1.0, 1.0], [0.0] * 4, [np.nan, 1.0, 1.0, 1.0]):
        with pytest.raises(ValueError, match="sample_weight"):
            net.loss(X, [0, 1, 2, 0], sample_weight=bad)
