"""``nnscratch reproduce``: re-run every experiment and figure of the tutorial, write a report.

The report folder holds ``index.html`` (self-contained: inline style, images referenced by
relative name), ``results.json`` and the PNG/GIF figures. The numbers stand beside the
ones the tutorial reported (SEED.md), and our timings beside the tutorial's.

Every file is written atomically, and ``index.html`` last, so a report folder never holds
a half-written file and an ``index.html`` only exists once everything it shows does.
"""

from __future__ import annotations

import html
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch import tutorial
from nnscratch.core.callback import Callback
from nnscratch.core.optim import SGD
from nnscratch.core.seeding import child
from nnscratch.experiments.records import json_safe, summarize
from nnscratch.experiments.runner import build_network, sweep
from nnscratch.experiments.stats import describe
from nnscratch.io.atomic import write_text
from nnscratch.tutorial import ALPHA, tutorial_config

#: What the tutorial reported (SEED.md), and how long its algorithm took on 2 cores.
REPORTED = {
    "experiment": {"mean": 0.94541, "std": 0.019558, "seconds": 23.0},
    "neuralnet_99": {"accuracy": 0.9496},
    "sweep": {"accuracy_30_40": 0.98, "seconds": 234.0},
}


@dataclass(frozen=True)
class Settings:
    """The tutorial's calls; :meth:`quick` scales them down for tests."""

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


