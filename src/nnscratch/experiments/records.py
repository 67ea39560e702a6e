"""Trial records: one per trained network, saved to and loaded from JSON or CSV exactly.

A record holds the configuration, where the trial sits in the run (configuration index,
trial index), the seed that re-creates it (root entropy and spawn key of its
``SeedSequence``), its final metrics, and whether it diverged or was interrupted. Floats
are written with
Python's shortest round-trip representation, so saving and loading gives back the very
same numbers. In JSON, NaN is ``null`` and infinities are the strings ``"Infinity"`` and
``"-Infinity"`` (standard JSON has no non-finite numbers). Files written before records had
the ``interrupted`` field still load, as not interrupted.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch.core.checks import fail
from nnscratch.experiments.config import Config, field_names
from nnscratch.experiments.stats import bootstrap_interval, describe
from nnscratch.io.atomic import write_text

#: Metrics a record carries, in column order.
METRICS = ("train_accuracy", "test_accuracy", "train_loss", "test_loss")


@dataclass(frozen=True)
class TrialRecord:
    """One trained network.

    ``train_loss``/``test_loss`` are the mean per-example loss after training (whatever the
    training reduction), the accuracies likewise final. ``seconds`` is the wall time of the
    population the trial trained in, divided evenly among its members. ``diverged`` is True
    when a training loss became NaN or infinite; ``interrupted`` is True when Ctrl-C stopped
    the run before the trial finished: its metrics are those of the network as it was then,
    or NaN (with ``epochs_run`` 0 and ``seconds`` 0) for a trial the run never reached. Both
    kinds are counted, never averaged.
    """

    config: Config
    config_index: int
    trial: int
    seed_entropy: int
    seed_spawn_key: tuple[int, ...]
    train_accuracy: float
    test_accuracy: float
    train_loss: float
    test_loss: float
    epochs_run: int
    seconds: float
    diverged: bool
    interrupted: bool = False

    def seed_sequence(self) -> np.random.SeedSequence:
        """The trial's own ``SeedSequence``: pass it as ``seed`` to re-run the trial alone."""
        return np.random.SeedSequence(self.seed_entropy, spawn_key=self.seed_spawn_key)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (nested config), JSON-ready apart from non-finite floats."""
        out = {name: getattr(self, name) for name in _RECORD_FIELDS}
        out["config"] = self.config.to_dict()
        out["seed_spawn_key"] = list(self.seed_spawn_key)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrialRecord:
        missing = set(_RECORD_FIELDS) - set(_OPTIONAL_FIELDS) - set(values)
        if missing:
            raise fail("record", "keys " + ", ".join(_RECORD_FIELDS), sorted(missing))
        return cls(
            config=Config.from_dict(values["config"]),
            config_index=int(values["config_index"]),
            trial=int(values["trial"]),
            seed_entropy=int(values["seed_entropy"]),
            seed_spawn_key=tuple(int(k) for k in values["seed_spawn_key"]),
            **{m: _float(values[m]) for m in (*METRICS, "seconds")},
            epochs_run=int(values["epochs_run"]),
            diverged=_bool(values["diverged"], "diverged"),
            interrupted=_bool(values.get("interrupted", False), "interrupted"),
        )


_RECORD_FIELDS = (
    "config",
    "config_index",
    "trial",
    "seed_entropy",
    "seed_spawn_key",
    *METRICS,
    "epochs_run",
    "seconds",
    "diverged",
    "interrupted",
)

#: Fields that files written by earlier versions lack, and the value they read as.
_OPTIONAL_FIELDS = {"interrupted": False}


def _float(value) -> float:
    """A float from a JSON/CSV cell: numbers, ``None``/``""`` (NaN), or ``"Infinity"``-like text."""
    if value is None or value == "":
        return math.nan
    return float(value)


def _bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("True", "true", "1", 1):
        return True
    if value in ("False", "false", "0", 0):
        return False
    raise fail(name, "True or False", value)


def json_safe(value):
    """``value`` with NaN as ``None`` and infinities as ``"Infinity"``/``"-Infinity"``."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


# --- summaries ------------------------------------------------------------------------------


