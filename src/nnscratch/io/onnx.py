"""ONNX export: a network, one member of a population, or an estimator as an ONNX graph.

:func:`export_onnx` writes the network's prediction (evaluation mode) as a graph of
standard ONNX operators, opset :data:`OPSET`, that any ONNX runtime can serve:

- input ``"X"`` ``(N, D)``, of the network's dtype (float32 or float64), ``N`` dynamic;
- output ``"logits"`` ``(N, K)``, what ``decision_function`` gives, and then
  ``"probabilities"`` for a classifier (``predict_proba``: a softmax, or ``[1 - s, s]`` for
  one sigmoid unit) or ``"predictions"`` for a regressor (``predict``: ``(N,)`` for one
  output, ``(N, K)`` for several).

Each ``Dense`` is a ``MatMul`` and an ``Add``; batch norm is its evaluation formula with the
running averages, ``(x - mean) * (1 / sqrt(var + eps)) * gamma + beta``; dropout is nothing
(it acts only in training); a width mask multiplies the activation's output by the mask,
as :class:`~nnscratch.core.layers.ActivationLayer` does, so masked units output zero.

The activations are written out of elementary operators with constants of the network's
dtype, not as ``LeakyRelu``/``Elu``/``Softplus``/``Gelu``: those take their parameters as
float32 attributes (a float64 network's leaky slope would be rounded), several have no
float64 kernel in onnxruntime, and ``Gelu`` needs opset 20. Where nnscratch computes
``expm1`` or ``log1p``, the graph has ``Exp(x) - 1`` and ``Log(1 + x)`` (ONNX has neither),
equal to within a rounding of 1.

An activation or layer that ONNX cannot express (a user's ``register_activation``, a layer
class nnscratch does not define) is refused with a ``ValueError`` naming it, before anything
is written. Needs the ``onnx`` package: ``pip install 'nnscratch[onnx]'``.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import numpy as np

try:
    import onnx
    from onnx import helper, numpy_helper
except ImportError as err:  # the CLI turns this into one line saying what to install
    raise ImportError(
        f"nnscratch.io.onnx needs the onnx package ({err}): pip install 'nnscratch[onnx]'"
    ) from err

from nnscratch.core import functional as F
from nnscratch.core.checks import all_finite, fail
from nnscratch.core.layers import ActivationLayer, BatchNorm, Dense, Dropout
from nnscratch.core.losses import (
    MeanAbsoluteError,
    MeanSquaredError,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
)
from nnscratch.core.network import MLP
from nnscratch.io.atomic import check_writable, write_bytes
from nnscratch.io.model import activation_label, activation_names

#: The operator set the graph uses: every operator it needs, and served by runtimes since
#: 2022 (onnxruntime 1.12 and later).
OPSET = 17
#: The IR version that goes with opset 17 (older runtimes refuse a newer one).
IR_VERSION = 8
#: A protobuf message cannot be larger than 2 GiB; leave room for the graph around the weights.
_MAX_WEIGHT_BYTES = 2**31 - 2**24

#: What each loss's output layer is, for the graph: its ONNX output and what it computes.
_OUTPUTS = {
    SoftmaxCrossEntropy: "softmax",
    SigmoidBinaryCrossEntropy: "binary",
    MeanSquaredError: "identity",
    MeanAbsoluteError: "identity",
}
#: scikit-learn's ``out_activation_`` (an estimator's file info) to the same kinds.
_OUT_ACTIVATIONS = {"softmax": "softmax", "logistic": "logistic", "identity": "identity"}


class _Graph:
    """The nodes and constants of one graph, each output named after its operator."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, stem: str, value) -> str:
        """A constant of the network's dtype (a scalar or an array)."""
        name = self._name(stem)
        arr = np.asarray(value, dtype=self.dtype)
        self.initializers.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type: str, *inputs: str, output: str | None = None, **attrs) -> str:
        out = output or self._name(op_type)
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out


