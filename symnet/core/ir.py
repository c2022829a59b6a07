"""The tensor-expression IR: every tensor is a definition in index notation.

    T[out(d)] = combine_{d ∈ domain} body(d)

``domain`` is a tuple of integer index symbols with their extents, ``out`` says where each domain point lands
in T (usually a selection of the domain symbols: the others are reduced), ``body`` is a SymPy expression whose
tensor reads are accesses ``A[α(d)]`` (``sympy.Indexed``; a 0-d tensor is read as a plain real ``Symbol``).
``combine`` is ``assign`` (elementwise: out is a bijection), ``sum`` (reductions and scatter-accumulates),
``prod`` (a product starting at 1), ``max`` or ``argmax``. Extents may be SymPy symbols such as the batch size ``N``.

Element functions in bodies are SymPy's own (``exp``, ``log``, ``sin``, ``cos``, ``tanh``, ``erf``, ``Abs``,
``Max``, ``Min``, ``floor``, ``Mod``, powers: the primitives every backend lowers) or named functions of
``symnet.core.functions``, each of which carries its own ``lower(ops, *args)`` written against ``ScalarOps``
below — so a backend lowers any element function without knowing it by name.

Nothing here knows about neural networks or LLVM.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeAlias

import numpy as np

from ..errors import ShapeError
from .lazy import sympy as sp

Dim: TypeAlias = "int | sp.Expr"
COMBINES = ("assign", "sum", "prod", "max", "argmax")


@functools.cache
def _batch() -> sp.Symbol:
    return sp.Symbol("N", integer=True, positive=True)


def __getattr__(name: str):
    """``BATCH``, the symbolic batch size ``N``, made on first use (SymPy loads only when something is derived)."""
    if name == "BATCH":
        return _batch()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

_INDEX_NAMES = "ijklmnpqrstuvw"


def index_symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name, integer=True, nonnegative=True)


def fresh_indices(extents: Sequence[Dim], avoid: Iterable[sp.Symbol] = ()) -> tuple[sp.Symbol, ...]:
    """Readable index symbols for these extents: ``b`` for the batch dimension, then i, j, k, ..."""
    taken = {s.name for s in avoid}
    names = []
    for extent in extents:
        if extent == _batch() and "b" not in taken:
            name = "b"
        else:
            name = next((c for c in _INDEX_NAMES if c not in taken), None)
            n = 0
            while name is None:
                name = f"i{n}" if f"i{n}" not in taken else None
                n += 1
        taken.add(name)
        names.append(name)
    return tuple(index_symbol(n) for n in names)


def tensor_symbol(name: str) -> sp.Symbol:
    """How a 0-d tensor is read inside a body."""
    return sp.Symbol(name, real=True)


def is_tensor_symbol(e: sp.Basic) -> bool:
    """Whether ``e`` is the read of a 0-d tensor (index symbols are integers; tensor symbols are real)."""
    return isinstance(e, sp.Symbol) and e.is_real is True and not e.is_integer


def access(name: str, indices: Sequence[sp.Expr]) -> sp.Expr:
    """The expression that reads tensor ``name`` at ``indices``."""
    if not indices:
        return tensor_symbol(name)
    return sp.Indexed(tensor_base(name), *indices)


def tensor_base(name: str) -> sp.IndexedBase:
    """The base of tensor ``name``'s reads. It carries no assumptions (SymPy would deduce them anew for every
    read it builds, a tenth of a millisecond each): where SymPy rewrites a function of a read through ``re``
    or ``im`` (|eˣ| → e^re(x)), the backends know elements are real."""
    return sp.IndexedBase(name)


@dataclass(frozen=True)
class Access:
    """One tensor read found in a body: the atom itself, the tensor's name and the index expressions."""

    atom: sp.Expr
    name: str
    indices: tuple[sp.Expr, ...]


