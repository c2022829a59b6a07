"""The dtypes symnet tensors carry and PyTorch's promotion rules between them."""

from __future__ import annotations

import numpy as np

from ..errors import DTypeError

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

FLOATS = (float32, float64)
SUPPORTED = (float32, float64, int64, bool_)

_default_float = float32


def get_default_dtype() -> np.dtype:
    """The float dtype of tensors made from Python floats (float32, as in PyTorch)."""
    return _default_float


def set_default_dtype(dtype) -> None:
    """Choose float32 or float64 for new float tensors, as ``torch.set_default_dtype`` does."""
    global _default_float
    dtype = as_dtype(dtype)
    if dtype not in FLOATS:
        raise DTypeError(f"set_default_dtype: only float32 and float64 are supported, got {dtype}")
    _default_float = dtype


#: PyTorch's dtypes symnet has no storage for, by name: they exist so code naming them runs until it asks for one
UNSTORED = ("int32", "int16", "int8", "uint8", "float16", "complex64", "complex128")


class Unstored:
    """A PyTorch dtype NumPy has no type for (``bfloat16``): it can be named and compared, never stored."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"symnet.{self.name}"


bfloat16 = Unstored("bfloat16")


def as_dtype(dtype) -> np.dtype:
    """The dtype a user asks for (a numpy dtype, type or name, or symnet's), which must be one symnet stores:
    float32, float64, int64 or bool — any other is refused by name, as ``.int()`` is."""
    if isinstance(dtype, Unstored):
        raise DTypeError(f"dtype {dtype.name} is not supported; use float32, float64, int64 or bool")
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise DTypeError(f"unknown dtype {dtype!r}") from exc
    if dt not in SUPPORTED:
        stored = " (symnet stores integers as int64: use symnet.long)" if dt.kind in "iu" else ""
        raise DTypeError(f"dtype {dt} is not supported; use float32, float64, int64 or bool{stored}")
    return dt


def of_data(dtype: np.dtype) -> np.dtype:
    """The dtype symnet keeps NumPy data of ``dtype`` in: integers of any width as int64 (every value kept)."""
    return int64 if np.dtype(dtype).kind in "iu" else as_dtype(dtype)


def is_float(dtype: np.dtype) -> bool:
    return dtype in FLOATS


def promote(*dtypes: np.dtype) -> np.dtype:
    """Result dtype of an op on tensors of these dtypes: bool < int64 < float32 < float64."""
    order = (bool_, int64, float32, float64)
    return max(dtypes, key=order.index)


def category(dtype: np.dtype) -> int:
    """bool 0 < integer 1 < float 2: only a higher category lets a 0-d tensor or a scalar change the result."""
    return {"b": 0, "i": 1, "f": 2}[dtype.kind]


def result_type(tensors: list[np.dtype], zero_dim: list[np.dtype], scalars: list[type]) -> np.dtype:
    """``torch.result_type``: the dtypes of dimensioned tensors promote; 0-d tensors, then Python scalars
    (``bool``, ``int``, ``float``), change the result only when their category is higher than its own (a
    scalar float gives the default float dtype, a scalar int int64)."""
    result = promote(*tensors) if tensors else None
    if zero_dim:
        wide = promote(*zero_dim)
        if result is None or category(wide) > category(result):
            result = wide
    if scalars:
        kind = max({bool: 0, int: 1}.get(t, 2) for t in scalars)
        if result is None or kind > category(result):
            result = (bool_, int64, get_default_dtype())[kind]
    return result


def float_result(dtype: np.dtype) -> np.dtype:
    """Dtype of a float-valued function (exp, division, ...) of a tensor of this dtype."""
    return dtype if is_float(dtype) else get_default_dtype()
