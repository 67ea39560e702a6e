"""engine="auto" never pays a compile its run cannot repay; "numba" always compiles, once.

The decision is tested by its estimates (nnscratch.fast.cost), with the cache's state given
(the probe monkeypatched), never by timing anything. The probe itself is tested on a tiny
kernel in a temporary cache folder, and one real compile in a fresh cache shows the message
printed once and the results equal to NumPy's.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import nnscratch as nns
from nnscratch.fast import cost, forward, ready
from nnscratch.fast import epoch as accel

nb = pytest.importorskip("numba")

from nnscratch.fast import kernels  # noqa: E402 - imports numba
from nnscratch.fast.warmup import warmup  # noqa: E402


def test_estimates_by_hand():
    # W1: 100 members 2-64-2, 3750 rows, batch 10, 10 epochs: 3750 steps
    assert cost.dense_flops([2, 64, 2]) == 6 * (2 * 64 + 64 * 2) == 1536
    per_step = 20e-6 + 2 * (25e-6 + 100 * 1.2e-6)  # 310 us
    flops = 10 * 3750 * 100 * 1536  # 5.76e9
    assert cost.numpy_seconds([2, 64, 2], 100, 3750, 10, 10) == pytest.approx(
        3750 * per_step + flops / 10e9  # 1.1625 + 0.576
    )
    assert cost.fast_seconds([2, 64, 2], 100, 3750, 10, 10) == pytest.approx(
        3750 * 100 * 0.5e-6 + flops / 10e9  # 0.1875 + 0.576
    )
    assert cost.ready_seconds({"lanes": "cold", "shuffle": "cached"}) == 10.0 + 0.3
    assert cost.ready_seconds({"lanes": "loaded", "shuffle": "loaded"}) == pytest.approx(0.6)
    assert cost.compile_seconds({"lanes": "cold", "shuffle": "cached"}) == 10.0
    assert cost.repays(2.0, 1.0, 0.5) and not cost.repays(2.0, 1.5, 0.5)


def _epoch(P: int, rows: int, engine: str = "auto"):
    """A compiled epoch for ``P`` members 2-64-2 on ``rows`` rows, batch 10, and its
    first epoch's arguments; nothing compiled or run."""
    net = nns.MLP([2, 64, 2], population=P, seed=0)
    X, y = np.zeros((rows, 2)), np.zeros(rows, dtype=np.int64)
    epoch = accel.compiled_epoch(engine, net, X, y, None, nns.SGD(lr=0.1), [], 10)
    order = np.tile(np.arange(rows), (P, 1))
    return epoch, epoch._arguments(order, SimpleNamespace(active=np.ones(P, dtype=bool)))


@pytest.fixture
def cache_is(monkeypatch, tmp_path):
    """``cache_is("cold")``: every kernel the probe is asked about is in that state (and
    no kernel has left a marker)."""
    monkeypatch.setattr(ready, "folder", lambda: tmp_path / "ready")
    asked = []

    def given(state):
        def states(needs):
            asked.append(sorted(needs))
            return {name: state for name in needs}

        monkeypatch.setattr(kernels, "states", states)
        return asked

    return given


def test_auto_keeps_w1_on_numpy_when_the_cache_is_cold(cache_is, capsys):
    asked = cache_is("cold")
    epoch, args = _epoch(100, 3750)
    epoch._decide(args, epochs=10)  # NumPy about 1.7 s (low), compiling about 11 s
    assert epoch.fallback is not None and asked == [["lanes", "shuffle"]]
    assert capsys.readouterr().err == ""


def test_auto_compiles_once_the_run_repays_it(cache_is, capsys):
    cache_is("cold")
    epoch, args = _epoch(100, 3750)
    epoch._decide(args, epochs=1000)  # NumPy about 174 s > 11 s + 76 s compiled
    assert epoch.fallback is None
    assert capsys.readouterr().err == "compiling the fast path, once, about 11 s\n"


def test_auto_takes_a_warm_cache_silently(cache_is, capsys):
    cache_is("cached")
    epoch, args = _epoch(100, 3750)
    epoch._decide(args, epochs=10)  # 1.7 s > 0.6 s of loading + 0.8 s compiled
    assert epoch.fallback is None and capsys.readouterr().err == ""


def test_auto_single_network_compile_needs_a_long_run(cache_is):
    cache_is("cold")  # the members kernel and the shuffle: 6 s
    epoch, args = _epoch(1, 3750)
    epoch._decide(args, epochs=100)  # the tutorial's 100 epochs: NumPy about 2.7 s
    assert epoch.fallback is not None
    epoch, args = _epoch(1, 3750)
    epoch._decide(args, epochs=2000)  # about 54 s
    assert epoch.fallback is None


def test_numba_engine_always_compiles(cache_is, capsys):
    cache_is("cold")
    epoch, args = _epoch(1, 20, engine="numba")
    assert epoch.fallback is None  # nothing to fall back to
    epoch._decide(args, epochs=1)  # a 2-step run, compiled all the same
    assert epoch.fallback is None
    # one epoch shuffles with NumPy (the first epoch always does): the members kernel alone
    assert capsys.readouterr().err == "compiling the fast path, once, about 5 s\n"
    epoch, args = _epoch(1, 20, engine="numba")
    epoch._decide(args, epochs=2)  # the second epoch's shuffle is compiled: 5 s + 1 s
    assert capsys.readouterr().err == "compiling the fast path, once, about 6 s\n"


