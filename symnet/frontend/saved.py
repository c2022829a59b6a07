"""What PyTorch's backward saves, so that changing it in place before ``backward()`` is refused as PyTorch
refuses it ("one of the variables needed for gradient computation has been modified by an inplace operation").

symnet's in-place ops are functional (a tensor changed in place gets a new node; the graph keeps the values
its ops were made from), so its gradients would stay right; refusing keeps a PyTorch script's behaviour. An op
saves the inputs its local derivatives read — derived here from the op's own definition, as PyTorch's backward
formulas read them — except the element functions whose derivative PyTorch writes with their result (exp, tanh,
sigmoid, ...): those save their output instead.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core import lazy
from ..core.ir import Input, accesses
from ..core.ops import Map
from ..errors import GradError
from .trace import Node, Traced, Writes, trace

autodiff = lazy.module("symnet.core.autodiff")  # SymPy's: imported when a saved value is first checked

if TYPE_CHECKING:
    from .tensor import Tensor

#: element functions whose backward reads their result (PyTorch saves the output, not the input)
RESULT_SAVERS = frozenset({"exp", "exp2", "expm1", "tanh", "sigmoid", "sqrt", "rsqrt", "reciprocal", "relu"})


@functools.lru_cache(maxsize=4096)
def saved_inputs(op, shapes: tuple, dtypes: tuple, needs: tuple[bool, ...]) -> frozenset[int]:
    """The inputs whose values the derivatives by the inputs that ``needs`` a gradient read."""
    if isinstance(op, Map) and op.fn in RESULT_SAVERS:
        return frozenset()
    ins = [Input(f"in{k}", shape, dtype) for k, (shape, dtype) in enumerate(zip(shapes, dtypes, strict=True))]
    try:
        body = op.define(ins).body
    except Exception:  # noqa: BLE001 - an op whose rule needs more than shapes: nothing is known to be saved
        return frozenset()
    table = {t.name: t for t in ins}
    reads = accesses(body, table)
    saved: set[int] = set()
    for r in reads:
        if not needs[int(r.name[2:])]:
            continue
        derivative = autodiff.partial(body, r.atom)
        saved |= {int(s.name[2:]) for s in accesses(derivative, table)}
    return frozenset(saved)


def state_of(t):
    """What a tensor is now: a leaf's array, a computed tensor's node (an in-place change gives it another)."""
    return t._value if t.node is None else t.node


def refuse_modified_saved(outputs: Sequence[Tensor], traced: Traced | None = None) -> None:
    """Raise as PyTorch does when a tensor an op of the graph below ``outputs`` (``traced``, if traced already)
    saved for backward was changed in place after the op read it (or, for ``RESULT_SAVERS``, its own result
    was). A graph no in-place write happened during (each node's ``epoch``) needs no look."""
    if all(t.node is None or t.node.epoch == Writes.count for t in outputs):
        return
    traced = traced or trace(outputs)
    for t, state in zip(traced.tensors, traced.states, strict=True):
        if not isinstance(state, Node) or not any(u._requires_grad for u in state.inputs):
            continue
        op = state.op
        if isinstance(op, Map) and op.fn in RESULT_SAVERS and state_of(t) is not state:
            raise_modified(t, f"output 0 of {op.fn}")
        needs = tuple(bool(u._requires_grad) for u in state.inputs)
        shapes = tuple(tuple(u.shape) for u in state.inputs)
        for k in saved_inputs(op, shapes, tuple(u.dtype for u in state.inputs), needs):
            if k not in state.written and state_of(state.inputs[k]) is not state.sources[k]:
                raise_modified(state.inputs[k], f"input {k} of {getattr(op, 'label', type(op).__name__)}")


def raise_modified(t, what: str) -> None:
    """PyTorch's refusal of a backward that would read ``t`` (``what`` saved it) after an in-place change."""
    raise GradError(f"one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: a tensor of shape {list(t.shape)}, {what}, was changed in place after that op "
                    "saved it for backward; compute it again, or use an out-of-place op (y = y + 1)")
