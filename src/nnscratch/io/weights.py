"""Weight files: every parameter and buffer of a network, as the ``(P, ...)`` arrays it trains.

A weight file is a model file (:mod:`nnscratch.io.model`): the arrays and a JSON header
saying what network they belong to, so :func:`load_weights` into a network that differs in
anything but the values names the difference. Files of bare arrays still load.

A weight file is a zip archive of ``.npy`` members (``np.savez``), and a file may come from
anywhere, so :func:`load_weights` trusts nothing in it: the sizes the zip directory and each
``.npy`` header declare are checked against what the network holds and against the file's
real size before any array is read, nothing is unpickled, and the network changes only once
every array has been read and checked.
"""

from __future__ import annotations

import contextlib
import os
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from nnscratch.core.checks import all_finite, fail

#: Bytes before an array's data in a ``.npy`` member: magic and version (8), the header's
#: length (4 in version 2.0), then the header, which NumPy refuses past 10000 characters.
_MAX_HEADER = 12 + 10_000
#: Deflate expands data at most about 1032 to 1 (the zlib technical notes); a member that
#: claims more than that of its compressed size lies about one of them.
_DEFLATE_RATIO = 1032
#: What a file that cannot be read at all raises from the zip or ``.npy`` readers.
_UNREADABLE = (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError)
_EXPECTED = "a weight file (a zip archive of .npy arrays, as save_weights writes)"


def save_weights(net, path) -> None:
    """Save ``net`` as a model file (:func:`nnscratch.io.model.save`): its arrays and the
    header that says what network they belong to."""
    from nnscratch.io.model import save

    save(net, path)


def load_weights(net, path) -> None:
    """Load what :func:`save_weights` or :class:`~nnscratch.callbacks.ModelCheckpoint` saved
    into ``net``, in place.

    The file must hold every key of ``net.population_state``, nothing else, each with the
    same shape, a numeric dtype that casts safely to the network's (``np.can_cast``) and
    finite values. Anything else raises ``ValueError`` naming the file (and the array) and
    leaves ``net`` as it was: every array is read and checked before any is written.
    """
    state = net.population_state
    path = _check_file(path)
    if _has_header(path):
        from nnscratch.io.model import _read_arrays, network_header, read_header

        header = read_header(path)
        _check_same(path, header.get("network", {}), network_header(net))
        arrays = _read_arrays(path, header, state)
    else:  # a file of bare arrays, as older versions wrote
        arrays = _read_checked(path, state)
    # --- every array is there and valid: only now does the network change ---
    for key, target in state.items():
        target[...] = arrays[key]


