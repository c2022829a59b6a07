"""From traced tensors to IR programs, derived once per distinct structure.

A traced graph is keyed by its structure (op kinds, parameters, dtypes, shapes, user names and wiring, never
values), so a training loop that rebuilds the same graph every step lowers, differentiates and simplifies
it once. The cache maps that key to a ``Program``: the simplified IR graph and how its tensors map back to
the traced nodes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import sympy as sp

from .core import autodiff, simplify
from .core.cache import LRUCache
from .core.ir import Def, Graph, Input, access, fresh_indices, is_tensor_symbol
from .core.ops import LOWERINGS
from .core.reference import evaluate


class LeafSpec(NamedTuple):
    """A leaf of a traced structure (a tuple: made on every trace, so it must be cheap)."""

    shape: tuple
    dtype: np.dtype
    requires_grad: bool
    name: str | None


class OpSpec(NamedTuple):
    """An op of a traced structure: its kind, parameters, result dtype and the positions of its inputs."""

    kind: str
    params: tuple
    dtype: np.dtype
    inputs: tuple[int, ...]
    name: str | None


Spec = LeafSpec | OpSpec


@dataclass
class Program:
    """A derived, simplified graph and the names its traced nodes carry in it."""

    graph: Graph
    names: list[str]
    leaves: list[int] = field(default_factory=list)
    #: names of the adjoint definitions (printed as δ…)
    adjoints: set[str] = field(default_factory=set)

    _compiled: object = None
    _order: list = field(default_factory=list)

    def run(self, leaf_arrays: Sequence[np.ndarray], extra: dict[str, np.ndarray] | None = None) -> dict:
        """Evaluate the graph: natively (compiled once per program), or on the NumPy reference evaluator when
        ``SYMNET_BACKEND=reference``; the outputs by name."""
        return dict(zip(self.graph.outputs, self.run_list(leaf_arrays, extra), strict=True))

    def run_list(self, leaf_arrays: Sequence[np.ndarray], extra: dict[str, np.ndarray] | None = None) -> list:
        """``run``, with the outputs as a list in the graph's output order (the hot path of backward)."""
        if backend() == "reference":
            arrays = {self.names[p]: a for p, a in zip(self.leaves, leaf_arrays, strict=True)}
            result = evaluate(self.graph, {**arrays, **(extra or {})})
            return [result[name] for name in self.graph.outputs]
        if self._compiled is None:
            from codegen import compile_graph

            self._compiled = compile_graph(self.graph)
            slot = {self.names[p]: k for k, p in enumerate(self.leaves)}
            self._order = [slot.get(t.name, t.name) for t in self.graph.inputs]
        values = [leaf_arrays[k] if type(k) is int else extra[k] for k in self._order]
        return self._compiled.call(values)


def backend() -> str:
    """``native`` (compiled with codegen, the default) or ``reference`` (NumPy), from ``SYMNET_BACKEND``."""
    choice = os.environ.get("SYMNET_BACKEND", "native")
    if choice not in ("native", "reference"):
        raise ValueError(f"SYMNET_BACKEND must be 'native' or 'reference', got {choice!r}")
    return choice


def _auto_names(specs: Sequence[Spec]) -> list[str]:
    """User names where given; otherwise A, B, … for leaves and the op's name plus a counter."""
    taken = {s.name for s in specs if s.name}
    names, counters, letters = [], {}, iter(_leaf_letters())
    for s in specs:
        name = s.name
        if name is None or name in names:
            if isinstance(s, LeafSpec):
                name = next(n for n in letters if n not in taken)
            else:
                label = s.params[0] if s.kind in ("map", "reduce") else s.kind
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


def lower(specs: Sequence[Spec], outputs: Sequence[int]) -> Program:
    """The IR graph of a traced structure: an Input per leaf, a Def per op."""
    names = _auto_names(specs)
    inputs, defs, table = [], [], []
    for pos, s in enumerate(specs):
        if isinstance(s, LeafSpec):
            t = Input(names[pos], s.shape, s.dtype)
            inputs.append(t)
        else:
            low = LOWERINGS[s.kind](s.params, [table[i] for i in s.inputs])
            t = Def(names[pos], low.shape, s.dtype, low.domain, low.out, low.body, low.combine, low.ties,
                    label=s.kind if s.kind != "map" else s.params[0])
            defs.append(t)
        table.append(t)
    leaves = [p for p, s in enumerate(specs) if isinstance(s, LeafSpec)]
    return Program(Graph(inputs, defs, [names[o] for o in outputs]), names, leaves)


