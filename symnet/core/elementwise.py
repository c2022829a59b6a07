"""The element functions of the ``map`` op kind, as a table: name → its SymPy expression of the operands, with
the partial derivatives SymPy derives from them (``derivative_rules``, the table ``symnet rules`` prints).
Imported when something is first lowered (``core.ops`` binds it lazily)."""

from __future__ import annotations

from collections.abc import Callable

from . import functions as F
from .autodiff import partial
from .lazy import sympy as sp

#: Element functions of the ``map`` kind: name → SymPy expression of its operands.
ELEMENTWISE: dict[str, Callable[..., sp.Expr]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    # MSE's element: one op where d = a − b, d·d are two; the difference kept whole (its derivative 2·(a − b), not
    # SymPy's distributed 2·a − 2·b, which rounds twice)
    "squared_difference": lambda a, b: F.kept(a - b) ** 2,
    "div": lambda a, b: a * sp.oo if b.is_zero else a / b,  # x/0 as IEEE has it: ±inf, NaN at 0 (SymPy: zoo)
    # a number over a tensor as PyTorch's __rtruediv__ computes it: the reciprocal, rounded, times the number
    "rdiv": lambda x, c: c * F.kept(1 / x),
    "neg": lambda a: -a,
    "pow": lambda a, b: a**b if b.is_Number else F.power(a, b),
    # int64 ** int64 as PyTorch: wrapping; a negative exponent gives 1/x truncated (±1 at x = ±1, else 0)
    "pow_int": lambda a, b: F.where(F.ge(b, 0), F.int_power(a, b), F.eq(a, 1) + F.eq(a, -1) * (1 - 2 * sp.Mod(b, 2))),
    "exp": sp.exp,
    "expm1": F.expm1,
    "exp2": lambda x: 2**x,
    "log": sp.log,
    "log1p": F.log1p,
    "log2": lambda x: sp.log(x) / sp.log(2),
    "log10": lambda x: sp.log(x) / sp.log(10),
    "sqrt": sp.sqrt,
    "rsqrt": lambda x: 1 / sp.sqrt(x),
    "reciprocal": lambda x: 1 / x,
    "abs": sp.Abs,
    "sign": F.sign,
    "sin": sp.sin,
    "cos": sp.cos,
    "tanh": sp.tanh,
    **{f.__name__: f for f in F.ELEMENTARY},
    "erf": sp.erf,
    "erfinv": F.erfinv,
    "floor": F.round_down,
    "ceil": F.round_up,
    "trunc": F.round_toward_zero,
    "round": F.round_half_even,
    "frac": lambda x: x - F.round_toward_zero(x),
    "nan_to_num": F.nan_to_num,
    "lerp": lambda start, end, weight: _lerp(start, end, weight),
    "where": F.where,
    "maximum": F.maximum,
    "minimum": F.minimum,
    "fmax": F.fmax,
    "fmin": F.fmin,
    "floor_divide": F.floor_divide,
    "remainder": F.remainder,
    # integer division as int64 code; a zero divisor is PyTorch's error, reported by the kernel (never a trap)
    "floor_divide_int": lambda a, b: sp.floor(a / F.divisor(b)),
    "remainder_int": lambda a, b: sp.Mod(a, F.divisor(b)),
    "div_trunc_int": lambda a, b: F.sign(a) * F.sign(b) * sp.floor(sp.Abs(a) / sp.Abs(F.divisor(b))),
    # bit operations of int64 values (bool tensors take the logical rows)
    "bitwise_and_int": F.bit_and,
    "bitwise_or_int": F.bit_or,
    "bitwise_xor_int": F.bit_xor,
    "bitwise_not_int": lambda a: F.bit_xor(a, -1),
    "sigmoid": F.sigmoid,
    "logit": F.logit,
    "relu": F.relu,
    "leaky_relu": F.leaky_relu,
    "prelu": lambda x, weight: F.where(F.gt(x, 0), x, weight * x),
    "softplus": F.softplus,
    "gelu": F.gelu,
    "binary_cross_entropy": F.binary_cross_entropy,
    "gelu_tanh": F.gelu_tanh,
    "clamp": F.clamp,
    # activations: selects of smooth branches, so each derivative is derived, kinks on PyTorch's side of them
    "elu": lambda x, alpha, scale, input_scale: scale * F.where(F.le(x, 0), alpha * F.expm1(input_scale * x), x),
    "hardtanh": lambda x, low, high: F.where(F.le(x, low), low, F.where(F.ge(x, high), high, x)),
    "hardsigmoid": lambda x: F.where(F.le(x, -3), 0, F.where(F.ge(x, 3), 1, x / 6 + sp.Rational(1, 2))),
    "hardswish": lambda x: F.where(F.le(x, -3), 0, F.where(F.ge(x, 3), x, x * (x + 3) / 6)),
    "silu": lambda x: x * F.sigmoid(x),
    "mish": lambda x: x * sp.tanh(F.softplus(x, 1, sp.oo)),
    "logsigmoid": lambda x: -F.softplus(-x, 1, sp.oo),
    "softsign": lambda x: x / (1 + sp.Abs(x)),
    "tanhshrink": lambda x: x - sp.tanh(x),
    "threshold": lambda x, threshold, value: F.where(F.le(x, threshold), value, x),
    "hardshrink": lambda x, lambd: F.where(F.le(sp.Abs(x), lambd), 0, x),
    "softshrink": lambda x, lambd: F.where(F.le(sp.Abs(x), lambd), 0, x - lambd * F.sign(x)),
    "gt": F.gt,
    "ge": F.ge,
    "lt": F.lt,
    "le": F.le,
    "eq": F.eq,
    "ne": F.ne,
    "isnan": lambda x: F.ne(x, x),
    "isinf": lambda x: F.eq(sp.Abs(x), sp.oo),
    "isfinite": lambda x: F.lt(sp.Abs(x), sp.oo),
    "stop_gradient": F.stop_gradient,
    # a real number's argument: constant pieces, so its derivative is 0 (PyTorch's for real tensors)
    "angle": lambda x: F.where(F.lt(x, 0), sp.pi, F.where(F.ne(x, x), sp.nan, 0)),
    "atan2": lambda y, x: _atan2(y, x),
    "hypot": lambda x, y, scale: _hypot(x, y, scale),
    "erfc": F.erfc,
    "lgamma": F.lgamma,
    "digamma": lambda x: F.polygamma(0, x),
    "polygamma": lambda x, n: F.polygamma(n, x),
    "i0": F.i0,
    "i1": F.i1,
}
COMPARISONS = ("gt", "ge", "lt", "le", "eq", "ne", "isnan", "isinf", "isfinite")
#: rows without a derivative to show: conditions, integer arithmetic, and ``rdiv`` (div's rule, rounded as
#: PyTorch rounds a number over a tensor)
_NO_RULE = (*COMPARISONS, "floor_divide_int", "remainder_int", "div_trunc_int", "pow_int", "rdiv", "bitwise_and_int",
            "bitwise_or_int", "bitwise_xor_int", "bitwise_not_int")


