"""Compiled graphs as Python callables: validated NumPy arrays in, NumPy arrays out, one native call.

Everything is checked before native code runs — dtypes, ranks, shapes, the values of symbolic dimensions;
non-contiguous arrays are copied to contiguous ones. Data-dependent indices (labels) are checked by the
kernels themselves before any read with them, and reported here as ``IndexRangeError``.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import sympy as sp

from symnet.errors import DTypeError, IndexRangeError, ShapeError
from symnet.ir import Graph
from symnet.reference import bind_dims

from . import cache, jit
from .emit import ENTRY, emit_module
from .loops import lower_graph, show_loops

_ENTRY_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


@functools.lru_cache(maxsize=1)
def _source_fingerprint() -> str:
    """Compiled objects depend on the emitter: any change to codegen's source invalidates the cache."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


def graph_fingerprint(graph: Graph) -> str:
    parts = [sp.srepr(tuple((t.name, tuple(map(sp.sympify, t.shape)), t.dtype.str) for t in graph.inputs))]
    for d in graph.defs:
        parts.append(sp.srepr((d.name, tuple(map(sp.sympify, d.shape)), d.dtype.str, d.domain, d.out, d.body,
                               d.combine, d.ties)))
    return "\n".join(parts)


class CompiledGraph:
    """A graph compiled to one native function; call it with a mapping of input arrays.

    >>> out = compiled({"X": x, "W": w})         # doctest: +SKIP
    >>> compiled.show("llvm")                    # doctest: +SKIP
    """

    def __init__(self, graph: Graph, use_cache: bool = True):
        self.graph = graph
        self.kernels = lower_graph(graph)
        self._ir, self.checks, self.dims = emit_module(graph, self.kernels, "symnet")
        key = cache.key(graph_fingerprint(graph), jit.host_fingerprint(), _source_fingerprint())
        obj = cache.load(key) if use_cache else None
        self.cache_hit = obj is not None
        if obj is None:
            obj = jit.emit_object(jit.optimize(self._ir))
            if use_cache:
                cache.store(key, obj)
        self._engine = jit.Engine(obj)
        self._fn = _ENTRY_TYPE(self._engine.address(ENTRY))
        self._inputs = list(graph.inputs)
        self._defs = list(graph.defs)

    def __call__(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        inputs = []
        for t in self._inputs:
            if t.name not in arrays:
                raise ShapeError(f"compiled graph: missing input {t.name!r}")
            arr = np.asarray(arrays[t.name])
            if arr.dtype != t.dtype:
                raise DTypeError(f"input {t.name}: expected dtype {t.dtype}, got {arr.dtype}")
            inputs.append(arr if arr.flags.c_contiguous else np.ascontiguousarray(arr))
        dims = bind_dims(self._inputs, {t.name: a for t, a in zip(self._inputs, inputs, strict=True)})
        sizes = {s: dims.get(s) for s in self.dims}
        if any(v is None for v in sizes.values()):
            raise ShapeError(f"compiled graph: cannot infer {[str(s) for s, v in sizes.items() if v is None]}")
        outputs = [np.empty(tuple(int(sp.sympify(n).subs(dims)) for n in d.shape), dtype=d.dtype)
                   for d in self._defs]
        buffers = inputs + outputs
        addresses = np.array([a.__array_interface__["data"][0] for a in buffers], dtype=np.uintp)
        dim_values = np.array([sizes[s] for s in self.dims], dtype=np.int64)
        error = np.zeros(1, dtype=np.int64)
        status = self._fn(addresses.ctypes.data, dim_values.ctypes.data, error.ctypes.data)
        if status:
            check = self.checks[status - 1]
            shape = dict(zip(self._names(), buffers, strict=True))[check.tensor].shape
            raise IndexRangeError(f"{check.definition}: index {check.index} of {check.tensor} takes the value "
                                  f"{int(error[0])}, outside [0, {shape[check.position]}) "
                                  f"(dim {check.position} of shape {shape})")
        table = dict(zip((d.name for d in self._defs), outputs, strict=True))
        return {name: table[name] for name in self.graph.outputs}

    def _names(self):
        return [t.name for t in self._inputs] + [d.name for d in self._defs]

    def show(self, stage: str = "llvm") -> str:
        """The compiled graph at one stage: ``sympy`` definitions, ``loops``, ``llvm``, ``llvm-opt`` or ``asm``."""
        if stage == "sympy":
            return "\n".join(f"{d.name}{list(d.out)} = {d.combine} over {list(d.symbols)}: {d.body}"
                             for d in self.graph.defs)
        if stage == "loops":
            return show_loops(self.kernels)
        if stage == "llvm":
            return self._ir
        if stage == "llvm-opt":
            return str(jit.optimize(self._ir))
        if stage == "asm":
            return jit.emit_assembly(jit.optimize(self._ir))
        raise ValueError(f"show: stage must be sympy, loops, llvm, llvm-opt or asm, got {stage!r}")
