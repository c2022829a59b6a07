"""The NumPy reference evaluator: runs any forward or adjoint graph of the IR.

It is deliberately simple (a body is evaluated over the whole domain grid with NumPy broadcasting, then
combined) and it is the oracle that compiled code is tested against. Contractions take ``np.einsum``.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import IndexRangeError
from .cache import BoundedCache
from .functions import NUMPY_IMPLEMENTATIONS, guarded
from .ir import (
    Def,
    Graph,
    accesses,
    arithmetic_precision,
    bind_dims,
    is_data_dependent,
    is_guard,
    is_selection,
    zero_unless_guarded,
)
from .lazy import sympy as sp

_BODIES = BoundedCache("reference bodies", limit=4096)


def _compiled(expr: sp.Expr, args: tuple[sp.Expr, ...]):
    """``expr`` as a NumPy function of ``args`` (lambdified once per expression and argument list)."""
    def build():
        dummies = [sp.Dummy(f"a{n}") for n in range(len(args))]
        body = expr.xreplace(dict(zip(args, dummies, strict=True)))
        # numbers passed as Python floats: printed, they would keep 15 digits (1/3 would not be float64's), and a
        # Python float meets a float32 array in float32, as PyTorch's scalars do
        numbers = sorted(body.atoms(sp.Float), key=sp.default_sort_key)
        slots = [sp.Dummy(f"f{n}") for n in range(len(numbers))]
        fn = sp.lambdify([*dummies, *slots], body.xreplace(dict(zip(numbers, slots, strict=True))),
                         modules=[NUMPY_IMPLEMENTATIONS, "numpy"], cse=True)
        values = [float(f) for f in numbers]
        return (lambda *arrays: fn(*arrays, *values)) if values else fn

    return _BODIES.get_or_build((expr, args), build)


class _Grid:
    """The domain of one definition: an index array per domain symbol, broadcastable against the others."""

    def __init__(self, d: Def, env: Mapping[str, np.ndarray], dims: Mapping[sp.Symbol, int]):
        self.d, self.env, self.dims = d, env, dims
        self.symbols = d.symbols
        self.extents = [int(sp.sympify(e).subs(dims)) for _, e in d.domain]
        self.shape = tuple(self.extents)
        rank = len(self.extents)
        self.axis = {s: p for p, s in enumerate(self.symbols)}
        self.index = {
            s: np.arange(n).reshape([n if q == p else 1 for q in range(rank)])
            for p, (s, n) in enumerate(zip(self.symbols, self.extents, strict=True))
        }
        #: a comparison or argmax reads its floats in the precision PyTorch compares in (as native code does)
        read = {a.name for a in accesses(d.body, env.keys())}
        self.compared = None if d.dtype.kind == "f" else \
            arithmetic_precision(d.dtype, [(env[n].dtype, env[n].shape) for n in sorted(read)])

    def eval(self, expr: sp.Expr, clamp: bool = False) -> np.ndarray:
        """Evaluate an element expression (a body or an index) over the grid; reads inside a guard are clamped
        into their tensors (their values count only where the guard holds)."""
        found = accesses(expr, self.env.keys())
        inside = {a.atom for g in expr.atoms(guarded) for a in accesses(g.args[0], self.env.keys())}
        arrays = [self.read(a.name, a.indices, clamp=clamp or a.atom in inside) for a in found]
        free = sorted((s for s in expr.free_symbols if s.is_integer), key=lambda s: s.name)
        values = [self.index[s] if s in self.index else self.dims[s] for s in free]
        fn = _compiled(expr, tuple(a.atom for a in found) + tuple(free))
        return np.asarray(fn(*arrays, *values))

    def index_values(self, index: sp.Expr, clamp: bool = False) -> np.ndarray:
        """An index over the grid in exact integer arithmetic (a quotient truncates, as native code's does)."""
        fraction = _rational(index)
        if fraction is None:
            return self.eval(index, clamp).astype(np.int64)
        num = np.asarray(self.eval(fraction[0], clamp)).astype(np.int64)
        quotient = np.abs(num) // fraction[1]
        return np.where(num < 0, -quotient, quotient)

    def read(self, name: str, indices: Sequence[sp.Expr], clamp: bool = False) -> np.ndarray:
        """``name[indices]`` over the grid: a view for a selection, a checked gather otherwise. Integer and bool
        tensors read as native code reads them: as the definition's float type in a float definition (so
        ``0·(−1)`` is −0.0 there too), as int64 otherwise (NumPy's bool arithmetic is logical, and refuses ``-``)."""
        arr = self.env[name]
        if arr.dtype.kind in "ib":
            arr = arr.astype(self.d.dtype if self.d.dtype.kind == "f" else np.int64, copy=False)
        elif arr.dtype.kind == "f" and self.compared is not None:
            arr = arr.astype(self.compared, copy=False)
        if not indices:
            return arr
        extents = dict(zip(self.symbols, self.extents, strict=True))
        if is_selection(indices, extents, arr.shape):
            view = arr[tuple(0 if i == 0 and i not in self.axis else slice(None) for i in indices)]
            syms = [i for i in indices if i in self.axis]
            order = sorted(range(len(syms)), key=lambda p: self.axis[syms[p]])
            view = view.transpose(order)
            shape = [1] * len(self.symbols)
            for p in order:
                shape[self.axis[syms[p]]] = view.shape[order.index(p)]
            return view.reshape(shape)
        if (clamp and arr.size == 0) or 0 in self.shape:  # a guarded read of an empty tensor (its guard never
            return np.zeros(self.shape, dtype=arr.dtype)  # holds), or a read over an empty grid: nothing is read
        idx = []
        for p, index in enumerate(indices):
            values = self.index[index] if index in self.index else self.index_values(index, clamp)
            if clamp and not is_data_dependent(index):
                values = np.clip(values, 0, arr.shape[p] - 1)
            if values.size and (values.min() < 0 or values.max() >= arr.shape[p]):
                bad = values[(values < 0) | (values >= arr.shape[p])].flat[0]
                raise IndexRangeError(
                    f"{self.d.label or self.d.name}: index {index} of {name} takes the value {bad}, "
                    f"outside [0, {arr.shape[p]}) (dim {p} of shape {arr.shape})"
                )
            idx.append(values)
        return arr[tuple(idx)]


def _rational(index: sp.Expr) -> tuple[sp.Expr, int] | None:
    """An affine index with rational coefficients (a solved strided read) as numerator and denominator."""
    if not isinstance(index, (sp.Add, sp.Mul)) or index.atoms(sp.floor, sp.Mod, sp.Indexed):
        return None
    num, den = sp.fraction(sp.together(index))
    return (sp.expand(num), int(den)) if den.is_Integer and den != 1 else None


def _einsum_operands(d: Def, grid: _Grid):
    """Operands of a sum of products of selections, or None if the body is not of that form."""
    factors = d.body.args if isinstance(d.body, sp.Mul) else (d.body,)
    names = grid.env.keys()
    operands, scale = [], sp.Integer(1)
    for f in factors:
        found = accesses(f, names)
        if not found:
            if f.free_symbols & set(grid.symbols):
                return None
            scale *= f
            continue
        if len(found) != 1 or found[0].atom != f:
            return None
        arr = grid.env[found[0].name]
        if not is_selection(found[0].indices, dict(zip(grid.symbols, grid.extents, strict=True)), arr.shape):
            return None
        keep = tuple(0 if i == 0 and i not in grid.axis else slice(None) for i in found[0].indices)
        operands.append((arr[keep].astype(grid.d.dtype, copy=False), [i for i in found[0].indices if i in grid.axis]))
    return (operands, scale) if operands else None


def _arrange(values: np.ndarray, kept: Sequence[sp.Symbol], out: Sequence[sp.Expr]) -> np.ndarray:
    """Reorder axes (one per kept domain symbol, in domain order) into the output index order."""
    syms = [o for o in out if o in kept]
    values = values.transpose([list(kept).index(s) for s in syms])
    for p, o in enumerate(out):
        if o not in kept:
            values = np.expand_dims(values, p)
    return values


def evaluate_def(d: Def, env: Mapping[str, np.ndarray], dims: Mapping[sp.Symbol, int]) -> np.ndarray:
    grid = _Grid(d, env, dims)
    shape = tuple(int(sp.sympify(s).subs(dims)) for s in d.shape)
    extents = dict(zip(grid.symbols, grid.extents, strict=True))
    selection = is_selection(d.out, extents, shape)
    reduced = d.reduced
    kept = [s for s in grid.symbols if s not in reduced]
    axes = tuple(grid.axis[s] for s in reduced)
    with np.errstate(all="ignore"):
        ops = _einsum_operands(d, grid) if d.combine == "sum" and selection else None
        # einsum only sums over indices its operands carry: every domain index must be read by a factor.
        if ops is not None and set(grid.symbols) <= {s for _, syms in ops[0] for s in syms}:
            operands, scale = ops
            letters = dict(zip(grid.symbols, string.ascii_letters, strict=False))
            spec = ",".join("".join(letters[s] for s in syms) for _, syms in operands)
            spec += "->" + "".join(letters[s] for s in kept)
            result = np.einsum(spec, *(a for a, _ in operands), optimize=len(operands) > 1)
            result = result * grid.eval(scale) if scale != 1 else result
            return _arrange(np.asarray(result), kept, d.out).astype(d.dtype, copy=False)
        values = np.broadcast_to(grid.eval(d.body), grid.shape)
        if not selection:
            result = np.zeros(shape, dtype=np.result_type(values, d.dtype))
            idx = tuple(np.broadcast_to(grid.index[o] if o in grid.index else grid.index_values(o), grid.shape)
                        for o in d.out)
            if zero_unless_guarded(d.body):  # positions past the tensor only where the value is 0
                idx = tuple(np.clip(i, 0, n - 1) for i, n in zip(idx, shape, strict=True))
            np.add.at(result, idx, values)
            return result.astype(d.dtype, copy=False)
        if d.combine == "assign" or (not axes and d.combine in ("sum", "prod", "max")):
            result = values
        elif d.combine == "sum":
            result = values.sum(axis=axes)
        elif d.combine == "prod":
            result = values.prod(axis=axes)
        elif d.ties == "window":
            best, position = _window_scan(grid, values, axes)
            result = best if d.combine == "max" else position
        elif d.combine == "max":
            result = values.max(axis=axes)
        else:  # argmax: first maximal element over the reduced axes, flattened in domain order
            result = _flat_window(values, axes).argmax(axis=-1)
        return _arrange(np.asarray(result), kept, d.out).astype(d.dtype, copy=False)


def _flat_window(values: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """The reduced axes moved last and flattened (in domain order)."""
    moved = np.moveaxis(values, axes, range(-len(axes), 0))
    return moved.reshape(moved.shape[: moved.ndim - len(axes)] + (-1,))


def _window_scan(grid: _Grid, values: np.ndarray, axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's pooling scan (``ties="window"``): from the first position inside the body's guard, a later
    one wins if greater or NaN; positions outside the guard never."""
    body = grid.d.body
    valid = np.ones(grid.shape, dtype=bool)
    if is_guard(body):
        for c in body.args[2:]:
            valid = valid & (np.broadcast_to(grid.eval(c), grid.shape) != 0)
    flat, inside = _flat_window(values, axes), _flat_window(valid, axes)
    position = inside.argmax(axis=-1)
    best = np.take_along_axis(flat, position[..., None], -1)[..., 0]
    for w in range(flat.shape[-1]):
        v = flat[..., w]
        take = inside[..., w] & ((v > best) | np.isnan(v)) & (w > position)
        best, position = np.where(take, v, best), np.where(take, w, position)
    return best, position


def evaluate(graph: Graph, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run the graph on input arrays; return its outputs by name."""
    dims = bind_dims(graph.inputs, arrays)
    env = {t.name: np.asarray(arrays[t.name]) for t in graph.inputs}
    for d in graph.defs:
        env[d.name] = evaluate_def(d, env, dims)
    return {name: env[name] for name in graph.outputs}
