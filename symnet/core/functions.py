"""Named scalar functions, one class each holding every rule of the function: its derivative (``fdiff``),
its stable NumPy evaluation (``numpy``, the reference), its native lowering (``lower``, over the backend's
``ir.ScalarOps``), and its printed form — so formulas read ``σ(x)·(1 - σ(x))``, generated code never
overflows, and adding a function is adding one class.

The derivative rules follow PyTorch at the kinks: relu'(0) = 0, leaky_relu'(0) = negative_slope,
clamp' = 1 on the closed interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .ir import ScalarOps
from .lazy import sympy as sp


class NamedFunction(sp.Function):
    """A SymPy function with a printed symbol; each subclass defines ``numpy`` (its stable NumPy evaluation)
    and ``lower`` (its native lowering), or ``predicate`` when its value is a condition (0 or 1)."""

    symbol: str = ""
    latex_symbol: str = ""
    #: the kind of value (``ir.is_integer_valued``): float, condition (0 or 1), integer, or same as the argument
    value_kind = "float"

    @classmethod
    def lower(cls, ops: ScalarOps, *args: sp.Expr):
        return ops.to_float(cls.predicate(ops, *args))

    @classmethod
    def predicate(cls, ops: ScalarOps, *args: sp.Expr):
        raise NotImplementedError(f"{cls.__name__} is not a condition")

    def _sympystr(self, printer):
        return f"{self.symbol or type(self).__name__}({', '.join(printer._print(a) for a in self.args)})"

    def _latex(self, printer, exp=None):
        """The function's LaTeX, raised to ``exp`` when SymPy prints a power of it (σ(x)², tan(x)²)."""
        body = self._latex_body(printer)
        return body if exp is None else rf"\left({body}\right)^{{{exp}}}"

    def _latex_body(self, printer):
        name = self.latex_symbol or rf"\operatorname{{{type(self).__name__}}}"
        args = ", ".join(printer._print(a) for a in self.args)
        return rf"{name}\left({args}\right)"


def _exp_neg_abs(x):
    return np.exp(-np.abs(x))


class sigmoid(NamedFunction):
    """σ(x) = 1/(1 + e^-x), evaluated without overflow on either side."""

    symbol, latex_symbol = "σ", r"\sigma"

    def fdiff(self, argindex=1):
        return self * (1 - self)

    @staticmethod
    def numpy(x):
        e = _exp_neg_abs(x)
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))

    @classmethod
    def lower(cls, ops, x):
        return ops.call("sigmoid", ops.value(x))


class softplus(NamedFunction):
    """PyTorch's softplus: log(1 + e^(βx))/β, and x itself where βx > threshold."""

    nargs = (1, 3)

    def _sympystr(self, printer):
        x, beta = self.args[0], self._beta()
        inner = printer._print(x) if beta == 1 else f"{printer._print(beta)}*{printer._print(x)}"
        return f"softplus({inner})" if beta == 1 else f"softplus({inner})/{printer._print(beta)}"

    def _beta(self):
        return self.args[1] if len(self.args) > 1 else sp.Integer(1)

    def fdiff(self, argindex=1):
        """σ(βx) below the threshold and exactly 1 above it, where softplus is the identity (as PyTorch)."""
        if argindex != 1:
            return sp.Integer(0)
        bx = self._beta() * self.args[0]
        threshold = self.args[2] if len(self.args) > 2 else sp.Integer(20)
        return sigmoid(bx) if threshold == sp.oo else softplus_slope(bx, threshold)

    @staticmethod
    def numpy(x, beta=1.0, threshold=20.0):
        bx = beta * x
        stable = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta
        return np.where(bx > threshold, x, stable)

    @classmethod
    def lower(cls, ops, x, beta=1, threshold=20):
        return ops.call("softplus", ops.value(x), ops.value(sp.sympify(beta)), ops.value(sp.sympify(threshold)))


class softplus_slope(NamedFunction):
    """softplus′: σ(z) for z = βx up to the threshold, exactly 1 beyond (printed as σ(z): the threshold is
    softplus's own)."""

    nargs = 2
    symbol, latex_symbol = "σ", r"\sigma"

    def _sympystr(self, printer):
        return f"σ({printer._print(self.args[0])})"

    def _latex_body(self, printer):
        return rf"\sigma\left({printer._print(self.args[0])}\right)"

    def fdiff(self, argindex=1):
        z, threshold = self.args
        return sigmoid(z) * (1 - sigmoid(z)) * le(z, threshold) if argindex == 1 else sp.Integer(0)

    @staticmethod
    def numpy(z, threshold):
        return np.where(z > threshold, 1.0, sigmoid.numpy(z))

    @classmethod
    def lower(cls, ops, z, threshold):
        return ops.select(ops.compare(">", z, threshold), ops.const(1.0), ops.call("sigmoid", ops.value(z)))


class step(NamedFunction):
    """The derivative of relu: 1 for x > 0, else 0 (step(0) = 0, unlike SymPy's Heaviside(0) = 1/2)."""

    latex_symbol = r"\theta"
    value_kind = "condition"

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @staticmethod
    def numpy(x):
        return (x > 0).astype(np.result_type(x, np.float32))

    @classmethod
    def predicate(cls, ops, x):
        return ops.compare(">", x, sp.Integer(0))


class relu(NamedFunction):
    """max(x, 0) with relu'(0) = 0."""

    latex_symbol = r"\operatorname{relu}"
    value_kind = "same"

    def fdiff(self, argindex=1):
        return step(self.args[0])

    @staticmethod
    def numpy(x):
        return np.where(x > 0, x, np.zeros_like(x))

    @classmethod
    def lower(cls, ops, x):
        return ops.select(ops.compare("<=", x, sp.Integer(0)), ops.const(0.0), ops.value(x))


class leaky_relu(NamedFunction):
    """x for x > 0, else negative_slope·x; the derivative at 0 is negative_slope, as in PyTorch."""

    nargs = 2

    def fdiff(self, argindex=1):
        x, slope = self.args
        if argindex != 1:
            return sp.Integer(0)
        return slope + (1 - slope) * step(x)

    @staticmethod
    def numpy(x, slope):
        return np.where(x > 0, x, slope * x)

    @classmethod
    def lower(cls, ops, x, slope):
        return ops.select(ops.compare(">", x, sp.Integer(0)), ops.value(x), ops.mul(ops.value(slope), ops.value(x)))


class clamp(NamedFunction):
    """min(max(x, lo), hi); the gradient passes where lo ≤ x ≤ hi (both ends included, as in PyTorch)."""

    nargs = 3
    value_kind = "same"

    def fdiff(self, argindex=1):
        """PyTorch's rule for tensor bounds too: ``lo`` takes the gradient where x < lo < hi, ``hi`` where x > hi
        or hi < lo (where the bounds cross, the result is hi)."""
        x, lo, hi = self.args
        if argindex == 1:
            return between(x, lo, hi)
        if argindex == 2:
            return lt(x, lo) * lt(lo, hi)
        return gt(x, hi) + lt(hi, lo) * le(x, hi)

    @staticmethod
    def numpy(x, lo, hi):
        return np.minimum(np.maximum(x, lo), hi)

    @classmethod
    def lower(cls, ops, x, lo, hi):
        above = where(lt(x, lo) + ne(lo, lo), lo, x)  # then capped: hi wins where the bounds cross; NaN bounds win
        return ops.value(where(gt(above, hi) + ne(hi, hi), hi, above))


