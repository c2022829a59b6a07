"""Shape methods (permute, reshape, squeeze, …), data-dependent reads (gather) and joins (cat, stack): ops that
move elements without computing on them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core import dtypes
from ..core.dtypes import result_type
from ..core.ops import Gather, Permute, Reshape, Squeeze, Unsqueeze
from ..core.windows import Concat
from ..errors import DTypeError, ShapeError
from .base import TensorBase
from .dims import normalize_dim

if TYPE_CHECKING:
    from .tensor import Tensor


#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS = ("reshape", "flatten", "transpose", "permute", "unsqueeze", "squeeze", "gather")
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ("cat", "stack")

class ShapeMethods(TensorBase):
    __slots__ = ()

    def permute(self, *dims):
        dims = tuple(dims[0]) if len(dims) == 1 and not isinstance(dims[0], int) else dims
        perm = tuple(normalize_dim(d, self.dim(), "permute") for d in dims)
        if sorted(perm) != list(range(self.dim())):
            raise ShapeError(f"permute: {dims} is not a permutation of the {self.dim()} dims of {self.shape}")
        return self._apply(Permute(perm), [self], self.dtype)

    def transpose(self, dim0: int, dim1: int):
        perm = list(range(self.dim()))
        a, b = (normalize_dim(d, self.dim(), "transpose") for d in (dim0, dim1))
        perm[a], perm[b] = perm[b], perm[a]
        return self.permute(perm)

    def t(self):
        if self.dim() > 2:
            raise ShapeError(f"t(): expects a tensor of at most 2 dims, got shape {self.shape}")
        return self if self.dim() < 2 else self.transpose(0, 1)

    @property
    def T(self):
        return self.permute(tuple(reversed(range(self.dim()))))

    def reshape(self, *shape):
        shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
        if sum(d == -1 for d in shape) > 1 or any(not isinstance(d, int) or d < -1 for d in shape):
            raise ShapeError(f"reshape: invalid shape {shape}")
        return self._apply(Reshape(tuple(shape)), [self], self.dtype)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.dim() == 0:
            return self.reshape(1)
        a, b = (normalize_dim(d, self.dim(), "flatten") for d in (start_dim, end_dim))
        if a >= b:
            return self
        spec = (None,) * a + (-1,) + tuple(self.shape[b + 1:])
        return self._apply(Reshape(spec), [self], self.dtype)

    def unsqueeze(self, dim: int):
        return self._apply(Unsqueeze(normalize_dim(dim, self.dim() + 1, "unsqueeze")), [self], self.dtype)

    def squeeze(self, dim=None):
        dims = self._dims(dim, "squeeze")
        return self._apply(Squeeze(tuple(d for d in dims if self.shape[d] == 1)), [self], self.dtype)

    def gather(self, dim: int, index: Tensor):
        if not isinstance(index, TensorBase) or index.dtype != dtypes.int64:
            raise DTypeError(f"gather: index must be an int64 tensor, got {getattr(index, 'dtype', type(index))}")
        return self._apply(Gather(normalize_dim(dim, self.dim(), "gather")), [self, index], self.dtype)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Tensors joined along ``dim`` (``torch.cat``): same shapes elsewhere, dtypes promoted."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    if not all(isinstance(t, TensorBase) for t in tensors):
        raise TypeError("cat: expected a sequence of Tensors")
    rank = tensors[0].dim()
    if rank == 0:
        raise ShapeError("cat: zero-dimensional tensors cannot be concatenated")
    dim = normalize_dim(dim, rank, "cat")
    dtype = result_type([t.dtype for t in tensors], [], [])
    tensors = [t.to(dtype) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    return tensors[0]._apply(Concat(dim), tensors, dtype)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Tensors of one shape stacked along a new dimension ``dim`` (``torch.stack``)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    if any(t.shape != tensors[0].shape for t in tensors):
        raise ShapeError(f"stack: expects each tensor to be equal size, got {[t.shape for t in tensors]}")
    dim = normalize_dim(dim, tensors[0].dim() + 1, "stack")
    return cat([t.unsqueeze(dim) for t in tensors], dim)
