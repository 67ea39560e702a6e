"""Reading a CSV or TSV file with a header row into a :class:`~nnscratch.data.table.Table`.

Two passes over the file, so that memory holds the final arrays plus one chunk of rows:

1. the survey: every row's number of fields, the rows kept (``missing="drop"``), and the
   target column's values, which decide the task and the label mapping;
2. the fill: ``X (N, D)`` and ``y (N,)`` allocated once at their final size, then filled
   ``CHUNK_ROWS`` rows at a time.

The delimiter is sniffed (``csv.Sniffer``) from the first ``SNIFF_BYTES`` unless given.
Every error is a ``ValueError`` that starts with the file, the line and the column.
"""

from __future__ import annotations

import csv
import itertools
import operator
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnscratch.data.table import MAX_CLASSES, Table, label_table, where

CHUNK_ROWS = 8192
SNIFF_BYTES = 64 * 1024
#: Cells read as a missing value (compared stripped and lower-cased).
MISSING = frozenset({"", "nan", "na", "n/a", "null", "none", "?"})
_DELIMITERS = ",\t;|"


def _is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING


def _describe_missing(cell: str) -> str:
    return "an empty cell" if not cell.strip() else f"the missing value {cell!r}"


def _sample(path: Path) -> str:
    """The first bytes as text; refuses an empty or binary file, or one that is not UTF-8."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head.strip():
        raise ValueError(f"{where(path)}: expected a header row and data rows, got an empty file")
    nul = head.find(b"\x00")
    if nul >= 0:
        raise ValueError(
            f"{where(path)}: expected a text file (CSV), got binary bytes (a NUL byte at "
            f"offset {nul})"
        )
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 3:  # not a character cut by the sample's end
            line = head[: e.start].count(b"\n") + 1
            raise ValueError(
                f"{where(path, line)}: expected UTF-8 text (CSV), got the byte "
                f"0x{head[e.start]:02x} at offset {e.start}"
            ) from None
        return head[: e.start].decode("utf-8-sig")


def _delimiter(path: Path, sample: str, delimiter: str | None) -> str:
    if delimiter is not None:
        if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"':
            raise ValueError(f"delimiter: expected one character, got {delimiter!r}")
        return delimiter
    lines = sample.splitlines()[:-1] or sample.splitlines()  # whole lines only
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:  # one column, or nothing regular enough to tell
        return "\t" if path.suffix.lower() == ".tsv" else ","


def _not_utf8(path: Path) -> str:
    """Where the first byte that is not UTF-8 is: decoded line by line (a UTF-8 character
    never contains the byte of ``\\n``, so no line boundary cuts one)."""
    with open(path, "rb") as f:
        for line, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as e:
                return (
                    f"{where(path, line)}: expected UTF-8 text (CSV), got the byte "
                    f"0x{raw[e.start]:02x}"
                )
    return f"{where(path)}: expected UTF-8 text (CSV)"  # not reached: the decoder failed


def _rows(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` per non-blank record; decoding and CSV errors name their line."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            for row in reader:
                if row and (len(row) > 1 or row[0].strip()):  # a blank line is no record
                    yield reader.line_num, row
        except UnicodeDecodeError:
            raise ValueError(_not_utf8(path)) from None
        except csv.Error as e:
            raise ValueError(f"{where(path, reader.line_num)}: expected CSV, got {e}") from None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _header(path: Path, rows, target: str | None) -> tuple[list[str], int]:
    """The column names and the target's index."""
    try:
        line, names = next(rows)
    except StopIteration:
        raise ValueError(f"{where(path)}: expected a header row, got only blank lines") from None
    names = [name.strip() for name in names]
    if all(map(_is_number, names)):
        raise ValueError(
            f"{where(path, line)}: expected a header row of column names, got numbers "
            f"({', '.join(names[:4])}); add a header row"
        )
    for j, name in enumerate(names):
        if not name:
            raise ValueError(f"{where(path, line, j + 1)}: expected a column name, got none")
        if name in names[:j]:
            raise ValueError(
                f"{where(path, line, j + 1)}: expected distinct column names, got {name!r} twice"
            )
    if len(names) < 2:
        raise ValueError(
            f"{where(path, line)}: expected at least 2 columns (features and a target), got "
            f"{len(names)}: {names[0]!r} (delimiter {rows.delimiter!r})"
        )
    if target is None:
        return names, len(names) - 1
    if target not in names:
        raise ValueError(
            f"{where(path, line)}: expected a target column named {target!r}, got the columns "
            f"{', '.join(map(repr, names))}"
        )
    return names, names.index(target)


@dataclass
class _Survey:
    """What the first pass learns."""

    n_rows: int = 0
    n_dropped: int = 0
    labels: set = field(default_factory=set)  # distinct target cells, up to MAX_CLASSES + 1
    non_number: tuple | None = None  # (line, cell): the first target that is not a number
    non_integer: tuple | None = None  # (line, cell): the first number written with . or e


class _Rows:
    """The records of a file (one pass; make another for the second), and their delimiter."""

    def __init__(self, path: Path, delimiter: str) -> None:
        self.path, self.delimiter = path, delimiter
        self._it = _rows(path, delimiter)

    def __iter__(self):
        return self._it

    def __next__(self):
        return next(self._it)


