"""Named scalar functions: each carries its derivative rule (``fdiff``), its stable NumPy evaluation and
its printed form, so formulas read ``σ(x)·(1 - σ(x))`` and generated code never overflows.

The derivative rules follow PyTorch at the kinks: relu'(0) = 0, leaky_relu'(0) = negative_slope,
clamp' = 1 on the closed interval.
"""

from __future__ import annotations

import numpy as np
import sympy as sp


class NamedFunction(sp.Function):
    """A SymPy function with a printed symbol; each subclass defines ``numpy``, its stable NumPy evaluation."""

    symbol: str = ""
    latex_symbol: str = ""

    def _sympystr(self, printer):
        return f"{self.symbol or type(self).__name__}({', '.join(printer._print(a) for a in self.args)})"

    def _latex(self, printer):
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
        if argindex != 1:
            return sp.Integer(0)
        return sigmoid(self._beta() * self.args[0])

    @staticmethod
    def numpy(x, beta=1.0, threshold=20.0):
        bx = beta * x
        stable = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta
        return np.where(bx > threshold, x, stable)


class step(NamedFunction):
    """The derivative of relu: 1 for x > 0, else 0 (step(0) = 0, unlike SymPy's Heaviside(0) = 1/2)."""

    latex_symbol = r"\theta"

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @staticmethod
    def numpy(x):
        return (x > 0).astype(np.result_type(x, np.float32))


class relu(NamedFunction):
    """max(x, 0) with relu'(0) = 0."""

    latex_symbol = r"\operatorname{relu}"

    def fdiff(self, argindex=1):
        return step(self.args[0])

    @staticmethod
    def numpy(x):
        return np.where(x > 0, x, np.zeros_like(x))


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


class clamp(NamedFunction):
    """min(max(x, lo), hi); the gradient passes where lo ≤ x ≤ hi (both ends included, as in PyTorch)."""

    nargs = 3

    def fdiff(self, argindex=1):
        x, lo, hi = self.args
        return between(x, lo, hi) if argindex == 1 else sp.Integer(0)

    @staticmethod
    def numpy(x, lo, hi):
        return np.minimum(np.maximum(x, lo), hi)


class between(NamedFunction):
    """Indicator [lo ≤ x ≤ hi]: the derivative of clamp."""

    nargs = 3

    def _sympystr(self, printer):
        x, lo, hi = (printer._print(a) for a in self.args)
        return f"[{lo} ≤ {x} ≤ {hi}]"

    def _latex(self, printer):
        x, lo, hi = (printer._print(a) for a in self.args)
        return rf"\left[{lo} \le {x} \le {hi}\right]"

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @staticmethod
    def numpy(x, lo, hi):
        return ((x >= lo) & (x <= hi)).astype(np.result_type(x, np.float32))


class stop_gradient(NamedFunction):
    """The identity whose derivative is 0: the max shift of softmax and log_softmax (it cancels exactly)."""

    symbol, latex_symbol = "sg", r"\operatorname{sg}"

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @staticmethod
    def numpy(x):
        return x


class power(NamedFunction):
    """x^y for a tensor exponent; its rule keeps both partials finite at x = 0, as PyTorch does."""

    nargs = 2

    def _sympystr(self, printer):
        x, y = (printer.parenthesize(a, 60) for a in self.args)
        return f"{x}**{y}"

    def _latex(self, printer):
        x, y = (printer._print(a) for a in self.args)
        return f"{{{x}}}^{{{y}}}"

    def fdiff(self, argindex=1):
        x, y = self.args
        return y * power(x, y - 1) if argindex == 1 else pow_log(x, y)

    @staticmethod
    def numpy(x, y):
        return np.power(x, y)


class pow_log(NamedFunction):
    """x^y·log(x), and 0 where x = 0 (the limit for y > 0): ∂(x^y)/∂y without 0·(−∞)."""

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
            return np.where(np.equal(x, 0), 0.0, np.power(x, y) * np.log(np.where(np.equal(x, 0), 1.0, x)))


class Comparison(NamedFunction):
    """Iverson bracket [a ∘ b]: 1 where the comparison holds, else 0; it has no gradient."""

    nargs = 2
    op = ""
    latex_op = ""

    def _sympystr(self, printer):
        a, b = (printer._print(x) for x in self.args)
        return f"[{a} {self.op} {b}]"

    def _latex(self, printer):
        a, b = (printer._print(x) for x in self.args)
        return rf"\left[{a} {self.latex_op} {b}\right]"

    def fdiff(self, argindex=1):
        return sp.Integer(0)


def _comparison(name: str, op: str, latex_op: str, ufunc) -> type[Comparison]:
    def numpy(a, b):
        return ufunc(a, b)

    return type(name, (Comparison,), {"op": op, "latex_op": latex_op, "numpy": staticmethod(numpy)})


gt = _comparison("gt", ">", ">", np.greater)
ge = _comparison("ge", "≥", r"\ge", np.greater_equal)
lt = _comparison("lt", "<", "<", np.less)
le = _comparison("le", "≤", r"\le", np.less_equal)
ne = _comparison("ne", "≠", r"\ne", np.not_equal)


class eq(Comparison):
    """[a = b]: the one-hot of a label (``[c = Y[b]]``) and the tie mask of max."""

    op, latex_op = "=", "="

    @classmethod
    def eval(cls, a, b):
        if a == b:
            return sp.Integer(1)
        if a.is_Number and b.is_Number:
            return sp.Integer(0)
        return None

    @staticmethod
    def numpy(a, b):
        return np.equal(a, b)


NAMED_FUNCTIONS: tuple[type[NamedFunction], ...] = (
    sigmoid, softplus, step, relu, leaky_relu, clamp, between, stop_gradient, power, pow_log, gt, ge, lt, le, ne, eq,
)

#: What the NumPy reference evaluator calls for each named function (the lowering table).
NUMPY_IMPLEMENTATIONS = {f.__name__: f.numpy for f in NAMED_FUNCTIONS}
