"""Scaling out a sweep: one worker, two local processes, and a local Dask cluster.

```
python -m benchmarks.scale_out            # the full run (~10 min on 2 cores)
python -m benchmarks.scale_out --quick    # smoke run: 200 networks, 1 repetition (~2 min)
python -m benchmarks.scale_out --json benchmarks/scale_out.json --repeats 5
```

The sweep: ``E.sweep`` (what ``nnscratch sweep`` calls) of 40 learning rates (geometric,
0.01 to 0.3) x 50 trials = 2,000 networks 2-32-2, SGD, batch 32, 5 epochs, on the built-in
two moons (3,750 training rows), seed 0. One group: every member has the same shape, so a
chunk's work is proportional to its members (a width sweep pads each chunk to its widest
member and would make the chunks unequal). Every backend runs the same chunks (two of
1,000, ``chunk_size=1000``), so the records must be the same, number for number; the run
checks that they are (all but the ``seconds`` field) and stops if they are not.

Every process runs with one thread for the compiled kernels and BLAS
(``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` = 1, inherited by the
workers it starts), so that a worker is one core and the model counts cores; the row
``local-threads`` is the in-process run with numba's default threads (every core: the
compiled epoch runs its members on parallel threads), what ``nnscratch sweep`` does with
numba installed.

Backends, each measurement in a fresh process (``python -m benchmarks.scale_out --child``)
with imports and data set up before the clock, repetitions alternating between backends:

- ``local``: ``n_jobs=1``, in this process (``--backend local``);
- ``processes-1`` / ``processes-2``: ``joblib.parallel_config("loky", n_jobs=N)``
  (``--backend processes --n-jobs N``); with one job joblib starts no pool, so
  ``processes-1`` trains in the calling process too;
- ``dask-2``: a ``distributed.LocalCluster`` of 2 worker processes x 1 thread and
  ``joblib.parallel_config("dask")`` (``--backend dask --n-jobs 2``); the cluster's start
  and close are timed apart from the sweep;
- ``dask-2-untrimmed``: the same, the workers started without the
  ``MALLOC_TRIM_THRESHOLD_=65536`` that Dask's nanny sets by default
  (``distributed.nanny.pre-spawn-environ``): with it glibc returns freed memory to the
  system at once, and the training loop, which allocates its temporaries batch by batch,
  pays for that on every batch. The cluster projection uses this row.

Each process runs the sweep twice: ``cold`` (the first: worker processes start, import
nnscratch, load the compiled kernels, receive the data) and ``warm`` (the same sweep
again on the same workers). ``startup = cold - warm``. Then, on the warm workers, the
per-chunk cost: sweeps of ``c`` one-network chunks (``chunk_size=1``, same network and
epochs) for a few ``c``, fitted as ``T = a + b c``: in process ``b`` is what one
population costs to train whatever its size (``p0``: the loop over batches, the
evaluation), on ``W`` workers ``W b - p0`` is the overhead a chunk adds there (``o``:
pickling, scheduling, the round trip). On Dask a no-op task's round trip
(``client.submit(...).result()``, one at a time) is timed too, and the scheduler's share
of a task: 500 no-ops submitted at once, seconds per task. The fit's intercept, beyond the
in-process one, is what handing a sweep to the workers costs once (``s``: joblib's
dispatch, the data scattered to a Dask cluster).

The model, fitted from these numbers and checked against the measured two-worker times::

    T(W, c) = startup + s + ceil(c / W) * (p0 + o + work / c)
            # = startup + s + (c (p0 + o) + work) / W   when W divides c
    work    = T_local(warm) - c_local * p0                    # the sweep's per-member work

It prints what the model predicts for 64 local cores and a 10-machine Dask cluster of 16
cores each, with the assumptions it needs stated in the output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: (name, backend, workers, compiled-kernel threads per process; 0: numba's default, every core)
BACKENDS = (
    ("local-1", "local", 1, 1),
    ("processes-1", "processes", 1, 1),
    ("processes-2", "processes", 2, 1),
    ("dask-2", "dask", 2, 1),
    ("dask-2-untrimmed", "dask-untrimmed", 2, 1),
    ("local-threads", "local", 1, 0),
)
MODELLED = ("local-1", "processes-1", "processes-2", "dask-2", "dask-2-untrimmed")

#: (learning rates, trials, epochs, chunk size, one-network chunk counts) per mode
FULL = {"lrs": 40, "trials": 50, "epochs": 5, "chunk_size": 1000, "chunk_counts": (4, 12, 24)}
QUICK = {"lrs": 20, "trials": 10, "epochs": 2, "chunk_size": 100, "chunk_counts": (4, 8, 16)}

#: Assumptions of the cluster prediction (not measured here: one machine has no network).
LAN_ROUND_TRIP_S = 0.5e-3  # a task's extra network round trip on a local network
NOOP_ROUNDS = 30


def workload(mode: dict):
    """The sweep's grid, base configuration and trials."""
    import numpy as np

    from nnscratch.experiments import Config

    lrs = np.geomspace(0.01, 0.3, mode["lrs"]).round(6).tolist()
    return {"lr": lrs}, Config(hidden=32, epochs=mode["epochs"]), mode["trials"]


