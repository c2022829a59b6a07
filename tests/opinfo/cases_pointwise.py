"""Cases of the element-wise ops: rounding, special values, division, extrema, where, lerp, clamp with tensor
bounds, and the integer and bool rules of ``torch.result_type`` (with PyTorch's refusals)."""

from tests.opinfo.spec import Case, arg

F64 = ("float64",)


def unary(name: str, kind: str = "normal", **options) -> Case:
    """``t.<name>(a)`` over an odd shape."""
    return Case(f"{name}/{kind}", lambda t, a: getattr(t, name)(a), [arg(3, 5, kind=kind)], **options)


def integer(name: str, fn, kinds=("int", "int"), **options) -> Case:
    """An integer (or bool) case: exact values, no gradient, no compiled step."""
    return Case(name, fn, [arg(4, 3, kind=k) for k in kinds], dtypes=F64, grad=False, compile=False, **options)


CASES = [
    *(unary(n) for n in ("expm1", "exp2", "sigmoid", "square", "neg", "negative")),
    *(unary(n, "positive") for n in ("log2", "reciprocal", "rsqrt")),
    unary("erfinv", "unit"),
    Case("logit/unit", lambda t, a: t.logit(a.abs()), [arg(3, 5, kind="unit")]),
    Case("logit/eps", lambda t, a: t.logit(a.sigmoid(), eps=0.25), [arg(3, 4)]),
    *(unary(n, kind, grad=False, compile=False) for n in ("floor", "ceil", "trunc", "round", "frac")
      for kind in ("big",)),
    Case("round/half-even", lambda t, a: t.round(a / 2), [arg(9, kind="kinks")], grad=False, compile=False),
    Case("round/decimals", lambda t, a: t.round(a, decimals=2), [arg(7)], grad=False, compile=False),
    Case("round/negative-decimals", lambda t, a: t.round(a, decimals=-3), [arg(7, kind="big")], grad=False,
         compile=False),
    Case("frac/gradient", lambda t, a: t.frac(a * 3), [arg(5)], fd=False),
    Case("isnan-isinf-isfinite", lambda t, a: (t.isnan(a.log()), t.isinf(1 / a), t.isfinite(a.log() / a)),
         [arg(3, 4, kind="kinks", grad=False)], grad=False, compile=False),
    Case("nan_to_num/defaults", lambda t, a: t.nan_to_num(a.log() / a), [arg(4, 3, kind="kinks")], fd=False),
    Case("nan_to_num/given", lambda t, a: t.nan_to_num((a - 0.5).log() * a, nan=1.5, posinf=2.0, neginf=-3.0),
         [arg(4, 3, kind="kinks")], fd=False),
    Case("lerp/scalar-weight", lambda t, a, b: t.lerp(a, b, 0.3), [arg(3, 1), arg(4)]),
    Case("lerp/tensor-weight", lambda t, a, b, w: a.lerp(b, w), [arg(2, 3), arg(3), arg(2, 1)]),
    Case("lerp/0-d-double-weight", lambda t, a, b, w: t.lerp(a, b, w),
         [arg(3), arg(3), arg((), dtype="float64")], dtypes=("float32",)),
    Case("lerp/mixed-dtypes", lambda t, a, b: t.lerp(a, b, 0.5), [arg(3), arg(3, dtype="float64")],
         dtypes=("float32",)),
    Case("lerp/int", lambda t, a, b: t.lerp(a, b, 0.5), [arg(3, kind="int"), arg(3, kind="int")], dtypes=F64),
    Case("maximum/broadcast-ties", lambda t, a, b: t.maximum(a, b), [arg(3, 1, kind="ties"), arg(4, kind="ties")],
         fd=False),
    Case("minimum/ties", lambda t, a, b: a.minimum(b), [arg(2, 5, kind="ties"), arg(2, 5, kind="ties")], fd=False),
    Case("maximum/nan", lambda t, a, b: t.maximum(a.log(), b), [arg(6, kind="kinks"), arg(6, kind="kinks")],
         fd=False),
    Case("fmax/nan-ties", lambda t, a, b: t.fmax(a.log(), b.log()), [arg(3, 4, kind="kinks"), arg(3, 4, kind="kinks")],
         fd=False),
    Case("fmin/nan-ties", lambda t, a, b: t.fmin(a.log(), b), [arg(3, 4, kind="kinks"), arg(4, kind="kinks")],
         fd=False),
    Case("maximum/int-float", lambda t, a, b: t.maximum(a, b), [arg(3, kind="int"), arg(3)]),
    Case("maximum/scalar-refused", lambda t, a: t.maximum(a, 2), [arg(3)], dtypes=F64),
    integer("minimum/int-bool", lambda t, a, b: t.minimum(a, b), ("int", "bool")),
    Case("where/tensors", lambda t, c, a, b: t.where(c, a, b), [arg(3, 1, kind="bool"), arg(4), arg(3, 4)]),
    Case("where/scalar-branches", lambda t, c, a: t.where(c, a, 2.5) + t.where(c, 1, a),
         [arg(2, 3, kind="bool"), arg(3)]),
    Case("where/nan-not-taken", lambda t, a: t.where(a > 0, a.log(), a), [arg(7)], fd=False),
    Case("where/method", lambda t, a, b: a.where(a > b, b), [arg(5), arg(5)], fd=False),
    integer("where/int-scalars", lambda t, c: t.where(c, 1, 2), ("bool",)),
    integer("where/int-condition-refused", lambda t, c, a: t.where(c, a, 0.0), ("int", "int")),
    Case("floor_divide/float", lambda t, a, b: a // b, [arg(3, 4), arg(4, kind="nonzero")], grad=False,
         compile=False),
    Case("floor_divide/zero", lambda t, a, b: t.floor_divide(a, b), [arg(6), arg(6, kind="kinks")], grad=False,
         compile=False),
    Case("floor_divide/reflected", lambda t, a: 7.5 // a, [arg(6, kind="nonzero")], grad=False, compile=False),
    Case("remainder/float", lambda t, a, b: a % b, [arg(3, 4), arg(4, kind="nonzero")]),
    Case("remainder/reflected", lambda t, a: 3.5 % a - a % -2.0, [arg(6, kind="nonzero")], grad=False,
         compile=False),  # PyTorch has no derivative of remainder(Scalar, Tensor)
    Case("remainder/function", lambda t, a, b: t.remainder(a, b), [arg(4, kind="big"), arg(4, kind="nonzero")],
         fd=False),
    integer("floor_divide/int", lambda t, a, b: (a // (b.abs() + 1), a % (b.abs() + 1), a // -2, -7 % (b.abs() + 1))),
    integer("div/rounding-modes-int", lambda t, a, b: (t.div(a, b.abs() + 1, rounding_mode="trunc"),
                                                       t.div(a, -(b.abs() + 1), rounding_mode="floor"),
                                                       t.div(a, b.abs() + 1), t.true_divide(a, 2))),
    Case("div/rounding-modes-float", lambda t, a, b: (t.div(a, b, rounding_mode="trunc"),
                                                      t.divide(a, b, rounding_mode="floor"), t.divide(a, b)),
         [arg(3, 4), arg(4, kind="nonzero")], fd=False),
    integer("floor_divide/bool-refused", lambda t, a, b: a // b, ("bool", "bool")),
    Case("add-sub/alpha", lambda t, a, b: (t.add(a, b, alpha=2.5), t.sub(a, b, alpha=-0.5), t.subtract(a, 1)),
         [arg(2, 3), arg(3)]),
    Case("mul/multiply", lambda t, a, b: t.mul(a, b) + t.multiply(a, 3), [arg(2, 3), arg(2, 1)]),
    integer("add/int-alpha", lambda t, a, b: t.add(a, b, alpha=3)),
    integer("add/int-float-alpha-refused", lambda t, a, b: t.add(a, b, alpha=0.5)),
    Case("abs/builtin", lambda t, a: abs(a), [arg(6, kind="kinks")], fd=False),
    integer("abs/bool-refused", lambda t, a: abs(a), ("bool",)),
    Case("pow/tensor-exponent", lambda t, a, b: t.pow(a, b), [arg(3, kind="positive"), arg(2, 3)]),
    Case("pow/scalar-base", lambda t, a: t.pow(2.5, a), [arg(4)]),
    integer("pow/int", lambda t, a, b: (t.pow(a, 2), b ** 3)),
    Case("clamp/tensor-bounds", lambda t, a, lo, hi: t.clamp(a, lo, hi), [arg(4, 5), arg(5, kind="kinks"),
                                                                           arg(4, 1, kind="kinks")], fd=False),
    Case("clamp/tensor-min", lambda t, a, lo: a.clamp(min=lo), [arg(3, 4), arg(4)], fd=False),
    Case("clip/tensor-max", lambda t, a, hi: t.clip(a, max=hi), [arg(3, 4), arg(3, 1)], fd=False),
    Case("clamp/mixed-refused", lambda t, a, lo: t.clamp(a, min=lo, max=1.0), [arg(3), arg(3)], dtypes=F64),
    Case("unary/int-operands", lambda t, a: (t.reciprocal(a), t.exp2(a), t.sigmoid(a), t.floor(a), t.isinf(a),
                                             t.nan_to_num(a), t.square(a)), [arg(5, kind="int")], dtypes=F64,
         grad=False, compile=False),
    integer("square/bool", lambda t, a: t.square(a), ("bool",)),
    integer("frac/int-refused", lambda t, a: t.frac(a), ("int",)),
    integer("floor/bool-refused", lambda t, a: t.floor(a), ("bool",)),
    Case("exp2-log2/empty", lambda t, a: t.exp2(a) + t.log2(a.abs() + 1), [arg(0, 3)]),
    Case("erfinv/0-d", lambda t, a: t.erfinv(a), [arg((), kind="unit")]),
    Case("rsqrt/edges", lambda t, a: t.rsqrt(a.abs()), [arg(5, kind="kinks")], grad=False, compile=False),
]
