"""The one-member epoch: every member in its own thread (imports numba; loaded only on use).

One epoch of minibatch SGD for a softmax MLP, the members shared out over threads
(:func:`nnscratch.fast.threads.split`), each member's
steps written as plain loops over only its active units, vectorised along the units by
LLVM's loop vectoriser. :mod:`nnscratch.fast.lanes` puts 8 (float64) or 16 (float32) members
in the lanes of one vector instead, which wins once a population fills them;
:class:`nnscratch.fast.epoch.CompiledEpoch` picks this kernel for populations under
``LANES_FROM`` members (a single network would use one lane of a vector there). The NumPy loop
in :mod:`nnscratch.core.epoch` is the reference these loops follow, equation by equation.
"""

import functools

import numba as nb
import numpy as np

from nnscratch.fast.codes import LEAKY_RELU, LEAKY_RELU_SLOPE, RELU, SIGMOID, TANH
from nnscratch.fast.llvm import KERNEL


@nb.njit(inline="always")
def act(v, kind):
    """The activation with code ``kind`` (:mod:`nnscratch.fast.codes`)."""
    if kind == RELU:
        return v if v > 0 else 0.0 * v  # 0 * v keeps v's type, and NaN stays NaN
    if kind == LEAKY_RELU:
        return v if v > 0 else LEAKY_RELU_SLOPE * v
    if kind == TANH:
        return np.tanh(v)
    if kind == SIGMOID:
        # without overflow for large |v|
        if v >= 0:
            return 1.0 / (1.0 + np.exp(-v))
        e = np.exp(v)
        return e / (1.0 + e)
    return v


@nb.njit(inline="always")
def act_grad(a, h, kind):
    """Its derivative, from the input ``a`` or the output ``h``, whichever is cheaper."""
    if kind == RELU:
        return 1.0 if a > 0 else 0.0
    if kind == LEAKY_RELU:
        return 1.0 if a > 0 else LEAKY_RELU_SLOPE
    if kind == TANH:
        return 1.0 - h * h
    if kind == SIGMOID:
        return h * (1.0 - h)
    return 1.0


