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
from ..frontend.tensor import Tensor
from ..frontend.trace import trace
from ..nn.module import Module
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
    #: tensors the model made or holds that are neither parameters nor the batch: their values at the trace
    constants: list[tuple[int, np.ndarray]]


class CompiledStep:
    """Forward, backward and the optimizer's update as one native function; ``fit`` drives the epochs."""

    def __init__(self, model: Module, loss_fn: Callable, optimizer: Optimizer):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.named = list(model.named_parameters())
        owned = {id(p) for _, p in self.named}
        if any(id(q) not in owned for q in optimizer.params):
            raise ValueError("compile: the optimizer holds tensors that are not parameters of the model")
        self.history = LossHistory()
        self._step: backend.Executable | None = None
        self._slots: _Slots | None = None
        self._predict = None
        self._formulas: Formulas | None = None

    # ---------------------------------------------------------------- building
    def _trace(self, x: Tensor, y: Tensor | None) -> tuple[Graph, dict[int | str, Input], frozenset[str],
                                                           dict[str, np.ndarray]]:
        """The forward graph (model, then loss if ``y`` is given) with a symbolic batch dimension, the input of
        each traced leaf (by the tensor's id; the batch's also as ``"X"`` and ``"Y"``), and the values of the
        other leaves, constants of the step (by input name)."""
        X = Tensor(x.numpy(), x.shape, x.dtype, name="X")
        Y = None if y is None else Tensor(y.numpy(), y.shape, y.dtype, name="Y")
        self.model.name_parameters()
        out = self.model(X)
        traced = trace([out if Y is None else self.loss_fn(out, Y)])
        batch = {id(X), id(Y)}
        specs = tuple(s._replace(shape=(BATCH, *s.shape[1:])) if id(t) in batch and s.shape else s
                      for s, t in zip(traced.specs, traced.tensors, strict=True))
        prog = pipeline.lower(specs, (len(specs) - 1,))
        keep = frozenset(p.name for _, p in self.named) | {"X", "Y"}
        by_name = {t.name: t for t in prog.graph.inputs}
        handles = {id(traced.tensors[p]): by_name[prog.names[p]] for p in traced.leaves}
        handles["X"], handles["Y"] = handles.get(id(X)), handles.get(id(Y))
        params = {id(p) for _, p in self.named}
        constants = {handles[id(t)].name: value for t, value in zip((traced.tensors[p] for p in traced.leaves),
                                                                     traced.leaf_values(), strict=True)
                     if id(t) not in params and id(t) not in batch}
        return pipeline.simplify(prog.graph, keep), handles, keep, constants

    def _build_step(self, x: Tensor, y: Tensor) -> None:
        """lower → simplify → differentiate → extend by the optimizer's update → simplify → compile with the
        driver's repeat (parameters and states fed back, the step count as a counter, minibatches gathered)."""
        stages = _compile_progress()
        forward, handles, keep, constants = self._trace(x, y)
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
        repeat = Repeat(tuple(feedback), counters=(t,), record=(final[root],), gathers=(handles["X"], handles["Y"]),
                        rows=BATCH)
        self._step = pipeline.compile_graph(graph, repeat)
        stages.update(1)
        stages.close()
        position = {inp.name: k for k, inp in enumerate(graph.inputs)}
        self._slots = _Slots([(p, position[handles[id(p)].name],
                               {s: position[i.name] for s, i in u.state_inputs.items()}, tuple(u.new_state))
                              for p, u in zip(params, updates, strict=True)],
                             position[lr.name], position[t.name], position["X"], position["Y"], len(graph.inputs),
                             [(position[n], v) for n, v in constants.items() if n in position])

    # ---------------------------------------------------------------- training
    def _inputs(self, advance: int, x: np.ndarray, y: np.ndarray, in_place: bool = False) -> list[np.ndarray]:
        """The step's inputs: parameters, optimizer state, lr, the step count t of the next step, and the
        batch; counts ``advance`` steps in the optimizer's state. ``in_place``: the driver will update the
        parameter arrays in place, so each parameter first gets a fresh one (tensors made earlier keep theirs)."""
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
        values[slots.t] = np.array(opt.param_state(first)["step"] - advance + 1, dtype=float64)
        values[slots.x], values[slots.y] = x, y
        for k, value in slots.constants:
            values[k] = value
        return values

    def step(self, x, y) -> float:
        """One native call: forward, backward and update on a batch; returns the loss. NumPy inputs are
        converted to the model's dtype; NaN or infinite inputs are an error. On any error nothing changes."""
        x, y = self._batch(x, "x"), self._batch(y, "y")
        xa = x.numpy()
        if xa.dtype.kind == "f" and not np.isfinite(xa).all():
            raise ValueError("step: the batch holds NaN or infinite inputs")
        if self._step is None:
            self._build_step(x, y)
        try:
            loss, *updated = self._step.call(self._inputs(1, xa, y.numpy()))
        except Exception:
            self._count_steps(-1)
            raise
        new = iter(updated)
        for p, _, _, written in self._slots.params:
            p.set_(next(new))
            self.optimizer.param_state(p).update((s, next(new)) for s in written)
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
        if self._step is None:
            first = loader.dataset[np.arange(min(loader.batch_size, len(xa)))]
            self._build_step(*first)
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
        """The model's output on a batch, compiled once (batch size symbolic)."""
        x = self._batch(x, "x")
        if self._predict is None:
            forward, handles, _, constants = self._trace(x, None)
            position = {inp.name: k for k, inp in enumerate(forward.inputs)}
            slots = [(p, position[handles[id(p)].name]) for _, p in self.named if handles.get(id(p))]
            fixed = [(position[n], v) for n, v in constants.items() if n in position]
            self._predict = (pipeline.compile_graph(forward), slots, fixed, position["X"], len(forward.inputs))
        executable, slots, fixed, at_x, count = self._predict
        values: list = [None] * count
        for p, k in slots:
            values[k] = p.numpy()
        for k, value in fixed:
            values[k] = value
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
