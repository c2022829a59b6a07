"""Indexing with PyTorch's semantics: ``t[key]`` (ints, slices, ``...``, ``None``, integer tensors and lists,
boolean masks), ``t[key] = value``, and the index methods (``index_select``, ``masked_fill``, ``scatter``, …).

A key becomes the items of one ``Index`` op (``symnet.core.indexing``); assignment is functional: the tensor's
node becomes a select between its old node and the value scattered through the key. A boolean mask's count
of ``True`` entries is the result's shape, so its value is needed now (as in PyTorch's eager mode): it is
realized and read as the integer positions of its ``True`` entries.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..core import dtypes
from ..core.indexing import Index, Scatter, Where, keyed_shape
from ..core.ops import broadcast_shapes, scalar_operand
from ..errors import ArgumentError, DTypeError, IndexRangeError, ShapeError
from .base import TensorBase
from .batch import batch_size_operand, varies_per_step
from .dims import normalize_dim
from .shaping import cat
from .trace import shown

if TYPE_CHECKING:
    from .tensor import Tensor

#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS = ("index_select", "masked_select", "masked_fill", "index_fill", "index_add", "index_copy", "index_put",
             "scatter", "scatter_add", "take", "take_along_dim", "scatter_reduce", "index_reduce", "put")
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ()

#: the reductions of ``scatter_reduce`` (torch also reads "max"/"min" as amax/amin) and ``index_reduce``
_SCATTER_REDUCTIONS = {"sum": "sum", "prod": "prod", "mean": "mean", "amax": "amax", "amin": "amin", "max": "amax",
                       "min": "amin"}
_INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")


def _mask_positions(mask: Tensor) -> list[np.ndarray]:
    if varies_per_step(mask):
        raise ShapeError("a boolean mask computed from the batch, a parameter or a buffer gives a data-dependent "
                         "shape that changes with every step, which a compiled step cannot have; use masked_fill or "
                         "multiply by the mask instead")
    return list(np.nonzero(mask._array()))


def _as_index(k, like: Tensor):
    """A key entry as an int, slice, None, Ellipsis or tensor (lists and arrays become tensors)."""
    if k is None or k is Ellipsis or isinstance(k, slice) or isinstance(k, TensorBase):
        return k
    if isinstance(k, (bool, np.bool_)):
        raise IndexError("a Python bool as an index is not supported; use a boolean tensor")
    if isinstance(k, (int, np.integer)):
        return int(k)
    if isinstance(k, (list, tuple, range, np.ndarray)):  # x[range(n), target]: the tutorials' NLL
        arr = np.asarray(k)
        if arr.size == 0:
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "bi":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        dtype = dtypes.bool_ if arr.dtype.kind == "b" else dtypes.int64
        return like._leaf(arr.astype(dtype), dtype)
    raise IndexError(f"only integers, slices, ellipsis, None, and integer or boolean tensors are valid indices, "
                     f"got {type(k).__name__}")


def _one_position(self: Tensor, index, src):
    """PyTorch reads a 0-d index of a 1-d tensor (and a 0-d source) as one position: the Transforms tutorial's
    one-hot ``zeros(10).scatter_(0, tensor(y), value=1)``."""
    if self.dim() == 1 and isinstance(index, TensorBase) and not index.dim():
        index = index.reshape(1)
        if isinstance(src, TensorBase) and not src.dim():
            src = src.reshape(1)
    return index, src

def _check_range(index: Tensor, n: int, dim: int, strict: bool = False, op: str = "") -> None:
    """PyTorch's error at the call for an index tensor whose values are known (others: at run time); ``strict``
    refuses negative entries too."""
    if index.node is None and index.numel():
        values = index._array()
        bad = values[(values < (0 if strict else -n)) | (values >= n)]
        if bad.size:
            raise IndexRangeError("index out of range in self" if op == "index_select" else  # PyTorch's words
                                  f"index {bad.flat[0]} is out of bounds for dimension {dim} with size {n}")


def parse_key(key, t: Tensor) -> tuple[tuple, int, list]:
    """``t[key]`` as ``Index``'s items, the position of the index tensors' block and the index tensors."""
    key = [_as_index(k, t) for k in (key if isinstance(key, tuple) else (key,))]
    used = sum(k.dim() if isinstance(k, TensorBase) and k.dtype == dtypes.bool_ else
               k is not None and k is not Ellipsis for k in key)
    if used > t.dim():
        raise IndexError(f"too many indices for tensor of dimension {t.dim()}")
    ellipses = [p for p, k in enumerate(key) if k is Ellipsis]
    if len(ellipses) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if ellipses:
        p = ellipses[0]
        key[p:p + 1] = [slice(None)] * (t.dim() - used)
    else:
        key += [slice(None)] * (t.dim() - used)
    items, tensors, dim = [], [], 0
    for k in key:
        if k is None:
            items.append(("new",))
            continue
        n = t.shape[dim]
        if isinstance(k, int):
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {n}")
            items.append(("index", k % n))
        elif isinstance(k, slice):
            start, stop, step = k.indices(n)
            if step <= 0:
                raise ArgumentError("step must be greater than zero")
            length = max(0, -(-(stop - start) // step))
            items.append(("all",) if (start, step, stop) == (0, 1, n) else ("range", start, step, length))
        elif k.dtype == dtypes.bool_:
            if k.shape != t.shape[dim:dim + k.dim()]:
                raise IndexError(f"The shape of the mask {list(k.shape)} at index {dim} does not match the shape "
                                 f"of the indexed tensor {list(t.shape)} at index {dim}")
            if not k.shape:
                raise IndexError("a 0-d boolean mask as an index is not supported")
            for positions in _mask_positions(k):
                items.append(("tensor", len(tensors)))
                tensors.append(t._leaf(positions.astype(np.int64), dtypes.int64))
            dim += k.dim()
            continue
        elif k.dtype != dtypes.int64:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        else:
            _check_range(k, n, dim)
            items.append(("tensor", len(tensors)))
            tensors.append(k)
        dim += 1
    return tuple(items), _block_position(items), tensors


def _block_position(items: list) -> int:
    """PyTorch's placement: where the first index tensor stands if they are adjacent (ints aside, which select
    first), else first."""
    kept = [i for i in items if i[0] != "index"]
    where = [p for p, i in enumerate(kept) if i[0] == "tensor"]
    if not where or where[-1] - where[0] + 1 != len(where):
        return 0
    return where[0]


def _value_like(value, t: Tensor, op: str) -> Tensor | float | int | bool:
    """An assigned value in ``t``'s dtype: a Python number stays one (folded into the formula)."""
    if isinstance(value, TensorBase):
        if value.dtype.kind == "f" and t.dtype.kind != "f" and op != "__setitem__":
            raise DTypeError(f"{op}: result type {value.dtype.name} can't be cast to the desired output type "
                             f"{t.dtype.name}")
        return value if value.dtype == t.dtype else value.to(t.dtype)
    if isinstance(value, (bool, int, float, np.number)):
        return t.dtype.type(value).item()
    return _value_like(t._leaf(np.asarray(value, dtype=t.dtype), t.dtype), t, op)