class between(NamedFunction):
    """Indicator [lo ≤ x ≤ hi]: the derivative of clamp."""

    nargs = 3
    value_kind = "condition"
    is_range = True

    def _sympystr(self, printer):
        x, lo, hi = (printer._print(a) for a in self.args)
        return f"[{lo} ≤ {x} ≤ {hi}]"

    def _latex_body(self, printer):
        x, lo, hi = (printer._print(a) for a in self.args)
        return rf"\left[{lo} \le {x} \le {hi}\right]"

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @staticmethod
    def numpy(x, lo, hi):
        return np.asarray((x >= lo) & (x <= hi)).astype(np.result_type(x, np.float32))  # constants give a bool

    @classmethod
    def predicate(cls, ops, x, lo, hi):
        return ops.both(ops.compare(">=", x, lo), ops.compare("<=", x, hi))


class divides(NamedFunction):
    """[m ∣ e]: whether the integer ``e`` is a multiple of ``m`` — the guard of a strided read's gather."""

    nargs = 2
    value_kind = "condition"

    @classmethod
    def eval(cls, m, e):
        if e.is_Integer and m.is_Integer:
            return sp.Integer(int(e) % int(m) == 0)
        return None

    def _sympystr(self, printer):
        m, e = (printer._print(a) for a in self.args)
        return f"[{m} ∣ {e}]"

    def _latex_body(self, printer):
        m, e = (printer._print(a) for a in self.args)
        return rf"\left[{m} \mid {e}\right]"

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @staticmethod
    def numpy(m, e):
        return np.equal(np.mod(e, m), 0)

    @classmethod
    def predicate(cls, ops, m, e):
        return ops.compare("==", sp.Mod(e, m), sp.Integer(0))


class guarded(NamedFunction):
    """``value`` where every condition holds, else ``fill``: a read that may fall outside its tensor (padding, the
    gather form of a strided read). Backends evaluate ``value`` with reads kept inside their tensors, so a false
    condition never reads out of bounds, and its value (even NaN) never shows."""

    value_kind = "same"
    is_guard = True

    @classmethod
    def eval(cls, value, fill, *conditions):
        if any(c == 0 for c in conditions):
            return fill
        kept = tuple(c for c in conditions if c != 1)
        if not kept:
            return value
        if len(kept) != len(conditions):
            return cls(value, fill, *kept)
        return None

    def _sympystr(self, printer):
        value, fill, *conditions = self.args
        brackets = "·".join(printer._print(c) for c in conditions)
        shown = f"{brackets}·({printer._print(value)})"
        return shown if fill == 0 else f"{shown} else {printer._print(fill)}"

    def _latex_body(self, printer):
        value, fill, *conditions = self.args
        brackets = " ".join(printer._print(c) for c in conditions)
        shown = rf"{brackets} \left({printer._print(value)}\right)"
        return shown if fill == 0 else rf"{shown} \text{{ else }} {printer._print(fill)}"

    def fdiff(self, argindex=1):
        """A marker ``guarded(1, 0, …)`` that ``autodiff.partial`` folds with its co-factors, so the partial's
        reads stay inside the guard."""
        if argindex != 1:
            return sp.Integer(0)
        return guarded(sp.Integer(1), sp.Integer(0), *self.args[2:])

    @staticmethod
    def numpy(value, fill, *conditions):
        holds = np.ones((), dtype=bool)
        for c in conditions:
            holds = holds & (np.asarray(c) != 0)
        return np.where(holds, value, fill)

    @classmethod
    def lower(cls, ops, value, fill, *conditions):
        holds = None
        for c in conditions:
            test = type(c).predicate(ops, *c.args) if getattr(type(c), "value_kind", None) == "condition" else \
                ops.compare("!=", c, sp.Integer(0))
            holds = test if holds is None else ops.both(holds, test)
        return ops.select(holds, ops.safely(value), ops.value(fill))


class sign(NamedFunction):
    """−1, 0 or 1 (0 for ±0 and NaN) with gradient 0 everywhere, as ``torch.sign`` (SymPy's sign would
    differentiate to a Dirac delta)."""

    symbol, latex_symbol = "sgn", r"\operatorname{sgn}"
    value_kind = "same"

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @staticmethod
    def numpy(x):
        return np.where(np.isnan(x) | (x == 0), np.zeros_like(x), np.sign(x))

    @classmethod
    def lower(cls, ops, x):
        positive = ops.select(ops.compare(">", x, sp.Integer(0)), ops.const(1.0), ops.const(0.0))
        return ops.select(ops.compare("<", x, sp.Integer(0)), ops.const(-1.0), positive)


class not_a_number(NamedFunction):
    """A NaN written as a constant (``x * float("nan")``, ``masked_fill(m, nan)``): opaque to SymPy, which would
    otherwise fold it away, so the program computes with it as PyTorch does."""

    nargs = 0
    symbol = "nan"

    def _sympystr(self, printer):
        return "nan"

    def _latex_body(self, printer):
        return r"\mathrm{NaN}"

    @staticmethod
    def numpy():
        return np.nan

    @classmethod
    def lower(cls, ops):
        return ops.const(float("nan"))


class negative_zero(NamedFunction):
    """−0.0 written as a constant (``x / -0.0``, ``x * -0.0``): SymPy has one zero, which would turn −inf into
    +inf and −0 into +0."""

    nargs = 0
    symbol = "-0.0"

    def _sympystr(self, printer):
        return "-0.0"

    def _latex_body(self, printer):
        return "-0.0"

    @staticmethod
    def numpy():
        return -0.0

    @classmethod
    def lower(cls, ops):
        return ops.const(-0.0)


class Identity(NamedFunction):
    """A function whose value is its argument (of its kind): what it changes is the derivative or what SymPy sees."""

    value_kind = "same"

    @staticmethod
    def numpy(x):
        return x

    @classmethod
    def lower(cls, ops, x):
        return ops.value(x)


class stop_gradient(Identity):
    """The identity whose derivative is 0: the max shift of softmax and log_softmax (it cancels exactly)."""

    symbol, latex_symbol = "sg", r"\operatorname{sg}"

    def fdiff(self, argindex=1):
        return sp.Integer(0)


