"""The memory model of ``benchmarks/scaling.py`` is the estimate ``fit`` refuses by, and it
bounds what training and then evaluating a population allocates (no timing here)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from benchmarks import scaling

from nnscratch.core import checks
from nnscratch.core.optim import SGD
from nnscratch.core.train import evaluate
from nnscratch.tutorial import tutorial_network


def _moons_like(n: int):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 2))  # (N,2)
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def test_the_plot_draws_the_estimate_that_the_refusal_uses():
    assert scaling.memory_model is checks.population_bytes


@pytest.mark.parametrize("P, H", [(3, 5), (16, 32)])
def test_fit_refuses_exactly_above_the_plotted_estimate(monkeypatch, P, H):
    X, y = _moons_like(40)
    need = scaling.predicted_bytes(P, H, len(X))
    net = tutorial_network(2, H, 2, seed=0, population=P)
    fit = {"epochs": 1, "batch_size": scaling.BATCH, "optimizer": SGD(lr=0.1), "engine": "numpy"}
    monkeypatch.setattr(checks, "memory_bytes", lambda: int(need) - 1)
    with pytest.raises(ValueError, match=r"^batch_size: expected sizes that fit in memory"):
        net.fit(X, y, **fit)
    monkeypatch.setattr(checks, "memory_bytes", lambda: int(need) + 1)
    net.fit(X, y, **fit)


def test_the_evaluations_block_of_hidden_values_is_shared_by_the_population():
    sizes = [2, 64, 2]
    for P in (1, 64, 4096):
        shared = checks.population_bytes(P, sizes, 10, 3750) - P * checks.training_bytes(
            sizes, 10, 3750
        )
        assert 0 < shared <= 4 * 8 * max(checks.BLOCK, P * max(sizes))
    assert checks.population_bytes(5, sizes) == 5 * checks.training_bytes(sizes)  # no rows


def test_the_estimate_bounds_what_training_then_evaluating_allocates():
    X, y = _moons_like(400)
    P, H = 16, 32
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        net = tutorial_network(2, H, 2, seed=1, population=P)
        net.fit(X, y, epochs=2, batch_size=scaling.BATCH, optimizer=SGD(lr=1e-4), engine="numpy")
        evaluate(net, X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    need = scaling.predicted_bytes(P, H, len(X))
    assert need / 3 < peak - before <= need