@functools.cache
def members_kernel(kind: int):
    """The one-member epoch kernel for the activation with code ``kind``, a constant of the
    closure (as :func:`nnscratch.fast.lanes.epoch_kernel`)."""

    # reassoc/contract let LLVM's loop vectoriser pack the dot products and the row updates
    # (packed multiply-adds in inspect_asm(), which reads only a fresh compile, not the cache)
    @nb.njit(**KERNEL)
    def sgd_epoch_members(
        X, y, order, Ws, bs, lr, widths, batch_size, mean, active, out, first, stride
    ):
        """One epoch of minibatch SGD for the members ``first, first + stride, ...``.

        Transcribes one call of :class:`nnscratch.core.epoch.NumpyEpoch` for plain SGD on a
        softmax MLP, as :func:`nnscratch.fast.lanes.epoch_kernel`'s kernel does, with its
        arguments and results: per batch of ``order``, the forward pass (eq. (5)/(6)), softmax
        cross-entropy and its gradient (eq. (14)), the backward pass (eq. (15)-(17)) and the SGD
        update (eq. (7)), over each member's active units only; frozen members are skipped.
        """
        # X (N,D); y (N,); order (P,N_train) row indices; Ws[l] (P,in,out); bs[l] (P,out);
        # lr (P,); widths (P,L+1) active sizes; out (P,2): summed loss and hits, per member
        P, n_rows = order.shape
        L = len(Ws)
        Hmax = 1  # the widest layer side
        for layer in range(L):
            Hmax = max(Hmax, Ws[layer].shape[1], Ws[layer].shape[2])
        for p in range(first, P, stride):
            if not active[p]:
                continue
            narrow, Smax = 0, 1  # the member's narrow layers (dout < din), their widest dout
            for layer in range(L):
                din, dout = widths[p, layer], widths[p, layer + 1]
                if dout < din:
                    narrow, Smax = narrow + 1, max(Smax, dout)
            # every buffer is a 3-D np.zeros or a part of one: numba compiles np.zeros once
            # per number of dimensions, 0.1-0.4 s each on a cold cache
            h = np.zeros((L + 1, batch_size, Hmax), X.dtype)  # layer inputs h[l]
            a = np.zeros((L + 1, batch_size, Hmax), X.dtype)  # pre-activations a[l+1]
            dd = np.zeros((3, batch_size, Hmax), X.dtype)
            d, d_prev = dd[0], dd[1]  # dL/da of the current layer and of the one below
            g = dd[2, 0]  # the gradient of one row of weights, or of b
            # a narrow layer's weights are kept transposed, (out, in), for the whole epoch:
            # its dot products, its backward pass and its update then all run along rows;
            # W gets them back at the end. Wt[s] is the s-th narrow layer's, counted from
            # the input (``slot`` below)
            Wt = np.zeros((max(narrow, 1), Smax, Hmax), X.dtype)
            slot = 0
            for layer in range(L):
                din, dout = widths[p, layer], widths[p, layer + 1]
                if dout < din:
                    W = Ws[layer][p]
                    for j in range(dout):
                        for c in range(din):
                            Wt[slot, j, c] = W[c, j]
                    slot += 1
            step = lr[p]
            loss, hits, product = 0.0, 0.0, 1.0
            K = widths[p, L]
            for start in range(0, n_rows, batch_size):
                n = min(batch_size, n_rows - start)
                scale = 1.0 / n if mean else 1.0
                # --- gather the minibatch ---
                for i in range(n):
                    r = order[p, start + i]
                    for c in range(widths[p, 0]):
                        h[0, i, c] = X[r, c]
                # --- forward ---
                slot = 0
                for layer in range(L):
                    W, b = Ws[layer][p], bs[layer][p]
                    din, dout = widths[p, layer], widths[p, layer + 1]
                    hin, aout = h[layer], a[layer + 1]
                    # loop orders keep the longer of din/dout innermost, over contiguous memory,
                    # and a row of the weights (of W^T when narrow) outermost: each is read
                    # once, the batch's rows (a few KB) staying in the first-level cache
                    if dout >= din:  # wide: a_i = b + sum_c h_ic W_c, rows of W
                        for i in range(n):
                            for j in range(dout):
                                aout[i, j] = b[j]
                        for c in range(din):
                            for i in range(n):
                                hv = hin[i, c]
                                for j in range(dout):
                                    aout[i, j] += hv * W[c, j]
                    else:  # narrow: a_ij = b_j + dot(h_i, row j of W^T)
                        WT = Wt[slot]
                        slot += 1
                        for j in range(dout):
                            for i in range(n):
                                acc = 0.0
                                for c in range(din):
                                    acc += hin[i, c] * WT[j, c]
                                aout[i, j] = acc + b[j]
                    if layer < L - 1:
                        for i in range(n):
                            for j in range(dout):
                                h[layer + 1, i, j] = act(aout[i, j], kind)
                # --- loss: softmax cross-entropy; d = (softmax - onehot) * scale, eq. (14) ---
                for i in range(n):
                    z = a[L, i]
                    best = 0
                    for k in range(1, K):
                        if z[k] > z[best]:
                            best = k
                    zmax, s = z[best], 0.0
                    for k in range(K):
                        d[i, k] = np.exp(z[k] - zmax)
                        s += d[i, k]
                    yi = y[order[p, start + i]]
                    loss += zmax - z[yi]  # + log(s), taken below as the log of a product
                    product *= s  # 1 <= s <= K: one log for hundreds of rows
                    if product > 1e250:
                        loss += np.log(product)
                        product = 1.0
                    hits += 1.0 if best == yi else 0.0
                    for k in range(K):
                        d[i, k] = d[i, k] / s * scale
                    d[i, yi] -= scale
                # --- backward and update, last layer first (the narrow ones from the top) ---
                slot = narrow
                for layer in range(L - 1, -1, -1):
                    W, b = Ws[layer][p], bs[layer][p]
                    din, dout = widths[p, layer], widths[p, layer + 1]
                    hin, ain = h[layer], a[layer]
                    wide = dout >= din
                    if not wide:
                        slot -= 1
                        WT = Wt[slot]  # this layer's
                    if layer > 0:  # d_prev = (d W^T) * f'(a), eq. (17), with W before its update
                        if wide:  # dot products along rows of W
                            for c in range(din):
                                for i in range(n):
                                    acc = 0.0
                                    for j in range(dout):
                                        acc += d[i, j] * W[c, j]
                                    d_prev[i, c] = acc * act_grad(ain[i, c], hin[i, c], kind)
                        else:  # sums of rows of W^T
                            for i in range(n):
                                for c in range(din):
                                    d_prev[i, c] = 0.0
                                for j in range(dout):
                                    dv = d[i, j]
                                    for c in range(din):
                                        d_prev[i, c] += dv * WT[j, c]
                                for c in range(din):
                                    d_prev[i, c] *= act_grad(ain[i, c], hin[i, c], kind)
                    # dW = h^T d, eq. (15), and eq. (7), theta := theta - lr * grad, one row of
                    # the weights at a time (W's row c when wide, W^T's row j when narrow): the
                    # row's gradient summed over the batch in g, then the row updated
                    if wide:
                        for c in range(din):
                            for j in range(dout):
                                g[j] = 0.0
                            for i in range(n):
                                hv = hin[i, c]
                                for j in range(dout):
                                    g[j] += hv * d[i, j]
                            for j in range(dout):
                                W[c, j] -= step * g[j]
                    else:
                        for j in range(dout):
                            for c in range(din):
                                g[c] = 0.0
                            for i in range(n):
                                dv = d[i, j]
                                for c in range(din):
                                    g[c] += dv * hin[i, c]
                            for c in range(din):
                                WT[j, c] -= step * g[c]
                    for j in range(dout):  # db = column sums of d, eq. (16)
                        g[j] = 0.0
                    for i in range(n):
                        for j in range(dout):
                            g[j] += d[i, j]
                    for j in range(dout):
                        b[j] -= step * g[j]
                    if layer > 0:
                        d, d_prev = d_prev, d
            slot = 0
            for layer in range(L):  # the narrow layers' weights back into W
                din, dout = widths[p, layer], widths[p, layer + 1]
                if dout < din:
                    W = Ws[layer][p]
                    for c in range(din):
                        for j in range(dout):
                            W[c, j] = Wt[slot, j, c]
                    slot += 1
            out[p, 0] = loss + np.log(product)
            out[p, 1] = hits

    return sgd_epoch_members
