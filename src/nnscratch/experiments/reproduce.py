"""``nnscratch reproduce``: re-run every experiment and figure of the tutorial, write a report.

The report folder holds ``index.html`` (self-contained: inline style, images referenced by
relative name), ``results.json`` and the PNG/GIF figures. The numbers stand beside the
ones the tutorial reported (SEED.md). Each call is the one the README documents, with the
run's seed passed as the README passes it (``test(..., seed=0)``), so the same seed gives
the README's numbers. The time of each call stands beside the time of the tutorial's own
algorithm (:func:`tutorial_loop`: one network after another, softmax and one-hot rows built
in Python loops) measured in the same run on the same machine, on an evenly spread
subsample of its networks and scaled up to all of them.

Statistics (stated once, here and on the page): standard deviations are sample standard
deviations (``ddof=1``); intervals of a mean accuracy are 95% percentile bootstrap
intervals over the trials (:func:`~nnscratch.experiments.stats.bootstrap_interval`), which
stay in ``[0, 1]``. The one ``ddof=0`` number is the line the tutorial's ``test`` prints,
kept as printed to compare with the tutorial's reported one.

Every file is written atomically, and ``index.html`` last, so a report folder never holds
a half-written file and an ``index.html`` only exists once everything it shows does: a run
removes the one a previous run left before it writes anything else. A run stopped by Ctrl-C
(:class:`~nnscratch.experiments.runner.Interrupted`) or by a failure (``RuntimeError``) still
writes ``results.json`` with the parts that finished, marked ``"incomplete"``, and no
``index.html``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
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
from nnscratch.experiments.stats import bootstrap_interval, describe
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
    """The tutorial's calls; :meth:`quick_settings` scales them down for tests.

    ``loop_*_trials``: how many of a call's networks the tutorial's own loop trains while
    timed (evenly spread over the call's networks, widths included); the time is scaled up
    to all of them. About 0.3 s a network for ``test`` and 3 s for ``test_class`` on one
    core of a small machine, so the default keeps the measurement under half a minute.
    """

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
    loop_experiment_trials: int = 10  # the tutorial's loop, timed on 10 of test's 100
    loop_sweep_trials: int = 6  # and on 6 of test_class's 111 networks
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
            loop_experiment_trials=2,
            loop_sweep_trials=2,
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
    "tutorial_loop",
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
    time_tutorial: bool = True,
) -> dict[str, Any]:
    """Re-run the tutorial's experiments and figures into the folder ``out``; return the results.

    Seeds: every call gets ``seed`` itself, as the README's examples pass it
    (``test(..., seed=0)``, ``NeuralNet(99, seed=0)``, ``test_class(3, 40, 3, seed=0)``),
    so a seed gives the numbers those calls give; the animated network is seeded ``seed``
    too (the first network of the ``test`` call, trained again with a frame per epoch). The
    tutorial's own loop, timed, draws from child 4 of ``SeedSequence(seed)``. ``quick``
    scales every call down (for tests); the default is the tutorial's own settings. Ctrl-C
    raises :class:`~nnscratch.experiments.runner.Interrupted` and a failure
    ``RuntimeError``, each saying where the run stopped, once ``results.json`` holds what
    finished. ``time_tutorial=False`` skips timing the tutorial's loop (about 20 s of the
    default run; a benchmark of nnscratch alone wants that): the page then says "not timed".
    """
    import nnscratch.plots  # noqa: F401  matplotlib: a missing one fails before any work

    s = Settings.quick_settings() if quick else Settings()
    root = as_seed_sequence(seed)  # checked before the folder is made
    folder = _Folder(prepare_output(out))
    (folder.out / "index.html").unlink(missing_ok=True)  # back once this run is complete
    timer = _Timer(log or (lambda text: None))
    total_start = time.perf_counter()
    results: dict[str, Any] = {"seed": seed, "quick": quick, "settings": asdict(s)}
    try:
        data = _data_and_figures(folder, timer)  # steps 1, 4, 12
        results["experiment"] = _experiment(s, data, seed, timer)  # step 9
        results["neuralnet_99"] = _neuralnet_99(s, data, seed, timer)  # step 10
        results["sweep"] = _width_sweep(s, data, seed, timer, quiet)  # step 11
        _sweep_plot(s, results["sweep"], timer, folder)
        results["animation"] = _animated_network(s, data, seed, timer, folder)
        if time_tutorial:
            _tutorial_loop_times(s, data, child(root, 4), timer, results)
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
        # sized for a third of the page each, so their text is read at about its own size
        fig = plots.plot_dataset(X_all, y_all, title="make_moons(5000, noise=0.1)")
        fig.set_size_inches(4.8, 3.8)
        folder.save(fig, "moons.png")
        fig = plots.plot_activation("relu")
        fig.set_size_inches(4.8, 3.8)
        folder.save(fig, "relu.png")
        fig = plots.plot_network([2, 64, 2], title="2-64-2 network")
        fig.set_size_inches(3.2, 5.4)
        folder.save(fig, "network.png")
    return X_train, X_test, y_train, y_test


def _experiment(s: Settings, data, seed, timer: _Timer) -> dict[str, Any]:
    """Step 9: ``test(X_train, y_train, X_test, y_test, 10, 10, 100, seed=seed)``, as one
    population."""
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
    return {
        "call": f"test(X_train, y_train, X_test, y_test, {call}, seed={seed!r})",
        **accuracy_summary(acc),
        "accuracies": acc.tolist(),
        "seconds": timer.seconds["experiment"],
    }


def accuracy_summary(acc: np.ndarray | list[float], confidence: float = 0.95) -> dict[str, Any]:
    """Statistics of accuracies over trials, as the report shows them.

    ``mean``; ``printed_std``, the standard deviation as the tutorial's ``test`` prints it
    (``np.std``, ``ddof=0``), kept to compare with the tutorial's printed number; ``std``,
    the sample standard deviation (``ddof=1``, as every other statistic of the report);
    ``ci_low``/``ci_high``, the percentile bootstrap interval of the mean
    (:func:`~nnscratch.experiments.stats.bootstrap_interval`, in ``[0, 1]``, NaN with one
    trial), named in ``ci_method``; ``min``, ``max``, ``n``.
    """
    stats = describe(acc, confidence)
    low, high = bootstrap_interval(acc, confidence)
    return {
        "n": stats["n"],
        "mean": stats["mean"],
        "printed_std": float(np.std(acc)),  # ddof=0: what test() prints
        "std": stats["std"],  # ddof=1
        "ci_low": low,
        "ci_high": high,
        "ci_method": CI_METHOD,
        "confidence": confidence,
        "min": stats["min"],
        "max": stats["max"],
    }


#: How the report's intervals are computed, as the page names it.
CI_METHOD = "percentile bootstrap over trials (Efron & Tibshirani 1993, sec. 13.3)"


def _neuralnet_99(s: Settings, data, seed, timer: _Timer) -> dict[str, Any]:
    """Step 10: ``NeuralNet(99, seed=seed).test(X_train, y_train, X_test, y_test, 20, 10)``."""
    X_train, X_test, y_train, y_test = data
    with timer("neuralnet_99", f"NeuralNet(99).test(..., {s.nn99_batch}, {s.nn99_epochs})"):
        nn99 = tutorial.NeuralNet(99, seed=seed)
        accuracy = nn99.test(X_train, y_train, X_test, y_test, s.nn99_batch, s.nn99_epochs)
    return {
        "call": f"NeuralNet(99, seed={seed!r}).test(X_train, y_train, X_test, y_test, "
        f"{s.nn99_batch}, {s.nn99_epochs})",
        "accuracy": accuracy,
        "seconds": timer.seconds["neuralnet_99"],
    }


def _width_sweep(s: Settings, data, seed, timer: _Timer, quiet: bool) -> dict[str, Any]:
    """Step 11: ``test_class(3, 40, 3, seed=seed)``, every width and trial as one population
    (the runner seeds trial ``t`` of width ``c`` as ``test_class`` does, child ``c * 3 + t``
    of the seed); per-trial accuracies are kept for the band of ``sweep.png``."""
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
        "call": f"test_class({s.sweep_min}, {s.sweep_max}, {s.sweep_trials}, seed={seed!r})",
        "widths": widths,
        "mean_accuracy": per_trial.mean(axis=1).tolist(),
        "std": [row["std"] for row in summary],  # ddof=1
        "ci_low": [row["ci_low"] for row in summary],  # percentile bootstrap, as summarize
        "ci_high": [row["ci_high"] for row in summary],
        "ci_method": CI_METHOD,
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
    """Mean accuracy per width, its 95% bootstrap band, and the tutorial's reported 0.98 at
    30-39; the y-axis stays in [0, 1]."""
    from nnscratch import plots

    reference = (np.arange(30, 40), np.full(10, REPORTED["sweep"]["accuracy_30_40"]))
    band = np.array([result["ci_low"], result["ci_high"]])  # (2,W)
    band = band if np.all(np.isfinite(band)) else [None, None]  # 1 trial: no interval
    fig = plots.plot_sweep(
        result["widths"],
        result["mean_accuracy"],
        band[0],
        band[1],
        xlabel="number of hidden neurons",
        ylabel="test accuracy",
        reference=reference,
        band_label=f"95% bootstrap interval ({s.sweep_trials} trials a width)",
        reference_label="reported (about 0.98 at 30-39)",
        title=f"test_class({s.sweep_min}, {s.sweep_max}, {s.sweep_trials})",
        bounds=(0.0, 1.0),
    )
    fig.set_size_inches(9.0, 4.6)
    return fig


#: SGD steps of the first epoch after which the GIF keeps a frame too: the boundary forms
#: within the first epoch (375 steps at batch 10), and changes little after it.
EARLY_STEPS = (1, 3, 10, 30, 100)


def _animated_network(s: Settings, data, seed, timer: _Timer, folder: _Folder) -> dict[str, Any]:
    """One tutorial network (2-64-2, ``randn``, summed loss, SGD at ``ALPHA``, batch 10,
    seeded ``seed``: the first network of the ``test`` call) trained with snapshots after
    a few steps of its first epoch and after every epoch: its decision boundary, its
    training curves (validation: the test set), and a GIF of the boundary forming."""
    from nnscratch import plots

    X_train, X_test, y_train, y_test = data
    with timer(
        "animation", f"decision boundary, training curves, GIF ({s.animation_epochs} epochs)"
    ):
        config = tutorial_config(s.animation_epochs, s.experiment_batch)
        net = build_network(config, 2, 2, seed)
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
            early_steps=EARLY_STEPS,
        )
        if keep.history.interrupted:
            raise Interrupted(f"after {keep.history.epochs} of {s.animation_epochs} epochs")
        accuracy = float(net.score(X_test, y_test))
        fig = plots.plot_decision_boundary(
            net, X_test, y_test, resolution=150, title=f"test set, accuracy {accuracy:.4f}"
        )
        folder.save(fig, "decision_boundary.png")
        curves = plots.plot_history(keep.history, validation_label="test set")
        folder.save(curves, "training_curves.png")
        gif = folder.out / "training.gif"
        plots.animate_decision_boundary(
            X_test, y_test, snapshots, gif, fps=2, figsize=(6.4, 5.2), dpi=100
        )
        folder.files["training"] = gif.name
    return {
        "network": "2-64-2, ReLU, randn weights and biases, cross-entropy summed over the batch",
        "optimizer": f"SGD, alpha = {ALPHA:g}",
        "batch_size": s.experiment_batch,
        "epochs": s.animation_epochs,
        "seed": seed,
        "frames": [float(epoch) for epoch, _ in snapshots],
        "test_accuracy": accuracy,
    }


# --- the tutorial's own algorithm, timed -----------------------------------------------------
#
# The tutorial trains one network after another, a dict of weights each, and builds its
# softmax and one-hot rows in Python loops. These functions are that algorithm, kept
# faithful (no vectorised softmax, no population) because its time is the reference every
# speed-up of the report is quoted against. ``softmax_fn`` lets the benchmarks run the same
# loop with a vectorised softmax.


def softmax_rows(a: np.ndarray) -> np.ndarray:
    """The tutorial's softmax, eq. (1)/(2): built row by row in a Python loop."""
    out = np.empty_like(a)  # (N,K)
    for i, row in enumerate(a):
        e = np.exp(row - row.max())
        out[i] = e / e.sum()
    return out


