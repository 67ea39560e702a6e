"""How a run's cost grows: ``python -m benchmarks.scaling [--quick] [--out DIR]``.

Time per member-step and peak memory of the tutorial's network, 2-H-2 (ReLU, ``randn``
weights, summed cross-entropy, plain SGD at the tutorial's ``ALPHA``, batch 10, the moons'
3750 training rows), against the population size ``P`` at a fixed width and against the
width ``H`` at a fixed population, for ``fit(engine="numpy")`` and ``fit(engine="numba")``.

Each (engine, P, H) point is a fresh process (``--point``), in this order:

1. a tiny fit (20 rows, two epochs) and evaluation with the same kernels, so numba's
   compile or cache load is done and counted neither by the clock nor by the memory;
2. the memory pass: a fresh population built and trained for two epochs (``fit``), then
   evaluated on the training rows (``evaluate``, the tutorial's "train, then score", what
   the experiments' records do), each peak taken two ways above what the process held
   before the pass: ``traced``, ``tracemalloc``'s peak of Python's and NumPy's allocations
   (not what numba's compiled code allocates inside a kernel, its small scratch buffers),
   and ``rss``, the resident high-water mark (``VmHWM``, reset first) above ``VmRSS``:
   everything touched, page by page, but blind to memory the allocator reuses from earlier
   frees, hence this pass comes before any full-size fit;
3. one untimed fit of one epoch (caches; it sets the epochs of the timed fits: about
   0.25 s each, 1 to 100), then ``--repeats`` timed ``fit`` calls on fresh populations.

The time per member-step is the median fit's seconds over ``P x steps`` (steps: epochs x
375 batches); it includes each fit's fixed costs (checks, set-up, thread start-up), which
the long enough fits make small. The memory model drawn beside the measured peaks is
:func:`nnscratch.core.checks.population_bytes`, the estimate with which ``fit`` and ``MLP``
refuse populations that do not fit in memory (``check_fits``). Where ``engine="auto"`` takes
each engine is asked of the library itself (``compiled_epoch`` and the first epoch's
decision, :mod:`nnscratch.fast.epoch`) for the tutorial's run of 10 epochs, once with
numba's cache warm and once with an empty one (``--decide``).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from nnscratch.core.checks import population_bytes

HERE = Path(__file__).resolve().parent
P_VALUES = (1, 4, 16, 64, 256, 1024, 4096)
H_VALUES = (2, 8, 32, 128, 512, 1024)
FIXED_H, FIXED_P = 64, 64  # the width of the P sweep (W1's), the population of the H sweep
QUICK_P, QUICK_H = (1, 16, 256), (2, 32, 256)
BATCH = 10
ENGINES = ("numpy", "numba")
AUTO_EPOCHS = 10  # the run the "auto" switch points are for: the tutorial's W1 setting
MIN_FIT_S, MAX_EPOCHS = 0.25, 100

#: The memory model of the plot: the refusal's own estimate (a test pins it is the same).
memory_model = population_bytes


def predicted_bytes(P: int, H: int, n_rows: int, itemsize: int = 8) -> float:
    """The model's peak for ``P`` networks 2-H-2 trained on batches of ``BATCH`` of ``n_rows``
    rows: what :func:`nnscratch.core.checks.check_fits` compares with the machine's memory."""
    return memory_model(P, [2, H, 2], BATCH, n_rows, itemsize)


def _status_kb(field: str) -> int:
    """A ``/proc/self/status`` field in kB (Linux), 0 where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _reset_peak_rss() -> bool:
    """Set this process's ``VmHWM`` to its current ``VmRSS`` (Linux 4.0+); False if not."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _data():
    from nnscratch.tutorial import load_moons

    X, _, y, _ = load_moons()
    return np.ascontiguousarray(X), y


def _net(P: int, H: int, seed: int):
    from nnscratch.tutorial import tutorial_network

    return tutorial_network(2, H, 2, seed=seed, population=P)


def _fit(net, X, y, engine: str, epochs: int) -> float:
    from nnscratch.core.optim import SGD
    from nnscratch.tutorial import ALPHA

    t0 = time.perf_counter()
    net.fit(X, y, epochs=epochs, batch_size=BATCH, optimizer=SGD(lr=ALPHA), engine=engine)
    return time.perf_counter() - t0


def _peaks(action, rss_before: int, traced_before: int) -> tuple[int, int | None]:
    """Run ``action()``; its traced and resident peaks in bytes above the ``before`` values."""
    hwm_reset = _reset_peak_rss()
    tracemalloc.reset_peak()
    action()
    _, traced = tracemalloc.get_traced_memory()
    rss = (_status_kb("VmHWM") - rss_before) * 1024 if hwm_reset else None
    return traced - traced_before, rss


