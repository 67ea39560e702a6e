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

from nnscratch import data
from nnscratch.callbacks import (
    CSVLogger,
    EarlyStopping,
    ModelCheckpoint,
    ProgressBar,
    TerminateOnNaN,
)
from nnscratch.core.activations import Activation, get_activation, register_activation
from nnscratch.core.callback import Callback, History, NonFiniteError
from nnscratch.core.init import get_initializer
from nnscratch.core.losses import (
    MeanAbsoluteError,
    MeanSquaredError,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
    get_loss,
)
from nnscratch.core.network import MLP
from nnscratch.core.optim import (
    SGD,
    AdaGrad,
    Adam,
    AdamW,
    Optimizer,
    RMSprop,
    clip_grad_norm,
    get_optimizer,
)
from nnscratch.io.weights import load_weights, save_weights
from nnscratch.schedules import CosineAnnealingLR, ExponentialLR, ReduceLROnPlateau, StepLR

__version__ = "0.1.0"

__all__ = [
    "data",
    "MLP",
    "SGD",
    "AdaGrad",
    "Adam",
    "AdamW",
    "RMSprop",
    "clip_grad_norm",
    "get_optimizer",
    "CosineAnnealingLR",
    "ExponentialLR",
    "ReduceLROnPlateau",
    "StepLR",
    "Activation",
    "Callback",
    "History",
    "Optimizer",
    "SoftmaxCrossEntropy",
    "SigmoidBinaryCrossEntropy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "NonFiniteError",
    "CSVLogger",
    "EarlyStopping",
    "ModelCheckpoint",
    "ProgressBar",
    "TerminateOnNaN",
    "load_weights",
    "save_weights",
    "get_activation",
    "get_initializer",
    "get_loss",
    "register_activation",
]
