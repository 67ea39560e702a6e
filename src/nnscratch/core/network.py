"""The multilayer perceptron: a stack of Dense and activation layers over a population axis.

``MLP([2, 64, 2])`` is one network; ``MLP([2, 64, 2], population=100)`` is 100 independent
networks stored as stacked arrays and trained as one vectorised computation. The single
network shows plain shapes (``W1: (2, 64)``); a population adds a leading ``P`` axis.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from nnscratch.core.activations import Activation, get_activation
from nnscratch.core.callback import History, NonFiniteError
from nnscratch.core.checks import block_rows, check_fits, check_int, check_range, check_X, fail
from nnscratch.core.engine import compiled_logits
from nnscratch.core.epoch import finite_members
from nnscratch.core.init import Initializer, get_initializer
from nnscratch.core.layers import ActivationLayer, BatchNorm, Dense, Dropout, Layer
from nnscratch.core.losses import Loss, check_sample_weight, get_loss
from nnscratch.core.seeding import member_seeds, rng_for
from nnscratch.core.train import train

SeedLike = int | np.random.SeedSequence | Sequence | None


class MLP:
    """A multilayer perceptron, or a population of ``population`` independent ones.

    Parameters
    ----------
    sizes : layer widths ``[D, H1, ..., K]``: inputs, hidden layers, outputs.
    activation : hidden activation, a name (``"relu"``, ``"tanh"``, ...) or an ``Activation``;
        or a list of them, one per hidden layer (``["tanh", "relu"]``). ``activations`` holds
        one per hidden layer; ``activation`` the one they share, ``None`` where they differ.
    init, bias_init : weight and bias initialisers, names or ``Initializer`` objects.
    seed : an int, a ``SeedSequence``, or one seed per member. Member ``p`` of a population
        seeded ``s`` draws from ``SeedSequence(s).spawn(P)[p]``, so a single network seeded
        ``s`` equals member 0, and passing ``seed=[that_child]`` re-creates any member alone.
    population : ``None`` for one network, or the number ``P`` of members.
    width : active hidden units per member, ``(P,)`` (every hidden layer) or ``(P, L-1)``.
        Units past a member's width are masked: they output zero and never change.
    init_scale : multiplies every drawn weight; a scalar or one value per member ``(P,)``.
    loss : the output loss, fused with its output layer: ``"cross_entropy"`` (default),
        ``"binary_cross_entropy"`` (one output unit), ``"mse"``, ``"mae"`` or a ``Loss``.
    dtype : ``np.float64`` (default) or ``np.float32``, kept through training and prediction.
    l2, l1 : weight penalties ``l2 / 2 ||W||^2 + l1 |W|_1`` over every ``W`` (not the
        biases), added to ``loss`` and ``gradients``; a scalar or one value per member ``(P,)``.
    dropout : inverted dropout rate after each hidden activation, in ``[0, 1)``, scalar or
        ``(P,)``; active only in training, with each member's own random stream.
    batch_norm : batch normalisation between each hidden ``Dense`` and its activation
        (parameters ``gamma1``, ``beta1``, ...; running averages used for prediction).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        activation: str | Activation | Sequence[str | Activation] = "relu",
        init: str | Initializer = "he",
        bias_init: str | Initializer = "zeros",
        seed: SeedLike = None,
        population: int | None = None,
        width=None,
        init_scale=1.0,
        loss: str | Loss = "cross_entropy",
        dtype=np.float64,
        l2=0.0,
        l1=0.0,
        dropout=0.0,
        batch_norm: bool = False,
    ) -> None:
        if isinstance(sizes, np.ndarray) and sizes.ndim == 1:
            sizes = sizes.tolist()  # an array of widths is as good as a list
        if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
            raise fail("sizes", "a list of at least two layer widths [D, ..., K]", sizes)
        self.sizes = [check_int(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
        self.population = None if population is None else check_int("population", population)
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:  # an unknown name ("banana") must fail like any other bad value
            raise fail("dtype", "float32 or float64", dtype) from None
        if self.dtype not in (np.float32, np.float64):
            raise fail("dtype", "float32 or float64", dtype)
        self.activation, self.activations = self._check_activation(activation)
        self.init = get_initializer(init)
        self.bias_init = get_initializer(bias_init, name="bias_init")
        self.loss_fn = get_loss(loss)
        if self.loss_fn.n_outputs not in (None, self.sizes[-1]):
            raise fail("sizes", f"{self.loss_fn.n_outputs} output unit(s) for this loss", sizes)
        P = self.n_members  # the sizes must fit before anything is drawn or stacked
        check_fits("sizes", P, self.sizes, self.dtype.itemsize)  # weights and optimizer state
        self.seeds = member_seeds(seed, P)
        self.init_scale = check_range("init_scale", init_scale, low=0.0, population=P)
        self.l2 = check_range("l2", l2, low=0.0, population=P)
        self.l1 = check_range("l1", l1, low=0.0, population=P)
        self.dropout = check_range("dropout", dropout, 0.0, 1.0, high_open=True, population=P)
        if not isinstance(batch_norm, (bool, np.bool_)):
            raise fail("batch_norm", "True or False", batch_norm)
        self.batch_norm = bool(batch_norm)
        self.width = self._check_width(width)
        self.layers = self._build()

    # --- construction --------------------------------------------------------------------

    @property
    def n_members(self) -> int:
        """``P``: 1 for a single network."""
        return 1 if self.population is None else self.population

    @property
    def n_features(self) -> int:
        return self.sizes[0]

    @property
    def n_outputs(self) -> int:
        return self.sizes[-1]

    def _check_activation(self, activation) -> tuple[Activation | None, list[Activation]]:
        """The shared activation (``None`` where layers differ) and one per hidden layer."""
        hidden = len(self.sizes) - 2
        if isinstance(activation, (str, Activation)) or not isinstance(activation, Sequence):
            shared = get_activation(activation)  # or the error listing the names
            return shared, [shared] * hidden
        if len(activation) == hidden:
            layers = [get_activation(a, f"activation[{k}]") for k, a in enumerate(activation)]
            return (layers[0] if len({id(a) for a in layers}) == 1 else None), layers
        expected = f"a name or Activation, or a list of {hidden} (one per hidden layer)"
        raise fail("activation", expected, activation)

    def _check_width(self, width) -> np.ndarray:
        """Active units per member and hidden layer, ``(P, L-1)``."""
        P, hidden = self.n_members, self.sizes[1:-1]
        full = np.tile(np.asarray(hidden, dtype=np.intp), (P, 1))
        if width is None:
            return full
        w = np.asarray(width)
        if w.ndim == 0 or (w.ndim == 1 and self.population is None):
            w = np.full(P, w) if w.ndim == 0 else w[None, :]
        if w.ndim == 1:
            w = np.repeat(w[:, None], len(hidden), axis=1)
        expected = f"integers 1..hidden size, of shape ({P},) or ({P}, {len(hidden)})"
        # no hidden layer, nothing to mask; compare values only once the shape is right
        bad = not hidden or w.shape != full.shape or w.dtype.kind not in "iu"
        if bad or np.any(w < 1) or np.any(w > full):
            raise fail("width", expected, width)
        return w.astype(np.intp)

    def _build(self) -> list[Layer]:
        """Draw every member's parameters with its own generator and stack them."""
        P, sizes, dt = self.n_members, self.sizes, self.dtype
        n_layers = len(sizes) - 1
        Ws = [np.zeros((P, sizes[k], sizes[k + 1]), dtype=dt) for k in range(n_layers)]
        bs = [np.zeros((P, sizes[k + 1]), dtype=dt) for k in range(n_layers)]
        scale = np.broadcast_to(self.init_scale, (P,))
        for p in range(P):
            rng = rng_for(self.seeds[p], "init")
            active = [sizes[0], *self.width[p], sizes[-1]]
            for k in range(n_layers):
                d, h = active[k], active[k + 1]
                # draw with the member's active shape so a padded member equals itself alone
                Ws[k][p, :d, :h] = scale[p] * self.init(rng, (d, h), d, h)
                bs[k][p, :h] = self.bias_init(rng, (h,), d, h)

        def strength(value):  # (P,) or None when off, so that training pays nothing
            return np.broadcast_to(value, (P,)).copy() if np.any(value) else None

        l2, l1 = strength(self.l2), strength(self.l1)
        dropout_rngs = [rng_for(s, "dropout") for s in self.seeds]
        layers: list[Layer] = []
        for k in range(n_layers):
            layers.append(Dense(Ws[k], bs[k], l2=l2, l1=l1, input_grad=k > 0))
            if k < n_layers - 1:
                H = sizes[k + 1]
                if self.batch_norm:
                    layers.append(BatchNorm(np.ones((P, H), dtype=dt), np.zeros((P, H), dtype=dt)))
                masked = np.any(self.width[:, k] < H)
                mask = (np.arange(H) < self.width[:, k, None]).astype(dt) if masked else None
                layers.append(ActivationLayer(self.activations[k], mask))
                if np.any(self.dropout):
                    layers.append(Dropout(np.broadcast_to(self.dropout, (P,)), dropout_rngs))
        return layers

    # --- parameters ----------------------------------------------------------------------

    @property
    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    def _named(self, attr: str) -> dict[str, np.ndarray]:
        """``{"W1": ..., "b1": ..., "gamma1": ..., "WL": ..., "bL": ...}``.

        Numbered by ``Dense`` layer: a batch norm after the ``k``-th ``Dense`` has key ``k``.
        """
        out, k = {}, 0
        for layer in self.layers:
            k += isinstance(layer, Dense)
            for name, value in getattr(layer, attr).items():
                out[f"{name}{k}"] = value
        return out

    @property
    def population_params(self) -> dict[str, np.ndarray]:
        """All parameters with the population axis, ``(P, ...)``; the arrays training updates."""
        return self._named("params")

    def population_grads(self) -> dict[str, np.ndarray]:
        """The gradients of the last ``backward``, ``(P, ...)``."""
        return self._named("grads")

    def _unstack(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Plain shapes for a single network (views, so writes reach the network)."""
        if self.population is None:
            return {k: v[0] for k, v in arrays.items()}
        return arrays

    @property
    def params(self) -> dict[str, np.ndarray]:
        """``W_k (in, out)``, ``b_k (out,)``; a population adds a leading ``P`` axis. Views."""
        return self._unstack(self.population_params)

    @property
    def population_state(self) -> dict[str, np.ndarray]:
        """Parameters and buffers (batch norm's ``running_mean1``, ...), ``(P, ...)`` views:
        everything that decides the network's outputs."""
        return {**self._named("params"), **self._named("buffers")}

    def penalty(self) -> np.ndarray:
        """The weight penalties ``l2 / 2 ||W||^2 + l1 |W|_1`` per member, ``(P,)``."""
        return np.zeros(self.n_members) + sum(d.penalty() for d in self.dense_layers)

    @property
    def penalized(self) -> bool:
        return bool(np.any(self.l2) or np.any(self.l1))

    # --- forward and backward ------------------------------------------------------------

    def train_mode(self, training: bool) -> None:
        for layer in self.layers:
            layer.training = training

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits ``(P, N, K)`` for ``x`` of shape ``(N, D)`` (shared) or ``(P, N, D)``.

        Eq. (6) for any depth: every ``Dense`` layer ``a = x W + b``, then its activation.
        """
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dz: np.ndarray) -> None:
        """Back-propagate ``dL/dz`` ``(P, N, K)``, leaving each layer's ``grads`` filled."""
        for layer in reversed(self.layers):
            dz = layer.backward(dz)

    def _check_X(self, X, name: str = "X") -> np.ndarray:
        return check_X(X, name=name, n_features=self.n_features, dtype=self.dtype)

    def _check_y(self, y, n_samples: int) -> np.ndarray:
        return self.loss_fn.check_targets(y, n_samples, self.n_outputs)

    def _check_data(self, X, y, sample_weight):
        X = self._check_X(X)
        return X, self._check_y(y, X.shape[0]), check_sample_weight(sample_weight, X.shape[0])

    def _squeeze(self, value: np.ndarray):
        """Drop the population axis of a single network (a scalar comes back as a float)."""
        if self.population is not None:
            return value
        return float(value[0]) if value.ndim == 1 else value[0]

    # --- the public API ------------------------------------------------------------------

    def loss(self, X, y, sample_weight=None, *, training: bool = False):
        """The loss on ``(X, y)`` plus the weight penalties; float, population ``(P,)``.

        ``training=True`` evaluates the training objective: dropout on, batch statistics
        (and batch norm's running averages updated).
        """
        X, y, w = self._check_data(X, y, sample_weight)
        self.train_mode(training)
        value = self.loss_fn.forward(self.forward(X), y, w)
        self.train_mode(False)
        return self._squeeze(value + self.penalty() if self.penalized else value)

    def gradients(self, X, y, sample_weight=None, *, training: bool = False):
        """The exact gradient of ``loss(X, y, sample_weight, training=training)``, with the
        keys and shapes of ``params``."""
        X, y, w = self._check_data(X, y, sample_weight)
        self.train_mode(training)
        self.loss_fn.forward(self.forward(X), y, w)
        self.backward(self.loss_fn.backward())
        self.train_mode(False)
        return self._unstack(self.population_grads())

    def _predict_logits(self, X: np.ndarray) -> np.ndarray:
        """Logits ``(P, N, K)`` in evaluation mode, for prediction.

        A population of small networks takes the compiled forward pass of
        :mod:`nnscratch.fast` when numba is installed (equal to rounding); everything else
        :meth:`logits_in_blocks`.
        """
        self.train_mode(False)
        broken = ~finite_members(self.population_params)
        if broken.any():  # a prediction from them would look plausible and mean nothing
            raise NonFiniteError(np.flatnonzero(broken), None)
        fast = compiled_logits(self, X)
        return fast if fast is not None else self.logits_in_blocks(X)

    def logits_in_blocks(self, X: np.ndarray) -> np.ndarray:
        """``forward(X)`` ``(P, N, K)`` for ``X`` ``(N, D)``, a block of rows at a time.

        Rows are independent outside training, so blocks change nothing but memory: the
        hidden activations of a large population on a large set stay under ~4 MB.
        """
        rows = block_rows(self.n_members, max(self.sizes))
        blocks = [self.forward(X[i : i + rows]) for i in range(0, X.shape[0], rows)]
        return np.concatenate(blocks, axis=1)  # (P,N,K)

    def decision_function(self, X) -> np.ndarray:
        """Raw outputs (logits) ``(N, K)``; population ``(P, N, K)``."""
        return self._squeeze(self._predict_logits(self._check_X(X)))

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(N, K)``; population ``(P, N, K)`` (two columns for a sigmoid)."""
        if not self.loss_fn.classifier:
            raise AttributeError("predict_proba: this network is a regressor; use predict")
        return self._squeeze(self.loss_fn.output(self._predict_logits(self._check_X(X))))

    def predict(self, X) -> np.ndarray:
        """Predicted classes ``(N,)`` (population ``(P, N)``); values for a regressor."""
        return self._squeeze(self.loss_fn.predict(self._predict_logits(self._check_X(X))))

    def score(self, X, y, sample_weight=None):
        """Accuracy (classifier) or R^2 (regressor) on ``(X, y)``: float, population ``(P,)``."""
        X, y, w = self._check_data(X, y, sample_weight)
        return self._squeeze(self.loss_fn.score(self._predict_logits(X), y, w))

    def fit(self, X, y, **kwargs) -> History:
        """Train in place on ``(X, y)`` and return the :class:`~nnscratch.core.callback.History`.

        Keywords (all checked before any work; see :func:`nnscratch.core.train.train`):
        ``epochs`` (10), ``batch_size`` (32); ``optimizer``, default a fresh ``Adam(lr=1e-3)``,
        the usual default for networks in general (the command line and the tutorial train
        with plain SGD instead, as the tutorial does), any hyperparameter one value per
        member; ``seed`` for the shuffles and dropout masks (an int, a ``SeedSequence`` or one
        per member; by default each member draws from its own streams, fresh on every
        call); ``validation_data`` ``(X_val, y_val)`` or ``(X_val, y_val, w_val)``, or
        ``validation_split``, a fraction of the rows held out per member;
        ``sample_weight`` ``(N,)``; ``callbacks``; ``shuffle`` (True); ``verbose`` (a line
        per epoch); ``on_nonfinite``: when a member's loss or weights become NaN or
        infinite, ``"raise"`` a :class:`~nnscratch.core.callback.NonFiniteError`, or
        ``"stop"`` (freeze) that member, flag it in ``history.diverged`` and let the others
        finish; ``engine``: ``"numpy"`` the reference loop, ``"numba"`` the compiled epoch of
        :mod:`nnscratch.fast` (plain SGD on a softmax MLP; an error where it does not apply),
        ``"auto"`` (default) the compiled epoch where it applies and numba is installed.

        Calling ``fit`` again continues from the current weights (a warm start); pass the
        same optimizer to keep its state (moments, step counts) as well. Ctrl-C ends
        training after the current batch; the history so far comes back with
        ``history.interrupted = True``.
        """
        return train(self, X, y, **kwargs)

    def select(self, members) -> MLP:
        """A new population of the given members (an index sequence), parameters copied."""
        idx = np.asarray(members).reshape(-1)
        # integers only: casting would turn 1.5 into 1 and a boolean mask into indices 0/1
        integers = idx.size > 0 and idx.dtype.kind in "iu"
        if not integers or idx.min() < 0 or idx.max() >= self.n_members:
            raise fail("members", f"member indices 0..{self.n_members - 1}", members)
        idx = idx.astype(np.intp)
        new = copy.copy(self)
        new.loss_fn = copy.copy(self.loss_fn)  # its forward cache is per network
        new.population = int(idx.size)
        new.seeds = [self.seeds[p] for p in idx]
        new.width = self.width[idx]
        for name in ("init_scale", "l2", "l1", "dropout"):
            value = getattr(self, name)
            setattr(new, name, np.broadcast_to(value, (self.n_members,))[idx].copy())
        new.layers = [layer.select(idx) for layer in self.layers]
        return new

    def member(self, p: int) -> MLP:
        """A copy of member ``p`` as a single network (parameters copied, not shared)."""
        single = self.select([check_int("p", p, minimum=0)])
        single.population = None
        for name in ("init_scale", "l2", "l1", "dropout"):
            setattr(single, name, float(getattr(single, name)[0]))
        return single

    def __repr__(self) -> str:
        pop = "" if self.population is None else f", population={self.population}"
        f = self.activation
        names = f.name if f is not None else [a.name for a in self.activations]
        return f"MLP({self.sizes}, activation={names!r}{pop})"
