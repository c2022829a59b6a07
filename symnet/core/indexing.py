"""The op rows of indexing: reads through a key (``src[key]``), its transpose (a scatter-sum) and a select.

A key is normalized by the frontend into items, one per key position: ``("index", i)`` (a fixed position),
``("all",)``, ``("range", start, step, length)``, ``("new",)`` (an axis of size 1), ``("tensor", k)`` (the
k-th index tensor, int64) and ``("iota", p, rank)`` (an index tensor holding ``arange`` along dim ``p`` of
``rank``, as long as the index tensors are there: how ``scatter`` names the positions it keeps, which may be the
symbolic batch's). A view that moves dimensions (``permute``,
``diagonal``) is a key of ``("axis", q, start, step, length)`` items: the dimension is read at
``start + step·i`` for the q-th output dimension ``i``, of size ``length`` (None: the dimension's own size,
which may be the symbolic batch; two items may share q); a ``reshape`` view is the one item
``("reshape", spec)`` (``Reshape``'s spec, resolved against the source's shape).

Index tensors broadcast together into one block of output dimensions placed at ``at`` among the others
(PyTorch's rule: where the first one stands if they are adjacent, else first). An index tensor's entries may
be negative (they wrap: ``I + n·[I < 0]``) unless its item is ``("tensor", k, "strict")`` (``index_select``,
``index_add``, ``scatter``: PyTorch refuses negative entries there); one outside the range is caught by the
runtime's range check of every data-dependent read, never read.

Assignment is functional (``torch.func.functionalize``): ``x[key] = v`` is ``where(count > 0, S, x)`` with
``S`` the value scattered to the key's positions and ``count`` how often each position is written; the
adjoint of a read through a key is autodiff's Kronecker factor, so duplicates accumulate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from . import lazy
from .ir import Tensor, access, fresh_indices
from .lazy import sympy as sp
from .ops import Lowered, Reshape, broadcast_index, broadcast_shapes, constant, elementwise, reshape_reads

F = lazy.module("symnet.core.functions")  # SymPy's element functions: imported when first used


def _block(items: tuple, shapes: Sequence[tuple]) -> tuple:
    """The index tensors' broadcast block (an iota spans the block's extent: it adds no dimension of its own)."""
    return broadcast_shapes("index", *shapes) if shapes else ()


def keyed_shape(items: tuple, at: int, src: Sequence, index_shapes: Sequence[tuple]) -> tuple:
    """The shape of ``src[key]``: the basic items' dimensions with the index tensors' block at ``at``."""
    if items and items[0][0] == "reshape":
        return Reshape(items[0][1]).shape([src])
    axes = {item[1]: d if item[4] is None else item[4] for item, d in zip(items, src, strict=False)
            if item[0] == "axis"}
    if axes:
        return tuple(axes[q] for q in range(len(axes)))
    basic, dims = [], iter(src)
    for item in items:
        kind = item[0]
        if kind == "new":
            basic.append(1)
            continue
        d = next(dims)
        if kind == "all":
            basic.append(d)
        elif kind == "range":
            basic.append(item[3])
    return (*basic[:at], *_block(items, index_shapes), *basic[at:])


def keyed_reads(items: tuple, at: int, src: Sequence, indices: Sequence[Tensor],
                syms: Sequence[sp.Symbol]) -> list[sp.Expr]:
    """Where ``src[key]`` at the output index ``syms`` reads ``src``."""
    if items and items[0][0] == "reshape":
        return reshape_reads(src, Reshape(items[0][1]).shape([src]), syms)
    block = _block(items, [t.shape for t in indices])
    block_syms = syms[at:at + len(block)]
    outer = (*syms[:at], *syms[at + len(block):])
    basic = iter(outer)
    dims, reads = iter(src), []
    for item in items:
        kind = item[0]
        if kind == "new":
            next(basic)
            continue
        n = next(dims)
        if kind == "index":
            reads.append(sp.Integer(item[1]))
        elif kind == "all":
            reads.append(next(basic))
        elif kind == "range":
            reads.append(item[1] + item[2] * next(basic))
        elif kind == "axis":
            reads.append(item[2] + item[3] * outer[item[1]])
        elif kind == "iota":
            reads.append(block_syms[len(block) - item[2] + item[1]])
        else:
            t = indices[item[1]]
            entry = access(t.name, broadcast_index(t.shape, block, block_syms))
            reads.append(entry if item[2:] == ("strict",) else entry + n * F.lt(entry, 0))
    return reads


class Index(NamedTuple):
    """``src[key]``: inputs ``src`` and the key's index tensors."""

    items: tuple
    at: int = 0

    label = "index"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return keyed_shape(self.items, self.at, shapes[0], shapes[1:])

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        src, *indices = ins
        return elementwise(self.shape([t.shape for t in ins]),
                           lambda syms: access(src.name, keyed_reads(self.items, self.at, src.shape, indices, syms)))


class Scatter(NamedTuple):
    """The transpose of ``Index``: a tensor shaped like the first input (only its shape is used) holding, at
    each position, the sum of the values the key sends there — the second input broadcast to the key's
    result, or ``fill`` at every written position (``fill=1``: how often each position is written)."""

    items: tuple
    at: int = 0
    fill: float | None = None

    label = "scatter"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return tuple(shapes[0])

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        like, *rest = ins
        value, indices = (None, rest) if self.fill is not None else (rest[0], rest[1:])
        domain = keyed_shape(self.items, self.at, like.shape, [t.shape for t in indices])
        syms = fresh_indices(domain)
        body = constant(self.fill) if value is None else access(value.name, broadcast_index(value.shape, domain, syms))
        out = tuple(keyed_reads(self.items, self.at, like.shape, indices, syms))
        return Lowered(tuple(like.shape), tuple(zip(syms, domain, strict=True)), out, body, "sum")


class Where(NamedTuple):
    """``a`` where ``condition`` is nonzero, else ``b`` (broadcast): ``slots`` are the condition's, a's and b's,
    as ``Map``'s (``("t", k)`` the k-th input, ``("c", value)`` a constant). A select (``functions.where``): the
    branch not taken gives neither its value (not even NaN or the sign of a zero) nor a gradient."""

    slots: tuple

    label = "where"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return broadcast_shapes("where", *(shapes[k] for kind, k in self.slots if kind == "t"))

    def define(self, ins: Sequence[Tensor]) -> Lowered:
        shape = self.shape([t.shape for t in ins])

        def body(syms):
            c, a, b = (access(ins[k].name, broadcast_index(ins[k].shape, shape, syms)) if kind == "t" else
                       constant(k) for kind, k in self.slots)
            return F.where(c, a, b)  # a select: −0.0 stays −0.0 (a sum of guarded branches gave −0 + 0 = +0)

        return elementwise(shape, body)