def accesses(expr: sp.Expr, tensors: Iterable[str]) -> list[Access]:
    """The outermost tensor reads in ``expr`` (reads nested inside an index, like ``Y[b]``, are not listed)."""
    names = set(tensors)
    found: dict[sp.Expr, Access] = {}

    def visit(e: sp.Expr) -> None:
        if isinstance(e, sp.Indexed):
            found.setdefault(e, Access(e, str(e.base.label), tuple(e.indices)))
            return
        if isinstance(e, sp.Symbol):
            if e.name in names and is_tensor_symbol(e):
                found.setdefault(e, Access(e, e.name, ()))
            return
        for arg in e.args:
            visit(arg)

    visit(expr)
    return sorted(found.values(), key=lambda a: sp.default_sort_key(a.atom))


def is_guard(e: sp.Expr) -> bool:
    """Whether ``e`` is a guarded value ``(value, fill, *conditions)``: value where every condition holds, else
    fill (``functions.guarded``; backends read its value with reads kept inside their tensors)."""
    return getattr(type(e), "is_guard", False)


def zero_unless_guarded(e: sp.Expr) -> bool:
    """Whether ``e`` is 0 wherever a guard of it fails (a product with a guarded factor filled with 0)."""
    return any(is_guard(f) and f.args[1] == 0 for f in sp.Mul.make_args(e))


def is_range(e: sp.Expr) -> bool:
    """Whether ``e`` is a range condition ``(x, lo, hi)``: lo ≤ x ≤ hi (``functions.between``)."""
    return getattr(type(e), "is_range", False)


def is_data_dependent(index: sp.Expr) -> bool:
    return bool(index.atoms(sp.Indexed)) or any(not s.is_integer for s in index.free_symbols)


@dataclass(frozen=True)
class Input:
    """A tensor supplied from outside: a leaf of the traced program."""

    name: str
    shape: tuple[Dim, ...]
    dtype: np.dtype


@dataclass(frozen=True)
class Def:
    """``T[out(d)] = combine_{d ∈ domain} body(d)``; see the module docstring."""

    name: str
    shape: tuple[Dim, ...]
    dtype: np.dtype
    domain: tuple[tuple[sp.Symbol, Dim], ...]
    out: tuple[sp.Expr, ...]
    body: sp.Expr
    combine: str = "assign"
    #: for combine="max": "first" sends the gradient to the first maximal element (``max(dim)``),
    #: "even" splits it among ties (``amax``, full ``max()``), as PyTorch does; "window" is PyTorch's pooling
    #: scan over a guarded body: from the first position where the guard holds, a later one wins if greater or
    #: NaN (so the last NaN), positions outside the guard never.
    ties: str = "first"
    #: what the user called this tensor, or the op that made it; for printing only.
    label: str = field(default="", compare=False)

    def __post_init__(self):
        if self.combine not in COMBINES:
            raise ValueError(f"unknown combine {self.combine!r}")
        if len(self.out) != len(self.shape):
            raise ValueError(f"{self.name}: out index {self.out} does not match shape {self.shape}")

    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(s for s, _ in self.domain)

    @property
    def extents(self) -> dict[sp.Symbol, Dim]:
        return dict(self.domain)

    @property
    def reduced(self) -> tuple[sp.Symbol, ...]:
        """Domain symbols that do not appear in the output index: the ones summed (maxed, ...) over."""
        used = set().union(*(sp.sympify(o).free_symbols for o in self.out)) if self.out else set()
        return tuple(s for s in self.symbols if s not in used)

    @property
    def is_elementwise(self) -> bool:
        """One output element per domain point: an assign whose out index is the domain symbols (in any order),
        with 0 on the dimensions of size 1 that the domain does not span."""
        syms = [o for o in self.out if o in self.extents]
        return (self.combine == "assign" and len(set(syms)) == len(self.symbols)
                and all(o in self.extents or o == 0 for o in self.out))

    def with_body(self, body: sp.Expr) -> Def:
        return replace(self, body=body)


