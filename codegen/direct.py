"""The direct-convolution micro-kernel: ``C(i, r, j) (=|+=) scale · Σ_k A(i, k) · B(k, r, j)``.

A convolution with few channels (LeNet's 1→6 forward, its 16→6 input gradient) is a poor GEMM: the micro-kernel
packs B for every output row and leaves most of a tile's rows idle. Here the output's rows ``r`` (the image rows
A does not read) run inside the kernel too: a tile holds ``rows`` output channels × ``depth`` image rows ×
``vectors`` vectors of the image row ``j`` (x along the lanes) in registers; each k (input channel and kernel
offset) loads ``depth × vectors`` vectors of B in place (no packing; masked past N), broadcasts ``rows``
elements of A (packed k-major per tile and k-block: a row's broadcast is at a fixed displacement, no register
per row), and issues ``rows × depth × vectors`` FMAs. One call covers a whole image.

Addresses come from i64 offset tables: ``A[ai[i] + ak[k]]``, ``B[bk[k] + br[r] + j]``, ``C[ci[i] + cr[r] + j]``.
Rows past M or R (the last tile's) are computed on row M − 1 or R − 1 and never stored.

With one row of A (a one-channel input gradient: ``rows`` 1) each k step would load a vector of B per FMA. The
sliding variant runs one row of A at a time and takes the k steps T at a time, the kernel's taps along the image
rows (k = k_o·T + t, B's row r ± t): a tile's ``depth`` rows read ``depth + T − 1`` lines of B per k_o, each loaded
once and multiplied by every tap that reads it (LeNet's conv1 input gradient: 22 loads for 70 FMAs, where the plain
kernel made 70). It can read B in place under the bounds of its rows (a line outside is skipped) and columns (a
lane outside is masked): an input gradient then needs no zero-padded copy of the output gradient.
"""

from __future__ import annotations

import contextlib
import math

from llvmlite import ir

from .gemm import BLOCK_K
from .irloops import I64, PTR, span
from .tiling import TiledKernel, i64

#: vector registers a tile may hold: its accumulators, B's vectors of a k step and A's broadcasts (LLVM loads them
#: all before the FMAs, unless each is used once: then they are FMA operands); past this, LLVM spills accumulators
#: to the stack in the k loop
REGISTERS = {512: 29, 256: 14, 128: 14}


def direct_shape(bits: int, lanes: int, m: int, n: int, r: int, k: int) -> tuple[int, int, int, float]:
    """(rows, depth, vectors, cost) of the cheapest tile for an M × R × N output over K. A k step costs its FMAs
    (at least 8: each accumulator waits on its last FMA), 1.5 per vector of B (a load across cache lines), 0.5
    per broadcast and 2 for its table entry and loop (measured on LeNet's convolutions); a tile adds its stores."""
    vectors = 1 if n <= lanes else 2
    budget = REGISTERS.get(bits, 14)
    best = None
    for rows in range(1, min(m, budget) + 1):
        for depth in range(1, r + 1):
            if rows * depth * vectors + depth * vectors + (rows if depth * vectors > 1 else 0) > budget:
                break
            tiles = math.ceil(m / rows) * math.ceil(r / depth) * math.ceil(n / (vectors * lanes))
            fmas = rows * depth * vectors
            step = max(fmas, 8) + 1.5 * depth * vectors + 0.5 * rows + 2
            cost = tiles * (k * step + 3 * fmas + 10)
            if best is None or cost < best[3]:
                best = (rows, depth, vectors, cost)
    return best


