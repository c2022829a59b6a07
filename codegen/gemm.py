"""The contraction micro-kernel: ``C[i, j] (=|+=) scale · Σ_k A[i·sAi + k·sAk] · B[k·sBk + j·sBj]``.

One function per precision and module, called by every contraction kernel. B is packed per (column panel,
k-block) into a contiguous buffer of two-vector rows (any strides in, unit stride out, zero-padded past N);
tiles of ``rows`` × two vectors accumulate in registers with FMA over the k-block and are added to C. Row edges
(M mod rows) use one-row tiles; column edges go through a small buffer.
"""

from __future__ import annotations

from llvmlite import ir

from . import mathlib
from .irloops import span

I32, I64 = ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()
BLOCK_K = 256


def tile_shape(vector_bits: int, lanes: int, columns) -> tuple[int, int]:
    """(rows, vectors) of a register tile: 8 × 2 accumulators fit AVX-512's 32 vector registers and 6 × 2
    AVX2's 16; an output no wider than one vector (``columns`` ≤ lanes) takes twice the rows of one vector."""
    rows = 8 if vector_bits >= 512 else 6
    return (2 * rows, 1) if isinstance(columns, int) and columns <= lanes else (rows, 2)


def gemm_function(module: ir.Module, T: ir.Type, lanes: int, rows: int, vectors: int = 2) -> ir.Function:
    name = f"sn_gemm_{'f32' if isinstance(T, ir.FloatType) else 'f64'}_{rows}x{vectors}"
    if name in module.globals:
        return module.globals[name]
    args = [PTR, PTR, PTR] + [I64] * 8 + [T]
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), args), name)
    fn.linkage = "internal"
    fn.attributes.add("noinline")
    for a in fn.args[:3]:
        a.add_attribute("noalias")
    C, A, B, M, N, K, sAi, sAk, sBk, sBj, sCi, scale = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    vec = ir.VectorType(T, lanes)
    panel = vectors * lanes

    def i64(v):
        return ir.Constant(I64, v)

    def splat(x):
        mask = ir.Constant(ir.VectorType(I32, lanes), [0] * lanes)
        return b.shuffle_vector(b.insert_element(ir.Constant(vec, None), x, i64(0)), ir.Constant(vec, None), mask)

    packed = b.alloca(T, size=i64(BLOCK_K * panel))
    packed.align = 64
    edge = b.alloca(vec)
    acc = [[b.alloca(vec) for _ in range(vectors)] for _ in range(rows)]  # promoted to registers by LLVM
    suffix = f"v{lanes}{'f32' if isinstance(T, ir.FloatType) else 'f64'}"
    fma_name = f"llvm.fma.{suffix}"
    fma = module.globals.get(fma_name) or ir.Function(module, ir.FunctionType(vec, [vec] * 3), fma_name)
    scale_vec = splat(scale)

    def at(base, offset):
        return b.gep(base, [offset], source_etype=T)

    def tile(i0, height, k0, kc, j0, first):
        for r in range(height):
            for h in range(vectors):
                b.store(ir.Constant(vec, [0.0] * lanes), acc[r][h])
        with span(b, i64(0), kc) as kk:
            row = at(packed, b.mul(kk, i64(panel)))
            halves = [b.load(at(row, i64(h * lanes)), typ=vec, align=4) for h in range(vectors)]
            k_offset = b.mul(b.add(k0, kk), sAk)
            for r in range(height):
                a = splat(b.load(at(A, b.add(b.mul(b.add(i0, i64(r)), sAi), k_offset)), typ=T))
                for h in range(vectors):
                    b.store(b.call(fma, [a, halves[h], b.load(acc[r][h], typ=vec)]), acc[r][h])
        for r in range(height):
            row_base = b.mul(b.add(i0, i64(r)), sCi)
            for h in range(vectors):
                v = mathlib.fast(b.fmul(b.load(acc[r][h], typ=vec), scale_vec))
                col0 = b.add(j0, i64(h * lanes))
                with b.if_else(b.icmp_signed("<=", b.add(col0, i64(lanes)), N)) as (whole, partial):
                    with whole:
                        ptr = at(C, b.add(row_base, col0))
                        old = b.load(ptr, typ=vec, align=4)
                        b.store(b.select(first, v, mathlib.fast(b.fadd(old, v))), ptr, align=4)
                    with partial:
                        b.store(v, edge)
                        with span(b, col0, N) as col:
                            x = b.load(at(edge, b.sub(col, col0)), typ=T)
                            ptr = at(C, b.add(row_base, col))
                            b.store(b.select(first, x, mathlib.fast(b.fadd(b.load(ptr, typ=T), x))), ptr)

    with span(b, i64(0), N, panel) as j0:
        with span(b, i64(0), K, BLOCK_K) as k0:
            rest = b.sub(K, k0)
            kc = b.select(b.icmp_signed("<", rest, i64(BLOCK_K)), rest, i64(BLOCK_K))
            with span(b, i64(0), kc) as kk:
                row = b.mul(b.add(k0, kk), sBk)
                with span(b, i64(0), i64(panel)) as col:
                    j = b.add(j0, col)
                    inside = b.icmp_signed("<", j, N)
                    value = b.load(at(B, b.add(row, b.mul(b.select(inside, j, i64(0)), sBj))), typ=T)
                    b.store(b.select(inside, value, ir.Constant(T, 0.0)),
                            at(packed, b.add(b.mul(kk, i64(panel)), col)))
            first = b.icmp_signed("==", k0, i64(0))
            full_rows = b.mul(b.sdiv(M, i64(rows)), i64(rows))
            with span(b, i64(0), full_rows, rows) as i0:
                tile(i0, rows, k0, kc, j0, first)
            with span(b, full_rows, M) as i0:
                tile(i0, 1, k0, kc, j0, first)
    b.ret_void()
    return fn
