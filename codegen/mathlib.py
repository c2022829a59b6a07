"""Vectorizable transcendental functions, emitted as LLVM IR.

LLVM turns ``llvm.exp`` into scalar libm calls, which stop the loop vectorizer; these are polynomial kernels
(Cody–Waite range reduction, Taylor, odd or minimax series on the reduced range, exponent arithmetic on the bits),
so a vectorized loop evaluates them in SIMD like any arithmetic. Each exists in float32 (short polynomials, twice
the SIMD lanes) and float64, branch-free and inlined, except sin and cos: computed in double for both, they reduce
|x| > 2^20·π/2 by Payne–Hanek, too slow to run in every lane, so they are called functions whose vector variants
(VFABI) a vectorized loop calls on whole vectors, and only a vector holding such an x branches to it.
Special values (±inf, NaN, 0, subnormals) give what NumPy gives; ``tests/codegen/test_mathlib.py`` states
the measured error in ulps. sin and cos are accurate for every finite x; from the exact value (mpmath), float64
measured ≤ 1.48 ulps on |x| ≤ 1e4, ≤ 1.31 on 1e4 ≤ |x| ≤ 1e308, ≤ 1.26 on the doubles nearest to multiples of π/2
(every binade's closest, and every multiple up to 2^20·π/2); float32 (rounded once) ≤ 0.5 ulp.
erf (x²-polynomial near 0, exp(−x²)·rational beyond) measured ≤ 1 ulp from the correctly rounded value in both
formats (1.25 ulps from the exact one in float64, 1.19 in float32; mpmath sweeps, every float32 in [0, 4]).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from llvmlite import ir

F32, F64 = ir.FloatType(), ir.DoubleType()
I32, I64 = ir.IntType(32), ir.IntType(64)
FLAGS = ("arcp", "contract", "afn")  # no nsz: the sign of a zero decides 1/±0, as in PyTorch


@dataclass(frozen=True)
class Precision:
    """The constants and polynomial lengths of one float format."""

    T: ir.Type
    int_type: ir.IntType
    mantissa_bits: int
    bias: int
    exp_range: tuple[float, float]
    ln2_hi: float
    ln2_lo: float
    exp_terms: int
    log_terms: int
    min_normal: float
    subnormal_shift: int
    tanh_saturates: float
    suffix: str


DOUBLE = Precision(F64, I64, 52, 1023, (-746.0, 710.0), 6.93147180369123816490e-01, 1.90821492927058770002e-10,
                   14, 12, 2.2250738585072014e-308, 54, 20.0, "f64")
SINGLE = Precision(F32, I32, 23, 127, (-104.0, 89.0), 0.693359375, -2.12194440e-4,
                   8, 5, 1.17549435e-38, 25, 9.0, "f32")
PRECISIONS = {F32: SINGLE, F64: DOUBLE}

# π/2 in four parts (mpmath) for Cody–Waite: n·PIO2_1 to n·PIO2_3 are exact for |n| ≤ 2^20 (31, 20 and 33 bits),
# and PIO2_2 ends at 2^-53, so x − n·PIO2_1 − n·PIO2_2 is exact too (|x| ≥ 1 is a multiple of 2^-52): at most the
# last two steps round, and both only when |r| > 2^-33, where n·PIO2_4 < 2^-68 no longer matters.
PIO2_1 = 1.5707963267341256
PIO2_2 = 6.077105485502443e-11
PIO2_3 = -4.9789962502207207e-17
PIO2_4 = -2.940788670387328e-27


def fast(instr):
    """Fast-math flags that cannot turn a finite result into NaN (no nnan/ninf, no reassoc)."""
    instr.flags.extend(FLAGS)
    return instr


def _mangled(T: ir.Type) -> str:
    return f"v{T.count}{_mangled(T.element)}" if isinstance(T, ir.VectorType) else T.intrinsic_name


class Arith:
    """Terse float arithmetic of one precision on an IRBuilder, with the safe fast-math flags: on scalars, or on
    vectors of ``lanes`` elements (the vector variants of sin and cos)."""

    def __init__(self, b: ir.IRBuilder, module: ir.Module, precision: Precision = DOUBLE, lanes: int = 1):
        self.b, self.module, self.p, self.lanes = b, module, precision, lanes
        self.T = precision.T if lanes == 1 else ir.VectorType(precision.T, lanes)
        self.I = precision.int_type if lanes == 1 else ir.VectorType(precision.int_type, lanes)

    def c(self, value: float) -> ir.Constant:
        return ir.Constant(self.T, value if self.lanes == 1 else [value] * self.lanes)

    def i(self, value: int) -> ir.Constant:
        return ir.Constant(self.I, value if self.lanes == 1 else [value] * self.lanes)

    def add(self, x, y):
        return fast(self.b.fadd(x, y))

    def sub(self, x, y):
        return fast(self.b.fsub(x, y))

    def mul(self, x, y):
        return fast(self.b.fmul(x, y))

    def div(self, x, y):
        """x / y correctly rounded, as PyTorch divides: no ``arcp``, which lets LLVM multiply by a rounded 1/y
        (``(3 − 3)/3`` would become ``fma(3, −0.33333334, 1) = −3e-8``)."""
        quotient = self.b.fdiv(x, y)
        quotient.flags.extend(flag for flag in FLAGS if flag != "arcp")
        return quotient

    def neg(self, x):
        return fast(self.b.fneg(x))

    def lt(self, x, y):
        return self.b.fcmp_ordered("<", x, y)

    def gt(self, x, y):
        return self.b.fcmp_ordered(">", x, y)

    def select(self, cond, x, y):
        return self.b.select(cond, x, y)

    def declare(self, name: str, types, fnty: ir.FunctionType) -> ir.Function:
        """An overloaded intrinsic (llvmlite's ``declare_intrinsic`` cannot mangle vector types)."""
        name = ".".join([name, *map(_mangled, types)])
        return self.module.globals.get(name) or ir.Function(self.module, fnty, name)

    def intrinsic(self, name, *args):
        T = args[0].type
        return self.b.call(self.declare(name, [T], ir.FunctionType(T, [T] * len(args))), args)

    def abs(self, x):
        return self.intrinsic("llvm.fabs", x)

    def rint(self, x):
        return self.intrinsic("llvm.rint", x)

    def copysign(self, x, sign):
        return self.intrinsic("llvm.copysign", x, sign)

    def is_nan(self, x):
        return self.b.fcmp_unordered("uno", x, x)

    def any(self, condition):
        """Whether the condition holds in some lane."""
        if self.lanes == 1:
            return condition
        fnty = ir.FunctionType(ir.IntType(1), [condition.type])
        return self.b.call(self.declare("llvm.vector.reduce.or", [condition.type], fnty), [condition])

    def lookup(self, table: ir.GlobalVariable, index):
        """table[index] per lane: a load, or a gather on vectors."""
        address = self.b.gep(table, [index], inbounds=True, source_etype=self.p.T)
        if self.lanes == 1:
            return self.b.load(address, typ=self.p.T)
        address.type = ir.VectorType(ir.PointerType(), self.lanes)  # llvmlite types any GEP as one pointer
        mask = ir.VectorType(ir.IntType(1), self.lanes)
        fnty = ir.FunctionType(self.T, [address.type, mask, self.T])
        gather = self.declare("llvm.masked.gather", [self.T, address.type], fnty)
        return self.b.call(gather, [address, ir.Constant(mask, [1] * self.lanes), ir.Constant(self.T, ir.Undefined)])

    def high_half(self, x):
        """x with the low 27 mantissa bits cleared: 26 significant bits, so products of two are exact."""
        bits = self.b.and_(self.b.bitcast(x, self.I), self.i(-(1 << 27)))
        return self.b.bitcast(bits, self.T)

    def horner(self, x, coefficients):
        """c0 + x·(c1 + x·(c2 + …)) for coefficients c0, c1, …"""
        acc = self.c(coefficients[-1])
        for k in reversed(coefficients[:-1]):
            acc = self.add(self.mul(acc, x), self.c(k))
        return acc

    def pow2(self, n_int):
        """2**n from an integer exponent within the format's normal range."""
        p = self.p
        bits = self.b.shl(self.b.add(n_int, self.i(p.bias)), self.i(p.mantissa_bits))
        return self.b.bitcast(bits, self.T)


def _exp(a: Arith, x):
    p = a.p
    lo, hi = p.exp_range
    xc = a.select(a.gt(x, a.c(hi)), a.c(hi), x)
    xc = a.select(a.lt(xc, a.c(lo)), a.c(lo), xc)
    n = a.rint(a.mul(xc, a.c(1 / math.log(2))))
    r = a.sub(a.sub(xc, a.mul(n, a.c(p.ln2_hi))), a.mul(n, a.c(p.ln2_lo)))
    poly = a.horner(r, [1 / math.factorial(k) for k in range(p.exp_terms)])
    ni = a.b.fptosi(n, p.int_type)
    half = a.b.ashr(ni, a.i(1))
    result = a.mul(a.mul(poly, a.pow2(half)), a.pow2(a.b.sub(ni, half)))
    return a.select(a.is_nan(x), x, result)


def _exp2(a: Arith, x):
    """2ˣ as 2ⁿ·e^(f·ln 2), n = rint(x): x − n is exact, so only f·ln 2 (|f| ≤ ½) rounds, where e^(x·ln 2)
    would carry x·ln 2's rounding error times x (hundreds of ulps near the top of the range)."""
    p = a.p
    lo, hi = (bound / math.log(2) for bound in p.exp_range)
    xc = a.select(a.gt(x, a.c(hi)), a.c(hi), x)
    xc = a.select(a.lt(xc, a.c(lo)), a.c(lo), xc)
    n = a.rint(xc)
    r = a.mul(a.sub(xc, n), a.c(math.log(2)))
    poly = a.horner(r, [1 / math.factorial(k) for k in range(p.exp_terms)])
    ni = a.b.fptosi(n, p.int_type)
    half = a.b.ashr(ni, a.i(1))
    result = a.mul(a.mul(poly, a.pow2(half)), a.pow2(a.b.sub(ni, half)))
    return a.select(a.is_nan(x), x, result)


#: atan: Cephes' reduction (|x| > tan 3π/8 through −1/x, |x| > the middle bound through (x − 1)/(x + 1)) and its
#: fits on the reduced range: a rational in x² for double (P low to high, Q monic), a polynomial for float
ATAN_DOUBLE_P = (-6.485021904942025371773e1, -1.228866684490136173410e2, -7.500855792314704667340e1,
                 -1.615753718733365076637e1, -8.750608600031904122785e-1)
ATAN_DOUBLE_Q = (1.945506571482613964425e2, 4.853903996359136964868e2, 4.328810604912902668951e2,
                 1.650270098316988542046e2, 2.485846490142306297962e1, 1.0)
ATAN_SINGLE = (-3.33329491539e-1, 1.99777106478e-1, -1.38776856032e-1, 8.05374449538e-2)
ATAN_MOREBITS = 6.123233995736765886130e-17  # π/2 − its double


def _atan(a: Arith, x):
    ax = a.abs(x)
    single = a.p.T == F32
    big = a.gt(ax, a.c(2.414213562373095))
    mid = a.gt(ax, a.c(0.4142135623730950 if single else 0.66))
    reduced = a.select(big, a.neg(a.div(a.c(1.0), ax)),
                       a.select(mid, a.div(a.sub(ax, a.c(1.0)), a.add(ax, a.c(1.0))), ax))
    base = a.select(big, a.c(math.pi / 2), a.select(mid, a.c(math.pi / 4), a.c(0.0)))
    z = a.mul(reduced, reduced)
    if single:
        odd = a.mul(a.mul(a.horner(z, ATAN_SINGLE), z), reduced)
    else:
        odd = a.mul(reduced, a.div(a.mul(z, a.horner(z, ATAN_DOUBLE_P)), a.horner(z, ATAN_DOUBLE_Q)))
        odd = a.add(odd, a.select(big, a.c(ATAN_MOREBITS), a.select(mid, a.c(ATAN_MOREBITS / 2), a.c(0.0))))
    return a.copysign(a.add(base, a.add(odd, reduced)), x)


def _expm1(a: Arith, x):
    small = a.lt(a.abs(x), a.c(math.log(2) / 2))
    series = a.mul(x, a.horner(x, [1 / math.factorial(k + 1) for k in range(a.p.exp_terms)]))
    return a.select(small, series, a.sub(_exp(a, x), a.c(1.0)))


def _log(a: Arith, x):
    b, p = a.b, a.p
    tiny = a.lt(x, a.c(p.min_normal))
    xs = a.select(tiny, a.mul(x, a.c(2.0**p.subnormal_shift)), x)
    bits = b.bitcast(xs, p.int_type)
    e = b.sub(b.lshr(bits, a.i(p.mantissa_bits)), a.i(p.bias))
    e = b.select(tiny, b.sub(e, a.i(p.subnormal_shift)), e)
    mant = b.or_(b.and_(bits, a.i((1 << p.mantissa_bits) - 1)), a.i(p.bias << p.mantissa_bits))
    m = b.bitcast(mant, p.T)
    big = a.gt(m, a.c(math.sqrt(2)))
    m = a.select(big, a.mul(m, a.c(0.5)), m)
    e = b.select(big, b.add(e, a.i(1)), e)
    f = a.sub(m, a.c(1.0))
    s = a.div(f, a.add(a.c(2.0), f))
    log1pf = a.mul(s, a.horner(a.mul(s, s), [2 / (2 * k + 1) for k in range(p.log_terms)]))
    ef = b.sitofp(e, p.T)
    result = a.add(a.mul(ef, a.c(p.ln2_hi)), a.add(log1pf, a.mul(ef, a.c(p.ln2_lo))))
    result = a.select(b.fcmp_ordered("==", x, a.c(0.0)), a.c(-math.inf), result)
    result = a.select(b.fcmp_ordered("==", x, a.c(math.inf)), a.c(math.inf), result)
    return a.select(b.fcmp_unordered("ult", x, a.c(0.0)), a.c(math.nan), result)


def _log1p(a: Arith, x):
    u = a.add(a.c(1.0), x)
    corrected = a.sub(_log(a, u), a.div(a.sub(a.sub(u, a.c(1.0)), x), u))
    exact = a.b.fcmp_ordered("==", u, a.c(1.0))
    corrected = a.select(a.b.fcmp_ordered("==", u, a.c(math.inf)), u, corrected)
    corrected = a.select(a.b.fcmp_ordered("==", u, a.c(0.0)), a.c(-math.inf), corrected)  # log1p(-1) = -inf
    return a.select(exact, x, corrected)


# fdlibm's minimax polynomials for |r| ≤ π/4 (k_sin.c, k_cos.c): sin r = r + r³·S(r²), cos r = C(r²)
SIN_SERIES = [-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
              2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10]
COS_SERIES = [1.0, -0.5, 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
              -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11]

#: |x| up to here: Cody–Waite (n ≤ 2^20); Payne–Hanek beyond.
SINCOS_CODY_WAITE = 2.0**20 * math.pi / 2

#: 2/π to 1176 bits after the point (mpmath), for Payne–Hanek in 26-bit chunks: CHUNKS[k + 2] holds bits 26k+1 to
#: 26k+26, behind two zero chunks that stand for bits before the point.
TWO_OVER_PI = int("a2f9836e4e441529fc2757d1f534ddc0db6295993c439041fe5163abdebbc561b7246e3a424dd2e006492eea09d1921cfe"
                  "1deb1cb129a73ee88235f52ebb4484e99c7026b45f7e413991d639835339f49c845f8bbdf9283b1ff897ffde05980fef2f"
                  "118b5a0a6d1f6d367ecf27cb09b74f463f669e5fea2d7527bac7ebe5f17b3d0739f78a5292ea6bfb5fb11f8d5d08560330",
                  16)
CHUNKS = [0, 0] + [(TWO_OVER_PI >> (1176 - 26 * (k + 1))) & (2**26 - 1) for k in range(45)]
PIO2_HI, PIO2_LO = 1.5707963267948966, 6.123233995736766e-17  # π/2 as a double-double
PAYNE_HANEK_LANES = 8
#: n + QUADRANT has an integer-valued n (|n| < 2^51) in its low mantissa bits: the quadrant without a float-to-int
#: conversion, whose overflow (x huge, in lanes of the other path) would be poison.
QUADRANT = 1.5 * 2**52

#: Payne–Hanek's grids: a product of level j is cut at the grids CUTS[j] (indices into GRIDS), the remainder going to
#: the next grid (after the last one: to what is summed rounded).
GRIDS = (4.0, 1.0, 2.0**-50, 2.0**-100)
CUTS = ((0, 1), (1,), (1, 2), (2, 3), (3,), (), ())


def _sincos(a: Arith, x, cosine: bool):
    """Cody–Waite up to SINCOS_CODY_WAITE; beyond, Payne–Hanek, called only when some lane needs it (so sin and cos
    are called, not inlined: a vectorized loop calls their vector variants, which branch on whole vectors)."""
    b, c = a.b, a.c
    n = a.rint(a.mul(x, c(2 / math.pi)))
    r = functools.reduce(lambda t, part: a.sub(t, a.mul(n, c(part))), (PIO2_1, PIO2_2, PIO2_3, PIO2_4), x)
    small, ax = _quadrant(a, n, r, None, c(QUADRANT + float(cosine))), a.abs(x)
    if not cosine:  # sin x = x below 2^-27: keeps sin(-0) = -0, which the fast-math flags (nsz) need not
        small = a.select(a.lt(ax, c(2.0**-27)), x, small)
    large = a.gt(ax, c(SINCOS_CODY_WAITE))
    entry, reduce, done = b.block, b.append_basic_block("payne_hanek"), b.append_basic_block("done")
    b.cbranch(a.any(large), reduce, done)
    b.position_at_end(reduce)
    mixed = a.select(large, _payne_hanek_lanes(a, x, cosine), small)
    b.branch(done)
    b.position_at_end(done)
    value = b.phi(a.T)
    value.add_incoming(small, entry)
    value.add_incoming(mixed, reduce)
    return value


def _quadrant(a: Arith, n, r, r_lo, offset):
    """sin((n + shift)·π/2 + r + r_lo) for n integer-valued, |r| ≲ π/4 and offset = QUADRANT + shift (1: cos)."""
    b, i = a.b, a.i
    q = b.bitcast(a.add(n, offset), a.I)
    r2 = a.mul(r, r)
    sin_r = a.add(r, a.mul(a.mul(r, r2), a.horner(r2, SIN_SERIES)))
    cos_r = a.horner(r2, COS_SERIES)
    if r_lo is not None:
        sin_r, cos_r = a.add(sin_r, a.mul(r_lo, cos_r)), a.sub(cos_r, a.mul(r_lo, sin_r))
    value = a.select(b.icmp_unsigned("!=", b.and_(q, i(1)), i(0)), cos_r, sin_r)
    return a.select(b.icmp_unsigned("!=", b.and_(q, i(2)), i(0)), a.neg(value), value)


def _payne_hanek_lanes(a: Arith, x, cosine: bool):
    """sin or cos of x's lanes by the one out-of-line Payne–Hanek function: its width is filled by repeating lanes,
    or split into several calls."""
    b, width = a.b, PAYNE_HANEK_LANES
    fn = _payne_hanek_function(a.module)
    offset = ir.Constant(fn.args[1].type, [QUADRANT + float(cosine)] * width)
    vector = x if a.lanes > 1 else b.insert_element(ir.Constant(ir.VectorType(F64, 1), ir.Undefined), x, _i32(0))
    parts = [b.call(fn, [_shuffle(b, vector, vector, [(start + j) % a.lanes for j in range(width)]), offset])
             for start in range(0, a.lanes, width)]
    if a.lanes == 1:
        return b.extract_element(parts[0], _i32(0))
    return _shuffle(b, parts[0], parts[-1], range(a.lanes))


def _payne_hanek_function(module: ir.Module) -> ir.Function:
    """sin(x + shift·π/2) for |x| ≥ 4, given QUADRANT + shift, PAYNE_HANEK_LANES wide: slow and rarely needed, so
    one copy, not inlined."""
    fn = module.globals.get("sn_sincos_payne_hanek")
    if fn is None:
        V = ir.VectorType(F64, PAYNE_HANEK_LANES)
        fn = ir.Function(module, ir.FunctionType(V, [V, V]), "sn_sincos_payne_hanek")
        fn.linkage = "internal"
        fn.attributes = ir.FunctionAttributes(["noinline", "nounwind", "readnone"])
        a = Arith(ir.IRBuilder(fn.append_basic_block("entry")), module, DOUBLE, PAYNE_HANEK_LANES)
        x, offset = fn.args
        a.b.ret(_quadrant(a, *_payne_hanek(a, x), offset))
    return fn


def _i32(value: int) -> ir.Constant:
    return ir.Constant(I32, value)


def _shuffle(b: ir.IRBuilder, first, second, indices):
    indices = list(indices)
    return b.shuffle_vector(first, second, ir.Constant(ir.VectorType(I32, len(indices)), indices))


def _payne_hanek(a: Arith, x):
    """(n, r, r_lo) with x = n·π/2 + r + r_lo for |x| ≥ 4: n integer-valued (right mod 4), r + r_lo to ~2^-125.

    With e the exponent of x and k = ⌊(e − 2)/26⌋, x·2/π ≡ Σ_j X·CHUNKS[k + j]·2^(−26j) (mod 4), X = x·2^(26 − 26k)
    being x's mantissa times 2^σ, σ ∈ [−24, 1]: the chunks before k add multiples of 4, eight chunks leave out less
    than 2^-127. X splits into halves of 26 and 27 bits, so each product with a chunk is exact; those of level j
    (< 2^(σ + 53 − 26j), resolution ≥ 2^(σ − 26j)) are cut on GRIDS, where the pieces sum exactly (integers mod 4,
    fractions, 2^-100 tails); only what is left, < 2^-74, is summed rounded."""
    b, c, i = a.b, a.c, a.i
    e = b.sub(b.and_(b.lshr(b.bitcast(x, a.I), i(52)), i(0x7FF)), i(1025))  # e − 2 (< 0 only in small lanes)
    k = b.lshr(b.mul(b.select(b.icmp_signed("<", e, i(0)), i(0), e), i(2521)), i(16))  # ⌊(e − 2)/26⌋, up to 39
    X = a.mul(x, b.bitcast(b.shl(b.sub(i(1023 + 26), b.mul(k, i(26))), i(52)), a.T))
    high = a.high_half(X)
    halves = (high, a.sub(X, high))
    table = _chunk_table(a.module)
    chunk = [a.mul(a.lookup(table, b.add(k, i(j))), c(2.0 ** (-26 * j))) for j in range(8)]
    pieces = [[] for _ in range(len(GRIDS) + 1)]
    for j, cuts in enumerate(CUTS):
        for product in (a.mul(halves[0], chunk[j + 1]), a.mul(halves[1], chunk[j])):
            for grid in cuts:
                hi, product = _split(a, product, GRIDS[grid])
                pieces[grid].append(hi)
            pieces[cuts[-1] + 1 if cuts else -1].append(product)
    _, whole, frac, tail, rest = (functools.reduce(a.add, p) for p in pieces)
    tail_hi, tail_lo = _split(a, tail, GRIDS[2])
    f_hi = a.add(a.sub(frac, a.rint(frac)), tail_hi)
    return (a.add(whole, a.rint(frac)), *_times_pio2(a, f_hi, a.add(tail_lo, rest)))


def _split(a: Arith, x, grid: float):
    """x = hi + lo exactly, hi a multiple of the grid, |lo| ≤ grid/2 (for |x|/grid < 2^52)."""
    hi = a.mul(a.rint(a.mul(x, a.c(1 / grid))), a.c(grid))
    return hi, a.sub(x, hi)


def _times_pio2(a: Arith, f_hi, f_lo):
    """(f_hi + f_lo)·π/2 as r + r_lo, for f_hi = 0 or |f_hi| ≥ 2^-50 > |f_lo|: renormalized (Fast2Sum), then
    Dekker's product in plain IEEE operations (were r's product contracted into the error term, the term would
    cancel)."""
    b, c = a.b, a.c
    f = a.add(f_hi, f_lo)
    f_lo = a.sub(f_lo, a.sub(f, f_hi))
    r = b.fmul(f, c(PIO2_HI))
    f1, p1 = a.high_half(f), a.high_half(c(PIO2_HI))
    f2, p2 = b.fsub(f, f1), b.fsub(c(PIO2_HI), p1)
    error = b.fadd(b.fadd(b.fadd(b.fsub(b.fmul(f1, p1), r), b.fmul(f1, p2)), b.fmul(f2, p1)), b.fmul(f2, p2))
    return r, a.add(error, a.add(a.mul(f_lo, c(PIO2_HI)), a.mul(f, c(PIO2_LO))))


def _chunk_table(module: ir.Module) -> ir.GlobalVariable:
    table = module.globals.get("sn_two_over_pi")
    if table is None:
        array = ir.ArrayType(F64, len(CHUNKS))
        table = ir.GlobalVariable(module, array, "sn_two_over_pi")
        table.initializer = ir.Constant(array, [float(chunk) for chunk in CHUNKS])
        table.global_constant, table.linkage = True, "internal"
    return table


def _tanh(a: Arith, x):
    ax = a.abs(x)
    e = _expm1(a, a.mul(ax, a.c(2.0)))
    t = a.div(e, a.add(e, a.c(2.0)))
    t = a.select(a.gt(ax, a.c(a.p.tanh_saturates)), a.c(1.0), t)
    return a.copysign(t, x)


def _sigmoid(a: Arith, x):
    e = _exp(a, a.neg(a.abs(x)))
    s = a.div(a.c(1.0), a.add(a.c(1.0), e))
    return a.select(a.b.fcmp_unordered("uge", x, a.c(0.0)), s, a.mul(e, s))


def _softplus(a: Arith, x, beta, threshold):
    c = a.c
    bx = a.mul(beta, x)
    relu = a.select(a.gt(bx, c(0.0)), bx, c(0.0))
    stable = a.div(a.add(relu, _log1p(a, _exp(a, a.neg(a.abs(bx))))), beta)
    stable = a.select(a.is_nan(bx), bx, stable)
    return a.select(a.gt(bx, threshold), x, stable)


@dataclass(frozen=True)
class ErfFit:
    """erf's coefficients in one format: minimax (Remez, mpmath) weighted so that each fit's error, coefficients
    rounded, is at most 0.11 ulp of erf itself."""

    split: float  # |x| below: erf = x + x·small(x²); from here on: 1 − exp(−x²)·num(|x|)/den(|x|)
    saturates: float  # end of the rational's fit, where erf already rounds to 1
    small: tuple[float, ...]
    num: tuple[float, ...]
    den: tuple[float, ...]


ERF_FITS = {
    F64: ErfFit(0.84375, 6.0,
                small=(0.1283791670955126, -0.37612638903184165, 0.11283791670977801, -0.026866170650007612,
                       0.005223977679288869, -0.0008548330493239053, 0.00012055472261590831, -1.4929232144254576e-05,
                       1.6520960597715443e-06, -1.6958524882972652e-07, 1.8058731312445775e-08,
                       -1.866689660654822e-09),
                num=(0.9999999590179144, 1.3683954394748141, 0.9221608214221851, 0.3573677454697476,
                     0.07921828595412964, 0.008169276309185384),
                den=(1.0, 2.4967741341573726, 2.7394713201716323, 1.7039998304074229, 0.6407321960401321,
                     0.14040565201297797, 0.0144798328330417)),
    F32: ErfFit(0.84375, 3.92,
                small=(0.12837917, -0.37612593, 0.11282912, -0.026809536, 0.0050618816, -0.0006374964),
                num=(1.0005918, 0.74010247, 0.23135027),
                den=(1.0, 1.8726363, 1.330945, 0.40848652)),
}


def _erf(a: Arith, x):
    """Near 0, x + x·small(x²) (the correction added last, so tiny x are rounded once). Beyond, 1 − erfc with
    erfc = exp(−x²)·num/den: the rational fits exp(x²)·erfc(x) ≈ 1/(√π·x), and its error reaches erf scaled by
    erfc/erf ≤ 0.31. x² is not rounded: hi is x with its low mantissa bits cleared, so hi² is exact, and
    exp(−x²) = exp(−hi²)·exp(d) with d = (hi − x)(hi + x) tiny (≥ −2⁻²⁴·x² in double, −2⁻¹⁰·x² in float)."""
    fit = ERF_FITS[a.p.T]
    ax = a.abs(x)
    small = a.add(ax, a.mul(ax, a.horner(a.mul(ax, ax), fit.small)))
    big = a.select(a.gt(ax, a.c(fit.saturates)), a.c(1.0), a.sub(a.c(1.0), _erfc_tail(a, ax)))
    return a.copysign(a.select(a.lt(ax, a.c(fit.split)), small, big), x)


def _erfc_tail(a: Arith, ax):
    """erfc(x) for x ≥ the fit's split (up to where it saturates), as ``_erf`` describes."""
    fit = ERF_FITS[a.p.T]
    return a.mul(_gauss(a, ax), a.div(a.horner(ax, fit.num), a.horner(ax, fit.den)))


def _gauss(a: Arith, ax, exp_d=(1.0, 1.0, 0.5)):
    """exp(−x²) for finite x ≥ 0 without rounding x² (as ``_erf`` describes); exp(d) by its Taylor terms ``exp_d``
    (three are enough for erf's range; erfc's far tail, where d reaches 2⁻¹¹·x² ≈ 0.05 in float, takes five)."""
    b, p = a.b, a.p
    low_bits = p.mantissa_bits // 2 + 1
    hi = b.bitcast(b.and_(b.bitcast(ax, p.int_type), a.i(-(1 << low_bits))), p.T)
    d = a.mul(a.sub(hi, ax), a.add(hi, ax))
    return a.mul(_exp(a, a.neg(a.mul(hi, hi))), a.horner(d, exp_d))


#: exp(x²)·erfc(x)·x·√π beyond ``start``, to where erfc underflows: a polynomial in s = 2·start²/x² − 1 (least
#: squares on Chebyshev nodes, mpmath: relative error 6·10⁻¹⁷ in double, 2·10⁻⁹ in float). erf's own tail fit is
#: accurate relative to erf, not to erfc (10⁻⁸ of erfc at x = 6), so erfc takes it only below ``start``.
ERFC_FAR = {
    F64: (3.0, 27.3, (0.9742659653812048, -0.0239203595522878, 0.0016171940656526161, -0.00016877571627881647,
                      2.300497106384955e-05, -3.783344835954e-06, 7.171608865597448e-07, -1.521469805085231e-07,
                      3.539732957530695e-08, -8.891642105108505e-09, 2.3864842274677134e-09, -6.908305133239758e-10,
                      2.0878782726109214e-10, -5.255214459863278e-11, 1.579956270300501e-11, -1.262950994892031e-11,
                      4.753615514237623e-12)),
    F32: (2.0, 10.1, (0.9466095328677886, -0.04618102209258532, 0.005797907845487998, -0.0010676278972080251,
                      0.0002470946022101211, -6.683531058240743e-05, 1.8901151856317215e-05, -5.9692715535929165e-06,
                      3.612157431783301e-06, -1.4951326528085854e-06)),
}


def _erfc(a: Arith, x):
    """erfc = 1 − erf without the cancellation: 1 − erf(x) below erf's split (there erfc ≥ 0.23, and NaN), erf's
    tail exp(−x²)·num/den up to ``start``, then exp(−x²)/(x√π)·poly(s) until it underflows to 0."""
    c, fit = a.c, ERF_FITS[a.p.T]
    start, underflow, poly = ERFC_FAR[a.p.T]
    ax = a.abs(x)
    near = a.sub(c(1.0), _erf(a, x))
    mid = _erfc_tail(a, a.select(a.gt(ax, c(start)), c(start), ax))
    far_x = a.select(a.gt(ax, c(underflow)), c(underflow), a.select(a.lt(ax, c(start)), c(start), ax))
    s = a.sub(a.div(c(2 * start * start), a.mul(far_x, far_x)), c(1.0))
    gauss = _gauss(a, far_x, [1 / math.factorial(k) for k in range(5)])
    far = a.div(a.mul(gauss, a.horner(s, poly)), a.mul(far_x, c(math.sqrt(math.pi))))
    tail = a.select(a.gt(ax, c(underflow)), c(0.0), a.select(a.gt(ax, c(start)), far, mid))
    return a.select(a.b.fcmp_unordered("ult", x, c(fit.split)), near, tail)


#: Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011): single-precision minimax polynomials
#: in w = −log(1 − y²), below w = 5 (in w − 2.5) and above (in √w − 3).
GILES_CENTRAL = (1.50140941, 0.246640727, -0.00417768164, -0.00125372503, 0.00021858087, -4.39150654e-06,
                 -3.5233877e-06, 3.43273939e-07, 2.81022636e-08)
GILES_TAIL = (2.83297682, 1.00167406, 0.00943887047, -0.0076224613, 0.00573950773, -0.00367342844, 0.00134934322,
              0.000100950558, -0.000200214257)
#: Newton steps after Giles' approximation (relative error 4·10⁻⁷): one in float32, two in float64
ERFINV_NEWTON = {F32: 1, F64: 2}


def _erfinv(a: Arith, y):
    """Giles' approximation, then Newton steps on erf(x) − y; for |y| > 0.8 the residual is taken as
    (1 − |y|) − erfc(|x|) (1 − |y| is exact there; erfc's error is a tenth of erf's ulp). Near ±1 the residual is
    mostly rounding: a step of more than 1% (noise; Giles is within 4·10⁻⁷ where fitted) is not taken. ±∞ at
    ±1, NaN beyond."""
    b, c = a.b, a.c
    ay = a.abs(y)
    w = a.neg(_log(a, a.mul(a.sub(c(1.0), ay), a.add(c(1.0), ay))))
    central = a.horner(a.sub(w, c(2.5)), GILES_CENTRAL)
    root = a.intrinsic("llvm.sqrt", a.select(a.lt(w, c(5.0)), c(5.0), w))
    x = a.mul(a.select(a.lt(w, c(5.0)), central, a.horner(a.sub(root, c(3.0)), GILES_TAIL)), ay)
    tail = a.gt(ay, c(0.8))
    for _ in range(ERFINV_NEWTON[a.p.T]):
        erfc = _erfc_tail(a, a.select(tail, x, c(1.0)))
        residual = a.select(tail, a.sub(a.sub(c(1.0), ay), erfc), a.sub(_erf(a, x), ay))
        slope = a.mul(c(2 / math.sqrt(math.pi)), _exp(a, a.neg(a.mul(x, x))))
        step = a.div(residual, slope)
        x = a.select(a.lt(a.abs(step), a.mul(a.abs(x), c(0.01))), a.sub(x, step), x)
    x = a.select(b.fcmp_ordered("==", ay, c(1.0)), c(math.inf), x)
    x = a.select(b.fcmp_unordered("ugt", ay, c(1.0)), c(math.nan), x)
    return a.copysign(x, y)


def _floor_divide(a: Arith, x, y):
    """⌊x/y⌋ as Python computes it for floats: from the exact fmod, the quotient (x − mod)/y is (near) an integer;
    x/y itself where y = 0 (±∞ or NaN)."""
    c, b = a.c, a.b
    mod = b.frem(x, y)
    div = a.div(a.sub(x, mod), y)
    opposite = b.and_(b.fcmp_ordered("!=", mod, c(0.0)), b.xor(a.lt(y, c(0.0)), a.lt(mod, c(0.0))))
    div = a.select(opposite, a.sub(div, c(1.0)), div)
    whole = a.intrinsic("llvm.floor", div)
    whole = a.select(a.gt(a.sub(div, whole), c(0.5)), a.add(whole, c(1.0)), whole)
    whole = a.select(b.fcmp_ordered("==", div, c(0.0)), a.copysign(c(0.0), a.div(x, y)), whole)
    return a.select(b.fcmp_ordered("==", y, c(0.0)), a.div(x, y), whole)


def _remainder(a: Arith, x, y):
    """x mod y with the sign of y (Python's %): fmod, shifted by y where their signs differ."""
    c, b = a.c, a.b
    mod = b.frem(x, y)
    opposite = b.and_(b.fcmp_ordered("!=", mod, c(0.0)), b.xor(a.lt(y, c(0.0)), a.lt(mod, c(0.0))))
    return a.select(opposite, a.add(mod, y), mod)


def _rounding(intrinsic: str):
    return 1, lambda a, x: a.intrinsic(intrinsic, x)


#: name → (arity, builder): the lowering table of the transcendental functions.
FUNCTIONS = {
    "exp": (1, _exp),
    "expm1": (1, _expm1),
    "exp2": (1, _exp2),
    "atan": (1, _atan),
    "log": (1, _log),
    "log1p": (1, _log1p),
    "sin": (1, lambda a, x: _sincos(a, x, cosine=False)),
    "cos": (1, lambda a, x: _sincos(a, x, cosine=True)),
    "tanh": (1, _tanh),
    "sigmoid": (1, _sigmoid),
    "softplus": (3, _softplus),
    "erf": (1, _erf),
    "erfc": (1, _erfc),
    "erfinv": (1, _erfinv),
    "floor": _rounding("llvm.floor"),
    "ceil": _rounding("llvm.ceil"),
    "trunc": _rounding("llvm.trunc"),
    "round": _rounding("llvm.roundeven"),
    "floor_divide": (2, _floor_divide),
    "remainder": (2, _remainder),
}


#: Computed in double for float32 too (their range reduction needs the extra bits), and called, not inlined: the
#: call has vector variants (VFABI), which a vectorized loop calls on whole vectors.
DOUBLE_ONLY = {"sin", "cos"}
VECTOR_WIDTHS = (2, 4, 8, 16)


class _Attributes(ir.FunctionAttributes):
    """Function attributes that may also be "key"="value" strings (llvmlite knows only LLVM's keywords)."""

    def add(self, name):
        return set.add(self, name) if name.startswith('"') else super().add(name)


def function(module: ir.Module, name: str, T: ir.Type = F64) -> ir.Function:
    """The module's ``sn_<name>_<f32|f64>``, emitted on first use and always inlined, except sin and cos (f64 only):
    those are called, with vector variants ``sn_<name>_f64_v<lanes>``."""
    precision = PRECISIONS[T]
    symbol = f"sn_{name}_{precision.suffix}"
    if symbol in module.globals:
        return module.globals[symbol]
    if name in DOUBLE_ONLY and T != F64:
        raise ValueError(f"{name} is computed in double only")
    fn = _define(module, symbol, name, precision, 1)
    if name not in DOUBLE_ONLY:
        fn.attributes.add("alwaysinline")
        return fn
    variants = [_define(module, f"{symbol}_v{lanes}", name, precision, lanes) for lanes in VECTOR_WIDTHS]
    arity = FUNCTIONS[name][0]
    mapping = ",".join(f"_ZGV_LLVM_N{lanes}{'v' * arity}_{symbol}({variant.name})"
                       for lanes, variant in zip(VECTOR_WIDTHS, variants, strict=True))
    fn.attributes = _Attributes(["noinline", "nounwind", "readnone", f'"vector-function-abi-variant"="{mapping}"'])
    for variant in variants:
        variant.attributes = ir.FunctionAttributes(["nounwind", "readnone"])
    _compiler_used(module, variants)
    return fn


def _define(module: ir.Module, symbol: str, name: str, precision: Precision, lanes: int) -> ir.Function:
    arity, build = FUNCTIONS[name]
    T = precision.T if lanes == 1 else ir.VectorType(precision.T, lanes)
    fn = ir.Function(module, ir.FunctionType(T, [T] * arity), symbol)
    fn.linkage = "internal"
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    builder.ret(build(Arith(builder, module, precision, lanes), *fn.args))
    return fn


def _compiler_used(module: ir.Module, functions: list[ir.Function]) -> None:
    """Keep the vector variants (no caller before the loop vectorizer adds one) through the optimizer."""
    used = module.globals.get("llvm.compiler.used")
    entries = [*(used.initializer.constant if used is not None else ()), *functions]
    if used is None:
        used = ir.GlobalVariable(module, ir.ArrayType(ir.PointerType(), len(entries)), "llvm.compiler.used")
        used.linkage, used.section = "appending", "llvm.metadata"
    used.value_type = ir.ArrayType(ir.PointerType(), len(entries))
    used.initializer = ir.Constant(used.value_type, entries)
