"""The core's speed tricks against the plain formulas: ``python benchmarks/tricks.py``.

The NumPy loop of a population of small networks pays for the number of NumPy calls, not
for arithmetic; a few reductions and a lookup in it are cheaper written another way. Each
line times both ways on the shapes of the tutorial's ``test(..., 10, 10, 100)`` (100
members, batches of 10 rows, 64 hidden units, 2 classes), medians over repetitions, and
the seconds they add up to over that workload's 3750 steps (each is computed once a step).
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
P, N, H, K = 100, 10, 64, 2


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
    rows = [
        (
            "row max of (P,N,K) logits",
            lambda: z.max(axis=-1, keepdims=True),
            lambda: reduce_rows(np.maximum, z),
        ),
        (
            "row sum of (P,N,K) exps",
            lambda: z.sum(axis=-1, keepdims=True),
            lambda: reduce_rows(np.add, z),
        ),
        (
            "nll: log_p of each row's label",
            lambda: -np.take_along_axis(log_p, y[..., None], axis=-1)[..., 0],
            lambda: nll(log_p, y),
        ),
        ("db of the hidden layer (P,N,H)", lambda: dh.sum(axis=-2), lambda: (ones @ dh)[:, 0]),
        ("db of the output layer (P,N,K)", lambda: dz.sum(axis=-2), lambda: (ones @ dz)[:, 0]),
    ]
    print(f"CPU: {cpu_model()}; NumPy {np.__version__}, BLAS: {blas()}")
    print(f"{'':34s} {'plain us':>9s} {'trick us':>9s} {'ratio':>6s} {'W1 s saved':>10s}")
    for name, plain, trick in rows:
        np.testing.assert_allclose(plain(), trick(), rtol=1e-12)  # the same numbers
        a, b = per_call_us(plain), per_call_us(trick)
        print(f"{name:34s} {a:9.2f} {b:9.2f} {a / b:6.1f} {STEPS * (a - b) / 1e6:10.3f}")


if __name__ == "__main__":
    main()
