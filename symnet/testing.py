"""``symnet.testing.assert_close``: PyTorch's check that results are close, with its default tolerances per dtype,
its errors and its messages, over tensors (symnet's or NumPy's), Python numbers, and sequences and mappings of
them — so tests written with ``torch.testing`` run renamed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .frontend.base import TensorBase
from .frontend.size import Size

#: PyTorch's default (rtol, atol) by dtype; every other dtype compares exactly
_TOLERANCES = {np.dtype(np.float16): (1e-3, 1e-5), np.dtype(np.float32): (1.3e-6, 1e-5),
               np.dtype(np.float64): (1e-7, 1e-7)}
_SCALARS = (bool, int, float)


def assert_close(actual, expected, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Raise an AssertionError (naming the mismatch as PyTorch does) unless ``actual`` and ``expected`` have the
    same structure, shapes and (with ``check_dtype``) dtypes and every pair of values satisfies
    ``|actual − expected| ≤ atol + rtol·|expected|`` (NaNs equal with ``equal_nan``)."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'atol' if atol is None else 'rtol'}.")
    _compare(actual, expected, (), (rtol, atol), equal_nan, check_dtype, msg)


def _compare(actual, expected, path: tuple, tolerance: tuple, equal_nan: bool, check_dtype: bool, msg) -> None:
    tensors = (TensorBase, np.ndarray)
    if isinstance(actual, tensors) and isinstance(expected, tensors):
        problem = _tensor_problem(_array(actual), _array(expected), tolerance, equal_nan, check_dtype)
    elif type(actual) in _SCALARS and type(expected) in _SCALARS:
        problem = _scalar_problem(actual, expected, tolerance, equal_nan, check_dtype)
    elif isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            raise AssertionError(f"The keys of the mappings do not match:\nMissing keys in the actual mapping: "
                                 f"{sorted(map(repr, set(expected) - set(actual)))}\nAdditional keys in the actual "
                                 f"mapping: {sorted(map(repr, set(actual) - set(expected)))}")
        for key in expected:
            _compare(actual[key], expected[key], (*path, key), tolerance, equal_nan, check_dtype, msg)
        return
    elif _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            raise AssertionError(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}")
        for k, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _compare(a, e, (*path, k), tolerance, equal_nan, check_dtype, msg)
        return
    else:
        raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")
    if problem is not None:
        if path:
            problem += "\n\nThe failure occurred for item " + "".join(f"[{k!r}]" for k in path)
        raise AssertionError(msg if isinstance(msg, str) else msg(problem) if callable(msg) else problem)


def _array(x) -> np.ndarray:
    return np.asarray(x.detach()._array() if isinstance(x, TensorBase) else x)


def _is_sequence(x) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, str | bytes)


def _tensor_problem(actual: np.ndarray, expected: np.ndarray, tolerance: tuple, equal_nan: bool,
                    check_dtype: bool) -> str | None:
    if actual.shape != expected.shape:
        return f"The values for attribute 'shape' do not match: {Size(actual.shape)} != {Size(expected.shape)}."
    if check_dtype and actual.dtype != expected.dtype:
        return (f"The values for attribute 'dtype' do not match: symnet.{actual.dtype.name} != "
                f"symnet.{expected.dtype.name}.")
    rtol, atol = tolerance
    if rtol is None:  # the looser of the two dtypes' defaults, as PyTorch
        rtol, atol = map(max, zip(_TOLERANCES.get(actual.dtype, (0.0, 0.0)),
                                  _TOLERANCES.get(expected.dtype, (0.0, 0.0)), strict=True))
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan) | ((a == e) & ~np.isnan(a))
    if close.all():
        return None
    if actual.ndim == 0:
        return _scalar_message(a.item(), e.item(), rtol, atol)
    kind = "equal" if rtol == atol == 0 else "close"
    common = np.result_type(actual, expected)  # the differences in the values' own float dtype, as PyTorch's
    common = common if common.kind == "f" else np.dtype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        absolute = np.abs(actual.astype(common) - expected.astype(common))
        relative = absolute / np.abs(expected.astype(common))
    lines = [f"Tensor-likes are not {kind}!", "",
             f"Mismatched elements: {int((~close).sum())} / {close.size} ({100 * (~close).mean():.1f}%)"]
    for name, diff, allowed in (("absolute", absolute, atol), ("relative", relative, rtol)):
        at = np.unravel_index(int(np.argmax(np.where(np.isnan(diff), np.inf, diff))), diff.shape)
        value = diff[at].item()
        shown = int(value) if kind == "equal" and name == "absolute" and value.is_integer() else value
        lines.append(f"Greatest {name} difference: {shown} at index {tuple(int(i) for i in at)}"
                     + (f" (up to {allowed} allowed)" if kind == "close" else ""))
    return "\n".join(lines)


def _scalar_problem(actual, expected, tolerance: tuple, equal_nan: bool, check_dtype: bool) -> str | None:
    if check_dtype and type(actual) is not type(expected):
        return f"The values for attribute 'dtype' do not match: {type(actual)} != {type(expected)}."
    rtol, atol = tolerance
    if rtol is None:
        rtol, atol = _TOLERANCES[np.dtype(np.float64)] if float in (type(actual), type(expected)) else (0.0, 0.0)
    if np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan) or actual == expected:
        return None
    return _scalar_message(actual, expected, rtol, atol)


def _scalar_message(actual, expected, rtol: float, atol: float) -> str:
    exact = rtol == atol == 0
    absolute = abs(actual - expected)
    relative = absolute / abs(expected) if expected else float("inf")
    return "\n".join([f"Scalars are not {'equal' if exact else 'close'}!", "",
                      f"Expected {expected} but got {actual}.",
                      f"Absolute difference: {absolute}" + ("" if exact else f" (up to {atol} allowed)"),
                      f"Relative difference: {relative}" + ("" if exact else f" (up to {rtol} allowed)")])
