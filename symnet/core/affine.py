"""The index algebra of affine reads: turning a scatter into a gather.

A definition in scatter form writes ``T[α(d)] += body(d)`` for every point d of its domain, where each index
component α_k is affine in the domain symbols (``s·y + d·i − p`` for a strided, dilated, padded convolution). Its
gather form reads instead, for every element ``a`` of T,

    T[a] = Σ_{d' ∈ rest} [guards] · body(d)      with d solved from α(d) = a,

as TVM's tensor-expression autodiff does: each component's equation ``α_k(d) = a_k`` is solved for one domain
symbol e (the one of largest extent, so the remaining sum is short): ``e = (a_k − rest)/c``; when that quotient is
not integral for every point, a divisibility guard ``[Q ∣ P]`` keeps the exact points, and a range guard keeps e
inside its extent. A component that is a mixed-radix sum (``c·K + i·k + j``, a flattened index) is solved for all
its symbols at once with floor and mod. Guards that hold everywhere (by interval arithmetic) are dropped.

Gathers write each output element once — parallel and vectorizable — where the scatter races; the scatter
(``ir.Def`` with a non-selection ``out``) stays the always-correct fallback for anything not affine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import lcm

from . import functions as F
from .ir import Dim, affine_bounds, fresh_indices, is_data_dependent, same_dim
from .lazy import sympy as sp


def _linear(component: sp.Expr, symbols: Sequence[sp.Symbol]) -> tuple[dict[sp.Symbol, sp.Rational], sp.Expr] | None:
    """The rational coefficients of ``component`` in ``symbols`` and its remainder, or None if not affine."""
    component = sp.expand(component)
    coefficients = {}
    for s in symbols:
        if s not in component.free_symbols:
            continue
        c = component.diff(s)
        if not c.is_Rational:
            return None
        coefficients[s] = c
    rest = sp.expand(component - sum((c * s for s, c in coefficients.items()), sp.Integer(0)))
    if rest.free_symbols & set(symbols) or is_data_dependent(rest) and rest.free_symbols:
        return None
    return coefficients, rest


def holds_everywhere(condition: sp.Expr, ranges: Mapping[sp.Symbol, Dim]) -> bool:
    """Whether a range or divisibility guard is true at every point of the box ``ranges``."""
    if isinstance(condition, F.between):
        x, lo, hi = condition.args
        bounds = affine_bounds(x, ranges)
        return bounds is not None and lo.is_Integer and hi.is_Integer and lo <= bounds[0] and bounds[1] <= hi
    if isinstance(condition, F.divides):
        m, e = condition.args
        linear = _linear(e, sorted(e.free_symbols, key=str))
        return bool(m.is_Integer and linear is not None and linear[1].is_Integer and linear[1] % m == 0
                    and all(c.is_Integer and c % m == 0 for c in linear[0].values()))
    return False


def prune_guards(body: sp.Expr, ranges: Mapping[sp.Symbol, Dim]) -> sp.Expr:
    """Drop the conditions of every guard in ``body`` that hold over the whole domain."""
    def prune(g):
        value, fill, *conditions = g.args
        return F.guarded(value, fill, *(c for c in conditions if not holds_everywhere(c, ranges)))

    return body.replace(lambda e: isinstance(e, F.guarded), prune)


def integral_conditions(body: sp.Expr) -> sp.Expr:
    """Range conditions on a solved index ``P/Q`` (exact where the divisibility guard beside them holds) as
    conditions on ``P``: lo ≤ P/Q ≤ hi ⇔ Q·lo ≤ P ≤ Q·hi, so they are evaluated in integers."""
    def scaled(c):
        x, lo, hi = c.args
        q = lcm(1, *(int(sp.fraction(t.as_coeff_Mul()[0])[1]) for t in sp.Add.make_args(sp.expand(x))))
        return c if q == 1 else F.between(sp.expand(q * x), q * lo, q * hi)

    return body.replace(lambda e: isinstance(e, F.between), scaled)


def _mixed_radix(coefficients, rest, extents) -> list[tuple[sp.Symbol, sp.Integer]] | None:
    """The symbols of ``Σ c·s`` ordered by coefficient when they tile an interval exactly (each coefficient the
    product of the extents below it): a flattened index such as ``c·K + i·k + j``."""
    if len(coefficients) < 2 or rest != 0:
        return None
    order = sorted(coefficients.items(), key=lambda sc: sc[1])
    expected = sp.Integer(1)
    for s, c in order:
        if c != expected or not isinstance(extents[s], int):
            return None
        expected = c * extents[s]
    return order


def gather_form(domain: Sequence[tuple[sp.Symbol, Dim]], out: Sequence[sp.Expr], body: sp.Expr,
                shape: Sequence[Dim]) -> tuple[tuple, tuple, sp.Expr] | None:
    """The gather form ``(domain, out, body)`` of ``T[out(d)] += body(d)`` over ``domain`` (T of ``shape``):
    ``out`` a selection of new symbols, the other domain symbols summed over; None where an index is not affine
    in the domain (the caller keeps the scatter)."""
    remaining = dict(domain)
    taken = set(remaining) | {s for s in body.free_symbols if isinstance(s, sp.Symbol)}
    subs: dict[sp.Symbol, sp.Expr] = {}
    guards: list[sp.Expr] = []
    targets: list[sp.Symbol] = []

    def eliminate(symbol, value):
        nonlocal subs
        subs = {k: v.xreplace({symbol: value}) for k, v in subs.items()}
        subs[symbol] = value
        del remaining[symbol]

    for component, dim in zip(out, shape, strict=True):
        component = sp.sympify(component).xreplace(subs)
        if component in remaining and same_dim(remaining[component], dim):
            targets.append(component)
            del remaining[component]
            continue
        linear = _linear(component, list(remaining))
        if linear is None:
            return None
        (a,) = fresh_indices([dim], avoid=taken)
        taken.add(a)
        targets.append(a)
        coefficients, rest = linear
        if not coefficients:
            guards.append(F.eq(a, component))
            continue
        radix = _mixed_radix(coefficients, rest, remaining)
        if radix is not None:
            top_symbol, top = radix[-1]
            guards.append(F.between(a, 0, top * remaining[top_symbol] - 1))
            body = body.xreplace({component: a})  # reads of the whole component read a itself
            for s, c in radix:
                eliminate(s, sp.floor(a / c) if s == top_symbol else sp.Mod(sp.floor(a / c), remaining[s]))
            continue
        symbol = max(coefficients, key=lambda s: (_size(remaining[s]), abs(coefficients[s]) == 1, -len(s.name)))
        solution = sp.expand((a - (component - coefficients[symbol] * symbol)) / coefficients[symbol])
        q = lcm(1, *(int(sp.fraction(t.as_coeff_Mul()[0])[1]) for t in sp.Add.make_args(solution)))
        numerator = sp.expand(q * solution)
        if q != 1:
            guards.append(F.divides(sp.Integer(q), numerator))
        guards.append(F.between(numerator, 0, q * (remaining[symbol] - 1)))
        eliminate(symbol, numerator / q)
    new_domain = tuple(zip(targets, shape, strict=True)) + tuple(remaining.items())
    ranges = dict(new_domain)
    body = integral_conditions(body.xreplace(subs))
    conditions = [c for c in (g.xreplace(subs) for g in guards) if not holds_everywhere(c, ranges)]
    if conditions:
        body = F.guarded(body, sp.Integer(0), *conditions)
    return new_domain, tuple(targets), prune_guards(body, ranges)


def _size(extent: Dim) -> float:
    """Extents compared for elimination: a symbolic one (the batch) counts as the largest."""
    return float("inf") if not isinstance(extent, int) and not sp.sympify(extent).is_Integer else int(extent)
