"""The LLVM and numba helpers the kernels are built from (imports numba; loaded only on use).

Intrinsics that emit a few LLVM instructions where numba's own code would stop the
vectoriser or widen float32 to float64 (:func:`lanes`, :func:`scratch`, :func:`at`,
:func:`as_float`, :func:`num`) or cut its vectors in two (:func:`wide_vectors`), 64-byte
aligned buffers (:func:`aligned`), and the compiler settings the lanes kernels and their
helpers are compiled under (:data:`KERNEL`, :data:`NESTED`, :data:`INLINED`,
:func:`compiled`). Why each is needed is in :mod:`nnscratch.fast.lanes`.
"""

from contextlib import contextmanager

import numba as nb
import numpy as np
from llvmlite import binding, ir
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic

#: Bytes of one vector register (AVX-512). The lanes layout puts one member in each lane: a
#: group is ``VECTOR_BYTES // itemsize`` members, 8 in float64 and 16 in float32
#: (:mod:`nnscratch.fast.lanes`).
VECTOR_BYTES = 64


def group_size(dtype) -> int:
    """Members to a lane group for ``dtype``: 8 float64, 16 float32 (the kernels' ``G``)."""
    return VECTOR_BYTES // np.dtype(dtype).itemsize


def group_count(members: int, dtype) -> int:
    """Lane groups of a population of ``members`` in ``dtype``: the last one may be part-full."""
    return -(-members // group_size(dtype))


def _lanes_of(like) -> int:
    return VECTOR_BYTES // (like.dtype.bitwidth // 8)


@intrinsic
def lanes(typingctx, like):
    """``G``, the lanes of one vector of ``like``'s dtype: a constant, 8 float64, 16 float32."""
    n = _lanes_of(like)

    def codegen(context, builder, signature, args):
        return context.get_constant(types.intp, n)

    return types.intp(like), codegen


@intrinsic
def scratch(typingctx, like):
    """A ``G``-element scratch vector of ``like``'s dtype on the stack (a pointer)."""
    sig = types.CPointer(like.dtype)(like)

    def codegen(context, builder, signature, args):
        data = context.get_data_type(like.dtype)
        return cgutils.alloca_once(builder, data, size=_lanes_of(like))

    return sig, codegen


@intrinsic
def num(typingctx, like, value):
    """``value`` as ``like``'s dtype: float32 arithmetic stays float32 (a float64 literal
    would widen it)."""

    def codegen(context, builder, signature, args):
        return context.cast(builder, args[1], signature.args[1], signature.return_type)

    return like.dtype(like, value), codegen


@intrinsic
def at(typingctx, array, offset):
    """A pointer to ``array[offset]``; ``at(a, o)[lane]`` is ``a[o + lane]``, unchecked."""
    sig = types.CPointer(array.dtype)(array, offset)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.gep(data, [args[1]], inbounds=True)

    return sig, codegen


@intrinsic
def as_float(typingctx, bits, like):
    """The float of ``like``'s dtype whose bit pattern is the low bits of the integer ``bits``."""
    width = like.dtype.bitwidth

    def codegen(context, builder, signature, args):
        word = builder.trunc(args[0], ir.IntType(width)) if width < 64 else args[0]
        return builder.bitcast(word, ir.FloatType() if width == 32 else ir.DoubleType())

    return like.dtype(types.int64, like), codegen


@intrinsic
def wide_vectors(typingctx, like):
    """Let LLVM use whole 512-bit vectors in the function that calls this (nothing at run time).

    LLVM tunes the Intel AVX-512 processors (Skylake-X to Sapphire Rapids) to prefer 256-bit
    vectors, and then compiles a lane loop of 8 float64 as two 256-bit halves. This sets
    the function's ``"prefer-vector-width"="512"``: whole vectors wherever the machine has
    them, and no change on a machine without AVX-512 (its widest vector stays 256 bits).
    """

    def codegen(context, builder, signature, args):
        # llvmlite's attribute set accepts only LLVM's keyword attributes; this one is a
        # string attribute, written as LLVM's assembly spells it. Where another llvmlite
        # keeps its attributes otherwise, the kernels compile without it.
        try:
            set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        except (TypeError, AttributeError):
            pass
        return context.get_dummy_value()

    return types.none(like), codegen


@nb.njit(inline="always")
def aligned(n, like):
    """``np.zeros(n, like.dtype)`` starting on a 64-byte boundary (whole-vector loads)."""
    pad = 64 // like.itemsize
    buf = np.zeros(n + pad, like.dtype)
    start = (-buf.ctypes.data % 64) // like.itemsize
    return buf[start : start + n]


#: How every epoch and forward kernel is compiled. ``nogil``: :mod:`nnscratch.fast.threads`
#: runs one per core. ``cache``: compiled once, on disk. ``reassoc``/``contract``: sums in
#: any order and fused multiply-adds; not ``nnan``/``ninf``, because a divergence must show.
#: ``error_model="numpy"``: a float division by zero gives IEEE's inf or NaN instead of
#: numba's Python check for it, a branch in every lane that kept the softmax's division
#: loop scalar.
KERNEL = {
    "nogil": True,
    "cache": True,
    "fastmath": {"reassoc", "contract"},
    "error_model": "numpy",
}

#: How a helper that only compiled code calls is compiled: without the wrappers that let Python
#: call it (building them is part of every compile); ``fastmath`` and ``error_model`` come from
#: the caller, as numba passes them on.
NESTED = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}

#: How each phase of the epoch kernel is compiled (:mod:`nnscratch.fast.lanes`): a nested
#: function of its own that LLVM always inlines into its caller (``alwaysinline``), whatever
#: its size.
INLINED = {**NESTED, "forceinline": True}

#: LLVM's budget for unrolling a loop whole, while the lanes kernels compile, and its default
#: at -O3. A loop over 16 float32 lanes of a 2 x 2 tile (four sums, eight loads) costs more
#: than 300, and a lane loop left a loop is left scalar: the SLP vectoriser packs only
#: straight-line code.
UNROLL_THRESHOLD, DEFAULT_UNROLL_THRESHOLD = 1000, 300


@contextmanager
def compiled(dtype=np.float64):
    """Compile (or load from the cache) with SLP vectorisation on, loop vectorisation off,
    and, for float32's 16 lanes, lane loops unrolled whole (:data:`UNROLL_THRESHOLD`; float64's
    8 lanes unroll within LLVM's default, and compiled faster and ran faster with it).

    All three are process-wide settings read when a function is compiled; they are
    restored on exit. Wrap the calls of the lanes kernels
    (:func:`nnscratch.fast.lanes.epoch_kernel`,
    :func:`nnscratch.fast.forward_lanes.forward_kernel`): the first one compiles.
    """
    saved = config.SLP_VECTORIZE, config.LOOP_VECTORIZE
    config.SLP_VECTORIZE, config.LOOP_VECTORIZE = 1, 0
    wide = np.dtype(dtype) == np.float32
    unroll = UNROLL_THRESHOLD if wide else DEFAULT_UNROLL_THRESHOLD
    binding.set_option("nnscratch", f"-unroll-threshold={unroll}")
    try:
        yield
    finally:
        config.SLP_VECTORIZE, config.LOOP_VECTORIZE = saved
        binding.set_option("nnscratch", f"-unroll-threshold={DEFAULT_UNROLL_THRESHOLD}")
