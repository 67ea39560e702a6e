"""The decision boundary as it forms: one GIF frame per recorded epoch.

:func:`record_snapshots` trains a network and keeps a copy of it after chosen epochs;
:func:`animate_decision_boundary` draws each copy's decision boundary as one frame of an
animated GIF (matplotlib's ``PillowWriter``), written atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.animation import PillowWriter
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

from nnscratch.core.callback import Callback
from nnscratch.core.checks import check_int, check_positive, fail
from nnscratch.plots._common import atomic_write, check_xy, new_figure, probability_cmap
from nnscratch.plots.boundary import _proba, check_network, draw_boundary, probability_grid

MAX_FRAMES = 30


def _copy(net):
    """An independent copy of ``net``: a single network stays single, a population stays whole."""
    if getattr(net, "population", None) is None:
        return net.member(0)
    return net.select(np.arange(net.n_members))


def _with_params(template, params: Mapping[str, np.ndarray]):
    """A copy of ``template`` holding ``params`` (same keys and shapes as ``template.params``)."""
    net = _copy(template)
    target = net.params  # views into the copy's layers
    if set(params) != set(target):
        raise fail("snapshots", f"parameter dicts with keys {sorted(target)}", sorted(params))
    for key, view in target.items():
        value = np.asarray(params[key])
        if value.shape != view.shape:
            raise fail("snapshots", f"{key} of shape {view.shape}", value)
        view[...] = value
    return net


class _Snapshot(Callback):
    """Keeps a copy of the network after every ``every``-th epoch and after the last, and
    after each of ``early_steps`` SGD steps of the first epoch (labelled by the fraction of
    the epoch done, ``step / steps_per_epoch``)."""

    def __init__(self, every: int, out: list, early_steps=(), steps_per_epoch: int = 1) -> None:
        self.every, self.out = every, out
        self.early = set(early_steps)
        self.steps_per_epoch = steps_per_epoch

    def on_batch_end(self, run, batch, logs) -> None:
        if run.epoch == 0 and batch + 1 in self.early:
            self.out.append(((batch + 1) / self.steps_per_epoch, _copy(run.net)))

    def on_epoch_end(self, run, epoch, logs) -> None:
        done = epoch + 1
        if done % self.every == 0 or done == run.epochs:
            self.out.append((done, _copy(run.net)))


def record_snapshots(
    net, X, y, epochs: int, every: int = 1, *, early_steps=(), **fit_kwargs
) -> list:
    """Train ``net`` in place for ``epochs`` epochs and return ``[(epoch, net_copy), ...]``.

    The list starts with the untrained network (epoch 0), then a copy after every
    ``every``-th epoch and after the last one. ``early_steps`` (SGD steps, counted from 1)
    adds copies within the first epoch, where a boundary forms fastest: step ``s`` is
    labelled epoch ``s / steps_per_epoch`` (a fraction), ``steps_per_epoch`` being
    ``ceil(len(X) / batch_size)``; steps past the first epoch are refused. Training is one
    ``net.fit`` call with a snapshot callback, so it follows exactly the path a plain
    ``fit`` would (a batch-level callback runs the NumPy loop, with the same result).
    """
    check_network(net)
    if not callable(getattr(net, "fit", None)):
        raise fail("net", "a network with fit (an nnscratch MLP)", net)
    epochs = check_int("epochs", epochs)
    every = check_int("every", every)
    steps_per_epoch = -(-len(X) // fit_kwargs.get("batch_size", len(X)) or 1)
    if isinstance(early_steps, (str, bytes)) or not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and 1 <= s < steps_per_epoch
        for s in early_steps
    ):
        raise fail(
            "early_steps", f"steps of the first epoch, 1 to {steps_per_epoch - 1}", early_steps
        )
    callbacks = list(fit_kwargs.pop("callbacks", ()))
    snapshots = [(0, _copy(net))]
    snap = _Snapshot(every, snapshots, [int(s) for s in early_steps], steps_per_epoch)
    net.fit(X, y, epochs=epochs, callbacks=[*callbacks, snap], **fit_kwargs)
    return snapshots


def _predict_mean(model, X: np.ndarray) -> np.ndarray:
    """The class of highest mean probability over the members, ``(N,)``."""
    return _proba(model, X).mean(axis=0).argmax(axis=-1)  # (P,N,K) -> (N,)


def _epoch_label(epoch) -> str:
    """``epoch 3`` after a whole epoch; ``epoch 0.027`` within the first one."""
    if float(epoch) == int(epoch):
        return f"epoch {int(epoch)}"
    return f"epoch {float(epoch):.3f}"


def _frames(snapshots, max_frames: int) -> list:
    """At most ``max_frames`` snapshots, evenly spread, always keeping the first and last."""
    if len(snapshots) <= max_frames:
        return list(snapshots)
    keep = np.unique(np.round(np.linspace(0, len(snapshots) - 1, max_frames)).astype(int))
    return [snapshots[i] for i in keep]


def animate_decision_boundary(
    X,
    y,
    snapshots: Sequence,
    path,
    fps: float = 4,
    resolution: int = 100,
    *,
    net=None,
    max_frames: int = MAX_FRAMES,
    figsize=(4.0, 3.6),
    dpi: int = 80,
    ticks: bool = True,
) -> str:
    """Write an animated GIF of the decision boundary over training; returns the path.

    ``snapshots`` is ``[(epoch, network), ...]`` as :func:`record_snapshots` returns, or
    ``[(epoch, params), ...]`` with parameter dicts shaped like ``net.params`` (then pass
    ``net`` as the template). A population is drawn as its members' mean probability.
    More than ``max_frames`` snapshots are thinned evenly, the first and last kept. Each
    frame is titled with its epoch (a fraction within the first epoch) and the accuracy on
    ``X, y``; ``ticks`` keeps the axes' ticks (the data's own coordinates).
    """
    X, y = check_xy(X, y)
    fps = check_positive("fps", fps)
    resolution = check_int("resolution", resolution, minimum=2)
    max_frames = check_int("max_frames", max_frames, minimum=2)
    if isinstance(snapshots, (str, bytes)) or not isinstance(snapshots, Sequence):
        raise fail("snapshots", "a list of (epoch, network or params) pairs", snapshots)
    if len(snapshots) == 0:
        raise fail("snapshots", "at least one (epoch, network or params) pair", snapshots)
    frames = []
    for item in _frames(snapshots, max_frames):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise fail("snapshots", "(epoch, network or params) pairs", item)
        epoch, model = item
        if isinstance(model, Mapping):
            if net is None:
                raise fail("net", "a template network when snapshots hold parameter dicts", net)
            model = _with_params(net, model)
        frames.append((epoch, check_network(model, "snapshots")))

    fig, ax = new_figure(figsize=figsize)
    colorbar_drawn = False

    def write(temp) -> None:
        nonlocal colorbar_drawn
        writer = PillowWriter(fps=float(fps))
        with writer.saving(fig, str(temp), dpi):
            for epoch, model in frames:
                xx, yy, proba = probability_grid(model, X, resolution)  # (P,R,R,K)
                ax.clear()
                members = proba.shape[0]
                who = f"mean of {members} members, " if members > 1 else ""
                mean = proba.mean(axis=0)  # (R,R,K)
                accuracy = float(np.mean(_predict_mean(model, X) == y))
                title = f"{who}{_epoch_label(epoch)}, accuracy {accuracy:.3f}"
                draw_boundary(ax, xx, yy, mean, X, y, title)
                if ticks:
                    ax.set_xlabel("$x_1$")
                    ax.set_ylabel("$x_2$")
                else:
                    ax.set_xticks([])
                    ax.set_yticks([])
                if not colorbar_drawn and proba.shape[-1] == 2:
                    # one fixed colour bar: the levels are the same 0..1 in every frame
                    mappable = ScalarMappable(Normalize(0.0, 1.0), probability_cmap())
                    fig.colorbar(mappable, ax=ax, label="P(class 1)", ticks=[0, 0.5, 1])
                    colorbar_drawn = True
                writer.grab_frame()

    return atomic_write(path, write, ("gif",))
