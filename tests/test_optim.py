"""Optimizers and gradient clipping: hand-written update rules, torch, populations, errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_blobs
from hypothesis import given, settings
from hypothesis import strategies as st

import nnscratch as nns
from nnscratch.core.optim import SGD, AdaGrad, Adam, AdamW, RMSprop, clip_grad_norm

TOL = {"rtol": 1e-12, "atol": 1e-14}
P = 2
SHAPES = {"W": (P, 3, 2), "b": (P, 2)}
# gradient sizes that rise and fall, so that AMSGrad's running maximum matters
SCALES = [3.0, 1.0, 0.2, 2.0, 0.1]


def problem(seed=0, dtype=np.float64):
    """Fixed parameters and a fixed sequence of five gradients."""
    rng = np.random.default_rng(seed)
    theta = {k: rng.normal(size=s).astype(dtype) for k, s in SHAPES.items()}
    grads = [{k: (c * rng.normal(size=s)).astype(dtype) for k, s in SHAPES.items()} for c in SCALES]
    return theta, grads


def run(opt, theta, grads):
    """Copies of ``theta`` after each step of ``opt`` (which must not mutate the gradients)."""
    theta = {k: v.copy() for k, v in theta.items()}
    snapshot = [{k: v.copy() for k, v in g.items()} for g in grads]
    out = []
    for g, before in zip(grads, snapshot, strict=True):
        opt.step(theta, g)
        for k in g:
            np.testing.assert_array_equal(g[k], before[k])  # gradients never mutated
        out.append({k: v.copy() for k, v in theta.items()})
    return out


# --- the update rules, written out plainly (float64, one array at a time) -------------------


def ref_sgd(theta, gs, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
    b, out = None, []
    for g in gs:
        g = g + weight_decay * theta
        if momentum:
            b = g if b is None else momentum * b + g
            g = g + momentum * b if nesterov else b
        theta = theta - lr * g
        out.append(theta)
    return out


def ref_adagrad(
    theta, gs, lr=0.01, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10
):
    s, out = np.full_like(theta, initial_accumulator_value), []
    for t, g in enumerate(gs, start=1):
        g = g + weight_decay * theta
        s = s + g**2
        theta = theta - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        out.append(theta)
    return out


def ref_rmsprop(
    theta, gs, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False
):
    v, gbar, b, out = 0 * theta, 0 * theta, 0 * theta, []
    for g in gs:
        g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g**2
        v_tilde = v
        if centered:
            gbar = alpha * gbar + (1 - alpha) * g
            v_tilde = v - gbar**2
        if momentum:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            theta = theta - lr * b
        else:
            theta = theta - lr * g / (np.sqrt(v_tilde) + eps)
        out.append(theta)
    return out


def ref_adam(
    theta,
    gs,
    lr=1e-3,
    betas=(0.9, 0.999),
    eps=1e-8,
    weight_decay=0.0,
    amsgrad=False,
    decoupled=False,
):
    b1, b2 = betas
    m, v, v_max, out = 0 * theta, 0 * theta, 0 * theta, []
    for t, g in enumerate(gs, start=1):
        if decoupled:
            theta = theta * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        v_max = np.maximum(v_max, v)
        m_hat = m / (1 - b1**t)
        v_hat = (v_max if amsgrad else v) / (1 - b2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(theta)
    return out


def ref_adamw(theta, gs, weight_decay=1e-2, **kw):
    return ref_adam(theta, gs, weight_decay=weight_decay, decoupled=True, **kw)


CASES = [
    (SGD, ref_sgd, {"lr": 0.1}),
    (SGD, ref_sgd, {"lr": 0.1, "momentum": 0.9}),
    (SGD, ref_sgd, {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    (SGD, ref_sgd, {"lr": 0.1, "weight_decay": 0.3}),
    (SGD, ref_sgd, {"lr": 0.1, "momentum": 0.5, "nesterov": True, "weight_decay": 0.3}),
    (AdaGrad, ref_adagrad, {"lr": 0.1}),
    (AdaGrad, ref_adagrad, {"lr": 0.1, "lr_decay": 0.3}),
    (
        AdaGrad,
        ref_adagrad,
        {"lr": 0.1, "weight_decay": 0.2, "initial_accumulator_value": 0.5, "eps": 0.1},
    ),
    (RMSprop, ref_rmsprop, {"lr": 0.01}),
    (RMSprop, ref_rmsprop, {"lr": 0.01, "alpha": 0.9, "eps": 0.1}),
    (RMSprop, ref_rmsprop, {"lr": 0.01, "centered": True}),
    (RMSprop, ref_rmsprop, {"lr": 0.01, "momentum": 0.5}),
    (RMSprop, ref_rmsprop, {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.2}),
    (Adam, ref_adam, {"lr": 0.05}),
    (Adam, ref_adam, {"lr": 0.05, "betas": (0.8, 0.95), "eps": 0.1}),
    (Adam, ref_adam, {"lr": 0.05, "weight_decay": 0.2}),
    (Adam, ref_adam, {"lr": 0.05, "amsgrad": True}),
    (Adam, ref_adam, {"lr": 0.05, "amsgrad": True, "weight_decay": 0.2, "betas": (0.5, 0.9)}),
    (AdamW, ref_adamw, {"lr": 0.05}),
    (AdamW, ref_adamw, {"lr": 0.05, "weight_decay": 0.2, "amsgrad": True}),
    (AdamW, ref_adamw, {"lr": 0.05, "betas": (0.8, 0.95), "eps": 0.1}),
]
IDS = [f"{cls.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for cls, _, kw in CASES]


@pytest.mark.parametrize(("cls", "ref", "kwargs"), CASES, ids=IDS)
def test_matches_update_rule_written_by_hand(cls, ref, kwargs):
    theta, grads = problem()
    ours = run(cls(**kwargs), theta, grads)
    for key in SHAPES:
        expected = ref(theta[key], [g[key] for g in grads], **kwargs)
        for step, (got, want) in enumerate(zip(ours, expected, strict=True)):
            np.testing.assert_allclose(got[key], want, **TOL, err_msg=f"{key} step {step + 1}")


def test_hand_worked_momentum_steps():
    """lr 0.5, momentum 0.5: b1 = g1 = 2 -> theta 1 - 1 = 0; b2 = 0.5*2 + 4 = 5 -> 0 - 2.5."""
    theta = {"w": np.array([[1.0]])}
    opt = SGD(lr=0.5, momentum=0.5)
    opt.step(theta, {"w": np.array([[2.0]])})
    assert theta["w"][0, 0] == 0.0
    opt.step(theta, {"w": np.array([[4.0]])})
    assert theta["w"][0, 0] == -2.5
    assert opt.t == 2
    np.testing.assert_array_equal(opt.state["w"]["momentum_buffer"], [[5.0]])


def test_first_adam_step_moves_every_weight_by_lr():
    """With bias correction, step 1 is ``-lr g / (|g| + eps)``: a move of ``lr`` per weight."""
    theta, grads = problem()
    after = run(Adam(lr=0.01, eps=1e-12), theta, grads[:1])[0]
    for key in SHAPES:
        np.testing.assert_allclose(
            after[key] - theta[key], -0.01 * np.sign(grads[0][key]), rtol=1e-9
        )


# --- torch, step for step -----------------------------------------------------------------


def torch_class(cls):
    torch = pytest.importorskip("torch")
    names = {SGD: "SGD", AdaGrad: "Adagrad", RMSprop: "RMSprop", Adam: "Adam", AdamW: "AdamW"}
    return torch, getattr(torch.optim, names[cls])


def torch_run(cls, kwargs, theta, grads, clip=None):
    """Members as separate tensors so torch can clip each member's norm on its own."""
    torch, tcls = torch_class(cls)
    tensors = {
        (k, p): torch.tensor(v[p], requires_grad=True) for k, v in theta.items() for p in range(P)
    }
    opt = tcls(list(tensors.values()), **kwargs)
    out = []
    for g in grads:
        for (k, p), t in tensors.items():
            t.grad = torch.tensor(g[k][p])
        if clip is not None:
            for p in range(P):
                member = [t for (_, q), t in tensors.items() if q == p]
                torch.nn.utils.clip_grad_norm_(member, clip)
        opt.step()
        out.append({k: np.stack([tensors[k, p].detach().numpy() for p in range(P)]) for k in theta})
    return out


