"""Lowering: each tensor-expression definition becomes a loop nest (a schedule), printable as pseudo-code.

Schedules:
- elementwise: loops in output order, so stores are contiguous and the innermost loop vectorizes;
- reduction into a register: output loops outside, reduction loops inside, used when the innermost reduced
  index is contiguous in every read (``Σ_k X[b,k]·W[j,k]``) and for max/argmax;
- reduction into memory: the output is zeroed, reduction loops outside and output loops inside, so the
  innermost loop runs over a contiguous output index (``dW[j,k] += X[b,k]·δ[b,j]``);
- scatter-accumulate: zero, then ``T[α(d)] += body(d)`` over the domain.
Sibling reductions over the same loops share one pass (``fuse_siblings``); a max-pool's argmax, which its
backward reads, is moved beside the pool's max to share its pass; elementwise definitions over the same loops,
a later one reading an earlier one where it was just stored (an optimizer's moments and update), share one pass
(``fuse_elementwise``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from symnet.core.ir import (
    Def,
    Graph,
    accesses,
    accesses_deep,
    affine_bounds,
    arithmetic_precision,
    fresh_indices,
    is_guard,
    is_range,
    is_selection,
    is_tensor_symbol,
)
from symnet.core.lazy import sympy as sp

from .direct import direct_shape, sliding_shape
from .dots import dot_shape
from .gemm import tile_shape
from .jit import vector_bits


@dataclass
class Loop:
    var: sp.Symbol
    extent: sp.Expr
    body: list = field(default_factory=list)


@dataclass
class Store:
    """``buffer[index] = value`` (or ``+=`` with ``accumulate``)."""

    buffer: str
    index: tuple
    value: sp.Expr
    accumulate: bool = False


@dataclass
class Zero:
    buffer: str


@dataclass
class Reduce:
    """A register accumulator: initialized, updated in the inner loops, stored after them."""

    op: str  # sum | prod | max | argmax
    value: sp.Expr
    position: sp.Expr  # flattened reduction position, for argmax
    loops: list
    buffer: str
    index: tuple
    ties: str = "first"  # max and argmax: "window" is PyTorch's pooling scan (``ir.Def.ties``)


@dataclass
class MultiReduce:
    """Sibling reductions over the same loops, none reading another: one pass, one accumulator each, shared
    subexpressions computed once (multi-output fusion)."""

    reductions: list[Reduce]


@dataclass
class Contraction:
    """``C[i, j] = scale · Σ_k A(i, k)·B(k, j)``, run by the register-tiled micro-kernel.

    A matmul has one symbol per group and any strides. A convolution (implicit GEMM) groups several: ``i`` the
    output symbols A reads, ``j`` the trailing output symbols B reads (contiguous in C), ``k`` the reduced ones;
    ``outer`` symbols (read by both, or reduced over a symbolic extent) loop around the kernel, and the guards
    are range conditions on A's or B's elements (a guarded read, zero outside)."""

    i: tuple[sp.Symbol, ...]
    j: tuple[sp.Symbol, ...]
    k: tuple[sp.Symbol, ...]
    a: sp.Indexed
    b: sp.Indexed
    scale: sp.Expr
    buffer: str
    outer: tuple[sp.Symbol, ...] = ()
    a_guards: tuple[sp.Expr, ...] = ()
    b_guards: tuple[sp.Expr, ...] = ()
    #: B holds the one column symbol contiguously: its panel is copied with vector loads
    b_rows: bool = False
    #: C's columns are not contiguous (they are not its trailing output symbols): stored element by element
    scattered: bool = False
    #: outer symbols the kernel runs itself, as rows of vectors along ``j`` (``codegen.direct``: B's rows read in
    #: place, every row of a tile against A's broadcasts)
    rows: tuple[sp.Symbol, ...] = ()
    #: the summed symbol (one of ``k``, contiguous in A and B) the kernel's lanes run along (``codegen.dots``)
    lanes_along: sp.Symbol | None = None
    #: a range condition on ``rows`` and ``k`` outside which B holds zeros (a padded copy's padding): the direct
    #: kernel skips the k steps none of a tile's rows needs
    b_zero: sp.Expr | None = None
    #: the summed symbol (the last of ``k``) that moves B along its one row symbol, ±1 row a step: the direct kernel's
    #: sliding variant loads each row of B once for all the taps that read it
    row_tap: sp.Symbol | None = None
    #: with ``row_tap``, B read in place under its range guards (``b_guards``): ``b_zero`` the one on its rows (the
    #: lines it fails are skipped), this one on its columns (the lanes it fails are masked)
    b_columns: sp.Expr | None = None

    @property
    def strided(self) -> bool:
        """A plain matmul over strided operands: one symbol per group, each operand index a symbol or a constant
        (a fixed position, ``A[1, i, k]``, moves the operand's base)."""
        return len(self.i) == len(self.j) == len(self.k) == 1 and not self.outer and self.lanes_along is None and \
            not self.a_guards + self.b_guards and all(isinstance(x, sp.Symbol) or x.is_Integer for r in (self.a, self.b)
                                  for x in r.indices)


@dataclass
class Kernel:
    """One definition's loop nest (or several fused siblings'): what it writes, what it reads."""

    definition: Def
    reads: list[str]
    body: list
    members: list[Kernel] = field(default_factory=list)

    @property
    def writes(self) -> list[Def]:
        return [m.definition for m in self.members] or [self.definition]


class StatementWalker:
    """Walks a kernel's statements, calling the backend's method for each kind (the LLVM emitter and the C
    printer): ``loop`` (a context manager), ``zero``, ``store``, ``reduce`` and ``contraction``."""

    def statements(self, stmts) -> None:
        for s in stmts:
            if isinstance(s, Loop):
                with self.loop(s.var, s.extent):
                    self.statements(s.body)
            elif isinstance(s, Zero):
                self.zero(s.buffer)
            elif isinstance(s, Store):
                self.store(s)
            elif isinstance(s, Reduce):
                self.reduce(s)
            elif isinstance(s, MultiReduce):
                self.reduce(*s.reductions)
            elif isinstance(s, Contraction):
                self.contraction(s)


def _contiguous_last(sym: sp.Symbol, d: Def, names) -> bool:
    reads = [a for a in accesses(d.body, names) if any(sym in sp.sympify(i).free_symbols for i in a.indices)]
    return all(a.indices and a.indices[-1] == sym for a in reads)


def lower_def(d: Def, names) -> Kernel:
    reads = sorted(accesses_deep(d, names))
    extents = d.extents
    shape = d.shape
    out_loops = [o for o in d.out if o in extents]
    reduced = list(d.reduced)

    def nest(symbols, inner):
        body = inner
        for s in reversed(symbols):
            body = [Loop(s, extents[s], body)]
        return body

    contraction = match_contraction(d, names)
    if contraction is not None:
        return Kernel(d, reads, [contraction])
    if not is_selection(d.out, extents, shape):
        return Kernel(d, reads, [Zero(d.name), *nest(d.symbols, [Store(d.name, d.out, d.body, True)])])
    if d.combine == "assign" or not reduced:
        return Kernel(d, reads, nest(out_loops, [Store(d.name, d.out, d.body)]))
    inner, order = _register_order(d, names)
    if d.combine == "sum" and inner is None and out_loops:
        return Kernel(d, reads, [Zero(d.name), *nest(reduced + out_loops, [Store(d.name, d.out, d.body, True)])])
    if d.combine == "sum":
        d, order = collapsed(d, order, names)
        extents, reduced = d.extents, list(d.reduced)
    position, stride = sp.Integer(0), sp.Integer(1)
    for r in reversed(reduced):
        position += r * stride
        stride *= extents[r]
    red = Reduce(d.combine, d.body, position, nest(order, []), d.name, d.out, d.ties)
    return Kernel(d, reads, nest(out_loops, [red]))


def _register_order(d: Def, names) -> tuple[sp.Symbol | None, list[sp.Symbol]]:
    """A reduction into a register's innermost summed symbol (one contiguous in every read that has it, or None)
    and its loops' order, outermost first."""
    reduced = list(d.reduced)
    inner = next((r for r in reversed(reduced) if _contiguous_last(r, d, names)), None)
    return inner, [r for r in reduced if r != inner] + ([inner] if inner is not None else [])


def collapsed(d: Def, order: list[sp.Symbol], names) -> tuple[Def, list[sp.Symbol]]:
    """``d`` and its summed loops ``order`` (outermost first) with each adjacent pair j, k that every read walks as
    one run (j's address stride extent(k) times k's, neither anywhere else) summed as one symbol over
    extent(j)·extent(k): read ``T[…, 0, jk]``, an index past its dimension whose flat address is the pair's. A bias
    gradient's 28 × 28 rows are then one vectorized run of 784, not 28 runs of 28 each ending in a sum across
    the lanes."""
    reads = [r for r in d.body.atoms(sp.Indexed) if str(r.base.label) in names]
    if any(is_guard(f) or is_range(f) for f in d.body.atoms(sp.Function)):
        return d, order  # a guard's reads are clamped into each dimension
    order = list(order)
    at = len(order) - 1
    while at > 0:
        j, k = order[at - 1], order[at]
        extents = d.extents
        if not _walked_as_one(d, reads, j, k, names):
            at -= 1
            continue
        jk = sp.Symbol(_fresh(j.name + k.name, {s.name for s in d.symbols}), integer=True, nonnegative=True)
        moved = {r: r.xreplace({j: sp.Integer(0), k: jk}) for r in reads}
        domain = tuple((jk, extents[j] * extents[k]) if s == j else (s, n) for s, n in d.domain if s != k)
        d = Def(d.name, d.shape, d.dtype, domain, d.out, d.body.xreplace(moved), d.combine, d.ties, d.label)
        reads = list(moved.values())
        order[at - 1:at + 1] = [jk]
        at = min(at, len(order) - 1)
    return d, order


def _walked_as_one(d: Def, reads, j: sp.Symbol, k: sp.Symbol, names) -> bool:
    """Whether summed symbols j, k (known extents) occur only in reads' indices, each read's address moving by
    extent(k) times as much along j as along k."""
    extents = d.extents
    if not (isinstance(extents[j], int) and isinstance(extents[k], int)):
        return False
    if d.body.xreplace({r: sp.Dummy() for r in reads}).has(j, k) or any(sp.sympify(o).has(j, k) for o in d.out):
        return False
    for r in reads:
        if not r.has(j, k):
            continue
        terms = address_coefficients(r.indices, names[str(r.base.label)].shape)
        if terms is None or terms.get(j, 0) != extents[k] * terms.get(k, 0):
            return False
    return True


def match_contraction(d: Def, names) -> Contraction | None:
    """A float sum of a product of two reads (``scale·A·B``, or a guarded one), as a matmul or an implicit GEMM."""
    if d.combine != "sum" or d.dtype.kind != "f" or not is_selection(d.out, d.extents, d.shape):
        return None
    scale, rest = d.body.as_coeff_Mul()
    guards: tuple = ()
    if is_guard(rest) and rest.args[1] == 0:
        guards, rest = rest.args[2:], rest.args[0]
        more_scale, rest = rest.as_coeff_Mul()
        scale *= more_scale
    reads = accesses(rest, names)
    if len(reads) != 2 or rest != reads[0].atom * reads[1].atom:
        return None
    if any(names[r.name].dtype != d.dtype for r in reads):  # the micro-kernel reads both as d's own type
        return None
    if not guards and len(d.reduced) == 1:
        plain = _matmul(d, reads, scale)
        if plain is not None:
            return plain
    found = [c for a, b in (reads, reads[::-1]) for rows_of_one in (False, True)
             if (c := _implicit_gemm(d, a, b, scale, guards, names, rows_of_one))]
    found += [c for a, b in (reads, reads[::-1]) if (c := _direct(d, a, b, scale, guards, names))]
    found += [c for c in [_dots(d, *reads, scale, guards, names)] if c]
    return min(found, key=lambda c: c[0])[1] if found else None


def _matmul(d: Def, reads, scale) -> Contraction | None:
    kept = [o for o in d.out if o in d.extents]
    if len(kept) != 2 or any(d.extents[s] == 1 for s in d.symbols):
        return None
    (k,) = d.reduced
    j, i = kept[-1], kept[0]  # j: the output's contiguous index, which the micro-kernel vectorizes over
    by_symbols = {frozenset(r.indices) - {0}: r for r in reads}
    a, b = by_symbols.get(frozenset({i, k})), by_symbols.get(frozenset({k, j}))
    if a is None or b is None or not all(isinstance(x, sp.Symbol) or x == 0 for r in (a, b) for x in r.indices):
        return None
    return Contraction((i,), (j,), (k,), a.atom, b.atom, scale, d.name)


def address_coefficients(indices, shape) -> dict | None:
    """The flat address of a read as {symbol: integer coefficient} plus its constant (key 1); None unless every
    index is affine with integer coefficients and every inner dimension a known size."""
    if any(not isinstance(n, int) for n in shape[1:]):
        return None
    address, stride = sp.Integer(0), 1
    for index, n in zip(reversed(indices), reversed(shape), strict=True):
        address += stride * sp.sympify(index)
        stride *= n if isinstance(n, int) else 1
    return affine_coefficients(sp.expand(address))


def affine_coefficients(e: sp.Expr) -> dict | None:
    terms: dict = {}
    for term in sp.Add.make_args(e):
        c, rest = term.as_coeff_Mul()
        if not c.is_Integer or not (rest == 1 or (isinstance(rest, sp.Symbol) and rest.is_integer)):
            return None
        terms[rest] = terms.get(rest, 0) + int(c)
    return terms


def _implicit_gemm(d: Def, a, b, scale, guards, names, rows_of_one: bool) -> tuple[float, Contraction] | None:
    """A as the broadcast operand (its output symbols the rows), B as the packed one (its output symbols the
    columns; with ``rows_of_one`` only the last, which B must hold contiguously, the others looping outside:
    B's panel is then copied row by row with vector loads), with an estimate of the whole cost: packing B, the
    FMAs of whole tiles, guards, scattered stores and one call per outer point."""
    extents = d.extents
    in_a = set().union(*(sp.sympify(x).free_symbols for x in a.indices)) & set(extents)
    in_b = set().union(*(sp.sympify(x).free_symbols for x in b.indices)) & set(extents)
    out = [o for o in d.out if o in extents]
    i = [o for o in out if o in in_a and o not in in_b and isinstance(extents[o], int)]
    j = [o for o in out if o in in_b and o not in in_a and isinstance(extents[o], int)]
    terms_b = address_coefficients(b.indices, names[b.name].shape)
    if rows_of_one:
        if not j or j[-1] != out[-1] or terms_b is None or terms_b.get(j[-1]) != 1 or guards:
            return None
        j = j[-1:]
    k = [r for r in d.symbols if r not in out and isinstance(extents[r], int)]
    outer = [s for s in d.symbols if s not in (*i, *j, *k)]
    if not (i and j and k) or any(extents[s] < 1 for s in (*i, *j, *k)):
        return None
    if any(s not in in_a or s not in in_b for s in k):  # an operand constant along a summed index: not a GEMM
        return None
    m, n, depth = (math.prod(extents[s] for s in g) for g in (i, j, k))
    if min(n, depth) < 2:  # one row is fine: a convolution's input gradient with one input channel
        return None
    if address_coefficients(a.indices, names[a.name].shape) is None or \
            address_coefficients(b.indices, names[b.name].shape) is None or \
            address_coefficients(d.out, d.shape) is None:  # C too: an inner symbolic extent has no fixed strides
        return None
    on_a, on_b = [], []
    for g in guards:
        if not is_range(g) or not (g.args[1].is_Integer and g.args[2].is_Integer):
            return None
        terms = affine_coefficients(sp.expand(g.args[0]))
        if terms is None or (any(s in i for s in terms) and any(s in j for s in terms)):
            return None
        (on_a if any(s in i for s in terms) else on_b).append(g)
    lanes = vector_bits() // (32 if d.dtype.itemsize == 4 else 64)
    rows, vectors = tile_shape(vector_bits(), lanes, n, m)
    contiguous = tuple(j) == tuple(out[len(out) - len(j):])
    panels = math.ceil(n / (vectors * lanes))
    # units: a vector FMA; packing an element of B 2.5 (a vector copy: 0.25 an element of the panel); a broadcast
    # load of A 1 (plus its guards); a scattered store 5; a call 300
    packing = 0.25 * depth * panels * vectors * lanes if rows_of_one else 2.5 * depth * n
    per_call = (packing + math.ceil(m / rows) * rows * depth * (math.ceil(n / lanes) + 1 + 2 * len(on_a))
                + (0 if contiguous else 5 * m * n) + 300)
    calls = math.prod(extents[s] for s in outer if isinstance(extents[s], int))
    return per_call * calls, Contraction(tuple(i), tuple(j), tuple(k), a.atom, b.atom, scale, d.name,
                                         tuple(outer), tuple(on_a), tuple(on_b), rows_of_one, not contiguous)


def _direct(d: Def, a, b, scale, guards, names) -> tuple[float, Contraction] | None:
    """A direct convolution (``codegen.direct``) when A's rows (the output channels) are fewer than a GEMM tile's:
    ``i`` the output symbols A reads, ``j`` the last output symbol (contiguous in B and C), ``rows`` the other
    output symbols of known extent B reads and A does not (the image rows), run inside the kernel; with its cost
    in the units of ``_implicit_gemm``."""
    extents = d.extents
    out = [o for o in d.out if o in extents]
    if not out:
        return None
    reads = {r: set().union(*(sp.sympify(x).free_symbols for x in r.indices)) & set(extents) for r in (a, b)}
    terms = [address_coefficients(r.indices, names[r.name].shape) for r in (a, b)] + \
        [address_coefficients(d.out, d.shape)]
    j = out[-1]
    if None in terms or terms[1].get(j) != 1 or terms[2].get(j) != 1 or j in reads[a]:
        return None
    fixed = [o for o in out[:-1] if isinstance(extents[o], int)]
    # a symbol of extent 1 neither reads (the one input channel of a convolution's input gradient): a row of A
    i = [o for o in fixed if o in reads[a] and o not in reads[b] or extents[o] == 1 and o not in reads[a] | reads[b]]
    rows = [o for o in fixed if o in reads[b] and o not in reads[a]]
    k = [s for s in d.symbols if s not in out and isinstance(extents[s], int)]
    if not (i and rows and k) or not isinstance(extents[j], int) or \
            any(s not in reads[a] or s not in reads[b] for s in k):
        return None
    outer = [s for s in d.symbols if s not in (*i, j, *k)]
    m, n, r, depth = (math.prod(extents[s] for s in g) for g in (i, [j], rows, k))
    if min(m, n, r, depth) < 1:
        return None
    lanes = vector_bits() // (32 if d.dtype.itemsize == 4 else 64)
    if m >= tile_shape(vector_bits(), lanes, n)[0]:  # channels enough for the GEMM's tiles: it reuses B more
        return None
    cost = direct_shape(vector_bits(), lanes, m, n, r, depth)[3] + 300
    b_zero, tap = _padding(b, names, rows, k, extents), _row_tap(terms[1], rows, k, extents)
    sliding = tap and sliding_shape(vector_bits(), lanes, m, n, r, depth, extents[tap], extents[rows[-1]])
    columns = None
    if guards:  # only the sliding kernel reads B in place, and only under the bounds of its rows and columns
        others = {s for s in (*k, *outer) if s != tap and s not in rows}
        split = sliding and _bounds_of(guards, b, names, extents, terms[1], rows[-1], tap, j, others)
        if not split:
            return None
        (b_zero, columns), cost = split, sliding[2] + 300
    if sliding and sliding[2] + 300 <= cost:
        cost, k = sliding[2] + 300, [s for s in k if s != tap] + [tap]
        if b_zero is not None and not _along_lines(b_zero, terms[1], rows[-1], tap):
            b_zero = None
    else:
        tap = None
    calls = math.prod(extents[s] for s in outer if s not in rows and isinstance(extents[s], int))
    return cost * calls, Contraction(tuple(i), (j,), tuple(k), a.atom, b.atom, scale, d.name, tuple(outer),
                                     b_guards=tuple(guards), rows=tuple(rows), b_zero=b_zero, row_tap=tap,
                                     b_columns=columns)


def _bounds_of(guards, b, names, extents, terms_b: dict, row: sp.Symbol, tap: sp.Symbol, j: sp.Symbol,
               others: set) -> tuple[sp.Expr | None, sp.Expr | None] | None:
    """The guards as (the one on B's rows, the one on its columns) when they are the bounds of B's indices, one
    constant along the sliding kernel's lines (the row and the tap alone), one moving with the lanes (``j`` by 1,
    besides it only ``others``: summed symbols but the tap, symbols looping around the kernel), and B's other
    indices never leave their dimensions; else None."""
    shape, found = names[b.name].shape, {}
    for g in guards:
        if not is_range(g):
            return None
        p = next((p for p, x in enumerate(b.indices) if sp.expand(x - g.args[0]) == 0), None)
        terms = affine_coefficients(sp.expand(g.args[0]))
        if p is None or terms is None or g.args[1] != 0 or g.args[2] != shape[p] - 1:
            return None
        if _along_lines(g, terms_b, row, tap) and "rows" not in found:
            found["rows"] = g
        elif terms.get(j) == 1 and set(terms) - {1, j} <= others and "columns" not in found:
            found["columns"] = g
        else:
            return None
    guarded = {sp.expand(g.args[0]) for g in guards}
    for x, n in zip(b.indices, shape, strict=True):
        if x.is_Integer or x in extents:  # a plain symbol spans its dimension (``verify``)
            continue
        bounds = affine_bounds(x, extents)
        if sp.expand(x) not in guarded and (bounds is None or bounds[0] < 0 or bounds[1] > n - 1):
            return None
    return found.get("rows"), found.get("columns")


def _along_lines(condition: sp.Expr, terms_b: dict, row: sp.Symbol, tap: sp.Symbol) -> bool:
    """Whether a range condition on B's rows depends on the row and the tap alone, as B's address does (one value
    along each line the sliding kernel loads)."""
    terms = affine_coefficients(sp.expand(condition.args[0]))
    return terms is not None and set(terms) - {1} <= {row, tap} and \
        terms.get(tap, 0) * terms_b[row] == terms.get(row, 0) * terms_b[tap]


def _row_tap(terms_b: dict, rows, k, extents) -> sp.Symbol | None:
    """A summed symbol that moves B by ± the stride of its last row symbol (a kernel's row offset), or None."""
    if not terms_b.get(rows[-1]):
        return None
    line = terms_b[rows[-1]]
    return next((s for s in k if terms_b.get(s) in (line, -line) and extents[s] > 1), None)


def _padding(read, names, rows, k, extents) -> sp.Expr | None:
    """The range condition of a zero-padded copy's definition (``T_pad[u] = [0 ≤ u − p ≤ n − 1]·T[u − p]``) at
    this read's index, of image rows and summed symbols alone, outside which at least a tenth of the (row, k)
    pairs fall: the taps of a correlation in the padding (30% of LeNet's conv2 input gradient, 14 × 14 outputs
    over a 10 × 10 gradient padded by 4; 4% of its conv1, where the test would cost more than it skips)."""
    source = names[read.name]
    if not isinstance(source, Def) or source.combine != "assign" or not is_guard(source.body) or \
            source.body.args[1] != 0:
        return None
    at = dict(zip(source.out, read.indices, strict=True))
    for condition in source.body.args[2:]:
        if not is_range(condition):
            continue
        moved = condition.xreplace(at)
        terms = affine_coefficients(sp.expand(moved.args[0]))
        if terms is None or not set(terms) - {1} <= set(rows) | set(k) or \
                not (any(s in terms for s in rows) and any(s in terms for s in k)):
            continue
        parts = []  # the expression's values over the rows (with its constant) and over k
        for group, start in ((rows, terms.get(1, 0)), (k, 0)):
            values = np.array([start], dtype=np.int64)
            for s in group:
                if s in terms:
                    values = (values[:, None] + terms[s] * np.arange(extents[s], dtype=np.int64)).ravel()
            parts.append(values)
        by_row, by_k = parts[0], np.sort(parts[1])
        lo, hi = int(moved.args[1]), int(moved.args[2])
        inside = np.searchsorted(by_k, hi - by_row, "right") - np.searchsorted(by_k, lo - by_row, "left")
        if inside.sum() <= 0.9 * by_row.size * by_k.size:
            return moved
    return None


def _dots(d: Def, a, b, scale, guards, names) -> tuple[float, Contraction] | None:
    """Dot products along a summed symbol contiguous in both operands (``codegen.dots``; a convolution's weight
    gradient along the image row): ``i`` the output symbols A reads, ``j`` those B reads, ``k`` the summed symbols
    of known extent; with its cost in the units of ``_implicit_gemm``."""
    extents = d.extents
    out = [o for o in d.out if o in extents]
    if guards or not out or any(not isinstance(extents[o], int) for o in out):
        return None
    reads = {r: set().union(*(sp.sympify(x).free_symbols for x in r.indices)) & set(extents) for r in (a, b)}
    terms = [address_coefficients(r.indices, names[r.name].shape) for r in (a, b)]
    if None in terms or address_coefficients(d.out, d.shape) is None:
        return None
    k = [s for s in d.symbols if s not in out and isinstance(extents[s], int)]
    along = [s for s in k if terms[0].get(s) == 1 and terms[1].get(s) == 1]
    i = [o for o in out if o in reads[a] and o not in reads[b] or extents[o] == 1 and o not in reads[a] | reads[b]]
    j = [o for o in out if o in reads[b] and o not in reads[a]]
    if not (along and i and j) or len(i) + len(j) != len(out) or any(s not in reads[a] or s not in reads[b] for s in k):
        return None
    x = max(along, key=lambda s: extents[s])
    m, n = (math.prod(extents[s] for s in g) for g in (i, j))
    lanes = vector_bits() // (32 if d.dtype.itemsize == 4 else 64)
    shape = dot_shape(vector_bits(), lanes, m, n, math.prod(extents[s] for s in k if s != x), extents[x])
    if shape is None:
        return None
    outer = [s for s in d.symbols if s not in (*i, *j, *k)]
    calls = math.prod(extents[s] for s in outer if isinstance(extents[s], int))
    return (shape[2] + 300) * calls, Contraction(tuple(i), tuple(j), tuple(k), a.atom, b.atom, scale, d.name,
                                                 tuple(outer), lanes_along=x)


def _loop_signature(stmts) -> tuple | None:
    """The loop structure of a kernel that is a nest of loops around one reduction, or None."""
    outer = []
    while len(stmts) == 1 and isinstance(stmts[0], Loop):
        outer.append((stmts[0].var, stmts[0].extent))
        stmts = stmts[0].body
    if len(stmts) != 1 or not isinstance(stmts[0], Reduce):
        return None
    inner, loops = [], stmts[0].loops
    while loops:
        inner.append((loops[0].var, loops[0].extent))
        loops = loops[0].body
    return tuple(outer), tuple(inner)


def _with_innermost(stmts, replacement: list) -> list:
    """The loop nest ``stmts`` with ``replacement`` as its innermost statements."""
    if isinstance(stmts[0], Loop):
        return [Loop(stmts[0].var, stmts[0].extent, _with_innermost(stmts[0].body, replacement))]
    return replacement


def _innermost(stmts):
    while isinstance(stmts[0], Loop):
        stmts = stmts[0].body
    return stmts[0]


def _precision(k: Kernel, tensors: dict) -> np.dtype:
    return arithmetic_precision(k.definition.dtype, [(tensors[n].dtype, tensors[n].shape) for n in k.reads])


def _beside_twins(kernels: list[Kernel]) -> list[Kernel]:
    """Each argmax moved next to the max over the same values and loops (a max-pool's forward and the positions
    its backward reads), when what it reads is ready there: fused, one pass computes both."""
    kernels = list(kernels)
    for k, mine in [(k, r) for k in kernels if (r := _innermost_reduce(k, "argmax")) is not None]:
        twin = next((t for t in kernels[:kernels.index(k)] if (r := _innermost_reduce(t, "max")) is not None and
                     r.value == mine.value and r.ties == mine.ties and r.index == mine.index and
                     _loop_signature(t.body) == _loop_signature(k.body)), None)
        if twin is None:
            continue
        at = kernels.index(twin)
        written = {w.name for j in kernels[at + 1:kernels.index(k)] for w in j.writes}
        if not written & set(k.reads):
            kernels.remove(k)
            kernels.insert(at + 1, k)
    return kernels


def _innermost_reduce(k: Kernel, op: str) -> Reduce | None:
    if _loop_signature(k.body) is None:
        return None
    r = _innermost(k.body)
    return r if isinstance(r, Reduce) and r.op == op else None


def fuse_siblings(kernels: list[Kernel], tensors: dict) -> list[Kernel]:
    """Merge adjacent kernels that reduce over identical loops, in one float precision, none reading another's
    output."""
    groups: list[list[Kernel]] = []
    for k in kernels:
        signature = _loop_signature(k.body)
        group = groups[-1] if groups else None
        if group and signature is not None and _loop_signature(group[0].body) == signature and \
                _precision(group[0], tensors) == _precision(k, tensors) and \
                not any(m.definition.name in k.reads for m in group):
            group.append(k)
        else:
            groups.append([k])
    return [g[0] if len(g) == 1 else Kernel(
        g[0].definition, sorted(set().union(*(m.reads for m in g))),
        _with_innermost(g[0].body, [MultiReduce([_innermost(m.body) for m in g])]), g) for g in groups]


def _store_nest(k: Kernel) -> tuple | None:
    """The loops and index of a kernel that is a nest of loops around one plain store, or None."""
    loops, stmts = [], k.body
    while len(stmts) == 1 and isinstance(stmts[0], Loop):
        loops.append((stmts[0].var, stmts[0].extent))
        stmts = stmts[0].body
    if not loops or len(stmts) != 1 or not isinstance(stmts[0], Store) or stmts[0].accumulate:
        return None
    return tuple(loops), tuple(stmts[0].index)


def _hoist_scalars(kernels: list[Kernel]) -> list[Kernel]:
    """0-d definitions of the inputs alone (an optimizer's bias corrections of the step count) first, so they
    stand between no two loops that could share a pass."""
    written = {w.name for k in kernels for w in k.writes}
    first = [not k.definition.shape and not written & set(k.reads) for k in kernels]
    return [k for k, f in zip(kernels, first, strict=True) if f] + \
        [k for k, f in zip(kernels, first, strict=True) if not f]


def fuse_elementwise(kernels: list[Kernel], tensors: dict) -> list[Kernel]:
    """Merge adjacent elementwise kernels over the same loops and index, of one dtype (a store takes the
    kernel's) and float precision, where a later one reads an earlier one's output only at that index (the value
    just stored): one pass writes them all, as an optimizer's moments and its update."""
    groups: list[list[Kernel]] = []
    for k in kernels:
        nest, group = _store_nest(k), groups[-1] if groups else None
        if group and nest is not None and _store_nest(group[0]) == nest and \
                group[0].definition.dtype == k.definition.dtype and \
                _precision(group[0], tensors) == _precision(k, tensors) and \
                _reads_only_here(k, {m.definition.name for m in group}, nest[1]):
            group.append(k)
        else:
            groups.append([k])
    merged = []
    for g in groups:
        if len(g) == 1:
            merged.append(g[0])
            continue
        written = {m.definition.name for m in g}
        reads = sorted(set().union(*(m.reads for m in g)) - written)
        stores = [_innermost(m.body) for m in g]
        merged.append(Kernel(g[0].definition, reads, _with_innermost(g[0].body, stores), g))
    return merged


def _reads_only_here(k: Kernel, names: set[str], index: tuple) -> bool:
    value = _innermost(k.body).value
    return all(tuple(r.indices) == index for r in value.atoms(sp.Indexed) if str(r.base.label) in names) and \
        not any(is_tensor_symbol(s) and s.name in names for s in value.free_symbols)



def pad_guarded_reads(graph: Graph, keep: frozenset[str] = frozenset()) -> Graph:
    """A sum whose only guard is the bounds check of one read, ``Σ [0 ≤ α ≤ n−1]·(T[α]·rest)``, reads a zero-padded
    copy of T instead (``Σ Tp[α + p]·rest``): the adjoint of a convolution becomes a plain contraction, whose
    operands the micro-kernel gathers without a test per element. First, a sum only a shifted copy reads is summed
    where the copy reads it (``sums_into_slices``). Definitions named in ``keep`` stay as they are."""
    graph = sums_into_slices(graph, keep)
    tensors = graph.tensors()
    defs: list[Def] = []
    taken = set(tensors)
    changed = False
    for d in graph.defs:
        if d.name not in keep:
            d, dropped = _without_holding_conditions(d)
            changed |= dropped
        padded = None if d.name in keep or _in_place(d, tensors) else _padded_read(d, tensors, taken)
        if padded is None:
            defs.append(d)
            continue
        copy, rewritten = padded
        taken.add(copy.name)
        defs += [copy, rewritten]
    return Graph(graph.inputs, defs, graph.outputs) if changed or len(defs) != len(graph.defs) else graph


def _in_place(d: Def, tensors) -> bool:
    """Whether ``d`` is a contraction the sliding kernel runs on its guarded operand in place (no padded copy)."""
    c = match_contraction(d, tensors) if d.combine == "sum" and is_guard(d.body.as_coeff_Mul()[1]) else None
    return c is not None and c.row_tap is not None and bool(c.b_guards)


def sums_into_slices(graph: Graph, keep: frozenset[str] = frozenset()) -> Graph:
    """A copy of a window of a sum, ``D[u] = S[u + c]``, where nothing else reads S, is that sum over the window:
    ``D[u] = Σ body_S(u + c)``. A padded convolution's input gradient is the gradient of the padded input copied
    out of its interior (LeNet's conv1: 32 × 32 computed, 28 × 28 copied); summed in place it computes the 28 × 28
    alone, over an output gradient padded by 2, not 4."""
    tensors = graph.tensors()
    readers: dict[str, list[Def]] = {}
    for d in graph.defs:
        for name in accesses_deep(d, tensors):
            readers.setdefault(name, []).append(d)
    folded: dict[str, Def] = {}
    for d in graph.defs:
        source = tensors.get(str(d.body.base.label)) if isinstance(d.body, sp.Indexed) else None
        if d.combine != "assign" or d.name in keep or not isinstance(source, Def) or source.combine != "sum" or \
                source.name in keep or source.name in graph.outputs or readers.get(source.name) != [d] or \
                source.dtype != d.dtype or not is_selection(d.out, d.extents, d.shape) or \
                not is_selection(source.out, source.extents, source.shape):
            continue
        at = _shifted_symbols(d, source)
        if at is not None:
            reduced = [(s, n) for s, n in source.domain if s not in source.out]
            taken = {t.name for t in d.symbols}
            renamed = {s: sp.Symbol(_fresh(s.name, taken | {r.name for r, _ in reduced if r != s}), integer=True,
                                    nonnegative=True) for s, _ in reduced if s.name in taken}
            body = source.body.xreplace({**renamed, **at})
            domain = (*d.domain, *((renamed.get(s, s), n) for s, n in reduced))
            folded[d.name] = Def(d.name, d.shape, d.dtype, domain, d.out, body, "sum", label=d.label)
    if not folded:
        return graph
    dropped = {str(f.body.base.label) for f in graph.defs if f.name in folded}
    return Graph(graph.inputs, [folded.get(d.name, d) for d in graph.defs if d.name not in dropped], graph.outputs)


def _shifted_symbols(d: Def, source: Def) -> dict | None:
    """S's output symbols as the copy D reads them, each one of D's symbols plus a constant (distinct ones, every
    symbol of D's of extent past 1 among them); None when D reads S otherwise."""
    at = {}
    for o, index in zip(source.out, d.body.indices, strict=True):
        terms = affine_coefficients(sp.expand(index))
        moved = [t for t in (terms or {}) if t != 1]
        if not isinstance(o, sp.Symbol):
            if index != o:
                return None
            continue
        if terms is None or len(moved) != 1 or terms[moved[0]] != 1 or any(v.has(moved[0]) for v in at.values()):
            return None
        at[o] = sp.expand(index)
    if any(d.extents[t] != 1 and not any(v.has(t) for v in at.values()) for t in d.symbols):
        return None
    return at


def _fresh(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    return name


def _without_holding_conditions(d: Def) -> tuple[Def, bool]:
    """``d`` without the index conditions that hold over its whole domain (``[p = 0]`` over a channel of extent 1,
    the input gradient of a one-channel convolution), and whether any was dropped."""
    body = _holding_dropped(d.body, d.extents)
    return (d.with_body(body), True) if body != d.body else (d, False)


def _holding_dropped(e: sp.Expr, extents) -> sp.Expr:
    """``e`` with each index condition that holds over the domain (an equality of expressions that never differ,
    a range its expression never leaves) taken as 1."""
    holding = {}
    for c in e.atoms(sp.Function):
        if is_range(c):
            bounds = affine_bounds(c.args[0], extents)
            if bounds is not None and c.args[1].is_Integer and c.args[2].is_Integer and \
                    c.args[1] <= bounds[0] and bounds[1] <= c.args[2]:
                holding[c] = sp.Integer(1)
        elif getattr(type(c), "value_kind", None) == "condition" and getattr(type(c), "code", None) == "==" and \
                not c.has(sp.Indexed) and all(a.is_integer for a in c.args):  # indices only: [x = x] is 0 at NaN
            if affine_bounds(c.args[0] - c.args[1], extents) == (0, 0):
                holding[c] = sp.Integer(1)
    return e.xreplace(holding) if holding else e


def _padded_read(d: Def, tensors, taken) -> tuple[Def, Def] | None:
    scale, guard = d.body.as_coeff_Mul()
    if d.combine != "sum" or not is_guard(guard) or guard.args[1] != 0:
        return None
    value, _, *conditions = guard.args
    reads = accesses(value, tensors)
    if len(reads) != 2 or value != reads[0].atom * reads[1].atom:
        return None
    for read in reads:
        target = tensors[read.name]
        if any(not isinstance(n, int) for n in target.shape[1:]):
            continue
        pads = [(0, 0)] * len(read.indices)
        for c in conditions:
            if not is_range(c):
                return None
            x, lo, hi = c.args
            p = next((p for p, e in enumerate(read.indices) if sp.expand(e - x) == 0), None)
            if p is None or lo != 0 or hi != target.shape[p] - 1:
                break
            bounds = affine_bounds(x, d.extents)
            if bounds is None:
                break
            pads[p] = (max(0, -bounds[0]), max(0, bounds[1] - (target.shape[p] - 1)))
        else:
            name = read.name + "_pad"
            while name in taken:
                name += "_"
            shape = tuple(n + lo + hi for n, (lo, hi) in zip(target.shape, pads, strict=True))
            syms = fresh_indices(shape)
            inner = [u - lo for u, (lo, _) in zip(syms, pads, strict=True)]
            bounds = [type(conditions[0])(e, 0, n - 1) for e, n, pad in zip(inner, target.shape, pads, strict=True)
                      if pad != (0, 0)]
            body = type(guard)(sp.Indexed(read.atom.base, *inner), 0, *bounds)
            copy = Def(name, shape, target.dtype, tuple(zip(syms, shape, strict=True)), syms, body,
                       label=f"{read.name} padded")
            moved = sp.Indexed(read.atom.base.func(name), *(e + lo for e, (lo, _) in zip(read.indices, pads,
                                                                                       strict=True)))
            return copy, d.with_body(scale * value.xreplace({read.atom: moved}))
    return None


def reads_stored(defs: list[Def], tensors: dict) -> list[Def]:
    """A sum of what an earlier elementwise definition stores — ``db[i] = Σ_{b,j,k,l,m} f(…)`` where
    ``dconv[b, i, n, p] = f(…)`` at n = 2j + l, p = 2k + m (a convolution's bias gradient and its output gradient
    through a max-pool) — reads the stored values instead of computing them again; a pair of summed symbols that
    meets only as ``q·j + l`` (0 ≤ l < q) is then one symbol over the stored extent, so the sum runs along the
    stored rows."""
    stored: list[Def] = []
    out = []
    for d in defs:
        if d.combine == "sum":
            d = next((r for e in stored if (r := _as_read_of(d, e, tensors)) is not None), d)
        elif d.combine == "assign" and all(isinstance(o, sp.Symbol) for o in d.out) and set(d.out) == set(d.symbols):
            stored.append(d)
        out.append(d)
    return out


def _as_read_of(d: Def, e: Def, tensors: dict) -> Def | None:
    """``d`` summing ``e[α]`` where its body is ``e``'s at α, or None (also when ``_merged_pairs`` declines)."""
    for mine in accesses(e.body, tensors):
        if list(mine.indices) != list(e.out):
            continue
        for theirs in accesses(d.body, tensors):
            if theirs.name != mine.name:
                continue
            at = dict(zip(e.out, theirs.indices, strict=True))
            if _holding_dropped(_within_ranges(e.body.xreplace(at), d.extents), d.extents) == d.body:
                return _merged_pairs(d.with_body(sp.Indexed(sp.IndexedBase(e.name), *theirs.indices)), tensors)
    return None


def _within_ranges(e: sp.Expr, extents) -> sp.Expr:
    """``e`` with each ``floor(x/q)`` and ``Mod(x, q)`` of an affine x that stays in one block of q over the
    domain replaced by its value there (``floor((2j + l)/2)`` = j and ``Mod(2j + l, 2)`` = l for l < 2)."""
    def value(f):
        x, q = (f.args[0], sp.Integer(1)) if isinstance(f, sp.floor) else (f.args[0] / f.args[1], None)
        numerator, denominator = sp.fraction(sp.together(x))
        if not denominator.is_Integer or (bounds := affine_bounds(numerator, extents)) is None:
            return f
        block = sp.floor(sp.Rational(bounds[0], denominator))
        if sp.floor(sp.Rational(bounds[1], denominator)) != block:
            return f
        return block if q is not None else f.args[0] - block * f.args[1]

    return e.replace(lambda f: isinstance(f, sp.floor | sp.Mod), value)


def _merged_pairs(d: Def, tensors: dict) -> Def | None:
    """Summed symbols j, l that occur only together as ``q·j + l`` with l over [0, q) become one symbol over
    [0, q·extent(j)); None when the contiguous run the sum then walks (``collapsed``) would not fill a vector (then
    the sum is better computed as it was: a shorter row's vectorized sum and its remainder, unrolled over the rows,
    took LLVM 0.35 s, and a scattered sum of the stored values is no faster than computing them)."""
    extents, domain, body = d.extents, list(d.domain), d.body
    lanes = vector_bits() // (8 * d.dtype.itemsize)
    for read in body.atoms(sp.Indexed):
        for index in read.indices:
            terms = affine_coefficients(sp.expand(index))
            pair = [s for s in (terms or {}) if s != 1]
            if len(pair) != 2 or any(s not in d.reduced or not isinstance(extents[s], int) for s in pair):
                continue
            low, high = sorted(pair, key=lambda s: terms[s])
            elsewhere = body.xreplace({index: sp.Integer(0)})
            if terms[low] != 1 or terms[high] != extents[low] or elsewhere.has(low) or elsewhere.has(high):
                continue
            name = high.name + low.name
            while name in {s.name for s, _ in domain}:
                name += "_"
            merged = sp.Symbol(name, integer=True, nonnegative=True)
            body = body.xreplace({index: merged + terms.get(1, 0)})
            domain = [(merged, extents[high] * extents[low]) if s == high else (s, n) for s, n in domain if s != low]
    result = Def(d.name, d.shape, d.dtype, tuple(domain), d.out, body, d.combine, d.ties, d.label)
    inner, order = _register_order(result, tensors)
    run, order = collapsed(result, order, tensors)
    long = inner is not None and isinstance(run.extents[order[-1]], int) and run.extents[order[-1]] >= lanes
    return result if long else None


def lower_graph(graph: Graph) -> list[Kernel]:
    tensors = graph.tensors()
    defs = reads_stored(list(graph.defs), tensors)
    kernels = _hoist_scalars(_beside_twins([lower_def(d, tensors) for d in defs]))
    return fuse_elementwise(fuse_siblings(kernels, tensors), tensors)


def show_loops(kernels: list[Kernel]) -> str:
    """The loop nests as indented pseudo-code."""
    lines: list[str] = []

    def idx(index):
        return ", ".join(str(i) for i in index)

    def walk(stmts, depth):
        pad = "    " * depth
        for s in stmts:
            if isinstance(s, Loop):
                lines.append(f"{pad}for {s.var} in range({s.extent}):")
                walk(s.body, depth + 1)
            elif isinstance(s, Zero):
                lines.append(f"{pad}{s.buffer}[...] = 0")
            elif isinstance(s, Store):
                target = f"{s.buffer}[{idx(s.index)}]" if s.index else s.buffer
                lines.append(f"{pad}{target} {'+=' if s.accumulate else '='} {sp.sstr(s.value)}")
            elif isinstance(s, MultiReduce):
                for r in s.reductions:
                    walk([r], depth)
            elif isinstance(s, Contraction):
                for o in s.outer:
                    if o not in s.rows:
                        lines.append(f"{pad}for {o}:")
                        pad += "    "
                guard = "".join(f"{sp.sstr(g)}·" for g in s.a_guards + s.b_guards)
                rows = f"{idx(s.rows)}, " if s.rows else ""
                how = f"direct convolution, rows of vectors{f' sliding along {s.row_tap}' if s.row_tap else ''}" \
                    if s.rows else \
                    f"dot products along {s.lanes_along}" if s.lanes_along is not None else \
                    "micro-kernel over packed panels"
                lines.append(f"{pad}{s.buffer}[{idx(s.i)} | {rows}{idx(s.j)}] = {s.scale}·Σ_{idx(s.k)} "
                             f"{guard}{s.a}·{s.b}   # register-tiled {how}")
            else:
                init = {"sum": "0", "prod": "1", "max": "-inf", "argmax": "-inf, 0"}[s.op]
                lines.append(f"{pad}acc = {init}")
                inner = s.loops
                walk_reduce(inner, s, depth)
                target = f"{s.buffer}[{idx(s.index)}]" if s.index else s.buffer
                lines.append(f"{pad}{target} = acc{'.position' if s.op == 'argmax' else ''}")

    def walk_reduce(loops, s, depth):
        if not loops:
            op = {"sum": "acc += {}", "prod": "acc *= {}", "max": "acc = max(acc, {})",
                  "argmax": "acc = argmax(acc, {})"}[s.op]
            lines.append("    " * depth + op.format(sp.sstr(s.value)))
            return
        loop = loops[0]
        lines.append("    " * depth + f"for {loop.var} in range({loop.extent}):")
        walk_reduce(loop.body, s, depth + 1)

    for k in kernels:
        lines.append(f"# {k.definition.name}: {k.definition.combine}")
        walk(k.body, 0)
    return "\n".join(lines)
