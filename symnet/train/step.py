"""``symnet.compile``: a model, a loss and an optimizer as one native training step.

The step's program is traced once from the first batch, with the batch dimension symbolic (so the short last
batch runs the same code), differentiated, extended with the optimizer's symbolic update and compiled through
the pipeline: forward, backward and update of every parameter run in one native call per step, and epochs run
as the driver's repeat (parameters and optimizer state bound by their inputs' handles, never by name).
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from .. import backend, pipeline, stored
from ..core import durable, ir
from ..core.dtypes import float64, get_default_dtype, int64
from ..core.ir import Graph, Input, Repeat
from ..data import DataLoader, SequentialSampler
from ..errors import DTypeError, GradError, IndexRangeError, NotSupportedError, ShapeError
from ..frontend.autograd import enable_grad
from ..frontend.batch import batch_trace, same_structure, symbolic_specs
from ..frontend.creation import RandomKey
from ..frontend.sampling import get_rng_state, set_rng_state
from ..frontend.tensor import Tensor
from ..frontend.trace import Traced, Writes, trace
from ..nn.module import Module, buffer_updates
from ..optim import lr_scheduler
from ..optim.optimizer import Optimizer
from ..pipeline import Program
from ..printing import Formulas, StepFormulas
from . import step_cache
from .bound_fit import Bindings
from .clipping import Clipping
from .history import History, LossHistory
from .objective import Objective
from .progress import BAR_AFTER_SECONDS, Watch
from .schedule import constant_series, epochs_schedule


@dataclass(frozen=True)
class _Slots:
    """Where each array goes among the compiled step's inputs (positions found once, from typed handles)."""

    #: parameter, its input, its state inputs by state name, the states its update writes (in output order)
    params: list[tuple[Tensor, int, dict[str, int], tuple[str, ...]]]
    #: each parameter group's index and the position of its learning-rate input
    lrs: list[tuple[int, int]]
    t: int
    x: int
    y: int
    #: the inputs bound once: tensors the model made or holds that are neither parameters, buffers, keys nor the
    #: batch, at their values at the trace; None where each call binds its own
    bound: tuple
    #: the model's buffers and their inputs, bound every step; the buffers the step updates, in output order
    buffers: list[tuple[Tensor, int]]
    written: list[Tensor]
    #: each random key's input and its value at the trace: the step adds the count of steps done to it
    keys: list[tuple[int, float]]


@dataclass(frozen=True)
class _Traced:
    """A traced forward graph (outputs: the root, then the new value of each updated buffer) and the handles of
    its leaves."""

    graph: Graph
    #: the input of each traced leaf by the tensor's id; the batch's also as ``"X"`` and ``"Y"``
    handles: dict[int | str, Input]
    keep: frozenset[str]
    #: values of the leaves that are constants of the step, by input name
    constants: dict[str, np.ndarray]
    buffers: list[tuple[Tensor, Input]]
    #: each updated buffer and the name of the output holding its new value
    updates: list[tuple[Tensor, str]]
    keys: list[tuple[Input, float]]
    #: the input name of each leaf, in trace order
    leaf_names: list[str]


@dataclass(frozen=True)
class _Recording:
    """A forward as the frontend traced it (no SymPy yet): its structure, the positions of its roots (the loss,
    then each updated buffer's new value), the batch tensors and the buffers updated."""

    traced: Traced
    roots: tuple[int, ...]
    X: Tensor
    Y: Tensor | None
    updated: list[Tensor]
    #: the program is made for this batch size alone (``_holds_batch_size``): its batch dimension is not symbolic
    sized: bool = False


def _rows(x) -> int | None:
    """The row count of a batch (None for a 0-d one)."""
    shape = np.shape(x) if not isinstance(x, Tensor) else x.shape
    return int(shape[0]) if shape else None


def _same_program(a: _Recording, b: _Recording) -> bool:
    """Whether two recordings of one forward on batches of different sizes make the same program: the same
    roots, buffer updates, structure and constants (``same_structure``)."""
    return a.roots == b.roots and len(a.updated) == len(b.updated) and same_structure(
        a.traced, {id(a.X), id(a.Y)}, b.traced, {id(b.X), id(b.Y)})