@pytest.mark.parametrize(("cls", "ref", "kwargs"), CASES, ids=IDS)
def test_matches_torch_step_for_step(cls, ref, kwargs):
    theta, grads = problem(seed=1)
    expected = torch_run(cls, kwargs, theta, grads)
    for got, want in zip(run(cls(**kwargs), theta, grads), expected, strict=True):
        for key in SHAPES:
            np.testing.assert_allclose(got[key], want[key], **TOL, err_msg=key)


@pytest.mark.parametrize("cls", [SGD, AdaGrad, RMSprop, Adam, AdamW])
def test_clip_norm_matches_torch_clip_grad_norm_per_member(cls):
    theta, grads = problem(seed=2)
    # member 0's gradients are tiny (never clipped), member 1's are clipped at some steps
    for g in grads:
        for v in g.values():
            v[0] *= 0.01
    expected = torch_run(cls, {"lr": 0.05}, theta, grads, clip=1.5)
    for got, want in zip(run(cls(lr=0.05, clip_norm=1.5), theta, grads), expected, strict=True):
        for key in SHAPES:
            np.testing.assert_allclose(got[key], want[key], **TOL, err_msg=key)


# --- per-member hyperparameters and populations ---------------------------------------------


def pick(value, p):
    """Member ``p``'s hyperparameters, given as lists per member (tuples and dicts recurse)."""
    if isinstance(value, list):
        return value[p]
    if isinstance(value, tuple):
        return tuple(pick(v, p) for v in value)
    if isinstance(value, dict):
        return {k: pick(v, p) for k, v in value.items()}
    return value


