"""The lanes layout, and the epoch of minibatch SGD it runs (imports numba; loaded only on use).

:func:`epoch_kernel` compiles one epoch of minibatch SGD for a softmax MLP; the prediction kernel
of :mod:`nnscratch.fast.forward_lanes` runs the same forward pass (:func:`forward_rows`) on
the same layout. The NumPy loop in :mod:`nnscratch.core.epoch` is the reference these loops
follow, equation by equation.

Layout: members in SIMD lanes. The population is cut into groups of ``G`` members, as many
as one 512-bit vector holds (:func:`nnscratch.fast.llvm.lanes`: 8 in float64, 16 in float32,
where every step runs in float32 arithmetic), and every
array of a group ends in a lane axis of length ``G``: a group's weights are ``(in, out, G)``,
its activations ``(rows, units, G)``, all flat, 64-byte aligned. Each step of the algorithm
is then the same operation on ``G`` members at once, one vector instruction wide, whatever
the layer widths: a 2-3-2 network vectorises as well as a 2-64-2 one. A group is as wide as
its widest member; narrower members' extra units hold zero weights and stay zero, as
the masked units of the NumPy loop do.

Tiles: every width and the batch are padded to an even number (zero weights, zero inputs,
masked units, zero gradients), so each product works on 2 x 2 tiles: two rows by two units,
four independent sums in registers per pair of loads, and no remainder loops.

Each ``for lane in range(G)`` loop below is one vector operation. What makes LLVM emit it as
one (the helpers are in :mod:`nnscratch.fast.llvm`):

- numba's SLP (straight-line) vectoriser on and its loop vectoriser off (``compiled``);
  the loop vectoriser would vectorise across units with gathers and scatters instead, and
  numba leaves the SLP vectoriser off by default;
- sums and scratch values in ``G``-element arrays on the stack (``scratch``), which LLVM
  keeps in registers;
- memory read and written through pointers (``at(array, offset)[lane]``): numba checks an
  array index for a negative value (to wrap it around), per lane, unless it can prove the
  index non-negative, and those checks break the ``G`` accesses apart;
- no branch around a load (a select of loaded values, or a product with 0/1, instead),
  and no select that stores back the value it loaded (LLVM makes it a masked store,
  ``vmaskmovpd``, slow on AVX2: see ``_activate``);
- every input of a lane loop read before its first store through another pointer
  (``_descend``; a ``scratch`` vector may be read after, LLVM knows it is apart): LLVM
  cannot tell two arrays' pointers apart, and keeps interleaved reads and writes scalar;
- every float constant made with the intrinsic ``num`` (a float64 literal would widen
  float32 arithmetic to float64);
- the kernel's LLVM function, and each phase's, marked to prefer 512-bit vectors
  (``wide_vectors``): LLVM tunes Intel's AVX-512 processors to prefer 256 bits, and cut
  each lane loop in two there;
- the small helpers called at every tile (``_backprop``, ``_descend``) take pointers, not
  arrays: with no reference counts to keep, they are plain functions that LLVM inlines.
  numba's own inlining (``inline="always"``) copies and types a function again at every
  call site, and cost W1's kernel several seconds of compile per helper; it is kept for the
  small helpers with one call site where LLVM's inlining measured slower (``_exp``,
  ``_activate``);
- the forward pass, the loss and each layer's backward pass and update are functions of
  their own (``forward_rows``, ``_softmax_loss``, ``_backward_layer``), typed and
  optimised apart and always inlined by LLVM (``INLINED``, numba's ``forceinline``), and
  no helper builds the wrappers that would let Python call it (``NESTED``): numba's
  passes and LLVM's cost more than in proportion to a function's size, and W1's first
  compile took about 0.8 s less than with the phases written out in the kernel. Inlined,
  they run as fast as written out; left to LLVM's choice, the loss stayed a call and the
  epoch ran 1.35x slower (float64; 1.8x in float32). The activation and ``upto`` reach
  them as constants (numba types a constant argument as a literal and compiles the
  helper for that value), so each compiles the one branch it takes.

Threads: the kernel is a serial loop over the lane groups that releases the GIL, and
:func:`nnscratch.fast.threads.split` runs it in one thread per core, each thread every
``stride``-th group (numba's ``prange`` doubled the compile time).

The tests pin every activation, depth, width mix and dtype to the NumPy loop.
"""

