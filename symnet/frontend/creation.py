"""Constructors: tensors from data and the ``zeros``/``linspace``/``randn`` family, seeded like PyTorch's API."""

from __future__ import annotations

import numpy as np

from ..core import dtypes
from ..core.dtypes import as_dtype
from ..errors import DTypeError
from .tensor import Tensor

_rng = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed symnet's random generator (randn, rand, initializers, shuffling)."""
    global _rng
    _rng = np.random.default_rng(seed)


def random_generator() -> np.random.Generator:
    """The generator ``manual_seed`` seeds (initializers, ``randn``, shuffling)."""
    return _rng


def _infer_dtype(arr: np.ndarray):
    if arr.dtype.kind == "f":
        return dtypes.get_default_dtype()
    if arr.dtype.kind == "b":
        return dtypes.bool_
    if arr.dtype.kind in "iu":
        return dtypes.int64
    raise DTypeError(f"cannot make a tensor from data of dtype {arr.dtype}")


def tensor(data, requires_grad: bool = False, dtype=None, name: str | None = None) -> Tensor:
    """A leaf tensor holding a copy of ``data``; ``name`` is what formulas print for it.

    >>> tensor([1.0, 2.0]).sigmoid()
    tensor([0.7310586, 0.8807971])
    """
    if isinstance(data, Tensor):
        data = data.numpy()
    arr = np.array(data)
    dt = as_dtype(dtype) if dtype is not None else _infer_dtype(arr)
    t = Tensor(arr.astype(dt), arr.shape, dt, requires_grad=requires_grad)
    if name is not None:
        t.name = name
    return t


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (float32, float64, int64 or bool)."""
    dt = as_dtype(array.dtype)
    if dt != array.dtype:
        raise DTypeError(f"from_numpy: dtype {array.dtype} is not supported; use float32, float64, int64 or bool")
    return Tensor(array, array.shape, dt)


def _shape(size) -> tuple[int, ...]:
    return tuple(size[0]) if len(size) == 1 and not isinstance(size[0], int) else tuple(size)


def _float(dtype):
    return as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()


def full(size, fill_value, dtype=None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    shape = _shape((size,)) if isinstance(size, int) else tuple(size)
    dt = as_dtype(dtype) if dtype is not None else _infer_dtype(np.asarray(fill_value))
    return tensor(np.full(shape, fill_value, dtype=dt), requires_grad=requires_grad, dtype=dt, name=name)


def zeros(*size, dtype=None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    return full(_shape(size), 0.0, dtype=_float(dtype), requires_grad=requires_grad, name=name)


def ones(*size, dtype=None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    return full(_shape(size), 1.0, dtype=_float(dtype), requires_grad=requires_grad, name=name)


def zeros_like(t: Tensor, dtype=None) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype)


def ones_like(t: Tensor, dtype=None) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype)


def arange(start, end=None, step=1, dtype=None, name: str | None = None) -> Tensor:
    if end is None:
        start, end = 0, start
    return tensor(np.arange(start, end, step), dtype=dtype, name=name)


def linspace(start: float, end: float, steps: int, dtype=None, requires_grad: bool = False,
             name: str | None = None) -> Tensor:
    return tensor(np.linspace(start, end, steps), dtype=_float(dtype), requires_grad=requires_grad, name=name)


def randn(*size, dtype=None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    return tensor(_rng.standard_normal(_shape(size)), dtype=_float(dtype), requires_grad=requires_grad, name=name)


def rand(*size, dtype=None, requires_grad: bool = False, name: str | None = None) -> Tensor:
    return tensor(_rng.random(_shape(size)), dtype=_float(dtype), requires_grad=requires_grad, name=name)
