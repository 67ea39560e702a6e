"""What the page may ask for: every setting checked on the server, before anything changes.

``Settings.from_query(d)`` takes the page's JSON object (or the URL's query, all strings)
and returns a frozen ``Settings`` or raises one ``ValueError`` naming the setting, what was
expected and what was given; the page shows that line and the last good state is kept.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

from nnscratch.core.activations import available_activations
from nnscratch.core.checks import fail

CLASSIFICATION = ("circle", "xor", "gauss", "spiral", "moons", "blobs")
REGRESSION = ("plane", "multigauss")
#: ``custom`` is the data an uploaded CSV or points drawn on the plot made.
DATASETS = CLASSIFICATION + REGRESSION + ("custom",)
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
OPTIMIZERS = ("sgd", "adagrad", "rmsprop", "adam", "adamw")
MAX_LAYERS = 8
MAX_WIDTH = 64
MAX_POPULATION = 64
MAX_POINTS = 5000
#: Members x weights trained at once, the most that stays interactive (and far from memory
#: trouble): 64 members of 6 x 8 fit, 64 members of 8 x 64 do not.
MAX_WEIGHTS = 600_000


@dataclass(frozen=True)
class Settings:
    """One page's choices; ``asdict`` of it is what the URL carries."""

    dataset: str = "circle"
    noise: float = 0.0
    points: int = 500
    train_ratio: float = 0.5
    batch_size: int = 10
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)
    lr: float = 0.03
    #: one name for every hidden layer, or one per hidden layer
    activation: tuple[str, ...] = ("tanh",)
    optimizer: str = "sgd"
    l1: float = 0.0
    l2: float = 0.0
    dropout: float = 0.0
    population: int = 1
    seed: int = 0

    @property
    def task(self) -> str:
        return "regression" if self.dataset in REGRESSION else "classification"

    @property
    def activations(self) -> tuple[str, ...]:
        """One activation name per hidden layer."""
        if len(self.activation) == 1:
            return self.activation * len(self.hidden)
        return self.activation

    @property
    def network_activation(self) -> str | list[str]:
        """``MLP``'s ``activation``: the shared name, or the list of one per layer."""
        return self.activation[0] if len(self.activation) == 1 else list(self.activation)

    @property
    def init(self) -> str:
        """Glorot's initialisation where every hidden layer squashes (tanh, sigmoid), else He's."""
        squash = all(a in ("tanh", "sigmoid") for a in self.activations)
        return "glorot" if squash else "he"

    def n_weights(self, n_outputs: int) -> int:
        """Weights and biases of one member."""
        sizes = [len(self.features), *self.hidden, n_outputs]
        return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))

    def as_query(self) -> dict:
        """JSON-able: tuples become comma-separated strings, as in the URL."""
        d = asdict(self)
        d["features"] = ",".join(self.features)
        d["hidden"] = ",".join(str(h) for h in self.hidden)
        d["activation"] = ",".join(self.activation)
        return d

    @classmethod
    def from_query(cls, query: dict, base: Settings | None = None) -> Settings:
        """``base`` (default the defaults) with the keys of ``query`` replaced, all checked."""
        if not isinstance(query, dict):
            raise fail("settings", "a JSON object", query)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(query) - known)
        if unknown:
            raise fail("settings", f"names among {', '.join(sorted(known))}", unknown[0])
        values = asdict(base or cls())
        for name, raw in query.items():
            values[name] = _PARSERS[name](name, raw)
        values["activation"] = _per_layer(values["activation"], values["hidden"], query)
        return cls(**values)


def _number(name: str, raw, low: float, high: float) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise fail(name, f"a number from {low:g} to {high:g}", raw) from None
    if isinstance(raw, bool) or not math.isfinite(value) or not low <= value <= high:
        raise fail(name, f"a number from {low:g} to {high:g}", raw)
    return value


def _integer(name: str, raw, low: int, high: int) -> int:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise fail(name, f"a whole number from {low} to {high}", raw) from None
    if isinstance(raw, bool) or not value.is_integer() or not low <= value <= high:
        raise fail(name, f"a whole number from {low} to {high}", raw)
    return int(value)


def _choice(name: str, raw, choices) -> str:
    if raw not in choices:
        raise fail(name, f"one of {', '.join(choices)}", raw)
    return raw


def _features(name: str, raw) -> tuple[str, ...]:
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)) or not items or items == [""]:
        raise fail(name, f"one or more of {', '.join(FEATURES)}", raw)
    for item in items:
        _choice(name, item, FEATURES)
    return tuple(f for f in FEATURES if f in items)  # the canonical order, no repeats


def _hidden(name: str, raw) -> tuple[int, ...]:
    if isinstance(raw, str):
        items = [] if raw.strip() == "" else raw.split(",")
    elif isinstance(raw, (list, tuple)):
        items = list(raw)
    else:
        raise fail(name, "a list of layer widths", raw)
    if len(items) > MAX_LAYERS:
        raise fail(name, f"at most {MAX_LAYERS} hidden layers", f"{len(items)}", True)
    return tuple(_integer(f"{name} width", w, 1, MAX_WIDTH) for w in items)


def _activations(name: str, raw) -> tuple[str, ...]:
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)) or not items:
        raise fail(name, "an activation name, or one per hidden layer", raw)
    names = tuple(available_activations())
    return tuple(_choice(name, item, names) for item in items)


def _per_layer(activation: tuple[str, ...], hidden: tuple[int, ...], query: dict):
    """One shared name, or exactly one per hidden layer (collapsed when all are the same).

    Layers added or removed without new activations keep theirs: a new layer takes the
    activation of the last one, a removed layer takes its own away.
    """
    if len(activation) > 1 and len(activation) != len(hidden):
        if "activation" in query:
            expected = f"one name, or one per hidden layer ({len(hidden)})"
            raise fail("activation", expected, ",".join(activation))
        activation = (activation + activation[-1:] * len(hidden))[: max(len(hidden), 1)]
    return activation[:1] if len(set(activation)) == 1 else activation


_PARSERS = {
    "dataset": lambda n, v: _choice(n, v, DATASETS),
    "noise": lambda n, v: _number(n, v, 0.0, 0.5),
    "points": lambda n, v: _integer(n, v, 20, MAX_POINTS),
    "train_ratio": lambda n, v: _number(n, v, 0.1, 0.9),
    "batch_size": lambda n, v: _integer(n, v, 1, MAX_POINTS),
    "features": _features,
    "hidden": _hidden,
    "lr": lambda n, v: _number(n, v, 1e-6, 10.0),
    "activation": _activations,
    "optimizer": lambda n, v: _choice(n, v, OPTIMIZERS),
    "l1": lambda n, v: _number(n, v, 0.0, 1.0),
    "l2": lambda n, v: _number(n, v, 0.0, 1.0),
    "dropout": lambda n, v: _number(n, v, 0.0, 0.9),
    "population": lambda n, v: _integer(n, v, 1, MAX_POPULATION),
    "seed": lambda n, v: _integer(n, v, 0, 2**31 - 1),
}
