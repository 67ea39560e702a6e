"""An optional compiled fast path for plain SGD on softmax MLPs (needs ``numba``).

The NumPy training loop in :mod:`nnscratch.core.train` is the reference and the default.
For small networks its cost is not arithmetic but the fixed price of each NumPy call, paid
for every layer of every minibatch step; a population amortises that price over its members,
but a single network, or a population of tiny networks, still spends most of its time in
call overhead. This module compiles ONE EPOCH of the same algorithm (the same permutation
per member, the same contiguous minibatches, the same gradients, the same update) with the
members in SIMD lanes: groups of 8 members (float64) or 16 (float32, in float32 arithmetic),
run in parallel threads, each step done for the group at once, one vector instruction per
operation, over the units of the group's
widest member only (:mod:`nnscratch.fast.lanes`). Populations under ``LANES_FROM``
members, a single network above all, run one member at a time instead
(:mod:`nnscratch.fast.members`). This module is their Python side and imports nothing of
numba: the kernels load when an epoch first runs.

It is used automatically by ``fit`` when ``numba`` is installed (``pip install
"nnscratch[fast]"``) and the run is one it covers: dense layers with an ``identity``,
``relu``, ``leaky_relu``, ``tanh`` or ``sigmoid`` activation, softmax cross-entropy with
integer labels (no smoothing, no weights), plain ``SGD`` (no momentum, weight decay or
clipping), no dropout, batch norm, penalties or per-batch callbacks, and layers small enough
(batch x inputs x outputs at most ``SMALL_LAYER``) for the loops to beat NumPy's matrix
products, and a run long enough to repay loading or compiling the kernels
(:mod:`nnscratch.fast.cost`: on a cold cache a compile takes 5-10 s on two cores, and is
taken only for runs that NumPy would take longer over). Anything else, or ``engine="numpy"``,
runs the NumPy loop. Results agree with the NumPy loop to rounding (tests pin them); the
floating-point order of the sums differs.

Two more pieces go with it. Each epoch's shuffles (:mod:`nnscratch.fast.shuffle`) are
drawn in parallel (the members shared out over the threads) by a transcription of NumPy's
``Generator.shuffle`` on PCG64: the same rows in the same order, bit for bit, and the
generators left where NumPy leaves them. And predictions of a population of small networks
(:func:`nnscratch.fast.forward.logits`, called by ``predict``, ``score`` and the like) run
the same lanes forward, where NumPy's batched products of narrow matrices are slow.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys

import numpy as np

from nnscratch.core.callback import Callback
from nnscratch.core.checks import fail
from nnscratch.core.epoch import NumpyEpoch
from nnscratch.core.epoch import shuffled as numpy_shuffled
from nnscratch.core.layers import ActivationLayer, Dense
from nnscratch.core.losses import SoftmaxCrossEntropy
from nnscratch.core.optim import SGD, per_member
from nnscratch.fast import cost, ready
from nnscratch.fast.codes import ACTIVATIONS


def available() -> bool:
    """True when numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


#: Above this many multiply-adds per member, layer and step (batch x inputs x outputs), a BLAS
#: matrix product beats the compiled loops; measured break-even on 2 cores: about 2.6e5.
SMALL_LAYER = 2**17


#: From this many members on, the members share vector lanes (:mod:`nnscratch.fast.lanes`,
#: 8 or 16 to a group); below it each has a thread and vectorises along its units
#: (:mod:`nnscratch.fast.members`). Measured on 2 cores: lanes cost about 8 us per group-step
#: for 2-64-2, one member about 1.5 us per step, so lanes win from about 5 members on.
LANES_FROM = 6


def worthwhile(net, batch_size: int) -> bool:
    """Whether the compiled loops beat NumPy's matrix products for these layer sizes."""
    layers = zip(net.sizes[:-1], net.sizes[1:], strict=True)
    return max(batch_size * a * b for a, b in layers) <= SMALL_LAYER


#: numba compiles a tuple of arrays (the layers' weights) only up to about 100 entries.
MAX_LAYERS = 64


