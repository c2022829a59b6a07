"""``symnet.compile``: a model, a loss and an optimizer as one native training step.

The step's program is traced once from the first batch, with the batch dimension symbolic (so the short last
batch runs the same code), differentiated, extended with the optimizer's symbolic update and compiled through
the pipeline: forward, backward and update of every parameter run in one native call per step, and epochs run
as the driver's repeat (parameters and optimizer state bound by their inputs' handles, never by name).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .. import backend, pipeline
from ..core.dtypes import float64, int64
from ..core.ir import BATCH, Graph, Input, Repeat
from ..data import DataLoader, TensorDataset
from ..errors import DTypeError, IndexRangeError, ShapeError
from ..frontend.indexing import fixed_shapes
from ..frontend.tensor import Tensor
from ..frontend.trace import trace
from ..nn.dropout import RandomKey
from ..nn.module import Module, buffer_updates
from ..optim.optimizer import Optimizer
from ..pipeline import Program
from ..printing import Formulas
from .history import LossHistory
from .schedule import epochs_schedule


@dataclass(frozen=True)
class _Slots:
    """Where each array goes among the compiled step's inputs (positions found once, from typed handles)."""

    #: parameter, its input, its state inputs by state name, the states its update writes (in output order)
    params: list[tuple[Tensor, int, dict[str, int], tuple[str, ...]]]
    lr: int
    t: int
    x: int
    y: int
    count: int
    #: tensors the model made or holds that are neither parameters, buffers, keys nor the batch: their values at
    #: the trace
    constants: list[tuple[int, np.ndarray]]
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


