"""Einstein summation as one op row: ``out[o…] = Σ_s Π_t A_t[letters of t]`` in index notation.

Each letter is one index symbol; letters missing from the output are summed over; a letter repeated in one
operand reads its diagonal (``ii->`` is the trace); a dimension of size 1 broadcasts against the letter's
extent (PyTorch's rule for the dimensions ``...`` stands for). mm, bmm, mv, dot, inner, outer, tensordot, kron
and trace are all this row, so their adjoints are contractions again, derived by autodiff, and a two-operand
contraction compiles to the register-tiled micro-kernel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..errors import ShapeError
from .ir import Tensor, access, fmt_shape, fresh_indices, same_dim
from .lazy import sympy as sp
from .ops import Lowered


class Einsum(NamedTuple):
    """``inputs`` holds each operand's letters (one per dimension), ``output`` the result's letters."""

    inputs: tuple[str, ...]
    output: str

    label = "einsum"

    def extents(self, shapes: Sequence[tuple]) -> dict[str, object]:
        """The extent of each letter, checked across operands (1 broadcasts)."""
        found: dict[str, object] = {}
        for letters, shape in zip(self.inputs, shapes, strict=True):
            for letter, d in zip(letters, shape, strict=True):
                seen = found.get(letter)
                if seen is None or seen == 1:
                    found[letter] = d
                elif d != 1 and not same_dim(seen, d):
                    shown = ", ".join(f"{s}{fmt_shape(t)}" for s, t in zip(self.inputs, shapes, strict=True))
                    raise ShapeError(f"einsum: subscript {letter} has size {d} for one operand and {seen} for "
                                     f"another ({shown})")
        return found

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        extents = self.extents(shapes)
        return tuple(extents[letter] for letter in self.output)

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        extents = self.extents([t.shape for t in ins])
        summed = [letter for letter in dict.fromkeys("".join(self.inputs)) if letter not in self.output]
        out = fresh_indices([extents[letter] for letter in self.output])
        red = fresh_indices([extents[letter] for letter in summed], avoid=out)
        symbol = dict(zip([*self.output, *summed], [*out, *red], strict=True))
        body = sp.Integer(1)
        for letters, t in zip(self.inputs, ins, strict=True):
            body *= access(t.name, [sp.Integer(0) if d == 1 and extents[letter] != 1 else symbol[letter]
                                    for letter, d in zip(letters, t.shape, strict=True)])
        domain = tuple((symbol[letter], extents[letter]) for letter in [*self.output, *summed])
        return Lowered(self.shape([t.shape for t in ins]), domain, out, body, "sum" if summed else "assign")
