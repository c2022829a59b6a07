"""``random_bits(key, i)``, the counter-based draw of ``core.random`` as an element function: SplitMix64's mix
twice, lowered by every backend through ``ScalarOps.bits`` and evaluated by the reference in NumPy."""

from __future__ import annotations

import numpy as np

from .functions import NUMPY_IMPLEMENTATIONS, NamedFunction
from .ir import ScalarOps
from .lazy import sympy as sp
from .random import BITS

GAMMA = 0x9E3779B97F4A7C15
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


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


