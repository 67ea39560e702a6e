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
    """How many workers joblib would run ``n_jobs`` on; 1: train here, in this process. A
    Dask cluster of one worker gives 0: it still gets the work, one population at a time.

    ``n_jobs`` is joblib's: ``None`` (the active ``parallel_config``, one worker without
    it), a count ``>= 1``, or ``-1`` for every core (every worker of a Dask cluster).
    """
    from joblib.parallel import get_active_backend

    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or (n_jobs < 1 and n_jobs != -1)
    ):
        raise fail("n_jobs", "None, a number of workers >= 1, or -1 (every core)", n_jobs)
    backend, configured = get_active_backend()
    count = max(1, backend.effective_n_jobs(n_jobs if n_jobs is not None else configured))
    if type(backend).__name__ == "DaskDistributedBackend" and count == 1:
        return 0  # one worker of a cluster: there, not here
    return count


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


#: How many times a chunk that raised, or whose worker died, is tried again.
RETRIES = 2


class ChunkFailed(RuntimeError):
    """Chunks that failed ``1 + RETRIES`` times; ``errors`` maps each one's index to the
    last error, as text. The other chunks finished (and were yielded) first."""

    def __init__(self, errors: dict[int, str]) -> None:
        super().__init__(f"{len(errors)} chunk(s) failed")
        self.errors = errors


def run_chunks(
    chunks: Sequence[Chunk], data, n_jobs: int | None, stop=lambda: False
) -> Iterator[tuple[int, tuple]]:
    """``(k, train_chunk(*chunks[k], data))`` for every chunk, in the order they finish.

    A chunk that raises, or whose worker dies, costs only itself: the others finish, and
    it is tried again up to :data:`RETRIES` times, in a round of its own. One that still
    fails ends the iterator with :class:`ChunkFailed`. ``stop()`` true (a Ctrl-C) ends it
    at once instead. Closing the iterator early cancels the chunks not yet started.
    """
    pending, errors = list(range(len(chunks))), {}
    for _ in range(1 + RETRIES):
        errors = {}
        finished = set()
        try:
            for k, result in _round([chunks[k] for k in pending], data, n_jobs):
                k = pending[k]
                if isinstance(result, str):  # what the chunk raised, as text
                    errors[k] = result
                    continue
                finished.add(k)
                yield k, result
        except Exception as error:  # a worker died: the round's unfinished chunks with it
            if stop():
                raise
            for k in pending:
                if k not in finished:
                    errors.setdefault(k, f"{type(error).__name__}: {error}")
        pending = sorted(errors)
        if not pending or stop():
            return
    raise ChunkFailed(errors)


def _round(chunks: Sequence[Chunk], data, n_jobs: int | None):
    from joblib import Parallel, delayed, parallel_config
    from joblib.parallel import get_active_backend

    backend, configured = get_active_backend()
    n_jobs = n_jobs if n_jobs is not None else configured
    dask = type(backend).__name__ == "DaskDistributedBackend"
    with parallel_config(backend="dask", scatter=[data]) if dask else nullcontext():
        run = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        yield from run(delayed(_numbered)(k, *chunk, data) for k, chunk in enumerate(chunks))


def _numbered(k: int, configs, seeds, data) -> tuple[int, tuple | str]:
    """``(k, result)``, or ``(k, error text)`` when the chunk raised (a failure to report,
    not one to end the other chunks with)."""
    try:
        return k, train_chunk(configs, seeds, data)
    except Exception as error:
        return k, f"{type(error).__name__}: {error}"
