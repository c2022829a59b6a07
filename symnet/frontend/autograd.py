"""Eager autograd on top of the pipeline: grad mode (``no_grad``), ``backward``'s bound plans, ``grad`` and hooks.

``backward()`` traces the graph, asks the pipeline for its gradient program (derived once per structure) and
runs it; the program and the graph's leaves are kept as a *plan* under the graph's structural key, so a Python
loop that rebuilds the same graph every step (its parameters holding new arrays after each optimizer step)
skips even the trace.
Grad mode is per thread, as in PyTorch.

``grad`` (``torch.autograd.grad``) asks the pipeline for the vector-Jacobian product of its outputs by any
traced tensors. Its values come from that graph compiled; with ``create_graph`` (or when a hook or
``retain_grad`` must see a gradient on its way) each derived definition is *replayed* as a tensor whose op is
the definition itself (``pipeline.Replayed``) and whose inputs are the original tensors: derivatives are
tensors of the same graph, differentiable again to any order.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..core.cache import BoundedCache
from ..core.dtypes import is_float
from ..errors import ArgumentError, GradError, NotSupportedError, ShapeError
from ..pipeline import (
    Derived,
    Replayed,
    forward_program,
    gradient_program,
    jvp_graph,
    read_names,
    taylor_graph,
    vjp_graph,
    vmap_graph,
)
from . import custom_functions
from .batch import batch_ids, concrete, symbolic_specs
from .derivative_names import name_derivative
from .saved import refuse_modified_saved, state_of
from .shaping import stack
from .trace import Node, Traced, Writes, trace

if TYPE_CHECKING:
    from .tensor import Tensor

class _Mode(threading.local):
    """Grad mode per thread; the class default serves a thread that never set it (read in every op: a plain
    attribute read, not a failed lookup)."""

    enabled = True
    inference = False


grad_mode = _Mode()


def is_grad_enabled() -> bool:
    return grad_mode.enabled


class _GradMode(contextlib.ContextDecorator):
    """A block (or decorated function) run with grad mode set to ``enabled``, restored after."""

    enabled: bool

    def __enter__(self):
        self._prev = is_grad_enabled()
        grad_mode.enabled = self.enabled

    def __exit__(self, *exc):
        grad_mode.enabled = self._prev

    def _recreate_cm(self) -> _GradMode:
        """A block of its own for each call of a decorated function: on the one decorating instance, a nested or
        concurrent call would overwrite ``_prev`` and the outer call would restore the wrong mode."""
        return copy.copy(self)


class no_grad(_GradMode):
    """Within it, ops compute values at once and record nothing (for hand-written parameter updates)."""

    enabled = False


class enable_grad(_GradMode):
    """Within it, ops record their graph again (inside a ``no_grad`` block, as ``torch.enable_grad``)."""

    enabled = True


class set_grad_enabled(_GradMode):
    """Grad mode set to ``mode`` at once (a call) or for a block (``with``), as ``torch.set_grad_enabled``."""

    def __init__(self, mode: bool):
        self.enabled, self._prev = bool(mode), is_grad_enabled()
        grad_mode.enabled = self.enabled

    def __call__(self, fn: Callable) -> Callable:
        """As a decorator (PyTorch's too): the mode set by the constructor is undone; each call sets it."""
        grad_mode.enabled = self._prev
        return super().__call__(fn)

    def _recreate_cm(self) -> _GradMode:
        return enable_grad() if self.enabled else no_grad()  # a call sets the mode on entry, as a block would

    def __enter__(self):
        pass


class inference_mode(_GradMode):
    """``torch.inference_mode``: grad mode off (on again with ``mode=False``) for a block or a decorated function,
    also as a bare decorator. symnet keeps no view or version counters it could skip, so it is ``no_grad`` that
    ``is_inference_mode_enabled`` reports; tensors made inside are ordinary tensors (PyTorch's inference tensors
    refuse later use in autograd)."""

    def __new__(cls, mode=True):
        if isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)  # @inference_mode without parentheses

    def __init__(self, mode: bool = True):
        self.mode, self.enabled = mode, not mode

    def __enter__(self):
        self._prev_inference = grad_mode.inference
        grad_mode.inference = self.mode
        super().__enter__()

    def __exit__(self, *exc):
        super().__exit__(*exc)
        grad_mode.inference = self._prev_inference