def unsupported_network(net) -> str | None:
    """Why the kernels cannot run this network's forward pass, or ``None``."""
    if not available():
        return "numba is not installed"
    if any(type(layer) not in (Dense, ActivationLayer) for layer in net.layers):
        return "dropout and batch norm run on the NumPy loop"
    if not all(v.flags.c_contiguous for v in net.population_params.values()):
        return "parameters are not C-contiguous arrays"
    if net.activation is None:
        return "an activation per hidden layer runs on the NumPy loop"
    if net.activation.name not in ACTIVATIONS:
        return f"activation {net.activation.name!r} is not compiled"
    if len(net.dense_layers) > MAX_LAYERS:
        return f"more than {MAX_LAYERS} layers (numba's kernels take them as one tuple)"
    return None


def unsupported(net, y, sample_weight, optimizer, callbacks) -> str | None:
    """Why the kernel cannot run this training, or ``None`` when it can."""
    why = unsupported_network(net)
    if why is not None:
        return why
    if any(layer.l1 is not None or layer.l2 is not None for layer in net.dense_layers):
        return "weight penalties run on the NumPy loop"
    loss = net.loss_fn
    if (
        type(loss) is not SoftmaxCrossEntropy
        or loss.label_smoothing
        or loss.class_weight is not None
    ):
        return "only plain softmax cross-entropy is compiled"
    if y.ndim != 1 or sample_weight is not None:
        return "only integer labels without sample weights are compiled"
    if (
        type(optimizer) is not SGD
        or optimizer.clip_norm is not None
        or np.any(optimizer.momentum)
        or np.any(optimizer.weight_decay)
        or optimizer.nesterov
    ):
        return "only plain SGD (no momentum, weight decay or clipping) is compiled"
    if any(type(cb).on_batch_end is not Callback.on_batch_end for cb in callbacks):
        return "a callback watches every batch"
    return None


def compiled_epoch(engine: str, net, X, y, w, optimizer, callbacks, batch_size: int):
    """:func:`nnscratch.core.engine.compiled_epoch`: the compiled epoch, or ``None``.

    ``"numba"`` always takes it (and compiles what the run needs), an error where it does
    not apply; ``"auto"`` takes it where it applies and the layers are small enough
    (:func:`worthwhile`), and its first epoch then decides, from the run's size, whether the
    kernels' compile or load repays itself (:mod:`nnscratch.fast.cost`); if not, the run
    stays on the NumPy loop.
    """
    why = unsupported(net, y, w, optimizer, callbacks)
    if why is not None and engine == "numba":
        raise fail("engine", "'auto' or 'numpy' for this run (" + why + ")", engine)
    if why is not None or (engine == "auto" and not worthwhile(net, batch_size)):
        return None
    fallback = NumpyEpoch(net, X, y, w, optimizer, batch_size, callbacks)
    return CompiledEpoch(net, X, y, optimizer, batch_size, None if engine == "numba" else fallback)


def kernel_name(n_members: int) -> str:
    """The epoch kernel a population of ``n_members`` runs: ``"lanes"`` or ``"members"``."""
    return "lanes" if n_members >= LANES_FROM else "members"


