"""Model files: a network rebuilt from one ``.npz`` of numeric arrays and a JSON header.

The header is stored as the ``__header__`` member, a ``uint8`` array of UTF-8 JSON, so the
file holds numeric arrays only and loads with ``allow_pickle=False``. It records the format
version, the nnscratch version, everything needed to rebuild the :class:`MLP` (sizes,
activation, loss, dtype, population, width masks, batch norm, dropout, l2, l1) and, per
array, its shape, dtype and SHA-256. :func:`load` checks every member against the header,
and the zip directory against the file's size (the checks of :mod:`nnscratch.io.weights`),
before it builds anything.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy

from nnscratch.core.checks import all_finite
from nnscratch.io.atomic import atomic_open, check_writable
from nnscratch.io.weights import (
    _UNREADABLE,
    _check_declared,
    _check_file,
    _read_checked,
    _reading,
)

FORMAT_VERSION = 1
HEADER = "__header__"
#: A JSON header larger than this is not one this module wrote.
_MAX_HEADER_BYTES = 1 << 20


def _sha256(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def _loss_name(loss) -> str:
    from nnscratch.core.losses import _NAMED

    for name, cls in _NAMED.items():
        if type(loss) is cls:
            return name
    raise ValueError(f"loss: expected a built-in loss that a file can name, got {loss!r}")


def _scalar_or_list(value):
    arr = np.asarray(value, dtype=float)
    return float(arr) if arr.ndim == 0 else arr.tolist()


def activation_names(net) -> str | list[str]:
    """The hidden activation's name, or one name per hidden layer where the layers differ."""
    if net.activation is not None:
        return net.activation.name
    return [a.name for a in net.activations]


def network_header(net) -> dict:
    """What rebuilds ``net`` (all but its arrays), as JSON-able values."""
    return {
        "sizes": list(net.sizes),
        "population": net.population,
        "activation": activation_names(net),
        "loss": _loss_name(net.loss_fn),
        "dtype": net.dtype.name,
        "batch_norm": net.batch_norm,
        "width": net.width.tolist(),
        "dropout": _scalar_or_list(net.dropout),
        "l2": _scalar_or_list(net.l2),
        "l1": _scalar_or_list(net.l1),
    }


def save(
    model,
    path,
    members=None,
    *,
    classes=None,
    history=None,
    training: dict | None = None,
    extra: dict | None = None,
) -> None:
    """Save a network, a population (``members``: the ones to keep, as ``select``) or an
    estimator (anything with ``_to_model_file``) to ``path``, atomically.

    What the header records beside the network, for ``nnscratch inspect`` and ``predict``:
    ``classes``, the label of each output unit of a classifier (JSON values: ints, floats,
    strings, booleans; ``predict`` answers with them); ``history``, the
    :class:`~nnscratch.core.callback.History` of the training, summarised as its epochs,
    whether it was interrupted and each key's last value per member; ``training``, the
    settings it was trained with (a JSON-able dict). Non-finite weights, and anything that
    cannot be written as JSON, are refused before anything is written.
    """
    import nnscratch

    path = check_writable(path)
    info = None
    if hasattr(model, "_to_model_file"):
        net, info = model._to_model_file()
    else:
        net = model
    from nnscratch.core.network import MLP

    if not isinstance(net, MLP):
        raise ValueError(
            f"model: expected a network, a population or an estimator, got {model!r:.80}"
        )
    if members is not None:
        net = net.select(members)
    described = {}
    if classes is not None:
        described["classes"] = _classes(classes, net)
    if history is not None:
        described["history"] = history_summary(history, members)
    if training is not None:
        if not isinstance(training, dict):
            raise ValueError(f"training: expected a dict of settings, got {training!r:.80}")
        described["training"] = training
    state = {k: np.asarray(v) for k, v in net.population_state.items()}
    for key, arr in state.items():
        if not all_finite(arr):
            raise ValueError(f"model: expected finite weights, got NaN or infinite in {key!r}")
    header = {
        "format_version": FORMAT_VERSION,
        "nnscratch_version": nnscratch.__version__,
        "kind": "estimator" if info is not None else "network",
        "network": network_header(net),
        "arrays": {
            k: {"shape": list(a.shape), "dtype": a.dtype.name, "sha256": _sha256(a)}
            for k, a in state.items()
        },
    }
    if info is not None:
        header["estimator"] = info
    header.update(described)
    if extra:
        header.update(extra)
    try:
        text = json.dumps(header, sort_keys=True, allow_nan=False).encode()
    except (TypeError, ValueError) as err:
        raise ValueError(f"model: expected a header that JSON can hold, got {err}") from None
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **{HEADER: np.frombuffer(text, dtype=np.uint8)}, **state)