class kept(Identity):
    """The identity SymPy cannot see through: an operand whose cancellation (x − x, x·0, x/x, 0/x, exp(log x))
    would change IEEE results where x is ±inf, NaN or 0. Printed as its argument (in parentheses when that is a
    sum, product or power, which is one operand where it stands: kept(x/s)² is (x/s)², not x/s²)."""

    def _sympystr(self, printer):
        return self._grouped(printer, "({})")

    def _latex_body(self, printer):
        return self._grouped(printer, r"\left({}\right)")

    def _grouped(self, printer, brackets: str) -> str:
        arg = self.args[0]
        text = printer._print(arg)
        return brackets.format(text) if isinstance(arg, sp.Add | sp.Mul | sp.Pow) else text

    def fdiff(self, argindex=1):
        return sp.Integer(1)


class trunc(NamedFunction):
    """A float rounded toward zero, as an integer: the conversion ``.long()`` makes (PyTorch's C cast; NaN and
    values outside int64's range give its least value, as x86's conversion does)."""

    value_kind = "integer"

    def _sympystr(self, printer):
        return f"int({printer._print(self.args[0])})"

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @staticmethod
    def numpy(x):
        x = np.asarray(x, dtype=np.float64)
        inside = (x >= -(2.0**63)) & (x < 2.0**63)  # NaN is not
        return np.where(inside, np.trunc(np.where(inside, x, 0.0)).astype(np.int64), np.iinfo(np.int64).min)

    @classmethod
    def lower(cls, ops, x):
        return ops.truncate(ops.value(x))


class PowerForm(NamedFunction):
    """Printed as x**y (LaTeX x^y): the powers with a tensor exponent."""

    nargs = 2

    def _sympystr(self, printer):
        x, y = (printer.parenthesize(a, 60) for a in self.args)
        return f"{x}**{y}"

    def _latex_body(self, printer):
        x, y = (printer._print(a) for a in self.args)
        return f"{{{x}}}^{{{y}}}"


class power(PowerForm):
    """x^y for a tensor exponent; its rule keeps both partials finite at x = 0, as PyTorch does."""

    def fdiff(self, argindex=1):
        x, y = self.args
        if argindex == 2:
            return pow_log(x, y)
        return where(eq(y, 0), 0, y * power(x, y - 1))  # 0 at y = 0, even at x = 0 (not 0·∞), as PyTorch

    @staticmethod
    def numpy(x, y):
        return np.power(x, y)

    @classmethod
    def lower(cls, ops, x, y):
        return ops.power(x, y)


class divisor(NamedFunction):
    """An integer divisor checked at run time: 0 is PyTorch's ZeroDivisionError (the native code reports it and
    never divides by it), so integer ``//`` and ``%`` of computed tensors refuse a zero as PyTorch does."""

    value_kind = "integer"

    @classmethod
    def eval(cls, b):
        return b if b.is_Number and b != 0 else None  # a constant is checked when the op is made

    def _sympystr(self, printer):
        return printer._print(self.args[0])

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @staticmethod
    def numpy(b):
        if np.any(np.asarray(b) == 0):
            raise RuntimeError("ZeroDivisionError: integer division by zero (as PyTorch's error)")
        return b

    @classmethod
    def lower(cls, ops, b):
        return ops.nonzero(b)


class int_power(PowerForm):
    """x^y of int64 values for y ≥ 0, wrapping on overflow as PyTorch's integer pow: square-and-multiply over the
    exponent's bits, branch-free (the ``pow_int`` row gives negative exponents PyTorch's values)."""

    value_kind = "integer"

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @staticmethod
    def numpy(x, y):
        base, e = (a.astype(np.int64) for a in np.broadcast_arrays(np.asarray(x), np.asarray(y)))
        result, e = np.ones_like(base), np.maximum(e, 0)
        with np.errstate(over="ignore"):
            while e.any():
                result = np.where(e & 1, result * base, result)
                base, e = base * base, e >> 1
        return result

    @classmethod
    def lower(cls, ops, x, y):
        base, e, result = ops.word(x), ops.word(y), ops.word(sp.Integer(1))
        minus_one = (1 << 64) - 1
        for _ in range(63):
            half = ops.bits(">>", e, 1)
            bit = ops.bits("+", e, ops.bits("*", half, (1 << 64) - 2))  # e − 2·⌊e/2⌋
            factor = ops.bits("+", ops.bits("*", bit, ops.bits("+", base, minus_one)), 1)  # bit ? base : 1
            result, base, e = ops.bits("*", result, factor), ops.bits("*", base, base), half
        return result


class bitwise(NamedFunction):
    """A bit operation of int64 values (two's complement, as PyTorch's ``&``, ``|``, ``^``; ``~x`` is x ^ −1):
    integer valued, no derivative. Each subclass names its operator."""

    value_kind = "integer"
    nargs = 2
    op = ""
    precedence = 0  # SymPy's printer parenthesizes it inside anything

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    def _sympystr(self, printer):
        return f" {self.op} ".join(printer.parenthesize(a, 60) for a in self.args)

    def _latex_body(self, printer):
        symbol = {"&": r"\mathbin{\&}", "|": r"\mathbin{|}", "^": r"\oplus"}[self.op]
        return f" {symbol} ".join(printer._print(a) for a in self.args)

    @classmethod
    def lower(cls, ops, x, y):
        return ops.bits(cls.op, ops.word(x), ops.word(y))


class bit_and(bitwise):
    op = "&"
    numpy = staticmethod(lambda x, y: np.bitwise_and(np.asarray(x, np.int64), np.asarray(y, np.int64)))


class bit_or(bitwise):
    op = "|"
    numpy = staticmethod(lambda x, y: np.bitwise_or(np.asarray(x, np.int64), np.asarray(y, np.int64)))


class bit_xor(bitwise):
    op = "^"
    numpy = staticmethod(lambda x, y: np.bitwise_xor(np.asarray(x, np.int64), np.asarray(y, np.int64)))


class pow_log(NamedFunction):
    """x^y·log(x), and 0 where x = 0 and y ≥ 0 (the limit for y > 0): ∂(x^y)/∂y without 0·(−∞), as PyTorch
    (at x = 0 and y < 0 it is ∞·(−∞) = −∞)."""

    nargs = 2

    def _sympystr(self, printer):
        x, y = (printer._print(a) for a in self.args)
        return f"{x}^{y}·log({x})"

    def fdiff(self, argindex=1):
        x, y = self.args
        return y * pow_log(x, y - 1) + power(x, y - 1) if argindex == 1 else pow_log(x, y) * sp.log(x)

    @staticmethod
    def numpy(x, y):
        with np.errstate(all="ignore"):
            return np.where(np.equal(x, 0) & np.greater_equal(y, 0), 0.0, np.power(x, y) * np.log(x))

    @classmethod
    def lower(cls, ops, x, y):
        product = ops.mul(ops.power(x, y), ops.call("log", ops.value(x)))
        at_zero = ops.select(ops.compare(">=", y, sp.Integer(0)), ops.const(0.0), product)
        return ops.select(ops.compare("==", x, sp.Integer(0)), at_zero, product)


