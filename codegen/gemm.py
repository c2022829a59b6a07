"""The contraction micro-kernel: ``C[i, j] (=|+=) scale · Σ_k A(i, k) · B(k, j)``.

The strided kernels of the host's tile shapes are a ``library`` per precision, which every compiled graph calls
(``shared_gemm``); the tabled ones, and every kernel of an export, are defined in the graph's own module.

One function per precision, tile shape and addressing, called by every contraction kernel. B is packed per
(column panel, k-block) into a contiguous buffer of two-vector rows (any addressing in, unit stride out,
zero-padded past N); tiles of ``rows`` × two vectors accumulate in registers with FMA over the k-block and are
added to C. The last rows (M mod rows) take a tile of full height whose extra rows are computed and dropped
(one tile's code serves every row); column edges go through a small buffer.

Two addressings share the kernel:
- strided: ``A[i·sAi + k·sAk]``, ``B[k·sBk + j·sBj]``, ``C[i·sCi + j]`` (matmul and its adjoints);
- tabled (implicit GEMM for convolutions): ``A[ai[i] + ak[k]]``, ``B[bk[k] + bj[j]]``, ``C[ci[i] + j]`` with offset
  tables, each group of indices flattened (the patches of a convolution are read straight from the image, or
  gathered into the packed panel: no patch matrix), elements kept only where their range guards hold (the zero
  padding of a convolution's input gradient), and C written element by element where its columns are not
  contiguous (a few output channels as the columns, the image positions as the rows).
"""

from __future__ import annotations

import functools

from llvmlite import ir

from .irloops import I1, span
from .jit import vector_bits
from .library import Library

I32, I64 = ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()
BLOCK_K = 256


def tile_shape(vector_bits: int, lanes: int, columns, height=None) -> tuple[int, int]:
    """(rows, vectors) of a register tile: 8 × 2 accumulators fit AVX-512's 32 vector registers and 6 × 2
    AVX2's 16; an output no wider than one vector (``columns`` ≤ lanes) takes twice the rows of one vector; an
    output of fewer rows (``height``, a convolution's few channels) takes a tile of just that many."""
    rows = 8 if vector_bits >= 512 else 6
    rows, vectors = (2 * rows, 1) if isinstance(columns, int) and columns <= lanes else (rows, 2)
    return (min(rows, height) if isinstance(height, int) and height > 0 else rows), vectors


class Strided:
    """Addresses from strides: the arguments ``sAi, sAk, sBk, sBj, sCi``."""

    tag = "s"
    scatter = b_rows = False

    def arguments(self) -> list[ir.Type]:
        return [I64] * 5

    def bind(self, b: ir.IRBuilder, args) -> None:
        self.b = b
        self.sAi, self.sAk, self.sBk, self.sBj, self.sCi = args

    def a_row(self, i):
        return self.b.mul(i, self.sAi), []

    def a_column(self, k):
        return self.b.mul(k, self.sAk), []

    def a_holds(self, row_terms, column_terms):
        return None

    def b_element(self, k, j):
        return self.b.add(self.b.mul(k, self.sBk), self.b.mul(j, self.sBj)), None

    def c_row(self, i):
        return self.b.mul(i, self.sCi)


class Tabled:
    """Addresses from i64 offset tables — ``A[ai[i] + ak[k]]``, ``B[bk[k] + bj[j]]``, ``C[ci[i] + j]`` (or
    ``C[ci[i] + cj[j]]`` element by element when ``scatter``) — and range guards on A's elements (``gi, gk, lo,
    hi``: kept where lo ≤ gi[i] + gk[k] ≤ hi, else 0) and on B's (``gk, gj, lo, hi``)."""

    def __init__(self, a_guards: int = 0, b_guards: int = 0, scatter: bool = False, b_rows: bool = False):
        self.a_guards, self.b_guards, self.scatter, self.b_rows = a_guards, b_guards, scatter, b_rows
        self.tag = f"t{a_guards}{b_guards}{'s' if scatter else 'c'}{'r' if b_rows else ''}"

    def arguments(self) -> list[ir.Type]:
        return [PTR] * 6 + [PTR, PTR, I64, I64] * (self.a_guards + self.b_guards)

    def bind(self, b: ir.IRBuilder, args) -> None:
        self.b = b
        self.ai, self.ak, self.bk, self.bj, self.ci, self.cj = args[:6]
        guards = [args[6 + 4 * g: 10 + 4 * g] for g in range(self.a_guards + self.b_guards)]
        self.on_a, self.on_b = guards[:self.a_guards], guards[self.a_guards:]

    def entry(self, table, n):
        return self.b.load(self.b.gep(table, [n], source_etype=I64), typ=I64)

    def within(self, value, lo, hi):
        return self.b.and_(self.b.icmp_signed(">=", value, lo), self.b.icmp_signed("<=", value, hi))

    def a_row(self, i):
        return self.entry(self.ai, i), [self.entry(g[0], i) for g in self.on_a]

    def a_column(self, k):
        return self.entry(self.ak, k), [self.entry(g[1], k) for g in self.on_a]

    def a_holds(self, row_terms, column_terms):
        holds = None
        for (_, _, lo, hi), r, c in zip(self.on_a, row_terms, column_terms, strict=True):
            test = self.within(self.b.add(r, c), lo, hi)
            holds = test if holds is None else self.b.and_(holds, test)
        return holds

    def b_element(self, k, j):
        holds = None
        for gk, gj, lo, hi in self.on_b:
            test = self.within(self.b.add(self.entry(gk, k), self.entry(gj, j)), lo, hi)
            holds = test if holds is None else self.b.and_(holds, test)
        return self.b.add(self.entry(self.bk, k), self.entry(self.bj, j)), holds

    def c_row(self, i):
        return self.entry(self.ci, i)

    def c_column(self, j):
        return self.entry(self.cj, j) if self.scatter else j