def one_hot_rows(labels: np.ndarray, n_class: int) -> np.ndarray:
    """The tutorial's one-hot encoding: one row at a time in a Python loop, ``(N, K)``."""
    out = np.zeros((len(labels), n_class))
    for i, label in enumerate(labels):
        out[i, label] = 1.0
    return out


def loop_init(
    rng: np.random.Generator, n_features: int = 2, n_class: int = 2, n_hidden: int = 64
) -> dict[str, np.ndarray]:
    """``init_network``: every entry ``randn`` (std 1, biases too), as the tutorial draws them."""
    return {
        "W1": rng.standard_normal((n_features, n_hidden)),
        "b1": rng.standard_normal(n_hidden),
        "W2": rng.standard_normal((n_hidden, n_class)),
        "b2": rng.standard_normal(n_class),
    }


def loop_forward(model: dict, X: np.ndarray, softmax_fn=softmax_rows):
    """``(Z1, Z2)``: hidden activations ``(N, H)`` and probabilities ``(N, K)``, eq. (6)."""
    a1 = X @ model["W1"] + model["b1"]  # (N,H)
    z1 = np.maximum(a1, 0)
    a2 = z1 @ model["W2"] + model["b2"]  # (N,K)
    return z1, softmax_fn(a2)


def loop_backward(
    model: dict, X: np.ndarray, Y: np.ndarray, reduction: str = "sum", softmax_fn=softmax_rows
) -> dict:
    """True gradients of the cross-entropy (summed or averaged over the batch), eq. (14)-(17)."""
    z1, z2 = loop_forward(model, X, softmax_fn)
    d2 = z2 - Y  # (N,K), eq. (14)
    if reduction == "mean":
        d2 /= X.shape[0]
    d1 = (d2 @ model["W2"].T) * (z1 > 0)  # (N,H), gate eq. (17)
    return {"W1": X.T @ d1, "b1": d1.sum(axis=0), "W2": z1.T @ d2, "b2": d2.sum(axis=0)}


