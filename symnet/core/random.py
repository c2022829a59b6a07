"""Counter-based random numbers: a draw is a pure function of (key, position), so native code, the NumPy
reference and every step of a compiled loop agree bit for bit, and no generator state lives in a kernel.

    random_bits(key, i) = mix(mix((key + 1)·γ) + (i + 1)·γ) >> 11            (53 uniform bits)

``mix`` is SplitMix64's finalizer and γ the golden-ratio increment (Steele, Lea and Flood, "Fast splittable
pseudorandom number generators", OOPSLA 2014): within one key the draws are SplitMix64's own sequence, and
a key is a stream. A training step draws with the key plus its step count, so each step sees a new stream;
two keys drawn at random from 2⁵² collide within a run of n steps with probability about n/2⁵².
The draws are not PyTorch's (its CPU generator is a Mersenne Twister): masks differ, their law does not.

``BernoulliMask`` is the op row: a bool mask [u ≥ p] over a tensor's shape (or with some dimensions shared,
as ``Dropout2d`` drops whole channels), with u = random_bits/2⁵³ compared exactly, in integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import sympy as sp

from .functions import NUMPY_IMPLEMENTATIONS, NamedFunction, ge
from .ir import ScalarOps, Tensor, access, fresh_indices
from .ops import Lowered

GAMMA = 0x9E3779B97F4A7C15
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
#: the draws have 53 bits: u = bits / 2⁵³ is uniform on [0, 1) with every value exact in float64
BITS = 53


def _mix(ops: ScalarOps, z):
    z = ops.bits("*", ops.bits("^", z, ops.bits(">>", z, 30)), _M1)
    z = ops.bits("*", ops.bits("^", z, ops.bits(">>", z, 27)), _M2)
    return ops.bits("^", z, ops.bits(">>", z, 31))


def _mix_numpy(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


class random_bits(NamedFunction):
    """53 uniform random bits at position ``index`` of the stream ``key`` (an integer-valued float64 or an
    integer); no gradient."""

    nargs = 2
    value_kind = "integer"

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @staticmethod
    def numpy(key, index):
        key, index = np.asarray(key), np.asarray(index)
        key = (np.trunc(key) if key.dtype.kind == "f" else key).astype(np.int64).astype(np.uint64)
        index = index.astype(np.int64).astype(np.uint64)
        with np.errstate(over="ignore"):
            stream = _mix_numpy((key + np.uint64(1)) * np.uint64(GAMMA))
            bits = _mix_numpy(stream + (index + np.uint64(1)) * np.uint64(GAMMA)) >> np.uint64(64 - BITS)
        return bits.astype(np.int64)

    @classmethod
    def lower(cls, ops: ScalarOps, key: sp.Expr, index: sp.Expr):
        stream = _mix(ops, ops.bits("*", ops.bits("+", ops.word(key), 1), GAMMA))
        position = ops.bits("*", ops.bits("+", ops.word(index), 1), GAMMA)
        return ops.bits(">>", _mix(ops, ops.bits("+", stream, position)), 64 - BITS)


NUMPY_IMPLEMENTATIONS[random_bits.__name__] = random_bits.numpy  # the reference evaluator's name for it


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
        body = ge(random_bits(access(key.name, ()), flat), sp.Integer(keep_threshold(self.p)))
        return Lowered(shape, tuple(zip(syms, shape, strict=True)), syms, body)
