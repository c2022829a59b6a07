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
from ..errors import ArgumentError, DTypeError, NotSupportedError, ShapeError
from . import return_types
from .base import TensorBase
from .batch import batch_ids
from .dims import normalize_dim

if TYPE_CHECKING:
    from .tensor import Tensor

#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS = ("histc", "histogram", "bincount", "unique", "unique_consecutive", "nonzero", "argwhere")
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ()


class CountingMethods(TensorBase):
    __slots__ = ()

    def _eager(self, op: str) -> np.ndarray:
        """The input's values now; refused while a compiled step is traced (the result depends on the data)."""
        if batch_ids():
            raise NotSupportedError(f"{op}: its result's shape depends on the data, so it runs eagerly only and "
                                    "cannot be traced into a compiled step (sn.compile)")
        return self._array()

    def _int_leaf(self, values: np.ndarray) -> Tensor:
        return self._leaf(np.ascontiguousarray(values, np.int64), dtypes.int64)

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
        """Counts of the elements in ``bins`` equal bins over [min, max] (the data's range when both are equal,
        widened by 1 each side if that is one value); elements outside and NaN are not counted, max goes to the
        last bin. Bin b = ⌊(x − min)·bins / (max − min)⌋ in the input's dtype, as PyTorch computes it."""
        if not is_float(self.dtype):
            raise DTypeError(f"histc: not implemented for {self.dtype.name} tensors (as in PyTorch)")
        if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins <= 0:
            raise ArgumentError(f"histc: bins must be > 0, got {bins!r}")
        x = self._eager("histc").reshape(-1)
        lo, hi = self.dtype.type(min), self.dtype.type(max)
        if lo > hi:
            raise ArgumentError(f"histc: max must be larger than min, got min={min} and max={max}")
        if lo == hi and x.size:
            lo, hi = x.min(), x.max()
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ArgumentError(f"histc: range of [{lo}, {hi}] is not finite")
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        x = x[(x >= lo) & (x <= hi)]
        pos = ((x - lo) * self.dtype.type(bins) / (hi - lo)).astype(np.int64)
        counts = np.bincount(np.minimum(pos, bins - 1), minlength=bins)
        return self._leaf(counts.astype(self.dtype), self.dtype)

    def histogram(self, bins: int | Tensor = 100, *, range: tuple[float, float] | None = None,  # noqa: A002
                  weight: Tensor | None = None, density: bool = False) -> return_types.histogram:
        """(hist, bin_edges): counts (or summed ``weight``) of the elements per bin, the last bin closed on the
        right, elements outside the edges and NaN not counted. ``bins`` is a count of equal bins over ``range``
        (the data's min and max; ±0.5 around a single value; [0, 1] for no data) or a 1-d tensor of increasing
        edges. ``density``: hist / (Σ hist · bin width), a density that integrates to 1."""
        if not is_float(self.dtype):
            raise NotSupportedError(f'"histogram" not implemented for {self.dtype.name} tensors (as in PyTorch)')
        x = self._eager("histogram").reshape(-1)
        edges = self._bin_edges(x, bins, range)
        if weight is not None:
            if not isinstance(weight, TensorBase) or weight.shape != self.shape or weight.dtype != self.dtype:
                raise ShapeError(f"histogram: weight must be a tensor of the input's shape {list(self.shape)} and "
                                 f"dtype {self.dtype.name}, got {getattr(weight, 'shape', type(weight).__name__)}")
            weight = weight._eager("histogram").reshape(-1)
        inside = (x >= edges[0]) & (x <= edges[-1])
        pos = np.minimum(np.searchsorted(edges, x[inside], side="right") - 1, len(edges) - 2)
        hist = np.bincount(pos, None if weight is None else weight[inside], minlength=len(edges) - 1)
        hist = hist.astype(self.dtype)
        if density:
            with np.errstate(divide="ignore", invalid="ignore"):  # no counts: NaN, as PyTorch's
                hist = hist / hist.sum() / np.diff(edges)
        return return_types.histogram(self._leaf(hist.astype(self.dtype), self.dtype), self._leaf(edges, self.dtype))

    def _bin_edges(self, x: np.ndarray, bins, range) -> np.ndarray:  # noqa: A002
        """histogram's edges: given (1-d, increasing, of the input's dtype), or ``bins`` + 1 equally spaced."""
        if isinstance(bins, TensorBase):
            if range is not None:
                raise TypeError("histogram(): range is for a count of bins, not with a tensor of bin edges")
            if bins.dim() != 1 or bins.dtype != self.dtype or bins.numel() == 0:
                raise ShapeError(f"histogram: bins must be a non-empty 1-d tensor of the input's dtype "
                                 f"{self.dtype.name}, got shape {list(bins.shape)} and dtype {bins.dtype.name}")
            edges = bins._eager("histogram")
            if np.any(np.diff(edges) < 0) or np.isnan(edges).any():
                raise ArgumentError("histogram: bin edges must increase monotonically")
            return edges
        if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins <= 0:
            raise ArgumentError(f"histogram(): bins must be > 0, but got {bins!r}")
        if range is not None:
            lo, hi = (float(v) for v in range)
        else:
            lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 1.0)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ArgumentError(f"histogram: range [{lo}, {hi}] is not finite")
        if lo > hi:
            raise ArgumentError(f"histogram: min should not exceed max, but got min {lo} max {hi}")
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        return np.linspace(lo, hi, bins + 1).astype(self.dtype)

    def bincount(self, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
        """How often each value 0, 1, …, max occurs in a 1-d non-negative integer tensor (at least ``minlength``
        counts), or the sum of ``weights`` at its occurrences: int64 counts; float32 weights give float32
        sums, other weights float64, as PyTorch's."""
        if self.dtype != dtypes.int64:
            raise DTypeError(f"bincount: only integer tensors are supported, got {self.dtype.name}")
        if self.dim() != 1:
            raise ShapeError(f"bincount: input must be 1-d, got shape {self.shape}")
        if isinstance(minlength, bool) or not isinstance(minlength, numbers.Integral) or minlength < 0:
            raise ArgumentError(f"bincount: minlength should be >= 0, got {minlength!r}")
        x = self._eager("bincount")
        if x.size and x.min() < 0:
            raise ArgumentError("bincount: input should contain only non-negative ints")
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