class CompiledStep:
    """Forward, backward and the optimizer's update as one native function; ``fit`` drives the epochs."""

    def __init__(self, model: Module, loss_fn: Callable, optimizer: Optimizer):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.named = list(model.named_parameters())
        owned = {id(p) for _, p in self.named}
        if any(id(q) not in owned for q in optimizer.params):
            raise ValueError("compile: the optimizer holds tensors that are not parameters of the model")
        self.history = LossHistory()
        #: the step and the prediction program compiled for each mode (the training flag of every module)
        self._steps: dict[tuple[bool, ...], tuple[backend.Executable, _Slots]] = {}
        self._predicts: dict[tuple[bool, ...], tuple] = {}
        self._step: backend.Executable | None = None
        self._slots: _Slots | None = None
        self._formulas: Formulas | None = None

    # ---------------------------------------------------------------- building
    def _mode(self) -> tuple[bool, ...]:
        return tuple(m.training for m in self.model.modules())

    def _trace(self, x: Tensor, y: Tensor | None) -> _Traced:
        """The forward graph (model, then loss if ``y`` is given) with a symbolic batch dimension; the buffer
        updates the model's forward makes become outputs, its leaves constants, buffers or random keys."""
        X = Tensor(x.numpy(), x.shape, x.dtype, name="X")
        Y = None if y is None else Tensor(y.numpy(), y.shape, y.dtype, name="Y")
        self.model.name_parameters()
        with buffer_updates() as updates, fixed_shapes(X, *([Y] if Y is not None else [])):
            out = self.model(X)
            loss = out if Y is None else self.loss_fn(out, Y)
        updates = list({id(b): (b, new) for b, new in updates}.values())  # a buffer updated twice: the last
        roots = [loss, *(new for _, new in updates)]
        traced = trace(roots)
        batch = {id(X), id(Y)}
        specs = tuple(s._replace(shape=(BATCH, *s.shape[1:])) if id(t) in batch and s.shape else s
                      for s, t in zip(traced.specs, traced.tensors, strict=True))
        prog = pipeline.lower(specs, tuple(traced.position(r) for r in roots))
        keep = frozenset(p.name for _, p in self.named) | {"X", "Y"}
        by_name = {t.name: t for t in prog.graph.inputs}
        leaves = [traced.tensors[p] for p in traced.leaves]
        handles = {id(traced.tensors[p]): by_name[prog.names[p]] for p in traced.leaves}
        handles["X"], handles["Y"] = handles.get(id(X)), handles.get(id(Y))
        buffers = {id(b): b for b in self.model.buffers()}
        bound = {id(p) for _, p in self.named} | batch | set(buffers)
        constants = {handles[id(t)].name: value for t, value in zip(leaves, traced.leaf_values(), strict=True)
                     if id(t) not in bound and not isinstance(t, RandomKey)}
        graph = pipeline.simplify(prog.graph, keep)
        return _Traced(graph, handles, keep, constants,
                       [(buffers[id(t)], handles[id(t)]) for t in leaves if id(t) in buffers],
                       [(b, name) for (b, _), name in zip(updates, graph.outputs[1:], strict=True)],
                       [(handles[id(t)], float(t.numpy())) for t in leaves if isinstance(t, RandomKey)])

    def _build_step(self, x: Tensor, y: Tensor) -> None:
        """lower → simplify → differentiate → extend by the optimizer's update → simplify → compile with the
        driver's repeat (parameters and states fed back, the step count as a counter, minibatches gathered)."""
        stages = _compile_progress()
        traced = self._trace(x, y)
        forward, handles, keep = traced.graph, traced.handles, traced.keep
        stages.update(1)
        root = forward.outputs[0]
        params = [p for _, p in self.named if p.requires_grad]
        grad, adjoint = pipeline.differentiate(forward, root, [handles[id(p)].name for p in params])
        printed = pipeline.simplify(Graph(grad.inputs, grad.defs, [root, *grad.outputs]), keep)
        self._formulas = Formulas(Program(printed, [], adjoints=set(adjoint.values())), False, root, [])
        lr, t = Input("lr", (), float64), Input("t", (), float64)  # Python floats in PyTorch: double
        updates = [self.optimizer.update(handles[id(p)], dp, lr, t) for p, dp in zip(params, grad.outputs,
                                                                                     strict=True)]
        outputs = [root]
        for u in updates:
            outputs += [u.new_param.name, *(d.name for d in u.new_state.values())]
        outputs += [name for _, name in traced.updates]
        extended = pipeline.extend(grad, [lr, t, *(i for u in updates for i in u.state_inputs.values())],
                                   [d for u in updates for d in u.defs], outputs)
        graph = pipeline.simplify(extended, keep)
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
                        gathers=(handles["X"], handles["Y"]), rows=BATCH)
        executable = pipeline.compile_graph(graph, repeat)
        stages.update(1)
        stages.close()
        position = {inp.name: k for k, inp in enumerate(graph.inputs)}
        slots = _Slots([(p, position[handles[id(p)].name],
                         {s: position[i.name] for s, i in u.state_inputs.items()}, tuple(u.new_state))
                        for p, u in zip(params, updates, strict=True)],
                       position[lr.name], position[t.name], position["X"], position["Y"], len(graph.inputs),
                       [(position[n], v) for n, v in traced.constants.items() if n in position],
                       [(b, position[i.name]) for b, i in traced.buffers], [b for b, _ in traced.updates],
                       [(position[k.name], v) for k, v in traced.keys])
        self._steps[self._mode()] = executable, slots

    def _use_step(self, x: Tensor, y: Tensor) -> None:
        """The step compiled for the model's current mode (train or eval: built on first use)."""
        mode = self._mode()
        if mode not in self._steps:
            self._build_step(x, y)
        self._step, self._slots = self._steps[mode]

    # ---------------------------------------------------------------- training
    def _inputs(self, advance: int, x: np.ndarray, y: np.ndarray, in_place: bool = False) -> list[np.ndarray]:
        """The step's inputs: parameters, optimizer state, lr, the step count t of the next step, and the
        batch; counts ``advance`` steps in the optimizer's state. ``in_place``: the driver will update the
        parameter and buffer arrays in place, so each first gets a fresh one (tensors made earlier keep theirs).
        A random key is its value at the trace plus the count of steps done, so every step draws new masks."""
        slots, opt = self._slots, self.optimizer
        values: list = [None] * slots.count
        for p, at, states, _ in slots.params:
            state = opt.param_state(p)
            state["step"] += advance
            if in_place:
                p.set_(np.array(p.numpy(), order="C", copy=True))
            values[at] = p.numpy()
            for s, k in states.items():
                values[k] = state[s]
        first = slots.params[0][0]
        values[slots.lr] = np.array(opt.lr, dtype=float64)
        done = opt.param_state(first)["step"] - advance
        values[slots.t] = np.array(done + 1, dtype=float64)
        values[slots.x], values[slots.y] = x, y
        for k, value in slots.constants:
            values[k] = value
        for b, k in slots.buffers:
            if in_place:
                b.set_(np.array(b.numpy(), order="C", copy=True))
            values[k] = b.numpy()
        for k, base in slots.keys:
            values[k] = np.array(base + done, dtype=float64)
        return values

    def step(self, x, y) -> float:
        """One native call: forward, backward and update on a batch; returns the loss. NumPy inputs are
        converted to the model's dtype; NaN or infinite inputs are an error. On any error nothing changes."""
        x, y = self._batch(x, "x"), self._batch(y, "y")
        xa = x.numpy()
        if xa.dtype.kind == "f" and not np.isfinite(xa).all():
            raise ValueError("step: the batch holds NaN or infinite inputs")
        self._use_step(x, y)
        try:
            loss, *updated = self._step.call(self._inputs(1, xa, y.numpy()))
        except Exception:
            self._count_steps(-1)
            raise
        new = iter(updated)
        for p, _, _, written in self._slots.params:
            p.set_(next(new))
            self.optimizer.param_state(p).update((s, next(new)) for s in written)
        for b in self._slots.written:
            b.set_(next(new))
        self.history.append(float(loss))
        return float(loss)

    def _count_steps(self, change: int) -> None:
        for p, *_ in self._slots.params:
            self.optimizer.param_state(p)["step"] += change

    def _batch(self, data, what: str) -> Tensor:
        """A batch as a tensor: NumPy floats in the model's dtype (NumPy's float64 default is the usual trap);
        a float Tensor of another dtype is an error, as PyTorch's Linear refuses it."""
        dtype = next((p.dtype for _, p in self.named), None)
        if isinstance(data, Tensor):
            if data.dtype.kind == "f" and dtype is not None and data.dtype != dtype and what == "x":
                raise DTypeError(f"the model's parameters are {dtype} but the inputs are {data.dtype}; convert "
                                 f"them with .to({dtype.name}) or the model with .to({data.dtype.name})")
            return data
        arr = np.asarray(data)
        if arr.dtype.kind == "f" and dtype is not None:
            arr = arr.astype(dtype, copy=False)
        return Tensor(arr, arr.shape, arr.dtype if arr.dtype.kind == "f" else int64)

    def fit(self, loader: Iterable, epochs: int = 1, progress: bool | None = None,
            callbacks: Iterable[Callable] = ()) -> list[float]:
        """Train for ``epochs`` over a loader of (x, y) batches; returns the per-step losses of this call.

        Each callback is called as ``callback(step, epoch, losses_of_the_epoch)`` after every epoch. A loss
        that turns NaN or infinite is reported once with a warning naming the step; NaN or infinite inputs are
        an error naming the batch.
        """
        if isinstance(loader, tuple):
            loader = DataLoader(TensorDataset(self._batch(loader[0], "x"), self._batch(loader[1], "y")),
                                batch_size=len(loader[0]))
        if _native_loop_applies(loader):
            return self._fit_native(loader, epochs, progress, callbacks)
        losses: list[float] = []
        total = epochs * (len(loader) if hasattr(loader, "__len__") else 0)
        bar = _progress(total, progress)
        warned = False
        for epoch in range(epochs):
            epoch_losses = []
            for batch, (x, y) in enumerate(loader):
                xa = x.numpy() if isinstance(x, Tensor) else np.asarray(x)
                if xa.dtype.kind == "f" and not np.isfinite(xa).all():
                    raise ValueError(f"fit: batch {batch} of epoch {epoch} holds NaN or infinite inputs")
                loss = self.step(x, y)
                epoch_losses.append(loss)
                if not math.isfinite(loss) and not warned:
                    warned = True
                    warnings.warn(f"fit: the loss became {loss} at step {len(self.history)} (epoch {epoch}, "
                                  f"batch {batch}): training is diverging; lower the learning rate",
                                  RuntimeWarning, stacklevel=2)
                if bar is not None:
                    bar.update(1)
            losses += epoch_losses
            for callback in callbacks:
                callback(self, epoch, epoch_losses)
        if bar is not None:
            bar.close()
        return losses

    def _fit_native(self, loader: DataLoader, epochs: int, progress, callbacks) -> list[float]:
        """Epochs as the driver's repeat: one call for all epochs (one per epoch when callbacks run in between);
        full batches in a fixed order read the data in place, anything else gathers rows by the schedule."""
        x_all, y_all = (self._batch(t, what) for t, what in zip(loader.dataset.tensors, "xy", strict=True))
        xa, ya = x_all.numpy(), y_all.numpy()
        if xa.dtype.kind == "f" and not np.isfinite(xa).all():
            bad = int(np.argwhere(~np.isfinite(xa.reshape(len(xa), -1)).all(axis=1))[0, 0])
            raise ValueError(f"fit: sample {bad} of the data holds NaN or infinite inputs")
        self._use_step(*loader.dataset[np.arange(min(loader.batch_size, len(xa)))])
        batch, samples, steps = min(loader.batch_size, len(xa)), len(xa), len(loader)
        calls = [(epochs, None)] if not callbacks else [(1, e) for e in range(epochs)]
        bar = _progress(epochs * steps, progress) if len(calls) > 1 or progress else None
        fixed = loader.sampler is None and not loader.shuffle
        losses: list[float] = []
        for count, epoch in calls:
            # a fixed order is one period of the schedule, reused by every epoch; shuffling draws one per epoch
            orders = [loader.order()] if fixed else [loader.order() for _ in range(count)]
            in_place = fixed and batch >= samples
            inputs = self._inputs(count * steps, xa if in_place else None, ya if in_place else None, in_place=True)
            try:
                if in_place:
                    records = self._step.repeat(inputs, count * steps)
                else:
                    index, starts = epochs_schedule(orders, batch)
                    records = self._step.repeat(inputs, count * steps, (xa, ya), index, starts)
            except IndexRangeError as exc:  # the state of the last completed step: parameters, counts, history
                self._count_steps(exc.completed - count * steps)
                self.history.extend(exc.records[:, 0])
                failed = len(self.history) + 1
                raise IndexRangeError(f"fit: step {failed} (epoch {(failed - 1) // steps}, batch "
                                      f"{(failed - 1) % steps}): {exc}; the model and optimizer hold the state "
                                      f"after step {failed - 1}") from exc
            epoch_losses = records[:, 0].tolist()
            self._warn_if_diverging(epoch_losses, len(self.history), epoch)
            self.history.extend(epoch_losses)
            losses += epoch_losses
            if bar is not None:
                bar.update(count * steps)
            for callback in callbacks:
                callback(self, epoch, epoch_losses)
        if bar is not None:
            bar.close()
        return losses

    @staticmethod
    def _warn_if_diverging(losses: list[float], offset: int, epoch) -> None:
        for k, loss in enumerate(losses):
            if not math.isfinite(loss):
                where = f"step {offset + k + 1}" + (f" (epoch {epoch})" if epoch is not None else "")
                warnings.warn(f"fit: the loss became {loss} at {where}: training is diverging; lower the "
                              "learning rate", RuntimeWarning, stacklevel=3)
                return

    # ---------------------------------------------------------------- inference
    def predict(self, x) -> Tensor:
        """The model's output on a batch, compiled once per mode (batch size symbolic): in eval mode with the
        running statistics and no dropout. It never updates buffers; in train mode each call draws new masks."""
        x = self._batch(x, "x")
        mode = self._mode()
        if mode not in self._predicts:
            traced = self._trace(x, None)
            forward = Graph(traced.graph.inputs, traced.graph.defs, traced.graph.outputs[:1]).prune()
            position = {inp.name: k for k, inp in enumerate(forward.inputs)}
            handles = traced.handles
            tensors = [(p, position[handles[id(p)].name]) for _, p in self.named if handles.get(id(p))]
            tensors += [(b, position[i.name]) for b, i in traced.buffers]
            fixed = [(position[n], v) for n, v in traced.constants.items() if n in position]
            self._predicts[mode] = (pipeline.compile_graph(forward), tensors, fixed,
                                    [position[k.name] for k, _ in traced.keys], position["X"], len(forward.inputs))
        executable, tensors, fixed, keys, at_x, count = self._predicts[mode]
        values: list = [None] * count
        for t, k in tensors:
            values[k] = t.numpy()
        for k, value in fixed:
            values[k] = value
        for k in keys:
            values[k] = RandomKey().numpy()
        values[at_x] = x.numpy()
        (out,) = executable.call(values)
        return Tensor(out, out.shape, out.dtype)

    def evaluate(self, loader: Iterable) -> float:
        """Mean loss over a loader (weighted by batch size), without updating anything."""
        total, count = 0.0, 0
        for x, y in loader:
            out = self.predict(x)
            n = out.shape[0] if out.shape else 1
            total += float(self.loss_fn(out, self._batch(y, "y")).item()) * n
            count += n
        if not count:
            raise ShapeError("evaluate: the loader is empty")
        return total / count

    def formulas(self) -> str:
        """The forward definitions, every derived gradient, and the optimizer's update rule."""
        if self._formulas is None:
            raise RuntimeError("formulas(): call step() or fit() first, so the step is traced")
        return f"{self._formulas}\n{self.optimizer.formulas()}"


