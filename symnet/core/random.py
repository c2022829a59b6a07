"""Counter-based random numbers: a draw is a pure function of (key, position), so native code, the NumPy
reference and every step of a compiled loop agree bit for bit, and no generator state lives in a kernel.

    random_bits(key, i) = mix(mix((key + 1)·γ) + (i + 1)·γ) >> 11            (53 uniform bits)

``mix`` is SplitMix64's finalizer and γ the golden-ratio increment (Steele, Lea and Flood, "Fast splittable
pseudorandom number generators", OOPSLA 2014): within one key the draws are SplitMix64's own sequence, and
a key is a stream. A training step draws with the key plus its step count, so each step sees a new stream;
two keys drawn at random from 2⁵² collide within a run of n steps with probability about n/2⁵².
The draws are not PyTorch's (its CPU generator is a Mersenne Twister): masks differ, their law does not.

The element function ``random_bits`` lives in ``core.random_bits``. ``BernoulliMask`` is the op row: a bool mask [u
≥ p] over a tensor's shape (or with some dimensions shared, as ``Dropout2d`` drops whole channels), with u =
random_bits/2⁵³ compared exactly, in integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from . import lazy
from .fill import templated
from .ir import Tensor, access, fresh_indices
from .lazy import sympy as sp
from .ops import Lowered

#: the draws have 53 bits: u = bits / 2⁵³ is uniform on [0, 1) with every value exact in float64
BITS = 53

# the element functions (SymPy's): imported when a mask is first defined
bits = lazy.module("symnet.core.random_bits")
F = lazy.module("symnet.core.functions")


def keep_threshold(p: float) -> int:
    """The integer t with P(bits ≥ t) = 1 − p to within 2⁻⁵³: p = 0 keeps everything, p = 1 nothing."""
    return round(p * 2**BITS)


class BernoulliMask(NamedTuple):
    """``mask[i] = [random_bits(key, position(i)) ≥ t]`` with P = 1 − p, over the first input's shape; the
    ``shared`` dimensions have extent 1 (one draw for the whole channel). The second input is the 0-d key.
    The first input gives the shape only (its values are never read, so the mask has no gradient)."""

    p: float
    shared: tuple[int, ...] = ()

    label = "bernoulli"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return tuple(1 if k in self.shared else d for k, d in enumerate(shapes[0]))

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        x, key = ins
        shape = self.shape([x.shape, key.shape])
        syms = fresh_indices(shape)
        flat = sp.Integer(0)
        for s, d in zip(syms, shape, strict=True):
            flat = flat * d + s
        body = F.ge(bits.random_bits(access(key.name, ()), flat), sp.Integer(keep_threshold(self.p)))
        return Lowered(shape, tuple(zip(syms, shape, strict=True)), syms, body)


class Draw(NamedTuple):
    """Fresh noise over the first input's shape (or ``fill.templated(template, …)`` of it: ``randn(x.size(0), 3)``
    in a compiled step), drawn per step from the 0-d key (the second input), as
    ``rand_like`` (``law="uniform"``: u = random_bits(key, i)/2⁵³ on [0, 1)) or ``randn_like`` (``law="normal"``:
    Box–Muller, √(−2·log(1 − u₁))·cos(2π·u₂) from the draws at 2i and 2i + 1; 1 − u₁ > 0 in the result's
    precision too, so always finite).
    The first input's values are never read: the noise has no gradient."""

    law: str
    template: tuple | None = None
    #: the result's dtype name: a uniform draw is kept at or below the largest value under 1 it holds (53 bits
    #: rounded to float32 can be 1.0, and then log(1 − u₁) is −∞), as PyTorch's [0, 1)
    precision: str = "float64"

    @property
    def label(self) -> str:
        return "rand" if self.law == "uniform" else "randn"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return templated(self.template, shapes[0])

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        x, key = ins
        shape = self.shape([x.shape])
        syms = fresh_indices(shape)
        flat = sp.Integer(0)
        for s, d in zip(syms, shape, strict=True):
            flat = flat * d + s
        k = access(key.name, ())
        below_one = 1 - sp.Rational(1, 2 ** (24 if self.precision == "float32" else BITS))

        def uniform(i: sp.Expr) -> sp.Expr:
            return sp.Min(bits.random_bits(k, i) * sp.Rational(1, 2**BITS), below_one)

        if self.law == "uniform":
            body = uniform(flat)
        else:
            body = sp.sqrt(-2 * sp.log(1 - uniform(2 * flat))) * sp.cos(2 * sp.pi * uniform(2 * flat + 1))
        return Lowered(shape, tuple(zip(syms, shape, strict=True)), syms, body)
