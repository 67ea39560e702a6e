"""The compiled kernel behind :mod:`nnscratch.accel` (imports numba; loaded only on use).

One epoch of minibatch SGD for a softmax MLP. The NumPy loop in :mod:`nnscratch.core.train`
is the reference these loops follow, equation by equation.

Layout: members in SIMD lanes. The population is cut into groups of ``G`` members, and every
array of a group ends in a lane axis of length ``G``: a group's weights are ``(in, out, G)``,
its activations ``(rows, units, G)``, all flat, 64-byte aligned. Each step of the algorithm
is then the same operation on ``G`` members at once, one vector instruction wide, whatever
the layer widths: a 2-3-2 network vectorises as well as a 2-64-2 one. A group is as wide as
its widest member; narrower members' extra units are masked, as in the NumPy loop.

Each ``for lane in range(G)`` loop below is one vector operation. Two things make LLVM emit it
as one: its operands are first copied into ``t``/``u``, small arrays on the stack that LLVM
keeps in registers (so no store can alias a later load), and the kernel is compiled with
numba's SLP (straight-line) vectoriser on and its loop vectoriser off (:func:`compiled`);
the loop vectoriser would otherwise vectorise across units with gathers and scatters, and
numba leaves the SLP vectoriser off by default. The tests pin every activation, depth,
width mix and dtype to the NumPy loop.
"""

from contextlib import contextmanager

import numba as nb
import numpy as np
from numba import types
from numba.core import cgutils, config
from numba.extending import intrinsic

#: Members per group: 8 float64 lanes fill one 512-bit register.
G = 8


@intrinsic
def _lanes(typingctx, like):
    """A ``G``-element scratch vector of ``like``'s dtype on the stack (a pointer)."""
    sig = types.CPointer(like.dtype)(like)

    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, context.get_data_type(like.dtype), size=G)

    return sig, codegen


@nb.njit(inline="always")
def _aligned(n, like):
    """``np.zeros(n, like.dtype)`` starting on a 64-byte boundary (whole-vector loads)."""
    pad = 64 // like.itemsize
    buf = np.zeros(n + pad, like.dtype)
    start = (-buf.ctypes.data % 64) // like.itemsize
    return buf[start : start + n]


@nb.njit(inline="always")
def _activate(t, kind):
    """``t = f(t)`` for the activation with code ``kind`` (``nnscratch.accel.ACTIVATIONS``)."""
    if kind == 1:  # relu; 0 * v keeps NaN a NaN
        for lane in range(G):
            t[lane] = t[lane] if t[lane] > 0 else 0.0 * t[lane]
    elif kind == 2:  # leaky_relu
        for lane in range(G):
            t[lane] = t[lane] if t[lane] > 0 else 0.01 * t[lane]
    elif kind == 3:
        for lane in range(G):
            t[lane] = np.tanh(t[lane])
    elif kind == 4:  # sigmoid, without overflow for large |v|
        for lane in range(G):
            v = t[lane]
            e = np.exp(-abs(v))
            t[lane] = 1.0 / (1.0 + e) if v >= 0 else e / (1.0 + e)


@nb.njit(inline="always")
def _times_grad(t, h, o, kind):
    """``t *= f'(a)``, from the activation's output ``h[o : o + G]`` (eq. 17)."""
    if kind == 1 or kind == 2:  # h > 0 exactly when a > 0
        slope = 0.0 if kind == 1 else 0.01
        for lane in range(G):
            t[lane] = t[lane] if h[o + lane] > 0 else slope * t[lane]
    elif kind == 3:
        for lane in range(G):
            t[lane] = t[lane] * (1.0 - h[o + lane] * h[o + lane])
    elif kind == 4:
        for lane in range(G):
            t[lane] = t[lane] * (h[o + lane] * (1.0 - h[o + lane]))


