"""Order statistics, running extremes and searches: cummax/cummin, logcumsumexp, median/nanmedian, mode, kthvalue,
quantile/nanquantile (methods) and searchsorted, bucketize, isin (functions).

Each is built from the stable ranks and sorts of ``symnet.core.scans`` and gathers, so the values' gradient is
derived (it flows to the selected positions, as PyTorch's backward scatters it) and every op compiles:

    cummax   R = rank(x); M[i] = max_{k ≤ i} R[k]; index[i] = argsort(x)[M[i]]   (the last of equal maxima)
    mode     C[j] = Σ_l [s_j = s_l] over the sorted s; the first j with the largest C (the smallest value), then
             the last of its run (PyTorch returns the last index of the mode)
    quantile r = q·(n − 1) over the sorted s: s[⌊r⌋] + (r − ⌊r⌋)·(s[⌈r⌉] − s[⌊r⌋])  (linear)
    search   searchsorted(s, v) = Σ_k ¬[s_k ≥ v]  (right: ¬[s_k > v]); a NaN value goes past the end
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

import numpy as np

from ..core import dtypes
from ..core.dtypes import is_float
from ..core.scans import ExpScan, Order, Rank, Scan
from ..errors import ArgumentError, DTypeError, NotSupportedError, ShapeError
from . import return_types
from .base import TensorBase
from .batch import varies_per_step
from .dims import normalize_dim
from .pointwise import _refuse_bool

if TYPE_CHECKING:
    from .tensor import Tensor

#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS = ("cummax", "cummin", "logcumsumexp", "median", "nanmedian", "mode", "kthvalue", "quantile",
             "nanquantile")
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ("searchsorted", "bucketize", "isin")

INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


class OrderingMethods(TensorBase):
    __slots__ = ()

    # ---------------------------------------------------------------- running extremes
    def cummax(self, dim: int) -> return_types.cummax:
        """Running maximum along ``dim`` and where it is: among equal maxima the last one, NaN the largest (its
        last occurrence), as PyTorch's; the gradient goes to that index."""
        return self._running_best(self, dim, "cummax")

    def cummin(self, dim: int) -> return_types.cummin:
        """Running minimum along ``dim``: the running best of the order turned around (NaN still wins)."""
        return self._running_best(self._reversed(), dim, "cummin")

    def _running_best(self, key: Tensor, dim: int, op: str) -> tuple[Tensor, Tensor]:
        """self at the position of the largest ``key`` (stable rank: later ties rank higher) over k ≤ i."""
        d = normalize_dim(dim, self.dim(), op)
        if not self.shape or self.numel() == 0:
            return return_types.BY_OP[op](self.clone(), self._leaf(np.zeros(self.shape, np.int64), dtypes.int64))
        rank = key._apply(Rank(d, False), [key], dtypes.int64)
        best = rank._apply(Scan("max", d), [rank], dtypes.int64)
        indices = rank._apply(Order(d), [rank], dtypes.int64).gather(d, best)
        return return_types.BY_OP[op](self.gather(d, indices), indices)

    def logcumsumexp(self, dim: int) -> Tensor:
        """log Σ_{k ≤ i} exp(x_k) = m_i + log Σ_{k ≤ i} exp(x_k − m_i), m_i the running max (a stop-gradient, 0
        where infinite): finite wherever the result is, however far a prefix lies below the row's max."""
        if not is_float(self.dtype):
            raise DTypeError(f"logcumsumexp: not implemented for {self.dtype.name} tensors (as in PyTorch)")
        d = normalize_dim(dim, self.dim(), "logcumsumexp")
        if not self.shape:
            return self.reshape(1).logcumsumexp(0).reshape(())
        if self.numel() == 0:
            return self.clone()
        shift = self._apply(Scan("max", d), [self], self.dtype)
        shift = shift.masked_fill(shift.isinf(), 0)._map("stop_gradient")
        return self._apply(ExpScan(d), [self, shift], self.dtype).log() + shift

    # ---------------------------------------------------------------- order statistics
    def _sorted_at(self, d: int, at: Tensor, keepdim: bool, op: str) -> tuple[Tensor, Tensor]:
        """Values and indices of the stable sort along ``d`` at the positions ``at`` (int64, size 1 along d)."""
        picked = [t.gather(d, at) for t in self.sort(d)]
        return return_types.BY_OP[op](*(t if keepdim else t.squeeze(d) for t in picked))

    def _order_dim(self, dim: int, op: str) -> tuple[int, int]:
        """The normalized dim and its size (a 0-d tensor is one element), refusing an empty one."""
        d = normalize_dim(dim, self.dim(), op)
        size = self.shape[d] if self.shape else 1
        if size == 0:
            raise ShapeError(f"{op}: cannot reduce over dimension {dim} of size 0 (shape {self.shape})")
        return d, size

    def _as_1d(self, op, *args, **kwargs):
        """A 0-d tensor's order statistic: that of its one-element 1-d copy, squeezed back."""
        result = getattr(self.reshape(1), op)(*args, **kwargs)
        return type(result)(*(t.reshape(()) for t in result))

    def median(self, dim: int | None = None, keepdim: bool = False):
        """The lower median (the ⌊(n−1)/2⌋-th smallest); with ``dim``, values and indices; NaN if any is NaN
        (the first NaN's index)."""
        return self._median(dim, keepdim, "median")

    def nanmedian(self, dim: int | None = None, keepdim: bool = False):
        """The lower median of the elements that are not NaN (NaN where all are), as ``torch.nanmedian``."""
        return self._median(dim, keepdim, "nanmedian")

    def _median(self, dim, keepdim: bool, op: str):
        _refuse_bool(op, self)
        skip_nan = op == "nanmedian" and is_float(self.dtype)
        if dim is None:
            flat = self.reshape(-1)
            if flat.numel() == 0:  # NaN, or for integers NaN cast as PyTorch's kernel casts it: the least int64
                empty = np.nan if is_float(self.dtype) else np.iinfo(np.int64).min
                return self._leaf(np.array(empty, self.dtype), self.dtype)
            return flat._full_median(skip_nan)
        if not self.shape:
            normalize_dim(dim, 0, op)
            return self._as_1d(op, 0)
        d, size = self._order_dim(dim, op)
        if not is_float(self.dtype):
            at = self._leaf(np.full((), (size - 1) // 2, np.int64), dtypes.int64)
        else:  # NaN sorts last: median picks a row's first NaN, nanmedian the lower median of the rest
            nans = self.isnan().sum(d, keepdim=True)
            at = ((size - nans - 1) // 2).clamp(min=0) if skip_nan else (size - nans).where(nans > 0, (size - 1) // 2)
        shape = list(self.shape)
        shape[d] = 1
        return self._sorted_at(d, at.expand(shape), keepdim, op)

    def _full_median(self, skip_nan: bool) -> Tensor:
        """The lower median m of a 1-d tensor as the largest element ≤ m: as a max, its gradient is split among
        the ties (PyTorch's rule); a NaN anywhere (never masked: NaN > m is false) makes it NaN, unless skipped."""
        n = self.numel()
        if not skip_nan:
            m = self.sort().values._narrow(0, (n - 1) // 2, None)
            drop = self > m
        else:
            valid = self.isnan().logical_not().sum(0, keepdim=True)
            m = self.sort().values.gather(0, ((valid - 1) // 2).clamp(min=0)).squeeze(0)
            drop = (self > m).logical_or(self.isnan())
        lowest = -math.inf if is_float(self.dtype) else int(np.iinfo(np.int64).min)
        found = self.masked_fill(drop, lowest).amax()
        return found.where(valid.squeeze(0) > 0, m) if skip_nan else found

    def mode(self, dim: int = -1, keepdim: bool = False) -> return_types.mode:
        """The most frequent value along ``dim`` (the smallest of equally frequent ones; NaN never equals NaN)
        and the last index where it occurs, as PyTorch's."""
        if not self.shape:
            normalize_dim(dim, 0, "mode")
            return self._as_1d("mode", 0)
        d, _ = self._order_dim(dim, "mode")
        values, order = self.sort(d)
        counts = (values.unsqueeze(d + 1) == values.unsqueeze(d)).sum(d + 1)
        first = counts.argmax(d, keepdim=True)
        indices = order.gather(d, first + counts.gather(d, first) - 1)
        result = return_types.mode(self.gather(d, indices), indices)
        return result if keepdim else return_types.mode(*(t.squeeze(d) for t in result))

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> return_types.kthvalue:
        """The k-th smallest along ``dim`` and its index (among equal elements PyTorch leaves which one open;
        this is the stable sort's)."""
        _refuse_bool("kthvalue", self)
        if not self.shape:
            normalize_dim(dim, 0, "kthvalue")
            return self._as_1d("kthvalue", k, 0)
        d, size = self._order_dim(dim, "kthvalue")
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= size:
            raise ShapeError(f"kthvalue: selected number k={k!r} out of range for dimension {dim} of size {size}")
        shape = list(self.shape)
        shape[d] = 1
        return self._sorted_at(d, self._leaf(np.full(shape, int(k) - 1, np.int64), dtypes.int64), keepdim,
                               "kthvalue")

    def quantile(self, q, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear"):
        """The q-quantiles along ``dim`` (all elements by default) between the sorted values around q·(n − 1);
        NaN where a NaN is present. A 1-d q puts its dimension first."""
        return self._quantile(q, dim, keepdim, interpolation, "quantile")

    def nanquantile(self, q, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear"):
        """``quantile`` of the elements that are not NaN (NaN where all are)."""
        return self._quantile(q, dim, keepdim, interpolation, "nanquantile")

    def _quantile(self, q, dim, keepdim: bool, interpolation: str, op: str) -> Tensor:
        if not is_float(self.dtype):
            raise DTypeError(f"{op}() input tensor must be either float or double dtype, got {self.dtype.name}")
        if interpolation not in INTERPOLATIONS:
            raise ArgumentError(f"{op}() interpolation must be one of {', '.join(INTERPOLATIONS)}, got "
                                f"{interpolation!r}")
        qs = _quantile_levels(self, q, op)
        if self.numel() == 0:
            raise ShapeError(f"{op}() input tensor must be non-empty")
        x, d = (self.reshape(-1), 0) if dim is None or not self.shape else (self, normalize_dim(dim, self.dim(), op))
        if dim is not None and not self.shape:
            normalize_dim(dim, 0, op)
        s = x.sort(d).values.movedim(d, -1)  # (..., n)
        last = s.shape[-1] - 1
        levels = qs.reshape(qs.shape + (1,) * s.dim())  # (Q?, 1, ..., 1)
        if op == "nanquantile":
            valid = s.isnan().logical_not().sum(-1, keepdim=True)
            rank = (levels * (valid - 1)).where(valid > 0, last)
        else:
            rank = (levels * last).where(s._narrow(s.dim() - 1, last, 1).isnan().logical_not(), last)
        rank = {"lower": rank.floor(), "higher": rank.ceil(), "nearest": rank.round()}.get(interpolation, rank)
        s = s.expand(qs.shape + s.shape)
        below = s.gather(-1, rank.floor().long())
        if interpolation in ("linear", "midpoint"):
            weight = rank - rank.floor() if interpolation == "linear" else rank * 0 + 0.5
            below = below.lerp(s.gather(-1, rank.ceil().long()), weight)
        out = below.squeeze(-1)
        if keepdim:
            lead = qs.dim()
            out = out.reshape(qs.shape + (1,) * self.dim()) if dim is None else out.unsqueeze(lead + d) \
                if self.shape else out
        return out


def _quantile_levels(x: Tensor, q, op: str) -> Tensor:
    """q as a tensor of x's dtype (0-d or 1-d), checked to lie in [0, 1] as PyTorch checks it (a tensor q keeps
    its graph: the linear weight r − ⌊r⌋ carries a gradient to q, as PyTorch's)."""
    if isinstance(q, TensorBase):
        if q.dtype != x.dtype:
            raise DTypeError(f"{op}() q tensor must be same dtype as the input tensor ({x.dtype.name}), got "
                             f"{q.dtype.name}")
        if q.dim() > 1:
            raise ShapeError(f"{op}() q must be a scalar or 1D tensor, got shape {q.shape}")
        values = None if varies_per_step(q) else q._array()  # a compiled step's q: no value to check yet
    elif isinstance(q, numbers.Real) and not isinstance(q, bool):
        values = np.asarray(q, x.dtype)
        q = x._leaf(values, x.dtype)
    else:
        raise TypeError(f"{op}(): q must be a float or a tensor, got {type(q).__name__}")
    if values is not None and not np.all((values >= 0) & (values <= 1)):
        raise ArgumentError(f"{op}() q values must be in the range [0, 1]")
    return q


# ---------------------------------------------------------------- searching
def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False, right: bool = False,  # noqa: A002
                 side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """For each value v, the index where it would be inserted into the sorted innermost rows of
    ``sorted_sequence`` to keep them sorted: Σ_k ¬[s_k ≥ v] (``right``/side='right': Σ_k ¬[s_k > v])."""
    if side is not None:
        if side not in ("left", "right"):
            raise ArgumentError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise ArgumentError("searchsorted: side and right can't be set to opposites, got side='left' and "
                                "right=True")
        right = side == "right"
    if out_int32:
        raise NotSupportedError("searchsorted(out_int32=True): symnet has no int32 dtype; use the int64 result")
    s = sorted_sequence
    if not isinstance(s, TensorBase) or not s.shape:
        raise ShapeError("searchsorted: sorted_sequence must be a tensor of at least 1 dimension")
    _refuse_bool("searchsorted", s)
    if sorter is not None:
        if not isinstance(sorter, TensorBase) or sorter.dtype != dtypes.int64 or sorter.shape != s.shape:
            raise ShapeError("searchsorted: sorter must be an int64 tensor of sorted_sequence's shape")
        s = s.gather(-1, sorter)
    values = _as_tensor(input, s)
    _refuse_bool("searchsorted", values)
    if s.dim() > 1:
        if values.shape[:-1] != s.shape[:-1]:
            raise ShapeError(f"searchsorted: sorted_sequence {s.shape} and input {values.shape} must have the same "
                             "leading dimensions")
        s = s.unsqueeze(-2)
    past = s > values.unsqueeze(-1) if right else s >= values.unsqueeze(-1)
    return past.logical_not().sum(-1)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:  # noqa: A002
    """The bucket of each element: i with boundaries[i−1] < x ≤ boundaries[i] (``right``: ≤ x <), that is
    ``searchsorted(boundaries, input)``."""
    if not isinstance(boundaries, TensorBase) or boundaries.dim() != 1:
        raise ShapeError(f"bucketize: boundaries tensor must be 1 dimension, got "
                         f"{getattr(boundaries, 'shape', type(boundaries).__name__)}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each element of ``elements`` equals one of ``test_elements`` (NaN matches nothing);
    ``invert`` negates it. ``assume_unique`` only speeds PyTorch up and changes nothing here."""
    if not isinstance(elements, TensorBase) and not isinstance(test_elements, TensorBase):
        raise TypeError("isin: elements and test_elements cannot both be scalars")
    like = elements if isinstance(elements, TensorBase) else test_elements
    e, t = (_as_tensor(v, like) for v in (elements, test_elements))
    found = (e.unsqueeze(-1) == t.reshape(-1)).any(-1)
    return found.logical_not() if invert else found


def _as_tensor(value, like: Tensor) -> Tensor:
    """A tensor operand as is; a Python number as a 0-d tensor (bool, int64, or the default float)."""
    if isinstance(value, TensorBase):
        return value
    if isinstance(value, bool):
        dtype = dtypes.bool_
    elif isinstance(value, numbers.Integral):
        dtype = dtypes.int64
    elif isinstance(value, numbers.Real):
        dtype = dtypes.get_default_dtype()
    else:
        raise TypeError(f"expected a tensor or a number, got {type(value).__name__}")
    return like._leaf(np.asarray(value, dtype), dtype)