def _lerp(start: sp.Expr, end: sp.Expr, weight: sp.Expr) -> sp.Expr:
    """PyTorch's lerp: start + w·(end − start) for |w| < ½, else end − (end − start)·(1 − w) (exact at w = 1);
    the difference ``kept`` whole, so SymPy does not expand it (x = inf gives NaN or inf as PyTorch's)."""
    diff = F.kept(end - start)
    small, large = start + weight * diff, end - diff * (1 - weight)
    if weight.is_Number:
        return small if abs(weight) < sp.Rational(1, 2) else large
    return F.where(F.lt(sp.Abs(weight), sp.Rational(1, 2)), small, large)


def _atan2(y: sp.Expr, x: sp.Expr) -> sp.Expr:
    """The angle of (x, y) in (−π, π]: atan of the quotient no larger than 1 in size, atan(y/x) turned by ±π
    where x < 0, or ±π/2 − atan(x/y), so each branch differentiates to PyTorch's x/(x² + y²) and −y/(x² + y²);
    C's values (and gradient 0) where both are zero (by their signs) or both infinite."""
    turn = F.where(F.lt(y, 0) + F.lt(1 / y, 0), -sp.pi, sp.pi)  # ±π by y's sign bit, −0.0's included
    near = F.atan(F.kept(y / x))
    flat = F.where(F.lt(x, 0), near + turn, near)  # not near + 0, which would turn −0.0 into +0.0
    steep = turn / 2 - F.atan(F.kept(x / y))
    zero = F.where(F.lt(1 / x, 0), turn, F.where(F.lt(1 / y, 0), F.negative_zero(), 0))
    infinite = turn * F.where(F.lt(x, 0), sp.Rational(3, 4), sp.Rational(1, 4))
    return F.where(F.eq(x, 0) * F.eq(y, 0), zero,
                   F.where(F.eq(sp.Abs(x), sp.oo) * F.eq(sp.Abs(y), sp.oo), infinite,
                           F.where(F.le(sp.Abs(y), sp.Abs(x)), flat, steep)))


