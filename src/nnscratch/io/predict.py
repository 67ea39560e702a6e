"""Predictions as a table: the columns ``nnscratch predict`` writes, one row per input row.

A classifier gives a ``prediction`` column (the label, as in the training data, when the
model file names its classes; the class index otherwise) and then ``proba_<label>`` per
class. A regressor gives ``prediction``, or ``prediction_0``, ``prediction_1``, ... for
several outputs. A population predicts through one member (``member=p``) or through the
mean of its members' probabilities or values (``mean=True``), never silently through one.
"""

from __future__ import annotations

import csv
from typing import TextIO

import numpy as np

Columns = dict[str, np.ndarray]


def prediction_columns(model, X, *, classes=None, member=None, mean: bool = False) -> Columns:
    """The named columns of ``model``'s predictions for the rows of ``X``, in order.

    ``model`` is an :class:`~nnscratch.core.network.MLP` (``classes``: the label of each
    output, from the model file) or an estimator of :mod:`nnscratch.sklearn`, which knows
    its own ``classes_``.
    """
    if hasattr(model, "_to_model_file"):  # an estimator: its own conventions
        return _estimator_columns(model, X)
    net = _one_network(model, member, mean)
    if net.loss_fn.classifier:
        proba = net.predict_proba(X)  # (N, K), population (P, N, K)
        if proba.ndim == 3:
            proba = proba.mean(axis=0)
        labels = list(range(proba.shape[1])) if classes is None else list(classes)
        if len(labels) != proba.shape[1]:
            raise ValueError(
                f"classes: expected {proba.shape[1]} labels, one per output, got {len(labels)}"
            )
        picked = np.asarray(labels, dtype=object)[proba.argmax(axis=1)]
        return {"prediction": picked, **{f"proba_{c}": proba[:, k] for k, c in enumerate(labels)}}
    values = net.decision_function(X)  # (N, K), population (P, N, K)
    if values.ndim == 3:
        values = values.mean(axis=0)
    return _value_columns(values)


def _one_network(net, member, mean: bool):
    """``net`` itself, one of its members, or the whole population averaged (``mean``)."""
    if net.population is None:
        if member not in (None, 0):
            raise ValueError(
                f"member: expected none or 0 (the model is one network), got {member!r}"
            )
        return net
    if member is not None and mean:
        raise ValueError("member: expected either one member or the mean of all, got both")
    if member is not None:
        if not isinstance(member, (int, np.integer)) or not 0 <= member < net.n_members:
            raise ValueError(
                f"member: expected a member index 0..{net.n_members - 1}, got {member!r}"
            )
        return net.member(int(member))
    if not mean and net.n_members > 1:
        raise ValueError(
            f"member: expected a member (0..{net.n_members - 1}) or the mean of all, for a "
            f"population of {net.n_members}, got neither"
        )
    return net


def _estimator_columns(est, X) -> Columns:
    predicted = np.asarray(est.predict(X))
    if not hasattr(est, "predict_proba"):  # a regressor
        return _value_columns(predicted)
    proba = np.asarray(est.predict_proba(X))  # (N, K); multilabel (N, L)
    if predicted.ndim == 2:  # multilabel: one 0/1 column and one probability per label
        columns = {f"prediction_{c}": predicted[:, k] for k, c in enumerate(est.classes_)}
    else:
        columns = {"prediction": predicted}
    return {**columns, **{f"proba_{c}": proba[:, k] for k, c in enumerate(est.classes_)}}


def _value_columns(values: np.ndarray) -> Columns:
    values = values.reshape(values.shape[0], -1)  # (N, K)
    if values.shape[1] == 1:
        return {"prediction": values[:, 0]}
    return {f"prediction_{k}": values[:, k] for k in range(values.shape[1])}


def write_csv(columns: Columns, fh: TextIO) -> None:
    """The columns as CSV with a header row; floats in the shortest form that reads back
    as the same number (``repr``)."""
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(list(columns))
    cells = [[_cell(v) for v in col.tolist()] for col in columns.values()]
    writer.writerows(zip(*cells, strict=True))


def _cell(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)
