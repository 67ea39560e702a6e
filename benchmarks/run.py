"""Benchmark nnscratch against plain NumPy, PyTorch and scikit-learn: ``python benchmarks/run.py``.

Every workload runs with every available peer in the same run, peers alternating within
each repetition (A, B, C, A, B, C, ...); each (workload, peer) measurement is a fresh
process (``python -m benchmarks.worker``), so imports, caches and peak memory (``ru_maxrss``)
never leak from one into another. Setup (imports, data) is not timed. The table gives
MEDIAN times over the repetitions, the ratio to nnscratch, the speed-up over the tutorial's
NumPy loop, time per network-step, achieved GFLOP/s against the measured matrix-multiply
peak, peak memory and the mean test accuracy reached.

Flags::

    --quick             a fast smoke run: 1 repetition, and the one-at-a-time peers of W1/W2
                        time 5 of the 100 experiments / 6 of the 111 networks, extrapolated
                        linearly (labelled "extrapolated from k of n")
    --workloads W1,W3   run only these workloads (default: W1..W5)
    --peers P1,P2       run only these peers (default: all; nnscratch is always included)
    --repeats N         repetitions (default 3; 1 with --quick)
    --full-loops        one-at-a-time peers train every network of W1/W2 (slow: W2 takes
                        minutes per peer); by default the full run subsamples the slowest
    --json PATH         also write machine, settings and every raw measurement as JSON
    --markdown          print the machine and the table as markdown (for the README)
    --seed S            base seed (repetition r uses S + r)

Workloads: E the scikit-learn estimators: ``nnscratch.sklearn.MLPClassifier`` against
``sklearn.neural_network.MLPClassifier`` with the same parameters (digits from
``sklearn.datasets.load_digits``, 64-128-10, adam, batch 32, 50 iterations, seed = the
repetition's; the time is ``fit`` alone); W1 ``tutorial.test(X_train, y_train, X_test,
y_test, 10, 10, 100)``;
W2 ``tutorial.test_class(3, 40, 3, plot=False)``; W3 one 2-64-2 network, batch 10, 100
epochs; W4 digits 64-128-10, Adam, batch 32, 50 epochs; W5 784-256-128-10 float32, batch
128, one epoch of 60,000 synthetic rows. Peers: ``nnscratch`` (as a user gets it),
``nnscratch-numpy`` (``fit(engine="numpy")``, when a compiled engine exists), ``numpy-loop``
(the tutorial's code, one network at a time; ``numpy-bare``, a preallocated NumPy epoch, for
W5), ``torch-loop``, ``torch-stacked`` (``bmm`` over the population, W1/W2), ``torch-func``
(``torch.func``: ``stack_module_state``, ``vmap`` over ``grad`` of ``functional_call``;
W1-W3), ``jax`` (``vmap``, ``lax.scan``, ``jit``; W1-W3), ``sklearn`` (``MLPClassifier``).
PyTorch runs with as many intra-op threads as cores (``NNS_BENCH_TORCH_THREADS`` overrides).
Peers not installed are skipped with a note naming the install command. The benchmarks run
on the CPU: a CUDA build of PyTorch (what ``pip install torch`` gives on Linux) is said on
stderr with its size on disk and the command for the CPU build.
FLOPs: see ``benchmarks/workloads.py`` (matrix multiplies of forward and backward).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    INSTALL,
    PEERS,
    QUICK_SUBSAMPLE,
    WORKLOADS,
    Workload,
    dense_flops,
    missing,
    peer_label,
)

#: Workload E: the same estimator call in both libraries; 50 epochs in both (tol=0 and a
#: patience longer than max_iter, so neither stops early and the times compare like for like).
E_PARAMS = dict(
    hidden_layer_sizes=(128,),
    solver="adam",
    batch_size=32,
    max_iter=50,
    learning_rate_init=1e-3,
    tol=0.0,
    n_iter_no_change=50,
)
E_TRAIN_ROWS = 1347  # load_digits, 25% held out, stratified
WORKLOADS = {
    "E": Workload(
        "E",
        "estimators: MLPClassifier on digits 64-128-10, adam, batch 32, 50 iterations",
        ("nnscratch", "sklearn"),
        dense_flops([64, 128, 10], E_TRAIN_ROWS, 50),
        50 * -(-E_TRAIN_ROWS // 32),
    ),
    **WORKLOADS,
}


def estimator_measure(peer: str, seed: int) -> dict:
    """Workload E in this (fresh) process: setup untimed, then ``fit`` timed, then the
    held-out accuracy. ``python -m benchmarks.run --estimator-worker PEER SEED``."""
    import warnings

    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    from benchmarks.worker import _rss_mb

    if peer == "nnscratch":
        from nnscratch.sklearn import MLPClassifier
    else:
        from sklearn.neural_network import MLPClassifier
    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixels 0..16 to [0, 1]
    X, Xt, y, yt = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    est = MLPClassifier(random_state=seed, **E_PARAMS)
    setup_rss = _rss_mb()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 50 epochs, on purpose
        t0 = time.perf_counter()
        est.fit(X, y)
        seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "accuracy": float(est.score(Xt, yt)),
        "maxrss_mb": _rss_mb(),
        "setup_rss_mb": setup_rss,
        "n_iter": int(est.n_iter_),
    }


def installed_bytes(paths) -> int:
    """Bytes of the files under ``paths`` (folders walked; missing paths count 0)."""
    total = 0
    for path in map(Path, paths):
        files = [path] if path.is_file() else (p for p in path.rglob("*") if p.is_file())
        total += sum(f.lstat().st_size for f in files)
    return total


def torch_build_note(torch) -> str | None:
    """One line when ``torch`` is a CUDA build (``torch.version.cuda`` set): its size here
    (``torch`` with the ``nvidia`` and ``triton`` packages beside it) and how to get the CPU
    build, which is all these CPU benchmarks use; ``None`` for a CPU build."""
    cuda = getattr(getattr(torch, "version", None), "cuda", None)
    if cuda is None:
        return None
    site = Path(torch.__file__).resolve().parent.parent
    size = installed_bytes(site / name for name in ("torch", "nvidia", "triton"))
    shown = f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"
    return (
        f"note: PyTorch {torch.__version__} is a CUDA {cuda} build, {shown} on disk here with "
        "its nvidia and triton packages (the CPU build of 2.13.0: 0.75 GB); these benchmarks "
        "use the CPU only. For the CPU build: pip uninstall torch triton and the nvidia-* "
        f"packages, then {INSTALL['torch']}"
    )


def check_torch() -> None:
    """Say on stderr that an installed PyTorch is a CUDA build (see ``torch_build_note``)."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return  # its rows are skipped, with the install command in their note
    import torch

    note = torch_build_note(torch)
    if note:
        print(note, file=sys.stderr, flush=True)


