"""A resumable run's records file: JSON Lines, a header line, then one record a line.

``sweep(..., journal="runs.jsonl")`` (and ``repeat``, and the CLI's ``--out runs.jsonl``)
appends each finished chunk's records as soon as it finishes, one line per record, flushed
and synced, after a first line that names the run: its configurations, trials, root seed and
the nnscratch version. Running the same sweep again with the same file skips the
``(configuration, trial)`` pairs already there and trains the rest; a file of another run
(other grid, trials or seed) is refused before anything is trained. A line torn by a kill
in the middle of a write is the last one; it is dropped, and the run goes on from the last
whole record. Trials cut short by Ctrl-C are not written: a resumed run trains them again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nnscratch.experiments.records import TrialRecord, json_safe

#: The first line's key and version: a journal this module did not write has neither.
KIND, VERSION = "nnscratch_journal", 1


class Journal:
    """The records file of one run, opened to append; ``done`` holds what it had."""

    def __init__(self, path, header: dict[str, Any], done: dict[tuple[int, int], TrialRecord]):
        self.path = Path(path)
        self.header = header
        self.done = done

    @classmethod
    def open(cls, path, configs: Sequence, trials: int, seed_entropy: int) -> Journal:
        """Open ``path`` for this run: create it with its header line, or check that it is
        this run's and read its whole records. Every refusal is a ``ValueError`` naming the
        file, raised before anything is written."""
        import nnscratch

        path = Path(path)
        header = {
            KIND: VERSION,
            "nnscratch_version": nnscratch.__version__,
            "configs": [c.to_dict() for c in configs],
            "trials": trials,
            "seed_entropy": int(seed_entropy),
        }
        if _fresh(path):
            _write_lines(path, [header], mode="w")
            return cls(path, header, {})
        theirs, records, whole = _read(path)
        for key in ("configs", "trials", "seed_entropy"):
            if theirs.get(key) != header[key]:
                raise ValueError(
                    f"{path}: expected the records file of this run, got one of another "
                    f"({_difference(key, theirs.get(key), header[key])}); pass another file "
                    "to start afresh"
                )
        for line, record in enumerate(records, start=2):
            _check_record(path, line, record, configs, trials)
        if whole < path.stat().st_size:  # a torn last line: drop it, keep every whole one
            with open(path, "r+b") as fh:
                fh.truncate(whole)
        done = {(r.config_index, r.trial): r for r in records}
        return cls(path, header, done)

    def append(self, records: Sequence[TrialRecord]) -> None:
        """Write the finished ``records`` (not those cut short), flushed and synced."""
        kept = [r.to_dict() for r in records if not r.interrupted]
        if kept:
            _write_lines(self.path, kept, mode="a")


def seed_of(path) -> int | None:
    """The root seed a journal was started with (to resume a run seeded afresh), or None."""
    path = Path(path)
    return None if _fresh(path) else _read(path)[0].get("seed_entropy")


def _fresh(path: Path) -> bool:
    """No journal yet: no file, an empty one, or a header line torn while it was written
    (no other file: a file that is not a journal is never overwritten)."""
    if not path.is_file():
        return not path.exists()
    with open(path, "rb") as fh:
        start = fh.read(4096)
    return b"\n" not in start and f'{{"{KIND}"'.encode().startswith(start[: len(KIND) + 3])


def _write_lines(path: Path, rows: Sequence[dict], mode: str) -> None:
    text = "".join(json.dumps(json_safe(row), allow_nan=False) + "\n" for row in rows)
    with open(path, mode, encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _read(path: Path) -> tuple[dict, list[TrialRecord], int]:
    """The header, the whole records, and the byte length of the whole lines."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{path}: expected a readable records file, got {err.strerror}") from None
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last newline: b"" when the file ends whole
    whole = len(data) - len(tail)
    try:
        header = json.loads(lines[0]) if lines else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict) or header.get(KIND) != VERSION:
        raise ValueError(
            f"{path}: expected a records file (JSON Lines) written by nnscratch, got a file "
            f"whose first line is not its header"
        )
    records = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            records.append(TrialRecord.from_dict(json.loads(line)))
        except (UnicodeDecodeError, json.JSONDecodeError, TypeError, ValueError) as err:
            raise ValueError(f"{path}, line {number}: expected a trial record, got {err}") from None
    return header, records, whole


def _check_record(path: Path, line: int, r: TrialRecord, configs: Sequence, trials: int) -> None:
    """A record read back must be one this run could have written."""
    where = f"{path}, line {line}"
    if not (0 <= r.config_index < len(configs) and 0 <= r.trial < trials):
        raise ValueError(
            f"{where}: expected configuration 0..{len(configs) - 1} and trial 0..{trials - 1}, "
            f"got configuration {r.config_index}, trial {r.trial}"
        )
    if r.config != configs[r.config_index]:
        raise ValueError(
            f"{where}: expected the configuration of index {r.config_index} in the header, got "
            "another"
        )
    for name in ("train_accuracy", "test_accuracy"):
        value = getattr(r, name)
        if not (value != value or 0.0 <= value <= 1.0):  # NaN: a diverged trial
            raise ValueError(f"{where}: expected {name} in [0, 1], got {value!r}")


def _difference(key: str, theirs, ours) -> str:
    """Where two headers' ``key`` differ: the first configuration and field, or the values."""
    if key != "configs" or not (isinstance(theirs, list) and len(theirs) == len(ours)):
        if key == "configs" and isinstance(theirs, list):
            return f"{len(theirs)} configurations there, {len(ours)} here"
        return f"{key} differs: {_short(theirs)} there, {_short(ours)} here"
    for i, (a, b) in enumerate(zip(theirs, ours, strict=True)):
        if a != b:
            fields = sorted(set(a) | set(b)) if isinstance(a, dict) else []
            field = next((f for f in fields if a.get(f) != b.get(f)), None)
            if field is None:
                return f"configuration {i} differs"
            there, here = _short(a.get(field)), _short(b.get(field))
            return f"configuration {i}: {field} {there} there, {here} here"
    return "configs differs"


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
