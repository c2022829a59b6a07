"""Constructors: tensors from data and the ``zeros``/``linspace``/``randn`` family, seeded like PyTorch's API."""

from __future__ import annotations

import math

import numpy as np

from ..backend import get_num_threads
from ..core import dtypes
from ..core.dtypes import as_dtype
from ..core.random import BITS, Draw
from ..errors import ArgumentError, DTypeError, NotSupportedError, ShapeError
from .batch import batch_filled, batch_ids, batch_source, batch_template, filled, varies_per_step
from .device import accepts_device
from .linalg import increasing_powers
from .sampling import Generator, default_generator, generator_or_default, with_zero_gradient
from .tensor import Tensor
from .trace import Shared


def manual_seed(seed: int) -> Generator:
    """Seed symnet's random generator (randn, rand, initializers, shuffling, sampling) and return it."""
    return default_generator.manual_seed(seed)


def random_generator() -> Generator:
    """The generator ``manual_seed`` seeds (initializers, ``randn``, shuffling): ``sampling.default_generator``."""
    return default_generator


def _infer_dtype(arr: np.ndarray, typed: bool = False):
    """The dtype of data, as ``torch.tensor`` infers it: Python floats take the default float dtype, typed data
    (a NumPy array or scalar, a tensor) keeps its own float dtype."""
    if arr.dtype.kind == "f":
        return as_dtype(arr.dtype) if typed else dtypes.get_default_dtype()
    if arr.dtype.kind == "b":
        return dtypes.bool_
    if arr.dtype.kind in "iu":
        if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:  # would wrap negative
            raise ArgumentError(f"tensor: the integer {arr.max()} is outside int64's range (Overflow when unpacking "
                                "long long)")
        return dtypes.int64
    if arr.dtype == object and any(type(v) is int for v in arr.flat):
        raise ArgumentError("tensor: an integer is outside int64's range (Overflow when unpacking long long)")
    raise DTypeError(f"cannot make a tensor from data of dtype {arr.dtype}")


@accepts_device
def tensor(data, requires_grad: bool = False, dtype=None, name: str | None = None) -> Tensor:
    """A leaf tensor holding a copy of ``data``; ``name`` is what formulas print for it.

    >>> tensor([1.0, 2.0]).sigmoid()
    tensor([0.7311, 0.8808])
    """
    typed = isinstance(data, Tensor | np.ndarray | np.generic)
    if isinstance(data, Tensor):
        data = data._array()
    arr = np.array(data)
    dt = as_dtype(dtype) if dtype is not None else _infer_dtype(arr, typed)
    t = Tensor(arr.astype(dt), arr.shape, dt, requires_grad=requires_grad)
    if name is not None:
        t.name = name
    return t


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (float32, float64, int64 or bool)."""
    dt = as_dtype(array.dtype)
    if dt != array.dtype:
        raise DTypeError(f"from_numpy: dtype {array.dtype} is not supported; use float32, float64, int64 or bool")
    Shared.share(array)  # the tensor's in-place ops write into it, as PyTorch's do
    return Tensor(array, array.shape, dt)


def _shape(size) -> tuple[int, ...]:
    """A size given as ints or as one sequence of them; a negative one is PyTorch's error."""
    shape = tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)
    negative = [n for n in shape if isinstance(n, int) and n < 0]
    if negative:
        raise ShapeError(f"Trying to create tensor with negative dimension {negative[0]}: {list(shape)}")
    return shape


def _float(dtype):
    return as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()


