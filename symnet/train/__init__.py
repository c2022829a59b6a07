"""The training layer: a model, a loss and an optimizer as one compiled step; epochs and minibatches as the
native driver's repeat-and-gather."""

from .objective import Objective, objective
from .step import CompiledStep, compile

__all__ = ["CompiledStep", "Objective", "compile", "objective"]