def loop_sgd(model: dict, X, Y, alpha: float = ALPHA, softmax_fn=softmax_rows) -> None:
    """``theta := theta - alpha * grad``, eq. (7), in place."""
    grads = loop_backward(model, X, Y, softmax_fn=softmax_fn)
    for key in model:
        model[key] -= alpha * grads[key]


def loop_fit(
    model: dict,
    X: np.ndarray,
    Y: np.ndarray,
    batch_size: int,
    iter_num: int,
    rng: np.random.Generator | None = None,
    perms=None,
    softmax_fn=softmax_rows,
) -> dict:
    """``iter_num`` epochs: a fresh permutation each (``perms[e]`` when given, else drawn
    from ``rng``), contiguous slices of ``batch_size``, the short last one included."""
    n = X.shape[0]
    for epoch in range(iter_num):
        perm = perms[epoch] if perms is not None else rng.permutation(n)
        Xs, Ys = X[perm], Y[perm]
        for start in range(0, n, batch_size):
            batch = slice(start, start + batch_size)
            loop_sgd(model, Xs[batch], Ys[batch], softmax_fn=softmax_fn)
    return model


def loop_accuracy(model: dict, X: np.ndarray, y: np.ndarray, softmax_fn=softmax_rows) -> float:
    return float(np.mean(loop_forward(model, X, softmax_fn)[1].argmax(axis=1) == y))


