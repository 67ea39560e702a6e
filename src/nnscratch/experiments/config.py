"""One experiment configuration, a grid of them, and how a grid splits into populations.

A :class:`Config` names everything that defines a trained network except its seed. Within
one population, members may differ in hidden width (padded to the widest and masked),
learning rate, ``init_scale``, ``l2``, dropout rate and seed; every other field changes the
step count or the computation graph, so configurations that differ there train in separate
populations (:func:`group_key`, :func:`group_configs`).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnscratch.core.activations import get_activation
from nnscratch.core.checks import check_choice, check_int, check_positive, check_range, fail
from nnscratch.core.init import get_initializer
from nnscratch.core.losses import Loss, get_loss
from nnscratch.core.optim import Optimizer, get_optimizer

#: Fields whose values may differ between members of ONE population.
VECTORISED = ("hidden", "lr", "init_scale", "l2", "dropout")

#: The most networks one run trains (configurations x trials): a count past it is refused,
#: with the count, before any seed or configuration is built (a typo such as
#: ``trials=10**9`` would otherwise hang while building them).
MAX_TRIALS = 10**6

#: The most hidden layers a configuration may have; refused likewise, before the widths are
#: built. Whether the networks fit in memory the core decides (``MLP`` names its estimate).
MAX_LAYERS = 1000


def make_optimizer(name: str, lr) -> Optimizer:
    """An optimizer by name with learning rate ``lr`` (a scalar or one per member, ``(P,)``)."""
    try:
        return get_optimizer(name, lr=lr)
    except ValueError as error:  # name the argument as the caller knows it
        text = str(error)
        raise ValueError("optimizer" + text[4:] if text.startswith("name:") else text) from None


def make_loss(name: str, reduction: str) -> Loss:
    """A loss by name with the given batch reduction (``"mean"`` or ``"sum"``)."""
    loss = get_loss(name)
    if not loss.classifier:
        raise fail("loss", "a classification loss (records report accuracy)", name)
    if loss.reduction != reduction:
        loss = type(loss)(reduction=reduction)
    return loss


@functools.lru_cache(maxsize=1024)
def _check_names(activation, init, bias_init, optimizer, loss, reduction, dtype) -> None:
    """Check the names of a :class:`Config`, once per combination (only successes are cached,
    so a name registered later is found): a grid near ``MAX_TRIALS`` builds each at once."""
    get_activation(activation)
    get_initializer(init)
    get_initializer(bias_init, name="bias_init")
    check_choice("reduction", reduction, {"mean", "sum"})
    make_loss(loss, reduction)
    check_choice("dtype", dtype, {"float32", "float64"})
    make_optimizer(optimizer, 1.0)  # the name; lr is checked on its own


@dataclass(frozen=True)
class Config:
    """A network and how to train it; everything but the seed.

    ``hidden`` lists the hidden layer widths (an int means one layer). ``init`` and
    ``bias_init`` name initialisers, ``init_scale`` multiplies the drawn weights. ``l2`` is
    the weight penalty ``l2 / 2 ||W||^2`` and ``dropout`` the rate after each hidden layer.
    ``loss`` and ``reduction`` name the loss and whether it averages (``"mean"``) or sums
    over a batch. The tutorial's own settings are::

        Config(hidden=64, init="normal", bias_init="normal", lr=1e-4, batch_size=10,
               epochs=10, reduction="sum")
    """

    hidden: tuple[int, ...] = (64,)
    activation: str = "relu"
    init: str = "he"
    bias_init: str = "zeros"
    init_scale: float = 1.0
    optimizer: str = "sgd"
    lr: float = 0.1
    batch_size: int = 32
    epochs: int = 10
    l2: float = 0.0
    dropout: float = 0.0
    loss: str = "cross_entropy"
    reduction: str = "mean"
    dtype: str = "float64"

    def __post_init__(self) -> None:
        hidden = self.hidden
        if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
            raise fail("hidden", "an int or a sequence of hidden layer widths", self.hidden)
        if len(hidden) > MAX_LAYERS:
            raise ValueError(
                f"hidden: expected at most {MAX_LAYERS} hidden layers, got {len(hidden)}"
            )
        hidden = tuple(check_int(f"hidden[{i}]", h) for i, h in enumerate(hidden))
        set_ = object.__setattr__  # the dataclass is frozen: normalise once, here
        set_(self, "hidden", hidden)
        names = ("activation", "init", "bias_init", "optimizer", "loss", "reduction", "dtype")
        for name in names:
            if not isinstance(getattr(self, name), str):
                raise fail(name, "a name (str)", getattr(self, name))
        _check_names(*(getattr(self, name) for name in names))
        set_(self, "init_scale", float(check_range("init_scale", self.init_scale, low=0.0)))
        set_(self, "lr", float(check_positive("lr", self.lr)))
        set_(self, "l2", float(check_range("l2", self.l2, low=0.0)))
        set_(self, "dropout", float(check_range("dropout", self.dropout, 0.0, 1.0, high_open=True)))
        set_(self, "batch_size", check_int("batch_size", self.batch_size))
        set_(self, "epochs", check_int("epochs", self.epochs))

    def to_dict(self) -> dict[str, Any]:
        """Plain values, ready for JSON (``hidden`` as a list)."""
        out = dataclasses.asdict(self)
        out["hidden"] = list(self.hidden)
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Config:
        """The inverse of :meth:`to_dict`; unknown keys are an error."""
        unknown = set(values) - set(field_names())
        if unknown:
            raise fail("config", "keys among " + ", ".join(field_names()), sorted(unknown))
        return cls(**values)

    def replace(self, **changes) -> Config:
        """A copy with some fields changed (validated like a new one)."""
        return dataclasses.replace(self, **changes)


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Config)]


def as_config(config: Config | Mapping[str, Any] | None) -> Config:
    """A ``Config`` from a ``Config``, a dict of fields, or ``None`` (the defaults)."""
    if config is None:
        return Config()
    if isinstance(config, Config):
        return config
    if isinstance(config, Mapping):
        return Config.from_dict(config)
    raise fail("config", "a Config or a dict of its fields", config)


def _grid_names(grid: Mapping[str, Sequence]) -> list[str]:
    """The grid's keys, each checked: a ``Config`` field with a non-empty list of values."""
    if not isinstance(grid, Mapping):
        raise fail("grid", "a dict mapping Config field names to lists of values", grid)
    names = list(grid)
    for name in names:
        check_choice("grid key", name, set(field_names()))
        values = grid[name]
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise fail(f"grid[{name!r}]", "a non-empty list of values", values)
    return names


