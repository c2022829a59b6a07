"""Reductions as tensor methods: sum, mean, prod, max/min (PyTorch's tie rules), var/std, norms, logsumexp and
softmax with their stop-gradient max shift, each a ``Reduce`` of the op table; scans (cumsum, cumprod) and sorting
(sort, argsort, topk) as the rows of ``symnet.core.scans``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..core import dtypes
from ..core.dtypes import as_dtype, float_result, is_float
from ..core.ops import Reduce, Slice
from ..core.scans import CorrectedMean, Order, Rank, Root, Scan
from ..errors import ArgumentError, DTypeError, ShapeError
from . import return_types
from .base import TensorBase
from .dims import distinct_dims, normalize_dim
from .pointwise import _refuse_bool
from .trace import shown

if TYPE_CHECKING:
    from .tensor import Tensor



#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS = ("sum", "mean", "max", "min", "amax", "amin", "aminmax", "argmax", "argmin", "logsumexp", "softmax",
             "log_softmax", "prod", "var", "std", "norm", "cumsum", "cumprod", "count_nonzero", "all", "any", "sort",
             "argsort", "msort", "topk", "nansum", "nanmean")
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ("var_mean", "std_mean")


def _extreme_name(kind: str):
    """``max``'s or ``min``'s grad_fn name, as PyTorch's: over all elements ``MaxBackward1``, along a dim
    ``MaxBackward0``; of two tensors (None) the elementwise op's own."""
    def name(self, dim=None, keepdim: bool = False, *, other=None) -> str | None:
        return None if other is not None or isinstance(dim, TensorBase) else f"{kind}Backward{int(dim is None)}"

    return name


