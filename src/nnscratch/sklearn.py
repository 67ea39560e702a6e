"""scikit-learn estimators over nnscratch's network: ``MLPClassifier`` and ``MLPRegressor``.

Drop-in replacements for :class:`sklearn.neural_network.MLPClassifier` and
:class:`~sklearn.neural_network.MLPRegressor` with scikit-learn's parameter names, meanings
and fitted attributes, trained by :func:`nnscratch.core.train.train` on an
:class:`nnscratch.core.network.MLP`. What nnscratch adds: any of its optimizers by name
(``solver``), ``dropout``, ``batch_norm``, ``init``, ``class_weight``, and ``n_members``:
several seeds trained at once as one population, then the best member on validation kept
(``ensemble="best"``) or all of them averaged (``ensemble="mean"``).

How scikit-learn's rules map onto the network:

- ``alpha`` is scikit-learn's L2 term ``alpha / 2 ||W||^2`` divided by the batch's weight
  sum; the network's penalty is one constant, so it is ``alpha / (batch_size * mean(w))``
  (``mean(w)`` of the sample weights, 1 without), exact for full batches and unweighted data.
- The regressor trains scikit-learn's squared error, ``1/2 sum_k (z_k - y_k)^2`` averaged
  over rows (its gradient, ``z - y``, is scikit-learn's), and reports it as ``loss_``
  (for one output that is scikit-learn's ``loss_``; for several, scikit-learn reports its
  mean over outputs instead).
- Stopping follows scikit-learn epoch for epoch: ``tol`` and ``n_iter_no_change`` on the
  training loss, or on the validation score with ``early_stopping`` (then the best weights
  come back at the end); ``learning_rate="adaptive"`` divides the rate by 5 instead of
  stopping while it is above 1e-6. Every member of a population has its own counters.
- Sparse ``X`` is taken as a dense copy (refused first when it cannot fit in memory).
- The binary classifier has one logistic output, multiclass a softmax, multilabel one
  logistic output per label (``out_activation_``), as in scikit-learn.
"""

from __future__ import annotations

import copy
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from nnscratch.core import functional as F
from nnscratch.core.activations import available_activations
from nnscratch.core.callback import Callback, NonFiniteError
from nnscratch.core.checks import check_choice, check_fits, check_memory, fail
from nnscratch.core.init import available_initializers
from nnscratch.core.losses import (
    Loss,
    MeanSquaredError,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
)
from nnscratch.core.network import MLP
from nnscratch.core.optim import _OPTIMIZERS, SGD, get_optimizer

__all__ = ["DivergedError", "MLPClassifier", "MLPRegressor"]

#: scikit-learn's activation names, mapped onto nnscratch's (any nnscratch name works too).
_ACTIVATIONS = {"logistic": "sigmoid"}
#: The solvers: every optimizer of nnscratch.core.optim by name (scikit-learn has sgd, adam).
_SOLVERS = tuple(_OPTIMIZERS)
#: Below this learning rate ``learning_rate="adaptive"`` stops instead of dividing by 5.
_MIN_ADAPTIVE_LR = 1e-6
#: scikit-learn's range for an int ``random_state`` (NumPy's ``RandomState`` seeds).
_MAX_SEED = 2**32 - 1


class MultilabelLogLoss(Loss):
    """One logistic output per label: ``l = sum_k softplus(z_k) - t_k z_k`` per row.

    scikit-learn's multilabel loss (``binary_log_loss``: summed over labels, averaged over
    rows). Backward ``dl/dz = sigmoid(z) - t``. A row is a hit when every label is right
    (subset accuracy, scikit-learn's ``score``).
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._cache: tuple | None = None

    def check_targets(self, y, n_samples, n_outputs, name="y"):
        t = np.asarray(y)
        if t.shape != (n_samples, n_outputs) or not np.isin(t, (0, 1)).all():
            raise fail(name, f"a 0/1 indicator matrix ({n_samples}, {n_outputs})", t)
        return t.astype(np.float64)

    def forward(self, z, target, sample_weight=None):
        t = target.astype(z.dtype)  # (P,N,K) or (N,K)
        self._cache = (F.sigmoid(z), t)
        return self._reduce((F.softplus(z) - t * z).sum(axis=-1), sample_weight)  # (P,)

    def backward(self):
        s, t = self._cache
        dz = s - t  # (P,N,K)
        dz *= self._scale
        return dz

    def output(self, z):
        return F.sigmoid(z)

    def predict(self, z):
        return (z > 0).astype(np.intp)

    def hits(self, z, target):
        return ((z > 0) == (target > 0.5)).all(axis=-1)  # (P,N)


class HalfSquaredError(MeanSquaredError):
    """scikit-learn's regression loss: ``l = 1/2 sum_k (z_k - y_k)^2`` per row, averaged
    over rows; backward ``dl/dz = z - y``. ``score`` is R^2, as the mean squared error's."""

    def forward(self, z, target, sample_weight=None):
        d = z - target  # (P,N,K)
        self._cache = d
        return self._reduce(0.5 * (d * d).sum(axis=-1), sample_weight)  # (P,)