class Comparison(NamedFunction):
    """Iverson bracket [a ∘ b]: 1 where the comparison holds, else 0; it has no gradient."""

    nargs = 2
    value_kind = "condition"
    op = ""
    latex_op = ""
    #: the comparison as ``ScalarOps.compare`` names it
    code = ""

    def _sympystr(self, printer):
        a, b = (printer._print(x) for x in self.args)
        return f"[{a} {self.op} {b}]"

    def _latex_body(self, printer):
        a, b = (printer._print(x) for x in self.args)
        return rf"\left[{a} {self.latex_op} {b}\right]"

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @classmethod
    def predicate(cls, ops, a, b):
        return ops.compare(cls.code, a, b)


def _comparison(name: str, op: str, latex_op: str, code: str, ufunc) -> type[Comparison]:
    def numpy(a, b):
        return ufunc(a, b)

    return type(name, (Comparison,), {"op": op, "latex_op": latex_op, "code": code, "numpy": staticmethod(numpy)})


gt = _comparison("gt", ">", ">", ">", np.greater)
ge = _comparison("ge", "≥", r"\ge", ">=", np.greater_equal)
lt = _comparison("lt", "<", "<", "<", np.less)
le = _comparison("le", "≤", r"\le", "<=", np.less_equal)
ne = _comparison("ne", "≠", r"\ne", "!=", np.not_equal)


class eq(Comparison):
    """[a = b]: the one-hot of a label (``[c = Y[b]]``) and the tie mask of max."""

    op, latex_op, code = "=", "=", "=="

    @classmethod
    def eval(cls, a, b):
        if a == b and (a.is_integer or a.is_Number):  # an index or a number equals itself; a float may be NaN
            return sp.Integer(1)
        if a.is_Number and b.is_Number:
            return sp.Integer(0)
        return None

    @staticmethod
    def numpy(a, b):
        return np.equal(a, b)


class precedes(Comparison):
    """[a < b] in sort's order, where NaN comes after +inf (as PyTorch's sort): printed as the plain order."""

    op, latex_op, code = "<", "<", "<"

    @staticmethod
    def numpy(a, b):
        return np.less(a, b) | (np.isnan(b) & ~np.isnan(a))

    @classmethod
    def predicate(cls, ops, a, b):
        return ops.select(ops.compare("!=", b, b), ops.compare("==", a, a), ops.compare("<", a, b))


class equal_in_order(Comparison):
    """[a = b] in sort's order, where NaN equals NaN (so stable ranks stay a permutation)."""

    op, latex_op, code = "=", "=", "=="

    @staticmethod
    def numpy(a, b):
        return np.equal(a, b) | (np.isnan(a) & np.isnan(b))

    @classmethod
    def predicate(cls, ops, a, b):
        return ops.select(ops.compare("!=", a, a), ops.compare("!=", b, b), ops.compare("==", a, b))


class log1p(NamedFunction):
    """log(1 + x), accurate for small x."""

    def fdiff(self, argindex=1):
        return 1 / (1 + self.args[0])

    @staticmethod
    def numpy(x):
        return np.log1p(x)

    @classmethod
    def lower(cls, ops, x):
        return ops.call("log1p", ops.value(x))


# ---------------------------------------------------------------- trigonometric, hyperbolic and their inverses
# Each lowers to the kernels (atan's own, exp, expm1, log, log1p, sqrt, sin, cos) by a rewrite that keeps its
# accuracy, within 4 ulps of the C library's (tests/test_elementary_functions.py); ``kept`` holds a difference
# whole where SymPy would otherwise add its terms in another order and lose its digits.

class _Elementary(NamedFunction):
    """One of them: its NumPy function (the reference's), its derivative and its rewrite."""

    numpy_function: Callable

    @classmethod
    def numpy(cls, x):
        return cls.numpy_function(x)

    @classmethod
    def lower(cls, ops, x):
        return ops.value(cls.rewrite(x))

    @staticmethod
    def rewrite(x: sp.Expr) -> sp.Expr:
        raise NotImplementedError


def _odd(x: sp.Expr, magnitude: sp.Expr) -> sp.Expr:
    """An odd function from its value at |x|: x itself at ±0 (so −0 stays −0), NaN at NaN."""
    return where(eq(x, 0), x, sign(x) * magnitude)


def _large_exp_half(a: sp.Expr) -> sp.Expr:
    """eᵃ/2 for large a as e^(a/2)·(e^(a/2)/2): finite up to where eᵃ/2 is (eᵃ alone overflows first)."""
    return kept(sp.exp(a / 2)) * kept(sp.exp(a / 2) / 2)


class tan(_Elementary):
    latex_symbol = r"\tan"
    numpy_function = np.tan

    def fdiff(self, argindex=1):
        return 1 + tan(self.args[0]) ** 2

    @staticmethod
    def rewrite(x):
        return sp.sin(x) / sp.cos(x)


class atan(_Elementary):
    """Its own kernel (Cephes' reduction and fits)."""

    latex_symbol = r"\arctan"
    numpy_function = np.arctan

    def fdiff(self, argindex=1):
        return 1 / (1 + self.args[0] ** 2)

    @classmethod
    def lower(cls, ops, x):
        return ops.call("atan", ops.value(x))


class asin(_Elementary):
    latex_symbol = r"\arcsin"
    numpy_function = np.arcsin

    def fdiff(self, argindex=1):
        return 1 / sp.sqrt(1 - self.args[0] ** 2)

    @staticmethod
    def rewrite(x):
        """atan(x/√((1 − x)(1 + x))): ±inf at ±1 (atan: ±π/2), NaN beyond."""
        return atan(x / sp.sqrt(kept(1 - x) * (1 + x)))


class acos(_Elementary):
    latex_symbol = r"\arccos"
    numpy_function = np.arccos

    def fdiff(self, argindex=1):
        return -1 / sp.sqrt(1 - self.args[0] ** 2)

    @staticmethod
    def rewrite(x):
        """2·atan(√((1 − x)/(1 + x))): π at −1, 0 at 1, no cancellation near either."""
        return 2 * atan(sp.sqrt(kept(1 - x) / (1 + x)))


class sinh(_Elementary):
    latex_symbol = r"\sinh"
    numpy_function = np.sinh

    def fdiff(self, argindex=1):
        return cosh(self.args[0])

    @staticmethod
    def rewrite(x):
        """From expm1 (t = eᵃ − 1, sinh a = (t + t/(t + 1))/2, accurate near 0), or eᵃ/2 from 80 on."""
        a = sp.Abs(x)
        t = expm1(a)
        return _odd(x, where(lt(a, 80), (t + t / (t + 1)) / 2, _large_exp_half(a)))


class cosh(_Elementary):
    latex_symbol = r"\cosh"
    numpy_function = np.cosh

    def fdiff(self, argindex=1):
        return sinh(self.args[0])

    @staticmethod
    def rewrite(x):
        a = sp.Abs(x)
        return where(lt(a, 80), (sp.exp(a) + kept(sp.exp(-a))) / 2, _large_exp_half(a))


