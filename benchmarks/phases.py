"""Where the time goes, per phase, measured: W1 on the compiled path, W5 on the NumPy loop.

```
python -m benchmarks.phases                       # W1 and W5, 7 repetitions (~3 min warm)
python -m benchmarks.phases --workloads W5 --repeats 9
python -m benchmarks.phases --workloads W1 --dtype float32
```

Hardware counters are not available everywhere (``perf stat`` reports them "not
supported" in many virtual machines) and valgrind does not decode AVX-512, so every number
here is a wall-clock time of real code on the workload's own data, medians over the
repetitions, the variants alternating within each repetition:

- W1 (``tutorial.test(..., 10, 10, 100)``, 100 networks 2-64-2): one timed run with
  wrappers around the training call, the epoch kernel, the shuffles and the scoring gives
  the split between them (the rest is set-up: checks, initialisation). Inside the kernel,
  the first epoch's arguments are replayed through kernels that stop after phase ``k``
  of :data:`nnscratch.fast.lanes.PHASES` (``epoch_kernel(kind, upto=k)``): phase ``k``'s
  time is ``t(k) - t(k - 1)``. The same kernel on 1, 2, 12 and 13 lane groups shows how
  the groups share the threads. The first run compiles the six kernels (about 5-10 s
  each on two cores; cached after).
- W5 (784-256-128-10 float32, one epoch): wrappers around every layer's forward and
  backward, the loss, the hit count and the optimizer step of the NumPy epoch; the batch
  gather timed alone over the same batches; what is left is the loop's own Python. The
  bare preallocated epoch (``benchmarks/peers/numpy_loop.py``) and the eight matrix
  products of a step alone (preallocated, ``out=``) run alongside.

GFLOP/s count matrix multiplies only (``benchmarks/workloads.py``) against the measured
``a @ b`` peak (``benchmarks/machine.py``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import numpy as np

from benchmarks import machine, workloads


class Clock:
    """Seconds spent inside wrapped callables, summed per phase name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._patches: list[tuple[object, str, object, bool]] = []

    def wrap(self, owner, attr: str, phase: str) -> None:
        """Time every call of ``owner.attr`` (an instance's or a class's) as ``phase``."""
        had_own = attr in vars(owner) if not isinstance(owner, type) else True
        original = getattr(owner, attr) if not isinstance(owner, type) else vars(owner)[attr]
        seconds = self.seconds

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[phase] += time.perf_counter() - t0

        self._patches.append((owner, attr, original, had_own))
        setattr(owner, attr, timed)

    def restore(self) -> None:
        for owner, attr, original, had_own in reversed(self._patches):
            if had_own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)
        self._patches = []


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    return {k: statistics.median(v) for k, v in samples.items()}


def table(rows, header) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


# --- W1: the compiled path -------------------------------------------------------------


def w1_network(dtype):
    """W1's population as ``tutorial.test`` builds it (tutorial initialisation, summed loss,
    member ``p`` seeded from ``SeedSequence(0)``), in ``dtype``."""
    import dataclasses

    from nnscratch.core.seeding import as_seed_sequence, child
    from nnscratch.experiments.runner import build_network
    from nnscratch.tutorial import tutorial_config

    config = dataclasses.replace(tutorial_config(10, 10, 64), dtype=np.dtype(dtype).name)
    root = as_seed_sequence(0)
    return build_network([config] * 100, 2, 2, [child(root, p) for p in range(100)])


