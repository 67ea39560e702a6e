"""``nnscratch reproduce``: re-run every experiment and figure of the tutorial, write a report.

The report folder holds ``index.html`` (self-contained: inline style, images referenced by
relative name), ``results.json`` and the PNG/GIF figures. The numbers stand beside the
ones the tutorial reported (SEED.md), and our timings beside the tutorial's.

Every file is written atomically, and ``index.html`` last, so a report folder never holds
a half-written file and an ``index.html`` only exists once everything it shows does: a run
removes the one a previous run left before it writes anything else. A run stopped by Ctrl-C
(:class:`~nnscratch.experiments.runner.Interrupted`) or by a failure (``RuntimeError``) still
writes ``results.json`` with the parts that finished, marked ``"incomplete"``, and no
``index.html``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch import tutorial
from nnscratch.core.callback import Callback
from nnscratch.core.optim import SGD
from nnscratch.core.seeding import as_seed_sequence, child
from nnscratch.experiments.records import json_safe, summarize
from nnscratch.experiments.report import (
    COMPARISON_HEADER,
    REPORTED,
    comparison_rows,
    render_html,
    summary_table,
)
from nnscratch.experiments.runner import Interrupted, build_network, sweep
from nnscratch.experiments.stats import describe
from nnscratch.io.atomic import write_text
from nnscratch.tutorial import ALPHA, tutorial_config

# The rendering moved to report.py; its names stay importable from here, as before.
__all__ = [
    "COMPARISON_HEADER",
    "REPORTED",
    "Settings",
    "comparison_rows",
    "prepare_output",
    "render_html",
    "reproduce",
    "summary_table",
]


@dataclass(frozen=True)
class Settings:
    """The tutorial's calls; :meth:`quick_settings` scales them down for tests."""

    experiment_trials: int = 100  # test(X_train, y_train, X_test, y_test, 10, 10, 100)
    experiment_batch: int = 10
    experiment_epochs: int = 10
    nn99_batch: int = 20  # NeuralNet(99).test(..., 20, 10)
    nn99_epochs: int = 10
    sweep_min: int = 3  # test_class(3, 40, 3): batch 10, 100 epochs
    sweep_max: int = 40
    sweep_trials: int = 3
    sweep_epochs: int = 100
    sweep_batch: int = 10
    animation_epochs: int = 10  # one tutorial network, a frame per epoch
    quick: bool = False

    @classmethod
    def quick_settings(cls) -> Settings:
        return cls(
            experiment_trials=4,
            experiment_epochs=1,
            nn99_epochs=1,
            sweep_min=3,
            sweep_max=6,
            sweep_trials=2,
            sweep_epochs=1,
            animation_epochs=2,
            quick=True,
        )


def prepare_output(out: str | os.PathLike, name: str = "out") -> Path:
    """Create the folder ``out`` if needed and check it can be written, before any work.

    ``ValueError`` otherwise, its message starting with ``name`` (the command line passes
    ``"--out"``). Only the last part of the path is created: a missing parent is a typo
    more often than a wish.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{name}: expected a directory, got the file {str(out)!r}")
    if not out.exists():
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise ValueError(
                f"{name}: expected a directory whose parent exists, got {str(out)!r} "
                f"({str(parent)!r} does not exist)"
            )
        try:
            out.mkdir()
        except OSError as error:
            raise ValueError(f"{name}: cannot create {str(out)!r}: {error.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ValueError(f"{name}: expected a writable directory, got {str(out)!r}")
    return out


#: The parts of a run, in order: the names of :attr:`_Timer.seconds`.
PARTS = (
    "data",
    "figures",
    "experiment",
    "neuralnet_99",
    "sweep",
    "sweep_plot",
    "animation",
    "report",
)


class _Timer:
    """Wall time of each named part, in order, and a log line as each starts and ends."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.seconds: dict[str, float] = {}
        self.done: list[str] = []  # the parts that finished
        self.running = ""  # what the part running now does, as logged
        self.log = log

    @contextlib.contextmanager
    def __call__(self, name: str, what: str) -> Iterator[None]:
        self.log(f"{what} ...")
        self.running = what
        start = time.perf_counter()
        try:
            yield
        finally:  # a failed part keeps its time too, but is not logged as done
            self.seconds[name] = time.perf_counter() - start
        self.done.append(name)
        self.running = ""
        self.log(f"{what}: {self.seconds[name]:.2f} s")