def prepare_output(out: str | os.PathLike) -> Path:
    """Create ``out`` if needed and check it can be written; ``ValueError`` otherwise."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: expected a directory, got the file {str(out)!r}")
    if not out.exists():
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise ValueError(
                f"--out: expected a directory whose parent exists, got {str(out)!r} "
                f"({str(parent)!r} does not exist)"
            )
        try:
            out.mkdir()
        except OSError as error:
            raise ValueError(f"--out: cannot create {str(out)!r}: {error.strerror}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ValueError(f"--out: expected a writable directory, got {str(out)!r}")
    return out


class _Timer:
    """Wall time of each named part, in order."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.seconds: dict[str, float] = {}
        self.log = log

    def __call__(self, name: str, what: str):
        timer = self

        class _Part:
            def __enter__(self):
                timer.log(f"{what} ...")
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                timer.seconds[name] = time.perf_counter() - self.start
                if exc[0] is None:
                    timer.log(f"{what}: {timer.seconds[name]:.2f} s")

        return _Part()


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
    call down (for tests); the default is the tutorial's own settings.
    """
    from nnscratch import plots  # matplotlib, imported when a report is made
    from nnscratch.data import load_moons

    settings = Settings.quick_settings() if quick else Settings()
    out = prepare_output(out)
    log = log or (lambda text: None)
    timer = _Timer(log)
    root = np.random.SeedSequence(seed)
    total_start = time.perf_counter()
    files: dict[str, str] = {}

    def save(fig, name: str) -> None:
        plots.save_figure(fig, out / name, dpi=100)
        files[name.rsplit(".", 1)[0]] = name

    # --- data and the tutorial's figures (steps 1, 4, 12) ---
    with timer("data", "data (make_moons, 3750/1250 split)"):
        X_train, X_test, y_train, y_test = load_moons()
    with timer("figures", "figures: moons, ReLU, network"):
        X_all = np.concatenate([X_train, X_test])  # (5000,2): every point of the data set
        y_all = np.concatenate([y_train, y_test])
        save(plots.plot_dataset(X_all, y_all, title="make_moons(5000, noise=0.1)"), "moons.png")
        save(plots.plot_activation("relu"), "relu.png")
        save(plots.plot_network([2, 64, 2], title="2-64-2 network"), "network.png")

    # --- step 9: test(X_train, y_train, X_test, y_test, 10, 10, 100) ---
    s = settings
    with timer(
        "experiment",
        f"test(..., {s.experiment_batch}, {s.experiment_epochs}, "
        f"{s.experiment_trials}): {s.experiment_trials} networks as one population",
    ):
        acc = tutorial.test(
            X_train,
            y_train,
            X_test,
            y_test,
            s.experiment_batch,
            s.experiment_epochs,
            s.experiment_trials,
            seed=child(root, 0),
            verbose=False,
        )
    stats = describe(acc)
    experiment = {
        "call": f"test(X_train, y_train, X_test, y_test, {s.experiment_batch}, "
        f"{s.experiment_epochs}, {s.experiment_trials})",
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

    # --- step 10: NeuralNet(99).test(X_train, y_train, X_test, y_test, 20, 10) ---
    with timer("neuralnet_99", f"NeuralNet(99).test(..., {s.nn99_batch}, {s.nn99_epochs})"):
        nn99 = tutorial.NeuralNet(99, seed=child(root, 1))
        nn99_acc = nn99.test(X_train, y_train, X_test, y_test, s.nn99_batch, s.nn99_epochs)
    neuralnet_99 = {
        "call": f"NeuralNet(99).test(X_train, y_train, X_test, y_test, {s.nn99_batch}, "
        f"{s.nn99_epochs})",
        "accuracy": nn99_acc,
        "seconds": timer.seconds["neuralnet_99"],
    }

    # --- step 11: test_class(3, 40, 3), per-trial accuracies kept for the CI band ---
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
            data=(X_train, X_test, y_train, y_test),
            seed=child(root, 2),
            quiet=quiet,
        )
    summary = summarize(records, "test_accuracy")
    per_trial = np.array([r.test_accuracy for r in records]).reshape(len(widths), -1)  # (W,T)
    sweep_result = {
        "call": f"test_class({s.sweep_min}, {s.sweep_max}, {s.sweep_trials})",
        "widths": widths,
        "mean_accuracy": per_trial.mean(axis=1).tolist(),
        "ci_low": [row["ci_low"] for row in summary],
        "ci_high": [row["ci_high"] for row in summary],
        "accuracies": per_trial.tolist(),
        "diverged": int(sum(r.diverged for r in records)),
        "seconds": timer.seconds["sweep"],
    }
    top = [m for w, m in zip(widths, sweep_result["mean_accuracy"], strict=True) if 30 <= w < 40]
    sweep_result["mean_accuracy_30_40"] = float(np.mean(top)) if top else None
    with timer("sweep_plot", "sweep plot with its 95% band"):
        reference = (np.arange(30, 40), np.full(10, REPORTED["sweep"]["accuracy_30_40"]))
        band = np.array([sweep_result["ci_low"], sweep_result["ci_high"]])  # (2,W)
        band = band if np.all(np.isfinite(band)) else [None, None]  # 1 trial: no interval
        fig = plots.plot_sweep(
            widths,
            sweep_result["mean_accuracy"],
            band[0],
            band[1],
            xlabel="number of neurons",
            ylabel="test accuracy",
            reference=reference,
            band_label=f"95% CI (Student t, {s.sweep_trials} trials)",
            reference_label="reported (about 0.98)",
            title=f"test_class({s.sweep_min}, {s.sweep_max}, {s.sweep_trials})",
        )
        save(fig, "sweep.png")

    # --- one tutorial network trained with snapshots: boundary, curves, animation ---
    with timer(
        "animation", f"decision boundary, training curves, GIF ({s.animation_epochs} epochs)"
    ):
        net = build_network(
            tutorial_config(s.animation_epochs, s.experiment_batch), 2, 2, child(root, 3)
        )

        class _Keep(Callback):
            def on_train_end(self, run) -> None:
                self.history = run.history

        keep = _Keep()
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
        save(
            plots.plot_decision_boundary(net, X_test, y_test, resolution=150),
            "decision_boundary.png",
        )
        save(plots.plot_history(keep.history), "training_curves.png")
        plots.animate_decision_boundary(X_test, y_test, snapshots, out / "training.gif", fps=3)
        files["training"] = "training.gif"
    animation = {"epochs": s.animation_epochs, "test_accuracy": float(net.score(X_test, y_test))}

    results: dict[str, Any] = {
        "seed": seed,
        "quick": quick,
        "experiment": experiment,
        "neuralnet_99": neuralnet_99,
        "sweep": sweep_result,
        "animation": animation,
        "reported": REPORTED,
        "files": files,
        "environment": _environment(),
    }
    with timer("report", "results.json and index.html"):
        timings = dict(timer.seconds)
        timings["total"] = time.perf_counter() - total_start
        results["timings"] = timings
        write_text(out / "results.json", json.dumps(json_safe(results), indent=1) + "\n")
        write_text(out / "index.html", render_html(results))
    results["timings"]["report"] = timer.seconds["report"]
    results["timings"]["total"] = time.perf_counter() - total_start
    return results


def _environment() -> dict[str, str]:
    import nnscratch

    return {
        "nnscratch": nnscratch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "cpus": str(os.cpu_count()),
    }


#: The columns of :func:`comparison_rows`.
COMPARISON_HEADER = ("call", "tutorial reported", "nnscratch", "tutorial time", "nnscratch time")


def comparison_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Each tutorial call beside its result: the :data:`COMPARISON_HEADER` columns, as text."""
    e, n, sw = results["experiment"], results["neuralnet_99"], results["sweep"]
    r = REPORTED
    return [
        (
            e["call"],
            f"{r['experiment']['mean']:g} ± {r['experiment']['std']:g}",
            f"{e['mean']:.5g} ± {e['std']:.5g}",
            f"{r['experiment']['seconds']:.0f} s",
            f"{e['seconds']:.2f} s",
        ),
        (
            n["call"],
            f"{r['neuralnet_99']['accuracy']:g}",
            f"{n['accuracy']:.5g}",
            "",
            f"{n['seconds']:.2f} s",
        ),
        (
            sw["call"],
            f"about {r['sweep']['accuracy_30_40']:g} at 30 to 40 neurons",
            f"{_fmt_opt(sw['mean_accuracy_30_40'])} (mean over widths 30-39)",
            f"{r['sweep']['seconds']:.0f} s",
            f"{sw['seconds']:.2f} s",
        ),
    ]