def digest(records) -> str:
    """SHA-256 of the records without their ``seconds`` (the one field that is a timing)."""
    rows = [{k: v for k, v in r.to_dict().items() if k != "seconds"} for r in records]
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()


# --- one measurement, in a fresh process -------------------------------------------------


def child(backend: str, n_jobs: int, mode: dict) -> dict:
    """Cold and warm sweeps, then the one-network chunk sweeps, under one backend."""
    import contextlib

    import joblib

    from nnscratch.experiments import sweep
    from nnscratch.experiments.runner import load_data

    data = load_data(None)  # the moons, before any clock
    grid, base, trials = workload(mode)
    result: dict = {"backend": backend, "n_jobs": n_jobs}
    stack = contextlib.ExitStack()
    client = None
    if backend == "processes":
        stack.enter_context(joblib.parallel_config(backend="loky", n_jobs=n_jobs))
    elif backend.startswith("dask"):
        import logging

        import dask
        import distributed

        if backend == "dask-untrimmed":  # the workers without Dask's MALLOC_TRIM_THRESHOLD_
            environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
            environ.pop("MALLOC_TRIM_THRESHOLD_", None)
            stack.enter_context(dask.config.set({"distributed.nanny.pre-spawn-environ": environ}))

        logging.getLogger("distributed").setLevel(logging.ERROR)
        start = time.perf_counter()
        cluster = distributed.LocalCluster(
            n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = distributed.Client(cluster)
        result["cluster_start_s"] = time.perf_counter() - start
        stack.enter_context(joblib.parallel_config(backend="dask"))
    where = {"n_jobs": 1} if backend == "local" else {}

    def timed(**kwargs):
        start = time.perf_counter()
        records = sweep(grid, trials=trials, base=base, data=data, seed=0, quiet=True, **kwargs)
        return time.perf_counter() - start, records

    with stack:
        result["cold_s"], records = timed(chunk_size=mode["chunk_size"], **where)
        result["warm_s"], again = timed(chunk_size=mode["chunk_size"], **where)
        result["digest"], result["networks"] = digest(records), len(records)
        result["warm_digest"] = digest(again)
        # fmt: off
        sweep({"lr": [0.1]}, trials=4 * n_jobs, base=base, data=data, seed=0, quiet=True,
              chunk_size=1, **where)  # untimed: every worker loads the one-network kernels
        # fmt: on
        chunks = {}
        for c in mode["chunk_counts"]:  # c populations of one network each
            start = time.perf_counter()
            # fmt: off
            sweep({"lr": [0.1]}, trials=c, base=base, data=data, seed=0, quiet=True,
                  chunk_size=1, **where)
            # fmt: on
            chunks[str(c)] = time.perf_counter() - start
        result["one_network_chunks_s"] = chunks
        if client is not None:
            result["noop_round_trip_s"] = _round_trips(client)
            result["noop_throughput_s"] = _throughput(client)
    if client is not None:
        start = time.perf_counter()
        client.close()
        cluster.close()
        result["cluster_close_s"] = time.perf_counter() - start
    return result


def _noop(i: int) -> int:
    return i


def _round_trips(client) -> float:
    """Median seconds of a no-op task submitted and its result fetched, one at a time."""
    client.submit(_noop, -1, pure=False).result()  # the function's first pickling
    times = []
    for i in range(NOOP_ROUNDS):
        start = time.perf_counter()
        client.submit(_noop, i, pure=False).result()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _throughput(client, tasks: int = 500) -> float:
    """Seconds per no-op task when ``tasks`` of them are submitted at once: what the
    scheduler spends on each, one after another (its serial share of a task)."""
    start = time.perf_counter()
    client.gather(client.map(_noop, range(tasks), pure=False))
    return (time.perf_counter() - start) / tasks


def run_child(backend: str, n_jobs: int, threads: int, quick: bool) -> dict:
    """One child process; ``threads`` > 0 caps the compiled kernels' (and BLAS's) threads in
    it and in the workers it starts (they inherit its environment)."""
    command = [sys.executable, "-m", "benchmarks.scale_out", "--child", backend, str(n_jobs)]
    env = dict(os.environ)
    if threads:
        for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[name] = str(threads)
    done = subprocess.run(
        command + (["--quick"] if quick else []),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{backend} n_jobs={n_jobs} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the model ----------------------------------------------------------------------------


def fit_line(xs, ys) -> tuple[float, float]:
    """Least squares ``y = a + b x``: ``(a, b)``."""
    n = len(xs)
    if n < 2 or len(set(xs)) < 2:
        raise ValueError(f"xs: expected at least two distinct values, got {list(xs)!r}")
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return my - b * mx, b


def predict(workers: int, chunks: int, startup: float, p0: float, overhead: float, work: float):
    """Seconds for ``chunks`` equal chunks of ``work`` seconds in all on ``workers`` workers:
    the chunks run in rounds of ``workers``, each chunk ``p0 + overhead + work / chunks``."""
    if workers < 1 or chunks < 1:
        raise ValueError(f"workers, chunks: expected >= 1, got {workers}, {chunks}")
    return startup + math.ceil(chunks / workers) * (p0 + overhead + work / chunks)


def fit_model(rows: dict, mode: dict) -> dict:
    """The model's parameters from the medians of each backend's measurements."""
    counts = list(mode["chunk_counts"])
    n_chunks = -(-mode["lrs"] * mode["trials"] // mode["chunk_size"])
    local = rows["local-1"]
    a0, p0 = fit_line(counts, [local["one_network_chunks_s"][str(c)] for c in counts])
    work = local["warm_s"] - n_chunks * p0
    model = {"p0_s": p0, "work_s": work, "chunks": n_chunks, "backends": {}}
    for name in (n for n in MODELLED if n in rows):
        row = rows[name]
        pool = name not in ("local-1", "processes-1")  # one job: no pool, trains here
        w = row["n_jobs"] if pool else 1
        a, slope = fit_line(counts, [row["one_network_chunks_s"][str(c)] for c in counts])
        overhead = max(0.0, w * slope - p0) if pool else 0.0
        per_sweep = max(0.0, a - a0) if pool else 0.0  # handing the sweep out: once per run
        startup = row["cold_s"] - row["warm_s"]
        entry = {
            "workers": w,
            "slope_s": slope,
            "intercept_s": a,
            "overhead_per_chunk_s": overhead,
            "overhead_per_sweep_s": per_sweep,
            "startup_s": startup,
            "predicted_warm_s": predict(w, n_chunks, per_sweep, p0, overhead, work),
            "measured_warm_s": row["warm_s"],
            "predicted_cold_s": predict(w, n_chunks, startup + per_sweep, p0, overhead, work),
            "measured_cold_s": row["cold_s"],
        }
        model["backends"][name] = entry
    return model


def projections(model: dict, rows: dict) -> list[dict]:
    """What the model gives for more cores: this sweep and one a hundred times larger."""
    p0, work = model["p0_s"], model["work_s"]
    loky, dask = model["backends"]["processes-2"], model["backends"]["dask-2-untrimmed"]
    # a running cluster: the workers' first task (imports, kernels, data) is its start-up;
    # the scheduler handles tasks one after another: its share of each, no-ops measured
    dispatch = rows["dask-2-untrimmed"]["noop_throughput_s"]
    out = []
    for scale in (1, 100):
        for name, w, startup, overhead, serial in (
            (
                "64 local cores (processes)",
                64,
                loky["startup_s"] + loky["overhead_per_sweep_s"],
                loky["overhead_per_chunk_s"],
                0,
            ),
            (
                "10 machines x 16 cores (dask, untrimmed)",
                160,
                dask["startup_s"] + dask["overhead_per_sweep_s"],
                dask["overhead_per_chunk_s"] + LAN_ROUND_TRIP_S,
                dispatch,
            ),
        ):
            seconds = predict(w, w, startup + w * serial, p0, overhead, work * scale)
            one = predict(1, 1, 0.0, p0, 0.0, work * scale)
            row = {"where": name, "workers": w, "chunks": w, "scale": scale}
            out.append({**row, "seconds": seconds, "one_worker_s": one, "speedup": one / seconds})
    return out


# --- the run ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 networks, 1 repetition")
    parser.add_argument("--repeats", type=int, default=None, help="(default: 3; --quick 1)")
    parser.add_argument("--json", default=None, help="(default: benchmarks/scale_out.json)")
    parser.add_argument(
        "--markdown", metavar="JSON", help="print the README paragraph of a saved run and stop"
    )
    parser.add_argument("--child", nargs=2, metavar=("BACKEND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    mode = QUICK if args.quick else FULL
    if args.markdown:
        print(markdown(json.loads(Path(args.markdown).read_text())))
        return 0
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), mode)))
        return 0
    from benchmarks.machine import describe

    repeats = args.repeats or (1 if args.quick else 3)
    machine = describe(measure_peak=False)
    machine["load_before"] = os.getloadavg()
    runs: dict[str, list[dict]] = {name: [] for name, *_ in BACKENDS}
    for rep in range(repeats):
        for name, backend, n, threads in BACKENDS:  # alternating: a slow spell hits every one
            row = run_child(backend, n, threads, args.quick)
            row["threads"] = threads or "numba default"
            runs[name].append(row)
            print(f"  rep {rep + 1} {name}: cold {row['cold_s']:.2f} s, "
                  f"warm {row['warm_s']:.2f} s", file=sys.stderr, flush=True)  # fmt: skip
    machine["load_after"] = os.getloadavg()
    digests = {r["digest"] for rs in runs.values() for r in rs}
    digests |= {r["warm_digest"] for rs in runs.values() for r in rs}
    if len(digests) != 1:
        raise SystemExit(f"records differ between runs: {len(digests)} different digests")
    rows = {name: _medians(rs) for name, rs in runs.items()}
    machine["numba"] = _numba_version()
    model = fit_model(rows, mode)
    ahead = projections(model, rows)
    report = {
        "machine": machine,
        "mode": "quick" if args.quick else "full",
        "repeats": repeats,
        "sweep": {
            **{k: v for k, v in mode.items() if k != "chunk_counts"},
            "chunk_counts": list(mode["chunk_counts"]),
            "networks": rows["local-1"]["networks"],
            "hidden": 32,
            "data": "moons (3750 train / 1250 test)",
            "records_sha256": digests.pop(),
        },
        "medians": rows,
        "runs": runs,
        "model": model,
        "assumptions": {
            "lan_round_trip_s": LAN_ROUND_TRIP_S,
            "scheduler_dispatch_s": rows["dask-2-untrimmed"]["noop_throughput_s"],
        },
        "projections": ahead,
    }
    _print(report)
    path = Path(args.json) if args.json else ROOT / "benchmarks" / "scale_out.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwritten: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


def markdown(report: dict) -> str:
    """The README's paragraph on scaling, every number from ``report`` (a saved run)."""
    m, rows, model, s = report["machine"], report["medians"], report["model"], report["sweep"]
    b = model["backends"]
    local, two, dask, free = (
        b[k] for k in ("local-1", "processes-2", "dask-2", "dask-2-untrimmed")
    )
    r = {k: rows[k] for k in rows}
    proj = {(p["workers"], p["scale"]): p for p in report["projections"]}
    a = report["assumptions"]
    lines = [
        f"How it scales, measured (`python -m benchmarks.scale_out`, {s['networks']:,} networks "
        f"2-{s['hidden']}-2: {s['lrs']} learning rates x {s['trials']} trials, {s['epochs']} "
        f"epochs, as {s['networks'] // s['chunk_size']} chunks of {s['chunk_size']:,} on every "
        f"backend, records identical on all; medians of {report['repeats']}, each run a fresh "
        f"process, one thread per process; {m['cpu']}, {m['cores']} cores, load average "
        f"{m['load_before'][0]:.1f} before and {m['load_after'][0]:.1f} after):",
        "",
        "| backend | first sweep | again, workers warm | speed-up (first) |",
        "| --- | --- | --- | --- |",
    ]
    for name, label in (
        ("local-1", "in process (`--backend local`)"),
        ("processes-1", "`--backend processes --n-jobs 1` (no pool: in process)"),
        ("processes-2", "`--backend processes --n-jobs 2`"),
        ("dask-2", "a local Dask cluster of 2 workers, Dask's defaults"),
        (
            "dask-2-untrimmed",
            "`--backend dask --n-jobs 2`: the same, without `MALLOC_TRIM_THRESHOLD_`",
        ),
        ("local-threads", "in process, compiled kernels on every core"),
    ):
        x = r["local-1"]["cold_s"] / r[name]["cold_s"]
        lines.append(
            f"| {label} | {r[name]['cold_s']:.2f} s | {r[name]['warm_s']:.2f} s | {x:.2f}x |"
        )
    lines += [
        "",
        f"A pool's start-up (cold minus warm: processes, imports, kernels, the data) is "
        f"{two['startup_s']:.2f} s for two loky workers and {dask['startup_s']:.2f} s on Dask, "
        f"whose cluster takes {r['dask-2']['cluster_start_s']:.2f} s more to start (outside "
        f"the sweep). A population costs p0 = {1e3 * model['p0_s']:.0f} ms whatever its size "
        f"(the loop over batches); each chunk adds o = {1e3 * two['overhead_per_chunk_s']:.0f} "
        f"ms of worker time on loky and {1e3 * dask['overhead_per_chunk_s']:.0f} ms on Dask "
        f"({1e3 * free['overhead_per_chunk_s']:.0f} ms untrimmed), and a sweep "
        f"{1e3 * two['overhead_per_sweep_s']:.0f} ms and {1e3 * dask['overhead_per_sweep_s']:.0f}"
        f" ms once (dispatch, the data scattered); a no-op Dask task's round trip is "
        f"{1e3 * r['dask-2']['noop_round_trip_s']:.1f} ms, "
        f"{1e3 * r['dask-2']['noop_throughput_s']:.1f} ms each of 500 at once. The model "
        f"`T = startup + s + ceil(c/W) (p0 + o + work/c)` (W workers, c chunks, work = "
        f"{model['work_s']:.1f} s here) predicts {two['predicted_cold_s']:.1f} s for two loky "
        f"workers (measured {two['measured_cold_s']:.1f} s) and {free['predicted_cold_s']:.1f} "
        f"s for Dask untrimmed (measured {free['measured_cold_s']:.1f} s). By it, with a chunk "
        f"per worker, 64 local cores would run this sweep in {proj[(64, 1)]['seconds']:.1f} s "
        f"and one a hundred times larger in {proj[(64, 100)]['seconds']:.0f} s (against "
        f"{proj[(64, 100)]['one_worker_s'] / 60:.0f} min on one core); 10 machines of 16 cores "
        f"on Dask, {proj[(160, 1)]['seconds']:.1f} s and {proj[(160, 100)]['seconds']:.0f} s, "
        f"assuming cores as fast as these, workers already running, a "
        f"{1e3 * a['lan_round_trip_s']:.1f} ms network round trip per task and the scheduler's "
        f"measured {1e3 * a['scheduler_dispatch_s']:.1f} ms per task, one task after another.",
    ]
    return "\n".join(lines)


def _numba_version() -> str | None:
    import importlib.util

    if importlib.util.find_spec("numba") is None:
        return None
    import numba

    return numba.__version__


def _medians(rows: list[dict]) -> dict:
    out = dict(rows[0])
    for key in (
        "cold_s",
        "warm_s",
        "cluster_start_s",
        "cluster_close_s",
        "noop_round_trip_s",
        "noop_throughput_s",
    ):
        if key in out:
            out[key] = statistics.median(r[key] for r in rows)
    out["one_network_chunks_s"] = {
        c: statistics.median(r["one_network_chunks_s"][c] for r in rows)
        for c in rows[0]["one_network_chunks_s"]
    }
    out.pop("warm_digest", None)
    return out


def _print(report: dict) -> None:
    m, rows, model = report["machine"], report["medians"], report["model"]
    s = report["sweep"]
    print(f"CPU: {m['cpu']}, {m['cores']} cores ({m['cores_available']} available); "
          f"Python {m['python']}, NumPy {m['numpy']}, BLAS: {m['blas']}")  # fmt: skip
    print(f"load average before {m['load_before'][0]:.2f}, after {m['load_after'][0]:.2f}")
    print(
        f"sweep: {s['networks']} networks 2-{s['hidden']}-2 ({s['lrs']} lr x {s['trials']} "
        f"trials, {s['epochs']} epochs), chunks of {s['chunk_size']}; medians of "
        f"{report['repeats']}; records identical on every backend "
        f"(sha256 {s['records_sha256'][:12]})"
    )
    base = rows["local-1"]
    print("one thread per process (NUMBA_NUM_THREADS=OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1);")
    print("x: speed-up over local-1; startup = cold - warm; o: overhead per chunk; s: per sweep")
    head = ("cold s", "x", "warm s", "x", "startup s", "o ms", "s ms", "model cold", "warm")
    print("\n" + f"{'backend':>13}" + "".join(f"{h:>11}" for h in head))
    for name in MODELLED:
        row, b = rows[name], model["backends"][name]
        cells = (
            f"{row['cold_s']:.2f}",
            f"{base['cold_s'] / row['cold_s']:.2f}",
            f"{row['warm_s']:.2f}",
            f"{base['warm_s'] / row['warm_s']:.2f}",
            f"{b['startup_s']:.2f}",
            f"{1e3 * b['overhead_per_chunk_s']:.1f}",
            f"{1e3 * b['overhead_per_sweep_s']:.0f}",
            f"{b['predicted_cold_s']:.2f}",
            f"{b['predicted_warm_s']:.2f}",
        )
        print(f"{name:>13}" + "".join(f"{c:>11}" for c in cells))
    t = rows["local-threads"]
    print(
        f"{'local-threads':>13}{t['cold_s']:>11.2f}{base['cold_s'] / t['cold_s']:>11.2f}"
        f"{t['warm_s']:>11.2f}{base['warm_s'] / t['warm_s']:>11.2f}   (one process, the "
        f"compiled kernels on numba's default threads: every core; numba {m['numba']})"
    )
    print()
    for name in ("dask-2", "dask-2-untrimmed"):
        d = rows[name]
        print(
            f"{name}: cluster start {d['cluster_start_s']:.2f} s, close "
            f"{d['cluster_close_s']:.2f} s (outside the sweep); no-op task round trip "
            f"{1e3 * d['noop_round_trip_s']:.2f} ms, {1e3 * d['noop_throughput_s']:.2f} ms "
            "each of 500 at once"
        )
    print(f"one population in process: p0 = {1e3 * model['p0_s']:.1f} ms whatever its size; "
          f"the sweep's work = {model['work_s']:.2f} s")  # fmt: skip
    print("\nmodel T(W, c) = startup + s + ceil(c/W) (p0 + o + work/c), one chunk per worker:")
    for p in report["projections"]:
        size = f"{p['scale'] * s['networks']:,} networks"
        print(f"  {p['where']:<41} {size:>18}: {p['seconds']:8.2f} s "
              f"(one worker {p['one_worker_s']:.1f} s, {p['speedup']:.1f}x)")  # fmt: skip
    a = report["assumptions"]
    print(f"assumptions: each worker a core as fast as these; workers start in parallel (start-up "
          f"as measured here); memory bandwidth not the limit; on the cluster the workers are "
          f"running already (start-up = their first task: imports, kernels, data), each task adds "
          f"a {1e3 * a['lan_round_trip_s']:.1f} ms network round trip, and the scheduler hands "
          f"out tasks one after another at the measured cost of a no-op among 500 "
          f"({1e3 * a['scheduler_dispatch_s']:.2f} ms) each")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
