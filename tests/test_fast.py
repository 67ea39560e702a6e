"""The compiled path (nnscratch.fast) is pinned to the NumPy loop, the reference."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

import nnscratch as nns
from nnscratch import tutorial as T
from nnscratch.fast import epoch as accel
from nnscratch.fast import forward

pytest.importorskip("numba")

from llvmlite import binding as llvm_binding  # noqa: E402 (numba brings llvmlite)

from nnscratch.fast import cost  # noqa: E402
from nnscratch.fast.shuffle import shuffled as compiled_shuffled  # noqa: E402

#: Each case below that compiles a kernel no other case compiles (another activation, depth
#: or dtype for the same kernel) costs 3-10 s on a cold cache (all of them: about 50 s). By
#: default one case a kernel kind, dtype and depth runs (relu, tanh with two hidden layers,
#: float32); every activation and depth runs with NNSCRATCH_ALL_KERNELS=1 (after `nnscratch
#: warmup --activation all --dtype both --hidden-layers 0,1,2,3` it takes seconds).
ALL_KERNELS = pytest.mark.skipif(
    not os.environ.get("NNSCRATCH_ALL_KERNELS"),
    reason="compiles another kernel (3-10 s cold): set NNSCRATCH_ALL_KERNELS=1",
)


def every(*values):
    """A parametrize case run only with NNSCRATCH_ALL_KERNELS=1."""
    return pytest.param(*values, marks=ALL_KERNELS)


@pytest.fixture
def predictions_compile(monkeypatch):
    """Predictions take the compiled pass wherever it applies, however short they are
    (``engine="auto"``'s weighing of its compile is tested in tests/test_compile_trap.py)."""
    monkeypatch.setattr(cost, "LOAD_S", -1.0)
    monkeypatch.setattr(cost, "repays", lambda numpy_s, ready_s, fast_s: True)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(61, 3))  # 61 rows: batches of 7 leave a short last one
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) + (X[:, 2] > 1)
    return X, y


def _pair(sizes, data, engine_kwargs=None, **net_kwargs):
    """The same network trained by both engines; returns both nets and histories."""
    X, y = data
    fit = {"epochs": 3, "batch_size": 7, "optimizer_lr": 0.05, "seed": 4, **(engine_kwargs or {})}
    lr = fit.pop("optimizer_lr")
    out = []
    for engine in ("numpy", "numba"):
        net = nns.MLP(sizes, seed=1, **net_kwargs)
        history = net.fit(X, y, optimizer=nns.SGD(lr=lr), engine=engine, **fit)
        out.append((net, history))
    return out


@pytest.mark.parametrize(
    "sizes, kwargs",
    [
        ([3, 8, 3], {"activation": "relu"}),
        ([3, 8, 3], {"activation": "relu", "population": 4}),
        ([3, 6, 5, 3], {"activation": "tanh", "population": 3}),
        # narrow, wide, narrow (the one-member kernel keeps narrow layers transposed)
        ([3, 2, 6, 3], {"activation": "tanh", "population": 2}),
        every([3, 5, 5, 5, 3], {"activation": "sigmoid", "population": 2}),
        every([3, 7, 3], {"activation": "leaky_relu", "population": 2}),
        every([3, 7, 3], {"activation": "identity"}),
        ([3, 9, 3], {"population": 3, "width": [2, 9, 5]}),
        ([3, 9, 6, 3], {"population": 2, "width": [[4, 6], [9, 2]]}),
        ([3, 8, 3], {"population": 2, "loss": nns.SoftmaxCrossEntropy(reduction="sum")}),
        ([3, 8, 3], {"population": 2, "dtype": np.float32}),
        # from accel.LANES_FROM members on, members share vector lanes (8 to a group):
        # every activation and reduction there, and populations over several groups, the
        # last one partly empty, with widths that differ inside and across groups
        every([3, 7, 3], {"activation": "leaky_relu", "population": 8}),
        every([3, 7, 3], {"activation": "identity", "population": 6}),
        every([3, 7, 3], {"activation": "leaky_relu", "population": 9, "width": [7, 2, 5] * 3}),
        every(
            [3, 6, 3], {"activation": "identity", "population": 7, "width": [1, 6, 3, 4, 6, 2, 5]}
        ),
        ([3, 8, 3], {"population": 8, "loss": nns.SoftmaxCrossEntropy(reduction="sum")}),
        ([3, 9, 3], {"population": 19, "width": [1 + p % 9 for p in range(19)]}),
        (
            [3, 6, 4, 3],
            {
                "activation": "tanh",
                "population": 11,
                "width": [[6 - p % 5, 1 + p % 4] for p in range(11)],
            },
        ),
        every([3, 5, 3], {"activation": "sigmoid", "population": 9, "width": [5, 1] * 4 + [3]}),
        every([3, 3], {"population": 10}),  # no hidden layer
        ([3, 8, 3], {"population": 17, "dtype": np.float32}),
    ],
)
def test_compiled_epoch_equals_numpy_loop(sizes, kwargs, data):
    (a, ha), (b, hb) = _pair(sizes, data, **kwargs)
    tol = 1e-5 if kwargs.get("dtype") == np.float32 else 1e-12
    for key, value in a.population_params.items():
        assert b.population_params[key].dtype == value.dtype
        np.testing.assert_allclose(b.population_params[key], value, rtol=tol, atol=tol)
    np.testing.assert_allclose(hb["loss"], ha["loss"], rtol=tol, atol=tol)
    np.testing.assert_array_equal(hb["accuracy"], ha["accuracy"])


