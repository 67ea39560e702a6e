"""Initialisers: the statistics of large draws, the papers cited, bias initialisers."""

from __future__ import annotations

import numpy as np
import pytest

import nnscratch as nns
from nnscratch.core import init as I

FAN_IN, FAN_OUT = 300, 500
SHAPE = (FAN_IN, FAN_OUT)  # 150,000 draws: the sample std is within ~0.2% of the truth


def draw(initializer, seed=0):
    return initializer(np.random.default_rng(seed), SHAPE, FAN_IN, FAN_OUT)


@pytest.mark.parametrize(
    "initializer, std",
    [
        (I.HeNormal(), np.sqrt(2.0 / FAN_IN)),
        (I.GlorotNormal(), np.sqrt(2.0 / (FAN_IN + FAN_OUT))),
        (I.LecunNormal(), np.sqrt(1.0 / FAN_IN)),
        (I.Normal(1.0), 1.0),
        (I.Normal(0.3), 0.3),
    ],
)
def test_normal_initialisers_have_the_stated_std(initializer, std):
    w = draw(initializer)
    assert w.shape == SHAPE
    assert abs(w.mean()) < 4 * std / np.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.01)


@pytest.mark.parametrize(
    "initializer, limit",
    [
        (I.HeUniform(), np.sqrt(6.0 / FAN_IN)),
        (I.GlorotUniform(), np.sqrt(6.0 / (FAN_IN + FAN_OUT))),
        (I.Uniform(0.05), 0.05),
    ],
)
def test_uniform_initialisers_have_the_stated_limits(initializer, limit):
    w = draw(initializer)
    assert w.min() >= -limit and w.max() <= limit
    assert w.min() < -0.999 * limit and w.max() > 0.999 * limit  # the limits are reached
    assert w.std() == pytest.approx(limit / np.sqrt(3.0), rel=0.01)  # U(-l, l): var l^2 / 3


def test_draws_come_only_from_the_given_generator():
    a, b = draw(I.HeNormal(), seed=5), draw(I.HeNormal(), seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, draw(I.HeNormal(), seed=6))


@pytest.mark.parametrize(
    "cls, author",
    [
        (I.HeNormal, "He et al., 2015"),
        (I.HeUniform, "He et al., 2015"),
        (I.GlorotNormal, "Glorot & Bengio, 2010"),
        (I.GlorotUniform, "Glorot & Bengio, 2010"),
        (I.LecunNormal, "LeCun et al., 1998"),
    ],
)
def test_docstrings_cite_the_paper(cls, author):
    assert author in cls.__doc__


def test_zeros_and_constant():
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(I.Zeros()(rng, (3,), 2, 3), np.zeros(3))
    np.testing.assert_array_equal(I.Constant(0.1)(rng, (2, 2), 2, 2), np.full((2, 2), 0.1))


def test_bias_initialisers_in_a_network():
    net = nns.MLP([2, 5, 3], bias_init=I.Constant(0.25), seed=0, population=2)
    np.testing.assert_array_equal(net.params["b1"], np.full((2, 5), 0.25))
    np.testing.assert_array_equal(net.params["b2"], np.full((2, 3), 0.25))
    zero = nns.MLP([2, 5, 3], seed=0)  # default "zeros"
    np.testing.assert_array_equal(zero.params["b1"], np.zeros(5))


def test_network_weights_follow_the_initialiser():
    net = nns.MLP([400, 300, 2], init="he", seed=1)
    assert net.params["W1"].std() == pytest.approx(np.sqrt(2.0 / 400), rel=0.02)
    net = nns.MLP([400, 300, 2], init="glorot_normal", seed=1)
    assert net.params["W1"].std() == pytest.approx(np.sqrt(2.0 / 700), rel=0.02)


def test_names_and_errors():
    assert isinstance(I.get_initializer("he"), I.HeNormal)
    assert isinstance(I.get_initializer("glorot"), I.GlorotUniform)
    custom = I.Normal(0.5)
    assert I.get_initializer(custom) is custom
    with pytest.raises(ValueError, match="init: expected one of: .*he_uniform"):
        I.get_initializer("kaiming")
    with pytest.raises(ValueError, match="std"):
        I.Normal(-1.0)
    with pytest.raises(ValueError, match="limit"):
        I.Uniform(-0.1)