class DivergedError(NonFiniteError, ValueError):
    """The training diverged (a loss or weight became NaN or infinite): a ``NonFiniteError``
    that is also scikit-learn's ``ValueError`` for it, with advice an estimator can follow.
    The estimator is left as it was before the call."""

    def __init__(self, est, error: NonFiniteError) -> None:
        self.members, self.epoch = error.members, error.epoch
        epoch = "" if error.epoch is None else f" in epoch {error.epoch + 1}"
        ValueError.__init__(
            self,
            f"{type(est).__name__}: the training diverged (loss or weights not finite)"
            f"{epoch}; lower learning_rate_init (it is {est.learning_rate_init!r}), or scale X"
            " and y first (sklearn.preprocessing.StandardScaler, or "
            "TransformedTargetRegressor for y); the estimator is left as it was",
        )


def _random_seed(random_state):
    """An int or None from scikit-learn's ``random_state`` (int, RandomState or None)."""
    if random_state is None or isinstance(random_state, numbers.Integral):
        return None if random_state is None else int(random_state)
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _set_l2(net: MLP, l2: float) -> None:
    """Give every ``Dense`` layer the penalty ``l2 / 2 ||W||^2`` (None: off, and free)."""
    P = net.n_members
    net.l2 = np.full(P, l2) if net.population is not None else float(l2)
    for layer in net.dense_layers:
        layer.l2 = None if l2 == 0 else np.full((P, 1, 1), l2, dtype=net.dtype)


def _dense(X):
    """A sparse ``X`` as a dense array (the network multiplies dense matrices), refused
    before allocating when it cannot fit in memory."""
    if not sp.issparse(X):
        return X
    check_memory("X", X.shape[0] * X.shape[1] * X.dtype.itemsize, f"a dense copy of {X.shape}")
    return X.toarray()


def _logits(net: MLP, X: np.ndarray) -> np.ndarray:
    """Every member's raw outputs ``(P, N, K)``, in evaluation mode."""
    z = net.decision_function(X)
    return z if net.population is not None else z[None]