import functools

import numba as nb
import numpy as np

from nnscratch.fast.codes import LEAKY_RELU, LEAKY_RELU_SLOPE, RELU, SIGMOID, TANH
from nnscratch.fast.llvm import (
    INLINED,
    KERNEL,
    NESTED,
    aligned,
    as_float,
    at,
    lanes,
    num,
    scratch,
    wide_vectors,
)


@nb.njit(inline="always")  # numba's inlining: here, LLVM's left the one call a call
def _exp(v, s):
    """``v = e ** v`` for ``v <= 0``, to an ulp or two, in arithmetic that vectorises.

    libm's ``exp`` is a scalar call. Here ``v = n ln 2 + r`` with ``|r| <= ln(2) / 2``,
    ``e ** r`` is its Taylor series (float64: to ``r ** 13``, remainder under 1e-17;
    float32: :func:`_exp32`), and ``2 ** n`` is built in the exponent bits, in the scratch
    ``s``. ``exp(0)`` is exactly 1. Below -708 the result is ``e ** -708`` (3e-308) instead
    of a subnormal: nothing downstream can tell. Two loops, each small enough for LLVM to
    unroll and vectorise.
    """
    G = lanes(v)
    if G == 16:  # float32 (a constant: the other branch is not compiled in)
        _exp32(v, s)
        return
    for lane in range(G):
        x = v[lane]
        x = -708.0 if x < -708.0 else x  # NaN stays NaN
        n = np.floor(x * 1.4426950408889634 + 0.5)
        v[lane] = (x - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10
        s[lane] = as_float((np.int64(n) + 1023) << 52, v)
    for lane in range(G):
        r = v[lane]  # Horner, with the coefficients 1/13!, 1/12!, ..., 1/1!, 1/0!
        p = 1.6059043836821613e-10
        p = p * r + 2.08767569878681e-09
        p = p * r + 2.505210838544172e-08
        p = p * r + 2.755731922398589e-07
        p = p * r + 2.7557319223985893e-06
        p = p * r + 2.48015873015873e-05
        p = p * r + 0.0001984126984126984
        p = p * r + 0.001388888888888889
        p = p * r + 0.008333333333333333
        p = p * r + 0.041666666666666664
        p = p * r + 0.16666666666666666
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        v[lane] = p * s[lane]


@nb.njit(inline="always")
def _exp32(v, s):
    """:func:`_exp` in float32 arithmetic, sixteen lanes: Cody and Waite's two-part ``ln 2``
    (``n ln2_hi`` exact), the Taylor series to ``r ** 7`` (remainder under 6e-9, a tenth of
    an ulp); below -87 the result is ``e ** -87`` (1.6e-38) instead of a subnormal. The
    constants are made before the loops, which LLVM then unrolls whole."""
    G = lanes(v)
    low, log2e, half = num(v, -87.0), num(v, 1.4426950408889634), num(v, 0.5)
    ln2_hi, ln2_lo = num(v, 0.693359375), num(v, -2.12194440e-4)
    for lane in range(G):
        x = v[lane]
        x = low if x < low else x
        n = np.floor(x * log2e + half)
        v[lane] = (x - n * ln2_hi) - n * ln2_lo
        s[lane] = as_float((np.int64(n) + 127) << 23, v)
    # Horner, with the coefficients 1/7!, 1/6!, ..., 1/1!, 1/0!, in two loops: sixteen lanes
    # of one loop would be too long for LLVM to unroll whole (and then vectorise)
    c7, c6, c5 = num(v, 1.984126984126984e-4), num(v, 0.001388888888888889), num(v, 1 / 120)
    c4, c3, c2, c1 = num(v, 1 / 24), num(v, 1 / 6), num(v, 0.5), num(v, 1.0)
    q = scratch(v)
    for lane in range(G):
        r = v[lane]
        q[lane] = ((c7 * r + c6) * r + c5) * r + c4
    for lane in range(G):
        r = v[lane]
        v[lane] = ((((q[lane] * r + c3) * r + c2) * r + c1) * r + c1) * s[lane]


@nb.njit(inline="always")  # one call site; LLVM's inlining left float32 slower
def _activate(a, o, m, rows, units, kind):
    """``a = f(a) * m`` on ``rows`` rows of ``units`` units from ``a[o]`` on, eq. (5).

    ``f`` is the activation with code ``kind`` (:mod:`nnscratch.fast.codes`). A unit beyond a
    member's width has zero weights and bias, so ``a = 0`` there and ``f(0) = 0`` for every
    activation but the sigmoid: only its output is multiplied by the width mask ``m``.

    (Leaky) ReLU is ``v * gate``, the gate 1 or the slope (0 for ReLU): the select
    ``v if v > 0 else 0 * v`` writes back only where ``v <= 0``, and LLVM makes that a
    masked store, which AVX2 machines run slowly (``vmaskmovpd``: on a Zen 3, 2.7 of the
    4.4 us of W1's ``forward_rows`` per group-step, one group on one thread; the product
    takes 0.7). Same numbers, to the bit.
    """
    G, zero, one = lanes(a), num(a, 0.0), num(a, 1.0)
    for r in range(rows):
        for j in range(units):
            t = at(a, o + (r * units + j) * G)
            if kind == RELU or kind == LEAKY_RELU:  # v * 0 keeps NaN a NaN
                slope = num(a, 0.0 if kind == RELU else LEAKY_RELU_SLOPE)
                for lane in range(G):
                    t[lane] = t[lane] * (one if t[lane] > zero else slope)
            elif kind == TANH:
                for lane in range(G):
                    t[lane] = np.tanh(t[lane])
            elif kind == SIGMOID:  # without overflow for large |v|; f(0) = 1/2, masked
                mp = at(m, j * G)
                for lane in range(G):
                    v = t[lane]
                    e = np.exp(-abs(v))
                    t[lane] = (one / (one + e) if v >= zero else e / (one + e)) * mp[lane]


@nb.njit(**NESTED)
def _backprop(dp, t, h, kind):
    """``dp[:G] = t * f'(a)``, from the activation's output ``h[:G]`` (eq. 17)."""
    G, zero, one = lanes(t), num(t, 0.0), num(t, 1.0)
    if kind == RELU or kind == LEAKY_RELU:  # h > 0 exactly when a > 0
        slope = num(t, 0.0 if kind == RELU else LEAKY_RELU_SLOPE)
        for lane in range(G):
            t[lane] = t[lane] if h[lane] > zero else slope * t[lane]
    elif kind == TANH:
        for lane in range(G):
            t[lane] = t[lane] * (one - h[lane] * h[lane])
    elif kind == SIGMOID:
        for lane in range(G):
            t[lane] = t[lane] * (h[lane] * (one - h[lane]))
    for lane in range(G):
        dp[lane] = t[lane]


@nb.njit(**NESTED)
def _descend(xp, step, t):
    """``xp[:G] -= step[:G] * t``, eq. (7); ``t`` is overwritten.

    Every ``step`` is read before any ``xp`` is written: LLVM cannot tell that the weights
    and the learning rates do not overlap, and kept the one-loop form (read, update, store,
    lane by lane) scalar. LLVM still fuses the product and the difference into one
    multiply-add: the weights are the same, to the bit, as with the one-loop form.
    """
    G = lanes(t)
    for lane in range(G):
        t[lane] = step[lane] * t[lane]
    for lane in range(G):
        xp[lane] -= t[lane]


@nb.njit(**INLINED)
def _softmax_loss(z, d, y, order, first, start, n, K, Kp, scale, sums, vectors):
    """The loss of one batch's ``n`` rows: softmax cross-entropy, added to the group's
    ``sums`` (loss, hits and the product of the softmax sums), and ``d = (softmax - onehot)
    * scale``, eq. (14)."""
    wide_vectors(z)  # optimised on its own before it is inlined
    loss, hits, product = sums
    P, G = order.shape[0], lanes(z)
    zero, one = num(z, 0.0), num(z, 1.0)
    zmax, best, total, z_label, label, t, u = vectors
    for i in range(n):
        zi, di = at(z, i * Kp * G), at(d, i * Kp * G)
        for lane in range(G):
            label[lane] = y[order[min(first + lane, P - 1), start + i]]
        for lane in range(G):  # the first maximum, as argmax takes it
            zmax[lane], best[lane] = zi[lane], 0.0
        for k in range(1, K):
            kf = num(z, k)
            for lane in range(G):
                v = zi[k * G + lane]
                up = v > zmax[lane]
                zmax[lane] = v if up else zmax[lane]
                best[lane] = kf if up else best[lane]
        for lane in range(G):
            total[lane], z_label[lane] = 0.0, 0.0
        for k in range(K):  # exp(0) = 1 exactly for the maximum
            kf = num(z, k)
            for lane in range(G):
                t[lane] = zi[k * G + lane] - zmax[lane]
            _exp(t, u)
            for lane in range(G):
                di[k * G + lane] = t[lane]
                total[lane] += t[lane]
                z_label[lane] += zi[k * G + lane] * (one if label[lane] == kf else zero)
        for lane in range(G):  # loss = log(total) + zmax - z_y; the logs summed below
            loss[lane] += zmax[lane] - z_label[lane]
            hits[lane] += 1.0 if best[lane] == label[lane] else 0.0
            product[lane] *= total[lane]  # 1 <= total <= K
        for lane in range(G):
            if product[lane] > 1e250 or i == n - 1:  # sum of logs = log of product
                loss[lane] += np.log(product[lane])
                product[lane] = 1.0
        for k in range(K):
            kf = num(z, k)
            for lane in range(G):
                v = di[k * G + lane] / total[lane] * scale
                di[k * G + lane] = v - scale * (one if label[lane] == kf else zero)


@nb.njit(**INLINED)
def _backward_layer(d, d_prev, W, b, hin, step, ne, din, dout, back, kind, upto, vectors):
    """One layer's backward pass and update for ``ne`` rows: ``d_prev = (d W^T) * f'(a)``
    (eq. (17), when ``back``: not for the first layer), then eq. (7) with eq. (15) and (16),
    ``W -= lr h^T d`` and ``b -= lr * column sums of d``. ``upto``: as the kernel's."""
    wide_vectors(d)  # optimised on its own before it is inlined
    G = lanes(d)
    t00, t01, t10, t11, t = vectors
    if back and upto >= 4:  # d_prev = (d W^T) * f'(a), eq. (17), W before its update
        for i in range(0, ne, 2):
            for c in range(0, din, 2):
                for lane in range(G):
                    t00[lane], t01[lane], t10[lane], t11[lane] = 0.0, 0.0, 0.0, 0.0
                for j in range(dout):
                    d0 = at(d, (i * dout + j) * G)
                    d1 = at(d, ((i + 1) * dout + j) * G)
                    w0 = at(W, (c * dout + j) * G)
                    w1 = at(W, ((c + 1) * dout + j) * G)
                    for lane in range(G):
                        t00[lane] += d0[lane] * w0[lane]
                        t01[lane] += d0[lane] * w1[lane]
                        t10[lane] += d1[lane] * w0[lane]
                        t11[lane] += d1[lane] * w1[lane]
                o0, o1 = (i * din + c) * G, ((i + 1) * din + c) * G
                _backprop(at(d_prev, o0), t00, at(hin, o0), kind)
                _backprop(at(d_prev, o0 + G), t01, at(hin, o0 + G), kind)
                _backprop(at(d_prev, o1), t10, at(hin, o1), kind)
                _backprop(at(d_prev, o1 + G), t11, at(hin, o1 + G), kind)
    # eq. (7) with eq. (15): W[c, j] -= lr * sum_i h[i, c] d[i, j]
    for c in range(0, din if upto >= 5 else 0, 2):
        for j in range(0, dout, 2):
            for lane in range(G):
                t00[lane], t01[lane], t10[lane], t11[lane] = 0.0, 0.0, 0.0, 0.0
            for i in range(ne):
                hp, dp = at(hin, (i * din + c) * G), at(d, (i * dout + j) * G)
                for lane in range(G):
                    t00[lane] += hp[lane] * dp[lane]
                    t01[lane] += hp[lane] * dp[G + lane]
                    t10[lane] += hp[G + lane] * dp[lane]
                    t11[lane] += hp[G + lane] * dp[G + lane]
            w0, w1 = (c * dout + j) * G, ((c + 1) * dout + j) * G
            sp = at(step, 0)
            _descend(at(W, w0), sp, t00)
            _descend(at(W, w0 + G), sp, t01)
            _descend(at(W, w1), sp, t10)
            _descend(at(W, w1 + G), sp, t11)
    for j in range(dout if upto >= 6 else 0):  # eq. (16): db = column sums of d
        for lane in range(G):
            t[lane] = 0.0
        for i in range(ne):
            dp = at(d, (i * dout + j) * G)
            for lane in range(G):
                t[lane] += dp[lane]
        _descend(at(b, j * G), at(step, 0), t)


@nb.njit(**NESTED)  # once per group: a call costs nothing
def group_layout(first, active, widths, G):
    """Which of the group's ``G`` lanes hold a live member (1, else 0), and its even-padded
    layer sizes.

    Integers, not booleans: every small array of the kernels is ``int64``, float64 or the
    float dtype, so numba compiles ``np.zeros`` for those types only (each one more costs
    0.1-0.3 s on a cold cache).
    """
    P, L = widths.shape[0], widths.shape[1] - 1
    live = np.zeros(G, np.int64)
    dims = np.zeros(L + 1, np.int64)
    for lane in range(G):
        p = first + lane
        if p < P and active[p]:
            live[lane] = 1
            for k in range(L + 1):
                dims[k] = max(dims[k], widths[p, k])
    for k in range(L + 1):
        dims[k] += dims[k] % 2
    return live, dims


@nb.njit(**NESTED)
def load_group(first, live, Ws, bs, widths, dims, like):
    """Copy a group's members in: lane-major, zero beyond each member's own width.

    Returns the flat weights, biases and masks with the offsets of layer ``k``'s weights
    ``(din, dout, G)`` and biases/masks ``(dout, G)``; all multiples of ``G``, so all aligned.
    """
    L, G = len(Ws), lanes(like)
    w_at = np.zeros(L + 1, np.int64)
    b_at = np.zeros(L + 1, np.int64)
    for k in range(L):
        w_at[k + 1] = w_at[k] + dims[k] * dims[k + 1] * G
        b_at[k + 1] = b_at[k] + dims[k + 1] * G
    Wg, bg, mask = aligned(w_at[L], like), aligned(b_at[L], like), aligned(b_at[L], like)
    for lane in range(G):
        p = first + lane
        if not live[lane]:
            continue
        for k in range(L):
            W, b, dout = Ws[k][p], bs[k][p], dims[k + 1]
            for c in range(widths[p, k]):
                for j in range(widths[p, k + 1]):
                    Wg[w_at[k] + (c * dout + j) * G + lane] = W[c, j]
            for j in range(widths[p, k + 1]):
                bg[b_at[k] + j * G + lane] = b[j]
                mask[b_at[k] + j * G + lane] = 1.0
    return Wg, bg, mask, w_at, b_at


@nb.njit(**NESTED)
def activation_buffer(dims, rows, like):
    """The buffer of every layer's input ``(rows, din, G)`` and the logits, and its offsets."""
    L, G = len(dims) - 1, lanes(like)
    h_at = np.zeros(L + 2, np.int64)
    for k in range(L + 1):
        h_at[k + 1] = h_at[k] + rows * dims[k] * G
    return aligned(h_at[L + 1], like), h_at


@nb.njit(**INLINED)
def forward_rows(Wg, bg, mask, w_at, b_at, h, h_at, dims, ne, kind, t00, t01, t10, t11):
    """Rows ``0..ne`` of every layer: ``a = h W + b``, eq. (5)/(6); ``h_next = f(a) * mask``."""
    wide_vectors(Wg)  # optimised on its own before it is inlined
    L, G = len(dims) - 1, lanes(Wg)
    for k in range(L):
        din, dout = dims[k], dims[k + 1]
        W, b, m = Wg[w_at[k] : w_at[k + 1]], bg[b_at[k] : b_at[k + 1]], mask[b_at[k] :]
        hin, a = h[h_at[k] : h_at[k + 1]], h[h_at[k + 1] : h_at[k + 2]]
        hidden = k < L - 1
        for i in range(0, ne, 2):
            x0, x1 = i * din * G, (i + 1) * din * G  # rows i and i + 1
            for j in range(0, dout, 2):  # units j and j + 1
                bp = at(b, j * G)
                for lane in range(G):
                    t00[lane] = bp[lane]
                    t01[lane] = bp[G + lane]
                    t10[lane] = bp[lane]
                    t11[lane] = bp[G + lane]
                for c in range(din):
                    wp = at(W, (c * dout + j) * G)
                    p0, p1 = at(hin, x0 + c * G), at(hin, x1 + c * G)
                    for lane in range(G):
                        t00[lane] += p0[lane] * wp[lane]
                        t01[lane] += p0[lane] * wp[G + lane]
                        t10[lane] += p1[lane] * wp[lane]
                        t11[lane] += p1[lane] * wp[G + lane]
                a0, a1 = at(a, (i * dout + j) * G), at(a, ((i + 1) * dout + j) * G)
                for lane in range(G):
                    a0[lane], a0[G + lane] = t00[lane], t01[lane]
                    a1[lane], a1[G + lane] = t10[lane], t11[lane]
            if hidden:  # rows i and i + 1
                _activate(a, i * dout * G, m, 2, dout, kind)


#: The phases of a step, in order (``upto`` of :func:`epoch_kernel` counts them).
PHASES = ("gather", "forward", "loss", "backward", "weights", "biases")


@functools.cache
def epoch_kernel(kind: int, upto: int = len(PHASES)):
    """The epoch kernel for the activation with code ``kind`` (:mod:`nnscratch.fast.codes`).

    One kernel an activation (and, as numba's signatures go, a dtype and a depth), ``kind``
    a constant of the closure, so that a run compiles the one branch it takes; numba caches
    each, keyed by the closure's constants, in one index. ``upto`` runs only the first
    ``upto`` of :data:`PHASES` in each step (all by default): ``benchmarks/phases.py`` times
    each phase as the difference of two such kernels. The kernel is written out in the
    closure rather than inlined into it, because numba's inlining copies a function's whole
    IR (3 to 4 s more compile for this one); its phases are the helpers above.
    """

    @nb.njit(**KERNEL)
    def sgd_epoch(
        X, y, order, Ws, bs, lr, widths, batch_size, mean, active, out, first_group, stride
    ):
        """One epoch of minibatch SGD for every member, ``G`` members to a group in the lanes.

        Transcribes one call of :class:`nnscratch.core.epoch.NumpyEpoch` for plain SGD on a
        softmax MLP: per batch of ``order``, the forward pass of
        :meth:`nnscratch.core.network.MLP.forward` (eq. (5)/(6)), the loss and gradient of
        :class:`nnscratch.core.losses.SoftmaxCrossEntropy` (eq. (14)), the backward pass of
        the dense and activation layers (eq. (15)-(17)) and
        :class:`nnscratch.core.optim.SGD`'s update (eq. (7)); frozen members (``active``
        False) are not touched. It runs the lane groups ``first_group, first_group + stride,
        ...``; :func:`nnscratch.fast.threads.split` runs the others in other threads.
        """
        # X (N,D); y (N,); order (P,N_train) row indices; Ws[l] (P,in,out); bs[l] (P,out);
        # lr (P,); widths (P,L+1) active sizes; out (P,2): summed loss and hits, per member
        P, n_rows = order.shape
        L = len(Ws)
        D = X.shape[1]
        wide_vectors(X)  # whole 512-bit vectors on Intel's AVX-512 processors too
        G = lanes(X)  # members to a group: 8 float64, 16 float32
        t, u = scratch(X), scratch(X)  # vector registers
        t00, t01 = scratch(X), scratch(X)  # a 2 x 2 tile
        t10, t11 = scratch(X), scratch(X)
        zmax, total = scratch(X), scratch(X)
        best, label = scratch(X), scratch(X)  # class numbers
        z_label = scratch(X)
        for group in range(first_group, (P + G - 1) // G, stride):
            first = group * G  # member in lane 0
            live, dims = group_layout(first, active, widths, G)
            if dims[0] == 0:
                continue  # every member frozen
            K, Kp, Dp = widths[0, L], dims[L], dims[0]  # classes; padded: classes, inputs
            rows = batch_size + batch_size % 2
            Wg, bg, mask, w_at, b_at = load_group(first, live, Ws, bs, widths, dims, X)
            h, h_at = activation_buffer(dims, rows, X)  # h[k]: layer k's input; h[L]: the logits
            widest = 0  # a loop: dims.max() costs 0.6 s more compile on a cold cache
            for k in range(L + 1):
                widest = max(widest, dims[k])
            d = aligned(rows * widest * G, X)  # dL/da of the current layer
            d_prev = aligned(rows * widest * G, X)
            step = aligned(G, X)  # learning rate per lane; 0 in empty lanes
            for lane in range(G):
                if live[lane]:
                    step[lane] = lr[first + lane]
            loss = np.zeros(G, out.dtype)  # float64 in either dtype, as out
            hits = np.zeros(G, out.dtype)
            product = np.zeros(G, out.dtype)  # then ones: np.ones would be one more compile
            for lane in range(G):
                product[lane] = 1.0
            for start in range(0, n_rows, batch_size):
                n = min(batch_size, n_rows - start)
                ne = n + n % 2  # rows in whole tiles; an odd batch's extra row is zeros
                scale = num(X, 1.0 / n if mean else 1.0)
                # --- gather the minibatch: row i of lane l is X[order[member, start + i]] ---
                for i in range(n):
                    for lane in range(G):
                        r = order[min(first + lane, P - 1), start + i]
                        for c in range(D):
                            h[(i * Dp + c) * G + lane] = X[r, c]
                for o in range(n * Dp * G, ne * Dp * G):
                    h[o] = 0.0
                if upto < 2:
                    continue
                forward_rows(Wg, bg, mask, w_at, b_at, h, h_at, dims, ne, kind, t00, t01, t10, t11)
                if upto < 3:
                    continue
                # --- loss: softmax cross-entropy; d = (softmax - onehot) * scale, eq. (14) ---
                z = h[h_at[L] : h_at[L + 1]]  # the logits
                sums, vectors = (loss, hits, product), (zmax, best, total, z_label, label, t, u)
                _softmax_loss(z, d, y, order, first, start, n, K, Kp, scale, sums, vectors)
                for i in range(ne):  # the padding row and class add nothing below
                    for o in range(((i * Kp + (K if i < n else 0)) * G), (i + 1) * Kp * G):
                        d[o] = 0.0
                # --- backward and update, last layer first ---
                for k in range(L - 1, -1, -1):
                    din, dout = dims[k], dims[k + 1]
                    W, b = Wg[w_at[k] : w_at[k + 1]], bg[b_at[k] : b_at[k + 1]]
                    hin = h[h_at[k] : h_at[k + 1]]
                    tiles = (t00, t01, t10, t11, t)
                    _backward_layer(
                        d, d_prev, W, b, hin, step, ne, din, dout, k > 0, kind, upto, tiles
                    )
                    if k > 0:
                        d, d_prev = d_prev, d
            # --- copy the members back out ---
            for lane in range(G):
                p = first + lane
                if not live[lane]:
                    continue
                out[p, 0] = loss[lane]
                out[p, 1] = hits[lane]
                for k in range(L):
                    W, b, dout = Ws[k][p], bs[k][p], dims[k + 1]
                    for c in range(widths[p, k]):
                        for j in range(widths[p, k + 1]):
                            W[c, j] = Wg[w_at[k] + (c * dout + j) * G + lane]
                    for j in range(widths[p, k + 1]):
                        b[j] = bg[b_at[k] + j * G + lane]

    return sgd_epoch
