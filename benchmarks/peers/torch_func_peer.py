"""PyTorch's ``torch.func``: the tutorial's population as stacked module state, ``vmap`` over it.

The same algorithm and data as the other population peers of W1 and W2 (and, as a population
of one, of W3): 2-H-2 ReLU networks, every weight and bias drawn ``N(0, 1)`` member by member
(``torch.nn.Linear`` modules initialised as the one-at-a-time PyTorch peer does), the
cross-entropy SUMMED over each minibatch, plain SGD at ``lr = alpha``, a fresh permutation of
the rows for every member and epoch (``argsort`` of uniform draws, as the stacked peer), and
contiguous slices of it with the short last batch. Members narrower than the widest are
masked after the ReLU, as nnscratch pads them.

``torch.func.stack_module_state`` stacks the members' parameters into ``(P, ...)`` tensors;
one step is ``torch.func.vmap`` over ``torch.func.grad`` of a loss written with
``torch.func.functional_call`` on one member, followed by the SGD update of the stack.
Eager mode, on the CPU. ``torch`` is imported lazily so the package stays optional.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Sequence

import numpy as np


@functools.cache
def member_class(torch):
    """The tutorial's network as a module: ``relu(x W1^T + b1) * mask`` then ``W2``, eq. (6)."""

    class TutorialNet(torch.nn.Module):
        def __init__(self, D: int, H: int, K: int, dtype):
            super().__init__()
            self.hidden = torch.nn.Linear(D, H, dtype=dtype)
            self.output = torch.nn.Linear(H, K, dtype=dtype)

        def forward(self, x, mask=None):
            h = torch.relu(self.hidden(x))
            if mask is not None:  # (H,): units beyond this member's width are off
                h = h * mask
            return self.output(h)

    return TutorialNet


def make_population(torch, D: int, widths: Sequence[int], K: int, gen, dtype):
    """``(base, params, mask)``: a parameterless copy of one member on the ``meta`` device for
    ``functional_call``, the members' parameters stacked (``{name: (P, ...)}``, detached) and
    the width mask ``(P, H)`` (``None`` when every member is the widest)."""
    widths = np.asarray(widths, dtype=np.int64)
    H = int(widths.max())
    members = [member_class(torch)(D, H, K, dtype) for _ in range(widths.size)]
    with torch.no_grad():
        for member in members:  # weight then bias, layer by layer, as the loop peer draws
            for p in member.parameters():
                p.normal_(0.0, 1.0, generator=gen)
    params, buffers = torch.func.stack_module_state(members)
    if buffers:
        raise ValueError(f"members: expected no buffers, got {sorted(buffers)}")
    params = {name: p.detach() for name, p in params.items()}
    base = copy.deepcopy(members[0]).to("meta")
    mask = None
    if (widths < H).any():
        units = torch.arange(H)[None, :]
        mask = (units < torch.from_numpy(widths)[:, None]).to(dtype)
    return base, params, mask


def population_step(torch, base, masked: bool):
    """``step(params, mask, xb, Yb) -> grads``: per-member gradients of the cross-entropy
    summed over the batch (``Yb`` one-hot), ``(P, ...)`` like ``params``, from one ``vmap``
    call."""
    call, grad, vmap = torch.func.functional_call, torch.func.grad, torch.func.vmap

    def loss(params, mask, xb, Yb):  # one member: (b, D), (b, K) -> -sum Y log softmax, eq. (9)
        return -(Yb * torch.log_softmax(call(base, params, (xb, mask)), dim=-1)).sum()

    return vmap(grad(loss), in_dims=(0, 0 if masked else None, 0, 0))


def fit_population(torch, base, params, mask, X, y, batch_size: int, lr: float, orders):
    """SGD on every member at once, one epoch per entry of ``orders`` (each ``(P, N)``: the
    members' row orders); ``y`` holds class indices. Updates ``params`` in place and
    returns it."""
    step = population_step(torch, base, mask is not None)
    names, stack = list(params), list(params.values())
    n, K = X.shape[0], params["output.bias"].shape[-1]
    Y = torch.nn.functional.one_hot(y, K).to(X.dtype)  # (N, K)
    for order in orders:
        for start in range(0, n, batch_size):
            idx = order[:, start : start + batch_size]  # (P, b)
            grads = step(params, mask, X[idx], Y[idx])  # (P, b, D), (P, b, K)
            for name, p in zip(names, stack, strict=True):
                p.sub_(grads[name], alpha=lr)
    return params


def population_accuracy(torch, base, params, mask, X, y) -> np.ndarray:
    """Each member's accuracy on ``(X, y)``, ``(P,)``."""
    call = torch.func.functional_call

    def logits(params, mask):
        return call(base, params, (X, mask))

    with torch.no_grad():
        z = torch.func.vmap(logits, in_dims=(0, 0 if mask is not None else None))(params, mask)
        return (z.argmax(dim=-1) == y).double().mean(dim=1).numpy()


def shuffled_orders(torch, P: int, n: int, epochs: int, gen, dtype) -> Iterable:
    """A fresh permutation of the ``n`` rows for every member and epoch, drawn as needed."""
    for _ in range(epochs):
        yield torch.argsort(torch.rand(P, n, generator=gen, dtype=dtype), dim=1)


def test_func(X_train, y_train, X_test, y_test, widths, batch_size, epochs, seed, lr=1e-4):
    """Every network of ``widths`` trained at once with ``torch.func``; test accuracies ``(P,)``."""
    from benchmarks.peers.torch_peers import torch_module

    torch = torch_module()
    gen = torch.Generator().manual_seed(seed)
    X, y = torch.from_numpy(X_train), torch.from_numpy(y_train).long()
    Xt, yt = torch.from_numpy(X_test), torch.from_numpy(y_test).long()
    P, n = len(widths), X.shape[0]
    base, params, mask = make_population(torch, X.shape[1], widths, 2, gen, X.dtype)
    orders = shuffled_orders(torch, P, n, epochs, gen, X.dtype)
    fit_population(torch, base, params, mask, X, y, batch_size, lr, orders)
    return population_accuracy(torch, base, params, mask, Xt, yt)


def warm_up() -> None:
    """Untimed: one tiny masked and one unmasked run, so that the first ``vmap``/``grad``
    call's imports and caches are set up before the clock starts."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 2))
    y = (X[:, 0] > 0).astype(np.int64)
    for widths in ([3, 4], [4]):
        test_func(X, y, X, y, widths, 10, 1, seed=0)
