"""Symbolic reverse-mode differentiation of the IR, definition by definition.

For ``T[out(d)] = combine_d f(…, A[α(d)], …)`` the adjoint contribution to A is

    dA[α(d)] += dT[out(d)] · w(d) · ∂f/∂A[α(d)]          for every d in the domain

with the weight ``w`` of the combine: 1 for assign and sum, ``[position = argmax]`` for max with first-index
ties, ``[f = T]/count`` for max with even ties and, for prod, the product of the other factors
``Π_{r' ≠ r} f(r')`` over a copy r' of the reduced indices (exact where factors are zero: no division).
SymPy computes ``∂f/∂A`` on the element body only; the index algebra is ours:

- α a selection of domain symbols (matmul, broadcasting, transposes, reductions): the contribution is a
  gather, its other domain symbols are summed over — ``dW[j,k] = Σ_b dZ[b,j]·X[b,k]``;
- a data-dependent component (a label ``Y[b]``): a fresh index ``c`` and a factor ``[c = Y[b]]``;
- affine components (strided, dilated, padded windows; slices): solved for the adjoint's own index, a gather
  with divisibility and range guards (``symnet.core.affine``);
- anything else (reshapes through floor and mod): a scatter-accumulate over the domain.

The result is more definitions in the same IR, so it can be printed, evaluated, compiled and differentiated
again (second derivatives).

Forward mode (``tangent``) needs none of the index algebra: a definition's tangent has the definition's own
domain and out index, ``Ṫ[out(d)] = combine_d w(d)·Σ_A ∂f/∂A·Ȧ[α(d)]``, each tangent read where its read is.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import GradError, NotSupportedError
from . import functions as F
from .affine import gather_form
from .dtypes import int64, is_float
from .ir import (
    Def,
    Graph,
    Input,
    Tensor,
    access,
    accesses,
    fresh_indices,
    is_data_dependent,
    is_selection,
)
from .lazy import sympy as sp


def partial(body: sp.Expr, atom: sp.Expr) -> sp.Expr:
    """∂body/∂atom for one tensor read, by SymPy on the element expression.

    Every tensor read stands in as a real symbol while SymPy differentiates (an ``Indexed`` is not known to be
    real, and ``d|x − y|/dx`` would come out in terms of ``re`` and ``im``).
    """
    reads = {a: sp.Dummy("x", real=True) for a in body.atoms(sp.Indexed)}
    x = reads.setdefault(atom, sp.Dummy("x", real=True))
    back = {v: k for k, v in reads.items()}
    derivative = sp.diff(body.xreplace(reads), x)
    if derivative.has(sp.DiracDelta):  # sign' (so |x|''): 0, as PyTorch's
        derivative = derivative.replace(sp.DiracDelta, lambda *args: sp.Integer(0))
    return _fold_guards(derivative.xreplace(back))


def directional(body: sp.Expr, tangents: dict[sp.Expr, sp.Expr]) -> sp.Expr:
    """Σ_reads ∂body/∂read · tangent(read): the derivative of ``body`` along the tangents of some of its reads,
    each tangent read where its read is (inside the same guards, so never out of range)."""
    eps = sp.Dummy("eps", real=True)
    reads = {a: sp.Dummy("x", real=True) for a in [*body.atoms(sp.Indexed), *tangents]}
    steps = {a: sp.Dummy("t", real=True) for a in tangents}
    moved = body.xreplace({a: x + eps * steps[a] if a in steps else x for a, x in reads.items()})
    derivative = sp.diff(moved, eps).subs(eps, 0)
    if derivative.has(sp.DiracDelta):
        derivative = derivative.replace(sp.DiracDelta, lambda *args: sp.Integer(0))
    back = {x: a for a, x in reads.items()} | {t: tangents[a] for a, t in steps.items()}
    return _fold_guards(derivative.xreplace(back))


def _fold_guards(e: sp.Expr) -> sp.Expr:
    """``guarded(1, 0, c)·rest`` (the chain rule through a guard) → ``guarded(rest, 0, c)``: the partial's reads
    stay inside the guard, so they are never made out of range."""
    def is_marker(f):
        return isinstance(f, F.guarded) and f.args[0] == 1 and f.args[1] == 0

    def fold(m):
        markers = [f for f in m.args if is_marker(f)]
        rest = sp.Mul(*(f for f in m.args if not is_marker(f)))
        return F.guarded(rest, sp.Integer(0), *(c for g in markers for c in g.args[2:]))

    return e.replace(lambda m: isinstance(m, sp.Mul) and any(is_marker(f) for f in m.args), fold)


def _position(symbols: Sequence[sp.Symbol], sizes: Sequence) -> sp.Expr:
    """The row-major flattened position of index ``symbols`` in a box of ``sizes``."""
    position, stride = sp.Integer(0), sp.Integer(1)
    for s, size in zip(reversed(symbols), reversed(sizes), strict=True):
        position += s * stride
        stride *= size
    return position


class _Adjoints:
    def __init__(self, graph: Graph, saved: bool = False):
        self.graph, self.saved = graph, saved
        self.table = graph.tensors()
        self.taken = set(self.table)
        self.defs: list[Def] = []
        self.parts: dict[str, list[Def]] = {}
        self.names: dict[str, str] = {}

    def fresh(self, base: str) -> str:
        name = base
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        return name

    def adjoint_name(self, t: str) -> str:
        if t not in self.names:
            self.names[t] = self.fresh("d" + t)
        return self.names[t]

    # -- weights of the combines
    def weight(self, d: Def) -> sp.Expr:
        here = access(d.name, d.out)
        if d.combine in ("assign", "sum"):
            return sp.Integer(1)
        if d.combine == "prod":
            return self.others(d) if d.reduced else sp.Integer(1)
        if d.ties == "even":
            count = Def(self.fresh(d.name + "_ties"), d.shape, d.dtype, d.domain, d.out,
                        F.eq(d.body, here), "sum", label=f"ties of {d.name}")
            self.defs.append(count)
            return F.eq(d.body, here) / access(count.name, d.out)
        arg = Def(self.fresh(d.name + "_argmax"), d.shape, int64, d.domain, d.out,
                  d.body, "argmax", d.ties, label=f"argmax of {d.name}")
        self.defs.append(arg)
        return F.eq(_position(d.reduced, [d.extents[r] for r in d.reduced]), access(arg.name, d.out))

    def others(self, d: Def) -> sp.Expr:
        """``Π_{r' ≠ r} f(r')`` at each domain point: a product over a fresh copy r' of the reduced indices."""
        sizes = [d.extents[r] for r in d.reduced]
        copies = fresh_indices(sizes, avoid=d.symbols)
        body = F.guarded(d.body.xreplace(dict(zip(d.reduced, copies, strict=True))), sp.Integer(1),
                         F.ne(_position(copies, sizes), _position(d.reduced, sizes)))
        others = Def(self.fresh(d.name + "_others"), tuple(e for _, e in d.domain), d.dtype,
                     (*d.domain, *zip(copies, sizes, strict=True)), d.symbols, body, "prod",
                     label=f"other factors of {d.name}")
        self.defs.append(others)
        return access(others.name, d.symbols)

    # -- the index algebra
    def contribute(self, d: Def, dT: str, weight: sp.Expr, read) -> None:
        p = partial(d.body, read.atom)
        if self.saved and d.is_elementwise:  # exp' = exp, tanh' = 1 − tanh²: read the result, as PyTorch saves it
            p = p.xreplace({d.body: access(d.name, d.out)})
        if p == 0:
            return
        target = self.table[read.name]
        body = access(dT, d.out) * weight * p
        domain = list(d.domain)
        index = list(read.indices)
        used = set(d.symbols)
        for pos, component in enumerate(index):
            if is_data_dependent(component):
                (c,) = fresh_indices([target.shape[pos]], avoid=used)
                used.add(c)
                body *= F.eq(c, component)
                domain.append((c, target.shape[pos]))
                index[pos] = c
        domain, index = tuple(domain), tuple(index)
        if not is_selection(index, dict(domain), target.shape):
            gathered = gather_form(domain, index, body, target.shape)
            if gathered is not None:
                domain, index, body = gathered
        selection = is_selection(index, dict(domain), target.shape)
        summed = not selection or len(domain) > len({i for i in index if i in dict(domain)})
        self.parts.setdefault(read.name, []).append(
            Def("", target.shape, target.dtype, domain, index, body, "sum" if summed else "assign",
                label=f"from {d.name}")
        )

    def total(self, t: Tensor) -> Def:
        """The adjoint of t: the sum of its contributions, elementwise ones summed inline."""
        name = self.adjoint_name(t.name)
        parts = self.parts.get(t.name, [])
        label = f"∂/∂{t.name}"
        if len(parts) == 1:
            d = parts[0]
            return Def(name, d.shape, d.dtype, d.domain, d.out, d.body, d.combine, label=label)
        syms = fresh_indices(t.shape)
        body = sp.Integer(0)
        for n, part in enumerate(parts):
            if part.is_elementwise:
                renaming = {o: s for o, s in zip(part.out, syms, strict=True) if o in part.extents}
                body += part.body.xreplace(renaming)
            else:
                named = Def(self.fresh(f"{name}_{n + 1}"), part.shape, part.dtype, part.domain, part.out,
                            part.body, part.combine, label=part.label)
                self.defs.append(named)
                body += access(named.name, syms)
        return Def(name, t.shape, t.dtype, tuple(zip(syms, t.shape, strict=True)), syms, body, label=label)


