"""The benchmark workloads, their FLOP counts, and how each peer runs each of them.

FLOP counting rule (matrix multiplies only; element-wise work, softmax, the gather and the
optimizer are not counted): a dense layer ``D -> H`` costs, per row, ``2 D H`` forward,
``2 D H`` for ``dW = x^T dy`` and ``2 D H`` for ``dx = dy W^T``, except the first layer,
whose ``dx`` nothing needs (``4 D H``). Evaluation on a test set costs ``2 D H`` per row and
layer. Widths are each network's own (padding a population to its widest member is
overhead, not useful work).

``prepare(workload, peer, k, seed)`` does the untimed setup (imports, data) and returns a
function that runs the timed part and returns ``{"accuracy": ...}``; ``accuracy`` may be a
function, evaluated after the clock stops.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

PEERS = (
    "nnscratch",
    "nnscratch-numpy",
    "numpy-loop",
    "tutorial-code",
    "torch-loop",
    "torch-stacked",
    "torch-func",
    "jax",
    "sklearn",
)
SINGLE = ("nnscratch", "nnscratch-numpy", "numpy-loop", "torch-loop", "sklearn")

W5_SIZES = [784, 256, 128, 10]
W5_ROWS, W5_BATCH, W5_LR = 60_000, 128, 0.05
W2_WIDTHS = np.repeat(np.arange(3, 40), 3)  # (111,): test_class(3, 40, 3), widths in a row


def dense_flops(sizes, rows_per_epoch: int, epochs: int, eval_rows: int = 0) -> int:
    """Matrix-multiply FLOPs of training (and evaluating) one network, by the rule above."""
    pairs = [sizes[k] * sizes[k + 1] for k in range(len(sizes) - 1)]
    train = sum((4 if k == 0 else 6) * dh for k, dh in enumerate(pairs))
    return epochs * rows_per_epoch * train + eval_rows * 2 * sum(pairs)


@dataclass(frozen=True)
class Workload:
    name: str
    title: str
    peers: tuple[str, ...]
    flops: int
    network_steps: int  # minibatch updates summed over networks
    units: int = 1  # networks (experiments) a one-at-a-time peer trains in turn
    subsample: dict[str, int] = field(default_factory=dict)  # full-run k per looping peer
    dtype: str = "float64"


def _steps(rows: int, batch: int, epochs: int) -> int:
    return epochs * -(-rows // batch)


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload(
            "W1",
            "tutorial test(..., 10, 10, 100): 100 nets 2-64-2, batch 10, 10 epochs",
            PEERS,
            100 * dense_flops([2, 64, 2], 3750, 10, 1250),
            100 * _steps(3750, 10, 10),
            units=100,
            subsample={"numpy-loop": 100, "tutorial-code": 25, "torch-loop": 20, "sklearn": 30},
        ),
        Workload(
            "W2",
            "tutorial test_class(3, 40, 3): 111 nets 2-h-2, batch 10, 100 epochs",
            PEERS,
            sum(dense_flops([2, int(h), 2], 3750, 100, 1250) for h in W2_WIDTHS),
            W2_WIDTHS.size * _steps(3750, 10, 100),
            units=int(W2_WIDTHS.size),
            subsample={"numpy-loop": 12, "tutorial-code": 4, "torch-loop": 4, "sklearn": 6},
        ),
        Workload(
            "W3",
            "one net 2-64-2, moons, batch 10, 100 epochs",
            (*SINGLE, "tutorial-code", "torch-func", "jax"),
            dense_flops([2, 64, 2], 3750, 100),
            _steps(3750, 10, 100),
        ),
        Workload(
            "W4",
            "digits 64-128-10, Adam, batch 32, 50 epochs",
            ("nnscratch", "numpy-loop", "torch-loop", "sklearn"),
            dense_flops([64, 128, 10], 1347, 50),
            _steps(1347, 32, 50),
        ),
        Workload(
            "W5",
            "784-256-128-10 float32, batch 128, 1 epoch of 60k synthetic rows",
            SINGLE,
            dense_flops(W5_SIZES, W5_ROWS, 1),
            _steps(W5_ROWS, W5_BATCH, 1),
            dtype="float32",
        ),
        Workload(
            "R",
            "nnscratch reproduce: every experiment and figure of the tutorial, report written",
            ("nnscratch", "nnscratch-numpy"),
            100 * dense_flops([2, 64, 2], 3750, 10, 1250)
            + sum(dense_flops([2, int(h), 2], 3750, 100, 1250) for h in W2_WIDTHS),
            100 * _steps(3750, 10, 10) + W2_WIDTHS.size * _steps(3750, 10, 100),
        ),
    ]
}

QUICK_SUBSAMPLE = {"W1": 5, "W2": 6}


def peer_label(workload: str, peer: str) -> str:
    return "numpy-bare" if (workload == "W5" and peer == "numpy-loop") else peer


def has_engine() -> bool:
    """True when ``MLP.fit`` takes ``engine=`` (a compiled path beside the NumPy loop)."""
    import inspect

    from nnscratch.core.train import train

    return "engine" in inspect.signature(train).parameters


#: How to install an optional peer's package; for PyTorch the CPU build (PyPI's Linux wheels
#: are CUDA builds, several GB with their ``nvidia-*`` packages, none of it used here).
INSTALL = {
    "torch": "pip install torch --index-url https://download.pytorch.org/whl/cpu",
    "jax": "pip install jax",
    "sklearn": "pip install scikit-learn",
}


def missing(peer: str) -> str | None:
    """Why ``peer`` cannot run here, or ``None``."""
    if peer == "nnscratch-numpy" and not has_engine():
        return "fit has no engine option: nnscratch is NumPy only"
    need = {"torch-loop": "torch", "torch-stacked": "torch", "torch-func": "torch"}
    need = {**need, "jax": "jax", "sklearn": "sklearn"}.get(peer)
    if need and importlib.util.find_spec(need) is None:
        return f"{need} not installed ({INSTALL[need]})"
    return None


def subsample(workload: Workload, k: int) -> np.ndarray:
    """Indices of ``k`` of the workload's networks, spread evenly (widths too, for W2)."""
    return np.unique(np.linspace(0, workload.units - 1, k).round().astype(int))