def index_put(t: Tensor, items: tuple, at: int, tensors: list, value, accumulate: bool = False) -> Tensor:
    """``t`` with ``value`` written (or added) at the positions the key reads: a new tensor."""
    value = _value_like(value, t, "index_put")
    result_shape = keyed_shape(items, at, t.shape, [i.shape for i in tensors])
    if isinstance(value, TensorBase):
        while value.dim() > len(result_shape) and value.shape[0] == 1:  # leading 1s are dropped, as PyTorch
            value = value.squeeze(0)
        try:
            fits = broadcast_shapes("index_put", value.shape, result_shape) == result_shape
        except ShapeError:
            fits = False
        if not fits:
            raise ShapeError(f"shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast to "
                             f"indexing result of shape {list(result_shape)}")
        if accumulate:
            return t + t._apply(Scatter(items, at), [t, value, *tensors], t.dtype)
    elif accumulate:
        return t + t._apply(Scatter(items, at, value), [t, *tensors], t.dtype)
    count = t._apply(Scatter(items, at, 1), [t, *tensors], dtypes.int64)
    if not isinstance(value, TensorBase):
        return t._apply(Where((("t", 0), ("c", scalar_operand(value)), ("t", 1))), [count, t], t.dtype)
    last = _last_writes(t, items, tensors)
    if last is not None:  # a position written twice takes its last value, as PyTorch's loop leaves it
        block = len(last.shape)
        kept = last.reshape(last.shape + (1,) * (len(result_shape) - at - block))
        value = value.expand(result_shape)._apply(Where((("t", 0), ("t", 1), ("c", 0))), [kept, value.expand(
            result_shape)], t.dtype)
    scattered = t._apply(Scatter(items, at), [t, value, *tensors], t.dtype)
    return t._apply(Where((("t", 0), ("t", 1), ("t", 2))), [count, scattered, t], t.dtype)


