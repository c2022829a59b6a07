"""Custom autograd Functions (``torch.autograd.Function``): a forward and a backward the user writes.

symnet derives every other derivative symbolically; a Function's backward is user code, so it is run between
derived programs. ``apply`` runs the forward without grad and hands out its results as tensors without a node
(each remembering its Function, as PyTorch's ``grad_fn``): a derived program stops at them. A derivative that
reaches one is taken in stages (``derive``): the derived program down to the Functions' outputs, the user's
``backward`` on their cotangents, then the derived program from the Functions' inputs on, latest Function first.
An output of a later Function never feeds an earlier one, so each backward sees the sum of its outputs'
cotangents, as PyTorch's does.

Inside a compiled step's trace a Function is refused (its backward would have to run between the native steps);
forward mode and ``vmap`` through one are refused as PyTorch refuses them without ``jvp``/``vmap`` rules.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..core.dtypes import is_float
from ..errors import NotSupportedError
from .saved import raise_modified, state_of
from .trace import Node, Traced, trace

if TYPE_CHECKING:
    from .tensor import Tensor

#: id of a Function's output → (a weak reference to it, its record, its position among the forward's outputs)
_OUTPUTS: dict[int, tuple[weakref.ref, Record, int]] = {}
_SEQUENCE = itertools.count()


class Record:
    """One call of a Function: what its backward needs (the class, ``ctx``, the inputs) and its outputs (weakly:
    a record is kept by its outputs, never the other way round)."""

    __slots__ = ("function", "ctx", "inputs", "states", "outputs", "metas", "sequence")

    def __init__(self, function: type, ctx, inputs: tuple, metas: list):
        self.function, self.ctx, self.inputs, self.metas = function, ctx, inputs, metas
        #: what each tensor input was at the call: its gradient flows into that, whatever happens to it later
        self.states = tuple(state_of(a) if hasattr(a, "node") else None for a in inputs)
        self.outputs: list[weakref.ref | None] = [None] * len(metas)
        self.sequence = next(_SEQUENCE)

    @property
    def name(self) -> str:
        return f"{self.function.__name__}Backward"

    def _inputs_as_called(self) -> list:
        """The inputs, a computed one changed in place since the call as a tensor of the node it had then (PyTorch's
        edge points to the old graph too)."""
        from .tensor import Tensor

        found = []
        for x, state in zip(self.inputs, self.states, strict=True):
            if isinstance(state, Node) and x.node is not None and state is not x.node:
                x = Tensor(None, x.shape, x.dtype, node=state, requires_grad=x._requires_grad)
            found.append(x)
        return found

    def output(self, k: int) -> Tensor | None:
        ref = self.outputs[k]
        return ref() if ref is not None else None

    def backward(self, cotangents: dict[int, Tensor], create_graph: bool) -> list[tuple[Tensor, Tensor]]:
        """The user's backward on the outputs' cotangents (zeros for unused outputs unless the ctx says not to
        materialize them): each input that requires grad with its gradient, checked and cast as PyTorch's
        ``validate_outputs``."""
        from . import autograd  # (autograd reads this module: imported when a backward runs)
        from .tensor import Tensor

        grads = []
        for k, meta in enumerate(self.metas):
            g = cotangents.get(k)
            if g is None and meta is not None and self.ctx._materialize_grads:
                g = autograd._constant(np.zeros(meta[0], meta[1]))
            grads.append(g)
        with autograd.enable_grad() if create_graph else autograd.no_grad():
            result = self.function.backward(self.ctx, *grads)
        result = result if isinstance(result, tuple) else (result,)
        n = len(self.inputs)
        if len(result) > n and all(g is None for g in result[n:]):
            result = result[:n]
        if len(result) != n:
            raise RuntimeError(f"function {self.name} returned an incorrect number of gradients (expected {n}, "
                               f"got {len(result)})")
        pairs = []
        for i, (x, g) in enumerate(zip(self._inputs_as_called(), result, strict=True)):
            if g is None:
                continue
            if not isinstance(x, Tensor):
                raise RuntimeError(f"function {self.name} returned a gradient different than None at position "
                                   f"{i + 1}, but the corresponding forward input was not a Variable")
            if not isinstance(g, Tensor):
                raise TypeError(f"function {self.name} returned a {type(g).__name__} as the gradient at index {i}: "
                                "expected a Tensor or None")
            if not x._requires_grad:
                continue
            if g.shape != x.shape:
                if not _expands_to(x.shape, g.shape):
                    raise RuntimeError(f"Function {self.name} returned an invalid gradient at index {i} - got "
                                       f"{list(g.shape)} but expected shape compatible with {list(x.shape)}")
                g = g.sum_to_size(x.shape)
            pairs.append((x, g if g.dtype == x.dtype else g.to(x.dtype)))
        return pairs


class BackwardNode:
    """An output's ``grad_fn``: PyTorch's ``<CubeBackward object>`` with ``name()``."""

    __slots__ = ("record",)

    def __init__(self, record: Record):
        self.record = record

    def name(self) -> str:
        return self.record.name

    @property
    def next_functions(self) -> tuple:
        return tuple((getattr(x, "grad_fn", None), 0) for x in self.record.inputs)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"


def _expands_to(shape: tuple, target: tuple) -> bool:
    """Whether ``shape`` broadcasts to ``target`` (a gradient of that shape sums back to it)."""
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(reversed(shape), reversed(target), strict=False))


def register(output: Tensor, record: Record, k: int) -> None:
    key = id(output)
    record.outputs[k] = weakref.ref(output, lambda _, drop=_OUTPUTS.pop: drop(key, None))  # (also at exit)
    _OUTPUTS[key] = (record.outputs[k], record, k)


def output_of(t: Tensor) -> tuple[Record, int] | None:
    """The Function call whose output ``t`` is, and its position (None for any other tensor)."""
    entry = _OUTPUTS.get(id(t))
    if entry is None or entry[0]() is not t or t.node is not None:
        return None
    return entry[1], entry[2]


def any_outputs() -> bool:
    return bool(_OUTPUTS)


def reached(traced: Traced) -> bool:
    """Whether the traced graph reads the output of a Function."""
    return bool(_OUTPUTS) and any(t.node is None and output_of(t) is not None for t in traced.tensors)


def refuse(traced: Traced, what: str) -> None:
    if reached(traced):
        name = next(output_of(t)[0].function.__name__ for t in traced.tensors
                    if t.node is None and output_of(t) is not None)
        raise NotSupportedError(f"{what} through the custom autograd.Function {name}: symnet runs its backward "
                                "only (PyTorch's needs a jvp or vmap staticmethod for this)")


def derive(outputs: list[Tensor], seeds: list[Tensor | None], targets: Sequence[Tensor] | None,
           create_graph: bool, accumulate: bool) -> tuple[list[Tensor], list[Tensor | None]]:
    """The vector-Jacobian product of ``outputs`` through Functions' backwards, by each target (``None``: every
    leaf that requires grad, found on the way): the targets and their gradients (None where unused)."""
    from . import autograd

    every_leaf = targets is None
    wanted_ids = set() if every_leaf else {id(t) for t in targets}
    found: dict[int, Tensor] = {}  # id(target) → the target (its gradient in ``sums``)
    sums: dict[int, Tensor] = {}
    pending: dict[int, dict[int, Tensor]] = {}  # a record's sequence → its outputs' cotangents
    records: dict[int, Record] = {}

    def add(table: dict, key: int, g: Tensor) -> None:
        table[key] = g if key not in table else _plus(table[key], g, create_graph)

    def collect(t: Tensor, g: Tensor) -> None:
        entry = output_of(t) if t.node is None else None
        if entry is not None:
            record, k = entry
            records[record.sequence] = record
            add(pending.setdefault(record.sequence, {}), k, g)
        if id(t) in wanted_ids or (every_leaf and entry is None and t.node is None):
            found[id(t)] = t
            add(sums, id(t), g)

    def stage(outs: list[Tensor], stage_seeds: list[Tensor | None]) -> None:
        traced = trace(outs)
        wanted: dict[int, Tensor] = {}
        for p, t in enumerate(traced.tensors):
            if t.node is None and t._requires_grad and traced.states[p] is t._value and (
                    every_leaf or output_of(t) is not None):
                wanted[id(t)] = t
        if not every_leaf:
            wanted.update((id(t), t) for t in targets)
        chosen = list(wanted.values())
        grads = autograd._derive_plain(outs, stage_seeds, chosen, create_graph, accumulate, traced=traced,
                                       fire_leaves=False)
        for t, g in zip(chosen, grads, strict=True):
            if g is not None:
                collect(t, g)

    stage(outputs, seeds)
    while pending:
        sequence = max(pending)
        record, cotangents = records.pop(sequence), pending.pop(sequence)
        for k, g in cotangents.items():  # an output's hooks see its whole gradient, before its backward does
            y = record.output(k)
            if y is not None and y._hooks:
                cotangents[k] = autograd._fire(y, g)
            if y is not None and accumulate and y._retains_grad:
                autograd._accumulate(y, cotangents[k], create_graph)
        computed: dict[int, Tensor] = {}  # the computed inputs, their gradients summed in ``seeds_of``
        seeds_of: dict[int, Tensor] = {}
        for x, g in record.backward(cotangents, create_graph):
            if x.node is None:
                collect(x, g)
            else:
                computed[id(x)] = x
                add(seeds_of, id(x), g)
        if computed:
            stage(list(computed.values()), [seeds_of[key] for key in computed])
    order = list(found.values()) if every_leaf else list(targets)
    grads = []
    for t in order:
        g = sums.get(id(t))
        grads.append(autograd._fire(t, g) if g is not None and t.node is None and t._hooks else g)
    return order, grads


def _plus(a: Tensor, b: Tensor, create_graph: bool) -> Tensor:
    from .autograd import _constant

    return a + b if create_graph or a.node is not None or b.node is not None else _constant(a._array() + b._array())


# ---------------------------------------------------------------- the user's side


class FunctionCtx:
    """What ``forward`` (or ``setup_context``) leaves for ``backward``: saved tensors, flags, and any attribute
    the user sets (``ctx.constant = 3``)."""

    def __init__(self, needs_input_grad: tuple[bool, ...]):
        self.needs_input_grad = needs_input_grad
        self.to_save: tuple = ()
        self._saved_states: tuple = ()
        self._materialize_grads = True
        self._non_differentiable: set[int] = set()
        self._record: Record | None = None

    def save_for_backward(self, *tensors) -> None:
        from .tensor import Tensor

        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {tensors.index(t)} is "
                                f"of type {type(t).__name__}")
        self.to_save = tensors
        self._saved_states = tuple(None if t is None else state_of(t) for t in tensors)

    def save_for_forward(self, *tensors) -> None:
        self.saved_for_forward = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The saved tensors; an output of the forward saved is that output as ``apply`` returned it."""
        record = self._record
        if record is None:
            return tuple(self.to_save)
        for k, (t, state) in enumerate(zip(self.to_save, self._saved_states, strict=True)):
            if t is not None and state_of(t) is not state:
                raise_modified(t, f"saved tensor {k} of {record.name}")
        return tuple(_as_returned(record, t) for t in self.to_save)

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize_grads = bool(value)

    def mark_dirty(self, *tensors) -> None:
        raise NotSupportedError("ctx.mark_dirty: a custom autograd.Function that changes its inputs in place is "
                                "not supported; return a new tensor from forward instead")


