"""Repeat and sweep: many independent trials trained as few populations.

``repeat(config, trials=N)`` trains N trials of one configuration as ONE population;
``sweep(grid, trials=N)`` trains every grid point N times, one population per group of
configurations that can share one (see :func:`~nnscratch.experiments.config.group_configs`).
The grouping is invisible: records come back in grid order, trials in order within each
configuration. A group too large for memory trains as several populations, one after
another (:func:`_chunks`); each member's results are those it would have alone.

Seeds: trial ``t`` of configuration ``c`` (grid order) is the
``i = c * trials + t``-th child of the root, ``SeedSequence(seed).spawn(C * trials)[i]``. That
child seeds the trial's initialisation and its shuffles, so a trial re-run alone
(:func:`run_trial` with ``record.seed_sequence()``) gives the same numbers, to float
tolerance, as it did inside its population.

Ctrl-C stops the whole run: the population in training stops after its current batch (the
training loop's own handling), and no later population starts. The records still cover
every trial, in grid order: finished ones as usual, the stopped population's marked
``interrupted`` with the metrics of the networks as they were, and those of populations never
started marked ``interrupted`` too, with NaN metrics and ``epochs_run`` 0 (their seeds are
there to run them later with :func:`run_trial`).
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from nnscratch.core.callback import Callback
from nnscratch.core.checks import (
    check_choice,
    check_int,
    check_labels,
    check_X,
    fail,
    memory_bytes,
    training_bytes,
)
from nnscratch.core.network import MLP
from nnscratch.core.seeding import as_seed_sequence, child
from nnscratch.core.train import evaluate
from nnscratch.data import n_classes
from nnscratch.experiments.config import (
    Config,
    as_config,
    check_trial_count,
    expand_grid,
    grid_size,
    group_configs,
    make_loss,
    make_optimizer,
)
from nnscratch.experiments.records import METRICS, TrialRecord

Data = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def load_data(data: str | Sequence | None) -> Data:
    """``(X_train, X_test, y_train, y_test)`` from a data set name, a 4-tuple, or ``None``."""
    from nnscratch.data import load_dataset, load_moons

    if data is None:
        return load_moons()
    if isinstance(data, str):
        return load_dataset(data)
    if not isinstance(data, (tuple, list)) or len(data) != 4:
        raise fail("data", "a data set name or (X_train, X_test, y_train, y_test)", data)
    X_train = check_X(data[0], name="X_train")
    X_test = check_X(data[1], name="X_test", n_features=X_train.shape[1])
    K = n_classes(data[2], data[3])
    y_train = check_labels(data[2], X_train.shape[0], K, name="y_train")
    y_test = check_labels(data[3], X_test.shape[0], K, name="y_test")
    return X_train, X_test, y_train, y_test


class _EpochTicker(Callback):
    """Advances a progress bar by one per epoch."""

    def __init__(self, bar) -> None:
        self.bar = bar

    def on_epoch_end(self, run, epoch, logs) -> None:
        self.bar.update(1)


class _AfterCtrlC(Callback):
    """When a Ctrl-C has stopped a population's training, a second one stops the run at once.

    The training loop's own handler took the first press; once it hands back to the run's,
    that handler is told, so that a second press is not taken for a first while the
    stopped population is evaluated (on a large one, that takes as long as an epoch).
    """

    def __init__(self, ctrl_c, quiet: bool) -> None:
        self.ctrl_c, self.quiet = ctrl_c, quiet

    def on_train_end(self, run) -> None:
        if run.history.interrupted and not self.ctrl_c.pressed:
            self.ctrl_c.pressed = True
            if not self.quiet:
                print(
                    f"Ctrl-C: evaluating the {run.net.n_members} networks trained so far, to keep "
                    "them (Ctrl-C again to stop at once)",
                    file=sys.stderr,
                    flush=True,
                )


def _progress(total: int, quiet: bool, desc: str):
    """A tqdm bar on stderr, silent when ``quiet`` or when stderr is not a terminal."""
    from tqdm import tqdm

    disable = quiet or not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
    return tqdm(total=total, desc=desc, unit="epoch", file=sys.stderr, disable=disable, leave=False)


def build_network(
    configs: Config | Sequence[Config], n_features: int, n_classes: int, seeds
) -> MLP:
    """The untrained population for ``configs`` (one group), member ``p`` seeded ``seeds[p]``.

    A single ``Config`` with an int or ``SeedSequence`` seed gives one network (``P`` is
    None). Hidden widths are padded to the widest per layer and masked; init scales, ``l2``
    and dropout rates become per-member ``(P,)`` values where members differ.
    """
    if isinstance(configs, Config):
        first, P, single = configs, None, True
        configs = [configs]
    else:
        first, P, single = configs[0], len(configs), False
    depth = len(first.hidden)
    hidden = np.array([c.hidden for c in configs], dtype=np.intp).reshape(len(configs), depth)
    widest = hidden.max(axis=0) if depth else np.zeros(0, dtype=np.intp)  # (L-1,)
    loss = make_loss(first.loss, first.reduction)
    per_member = {  # (P,) where members differ, else one scalar
        name: _vector_or_scalar([getattr(c, name) for c in configs])
        for name in ("init_scale", "l2", "dropout")
    }
    return MLP(
        [n_features, *widest.tolist(), loss.n_outputs or n_classes],
        activation=first.activation,
        init=first.init,
        bias_init=first.bias_init,
        seed=seeds if single else list(seeds),
        population=P,
        width=hidden if depth and np.any(hidden != widest) else None,
        loss=loss,
        dtype=np.dtype(first.dtype),
        **per_member,
    )


def _vector_or_scalar(values: Sequence[float]) -> np.ndarray | float:
    """``(P,)`` values, or one float when all members share it."""
    arr = np.asarray(values, dtype=np.float64)  # (P,)
    return arr if np.any(arr != arr[0]) else float(arr[0])


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run before it finished; the message says where, and what was kept.

    A ``KeyboardInterrupt``, so that code which stops on Ctrl-C stops on it too.
    """