Tensor = Input | Def


def kind_preserving() -> tuple[type, ...]:
    """SymPy functions whose value has their arguments' kind: integer on integers (they lower to integer code)."""
    return sp.Abs, sp.Max, sp.Min, sp.sign


def is_integer_valued(e: sp.Expr, dtypes: Mapping[str, np.dtype]) -> bool:
    """The typing rule of element expressions: integer-valued (computed in int64, exactly) or float-valued.

    Reads have their tensor's dtype (bool counts as integer), index symbols and integer constants are
    integers, sums, products and non-negative integer powers of integers are integers, ``floor``/``Mod`` are
    index arithmetic; a named function says its kind with ``value_kind``: ``condition`` (0 or 1),
    ``integer`` (a conversion such as ``trunc``), ``same`` (its value argument's kind: relu, clamp) or
    ``float`` (the default)."""
    if isinstance(e, sp.Indexed):
        return dtypes[str(e.base.label)].kind in "ib"
    if is_tensor_symbol(e):
        return dtypes[e.name].kind in "ib"
    if e.is_Number:
        return bool(e.is_integer)
    if isinstance(e, sp.Symbol):
        return bool(e.is_integer)
    if isinstance(e, (sp.Add, sp.Mul)):
        return all(is_integer_valued(a, dtypes) for a in e.args)
    if isinstance(e, sp.Pow):
        return e.exp.is_Integer and e.exp >= 0 and is_integer_valued(e.base, dtypes)
    if isinstance(e, (sp.floor, sp.Mod)):
        return True
    kind = getattr(type(e), "value_kind", "float")
    if kind in ("condition", "integer"):
        return True
    if kind == "same" or isinstance(e, kind_preserving()):
        return all(is_integer_valued(a, dtypes) for a in e.args)
    return False


class ScalarOps(Protocol):
    """The scalar operations a backend offers to an element function's ``lower(ops, *args)``: ``args`` are the
    function's SymPy arguments, values are the backend's own (opaque) objects."""

    def value(self, e: sp.Expr) -> Any:
        """An argument (any element expression) as a float value."""

    def const(self, c: float) -> Any: ...

    def add(self, a: Any, b: Any) -> Any: ...

    def mul(self, a: Any, b: Any) -> Any: ...

    def select(self, condition: Any, if_true: Any, if_false: Any) -> Any: ...

    def compare(self, op: str, a: sp.Expr, b: sp.Expr) -> Any:
        """``a op b`` for op in ``< <= > >= == !=``: exact on integers, ordered on floats (``!=`` unordered)."""

    def both(self, a: Any, b: Any) -> Any:
        """The conjunction of two conditions."""

    def to_float(self, condition: Any) -> Any: ...

    def truncate(self, value: Any) -> Any:
        """A float rounded toward zero as an integer value (NaN and values outside int64's range: its least)."""

    def call(self, kernel: str, *values: Any) -> Any:
        """A vectorizable kernel: exp, expm1, log, log1p, sin, cos, tanh, erf, erfc, sigmoid,
        softplus(x, β, threshold)."""

    def power(self, base: sp.Expr, exponent: sp.Expr) -> Any: ...

    def safely(self, e: sp.Expr) -> Any:
        """``e``'s value with every read kept inside its tensor: for a guarded value, used only where its guard
        holds (so what an out-of-range read would have given never matters)."""

    def word(self, e: sp.Expr) -> Any:
        """An argument as a 64-bit integer word: integer expressions exactly, a float read rounded toward zero
        in its own dtype (a float64 counter stays exact) — the inputs of counter-based random numbers."""

    def bits(self, op: str, a: Any, b: Any) -> Any:
        """Wrapping 64-bit arithmetic on words: ``+``, ``*``, ``^``, ``&``, ``|`` and ``>>`` (logical); ``b`` may
        be a Python int in [0, 2⁶⁴), a constant."""

    def nonzero(self, e: sp.Expr) -> Any:
        """An integer divisor, reported by the kernel where it is 0 (PyTorch's ZeroDivisionError)."""