def _classes(classes, net) -> list:
    """The output labels as JSON values, one per class the network predicts."""
    labels = np.asarray(classes).tolist()
    if not isinstance(labels, list) or any(isinstance(c, list) for c in labels):
        raise ValueError(f"classes: expected a 1-D sequence of labels, got {classes!r:.80}")
    K = 2 if net.sizes[-1] == 1 else net.sizes[-1]  # one sigmoid unit: two classes
    if not net.loss_fn.classifier or len(labels) != K or len(set(labels)) != K:
        what = f"{K} distinct labels" if net.loss_fn.classifier else "none (a regressor)"
        raise ValueError(f"classes: expected {what}, got {len(labels)}: {labels!r:.80}")
    return labels


def history_summary(history, members=None) -> dict:
    """What a model file keeps of a training's :class:`History`: its length, whether it was
    interrupted, and the last value of each key per member (``members``: as for ``save``)."""
    last = {}
    for key in history.keys():
        values = history[key][-1]  # (P,)
        if members is not None:
            values = values[np.asarray(members).reshape(-1)]
        last[key] = [v if np.isfinite(v) else None for v in values.tolist()]
    return {"epochs": history.epochs, "interrupted": bool(history.interrupted), "last": last}


def read_header(path) -> dict:
    """The checked JSON header of a model file (no other array is read)."""
    path = _check_file(path)
    n = _header_len(path)
    raw = _read_checked(path, {HEADER: np.zeros(n, dtype=np.uint8)}, only=True)[HEADER]
    try:
        header = json.loads(raw.tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise ValueError(
            f"{path}: expected a JSON header, got one that cannot be read ({err})"
        ) from None
    if not isinstance(header, dict) or "format_version" not in header:
        raise ValueError(f"{path}: expected a header with a format_version, got {header!r:.80}")
    version = header["format_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path}: expected an integer format version, got {version!r:.40}")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path}: expected format version at most {FORMAT_VERSION}, got {version} "
            "(written by a newer nnscratch)"
        )
    _check_metadata(path, header)
    return header


def _check_metadata(path, header: dict) -> None:
    """What the header says beside the network (``kind``, ``classes``, ``history``,
    ``training``, ``target``, ``preprocessing``), of the types :func:`save` writes: a file
    edited by hand is refused here, not by whatever reads the field later."""

    def refuse(field: str, expected: str) -> None:
        raise ValueError(f"{path}: expected {field} {expected}, got {header[field]!r:.80}")

    if header.get("kind", "network") not in ("network", "estimator"):
        refuse("kind", "'network' or 'estimator'")
    if "classes" in header:
        classes = header["classes"]
        scalars = isinstance(classes, list) and all(
            isinstance(c, (str, int, float)) and c is not None for c in classes
        )
        if not scalars or len({json.dumps(c) for c in classes}) != len(classes):
            refuse("classes", "a list of distinct labels (strings or numbers)")
    history = header.get("history")
    if "history" in header and not (
        isinstance(history, dict)
        and isinstance(history.get("epochs"), int)
        and isinstance(history.get("interrupted"), bool)
        and isinstance(history.get("last"), dict)
        and all(isinstance(v, list) for v in history["last"].values())
    ):
        refuse("history", "a summary {epochs, interrupted, last}")
    for field in ("training", "preprocessing", "estimator"):
        if header.get(field) is not None and not isinstance(header[field], dict):
            refuse(field, "an object")
    if header.get("target") is not None and not isinstance(header["target"], str):
        refuse("target", "a column name")


