"""Compile the kernels ahead of time, into numba's disk cache (``nnscratch warmup``).

A run compiles the kernels it needs on first use, and ``engine="auto"`` leaves a run on
the NumPy loop when it is too short to repay that compile. :func:`warmup` compiles them
beforehand, so that every later run on this machine only loads them: once per machine of a
classroom, or once in the image they are made from. numba's cache is for the machine it was
compiled on (its CPU is part of the key): copying a cache folder (``NUMBA_CACHE_DIR``) is
safe between identical machines only; elsewhere numba compiles again.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np

from nnscratch.core.checks import fail
from nnscratch.core.network import MLP
from nnscratch.core.optim import SGD
from nnscratch.fast import ready
from nnscratch.fast.codes import ACTIVATIONS
from nnscratch.fast.epoch import LANES_FROM, CompiledEpoch, available

#: Every kernel, in the order they are compiled.
KERNELS = ("shuffle", "members", "lanes", "forward")


def _combinations(activations, dtypes, hidden_layers):
    """Check the arguments; every (activation, dtype, hidden layers) to compile."""
    activations = list(ACTIVATIONS) if activations == "all" else list(activations)
    for name in activations:
        if name not in ACTIVATIONS:
            raise fail("activations", f"names among {sorted(ACTIVATIONS)} or 'all'", name)
    dtypes = [np.dtype(d) for d in dtypes]
    for dtype in dtypes:
        if dtype not in (np.float32, np.float64):
            raise fail("dtypes", "float32 or float64", dtype)
    for h in hidden_layers:
        if not isinstance(h, (int, np.integer)) or not 0 <= h <= 8:
            raise fail("hidden_layers", "whole numbers of hidden layers from 0 to 8", h)
    return [(a, d, int(h)) for a in activations for d in dtypes for h in hidden_layers]


def _needs(activation: str, dtype, hidden: int, name: str) -> tuple[int, tuple]:
    """A kernel's activation code and arguments for a tiny run of this kind."""
    P = LANES_FROM if name in ("lanes", "forward") else 1
    net = MLP([2, *[4] * hidden, 2], activation=activation, dtype=dtype, population=P, seed=0)
    X, y = np.zeros((6, 2), dtype=dtype), np.zeros(6, dtype=np.int64)
    if name == "forward":
        from nnscratch.fast.forward import arguments

        return ACTIVATIONS[activation], arguments(net, X)
    epoch = CompiledEpoch(net, X, y, SGD(lr=0.1), batch_size=4)
    order = np.tile(np.arange(6), (P, 1))
    return epoch.kind, epoch._arguments(order, SimpleNamespace(active=np.ones(P, dtype=bool)))


def warmup(
    activations: Sequence[str] | str = ("relu",),
    dtypes: Sequence = ("float64",),
    hidden_layers: Sequence[int] = (1,),
    *,
    kernels: Sequence[str] = KERNELS,
    file=None,
) -> list[dict]:
    """Compile every kernel for these activations, dtypes and depths into numba's cache.

    The defaults are the tutorial's networks (ReLU, float64, one hidden layer), about 15 s
    on two cores; ``activations="all"``, ``dtypes=("float64", "float32")`` and
    ``hidden_layers=(0, 1, 2)`` compile everything the compiled path covers up to two hidden
    layers (91 kernels, about 6 minutes on two cores); ``kernels`` names which of
    :data:`KERNELS`.
    Kernels already cached are only loaded. Prints one line per kernel to ``file``
    (default stderr; ``False``: nothing) and returns one row per kernel: ``kernel``,
    ``activation``, ``dtype``, ``hidden_layers``, ``state`` before (``"loaded"``,
    ``"cached"`` or ``"cold"``) and ``seconds``.
    """
    combinations = _combinations(activations, dtypes, hidden_layers)
    for name in kernels:
        if name not in KERNELS:
            raise fail("kernels", f"names among {list(KERNELS)}", name)
    if not available():
        raise fail("warmup", "numba installed (pip install 'nnscratch[fast]')", "no numba")
    stream = sys.stderr if file is None else file
    rows, done = [], set()
    for activation, dtype, hidden in combinations:
        for name in (k for k in KERNELS if k in kernels):
            what = (name,) if name == "shuffle" else (name, activation, dtype, hidden)
            if what not in done:
                done.add(what)
                rows.append(_compile(*what))
                if stream is not False:
                    print(_line(rows[-1]), file=stream, flush=True)
    return rows


def _compile(name: str, activation=None, dtype=None, hidden=None) -> dict:
    """Run one kernel once on a tiny run of its kind: compiled, or loaded from the cache."""
    from nnscratch.fast import kernels
    from nnscratch.fast.llvm import compiled

    if name == "shuffle":
        kind, args = 0, kernels.shuffle_args()
    else:
        kind, args = _needs(activation, dtype, hidden, name)
    kernel = kernels.KERNELS[name](kind)
    state = kernels.state(kernel, args)
    start = time.perf_counter()
    # the settings a run compiles each under (numba's cache key does not hold them)
    with compiled(dtype) if name in ("lanes", "forward") else contextlib.nullcontext():
        kernel(*args, 0, 1)  # one thread: the first item (fast.threads.split)
    seconds = time.perf_counter() - start
    layers = None if hidden is None else hidden + 1
    ready.mark([ready.name(name, kind, None if dtype is None else np.dtype(dtype), layers)])
    dtype = None if dtype is None else str(np.dtype(dtype))
    return {
        "kernel": name,
        "activation": activation,
        "dtype": dtype,
        "hidden_layers": hidden,
        "state": state,
        "seconds": seconds,
    }


def _line(row: dict) -> str:
    """``lanes relu float64, 1 hidden: compiled in 61.2 s``."""
    what = " ".join(row[k] for k in ("kernel", "activation", "dtype") if row[k] is not None)
    if row["hidden_layers"] is not None:
        what += f", {row['hidden_layers']} hidden"
    how = f"compiled in {row['seconds']:.1f} s" if row["state"] == "cold" else "already cached"
    return f"{what}: {how}"


__all__ = ["KERNELS", "warmup"]
