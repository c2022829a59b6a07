"""Vectorizable transcendental functions, emitted as LLVM IR.

LLVM turns ``llvm.exp`` into scalar libm calls, which stop the loop vectorizer; these are branch-free
polynomial kernels (Cody–Waite range reduction, Taylor/odd series on the reduced range, exponent arithmetic
on the bits), so a vectorized loop evaluates them in SIMD like any arithmetic. They work in double precision;
float32 code widens, calls them and rounds once, which keeps float32 results within one ulp.
Special values (±inf, NaN, 0, subnormals) give what NumPy gives; ``tests/codegen/test_mathlib.py`` states
the measured error in ulps. sin and cos are accurate for |x| < 2^20·π/2 and NaN beyond (no Payne–Hanek).
"""

from __future__ import annotations

import math

from llvmlite import ir

F64 = ir.DoubleType()
I64 = ir.IntType(64)
FLAGS = ("nsz", "arcp", "contract", "afn")

LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
# π/2 in three parts: the first two have 33 significant bits, so n·PIO2_1 and n·PIO2_2 are exact for |n| < 2^20.
PIO2_1 = 1.57079632673412561417e00
PIO2_2 = 6.07710050630396597660e-11
PIO2_3 = 2.02226624879595063154e-21


def c(value: float) -> ir.Constant:
    return ir.Constant(F64, value)


def fast(instr):
    """Fast-math flags that cannot turn a finite result into NaN (no nnan/ninf, no reassoc)."""
    instr.flags.extend(FLAGS)
    return instr


class Arith:
    """Terse float arithmetic on an IRBuilder, with the safe fast-math flags."""

    def __init__(self, b: ir.IRBuilder, module: ir.Module):
        self.b, self.module = b, module

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
        fnty = ir.FunctionType(F64, [F64] * len(args))
        fn = self.module.declare_intrinsic(name, [F64], fnty)
        return self.b.call(fn, args)

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
        acc = c(coefficients[-1])
        for k in reversed(coefficients[:-1]):
            acc = self.add(self.mul(acc, x), c(k))
        return acc

    def pow2(self, n_int):
        """2**n as a double from an integer exponent in [−1022, 1023]."""
        bits = self.b.shl(self.b.add(n_int, ir.Constant(I64, 1023)), ir.Constant(I64, 52))
        return self.b.bitcast(bits, F64)


EXP_TAYLOR = [1 / math.factorial(k) for k in range(14)]


def _exp(a: Arith, x):
    xc = a.select(a.gt(x, c(710.0)), c(710.0), x)
    xc = a.select(a.lt(xc, c(-746.0)), c(-746.0), xc)
    n = a.rint(a.mul(xc, c(1 / math.log(2))))
    r = a.sub(a.sub(xc, a.mul(n, c(LN2_HI))), a.mul(n, c(LN2_LO)))
    p = a.horner(r, EXP_TAYLOR)
    ni = a.b.fptosi(n, I64)
    half = a.b.ashr(ni, ir.Constant(I64, 1))
    result = a.mul(a.mul(p, a.pow2(half)), a.pow2(a.b.sub(ni, half)))
    return a.select(a.is_nan(x), x, result)


def _expm1(a: Arith, x):
    small = a.lt(a.abs(x), c(math.log(2) / 2))
    series = a.mul(x, a.horner(x, [1 / math.factorial(k + 1) for k in range(14)]))
    return a.select(small, series, a.sub(_exp(a, x), c(1.0)))


LOG_SERIES = [2 / (2 * k + 1) for k in range(12)]


def _log(a: Arith, x):
    b = a.b
    tiny = a.lt(x, c(2.2250738585072014e-308))
    xs = a.select(tiny, a.mul(x, c(2.0**54)), x)
    bits = b.bitcast(xs, I64)
    e = b.sub(b.lshr(bits, ir.Constant(I64, 52)), ir.Constant(I64, 1023))
    e = b.select(tiny, b.sub(e, ir.Constant(I64, 54)), e)
    mant = b.or_(b.and_(bits, ir.Constant(I64, (1 << 52) - 1)), ir.Constant(I64, 1023 << 52))
    m = b.bitcast(mant, F64)
    big = a.gt(m, c(math.sqrt(2)))
    m = a.select(big, a.mul(m, c(0.5)), m)
    e = b.select(big, b.add(e, ir.Constant(I64, 1)), e)
    f = a.sub(m, c(1.0))
    s = a.div(f, a.add(c(2.0), f))
    log1pf = a.mul(s, a.horner(a.mul(s, s), LOG_SERIES))
    ef = b.sitofp(e, F64)
    result = a.add(a.mul(ef, c(LN2_HI)), a.add(log1pf, a.mul(ef, c(LN2_LO))))
    result = a.select(b.fcmp_ordered("==", x, c(0.0)), c(-math.inf), result)
    result = a.select(b.fcmp_ordered("==", x, c(math.inf)), c(math.inf), result)
    return a.select(b.fcmp_unordered("ult", x, c(0.0)), c(math.nan), result)


def _log1p(a: Arith, x):
    u = a.add(c(1.0), x)
    corrected = a.sub(_log(a, u), a.div(a.sub(a.sub(u, c(1.0)), x), u))
    exact = a.b.fcmp_ordered("==", u, c(1.0))
    corrected = a.select(a.b.fcmp_ordered("==", u, c(math.inf)), u, corrected)
    return a.select(exact, x, corrected)


SIN_SERIES = [(-1) ** k / math.factorial(2 * k + 1) for k in range(9)]
COS_SERIES = [(-1) ** k / math.factorial(2 * k) for k in range(10)]


SINCOS_LIMIT = 2.0**20 * math.pi / 2


def _sincos(a: Arith, x, cosine: bool):
    """Accurate for |x| < 2^20·π/2 (Cody–Waite reduction); NaN beyond, where Payne–Hanek would be needed."""
    b = a.b
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
    e = _expm1(a, a.mul(ax, c(2.0)))
    t = a.div(e, a.add(e, c(2.0)))
    t = a.select(a.gt(ax, c(20.0)), c(1.0), t)
    return a.copysign(t, x)


def _sigmoid(a: Arith, x):
    e = _exp(a, a.neg(a.abs(x)))
    s = a.div(c(1.0), a.add(c(1.0), e))
    return a.select(a.b.fcmp_unordered("uge", x, c(0.0)), s, a.mul(e, s))


def _softplus(a: Arith, x, beta, threshold):
    bx = a.mul(beta, x)
    relu = a.select(a.gt(bx, c(0.0)), bx, c(0.0))
    stable = a.div(a.add(relu, _log1p(a, _exp(a, a.neg(a.abs(bx))))), beta)
    stable = a.select(a.is_nan(bx), bx, stable)
    return a.select(a.gt(bx, threshold), x, stable)


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
}


def function(module: ir.Module, name: str) -> ir.Function:
    """The module's ``sn_<name>`` (double → double), emitted on first use, always inlined."""
    symbol = f"sn_{name}"
    if symbol in module.globals:
        return module.globals[symbol]
    arity, build = FUNCTIONS[name]
    fn = ir.Function(module, ir.FunctionType(F64, [F64] * arity), symbol)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    builder = ir.IRBuilder(fn.append_basic_block("entry"))
    builder.ret(build(Arith(builder, module), *fn.args))
    return fn