def differentiable(graph: Graph, wrt: Sequence[str]) -> set[str]:
    """Names of the tensors that depend on ``wrt`` through float values."""
    needs = {w for w in wrt}
    names = graph.tensors().keys()
    for d in graph.defs:
        if is_float(d.dtype) and d.combine != "argmax" and any(a.name in needs for a in accesses(d.body, names)):
            needs.add(d.name)
    return needs


def gradient(graph: Graph, output: str, wrt: Sequence[str], seed: str | None = None,
             saved: bool = False) -> tuple[Graph, dict]:
    """Append the adjoint definitions of ``output`` with respect to ``wrt``.

    With ``seed`` None the output must have one element and its adjoint is 1; otherwise ``seed`` names a new
    input holding the cotangent. The returned graph's outputs are the adjoints of ``wrt``, in order; the dict
    maps each differentiated tensor to the name of its adjoint. With ``saved``, a local derivative that
    contains its definition's own element reads the definition's result instead of computing it again (as
    PyTorch's backward of exp, tanh, sigmoid, sqrt reads the saved result; derivatives of derivatives then
    pass through the same tensors).
    """
    table = graph.tensors()
    out = table[output]
    if not is_float(out.dtype):
        raise GradError(f"cannot differentiate {output}: it has dtype {out.dtype}, not a float dtype")
    adj = _Adjoints(graph, saved)
    needs = differentiable(graph, wrt)
    inputs = list(graph.inputs)
    root = adj.adjoint_name(output) if seed is None else seed
    if seed is None:
        syms = fresh_indices(out.shape)
        adj.defs.append(Def(root, out.shape, out.dtype, tuple(zip(syms, out.shape, strict=True)), syms,
                            sp.Integer(1), label=f"∂{output}/∂{output}"))
    else:
        adj.names[output] = root
        inputs.append(Input(root, out.shape, out.dtype))
    adjoint_of: dict[str, str] = {output: root}
    for d in reversed(graph.defs):
        if d.name not in needs:
            continue
        if d.name != output:
            if d.name not in adj.parts:
                continue
            total = adj.total(d)
            adj.defs.append(total)
            adjoint_of[d.name] = total.name
        reads = [r for r in accesses(d.body, table) if r.name in needs]
        if not reads:
            continue
        weight = adj.weight(d)
        for read in reads:
            adj.contribute(d, adjoint_of[d.name], weight, read)
    outputs = []
    for w in wrt:
        t = table[w]
        if w in adjoint_of:  # the output itself, or a definition the sweep above has reached
            outputs.append(adjoint_of[w])
            continue
        if w not in adj.parts:
            syms = fresh_indices(t.shape)
            zero = Def(adj.adjoint_name(w), t.shape, t.dtype, tuple(zip(syms, t.shape, strict=True)), syms,
                       sp.Integer(0), label=f"∂/∂{w} (unused)")
            adj.defs.append(zero)
            outputs.append(zero.name)
            continue
        total = adj.total(t)
        adj.defs.append(total)
        outputs.append(total.name)
    return Graph(inputs, [*graph.defs, *adj.defs], outputs), dict(adj.names)


