"""Targeted, named rewrites of the IR — never a blanket ``sympy.simplify`` (minutes, and overflow-prone forms).

Phases, in order: ``collapse_deltas`` (a sum over an index pinned to one value is that term), ``inline`` (fold
copies, transposes, broadcasts and scalings into their readers, and fuse unnamed elementwise chains),
``stabilize`` (rewrite element bodies into numerically stable named functions), ``dedupe`` (graph-level
common-subexpression elimination) and ``prune`` (drop what no output needs).
Within a body, common subexpressions are shared when it is evaluated (``lambdify(cse=True)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from . import functions as F
from .ir import Def, Graph, access, is_tensor_symbol, tensor_base
from .lazy import sympy as sp
from .ops import reads

_x = sp.Wild("x")


def _has_exp_term(e: sp.Expr) -> bool:
    return e.is_Add and any(isinstance(a, sp.exp) for a in e.args)


@dataclass(frozen=True)
class Rewrite:
    """``pattern → result``: a named stability rewrite of element expressions (Wild ``x`` is the operand).
    ``candidate`` holds for a node the pattern could match at (its shape, without matching): an expression
    with no such node is left to no SymPy matcher, which is slow on large bodies."""

    name: str
    pattern: sp.Expr
    result: Callable[[sp.Expr], sp.Expr]
    candidate: Callable[[sp.Expr], bool]

    def __call__(self, expr: sp.Expr) -> sp.Expr:
        return expr.replace(self.pattern, lambda x: self.result(x))


#: Applied in order; the ratio rule precedes the logistic one, which would otherwise split ``e^x/(1 + e^x)``
#: into ``σ(−x)·e^x`` (NaN at x = 800).
STABILIZE: tuple[Rewrite, ...] = (
    Rewrite("log1p_exp_to_softplus", sp.log(1 + sp.exp(_x)), lambda x: F.softplus(x),
            lambda e: isinstance(e, sp.log) and _has_exp_term(e.args[0])),
    Rewrite("log_sigmoid_to_softplus", sp.log(F.sigmoid(_x)), lambda x: -F.softplus(-x),
            lambda e: isinstance(e, sp.log) and isinstance(e.args[0], F.sigmoid)),
    Rewrite("exp_ratio_to_sigmoid", sp.exp(_x) / (1 + sp.exp(_x)), lambda x: F.sigmoid(x),
            lambda e: e.is_Mul and any(a.is_Pow and _has_exp_term(a.base) for a in e.args)),
    Rewrite("logistic_to_sigmoid", 1 / (1 + sp.exp(-_x)), lambda x: F.sigmoid(x),
            lambda e: e.is_Pow and _has_exp_term(e.base)),
    Rewrite("log_exp", sp.log(sp.exp(_x)), lambda x: x,
            lambda e: isinstance(e, sp.log) and isinstance(e.args[0], sp.exp)),
)


def _nodes(expr: sp.Expr) -> list[sp.Expr]:
    """Every distinct subexpression of ``expr``, each once (shared subtrees are not walked again)."""
    seen, stack, found = set(), [expr], []
    while stack:
        e = stack.pop()
        if e in seen:
            continue
        seen.add(e)
        found.append(e)
        stack.extend(e.args)
    return found


def stabilize(expr: sp.Expr) -> sp.Expr:
    """Every rule of ``STABILIZE`` in order, each only where a node has its pattern's shape."""
    nodes = _nodes(expr)
    for rule in STABILIZE:
        if any(map(rule.candidate, nodes)):
            rewritten = rule(expr)
            if rewritten != expr:
                expr, nodes = rewritten, _nodes(rewritten)
    return expr


