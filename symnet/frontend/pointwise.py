"""Element-wise tensor methods: arithmetic, element functions, comparisons and casts — each a ``Map`` (or a
``Cast``) of the op table, with ``torch.result_type``'s promotion of tensors and Python scalars."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..core import dtypes
from ..core.dtypes import as_dtype, float_result, is_float, result_type
from ..core.ops import Cast, Map
from ..errors import DTypeError
from .base import TensorBase

if TYPE_CHECKING:
    from .tensor import Tensor


#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS = ("exp", "log", "log1p", "sqrt", "abs", "sign", "sin", "cos", "tanh", "erf", "sigmoid", "relu", "softplus",
             "clamp", "pow", "square")
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ()

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

    def __rsub__(self, other):
        _refuse_bool("subtraction", self, other)
        return _elementwise("sub", (other, self), "promote")

    def __mul__(self, other):
        return self._map("mul", other)

    def __rmul__(self, other):
        return _elementwise("mul", (other, self), "promote")

    def __truediv__(self, other):
        return self._map("div", other, result="float")

    def __rtruediv__(self, other):
        return _elementwise("div", (other, self), "float")

    def __pow__(self, other):
        return self._map("pow", other, result="float" if isinstance(other, float) else "promote")

    def __rpow__(self, other):
        return _elementwise("pow", (other, self), "float")

    def __neg__(self):
        _refuse_bool("negation", self)
        return self._map("neg")

    def pow(self, exponent):
        return self ** exponent

    def abs(self):
        _refuse_bool("abs", self)
        return self._map("abs")

    def sign(self):
        _refuse_bool("sign", self)
        return self._map("sign")

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

    def erf(self):
        return self._map("erf", result="float")

    def sigmoid(self):
        return self._map("sigmoid", result="float")

    def relu(self):
        _refuse_bool("relu", self)
        return self._map("relu")

    def leaky_relu(self, negative_slope: float = 0.01):
        return self._map("leaky_relu", float(negative_slope), result="float")

    def softplus(self, beta: float = 1.0, threshold: float = 20.0):
        return self._map("softplus", beta, threshold, result="float")

    def clamp(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        if not is_float(self.dtype) and all(isinstance(b, int | None) for b in (min, max)):
            info = np.iinfo(np.int64)  # an integer clamp stays integer, as in PyTorch
            lo, hi = info.min if min is None else min, info.max if max is None else max
            return self._map("clamp", int(lo), int(hi))
        lo = -math.inf if min is None else min
        hi = math.inf if max is None else max
        return self._map("clamp", float(lo), float(hi), result="float")

    clip = clamp

    def square(self):
        return self * self

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def long(self):
        return self.to(dtypes.int64)

    def bool(self):
        return self.to(dtypes.bool_)

    def to(self, dtype) -> Tensor:
        dtype = as_dtype(dtype)
        return self if dtype == self.dtype else self._apply(Cast(dtype), [self], dtype)

    type = to

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


_SCALARS = (bool, int, float, np.number)


def _refuse_bool(op: str, *operands) -> None:
    """PyTorch's refusals for bool operands (a mask is inverted with ``~``, not ``-``)."""
    if any(isinstance(x, bool) or (isinstance(x, TensorBase) and x.dtype == dtypes.bool_) for x in operands):
        raise DTypeError(f"{op} is not supported for bool tensors (as in PyTorch); convert with .long() or "
                         ".float() first")


def _elementwise(fn: str, operands: Sequence, result: str) -> Tensor:
    """A ``map`` op: tensors become inputs, Python numbers fold into the formula as constants; the dtype is
    ``torch.result_type``'s (then float for ``result="float"`` ops, bool for comparisons)."""
    like = next(o for o in operands if isinstance(o, TensorBase))
    tensors, slots, scalars = [], [], []
    for x in operands:
        if isinstance(x, TensorBase):
            slots.append(("t", len(tensors)))
            tensors.append(x)
        elif isinstance(x, _SCALARS):
            value = x.item() if isinstance(x, np.generic) else x
            slots.append(("c", value))
            scalars.append(type(value))
        else:
            slots.append(("t", len(tensors)))
            tensors.append(_as_tensor(x, like))
    first = tensors[0]
    if all(t.dtype == first.dtype for t in tensors) and (not scalars or first.dtype.kind == "f"):
        dtype = first.dtype  # the common case: no promotion can happen
    else:
        dtype = result_type([t.dtype for t in tensors if t.shape], [t.dtype for t in tensors if not t.shape], scalars)
    if result == "float":
        dtype = float_result(dtype)
    elif result == "bool":
        dtype = dtypes.bool_
    shape = first.shape if all(t.shape == first.shape for t in tensors) else None  # else: broadcasting rule
    return like._apply(Map(fn, tuple(slots)), tensors, dtype, shape)


def _as_tensor(value, like: Tensor) -> Tensor:
    if isinstance(value, TensorBase):
        return value
    arr = np.asarray(value)
    dtype = like.dtype if arr.dtype.kind == "f" and is_float(like.dtype) else as_dtype(arr.dtype)
    if arr.dtype.kind == "f" and not is_float(like.dtype):
        dtype = dtypes.get_default_dtype()
    return like._leaf(arr.astype(dtype), dtype)
