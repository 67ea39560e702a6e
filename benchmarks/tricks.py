"""The core's speed tricks against the plain formulas: ``python benchmarks/tricks.py``.

The NumPy loop of a population of small networks pays for the number of NumPy calls, not
for arithmetic; a few reductions and a lookup in it are cheaper written another way. Each
line times both ways on the shapes of the tutorial's ``test(..., 10, 10, 100)`` (100
members, batches of 10 rows, 64 hidden units, 2 classes), or of one such network (W3),
medians over repetitions, and the seconds they add up to over that workload's steps (each
is computed once a step).
"""

from __future__ import annotations

import statistics
import sys
import timeit
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import blas, cpu_model  # noqa: E402
from nnscratch.core.functional import log_softmax, nll, reduce_rows  # noqa: E402

STEPS = 3750  # W1: 100 members x 375 batches x 10 epochs, all members in one step
W3_STEPS = 37500  # W3: one network, 375 batches x 100 epochs
P, N, H, K = 100, 10, 64, 2


def take_along(log_p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``nll`` as it was written before: the labels broadcast, then ``take_along_axis``."""
    y = np.broadcast_to(y, log_p.shape[:-1])
    return -np.take_along_axis(log_p, y[..., None], axis=-1)[..., 0]


def per_call_us(fn, number: int = 5000, repeat: int = 7) -> float:
    """Median microseconds per call over ``repeat`` runs of ``number`` calls."""
    runs = timeit.repeat(fn, number=number, repeat=repeat)
    return statistics.median(t / number * 1e6 for t in runs)


def main() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(P, N, K))  # logits
    dh, dz = rng.normal(size=(P, N, H)), rng.normal(size=(P, N, K))  # a layer's dL/dy
    ones = np.ones((1, N))
    log_p, y = log_softmax(z), rng.integers(0, K, size=(P, N))  # a batch's labels
    log_p1, y1 = log_p[:1], y[:1]  # one network's batch (W3)
    rows = [
        (
            "row max of (P,N,K) logits",
            lambda: z.max(axis=-1, keepdims=True),
            lambda: reduce_rows(np.maximum, z),
            STEPS,
        ),
        (
            "row sum of (P,N,K) exps",
            lambda: z.sum(axis=-1, keepdims=True),
            lambda: reduce_rows(np.add, z),
            STEPS,
        ),
        (
            "nll of (P,N,K) log-probabilities",
            lambda: take_along(log_p, y),
            lambda: nll(log_p, y),
            STEPS,
        ),
        (
            "nll of one network's (1,N,K) [W3]",
            lambda: take_along(log_p1, y1),
            lambda: nll(log_p1, y1),
            W3_STEPS,
        ),
        (
            "db of the hidden layer (P,N,H)",
            lambda: dh.sum(axis=-2),
            lambda: (ones @ dh)[:, 0],
            STEPS,
        ),
        (
            "db of the output layer (P,N,K)",
            lambda: dz.sum(axis=-2),
            lambda: (ones @ dz)[:, 0],
            STEPS,
        ),
    ]
    print(f"CPU: {cpu_model()}; NumPy {np.__version__}, BLAS: {blas()}")
    print(f"{'':34s} {'plain us':>9s} {'trick us':>9s} {'ratio':>6s} {'s saved':>8s}")
    for name, plain, trick, steps in rows:
        np.testing.assert_allclose(plain(), trick(), rtol=1e-12)  # the same numbers
        a, b = per_call_us(plain), per_call_us(trick)
        print(f"{name:34s} {a:9.2f} {b:9.2f} {a / b:6.1f} {steps * (a - b) / 1e6:8.3f}")
    print("s saved: over W1's 3750 steps, or W3's 37500 where marked [W3]")


if __name__ == "__main__":
    main()
