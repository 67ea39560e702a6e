"""The benchmark peers compute what nnscratch computes, so their timings compare like with like.

The tutorial-style NumPy loop equals nnscratch step for step (same initial weights, same
per-epoch permutations) to 1e-12; the bare float32 epoch equals nnscratch's epoch to float32
rounding; PyTorch and scikit-learn peers (skipped when missing) learn the moons as well.
"""

from __future__ import annotations

import importlib.util
import inspect

import numpy as np
import pytest
from benchmarks.peers import numpy_loop as nl
from benchmarks.workloads import WORKLOADS, dense_flops, subsample
from helpers import central_differences

import nnscratch as nns
from nnscratch import tutorial
from nnscratch.core.seeding import member_seeds, rng_for
from nnscratch.core.train import train

# Where ``fit`` has a compiled engine beside the NumPy loop, these tests pin the NumPy loop
# (the compiled one is pinned against it by its own tests, and compiling takes seconds).
HAS_ENGINE = "engine" in inspect.signature(train).parameters
ENGINE = {"engine": "numpy"} if HAS_ENGINE else {}


@pytest.fixture(scope="module")
def moons_small():
    """95 training rows of the tutorial's moons (batch 10 leaves a short last batch of 5)."""
    X_train, X_test, y_train, y_test = tutorial.load_moons()
    return X_train[:95], X_test[:300], y_train[:95], y_test[:300]


def tutorial_net(seed, hidden=64):
    return tutorial.tutorial_network(2, hidden, 2, seed=seed)


def train_in_order(net, X, y, perms) -> None:
    """One epoch of the tutorial's SGD (batch 10, lr 1e-4) per permutation, rows in its order."""
    for perm in perms:
        net.fit(
            X[perm],
            y[perm],
            epochs=1,
            batch_size=10,
            optimizer=nns.SGD(lr=1e-4),
            shuffle=False,
            **ENGINE,
        )


def test_numpy_loop_equals_nnscratch_with_the_same_permutations(moons_small):
    X, _, y, _ = moons_small
    net = tutorial_net(seed=3)
    model = {k: v.copy() for k, v in net.params.items()}
    initial = {k: v.copy() for k, v in net.params.items()}
    rng = np.random.default_rng(7)
    perms = [rng.permutation(X.shape[0]) for _ in range(2)]
    train_in_order(net, X, y, perms)
    nl.fit(model, X, nl.one_hot(y, 2), batch_size=10, iter_num=2, perms=perms)
    for k, v in net.params.items():
        assert np.abs(v - initial[k]).max() > 1e-6  # training moved the weights
        np.testing.assert_allclose(model[k], v, rtol=0, atol=1e-12)


def test_numpy_loop_equals_tutorial_fit_with_its_own_shuffles(moons_small):
    """``tutorial.fit(seed=s)`` shuffles member 0's ``"shuffle"`` stream of ``s``; given those
    permutations, the reference loop lands on the same weights."""
    X, _, y, _ = moons_small
    model = tutorial.init_network(seed=11)
    reference = {k: v.copy() for k, v in model.items()}
    tutorial.fit(model, X, y, 10, 2, seed=5)  # the tutorial API's own engine choice
    shuffler = rng_for(member_seeds(5, 1)[0], "shuffle", 0)
    perms = [shuffler.permutation(X.shape[0]) for _ in range(2)]
    nl.fit(reference, X, nl.one_hot(y, 2), 10, 2, perms=perms)
    for k in model:
        np.testing.assert_allclose(reference[k], model[k], rtol=0, atol=1e-12)


def test_numpy_loop_gradient_is_the_summed_cross_entropy_gradient(moons_small):
    """Central differences of the summed loss, eq. (9), in float64."""
    X, _, y, _ = moons_small
    model = nl.init_network(np.random.default_rng(0), n_hidden=5)
    Y = nl.one_hot(y[:7], 2)

    def loss(m):
        return -np.sum(Y * np.log(nl.forward(m, X[:7])[1]))

    grads = nl.backward(model, X[:7], Y)
    numeric = central_differences(lambda: loss(model), model)
    for k, value in numeric.items():
        g = grads[k]
        assert np.all(np.abs(value - g) < 1e-5 * np.maximum(1.0, np.abs(g))), k