def _hypot(x: sp.Expr, y: sp.Expr, s: sp.Expr) -> sp.Expr:
    """√(x² + y²), its squares kept inside the dtype's range: both operands scaled by the power of two s⁻² where
    one is beyond s, by s² where both are below 1/s (the frontend picks s for the dtype; ``kept``, so SymPy
    does not square the factor apart). ∞ where either is (even with NaN); the gradients x/hypot and y/hypot,
    NaN at the origin as PyTorch's."""
    def scaled(c):
        return sp.sqrt(F.kept(x * c) ** 2 + F.kept(y * c) ** 2) / c

    s = sp.Float(float(s)) if s.is_Number else s  # a power of two, exact as a float, printed short
    large = F.gt(sp.Abs(x), s) + F.gt(sp.Abs(y), s)
    small = F.lt(sp.Abs(x), 1 / s) * F.lt(sp.Abs(y), 1 / s)
    return F.where(F.eq(sp.Abs(x), sp.oo) + F.eq(sp.Abs(y), sp.oo), sp.oo,
                   F.where(large, scaled(s**-2), F.where(small, scaled(s**2), sp.sqrt(x**2 + y**2))))


def derivative_rules() -> list[tuple[str, sp.Expr, list[sp.Expr]]]:
    """Every element function of the op table with its partial derivatives, as SymPy derives them from the
    named functions' rules: the table ``symnet rules`` prints."""
    x, y, c = sp.symbols("x y c", real=True)
    one, half = sp.Integer(1), sp.Rational(1, 2)
    operands = {"leaky_relu": (x, sp.Rational(1, 20)), "softplus": (x, one, sp.Integer(20)),
                "clamp": (x, -one, one), "binary_cross_entropy": (x, y), "lerp": (x, y, c), "where": (c, x, y),
                "nan_to_num": (x, sp.Integer(0), sp.Symbol("M"), -sp.Symbol("M")), "elu": (x, one, one, one),
                "hardtanh": (x, -one, one), "threshold": (x, sp.Integer(0), sp.Integer(0)), "hardshrink": (x, half),
                "softshrink": (x, half), "hypot": (x, y, sp.Symbol("s")), "polygamma": (x, one)}
    binary = ("add", "sub", "mul", "squared_difference", "div", "pow", "maximum", "minimum", "fmax", "fmin",
              "floor_divide", "remainder", "prelu", "atan2")
    rows = []
    for name, fn in ELEMENTWISE.items():
        if name in _NO_RULE:
            continue
        args = operands.get(name) or ((x, y) if name in binary else (x,))
        expr = fn(*args)
        rows.append((name, expr, [partial(expr, a) for a in args if a in (x, y)]))
    return rows


