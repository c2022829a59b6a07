"""torch's utility functions: type and shape questions (``is_tensor``, ``promote_types``, ``finfo``, …), tensors
from data that share its memory (``as_tensor``, ``asarray``), print options, grids and block matrices built from
reshapes and concatenations (so they differentiate like any op), and the spectral windows as constants.

Their tensor methods (``gcd``, ``frexp``, ``corrcoef``, ``histogram``) live with their kin in ``pointwise``,
``linalg`` and ``counting``; grad-mode helpers (``inference_mode``, anomaly mode) in ``autograd``.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from ..core import dtypes
from ..core.dtypes import as_dtype, is_float
from ..core.ops import broadcast_shapes as _broadcast
from ..errors import ArgumentError, DTypeError, NotSupportedError, ShapeError
from .autograd import (  # noqa: F401 - offered as symnet.<name> (PUBLIC)
    inference_mode,
    is_anomaly_enabled,
    is_inference_mode_enabled,
    set_anomaly_enabled,
)
from .base import TensorBase
from .creation import tensor, zeros
from .device import accepts_device
from .pointwise import _scaled
from .shaping import cat, vstack
from .tensor import Tensor
from .tensor_str import set_printoptions  # noqa: F401 - offered as symnet.set_printoptions (PUBLIC)

#: tensor methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS = ("t", "detach", "detach_", "adjoint")
#: this module's functions offered as ``symnet.<name>``
PUBLIC = ("is_tensor", "is_storage", "numel", "as_tensor", "asarray", "scalar_tensor", "broadcast_shapes",
          "promote_types", "result_type", "can_cast", "finfo", "iinfo", "set_printoptions", "inference_mode",
          "is_inference_mode_enabled", "set_anomaly_enabled", "is_anomaly_enabled", "meshgrid", "block_diag",
          "row_stack", "rsub", "polar", "hann_window",
          "hamming_window", "blackman_window", "bartlett_window", "kaiser_window")

row_stack = vstack  # torch's older name of vstack


# ---------------------------------------------------------------- types and shapes

def is_tensor(obj) -> bool:
    """Whether ``obj`` is a symnet tensor (a ``Parameter`` too)."""
    return isinstance(obj, TensorBase)


def is_storage(obj) -> bool:
    """False: symnet has no storage objects apart from its tensors."""
    return False


def numel(input: Tensor) -> int:  # noqa: A002 - torch's name
    """The number of elements of a tensor."""
    _require_tensor("numel", input)
    return input.numel()


def broadcast_shapes(*shapes) -> tuple[int, ...]:
    """The shape tensors of these shapes broadcast to (ints count as 1-d shapes), or a ShapeError."""
    sizes = [(s,) if isinstance(s, numbers.Integral) else tuple(s) for s in shapes]
    for shape in sizes:
        if any(isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0 for n in shape):
            raise ShapeError(f"broadcast_shapes: sizes must be non-negative ints, got {list(shape)}")
    return tuple(int(n) for n in _broadcast("broadcast_shapes", *sizes)) if sizes else ()


def promote_types(type1, type2) -> np.dtype:
    """The smallest dtype both promote to: bool < int64 < float32 < float64."""
    return dtypes.promote(as_dtype(type1), as_dtype(type2))


def result_type(tensor1, tensor2) -> np.dtype:
    """The dtype an arithmetic op on these operands gives (``torch.result_type``): dimensioned tensors promote;
    0-d tensors, then Python numbers, only when of a higher category (bool < integer < float)."""
    operands = (tensor1, tensor2)
    if not all(isinstance(x, TensorBase | bool | int | float | np.number) for x in operands):
        raise TypeError(f"result_type(): expected tensors or numbers, got "
                        f"{', '.join(type(x).__name__ for x in operands)}")
    tensors = [x for x in operands if isinstance(x, TensorBase)]
    scalars = [type(x.item() if isinstance(x, np.generic) else x) for x in operands if not isinstance(x, TensorBase)]
    return dtypes.result_type([t.dtype for t in tensors if t.shape], [t.dtype for t in tensors if not t.shape],
                              scalars)


def can_cast(from_, to) -> bool:  # noqa: A002 - torch's name
    """Whether ``torch``'s type promotion allows the cast: never to a lower category (float → int, int → bool)."""
    return dtypes.category(as_dtype(from_)) <= dtypes.category(as_dtype(to))