@accepts_device
def full(size, fill_value, dtype=None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; in a compiled step's forward, a size holding the batch
    size (``x.size(0)``) is the batch's there, whatever its size at each step."""
    shape = _shape((size,))
    dt = as_dtype(dtype) if dtype is not None else _infer_dtype(np.asarray(fill_value))
    made = batch_filled(shape, fill_value, dt, requires_grad, "full")
    if made is not None:
        return made
    return tensor(np.full(shape, fill_value, dtype=dt), requires_grad=requires_grad, dtype=dt, name=name)


@accepts_device
def zeros(*size, dtype=None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    return full(_shape(size), 0.0, dtype=_float(dtype), requires_grad=requires_grad, name=name)


@accepts_device
def ones(*size, dtype=None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    return full(_shape(size), 1.0, dtype=_float(dtype), requires_grad=requires_grad, name=name)


@accepts_device
def empty(*size, dtype=None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    """``torch.empty``: its values are unspecified, symnet's are zeros."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad, name=name)


@accepts_device
def full_like(input: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``input``'s shape (and dtype, unless given) filled with ``fill_value``; in a compiled step's
    forward, shaped by ``input`` at every step when ``input`` changes per step (a symbolic batch dimension)."""
    dt = as_dtype(dtype) if dtype is not None else input.dtype
    if varies_per_step(input):
        return filled(input, None, fill_value, dt, requires_grad, "full_like")
    return full(input.shape, fill_value, dtype=dt, requires_grad=requires_grad)


@accepts_device
def zeros_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return full_like(input, 0, dtype=dtype, requires_grad=requires_grad)


@accepts_device
def ones_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return full_like(input, 1, dtype=dtype, requires_grad=requires_grad)


empty_like = zeros_like


@accepts_device
def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """The ``n × m`` identity (m defaults to n)."""
    n, m = _shape((n, n if m is None else m))
    return tensor(np.eye(n, m), dtype=_float(dtype), requires_grad=requires_grad)


@accepts_device
def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    """``start, start + step, …`` below ``end``: int64 when every bound is an int, else the default float dtype
    (``ceil((end − start) / step)`` values; floats bit for bit as PyTorch computes them, ``_arange_floats``)."""
    if end is None:
        start, end = 0, start
    bounds = [float(v._array() if isinstance(v, Tensor) else v) for v in (start, end, step)]
    if not all(map(math.isfinite, bounds)):
        raise ShapeError(f"arange: unsupported range: {bounds[0]} -> {bounds[1]} (step {bounds[2]})")
    if step == 0:
        raise ShapeError("arange: step must be nonzero")
    if (bounds[1] - bounds[0]) * bounds[2] < 0:
        raise ShapeError(f"arange: upper bound {bounds[1]} and lower bound {bounds[0]} inconsistent with step sign "
                         f"{bounds[2]} (as PyTorch's)")
    values = np.arange(start, end, step)  # its length, and the values of integer bounds
    dtype = as_dtype(dtype) if dtype is not None else \
        dtypes.int64 if values.dtype.kind in "iu" else dtypes.get_default_dtype()
    if dtype == dtypes.bool_:
        raise DTypeError("arange: not implemented for bool (as in PyTorch)")
    if dtype.kind in "iu" and values.dtype.kind == "f":  # an integer range from the bounds truncated, as PyTorch's
        if not int(bounds[2]):
            raise ShapeError(f"arange: step must be nonzero (the int64 range truncates {bounds[2]} to 0)")
        values = np.arange(*map(int, bounds))
    if dtype.kind == "f" and len(values):
        values = _arange_floats(bounds[0], bounds[2], len(values), dtype.type)
    return tensor(values, dtype=dtype, requires_grad=requires_grad, name=name)


def _arange_floats(start: float, step: float, n: int, exact: type) -> np.ndarray:
    """PyTorch's float arange, bit for bit: computed in float64 and rounded to the dtype, the range split among
    the threads in chunks (of at least 32768 values: at most one per thread), each chunk filled two 256-bit
    vectors at a time — a vector's first value start + step·i, the others that value (in the dtype) + step·j —
    and its tail value by value, start + step·i; each a fused multiply-add (PyTorch's compiled loop contracts
    them). The threads are symnet's (``set_num_threads``), which default to PyTorch's: the cores."""
    lanes = 32 // np.dtype(exact).itemsize
    threads = min(get_num_threads(), -(-n // 32768))
    chunk = -(-n // threads)
    i = np.arange(n)
    offset = i % chunk
    first = i - offset  # the chunk's
    vectorized = offset < (np.minimum(chunk, n - first) // (2 * lanes)) * (2 * lanes)
    values = np.empty(n)
    tail = np.flatnonzero(~vectorized)
    values[tail] = _step_multiple(step, tail, start)
    firsts = np.flatnonzero(vectorized & (offset % lanes == 0))  # each vector's first position
    vector_first = _step_multiple(step, firsts, start).astype(exact).astype(np.float64)
    lane = np.arange(lanes, dtype=np.float64)
    values[firsts[:, None] + np.arange(lanes)] = _step_multiple(step, lane, vector_first[:, None])
    return values.astype(exact)


@accepts_device
def linspace(start: float, end: float, steps: int, dtype=None, requires_grad: bool = False,
             name: str | None = None) -> Tensor:
    """``steps`` values from ``start`` to ``end``, bit for bit as PyTorch computes them (``_halves`` with fused
    multiply-adds; integer dtypes from the bounds truncated to integers, in float64, then truncated)."""
    if steps < 0:
        raise ShapeError(f"linspace: number of steps must be non-negative, got {steps}")
    dt = _float(dtype)
    if dt == dtypes.bool_:
        raise DTypeError("linspace: not implemented for bool")
    exact = dt.type if dt.kind == "f" else np.float64
    first, last = (exact(np.array(v.item() if isinstance(v, Tensor) else v).astype(dt)) for v in (start, end))
    with np.errstate(all="ignore"):  # an infinite step (a range past the dtype's) gives inf and NaN, as PyTorch's
        values = _halves(first, last, steps, exact, fused=True)
    return tensor(values.astype(dt), dtype=dt, requires_grad=requires_grad, name=name)


def _step_multiple(step: float, k: np.ndarray, base) -> np.ndarray:
    """base + step·k in float64 rounded once (a fused multiply-add), for integers |k| < 2²⁶ (Boldo and
    Melquiond's emulation: step split in halves of 26 bits, so both partial products are exact; their sum and the
    addition of base as exact pairs (Fast2Sum, Knuth's two-sum); the remainders added rounded to odd, then one
    rounding to nearest)."""
    k = np.asarray(k, dtype=np.float64)
    if k.size and np.abs(k).max() >= 2.0 ** 26:
        raise NotSupportedError("linspace/arange: more than 2^26 values")
    if abs(step) >= 2.0 ** 996:  # its split would overflow: scaled by 2^-128 (exact), and back; base alone at k = 0
        scaled = _step_multiple(step * 2.0 ** -128, k, np.multiply(base, 2.0 ** -128))
        return np.where(k == 0, base, scaled * 2.0 ** 128)
    high = step * 134217729.0  # 2^27 + 1
    high -= high - step
    ph, pl = high * k, (step - high) * k
    uh = ph + pl
    ul = pl - (uh - ph)
    th = base + uh
    t = th - uh
    return th + _sum_to_odd((uh - (th - t)) + (base - t), ul)


def _fused_float32(step: np.float32, k: np.ndarray, base: np.float32) -> np.ndarray:
    """base + step·k in float32 rounded once: the product is exact in float64, the sum rounded to odd there, then
    rounded to float32 (correctly, 29 bits further)."""
    return _sum_to_odd(np.float64(step) * k, np.float64(base)).astype(np.float32)


def _sum_to_odd(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x + y rounded to odd: when the sum is inexact, the neighbour of the two around it whose last bit is 1 (a
    later rounding to nearest, of it or of a sum with it, is then as if from the exact value)."""
    s = x + y
    t = s - x
    lost = (x - (s - t)) + (y - t)
    flat, lost = s.reshape(-1), lost.reshape(-1)  # (views: s is a new array)
    fix = np.flatnonzero((lost != 0) & (flat.view(np.int64) & 1 == 0))
    flat[fix] = np.nextafter(flat[fix], np.where(lost[fix] > 0, np.inf, -np.inf))
    return s


def _halves(first, last, steps: int, exact: type, fused: bool = False) -> np.ndarray:
    """``steps`` evenly spaced values from ``first`` to ``last`` in the float type ``exact``, as PyTorch computes
    them: the step (last − first)/(steps − 1) in that type, the first half first + step·k upwards and the second
    last − step·(steps − 1 − k) downwards, so both ends are exact; ``fused``: each one rounding (PyTorch's
    compiled linspace loop contracts them into fused multiply-adds; its logspace's exponents are not)."""
    if steps == 1:
        return np.array([first], dtype=exact)
    k = np.arange(steps).astype(exact)
    step = exact(last - first) / exact(steps - 1) if steps else exact(0)
    up, down = np.arange(steps) < steps // 2, exact(steps - 1) - k
    if fused and np.isfinite(step):
        fma = _fused_float32 if exact is np.float32 else _step_multiple
        return np.where(up, fma(step, k, first), fma(-step, down, last)).astype(exact)
    return np.where(up, first + step * k, last - step * down).astype(exact)


@accepts_device
def logspace(start, end, steps: int, base: float = 10.0, dtype=None, requires_grad: bool = False,
             name: str | None = None) -> Tensor:
    """``base ** e`` for ``steps`` exponents from ``start`` to ``end``, computed as PyTorch does: in the dtype
    itself (integer dtypes: bounds and base truncated to integers, exponents in float64), the first half from
    ``start`` upwards and the second from ``end`` downwards, so both ends are exact."""
    dt = _float(dtype)
    if dt == dtypes.bool_:
        raise DTypeError("logspace: not implemented for bool")
    if steps < 0:
        raise ArgumentError(f"logspace: number of steps must be non-negative, got {steps}")
    first, last, base = (np.array(v.item() if isinstance(v, Tensor) else v).astype(dt) for v in (start, end, base))
    exact = np.float64 if dt.kind in "iu" else dt.type  # the type of the exponents
    exponents = _halves(first.astype(exact), last.astype(exact), steps, exact)
    values = np.power(base.astype(exact), exponents)
    return tensor(values.astype(dt), dtype=dt, requires_grad=requires_grad, name=name)


def _triangle_indices(row: int, col: int, offset: int, dtype, upper: bool, op: str) -> Tensor:
    """The (2, n) int64 coordinates of a ``row × col`` matrix's lower (upper) triangle, row by row."""
    if row < 0 or col < 0:
        raise ArgumentError(f"{op}: row and col must be non-negative, got {row} and {col}")
    dt = as_dtype(dtype) if dtype is not None else dtypes.int64
    if dt != dtypes.int64:
        raise DTypeError(f"{op}: not implemented for {dt}; the indices are integers")
    pick = np.triu_indices if upper else np.tril_indices
    return tensor(np.stack(pick(row, offset, col)).astype(np.int64).reshape(2, -1), dtype=dt)


@accepts_device
def tril_indices(row: int, col: int, offset: int = 0, dtype=None) -> Tensor:
    """The coordinates of the lower triangle (``tril(offset)``'s kept elements), row-major."""
    return _triangle_indices(row, col, offset, dtype, False, "tril_indices")


@accepts_device
def triu_indices(row: int, col: int, offset: int = 0, dtype=None) -> Tensor:
    """The coordinates of the upper triangle (``triu(offset)``'s kept elements), row-major."""
    return _triangle_indices(row, col, offset, dtype, True, "triu_indices")


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803 - torch's name
    """The Vandermonde matrix ``out[i, j] = x[i] ** (N − 1 − j)`` (``increasing``: ``x[i] ** j``), as running
    products of x, so the gradient is exact at x = 0 too (bool and int x give int64)."""
    if not isinstance(x, Tensor) or x.dim() != 1:
        raise ShapeError("vander: x must be a one-dimensional tensor")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise ArgumentError(f"vander: N must be non-negative, got {n}")
    x = x.long() if x.dtype == dtypes.bool_ else x
    if n == 0:
        return x.reshape(-1, 1).narrow(1, 0, 0).clone()
    powers = increasing_powers(x, n)
    return powers if increasing else powers.flip(1)


@accepts_device
def randn(*size, generator=None, dtype=None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    """Standard normal draws of ``size``; in a compiled step's forward, a size holding the batch size is drawn
    anew every step (``core.random.Draw``)."""
    drawn = _drawn_for_batch(_shape(size), "normal", dtype, requires_grad, "randn")
    if drawn is not None:
        return drawn
    dt = _random_float(dtype, "randn")
    values = generator_or_default(generator).standard_normal(_shape(size))
    return tensor(values, dtype=dt, requires_grad=requires_grad, name=name)


@accepts_device
def rand(*size, generator=None, dtype=None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    """Uniform draws on [0, 1) of ``size``; in a compiled step's forward, as ``randn``."""
    drawn = _drawn_for_batch(_shape(size), "uniform", dtype, requires_grad, "rand")
    if drawn is not None:
        return drawn
    dt = _random_float(dtype, "rand")
    # a float64 draw rounded to float32 can be 1.0: kept below it, in PyTorch's [0, 1)
    values = np.minimum(generator_or_default(generator).random(_shape(size)).astype(dt),
                        np.nextafter(dt.type(1), dt.type(0)))
    return tensor(values, dtype=dt, requires_grad=requires_grad, name=name)


def _random_float(dtype, op: str) -> np.dtype:
    """The dtype of a random float draw (the default dtype for None): a float dtype, else refused (PyTorch's
    kernels are not implemented for integers and bools)."""
    dt = _float(dtype)
    if not dtypes.is_float(dt):
        raise DTypeError(f"{op}: random floats need a float dtype, got {dt}")
    return dt


def _float_like(input: Tensor, dtype, op: str) -> np.dtype:
    return _random_float(input.dtype if dtype is None else dtype, op)


@accepts_device
def randn_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal noise of ``input``'s shape; in a compiled step's forward, drawn anew every step."""
    dtype = _float_like(input, dtype, "randn_like")
    if varies_per_step(input):
        return _drawn_per_step(input, "normal", dtype)
    return randn(input.shape, dtype=dtype, requires_grad=requires_grad)


@accepts_device
def rand_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform noise on [0, 1) of ``input``'s shape; in a compiled step's forward, drawn anew every step."""
    dtype = _float_like(input, dtype, "rand_like")
    if varies_per_step(input):
        return _drawn_per_step(input, "uniform", dtype)
    return rand(input.shape, dtype=dtype, requires_grad=requires_grad)


class RandomKey(Tensor):
    """The 0-d float64 key of one per-step draw (dropout's masks, ``randn_like`` in a compiled step): an integer
    below 2⁵², to which the compiled step adds its step count, so each step draws anew while a seed reproduces
    the whole run."""

    __slots__ = ()

    def __init__(self):
        value = np.array(float(random_generator().integers(0, 2 ** (BITS - 1))), dtype=dtypes.float64)
        super().__init__(value, (), dtypes.float64, name="key")


def _drawn_per_step(input: Tensor, law: str, dtype: np.dtype, template: tuple | None = None) -> Tensor:
    """Noise as an op of the traced program (``core.random.Draw``, over ``input``'s shape or ``template`` of it),
    so a compiled step draws it every step rather than keeping the trace's one draw."""
    return input._apply(Draw(law, template, np.dtype(dtype).name), [input.detach(), RandomKey()], dtype)


def _drawn_for_batch(shape: tuple, law: str, dtype, requires_grad: bool, op: str) -> Tensor | None:
    """``randn``/``rand`` of ``shape`` in a compiled step's forward: drawn per step when the shape holds the batch
    size, refused otherwise (one draw would be kept for every step); None outside a trace."""
    if not batch_ids():
        return None
    template = batch_template(shape)
    if template is None:
        raise NotSupportedError(
            f"compile: {op}(size) in the forward of a compiled step would be one draw kept for every step; draw "
            f"with {op}_like(t) of a tensor the forward computes (drawn anew each step), give a size holding the "
            f"batch size (x.size(0)), or train eagerly")
    if requires_grad:
        raise NotSupportedError(f"compile: {op}(..., requires_grad=True) in a compiled step's forward is a new leaf "
                                "every step, which no optimizer holds; train eagerly")
    return _drawn_per_step(batch_source(), law, _random_float(dtype, op), template)


@accepts_device
def randint(low: int, high=None, size=None, *, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from ``[low, high)``: ``randint(high, size)`` or ``randint(low, high, size)``."""
    if size is None:
        low, high, size = 0, low, high
    if size is None or low >= high:
        raise ArgumentError(f"randint: expects a size and low < high, got low={low}, high={high}, size={size}")
    dt = as_dtype(dtype) if dtype is not None else dtypes.int64
    shape = _shape((size,))
    return tensor(generator_or_default(generator).integers(low, high, shape), dtype=dt, requires_grad=requires_grad)


@accepts_device
def randint_like(input: Tensor, low: int, high: int | None = None, dtype=None) -> Tensor:
    return randint(low, high, input.shape, dtype=dtype if dtype is not None else input.dtype)


@accepts_device
def randperm(n: int, *, generator=None, dtype=None) -> Tensor:
    if n < 0:
        raise ShapeError(f"randperm: n must be non-negative, got {n}")
    return tensor(generator_or_default(generator).permutation(n), dtype=dtype if dtype is not None else dtypes.int64)


@accepts_device
def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Draws of ``N(mean, std²)``: elementwise for tensor ``mean``/``std`` (broadcast), else of ``size``."""
    m, s = (np.asarray(v._array() if isinstance(v, Tensor) else v) for v in (mean, std))
    if size is None and not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        raise ArgumentError("normal: give a size, or mean or std as a tensor")
    shape = np.broadcast_shapes(m.shape, s.shape) if size is None else (size,) if isinstance(size, int) else tuple(size)
    if np.any(s < 0):
        raise ArgumentError(f"normal: expects std >= 0.0, got {s.min()}")
    given = [v.dtype for v in (mean, std) if isinstance(v, Tensor)]
    dt = as_dtype(dtype) if dtype is not None else given[0] if given else dtypes.get_default_dtype()
    drawn = tensor(m + s * generator_or_default(generator).standard_normal(shape), dtype=dt,
                   requires_grad=requires_grad)
    return with_zero_gradient(drawn, mean, std) if size is None else drawn


def _legacy(dtype: np.dtype, name: str):
    def constructor(*args) -> Tensor:
        if args and all(isinstance(a, int) for a in args):
            return zeros(args, dtype=dtype)
        if len(args) > 1:
            raise TypeError(f"{name}(): expected data or sizes (ints), got {args}")
        return tensor(args[0] if args else [], dtype=dtype)

    constructor.__name__ = constructor.__qualname__ = name
    constructor.dtype = dtype  # what ``x.type(symnet.FloatTensor)`` converts to
    constructor.__doc__ = (f"``torch.{name}`` of old tutorials: ``{name}(data)`` is ``tensor(data, dtype={dtype})``, "
                           f"``{name}(2, 3)`` a zero tensor of that size.")
    return constructor


FloatTensor = _legacy(dtypes.float32, "FloatTensor")
DoubleTensor = _legacy(dtypes.float64, "DoubleTensor")
LongTensor = _legacy(dtypes.int64, "LongTensor")
IntTensor = _legacy(dtypes.int64, "IntTensor")  # int32 is stored as int64, as everywhere in symnet
BoolTensor = _legacy(dtypes.bool_, "BoolTensor")