def w1(repeats: int, dtype, peak: float) -> str:
    import nnscratch as nns
    from nnscratch import tutorial
    from nnscratch.core.network import MLP
    from nnscratch.fast import epoch as fast_epoch
    from nnscratch.fast import lanes, llvm, shuffle, threads
    from nnscratch.fast.codes import ACTIVATIONS

    X, Xt, y, yt = workloads.moons()
    X, Xt = X.astype(dtype), Xt.astype(dtype)
    workloads._warm_up(nns, "W1")
    name = np.dtype(dtype).name
    out = [f"### W1 (`tutorial.test(..., 10, 10, 100)`'s network and training, {name}), compiled"]

    def run():  # what tutorial.test runs, in dtype
        net = w1_network(dtype)
        opt = nns.SGD(lr=tutorial.ALPHA)
        net.fit(X, y, epochs=10, batch_size=10, optimizer=opt, engine="numba")
        return float(np.mean(net.score(Xt, yt)))

    accuracy = run()  # loads (or compiles) what the run uses
    # --- the whole run, then the same run with its pieces timed ---
    original_kernel, original_split = lanes.epoch_kernel, threads.split
    kinds = {original_kernel(kind): kind for kind in ACTIVATIONS.values()}  # no compile
    captured: list[tuple] = []
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        samples["total"].append(timed(run))
        clock = Clock()

        def split(kernel, args, items, clock=clock):  # the epoch kernel's calls, timed
            if kernel not in kinds:  # the shuffles, the predictions
                return original_split(kernel, args, items)
            if not captured:
                captured.append((kinds[kernel], copies(args)))
            t0 = time.perf_counter()
            original_split(kernel, args, items)
            clock.seconds["kernel"] += time.perf_counter() - t0

        threads.split = split
        clock.wrap(MLP, "fit", "fit")
        clock.wrap(fast_epoch.CompiledEpoch, "__call__", "epoch")
        clock.wrap(shuffle, "shuffled", "shuffle")
        clock.wrap(MLP, "score", "score")
        try:
            t = timed(run)
        finally:
            clock.restore()
            threads.split = original_split
        s = clock.seconds
        samples["kernel"].append(s["kernel"])
        samples["epoch Python"].append(s["epoch"] - s["kernel"])
        samples["shuffle"].append(s["shuffle"])
        samples["loop Python"].append(s["fit"] - s["epoch"] - s["shuffle"])
        samples["score"].append(s["score"])
        samples["set-up"].append(t - s["fit"] - s["score"])
    m = medians(samples)
    rows = [
        [name, ms(m[name]), f"{100 * m[name] / m['total']:.0f}%"]
        for name in ("kernel", "epoch Python", "shuffle", "loop Python", "score", "set-up")
    ]
    flops = workloads.WORKLOADS["W1"].flops
    out.append(
        f"Whole run: {ms(m['total'])} ms (median of {repeats}), {flops / m['total'] / 1e9:.1f}"
        f" GFLOP/s, {100 * flops / m['total'] / 1e9 / peak:.1f}% of the {peak:.0f} GFLOP/s peak;"
        f" mean test accuracy {accuracy:.6f}."
    )
    out.append(table(rows, ["piece", "ms", "share"]))

    # --- inside the kernel: phase k = t(upto=k) - t(upto=k-1), replaying epoch one ---
    kind, args = captured[0]
    n_phases = len(lanes.PHASES)
    kernels = {k: original_kernel(kind, k) for k in range(1, n_phases + 1)}
    epochs = 10

    def replay(kernel, members=None):
        a = copies(args)
        if members is not None:  # the first `members` members only
            a = trim(a, members)
        with llvm.compiled(dtype):
            for _ in range(epochs):
                original_split(kernel, a, llvm.group_count(len(a[2]), dtype))

    with llvm.compiled(dtype):
        for k in kernels:  # compile or load, untimed
            replay(kernels[k])
    phase_t: dict[int, list[float]] = defaultdict(list)
    groups_t: dict[int, list[float]] = defaultdict(list)
    P, G = args[2].shape[0], llvm.group_size(dtype)
    n_groups = llvm.group_count(P, dtype)
    subsets = (G, 2 * G, (n_groups - 1) * G, P)  # 1, 2, n - 1 and n groups
    for _ in range(repeats):
        for k, kernel in kernels.items():
            phase_t[k].append(timed(lambda kernel=kernel: replay(kernel)))
        for p in subsets:
            groups_t[p].append(timed(lambda p=p: replay(kernels[n_phases], p)))
    pm = medians(phase_t)
    steps = -(-args[2].shape[1] // args[7]) * epochs
    per = lambda s: s / (n_groups * steps / 2) * 1e6  # noqa: E731 - us per group-step, per thread
    H, D, K = 64, 2, 2
    rows_total = args[2].shape[1] * epochs * P
    phase_flops = {
        "forward": 2 * (D * H + H * K) * rows_total,
        "backward": 2 * H * K * rows_total,
        "weights": 2 * (D * H + H * K) * rows_total,
    }
    rows = []
    for k in range(1, n_phases + 1):
        name = lanes.PHASES[k - 1]
        dt = pm[k] - pm.get(k - 1, 0.0)
        f = phase_flops.get(name)
        gf = f"{f / dt / 1e9:.1f} ({100 * f / dt / 1e9 / peak:.0f}%)" if f and dt > 0 else ""
        rows.append([name, ms(dt), f"{100 * dt / pm[n_phases]:.0f}%", f"{per(dt):.2f}", gf])
    rows.append(
        [
            "all",
            ms(pm[n_phases]),
            "100%",
            f"{per(pm[n_phases]):.2f}",
            f"{sum(phase_flops.values()) / pm[n_phases] / 1e9:.1f}",
        ]
    )
    out.append(
        f"Inside the kernel ({epochs} epochs of the run's first epoch replayed, {n_groups} lane"
        f" groups of {G}, {steps // epochs} steps an epoch):"
    )
    out.append(table(rows, ["phase", "ms", "share", "us / group-step", "GFLOP/s (% peak)"]))
    gm = medians(groups_t)
    rows = []
    for p in subsets:
        g = -(-p // G)
        rows.append([p, g, ms(gm[p]), f"{gm[p] / g * 1e3:.2f}"])
    one, two, fewer, every = (gm[p] for p in subsets)
    out.append("Lane groups on the 2 threads (the full kernel on the first members only):")
    out.append(table(rows, ["members", "groups", "ms", "ms per group"]))
    n = n_groups
    strict, even = -(-n // 2) / -(-(n - 1) // 2), n / (n - 1)
    out.append(
        f"2 threads on 2 groups: {2 * one / two:.2f}x one group's rate; {n} groups take"
        f" {every / fewer:.2f}x the time of {n - 1} ({-(-n // 2)} groups on one thread against"
        f" {-(-(n - 1) // 2)}: {strict:.2f}x if the split were strict, {even:.2f}x if the work"
        f" were divisible)."
    )
    return "\n\n".join(out)


def copies(args: tuple) -> tuple:
    """The kernel's arguments, arrays (and tuples of arrays) copied."""
    return tuple(
        v.copy()
        if isinstance(v, np.ndarray)
        else tuple(a.copy() for a in v)
        if isinstance(v, tuple)
        else v
        for v in args
    )


#: positions of the epoch kernel's per-member arguments: order, Ws, bs, lr, widths, active, out
PER_MEMBER = (2, 3, 4, 5, 6, 9, 10)


def trim(args: tuple, members: int) -> tuple:
    """The kernel's arguments cut to the first ``members`` members."""

    def cut(v):
        return tuple(a[:members].copy() for a in v) if isinstance(v, tuple) else v[:members].copy()

    return tuple(cut(v) if i in PER_MEMBER else v for i, v in enumerate(args))


# --- W5: the NumPy loop ----------------------------------------------------------------


def w5(repeats: int, peak: float) -> str:
    import nnscratch as nns
    from nnscratch.core.epoch import Freezer, NumpyEpoch

    X, _, y, _ = workloads.synthetic(0)
    sizes, B, lr = workloads.W5_SIZES, workloads.W5_BATCH, workloads.W5_LR
    workloads._warm_up(nns, "W5")
    rng = np.random.default_rng(0)

    def fit(clock=None):
        t0 = time.perf_counter()
        net = nns.MLP(sizes, seed=0, dtype=np.float32)
        opt = nns.SGD(lr=lr)
        if clock is not None:
            clock.seconds["network init"] += time.perf_counter() - t0
            clock.wrap(net, "_check_X", "input checks")
            clock.wrap(net, "_check_y", "input checks")
            for layer in net.layers:
                kind = "dense" if hasattr(layer, "params") and "W" in layer.params else "act"
                clock.wrap(layer, "forward", f"forward {kind}")
                clock.wrap(layer, "backward", f"backward {kind}")
            clock.wrap(net.loss_fn, "forward", "loss forward")
            clock.wrap(net.loss_fn, "backward", "loss backward")
            clock.wrap(net.loss_fn, "hits", "hits")
            clock.wrap(opt, "step", "update")
            clock.wrap(Freezer, "restore", "freezer")
            clock.wrap(Freezer, "check", "freezer")
            clock.wrap(NumpyEpoch, "__call__", "epoch")
        try:
            net.fit(X, y, epochs=1, batch_size=B, optimizer=opt, seed=0, engine="numpy")
        finally:
            if clock is not None:
                clock.restore()

    def bare():
        net = workloads.bare_network(sizes, rng)
        net.epoch(X, y, rng.permutation(X.shape[0]), lr)

    perm = rng.permutation(X.shape[0])
    xb = np.empty((B, sizes[0]), np.float32)

    def gather():  # the batch rows alone, as NumpyEpoch takes them
        for start in range(0, X.shape[0], B):
            idx = perm[None, start : start + B]
            X.take(idx, axis=0), y.take(idx, axis=0)

    def gather_bare():
        for start in range(0, X.shape[0], B):
            idx = perm[start : start + B]
            np.take(X, idx, axis=0, out=xb[: idx.shape[0]])

    Ws = [np.ones((a, b), np.float32) * 0.01 for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    hs = [np.empty((B, b), np.float32) for b in sizes[1:]]
    dWs = [np.empty_like(W) for W in Ws]
    dhs = [np.empty((B, a), np.float32) for a in sizes[:-1]]

    def products():  # a step's eight matrix products alone, preallocated, every batch
        x = np.ones((B, sizes[0]), np.float32)
        for start in range(0, X.shape[0], B):
            n = min(B, X.shape[0] - start)
            inputs = [x[:n]]
            for k, W in enumerate(Ws):
                np.matmul(inputs[-1], W, out=hs[k][:n])
                inputs.append(hs[k][:n])
            for k in range(len(Ws) - 1, -1, -1):
                np.matmul(inputs[k].T, inputs[k + 1], out=dWs[k])
                if k > 0:
                    np.matmul(inputs[k + 1], Ws[k].T, out=dhs[k][:n])

    fit(), bare(), products()  # warm: heap, BLAS threads
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        samples["nnscratch fit"].append(timed(fit))
        samples["numpy-bare"].append(timed(bare))
        samples["products alone"].append(timed(products))
        samples["gather alone"].append(timed(gather))
        samples["bare gather alone"].append(timed(gather_bare))
        clock = Clock()
        t = timed(lambda clock=clock: fit(clock))
        s = clock.seconds
        for k, v in s.items():
            samples[k].append(v)
        inside = sum(v for k, v in s.items() if k not in ("epoch", "input checks", "network init"))
        samples["instrumented fit"].append(t)
        samples["epoch rest"].append(s["epoch"] - inside)
    m = medians(samples)
    fl_train = workloads.dense_flops(sizes, X.shape[0], 1)
    out = ["### W5 (784-256-128-10 float32, one epoch), NumPy loop"]
    out.append(
        f"nnscratch `fit`: {ms(m['nnscratch fit'])} ms; numpy-bare: {ms(m['numpy-bare'])} ms"
        f" ({m['nnscratch fit'] / m['numpy-bare']:.3f}x); the eight products of each step alone:"
        f" {ms(m['products alone'])} ms ({fl_train / m['products alone'] / 1e9:.0f} GFLOP/s,"
        f" {100 * fl_train / m['products alone'] / 1e9 / peak:.0f}% of the {peak:.0f} GFLOP/s"
        f" float32 peak). Medians of {repeats}."
    )
    names = [
        "forward dense",
        "forward act",
        "loss forward",
        "hits",
        "loss backward",
        "backward dense",
        "backward act",
        "update",
        "freezer",
    ]
    rows = [
        [n, ms(m.get(n, 0.0)), f"{100 * m.get(n, 0.0) / m['instrumented fit']:.0f}%"] for n in names
    ]
    gather_t = m["gather alone"]
    rest = m["epoch rest"] - gather_t
    rows.append(
        ["gather (timed alone)", ms(gather_t), f"{100 * gather_t / m['instrumented fit']:.0f}%"]
    )
    rows.append(
        ["epoch loop Python (rest)", ms(rest), f"{100 * rest / m['instrumented fit']:.0f}%"]
    )
    outside = m["instrumented fit"] - m["epoch"] - m["input checks"] - m["network init"]
    for name in ("input checks", "network init"):
        rows.append([name, ms(m[name]), f"{100 * m[name] / m['instrumented fit']:.0f}%"])
    rows.append(
        [
            "fit's other work outside the epoch",
            ms(outside),
            f"{100 * outside / m['instrumented fit']:.0f}%",
        ]
    )
    rows.append(["instrumented fit", ms(m["instrumented fit"]), "100%"])
    out.append(table(rows, ["phase", "ms", "share"]))
    out.append(
        f"The bare epoch's gather alone (`np.take(..., out=)`): {ms(m['bare gather alone'])} ms."
    )
    return "\n\n".join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workloads", default="W1,W5")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--dtype",
        default="float64",
        choices=("float64", "float32"),
        help="W1's dtype (W5 is float32)",
    )
    args = parser.parse_args(argv)
    info = machine.describe(measure_peak=True)
    peaks = info["peak_gflops"]
    print(f"CPU: {info['cpu']}, {info['cores']} cores; NumPy {info['numpy']}, {info['blas']}")
    print(f"matmul peak: float64 {peaks['float64']:.1f}, float32 {peaks['float32']:.1f} GFLOP/s")
    print()
    for name in args.workloads.split(","):
        if name == "W1":
            dtype = np.dtype(args.dtype).type
            print(w1(args.repeats, dtype, peaks[args.dtype]))
        elif name == "W5":
            print(w5(args.repeats, peaks["float32"]))
        else:
            raise SystemExit(f"--workloads: W1 or W5, got {name!r}")
        print()


if __name__ == "__main__":
    main()