PER_MEMBER = [
    (SGD, {"lr": [0.1, 0.05, 0.2], "momentum": [0.9, 0.0, 0.5], "weight_decay": [0.0, 0.1, 0.2]}),
    (SGD, {"lr": [0.1, 0.05, 0.2], "momentum": [0.9, 0.3, 0.5], "nesterov": True}),
    (
        AdaGrad,
        {
            "lr": [0.1, 0.3, 0.2],
            "lr_decay": [0.0, 0.1, 0.5],
            "eps": [1e-10, 0.1, 0.01],
            "initial_accumulator_value": [0.0, 0.5, 1.0],
            "weight_decay": [0.1, 0.0, 0.2],
        },
    ),
    (
        RMSprop,
        {
            "lr": [0.01, 0.03, 0.02],
            "alpha": [0.99, 0.9, 0.5],
            "eps": [1e-8, 0.1, 0.01],
            "momentum": [0.0, 0.5, 0.9],
            "weight_decay": [0.1, 0.0, 0.2],
            "centered": True,
        },
    ),
    (
        Adam,
        {
            "lr": [0.01, 0.03, 0.02],
            "betas": ([0.9, 0.8, 0.5], [0.999, 0.9, 0.95]),
            "eps": [1e-8, 0.1, 0.01],
            "weight_decay": [0.0, 0.1, 0.2],
            "amsgrad": True,
        },
    ),
    (
        AdamW,
        {
            "lr": [0.01, 0.03, 0.02],
            "betas": (0.9, [0.999, 0.9, 0.95]),
            "weight_decay": [0.0, 0.1, 0.2],
            "clip_norm": [0.5, 10.0, 1.0],
        },
    ),
]
PM_IDS = [cls.__name__ + str(i) for i, (cls, _) in enumerate(PER_MEMBER)]