# --- activations -------------------------------------------------------------------------
# Each builds h = f(a) out of operators, with the constants in the network's dtype, as the
# function of nnscratch.core.functional it names computes it.


def _leaky_relu(g: _Graph, a: str, slope: float = F.LEAKY_RELU_SLOPE) -> str:
    """``where(a > 0, a, slope * a)``."""
    positive = g.op("Greater", a, g.const("zero", 0.0))
    return g.op("Where", positive, a, g.op("Mul", g.const("slope", slope), a))


def _elu(g: _Graph, a: str, alpha: float = 1.0) -> str:
    """``where(a > 0, a, alpha (exp(min(a, 0)) - 1))``."""
    zero = g.const("zero", 0.0)
    expm1 = g.op("Sub", g.op("Exp", g.op("Min", a, zero)), g.const("one", 1.0))
    negative = g.op("Mul", g.const("alpha", alpha), expm1)
    return g.op("Where", g.op("Greater", a, zero), a, negative)


def _softplus(g: _Graph, a: str) -> str:
    """``max(a, 0) + log(1 + exp(-|a|))``, stable for large ``|a|``."""
    e = g.op("Exp", g.op("Neg", g.op("Abs", a)))
    log1p = g.op("Log", g.op("Add", g.const("one", 1.0), e))
    return g.op("Add", g.op("Max", a, g.const("zero", 0.0)), log1p)


def _gelu(g: _Graph, a: str) -> str:
    """``0.5 a (1 + tanh(sqrt(2/pi) (a + 0.044715 a^3)))``, the tanh approximation."""
    cube = g.op("Mul", a, g.op("Mul", a, a))
    inner = g.op("Add", a, g.op("Mul", g.const("k", 0.044715), cube))
    t = g.op("Tanh", g.op("Mul", g.const("c", F._GELU_C), inner))
    half_a = g.op("Mul", g.const("half", 0.5), a)
    return g.op("Mul", half_a, g.op("Add", g.const("one", 1.0), t))


def _silu(g: _Graph, a: str) -> str:
    """``a sigmoid(a)``."""
    return g.op("Mul", a, g.op("Sigmoid", a))


#: nnscratch's activation functions, by the function object an ``Activation`` holds.
_ACTIVATIONS: dict[Callable, Callable[..., str]] = {
    F.identity: lambda g, a: g.op("Identity", a),
    F.relu: lambda g, a: g.op("Relu", a),
    F.leaky_relu: _leaky_relu,
    F.elu: _elu,
    F.tanh: lambda g, a: g.op("Tanh", a),
    F.sigmoid: lambda g, a: g.op("Sigmoid", a),
    F.softplus: _softplus,
    F.gelu: _gelu,
    F.silu: _silu,
}
#: The keyword each parametrised activation (``leaky_relu(slope)``, ``elu(alpha)``) takes.
_PARAMETERS = {F.leaky_relu: "slope", F.elu: "alpha"}


def _activation(activation) -> Callable[[_Graph, str], str]:
    """The graph builder for ``activation``, or a ``ValueError`` naming it.

    Known by the function it holds, not its name: ``leaky_relu(0.2)`` (a
    ``functools.partial`` of the built-in with its slope) exports, and so does a
    registered name for a built-in function; a function of the user's own does not.
    """
    f, kwargs = activation.f, {}
    if isinstance(f, functools.partial) and not f.args and f.func in _PARAMETERS:
        if set(f.keywords) <= {_PARAMETERS[f.func]}:
            f, kwargs = f.func, dict(f.keywords)
    build = _ACTIVATIONS.get(f) if callable(f) else None
    if build is None:
        raise fail(
            "activation",
            "an activation ONNX can express (nnscratch's built-in ones: "
            + ", ".join(sorted(fn.__name__ for fn in _ACTIVATIONS))
            + ", and leaky_relu(slope), elu(alpha))",
            f"{activation.name!r}, a function of its own",
            described=True,
        )
    return functools.partial(build, **kwargs)


