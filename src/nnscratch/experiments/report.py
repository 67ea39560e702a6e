"""The report of ``nnscratch reproduce``, rendered from its results: a console table and a page.

Only rendering lives here: :func:`comparison_rows` (each tutorial call beside our result),
:func:`summary_table` (the console summary) and :func:`render_html` (``index.html``). They
read the results dict that :func:`nnscratch.experiments.reproduce.reproduce` returns and
writes to ``results.json``, and compute nothing new, so a saved ``results.json`` renders the
same page again.
"""

from __future__ import annotations

import html
import math
from typing import Any

from nnscratch.experiments.stats import BOOTSTRAP_RESAMPLES
from nnscratch.tutorial import ALPHA

#: What the tutorial reported (SEED.md): accuracies only. Times are measured in each run.
REPORTED = {
    "experiment": {"mean": 0.94541, "std": 0.019558},
    "neuralnet_99": {"accuracy": 0.9496},
    "sweep": {"accuracy_30_40": 0.98},
}

#: Earlier one-off timings of the tutorial's algorithm, for context only (never this run's):
#: SEED.md's, on a 2-core machine, and the benchmark README's ``tutorial-code`` peer.
EARLIER_TIMES = {
    "SEED.md (2 cores)": {"experiment": 23.0, "sweep": 234.0},
    "benchmarks/README.md": {"experiment": 15.6, "sweep": 168.0},
}

#: The columns of :func:`comparison_rows`.
COMPARISON_HEADER = (
    "call",
    "tutorial reported",
    "nnscratch, this run",
    "nnscratch time",
    "tutorial's loop, timed here",
    "speed-up",
)


def comparison_rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    """Each tutorial call beside its result: the :data:`COMPARISON_HEADER` columns, as text.

    The experiment's ``mean ± std`` is the line ``test`` prints (``np.std``, ``ddof=0``), as
    the tutorial printed its own; the loop's time is measured in the run, on a subsample of
    the call's networks and scaled up (:func:`loop_time`).
    """
    e, n, sw = results["experiment"], results["neuralnet_99"], results["sweep"]
    r = REPORTED
    return [
        (
            e["call"],
            f"{r['experiment']['mean']:g} ± {r['experiment']['std']:g}",
            f"{e['mean']:.5g} ± {e['printed_std']:.5g}",
            seconds(e["seconds"]),
            loop_time(e.get("loop")),
            speedup(e.get("loop")),
        ),
        (
            n["call"],
            f"{r['neuralnet_99']['accuracy']:g}",
            f"{n['accuracy']:.5g}",
            seconds(n["seconds"]),
            loop_time(n.get("loop")),
            speedup(n.get("loop")),
        ),
        (
            sw["call"],
            f"about {r['sweep']['accuracy_30_40']:g} at 30 to 40 neurons",
            f"{_fmt_opt(sw['mean_accuracy_30_40'])} (mean over widths 30-39)",
            seconds(sw["seconds"]),
            loop_time(sw.get("loop")),
            speedup(sw.get("loop")),
        ),
    ]


def loop_time(loop: dict[str, Any] | None) -> str:
    """``"33.4 s (10 of 100 timed, scaled)"``, ``"0.21 s (timed)"``, or ``"not timed"``."""
    if not loop:
        return "not timed"
    if loop["timed"] == loop["networks"]:
        return f"{seconds(loop['seconds'])} (timed)"
    return f"{seconds(loop['seconds'])} ({loop['timed']} of {loop['networks']} timed, scaled)"


def seconds(x: float) -> str:
    """A duration with the digits that matter: ``234 s``, ``15.6 s``, ``0.43 s``, ``0.0042 s``."""
    if x >= 100:
        return f"{x:.0f} s"
    if x >= 10:
        return f"{x:.1f} s"
    if x >= 0.1:
        return f"{x:.2f} s"
    return f"{x:.2g} s"


def speedup(loop: dict[str, Any] | None) -> str:
    """The loop's time over nnscratch's, measured in the same run: ``"28x"``."""
    if not loop or loop.get("speedup") is None:
        return "n/a"
    x = loop["speedup"]
    return f"{x:.0f}x" if x >= 10 else f"{x:.1f}x"


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


def _scientific(x: float) -> str:
    """``1e-4``, as the tutorial writes its rate (Python's own gives ``0.0001`` or ``1e-04``)."""
    mantissa, exponent = f"{x:e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


