"""MNIST-style IDX files: ``*-images-idx3-ubyte[.gz]`` with ``*-labels-idx1-ubyte[.gz]``.

The IDX format (LeCun et al., the MNIST page): a 4-byte magic number ``0x00 0x00 type
ndim`` (type ``0x08``: unsigned bytes), then ``ndim`` big-endian 32-bit sizes, then the
values in C order. Images ``(N, rows, cols)`` become ``X (N, rows * cols)`` float64 in
``[0, 1]`` (value / 255); labels ``(N,)`` become class indices. Gzip is recognised by its
own magic bytes, whatever the name.
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import numpy as np

from nnscratch.data.table import Table, label_table, where

_NAME = re.compile(r"^(?P<stem>.*)images(?P<sep>[.-])idx3(?P<tail>-ubyte(\.gz)?)$")
_UBYTE = 0x08


def is_idx_name(path: Path) -> bool:
    """``*images-idx3-ubyte`` (or ``.idx3-ubyte``), optionally ``.gz``, or the labels file."""
    return bool(_NAME.match(path.name) or re.search(r"labels[.-]idx1-ubyte(\.gz)?$", path.name))


def _content(path: Path) -> bytes:
    """The file's bytes, gunzipped when they start with gzip's magic ``1f 8b``."""
    data = path.read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as e:
        raise ValueError(f"{where(path)}: expected a complete gzip file, got {e}") from None


def _array(path: Path, ndim: int, what: str) -> np.ndarray:
    """The values of an IDX file of unsigned bytes with ``ndim`` dimensions, checked."""
    data = _content(path)
    magic = bytes([0, 0, _UBYTE, ndim])
    if len(data) < 4 or data[:4] != magic:
        got = "0x" + data[:4].hex() if data else "an empty file"
        raise ValueError(
            f"{where(path)}, byte 0: expected the IDX magic number 0x{magic.hex()} ({what}: "
            f"unsigned bytes in {ndim} dimension(s)), got {got}"
        )
    head = 4 + 4 * ndim
    if len(data) < head:
        raise ValueError(
            f"{where(path)}, byte 4: expected {ndim} sizes of 4 bytes after the magic number, "
            f"got {len(data) - 4} bytes"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if any(d == 0 for d in dims):
        raise ValueError(f"{where(path)}, byte 4: expected sizes >= 1, got {dims}")
    expected = int(np.prod(dims, dtype=np.int64))
    if len(data) - head != expected:
        size = " x ".join(map(str, dims))
        state = "truncated" if len(data) - head < expected else "with extra bytes"
        raise ValueError(
            f"{where(path)}, byte {head}: expected {expected} bytes of values ({size}) after "
            f"the {head}-byte header, got {len(data) - head} ({state})"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=head).reshape(dims)


def partner(path: Path) -> tuple[Path, Path]:
    """``(images, labels)`` for either file of a pair: the other one is looked for beside it,
    with or without ``.gz``."""
    name = path.name
    if "labels" in name and "idx1" in name:
        candidates = [name.replace("labels", "images").replace("idx1", "idx3")]
    else:
        candidates = [name.replace("images", "labels").replace("idx3", "idx1")]
    stem = candidates[0].removesuffix(".gz")
    found = [path.with_name(n) for n in (stem, stem + ".gz") if path.with_name(n).is_file()]
    if not found or found[0] == path:
        raise ValueError(
            f"{where(path)}: expected its partner file {stem}[.gz] beside it, got no such file"
        )
    images, labels = (found[0], path) if "labels" in name else (path, found[0])
    return images, labels


def read_idx(path: Path, task: str) -> Table:
    """An images/labels pair as a ``Table``: ``X (N, rows * cols)`` in ``[0, 1]``."""
    if task == "regression":
        raise ValueError(f"task: expected 'classification' or 'auto' for IDX labels, got {task!r}")
    images_path, labels_path = partner(path)
    images = _array(images_path, 3, "images")  # (N,rows,cols)
    labels = _array(labels_path, 1, "labels")  # (N,)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{where(labels_path)}, byte 4: expected as many labels as {images_path.name} has "
            f"images ({images.shape[0]}), got {labels.shape[0]}"
        )
    n, rows, cols = images.shape
    X = np.empty((n, rows * cols))  # (N,D): one float64 array, scaled in place
    X[:] = images.reshape(n, rows * cols)
    X /= 255.0
    y, classes = label_table(labels, where(labels_path))
    return Table(
        X=X,
        y=y,
        feature_names=tuple(f"pixel{i}" for i in range(rows * cols)),
        target="label",
        task="classification",
        classes=classes,
        path=str(images_path),
    )