def measure_point(engine: str, P: int, H: int, repeats: int) -> dict:
    """One point, in this process (see the module docstring for the order and the meaning)."""
    from nnscratch.core.train import evaluate
    from nnscratch.fast.epoch import LANES_FROM

    X, y = _data()
    tiny = P if P < LANES_FROM else LANES_FROM  # the same kernels as the point's
    warm = _net(tiny, H, 0)
    _fit(warm, X[:20], y[:20], engine, 2)  # two epochs: the second one's compiled shuffle
    evaluate(warm, X[:20], y[:20])
    del warm

    gc.collect()
    rss_before = _status_kb("VmRSS")
    tracemalloc.start()
    traced_before, _ = tracemalloc.get_traced_memory()
    net = _net(P, H, 1)
    fit = _peaks(partial(_fit, net, X, y, engine, 2), rss_before, traced_before)
    then = _peaks(partial(evaluate, net, X, y), rss_before, traced_before)
    tracemalloc.stop()
    net = None  # its memory goes before the timed fits

    first = _fit(_net(P, H, 2), X, y, engine, 1)
    epochs = max(1, min(MAX_EPOCHS, math.ceil(MIN_FIT_S / first)))
    times = [_fit(_net(P, H, 3 + r), X, y, engine, epochs) for r in range(repeats)]
    steps = epochs * math.ceil(len(X) / BATCH)
    return {
        "engine": engine,
        "P": P,
        "H": H,
        "rows": len(X),
        "epochs": epochs,
        "steps": steps,
        "fit_s": times,
        "us_per_member_step": statistics.median(times) / (P * steps) * 1e6,
        "fit_traced_bytes": fit[0],
        "fit_rss_bytes": fit[1],
        "evaluate_traced_bytes": max(fit[0], then[0]),
        "evaluate_rss_bytes": None if then[1] is None else max(fit[1], then[1]),
        "model_bytes": predicted_bytes(P, H, len(X)),
    }


def decide(points) -> list[str]:
    """The engine ``fit(engine="auto")`` takes for each ``(P, H)`` on the tutorial's run of
    ``AUTO_EPOCHS`` epochs, as the library decides it in this process's cache state."""
    from nnscratch.core.optim import SGD
    from nnscratch.fast.epoch import compiled_epoch
    from nnscratch.tutorial import ALPHA

    X, y = _data()
    y = y.astype(np.int64)
    chosen = []
    for P, H in points:
        net = _net(P, H, 0)
        epoch = compiled_epoch("auto", net, X, y, None, SGD(lr=ALPHA), [], BATCH)
        if epoch is not None:  # the first epoch's decision: compile/load repays, or not
            order = np.tile(np.arange(len(X)), (P, 1))  # (P,N)
            run = SimpleNamespace(active=np.ones(P, dtype=bool))
            epoch._decide(epoch._arguments(order, run), AUTO_EPOCHS)
        chosen.append("numpy" if epoch is None or epoch.fallback is not None else "numba")
    return chosen


def _child(args: list[str], env=None) -> dict | list:
    cmd = [sys.executable, "-m", "benchmarks.scaling", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=HERE.parent)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine_line() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from benchmarks.machine import describe

    info = describe(measure_peak=False)
    try:
        info["numba"] = version("numba")
    except PackageNotFoundError:
        info["numba"] = None
    return info