def test_per_member_learning_rates_and_step_count(data):
    X, y = data
    lrs = np.array([0.3, 0.03, 0.003])
    nets, optimizers = [], []
    for engine in ("numpy", "numba"):
        net = nns.MLP([3, 6, 3], population=3, seed=2)
        opt = nns.SGD(lr=lrs)
        net.fit(X, y, epochs=2, batch_size=10, optimizer=opt, seed=1, engine=engine)
        nets.append(net)
        optimizers.append(opt)
    for key, value in nets[0].population_params.items():
        np.testing.assert_allclose(nets[1].population_params[key], value, rtol=1e-12, atol=1e-13)
    assert optimizers[0].t == optimizers[1].t == 2 * 7  # 61 rows, batch 10: 7 steps an epoch


def test_masked_units_stay_zero(data):
    X, y = data
    net = nns.MLP([3, 9, 3], population=3, seed=0, width=[2, 9, 4])
    net.fit(X, y, epochs=2, batch_size=8, optimizer=nns.SGD(lr=0.1), engine="numba")
    W1, b1, W2 = net.params["W1"], net.params["b1"], net.params["W2"]
    assert np.all(W1[0, :, 2:] == 0) and np.all(b1[0, 2:] == 0) and np.all(W2[0, 2:] == 0)
    assert np.all(W1[2, :, 4:] == 0) and np.all(W2[2, 4:] == 0)


def test_tutorial_results_agree_across_engines():
    X_train, X_test, y_train, y_test = T.load_moons()
    X_train, y_train = X_train[:600], y_train[:600]
    results = []
    for engine in ("numpy", "numba"):
        net = T.tutorial_network(2, 16, 2, seed=3, population=5)
        net.fit(
            X_train, y_train, epochs=3, batch_size=10, optimizer=nns.SGD(lr=1e-4), engine=engine
        )
        results.append(net.score(X_test, y_test))
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_frozen_members_do_not_move(engine, data):
    X, y = data

    class FreezeFirst(nns.Callback):
        def on_train_begin(self, run):
            run.active[0] = False

    net = nns.MLP([3, 6, 3], population=2, seed=0)
    before = {k: v.copy() for k, v in net.params.items()}
    net.fit(
        X,
        y,
        epochs=2,
        batch_size=8,
        optimizer=nns.SGD(lr=0.1),
        engine=engine,
        callbacks=[FreezeFirst()],
    )
    for key, value in before.items():
        np.testing.assert_array_equal(net.params[key][0], value[0])
        assert not np.array_equal(net.params[key][1], value[1])


