"""Optimizers as symbolic update rules.

Each optimizer states its update as ordered assignments over element symbols — the parameter ``p``, its
gradient ``g``, its state (``m``, ``v``, …), the learning rate ``lr`` and the step count ``t`` — with PyTorch's
exact formulas (torch/optim/*.py, single-tensor path). The same rule prints as math, runs as one compiled
program per parameter in ``step()``, and is fused into the native training step by ``symnet.compile``.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .. import backend
from ..core.cache import BoundedCache
from ..core.ir import Def, Graph, Input, access, fresh_indices
from ..errors import GradError
from ..frontend.tensor import Tensor
from ..pipeline import compile_graph

p, g, lr, t = sp.symbols("p g lr t", real=True)


@dataclass(frozen=True)
class Update:
    """An optimizer's rule applied to one parameter, as IR: the state inputs it reads, its definitions, and
    the definitions holding the new parameter and each new state (by state name)."""

    state_inputs: dict[str, Input]
    defs: list[Def]
    new_param: Def
    new_state: dict[str, Def]


def element(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def _hoist_scalars(expr: sp.Expr, current: dict, name: str, defs: list[Def]) -> sp.Expr:
    """Compute what depends only on ``lr`` and ``t`` (bias corrections, step sizes) in float64, once, as
    PyTorch does with its Python-float hyperparameters: the elementwise update reads each such scalar (a 0-d
    definition appended to ``defs``) rounded to the parameter's dtype. A scalar divisor stays a division
    (``x / √(1 − β₂ᵗ)``, not a product with a reciprocal), as PyTorch divides."""
    def scalar(e):
        return bool(e.free_symbols) and e.free_symbols <= {lr, t}

    def hoist(e):
        d = Def(f"{name}_s{len(defs) + 1}", (), np.dtype(np.float64), (), (), e.xreplace(current), label="step scalar")
        defs.append(d)
        return access(d.name, ())

    def visit(e):
        if e.is_Atom:
            return e
        if scalar(e):
            return hoist(e)
        if isinstance(e, (sp.Add, sp.Mul)):
            grouped = [a for a in e.args if scalar(a) or (a.is_Number and any(scalar(b) for b in e.args))]
            rest = [visit(a) for a in e.args if a not in grouped]
            if not grouped:
                return e.func(*rest)
            group = e.func(*grouped)
            if isinstance(e, sp.Mul) and isinstance(group, sp.Pow) and group.exp.is_negative:
                return e.func(*rest, hoist(sp.Pow(group.base, -group.exp)) ** -1)
            return e.func(*rest, hoist(group))
        return e.func(*(visit(a) for a in e.args))

    return visit(expr)


class Optimizer(abc.ABC):
    """Base class: parameters, ``zero_grad``, ``step``, state, and the rule every subclass defines."""

    #: state name → (element symbol, initial value); the rule reads and assigns these
    state_spec: dict[str, tuple[sp.Symbol, float]] = {}

    def __init__(self, params: Iterable[Tensor], defaults: dict):
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        for q in params:
            if not isinstance(q, Tensor) or not q.requires_grad or not q.is_leaf:
                raise GradError("optimizer parameters must be leaf tensors that require grad")
        if defaults.get("lr", 0) < 0:
            raise ValueError(f"invalid learning rate {defaults['lr']}")
        self.param_groups = [{"params": params, **defaults}]
        self.defaults = defaults
        self.state: dict[int, dict[str, np.ndarray | int]] = {}
        self._programs = BoundedCache(f"{type(self).__name__} update programs", limit=32)

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
    def update(self, param: Input, grad: str, lr_input: Input, t_input: Input) -> Update:
        """The rule as IR over tensors: ``param``'s update from its gradient (the tensor named ``grad``), the
        learning rate and the step count (0-d inputs), with one new input per state."""
        syms = fresh_indices(param.shape)
        domain = tuple(zip(syms, param.shape, strict=True))
        current = {p: access(param.name, syms), g: access(grad, syms), lr: access(lr_input.name, ()),
                   t: access(t_input.name, ())}
        state_inputs = {}
        for state, (symbol, _) in self.states().items():
            state_inputs[state] = Input(f"{param.name}_{state}", param.shape, param.dtype)
            current[symbol] = access(state_inputs[state].name, syms)
        defs, new = [], {}
        for k, (target, expr) in enumerate(self.rule()):
            name = f"{param.name}_{target.name}{k}"
            body = _hoist_scalars(expr, current, name, defs)
            d = Def(name, param.shape, param.dtype, domain, syms, body.xreplace(current),
                    label=f"{type(self).__name__} {target}")
            defs.append(d)
            current[target] = access(d.name, syms)
            new[target] = d
        new_state = {state: new[symbol] for state, (symbol, _) in self.states().items() if symbol in new}
        return Update(state_inputs, defs, new[p], new_state)

    def _program(self, q: Tensor) -> tuple[backend.Executable, Update]:
        """The rule compiled for one parameter shape: inputs P, G, lr, t and the states; outputs the new P and
        the new states."""
        def build():
            param, grad = Input("P", q.shape, q.dtype), Input("G", q.shape, q.dtype)
            lr_input, t_input = Input("lr", (), np.dtype(np.float64)), Input("t", (), np.dtype(np.float64))
            rule = self.update(param, grad.name, lr_input, t_input)
            graph = Graph([param, grad, lr_input, t_input, *rule.state_inputs.values()], rule.defs,
                          [rule.new_param.name, *(d.name for d in rule.new_state.values())])
            return compile_graph(graph), rule

        return self._programs.get_or_build((q.shape, q.dtype), build)

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
            compiled, rule = self._program(q)
            new_param, *new_states = compiled.call(
                [q.numpy(), q.grad.numpy(), np.array(self.lr, dtype=np.float64), np.array(state["step"], np.float64),
                 *(state[s] for s in rule.state_inputs)])
            q.set_(new_param)
            state.update(zip(rule.new_state, new_states, strict=True))

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