def _g(value: float) -> str:
    """Three significant digits, whole numbers from 100 on."""
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def markdown(result: dict) -> str:
    """The machine and one table per sweep, as markdown (for benchmarks/README.md)."""
    from benchmarks.run import machine_lines

    m, settings, mib = result["machine"], result["settings"], 2**20
    lines = [f"- {line}" for line in machine_lines(m)]
    lines.append(f"- numba: {m.get('numba') or 'not installed'}")
    auto = {
        state: {(d["P"], d["H"]): d["engine"] for d in result["auto"][state]}
        for state in ("cached", "cold")
    }
    for sweep in ("P", "H"):
        fixed = f"H = {settings['fixed_H']}" if sweep == "P" else f"P = {settings['fixed_P']}"
        lines += [
            "",
            f"{sweep} sweep ({fixed}):",
            "",
            f"| {sweep} | us / member-step numpy | numba | numpy / numba "
            "| fit MiB numpy | numba | fit + evaluate MiB numpy (RSS) | numba (RSS) "
            "| model MiB | auto, kernels cached | auto, cache empty |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        by = {(p["engine"], p[sweep]): p for p in result["points"] if p["sweep"] == sweep}
        for x in sorted({p[sweep] for p in result["points"] if p["sweep"] == sweep}):
            a, b = by[("numpy", x)], by[("numba", x)]
            key = (a["P"], a["H"])
            ta, tb = a["us_per_member_step"], b["us_per_member_step"]
            cells = [
                str(x), _g(ta), _g(tb), f"{ta / tb:.2g}x",
                _g(a["fit_traced_bytes"] / mib), _g(b["fit_traced_bytes"] / mib),
                f"{_g(a['evaluate_traced_bytes'] / mib)} ({_g(a['evaluate_rss_bytes'] / mib)})",
                f"{_g(b['evaluate_traced_bytes'] / mib)} ({_g(b['evaluate_rss_bytes'] / mib)})",
                _g(a["model_bytes"] / mib), auto["cached"][key], auto["cold"][key],
            ]  # fmt: skip
            lines.append("| " + " | ".join(cells) + " |")
    loads = [p["load_before"] for p in result["points"] if p.get("load_before") is not None]
    if loads:
        lines += ["", f"Load average before the points: {min(loads):.1f} to {max(loads):.1f}."]
    return "\n".join(lines)


def _provenance() -> dict:
    """The commit measured and the source files that differed from it (``git``)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=HERE.parent)
        return done.stdout if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "src").splitlines()  # "XY path"
    return {"commit": git("rev-parse", "HEAD").strip(), "src_changed": [c[3:] for c in changed]}


def _summary(point: dict) -> str:
    mib = 2**20
    return (
        f"{point['engine']:5s} P={point['P']:5d} H={point['H']:5d}:"
        f" {point['us_per_member_step']:8.3f} us/member-step;"
        f" fit {point['fit_traced_bytes'] / mib:8.2f} MiB traced,"
        f" {(point['fit_rss_bytes'] or 0) / mib:8.2f} RSS;"
        f" with evaluate {point['evaluate_traced_bytes'] / mib:8.2f} traced,"
        f" {(point['evaluate_rss_bytes'] or 0) / mib:8.2f} RSS;"
        f" model {point['model_bytes'] / mib:8.2f} MiB"
    )


def run_all(quick: bool, repeats: int) -> dict:
    Ps, Hs = (QUICK_P, QUICK_H) if quick else (P_VALUES, H_VALUES)
    sweeps = {"P": [(P, FIXED_H) for P in Ps], "H": [(FIXED_P, H) for H in Hs]}
    started = time.perf_counter()
    points = []
    for engine in ENGINES:
        for name, pairs in sweeps.items():
            for P, H in pairs:
                load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
                point = _child(["--point", engine, str(P), str(H), str(repeats)])
                point["sweep"], point["load_before"] = name, load
                points.append(point)
                print(_summary(point), file=sys.stderr, flush=True)
    pairs = sorted({pair for pairs in sweeps.values() for pair in pairs})
    wanted = json.dumps([list(p) for p in pairs])
    auto = {"cached": _child(["--decide", wanted])}
    with tempfile.TemporaryDirectory() as empty:  # no kernels compiled, no markers
        auto["cold"] = _child(["--decide", wanted], env={**os.environ, "NUMBA_CACHE_DIR": empty})
    return {
        "command": "python -m benchmarks.scaling" + (" --quick" if quick else ""),
        "machine": machine_line(),
        "source": _provenance(),
        "settings": {
            "network": "2-H-2, ReLU, randn init, summed cross-entropy, SGD lr 1e-4",
            "batch_size": BATCH,
            "rows": 3750,
            "fixed_H": FIXED_H,
            "fixed_P": FIXED_P,
            "repeats": repeats,
            "auto_run": f"{AUTO_EPOCHS} epochs of 3750 rows, batch {BATCH}",
        },
        "points": points,
        "auto": {
            state: [{"P": P, "H": H, "engine": e} for (P, H), e in zip(pairs, chosen, strict=True)]
            for state, chosen in auto.items()
        },
        "seconds": time.perf_counter() - started,
    }


def _auto_along(result: dict, sweep: str, state: str) -> list[tuple[int, str]]:
    """``(x, engine)`` that ``auto`` takes along one sweep, in order of ``x``."""
    key, fixed = ("P", "H") if sweep == "P" else ("H", "P")
    value = result["settings"]["fixed_H" if sweep == "P" else "fixed_P"]
    return sorted((d[key], d["engine"]) for d in result["auto"][state] if d[fixed] == value)


WORDS = {"cached": "kernels cached", "cold": "numba's cache empty"}


def _mark_auto(ax, result: dict, sweep: str) -> str:
    """A vertical line where ``auto`` changes engine (solid: numba's cache warm, dotted:
    cold); returns a line saying what it takes along the sweep."""
    notes = []
    for state, style in (("cached", "-"), ("cold", ":")):
        along = _auto_along(result, sweep, state)
        switches = [(a, b) for a, b in zip(along, along[1:], strict=False) if a[1] != b[1]]
        for (x0, _), (x1, _) in switches:
            ax.axvline(math.sqrt(x0 * x1), color="gray", ls=style, lw=1.3)
        if switches:
            parts = [f"{engine} from {x1}" for (_, _), (x1, engine) in switches]
            notes.append(f"{WORDS[state]}: {along[0][1]}, " + ", ".join(parts))
        else:
            notes.append(f"{WORDS[state]}: {along[0][1]} throughout")
    return f'engine="auto" for {result["settings"]["auto_run"]}:\n' + "; ".join(notes)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import (
        FixedLocator,
        FuncFormatter,
        LogLocator,
        NullFormatter,
        NullLocator,
        ScalarFormatter,
    )

    colors = {"numpy": "tab:blue", "numba": "tab:orange"}
    settings = result["settings"]
    rows, mib = settings["rows"], 2**20
    fig, axes = plt.subplots(2, 2, figsize=(12, 9), sharex="col")
    for col, sweep in enumerate(("P", "H")):
        fixed_h, fixed_p = settings["fixed_H"], settings["fixed_P"]
        name = "population P" if sweep == "P" else "hidden width H"
        fixed = f"H = {fixed_h}" if sweep == "P" else f"P = {fixed_p}"
        t_ax, m_ax = axes[0, col], axes[1, col]
        for engine in ENGINES:
            pts = sorted(
                (p for p in result["points"] if p["sweep"] == sweep and p["engine"] == engine),
                key=lambda p: p[sweep],
            )
            x = [p[sweep] for p in pts]
            c = colors[engine]
            t_ax.plot(
                x, [p["us_per_member_step"] for p in pts], "o-", color=c, label=f'engine="{engine}"'
            )
            m_ax.plot(
                x,
                [p["fit_traced_bytes"] / mib for p in pts],
                "o-",
                color=c,
                lw=0.8,
                label=f"{engine}: fit",
            )
            m_ax.plot(
                x,
                [p["evaluate_traced_bytes"] / mib for p in pts],
                "^--",
                color=c,
                mfc="none",
                lw=0.8,
                label=f"{engine}: fit, then evaluate the {rows} rows",
            )
        if sweep == "P":
            model = [predicted_bytes(v, fixed_h, rows) for v in x]
        else:
            model = [predicted_bytes(fixed_p, v, rows) for v in x]
        m_ax.plot(
            x,
            np.array(model) / mib,
            "k-",
            lw=2.5,
            alpha=0.45,
            label="model: population_bytes, the estimate fit and MLP refuse by",
        )
        for ax in (t_ax, m_ax):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.xaxis.set_major_locator(FixedLocator(x))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.grid(True, which="both", alpha=0.25)
            note = _mark_auto(ax, result, sweep)
        t_ax.set_title(f"time per member-step vs {name} ({fixed})\n{note}", fontsize=9)
        t_ax.set_ylabel("microseconds per member-step (median)")
        m_ax.set_title(f"peak traced memory vs {name} ({fixed})", fontsize=10)
        m_ax.set_ylabel("MiB above the start (tracemalloc)")
        m_ax.set_xlabel(name)
    axes[0, 0].legend(fontsize=8, loc="lower left", framealpha=0.85)
    axes[1, 0].legend(fontsize=7.5, loc="upper left", framealpha=0.85)
    machine = result["machine"]
    fig.suptitle(
        f"nnscratch, 2-H-2 (ReLU), SGD, batch {settings['batch_size']}, {rows} rows;"
        f" {machine['cpu']}, {machine['cores_available']} cores, NumPy {machine['numpy']};"
        " solid line: where auto switches (numba's cache warm), dotted: cold cache",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 populations, 3 widths, 1 repeat")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for scaling.json/.png")
    parser.add_argument("--repeats", type=int, default=None, help="timed fits per point (5)")
    parser.add_argument(
        "--replot",
        action="store_true",
        help="redraw the PNG from OUT/scaling.json (the model as it is now)",
    )
    parser.add_argument(
        "--point", nargs=4, metavar=("ENGINE", "P", "H", "REPEATS"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="print OUT/scaling.json's machine and tables as markdown",
    )
    parser.add_argument("--decide", metavar="PAIRS", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.point:
        engine, P, H, repeats = args.point
        print(json.dumps(measure_point(engine, int(P), int(H), int(repeats))))
        return 0
    if args.decide:
        print(json.dumps(decide([tuple(p) for p in json.loads(args.decide)])))
        return 0
    json_path = args.out / "scaling.json"
    if args.markdown:
        print(markdown(json.loads(json_path.read_text())))
        return 0
    if args.replot:
        result = json.loads(json_path.read_text())
        for point in result["points"]:  # the model as the library has it now
            point["model_bytes"] = predicted_bytes(point["P"], point["H"], point["rows"])
    else:
        result = run_all(args.quick, args.repeats or (1 if args.quick else 5))
        args.out.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    plot(result, args.out / "scaling.png")
    print(f"wrote {json_path} and {args.out / 'scaling.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
