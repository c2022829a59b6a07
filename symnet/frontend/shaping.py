"""Shape methods (permute, reshape, expand, repeat, flip, roll, …), data-dependent reads (gather) and joins (cat,
stack, hstack): ops that move elements without computing on them. Each is a row of the op table — mostly the
general ones (``Index``, ``Slice``, ``Reshape``, ``Concat``, ``Gather``) — so gradients come from autodiff."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from itertools import accumulate
from typing import TYPE_CHECKING

import numpy as np

from ..core import dtypes
from ..core.dtypes import result_type
from ..core.indexing import Index
from ..core.ops import (
    Clone,
    DiagEmbed,
    Expand,
    Gather,
    Reshape,
    Slice,
    Tile,
    Triangle,
    broadcast_shapes,
    diagonal_length,
)
from ..core.windows import Concat
from ..errors import ArgumentError, DTypeError, NotSupportedError, ShapeError
from . import strides
from .base import TensorBase
from .batch import BatchSize, batch_source, batch_template, depends_on_batch, in_batch_trace, varies_per_step
from .dims import distinct_dims, normalize_dim
from .trace import show_as, shown

if TYPE_CHECKING:
    from .tensor import Tensor


#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS = ("reshape", "flatten", "transpose", "permute", "unsqueeze", "squeeze", "gather", "split", "chunk",
             "unbind", "narrow", "select", "broadcast_to", "tile", "repeat_interleave", "flip", "fliplr", "flipud",
             "roll", "clone", "movedim", "moveaxis", "swapaxes", "swapdims", "tril", "triu", "diag", "diagonal",
             "diag_embed", "ravel", "unflatten", "tensor_split", "hsplit", "vsplit", "dsplit", "rot90", "diagflat",
             "diff", "select_scatter", "slice_scatter")
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ("cat", "concat", "concatenate", "stack", "hstack", "vstack", "dstack", "column_stack", "atleast_1d",
          "atleast_2d", "atleast_3d", "broadcast_tensors", "cartesian_prod", "combinations", "unravel_index")


def _batch_kept(spec: tuple, shape: tuple) -> tuple:
    """In a compiled step's trace, a target size equal to the input's at the same leading position keeps that
    dimension (None): ``x.view(x.size(0), -1)`` then keeps the symbolic batch, where its traced size would fix the
    program to one batch size. The same shape for the trace, whatever the dimension is."""
    kept = list(spec)
    for p, (want, have) in enumerate(zip(spec, shape, strict=False)):
        if want != have:
            break
        kept[p] = None
    if spec[0] == -1 and type(shape[0]) is BatchSize and math.prod(d for d in spec[1:]) == math.prod(shape[1:]):
        kept[0] = None  # -1 infers exactly the batch: x.reshape(-1, c, n) of x (B, c·n)
    return tuple(kept)


def _checked_sizes(shape: tuple, op: str) -> tuple:
    """The sizes of a reshape or view as ints (NumPy's integers too, as PyTorch takes them); at most one -1."""
    shape = _varargs(shape)
    if all(isinstance(d, int | np.integer) and not isinstance(d, bool | np.bool_) for d in shape):
        shape = tuple(int(d) for d in shape)
    if sum(d == -1 for d in shape) > 1 or any(type(d) is not int or d < -1 for d in shape):
        raise ShapeError(f"{op}: invalid shape {shape}")
    return shape


def _varargs(args: tuple) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` alike, as PyTorch reads sizes, dims and repeats."""
    return tuple(args[0]) if len(args) == 1 and not isinstance(args[0], int | np.integer) else tuple(args)


class ShapeMethods(TensorBase):
    __slots__ = ()

    def _axis(self, dim: int, op: str) -> int:
        """``dim`` of a tensor that must have one (PyTorch refuses the dims of a 0-d tensor here)."""
        if self.dim() == 0:
            raise ShapeError(f"{op}: dimension specified as {dim} but the tensor has no dimensions")
        return normalize_dim(dim, self.dim(), op)

    def _slice(self, items: dict[int, tuple]) -> Tensor:
        """A ``Slice`` taking ``items[d]`` along each dim d listed (all of the others)."""
        return self._apply(Slice(tuple(items.get(d, ("all",)) for d in range(self.dim()))), [self], self.dtype)

    # ---------------------------------------------------------------- views of the same elements
    @shown("PermuteBackward0")
    def permute(self, *dims):
        return self._axes_view(*_permutation_key(_varargs(dims), self.shape))

    def _reshaped(self, spec: tuple, op: str = "reshape") -> Tensor:
        """The tensor in another shape (``Reshape``'s rule reads ``spec``, now to check it and again against a
        symbolic batch): a view, in-place updates of either reaching the other, where PyTorch's layout of the
        tensor allows one (``strides``); else, as PyTorch's, a copy for ``reshape`` and an error for ``view``. Its
        grad_fn is PyTorch's for each: ``ViewBackward0``, ``UnsafeViewBackward0``."""
        target = Reshape(spec).shape([self.shape])
        if spec and depends_on_batch(self):
            spec = _batch_kept(spec, self.shape)
        items = (("reshape", spec),)
        if strides.viewable_as(self, target):
            return show_as(self._axes_view(items), "ViewBackward0", self)
        if op == "view":
            raise ShapeError("view size is not compatible with input tensor's size and stride (at least one "
                             "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        return show_as(self._apply(Index(items), [self], self.dtype), "UnsafeViewBackward0", self)

    def _axes_view(self, items: tuple, shape: tuple | None = None) -> Tensor:
        """A view through a key of ``core.indexing``'s "axis" or "reshape" items (its ``shape`` when known): in-place
        updates of either reach the other, as PyTorch's views."""
        return self._view_of(self._apply(Index(items), [self], self.dtype, shape), (items, 0))

    @shown("TransposeBackward0")
    def transpose(self, dim0: int, dim1: int):
        perm = list(range(self.dim()))
        a, b = (normalize_dim(d, self.dim(), "transpose") for d in (dim0, dim1))
        perm[a], perm[b] = perm[b], perm[a]
        return self.permute(perm)

    swapaxes = swapdims = transpose

    def movedim(self, source, destination):
        """Dims ``source`` moved to positions ``destination``, the others kept in order (``torch.movedim``)."""
        src, dst = (distinct_dims(d, self.dim(), "movedim") for d in (source, destination))
        if len(src) != len(dst):
            raise ShapeError(f"movedim: source and destination differ in length ({len(src)} and {len(dst)})")
        if not self.shape:  # a 0-d tensor's dim 0 is itself
            return self.permute(())
        perm = [None] * self.dim()
        for s, d in zip(src, dst, strict=True):
            perm[d] = s
        rest = iter(d for d in range(self.dim()) if d not in src)
        return self.permute([p if p is not None else next(rest) for p in perm])

    moveaxis = movedim

    @shown("TBackward0")
    def t(self):
        if self.dim() > 2:
            raise ShapeError(f"t(): expects a tensor of at most 2 dims, got shape {self.shape}")
        return self if self.dim() < 2 else self.transpose(0, 1)

    @property
    @shown("PermuteBackward0")
    def T(self):
        return self._axes_view(*_permutation_key(tuple(range(self.dim() - 1, -1, -1)), self.shape))

    def reshape(self, *shape):
        return self._reshaped(_checked_sizes(shape, "reshape"))

    def view(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], np.dtype | type):  # view(dtype): the bits reinterpreted
            raise NotSupportedError(f"view({shape[0]}): reinterpreting a tensor's bits as another dtype is not "
                                    "supported; use .to(dtype) to convert the values")
        return self._reshaped(_checked_sizes(shape, "view"), "view")

    def reshape_as(self, other: Tensor):
        return self.reshape(other.shape)

    def view_as(self, other: Tensor):
        return self.view(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.dim() == 0:
            return self.reshape(1)
        a, b = (normalize_dim(d, self.dim(), "flatten") for d in (start_dim, end_dim))
        if a > b:
            raise ShapeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if a == b:
            return self
        merged = self.shape[a:b + 1]
        # their product, as PyTorch's (a -1 is ambiguous when a later dim is 0); -1 when the batch is among them, so
        # a compiled step's program keeps it symbolic
        size = -1 if any(type(d) is BatchSize for d in merged) else math.prod(merged)
        return self._reshaped((None,) * a + (size,) + tuple(self.shape[b + 1:]))

    def ravel(self):
        """The elements as one dim: a view where the layout allows one, else a copy (``contiguous().view(-1)``)."""
        return self.reshape(-1)

    def unflatten(self, dim: int, sizes):
        """Dim ``dim`` split into ``sizes`` (one of them may be -1), the inverse of ``flatten``."""
        d = self._axis(dim, "unflatten")
        sizes = tuple(sizes)
        if not sizes:
            raise ShapeError("unflatten: sizes must be non-empty")
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1:])

    @shown("UnsqueezeBackward0")
    def unsqueeze(self, dim: int):
        """A view (basic indexing with None): in-place updates of either reach the other."""
        return self[(slice(None),) * normalize_dim(dim, self.dim() + 1, "unsqueeze") + (None,)]

    @shown(lambda self, dim=None: "SqueezeBackward0" if dim is None else "SqueezeBackward1")
    def squeeze(self, dim=None):
        """A view (basic indexing with 0 at the dims of size 1 dropped)."""
        dims = {d for d in self._dims(dim, "squeeze") if self.shape[d] == 1}
        return self[tuple(0 if d in dims else slice(None) for d in range(self.dim()))] if dims else self[...]

    def clone(self):
        return self._apply(Clone(), [self], self.dtype)

    # ---------------------------------------------------------------- parts
    @shown("SliceBackward0")
    def narrow(self, dim: int, start: int, length: int):
        d = self._axis(dim, "narrow")
        n = self.shape[d]
        if not -n <= start <= n:
            raise IndexError(f"narrow: start ({start}) is out of range for dimension {d} of size {n}")
        start = start % n if start < 0 else start
        if length < 0 or start + length > n:
            raise ShapeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({n})")
        return self[(slice(None),) * d + (slice(start, start + length),)]  # a view, as PyTorch's (so split's)

    def select(self, dim: int, index: int):
        d = self._axis(dim, "select")
        n = self.shape[d]
        if not -n <= index < n:
            raise IndexError(f"select: index {index} is out of range for dimension {d} of size {n}")
        return self[(slice(None),) * d + (index % n,)]  # a view, as PyTorch's (so unbind's)

    @shown("SplitBackward0")
    def split(self, split_size_or_sections, dim: int = 0) -> tuple:
        """Consecutive parts along ``dim``: of ``split_size`` each (the last may be shorter) or of the listed
        sizes."""
        d = self._axis(dim, "split")
        n = self.shape[d]
        if isinstance(split_size_or_sections, int):
            size = split_size_or_sections
            if size < 0 or size == 0 and n:
                raise ShapeError(f"split: split_size can only be 0 if dimension size is 0, got {size} for size {n}")
            sizes = [size] * (n // size) + [n % size] * bool(n % size) if n else [0]
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n or any(s < 0 for s in sizes):
                raise ShapeError(f"split: split sizes {sizes} must be non-negative and sum exactly to {n}, the size "
                                 f"of dimension {d}")
        starts = [0, *accumulate(sizes)][:-1]
        return tuple(self.narrow(d, start, size) for start, size in zip(starts, sizes, strict=True))

    def tensor_split(self, indices_or_sections=None, dim: int = 0, *, sections=None, indices=None,
                     tensor_indices_or_sections=None) -> tuple:
        """NumPy's ``array_split``: ``sections`` parts whose sizes differ by at most one (the first ones longer),
        or the parts between the listed ``indices`` (as Python slices read them: negative ones count from the end,
        a decreasing pair gives an empty part). An int64 tensor gives either (0-d: sections, 1-d: indices)."""
        given = [a for a in (indices_or_sections, sections, indices, tensor_indices_or_sections) if a is not None]
        if len(given) != 1:
            raise TypeError("tensor_split() needs exactly one of indices_or_sections, sections, indices or "
                            "tensor_indices_or_sections")
        how = given[0]
        if self.dim() == 0:
            raise ShapeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
        if isinstance(how, TensorBase):
            if how.dtype != dtypes.int64:
                raise DTypeError(f"tensor_split expected tensor_indices_or_sections to have dtype of long, but got "
                                 f"{how.dtype}")
            if how.dim() > 1:
                raise ShapeError(f"tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                                 f"one-dimensional tensor, but got a tensor with {how.dim()} dims")
            if varies_per_step(how):
                raise ShapeError("tensor_split: indices or sections computed from the batch give data-dependent "
                                 "shapes, which a compiled step cannot have; pass them as ints")
            how = how.item() if how.dim() == 0 else how.tolist()
        d = normalize_dim(dim, self.dim(), "tensor_split")
        n = self.shape[d]
        if isinstance(how, int | np.integer):
            if how <= 0:
                raise ArgumentError(f"tensor_split: number of sections must be larger than 0, got {how}")
            size, extra = divmod(n, how)
            how = list(accumulate(size + (k < extra) for k in range(how - 1)))
        bounds = [0, *how, n]
        parts = []
        for a, b in itertools.pairwise(bounds):
            start, stop, _ = slice(a, b).indices(n)
            parts.append(self.narrow(d, start, max(stop - start, 0)))
        return tuple(parts)

    def _split_like_numpy(self, indices_or_sections, rank: int, dim: int, op: str) -> tuple:
        """hsplit/vsplit/dsplit: ``tensor_split`` along ``dim`` of a tensor of at least ``rank`` dims, sections
        that must divide the dim evenly."""
        if self.dim() < rank:
            raise ShapeError(f"torch.{op} requires a tensor with at least {rank} dimension, but got a tensor with "
                             f"{self.dim()} dimensions!")
        if isinstance(indices_or_sections, int):
            n = self.shape[dim]
            if indices_or_sections == 0 or n % indices_or_sections:
                raise ShapeError(f"torch.{op} attempted to split along dimension {dim}, but the size of the dimension "
                                 f"{n} is not divisible by the split_size {indices_or_sections}!")
        return self.tensor_split(indices_or_sections, dim)

    def hsplit(self, indices_or_sections) -> tuple:
        return self._split_like_numpy(indices_or_sections, 1, 1 if self.dim() > 1 else 0, "hsplit")

    def vsplit(self, indices_or_sections) -> tuple:
        return self._split_like_numpy(indices_or_sections, 2, 0, "vsplit")

    def dsplit(self, indices_or_sections) -> tuple:
        return self._split_like_numpy(indices_or_sections, 3, 2, "dsplit")

    @shown("SplitBackward0")
    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        """At most ``chunks`` parts of ``ceil(n / chunks)`` elements along ``dim`` (fewer when they run out)."""
        if chunks <= 0:
            raise ArgumentError(f"chunk: expects `chunks` to be greater than 0, got {chunks}")
        d = self._axis(dim, "chunk")
        n = self.shape[d]
        return self.split(-(-n // chunks), d) if n else self.split([0] * chunks, d)

    @shown("UnbindBackward0")
    def unbind(self, dim: int = 0) -> tuple:
        d = self._axis(dim, "unbind")
        return tuple(self.select(d, k) for k in range(self.shape[d]))

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1):
        a, b = (normalize_dim(x, self.dim(), "diagonal") for x in (dim1, dim2))
        if a == b or self.dim() < 2:
            raise ShapeError(f"diagonal: needs two distinct dimensions, got {dim1} and {dim2} of shape {self.shape}")
        rest = [p for p in range(self.dim()) if p not in (a, b)]
        length = diagonal_length(self.shape[a], self.shape[b], offset)
        starts = {a: max(-offset, 0), b: max(offset, 0)}
        return self._axes_view(tuple(("axis", len(rest), starts[p], 1, length) if p in starts else
                                     ("axis", rest.index(p), 0, 1, None) for p in range(self.dim())))

    def tril(self, diagonal: int = 0):
        return self._apply(Triangle(False, diagonal), [self], self.dtype)

    def triu(self, diagonal: int = 0):
        return self._apply(Triangle(True, diagonal), [self], self.dtype)

    # ---------------------------------------------------------------- more elements
    def expand(self, *sizes):
        """The tensor broadcast to ``sizes`` (-1 keeps a dimension; leading new dimensions are allowed)."""
        sizes = _varargs(sizes)
        lead = len(sizes) - self.dim()
        if lead < 0:
            raise ShapeError(f"expand: the number of sizes ({len(sizes)}) must be at least the tensor's number of "
                             f"dimensions ({self.dim()})")
        if any(s == -1 for s in sizes[:lead]) or any(not isinstance(s, int) or s < -1 for s in sizes):
            raise ShapeError(f"expand: invalid sizes {sizes} (-1 only keeps an existing dimension)")
        size = tuple(self.shape[p - lead] if s == -1 else s for p, s in enumerate(sizes))
        template = batch_template(size)  # a compiled step's batch size: the program's symbolic batch there
        if template is not None:
            return self._apply(Expand(template), [self, batch_source()], self.dtype, size)
        return self._apply(Expand(size), [self], self.dtype)

    def broadcast_to(self, size):
        return self.expand(size)

    def expand_as(self, other: Tensor):
        return self.expand(other.shape)

    def repeat(self, *repeats):
        """The whole tensor copied ``repeats[d]`` times along each dim (more repeats than dims add leading
        dims)."""
        repeats = _varargs(repeats)
        if len(repeats) < self.dim():
            raise ShapeError("repeat: number of dimensions of repeat dims can not be smaller than number of "
                             "dimensions of tensor")
        if any(r < 0 for r in repeats):
            raise ShapeError(f"repeat: repeats must be non-negative, got {repeats}")
        return self._apply(Tile(repeats), [self], self.dtype)

    def tile(self, *dims):
        dims = _varargs(dims)
        return self.repeat((1,) * (self.dim() - len(dims)) + dims)

    def repeat_interleave(self, repeats=None, dim: int | None = None, *, output_size: int | None = None):
        """Each element repeated in place along ``dim`` (None: of the flattened tensor); ``repeats`` an int or a
        tensor of counts, one per element (whose values fix the shape, so they are read now). Without
        ``repeats`` this tensor holds the counts and the result repeats the indices ``0 … n−1``."""
        if repeats is None:
            counts = self
            source = self._leaf(np.arange(self.numel()), dtypes.int64)
        else:
            counts, source = repeats, self
        if dim is None:
            source, dim = source.flatten(), 0
        d = source._axis(dim, "repeat_interleave")
        n = source.shape[d]
        if isinstance(counts, TensorBase):
            if counts.dtype != dtypes.int64 or counts.dim() > 1:
                raise DTypeError("repeat_interleave: repeats must be an int64 tensor of at most one dimension")
            if varies_per_step(counts):
                raise ShapeError("repeat_interleave: repeats computed from the batch, a parameter or a buffer give a "
                                 "data-dependent shape, which a compiled step cannot have")
            counts = counts._array().reshape(-1)
            counts = counts.item() if counts.size == 1 else counts
        if np.any(np.asarray(counts) < 0):
            raise ShapeError("repeat_interleave: repeats can not be negative")
        if isinstance(counts, np.ndarray | list | tuple):
            if len(counts) != n:
                raise ShapeError(f"repeat_interleave: repeats must have the same size as input along dim, but got "
                                 f"{len(counts)} and {n}")
            out = _gather_along(source, d, np.repeat(np.arange(n), counts))
        else:
            out = source._apply(Tile(tuple(int(counts) if p == d else 1 for p in range(source.dim())), True),
                                [source], source.dtype)
        if output_size is not None and out.shape[d] != output_size:
            raise ShapeError(f"repeat_interleave: output_size {output_size} differs from the repeats' total "
                             f"{out.shape[d]}")
        return out

    def diag(self, diagonal: int = 0):
        """A 1-d tensor as the ``diagonal`` of a square matrix; a matrix's ``diagonal`` as a 1-d tensor."""
        if self.dim() == 1:
            return self._apply(DiagEmbed(diagonal, 0, 1), [self], self.dtype)
        if self.dim() == 2:
            return self.diagonal(diagonal)
        raise ShapeError(f"diag: supports 1-d or 2-d tensors, got {self.dim()}-d")

    def diagflat(self, offset: int = 0):
        """The flattened tensor as the ``offset`` diagonal of a square matrix."""
        return self.reshape(-1).diag(offset)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1):
        a, b = (normalize_dim(x, self.dim() + 1, "diag_embed") for x in (dim1, dim2))
        if a == b or self.dim() == 0:
            raise ShapeError(f"diag_embed: needs two distinct dimensions, got {dim1} and {dim2}")
        return self._apply(DiagEmbed(offset, a, b), [self], self.dtype)

    # ---------------------------------------------------------------- the same elements elsewhere
    @shown("FlipBackward0")
    def flip(self, *dims):
        """Reversed along ``dims``: ``out[i] = x[n − 1 − i]``, a slice of step −1."""
        if not dims:
            raise TypeError('flip() missing 1 required positional arguments: "dims"')
        dims = distinct_dims(_varargs(dims), self.dim(), "flip") if self.dim() else ()
        return self._slice({d: ("range", self.shape[d] - 1, -1, self.shape[d]) for d in dims if self.shape[d] > 1})

    def fliplr(self):
        if self.dim() < 2:
            raise ShapeError(f"fliplr: input must be >= 2-d, got shape {self.shape}")
        return self.flip(1)

    def flipud(self):
        if self.dim() < 1:
            raise ShapeError("flipud: input must be >= 1-d")
        return self.flip(0)

    @shown("RollBackward0")
    def roll(self, shifts, dims=None):
        """Elements shifted cyclically: ``out[i] = x[(i − s) mod n]``, as the two slices ``x[n−s:]``, ``x[:n−s]``
        joined. Without ``dims`` the flattened tensor rolls and keeps its shape."""
        shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        if dims is None or dims == ():
            if len(shifts) != 1:
                raise ShapeError(f"roll: shifts and dimensions must align, got {len(shifts)} shifts and no dims")
            return self.flatten().roll(shifts, 0).view(self.shape)
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        if len(shifts) != len(dims):
            raise ShapeError(f"roll: shifts and dimensions must align, got {len(shifts)} shifts and {len(dims)} dims")
        out = self
        for shift, dim in zip(shifts, dims, strict=True):
            d = self._axis(dim, "roll")
            n = self.shape[d]
            s = shift % n if n else 0
            if s:
                out = cat([out.narrow(d, n - s, s), out.narrow(d, 0, n - s)], d)
        return out if out is not self else self.clone()

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)):
        """Rotated by 90° ``k`` times from the first of ``dims`` towards the second: a flip and a transpose."""
        dims = tuple(dims)
        if len(dims) != 2:
            raise ShapeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
        if self.dim() < 2:
            raise ShapeError(f"rot90: expected total dims >= 2, but got total dims = {self.dim()}")
        a, b = (normalize_dim(d, self.dim(), "rot90") for d in dims)
        if a == b:
            raise ShapeError(f"rot90: expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = "
                             f"{dims[1]}")
        k %= 4
        if k == 0:
            return self.clone()
        if k == 2:
            return self.flip(a, b)
        return self.flip(b if k == 1 else a).transpose(a, b)

    def diff(self, n: int = 1, dim: int = -1, prepend: Tensor | None = None, append: Tensor | None = None):
        """The ``n``-th forward difference along ``dim``: ``out[i] = x[i + 1] − x[i]`` applied n times (xor for
        bool), after ``prepend`` and ``append`` are joined to the ends."""
        if self.dim() == 0:
            raise ShapeError("diff expects input to be at least one-dimensional")
        if n < 0:
            raise ArgumentError(f"diff: order must be non-negative but got {n}")
        if n == 0:  # PyTorch returns a copy before it reads dim, prepend or append
            return self.clone()
        d = normalize_dim(dim, self.dim(), "diff")
        ends = [e for e in (prepend, append) if e is not None]
        if any(not isinstance(e, TensorBase) for e in ends):
            raise TypeError("diff(): prepend and append must be Tensors")
        if any(e.dim() != self.dim() for e in ends):
            raise ShapeError("diff expects prepend or append to be the same dimension as input")
        x = cat([e for e in (prepend, self, append) if e is not None], d) if ends else self
        for _ in range(n):
            length = max(x.shape[d] - 1, 0)
            later, earlier = x.narrow(d, min(1, x.shape[d]), length), x.narrow(d, 0, length)
            x = later.logical_xor(earlier) if x.dtype == dtypes.bool_ else later - earlier
        return x

    def _scattered(self, src: Tensor, dim: int, positions: range, op: str) -> Tensor:
        """This tensor with ``src`` written at ``positions`` along ``dim`` (``src`` has the shape of that part;
        its dtype is converted to ours): a scatter, so ``src`` gets the part's gradient and we get the rest."""
        if not isinstance(src, TensorBase):
            raise TypeError(f"{op}(): src must be a Tensor, got {type(src).__name__}")
        part = self.shape[:dim] + (len(positions),) + self.shape[dim + 1:]
        if src.shape != part:
            raise ShapeError(f"{op}: expected src to have a size equal to the slice of self. src size = "
                             f"{list(src.shape)}, slice size = {list(part)}")
        if not positions:  # nothing written (a scatter of an empty index does not lower yet)
            return self.clone()
        src = src.to(self.dtype)
        return self.scatter(dim, _positions(self, dim, np.asarray(positions), part), src)

    def select_scatter(self, src: Tensor, dim: int, index: int):
        """A copy with ``src`` in place of ``select(dim, index)``."""
        d = self._axis(dim, "select_scatter")
        n = self.shape[d]
        if not -n <= index < n:
            raise IndexError(f"select(): index {index} out of range for tensor of size {list(self.shape)} at "
                             f"dimension {d}")
        if isinstance(src, TensorBase) and src.shape != self.shape[:d] + self.shape[d + 1:]:
            raise ShapeError(f"select_scatter: expected src to have a size equal to the slice of self. src size = "
                             f"{list(src.shape)}, slice size = {list(self.shape[:d] + self.shape[d + 1:])}")
        return self._scattered(src.unsqueeze(d) if isinstance(src, TensorBase) else src, d,
                               range(index % n, index % n + 1), "select_scatter")

    def slice_scatter(self, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                      step: int = 1):
        """A copy with ``src`` in place of ``self[..., start:end:step]`` along ``dim``."""
        if step <= 0:
            raise ArgumentError("slice_scatter: slice step must be positive")
        d = self._axis(dim, "slice_scatter")
        return self._scattered(src, d, range(self.shape[d])[slice(start, end, step)], "slice_scatter")

    def gather(self, dim: int, index: Tensor):
        if not isinstance(index, TensorBase) or index.dtype != dtypes.int64:
            raise DTypeError(f"gather: index must be an int64 tensor, got {getattr(index, 'dtype', type(index))}")
        if not self.shape:  # as a 1-element tensor, shaped like the index
            return self.reshape(1).gather(normalize_dim(dim, 1, "gather"), index.reshape(-1)).reshape(index.shape)
        if not index.shape and self.dim() == 1:  # PyTorch reads a 0-d index as one position; the result is 0-d
            return self.gather(dim, index.reshape(1)).reshape(())
        return self._apply(Gather(normalize_dim(dim, self.dim(), "gather")), [self, index], self.dtype)


def _positions(like: Tensor, dim: int, positions: np.ndarray, shape: tuple) -> Tensor:
    """A constant int64 index of ``shape`` holding ``positions`` along ``dim`` (a scatter's or gather's index)."""
    index = np.broadcast_to(positions.reshape((-1,) + (1,) * (len(shape) - dim - 1)), shape)
    return like._leaf(np.ascontiguousarray(index), dtypes.int64)


def _gather_along(source: Tensor, dim: int, positions: np.ndarray) -> Tensor:
    """``source`` read at the constant ``positions`` along ``dim`` (a ``Gather`` with a constant index)."""
    shape = source.shape[:dim] + (len(positions),) + source.shape[dim + 1:]
    return source.gather(dim, _positions(source, dim, positions, shape))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Tensors joined along ``dim`` (``torch.cat``): same shapes elsewhere, dtypes promoted."""
    tensors = list(tensors)
    if not tensors:
        raise ArgumentError("cat: expected a non-empty sequence of tensors")
    if not all(isinstance(t, TensorBase) for t in tensors):
        raise TypeError("cat: expected a sequence of Tensors")
    dtype = result_type([t.dtype for t in tensors], [], [])
    # PyTorch skips 1-d empty tensors of any other rank (``out = torch.tensor([])`` then ``cat([out, x])`` in a
    # loop), after they count in the dtype
    tensors = [t for t in tensors if t.shape != (0,)] or tensors
    rank = tensors[0].dim()
    if rank == 0:
        raise ShapeError("cat: zero-dimensional tensors cannot be concatenated")
    dim = normalize_dim(dim, rank, "cat")
    tensors = [t.to(dtype) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    return tensors[0]._apply(Concat(dim), tensors, dtype)


concat = cat


def concatenate(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """``torch.concatenate``: ``cat`` with NumPy's keyword ``axis`` (``dim`` also accepted)."""
    return cat(tensors, axis if dim is None else dim)


@shown("StackBackward0")
def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Tensors of one shape stacked along a new dimension ``dim`` (``torch.stack``)."""
    tensors = list(tensors)
    if not tensors:
        raise ArgumentError("stack: expected a non-empty sequence of tensors")
    if any(t.shape != tensors[0].shape for t in tensors):
        raise ShapeError(f"stack: expects each tensor to be equal size, got {[t.shape for t in tensors]}")
    dim = normalize_dim(dim, tensors[0].dim() + 1, "stack")
    return cat([t.unsqueeze(dim) for t in tensors], dim)


def _at_least(rank: int, tensors: tuple, place) -> Tensor | tuple:
    """Each tensor given at least ``rank`` dims (``place`` reshapes a smaller one); one tensor in, one out."""
    many = len(tensors) != 1 or not isinstance(tensors[0], TensorBase)
    tensors = tuple(tensors[0]) if len(tensors) == 1 and many else tensors
    out = tuple(t if t.dim() >= rank else t.reshape(place(t.shape)) for t in tensors)
    return out if many else out[0]


def atleast_1d(*tensors) -> Tensor | tuple:
    return _at_least(1, tensors, lambda s: (1,))


def atleast_2d(*tensors) -> Tensor | tuple:
    return _at_least(2, tensors, lambda s: (1, *s) if s else (1, 1))


def atleast_3d(*tensors) -> Tensor | tuple:
    """0-d → (1, 1, 1), (n) → (1, n, 1), (m, n) → (m, n, 1), as NumPy's and PyTorch's."""
    return _at_least(3, tensors, lambda s: {0: (1, 1, 1), 1: (1, *s, 1)}.get(len(s), (*s, 1)))


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Joined column-wise: along dim 1, or dim 0 for 1-d tensors."""
    tensors = atleast_1d(tuple(tensors))
    return cat(tensors, 0 if tensors and tensors[0].dim() == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Joined row-wise: 1-d tensors become rows."""
    return cat(atleast_2d(tuple(tensors)), 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat(atleast_3d(tuple(tensors)), 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """0-d and 1-d tensors as columns, others as they are, joined along dim 1."""
    return cat([t.reshape(t.numel(), 1) if t.dim() <= 1 else t for t in tensors], 1)


def broadcast_tensors(*tensors: Tensor) -> tuple:
    shape = broadcast_shapes("broadcast_tensors", *(t.shape for t in tensors))
    return tuple(t.expand(shape) for t in tensors)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Rows of every combination of one element from each 1-d tensor (``itertools.product``), the last varying
    fastest; one tensor is returned as it is."""
    if not tensors:
        raise ArgumentError("cartesian_prod: expects a non-empty sequence of tensors")
    if any(not isinstance(t, TensorBase) or t.dim() != 1 for t in tensors):
        raise ShapeError(f"cartesian_prod: expects 1-d tensors, got shapes {[getattr(t, 'shape', t) for t in tensors]}")
    if any(t.dtype != tensors[0].dtype for t in tensors):
        raise DTypeError("cartesian_prod: expects all tensors to have the same dtype")
    if len(tensors) == 1:
        return tensors[0]
    grid = tuple(t.shape[0] for t in tensors)
    columns = [t.reshape(tuple(-1 if p == k else 1 for p in range(len(grid)))).expand(grid).reshape(-1)
               for k, t in enumerate(tensors)]
    return stack(columns, 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:  # noqa: A002 - torch's name
    """Rows of the length-``r`` combinations of a 1-d tensor's elements, in ``itertools.combinations`` order
    (``with_replacement``: ``combinations_with_replacement``); r = 0 gives an empty 1-d tensor."""
    if not isinstance(input, TensorBase) or input.dim() != 1:
        raise ShapeError(f"combinations: expect a 1D vector, but got shape {list(getattr(input, 'shape', ()))}")
    if r < 0:
        raise ArgumentError(f"combinations: expect a non-negative number, but got {r}")
    if r == 0:
        return input.narrow(0, 0, 0).clone()
    choose = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(choose(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return input.index_select(0, input._leaf(rows.reshape(-1), dtypes.int64)).reshape(rows.shape)


def unravel_index(indices: Tensor, shape) -> tuple:
    """The coordinates of flat ``indices`` in a tensor of ``shape`` (C order): ``(i // stride_k) mod shape_k``,
    floor division, so an index outside the range wraps around, as PyTorch's does."""
    if not isinstance(indices, TensorBase) or indices.dtype != dtypes.int64:
        raise TypeError(f"unravel_index: expected 'indices' to be integer dtype, but got "
                        f"{getattr(indices, 'dtype', type(indices).__name__)}")
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if any(s < 0 for s in shape):
        raise ArgumentError(f"unravel_index: 'shape' cannot have negative values, but got {shape}")
    if 0 in shape:
        raise ZeroDivisionError(f"unravel_index: 'shape' {shape} has a zero size")
    strides = [math.prod(shape[k + 1:]) for k in range(len(shape))]
    return tuple((indices // stride) % size for stride, size in zip(strides, shape, strict=True))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 rows with a 1 at each class index (``torch.nn.functional.one_hot``): rows of the identity read at
    ``x[i]``, so a computed index outside [0, num_classes) is the runtime's range error, never a zero row. With
    ``num_classes`` -1 the largest value fixes it, so the values are read now; a leaf's values are checked."""
    if not isinstance(tensor, TensorBase) or tensor.dtype != dtypes.int64:
        raise DTypeError("one_hot is only applicable to index tensor of type int64")
    values = tensor._array() if num_classes == -1 or tensor.node is None else None
    if values is not None and values.size:
        if values.min() < 0:
            raise ArgumentError("one_hot: class values must be non-negative")
        if num_classes != -1 and values.max() >= num_classes:
            raise ArgumentError(f"one_hot: class values must be smaller than num_classes ({num_classes})")
    if num_classes == -1:
        if values.size == 0:
            raise ArgumentError("one_hot: can not infer the total number of classes from an empty tensor")
        num_classes = int(values.max()) + 1
    identity = tensor._leaf(np.eye(num_classes, dtype=np.int64), dtypes.int64)
    return identity.index_select(0, tensor.reshape(-1)).reshape(*tensor.shape, num_classes)


def _permutation_key(dims: tuple, shape: tuple) -> tuple[tuple, tuple]:
    """The "axis" items of ``permute(dims)`` on a tensor of ``shape`` and the result's shape (checked, and
    remembered: a transposed weight is the same permutation in every step; not in a compiled step's trace,
    where a shape's batch size is marked)."""
    return _permuted(dims, shape) if in_batch_trace() else _permuted_remembered(dims, shape)


@functools.lru_cache(maxsize=1024)
def _permuted_remembered(dims: tuple, shape: tuple) -> tuple[tuple, tuple]:
    return _permuted(dims, shape)


def _permuted(dims: tuple, shape: tuple) -> tuple[tuple, tuple]:
    perm = tuple(normalize_dim(d, len(shape), "permute") for d in dims)
    if sorted(perm) != list(range(len(shape))):
        raise ShapeError(f"permute: {dims} is not a permutation of the {len(shape)} dims of {shape}")
    items = tuple(("axis", perm.index(p), 0, 1, None) for p in range(len(shape)))
    return items, Index(items).shape([shape])
