"""Emission: loop nests to LLVM IR (llvmlite's IR builder).

One internal function per definition, every buffer a ``noalias`` pointer argument, symbolic dimensions as
i64 arguments, and an entry ``i32 sn_entry(ptr buffers, ptr dims, ptr error)`` that calls them in order. A
kernel returns a non-zero status (and writes the offending value to ``error``) when a data-dependent index
(a label) is out of range, before any read with it; the entry stops there and the runtime raises.
"""

from __future__ import annotations

import contextlib
import math
from typing import NamedTuple

import numpy as np
from llvmlite import ir

from symnet.core.ir import Graph, Repeat, Tensor, dims_of
from symnet.core.lazy import sympy as sp
from symnet.errors import LoweringError

from . import mathlib, parts
from .direct import direct_function, direct_shape, sliding_function, sliding_shape
from .dots import dot_function, dot_shape
from .driver import emit_repeat
from .gemm import Tabled, gemm_function, shared_gemm, tile_shape
from .interface import ENTRY, IndexCheck
from .irloops import F32, F64, I1, I8, I32, I64, PTR, STORAGE, span
from .jit import vector_bits
from .loops import Contraction, Kernel, Reduce, address_coefficients, affine_coefficients
from .lowering import PRIMITIVES as PRIMITIVES  # the functions both backends lower (tests check C covers them)
from .lowering import Accumulator, Lowering
from .pool import POOL

NOMINAL = 64  # a symbolic dimension's size when kernels' work is compared
COLD_SHARE = 32  # a kernel with at most 1/32 of the largest kernel's work is compiled for size