def _last_writes(t: Tensor, items: tuple, tensors: list) -> Tensor | None:
    """Which entries of the key's index block write a position no later entry writes (bool, the block's
    shape); None when the index tensors are known to hold no duplicate destination."""
    sizes = [t.shape[d] for d, item in enumerate(i for i in items if i[0] != "new") if item[0] == "tensor"]
    if any(i[0] == "iota" for i in items):
        return _last_along(tensors[0], next(p for p, i in enumerate(items) if i[0] == "tensor"))
    if not tensors or (all(i.node is None for i in tensors) and _distinct(tensors, sizes)):
        return None
    block = broadcast_shapes("index", *(i.shape for i in tensors))
    destination = None
    for index, n in zip(tensors, sizes, strict=True):  # a position's number, mixed radix over the key
        wrapped = index + (index < 0).long() * n
        destination = wrapped if destination is None else destination * n + wrapped
    flat = destination.expand(block).reshape(-1)
    order = _arange(t, flat.shape[0])
    later = (flat.unsqueeze(1) == flat.unsqueeze(0)) & (order.unsqueeze(1) < order.unsqueeze(0))
    return (~later.any(1)).reshape(block)


def _last_along(index: Tensor, dim: int) -> Tensor:
    """``scatter``'s last writes: entries along ``dim`` whose position no later entry of the same line names
    (lines differ in their other coordinates, so they never share a position; a symbolic batch stays one):
    last[…, j, …] = ¬∃k > j: index[…, k, …] = index[…, j, …]."""
    n = index.shape[dim]
    same = index.unsqueeze(dim + 1) == index.unsqueeze(dim)  # [..., j, k, ...]
    order = _arange(index, n)
    later = (order.unsqueeze(1) < order.unsqueeze(0)).reshape((1,) * dim + (n, n) + (1,) * (index.dim() - dim - 1))
    return ~(same & later).any(dim + 1)


def _distinct(tensors: list, sizes: list[int]) -> bool:
    positions = np.broadcast_arrays(*(np.asarray(i._array()) % n for i, n in zip(tensors, sizes, strict=True)))
    flat = np.ravel_multi_index([p.ravel() for p in positions], sizes) if positions[0].size else np.zeros(0)
    return len(np.unique(flat)) == len(flat)


def _arange(like: Tensor, n: int) -> Tensor:
    return like._leaf(np.arange(n, dtype=np.int64), dtypes.int64)


def _int64_index(index, op: str) -> Tensor:
    if not isinstance(index, TensorBase) or index.dtype != dtypes.int64:
        raise DTypeError(f"{op}(): Expected dtype int64 for index, got {getattr(index, 'dtype', type(index))}")
    return index


