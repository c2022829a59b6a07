"""The pipeline: named stages from a traced structure to an executable, each one shown and timed.

    trace → lower → simplify → differentiate → extend → simplify → compile (schedule + emit, in the backend)

``trace`` lives in the frontend (it walks user tensors); every other stage is a function of the IR here.
``SYMNET_SHOW=lower,differentiate,…`` logs a stage's result as it runs (``loops``, ``llvm``, ``llvm-opt`` and
``asm`` show the backend's own stages); ``timings()`` says how long each stage took in total. Eager
``backward()``, ``grad``/``hessian``/``formulas``, ``compile`` and the optimizers all go through these
functions: nothing else strings stages together.

A traced structure is keyed by its ops, parameters, dtypes, shapes, user names and wiring (never values), so a
training loop that rebuilds the same graph derives it once (``Program`` cache).
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import backend, stored
from .core import durable, lazy
from .core.cache import BoundedCache
from .core.dtypes import get_default_dtype
from .core.ir import (
    Def,
    Graph,
    Input,
    Repeat,
    access,
    accesses_deep,
    format_graph,
    fresh_indices,
    is_tensor_symbol,
    tensor_base,
)
from .core.lazy import sympy as sp
from .core.ops import Lowered, Op

# the derivation's modules (SymPy's work): imported when something is first derived
autodiff = lazy.module("symnet.core.autodiff")
rewrite = lazy.module("symnet.core.simplify")
checks = lazy.module("symnet.core.verify")

STAGES = ("trace", "lower", "simplify", "differentiate", "extend", "compile")
_TIMES: dict[str, list[float]] = {s: [0, 0.0] for s in STAGES}
_COMPILING = threading.RLock()


def _shown() -> set[str]:
    return {s.strip() for s in os.environ.get("SYMNET_SHOW", "").split(",") if s.strip()}


def _log(text: str, *args) -> None:
    """Log a stage ``SYMNET_SHOW`` names (logging is imported then: ``import symnet`` does not load it)."""
    import logging

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("symnet.pipeline").info(text, *args)


def stage(name: str, show: Callable | None = None, graph_of: Callable | None = None):
    """Time a stage function; verify the graph it produced (``graph_of`` finds it in the result); log the
    result when ``SYMNET_SHOW`` names the stage."""

    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            start = time.perf_counter()
            result = fn(*args, **kwargs)
            if graph_of is not None:
                checks.verify(graph_of(result), name)
            record = _TIMES[name]
            record[0] += 1
            record[1] += time.perf_counter() - start
            if show is not None and name in _shown():
                _log("%s:\n%s", name, show(result))
            return result

        return run

    return wrap


def timings() -> dict[str, tuple[int, float]]:
    """Calls and total seconds of each stage since the process started."""
    return {s: (int(n), t) for s, (n, t) in _TIMES.items()}


class LeafSpec(NamedTuple):
    """A leaf of a traced structure (a tuple: made on every trace, so it must be cheap)."""

    shape: tuple
    dtype: np.dtype
    requires_grad: bool
    name: str | None


class OpSpec(NamedTuple):
    """An op of a traced structure: its kind (the op's class, part of the key), its typed parameters, the
    result dtype and the positions of its inputs."""

    kind: type
    op: Op
    dtype: np.dtype
    inputs: tuple[int, ...]
    name: str | None


Spec = LeafSpec | OpSpec


class Program:
    """A derived graph, the names its traced nodes carry in it, and its executable (compiled on first run). A
    program found on disk (``stored``) runs its cached object at once and derives its graph only when something
    asks for it (``derive``: the program built again)."""

    def __init__(self, graph: Graph | None, names: list[str], leaves: list[int] | None = None,
                 adjoints: set[str] | None = None, *, derive: Callable[[], Program] | None = None,
                 outputs: list[str] | None = None, order: list | None = None,
                 executable: backend.Executable | None = None, key: str | None = None):
        self._graph, self.names, self.leaves = graph, names, leaves if leaves is not None else []
        #: names of the adjoint definitions (printed as δ…)
        self.adjoints = adjoints if adjoints is not None else set()
        self._derive, self._outputs = derive, outputs
        self._executable, self._order = executable, order if order is not None else []
        #: its durable key: where its compiled object is noted for the next process (None: nowhere)
        self.key = key
        #: what its owner needs besides, noted with it (plain data: a ``Derived``'s seeds and used outputs)
        self.extra: dict = {}

    @property
    def graph(self) -> Graph:
        if self._graph is None:
            self._graph = self._derive().graph
        return self._graph

    @graph.setter
    def graph(self, graph: Graph) -> None:
        self._graph = graph

    @property
    def outputs(self) -> list[str]:
        return self._outputs if self._graph is None else self._graph.outputs

    @property
    def executable(self) -> backend.Executable:
        """Compiled on first use, once even when several threads ask at the same time."""
        if self._executable is None:
            with _COMPILING:
                if self._executable is None:
                    slot = {self.names[p]: k for k, p in enumerate(self.leaves)}
                    self._order = [slot.get(t.name, t.name) for t in self.graph.inputs]
                    self._executable = compile_graph(self.graph)
                    _note(self)
        return self._executable

    def run(self, leaf_arrays: Sequence[np.ndarray], extra: dict[str, np.ndarray] | None = None) -> dict:
        """Evaluate on the leaves' arrays (in trace order) and ``extra`` inputs by name; the outputs by name."""
        return dict(zip(self.outputs, self.run_list(leaf_arrays, extra), strict=True))

    def run_list(self, leaf_arrays: Sequence[np.ndarray], extra: dict[str, np.ndarray] | None = None) -> list:
        """``run``, with the outputs as a list in the graph's output order (the hot path of backward)."""
        executable = self.executable
        return executable.call([leaf_arrays[k] if type(k) is int else extra[k] for k in self._order])


def _note(prog: Program) -> None:
    """Keep a compiled program on disk under its durable key, for the next process (``_durable``)."""
    stored.note("program", prog.key, prog._executable, {
        **prog.extra, "names": prog.names, "leaves": prog.leaves, "adjoints": sorted(prog.adjoints),
        "outputs": list(prog.graph.outputs), "order": prog._order})


def _durable_key(what: tuple) -> str | None:
    """The key a program derived from ``what`` (its kind and structure) is noted under on disk, or None (another
    backend than native, or a structure without an exact text)."""
    if backend.name() != "native":
        return None
    try:
        return stored.key("program", durable.digest(what, get_default_dtype(), backend.host_fingerprint()))
    except durable.NotDurable:
        return None


def _durable(what: tuple, build: Callable[[], Program]) -> Program:
    """The program ``build`` derives, found on disk by the durable key of ``what`` (its kind and structure) when
    an earlier process compiled it; else built, and noted once compiled."""
    key = _durable_key(what)
    if key is None:
        return build()
    found = stored.load("program", key)
    prog = _from_entry(found, what, build) if found is not None else None
    if prog is None:
        prog = build()
        prog.key = key
    return prog


def _from_entry(found: tuple[str, dict], what: tuple, build: Callable[[], Program]) -> Program | None:
    """A program from its stored entry, checked against the structure (names one per spec, leaves among them,
    inputs in range), or None."""
    object_key, entry = found
    specs = what[1]
    try:
        names, leaves, adjoints, outputs, order = (entry[k] for k in ("names", "leaves", "adjoints", "outputs",
                                                                      "order"))
        if not (isinstance(names, list) and len(names) == len(specs) and all(type(n) is str for n in names)
                and isinstance(leaves, list) and all(type(p) is int and 0 <= p < len(names) for p in leaves)
                and isinstance(adjoints, list) and all(type(n) is str for n in adjoints)
                and isinstance(outputs, list) and all(type(n) is str for n in outputs) and isinstance(order, list)
                and all(type(k) is int and 0 <= k < len(leaves) or type(k) is str for k in order)):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    prog = Program(None, names, leaves, set(adjoints), derive=build, outputs=outputs, order=order)
    executable = compiled_from_cache(object_key, lambda: (prog.graph, None))
    if executable is None or len(executable.interface.inputs) != len(order) \
            or list(executable.interface.outputs) != outputs:
        return None
    prog._executable = executable
    return prog


# ---------------------------------------------------------------- stages

def _auto_names(specs: Sequence[Spec]) -> list[str]:
    """User names where given; otherwise A, B, … for leaves and the op's label plus a counter."""
    taken = {s.name for s in specs if s.name}
    names, counters, letters = [], {}, iter(_leaf_letters())
    for s in specs:
        name = s.name
        if name is None or name in names:
            if isinstance(s, LeafSpec):
                name = next(n for n in letters if n not in taken)
            else:
                label = s.op.label
                counters[label] = counters.get(label, 0) + 1
                name = f"{label}{counters[label]}"
                while name in taken:
                    counters[label] += 1
                    name = f"{label}{counters[label]}"
        taken.add(name)
        names.append(name)
    return names


def _leaf_letters():
    yield from "ABCDEFGHKMPQRSUVWXZ"
    n = 0
    while True:
        n += 1
        yield f"T{n}"


@stage("lower", show=lambda prog: format_graph(prog.graph), graph_of=lambda prog: prog.graph)
def lower(specs: Sequence[Spec], outputs: Sequence[int]) -> Program:
    """The IR graph of a traced structure: an Input per leaf, a Def per op (each op's ``define`` rule)."""
    names = _auto_names(specs)
    inputs, defs, table = [], [], []
    for pos, s in enumerate(specs):
        if isinstance(s, LeafSpec):
            t = Input(names[pos], s.shape, s.dtype)
            inputs.append(t)
        else:
            low = s.op.define([table[i] for i in s.inputs])
            t = Def(names[pos], low.shape, s.dtype, low.domain, low.out, low.body, low.combine, low.ties,
                    label=s.op.label)
            defs.append(t)
        table.append(t)
    leaves = [p for p, s in enumerate(specs) if isinstance(s, LeafSpec)]
    return Program(Graph(inputs, defs, [names[o] for o in outputs]), names, leaves)


@stage("simplify", show=format_graph, graph_of=lambda graph: graph)
def simplify(graph: Graph, keep: frozenset[str] = frozenset()) -> Graph:
    """Fusion, stability rewrites, CSE and pruning (``core.simplify``); names in ``keep`` stay."""
    return rewrite.simplify(graph, keep)


@stage("differentiate", show=lambda result: format_graph(result[0]), graph_of=lambda result: result[0])
def differentiate(graph: Graph, output: str, wrt: Sequence[str], seed: str | None = None,
                  saved: bool = False) -> tuple[Graph, dict]:
    """Reverse mode: the graph with the adjoints of ``wrt`` as outputs (any graph, adjoints included, so orders
    compose); the map from each differentiated tensor to its adjoint's name. ``saved``: local derivatives read
    results that hold their value (``autodiff.gradient``)."""
    return autodiff.gradient(graph, output, wrt, seed, saved)


@stage("differentiate", show=lambda result: format_graph(result[0]), graph_of=lambda result: result[0])
def push_forward(graph: Graph, wrt: Sequence[str], tangents: Sequence[str]) -> tuple[Graph, dict]:
    """Forward mode: the graph with the tangents of ``wrt`` as new inputs and every definition's directional
    derivative; the map from each differentiated tensor to its tangent's name."""
    return autodiff.tangent(graph, wrt, tangents)


@stage("extend", show=format_graph, graph_of=lambda graph: graph)
def extend(graph: Graph, inputs: Sequence[Input], defs: Sequence[Def], outputs: Sequence[str]) -> Graph:
    """The graph with more inputs, definitions (an optimizer's update, a dot product) and outputs."""
    return Graph([*graph.inputs, *inputs], [*graph.defs, *defs], list(outputs))


@stage("compile")
def compile_graph(graph: Graph, repeat: Repeat | None = None) -> backend.Executable:
    """Verify, then schedule and emit through the backend in use (``SYMNET_SHOW=loops,llvm,…`` logs its
    stages)."""
    executable = backend.compile(checks.verify(graph, "compile"), repeat)
    for shown in _shown() & {"sympy", "loops", "llvm", "llvm-opt", "asm"}:
        _log("%s of %s:\n%s", shown, ", ".join(graph.outputs), executable.show(shown))
    return executable


@stage("compile")
def compiled_from_cache(key: str, source: Callable[[], tuple[Graph, Repeat | None]]) -> backend.Executable | None:
    """The executable whose object the disk cache holds under ``key``, or None (``backend.from_cache``)."""
    return backend.from_cache(key, source)


# ---------------------------------------------------------------- programs, derived once per structure

_PROGRAMS = BoundedCache("programs", limit=512)


def cache_clear() -> None:
    _PROGRAMS.clear()


def _user_names(specs: Sequence[Spec]) -> frozenset[str]:
    return frozenset(s.name for s in specs if s.name)


def forward_program(specs: tuple[Spec, ...], outputs: tuple[int, ...]) -> Program:
    """lower → simplify."""
    def build():
        prog = lower(specs, outputs)
        prog.graph = simplify(prog.graph, _user_names(specs))
        return prog

    return _PROGRAMS.get_or_build(("forward", specs, outputs),
                                  lambda: _durable(("forward", specs, outputs), build))


def gradient_program(specs: tuple[Spec, ...], output: int, wrt: tuple[int, ...], seeded: bool) -> Program:
    """lower → simplify → differentiate → simplify; outputs are the output's value then ∂output/∂leaf for each
    of ``wrt`` (a ``seed`` input holds the cotangent when ``seeded``)."""
    def build():
        prog = lower(specs, (output,))
        named = _user_names(specs)
        forward = simplify(prog.graph, named)
        root = prog.names[output]
        grad, grad_names = differentiate(forward, root, [prog.names[w] for w in wrt], "seed" if seeded else None)
        grad.outputs = [root, *grad.outputs]
        prog.graph = simplify(grad, named | {grad_names[n] for n in named if n in grad_names and n != root})
        prog.adjoints = {d.name for d in prog.graph.defs} - {d.name for d in forward.defs}
        return prog

    return _PROGRAMS.get_or_build(("gradient", specs, output, wrt, seeded),
                                  lambda: _durable(("gradient", specs, output, wrt, seeded), build))


def hvp_program(specs: tuple[Spec, ...], output: int, wrt: tuple[int, ...]) -> Program:
    """Hessian-vector products: the gradient program extended by Σ_k ⟨∂output/∂leaf_k, V_k⟩ for new inputs
    ``V_k``, differentiated again; outputs are its derivatives by each of ``wrt``."""
    def build():
        first = gradient_program(specs, output, wrt, seeded=False)
        graph = first.graph
        table = graph.tensors()
        vectors, dots = [], []
        for n, g in enumerate(graph.outputs[1:]):
            t = table[g]
            v = Input(f"V{n}", t.shape, t.dtype)
            syms = fresh_indices(t.shape)
            vectors.append(v)
            dots.append(Def(f"dot{n}", (), t.dtype, tuple(zip(syms, t.shape, strict=True)), (),
                            access(g, syms) * access(v.name, syms), "sum"))
        total = Def("vHv", (), table[graph.outputs[0]].dtype, (), (), sp.Add(*(access(d.name, ()) for d in dots)))
        extended = extend(graph, vectors, [*dots, total], ["vHv"])
        second, _ = differentiate(extended, "vHv", [first.names[w] for w in wrt])
        return Program(simplify(second), first.names, first.leaves)

    return _PROGRAMS.get_or_build(("hvp", specs, output, wrt), build)


class Replayed(NamedTuple):
    """A definition of a derived graph replayed as an op on tensors (``reads`` names the tensors its body reads,
    in the order of the op's inputs): derivatives become tensors whose own derivatives are derived again."""

    definition: Def
    reads: tuple[str, ...]

    label = "grad"

    def shape(self, shapes: Sequence[tuple]) -> tuple:
        return self.definition.shape

    def define(self, ins: Sequence) -> Lowered:
        mapping: dict[sp.Expr, sp.Expr] = {}
        for old, new in zip(self.reads, ins, strict=True):
            mapping[tensor_base(old)] = tensor_base(new.name)
            mapping[access(old, ())] = access(new.name, ())
        d = self.definition
        return Lowered(d.shape, d.domain, tuple(sp.sympify(o).xreplace(mapping) for o in d.out),
                       d.body.xreplace(mapping), d.combine, d.ties)


def read_names(d: Def, names: set[str]) -> tuple[str, ...]:
    """The tensors among ``names`` that ``d`` reads, in a fixed order (the inputs of its ``Replayed`` op)."""
    return tuple(sorted(accesses_deep(d, names)))


@dataclass
class Derived:
    """A derived graph over a traced structure: in reverse mode the derivative of ``Σ_k ⟨seed_k, output_k⟩`` by
    the ``wrt`` tensors (leaves or not), its outputs their adjoints; in forward mode the outputs' tangents along
    the ``wrt`` tensors' tangents. ``graph`` is as differentiated (one definition per traced op and per derived
    one, so it can be replayed as tensors); ``program`` the same simplified and compiled for values. Found on
    disk (``_durable_derived``), it runs its program at once and derives its graph only for a replay."""

    names: list[str]
    leaves: list[int]
    #: the inputs holding the directions: each output's cotangent in reverse mode (None: an implicit 1 for a
    #: one-element output), each ``wrt`` tensor's tangent in forward mode
    seeds: list[str | None]
    #: per derivative output, whether it depends on the directions at all (reverse mode: whether any output
    #: depends on that ``wrt`` tensor through float values)
    used: list[bool]
    #: the graph as differentiated and the adjoint's (tangent's) name of each tensor the derivative passes
    #: through, derived when first asked for
    derive: Callable[[], tuple[Graph, dict[str, str]]]
    #: the durable key its program is noted under (None: nowhere), and that program when found on disk
    key: str | None = None
    found: Program | None = None

    @functools.cached_property
    def _derived(self) -> tuple[Graph, dict[str, str]]:
        return self.derive()

    @property
    def graph(self) -> Graph:
        return self._derived[0]

    @property
    def adjoints(self) -> dict[str, str]:
        return self._derived[1]

    @functools.cached_property
    def program(self) -> Program:
        if self.found is not None:
            return self.found
        prog = Program(simplify(self.graph), self.names, self.leaves, key=self.key)
        prog.extra = {"seeds": self.seeds, "used": self.used}
        return prog


def _durable_derived(what: tuple, build: Callable[[], Derived], seeds: int, used: int) -> Derived:
    """The derivation ``build`` makes, its program found on disk by the durable key of ``what`` when an earlier
    process compiled it (with its ``seeds`` direction names and ``used`` flags, checked for those counts); else
    built, and its program noted once compiled."""
    key = _durable_key(what)
    if key is None:
        return build()
    found = stored.load("program", key)
    if found is not None:
        full = functools.cache(build)
        prog = _from_entry(found, what, lambda: full().program)
        names, flags = found[1].get("seeds"), found[1].get("used")
        if (prog is not None and isinstance(names, list) and len(names) == seeds and isinstance(flags, list)
                and len(flags) == used and all(type(f) is bool for f in flags)
                and all(n is None or type(n) is str for n in names)
                and {n for n in names if n is not None} == {k for k in prog._order if type(k) is str}):
            return Derived(prog.names, prog.leaves, names, flags, lambda: full()._derived, key, prog)
    der = build()
    der.key = key
    return der


def _namer(taken: set[str]) -> Callable[[str], str]:
    """Fresh names beside ``taken`` (``seed0``, ``seed0_1``, …)."""
    def fresh(base: str) -> str:
        name, n = base, 0
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        return name

    return fresh


def vjp_graph(specs: tuple[Spec, ...], outputs: tuple[int, ...], wrt: tuple[int, ...],
              seeded: tuple[bool, ...]) -> Derived:
    """lower → extend (the objective ``Σ_k Σ seed_k·output_k``) → differentiate: the vector-Jacobian product
    of several outputs by any traced tensors, the graph autograd.grad replays and runs."""
    def build():
        prog = lower(specs, outputs)
        graph, names = prog.graph, prog.names
        table = graph.tensors()
        fresh = _namer(set(table))
        seeds, dots = [], []
        for k, (o, has_seed) in enumerate(zip(outputs, seeded, strict=True)):
            t = table[names[o]]
            syms = fresh_indices(t.shape)
            body = access(t.name, syms)
            seed = None
            if has_seed:
                seed = Input(fresh(f"seed{k}"), t.shape, t.dtype)
                body *= access(seed.name, syms)
            seeds.append(seed)
            dots.append(Def(fresh(f"dot{k}"), (), t.dtype, tuple(zip(syms, t.shape, strict=True)), (), body, "sum"))
        objective = Def(fresh("objective"), (), dots[0].dtype, (), (), sp.Add(*(access(d.name, ()) for d in dots)))
        extended = extend(graph, [s for s in seeds if s is not None], [*dots, objective], [objective.name])
        targets = [names[w] for w in wrt]
        derived, adjoints = differentiate(extended, objective.name, targets, saved=True)
        used = [objective.name in autodiff.differentiable(extended, [w]) for w in targets]
        return Derived(names, prog.leaves, [s and s.name for s in seeds], used, lambda: (derived, adjoints))

    what = ("vjp", specs, outputs, wrt, seeded)
    return _PROGRAMS.get_or_build(what, lambda: _durable_derived(what, build, len(outputs), len(wrt)))


def jvp_graph(specs: tuple[Spec, ...], outputs: tuple[int, ...], wrt: tuple[int, ...]) -> Derived:
    """lower → forward-mode differentiate: the Jacobian-vector product of several outputs along tangents of any
    traced tensors (``seeds`` name the tangent inputs, one per ``wrt``); outputs are the outputs' tangents."""
    def build():
        prog = lower(specs, outputs)
        graph, names = prog.graph, prog.names
        fresh = _namer(set(graph.tensors()))
        tangents = [fresh(f"tangent{k}") for k in range(len(wrt))]
        derived, of = push_forward(graph, [names[w] for w in wrt], tangents)
        table = derived.tensors()
        made, results = [], []
        for o in outputs:
            t, name = table[names[o]], of.get(names[o])
            if name is None or isinstance(table[name], Input):  # no tangent (zero), or a direction itself (a copy)
                syms = fresh_indices(t.shape)
                made.append(Def(fresh(f"t{t.name}"), t.shape, t.dtype, tuple(zip(syms, t.shape, strict=True)), syms,
                                sp.Integer(0) if name is None else access(name, syms)))
                name = made[-1].name
            results.append(name)
        derived = extend(derived, [], made, results)
        used = [names[o] in of for o in outputs]
        return Derived(names, prog.leaves, tangents, used, lambda: (derived, of))

    what = ("jvp", specs, outputs, wrt)
    return _PROGRAMS.get_or_build(what, lambda: _durable_derived(what, build, len(wrt), len(outputs)))


def taylor_graph(specs: tuple[Spec, ...], outputs: tuple[int, ...], wrt: tuple[int, ...], order: int,
                 shapes: tuple[tuple, ...]) -> Derived:
    """lower → Taylor mode (``autodiff.taylor``): the derivatives of order 1…order of several outputs along
    directions of any traced tensors (``seeds`` name the direction inputs, of ``shapes``: each broadcasts to its
    tensor's shape); outputs are, per traced output, its k-th derivative ``k!·T_k`` for k = 1…order (zeros where
    it does not depend on the directions)."""
    def build():
        prog = lower(specs, outputs)
        graph, names = prog.graph, prog.names
        fresh = _namer(set(graph.tensors()))
        table = graph.tensors()
        directions = [Input(fresh(f"direction{k}"), shape, table[names[w]].dtype)
                      for k, (w, shape) in enumerate(zip(wrt, shapes, strict=True))]
        derived, of = autodiff.taylor(graph, [names[w] for w in wrt], directions, order)
        table = derived.tensors()
        made, results = [], []
        for o in outputs:
            t = table[names[o]]
            for k, name in enumerate(of.get(names[o], [None] * order), start=1):
                syms = fresh_indices(t.shape)
                body = sp.Integer(0) if name is None else sp.factorial(k) * access(name, syms)
                made.append(Def(fresh(f"d{k}{t.name}"), t.shape, t.dtype, tuple(zip(syms, t.shape, strict=True)),
                                syms, body, label=f"derivative {k} of {t.name}"))
                results.append(made[-1].name)
        derived = extend(derived, [], made, results)
        return Derived(names, prog.leaves, [v.name for v in directions], [names[o] in of for o in outputs],
                       lambda: (derived, {}))

    what = ("taylor", specs, outputs, wrt, order, shapes)
    return _PROGRAMS.get_or_build(what, lambda: _durable_derived(what, build, len(wrt), len(outputs)))


def vmap_graph(specs: tuple[Spec, ...], outputs: tuple[int, ...], mapped: tuple[int, ...], size: int) -> Derived:
    """lower → batch: the traced per-sample structure with the ``mapped`` leaves given a leading dimension of
    ``size``, each definition that depends on them re-indexed over it (renamed, so a replay tells them from the
    per-sample ones); ``used`` says which outputs are batched."""
    def build():
        prog = lower(specs, outputs)
        graph, names = prog.graph, prog.names
        lifted, renamed = batch(graph, [names[m] for m in mapped], size)
        return Derived(names, prog.leaves, [names[m] for m in mapped], [names[o] in renamed for o in outputs],
                       lambda: (lifted, renamed))

    return _PROGRAMS.get_or_build(("vmap", specs, outputs, mapped, size), build)


def batch(graph: Graph, mapped: Sequence[str], size: int) -> tuple[Graph, dict[str, str]]:
    """vmap as a re-indexing: the ``mapped`` inputs gain a leading dimension of ``size``, and every definition
    that reads them (or such a definition) gains a batch index ``b`` in its domain and its out index and reads
    them at ``b``; nothing else changes, so a batch is one more loop of the same program. Returns the graph and
    the new name of each batched tensor."""
    fresh = _namer(set(graph.tensors()))
    renamed = {m: m for m in mapped}
    inputs = [Input(t.name, (size, *t.shape), t.dtype) if t.name in renamed else t for t in graph.inputs]
    defs = []
    for d in graph.defs:
        reads = accesses_deep(d, renamed.keys())
        if not reads:
            defs.append(d)
            continue
        (b,) = fresh_indices([size], avoid=d.symbols)
        moved = {n: renamed[n] for n in reads}
        renamed[d.name] = fresh(f"{d.name}_b")
        defs.append(Def(renamed[d.name], (size, *d.shape), d.dtype, ((b, size), *d.domain),
                        (b, *(_at_batch(sp.sympify(o), moved, b) for o in d.out)), _at_batch(d.body, moved, b),
                        d.combine, d.ties, label=d.label))
    outputs = [renamed.get(o, o) for o in graph.outputs]
    return Graph(inputs, defs, outputs), renamed


def _at_batch(e: sp.Expr, moved: dict[str, str], b: sp.Symbol) -> sp.Expr:
    """``e`` with each read of a batched tensor (``moved``: old name → batched name) read at batch index ``b``."""
    e = e.replace(lambda a: isinstance(a, sp.Indexed) and str(a.base.label) in moved,
                  lambda a: sp.Indexed(tensor_base(moved[str(a.base.label)]), b, *a.indices))
    return e.xreplace({access(n, ()): access(new, (b,)) for n, new in moved.items()})


def closed_form(graph: Graph, name: str) -> sp.Expr:
    """Inline every definition into ``name``'s element expression; one-element inputs become plain symbols.

    Sums keep their ``Sum`` form; max/log-sum-exp reductions and scatters stay named reads.
    """
    table = {d.name: d for d in graph.defs}
    inputs = {t.name: t for t in graph.inputs}

    def expand(expr: sp.Expr) -> sp.Expr:
        def at(e):
            label = str(e.base.label) if isinstance(e, sp.Indexed) else e.name
            d = table.get(label)
            if d is None:
                t = inputs.get(label)
                if t is not None and all(s == 1 for s in t.shape):
                    return sp.Symbol(label, real=True)
                return e
            indices = e.indices if isinstance(e, sp.Indexed) else ()
            if d.combine not in ("assign", "sum") or any(o not in d.extents for o in d.out):
                return e
            mapping = dict(zip(d.out, indices, strict=True))
            inner = expand(d.body.xreplace(mapping))
            limits = [(r, 0, d.extents[r] - 1) for r in d.reduced]
            if limits:
                inner = sp.Sum(inner, *limits)
                if all(hi == 0 for _, _, hi in limits):
                    inner = inner.doit()
            return inner

        return expr.replace(lambda e: isinstance(e, sp.Indexed) or is_tensor_symbol(e), at)

    d = table[name]
    result = expand(d.body)
    for o in d.out:
        if o in d.extents and d.extents[o] == 1:
            result = result.subs(o, 0)
    return result
