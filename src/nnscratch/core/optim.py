"""Optimizers, from simple to complex, behind one interface: ``step(params, grads)``.

``params`` and ``grads`` are dicts with the same keys whose arrays carry the population
axis first, ``(P, ...)``. ``step`` updates ``params`` in place and never changes ``grads``.
Any hyperparameter may be a scalar or an array of shape ``(P,)``: one value per member.

Every update is written as in its paper and follows, operation for operation, the
``torch.optim`` class of the same name (where ``eps`` goes, bias correction, the first
momentum buffer, weight decay folded into the gradient), so the two can be checked step
for step. State (moments, buffers) lives per parameter in ``self.state[key]`` as arrays of
the parameter's shape ``(P, ...)``; ``self.t`` counts steps.
"""

from __future__ import annotations

import numpy as np

from nnscratch.core.checks import check_choice, check_int, check_positive, check_range, fail

_INF = float("inf")
#: (low, high, low_open, high_open) of the intervals hyperparameters live in
_NONNEGATIVE = (0.0, _INF, False, True)
_POSITIVE = (0.0, _INF, True, True)
_UNIT = (0.0, 1.0, False, True)  # [0, 1): betas, smoothing constants


def per_member(value, like: np.ndarray, name: str = "hyperparameter") -> np.ndarray | float:
    """Broadcast a scalar or ``(P,)`` hyperparameter against a ``(P, ...)`` parameter."""
    if np.ndim(value) == 0:
        return value
    value = np.asarray(value)
    if value.shape != like.shape[:1]:
        raise fail(name, f"a scalar or an array of shape ({like.shape[0]},)", value)
    return value.reshape((-1,) + (1,) * (like.ndim - 1)).astype(like.dtype, copy=False)


def _hyper(name: str, value, low, high, low_open, high_open) -> float | np.ndarray:
    """A checked scalar (``float``) or ``(P,)`` hyperparameter, arrays kept as read-only copies."""
    population = np.size(value) if np.ndim(value) == 1 else None
    value = check_range(name, value, low, high, low_open, high_open, population=population)
    if isinstance(value, np.ndarray):
        value = value.copy()
        value.setflags(write=False)  # cached per member: change it by assigning a new value
    return value


def _is_zero(value) -> bool:
    """True for a scalar 0 (an all-zero ``(P,)`` array takes the general path, same result)."""
    return isinstance(value, float) and value == 0.0


def _zeros(state: dict[str, np.ndarray], name: str, like: np.ndarray) -> np.ndarray:
    """State array ``name``, created as zeros shaped like the parameter on first use."""
    buf = state.get(name)
    if buf is None:
        buf = state[name] = np.zeros_like(like)
    return buf


def _global_norms(grads: dict[str, np.ndarray]) -> np.ndarray:
    """Each member's L2 norm over all its gradients, ``(P,)``, computed in float64."""
    total = 0.0
    for g in grads.values():
        flat = g.reshape(g.shape[0], -1).astype(np.float64, copy=False)  # (P, n)
        total = total + np.einsum("pi,pi->p", flat, flat)  # (P,)
    return np.sqrt(total)


def _clip(grads: dict[str, np.ndarray], max_norm, copy: bool) -> tuple[dict, np.ndarray]:
    norms = _global_norms(grads)  # (P,)
    if np.ndim(max_norm) == 1 and np.shape(max_norm) != norms.shape:
        raise fail("max_norm", f"a scalar or an array of shape {norms.shape}", max_norm)
    scale = np.minimum(max_norm / (norms + 1e-6), 1.0)  # (P,)
    if not copy and np.all(scale == 1.0):
        return grads, norms  # no member over the limit: nothing to scale
    return {k: g * per_member(scale, g) for k, g in grads.items()}, norms


def clip_grad_norm(grads: dict[str, np.ndarray], max_norm) -> tuple[dict, np.ndarray]:
    """Scale each member's gradients so that its global L2 norm is at most ``max_norm``.

    ``c_p = min(1, max_norm / (||g_p|| + 1e-6))`` and ``g_p := c_p g_p``, with ``||g_p||``
    taken over all of member ``p``'s parameters (``torch.nn.utils.clip_grad_norm_`` per
    member). Returns new arrays and the norms before clipping, ``(P,)``; ``grads`` is unchanged.
    """
    return _clip(grads, _hyper("max_norm", max_norm, *_POSITIVE), copy=True)


