"""Files: weight files that lie or are damaged, atomic writes (modes, long names)."""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile

import numpy as np
import pytest
from numpy.lib import format as npy

import nnscratch as nns
from nnscratch.io.atomic import atomic_path, check_writable, write_text
from nnscratch.io.weights import load_weights, save_weights

HUGE = (100_000, 1_000_000)  # float64: 745 GiB


def npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    npy.write_array(buf, np.asarray(arr), allow_pickle=True)
    return buf.getvalue()


def write_zip(path, members, compression=zipfile.ZIP_STORED, claims=(), crc=()):
    """A zip of ``members`` (name -> bytes or array) written by ``zipfile``; its directory
    then declares the sizes in ``claims`` (name -> bytes) and the CRCs in ``crc``."""
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members:
            zf.writestr(name, data if isinstance(data, bytes) else npy_bytes(data))
        for name, size in dict(claims).items():
            zf.getinfo(name).file_size = size  # what close() writes into the directory
        for name, value in dict(crc).items():
            zf.getinfo(name).CRC = value
    return path


def members_of(net, **replace):
    """``(name, array)`` for every array of ``net``, some replaced (``None``: left out)."""
    state = {k: v.copy() for k, v in net.population_state.items()}
    state.update(replace)
    return [(f"{k}.npy", v) for k, v in state.items() if v is not None]


def snapshot(net):
    return {k: v.copy() for k, v in net.population_state.items()}


def assert_unchanged(net, before):
    for key, value in net.population_state.items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


@pytest.fixture
def net():
    return nns.MLP([3, 4, 3], seed=1, population=2, batch_norm=True)


# --- loading checks every array, then writes them all -------------------------------------


@pytest.mark.parametrize(
    "bad, message",
    [
        (lambda t: np.full(t.shape, "x"), "numeric array that casts safely to float64, got dtype"),
        (lambda t: np.where(np.arange(t.size).reshape(t.shape) == 1, np.nan, t), "1 NaN"),
        (lambda t: np.full(t.shape, np.inf), "finite values"),
        (lambda t: t.astype(np.complex128), "casts safely"),
        (lambda t: np.zeros(t.shape[:-1]), "shape"),
        (lambda t: np.full(t.shape, None, dtype=object), "object \\(pickled\\) array"),
    ],
    ids=["strings", "nan", "inf", "complex", "shape", "object"],
)
def test_a_failed_load_changes_nothing(tmp_path, net, bad, message):
    last = list(net.population_state)[-1]  # the first arrays would be written before it
    path = write_zip(tmp_path / "w.npz", members_of(net, **{last: bad(net.population_state[last])}))
    target = nns.MLP([3, 4, 3], seed=2, population=2, batch_norm=True)
    before = snapshot(target)
    with pytest.raises(ValueError, match=re.escape(f"{path}[{last!r}]") + ".*" + message):
        load_weights(target, path)
    assert_unchanged(target, before)


def test_load_refuses_an_unsafe_cast(tmp_path, net):
    save_weights(net, tmp_path / "w.npz")  # float64
    target = nns.MLP([3, 4, 3], population=2, batch_norm=True, dtype=np.float32)
    before = snapshot(target)
    with pytest.raises(ValueError, match="dtype: file has .float64., network has .float32."):
        load_weights(target, tmp_path / "w.npz")
    assert_unchanged(target, before)


def test_load_reads_what_numpy_writes(tmp_path, net):
    """Compressed, Fortran-ordered, big-endian and safely castable arrays load exactly."""
    state = net.population_state
    arrays = {k: np.asfortranarray(v) for k, v in state.items()}
    arrays["W1"] = state["W1"].astype(">f8")
    arrays["b1"] = np.arange(state["b1"].size, dtype=np.int16).reshape(state["b1"].shape)
    np.savez_compressed(tmp_path / "w.npz", **arrays)
    target = nns.MLP([3, 4, 3], seed=2, population=2, batch_norm=True)
    load_weights(target, tmp_path / "w.npz")
    for key, value in arrays.items():
        np.testing.assert_array_equal(target.population_state[key], value, err_msg=key)


# --- hostile and damaged files: one clear ValueError naming the file ---------------------


def empty(path, net):
    path.write_bytes(b"")


def random_bytes(path, net):
    path.write_bytes(np.random.default_rng(0).bytes(1024))


def npy_file(path, net):
    path.write_bytes(npy_bytes(net.population_state["W1"]))


