"""Objectives: losses that read the model itself, not only its output.

A physics-informed residual needs ∂²u/∂x² of the model, a gradient penalty ∂D/∂x. ``@sn.objective`` marks a
function ``fn(model, x, y) -> loss``; ``sn.compile`` traces it whole with the batch ``x`` requiring grad, so
``sn.autograd.grad(u, x, create_graph=True)`` inside it becomes part of the one native training step: the
derivative graphs are derived, simplified together with the forward pass and differentiated once more for the
parameters' update.
"""

from __future__ import annotations

import functools
from collections.abc import Callable


class Objective:
    """A loss of ``(model, x, y)``, as ``sn.compile`` and ``CompiledStep.evaluate`` call it."""

    def __init__(self, fn: Callable):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __call__(self, model, x, y):
        return self.fn(model, x, y)

    def __repr__(self) -> str:
        return f"objective({getattr(self.fn, '__qualname__', self.fn)!r})"


def objective(fn: Callable) -> Objective:
    """Mark ``fn(model, x, y) -> loss`` as an objective for ``sn.compile`` (instead of a loss of the model's
    output): it may differentiate the model with respect to ``x``.

    >>> @sn.objective                                                            # doctest: +SKIP
    ... def residual(model, x, f):
    ...     (du,) = sn.autograd.grad(model(x).sum(), x, create_graph=True)
    ...     return ((du.sum(1, keepdim=True) - f) ** 2).mean()
    >>> step = sn.compile(model, residual, sn.optim.Adam(model.parameters()))    # doctest: +SKIP
    """
    if not callable(fn):
        raise TypeError(f"objective: expected a function (model, x, y) -> loss, got {type(fn).__name__}")
    return Objective(fn)