def is_inference_mode_enabled() -> bool:
    return grad_mode.inference


# ---------------------------------------------------------------- anomaly detection

class _Anomaly:
    """Anomaly mode, process-wide as PyTorch's: backward checks each gradient it hands out for NaN."""

    enabled = False
    check_nan = True


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Anomaly mode on or off (``torch.set_anomaly_enabled``). symnet derives a whole gradient program at once,
    so it checks the gradients backward and grad hand out (never each intermediate, as PyTorch does) and
    raises naming the tensor whose gradient holds NaN; there is no forward trace to print."""
    _Anomaly.enabled, _Anomaly.check_nan = bool(enabled), bool(check_nan)


def is_anomaly_enabled() -> bool:
    return _Anomaly.enabled


def is_anomaly_check_nan_enabled() -> bool:
    return _Anomaly.check_nan


class set_detect_anomaly(contextlib.ContextDecorator):
    """Anomaly mode set at once (a call) or for a block (``with``), as ``torch.autograd.set_detect_anomaly``."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self._prev = (_Anomaly.enabled, _Anomaly.check_nan)
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        set_anomaly_enabled(*self._prev)


class detect_anomaly(contextlib.ContextDecorator):
    """Anomaly mode on for a block or a decorated function (``torch.autograd.detect_anomaly``)."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = (_Anomaly.enabled, _Anomaly.check_nan)
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *exc):
        set_anomaly_enabled(*self._prev)


def _check_anomaly(t: Tensor, g: Tensor) -> None:
    """In anomaly mode, a gradient holding NaN is an error naming the tensor it is for."""
    if _Anomaly.enabled and _Anomaly.check_nan and g.dtype.kind == "f" and np.isnan(g._array()).any():
        what = f"'{t.name}'" if t.name else f"of shape {list(t.shape)}"
        raise GradError(f"anomaly detection: backward returned nan values in the gradient of the tensor {what}")


# ---------------------------------------------------------------- hooks

class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook off again (``torch.utils.hooks``)."""

    def __init__(self, hooks: list, hook: Callable):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if any(h is self._hook for h in self._hooks):
            self._hooks.remove(self._hook)


#: leaves with hooks to call once their ``.grad`` is accumulated: id → (the leaf, weakly; its hooks)
_POST_ACCUMULATE: dict[int, tuple[weakref.ref, list]] = {}


def post_accumulate_hooks(t: Tensor) -> list:
    """The list of ``t``'s post-accumulate-grad hooks (``register_post_accumulate_grad_hook``), made on first use."""
    key = id(t)
    entry = _POST_ACCUMULATE.get(key)
    if entry is None or entry[0]() is not t:
        entry = _POST_ACCUMULATE[key] = (weakref.ref(t, lambda _, drop=_POST_ACCUMULATE.pop: drop(key, None)), [])
    return entry[1]


#: computed tensors with a hook or ``retain_grad``: while there are any, backward takes the replaying path
_WATCHED: dict[int, weakref.ref] = {}


def watch(t: Tensor) -> None:
    """Note a computed tensor whose gradient a hook or ``retain_grad`` must see on its way to the leaves."""
    key = id(t)
    _WATCHED[key] = weakref.ref(t, lambda _: _WATCHED.pop(key, None))


def _watches(t: Tensor) -> bool:
    return bool(t._hooks) or t._retains_grad


def _fire(t: Tensor, g: Tensor) -> Tensor:
    """``t``'s hooks in the order they were registered, each given the gradient the previous one returned."""
    for hook in list(t._hooks or ()):
        replaced = hook(g)
        if replaced is not None:
            g = _like(replaced, g)
    return g


def _like(value, ref: Tensor) -> Tensor:
    """A hook's or a seed's value as a tensor of ``ref``'s dtype and shape."""
    t = value if isinstance(value, type(ref)) else _constant(np.asarray(value, dtype=ref.dtype))
    if t.shape != ref.shape:
        raise ShapeError(f"hook: the gradient returned has shape {list(t.shape)}, expected {list(ref.shape)}")
    return t if t.dtype == ref.dtype else t.to(ref.dtype)


def _constant(value: np.ndarray) -> Tensor:
    return _tensor_module().holding(value)


@functools.cache
def _tensor_class() -> type:
    return _tensor_module().Tensor


