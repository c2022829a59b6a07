"""Reductions as tensor methods: sum, mean, max/min (PyTorch's tie rules), logsumexp and softmax with their
stop-gradient max shift, each a ``Reduce`` of the op table."""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING

from ..core import dtypes
from ..core.dtypes import float_result, is_float
from ..core.ops import Reduce
from ..errors import ShapeError
from .base import TensorBase
from .dims import normalize_dim

if TYPE_CHECKING:
    from .tensor import Tensor

MaxResult = namedtuple("MaxResult", ["values", "indices"])


#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS = ("sum", "mean", "max", "min", "amax", "argmax", "logsumexp", "softmax", "log_softmax")
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ()

class ReductionMethods(TensorBase):
    __slots__ = ()

    def _dims(self, dim, op: str) -> tuple[int, ...]:
        if dim is None:
            return tuple(range(self.dim()))
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        return tuple(sorted({normalize_dim(d, self.dim(), op) for d in dims}))

    def _reduce(self, combine, dim, keepdim, dtype, mean=False, ties="first"):
        if self.numel() == 0 and combine in ("max", "argmax"):
            raise ShapeError(f"{combine}: the tensor is empty")
        return self._apply(Reduce(combine, self._dims(dim, combine), keepdim, mean, ties), [self], dtype)

    def sum(self, dim=None, keepdim: bool = False):
        dtype = self.dtype if is_float(self.dtype) else dtypes.int64
        return self._reduce("sum", dim, keepdim, dtype)

    def mean(self, dim=None, keepdim: bool = False):
        return self._reduce("sum", dim, keepdim, float_result(self.dtype), mean=True)

    def max(self, dim=None, keepdim: bool = False):
        """Full ``max()`` splits the gradient among ties; ``max(dim)`` returns (values, indices) and sends it
        to the first maximal element, as PyTorch does."""
        if dim is None:
            return self._reduce("max", None, False, self.dtype, ties="even")
        return MaxResult(self._reduce("max", dim, keepdim, self.dtype, ties="first"),
                         self._reduce("argmax", dim, keepdim, dtypes.int64))

    def min(self, dim=None, keepdim: bool = False):
        result = (-self).max(dim, keepdim)
        return -result if dim is None else MaxResult(-result.values, result.indices)

    def amax(self, dim=None, keepdim: bool = False):
        return self._reduce("max", dim, keepdim, self.dtype, ties="even")

    def argmax(self, dim=None, keepdim: bool = False):
        return self._reduce("argmax", dim, keepdim, dtypes.int64)

    def logsumexp(self, dim, keepdim: bool = False):
        """m + log Σ exp(x − m) with m = max(x) a stop-gradient: the gradient comes out as an exact softmax."""
        shift = self.amax(dim, keepdim=True)._map("stop_gradient")
        total = (self - shift).exp().sum(dim, keepdim=True).log() + shift
        return total if keepdim else total.squeeze(dim)

    def _shifted(self, dim: int) -> Tensor:
        """x − max(x) along dim, the max a stop-gradient: exact in floating point, so softmax stays accurate."""
        return self - self.amax(dim, keepdim=True)._map("stop_gradient")

    def softmax(self, dim: int):
        e = self._shifted(dim).exp()
        return e / e.sum(dim, keepdim=True)

    def log_softmax(self, dim: int):
        shifted = self._shifted(dim)
        return shifted - shifted.exp().sum(dim, keepdim=True).log()
