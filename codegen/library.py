"""Native libraries: modules compiled once per host and codegen source (kept in the disk cache), loaded once per
process, whose functions every compiled graph calls by name instead of carrying its own copy.

A graph's object leaves a library's functions undefined; ``ensure`` registers their addresses
(``llvm.add_symbol``) before any such object is loaded. So the code shared by every graph — the thread pool, the
strided GEMM micro-kernels of each precision — is optimized once, not again in each graph's module (the GEMM
kernels were about half of a small step's O3 and a third of its IR). ``prefetch`` makes the object on a thread of
its own, with a target machine of its own and without llvmlite's lock, so it overlaps the caller's IR emission
and optimization on another core.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from llvmlite import binding as llvm

from . import cache, jit

if TYPE_CHECKING:
    from concurrent.futures import Future


@functools.lru_cache(maxsize=1)
def source_fingerprint() -> str:
    """Compiled objects depend on the emitter: any change to codegen's source invalidates the cache."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


class Library:
    """One library: its IR (``source``, called only when the object is not in the cache) and the names of the
    functions it registers for graphs to link against (``exported``, called when it is loaded)."""

    def __init__(self, name: str, source: Callable[[], str], exported: Callable[[], Sequence[str]]):
        self.name, self._source, self._exported = name, source, exported
        self._lock = threading.Lock()
        self._made: Future | None = None  # the object being made on a thread (``prefetch``)
        self._engine: jit.Engine | None = None
        os.register_at_fork(after_in_child=self._forked)

    def _object(self) -> bytes:
        """The object from the disk cache, or compiled (on the calling thread, unlocked) and stored."""
        k = cache.key("library", self.name, source_fingerprint(), jit.host_fingerprint())
        entry = cache.load(k)
        if entry is not None:
            return entry[0]
        obj = jit.compile_alone(self._source())
        cache.store(k, obj, {})
        return obj

    def prefetch(self) -> None:
        """Start making the object on a thread of its own (a no-op once loaded or started)."""
        with self._lock:
            if self._engine is not None or self._made is not None:
                return
            from concurrent.futures import Future  # a process that finds its libraries made never loads it

            self._made = made = Future()

        def make():
            try:
                made.set_result(self._object())
            except BaseException as error:  # ensure raises it
                made.set_exception(error)

        threading.Thread(target=make, name=f"symnet-{self.name}-compile", daemon=True).start()

    def ensure(self) -> jit.Engine:
        """The loaded library, its exported functions registered (loaded on first use; never unloaded: graphs
        call into it for the life of the process). The lock is not held while the object is made."""
        if self._engine is not None:
            return self._engine
        with self._lock:
            made = self._made
        try:
            obj = made.result() if made is not None else self._object()
        except BaseException:
            with self._lock:
                if self._made is made:  # a failed make is not kept: the next use tries again
                    self._made = None
            raise
        with self._lock:
            if self._engine is None:
                engine = jit.Engine(obj)
                for name in self._exported():
                    llvm.add_symbol(name, engine.address(name))
                self._engine, self._made = engine, None
            return self._engine

    def _forked(self) -> None:
        """A child process has no prefetch thread: a future it was making would never be done."""
        self._made = None
