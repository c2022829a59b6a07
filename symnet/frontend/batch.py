"""The batch of a compiled step's trace: the tensors whose values change every step and whose first dimension
is symbolic (``BATCH``) in the step's program, so one program serves every batch size, the short last one too.

Inside ``batch_trace(X, Y)`` a derivative taken in the trace (``autograd.grad`` inside an objective) is derived
over the same symbolic batch, and the tensors it makes keep the traced batch's concrete size.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..core import ir
from ..core.lazy import sympy as sp
from ..pipeline import LeafSpec

if TYPE_CHECKING:
    from .tensor import Tensor
    from .trace import Traced

_batch = threading.local()


@contextlib.contextmanager
def batch_trace(*data: Tensor, state: Iterable[Tensor] = ()):
    """Within it, ``data`` are the batch tensors of the compiled step being traced, and ``state`` the tensors
    whose values the steps change (the model's parameters and buffers)."""
    outer = getattr(_batch, "data", None), getattr(_batch, "size", None), getattr(_batch, "state", None)
    _batch.data = {id(t) for t in data}
    _batch.size = next((t.shape[0] for t in data if t.shape), None)
    _batch.state = {id(t) for t in state}
    try:
        yield
    finally:
        _batch.data, _batch.size, _batch.state = outer


def batch_ids() -> set[int]:
    """The ids of the batch tensors of the trace under way (empty outside one)."""
    return getattr(_batch, "data", None) or set()


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