def test_bare_epoch_equals_nnscratch_epoch_in_float32():
    sizes = [20, 16, 12, 5]
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, sizes[0])).astype(np.float32)  # 300 = 2 * 128 + 44
    y = rng.integers(0, sizes[-1], 300)
    net = nns.MLP(sizes, seed=1, dtype=np.float32)
    p = net.params
    bare = nl.BareMLP(
        [p[f"W{k}"].copy() for k in (1, 2, 3)],
        [p[f"b{k}"].copy() for k in (1, 2, 3)],
        batch_size=128,
    )
    before = bare.Ws[0].copy()
    perm = rng.permutation(300)
    net.fit(
        X[perm],
        y[perm],
        epochs=1,
        batch_size=128,
        optimizer=nns.SGD(lr=0.5),
        shuffle=False,
        **ENGINE,
    )
    bare.epoch(X, y, perm, 0.5)
    assert np.abs(bare.Ws[0] - before).max() > 1e-3
    for k in range(3):
        assert bare.Ws[k].dtype == np.float32
        np.testing.assert_allclose(bare.Ws[k], net.params[f"W{k + 1}"], rtol=1e-4, atol=2e-5)
        np.testing.assert_allclose(bare.bs[k], net.params[f"b{k + 1}"], rtol=1e-4, atol=2e-5)


def test_adam_loop_matches_nnscratch_adam(moons_small):
    """The dict-style Adam of the digits workload is nnscratch's Adam, step for step."""
    if not hasattr(nns, "Adam"):
        pytest.skip("nns.Adam not available")
    X, _, y, _ = moons_small
    net = nns.MLP([2, 8, 2], seed=4)
    model = {k: v.copy() for k, v in net.params.items()}
    perm = np.random.default_rng(1).permutation(X.shape[0])
    net.fit(X[perm], y[perm], epochs=1, batch_size=32, optimizer=nns.Adam(lr=1e-2), shuffle=False)

    class Fixed:  # hands the reference loop the same permutation
        def permutation(self, n):
            return perm

    nl.fit_adam(model, X, nl.one_hot(y, 2), 32, 1, Fixed(), lr=1e-2)
    for k, v in net.params.items():
        np.testing.assert_allclose(model[k], v, rtol=1e-10, atol=1e-12)


def test_flop_rule_by_hand():
    # 2-64-2, 10 rows, one epoch: layer 1 4*2*64 = 512, layer 2 6*64*2 = 768 per row
    assert dense_flops([2, 64, 2], 10, 1) == 10 * (512 + 768)
    # evaluation adds 2 D H per row and layer
    assert dense_flops([2, 64, 2], 10, 1, eval_rows=3) == 12800 + 3 * 2 * 256
    assert WORKLOADS["W1"].flops == 100 * (10 * 3750 * 1280 + 1250 * 512)


def test_subsample_spreads_over_the_networks():
    idx = subsample(WORKLOADS["W2"], 6)
    assert idx[0] == 0 and idx[-1] == 110 and idx.size == 6
    assert np.all(np.diff(idx) > 0)


torch_missing = importlib.util.find_spec("torch") is None
sklearn_missing = importlib.util.find_spec("sklearn") is None


@pytest.fixture(scope="module")
def moons_medium():
    """The tutorial's training set and 500 test rows."""
    X_train, X_test, y_train, y_test = tutorial.load_moons()
    return X_train, X_test[:500], y_train, y_test[:500]