class _ProgramCache(LRUCache):
    """Derived programs by structural key: each holds native code, and a loop over ever-new shapes must not
    keep them all."""

    limit = 512


_CACHE: _ProgramCache = _ProgramCache()


def _user_names(specs: Sequence[Spec]) -> frozenset[str]:
    return frozenset(s.name for s in specs if s.name)


def forward_program(specs: tuple[Spec, ...], outputs: tuple[int, ...]) -> Program:
    key = ("forward", specs, outputs)
    if key not in _CACHE:
        prog = lower(specs, outputs)
        prog.graph = simplify.simplify(prog.graph, _user_names(specs))
        _CACHE[key] = prog
    return _CACHE[key]


def gradient_program(specs: tuple[Spec, ...], output: int, wrt: tuple[int, ...], seeded: bool) -> Program:
    """Forward and adjoint graph; outputs are the output's value then ∂output/∂leaf for each of ``wrt``."""
    key = ("gradient", specs, output, wrt, seeded)
    if key not in _CACHE:
        prog = lower(specs, (output,))
        forward = simplify.simplify(prog.graph, _user_names(specs))
        root = prog.names[output]
        grad, grad_names = autodiff.gradient(forward, root, [prog.names[w] for w in wrt],
                                             seed="seed" if seeded else None)
        grad.outputs = [root, *grad.outputs]
        named = _user_names(specs)
        prog.graph = simplify.simplify(grad, named | {grad_names[n] for n in named if n in grad_names and n != root})
        prog.adjoints = {d.name for d in prog.graph.defs} - {d.name for d in forward.defs}
        _CACHE[key] = prog
    return _CACHE[key]


def hvp_program(specs: tuple[Spec, ...], output: int, wrt: tuple[int, ...]) -> Program:
    """Hessian-vector products: outputs are ∂/∂leaf of Σ_k ⟨∂output/∂leaf_k, V_k⟩ for inputs ``V_k``."""
    key = ("hvp", specs, output, wrt)
    if key not in _CACHE:
        first = gradient_program(specs, output, wrt, seeded=False)
        graph = first.graph
        inputs, defs = list(graph.inputs), list(graph.defs)
        table = graph.tensors()
        terms = []
        for n, g in enumerate(graph.outputs[1:]):
            t = table[g]
            v = Input(f"V{n}", t.shape, t.dtype)
            inputs.append(v)
            syms = fresh_indices(t.shape)
            dot = Def(f"dot{n}", (), t.dtype, tuple(zip(syms, t.shape, strict=True)), (),
                      access(g, syms) * access(v.name, syms), "sum")
            defs.append(dot)
            terms.append(access(dot.name, ()))
        dtype = table[graph.outputs[0]].dtype
        defs.append(Def("vHv", (), dtype, (), (), sp.Add(*terms)))
        wrt_names = [first.names[w] for w in wrt]
        second, _ = autodiff.gradient(Graph(inputs, defs, ["vHv"]), "vHv", wrt_names)
        _CACHE[key] = Program(simplify.simplify(second), first.names, first.leaves)
    return _CACHE[key]


def cache_clear() -> None:
    _CACHE.clear()


def closed_form(graph: Graph, name: str) -> sp.Expr:
    """Inline every definition into ``name``'s element expression; one-element inputs become plain symbols.

    Sums keep their ``Sum`` form; max/log-sum-exp reductions and scatters stay named reads.
    """
    table = {d.name: d for d in graph.defs}
    inputs = {t.name: t for t in graph.inputs}

    def expand(expr: sp.Expr, depth: int = 0) -> sp.Expr:
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
            body = d.body.xreplace(mapping)
            limits = [(r, 0, d.extents[r] - 1) for r in d.reduced]
            inner = expand(body, depth + 1)
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