def tangent(graph: Graph, wrt: Sequence[str], tangents: Sequence[str]) -> tuple[Graph, dict[str, str]]:
    """Forward mode: new inputs ``tangents`` (the directions of ``wrt``) and, for every definition that depends
    on them, its directional derivative ``Ṫ[out(d)] = combine_d w(d)·Σ_A ∂f/∂A·Ȧ[α(d)]`` with the weight ``w``
    of reverse mode and the same domain: no index is solved for, so no transpose and no scatter. Returns the
    graph (outputs unchanged) and the map from each differentiated tensor to its tangent's name.
    """
    table = graph.tensors()
    adj = _Adjoints(graph)
    adj.taken.update(tangents)
    inputs = list(graph.inputs)
    of: dict[str, str] = {}
    for w, t in zip(wrt, tangents, strict=True):
        inputs.append(Input(t, table[w].shape, table[w].dtype))
        of[w] = t
    defs: list[Def] = []
    for d in graph.defs:
        if d.name in of or not is_float(d.dtype) or d.combine == "argmax":
            continue
        reads = {r.atom: access(of[r.name], r.indices) for r in accesses(d.body, table) if r.name in of}
        body = directional(d.body, reads) if reads else sp.Integer(0)
        if body == 0:
            continue
        body = adj.weight(d) * body
        defs += adj.defs
        adj.defs.clear()
        name = adj.fresh("t" + d.name)
        defs.append(Def(name, d.shape, d.dtype, d.domain, d.out, body, "assign" if d.combine == "assign" else "sum",
                        label=f"tangent of {d.name}"))
        of[d.name] = name
    return Graph(inputs, [*graph.defs, *defs], list(graph.outputs)), of