@pytest.mark.skipif(torch_missing, reason="torch not installed")
def test_torch_peers_learn_the_moons_like_the_reference(moons_medium, monkeypatch):
    """5 epochs, batch 10: the 64-unit members reach the reference loop's accuracy range.
    The stacked run includes an 8-unit member, so the width mask is exercised too."""
    from benchmarks.peers import torch_peers as tp

    monkeypatch.setenv("NNS_BENCH_TORCH_THREADS", "1")  # tiny ops: threads only add waiting
    tp.torch_module.cache_clear()
    X, Xt, y, yt = moons_medium
    widths = [8, 64, 64]
    ref = nl.test_widths(X, y, Xt, yt, widths, np.random.default_rng(0), 10, 5)
    loop = tp.test_loop(X, y, Xt, yt, widths, 10, 5, seed=0)
    stacked = tp.test_stacked(X, y, Xt, yt, widths, 10, 5, seed=0)
    assert loop.shape == stacked.shape == (3,)
    assert np.all((stacked >= 0) & (stacked <= 1))
    for acc in (loop[1:].mean(), stacked[1:].mean()):
        assert acc > 0.8
        assert abs(acc - ref[1:].mean()) < 0.1


@pytest.mark.skipif(sklearn_missing, reason="scikit-learn not installed")
def test_sklearn_peer_learns_the_moons(moons_medium):
    from benchmarks.peers import sklearn_peer as sp

    X, Xt, y, yt = moons_medium
    acc = sp.test_loop(X, y, Xt, yt, [32, 64], 10, 5, seed=0, alpha=1e-3)
    assert acc.shape == (2,) and acc.mean() > 0.8