def train_population(
    configs: Sequence[Config],
    seeds: Sequence[np.random.SeedSequence],
    data: Data,
    callbacks: Sequence[Callback] = (),
    on_interrupt: str = "raise",
) -> tuple[MLP, Any, dict[str, np.ndarray]]:
    """Train configurations that share a group as ONE population, member ``p`` = ``configs[p]``.

    Widths are padded to the widest per layer and masked; learning rates, init scales,
    ``l2`` and dropout rates become per-member ``(P,)`` values. A member whose loss or
    weights become NaN or infinite is frozen and flagged ``diverged``. Returns the trained
    network, its History and the final metrics per member (``train_loss``,
    ``train_accuracy``, ``test_loss``, ``test_accuracy``, ``diverged``, each ``(P,)``).

    Ctrl-C stops training after the current batch. ``on_interrupt="raise"`` (the default)
    then raises :class:`Interrupted`: metrics of a run cut short are not the run's results.
    ``"return"`` returns as usual, ``history.interrupted`` set and the metrics those of the
    network as it was.
    """
    check_choice("on_interrupt", on_interrupt, {"raise", "return"})
    if len(group_configs(configs)) != 1:
        raise fail("configs", "configurations of one group (see group_configs)", configs)
    X_train, X_test, y_train, y_test = data
    first = configs[0]
    net = build_network(configs, X_train.shape[1], n_classes(y_train, y_test), seeds)
    optimizer = make_optimizer(first.optimizer, _vector_or_scalar([c.lr for c in configs]))
    # divergence is an outcome to record, not an error: silence overflow while it happens
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        history = net.fit(
            X_train,
            y_train,
            epochs=first.epochs,
            batch_size=first.batch_size,
            optimizer=optimizer,
            callbacks=list(callbacks),
            on_nonfinite="stop",
        )
        if history.interrupted and on_interrupt == "raise":
            raise Interrupted(f"after {history.epochs} of {first.epochs} epochs")
        train = evaluate(net, X_train.astype(net.dtype, copy=False), y_train)
        test = evaluate(net, X_test.astype(net.dtype, copy=False), y_test)
    # (P,): frozen by the loop for NaN/inf, or a non-finite loss after training (a history
    # stopped by Ctrl-C in its first epoch has no epoch yet)
    losses = history["loss"] if history.epochs else np.zeros((0, net.n_members))  # (epochs,P)
    diverged = history.diverged | ~np.all(np.isfinite(losses), axis=0) | ~np.isfinite(train["loss"])
    metrics = {f"train_{k}": v for k, v in train.items()}
    metrics.update({f"test_{k}": v for k, v in test.items()}, diverged=diverged)
    return net, history, metrics


