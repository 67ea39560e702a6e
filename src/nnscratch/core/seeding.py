"""Seeds become ``Generator`` objects; members get independent streams from ``SeedSequence``.

No function in nnscratch touches the global ``np.random`` state. A population seeded ``s``
gives member ``p`` the stream ``SeedSequence(s).spawn(P)[p]``; within a member, each use
(initialisation, shuffling, dropout) draws from its own child of that stream.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnscratch.core.checks import fail

#: Fixed child indices, one per use of randomness inside a member.
_PURPOSES = {"init": 0, "shuffle": 1, "dropout": 2, "split": 3}


def child(seq: np.random.SeedSequence, k: int) -> np.random.SeedSequence:
    """The ``k``-th child of ``seq``, the same one ``seq.spawn`` would give, without mutating it."""
    return np.random.SeedSequence(
        seq.entropy, spawn_key=tuple(seq.spawn_key) + (k,), pool_size=seq.pool_size
    )


def as_seed_sequence(seed, name: str = "seed") -> np.random.SeedSequence:
    """A ``SeedSequence`` from an int, a ``SeedSequence`` or ``None`` (fresh entropy)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None or (
        isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0
    ):
        return np.random.SeedSequence(None if seed is None else int(seed))
    raise fail(name, "a non-negative integer, a SeedSequence or None", seed)


def member_seeds(seed, n_members: int, name: str = "seed") -> list[np.random.SeedSequence]:
    """One ``SeedSequence`` per member: children of one root, or one given seed each."""
    if isinstance(seed, Sequence) and not isinstance(seed, (str, bytes)):
        if len(seed) != n_members:
            raise fail(name, f"one seed per member ({n_members})", seed)
        return [as_seed_sequence(s, name) for s in seed]
    root = as_seed_sequence(seed, name)
    return [child(root, p) for p in range(n_members)]


def rng_for(seq: np.random.SeedSequence, purpose: str, call: int = 0) -> np.random.Generator:
    """The member's generator for one purpose; ``call`` separates repeated uses (fit calls)."""
    return np.random.default_rng(child(child(seq, _PURPOSES[purpose]), call))
