"""The compiled path's threads (nnscratch.fast.threads): every item once, errors kept."""

import threading

import numpy as np
import pytest

nb = pytest.importorskip("numba")

import nnscratch as nns  # noqa: E402
from nnscratch.fast import threads  # noqa: E402


@pytest.fixture
def cores(monkeypatch):
    def given(n):
        monkeypatch.setattr(nb.config, "NUMBA_NUM_THREADS", n)

    return given


def test_the_thread_count_is_numbas_and_at_most_one_per_item(cores):
    cores(4)
    assert [threads.count(n) for n in (0, 1, 3, 4, 13)] == [1, 1, 3, 4, 4]
    cores(1)
    assert threads.count(13) == 1


@pytest.mark.parametrize("n_threads, items", [(1, 13), (2, 13), (3, 13), (4, 2), (2, 1)])
def test_every_item_runs_once_in_its_callers_thread(cores, n_threads, items):
    cores(n_threads)
    seen, lock = [], threading.Lock()

    def kernel(tag, first, stride):  # the kernels' loop: range(first, items, stride)
        for i in range(first, items, stride):
            with lock:
                seen.append((tag, i, first, stride, threading.get_ident()))

    threads.split(kernel, ("epoch",), items)
    assert sorted(i for _, i, *_ in seen) == list(range(items))
    stride = min(n_threads, items)
    assert {(first, s) for _, i, first, s, _ in seen} == {
        (i % stride, stride) for i in range(items)
    }
    assert {tag for tag, *_ in seen} == {"epoch"}
    mine = {first for _, _, first, _, ident in seen if ident == threading.get_ident()}
    assert mine == {0}  # this thread runs the first share; the others ran in other threads


def test_an_error_in_another_thread_is_raised_after_every_share_ended(cores):
    cores(2)
    ended = []

    def kernel(first, stride):
        if first == 1:
            raise MemoryError("share 1")
        threading.Event().wait(0.05)  # this thread's share outlasts the failing one
        ended.append(first)

    with pytest.raises(MemoryError, match="share 1"):
        threads.split(kernel, (), 2)
    assert ended == [0]


def test_an_interrupt_in_this_thread_waits_for_the_others(cores):
    cores(2)
    ended = []

    def kernel(first, stride):
        if first == 0:
            raise KeyboardInterrupt
        threading.Event().wait(0.05)
        ended.append(first)  # the other share still finished before split returned

    with pytest.raises(KeyboardInterrupt):
        threads.split(kernel, (), 2)
    assert ended == [1]


@pytest.mark.parametrize("population", [1, 20])  # the members kernel, the lanes kernel
def test_one_thread_or_two_train_the_same_weights_bit_for_bit(cores, population):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    weights = []
    for n_threads in (1, 2):
        cores(n_threads)
        net = nns.MLP([2, 8, 2], population=population, seed=3)
        net.fit(X, y, epochs=3, batch_size=7, optimizer=nns.SGD(lr=0.05), seed=4, engine="numba")
        weights.append([p.copy() for p in net.population_params.values()])
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)