def package_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# train W1/W2 networks one at a time
LOOPING = ("numpy-loop", "tutorial-code", "torch-loop", "sklearn")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--peers", default=",".join(PEERS))
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--full-loops", action="store_true")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--estimator-worker", nargs=2, metavar=("PEER", "SEED"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.estimator_worker:
        return args
    args.workloads = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    for w in args.workloads:
        if w not in WORKLOADS:
            p.error(f"--workloads: expected names from {', '.join(WORKLOADS)}, got {w!r}")
    args.peers = [x.strip() for x in args.peers.split(",") if x.strip()]
    for x in args.peers:
        if x not in PEERS:
            p.error(f"--peers: expected names from {', '.join(PEERS)}, got {x!r}")
    if "nnscratch" not in args.peers:
        args.peers.insert(0, "nnscratch")
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.repeats < 1:
        p.error(f"--repeats: expected a positive integer, got {args.repeats}")
    return args


def networks_to_time(args, workload: str, peer: str) -> int:
    """How many of the workload's networks a peer trains (all of them, unless it loops)."""
    w = WORKLOADS[workload]
    if w.units == 1 or peer not in LOOPING or args.full_loops:
        return w.units
    if args.quick:
        return QUICK_SUBSAMPLE[workload]
    return w.subsample.get(peer, w.units)


def measure(workload: str, peer: str, k: int, seed: int) -> dict:
    """One measurement in a fresh interpreter; the worker prints one JSON line."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-m", "benchmarks.worker", workload, peer, str(k), str(seed)]
    if workload == "E":  # the estimators: measured by this file, in a fresh process too
        cmd = [sys.executable, "-m", "benchmarks.run", "--estimator-worker", peer, str(seed)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"worker exited {proc.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1])


def summarize(workload: str, peer: str, runs: list[dict], k: int, peak: dict) -> dict:
    w = WORKLOADS[workload]
    ok = [r for r in runs if "seconds" in r]
    row = {"workload": workload, "peer": peer_label(workload, peer), "k": k, "n": w.units}
    if not ok:
        row["note"] = next((r.get("skipped") or r.get("error") for r in runs), "no result")
        return row
    scale = w.units / k  # extrapolate a subsample linearly
    times = [r["seconds"] * scale for r in ok]
    median = statistics.median(times)
    row.update(
        seconds=median,
        min=min(times),
        max=max(times),
        us_per_step=median / w.network_steps * 1e6,
        gflops=w.flops / median / 1e9,
        peak_fraction=w.flops / median / 1e9 / peak[w.dtype] if peak else None,
        maxrss_mb=statistics.median(r["maxrss_mb"] for r in ok),
        setup_rss_mb=statistics.median(r["setup_rss_mb"] for r in ok),
        accuracy=statistics.median(r["accuracy"] for r in ok if r["accuracy"] is not None),
    )
    if k < w.units:
        row["note"] = f"extrapolated from {k} of {w.units}"
    compiles = [r["compile_seconds"] for r in ok if "compile_seconds" in r]
    if compiles:
        row["note"] = f"+ {statistics.median(compiles):.2f} s compile, not timed"
    return row


def add_ratios(rows: list[dict]) -> None:
    """``vs_nnscratch`` = t / t(nnscratch); ``speedup`` = t(numpy-loop) / t; ``vs_tutorial`` =
    t(tutorial-code) / t; per workload."""
    by = {(r["workload"], r["peer"]): r.get("seconds") for r in rows}
    for r in rows:
        t = r.get("seconds")
        base = by.get((r["workload"], "nnscratch"))
        loop = by.get((r["workload"], "numpy-loop")) or by.get((r["workload"], "numpy-bare"))
        r["vs_nnscratch"] = t / base if t and base else None
        r["speedup"] = loop / t if t and loop else None
        literal = by.get((r["workload"], "tutorial-code"))
        r["vs_tutorial"] = literal / t if t and literal else None


COLUMNS = [
    ("workload", "workload", "{}"),
    ("peer", "peer", "{}"),
    ("median s", "seconds", "{:.3g}"),
    ("min-max s", None, None),
    ("t / t(nnscratch)", "vs_nnscratch", "{:.2f}"),
    ("speed-up vs loop", "speedup", "{:.1f}x"),
    ("vs tutorial code", "vs_tutorial", "{:.1f}x"),
    ("us / net-step", "us_per_step", "{:.3g}"),
    ("GFLOP/s", "gflops", "{:.3g}"),
    ("% of peak", "peak_fraction", "{:.2%}"),
    ("peak RSS MB (setup)", None, None),
    ("accuracy", "accuracy", "{:.3f}"),
    ("note", "note", "{}"),
]


def cells(row: dict) -> list[str]:
    out = []
    for _, key, fmt in COLUMNS:
        if key is None and "seconds" in row and _ == "min-max s":
            out.append(f"{row['min']:.3g}-{row['max']:.3g}")
        elif key is None and "seconds" in row:
            out.append(f"{row['maxrss_mb']:.0f} ({row['setup_rss_mb']:.0f})")
        elif key is None or row.get(key) is None:
            out.append("")
        else:
            out.append(fmt.format(row[key]))
    return out


def machine_lines(info: dict) -> list[str]:
    peak = info.get("peak_gflops") or {}
    lines = [
        f"CPU: {info['cpu']}, {info['cores']} cores ({info['cores_available']} available)",
        f"Python {info['python']}, NumPy {info['numpy']}, BLAS: {info['blas']}",
        f"PyTorch: {info['torch'] or 'not installed'}; JAX: "
        f"{info.get('jax') or 'not installed'}; scikit-learn: "
        f"{info['sklearn'] or 'not installed'}",
    ]
    if peak:
        lines.append(
            f"matmul peak (2048x2048 a @ b, best of 5): float64 {peak['float64']:.1f} GFLOP/s, "
            f"float32 {peak['float32']:.1f} GFLOP/s"
        )
    return lines


def render(rows: list[dict], info: dict, settings: dict, markdown: bool) -> str:
    head = [c[0] for c in COLUMNS]
    body = [cells(r) for r in rows]
    notes = [
        f"{settings['repeats']} repetition(s), peers alternating within each; median times.",
        "speed-up vs loop: t(numpy-loop) / t (for W5: t(numpy-bare) / t). FLOPs: matrix "
        "multiplies of forward + backward (first layer without dx) + test-set evaluation.",
    ]
    for name in settings["workloads"]:
        w = WORKLOADS[name]
        notes.append(f"{name}: {w.title}; {w.flops / 1e9:.3g} GFLOP, {w.dtype}.")
    if markdown:
        out = [f"- {line}" for line in machine_lines(info)] + [""]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join("---" for _ in head) + "|")
        out += ["| " + " | ".join(b) + " |" for b in body]
        out += [""] + [f"- {n}" for n in notes]
        return "\n".join(out)
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:<{n}}}" for n in widths)
    out = machine_lines(info) + ["", fmt.format(*head), fmt.format(*("-" * n for n in widths))]
    out += [fmt.format(*b) for b in body] + [""] + notes
    return "\n".join(out)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.estimator_worker:
        peer, seed = args.estimator_worker
        print(json.dumps(estimator_measure(peer, int(seed))), flush=True)
        return 0
    check_torch()
    print("measuring the machine ...", file=sys.stderr, flush=True)
    info = describe()
    info["jax"] = package_version("jax")
    plan = []  # (workload, peer, k) in run order
    skipped = {}
    for name in args.workloads:
        for peer in WORKLOADS[name].peers:
            if peer not in args.peers:
                continue
            why = missing(peer)
            if why:
                skipped[(name, peer)] = why
            else:
                plan.append((name, peer, networks_to_time(args, name, peer)))
    raw: dict[tuple, list[dict]] = {key: [] for key in plan}
    t_start = time.perf_counter()
    for rep in range(args.repeats):
        for name, peer, k in plan:  # A, B, C, A, B, C, ...: peers alternate
            result = measure(name, peer, k, args.seed + rep)
            raw[(name, peer, k)].append(result)
            shown = (
                f"{result['seconds']:.2f} s"
                if "seconds" in result
                else result.get("skipped") or result.get("error")
            )
            print(
                f"[{rep + 1}/{args.repeats}] {name} {peer} (k={k}): {shown}",
                file=sys.stderr,
                flush=True,
            )
    rows = []
    for name in args.workloads:
        for peer in WORKLOADS[name].peers:
            if (name, peer) in skipped:
                rows.append(
                    {
                        "workload": name,
                        "peer": peer_label(name, peer),
                        "note": f"skipped: {skipped[(name, peer)]}",
                    }
                )
            for key in plan:
                if key[:2] == (name, peer):
                    rows.append(summarize(name, peer, raw[key], key[2], info["peak_gflops"]))
    add_ratios(rows)
    settings = {
        "repeats": args.repeats,
        "quick": args.quick,
        "full_loops": args.full_loops,
        "workloads": args.workloads,
        "seed": args.seed,
        "wall_seconds": time.perf_counter() - t_start,
    }
    print(render(rows, info, settings, args.markdown))
    if args.json is not None:
        payload = {
            "machine": info,
            "settings": settings,
            "rows": rows,
            "raw": [{"workload": n, "peer": p, "k": k, "runs": raw[(n, p, k)]} for n, p, k in plan],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.json.with_name(args.json.name + ".tmp")
        tmp.write_text(json.dumps(payload, indent=1))
        os.replace(tmp, args.json)  # atomic
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
