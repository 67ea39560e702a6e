"""Repeats and sweeps on other workers (joblib's loky processes, Dask) and resumable runs:
the same records whichever runs them, and a resumed run equal to an uninterrupted one."""

from __future__ import annotations

import dataclasses
import json
import os
import signal

import joblib
import pytest

from nnscratch.core.callback import Callback
from nnscratch.data import load_moons
from nnscratch.experiments import Config, repeat, sweep
from nnscratch.experiments import runner as runner_module

DATA = load_moons(n_samples=200)  # 150 train / 50 test
TINY = Config(hidden=8, lr=0.1, batch_size=16, epochs=2)
GRID = {"hidden": [3, 9], "lr": [0.05, 0.2], "batch_size": [16, 32]}  # 2 groups of 4 points


def timeless(records):
    return [dataclasses.replace(r, seconds=0.0) for r in records]


@pytest.fixture(scope="module")
def here():
    """The sweep in this process, chunks of at most 4 members."""
    return sweep(GRID, trials=3, base=TINY, data=DATA, seed=9, quiet=True, chunk_size=4)


def test_chunk_size_splits_the_work_and_keeps_grid_order(here):
    assert [(r.config_index, r.trial) for r in here] == [(c, t) for c in range(8) for t in range(3)]
    assert [r.seed_spawn_key for r in here] == [(i,) for i in range(24)]
    assert not any(r.interrupted or r.diverged for r in here)


def test_local_processes_give_the_same_records(here):
    got = sweep(GRID, trials=3, base=TINY, data=DATA, seed=9, quiet=True, chunk_size=4, n_jobs=2)
    assert timeless(got) == timeless(here)
    with joblib.parallel_config(backend="loky", n_jobs=2):
        got = sweep(GRID, trials=3, base=TINY, data=DATA, seed=9, quiet=True, chunk_size=4)
    assert timeless(got) == timeless(here)


def test_dask_in_process_and_a_real_scheduler_with_two_worker_processes(here):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_config("dask"),
    ):
        got = sweep(GRID, trials=3, base=TINY, data=DATA, seed=9, quiet=True, chunk_size=4)
    assert timeless(got) == timeless(here)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
        joblib.parallel_config("dask"),
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        got = sweep(GRID, trials=3, base=TINY, data=DATA, seed=9, quiet=True, chunk_size=4)
    assert timeless(got) == timeless(here)


def test_bad_parallel_arguments_are_refused_before_any_work():
    for n_jobs in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="n_jobs: expected None, a number of workers"):
            repeat(TINY, trials=2, data=DATA, seed=0, n_jobs=n_jobs)
    with pytest.raises(ValueError, match="chunk_size"):
        repeat(TINY, trials=2, data=DATA, seed=0, chunk_size=0)
    with pytest.raises(ValueError, match="callbacks: expected none when joblib's workers"):
        repeat(TINY, trials=2, data=DATA, seed=0, n_jobs=2, callbacks=[Callback()])


class CtrlCInGroup(Callback):
    """A real SIGINT in the first batch of the ``group``-th population trained."""

    def __init__(self, group: int) -> None:
        self.group, self.began = group, -1

    def on_train_begin(self, run) -> None:
        self.began += 1

    def on_batch_end(self, run, batch, logs) -> None:
        if self.began == self.group and batch == 0:
            os.kill(os.getpid(), signal.SIGINT)


def run_into(path, **kwargs):
    return sweep(GRID, trials=3, base=TINY, data=DATA, seed=9, quiet=True, chunk_size=4,
                 journal=path, **kwargs)  # fmt: skip


def test_a_journal_resumed_after_ctrl_c_gives_the_uninterrupted_records(tmp_path):
    # every run with a batch callback: the same (NumPy) epoch, so equal to the last bit
    here = run_into(tmp_path / "whole.jsonl", callbacks=[CtrlCInGroup(99)])
    path = tmp_path / "runs.jsonl"
    first = run_into(path, callbacks=[CtrlCInGroup(2)])
    assert sum(not r.interrupted for r in first) == 8  # chunks 0 and 1 finished, 4 each
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["trials"] == 3 and header["seed_entropy"] == 9 and len(header["configs"]) == 8
    assert len(lines) == 1 + 8  # the interrupted trials are not written
    trained = []
    original = runner_module.train_population

    def counting(configs, seeds, data, **kwargs):
        trained.append(len(configs))
        return original(configs, seeds, data, **kwargs)

    runner_module.train_population = counting
    try:
        resumed = run_into(path, callbacks=[CtrlCInGroup(99)])
    finally:
        runner_module.train_population = original
    assert trained == [4] * 4  # only the 16 trials not done
    assert timeless(resumed) == timeless(here)
    assert len(path.read_text().splitlines()) == 1 + 24
    assert timeless(run_into(path)) == timeless(here)  # all done: nothing trained