def test_frozen_lane_group_and_member_agree_with_numpy_loop(data):
    """Members 0-7 (one whole lane group of the kernel) and 9 frozen; the rest train."""
    X, y = data
    frozen = [0, 1, 2, 3, 4, 5, 6, 7, 9]

    class Freeze(nns.Callback):
        def on_train_begin(self, run):
            run.active[frozen] = False

    nets = []
    for engine in ("numpy", "numba"):
        net = nns.MLP([3, 6, 3], population=12, seed=0, width=[6, 2, 3, 4, 5, 6] * 2)
        before = {k: v.copy() for k, v in net.params.items()}
        net.fit(
            X,
            y,
            epochs=2,
            batch_size=8,
            optimizer=nns.SGD(lr=0.1),
            engine=engine,
            callbacks=[Freeze()],
        )
        for key, value in before.items():
            np.testing.assert_array_equal(net.params[key][frozen], value[frozen])
        nets.append(net)
    for key, value in nets[0].params.items():
        np.testing.assert_allclose(nets[1].params[key], value, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "net_kwargs, fit_kwargs, reason",
    [
        ({"dropout": 0.2}, {}, "dropout"),
        ({"l2": 0.1}, {}, "penalties"),
        ({"activation": "gelu"}, {}, "gelu"),
        ({}, {"optimizer": nns.Adam()}, "plain SGD"),
        ({}, {"optimizer": nns.SGD(lr=0.1, momentum=0.9)}, "plain SGD"),
        ({"loss": nns.SoftmaxCrossEntropy(label_smoothing=0.1)}, {}, "cross-entropy"),
        ({}, {"sample_weight": np.ones(61)}, "sample weights"),
    ],
)
def test_numba_engine_refuses_what_it_does_not_compile(net_kwargs, fit_kwargs, reason, data):
    X, y = data
    fit_kwargs = {"optimizer": nns.SGD(lr=0.1), **fit_kwargs}
    net = nns.MLP([3, 6, 3], seed=0, **net_kwargs)
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ValueError, match=f"engine.*{reason}"):
        net.fit(X, y, epochs=1, engine="numba", **fit_kwargs)
    for key, value in before.items():
        np.testing.assert_array_equal(net.params[key], value)
    # "auto" falls back to the NumPy loop and trains
    net.fit(X, y, epochs=1, engine="auto", **fit_kwargs)


def test_batch_callbacks_use_the_numpy_loop(data):
    X, y = data
    seen = []

    class Count(nns.Callback):
        def on_batch_end(self, run, batch, logs):
            seen.append(batch)

    net = nns.MLP([3, 6, 3], seed=0)
    assert accel.unsupported(net, y, None, nns.SGD(lr=0.1), [Count()]) is not None
    net.fit(X, y, epochs=1, batch_size=10, optimizer=nns.SGD(lr=0.1), callbacks=[Count()])
    assert seen == list(range(7))


def test_auto_leaves_large_layers_to_numpy(data):
    X, y = data
    small = nns.MLP([3, 64, 3])
    large = nns.MLP([3, 512, 512, 3])
    assert accel.worthwhile(small, batch_size=10)
    assert not accel.worthwhile(large, batch_size=10)
    assert accel.unsupported(large, y, None, nns.SGD(lr=0.1), []) is None  # numba= still runs


def test_unknown_engine_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="engine"):
        nns.MLP([3, 4, 3]).fit(X, y, engine="cuda")


def _random_biases(net, seed=0):
    rng = np.random.default_rng(seed)
    for layer in net.dense_layers:
        b = layer.params["b"]
        b[...] = rng.normal(size=b.shape).astype(b.dtype)
    return net


@pytest.mark.parametrize(
    "sizes, kwargs",
    [
        ([3, 8, 3], {"population": 8}),
        every([3, 7, 3], {"activation": "leaky_relu", "population": 8}),
        every([3, 7, 3], {"activation": "identity", "population": 6}),
        ([3, 9, 3], {"population": 19, "width": [1 + p % 9 for p in range(19)]}),
        (
            [3, 6, 4, 3],
            {
                "activation": "tanh",
                "population": 11,
                "width": [[6 - p % 5, 1 + p % 4] for p in range(11)],
            },
        ),
        every([3, 5, 3], {"activation": "sigmoid", "population": 9}),
        every([3, 3], {"population": 10}),  # no hidden layer
        ([3, 8, 3], {"population": 17, "dtype": np.float32}),
    ],
)
def test_compiled_logits_equal_numpy_forward(sizes, kwargs, monkeypatch, predictions_compile):
    # 149 rows: two whole blocks of the prediction kernel (forward_lanes) and an odd third
    X = np.random.default_rng(3).normal(size=(149, 3)) * 2
    net = _random_biases(nns.MLP(sizes, seed=1, **kwargs))
    fast = forward.logits(net, X)
    assert fast is not None and fast.dtype == net.dtype
    assert fast.shape == (net.n_members, 149, sizes[-1])
    np.testing.assert_array_equal(net.decision_function(X), fast)  # predict takes it
    with monkeypatch.context() as m:
        m.setattr(accel, "available", lambda: False)
        reference = net.decision_function(X)  # the NumPy forward pass
    tol = 1e-5 if kwargs.get("dtype") == np.float32 else 1e-12
    np.testing.assert_allclose(fast, reference, rtol=tol, atol=tol)


