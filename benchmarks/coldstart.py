"""The compiled path's first use on a cold cache, beside the warm figure and NumPy's.

```
python benchmarks/coldstart.py                       # W1 and fit, each row (~10 min on 2 cores)
python benchmarks/coldstart.py --workloads W1 --engines numba
python benchmarks/coldstart.py --json benchmarks/results/coldstart.json
```

Each row is one workload under one engine, run in fresh processes against a fresh numba
cache folder (``NUMBA_CACHE_DIR`` pointed at an empty temporary folder): ``cold`` is the
first process (it compiles what it needs, or with ``engine="auto"`` decides not to),
``warm`` a second process on the same folder (it loads from the cache). The clock covers
the workload's call only (imports and data are set up before it); ``numpy`` is the same
call with ``engine="numpy"``. ``stderr`` shows whether the call announced a compile. The
``warmup`` row's cold figure is ``nnscratch.fast.warmup.warmup()`` itself (the tutorial's
kernels compiled ahead of time), its warm figure the workload with ``engine="auto"`` after it.

Workloads: ``W1`` the tutorial's ``test(X_train, y_train, X_test, y_test, 10, 10, 100)``
(100 networks 2-64-2 as one population, batch 10, 10 epochs, then their test accuracy),
trained here through ``MLP.fit`` so that the engine can be chosen; ``fit`` one tutorial
network 2-64-2, batch 10, 3 epochs (``nnscratch train --epochs 3``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

WORKLOADS = ("W1", "fit")
ENGINES = ("auto", "numba", "warmup")


def child(workload: str, engine: str) -> dict:
    """Run one workload once in this process; its seconds and accuracy."""
    import numpy as np

    if workload == "warmup":
        from nnscratch.fast.warmup import warmup

        start = time.perf_counter()
        warmup()
        return {"seconds": time.perf_counter() - start, "accuracy": float("nan")}

    import nnscratch as nns
    from nnscratch import tutorial as T

    X_train, X_test, y_train, y_test = T.load_moons()
    P, epochs = (100, 10) if workload == "W1" else (None, 3)
    net = T.tutorial_network(2, 64, 2, seed=0, population=P)
    start = time.perf_counter()
    net.fit(
        X_train, y_train, epochs=epochs, batch_size=10, optimizer=nns.SGD(lr=T.ALPHA), engine=engine
    )
    accuracy = np.mean(net.score(X_test, y_test))
    return {"seconds": time.perf_counter() - start, "accuracy": float(accuracy)}


def run_child(workload: str, engine: str, cache: str) -> dict:
    """One fresh process against the cache folder ``cache``; its result and stderr."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    code = (
        "import json, sys; from benchmarks.coldstart import child; "
        f"print(json.dumps(child({workload!r}, {engine!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["stderr"] = done.stderr.strip()
    return result


def measure(workload: str, engine: str) -> dict:
    """The cold, warm and NumPy figures of one row, each a fresh process."""
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        if engine == "warmup":
            cold = run_child("warmup", "", cache)
            warm = run_child(workload, "auto", cache)
            cold["accuracy"] = warm["accuracy"]
        else:
            cold = run_child(workload, engine, cache)
            warm = run_child(workload, engine, cache)
        numpy = run_child(workload, "numpy", cache)
    return {
        "workload": workload,
        "engine": engine,
        "cold_s": cold["seconds"],
        "warm_s": warm["seconds"],
        "numpy_s": numpy["seconds"],
        "cold_stderr": cold["stderr"],
        "same_accuracy": cold["accuracy"] == warm["accuracy"],
    }


def render(rows: list[dict]) -> str:
    lines = [
        "| workload | engine | cold cache (s) | warm (s) | NumPy (s) | stderr on the cold run |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        said = r["cold_stderr"].splitlines()[-1] if r["cold_stderr"] else "(nothing)"
        said = said.replace("|", "/")
        lines.append(
            f"| {r['workload']} | {r['engine']} | {r['cold_s']:.2f} | {r['warm_s']:.2f} "
            f"| {r['numpy_s']:.2f} | {said} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    rows = []
    for workload in args.workloads.split(","):
        for engine in args.engines.split(","):
            rows.append(measure(workload, engine))
            print(render(rows[-1:]).splitlines()[-1], flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{render(rows)}\n\n{os.cpu_count()} cores, load average {load:.1f} at the end")
    if args.json:
        from nnscratch.io.atomic import write_text

        write_text(args.json, json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