class asinh(_Elementary):
    numpy_function = np.arcsinh

    def fdiff(self, argindex=1):
        return 1 / sp.sqrt(self.args[0] ** 2 + 1)

    @staticmethod
    def rewrite(x):
        """log1p(a + a²/(1 + √(1 + a²))) (no cancellation near 0), log a + log 2 beyond 10⁸ (a² would overflow)."""
        a = sp.Abs(x)
        return _odd(x, where(lt(a, sp.Integer(10) ** 8), log1p(a + a**2 / (1 + sp.sqrt(1 + a**2))),
                             sp.log(a) + sp.log(2)))


class acosh(_Elementary):
    numpy_function = np.arccosh

    def fdiff(self, argindex=1):
        x = self.args[0]
        return 1 / (sp.sqrt(x - 1) * sp.sqrt(x + 1))

    @staticmethod
    def rewrite(x):
        """log1p((x − 1) + √((x − 1)(x + 1))): x − 1 is exact near 1; log x + log 2 beyond 10⁸; NaN below 1."""
        d = kept(x - 1)
        inside = where(lt(x, sp.Integer(10) ** 8), log1p(d + sp.sqrt(d * (x + 1))), sp.log(x) + sp.log(2))
        return where(lt(x, 1), not_a_number(), inside)


class atanh(_Elementary):
    numpy_function = np.arctanh

    def fdiff(self, argindex=1):
        return 1 / (1 - self.args[0] ** 2)

    @staticmethod
    def rewrite(x):
        """½·log1p(2a/(1 − a)) of a = |x|, signed: log1p's argument grows towards ±1, where a negative x's would
        near −1 and lose its digits."""
        a = sp.Abs(x)
        return _odd(x, log1p(2 * a / kept(1 - a)) / 2)


ELEMENTARY = (tan, atan, asin, acos, sinh, cosh, asinh, acosh, atanh)


_BCE_EPSILON = sp.Float(float(np.float32(1e-12)))  # PyTorch's EPSILON, a float constant even in double


class binary_cross_entropy(NamedFunction):
    """−(t·max(log p, −100) + (1 − t)·max(log(1 − p), −100)) with PyTorch's gradients, finite at p = 0 and 1:
    ∂/∂p = (p − t)/max((1 − p)·p, 10⁻¹²) and ∂/∂t = log(1 − p) − log p."""

    nargs = 2
    latex_symbol = r"\operatorname{BCE}"

    @staticmethod
    def _formula(p, t):
        return -(t * sp.Max(sp.log(p), -100) + (1 - t) * sp.Max(log1p(-p), -100))

    def fdiff(self, argindex=1):
        p, t = self.args
        if argindex == 1:
            return (p - t) / sp.Max((1 - p) * p, _BCE_EPSILON)
        return log1p(-p) - sp.log(p)

    @staticmethod
    def numpy(p, t):
        with np.errstate(divide="ignore"):
            return (t - 1) * np.maximum(np.log1p(-p), -100) - t * np.maximum(np.log(p), -100)

    @classmethod
    def lower(cls, ops, p, t):
        return ops.value(cls._formula(p, t))


_SQRT1_2 = 1 / math.sqrt(2)
_GELU_BETA, _GELU_KAPPA = math.sqrt(2 / math.pi), 0.044715
_KAPPA = sp.Float("0.044715")


def _erf_numpy(x):
    """erf for the reference (NumPy has none): the C library's, elementwise."""
    return np.vectorize(math.erf, otypes=[np.float64])(x)


class gelu(NamedFunction):
    """GELU, x·Φ(x) = x/2·(1 + erf(x/√2)), as PyTorch computes it (``approximate='none'``)."""

    latex_symbol = r"\operatorname{GELU}"

    def fdiff(self, argindex=1):
        x = self.args[0]
        return (1 + sp.erf(x / sp.sqrt(2))) / 2 + x * sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)

    @staticmethod
    def numpy(x):
        return 0.5 * x * (1 + _erf_numpy(x * _SQRT1_2))

    @classmethod
    def lower(cls, ops, x):
        v = ops.value(x)
        erf = ops.call("erf", ops.mul(v, ops.const(_SQRT1_2)))
        return ops.mul(ops.mul(v, ops.const(0.5)), ops.add(ops.const(1.0), erf))


class gelu_tanh(NamedFunction):
    """GELU's tanh form, x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (``approximate='tanh'``)."""

    latex_symbol = r"\operatorname{GELU}_{\tanh}"

    @staticmethod
    def _inner(x):
        return sp.sqrt(2 / sp.pi) * (x + _KAPPA * x**3)

    def fdiff(self, argindex=1):
        x = self.args[0]
        t = sp.tanh(self._inner(x))
        return (1 + t) / 2 + x / 2 * (1 - t**2) * sp.sqrt(2 / sp.pi) * (1 + 3 * _KAPPA * x**2)

    @staticmethod
    def numpy(x):
        return 0.5 * x * (1 + np.tanh(_GELU_BETA * (x + _GELU_KAPPA * x * x * x)))

    @classmethod
    def lower(cls, ops, x):
        v = ops.value(x)
        cube = ops.mul(ops.mul(v, v), v)
        inner = ops.mul(ops.const(_GELU_BETA), ops.add(v, ops.mul(ops.const(_GELU_KAPPA), cube)))
        return ops.mul(ops.mul(v, ops.const(0.5)), ops.add(ops.const(1.0), ops.call("tanh", inner)))


class where(NamedFunction):
    """``a`` where the condition ``c`` holds (≠ 0), else ``b``: a select, so the branch not taken never shows, not
    even as inf or NaN. Its derivative is the select of the branches' derivatives (a condition has none), so a
    branch that overflows where it is not taken (ELU's exponential at x = 10⁴) stays out of every order."""

    nargs = 3
    value_kind = "same"

    @classmethod
    def eval(cls, c, a, b):
        if a == b:
            return a
        if c.is_Number:
            return a if c != 0 else b
        return None

    def _eval_derivative(self, s):
        c, a, b = self.args
        return where(c, a.diff(s), b.diff(s))

    @staticmethod
    def numpy(c, a, b):
        return np.where(np.asarray(c) != 0, a, b)

    @classmethod
    def lower(cls, ops, c, a, b):
        holds = type(c).predicate(ops, *c.args) if getattr(type(c), "value_kind", None) == "condition" else \
            ops.compare("!=", c, sp.Integer(0))
        return ops.select(holds, ops.value(a), ops.value(b))


class expm1(NamedFunction):
    """eˣ − 1, accurate for small x."""

    def fdiff(self, argindex=1):
        return sp.exp(self.args[0])

    @staticmethod
    def numpy(x):
        return np.expm1(x)

    @classmethod
    def lower(cls, ops, x):
        return ops.call("expm1", ops.value(x))


def _erfc_numpy(x):
    return np.vectorize(math.erfc, otypes=[np.float64])(x)