def _native_loop_applies(loader) -> bool:
    """A DataLoader over a TensorDataset of (inputs, targets) can run its epochs in native loops."""
    return isinstance(loader, DataLoader) and isinstance(loader.dataset, TensorDataset) and \
        len(loader.dataset.tensors) == 2 and not loader.drop_last


def _compile_progress():
    """Trace, derive, compile: a bar on a terminal (none in a pipe or a log) while the step is built."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        from types import SimpleNamespace

        return SimpleNamespace(update=lambda n: None, set_postfix_str=lambda s: None, close=lambda: None)
    return tqdm(total=3, desc="compiling the step", unit="stage", leave=False, disable=None,
                postfix="trace and derive")


def _progress(total: int, progress: bool | None):
    if progress is False or (progress is None and total < 2000):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="step", leave=False)


def compile(model: Module, loss_fn: Callable, optimizer: Optimizer) -> CompiledStep:  # noqa: A001 - torch.compile
    """Compile a model, a loss and an optimizer into one native training step.

    >>> step = sn.compile(model, sn.nn.MSELoss(), sn.optim.Adam(model.parameters(), lr=0.01))  # doctest: +SKIP
    >>> history = step.fit(loader, epochs=5)                                                      # doctest: +SKIP
    """
    return CompiledStep(model, loss_fn, optimizer)
