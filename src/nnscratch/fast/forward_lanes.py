"""The compiled forward pass on the lanes layout (imports numba; loaded only on use).

:func:`forward_kernel`'s kernel gives every member's logits for prediction: the forward pass of
:mod:`nnscratch.fast.lanes` (``forward_rows``), ``G`` members to a group, on blocks of
``BLOCK`` rows that every lane shares. Its Python side, which decides when it applies, is
:func:`nnscratch.fast.forward.logits`.
"""

import functools

import numba as nb
import numpy as np

from nnscratch.fast.lanes import activation_buffer, forward_rows, group_layout, load_group
from nnscratch.fast.llvm import KERNEL, lanes, scratch, wide_vectors

#: Rows per block of the prediction kernel.
BLOCK = 64


@functools.cache
def forward_kernel(kind: int):
    """The forward kernel for the activation with code ``kind``, a constant of the closure
    (as :func:`nnscratch.fast.lanes.epoch_kernel`)."""

    @nb.njit(**KERNEL)
    def forward_lanes(X, Ws, bs, widths, out, first_group, stride):
        # X (N,D); Ws[l] (P,in,out); bs[l] (P,out); widths (P,L+1); out (P,N,K): every member's
        # logits for every row, BLOCK rows at a time; groups first_group, + stride, ... (threads)
        N, D = X.shape
        P, L = widths.shape[0], len(Ws)
        everyone = np.ones(P, np.bool_)
        wide_vectors(X)  # as the epoch kernel
        G = lanes(X)
        t00, t01 = scratch(X), scratch(X)
        t10, t11 = scratch(X), scratch(X)
        for group in range(first_group, (P + G - 1) // G, stride):
            first = group * G
            live, dims = group_layout(first, everyone, widths, G)
            K, Kp, Dp = widths[0, L], dims[L], dims[0]
            Wg, bg, mask, w_at, b_at = load_group(first, live, Ws, bs, widths, dims, X)
            h, h_at = activation_buffer(dims, BLOCK, X)
            z = h[h_at[L] : h_at[L + 1]]
            for start in range(0, N, BLOCK):
                n = min(BLOCK, N - start)
                ne = n + n % 2
                for i in range(n):  # every lane sees the same rows
                    for c in range(D):
                        v = X[start + i, c]
                        for lane in range(G):
                            h[(i * Dp + c) * G + lane] = v
                for o in range(n * Dp * G, ne * Dp * G):
                    h[o] = 0.0
                forward_rows(Wg, bg, mask, w_at, b_at, h, h_at, dims, ne, kind, t00, t01, t10, t11)
                for lane in range(G):
                    if live[lane]:
                        for i in range(n):
                            for k in range(K):
                                out[first + lane, start + i, k] = z[(i * Kp + k) * G + lane]

    return forward_lanes