def _is_cheap(d: Def, dtypes: dict, readers: list[tuple[Def, tuple]]) -> bool:
    """A constant, or a copy, transpose, broadcast or scaling of one plain tensor read of the same dtype — whose
    readers compute in its dtype, unless substituting it is exact in any precision (a copy, a negation, a
    constant its dtype holds exactly): ``c·x`` of float32 read by a float64 definition must be rounded to float32
    first, as PyTorch computes it (substituted, the product would be computed in double)."""
    if not d.is_elementwise:
        return False
    coefficient, rest = d.body.as_coeff_Mul()
    if isinstance(rest, F.stop_gradient):
        rest = rest.args[0]
    alike = all(reader.dtype == d.dtype for reader, _ in readers)
    if isinstance(rest, sp.Indexed) or is_tensor_symbol(rest):
        # a gather (reshape's floor/mod, a label) stays materialized: inlined, it would hide a contraction
        plain = not isinstance(rest, sp.Indexed) or all(i.is_Symbol or i.is_Integer for i in rest.indices)
        same = dtypes[str(rest.base.label) if isinstance(rest, sp.Indexed) else rest.name] == d.dtype
        return plain and same and (alike or abs(coefficient) == 1)
    if rest.atoms(sp.Indexed) or any(is_tensor_symbol(s) for s in rest.free_symbols):
        return False
    return alike or _held_exactly(d.body, d.dtype)


def _held_exactly(value: sp.Expr, dtype: np.dtype) -> bool:
    """Whether a constant body is a number ``dtype`` holds exactly (0, 1, 0.5, a small integer; not 0.1 in
    float32), so computing it in another precision gives the same value."""
    if not value.is_number or dtype.kind not in "biuf":
        return False
    if dtype.kind != "f":
        return True
    try:
        as_float = float(value)
    except TypeError:  # a complex number
        return False
    return float(np.asarray(as_float, dtype)) == as_float


def _substitute(expr: sp.Expr, d: Def) -> sp.Expr:
    """Replace every read of ``d`` in ``expr`` by d's body at the read's index — kept out of SymPy's sight
    where substituting it would cancel (``_cancels``)."""
    if not d.shape:
        subs = {access(d.name, ()): d.body}
        new = expr.xreplace(subs)
        return expr.xreplace({r: F.kept(b) for r, b in subs.items()}) if _cancels(expr, subs, new) else new
    base = tensor_base(d.name)

    def at(e: sp.Indexed) -> sp.Expr:
        return d.body.xreplace({o: i for o, i in zip(d.out, e.indices, strict=True) if o in d.extents})

    def read(e: sp.Expr) -> bool:
        return isinstance(e, sp.Indexed) and e.base == base

    new = expr.replace(read, at)
    if _cancels(expr, {r: at(r) for r in _reads_of(expr) if read(r)}, new):
        return expr.replace(read, lambda e: F.kept(at(e)))
    return new


def _cancels(expr: sp.Expr, subs: dict, new: sp.Expr) -> bool:
    """Whether SymPy folded a substituted body away: a read disappears (x − x, x·0, x/x) or a function or root
    meets its inverse (exp(log x) → x, (√x)² → x), which IEEE arithmetic computes otherwise at ±inf, NaN, 0 or
    x < 0. (log(exp x) → x may fold: a stability rewrite symnet makes on purpose.)"""
    untouched = {r for r in reads(expr) if not any(r.has(k) for k in subs)}
    if not reads(new) >= untouched.union(*map(reads, subs.values())):
        return True
    return any(not new.has(b) for b in subs.values() if isinstance(b, sp.Function) and not isinstance(b, sp.exp)
               or isinstance(b, sp.Pow) and not b.exp.is_Integer)


def _reads(graph: Graph) -> dict[str, list[tuple[Def, tuple]]]:
    """Every read of each tensor: the reading definition and the index it reads at."""
    found: dict[str, list[tuple[Def, tuple]]] = {}
    for d in graph.defs:
        for expr in (d.body, *map(sp.sympify, d.out)):
            for e in sp.preorder_traversal(expr):
                if isinstance(e, sp.Indexed):
                    found.setdefault(str(e.base.label), []).append((d, tuple(e.indices)))
                elif is_tensor_symbol(e):
                    found.setdefault(e.name, []).append((d, ()))
    return found


