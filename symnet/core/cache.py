"""The one in-memory cache: bounded (least recently used entries go first), thread-safe, and built once per key.

Every cache symnet keeps — derived programs, backward plans, compiled reference bodies — is a ``BoundedCache``;
tables that are not (the structural keys) register their own clear function with ``on_clear``. ``clear_all``
empties them all and hands the memory back: an entry's native code is freed when the last reference to its
executable goes (its engine is closed by a finalizer, never while a call may still run it), and the C heap is
trimmed afterwards.

>>> squares = BoundedCache("squares", limit=2)
>>> squares.get_or_build(3, lambda: 9)
9
>>> squares[4], squares[5] = 16, 25          # 3 was used least recently: it goes
>>> 3 in squares, len(squares)
(False, 2)
"""

from __future__ import annotations

import ctypes
import gc
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from . import lazy
from .lazy import sympy as sp

_ALL: weakref.WeakSet[BoundedCache] = weakref.WeakSet()
_HOOKS: list[Callable[[], Any]] = []
_HOOKS_LOCK = threading.Lock()


class BoundedCache:
    """A map of at most ``limit`` entries. ``get_or_build`` builds a missing entry once even when several
    threads ask for it together (the others wait for the first one's result).

    Evicted and cleared entries are released after the lock is let go, so whatever their destructors do (closing
    an engine, say) never runs under it."""

    def __init__(self, name: str, limit: int):
        if limit < 1:
            raise ValueError(f"BoundedCache {name!r}: limit must be at least 1, got {limit}")
        self.name, self.limit = name, limit
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[Hashable, threading.Lock] = {}
        _ALL.add(self)

    def __repr__(self) -> str:
        return f"BoundedCache({self.name!r}, {len(self._data)}/{self.limit})"

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            value = self._data.get(key, default)
            if value is not default:
                self._data.move_to_end(key)
            return value

    def __setitem__(self, key: Hashable, value: Any) -> None:
        evicted = []
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.limit:
                evicted.append(self._data.popitem(last=False))
        del evicted  # the last references go here, outside the lock

    def get_or_build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        while True:
            with self._lock:
                if key in self._data:
                    self._data.move_to_end(key)
                    return self._data[key]
                pending = self._pending.get(key)
                owner = pending is None
                if owner:
                    pending = self._pending[key] = threading.Lock()
                    pending.acquire()
            if not owner:
                with pending:  # wait for the builder; if it failed, the loop builds it here
                    pass
                continue
            try:
                value = build()
                self[key] = value
                return value
            finally:
                with self._lock:
                    del self._pending[key]
                pending.release()

    def clear(self) -> None:
        with self._lock:
            dropped, self._data = self._data, OrderedDict()
        dropped.clear()  # outside the lock: destructors may use this cache again


def on_clear(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Have ``clear_all`` call ``fn`` too (for a table that is not a ``BoundedCache``). Usable as a decorator;
    registering the same function twice registers it once."""
    with _HOOKS_LOCK:
        if fn not in _HOOKS:
            _HOOKS.append(fn)
    return fn


@on_clear
def _clear_sympy_cache() -> None:
    """SymPy's own memo tables fill with the expressions we derive (nothing to clear before it is loaded)."""
    if lazy.loaded():
        sp.core.cache.clear_cache()


def clear_all() -> None:
    """Empty every cache (programs and the native code they hold, plans, keys, reference bodies, SymPy's), collect
    the garbage that referred to them, and give the freed C heap back to the system."""
    for cache in list(_ALL):
        cache.clear()
    with _HOOKS_LOCK:
        hooks = list(_HOOKS)
    for fn in hooks:
        fn()
    gc.collect()
    trim()


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        fn = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS, Windows): nothing to trim
        return None
    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    return fn


_MALLOC_TRIM = _find_malloc_trim()


def trim() -> bool:
    """Return free pages of the C heap to the system (glibc's ``malloc_trim``: LLVM and large Python objects
    allocate there, and freed compiles otherwise stay in the resident size). False where unavailable."""
    return bool(_MALLOC_TRIM(0)) if _MALLOC_TRIM is not None else False