def _erfinv_numpy(y):
    """erf⁻¹ for the reference, independent of the native kernel: Winitzki's closed form (relative error below
    2·10⁻³), then Newton steps on the C library's erf and erfc, each squaring the error down to their rounding."""
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        log = np.log1p(-y * y)
        a = 0.147
        c = 2 / (math.pi * a) + log / 2
        x = np.copysign(np.sqrt(np.sqrt(c * c - log / a) - c), y)
        for _ in range(4):  # the residual erf(x) − y through erfc near ±1, where 1 − |y| is exact
            tail = np.sign(y) * ((1 - np.abs(y)) - _erfc_numpy(np.abs(x)))
            residual = np.where(np.abs(y) < 0.5, _erf_numpy(x) - y, tail)
            x = x - residual / (2 / math.sqrt(math.pi) * np.exp(-x * x))
        edge = np.where(np.abs(y) == 1, np.copysign(np.inf, y), np.nan)
        return np.where(np.abs(y) < 1, x, edge)


class erfinv(NamedFunction):
    """erf⁻¹(y) on (−1, 1); ±∞ at ±1, NaN beyond."""

    latex_symbol = r"\operatorname{erf}^{-1}"

    def fdiff(self, argindex=1):
        return sp.sqrt(sp.pi) / 2 * sp.exp(self**2)

    @staticmethod
    def numpy(y):
        return _erfinv_numpy(y)

    @classmethod
    def lower(cls, ops, y):
        return ops.call("erfinv", ops.value(y))


class erfc(NamedFunction):
    """erfc(x) = 1 − erf(x) = 2/√π·∫ₓ^∞ exp(−t²) dt, its own kernel: erfc(10) ≈ 2.09·10⁻⁴⁵, where 1 − erf is 0."""

    latex_symbol = r"\operatorname{erfc}"

    def fdiff(self, argindex=1):
        return -2 / sp.sqrt(sp.pi) * sp.exp(-self.args[0] ** 2)

    @staticmethod
    def numpy(x):
        return _erfc_numpy(x)

    @classmethod
    def lower(cls, ops, x):
        return ops.call("erfc", ops.value(x))


# ---------------------------------------------------------------- the gamma family and modified Bessel functions
# Lowered by rewrites to the kernels (log, sin, cos, exp, rint), branch-free: recurrence steps taken or not by
# selects, then a fit or an asymptotic series. The NumPy reference evaluates the same rewrite; the kernels' accuracy
# is measured against mpmath and PyTorch in tests/test_special.py. Poles and infinities give PyTorch's values.

class as_float(kept):
    """Its argument as a float: an integer read converted before a rewrite's floors and selects see it."""

    value_kind = "float"


class _Rewritten(NamedFunction):
    """A function computed by its rewrite (``rewrite(*args)``, a SymPy expression of the kernels)."""

    @classmethod
    def rewrite(cls, *args: sp.Expr) -> sp.Expr:
        raise NotImplementedError

    @classmethod
    def lower(cls, ops, *args):
        return ops.value(cls.rewrite(*args[:-1], as_float(args[-1])))

    @classmethod
    def numpy(cls, *args):
        constants = tuple(int(a) for a in args[:-1])  # polygamma's order: a number, part of the formula
        with np.errstate(all="ignore"):
            return _lambdified(cls, constants)(np.asarray(args[-1]))


_LAMBDIFIED: dict = {}


def _lambdified(cls: type[_Rewritten], constants: tuple[int, ...]) -> Callable:
    key = (cls, constants)
    if key not in _LAMBDIFIED:
        x = sp.Symbol("x", real=True)
        _LAMBDIFIED[key] = sp.lambdify(x, cls.rewrite(*map(sp.Integer, constants), x),
                                       modules=[NUMPY_IMPLEMENTATIONS, "numpy"])
    return _LAMBDIFIED[key]


def _polynomial(t: sp.Expr, coefficients) -> sp.Expr:
    """Σ cₖ·tᵏ in Horner's form (lowest coefficient first), kept as written (SymPy would distribute a number)."""
    acc = sp.Float(coefficients[-1])
    for c in reversed(coefficients[:-1]):
        acc = acc * t + sp.Float(c)
    return acc


def _is_pole(x: sp.Expr) -> sp.Expr:
    """[x ≤ 0 and x an integer] (−∞ included)."""
    return le(x, 0) * eq(x, round_down(x))


def _sinc(r: sp.Expr) -> sp.Expr:
    """sin(πr)/(πr) for |r| ≤ ½, by its Taylor series near 0 (where sin(πr) may be subnormal)."""
    pr2 = (sp.pi * r) ** 2
    return where(lt(sp.Abs(r), sp.Rational(1, 10000)), 1 - pr2 / 6 + pr2**2 / 120,
                 sp.sin(sp.pi * r) / kept(sp.pi * r))


def _pi_reduced(x: sp.Expr) -> sp.Expr:
    """π·r for r = x − round(x), |r| ≤ ½ (exact): sin(πx) = ±sin(πr) and cot(πx) = cot(πr), without π·x's
    rounding, which loses x's low digits."""
    return sp.pi * kept(x - round_half_even(x))


#: lgamma(2 + p)/(p·(p + 1)) on −1 ≤ p ≤ 1 (least squares on Chebyshev nodes, mpmath; relative error 2·10⁻¹⁶)
LGAMMA_CORE = (
    0.42278433509846713, -0.10031730167435422, 0.032965000621156974, -0.012384192193334375,
    0.004998641164623283, -0.002108130835268435, 0.0009153769241238952, -0.00040570737581328186,
    0.00018255261441838105, -8.309532779844489e-05, 3.81690832831345e-05, -1.7660513220920708e-05,
    8.221205092155423e-06, -3.851745589307298e-06, 1.8114769634727658e-06, -8.415314379954077e-07,
    3.95720794275161e-07, -2.1198058876068515e-07, 1.0444285443279689e-07, -1.8782633004145104e-08,
    5.68873795385758e-09, -2.99246932704989e-08, 1.6327287432845006e-08, 7.63280367498139e-09,
    -4.358862409072515e-09, -3.0588517405592795e-09, 1.5818126337371086e-09,
)
#: Stirling's series: B₂ₖ/(2k(2k − 1)) for k = 1…5, enough from x = 13 on (the next term is below 10⁻¹⁵)
_STIRLING = [sp.bernoulli(2 * k) / (2 * k * (2 * k - 1)) for k in range(1, 6)]


