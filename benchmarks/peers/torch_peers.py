"""PyTorch peers (CPU): one network at a time, and a whole population stacked for ``bmm``.

The same algorithm as the tutorial: ``randn`` initialisation (std 1, biases too) where the
workload asks for it, cross-entropy SUMMED over the minibatch with ``lr = alpha``, a fresh
permutation every epoch, contiguous slices with the short last batch. Autograd computes the
gradients; ``torch.optim`` updates. ``torch`` is imported lazily so the package stays optional.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import numpy as np


@functools.cache
def torch_module():
    """``torch`` with its intra-op threads set (``NNS_BENCH_TORCH_THREADS``, default the
    machine's cores), warmed up: the first optimizer step imports more of ``torch`` (about a
    second), which belongs to setup, not to the timed run."""
    import torch

    torch.set_num_threads(int(os.environ.get("NNS_BENCH_TORCH_THREADS", os.cpu_count() or 1)))
    layer = torch.nn.Linear(2, 2)
    for optimizer in (
        torch.optim.SGD(layer.parameters(), lr=0.0),
        torch.optim.Adam(layer.parameters(), lr=0.0),
    ):
        layer(torch.zeros(1, 2)).sum().backward()
        optimizer.step()
    return torch


def randn_mlp(torch, sizes: Sequence[int], gen, dtype):
    """``Linear``/``ReLU`` stack with every weight and bias drawn ``N(0, 1)``."""
    layers = []
    for k in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[k], sizes[k + 1], dtype=dtype))
        if k < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_(0.0, 1.0, generator=gen)
    return net


def default_mlp(torch, sizes: Sequence[int], dtype):
    """``Linear``/``ReLU`` stack with PyTorch's default initialisation."""
    layers = []
    for k in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[k], sizes[k + 1], dtype=dtype))
        if k < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def fit(torch, net, X, y, batch_size, epochs, optimizer, gen, reduction="sum") -> None:
    """Minibatch training: shuffle, slice, forward, backward, step."""
    loss_fn = torch.nn.CrossEntropyLoss(reduction=reduction)
    n = X.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        Xs, ys = X[perm], y[perm]
        for start in range(0, n, batch_size):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(net(Xs[start : start + batch_size]), ys[start : start + batch_size])
            loss.backward()
            optimizer.step()


def accuracy(torch, net, X, y) -> float:
    with torch.no_grad():
        return float((net(X).argmax(dim=1) == y).double().mean())


def test_loop(X_train, y_train, X_test, y_test, widths, batch_size, epochs, seed, lr=1e-4):
    """One tutorial network per entry of ``widths``, trained one after another."""
    torch = torch_module()
    gen = torch.Generator().manual_seed(seed)
    X, y = torch.from_numpy(X_train), torch.from_numpy(y_train).long()
    Xt, yt = torch.from_numpy(X_test), torch.from_numpy(y_test).long()
    acc = []
    for h in widths:
        net = randn_mlp(torch, [X.shape[1], int(h), 2], gen, X.dtype)
        fit(torch, net, X, y, batch_size, epochs, torch.optim.SGD(net.parameters(), lr=lr), gen)
        acc.append(accuracy(torch, net, Xt, yt))
    return np.array(acc)


def test_stacked(X_train, y_train, X_test, y_test, widths, batch_size, epochs, seed, lr=1e-4):
    """All networks as one stack ``(P, ...)``: ``baddbmm`` forward, autograd backward.

    Members narrower than the widest are masked after the ReLU, as nnscratch pads them.
    The summed loss over members gives each member exactly its own gradient.
    """
    torch = torch_module()
    gen = torch.Generator().manual_seed(seed)
    X, y = torch.from_numpy(X_train), torch.from_numpy(y_train).long()
    Xt, yt = torch.from_numpy(X_test), torch.from_numpy(y_test).long()
    widths = torch.as_tensor(np.asarray(widths))
    P, H, D, K, n = widths.numel(), int(widths.max()), X.shape[1], 2, X.shape[0]
    dt = X.dtype
    W1 = torch.randn(P, D, H, generator=gen, dtype=dt).requires_grad_()
    b1 = torch.randn(P, 1, H, generator=gen, dtype=dt).requires_grad_()
    W2 = torch.randn(P, H, K, generator=gen, dtype=dt).requires_grad_()
    b2 = torch.randn(P, 1, K, generator=gen, dtype=dt).requires_grad_()
    mask = (torch.arange(H)[None, None, :] < widths[:, None, None]).to(dt)  # (P,1,H)
    masked = bool((widths < H).any())
    optimizer = torch.optim.SGD([W1, b1, W2, b2], lr=lr)

    def logits(xb):  # (P,n,D) -> (P,n,K)
        h = torch.relu(torch.baddbmm(b1, xb, W1))  # (P,n,H)
        if masked:
            h = h * mask
        return torch.baddbmm(b2, h, W2)

    for _ in range(epochs):
        order = torch.argsort(torch.rand(P, n, generator=gen, dtype=dt), dim=1)  # (P,n)
        for start in range(0, n, batch_size):
            idx = order[:, start : start + batch_size]  # (P,b)
            z = logits(X[idx])  # (P,b,K)
            loss = torch.nn.functional.cross_entropy(
                z.reshape(-1, K), y[idx].reshape(-1), reduction="sum"
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        pred = logits(Xt.expand(P, -1, -1)).argmax(dim=-1)  # (P,Nt)
        return (pred == yt).double().mean(dim=1).numpy()


def digits_adam(X_train, y_train, X_test, y_test, batch_size, epochs, seed, lr=1e-3) -> float:
    """64-128-10 ReLU network, PyTorch's default init, Adam on the mean cross-entropy."""
    torch = torch_module()
    torch.manual_seed(seed)  # PyTorch's default initialisers draw from the global generator
    gen = torch.Generator().manual_seed(seed)
    X, y = torch.from_numpy(X_train), torch.from_numpy(y_train).long()
    net = default_mlp(torch, [X.shape[1], 128, 10], X.dtype)
    fit(
        torch,
        net,
        X,
        y,
        batch_size,
        epochs,
        torch.optim.Adam(net.parameters(), lr=lr),
        gen,
        reduction="mean",
    )
    return accuracy(torch, net, torch.from_numpy(X_test), torch.from_numpy(y_test).long())


def big_mlp_epoch(X, y, sizes, batch_size, seed, lr):
    """One epoch of SGD (mean cross-entropy) on a float32 ReLU MLP; returns the network."""
    torch = torch_module()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y).long()
    net = default_mlp(torch, sizes, torch.float32)
    fit(
        torch,
        net,
        Xt,
        yt,
        batch_size,
        1,
        torch.optim.SGD(net.parameters(), lr=lr),
        gen,
        reduction="mean",
    )
    return lambda Xe, ye: accuracy(torch, net, torch.from_numpy(Xe), torch.from_numpy(ye).long())