def _fusible(d: Def, reads: list[tuple[Def, tuple]]) -> bool:
    """An elementwise definition read once, at an index spanning its reader's whole domain, by a reader of the
    same dtype: substituting it computes every element exactly once, in the same precision, as before."""
    if not d.is_elementwise or len(reads) != 1:
        return False
    reader, index = reads[0]
    if reader.dtype != d.dtype:
        return False
    used = set().union(*(sp.sympify(i).free_symbols for i in index)) if index else set()
    return {s for s, extent in reader.domain if extent != 1} <= used


def _names_read(d: Def) -> set[str]:
    """The tensors d's body and out index read."""
    found = set()
    for expr in (d.body, *map(sp.sympify, d.out)):
        found |= {str(r.base.label) for r in expr.atoms(sp.Indexed)}
        found |= {s.name for s in expr.free_symbols if is_tensor_symbol(s)}
    return found


def _reads_of(e: sp.Expr) -> list[sp.Indexed]:
    return [r for r in sp.preorder_traversal(e) if isinstance(r, sp.Indexed)]


def _reads_data(e: sp.Expr) -> bool:
    return bool(_reads_of(e)) or any(is_tensor_symbol(s) for s in e.free_symbols)


def _data_dependent(graph: Graph) -> tuple[set[str], set[str]]:
    """What keeps every read through data range-checked against its own dimension: the tensors read as an
    index (one whose body stops reading data, a computed ``3·0 + 1000``, must stay materialized: inlined it
    would be a constant index nothing checks), and the tensors read at a data-dependent index whose body reads
    at computed positions (inlined, a reshape's ``A[4·i + idx]`` would be checked against the flat size) or
    does not use that position (a broadcast or a reshaped 0-d tensor: inlined, nothing would check it)."""
    defs = {d.name: d for d in graph.defs}
    indices: set[str] = set()
    keep: set[str] = set()
    for d in graph.defs:
        body_reads = _reads_of(d.body)
        for position in map(sp.sympify, [*d.out, *(i for r in body_reads for i in r.indices)]):
            indices |= {str(r.base.label) for r in _reads_of(position)}
        for r in body_reads:
            target = defs.get(str(r.base.label))
            through = [p for p, i in enumerate(r.indices) if _reads_data(sp.sympify(i))]
            if target is None or not through:
                continue
            inner = [sp.sympify(i) for t in _reads_of(target.body) for i in t.indices]
            used = set().union(*(i.free_symbols for i in inner))
            # inlined, the read would be checked against another dimension, or not at all (its position unused:
            # a broadcast, or a 0-d tensor reshaped)
            if any(not (i.is_Symbol or i.is_Integer) for i in inner) or any(
                    sp.sympify(target.out[p]) not in used for p in through):
                keep.add(target.name)
    return indices, keep


def inline(graph: Graph, keep: frozenset[str] = frozenset()) -> Graph:
    """Substitute into their readers, then drop: cheap definitions (copies, transposes, broadcasts, scalings)
    and unnamed elementwise definitions read once (fusion). Outputs, the names in ``keep`` and indices stay."""
    indices, checked = _data_dependent(graph)
    keep = set(graph.outputs) | set(keep) | checked
    dtypes = {name: t.dtype for name, t in graph.tensors().items()}
    reads = _reads(graph)
    fused: dict[str, Def] = {}
    result: list[Def] = []
    for d in graph.defs:
        # a fused body reads no fused definition (its own were substituted first), so substituting the ones d
        # reads leaves none: the rest need no look
        for name in sorted(_names_read(d) & fused.keys()):
            c = fused[name]
            d = replace(d, body=_substitute(d.body, c), out=tuple(_substitute(sp.sympify(o), c) for o in d.out))
        if d.name in indices and not _reads_data(d.body):
            result.append(d)
        elif d.name not in keep and (_is_cheap(d, dtypes, readers := reads.get(d.name, [])) or _fusible(d, readers)):
            fused[d.name] = d
        else:
            result.append(d)
    return Graph(graph.inputs, result, list(graph.outputs))