# --- the HTML page ---------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.5; font-size: 1.02rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.95rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; vertical-align: top; }
th { background: #f6f6f6; }
th:first-child, td:first-child { text-align: left; }
table.text td, table.text th { text-align: left; }
code, pre { background: #f4f4f4; padding: 0 0.2rem; font-size: 0.92rem; }
pre { padding: 0.6rem 0.8rem; overflow-x: auto; line-height: 1.4; }
figure { margin: 1rem 0; }
figure img { display: block; width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.92rem; color: #444; margin-top: 0.3rem; }
.row { display: grid; gap: 1rem; align-items: start; }
.row.two { grid-template-columns: 1fr 1fr; }
.row.three { grid-template-columns: 1fr 1fr 0.62fr; }
@media (max-width: 52rem) {
  .row.two, .row.three { grid-template-columns: 1fr; }
  .row figure img { max-width: 36rem; }
  .row.three figure:last-child img { max-width: 18rem; }
}
.wide img { max-width: 60rem; }
.small { font-size: 0.92rem; color: #444; }
details { margin: 0.6rem 0; }
summary { cursor: pointer; color: #1f4f8f; }
"""


def _figure(name: str | None, caption: str, cls: str = "") -> str:
    """A figure with its caption, or nothing when the run made no such file."""
    if name is None:
        return ""
    attr = f' class="{cls}"' if cls else ""
    return (
        f'<figure{attr}><img src="{html.escape(name)}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _comparison_table(results: dict[str, Any]) -> str:
    """:func:`comparison_rows` as an HTML table, the call in ``<code>``."""
    esc = html.escape
    header = "".join(f"<th>{esc(c)}</th>" for c in COMPARISON_HEADER)
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{esc(c) if j else '<code>' + esc(c) + '</code>'}</td>" for j, c in enumerate(row)
        )
        + "</tr>"
        for row in comparison_rows(results)
    )
    return f"<table><tr>{header}</tr>{rows}</table>"


def _interval(low: float, high: float, n: int) -> str:
    """``[0.9312, 0.9498]``, or ``n/a, 1 trial`` where there is no interval."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"n/a, {n} trial" if n == 1 else "n/a"
    return f"[{low:.4f}, {high:.4f}]"


def _width_rows(sweep: dict[str, Any], rows: list[int] | None = None) -> str:
    """Table rows for the widths at positions ``rows`` (every width when None): mean, std
    (``ddof=1``), 95% bootstrap interval, and every trial's accuracy."""
    widths = sweep["widths"]
    rows = list(range(len(widths))) if rows is None else rows
    std = sweep.get("std", [math.nan] * len(widths))
    out = []
    for i in rows:
        accs = sweep["accuracies"][i]
        out.append(
            f"<tr><td>{widths[i]}</td><td>{sweep['mean_accuracy'][i]:.4f}</td>"
            f"<td>{_fmt_std(std[i])}</td>"
            f"<td>{_interval(sweep['ci_low'][i], sweep['ci_high'][i], len(accs))}</td>"
            f"<td>{', '.join(f'{a:.4f}' for a in accs)}</td></tr>"
        )
    return "".join(out)


def _fmt_std(value) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.4f}"


_WIDTH_HEADER = (
    "<tr><th>neurons</th><th>mean accuracy</th><th>std</th><th>95% interval</th>"
    "<th>trials</th></tr>"
)


def _width_tables(sweep: dict[str, Any]) -> str:
    """A compact table (about eight widths, evenly spread, the last included) and the full
    table collapsed under ``<details>``."""
    n = len(sweep["widths"])
    if n == 0:
        return "<p>No width was swept.</p>"
    step = max(1, math.ceil((n - 1) / 7))
    picked = sorted({*range(0, n, step), n - 1})
    compact = f"<table>{_WIDTH_HEADER}{_width_rows(sweep, picked)}</table>"
    if len(picked) == n:
        return compact
    return (
        f"{compact}<details><summary>All {n} widths</summary>"
        f"<table>{_WIDTH_HEADER}{_width_rows(sweep)}</table></details>"
    )


def _n(count: int, word: str) -> str:
    """``1 epoch``, ``10 epochs``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _settings_rows(results: dict[str, Any]) -> str:
    """The run's settings, one row a call."""
    s = results.get("settings")
    if not s:
        return ""
    esc = html.escape
    rows = [
        ("seed", f"{results['seed']}, passed to every call"),
        (
            "test",
            f"{_n(s['experiment_trials'], 'network')} 2-64-2, batch {s['experiment_batch']}, "
            f"{_n(s['experiment_epochs'], 'epoch')}",
        ),
        (
            "NeuralNet(99)",
            f"one network 2-99-2, batch {s['nn99_batch']}, {_n(s['nn99_epochs'], 'epoch')}",
        ),
        (
            "test_class",
            f"widths {s['sweep_min']} to {s['sweep_max'] - 1}, "
            f"{_n(s['sweep_trials'], 'trial')} each, batch {s['sweep_batch']}, "
            f"{_n(s['sweep_epochs'], 'epoch')}",
        ),
        (
            "animated network",
            f"2-64-2, batch {s['experiment_batch']}, {_n(s['animation_epochs'], 'epoch')}",
        ),
        (
            "tutorial's loop, timed",
            f"{s['loop_experiment_trials']} of test's networks, NeuralNet(99)'s one, "
            f"{s['loop_sweep_trials']} of test_class's (evenly spread over the widths)",
        ),
    ]
    return "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows)


#: The page's "what to try next": (what it shows, the command), each a real CLI line.
TRY_NEXT = (
    ("Another seed: how far the numbers move", "nnscratch reproduce --seed 1 --out report-seed1"),
    (
        "The CLI's defaults (He initialisation, mean loss, SGD at 0.1), 30 trials",
        "nnscratch experiment --hidden 64 --epochs 20 --trials 30",
    ),
    (
        "The width sweep with those defaults, 5 trials a width, and its plot",
        "nnscratch sweep --hidden 3:40 --trials 5 --plot sweep.png",
    ),
    ("A learning-rate sweep", "nnscratch sweep --lr 0.01,0.03,0.1,0.3 --trials 5"),
    (
        "A harder data set, two hidden layers, Adam",
        "nnscratch train --data spiral --hidden 64,64 --optimizer adam --lr 0.003 "
        "--epochs 100 --plot spiral.png",
    ),
)


def render_html(results: dict[str, Any]) -> str:
    """The report page: results beside the tutorial's, figures, per-width tables, what to
    try next, and the run's settings and timings at the end."""
    esc = html.escape
    quick = (
        "<p><strong>Quick mode:</strong> every call scaled down; the numbers are not "
        "comparable with the tutorial's.</p>"
        if results["quick"]
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nnscratch: the tutorial reproduced</title>
<style>{_STYLE}</style></head>
<body>
<h1>The tutorial, reproduced with nnscratch</h1>
{quick}
<p>Every experiment of the NumPy-from-scratch tutorial re-run on the nnscratch core, with the
tutorial's settings (<code>randn</code> initialisation, summed gradients, SGD with
<code>alpha = {_scientific(ALPHA)}</code>) and seed {esc(str(results["seed"]))}, passed to each
call as the README's examples pass it, so these are the numbers those calls give. Repeated
trials and every width of the sweep train as one population each instead of one network
after another.</p>
<h2>Results beside the tutorial's</h2>
{_comparison_table(results)}
{_notes(results)}
<h2>Data, activation, network</h2>
<div class="row three">
{_figure(results["files"].get("moons"), _MOONS_CAPTION)}
{_figure(results["files"].get("relu"), "ReLU on linspace(-10, 10, 100)")}
{_figure(results["files"].get("network"), "The 2-64-2 network of test (hidden units elided)")}
</div>
{_sweep_section(results)}
{_network_section(results)}
{_closing_sections(results)}
</body></html>
"""


_MOONS_CAPTION = "make_moons(n_samples=5000, noise=0.1, random_state=42): all 5000 points"


def _notes(results: dict[str, Any]) -> str:
    """Under the results table: how the times were measured, and the statistics (stated once)."""
    e, esc = results["experiment"], html.escape
    earlier = "; ".join(
        f"{esc(where)}: {v['experiment']:g} s and {v['sweep']:g} s"
        for where, v in EARLIER_TIMES.items()
    )
    return f"""<p class="small"><strong>Times.</strong> Both time columns are measured in this
run, on this machine ({esc(results["environment"]["cpus"])} CPUs): nnscratch's is the call's
wall time, the first call paying the one-off compilation of the fast path where numba is
installed (so the first row's speed-up understates later calls); the tutorial's loop is its
own algorithm (one network after another, softmax and one-hot rows built in Python loops),
timed on an evenly spread subsample of the call's networks and scaled up to all of them.
The speed-up is the ratio of the two. For context only, earlier one-off timings of that
loop elsewhere: {earlier}.</p>
<p class="small"><strong>Statistics.</strong> The experiment's <code>mean ± std</code> is
the line <code>test</code> prints (<code>np.std</code>, ddof=0), to compare with the line the
tutorial printed. Everywhere else a standard deviation is the sample one (ddof=1) and an
interval is the 95% percentile bootstrap interval of the mean over the trials
({BOOTSTRAP_RESAMPLES:,} resamples; Efron &amp; Tibshirani, <em>An Introduction to the
Bootstrap</em>, 1993, sec. 13.3), which stays inside [0, 1]. Over the {e["n"]} trials of
<code>test</code>: mean {e["mean"]:.5g}, std {_fmt_std(e["std"])}, 95% interval
{_interval(e["ci_low"], e["ci_high"], e["n"])}, range {e["min"]:.4f} to {e["max"]:.4f}.</p>"""


def _sweep_section(results: dict[str, Any]) -> str:
    """The width sweep: its figure with the band, a note, a compact table and the full one."""
    sw, esc = results["sweep"], html.escape
    trials = len(sw["accuracies"][0]) if sw["accuracies"] else 0
    caption = (
        f"Mean test accuracy of {trials} trials per width, with its 95% percentile bootstrap "
        "band; diamonds: the tutorial's reported 0.98 at 30 to 39 neurons"
    )
    first, last = (sw["widths"][0], sw["widths"][-1]) if sw["widths"] else ("-", "-")
    return f"""<h2>Accuracy against hidden width</h2>
{_figure(results["files"].get("sweep"), caption, "wide")}
<p class="small">Every width from {first} to {last}, {trials} trials each, trained as one
population (<code>{esc(sw["call"])}</code>). Diverged trials: {sw["diverged"]} (counted,
never averaged). With {trials} trials a width an interval is rough: the bootstrap can only
resample those {trials} values.</p>
{_width_tables(sw)}"""


def _network_section(results: dict[str, Any]) -> str:
    """The one network trained alone: its settings, boundary, GIF and training curves."""
    anim, esc, f = results.get("animation", {}), html.escape, results["files"].get
    early = [x for x in anim.get("frames", []) if 0 < x < 1]
    gif_caption = (
        f"The boundary forming (GIF): untrained, after {len(early)} early steps of epoch 1, "
        "then after every epoch; each frame with its test accuracy"
    )
    curves_caption = (
        "Loss (mean per example) and accuracy per epoch: solid the training set (averaged over "
        "the epoch as it trained), dashed the test set (after the epoch)"
    )
    return f"""<h2>One network, trained</h2>
<p>The first network of <code>{esc(results["experiment"]["call"])}</code> trained again
alone: 2-64-2, ReLU, <code>randn</code> weights and biases, cross-entropy summed over the
batch, SGD with <code>alpha = {_scientific(ALPHA)}</code>, batch
{esc(str(anim.get("batch_size", "?")))}, {esc(str(anim.get("epochs", "?")))} epochs, seed
{esc(str(results["seed"]))}; test accuracy {anim.get("test_accuracy", float("nan")):.4f}.
The test set (1250 points) serves as its validation data: nothing is tuned on it.</p>
<div class="row two">
{_figure(f("decision_boundary"), "Its decision boundary after training, with the test set")}
{_figure(f("training"), gif_caption)}
</div>
{_figure(f("training_curves"), curves_caption, "wide")}"""


def _closing_sections(results: dict[str, Any]) -> str:
    """What to try next (CLI lines), then the run's settings, timings and environment."""
    esc = html.escape
    timing_rows = "".join(
        f"<tr><td>{esc(k)}</td><td>{seconds(v)}</td></tr>" for k, v in results["timings"].items()
    )
    env = ", ".join(f"{k} {v}" for k, v in results["environment"].items())
    try_next = "\n".join(f"# {what}\n{cmd}" for what, cmd in TRY_NEXT)
    return f"""<h2>What to try next</h2>
<pre>{esc(try_next)}</pre>
<p class="small"><code>nnscratch COMMAND --help</code> lists every option.</p>
<h2>This run: settings and timings</h2>
<div class="row two">
<table class="text"><tr><th>call</th><th>settings</th></tr>{_settings_rows(results)}</table>
<table><tr><th>part</th><th>seconds</th></tr>{timing_rows}</table>
</div>
<p class="small">{esc(env)}. NeuralNet(99): {results["neuralnet_99"]["accuracy"]:.4f}. Full
numbers in <a href="results.json">results.json</a>.</p>"""
