"""JAX: the tutorial's networks as one compiled computation, float64.

The same algorithm as every other peer of W1 and W2: 2-H-2 ReLU networks, ``randn`` weights
and biases, the cross-entropy SUMMED over each minibatch of 10, plain SGD at ``alpha =
1e-4``, a fresh permutation of the rows for every member and epoch; members narrower than
the widest are masked after the ReLU, as nnscratch pads them. ``jax.vmap`` runs the members
side by side, ``jax.lax.scan`` runs an epoch's minibatches inside the compiled code, and
``jax.jit`` compiles one epoch once; the compile is done and timed before the clock starts
(reported apart), as a user of JAX pays it once per shape.
"""

from __future__ import annotations

import time

import numpy as np


def jax_module():
    """JAX with float64 enabled (its default is float32)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def prepare_test(X_train, y_train, X_test, y_test, widths, batch_size, epochs, seed, lr=1e-4):
    """The compiled epoch and scorer for ``widths`` networks, compiled now; returns
    ``(run, compile_seconds)``, ``run()`` training every member and giving their test
    accuracies ``(P,)``."""
    jax = jax_module()
    jnp = jax.numpy
    n, D = X_train.shape
    if n % batch_size:
        raise NotImplementedError("JAX peer: the rows must split into whole minibatches")
    steps, K = n // batch_size, 2
    widths = np.asarray(widths)
    P, H = widths.size, int(widths.max())
    X, Y = jnp.asarray(X_train), jax.nn.one_hot(jnp.asarray(y_train), K, dtype=jnp.float64)
    Xt, yt = jnp.asarray(X_test), jnp.asarray(y_test)
    mask = (jnp.arange(H)[None, :] < jnp.asarray(widths)[:, None]).astype(jnp.float64)  # (P,H)
    init, key = jax.random.split(jax.random.PRNGKey(seed))
    k1, k2, k3, k4 = jax.random.split(init, 4)
    params = (  # randn, biases too, as the tutorial draws them
        jax.random.normal(k1, (P, D, H), jnp.float64),
        jax.random.normal(k2, (P, H), jnp.float64),
        jax.random.normal(k3, (P, H, K), jnp.float64),
        jax.random.normal(k4, (P, K), jnp.float64),
    )
    keys = jax.random.split(key, epochs * P).reshape(epochs, P, -1)  # a permutation each

    def logits(p, m, x):  # one member: (N, D) -> (N, K), eq. (6)
        W1, b1, W2, b2 = p
        return (jax.nn.relu(x @ W1 + b1) * m) @ W2 + b2

    def loss(p, m, xb, yb):  # the cross-entropy summed over the batch
        return -(yb * jax.nn.log_softmax(logits(p, m, xb))).sum()

    grad = jax.grad(loss)

    def member_epoch(p, m, k):
        order = jax.random.permutation(k, n)
        batches = (X[order].reshape(steps, batch_size, D), Y[order].reshape(steps, batch_size, K))

        def step(p, batch):
            g = grad(p, m, *batch)
            return tuple(w - lr * dw for w, dw in zip(p, g, strict=True)), None

        return jax.lax.scan(step, p, batches)[0]

    def member_accuracy(p, m):
        return jnp.mean(jnp.argmax(logits(p, m, Xt), axis=1) == yt)

    start = time.perf_counter()
    epoch = jax.jit(jax.vmap(member_epoch)).lower(params, mask, keys[0]).compile()
    score = jax.jit(jax.vmap(member_accuracy)).lower(params, mask).compile()
    compile_seconds = time.perf_counter() - start

    def run() -> np.ndarray:
        p = params
        for e in range(epochs):
            p = epoch(p, mask, keys[e])
        return np.asarray(score(p, mask))  # waits for the device

    return run, compile_seconds
