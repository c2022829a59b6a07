"""Element-wise tensor methods: arithmetic, element functions, comparisons and casts — each a ``Map`` (or a
``Cast``) of the op table, with ``torch.result_type``'s promotion of tensors and Python scalars."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..core import dtypes
from ..core.dtypes import as_dtype, float_result, is_float, of_data, result_type
from ..core.ops import Cast, Map, broadcast_shapes, scalar_operand
from ..errors import ArgumentError, DTypeError, NotSupportedError, ShapeError
from . import return_types
from .base import TensorBase
from .batch import batch_size_operand, in_batch_trace, varies_per_step
from .device import CPU, check_device, to_arguments
from .trace import shown

if TYPE_CHECKING:
    from .tensor import Tensor


#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS = ("exp", "expm1", "exp2", "log", "log1p", "log2", "log10", "sqrt", "rsqrt", "reciprocal", "abs", "sign",
             "sgn", "signbit", "angle",
             "sin", "cos", "tan", "tanh", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "arcsin",
             "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "erf", "erfinv", "sigmoid", "logit", "relu",
             "softplus", "clamp", "clip", "square", "floor", "ceil", "trunc", "fix", "round", "frac", "isnan", "isinf",
             "isfinite", "nan_to_num", "lerp", "maximum", "minimum", "fmax", "fmin", "floor_divide", "remainder", "add",
             "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "neg", "negative", "deg2rad",
             "rad2deg", "logical_not", "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
             "bitwise_xor", "bitwise_not",
             "eq", "ne", "gt", "ge", "lt", "le", "greater", "greater_equal", "less", "less_equal", "not_equal",
             "equal", "isclose", "allclose", "atan2", "arctan2", "hypot", "copysign", "fmod", "heaviside",
             "logaddexp", "logaddexp2", "sinc", "ldexp", "clamp_min", "clamp_max", "nextafter", "addcmul", "addcdiv",
             "isneginf", "isposinf", "isreal", "erfc", "lgamma", "digamma", "i0", "gcd", "lcm", "frexp", "hardshrink",
             "prelu")
#: this module's functions offered as ``symnet.<name>`` (a Python number may come first in xlogy and float_power)
PUBLIC = ("where", "pow", "real", "xlogy", "float_power", "polygamma")


class PointwiseMethods(TensorBase):
    __slots__ = ()

    def _map(self, fn: str, *others, result: str = "promote") -> Tensor:
        return _elementwise(fn, (self, *others), result)

    def __add__(self, other):
        return self._map("add", other)

    def __radd__(self, other):
        return _elementwise("add", (other, self), "promote")

    def __sub__(self, other):
        _refuse_bool("subtraction", self, other)
        return self._map("sub", other)

    @shown(lambda self, other: None if isinstance(other, TensorBase) else "RsubBackward1")
    def __rsub__(self, other):
        _refuse_bool("subtraction", self, other)
        return _elementwise("sub", (other, self), "promote")

    def __mul__(self, other):
        return self._map("mul", other)

    def __rmul__(self, other):
        return _elementwise("mul", (other, self), "promote")

    def __truediv__(self, other):
        return self._map("div", other, result="float")

    @shown(lambda self, other: None if isinstance(other, TensorBase) else "MulBackward0")
    def __rtruediv__(self, other):
        if isinstance(other, _SCALARS):  # PyTorch's own: self.reciprocal() * other, rounded twice
            return _elementwise("rdiv", (self, other), "float")
        return _elementwise("div", (other, self), "float")

    def __pow__(self, other):
        return _power(self, other)

    @shown(lambda self, other: None if isinstance(other, TensorBase) else "PowBackward2")
    def __rpow__(self, other):
        return _power(other, self)

    def __neg__(self):
        _refuse_bool("negation", self)
        return self._map("neg")

    def __floordiv__(self, other):
        return self.floor_divide(other)

    def __rfloordiv__(self, other):
        return _division("floor_divide", (other, self))

    def __mod__(self, other):
        return self.remainder(other)

    def __rmod__(self, other):
        return _division("remainder", (other, self))

    def __abs__(self):
        return self.abs()

    def pow(self, exponent):
        return self ** exponent

    def add(self, other, *, alpha=1):
        return self + _scaled(other, alpha, self)

    def sub(self, other, *, alpha=1):
        return self - _scaled(other, alpha, self)

    subtract = sub

    def mul(self, other):
        return self * other

    multiply = mul

    def div(self, other, *, rounding_mode: str | None = None):
        """``self / other``, or its quotient rounded toward zero (``"trunc"``) or down (``"floor"``)."""
        return _divided(self, other, rounding_mode)

    divide = div

    def true_divide(self, other):
        return self / other

    def floor_divide(self, other):
        return _division("floor_divide", (self, other))

    def remainder(self, other):
        return _division("remainder", (self, other))

    def neg(self):
        return -self

    negative = neg

    def reciprocal(self):
        return self._map("reciprocal", result="float")

    def rsqrt(self):
        return self._map("rsqrt", result="float")

    def expm1(self):
        return self._map("expm1", result="float")

    def exp2(self):
        return self._map("exp2", result="float")

    def log10(self):
        return self._map("log10", result="float")

    def log2(self):
        return self._map("log2", result="float")

    def erfinv(self):
        return self._map("erfinv", result="float")

    def deg2rad(self):
        return self * (math.pi / 180) if is_float(self.dtype) else self.float() * (math.pi / 180)

    def rad2deg(self):
        return self * (180 / math.pi) if is_float(self.dtype) else self.float() * (180 / math.pi)

    def logit(self, eps: float | None = None):
        """log(p/(1 − p)), of p clamped to [eps, 1 − eps] when eps is given (the gradient is 0 outside)."""
        p = self if eps is None else self.clamp(eps, 1 - eps)
        return p._map("logit", result="float")

    # ---------------------------------------------------------------- rounding (no gradient; integers copied)
    def _rounded(self, fn: str) -> Tensor:
        _refuse_bool(fn, self)
        return self._map(fn) if is_float(self.dtype) else self._apply(Cast(self.dtype), [self], self.dtype)

    def floor(self):
        return self._rounded("floor")

    def ceil(self):
        return self._rounded("ceil")

    def trunc(self):
        return self._rounded("trunc")

    fix = trunc

    def round(self, *, decimals: int = 0):
        """Half to even; with ``decimals``, of x·10^decimals (divided back), as PyTorch computes it."""
        if decimals == 0:
            return self._rounded("round")
        if not is_float(self.dtype):
            raise DTypeError(f"round with decimals is not supported for {self.dtype} tensors (as in PyTorch)")
        scale = 10.0 ** abs(decimals)
        return (self * scale)._map("round") / scale if decimals > 0 else (self / scale)._map("round") * scale

    def frac(self):
        if not is_float(self.dtype):
            raise DTypeError(f"frac is not supported for {self.dtype} tensors (as in PyTorch)")
        return self._map("frac")

    # ---------------------------------------------------------------- special values
    def isnan(self):
        return self._map("isnan", result="bool")

    def isinf(self):
        return self._map("isinf", result="bool")

    def isfinite(self):
        return self._map("isfinite", result="bool")

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None):
        """NaN, +∞ and −∞ replaced; the infinities by the dtype's largest finite values unless given."""
        if not is_float(self.dtype):
            return self._apply(Cast(self.dtype), [self], self.dtype)
        big = float(np.finfo(self.dtype).max)
        return self._map("nan_to_num", float(nan), big if posinf is None else float(posinf),
                         -big if neginf is None else float(neginf))

    # ---------------------------------------------------------------- binary element functions
    def lerp(self, end, weight):
        """self + weight·(end − self); float operands of one dtype (a 0-d weight may be wider), as PyTorch."""
        if not is_float(self.dtype):
            raise DTypeError(f"lerp is not implemented for {self.dtype} tensors (as in PyTorch)")
        if not isinstance(end, TensorBase) or end.dtype != self.dtype:
            raise DTypeError(f"lerp: expected dtype {self.dtype} for `end` but got "
                             f"{getattr(end, 'dtype', type(end).__name__)}")
        if isinstance(weight, TensorBase) and (not is_float(weight.dtype) or weight.shape and
                                                weight.dtype != self.dtype):
            raise DTypeError(f"lerp: expected dtype {self.dtype} for `weight` but got {weight.dtype}")
        return _elementwise("lerp", (self, end, weight), "promote")

    def maximum(self, other):
        return _extremum("maximum", self, other)

    def minimum(self, other):
        return _extremum("minimum", self, other)

    def fmax(self, other):
        return _extremum("fmax", self, other)

    def fmin(self, other):
        return _extremum("fmin", self, other)

    def where(self, condition, other):
        """``self`` where ``condition`` holds, else ``other``: ``symnet.where(condition, self, other)``."""
        return where(condition, self, other)

    def abs(self):
        _refuse_bool("abs", self)
        return self._map("abs")

    def sign(self):
        if self.dtype == dtypes.bool_:  # PyTorch's sign of a bool is the bool
            return self.clone()
        return self._map("sign")

    sgn = sign  # torch.sgn: the sign, on real tensors

    def signbit(self):
        """Whether the sign bit is set: x < 0, or −0.0 (whose reciprocal is −inf)."""
        if self.dtype == dtypes.bool_:
            return self != self
        return (self < 0).logical_or(self.reciprocal() < 0) if is_float(self.dtype) else self < 0

    def angle(self):
        """The argument of a real number: π below 0, 0 at or above it (−0.0 too), NaN for NaN; a float, with no
        gradient (as PyTorch's for real tensors)."""
        return self._map("angle", result="float")

    def exp(self):
        return self._map("exp", result="float")

    def log(self):
        return self._map("log", result="float")

    def log1p(self):
        return self._map("log1p", result="float")

    def sqrt(self):
        return self._map("sqrt", result="float")

    def sin(self):
        return self._map("sin", result="float")

    def cos(self):
        return self._map("cos", result="float")

    def tanh(self):
        return self._map("tanh", result="float")

    def tan(self):
        return self._map("tan", result="float")

    def sinh(self):
        return self._map("sinh", result="float")

    def cosh(self):
        return self._map("cosh", result="float")

    def asin(self):
        return self._map("asin", result="float")

    def acos(self):
        return self._map("acos", result="float")

    def atan(self):
        return self._map("atan", result="float")

    def asinh(self):
        return self._map("asinh", result="float")

    def acosh(self):
        return self._map("acosh", result="float")

    def atanh(self):
        return self._map("atanh", result="float")

    # NumPy's names, as torch has them
    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

    def erf(self):
        return self._map("erf", result="float")

    def sigmoid(self):
        return self._map("sigmoid", result="float")

    def relu(self):
        _refuse_bool("relu", self)
        return self._map("relu")

    def leaky_relu(self, negative_slope: float = 0.01):
        return self._map("leaky_relu", float(negative_slope), result="float")

    def hardshrink(self, lambd: float = 0.5):
        """0 on [−λ, λ], x outside (float tensors only, as PyTorch's kernel)."""
        _refuse_integral("hardshrink", self)
        return self._map("hardshrink", lambd, result="float")

    def prelu(self, weight: Tensor):
        """x for x > 0, else weight·x, with one weight per channel (dim 1; dim 0 of a 1-d input) or one for all."""
        _refuse_integral("prelu", self)
        if not isinstance(weight, TensorBase) or weight.dtype != self.dtype:
            raise DTypeError(f"prelu: Type promoting not supported. Got {self.dtype} and "
                             f"{getattr(weight, 'dtype', type(weight).__name__)}")
        if weight.numel() != 1:
            channels = self.shape[1] if self.dim() > 1 else self.shape[0] if self.dim() else 1
            if weight.dim() != 1 or weight.numel() != channels:
                raise ShapeError(f"prelu: mismatch of parameter numbers and input channel size: {weight.numel()} "
                                 f"weights for {channels} channels")
            if self.dim() > 1:
                weight = weight.reshape(channels, *([1] * (self.dim() - 2)))
        elif self.dim():
            weight = weight.reshape(*([1] * self.dim()))
        return self._map("prelu", weight, result="float")

    def softplus(self, beta: float = 1.0, threshold: float = 20.0):
        return self._map("softplus", beta, threshold, result="float")

    @shown(lambda self, min=None, max=None: "ClampBackward0" if isinstance(min, TensorBase) or isinstance(
        max, TensorBase) else "ClampBackward1")
    def clamp(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        if min is None and max is None:
            raise ArgumentError("clamp: at least one of min and max must be given")
        sizes = [batch_size_operand(b) for b in (min, max)]
        size = next((s for s in sizes if s is not None), None)
        if size is not None:  # the batch's size in a compiled step's trace: each step's own; bounds do not mix
            min, max = (s if s is not None else b if b is None else _as_tensor(b, size)
                        for s, b in zip(sizes, (min, max), strict=True))
        if any(isinstance(b, TensorBase) for b in (min, max)):
            return _tensor_clamp(self, min, max)
        if self.dtype == dtypes.bool_ and any(isinstance(b, bool) for b in (min, max)):
            raise DTypeError('"clamp" is not implemented for \'Bool\' tensors with Python bounds (as in PyTorch)')
        if not is_float(self.dtype) and all(isinstance(b, int | None) for b in (min, max)):
            info = np.iinfo(np.int64)  # an integer clamp stays integer, as in PyTorch
            lo, hi = info.min if min is None else min, info.max if max is None else max
            return self._map("clamp", int(lo), int(hi))
        lo = -math.inf if min is None else min
        hi = math.inf if max is None else max
        return self._map("clamp", float(lo), float(hi), result="float")

    clip = clamp

    def square(self):
        x = self.long() if self.dtype == dtypes.bool_ else self  # bool squares to int64, as in PyTorch
        return x * x

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def long(self):
        return self.to(dtypes.int64)

    def bool(self):
        return self.to(dtypes.bool_)

    @shown("ToCopyBackward0")
    def to(self, *args, **kwargs) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` or keywords, as in PyTorch (the
        device must be the CPU): a cast where the dtype changes, the tensor itself otherwise."""
        where, dtype = to_arguments(args, {k: v for k, v in kwargs.items() if k != "copy"})
        check_device(where)
        dtype = self.dtype if dtype is None else as_dtype(dtype)
        return self if dtype == self.dtype else self._apply(Cast(dtype), [self], dtype)

    def type(self, dtype=None):
        """The legacy type name without an argument (``symnet.FloatTensor``, as PyTorch's ``torch.FloatTensor``);
        a cast with one: a dtype, a legacy type (``symnet.FloatTensor``) or its name (``"torch.FloatTensor"``)."""
        if dtype is None:
            return "symnet." + _LEGACY_TYPES[self.dtype.name] + "Tensor"
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            kind = dtype.rpartition(".")[2][:-len("Tensor")]
            names = {v: k for k, v in _LEGACY_TYPES.items()} | {"Int": "int64"}
            if kind not in names:
                raise DTypeError(f"type(): {dtype!r} is not a tensor type symnet stores (its dtypes are float32, "
                                 "float64, int64 and bool)")
            dtype = names[kind]
        return self.to(getattr(dtype, "dtype", dtype))

    def cpu(self) -> Tensor:
        return self

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:  # noqa: ARG002 - torch's signature
        check_device("cuda")
        return self

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    # ---------------------------------------------------------------- comparisons (Iverson brackets, bool)
    def __gt__(self, other):
        return self._map("gt", other, result="bool")

    def __ge__(self, other):
        return self._map("ge", other, result="bool")

    def __lt__(self, other):
        return self._map("lt", other, result="bool")

    def __le__(self, other):
        return self._map("le", other, result="bool")

    def __eq__(self, other):
        return self._map("eq", other, result="bool")

    def __ne__(self, other):
        return self._map("ne", other, result="bool")

    __hash__ = object.__hash__

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    # torch's long names of the comparisons
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def equal(self, other) -> bool:
        """Whether both have the same shape and equal elements (after promotion; NaN equals nothing)."""
        _require_tensor("equal", other)
        return self.shape == other.shape and bool((self == other).all())

    def isclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
        """``self == other`` or |self − other| ≤ atol + |rtol·other| with a finite difference (so infinities are
        close only to themselves), as PyTorch computes it; both of one dtype."""
        _require_tensor("isclose", other)
        if self.dtype != other.dtype:
            raise DTypeError(f"isclose: {self.dtype} did not match {other.dtype} (as in PyTorch)")
        for name, value in (("rtol", rtol), ("atol", atol)):
            if value < 0:
                raise ArgumentError(f"isclose: {name} must be greater than or equal to zero, but got {value}")
        close = self == other
        if equal_nan and is_float(self.dtype):
            close = close.logical_or(self.isnan().logical_and(other.isnan()))
        if rtol == 0 and atol == 0:
            return close
        a, b = (x.to(dtypes.get_default_dtype()) if x.dtype == dtypes.bool_ else x for x in (self, other))
        allowed = (b * float(rtol)).abs() + float(atol)
        actual = (a - b).abs().to(allowed.dtype)
        return close.logical_or(actual.isfinite().logical_and(actual <= allowed))

    def allclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        """Whether ``isclose`` holds everywhere."""
        return bool(self.isclose(other, rtol, atol, equal_nan).all())

    # ---------------------------------------------------------------- binary and ternary math
    def atan2(self, other):
        """The angle of the point (other, self): atan of the quotient no larger than 1, turned by ±π/2 or ±π;
        gradients other/(self² + other²) and −self/(self² + other²), 0 at the origin (as PyTorch)."""
        _require_tensor("atan2", other)
        return _elementwise("atan2", (self, other), "float")

    arctan2 = atan2

    def hypot(self, other):
        """√(self² + other²), without overflow or underflow on the way; gradients self/hypot and other/hypot."""
        x, y = _float_pair("hypot", self, other)
        scale = 2.0 ** (np.finfo(x.dtype).maxexp // 2 - 12)  # whose square and its inverse's are far inside the range
        return _elementwise("hypot", (x, y, scale), "promote")

    def copysign(self, other):
        """|self| with the sign bit of ``other`` (−0.0 included); gradient ±1 (0 where self is 0), none to other."""
        magnitude = self.to(float_result(_result_dtype((self, other)))).abs()
        return where(_signbit(other), -magnitude, magnitude) if isinstance(other, TensorBase) else \
            (-magnitude if _signbit(other) else magnitude)

    def fmod(self, other):
        """C's fmod, a − trunc(a/b)·b with the sign of a, exactly: ``remainder`` (the sign of b) where a and b have
        one sign, its mirror −remainder(−a, b) where not. Gradients 1 and −trunc(a/b) of the exact quotient
        (PyTorch truncates the rounded a/b, which is 1 larger where it rounds up to an integer)."""
        dtype = _result_dtype((self, other))
        if dtype == dtypes.bool_:
            raise DTypeError("fmod is not supported for bool tensors (as in PyTorch)")
        a = self.to(dtype) if self.dtype == dtypes.bool_ else self  # a bool dividend is negated below
        return where(a.signbit() == _signbit(other), a.remainder(other), -(-a).remainder(other))

    def heaviside(self, values):
        """0 where self < 0, ``values`` where self == 0, 1 where self > 0 (NaN gives 0). ``values`` get no gradient:
        PyTorch has none (its backward raises)."""
        _require_tensor("heaviside", values, "values")
        if values.dtype != self.dtype:
            raise DTypeError("heaviside is not yet implemented for tensors with different dtypes (as in PyTorch)")
        values = values._map("stop_gradient")
        return where(self == 0, values, (self > 0).to(self.dtype))

    def logaddexp(self, other):
        """log(eˣ + eʸ) as max(x, y) + log1p(e^−|x−y|): finite wherever the result is."""
        return _log_add("logaddexp", self, other, lambda d: d.exp().log1p())

    def logaddexp2(self, other):
        """log₂(2ˣ + 2ʸ) as max(x, y) + log1p(2^−|x−y|)/ln 2."""
        return _log_add("logaddexp2", self, other, lambda d: d.exp2().log1p() * (1 / math.log(2)))

    def xlogy(self, other):
        return xlogy(self, other)

    def sinc(self):
        """sin(πx)/(πx), and 1 where x² is 0 (its value there; gradient 0, as PyTorch's)."""
        x = self.to(float_result(self.dtype))
        product = x * math.pi
        return where(x * x == 0, 1.0, product.sin() / product)

    def float_power(self, exponent):
        return float_power(self, exponent)

    def ldexp(self, other):
        """self·2^other, as PyTorch computes it: in the float dtype of ``torch.result_type(self, other)``; an
        integer exponent scales in two halves, as C's ldexp, so a result in range is not lost to 2^other
        overflowing or vanishing (ldexp(1e-30, 200) is 1.6e30 in float32, not inf); a float one is self·2^other."""
        _require_tensor("ldexp", other)
        if other.dtype == dtypes.bool_:
            raise DTypeError('ldexp: "ldexp_cpu_exp" is not implemented for bool exponents (as in PyTorch)')
        dtype = float_result(_result_dtype((self, other)))
        x = self.to(dtype)
        if is_float(other.dtype):
            return x * pow(2.0, other.to(dtype))
        half = other // 2
        return x * pow(2.0, half.to(dtype)) * pow(2.0, (other - half).to(dtype))

    def clamp_min(self, min):  # noqa: A002 - PyTorch's name
        return self.clamp(min=min)

    def clamp_max(self, max):  # noqa: A002 - PyTorch's name
        return self.clamp(max=max)

    def addcmul(self, tensor1, tensor2, *, value=1):
        """self + value·tensor1·tensor2."""
        _require_tensor("addcmul", tensor1, "tensor1", 2)
        _require_tensor("addcmul", tensor2, "tensor2", 3)
        return self + _coefficient(value, (self, tensor1, tensor2)) * tensor1 * tensor2

    def addcdiv(self, tensor1, tensor2, *, value=1):
        """self + value·tensor1/tensor2; integer tensor1 and tensor2 refused, as PyTorch."""
        _require_tensor("addcdiv", tensor1, "tensor1", 2)
        _require_tensor("addcdiv", tensor2, "tensor2", 3)
        if not is_float(_result_dtype((tensor1, tensor2))):
            raise DTypeError("Integer division with addcdiv is no longer supported (as in PyTorch); use "
                             "addcmul(input, tensor1, 1 / tensor2) or true division")
        return self + _coefficient(value, (self, tensor1, tensor2)) * tensor1 / tensor2

    def isneginf(self):
        return self == -math.inf if is_float(self.dtype) else self != self

    def isposinf(self):
        return self == math.inf if is_float(self.dtype) else self != self

    def isreal(self):
        """True everywhere: symnet's tensors are real."""
        nan = self.isnan()
        return nan == nan

    @property
    def real(self) -> Tensor:
        """The tensor itself (its real part), as PyTorch's ``real`` of a real tensor."""
        return self

    def nextafter(self, other):
        """The next float after self toward other. Computed from the values now (no gradient, as PyTorch), so a
        compiled step cannot hold it."""
        _require_tensor("nextafter", other)
        dtype = _result_dtype((self, other))
        if not is_float(dtype):
            raise DTypeError(f"nextafter is not implemented for {dtype} tensors (as in PyTorch)")
        if any(varies_per_step(x) for x in (self, other)):
            raise NotSupportedError("nextafter of the batch, a parameter or a buffer in a compiled step: its value "
                                    "is computed now, so the step could not hold it")
        a, b = (x.to(dtype)._array() for x in (self, other))
        return self._leaf(np.nextafter(a, b), dtype)

    def gcd(self, other):
        """The greatest common divisor of integers, ≥ 0 (gcd(0, 0) = 0), by Euclid's algorithm on the values now:
        a loop per element that the lowering has no construct for, so a compiled step cannot hold it."""
        return _integer_pair("gcd", self, other, np.gcd)

    def lcm(self, other):
        """The least common multiple of integers: |a / gcd(a, b) · b|, 0 where either is 0 (wrapping as int64)."""
        return _integer_pair("lcm", self, other, np.lcm)

    def frexp(self):
        """(mantissa, exponent) with self = mantissa · 2^exponent and 0.5 ≤ |mantissa| < 1 (C's frexp: 0, ±inf and
        NaN keep their value with exponent 0). The exponent is ⌊log₂|x|⌋ + 1, corrected by one where log₂ rounds
        across a power of two; the mantissa is self scaled by 2^−exponent in two halves (no overflow for
        subnormals), so its gradient is 2^−exponent, as PyTorch's. The exponent is int64 (PyTorch's int32)."""
        if not is_float(self.dtype):
            raise DTypeError("frexp() only supports floating-point dtypes (as torch.frexp)")
        finite = self.isfinite() & (self != 0)
        subnormal = self.abs() < float(np.finfo(self.dtype).tiny)  # lifted by 2⁶⁴ into the normal range for log2
        lift = where(subnormal, 2.0 ** 32, 1.0)  # twice: the reference backend's where holds 2³² as an int64
        magnitude = where(finite, (self * lift * lift).abs(), 1.0)
        exponent = where(finite, magnitude.log2().floor() + 1 - where(subnormal, 64.0, 0.0), 0.0).long()
        for _ in range(2):  # log2 may round across a power of two: one step back or forth each time
            size = _scaled_by_power_of_two(self, -exponent).abs()
            exponent = exponent + (finite & (size >= 1)).long() - (finite & (size < 0.5)).long()
        return return_types.frexp(_scaled_by_power_of_two(self, -exponent), exponent)

    # ---------------------------------------------------------------- logic (bool tensors as 0/1 conditions)
    def logical_not(self):
        return self._map("eq", 0, result="bool")

    def logical_and(self, other):
        _require_tensor("logical_and", other)
        return _elementwise("mul", (_truth(self), _truth(other)), "bool")

    def logical_or(self, other):
        _require_tensor("logical_or", other)
        return _truth(self).logical_not().logical_and(_truth(other).logical_not()).logical_not()

    def logical_xor(self, other):
        _require_tensor("logical_xor", other)
        return _elementwise("ne", (_truth(self), _truth(other)), "bool")

    def _bitwise(self, op: str, other=None):
        """``&``, ``|``, ``^`` and ``~``: the logical ops on bools, PyTorch's two's-complement bit operations on
        int64 (a bool operand as 0 or 1); floats refused, as PyTorch refuses them."""
        operands = [self] if other is None else [self, other]
        for x in operands:
            if not isinstance(x, TensorBase | int | np.integer | np.bool_) or isinstance(x, TensorBase) and is_float(
                    x.dtype):
                kind = x.dtype if isinstance(x, TensorBase) else type(x).__name__
                raise DTypeError(f'"{op}_cpu" not implemented for {kind} (as in PyTorch): bit operations take '
                                 "integer and bool tensors")
        if all(x.dtype == dtypes.bool_ if isinstance(x, TensorBase) else isinstance(x, bool | np.bool_)
               for x in operands):
            if other is None:
                return self.logical_not()
            if not isinstance(other, TensorBase):  # a Python bool: PyTorch's logical functions take tensors only
                other = self._leaf(np.array(other), dtypes.bool_)
            return {"bitwise_and": self.logical_and, "bitwise_or": self.logical_or,
                    "bitwise_xor": self.logical_xor}[op](other)
        words = [x.long() if isinstance(x, TensorBase) and x.dtype == dtypes.bool_ else
                 x if isinstance(x, TensorBase) else int(x) for x in operands]
        return _elementwise(f"{op}_int", words, "promote")

    def __and__(self, other):
        return self._bitwise("bitwise_and", other)

    def __or__(self, other):
        return self._bitwise("bitwise_or", other)

    def __xor__(self, other):
        return self._bitwise("bitwise_xor", other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        return self._bitwise("bitwise_not")

    def bitwise_and(self, other):
        return self & other

    def bitwise_or(self, other):
        return self | other

    def bitwise_xor(self, other):
        return self ^ other

    def bitwise_not(self):
        return ~self

    # ---------------------------------------------------------------- special functions (core.functions' rows)
    def erfc(self):
        return self._map("erfc", result="float")

    def lgamma(self):
        return self._map("lgamma", result="float")

    def digamma(self):
        return self._map("digamma", result="float")

    def polygamma(self, n: int):
        """ψ⁽ⁿ⁾(x), the n-th derivative of digamma (``torch.polygamma(n, x)``; as a method, ``x.polygamma(n)``)."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
        if n < 0:
            raise ArgumentError("polygamma(n, x) does not support negative n.")
        return self._map("polygamma", int(n), result="float")

    def i0(self):
        return self._map("i0", result="float")


_SCALARS = (bool, int, float, np.number)


#: the legacy tensor types' names by dtype (``torch.FloatTensor``)
_LEGACY_TYPES = {"float32": "Float", "float64": "Double", "int64": "Long", "bool": "Bool"}


def _truth(x):
    """A condition from a tensor or a Python value: nonzero is true."""
    if isinstance(x, TensorBase):
        return x if x.dtype == dtypes.bool_ else x._map("ne", 0, result="bool")
    return bool(x)


def _refuse_integral(op: str, x: Tensor) -> None:
    """PyTorch's activation kernels exist for float dtypes only."""
    if not is_float(x.dtype):
        raise DTypeError(f'"{op}" is not implemented for {x.dtype} tensors (as in PyTorch)')


def _refuse_bool(op: str, *operands) -> None:
    """PyTorch's refusals for bool operands (a mask is inverted with ``~``, not ``-``)."""
    if any(isinstance(x, bool) or (isinstance(x, TensorBase) and x.dtype == dtypes.bool_) for x in operands):
        raise DTypeError(f"{op} is not supported for bool tensors (as in PyTorch); convert with .long() or "
                         ".float() first")


def where(condition: Tensor, input=None, other=None) -> Tensor:  # noqa: A002 - torch's name
    """``input`` where ``condition`` (a bool tensor) holds, else ``other``; either may be a Python number. The
    gradient reaches each branch only where it is taken, and a branch not taken never shows (not even NaN).
    ``where(condition)`` alone is ``condition.nonzero(as_tuple=True)``, as in PyTorch."""
    if input is None and other is None and isinstance(condition, TensorBase):
        return condition.nonzero(as_tuple=True)
    if input is None or other is None:
        raise TypeError("where() takes a condition alone, or a condition, input and other")
    if not isinstance(condition, TensorBase) or condition.dtype != dtypes.bool_:
        raise DTypeError(f"where expected condition to be a boolean tensor, but got "
                         f"{getattr(condition, 'dtype', type(condition).__name__)}")
    return _elementwise("where", (condition, input, other), "promote")


def pow(input, exponent) -> Tensor:  # noqa: A001 - torch.pow
    """``input ** exponent``; either may be a Python number (``symnet.pow(2, t)``)."""
    return input ** exponent if isinstance(input, TensorBase) else exponent.__rpow__(input)


def real(input: Tensor) -> Tensor:  # noqa: A002 - torch.real
    """The real part: the tensor itself, as PyTorch returns a real tensor."""
    return input.real


def xlogy(input, other) -> Tensor:  # noqa: A002 - torch.xlogy
    """x·log(y), and 0 where x = 0 unless y is NaN (so 0·log 0 = 0), as PyTorch; gradients log(y) (0 where x = 0
    and y ≤ 0) and x/y.
    Either may be a Python number; integers and bools give the default float dtype."""
    like = _some_tensor("xlogy", input, other)
    dtype = float_result(_result_dtype((input, other)))
    x, y = (v.to(dtype) if isinstance(v, TensorBase) else like._leaf(np.asarray(v, dtype=dtype), dtype)
            for v in (input, other))
    zero = (x == 0).logical_and((y <= 0).logical_or(y == math.inf))  # where x·log(y) would be NaN
    return where(zero, 0.0, x * y.log())


def float_power(input, exponent) -> Tensor:  # noqa: A002 - torch.float_power
    """``input ** exponent`` computed in float64, as PyTorch; either may be a Python number."""
    _some_tensor("float_power", input, exponent)
    base, power = (v.to(dtypes.float64) if isinstance(v, TensorBase) else float(v) for v in (input, exponent))
    return pow(base, power)



def _scaled_by_power_of_two(x: Tensor, exponent: Tensor) -> Tensor:
    """x·2^exponent for an int64 exponent, as two factors of about 2^(exponent/2) each: a subnormal's 2^1074
    or a huge value's 2^−1024 does not overflow to inf or 0 on the way."""
    half = exponent.floor_divide(2)
    return x * pow(2.0, half.to(x.dtype)) * pow(2.0, (exponent - half).to(x.dtype))


def _integer_pair(fn: str, a: Tensor, b, compute: Callable) -> Tensor:
    """An integer function of two tensors computed on their values now (broadcast; PyTorch's refusals of
    numbers, floats and bools); refused in a compiled step's trace, where the values change every step."""
    _require_tensor(fn, b)
    dtype = _result_dtype((a, b))
    if dtype != dtypes.int64:
        raise NotSupportedError(f'"{fn}_cpu" not implemented for {dtype.name} tensors: {fn} takes integer tensors '
                                "(as in PyTorch)")
    if any(varies_per_step(x) for x in (a, b)):
        raise NotSupportedError(f"{fn} of the batch, a parameter or a buffer in a compiled step: it is computed "
                                "eagerly from the values now, so the step could not hold it")
    shape = broadcast_shapes(fn, a.shape, b.shape)
    values = compute(*(np.broadcast_to(x.to(dtype)._array(), shape) for x in (a, b)))
    return a._leaf(np.array(values, dtype, order="C"), dtype)  # not ascontiguousarray: it makes 0-d 1-d


def _require_tensor(fn: str, value, name: str = "other", position: int = 2) -> None:
    """PyTorch's refusal of a Python number where its signature takes a tensor."""
    if not isinstance(value, TensorBase):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be Tensor, not "
                        f"{type(value).__name__}")


def _some_tensor(fn: str, *operands) -> Tensor:
    """The first tensor operand; PyTorch's refusal when all are Python numbers."""
    for x in operands:
        if isinstance(x, TensorBase):
            return x
    raise TypeError(f"{fn}(): expected a Tensor operand, got {', '.join(type(x).__name__ for x in operands)}")


def _float_pair(fn: str, a: Tensor, b) -> tuple[Tensor, Tensor]:
    """Two tensors in their promoted float dtype, for functions PyTorch has for floats only."""
    _require_tensor(fn, b)
    dtype = _result_dtype((a, b))
    if not is_float(dtype):
        raise DTypeError(f"{fn} is not implemented for {dtype} tensors (as in PyTorch)")
    return a.to(dtype), b.to(dtype)


def _signbit(value):
    """The sign bit of a tensor (a bool tensor) or of a Python number (a bool), −0.0's included."""
    return value.signbit() if isinstance(value, TensorBase) else math.copysign(1.0, value) < 0


def _log_add(fn: str, a: Tensor, b, log1p_of_power: Callable[[Tensor], Tensor]) -> Tensor:
    """max(x, y) + log1p(base^−|x−y|) (as ``log1p_of_power`` computes it): no overflow, and x itself where
    x = y = ±∞ (whose difference is NaN)."""
    x, y = _float_pair(fn, a, b)
    finite = x.maximum(y) + log1p_of_power(-(x - y).abs())
    return where(x.isinf().logical_and(x == y), x, finite)


def _coefficient(value, operands: Sequence):
    """addcmul's and addcdiv's ``value``, cast to an integer result's dtype as PyTorch casts it (0.5 → 0)."""
    return value if is_float(_result_dtype(operands)) else int(value)


def _divided(a, b, rounding_mode: str | None) -> Tensor:
    """``a / b`` (exactly, not as a reciprocal times a number), or rounded toward zero or down."""
    if rounding_mode is None:
        return _elementwise("div", (a, b), "float")
    if rounding_mode in ("floor", "trunc"):
        return _division("floor_divide" if rounding_mode == "floor" else "trunc", (a, b))
    raise ArgumentError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                        f"{rounding_mode!r}")


def _sub_from(number, other: Tensor, *, alpha=1) -> Tensor:
    return _scaled(other, alpha, other).__rsub__(number)


def _divided_into(number, other: Tensor, *, rounding_mode: str | None = None) -> Tensor:
    return _divided(number, other, rounding_mode)


#: the functions PyTorch also takes with a Python number first (``torch.add(2, t)``), as that number's op on the
#: tensor (the others refuse one: ``torch.maximum(2, t)`` is a TypeError)
NUMBER_FIRST: dict[str, Callable] = {
    "add": lambda number, other, *, alpha=1: _elementwise("add", (number, _scaled(other, alpha, other)), "promote"),
    **dict.fromkeys(("sub", "subtract"), _sub_from),
    **dict.fromkeys(("mul", "multiply"), lambda number, other: _elementwise("mul", (number, other), "promote")),
    **dict.fromkeys(("div", "divide", "true_divide"), _divided_into),
    "floor_divide": lambda number, other: _division("floor_divide", (number, other)),
    "remainder": lambda number, other: _division("remainder", (number, other)),
    "bitwise_and": lambda number, other: other & number,  # commutative
    "bitwise_or": lambda number, other: other | number,
    "bitwise_xor": lambda number, other: other ^ number,
}


def _scaled(other, alpha, like: Tensor):
    """``alpha·other`` for add/sub; an integer result refuses a float alpha, as PyTorch."""
    if alpha == 1:
        return other
    if isinstance(alpha, float) and not is_float(_result_dtype((like, other))):
        raise DTypeError("For integral input tensors, argument alpha must not be a floating point number.")
    return other * alpha


def _power(base, exponent) -> Tensor:
    """``base ** exponent``: float where either is (or the exponent is a Python float), else int64 computed
    exactly (wrapping, as PyTorch); bool ** bool tensors and integers to negative Python powers refused."""
    operands = (base, exponent)
    if all(isinstance(x, TensorBase) and x.dtype == dtypes.bool_ for x in operands):
        raise DTypeError('"pow" is not implemented for \'Bool\' tensors (as in PyTorch)')
    dtype = _result_dtype(operands)
    if isinstance(exponent, float) or is_float(dtype):
        return _elementwise("pow", operands, "float" if isinstance(exponent, float) else "promote")
    if not isinstance(exponent, TensorBase):
        if exponent < 0:
            raise DTypeError("Integers to negative integer powers are not allowed.")
        return _elementwise("pow", operands, "promote")
    return _elementwise("pow_int", operands, "promote")


def _division(fn: str, operands: Sequence) -> Tensor:
    """floor_divide, remainder and the truncating quotient: float rows on floats, exact int64 rows on integers
    (a divisor known to hold 0 is PyTorch's error; one computed divides by 1 there)."""
    dtype = _result_dtype(operands)
    if dtype == dtypes.bool_:
        raise DTypeError(f"{fn} is not supported for bool tensors (as in PyTorch)")
    if is_float(dtype):
        return _elementwise("div", operands, "float").trunc() if fn == "trunc" else \
            _elementwise(fn, operands, "promote")
    divisor = operands[1]
    empty = any(0 in x.shape for x in operands if isinstance(x, TensorBase))  # nothing divided: no error
    if not empty and ((divisor.node is None and not divisor._array().all()) if isinstance(divisor, TensorBase)
                      else divisor == 0):
        raise RuntimeError(f"ZeroDivisionError: integer {fn} by zero (as PyTorch's error)")
    return _elementwise("div_trunc_int" if fn == "trunc" else f"{fn}_int", operands, "promote")


def _extremum(fn: str, a: Tensor, b) -> Tensor:
    _require_tensor(fn, b)
    return _elementwise(fn, (a, b), "promote")


def _tensor_clamp(x: Tensor, lo, hi) -> Tensor:
    """clamp with tensor bounds (a missing one unbounded); numbers and tensors do not mix, as in PyTorch."""
    if any(b is not None and not isinstance(b, TensorBase) for b in (lo, hi)):
        raise TypeError("clamp: min and max must both be tensors (or None) when one of them is a tensor")
    dtype = _result_dtype([b for b in (x, lo, hi) if b is not None])
    if is_float(dtype):
        unbounded = (-math.inf, math.inf)
    elif dtype == dtypes.bool_:
        unbounded = (False, True)
    else:
        info = np.iinfo(np.int64)
        unbounded = (int(info.min), int(info.max))
    if is_float(dtype) and (lo is None) != (hi is None):  # one bound: PyTorch's clamp_min/clamp_max rule, where the
        # bound takes the gradient wherever it wins (clamp's rule would give an infinite bound none)
        bound = hi if lo is None else lo
        clamped = where(x > bound if lo is None else x < bound, bound, x)
        return where(bound.isnan(), math.nan, clamped).to(dtype)  # a NaN bound: NaN, and no gradient to either
    lo = unbounded[0] if lo is None else lo
    hi = unbounded[1] if hi is None else hi
    return _elementwise("clamp", (x, lo, hi), "promote")


def _result_dtype(operands: Sequence) -> np.dtype:
    """``torch.result_type`` of tensors (dimensioned outrank 0-d) and Python numbers."""
    tensors = [x for x in operands if isinstance(x, TensorBase)]
    scalars = [type(x.item() if isinstance(x, np.generic) else x) for x in operands if isinstance(x, _SCALARS)]
    first = tensors[0]
    if all(t.dtype == first.dtype for t in tensors) and (not scalars or first.dtype.kind == "f"):
        return first.dtype  # the common case: no promotion can happen
    return result_type([t.dtype for t in tensors if t.shape], [t.dtype for t in tensors if not t.shape], scalars)


def _broadcast(fn: str, a: tuple, b: tuple) -> tuple:
    """Two shapes broadcast (remembered: a bias added in every step has the same two shapes each time; not in a
    compiled step's trace, where a shape's batch size is marked)."""
    return broadcast_shapes(fn, a, b) if in_batch_trace() else _broadcast_remembered(fn, a, b)


@functools.lru_cache(maxsize=1024)
def _broadcast_remembered(fn: str, a: tuple, b: tuple) -> tuple:
    return broadcast_shapes(fn, a, b)


#: per element function, its op on two tensors (made once: the common case of ``_elementwise``)
_ON_TWO_TENSORS: dict[str, Map] = {}


def _elementwise(fn: str, operands: Sequence, result: str) -> Tensor:
    """A ``map`` op: tensors become inputs, Python numbers fold into the formula as constants; the dtype is
    ``torch.result_type``'s (then float for ``result="float"`` ops, bool for comparisons)."""
    if result == "promote" and len(operands) == 2:  # two tensors alike, or a float tensor and a Python number
        a, b = operands
        if isinstance(a, TensorBase) and isinstance(b, TensorBase) and a.dtype is b.dtype:  # a Parameter too
            op = _ON_TWO_TENSORS.get(fn)
            if op is None:
                op = _ON_TWO_TENSORS.setdefault(fn, Map(fn, (("t", 0), ("t", 1))))
            return a._apply(op, (a, b), a.dtype, a.shape if a.shape == b.shape else _broadcast(fn, a.shape, b.shape))
        if isinstance(a, TensorBase) and type(b) in (float, int) and a.dtype.kind == "f":
            return a._apply(Map(fn, (("t", 0), ("c", scalar_operand(b)))), (a,), a.dtype, a.shape)
    like = next(o for o in operands if isinstance(o, TensorBase))
    tensors, slots = [], []
    for x in operands:
        if isinstance(x, TensorBase):
            slots.append(("t", len(tensors)))
            tensors.append(x)
        elif isinstance(x, _SCALARS):
            size = batch_size_operand(x)  # the batch's size read in a compiled step's trace: each step's own
            if size is None:
                slots.append(("c", scalar_operand(x.item() if isinstance(x, np.generic) else x)))
            else:
                slots.append(("t", len(tensors)))
                tensors.append(size)
        else:
            slots.append(("t", len(tensors)))
            tensors.append(_as_tensor(x, like))
    first = tensors[0]
    dtype = _result_dtype(tensors + [v for kind, v in slots if kind == "c"])
    if result == "float":
        dtype = float_result(dtype)
    elif result == "bool":
        if is_float(dtype) and not any(is_float(t.dtype) for t in tensors):
            # integer tensors and a Python float: compared in the float dtype PyTorch promotes to, not exactly
            # (16777217 > 16777216.5 is False in float32)
            tensors = [t.to(dtype) for t in tensors]
        dtype = dtypes.bool_
    shape = first.shape if all(t.shape == first.shape for t in tensors) else None  # else: broadcasting rule
    return like._apply(Map(fn, tuple(slots)), tensors, dtype, shape)


def _as_tensor(value, like: Tensor) -> Tensor:
    if isinstance(value, TensorBase):
        return value
    arr = np.asarray(value)
    dtype = like.dtype if arr.dtype.kind == "f" and is_float(like.dtype) else of_data(arr.dtype)
    if arr.dtype.kind == "f" and not is_float(like.dtype):
        dtype = dtypes.get_default_dtype()
    return like._leaf(arr.astype(dtype), dtype)


def polygamma(n: int, input: Tensor) -> Tensor:  # noqa: A002 - torch's name
    """``torch.polygamma(n, input)``: the order first, as torch has it."""
    return input.polygamma(n)