# --- data --------------------------------------------------------------------------------


def moons():
    from nnscratch.data import load_moons

    return load_moons()  # X_train, X_test, y_train, y_test


def digits():
    from nnscratch.data import load_digits

    return load_digits()


def synthetic(seed: int = 0, rows: int = W5_ROWS, sizes=W5_SIZES):
    """``rows`` float32 Gaussian inputs labelled by a random linear teacher; 2000 held out."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows + 2000, sizes[0]), dtype=np.float32)  # (N,D)
    teacher = rng.standard_normal((sizes[0], sizes[-1]), dtype=np.float32)  # (D,K)
    y = (X @ teacher).argmax(axis=1).astype(np.intp)
    return X[:rows], X[rows:], y[:rows], y[rows:]


# --- per workload, per peer --------------------------------------------------------------


def _quiet(fn: Callable, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def _prepare_reproduce(peer: str) -> Callable[[], dict]:
    """``nnscratch reproduce`` end to end, into a fresh folder, without its timing of the
    tutorial's loop (the report's reference, not nnscratch's work); accuracy: W1's mean."""
    import tempfile
    from pathlib import Path

    import nnscratch as nns
    from nnscratch.experiments.reproduce import reproduce
    from nnscratch.fast import epoch as accel

    if peer == "nnscratch-numpy":  # as on an install without numba: the NumPy loop only
        accel.available = lambda: False
    else:
        _warm_up(nns, "R")
    out = Path(tempfile.mkdtemp(prefix="nnscratch-bench-"))

    def run() -> dict:
        results = _quiet(reproduce, out, quiet=True, time_tutorial=False)
        return {"accuracy": results["experiment"]["mean"]}

    return run


_WARM_UP_SIZES = {"W4": [64, 128, 10], "W5": list(W5_SIZES)}


def _warm_up(nns, name: str) -> None:
    """Untimed: a small fit and score of the workload's layers, batch size, dtype and kind
    (one network, or a population), so that loading (or, the very first time, compiling) the
    optional numba kernels it uses and growing the heap to the step's working set are not
    timed, as the bare loop's preallocated buffers are not.

    Where the workload runs the compiled path (the tutorial's networks), the warm-up asks
    for it with ``engine="numba"``: ``"auto"`` keeps a run this small on NumPy (it would
    not repay even loading the kernels), which left the loading in the timed run.
    """
    compiled = name in ("W1", "W2", "W3", "R") and importlib.util.find_spec("numba") is not None
    engine = {"engine": "numba"} if compiled and has_engine() else {}
    sizes = _WARM_UP_SIZES.get(name, [2, 64, 2])
    dtype = np.float32 if name == "W5" else np.float64
    batch = W5_BATCH if name == "W5" else 10
    population = 8 if name in ("W1", "W2", "R") else None  # the lane kernels
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8 * batch, sizes[0])).astype(dtype)
    y = np.arange(8 * batch) % sizes[-1]
    net = nns.MLP(sizes, dtype=dtype, seed=0, population=population)
    net.fit(X, y, epochs=1, batch_size=batch, optimizer=nns.SGD(lr=0.01), **engine)
    net.score(X, y)


def prepare(name: str, peer: str, k: int | None, seed: int) -> Callable[[], dict]:
    """Untimed setup; returns the timed run. ``k``: networks a looping peer trains (W1/W2)."""
    w = WORKLOADS[name]
    if name == "R":
        return _prepare_reproduce(peer)
    if name in ("W1", "W2", "W3"):
        X, Xt, y, yt = moons()
    elif name == "W4":
        X, Xt, y, yt = digits()
    else:
        X, Xt, y, yt = synthetic(seed)
    widths = np.full(100, 64) if name == "W1" else W2_WIDTHS
    epochs = 10 if name == "W1" else 100
    if name in ("W1", "W2") and peer not in ("nnscratch", "torch-stacked", "torch-func", "jax"):
        widths = widths[subsample(w, k or w.units)]

    if peer == "nnscratch":
        import nnscratch as nns
        from nnscratch import tutorial

        _warm_up(nns, name)

        if name == "W1":
            return lambda: {
                "accuracy": _quiet(tutorial.test, X, y, Xt, yt, 10, 10, 100, seed=seed).mean()
            }
        if name == "W2":
            return lambda: {
                "accuracy": tutorial.test_class(3, 40, 3, plot=False, seed=seed)[1].mean()
            }
        if name == "W3":

            def run():
                model = tutorial.init_network(seed=seed)
                tutorial.fit(model, X, y, 10, 100, seed=seed)
                return {
                    "accuracy": lambda: float(
                        np.mean(tutorial.forward(model, Xt)[1].argmax(axis=1) == yt)
                    )
                }

            return run
        if name == "W4":
            if not hasattr(nns, "Adam"):
                raise NotImplementedError("nns.Adam not available yet")

            def run():
                net = nns.MLP([64, 128, 10], seed=seed)
                net.fit(X, y, epochs=50, batch_size=32, optimizer=nns.Adam(lr=1e-3), seed=seed)
                return {"accuracy": lambda: float(net.score(Xt, yt))}

            return run

        def run():  # W5
            net = nns.MLP(W5_SIZES, seed=seed, dtype=np.float32)
            net.fit(X, y, epochs=1, batch_size=W5_BATCH, optimizer=nns.SGD(lr=W5_LR), seed=seed)
            return {"accuracy": lambda: float(net.score(Xt, yt))}

        return run

    if peer == "nnscratch-numpy":
        return _nnscratch_numpy(name, X, y, Xt, yt, seed)

    if peer in ("numpy-loop", "tutorial-code"):
        from benchmarks.peers import numpy_loop as nl

        rng = np.random.default_rng(seed)
        literal = peer == "tutorial-code"  # softmax and one-hot rows in Python loops
        if name in ("W1", "W2"):
            return lambda: {
                "accuracy": nl.test_widths(X, y, Xt, yt, widths, rng, 10, epochs, literal).mean()
            }
        if name == "W3":
            return lambda: {
                "accuracy": nl.test_widths(X, y, Xt, yt, [64], rng, 10, 100, literal).mean()
            }
        if name == "W4":

            def run():
                model = nl.he_network(rng, [64, 128, 10])
                nl.fit_adam(model, X, nl.one_hot(y, 10), 32, 50, rng)
                return {"accuracy": lambda: nl.accuracy(model, Xt, yt)}

            return run

        def run():  # W5: the bare floor
            net = bare_network(W5_SIZES, rng)
            net.epoch(X, y, rng.permutation(X.shape[0]), W5_LR)
            return {"accuracy": lambda: bare_accuracy(net, Xt, yt)}

        return run

    if peer in ("torch-loop", "torch-stacked"):
        from benchmarks.peers import torch_peers as tp

        tp.torch_module()  # import, set threads and warm up outside the clock
        if name in ("W1", "W2"):
            fn = tp.test_loop if peer == "torch-loop" else tp.test_stacked
            return lambda: {"accuracy": fn(X, y, Xt, yt, widths, 10, epochs, seed).mean()}
        if name == "W3":
            return lambda: {"accuracy": tp.test_loop(X, y, Xt, yt, [64], 10, 100, seed).mean()}
        if name == "W4":
            return lambda: {"accuracy": tp.digits_adam(X, y, Xt, yt, 32, 50, seed)}

        def run():  # W5
            evaluate = tp.big_mlp_epoch(X, y, W5_SIZES, W5_BATCH, seed, W5_LR)
            return {"accuracy": lambda: evaluate(Xt, yt)}

        return run

    if peer == "torch-func":
        if name not in ("W1", "W2", "W3"):
            raise NotImplementedError("the torch.func peer runs the tutorial's networks, W1-W3")
        from benchmarks.peers import torch_func_peer as tf
        from benchmarks.peers import torch_peers as tp

        tp.torch_module()
        tf.warm_up()  # the first vmap/grad call's set-up, outside the clock
        if name == "W3":  # a population of one
            widths, epochs = [64], 100
        return lambda: {"accuracy": tf.test_func(X, y, Xt, yt, widths, 10, epochs, seed).mean()}

    if peer == "jax":
        if name not in ("W1", "W2", "W3"):
            raise NotImplementedError("the JAX peer runs the tutorial's networks, W1-W3")
        from benchmarks.peers import jax_peer as jp

        if name == "W3":  # a population of one
            widths, epochs = [64], 100

        run, compile_seconds = jp.prepare_test(X, y, Xt, yt, widths, 10, epochs, seed)
        return lambda: {"accuracy": run().mean(), "compile_seconds": compile_seconds}

    if peer == "sklearn":
        from benchmarks.peers import sklearn_peer as sp

        if name in ("W1", "W2"):
            return lambda: {"accuracy": sp.test_loop(X, y, Xt, yt, widths, 10, epochs, seed).mean()}
        if name == "W3":
            return lambda: {"accuracy": sp.test_loop(X, y, Xt, yt, [64], 10, 100, seed).mean()}
        if name == "W4":

            def run():
                clf = sp.fit(sp.classifier([128], "adam", 32, 50, 1e-3, seed), X, y)
                return {"accuracy": lambda: clf.score(Xt, yt)}

            return run

        def run():  # W5: mean gradients already, so the same learning rate
            clf = sp.fit(sp.classifier(W5_SIZES[1:-1], "sgd", W5_BATCH, 1, W5_LR, seed), X, y)
            return {"accuracy": lambda: clf.score(Xt, yt)}

        return run
    raise ValueError(f"unknown peer {peer!r}")


def _nnscratch_numpy(name, X, y, Xt, yt, seed):
    """The tutorial's networks built on ``nns.MLP`` directly, trained with ``engine="numpy"``
    (the NumPy training loop even where a compiled path exists)."""
    import nnscratch as nns
    from nnscratch.tutorial import ALPHA, tutorial_network

    def tutorial_net(hidden, population=None, width=None):
        return tutorial_network(2, hidden, 2, seed=seed, population=population, width=width)

    if name == "W5":
        make, epochs, batch, lr = (
            (lambda: nns.MLP(W5_SIZES, seed=seed, dtype=np.float32)),
            1,
            W5_BATCH,
            W5_LR,
        )
    elif name == "W1":
        make, epochs, batch, lr = (lambda: tutorial_net(64, population=100)), 10, 10, ALPHA
    elif name == "W2":
        make, epochs, batch, lr = (
            (
                lambda: tutorial_net(
                    int(W2_WIDTHS.max()), population=W2_WIDTHS.size, width=W2_WIDTHS
                )
            ),
            100,
            10,
            ALPHA,
        )
    elif name == "W3":
        make, epochs, batch, lr = (lambda: tutorial_net(64)), 100, 10, ALPHA
    else:
        raise ValueError(f"nnscratch-numpy does not run {name}")

    def run():
        net = make()
        net.fit(
            X,
            y,
            epochs=epochs,
            batch_size=batch,
            optimizer=nns.SGD(lr=lr),
            seed=seed,
            engine="numpy",
        )
        return {"accuracy": lambda: float(np.mean(net.score(Xt, yt)))}

    return run


def bare_network(sizes, rng: np.random.Generator, dtype=np.float32):
    """He-normal weights, zero biases, as nnscratch's default initialisation."""
    from benchmarks.peers.numpy_loop import BareMLP

    Ws = [
        (np.sqrt(2.0 / sizes[k]) * rng.standard_normal((sizes[k], sizes[k + 1]))).astype(dtype)
        for k in range(len(sizes) - 1)
    ]
    bs = [np.zeros(sizes[k + 1], dtype=dtype) for k in range(len(sizes) - 1)]
    return BareMLP(Ws, bs, W5_BATCH)


def bare_accuracy(net, X, y) -> float:
    h = X
    for k, (W, b) in enumerate(zip(net.Ws, net.bs, strict=True)):
        h = h @ W + b
        if k < len(net.Ws) - 1:
            h = np.maximum(h, 0)
    return float(np.mean(h.argmax(axis=1) == y))