def test_a_torn_last_line_is_dropped_and_the_run_resumes(here, tmp_path):
    path = tmp_path / "runs.jsonl"
    run_into(path)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:6]) + lines[6][:40])  # 5 records, then a torn one
    assert timeless(run_into(path)) == timeless(here)
    assert [json.loads(line) for line in path.read_text().splitlines()[1:6]] == [
        json.loads(line) for line in lines[1:6]
    ]


def test_a_journal_of_another_run_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "runs.jsonl"
    run_into(path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="trials differs"):
        sweep(GRID, trials=2, base=TINY, data=DATA, seed=9, quiet=True, journal=path)
    with pytest.raises(ValueError, match="seed_entropy differs"):
        sweep(GRID, trials=3, base=TINY, data=DATA, seed=8, quiet=True, journal=path)
    with pytest.raises(ValueError, match="8 configurations there, 1 here"):
        sweep({"hidden": [3]}, trials=3, base=TINY, data=DATA, seed=9, quiet=True, journal=path)
    other_grid = {**GRID, "hidden": [3, 10]}
    with pytest.raises(ValueError, match=r"configuration 4: hidden \[9\] there, \[10\] here"):
        sweep(other_grid, trials=3, base=TINY, data=DATA, seed=9, quiet=True, journal=path)
    assert path.read_bytes() == before
    other = tmp_path / "notes.txt"
    other.write_text("my notes, not a journal")
    with pytest.raises(ValueError, match="first line is not its header"):
        run_into(other)
    assert other.read_text() == "my notes, not a journal"


def test_a_run_seeded_afresh_resumes_with_its_own_seed(tmp_path):
    path = tmp_path / "runs.jsonl"
    first = repeat(TINY, trials=3, data=DATA, quiet=True, journal=path)
    again = repeat(TINY, trials=3, data=DATA, quiet=True, journal=path)
    assert timeless(again) == timeless(first)


# --- the command line ---------------------------------------------------------------------

CLI = ["--data", "moons", "--epochs", "1", "--batch-size", "64", "--quiet", "--seed", "3"]


def cli(capsys, *argv):
    from nnscratch.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_sweep_on_processes_resumes_from_its_jsonl(capsys, tmp_path):
    out = tmp_path / "runs.jsonl"
    argv = ["sweep", "--hidden", "3:6", "--trials", "2", *CLI, "--out", out, "--json"]
    code, first, err = cli(capsys, *argv, "--backend", "processes", "--n-jobs", "2")
    assert code == 0, err
    assert len(out.read_text().splitlines()) == 1 + 6
    code, again, err = cli(capsys, *argv)  # in this process: all done, read back
    assert code == 0, err
    strip = [{**r, "seconds": 0} for r in json.loads(first)["records"]]
    assert [{**r, "seconds": 0} for r in json.loads(again)["records"]] == strip
    code, _, err = cli(capsys, "sweep", "--hidden", "3:6", "--trials", "3", *CLI, "--out", out)
    assert code == 2 and "trials differs: 2 there, 3 here" in err and err.count("\n") == 1