class lgamma(_Rewritten):
    """log|Γ(x)|; +∞ at the poles (x = 0, −1, −2, …) and at ±∞, as PyTorch.

    x > 0: from 13 on Stirling's series; below, log Γ(2 + p) = p(p + 1)·core(p) for p = x − 2 on [1, 3), x − 1
    under 1 (less log x), frac(x) above 3 (plus the log of the recurrence's product (x − 1)…(x − k) of exact
    factors). x < 0: the reflection log|Γ(x)| = log π − log|x| − log|sin πx| − log Γ(−x)."""

    latex_symbol = r"\ln\Gamma"

    def fdiff(self, argindex=1):
        return polygamma(0, self.args[0])

    @classmethod
    def rewrite(cls, x):
        y = sp.Abs(x)
        shift = where(lt(y, 1), 1, where(lt(y, 3), 2, round_down(y)))
        p = kept(y - shift)
        core = p * kept(p + 1) * _polynomial(p, LGAMMA_CORE)
        product = sp.Mul(*(where(ge(y, k + 2), kept(y - k), 1) for k in range(1, 11)))
        small = core + where(lt(y, 1), -sp.log(y), sp.log(product))
        t = 1 / y
        series = t * _polynomial(t**2, _STIRLING)
        large = kept(y - sp.Rational(1, 2)) * kept(sp.log(y) - 1) + (sp.log(2 * sp.pi) - 1) / 2 + series
        positive = where(lt(y, 13), small, large)
        r = kept(x - round_half_even(x))
        reflected = -sp.log(y) - sp.log(sp.Abs(r)) - sp.log(_sinc(r)) - positive
        return where(_is_pole(x), sp.oo, where(lt(x, 0), reflected, positive))


#: the shifts of polygamma's recurrence: up to z ≥ 10 + 2n, where the asymptotic series (its first 8 Bernoulli
#: terms) is exact to rounding
_PSI_SHIFT, _PSI_TERMS = 10, 8


class polygamma(_Rewritten):
    """ψ⁽ⁿ⁾(x), the n-th derivative of digamma ψ = Γ′/Γ (n = 0: digamma); values at the poles as PyTorch's.

    ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(z) − (−1)ⁿ·n!·Σₖ 1/(x + k)ⁿ⁺¹ over the k with x + k < Z (z = x + their count ≥ Z), and ψ⁽ⁿ⁾(z)
    the n-th derivative of the asymptotic ψ(z) ~ log z − 1/(2z) − Σ B₂ₖ/(2k·z²ᵏ). x < 0: the reflection
    ψ⁽ⁿ⁾(x) = (−1)ⁿ·ψ⁽ⁿ⁾(1 − x) − π·dⁿ/dxⁿ cot(πx), the cot's derivative a polynomial in cot(πr) (r = x − round x)."""

    nargs = 2

    def _sympystr(self, printer):
        n, x = self.args
        return f"ψ({printer._print(x)})" if n == 0 else f"ψ^({n})({printer._print(x)})"

    def _latex_body(self, printer):
        n, x = self.args
        order = "" if n == 0 else f"^{{({n})}}"
        return rf"\psi{order}\left({printer._print(x)}\right)"

    def fdiff(self, argindex=2):
        n, x = self.args
        return polygamma(n + 1, x) if argindex == 2 else sp.Integer(0)

    @classmethod
    def rewrite(cls, n, x):
        n = int(n)
        positive = _psi_positive(n, where(lt(x, 0), kept(1 - x), x))
        c = sp.Dummy("c")
        cot_derivative = c
        for _ in range(n):
            cot_derivative = sp.expand(-(1 + c**2) * sp.diff(cot_derivative, c))
        r = _pi_reduced(x)
        cot = sp.cos(r) / sp.sin(r)
        reflected = (-1) ** n * positive - sp.pi ** (n + 1) * cot_derivative.subs(c, cot)
        value = where(lt(x, 0), reflected, positive)
        if n == 0:  # PyTorch: ∓inf at ±0 (as -1/x gives), NaN at the negative poles
            return where(lt(x, 0) * _is_pole(x), not_a_number(), value)
        if n == 1:  # PyTorch's reflection π²/sin²(πx) unreduced: finite at the negative poles, +inf at 0
            return where(_is_pole(x), sp.pi**2 / sp.sin(sp.pi * x) ** 2, value)
        pole = sp.oo if n % 2 else -sp.oo  # PyTorch's Hurwitz ζ: ±inf at the poles (−∞ one), NaN at +∞
        return where(eq(x, sp.oo), not_a_number(), where(_is_pole(x), pole, value))


def _psi_positive(n: int, y: sp.Expr) -> sp.Expr:
    """ψ⁽ⁿ⁾(y) for y ≥ 0 (−0 included): the recurrence up to Z, then the asymptotic series."""
    bound = _PSI_SHIFT + 2 * n
    sign_factorial = (-1) ** (n + 1) * math.factorial(n)
    steps = [lt(y + k, bound) for k in range(bound)]
    recurrence = sum((where(step, kept(y + k) ** -(n + 1), 0) for k, step in enumerate(steps)), sp.Integer(0))
    z = sp.Symbol("z", positive=True)
    series = sp.log(z) - 1 / (2 * z) - sum(sp.bernoulli(2 * k) / (2 * k) * z ** (-2 * k)
                                           for k in range(1, _PSI_TERMS + 1))
    count = sum((where(step, 1, 0) for step in steps), sp.Integer(0))  # (NumPy's sum of bools would be an or)
    return sign_factorial * recurrence + sp.diff(series, z, n).subs(z, kept(y + count))


_BESSEL_SERIES, _BESSEL_ASYMPTOTIC, _BESSEL_SPLIT = 42, 22, 20


def _bessel_i(order: int, x: sp.Expr) -> sp.Expr:
    """Iᵥ(|x|) for v = 0 or 1: below 20 its power series (|x|/2)ᵛ·Σ (x²/4)ᵏ/(k!·(k + v)!), all terms positive;
    from 20 on Hankel's e^a/√(2πa)·Σ (−1)ᵏ·aₖ(v)/aᵏ (+inf where e^a overflows, as PyTorch's)."""
    a = sp.Abs(x)
    q = a**2 / 4
    series = _polynomial(q, [1 / (math.factorial(k) * math.factorial(k + order)) for k in range(_BESSEL_SERIES)])
    if order:
        series = a / 2 * series
    mu, terms, term = 4 * order**2, [], sp.Integer(1)
    for k in range(_BESSEL_ASYMPTOTIC):
        terms.append(float(term))
        term = -term * (mu - (2 * k + 1) ** 2) / ((k + 1) * 8)
    hankel = sp.exp(a) * kept(_polynomial(1 / a, terms) / sp.sqrt(2 * sp.pi * a))  # inf from e^a's overflow on
    return where(eq(a, sp.oo), not_a_number(), where(lt(a, _BESSEL_SPLIT), series, hankel))


class i0(_Rewritten):
    """The modified Bessel function I₀(x) = Σ (x²/4)ᵏ/(k!)²; NaN at ±∞, as PyTorch."""

    latex_symbol = r"I_0"

    def fdiff(self, argindex=1):
        return i1(self.args[0])

    @classmethod
    def rewrite(cls, x):
        return _bessel_i(0, x)


