"""Compiled graphs as Python callables: validated NumPy arrays in, NumPy arrays out, one native call.

Everything is checked before native code runs — dtypes, ranks, shapes, the values of symbolic dimensions;
non-contiguous arrays are copied to contiguous ones. Data-dependent indices (labels) are checked by the
kernels themselves before any read with them, and reported here as ``IndexRangeError``.
"""

from __future__ import annotations

import ctypes
import functools
import math
import threading
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from symnet.core.ir import Graph, Repeat, bind_dims, dims_of, fmt_shape, format_graph, series_arrays
from symnet.core.lazy import sympy as sp
from symnet.errors import DTypeError, IndexRangeError, ShapeError

from . import cache, jit, marshal
from .gemm import LIBRARIES as GEMM_LIBRARIES
from .interface import (
    ENTRY,
    FIRST_NONFINITE,
    INDEX,
    PERIOD,
    RECORDS,
    REPEAT_BLOCK,
    STARTS,
    STEPS,
    IndexCheck,
    Interface,
    RepeatInterface,
    Slot,
)
from .library import source_fingerprint
from .marshal import data_address
from .pool import POOL

_ENTRY_TYPE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


#: the starts a repeat without gathering passes (read, never used)
_NO_STARTS = (ctypes.c_int64 * 2)()


class _LastRepeat(NamedTuple):
    """A thread's last repeat, for the next to reuse: its block and the arrays of the slots the marshal skips
    (``own``: the serial inputs', and gathering, the gathered inputs' buffers), and for a gathering repeat the
    rows a step gathers and the sources' row shapes (None: the inputs were read in place)."""

    words: ctypes.Array
    sizes: tuple
    shapes: list
    at: int
    own: dict[int, np.ndarray]
    gathered: tuple | None


def _place_buffers(words, inputs: list[np.ndarray], base: int, offsets: list[int]) -> int:
    """An argument block's first slots: the inputs' addresses, then the definitions' in the workspace at
    ``base``; returns the next slot."""
    for k, arr in enumerate(inputs):
        words[k] = data_address(arr)
    n = len(inputs)
    for k, offset in enumerate(offsets):
        words[n + k] = base + offset
    return n + len(offsets)




def _shape_function(shape: tuple, dims: tuple[str, ...], symbols: list[sp.Symbol] | None):
    """sizes of the dims → the concrete shape; ints and dimension names need no lambdify (computed extents do,
    from the graph's ``symbols``)."""
    if all(type(p) is int for p in shape):
        fixed = tuple(shape)
        return lambda *sizes: fixed
    if all(type(p) is int or type(p) is str for p in shape):
        picks = [p if type(p) is int else dims.index(p) for p in shape]
        kinds = [type(p) is int for p in shape]
        return lambda *sizes: tuple(p if k else sizes[p] for p, k in zip(picks, kinds, strict=True))
    return sp.lambdify(symbols, tuple(sp.sympify(n) for n in shape))


def _extent(d):
    """An extent as the interface holds it: an int, a dimension's name, or (computed) the expression."""
    d = sp.sympify(d)
    return int(d) if d.is_Integer else d.name if isinstance(d, sp.Symbol) else d


#: the most elements a graph's inputs and definitions may hold together for a call to run it inside the marshal
SMALL_GRAPH = 1024


def _small(interface: Interface) -> bool:
    """Whether every call of the graph is microseconds of work (fixed extents, at most ``SMALL_GRAPH`` elements in
    all): then it runs holding the GIL, which costs other threads less than releasing and taking it again."""
    slots = (*interface.inputs, *interface.defs)
    if not all(type(d) is int for _, _, shape in slots for d in shape):
        return False
    return sum(math.prod(shape) for _, _, shape in slots) <= SMALL_GRAPH


def interface_of(graph: Graph, repeat: Repeat | None) -> Interface:
    """The calling convention of ``graph`` compiled with ``repeat``, as plain data where it can be."""
    def slots(ts):
        return tuple(Slot(t.name, t.dtype, tuple(_extent(d) for d in t.shape)) for t in ts)

    plan = None if repeat is None else RepeatInterface(
        tuple(t.name for t in repeat.gathers), tuple((t.name, t.dtype) for t in repeat.series),
        tuple(d.name for d, _ in repeat.feedback), tuple(d.name for d in repeat.record),
        tuple(t.name for t in [*(t for _, t in repeat.feedback), *repeat.counters]))
    return Interface(slots(graph.inputs), slots(graph.defs), tuple(s.name for s in dims_of(graph)),
                     tuple(graph.outputs), plan)


def repeat_fingerprint(repeat: Repeat | None) -> str:
    if repeat is None:
        return "no repeat"
    return repr(([(d.name, t.name) for d, t in repeat.feedback], [t.name for t in repeat.counters],
                 [d.name for d in repeat.record], [t.name for t in repeat.gathers], str(repeat.rows),
                 [t.name for t in repeat.series]))


