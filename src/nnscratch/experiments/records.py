"""Trial records: one per trained network, saved to and loaded from JSON or CSV exactly.

A record holds the configuration, where the trial sits in the run (configuration index,
trial index), the seed that re-creates it (root entropy and spawn key of its
``SeedSequence``), its final metrics, and whether it diverged. Floats are written with
Python's shortest round-trip representation, so saving and loading gives back the very
same numbers. In JSON, NaN is ``null`` and infinities are the strings ``"Infinity"`` and
``"-Infinity"`` (standard JSON has no non-finite numbers).
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
from nnscratch.experiments.stats import describe
from nnscratch.io.atomic import write_text

#: Metrics a record carries, in column order.
METRICS = ("train_accuracy", "test_accuracy", "train_loss", "test_loss")


@dataclass(frozen=True)
class TrialRecord:
    """One trained network.

    ``train_loss``/``test_loss`` are the mean per-example loss after training (whatever the
    training reduction), the accuracies likewise final. ``seconds`` is the wall time of the
    population the trial trained in, divided evenly among its members. ``diverged`` is True
    when a training loss became NaN or infinite; such trials are counted, never averaged.
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
        missing = set(_RECORD_FIELDS) - set(values)
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
            diverged=_bool(values["diverged"]),
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
)


def _float(value) -> float:
    """A float from a JSON/CSV cell: numbers, ``None``/``""`` (NaN), or ``"Infinity"``-like text."""
    if value is None or value == "":
        return math.nan
    return float(value)


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("True", "true", "1", 1):
        return True
    if value in ("False", "false", "0", 0):
        return False
    raise fail("diverged", "True or False", value)


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

    Diverged trials are reported in ``diverged`` and left out of every statistic. ``n`` is
    the number of trials summarised, ``std`` the sample standard deviation (``ddof=1``) and
    ``ci_low``/``ci_high`` the Student-t ``confidence`` interval of the mean.
    """
    if metric not in METRICS:
        raise fail("metric", "one of: " + ", ".join(METRICS), metric)
    by_config: dict[int, list[TrialRecord]] = {}
    for record in records:
        by_config.setdefault(record.config_index, []).append(record)
    rows = []
    for index in sorted(by_config):
        group = by_config[index]
        values = [getattr(r, metric) for r in group if not r.diverged]
        row = {
            "config_index": index,
            "config": group[0].config.to_dict(),
            "metric": metric,
            "trials": len(group),
            "diverged": sum(r.diverged for r in group),
            "confidence": confidence,
        }
        row.update(describe(values, confidence))
        rows.append(row)
    return rows


def format_summary(summary: Sequence[dict[str, Any]], vary: Sequence[str] | None = None) -> str:
    """A plain-text table of a summary: the varying config fields, then the statistics."""
    if not summary:
        return "(no trials)"
    if vary is None:  # show the fields that differ between rows, or hidden if none do
        configs = [row["config"] for row in summary]
        vary = [k for k in configs[0] if any(c[k] != configs[0][k] for c in configs)]
        vary = vary or ["hidden"]
    level = int(round(100 * summary[0]["confidence"]))
    head = [*vary, "n", "diverged", "mean", "std", f"{level}% CI", "min", "max"]
    rows = []
    for row in summary:
        cells = [_cell(row["config"][k]) for k in vary]
        cells += [
            str(row["n"]),
            str(row["diverged"]),
            f"{row['mean']:.5g}",
            f"{row['std']:.5g}",
            f"[{row['ci_low']:.5g}, {row['ci_high']:.5g}]",
            f"{row['min']:.5g}",
            f"{row['max']:.5g}",
        ]
        rows.append(cells)
    widths = [max(len(head[j]), *(len(r[j]) for r in rows)) for j in range(len(head))]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    metric = summary[0]["metric"]
    return f"{metric} (std: ddof=1; CI: Student t)\n" + "\n".join(lines)


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
    if reader.fieldnames is None or set(reader.fieldnames) != set(_csv_columns()):
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
    text = path.read_text(encoding="utf-8")
    if suffix == ".json":
        return records_from_json(text)
    if suffix == ".csv":
        return records_from_csv(text)
    raise fail("path", "a file name ending in .json or .csv", str(path))