@functools.cache
def _tensor_module():
    from . import tensor  # tensor imports this module

    return tensor


def _accumulate(t: Tensor, g: Tensor, create_graph: bool, fresh: bool = False) -> None:
    """``t.grad += g`` as PyTorch accumulates: in place on values, out of place (a graph) with create_graph.
    ``fresh``: ``g`` is a new tensor of ``t``'s dtype on an array no one else holds, which ``t.grad`` may be."""
    _check_anomaly(t, g)
    old = t._grad  # the slot: what backward accumulates has the leaf's shape, unlike what a user may assign
    if create_graph or (old is not None and old.node is not None):
        t._grad = g if old is None else old + g
    elif old is None:
        t._grad = g if fresh and g.dtype == t.dtype else _constant(np.array(g._array(), dtype=t.dtype))
    else:
        old._value = old._array() + g._array()
        Writes.happened()  # a graph that read the old gradient must not read this one
    if _POST_ACCUMULATE:
        entry = _POST_ACCUMULATE.get(id(t))
        if entry is not None and entry[0]() is t:
            for hook in list(entry[1]):
                hook(t)


# ---------------------------------------------------------------- backward's bound plans

_PLANS = BoundedCache("backward plans", limit=64)


class _Plan:
    """A graph's gradient program and its leaves (weakly: a plan keeps no tensor alive), in trace order, with the
    positions of those it differentiates by. Found by the output's structural key, it runs on the arrays the
    leaves hold now, which is right for a graph no in-place write happened during."""

    __slots__ = ("program", "leaves", "wrt", "some")

    def __init__(self, program, leaves: list[Tensor], wrt: list[int]):
        self.program, self.leaves, self.wrt = program, [weakref.ref(t) for t in leaves], wrt
        self.some = wrt != list(range(len(leaves)))  # else every leaf is differentiated by: no selection

    def bound(self) -> tuple[list[Tensor], list[np.ndarray]] | None:
        """The leaves and their arrays now (None if a leaf has gone: the key cannot be found again then)."""
        leaves, values = [], []
        for r in self.leaves:
            t = r()
            if t is None:
                return None
            leaves.append(t)
            values.append(t._value)
        return leaves, values