def direct_function(module: ir.Module, T: ir.Type, lanes: int, rows: int, depth: int, vectors: int,
                    skips: bool = False) -> ir.Function:
    """``(C, A, B, M, N, K, R, ai, ak, bk, br, ci, cr, scale, accumulate)``: C = scale·Σ_k A·B, or C += … when
    ``accumulate`` is set. With ``skips``, four more, ``(gr, gk, lo, hi)``: B is zero where gr[r] + gk[k] is
    outside [lo, hi], and a tile skips the k steps where it is for all its rows."""
    name = f"sn_direct_{rows}x{depth}x{vectors}{'z' if skips else ''}"
    if isinstance(t := TiledKernel.named(module, T, lanes, name, (PTR, PTR, I64, I64) if skips else ()),
                  ir.Function):
        return t
    t.fn.attributes.add("optsize")  # its k loop is explicit vectors: O3's unrolling doubles the code, not the speed
    C, A, B, M, N, K, R, ai, ak, bk, br, ci, cr, scale, accumulate = t.fn.args[:15]
    b, at, entry_of, clamped = t.b, t.at, t.entry_of, t.clamped
    acc = [[[b.alloca(t.vec) for _ in range(vectors)] for _ in range(depth)] for _ in range(rows)]
    packed = b.alloca(T, size=i64(BLOCK_K * rows))  # A's tile, k-major: its broadcasts at fixed displacements
    scale_vec = t.splat(scale)
    last_m, last_r = b.sub(M, i64(1)), b.sub(R, i64(1))

    def step(kk, bk_block, b_starts, masks):
        """One k step of a tile: B's vectors of its rows, A's broadcasts, the FMAs."""
        b_k = entry_of(bk_block, kk)
        lines = [[b.call(t.masked_load, [at(b_starts[d][h], b_k), t.align, masks[h], t.zero])
                  for h in range(vectors)] for d in range(depth)]
        a_k = at(packed, b.mul(kk, i64(rows)))
        for q in range(rows):
            a = t.splat(b.load(at(a_k, i64(q)), typ=T))
            for d in range(depth):
                for h in range(vectors):
                    slot = acc[q][d][h]
                    b.store(b.call(t.fma, [a, lines[d][h], b.load(slot, typ=t.vec)]), slot)

    def tiles(k0, kc, first, row_at, c_rows):
        """Every tile of the packed rows over a k-block: over the image rows, over the columns."""
        with span(b, i64(0), R, depth) as r0:
            line_at = [b.add(r0, i64(d)) for d in range(depth)]
            b_lines = [entry_of(br, clamped(r, last_r)) for r in line_at]
            c_lines = [entry_of(cr, clamped(r, last_r)) for r in line_at]
            if skips:  # the least and the greatest gr[r] of the tile's rows
                gr, gk, lo, hi = t.fn.args[15:]
                guards = [entry_of(gr, clamped(r, last_r)) for r in line_at]
                least, greatest = guards[0], guards[0]
                for g in guards[1:]:
                    least = b.select(b.icmp_signed("<", g, least), g, least)
                    greatest = b.select(b.icmp_signed(">", g, greatest), g, greatest)
            with span(b, i64(0), N, vectors * lanes) as j0:
                starts = [b.add(j0, i64(h * lanes)) for h in range(vectors)]
                masks = [t.below(s, N) for s in starts]
                for q in range(rows):
                    for d in range(depth):
                        for h in range(vectors):
                            b.store(t.zero, acc[q][d][h])
                b_starts = [[at(B, b.add(b_lines[d], starts[h])) for h in range(vectors)] for d in range(depth)]
                bk_block = at(bk, k0, I64)
                with span(b, i64(0), kc) as kk:
                    if skips:
                        g_k = entry_of(gk, b.add(k0, kk))
                        needed = b.and_(b.icmp_signed(">=", b.add(greatest, g_k), lo),
                                        b.icmp_signed("<=", b.add(least, g_k), hi))
                    with b.if_then(needed) if skips else contextlib.nullcontext():
                        step(kk, bk_block, b_starts, masks)
                for q in range(rows):
                    for d in range(depth):
                        inside = b.and_(b.icmp_signed("<", row_at[q], M), b.icmp_signed("<", line_at[d], R))
                        with b.if_then(inside):
                            base = b.add(c_rows[q], c_lines[d])
                            for h in range(vectors):
                                t.store(at(C, b.add(base, starts[h])), b.load(acc[q][d][h], typ=t.vec), scale_vec,
                                        masks[h], first)

    with span(b, i64(0), M, rows) as i0:
        row_at = [b.add(i0, i64(q)) for q in range(rows)]
        a_rows = [entry_of(ai, clamped(i, last_m)) for i in row_at]
        c_rows = [entry_of(ci, clamped(i, last_m)) for i in row_at]
        with span(b, i64(0), K, BLOCK_K) as k0:
            rest = b.sub(K, k0)
            kc = b.select(b.icmp_signed("<", rest, i64(BLOCK_K)), rest, i64(BLOCK_K))
            with span(b, i64(0), kc) as kk:
                a_k = entry_of(ak, b.add(k0, kk))
                for q in range(rows):
                    value = b.load(at(A, b.add(a_rows[q], a_k)), typ=T)
                    b.store(value, at(packed, b.add(b.mul(kk, i64(rows)), i64(q))))
            tiles(k0, kc, b.and_(b.icmp_signed("==", k0, i64(0)), b.not_(accumulate)), row_at, c_rows)
    b.ret_void()
    return t.fn


