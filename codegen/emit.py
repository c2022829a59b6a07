"""Emission: loop nests to LLVM IR (llvmlite's IR builder).

One internal function per definition, every buffer a ``noalias`` pointer argument, symbolic dimensions as
i64 arguments, and an entry ``i32 sn_entry(ptr buffers, ptr dims, ptr error)`` that calls them in order. A
kernel returns a non-zero status (and writes the offending value to ``error``) when a data-dependent index
(a label) is out of range, before any read with it; the entry stops there and the runtime raises.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import sympy as sp
from llvmlite import ir

from symnet.core.ir import Graph, Repeat, Tensor, is_guard, is_integer_valued, is_tensor_symbol, zero_unless_guarded
from symnet.errors import LoweringError

from . import mathlib, parts
from .driver import emit_repeat
from .gemm import Tabled, gemm_function, tile_shape
from .irloops import F32, F64, I1, I8, I32, I64, PTR, STORAGE, span
from .jit import vector_bits
from .loops import (
    Contraction,
    Kernel,
    Reduce,
    StatementWalker,
    Store,
    address_coefficients,
    affine_coefficients,
)

ENTRY = "sn_entry"


@dataclass(frozen=True)
class IndexCheck:
    """A data-dependent read whose index must lie in [0, bound), or (``kind`` "divisor") an integer divisor that
    must not be 0: reported when the kernel finds it does not hold."""

    definition: str
    tensor: str
    position: int
    index: str  # the index (or divisor) expression, as text for the error message
    kind: str = "index"


def dims_of(graph: Graph) -> list[sp.Symbol]:
    found = set()
    for t in (*graph.inputs, *graph.defs):
        for d in t.shape:
            found |= sp.sympify(d).free_symbols
    return sorted(found, key=lambda s: s.name)


class IntegerOps:
    """``ScalarOps`` in int64, for element functions whose value keeps its argument's kind (relu, clamp) when
    that argument is an integer: the same ``lower`` rule then builds integer code."""

    def __init__(self, emitter: KernelEmitter):
        self.em, self.b = emitter, emitter.b

    def value(self, e: sp.Expr) -> ir.Value:
        return self.em.int_value(e)

    def const(self, c: float) -> ir.Value:
        return ir.Constant(I64, int(c))

    def add(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.b.add(a, b)

    def mul(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.b.mul(a, b)

    def select(self, condition: ir.Value, if_true: ir.Value, if_false: ir.Value) -> ir.Value:
        return self.b.select(condition, if_true, if_false)

    def compare(self, op: str, x: sp.Expr, y: sp.Expr) -> ir.Value:
        return self.em.compare(op, x, y)

    def both(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.b.and_(a, b)

    def safely(self, e: sp.Expr) -> ir.Value:
        with self.em.clamped_reads():
            return self.em.int_value(e)


class KernelEmitter(StatementWalker):
    """Emits one definition's loop nest into a function."""

    def __init__(self, module: ir.Module, graph_tensors: dict[str, Tensor], dims: list[sp.Symbol],
                 kernel: Kernel, checks: list[IndexCheck], parallel: bool = False):
        self.module, self.tensors, self.dims, self.kernel, self.checks = module, graph_tensors, dims, kernel, checks
        d = kernel.definition
        self.buffers = [w.name for w in kernel.writes] + list(kernel.reads)
        self.float = STORAGE[d.dtype] if d.dtype.kind == "f" else F64
        self.split = parts.split_kind(kernel) if parallel else None  # then two more arguments: part, parts
        fnty = ir.FunctionType(I32, [PTR] * len(self.buffers) + [I64] * len(dims) + [PTR] +
                               [I64, I64] * (self.split is not None))
        self.fn = ir.Function(module, fnty, f"k_{d.name}")
        self.fn.linkage = "internal"
        self.fn.attributes.add("noinline")  # called by both sn_entry and sn_repeat: compiled once, not twice
        if _small(d):  # LLVM would unroll it whole (an optimizer's update of a small weight): compile it small
            self.fn.attributes.add("optsize")
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
        self.dtypes = {name: t.dtype for name, t in graph_tensors.items()}
        self.memo: dict[tuple, ir.Value] = {}
        self.clamping = False  # inside a guard: reads are clamped into their tensors
        self.arith = mathlib.Arith(self.b, module, mathlib.PRECISIONS[self.float])

    # ---------------------------------------------------------------- structure
    def emit(self) -> ir.Function:
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
        if self.split is None:
            return self.fn
        return parts.launcher(self.module, self.fn, self.kernel.definition.name, len(self.buffers), self.dims,
                              parts.work(self.kernel))

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
    @contextlib.contextmanager
    def clamped_reads(self):
        """Inside a guard: every computed index is clamped into its dimension (values computed here are kept
        apart from the unclamped ones)."""
        outer = self.clamping
        self.clamping = True
        try:
            yield
        finally:
            self.clamping = outer

    def address(self, name: str, index) -> ir.Value:
        b, offset = self.b, ir.Constant(I64, 0)
        tensor = self.tensors[name]
        for pos, (i, stride) in enumerate(zip(index, self.strides[name], strict=True)):
            i = sp.sympify(i)
            value = self.int_value(i)
            if i.atoms(sp.Indexed) or is_tensor_symbol(i):
                self.bounds_check(name, pos, i, value, self.int_value(sp.sympify(tensor.shape[pos])))
            elif self.clamping and not (i.is_Integer or i in self.env):
                top = b.sub(self.int_value(sp.sympify(tensor.shape[pos])), ir.Constant(I64, 1))
                value = b.select(b.icmp_signed("<", value, ir.Constant(I64, 0)), ir.Constant(I64, 0), value)
                value = b.select(b.icmp_signed(">", value, top), top, value)
            offset = b.add(offset, b.mul(value, stride))
        return b.gep(self.ptr[name], [offset], source_etype=STORAGE[tensor.dtype])

    def bounds_check(self, name, pos, expr, value, bound) -> None:
        b = self.b
        bad = b.or_(b.icmp_signed("<", value, ir.Constant(I64, 0)), b.icmp_signed(">=", value, bound))
        self.report(bad, value, IndexCheck(self.kernel.definition.name, name, pos, str(expr)))

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

    def store(self, s: Store) -> None:
        d = self.kernel.definition
        value = self.typed_value(s.value)
        if s.accumulate and zero_unless_guarded(s.value):
            with self.clamped_reads():  # a scatter of a guarded value: past the tensor only where it adds 0
                ptr = self.address(s.buffer, s.index)
        else:
            ptr = self.address(s.buffer, s.index)
        if s.accumulate:
            old = self.b.load(ptr, typ=STORAGE[d.dtype])
            value = self.combine_sum(old, value)
        self.b.store(value, ptr)

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
            fn = gemm_function(self.module, self.float, lanes, rows, vectors)
            extents = [self.int_value(sp.sympify(d.extents[s])) for s in (i, j, k)]
            strides = [self.stride_of(c.a, i), self.stride_of(c.a, k), self.stride_of(c.b, k),
                       self.stride_of(c.b, j), self.strides[d.name][list(d.out).index(i)]]
            args = [*pointers, *extents, *strides, self.float_value(c.scale), ir.Constant(I1, 0)]
            self.b.call(fn, self.sliced(args, rows, vectors * lanes))
            return
        tabled = Tabled(len(c.a_guards), len(c.b_guards), c.scattered, c.b_rows)
        self.implicit_gemm(c, pointers, gemm_function(self.module, self.float, lanes, rows, vectors, tabled),
                           tabled, (rows, vectors * lanes))

    def sliced(self, args: list, rows: int, panel: int, tabled: Tabled | None = None) -> list:
        """A micro-kernel call's arguments for this part's slice: its rows or its columns (whichever has more
        tiles), whole tiles each, the pointers and offset tables moved to the slice."""
        if self.split != "contraction":
            return args
        b, zero = self.b, ir.Constant(I64, 0)
        M, N = args[3], args[4]

        def tiles(n, unit):
            return b.sdiv(b.add(n, ir.Constant(I64, unit - 1)), ir.Constant(I64, unit))

        by_rows = b.icmp_signed(">=", tiles(M, rows), tiles(N, panel))
        m0, m1 = parts.part_range(b, self.part, self.parts, tiles(M, rows), rows, M)
        n0, n1 = parts.part_range(b, self.part, self.parts, tiles(N, panel), panel, N)
        m0, m1, n0, n1 = (b.select(by_rows, m0, zero), b.select(by_rows, m1, M),
                          b.select(by_rows, zero, n0), b.select(by_rows, N, n1))
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
        if tabled.scatter:
            move(11, n0, I64)  # cj
        else:
            move(0, n0)  # C's contiguous columns
        for g in range(tabled.a_guards):
            move(12 + 4 * g, m0, I64)
        for g in range(tabled.b_guards):
            move(12 + 4 * (tabled.a_guards + g) + 1, n0, I64)
        return args

    def implicit_gemm(self, c: Contraction, pointers, fn, tabled: Tabled, tile: tuple[int, int]) -> None:
        d = self.kernel.definition
        shapes = {name: self.tensors[name].shape for name in (str(c.a.base.label), str(c.b.base.label))}
        terms_a = address_coefficients(c.a.indices, shapes[str(c.a.base.label)])
        terms_b = address_coefficients(c.b.indices, shapes[str(c.b.base.label)])
        terms_c = address_coefficients(d.out, d.shape)
        guards = [(affine_coefficients(sp.expand(g.args[0])), int(g.args[1]), int(g.args[2]), group)
                  for gs, group in ((c.a_guards, c.i), (c.b_guards, c.j)) for g in gs]
        tables = [self.offset_table(c.i, terms_a), self.offset_table(c.k, terms_a), self.offset_table(c.k, terms_b),
                  self.offset_table(c.j, terms_b), self.offset_table(c.i, terms_c), self.offset_table(c.j, terms_c)]
        for terms, _, _, group in guards:
            pair = [self.offset_table(group, terms), self.offset_table(c.k, terms)]
            tables += pair if group is c.i else pair[::-1]
        sizes = [ir.Constant(I64, math.prod(int(d.extents[s]) for s in group)) for group in (c.i, c.j, c.k)]
        reduced_outer = [s for s in c.outer if s not in d.out]

        def call():
            def base(terms):
                return self.int_value(sum((v * s for s, v in terms.items() if s == 1 or s in c.outer), sp.Integer(0)))

            dtypes = [d.dtype, self.tensors[str(c.a.base.label)].dtype, self.tensors[str(c.b.base.label)].dtype]
            moved = [self.b.gep(p, [base(t)], source_etype=STORAGE[dt])
                     for p, t, dt in zip(pointers, (terms_c, terms_a, terms_b), dtypes, strict=True)]
            args = [*moved, *sizes, *tables[:6]]
            for n, (terms, lo, hi, _) in enumerate(guards):
                shift = base(terms)
                args += [*tables[6 + 2 * n: 8 + 2 * n], self.b.sub(ir.Constant(I64, lo), shift),
                         self.b.sub(ir.Constant(I64, hi), shift)]
            accumulate = ir.Constant(I1, 0)
            for s in reduced_outer:
                accumulate = self.b.or_(accumulate, self.b.icmp_signed("!=", self.env[s], ir.Constant(I64, 0)))
            self.b.call(fn, self.sliced([*args, self.float_value(c.scale), accumulate], *tile, tabled))

        def nest(symbols):
            if not symbols:
                call()
                return
            with self.loop(symbols[0], d.extents[symbols[0]]):
                nest(symbols[1:])

        nest(list(c.outer))

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

    @staticmethod
    def _reassoc(instr):
        """Reductions alone may reassociate: a float sum vectorizes only with it."""
        instr.flags.extend((*mathlib.FLAGS, "reassoc"))
        return instr

    def reduce(self, *reductions: Reduce) -> None:
        """Register accumulators over shared loops (several for fused siblings), stored after the loops."""
        b = self.b
        accumulators = []
        for s in reductions:
            value_type = I64 if self.is_int(s.value) else self.float
            acc = self.alloca(value_type)
            pos = self.alloca(I64) if s.op == "argmax" else None
            if s.op in ("sum", "prod"):
                b.store(ir.Constant(value_type, int(s.op == "prod")), acc)
            elif value_type == I64:
                b.store(ir.Constant(I64, -(2**63)), acc)
            else:
                b.store(ir.Constant(value_type, float("-inf")), acc)
            if pos is not None:
                b.store(ir.Constant(I64, 0), pos)
            started = None
            if s.ties == "window" and s.op != "sum":
                started = self.alloca(I1)
                b.store(ir.Constant(I1, 0), started)
            accumulators.append((s, acc, pos, value_type, started))
        self.reduce_loops(reductions[0].loops, accumulators)
        for s, acc, pos, value_type, _ in accumulators:
            result = b.load(pos, typ=I64) if pos is not None else b.load(acc, typ=value_type)
            if pos is None:
                result = self.convert(result, "f" if value_type != I64 else "i", self.tensors[s.buffer].dtype)
            b.store(result, self.address(s.buffer, s.index))

    def reduce_loops(self, loops, accumulators) -> None:
        if loops:
            with self.loop(loops[0].var, loops[0].extent):
                self.reduce_loops(loops[0].body, accumulators)
            return
        b = self.b
        for s, acc, pos, value_type, started in accumulators:
            if started is not None:
                self.window_step(s, acc, pos, value_type, started)
                continue
            v = self.float_value(s.value) if value_type != I64 else self.int_value(s.value)
            current = b.load(acc, typ=value_type)
            if s.op in ("sum", "prod"):
                b.store(self.combine_sum(current, v) if s.op == "sum" else self.combine_product(current, v), acc)
                continue
            if value_type == I64:
                better = b.icmp_signed(">", v, current)
            else:
                better = b.or_(b.fcmp_ordered(">", v, current), b.fcmp_unordered("uno", v, v))
                better = b.and_(better, b.fcmp_ordered("ord", current, current))
            b.store(b.select(better, v, current), acc)
            if pos is not None:
                b.store(b.select(better, self.int_value(s.position), b.load(pos, typ=I64)), pos)

    def window_step(self, s: Reduce, acc, pos, value_type, started) -> None:
        """PyTorch's pooling scan: the first position inside the window's guard is taken, a later one if greater
        or NaN (so the last NaN); positions outside the guard never."""
        b = self.b
        value, holds = s.value, ir.Constant(I1, 1)
        if is_guard(value):
            value, _, *conditions = value.args
            for c in conditions:
                holds = b.and_(holds, type(c).predicate(self, *c.args))
        with self.clamped_reads():
            v = self.float_value(value) if value_type != I64 else self.int_value(value)
        current = b.load(acc, typ=value_type)
        if value_type == I64:
            wins = b.icmp_signed(">", v, current)
        else:
            wins = b.or_(b.fcmp_ordered(">", v, current), b.fcmp_unordered("uno", v, v))
        take = b.and_(holds, b.or_(b.not_(b.load(started, typ=I1)), wins))
        b.store(b.select(take, v, current), acc)
        b.store(b.or_(b.load(started, typ=I1), holds), started)
        if pos is not None:
            b.store(b.select(take, self.int_value(s.position), b.load(pos, typ=I64)), pos)

    # ---------------------------------------------------------------- values
    def is_int(self, e: sp.Expr) -> bool:
        return is_integer_valued(e, self.dtypes)

    def typed_value(self, e: sp.Expr) -> ir.Value:
        """The body's value in the storage type of the definition."""
        dtype = self.kernel.definition.dtype
        if dtype.kind == "b":
            return self.b.zext(self.bool_value(e), I8)
        if dtype.kind == "i":
            return self.int_value(e)
        return self.float_value(e)

    def convert(self, v: ir.Value, kind: str, dtype: np.dtype) -> ir.Value:
        """A value in ``dtype``'s storage: integers to floats and between floats; never a float to an integer
        (that is an explicit ``trunc`` in the IR)."""
        target = STORAGE[dtype]
        if kind == "i" and target in (F32, F64):
            return self.b.sitofp(v, target)
        if kind == "f" and target not in (F32, F64):
            raise LoweringError(f"codegen: a float value stored as {dtype} in {self.kernel.definition.name}")
        if v.type == F32 and target == F64:
            return self.b.fpext(v, F64)
        if v.type == F64 and target == F32:
            return self.b.fptrunc(v, F32)
        return v

    def read(self, e: sp.Expr) -> tuple[ir.Value, np.dtype]:
        if isinstance(e, sp.Indexed):
            name = str(e.base.label)
            return self.load(name, e.indices), self.tensors[name].dtype
        return self.load(e.name, ()), self.tensors[e.name].dtype

    def int_value(self, e: sp.Expr) -> ir.Value:
        b = self.b
        key = ("i", e, self.clamping)
        if key in self.memo:
            return self.memo[key]
        if e.is_Integer:
            v = ir.Constant(I64, int(e))
        elif e.is_Rational:  # a solved index no point reaches (its divisibility guard never holds)
            v = ir.Constant(I64, int(e))
        elif isinstance(e, sp.Symbol) and e in self.env:
            v = self.env[e]
        elif isinstance(e, sp.Indexed) or is_tensor_symbol(e):
            raw, dtype = self.read(e)
            if dtype.kind == "f":
                raise LoweringError(f"codegen: {e} is a float read where {self.kernel.definition.name} needs an "
                                    "integer; the IR must convert it explicitly")
            v = b.zext(raw, I64) if dtype.kind == "b" else raw
        elif isinstance(e, (sp.Add, sp.Mul)) and any(not t.as_coeff_Mul()[0].is_Integer
                                                      for t in sp.Add.make_args(sp.expand(e))):
            num, den = sp.fraction(sp.together(sp.expand(e)))  # an exact quotient (a solved strided read)
            if not den.is_Integer or den == 1:
                raise LoweringError(f"codegen: no integer lowering for {e}")
            v = b.sdiv(self.int_value(sp.expand(num)), self.int_value(den))
        elif isinstance(e, sp.Add):
            v = self.int_value(e.args[0])
            for a in e.args[1:]:
                v = b.add(v, self.int_value(a))
        elif isinstance(e, sp.Mul) and all(a.is_integer or self.is_int(a) for a in e.args):
            v = self.int_value(e.args[0])
            for a in e.args[1:]:
                v = b.mul(v, self.int_value(a))
        elif isinstance(e, sp.floor):
            num, den = sp.fraction(sp.together(e.args[0]))
            v = self.floor_div(self.int_value(sp.expand(num)), self.int_value(den))
        elif isinstance(e, sp.Mod):
            n, m = self.int_value(e.args[0]), self.int_value(e.args[1])
            v = b.sub(n, b.mul(self.floor_div(n, m), m))
        elif isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp >= 0:
            v = ir.Constant(I64, 1)
            for _ in range(int(e.exp)):
                v = b.mul(v, self.int_value(e.base))
        elif (isinstance(e, sp.Function) or type(e) in INTEGER_PRIMITIVES) and self.is_int(e):
            v = self.int_function(e)
        else:
            raise LoweringError(f"codegen: no integer lowering for {e}")
        self.memo[key] = v
        return v

    def floor_div(self, n: ir.Value, d: ir.Value) -> ir.Value:
        """⌊n/d⌋ (SymPy's floor and Mod round toward −∞; the machine's division toward zero). d = −1 negates
        (wrapping at −2⁶³ as PyTorch, where the machine's division would trap)."""
        b, zero, minus_one = self.b, ir.Constant(I64, 0), ir.Constant(I64, -1)
        by_minus_one = b.icmp_signed("==", d, minus_one)
        q = b.select(by_minus_one, b.neg(n), b.sdiv(n, b.select(by_minus_one, ir.Constant(I64, 1), d)))
        inexact = b.icmp_signed("!=", b.mul(q, d), n)
        opposite = b.xor(b.icmp_signed("<", n, zero), b.icmp_signed("<", d, zero))
        return b.select(b.and_(inexact, opposite), b.sub(q, ir.Constant(I64, 1)), q)

    def int_function(self, e: sp.Function) -> ir.Value:
        """An integer-valued function: a condition (0 or 1), a conversion (trunc), or one that keeps its
        integer argument's kind (abs, max, min, sign, relu, clamp), computed in int64."""
        kind = getattr(type(e), "value_kind", "float")
        if kind == "condition":
            return self.b.zext(self.bool_value(e), I64)
        if kind == "integer":
            return type(e).lower(self, *e.args)
        if type(e) in INTEGER_PRIMITIVES:
            return INTEGER_PRIMITIVES[type(e)](self, *e.args)
        return type(e).lower(IntegerOps(self), *e.args)

    def bool_value(self, e: sp.Expr) -> ir.Value:
        """A condition: an element function's ``predicate`` (comparisons, brackets), else ``e ≠ 0``."""
        if getattr(type(e), "value_kind", None) == "condition":
            return type(e).predicate(self, *e.args)
        if self.is_int(e):
            return self.b.icmp_signed("!=", self.int_value(e), ir.Constant(I64, 0))
        return self.b.fcmp_unordered("une", self.float_value(e), ir.Constant(self.float, 0))

    # ---------------------------------------------------------------- ScalarOps: what element functions lower to
    def value(self, e: sp.Expr) -> ir.Value:
        return self.float_value(e)

    def const(self, value: float) -> ir.Constant:
        return ir.Constant(self.float, value)

    def add(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.arith.add(a, b)

    def mul(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.arith.mul(a, b)

    def select(self, condition: ir.Value, if_true: ir.Value, if_false: ir.Value) -> ir.Value:
        return self.b.select(condition, if_true, if_false)

    def compare(self, op: str, x: sp.Expr, y: sp.Expr) -> ir.Value:
        if self.is_int(x) and self.is_int(y):
            return self.b.icmp_signed(op, self.int_value(x), self.int_value(y))
        fx, fy = self.float_value(x), self.float_value(y)
        return self.b.fcmp_unordered(op, fx, fy) if op == "!=" else self.b.fcmp_ordered(op, fx, fy)

    def both(self, a: ir.Value, b: ir.Value) -> ir.Value:
        return self.b.and_(a, b)

    def safely(self, e: sp.Expr) -> ir.Value:
        with self.clamped_reads():
            return self.float_value(e)

    def word(self, e: sp.Expr) -> ir.Value:
        if self.is_int(e):
            return self.int_value(e)
        if isinstance(e, sp.Indexed) or is_tensor_symbol(e):
            return self.truncate(self.read(e)[0])  # in the read's own precision, not the definition's
        return self.truncate(self.float_value(e))

    def bits(self, op: str, a: ir.Value, b: ir.Value | int) -> ir.Value:
        if isinstance(b, int):
            b = ir.Constant(I64, b - (1 << 64) if b >= 1 << 63 else b)
        return {"+": self.b.add, "*": self.b.mul, "^": self.b.xor, ">>": self.b.lshr}[op](a, b)

    def to_float(self, condition: ir.Value) -> ir.Value:
        return self.b.uitofp(condition, self.float)

    def truncate(self, value: ir.Value) -> ir.Value:
        """Toward zero, saturating (``llvm.fptosi.sat``: defined for NaN and out-of-range values)."""
        name = f"llvm.fptosi.sat.i64.{'f32' if value.type == F32 else 'f64'}"
        fn = self.module.globals.get(name) or ir.Function(self.module, ir.FunctionType(I64, [value.type]), name)
        return self.b.call(fn, [value])

    def call(self, kernel: str, *args: ir.Value) -> ir.Value:
        """A mathlib kernel in the definition's precision (sin and cos: in double, rounded once)."""
        if self.float == F32 and kernel in mathlib.DOUBLE_ONLY:
            out = self.b.call(mathlib.function(self.module, kernel, F64), [self.b.fpext(a, F64) for a in args])
            return self.b.fptrunc(out, F32)
        return self.b.call(mathlib.function(self.module, kernel, self.float), args)

    def intrinsic(self, name: str, *args: ir.Value) -> ir.Value:
        fnty = ir.FunctionType(self.float, [self.float] * len(args))
        return self.b.call(self.module.declare_intrinsic(name, [self.float], fnty), args)

    def float_value(self, e: sp.Expr) -> ir.Value:
        key = ("f", e, self.clamping)
        if key not in self.memo:
            self.memo[key] = self._float_value(e)
        return self.memo[key]

    def _float_value(self, e: sp.Expr) -> ir.Value:
        b, A = self.b, self.arith
        if e.is_number:  # numbers and constant expressions (√2, π, ∞); named functions of constants lower below
            with contextlib.suppress(TypeError):
                return self.const(float(e))
        if isinstance(e, sp.Indexed) or is_tensor_symbol(e):
            raw, dtype = self.read(e)
            if dtype.kind == "b":
                return b.uitofp(raw, self.float)
            return self.convert(raw, "i" if dtype.kind == "i" else "f", np.dtype(np.float32 if self.float == F32
                                                                                 else np.float64))
        if isinstance(e, sp.Symbol):
            return b.sitofp(self.int_value(e), self.float)
        if isinstance(e, sp.Add):
            v = self.float_value(e.args[0])
            for a in e.args[1:]:
                v = A.add(v, self.float_value(a))
            return v
        if isinstance(e, sp.Mul):
            num, den = [], []
            for a in e.args:
                if isinstance(a, sp.Pow) and a.exp.is_Integer and a.exp < 0:
                    den.append(sp.Pow(a.base, -a.exp))
                elif a.is_Rational and a.q != 1:  # x/3 is divided, as PyTorch does (x·0.333… rounds twice)
                    num.append(sp.Integer(a.p))
                    den.append(sp.Integer(a.q))
                else:
                    num.append(a)
            num = [a for a in num if a != 1] if len(num) > 1 else num
            if num and num[0] == -1 and num[1:] and self.is_int(sp.Mul(*num[1:])):
                v = b.sitofp(self.int_value(sp.Mul(*num)), self.float)  # −n of an integer: +0.0 at 0, as PyTorch
            elif num and num[0] == -1:
                v = A.neg(self.float_value(sp.Mul(*num[1:]))) if num[1:] else self.const(-1.0)
            else:
                v = self.float_value(num[0]) if num else self.const(1.0)
                for a in num[1:]:
                    v = A.mul(v, self.float_value(a))
            for a in den:
                v = A.div(v, self.float_value(a))
            return v
        if isinstance(e, sp.Pow):
            return self.power(e.base, e.exp)
        if getattr(type(e), "value_kind", None) == "integer":
            return b.sitofp(self.int_value(e), self.float)
        primitive = PRIMITIVES.get(type(e))
        if primitive is not None:
            return primitive(self, *e.args)
        lower = getattr(type(e), "lower", None)  # the IR's named functions carry their own lowering
        if lower is not None and isinstance(e, sp.Function):
            return lower(self, *e.args)
        raise LoweringError(f"codegen: no lowering for {type(e).__name__} in {e}")

    def power(self, base: sp.Expr, exp: sp.Expr) -> ir.Value:
        A = self.arith
        x = self.float_value(base)
        if exp.is_Integer and abs(int(exp)) <= 64:
            n = abs(int(exp))
            result, square = None, x
            while n:
                if n & 1:
                    result = square if result is None else A.mul(result, square)
                n >>= 1
                if n:
                    square = A.mul(square, square)
            result = result if result is not None else self.const(1.0)
            return A.div(self.const(1.0), result) if exp < 0 else result
        if exp == sp.Rational(1, 2):
            return self.intrinsic("llvm.sqrt", x)
        if exp == sp.Rational(-1, 2):  # no fast-math flags: LLVM would make it rsqrt, NaN at 0 (PyTorch: inf)
            return self.b.fdiv(self.const(1.0), self.intrinsic("llvm.sqrt", x))
        return self.general_power(x, self.float_value(exp))

    def general_power(self, x: ir.Value, y: ir.Value) -> ir.Value:
        """x^y as C's pow: e^(y·log|x|), negated for a negative base and an odd integer y, NaN for a negative
        base and a non-integer y; x^0 = 1 and 1^y = 1 even for NaN."""
        A, b = self.arith, self.b
        magnitude = self.call("exp", A.mul(y, self.call("log", A.abs(x))))
        whole = A.rint(y)
        integer = b.fcmp_ordered("==", whole, y)
        half = A.mul(y, self.const(0.5))
        odd = b.and_(integer, b.fcmp_unordered("!=", A.rint(half), half))
        negative = b.select(integer, b.select(odd, A.neg(magnitude), magnitude), self.const(float("nan")))
        result = b.select(b.fcmp_ordered("<", x, self.const(0.0)), negative, magnitude)
        one = b.or_(b.fcmp_ordered("==", y, self.const(0.0)), b.fcmp_ordered("==", x, self.const(1.0)))
        return b.select(one, self.const(1.0), result)


def _small(d) -> bool:
    """A definition over a fixed domain of fewer than 4096 points."""
    size = 1
    for _, extent in d.domain:
        if not sp.sympify(extent).is_Integer:
            return False
        size *= int(extent)
    return size < 4096


def _extremum(keep: str):
    """Max/Min of any arity; NaN wins wherever it is, as torch.maximum."""
    def lower(em: KernelEmitter, *args: sp.Expr) -> ir.Value:
        v = em.float_value(args[0])
        for a in args[1:]:
            w = em.float_value(a)
            v = em.b.select(em.b.or_(em.b.fcmp_ordered(keep, v, w), em.b.fcmp_unordered("uno", v, v)), v, w)
        return v
    return lower


def _sign(em: KernelEmitter, x: sp.Expr) -> ir.Value:
    v = em.float_value(x)
    one = em.b.select(em.b.fcmp_ordered(">", v, em.const(0)), em.const(1), v)
    return em.b.select(em.b.fcmp_ordered("<", v, em.const(0)), em.const(-1), one)


def _kernel(name: str):
    return lambda em, x: em.call(name, em.float_value(x))


def _int_extremum(op: str):
    def lower(em: KernelEmitter, *args: sp.Expr) -> ir.Value:
        v = em.int_value(args[0])
        for a in args[1:]:
            w = em.int_value(a)
            v = em.b.select(em.b.icmp_signed(op, v, w), v, w)
        return v
    return lower


def _int_abs(em: KernelEmitter, x: sp.Expr) -> ir.Value:
    v = em.int_value(x)
    return em.b.select(em.b.icmp_signed("<", v, ir.Constant(I64, 0)), em.b.neg(v), v)


def _int_sign(em: KernelEmitter, x: sp.Expr) -> ir.Value:
    v, zero = em.int_value(x), ir.Constant(I64, 0)
    positive = em.b.zext(em.b.icmp_signed(">", v, zero), I64)
    return em.b.sub(positive, em.b.zext(em.b.icmp_signed("<", v, zero), I64))


#: SymPy's kind-keeping functions on integers (``ir.KIND_PRESERVING``)
INTEGER_PRIMITIVES = {sp.Abs: _int_abs, sp.Max: _int_extremum(">"), sp.Min: _int_extremum("<"), sp.sign: _int_sign}


#: SymPy's own functions: the primitives this backend lowers directly (named functions bring ``lower``).
PRIMITIVES = {
    sp.exp: _kernel("exp"), sp.log: _kernel("log"), sp.sin: _kernel("sin"), sp.cos: _kernel("cos"),
    sp.tanh: _kernel("tanh"), sp.erf: _kernel("erf"),
    sp.Abs: lambda em, x: em.intrinsic("llvm.fabs", em.float_value(x)),
    sp.sign: _sign, sp.Max: _extremum(">"), sp.Min: _extremum("<"),
    # tensors are real: SymPy's rewrites through re/im (|eˣ| → e^re(x)) lower to the value and zero
    sp.re: lambda em, x: em.float_value(x), sp.im: lambda em, x: em.const(0.0),
    sp.conjugate: lambda em, x: em.float_value(x),
    sp.floor: lambda em, *args: em.b.sitofp(em.int_value(sp.floor(*args)), em.float),
    sp.Mod: lambda em, *args: em.b.sitofp(em.int_value(sp.Mod(*args)), em.float),
}


class Module(NamedTuple):
    """A graph's LLVM IR text (with the driver ``sn_repeat`` when a ``Repeat`` is given), the index checks its
    kernels make, its symbolic dimensions in order, and per definition the positions of the first and the last
    kernel that touch its buffer (two definitions whose spans do not meet may share memory)."""

    ir: str
    checks: list[IndexCheck]
    dims: list[sp.Symbol]
    spans: list[tuple[int, int]]


def emit_module(graph: Graph, kernels: list[Kernel], name: str, repeat: Repeat | None = None,
                parallel: bool = False) -> Module:
    """The graph as one LLVM module: a function per kernel and the entry calling them in order. ``parallel``:
    large kernels split across the pool's threads (``codegen.parts``); without, the module is self-contained."""
    module = ir.Module(name=name)
    tensors = graph.tensors()
    order = [t.name for t in graph.inputs] + [d.name for d in graph.defs]
    slot = {n: k for k, n in enumerate(order)}
    dims = dims_of(graph)
    checks: list[IndexCheck] = []
    functions = []
    for kernel in kernels:
        emitter = KernelEmitter(module, tensors, dims, kernel, checks, parallel)
        functions.append((emitter.emit(), emitter.buffers))
    entry = ir.Function(module, ir.FunctionType(I32, [PTR, PTR, PTR]), ENTRY)
    bufs, dim_array, error_slot = entry.args
    b = ir.IRBuilder(entry.append_basic_block("entry"))
    dim_values = [b.load(b.gep(dim_array, [ir.Constant(I64, k)], source_etype=I64), typ=I64)
                  for k in range(len(dims))]
    for fn, buffers in functions:
        ptrs = [b.load(b.gep(bufs, [ir.Constant(I64, slot[n])], source_etype=PTR), typ=PTR) for n in buffers]
        status = b.call(fn, [*ptrs, *dim_values, error_slot])
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
    return Module(str(module), checks, dims, spans)