class ReductionMethods(TensorBase):
    __slots__ = ()

    def _dims(self, dim, op: str) -> tuple[int, ...]:
        if dim is None:
            return tuple(range(self.dim()))
        found = tuple(sorted(distinct_dims(dim, self.dim(), op)))
        return found if self.shape else ()  # a 0-d tensor accepts dim 0 or -1 and has nothing to reduce

    def _reduce(self, combine, dim, keepdim, dtype, mean=False, ties="first"):
        dims = self._dims(dim, combine)
        if not self.shape:  # a 0-d tensor reduces to itself (its index: 0)
            return self._leaf(np.zeros((), np.int64), dtypes.int64) if combine == "argmax" else self.clone().to(dtype)
        if combine in ("max", "argmax") and any(self.shape[d] == 0 for d in dims):
            raise ShapeError(f"{combine}: cannot reduce over a dimension of size 0 (the tensor has shape "
                             f"{self.shape})")
        return self._apply(Reduce(combine, dims, keepdim, mean, ties), [self], dtype)

    @shown(lambda self, dim=None, *_, **__: "SumBackward0" if dim is None else "SumBackward1")
    def sum(self, dim=None, keepdim: bool = False, *, dtype=None):
        """Σ over ``dim`` (all elements by default); ``dtype``: the input cast to it first, as in PyTorch."""
        if dtype is not None:
            return self.to(as_dtype(dtype)).sum(dim, keepdim)
        return self._reduce("sum", dim, keepdim, self.dtype if is_float(self.dtype) else dtypes.int64)

    @shown(lambda self, dim=None, *_, **__: "MeanBackward0" if dim is None else "MeanBackward1")
    def mean(self, dim=None, keepdim: bool = False, *, dtype=None):
        if dtype is not None:
            return self.to(as_dtype(dtype)).mean(dim, keepdim)
        _refuse_integral(self, "mean")
        if self.shape and not math.prod(self.shape[d] for d in self._dims(dim, "mean")):
            return self.to(float_result(self.dtype)).sum(dim, keepdim) * math.nan  # 0/0, as PyTorch's NaN
        return self._reduce("sum", dim, keepdim, float_result(self.dtype), mean=True)

    def nansum(self, dim=None, keepdim: bool = False, *, dtype=None):
        """The sum with NaN counted as zero (``torch.nansum``)."""
        if dtype is not None:
            return self.to(as_dtype(dtype)).nansum(dim, keepdim)
        return (self.masked_fill(self.isnan(), 0) if is_float(self.dtype) else self).sum(dim, keepdim)

    def nanmean(self, dim=None, keepdim: bool = False, *, dtype=None):
        """The mean of the elements that are not NaN (NaN where all are), as ``torch.nanmean``."""
        if dtype is not None:
            return self.to(as_dtype(dtype)).nanmean(dim, keepdim)
        _refuse_integral(self, "nanmean")
        return self.nansum(dim, keepdim) / self.isnan().logical_not().sum(dim, keepdim)

    def prod(self, dim: int | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:
        """Π over ``dim`` (all elements by default); its gradient is the product of the other factors, exact
        where some are zero (no division by the result)."""
        src = self._integral_or(dtype)
        if dim is not None and not isinstance(dim, int):
            raise TypeError(f"prod: dim must be an int, got {dim!r}")
        return src._reduce("prod", dim, keepdim, src.dtype)

    def _integral_or(self, dtype) -> Tensor:
        """The operand of a sum-like op: cast to ``dtype`` if given, else int64 for integers and bools."""
        if dtype is not None:
            return self.to(as_dtype(dtype))
        return self if is_float(self.dtype) else self.to(dtypes.int64)

    @shown(_extreme_name("Max"))
    def max(self, dim=None, keepdim: bool = False, *, other=None):
        """Full ``max()`` splits the gradient among ties; ``max(dim)`` returns (values, indices) and sends it
        to the first maximal element, as PyTorch does; ``max(other)`` with a tensor is ``maximum``."""
        if other is not None or isinstance(dim, TensorBase):
            return self.maximum(dim if other is None else other)
        if dim is None:
            return self._reduce("max", None, False, self.dtype, ties="even")
        return return_types.max(self._reduce("max", dim, keepdim, self.dtype, ties="first"),
                                self._reduce("argmax", dim, keepdim, dtypes.int64))

    @shown(_extreme_name("Min"))
    def min(self, dim=None, keepdim: bool = False, *, other=None):
        if other is not None or isinstance(dim, TensorBase):
            return self.minimum(dim if other is None else other)
        result = self._reversed().max(dim, keepdim)
        return result._reversed() if dim is None else return_types.min(result.values._reversed(), result.indices)

    def _reversed(self) -> Tensor:
        """The order turned around (−x; for bools ¬x): the min is the max of it, turned back."""
        return self.logical_not() if self.dtype == dtypes.bool_ else -self

    @shown("AmaxBackward0")
    def amax(self, dim=None, keepdim: bool = False):
        return self._reduce("max", dim, keepdim, self.dtype, ties="even")

    @shown("AminBackward0")
    def amin(self, dim=None, keepdim: bool = False):
        return self._reversed().amax(dim, keepdim)._reversed()

    def aminmax(self, *, dim: int | None = None, keepdim: bool = False):
        return return_types.aminmax(self.amin(dim, keepdim), self.amax(dim, keepdim))

    def argmax(self, dim=None, keepdim: bool = False):
        _refuse_bool("argmax", self)
        return self._reduce("argmax", dim, keepdim, dtypes.int64)

    def argmin(self, dim=None, keepdim: bool = False):
        _refuse_bool("argmin", self)
        return self._reversed().argmax(dim, keepdim)

    def count_nonzero(self, dim=None) -> Tensor:
        return (self != 0).sum(dim)

    def all(self, dim=None, keepdim: bool = False) -> Tensor:
        return (self == 0).sum(dim, keepdim) == 0

    def any(self, dim=None, keepdim: bool = False) -> Tensor:
        return (self != 0).sum(dim, keepdim) > 0

    # ---------------------------------------------------------------- moments and norms
    @shown("VarBackward0")
    def var(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None) -> Tensor:
        """Σ (x − mean)² / max(0, n − correction); ``correction`` defaults to 1 (``unbiased=False``: 0). With
        n ≤ correction the result is inf (or NaN for a constant input), as PyTorch's."""
        if isinstance(dim, bool):  # var(False): PyTorch's legacy positional ``unbiased``
            dim, unbiased = None, dim
        if unbiased is not None and correction is not None:
            raise TypeError("var: give either unbiased or correction, not both")
        if not is_float(self.dtype):
            raise DTypeError(f"std and var only support floating point dtypes, got {self.dtype}")
        c = correction if correction is not None else int(unbiased is None or unbiased)
        dims = self._dims(dim, "var")
        centered = self - self.mean(dims, keepdim=True)
        squares = centered * centered
        n = math.prod(self.shape[d] for d in dims)
        if n == 1 and c >= 1:  # one element: Σ (x − x)² / 0 is NaN (and SymPy would fold x − x to 0)
            return self.sum(dims, keepdim) * math.nan
        if n <= c:  # no degrees of freedom: Σ/0
            return squares.sum(dims, keepdim) / self._leaf(np.zeros((), self.dtype), self.dtype)
        return squares._apply(CorrectedMean(dims, keepdim, c), [squares], squares.dtype)

    @shown("StdBackward0")
    def std(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None) -> Tensor:
        """√var, with gradient 0 where the variance is 0 (as PyTorch's)."""
        return self.var(dim, unbiased, keepdim, correction=correction)._root(2)

    def _root(self, p: float) -> Tensor:
        return self._apply(Root(p), [self], self.dtype)

    @shown("LinalgVectorNormBackward0")
    def norm(self, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
        """The p-norm over ``dim`` (all elements by default): p = 'fro', inf, -inf, 0 or any number. Subgradients
        at zero are 0, as PyTorch's; the ±inf norms split the gradient among ties."""
        if not is_float(self.dtype):
            raise DTypeError(f"norm: expected a floating point tensor, got {self.dtype}")
        x = self if dtype is None else self.to(as_dtype(dtype))
        if p == "fro":
            p = 2
        if isinstance(p, str) or not isinstance(p, int | float):
            raise ArgumentError(f"norm: p={p!r} is not supported (a number, inf, -inf or 'fro')")
        if p == math.inf:
            return x.abs().amax(dim, keepdim)
        if p == -math.inf:
            return x.abs().amin(dim, keepdim)
        if p == 0:
            return (x != 0).to(x.dtype).sum(dim, keepdim)
        if p == 1:
            return x.abs().sum(dim, keepdim)
        if p == 2:
            powers = x * x
        else:  # |x|^p only where x ≠ 0, 0^p set (0, or ∞ for p < 0): PyTorch's zero subgradient there, not 0·∞
            zero = x == 0
            powers = (x.abs().masked_fill(zero, 1.0) ** float(p)).masked_fill(zero, 0.0 if p > 0 else math.inf)
        return powers.sum(dim, keepdim)._root(p)

    @shown("LogsumexpBackward0")
    def logsumexp(self, dim, keepdim: bool = False):
        """m + log Σ exp(x − m) with m = max(x) a stop-gradient: the gradient comes out as an exact softmax. An
        infinite m shifts by 0 (PyTorch's rule: Σ over [inf, inf] is inf, not inf − inf); over nothing, −inf."""
        x = self if is_float(self.dtype) else self.to(float_result(self.dtype))
        if self.shape and any(self.shape[d] == 0 for d in self._dims(dim, "logsumexp")):
            return x.exp().sum(dim, keepdim).log()
        shift = x.amax(dim, keepdim=True)
        shift = shift.masked_fill(shift.isinf(), 0)._map("stop_gradient")
        total = (x - shift).exp().sum(dim, keepdim=True).log() + shift
        return total if keepdim else total.squeeze(dim)

    def _empty_along(self, dim: int, op: str) -> bool:
        """Whether ``dim`` (checked) has no elements: softmax's normalization has nothing to do then."""
        return bool(self.shape) and self.shape[normalize_dim(dim, self.dim(), op)] == 0

    def _shifted(self, dim: int) -> Tensor:
        """x − max(x) along dim, the max a stop-gradient: exact in floating point, so softmax stays accurate."""
        return self - self.amax(dim, keepdim=True)._map("stop_gradient")

    @shown("SoftmaxBackward0")
    def softmax(self, dim: int, dtype=None):
        if dtype is not None:
            return self.to(as_dtype(dtype)).softmax(dim)
        _refuse_integral(self, "softmax")
        if self._empty_along(dim, "softmax"):
            return self.clone()  # nothing to normalize
        e = self._shifted(dim).exp()
        return e / e.sum(dim, keepdim=True)

    @shown("LogSoftmaxBackward0")
    def log_softmax(self, dim: int, dtype=None):
        if dtype is not None:
            return self.to(as_dtype(dtype)).log_softmax(dim)
        _refuse_integral(self, "log_softmax")
        if self._empty_along(dim, "log_softmax"):
            return self.clone()
        shifted = self._shifted(dim)
        return shifted - shifted.exp().sum(dim, keepdim=True).log()

    # ---------------------------------------------------------------- scans and sorting
    def _scan(self, combine: str, dim: int, dtype) -> Tensor:
        src = self._integral_or(dtype)
        if not self.shape:
            return src.reshape(1)._scan(combine, dim, None).reshape(())
        return src._apply(Scan(combine, normalize_dim(dim, self.dim(), "cum" + combine)), [src], src.dtype)

    def cumsum(self, dim: int, *, dtype=None) -> Tensor:
        """Y[i] = Σ_{k ≤ i} X[k] along ``dim``."""
        return self._scan("sum", dim, dtype)

    def cumprod(self, dim: int, *, dtype=None) -> Tensor:
        """Y[i] = Π_{k ≤ i} X[k] along ``dim``; the gradient is exact where some X[k] are zero."""
        return self._scan("prod", dim, dtype)

    @shown("SortBackward0")
    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> return_types.sort:
        """Values and indices, equal elements in their original order (PyTorch's CPU sort is stable too)."""
        normalize_dim(dim, self.dim(), "sort")
        if not self.shape:
            return return_types.sort(self.reshape(()), self._leaf(np.zeros((), np.int64), dtypes.int64))
        d = normalize_dim(dim, self.dim(), "sort")
        indices = self.argsort(d, descending)
        return return_types.sort(self.gather(d, indices), indices)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        d = normalize_dim(dim, self.dim(), "argsort")  # a 0-d tensor's dim is -1 or 0, as PyTorch's
        if not self.shape:
            return self._leaf(np.zeros((), np.int64), dtypes.int64)
        rank = self._apply(Rank(d, bool(descending)), [self], dtypes.int64)
        return rank._apply(Order(d), [rank], dtypes.int64)

    def msort(self) -> Tensor:
        return self.sort(0).values

    @shown("TopkBackward0")
    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> return_types.topk:  # noqa: A002
        """The k largest (smallest) along ``dim``, in order; among equal elements the first ones (PyTorch leaves
        the order of ties unspecified)."""
        _refuse_bool("topk", self)
        d = normalize_dim(dim, self.dim(), "topk")
        size = self.shape[d] if self.shape else 1
        if not 0 <= k <= size:
            raise ShapeError(f"topk: k={k} is out of range for dimension {dim} of size {size}")
        values, indices = self.sort(d, descending=largest)
        return return_types.topk(values._narrow(d, 0, k), indices._narrow(d, 0, k))

    def _narrow(self, dim: int, start: int, length: int | None) -> Tensor:
        """``length`` elements from ``start`` along ``dim``; ``length`` None selects one and drops the dim."""
        if not self.shape:
            return self
        item = ("index", start) if length is None else ("range", start, 1, length)
        items = tuple(item if p == dim else ("all",) for p in range(self.dim()))
        return self._apply(Slice(items), [self], self.dtype)


def _refuse_integral(t: Tensor, op: str) -> None:
    """PyTorch's refusal: no mean or softmax of integers or bools (it would have to pick a float dtype)."""
    if not is_float(t.dtype):
        raise DTypeError(f"{op}(): could not infer output dtype: the input must be a float tensor, got "
                         f"{t.dtype.name}; convert it with .float()")


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,  # noqa: A002
             correction=None) -> tuple[Tensor, Tensor]:
    """(var, mean) over ``dim``, as ``torch.var_mean``."""
    if isinstance(dim, bool):
        dim, unbiased = None, dim
    return input.var(dim, unbiased, keepdim, correction=correction), input.mean(input._dims(dim, "var"), keepdim)


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,  # noqa: A002
             correction=None) -> tuple[Tensor, Tensor]:
    """(std, mean) over ``dim``, as ``torch.std_mean``."""
    var, mean = var_mean(input, dim, unbiased, keepdim, correction=correction)
    return var._root(2), mean
