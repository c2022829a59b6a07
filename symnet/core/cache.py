"""The one in-memory cache: bounded (least recently used entries go first), thread-safe, and built once per key.

Every cache symnet keeps — derived programs, backward plans, structural keys, compiled reference bodies — is a
``BoundedCache``; ``clear_all`` empties them all, which drops the native code their entries hold.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

_ALL: weakref.WeakSet[BoundedCache] = weakref.WeakSet()


class BoundedCache:
    """A map of at most ``limit`` entries. ``get_or_build`` builds a missing entry once even when several
    threads ask for it together (the others wait for the first one's result)."""

    def __init__(self, name: str, limit: int):
        self.name, self.limit = name, limit
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[Hashable, threading.Lock] = {}
        _ALL.add(self)

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
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.limit:
                self._data.popitem(last=False)

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
            self._data.clear()


def clear_all() -> None:
    """Empty every cache (programs and the native code they hold, plans, keys)."""
    for cache in list(_ALL):
        cache.clear()