@pytest.mark.parametrize(("cls", "kwargs"), PER_MEMBER, ids=PM_IDS)
def test_per_member_hyperparameters_equal_members_run_alone(cls, kwargs):
    rng = np.random.default_rng(3)
    shapes = {"W": (3, 4, 2), "b": (3, 2)}
    theta = {k: rng.normal(size=s) for k, s in shapes.items()}
    grads = [{k: c * rng.normal(size=s) for k, s in shapes.items()} for c in SCALES]
    together = run(cls(**kwargs), theta, grads)
    for p in range(3):
        alone = run(
            cls(**pick(kwargs, p)),
            {k: v[p : p + 1] for k, v in theta.items()},
            [{k: v[p : p + 1] for k, v in g.items()} for g in grads],
        )
        for step in range(len(grads)):
            for key in shapes:
                np.testing.assert_allclose(
                    together[step][key][p], alone[step][key][0], rtol=1e-14, atol=1e-15
                )


@pytest.mark.parametrize(("cls", "kwargs"), PER_MEMBER, ids=PM_IDS)
def test_population_trained_with_optimizer_equals_members_trained_alone(cls, kwargs):
    X, y = make_blobs(n=30, n_features=2, n_classes=3, seed=4)
    init = [np.random.SeedSequence(7 + p) for p in range(3)]
    shuffle = [50 + p for p in range(3)]
    pop = nns.MLP([2, 8, 3], population=3, seed=init)
    pop.fit(X, y, epochs=2, batch_size=7, optimizer=cls(**kwargs), seed=shuffle)
    for p in range(3):
        single = nns.MLP([2, 8, 3], seed=[init[p]])
        single.fit(
            X, y, epochs=2, batch_size=7, optimizer=cls(**pick(kwargs, p)), seed=[shuffle[p]]
        )
        for key, value in single.params.items():
            np.testing.assert_allclose(pop.params[key][p], value, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("cls", "kwargs"), PER_MEMBER, ids=PM_IDS)
def test_float32_stays_float32(cls, kwargs):
    theta, grads = problem(dtype=np.float32)
    scalar = {**pick(kwargs, 0), "clip_norm": 1.0}
    per_member = {**scalar, "lr": [scalar["lr"]] * P}  # (P,) values are cast to float32 too
    expected = run(
        cls(**scalar),
        {k: v.astype(np.float64) for k, v in theta.items()},
        [{k: v.astype(np.float64) for k, v in g.items()} for g in grads],
    )[-1]
    for opt in (cls(**scalar), cls(**per_member)):
        after = run(opt, theta, grads)[-1]
        assert all(v.dtype == np.float32 for v in after.values())
        assert all(a.dtype == np.float32 for s in opt.state.values() for a in s.values())
        for key in SHAPES:
            np.testing.assert_allclose(after[key], expected[key], rtol=1e-4, atol=1e-5)


def test_float32_training_keeps_dtype():
    X, y = make_blobs(n=20, n_features=2, n_classes=3)
    net = nns.MLP([2, 5, 3], population=2, seed=0, dtype=np.float32)
    net.fit(X, y, epochs=2, batch_size=8, optimizer=Adam(lr=[0.01, 0.02], clip_norm=1.0))
    assert all(v.dtype == np.float32 for v in net.params.values())


# --- clipping -------------------------------------------------------------------------------


def test_clip_grad_norm_per_member():
    g = {"W": np.array([[[3.0, 0.0]], [[0.3, 0.0]]]), "b": np.array([[4.0], [0.4]])}
    before = {k: v.copy() for k, v in g.items()}
    clipped, norms = clip_grad_norm(g, 1.0)
    np.testing.assert_allclose(norms, [5.0, 0.5], rtol=1e-15)  # 3-4-5 triangles, per member
    for k in g:
        np.testing.assert_array_equal(g[k], before[k])  # input untouched
        np.testing.assert_array_equal(clipped[k][1], g[k][1])  # member under the limit: as is
        np.testing.assert_allclose(clipped[k][0], g[k][0] / (5.0 + 1e-6), rtol=1e-15)
        assert clipped[k] is not g[k]
    # a per-member limit: member 0 may keep 10, member 1 only 0.1
    clipped, _ = clip_grad_norm(g, [10.0, 0.1])
    np.testing.assert_array_equal(clipped["W"][0], g["W"][0])
    np.testing.assert_allclose(clipped["b"][1], [0.4 * 0.1 / (0.5 + 1e-6)], rtol=1e-15)


