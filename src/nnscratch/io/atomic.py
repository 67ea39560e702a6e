"""Atomic file writes: a temporary file in the target's directory, then ``os.replace``.

A reader never sees a half-written file: either the old content (or no file) or the new
one. The temporary file lives in the same directory so that ``os.replace`` is a rename on
one file system, which POSIX and Windows both perform atomically. The file written keeps the
permission bits of the file it replaces (a new file gets ``0666`` less the umask).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from nnscratch.core.checks import fail

#: The temporary name is ``.`` + 8 random characters + ``.tmp`` + the target's suffix, not
#: the target's whole name: a name that fits the file system then always has a temporary
#: name that fits too (a name of 250 bytes plus 14 would not). The suffix stays, because
#: some writers choose the format by it (matplotlib's ``savefig``, its GIF writer), unless
#: it is longer than this; then the temporary name has none.
_MAX_TEMP_SUFFIX = 32
_NAME_MAX = 255  # bytes in one file name, where the file system does not say
_PATH_MAX = 4096  # bytes in a path, with its final NUL, where the file system does not say


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _mode(path: Path) -> int:
    """The permission bits for the new file: those of the file it replaces (a private
    ``0600`` file stays private), or for a new file ``0666`` less the umask, as ``open``."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode) & 0o777
    except OSError:  # no such file (or none that can be read): a new file
        return 0o666 & ~_umask()


def _temp_suffix(path: Path) -> str:
    suffix = path.suffix
    return ".tmp" + (suffix if len(os.fsencode(suffix)) <= _MAX_TEMP_SUFFIX else "")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary sibling of ``path`` (same suffix) to write to; renamed onto ``path`` after.

    For writers that want a file name (matplotlib's ``savefig``, its GIF writer). If the
    body raises, the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=_temp_suffix(path), dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _mode(path))  # mkstemp makes 0600: give the replaced file's mode
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

    Checks that ``path`` is a path (a string or ``os.PathLike``, without NUL characters)
    whose file name fits the file system, that the parent directory exists and is writable
    and that ``path`` is not a directory, so that long computations do not run only to fail
    when saving. The temporary file needs no more room (see ``_MAX_TEMP_SUFFIX``).
    """
    if not isinstance(path, (str, os.PathLike)) or isinstance(os.fspath(path), bytes):
        raise fail(name, "a file path (a string or os.PathLike)", path)
    if "\0" in os.fspath(path):
        raise fail(name, "a file path without NUL characters", os.fspath(path))
    path = Path(path)
    parent = path.parent
    _check_lengths(path, name)  # first: asking about a name too long raises OSError
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


def _limit(path: Path, key: str, default: int) -> int:
    try:
        return os.pathconf(path, key)
    except (OSError, ValueError, AttributeError):  # not reported (or Windows): the usual one
        return default


def _check_lengths(path: Path, name: str) -> None:
    """A name longer than the file system allows fails only when written (and asking about
    it raises ``OSError``): refuse it, and a path whose temporary sibling would be too long."""
    name_max = _limit(path.parent, "PC_NAME_MAX", _NAME_MAX)
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > name_max:
            raise ValueError(
                f"{name}: expected file and folder names of at most {name_max} bytes, got "
                f"{str(path)!r} (a name of {size} bytes)"
            )
    path_max = _limit(path.parent, "PC_PATH_MAX", _PATH_MAX)  # counting the final NUL
    temp = os.path.join(path.parent, "." + "x" * 8 + _temp_suffix(path))  # as mkstemp names it
    size = max(len(os.fsencode(str(path))), len(os.fsencode(temp)))
    if size >= path_max:
        raise ValueError(
            f"{name}: expected a path shorter than {path_max} bytes (with its temporary "
            f"sibling), got one of {len(os.fsencode(str(path)))} bytes"
        )
