"""The kernels' threads: a kernel's lane groups (or members) shared out over the cores.

The kernels are serial loops compiled with ``nogil=True``: each call runs the items
``first, first + stride, ...`` of its loop, and :func:`split` calls it from ``stride``
Python threads at once (this one among them), which then run side by side. numba's own
parallel loops (``prange``) would do the same, but compiling them costs about as much again
as the kernel itself (W1's epoch kernel: 24 s against 12 s on two cores), and the first
run on a machine pays that compile.

The threads are as many as ``NUMBA_NUM_THREADS`` says (numba's default: the cores this
process may use), and no more than there are items. A Ctrl-C (or any error) in this thread
waits for the others to finish before it is raised: no thread still writes into the
network's weights once the call has returned.
"""

from __future__ import annotations

import threading


def count(items: int) -> int:
    """The threads for a loop of ``items``: ``NUMBA_NUM_THREADS``, at most one per item."""
    from numba import config

    return max(1, min(int(config.NUMBA_NUM_THREADS), items))


def split(kernel, args: tuple, items: int) -> None:
    """``kernel(*args, first, stride)`` for ``first`` in ``0 .. stride - 1``, in threads.

    The kernel runs item ``i`` of its loop in the call whose ``first`` is ``i % stride``:
    every item exactly once. An error in any call is raised here, after every call ended.
    """
    stride = count(items)
    errors: list[BaseException] = []

    def run(first: int) -> None:
        try:
            kernel(*args, first, stride)
        except BaseException as error:  # noqa: BLE001 - raised again in the calling thread
            errors.append(error)

    others = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(1, stride)]
    for thread in others:
        thread.start()
    try:
        kernel(*args, 0, stride)
    finally:
        interrupted = None
        for thread in others:
            while thread.is_alive():
                try:
                    thread.join()
                except KeyboardInterrupt as error:  # finish joining; raise it after
                    interrupted = error
        if interrupted is not None:
            raise interrupted
    if errors:
        raise errors[0]