def summary_table(results: dict[str, Any]) -> str:
    """The console summary: each call, the tutorial's number and ours, the timings."""
    t = results["timings"]
    rows = [COMPARISON_HEADER, *comparison_rows(results)]
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    parts = ", ".join(f"{k} {v:.2f} s" for k, v in t.items() if k != "total")
    lines.append(f"parts: {parts}")
    lines.append(f"total: {t['total']:.2f} s")
    return "\n".join(lines)


def _fmt_opt(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"


# --- the HTML page ---------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
code { background: #f4f4f4; padding: 0 0.2rem; }
figure { display: inline-block; margin: 0.5rem; vertical-align: top; }
figure img { max-width: 28rem; border: 1px solid #eee; }
figcaption { font-size: 0.9rem; color: #555; }
.small { font-size: 0.9rem; color: #555; }
"""


def _figure(name: str | None, caption: str) -> str:
    if name is None:
        return ""
    return (
        f'<figure><img src="{html.escape(name)}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def render_html(results: dict[str, Any]) -> str:
    """The report page: results beside the tutorial's, figures, per-width table, timings."""
    e, sw, t = results["experiment"], results["sweep"], results["timings"]
    f = results["files"].get
    esc = html.escape
    main_header = "".join(f"<th>{esc(c)}</th>" for c in COMPARISON_HEADER)
    main_table = "".join(
        "<tr>"
        + "".join(
            f"<td>{esc(c) if j else '<code>' + esc(c) + '</code>'}</td>" for j, c in enumerate(row)
        )
        + "</tr>"
        for row in comparison_rows(results)
    )
    width_rows = "".join(
        f"<tr><td>{w}</td><td>{m:.4f}</td><td>[{lo:.4f}, {hi:.4f}]</td>"
        f"<td>{', '.join(f'{a:.4f}' for a in accs)}</td></tr>"
        for w, m, lo, hi, accs in zip(
            sw["widths"],
            sw["mean_accuracy"],
            sw["ci_low"],
            sw["ci_high"],
            sw["accuracies"],
            strict=True,
        )
    )
    timing_rows = "".join(f"<tr><td>{esc(k)}</td><td>{v:.2f} s</td></tr>" for k, v in t.items())
    env = ", ".join(f"{k} {v}" for k, v in results["environment"].items())
    quick = (
        "<p><strong>Quick mode:</strong> every call scaled down; the numbers are not "
        "comparable with the tutorial's.</p>"
        if results["quick"]
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>nnscratch: the tutorial reproduced</title>
<style>{_STYLE}</style></head>
<body>
<h1>The tutorial, reproduced with nnscratch</h1>
{quick}
<p>Every experiment of the NumPy-from-scratch tutorial re-run on the nnscratch core, with the
tutorial's settings (<code>randn</code> initialisation, summed gradients, SGD with
<code>alpha = 1e-4</code>) and seed {results["seed"]}. Repeated trials and every width of the
sweep train as one population each instead of one network after another.</p>
<h2>Results beside the tutorial's</h2>
<table><tr>{main_header}</tr>{main_table}</table>
<p class="small">Standard deviation as the tutorial printed it (ddof=0). Over the
{len(e["accuracies"])} trials: sample std (ddof=1) {e["sample_std"]:.5g}, 95% confidence
interval of the mean (Student t) [{e["ci_low"]:.5g}, {e["ci_high"]:.5g}], range
{e["min"]:.4g} to {e["max"]:.4g}. The tutorial's times were measured for its algorithm on
2 cores; ours on {esc(results["environment"]["cpus"])} CPUs.</p>
<h2>Data, activation, network</h2>
{_figure(f("moons"), "make_moons(n_samples=5000, noise=0.1, random_state=42)")}
{_figure(f("relu"), "ReLU on linspace(-10, 10, 100)")}
{_figure(f("network"), "The 2-64-2 network")}
<h2>Accuracy against hidden width</h2>
{_figure(f("sweep"), "Mean test accuracy per width with its 95% Student-t band")}
<table><tr><th>neurons</th><th>mean accuracy</th><th>95% CI</th><th>trials</th></tr>
{width_rows}</table>
<p class="small">Diverged trials: {sw["diverged"]} (counted, never averaged).
With {len(sw["accuracies"][0]) if sw["accuracies"] else 0} trials per width the interval is
wide: the t quantile has only n - 1 degrees of freedom.</p>
<h2>One network, trained</h2>
{_figure(f("decision_boundary"), "Decision boundary on the test set")}
{_figure(f("training_curves"), "Loss and accuracy per epoch (dashed: test set)")}
{_figure(f("training"), "The decision boundary forming, one frame per epoch")}
<h2>Timings</h2>
<table><tr><th>part</th><th>seconds</th></tr>{timing_rows}</table>
<p class="small">{esc(env)}. Full numbers in <a href="results.json">results.json</a>.</p>
</body></html>
"""