class _CtrlC:
    """Ctrl-C between populations: the first asks the run to stop, a second stops it at once.

    While a population trains, the training loop's own handler stands in for this one (and
    puts it back after); the run then learns of a Ctrl-C from the History.
    """

    def __init__(self) -> None:
        self.pressed = False

    def __call__(self, signum, frame) -> None:
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True

    @contextmanager
    def installed(self) -> Iterator[_CtrlC]:
        main = threading.current_thread() is threading.main_thread()
        previous = signal.getsignal(signal.SIGINT) if main else None
        if previous is not None:  # None: a handler not set from Python; leave it be
            signal.signal(signal.SIGINT, self)
        try:
            yield self
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)


def _record(config, c, t, seed, root, m=None, p=0, epochs=0, seconds=0.0, interrupted=True):
    """The record of trial ``t`` of configuration ``c``: member ``p`` of a population's
    metrics ``m``, or, without ``m``, a trial the run never reached (interrupted, NaN)."""
    metrics = {k: math.nan if m is None else float(m[k][p]) for k in METRICS}
    return TrialRecord(
        config=config,
        config_index=c,
        trial=t,
        seed_entropy=int(root.entropy),
        seed_spawn_key=tuple(seed.spawn_key),
        **metrics,
        epochs_run=epochs,
        seconds=seconds,
        diverged=False if m is None else bool(m["diverged"][p]),
        interrupted=interrupted,
    )


def _run(
    configs: list[Config],
    trials: int,
    data,
    seed,
    quiet: bool,
    desc: str,
    callbacks=(),
    chunk_size: int | None = None,
    n_jobs: int | None = None,
    journal=None,
):
    """Train every group of ``configs`` ``trials`` times; one record per trial, grid order.

    With a ``journal`` file, the trials it holds are not trained again, and each finished
    population's records are appended to it as soon as it finishes.
    """
    from nnscratch.experiments.journal import Journal, seed_of
    from nnscratch.experiments.parallel import ChunkFailed, workers

    if chunk_size is not None:
        chunk_size = check_int("chunk_size", chunk_size)
    n_workers = workers(n_jobs)  # 0: a Dask cluster's (trains there, however many)
    if n_workers != 1 and callbacks:
        raise fail("callbacks", "none when joblib's workers train the populations", callbacks)
    data = load_data(data)
    if journal is not None and seed is None:
        seed = seed_of(journal)  # a run seeded afresh resumes with its own seed
    root = as_seed_sequence(seed)
    seeds = [child(root, i) for i in range(len(configs) * trials)]  # config c, trial t: c*T+t
    if journal is not None:
        journal = Journal.open(journal, configs, trials, root.entropy)
    done = journal.done if journal is not None else {}
    populations = [  # each group's (config, trial) pairs, in chunks that fit in memory
        chunk
        for group in group_configs(configs)
        for chunk in _chunks(configs, group, trials, data, chunk_size, n_workers, done)
    ]
    records: list[TrialRecord | None] = [None] * len(seeds)
    for (c, t), record in done.items():
        records[c * trials + t] = record

    def keep(members, epochs, stopped, m, seconds) -> None:
        for p, (c, t) in enumerate(members):
            i = c * trials + t
            records[i] = _record(configs[c], c, t, seeds[i], root, m, p, epochs, seconds, stopped)
        if journal is not None:
            journal.append([records[c * trials + t] for c, t in members])

    bar = _progress(sum(configs[chunk[0][0]].epochs for chunk in populations), quiet, desc)
    failure = None
    jobs = [  # each population's configs and seeds, member p = (config, trial) members[p]
        ([configs[c] for c, _ in members], [seeds[c * trials + t] for c, t in members])
        for members in populations
    ]
    with _CtrlC().installed() as ctrl_c:
        try:
            results = _results(jobs, data, n_workers, n_jobs, bar, callbacks, ctrl_c, quiet)
            for k, (epochs, stopped, m, seconds) in results:
                keep(populations[k], epochs, stopped, m, seconds)
                bar.update(epochs if n_workers != 1 else 0)
                if stopped or ctrl_c.pressed:  # no other population starts
                    break
        except KeyboardInterrupt:  # a second Ctrl-C outside training: stop at once
            pass
        except ChunkFailed as failed:  # after every other population: say which, and why
            failure = _failure(failed, populations, configs)
        except Exception:  # workers that a Ctrl-C reached too (a terminal signals them all)
            if not ctrl_c.pressed:
                raise
        finally:
            bar.close()
    for i, record in enumerate(records):
        if record is None:  # a trial the run never reached: interrupted, NaN metrics, 0 epochs
            c, t = divmod(i, trials)
            records[i] = _record(configs[c], c, t, seeds[i], root)
    if failure is not None:
        failure.records = records
        raise failure
    return records