class finfo:  # noqa: N801 - torch's name
    """The limits of a float dtype (``torch.finfo``): bits, eps, max, min, tiny = smallest_normal, resolution
    (10^−decimal digits) and dtype (its name). No argument: the default float dtype."""

    def __init__(self, type=None):  # noqa: A002 - torch's name
        dt = dtypes.get_default_dtype() if type is None else _known_dtype(type, "finfo")
        if not is_float(dt):
            raise DTypeError(f"finfo() requires a floating point input type, got {dt.name}; use iinfo for "
                             "integers")
        info = np.finfo(dt)
        self.bits, self.eps, self.max, self.min = info.bits, float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution, self.dtype = 10.0 ** -info.precision, dt.name

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:  # noqa: N801 - torch's name
    """The limits of an integer dtype (``torch.iinfo``): bits, max, min and dtype (its name)."""

    def __init__(self, type):  # noqa: A002 - torch's name
        dt = _known_dtype(type, "iinfo")
        if dt.kind != "i":
            raise DTypeError(f"{dt.name} is not supported by iinfo: it takes an integer dtype")
        info = np.iinfo(dt)
        self.bits, self.max, self.min, self.dtype = info.bits, int(info.max), int(info.min), dt.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def _known_dtype(type, op: str) -> np.dtype:  # noqa: A002 - torch's name
    """A dtype symnet has, exactly (finfo and iinfo must not describe int64 for an int32 they were asked about)."""
    try:
        dt = np.dtype(type)
    except TypeError as exc:
        raise DTypeError(f"{op}: unknown dtype {type!r}") from exc
    if dt not in dtypes.SUPPORTED:
        raise DTypeError(f"{op}: dtype {dt.name} is not one of symnet's (float32, float64, int64, bool)")
    return dt


def _require_tensor(op: str, value) -> None:
    if not isinstance(value, TensorBase):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not {type(value).__name__}")


# ---------------------------------------------------------------- tensors from data

@accepts_device
def as_tensor(data, dtype=None) -> Tensor:
    """``data`` as a tensor, sharing memory where it can (``torch.as_tensor``): a tensor of the dtype asked is
    returned as is (another dtype: converted, with a graph); a NumPy array of a dtype symnet has is shared
    when no other dtype is asked; anything else is copied."""
    return asarray(data, dtype=dtype)


@accepts_device
def asarray(obj, *, dtype=None, copy: bool | None = None, requires_grad: bool = False) -> Tensor:
    """``obj`` as a tensor (``torch.asarray``): ``copy=None`` shares a tensor's or NumPy array's memory when the
    dtype allows and copies otherwise, ``copy=True`` always copies, ``copy=False`` refuses to copy."""
    want = as_dtype(dtype) if dtype is not None else None  # (never ``want or …``: a dtype's truth is False)
    if isinstance(obj, TensorBase):
        kept = want is None or want == obj.dtype
        if kept and not copy:
            out = obj
        elif copy is False:
            raise ArgumentError(f"asarray: can't alias a tensor of dtype {obj.dtype.name} as {want.name} (copy=False)")
        else:
            out = obj.clone() if kept else obj.to(want)
    elif not copy and isinstance(obj, np.ndarray) and obj.dtype in dtypes.SUPPORTED and \
            (want is None or want == obj.dtype):  # (never ``want in (None, …)``: NumPy reads None as float64)
        out = Tensor(obj, obj.shape, obj.dtype)
    elif copy is False:
        raise ArgumentError(f"asarray: can't alias {type(obj).__name__} data without a copy (copy=False)")
    else:
        out = tensor(obj, dtype=want)
    if requires_grad:
        out = out.detach().requires_grad_(True) if out.node is None else out
    return out


