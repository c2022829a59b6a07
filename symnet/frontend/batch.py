"""The batch of a compiled step's trace: the tensors whose values change every step and whose first dimension
is symbolic (``BATCH``) in the step's program, so one program serves every batch size, the short last one too.

Inside ``batch_trace(X, Y)`` a derivative taken in the trace (``autograd.grad`` inside an objective) is derived
over the same symbolic batch, and the tensors it makes keep the traced batch's concrete size.

There the batch tensors' leading dimension is a ``BatchSize``: an int that says it is the batch's, which
``x.size(0)`` and ``x.shape[0]`` return and shape rules pass on, so a tensor made with it (``zeros(layers,
x.size(0), hidden)``) is built from the batch (``batch_template``) and has the symbolic batch dimension too.
Arithmetic on it gives a plain int: a size computed from the batch size is not tied to it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from ..core import ir
from ..core.fill import Fill
from ..core.lazy import sympy as sp
from ..core.ops import scalar_operand
from ..errors import NotSupportedError
from ..pipeline import LeafSpec

if TYPE_CHECKING:
    from .tensor import Tensor
    from .trace import Traced

_batch = threading.local()
#: traces under way in any thread: while none is, each question below costs one read (the hot path of eager ops)
_tracing = 0
_counting = threading.Lock()
_NONE: frozenset[int] = frozenset()


@contextlib.contextmanager
def batch_trace(*data: Tensor, state: Iterable[Tensor] = ()):
    """Within it, ``data`` are the batch tensors of the compiled step being traced, and ``state`` the tensors
    whose values the steps change (the model's parameters and buffers)."""
    outer = (getattr(_batch, "data", None), getattr(_batch, "size", None), getattr(_batch, "state", None),
             getattr(_batch, "source", None))
    global _tracing
    with _counting:
        _tracing += 1
    _batch.data = {id(t) for t in data}
    _batch.source = next((t for t in data if t.shape), None)
    _batch.size = None if _batch.source is None else int(_batch.source.shape[0])
    _batch.state = {id(t) for t in state}
    shapes = [(t, t.shape) for t in data if t.shape]
    for t, shape in shapes:
        t.shape = (BatchSize(shape[0]), *shape[1:])
    try:
        yield
    finally:
        for t, shape in shapes:
            t.shape = shape
        _batch.data, _batch.size, _batch.state, _batch.source = outer
        with _counting:
            _tracing -= 1


class BatchSize(int):
    """The batch size of the compiled step being traced, as the batch tensors' leading dimension: equal to the
    traced size (``BatchSize(4) == 4``), but marked as the batch's, so a size holding it is tied to the batch."""

    __slots__ = ()


def batch_template(shape: tuple) -> tuple | None:
    """``shape`` as a ``core.fill`` template over the batch (None where it holds the trace's ``BatchSize``), or
    None when no dimension is the batch's or no trace is under way."""
    if not _tracing or not getattr(_batch, "data", None):
        return None
    size = _batch.size
    template = tuple(None if type(d) is BatchSize and d == size else d for d in shape)
    return template if None in template else None


def batch_source() -> Tensor:
    """The batch tensor whose leading dimension ``batch_template``'s Nones stand for (inside a trace only)."""
    return _batch.source


def batch_filled(shape: tuple, value, dtype: np.dtype, requires_grad: bool, op: str) -> Tensor | None:
    """``full(shape, value)`` built from the batch when ``shape`` holds the trace's batch size (``core.fill``), so
    its dimension is the program's symbolic batch; None otherwise (the caller makes a constant)."""
    template = batch_template(shape)
    return None if template is None else filled(batch_source(), template, value, dtype, requires_grad, op)


def batch_size_operand(value) -> Tensor | None:
    """``value`` as a tensor holding the batch size when it is the trace's ``BatchSize`` (``x.size(0)``,
    ``x.shape[0]``) taken as an operand (``loss.sum() / x.size(0)``): a 0-d int64 tensor the program computes from
    the batch (the count of its rows), so every step divides by its own batch's size, the short last one too;
    None for anything else. (A 0-d int64 tensor promotes as the Python int would.)"""
    if type(value) is not BatchSize or not in_batch_trace() or value != _batch.size:
        return None
    return filled(batch_source(), (None,), 1, np.dtype(np.int64), False, "batch size").sum()


def filled(like: Tensor, template: tuple | None, value, dtype: np.dtype, requires_grad: bool, op: str) -> Tensor:
    """``value`` (cast to ``dtype``) over ``fill.templated(template, like.shape)``, as an op of the traced program
    that reads only ``like``'s shape: no value of it, no gradient."""
    if requires_grad:
        raise NotSupportedError(f"compile: {op}(..., requires_grad=True) sized by the batch in a compiled step's "
                                "forward is a new leaf every step, which no optimizer holds; train eagerly")
    out = like._apply(Fill(scalar_operand(np.asarray(value).astype(dtype).item()), template), [like], dtype)
    out._requires_grad = False
    return out


def in_batch_trace() -> bool:
    """Whether a compiled step's trace is under way here (shapes may hold a ``BatchSize``: a cache of shapes
    keyed by equality would hand back one whose batch size is unmarked)."""
    return _tracing > 0 and bool(getattr(_batch, "data", None))


def batch_ids() -> set[int]:
    """The ids of the batch tensors of the trace under way (empty outside one)."""
    return (getattr(_batch, "data", None) or _NONE) if _tracing else _NONE


def is_batch_data(t: Tensor) -> bool:
    """Whether ``t`` is one of the batch tensors of the compiled step being traced (its values change per step)."""
    return id(t) in batch_ids()


def is_step_state(t: Tensor) -> bool:
    """Whether ``t`` is a parameter or a buffer of the compiled step being traced."""
    return id(t) in (getattr(_batch, "state", None) or ())


def depends_on_batch(t: Tensor) -> bool:
    """Whether ``t`` is computed from the batch of the trace under way (so its value changes every step)."""
    return _reaches(t, batch_ids())


def varies_per_step(t: Tensor) -> bool:
    """Whether ``t`` is, or is computed from, what the steps of the trace under way change: the batch, a
    parameter or a buffer. Its value now is one step's: a compiled step must compute it, never keep it."""
    data = batch_ids()
    return bool(data) and _reaches(t, data | (getattr(_batch, "state", None) or set()))


def _reaches(t: Tensor, ids: set[int]) -> bool:
    stack, seen = [t], set()
    while ids and stack:
        u = stack.pop()
        if id(u) in ids or id(u._base) in ids:  # an alias (.data) of a tensor holds its values
            return True
        if u.node is not None and id(u) not in seen:
            seen.add(id(u))
            stack.extend(u.node.inputs)
    return False


def symbolic_specs(traced: Traced, data: set[int] | None = None, mark: object = None) -> tuple:
    """The traced structure with the first dimension of each batch tensor (``data``'s ids, by default the trace
    under way's) ``BATCH`` (or ``mark``: comparing two structures needs no SymPy); unchanged without a batch."""
    data = batch_ids() if data is None else data
    if not data:
        return traced.specs
    mark = ir.BATCH if mark is None else mark
    return tuple(s._replace(shape=(mark, *s.shape[1:])) if isinstance(s, LeafSpec) and id(t) in data and s.shape
                 else s for s, t in zip(traced.specs, traced.tensors, strict=True))


def same_structure(a: Traced, a_data: set[int], b: Traced, b_data: set[int]) -> bool:
    """Whether two traces of one forward on batches (``a_data``, ``b_data``: the batch tensors' ids) of different
    sizes are one program: the same structure with the batch dimension symbolic, and equal constants (the batch
    and the random keys, drawn per trace, aside). They differ where the forward took the batch size as a number
    (``len(x)``, ``2 * x.size(0)``, a fill value, a loop over the rows)."""
    from .creation import RandomKey  # (creation imports this module)

    if symbolic_specs(a, a_data, "N") != symbolic_specs(b, b_data, "N"):
        return False
    for ta, tb, va, vb in zip((a.tensors[p] for p in a.leaves), (b.tensors[p] for p in b.leaves),
                              a.leaf_values(), b.leaf_values(), strict=True):
        if id(ta) in a_data or id(tb) in b_data or isinstance(ta, RandomKey):
            continue
        if va.dtype != vb.dtype or not np.array_equal(va, vb, equal_nan=va.dtype.kind in "fc"):
            return False
    return True


def concrete(shape: tuple) -> tuple[int, ...]:
    """A derived shape with ``BATCH`` set to the traced batch's size."""
    size = getattr(_batch, "size", None)
    return tuple(int(sp.sympify(n).subs(ir.BATCH, size)) if size is not None else int(n) for n in shape)
