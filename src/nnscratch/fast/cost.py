"""What a run costs on each path, and when the compiled path repays its compile (no numba).

``engine="auto"`` must never make a call slower than the NumPy loop would be, the compile
included. The first run of a kernel on a machine compiles it (5-10 s on two cores;
numba caches the result on disk, and later runs load it in a fraction of a second), so the
choice weighs estimates, made from the workload's size before any work:

- ``numpy_seconds``: the NumPy loop, a fixed price per step and layer (NumPy's call
  overhead, paid per member in a population's batched products) plus its multiply-adds;
- ``fast_seconds``: the compiled loops, their multiply-adds at a loop's speed;
- ``ready_seconds``: what the kernels a run needs cost before their first step: nothing
  when this process has them, ``LOAD_S`` each from numba's disk cache, ``COMPILE_S`` each to
  compile.

The compiled path is taken when ``numpy_seconds > ready_seconds + fast_seconds``
(:func:`repays`). The constants are measured on a 2-core machine with other work running
(the same load for the NumPy and the compile figures, which scale together from one machine
to another); ``nnscratch warmup`` compiles every kernel ahead of time, after which only
``LOAD_S`` is weighed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

#: The NumPy loop's fixed price per minibatch step, per layer of a step, and per member and
#: layer of a step (a population's batched products of small matrices), in seconds.
STEP_S, LAYER_S, MEMBER_LAYER_S = 20e-6, 25e-6, 1.2e-6

#: Multiply-add rate (FLOP/s) of the NumPy loop's products, taken high: the estimate of the
#: NumPy time is then a low one, and the compiled path is taken only where it surely wins.
NUMPY_FLOPS = 10e9

#: Rate of the compiled loops (FLOP/s; W1 warm runs at about 19e9 on 2 cores) and their
#: price per member and step.
FAST_FLOPS, FAST_STEP_S = 10e9, 0.5e-6

#: Seconds to compile each kernel on a cold cache, by its name in
#: :mod:`nnscratch.fast.kernels` (ReLU, float64, one hidden layer; ``nnscratch warmup`` on a
#: fresh ``NUMBA_CACHE_DIR``): measured on 2 cores with the machine to itself, lanes 9.1 s,
#: members 4.3 s, forward 2.3 s, shuffle 0.8 s, and taken about 10% higher. Under load they
#: take up to twice as long, and the estimates then err towards compiling.
COMPILE_S = {"lanes": 10.0, "members": 5.0, "shuffle": 1.0, "forward": 3.0}

#: Seconds to import numba and load one kernel from its disk cache.
LOAD_S = 0.3


def dense_flops(sizes: Iterable[int]) -> int:
    """Multiply-add FLOPs of one training row through one member: forward, dW and dx."""
    sizes = list(sizes)
    return 6 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def numpy_seconds(sizes, members: int, rows: int, batch_size: int, epochs: int) -> float:
    """A low estimate of the NumPy loop's time for ``epochs`` passes over ``rows`` rows."""
    layers = len(sizes) - 1
    steps = epochs * math.ceil(rows / batch_size)
    per_step = STEP_S + layers * (LAYER_S + members * MEMBER_LAYER_S)
    return steps * per_step + epochs * rows * members * dense_flops(sizes) / NUMPY_FLOPS


def predict_seconds(sizes, members: int, rows: int) -> float:
    """A low estimate of NumPy's forward pass over ``rows`` rows."""
    fixed = (len(sizes) - 1) * (LAYER_S + members * MEMBER_LAYER_S)
    return fixed + rows * members * dense_flops(sizes) / 3 / NUMPY_FLOPS


def fast_predict_seconds(sizes, members: int, rows: int) -> float:
    """A high estimate of the compiled forward pass over ``rows`` rows."""
    return rows * members * dense_flops(sizes) / 3 / FAST_FLOPS


def fast_seconds(sizes, members: int, rows: int, batch_size: int, epochs: int) -> float:
    """A high estimate of the compiled loops' time for the same run."""
    steps = epochs * math.ceil(rows / batch_size)
    return steps * members * FAST_STEP_S + epochs * rows * members * dense_flops(sizes) / FAST_FLOPS


def ready_seconds(kernels: dict[str, str]) -> float:
    """Seconds before the first step, from each kernel's state: ``"loaded"`` (in this
    process), ``"cached"`` (on disk) or ``"cold"`` (to compile).

    A kernel loaded already is priced as one cached: what a run decides must not depend on
    what ran before it in the process, or a sweep's records would depend on the order of
    its populations and on which worker (a fresh process) trained each.
    """
    price = {"loaded": lambda name: LOAD_S, "cached": lambda name: LOAD_S}
    return sum(price.get(state, COMPILE_S.get)(name) for name, state in kernels.items())


def compile_seconds(kernels: dict[str, str]) -> float:
    """Seconds of compiling alone: the cold kernels' ``COMPILE_S``."""
    return sum(COMPILE_S[name] for name, state in kernels.items() if state == "cold")


def repays(numpy_s: float, ready_s: float, fast_s: float) -> bool:
    """The rule of ``engine="auto"``: compiled only where it beats NumPy, compile included."""
    return numpy_s > ready_s + fast_s


def announce(seconds: float, file=None) -> None:
    """The one line a compile prints on stderr: ``compiling the fast path, once, about N s``."""
    import sys

    stream = sys.stderr if file is None else file
    print(
        f"compiling the fast path, once, about {max(1, round(seconds))} s", file=stream, flush=True
    )
