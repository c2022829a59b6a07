"""Counting and data-dependent shapes: histc, bincount, unique, unique_consecutive, nonzero and argwhere.

Their results' shapes (or, for histc, the bins' range) come from the values, so they run eagerly on the input's
array, as PyTorch's eager mode does, and give tensors without a graph (PyTorch has no gradient for them either).
Traced inside a compiled step (``sn.compile``) they would freeze one batch's answer into the program: refused.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np

from ..core import dtypes
from ..core.dtypes import is_float
from ..errors import DTypeError, NotSupportedError, ShapeError
from .base import TensorBase
from .batch import batch_ids
from .dims import normalize_dim

if TYPE_CHECKING:
    from .tensor import Tensor

#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS = ("histc", "bincount", "unique", "unique_consecutive", "nonzero", "argwhere")
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ()


class CountingMethods(TensorBase):
    __slots__ = ()

    def _eager(self, op: str) -> np.ndarray:
        """The input's values now; refused while a compiled step is traced (the result depends on the data)."""
        if batch_ids():
            raise NotSupportedError(f"{op}: its result's shape depends on the data, so it runs eagerly only and "
                                    "cannot be traced into a compiled step (sn.compile)")
        return self.numpy()

    def _int_leaf(self, values: np.ndarray) -> Tensor:
        return self._leaf(np.ascontiguousarray(values, np.int64), dtypes.int64)

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
        """Counts of the elements in ``bins`` equal bins over [min, max] (the data's range when both are equal,
        widened by 1 each side if that is one value); elements outside and NaN are not counted, max goes to the
        last bin. Bin b = ⌊(x − min)·bins / (max − min)⌋ in the input's dtype, as PyTorch computes it."""
        if not is_float(self.dtype):
            raise DTypeError(f"histc: not implemented for {self.dtype.name} tensors (as in PyTorch)")
        if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins <= 0:
            raise ValueError(f"histc: bins must be > 0, got {bins!r}")
        x = self._eager("histc").reshape(-1)
        lo, hi = self.dtype.type(min), self.dtype.type(max)
        if lo > hi:
            raise ValueError(f"histc: max must be larger than min, got min={min} and max={max}")
        if lo == hi and x.size:
            lo, hi = x.min(), x.max()
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"histc: range of [{lo}, {hi}] is not finite")
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        x = x[(x >= lo) & (x <= hi)]
        pos = ((x - lo) * self.dtype.type(bins) / (hi - lo)).astype(np.int64)
        counts = np.bincount(np.minimum(pos, bins - 1), minlength=bins)
        return self._leaf(counts.astype(self.dtype), self.dtype)

    def bincount(self, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
        """How often each value 0, 1, …, max occurs in a 1-d non-negative integer tensor (at least ``minlength``
        counts), or the sum of ``weights`` at its occurrences: int64 counts; float32 weights give float32
        sums, other weights float64, as PyTorch's."""
        if self.dtype != dtypes.int64:
            raise DTypeError(f"bincount: only integer tensors are supported, got {self.dtype.name}")
        if self.dim() != 1:
            raise ShapeError(f"bincount: input must be 1-d, got shape {self.shape}")
        if isinstance(minlength, bool) or not isinstance(minlength, numbers.Integral) or minlength < 0:
            raise ValueError(f"bincount: minlength should be >= 0, got {minlength!r}")
        x = self._eager("bincount")
        if x.size and x.min() < 0:
            raise ValueError("bincount: input should contain only non-negative ints")
        if weights is None:
            return self._int_leaf(np.bincount(x, minlength=minlength))
        if not isinstance(weights, TensorBase) or weights.shape != self.shape:
            raise ShapeError(f"bincount: weights should have the input's shape {self.shape}, got "
                             f"{getattr(weights, 'shape', type(weights).__name__)}")
        dtype = dtypes.float32 if weights.dtype == dtypes.float32 else dtypes.float64
        sums = np.bincount(x, weights._eager("bincount").astype(np.float64), minlength=minlength)
        return self._leaf(sums.astype(dtype), dtype)

    def unique(self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
               dim: int | None = None):
        """The distinct values in ascending order (each NaN distinct; PyTorch's CPU result is sorted whatever
        ``sorted`` says), with the inverse indices (input's shape) and counts when asked; ``dim``: distinct
        slices along it."""
        x = self._eager("unique")
        if dim is None:
            values, inverse, counts = np.unique(x.reshape(-1), return_inverse=True, return_counts=True,
                                                equal_nan=False)
            return self._distinct(values, inverse.reshape(x.shape), counts, return_inverse, return_counts)
        d = normalize_dim(dim, self.dim(), "unique")
        if self.shape[d] == 0 or not is_float(self.dtype) or not np.isnan(x).any():
            values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True, axis=d)
            return self._distinct(values, inverse.reshape(-1), counts, return_inverse, return_counts)
        raise NotSupportedError("unique(dim=…) of a float tensor holding NaN is not supported")

    def unique_consecutive(self, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None):
        """Each run of equal consecutive elements (slices along ``dim``) kept once (NaN never equals NaN), with
        the inverse indices and run lengths when asked."""
        x = self._eager("unique_consecutive")
        if dim is None:
            x, d = x.reshape(-1), 0
        else:
            d = normalize_dim(dim, self.dim(), "unique_consecutive")
        moved = np.moveaxis(x, d, 0)
        n = moved.shape[0]
        starts = np.ones(n, bool)
        if n > 1:
            starts[1:] = (moved[1:] != moved[:-1]).reshape(n - 1, -1).any(axis=1)
        inverse = np.cumsum(starts) - 1
        counts = np.diff(np.append(np.flatnonzero(starts), n))
        values = np.moveaxis(moved[starts], 0, d)
        inverse = inverse.reshape(self.shape) if dim is None else inverse
        return self._distinct(values, inverse, counts, return_inverse, return_counts)

    def _distinct(self, values, inverse, counts, return_inverse: bool, return_counts: bool):
        """unique's result: the values alone, or a tuple with the inverse indices and counts asked for."""
        out = self._leaf(np.ascontiguousarray(values, self.dtype), self.dtype)
        extras = [self._int_leaf(a) for a, asked in ((inverse, return_inverse), (counts, return_counts)) if asked]
        return (out, *extras) if extras else out

    def nonzero(self, *, as_tuple: bool = False):
        """The indices of the nonzero elements, one row each (n, ndim); ``as_tuple``: one 1-d tensor per dim
        (a 0-d input counts as 1-d there, as PyTorch's)."""
        x = self._eager("nonzero")
        if as_tuple:
            return tuple(self._int_leaf(i) for i in np.nonzero(np.atleast_1d(x)))
        return self._int_leaf(np.argwhere(x).reshape(int(np.count_nonzero(x)), x.ndim))

    def argwhere(self) -> Tensor:
        """``nonzero()``: the indices of the nonzero elements, one row each."""
        return self.nonzero()
