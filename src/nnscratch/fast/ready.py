"""Which kernels this machine has run before, known without importing numba (marker files).

Asking numba's cache whether a kernel is compiled (:func:`nnscratch.fast.kernels.state`)
means importing numba, about 0.15 s: more than some runs can afford on a cold cache, where
the answer is "compile" anyway. So each kernel, after its first successful run (or
``nnscratch warmup``), leaves an empty marker file named by what it was compiled for; a
run whose kernels have no marker counts them cold without asking numba. A marker is only a
hint: where there is one, numba's cache is asked all the same, and where there is none
though numba's cache holds the kernel (another folder, an older version), the run is
estimated as a compile, which can only keep it on NumPy.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

#: Where the markers live when ``NUMBA_CACHE_DIR`` is not set and the package's own
#: ``__pycache__`` is not writable (numba then caches in the user's folder too).
USER_FOLDER = Path.home() / ".cache" / "nnscratch"


def folder() -> Path:
    """The markers' folder: beside numba's cache, as numba chooses it."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"]) / "nnscratch-ready"
    here = Path(__file__).parent / "__pycache__"
    if os.access(here if here.exists() else here.parent, os.W_OK):
        return here / "nnscratch-ready"
    return USER_FOLDER / "nnscratch-ready"


def name(kernel: str, kind: int, dtype, layers: int) -> str:
    """``lanes-1-float64-2``: the kernel, activation code, dtype and dense layers."""
    return "shuffle" if kernel == "shuffle" else f"{kernel}-{kind}-{np.dtype(dtype)}-{layers}"


def marked(names) -> bool:
    """Whether every one of these kernels has run on this machine before."""
    where = folder()
    return all((where / n).exists() for n in names)


def mark(names) -> None:
    """Leave the markers (empty files); a folder that cannot be written is no error."""
    where = folder()
    try:
        where.mkdir(parents=True, exist_ok=True)
        for n in names:
            (where / n).touch()
    except OSError:
        pass