def graph_fingerprint(graph: Graph) -> str:
    parts = [sp.srepr(tuple((t.name, tuple(map(sp.sympify, t.shape)), t.dtype.str) for t in graph.inputs))]
    for d in graph.defs:
        parts.append(sp.srepr((d.name, tuple(map(sp.sympify, d.shape)), d.dtype.str, d.domain, d.out, d.body,
                               d.combine, d.ties)))
    return "\n".join(parts)


def _spans_from(meta: dict, interface: Interface) -> list[tuple[int, int]] | None:
    """The definitions' kernel spans a cache entry lists, validated as plain data (None: unusable)."""
    spans = meta.get("spans")
    if not (isinstance(spans, list) and len(spans) == len(interface.defs)):
        return None
    if not all(isinstance(s, list) and len(s) == 2 and all(type(k) is int for k in s) and 0 <= s[0] <= s[1]
               for s in spans):
        return None
    return [(s[0], s[1]) for s in spans]


def pack(nbytes: list[int], spans: list[tuple[int, int]], alignment: int = 64) -> tuple[int, list[int]]:
    """Offsets in one block for buffers of ``nbytes`` alive over ``spans`` (first and last kernel, inclusive):
    first fit in the order they are made, so buffers whose spans do not meet share memory. Returns the total."""
    placed: list[tuple[int, int, int]] = []  # offset, end, last kernel
    offsets = [0] * len(nbytes)
    for k in sorted(range(len(nbytes)), key=lambda k: spans[k]):
        first, last = spans[k]
        size = -(-nbytes[k] // alignment) * alignment
        offset = 0
        for start, end, _ in sorted(p for p in placed if p[2] >= first):
            if offset + size <= start:
                break
            offset = max(offset, end)
        offsets[k] = offset
        placed.append((offset, offset + size, last))
    return max((end for _, end, _ in placed), default=0), offsets


def _checks_from(meta: dict, interface: Interface) -> list[IndexCheck] | None:
    """The index checks a cache entry lists, as plain data validated against the interface (None: unusable)."""
    names = {name: len(shape) for name, _, shape in (*interface.inputs, *interface.defs)}
    checks = meta.get("checks")
    if not isinstance(checks, list):
        return None
    found = []
    for c in checks:
        if not (isinstance(c, dict) and isinstance(c.get("definition"), str) and c.get("tensor") in names and
                type(c.get("position")) is int and isinstance(c.get("index"), str) and
                (c.get("kind") == "divisor" or c.get("kind") == "index" and 0 <= c["position"] < names[c["tensor"]])):
            return None
        found.append(IndexCheck(c["definition"], c["tensor"], c["position"], c["index"], c["kind"]))
    return found


def _padded(graph: Graph, repeat: Repeat | None) -> Graph:
    """The graph as its kernels read it: guarded reads of padded copies (what a repeat carries over excepted)."""
    from .loops import pad_guarded_reads

    if repeat is None:
        return pad_guarded_reads(graph)
    return pad_guarded_reads(graph, frozenset(d.name for d, _ in repeat.feedback) |
                             frozenset(d.name for d in repeat.record))


#: the libraries a graph's object may link against, besides the pool, by name
LINKABLE = {library.name: library for library in GEMM_LIBRARIES.values()}


def _libraries_from(meta: dict) -> list[str] | None:
    """The libraries a cache entry's object links against: names of this process's libraries (None: unusable)."""
    names = meta.get("libraries")
    if not (isinstance(names, list) and all(isinstance(n, str) and n in LINKABLE for n in names)):
        return None
    return names


def _cached(key: str, interface: Interface) -> tuple[bytes, list[IndexCheck], list[tuple[int, int]], list[str]] | None:
    """The object, index checks, kernel spans and libraries of the cache entry ``key``, when it is usable for
    ``interface``."""
    entry = cache.load(key)
    if entry is None:
        return None
    found = _checks_from(entry[1], interface), _spans_from(entry[1], interface), _libraries_from(entry[1])
    return None if None in found else (entry[0], *found)


class CompiledGraph:
    """A graph compiled to one native function; call it with a mapping of input arrays.

    >>> out = compiled({"X": x, "W": w})         # doctest: +SKIP
    >>> compiled.show("llvm")                    # doctest: +SKIP
    """

    def __init__(self, graph: Graph, use_cache: bool = True, repeat: Repeat | None = None):
        graph = _padded(graph, repeat)
        self._graph, self._plan, self._source = graph, repeat, None
        self._ir: str | None = None
        interface = interface_of(graph, repeat)
        #: the object's cache key: what a cache entry of a whole step names to find it again
        self.key = cache.key(graph_fingerprint(graph), repeat_fingerprint(repeat), jit.host_fingerprint(),
                             source_fingerprint())
        found = _cached(self.key, interface) if use_cache else None
        self.cache_hit = found is not None
        if found is not None:
            obj, self.checks, self.spans, self.libraries = found
        else:
            obj = jit.emit_object(jit.optimize(self.llvm_ir()))
            if use_cache:
                cache.store(self.key, obj, {
                    "checks": [{"definition": c.definition, "tensor": c.tensor, "position": c.position,
                                "index": c.index, "kind": c.kind} for c in self.checks],
                    "spans": [list(s) for s in self.spans], "libraries": self.libraries,
                    "interface": interface.to_json() if interface.plain else None})
            self._ir = None  # ~10 KB a graph, kept by every cached program otherwise; show() emits it again
        self._load(interface, obj, dims_of(graph))

    @classmethod
    def from_cache(cls, key: str, source: Callable[[], tuple[Graph, Repeat | None]]) -> CompiledGraph | None:
        """The object cached under ``key`` run through the interface stored with it, without the graph (no SymPy,
        no LLVM optimizer); None when the entry is missing or unusable. ``source`` derives the graph and repeat
        again for whatever needs them (``show``, export)."""
        entry = cache.load(key)
        interface = Interface.from_json(entry[1].get("interface")) if entry is not None else None
        found = _cached(key, interface) if interface is not None else None
        if found is None:
            return None
        self = cls.__new__(cls)
        self._graph = self._plan = self._ir = None
        self._source, self.key, self.cache_hit = source, key, True
        obj, self.checks, self.spans, self.libraries = found
        self._load(interface, obj, None)
        return self

    def _load(self, interface: Interface, obj: bytes, symbols: list[sp.Symbol] | None) -> None:
        """Load the object and prepare the per-call path from the interface alone (no SymPy per call: shapes
        are ints, dimension names or, for computed extents, small compiled functions of the graph's
        ``symbols``)."""
        POOL.ensure()  # registers the pool's sn_fork, which the object links against
        for name in self.libraries:
            LINKABLE[name].ensure()
        self._engine = jit.Engine(obj)
        # The native code lives as long as this object and no longer: only it holds the function pointers below,
        # so once it is unreachable (its cache entries evicted or cleared) no call can be running them.
        weakref.finalize(self, self._engine.close).atexit = False  # at exit the process goes, code and all
        plan, self.interface = interface.repeat, interface
        self._fn = _ENTRY_TYPE(self._engine.address(ENTRY))
        self._repeat_at = self._engine.address(REPEAT_BLOCK) if plan is not None else None
        self._repeat_fn = _ENTRY_TYPE(self._repeat_at) if plan is not None else None
        self.dims = interface.dims
        self._inputs, self._defs = list(interface.inputs), list(interface.defs)
        self._input_shapes = [t.shape for t in self._inputs]
        self._simple = all(type(d) is int or type(d) is str for s in self._input_shapes for d in s)
        # per input its dtype (NumPy's own object for it: arrays hold that one, so comparing is an identity check)
        # and per axis a fixed extent, or ~k for the k-th dimension (the fast path)
        dtypes = [np.dtype(t.dtype.str) for t in self._inputs]
        self._recipes = [(dtype, t.shape if all(type(d) is int for d in t.shape) else None,
                          tuple(d if type(d) is int else ~self.dims.index(d) for d in t.shape))
                         for dtype, t in zip(dtypes, self._inputs, strict=True)] if self._simple else None
        self._output_shapes = [_shape_function(d.shape, self.dims, symbols) for d in self._defs]
        self._layouts: dict[tuple, tuple] = {}
        # Per-call argument blocks (the function runs in several threads at once: ctypes releases the GIL).
        # one block: buffer addresses, then the dimension values, then the two error words
        self._buffers = len(self._inputs) + len(self._defs)
        self._call_block = ctypes.c_int64 * (self._buffers + len(self.dims) + 2)
        self._position = {t.name: k for k, t in enumerate(self._inputs)}
        position = {d.name: k for k, d in enumerate(self._defs)}
        self._returned = [position[name] for name in interface.outputs]
        self._output_slots = [(len(self._inputs) + k, k) for k in self._returned]
        self._kept = set(interface.outputs)
        self._workspaces = threading.local()
        # the native marshal's recipe (the fast path of ``call``: checks and addresses in one native step)
        self._marshal = POOL.marshal if self._recipes is not None else None
        if self._marshal is not None:
            n = self._buffers
            self._marshal_recipe = marshal.recipe(
                [(dtype, axes) for dtype, _, axes in self._recipes],
                n, n + len(self.dims), [slot for slot, _ in self._output_slots])
            self._marshal_at = data_address(self._marshal_recipe)
            self._allocated = [(k, self._defs[k].dtype) for k in self._returned]
            self._sizes_offset, self._errors_offset = 8 * n, 8 * (n + len(self.dims))
            # a small graph runs inside the marshal's native step, holding the GIL for its few microseconds
            self._run_held = self._engine.address(ENTRY) if _small(interface) else None
        if plan is not None:  # positions of the inputs a repeat gathers, takes as series, updates
            self._kept |= {*plan.feedback, *plan.records}
            self._gathered = [self._position[name] for name in plan.gathers]
            self._serial = [self._position[name] for name, _ in plan.series]
            self._fed_back = [self._position[name] for name in plan.fed_back]
            # buffer addresses, one source per gathered input, one array per series; then dims, the error words and
            # sn_repeat_block's words
            self._repeat_words = self._buffers + len(plan.gathers) + len(plan.series)
            self._repeat_block = ctypes.c_int64 * (self._repeat_words + len(self.dims) + FIRST_NONFINITE + 1)
            if self._marshal is not None:  # the serial inputs' arrays are the block's own
                self._repeat_recipe = marshal.recipe(
                    [None if k in self._serial else (dtype, axes) for k, (dtype, _, axes) in enumerate(self._recipes)],
                    self._repeat_words, self._repeat_words + len(self.dims), [])
                self._repeat_recipe_at = data_address(self._repeat_recipe)
                self._gather_recipe = marshal.recipe(  # a gathering repeat's gathered inputs are the block's too
                    [None if k in self._serial or k in self._gathered else (dtype, axes)
                     for k, (dtype, _, axes) in enumerate(self._recipes)], self._repeat_words,
                    self._repeat_words + len(self.dims), [])
                self._gather_recipe_at = data_address(self._gather_recipe)

    @property
    def graph(self) -> Graph:
        """The graph compiled (padded as the kernels read it); derived again on first use after ``from_cache``."""
        if self._graph is None:
            graph, repeat = self._source()
            self._graph, self._plan = _padded(graph, repeat), repeat
        return self._graph

    @property
    def plan(self) -> Repeat | None:
        """The ``Repeat`` compiled with the graph (derived again with it after ``from_cache``)."""
        if self._graph is None:
            _ = self.graph
        return self._plan

    @property
    def kernels(self):
        from .loops import lower_graph

        return lower_graph(self.graph)

    def llvm_ir(self) -> str:
        """The module's LLVM IR before optimization (emitted on first use: a cache hit never needs it)."""
        if self._ir is None:
            from .emit import emit_module
            from .merge import merge_identical_functions

            module = emit_module(self.graph, self.kernels, "symnet", self.plan, parallel=True)
            self._ir = merge_identical_functions(module.ir)
            self.checks, self.spans, self.libraries = module.checks, module.spans, module.libraries
        return self._ir

    def _layout(self, sizes: tuple) -> tuple:
        """Where each definition lives in the workspace, for these dimension values (cached): definitions whose
        kernel spans do not meet share memory, so the workspace stays small enough to stay in cache. What the
        caller reads afterwards (outputs, and for a repeat what the driver records and feeds back) lives to the
        end."""
        if sizes not in self._layouts:
            shapes = [tuple(int(n) for n in shape_fn(*sizes)) for shape_fn in self._output_shapes]
            nbytes = [int(np.prod(shape, dtype=np.int64)) * d.dtype.itemsize
                      for shape, d in zip(shapes, self._defs, strict=True)]
            end = max((last for _, last in self.spans), default=0)
            spans = [(first, end) if d.name in self._kept else (first, last)
                     for (first, last), d in zip(self.spans, self._defs, strict=True)]
            total, offsets = pack(nbytes, spans)
            self._layouts[sizes] = (max(total, 64), offsets, shapes)
        return self._layouts[sizes]

    def _workspace(self, total: int) -> int:
        """The aligned address of this thread's workspace of at least ``total`` bytes, kept between calls (a fresh
        block per call costs a page fault per page)."""
        local = self._workspaces
        if getattr(local, "size", -1) < total:
            local.block = np.empty(total + 64, dtype=np.uint8)
            base = data_address(local.block)
            local.size, local.base = total, base + -base % 64
            local.blocks = {}  # their definitions' addresses were in the old workspace
            local.last_call = local.last_repeat = None
        return local.base

    def _block(self, sizes: tuple[int, ...], repeat: bool = False) -> tuple[ctypes.Array, list[tuple]]:
        """This thread's argument block for these dimension sizes (a call's, or ``repeat``'s), and the
        definitions' shapes: the workspace addresses of the definitions are written once (and a call's sizes, at
        its block's end); each run writes the inputs' and outputs' slots (the function runs in several threads
        at once: ctypes releases the GIL)."""
        local = self._workspaces
        found = getattr(local, "blocks", {}).get((sizes, repeat))
        if found is None:
            total, offsets, shapes = self._layout(sizes)
            base = self._workspace(total)
            words = self._repeat_block() if repeat else self._call_block()
            n_in, n = len(self._inputs), self._buffers
            for k, offset in enumerate(offsets):
                words[n_in + k] = base + offset
            at = self._repeat_words if repeat else n
            for k, size in enumerate(sizes):
                words[at + k] = size
            if len(local.blocks) >= 8:  # a few batch sizes in turn; more are rare
                local.blocks.clear()
            found = local.blocks[sizes, repeat] = (words, shapes)
        return found

    def _bind(self, inputs: list[np.ndarray]) -> dict:
        """Check every shape against the graph and read off the symbolic dimensions, without SymPy."""
        if not self._simple:  # computed extents: only from a graph (``from_cache`` needs plain ones)
            return {s.name: n for s, n in bind_dims(self.graph.inputs, {t.name: a for t, a in zip(
                self._inputs, inputs, strict=True)}).items()}
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

    def _validated(self, inputs: list) -> list[np.ndarray]:
        """The inputs as contiguous arrays of the graph's dtypes (a wrong dtype is an error, never a cast)."""
        if len(inputs) != len(self._inputs):
            raise ShapeError(f"compiled graph: expected {len(self._inputs)} inputs, got {len(inputs)}")
        checked = []
        for t, a in zip(self._inputs, inputs, strict=True):
            if a is None:
                raise ShapeError(f"compiled graph: missing input {t.name!r}")
            arr = np.asarray(a)
            if arr.dtype != t.dtype:
                raise DTypeError(f"input {t.name}: expected dtype {t.dtype}, got {arr.dtype}")
            checked.append(arr if arr.flags.c_contiguous else np.ascontiguousarray(arr))
        return checked

    def _raise_index_error(self, status: int, error, inputs, shapes, records=None) -> None:
        """The kernel's report (``error`` holds the offending value, then the iterations a repeat completed)
        as an ``IndexRangeError`` (a zero integer divisor: PyTorch's RuntimeError "ZeroDivisionError"); its
        ``completed`` says how many iterations finished before it, ``records`` holds theirs."""
        check = self.checks[status - 1]
        if check.kind == "divisor":
            exc = RuntimeError(f"ZeroDivisionError: {check.definition}: the integer divisor {check.index} is 0")
        else:
            shape = ([np.shape(t) for t in inputs] + shapes)[self._names().index(check.tensor)]
            exc = IndexRangeError(f"{check.definition}: index {check.index} of {check.tensor} takes the value "
                                  f"{int(error[0])}, outside [0, {shape[check.position]}) "
                                  f"(dim {check.position} of shape {shape})")
        exc.completed = int(error[1])
        exc.records = records[:exc.completed] if records is not None else None
        raise exc

    def repeat(self, inputs: list[np.ndarray], steps: int, sources=(), index: np.ndarray | None = None,
               starts: np.ndarray | None = None, series=()) -> np.ndarray:
        """Run the graph ``steps`` times in one native call, as its ``Repeat`` says; returns the recorded values,
        one row per iteration. With ``index`` and ``starts``, gathered inputs take their rows of ``sources``
        (the given arrays for them may be None); without, they are read as given. Each series input takes
        element s of its array of ``series`` at iteration s (the given arrays for them may be None). Feedback
        targets and counters are updated in the given arrays (copied back when they had to be converted)."""
        plan = self.interface.repeat
        if plan is None:
            raise RuntimeError("repeat: this graph was compiled without a Repeat")
        local = self._workspaces
        last = getattr(local, "last_repeat", None)
        sources_given, period, gathered = [], 1, None
        if index is not None:
            index, starts, period, rows, sources_given = self._gathering(sources, index, starts)
            gathered = rows, [src.shape[1:] for src in sources_given]
        # the block of this thread's last repeat of the same kind (and, gathering, the same rows), when the inputs fit
        # it: the gathered and serial slots still point to its own arrays
        if last is not None and last.gathered == gathered and self._marshal is not None and self._marshal(
                inputs, (), self._repeat_recipe_at if gathered is None else self._gather_recipe_at, last.at,
                None) == 0:
            inputs = list(inputs)
            for k, arr in last.own.items():
                inputs[k] = arr
            for k, arr in enumerate(sources_given):
                last.words[self._buffers + k] = data_address(arr)
            return self._run_repeat(last.words, inputs, last.sizes, last.shapes, steps, series, inputs, index, starts,
                                    period)
        # the block's own slots are replaced below: until it is remembered again, no fast path may use it
        local.last_repeat = None
        given = inputs
        inputs = list(inputs)
        if gathered is not None:
            for k, src in zip(self._gathered, sources_given, strict=True):
                inputs[k] = np.empty((gathered[0], *src.shape[1:]), src.dtype)
        for k, (_, dtype) in zip(self._serial, plan.series, strict=True):
            inputs[k] = np.zeros((), dtype)  # the driver writes it: never the caller's
        sizes = self._exact_sizes(inputs)
        if sizes is None:
            inputs = self._validated(inputs)
            dims = self._bind(inputs)
            sizes = tuple(dims[s] for s in self.dims)
        words, shapes = self._block(sizes, repeat=True)
        for k, arr in enumerate(inputs):
            words[k] = data_address(arr)
        # the driver finds each series after a slot per gathered input, used or not
        n = self._buffers
        for k, arr in enumerate(sources_given):
            words[n + k] = data_address(arr)
        records = self._run_repeat(words, inputs, sizes, shapes, steps, series, given, index, starts, period)
        if self._marshal is not None:  # with the arrays of the slots the marshal skips: they live with the block
            own = {k: inputs[k] for k in (self._serial if gathered is None else self._serial + self._gathered)}
            local.last_repeat = _LastRepeat(words, sizes, shapes, ctypes.addressof(words), own, gathered)
        return records

    def _gathering(self, sources, index, starts) -> tuple[np.ndarray, np.ndarray, int, int, list[np.ndarray]]:
        """A gathering repeat's schedule and sources, checked (the driver reads rows by these indices unchecked):
        the index and starts as contiguous int64, the period, the most rows a step gathers, the sources."""
        plan = self.interface.repeat
        if len(sources) != len(plan.gathers):
            raise ShapeError(f"repeat: {len(plan.gathers)} sources expected, got {len(sources)}")
        index = np.ascontiguousarray(index, dtype=np.int64)
        starts = np.ascontiguousarray(starts, dtype=np.int64)
        period, counts = len(starts) - 1, np.diff(starts)
        if period < 1 or starts[0] < 0 or starts[-1] > len(index) or (counts < 0).any():
            raise IndexRangeError(f"repeat: starts must rise within the {len(index)} row indices")
        rows = int(counts.max())
        low, high = (int(index.min()), int(index.max())) if index.size else (0, -1)
        checked = []
        for k, src in zip(self._gathered, sources, strict=True):
            t = self._inputs[k]
            src = np.ascontiguousarray(src)
            if src.dtype != t.dtype:
                raise DTypeError(f"input {t.name}: expected dtype {t.dtype}, got {src.dtype}")
            if low < 0 or high >= len(src):
                raise IndexRangeError(f"repeat: row indices must lie in [0, {len(src)})")
            checked.append(src)
        return index, starts, period, rows, checked

    def _run_repeat(self, words, inputs: list, sizes: tuple, shapes: list, steps: int, series, given: list,
                    index: np.ndarray | None = None, starts: np.ndarray | None = None, period: int = 1) -> np.ndarray:
        """The native repeat on a block whose input (and source) slots are written: the series and records are
        placed, the driver runs, and fed-back inputs that had to be converted are copied back to the given ones."""
        plan = self.interface.repeat
        n = self._buffers + len(plan.gathers)
        for k, arr in enumerate(series_arrays(plan.series, series, steps)):
            words[n + k] = data_address(arr)
        records = np.empty((steps, len(plan.records)), dtype=np.float64)
        errors = self._repeat_words + len(sizes)
        # a null index means no gathering; starts is read either way, so it must be valid
        words[errors + STEPS], words[errors + PERIOD], words[errors + RECORDS] = steps, period, data_address(records)
        words[errors + INDEX] = 0 if index is None else data_address(index)
        words[errors + STARTS] = ctypes.addressof(_NO_STARTS) if index is None else data_address(starts)
        at = ctypes.addressof(words)
        status = self._repeat_fn(at, at + 8 * self._repeat_words, at + 8 * errors)
        for k in self._fed_back:
            if given[k] is not None and inputs[k] is not given[k]:
                np.copyto(given[k], inputs[k])
        if status:  # the feedback targets hold the state after the completed iterations
            self._raise_index_error(status, words[errors:], inputs, shapes, records)
        return records

    def __call__(self, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run on a mapping of input arrays by name; returns the outputs by name."""
        outputs = self.call([arrays.get(t.name) for t in self._inputs])
        return dict(zip(self.interface.outputs, outputs, strict=True))

    def call(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Run on input arrays in the graph's input order; returns the outputs in its output order.

        Arrays of the right dtype, contiguous and of the exact shape take a fast path (checked natively, in
        the block of this thread's last call, when their sizes are that call's); anything else goes through the
        full validation of ``__call__``."""
        last = getattr(self._workspaces, "last_call", None)
        if last is not None:
            words, shapes, at = last
            outputs = [np.empty(shapes[k], dtype) for k, dtype in self._allocated]
            status = self._marshal(inputs, outputs, self._marshal_at, at, self._run_held)
            if status != marshal.MISMATCH:
                if self._run_held is None:  # the marshal only placed the arrays: the graph runs without the GIL
                    status = self._fn(at, at + self._sizes_offset, at + self._errors_offset)
                if status:
                    self._raise_index_error(status, words[self._buffers + len(self.dims):], inputs, shapes)
                return outputs
        if len(inputs) != len(self._inputs):
            raise ShapeError(f"compiled graph: expected {len(self._inputs)} inputs, got {len(inputs)}")
        sizes = self._exact_sizes(inputs)
        if sizes is None:
            inputs, sizes = self._checked(inputs)
        # The definitions live in this thread's workspace (their addresses already in the block), the outputs in
        # fresh arrays the caller keeps.
        words, shapes = self._block(sizes)
        if self._marshal is not None:
            self._workspaces.last_call = words, shapes, ctypes.addressof(words)
        for k, arr in enumerate(inputs):
            words[k] = data_address(arr)
        outputs = []
        for slot, k in self._output_slots:
            out = np.empty(shapes[k], self._defs[k].dtype)
            words[slot] = data_address(out)
            outputs.append(out)
        at, n = ctypes.addressof(words), self._buffers
        status = self._fn(at, at + 8 * n, at + 8 * (n + len(sizes)))
        if status:
            self._raise_index_error(status, words[n + len(sizes):], inputs, shapes)
        return outputs

    def _checked(self, inputs: list) -> tuple[list[np.ndarray], tuple[int, ...]]:
        """The inputs fully validated, and the sizes of the dimensions they give."""
        inputs = self._validated(inputs)
        dims = self._bind(inputs)
        missing = [str(s) for s in self.dims if s not in dims]
        if missing:
            raise ShapeError(f"compiled graph: cannot infer {missing} from the inputs")
        return inputs, tuple(dims[s] for s in self.dims)

    def bind(self, inputs: list[np.ndarray]) -> Bound:
        """The inputs bound once, for calls that change few of them (a training loop): see ``Bound``."""
        return Bound(self, inputs)

    @property
    def binds_repeat(self) -> bool:
        """Whether ``bind_repeat`` can bind this graph's repeat: it has one, and the native marshal checks its
        inputs."""
        return self.interface.repeat is not None and self._marshal is not None

    def bind_repeat(self, inputs: list[np.ndarray], finite: Collection[int] = ()) -> BoundRepeat:
        """A repeat's block bound to the shapes of ``inputs``, for repeats on arrays of those shapes: see
        ``BoundRepeat``."""
        return BoundRepeat(self, inputs, finite)

    def _exact_sizes(self, inputs: list) -> tuple[int, ...] | None:
        """The dimension sizes when every input is a contiguous array of its dtype whose shape fits (the fast path,
        no dictionaries), else None: the full validation decides."""
        if self._recipes is None:
            return None
        sizes = [-1] * len(self.dims)
        for a, (dtype, fixed, axes) in zip(inputs, self._recipes, strict=True):
            if type(a) is not np.ndarray or a.dtype is not dtype and a.dtype != dtype or not a.flags.c_contiguous:
                return None
            if fixed is not None:  # no symbolic axis: one comparison
                if a.shape != fixed:
                    return None
                continue
            if a.ndim != len(axes):
                return None
            for got, want in zip(a.shape, axes, strict=True):
                if want >= 0:
                    if got != want:
                        return None
                elif sizes[~want] != got:
                    if sizes[~want] != -1:
                        return None
                    sizes[~want] = got
        return None if -1 in sizes else tuple(sizes)

    def _names(self):
        return [t.name for t in self._inputs] + [d.name for d in self._defs]

    def show(self, stage: str = "llvm") -> str:
        """The compiled graph at one stage: ``sympy`` definitions, ``loops``, ``llvm``, ``llvm-opt`` or ``asm``."""
        if stage == "sympy":
            return format_graph(self.graph)
        if stage == "loops":
            from .loops import show_loops

            return show_loops(self.kernels)
        if stage == "llvm":
            return self.llvm_ir()
        if stage == "llvm-opt":
            return str(jit.optimize(self.llvm_ir()))
        if stage == "asm":
            return jit.emit_assembly(jit.optimize(self.llvm_ir()))
        raise ValueError(f"show: stage must be sympy, loops, llvm, llvm-opt or asm, got {stage!r}")


class Bound:
    """A compiled graph with its inputs bound: the argument block is built once, swapping an input is one check
    and one store, and ``run()`` is the native call alone. The outputs live in arrays the bound call owns, which
    every run overwrites (copy what you keep), and it has a workspace of its own: different bound calls of one
    graph may run at once, one bound call not.

    >>> bound = compiled.bind([x, w])            # doctest: +SKIP
    >>> bound.set(0, next_x); loss, dw = bound.run()  # doctest: +SKIP
    """

    def __init__(self, graph: CompiledGraph, inputs: list[np.ndarray]):
        inputs, sizes = graph._checked(list(inputs))
        total, offsets, shapes = graph._layout(sizes)
        self._graph, self._sizes, self._inputs = graph, sizes, inputs
        self._workspace = np.empty(total + 64, dtype=np.uint8)
        base = data_address(self._workspace)
        base += -base % 64
        self.outputs = [np.empty(shapes[k], graph._defs[k].dtype) for k in graph._returned]
        self._shapes = shapes
        words = self._words = graph._call_block()
        _place_buffers(words, inputs, base, offsets)
        n_in, n = len(inputs), graph._buffers
        for k, out in zip(graph._returned, self.outputs, strict=True):
            words[n_in + k] = data_address(out)
        for k, size in enumerate(sizes):
            words[n + k] = size
        at = ctypes.addressof(words)
        self._call = functools.partial(graph._fn, at, at + 8 * n, at + 8 * (n + len(sizes)))
        self._error = n + len(sizes)

    def set(self, k: int, array: np.ndarray) -> None:
        """Input ``k`` (in the graph's input order) is now ``array``: same dtype and shape as the one bound."""
        bound = self._inputs[k]
        if type(array) is not np.ndarray or array.dtype != bound.dtype or array.shape != bound.shape:
            array = np.asarray(array)
            if array.dtype != bound.dtype:
                raise DTypeError(f"input {self._graph._inputs[k].name}: expected dtype {bound.dtype}, "
                                 f"got {array.dtype}")
            if array.shape != bound.shape:
                raise ShapeError(f"input {self._graph._inputs[k].name}: bound with shape {bound.shape}, "
                                 f"got {array.shape} (bind again for other sizes)")
        if not array.flags.c_contiguous:
            array = np.ascontiguousarray(array)
        self._inputs[k] = array  # held: its address is in the block
        self._words[k] = data_address(array)

    def run(self) -> list[np.ndarray]:
        """One native call on the bound inputs; returns the output arrays (overwritten by the next run)."""
        status = self._call()
        if status:
            self._graph._raise_index_error(status, self._words[self._error:], self._inputs, self._shapes)
        return self.outputs


class BoundRepeat:
    """A repeat's argument block built once, for a run of repeats on arrays of the same shapes (``fit`` called
    again on its data), read in place (nothing gathered). Each is one native step: it checks every input as the
    marshal does (and that the inputs at the positions in ``finite`` hold no NaN or infinity), writes their
    addresses and, asked to hold the GIL, runs the repeat as well. Its workspace is its own, so no other call moves
    it; one thread at a time.

    >>> bound = compiled.bind_repeat(inputs, finite=[3])           # doctest: +SKIP
    >>> records = bound.run(inputs, 100, [rates], hold=True)       # doctest: +SKIP
    """

    def __init__(self, graph: CompiledGraph, inputs: list[np.ndarray], finite: Collection[int] = ()):
        plan = graph.interface.repeat
        if not graph.binds_repeat:
            raise ValueError("bind_repeat: only a repeat of plain shapes, with the native marshal, binds")
        serial = set(graph._serial)
        # the series inputs' arrays are the block's own: the driver writes them
        own = [np.zeros((), dtype) if k in serial else arr
               for k, (arr, (dtype, _, _)) in enumerate(zip(inputs, graph._recipes, strict=True))]
        own, sizes = graph._checked(own)
        total, offsets, self._shapes = graph._layout(sizes)
        self._workspace = np.empty(total + 64, dtype=np.uint8)
        base = data_address(self._workspace)
        self._own = [own[k] for k in serial]  # held: their addresses are in the block
        words = self._words = graph._repeat_block()
        _place_buffers(words, own, base + -base % 64, offsets)
        for k, size in enumerate(sizes):
            words[graph._repeat_words + k] = size
        self._errors = errors = graph._repeat_words + len(sizes)
        words[errors + STARTS], words[errors + INDEX], words[errors + PERIOD] = ctypes.addressof(_NO_STARTS), 0, 1
        self._recipe = marshal.recipe([None if k in serial else (dtype, axes)
                                       for k, (dtype, _, axes) in enumerate(graph._recipes)],
                                      graph._repeat_words, errors, [], finite)
        self._recipe_at, self._at = data_address(self._recipe), ctypes.addressof(words)
        self._graph, self._plan = graph, plan
        #: after a run: the first step whose loss (first record) is NaN or infinite, or -1
        self.first_nonfinite = -1
        self._series: Sequence[np.ndarray] | None = None
        self._checked_series: list[np.ndarray] = []
        self._series_steps = -1

    def run(self, inputs: list, steps: int, series: Sequence[np.ndarray], hold: bool) -> np.ndarray | None:
        """``steps`` iterations on ``inputs`` (a list; the series inputs' entries are not read), series input k
        taking element s of ``series[k]`` at step s (a sequence of arrays no one changes: passing the same sequence
        again skips its checks): returns the records, one row per step; None, with nothing
        run, when an input does not fit the block or one checked is not finite (the caller's full path decides
        and words its error). ``hold``: the repeat runs inside the marshal's step, holding the GIL (for a run of
        microseconds: it costs other threads less than releasing and taking it)."""
        graph, words, errors, at = self._graph, self._words, self._errors, self._at
        if series is not self._series or steps > self._series_steps:  # (the same sequence: checked last run)
            n = graph._buffers + len(self._plan.gathers)  # the series' slots, after the unused sources'
            checked = series_arrays(self._plan.series, series, steps)
            for k, arr in enumerate(checked):
                words[n + k] = data_address(arr)
            # the sequence given, and the arrays checked (held: their addresses are in the block), for the next run
            self._series, self._checked_series = series, checked
            self._series_steps = min(map(len, checked), default=steps)
        records = np.empty((steps, len(self._plan.records)), dtype=np.float64)
        words[errors + STEPS], words[errors + RECORDS] = steps, data_address(records)
        status = graph._marshal(inputs, (), self._recipe_at, at, graph._repeat_at if hold else None)
        if status == marshal.MISMATCH or status == marshal.NONFINITE:
            return None
        if not hold:
            status = graph._repeat_fn(at, at + 8 * graph._repeat_words, at + 8 * errors)
        if status:  # the fed-back inputs hold the state after the completed iterations
            graph._raise_index_error(status, words[errors:], inputs, self._shapes, records)
        self.first_nonfinite = words[errors + FIRST_NONFINITE]
        return records
