"""Basic indexing (``t[1, ::2, :3]``) parsed into the typed ``Slice`` op, with PyTorch's errors."""

from __future__ import annotations

import numpy as np

from ..core.ops import Slice
from ..errors import ShapeError
from .base import TensorBase


def slice_op(key, shape: tuple) -> Slice:
    """The ``Slice`` op that ``tensor[key]`` applies to a tensor of ``shape`` (ints and slices per dimension)."""
    key = key if isinstance(key, tuple) else (key,)
    if len(key) > len(shape):
        raise ShapeError(f"too many indices ({len(key)}) for a tensor of shape {shape}")
    items = []
    for k, n in zip(key + (slice(None),) * (len(shape) - len(key)), shape, strict=True):
        if isinstance(k, (int, np.integer)):
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for dimension of size {n}")
            items.append(("index", int(k) % n))
        elif isinstance(k, slice):
            start, stop, step = k.indices(n)
            if step < 1:
                raise ShapeError("slices with a negative step are not supported")
            length = max(0, -(-(stop - start) // step))
            items.append(("all",) if (start, step, length) == (0, 1, n) else ("range", start, step, length))
        else:
            raise TypeError(f"tensor indices must be ints or slices, got {type(k).__name__}")
    return Slice(tuple(items))


#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS = ()
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ()

class IndexingMethods(TensorBase):
    __slots__ = ()

    def __getitem__(self, key):
        return self._apply(slice_op(key, self.shape), [self], self.dtype)
