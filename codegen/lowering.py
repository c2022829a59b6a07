"""Lowering decisions shared by a kernel's two backends: the LLVM emitter (``emit``) and the C printer (``c_source``).

What a value is decided once, here: a product as a numerator divided by each denominator, integer powers by
squaring, the case analysis of integer expressions, NaN rules of max/min and of max/argmax reductions, PyTorch's
pooling scan, where reads are clamped or checked. A backend supplies the small builder interface these call —
constants, arithmetic, comparisons, selects, reads and writes — as llvmlite instructions or as C expressions, and
keeps a hook where the two genuinely differ (intrinsics and fast-math flags against C library calls, index algebra
printed for people to read).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from symnet.core.ir import (
    Tensor,
    arithmetic_precision,
    is_guard,
    is_integer_valued,
    is_tensor_symbol,
    zero_unless_guarded,
)
from symnet.core.lazy import sympy as sp
from symnet.errors import LoweringError

from .loops import Kernel, Reduce, StatementWalker, Store

Value = Any  # a backend's own value: an llvmlite value or a C expression node


@dataclass
class Accumulator:
    """A reduction's register state: its value, its position (argmax) and whether the scan has started
    (PyTorch's pooling scan), each a backend value (a stack slot or a C local)."""

    reduction: Reduce
    value: Value
    integer: bool
    position: Value | None = None
    started: Value | None = None
    #: a float sum's power-of-two factor, applied once after the loops (Σ 2·r·x is 2·Σ r·x exactly), and what
    #: the loops add up then (None: the reduction's own value)
    scale: float = 1.0
    summand: sp.Expr | None = None


class Lowering(StatementWalker):
    """A kernel's statements and values as both backends lower them. Subclasses implement the builder methods
    (``const``, ``int_const``, ``add``, ``mul``, ``div``, ``neg``, ``select``, ``fcmp``, ``icmp``, ``either``,
    ``both``, ``is_nan``, ``from_int``, ``to_float``, ``load``…) and the hooks named where they are used."""

    def __init__(self, kernel: Kernel, tensors: dict[str, Tensor]):
        self.kernel, self.tensors = kernel, tensors
        d = kernel.definition
        self.buffers = [w.name for w in kernel.writes] + list(kernel.reads)
        self.dtypes = {name: t.dtype for name, t in tensors.items()}
        #: the precision of the kernel's float arithmetic
        self.float_dtype = arithmetic_precision(d.dtype, [(tensors[n].dtype, tensors[n].shape) for n in kernel.reads])
        self.memo: dict[tuple, Value] = {}
        self.clamping = False  # inside a guard: reads are clamped into their tensors
        #: each loop variable's extent: a variable may index a smaller tensor where a guard holds (a cat's part)
        self.extents = {s: sp.sympify(n) for s, n in d.domain}

    # ---------------------------------------------------------------- memory
    @contextlib.contextmanager
    def clamped_reads(self):
        """Inside a guard: every computed index is clamped into its dimension (values computed here are kept
        apart from the unclamped ones)."""
        outer = self.clamping
        self.clamping = True
        try:
            yield
        finally:
            self.clamping = outer

    def index(self, name: str, pos: int, i: sp.Expr) -> Value:
        """One index of a read or write: a data-dependent one checked against its dimension; inside a guard, a
        computed one clamped into it, and a loop variable too unless its extent fits (``cat``'s part i < n of a
        loop over n + m reads its tensor of n only where the guard holds: unclamped, the other lanes read past
        its end, and a read through the value found there reported a bad index no result used)."""
        i = sp.sympify(i)
        value = self.int_value(i)
        if i.atoms(sp.Indexed) or is_tensor_symbol(i):
            return self.bounds_check(name, pos, i, value)
        dim = sp.sympify(self.tensors[name].shape[pos])
        if self.clamping and not i.is_Integer and not self._fits(i, dim):
            return self.clamp(value, dim)
        return value

    def _fits(self, i: sp.Expr, dim: sp.Expr) -> bool:
        """Whether ``i`` is a loop variable whose every value indexes a dim of ``dim``."""
        extent = self.extents.get(i)
        if extent is None:
            return False
        return extent == dim or bool(extent.is_Integer and dim.is_Integer and extent <= dim)

    def read(self, e: sp.Expr) -> tuple[Value, np.dtype]:
        name = str(e.base.label) if isinstance(e, sp.Indexed) else e.name
        return self.load(name, e.indices if isinstance(e, sp.Indexed) else ()), self.tensors[name].dtype

    def store(self, s: Store) -> None:
        value = self.typed_value(s.value)
        if s.accumulate and zero_unless_guarded(s.value):
            with self.clamped_reads():  # a scatter of a guarded value: past the tensor only where it adds 0
                at = self.address(s.buffer, s.index)
        else:
            at = self.address(s.buffer, s.index)
        if s.accumulate:
            self.accumulate(s.buffer, at, value)
        else:
            self.put(s.buffer, at, value)

    # ---------------------------------------------------------------- reductions
    def reduce(self, *reductions: Reduce) -> None:
        """Register accumulators over shared loops (one per fused sibling), stored after the loops."""
        accumulators = []
        for s in reductions:
            integer = self.is_int(s.value)
            if s.op in ("sum", "prod"):
                start = self.int_const(int(s.op == "prod")) if integer else self.const(float(s.op == "prod"))
            else:
                start = self.int_const(-(2**63)) if integer else self.const(float("-inf"))
            scan = s.ties == "window" and s.op != "sum"  # max and argmax in PyTorch's pooling order
            accumulators.append(self.accumulator(s, integer, start, scan, len(reductions) > 1))
            if s.op == "sum" and not integer:
                accumulators[-1].scale, accumulators[-1].summand = power_of_two_factor(s.value)
        self.reduce_loops(reductions[0].loops, accumulators)
        for a in accumulators:
            s = a.reduction
            if a.position is not None:
                result = self.current(a.position)
            else:
                result = self.current(a.value)
                if a.scale != 1.0:
                    result = self.mul(self.const(a.scale), result)
                result = self.convert(result, "i" if a.integer else "f", self.tensors[s.buffer].dtype)
            self.put(s.buffer, self.address(s.buffer, s.index), result)

    def reduce_loops(self, loops, accumulators: list[Accumulator]) -> None:
        if loops:
            with self.loop(loops[0].var, loops[0].extent):
                self.reduce_loops(loops[0].body, accumulators)
            return
        for a in accumulators:
            s = a.reduction
            if a.started is not None:
                self.window_step(a)
                continue
            if a.integer:
                v = self.int_value(s.value)
            else:
                v = self.float_value(s.value if a.summand is None else a.summand)
            current = self.current(a.value)
            if s.op in ("sum", "prod"):
                self.combine(a, s.op, current, v)
                continue
            if a.integer:
                better = self.icmp(">", v, current)
            else:  # a greater value or a NaN, unless the accumulator holds a NaN already
                better = self.both(self.either(self.fcmp(">", v, current), self.is_nan(v)), self.not_nan(current))
            self.take(a, better, current, v)

    def window_step(self, a: Accumulator) -> None:
        """PyTorch's pooling scan: the first position inside the window's guard is taken, a later one if greater
        or NaN (so the last NaN); positions outside the guard never."""
        value, holds = a.reduction.value, self.always()
        if is_guard(value):
            value, _, *conditions = value.args
            for c in conditions:
                holds = self.conjoin(holds, type(c).predicate(self, *c.args))
        with self.clamped_reads():
            v = self.int_value(value) if a.integer else self.float_value(value)
        current = self.current(a.value)
        if a.integer:
            wins = self.icmp(">", v, current)
        else:
            wins = self.either(self.fcmp(">", v, current), self.is_nan(v))
        take = self.conjoin(holds, self.either(self.negate(self.current(a.started)), wins))
        self.take_window(a, take, holds, current, v)

    # ---------------------------------------------------------------- values
    def is_int(self, e: sp.Expr) -> bool:
        return is_integer_valued(e, self.dtypes)

    def typed_value(self, e: sp.Expr) -> Value:
        """The body's value in the storage type of the definition."""
        dtype = self.kernel.definition.dtype
        if dtype.kind == "b":
            return self.to_byte(self.bool_value(e))
        if dtype.kind == "i":
            return self.int_value(e)
        return self.float_value(e)

    def convert(self, v: Value, kind: str, dtype: np.dtype) -> Value:
        """A value in ``dtype``'s storage: integers to floats and between floats; never a float to an integer
        (that is an explicit ``trunc`` in the IR)."""
        if kind == "f" and dtype.kind != "f":
            raise LoweringError(f"codegen: a float value stored as {dtype} in {self.kernel.definition.name}")
        return self.as_float(v, kind, dtype) if dtype.kind == "f" else v

    def bool_value(self, e: sp.Expr) -> Value:
        """A condition: an element function's ``predicate`` (comparisons, brackets), else ``e ≠ 0``."""
        if getattr(type(e), "value_kind", None) == "condition":
            return type(e).predicate(self, *e.args)
        if self.is_int(e):
            return self.icmp("!=", self.int_value(e), self.int_const(0))
        return self.fcmp("!=", self.float_value(e), self.const(0.0))

    def float_value(self, e: sp.Expr) -> Value:
        key = ("f", e, self.clamping)
        if key not in self.memo:
            self.memo[key] = self._float_value(e)
        return self.memo[key]

    def _float_value(self, e: sp.Expr) -> Value:
        if e.is_number:  # numbers and constant expressions (√2, π, ∞); named functions of constants lower below
            with contextlib.suppress(TypeError):
                return self.const(float(e))
        if isinstance(e, sp.Indexed) or is_tensor_symbol(e):
            raw, dtype = self.read(e)
            if dtype.kind == "b":
                return self.to_float(raw)
            return self.convert(raw, "i" if dtype.kind == "i" else "f", self.float_dtype)
        if isinstance(e, sp.Symbol):
            return self.from_int(self.int_value(e))
        if isinstance(e, sp.Add):
            content, primitive = e.primitive()
            if _is_power_of_two(content) and ("f", primitive, self.clamping) in self.memo:
                # 2a + 2b·x − 2y as 2·(a + b·x − y) when the kernel has the bracket already (a gradient's residual,
                # shared with the loss); only then, as contracting into FMAs rounds the two forms differently
                return self.mul(self.const(float(content)), self.float_value(primitive))
            nested = horner_form(e, self.is_data)
            if nested is not None:
                return self.float_value(nested)
            v = self.float_value(e.args[0])
            for a in e.args[1:]:
                v = self.add(v, self.float_value(a))
            return v
        if isinstance(e, sp.Mul):
            return self.float_product(e)
        if isinstance(e, sp.Pow):
            return self.power(e.base, e.exp)
        if getattr(type(e), "value_kind", None) == "integer":
            return self.from_int(self.int_value(e))
        primitive = PRIMITIVES.get(type(e))
        if primitive is not None:
            return primitive(self, *e.args)
        if getattr(type(e), "lower", None) is not None and isinstance(e, sp.Function):
            return self.named_function(e)  # the IR's named functions carry their own lowering
        raise self.no_lowering(e)

    def is_data(self, e: sp.Expr) -> bool:
        """A read of a tensor sized by the batch or of 64 elements or more: arithmetic on it runs per element of
        data, where rewriting it (``horner_form``, a chain of powers) pays. A handful of parameters keep the
        operations as derived, whose rounding PyTorch's trajectories are checked against."""
        if not _is_read(e):
            return False
        shape = self.tensors[str(e.base.label) if isinstance(e, sp.Indexed) else e.name].shape
        size = sp.Mul(*shape)
        return not size.is_Integer or int(size) >= 64

    def named_function(self, e: sp.Function) -> Value:
        return type(e).lower(self, *e.args)

    def float_product(self, e: sp.Mul) -> Value:
        """A numerator multiplied left to right, then divided by each denominator (x/3 is a division, as
        PyTorch's: x·0.333… rounds twice); s·vᵏ as (s·vᵏ⁻¹)·v when the kernel has s·vᵏ⁻¹ already (a polynomial
        fit's gradients r·x, r·x², … as a chain of multiplies, with no power of x)."""
        for f in e.args:
            if isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp >= 2 and self.is_data(f.base):
                lower = ("f", e / f.base, self.clamping)
                if lower in self.memo:
                    return self.mul(self.memo[lower], self.float_value(f.base))
        num, den = [], []
        for a in e.args:
            if isinstance(a, sp.Pow) and a.exp.is_Integer and a.exp < 0:
                den.append(sp.Pow(a.base, -a.exp))
            elif a.is_Rational and a.q != 1:
                num.append(sp.Integer(a.p))
                den.append(sp.Integer(a.q))
            else:
                num.append(a)
        num = [a for a in num if a != 1] if len(num) > 1 else num
        if num and num[0] == -1 and num[1:] and self.is_int(sp.Mul(*num[1:])):
            v = self.from_int(self.int_value(sp.Mul(*num)))  # −n of an integer: +0.0 at 0, as PyTorch
        elif num and num[0] == -1:
            v = self.neg(self.float_value(sp.Mul(*num[1:]))) if num[1:] else self.const(-1.0)
        else:
            v = self.float_value(num[0]) if num else self.const(1.0)
            for a in num[1:]:
                v = self.mul(v, self.float_value(a))
        for a in den:
            v = self.div(v, self.float_value(a))
        return v

    def power(self, base: sp.Expr, exp: sp.Expr) -> Value:
        """Integer exponents by squaring (1/x^n for negative ones), square roots, else ``general_power``."""
        x = self.float_value(base)
        if exp.is_Integer and abs(int(exp)) <= 64:
            n = abs(int(exp))
            result, square = None, x
            while n:
                if n & 1:
                    result = square if result is None else self.mul(result, square)
                n >>= 1
                if n:
                    square = self.mul(square, square)
            result = result if result is not None else self.const(1.0)
            return self.div(self.const(1.0), result) if exp < 0 else result
        if base == 2:  # 2ˣ by its own kernel: e^(x·ln 2) would carry x·ln 2's rounding error times x
            return self.call("exp2", self.float_value(exp))
        if exp == sp.Rational(1, 2):
            return self.sqrt(x)
        if exp == sp.Rational(-1, 2):
            return self.reciprocal_sqrt(x)
        if exp.is_Rational and exp.q == 2 and abs(exp.p) <= 9:
            # x^(n + ½) as xⁿ·√x (x^-(n + ½) as its reciprocal), n ≤ 4: at most 3 ulps, where e^(y·log x) carries
            # y·log x's rounding error times y·log x (17 ulps at x^2.5 with x near 10). |x|ⁿ and √(x + 0) (−0 + 0 is
            # +0) leave −0 no sign for the reciprocal: C's pow(−0, −1.5) is +inf.
            # C's pow(−inf, y) is +inf (y > 0) or +0, where the root would give NaN.
            root = self.sqrt(self.add(x, self.const(0.0)))
            magnitude = self.mul(self.power(sp.Abs(base), sp.Integer(abs(exp.p) // 2)), root)
            result = self.div(self.const(1.0), magnitude) if exp < 0 else magnitude
            at_minus_inf = self.fcmp("==", x, self.const(float("-inf")))
            return self.select(at_minus_inf, self.const(0.0 if exp < 0 else float("inf")), result)
        return self.general_power(x, self.float_value(exp))

    def int_value(self, e: sp.Expr) -> Value:
        key = ("i", e, self.clamping and self.clamp_sensitive(e))
        if key not in self.memo:
            self.memo[key] = self._int_value(e)
        return self.memo[key]

    def clamp_sensitive(self, e: sp.Expr) -> bool:
        """Whether ``e``'s value inside a guard may differ from outside (memoized apart)."""
        return True

    def _int_value(self, e: sp.Expr) -> Value:
        if e.is_Integer or e.is_Rational:  # a rational: a solved index no point reaches (its guard never holds)
            return self.int_const(int(e))
        if isinstance(e, sp.Symbol) and e in self.env:
            return self.variable(e)
        if isinstance(e, sp.Indexed) or is_tensor_symbol(e):
            raw, dtype = self.read(e)
            if dtype.kind == "f":
                raise LoweringError(f"codegen: {e} is a float read where {self.kernel.definition.name} needs an "
                                    "integer; the IR must convert it explicitly")
            return self.int_read(raw, dtype)
        if isinstance(e, (sp.Add, sp.Mul)) and any(not t.as_coeff_Mul()[0].is_Integer
                                                    for t in sp.Add.make_args(sp.expand(e))):
            num, den = sp.fraction(sp.together(sp.expand(e)))  # an exact quotient (a solved strided read)
            if not den.is_Integer or den == 1:
                raise LoweringError(f"codegen: no integer lowering for {e}")
            return self.exact_quotient(self.int_value(sp.expand(num)), self.int_value(den))
        if isinstance(e, sp.Add):
            return self.int_sum(e)
        if isinstance(e, sp.Mul) and all(a.is_integer or self.is_int(a) for a in e.args):
            return self.int_product(e)
        if isinstance(e, sp.floor):
            num, den = sp.fraction(sp.together(e.args[0]))
            return self.floor_quotient(sp.expand(num), den)
        if isinstance(e, sp.Mod):
            return self.modulo(*e.args)
        if isinstance(e, sp.Pow) and e.exp.is_Integer and e.exp >= 0:
            return self.int_power(e)
        if (isinstance(e, sp.Function) or type(e) in INTEGER_PRIMITIVES) and self.is_int(e):
            return self.int_function(e)
        raise self.no_int_lowering(e)

    def variable(self, s: sp.Symbol) -> Value:
        return self.env[s]

    def int_function(self, e: sp.Function) -> Value:
        """An integer-valued function: a condition (0 or 1), a conversion (trunc), or one that keeps its
        integer argument's kind (abs, max, min, sign, relu, clamp), computed in int64."""
        kind = getattr(type(e), "value_kind", "float")
        if kind == "condition":
            return self.condition_to_int(self.bool_value(e))
        if kind == "integer":
            return self.integer_result(type(e).lower(self, *e.args))
        if type(e) in INTEGER_PRIMITIVES:
            return INTEGER_PRIMITIVES[type(e)](self, *e.args)
        return type(e).lower(IntegerOps(self), *e.args)

    def integer_result(self, v: Value) -> Value:
        """An integer-valued element function's value (already int64)."""
        return v

    # ---------------------------------------------------------------- ScalarOps: what element functions lower to
    def value(self, e: sp.Expr) -> Value:
        return self.float_value(e)

    def compare(self, op: str, x: sp.Expr, y: sp.Expr) -> Value:
        """Exact on integers; on floats ordered (``!=`` unordered)."""
        if self.is_int(x) and self.is_int(y):
            return self.icmp(op, self.int_value(x), self.int_value(y))
        return self.fcmp(op, self.float_value(x), self.float_value(y))

    def safely(self, e: sp.Expr) -> Value:
        with self.clamped_reads():
            return self.float_value(e)

    def word(self, e: sp.Expr) -> Value:
        if self.is_int(e):
            return self.to_word(self.int_value(e))
        if isinstance(e, sp.Indexed) or is_tensor_symbol(e):
            return self.to_word(self.truncate(self.read(e)[0]))  # in the read's own precision, not the definition's
        return self.to_word(self.truncate(self.float_value(e)))


def _is_read(e: sp.Expr) -> bool:
    return isinstance(e, sp.Indexed) or is_tensor_symbol(e)


def horner_form(e: sp.Add, eligible: Callable[[sp.Expr], bool] = _is_read) -> sp.Expr | None:
    """``e`` as a polynomial of degree ≥ 2 in one tensor read v (``eligible``), nested by Horner's rule
    (c₀ + v·(c₁ + v·(c₂ + …)), each cₖ free of v): as many multiply-adds as the degree and no power of v, which a sum
    of cₖ·vᵏ needs; None when ``e`` is not one, has one term in v only (a² + b²), or is so sparse that powers by
    squaring cost less (a + v⁵)."""
    reads = {f.base for t in e.args for f in sp.Mul.make_args(t)
             if isinstance(f, sp.Pow) and f.exp.is_Integer and f.exp >= 2 and eligible(f.base)}
    for v in sorted(reads, key=sp.default_sort_key):  # in one order in every process: the same code
        terms: dict[int, list[sp.Expr]] = {}
        for t in e.args:
            degree, rest = 0, []
            for f in sp.Mul.make_args(t):
                if f == v:
                    degree += 1
                elif isinstance(f, sp.Pow) and f.base == v and f.exp.is_Integer and f.exp > 0:
                    degree += int(f.exp)
                elif f.has(v):
                    break
                else:
                    rest.append(f)
            else:
                terms.setdefault(degree, []).append(sp.Mul(*rest))
                continue
            break
        else:
            powers = [d for d in terms if d > 0]
            if len(powers) < max(2, max(terms) - 1):
                continue
            nested = sp.Add(*terms.get(max(terms), []))
            for degree in range(max(terms) - 1, -1, -1):
                step = v if nested == 1 else sp.Mul(v, nested, evaluate=False)
                nested = sp.Add(*terms.get(degree, []), step, evaluate=False)
            return nested
    return None


def _is_power_of_two(c: sp.Rational) -> bool:
    """An integer 2ᵏ, k ≥ 1: scaling by it rounds nothing (short of overflow)."""
    return c.is_Integer and c > 1 and int(c) & (int(c) - 1) == 0


def power_of_two_factor(e: sp.Expr) -> tuple[float, sp.Expr]:
    """``e`` as 2ᵏ·rest when its numeric factor is one, or every term of a sum has one (``2a + 2bx − 2y`` is
    2·(a + bx − y): scaling by 2ᵏ commutes with each rounding, short of overflow), else (1, e). A sum of ``rest``
    times it is exact, zero's sign included (a negative factor would turn a sum's +0 into −0)."""
    c, rest = e.as_coeff_Mul()
    if _is_power_of_two(c):
        return float(c), rest
    if isinstance(e, sp.Add):
        terms = [t.as_coeff_Mul() for t in e.args]
        if all(c.is_Integer and c != 0 for c, _ in terms):
            common = min((abs(int(c)) & -abs(int(c))) for c, _ in terms)  # the lowest power of two dividing each
            if common > 1:
                return float(common), sp.Add(*[(c / common) * t for c, t in terms])
    return 1.0, e


class IntegerOps:
    """``ScalarOps`` in int64, for element functions whose value keeps its argument's kind (relu, clamp) when
    that argument is an integer: the same ``lower`` rule then builds integer code."""

    def __init__(self, lowering: Lowering):
        self.low = lowering

    def value(self, e: sp.Expr) -> Value:
        return self.low.int_value(e)

    def const(self, c: float) -> Value:
        return self.low.int_const(int(c))

    def add(self, a: Value, b: Value) -> Value:
        return self.low.int_add(a, b)

    def mul(self, a: Value, b: Value) -> Value:
        return self.low.int_mul(a, b)

    def select(self, condition: Value, if_true: Value, if_false: Value) -> Value:
        return self.low.select(condition, if_true, if_false)

    def compare(self, op: str, x: sp.Expr, y: sp.Expr) -> Value:
        return self.low.compare(op, x, y)

    def both(self, a: Value, b: Value) -> Value:
        return self.low.both(a, b)

    def safely(self, e: sp.Expr) -> Value:
        with self.low.clamped_reads():
            return self.low.int_value(e)


# ---------------------------------------------------------------- SymPy's own functions

def _extremum(keep: str):
    """Max/Min of any arity; NaN wins wherever it is, as torch.maximum."""
    def lower(low: Lowering, *args: sp.Expr) -> Value:
        v = low.float_value(args[0])
        for a in args[1:]:
            w = low.float_value(a)
            v = low.select(low.either(low.fcmp(keep, v, w), low.is_nan(v)), v, w)
        return v
    return lower


def _sign(low: Lowering, x: sp.Expr) -> Value:
    v = low.float_value(x)
    one = low.select(low.fcmp(">", v, low.const(0.0)), low.const(1.0), v)
    return low.select(low.fcmp("<", v, low.const(0.0)), low.const(-1.0), one)


def _kernel(name: str):
    return lambda low, x: low.call(name, low.float_value(x))


def _int_extremum(op: str):
    def lower(low: Lowering, *args: sp.Expr) -> Value:
        v = low.int_value(args[0])
        for a in args[1:]:
            w = low.int_value(a)
            v = low.select(low.icmp(op, v, w), v, w)
        return v
    return lower


def _int_abs(low: Lowering, x: sp.Expr) -> Value:
    v = low.int_value(x)
    return low.select(low.icmp("<", v, low.int_const(0)), low.int_neg(v), v)


#: SymPy's kind-keeping functions on integers (``ir.kind_preserving``)
INTEGER_PRIMITIVES = {sp.Abs: _int_abs, sp.Max: _int_extremum(">"), sp.Min: _int_extremum("<"),
                      sp.sign: lambda low, x: low.int_sign(low.int_value(x))}

#: SymPy's own functions: the primitives the backends lower directly (named functions bring ``lower``)
PRIMITIVES = {
    sp.exp: _kernel("exp"), sp.log: _kernel("log"), sp.sin: _kernel("sin"), sp.cos: _kernel("cos"),
    sp.tanh: _kernel("tanh"), sp.erf: _kernel("erf"),
    sp.Abs: lambda low, x: low.fabs(low.float_value(x)),
    sp.sign: _sign, sp.Max: _extremum(">"), sp.Min: _extremum("<"),
    # tensors are real: SymPy's rewrites through re/im (|eˣ| → e^re(x)) lower to the value and zero
    sp.re: lambda low, x: low.float_value(x), sp.im: lambda low, x: low.const(0.0),
    sp.conjugate: lambda low, x: low.float_value(x),
    sp.floor: lambda low, *args: low.from_int(low.int_value(sp.floor(*args))),
    sp.Mod: lambda low, *args: low.from_int(low.int_value(sp.Mod(*args))),
}
