"""Compiled graphs as Python callables: validated NumPy arrays in, NumPy arrays out, one native call.

Everything is checked before native code runs — dtypes, ranks, shapes, the values of symbolic dimensions;
non-contiguous arrays are copied to contiguous ones. Data-dependent indices (labels) are checked by the
kernels themselves before any read with them, and reported here as ``IndexRangeError``.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import sympy as sp

from symnet.core.ir import Graph
from symnet.core.ops import fmt_shape
from symnet.core.reference import bind_dims
from symnet.errors import DTypeError, IndexRangeError, ShapeError

from . import cache, jit
from .emit import ENTRY, IndexCheck, LoopSpec, dims_of, emit_module
from .loops import lower_graph, show_loops

_log = logging.getLogger("symnet.codegen")
_SMALL_BLOCK = 1 << 16  # bytes: below this a zero-filled ctypes block is cheaper than np.empty
if os.environ.get("SYMNET_SHOW"):
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")

_ENTRY_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)
_LOOP_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                              ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
                              ctypes.c_int64)


@functools.lru_cache(maxsize=1)
def _source_fingerprint() -> str:
    """Compiled objects depend on the emitter: any change to codegen's source invalidates the cache."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


def _shape_function(shape, dims: list[sp.Symbol]):
    """sizes of the symbolic dims → the concrete shape; plain ints and symbols need no lambdify."""
    parts = [int(d) if sp.sympify(d).is_Integer else d for d in shape]
    if all(isinstance(p, int) for p in parts):
        fixed = tuple(parts)
        return lambda *sizes: fixed
    if all(isinstance(p, int) or p in dims for p in parts):
        picks = [p if isinstance(p, int) else dims.index(p) for p in parts]
        kinds = [isinstance(p, int) for p in parts]
        return lambda *sizes: tuple(p if k else sizes[p] for p, k in zip(picks, kinds, strict=True))
    return sp.lambdify(dims, tuple(sp.sympify(n) for n in shape))


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

    def __init__(self, graph: Graph, use_cache: bool = True, loop: LoopSpec | None = None):
        self.graph = graph
        self.loop = loop
        self.dims = dims_of(graph)
        self._ir: str | None = None
        key = cache.key(graph_fingerprint(graph), repr(loop), jit.host_fingerprint(), _source_fingerprint())
        entry = cache.load(key) if use_cache else None
        self.cache_hit = entry is not None
        if entry is not None:
            obj, meta = entry
            self.checks = [IndexCheck(c["definition"], c["tensor"], c["position"], sp.sympify(c["index"]))
                           for c in meta["checks"]]
        else:
            obj = jit.emit_object(jit.optimize(self.llvm_ir()))
            if use_cache:
                cache.store(key, obj, {"checks": [{"definition": c.definition, "tensor": c.tensor,
                                                   "position": c.position, "index": sp.srepr(c.index)}
                                                  for c in self.checks]})
        self._engine = jit.Engine(obj)
        for stage in filter(None, os.environ.get("SYMNET_SHOW", "").split(",")):
            _log.info("%s of %s:\n%s", stage, ", ".join(graph.outputs), self.show(stage.strip()))
        self._fn = _ENTRY_TYPE(self._engine.address(ENTRY))
        self._loop_fn = _LOOP_TYPE(self._engine.address("sn_loop")) if loop is not None else None
        self._inputs = list(graph.inputs)
        self._defs = list(graph.defs)
        # The per-call path uses no SymPy: shapes become plain ints, symbols or small compiled functions.
        self._input_shapes = [tuple(int(d) if sp.sympify(d).is_Integer else d for d in t.shape)
                              for t in self._inputs]
        self._simple = all(isinstance(d, int) or isinstance(d, sp.Symbol) for s in self._input_shapes for d in s)
        self._output_shapes = [_shape_function(d.shape, self.dims) for d in self._defs]
        self._error = np.zeros(1, dtype=np.int64)
        self._error_address = self._error.ctypes.data
        self._layouts: dict[tuple, tuple] = {}
        # Argument arrays reused across calls (a call is synchronous): the addresses and the dimension values.
        self._addresses = (ctypes.c_uint64 * (len(self._inputs) + len(self._defs)))()
        self._addresses_at = ctypes.addressof(self._addresses)
        self._dim_values = (ctypes.c_int64 * max(len(self.dims), 1))()
        self._dim_values_at = ctypes.addressof(self._dim_values)
        self._known: dict[int, tuple[np.ndarray, int]] = {}
        position = {d.name: k for k, d in enumerate(self._defs)}
        self._returned = [position[name] for name in graph.outputs]

    @property
    def kernels(self):
        return lower_graph(self.graph)

    def llvm_ir(self) -> str:
        """The module's LLVM IR before optimization (emitted on first use: a cache hit never needs it)."""
        if self._ir is None:
            self._ir, self.checks, _ = emit_module(self.graph, self.kernels, "symnet", self.loop)
        return self._ir

    def _layout(self, sizes: tuple) -> tuple:
        """Where each definition lives in the per-call block, for these dimension values (cached)."""
        if sizes not in self._layouts:
            offsets, shapes, total = [], [], 0
            for shape_fn, d in zip(self._output_shapes, self._defs, strict=True):
                shape = tuple(int(n) for n in shape_fn(*sizes))
                offsets.append(total)
                shapes.append(shape)
                total += -(-int(np.prod(shape, dtype=np.int64)) * d.dtype.itemsize // 64) * 64
            self._layouts[sizes] = (max(total, 64), offsets, shapes)
        return self._layouts[sizes]

    def _bind(self, inputs: list[np.ndarray]) -> dict:
        """Check every shape against the graph and read off the symbolic dimensions, without SymPy."""
        if not self._simple:
            return bind_dims(self._inputs, {t.name: a for t, a in zip(self._inputs, inputs, strict=True)})
        dims: dict = {}
        for t, want, arr in zip(self._inputs, self._input_shapes, inputs, strict=True):
            got = arr.shape
            if len(got) != len(want):
                raise ShapeError(f"input {t.name}: expected {len(want)} dims {fmt_shape(t.shape)}, got {got}")
            for w, g in zip(want, got, strict=True):
                if isinstance(w, int):
                    if w != g:
                        raise ShapeError(f"input {t.name}: expected shape {fmt_shape(t.shape)}, got {got}")
                elif dims.setdefault(w, g) != g:
                    raise ShapeError(f"input {t.name}: {w} is {dims[w]} elsewhere but {g} here")
        return dims

    def _validated(self, arrays: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        inputs = []
        for t in self._inputs:
            if t.name not in arrays:
                raise ShapeError(f"compiled graph: missing input {t.name!r}")
            arr = np.asarray(arrays[t.name])
            if arr.dtype != t.dtype:
                raise DTypeError(f"input {t.name}: expected dtype {t.dtype}, got {arr.dtype}")
            inputs.append(arr if arr.flags.c_contiguous else np.ascontiguousarray(arr))
        return inputs

    def _raise_index_error(self, status: int, inputs, shapes) -> None:
        check = self.checks[status - 1]
        shape = ([t.shape for t in inputs] + shapes)[self._names().index(check.tensor)]
        raise IndexRangeError(f"{check.definition}: index {check.index} of {check.tensor} takes the value "
                              f"{int(self._error[0])}, outside [0, {shape[check.position]}) "
                              f"(dim {check.position} of shape {shape})")

    def run_loop(self, arrays: Mapping[str, np.ndarray], steps: int, sources: Mapping[str, np.ndarray] | None = None,
                 perm: np.ndarray | None = None, batch: int = 0, epoch_steps: int | None = None) -> np.ndarray:
        """Run the graph ``steps`` times in one native call (see ``LoopSpec``); returns the recorded values.

        Feedback targets are updated in the given arrays when they are contiguous and of the right dtype (as
        parameters are). Gathered inputs take ``batch`` rows of their ``sources`` per step; ``perm`` holds one
        permutation of the samples per epoch (a 2-d array, or 1-d for one order reused every epoch) and an
        epoch is ``epoch_steps`` steps (default: all of them)."""
        if self.loop is None:
            raise RuntimeError("run_loop: this graph was compiled without a LoopSpec")
        arrays = dict(arrays)
        extra = []
        samples = 0
        if self.loop.gathered:
            for target, source in self.loop.gathered:
                src = np.ascontiguousarray(sources[source])
                t = next(t for t in self._inputs if t.name == target)
                if src.dtype != t.dtype:
                    raise DTypeError(f"input {target}: expected dtype {t.dtype}, got {src.dtype}")
                extra.append(src)
                samples = len(src)
            whole = batch >= samples and all(np.array_equal(order, np.arange(samples)) for order in perm)
            for (target, _), src in zip(self.loop.gathered, extra, strict=True):
                arrays[target] = src if whole else np.empty((batch, *src.shape[1:]), dtype=src.dtype)
            if whole:
                batch = 0  # every step reads the data in place: nothing to gather
            perm = np.ascontiguousarray(np.atleast_2d(perm), dtype=np.int64)
            if perm.shape[1] != samples or (perm.size and (perm.min() < 0 or perm.max() >= samples)):
                raise IndexRangeError(f"run_loop: each permutation must order the {samples} samples")
        inputs = self._validated(arrays)
        dims = self._bind(inputs)
        sizes = tuple(dims[s] for s in self.dims)
        total, offsets, shapes = self._layout(sizes)
        block = np.empty(total + 64, dtype=np.uint8)
        start = -block.__array_interface__["data"][0] % 64
        addresses = np.array([a.__array_interface__["data"][0] for a in inputs] +
                             [block.__array_interface__["data"][0] + start + o for o in offsets] +
                             [a.__array_interface__["data"][0] for a in extra], dtype=np.uintp)
        dim_values = np.array(sizes or (0,), dtype=np.int64)
        results = np.empty(steps, dtype=np.float64)
        perm_at = perm.__array_interface__["data"][0] if perm is not None else 0
        orders = len(perm) if perm is not None else 1
        status = self._loop_fn(addresses.ctypes.data, dim_values.ctypes.data, self._error_address, steps,
                               perm_at, samples, batch, results.ctypes.data, epoch_steps or steps, orders)
        if status:
            self._raise_index_error(status, inputs, shapes)
        for (_, target), given in ((f, arrays.get(f[1])) for f in self.loop.feedback):
            updated = inputs[self._names().index(target)]
            if given is not None and updated is not given:
                np.copyto(given, updated)
        return results

    def __call__(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run on a mapping of input arrays; returns the outputs by name."""
        return dict(zip(self.graph.outputs, self.call(self._validated(arrays)), strict=True))

    def call(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Run on input arrays in the graph's input order; returns the outputs in its output order.

        Arrays of the right dtype, contiguous and of the exact shape take a fast path; anything else goes
        through the full validation of ``__call__``."""
        if len(inputs) != len(self._inputs):
            raise ShapeError(f"compiled graph: expected {len(self._inputs)} inputs, got {len(inputs)}")
        if not self.dims and all(type(a) is np.ndarray and a.dtype == t.dtype and a.shape == shape and
                                 a.flags.c_contiguous
                                 for a, t, shape in zip(inputs, self._inputs, self._input_shapes, strict=True)):
            dims = {}
        else:
            inputs = self._validated({t.name: a for t, a in zip(self._inputs, inputs, strict=True)})
            dims = self._bind(inputs)
        missing = [str(s) for s in self.dims if s not in dims]
        if missing:
            raise ShapeError(f"compiled graph: cannot infer {missing} from the inputs")
        sizes = tuple(dims[s] for s in self.dims)
        total, offsets, shapes = self._layout(sizes)
        # One fresh, 64-byte aligned block holds every definition: one allocation, addresses by arithmetic
        # (small blocks come from ctypes, whose address costs less to read than a NumPy array's).
        if total <= _SMALL_BLOCK:
            block = (ctypes.c_char * (total + 64))()
            base = ctypes.addressof(block)
        else:
            block = np.empty(total + 64, dtype=np.uint8)
            base = block.__array_interface__["data"][0]
        start = -base % 64
        addresses = self._addresses
        for k, arr in enumerate(inputs):
            addresses[k] = self._address(arr)
        n_in = len(inputs)
        for k, offset in enumerate(offsets):
            addresses[n_in + k] = base + start + offset
        for k, size in enumerate(sizes):
            self._dim_values[k] = size
        status = self._fn(self._addresses_at, self._dim_values_at, self._error_address)
        if status:
            self._raise_index_error(status, inputs, shapes)
        return [np.ndarray(shapes[k], self._defs[k].dtype, block, start + offsets[k]) for k in self._returned]

    def _address(self, arr: np.ndarray) -> int:
        """The data address of an input array. Small arrays seen before (parameters, scalars) are remembered —
        and held, so their ids stay unique; large ones are not worth holding on to."""
        known = self._known.get(id(arr))
        if known is not None and known[0] is arr:
            return known[1]
        address = arr.__array_interface__["data"][0]
        if arr.nbytes <= 4096:
            if len(self._known) > 64:
                self._known.clear()
            self._known[id(arr)] = (arr, address)
        return address

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
            return self.llvm_ir()
        if stage == "llvm-opt":
            return str(jit.optimize(self.llvm_ir()))
        if stage == "asm":
            return jit.emit_assembly(jit.optimize(self.llvm_ir()))
        raise ValueError(f"show: stage must be sympy, loops, llvm, llvm-opt or asm, got {stage!r}")
