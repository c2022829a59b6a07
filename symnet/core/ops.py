"""The primitive ops, as a table: each kind has a shape rule and a definition in index notation.

Everything a user can do to a tensor decomposes into these few kinds (softmax is ``exp(x - logsumexp)``,
cross entropy a gather and a logsumexp). Derivatives are not written here: they follow from the element
functions (``symnet.core.functions``) and the index algebra of ``symnet.core.autodiff``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from ..errors import ShapeError
from . import lazy
from .ir import Dim, Tensor, access, dims_numel, fmt_shape, fresh_indices, is_tensor_symbol, same_dim
from .lazy import sympy as sp

# SymPy's side (the element functions' table and rules): imported when something is first lowered
F = lazy.module("symnet.core.functions")
rows = lazy.module("symnet.core.elementwise")


class _NegativeZero(float):
    """−0.0 that is not equal to 0.0 (nor hashes as it): a constant folded into an op keys its structure, and a
    graph dividing by −0.0 must not find the program that divides by +0.0."""

    def __eq__(self, other):
        return isinstance(other, _NegativeZero)

    def __ne__(self, other):
        return not isinstance(other, _NegativeZero)

    def __hash__(self):
        return hash("-0.0")


def _is_negative_zero(value) -> bool:
    return isinstance(value, float) and float(value) == 0 and math.copysign(1.0, value) < 0


def scalar_operand(value):
    """A Python number as an op keeps it: −0.0 distinct from 0.0 (see ``_NegativeZero``), anything else as is."""
    return _NegativeZero(-0.0) if _is_negative_zero(value) else value


def constant(value) -> sp.Expr:
    """A Python number as a SymPy constant: exact binary fractions print as rationals (x/2, not 0.5*x)."""
    if isinstance(value, sp.Basic):
        return value
    if value != value:
        return F.not_a_number()
    if _is_negative_zero(value):
        return F.negative_zero()
    if isinstance(value, bool) or float(value).is_integer() and abs(value) < 2**53:
        return sp.Integer(int(value))
    if value in (float("inf"), float("-inf")):
        return sp.oo if value > 0 else -sp.oo
    r = sp.Rational(value)
    if r.q <= 1024:
        return r
    return sp.Float(value)


def broadcast_shapes(op: str, *shapes: Sequence[Dim]) -> tuple[Dim, ...]:
    """NumPy/PyTorch broadcasting, for integer and symbolic dimensions."""
    if all(s == shapes[0] for s in shapes):
        return tuple(shapes[0])
    rank = max((len(s) for s in shapes), default=0)
    out: list[Dim] = []
    for pos in range(rank):
        dims = [s[len(s) - rank + pos] for s in shapes if len(s) - rank + pos >= 0]
        big = [d for d in dims if d != 1]
        if any(not same_dim(d, big[0]) for d in big):
            shown = " and ".join(fmt_shape(s) for s in shapes)
            raise ShapeError(f"{op}: shapes {shown} cannot be broadcast together")
        out.append(big[0] if big else 1)
    return tuple(out)


def broadcast_index(shape: Sequence[Dim], out_shape: Sequence[Dim], syms: Sequence[sp.Symbol]) -> list[sp.Expr]:
    """How an operand of ``shape`` is read at the output index ``syms``: 0 on its broadcast dimensions."""
    offset = len(out_shape) - len(shape)
    return [
        sp.Integer(0) if d == 1 and out_shape[offset + p] != 1 else syms[offset + p]
        for p, d in enumerate(shape)
    ]


@dataclass(frozen=True)
class Lowered:
    """An op's definition, before the tracer gives it a name and a dtype."""

    shape: tuple[Dim, ...]
    domain: tuple[tuple[sp.Symbol, Dim], ...]
    out: tuple[sp.Expr, ...]
    body: sp.Expr
    combine: str = "assign"
    ties: str = "first"


def elementwise(shape: Sequence[Dim], body_at: Callable[[tuple[sp.Symbol, ...]], sp.Expr]) -> Lowered:
    syms = fresh_indices(shape)
    return Lowered(tuple(shape), tuple(zip(syms, shape, strict=True)), syms, body_at(syms))


