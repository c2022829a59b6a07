"""Optimizers and learning-rate schedules, named and defaulted as in ``torch.optim``."""

from . import lr_scheduler
from .optimizer import Optimizer
from .rules import SGD, Adagrad, Adam, AdamW, RMSprop

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "lr_scheduler"]
