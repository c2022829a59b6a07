"""Optimizers as symbolic update rules.

Each optimizer states its update as ordered assignments over element symbols — the parameter ``p``, its
gradient ``g``, its state (``m``, ``v``, …), the learning rate ``lr`` and the step count ``t`` — with PyTorch's
exact formulas (torch/optim/*.py, single-tensor path). The same rule prints as math, runs as one compiled
program per parameter in ``step()``, and is fused into the native training step by ``symnet.compile``.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable

import numpy as np
import sympy as sp

from ..core.ir import Def, Graph, Input, access, fresh_indices
from ..errors import GradError
from ..frontend.tensor import Tensor

p, g, lr, t = sp.symbols("p g lr t", real=True)


def element(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


class Optimizer(abc.ABC):
    """Base class: parameters, ``zero_grad``, ``step``, state, and the rule every subclass defines."""

    #: state name → (element symbol, initial value); the rule reads and assigns these
    state_spec: dict[str, tuple[sp.Symbol, float]] = {}

    def __init__(self, params: Iterable[Tensor], defaults: dict):
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        for q in params:
            if not isinstance(q, Tensor) or not q.requires_grad or q._node is not None:
                raise GradError("optimizer parameters must be leaf tensors that require grad")
        if defaults.get("lr", 0) < 0:
            raise ValueError(f"invalid learning rate {defaults['lr']}")
        self.param_groups = [{"params": params, **defaults}]
        self.defaults = defaults
        self.state: dict[int, dict[str, np.ndarray | int]] = {}
        self._programs: dict[tuple, object] = {}

    @property
    def params(self) -> list[Tensor]:
        return self.param_groups[0]["params"]

    @property
    def lr(self) -> float:
        return self.param_groups[0]["lr"]

    @property
    def hyper(self) -> dict:
        """The hyperparameters the rule uses (PyTorch keeps them in the parameter group)."""
        return self.param_groups[0]

    # ---------------------------------------------------------------- the rule
    @abc.abstractmethod
    def rule(self) -> list[tuple[sp.Symbol, sp.Expr]]:
        """Ordered assignments ``target ← expression``; later ones see earlier targets' new values."""

    def states(self) -> dict[str, tuple[sp.Symbol, float]]:
        return dict(self.state_spec)

    def formulas(self) -> str:
        """The update rule as a person reads it."""
        lines = [f"{type(self).__name__}: at step t, for every parameter p with gradient g"]
        for target, expr in self.rule():
            lines.append(f"  {target} ← {sp.sstr(expr, full_prec=False).replace('**', '^').replace('*', '·')}")
        return "\n".join(lines)

    # ---------------------------------------------------------------- graphs
    def update_defs(self, param: str, grad: str, shape: tuple, dtype: np.dtype, names: dict[str, str],
                    lr_name: str, t_name: str) -> tuple[list[Def], dict[str, str]]:
        """The rule as IR definitions over tensors: returns the defs and, for ``param`` and every state, the
        name of the definition holding its new value. ``names`` maps state names to their input tensors."""
        syms = fresh_indices(shape)
        domain = tuple(zip(syms, shape, strict=True))
        current = {p: access(param, syms), g: access(grad, syms), lr: access(lr_name, ()), t: access(t_name, ())}
        for state, (symbol, _) in self.states().items():
            current[symbol] = access(names[state], syms)
        defs, new = [], {}
        for k, (target, expr) in enumerate(self.rule()):
            name = f"{param}_{target.name}{k}"
            body = expr.xreplace(current)
            defs.append(Def(name, shape, dtype, domain, syms, body, label=f"{type(self).__name__} {target}"))
            current[target] = access(name, syms)
            new[target.name] = name
        return defs, new

    def _program(self, q: Tensor):
        key = (q.shape, q.dtype)
        if key not in self._programs:
            from codegen import compile_graph

            names = {s: f"S_{s}" for s in self.states()}
            inputs = [Input("P", q.shape, q.dtype), Input("G", q.shape, q.dtype), Input("lr", (), q.dtype),
                      Input("t", (), q.dtype)] + [Input(names[s], q.shape, q.dtype) for s in self.states()]
            defs, new = self.update_defs("P", "G", q.shape, q.dtype, names, "lr", "t")
            outputs = [new["p"]] + [new[symbol.name] for symbol, _ in self.states().values() if symbol.name in new]
            self._programs[key] = (compile_graph(Graph(inputs, defs, outputs)), new)
        return self._programs[key]

    # ---------------------------------------------------------------- PyTorch's API
    def param_state(self, q: Tensor) -> dict:
        if id(q) not in self.state:
            self.state[id(q)] = {"step": 0, **{s: np.full(q.shape, init, dtype=q.dtype)
                                               for s, (_, init) in self.states().items()}}
        return self.state[id(q)]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for q in self.params:
            if set_to_none:
                q.grad = None
            elif q.grad is not None:
                q.grad.zero_()

    def step(self) -> None:
        """One update of every parameter that has a gradient, each by its compiled rule."""
        for q in self.params:
            if q.grad is None:
                continue
            state = self.param_state(q)
            state["step"] += 1
            compiled, new = self._program(q)
            arrays = {"P": q.numpy(), "G": q.grad.numpy(), "lr": np.array(self.lr, dtype=q.dtype),
                      "t": np.array(state["step"], dtype=q.dtype)}
            arrays.update({f"S_{s}": state[s] for s in self.states()})
            result = compiled(arrays)
            q._value = result[new["p"]]
            for s, (symbol, _) in self.states().items():
                if symbol.name in new:
                    state[s] = result[new[symbol.name]]

    def state_dict(self) -> dict:
        """Hyperparameters and, per parameter index, its step and state arrays."""
        return {"param_groups": [{k: v for k, v in self.param_groups[0].items() if k != "params"}],
                "state": {k: {name: (np.array(v) if isinstance(v, np.ndarray) else v)
                              for name, v in self.state[id(q)].items()}
                          for k, q in enumerate(self.params) if id(q) in self.state}}

    def load_state_dict(self, state_dict: dict) -> None:
        for k, q in enumerate(self.params):
            saved = state_dict["state"].get(k)
            if saved is None:
                continue
            for name, value in saved.items():
                if name != "step" and np.shape(value) != q.shape:
                    raise ValueError(f"optimizer state {name} of parameter {k} has shape {np.shape(value)}, "
                                     f"the parameter {q.shape}")
        self.param_groups[0].update(state_dict["param_groups"][0])
        self._programs.clear()
        for k, q in enumerate(self.params):
            saved = state_dict["state"].get(k)
            if saved is not None:
                self.state[id(q)] = {name: (np.array(v, dtype=q.dtype) if name != "step" else int(v))
                                     for name, v in saved.items()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({args})"
