"""Chunks of a repeat or a sweep on several workers, through joblib's backends.

joblib decides where the work runs: ``n_jobs`` workers of its default ``loky`` processes on
this machine, or whatever ``joblib.parallel_config`` names, a Dask cluster included
(``with joblib.parallel_config("dask"): sweep(...)`` with a ``dask.distributed.Client``
open), the way scikit-learn users scale ``GridSearchCV``. A chunk is one population: its
configurations, its members' seeds and the data, so a worker needs nothing else, and its
records are those the same chunk gives in this process, number for number. The data go
to a Dask cluster once (scattered), not once per chunk.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import nullcontext

from nnscratch.core.checks import fail

Chunk = tuple[list, list]  # (configs, seeds), member p = configs[p] seeded seeds[p]


def workers(n_jobs: int | None) -> int:
    """How many workers joblib would run ``n_jobs`` on (1: train here, in this process).

    ``n_jobs`` is joblib's: ``None`` (the active ``parallel_config``, one worker without
    it), a count ``>= 1``, or ``-1`` for every core (every worker of a Dask cluster).
    """
    from joblib.parallel import get_active_backend

    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or (n_jobs < 1 and n_jobs != -1)
    ):
        raise fail("n_jobs", "None, a number of workers >= 1, or -1 (every core)", n_jobs)
    backend, configured = get_active_backend()
    return max(1, backend.effective_n_jobs(n_jobs if n_jobs is not None else configured))


def train_chunk(configs: Sequence, seeds: Sequence, data, callbacks=()) -> tuple:
    """One chunk, here or on a worker: ``(epochs, interrupted, metrics, seconds per member)``
    (the time split evenly between the members)."""
    from nnscratch.experiments.runner import train_population

    start = time.perf_counter()
    # fmt: off
    _, history, metrics = train_population(configs, seeds, data, callbacks=callbacks,
                                           on_interrupt="return")
    # fmt: on
    seconds = (time.perf_counter() - start) / len(configs)
    return history.epochs, history.interrupted, metrics, seconds


def run_chunks(chunks: Sequence[Chunk], data, n_jobs: int | None) -> Iterator[tuple[int, tuple]]:
    """``(k, train_chunk(*chunks[k], data))`` for every chunk, in the order they finish.

    Closing the iterator early (a Ctrl-C, a chunk cut short) cancels the chunks not yet
    started.
    """
    from joblib import Parallel, delayed, parallel_config
    from joblib.parallel import get_active_backend

    backend, configured = get_active_backend()
    n_jobs = n_jobs if n_jobs is not None else configured
    dask = type(backend).__name__ == "DaskDistributedBackend"
    with parallel_config(backend="dask", scatter=[data]) if dask else nullcontext():
        run = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        yield from run(delayed(_numbered)(k, *chunk, data) for k, chunk in enumerate(chunks))


def _numbered(k: int, configs, seeds, data) -> tuple[int, tuple]:
    return k, train_chunk(configs, seeds, data)