class CompiledEpoch:
    """One compiled epoch: :class:`nnscratch.core.epoch.NumpyEpoch`'s interface and results.

    ``shuffled(rows, shufflers)`` is :func:`nnscratch.fast.shuffle.shuffled` (NumPy's own
    before the first epoch and on the NumPy loop: the same rows, bit for bit);
    ``epoch(order, run, freezer)`` runs every batch of ``order`` in the kernels
    (:mod:`nnscratch.fast.lanes` or :mod:`nnscratch.fast.members`) and returns the epoch's
    running means. With a ``fallback`` (``engine="auto"``) the first epoch weighs the run's
    NumPy time against the kernels' compile or load and the compiled time
    (:func:`nnscratch.fast.cost.repays`); the run stays on the fallback where they do not
    repay. A compile says so once, on stderr.
    """

    def __init__(self, net, X, y, optimizer, batch_size: int, fallback=None) -> None:
        P = net.n_members
        self.net, self.optimizer, self.batch_size = net, optimizer, batch_size
        self.X = np.ascontiguousarray(X)
        self.y = np.ascontiguousarray(y, dtype=np.int64)
        widths = np.column_stack([np.full(P, net.sizes[0]), net.width, np.full(P, net.sizes[-1])])
        self.widths = widths.astype(np.int64)  # (P, L+1) every member's active sizes
        self.mean = net.loss_fn.reduction == "mean"
        self.kind = ACTIVATIONS[net.activation.name]
        self.fallback, self.decided = fallback, False
        self.markers: list[str] = []  # left once the kernels have run

    def shuffled(self, rows: np.ndarray, shufflers) -> np.ndarray:
        """The epoch's permutations: compiled once the run is known to use the kernels."""
        if not self.decided or self.fallback is not None:
            return numpy_shuffled(rows, shufflers)
        from nnscratch.fast.shuffle import shuffled

        return shuffled(rows, shufflers)

    def _arguments(self, order: np.ndarray, run) -> tuple:
        """The epoch kernel's arguments, read every epoch (a schedule may change lr)."""
        P, dense = self.net.n_members, self.net.dense_layers
        Ws = tuple(layer.params["W"] for layer in dense)
        bs = tuple(layer.params["b"] for layer in dense)
        lr = np.empty(P, dtype=self.X.dtype)  # writable, contiguous: one compiled signature
        lr[:] = np.ravel(per_member(self.optimizer.lr, Ws[0], name="lr"))
        out = np.zeros((P, 2))  # summed loss and hits, per member
        order = np.ascontiguousarray(order, dtype=np.int64)
        active = np.ascontiguousarray(run.active)
        return (
            self.X,
            self.y,
            order,
            Ws,
            bs,
            lr,
            self.widths,
            self.batch_size,
            self.mean,
            active,
            out,
        )

    def _decide(self, args: tuple, epochs: int) -> None:
        """Keep the fallback, or drop it for the kernels; announce a compile (first epoch).

        Before numba is imported, each kernel counts as cached where it has left a marker
        (:mod:`nnscratch.fast.ready`) and as cold where not, and numba is imported only if
        the run repays that; then numba's cache is asked."""
        self.decided = True
        net, name = self.net, kernel_name(self.net.n_members)
        P, n_rows = args[2].shape
        # the first epoch's shuffles are NumPy's (``shuffled``): a one-epoch run needs no
        # shuffle kernel, and neither counts nor compiles it
        names = [name, "shuffle"] if epochs > 1 else [name]
        own = ready.name(name, self.kind, net.dtype, len(net.dense_layers))
        self.markers = [own, *names[1:]]
        numpy_s = cost.numpy_seconds(net.sizes, P, n_rows, self.batch_size, epochs)
        fast_s = cost.fast_seconds(net.sizes, P, n_rows, self.batch_size, epochs)
        if not loaded() and self.fallback is not None:  # decided without numba
            marks = zip(names, self.markers, strict=True)
            guess = {k: "cached" if ready.marked([m]) else "cold" for k, m in marks}
            if not cost.repays(numpy_s, cost.ready_seconds(guess), fast_s):
                return
        from nnscratch.fast import kernels

        needs = {name: (self.kind, args)}
        if "shuffle" in names:
            needs["shuffle"] = (self.kind, kernels.shuffle_args())
        states = kernels.states(needs)
        if self.fallback is not None and not cost.repays(
            numpy_s, cost.ready_seconds(states), fast_s
        ):
            return
        self.fallback = None
        if "cold" in states.values():
            cost.announce(cost.compile_seconds(states))

    def __call__(self, order: np.ndarray, run, freezer) -> dict[str, np.ndarray]:
        if not self.decided:
            self._decide(self._arguments(order, run), run.epochs)
        if self.fallback is not None:
            return self.fallback(order, run, freezer)
        # imports numba; each kernel compiled on first use, then cached on disk
        from nnscratch.fast.lanes import epoch_kernel
        from nnscratch.fast.llvm import compiled, group_count
        from nnscratch.fast.members import members_kernel
        from nnscratch.fast.threads import split

        args, P = self._arguments(order, run), self.net.n_members
        lanes = kernel_name(P) == "lanes"
        with compiled(self.net.dtype) if lanes else contextlib.nullcontext():
            kernel = (epoch_kernel if lanes else members_kernel)(self.kind)
            split(kernel, args, group_count(P, self.net.dtype) if lanes else P)
        out, n_rows = args[-1], order.shape[1]
        self.optimizer.t += -(-n_rows // self.batch_size)  # the steps NumPy counts
        freezer.check(~np.isfinite(out[:, 0]))
        if self.markers:  # the kernels ran: the next process may ask numba's cache
            ready.mark(self.markers)
            self.markers = []
        return {"loss": out[:, 0] / n_rows, "accuracy": out[:, 1] / n_rows}


def loaded() -> bool:
    """Whether this process has imported the kernels (and numba) already."""
    return "nnscratch.fast.kernels" in sys.modules