def _header_len(path: Path) -> int:
    """The header's length, from its ``.npy`` header alone (at most 1 MiB)."""
    label = f"{path}[{HEADER!r}]"
    try:
        archive = zipfile.ZipFile(path)
    except (*_UNREADABLE, ValueError) as err:
        raise ValueError(f"{path}: expected a model file (a .npz archive), got {err}") from None
    with archive:
        if f"{HEADER}.npy" not in archive.namelist():
            raise ValueError(f"{path}: expected a model file with a {HEADER} member, got none")
        with _reading(label), archive.open(f"{HEADER}.npy") as fh:
            version = npy.read_magic(fh)
            reader = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, _, dtype = reader(fh)
    if dtype != np.uint8 or len(shape) != 1 or not 0 < shape[0] <= _MAX_HEADER_BYTES:
        raise ValueError(f"{label}: expected a 1-D uint8 array, got shape {shape} dtype {dtype}")
    return shape[0]


def _build(path: Path, header: dict):
    from nnscratch.core.activations import available_activations
    from nnscratch.core.network import MLP

    spec = header.get("network")
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: expected a header with a 'network' entry, got none")
    act = spec.get("activation")
    names = act if isinstance(act, list) else [act]
    if not all(isinstance(a, str) and a in available_activations() for a in names):
        raise ValueError(
            f"{path}: expected an activation known to this process, got {act!r} (a custom "
            "activation must be registered with register_activation before loading)"
        )
    try:
        return MLP(
            spec["sizes"],
            activation=act,
            loss=spec["loss"],
            dtype=spec["dtype"],
            population=spec["population"],
            width=None if not spec["sizes"][1:-1] else np.asarray(spec["width"], dtype=np.intp),
            batch_norm=spec["batch_norm"],
            dropout=np.asarray(spec["dropout"]),
            l2=np.asarray(spec["l2"]),
            l1=np.asarray(spec["l1"]),
            seed=0,
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: expected a header that rebuilds a network, got {err}") from None


def _check_sizes(path: Path, header: dict) -> None:
    """The arrays the header declares, against the members the zip directory lists: a small
    file whose header claims a huge network is refused before that network is built."""
    declared = header.get("arrays")
    if not isinstance(declared, dict):
        raise ValueError(f"{path}: expected a header with an 'arrays' entry, got none")
    with zipfile.ZipFile(path) as archive:  # opened by read_header already: a zip archive
        members = {info.filename: info for info in archive.infolist()}
    for key, d in declared.items():
        info, label = members.get(f"{key}.npy"), f"{path}[{key!r}]"
        if info is None:
            continue  # named with the others once the network says which it needs
        try:
            shape = tuple(int(n) for n in d["shape"])
            like = np.broadcast_to(np.zeros((), dtype=np.dtype(d["dtype"])), shape)  # no memory
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{label}: expected a shape and a dtype, got {err}") from None
        _check_declared(label, info, like, path.stat().st_size)  # the zip's own claims
        if info.file_size < like.nbytes:
            raise ValueError(
                f"{label}: expected the {like.nbytes} bytes of shape {list(shape)} the header "
                f"declares, got a member of {info.file_size} bytes"
            )
    _check_network_fits(path, header.get("network"), declared)


def _check_network_fits(path: Path, spec, declared: dict) -> None:
    """The weights the network's sizes imply, against the values the declared arrays hold:
    a header whose sizes claim more than its arrays is refused before anything is built."""
    spec = spec if isinstance(spec, dict) else {}
    sizes, P = spec.get("sizes"), spec.get("population") or 1
    numbers = isinstance(sizes, list) and all(isinstance(n, int) and n >= 0 for n in sizes)
    if not numbers or not isinstance(P, int) or P < 1:
        return  # not a network at all: _build names what is wrong
    implied = P * sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))
    held = sum(int(np.prod(d["shape"], dtype=object)) for d in declared.values())
    if implied > held:
        raise ValueError(
            f"{path}: expected a network that the file's arrays hold ({held:,} values), got "
            f"sizes {sizes} x {P} member(s), {implied:,} weights and biases"
        )


