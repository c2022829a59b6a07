"""Cases of the comparison functions and the binary and ternary element functions (atan2, hypot, copysign, fmod,
logaddexp, xlogy, sinc, float_power, ldexp, addcmul, addcdiv, …): kinks and signed zeros, extreme magnitudes,
torch.result_type's integer and bool rules, Python numbers as operands, and PyTorch's refusals."""

from tests.opinfo.spec import Case, arg

F64, F32 = ("float64",), ("float32",)


def values(name: str, fn, args, **options) -> Case:
    """A case checked for its values only (conditions, exact edges, refusals): no gradient, no compiled step;
    float64 unless told."""
    return Case(name, fn, args, grad=False, compile=False, **{"dtypes": F64, **options})


def gradient(name: str, fn, args, **options) -> Case:
    """A case whose gradient is checked against PyTorch's, in float64, outside a compiled step and without finite
    differences unless told (each function's main case, a plain ``Case``, has all of them in both dtypes)."""
    return Case(name, fn, args, **{"dtypes": F64, "compile": False, "fd": False, **options})


def integer(name: str, fn, kinds=("int", "int")) -> Case:
    return values(name, fn, [arg(4, 3, kind=k) for k in kinds], dtypes=F64)


CASES = [
    # comparisons as functions and methods, with torch's long names
    values("comparisons/functions", lambda t, a, b: (t.eq(a, b), t.ne(a, 1), t.gt(a, b), t.ge(a, 2), t.lt(a, 1.0),
                                                      t.le(a, b)), [arg(3, 4, kind="ties"), arg(4, kind="ties")]),
    values("comparisons/long-names", lambda t, a, b: (a.greater(b), t.greater_equal(a, b), a.less(b),
                                                       t.less_equal(a, b), a.not_equal(b), a.eq(b)),
           [arg(5, kind="ties"), arg((), kind="ties")]),
    integer("comparisons/int-float", lambda t, a, b: (t.eq(a, b.float()), t.lt(a, 0.5), a.ge(b > 0))),
    values("equal-allclose", lambda t, a, b: t.tensor([t.equal(a, a), t.equal(a, b), t.equal(a, a[:1]),
                                                       t.allclose(a, a + 1e-9), t.allclose(a, b),
                                                       a.allclose(a.log(), equal_nan=True),
                                                       t.allclose(a.log(), a.log()), a.equal(a.long())]),
           [arg(4, kind="ties"), arg(4, kind="ties")]),
    values("isclose/tolerances", lambda t, a, b: (t.isclose(a, b), t.isclose(a, b, rtol=0.1, atol=0.5),
                                                  a.isclose(b, rtol=0, atol=0),
                                                  t.isclose(a.log(), b.log(), equal_nan=True), t.isclose(1 / a, 1 / b)),
           [arg(3, 4, kind="kinks"), arg(4, kind="kinks")]),
    integer("isclose/int-bool", lambda t, a, b: (t.isclose(a, b, atol=1), t.isclose(a, a), t.isclose(a > 0, b > 0))),
    values("isclose/dtypes-refused", lambda t, a, b: t.isclose(a, b), [arg(3), arg(3, dtype="float64")], dtypes=F32),
    values("isclose/number-refused", lambda t, a: t.isclose(a, 1.0), [arg(3)], dtypes=F64),
    values("isclose/negative-rtol-refused", lambda t, a: t.isclose(a, a, rtol=-1.0), [arg(3)], dtypes=F64),
    # atan2: both partials, every quadrant, the axes and the origin, signed zeros, infinities
    Case("atan2/broadcast", lambda t, a, b: t.atan2(a, b), [arg(3, 1), arg(4)]),
    gradient("atan2/kinks", lambda t, a, b: (t.atan2(a, b), a.arctan2(b)), [arg(4, 4, kind="kinks"),
                                                                        arg(4, 4, kind="kinks")]),
    gradient("atan2/signed-zeros", lambda t, a, b: t.arctan2(a * 0, b),
             [arg(8, kind="nonzero"), arg(8, kind="nonzero")]),
    values("atan2/infinities", lambda t, a, b: t.atan2(1 / a, 1 / b),
           [arg(5, 5, kind="kinks"), arg(5, 5, kind="kinks")]),
    gradient("atan2/mixed-dtypes", lambda t, a, b: a.atan2(b), [arg(3), arg(3, dtype="float64")], dtypes=F32),
    values("atan2/int", lambda t, a, b: t.atan2(a, b), [arg(4, 3, kind="int"), arg(3, kind="int")], dtypes=F64,
           rtol={"float64": 1e-6}),  # a float32 result
    values("atan2/number-refused", lambda t, a: t.atan2(a, 2.0), [arg(3)], dtypes=F64),
    # hypot: no overflow or underflow on the way, NaN gradient at the origin as PyTorch's
    Case("hypot/broadcast", lambda t, a, b: t.hypot(a, b), [arg(3, 1), arg(4)]),
    gradient("hypot/kinks", lambda t, a, b: a.hypot(b), [arg(4, 4, kind="kinks"), arg(4, 4, kind="kinks")]),
    gradient("hypot/extremes", lambda t, a, b: (t.hypot(a * 1e300, b * 1e300), t.hypot(a * 1e-300, b * 1e-300)),
             [arg(6), arg(6)]),
    gradient("hypot/extremes-float32", lambda t, a, b: (t.hypot(a * 1e30, b * 1e30), t.hypot(a * 1e-30, b * 1e-30)),
         [arg(6), arg(6)], dtypes=F32),
    values("hypot/infinities", lambda t, a, b: t.hypot(1 / a, b.log()), [arg(5, 5, kind="kinks"),
                                                                         arg(5, 5, kind="kinks")]),
    integer("hypot/int-refused", lambda t, a, b: t.hypot(a, b)),
    # copysign: the sign bit of −0.0 too; the gradient ±1, 0 where the magnitude is 0
    gradient("copysign/tensors", lambda t, a, b: (t.copysign(a, b), a.copysign(b * 0)), [arg(4, 3, kind="kinks"),
                                                                                     arg(3, kind="nonzero")]),
    gradient("copysign/numbers", lambda t, a: (t.copysign(a, -1.0), a.copysign(0.0), a.copysign(-0.0), a.copysign(2)),
         [arg(5)]),
    integer("copysign/int-bool", lambda t, a, b: (t.copysign(a, b), t.copysign(a, b > 0), t.copysign(a > 0, -1))),
    # fmod: C's signs (the dividend's), exact; gradients 1 and −trunc(a/b)
    gradient("fmod/signs", lambda t, a, b: t.fmod(a, b), [arg(4, 3, kind="big"), arg(3, kind="nonzero")]),
    Case("fmod/broadcast", lambda t, a, b: a.fmod(b), [arg(3, 4), arg(4, kind="nonzero")], dtypes=F64),
    gradient("fmod/numbers", lambda t, a: (t.fmod(a, 0.75), a.fmod(-2), t.fmod(a * 0, -1.5)), [arg(6, kind="nonzero")]),
    values("fmod/zero-divisor", lambda t, a, b: t.fmod(a, b), [arg(6), arg(6, kind="kinks")]),
    integer("fmod/int", lambda t, a, b: (t.fmod(a, b.abs() + 1), t.fmod(a, -(b.abs() + 1)), a.fmod(2), t.fmod(a, -3),
                                         t.fmod(a, 1.5))),
    integer("fmod/int-zero-refused", lambda t, a: t.fmod(a, 0), ("int",)),
    integer("fmod/int-computed-zero-refused", lambda t, a, b: t.fmod(a, b * 0)),
    integer("fmod/bool-refused", lambda t, a, b: t.fmod(a, b), ("bool", "bool")),
    # heaviside: no gradient in PyTorch
    values("heaviside/tensors", lambda t, a, b: (t.heaviside(a, b), a.heaviside(b[0])), [arg(4, 3, kind="kinks"),
                                                                                         arg(3)]),
    integer("heaviside/int-bool", lambda t, a, b: (t.heaviside(a, b), t.heaviside(a > 0, b > 1))),
    values("heaviside/dtypes-refused", lambda t, a, b: t.heaviside(a, b), [arg(3), arg(3, dtype="float64")],
           dtypes=F32),
    values("heaviside/number-refused", lambda t, a: t.heaviside(a, 0.5), [arg(3)], dtypes=F64),
    # logaddexp and logaddexp2: stable for large and infinite operands
    Case("logaddexp/broadcast", lambda t, a, b: (t.logaddexp(a, b), a.logaddexp2(b)), [arg(3, 1), arg(4)]),
    gradient("logaddexp/big", lambda t, a, b: (t.logaddexp(a, b), t.logaddexp2(a, b)), [arg(6, kind="big"),
                                                                                    arg(6, kind="big")]),
    gradient("logaddexp/ties", lambda t, a, b: (t.logaddexp(a, b), t.logaddexp2(a, b)), [arg(3, 4, kind="ties"),
                                                                                     arg(3, 4, kind="ties")]),
    values("logaddexp/infinities", lambda t, a, b: (t.logaddexp(1 / a, 1 / b), t.logaddexp2(a.log(), b.log())),
           [arg(5, 5, kind="kinks"), arg(5, 5, kind="kinks")]),
    integer("logaddexp/int-refused", lambda t, a, b: t.logaddexp(a, b)),
    # xlogy: 0 where x = 0 (unless y is NaN); the gradient log(y), 0 where x = 0 and y ≤ 0
    gradient("xlogy/zero-x", lambda t, a, b: (t.xlogy(a, b), a.xlogy(b * 2)), [arg(4, 3, kind="kinks"),
                                                                          arg(3, kind="positive")]),
    Case("xlogy/broadcast", lambda t, a, b: t.xlogy(a, b), [arg(3, 1), arg(4, kind="positive")], dtypes=F64),
    values("xlogy/edges", lambda t, a, b: (t.xlogy(a, b), t.xlogy(a, b.log())), [arg(5, 5, kind="kinks"),
                                                                                  arg(5, 5, kind="kinks")]),
    gradient("xlogy/numbers", lambda t, a: (t.xlogy(2, a), t.xlogy(a, 3.0), t.xlogy(0, a)), [arg(5, kind="positive")]),
    integer("xlogy/int-bool", lambda t, a, b: (t.xlogy(a, b), t.xlogy(a > 0, b), t.xlogy(a, 2))),
    # sinc, float_power, ldexp
    Case("sinc/normal", lambda t, a: t.sinc(a), [arg(3, 5)]),
    gradient("sinc/kinks", lambda t, a: (t.sinc(a), (a / 2).sinc()), [arg(7, kind="kinks")]),
    integer("sinc/int-bool", lambda t, a: (t.sinc(a), t.sinc(a > 0)), ("int",)),
    Case("float_power/tensors", lambda t, a, b: t.float_power(a, b), [arg(3, kind="positive"), arg(2, 3)],
         compile=False),  # float32 operands: a float64 result, gradients cast back
    gradient("float_power/numbers", lambda t, a: (t.float_power(a, 2), a.float_power(-1.5), t.float_power(2, a)),
         [arg(4, kind="positive")]),
    integer("float_power/int-bool", lambda t, a, b: (t.float_power(a, 2), t.float_power(a, b.abs()),
                                                     t.float_power(a > 0, b > 0))),
    # exponents ≥ 0: PyTorch's gradient for negative int64 exponents is 0 (its 2**other in int64), symnet's 2**other
    gradient("ldexp/int-exponent", lambda t, a, b: t.ldexp(a, b), [arg(3, 4), arg(4, kind="index", high=4)]),
    gradient("ldexp/float-exponent", lambda t, a, b: a.ldexp(b), [arg(3, 4), arg(4)]),
    integer("ldexp/int", lambda t, a, b: t.ldexp(a, b)),
    values("ldexp/number-refused", lambda t, a: t.ldexp(a, 2), [arg(3)], dtypes=F64),
    # clamp_min, clamp_max
    gradient("clamp_min-max/numbers", lambda t, a: (t.clamp_min(a, -0.5), a.clamp_max(0.5)), [arg(3, 4)]),
    gradient("clamp_min-max/tensors", lambda t, a, b: (t.clamp_min(a, b), t.clamp_max(a, b)),
             [arg(3, 4, kind="ties"), arg(4, kind="ties")]),
    integer("clamp_min-max/int", lambda t, a, b: (t.clamp_min(a, 0), t.clamp_max(a, b), t.clamp_min(a, 0.5))),
    # addcmul, addcdiv
    gradient("addcmul/value", lambda t, a, b, c: (t.addcmul(a, b, c), a.addcmul(b, c, value=-0.5)),
         [arg(3, 4), arg(4), arg(3, 1)]),
    Case("addcdiv/value", lambda t, a, b, c: (t.addcdiv(a, b, c), a.addcdiv(b, c, value=2.5)),
         [arg(3, 4), arg(4), arg(3, 1, kind="nonzero")], dtypes=F64, compile=False),
    values("addcmul-addcdiv/mixed", lambda t, a, b: (t.addcmul(a, b, b, value=2), t.addcdiv(b, a, b)),
           [arg(3), arg(3, kind="int")]),  # PyTorch's backward fails here (a float gradient for int64 operands)
    integer("addcmul/int", lambda t, a, b: (t.addcmul(a, b, b, value=3), t.addcmul(a, a, b, value=0.5))),
    integer("addcdiv/int-refused", lambda t, a, b: t.addcdiv(a, a, b)),
    values("addcdiv/bool-refused", lambda t, a, b: t.addcdiv(a, b > 0, b > 1), [arg(3), arg(3)], dtypes=F64),
    values("addcmul/number-refused", lambda t, a: t.addcmul(a, a, 2.0), [arg(3)], dtypes=F64),
    # the predicates of real tensors, real, nextafter
    values("isneginf-isposinf-isreal", lambda t, a: (t.isneginf(1 / a), t.isposinf(1 / a), a.isposinf(),
                                                     t.isreal(a.log()), (1 / a).isneginf()), [arg(3, 4, kind="kinks")]),
    integer("isneginf-isposinf-isreal/int-bool", lambda t, a: (t.isneginf(a), t.isposinf(a > 0), t.isreal(a)),
            ("int",)),
    gradient("real", lambda t, a: t.real(a) * 2, [arg(3)]),
    values("nextafter", lambda t, a, b: (t.nextafter(a, b), a.nextafter(a * 0), t.nextafter(a * 0, b)),
           [arg(3, 4), arg(4)]),
    integer("nextafter/int-refused", lambda t, a, b: t.nextafter(a, b)),
    # shapes: empty and 0-d operands
    gradient("binary/empty", lambda t, a, b: (t.atan2(a, b), t.hypot(a, b), t.fmod(a, b), t.xlogy(a, b.abs())),
             [arg(0, 3), arg(3, kind="nonzero")]),
    gradient("binary/0-d", lambda t, a, b: (t.atan2(a, b), t.hypot(b, a), t.logaddexp2(a, b), t.fmod(b, a)),
             [arg((), kind="nonzero"), arg(3)]),
]
