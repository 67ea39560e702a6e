"""The playground's state: the data, the population training on it, and each frame the page
draws, all in the Python process, trained by nnscratch itself.

``Playground`` holds the last good ``Session`` (settings, data split, preprocessor, network,
optimizer, curves) behind a lock. Every change builds a new ``Session`` first and swaps it in
only when nothing failed, so a refused request leaves the page's state as it was.

A frame is the boundary on a ``GRID x GRID`` grid (``predict_proba`` of every member at
once), the members' disagreement there, the curves, and the shown member's neurons and
weights. Maps travel as base64 ``uint8`` arrays: 10 kB for a 100 x 100 map.
"""

from __future__ import annotations

import base64
import os
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnscratch.core.checks import fail
from nnscratch.core.layers import ActivationLayer, Dense
from nnscratch.core.network import MLP
from nnscratch.core.optim import get_optimizer
from nnscratch.data import synthetic
from nnscratch.data.preprocessing import Preprocessor
from nnscratch.data.split import split
from nnscratch.playground.settings import FEATURES, MAX_WEIGHTS, Settings

GRID = 100  # the boundary's grid, GRID x GRID cells
NEURON_GRID = 24  # each neuron's small map
THUMBNAIL = 4  # each member's boundary: every 4th cell of the grid, 25 x 25
MAX_UPLOAD = 2_000_000  # bytes of CSV


def make_multigauss(n_samples: int = 500, noise: float = 0.0, seed=42):
    """TensorFlow Playground's "multi-gauss" regression: points uniform in ``[-6, 6]^2``; the
    target is the strongest of six signed Gaussian bumps, ``+-exp(-|x - c|^2 / 2)``,
    computed after a uniform jitter of ``6 * noise``."""
    rng = synthetic.generator(seed)
    u = rng.uniform(-6.0, 6.0, size=(n_samples, 4))  # (N,4): x1, x2, jitter1, jitter2
    X = u[:, :2].copy()
    centres = np.array([[-4, 2.5], [0, 2.5], [4, 2.5], [-4, -2.5], [0, -2.5], [4, -2.5]])
    signs = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    d2 = (((X + u[:, 2:] * noise)[:, None, :] - centres) ** 2).sum(axis=2)  # (N,6)
    bumps = signs * np.exp(-d2 / 2.0)  # (N,6)
    y = bumps[np.arange(n_samples), np.abs(bumps).argmax(axis=1)]  # (N,)
    return X, y


_MAKERS = {
    "circle": synthetic.make_circles,
    "xor": synthetic.make_xor,
    "gauss": synthetic.make_gauss,
    "spiral": synthetic.make_spiral,
    "moons": synthetic.make_moons,
    "blobs": synthetic.make_blobs,
    "plane": synthetic.make_plane,
    "multigauss": make_multigauss,
}


@dataclass(frozen=True)
class Data:
    """Rows in the page's own coordinates: ``X (N, 2)``, ``y (N,)`` (class indices or values)."""

    X: np.ndarray
    y: np.ndarray
    task: str
    classes: tuple | None  # the label of each class, for a classifier


def generate(settings: Settings, custom: Data | None) -> Data:
    """The settings' data set: generated, or the uploaded / drawn rows for ``custom``."""
    if settings.dataset == "custom":
        if custom is None:
            raise fail("dataset", "a CSV upload or drawn points before 'custom'", "none yet", True)
        return custom
    noise = settings.noise
    if settings.dataset in ("spiral", "blobs", "moons", "circle"):
        noise = {"spiral": 2.0, "blobs": 8.0, "moons": 1.0, "circle": 0.5}[settings.dataset] * noise
    X, y = _MAKERS[settings.dataset](settings.points, noise, seed=settings.seed)
    if settings.task == "regression":
        return Data(X, y.astype(np.float64), "regression", None)
    classes = tuple(range(int(y.max()) + 1))
    return Data(X, y, "classification", classes)


