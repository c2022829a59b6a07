"""Vectorizable transcendental functions, emitted as LLVM IR.

LLVM turns ``llvm.exp`` into scalar libm calls, which stop the loop vectorizer; these are branch-free
polynomial kernels (Cody–Waite range reduction, Taylor/odd series on the reduced range, exponent arithmetic
on the bits), so a vectorized loop evaluates them in SIMD like any arithmetic. Each exists in float32 (short
polynomials, twice the SIMD lanes) and float64; sin and cos are computed in double for both.
Special values (±inf, NaN, 0, subnormals) give what NumPy gives; ``tests/codegen/test_mathlib.py`` states
the measured error in ulps. sin and cos are accurate for |x| < 2^20·π/2 and NaN beyond (no Payne–Hanek).
erf (x²-polynomial near 0, exp(−x²)·rational beyond) measured ≤ 1 ulp from the correctly rounded value in both
formats (1.25 ulps from the exact one in float64, 1.19 in float32; mpmath sweeps, every float32 in [0, 4]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llvmlite import ir

F32, F64 = ir.FloatType(), ir.DoubleType()
I32, I64 = ir.IntType(32), ir.IntType(64)
FLAGS = ("nsz", "arcp", "contract", "afn")


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

# π/2 in three parts: the first two have 33 significant bits, so n·PIO2_1 and n·PIO2_2 are exact for |n| < 2^20.
PIO2_1 = 1.57079632673412561417e00
PIO2_2 = 6.07710050630396597660e-11
PIO2_3 = 2.02226624879595063154e-21


def fast(instr):
    """Fast-math flags that cannot turn a finite result into NaN (no nnan/ninf, no reassoc)."""
    instr.flags.extend(FLAGS)
    return instr


class Arith:
    """Terse float arithmetic of one precision on an IRBuilder, with the safe fast-math flags."""

    def __init__(self, b: ir.IRBuilder, module: ir.Module, precision: Precision = DOUBLE):
        self.b, self.module, self.p = b, module, precision

    def c(self, value: float) -> ir.Constant:
        return ir.Constant(self.p.T, value)

    def i(self, value: int) -> ir.Constant:
        return ir.Constant(self.p.int_type, value)

    def add(self, x, y):
        return fast(self.b.fadd(x, y))

    def sub(self, x, y):
        return fast(self.b.fsub(x, y))

    def mul(self, x, y):
        return fast(self.b.fmul(x, y))

    def div(self, x, y):
        return fast(self.b.fdiv(x, y))

    def neg(self, x):
        return fast(self.b.fneg(x))

    def lt(self, x, y):
        return self.b.fcmp_ordered("<", x, y)

    def gt(self, x, y):
        return self.b.fcmp_ordered(">", x, y)

    def select(self, cond, x, y):
        return self.b.select(cond, x, y)

    def intrinsic(self, name, *args):
        T = args[0].type
        fnty = ir.FunctionType(T, [T] * len(args))
        return self.b.call(self.module.declare_intrinsic(name, [T], fnty), args)

    def abs(self, x):
        return self.intrinsic("llvm.fabs", x)

    def rint(self, x):
        return self.intrinsic("llvm.rint", x)

    def copysign(self, x, sign):
        return self.intrinsic("llvm.copysign", x, sign)

    def is_nan(self, x):
        return self.b.fcmp_unordered("uno", x, x)

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
        return self.b.bitcast(bits, p.T)


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
    return a.select(exact, x, corrected)


SIN_SERIES = [(-1) ** k / math.factorial(2 * k + 1) for k in range(9)]
COS_SERIES = [(-1) ** k / math.factorial(2 * k) for k in range(10)]


SINCOS_LIMIT = 2.0**20 * math.pi / 2


def _sincos(a: Arith, x, cosine: bool):
    """Accurate for |x| < 2^20·π/2 (Cody–Waite reduction); NaN beyond, where Payne–Hanek would be needed."""
    b, c = a.b, a.c
    n = a.rint(a.mul(x, c(2 / math.pi)))
    r = a.sub(a.sub(a.sub(x, a.mul(n, c(PIO2_1))), a.mul(n, c(PIO2_2))), a.mul(n, c(PIO2_3)))
    r2 = a.mul(r, r)
    sin_r = a.mul(r, a.horner(r2, SIN_SERIES))
    cos_r = a.horner(r2, COS_SERIES)
    q = b.fptosi(a.select(a.is_nan(n), c(0.0), n), I64)
    if cosine:
        q = b.add(q, ir.Constant(I64, 1))
    odd = b.icmp_signed("!=", b.and_(q, ir.Constant(I64, 1)), ir.Constant(I64, 0))
    negate = b.icmp_signed("!=", b.and_(q, ir.Constant(I64, 2)), ir.Constant(I64, 0))
    value = a.select(odd, cos_r, sin_r)
    value = a.select(negate, a.neg(value), value)
    return a.select(a.gt(a.abs(x), c(SINCOS_LIMIT)), c(math.nan), value)


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
    b, p, fit = a.b, a.p, ERF_FITS[a.p.T]
    ax = a.abs(x)
    small = a.add(ax, a.mul(ax, a.horner(a.mul(ax, ax), fit.small)))
    low_bits = p.mantissa_bits // 2 + 1
    hi = b.bitcast(b.and_(b.bitcast(ax, p.int_type), a.i(-(1 << low_bits))), p.T)
    d = a.mul(a.sub(hi, ax), a.add(hi, ax))
    gauss = a.mul(_exp(a, a.neg(a.mul(hi, hi))), a.horner(d, [1.0, 1.0, 0.5]))  # exp(d) ≈ 1 + d + d²/2
    erfc = a.mul(gauss, a.div(a.horner(ax, fit.num), a.horner(ax, fit.den)))
    big = a.select(a.gt(ax, a.c(fit.saturates)), a.c(1.0), a.sub(a.c(1.0), erfc))
    return a.copysign(a.select(a.lt(ax, a.c(fit.split)), small, big), x)


#: name → (arity, builder): the lowering table of the transcendental functions.
FUNCTIONS = {
    "exp": (1, _exp),
    "expm1": (1, _expm1),
    "log": (1, _log),
    "log1p": (1, _log1p),
    "sin": (1, lambda a, x: _sincos(a, x, cosine=False)),
    "cos": (1, lambda a, x: _sincos(a, x, cosine=True)),
    "tanh": (1, _tanh),
    "sigmoid": (1, _sigmoid),
    "softplus": (3, _softplus),
    "erf": (1, _erf),
}


#: computed in double for float32 too: their range reduction needs the extra bits.
DOUBLE_ONLY = {"sin", "cos"}


def function(module: ir.Module, name: str, T: ir.Type = F64) -> ir.Function:
    """The module's ``sn_<name>_<f32|f64>``, emitted on first use, always inlined."""
    precision = PRECISIONS[T]
    symbol = f"sn_{name}_{precision.suffix}"
    if symbol in module.globals:
        return module.globals[symbol]
    arity, build = FUNCTIONS[name]
    fn = ir.Function(module, ir.FunctionType(T, [T] * arity), symbol)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    builder.ret(build(Arith(builder, module, precision), *fn.args))
    return fn