def _index_name(self, key) -> str | None:
    """PyTorch's grad_fn name for ``self[key]``: its last basic step — ``SelectBackward0`` for an int,
    ``SliceBackward0`` for a slice, ``UnsqueezeBackward0`` for None; an index tensor keeps ``IndexBackward0``."""
    for k in reversed(key if isinstance(key, tuple) else (key,)):
        if k is None:
            return "UnsqueezeBackward0"
        if isinstance(k, slice):
            if k != slice(None):
                return "SliceBackward0"
        elif k is not Ellipsis:
            return "SelectBackward0" if isinstance(k, int | np.integer) and not isinstance(k, bool) else None
    return "SliceBackward0"  # x[:] and x[...]: the whole tensor, a view


class IndexingMethods(TensorBase):
    __slots__ = ()

    @shown(_index_name)
    def __getitem__(self, key) -> Tensor:
        items, at, tensors = parse_key(key, self)
        out = self._apply(Index(items, at), [self, *tensors], self.dtype)
        return out if tensors else self._view_of(out, (items, at))

    def __setitem__(self, key, value) -> None:
        items, at, tensors = parse_key(key, self)
        self._write(index_put(self, items, at, tensors, value), "__setitem__")

    def index_put(self, indices: tuple, values, accumulate: bool = False) -> Tensor:
        """``self`` with ``values`` at ``self[indices]`` (added with ``accumulate=True``: duplicates add up)."""
        items, at, tensors = parse_key(tuple(indices), self)
        return index_put(self, items, at, tensors, values, accumulate)

    def _along(self, dim: int, index: Tensor, op: str, strict: bool = False) -> tuple[tuple, int, list]:
        """The key ``[:, …, :, index]`` with ``index`` at ``dim`` (a 1-d or 0-d int64 tensor); ``strict``: its
        entries must lie in [0, n) (no wrapping of negative ones), checked now where known."""
        dim = normalize_dim(dim, self.dim(), op)
        index = _int64_index(index, op)
        if index.dim() > 1:
            raise IndexError(f"{op}(): Index is supposed to be a vector")
        items, at, tensors = parse_key((slice(None),) * dim + (index.reshape(-1),), self)
        if not strict:
            return items, at, tensors
        if self.shape:
            _check_range(index, self.shape[dim], dim, strict=True, op=op)
        return tuple((*i, "strict") if i[0] == "tensor" else i for i in items), at, tensors

    @shown("IndexSelectBackward0")
    def index_select(self, dim: int, index: Tensor) -> Tensor:
        items, at, tensors = self._along(dim, index, "index_select", strict=True)
        return self._apply(Index(items, at), [self, *tensors], self.dtype)

    def index_fill(self, dim: int, index: Tensor, value) -> Tensor:
        return index_put(self, *self._along(dim, index, "index_fill"), value)

    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
        items, at, tensors = self._indexed_source(dim, index, source, "index_add")
        return index_put(self, items, at, tensors, source if alpha == 1 else source * alpha, accumulate=True)

    def index_copy(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        """``source``'s slices written at ``index`` along ``dim`` (with a repeated index PyTorch leaves unspecified
        which slice wins); the gradient reaches ``source`` through the copies and ``self`` elsewhere."""
        if not isinstance(source, TensorBase) or source.dtype != self.dtype:
            raise DTypeError(f"index_copy(): self and source expected to have the same dtype, but got (self) "
                             f"{self.dtype} and (source) {getattr(source, 'dtype', type(source).__name__)}")
        return index_put(self, *self._indexed_source(dim, index, source, "index_copy"), source)

    def _indexed_source(self, dim: int, index: Tensor, source: Tensor, op: str):
        """The key of ``index`` along ``dim``, with ``source`` checked to have the shape it selects."""
        items, at, tensors = self._along(dim, index, op, strict=True)
        if source.shape != keyed_shape(items, at, self.shape, [t.shape for t in tensors]):
            raise ShapeError(f"{op}(): source {list(source.shape)} does not match self {list(self.shape)} "
                             f"with {tensors[0].numel()} entries along dim {dim}")
        return items, at, tensors

    @shown("MaskedFillBackward0")
    def masked_fill(self, mask: Tensor, value) -> Tensor:
        """``value`` where ``mask`` (broadcast to this shape) is True: no shape depends on the mask's values."""
        if not isinstance(mask, TensorBase) or mask.dtype != dtypes.bool_:
            raise DTypeError("masked_fill only supports boolean masks")
        if broadcast_shapes("masked_fill", mask.shape, self.shape) != self.shape:
            raise ShapeError(f"masked_fill: mask {list(mask.shape)} cannot be broadcast to {list(self.shape)}")
        size = batch_size_operand(value)  # the batch's size read in a compiled step's trace: each step's own
        value = _value_like(value if size is None else size, self, "masked_fill")
        if isinstance(value, TensorBase):
            if value.dim():
                raise ShapeError("masked_fill only supports a 0-dimensional value tensor")
            return self._apply(Where((("t", 0), ("t", 1), ("t", 2))), [mask, value, self], self.dtype)
        return self._apply(Where((("t", 0), ("c", scalar_operand(value)), ("t", 1))), [mask, self], self.dtype)

    def masked_select(self, mask: Tensor) -> Tensor:
        """The entries where ``mask`` is True, broadcast together, as a 1-d tensor (its length is the mask's
        count of True: the mask's value is read now)."""
        if not isinstance(mask, TensorBase) or mask.dtype != dtypes.bool_:
            raise DTypeError("masked_select: expected a boolean mask")
        size = broadcast_shapes("masked_select", self.shape, mask.shape)
        size = size or (1,)
        return self.expand(size)[mask.expand(size)]

    def take(self, index: Tensor) -> Tensor:
        return self.reshape(-1)[_int64_index(index, "take")]

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        indices = _int64_index(indices, "take_along_dim")
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        if self.dim() != indices.dim():
            raise ShapeError(f"take_along_dim(): input and indices should have the same number of dimensions, "
                             f"but got {self.dim()} dimensions and {indices.dim()} dimensions respectively")
        dim = normalize_dim(dim, self.dim(), "take_along_dim")
        size = list(broadcast_shapes("take_along_dim", self.shape[:dim] + (1,) + self.shape[dim + 1:],
                                     indices.shape[:dim] + (1,) + indices.shape[dim + 1:]))
        source = self.expand(size[:dim] + [self.shape[dim]] + size[dim + 1:])
        return source.gather(dim, indices.expand(size[:dim] + [indices.shape[dim]] + size[dim + 1:]))

    def _scatter_key(self, dim: int, index: Tensor, op: str) -> tuple[int, tuple]:
        """``scatter``'s positions as a key: ``index`` at ``dim``, each other position of ``index`` kept."""
        dim = normalize_dim(dim, self.dim(), op)
        index = _int64_index(index, op)
        if index.dim() != self.dim():
            raise ShapeError(f"{op}(): Index tensor must have the same number of dimensions as self tensor")
        if any(i > s for p, (i, s) in enumerate(zip(index.shape, self.shape, strict=True)) if p != dim):
            raise ShapeError(f"{op}(): Expected index {list(index.shape)} to be smaller than self "
                             f"{list(self.shape)} apart from dimension {dim}")
        _check_range(index, self.shape[dim], dim, strict=True)
        rank = index.dim()
        return dim, tuple(("tensor", 0, "strict") if p == dim else ("iota", p, rank) for p in range(rank))

    def scatter(self, dim: int, index: Tensor, src=None, value=None, *, reduce: str | None = None) -> Tensor:
        """``self[..., index[i], ...] = src[i]`` along ``dim`` at every position ``i`` of ``index``
        (``reduce="add"``: added; a repeated position without it keeps one of its values, as PyTorch does)."""
        if (src is None) == (value is None):
            raise TypeError("scatter() needs exactly one of src and value")
        if reduce not in (None, "add"):
            raise NotImplementedError(f"scatter(reduce={reduce!r}) is not supported (only 'add')")
        index, src = _one_position(self, index, src)
        dim, items = self._scatter_key(dim, index, "scatter")
        if isinstance(src, TensorBase):
            if src.dim() != index.dim() or any(i > s for i, s in zip(index.shape, src.shape, strict=True)):
                raise ShapeError(f"scatter(): Expected index {list(index.shape)} to be smaller than src "
                                 f"{list(src.shape)}")
            src = src[tuple(slice(0, n) for n in index.shape)]
        return index_put(self, items, 0, [index], value if src is None else src, accumulate=reduce == "add")

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return self.scatter(dim, index, src, reduce="add")

    def scatter_reduce(self, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True) -> Tensor:
        """``src[i]`` reduced into ``self[..., index[i], ...]`` along ``dim`` by ``reduce`` (sum, prod, mean, amax,
        amin), with the value already there when ``include_self``; positions nothing is scattered to keep theirs.

        As a dense reduction: out[.., p, ..] = reduce_j {src[.., j, ..] : index[.., j, ..] = p} (∪ self), a mask of
        index.numel()·size(dim) entries, so the gradient is derived: prod's exact at zeros, amax/amin's split evenly
        among ties (self included), and a mean integer result floored, as PyTorch's."""
        _check_reduction("scatter_reduce", reduce, _SCATTER_REDUCTIONS, self, src)
        if not self.dim() and isinstance(index, TensorBase) and not index.dim() and not src.dim():  # one element
            normalize_dim(dim, 0, "scatter_reduce")
            return self.reshape(1).scatter_reduce(0, index.reshape(1), src.reshape(1), reduce,
                                                  include_self=include_self).reshape(())
        index, src = _one_position(self, index, src)
        dim, _ = self._scatter_key(dim, index, "scatter_reduce")
        if src.dim() != index.dim() or any(i > s for i, s in zip(index.shape, src.shape, strict=True)):
            raise ShapeError(f"scatter_reduce(): Expected index {list(index.shape)} to be smaller than src "
                             f"{list(src.shape)}")
        return _scatter_reduced(self, dim, index, src[tuple(slice(0, n) for n in index.shape)],
                                _SCATTER_REDUCTIONS[reduce], include_self)

    def index_reduce(self, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                     include_self: bool = True) -> Tensor:
        """``source``'s slices reduced into ``self``'s slices ``index`` along ``dim`` (prod, mean, amax, amin):
        ``scatter_reduce`` with ``index`` spread over the slices."""
        _check_reduction("index_reduce", reduce, _INDEX_REDUCTIONS, self, source)
        self._indexed_source(dim, index, source, "index_reduce")
        dim = normalize_dim(dim, self.dim(), "index_reduce")
        spread = index.reshape((1,) * dim + (-1,) + (1,) * (self.dim() - dim - 1)).expand(source.shape)
        return _scatter_reduced(self, dim, spread, source, reduce, include_self)

    def put(self, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
        """``self`` with ``source``'s entries at the flat positions ``index`` (negative ones wrap; added with
        ``accumulate``, duplicates adding up), as if ``self`` were 1-D."""
        index = _int64_index(index, "put")
        if not isinstance(source, TensorBase) or source.dtype != self.dtype:
            raise DTypeError(f"put_(): self and source expected to have the same dtype, but got self.dtype = "
                             f"{self.dtype} and source.dtype = {getattr(source, 'dtype', type(source).__name__)}")
        if index.numel() != source.numel():
            raise IndexError(f"put_(): Expected source and index to have the same number of elements, but got "
                             f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
        _check_range(index, self.numel(), 0)
        flat = self.reshape(-1)
        items, at, tensors = parse_key((index.reshape(-1),), flat)
        return index_put(flat, items, at, tensors, source.reshape(-1), accumulate).reshape(self.shape)

    def _diagonal_filled(self, fill_value, wrap: bool = False) -> Tensor:
        """``self`` with ``fill_value`` on its main diagonal (every dim the same length beyond 2-D); a tall matrix
        with ``wrap`` starts the diagonal again every columns + 1 rows, as NumPy's fill_diagonal."""
        if self.dim() < 2:
            raise ShapeError("fill_diagonal_: dimensions must larger than 1")
        if self.dim() > 2 and len(set(self.shape)) > 1:
            raise ShapeError("fill_diagonal_: all dimensions of input must be of equal length")
        step = sum(int(np.prod(self.shape[d + 1:])) for d in range(self.dim()))
        stop = self.numel() if wrap and self.dim() == 2 else min(self.shape) * step
        positions = self._leaf(np.arange(0, stop, step, dtype=np.int64), dtypes.int64)
        flat = self.reshape(-1)
        return index_put(flat, *parse_key((positions,), flat), fill_value).reshape(self.shape)


def _check_reduction(op: str, reduce: str, allowed, self: Tensor, src) -> None:
    """PyTorch's refusals of a reduction it does not offer and of a source of another dtype."""
    if reduce not in allowed:
        raise ArgumentError(f"{op}(): reduce argument must be one of {', '.join(allowed)}, got {reduce!r}")
    if not isinstance(src, TensorBase) or src.dtype != self.dtype:
        raise DTypeError(f"{op}(): Expected self.dtype to be equal to src.dtype, got {self.dtype} and "
                         f"{getattr(src, 'dtype', type(src).__name__)}")


def _scatter_reduced(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, include_self: bool) -> Tensor:
    """``scatter_reduce`` of ``src`` (index's shape) into the block of ``self`` that ``index`` spans."""
    n = self.shape[dim]
    block = self[tuple(slice(0, k) if d != dim else slice(None) for d, k in enumerate(index.shape))]
    hits = index.unsqueeze(-1) == _arange(self, n)  # [.., j, .., p]: src[.., j, ..] goes to position p
    count = hits.long().sum(dim).movedim(-1, dim)
    extreme = reduce in ("amax", "amin")
    if extreme:
        info = np.finfo(self.dtype) if dtypes.is_float(self.dtype) else np.iinfo(self.dtype)
        identity = (-math.inf if dtypes.is_float(self.dtype) else int(info.min)) if reduce == "amax" else \
            (math.inf if dtypes.is_float(self.dtype) else int(info.max))
    else:
        identity = 1 if reduce == "prod" else 0
    entries = src.unsqueeze(-1).where(hits, identity)
    mine = block.movedim(dim, -1).unsqueeze(dim)  # self as one more entry along dim
    if include_self:
        entries = cat([mine, entries], dim)
        count = count + 1
    elif extreme:  # PyTorch's gradient counts self among the ties it splits over (and then drops self's share)
        best = getattr(entries, reduce)(dim, keepdim=True)._map("stop_gradient")
        entries = cat([mine._map("stop_gradient").where(mine == best, identity), entries], dim)
    reduced = getattr(entries, "sum" if reduce == "mean" else reduce)(dim).movedim(-1, dim)
    if reduce == "mean":
        divisor = count.clamp_min(1)
        reduced = reduced / divisor if dtypes.is_float(self.dtype) else reduced.floor_divide(divisor)
    out = reduced.where(count > 0, block)
    if out.shape != self.shape:
        items, at, tensors = parse_key(tuple(slice(0, k) for k in out.shape), self)
        out = index_put(self, items, at, tensors, out)
    return out