def encode(values: np.ndarray) -> str:
    """Values in ``[0, 1]`` as base64 bytes ``0..255``, row-major."""
    q = np.clip(np.rint(np.asarray(values) * 255.0), 0, 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _extent(X: np.ndarray) -> list[float]:
    """A square-ish view of the rows with a margin: ``[x1_min, x1_max, x2_min, x2_max]``."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.08 * np.maximum(hi - lo, 1e-6)
    return [
        float(lo[0] - pad[0]),
        float(hi[0] + pad[0]),
        float(lo[1] - pad[1]),
        float(hi[1] + pad[1]),
    ]


def grid_points(extent, n: int) -> np.ndarray:
    """``(n*n, 2)`` cell centres, row 0 at the top (largest x2), as an image is drawn."""
    x1 = np.linspace(extent[0], extent[1], n)
    x2 = np.linspace(extent[3], extent[2], n)
    g1, g2 = np.meshgrid(x1, x2)  # (n,n) each
    return np.column_stack([g1.ravel(), g2.ravel()])


class Session:
    """One run: the settings, the split data, the preprocessor and the population training."""

    def __init__(self, settings: Settings, data: Data) -> None:
        s = settings
        self.settings, self.data = s, data
        K = len(data.classes) if data.task == "classification" else 1
        if data.task == "classification" and K < 2:
            raise fail("data", "labels of at least two classes", f"{K} class", True)
        weights = s.population * s.n_weights(K)
        if weights > MAX_WEIGHTS:
            most = max(1, MAX_WEIGHTS // s.n_weights(K))
            got = f"{s.population} (the network has {s.n_weights(K)} weights; at most {most})"
            raise fail("population", f"at most {MAX_WEIGHTS} weights in all", got, True)
        stratify = data.task == "classification" and np.bincount(data.y).min() >= 2
        parts = split(data.X, data.y, test=1.0 - s.train_ratio, seed=s.seed, stratify=stratify)
        self.X_train, self.X_test = parts.X_train, parts.X_test
        self.y_train, self.y_test = parts.y_train, parts.y_test
        self.pre = Preprocessor(standardize=True, crosses=True).fit(self.X_train)
        self.columns = [FEATURES.index(f) for f in s.features]
        self.Z_train, self.Z_test = self.inputs(self.X_train), self.inputs(self.X_test)
        self.extent = _extent(data.X)
        self.grid = self.inputs(grid_points(self.extent, GRID))  # (G,D)
        self.small_grid = self.inputs(grid_points(self.extent, NEURON_GRID))
        network = dict(
            activation=s.network_activation,
            seed=s.seed,
            population=s.population,
            loss="cross_entropy" if data.task == "classification" else "mse",
        )
        sizes = [len(s.features), *s.hidden, K]
        self.net = MLP(sizes, init=s.init, l1=s.l1, l2=s.l2, dropout=s.dropout, **network)
        # The boundary is drawn in float32 (its colours have 8 bits): a twin of the network
        # that takes a copy of the weights each frame predicts the grid in half the time.
        self.view = MLP(sizes, dtype=np.float32, **network)
        self.grid32 = self.grid.astype(np.float32)
        self.optimizer = get_optimizer(s.optimizer, lr=s.lr)
        self.epoch = 0
        self.curves: dict[str, list] = {
            k: [] for k in ("train_loss", "test_loss", "train_score", "test_score")
        }
        self._record()

    def predict_view(self) -> MLP:
        """The float32 twin, holding the network's current weights."""
        for key, target in self.view.population_state.items():
            target[...] = self.net.population_state[key]
        return self.view

    def inputs(self, X: np.ndarray) -> np.ndarray:
        """The network's inputs for rows ``X (N, 2)``: the chosen standardised features."""
        return self.pre.transform(X)[:, self.columns]

    def _evaluate(self) -> dict[str, np.ndarray]:
        """The members' loss and score ``(P,)`` on both sets (NaN where not finite)."""
        net, none = self.net, np.full(self.net.n_members, np.nan)
        with np.errstate(all="ignore"):
            values = {
                "train_loss": net.loss(self.Z_train, self.y_train),
                "test_loss": net.loss(self.Z_test, self.y_test) if len(self.y_test) else none,
                "train_score": net.score(self.Z_train, self.y_train),
                "test_score": net.score(self.Z_test, self.y_test) if len(self.y_test) else none,
            }
        return {k: np.where(np.isfinite(v), v, np.nan) for k, v in values.items()}

    def _record(self, values: dict[str, np.ndarray] | None = None) -> None:
        """Append the members' loss and score (mean, min, max, each) to the curves."""
        for key, v in (values or self._evaluate()).items():
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all NaN: a None in JSON
                spread = [np.nanmean(v), np.nanmin(v), np.nanmax(v)]
            self.curves[key].append([*map(_f, spread), [_f(x) for x in v]])

    def step(self, epochs: int) -> None:
        """Train ``epochs`` more epochs, each with its own seeded shuffle, and record each.

        An epoch after which no member's weights and loss are finite and representable is
        undone and refused (a rate too large for the data): the page pauses on that line,
        drawing the last good weights.
        """
        n = len(self.y_train)
        for _ in range(epochs):
            saved = {k: v.copy() for k, v in self.net.population_state.items()}
            with np.errstate(all="ignore"):  # overflow is checked below, once
                self.net.fit(
                    self.Z_train,
                    self.y_train,
                    epochs=1,
                    batch_size=min(self.settings.batch_size, n),
                    optimizer=self.optimizer,
                    seed=np.random.SeedSequence([self.settings.seed, self.epoch]),
                    on_nonfinite="stop",
                )
            values = self._evaluate() if self._representable() else None
            if values is None or np.isnan(values["train_loss"]).all():
                state = self.net.population_state
                for key, value in saved.items():
                    state[key][...] = value
                got = f"{self.settings.lr:g}: the weights overflowed in epoch {self.epoch + 1}"
                raise fail("lr", "a learning rate at which training stays finite", got, True)
            self.epoch += 1
            self._record(values)

    def _representable(self) -> bool:
        """Every weight finite, and small enough for the float32 view of the boundary."""
        top = np.finfo(np.float32).max / 16
        return all(np.all(np.abs(v) < top) for v in self.net.population_state.values())

    def add_point(self, x1: float, x2: float, label) -> Data:
        """Add a training row drawn on the plot; the data becomes ``custom``."""
        X = np.array([[x1, x2]])
        self.X_train = np.concatenate([self.X_train, X])
        self.y_train = np.concatenate([self.y_train, np.asarray([label], dtype=self.y_train.dtype)])
        self.Z_train = self.inputs(self.X_train)
        X_all = np.concatenate([self.X_train, self.X_test])
        y_all = np.concatenate([self.y_train, self.y_test])
        self.data = Data(X_all, y_all, self.data.task, self.data.classes)
        return self.data


def _f(x) -> float | None:
    """A float for JSON; ``None`` for NaN or infinity (JSON has neither)."""
    x = float(x)
    return round(x, 6) if np.isfinite(x) else None


class Playground:
    """The page's state, shared by the server's threads: one lock, one last good session."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.lock = threading.Lock()
        self.custom: Data | None = None
        settings = settings or Settings()
        self.session = Session(settings, generate(settings, None))

    @property
    def settings(self) -> Settings:
        return self.session.settings

    def configure(self, query: dict, defaults: bool = False) -> None:
        """New settings over the current ones (over the defaults with ``defaults=True``, as
        a link does): a fresh population (a reset), or a refusal."""
        with self.lock:
            settings = Settings.from_query(query, None if defaults else self.settings)
            self.session = Session(settings, generate(settings, self.custom))

    def reset(self) -> None:
        self.configure({})

    def step(self, epochs: int = 1) -> None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 100:
            raise fail("epochs", "a whole number from 1 to 100", epochs)
        with self.lock:
            self.session.step(epochs)

    def add_point(self, x1, x2, label) -> None:
        """A point drawn on the plot: ``label`` a class index or, for regression, a value."""
        with self.lock:
            s = self.session
            x1 = _coordinate("x1", x1)
            x2 = _coordinate("x2", x2)
            if s.data.task == "classification":
                K = len(s.data.classes)
                if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < K:
                    raise fail("label", f"a class index from 0 to {K - 1}", label)
            else:
                label = _coordinate("label", label)
            self.custom = s.add_point(x1, x2, label)
            s.settings = Settings.from_query({"dataset": "custom"}, s.settings)

    def upload(self, text: str, name: str = "upload.csv") -> None:
        """Rows from a CSV (two feature columns, the label last) via ``nnscratch.data.read``."""
        from nnscratch.data.readers import read

        if len(text) > MAX_UPLOAD:
            raise fail("csv", f"at most {MAX_UPLOAD} bytes", f"{len(text)} bytes", True)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(name).name
            path.write_text(text, encoding="utf-8")
            try:
                table = read(path)
            except ValueError as error:  # the message names the file: its name, not our folder
                raise ValueError(str(error).replace(str(path), path.name)) from None
        if table.X.shape[1] != 2:
            raise fail(
                "csv", "two feature columns and a label", f"{table.X.shape[1]} features", True
            )
        data = Data(table.X, table.y, table.task, table.classes)
        with self.lock:
            settings = Settings.from_query({"dataset": "custom"}, self.settings)
            self.session = Session(settings, data)  # raises before anything changes
            self.custom = data

    def frame(self, member: int | None = None) -> dict:
        with self.lock:
            return frame(self.session, member)

    def export(self, member: int | None = None) -> bytes:
        """The model as an ``nnscratch.io.model.save`` file, the bytes to download."""
        from nnscratch.io.model import save
        from nnscratch.playground.snippet import training_record

        with self.lock:
            s = self.session
            members = None if member is None else [_member(member, s.net.n_members)]
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "playground.npz")
                save(s.net, path, members, classes=s.data.classes, training=training_record(s))
                return Path(path).read_bytes()


def _coordinate(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise fail(name, "a finite number", value)
    return float(value)


def _member(member, n: int) -> int:
    if isinstance(member, bool) or not isinstance(member, int) or not 0 <= member < n:
        raise fail("member", f"a member index from 0 to {n - 1}", member)
    return member


def frame(s: Session, member: int | None) -> dict:
    """What the page draws after an epoch, as JSON."""
    from nnscratch.playground.snippet import equations, python_snippet

    net, data = s.net, s.data
    if member is not None:
        member = _member(member, net.n_members)
    boundary = _boundary(s, member)
    shown = 0 if member is None else member
    return {
        "epoch": s.epoch,
        "task": data.task,
        "classes": None if data.classes is None else [str(c) for c in data.classes],
        "settings": s.settings.as_query(),
        "member": member,
        "population": net.n_members,
        "extent": s.extent,
        "grid": GRID,
        **boundary,
        "train": _points(s.X_train, s.y_train),
        "test": _points(s.X_test, s.y_test),
        "curves": s.curves,
        "network": _network(s, shown),
        "equations": equations(s),
        "snippet": python_snippet(s),
    }


def _boundary(s: Session, member: int | None) -> dict:
    """The shown output on the grid and where the members disagree, both encoded."""
    net = s.net
    if s.data.task == "classification":
        proba = s.predict_view().predict_proba(s.grid32)  # (P,G,K)
        shown = proba.mean(axis=0) if member is None else proba[member]  # (G,K)
        K = proba.shape[2]
        votes = proba.argmax(axis=2)  # (P,G)
        counts = np.stack([(votes == k).sum(axis=0) for k in range(K)])  # (K,G)
        agree = counts.max(axis=0) / net.n_members  # (G,) in [1/K, 1]
        disagreement = (1.0 - agree) * K / (K - 1)  # 0 when all agree, 1 when evenly split
        return {
            "output": [encode(shown[:, k]) for k in range(K)],
            "disagreement": encode(disagreement),
            "value_range": [0.0, 1.0],
            "members": _thumbnails(proba[:, :, 1:] if K == 2 else proba),
        }
    pred = s.predict_view().predict(s.grid32)  # (P,G)
    pred = pred.reshape(net.n_members, -1)
    shown = pred.mean(axis=0) if member is None else pred[member]
    lo, hi = float(s.data.y.min()), float(s.data.y.max())
    half = max(abs(lo), abs(hi), 1e-9)  # symmetric around 0: the colour of 0 is white
    spread = pred.std(axis=0) / half
    return {
        "output": [encode((shown / half + 1.0) / 2.0)],
        "disagreement": encode(np.clip(spread, 0.0, 1.0)),
        "value_range": [-half, half],
        "members": _thumbnails(((pred / half + 1.0) / 2.0)[:, :, None]),
    }


def _thumbnails(maps: np.ndarray) -> list[list[str]]:
    """Each member's maps ``(P, G, M)`` on every ``THUMBNAIL``-th row and column of the grid."""
    P, _, M = maps.shape
    small = maps.reshape(P, GRID, GRID, M)[:, ::THUMBNAIL, ::THUMBNAIL]  # (P,n,n,M)
    return [[encode(small[p, :, :, m]) for m in range(M)] for p in range(P)]


def _points(X: np.ndarray, y: np.ndarray) -> list:
    """``[[x1, x2, label], ...]`` for JSON (a class label comes back as a float, ``1.0``)."""
    return np.column_stack([np.round(X, 4), y]).tolist()


def _network(s: Session, p: int) -> dict:
    """Member ``p``'s neurons as small maps (inputs, each hidden unit, the output) and its
    weights ``W (D, H)`` per layer, for the diagram."""
    net = s.net.member(p)
    x = s.small_grid  # (g,D)
    layers = [_maps(x)]
    for layer in net.layers:
        x = layer.forward(x)  # the single network keeps a population axis of one inside
        if isinstance(layer, ActivationLayer):
            layers.append(_maps(x[0]))
    layers.append(_maps(x[0]))  # the output units' logits (or values)
    weights = [np.round(d.params["W"][0], 4).tolist() for d in net.layers if isinstance(d, Dense)]
    return {"size": NEURON_GRID, "layers": layers, "weights": weights}


def _maps(h: np.ndarray) -> list[str]:
    """Each column of ``h (g, H)`` scaled by its largest magnitude into ``[0, 1]`` (0.5 is 0)."""
    scale = np.maximum(np.abs(h).max(axis=0), 1e-12)  # (H,)
    v = (h / scale + 1.0) / 2.0
    return [encode(v[:, j]) for j in range(h.shape[1])]
