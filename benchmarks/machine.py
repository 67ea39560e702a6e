"""What the benchmarks ran on: CPU, cores, NumPy and its BLAS, PyTorch, and the measured
matrix-multiply peak (the limit each workload's achieved GFLOP/s is compared with)."""

from __future__ import annotations

import os
import platform
import time

import numpy as np


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas() -> str:
    """BLAS library, version and threads (threadpoolctl), else NumPy's build configuration."""
    try:
        from threadpoolctl import threadpool_info

        libs = [
            f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads"
            + (f", {i['architecture']}" if i.get("architecture") else "")
            + ")"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
        if libs:
            return "; ".join(dict.fromkeys(libs))
    except ImportError:
        pass
    try:
        config = np.show_config(mode="dicts")
        info = config["Build Dependencies"]["blas"]
        return f"{info.get('name')} {info.get('version')}"
    except Exception:  # older NumPy: no dict mode
        return "unknown"


def torch_info() -> str | None:
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    threads = int(os.environ.get("NNS_BENCH_TORCH_THREADS", os.cpu_count() or 1))
    return f"{torch.__version__} ({threads} intra-op threads, set to the cores)"


def matmul_peak(dtype, n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of the best of ``repeats`` timed ``a @ b`` on ``(n, n)`` matrices (``2 n^3``)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype=dtype)
    np.matmul(a, b, out=out)  # warm up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


def describe(measure_peak: bool = True) -> dict:
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_available": affinity,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas(),
        "torch": torch_info(),
    }
    try:
        import sklearn

        info["sklearn"] = sklearn.__version__
    except ImportError:
        info["sklearn"] = None
    if measure_peak:
        info["peak_gflops"] = {
            "float64": matmul_peak(np.float64),
            "float32": matmul_peak(np.float32),
        }
    return info
