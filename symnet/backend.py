"""The one door from symnet to an executor: ``native`` (codegen: LLVM) or ``reference`` (the NumPy evaluator).

Both take an IR graph (and optionally a ``Repeat``, the driver of many iterations in one call) and return an
executable with the same calls, so every feature runs on either and the reference checks the native one. The
choice is made once, from ``SYMNET_BACKEND`` at import; ``use`` changes it for a block (tests, debugging).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import numpy as np

import codegen

from .core import lazy
from .core.ir import Graph, Repeat, format_graph
from .errors import DTypeError, IndexRangeError, ShapeError

NAMES = ("native", "reference")
reference = lazy.module("symnet.core.reference")  # SymPy's: imported when the reference backend runs


class Executable(Protocol):
    """A compiled graph: inputs in the graph's input order, outputs in its output order."""

    graph: Graph

    def call(self, inputs: list[np.ndarray]) -> list[np.ndarray]: ...

    def repeat(self, inputs: list[np.ndarray], steps: int, sources: Sequence[np.ndarray] = (),
               index: np.ndarray | None = None, starts: np.ndarray | None = None,
               series: Sequence[np.ndarray] = ()) -> np.ndarray: ...

    def show(self, stage: str) -> str: ...


class ReferenceExecutable:
    """The NumPy evaluator behind the executable interface; ``repeat`` is the driver's semantics in Python."""

    def __init__(self, graph: Graph, repeat: Repeat | None = None):
        self.graph, self.plan = graph, repeat

    def call(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        if len(inputs) != len(self.graph.inputs):
            raise ShapeError(f"compiled graph: expected {len(self.graph.inputs)} inputs, got {len(inputs)}")
        for t, a in zip(self.graph.inputs, inputs, strict=True):
            if np.asarray(a).dtype != t.dtype:
                raise DTypeError(f"input {t.name}: expected dtype {t.dtype}, got {np.asarray(a).dtype}")
        result = reference.evaluate(self.graph, {t.name: a for t, a in zip(self.graph.inputs, inputs, strict=True)})
        return [result[name] for name in self.graph.outputs]

    def repeat(self, inputs: list[np.ndarray], steps: int, sources: Sequence[np.ndarray] = (),
               index: np.ndarray | None = None, starts: np.ndarray | None = None,
               series: Sequence[np.ndarray] = ()) -> np.ndarray:
        plan = self.plan
        if plan is None:
            raise RuntimeError("repeat: this graph was compiled without a Repeat")
        series = plan.series_arrays(series, steps)
        position = {t.name: k for k, t in enumerate(self.graph.inputs)}
        values = list(inputs)
        records = np.empty((steps, len(plan.record)), dtype=np.float64)
        period = len(starts) - 1 if starts is not None else 1
        if index is not None and len(index) and (index.min() < 0 or index.max() >= len(sources[0])):
            raise IndexRangeError(f"repeat: row indices must lie in [0, {len(sources[0])})")
        everything = Graph(self.graph.inputs, self.graph.defs, [d.name for d in self.graph.defs])
        failure = None
        for s in range(steps):
            if index is not None:
                rows = index[starts[s % period]:starts[s % period + 1]]
                for target, source in zip(plan.gathers, sources, strict=True):
                    values[position[target.name]] = source[rows]
            for target, array in zip(plan.series, series, strict=True):
                values[position[target.name]] = array[s].copy()
            try:
                names = [t.name for t in self.graph.inputs]
                env = reference.evaluate(everything, dict(zip(names, values, strict=True)))
            except IndexRangeError as exc:  # as the native driver: the state after the completed iterations
                failure, exc.completed, exc.records = exc, s, records[:s]
                break
            records[s] = [env[d.name] for d in plan.record]
            for d, target in plan.feedback:
                values[position[target.name]] = env[d.name]
            for counter in plan.counters:
                values[position[counter.name]] = values[position[counter.name]] + 1
        for target in [t for _, t in plan.feedback] + list(plan.counters):
            if inputs[position[target.name]] is not None:
                np.copyto(inputs[position[target.name]], values[position[target.name]])
        if failure is not None:
            raise failure
        return records

    def show(self, stage: str) -> str:
        return format_graph(self.graph)


_current = os.environ.get("SYMNET_BACKEND", "native")


def _check(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"SYMNET_BACKEND must be 'native' or 'reference', got {name!r}")
    return name


def name() -> str:
    """The backend in use."""
    return _check(_current)


@contextlib.contextmanager
def use(backend: str) -> Iterator[None]:
    """Run a block on another backend (programs compiled inside keep the backend they were compiled for)."""
    global _current
    previous, _current = _current, _check(backend)
    try:
        yield
    finally:
        _current = previous


def set_num_threads(n: int) -> None:
    """The threads native code runs on, as ``torch.set_num_threads``: large kernels split across them, small ones
    stay on the caller's (default: ``SYMNET_NUM_THREADS``, else the cores this process may use)."""
    codegen.set_num_threads(n)


def get_num_threads() -> int:
    return codegen.get_num_threads()


def compile(graph: Graph, repeat: Repeat | None = None) -> Executable:  # noqa: A001 - the backend's verb
    """The graph as an executable of the backend in use."""
    if name() == "reference":
        return ReferenceExecutable(graph, repeat)
    return codegen.compile_graph(graph, repeat=repeat)


def from_cache(key: str, source: Callable[[], tuple[Graph, Repeat | None]]) -> Executable | None:
    """The native executable whose object the disk cache holds under ``key`` (no graph needed: ``source`` derives
    it when something asks), or None; the reference backend keeps nothing on disk."""
    if name() == "reference":
        return None
    return codegen.CompiledGraph.from_cache(key, source)


def host_fingerprint() -> str:
    """What native code depends on besides its program: the CPU, its features, LLVM."""
    return codegen.host_fingerprint()
