"""Activations: derivatives by central differences, hand-picked values, the registry."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nnscratch.core import activations as A
from nnscratch.core import functional as F
from nnscratch.core.network import MLP

NAMES = ["identity", "relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus", "gelu", "silu"]
# away from 0, where relu, leaky_relu and elu have a kink
POINTS = np.concatenate([np.linspace(-6.0, -0.05, 60), np.linspace(0.05, 6.0, 60)])


def numeric_derivative(f, a, eps=1e-6):
    return (f(a + eps) - f(a - eps)) / (2 * eps)


def test_every_builtin_is_registered():
    assert sorted(NAMES) == A.available_activations()


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_central_differences(name):
    act = A.get_activation(name)
    a = POINTS.copy()
    analytic = act.grad(a, act.f(a))
    np.testing.assert_allclose(analytic, numeric_derivative(act.f, a), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_population_shapes_and_input_untouched(name):
    act = A.get_activation(name)
    a = np.random.default_rng(0).normal(size=(3, 4, 5))  # (P,N,H)
    before = a.copy()
    h = act.f(a)
    g = act.grad(a, h)
    assert h.shape == g.shape == a.shape
    np.testing.assert_array_equal(a, before)  # the tutorial's relu changed its argument


@pytest.mark.parametrize(
    "name, a, expected",
    [
        ("identity", [-2.0, 3.0], [-2.0, 3.0]),
        ("relu", [-1.0, 0.0, 2.5], [0.0, 0.0, 2.5]),
        ("leaky_relu", [-2.0, 3.0], [-0.02, 3.0]),
        ("elu", [-1.0, 2.0], [np.exp(-1.0) - 1.0, 2.0]),
        ("tanh", [0.0, 1.0], [0.0, 0.7615941559557649]),
        ("sigmoid", [0.0, 2.0], [0.5, 0.8807970779778823]),
        ("softplus", [0.0, 1.0], [np.log(2.0), 1.3132616875182228]),
        # 0.5 * 1 * (1 + tanh(sqrt(2/pi) * 1.044715))
        ("gelu", [0.0, 1.0, -1.0], [0.0, 0.8411919906082768, -0.15880800939172324]),
        ("silu", [0.0, 1.0], [0.0, 0.7310585786300049]),
    ],
)
def test_hand_picked_values(name, a, expected):
    np.testing.assert_allclose(A.get_activation(name).f(np.array(a)), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "name, a, expected",
    [
        ("relu", [-1.0, 2.0], [0.0, 1.0]),
        ("leaky_relu", [-1.0, 2.0], [0.01, 1.0]),
        ("sigmoid", [0.0], [0.25]),
        ("tanh", [0.0], [1.0]),
        ("softplus", [0.0], [0.5]),
        ("gelu", [0.0], [0.5]),
        ("silu", [0.0], [0.5]),
        ("elu", [-1.0], [np.exp(-1.0)]),
    ],
)
def test_hand_picked_derivatives(name, a, expected):
    act = A.get_activation(name)
    a = np.array(a)
    np.testing.assert_allclose(act.grad(a, act.f(a)), expected, rtol=1e-12)


def test_large_inputs_do_not_overflow():
    a = np.array([-1000.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_array_equal(F.sigmoid(a), [0.0, 1.0])
        np.testing.assert_array_equal(F.softplus(a), [0.0, 1000.0])
        np.testing.assert_array_equal(F.silu(a), [-0.0, 1000.0])


@given(st.floats(-50, 50))
def test_sigmoid_symmetry_and_softplus_bounds(x):
    a = np.array([x])
    np.testing.assert_allclose(F.sigmoid(-a), 1.0 - F.sigmoid(a), atol=1e-15)
    assert F.softplus(a)[0] >= max(x, 0.0)
    assert F.softplus(a)[0] <= max(x, 0.0) + np.log(2.0) + 1e-12


def test_parametrised_leaky_relu_and_elu():
    a = POINTS.copy()
    for act in (A.leaky_relu(0.2), A.elu(0.5)):
        np.testing.assert_allclose(
            act.grad(a, act.f(a)), numeric_derivative(act.f, a), rtol=1e-7, atol=1e-8
        )
    assert A.leaky_relu(0.2).f(np.array([-1.0]))[0] == -0.2
    np.testing.assert_allclose(A.elu(0.5).f(np.array([-1.0])), 0.5 * (np.exp(-1.0) - 1.0))
    with pytest.raises(ValueError, match="alpha"):
        A.elu(0.0)
    with pytest.raises(ValueError, match="slope"):
        A.leaky_relu(-1.0)


def test_unknown_name_lists_the_accepted_ones():
    with pytest.raises(ValueError) as err:
        A.get_activation("swishy")
    message = str(err.value)
    assert "activation" in message and "swishy" in message
    for name in NAMES:
        assert name in message


def test_register_refuses_a_wrong_derivative_and_accepts_a_right_one():
    name = "cube_for_test"
    try:
        with pytest.raises(ValueError, match="grad"):
            A.register_activation(name, lambda a: a**3, lambda a, h: 2 * a**2)  # wrong: 3 a^2
        assert name not in A.available_activations()
        act = A.register_activation(name, lambda a: a**3, lambda a, h: 3 * a**2)
        assert A.get_activation(name) is act
        with pytest.raises(ValueError, match="name"):
            A.register_activation(name, lambda a: a**3, lambda a, h: 3 * a**2)
    finally:
        A._REGISTRY.pop(name, None)


def test_register_names_the_two_argument_derivative():
    """``grad`` takes ``(a, h)``: a one-argument derivative is refused by name, not by a
    TypeError from deep inside the check, and nothing is registered."""
    name = "cube_one_argument_grad"
    with pytest.raises(ValueError, match=r"^f, grad: expected f\(a\) and grad\(a, h\)") as e:
        A.register_activation(name, lambda a: a**3, lambda a: 3 * a**2)
    assert "got (<function" in str(e.value) and name not in A.available_activations()
    with pytest.raises(ValueError, match=r"^f, grad: expected f\(a\) and grad\(a, h\)"):
        A.register_activation(name, lambda a, b: a, lambda a, h: 1.0)
    with pytest.raises(ValueError, match="^f, grad: expected two callables"):
        A.register_activation(name, lambda a: a, "not callable")
    assert name not in A.available_activations()


def test_registered_activation_trains_in_a_network():
    import nnscratch as nns

    name = "softsign_for_test"
    try:
        nns.register_activation(
            name, lambda a: a / (1 + np.abs(a)), lambda a, h: (1 - np.abs(h)) ** 2
        )
        net = nns.MLP([2, 4, 2], activation=name, seed=0)
        X = np.array([[0.3, -0.2], [1.0, 0.5]])
        y = np.array([0, 1])
        g = net.gradients(X, y)["W1"]
        W = net.params["W1"]
        W[0, 0] += 1e-6
        up = net.loss(X, y)
        W[0, 0] -= 2e-6
        down = net.loss(X, y)
        W[0, 0] += 1e-6
        np.testing.assert_allclose(g[0, 0], (up - down) / 2e-6, rtol=1e-6, atol=1e-9)
    finally:
        A._REGISTRY.pop(name, None)


@pytest.mark.parametrize("name", NAMES)
def test_values_match_torch(name):
    torch = pytest.importorskip("torch")
    fns = {
        "identity": lambda t: t,
        "relu": torch.relu,
        "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.01),
        "elu": torch.nn.functional.elu,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "softplus": torch.nn.functional.softplus,
        "gelu": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
        "silu": torch.nn.functional.silu,
    }
    a = np.linspace(-8, 8, 101)
    t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    out = fns[name](t)
    out.sum().backward()
    act = A.get_activation(name)
    np.testing.assert_allclose(act.f(a), out.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(act.grad(a, act.f(a)), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", A.available_activations())
def test_float32_networks_stay_float32_through_every_activation(name):
    net = MLP([3, 4, 2], activation=name, dtype=np.float32, seed=0)
    X = np.linspace(-2, 2, 12, dtype=np.float32).reshape(4, 3)
    assert net.predict_proba(X).dtype == np.float32
    assert net.gradients(X, np.array([0, 1, 1, 0]))["W1"].dtype == np.float32
