"""Modules imported on first use. A process that trains a step found in the disk cache derives nothing, and
SymPy's import is most of symnet's (a quarter of a second): symnet's modules bind ``sympy`` from here, a module
that imports SymPy when an attribute is first read and then holds all of SymPy's names itself (later reads are
plain lookups). Code that runs at import therefore reads no SymPy attribute; what needs SymPy at definition time
(its ``Function`` subclasses, rule tables) is built on first use, or lives in modules bound with ``module``.

(``importlib.util.LazyLoader`` does not serve: on Python 3.11 an ``import`` statement of a lazily loaded module
reads its ``__spec__``, which loads it.)
"""

from __future__ import annotations

import importlib
import sys
import threading
import types


class LazyModule(types.ModuleType):
    """Module ``target``, imported when an attribute is first read. ``keep``: copy its names here once loaded
    (fast reads; for a library never patched), else each read goes to the module (a patched name is seen)."""

    _lock = threading.Lock()

    def __init__(self, target: str, keep: bool = False):
        super().__init__(f"{target} (imported on first use)")
        self._target, self._keep = target, keep

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        module = importlib.import_module(self._target)
        if self._keep:
            with self._lock:
                self.__dict__.update(vars(module))
        return getattr(module, name)


def module(target: str) -> LazyModule:
    """``target`` (a dotted module name), imported when first used."""
    return LazyModule(target)


sympy = LazyModule("sympy", keep=True)


def loaded(target: str = "sympy") -> bool:
    """Whether ``target`` has been imported (by symnet or anyone else)."""
    return target in sys.modules