def coefficients(body: sp.Expr, series: dict[sp.Expr, list[sp.Expr]], order: int) -> list[sp.Expr]:
    """The Taylor coefficients 1…order of ``body`` when each read ``a`` in ``series`` moves as ``a + Σ_j c_j·εʲ``
    (``series[a]`` holds c_1…c_order): ``(1/k!)·dᵏ/dεᵏ body`` at ε = 0, each derivative from the previous one."""
    eps = sp.Dummy("eps", real=True)
    reads = {a: sp.Dummy("x", real=True) for a in [*body.atoms(sp.Indexed), *series]}
    moved = body.xreplace({a: x + sum((c * eps ** (j + 1) for j, c in enumerate(series[a])), sp.Integer(0))
                           if a in series else x for a, x in reads.items()})
    back = {x: a for a, x in reads.items()}
    result, derivative = [], moved
    for k in range(1, order + 1):
        derivative = sp.diff(derivative, eps)
        term = derivative.subs(eps, 0)
        if term.has(sp.DiracDelta):
            term = term.replace(sp.DiracDelta, lambda *args: sp.Integer(0))
        result.append(_fold_guards(term.xreplace(back)) / sp.factorial(k))
    return result


#: element functions by the equation they solve, y' = g(y)·z': their Taylor coefficients follow from the earlier
#: ones (``_ode_coefficient``), a sum of k products for the k-th, where the chain rule's expansion (Faà di
#: Bruno's formula) grows with the partitions of k
ODE = {sp.exp: lambda y: y, sp.tanh: lambda y: 1 - y**2, F.sigmoid: lambda y: y * (1 - y)}