def _pinned(d: Def) -> tuple[sp.Symbol, sp.Expr, sp.Expr] | None:
    """A reduced index r of extent 1, or one the body does not read (the body, times r's extent), or one that a
    factor ``[r = c]`` of the body pins to one value c inside its range (an integer, or an index of the same
    extent): (r, c, the body without that condition)."""
    single = next((r for r in d.reduced if d.extents[r] == 1), None)
    if single is not None:
        return single, sp.Integer(0), d.body
    unread = next((r for r in d.reduced if r not in d.body.free_symbols), None)
    if unread is not None:  # Σ_r c = extent·c: a constant summed over the batch
        return unread, sp.Integer(0), d.body * d.extents[unread]
    factors = sp.Mul.make_args(d.body)
    for k, f in enumerate(factors):
        if not (isinstance(f, F.guarded) and f.args[1] == 0):
            continue
        value, _, *conditions = f.args
        for n, c in enumerate(conditions):
            if not isinstance(c, F.eq):
                continue
            for r, pin in (c.args, reversed(c.args)):
                if r not in d.reduced or r in pin.free_symbols:
                    continue
                inside = pin.is_Integer and 0 <= pin and (d.extents[r] - pin).is_positive or \
                    pin in d.extents and d.extents[pin] == d.extents[r]
                if inside:
                    rest = F.guarded(value, sp.Integer(0), *conditions[:n], *conditions[n + 1:])
                    return r, pin, sp.Mul(*factors[:k], rest, *factors[k + 1:])
    return None


def collapse_deltas(d: Def) -> Def:
    """``Σ_r [r = c]·f(r) → f(c)``: a sum over an index a guard pins to one value (the adjoint of a selection
    such as ``x[:, 0]``), or over an index of extent 1, is that one term, and a sum of a term that does not read
    r is the term times r's extent — no loop over r, and often a broadcast the inliner folds away."""
    if d.combine != "sum":
        return d
    while (found := _pinned(d)) is not None:
        r, pin, body = found
        domain = tuple((s, e) for s, e in d.domain if s != r)
        d = replace(d, domain=domain, body=body.xreplace({r: pin}),
                    combine="sum" if len(domain) > len({o for o in d.out if o in dict(domain)}) else "assign")
        if d.combine != "sum":
            break
    return d


def dedupe(graph: Graph) -> Graph:
    """Merge definitions that compute the same thing up to the names of their index symbols."""
    seen: dict[tuple, str] = {}
    renames: dict[str, str] = {}
    defs: list[Def] = []
    keep = set(graph.outputs)
    for d in graph.defs:
        for old, new in renames.items():
            d = _rename_reads(d, old, new)
        canon = {s: sp.Symbol(f"_d{n}", integer=True, nonnegative=True) for n, s in enumerate(d.symbols)}
        key = (d.shape, d.dtype.str, d.combine, d.ties, tuple(e for _, e in d.domain),
               tuple(sp.sympify(o).xreplace(canon) for o in d.out), d.body.xreplace(canon))
        if key in seen and d.name not in keep:
            renames[d.name] = seen[key]
            continue
        seen.setdefault(key, d.name)
        defs.append(d)
    return Graph(graph.inputs, defs, graph.outputs)


def _rename_reads(d: Def, old: str, new: str) -> Def:
    mapping: dict[sp.Expr, sp.Expr] = {tensor_base(old): tensor_base(new)}
    mapping[access(old, ())] = access(new, ())
    return replace(d, body=d.body.xreplace(mapping), out=tuple(sp.sympify(o).xreplace(mapping) for o in d.out))


def simplify(graph: Graph, keep: frozenset[str] = frozenset()) -> Graph:
    """All phases: collapse pinned sums, inline (fusing elementwise chains), stabilize, dedupe, prune. Names in
    ``keep`` stay."""
    collapsed = Graph(graph.inputs, [collapse_deltas(d) for d in graph.defs], graph.outputs)
    fused = inline(collapsed, keep)
    stable = Graph(fused.inputs, [d.with_body(stabilize(d.body)) for d in fused.defs], fused.outputs)
    return dedupe(stable).prune()
