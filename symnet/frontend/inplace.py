"""In-place tensor methods (``zero_``, ``fill_``, ``copy_``, ``+=``, …) with PyTorch's rules on leaves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import GradError, ShapeError
from .autograd import is_grad_enabled
from .base import TensorBase

if TYPE_CHECKING:
    from .tensor import Tensor


class InplaceMethods(TensorBase):
    __slots__ = ()

    def copy_(self, src) -> Tensor:
        """Copy ``src``'s values in (broadcast to this shape), as ``torch.Tensor.copy_``."""
        self._check_inplace("copy_")
        value = np.asarray(src.numpy() if isinstance(src, TensorBase) else src)
        self._store(np.broadcast_to(value, self.shape).astype(self.dtype, copy=True))
        return self

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value) -> Tensor:
        self._check_inplace("fill_")
        self._store(np.full(self.shape, value, dtype=self.dtype))
        return self

    def _check_inplace(self, op: str) -> None:
        if self.node is not None:
            raise GradError(f"{op}: in-place ops are for leaf tensors; this one was computed by an op")
        if self.requires_grad and is_grad_enabled():
            raise GradError(f"{op}: a leaf tensor that requires grad is used in an in-place operation; "
                            "wrap the update in `with symnet.no_grad():`")

    def _inplace(self, op: str, other) -> Tensor:
        """``a -= b``: updates a leaf's value in place (under no_grad for leaves that require grad); on a
        computed tensor it records the out-of-place op, as rebinding the name does."""
        if self.node is None:
            self._check_inplace(f"__i{op.strip('_')}__")
        result = getattr(self, op)(other)
        if self.node is not None:
            return result
        if result.shape != self.shape:
            raise ShapeError(f"in-place {op.strip('_')}: result shape {result.shape} != {self.shape}")
        self._store(result.numpy().astype(self.dtype, copy=False))
        return self

    def __iadd__(self, other):
        return self._inplace("__add__", other)

    def __isub__(self, other):
        return self._inplace("__sub__", other)

    def __imul__(self, other):
        return self._inplace("__mul__", other)

    def __itruediv__(self, other):
        return self._inplace("__truediv__", other)