@dataclass
class _Folder:
    """The report folder being filled: where figures go and which files it holds so far."""

    out: Path
    files: dict[str, str] = field(default_factory=dict)  # "moons" -> "moons.png"

    def save(self, fig, name: str) -> None:
        from nnscratch import plots  # matplotlib, imported when a report is made

        plots.save_figure(fig, self.out / name, dpi=100)
        self.files[name.rsplit(".", 1)[0]] = name


class _KeepHistory(Callback):
    """Keeps the run's History: ``record_snapshots`` returns the snapshots only."""

    history = None

    def on_train_end(self, run) -> None:
        self.history = run.history


def reproduce(
    out: str | os.PathLike = "nnscratch-report",
    seed: int = 0,
    quick: bool = False,
    quiet: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Re-run the tutorial's experiments and figures into the folder ``out``; return the results.

    Seeds: the 100-trial ``test`` uses child 0 of ``SeedSequence(seed)``, ``NeuralNet(99)``
    child 1, the width sweep child 2, the animated network child 3. ``quick`` scales every
    call down (for tests); the default is the tutorial's own settings. Ctrl-C raises
    :class:`~nnscratch.experiments.runner.Interrupted` and a failure ``RuntimeError``, each
    saying where the run stopped, once ``results.json`` holds what finished.
    """
    import nnscratch.plots  # noqa: F401  matplotlib: a missing one fails before any work

    s = Settings.quick_settings() if quick else Settings()
    root = as_seed_sequence(seed)  # checked before the folder is made
    folder = _Folder(prepare_output(out))
    (folder.out / "index.html").unlink(missing_ok=True)  # back once this run is complete
    timer = _Timer(log or (lambda text: None))
    total_start = time.perf_counter()
    results: dict[str, Any] = {"seed": seed, "quick": quick}
    try:
        data = _data_and_figures(folder, timer)  # steps 1, 4, 12
        results["experiment"] = _experiment(s, data, child(root, 0), timer)  # step 9
        results["neuralnet_99"] = _neuralnet_99(s, data, child(root, 1), timer)  # step 10
        results["sweep"] = _width_sweep(s, data, child(root, 2), timer, quiet)  # step 11
        _sweep_plot(s, results["sweep"], timer, folder)
        results["animation"] = _animated_network(s, data, child(root, 3), timer, folder)
    except (KeyboardInterrupt, Exception) as error:
        raise _stopped(error, folder, results, timer) from error
    results.update(reported=REPORTED, files=folder.files, environment=_environment())
    _write_report(folder.out, results, timer, total_start)
    return results


def _stopped(error: BaseException, folder: _Folder, results: dict, timer: _Timer):
    """Save what finished, marked incomplete; the exception that says where the run stopped."""
    path = folder.out / "results.json"
    failure = f"{type(error).__name__}: {error}"
    why = "interrupted" if isinstance(error, KeyboardInterrupt) else f"failed: {failure}"
    results["incomplete"] = {"during": timer.running, "why": why, "parts_done": timer.done}
    results.update(reported=REPORTED, files=folder.files, environment=_environment())
    results["timings"] = dict(timer.seconds)
    try:
        write_text(path, json.dumps(json_safe(results), indent=1) + "\n")
        kept = f"what finished is in {path}, marked incomplete"
    except OSError as unwritten:
        kept = f"results.json could not be written ({unwritten.strerror or unwritten})"
    where = f"{timer.running or 'between parts'} ({len(timer.done)} of {len(PARTS)} parts done)"
    if isinstance(error, KeyboardInterrupt):
        detail = f", {error}" if str(error) else ""  # e.g. "after 3 of 100 epochs"
        return Interrupted(f"during {where}{detail}; {kept}; no index.html")
    return RuntimeError(f"{where} failed: {failure}; {kept}; no index.html")


# --- the tutorial's steps, in its order --------------------------------------------------------


def _data_and_figures(folder: _Folder, timer: _Timer) -> tuple[np.ndarray, ...]:
    """Steps 1, 4 and 12: the moons split, and the data, ReLU and network figures.

    Returns ``(X_train, X_test, y_train, y_test)``, the order of ``load_moons``.
    """
    from nnscratch import plots
    from nnscratch.data import load_moons

    with timer("data", "data (make_moons, 3750/1250 split)"):
        X_train, X_test, y_train, y_test = load_moons()
    with timer("figures", "figures: moons, ReLU, network"):
        X_all = np.concatenate([X_train, X_test])  # (5000,2): every point of the data set
        y_all = np.concatenate([y_train, y_test])
        fig = plots.plot_dataset(X_all, y_all, title="make_moons(5000, noise=0.1)")
        folder.save(fig, "moons.png")
        folder.save(plots.plot_activation("relu"), "relu.png")
        folder.save(plots.plot_network([2, 64, 2], title="2-64-2 network"), "network.png")
    return X_train, X_test, y_train, y_test


def _experiment(s: Settings, data, seed, timer: _Timer) -> dict[str, Any]:
    """Step 9: ``test(X_train, y_train, X_test, y_test, 10, 10, 100)``, one population."""
    X_train, X_test, y_train, y_test = data
    call = f"{s.experiment_batch}, {s.experiment_epochs}, {s.experiment_trials}"
    with timer(
        "experiment",
        f"test(..., {call}): {s.experiment_trials} networks as one population",
    ):
        acc = tutorial.test(
            X_train,
            y_train,
            X_test,
            y_test,
            s.experiment_batch,
            s.experiment_epochs,
            s.experiment_trials,
            seed=seed,
            verbose=False,
        )  # (T,)
    stats = describe(acc)
    return {
        "call": f"test(X_train, y_train, X_test, y_test, {call})",
        "mean": float(acc.mean()),
        "std": float(acc.std()),  # ddof=0, as the tutorial printed it
        "sample_std": stats["std"],
        "ci_low": stats["ci_low"],
        "ci_high": stats["ci_high"],
        "min": stats["min"],
        "max": stats["max"],
        "accuracies": acc.tolist(),
        "seconds": timer.seconds["experiment"],
    }


def _neuralnet_99(s: Settings, data, seed, timer: _Timer) -> dict[str, Any]:
    """Step 10: ``NeuralNet(99).test(X_train, y_train, X_test, y_test, 20, 10)``."""
    X_train, X_test, y_train, y_test = data
    with timer("neuralnet_99", f"NeuralNet(99).test(..., {s.nn99_batch}, {s.nn99_epochs})"):
        nn99 = tutorial.NeuralNet(99, seed=seed)
        accuracy = nn99.test(X_train, y_train, X_test, y_test, s.nn99_batch, s.nn99_epochs)
    return {
        "call": f"NeuralNet(99).test(X_train, y_train, X_test, y_test, {s.nn99_batch}, "
        f"{s.nn99_epochs})",
        "accuracy": accuracy,
        "seconds": timer.seconds["neuralnet_99"],
    }


def _width_sweep(s: Settings, data, seed, timer: _Timer, quiet: bool) -> dict[str, Any]:
    """Step 11: ``test_class(3, 40, 3)``, every width and trial as one population; per-trial
    accuracies are kept for the confidence band of ``sweep.png``."""
    widths = list(range(s.sweep_min, s.sweep_max))
    with timer(
        "sweep",
        f"test_class({s.sweep_min}, {s.sweep_max}, {s.sweep_trials}): "
        f"{len(widths) * s.sweep_trials} networks as one population",
    ):
        records = sweep(
            {"hidden": widths},
            trials=s.sweep_trials,
            base=tutorial_config(s.sweep_epochs, s.sweep_batch),
            data=data,
            seed=seed,
            quiet=quiet,
        )
        if any(r.interrupted for r in records):  # Ctrl-C: the sweep has no result to show
            epochs = max(r.epochs_run for r in records)
            raise Interrupted(f"after {epochs} of {s.sweep_epochs} epochs")
    summary = summarize(records, "test_accuracy")
    per_trial = np.array([r.test_accuracy for r in records]).reshape(len(widths), -1)  # (W,T)
    result = {
        "call": f"test_class({s.sweep_min}, {s.sweep_max}, {s.sweep_trials})",
        "widths": widths,
        "mean_accuracy": per_trial.mean(axis=1).tolist(),
        "ci_low": [row["ci_low"] for row in summary],
        "ci_high": [row["ci_high"] for row in summary],
        "accuracies": per_trial.tolist(),
        "diverged": int(sum(r.diverged for r in records)),
        "seconds": timer.seconds["sweep"],
    }
    top = [m for w, m in zip(widths, result["mean_accuracy"], strict=True) if 30 <= w < 40]
    result["mean_accuracy_30_40"] = float(np.mean(top)) if top else None
    return result


def _sweep_plot(s: Settings, result: dict[str, Any], timer: _Timer, folder: _Folder) -> None:
    with timer("sweep_plot", "sweep plot with its 95% band"):
        folder.save(_sweep_figure(s, result), "sweep.png")


def _sweep_figure(s: Settings, result: dict[str, Any]):
    """Mean accuracy per width, its 95% band, and the tutorial's reported 0.98 at 30-39."""
    from nnscratch import plots

    reference = (np.arange(30, 40), np.full(10, REPORTED["sweep"]["accuracy_30_40"]))
    band = np.array([result["ci_low"], result["ci_high"]])  # (2,W)
    band = band if np.all(np.isfinite(band)) else [None, None]  # 1 trial: no interval
    return plots.plot_sweep(
        result["widths"],
        result["mean_accuracy"],
        band[0],
        band[1],
        xlabel="number of neurons",
        ylabel="test accuracy",
        reference=reference,
        band_label=f"95% CI (Student t, {s.sweep_trials} trials)",
        reference_label="reported (about 0.98)",
        title=f"test_class({s.sweep_min}, {s.sweep_max}, {s.sweep_trials})",
    )


def _animated_network(s: Settings, data, seed, timer: _Timer, folder: _Folder) -> dict[str, Any]:
    """One tutorial network trained with a snapshot per epoch: its decision boundary, its
    training curves, and a GIF of the boundary forming."""
    from nnscratch import plots

    X_train, X_test, y_train, y_test = data
    with timer(
        "animation", f"decision boundary, training curves, GIF ({s.animation_epochs} epochs)"
    ):
        net = build_network(tutorial_config(s.animation_epochs, s.experiment_batch), 2, 2, seed)
        keep = _KeepHistory()
        snapshots = plots.record_snapshots(
            net,
            X_train,
            y_train,
            epochs=s.animation_epochs,
            batch_size=s.experiment_batch,
            optimizer=SGD(lr=ALPHA),
            validation_data=(X_test, y_test),
            callbacks=[keep],
        )
        if keep.history.interrupted:
            raise Interrupted(f"after {keep.history.epochs} of {s.animation_epochs} epochs")
        fig = plots.plot_decision_boundary(net, X_test, y_test, resolution=150)
        folder.save(fig, "decision_boundary.png")
        folder.save(plots.plot_history(keep.history), "training_curves.png")
        gif = folder.out / "training.gif"
        plots.animate_decision_boundary(X_test, y_test, snapshots, gif, fps=3)
        folder.files["training"] = gif.name
    return {"epochs": s.animation_epochs, "test_accuracy": float(net.score(X_test, y_test))}


def _write_report(out: Path, results: dict[str, Any], timer: _Timer, total_start: float) -> None:
    """Add the timings to ``results``, then write ``results.json`` and, last, ``index.html``.

    The files carry the timings up to the report itself; the returned ``results`` then
    gain the report's own time and the final total.
    """
    with timer("report", "results.json and index.html"):
        timings = dict(timer.seconds)
        timings["total"] = time.perf_counter() - total_start
        results["timings"] = timings
        write_text(out / "results.json", json.dumps(json_safe(results), indent=1) + "\n")
        write_text(out / "index.html", render_html(results))  # last: everything it shows exists
    results["timings"]["report"] = timer.seconds["report"]
    results["timings"]["total"] = time.perf_counter() - total_start


def _environment() -> dict[str, str]:
    import nnscratch

    return {
        "nnscratch": nnscratch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "cpus": str(os.cpu_count()),
    }