def gradients(output: Tensor, gradient: np.ndarray | None = None) -> tuple[np.ndarray, list[Tensor], list]:
    """d(output)/d(leaf) for every leaf that requires grad: the output's value, the leaves and the gradients.

    ``gradient`` is the cotangent for outputs of more than one element."""
    if not output._requires_grad:
        raise GradError("backward(): this tensor does not require grad and has no grad_fn "
                        "(no input of its graph was created with requires_grad=True)")
    if gradient is None and output.shape and math.prod(output.shape) != 1:
        raise GradError(f"backward(): grad can be implicitly created only for one-element outputs; "
                        f"this one has shape {output.shape}: pass gradient=")
    if output.node is None:  # a leaf's derivative with respect to itself: the seed
        seed = np.ones(output.shape, output.dtype) if gradient is None else np.asarray(gradient, output.dtype)
        if seed.shape != output.shape:
            raise ShapeError(f"backward(): gradient has shape {seed.shape}, the output {output.shape}")
        return output._array(), [output], [seed]
    # a graph no write happened during reads its leaves' arrays as they are now: its plan serves it
    unwritten = gradient is None and output.node.epoch == Writes.count
    plan = _PLANS.get(output.node.key) if unwritten else None
    bound = plan.bound() if plan is not None else None
    if bound is not None:
        program, (leaves, values) = plan.program, bound
        leaves = [leaves[k] for k in plan.wrt] if plan.some else leaves
    else:
        traced = trace([output])
        refuse_modified_saved([output], traced)
        wrt = tuple(p for p, t in enumerate(traced.tensors) if t.node is None and t._requires_grad)
        values = traced.leaf_values()
        program = gradient_program(traced.specs, len(traced.specs) - 1, wrt, seeded=gradient is not None)
        leaves = [traced.tensors[p] for p in wrt]
        if unwritten:
            slot = {p: k for k, p in enumerate(traced.leaves)}
            _PLANS[output.node.key] = _Plan(program, [traced.tensors[p] for p in traced.leaves],
                                            [slot[p] for p in wrt])
    extra = None
    if gradient is not None:
        seed = np.asarray(gradient, dtype=output.dtype)
        if seed.shape != output.shape:
            raise ShapeError(f"backward(): gradient has shape {seed.shape}, the output {output.shape}")
        extra = {"seed": seed}
    value, *grads = program.run_list(values, extra)
    return value, leaves, grads


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs: Tensor | Sequence[Tensor] | None = None) -> None:
    """Accumulate the gradients of ``tensors`` (weighted by ``grad_tensors``) into the ``.grad`` of every leaf
    that requires grad, or of ``inputs`` (``torch.autograd.backward``). Graphs are never freed here, so
    ``retain_graph`` changes nothing: a graph can be differentiated again without it."""
    outputs = _sequence(tensors)
    seeds = _cotangents(grad_tensors, len(outputs))
    for t in outputs:
        if t._view is not None:
            t._sync()
    if custom_functions.any_outputs() and custom_functions.reached(trace(outputs)):
        targets = None
        if inputs is not None:
            targets = _sequence(inputs)
            _check_inputs(targets)
        found = custom_functions.derive(outputs, _seeds(outputs, seeds, "backward"), targets, create_graph, True)
        for t, g in zip(*found, strict=True):
            if g is not None:
                _accumulate(t, g, create_graph)
        return
    if len(outputs) == 1 and not create_graph and inputs is None and not _WATCHED:
        (output,), (seed,) = outputs, seeds
        output._value, leaves, grads = gradients(output, seed._array() if hasattr(seed, "_array") else seed)
        for leaf, g in zip(leaves, grads, strict=True):
            if leaf._hooks:
                _accumulate(leaf, _fire(leaf, _constant(g)), False)
            else:  # the program's output array is new: the gradient takes it
                _accumulate(leaf, _constant(g), False, fresh=True)
        return
    seeds = _seeds(outputs, seeds, "backward")
    if inputs is None:
        traced = trace(outputs)
        targets = [t for p, t in enumerate(traced.tensors) if t.node is None and t._requires_grad
                   and traced.states[p] is t._value]
    else:
        targets = _sequence(inputs)
        _check_inputs(targets)
    for t, g in zip(targets, _derive(outputs, seeds, targets, create_graph, accumulate=True), strict=True):
        if g is not None:
            _accumulate(t, g, create_graph)


# ---------------------------------------------------------------- grad