def summarize(
    records: Sequence[TrialRecord], metric: str = "test_accuracy", confidence: float = 0.95
) -> list[dict[str, Any]]:
    """One row per configuration (in order of ``config_index``): statistics of ``metric``.

    Diverged and interrupted trials are counted in ``diverged`` and ``interrupted`` and left
    out of every statistic. ``n`` is the number of trials summarised, ``std`` the sample
    standard deviation (``ddof=1``) and ``ci_low``/``ci_high`` the Student-t ``confidence``
    interval of the mean for a loss, the percentile bootstrap interval over trials for an
    accuracy (:func:`~nnscratch.experiments.stats.bootstrap_interval`: it stays in the
    metric's range, where a t interval on a few trials does not); ``ci_method`` names which.
    NaN where undefined (no trial left; fewer than two for the spread and the interval).
    """
    if not isinstance(records, (list, tuple)) or not all(
        isinstance(r, TrialRecord) for r in records
    ):
        raise fail("records", "a list of TrialRecord (from repeat, sweep or load_records)", records)
    if metric not in METRICS:
        raise fail("metric", "one of: " + ", ".join(METRICS), metric)
    by_config: dict[int, list[TrialRecord]] = {}
    for record in records:
        by_config.setdefault(record.config_index, []).append(record)
    rows = []
    for index in sorted(by_config):
        group = by_config[index]
        values = [getattr(r, metric) for r in group if not (r.diverged or r.interrupted)]
        row = {
            "config_index": index,
            "config": group[0].config.to_dict(),
            "metric": metric,
            "trials": len(group),
            "diverged": sum(r.diverged for r in group),
            "interrupted": sum(r.interrupted for r in group),
            "confidence": confidence,
        }
        row.update(describe(values, confidence))
        if metric in BOUNDED_METRICS:  # an accuracy: an interval that stays in [0, 1]
            row["ci_low"], row["ci_high"] = bootstrap_interval(values, confidence, seed=index)
        row["ci_method"] = CI_METHODS[metric in BOUNDED_METRICS]
        rows.append(row)
    return rows


#: Metrics bounded to [0, 1], summarised with a percentile bootstrap interval.
BOUNDED_METRICS = ("train_accuracy", "test_accuracy")
#: The interval's name, by whether the metric is bounded.
CI_METHODS = {False: "Student t", True: "percentile bootstrap"}


#: How a statistic that is undefined (NaN) reads in a table, and why it can be.
NOT_AVAILABLE = "n/a"
_NOT_AVAILABLE_NOTE = (
    "n/a: undefined (the mean needs one trial that finished without diverging, "
    "the std and the CI two)"
)


def format_summary(summary: Sequence[dict[str, Any]], vary: Sequence[str] | None = None) -> str:
    """A plain-text table of a summary: the varying config fields, then the statistics.

    An undefined statistic reads ``n/a`` (never ``nan``, as if it were a number); the
    ``interrupted`` column shows when some trial was interrupted.
    """
    if not summary:
        return "(no trials)"
    if vary is None:  # show the fields that differ between rows, or hidden if none do
        configs = [row["config"] for row in summary]
        vary = [k for k in configs[0] if any(c[k] != configs[0][k] for c in configs)]
        vary = vary or ["hidden"]
    counts = ["n", "diverged"]
    if any(row.get("interrupted", 0) for row in summary):
        counts.append("interrupted")
    level = int(round(100 * summary[0]["confidence"]))
    head = [*vary, *counts, "mean", "std", f"{level}% CI", "min", "max"]
    rows = []
    for row in summary:
        interval = f"{NOT_AVAILABLE}, {row['n']} trial" if row["n"] == 1 else NOT_AVAILABLE
        if not (math.isnan(row["ci_low"]) or math.isnan(row["ci_high"])):
            interval = f"[{row['ci_low']:.5g}, {row['ci_high']:.5g}]"
        cells = [_cell(row["config"][k]) for k in vary] + [str(row[k]) for k in counts]
        cells += [_stat(row["mean"]), _stat(row["std"]), interval]
        rows.append(cells + [_stat(row["min"]), _stat(row["max"])])
    widths = [max(len(head[j]), *(len(r[j]) for r in rows)) for j in range(len(head))]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    if any(NOT_AVAILABLE in r for r in rows):
        lines.append(_NOT_AVAILABLE_NOTE)
    metric = summary[0]["metric"]
    method = summary[0].get("ci_method", "Student t")
    return f"{metric} (std: ddof=1; CI: {method})\n" + "\n".join(lines)