def test_cli_dask_on_a_running_scheduler_and_refusals(capsys):
    distributed = pytest.importorskip("distributed")
    argv = ["experiment", "--trials", "4", *CLI, "--json"]
    code, here, err = cli(capsys, *argv, "--chunk-size", "2")
    assert code == 0, err
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        code, there, err = cli(
            capsys, *argv, "--chunk-size", "2", "--backend", "dask", "--scheduler", address
        )
    assert code == 0, err
    records = [json.loads(text)["records"] for text in (here, there)]
    assert [[{**r, "seconds": 0} for r in rs] for rs in records][0] == [
        {**r, "seconds": 0} for r in records[1]
    ]
    code, _, err = cli(capsys, *argv, "--scheduler", address)
    assert code == 2 and "--scheduler: expected --backend dask" in err
    code, _, err = cli(capsys, *argv, "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and "expected a Dask scheduler that answers" in err


def test_a_journal_edited_by_hand_is_refused_by_line(tmp_path):
    path = tmp_path / "runs.jsonl"
    run_into(path)
    lines = path.read_text().splitlines()
    for field, value, message in (
        ("trial", 99, "line 3: expected configuration 0..7 and trial 0..2, got configuration"),
        ("config_index", 999, "line 3: expected configuration 0..7"),
        ("test_accuracy", 7.5, "line 3: expected test_accuracy in \\[0, 1\\], got 7.5"),
    ):
        record = json.loads(lines[2])
        record[field] = value
        edited = tmp_path / f"{field}.jsonl"
        text = "\n".join([*lines[:2], json.dumps(record), *lines[3:]]) + "\n"
        edited.write_text(text)
        with pytest.raises(ValueError, match=message):
            run_into(edited)
        assert edited.read_text() == text


def test_a_failing_population_is_retried_and_then_reported_while_the_others_finish(
    here, tmp_path, monkeypatch
):
    distributed = pytest.importorskip("distributed")
    from nnscratch.experiments import parallel
    from nnscratch.experiments.runner import PopulationFailed

    real, raised = parallel.train_chunk, []

    def failing(times):
        def train_chunk(configs, seeds, data, callbacks=()):
            unlucky = configs[0].hidden == (9,) and configs[0].batch_size == 32  # one chunk
            if unlucky and len(raised) < times:
                raised.append(configs[0])
                raise RuntimeError("the worker ran out of luck")
            return real(configs, seeds, data, callbacks)

        return train_chunk

    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with cluster, distributed.Client(cluster), joblib.parallel_config("dask"):
        monkeypatch.setattr(parallel, "train_chunk", failing(times=1))  # fails once: retried
        got = sweep(GRID, trials=3, base=TINY, data=DATA, seed=9, quiet=True, chunk_size=4)
        assert len(raised) == 1 and timeless(got) == timeless(here)
        raised.clear()
        monkeypatch.setattr(parallel, "train_chunk", failing(times=99))  # keeps failing
        path = tmp_path / "runs.jsonl"
        with pytest.raises(PopulationFailed) as failed:
            run_into(path)
    assert len(raised) == 3  # tried, then tried again twice
    message = str(failed.value)
    assert message.startswith("1 population(s) failed 3 times, the others finished: ")
    assert "hidden=[9]" in message and "batch_size=32" in message
    assert "RuntimeError: the worker ran out of luck" in message
    records = failed.value.records
    lost = [r for r in records if r.interrupted]
    assert 0 < len(lost) <= 4 and all(r.config.hidden == (9,) for r in lost)
    kept = [r for r in records if not r.interrupted]
    want = {(r.config_index, r.trial): r for r in timeless(here)}
    assert all(want[(r.config_index, r.trial)] == r for r in timeless(kept))
    assert len(path.read_text().splitlines()) == 1 + len(kept)  # the journal has the rest


def test_cli_reports_a_population_that_keeps_failing_in_one_line(capsys, monkeypatch, tmp_path):
    distributed = pytest.importorskip("distributed")
    from nnscratch.experiments import parallel

    real = parallel.train_chunk

    def train_chunk(configs, seeds, data, callbacks=()):
        if configs[0].hidden == (4,):
            raise MemoryError("a worker's memory")
        return real(configs, seeds, data, callbacks)

    monkeypatch.setattr(parallel, "train_chunk", train_chunk)
    out = tmp_path / "runs.jsonl"
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with cluster:
        argv = ["sweep", "--hidden", "3:6", "--trials", "2", *CLI, "--chunk-size", "2"]
        address = cluster.scheduler_address
        code, printed, err = cli(capsys, *argv, "--backend", "dask", "--scheduler", address,
                                 "--out", out)  # fmt: skip
    assert code == 1 and err.count("\n") == 1, err
    assert err.startswith("nnscratch sweep: error: 1 population(s) failed 3 times")
    assert "configuration 1 (hidden=[4]" in err and "MemoryError: a worker's memory" in err
    assert "holds the trials that finished" in err
    assert "6 trials in" in printed  # the summary of what there is, first
    assert len(out.read_text().splitlines()) == 1 + 4


def test_the_clis_local_cluster_starts_workers_without_malloc_trimming(monkeypatch):
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_ (in its workers, and in the process that
    starts them: here as if another cluster had run before), which turns glibc's adaptive
    mmap threshold off and made training on a worker 2-5x slower than in a process; the
    CLI's cluster starts its workers without it, keeping the one-thread-per-worker ones."""
    distributed = pytest.importorskip("distributed")
    import argparse

    from nnscratch import cli as cli_module

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    args = argparse.Namespace(scheduler=None, n_jobs=1)
    names = ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")
    with cli_module._dask_client(distributed, args) as client:
        env = client.run(lambda: {k: os.environ.get(k) for k in names})
    assert list(env.values()) == [{"MALLOC_TRIM_THRESHOLD_": None, "OMP_NUM_THREADS": "1"}]
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # this process's own, put back