def _json_value(v):
    """A JSON value for a label or parameter (numpy scalars become Python ones)."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (tuple, list, np.ndarray)):
        return [_json_value(x) for x in v]
    return v


def _floats(values) -> list:
    """Numbers for a strict JSON header: ``inf``, ``-inf`` and ``nan`` as those strings
    (``float`` reads them back)."""
    return [float(v) if np.isfinite(v) else str(float(v)) for v in np.ravel(values)]


class _Stopping(Callback):
    """scikit-learn's per-epoch bookkeeping, for every member at once.

    After each epoch: the loss curve, ``t_``, the validation score; the no-improvement
    count against ``tol``; the learning-rate schedule (``invscaling``); and, once a member
    has gone more than ``n_iter_no_change`` epochs without improving, either a lower rate
    (``adaptive``) or a stop (the member is frozen through ``run.active``).
    """

    def __init__(self, est, n_train: int, validation) -> None:
        self.est, self.n_train, self.validation = est, n_train, validation

    def on_epoch_end(self, run, epoch, logs):
        est = self.est
        est_state = est._state
        active = run.active.copy()  # (P,) the members that trained this epoch
        loss = np.asarray(logs["loss"], dtype=np.float64)  # (P,) with the penalty
        est_state["n_iter"][active] += 1
        est.t_ += self.n_train
        est_state["loss"].append(loss)
        if self.validation is not None:
            if est._is_classifier:
                score = np.asarray(logs["val_accuracy"], dtype=np.float64)
            else:
                Xv, yv, wv = self.validation
                score = run.net.loss_fn.score(_logits(run.net, Xv), yv, wv)  # R^2 (P,)
            est_state["val_loss"].append(np.asarray(logs["val_loss"], dtype=np.float64))
            est_state["score"].append(score)
        if est.early_stopping:
            best = est_state["best_score"]
            worse = score < best + est.tol
            better = active & (score > best)
            best[better] = score[better]
            for k, v in run.net.population_state.items():
                est_state["best_state"][k][better] = v[better]
        else:
            best = est_state["best_loss"]
            worse = loss > best - est.tol
            better = active & (loss < best)
            best[better] = loss[better]
        count = est_state["no_improvement"]
        count[active & worse] += 1
        count[active & ~worse] = 0
        optimizer, sgd = run.optimizer, est.solver == "sgd"
        if sgd and est.learning_rate == "invscaling":
            optimizer.lr = est.learning_rate_init / (est.t_ + 1) ** est.power_t
        trigger = active & (count > est.n_iter_no_change)
        if trigger.any():
            if sgd and est.learning_rate == "adaptive":
                lr = np.broadcast_to(optimizer.lr, count.shape).astype(np.float64)
                stop = trigger & (lr <= _MIN_ADAPTIVE_LR)
                lower = trigger & ~stop
                lr[lower] /= 5.0
                count[lower] = 0
                optimizer.lr = lr if run.net.population is not None else float(lr[0])
            else:
                stop = trigger
            run.active[stop] = False  # frozen: the others go on
            est_state["stopped"] |= stop
        if est.verbose:
            print(f"Iteration {epoch + 1}, loss = {np.mean(loss):.8f}", flush=True)
            if self.validation is not None:
                print(f"Validation score: {np.mean(score):f}", flush=True)


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: checks, training, attributes, files."""

    _is_classifier = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # taken as a dense copy
        return tags

    # --- parameters ------------------------------------------------------------------

    def _check_params(self) -> None:
        """Every parameter, each a ``ValueError`` naming it, before any work."""
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else sizes
        if (
            isinstance(sizes, (str, bytes))
            or not hasattr(sizes, "__iter__")
            or not all(isinstance(h, numbers.Integral) and not isinstance(h, bool) and h > 0
                       for h in sizes)
        ):  # fmt: skip
            raise fail("hidden_layer_sizes", "positive integers, e.g. (100,)", sizes)
        names = sorted(set(available_activations()) | set(_ACTIVATIONS))
        check_choice("activation", self.activation, names)
        check_choice("solver", self.solver, _SOLVERS)
        check_choice("learning_rate", self.learning_rate, {"constant", "invscaling", "adaptive"})
        check_choice("ensemble", self.ensemble, {"best", "mean"})
        check_choice("engine", self.engine, {"auto", "numpy", "numba"})
        check_choice("init", self.init, available_initializers())

        def number(name, low, high=np.inf, low_open=False, high_open=False, integer=False):
            v = getattr(self, name)
            kinds = numbers.Integral if integer else numbers.Real
            ok = isinstance(v, kinds) and not isinstance(v, bool) and np.isfinite(v)
            ok = ok and (v > low if low_open else v >= low)
            ok = ok and (v < high if high_open else v <= high)
            if not ok:
                lo, hi = "(" if low_open else "[", ")" if high_open else "]"
                what = "an integer" if integer else "a number"
                raise fail(name, f"{what} in {lo}{low}, {high}{hi}", v)

        number("alpha", 0.0)
        number("learning_rate_init", 0.0, low_open=True)
        number("power_t", 0.0)
        number("max_iter", 1, integer=True)
        number("tol", 0.0)
        number("momentum", 0.0, 1.0)
        number("validation_fraction", 0.0, 1.0, low_open=True, high_open=True)
        number("beta_1", 0.0, 1.0, high_open=True)
        number("beta_2", 0.0, 1.0, high_open=True)
        number("epsilon", 0.0, low_open=True)
        number("n_iter_no_change", 1, integer=True)
        number("dropout", 0.0, 1.0, high_open=True)
        number("n_members", 1, integer=True)
        if self.batch_size != "auto":
            number("batch_size", 1, integer=True)
        for flag in ("shuffle", "verbose", "warm_start", "nesterovs_momentum", "early_stopping",
                     "batch_norm"):  # fmt: skip
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise fail(flag, "True or False", getattr(self, flag))
        rs = self.random_state
        integer = isinstance(rs, numbers.Integral) and not isinstance(rs, bool)
        if not (rs is None or isinstance(rs, np.random.RandomState) or integer) or (
            integer and not 0 <= rs <= _MAX_SEED
        ):
            raise fail("random_state", "None, an int in [0, 2**32 - 1] or a numpy RandomState", rs)

    def _hidden(self) -> list[int]:
        h = self.hidden_layer_sizes
        return [int(h)] if isinstance(h, numbers.Integral) else [int(x) for x in h]

    def _make_optimizer(self):
        """The solver as an nnscratch optimizer, with scikit-learn's hyperparameters."""
        lr = self.learning_rate_init
        if self.solver == "sgd":
            # scikit-learn accepts Nesterov with no momentum: it is plain SGD then
            nesterov = self.nesterovs_momentum and self.momentum > 0
            return SGD(lr=lr, momentum=self.momentum, nesterov=nesterov)
        if self.solver in ("adam", "adamw"):
            opt = get_optimizer(self.solver, lr=lr, betas=(self.beta_1, self.beta_2))
            opt.eps = self.epsilon
            return opt
        return get_optimizer(self.solver, lr=lr)

    # --- training --------------------------------------------------------------------

    def _new_state(self, P: int, net: MLP) -> dict:
        return {
            "loss": [],  # per epoch, (P,)
            "val_loss": [],
            "score": [],
            "n_iter": np.zeros(P, dtype=np.intp),
            "best_loss": np.full(P, np.inf),
            "best_score": np.full(P, -np.inf),
            "best_state": {k: v.copy() for k, v in net.population_state.items()},
            "no_improvement": np.zeros(P, dtype=np.intp),
            "stopped": np.zeros(P, dtype=bool),
        }

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        """Check, then train; a call refused by a check (``ValueError``, or scikit-learn's
        ``TypeError`` for input it cannot take) leaves a fitted estimator as it was."""
        saved = dict(self.__dict__)
        net = getattr(self, "net_", None)
        l2 = None if net is None else (net.l2, [layer.l2 for layer in net.dense_layers])

        def restore() -> None:
            self.__dict__.clear()
            self.__dict__.update(saved)
            if net is not None:
                net.l2 = l2[0]
                for layer, value in zip(net.dense_layers, l2[1], strict=True):
                    layer.l2 = value

        # a warm start or partial_fit trains the fitted network (and optimizer) in place:
        # their copies put back a call that diverges
        weights = None if net is None else {k: v.copy() for k, v in net.population_state.items()}
        optimizer = copy.deepcopy(saved.get("_optimizer"))
        state = copy.deepcopy(saved.get("_state"))
        try:
            return self._checked_fit(X, y, sample_weight, incremental, classes)
        except (ValueError, TypeError):  # raised before any weight changed
            restore()
            raise
        except NonFiniteError as error:
            restore()
            if net is not None:
                for k, v in net.population_state.items():
                    v[...] = weights[k]
                self._optimizer, self._state = optimizer, state
            raise DivergedError(self, error) from None

    def _checked_fit(self, X, y, sample_weight, incremental, classes):
        self._check_params()
        if incremental and self.early_stopping:
            raise fail("early_stopping", "False with partial_fit", self.early_stopping)
        first = not hasattr(self, "net_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, first, classes)
        w = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        if first:
            P, batch = self.n_members, self.batch_size
            batch = min(200, X.shape[0]) if batch == "auto" else min(batch, X.shape[0])
            sizes = [X.shape[1], *self._hidden(), self.n_outputs_]
            check_fits("hidden_layer_sizes", P, sizes, X.dtype.itemsize, batch, X.shape[0])
            self._initialize(X, Y)
        net = self.net_
        X = X.astype(net.dtype, copy=False)
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        # a validation set for early stopping, or to choose the best member
        choose = net.n_members > 1 and self.ensemble == "best" and not incremental
        validation, data = None, (X, Y, w)
        if (self.early_stopping or choose) and not incremental:
            data, validation = self._split(X, Y, w)
        Xt, Yt, wt = data
        n = Xt.shape[0]
        batch = min(200, n) if self.batch_size == "auto" else self.batch_size
        if batch > n:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                "clipped",
                stacklevel=3,
            )
            batch = n
        mean_w = 1.0 if wt is None else float(np.mean(wt))
        _set_l2(net, self.alpha / (batch * mean_w) if mean_w > 0 else 0.0)
        self._state["n_iter"][:] = 0  # n_iter_ counts this call's epochs, as scikit-learn
        self._state["stopped"][:] = False
        stopper = _Stopping(self, n, validation)
        net.fit(
            Xt,
            Yt,
            epochs=1 if incremental else self.max_iter,
            batch_size=batch,
            optimizer=self._optimizer,
            validation_data=validation,
            sample_weight=wt,
            callbacks=[stopper],
            shuffle=self.shuffle,
            engine=self.engine,
        )
        state = self._state
        if self.early_stopping:  # every member gets back its best epoch's weights
            for k, v in net.population_state.items():
                v[...] = state["best_state"][k]
        if choose:
            scores = state["best_score"] if self.early_stopping else state["score"][-1]
            self._keep_member(int(np.argmax(np.nan_to_num(scores, nan=-np.inf))))
        if not incremental and not np.all(state["stopped"]):
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self._publish()
        return self

    def _split(self, X, Y, w):
        """scikit-learn's hold-out: ``validation_fraction`` of the rows, stratified for a
        single-output classifier."""
        stratify = Y if self._is_classifier and Y.ndim == 1 else None
        arrays = (X, Y) if w is None else (X, Y, w)
        parts = train_test_split(
            *arrays,
            random_state=self._seed,
            test_size=self.validation_fraction,
            stratify=stratify,
        )
        Xt, Xv, Yt, Yv = parts[:4]
        wt, wv = (parts[4], parts[5]) if w is not None else (None, None)
        if Xv.shape[0] < 2:
            raise fail(
                "validation_fraction",
                "a fraction leaving at least 2 validation rows",
                self.validation_fraction,
            )
        return (Xt, Yt, wt), (Xv, Yv, wv)

    def _initialize(self, X, Y) -> None:
        """A fresh network and fresh scikit-learn bookkeeping."""
        self._seed = _random_seed(self.random_state)
        K = self.n_outputs_
        P = self.n_members
        self.net_ = MLP(
            [X.shape[1], *self._hidden(), K],
            activation=_ACTIVATIONS.get(self.activation, self.activation),
            init=self.init,
            seed=self._seed,
            population=None if P == 1 else P,
            loss=self._loss(Y),
            dtype=X.dtype,
            dropout=self.dropout,
            batch_norm=self.batch_norm,
        )
        self.t_ = 0
        self.n_layers_ = len(self._hidden()) + 2
        self._state = self._new_state(P, self.net_)

    def _keep_member(self, p: int) -> None:
        """Keep member ``p`` alone (``ensemble="best"``), with its own bookkeeping."""
        self.net_ = self.net_.member(p)
        s = self._state
        for key in ("loss", "val_loss", "score"):
            s[key] = [row[p : p + 1] for row in s[key]]
        for key in ("n_iter", "best_loss", "best_score", "no_improvement", "stopped"):
            s[key] = s[key][p : p + 1]
        s["best_state"] = {k: v[p : p + 1].copy() for k, v in s["best_state"].items()}
        self.best_member_ = p

    def _publish(self) -> None:
        """scikit-learn's fitted attributes from the network and the per-member records
        (a population's curves and best values are its members' means)."""
        net, s = self.net_, self._state
        params = net.params
        L = len(net.dense_layers)
        self.coefs_ = [params[f"W{k}"].copy() for k in range(1, L + 1)]
        self.intercepts_ = [params[f"b{k}"].copy() for k in range(1, L + 1)]
        n_iter = s["n_iter"]
        self.n_iter_ = int(n_iter.max())
        curve = [float(np.mean(row)) for row in s["loss"]]
        self.loss_curve_ = curve
        self.loss_ = curve[-1]
        if s["score"]:
            self.validation_scores_ = [float(np.mean(row)) for row in s["score"]]
            self.validation_loss_curve_ = [float(np.mean(row)) for row in s["val_loss"]]
        else:
            self.validation_scores_ = None
            self.validation_loss_curve_ = None
        if self.early_stopping:
            self.best_validation_score_ = float(np.mean(s["best_score"]))
            self.best_loss_ = None
        else:
            self.best_validation_score_ = None
            self.best_loss_ = float(np.mean(s["best_loss"]))

    # --- prediction ------------------------------------------------------------------

    def _outputs(self, X) -> np.ndarray:
        """The output layer's values ``(N, n_outputs_)``: probabilities for a classifier,
        the members' mean for a population."""
        check_is_fitted(self, "net_")
        X = validate_data(
            self, X, reset=False, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32)
        )
        X = _dense(X)
        z = _logits(self.net_, X.astype(self.net_.dtype, copy=False))  # (P,N,K)
        if self.out_activation_ == "softmax":
            out = F.softmax(z)
        elif self.out_activation_ == "logistic":
            out = F.sigmoid(z)
        else:
            out = z
        return out[0] if out.shape[0] == 1 else out.mean(axis=0)  # (N,K)

    # --- model files -----------------------------------------------------------------

    def _to_model_file(self) -> tuple[MLP, dict]:
        """The fitted network and what rebuilds the estimator around it (JSON values);
        :func:`nnscratch.io.model.save` calls it."""
        check_is_fitted(self, "net_")
        params = {}
        for key, value in self.get_params(deep=False).items():
            if key == "random_state" and not (value is None or isinstance(value, int)):
                value = self._seed  # a RandomState cannot be written; its drawn seed can
            elif key == "class_weight" and isinstance(value, dict):
                value = {"pairs": [[_json_value(k), float(v)] for k, v in value.items()]}
            params[key] = _json_value(value)
        s = self._state
        info = {
            "estimator": type(self).__name__,
            "params": params,
            "n_features_in_": int(self.n_features_in_),
            "feature_names_in_": (
                [str(f) for f in self.feature_names_in_]
                if hasattr(self, "feature_names_in_")
                else None
            ),
            "n_outputs_": int(self.n_outputs_),
            "out_activation_": self.out_activation_,
            "t_": int(self.t_),
            "seed": self._seed,
            "best_member_": getattr(self, "best_member_", None),
            "state": {
                "loss": [_floats(row) for row in s["loss"]],
                "val_loss": [_floats(row) for row in s["val_loss"]],
                "score": [_floats(row) for row in s["score"]],
                "n_iter": s["n_iter"].tolist(),
                "best_loss": _floats(s["best_loss"]),
                "best_score": _floats(s["best_score"]),
                "no_improvement": s["no_improvement"].tolist(),
                "stopped": s["stopped"].tolist(),
            },
        }
        info.update(self._target_info())
        net = self.net_
        stand_in = {MultilabelLogLoss: SoftmaxCrossEntropy, HalfSquaredError: MeanSquaredError}
        if type(net.loss_fn) in stand_in:  # a file names built-in losses only
            net = copy.copy(net)  # the same layers; only the loss named in the file differs
            net.loss_fn = stand_in[type(net.loss_fn)]()  # the estimator restores its own
        return net, info

    @classmethod
    def _from_model_file(cls, net: MLP, info: dict):
        """The fitted estimator :meth:`_to_model_file` described; predicts bit for bit the
        same. The optimizer's state is not in the file: training on starts it afresh.

        A description that does not fit the network, or lacks an entry, is a ``ValueError``.
        """
        try:
            est = cls._rebuild(net, info)
        except (KeyError, TypeError, IndexError) as err:
            raise fail("estimator", f"a complete {cls.__name__} description", err) from None
        expected = (net.sizes[0], est._n_units())
        if (est.n_features_in_, est.n_outputs_) != expected or net.sizes[-1] != expected[1]:
            got = f"{est.n_features_in_} features, {est.n_outputs_} outputs for network {net}"
            raise fail("estimator", "a description matching the network", got, described=True)
        return est

    def _n_units(self) -> int:
        return self.n_outputs_

    @classmethod
    def _rebuild(cls, net: MLP, info: dict):
        params = dict(info["params"])
        if isinstance(params.get("class_weight"), dict):
            params["class_weight"] = {k: v for k, v in params["class_weight"]["pairs"]}
        if isinstance(params.get("hidden_layer_sizes"), list):
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        est = cls(**params)
        est._check_params()
        est.n_features_in_ = info["n_features_in_"]
        if info.get("feature_names_in_") is not None:
            est.feature_names_in_ = np.asarray(info["feature_names_in_"], dtype=object)
        est.n_outputs_ = info["n_outputs_"]
        est.out_activation_ = info["out_activation_"]
        est.n_layers_ = len(net.sizes)
        est.t_ = info["t_"]
        est._seed = info["seed"]
        if info.get("best_member_") is not None:
            est.best_member_ = info["best_member_"]
        est._restore_target(info)
        net.loss_fn = est._loss_for_file(net)
        est.net_ = net
        s = info["state"]

        def floats(values) -> np.ndarray:
            return np.array([float(v) for v in values], dtype=np.float64)

        state = {
            "loss": [floats(r) for r in s["loss"]],
            "val_loss": [floats(r) for r in s["val_loss"]],
            "score": [floats(r) for r in s["score"]],
            "n_iter": np.asarray(s["n_iter"], dtype=np.intp),
            "best_loss": floats(s["best_loss"]),
            "best_score": floats(s["best_score"]),
            "best_state": {k: v.copy() for k, v in net.population_state.items()},
            "no_improvement": np.asarray(s["no_improvement"], dtype=np.intp),
            "stopped": np.asarray(s["stopped"], dtype=bool),
        }
        est._state = state
        est._publish()
        return est

    def _loss_for_file(self, net: MLP) -> Loss:
        return net.loss_fn


