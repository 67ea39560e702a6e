"""One measurement in a fresh process: ``python -m benchmarks.worker W PEER K SEED``.

Prints one JSON line: ``seconds`` (the timed part), ``accuracy``, ``maxrss_mb`` (this
process's peak resident memory, ``VmHWM``) and ``setup_rss_mb`` (the peak before the
clock started: interpreter, imports, data). Setup (imports, data) is not timed.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def _rss_mb() -> float:
    """Peak resident memory of this process in MiB.

    ``VmHWM`` (Linux) is the high-water mark of this process's own address space; on Linux
    ``ru_maxrss`` also carries the parent's peak across ``fork``/``exec``, so it is only the
    fallback where ``/proc`` is missing.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def measure(workload: str, peer: str, k: int | None, seed: int) -> dict:
    from benchmarks.workloads import prepare

    run = prepare(workload, peer, k, seed)
    setup_rss = _rss_mb()
    t0 = time.perf_counter()
    out = run()
    seconds = time.perf_counter() - t0
    peak = _rss_mb()
    acc = out.get("accuracy")
    acc = acc() if callable(acc) else acc
    result = {
        "seconds": seconds,
        "accuracy": None if acc is None else float(acc),
        "maxrss_mb": peak,
        "setup_rss_mb": setup_rss,
    }
    if "compile_seconds" in out:  # a peer that compiles before the clock (JAX): said apart
        result["compile_seconds"] = float(out["compile_seconds"])
    return result


def main(argv: list[str]) -> int:
    workload, peer, k, seed = argv[0], argv[1], int(argv[2]), int(argv[3])
    try:
        result = measure(workload, peer, k or None, seed)
    except NotImplementedError as exc:
        result = {"skipped": str(exc)}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
