"""Contractions as tensor methods: ``@`` with NumPy's rules for 1-d operands and broadcast batch dims."""

from __future__ import annotations

from ..core.ops import MatMul
from ..errors import DTypeError
from .base import TensorBase
from .pointwise import _as_tensor

#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS = ("matmul",)
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ()

class LinalgMethods(TensorBase):
    __slots__ = ()

    def __matmul__(self, other):
        other = _as_tensor(other, self)
        if other.dtype != self.dtype:  # PyTorch's refusal: no silent promotion in a contraction
            raise DTypeError(f"matmul: expected both operands to have the same dtype, but got {self.dtype} and "
                             f"{other.dtype}; convert one with .to()")
        return self._apply(MatMul(), [self, other], self.dtype)

    def __rmatmul__(self, other):
        return _as_tensor(other, self).__matmul__(self)

    def matmul(self, other):
        return self @ other
