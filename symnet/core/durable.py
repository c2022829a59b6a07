"""Durable keys: a value's exact text, the same in every process and every session, or a refusal.

The structural keys of tracing (``frontend.trace``) are integers of one process. What outlives the process — a
compiled step found again in the disk cache by the structure traced — needs text that two values share only
when they are equal: floats in hexadecimal (−0.0, NaN and the last bit kept), types by their qualified names,
arrays by a digest of their bytes, named tuples and frozen dataclasses field by field. A value whose text could
be shared by an unequal one (a function, an object with an address in its repr) is refused (``NotDurable``),
and the caller does without the cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys

import numpy as np


class NotDurable(TypeError):
    """A value without an exact text of its own (its key would hold only in this process, or not at all)."""


def _name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def _text_of_float(x: float) -> str:
    return repr(x) if x != x else float.hex(x)  # hex is exact; NaN has one text (its payload is not kept)


def text(value) -> str:
    """The exact, process-independent text of ``value``, or ``NotDurable``."""
    parts: list[str] = []
    _write(value, parts.append)
    return "".join(parts)


def digest(*values) -> str:
    """A short hexadecimal key of ``values``' texts (``NotDurable`` as ``text``)."""
    return hashlib.sha256(text(values).encode()).hexdigest()


def _write(value, out) -> None:
    kind = type(value)
    if value is None or kind is bool:
        out(repr(value))
    elif kind is int:
        out(f"i{value}")
    elif isinstance(value, int):  # a marked int equal to its value (a compiled step's batch size)
        out(f"i{int(value)}")
    elif kind is str:
        out(repr(value))
    elif kind is float:
        out(f"f{_text_of_float(value)}")
    elif isinstance(value, float):  # a subclass means something (symnet's negative zero)
        out(f"{_name(kind)}:{_text_of_float(float(value))}")
    elif kind is tuple or kind is list:
        out("(" if kind is tuple else "[")
        for v in value:
            _write(v, out)
            out(",")
        out(")" if kind is tuple else "]")
    elif isinstance(value, tuple) and hasattr(kind, "_fields"):  # a named tuple: type and fields
        out(_name(kind) + "(")
        for v in value:
            _write(v, out)
            out(",")
        out(")")
    elif kind is dict or kind is frozenset or kind is set:
        items = sorted(text(kv) for kv in (value.items() if kind is dict else value))
        out(f"{kind.__name__}{{{','.join(items)}}}")
    elif isinstance(value, type):
        out(f"<{_name(value)}>")
    elif isinstance(value, np.dtype):
        out(f"dtype:{value.str}")
    elif isinstance(value, np.generic):
        out(f"{_name(kind)}:")
        _write(value.item(), out)
    elif isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise NotDurable("an array of Python objects has no durable text")
        data = np.ascontiguousarray(value)
        out(f"array:{data.dtype.str}:{data.shape}:{hashlib.sha256(data.tobytes()).hexdigest()}")
    elif dataclasses.is_dataclass(value) and kind.__dataclass_params__.frozen:
        out(_name(kind) + "(")
        for f in dataclasses.fields(value):
            out(f.name + "=")
            _write(getattr(value, f.name), out)
            out(",")
        out(")")
    elif "sympy" in sys.modules and isinstance(value, sys.modules["sympy"].Basic):  # its own exact form
        out("sympy:" + sys.modules["sympy"].srepr(value))
    else:
        raise NotDurable(f"a {_name(kind)} has no durable text")
