"""Model files: round trips bit for bit, and every tampered file refused by name."""

import io
import json
import os
import re
import signal
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

import nnscratch as nns
from nnscratch.io.model import HEADER, load, read_header, save

X = np.random.default_rng(0).normal(size=(9, 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_round_trip_predicts_bit_for_bit(tmp_path, dtype, activation, loss):
    net = nns.MLP(
        [3, 6, 5, 2], activation=activation, loss=loss, dtype=dtype, population=3,
        batch_norm=True, dropout=0.2, width=np.array([[6, 5], [3, 2], [1, 1]]), seed=4,
    )  # fmt: skip
    for layer in net.layers:  # batch-norm buffers away from their defaults
        for buf in getattr(layer, "buffers", {}).values():
            buf += 0.25
    save(net, tmp_path / "m.npz")
    back = load(tmp_path / "m.npz")
    assert back.dtype == net.dtype and back.activation.name == activation
    np.testing.assert_array_equal(back.width, net.width)
    np.testing.assert_array_equal(back.forward(X), net.forward(X))


def test_single_network_and_selected_members(tmp_path):
    net = nns.MLP([3, 4, 2], seed=1)
    save(net, tmp_path / "one.npz")
    assert load(tmp_path / "one.npz").population is None
    pop = nns.MLP([3, 4, 2], seed=1, population=4)
    save(pop, tmp_path / "two.npz", members=[1, 3])
    back = load(tmp_path / "two.npz")
    np.testing.assert_array_equal(back.forward(X), pop.select([1, 3]).forward(X))


def _rewrite(path, change):
    """The archive at ``path`` with its members passed through ``change(dict) -> dict``."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members = change(members)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _npy(arr, **kw):
    buf = io.BytesIO()
    np.save(buf, arr, **kw)
    return buf.getvalue()


def _header_change(edit):
    def change(members):
        header = json.loads(np.load(io.BytesIO(members[f"{HEADER}.npy"])).tobytes())
        edit(header)
        members[f"{HEADER}.npy"] = _npy(np.frombuffer(json.dumps(header).encode(), np.uint8))
        return members

    return change


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "m.npz"
    save(nns.MLP([3, 4, 2], seed=2, population=2), path)
    return path


def test_refuses_a_pickled_member_without_running_it(saved, tmp_path):
    flag = tmp_path / "ran"

    class Boom:
        def __reduce__(self):
            return (open, (str(flag), "w"))

    arr = np.empty(1, dtype=object)
    arr[0] = Boom()
    _rewrite(saved, lambda m: {**m, "W1.npy": _npy(arr, allow_pickle=True)})
    with pytest.raises(ValueError, match=r"W1.*object \(pickled\)"):
        load(saved)
    assert not flag.exists()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda m: {k: v for k, v in m.items() if k != "b2.npy"}, "missing b2"),
        (lambda m: {**m, "extra.npy": _npy(np.zeros(2))}, "extra or repeated extra.npy"),
        (lambda m: {**m, "W1.npy": _npy(np.zeros((2, 4, 3)))}, "shape"),
        (lambda m: {**m, "W1.npy": _npy(np.full((2, 3, 4), np.nan))}, "finite"),
        (lambda m: {**m, "W1.npy": _npy(np.ones((2, 3, 4)))}, "SHA-256"),
        (_header_change(lambda h: h.update(format_version=99)), "newer nnscratch"),
        (_header_change(lambda h: h["network"].update(activation="mine")), "register_activation"),
        (_header_change(lambda h: h["arrays"]["W1"].update(shape=[2, 3, 5])), "header declares"),
    ],
)
def test_refuses_a_tampered_file(saved, change, match):
    _rewrite(saved, change)
    with pytest.raises(ValueError, match=match) as err:
        load(saved)
    assert str(saved) in str(err.value)


def test_refuses_a_truncated_file(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=str(saved)):
        load(saved)


def test_save_refuses_non_finite_weights_and_keeps_the_old_file(saved):
    before = saved.read_bytes()
    net = nns.MLP([3, 4, 2], seed=2)
    net.params["W1"][0, 0] = np.inf
    with pytest.raises(ValueError, match="finite"):
        save(net, saved)
    assert saved.read_bytes() == before


def test_header_and_checkpoint_are_model_files(tmp_path):
    header = None
    net = nns.MLP([3, 4, 2], seed=3)
    nns.save_weights(net, tmp_path / "w.npz")
    header = read_header(tmp_path / "w.npz")
    assert header["kind"] == "network" and header["nnscratch_version"] == nns.__version__
    np.testing.assert_array_equal(load(tmp_path / "w.npz").forward(X), net.forward(X))


def test_load_weights_names_the_difference(tmp_path):
    nns.save_weights(nns.MLP([3, 4, 2], activation="tanh"), tmp_path / "w.npz")
    with pytest.raises(ValueError, match="activation: file has 'tanh', network has 'relu'"):
        nns.load_weights(nns.MLP([3, 4, 2], activation="relu"), tmp_path / "w.npz")


class _Stand:
    """A stand-in estimator for the save/load contract."""

    def __init__(self, net):
        self.net = net

    def _to_model_file(self):
        return self.net, {"estimator": "_Stand", "params": {}, "fitted": {"classes_": [0, 1]}}


def test_estimator_info_goes_in_the_header(tmp_path):
    save(_Stand(nns.MLP([3, 4, 2])), tmp_path / "e.npz")
    header = read_header(tmp_path / "e.npz")
    assert header["kind"] == "estimator"
    assert header["estimator"]["fitted"] == {"classes_": [0, 1]}


# --- round trips for every kind of model, bit for bit ------------------------------------


def _trained(dtype, population):
    """A network with batch norm, dropout, penalties (and width masks for a population),
    trained a little so that its running averages are real."""
    P = population or 1
    width = np.array([[6, 5], [2, 3], [4, 1], [6, 2]])[:P] if population else None
    net = nns.MLP(
        [3, 6, 5, 3], dtype=dtype, population=population, width=width, batch_norm=True,
        dropout=0.3, l2=0.01, activation="elu", seed=11,
    )  # fmt: skip
    y = np.arange(len(X)) % 3
    net.fit(X, y, epochs=3, batch_size=3, seed=1, engine="numpy")
    return net


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["network", "population", "selected", "member"])
def test_every_kind_of_model_round_trips_bit_for_bit(tmp_path, dtype, kind):
    net = _trained(dtype, None if kind == "network" else 4)
    members = [3, 1] if kind == "selected" else None
    saved = net.member(2) if kind == "member" else net
    expected = net.select(members) if members else saved
    save(saved, tmp_path / "m.npz", members=members)
    back = load(tmp_path / "m.npz")
    assert back.population == expected.population and back.dtype == expected.dtype
    assert back.batch_norm and back.activation.name == "elu"
    state, back_state = expected.population_state, back.population_state
    assert set(back_state) == set(state) and any(k.startswith("running_var") for k in state)
    for key in state:
        _same_bits(back_state[key], state[key])
    np.testing.assert_array_equal(back.width, expected.width)
    for name in ("dropout", "l2", "l1"):
        np.testing.assert_array_equal(getattr(back, name), getattr(expected, name))
    for method in ("decision_function", "predict_proba", "predict"):
        _same_bits(getattr(back, method)(X), getattr(expected, method)(X))
    _same_bits(back.loss(X, np.arange(len(X)) % 3), expected.loss(X, np.arange(len(X)) % 3))


# --- a save cut off while writing leaves the old file ------------------------------------

#: A child process that saves a network of ~2 MB to ``argv[1]``, but stops once 1 MB of it
#: is on disk, says so on stdout and waits there to be killed.
_STALLED_SAVE = """
import os, signal, sys
import numpy as np
import nnscratch as nns

class Stalling:
    def __init__(self, fh):
        self.fh, self.written = fh, 0
    def write(self, data):
        n = self.fh.write(data)
        self.written += len(data)
        if self.written >= 1_000_000:  # half the file is written: stop here, on disk
            self.fh.flush()
            os.fsync(self.fh.fileno())
            print("mid-write", flush=True)
            while True:
                signal.pause()
        return n
    def __getattr__(self, name):
        return getattr(self.fh, name)

savez = np.savez
np.savez = lambda fh, **arrays: savez(Stalling(fh), **arrays)
nns.save(nns.MLP([3, 500, 500, 2], seed=2), sys.argv[1])
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and signal.pause are POSIX")
def test_a_save_killed_while_writing_leaves_the_old_file(tmp_path):
    path = tmp_path / "m.npz"
    old = nns.MLP([3, 500, 500, 2], seed=1)
    save(old, path)
    before = path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", _STALLED_SAVE, str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        said = child.stdout.readline()  # blocks until the child is halfway through
        assert said == "mid-write\n", child.stderr.read()
        (temp,) = [p for p in tmp_path.iterdir() if p != path]
        assert temp.stat().st_size >= 1_000_000  # truly cut while writing
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    np.testing.assert_array_equal(load(path).forward(X), old.forward(X))
    # the half-written file stays (nothing runs after SIGKILL) under a hidden temporary name,
    # never the target's; and a loader given it by name refuses it
    assert temp.name.startswith(".") and ".tmp" in temp.name and temp.name != path.name
    with pytest.raises(ValueError, match=re.escape(str(temp))):
        load(temp)


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_save_failing_while_writing_leaves_the_old_file_and_no_temporary(
    tmp_path, monkeypatch, error
):
    path = tmp_path / "m.npz"
    old = nns.MLP([3, 40, 2], seed=1)
    save(old, path)
    before = path.read_bytes()
    savez, written = np.savez, []

    def half_then_fail(fh, **arrays):
        buf = io.BytesIO()
        savez(buf, **arrays)
        data = buf.getvalue()
        fh.write(data[: len(data) // 2])
        written.append([p.stat().st_size for p in tmp_path.iterdir() if p != path])
        raise error

    monkeypatch.setattr(np, "savez", half_then_fail)
    with pytest.raises(type(error)):
        save(nns.MLP([3, 40, 2], seed=2), path)
    assert len(written) == 1 and len(written[0]) == 1  # the temporary existed while writing
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]  # and is gone
    np.testing.assert_array_equal(load(path).forward(X), old.forward(X))


# --- zip bombs: sizes the directory declares, refused before any member is read ----------


def _declare_size(path, name, size):
    """Patch the zip central directory so that member ``name`` declares ``size`` bytes
    uncompressed (the data itself unchanged)."""
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        n = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + n] == name.encode():
            data[at + 24 : at + 28] = size.to_bytes(4, "little")
            path.write_bytes(bytes(data))
            return
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"no member {name}")


@pytest.fixture
def opened(monkeypatch):
    """The names of the archive members anything opens, in order (clear it before the
    call watched: building the test's files opens members too)."""
    names, real_open = [], zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        names.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return names


def test_refuses_a_member_declaring_more_than_the_file_holds(tmp_path, opened):
    path = tmp_path / "m.npz"
    save(nns.MLP([3, 1000, 1000, 2], seed=1), path)  # W2 may be 8 MB: the limit is not it
    _rewrite(path, lambda m: {**m, "W2.npy": b"\x93NUMPY" + bytes(200)})
    _declare_size(path, "W2.npy", 7_000_000)
    assert path.stat().st_size < 100_000
    opened.clear()
    with pytest.raises(ValueError, match=r"W2.*no larger than the file .*declares 7000000"):
        load(path)
    assert "W2.npy" not in opened


def test_refuses_a_deflate_bomb_before_inflating_it(tmp_path, opened):
    path = tmp_path / "m.npz"
    save(nns.MLP([3, 4, 2], seed=1), path)
    bomb = _npy(np.zeros(50_000_000 // 8))  # 50 MB of zeros deflate to ~50 kB
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            if name == "W1.npy":
                z.writestr(name, bomb, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            else:
                z.writestr(name, data)
    assert path.stat().st_size < 1_000_000
    opened.clear()
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"W1.*expected at most \d+ bytes.*declares 50000"):
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # nothing near the 50 MB was allocated
    assert "W1.npy" not in opened


def test_refuses_a_member_claiming_more_than_deflate_can_expand(tmp_path, opened):
    path = tmp_path / "m.npz"
    save(nns.MLP([3, 1000, 1000, 2], seed=1), path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            small = name == "W2.npy"
            z.writestr(name, data[:2000] if small else data, compress_type=zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as z:
        compressed = z.getinfo("W2.npy").compress_size
    _declare_size(path, "W2.npy", 2000 * compressed)  # under the file size and the limit
    assert 2000 * compressed < 8_000_000  # under the limit W2's shape sets
    opened.clear()
    with pytest.raises(ValueError, match=r"W2.*at most 1032 times its compressed size"):
        load(path)
    assert "W2.npy" not in opened


# --- pickles: refused, and nothing in them runs ------------------------------------------


class _Marker:
    """Unpickling this creates the file ``path``: the proof that a pickle ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _pickled(flag, structured=False):
    """A ``.npy`` member holding a pickle that creates ``flag`` when loaded."""
    if structured:  # the object hides in a field of a record
        arr = np.zeros(1, dtype=[("x", "f8"), ("o", "O")])
        arr["o"][0] = _Marker(flag)
    else:
        arr = np.empty(1, dtype=object)
        arr[0] = _Marker(flag)
    return _npy(arr, allow_pickle=True)


def test_the_pickled_member_is_live(tmp_path):
    """The members the tests below refuse would run code if loaded the unsafe way."""
    for structured in (False, True):
        flag = tmp_path / f"ran-{structured}"
        np.load(io.BytesIO(_pickled(flag, structured)), allow_pickle=True)
        assert flag.exists()


@pytest.mark.parametrize(
    ("member", "structured", "match"),
    [
        ("W1.npy", True, r"W1.*object \(pickled\)"),
        ("b2.npy", False, r"b2.*object \(pickled\)"),
        (f"{HEADER}.npy", False, "expected a 1-D uint8 array"),
    ],
)
def test_refuses_pickles_anywhere_without_running_them(saved, tmp_path, member, structured, match):
    flag = tmp_path / "ran"
    _rewrite(saved, lambda m: {**m, member: _pickled(flag, structured)})
    with pytest.raises(ValueError, match=match):
        load(saved)
    with pytest.raises(ValueError, match=match):
        nns.load_weights(nns.MLP([3, 4, 2], seed=2, population=2), saved)
    assert not flag.exists()


def test_load_weights_refuses_a_pickle_in_a_file_of_bare_arrays(tmp_path):
    net, flag = nns.MLP([3, 4, 2], seed=2), tmp_path / "ran"
    path = tmp_path / "bare.npz"
    with zipfile.ZipFile(path, "w") as z:
        for key, arr in net.population_state.items():
            z.writestr(f"{key}.npy", _pickled(flag) if key == "W2" else _npy(arr))
    before = {k: v.copy() for k, v in net.population_state.items()}
    with pytest.raises(ValueError, match=r"W2.*object \(pickled\)"):
        nns.load_weights(net, path)
    assert not flag.exists()
    for key, arr in net.population_state.items():
        np.testing.assert_array_equal(arr, before[key])


def test_a_header_claiming_a_huge_network_is_refused_before_building_it(saved):
    big = [3, 2000, 2000, 2]

    def claim(h):
        h["network"].update(sizes=big, width=[[2000, 2000]] * 2)
        for k, shape in {"W1": [2, 3, 2000], "b1": [2, 2000], "W2": [2, 2000, 2000]}.items():
            h["arrays"][k]["shape"] = shape

    _rewrite(saved, _header_change(claim))
    assert saved.stat().st_size < 5_000
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=str(saved)):
            load(saved)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"load allocated {peak:,} bytes for a file of 2 kB"


def test_save_refuses_what_is_not_a_model(tmp_path):
    with pytest.raises(ValueError, match="model: expected a network, a population or an estim"):
        save(object(), tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
