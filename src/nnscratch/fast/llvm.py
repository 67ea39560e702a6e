"""The LLVM and numba helpers the kernels are built from (imports numba; loaded only on use).

Intrinsics that emit a few LLVM instructions where numba's own code would stop the
vectoriser (:func:`scratch`, :func:`at`, :func:`as_float`), 64-byte aligned buffers
(:func:`aligned`), and the compiler settings the lanes kernels are compiled under
(:func:`compiled`). Why each is needed is in :mod:`nnscratch.fast.lanes`.
"""

from contextlib import contextmanager

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic

#: Lanes of one vector: 8 float64 fill one 512-bit register. The lanes layout puts one member
#: in each, a group of ``G`` members (:mod:`nnscratch.fast.lanes`).
G = 8


@intrinsic
def scratch(typingctx, like):
    """A ``G``-element scratch vector of ``like``'s dtype on the stack (a pointer)."""
    sig = types.CPointer(like.dtype)(like)

    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, context.get_data_type(like.dtype), size=G)

    return sig, codegen


@intrinsic
def at(typingctx, array, offset):
    """A pointer to ``array[offset]``; ``at(a, o)[lane]`` is ``a[o + lane]``, unchecked."""
    sig = types.CPointer(array.dtype)(array, offset)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.gep(data, [args[1]], inbounds=True)

    return sig, codegen


@intrinsic
def as_float(typingctx, bits):
    """The float64 whose bit pattern is the int64 ``bits``."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@nb.njit(inline="always")
def aligned(n, like):
    """``np.zeros(n, like.dtype)`` starting on a 64-byte boundary (whole-vector loads)."""
    pad = 64 // like.itemsize
    buf = np.zeros(n + pad, like.dtype)
    start = (-buf.ctypes.data % 64) // like.itemsize
    return buf[start : start + n]


@contextmanager
def compiled():
    """Compile (or load from the cache) with SLP vectorisation on, loop vectorisation off.

    Both are numba-wide settings read when a function is compiled; they are restored on
    exit. Wrap the calls of the lanes kernels (:func:`nnscratch.fast.lanes.sgd_epoch`,
    :func:`nnscratch.fast.forward_lanes.forward_lanes`): the first one compiles.
    """
    saved = config.SLP_VECTORIZE, config.LOOP_VECTORIZE
    config.SLP_VECTORIZE, config.LOOP_VECTORIZE = 1, 0
    try:
        yield
    finally:
        config.SLP_VECTORIZE, config.LOOP_VECTORIZE = saved