def format_progress(records: Sequence[TrialRecord]) -> str | None:
    """How far an interrupted run got, in one line; ``None`` when no trial was interrupted."""
    stopped = [r for r in records if r.interrupted]
    if not stopped:
        return None
    configs = {r.config_index for r in records}
    finished = configs - {r.config_index for r in stopped}
    furthest = max(stopped, key=lambda r: r.epochs_run)
    return (
        f"{len(finished)} of {len(configs)} configuration{'s' if len(configs) != 1 else ''} "
        f"finished ({len(records) - len(stopped)} of {len(records)} trials); {len(stopped)} "
        f"trial{'s' if len(stopped) != 1 else ''} marked interrupted, trained for at most "
        f"{furthest.epochs_run} of {furthest.config.epochs} epochs"
    )


def _stat(value: float) -> str:
    return NOT_AVAILABLE if math.isnan(value) else f"{value:.5g}"


def _cell(value) -> str:
    if isinstance(value, list):
        return "-".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- files ----------------------------------------------------------------------------------


def records_to_json(records: Sequence[TrialRecord], summary: bool = True) -> str:
    """``{"records": [...], "summary": [...]}`` as JSON text."""
    payload: dict[str, Any] = {"records": [r.to_dict() for r in records]}
    if summary:
        payload["summary"] = summarize(records)
    return json.dumps(json_safe(payload), indent=1, allow_nan=False)


def records_from_json(text: str) -> list[TrialRecord]:
    payload = json.loads(text)
    rows = payload["records"] if isinstance(payload, dict) else payload
    return [TrialRecord.from_dict(row) for row in rows]


_CONFIG_COLUMNS = tuple(f"config.{name}" for name in field_names())


def _csv_columns() -> list[str]:
    return [*_CONFIG_COLUMNS, *(f for f in _RECORD_FIELDS if f != "config")]


def records_to_csv(records: Sequence[TrialRecord]) -> str:
    """One row per record; config fields as ``config.NAME`` columns, lists as JSON text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_csv_columns())
    for record in records:
        d = record.to_dict()
        config = d.pop("config")
        cells = [config[name] for name in field_names()] + [
            d[f] for f in _csv_columns()[len(_CONFIG_COLUMNS) :]
        ]
        writer.writerow([json.dumps(c) if isinstance(c, list) else _csv_cell(c) for c in cells])
    return out.getvalue()


def _csv_cell(value) -> str:
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back as the same double
    return str(value)


def records_from_csv(text: str) -> list[TrialRecord]:
    reader = csv.DictReader(io.StringIO(text))
    columns = set(_csv_columns())
    header = set(reader.fieldnames or ())
    if reader.fieldnames is None or not (columns - set(_OPTIONAL_FIELDS) <= header <= columns):
        raise fail("CSV header", "the columns " + ", ".join(_csv_columns()), reader.fieldnames)
    types = {f.name: f.type for f in Config.__dataclass_fields__.values()}
    records = []
    for row in reader:
        config: dict[str, Any] = {}
        for name in field_names():
            cell = row[f"config.{name}"]
            if name == "hidden":
                config[name] = tuple(json.loads(cell))
            elif types[name] in ("int", int):
                config[name] = int(cell)
            elif types[name] in ("float", float):
                config[name] = float(cell)
            else:
                config[name] = cell
        values = {k: v for k, v in row.items() if not k.startswith("config.")}
        values["config"] = config
        values["seed_spawn_key"] = json.loads(values["seed_spawn_key"])
        records.append(TrialRecord.from_dict(values))
    return records


def save_records(records: Sequence[TrialRecord], path: str | os.PathLike) -> Path:
    """Write records to ``path`` atomically: JSON (with the summary) or CSV, by suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        write_text(path, records_to_json(records) + "\n")
    elif suffix == ".csv":
        write_text(path, records_to_csv(records))
    else:
        raise fail("path", "a file name ending in .json or .csv", str(path))
    return path


def load_records(path: str | os.PathLike) -> list[TrialRecord]:
    """Read records written by :func:`save_records`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise fail("path", "a file name ending in .json or .csv", str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail(
            "path", f"a {suffix[1:].upper()} file of records (UTF-8 text)", str(path)
        ) from None
    if suffix == ".json":
        return records_from_json(text)
    if suffix == ".csv":
        return records_from_csv(text)
    raise fail("path", "a file name ending in .json or .csv", str(path))