@accepts_device
def scalar_tensor(s, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor holding the number ``s``, of the default float dtype unless ``dtype`` says otherwise."""
    if isinstance(s, TensorBase):
        raise TypeError("scalar_tensor(): argument 's' must be a Number, not Tensor")
    dt = as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    return tensor(np.asarray(s, dtype=dt), dtype=dt, requires_grad=requires_grad)


# ---------------------------------------------------------------- grids, blocks, arithmetic

def meshgrid(*tensors: Tensor, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids of 0-d or 1-d tensors: output k holds tensor k's values along dim k (``"ij"``) or, with
    ``"xy"``, the first two dims swapped (Cartesian, as NumPy's default). Each is a reshape and an expand, so
    gradients sum over the grid. Without ``indexing`` PyTorch warns and takes ``"ij"``."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    if not tensors:
        raise ArgumentError("meshgrid expects a non-empty list of tensors")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f'meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in tensors:
        _require_tensor("meshgrid", t)
        if t.dim() > 1:
            raise ShapeError(f"meshgrid: expected 0-d or 1-d tensors, got one of shape {list(t.shape)}")
        if t.dtype != tensors[0].dtype:
            raise DTypeError("meshgrid expects all tensors to have the same dtype")
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for t, axis in zip(tensors, axes, strict=True):
        shape[axis] = t.numel()
    return tuple(t.reshape(tuple(-1 if k == axis else 1 for k in range(len(shape)))).expand(tuple(shape))
                 for t, axis in zip(tensors, axes, strict=True))


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-d as 1×1, 1-d as a row) along the diagonal of one matrix, zeros elsewhere; dtypes promote.
    Each row band is a concatenation with zero blocks, so each tensor gets its own part of the gradient."""
    blocks = []
    for k, t in enumerate(tensors):
        _require_tensor("block_diag", t)
        if t.dim() > 2:
            raise ShapeError(f"block_diag: Input tensors must have 2 or fewer dimensions. Input {k} has {t.dim()} "
                             "dimensions")
        blocks.append(t.reshape(1, -1) if t.dim() < 2 else t)
    if not blocks:
        return zeros(1, 0)
    dtype = dtypes.result_type([b.dtype for b in blocks], [], [])
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        right = width - left - b.shape[1]
        parts = [zeros(b.shape[0], left, dtype=dtype), b.to(dtype), zeros(b.shape[0], right, dtype=dtype)]
        rows.append(cat(parts, 1))
        left += b.shape[1]
    return cat(rows, 0)


def rsub(input: Tensor, other, *, alpha=1) -> Tensor:  # noqa: A002 - torch's name
    """``other − alpha·input``: subtraction with the operands reversed."""
    _require_tensor("rsub", input)
    return other - _scaled(input, alpha, other)


def polar(abs: Tensor, angle: Tensor) -> Tensor:  # noqa: A002 - torch's name
    """Refused: ``abs·(cos θ + i·sin θ)`` is complex, and symnet's tensors are real."""
    raise NotSupportedError("polar: symnet has no complex dtype (its tensors are float32, float64, int64 or bool); "
                            "keep abs·cos(angle) and abs·sin(angle) as two real tensors")


# ---------------------------------------------------------------- spectral windows

def _window(op: str, window_length: int, periodic: bool, dtype, values) -> Tensor:
    """A window of ``window_length`` points from ``values(n, N)`` at n = 0…N−1 (as float64, then the dtype);
    periodic: the symmetric window of N + 1 points without its last (for spectral analysis)."""
    if isinstance(window_length, bool) or not isinstance(window_length, numbers.Integral) or window_length < 0:
        raise ArgumentError(f"{op} requires non-negative window_length, got window_length={window_length!r}")
    dt = as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()
    if not is_float(dt):
        raise DTypeError(f"{op} expects floating point dtypes, got {dt.name}")
    if window_length <= 1:
        return tensor(np.ones(window_length), dtype=dt)
    size = window_length + 1 if periodic else window_length
    return tensor(values(np.arange(window_length, dtype=np.float64), size), dtype=dt)


def _cosine_sum(*coefficients: float):
    """w[n] = Σ_k (−1)^k a_k cos(2πkn / (N − 1)): Hann, Hamming and Blackman."""
    return lambda n, size: sum((-1) ** k * a * np.cos(2 * math.pi * k * n / (size - 1))
                               for k, a in enumerate(coefficients))


@accepts_device
def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype=None, requires_grad: bool = False) -> Tensor:
    """w[n] = α − β·cos(2πn / (N − 1))."""
    return _window("hamming_window", window_length, periodic, dtype, _cosine_sum(alpha, beta)) \
        .requires_grad_(requires_grad)


@accepts_device
def hann_window(window_length: int, periodic: bool = True, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """w[n] = ½ − ½·cos(2πn / (N − 1))."""
    return _window("hann_window", window_length, periodic, dtype, _cosine_sum(0.5, 0.5)).requires_grad_(requires_grad)


@accepts_device
def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """w[n] = 0.42 − 0.5·cos(2πn / (N − 1)) + 0.08·cos(4πn / (N − 1))."""
    return _window("blackman_window", window_length, periodic, dtype, _cosine_sum(0.42, 0.5, 0.08)) \
        .requires_grad_(requires_grad)


@accepts_device
def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, requires_grad: bool = False) -> Tensor:
    """w[n] = 1 − |2n / (N − 1) − 1| (a triangle)."""
    return _window("bartlett_window", window_length, periodic, dtype,
                   lambda n, size: 1 - np.abs(2 * n / (size - 1) - 1)).requires_grad_(requires_grad)


@accepts_device
def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None,
                  requires_grad: bool = False) -> Tensor:
    """w[n] = I₀(β·√(1 − ((n − a)/a)²)) / I₀(β), a = (N − 1)/2."""
    def values(n, size):
        a = (size - 1) / 2
        return np.i0(beta * np.sqrt(np.maximum(1 - ((n - a) / a) ** 2, 0))) / np.i0(beta)

    return _window("kaiser_window", window_length, periodic, dtype, values).requires_grad_(requires_grad)