def is_selection(indices: Sequence[sp.Expr], extents: dict[sp.Symbol, Dim], shape: Sequence[Dim]) -> bool:
    """True where each index is a distinct domain symbol spanning the whole dimension, or 0 on a dim of 1.

    A selection is what matmul, broadcasting, transposes and reductions read with; its adjoint is a plain
    renaming (a gather), while anything else needs a scatter or a delta.
    """
    seen = set()
    for index, dim in zip(indices, shape, strict=True):
        if index in extents:
            if index in seen or not same_dim(extents[index], dim):
                return False
            seen.add(index)
        elif not (index == 0 and dim == 1):
            return False
    return True


@dataclass
class Graph:
    """Inputs and definitions in topological order, and the names of the outputs."""

    inputs: list[Input]
    defs: list[Def]
    outputs: list[str]

    def tensors(self) -> dict[str, Tensor]:
        table: dict[str, Tensor] = {t.name: t for t in self.inputs}
        table.update({d.name: d for d in self.defs})
        return table

    def prune(self) -> Graph:
        """Drop definitions no output needs."""
        table = self.tensors()
        live = set(self.outputs)
        for d in reversed(self.defs):
            if d.name in live:
                live.update(accesses_deep(d, table.keys()))
        return Graph(self.inputs, [d for d in self.defs if d.name in live], list(self.outputs))


def accesses_deep(d: Def, names: Iterable[str]) -> set[str]:
    """Names of every tensor a definition reads, including reads inside indices and the output index."""
    names = set(names)
    found: set[str] = set()
    exprs = [d.body, *(sp.sympify(o) for o in d.out)]
    for e in exprs:
        found.update(str(i.base.label) for i in e.atoms(sp.Indexed))
        found.update(s.name for s in e.free_symbols if s.name in names and is_tensor_symbol(s))
    return found & names


def affine_bounds(e: sp.Expr, extents: Mapping[sp.Symbol, Dim]) -> tuple[int, int] | None:
    """Least and greatest value of an integer affine expression of symbols ranging over [0, extent); None unless
    every coefficient is an integer and every extent known."""
    lo = hi = 0
    for term in sp.Add.make_args(sp.expand(e)):
        c, rest = term.as_coeff_Mul()
        if rest == 1:
            lo, hi = lo + c, hi + c
            continue
        if not (c.is_Integer and rest in extents and isinstance(extents[rest], int)):
            return None
        top = int(c) * (extents[rest] - 1)
        lo, hi = lo + min(0, top), hi + max(0, top)
    return int(lo), int(hi)


def same_dim(a: Dim, b: Dim) -> bool:
    if type(a) is int and type(b) is int:
        return a == b
    return a == b or sp.expand(sp.sympify(a) - b) == 0


def dims_numel(shape: Sequence[Dim]) -> Dim:
    n: Dim = 1
    for d in shape:
        n = n * d
    return n


