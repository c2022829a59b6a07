"""``symnet.Tensor``: PyTorch-shaped tensors that record a cheap graph and compute values on demand.

An op on tensors makes a small node (``trace.Node``: a typed op and its inputs) — no SymPy at trace time.
Values are computed when looked at (``repr``, ``.numpy()``, ``.item()``) or by ``backward()``, by running the
program the pipeline derives for the graph's structure, so a loop that rebuilds the same graph derives it once.
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from ..core import dtypes
from ..core.dtypes import as_dtype, float_result, is_float, result_type
from ..core.ops import Cast, Gather, Map, MatMul, Op, Permute, Reduce, Reshape, Squeeze, Unsqueeze
from ..core.windows import Concat
from ..errors import DTypeError, GradError, ShapeError
from ..pipeline import forward_program
from . import autograd
from .autograd import is_grad_enabled
from .indexing import slice_op
from .trace import Node, trace

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _normalize_dim(dim: int, rank: int, op: str) -> int:
    if not -max(rank, 1) <= dim < max(rank, 1):
        raise ShapeError(f"{op}: dim {dim} is out of range for a tensor of {rank} dims")
    return dim % max(rank, 1)


class Tensor:
    """A tensor: a value (computed lazily), a shape, a dtype, and the op that made it."""

    #: ``node`` is the op that made the tensor (None for a leaf), ``_value`` its array once computed, ``_base``
    #: the tensor whose storage ``.data``/``detach()`` shares (in-place updates of either reach both).
    __slots__ = ("node", "_value", "shape", "dtype", "requires_grad", "grad", "_name", "_base")
    __array_priority__ = 1000

    def __init__(self, value: np.ndarray | None, shape: tuple, dtype: np.dtype, node: Node | None = None,
                 requires_grad: bool = False, name: str | None = None):
        if requires_grad and not is_float(dtype):
            raise DTypeError(f"only float tensors can require gradients, got dtype {dtype}")
        self._value, self.shape, self.dtype, self.node = value, tuple(shape), dtype, node
        self.requires_grad, self.grad, self._name, self._base = requires_grad, None, name, None

    # ---------------------------------------------------------------- values
    @property
    def name(self) -> str | None:
        """The name formulas print for this tensor (None: an automatic one)."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str) or not value.isidentifier():
            raise ValueError(f"a tensor name must be an identifier, got {value!r}")
        self._name = value

    def numpy(self) -> np.ndarray:
        """The value as a NumPy array (shared with the tensor, as in PyTorch)."""
        if self._value is None:
            self._realize()
        return self._value

    def _realize(self) -> None:
        traced = trace([self])
        prog = forward_program(traced.specs, (len(traced.specs) - 1,))
        (self._value,) = prog.run_list(traced.leaf_values())

    def set_(self, source) -> Tensor:
        """Make a leaf hold ``source``'s values (a Tensor or an array, shared when its dtype is the tensor's):
        how optimizers and loaders replace a parameter's array. Tensors made from the old values keep them."""
        if self.node is not None:
            raise GradError("set_() is for leaf tensors; this one was computed by an op")
        value = np.asarray(source.numpy() if isinstance(source, Tensor) else source)
        if value.dtype != self.dtype:
            value = value.astype(self.dtype)
        self._store(value)
        return self

    def _store(self, value: np.ndarray) -> None:
        """A leaf's new array, shared with the tensor whose ``.data`` this is (a new array rather than a write
        into the old one, so lazily computed tensors keep the values they were made from)."""
        self._value, self.shape = value, value.shape
        base = self._base
        if base is not None and base.node is None and base.dtype == value.dtype:
            base._value, base.shape = value, value.shape

    def copy_(self, src) -> Tensor:
        """Copy ``src``'s values in (broadcast to this shape), as ``torch.Tensor.copy_``."""
        self._check_inplace("copy_")
        value = np.asarray(src.numpy() if isinstance(src, Tensor) else src)
        self._store(np.broadcast_to(value, self.shape).astype(self.dtype, copy=True))
        return self

    @property
    def data(self) -> Tensor:
        """The value as a tensor outside the graph sharing this one's storage (``.data`` as in PyTorch: in-place
        updates of it, such as ``w.grad.data.zero_()``, update this tensor)."""
        alias = Tensor(self.numpy(), self.shape, self.dtype)
        alias._base = self
        return alias

    @data.setter
    def data(self, other) -> None:
        value = np.asarray(other.numpy() if isinstance(other, Tensor) else other)
        self._value, self.node = value.astype(self.dtype), None
        self.shape = value.shape

    def item(self) -> float | int | bool:
        if self.numel() != 1:
            raise ValueError(f"item(): only one-element tensors have an item, this one has shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def numel(self) -> int:
        return math.prod(self.shape)

    def dim(self) -> int:
        return len(self.shape)

    ndim = property(dim)

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[_normalize_dim(dim, self.dim(), "size")]

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        return self.numpy() if dtype is None else self.numpy().astype(dtype)

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extras = []
        if self.dtype not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool_):
            extras.append(f"dtype={self.dtype.name}")
        if self.requires_grad:
            extras.append("requires_grad=True")
        if self._name:
            extras.append(f"name={self._name!r}")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    # ---------------------------------------------------------------- autograd
    def detach(self) -> Tensor:
        return self.data

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if self.node is not None:
            raise GradError("requires_grad_() is for leaf tensors; this one was computed by an op")
        if requires_grad and not is_float(self.dtype):
            raise DTypeError(f"only float tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.node is None

    def backward(self, gradient=None) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad."""
        seed = gradient.numpy() if isinstance(gradient, Tensor) else gradient
        self._value, leaves, grads = autograd.gradients(self, seed)
        for leaf, g in zip(leaves, grads, strict=True):
            if leaf.grad is None:
                leaf.grad = Tensor(np.array(g, dtype=leaf.dtype), leaf.shape, leaf.dtype)
            else:
                leaf.grad._value = leaf.grad.numpy() + g

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value) -> Tensor:
        self._check_inplace("fill_")
        self._store(np.full(self.shape, value, dtype=self.dtype))
        return self

    def _check_inplace(self, op: str) -> None:
        if self.node is not None:
            raise GradError(f"{op}: in-place ops are for leaf tensors; this one was computed by an op")
        if self.requires_grad and is_grad_enabled():
            raise GradError(f"{op}: a leaf tensor that requires grad is used in an in-place operation; "
                            "wrap the update in `with symnet.no_grad():`")

    def _inplace(self, op: str, other) -> Tensor:
        """``a -= b``: updates a leaf's value in place (under no_grad for leaves that require grad); on a
        computed tensor it records the out-of-place op, as rebinding the name does."""
        if self.node is None:
            self._check_inplace(f"__i{op.strip('_')}__")
        result = getattr(self, op)(other)
        if self.node is not None:
            return result
        if result.shape != self.shape:
            raise ShapeError(f"in-place {op.strip('_')}: result shape {result.shape} != {self.shape}")
        self._store(result.numpy().astype(self.dtype, copy=False))
        return self

    def __iadd__(self, other):
        return self._inplace("__add__", other)

    def __isub__(self, other):
        return self._inplace("__sub__", other)

    def __imul__(self, other):
        return self._inplace("__mul__", other)

    def __itruediv__(self, other):
        return self._inplace("__truediv__", other)

    # ---------------------------------------------------------------- ops
    def _apply(self, op: Op, inputs: Sequence[Tensor], dtype: np.dtype, shape: tuple | None = None) -> Tensor:
        """A new tensor made by ``op`` (its shape rule runs now); under no_grad its value is computed at once."""
        if shape is None:
            shape = op.shape([t.shape for t in inputs])
        enabled = is_grad_enabled()
        requires_grad = enabled and is_float(dtype) and any(t.requires_grad for t in inputs)
        out = Tensor(None, shape, dtype, Node(op, tuple(inputs)), requires_grad)
        if not enabled:
            out._realize()
            out.node = None
        return out

    def _map(self, fn: str, *others, result: str = "promote") -> Tensor:
        return _elementwise(fn, (self, *others), result)

    def __add__(self, other):
        return self._map("add", other)

    def __radd__(self, other):
        return _elementwise("add", (other, self), "promote")

    def __sub__(self, other):
        _refuse_bool("subtraction", self, other)
        return self._map("sub", other)

    def __rsub__(self, other):
        _refuse_bool("subtraction", self, other)
        return _elementwise("sub", (other, self), "promote")

    def __mul__(self, other):
        return self._map("mul", other)

    def __rmul__(self, other):
        return _elementwise("mul", (other, self), "promote")

    def __truediv__(self, other):
        return self._map("div", other, result="float")

    def __rtruediv__(self, other):
        return _elementwise("div", (other, self), "float")

    def __pow__(self, other):
        return self._map("pow", other, result="float" if isinstance(other, float) else "promote")

    def __rpow__(self, other):
        return _elementwise("pow", (other, self), "float")

    def __neg__(self):
        _refuse_bool("negation", self)
        return self._map("neg")

    def __matmul__(self, other):
        other = _as_tensor(other, self)
        if other.dtype != self.dtype:  # PyTorch's refusal: no silent promotion in a contraction
            raise DTypeError(f"matmul: expected both operands to have the same dtype, but got {self.dtype} and "
                             f"{other.dtype}; convert one with .to()")
        return self._apply(MatMul(), [self, other], self.dtype)

    def __rmatmul__(self, other):
        return _as_tensor(other, self).__matmul__(self)

    def pow(self, exponent):
        return self ** exponent

    def abs(self):
        _refuse_bool("abs", self)
        return self._map("abs")

    def sign(self):
        _refuse_bool("sign", self)
        return self._map("sign")

    def exp(self):
        return self._map("exp", result="float")

    def log(self):
        return self._map("log", result="float")

    def log1p(self):
        return self._map("log1p", result="float")

    def sqrt(self):
        return self._map("sqrt", result="float")

    def sin(self):
        return self._map("sin", result="float")

    def cos(self):
        return self._map("cos", result="float")

    def tanh(self):
        return self._map("tanh", result="float")

    def erf(self):
        return self._map("erf", result="float")

    def sigmoid(self):
        return self._map("sigmoid", result="float")

    def relu(self):
        _refuse_bool("relu", self)
        return self._map("relu")

    def leaky_relu(self, negative_slope: float = 0.01):
        return self._map("leaky_relu", float(negative_slope), result="float")

    def softplus(self, beta: float = 1.0, threshold: float = 20.0):
        return self._map("softplus", beta, threshold, result="float")

    def clamp(self, min=None, max=None):  # noqa: A002 - PyTorch's names
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        if not is_float(self.dtype) and all(isinstance(b, int | None) for b in (min, max)):
            info = np.iinfo(np.int64)  # an integer clamp stays integer, as in PyTorch
            lo, hi = info.min if min is None else min, info.max if max is None else max
            return self._map("clamp", int(lo), int(hi))
        lo = -math.inf if min is None else min
        hi = math.inf if max is None else max
        return self._map("clamp", float(lo), float(hi), result="float")

    clip = clamp

    def square(self):
        return self * self

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def long(self):
        return self.to(dtypes.int64)

    def bool(self):
        return self.to(dtypes.bool_)

    def to(self, dtype) -> Tensor:
        dtype = as_dtype(dtype)
        return self if dtype == self.dtype else self._apply(Cast(dtype), [self], dtype)

    type = to

    # ---------------------------------------------------------------- reductions
    def _dims(self, dim, op: str) -> tuple[int, ...]:
        if dim is None:
            return tuple(range(self.dim()))
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        return tuple(sorted({_normalize_dim(d, self.dim(), op) for d in dims}))

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

    # ---------------------------------------------------------------- shapes
    def permute(self, *dims):
        dims = tuple(dims[0]) if len(dims) == 1 and not isinstance(dims[0], int) else dims
        perm = tuple(_normalize_dim(d, self.dim(), "permute") for d in dims)
        if sorted(perm) != list(range(self.dim())):
            raise ShapeError(f"permute: {dims} is not a permutation of the {self.dim()} dims of {self.shape}")
        return self._apply(Permute(perm), [self], self.dtype)

    def transpose(self, dim0: int, dim1: int):
        perm = list(range(self.dim()))
        a, b = (_normalize_dim(d, self.dim(), "transpose") for d in (dim0, dim1))
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
        a, b = (_normalize_dim(d, self.dim(), "flatten") for d in (start_dim, end_dim))
        if a >= b:
            return self
        spec = (None,) * a + (-1,) + tuple(self.shape[b + 1:])
        return self._apply(Reshape(spec), [self], self.dtype)

    def unsqueeze(self, dim: int):
        return self._apply(Unsqueeze(_normalize_dim(dim, self.dim() + 1, "unsqueeze")), [self], self.dtype)

    def squeeze(self, dim=None):
        dims = self._dims(dim, "squeeze")
        return self._apply(Squeeze(tuple(d for d in dims if self.shape[d] == 1)), [self], self.dtype)

    def gather(self, dim: int, index: Tensor):
        if not isinstance(index, Tensor) or index.dtype != dtypes.int64:
            raise DTypeError(f"gather: index must be an int64 tensor, got {getattr(index, 'dtype', type(index))}")
        return self._apply(Gather(_normalize_dim(dim, self.dim(), "gather")), [self, index], self.dtype)

    def __getitem__(self, key):
        return self._apply(slice_op(key, self.shape), [self], self.dtype)

    # ---------------------------------------------------------------- comparisons (Iverson brackets, bool)
    def __gt__(self, other):
        return self._map("gt", other, result="bool")

    def __ge__(self, other):
        return self._map("ge", other, result="bool")

    def __lt__(self, other):
        return self._map("lt", other, result="bool")

    def __le__(self, other):
        return self._map("le", other, result="bool")

    def __eq__(self, other):
        return self._map("eq", other, result="bool")

    def __ne__(self, other):
        return self._map("ne", other, result="bool")

    __hash__ = object.__hash__




_SCALARS = (bool, int, float, np.number)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Tensors joined along ``dim`` (``torch.cat``): same shapes elsewhere, dtypes promoted."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    if not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError("cat: expected a sequence of Tensors")
    rank = tensors[0].dim()
    if rank == 0:
        raise ShapeError("cat: zero-dimensional tensors cannot be concatenated")
    dim = _normalize_dim(dim, rank, "cat")
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
    dim = _normalize_dim(dim, tensors[0].dim() + 1, "stack")
    return cat([t.unsqueeze(dim) for t in tensors], dim)


def _refuse_bool(op: str, *operands) -> None:
    """PyTorch's refusals for bool operands (a mask is inverted with ``~``, not ``-``)."""
    if any(isinstance(x, bool) or (isinstance(x, Tensor) and x.dtype == dtypes.bool_) for x in operands):
        raise DTypeError(f"{op} is not supported for bool tensors (as in PyTorch); convert with .long() or "
                         ".float() first")


def _elementwise(fn: str, operands: Sequence, result: str) -> Tensor:
    """A ``map`` op: tensors become inputs, Python numbers fold into the formula as constants; the dtype is
    ``torch.result_type``'s (then float for ``result="float"`` ops, bool for comparisons)."""
    like = operands[0] if type(operands[0]) is Tensor else next(o for o in operands if isinstance(o, Tensor))
    tensors, slots, scalars = [], [], []
    for x in operands:
        if isinstance(x, Tensor):
            slots.append(("t", len(tensors)))
            tensors.append(x)
        elif isinstance(x, _SCALARS):
            value = x.item() if isinstance(x, np.generic) else x
            slots.append(("c", value))
            scalars.append(type(value))
        else:
            slots.append(("t", len(tensors)))
            tensors.append(_as_tensor(x, like))
    first = tensors[0]
    if all(t.dtype == first.dtype for t in tensors) and (not scalars or first.dtype.kind == "f"):
        dtype = first.dtype  # the common case: no promotion can happen
    else:
        dtype = result_type([t.dtype for t in tensors if t.shape], [t.dtype for t in tensors if not t.shape], scalars)
    if result == "float":
        dtype = float_result(dtype)
    elif result == "bool":
        dtype = dtypes.bool_
    shape = first.shape if all(t.shape == first.shape for t in tensors) else None  # else: broadcasting rule
    return like._apply(Map(fn, tuple(slots)), tensors, dtype, shape)


def _as_tensor(value, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value
    arr = np.asarray(value)
    dtype = like.dtype if arr.dtype.kind == "f" and is_float(like.dtype) else as_dtype(arr.dtype)
    if arr.dtype.kind == "f" and not is_float(like.dtype):
        dtype = dtypes.get_default_dtype()
    return Tensor(arr.astype(dtype), arr.shape, dtype)