# --- the model to export -----------------------------------------------------------------


def _output_kind(net: MLP, info: dict | None) -> str:
    """``"softmax"``, ``"binary"`` (one sigmoid unit, two probability columns),
    ``"logistic"`` (a sigmoid per output) or ``"identity"``; refused when unknown."""
    if info is not None and info.get("out_activation_") in _OUT_ACTIVATIONS:
        kind = _OUT_ACTIVATIONS[info["out_activation_"]]
        if kind == "logistic" and net.n_outputs == 1 and not info.get("multilabel", False):
            kind = "binary"  # scikit-learn's predict_proba: two columns [1 - s, s]
        return kind
    loss = net.loss_fn
    kind = _OUTPUTS.get(type(loss))
    sk = sys.modules.get("nnscratch.sklearn")  # its multilabel loss, if it has been used
    if kind is None and sk is not None and type(loss) is getattr(sk, "MultilabelLogLoss", None):
        kind = "logistic"
    if kind is None:
        raise fail(
            "model",
            "a network with a built-in loss (cross_entropy, binary_cross_entropy, mse, mae)",
            f"the loss {type(loss).__name__}",
            described=True,
        )
    return kind


def _resolve(model, member) -> tuple[MLP, str, bool]:
    """The network to export, its output kind, and whether its members are averaged
    (an estimator that keeps a population, ``ensemble="mean"``, with no ``member``)."""
    info = None
    if hasattr(model, "_to_model_file") and not isinstance(model, MLP):
        net, info = model._to_model_file()
    else:
        net = model
    if not isinstance(net, MLP):
        raise fail("model", "an MLP, a population or an estimator of nnscratch.sklearn", model)
    kind = _output_kind(net, info)
    P = net.n_members
    if member is None and (net.population is None or P == 1):
        member = 0  # one network: nothing to choose
    if member is None and info is not None:
        return net, kind, True  # the estimator's own prediction: the members' mean
    if isinstance(member, bool) or not isinstance(member, (int, np.integer)) or not 0 <= member < P:
        what = "member=0 or none (one network)" if P == 1 else f"a member index 0..{P - 1}"
        raise fail("member", f"{what} for a population of {P}", member)
    return (net if net.population is None else net.member(int(member))), kind, False


def _check_layers(net: MLP) -> None:
    """Every layer is one this module writes, every array finite and small enough."""
    for layer in net.layers:
        if type(layer) not in (Dense, BatchNorm, ActivationLayer, Dropout):
            raise fail(
                "model",
                "layers ONNX export knows (Dense, BatchNorm, ActivationLayer, Dropout)",
                f"a layer {type(layer).__name__}",
                described=True,
            )
        if isinstance(layer, ActivationLayer):
            _activation(layer.activation)
    state = net.population_state
    for key, arr in state.items():
        if not all_finite(arr):
            raise ValueError(f"model: expected finite weights, got NaN or infinite in {key!r}")
    size = sum(arr.nbytes for arr in state.values())
    if size > _MAX_WEIGHT_BYTES:
        raise fail(
            "model",
            f"weights of at most {_MAX_WEIGHT_BYTES:,} bytes (one ONNX protobuf holds 2 GiB)",
            f"{size:,} bytes",
            described=True,
        )


# --- the graph ---------------------------------------------------------------------------


def _per_member(arr: np.ndarray, stacked: bool) -> np.ndarray:
    """A ``(P, H)`` parameter as the graph broadcasts it: ``(P, 1, H)`` over each member's
    rows when members are stacked, ``(H,)`` for one network (``P == 1``)."""
    return arr[:, None, :] if stacked else arr[0]