def test_compiled_logits_only_where_they_apply(data, predictions_compile):
    X, _ = data
    assert forward.logits(nns.MLP([3, 8, 3], population=accel.LANES_FROM - 1), X) is None
    assert forward.logits(nns.MLP([3, 64, 64, 3], population=8), X) is None  # NumPy wins
    assert forward.logits(nns.MLP([3, 8, 3], population=8, dropout=0.5), X) is None
    assert forward.logits(nns.MLP([3, 8, 3], population=8), X) is not None


@pytest.mark.parametrize(
    "n_members, n_rows",
    # the rejection mask halves as the Fisher-Yates index falls past each power of two;
    # lengths of 2**k + 1 start the index exactly on one
    [(2, 501), (9, 501)] + [(3, n) for n in (1, 2, 3, 4, 5, 17, 257, 1025)],
)
def test_compiled_shuffle_is_numpys_permutation(n_members, n_rows):
    from nnscratch.core.epoch import shuffled

    rows = np.arange(3, 3 + n_rows * n_members).reshape(n_members, n_rows)  # each its own rows
    seeds = np.random.SeedSequence(7 + n_rows).spawn(n_members)
    ours, numpys = ([np.random.default_rng(s) for s in seeds] for _ in range(2))
    for _ in range(3):  # the streams carry on from one epoch to the next
        want = np.stack([rows[p][r.permutation(n_rows)] for p, r in enumerate(numpys)])
        np.testing.assert_array_equal(compiled_shuffled(rows, ours), want)
    # the generators are left where NumPy's are, the spare 32-bit half included
    assert [r.bit_generator.state for r in ours] == [r.bit_generator.state for r in numpys]
    # the NumPy path gives the same, and so does the compiled one for shared rows
    again, twice = ([np.random.default_rng(s) for s in seeds] for _ in range(2))
    np.testing.assert_array_equal(shuffled(rows, again), compiled_shuffled(rows, twice))
    common = np.broadcast_to(np.arange(n_rows), (n_members, n_rows))
    mine, numpys = compiled_shuffled(common, twice), shuffled(common, again)
    np.testing.assert_array_equal(mine, numpys)
    assert mine.flags.c_contiguous and numpys.flags.c_contiguous  # a row per member


def test_compiled_shuffle_falls_back_for_other_generators():
    rows = np.broadcast_to(np.arange(100), (8, 100))
    make = [np.random.Generator(np.random.MT19937(s)) for s in range(8)]
    want = np.stack([np.random.Generator(np.random.MT19937(s)).permutation(100) for s in range(8)])
    np.testing.assert_array_equal(compiled_shuffled(rows, make), want)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_one_member_kernel_memory_follows_the_layers_not_their_square():
    """A long, thin layer (2-16384-2, batch 1: small enough for the loops) trains in the
    one-member kernel with buffers the size of its layers; square (16384 x 16384) ones
    would touch 4 GB. Run in a fresh process, whose own peak is VmHWM (``ru_maxrss``
    would carry over the test runner's own peak across the exec)."""
    code = """if True:
        import numpy as np
        import nnscratch as nns
        X = np.array([[0.5, -1.0], [1.5, 0.25], [-0.5, 2.0]])
        net = nns.MLP([2, 16384, 2], seed=0)
        net.fit(X, [0, 1, 0], epochs=1, batch_size=1, optimizer=nns.SGD(lr=0.1), engine="numba")
        ref = nns.MLP([2, 16384, 2], seed=0)
        ref.fit(X, [0, 1, 0], epochs=1, batch_size=1, optimizer=nns.SGD(lr=0.1), engine="numpy")
        for key, value in ref.params.items():
            np.testing.assert_allclose(net.params[key], value, rtol=1e-12, atol=1e-14)
        with open("/proc/self/status") as status:
            print(next(line for line in status if line.startswith("VmHWM:")).split()[1])  # kB
    """
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    peak_mib = int(run.stdout.split()[-1]) / 1024
    assert peak_mib < 1024, f"peak memory {peak_mib:.0f} MiB"


#: The vector-width tests read x86 assembly.
X86_ONLY = pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"), reason="x86's vector registers"
)


def compiled_for(cpu: str, code: str, tmp_path) -> object:
    """What ``code`` prints last (JSON), run in a fresh process that compiles for ``cpu`` by
    name, with that processor's own features whatever this machine has, on an empty cache:
    numba reads its target when it starts. The code compiles and must not run what it
    compiles (this machine may not have the instructions)."""
    env = dict(os.environ, NUMBA_CPU_NAME=cpu, NUMBA_CPU_FEATURES="", NUMBA_CACHE_DIR=str(tmp_path))
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