def grid_size(grid: Mapping[str, Sequence]) -> int:
    """How many configurations ``grid`` gives (the product of its lengths), without building
    any: what :func:`check_trial_count` is asked before :func:`expand_grid`."""
    return math.prod(len(grid[name]) for name in _grid_names(grid))


def check_trial_count(configs: int, trials: int, name: str = "trials") -> int:
    """``configs * trials``, the networks a run trains, refused past :data:`MAX_TRIALS`.

    A ``ValueError`` starting with ``name`` gives the count, before anything is built.
    """
    total = configs * trials
    if total > MAX_TRIALS:
        raise ValueError(
            f"{name}: expected at most {MAX_TRIALS} networks in all (configurations x trials), "
            f"got {configs} configuration{'s' if configs != 1 else ''} x {trials} "
            f"trial{'s' if trials != 1 else ''} = {total}"
        )
    return total


def expand_grid(
    grid: Mapping[str, Sequence], base: Config | Mapping[str, Any] | None = None
) -> list[Config]:
    """Every combination of the grid's values, on top of ``base``, in grid order.

    Grid order is ``itertools.product`` over the keys in the order given: the last key
    varies fastest. ``{"hidden": [3, 4], "lr": [0.1, 0.01]}`` gives
    ``(3, 0.1), (3, 0.01), (4, 0.1), (4, 0.01)``.
    """
    base = as_config(base)
    names = _grid_names(grid)
    return [
        base.replace(**dict(zip(names, combo, strict=True)))
        for combo in itertools.product(*(grid[name] for name in names))
    ]


def group_key(config: Config) -> tuple:
    """What must be equal for two configurations to train in one population.

    Every field except the vectorised ones (hidden widths, learning rate, ``init_scale``,
    ``l2``, ``dropout``), plus the number of hidden layers (the depth of the graph).
    """
    fixed = tuple((name, getattr(config, name)) for name in field_names() if name not in VECTORISED)
    return fixed + (("depth", len(config.hidden)),)


def group_configs(configs: Sequence[Config]) -> list[list[int]]:
    """Indices of ``configs`` grouped by :func:`group_key`, groups in order of first appearance.

    Each group trains as one population; indices inside a group keep their order.
    """
    groups: dict[tuple, list[int]] = {}
    for i, config in enumerate(configs):
        groups.setdefault(group_key(config), []).append(i)
    return list(groups.values())