def _ode_coefficient(g, ys: list[sp.Expr], inner: list[sp.Expr], k: int) -> sp.Expr:
    """The k-th Taylor coefficient of y = f(z) with y' = g(y)·z': ``y_k = (1/k)·Σ_{j=1…k} j·z_j·g_{k−j}``, where
    g_m, the coefficients of g(y), come from y_0…y_{k−1} (``ys``) and z_j from ``inner``."""
    g0 = g(ys[0])
    gs = [g0, *coefficients(g0, {ys[0]: ys[1:k]}, k - 1)] if k > 1 else [g0]
    return sp.Add(*(j * inner[j - 1] * gs[k - j] for j in range(1, k + 1))) / k


def taylor(graph: Graph, wrt: Sequence[str], directions: Sequence[Input], order: int
           ) -> tuple[Graph, dict[str, list[str | None]]]:
    """Taylor mode: new inputs ``directions`` (the first coefficients of ``wrt``, broadcast to their shapes;
    their higher coefficients are 0) and,
    for every definition that depends on them, its Taylor coefficients 1…order — each a definition of the same
    domain reading the coefficients of its reads (``coefficients``; an element function's own value is read
    from its result, as reverse mode's ``saved``). The k-th derivative along the directions is k!·T_k: the
    program grows with the order, not exponentially as nested reverse or forward passes do. Returns the graph
    and, per differentiated tensor, the names of its coefficients (None where one is 0)."""
    table = graph.tensors()
    adj = _Adjoints(graph)
    adj.taken.update(v.name for v in directions)
    inputs = [*graph.inputs, *directions]
    of: dict[str, list[str | None]] = {}
    defs: list[Def] = []
    for w, v in zip(wrt, directions, strict=True):
        target = table[w]
        first = v.name
        if tuple(v.shape) != tuple(target.shape):  # a direction shared by every row: broadcast it
            syms = fresh_indices(target.shape)
            lead = len(target.shape) - len(v.shape)
            index = tuple(0 if n == 1 and m != 1 else i
                          for i, n, m in zip(syms[lead:], v.shape, target.shape[lead:], strict=True))
            first = adj.fresh(f"{v.name}_rows")
            defs.append(Def(first, target.shape, target.dtype, tuple(zip(syms, target.shape, strict=True)), syms,
                            access(v.name, index), label=f"{v.name} broadcast"))
        of[w] = [first] + [None] * (order - 1)
    for d in graph.defs:
        if d.name in of or not is_float(d.dtype) or d.combine == "argmax":
            continue
        series = {r.atom: [sp.Integer(0) if c is None else access(c, r.indices) for c in of[r.name]]
                  for r in accesses(d.body, table) if r.name in of}
        if not series:
            continue
        if d.combine == "prod" and order > 1:
            raise NotSupportedError(f"Taylor mode: {d.name} is a product over an index; its derivatives of "
                                    "order 2 and above are not derived")
        # orders 1 and 2 by the chain rule (as compact as it gets), higher ones of an ODE function by recurrence
        rule = ODE.get(type(d.body)) if d.is_elementwise and len(d.body.args) == 1 and order > 2 else None
        terms = coefficients(d.body, series, order if rule is None else 2)
        if d.is_elementwise:
            terms = [t.xreplace({d.body: access(d.name, d.out)}) for t in terms]
        inner = coefficients(d.body.args[0], series, order) if rule is not None else []
        weight = adj.weight(d)
        defs += adj.defs
        adj.defs.clear()
        names: list[str | None] = []
        ys: list[sp.Expr] = [access(d.name, d.out)]  # the result's coefficients so far, as reads
        for k in range(1, order + 1):
            term = terms[k - 1] if k <= len(terms) else _ode_coefficient(rule, ys, inner, k)
            if term == 0:
                names.append(None)
                ys.append(sp.Integer(0))
                continue
            name = adj.fresh(f"t{k}{d.name}")
            defs.append(Def(name, d.shape, d.dtype, d.domain, d.out, weight * term,
                            "assign" if d.combine == "assign" else "sum", label=f"Taylor coefficient {k} of {d.name}"))
            names.append(name)
            ys.append(access(name, d.out))
        if any(names):
            of[d.name] = names
    return Graph(inputs, [*graph.defs, *defs], list(graph.outputs)), of
