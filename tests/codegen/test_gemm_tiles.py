"""The GEMM micro-kernel called directly, for every tile shape a host may use (AVX-512's 8 × 2 and 16 × 1, AVX2's
6 × 2 and 12 × 1, whichever this host runs): every row count around the tile heights (whole tiles, then halving
edge tiles), B packed by vector loads (unit column stride) or element by element, A of unit or other row
stride, several k-blocks, accumulation — against NumPy in float64, and no element of C past M or N written."""

import ctypes

import numpy as np
import pytest
from llvmlite import ir

from codegen import jit
from codegen.gemm import BLOCK_K, gemm_function

SHAPES = [(8, 2), (16, 1), (6, 2), (12, 1)]


@pytest.fixture(scope="module", params=[np.float32, np.float64], ids=["f32", "f64"])
def kernels(request):
    """Per tile shape, the kernel as a ctypes function, from one module compiled for this dtype."""
    dtype = np.dtype(request.param)
    T = ir.FloatType() if dtype == np.float32 else ir.DoubleType()
    lanes = jit.vector_bits() // (8 * dtype.itemsize)
    module = ir.Module(name="gemm_tiles")
    names = {}
    for rows, vectors in SHAPES:
        fn = gemm_function(module, T, lanes, rows, vectors)
        fn.linkage = "external"
        names[rows, vectors] = fn.name
    engine = jit.Engine(jit.compile_alone(str(module)))
    scalar = ctypes.c_float if dtype == np.float32 else ctypes.c_double
    signature = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 3, *[ctypes.c_int64] * 8, scalar, ctypes.c_bool)
    yield dtype, lanes, {shape: signature(engine.address(name)) for shape, name in names.items()}
    engine.close()


def run(kernel, dtype, A, B, M, N, K, a_unit_rows, b_unit_columns, scale=1.0, accumulate=False, rng=None):
    """C (M × N, inside a canary-filled buffer one row and three columns larger) from the kernel, and what it
    should hold, with A and B laid out as asked."""
    a = np.ascontiguousarray(A.T if a_unit_rows else A)  # A[i, k] at i + k·M, or at i·K + k
    b = np.ascontiguousarray(B if b_unit_columns else B.T)  # B[k, j] at k·N + j, or at k + j·K
    sAi, sAk = (1, M) if a_unit_rows else (K, 1)
    sBk, sBj = (N, 1) if b_unit_columns else (1, K)
    out = np.full((M + 1, N + 3), 7.0, dtype)
    start = out.copy()
    if accumulate:
        start[:M, :N] = rng.standard_normal((M, N))
        out[:M, :N] = start[:M, :N]
    kernel(out.ctypes.data, a.ctypes.data, b.ctypes.data, M, N, K, sAi, sAk, sBk, sBj, N + 3, scale, accumulate)
    expected = start.astype(np.float64)
    product = scale * (A.astype(np.float64) @ B.astype(np.float64))
    expected[:M, :N] = product + (expected[:M, :N] if accumulate else 0)
    return out, expected


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("a_unit_rows", [True, False], ids=["A-unit-rows", "A-rows-apart"])
@pytest.mark.parametrize("b_unit_columns", [True, False], ids=["B-row-major", "B-transposed"])
def test_every_row_count_around_the_tile(kernels, shape, a_unit_rows, b_unit_columns, rng):
    dtype, lanes, fns = kernels
    rows, vectors = shape
    N = vectors * lanes + 3  # a whole panel and a masked edge
    for M in range(2 * rows + 2):
        for K in (1, 7):
            A = rng.standard_normal((M, K)).astype(dtype)
            B = rng.standard_normal((K, N)).astype(dtype)
            got, expected = run(fns[shape], dtype, A, B, M, N, K, a_unit_rows, b_unit_columns)
            tol = 1e-5 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(got, expected, rtol=tol, atol=tol, err_msg=f"M={M} K={K}")


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_k_blocks_scale_and_accumulation(kernels, shape, rng):
    dtype, lanes, fns = kernels
    rows, vectors = shape
    M, N, K = 3 * rows - 1, 2 * vectors * lanes + 5, BLOCK_K + 9
    A = rng.standard_normal((M, K)).astype(dtype)
    B = rng.standard_normal((K, N)).astype(dtype)
    tol = 1e-4 if dtype == np.float32 else 1e-11
    for a_unit_rows, b_unit_columns, accumulate in [(True, True, True), (False, False, True), (True, False, False)]:
        got, expected = run(fns[shape], dtype, A, B, M, N, K, a_unit_rows, b_unit_columns, 0.5, accumulate, rng)
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def test_an_empty_sum_writes_zeros(kernels):
    dtype, _, fns = kernels
    A, B = np.zeros((5, 0), dtype), np.zeros((0, 4), dtype)
    for shape, kernel in fns.items():
        got, expected = run(kernel, dtype, A, B, 5, 4, 0, True, True)
        np.testing.assert_array_equal(got, expected, err_msg=str(shape))
