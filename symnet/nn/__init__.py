"""Neural-network building blocks, named as in ``torch.nn``; ``functional`` mirrors ``torch.nn.functional``."""

from . import functional, init
from .layers import (
    GELU,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss
from .module import Module, Parameter

__all__ = [
    "functional", "init", "Module", "Parameter", "Linear", "Sequential", "GELU", "Flatten", "Identity", "Sigmoid",
    "Tanh", "ReLU", "LeakyReLU", "Softplus", "Softmax", "LogSoftmax", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
    "BCELoss", "BCEWithLogitsLoss", "NLLLoss", "CrossEntropyLoss",
]