class Optimizer:
    """Base class: checked hyperparameters, per-member state, gradient clipping.

    A subclass lists its hyperparameters and their intervals in ``_ranges`` (checked on
    every assignment, so a schedule setting ``lr`` is checked too) and implements
    ``_update(theta, g, state)`` for one parameter array; ``step`` does the rest. ``lr``
    must be positive when the optimizer is made; a schedule may later lower it to 0.
    ``clip_norm`` (optional) clips each member's gradient norm before the update.
    """

    _ranges: dict[str, tuple] = {"lr": _NONNEGATIVE}
    _flags: tuple[str, ...] = ()  # boolean options, saved with the hyperparameters

    def __init__(self, lr, clip_norm=None) -> None:
        check_positive("lr", lr, population=np.size(lr) if np.ndim(lr) == 1 else None)
        self._cache: dict[tuple, np.ndarray | float] = {}
        self.lr, self.clip_norm = lr, clip_norm
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.t = 0  # steps taken

    def __setattr__(self, name, value) -> None:
        if name in self._ranges:
            value = _hyper(name, value, *self._ranges[name])
            object.__setattr__(self, "_cache", {})  # per-member views are stale now
        elif name == "clip_norm" and value is not None:
            value = _hyper(name, value, *_POSITIVE)
        object.__setattr__(self, name, value)

    def _member(self, name: str, like: np.ndarray) -> np.ndarray | float:
        """Hyperparameter ``name`` shaped to broadcast against ``like`` ``(P, ...)``; cached."""
        key = (name, like.shape[0], like.ndim, like.dtype)
        value = self._cache.get(key)
        if value is None:
            value = self._cache[key] = per_member(getattr(self, name), like, name)
        return value

    def _scratch(self, like: np.ndarray) -> np.ndarray:
        """A buffer shaped as ``like``, kept from step to step: an update's ``lr * g`` goes
        there instead of into a new array (W5's large layers: 64 ms of a 740 ms epoch)."""
        key, cache = ("scratch", like.shape, like.dtype), self._cache
        return cache[key] if key in cache else cache.setdefault(key, np.empty_like(like))

    def _with_decay(self, theta: np.ndarray, g: np.ndarray) -> np.ndarray:
        """``g + weight_decay * theta``: the L2 penalty folded into the gradient (a new array)."""
        if _is_zero(self.weight_decay):
            return g
        return g + self._member("weight_decay", theta) * theta

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """One update of every member's ``params`` (in place) from its ``grads``."""
        if self.clip_norm is not None:
            grads, _ = _clip(grads, self.clip_norm, copy=False)
        self.t += 1
        for key, theta in params.items():
            state = self.state.setdefault(key, {})
            shape = next(iter(state.values())).shape if state else theta.shape
            if shape != theta.shape:  # another network's parameters
                raise fail(f"params[{key!r}]", f"shape {shape} (or call reset())", theta)
            self._update(theta, grads[key], state)

    def _update(self, theta: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget all state (moments, buffers, step count)."""
        self.state = {}
        self.t = 0

    def state_dict(self) -> dict:
        """Hyperparameters, step count and state as a plain dict (arrays are copies)."""
        values = {n: getattr(self, n) for n in (*self._ranges, "clip_norm", *self._flags)}
        hyper = {n: np.array(v) if np.ndim(v) else v for n, v in values.items()}
        state = {k: {n: a.copy() for n, a in s.items()} for k, s in self.state.items()}
        name = type(self).__name__
        return {"optimizer": name, "hyperparameters": hyper, "t": self.t, "state": state}

    def load_state_dict(self, d: dict) -> None:
        """Restore what :meth:`state_dict` returned (hyperparameters are checked again)."""
        name = type(self).__name__
        if not isinstance(d, dict) or d.get("optimizer") != name:
            raise fail("state_dict", f"a dict from {name}.state_dict()", d)
        for key, value in d["hyperparameters"].items():
            if key not in (*self._ranges, *self._flags, "clip_norm"):
                raise fail("state_dict", f"hyperparameters of {name}", key)
            setattr(self, key, bool(value) if key in self._flags else value)
        self.t = check_int("t", d["t"], minimum=0)
        self.state = {k: {n: np.array(a) for n, a in s.items()} for k, s in d["state"].items()}

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in (*self._ranges, *self._flags))
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, eq. (7), with momentum and weight decay.

    ``g = grad + wd theta``; with momentum ``b = mu b + g`` (``b_1 = g``) and ``g = b``, or
    ``g = g + mu b`` (Nesterov); then ``theta := theta - lr g``. Momentum as in Sutskever
    et al. (2013), "On the importance of initialization and momentum in deep learning".
    """

    _ranges = {**Optimizer._ranges, "momentum": _NONNEGATIVE, "weight_decay": _NONNEGATIVE}
    _flags = ("nesterov",)

    def __init__(
        self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, clip_norm=None
    ) -> None:
        super().__init__(lr, clip_norm)
        self.momentum, self.weight_decay = momentum, weight_decay
        self.nesterov = bool(nesterov)
        if self.nesterov and not np.all(np.asarray(self.momentum) > 0):
            raise fail("momentum", "a value > 0 when nesterov=True", momentum)

    def _update(self, theta, g, state):
        g = self._with_decay(theta, g)
        if not _is_zero(self.momentum):
            mu = self._member("momentum", theta)
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()  # b_1 = g
            else:
                buf *= mu
                buf += g  # b_t = mu b_{t-1} + g_t
            g = g + mu * buf if self.nesterov else buf
        theta -= np.multiply(self._member("lr", theta), g, out=self._scratch(g))


class AdaGrad(Optimizer):
    """AdaGrad (Duchi, Hazan & Singer, 2011, "Adaptive subgradient methods", JMLR 12).

    ``g = grad + wd theta; s = s + g^2; theta := theta - lr_t g / (sqrt(s) + eps)`` with
    ``lr_t = lr / (1 + (t - 1) lr_decay)`` and ``s_0 = initial_accumulator_value``.
    """

    _ranges = {
        **Optimizer._ranges,
        "lr_decay": _NONNEGATIVE,
        "weight_decay": _NONNEGATIVE,
        "initial_accumulator_value": _NONNEGATIVE,
        "eps": _POSITIVE,
    }

    def __init__(
        self,
        lr=0.01,
        lr_decay=0.0,
        weight_decay=0.0,
        initial_accumulator_value=0.0,
        eps=1e-10,
        clip_norm=None,
    ) -> None:
        super().__init__(lr, clip_norm)
        self.lr_decay = lr_decay
        self.weight_decay = weight_decay
        self.initial_accumulator_value = initial_accumulator_value
        self.eps = eps

    def _update(self, theta, g, state):
        g = self._with_decay(theta, g)
        s = state.get("sum")
        if s is None:
            s = state["sum"] = np.zeros_like(theta)
            s += self._member("initial_accumulator_value", theta)
        lr = self._member("lr", theta) / (1 + (self.t - 1) * self._member("lr_decay", theta))
        s += g * g  # s_t = s_{t-1} + g^2
        theta -= lr * (g / (np.sqrt(s) + self._member("eps", theta)))


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012, Neural Networks for Machine Learning, lecture 6e).

    ``g = grad + wd theta; v = alpha v + (1 - alpha) g^2``; centered (Graves, 2013,
    arXiv:1308.0850): ``v~ = v - gbar^2`` with ``gbar = alpha gbar + (1 - alpha) g``.
    ``theta := theta - lr g / (sqrt(v~) + eps)``, or with momentum ``b = mu b + g /
    (sqrt(v~) + eps)`` (``b_0 = 0``) and ``theta := theta - lr b``.
    """

    _ranges = {
        **Optimizer._ranges,
        "alpha": _UNIT,
        "eps": _POSITIVE,
        "weight_decay": _NONNEGATIVE,
        "momentum": _NONNEGATIVE,
    }
    _flags = ("centered",)

    def __init__(
        self,
        lr=0.01,
        alpha=0.99,
        eps=1e-8,
        weight_decay=0.0,
        momentum=0.0,
        centered=False,
        clip_norm=None,
    ) -> None:
        super().__init__(lr, clip_norm)
        self.alpha = alpha
        self.eps = eps
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.centered = bool(centered)

    def _update(self, theta, g, state):
        g = self._with_decay(theta, g)
        alpha = self._member("alpha", theta)
        v = _zeros(state, "square_avg", theta)
        v *= alpha
        v += (1 - alpha) * (g * g)  # v_t = alpha v + (1 - alpha) g^2
        if self.centered:
            gbar = _zeros(state, "grad_avg", theta)
            gbar *= alpha
            gbar += (1 - alpha) * g  # gbar_t = alpha gbar + (1 - alpha) g
            denom = np.sqrt(v - gbar * gbar) + self._member("eps", theta)  # sqrt(v~) + eps
        else:
            denom = np.sqrt(v) + self._member("eps", theta)
        if _is_zero(self.momentum):
            theta -= self._member("lr", theta) * (g / denom)
        else:
            buf = _zeros(state, "momentum_buffer", theta)
            buf *= self._member("momentum", theta)
            buf += g / denom  # b_t = mu b + g / (sqrt(v~) + eps)
            theta -= self._member("lr", theta) * buf


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015, "Adam: a method for stochastic optimization", Algorithm 1).

    ``g = grad + wd theta; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;``
    ``theta := theta - lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps)``. AMSGrad
    (Reddi, Kale & Kumar, 2018) uses the running maximum of ``v`` in place of ``v``.
    """

    _ranges = {
        **Optimizer._ranges,
        "beta1": _UNIT,
        "beta2": _UNIT,
        "eps": _POSITIVE,
        "weight_decay": _NONNEGATIVE,
    }
    _flags = ("amsgrad",)
    _decoupled = False  # AdamW decays the weights instead of the gradient

    def __init__(
        self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, clip_norm=None
    ) -> None:
        super().__init__(lr, clip_norm)
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.amsgrad = bool(amsgrad)

    @property
    def betas(self) -> tuple:
        return self.beta1, self.beta2

    @betas.setter
    def betas(self, value) -> None:
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise fail("betas", "a pair (beta1, beta2)", value)
        self.beta1 = _hyper("betas[0]", value[0], *_UNIT)
        self.beta2 = _hyper("betas[1]", value[1], *_UNIT)

    def _update(self, theta, g, state):
        lr = self._member("lr", theta)
        b1, b2 = self._member("beta1", theta), self._member("beta2", theta)
        if not self._decoupled:
            g = self._with_decay(theta, g)
        elif not _is_zero(self.weight_decay):
            theta *= 1 - lr * self._member("weight_decay", theta)  # theta := theta (1 - lr wd)
        m, v = _zeros(state, "exp_avg", theta), _zeros(state, "exp_avg_sq", theta)
        m *= b1
        m += (1 - b1) * g  # m_t = b1 m + (1 - b1) g
        v *= b2
        v += (1 - b2) * (g * g)  # v_t = b2 v + (1 - b2) g^2
        if self.amsgrad:
            v = np.maximum(_zeros(state, "max_exp_avg_sq", theta), v, out=state["max_exp_avg_sq"])
        bias1, bias2 = 1 - b1**self.t, 1 - b2**self.t
        denom = np.sqrt(v) / bias2**0.5 + self._member("eps", theta)  # sqrt(v_hat) + eps
        theta -= (lr / bias1) * (m / denom)  # lr m_hat / (sqrt(v_hat) + eps)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019, "Decoupled weight decay regularization").

    Adam on the raw gradient, after decaying the weights: ``theta := theta (1 - lr wd)``.
    """

    _decoupled = True

    def __init__(
        self,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=1e-2,
        amsgrad=False,
        clip_norm=None,
    ) -> None:
        super().__init__(lr, betas, eps, weight_decay, amsgrad, clip_norm)


_OPTIMIZERS = {"sgd": SGD, "adagrad": AdaGrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


def get_optimizer(name: str, **kwargs) -> Optimizer:
    """An optimizer by name (``"sgd"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``)."""
    key = name.lower() if isinstance(name, str) else name
    return _OPTIMIZERS[check_choice("name", key, _OPTIMIZERS)](**kwargs)
