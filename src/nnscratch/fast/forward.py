"""The compiled forward pass, for predictions of populations of small networks.

NumPy's batched products of narrow matrices are slow for many small members; the lanes of
:mod:`nnscratch.fast.lanes` run every member's forward pass at once instead. This is the
Python side, which imports nothing of numba; the kernel, :mod:`nnscratch.fast.forward_lanes`,
loads on the first prediction it applies to.
"""

from __future__ import annotations

import numpy as np

from nnscratch.fast import cost, ready
from nnscratch.fast.codes import ACTIVATIONS
from nnscratch.fast.epoch import LANES_FROM, loaded, unsupported_network

#: The compiled forward pass predicts for populations of at least ``LANES_FROM`` members
#: whose layers all have at most this many weights (inputs x outputs). Measured on 2 cores,
#: compiled vs NumPy: 2-64-2 x 100 members, 1250 rows: 1.2 vs 21 ms; 64-32-10 x 16: 1.0 vs
#: 1.6 ms; from 64 x 64 on the two trade places from one shape to the next.
SMALL_PREDICT = 2**11


def logits(net, X: np.ndarray) -> np.ndarray | None:
    """Every member's logits ``(P, N, K)`` from the compiled forward pass, or ``None``.

    ``None`` when the compiled pass does not apply (numba missing, a layer or activation it
    does not cover, a population too small to fill the lanes, layers too large to win); the
    caller then runs the NumPy forward pass, whose results these equal to rounding. Also
    ``None`` where NumPy's pass would be quicker than loading (or compiling) the kernel
    first (:func:`nnscratch.fast.cost.repays`): one prediction rarely repays a compile, and
    ``nnscratch warmup`` compiles it ahead of time.
    """
    layers = zip(net.sizes[:-1], net.sizes[1:], strict=True)
    if (
        net.n_members < LANES_FROM
        or max(a * b for a, b in layers) > SMALL_PREDICT
        or unsupported_network(net) is not None
    ):
        return None
    P, N = net.n_members, len(X)
    numpy_s = cost.predict_seconds(net.sizes, P, N)
    fast_s = cost.fast_predict_seconds(net.sizes, P, N)
    kind = ACTIVATIONS[net.activation.name]
    marker = [ready.name("forward", kind, net.dtype, len(net.dense_layers))]
    guess = "cached" if ready.marked(marker) else "cold"  # known without numba
    if not loaded() and not cost.repays(numpy_s, cost.ready_seconds({"forward": guess}), fast_s):
        return None  # decided without importing numba
    from nnscratch.fast import kernels
    from nnscratch.fast.forward_lanes import forward_kernel
    from nnscratch.fast.llvm import compiled, group_count
    from nnscratch.fast.threads import split

    args = arguments(net, X)
    state = kernels.states({"forward": (kind, args)})
    if not cost.repays(numpy_s, cost.ready_seconds(state), fast_s):
        return None
    if state["forward"] == "cold":
        cost.announce(cost.compile_seconds(state))
    with compiled(net.dtype):
        split(forward_kernel(kind), args, group_count(P, net.dtype))
    ready.mark(marker)
    return args[-1]


def arguments(net, X: np.ndarray) -> tuple:
    """The forward kernel's arguments for ``net`` on ``X``; the logits land in the last."""
    P, dense = net.n_members, net.dense_layers
    X = np.ascontiguousarray(X, dtype=net.dtype)
    widths = np.column_stack([np.full(P, net.sizes[0]), net.width, np.full(P, net.sizes[-1])])
    Ws = tuple(layer.params["W"] for layer in dense)
    bs = tuple(layer.params["b"] for layer in dense)
    out = np.empty((P, X.shape[0], net.sizes[-1]), dtype=net.dtype)  # (P, N, K)
    return X, Ws, bs, widths.astype(np.int64), out