def test_tutorial_code_peer_is_the_same_algorithm():
    """The literal peer builds softmax and one-hot rows in loops; the numbers are the same."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(7, 3)) * 50
    np.testing.assert_allclose(nl.softmax_rows(a), nl.softmax(a), rtol=1e-14)
    labels = rng.integers(0, 3, size=7)
    np.testing.assert_array_equal(nl.one_hot_rows(labels, 3), nl.one_hot(labels, 3))
    X_train, X_test, y_train, y_test = tutorial.load_moons()
    args = (X_train[:200], y_train[:200], X_test[:100], y_test[:100], [3, 8])
    vectorised = nl.test_widths(*args, np.random.default_rng(1), 10, 2)
    literal = nl.test_widths(*args, np.random.default_rng(1), 10, 2, literal=True)
    np.testing.assert_array_equal(literal, vectorised)


@pytest.mark.skipif(torch_missing, reason="torch not installed")
def test_torch_func_peer_equals_nnscratch_population_step_for_step(moons_small):
    """Given nnscratch's initial weights and the same row orders, the ``torch.func`` population
    (``stack_module_state``, ``vmap`` over ``grad``) lands on nnscratch's weights after two
    epochs. The 3-unit member's padding keeps nonzero draws, so only the width mask keeps
    those units out."""
    from benchmarks.peers import torch_func_peer as tf
    from benchmarks.peers import torch_peers as tp

    torch = tp.torch_module()
    X, _, y, _ = moons_small
    widths = [3, 8, 8]
    net = tutorial.tutorial_network(2, 8, 2, seed=2, population=3, width=widths)
    initial = {k: v.copy() for k, v in net.params.items()}
    base, params, mask = tf.make_population(
        torch, 2, widths, 2, torch.Generator().manual_seed(0), torch.float64
    )
    assert mask is not None and mask.shape == (3, 8)
    names = {"hidden.weight": "W1", "hidden.bias": "b1", "output.weight": "W2", "output.bias": "b2"}

    def linear_layout(params):  # nnscratch's (P, in, out) as torch.nn.Linear's (P, out, in)
        return {
            t: params[k].transpose(0, 2, 1) if k[0] == "W" else params[k] for t, k in names.items()
        }

    assert set(params) == set(names)

    def used(name, h):  # the part of a parameter a member of width h uses
        return {"hidden.weight": np.s_[:h], "hidden.bias": np.s_[:h]}.get(name) or (
            np.s_[:, :h] if name == "output.weight" else np.s_[:]
        )

    for name, value in linear_layout(initial).items():
        assert params[name].shape == value.shape
        for m, h in enumerate(widths):  # the padding keeps its N(0, 1) draws: masked off
            params[name][m][used(name, h)] = torch.from_numpy(value[m][used(name, h)])
    rng = np.random.default_rng(9)
    perms = [rng.permutation(X.shape[0]) for _ in range(2)]
    train_in_order(net, X, y, perms)  # every member sees the rows in the same order
    orders = [torch.from_numpy(np.tile(perm, (3, 1))) for perm in perms]
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y).long()
    tf.fit_population(torch, base, params, mask, Xt, yt, 10, 1e-4, orders)
    assert np.abs(net.params["W1"] - initial["W1"]).max() > 1e-6  # training moved the weights
    for name, want in linear_layout(net.params).items():
        got = params[name].numpy()
        for m, h in enumerate(widths):  # units beyond a member's width are never used
            cut = used(name, h)
            np.testing.assert_allclose(
                got[m][cut], want[m][cut], rtol=0, atol=1e-12, err_msg=f"{name}, member {m}"
            )


@pytest.mark.skipif(torch_missing, reason="torch not installed")
def test_torch_func_peer_learns_the_moons_like_the_stacked_peer(moons_medium, monkeypatch):
    """The whole peer, its own initialisation and shuffles: 5 epochs of batch 10 reach the
    stacked PyTorch peer's and the reference loop's accuracy range."""
    from benchmarks.peers import torch_func_peer as tf
    from benchmarks.peers import torch_peers as tp

    monkeypatch.setenv("NNS_BENCH_TORCH_THREADS", "1")
    tp.torch_module.cache_clear()
    X, Xt, y, yt = moons_medium
    widths = [8, 64, 64]
    ref = nl.test_widths(X, y, Xt, yt, widths, np.random.default_rng(0), 10, 5)
    stacked = tp.test_stacked(X, y, Xt, yt, widths, 10, 5, seed=0)
    func = tf.test_func(X, y, Xt, yt, widths, 10, 5, seed=0)
    assert func.shape == (3,) and np.all((func >= 0) & (func <= 1))
    acc = func[1:].mean()
    assert acc > 0.8
    assert abs(acc - stacked[1:].mean()) < 0.1 and abs(acc - ref[1:].mean()) < 0.1
    one = tf.test_func(X, y, Xt, yt, [64], 10, 2, seed=1)  # W3: a population of one
    assert one.shape == (1,) and one[0] > 0.8


def test_a_cuda_build_of_torch_is_said_with_its_size_and_the_cpu_command(tmp_path):
    """The note is built from the module's attributes and the files beside it, so a fake
    module stands in for a CUDA build."""
    from types import SimpleNamespace

    from benchmarks.run import torch_build_note

    site = tmp_path / "site-packages"
    for folder, size in (("torch", 3_000_000), ("nvidia/cublas/lib", 2_500_000), ("numpy", 9)):
        (site / folder).mkdir(parents=True)
        (site / folder / "lib.so").write_bytes(b"\0" * size)
    init = site / "torch" / "__init__.py"
    init.write_text("")
    cuda = SimpleNamespace(__version__="2.9.0+cu128", __file__=str(init))
    cuda.version = SimpleNamespace(cuda="12.8")
    note = torch_build_note(cuda)
    assert note.startswith("note: PyTorch 2.9.0+cu128 is a CUDA 12.8 build, 6 MB on disk")
    assert note.endswith("pip install torch --index-url https://download.pytorch.org/whl/cpu")
    cpu = SimpleNamespace(__version__="2.13.0+cpu", __file__=str(init))
    cpu.version = SimpleNamespace(cuda=None)
    assert torch_build_note(cpu) is None


def test_a_missing_peer_package_is_skipped_with_its_install_command(monkeypatch):
    from benchmarks import workloads

    monkeypatch.setattr(workloads.importlib.util, "find_spec", lambda name: None)
    for peer in ("torch-loop", "torch-stacked", "torch-func"):
        assert workloads.missing(peer) == (
            "torch not installed (pip install torch --index-url https://download.pytorch.org/whl/cpu)"
        )
    assert workloads.missing("jax") == "jax not installed (pip install jax)"
    assert workloads.missing("numpy-loop") is None
