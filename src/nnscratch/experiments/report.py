"""The report of ``nnscratch reproduce``, rendered from its results: a console table and a page.

Only rendering lives here: :func:`comparison_rows` (each tutorial call beside our result),
:func:`summary_table` (the console summary) and :func:`render_html` (``index.html``). They
read the results dict that :func:`nnscratch.experiments.reproduce.reproduce` returns and
writes to ``results.json``, and compute nothing new, so a saved ``results.json`` renders the
same page again.
"""

from __future__ import annotations

import html
from typing import Any

from nnscratch.tutorial import ALPHA

#: What the tutorial reported (SEED.md), and how long its algorithm took on 2 cores.
REPORTED = {
    "experiment": {"mean": 0.94541, "std": 0.019558, "seconds": 23.0},
    "neuralnet_99": {"accuracy": 0.9496},
    "sweep": {"accuracy_30_40": 0.98, "seconds": 234.0},
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


def _scientific(x: float) -> str:
    """``1e-4``, as the tutorial writes its rate (Python's own gives ``0.0001`` or ``1e-04``)."""
    mantissa, exponent = f"{x:e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


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


def _width_rows(sweep: dict[str, Any]) -> str:
    """One table row per swept width: mean, 95% interval, every trial's accuracy."""
    return "".join(
        f"<tr><td>{w}</td><td>{m:.4f}</td><td>[{lo:.4f}, {hi:.4f}]</td>"
        f"<td>{', '.join(f'{a:.4f}' for a in accs)}</td></tr>"
        for w, m, lo, hi, accs in zip(
            sweep["widths"],
            sweep["mean_accuracy"],
            sweep["ci_low"],
            sweep["ci_high"],
            sweep["accuracies"],
            strict=True,
        )
    )


def render_html(results: dict[str, Any]) -> str:
    """The report page: results beside the tutorial's, figures, per-width table, timings."""
    e, sw, t = results["experiment"], results["sweep"], results["timings"]
    f = results["files"].get
    esc = html.escape
    timing_rows = "".join(f"<tr><td>{esc(k)}</td><td>{v:.2f} s</td></tr>" for k, v in t.items())
    env = ", ".join(f"{k} {v}" for k, v in results["environment"].items())
    alpha = _scientific(ALPHA)  # the rate the page names is the one the runs used
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
<code>alpha = {alpha}</code>) and seed {results["seed"]}. Repeated trials and every width of the
sweep train as one population each instead of one network after another.</p>
<h2>Results beside the tutorial's</h2>
{_comparison_table(results)}
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
{_width_rows(sw)}</table>
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