class CompiledStep:
    """Forward, backward and the optimizer's update as one native function; ``fit`` drives the epochs."""

    def __init__(self, model: Module, loss_fn: Callable, optimizer: Optimizer, clipping: Clipping | None = None):
        self.model, self.loss_fn, self.optimizer, self.clipping = model, loss_fn, optimizer, clipping or Clipping()
        self.named = list(model.named_parameters())
        self._modules = list(model.modules())  # fixed with the parameters: whose training flags pick the program
        owned = {id(p) for _, p in self.named}
        #: the parameter group of each optimized tensor, by id
        self._group = {id(q): k for k, group in enumerate(optimizer.param_groups) for q in group["params"]}
        if any(q not in owned for q in self._group):
            raise ValueError("compile: the optimizer holds tensors that are not parameters of the model")
        self.history = LossHistory()
        #: the step compiled for each mode (the training flag of every module) and hyperparameters (other than the
        #: learning rates, which are inputs); the prediction program for each mode
        self._steps: dict[tuple, tuple[backend.Executable, _Slots]] = {}
        self._predicts: dict[tuple[bool, ...], tuple] = {}
        self._step: backend.Executable | None = None
        self._slots: _Slots | None = None
        self._formulas: Formulas | None = None
        #: the pace of the last native fit call, which decides whether the next fit shows a bar
        self._seconds_per_step: float | None = None
        #: an optimizer that evaluates the loss several times per step (LBFGS) calls a compiled loss-and-gradient
        #: program from its closure: one per mode, with the positions of the parameters, the batch and constants
        self._needs_closure = bool(getattr(optimizer, "needs_closure", False))
        self._gradient_programs: dict[tuple[bool, ...], tuple] = {}
        #: the programs (kind and key: "step", "predict" or "closure") whose forward holds the batch size as a
        #: number (``_holds_batch_size``): kept per batch size, under their key and the batch's row count
        self._sized: set[tuple[str, tuple]] = set()
        #: whether the model's forward hooks were warned about (they run while the step is traced, not per step)
        self._hooks_warned = False
        #: per thread, a one-batch fit's arguments bound for the next fits on the same batch
        self._bound = Bindings()

    # ---------------------------------------------------------------- building
    def _mode(self) -> tuple[bool, ...]:
        return tuple([m.training for m in self._modules])

    def _hyperparameters(self) -> tuple:
        """What the update rules bake in: every group's hyperparameters but its learning rate."""
        return tuple(map(self.optimizer.rule_key, self.optimizer.param_groups))

    def _record(self, x: Tensor | np.ndarray, y: Tensor | np.ndarray | None) -> _Recording:
        """The forward (model, then loss if ``y`` is given) run by the frontend alone, recording its structure with
        the batch dimension symbolic; the buffer updates the model's forward makes become further roots."""
        xv, yv = np.asarray(x), None if y is None else np.asarray(y)
        X = Tensor(xv, xv.shape, xv.dtype, name="X")
        Y = None if yv is None else Tensor(yv, yv.shape, yv.dtype, name="Y")
        self.model.name_parameters()
        backward = [name or type(self.model).__name__ for name, m in self.model.named_modules()
                    if m.__dict__.get("_backward_hooks") or m.__dict__.get("_backward_pre_hooks")]
        if backward:
            raise NotSupportedError(f"compile: {', '.join(backward)} has backward hooks, which a compiled step does "
                                    "not run (its gradients never leave native code); train eagerly "
                                    "(loss.backward()) to run them, or remove them")
        hooked = [name or type(self.model).__name__ for name, m in self.model.named_modules()
                  if m.__dict__.get("_forward_hooks") or m.__dict__.get("_forward_pre_hooks")]
        if hooked and not self._hooks_warned:
            self._hooks_warned = True  # once per step: it may trace more than one batch size
            warnings.warn(f"compile: the forward hooks of {', '.join(hooked)} run while the step is traced: what they "
                          "change is compiled into every step, but what they record (a feature, a print) happens "
                          "once, not at each step — call the model eagerly to run them every time", UserWarning,
                          stacklevel=4)
        state = [p for _, p in self.named] + list(self.model.buffers())
        # in grad mode whatever the caller's: the step derives its own gradients (under no_grad the trace would
        # compute values where it records formulas)
        with enable_grad(), buffer_updates() as updates, batch_trace(X, *([Y] if Y is not None else []), state=state):
            if Y is None:
                loss = self.model(X)
            elif isinstance(self.loss_fn, Objective):
                if X.dtype.kind == "f":
                    X.requires_grad_()
                loss = self.loss_fn(self.model, X, Y)
            else:
                loss = self.loss_fn(self.model(X), Y)
            updates = list({id(b): (b, new) for b, new in updates}.values())  # a buffer updated twice: the last
            roots = [loss, *(new for _, new in updates)]
            traced = trace(roots)
        return _Recording(traced, tuple(traced.position(r) for r in roots), X, Y, [b for b, _ in updates])

    def _trace(self, kind: str, key: tuple, x: Tensor | np.ndarray, y: Tensor | np.ndarray | None) -> _Traced:
        """The forward graph (outputs: the root, then each updated buffer's new value) lowered and simplified; its
        leaves are constants, buffers or random keys. (The program of ``kind`` and ``key``: ``_sized_record``.)"""
        return self._lower(self._sized_record(kind, key, x, y))

    def _sized_record(self, kind: str, key: tuple, x, y) -> _Recording:
        """``_record``, noting whether the program of ``kind`` and ``key`` holds the batch size as a number."""
        rec = self._record(x, y)
        if (kind, key) not in self._sized and self._holds_batch_size(rec, x, y):
            self._sized.add((kind, key))
        return replace(rec, sized=True) if (kind, key) in self._sized else rec

    def _holds_batch_size(self, rec: _Recording, x, y) -> bool:
        """Whether the forward recorded in ``rec`` took the batch's size as a Python number (``len(x)``,
        ``2 * x.size(0)``, a fill value, a loop over the rows): traced again on a batch one row longer, its
        structure or its constants differ. Such a program would give a batch of another size (the short last one)
        the traced batch's numbers, so it is made for each batch size, as PyTorch's eager numbers need. A forward
        that fails on the longer batch is held to its size too (the other size's own trace raises the error)."""
        xa, ya = np.asarray(x), None if y is None else np.asarray(y)
        if not xa.ndim:
            return False
        rows = len(xa)

        def longer(a):  # the first row again (values never shape a trace: reading them is refused)
            return a if a is None or not a.ndim or len(a) != rows else np.concatenate([a, a[:1]])

        state = get_rng_state()  # the other trace draws random keys too: the user's generator must not move
        try:
            other = self._record(longer(xa), longer(ya))
        except Exception:  # noqa: BLE001 - any failure on another size ties the program to this one
            return True
        finally:
            set_rng_state(state)
        return not _same_program(rec, other)

    def _sized_key(self, kind: str, key: tuple, rows: int | None) -> tuple:
        """The key a program of ``kind`` is kept under: ``key``, with the batch's row count when it holds it."""
        return (key, rows) if (kind, key) in self._sized else key

    def _lower(self, rec: _Recording) -> _Traced:
        traced, X, Y = rec.traced, rec.X, rec.Y
        prog = pipeline.lower(traced.specs if rec.sized else symbolic_specs(traced, {id(X), id(Y)}), rec.roots)
        keep = frozenset(p.name for _, p in self.named) | {"X", "Y"}
        by_name = {t.name: t for t in prog.graph.inputs}
        leaves = [traced.tensors[p] for p in traced.leaves]
        handles = {id(traced.tensors[p]): by_name[prog.names[p]] for p in traced.leaves}
        handles["X"], handles["Y"] = handles.get(id(X)), handles.get(id(Y))
        for name, t in (("X", X), ("Y", Y)):
            if handles[name] is None and t is not None:  # a loss that never reads it: the step takes it all the same
                handles[name] = Input(name, ((t.shape[0] if rec.sized else ir.BATCH), *t.shape[1:]) if t.shape
                                      else (), t.dtype)
        buffers = {id(b): b for b in self.model.buffers()}
        bound = {id(p) for _, p in self.named} | {id(X), id(Y)} | set(buffers)
        constants = {handles[id(t)].name: value for t, value in zip(leaves, traced.leaf_values(), strict=True)
                     if id(t) not in bound and not isinstance(t, RandomKey)}
        graph = pipeline.simplify(prog.graph, keep)
        read = [(buffers[id(t)], handles[id(t)]) for t in leaves if id(t) in buffers]
        known = {id(b) for b, _ in read}
        for b in rec.updated:  # a buffer the forward writes without reading still needs an input to feed back into
            if id(b) not in known:
                known.add(id(b))
                read.append((b, Input(f"written_buffer{len(read)}", tuple(b.shape), b.dtype)))
        return _Traced(graph, handles, keep, constants, read,
                       [(b, name) for b, name in zip(rec.updated, graph.outputs[1:], strict=True)],
                       [(handles[id(t)], float(t._array())) for t in leaves if isinstance(t, RandomKey)],
                       [prog.names[p] for p in traced.leaves])

    def _trained(self, handles: dict) -> list[Tensor]:
        """The optimized parameters the loss reads; one it never reads keeps its value and optimizer state, as
        in PyTorch (its ``.grad`` stays None, so the optimizer skips it)."""
        params = [p for _, p in self.named if p.requires_grad and id(p) in self._group and id(p) in handles]
        if not params:
            raise GradError("compile: the loss reads none of the parameters the optimizer holds")
        return params

    def _gradients(self, traced: _Traced, params: list[Tensor], saved: bool) -> tuple[Graph, Graph]:
        """differentiate the loss by ``params`` (``saved``: local derivatives read saved results), and simplify
        the loss with its gradients as outputs, which ``formulas()`` prints: the derived graph and the simplified
        one."""
        root = traced.graph.outputs[0]
        grad, adjoint = pipeline.differentiate(traced.graph, root, [traced.handles[id(p)].name for p in params],
                                               saved=saved)
        loss_and_gradients = pipeline.simplify(Graph(grad.inputs, grad.defs, [root, *grad.outputs]), traced.keep)
        self._formulas = Formulas(Program(loss_and_gradients, [], adjoints=set(adjoint.values())), False, root, [])
        return grad, loss_and_gradients

    def _build_step(self, x: Tensor | np.ndarray, y: Tensor | np.ndarray) -> None:
        """The step for the current mode and hyperparameters: found on disk by the structure traced (no
        derivation, no LLVM), else derived and compiled (``_derive``) and noted on disk for the next process."""
        mode = self._mode(), self._hyperparameters()
        rec = self._sized_record("step", mode, x, y)
        key = self._step_key(rec)
        found = self._cached_step(key, rec) if key is not None else None
        if found is None:
            stages = _compile_progress()
            graph, repeat, layout = self._derive(rec, stages)
            executable = pipeline.compile_graph(graph, repeat)
            stored.note("step", key, executable, layout)
            found = executable, self._bind_layout(layout, rec)
            stages.update(1)
            stages.close()
        self._steps[self._sized_key("step", mode, _rows(x))] = found

    def _cached_step(self, key: str, rec: _Recording) -> tuple[backend.Executable, _Slots] | None:
        """The step stored under ``key`` by an earlier process, bound to this trace; None if there is none usable."""
        found = step_cache.load(key, self._limits(rec))
        if found is None:
            return None
        object_key, layout = found
        try:
            slots = self._bind_layout(layout, rec)
        except (KeyError, IndexError, TypeError, ValueError):  # a layout that does not fit this trace
            return None
        executable = pipeline.compiled_from_cache(object_key, lambda: self._derive(rec)[:2])
        if executable is None or len(executable.interface.inputs) != layout["inputs"]:
            return None
        return executable, slots

    def _derive(self, rec: _Recording, stages=None) -> tuple[Graph, Repeat, dict]:
        """lower → simplify → differentiate → extend by the optimizer's update → simplify: the step's graph, its
        driver's repeat (parameters and states fed back, the step count as a counter, minibatches gathered) and
        the layout of its inputs (``_bind_layout``)."""
        traced = self._lower(rec)
        handles, keep, root = traced.handles, traced.keep, traced.graph.outputs[0]
        if stages is not None:
            stages.update(1)
        params = self._trained(handles)
        grad, _ = self._gradients(traced, params, saved=True)
        groups = sorted({self._group[id(p)] for p in params})
        # Python floats in PyTorch: double
        lrs = {k: Input("lr" if k == 0 else f"lr{k}", (), float64) for k in groups}
        t = Input("t", (), float64)
        clip_defs, grads = self.clipping.apply([grad.tensors()[n] for n in grad.outputs]) \
            if self.clipping.active else ([], list(grad.outputs))
        updates = [self.optimizer.update(handles[id(p)], dp, lrs[self._group[id(p)]], t,
                                         self.optimizer.param_groups[self._group[id(p)]])
                   for p, dp in zip(params, grads, strict=True)]
        outputs = [root]
        for u in updates:
            outputs += [u.new_param.name, *(d.name for d in u.new_state.values())]
        outputs += [name for _, name in traced.updates]
        extended = pipeline.extend(grad, [*lrs.values(), t, *(i for u in updates for i in u.state_inputs.values())],
                                   [*clip_defs, *(d for u in updates for d in u.defs)], outputs)
        graph = pipeline.simplify(extended, keep)
        present = {i.name for i in graph.inputs}
        unread = [h for h in (handles["X"], handles["Y"], *(i for _, i in traced.buffers)) if h.name not in present]
        if unread:  # one calling convention (and the driver's gathers) for every loss, a feedback slot per buffer
            graph = Graph([*graph.inputs, *unread], graph.defs, graph.outputs)
        if stages is not None:
            stages.update(1)
            stages.set_postfix_str("native code (LLVM)")
        final = graph.tensors()
        feedback = []
        for p, u in zip(params, updates, strict=True):
            feedback.append((final[u.new_param.name], handles[id(p)]))
            feedback += [(final[d.name], u.state_inputs[s]) for s, d in u.new_state.items()]
        inputs_of = {id(b): i for b, i in traced.buffers}
        feedback += [(final[name], inputs_of[id(b)]) for b, name in traced.updates]
        repeat = Repeat(tuple(feedback), counters=(t, *(k for k, _ in traced.keys)), record=(final[root],),
                        gathers=(handles["X"], handles["Y"]), rows=None if rec.sized else ir.BATCH,
                        series=tuple(lrs.values()))
        position = {inp.name: k for k, inp in enumerate(graph.inputs)}
        index = {id(p): k for k, (_, p) in enumerate(self.named)}
        buffer_index = {id(b): k for k, b in enumerate(self.model.buffers())}
        leaf_of = {name: k for k, name in enumerate(traced.leaf_names)}
        layout = {"inputs": len(graph.inputs),
                  "params": [[index[id(p)], position[handles[id(p)].name],
                              {s: position[i.name] for s, i in u.state_inputs.items()}, list(u.new_state)]
                             for p, u in zip(params, updates, strict=True)],
                  "lrs": [[k, position[i.name]] for k, i in lrs.items()],
                  "t": position[t.name], "x": position["X"], "y": position["Y"],
                  "bound": [[position[name], leaf_of[name]] for name in traced.constants if name in position],
                  "buffers": [[buffer_index[id(b)], position[i.name]] for b, i in traced.buffers],
                  "written": [buffer_index[id(b)] for b, _ in traced.updates],
                  "keys": [[position[k.name], leaf_of[k.name]] for k, _ in traced.keys]}
        return graph, repeat, layout

    def _bind_layout(self, layout: dict, rec: _Recording) -> _Slots:
        """The layout of the step's inputs (positions, and indices of parameters, buffers and leaves) bound to the
        tensors of this trace."""
        traced = rec.traced
        leaves, values = [traced.tensors[p] for p in traced.leaves], traced.leaf_values()
        named, buffers = [p for _, p in self.named], list(self.model.buffers())
        bound = [None] * layout["inputs"]
        for at, leaf in layout["bound"]:
            if id(leaves[leaf]) in {id(p) for p in named} | {id(b) for b in buffers} | {id(rec.X), id(rec.Y)}:
                raise ValueError("a bound constant that is a parameter, buffer or the batch")
            bound[at] = values[leaf]
        keys = [(at, leaves[leaf]) for at, leaf in layout["keys"]]
        if not all(isinstance(k, RandomKey) for _, k in keys):
            raise ValueError("a random key that is not one")
        return _Slots([(named[k], at, states, tuple(written)) for k, at, states, written in layout["params"]],
                      [(group, at) for group, at in layout["lrs"]], layout["t"], layout["x"], layout["y"],
                      tuple(bound), [(buffers[b], at) for b, at in layout["buffers"]],
                      [buffers[b] for b in layout["written"]], [(at, float(k._array())) for at, k in keys])

    def _step_key(self, rec: _Recording) -> str | None:
        """The durable key of the step this trace compiles to, or None when it has none (the reference backend,
        or a structure holding values without an exact text: then the step is derived every time)."""
        if backend.name() != "native":
            return None
        traced = rec.traced
        index = {id(p): ("param", k) for k, (_, p) in enumerate(self.named)}
        index.update({id(b): ("buffer", k) for k, b in enumerate(self.model.buffers())})
        index.update({id(rec.X): ("x",), id(rec.Y): ("y",)})
        roles = [index.get(id(t)) or (("key",) if isinstance(t, RandomKey) else ("constant",))
                 for t in (traced.tensors[p] for p in traced.leaves)]
        try:
            structure = durable.digest(
                traced.specs, rec.roots, roles, [index[id(b)] for b in rec.updated],
                [self._group.get(id(p)) for _, p in self.named], self.optimizer.rule_identity(), self.clipping,
                self._mode(), get_default_dtype(), backend.host_fingerprint(), rec.sized)
        except durable.NotDurable:
            return None
        return step_cache.key(structure)

    def _limits(self, rec: _Recording) -> dict[str, int]:
        return {"leaves": len(rec.traced.leaves), "params": len(self.named),
                "groups": len(self.optimizer.param_groups), "buffers": len(list(self.model.buffers()))}

    def _use_step(self, x: Tensor | np.ndarray, y: Tensor | np.ndarray, batch: int | None = None) -> bool:
        """The step compiled for the model's current mode (train or eval) and the optimizer's hyperparameters
        (built on first use, on the first ``batch`` rows: a changed momentum is a new program; learning rates are
        inputs), and for the batch's size when its forward holds that (``_holds_batch_size``): returns whether it
        does."""
        mode = self._mode(), self._hyperparameters()
        rows = _rows(x) if batch is None else batch
        key = self._sized_key("step", mode, rows)
        if key not in self._steps:
            if batch is not None:
                x, y = x[:batch], y[:batch]
            self._build_step(x, y)
            key = self._sized_key("step", mode, rows)  # the build may have found the forward holds the size
        self._step, self._slots = self._steps[key]
        return ("step", mode) in self._sized

    # ---------------------------------------------------------------- training
    def _inputs(self, advance: int, x: np.ndarray, y: np.ndarray, in_place: bool = False) -> list[np.ndarray]:
        """The step's inputs: parameters, optimizer state, lr, the step count t of the next step, and the
        batch; counts ``advance`` steps in the optimizer's state. ``in_place``: for a repeat, which updates the
        parameter and buffer arrays in place, so one that anything else can see is first replaced by a copy (tensors
        made earlier keep their values), and takes the learning rates as series (their inputs are left unset).
        A random key is its value at the trace plus the count of steps done, so every step draws new masks."""
        slots, opt = self._slots, self.optimizer
        values = list(slots.bound)
        state = opt._states
        done = None
        for p, at, states, _ in slots.params:
            own = state.get(id(p)) or opt.param_state(p)
            if done is None:
                done = own["step"]
            own["step"] += advance
            values[at] = p._private_value() if in_place else p._array()
            if states:
                for s, k in states.items():
                    values[k] = own[s]
        if not in_place:
            groups = opt.param_groups
            for group, k in slots.lrs:
                values[k] = np.array(groups[group]["lr"], dtype=float64)
        values[slots.t] = np.array(done + 1, dtype=float64)
        values[slots.x], values[slots.y] = x, y
        for b, k in slots.buffers:
            values[k] = b._private_value() if in_place else b._array()
        if in_place:
            Writes.happened()  # the arrays change under any plan that reads them
        for k, base in slots.keys:
            values[k] = np.array(base + done, dtype=float64)
        return values

    def step(self, x, y) -> float:
        """One native call: forward, backward and update on a batch; returns the loss. NumPy inputs are
        converted to the model's dtype; NaN or infinite inputs are an error. On any error nothing changes.
        An optimizer that needs a closure (LBFGS) runs its own step, calling the compiled loss and gradients."""
        xa, ya = self._batch_array(x, "x"), self._batch_array(y, "y")
        if xa.dtype.kind == "f" and not np.isfinite(xa).all():
            raise ValueError("step: the batch holds NaN or infinite inputs")
        if xa.ndim and xa.shape[0] == 0:  # PyTorch's mean loss of it is nan; a sum would silently be 0
            raise ShapeError(f"step: the batch is empty (x has shape {xa.shape}): there is nothing to learn from")
        if self._needs_closure:
            return self._closure_step(Tensor(xa, xa.shape, xa.dtype), Tensor(ya, ya.shape, ya.dtype))
        self._use_step(xa, ya)
        try:
            loss, *updated = self._step.call(self._inputs(1, xa, ya))
        except Exception:
            self._count_steps(-1)
            raise
        new = iter(updated)
        state = self.optimizer._states
        for p, _, _, written in self._slots.params:
            p._update(next(new))
            own = state[id(p)]
            for s in written:
                own[s] = next(new)
        for b in self._slots.written:
            b._update(next(new))
        loss = float(loss)
        self.history.append(loss)
        return loss

    def _closure_step(self, x: Tensor, y: Tensor) -> float:
        """``optimizer.step(closure)`` where the closure is one native call giving the loss and every gradient (as
        PyTorch's closure: zero the gradients, forward, backward)."""
        mode = self._mode()
        key = self._sized_key("closure", mode, _rows(x))
        if key not in self._gradient_programs:
            traced = self._trace("closure", mode, x, y)
            key = self._sized_key("closure", mode, _rows(x))
            if traced.updates or traced.keys:
                raise NotSupportedError(f"compile: {type(self.optimizer).__name__} evaluates the loss several times "
                                        "per step, and this model updates buffers or draws random masks in its "
                                        "forward (BatchNorm or Dropout in training mode): use model.eval() or "
                                        "another optimizer")
            params = self._trained(traced.handles)
            # as eager backward derives it, so LBFGS's line search follows the eager run's numbers
            _, graph = self._gradients(traced, params, saved=False)
            position = {inp.name: k for k, inp in enumerate(graph.inputs)}
            bound = [(p, position[traced.handles[id(p)].name]) for _, p in self.named
                     if traced.handles.get(id(p)) is not None and traced.handles[id(p)].name in position]
            bound += [(b, position[i.name]) for b, i in traced.buffers if i.name in position]
            fixed = [(position[n], v) for n, v in traced.constants.items() if n in position]
            self._gradient_programs[key] = (pipeline.compile_graph(graph), params, bound, fixed, position.get("X"),
                                            position.get("Y"), len(graph.inputs))
        program, params, bound, fixed, at_x, at_y, count = self._gradient_programs[key]

        def closure() -> Tensor:
            values: list = [None] * count
            for t, k in bound:
                values[k] = t._array()
            for k, value in fixed:
                values[k] = value
            for k, batch in ((at_x, x), (at_y, y)):
                if k is not None:
                    values[k] = batch._array()
            loss, *grads = program.call(values)
            for p, g in zip(params, grads, strict=True):
                p.grad = Tensor(g, g.shape, p.dtype)
            return Tensor(loss, loss.shape, loss.dtype)

        loss = float(self.optimizer.step(closure).item())
        self.history.append(loss)
        return loss

    def _count_steps(self, change: int) -> None:
        for p, *_ in self._slots.params:
            self.optimizer.param_state(p)["step"] += change

    def _batch(self, data, what: str) -> Tensor:
        """A batch as a tensor: NumPy floats in the model's dtype (NumPy's float64 default is the usual trap);
        a float Tensor of another dtype is an error, as PyTorch's Linear refuses it."""
        if isinstance(data, Tensor):
            self._refuse_other_float(data, what)
            return data
        arr = self._batch_array(data, what)
        return Tensor(arr, arr.shape, arr.dtype)

    @property
    def _model_dtype(self) -> np.dtype | None:
        return self.named[0][1].dtype if self.named else None

    def _refuse_other_float(self, data: Tensor, what: str) -> None:
        dtype = self._model_dtype
        if data.dtype.kind == "f" and dtype is not None and data.dtype != dtype and what == "x":
            raise DTypeError(f"the model's parameters are {dtype} but the inputs are {data.dtype}; convert "
                             f"them with .to({dtype.name}) or the model with .to({data.dtype.name})")

    def _batch_array(self, data, what: str) -> np.ndarray:
        """``_batch``'s array, without the tensor."""
        if isinstance(data, Tensor):
            self._refuse_other_float(data, what)
            return data._array()
        dtype = self._model_dtype
        arr = np.asarray(data)
        if arr.dtype.kind == "f":
            return arr if dtype is None else arr.astype(dtype, copy=False)
        return arr.astype(int64, copy=False)  # labels and indices (NumPy's int32 or bool) as PyTorch's long

    def fit(self, loader: Iterable, epochs: int = 1, progress: bool | None = None,
            callbacks: Iterable[Callable] = (), scheduler=None, scheduler_interval: str | None = None,
            metrics: Mapping[str, Callable] | None = None) -> History:
        """Train for ``epochs`` over a loader of (x, y) batches; returns a History: the per-step losses of this
        call (a list of floats), and per epoch the mean loss, each metric and the wall time.

        ``metrics`` maps names to functions of this step called after every epoch (``{"val_acc": lambda s:
        s.accuracy(val_loader)}``). Each callback is called as ``callback(step, epoch, losses_of_the_epoch)``
        after every epoch; what metrics and callbacks print goes above the progress bar, which shows epoch, loss
        and rate when the fit will take more than about two seconds (``progress=True`` always, ``False``
        never). A loss that turns NaN or infinite is reported once with a warning naming the step; NaN or
        infinite inputs are an error naming the batch. A learning-rate ``scheduler`` is stepped after every
        epoch, or after every step with ``scheduler_interval="step"`` (the default for OneCycleLR and CyclicLR,
        which PyTorch steps per batch); the native loop reads the resulting learning rates as a series, without
        leaving native code. ReduceLROnPlateau is stepped with each epoch's mean training loss.
        """
        if self._needs_closure and isinstance(loader, tuple):
            loader = [loader]  # one batch, stepped by the optimizer's closure
        quick = progress is False or progress is None and self._seconds_per_step is not None \
            and self._seconds_per_step * epochs <= BAR_AFTER_SECONDS  # no bar
        if type(loader) is tuple and not (callbacks or metrics) and scheduler is None and scheduler_interval is None \
                and quick:
            history = self._fit_batch(loader, epochs)
            if history is not None:
                return history
        rows = None if self._needs_closure else _Rows.of(loader)
        schedule = _Schedule(self, scheduler, scheduler_interval)
        steps = rows.steps if rows is not None else len(loader) if hasattr(loader, "__len__") else None
        pace = self._seconds_per_step * steps if self._seconds_per_step is not None and steps else None
        watch = Watch(self, epochs, steps, progress, callbacks, metrics, pace)
        try:
            if rows is None or not self._fit_native(rows, epochs, watch, schedule):
                self._fit_steps(loader, epochs, watch, schedule)
        finally:
            history = watch.close()
        return history

    def _fit_steps(self, loader: Iterable, epochs: int, watch: Watch, schedule: _Schedule) -> None:
        """A loader symnet cannot run natively: a native call per batch."""
        warned = False
        for epoch in range(epochs):
            epoch_losses = []
            for batch, (x, y) in enumerate(loader):
                xa = x._array() if isinstance(x, Tensor) else np.asarray(x)
                if xa.dtype.kind == "f" and not np.isfinite(xa).all():
                    raise ValueError(f"fit: batch {batch} of epoch {epoch} holds NaN or infinite inputs")
                epoch_losses.append(self.step(x, y))
                watch.step_done()
                schedule.after_step()
            warned = warned or self._warn_if_diverging(epoch_losses, len(self.history) - len(epoch_losses), epoch,
                                                       len(epoch_losses), depth=2)
            schedule.after_epoch(epoch_losses)
            watch.epoch_done(epoch_losses)

    def _fit_batch(self, loader: tuple, epochs: int) -> History | None:
        """``fit``'s common case: one (x, y) batch and nothing to see between epochs (no callbacks, metrics,
        scheduler or bar), so all epochs are one native call without the epoch loop's machinery (a fifth of a
        short fit's time). None (nothing done) for an empty batch."""
        bound = self._bound.fit
        if bound is not None and len(loader) == 2 and epochs > 0:
            history = bound.fit(*loader, epochs)
            if history is not None:
                return history
        xa, ya = self._fit_arrays(*loader)
        if not len(xa):
            return None
        self._use_step(xa, ya, len(xa))
        history = History()
        self._native_epochs(epochs, 1, xa, ya, None, _Schedule(self, None, None), history.add_epochs, 0)
        self._bound.after_general_fit(self, *loader, xa, ya)
        return history

    def _fit_arrays(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """All of fit's inputs and targets as arrays; NaN or infinite inputs are an error naming the sample."""
        xa, ya = self._batch_array(x, "x"), self._batch_array(y, "y")
        if xa.dtype.kind == "f" and not np.isfinite(xa).all():
            bad = int(np.argwhere(~np.isfinite(xa.reshape(len(xa), -1)).all(axis=1))[0, 0])
            raise ValueError(f"fit: sample {bad} of the data holds NaN or infinite inputs")
        return xa, ya

    def _native_epochs(self, count: int, steps: int, xa: np.ndarray | None, ya: np.ndarray | None,
                       gather: tuple | None, schedule: _Schedule, report: Callable, epoch: int,
                       warned: bool = False) -> bool:
        """``count`` epochs of ``steps`` in one native call of the driver's repeat, on the data in place or on
        rows gathered by ``gather`` (sources, index and starts); ``report(losses, seconds, flat)`` gets them.
        On an index error the step, its counts, the schedule and the history are as after the last step that
        completed, and the error names it. The first NaN or infinite loss is warned of, unless ``warned`` already:
        returns whether one has been."""
        began = time.perf_counter()
        inputs = self._inputs(count * steps, xa, ya, in_place=True)
        series = schedule.series(count * steps, steps, self._slots.lrs)
        try:
            records = self._step.repeat(inputs, count * steps, *(gather or ()), series=series)
        except IndexRangeError as exc:
            raise self._stopped(exc, count * steps, steps, schedule) from exc
        seconds = (time.perf_counter() - began) / count
        self._seconds_per_step = seconds / steps
        losses = records[:, 0]
        flat = losses.tolist()
        warned = warned or self._warn_if_diverging(flat, len(self.history), epoch, steps)
        self.history.extend(losses)
        if schedule.per_epoch_call:  # one epoch per call
            schedule.after_epoch(flat)
        report(losses.reshape(count, steps), seconds, flat)
        return warned

    def _stopped(self, exc: IndexRangeError, total: int, steps: int, schedule: _Schedule | None) -> IndexRangeError:
        """A repeat of ``total`` steps (``steps`` an epoch) failed an index check: the parameters hold the state of
        the last completed step; the counts, the schedule and the history are set back to it, and the error to
        raise names the step."""
        self._count_steps(exc.completed - total)
        if schedule is not None:
            schedule.rewind(exc.completed, steps)
        self.history.extend(exc.records[:, 0])
        failed = len(self.history) + 1
        return IndexRangeError(f"fit: step {failed} (epoch {(failed - 1) // steps}, batch {(failed - 1) % steps}): "
                               f"{exc}; the model and optimizer hold the state after step {failed - 1}")

    def _fit_native(self, rows: _Rows, epochs: int, watch: Watch, schedule: _Schedule) -> bool:
        """Epochs as the driver's repeat: as many per call as the watch allows (all of them, unless callbacks,
        metrics, a plateau scheduler or a moving bar need to see epochs end); full batches in a fixed order read
        the data in place, anything else gathers rows by the schedule; the learning rates are series. False
        (nothing done) when a short last batch needs a step of its own size: the caller steps batch by batch."""
        xa, ya = self._fit_arrays(rows.x, rows.y)
        batch, samples, steps = min(rows.batch, len(xa)), len(xa), rows.steps
        if steps == 0:  # drop_last with fewer samples than a batch: PyTorch's loop does nothing
            return True
        sized = self._use_step(xa, ya, batch)
        used = min(steps * batch, samples)  # all the samples, or only the full batches (drop_last)
        if sized and used % batch:
            return False
        fixed = rows.order is None
        in_place = fixed and batch >= samples
        epoch, warned = 0, False
        while epoch < epochs:
            count = 1 if schedule.per_epoch_call else watch.chunk()
            gather = None
            if not in_place:  # a fixed order is one period of the schedule, reused by every epoch; shuffling draws one
                orders = [np.arange(used)] if fixed else [rows.order()[:used] for _ in range(count)]
                gather = ((xa, ya), *epochs_schedule(orders, batch))
            warned = self._native_epochs(count, steps, xa if in_place else None, ya if in_place else None, gather,
                                         schedule, watch.epochs_done, epoch, warned)
            epoch += count
        return True

    @staticmethod
    def _warn_if_diverging(losses: list[float], offset: int, epoch: int, steps_per_epoch: int,
                           depth: int = 3) -> bool:
        """Warn at the first of ``losses`` (from step ``offset + 1``, epoch ``epoch`` on) that is NaN or infinite,
        pointing at the user's ``fit`` call, ``depth`` frames above this one's caller; True if there was one."""
        # a Python sum is finite when every loss is (not conversely: finite losses may overflow it); unlike NumPy's,
        # it neither warns of an overflow nor costs a microsecond of dispatch on a short fit
        if math.isfinite(sum(losses)):
            return False
        k = next((k for k, loss in enumerate(losses) if not math.isfinite(loss)), None)
        if k is None:
            return False
        warnings.warn(f"fit: the loss became {losses[k]} at step {offset + k + 1} (epoch "
                      f"{epoch + k // max(steps_per_epoch, 1)}): training is diverging; lower the learning rate",
                      RuntimeWarning, stacklevel=depth + 2)
        return True

    # ---------------------------------------------------------------- inference
    def predict(self, x) -> Tensor:
        """The model's output on a batch, compiled once per mode (batch size symbolic): in eval mode with the
        running statistics and no dropout. It never updates buffers; in train mode each call draws new masks."""
        x = self._batch(x, "x")
        mode = self._mode()
        key = self._sized_key("predict", mode, _rows(x))
        if key not in self._predicts:
            if x.shape and x.shape[0] == 0:  # traced on one row: a batch of 0 would read as a fixed size
                row = np.zeros((1, *x.shape[1:]), x.dtype)
                traced = self._trace("predict", mode, Tensor(row, row.shape, x.dtype), None)
            else:
                traced = self._trace("predict", mode, x, None)
            key = self._sized_key("predict", mode, _rows(x))
            forward = Graph(traced.graph.inputs, traced.graph.defs, traced.graph.outputs[:1]).prune()
            position = {inp.name: k for k, inp in enumerate(forward.inputs)}
            handles = traced.handles
            tensors = [(p, position[handles[id(p)].name]) for _, p in self.named if handles.get(id(p))]
            tensors += [(b, position[i.name]) for b, i in traced.buffers if i.name in position]
            fixed = [(position[n], v) for n, v in traced.constants.items() if n in position]
            self._predicts[key] = (pipeline.compile_graph(forward), tensors, fixed,
                                   [position[k.name] for k, _ in traced.keys], position["X"], len(forward.inputs))
        executable, tensors, fixed, keys, at_x, count = self._predicts[key]
        values: list = [None] * count
        for t, k in tensors:
            values[k] = t._array()
        for k, value in fixed:
            values[k] = value
        for k in keys:
            values[k] = RandomKey()._array()
        values[at_x] = x._array()
        (out,) = executable.call(values)
        return Tensor(out, out.shape, out.dtype)

    def evaluate(self, loader: Iterable) -> float:
        """Mean loss over a loader (weighted by batch size), without updating anything."""
        total, count = 0.0, 0
        for x, y in loader:
            x, y = self._batch(x, "x"), self._batch(y, "y")
            n = x.shape[0] if x.shape else 1
            total += self._loss_of(x, y) * n
            count += n
        if not count:
            raise ShapeError("evaluate: the loader is empty")
        return total / count

    def _loss_of(self, x: Tensor, y: Tensor) -> float:
        """The loss on a batch without updating anything: the compiled prediction and the loss, or an objective
        (which reads the model itself) run eagerly."""
        if not isinstance(self.loss_fn, Objective):
            return float(self.loss_fn(self.predict(x), y).item())
        x = Tensor(x._array(), x.shape, x.dtype, requires_grad=x.dtype.kind == "f")
        return float(self.loss_fn(self.model, x, y).item())

    def accuracy(self, loader: Iterable) -> float:
        """The fraction of samples whose largest output is their label, over a loader of (x, labels) batches or
        one ``(x, labels)`` pair: the usual metric of a classifier (``fit(metrics={"acc": lambda s:
        s.accuracy(val)})``)."""
        right, count = 0, 0
        for x, y in [loader] if isinstance(loader, tuple) else loader:
            out = self.predict(x)._array()
            labels = y._array() if isinstance(y, Tensor) else np.asarray(y)
            if out.ndim != 2 or labels.shape != out.shape[:1]:
                raise ShapeError(f"accuracy: needs outputs (batch, classes) and labels (batch,), got {out.shape} "
                                 f"and {labels.shape}")
            right += int((out.argmax(1) == labels).sum())
            count += len(labels)
        if not count:
            raise ShapeError("accuracy: the loader is empty")
        return right / count

    def formulas(self) -> StepFormulas:
        """The forward definitions, every derived gradient, the clipping and the optimizer's update rule: text
        (a ``str``), with ``.latex()`` (rendered in a notebook) and ``.legend()`` (the notation)."""
        if self._formulas is None and self._step is not None:
            _ = self._step.graph  # a step found in the disk cache derives its graph (and formulas) on demand
        if self._formulas is None:
            raise RuntimeError("formulas(): call step() or fit() first, so the step is traced")
        clipping = f"{self.clipping.formula()}\n" if self.clipping.active else ""
        return StepFormulas(self._formulas, f"{clipping}{self.optimizer.formulas()}")


class _Schedule:
    """A learning-rate scheduler driven by ``fit``: stepped in Python on scalars, either as the loop runs or ahead
    of a native call, whose steps then read the recorded learning rates as series."""

    def __init__(self, step: CompiledStep, scheduler, interval: str | None):
        self.compiled, self.scheduler = step, scheduler
        if scheduler is not None and getattr(scheduler, "optimizer", None) is not step.optimizer:
            raise ValueError("fit: the scheduler does not belong to this step's optimizer")
        if interval is None:
            interval = "step" if isinstance(scheduler, (lr_scheduler.OneCycleLR, lr_scheduler.CyclicLR)) else "epoch"
        if interval not in ("epoch", "step"):
            raise ValueError(f"fit: scheduler_interval must be 'epoch' or 'step', got {interval!r}")
        self.interval = interval
        self.plateau = isinstance(scheduler, lr_scheduler.ReduceLROnPlateau)
        #: a plateau scheduler reads each epoch's losses: one native call per epoch
        self.per_epoch_call = self.plateau

    def after_step(self) -> None:
        if self.scheduler is not None and self.interval == "step":
            self._advance()

    def after_epoch(self, losses: list[float]) -> None:
        if self.scheduler is None or self.interval != "epoch":
            return
        if self.plateau:
            self.scheduler.step(sum(losses) / len(losses) if losses else math.nan)
        else:
            self._advance()

    def _advance(self) -> None:
        before = self.compiled._hyperparameters()
        self.scheduler.step()
        if self.compiled._hyperparameters() != before:
            raise ValueError(f"fit: {type(self.scheduler).__name__} changes more than the learning rate (momentum "
                             "or betas): the compiled step holds those fixed; pass cycle_momentum=False, or step "
                             "the scheduler yourself between calls of step()")

    def series(self, total: int, per_epoch: int, lrs: list[tuple[int, int]]) -> list[np.ndarray]:
        """Each learning-rate input's value at every step of the next ``total`` steps, stepping the scheduler as
        training would (a plateau scheduler only between calls); the scheduler's state before is kept so a
        failing call can rewind it."""
        groups = self.compiled.optimizer.param_groups
        self._saved = (self.scheduler.state_dict(), [g["lr"] for g in groups]) \
            if self.scheduler is not None and not self.plateau else None
        if self._saved is None:  # constant learning rates
            return [constant_series(total, groups[k]["lr"]) for k, _ in lrs]
        values = np.empty((total, len(lrs)), dtype=np.float64)
        for s in range(total):
            values[s] = [groups[k]["lr"] for k, _ in lrs]
            if self.interval == "step" or (s + 1) % per_epoch == 0:
                self._advance()
        return list(values.T)

    def rewind(self, completed: int, per_epoch: int) -> None:
        """After a native call failed: the scheduler as after ``completed`` steps."""
        if getattr(self, "_saved", None) is None:
            return
        state, lrs = self._saved
        self.scheduler.load_state_dict(state)
        for group, lr in zip(self.compiled.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        for s in range(completed):
            if self.interval == "step" or (s + 1) % per_epoch == 0:
                self._advance()


class _Rows(NamedTuple):
    """What the native loop reads: all the inputs and targets, the batch size, the steps of an epoch, and how an
    epoch orders the samples (None: in order, every epoch alike)."""

    x: object
    y: object
    batch: int
    steps: int
    order: Callable[[], np.ndarray] | None

    @staticmethod
    def of(loader) -> _Rows | None:
        """An (x, y) pair is one full batch; a list of (x, y) batches of one size (the last may be shorter) is
        their rows in order; a DataLoader whose batches are slices of a TensorDataset of (inputs, targets) is its
        tensors, gathered by the driver itself; any other loader None (a call per batch)."""
        if isinstance(loader, tuple):
            x, y = loader
            return _Rows(x, y, max(len(x), 1), 1 if len(x) else 0, None)
        if isinstance(loader, list) and loader and all(isinstance(b, tuple) and len(b) == 2 for b in loader):
            sizes = [len(x) for x, _ in loader]
            if not (0 < sizes[-1] <= sizes[0] and all(n == sizes[0] for n in sizes[:-1])):
                return None
            x, y = (np.concatenate([b._array() if isinstance(b, Tensor) else np.asarray(b) for b in part])
                    for part in zip(*loader, strict=True))
            return _Rows(x, y, sizes[0], len(loader), None)
        if isinstance(loader, DataLoader) and loader.fast_path() and len(loader.dataset.tensors) == 2:
            x, y = loader.dataset.tensors
            order = None if type(loader.sampler) is SequentialSampler else loader.order  # a subclass may reorder
            return _Rows(x, y, loader.batch_size, len(loader), order)
        return None


class _NoBar:
    """The compile bar where none is shown (a pipe, a log): tqdm is not imported for it."""

    def update(self, n: int = 1) -> None: ...

    def set_postfix_str(self, text: str) -> None: ...

    def close(self) -> None: ...


def _compile_progress():
    """Trace, derive, compile: a bar on a terminal (none in a pipe or a log) while the step is built."""
    if sys.stderr is None or not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=3, desc="compiling the step", unit="stage", leave=False, postfix="trace and derive")


def compile(model: Module | Callable | None = None, loss_fn: Callable | None = None,  # noqa: A001 - torch.compile
            optimizer: Optimizer | None = None, *, clip_grad_norm: float | None = None, norm_type: float = 2.0,
            clip_grad_value: float | None = None, fullgraph: bool = False, dynamic: bool | None = None,
            backend: str | Callable = "inductor", mode: str | None = None, options: dict | None = None,
            disable: bool = False):
    """Compile a model, a loss and an optimizer into one native training step; ``clip_grad_norm`` (with
    ``norm_type``) or ``clip_grad_value`` clip the gradients inside it, as ``nn.utils.clip_grad_norm_`` /
    ``clip_grad_value_`` between ``backward()`` and ``step()``.

    Without a loss and an optimizer it is ``torch.compile``: ``compile(model)``, ``compile(fn)``, ``@compile`` and
    ``@compile(mode=...)`` give back the model or function itself — symnet runs eager code as compiled native code
    already (each graph once per structure); PyTorch's options are accepted and change nothing.

    >>> step = sn.compile(model, sn.nn.MSELoss(), sn.optim.Adam(model.parameters(), lr=0.01))  # doctest: +SKIP
    >>> history = step.fit(loader, epochs=5)                                                      # doctest: +SKIP
    """
    if loss_fn is None and optimizer is None:
        if model is None:  # @compile(mode=...): the decorator
            return compile
        if not callable(model):
            raise TypeError(f"compile: expected a Module or a function, got {type(model).__name__}")
        return model
    if loss_fn is None or optimizer is None:
        raise TypeError("compile: a training step takes a loss function and an optimizer (compile(model, loss_fn, "
                        "optimizer)); a model or function alone is torch.compile's form")
    return CompiledStep(model, loss_fn, optimizer, Clipping(clip_grad_norm, float(norm_type), clip_grad_value))
