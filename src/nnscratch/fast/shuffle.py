"""Each epoch's shuffles, compiled: NumPy's ``Generator.shuffle`` on PCG64, bit for bit.

:func:`shuffled` is :func:`nnscratch.core.epoch.shuffled` with the members' Fisher-Yates
shuffles drawn in parallel (the members shared out over threads) by :func:`shuffle_rows`: the
same rows in the same order, and the generators left where NumPy leaves them. Imports numba (the
compiled epoch loads it on use).
"""

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from nnscratch.core.epoch import shuffled as numpy_shuffled
from nnscratch.fast.threads import split

_MULTIPLIER = (2549297995355413924 << 64) + 4865540595714422341  # PCG64's, 128 bits


@intrinsic
def _pcg64_step(typingctx, high, low, inc_high, inc_low):
    """One PCG64 step: ``state * MULTIPLIER + inc`` mod 2**128, halves in and out."""
    u64 = types.uint64
    sig = types.UniTuple(u64, 2)(u64, u64, u64, u64)

    def codegen(context, builder, signature, args):
        i128 = ir.IntType(128)

        def join(hi, lo):
            hi = builder.shl(builder.zext(hi, i128), ir.Constant(i128, 64))
            return builder.or_(hi, builder.zext(lo, i128))

        state = builder.mul(join(args[0], args[1]), ir.Constant(i128, _MULTIPLIER))
        state = builder.add(state, join(args[2], args[3]))
        high = builder.trunc(builder.lshr(state, ir.Constant(i128, 64)), ir.IntType(64))
        low = builder.trunc(state, ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, (high, low))

    return sig, codegen


_U32 = np.uint64(0xFFFFFFFF)
_LOW = (1 << 64) - 1  # the low 64 bits of a Python int


@nb.njit(inline="always")
def _xsl_rr(high, low):
    """PCG64's output for a state: its halves xor-ed, rotated right by its top six bits."""
    x, rot = high ^ low, high >> np.uint64(58)
    return (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))


@nb.njit(nogil=True, cache=True)
def shuffle_rows(state, order, first, stride):
    # state (P,6) uint64: each member's PCG64 state high, low, increment high, low, whether
    # a 32-bit half is kept and that half; order (P,N): each member's rows, shuffled in place
    # by NumPy's Fisher-Yates, which swaps the same positions whatever the values; members
    # first, first + stride, ... (nnscratch.fast.threads.split runs the others)
    P, n = order.shape
    for p in range(first, P, stride):
        high, low, inc_high, inc_low, kept, half = state[p]  # in registers
        row = order[p]
        mask = np.uint64(n - 1)  # the smallest 2**k - 1 at least i, kept as i goes down
        for shift in (1, 2, 4, 8, 16, 32):
            mask |= mask >> np.uint64(shift)
        for i in range(n - 1, 0, -1):
            # j uniform in [0, i]: NumPy's random_interval, masked rejection; below 2**32 it
            # draws 32 bits at a time, the high half of each 64-bit output kept for the next
            most = np.uint64(i)
            if mask >> np.uint64(1) >= most:
                mask >>= np.uint64(1)
            while True:
                if most > _U32:
                    high, low = _pcg64_step(high, low, inc_high, inc_low)
                    j = _xsl_rr(high, low) & mask
                elif kept:
                    kept, j = np.uint64(0), half & mask
                else:
                    high, low = _pcg64_step(high, low, inc_high, inc_low)
                    full = _xsl_rr(high, low)
                    kept, half, j = np.uint64(1), full >> np.uint64(32), full & _U32 & mask
                if j <= most:
                    break
            row[i], row[j] = row[j], row[i]
        state[p, 0], state[p, 1], state[p, 4], state[p, 5] = high, low, kept, half


def shuffled(rows: np.ndarray, shufflers) -> np.ndarray:
    """:func:`nnscratch.core.epoch.shuffled`, compiled: the same rows in the same order.

    Members' PCG64 streams (every ``nnscratch`` seed makes one) are drawn in parallel by a
    transcription of NumPy's ``Generator.shuffle``, and the generators are left where
    NumPy's would be; any other bit generator takes the NumPy path.
    """
    if not all(type(r.bit_generator) is np.random.PCG64 for r in shufflers):
        return numpy_shuffled(rows, shufflers)
    states = [r.bit_generator.state for r in shufflers]
    words = np.array(
        [
            [s >> 64, s & _LOW, inc >> 64, inc & _LOW, st["has_uint32"], st["uinteger"]]
            for st in states
            for s, inc in [(st["state"]["state"], st["state"]["inc"])]
        ],
        dtype=np.uint64,
    ).reshape(len(states), 6)
    order = np.array(rows, dtype=np.int64, order="C")  # a copy, shuffled in place
    split(shuffle_rows, (words, order), len(order))
    for r, st, (high, low, inc_high, inc_low, kept, half) in zip(
        shufflers, states, words.tolist(), strict=True
    ):
        st["state"] = {"state": (high << 64) | low, "inc": (inc_high << 64) | inc_low}
        st["has_uint32"], st["uinteger"] = kept, half
        r.bit_generator.state = st
    return order