# ---------------------------------------------------------------- the op table: one typed row per op
#
# Each op is a NamedTuple of its parameters (hashable and cheap: the tracer keys structures by them) with two
# rules: ``shape`` (run at trace time, no SymPy) and ``define`` (its definition in index notation).


class Map(NamedTuple):
    """An element function of ``ELEMENTWISE`` over broadcast operands: ``slots`` lists ``("t", k)`` for the
    k-th tensor input and ``("c", value)`` for a Python number folded into the formula."""

    fn: str
    slots: tuple

    @property
    def label(self) -> str:
        return self.fn

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return broadcast_shapes(self.fn, *(shapes[k] for kind, k in self.slots if kind == "t"))

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        shape = self.shape([t.shape for t in ins])

        def body(syms):
            args = [access(ins[k].name, broadcast_index(ins[k].shape, shape, syms)) if kind == "t" else constant(k)
                    for kind, k in self.slots]
            return apply_row(self.fn, args)

        return elementwise(shape, body)


def reads(e: sp.Expr) -> set:
    """The tensor reads in ``e``: indexed accesses and 0-d tensors."""
    return e.atoms(sp.Indexed) | {s for s in e.free_symbols if is_tensor_symbol(s)}


def apply_row(fn: str, args: Sequence[sp.Expr]) -> sp.Expr:
    """``ELEMENTWISE[fn](*args)``, except where SymPy would cancel a read (x − x, x·0, x/x, 0/x: 0 or 1, where
    IEEE gives NaN at ±inf, NaN or 0): then every operand but the first read is ``kept`` out of SymPy's sight."""
    out = rows.ELEMENTWISE[fn](*args)
    if reads(out) >= set().union(*map(reads, args)):
        return out
    first = next(a for a in args if reads(a))
    return rows.ELEMENTWISE[fn](*[a if a is first else F.kept(a) for a in args])


class Cast(NamedTuple):
    """Conversion to ``dtype``, explicit in the body where a value changes kind: a float to an integer is
    ``trunc`` (toward zero, as PyTorch's C cast), anything to bool is ``x ≠ 0``; between floats, and from
    integers to floats, the definition's dtype is the conversion."""

    dtype: np.dtype

    label = "cast"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return tuple(shapes[0])

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (src,) = ins

        def body(syms):
            x = access(src.name, syms)
            if self.dtype.kind == "b" and src.dtype.kind != "b":
                return F.ne(x, 0)
            if self.dtype.kind == "i" and src.dtype.kind == "f":
                return F.trunc(x)
            return x

        return elementwise(self.shape([src.shape]), body)


class Reduce(NamedTuple):
    """``combine`` (sum, max, argmax) over ``dims``; ``mean`` divides by their size; ``ties`` is the max's
    gradient rule (see ``ir.Def``); ``fn``: the reduced value is that element function of the inputs (of one
    shape) rather than the one input's value — a loss's Σ (x − y)² as one op."""

    combine: str
    dims: tuple[int, ...]
    keepdim: bool
    mean: bool = False
    ties: str = "first"
    fn: str | None = None

    @property
    def label(self) -> str:
        return self.combine

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        shape = shapes[0]
        if self.keepdim:
            return tuple(1 if p in self.dims else d for p, d in enumerate(shape))
        return tuple(d for p, d in enumerate(shape) if p not in self.dims)

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        src = ins[0]
        syms = fresh_indices(src.shape)
        if self.fn is None:
            body = access(src.name, syms)
        else:
            body = apply_row(self.fn, [access(t.name, syms) for t in ins])
        if self.mean:
            body = body / dims_numel([src.shape[p] for p in self.dims])
        out = tuple(sp.Integer(0) if p in self.dims else s for p, s in enumerate(syms)
                    if self.keepdim or p not in self.dims)
        return Lowered(self.shape([src.shape]), tuple(zip(syms, src.shape, strict=True)), out, body, self.combine,
                       self.ties)


