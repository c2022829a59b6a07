"""In-place tensor methods with PyTorch's rules: ``name_`` computes ``name`` and writes the result back
(``Tensor._write``: a leaf gets the new values, a computed tensor a new node, a view updates its base). The
in-place shape methods (``squeeze_``, ``t_``, ``resize_``, …) change the layout instead (``Tensor._relayout``, with
the change as data: ``layout.Relayout``).

PyTorch's refusals: an in-place update of a leaf that requires grad (or of a view of one) outside
``no_grad``, one whose result has another shape than the tensor, a float result into an integer tensor and a
non-bool result into a bool tensor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..core import dtypes
from ..errors import DTypeError, GradError, NotSupportedError, ShapeError
from . import layout
from .base import TensorBase
from .dims import normalize_dim

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


def _contiguous_view(t: Tensor) -> bool:
    """Whether a view reads its bases' storage in C order (PyTorch's contiguous views: reshapes and leading
    indices of tensors not permuted in place), so that its C order is its storage order. The views its own
    in-place shape changes made (one per step) are skipped: ``layout.storage_steps`` undoes those."""
    for _ in range(sum(len(change.forward) for change in t._layouts)):
        t = t._base
    while t._view is not None:
        kinds = [item[0] for item in t._view[0][0]]
        lead = next((k for k, kind in enumerate(kinds) if kind != "index"), len(kinds))
        if kinds[:1] != ["reshape"] and any(kind != "all" for kind in kinds[lead:]):
            return False
        t = t._base
        if any(kind == "permute" for kind, _ in layout.storage_steps(t._layouts)):
            return False
    return True


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
            "addmm", "addmv", "addr", "addbmm", "baddbmm", "eq", "ne", "lt", "le", "gt", "ge", "greater",
            "greater_equal", "less", "less_equal", "not_equal", "logical_and", "logical_or", "logical_xor",
            "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "cumsum", "cumprod", "tril",
            "triu", "renorm", "gcd", "lcm", "mvlgamma")


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

    # ---------------------------------------------------------------- in-place shape changes
    def squeeze_(self, dim=None) -> Tensor:
        """``squeeze`` in place: the dims of size 1 among ``dim`` (all by default) dropped."""
        return self._reshaped_in_place(self.squeeze(dim).shape, "squeeze_")

    def unsqueeze_(self, dim: int) -> Tensor:
        """``unsqueeze`` in place: a dim of size 1 inserted at ``dim``."""
        d = normalize_dim(dim, self.dim() + 1, "unsqueeze_")
        return self._reshaped_in_place(self.shape[:d] + (1,) + self.shape[d:], "unsqueeze_")

    def t_(self) -> Tensor:
        """``t`` in place: a matrix transposed (a tensor of fewer dims kept)."""
        if self.dim() > 2:
            raise ShapeError(f"t_() expects a tensor with <= 2 dimensions, but self is {self.dim()}D")
        return self.transpose_(0, 1) if self.dim() == 2 else self._relayout(None, "t_")

    def transpose_(self, dim0: int, dim1: int) -> Tensor:
        """``transpose`` in place: dims ``dim0`` and ``dim1`` swapped (``new[…i…j…] = old[…j…i…]``)."""
        a, b = (normalize_dim(d, self.dim(), "transpose_") for d in (dim0, dim1))
        if a == b:
            return self._relayout(None, "transpose_")
        perm = list(range(self.dim()))
        perm[a], perm[b] = b, a
        return self._relayout(layout.permutation(tuple(perm)), "transpose_")

    swapaxes_ = swapdims_ = transpose_

    def resize_(self, *sizes, memory_format=None) -> Tensor:
        """The tensor in shape ``sizes``, its elements taken in storage order: as many as fit, then zeros (PyTorch
        leaves them unset). PyTorch refuses a tensor that requires grad; symnet also refuses a view (whose storage
        order it does not keep)."""
        size = tuple(sizes[0]) if len(sizes) == 1 and not isinstance(sizes[0], int) else tuple(sizes)
        if memory_format is not None and str(memory_format) != "torch.contiguous_format":
            raise NotSupportedError(f"resize_: memory_format={memory_format} (symnet's tensors are contiguous)")
        if any(not isinstance(n, int) or n < 0 for n in size):
            raise ShapeError(f"resize_: sizes must be non-negative integers, got {list(size)}")
        if self._requires_grad:
            raise GradError("cannot resize variables that require grad")
        if size == self.shape:
            return self
        if self._view is not None and (math.prod(size) > self.numel() or not _contiguous_view(self)):
            raise NotSupportedError(f"resize_ of a view of shape {list(self.shape)} to {list(size)}: symnet resizes "
                                    "a view only within its elements and when it reads its base's storage in order "
                                    "(a reshape or leading indices); resize the base, or a clone() of the view")
        pending = layout.storage_steps(self._layouts)
        storage = layout.apply(np.empty(self.shape, np.bool_), pending).shape
        return self._relayout(layout.resizing(self.shape, storage, pending, size), "resize_")

    def resize_as_(self, other: Tensor, memory_format=None) -> Tensor:
        """``resize_`` to ``other``'s shape."""
        return self.resize_(other.shape, memory_format=memory_format)

    def _reshaped_in_place(self, shape: tuple, op: str) -> Tensor:
        return self._relayout(layout.reshaping(self.shape, tuple(shape)) if tuple(shape) != self.shape else None, op)


for _name in (*_COMPUTE, *_METHODS):
    setattr(InplaceMethods, f"{_name}_", _inplace_form(_name))