def _survey(path: Path, rows, names: list[str], t: int, drop: bool) -> _Survey:
    s = _Survey()
    for line, row in rows:
        if len(row) != len(names):
            raise ValueError(
                f"{where(path, line)}: expected {len(names)} fields, as in the header, got "
                f"{len(row)}"
            )
        if drop and any(map(_is_missing, row)):
            s.n_dropped += 1
            continue
        cell = row[t].strip()
        if not drop and _is_missing(cell):
            raise ValueError(
                f"{where(path, line, t + 1, names[t])}: expected a target value, got "
                f"{_describe_missing(row[t])}; pass missing='drop' to leave such rows out"
            )
        s.n_rows += 1
        if cell in s.labels:  # seen: its kind is known already
            continue
        if len(s.labels) <= MAX_CLASSES:
            s.labels.add(cell)
        if s.non_number is None and not _is_number(cell):
            s.non_number = (line, cell)
        elif s.non_integer is None and s.non_number is None and not _is_int(cell):
            s.non_integer = (line, cell)
    return s


def _is_int(cell: str) -> bool:
    try:
        int(cell)
    except ValueError:
        return False
    return True


def _mapping(path, s: _Survey, name: str, t: int, task: str) -> tuple[str, dict | None, tuple]:
    """The task, and for classification each target cell's class index and the labels."""
    if task == "auto":
        task = "regression" if s.non_number is None and s.non_integer else "classification"
    if task == "regression":
        if s.non_number is not None:
            line, cell = s.non_number
            raise ValueError(
                f"{where(path, line, t + 1, name)}: expected a number (task='regression'), "
                f"got {cell!r}"
            )
        return task, None, ()
    place = where(path, None, t + 1, name)
    if s.non_number is None:  # numeric labels: classes by value, so '1' and '1.0' are one
        values = np.array([float(cell) for cell in s.labels])
        _, classes = label_table(values, place)
        index = {c: k for k, c in enumerate(classes)}
        return task, {cell: index[int(float(cell))] for cell in s.labels}, classes
    _, classes = label_table(np.array(sorted(s.labels)), place)
    return task, {c: k for k, c in enumerate(classes)}, classes


def _bad_cell(path, chunk, columns: list[int], names: list[str]) -> str:
    """The message for the first cell (of ``columns``, row by row) that is not a finite
    number; the caller knows the chunk has one."""
    for line, row in chunk:
        for j in columns:
            cell = row[j]
            place = where(path, line, j + 1, names[j])
            if _is_missing(cell):
                return (
                    f"{place}: expected a number, got {_describe_missing(cell)}; pass "
                    "missing='drop' to leave such rows out"
                )
            if not _is_number(cell):
                return f"{place}: expected a number, got {cell!r}"
            if not np.isfinite(float(cell)):
                return f"{place}: expected a finite number, got {cell!r}"
    return f"{where(path)}: expected numbers"  # not reached


def _fill_chunk(path, chunk, names, features, t, mapping, X, y, start) -> None:
    """Rows ``start .. start + len(chunk)`` of ``X`` and ``y`` from one chunk of records."""
    n = len(chunk)
    rows = [row for _, row in chunk]
    if len(features) > 1:
        cells = itertools.chain.from_iterable(map(operator.itemgetter(*features), rows))
    else:
        cells = map(operator.itemgetter(features[0]), rows)
    try:
        block = np.fromiter(map(float, cells), np.float64, count=n * len(features))
    except ValueError:  # a cell that is not a number: found and named below
        raise ValueError(_bad_cell(path, chunk, features, names)) from None
    if not np.isfinite(block).all():
        raise ValueError(_bad_cell(path, chunk, features, names))
    X[start : start + n] = block.reshape(n, len(features))  # (n,D)
    if mapping is not None:
        y[start : start + n] = [mapping[row[t].strip()] for _, row in chunk]
        return
    target = np.array([float(row[t]) for _, row in chunk])  # (n,)
    if not np.isfinite(target).all():
        raise ValueError(_bad_cell(path, chunk, [t], names))
    y[start : start + n] = target


def read_csv(
    path: Path, target: str | None, task: str, delimiter: str | None, missing: str
) -> Table:
    """A CSV/TSV file with a header row as a ``Table`` (see :func:`nnscratch.data.read`)."""
    delimiter = _delimiter(path, _sample(path), delimiter)
    rows = _Rows(path, delimiter)
    names, t = _header(path, rows, target)
    drop = missing == "drop"
    s = _survey(path, rows, names, t, drop)
    if s.n_rows == 0:
        dropped = f" ({s.n_dropped} left out for missing values)" if s.n_dropped else ""
        raise ValueError(f"{where(path)}: expected data rows after the header, got none{dropped}")
    task, mapping, classes = _mapping(path, s, names[t], t, task)
    features = [j for j in range(len(names)) if j != t]
    X = np.empty((s.n_rows, len(features)))  # (N,D), the final array
    y = np.empty(s.n_rows, dtype=np.intp if mapping is not None else np.float64)
    rows = _Rows(path, delimiter)
    next(rows)  # the header
    start, chunk = 0, []
    for line, row in rows:
        if drop and any(map(_is_missing, row)):
            continue
        chunk.append((line, row))
        if len(chunk) == CHUNK_ROWS or start + len(chunk) == s.n_rows:
            _fill_chunk(path, chunk, names, features, t, mapping, X, y, start)
            start, chunk = start + len(chunk), []
        if start == s.n_rows:
            break
    if start != s.n_rows:
        raise ValueError(f"{where(path)}: expected {s.n_rows} rows, as first read; it changed")
    return Table(
        X=X,
        y=y,
        feature_names=tuple(names[j] for j in features),
        target=names[t],
        task=task,
        classes=classes if mapping is not None else None,
        path=str(path),
        n_dropped=s.n_dropped,
    )