def tutorial_loop(
    X_train, y_train, X_test, y_test, widths, batch_size: int, iter_num: int, rng
) -> np.ndarray:
    """The tutorial's ``test``/``test_class`` loop: one network per entry of ``widths``,
    trained one after another (one-hot rows built once, in a Python loop); test accuracies."""
    Y = one_hot_rows(y_train, 2)
    acc = []
    for h in widths:
        model = loop_init(rng, n_hidden=int(h))
        loop_fit(model, X_train, Y, batch_size, iter_num, rng)
        acc.append(loop_accuracy(model, X_test, y_test))
    return np.array(acc)


def spread(n: int, k: int) -> np.ndarray:
    """Indices of ``min(k, n)`` of ``n`` items, evenly spread, first and last included."""
    return np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(int))


#: The clock the tutorial's loop is timed with (a test replaces it to see the report follow).
_loop_clock = time.perf_counter


def time_tutorial_loop(
    data, widths, batch_size: int, iter_num: int, k: int, seed
) -> dict[str, Any]:
    """Time :func:`tutorial_loop` on ``k`` of the networks ``widths`` (evenly spread) and
    scale the time up to all of them: ``seconds = seconds_timed * len(widths) / timed``.

    The networks of one call cost nearly the same each (the loop's time is per step, and
    the Python loops dominate it), so the linear scale is close; the page says it is
    measured on a subsample and scaled.
    """
    X_train, X_test, y_train, y_test = data
    idx = spread(len(widths), k)
    rng = np.random.default_rng(seed)
    start = _loop_clock()
    acc = tutorial_loop(
        X_train, y_train, X_test, y_test, [widths[i] for i in idx], batch_size, iter_num, rng
    )
    seconds_timed = _loop_clock() - start
    return {
        "networks": len(widths),
        "timed": int(idx.size),
        "timed_widths": [int(widths[i]) for i in idx],
        "seconds_timed": seconds_timed,
        "seconds": seconds_timed * len(widths) / idx.size,
        "mean_accuracy_timed": float(acc.mean()),
    }