def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor], grad_outputs=None,
         retain_graph: bool | None = None, create_graph: bool = False, only_inputs: bool = True,
         allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` (weighted by ``grad_outputs``) with respect to ``inputs``, leaves or not,
    without touching ``.grad`` (``torch.autograd.grad``). With ``create_graph`` they are tensors with a graph.

    >>> import symnet as sn
    >>> x = sn.tensor(2.0, requires_grad=True)
    >>> (g,) = sn.autograd.grad(x ** 3, x, create_graph=True)
    >>> sn.autograd.grad(g, x)
    (tensor(12.),)
    """
    if is_grads_batched:
        raise NotSupportedError("grad(is_grads_batched=True): batched gradients are not supported yet; "
                                "call grad once per grad_outputs row")
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ArgumentError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                            "but got: allow_unused=False.")
    outputs, targets = _sequence(outputs), _sequence(inputs)
    seeds = _seeds(outputs, _cotangents(grad_outputs, len(outputs)), "grad")
    _check_inputs(targets)
    result = []
    for i, (t, g) in enumerate(zip(targets, _derive(outputs, seeds, targets, create_graph), strict=True)):
        if g is None:
            if not allow_unused:
                raise GradError(f"The differentiated Tensor at index {i} appears to not have been used in the "
                                "graph. Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                g = _constant(np.zeros(t.shape, t.dtype))
        else:
            _check_anomaly(t, g)
        result.append(g)
    if create_graph and len(outputs) == 1 and _is_plain(seeds[0]):
        for t, g in zip(targets, result, strict=True):
            name_derivative(outputs[0], t, g)
    return tuple(result)


def _is_plain(seed: Tensor | None) -> bool:
    """No cotangent, or ones (``grad(u, x, ones_like(u))``): the result is the derivative of u itself."""
    return seed is None or seed.node is None and bool(np.all(seed._value == 1))


def _sequence(x) -> list:
    return [x] if x is None or hasattr(x, "numpy") and hasattr(x, "node") else list(x)


def _cotangents(given, n: int) -> list:
    """``grad_outputs``/``grad_tensors`` as one entry per output: a tensor or array for one output, else a
    sequence of them (None entries: implicit)."""
    if given is None:
        return [None] * n
    if isinstance(given, list | tuple) and any(e is None or hasattr(e, "shape") for e in given):
        return list(given)
    return [given]


def _check_inputs(targets: list[Tensor]) -> None:
    for t in targets:
        if not hasattr(t, "node"):
            raise TypeError(f"grad: inputs must be tensors, got {type(t).__name__}")
        if not t._requires_grad:
            raise GradError("One of the differentiated Tensors does not require grad")


def _seeds(outputs: list[Tensor], seeds: list, op: str) -> list[Tensor | None]:
    """Each output's cotangent as a tensor of its dtype (None: an implicit 1, for one-element outputs only)."""
    if len(seeds) != len(outputs):
        raise GradError(f"{op}: got {len(seeds)} grad_outputs for {len(outputs)} outputs: "
                        "there must be one per output")
    result = []
    for k, (out, seed) in enumerate(zip(outputs, seeds, strict=True)):
        if not out._requires_grad:
            raise GradError(f"element {k} of tensors does not require grad and does not have a grad_fn")
        if seed is None:
            if out.numel() != 1:
                raise GradError("grad can be implicitly created only for scalar outputs")
            result.append(None)
            continue
        seed = seed if hasattr(seed, "node") else _constant(np.asarray(seed, dtype=out.dtype))
        if seed.shape != out.shape:
            raise GradError(f"Mismatch in shape: grad_output[{k}] has a shape of {list(seed.shape)} and "
                            f"output[{k}] has a shape of {list(out.shape)}.")
        result.append(seed if seed.dtype == out.dtype else seed.to(out.dtype))
    return result


def _positions(traced: Traced, tensors: list[Tensor]) -> list[int | None]:
    """Where each tensor, in the state it has now, is in the trace (None: not in it)."""
    where: dict[tuple[int, int], int] = {}
    for p, (t, s) in enumerate(zip(traced.tensors, traced.states, strict=True)):
        where.setdefault((id(t), id(s)), p)
    return [where.get((id(t), id(state_of(t)))) for t in tensors]


def _derive(outputs: list[Tensor], seeds: list[Tensor | None], targets: list[Tensor], create_graph: bool,
            accumulate: bool = False) -> list[Tensor | None]:
    """The vector-Jacobian product by each target (None where no output depends on it): values, or with
    ``create_graph`` tensors with a graph; hooks fire and (when ``accumulate``) retained gradients are kept.
    Through a custom autograd.Function's backward when the graph reads one's output."""
    for t in targets:
        if t._view is not None:
            t._sync()
    traced = trace(outputs)
    if custom_functions.reached(traced):
        return custom_functions.derive(outputs, seeds, targets, create_graph, accumulate)[1]
    return _derive_plain(outputs, seeds, targets, create_graph, accumulate, traced)


def _derive_plain(outputs: list[Tensor], seeds: list[Tensor | None], targets: list[Tensor], create_graph: bool,
                  accumulate: bool, traced: Traced, fire_leaves: bool = True) -> list[Tensor | None]:
    """``_derive`` by one derived program (``traced`` holds no Function's output, or its cotangent is wanted
    as a target's); ``fire_leaves``: a leaf target's hooks see its gradient (else the caller fires them once on
    a sum)."""
    refuse_modified_saved(outputs, traced)
    at = _positions(traced, targets)
    wrt = tuple(sorted({p for p in at if p is not None}))
    seeded = tuple(s is not None for s in seeds)
    der = vjp_graph(symbolic_specs(traced), tuple(_positions(traced, outputs)), wrt, seeded)
    watched = [t for t in traced.tensors if t.node is not None and _watches(t)] if _WATCHED else []
    grads = _realize(der, traced, seeds, create_graph or bool(watched), create_graph, accumulate, hooked=True)
    found = {p: (g, used) for p, g, used in zip(wrt, grads, der.used, strict=True)}
    result = []
    for t, p in zip(targets, at, strict=True):
        g, used = found.get(p, (None, False))
        result.append(_fire(t, g) if fire_leaves and used and t.node is None and t._hooks else g if used else None)
    return result


def jvp(outputs: Sequence[Tensor], inputs: Sequence[Tensor], tangents: Sequence[Tensor],
        create_graph: bool = False) -> list[Tensor]:
    """The derivative of each output along ``tangents`` (one per input, of its shape), in forward mode: each
    definition's directional derivative, derived once per structure (zeros where an output does not depend on
    the inputs). With ``create_graph`` the results are tensors with a graph."""
    outputs, inputs = list(outputs), list(inputs)
    traced = trace(outputs)
    custom_functions.refuse(traced, "forward-mode differentiation (jvp)")
    at = _positions(traced, inputs)
    directions: dict[int, Tensor] = {}
    for p, t, v in zip(at, inputs, tangents, strict=True):
        if v.shape != t.shape:
            raise ShapeError(f"jvp: a tangent has shape {list(v.shape)}, its input {list(t.shape)}")
        if p is not None:
            v = v if v.dtype == t.dtype else v.to(t.dtype)
            directions[p] = v if p not in directions else directions[p] + v
    wrt = tuple(sorted(directions))
    der = jvp_graph(symbolic_specs(traced), tuple(_positions(traced, outputs)), wrt)
    return _realize(der, traced, [directions[p] for p in wrt], create_graph, create_graph, False, hooked=False)


def directional_derivatives(outputs: Sequence[Tensor], inputs: Sequence[Tensor], directions: Sequence[Tensor],
                            order: int, create_graph: bool = False) -> list[list[Tensor]]:
    """Per output, its derivatives of order 1…``order`` along ``directions`` (one per input, of its shape): the
    k-th derivative of ``output(inputs + t·directions)`` by t at 0, in Taylor mode (``autodiff.taylor``), so
    the program grows with the order instead of doubling per nested ``grad``. With ``create_graph`` the results
    are tensors with a graph (a training objective can read them)."""
    if not (isinstance(order, int) and order >= 1):
        raise ArgumentError(f"directional_derivatives: order must be a positive int, got {order!r}")
    from .tensor import Tensor

    outputs, inputs = list(outputs), list(inputs)
    traced = trace(outputs)
    custom_functions.refuse(traced, "Taylor-mode differentiation")
    at = _positions(traced, inputs)
    seeds: dict[int, Tensor] = {}
    for p, t, v in zip(at, inputs, directions, strict=True):
        if not isinstance(v, Tensor) or len(v.shape) > len(t.shape) or any(
                n not in (1, m) for n, m in zip(reversed(v.shape), reversed(t.shape), strict=False)):
            raise ShapeError(f"directional_derivatives: a direction of shape {list(getattr(v, 'shape', ()))} does "
                             f"not broadcast to its input's {list(t.shape)}")
        if p is not None:
            v = v if v.dtype == t.dtype else v.to(t.dtype)
            seeds[p] = v if p not in seeds else (seeds[p] + v).expand(*t.shape)
    wrt = tuple(sorted(seeds))
    der = taylor_graph(symbolic_specs(traced), tuple(_positions(traced, outputs)), wrt, order,
                       tuple(seeds[p].shape for p in wrt))
    flat = _realize(der, traced, [seeds[p] for p in wrt], create_graph, create_graph, False, hooked=False)
    return [flat[k * order:(k + 1) * order] for k in range(len(outputs))]


def batched(outputs: Sequence[Tensor], samples: Sequence[Tensor], batches: Sequence[Tensor]) -> list[Tensor]:
    """``outputs``, computed from the per-sample leaves ``samples``, for every row of ``batches`` (each the
    batch of one sample leaf, along its first dimension): the traced graph re-indexed over the batch
    (``pipeline.batch``) and replayed on the batches, so it stays one program and differentiable."""
    outputs = list(outputs)
    size = batches[0].shape[0]
    traced = trace(outputs)
    custom_functions.refuse(traced, "vmap")
    found = [(p, v) for p, v in zip(_positions(traced, list(samples)), batches, strict=True) if p is not None]
    der = vmap_graph(traced.specs, tuple(_positions(traced, outputs)), tuple(p for p, _ in found), size)
    results = _replay(der, traced, [v for _, v in found], True, False, hooked=False)
    return [r if used else r.unsqueeze(0).expand(size, *r.shape) for r, used in zip(results, der.used, strict=True)]


def _realize(der: Derived, traced: Traced, seeds: list[Tensor | None], replay: bool, create_graph: bool,
             accumulate: bool, hooked: bool) -> list[Tensor]:
    """The outputs of a derived graph: by its compiled program, or replayed as tensors (with a graph when
    ``create_graph``; in reverse mode, hooks fire on the way)."""
    in_trace = bool(batch_ids())
    if not replay and not in_trace:
        extra = {name: s._array() for name, s in zip(der.seeds, seeds, strict=True) if name is not None}
        return [_constant(v) for v in der.program.run_list(traced.leaf_values(), extra)]
    results = _replay(der, traced, seeds, create_graph, accumulate, hooked)
    if create_graph:
        return results
    # in a compiled step's trace a derivative stays in the program (its value changes with the batch), detached
    return [r.detach() for r in results] if in_trace else [_constant(v) for v in _evaluate(results)]


def _replay(der: Derived, traced: Traced, seeds: list[Tensor | None], create_graph: bool, accumulate: bool,
            hooked: bool = True) -> list[Tensor]:
    """The derived definitions as tensors over the traced ones (only those its outputs need); when ``hooked``
    (reverse mode), a watched tensor's adjoint goes through its hooks (and into its ``.grad``) before any other
    use."""
    from .tensor import Tensor

    graph = der.graph
    env = {name: _read(traced, p) for p, name in enumerate(der.names)}
    env.update((name, s) for name, s in zip(der.seeds, seeds, strict=True) if name is not None)
    watched = {der.adjoints[der.names[p]]: t for p, t in enumerate(traced.tensors)
               if hooked and t.node is not None and _watches(t) and der.names[p] in der.adjoints
               and traced.states[p] is t.node}
    names = set(graph.tensors())
    live = set(graph.outputs)
    for d in reversed(graph.defs):
        if d.name in live:
            live.update(read_names(d, names))
    for d in graph.defs:
        if d.name in env or d.name not in live:
            continue
        reads = read_names(d, names)
        ins = tuple(env[r] for r in reads)
        requires_grad = create_graph and is_float(d.dtype) and any(t._requires_grad for t in ins)
        t = Tensor(None, concrete(d.shape), d.dtype, node=Node(Replayed(d, reads), ins), requires_grad=requires_grad)
        owner = watched.get(d.name)
        if owner is not None:
            t = _fire(owner, t)
            if accumulate and owner._retains_grad:
                _accumulate(owner, t, create_graph)
        env[d.name] = t
    return [env[o] for o in graph.outputs]


def _read(traced: Traced, p: int) -> Tensor:
    """The tensor at trace position ``p`` as the graph read it: itself, or (updated in place since) a tensor
    holding the state it had then."""
    t, state = traced.tensors[p], traced.states[p]
    if state is state_of(t):
        return t
    from .tensor import Tensor

    if isinstance(state, Node):
        return Tensor(None, t.shape, t.dtype, node=state, requires_grad=t._requires_grad)
    return Tensor(state, state.shape, state.dtype)


def assemble(parts: Sequence[Tensor], dim: int, shape: tuple, dtype: np.dtype, create_graph: bool) -> Tensor:
    """A Jacobian block from its rows (``dim`` 0) or columns (``dim`` -1), reshaped to ``shape``: stacked as a
    graph with ``create_graph``, as values otherwise."""
    if not parts:
        return _constant(np.zeros(shape, dtype))
    if create_graph:
        return stack(parts, dim).reshape(shape)
    return _constant(np.stack([p._array() for p in parts], axis=dim).reshape(shape))


def detached(tensors: Sequence[Tensor]) -> list[Tensor]:
    """Each tensor's value outside the graph; those still to compute by one program together (so a Jacobian's
    blocks or a tree of gradients compile once, not once each)."""
    lazy = [t for t in tensors if t._value is None]
    values = dict(zip(map(id, lazy), _evaluate(lazy), strict=True)) if lazy else {}
    return [_constant(values[id(t)]) if id(t) in values else t.detach() for t in tensors]


def _evaluate(tensors: list[Tensor]) -> list[np.ndarray]:
    """The values of several lazily computed tensors, by one program."""
    traced = trace(tensors)
    return forward_program(traced.specs, tuple(_positions(traced, tensors))).run_list(traced.leaf_values())