def _results(jobs, data, n_workers: int, n_jobs, bar, callbacks, ctrl_c, quiet: bool):
    """``(k, (epochs, interrupted, metrics, seconds))`` for each population ``jobs[k]``, as
    it finishes: on joblib's workers, or here, one after another, the bar ticking each epoch."""
    from nnscratch.experiments.parallel import run_chunks, train_chunk

    if n_workers != 1:
        return run_chunks(jobs, data, n_jobs, stop=lambda: ctrl_c.pressed)
    ticking = [_EpochTicker(bar), _AfterCtrlC(ctrl_c, quiet), *callbacks]
    return ((k, train_chunk(*job, data, ticking)) for k, job in enumerate(jobs))


class PopulationFailed(RuntimeError):
    """Populations that kept failing on their workers; ``records`` holds every trial, those
    of the failed populations marked ``interrupted`` (not trained), the others as usual."""

    records: list


def _failure(failed, populations, configs) -> PopulationFailed:
    """One message for the populations that kept failing: their configurations, the error."""
    from nnscratch.experiments.parallel import RETRIES

    parts = []
    for k, error in sorted(failed.errors.items()):
        indices = sorted({c for c, _ in populations[k]})
        first = configs[indices[0]]
        what = f"hidden={list(first.hidden)}, lr={first.lr:g}, batch_size={first.batch_size}"
        more = f" and {len(indices) - 1} more" if len(indices) > 1 else ""
        parts.append(f"configuration {indices[0]} ({what}){more}: {error}")
    return PopulationFailed(
        f"{len(parts)} population(s) failed {1 + RETRIES} times, the others finished: "
        + "; ".join(parts)
    )


#: The share of this machine's memory one population may plan to use while it trains.
MEMORY_SHARE = 0.5