def _tutorial_loop_times(s: Settings, data, seed, timer: _Timer, results: dict) -> None:
    """The tutorial's loop on a subsample of each call's networks, into ``results[call]["loop"]``
    with the speed-up of this run (the loop's scaled time over nnscratch's measured one)."""
    calls = {
        "experiment": (
            [tutorial.N_HIDDEN] * s.experiment_trials,
            s.experiment_batch,
            s.experiment_epochs,
            s.loop_experiment_trials,
        ),
        "neuralnet_99": ([99], s.nn99_batch, s.nn99_epochs, 1),
        "sweep": (
            list(np.repeat(range(s.sweep_min, s.sweep_max), s.sweep_trials)),
            s.sweep_batch,
            s.sweep_epochs,
            s.loop_sweep_trials,
        ),
    }
    timed = sum(min(c[3], len(c[0])) for c in calls.values())
    with timer("tutorial_loop", f"the tutorial's own loop, timed on {timed} networks"):
        for i, (name, (widths, batch, epochs, k)) in enumerate(calls.items()):
            loop = time_tutorial_loop(data, widths, batch, epochs, k, child(seed, i))
            ours = results[name]["seconds"]
            loop["speedup"] = loop["seconds"] / ours if ours > 0 else None
            results[name]["loop"] = loop


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

    try:  # the fast path's compiler, without importing it
        numba = importlib.metadata.version("numba")
    except importlib.metadata.PackageNotFoundError:
        numba = "not installed (NumPy loop only)"
    return {
        "nnscratch": nnscratch.__version__,
        "numpy": np.__version__,
        "numba": numba,
        "python": platform.python_version(),
        "cpus": str(os.cpu_count()),
    }
