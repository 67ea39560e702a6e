"""The compiled kernels by name, and whether one is ready for a call (imports numba).

Each kernel is compiled lazily, for the types of its first call's arguments (the dtype, the
depth) and, for the epoch and forward kernels, for one activation (its code a constant:
:func:`nnscratch.fast.lanes.epoch_kernel`). :func:`state` says, without compiling, what a
call would cost before it runs: nothing (``"loaded"``: this process has it), a load from
numba's disk cache (``"cached"``) or a compile (``"cold"``). :mod:`nnscratch.fast.cost`
weighs those states.
"""

from __future__ import annotations

import numpy as np

from nnscratch.fast.forward_lanes import forward_kernel
from nnscratch.fast.lanes import epoch_kernel
from nnscratch.fast.members import members_kernel
from nnscratch.fast.shuffle import shuffle_rows

#: The kernel of each name in :data:`nnscratch.fast.cost.COMPILE_S`, for an activation code.
KERNELS = {
    "lanes": epoch_kernel,
    "members": members_kernel,
    "forward": forward_kernel,
    "shuffle": lambda kind: shuffle_rows,
}


def shuffle_args() -> tuple[np.ndarray, np.ndarray]:
    """Arguments of :func:`nnscratch.fast.shuffle.shuffle_rows`'s one signature."""
    return np.zeros((1, 6), np.uint64), np.zeros((1, 1), np.int64)


def state(kernel, args) -> str:
    """``"loaded"``, ``"cached"`` or ``"cold"``: the kernel for these arguments' types.

    ``args`` are a call's arguments but the two that :func:`nnscratch.fast.threads.split`
    adds (the first item and the stride, two integers).

    ``"cached"`` asks numba's cache index the question numba asks before compiling (the
    same key: the signature, the machine, the kernel's bytecode and constants, a source
    that has not changed). It reads numba's private cache API; where that fails (another
    numba), the answer is ``"cold"``, which can only make ``engine="auto"`` pick NumPy.
    """
    try:
        sig = tuple(kernel.typeof_pyval(a) for a in (*args, 0, 1))
        if sig in kernel.overloads:
            return "loaded"
        cache = kernel._cache
        key = cache._index_key(sig, kernel.targetctx.codegen())
        return "cached" if key in cache._cache_file._load_index() else "cold"
    except Exception:  # noqa: BLE001 - any failure of the probe means "compile"
        return "cold"


def states(needs: dict[str, tuple]) -> dict[str, str]:
    """Each needed kernel's state, from ``{name: (activation code, arguments)}``."""
    return {name: state(KERNELS[name](kind), args) for name, (kind, args) in needs.items()}
