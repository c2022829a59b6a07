"""Lowering: each tensor-expression definition becomes a loop nest (a schedule), printable as pseudo-code.

Schedules:
- elementwise: loops in output order, so stores are contiguous and the innermost loop vectorizes;
- reduction into a register: output loops outside, reduction loops inside, used when the innermost reduced
  index is contiguous in every read (``Σ_k X[b,k]·W[j,k]``) and for max/argmax;
- reduction into memory: the output is zeroed, reduction loops outside and output loops inside, so the
  innermost loop runs over a contiguous output index (``dW[j,k] += X[b,k]·δ[b,j]``);
- scatter-accumulate: zero, then ``T[α(d)] += body(d)`` over the domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from symnet.ir import Def, Graph, accesses, accesses_deep, is_selection


@dataclass
class Loop:
    var: sp.Symbol
    extent: sp.Expr
    body: list = field(default_factory=list)


@dataclass
class Store:
    """``buffer[index] = value`` (or ``+=`` with ``accumulate``)."""

    buffer: str
    index: tuple
    value: sp.Expr
    accumulate: bool = False


@dataclass
class Zero:
    buffer: str


@dataclass
class Reduce:
    """A register accumulator: initialized, updated in the inner loops, stored after them."""

    op: str  # sum | max | argmax
    value: sp.Expr
    position: sp.Expr  # flattened reduction position, for argmax
    loops: list
    buffer: str
    index: tuple


@dataclass
class Kernel:
    """One definition's loop nest: what it writes, what it reads."""

    definition: Def
    reads: list[str]
    body: list


def _contiguous_last(sym: sp.Symbol, d: Def, names) -> bool:
    reads = [a for a in accesses(d.body, names) if any(sym in sp.sympify(i).free_symbols for i in a.indices)]
    return all(a.indices and a.indices[-1] == sym for a in reads)


def lower_def(d: Def, names) -> Kernel:
    reads = sorted(accesses_deep(d, names))
    extents = d.extents
    shape = d.shape
    out_loops = [o for o in d.out if o in extents]
    reduced = list(d.reduced)

    def nest(symbols, inner):
        body = inner
        for s in reversed(symbols):
            body = [Loop(s, extents[s], body)]
        return body

    if not is_selection(d.out, extents, shape):
        return Kernel(d, reads, [Zero(d.name), *nest(d.symbols, [Store(d.name, d.out, d.body, True)])])
    if d.combine == "assign" or not reduced:
        return Kernel(d, reads, nest(out_loops, [Store(d.name, d.out, d.body)]))
    inner = next((r for r in reversed(reduced) if _contiguous_last(r, d, names)), None)
    if d.combine == "sum" and inner is None and out_loops:
        return Kernel(d, reads, [Zero(d.name), *nest(reduced + out_loops, [Store(d.name, d.out, d.body, True)])])
    order = [r for r in reduced if r != inner] + ([inner] if inner is not None else [])
    position, stride = sp.Integer(0), sp.Integer(1)
    for r in reversed(reduced):
        position += r * stride
        stride *= extents[r]
    red = Reduce(d.combine, d.body, position, nest(order, []), d.name, d.out)
    return Kernel(d, reads, nest(out_loops, [red]))


def lower_graph(graph: Graph) -> list[Kernel]:
    names = graph.tensors().keys()
    return [lower_def(d, names) for d in graph.defs]


def show_loops(kernels: list[Kernel]) -> str:
    """The loop nests as indented pseudo-code."""
    lines: list[str] = []

    def idx(index):
        return ", ".join(str(i) for i in index)

    def walk(stmts, depth):
        pad = "    " * depth
        for s in stmts:
            if isinstance(s, Loop):
                lines.append(f"{pad}for {s.var} in range({s.extent}):")
                walk(s.body, depth + 1)
            elif isinstance(s, Zero):
                lines.append(f"{pad}{s.buffer}[...] = 0")
            elif isinstance(s, Store):
                target = f"{s.buffer}[{idx(s.index)}]" if s.index else s.buffer
                lines.append(f"{pad}{target} {'+=' if s.accumulate else '='} {sp.sstr(s.value)}")
            else:
                init = {"sum": "0", "max": "-inf", "argmax": "-inf, 0"}[s.op]
                lines.append(f"{pad}acc = {init}")
                inner = s.loops
                walk_reduce(inner, s, depth)
                target = f"{s.buffer}[{idx(s.index)}]" if s.index else s.buffer
                lines.append(f"{pad}{target} = acc{'.position' if s.op == 'argmax' else ''}")

    def walk_reduce(loops, s, depth):
        if not loops:
            op = {"sum": "acc += {}", "max": "acc = max(acc, {})", "argmax": "acc = argmax(acc, {})"}[s.op]
            lines.append("    " * depth + op.format(sp.sstr(s.value)))
            return
        loop = loops[0]
        lines.append("    " * depth + f"for {loop.var} in range({loop.extent}):")
        walk_reduce(loop.body, s, depth + 1)

    for k in kernels:
        lines.append(f"# {k.definition.name}: {k.definition.combine}")
        walk(k.body, 0)
    return "\n".join(lines)