class MatMul(NamedTuple):
    """``a @ b`` with NumPy's rules for 1-d operands and broadcast batch dimensions; ``b_transposed``: ``a @ bᵀ`` of
    a matrix ``b`` (a Linear layer's ``x @ Wᵀ`` as one op, the weight read in place of a transposed view of it)."""

    b_transposed: bool = False

    label = "matmul"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        a, b = shapes
        if self.b_transposed:
            b = tuple(reversed(b))
        if not a or not b:
            raise ShapeError(f"matmul: both operands need at least one dimension, got {fmt_shape(a)} and "
                             f"{fmt_shape(b)}")
        k_a, k_b = a[-1], (b[0] if len(b) == 1 else b[-2])
        if not same_dim(k_a, k_b):
            raise ShapeError(
                f"matmul: shapes {fmt_shape(a)} and {fmt_shape(b)} are not aligned: "
                f"{k_a} (last dim of the first) != {k_b} ({'dim 0' if len(b) == 1 else 'dim -2'} of the second)"
            )
        batch = broadcast_shapes("matmul", a[:-2], b[:-2])
        return batch + ((a[-2],) if len(a) > 1 else ()) + ((b[-1],) if len(b) > 1 else ())

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        a, b = ins
        shape = self.shape([a.shape, b.shape])
        out = fresh_indices(shape)
        (k,) = fresh_indices([a.shape[-1]], avoid=out)
        nbatch = len(shape) - (len(a.shape) > 1) - (len(b.shape) > 1)
        batch_syms, rest = out[:nbatch], list(out[nbatch:])
        batch_shape = shape[:nbatch]
        a_idx = broadcast_index(a.shape[:-2], batch_shape, batch_syms) if len(a.shape) > 1 else []
        b_idx = broadcast_index(b.shape[:-2], batch_shape, batch_syms) if len(b.shape) > 1 else []
        if len(a.shape) > 1:
            a_idx.append(rest.pop(0))
        a_idx.append(k)
        b_idx.append(k)
        if len(b.shape) > 1:
            b_idx.append(rest.pop(0))
        if self.b_transposed:
            b_idx.reverse()
        domain = (*zip(out, shape, strict=True), (k, a.shape[-1]))
        return Lowered(shape, domain, out, access(a.name, a_idx) * access(b.name, b_idx), "sum")