def _layers(g: _Graph, net: MLP, x: str, stacked: bool) -> str:
    """The network's evaluation forward pass, layer by layer; returns the logits' name."""
    k = 0
    for layer in net.layers:
        if isinstance(layer, Dense):
            k += 1
            W, b = layer.params["W"], layer.params["b"]  # (P,D,H), (P,H)
            y = g.op("MatMul", x, g.const(f"W{k}", W if stacked else W[0]))  # (P,N,H)/(N,H)
            x = g.op("Add", y, g.const(f"b{k}", _per_member(b, stacked)))
        elif isinstance(layer, BatchNorm):
            rm, rv = layer.buffers["running_mean"], layer.buffers["running_var"]
            inv_std = 1.0 / np.sqrt(rv + layer.eps)  # (P,H), as BatchNorm.forward computes it
            xhat = g.op("Sub", x, g.const(f"running_mean{k}", _per_member(rm, stacked)))
            xhat = g.op("Mul", xhat, g.const(f"inv_std{k}", _per_member(inv_std, stacked)))
            y = g.op("Mul", g.const(f"gamma{k}", _per_member(layer.params["gamma"], stacked)), xhat)
            x = g.op("Add", y, g.const(f"beta{k}", _per_member(layer.params["beta"], stacked)))
        elif isinstance(layer, ActivationLayer):
            x = _activation(layer.activation)(g, x)
            if layer.mask is not None:  # (P,1,H) of 0/1: masked units output exactly zero
                mask = layer.mask if stacked else layer.mask[0, 0]
                x = g.op("Mul", x, g.const(f"mask{k}", mask))
        # Dropout: the identity outside training, so nothing in the graph
    return x


def _outputs(g: _Graph, net: MLP, z: str, kind: str, mean: bool) -> list:
    """The output nodes after the logits ``z``, and their value infos."""
    K, tp = net.n_outputs, helper.np_dtype_to_tensor_dtype(net.dtype)
    lead = ["P", "N"] if mean else ["N"]
    g.op("Identity", z, output="logits")
    infos = [helper.make_tensor_value_info("logits", tp, [*lead, K])]
    if kind == "softmax":
        out, name, width = g.op("Softmax", z, axis=-1), "probabilities", K
    elif kind == "binary":  # predict_proba: [1 - s, s]
        s = g.op("Sigmoid", z)
        out = g.op("Concat", g.op("Sub", g.const("one", 1.0), s), s, axis=-1)
        name, width = "probabilities", 2
    elif kind == "logistic":
        out, name, width = g.op("Sigmoid", z), "probabilities", K
    else:
        out, name, width = z, "predictions", K
    if mean:  # the estimator's prediction: the members' mean of their outputs
        out = g.op("ReduceMean", out, axes=[0], keepdims=0)
    shape = ["N", width]
    if name == "predictions" and K == 1:  # predict gives (N,) for one output
        out = g.op(
            "Squeeze",
            out,
            g.op("Constant", value=helper.make_tensor("axis", onnx.TensorProto.INT64, [1], [1])),
        )
        shape = ["N"]
    g.op("Identity", out, output=name)
    return [*infos, helper.make_tensor_value_info(name, tp, shape)]


def _preprocessing(g: _Graph, x: str, pre) -> str:
    """The rows ``x`` as :meth:`Preprocessor.transform` prepares them: Playground's
    crosses (``x1, x2, x1^2, x2^2, x1*x2, sin x1, sin x2``) where fitted, then ``(Z - mean)
    / scale``."""
    if pre.crosses:
        x1, x2 = g._name("x1"), g._name("x2")
        g.nodes.append(helper.make_node("Split", [x], [x1, x2], axis=1))  # (N,1) each
        terms = [x1, x2, g.op("Mul", x1, x1), g.op("Mul", x2, x2), g.op("Mul", x1, x2)]
        x = g.op("Concat", *terms, g.op("Sin", x1), g.op("Sin", x2), axis=1)  # (N,7)
    return g.op("Div", g.op("Sub", x, g.const("mean", pre.mean_)), g.const("scale", pre.scale_))


