"""``symnet.compile``: a model, a loss and an optimizer as one native training step.

The step's program is traced once from the first batch, with the batch dimension symbolic (so the short last
batch runs the same code), differentiated, extended with the optimizer's symbolic update and compiled:
forward, backward and update of every parameter run in one native call per step.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable

import numpy as np

from ..core import autodiff, simplify
from ..core.dtypes import int64
from ..core.ir import BATCH, Graph, Input
from ..data import DataLoader, TensorDataset
from ..errors import ShapeError
from ..frontend.tensor import Tensor, _trace
from ..nn.module import Module
from ..optim.optimizer import Optimizer
from ..pipeline import Program, lower
from ..printing import Formulas


def _as_tensor(x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    return Tensor(arr, arr.shape, arr.dtype if arr.dtype.kind == "f" else int64)


class CompiledStep:
    """Forward, backward and the optimizer's update as one native function; ``fit`` drives the epochs."""

    def __init__(self, model: Module, loss_fn: Callable, optimizer: Optimizer):
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.named = list(model.named_parameters())
        owned = {id(p) for _, p in self.named}
        if any(id(q) not in owned for q in optimizer.params):
            raise ValueError("compile: the optimizer holds tensors that are not parameters of the model")
        self.history: list[float] = []
        self._step = None
        self._predict = None
        self._formulas: Formulas | None = None

    # ---------------------------------------------------------------- building
    def _trace(self, x: Tensor, y: Tensor | None):
        X = Tensor(x.numpy(), x.shape, x.dtype, name="X")
        Y = None if y is None else Tensor(y.numpy(), y.shape, y.dtype, name="Y")
        self.model.name_parameters()
        names = {id(p): p.name for _, p in self.named}
        out = self.model(X)
        root = out if Y is None else self.loss_fn(out, Y)
        specs, nodes = _trace([root])
        batch = {id(X), id(Y)}
        specs = tuple(s._replace(shape=(BATCH, *s.shape[1:])) if id(t) in batch and s.shape else s
                      for s, t in zip(specs, nodes, strict=True))
        prog = lower(specs, (len(specs) - 1,))
        keep = frozenset(names.values()) | {"X", "Y"}
        return prog, simplify.simplify(prog.graph, keep), keep

    def _build_step(self, x: Tensor, y: Tensor) -> None:
        prog, forward, keep = self._trace(x, y)
        root = forward.outputs[0]
        params = [p for _, p in self.named if p.requires_grad]
        grad, adjoint = autodiff.gradient(forward, root, [p._name for p in params])
        printed = simplify.simplify(Graph(grad.inputs, grad.defs, [root, *grad.outputs]), keep)
        self._formulas = Formulas(Program(printed, prog.names, adjoints=set(adjoint.values())), False, root, [])
        opt, inputs, defs, outputs = self.optimizer, list(grad.inputs), list(grad.defs), [root]
        lr_name, t_name = "lr", "t"
        dtype = params[0].dtype
        inputs += [Input(lr_name, (), dtype), Input(t_name, (), dtype)]
        self._writes = []
        for p, dp in zip(params, grad.outputs, strict=True):
            states = {s: f"{p._name}_{s}" for s in opt.states()}
            inputs += [Input(states[s], p.shape, p.dtype) for s in opt.states()]
            update, new = opt.update_defs(p._name, dp, p.shape, p.dtype, states, lr_name, t_name)
            defs += update
            outputs.append(new["p"])
            self._writes.append((p, new["p"], {s: new[sym.name] for s, (sym, _) in opt.states().items()
                                                if sym.name in new}))
            outputs += list(self._writes[-1][2].values())
        from codegen import LoopSpec, compile_graph

        feedback = []
        for p, new_p, new_states in self._writes:
            feedback.append((new_p, p._name))
            feedback += [(name, f"{p._name}_{s}") for s, name in new_states.items()]
        loop = LoopSpec(tuple(feedback), counter=t_name, record=root, gathered=(("X", "X_all"), ("Y", "Y_all")),
                        rows=BATCH)
        self._step = compile_graph(simplify.simplify(Graph(inputs, defs, outputs), keep), loop=loop)
        self._leaves = prog.names

    # ---------------------------------------------------------------- training
    def _arrays(self, advance: int) -> dict[str, np.ndarray]:
        """Parameters, optimizer state, lr and the step count t of the next step; counts ``advance`` steps."""
        opt, arrays = self.optimizer, {}
        for p, _, _ in self._writes:
            state = opt.param_state(p)
            state["step"] += advance
            # a fresh array: the native loop updates it in place, and tensors made earlier keep the old one
            p._value = np.array(p.numpy(), order="C", copy=True)
            arrays[p._name] = p._value
            arrays.update({f"{p._name}_{s}": state[s] for s in opt.states()})
        first = self._writes[0][0]
        arrays["lr"] = np.array(opt.lr, dtype=first.dtype)
        arrays["t"] = np.array(opt.param_state(first)["step"] - advance + 1, dtype=first.dtype)
        return arrays

    def step(self, x, y) -> float:
        """One native call: forward, backward and update on a batch; returns the loss."""
        x, y = _as_tensor(x), _as_tensor(y)
        if self._step is None:
            self._build_step(x, y)
        arrays = self._arrays(1)
        arrays.update({"X": x.numpy(), "Y": y.numpy()})
        result = self._step(arrays)
        for p, new_p, new_states in self._writes:
            p._value = result[new_p]
            state = self.optimizer.param_state(p)
            for s, name in new_states.items():
                state[s] = result[name]
        loss = float(result[self._step.graph.outputs[0]])
        self.history.append(loss)
        return loss

    def fit(self, loader: Iterable, epochs: int = 1, progress: bool | None = None,
            callbacks: Iterable[Callable] = ()) -> list[float]:
        """Train for ``epochs`` over a loader of (x, y) batches; returns the per-step losses of this call.

        Each callback is called as ``callback(step, epoch, losses_of_the_epoch)`` after every epoch. A loss
        that turns NaN or infinite is reported once with a warning naming the step; NaN or infinite inputs are
        an error naming the batch.
        """
        if isinstance(loader, tuple):
            loader = DataLoader(TensorDataset(_as_tensor(loader[0]), _as_tensor(loader[1])),
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
        """Epochs as native loops: one call for all epochs (one per epoch when callbacks run in between)."""
        x_all, y_all = loader.dataset.tensors
        xa, ya = x_all.numpy(), y_all.numpy()
        if xa.dtype.kind == "f" and not np.isfinite(xa).all():
            bad = int(np.argwhere(~np.isfinite(xa.reshape(len(xa), -1)).all(axis=1))[0, 0])
            raise ValueError(f"fit: sample {bad} of the data holds NaN or infinite inputs")
        if self._step is None:
            first = loader.dataset[np.arange(min(loader.batch_size, len(xa)))]
            self._build_step(*first)
        batch, samples = loader.batch_size, len(xa)
        steps = len(loader)
        # Without callbacks every epoch runs in one native call, each epoch with its own order.
        calls = [(epochs, None)] if not callbacks else [(1, e) for e in range(epochs)]
        bar = _progress(epochs * steps, progress) if len(calls) > 1 or progress else None
        losses: list[float] = []
        fixed = loader.sampler is None and not loader.shuffle
        for count, epoch in calls:
            # a fixed order is passed once and reused by every epoch; shuffling draws one per epoch
            orders = loader.order()[None] if fixed else np.stack([loader.order() for _ in range(count)])
            arrays = self._arrays(count * steps)
            result = self._step.run_loop(arrays, count * steps, {"X_all": xa, "Y_all": ya}, orders,
                                         min(batch, samples), epoch_steps=steps)
            epoch_losses = result.tolist()
            self._warn_if_diverging(epoch_losses, len(self.history), epoch)
            self.history += epoch_losses
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
        x = _as_tensor(x)
        if self._predict is None:
            _, forward, _ = self._trace(x, None)
            from codegen import compile_graph

            self._predict = compile_graph(forward)
        arrays = {"X": x.numpy(), **{p._name: p.numpy() for _, p in self.named}}
        needed = {t.name for t in self._predict.graph.inputs}
        out = self._predict({k: v for k, v in arrays.items() if k in needed})[self._predict.graph.outputs[0]]
        return Tensor(out, out.shape, out.dtype)

    def evaluate(self, loader: Iterable) -> float:
        """Mean loss over a loader (weighted by batch size), without updating anything."""
        total, count = 0.0, 0
        for x, y in loader:
            out = self.predict(x)
            n = out.shape[0] if out.shape else 1
            total += float(self.loss_fn(out, _as_tensor(y)).item()) * n
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