def _has_header(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "__header__.npy" in archive.namelist()
    except (*_UNREADABLE, ValueError):
        return False  # _read_checked names what is wrong with it


def _check_same(path: Path, file_spec: dict, net_spec: dict) -> None:
    """Refuse a file written for a network that differs from ``net`` in more than values."""
    for key, mine in net_spec.items():
        theirs = file_spec.get(key)
        if theirs != mine:
            raise ValueError(f"{path}: {key}: file has {theirs!r}, network has {mine!r}")


def _check_file(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise fail("path", "the path of a weight file (a string or os.PathLike)", path)
    path = Path(path)
    if not os.path.isfile(path):  # os.path's tests say False for a name too long, not OSError
        if os.path.isdir(path):
            what = "a directory"
        elif os.path.exists(path):
            what = "something that is not a regular file"
        else:
            what = "no such file"
        raise ValueError(f"{path}: expected {_EXPECTED}, got {what}")
    return path


def _read_checked(
    path: Path, state: dict[str, np.ndarray], only: bool = False
) -> dict[str, np.ndarray]:
    """Every array of ``state`` read from ``path``, checked and cast to the network's dtype.

    ``only``: read just these members and let the archive hold others (a model file's
    header alone); otherwise a member ``state`` lacks is refused.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (*_UNREADABLE, ValueError) as err:
        size = path.stat().st_size
        what = "an empty file" if size == 0 else f"a file of {size} bytes that is not a zip archive"
        raise ValueError(f"{path}: expected {_EXPECTED}, got {what} ({err})") from None
    with archive:
        members = _members(path, archive, state, only)
        return {key: _read_member(path, archive, info, state[key]) for key, info in members.items()}


def _members(
    path: Path, archive: zipfile.ZipFile, state, only: bool = False
) -> dict[str, zipfile.ZipInfo]:
    """The archive's member for each key, after checking the sizes its directory declares.

    Nothing is read yet: a member may claim to hold at most its array (of the network's
    shape and dtype) and a header, and no more than the file can hold, so that a small file
    claiming a huge array is refused before anything is allocated for it.
    """
    infos = archive.infolist()
    if only:
        infos = [info for info in infos if info.filename.removesuffix(".npy") in state]
    names = [info.filename for info in infos]
    wanted = {f"{key}.npy": key for key in state}
    counts = Counter(names)
    missing = [key for name, key in wanted.items() if name not in counts]
    extra = sorted(name for name in counts if name not in wanted or counts[name] > 1)
    problems = [f"missing {', '.join(missing)}"] if missing else []
    problems += [f"extra or repeated {', '.join(extra)}"] if extra else []
    if problems:
        raise ValueError(
            f"{path}: expected the arrays {', '.join(state)}, got {'; '.join(problems)}"
        )
    real_size = path.stat().st_size
    for info in infos:
        target = state[wanted[info.filename]]
        _check_declared(f"{path}[{wanted[info.filename]!r}]", info, target, real_size)
    return {wanted[info.filename]: info for info in infos}


def _check_declared(label: str, info: zipfile.ZipInfo, target: np.ndarray, real_size: int):
    """What the zip directory says of one member, against the network and the file."""
    limit = _MAX_HEADER + target.size * target.dtype.itemsize
    if info.file_size > limit:
        raise ValueError(
            f"{label}: expected at most {limit} bytes (an array of shape {target.shape} and "
            f"dtype {target.dtype} with its header), got a member that declares "
            f"{info.file_size} bytes"
        )
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ValueError(
            f"{label}: expected a member stored or deflated without encryption (as np.savez "
            f"and np.savez_compressed write), got compression {info.compress_type} and "
            f"flags {info.flag_bits:#x}"
        )
    stored = info.compress_type == zipfile.ZIP_STORED
    if info.compress_size > real_size or (stored and info.file_size > real_size):
        raise ValueError(
            f"{label}: expected a member no larger than the file ({real_size} bytes), got one "
            f"that declares {info.file_size} bytes ({info.compress_size} compressed)"
        )
    if not stored and info.file_size > _DEFLATE_RATIO * max(info.compress_size, 1):
        raise ValueError(
            f"{label}: expected a deflated member at most {_DEFLATE_RATIO} times its "
            f"compressed size, got {info.file_size} bytes declared from {info.compress_size}"
        )


@contextlib.contextmanager
def _reading(label: str) -> Iterator[None]:
    """What the zip and ``.npy`` readers raise for a damaged member, as one ``ValueError``."""
    try:
        yield
    except (*_UNREADABLE, ValueError, zlib.error) as err:  # bad magic, short data, bad CRC
        raise ValueError(
            f"{label}: expected a .npy array, got a member that cannot be read ({err})"
        ) from err


def _read_member(path: Path, archive: zipfile.ZipFile, info, target: np.ndarray) -> np.ndarray:
    """One member's array: its ``.npy`` header checked first, then its data read and checked."""
    label = f"{path}[{info.filename.removesuffix('.npy')!r}]"
    with _reading(label), archive.open(info) as fh:
        version = npy.read_magic(fh)
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f"unsupported .npy version {version}")
        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, _, dtype = read_header(fh)
        data_offset = fh.tell()
    _check_header(label, shape, dtype, target)
    needed = data_offset + target.size * dtype.itemsize
    if info.file_size != needed:
        raise ValueError(
            f"{label}: expected {needed} bytes (an array of shape {shape} and dtype {dtype}), "
            f"got a member of {info.file_size} bytes"
        )
    with _reading(label), archive.open(info) as fh:  # now exactly the array the network holds
        arr = npy.read_array(fh, allow_pickle=False)
    if not all_finite(arr):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{label}: expected finite values, got {bad} NaN or infinite value(s)")
    return arr.astype(target.dtype, copy=False)


def _check_header(label: str, shape, dtype: np.dtype, target: np.ndarray) -> None:
    if dtype.hasobject or dtype.kind not in "iuf" or not np.can_cast(dtype, target.dtype):
        what = "an object (pickled) array" if dtype.hasobject else f"dtype {dtype}"
        raise ValueError(
            f"{label}: expected a numeric array that casts safely to {target.dtype}, got {what}"
        )
    if tuple(shape) != target.shape:
        raise ValueError(f"{label}: expected an array of shape {target.shape}, got shape {shape}")
