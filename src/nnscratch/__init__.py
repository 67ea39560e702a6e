"""nnscratch: neural networks from scratch in NumPy, population-first.

Shape legend, used in comments throughout the package:

    P  population (independent networks trained at once; 1 for a single network)
    N  batch (rows)
    D  input features
    H  hidden units
    K  classes (outputs)

A single network shows plain shapes (``W1: (D, H)``); a population adds a leading ``P``
axis (``W1: (P, D, H)``).
"""

import importlib

__version__ = "0.1.0"

#: Every public name and the module that defines it. Each is imported on first use (PEP 562),
#: so ``import nnscratch`` costs almost nothing: the command line starts at once, and a
#: Ctrl-C while it starts ends in one line instead of a traceback from deep in an import.
_WHERE = {
    "MLP": "nnscratch.core.network",
    "SGD": "nnscratch.core.optim",
    "AdaGrad": "nnscratch.core.optim",
    "Adam": "nnscratch.core.optim",
    "AdamW": "nnscratch.core.optim",
    "RMSprop": "nnscratch.core.optim",
    "Optimizer": "nnscratch.core.optim",
    "clip_grad_norm": "nnscratch.core.optim",
    "get_optimizer": "nnscratch.core.optim",
    "CosineAnnealingLR": "nnscratch.schedules",
    "ExponentialLR": "nnscratch.schedules",
    "ReduceLROnPlateau": "nnscratch.schedules",
    "StepLR": "nnscratch.schedules",
    "Activation": "nnscratch.core.activations",
    "get_activation": "nnscratch.core.activations",
    "register_activation": "nnscratch.core.activations",
    "Callback": "nnscratch.core.callback",
    "History": "nnscratch.core.callback",
    "NonFiniteError": "nnscratch.core.callback",
    "get_initializer": "nnscratch.core.init",
    "SoftmaxCrossEntropy": "nnscratch.core.losses",
    "SigmoidBinaryCrossEntropy": "nnscratch.core.losses",
    "MeanSquaredError": "nnscratch.core.losses",
    "MeanAbsoluteError": "nnscratch.core.losses",
    "get_loss": "nnscratch.core.losses",
    "CSVLogger": "nnscratch.callbacks",
    "EarlyStopping": "nnscratch.callbacks",
    "ModelCheckpoint": "nnscratch.callbacks",
    "ProgressBar": "nnscratch.callbacks",
    "TerminateOnNaN": "nnscratch.callbacks",
    "load_weights": "nnscratch.io.weights",
    "save_weights": "nnscratch.io.weights",
    "save": "nnscratch.io.model",
    "load": "nnscratch.io.model",
    "export_onnx": "nnscratch.io.onnx",
}

__all__ = ["data", *_WHERE]


def __getattr__(name: str):
    if name == "data":  # the subpackage, as nnscratch.data
        return importlib.import_module("nnscratch.data")
    if name not in _WHERE:
        raise AttributeError(f"module 'nnscratch' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value  # found once, then an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
