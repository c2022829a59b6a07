"""In-place tensor methods with PyTorch's rules: ``name_`` computes ``name`` and writes the result back
(``Tensor._write``: a leaf gets the new values, a computed tensor a new node, a view updates its base).

PyTorch's refusals: an in-place update of a leaf that requires grad (or of a view of one) outside
``no_grad``, one whose result has another shape than the tensor, a float result into an integer tensor and a
non-bool result into a bool tensor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..core import dtypes
from ..errors import DTypeError
from .base import TensorBase

if TYPE_CHECKING:
    from .tensor import Tensor

#: in-place methods also offered as ``symnet.<name>(tensor, …)``, as torch offers them
FUNCTIONS = ("exp_", "log_", "log1p_", "sqrt_", "abs_", "sin_", "cos_", "tanh_", "erf_", "sigmoid_", "relu_",
             "square_", "clamp_", "clip_", "index_put_", "neg_", "zero_", "fill_", "gcd_", "lcm_",
             "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_", "asinh_",
             "atan_", "atanh_", "ceil_", "clamp_max_", "clamp_min_", "cosh_", "deg2rad_", "erfc_", "exp2_", "expm1_",
             "fix_", "floor_", "frac_", "i0_", "ldexp_", "log10_", "log2_", "logit_", "nan_to_num_", "negative_",
             "rad2deg_", "reciprocal_", "round_", "rsqrt_", "sinc_", "sinh_", "tan_", "trunc_", "xlogy_", "addmv_")
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ()


#: the out-of-place computation of each ``name_`` that is not simply the method ``name``
_COMPUTE: dict[str, Callable] = {
    "clip": lambda self, min=None, max=None: self.clamp(min, max),  # noqa: A006 - PyTorch's names
    "copy": lambda self, src: (src if isinstance(src, TensorBase) else  # copy_ converts any dtype
                               self._leaf(np.asarray(src, dtype=self.dtype), self.dtype)).to(self.dtype),
    "fill": lambda self, value: value if isinstance(value, TensorBase) else
    self._leaf(np.full(self.shape, value, dtype=self.dtype), self.dtype),
    "zero": lambda self: self._leaf(np.zeros(self.shape, dtype=self.dtype), self.dtype),
    "float_power": lambda self, exponent: _double_only(self).float_power(exponent),
    "fill_diagonal": lambda self, fill_value, wrap=False: self._diagonal_filled(fill_value, wrap),
}


def _double_only(self: Tensor) -> Tensor:
    """``float_power_`` computes in float64 and writes back: PyTorch refuses a base of another dtype."""
    if self.dtype != dtypes.float64:
        raise DTypeError(f"float_power_: the base has dtype {self.dtype.name} but the operation's result requires "
                         "dtype float64 (as in PyTorch)")
    return self
_METHODS = ("add", "sub", "mul", "div", "neg", "exp", "log", "log1p", "sqrt", "abs", "sign", "sin", "cos", "tanh",
            "erf", "sigmoid", "relu", "square", "clamp", "pow", "masked_fill", "index_fill", "index_add", "index_copy",
            "index_put", "scatter", "scatter_add", "scatter_reduce", "index_reduce", "put",
            # the rest of torch.Tensor's name_ forms whose result keeps the shape
            "acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "asin", "asinh", "atan",
            "atanh", "cosh", "sinh", "tan", "exp2", "expm1", "log2", "log10", "rsqrt", "reciprocal", "erfinv",
            "erfc", "lgamma", "digamma", "polygamma", "i0", "logit", "sgn", "sinc", "nan_to_num", "deg2rad",
            "rad2deg", "ceil", "floor", "round", "trunc", "fix", "frac", "negative", "subtract", "multiply", "divide",
            "true_divide", "floor_divide", "remainder", "fmod", "atan2", "arctan2", "hypot", "copysign", "heaviside",
            "ldexp", "xlogy", "nextafter", "lerp", "clamp_min", "clamp_max", "addcmul", "addcdiv",
            "addmm", "addmv", "addbmm", "baddbmm", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal",
            "less", "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not",
            "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "cumsum", "cumprod", "tril", "triu",
            "renorm", "gcd", "lcm", "mvlgamma")


#: the in-place forms that convert any dtype into the tensor's (the others refuse what PyTorch cannot cast)
_CONVERTING = ("copy", "fill")


def _inplace_form(name: str) -> Callable:
    compute = _COMPUTE.get(name) or (lambda self, *args, **kwargs: getattr(self, name)(*args, **kwargs))

    def method(self, *args, **kwargs) -> Tensor:
        result = compute(self, *args, **kwargs)
        if self.dtype == dtypes.bool_ and result.dtype != dtypes.bool_ and name not in _CONVERTING:
            raise DTypeError(f"{name}_: result type {result.dtype.name} can't be cast to the desired output type "
                             "bool")
        return self._write(result, f"{name}_")

    method.__name__ = method.__qualname__ = f"{name}_"
    method.__doc__ = f"``{name}`` computed and written back into this tensor, as ``torch.Tensor.{name}_``."
    return method


class InplaceMethods(TensorBase):
    __slots__ = ()

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)


for _name in (*_COMPUTE, *_METHODS):
    setattr(InplaceMethods, f"{_name}_", _inplace_form(_name))