def truncated(path, net):
    save_weights(net, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def zip_claims_huge(path, net):  # the zip directory: 745 GiB for W1
    write_zip(path, members_of(net), claims={"W1.npy": 8 * HUGE[0] * HUGE[1]})


def npy_claims_huge(path, net):  # the .npy header: a (100000, 1000000) float64 array
    buf = io.BytesIO()
    npy.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": HUGE})
    write_zip(path, members_of(net, W1=buf.getvalue() + bytes(64)))


def header_without_data(path, net):
    W1 = net.population_state["W1"]
    write_zip(path, members_of(net, W1=npy_bytes(W1)[: -W1.nbytes // 2]))


def not_npy(path, net):
    write_zip(path, members_of(net, W1=b"\x80\x04 a pickle, or anything else"))


def bad_crc(path, net):
    write_zip(path, members_of(net), crc={"b2.npy": 0})


def extra_array(path, net):
    write_zip(path, [*members_of(net), ("notes.txt", b"hello")])


def missing_array(path, net):
    write_zip(path, members_of(net, running_var1=None))


def repeated_array(path, net):
    with pytest.warns(UserWarning, match="Duplicate"):
        write_zip(path, [*members_of(net), ("W1.npy", np.zeros(3))])


@pytest.mark.parametrize(
    "make, message",
    [
        (empty, "expected a weight file .*, got an empty file"),
        (random_bytes, "got a file of 1024 bytes that is not a zip archive"),
        (npy_file, "not a zip archive"),
        (truncated, "not a zip archive"),
        (zip_claims_huge, r"\['W1'\]: expected at most \d+ bytes .* declares 800000000000"),
        (npy_claims_huge, r"\['W1'\]: expected an array of shape \(2, 3, 4\)"),
        (header_without_data, r"\['W1'\]: expected \d+ bytes"),
        (not_npy, r"\['W1'\]: expected a .npy array, got a member that cannot be read"),
        (bad_crc, r"\['b2'\]: expected a .npy array, .* \(Bad CRC-32"),
        (extra_array, "got extra or repeated notes.txt"),
        (missing_array, "got missing running_var1"),
        (repeated_array, "got extra or repeated W1.npy"),
    ],
)
def test_hostile_weight_files(tmp_path, net, make, message):
    path = tmp_path / "w.npz"
    make(path, nns.MLP([3, 4, 3], seed=3, population=2, batch_norm=True))
    assert path.stat().st_size < 4096  # small files, whatever they claim
    before = snapshot(net)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + message):
        load_weights(net, path)
    assert_unchanged(net, before)


def test_a_deflated_member_cannot_claim_more_than_deflate_gives(tmp_path):
    """The network holds more than the member claims, but no deflate stream of ~20 bytes
    expands to 200000 bytes: refused before anything is decompressed."""
    net = nns.MLP([200, 300, 3], seed=4)
    path = tmp_path / "w.npz"
    write_zip(path, members_of(net, W1=bytes(2000)), zipfile.ZIP_DEFLATED, {"W1.npy": 200_000})
    assert path.stat().st_size < 16_384
    with pytest.raises(ValueError, match=re.escape(f"{path}['W1']: expected a deflated member")):
        load_weights(net, path)


def test_load_needs_a_file(tmp_path, net):
    with pytest.raises(ValueError, match="got no such file"):
        load_weights(net, tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="got a directory"):
        load_weights(net, tmp_path)
    with pytest.raises(ValueError, match="path: expected the path of a weight file"):
        load_weights(net, 5)


# --- atomic writes: the mode of the file replaced, long names -----------------------------


def current_umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_a_rewritten_file_keeps_its_mode(tmp_path, mode):
    path = tmp_path / "a.txt"
    write_text(path, "old")
    os.chmod(path, mode)
    write_text(path, "new")
    assert (path.read_text(), stat.S_IMODE(path.stat().st_mode)) == ("new", mode)
    with atomic_path(path) as temp:  # the path-based writer too (plots)
        temp.write_text("newer")
    assert (path.read_text(), stat.S_IMODE(path.stat().st_mode)) == ("newer", mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_new_file_gets_the_umask_mode(tmp_path):
    write_text(tmp_path / "new.txt", "x")
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o666 & ~current_umask()


@pytest.mark.parametrize("name", ["a" * 246 + ".txt", "a." + "b" * 248, "é" * 125 + ".txt"])
def test_a_long_name_that_fits_is_written(tmp_path, name):
    assert len(os.fsencode(name)) <= 255
    path = check_writable(tmp_path / name)
    write_text(path, "x")
    assert [p.name for p in tmp_path.iterdir()] == [name]  # and no temporary file left


@pytest.mark.parametrize(
    "name, message",
    [
        ("a" * 252 + ".txt", "names of at most 255 bytes, got .* \\(a name of 256 bytes\\)"),
        ("é" * 126 + ".txt", "names of at most 255 bytes"),
        ("d" * 256 + "/a.txt", "names of at most 255 bytes"),  # a folder's name
        ("d/" * 2100 + "a.txt", "a path shorter than 4096 bytes"),
        ("d/" * 2040 + "a.txt", "a path shorter than 4096 bytes"),  # 4085; its temporary 4097
    ],
)
def test_a_name_too_long_is_refused_before_any_work(tmp_path, monkeypatch, name, message):
    monkeypatch.chdir(tmp_path)  # relative: the system's limit is on the path as given
    with pytest.raises(ValueError, match="--out: expected .*" + message):
        check_writable(name, "--out")


@pytest.mark.parametrize("path", [5, None, b"x.csv", "a\0b.csv"])
def test_check_writable_wants_a_path(path):
    with pytest.raises(ValueError, match="out: expected a file path"):
        check_writable(path, "out")