@settings(max_examples=40, deadline=None)
@given(
    scales=st.lists(st.floats(1e-3, 1e3), min_size=3, max_size=3),
    max_norm=st.floats(1e-2, 1e2),
)
def test_clipped_norms_are_at_most_max_norm(scales, max_norm):
    rng = np.random.default_rng(0)
    g = {
        "W": rng.normal(size=(3, 4, 5)) * np.array(scales)[:, None, None],
        "b": rng.normal(size=(3, 5)) * np.array(scales)[:, None],
    }
    clipped, norms = clip_grad_norm(g, max_norm)
    flat = np.concatenate([g["W"].reshape(3, -1), g["b"]], axis=1)
    np.testing.assert_allclose(norms, np.linalg.norm(flat, axis=1), rtol=1e-12)
    new = np.linalg.norm(
        np.concatenate([clipped["W"].reshape(3, -1), clipped["b"]], axis=1), axis=1
    )
    assert np.all(new <= max_norm * (1 + 1e-12))
    np.testing.assert_allclose(
        new, np.minimum(norms, max_norm * norms / (norms + 1e-6)), rtol=1e-12
    )


def test_optimizer_clip_norm_equals_clipping_first():
    theta, grads = problem()
    clipped = [clip_grad_norm(g, 2.0)[0] for g in grads]
    for a, b in zip(
        run(Adam(lr=0.05, clip_norm=2.0), theta, grads),
        run(Adam(lr=0.05), theta, clipped),
        strict=True,
    ):
        for key in SHAPES:
            np.testing.assert_array_equal(a[key], b[key])


# --- state, hyperparameters, errors ---------------------------------------------------------


@pytest.mark.parametrize(("cls", "kwargs"), PER_MEMBER, ids=PM_IDS)
def test_state_dict_round_trip_continues_identically(cls, kwargs):
    rng = np.random.default_rng(5)
    theta = {"W": rng.normal(size=(3, 2, 2))}
    grads = [{"W": rng.normal(size=(3, 2, 2))} for _ in range(4)]
    a = cls(**kwargs)
    first = run(a, theta, grads[:2])[-1]
    saved = a.state_dict()
    b = get_fresh(cls)
    b.load_state_dict(saved)
    assert b.t == 2
    for key, value in saved["state"]["W"].items():
        value += 1.0  # the saved dict holds copies: changing it changes neither optimizer
        assert not np.array_equal(b.state["W"][key], value)
    np.testing.assert_array_equal(
        run(a, first, grads[2:])[-1]["W"], run(b, first, grads[2:])[-1]["W"]
    )
    a.reset()
    assert a.state == {} and a.t == 0


def get_fresh(cls):
    return nns.get_optimizer(cls.__name__.lower())


def test_get_optimizer():
    assert isinstance(nns.get_optimizer("adam", lr=0.1), Adam)
    assert isinstance(nns.get_optimizer("AdamW"), AdamW)
    assert nns.get_optimizer("sgd", lr=0.3, momentum=0.9).momentum == 0.9
    with pytest.raises(ValueError, match="adagrad, adam, adamw, rmsprop, sgd"):
        nns.get_optimizer("lbfgs")


def test_sgd_keeps_its_simple_interface():
    theta = {"w": np.array([[1.0, 2.0]])}
    SGD(lr=0.1).step(theta, {"w": np.array([[10.0, -10.0]])})
    np.testing.assert_allclose(theta["w"], [[0.0, 3.0]])
    assert SGD().lr == 0.01


