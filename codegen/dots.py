"""The dot-product micro-kernel: ``C(i, j) (=|+=) scale · Σ_k Σ_x A(i, k, x) · B(k, j, x)``.

A convolution's weight gradient with few channels (LeNet's first layer: 6 × 25 weights summed over 28 × 28
positions per image) is a GEMM whose rows and columns are both short and whose packed panel is an im2col gather
of every position. Here the lanes run along the summed image row ``x``, contiguous in both operands: a tile of
``rows`` × ``cols`` accumulators takes, per k (an image row) and vector of x, ``rows`` vectors of A and ``cols``
of B read in place (masked past X) and ``rows × cols`` FMAs; each accumulator is summed across its lanes once at
the end. No packing, no call per image row.

Addresses come from i64 offset tables: ``A[ai[i] + ak[k] + x]``, ``B[bk[k] + bj[j] + x]``, ``C[ci[i] + cj[j]]``.
Rows past M and columns past N (the last tiles') are computed on row M − 1 or column N − 1 and never stored.
"""

from __future__ import annotations

import math

from llvmlite import ir

from . import mathlib
from .irloops import span
from .tiling import TiledKernel, i64

#: vector registers a tile may hold: its accumulators and the vectors of A and B of one step
REGISTERS = {512: 29, 256: 14, 128: 14}
#: FMAs per accumulator (k steps × vectors of x) below which its horizontal sum costs more than the lanes save
MIN_STEPS = 32


def dot_shape(bits: int, lanes: int, m: int, n: int, k: int, x: int) -> tuple[int, int, float] | None:
    """(rows, cols, cost) of the cheapest tile, in the units of ``direct.direct_shape`` (a horizontal sum 20),
    or None when each accumulator would take fewer than ``MIN_STEPS`` FMAs."""
    steps = k * math.ceil(x / lanes)
    if steps < MIN_STEPS:
        return None
    budget = REGISTERS.get(bits, 14)
    best = None
    for rows in range(1, min(m, budget) + 1):
        for cols in range(1, min(n, budget) + 1):
            if rows * cols + rows + cols > budget:
                break
            tiles = math.ceil(m / rows) * math.ceil(n / cols)
            cost = tiles * (steps * (max(rows * cols, 8) + 1.5 * (rows + cols) + 2) + 20 * rows * cols)
            if best is None or cost < best[2]:
                best = (rows, cols, cost)
    return best


def dot_function(module: ir.Module, T: ir.Type, lanes: int, rows: int, cols: int) -> ir.Function:
    """``(C, A, B, M, N, K, X, ai, ak, bk, bj, ci, cj, scale, accumulate)``: C = scale·Σ A·B, or C += … when
    ``accumulate`` is set."""
    if isinstance(t := TiledKernel.named(module, T, lanes, f"sn_dot_{rows}x{cols}"), ir.Function):
        return t
    C, A, B, M, N, K, X, ai, ak, bk, bj, ci, cj, scale, accumulate = t.fn.args
    b, at, entry_of, clamped = t.b, t.at, t.entry_of, t.clamped
    # an ordered sum across the lanes would serialize: the tree LLVM picks with reassoc is as exact
    reduce_add = t.intrinsic(f"llvm.vector.reduce.fadd.v{lanes}{t.precision}", ir.FunctionType(T, [T, t.vec]))
    acc = [[b.alloca(t.vec) for _ in range(cols)] for _ in range(rows)]
    last_m, last_n = b.sub(M, i64(1)), b.sub(N, i64(1))
    first = b.not_(accumulate)
    with span(b, i64(0), M, rows) as i0:
        row_at = [b.add(i0, i64(q)) for q in range(rows)]
        a_rows = [at(A, entry_of(ai, clamped(i, last_m))) for i in row_at]
        c_rows = [entry_of(ci, clamped(i, last_m)) for i in row_at]
        with span(b, i64(0), N, cols) as j0:
            col_at = [b.add(j0, i64(c)) for c in range(cols)]
            b_cols = [at(B, entry_of(bj, clamped(j, last_n))) for j in col_at]
            c_cols = [entry_of(cj, clamped(j, last_n)) for j in col_at]
            for q in range(rows):
                for c in range(cols):
                    b.store(t.zero, acc[q][c])
            with span(b, i64(0), K) as k:
                a_k, b_k = entry_of(ak, k), entry_of(bk, k)
                a_line = [at(p, a_k) for p in a_rows]
                b_line = [at(p, b_k) for p in b_cols]
                with span(b, i64(0), X, lanes) as x0:
                    mask = t.below(x0, X)
                    av = [b.call(t.masked_load, [at(p, x0), t.align, mask, t.zero]) for p in a_line]
                    bv = [b.call(t.masked_load, [at(p, x0), t.align, mask, t.zero]) for p in b_line]
                    for q in range(rows):
                        for c in range(cols):
                            b.store(b.call(t.fma, [av[q], bv[c], b.load(acc[q][c], typ=t.vec)]), acc[q][c])
            for q in range(rows):
                for c in range(cols):
                    inside = b.and_(b.icmp_signed("<", row_at[q], M), b.icmp_signed("<", col_at[c], N))
                    with b.if_then(inside):
                        total = b.call(reduce_add, [ir.Constant(T, 0.0), b.load(acc[q][c], typ=t.vec)])
                        total.flags.extend((*mathlib.FLAGS, "reassoc"))
                        v = mathlib.fast(b.fmul(total, scale))
                        ptr = at(C, b.add(c_rows[q], c_cols[c]))
                        b.store(b.select(first, v, mathlib.fast(b.fadd(b.load(ptr, typ=T), v))), ptr)
    b.ret_void()
    return t.fn
