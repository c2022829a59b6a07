"""Optimizers and learning-rate schedules, named and defaulted as in ``torch.optim``."""

from . import lr_scheduler
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rules import ASGD, SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop, Rprop

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adadelta", "Adamax", "NAdam", "RAdam", "Rprop",
           "ASGD", "LBFGS", "lr_scheduler"]