_COMMON_PARAMETERS = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.

    activation : {'identity', 'logistic', 'tanh', 'relu'} or an nnscratch name, default='relu'
        Activation of the hidden layers (``'logistic'`` is nnscratch's ``'sigmoid'``; any
        name of :func:`nnscratch.core.activations.available_activations` works).

    solver : {'adam', 'sgd', 'adagrad', 'rmsprop', 'adamw'}, default='adam'
        The optimizer (:mod:`nnscratch.core.optim`). ``'sgd'`` takes ``momentum``,
        ``nesterovs_momentum`` and the ``learning_rate`` schedule; ``'adam'`` and
        ``'adamw'`` take ``beta_1``, ``beta_2`` and ``epsilon`` (``'adamw'`` also keeps
        its decoupled weight decay, 0.01); ``'adagrad'`` and ``'rmsprop'`` take
        ``learning_rate_init`` alone. There is no ``'lbfgs'``.

    alpha : float, default=0.0001
        Strength of the L2 term ``alpha / 2 ||W||^2``, divided by the batch's size (its
        weight sum) when added to the loss, as in scikit-learn.

    batch_size : int or 'auto', default='auto'
        Minibatch size; ``'auto'`` is ``min(200, n_samples)``.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        The schedule for ``solver='sgd'``: constant; ``learning_rate_init / (t + 1) **
        power_t`` after each epoch, ``t`` the samples seen; or divided by 5 each time
        ``n_iter_no_change`` epochs pass without improvement (stopping below 1e-6).

    learning_rate_init : float, default=0.001
        The initial (and, for the other solvers, constant) learning rate.

    power_t : float, default=0.5
        The exponent of ``'invscaling'``.

    max_iter : int, default=200
        The most epochs (passes over the data) one ``fit`` runs.

    shuffle : bool, default=True
        Shuffle the rows every epoch (each member with its own stream).

    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffles, dropout and the validation split.

    tol : float, default=1e-4
        An epoch improves when the training loss falls (or, with ``early_stopping``, the
        validation score rises) by at least ``tol``.

    verbose : bool, default=False
        Print the loss (and validation score) after every epoch.

    warm_start : bool, default=False
        ``fit`` continues from the fitted network (a fresh optimizer, as in scikit-learn).

    momentum : float, default=0.9
        Momentum of ``solver='sgd'``, in ``[0, 1]``.

    nesterovs_momentum : bool, default=True
        Nesterov's momentum for ``solver='sgd'`` (needs ``momentum > 0``).

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop once the validation score has
        not improved by ``tol`` for ``n_iter_no_change`` epochs; keep the best weights.

    validation_fraction : float, default=0.1
        The held-out share of the rows, for ``early_stopping`` or for choosing the best of
        ``n_members``.

    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's moment decay rates, in ``[0, 1)``.

    epsilon : float, default=1e-8
        Adam's ``eps``.

    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` before stopping (or lowering the rate).

    dropout : float, default=0.0
        Inverted dropout rate after each hidden activation, in ``[0, 1)`` (training only).

    batch_norm : bool, default=False
        Batch normalisation before each hidden activation.

    init : str, default='glorot_uniform'
        The weight initialiser (:mod:`nnscratch.core.init`); biases start at zero.
"""

_ENSEMBLE_PARAMETERS = """
    n_members : int, default=1
        Networks trained at once, each with its own seed (children of ``random_state``),
        as one population.

    ensemble : {'best', 'mean'}, default='best'
        With ``n_members > 1``: ``'best'`` holds out ``validation_fraction`` of the rows
        and keeps the member with the best validation score (its index in
        ``best_member_``); ``'mean'`` keeps them all and averages their outputs
        (probabilities for a classifier).

    engine : {'auto', 'numpy', 'numba'}, default='auto'
        The training loop of :meth:`nnscratch.core.network.MLP.fit`: ``'auto'`` takes the
        compiled epoch where it applies (plain SGD, ``alpha=0``, a softmax output) and
        numba is installed; ``'numpy'`` always the NumPy loop.
"""

_COMMON_ATTRIBUTES = """
    loss_ : float
        The training loss of the last epoch (with the penalty).

    best_loss_ : float or None
        The lowest training loss; None with ``early_stopping``.

    loss_curve_ : list of float
        The training loss after each epoch.

    validation_scores_ : list of float or None
        The validation score after each epoch, when rows are held out; else None.

    validation_loss_curve_ : list of float or None
        The validation loss (without dropout) after each epoch, when rows are held out.

    best_validation_score_ : float or None
        The best validation score, with ``early_stopping``; else None.

    t_ : int
        The training samples seen.

    coefs_ : list of ndarray of shape (n_fan_in, n_fan_out)
        The weights of each layer (with ``ensemble='mean'``, a leading member axis).

    intercepts_ : list of ndarray of shape (n_fan_out,)
        The biases of each layer (with ``ensemble='mean'``, a leading member axis).

    n_features_in_ : int
        The number of features seen in ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        The feature names seen in ``fit``, when ``X`` had string column names.

    n_iter_ : int
        The epochs the last ``fit`` ran.

    n_layers_ : int
        The number of layers, inputs and outputs included.

    n_outputs_ : int
        The number of output units.

    out_activation_ : str
        The output activation.

    net_ : nnscratch.core.network.MLP
        The fitted network (a population with ``ensemble='mean'``).
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = (
        """Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier`` on nnscratch.

    Minimises the log-loss (softmax cross-entropy; logistic for two classes and for
    multilabel targets) with minibatch descent. Labels may be any hashable values
    (strings too); a 0/1 indicator matrix ``y`` is a multilabel problem.

    Parameters
    ----------"""
        + _COMMON_PARAMETERS
        + """
    class_weight : dict, 'balanced' or None, default=None
        Weights per class, multiplying each row's loss ({label: weight}, or scikit-learn's
        ``'balanced'``: ``n_samples / (n_classes * bincount(y))``). Not for multilabel ``y``.
"""
        + _ENSEMBLE_PARAMETERS
        + """
    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        The class labels (for multilabel, ``0 .. n_labels - 1``).
"""
        + _COMMON_ATTRIBUTES
        + """
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from nnscratch.sklearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((32,), max_iter=300, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """
    )

    _is_classifier = True

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        dropout=0.0,
        batch_norm=False,
        init="glorot_uniform",
        class_weight=None,
        n_members=1,
        ensemble="best",
        engine="auto",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.init = init
        self.class_weight = class_weight
        self.n_members = n_members
        self.ensemble = ensemble
        self.engine = engine

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _check_params(self) -> None:
        super()._check_params()
        cw = self.class_weight
        if not (cw is None or cw == "balanced" or isinstance(cw, dict)):
            raise fail("class_weight", "None, 'balanced' or a dict {label: weight}", cw)

    def _validate_input(self, X, y, incremental, first, classes):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=first,
        )
        X = _dense(X)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if first:
            if incremental:
                if classes is None:
                    raise fail("classes", "the classes on the first call to partial_fit", None)
                labels = unique_labels(np.asarray(classes))
            else:
                labels = y
            self._label_binarizer = LabelBinarizer().fit(labels)
            self.classes_ = self._label_binarizer.classes_
            kind = self._label_binarizer.y_type_
            if kind != "multilabel-indicator" and len(self.classes_) < 2:
                raise fail(
                    "y", "at least two classes", f"one class: {self.classes_}", described=True
                )
            self._multilabel = kind == "multilabel-indicator"
            self.n_outputs_ = (
                1 if kind == "binary" else self._label_binarizer.transform(labels[:1]).shape[1]
            )
            self.out_activation_ = "softmax" if kind == "multiclass" else "logistic"
        else:
            seen = unique_labels(y)
            if self.warm_start and not incremental:
                if set(seen) != set(self.classes_):
                    raise ValueError(
                        "y: expected the classes of the previous fit with warm_start "
                        f"({self.classes_}), got {seen}"
                    )
            elif len(np.setdiff1d(seen, self.classes_)):
                raise ValueError(
                    f"y: expected only the classes {self.classes_} of the first call, got "
                    f"{np.setdiff1d(seen, self.classes_)} too"
                )
        Y = self._label_binarizer.transform(y)  # (N, n_outputs_) 0/1
        if self._multilabel:
            return X, Y.astype(np.float64)
        if self.n_outputs_ == 1:
            return X, Y[:, 0].astype(np.intp)
        return X, Y.argmax(axis=1).astype(np.intp)

    def _loss(self, Y) -> Loss:
        cw = self._class_weights(Y)
        if self._multilabel:
            return MultilabelLogLoss()
        if self.n_outputs_ == 1:
            return SigmoidBinaryCrossEntropy(class_weight=cw)
        return SoftmaxCrossEntropy(class_weight=cw)

    def _class_weights(self, Y):
        if self.class_weight is None:
            return None
        if self._multilabel:
            raise fail("class_weight", "None for multilabel y", self.class_weight)
        y = self.classes_[Y]
        cw = self.class_weight
        if isinstance(cw, dict):
            unknown = [k for k in cw if k not in set(self.classes_.tolist())]
            if unknown:
                raise fail("class_weight", f"labels among {self.classes_}", unknown)
        return compute_class_weight(cw, classes=self.classes_, y=y)

    def _loss_for_file(self, net: MLP) -> Loss:
        return MultilabelLogLoss() if self._multilabel else net.loss_fn

    def _n_units(self) -> int:
        """Output units the classes need: one for two classes, else one per class."""
        k = len(self.classes_)
        return 1 if k == 2 and not self._multilabel else k

    def _target_info(self) -> dict:
        classes = self.classes_
        dtype = classes.dtype
        kind = "object" if dtype.kind == "O" else dtype.str
        types = sorted({type(c).__name__ for c in classes}) if dtype.kind == "O" else []
        return {
            "classes_": [_json_value(c) for c in classes],
            "classes_dtype": kind,
            "classes_types": types,
            "multilabel": bool(self._multilabel),
        }

    def _restore_target(self, info: dict) -> None:
        kind = info["classes_dtype"]
        if kind == "object":
            classes = np.empty(len(info["classes_"]), dtype=object)
            classes[:] = info["classes_"]
        else:
            classes = np.asarray(info["classes_"], dtype=np.dtype(kind))
        self._multilabel = bool(info["multilabel"])
        if self._multilabel:
            K = len(classes)  # the identity and a row of zeros: every label, both values
            fit_on = np.vstack([np.eye(K, dtype=int), np.zeros((1, K), dtype=int)])
        else:
            fit_on = classes
        self._label_binarizer = LabelBinarizer().fit(fit_on)
        self.classes_ = self._label_binarizer.classes_
        if not self._multilabel and not np.array_equal(self.classes_, classes):
            self.classes_ = classes
            self._label_binarizer.classes_ = classes

    # --- the public API --------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` ``(n_samples, n_features)`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix for multilabel classification.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows in the loss.

        Returns
        -------
        self : MLPClassifier
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            Every class, required on the first call (``np.unique(y_all)``).

        Returns
        -------
        self : MLPClassifier
        """
        if hasattr(self, "classes_") and classes is not None and hasattr(self, "net_"):
            if not np.array_equal(np.unique(classes), self.classes_):
                raise fail("classes", f"the classes of the first call {self.classes_}", classes)
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities, in ``classes_`` order (the members' mean with
        ``ensemble='mean'``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            For multilabel ``y``, each label's probability (rows need not sum to 1).
        """
        p = self._outputs(X)
        if self.n_outputs_ == 1 and not self._multilabel:
            p = np.hstack([1.0 - p, p])
        return p

    def predict_log_proba(self, X):
        """The logarithm of :meth:`predict_proba`, as scikit-learn computes it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each row (probability above 0.5 for two classes and
        for each label of a multilabel problem).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels from ``classes_``, or a 0/1 indicator matrix for multilabel ``y``.
        """
        p = self._outputs(X)  # checks that the estimator is fitted
        return self._label_binarizer.inverse_transform(p)


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = (
        """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor`` on nnscratch.

    Minimises the squared error ``1/2 sum_k (z_k - y_k)^2`` averaged over rows, with an
    identity output, for one or several outputs.

    Parameters
    ----------"""
        + _COMMON_PARAMETERS
        + """
    loss : {'squared_error'}, default='squared_error'
        The loss (scikit-learn's ``'poisson'`` is not available).
"""
        + _ENSEMBLE_PARAMETERS
        + """
    Attributes
    ----------"""
        + _COMMON_ATTRIBUTES
    )

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        loss="squared_error",
        dropout=0.0,
        batch_norm=False,
        init="glorot_uniform",
        n_members=1,
        ensemble="best",
        engine="auto",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.loss = loss
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.init = init
        self.n_members = n_members
        self.ensemble = ensemble
        self.engine = engine

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _check_params(self) -> None:
        super()._check_params()
        check_choice("loss", self.loss, {"squared_error"})

    def _validate_input(self, X, y, incremental, first, classes):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=first,
        )
        X = _dense(X)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if first:
            self.n_outputs_ = Y.shape[1]
            self.out_activation_ = "identity"
        elif Y.shape[1] != self.n_outputs_:
            raise fail("y", f"{self.n_outputs_} output(s) as in the first fit", Y.shape)
        return X, Y.astype(np.float64)

    def _loss(self, Y) -> Loss:
        return HalfSquaredError()

    def _loss_for_file(self, net: MLP) -> Loss:
        return HalfSquaredError()

    def _target_info(self) -> dict:
        return {"multilabel": False}

    def _restore_target(self, info: dict) -> None:
        pass

    def fit(self, X, y, sample_weight=None):
        """Fit the network to ``X`` ``(n_samples, n_features)`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MLPRegressor
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MLPRegressor
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """The network's outputs (the members' mean with ``ensemble='mean'``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        y = self._outputs(X)
        return y[:, 0] if y.shape[1] == 1 else y