def _as_returned(record: Record, t):
    for k, meta in enumerate(record.metas):
        if meta is not None and meta[2] is t:
            y = record.output(k)
            return y if y is not None else t
    return t


def apply(function: type, args: tuple, kwargs: dict, forward: Callable, setup_context: Callable | None):
    """``function.apply(*args)``: the forward run without grad; when an input requires grad (and grad mode is
    on), its floating outputs become tensors that remember this call."""
    from . import autograd
    from .batch import batch_ids
    from .tensor import Tensor

    if batch_ids():
        raise NotSupportedError(f"compile: the custom autograd.Function {function.__name__} is in the step: its "
                                "backward is Python that would run between the native steps. Train it with the "
                                "eager loop (loss.backward(); optimizer.step()), or write its forward with "
                                "symnet's ops and let symnet derive it")
    needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
    ctx = FunctionCtx(needs)
    with autograd.no_grad():
        if setup_context is not None:
            out = forward(*args, **kwargs)
            setup_context(ctx, args, out)
        else:
            out = forward(ctx, *args, **kwargs)
    if not (autograd.is_grad_enabled() and any(needs)):
        return out
    single = isinstance(out, Tensor)
    outs = (out,) if single else out
    if not isinstance(outs, tuple):
        return out
    metas = [(o.shape, o.dtype, o) if isinstance(o, Tensor) else None for o in outs]
    record = Record(function, ctx, args, metas)
    results = []
    for k, o in enumerate(outs):
        if not isinstance(o, Tensor):
            results.append(o)
            continue
        y = Tensor(o._array(), o.shape, o.dtype)
        if is_float(o.dtype) and id(o) not in ctx._non_differentiable:
            y._requires_grad = True
            register(y, record, k)
        results.append(y)
    ctx._record = record
    return results[0] if single else tuple(results)