def _name(T: ir.Type, rows: int, vectors: int, addressing: Strided | Tabled) -> str:
    return f"sn_gemm_{_precision(T)}_{rows}x{vectors}_{addressing.tag}"


def _precision(T: ir.Type) -> str:
    return "f32" if isinstance(T, ir.FloatType) else "f64"


def _type(T: ir.Type, addressing: Strided | Tabled) -> ir.FunctionType:
    return ir.FunctionType(ir.VoidType(), [PTR, PTR, PTR, I64, I64, I64, *addressing.arguments(), T, I1])


def shared_gemm(module: ir.Module, T: ir.Type, rows: int, vectors: int) -> tuple[ir.Function, Library]:
    """The strided micro-kernel of the process's GEMM library, declared in ``module`` (a graph linked against the
    libraries: the kernel is optimized once per host, not in every graph), and the library."""
    name = _name(T, rows, vectors, Strided())
    fn = module.globals.get(name) or ir.Function(module, _type(T, Strided()), name)
    return fn, LIBRARIES[_precision(T)]


def _library_variants(precision: str) -> list[tuple[ir.Type, int, int, int]]:
    """(T, lanes, rows, vectors) of the strided tiles this host's graphs call: wide outputs and outputs no wider
    than one vector (``tile_shape``)."""
    T = ir.FloatType() if precision == "f32" else ir.DoubleType()
    lanes = vector_bits() // (32 if precision == "f32" else 64)
    shapes = {tile_shape(vector_bits(), lanes, None), tile_shape(vector_bits(), lanes, lanes)}
    return [(T, lanes, rows, vectors) for rows, vectors in sorted(shapes)]


def _library_ir(precision: str) -> str:
    module = ir.Module(name=f"sn_gemm_{precision}")
    for T, lanes, rows, vectors in _library_variants(precision):
        gemm_function(module, T, lanes, rows, vectors).linkage = "external"
    return str(module)


def _library_names(precision: str) -> list[str]:
    return [_name(T, rows, vectors, Strided()) for T, _, rows, vectors in _library_variants(precision)]


#: per precision, the strided micro-kernels every graph of this process calls (``shared_gemm``)
LIBRARIES = {p: Library(f"gemm_{p}", functools.partial(_library_ir, p), functools.partial(_library_names, p))
             for p in ("f32", "f64")}