BAD = [
    (SGD, {"lr": 0.0}, "lr"),
    (SGD, {"lr": -0.1}, "lr"),
    (SGD, {"lr": [0.1, -0.1]}, "lr"),
    (SGD, {"momentum": -0.5}, "momentum"),
    (SGD, {"weight_decay": -1.0}, "weight_decay"),
    (SGD, {"nesterov": True}, "momentum"),
    (SGD, {"momentum": [0.9, 0.0], "nesterov": True}, "momentum"),
    (SGD, {"clip_norm": 0.0}, "clip_norm"),
    (AdaGrad, {"eps": 0.0}, "eps"),
    (AdaGrad, {"lr_decay": -0.1}, "lr_decay"),
    (AdaGrad, {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
    (RMSprop, {"alpha": 1.0}, "alpha"),
    (RMSprop, {"eps": -1e-8}, "eps"),
    (RMSprop, {"momentum": -0.1}, "momentum"),
    (Adam, {"betas": (1.0, 0.999)}, r"betas\[0\]"),
    (Adam, {"betas": (0.9, -0.1)}, r"betas\[1\]"),
    (Adam, {"betas": 0.9}, "betas"),
    (Adam, {"eps": 0.0}, "eps"),
    (Adam, {"weight_decay": -0.1}, "weight_decay"),
    (AdamW, {"lr": float("nan")}, "lr"),
    (AdamW, {"weight_decay": -0.1}, "weight_decay"),
]


@pytest.mark.parametrize(
    ("cls", "kwargs", "name"), BAD, ids=[f"{c.__name__}-{n}" for c, _, n in BAD]
)
def test_bad_hyperparameters_raise_naming_the_parameter(cls, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}: expected"):
        cls(**kwargs)


def test_hyperparameters_checked_on_assignment_and_at_step_time():
    opt = Adam(lr=0.1)
    with pytest.raises(ValueError, match="^lr: expected"):
        opt.lr = -1.0
    opt.lr = 0.0  # a schedule may anneal to zero
    opt.lr = [0.1, 0.2, 0.3]  # three members...
    theta, grads = problem()  # ...but the parameters have two
    with pytest.raises(ValueError, match=r"^lr: expected a scalar or an array of shape \(2,\)"):
        opt.step(theta, grads[0])
    with pytest.raises(ValueError, match="^max_norm"):
        clip_grad_norm(grads[0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="read-only"):
        opt.lr[0] = 1.0  # per-member values are replaced, never changed in place


def test_new_lr_takes_effect_at_the_next_step():
    theta, grads = problem()
    opt = SGD(lr=[0.1, 0.2])
    opt.step({k: v.copy() for k, v in theta.items()}, grads[0])
    opt.lr = [1.0, 0.5]
    moved = {k: v.copy() for k, v in theta.items()}
    opt.step(moved, grads[1])
    np.testing.assert_allclose(moved["b"], theta["b"] - [[1.0], [0.5]] * grads[1]["b"], **TOL)


def test_state_shape_mismatch_asks_for_reset():
    opt = Adam()
    opt.step({"W": np.zeros((2, 3))}, {"W": np.ones((2, 3))})
    with pytest.raises(ValueError, match="reset"):
        opt.step({"W": np.zeros((2, 4))}, {"W": np.ones((2, 4))})
    opt.reset()
    opt.step({"W": np.zeros((2, 4))}, {"W": np.ones((2, 4))})


def test_sgd_updates_without_a_temporary_and_exactly_as_theta_minus_lr_g():
    import tracemalloc

    rng = np.random.default_rng(0)
    theta = {k: rng.normal(size=(3, 200, 100)) for k in ("W1", "W2")}  # same shape: one buffer
    grads = [{k: rng.normal(size=(3, 200, 100)) for k in theta} for _ in range(3)]
    lr = np.array([0.1, 0.01, 0.001])
    expected = {k: v.copy() for k, v in theta.items()}
    opt = SGD(lr=lr)
    opt.step(theta, grads[0])  # the first step makes the buffer
    tracemalloc.start()
    for g in grads[1:]:
        opt.step(theta, g)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < grads[0]["W1"].nbytes / 10  # 480 kB each; `lr * g` would allocate one
    for g in grads:
        for k in expected:
            expected[k] -= lr[:, None, None] * g[k]
    for k in theta:
        np.testing.assert_array_equal(theta[k], expected[k])  # bit for bit
