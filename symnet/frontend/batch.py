"""The batch of a compiled step's trace: the tensors whose values change every step and whose first dimension
is symbolic (``BATCH``) in the step's program, so one program serves every batch size, the short last one too.

Inside ``batch_trace(X, Y)`` a derivative taken in the trace (``autograd.grad`` inside an objective) is derived
over the same symbolic batch, and the tensors it makes keep the traced batch's concrete size.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

from ..core import ir
from ..core.lazy import sympy as sp
from ..pipeline import LeafSpec

if TYPE_CHECKING:
    from .tensor import Tensor
    from .trace import Traced

_batch = threading.local()


@contextlib.contextmanager
def batch_trace(*data: Tensor):
    """Within it, ``data`` are the batch tensors of the compiled step being traced."""
    outer = getattr(_batch, "data", None), getattr(_batch, "size", None)
    _batch.data = {id(t) for t in data}
    _batch.size = next((t.shape[0] for t in data if t.shape), None)
    try:
        yield
    finally:
        _batch.data, _batch.size = outer


def batch_ids() -> set[int]:
    """The ids of the batch tensors of the trace under way (empty outside one)."""
    return getattr(_batch, "data", None) or set()


def is_batch_data(t: Tensor) -> bool:
    """Whether ``t`` is one of the batch tensors of the compiled step being traced (its values change per step)."""
    return id(t) in batch_ids()


def depends_on_batch(t: Tensor) -> bool:
    """Whether ``t`` is computed from the batch of the trace under way (so its value changes every step)."""
    data = batch_ids()
    stack, seen = [t], set()
    while data and stack:
        u = stack.pop()
        if id(u) in data:
            return True
        if u.node is not None and id(u) not in seen:
            seen.add(id(u))
            stack.extend(u.node.inputs)
    return False


def symbolic_specs(traced: Traced, data: set[int] | None = None) -> tuple:
    """The traced structure with the first dimension of each batch tensor (``data``'s ids, by default the trace
    under way's) ``BATCH``; unchanged without a batch."""
    data = batch_ids() if data is None else data
    if not data:
        return traced.specs
    return tuple(s._replace(shape=(ir.BATCH, *s.shape[1:])) if isinstance(s, LeafSpec) and id(t) in data and s.shape
                 else s for s, t in zip(traced.specs, traced.tensors, strict=True))


def concrete(shape: tuple) -> tuple[int, ...]:
    """A derived shape with ``BATCH`` set to the traced batch's size."""
    size = getattr(_batch, "size", None)
    return tuple(int(sp.sympify(n).subs(ir.BATCH, size)) if size is not None else int(n) for n in shape)