def test_tiny_runs_never_import_numba_to_ask(cache_is, monkeypatch):
    asked = cache_is("cached")
    monkeypatch.setattr(accel, "loaded", lambda: False)  # as in a fresh process
    epoch, args = _epoch(1, 20)
    epoch._decide(args, epochs=1)
    assert epoch.fallback is not None and asked == []


def test_without_markers_a_fresh_process_asks_numba_only_for_a_compile_that_repays(
    cache_is, monkeypatch
):
    asked = cache_is("cached")  # numba's cache would say "cached", if it were asked
    monkeypatch.setattr(accel, "loaded", lambda: False)  # a fresh process: numba not imported
    epoch, args = _epoch(100, 3750)
    epoch._decide(args, epochs=10)  # no markers: counted as a compile (11 s), not asked
    assert epoch.fallback is not None and asked == []
    ready.mark(["lanes-1-float64-2", "shuffle"])  # W1's kernels ran here before
    epoch, args = _epoch(100, 3750)
    epoch._decide(args, epochs=10)  # asked, cached: loading repays
    assert epoch.fallback is None and asked == [["lanes", "shuffle"]]
    epoch, args = _epoch(100, 3750)
    ready.folder().joinpath("shuffle").unlink()
    epoch._decide(args, epochs=1000)  # a marker missing, but a compile repays: asked
    assert epoch.fallback is None and len(asked) == 2


def test_shuffles_stay_numpys_until_the_kernels_are_chosen(cache_is):
    cache_is("cold")
    epoch, args = _epoch(8, 50)
    rows = np.broadcast_to(np.arange(50), (8, 50))
    seeds = np.random.SeedSequence(1).spawn(8)
    want = np.stack([np.random.default_rng(s).permutation(50) for s in seeds])
    got = epoch.shuffled(rows, [np.random.default_rng(s) for s in seeds])  # before deciding
    np.testing.assert_array_equal(got, want)
    epoch._decide(args, epochs=1)
    assert epoch.fallback is not None  # stays NumPy: so do its shuffles


def test_predictions_do_not_compile_on_a_cold_cache(cache_is, monkeypatch):
    net = nns.MLP([2, 8, 2], population=8, seed=0)
    X = np.zeros((1000, 2))
    monkeypatch.setattr(accel, "loaded", lambda: True)
    asked = cache_is("cold")
    assert forward.logits(net, X) is None and asked == [["forward"]]


def test_warmup_checks_its_arguments_first():
    for kwargs, name in [
        ({"activations": ["softplus"]}, "activations"),
        ({"dtypes": ["int32"]}, "dtypes"),
        ({"hidden_layers": [-1]}, "hidden_layers"),
        ({"kernels": ["gpu"]}, "kernels"),
    ]:
        with pytest.raises(ValueError, match=name):
            warmup(**kwargs, file=False)


def _tiny(x, first, stride):  # a kernel's arguments end in threads.split's two
    return x + first + stride


def test_the_probe_reads_numbas_own_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(nb.config, "CACHE_DIR", str(tmp_path))
    kernel = nb.njit(cache=True)(_tiny)
    args = (np.float64(1.0),)
    assert kernels.state(kernel, args) == "cold"
    assert kernel(*args, 0, 1) == 2.0  # compiles, and writes the cache
    assert kernels.state(kernel, args) == "loaded"
    again = nb.njit(cache=True)(_tiny)  # as a fresh process would see it
    assert kernels.state(again, args) == "cached"
    assert kernels.state(again, (np.zeros(3),)) == "cold"  # another signature
    assert kernels.state(object(), args) == "cold"  # no numba dispatcher: "compile"


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """The kernels' dispatchers made anew against an empty numba cache folder."""
    from nnscratch.fast.members import members_kernel

    monkeypatch.setattr(nb.config, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(ready, "folder", lambda: tmp_path / "ready")
    members_kernel.cache_clear()
    yield
    members_kernel.cache_clear()  # later dispatchers use the usual cache again


def test_a_real_compile_says_so_once_and_equals_numpy(fresh_cache, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    nets = {}
    for engine in ("numpy", "numba", "numba"):
        net = nns.MLP([3, 5, 2], activation="identity", seed=1)  # one member: members kernel
        net.fit(X, y, epochs=2, batch_size=7, optimizer=nns.SGD(lr=0.1), seed=2, engine=engine)
        nets.setdefault(engine, []).append(net)
    err = capsys.readouterr().err
    assert err.count("compiling the fast path, once, about") == 1  # the first numba fit only
    assert ready.marked(["members-0-float64-2", "shuffle"])  # identity: code 0
    # warmup compiles exactly what a run compiles: here it finds both kernels loaded
    rows = warmup(("identity",), ("float64",), (1,), kernels=("shuffle", "members"), file=False)
    assert [(r["kernel"], r["state"]) for r in rows] == [
        ("shuffle", "loaded"),
        ("members", "loaded"),
    ]
    for key, value in nets["numpy"][0].population_params.items():
        for net in nets["numba"]:
            np.testing.assert_allclose(net.population_params[key], value, rtol=1e-12, atol=1e-12)
