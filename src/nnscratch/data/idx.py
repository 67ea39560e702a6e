"""MNIST-style IDX files: ``*-images-idx3-ubyte[.gz]`` with ``*-labels-idx1-ubyte[.gz]``.

The IDX format (LeCun et al., the MNIST page): a 4-byte magic number ``0x00 0x00 type
ndim`` (type ``0x08``: unsigned bytes), then ``ndim`` big-endian 32-bit sizes, then the
values in C order. Images ``(N, rows, cols)`` become ``X (N, rows * cols)`` float64 in
``[0, 1]`` (value / 255); labels ``(N,)`` become class indices. Gzip is recognised by its
own magic bytes, whatever the name.

Both headers are read and checked first (sizes, counts, and the memory the arrays will
take, estimated from the declared sizes); only then are the values read, and never more
bytes than the header declares (a gzip file is inflated no further than that, plus one
byte to tell that more follows).
"""

from __future__ import annotations

import gzip
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnscratch.data.memory import check_fits_memory
from nnscratch.data.table import Table, label_table, where

_NAME = re.compile(r"^(?P<stem>.*)images(?P<sep>[.-])idx3(?P<tail>-ubyte(\.gz)?)$")
_LABELS = re.compile(r"labels[.-]idx1-ubyte(\.gz)?$")
_SUFFIX = re.compile(r"[.-]idx[13]-ubyte(\.gz)?$")
_UBYTE = 0x08
#: IDX type codes (ubyte, byte, short, int, float, double): a file starting with
#: ``00 00 <one of these> <ndim>`` is an IDX file, whatever its name.
_TYPES = (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)
_PAIR = "an IDX images/labels pair (NAME-images-idx3-ubyte[.gz] beside NAME-labels-idx1-ubyte[.gz])"
_GZIP_ERRORS = (EOFError, OSError, zlib.error)


def is_idx_name(path: Path) -> bool:
    """``*images-idx3-ubyte`` (or ``.idx3-ubyte``), optionally ``.gz``, the labels file, or
    any name ending in ``idx1-ubyte``/``idx3-ubyte``."""
    name = path.name
    return bool(_NAME.match(name) or _LABELS.search(name) or _SUFFIX.search(name))


def is_idx_magic(head: bytes) -> bool:
    """The first 4 bytes are an IDX magic number (any IDX type, 1 or more dimensions)."""
    return len(head) == 4 and head[:2] == b"\x00\x00" and head[2] in _TYPES and head[3] >= 1


@dataclass(frozen=True)
class _Header:
    """An IDX file's checked header: its ``dims`` and the byte its values start at."""

    path: Path
    dims: tuple[int, ...]
    head: int
    gzipped: bool

    @property
    def size(self) -> int:
        return math.prod(self.dims)  # Python ints: 3 sizes of 2**32 - 1 do not wrap


def _open(path: Path):
    """The file opened for reading bytes, through gzip when it starts with ``1f 8b``."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return (gzip.open(path, "rb") if gzipped else open(path, "rb")), gzipped


def _gzip_error(path: Path, error: Exception) -> ValueError:
    return ValueError(f"{where(path)}: expected a complete gzip file, got {error}")


def _header(path: Path, ndim: int, what: str) -> _Header:
    """The magic number and sizes of an IDX file of unsigned bytes in ``ndim`` dimensions,
    checked, and (uncompressed) its length against them; no value is read."""
    f, gzipped = _open(path)
    with f:
        try:
            data = f.read(4 + 4 * ndim)
        except _GZIP_ERRORS as e:
            raise _gzip_error(path, e) from None
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
    header = _Header(path, dims, head, gzipped)
    if not gzipped:  # its length tells, before anything is read
        _check_length(header, path.stat().st_size - head, exact=True)
    return header


def _check_length(header: _Header, got: int, exact: bool) -> None:
    """Refuse values fewer or more than the header declares (``exact``: ``got`` is their
    number; else ``got`` more than declared only says that more follow)."""
    if got == header.size:
        return
    size = " x ".join(map(str, header.dims))
    state = "truncated" if got < header.size else "with extra bytes"
    count = str(got) if exact or got < header.size else f"more than {header.size}"
    raise ValueError(
        f"{where(header.path)}, byte {header.head}: expected {header.size} bytes of values "
        f"({size}) after the {header.head}-byte header, got {count} ({state})"
    )


def _values(header: _Header) -> np.ndarray:
    """The values the header declares, ``dims``-shaped; gzip is inflated no further than
    them and one byte more (which, there, means extra bytes)."""
    out = np.empty(header.size, dtype=np.uint8)
    view = memoryview(out)
    f, _ = _open(header.path)
    with f:
        try:
            f.read(header.head)
            filled = 0
            while filled < header.size:
                n = f.readinto(view[filled:])
                if not n:
                    break
                filled += n
            more = len(f.read(1))
        except _GZIP_ERRORS as e:
            raise _gzip_error(header.path, e) from None
    _check_length(header, filled + more, exact=not header.gzipped)
    return out.reshape(header.dims)


def partner(path: Path) -> tuple[Path, Path]:
    """``(images, labels)`` for either file of a pair: the other one is looked for beside it,
    with or without ``.gz``."""
    name = path.name
    is_labels = bool(_LABELS.search(name))
    if not (is_labels or _NAME.match(name)):
        raise ValueError(f"{where(path)}: expected {_PAIR}, got a file named {name!r}")
    if is_labels:
        candidates = [name.replace("labels", "images").replace("idx1", "idx3")]
    else:
        candidates = [name.replace("images", "labels").replace("idx3", "idx1")]
    stem = candidates[0].removesuffix(".gz")
    found = [path.with_name(n) for n in (stem, stem + ".gz") if path.with_name(n).is_file()]
    if not found or found[0] == path:
        raise ValueError(
            f"{where(path)}: expected its partner file {stem}[.gz] beside it, got no such file"
        )
    images, labels = (found[0], path) if is_labels else (path, found[0])
    return images, labels


def read_idx(path: Path, task: str) -> Table:
    """An images/labels pair as a ``Table``: ``X (N, rows * cols)`` in ``[0, 1]``."""
    if task == "regression":
        raise ValueError(f"task: expected 'classification' or 'auto' for IDX labels, got {task!r}")
    images_path, labels_path = partner(path)
    images_head = _header(images_path, 3, "images")
    labels_head = _header(labels_path, 1, "labels")
    n, rows, cols = images_head.dims
    if labels_head.dims[0] != n:
        raise ValueError(
            f"{where(labels_path)}, byte 4: expected as many labels as {images_path.name} has "
            f"images ({n}), got {labels_head.dims[0]}"
        )
    # the bytes read, X in float64, and the labels with their indices
    need = 9 * images_head.size + 17 * n
    what = f"{n} images of {rows} x {cols} read as float64"
    check_fits_memory(str(images_path), need, what)
    images = _values(images_head)  # (N,rows,cols)
    labels = _values(labels_head)  # (N,)
    X = np.empty((n, rows * cols))  # (N,D): one float64 array, scaled in place
    X[:] = images.reshape(n, rows * cols)
    del images
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
