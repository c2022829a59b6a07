"""The rest of ``torch.Tensor``'s surface: metadata queries (``is_floating_point``, ``stride``, …), the ``new_*``
constructors and method aliases that need no op of their own.

Everything here is composed of the other groups' ops (indexing, ``where``, ``matmul``, ``cumsum``, …), so
gradients come from autodiff and every op also works inside a compiled step. symnet's tensors own contiguous
row-major storage: ``is_contiguous`` is True, ``stride`` is the contiguous one and ``storage_offset`` is 0,
also for what PyTorch would make a strided view (a transpose).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..core import dtypes
from ..core.dtypes import as_dtype, is_float
from ..core.ops import broadcast_shapes
from ..errors import ArgumentError, DimensionError, DTypeError, NotSupportedError, ShapeError
from . import strides
from .base import TensorBase
from .batch import batch_filled, depends_on_batch
from .device import Layout, check_device, strided
from .dims import normalize_dim
from .inplace import _inplace_form
from .pointwise import _refuse_bool, _result_dtype, where
from .shaping import _varargs

if TYPE_CHECKING:
    from .tensor import Tensor

#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS: tuple[str, ...] = ("is_floating_point", "is_complex", "is_signed", "is_same_size", "is_nonzero",
                              "is_inference", "get_device", "absolute", "positive", "split_with_sizes",
                              "masked_scatter", "diagonal_scatter", "matrix_power", "mvlgamma", "conj",
                              "conj_physical", "resolve_conj", "resolve_neg", "is_conj", "is_neg", "narrow_copy",
                              "unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes")
#: this module's functions offered as ``symnet.<name>``
PUBLIC: tuple[str, ...] = ("bitwise_left_shift", "bitwise_right_shift")

#: the bits of an int64, the only integer dtype symnet stores
_BITS = 64

#: the conversion methods to dtypes symnet has no storage for, and the dtype each names
_UNSUPPORTED_CASTS = {"int": "int32", "short": "int16", "byte": "uint8", "char": "int8", "half": "float16",
                      "bfloat16": "bfloat16"}


class SurfaceMethods(TensorBase):
    __slots__ = ()

    # ---------------------------------------------------------------- metadata and predicates
    def is_floating_point(self) -> bool:
        return is_float(self.dtype)

    def is_complex(self) -> bool:
        """Always False: symnet has no complex dtype."""
        return False

    def is_signed(self) -> bool:
        """Every dtype symnet stores is signed but bool."""
        return self.dtype != dtypes.bool_

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether PyTorch's layout of the tensor is row-major (a transposed or strided view's is not;
        ``memory_format`` other than the default is not supported)."""
        _default_memory_format("is_contiguous", memory_format)
        known = strides.layout(self)
        return known is None or strides.is_contiguous(self.shape, known[0])

    def contiguous(self, memory_format=None) -> Tensor:
        """The tensor itself where PyTorch's layout of it is contiguous, else a copy, as PyTorch's."""
        _default_memory_format("contiguous", memory_format)
        return self if self.is_contiguous() else self.clone()

    def is_same_size(self, other: Tensor) -> bool:
        if not isinstance(other, TensorBase):
            raise TypeError(f"is_same_size(): argument 'other' must be Tensor, not {type(other).__name__}")
        return tuple(self.shape) == tuple(other.shape)

    def is_nonzero(self) -> bool:
        """The truth of a one-element tensor (NaN is true); PyTorch's refusal for any other number of elements."""
        n = self.numel()
        if n != 1:
            raise ShapeError("is_nonzero: Boolean value of Tensor with " + ("no values" if n == 0 else
                             "more than one value") + " is ambiguous")
        return bool(self._array().reshape(()) != 0)

    @property
    def layout(self) -> Layout:
        """``symnet.strided``: every tensor is dense and row-major."""
        return strided

    def is_pinned(self) -> bool:
        """False: pinned memory needs an accelerator."""
        return False

    def pin_memory(self, device=None) -> Tensor:  # noqa: ARG002 - torch's signature
        raise RuntimeError("Cannot access accelerator device when none is available.")

    def apply_(self, callable) -> Tensor:  # noqa: A002 - torch's argument name
        """``callable`` on every element as a Python number, the results written back in this tensor's dtype (one
        Python call per element, as PyTorch's CPU-only ``apply_``)."""
        return self._python_map("apply_", callable)

    def map_(self, tensor: Tensor, callable) -> Tensor:  # noqa: A002 - torch's argument name
        """``callable(self[i], tensor[i])`` for every element (``tensor`` broadcast to this shape), written back."""
        return self._python_map("map_", callable, tensor)

    def map2_(self, x: Tensor, y: Tensor, callable) -> Tensor:  # noqa: A002 - torch's argument name
        return self._python_map("map2_", callable, x, y)

    def _python_map(self, op: str, fn, *others: Tensor) -> Tensor:
        if self._requires_grad:
            raise RuntimeError(f"Can't call {op}() on Variable that requires grad. Use var.detach().{op}() instead.")
        columns = [self._array().ravel().tolist()]
        columns += [np.broadcast_to(o._array(), self.shape).ravel().tolist() for o in others]
        values = np.array([fn(*items) for items in zip(*columns, strict=True)], dtype=np.float64 if
                          is_float(self.dtype) else object).reshape(self.shape)
        return self._write(self._leaf(values.astype(self.dtype), self.dtype), op)

    def is_conj(self) -> bool:
        """False: symnet has no complex dtype, so nothing is a lazily conjugated view."""
        return False

    def is_neg(self) -> bool:
        """False: nothing is a lazily negated view."""
        return False

    def conj(self) -> Tensor:
        """This tensor itself (real: its conjugate is itself, as PyTorch returns for a real tensor)."""
        return self

    conj_physical = resolve_conj = resolve_neg = conj

    def data_ptr(self) -> int:
        """The address of the first element of the tensor's array (its values computed first)."""
        return int(self._array().__array_interface__["data"][0])

    @property
    def is_cpu(self) -> bool:
        return True

    def is_inference(self) -> bool:
        """False: symnet has no inference mode."""
        return False

    def get_device(self) -> int:
        """-1, PyTorch's number for the CPU."""
        return -1

    def nelement(self) -> int:
        return self.numel()

    def ndimension(self) -> int:
        return self.dim()

    def element_size(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel() * self.dtype.itemsize

    def stride(self, dim: int | None = None) -> tuple[int, ...] | int:
        """PyTorch's strides of the tensor, in elements (``strides``: a view's follow from its base's; anything
        else is contiguous, an empty dim counted as 1)."""
        known = strides.layout(self)
        steps = known[0] if known is not None else strides.contiguous_strides(self.shape)
        if dim is None:
            return steps
        if not self.shape:
            raise DimensionError(f"stride: dimension specified as {dim} but the tensor has no dimensions")
        return steps[normalize_dim(dim, self.dim(), "stride")]

    def storage_offset(self) -> int:
        """Where a view starts in its base's storage, in elements (0 for a tensor with storage of its own)."""
        known = strides.layout(self)
        return known[1] if known is not None else 0

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two dims swapped (a batch of matrices transposed)."""
        return self._matrix_transpose("mT", batched=True)

    @property
    def mH(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The conjugate transpose of a batch of matrices: ``mT`` for real tensors."""
        return self._matrix_transpose("mH", batched=True)

    def adjoint(self) -> Tensor:
        """The conjugate transpose of a batch of matrices (``mH``, as a method)."""
        return self._matrix_transpose("adjoint()", batched=True)

    @property
    def H(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The conjugate transpose of a matrix: ``t()`` for real tensors, refused for other ranks but 0 (which
        PyTorch still accepts, deprecated)."""
        return self._matrix_transpose("H", batched=False)

    def _matrix_transpose(self, name: str, batched: bool) -> Tensor:
        if self.dim() == 0:
            return self
        if self.dim() < 2 or not batched and self.dim() != 2:
            wanted = "matrices or batches of matrices" if batched else "matrices (2-D tensors)"
            raise ShapeError(f"tensor.{name} is only supported on {wanted}. Got {self.dim()}-D tensor.")
        return self.transpose(-2, -1)

    # ---------------------------------------------------------------- constructors like this tensor
    def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        """A leaf holding a copy of ``data``, of this tensor's dtype unless ``dtype`` is given (so float data
        into an integer tensor's ``new_tensor`` is truncated, as in PyTorch)."""
        if isinstance(data, TensorBase):
            data = data._array()
        return self._new_leaf(np.array(data), dtype, device, requires_grad)

    def new(self, *args, device=None) -> Tensor:
        """PyTorch's legacy constructor, in this tensor's dtype: ``new()`` is empty, ``new(2, 3)`` or
        ``new(torch.Size)`` a tensor of that shape (zeros, where PyTorch leaves memory unset), ``new(data)`` the
        data (a list or an array) converted, ``new(tensor)`` an alias of that tensor's storage when it has this
        dtype."""
        from .size import Size

        if len(args) == 1 and isinstance(args[0], TensorBase):
            if args[0].dtype != self.dtype:
                raise TypeError(f"new(): expected a tensor of dtype {self.dtype}, got {args[0].dtype}")
            check_device(device)
            return args[0].detach()
        if len(args) == 1 and not isinstance(args[0], Size) and isinstance(args[0], list | tuple | np.ndarray):
            return self.new_tensor(args[0], device=device)
        sizes = tuple(args[0]) if len(args) == 1 and isinstance(args[0], Size) else args
        if not all(isinstance(n, int | np.integer) and not isinstance(n, bool) for n in sizes):
            raise TypeError(f"new(): data must be a sequence (got {type(args[0]).__name__})")
        return self._new_leaf(np.zeros(sizes if sizes else (0,)), None, device, False)

    def new_full(self, size: Sequence[int], fill_value, dtype=None, device=None,
                 requires_grad: bool = False) -> Tensor:
        """``fill_value`` over ``size`` in this tensor's dtype (unless given); in a compiled step's forward, a size
        holding the batch size (``x.size(0)``) is the batch's there, whatever its size at each step."""
        if isinstance(size, int):
            raise TypeError("new_full(): argument 'size' (position 1) must be tuple of ints, not int")
        shape = _sizes(size, "new_full")
        made = batch_filled(shape, fill_value, self.dtype if dtype is None else as_dtype(dtype), requires_grad,
                            "new_full")
        if made is not None:
            check_device(device)
            return made
        return self._new_leaf(np.full(shape, fill_value), dtype, device, requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return self.new_full(_varargs(size), 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        return self.new_full(_varargs(size), 1, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
        """``new_zeros``: PyTorch leaves the values unset, symnet's are zeros."""
        return self.new_zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)

    def _new_leaf(self, value: np.ndarray, dtype, device, requires_grad: bool) -> Tensor:
        check_device(device)
        dt = self.dtype if dtype is None else as_dtype(dtype)
        out = self._leaf(value.astype(dt), dt)
        return out.requires_grad_() if requires_grad else out

    def type_as(self, other: Tensor) -> Tensor:
        """This tensor cast to ``other``'s dtype (itself when it already has it)."""
        if not isinstance(other, TensorBase):
            raise TypeError(f"type_as(): argument 'other' must be Tensor, not {type(other).__name__}")
        return self.to(other.dtype)

    # ---------------------------------------------------------------- aliases and small ops
    def absolute(self) -> Tensor:
        return self.abs()

    def positive(self) -> Tensor:
        """The tensor itself (``+x``); refused for bool, as in PyTorch."""
        _refuse_bool("positive", self)
        return self

    def sum_to_size(self, *size) -> Tensor:
        """The sum over the dims ``size`` broadcasts to this tensor's shape (leading dims, and dims of size 1
        where this tensor's are larger): the reverse of ``expand``, as a broadcast operand's gradient."""
        size = _varargs(size)
        lead = self.dim() - len(size)
        if lead < 0 or any(s not in (n, 1) for s, n in zip(size, self.shape[lead:], strict=True)):
            raise ShapeError(f"sum_to_size: size {list(size)} is not expandable to size {list(self.shape)}")
        dims = (*range(lead), *(lead + k for k, s in enumerate(size) if s == 1 != self.shape[lead + k]))
        return self.sum(dims, keepdim=True).reshape(size) if dims else self

    def narrow_copy(self, dim: int, start: int, length: int) -> Tensor:
        return self.narrow(dim, start, length).clone()

    def unsafe_chunk(self, chunks: int, dim: int = 0) -> tuple:
        """``chunk`` (PyTorch's unsafe form skips a check of in-place use that symnet does not need)."""
        return self.chunk(chunks, dim)

    def unsafe_split(self, split_size, dim: int = 0) -> tuple:
        return self.split(split_size, dim)

    def unsafe_split_with_sizes(self, split_sizes: Sequence[int], dim: int = 0) -> tuple:
        return self.split_with_sizes(split_sizes, dim)

    def split_with_sizes(self, split_sizes: Sequence[int], dim: int = 0) -> tuple:
        if isinstance(split_sizes, int):
            raise TypeError("split_with_sizes(): argument 'split_sizes' (position 1) must be tuple of ints, not int")
        return self.split(list(split_sizes), dim)

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """The windows ``x[i·step : i·step + size]`` along ``dimension``, which becomes the window count, with the
        window as a new last dim: one ``index_select`` of the constant positions ``i·step + k``."""
        n = self.shape[normalize_dim(dimension, self.dim(), "unfold")] if self.shape else 1
        if size < 0:
            raise ShapeError(f"unfold: size is {size} but must be >= 0")
        if size > n:
            raise ShapeError(f"unfold: maximum size for tensor at dimension {dimension} is {n} but size is {size}")
        if step <= 0:
            raise ShapeError(f"unfold: step is {step} but must be > 0")
        if not self.shape:  # a 0-d tensor has one window, of its element or of nothing
            return self.reshape(1)[:size]
        d = normalize_dim(dimension, self.dim(), "unfold")
        count = (n - size) // step + 1
        positions = (np.arange(count)[:, None] * step + np.arange(size)).reshape(-1)
        windows = self.index_select(d, self._leaf(positions.astype(np.int64), dtypes.int64))
        return windows.reshape(*self.shape[:d], count, size, *self.shape[d + 1:]).movedim(d + 1, -1)

    def masked_scatter(self, mask: Tensor, source: Tensor) -> Tensor:
        """``source``'s leading elements, in order, where ``mask`` (broadcast with this tensor) is True:
        ``out[p] = source.flatten()[Σ_{q ≤ p} mask[q] − 1]`` there, ``self[p]`` elsewhere (a gather and a
        ``where``, so no shape depends on the mask's values)."""
        if not isinstance(mask, TensorBase) or mask.dtype != dtypes.bool_:
            raise DTypeError(f"masked_scatter only supports boolean masks, but got mask with dtype "
                             f"{getattr(mask, 'dtype', type(mask).__name__)}")
        if not isinstance(source, TensorBase) or source.dtype != self.dtype:
            raise DTypeError(f"masked_scatter: expected self and source to have same dtypes but got {self.dtype} "
                             f"and {getattr(source, 'dtype', type(source).__name__)}")
        shape = broadcast_shapes("masked_scatter", self.shape, mask.shape)
        if mask.node is None or source.numel() == 0:  # the count is known (else the gather's range check)
            if depends_on_batch(mask):
                raise NotSupportedError("masked_scatter from an empty source with a mask computed from the batch")
            if int(np.broadcast_to(mask._array(), shape).sum()) > source.numel():
                raise ShapeError("masked_scatter: Number of elements of source < number of ones in mask")
        mask, base = mask.expand(shape), self.expand(shape)
        if source.numel() == 0:
            return base.clone()
        position = (mask.reshape(-1).long().cumsum(0) - 1).clamp(min=0)
        return where(mask, source.reshape(-1)[position].reshape(shape), base)

    def diagonal_scatter(self, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """A copy of this tensor whose ``diagonal(offset, dim1, dim2)`` holds ``src`` (converted to its dtype)."""
        out = self.clone()
        diagonal = out.diagonal(offset, dim1, dim2)
        if not isinstance(src, TensorBase) or src.shape != diagonal.shape:
            raise ShapeError(f"diagonal_scatter: expected src to have a size equal to the slice of self. src size = "
                             f"{list(getattr(src, 'shape', ()))}, slice size = {list(diagonal.shape)}")
        diagonal.copy_(src.clone())  # a computed tensor: ``_write`` takes a leaf's values but drops its gradient
        return out

    def mvlgamma(self, p: int) -> Tensor:
        """The log of the multivariate gamma function of dimension p: Σ_{j<p} lgamma(x − j/2) + p(p−1)/4·log π
        (PyTorch 2.13 checks no domain: x ≤ (p − 1)/2 gives lgamma's values, ∞ at its poles)."""
        if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 1:
            raise ArgumentError(f"mvlgamma: p has to be greater than or equal to 1, got {p!r}")
        x = self if is_float(self.dtype) else self.to(dtypes.get_default_dtype())
        total = x.lgamma()
        for j in range(1, p):
            total = total + (x - j / 2).lgamma()
        return total + p * (p - 1) / 4 * math.log(math.pi)

    def matrix_power(self, n: int) -> Tensor:
        """Aⁿ of a (batch of) square matrices for n ≥ 0, by PyTorch's sequence of products (direct up to n = 3,
        else squarings by n's bits), so float results round alike."""
        if self.dim() < 2:
            raise ShapeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
        if self.shape[-1] != self.shape[-2]:
            raise ShapeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                             f"{self.shape[-2]} by {self.shape[-1]} matrices")
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"matrix_power(): argument 'n' must be int, not {type(n).__name__}")
        if n < 0:
            raise NotSupportedError("matrix_power with a negative power needs the matrix inverse, which symnet "
                                    "does not have yet")
        if n == 0:  # the identity, still a function of A (with zero gradient), as PyTorch's copy into a clone
            eye = np.broadcast_to(np.eye(self.shape[-1], dtype=self.dtype), self.shape)
            everywhere = self._leaf(np.ones(self.shape, dtype=bool), dtypes.bool_)
            return where(everywhere, self._leaf(np.ascontiguousarray(eye), self.dtype), self)
        if n >= 2 and self.dtype == dtypes.bool_:
            raise DTypeError("matrix_power: matrix products are not implemented for bool tensors (as in PyTorch)")
        if n <= 3:
            out = self.clone()
            for _ in range(n - 1):
                out = out @ self
            return out
        result, z = None, None
        while n:
            n, bit = divmod(n, 2)
            z = self if z is None else z @ z
            if bit:
                result = z if result is None else result @ z
        return result

    # ---------------------------------------------------------------- bit shifts (int64)
    def bitwise_left_shift(self, other) -> Tensor:
        return bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other) -> Tensor:
        return bitwise_right_shift(self, other)

    def __lshift__(self, other):
        return bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return bitwise_left_shift(other, self)

    def __rshift__(self, other):
        return bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return bitwise_right_shift(other, self)

    def __ilshift__(self, other):
        return self.bitwise_left_shift_(other)

    def __irshift__(self, other):
        return self.bitwise_right_shift_(other)


def _default_memory_format(op: str, memory_format) -> None:
    if memory_format is not None:
        raise NotSupportedError(f"{op}: memory_format {memory_format!r} is not supported (symnet's tensors are "
                                "contiguous row-major)")


def _sizes(size: Sequence[int], op: str) -> tuple[int, ...]:
    size = tuple(size)
    if any(not isinstance(s, int | np.integer) or isinstance(s, bool) for s in size):
        raise TypeError(f"{op}(): argument 'size' must be tuple of ints, got {size}")
    if any(s < 0 for s in size):
        raise ShapeError(f"{op}: Trying to create tensor with negative dimension: {list(size)}")
    return size


def _shift_operands(op: str, input, other) -> tuple[Tensor, Tensor]:
    """Both operands as int64 tensors (a Python int a 0-d one); PyTorch shifts integers only."""
    if not isinstance(input, TensorBase) and not isinstance(other, TensorBase):
        raise TypeError(f"{op}(): expected a tensor operand, got {type(input).__name__} and {type(other).__name__}")
    dtype = _result_dtype((input, other))
    if dtype != dtypes.int64:
        raise DTypeError(f'"{op}" is not implemented for {dtype} tensors (as in PyTorch); it shifts integers')
    like = input if isinstance(input, TensorBase) else other
    return tuple(x.to(dtypes.int64) if isinstance(x, TensorBase) else like._leaf(np.array(x, np.int64), dtypes.int64)
                 for x in (input, other))


def bitwise_left_shift(input, other) -> Tensor:  # noqa: A002 - torch's name
    """``input << other`` of int64 values: ``input · 2^other`` wrapping, as two's complement shifts; a shift
    outside [0, 64) gives 0, as PyTorch's."""
    x, s = _shift_operands("bitwise_left_shift", input, other)
    return where((s >= 0) & (s < _BITS), x * 2 ** s.clamp(0, _BITS - 1), 0)


def bitwise_right_shift(input, other) -> Tensor:  # noqa: A002 - torch's name
    """``input >> other`` of int64 values, arithmetic: ``floor(input / 2^other)``; a shift outside [0, 63)
    leaves the sign's bits (0, or −1 for a negative value), as PyTorch's."""
    x, s = _shift_operands("bitwise_right_shift", input, other)
    return where((s >= 0) & (s < _BITS - 1), x.floor_divide(2 ** s.clamp(0, _BITS - 2)), -(x < 0).long())


def _unsupported_cast(method: str, dtype: str):
    def cast(self, memory_format=None) -> Tensor:  # noqa: ARG001 - torch's signature
        raise NotSupportedError(f".{method}() converts to {dtype}, which symnet does not support (its dtypes are "
                                "float32, float64, int64 and bool; use .float(), .double(), .long() or .bool())")

    cast.__name__ = cast.__qualname__ = method
    cast.__doc__ = f"``torch.Tensor.{method}`` would convert to {dtype}: refused, symnet has no {dtype}."
    return cast


for _method, _dtype in _UNSUPPORTED_CASTS.items():
    setattr(SurfaceMethods, _method, _unsupported_cast(_method, _dtype))
for _name in ("absolute", "masked_scatter", "bitwise_left_shift", "bitwise_right_shift"):
    setattr(SurfaceMethods, f"{_name}_", _inplace_form(_name))