def _read_arrays(path: Path, header: dict, state: dict) -> dict[str, np.ndarray]:
    declared = header.get("arrays", {})
    if set(declared) != set(state):
        raise ValueError(
            f"{path}: expected the header to list the arrays {', '.join(state)}, got "
            f"{', '.join(declared)}"
        )
    for key, target in state.items():
        d = declared[key]
        if list(d.get("shape", ())) != list(target.shape) or d.get("dtype") != target.dtype.name:
            raise ValueError(
                f"{path}[{key!r}]: expected shape {target.shape} dtype {target.dtype}, the header "
                f"declares {d.get('shape')} {d.get('dtype')}"
            )
    wanted = {**state, HEADER: np.zeros(_header_len(path), dtype=np.uint8)}
    arrays = _read_checked(path, wanted)
    for key in state:
        if _sha256(arrays[key]) != declared[key].get("sha256"):
            raise ValueError(
                f"{path}[{key!r}]: expected the SHA-256 the header declares, got another"
            )
    return arrays


def load(path):
    """The model :func:`save` wrote: a network, a population or an estimator.

    Every refusal is a ``ValueError`` naming the file and what is wrong, raised before the
    model is built: nothing in the file is unpickled or executed.
    """
    header = read_header(path)
    path = Path(path)
    _check_sizes(path, header)  # before anything the header describes is allocated
    net = _build(path, header)
    state = net.population_state
    arrays = _read_arrays(path, header, state)
    for key, target in state.items():
        target[...] = arrays[key]
    if header.get("kind") == "estimator":
        return _estimator(path, net, header.get("estimator"))
    return net


def _estimator(path: Path, net, info):
    import nnscratch.sklearn as sk

    name = info.get("estimator") if isinstance(info, dict) else None
    classes = {c: getattr(sk, c) for c in ("MLPClassifier", "MLPRegressor") if hasattr(sk, c)}
    if name not in classes:
        raise ValueError(f"{path}: expected an estimator among {', '.join(classes)}, got {name!r}")
    return classes[name]._from_model_file(net, info)


def activation_label(activation) -> str:
    """A header's activation in words: ``relu``, or ``tanh/relu`` for one per hidden layer."""
    return "/".join(map(str, activation)) if isinstance(activation, list) else str(activation)


def describe_header(header: dict) -> str:
    """A model file's header as a few readable lines (``nnscratch inspect``)."""
    net = header.get("network", {})
    sizes = net.get("sizes", [])
    P = net.get("population")
    n_params = sum(int(np.prod(a["shape"])) for a in header.get("arrays", {}).values())
    lines = [
        f"format       {header.get('format_version')} (written by nnscratch "
        f"{header.get('nnscratch_version')})",
        f"network      {'-'.join(map(str, sizes))}, {activation_label(net.get('activation'))}"
        f" hidden, {net.get('loss')} output, {net.get('dtype')}",
        "population   " + ("one network" if P is None else f"{P} members"),
        f"parameters   {n_params:,} in {len(header.get('arrays', {}))} arrays"
        + (" (all members)" if P is not None else ""),
    ]
    extras = ["batch norm" if net.get("batch_norm") else ""]
    for name in ("dropout", "l2", "l1"):
        value = net.get(name)
        if np.any(np.asarray(value, dtype=float) != 0):
            extras.append(f"{name} {value}")
    if any(extras):
        lines.append("options      " + ", ".join(e for e in extras if e))
    if "classes" in header:
        lines.append("classes      " + ", ".join(map(str, header["classes"])))
    if "estimator" in header:
        lines.append(f"estimator    {header['estimator'].get('estimator')}")
    training = header.get("training")
    if training:
        lines.append("training     " + _settings(training))
    history = header.get("history")
    if history:
        last = ", ".join(
            f"{key} {_values(values)}" for key, values in history.get("last", {}).items()
        )
        stopped = " (interrupted)" if history.get("interrupted") else ""
        lines.append(f"history      {history.get('epochs')} epochs{stopped}; last: {last}")
    return "\n".join(lines)


#: The training settings ``inspect`` shows in its one line (``--json`` shows them all).
_SHOWN = ("data", "seed", "epochs", "optimizer", "lr", "batch_size")


def _settings(training: dict) -> str:
    flat = {**training.get("config", {}), **training}
    return ", ".join(f"{k.replace('_', ' ')} {flat[k]}" for k in _SHOWN if k in flat)


def _values(values: list) -> str:
    shown = ["n/a" if v is None else f"{v:.4g}" for v in values[:4]]
    return "/".join(shown) + (f"/... ({len(values)} members)" if len(values) > 4 else "")