class Reshape(NamedTuple):
    """Target shape: -1 is inferred, None keeps the input's dimension at that position (flatten's leading
    dimensions, which may be the symbolic batch)."""

    spec: tuple

    label = "reshape"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        (shape,) = shapes
        spec = tuple(shape[p] if d is None else d for p, d in enumerate(self.spec))
        if all(isinstance(d, int) for d in (*shape, *spec)):  # a concrete trace: integers (no SymPy)
            total, known = math.prod(shape), math.prod(d for d in spec if d != -1)
            target = tuple(total // known if d == -1 and known else d for d in spec)
            if math.prod(target) != total or min(target, default=0) < 0:
                raise ShapeError(f"reshape: shape {fmt_shape(spec)} is invalid for input of shape {fmt_shape(shape)}")
            return target
        total = sp.sympify(dims_numel(shape))
        target = []
        for d in spec:
            if d == -1:
                missing = sp.cancel(total / sp.sympify(dims_numel([k for k in spec if k != -1])))
                d = int(missing) if missing.is_Integer else missing
            target.append(d)
        if sp.expand(sp.sympify(dims_numel(target)) - total) != 0 or any(
                isinstance(d, sp.Expr) and not d.is_integer for d in target):
            raise ShapeError(f"reshape: shape {fmt_shape(spec)} is invalid for input of shape {fmt_shape(shape)}")
        return tuple(target)

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (src,) = ins
        shape = self.shape([src.shape])
        return elementwise(shape, lambda syms: access(src.name, reshape_reads(src.shape, shape, syms)))


def reshape_reads(src: Sequence[Dim], shape: Sequence[Dim], syms: Sequence[sp.Symbol]) -> list[sp.Expr]:
    """Where ``src`` reshaped to ``shape`` (row-major) is read at the output index ``syms``: the same symbols
    where only dimensions of size 1 differ, else the flat position's floor/mod digits."""
    non_unit_in = [d for d in src if d != 1]
    non_unit_out = [d for d in shape if d != 1]
    if len(non_unit_in) == len(non_unit_out) and all(map(same_dim, non_unit_in, non_unit_out)):
        kept = iter(s for s, d in zip(syms, shape, strict=True) if d != 1)
        return [sp.Integer(0) if d == 1 else next(kept) for d in src]
    if any(d == 0 for d in (*src, *shape)):  # nothing is read: no element, no digits (and no division by 0)
        return [sp.Integer(0) for _ in src]
    flat = sum((s * dims_numel(shape[p + 1:]) for p, s in enumerate(syms)), sp.Integer(0))
    idx = [sp.Mod(sp.floor(flat / dims_numel(src[p + 1:])), d) if p else sp.floor(flat / dims_numel(src[1:]))
           for p, d in enumerate(src)]
    return [_within_extents(i, dict(zip(syms, shape, strict=True))) for i in idx]


def _within_extents(index: sp.Expr, extents: dict) -> sp.Expr:
    """floor(s/c) → 0 and Mod(s, c) → s for an index symbol s known to lie below c (what SymPy cannot see)."""
    def small(e, c):
        return e in extents and isinstance(extents[e], int) and c.is_Integer and extents[e] <= int(c)

    index = index.replace(lambda e: isinstance(e, sp.floor) and e.args[0].is_Mul and len(e.args[0].args) == 2 and
                          any(small(a, 1 / b) for a, b in [e.args[0].args, e.args[0].args[::-1]] if b.is_Rational),
                          lambda e: sp.Integer(0))
    return index.replace(lambda e: isinstance(e, sp.Mod) and small(e.args[0], e.args[1]), lambda e: e.args[0])


class Gather(NamedTuple):
    """``src[..., index[i], ...]`` along ``dim``: a data-dependent read."""

    dim: int

    label = "gather"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        src, index = shapes
        if len(src) != len(index):
            raise ShapeError(f"gather: index {fmt_shape(index)} must have as many dims as input {fmt_shape(src)}")
        for p, (s, i) in enumerate(zip(src, index, strict=True)):
            if p != self.dim and not (same_dim(s, i) or (isinstance(s, int) and isinstance(i, int) and i <= s)):
                raise ShapeError(f"gather: index {fmt_shape(index)} is larger than input {fmt_shape(src)} in dim {p}")
        return tuple(index)

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        src, index = ins

        def body(syms):
            idx = list(syms)
            idx[self.dim] = access(index.name, syms)
            return access(src.name, idx)

        return elementwise(self.shape([src.shape, index.shape]), body)


class Slice(NamedTuple):
    """Basic indexing: per dimension ``("index", i)``, ``("all",)`` or ``("range", start, step, length)``."""

    items: tuple

    label = "slice"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        out = []
        for item, d in zip(self.items, shapes[0], strict=True):
            if item[0] == "all":
                out.append(d)
            elif item[0] == "range":
                out.append(item[3])
        return tuple(out)

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (src,) = ins

        def body(syms):
            it = iter(syms)
            idx = []
            for item in self.items:
                if item[0] == "index":
                    idx.append(sp.Integer(item[1]))
                elif item[0] == "all":
                    idx.append(next(it))
                else:
                    _, start, step, _ = item
                    idx.append(start + step * next(it))
            return access(src.name, idx)

        return elementwise(self.shape([src.shape]), body)


class Op(Protocol):
    """An op row: hashable parameters, a printed ``label``, a ``shape`` rule and a ``define`` rule (the rows
    here and the sliding-window ops of ``symnet.core.windows``)."""

    label: str

    def shape(self, shapes: Sequence[tuple]) -> tuple: ...

    def define(self, ins: Sequence[Tensor]) -> Lowered: ...


# ---------------------------------------------------------------- shaping: broadcasts, copies, triangles, diagonals


class Expand(NamedTuple):
    """The input broadcast to ``size`` (``expand``, ``broadcast_to``): a read with index 0 on the broadcast
    dimensions, so the adjoint sums over them. With a second input, ``size`` is a ``fill`` template over its
    shape (None: its leading dimension, a compiled step's batch), whose values are never read."""

    size: tuple

    label = "expand"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        shape = shapes[0]
        size = self.size if len(shapes) == 1 else tuple(shapes[1][0] if d is None else d for d in self.size)
        lead = len(size) - len(shape)
        if lead < 0 or any(d != 1 and not same_dim(d, s) for d, s in zip(shape, size[lead:], strict=True)):
            raise ShapeError(f"expand: shape {fmt_shape(shape)} cannot be expanded to {fmt_shape(size)} (only "
                             f"dimensions of size 1 are)")
        return tuple(size)

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        src = ins[0]
        shape = self.shape([t.shape for t in ins])
        return elementwise(shape, lambda syms: access(src.name, broadcast_index(src.shape, shape, syms)))


class Tile(NamedTuple):
    """Copies of the input along each dimension: the whole tensor ``repeats[p]`` times (``repeat``, leading
    repeats make new dimensions) or each element in place (``interleave``: ``repeat_interleave``). Defined in
    scatter form — ``out[r·n + i] = x[i]``, ``out[i·R + r] = x[i]`` — so the adjoint is the gather
    ``dx[i] = Σ_r dout[r·n + i]`` (a read through ``Mod(i, n)`` would differentiate to a scatter)."""

    repeats: tuple[int, ...]
    interleave: bool = False

    @property
    def label(self) -> str:
        return "repeat_interleave" if self.interleave else "repeat"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        (shape,) = shapes
        full = (1,) * (len(self.repeats) - len(shape)) + tuple(shape)
        return tuple(r * n for r, n in zip(self.repeats, full, strict=True))

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (src,) = ins
        lead = len(self.repeats) - len(src.shape)
        syms = fresh_indices(src.shape)
        copies = fresh_indices(self.repeats, avoid=syms)
        domain, out = list(zip(syms, src.shape, strict=True)), []
        for p, count in enumerate(self.repeats):
            i, n = (syms[p - lead], src.shape[p - lead]) if p >= lead else (sp.Integer(0), 1)
            if count != 1:
                domain.append((copies[p], count))
            out.append(i if count == 1 else i * count + copies[p] if self.interleave else copies[p] * n + i)
        return Lowered(self.shape([src.shape]), tuple(domain), tuple(out), access(src.name, syms), "sum")


class Clone(NamedTuple):
    """A copy (``clone``): the same values in a tensor of its own."""

    label = "clone"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return tuple(shapes[0])

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (src,) = ins
        return elementwise(src.shape, lambda syms: access(src.name, syms))


class Triangle(NamedTuple):
    """The lower (``tril``: j − i ≤ diagonal) or upper (``triu``: j − i ≥ diagonal) triangle of the last two
    dimensions: a guarded read, 0 off the triangle."""

    upper: bool
    diagonal: int

    @property
    def label(self) -> str:
        return "triu" if self.upper else "tril"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        (shape,) = shapes
        if len(shape) < 2:
            raise ShapeError(f"{self.label}: input tensor must have at least 2 dimensions, got {fmt_shape(shape)}")
        return tuple(shape)

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (src,) = ins
        rows, cols = src.shape[-2:]

        def body(syms):
            offset = syms[-1] - syms[-2]
            kept = F.between(offset, self.diagonal, cols - 1) if self.upper else F.between(offset, 1 - rows,
                                                                                          self.diagonal)
            return F.guarded(access(src.name, syms), 0, kept)

        return elementwise(src.shape, body)


def diagonal_length(n1: Dim, n2: Dim, offset: int) -> Dim:
    return max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))


class DiagEmbed(NamedTuple):
    """The last dimension laid on the diagonal ``offset`` of new dimensions ``dim1``, ``dim2`` of the output, 0
    elsewhere (``diag_embed``): the scatter ``out[…, i, i + offset] = x[…, i]``, whose adjoint is the gather
    of that diagonal."""

    offset: int
    dim1: int
    dim2: int

    label = "diag_embed"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        (shape,) = shapes
        *rest, n = shape
        side = n + abs(self.offset)
        for p in sorted((self.dim1, self.dim2)):
            rest.insert(p, side)
        return tuple(rest)

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        (src,) = ins
        syms = fresh_indices(src.shape)
        *rest, i = syms
        it = iter(rest)
        out = [next(it) if p not in (self.dim1, self.dim2) else None for p in range(len(src.shape) + 1)]
        out[self.dim1], out[self.dim2] = i + max(-self.offset, 0), i + max(self.offset, 0)
        return Lowered(self.shape([src.shape]), tuple(zip(syms, src.shape, strict=True)), tuple(out),
                       access(src.name, syms), "sum")