class i1(_Rewritten):
    """I₁(x) = (x/2)·Σ (x²/4)ᵏ/(k!·(k + 1)!), odd; its derivative I₀(x) − I₁(x)/x is ½ at 0 (PyTorch's)."""

    latex_symbol = r"I_1"

    def fdiff(self, argindex=1):
        x = self.args[0]
        return where(eq(x, 0), sp.Rational(1, 2), i0(x) - i1(x) / x)

    @classmethod
    def rewrite(cls, x):
        return _odd(x, _bessel_i(1, x))


class Rounding(NamedFunction):
    """A float rounded to an integral float (its kind kept: integers pass through); no gradient, as PyTorch's
    rounding functions."""

    value_kind = "same"
    kernel = ""
    shown = latex_shown = ("", "")

    def _sympystr(self, printer):
        left, right = self.shown
        return f"{left}{printer._print(self.args[0])}{right}"

    def _latex_body(self, printer):
        left, right = self.latex_shown
        return rf"{left}{printer._print(self.args[0])}{right}"

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @classmethod
    def lower(cls, ops, x):
        return ops.call(cls.kernel, ops.value(x))


def _rounding(name: str, kernel: str, ufunc, shown: tuple[str, str], latex_shown: tuple[str, str]) -> type[Rounding]:
    def numpy(x):
        return ufunc(x)

    return type(name, (Rounding,), {"kernel": kernel, "shown": shown, "latex_shown": latex_shown,
                                    "numpy": staticmethod(numpy)})


round_down = _rounding("round_down", "floor", np.floor, ("⌊", "⌋"), (r"\left\lfloor ", r"\right\rfloor"))
round_up = _rounding("round_up", "ceil", np.ceil, ("⌈", "⌉"), (r"\left\lceil ", r"\right\rceil"))
round_toward_zero = _rounding("round_toward_zero", "trunc", np.trunc, ("trunc(", ")"),
                              (r"\operatorname{trunc}\left(", r"\right)"))
round_half_even = _rounding("round_half_even", "round", np.round, ("round(", ")"),
                            (r"\operatorname{round}\left(", r"\right)"))


class nan_to_num(NamedFunction):
    """x with NaN, +∞ and −∞ replaced; the gradient passes where x is finite (PyTorch's rule)."""

    nargs = 4

    def fdiff(self, argindex=1):
        return lt(sp.Abs(self.args[0]), sp.oo) if argindex == 1 else sp.Integer(0)

    @staticmethod
    def numpy(x, nan, posinf, neginf):
        return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)

    @classmethod
    def lower(cls, ops, x, nan, posinf, neginf):
        v = ops.select(ops.compare("==", x, sp.oo), ops.value(posinf), ops.value(x))
        v = ops.select(ops.compare("==", x, -sp.oo), ops.value(neginf), v)
        return ops.select(ops.compare("!=", x, x), ops.value(nan), v)


class Extremum(NamedFunction):
    """The larger (``keep`` ">") or smaller of two values. NaN wins in maximum/minimum; in fmax/fmin
    (``ignores_nan``) a number beats NaN. Gradients as PyTorch: maximum splits a tie ½/½ and sends NaN's gradient
    to both operands; fmax sends a tie (and a NaN second operand) to the first."""

    nargs = 2
    value_kind = "same"
    keep = ">"
    ignores_nan = False

    def fdiff(self, argindex=1):
        a, b = self.args
        strict, loose = (gt, ge) if self.keep == ">" else (lt, le)
        if self.ignores_nan:
            first = loose(a, b) + ne(b, b)
            return first if argindex == 1 else 1 - first
        if argindex == 2:
            a, b = b, a
        return 1 - strict(b, a) - eq(a, b) / 2

    @classmethod
    def lower(cls, ops, a, b):
        if cls.ignores_nan:
            return ops.select(ops.compare("!=", b, b), ops.value(a),
                              ops.select(ops.compare(cls.keep + "=", a, b), ops.value(a), ops.value(b)))
        return ops.select(ops.compare("!=", a, a), ops.value(a),
                          ops.select(ops.compare(cls.keep, a, b), ops.value(a), ops.value(b)))


def _extremum(name: str, keep: str, ignores_nan: bool, ufunc) -> type[Extremum]:
    def numpy(a, b):
        return ufunc(a, b)

    return type(name, (Extremum,), {"keep": keep, "ignores_nan": ignores_nan, "numpy": staticmethod(numpy)})


maximum = _extremum("maximum", ">", False, np.maximum)
minimum = _extremum("minimum", "<", False, np.minimum)
fmax = _extremum("fmax", ">", True, np.fmax)
fmin = _extremum("fmin", "<", True, np.fmin)


class floor_divide(NamedFunction):
    """⌊a/b⌋ of floats as Python and PyTorch compute it (from fmod, so 7 // 0.7 is 9, not 10). No gradient:
    PyTorch has none either (it raises; ``div(rounding_mode="floor")`` gives zeros)."""

    nargs = 2

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @staticmethod
    def numpy(a, b):
        return np.floor_divide(a, b)

    @classmethod
    def lower(cls, ops, a, b):
        return ops.call("floor_divide", ops.value(a), ops.value(b))


class remainder(NamedFunction):
    """a − b·⌊a/b⌋ with the sign of b (Python's ``%``), computed from fmod as PyTorch does."""

    nargs = 2
    symbol = "mod"

    def fdiff(self, argindex=1):
        a, b = self.args
        return sp.Integer(1) if argindex == 1 else -floor_divide(a, b)

    @staticmethod
    def numpy(a, b):
        return np.remainder(a, b)

    @classmethod
    def lower(cls, ops, a, b):
        return ops.call("remainder", ops.value(a), ops.value(b))


class logit(NamedFunction):
    """log(p/(1 − p)), the inverse of σ."""

    def fdiff(self, argindex=1):
        p = self.args[0]
        return 1 / (p * (1 - p))

    @staticmethod
    def numpy(p):
        with np.errstate(divide="ignore"):
            return np.log(p / (1 - p))

    @classmethod
    def lower(cls, ops, p):
        return ops.value(sp.log(p / (1 - p)))


NAMED_FUNCTIONS: tuple[type[NamedFunction], ...] = (
    sigmoid, softplus, softplus_slope, step, relu, leaky_relu, clamp, between, divides, guarded, sign, stop_gradient,
    trunc, power, pow_log, int_power, bit_and, bit_or, bit_xor, divisor, kept, gt, ge, lt, le, ne, eq, precedes,
    equal_in_order, log1p, binary_cross_entropy, gelu, gelu_tanh, where, expm1, erfinv, round_down, round_up,
    round_toward_zero, round_half_even, nan_to_num, maximum, minimum, fmax, fmin, floor_divide, remainder, logit,
    not_a_number, negative_zero, *ELEMENTARY, erfc, lgamma, polygamma, i0, i1,
)

#: What the NumPy reference evaluator calls for each named function, and for SymPy's functions NumPy lacks.
NUMPY_IMPLEMENTATIONS = {f.__name__: f.numpy for f in NAMED_FUNCTIONS} | {"erf": _erf_numpy}