def fmt_shape(shape: Sequence[Dim]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def bind_dims(inputs: Sequence[Input], arrays: Mapping[str, np.ndarray]) -> dict[sp.Symbol, int]:
    """Read the values of symbolic dimensions (the batch size) off the arrays; check every shape."""
    dims: dict[sp.Symbol, int] = {}
    for t in inputs:
        arr = arrays[t.name]
        if arr.ndim != len(t.shape):
            raise ShapeError(f"input {t.name}: expected {len(t.shape)} dims {fmt_shape(t.shape)}, got {arr.shape}")
        for want, got in zip(t.shape, arr.shape, strict=True):
            if isinstance(want, sp.Symbol):
                if dims.setdefault(want, got) != got:
                    raise ShapeError(f"input {t.name}: {want} is {dims[want]} elsewhere but {got} here")
            elif int(sp.sympify(want).subs(dims)) != got:
                raise ShapeError(f"input {t.name}: expected shape {fmt_shape(t.shape)}, got {arr.shape}")
    return dims


def dims_of(graph: Graph) -> list[sp.Symbol]:
    """The symbolic dimensions of a graph's tensors (the batch size), in the order of their names: the order in
    which a compiled graph takes their values."""
    found = set()
    for t in (*graph.inputs, *graph.defs):
        for d in t.shape:
            found |= sp.sympify(d).free_symbols
    return sorted(found, key=lambda s: s.name)


def format_graph(graph: Graph) -> str:
    """The definitions as plain lines, ``name[out] = combine over [domain]: body`` (the ``sympy`` stage)."""
    lines = [f"input {t.name}{fmt_shape(t.shape)} {t.dtype}" for t in graph.inputs]
    lines += [f"{d.name}{list(d.out)} = {d.combine} over {list(d.symbols)}: {d.body}" for d in graph.defs]
    return "\n".join(lines + [f"outputs: {', '.join(graph.outputs)}"])


@dataclass(frozen=True)
class Repeat:
    """How a driver runs a graph many times in one call (training epochs, iterated maps):

    iteration s first copies, for each ``gathers`` input, the rows ``index[starts[s mod P] : starts[s mod P + 1]]``
    of its source array into it and binds the dimension ``rows`` to their count, and sets each 0-d ``series``
    input to element s of its own array (a learning-rate schedule, say); then it runs the graph,
    writes each 0-d ``record`` definition to row s of the results, copies each ``feedback`` definition into
    its input (the next iteration's value), and adds one to each 0-d ``counters`` input.
    """

    feedback: tuple[tuple[Def, Input], ...] = ()
    counters: tuple[Input, ...] = ()
    record: tuple[Def, ...] = ()
    gathers: tuple[Input, ...] = ()
    rows: sp.Symbol | None = None
    series: tuple[Input, ...] = ()

    def series_arrays(self, given: Sequence[np.ndarray], steps: int) -> list[np.ndarray]:
        return series_arrays([(t.name, t.dtype) for t in self.series], given, steps)


def series_arrays(targets: Sequence[tuple[str, np.dtype]], given: Sequence[np.ndarray], steps: int) -> list[np.ndarray]:
    """The arrays of a repeat's series inputs (``targets``: their names and dtypes), checked (one per input, at
    least ``steps`` elements) and made contiguous in each input's dtype: what a driver reads from."""
    if len(given) != len(targets):
        raise ShapeError(f"repeat: {len(targets)} series expected, got {len(given)}")
    arrays = []
    for (name, dtype), values in zip(targets, given, strict=True):
        values = np.ascontiguousarray(values, dtype=dtype).reshape(-1)
        if len(values) < steps:
            raise ShapeError(f"repeat: the series of {name} has {len(values)} values for {steps} steps")
        arrays.append(values)
    return arrays


def arithmetic_precision(result: np.dtype, reads: list[tuple[np.dtype, tuple]]) -> np.dtype:
    """The float precision a definition computes in, given its result dtype and the (dtype, shape) of what it
    reads: float32 for a float32 result, double for a float64 one. A bool or integer result (a comparison, a
    pooling window's argmax) is computed in the precision PyTorch compares in: the widest float among the
    dimensioned tensors read (the 0-d ones when there are none), double when nothing read is a float.
    Comparing float32 values in double would be wrong: ``x == 0.1`` holds for float32's 0.1, and b + x rounded
    to float32 ties where the exact sums do not."""
    if result.kind == "f":
        return np.dtype(np.float32 if result == np.float32 else np.float64)
    floats = [d for d, shape in reads if d.kind == "f" and shape] or [d for d, _ in reads if d.kind == "f"]
    return np.dtype(np.float32 if floats and all(f == np.float32 for f in floats) else np.float64)