def gemm_function(module: ir.Module, T: ir.Type, lanes: int, rows: int, vectors: int = 2,
                  addressing: Strided | Tabled | None = None) -> ir.Function:
    """``(C, A, B, M, N, K, *addressing, scale, accumulate)``: C = scale·A·B, or C += scale·A·B when
    ``accumulate`` is set."""
    from . import mathlib  # only to emit: a process that loads its graphs from the cache never imports it

    addressing = addressing or Strided()
    name = _name(T, rows, vectors, addressing)
    if name in module.globals:
        return module.globals[name]
    fn = ir.Function(module, _type(T, addressing), name)
    fn.linkage = "internal"
    fn.attributes.add("noinline")
    for a in fn.args[:3]:
        a.add_attribute("noalias")
    C, A, B, M, N, K = fn.args[:6]
    scale, accumulate = fn.args[-2:]
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    addressing.bind(b, fn.args[6:-2])
    vec = ir.VectorType(T, lanes)
    panel = vectors * lanes

    def i64(v):
        return ir.Constant(I64, v)

    def splat(x, vector=vec):
        mask = ir.Constant(ir.VectorType(I32, lanes), [0] * lanes)
        undefined = ir.Constant(vector, None)
        return b.shuffle_vector(b.insert_element(undefined, x, i64(0)), undefined, mask)

    packed = b.alloca(T, size=i64(BLOCK_K * panel))
    packed.align = 64
    edge = b.alloca(vec)
    acc = [[b.alloca(vec) for _ in range(vectors)] for _ in range(rows)]  # promoted to registers by LLVM
    suffix = f"v{lanes}{'f32' if isinstance(T, ir.FloatType) else 'f64'}"
    fma_name = f"llvm.fma.{suffix}"
    fma = module.globals.get(fma_name) or ir.Function(module, ir.FunctionType(vec, [vec] * 3), fma_name)
    scale_vec = splat(scale)
    last_row = b.sub(M, i64(1))

    ivec = ir.VectorType(I64, lanes)

    def column_mask(col0):
        """The mask of the lanes col0, col0 + 1, … that are columns of C (below N)."""
        columns = b.add(splat(col0, ivec), ir.Constant(ivec, list(range(lanes))))
        return b.icmp_signed("<", columns, splat(N, ivec))
    masked_name = f"llvm.masked.load.{suffix}.p0"
    masked_load = module.globals.get(masked_name) or ir.Function(
        module, ir.FunctionType(vec, [PTR, I32, ir.VectorType(I1, lanes), vec]), masked_name)
    store_name = f"llvm.masked.store.{suffix}.p0"
    masked_store = module.globals.get(store_name) or ir.Function(
        module, ir.FunctionType(ir.VoidType(), [vec, PTR, I32, ir.VectorType(I1, lanes)]), store_name)

    def at(base, offset):
        return b.gep(base, [offset], source_etype=T)

    def tile(i0, k0, kc, j0, first, rows=rows, clamped=True):
        """One tile of ``rows`` rows; a ``clamped`` tile's rows past M (the last tile's) are read as row M − 1 and
        never stored."""
        row_of = [b.add(i0, i64(r)) for r in range(rows)]
        if clamped:
            row_of = [b.select(b.icmp_signed(">", i, last_row), last_row, i) for i in row_of]
        a_rows = [addressing.a_row(i) for i in row_of]
        for r in range(rows):
            for h in range(vectors):
                b.store(ir.Constant(vec, [0.0] * lanes), acc[r][h])
        with span(b, i64(0), kc) as kk:
            row = at(packed, b.mul(kk, i64(panel)))
            halves = [b.load(at(row, i64(h * lanes)), typ=vec, align=4) for h in range(vectors)]
            k_offset, k_terms = addressing.a_column(b.add(k0, kk))
            for r in range(rows):
                offset, row_terms = a_rows[r]
                holds = addressing.a_holds(row_terms, k_terms)
                if holds is None:
                    a = splat(b.load(at(A, b.add(offset, k_offset)), typ=T))
                else:
                    value = b.load(at(A, b.select(holds, b.add(offset, k_offset), i64(0))), typ=T)
                    a = splat(b.select(holds, value, ir.Constant(T, 0.0)))
                for h in range(vectors):
                    b.store(b.call(fma, [a, halves[h], b.load(acc[r][h], typ=vec)]), acc[r][h])
        for r in range(rows):
            with b.if_then(b.icmp_signed("<", b.add(i0, i64(r)), M)):
                store_row(r, row_of[r], j0, first)

    def store_row(r, i, j0, first):
        row_base = addressing.c_row(i)
        for h in range(vectors):
            v = mathlib.fast(b.fmul(b.load(acc[r][h], typ=vec), scale_vec))
            col0 = b.add(j0, i64(h * lanes))
            if addressing.scatter:  # C's columns are not contiguous: element by element
                b.store(v, edge)
                end = b.select(b.icmp_signed("<", b.add(col0, i64(lanes)), N), b.add(col0, i64(lanes)), N)
                with span(b, col0, end) as col:
                    x = b.load(at(edge, b.sub(col, col0)), typ=T)
                    ptr = at(C, b.add(row_base, addressing.c_column(col)))
                    b.store(b.select(first, x, mathlib.fast(b.fadd(b.load(ptr, typ=T), x))), ptr)
                continue
            # masked at the column edge: one branch-free path (and a third of the code of a scalar edge loop)
            mask = column_mask(col0)
            ptr = at(C, b.add(row_base, col0))
            old = b.call(masked_load, [ptr, ir.Constant(I32, 4), mask, ir.Constant(vec, [0.0] * lanes)])
            b.call(masked_store, [b.select(first, v, mathlib.fast(b.fadd(old, v))), ptr, ir.Constant(I32, 4), mask])

    def pack_contiguous_row(start, row, j0):
        """A row of B's panel whose columns are contiguous from ``start``: masked vector loads (zero past N)."""
        for h in range(vectors):
            mask = column_mask(b.add(j0, i64(h * lanes)))
            value = b.call(masked_load, [at(B, b.add(start, i64(h * lanes))), ir.Constant(I32, 4), mask,
                                         ir.Constant(vec, [0.0] * lanes)])
            slot = at(packed, b.add(row, i64(h * lanes)))  # as an untyped pointer, to store a vector
            b.store(value, b.inttoptr(b.ptrtoint(slot, I64), PTR), align=4)

    def pack_row(k, row, j0):
        """Row k of B's panel at j0 into the packed buffer, element by element (zero past N and where a guard
        fails)."""
        with span(b, i64(0), i64(panel)) as col:
            j = b.add(j0, col)
            inside = b.icmp_signed("<", j, N)
            offset, holds = addressing.b_element(k, b.select(inside, j, i64(0)))
            keep = inside if holds is None else b.and_(inside, holds)
            value = b.load(at(B, b.select(keep, offset, i64(0))), typ=T)
            b.store(b.select(keep, value, ir.Constant(T, 0.0)), at(packed, b.add(row, col)))

    def pack_panel(k0, kc, j0):
        """Rows k0 … k0 + kc of B's panel at j0. Rows contiguous in j (a table's ``b_rows``, or a strided B whose
        column stride is 1: a matmul's row-major B, the gradients' activations) take vector loads; others (a
        transposed B) go element by element."""
        def each_row(pack):
            with span(b, i64(0), kc) as kk:
                pack(b.add(k0, kk), b.mul(kk, i64(panel)), j0)

        if addressing.b_rows:
            each_row(lambda k, row, j0: pack_contiguous_row(b.add(addressing.entry(addressing.bk, k), j0), row, j0))
        elif isinstance(addressing, Tabled):
            each_row(pack_row)
        else:
            with b.if_else(b.icmp_signed("==", addressing.sBj, i64(1))) as (contiguous, strided):
                with contiguous:
                    each_row(lambda k, row, j0: pack_contiguous_row(b.add(b.mul(k, addressing.sBk), j0), row, j0))
                with strided:
                    each_row(pack_row)

    def row_tiles(k0, kc, j0, first):
        """The tiles down M. A strided A takes whole tiles, then the last M mod ``rows`` rows in tiles of halving
        heights (5 rows as 4 + 1): none computes a row it drops (a clamped tile of 8 for M = 10's last 2 rows
        did 16 rows' work — a 10-class layer's weight gradient). An implicit GEMM, compiled with its graph,
        keeps one tile body: its last tile is clamped."""
        if not isinstance(addressing, Strided):
            with span(b, i64(0), M, rows) as i0:
                tile(i0, k0, kc, j0, first)
            return
        whole = b.mul(b.sdiv(M, i64(rows)), i64(rows))
        with span(b, i64(0), whole, rows) as i0:
            tile(i0, k0, kc, j0, first, clamped=False)
        rest, i0 = b.sub(M, whole), whole
        for height in (1 << e for e in reversed(range((rows - 1).bit_length()))):  # the powers of 2 below rows
            taken = b.and_(rest, i64(height))
            with b.if_then(b.icmp_signed("!=", taken, i64(0))):
                tile(i0, k0, kc, j0, first, height, clamped=False)
            i0 = b.add(i0, taken)

    # one k-block at least: with K = 0 it stores the zeros of an empty sum (C is never left unwritten)
    k_blocks_end = b.select(b.icmp_signed(">", K, i64(0)), K, i64(1))
    with span(b, i64(0), N, panel) as j0:
        with span(b, i64(0), k_blocks_end, BLOCK_K) as k0:
            rest = b.sub(K, k0)
            kc = b.select(b.icmp_signed("<", rest, i64(BLOCK_K)), rest, i64(BLOCK_K))
            pack_panel(k0, kc, j0)
            first = b.and_(b.icmp_signed("==", k0, i64(0)), b.not_(accumulate))
            row_tiles(k0, kc, j0, first)
    b.ret_void()
    return fn
