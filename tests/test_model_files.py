"""Model files: round trips bit for bit, and every tampered file refused by name."""

import io
import json
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
