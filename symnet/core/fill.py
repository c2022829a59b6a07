"""Constants shaped by another tensor: ``out[i] = value`` over a shape read from the first input, whose values
are never read (so the constant has no gradient).

    Fill(v, template)(x)[i₀, …, iₙ] = v,   shape = templated(template, x.shape)

A template is None (the input's whole shape: ``zeros_like``) or a tuple of extents where ``None`` stands for
the input's leading dimension: ``zeros(layers, x.size(0), hidden)`` in a compiled step is
``Fill(0, (layers, None, hidden))(X)``, so its dimension is the batch's (symbolic ``BATCH`` in the program)
rather than the traced batch's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from .ir import Dim, Tensor
from .ops import Lowered, constant, elementwise


def templated(template: tuple | None, shape: Sequence[Dim]) -> tuple:
    """``template`` with each None the leading dimension of ``shape`` (the whole ``shape`` if it is None)."""
    if template is None:
        return tuple(shape)
    return tuple(shape[0] if d is None else d for d in template)


class Fill(NamedTuple):
    """``value`` at every position of the shape ``templated(template, first input's shape)``."""

    value: float | int | bool
    template: tuple | None = None

    label = "fill"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return templated(self.template, shapes[0])

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        return elementwise(self.shape([ins[0].shape]), lambda syms: constant(self.value))
