"""Atomic file writes: a temporary file in the target's directory, then ``os.replace``.

A reader never sees a half-written file: either the old content (or no file) or the new
one. The temporary file lives in the same directory so that ``os.replace`` is a rename on
one file system, which POSIX and Windows both perform atomically.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary sibling of ``path`` (same suffix) to write to; renamed onto ``path`` after.

    For writers that want a file name (matplotlib's ``savefig``, its GIF writer). If the
    body raises, the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent or "."
    )
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; on success rename it onto ``path``.

    ``mode`` is ``"w"`` (text, UTF-8 unless ``encoding`` is given) or ``"wb"``. If the body
    raises, the temporary file is removed and ``path`` is left untouched.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode: expected 'w' or 'wb', got {mode!r}")
    if mode == "w":
        kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:  # closed before the rename
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w", newline="") as fh:
        fh.write(text)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def check_writable(path: str | os.PathLike, name: str = "path") -> Path:
    """Fail early (``ValueError``) unless a file could be created or replaced at ``path``.

    Checks that the parent directory exists and is writable and that ``path`` is not a
    directory, so that long computations do not run only to fail when saving.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ValueError(f"{name}: expected a file path, got the directory {str(path)!r}")
    if not parent.is_dir():
        raise ValueError(
            f"{name}: expected a path in an existing directory, got {str(path)!r} "
            f"({str(parent)!r} does not exist)"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(
            f"{name}: expected a path in a writable directory, got {str(path)!r} "
            f"({str(parent)!r} is not writable)"
        )
    return path