def _chunks(configs, group, trials: int, data: Data, size=None, n_workers: int = 1, done=()):
    """The ``(config, trial)`` members of one group (indices into ``configs``) not yet
    ``done``, split into populations of at most ``size`` members that each fit in
    :data:`MEMORY_SHARE` of memory, as :func:`~nnscratch.core.checks.training_bytes`
    estimates it; with several workers and no ``size``, into at least one per worker.

    Member ``p`` of a population trains as it would alone (its own seed, rows and streams),
    so a chunk changes no result beyond rounding between the compiled kernels' layouts.
    One member too large to fit is left whole: its training refuses it, with the estimate.
    """
    X_train, X_test, y_train, y_test = data
    first = configs[group[0]]
    hidden = [configs[c].hidden for c in group]
    widest = np.max(hidden, axis=0).tolist() if first.hidden else []
    K = make_loss(first.loss, first.reduction).n_outputs or n_classes(y_train, y_test)
    sizes = [X_train.shape[1], *widest, K]
    itemsize = np.dtype(first.dtype).itemsize
    rows = max(len(X_train), len(X_test))
    each = training_bytes(sizes, first.batch_size, rows, itemsize)
    members = [(c, t) for c in group for t in range(trials) if (c, t) not in done]
    if not members:
        return []
    limit = memory_bytes() * MEMORY_SHARE  # 0 where unknown: no limit
    per = len(members) if limit <= 0 else max(1, int(limit // each))
    if size is not None:
        per = min(per, size)
    elif n_workers > 1:
        per = min(per, -(-len(members) // n_workers))  # ceil: every worker gets work
    return [members[i : i + per] for i in range(0, len(members), per)]


def repeat(
    config: Config | Mapping[str, Any] | None = None,
    trials: int = 10,
    data: str | Sequence | None = None,
    seed=None,
    quiet: bool = False,
    callbacks: Sequence[Callback] = (),
    *,
    chunk_size: int | None = None,
    n_jobs: int | None = None,
    journal=None,
) -> list[TrialRecord]:
    """``trials`` independent trials of one configuration, trained as ONE population.

    ``data`` is a built-in data set name, ``(X_train, X_test, y_train, y_test)``, or
    ``None`` for the tutorial's moons. ``seed``: an int, a ``SeedSequence``, or ``None``
    (fresh entropy, stored in the records). A progress bar shows on stderr when it is a
    terminal and ``quiet`` is False. ``callbacks`` join the training of the population.
    More than :data:`~nnscratch.experiments.config.MAX_TRIALS` trials are refused before
    anything is built. Ctrl-C: see the module's docstring (the records mark what it cut).
    ``chunk_size``, ``n_jobs`` and ``journal``: as for :func:`sweep`.
    """
    trials = check_int("trials", trials)
    check_trial_count(1, trials)
    configs = [as_config(config)]
    # fmt: off
    return _run(configs, trials, data, seed, quiet, "repeat", callbacks, chunk_size, n_jobs,
                journal)
    # fmt: on


def sweep(
    grid: Mapping[str, Sequence],
    trials: int = 3,
    base: Config | Mapping[str, Any] | None = None,
    data: str | Sequence | None = None,
    seed=None,
    quiet: bool = False,
    callbacks: Sequence[Callback] = (),
    *,
    chunk_size: int | None = None,
    n_jobs: int | None = None,
    journal=None,
) -> list[TrialRecord]:
    """Every point of ``grid`` (field name -> list of values, on top of ``base``) ``trials`` times.

    Points that differ only in hidden widths (same depth), learning rate, ``init_scale``,
    ``l2``, dropout rate train as one population; the rest split into groups, one
    population each. Records come back in grid order (see
    :func:`~nnscratch.experiments.config.expand_grid`), the trials of each point together.
    ``callbacks`` join the training of every population. More than
    :data:`~nnscratch.experiments.config.MAX_TRIALS` networks (points x trials) are refused
    before any configuration is built. Ctrl-C: see the module's docstring.

    Where it runs: ``chunk_size`` caps the members of one population (populations are
    also split to fit in memory, and, with several workers and no ``chunk_size``, into one
    or more per worker); ``n_jobs`` (joblib's) runs the populations on that many workers of
    joblib's active backend (:mod:`nnscratch.experiments.parallel`: local processes, or a
    Dask cluster under ``joblib.parallel_config("dask")``); ``callbacks`` need the default,
    in-process run. The records are the same, number for number, whichever backend runs a
    given chunking (another chunking changes them only by rounding between kernels).
    ``journal``: a ``.jsonl`` file that makes the run resumable
    (:mod:`nnscratch.experiments.journal`).
    """
    trials = check_int("trials", trials)
    check_trial_count(grid_size(grid), trials)
    configs = expand_grid(grid, base)
    # fmt: off
    return _run(configs, trials, data, seed, quiet, "sweep", callbacks, chunk_size, n_jobs,
                journal)
    # fmt: on


def run_trial(
    config: Config | Mapping[str, Any],
    seed: np.random.SeedSequence | int,
    data: str | Sequence | None = None,
) -> TrialRecord:
    """One trial alone, seeded with the trial's own seed (e.g. ``record.seed_sequence()``).

    Gives the record's metrics to float tolerance; ``config_index`` and ``trial`` are 0.
    Ctrl-C gives the record of the network as it was then, marked ``interrupted``.
    """
    config = as_config(config)
    seq = as_seed_sequence(seed)
    data = load_data(data)
    start = time.perf_counter()
    _, history, m = train_population([config], [seq], data, on_interrupt="return")
    seconds = time.perf_counter() - start
    return _record(config, 0, 0, seq, seq, m, 0, history.epochs, seconds, history.interrupted)
