"""``read(path)``: a data file as a :class:`~nnscratch.data.table.Table`, its format told by
its content and name.

- ``.npz`` (or a file starting with zip's ``PK``): arrays ``X (N, D)`` and ``y (N,)``, and
  optionally ``feature_names (D,)``; nothing else, and never a pickle.
- MNIST-style IDX (``*-images-idx3-ubyte[.gz]``, the labels found beside it, or a file
  starting with an IDX magic number): :mod:`nnscratch.data.idx`.
- Anything else is read as CSV/TSV text with a header row: :mod:`nnscratch.data.csvfile`.

Every error is a ``ValueError`` naming the file, and where it has them the line and the
column (or the array and the row), and what was expected.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import numpy as np

from nnscratch.core.checks import fail
from nnscratch.data.csvfile import read_csv
from nnscratch.data.idx import is_idx_magic, is_idx_name, read_idx
from nnscratch.data.table import Table, check_task, label_table, where

MISSING_POLICIES = ("error", "drop")
_NPZ_ARRAYS = ("X", "y", "feature_names")


def _npz_array(path: Path, npz, key: str) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as e:  # an object array: it would need pickle
        raise ValueError(
            f"{where(path)}, array {key!r}: expected numbers or strings, got an array that "
            f"needs pickle ({e}); pickles are never loaded"
        ) from None


def _npz_rows(path: Path, X: np.ndarray, y: np.ndarray, drop: bool):
    """``X`` as float64 and ``y``, rows with a NaN left out (``drop``) or refused."""
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1 or X.dtype.kind not in "iubf":
        raise ValueError(
            f"{where(path)}, array 'X': expected a 2-D array of numbers (N, D), got shape "
            f"{X.shape} and dtype {X.dtype}"
        )
    if y.shape != (X.shape[0],) or y.dtype.kind not in "iubfUS":
        raise ValueError(
            f"{where(path)}, array 'y': expected {X.shape[0]} numbers or labels (one per row of "
            f"X), got shape {y.shape} and dtype {y.dtype}"
        )
    X = X.astype(np.float64)
    bad = ~np.isfinite(X).all(axis=1)
    if y.dtype.kind == "f":
        bad |= ~np.isfinite(y)
    if drop:
        return X[~bad], y[~bad], int(bad.sum())
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        cols = np.flatnonzero(~np.isfinite(X[i]))
        key, col, got = ("X", int(cols[0]), X[i, cols[0]]) if cols.size else ("y", None, y[i])
        place = f"{where(path)}, array {key!r}, row {i}" + (f", column {col}" if cols.size else "")
        raise ValueError(
            f"{place}: expected a finite number, got {got!r}; pass missing='drop' to leave "
            "such rows out"
        )
    return X, y, 0


def read_npz(path: Path, task: str, missing: str) -> Table:
    """An ``.npz`` file with arrays ``X`` and ``y`` (see :func:`read`)."""
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(
            f"{where(path)}: expected an .npz file of arrays X and y, got {e}"
        ) from None
    with npz:
        keys = sorted(npz.files)
        if not {"X", "y"} <= set(keys) or set(keys) - set(_NPZ_ARRAYS):
            raise ValueError(
                f"{where(path)}: expected the arrays X and y (and optionally feature_names), "
                f"got {', '.join(map(repr, keys)) or 'none'}"
            )
        X, y = _npz_array(path, npz, "X"), _npz_array(path, npz, "y")
        names = _npz_array(path, npz, "feature_names") if "feature_names" in keys else None
    X, y, n_dropped = _npz_rows(path, X, y, missing == "drop")
    if names is None:
        names = tuple(f"x{j + 1}" for j in range(X.shape[1]))
    elif names.shape != (X.shape[1],) or names.dtype.kind != "U":
        raise ValueError(
            f"{where(path)}, array 'feature_names': expected {X.shape[1]} strings, got shape "
            f"{names.shape} and dtype {names.dtype}"
        )
    if task == "auto":
        task = "regression" if y.dtype.kind == "f" else "classification"
    classes = None
    if task == "classification":
        y, classes = label_table(y, f"{where(path)}, array 'y'")
    elif y.dtype.kind not in "iubf":
        raise ValueError(
            f"{where(path)}, array 'y': expected numbers (task='regression'), got {y.dtype}"
        )
    else:
        y = y.astype(np.float64)
    return Table(X, y, tuple(str(n) for n in names), "y", task, classes, str(path), n_dropped)


def _format(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(4)
    if path.suffix.lower() == ".npz" or head.startswith(b"PK\x03\x04"):
        return "npz"
    if is_idx_name(path) or is_idx_magic(head):
        return "idx"
    return "csv"


def _what_is(path: Path) -> str | None:
    """What is at ``path`` when it is not a regular file ("a directory", ...), else None."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):  # ValueError: a NUL byte in the name
        return "no such file"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    kinds = {stat.S_ISCHR: "a character device", stat.S_ISBLK: "a block device",
             stat.S_ISFIFO: "a pipe", stat.S_ISSOCK: "a socket"}  # fmt: skip
    kind = next((name for test, name in kinds.items() if test(mode)), "something")
    return f"{kind}, not a regular file"


def _checked_path(path) -> Path:
    """``path`` (a ``str``, ``bytes`` or ``os.PathLike``) as a ``Path`` to a regular file."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise fail("path", "a file path (str or os.PathLike)", path)
    try:
        path = Path(os.fsdecode(path))
    except TypeError:  # an os.PathLike whose __fspath__ gives neither str nor bytes
        raise fail("path", "a file path (str or os.PathLike)", path) from None
    got = _what_is(path)
    if got is not None:
        raise ValueError(f"{where(path)}: expected an existing data file, got {got}")
    return path


def column_names(path) -> list[str] | None:
    """A CSV/TSV file's column names, from its header row alone (None for ``.npz`` and IDX
    files, whose columns have no names of their own)."""
    from nnscratch.data.csvfile import _delimiter, _header, _Rows, _sample

    path = Path(os.fspath(path))
    if _format(path) != "csv":
        return None
    return _header(path, _Rows(path, _delimiter(path, _sample(path), None)), None)[0]


def read(
    path,
    target: str | None = None,
    task: str = "auto",
    delimiter: str | None = None,
    missing: str = "error",
) -> Table:
    """Read a data file (CSV/TSV with a header, ``.npz``, or MNIST-style IDX) as a ``Table``.

    ``target``: the target column's name (CSV; default the last column). ``task``:
    ``"classification"``, ``"regression"`` or ``"auto"`` (CSV: labels that are not numbers
    or are whole numbers written without ``.``/``e`` are classes, any other numbers a
    regression target; ``.npz``: float ``y`` is regression; IDX: classes). ``delimiter``:
    one character (CSV; default sniffed, ``,`` when there is one column). ``missing``:
    ``"error"`` refuses an empty or NaN cell, ``"drop"`` leaves its row out.
    """
    check_task(task)
    if missing not in MISSING_POLICIES:
        raise fail("missing", f"one of {', '.join(MISSING_POLICIES)}", missing)
    path = _checked_path(path)
    kind = _format(path)
    if kind != "csv":
        own = "y" if kind == "npz" else "label"
        if target not in (None, own):
            raise fail("target", f"None or {own!r} for a .{kind} file", target)
        if delimiter is not None:
            raise fail("delimiter", f"None for a .{kind} file (it is not text)", delimiter)
        return read_npz(path, task, missing) if kind == "npz" else read_idx(path, task)
    return read_csv(path, target, task, delimiter, missing)