class KernelEmitter(Lowering):
    """Emits one definition's loop nest into a function: ``lowering.Lowering``'s decisions built as llvmlite
    instructions (with ``mathlib``'s fast-math flags, intrinsics and kernels)."""

    def __init__(self, module: ir.Module, graph_tensors: dict[str, Tensor], dims: list[sp.Symbol],
                 kernel: Kernel, checks: list[IndexCheck], parallel: bool = False, cold: bool = False):
        super().__init__(kernel, graph_tensors)
        self.module, self.dims, self.checks = module, dims, checks
        d = kernel.definition
        self.float = STORAGE[self.float_dtype]
        self.split = parts.split_kind(kernel) if parallel else None  # then two more arguments: part, parts
        fnty = ir.FunctionType(I32, [PTR] * len(self.buffers) + [I64] * len(dims) + [PTR] +
                               [I64, I64] * (self.split is not None))
        self.fn = ir.Function(module, fnty, f"k_{d.name}")
        self.fn.linkage = "internal"
        self.fn.attributes = mathlib._Attributes(["noinline"])  # called by sn_entry and sn_repeat: compiled once
        self.fn.attributes.add('"prefer-vector-width"="512"')
        if _small(d):  # LLVM would unroll it whole (an optimizer's update of a small weight): compile it small
            self.fn.attributes.add("optsize")
        self.cold = cold  # compiled small too, unless it reassociates (its vectorization would set the sum's order)
        self.reassociates = False
        self.micro_kernels: set[str] = set()  # the names of the GEMM micro-kernels it defines and calls
        #: ``parallel``: the module is linked against the process's libraries (``codegen.library``), whose names
        #: this kernel calls into go in ``libraries``; else it is self-contained (an export)
        self.linked, self.libraries = parallel, set()
        for arg in self.fn.args[:len(self.buffers)]:
            arg.add_attribute("noalias")
            arg.add_attribute("nonnull")
        self.ptr = dict(zip(self.buffers, self.fn.args, strict=False))
        self.entry = self.fn.append_basic_block("entry")
        self.b = ir.IRBuilder(self.entry)
        after = len(self.buffers) + len(dims)
        self.env: dict[sp.Symbol, ir.Value] = dict(zip(dims, self.fn.args[len(self.buffers):after], strict=True))
        self.error_slot = self.fn.args[after]
        self.part, self.parts = self.fn.args[after + 1:] if self.split else (None, None)
        self.strides: dict[str, list[ir.Value]] = {}
        self.arith = mathlib.Arith(self.b, module, mathlib.PRECISIONS[self.float])

    # ---------------------------------------------------------------- structure
    def emit(self) -> ir.Function | parts.Launch:
        for name in self.buffers:
            shape = self.tensors[name].shape
            strides, acc = [], ir.Constant(I64, 1)
            for dim in reversed(shape):
                strides.append(acc)
                acc = self.b.mul(acc, self.int_value(sp.sympify(dim)))
            self.strides[name] = list(reversed(strides))
        if self.split == "loop":  # this part's slice of the outermost loop
            top = self.kernel.body[0]
            extent = self.int_value(sp.sympify(top.extent))
            with self.loop(top.var, top.extent, parts.part_range(self.b, self.part, self.parts, extent, 1, extent)):
                self.statements(top.body)
        else:
            self.statements(self.kernel.body)
        self.b.ret(ir.Constant(I32, 0))
        if self.cold and not self.reassociates:
            self.fn.attributes.add("optsize")
        if self.split is None:
            return self.fn
        return parts.launcher(self.module, self.fn, len(self.buffers), self.dims, parts.work(self.kernel))

    @contextlib.contextmanager
    def loop(self, var: sp.Symbol, extent, bounds: tuple[ir.Value, ir.Value] | None = None):
        """A loop over a domain symbol (or the slice ``bounds`` of it); values computed inside are forgotten after
        it (they do not dominate)."""
        saved = dict(self.memo)
        start, stop = bounds or (ir.Constant(I64, 0), self.int_value(sp.sympify(extent)))
        with span(self.b, start, stop) as i:
            self.env[var] = i
            yield i
            self.memo = saved
        del self.env[var]

    def alloca(self, typ):
        """A stack slot in the entry block (where LLVM promotes it to a register)."""
        with self.b.goto_block(self.entry):
            self.b.position_at_start(self.entry)
            return self.b.alloca(typ)

    # ---------------------------------------------------------------- memory
    def address(self, name: str, index) -> ir.Value:
        b, offset = self.b, ir.Constant(I64, 0)
        tensor = self.tensors[name]
        for pos, (i, stride) in enumerate(zip(index, self.strides[name], strict=True)):
            offset = b.add(offset, b.mul(self.index(name, pos, i), stride))
        return b.gep(self.ptr[name], [offset], source_etype=STORAGE[tensor.dtype])

    def bounds_check(self, name: str, pos: int, expr: sp.Expr, value: ir.Value) -> ir.Value:
        b = self.b
        bound = self.int_value(sp.sympify(self.tensors[name].shape[pos]))
        bad = b.or_(b.icmp_signed("<", value, ir.Constant(I64, 0)), b.icmp_signed(">=", value, bound))
        self.report(bad, value, IndexCheck(self.kernel.definition.name, name, pos, str(expr)))
        return value

    def clamp(self, value: ir.Value, dim: sp.Expr) -> ir.Value:
        b = self.b
        top = b.sub(self.int_value(dim), ir.Constant(I64, 1))
        value = b.select(b.icmp_signed("<", value, ir.Constant(I64, 0)), ir.Constant(I64, 0), value)
        return b.select(b.icmp_signed(">", value, top), top, value)

    def report(self, bad: ir.Value, value: ir.Value, check: IndexCheck) -> None:
        """Where ``bad`` holds, stop with ``check``'s status (``value`` in the error slot)."""
        self.checks.append(check)
        with self.b.if_then(bad, likely=False):
            self.b.store(value, self.error_slot)
            self.b.ret(ir.Constant(I32, len(self.checks)))

    def nonzero(self, e: sp.Expr) -> ir.Value:
        """An integer divisor, reported (as the "divisor" check) where it is 0, so no division by 0 runs."""
        value, zero = self.int_value(e), ir.Constant(I64, 0)
        name = self.kernel.definition.name
        self.report(self.b.icmp_signed("==", value, zero), value, IndexCheck(name, name, 0, str(e), "divisor"))
        return value

    def load(self, name: str, index) -> ir.Value:
        return self.b.load(self.address(name, index), typ=STORAGE[self.tensors[name].dtype])

    def put(self, buffer: str, at: ir.Value, value: ir.Value) -> None:
        self.b.store(value, at)

    def accumulate(self, buffer: str, at: ir.Value, value: ir.Value) -> None:
        old = self.b.load(at, typ=STORAGE[self.kernel.definition.dtype])
        self.b.store(self.combine_sum(old, value), at)

    def zero(self, name: str) -> None:
        t = self.tensors[name]
        numel = ir.Constant(I64, 1)
        for dim in t.shape:
            numel = self.b.mul(numel, self.int_value(sp.sympify(dim)))
        with span(self.b, ir.Constant(I64, 0), numel) as i:
            ptr = self.b.gep(self.ptr[name], [i], source_etype=STORAGE[t.dtype])
            self.b.store(ir.Constant(STORAGE[t.dtype], 0), ptr)

    # ---------------------------------------------------------------- contractions
    def stride_of(self, read: sp.Indexed, symbol: sp.Symbol) -> ir.Value:
        return self.strides[str(read.base.label)][list(read.indices).index(symbol)]

    def at_fixed_indices(self, read: sp.Indexed) -> ir.Value:
        """The operand's base moved to its constant indices (``A[1, i, k]`` starts at row 1 of A)."""
        name = str(read.base.label)
        offset = ir.Constant(I64, 0)
        for position, index in enumerate(read.indices):
            if index.is_Integer and index != 0:
                offset = self.b.add(offset, self.b.mul(ir.Constant(I64, int(index)), self.strides[name][position]))
        return self.b.gep(self.ptr[name], [offset], source_etype=STORAGE[self.tensors[name].dtype])

    def contraction(self, c: Contraction) -> None:
        """A call of the module's register-tiled GEMM: with this contraction's extents and strides (a matmul),
        or with offset tables around the loops of its outer symbols (an implicit GEMM)."""
        d = self.kernel.definition
        lanes = vector_bits() // (32 if self.float == F32 else 64)
        columns, height = sp.Integer(1), sp.Integer(1)
        for s in c.j:
            columns *= sp.sympify(d.extents[s])
        for s in c.i:
            height *= sp.sympify(d.extents[s])
        rows, vectors = tile_shape(vector_bits(), lanes, int(columns) if columns.is_Integer else None,
                                   None if c.strided or not height.is_Integer else int(height))
        pointers = [self.ptr[d.name], self.ptr[str(c.a.base.label)], self.ptr[str(c.b.base.label)]]
        if c.strided:
            (i,), (j,), (k,) = c.i, c.j, c.k
            pointers[1:] = [self.at_fixed_indices(c.a), self.at_fixed_indices(c.b)]
            if self.linked:  # the process's GEMM library's
                fn, library = shared_gemm(self.module, self.float, rows, vectors)
                library.prefetch()  # made on another core while this module is emitted
                self.libraries.add(library.name)
            else:
                fn = self.micro_kernel(lanes, rows, vectors)
            extents = [self.int_value(sp.sympify(d.extents[s])) for s in (i, j, k)]
            strides = [self.stride_of(c.a, i), self.stride_of(c.a, k), self.stride_of(c.b, k),
                       self.stride_of(c.b, j), self.strides[d.name][list(d.out).index(i)]]
            args = [*pointers, *extents, *strides, self.float_value(c.scale), ir.Constant(I1, 0)]
            self.b.call(fn, self.sliced(args, rows, vectors * lanes))
            return
        if c.rows or c.lanes_along is not None:
            self.tiled(c, pointers, lanes)
            return
        tabled = Tabled(len(c.a_guards), len(c.b_guards), c.scattered, c.b_rows)
        fn = self.micro_kernel(lanes, rows, vectors, tabled)
        self.implicit_gemm(c, pointers, fn, tabled, (rows, vectors * lanes))

    def micro_kernel(self, lanes: int, rows: int, vectors: int, tabled: Tabled | None = None) -> ir.Function:
        fn = gemm_function(self.module, self.float, lanes, rows, vectors, tabled)
        self.micro_kernels.add(fn.name)
        return fn

    def part_of_grid(self, M: ir.Value, rows: int, N: ir.Value, cols: int) -> tuple[ir.Value, ...]:
        """This part's ranges [m0, m1) of M and [n0, n1) of N: whole tiles of N's ``cols`` when every part gets
        about as many (each part then packs only its own panels of B, where parts of rows would each pack all of
        it: 16% of the 784-256-10 step on two threads), else of whichever extent has more tiles; the other whole.
        """
        b, zero = self.b, ir.Constant(I64, 0)

        def tiles(n, unit):
            return b.sdiv(b.add(n, ir.Constant(I64, unit - 1)), ir.Constant(I64, unit))

        tiles_m, tiles_n = tiles(M, rows), tiles(N, cols)
        even = b.or_(b.icmp_signed("==", b.srem(tiles_n, self.parts), ir.Constant(I64, 0)),
                     b.icmp_signed(">=", tiles_n, b.mul(self.parts, ir.Constant(I64, 4))))
        by_columns = b.and_(b.icmp_signed(">=", tiles_n, self.parts), even)
        by_rows = b.and_(b.not_(by_columns), b.icmp_signed(">=", tiles_m, tiles_n))
        m0, m1 = parts.part_range(b, self.part, self.parts, tiles_m, rows, M)
        n0, n1 = parts.part_range(b, self.part, self.parts, tiles_n, cols, N)
        return (b.select(by_rows, m0, zero), b.select(by_rows, m1, M), b.select(by_rows, zero, n0),
                b.select(by_rows, N, n1))

    def sliced(self, args: list, rows: int, panel: int, tabled: Tabled | None = None) -> list:
        """A micro-kernel call's arguments for this part's slice: its rows or its columns (whichever has more
        tiles), whole tiles each, the pointers and offset tables moved to the slice."""
        if self.split != "contraction":
            return args
        b = self.b
        m0, m1, n0, n1 = self.part_of_grid(args[3], rows, args[4], panel)
        args = list(args)
        args[3], args[4] = b.sub(m1, m0), b.sub(n1, n0)

        def move(k, offset, etype=self.float):
            args[k] = b.gep(args[k], [offset], source_etype=etype)

        if tabled is None:  # C[i·sCi + j], A[i·sAi + k·sAk], B[k·sBk + j·sBj]
            move(0, b.add(b.mul(m0, args[10]), n0))
            move(1, b.mul(m0, args[6]))
            move(2, b.mul(n0, args[9]))
            return args
        for k in (6, 10):  # ai, ci
            move(k, m0, I64)
        move(9, n0, I64)  # bj
        if tabled.b_rows:  # bj[j] = j is not read: B's rows are contiguous columns
            move(2, n0)
        if tabled.scatter:
            move(11, n0, I64)  # cj
        else:
            move(0, n0)  # C's contiguous columns
        for g in range(tabled.a_guards):
            move(12 + 4 * g, m0, I64)
        for g in range(tabled.b_guards):
            move(12 + 4 * (tabled.a_guards + g) + 1, n0, I64)
        return args

    def sliced_grid(self, args: list, first: tuple[int, int, tuple[int, ...]],
                    second: tuple[int, int, tuple[int, ...]]) -> list:
        """A direct or dot kernel's arguments for this part's slice of one of its two tiled extents (whichever has
        more tiles), whole tiles each: each extent given as (its argument's position, its tile, the positions of
        the offset tables indexed by it)."""
        if self.split != "contraction":
            return args
        b = self.b
        args = list(args)
        (at_m, unit_m, tables_m), (at_n, unit_n, tables_n) = first, second
        m0, m1, n0, n1 = self.part_of_grid(args[at_m], unit_m, args[at_n], unit_n)
        args[at_m], args[at_n] = b.sub(m1, m0), b.sub(n1, n0)
        for k in tables_m:
            args[k] = b.gep(args[k], [m0], source_etype=I64)
        for k in tables_n:
            args[k] = b.gep(args[k], [n0], source_etype=I64)
        return args

    def implicit_gemm(self, c: Contraction, pointers, fn, tabled: Tabled, tile: tuple[int, int]) -> None:
        d = self.kernel.definition
        terms_a, terms_b, terms_c = self.operand_terms(c)
        guards = [(affine_coefficients(sp.expand(g.args[0])), int(g.args[1]), int(g.args[2]), group)
                  for gs, group in ((c.a_guards, c.i), (c.b_guards, c.j)) for g in gs]
        tables = [self.offset_table(c.i, terms_a), self.offset_table(c.k, terms_a), self.offset_table(c.k, terms_b),
                  self.offset_table(c.j, terms_b), self.offset_table(c.i, terms_c), self.offset_table(c.j, terms_c)]
        for terms, _, _, group in guards:
            pair = [self.offset_table(group, terms), self.offset_table(c.k, terms)]
            tables += pair if group is c.i else pair[::-1]
        sizes = [ir.Constant(I64, math.prod(int(d.extents[s]) for s in group)) for group in (c.i, c.j, c.k)]

        def call(moved, accumulate):
            args = [*moved, *sizes, *tables[:6]]
            for n, (terms, lo, hi, _) in enumerate(guards):
                shift = self.outer_offset(c, terms)
                args += [*tables[6 + 2 * n: 8 + 2 * n], self.b.sub(ir.Constant(I64, lo), shift),
                         self.b.sub(ir.Constant(I64, hi), shift)]
            self.b.call(fn, self.sliced([*args, self.float_value(c.scale), accumulate], *tile, tabled))

        self.around(c, pointers, (terms_c, terms_a, terms_b), call)

    def tiled(self, c: Contraction, pointers, lanes: int) -> None:
        """A call of the direct-convolution kernel (``codegen.direct``: it runs the image rows itself) or of the
        dot-product kernel (``codegen.dots``: lanes along a summed symbol) per point of the outer symbols."""
        d = self.kernel.definition
        terms_a, terms_b, terms_c = self.operand_terms(c)

        def size(group):
            return math.prod(int(d.extents[s]) for s in group)

        line = ()
        if c.rows:  # ai, ak, bk, br, ci, cr
            groups = (c.i, c.k, c.k, c.rows, c.i, c.rows)
            sizes = (size(c.i), size(c.j), size(c.k), size(c.rows))
            if c.row_tap is not None:  # the sliding variant: one row of A a tile, B's rows ``line`` apart
                line = (terms_b[c.rows[-1]],)
                depth, vectors, _ = sliding_shape(vector_bits(), lanes, *sizes[:2], sizes[3], sizes[2],
                                                  int(d.extents[c.row_tap]), int(d.extents[c.rows[-1]]))
                fn = sliding_function(self.module, self.float, lanes, depth, vectors, int(d.extents[c.row_tap]),
                                      terms_b[c.row_tap] < 0, c.b_zero is not None, c.b_columns is not None)
                rows = 1
            else:
                rows, depth, vectors, _ = direct_shape(vector_bits(), lanes, *sizes[:2], sizes[3], sizes[2])
                fn = direct_function(self.module, self.float, lanes, rows, depth, vectors, c.b_zero is not None)
            second = (6, depth, (10, 12, 15 + len(line)) if c.b_zero is not None else (10, 12))
        else:  # ai, ak, bk, bj, ci, cj
            summed = tuple(s for s in c.k if s != c.lanes_along)
            groups = (c.i, summed, summed, c.j, c.i, c.j)
            sizes = (size(c.i), size(c.j), size(summed), size((c.lanes_along,)))
            rows, cols, _ = dot_shape(vector_bits(), lanes, *sizes)
            fn, second = dot_function(self.module, self.float, lanes, rows, cols), (4, cols, (10, 12))
        self.micro_kernels.add(fn.name)
        tables = [self.offset_table(g, terms) for g, terms in
                  zip(groups, (terms_a, terms_a, terms_b, terms_b, terms_c, terms_c), strict=True)]
        zero = None
        if c.b_zero is not None:  # B's zeros: (gr, gk, lo, hi) of its range condition
            terms = affine_coefficients(sp.expand(c.b_zero.args[0]))
            zero = (self.offset_table(c.rows, terms), self.offset_table(c.k, terms), int(c.b_zero.args[1]),
                    int(c.b_zero.args[2]), terms)

        columns = None
        if c.b_columns is not None:  # B read in place: (ck, clo, chi) of the range condition on its columns
            terms = affine_coefficients(sp.expand(c.b_columns.args[0]))
            columns = (self.offset_table(c.k, terms), int(c.b_columns.args[1]), int(c.b_columns.args[2]), terms)

        def call(moved, accumulate):
            args = [*moved, *(ir.Constant(I64, v) for v in sizes), *tables, self.float_value(c.scale), accumulate,
                    *(ir.Constant(I64, v) for v in line)]
            for guard in (zero, columns):
                if guard is not None:
                    shift = self.outer_offset(c, guard[-1])
                    args += [*guard[:-3], self.b.sub(ir.Constant(I64, guard[-3]), shift),
                             self.b.sub(ir.Constant(I64, guard[-2]), shift)]
            self.b.call(fn, self.sliced_grid(args, (3, rows, (7, 11)), second))

        self.around(c, pointers, (terms_c, terms_a, terms_b), call)

    def operand_terms(self, c: Contraction) -> tuple[dict, dict, dict]:
        """The flat addresses of A, B and C as {symbol: coefficient}."""
        d = self.kernel.definition
        return (address_coefficients(c.a.indices, self.tensors[str(c.a.base.label)].shape),
                address_coefficients(c.b.indices, self.tensors[str(c.b.base.label)].shape),
                address_coefficients(d.out, d.shape))

    def outer_offset(self, c: Contraction, terms: dict) -> ir.Value:
        """The part of an address from the constant and the symbols looping around the kernel."""
        around = [s for s in c.outer if s not in c.rows]
        return self.int_value(sum((v * s for s, v in terms.items() if s == 1 or s in around), sp.Integer(0)))

    def around(self, c: Contraction, pointers, terms, call) -> None:
        """``call(pointers moved to this point, accumulate)`` in the loops of the outer symbols the kernel does not
        run itself; ``accumulate`` is set past the first point of a reduced one."""
        d = self.kernel.definition
        reduced = [s for s in c.outer if s not in d.out]
        dtypes = [d.dtype, self.tensors[str(c.a.base.label)].dtype, self.tensors[str(c.b.base.label)].dtype]

        def nest(symbols):
            if symbols:
                with self.loop(symbols[0], d.extents[symbols[0]]):
                    nest(symbols[1:])
                return
            moved = [self.b.gep(p, [self.outer_offset(c, t)], source_etype=STORAGE[dt])
                     for p, t, dt in zip(pointers, terms, dtypes, strict=True)]
            accumulate = ir.Constant(I1, 0)
            for s in reduced:
                accumulate = self.b.or_(accumulate, self.b.icmp_signed("!=", self.env[s], ir.Constant(I64, 0)))
            call(moved, accumulate)

        nest([s for s in c.outer if s not in c.rows])

    def offset_table(self, group, terms) -> ir.Value:
        """An i64 table over a group of symbols (flattened in order): Σ coefficient·symbol of the group's terms."""
        d = self.kernel.definition
        extents = [int(d.extents[s]) for s in group]
        with self.b.goto_block(self.entry):
            self.b.position_at_start(self.entry)
            table = self.b.alloca(I64, size=ir.Constant(I64, math.prod(extents)))
        flat = sp.Integer(0)
        for s, n in zip(group, extents, strict=True):
            flat = flat * n + s
        value = sum((terms.get(s, 0) * s for s in group), sp.Integer(0))

        def fill(symbols):
            if not symbols:
                ptr = self.b.gep(table, [self.int_value(flat)], source_etype=I64)
                self.b.store(self.int_value(value), ptr)
                return
            with self.loop(symbols[0], d.extents[symbols[0]]):
                fill(symbols[1:])

        fill(list(group))
        return table

    # ---------------------------------------------------------------- reductions
    def combine_sum(self, acc, value):
        if isinstance(acc.type, ir.IntType):
            return self.b.add(acc, value)
        return self._reassoc(self.b.fadd(acc, value))

    def combine_product(self, acc, value):
        if isinstance(acc.type, ir.IntType):
            return self.b.mul(acc, value)
        return self._reassoc(self.b.fmul(acc, value))

    def _reassoc(self, instr):
        """Reductions alone may reassociate: a float sum vectorizes only with it."""
        self.reassociates = True
        instr.flags.extend((*mathlib.FLAGS, "reassoc"))
        return instr

    def accumulator(self, s: Reduce, integer: bool, start: ir.Value, scan: bool, fused: bool) -> Accumulator:
        acc = self.alloca(I64 if integer else self.float)
        pos = self.alloca(I64) if s.op == "argmax" else None
        self.b.store(start, acc)
        if pos is not None:
            self.b.store(ir.Constant(I64, 0), pos)
        started = None
        if scan:
            started = self.alloca(I1)
            self.b.store(ir.Constant(I1, 0), started)
        return Accumulator(s, acc, integer, pos, started)

    def current(self, slot: ir.AllocaInstr) -> ir.Value:
        return self.b.load(slot, typ=slot.allocated_type)

    def combine(self, a: Accumulator, op: str, current: ir.Value, v: ir.Value) -> None:
        self.b.store(self.combine_sum(current, v) if op == "sum" else self.combine_product(current, v), a.value)

    def take(self, a: Accumulator, better: ir.Value, current: ir.Value, v: ir.Value) -> None:
        b = self.b
        b.store(b.select(better, v, current), a.value)
        if a.position is not None:
            b.store(b.select(better, self.int_value(a.reduction.position), self.current(a.position)), a.position)

    def take_window(self, a: Accumulator, take: ir.Value, holds: ir.Value, current: ir.Value, v: ir.Value) -> None:
        b = self.b
        b.store(b.select(take, v, current), a.value)
        b.store(b.or_(self.current(a.started), holds), a.started)
        if a.position is not None:
            b.store(b.select(take, self.int_value(a.reduction.position), self.current(a.position)), a.position)

    # ---------------------------------------------------------------- integers
    def int_read(self, raw: ir.Value, dtype: np.dtype) -> ir.Value:
        return self.b.zext(raw, I64) if dtype.kind == "b" else raw

    def exact_quotient(self, n: ir.Value, d: ir.Value) -> ir.Value:
        return self.b.sdiv(n, d)

    def int_sum(self, e: sp.Add) -> ir.Value:
        v = self.int_value(e.args[0])
        for a in e.args[1:]:
            v = self.b.add(v, self.int_value(a))
        return v

    def int_product(self, e: sp.Mul) -> ir.Value:
        v = self.int_value(e.args[0])
        for a in e.args[1:]:
            v = self.b.mul(v, self.int_value(a))
        return v

    def int_power(self, e: sp.Pow) -> ir.Value:
        v = ir.Constant(I64, 1)
        for _ in range(int(e.exp)):
            v = self.b.mul(v, self.int_value(e.base))
        return v

    def floor_quotient(self, n: sp.Expr, d: sp.Expr) -> ir.Value:
        return self.floor_div(self.int_value(n), self.int_value(d))

    def modulo(self, n: sp.Expr, d: sp.Expr) -> ir.Value:
        n, m = self.int_value(n), self.int_value(d)
        return self.b.sub(n, self.b.mul(self.floor_div(n, m), m))

    def floor_div(self, n: ir.Value, d: ir.Value) -> ir.Value:
        """⌊n/d⌋ (SymPy's floor and Mod round toward −∞; the machine's division toward zero). d = −1 negates
        (wrapping at −2⁶³ as PyTorch, where the machine's division would trap)."""
        b, zero, minus_one = self.b, ir.Constant(I64, 0), ir.Constant(I64, -1)
        by_minus_one = b.icmp_signed("==", d, minus_one)
        q = b.select(by_minus_one, b.neg(n), b.sdiv(n, b.select(by_minus_one, ir.Constant(I64, 1), d)))
        inexact = b.icmp_signed("!=", b.mul(q, d), n)
        opposite = b.xor(b.icmp_signed("<", n, zero), b.icmp_signed("<", d, zero))
        return b.select(b.and_(inexact, opposite), b.sub(q, ir.Constant(I64, 1)), q)

    def int_sign(self, v: ir.Value) -> ir.Value:
        b, zero = self.b, ir.Constant(I64, 0)
        positive = b.zext(b.icmp_signed(">", v, zero), I64)
        return b.sub(positive, b.zext(b.icmp_signed("<", v, zero), I64))

    def int_const(self, value: int) -> ir.Constant:
        return ir.Constant(I64, value)

    def int_add(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.b.add(a, b)

    def int_mul(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.b.mul(a, b)

    def int_neg(self, v: ir.Value) -> ir.Value:
        return self.b.neg(v)

    def condition_to_int(self, condition: ir.Value) -> ir.Value:
        return self.b.zext(condition, I64)

    def no_int_lowering(self, e: sp.Expr) -> Exception:
        return LoweringError(f"codegen: no integer lowering for {e}")

    # ---------------------------------------------------------------- conditions
    def icmp(self, op: str, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.b.icmp_signed(op, a, b)

    def fcmp(self, op: str, a: ir.Value, b: ir.Value) -> ir.Value:
        """Ordered, ``!=`` unordered (true for NaN, as C's)."""
        return self.b.fcmp_unordered(op, a, b) if op == "!=" else self.b.fcmp_ordered(op, a, b)

    def is_nan(self, v: ir.Value) -> ir.Value:
        return self.b.fcmp_unordered("uno", v, v)

    def not_nan(self, v: ir.Value) -> ir.Value:
        return self.b.fcmp_ordered("ord", v, v)

    def either(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.b.or_(a, b)

    def both(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.b.and_(a, b)

    def negate(self, condition: ir.Value) -> ir.Value:
        return self.b.not_(condition)

    def always(self) -> ir.Constant:
        return ir.Constant(I1, 1)

    def conjoin(self, holds: ir.Value, condition: ir.Value) -> ir.Value:
        return self.b.and_(holds, condition)

    def to_byte(self, condition: ir.Value) -> ir.Value:
        return self.b.zext(condition, I8)

    # ---------------------------------------------------------------- floats
    def as_float(self, v: ir.Value, kind: str, dtype: np.dtype) -> ir.Value:
        target = STORAGE[dtype]
        if kind == "i":
            return self.b.sitofp(v, target)
        if v.type == F32 and target == F64:
            return self.b.fpext(v, F64)
        if v.type == F64 and target == F32:
            return self.b.fptrunc(v, F32)
        return v

    def from_int(self, v: ir.Value) -> ir.Value:
        return self.b.sitofp(v, self.float)

    def no_lowering(self, e: sp.Expr) -> Exception:
        return LoweringError(f"codegen: no lowering for {type(e).__name__} in {e}")

    def sqrt(self, x: ir.Value) -> ir.Value:
        return self.intrinsic("llvm.sqrt", x)

    def reciprocal_sqrt(self, x: ir.Value) -> ir.Value:
        # no fast-math flags: LLVM would make it rsqrt, NaN at 0 (PyTorch: inf)
        return self.b.fdiv(self.const(1.0), self.intrinsic("llvm.sqrt", x))

    def fabs(self, x: ir.Value) -> ir.Value:
        return self.intrinsic("llvm.fabs", x)

    def general_power(self, x: ir.Value, y: ir.Value) -> ir.Value:
        """x^y as C's pow: e^(y·log|x|), negated for a negative base (−0 included) and an odd integer y, NaN for
        a finite negative base and a non-integer y; x^0 = 1, 1^y = 1 and (−1)^±∞ = 1, even for NaN."""
        A, b = self.arith, self.b
        zero, inf = self.const(0.0), self.const(float("inf"))
        magnitude = self.call("exp", A.mul(y, self.call("log", A.abs(x))))
        whole = A.rint(y)
        integer = b.fcmp_ordered("==", whole, y)
        half = A.mul(y, self.const(0.5))
        odd = b.and_(integer, b.fcmp_unordered("!=", A.rint(half), half))
        below = b.fcmp_ordered("<", x, zero)
        sign_bit = b.or_(below, b.fcmp_ordered("<", A.div(self.const(1.0), x), zero))  # −0's too
        signed = b.select(b.and_(odd, sign_bit), A.neg(magnitude), magnitude)
        not_real = b.and_(b.and_(below, b.not_(integer)), b.fcmp_ordered("!=", x, A.neg(inf)))
        result = b.select(not_real, self.const(float("nan")), signed)
        minus_one_to_inf = b.and_(b.fcmp_ordered("==", x, self.const(-1.0)), b.fcmp_ordered("==", A.abs(y), inf))
        one = b.or_(b.or_(b.fcmp_ordered("==", y, zero), b.fcmp_ordered("==", x, self.const(1.0))), minus_one_to_inf)
        return b.select(one, self.const(1.0), result)

    # ---------------------------------------------------------------- ScalarOps: what element functions lower to
    def const(self, value: float) -> ir.Constant:
        return ir.Constant(self.float, value)

    def add(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.arith.add(a, b)

    def mul(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.arith.mul(a, b)

    def div(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.arith.div(a, b)

    def neg(self, a: ir.Value) -> ir.Value:
        return self.arith.neg(a)

    def select(self, condition: ir.Value, if_true: ir.Value, if_false: ir.Value) -> ir.Value:
        return self.b.select(condition, if_true, if_false)

    def to_word(self, v: ir.Value) -> ir.Value:
        return v

    def bits(self, op: str, a: ir.Value, b: ir.Value | int) -> ir.Value:
        if isinstance(b, int):
            b = ir.Constant(I64, b - (1 << 64) if b >= 1 << 63 else b)
        return {"+": self.b.add, "*": self.b.mul, "^": self.b.xor, "&": self.b.and_, "|": self.b.or_,
                ">>": self.b.lshr}[op](a, b)

    def to_float(self, condition: ir.Value) -> ir.Value:
        return self.b.uitofp(condition, self.float)

    def truncate(self, value: ir.Value) -> ir.Value:
        """Toward zero; NaN and values outside int64's range give INT64_MIN, as PyTorch's conversion on x86 (its
        "integer indefinite"). ``llvm.fptosi.sat`` is defined everywhere, so the unselected lane is no poison."""
        name = f"llvm.fptosi.sat.i64.{'f32' if value.type == F32 else 'f64'}"
        fn = self.module.globals.get(name) or ir.Function(self.module, ir.FunctionType(I64, [value.type]), name)
        bound = ir.Constant(value.type, 2.0**63)
        inside = self.b.and_(self.b.fcmp_ordered(">=", value, ir.Constant(value.type, -(2.0**63))),
                             self.b.fcmp_ordered("<", value, bound))
        return self.b.select(inside, self.b.call(fn, [value]), ir.Constant(I64, -(1 << 63)))

    def call(self, kernel: str, *args: ir.Value) -> ir.Value:
        """A mathlib kernel in the definition's precision (sin and cos: in double, rounded once)."""
        if self.float == F32 and kernel in mathlib.DOUBLE_ONLY:
            out = self.b.call(mathlib.function(self.module, kernel, F64), [self.b.fpext(a, F64) for a in args])
            return self.b.fptrunc(out, F32)
        return self.b.call(mathlib.function(self.module, kernel, self.float), args)

    def intrinsic(self, name: str, *args: ir.Value) -> ir.Value:
        fnty = ir.FunctionType(self.float, [self.float] * len(args))
        return self.b.call(self.module.declare_intrinsic(name, [self.float], fnty), args)


def _small(d) -> bool:
    """A definition over a fixed domain of fewer than 4096 points."""
    size = 1
    for _, extent in d.domain:
        if not sp.sympify(extent).is_Integer:
            return False
        size *= int(extent)
    return size < 4096


def cold_kernels(kernels: list[Kernel]) -> list[bool]:
    """Per kernel, whether its work is a small share of the largest kernel's (``COLD_SHARE``, every dimension
    taken as ``NOMINAL``): such kernels (softmax over ten classes, bias and small-weight updates) cost a large
    share of LLVM's time when vectorized and unrolled at O3 and a negligible share of a step's (so does a
    micro-kernel only cold kernels call: the last layer's 16×1 tiles of a 784-256-10 step, 0.05 s). A kernel
    that reassociates a float sum stays hot all the same (``KernelEmitter``): its vectorization sets the order
    of the sum, so compiling it otherwise would change its result; a micro-kernel's sums are explicit FMAs in a
    fixed order."""
    works = []
    for kernel in kernels:
        work = _nominal(parts.work(kernel))
        if len(kernel.body) == 1 and isinstance(kernel.body[0], Contraction):  # short inner extent: store-bound
            top, extents = kernel.body[0], kernel.definition.extents
            work = max(work, parts.ITERATION * math.prod(_nominal(extents[s]) for s in (*top.i, *top.j, *top.outer)))
        works.append(work)
    hottest = max(works, default=0.0)
    return [w * COLD_SHARE <= hottest for w in works]


def _nominal(e) -> float:
    e = sp.sympify(e)
    return float(e.subs({s: NOMINAL for s in e.free_symbols}))


class Module(NamedTuple):
    """A graph's LLVM IR text (with the driver ``sn_repeat`` when a ``Repeat`` is given), the index checks its
    kernels make, its symbolic dimensions in order, and per definition the positions of the first and the last
    kernel that touch its buffer (two definitions whose spans do not meet may share memory)."""

    ir: str
    checks: list[IndexCheck]
    dims: list[sp.Symbol]
    spans: list[tuple[int, int]]
    #: the names of the libraries (``codegen.library``) whose functions it calls, beside the pool's
    libraries: list[str]


def emit_module(graph: Graph, kernels: list[Kernel], name: str, repeat: Repeat | None = None,
                parallel: bool = False) -> Module:
    """The graph as one LLVM module: a function per kernel and the entry calling them in order. ``parallel``:
    the module links against the process's libraries (``codegen.library``: the pool, across whose threads large
    kernels split (``codegen.parts``), and the strided GEMM kernels); without, it is self-contained (an export)."""
    if parallel:
        POOL.prefetch()  # its object, made while this emits: the module links against it
    module = ir.Module(name=name)
    tensors = graph.tensors()
    order = [t.name for t in graph.inputs] + [d.name for d in graph.defs]
    slot = {n: k for k, n in enumerate(order)}
    dims = dims_of(graph)
    checks: list[IndexCheck] = []
    functions = []
    hot_helpers, cold_helpers, libraries = set(), set(), set()
    for kernel, cold in zip(kernels, cold_kernels(kernels), strict=True):
        emitter = KernelEmitter(module, tensors, dims, kernel, checks, parallel, cold)
        functions.append((emitter.emit(), emitter.buffers))
        (cold_helpers if cold else hot_helpers).update(emitter.micro_kernels)
        libraries |= emitter.libraries
    for name in cold_helpers - hot_helpers:
        module.globals[name].attributes.add("optsize")
    entry = ir.Function(module, ir.FunctionType(I32, [PTR, PTR, PTR]), ENTRY)
    entry.attributes.add("minsize")  # a run of calls, once a step: O3 on it (a 10-layer step's) took 0.1 s
    entry.attributes.add("optsize")
    bufs, dim_array, error_slot = entry.args
    b = ir.IRBuilder(entry.append_basic_block("entry"))
    dim_values = [b.load(b.gep(dim_array, [ir.Constant(I64, k)], source_etype=I64), typ=I64)
                  for k in range(len(dims))]
    for fn, buffers in functions:
        ptrs = [b.load(b.gep(bufs, [ir.Constant(I64, slot[n])], source_etype=PTR), typ=PTR) for n in buffers]
        status = parts.call(b, fn, [*ptrs, *dim_values, error_slot])
        with b.if_then(b.icmp_signed("!=", status, ir.Constant(I32, 0)), likely=False):
            b.ret(status)
    b.ret(ir.Constant(I32, 0))
    if repeat is not None:
        emit_repeat(module, graph, functions, dims, slot, repeat)
    touched: dict[str, list[int]] = {}
    for k, (_, buffers) in enumerate(functions):
        for n in buffers:
            touched.setdefault(n, []).append(k)
    whole = (0, max(len(functions) - 1, 0))
    spans = [(min(touched[d.name]), max(touched[d.name])) if d.name in touched else whole for d in graph.defs]
    return Module(str(module), checks, dims, spans, sorted(libraries))
