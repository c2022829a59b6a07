"""Op rows that run along one dimension: scans (cumsum, cumprod), stable ranks and the orders they define (sort);
and the two pieces of var, std and norms: a sum divided by n − correction, a root with PyTorch's zero subgradient.

    cumsum   Y[…i…] = Σ_k [k ≤ i]·X[…k…]                  (cumprod: Π_k, a factor 1 where k > i; max: −∞)
    expscan  Y[…i…] = Σ_k [k ≤ i]·exp(X[…k…] − S[…i…])      (logcumsumexp's sum, shifted by S at i)
    rank     R[…i…] = Σ_k [X[…k…] < X[…i…]] + [k < i]·[X[…k…] = X[…i…]]    (> when descending)
    order    P[…j…] = Σ_i [R[…i…] = j]·i                    (sorted values: X gathered at P)

The rank is stable (equal elements keep their order, as PyTorch's CPU sort does). Scans and ranks cost O(n²)
along the dimension: exact, derivable and compiled as plain loops, for the small tensors symnet is for. The
gradient of cumprod comes from the ``prod`` combine's adjoint, a product over the other factors: exact where
some are zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from . import lazy
from .ir import Tensor, access, dims_numel, fresh_indices
from .lazy import sympy as sp
from .ops import Lowered, Reduce, constant, elementwise

F = lazy.module("symnet.core.functions")  # SymPy's element functions: imported when first used

#: the value a scan's factor takes past the current position: the identity of its combine
_IDENTITY = {"sum": 0, "prod": 1}


def _identity(combine: str, dtype: np.dtype) -> sp.Expr:
    """The identity of ``combine`` over ``dtype``: max's is −∞, or the smallest integer (False for bools)."""
    if combine != "max":
        return constant(_IDENTITY[combine])
    return constant(float("-inf") if dtype.kind == "f" else int(np.iinfo(np.int64).min) if dtype.kind == "i" else 0)


def _along(src: Tensor, dim: int) -> tuple[tuple[sp.Symbol, ...], sp.Symbol, list[sp.Expr]]:
    """Index symbols of ``src``, a fresh symbol k for its dimension ``dim``, and the read index with k there."""
    syms = fresh_indices(src.shape)
    (k,) = fresh_indices([src.shape[dim]], avoid=syms)
    at_k = list(syms)
    at_k[dim] = k
    return syms, k, at_k


class Scan(NamedTuple):
    """``cumsum`` (combine sum) or ``cumprod`` (combine prod) along ``dim``: a reduction guarded by k ≤ i."""

    combine: str
    dim: int

    @property
    def label(self) -> str:
        return "cum" + self.combine

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return tuple(shapes[0])

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (src,) = ins
        syms, k, at_k = _along(src, self.dim)
        body = F.guarded(access(src.name, at_k), _identity(self.combine, src.dtype), F.le(k, syms[self.dim]))
        domain = (*zip(syms, src.shape, strict=True), (k, src.shape[self.dim]))
        return Lowered(tuple(src.shape), domain, syms, body, self.combine)


class ExpScan(NamedTuple):
    """Σ_{k ≤ i} exp(X[k] − S[i]) along ``dim``: logcumsumexp's sum with a shift S per output position (its
    running max), so no term overflows and a prefix far below the row's max does not underflow to 0."""

    dim: int

    label = "expscan"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return tuple(shapes[0])

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        src, shift = ins
        syms, k, at_k = _along(src, self.dim)
        term = sp.exp(access(src.name, at_k) - access(shift.name, syms))
        body = F.guarded(term, sp.Integer(0), F.le(k, syms[self.dim]))
        domain = (*zip(syms, src.shape, strict=True), (k, src.shape[self.dim]))
        return Lowered(tuple(src.shape), domain, syms, body, "sum")


class Rank(NamedTuple):
    """Each element's position in the stable sort along ``dim`` (int64). NaN sorts as the largest value and
    equals NaN, as in PyTorch's sort, so the ranks stay a permutation."""

    dim: int
    descending: bool

    label = "rank"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return tuple(shapes[0])

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (src,) = ins
        syms, k, at_k = _along(src, self.dim)
        other, here = access(src.name, at_k), access(src.name, syms)
        before = F.precedes(here, other) if self.descending else F.precedes(other, here)
        body = before + F.lt(k, syms[self.dim]) * F.equal_in_order(other, here)
        domain = (*zip(syms, src.shape, strict=True), (k, src.shape[self.dim]))
        return Lowered(tuple(src.shape), domain, syms, body, "sum")


class Order(NamedTuple):
    """The permutation a rank defines: which position of the input lands at each position j along ``dim``."""

    dim: int

    label = "order"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return tuple(shapes[0])

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (rank,) = ins
        syms, i, at_i = _along(rank, self.dim)
        body = F.eq(access(rank.name, at_i), syms[self.dim]) * i
        domain = (*zip(syms, rank.shape, strict=True), (i, rank.shape[self.dim]))
        return Lowered(tuple(rank.shape), domain, syms, body, "sum")


class CorrectedMean(NamedTuple):
    """Σ over ``dims`` divided by n − ``correction`` (var's divisor), n read off the input's shape when the
    definition is made, so a symbolic batch N gives ``1/(N − 1)`` and one derivation serves every batch size."""

    dims: tuple[int, ...]
    keepdim: bool
    correction: float

    label = "mean"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return Reduce("sum", self.dims, self.keepdim).shape(shapes)

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        total = Reduce("sum", self.dims, self.keepdim).define(ins)
        n = dims_numel([ins[0].shape[p] for p in self.dims])
        return replace(total, body=total.body / (n - sp.nsimplify(self.correction)))


class Root(NamedTuple):
    """``x^(1/p)`` with the subgradient 0 at x = 0, as PyTorch's norm and std backward give it (the derivative
    of the root itself is infinite there, and 0·∞ would make the gradient NaN)."""

    p: float

    label = "root"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return tuple(shapes[0])

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (src,) = ins
        exponent = 1 / sp.Rational(self.p) if float(self.p).is_integer() else sp.Float(1 / self.p)

        def body(syms):
            x = access(src.name, syms)
            return F.guarded(x**exponent, sp.Integer(0), F.ne(x, 0))

        return elementwise(src.shape, body)
