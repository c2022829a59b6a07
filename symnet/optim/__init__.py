"""Optimizers and learning-rate schedules, named and defaulted as in ``torch.optim``."""

from ..errors import no_attribute
from . import lr_scheduler
from .optimizer import Optimizer
from .rules import ASGD, SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop, Rprop

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Adadelta", "Adamax", "NAdam", "RAdam", "Rprop",
           "ASGD", "LBFGS", "lr_scheduler"]


def __getattr__(name: str):
    """``LBFGS``, imported on first use (its two-loop recursion is a table of SymPy rows)."""
    if name == "LBFGS":
        from .lbfgs import LBFGS

        return LBFGS
    raise no_attribute(__name__, name)