# reassoc/contract: fused multiply-adds; no nnan/ninf: divergence must show
@nb.njit(parallel=True, cache=True, fastmath={"reassoc", "contract"})
def sgd_epoch(X, y, order, Ws, bs, lr, widths, batch_size, mean, kind, active, out):
    # X (N,D); y (N,); order (P,N_train) row indices; Ws[l] (P,in,out); bs[l] (P,out);
    # lr (P,); widths (P,L+1) active sizes; out (P,2): summed loss and hits, per member
    P, n_rows = order.shape
    L = len(Ws)
    D = X.shape[1]
    for group in nb.prange((P + G - 1) // G):
        t = nb.carray(_lanes(X), G)  # vector registers
        u = nb.carray(_lanes(X), G)
        first = group * G  # member in lane 0
        # --- the group's shape: its widest active member, layer by layer ---
        live = np.zeros(G, np.bool_)
        dims = np.zeros(L + 1, np.int64)
        for lane in range(G):
            p = first + lane
            if p < P and active[p]:
                live[lane] = True
                for k in range(L + 1):
                    dims[k] = max(dims[k], widths[p, k])
        if dims[0] == 0:
            continue  # every member frozen
        # offsets of layer k's weights (din, dout, G), biases and masks (dout, G) and
        # inputs (batch, din, G) in flat buffers; all multiples of G, so all aligned
        w_at = np.zeros(L + 1, np.int64)
        b_at = np.zeros(L + 1, np.int64)
        h_at = np.zeros(L + 2, np.int64)
        widest = 0
        for k in range(L):
            w_at[k + 1] = w_at[k] + dims[k] * dims[k + 1] * G
            b_at[k + 1] = b_at[k] + dims[k + 1] * G
        for k in range(L + 1):
            h_at[k + 1] = h_at[k] + batch_size * dims[k] * G
            widest = max(widest, dims[k])
        Wg, gW = _aligned(w_at[L], X), _aligned(w_at[L], X)  # weights and their gradient
        bg, mask = _aligned(b_at[L], X), _aligned(b_at[L], X)
        h = _aligned(h_at[L + 1], X)  # h[k]: layer k's input; h[L]: the logits
        d = _aligned(batch_size * widest * G, X)  # dL/da of the current layer
        d_prev = _aligned(batch_size * widest * G, X)
        step = _aligned(G, X)  # learning rate per lane; 0 in empty lanes
        label = np.zeros(G, np.int64)
        best = np.zeros(G, np.int64)
        zmax = np.zeros(G, X.dtype)
        total = np.zeros(G, X.dtype)
        product = np.ones(G)
        loss = np.zeros(G)
        hits = np.zeros(G)
        # --- copy the members in: lane-major, zero beyond each member's own width ---
        for lane in range(G):
            p = first + lane
            if not live[lane]:
                continue
            step[lane] = lr[p]
            for k in range(L):
                W, b, dout = Ws[k][p], bs[k][p], dims[k + 1]
                for c in range(widths[p, k]):
                    for j in range(widths[p, k + 1]):
                        Wg[w_at[k] + (c * dout + j) * G + lane] = W[c, j]
                for j in range(widths[p, k + 1]):
                    bg[b_at[k] + j * G + lane] = b[j]
                    mask[b_at[k] + j * G + lane] = 1.0
        K = dims[L]
        for start in range(0, n_rows, batch_size):
            n = min(batch_size, n_rows - start)
            scale = 1.0 / n if mean else 1.0
            # --- gather the minibatch: row i of lane l is X[order[member, start + i]] ---
            for i in range(n):
                for lane in range(G):
                    r = order[min(first + lane, P - 1), start + i]
                    for c in range(D):
                        h[(i * D + c) * G + lane] = X[r, c]
            # --- forward: a = h W + b, eq. (5)/(6); h_next = f(a) * mask ---
            for k in range(L):
                din, dout = dims[k], dims[k + 1]
                W, b = Wg[w_at[k] : w_at[k + 1]], bg[b_at[k] : b_at[k + 1]]
                hin, a = h[h_at[k] : h_at[k + 1]], h[h_at[k + 1] : h_at[k + 2]]
                for i in range(n):
                    for j in range(dout):
                        for lane in range(G):
                            t[lane] = b[j * G + lane]
                        for lane in range(G):
                            a[(i * dout + j) * G + lane] = t[lane]
                for c in range(din):  # a[i, j] += h[i, c] W[c, j]
                    for i in range(n):
                        for lane in range(G):
                            u[lane] = hin[(i * din + c) * G + lane]
                        for j in range(dout):
                            o, w = (i * dout + j) * G, (c * dout + j) * G
                            for lane in range(G):
                                t[lane] = a[o + lane] + u[lane] * W[w + lane]
                            for lane in range(G):
                                a[o + lane] = t[lane]
                if k < L - 1:
                    m = mask[b_at[k] : b_at[k + 1]]
                    for i in range(n):
                        for j in range(dout):
                            o = (i * dout + j) * G
                            for lane in range(G):
                                t[lane] = a[o + lane]
                            _activate(t, kind)
                            for lane in range(G):
                                a[o + lane] = t[lane] * m[j * G + lane]
            # --- loss: softmax cross-entropy; d = (softmax - onehot) * scale, eq. (14) ---
            z = h[h_at[L] : h_at[L + 1]]
            for i in range(n):
                for lane in range(G):  # first maximum, as argmax takes it
                    zmax[lane], best[lane], total[lane] = z[i * K * G + lane], 0, 0.0
                    label[lane] = y[order[min(first + lane, P - 1), start + i]]
                for k in range(1, K):
                    for lane in range(G):
                        if z[(i * K + k) * G + lane] > zmax[lane]:
                            zmax[lane], best[lane] = z[(i * K + k) * G + lane], k
                for k in range(K):
                    for lane in range(G):
                        o = (i * K + k) * G + lane
                        e = 1.0 if k == best[lane] else np.exp(z[o] - zmax[lane])  # exp(0) = 1
                        d[o] = e
                        total[lane] += e
                for lane in range(G):  # loss = log(total) + zmax - z_y; the logs summed below
                    loss[lane] += zmax[lane] - z[(i * K + label[lane]) * G + lane]
                    hits[lane] += 1.0 if best[lane] == label[lane] else 0.0
                    product[lane] *= total[lane]  # 1 <= total <= K
                    if product[lane] > 1e250 or i == n - 1:  # sum of logs = log of product
                        loss[lane] += np.log(product[lane])
                        product[lane] = 1.0
                for k in range(K):
                    for lane in range(G):
                        o = (i * K + k) * G + lane
                        d[o] = d[o] / total[lane] * scale
                for lane in range(G):
                    d[(i * K + label[lane]) * G + lane] -= scale
            # --- backward and update, last layer first ---
            for k in range(L - 1, -1, -1):
                din, dout = dims[k], dims[k + 1]
                W, b = Wg[w_at[k] : w_at[k + 1]], bg[b_at[k] : b_at[k + 1]]
                g = gW[w_at[k] : w_at[k + 1]]
                hin = h[h_at[k] : h_at[k + 1]]
                if k > 0:  # d_prev = (d W^T) * f'(a), eq. (17), with W before its update
                    for o in range(0, n * din * G, G):
                        for lane in range(G):
                            d_prev[o + lane] = 0.0
                    for i in range(n):  # d_prev[i, c] += d[i, j] W[c, j]
                        for j in range(dout):
                            for lane in range(G):
                                u[lane] = d[(i * dout + j) * G + lane]
                            for c in range(din):
                                o, w = (i * din + c) * G, (c * dout + j) * G
                                for lane in range(G):
                                    t[lane] = d_prev[o + lane] + u[lane] * W[w + lane]
                                for lane in range(G):
                                    d_prev[o + lane] = t[lane]
                    for o in range(0, n * din * G, G):
                        for lane in range(G):
                            t[lane] = d_prev[o + lane]
                        _times_grad(t, hin, o, kind)
                        for lane in range(G):
                            d_prev[o + lane] = t[lane]
                # dW = h^T d, eq. (15), summed over the batch
                for w in range(0, din * dout * G, G):
                    for lane in range(G):
                        g[w + lane] = 0.0
                for i in range(n):  # g[c, j] += h[i, c] d[i, j]
                    for c in range(din):
                        for lane in range(G):
                            u[lane] = hin[(i * din + c) * G + lane]
                        for j in range(dout):
                            o, w = (i * dout + j) * G, (c * dout + j) * G
                            for lane in range(G):
                                t[lane] = g[w + lane] + u[lane] * d[o + lane]
                            for lane in range(G):
                                g[w + lane] = t[lane]
                # eq. (7): theta := theta - lr * grad; db = column sums of d, eq. (16)
                for w in range(0, din * dout * G, G):
                    for lane in range(G):
                        t[lane] = W[w + lane] - step[lane] * g[w + lane]
                    for lane in range(G):
                        W[w + lane] = t[lane]
                for j in range(dout):
                    for lane in range(G):
                        t[lane] = 0.0
                    for i in range(n):
                        for lane in range(G):
                            t[lane] += d[(i * dout + j) * G + lane]
                    for lane in range(G):
                        t[lane] = b[j * G + lane] - step[lane] * t[lane]
                    for lane in range(G):
                        b[j * G + lane] = t[lane]
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


@contextmanager
def compiled():
    """Compile (or load from the cache) with SLP vectorisation on, loop vectorisation off.

    Both are numba-wide settings read when a function is compiled; they are restored on
    exit. Wrap the calls of :func:`sgd_epoch`: the first one compiles it.
    """
    saved = config.SLP_VECTORIZE, config.LOOP_VECTORIZE
    config.SLP_VECTORIZE, config.LOOP_VECTORIZE = 1, 0
    try:
        yield
    finally:
        config.SLP_VECTORIZE, config.LOOP_VECTORIZE = saved