def sliding_shape(bits: int, lanes: int, m: int, n: int, r: int, k: int, taps: int,
                  run: int) -> tuple[int, int, float] | None:
    """(depth, vectors, cost) of the cheapest sliding tile, in the units of ``direct_shape``, or None when no depth
    past 1 divides ``run``, the extent of the image rows the taps move along (the last row symbol): a tile's rows
    are then consecutive rows of one image, its lines inside B."""
    vectors = 1 if n <= lanes else 2
    budget = REGISTERS.get(bits, 14)
    best = None
    for depth in range(2, r + 1):
        if depth * vectors + vectors + taps > budget:
            break
        if run % depth:
            continue
        tiles = m * (r // depth) * math.ceil(n / (vectors * lanes))
        fmas = depth * vectors * taps
        step = max(fmas, 8) + 1.5 * (depth + taps - 1) * vectors + 0.5 * taps + 2
        cost = tiles * (k // taps * step + 3 * depth * vectors + 10)
        if best is None or cost < best[2]:
            best = (depth, vectors, cost)
    return best


def sliding_function(module: ir.Module, T: ir.Type, lanes: int, depth: int, vectors: int, taps: int,
                     down: bool, skips: bool = False, columns: bool = False) -> ir.Function:
    """``(C, A, B, M, N, K, R, ai, ak, bk, br, ci, cr, scale, accumulate, line)``: as ``direct_function`` with k
    ordered tap-last and B's rows ``line`` apart; a tap t reads B's row r + t, or r − t when ``down``. With
    ``skips``, ``(gr, gk, lo, hi)`` as ``direct_function``'s, constant along a line: a tile skips the lines where B
    is zero or outside its rows. With ``columns``, ``(ck, clo, chi)`` more: B is read in place, its lanes only where
    clo ≤ j + ck[k] ≤ chi (its columns; the others count as zeros)."""
    name = f"sn_sliding_{depth}x{vectors}x{taps}{'d' if down else 'u'}{'z' if skips else ''}{'c' if columns else ''}"
    extra = (I64, *((PTR, PTR, I64, I64) if skips else ()), *((PTR, I64, I64) if columns else ()))
    if isinstance(t := TiledKernel.named(module, T, lanes, name, extra), ir.Function):
        return t
    t.fn.attributes.add("optsize")
    C, A, B, M, N, K, R, ai, ak, bk, br, ci, cr, scale, accumulate, line = t.fn.args[:16]
    b, at, entry_of = t.b, t.at, t.entry_of
    acc = [[b.alloca(t.vec) for _ in range(vectors)] for _ in range(depth)]
    scale_vec, first = t.splat(scale), b.not_(accumulate)
    lowest = i64(taps - 1 if down else 0)  # the tap that reads a tile's first line
    with span(b, i64(0), M) as i:
        a_row, c_row = at(A, entry_of(ai, i)), entry_of(ci, i)
        with span(b, i64(0), R, depth) as r0:
            b_row, c_rows = entry_of(br, r0), [entry_of(cr, b.add(r0, i64(d))) for d in range(depth)]
            if skips:  # the guard's value on a tile's first line and its step from a line to the next
                gr, gk, lo, hi = t.fn.args[16:20]
                guard_row = entry_of(gr, r0)
                guard_step = b.sub(entry_of(gr, b.add(r0, i64(1))), guard_row)
            with span(b, i64(0), N, vectors * lanes) as j0:
                starts = [b.add(j0, i64(h * lanes)) for h in range(vectors)]
                masks = [t.below(s, N) for s in starts]
                for d in range(depth):
                    for h in range(vectors):
                        b.store(t.zero, acc[d][h])
                with span(b, i64(0), K, taps) as k0:
                    weights = [t.splat(b.load(at(a_row, entry_of(ak, b.add(k0, i64(tap)))), typ=T))
                               for tap in range(taps)]
                    first_line = b.add(entry_of(bk, b.add(k0, lowest)), b_row)
                    if columns:  # the lanes inside B's columns (clo ≤ start + lane + ck[k0] ≤ chi) and below N
                        ck, clo, chi = t.fn.args[-3:]
                        loads = []
                        for s in starts:
                            at_lane = b.add(s, entry_of(ck, k0))
                            top = b.sub(chi, at_lane)
                            last = b.sub(b.sub(N, s), i64(1))
                            loads.append(t.lanes_within(b.sub(clo, at_lane),
                                                        b.select(b.icmp_signed("<", top, last), top, last)))
                    else:
                        loads = masks
                    if skips:
                        guard = b.add(guard_row, entry_of(gk, b.add(k0, lowest)))
                    for n in range(depth + taps - 1):  # line n holds row d of tap n − d (up) or d − n + T − 1
                        if skips:
                            value = b.add(guard, b.mul(guard_step, i64(n)))
                            needed = b.and_(b.icmp_signed(">=", value, lo), b.icmp_signed("<=", value, hi))
                        with b.if_then(needed) if skips else contextlib.nullcontext():
                            base = b.add(first_line, b.mul(line, i64(n)))
                            vs = [b.call(t.masked_load, [at(B, b.add(base, s)), t.align, mask, t.zero])
                                  for s, mask in zip(starts, loads, strict=True)]
                            for d in range(depth):
                                tap = d - n + taps - 1 if down else n - d
                                if 0 <= tap < taps:
                                    for h in range(vectors):
                                        slot = acc[d][h]
                                        b.store(b.call(t.fma, [weights[tap], vs[h], b.load(slot, typ=t.vec)]), slot)
                for d in range(depth):
                    for h in range(vectors):
                        t.store(at(C, b.add(b.add(c_row, c_rows[d]), starts[h])), b.load(acc[d][h], typ=t.vec),
                                scale_vec, masks[h], first)
    b.ret_void()
    return t.fn