WIDE_VECTORS = """if True:
    import json, re
    import numba as nb
    from nnscratch.fast.llvm import KERNEL, at, compiled, scratch, wide_vectors

    def tile(wide):  # y[:8] = a x[:8] + y[:8], as the kernels write a lane loop
        @nb.njit(**dict(KERNEL, cache=False))
        def f(x, y, a):
            if wide:
                wide_vectors(x)
            xp, yp, t = at(x, 0), at(y, 0), scratch(x)
            for lane in range(8):
                t[lane] = a * xp[lane] + yp[lane]
            for lane in range(8):
                yp[lane] = t[lane]
        return f

    found = {}
    with compiled():
        for wide in (False, True):
            f = tile(wide)
            f.compile((nb.float64[::1], nb.float64[::1], nb.float64))
            asm = f.inspect_asm(f.signatures[0])
            found[str(wide)] = re.findall(r"vfmadd\\w*pd\\s+\\S+, %([xyz]mm)", asm)
    print(json.dumps(found))
"""


#: LLVM's version in llvmlite: which processors it knows by name.
LLVM_VERSION = tuple(llvm_binding.llvm_version_info)


@X86_ONLY
@pytest.mark.parametrize(
    "cpu, wide",
    [
        ("skylake-avx512", ["zmm"]),
        ("sapphirerapids", ["zmm"]),
        pytest.param(
            "znver4",
            ["zmm"],
            marks=pytest.mark.skipif(
                LLVM_VERSION < (16,), reason="LLVM knows the Zen 4 from version 16 on"
            ),
        ),
        ("znver3", ["ymm", "ymm"]),  # AVX2: no 512-bit vectors
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_lane_loops_use_whole_vectors_where_the_machine_has_them(cpu, wide, tmp_path):
    """LLVM tunes Intel's AVX-512 processors to prefer 256-bit vectors, and compiled a lane
    loop of 8 float64 as two 256-bit halves there; ``wide_vectors`` makes it one 512-bit
    multiply-add, as on AMD's, and leaves an AVX2 machine's two halves alone. Compiled,
    never run, for each processor by name."""
    found = compiled_for(cpu, WIDE_VECTORS, tmp_path)
    assert found["True"] == wide
    if cpu.startswith(("skylake", "sapphire")):
        assert found["False"] == ["ymm", "ymm"], (
            "LLVM no longer prefers 256-bit vectors on this processor: wide_vectors may go"
        )


EPOCH_KERNEL_WIDTHS = """if True:
    import json, re
    import numba as nb
    import nnscratch as nns
    from nnscratch import tutorial as T
    from nnscratch.fast import threads
    from nnscratch.fast.lanes import epoch_kernel

    def compile_only(kernel, args, items):  # this machine may not run the code compiled
        kernel.compile(tuple(nb.typeof(a) for a in (*args, 0, 1)))

    threads.split = compile_only
    X, _, y, _ = T.load_moons()
    net = T.tutorial_network(2, 64, 2, seed=0, population=16)
    net.fit(X, y, epochs=1, batch_size=10, optimizer=nns.SGD(lr=T.ALPHA), engine="numba")
    kernel = epoch_kernel(1)
    asm = kernel.inspect_asm(kernel.signatures[0])
    arithmetic = r"v(?:add|sub|mul|div|max|min|cmp\\w*|fn?m(?:add|sub)\\d*)pd\\s[^\\n]*%([xyz]mm)"
    print(json.dumps(re.findall(arithmetic, asm)))
"""


@X86_ONLY
def test_epoch_kernel_arithmetic_is_whole_vectors_on_a_skylake_x(tmp_path):
    """W1's epoch kernel, helpers inlined, compiled (not run) for a Skylake-X: its packed
    float64 sums, differences, products, quotients, multiply-adds and compares are 512 bits
    wide, in the kernel's own loops and in the phases that LLVM optimises on their own before
    it inlines them (without ``wide_vectors`` there, their ReLU gates came out 256 bits
    wide). Nothing compiled runs: the kernel is the only compiled code a one-epoch ``fit``
    calls (its shuffle is NumPy's), and ``threads.split`` only compiles it."""
    widths = compiled_for("skylake-avx512", EPOCH_KERNEL_WIDTHS, tmp_path)
    assert widths and set(widths) == {"zmm"}, widths