def build_model(model, member: int | None = None, preprocessing=None) -> onnx.ModelProto:
    """The checked ONNX model of ``model`` (see :func:`export_onnx`), not written anywhere."""
    import nnscratch

    net, kind, mean = _resolve(model, member)
    _check_layers(net)
    pre = _check_preprocessing(preprocessing, net)
    g = _Graph(net.dtype)
    tp = helper.np_dtype_to_tensor_dtype(net.dtype)
    n_inputs = net.n_features if pre is None else len(pre.feature_names_)
    inputs = [helper.make_tensor_value_info("X", tp, ["N", n_inputs])]
    x = "X" if pre is None else _preprocessing(g, "X", pre)
    outputs = _outputs(g, net, _layers(g, net, x, stacked=mean), kind, mean)
    graph = helper.make_graph(g.nodes, "nnscratch_mlp", inputs, outputs, g.initializers)
    hidden = activation_label(activation_names(net))  # as nnscratch inspect says it
    onnx_model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="nnscratch",
        producer_version=nnscratch.__version__,
        doc_string=f"{'-'.join(map(str, net.sizes))} MLP, {hidden} hidden, "
        f"{kind} output, {net.dtype.name}" + (f", mean of {net.n_members} members" if mean else ""),
    )
    onnx_model.ir_version = IR_VERSION
    if pre is not None:  # which raw column goes where, for whoever serves it
        helper.set_model_props(onnx_model, {"feature_names": ",".join(pre.feature_names_)})
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def _check_preprocessing(preprocessing, net: MLP):
    """A :class:`~nnscratch.data.preprocessing.Preprocessor` (or its header) that makes the
    network's inputs, or None."""
    from nnscratch.data.preprocessing import Preprocessor

    if preprocessing is None:
        return None
    pre = preprocessing
    if isinstance(pre, dict):
        pre = Preprocessor.from_header(pre)
    if not isinstance(pre, Preprocessor) or not hasattr(pre, "mean_"):
        raise fail("preprocessing", "a fitted Preprocessor or its header", preprocessing)
    if len(pre.output_names) != net.n_features:
        raise fail(
            "preprocessing",
            f"one that makes the network's {net.n_features} inputs",
            f"one making {len(pre.output_names)}",
            True,
        )
    return pre


def export_onnx(model, path, member: int | None = None, preprocessing=None) -> None:
    """Write ``model`` to ``path`` as an ONNX graph (opset :data:`OPSET`), atomically.

    ``model`` is an :class:`~nnscratch.core.network.MLP`; a population, of which
    ``member=p`` exports member ``p`` (required unless the population has one member); or
    an estimator (anything with ``_to_model_file``), whose prediction the graph computes: a
    population the estimator averages (``ensemble="mean"``) stays one, ``"logits"`` then
    ``(P, N, K)`` and the probabilities or predictions the members' mean, unless
    ``member`` picks one. The graph takes ``"X"`` ``(N, D)`` in the network's dtype and
    gives ``"logits"`` and ``"probabilities"`` (a classifier, as ``predict_proba``) or
    ``"predictions"`` (a regressor, as ``predict``).

    Refused with a ``ValueError``, before anything is written: a path that cannot be
    written, a member that is not one, an activation ONNX cannot express (a function of
    the user's own), a layer or loss that nnscratch does not define, non-finite weights,
    and weights over the 2 GiB an ONNX file can hold.

    ``preprocessing``: the :class:`~nnscratch.data.preprocessing.Preprocessor` (or the
    header a model file keeps of it) that prepared the network's inputs; the graph then
    applies it first, so ``"X"`` takes raw rows, their columns in the order of the
    model's ``feature_names`` property.
    """
    path = check_writable(path)
    write_bytes(path, build_model(model, member, preprocessing).SerializeToString())
