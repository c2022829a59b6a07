"""Optimizers as symbolic update rules.

Each optimizer states its update as ordered assignments over element symbols — the parameter ``p``, its
gradient ``g``, its state (``m``, ``v``, …), the learning rate ``lr`` and the step count ``t`` — with PyTorch's
exact formulas (torch/optim/*.py, single-tensor path). The same rule prints as math, runs in ``step()`` as one
compiled program for all the parameters (one native call per step), and is fused into the native training
step by ``symnet.compile``.

Parameters live in groups as in PyTorch: each group is a dict holding its tensors under ``"params"`` and its
hyperparameters (the constructor's defaults filled in); a group's rule bakes its hyperparameters in as
constants, except ``lr`` and ``t``, which are inputs, so a schedule never recompiles.
"""

from __future__ import annotations

import abc
import ctypes
import operator
import warnings
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass

import numpy as np

from .. import backend, stored
from ..core import durable
from ..core.cache import BoundedCache
from ..core.dtypes import get_default_dtype
from ..core.ir import Def, Graph, Input, access, fresh_indices
from ..core.lazy import sympy as sp
from ..errors import NotSupportedError
from ..frontend.autograd import enable_grad
from ..frontend.tensor import Tensor
from ..pipeline import compile_graph, compiled_from_cache

#: what an optimizer takes as ``params``: tensors (or (name, tensor) pairs), or dicts of parameter groups
ParamsT = Iterable[Tensor] | Iterable[tuple[str, Tensor]] | Iterable[dict]

#: PyTorch's devices for capturable=True; symnet computes on the CPU only
_CAPTURABLE_DEVICES = "['cuda', 'xpu', 'hpu', 'privateuseone', 'xla']"


@dataclass(frozen=True)
class State:
    """One entry of a parameter's state: the name of the element the rule reads and assigns (``elements``) and
    its initial value. A
    ``scalar`` entry is 0-d in PyTorch's scalar dtype (float32 unless the default dtype is float64), like
    NAdam's ``mu_product``: its own update runs in that dtype, while the parameter's update reads it as the
    Python float PyTorch takes with ``.item()``."""

    element: str
    init: float = 0.0
    scalar: bool = False


def _initial(spec: State, q: Tensor) -> np.ndarray:
    """A state's initial array for parameter ``q``."""
    return np.array(spec.init, scalar_dtype()) if spec.scalar else np.full(q.shape, spec.init, q.dtype)


@dataclass(frozen=True)
class Update:
    """An optimizer's rule applied to one parameter, as IR: the state inputs it reads, its definitions, and
    the definitions holding the new parameter and each new state (by state name)."""

    state_inputs: dict[str, Input]
    defs: list[Def]
    new_param: Def
    new_state: dict[str, Def]


@dataclass(frozen=True)
class _StepProgram:
    """The update of a set of parameters as one executable, with, per parameter, the states it reads (in input
    order) and those it writes (in output order), and the groups whose learning rates are its inputs."""

    executable: backend.Executable
    states: list[tuple[tuple[str, ...], tuple[str, ...]]]
    groups: list[int]
    #: the 0-d inputs after the parameters' (a learning rate per group, then the step counts), reused by every
    #: call (the runtime knows their addresses): views of ``cells``, which a step writes (a ctypes store is a
    #: tenth of a NumPy 0-d assignment's cost)
    scalars: list[np.ndarray]
    cells: ctypes.Array


def _scalar_inputs(n: int) -> tuple[list[np.ndarray], ctypes.Array]:
    """``n`` float64 0-d arrays over one block of doubles, and the block."""
    cells = (ctypes.c_double * n)()
    values = np.frombuffer(cells, dtype=np.float64)
    return [values[k:k + 1].reshape(()) for k in range(n)], cells


def _stored_states(payload: dict, n: int) -> list[tuple[tuple[str, ...], tuple[str, ...]]] | None:
    """The state names per parameter an update program's entry lists (reads, then writes), or None when they
    are not ``n`` pairs of lists of names."""
    states = payload.get("states")
    if not (isinstance(states, list) and len(states) == n and all(
            isinstance(pair, list) and len(pair) == 2 and all(
                isinstance(names, list) and all(type(x) is str for x in names) for names in pair)
            for pair in states)):
        return None
    return [(tuple(reads), tuple(writes)) for reads, writes in states]


def element(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def elements(names: str) -> tuple[sp.Symbol, ...]:
    """The element symbols a rule reads and assigns, by their space-separated names (made when a rule is stated:
    SymPy loads only when something is derived)."""
    return tuple(map(element, names.split()))


_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)


def scalar_dtype() -> np.dtype:
    """PyTorch's dtype of 0-d optimizer state (``_get_scalar_dtype``): float64 only under a float64 default."""
    return _FLOAT64 if get_default_dtype() == _FLOAT64 else _FLOAT32


def _hoist_scalars(expr: sp.Expr, current: dict, name: str, defs: list[Def], scalars: set[sp.Symbol]) -> sp.Expr:
    """Compute what depends only on the step scalars (``lr``, ``t``, 0-d state) in float64, once, as PyTorch
    does with its Python floats: the elementwise update reads each such scalar (a 0-d definition appended to
    ``defs``) rounded to the parameter's dtype. A scalar divisor stays a division (``x / √(1 − β₂ᵗ)``, not a
    product with a reciprocal), as PyTorch divides."""
    def scalar(e):
        return bool(e.free_symbols) and e.free_symbols <= scalars

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
    """Base class: parameter groups, ``zero_grad``, ``step``, ``state_dict``, and the rule each subclass defines.

    >>> w = sn.tensor([1.0, 2.0], requires_grad=True)  # doctest: +SKIP
    >>> opt = sn.optim.SGD([{"params": [w], "lr": 0.5}], lr=0.1, momentum=0.9)  # doctest: +SKIP
    """

    def __init__(self, params: ParamsT, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__}")
        self.defaults = defaults
        #: each parameter's state by the parameter's id (``state`` shows it keyed by the tensors, as PyTorch's)
        self._states: dict[int, dict[str, np.ndarray | int]] = {}
        self.param_groups: list[dict] = []
        self._programs = BoundedCache(f"{type(self).__name__} step programs", limit=32)
        self._last_program: tuple[tuple, _StepProgram] | None = None  # the last step's, found without the lock
        self._options = sorted(set(defaults) - {"lr"})
        #: a group's values of ``_options`` as a tuple in one call, for two or more (the defaults fill every group)
        self._option_values = operator.itemgetter(*self._options) if len(self._options) > 1 else None
        self._rule_keys: dict[int, tuple[tuple, tuple[str, ...]]] = {}
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    # ---------------------------------------------------------------- copies and pickles
    def __getstate__(self) -> dict:
        """What ``copy.deepcopy`` and pickle keep (as PyTorch's optimizers allow both): the groups and the state,
        the state by each parameter's position, since a copy's parameters are other tensors; the compiled
        programs and the caches are this process's, made again on use."""
        kept = {k: v for k, v in self.__dict__.items()
                if k not in ("_programs", "_last_program", "_rule_keys", "_state_view")}
        kept["_states"] = [self._states.get(id(q)) for q in self.params]
        return kept

    def __setstate__(self, kept: dict) -> None:
        by_position = kept.pop("_states")
        self.__dict__.update(kept)
        self._programs = BoundedCache(f"{type(self).__name__} step programs", limit=32)
        self._last_program, self._rule_keys = None, {}
        self._states = {id(q): state for q, state in zip(self.params, by_position, strict=True) if state is not None}

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (the defaults fill the rest), as PyTorch."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        params = [params] if isinstance(params, Tensor) else list(params)
        group = {**param_group, "params": [q[1] if isinstance(q, tuple) else q for q in params]}
        names = [q[0] for q in params if isinstance(q, tuple)]
        if names and len(names) != len(params):
            raise ValueError("all optimizer params should be with/without names. Some param names are missing")
        if names:
            group["param_names"] = names
        for q in group["params"]:
            if not isinstance(q, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(q).__name__}")
            if not q.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        ids = [id(q) for q in group["params"]]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        for other in self.param_groups:
            if ("param_names" in group) != ("param_names" in other):
                kind = "with names" if "param_names" in group else "without names"
                raise ValueError(f"all optimizer param groups should be with/without names. cannot add param group "
                                 f"{kind} to the optimizer")
        if {id(q) for other in self.param_groups for q in other["params"]} & set(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    @property
    def params(self) -> list[Tensor]:
        """Every parameter, group by group."""
        return [q for group in self.param_groups for q in group["params"]]

    @property
    def lr(self) -> float:
        return self.param_groups[0]["lr"]

    def group_of(self, tensor: Tensor) -> dict:
        """The parameter group holding ``tensor``."""
        for group in self.param_groups:
            if any(q is tensor for q in group["params"]):
                return group
        raise ValueError(f"{type(self).__name__} does not hold this tensor (shape {tensor.shape}): pass it in "
                         "params or add_param_group")

    # ---------------------------------------------------------------- the rule
    @abc.abstractmethod
    def rule(self, group: dict) -> list[tuple[sp.Symbol, sp.Expr]]:
        """Ordered assignments ``target ← expression`` with ``group``'s hyperparameters; later ones see earlier
        targets' new values."""

    def states(self, group: dict) -> dict[str, State]:
        """The state each parameter of ``group`` keeps besides its step count, by PyTorch's state names."""
        return {}

    def formulas(self) -> str:
        """The update rule as a person reads it (one block per parameter group)."""
        lines = []
        for k, group in enumerate(self.param_groups):
            which = f" of group {k}" if len(self.param_groups) > 1 else ""
            lines.append(f"{type(self).__name__}: at step t, for every parameter p{which} with gradient g")
            for target, expr in self.rule(group):
                lines.append(f"  {target} ← {sp.sstr(expr, full_prec=False).replace('**', '^').replace('*', '·')}")
        return "\n".join(lines)

    # ---------------------------------------------------------------- graphs
    def update(self, param: Input, grad: str, lr_input: Input, t_input: Input, group: dict | None = None) -> Update:
        """The rule of ``group`` (default: the first) as IR over tensors: ``param``'s update from its gradient (the
        tensor named ``grad``), the learning rate and the step count (0-d inputs), with one new input per state
        (0-d for scalar state). A target that reads only step scalars (``ρ_t`` of RAdam) is a step scalar too: a
        0-d float64 definition, as PyTorch's Python float."""
        group = self.param_groups[0] if group is None else group
        self._check_step_options(group)
        syms = fresh_indices(param.shape)
        domain = tuple(zip(syms, param.shape, strict=True))
        p, g, lr, t = elements("p g lr t")
        current = {p: access(param.name, syms), g: access(grad, syms), lr: access(lr_input.name, ()),
                   t: access(t_input.name, ())}
        states = self.states(group)
        symbol = {state: element(spec.element) for state, spec in states.items()}
        state_inputs = {}
        for state, spec in states.items():
            shape, dtype = ((), scalar_dtype()) if spec.scalar else (param.shape, param.dtype)
            state_inputs[state] = Input(f"{param.name}_{state}", shape, dtype)
            current[symbol[state]] = access(state_inputs[state].name, () if spec.scalar else syms)
        zero_d = {symbol[state] for state, spec in states.items() if spec.scalar}
        tensors = {p, g, *(symbol[state] for state, spec in states.items() if not spec.scalar)}
        derived: set[sp.Symbol] = set()  # the step scalars the rule names
        defs, new = [], {}
        for k, (target, expr) in enumerate(self.rule(group)):
            name, label = f"{param.name}_{target.name}{k}", f"{type(self).__name__} {target}"
            if target in zero_d:  # PyTorch updates a 0-d state tensor in its own dtype
                body = _hoist_scalars(expr, current, name, defs, {lr, t, *derived})
                d = Def(name, (), scalar_dtype(), (), (), body.xreplace(current), label=label)
            elif target not in tensors and expr.free_symbols <= {lr, t, *zero_d, *derived}:
                derived.add(target)
                d = Def(name, (), np.dtype(np.float64), (), (), expr.xreplace(current), label="step scalar")
            else:
                body = _hoist_scalars(expr, current, name, defs, {lr, t, *zero_d, *derived})
                d = Def(name, param.shape, param.dtype, domain, syms, body.xreplace(current), label=label)
            defs.append(d)
            current[target] = access(d.name, d.out)
            new[target] = d
        new_state = {state: new[symbol[state]] for state in states if symbol[state] in new}
        return Update(state_inputs, defs, new[p], new_state)

    def _step_program(self, live: list[tuple[int, Tensor]], counts: tuple[int, ...]) -> _StepProgram:
        """The rules of every parameter that has a gradient (``live``: its group's index and the tensor) compiled
        as one program, built once per structure: the parameters' shapes and dtypes, their groups'
        hyperparameters and which of them share a step count (``counts``: the index of each one's count among
        the distinct counts). Inputs: per parameter its array, gradient and states, then a learning rate per
        group and a step count per distinct count; outputs: per parameter its new array and new states."""
        groups = [0] if len(self.param_groups) == 1 else sorted({k for k, _ in live})
        key = (backend.name(), scalar_dtype(), counts, tuple([(k, q.shape, q.dtype) for k, q in live]),
               tuple([self.rule_key(self.param_groups[k]) for k in groups]))
        last = self._last_program
        if last is not None and last[0] == key:  # the usual step: the same parameters as the last one
            return last[1]

        def derive() -> tuple[Graph, list]:
            lrs = {k: Input(f"lr{k}", (), np.dtype(np.float64)) for k in groups}
            ts = [Input(f"t{n}", (), np.dtype(np.float64)) for n in range(max(counts) + 1)]
            inputs, defs, outputs, written = [], [], [], []
            for n, ((k, q), c) in enumerate(zip(live, counts, strict=True)):
                param, grad = Input(f"P{n}", q.shape, q.dtype), Input(f"G{n}", q.shape, q.dtype)
                rule = self.update(param, grad.name, lrs[k], ts[c], self.param_groups[k])
                inputs += [param, grad, *rule.state_inputs.values()]
                defs += rule.defs
                outputs += [rule.new_param.name, *(d.name for d in rule.new_state.values())]
                written.append((tuple(rule.state_inputs), tuple(rule.new_state)))
            return Graph([*inputs, *lrs.values(), *ts], defs, outputs), written

        def build():
            scalars, cells = _scalar_inputs(len(groups) + max(counts) + 1)
            stored_key = self._durable_key(live, counts)
            found = stored.load("program", stored_key) if stored_key is not None else None
            if found is not None:
                executable = compiled_from_cache(found[0], lambda: (derive()[0], None))
                written = _stored_states(found[1], len(live))
                inputs = None if written is None else sum(2 + len(reads) for reads, _ in written) + len(scalars)
                if executable is not None and len(executable.interface.inputs) == inputs:
                    return _StepProgram(executable, written, groups, scalars, cells)
            graph, written = derive()
            executable = compile_graph(graph)
            stored.note("program", stored_key, executable, {"states": [[list(r), list(w)] for r, w in written]})
            return _StepProgram(executable, written, groups, scalars, cells)

        program = self._programs.get_or_build(key, build)
        self._last_program = key, program
        return program

    def _durable_key(self, live: list[tuple[int, Tensor]], counts: tuple[int, ...]) -> str | None:
        """The key the update program of ``live`` is kept under on disk, or None (the reference backend, or a
        hyperparameter without an exact text)."""
        if backend.name() != "native":
            return None
        try:
            return stored.key("optimizer step", durable.digest(
                [(k, q.shape, q.dtype) for k, q in live], counts, self.rule_identity(), scalar_dtype(),
                backend.host_fingerprint()))
        except durable.NotDurable:
            return None

    def rule_identity(self) -> tuple:
        """What this optimizer's compiled rules depend on, for a durable key: its class and every group's
        hyperparameters but ``lr`` (symnet's own rules are in the source fingerprint), and for an optimizer defined
        elsewhere the rules and states it states."""
        groups = self.param_groups
        rules = () if type(self).__module__.startswith("symnet.") else [
            (self.rule(group), self.states(group)) for group in groups]
        return type(self), [tuple(map(group.get, self._options)) for group in groups], rules

    def rule_key(self, group: dict) -> tuple[str, ...]:
        """What a group's compiled rule depends on: its hyperparameters except the ``lr`` input (a scheduler's
        own entries, such as OneCycleLR's ``max_lr``, are not the rule's), as text. Remembered while the group
        holds the same objects: a scheduler that cycles a momentum sets a new float. Options a CPU step refuses
        are refused here, when they change."""
        values = self.option_values(group)
        known = self._rule_keys.get(id(group))
        if known is None or not all(map(operator.is_, known[0], values)):
            self._check_step_options(group)
            self._start_states(group)
            if len(self._rule_keys) > 64:
                self._rule_keys.clear()
            known = self._rule_keys[id(group)] = (values, tuple(map(repr, values)))
        return known[1]

    def option_values(self, group: dict) -> tuple:
        """The group's hyperparameters but ``lr``, in ``rule_key``'s order (objects, compared by identity)."""
        getter = self._option_values
        try:
            return getter(group) if getter is not None else tuple(map(group.get, self._options))
        except KeyError:  # an option deleted from the group: the rule reads None, as group.get gives
            return tuple(map(group.get, self._options))

    def _check_step_options(self, group: dict) -> None:
        """The options PyTorch's constructor accepts but whose step fails on a CPU leaf parameter fail here too."""
        if group.get("capturable"):
            raise AssertionError(f"If capturable=True, params and state_steps must be on supported devices: "
                                 f"{_CAPTURABLE_DEVICES} (symnet computes on the CPU)")
        if group.get("differentiable"):
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation "
                               "(differentiable=True: PyTorch's step fails so for leaf parameters; symnet does not "
                               "differentiate through an optimizer step)")

    def _start_states(self, group: dict) -> None:
        """A changed rule that keeps a state its parameters' states lack (a momentum turned on after some steps)
        starts it where PyTorch's would give the same numbers (``starts_late``), else refuses the change."""
        for name, spec in self.states(group).items():
            for q in group["params"]:
                own = self._states.get(id(q))
                if own is None or name in own:
                    continue
                if own.get("step", 0) and not self.starts_late(group, name):
                    raise NotSupportedError(f"{type(self).__name__}: the options changed after step {own['step']} "
                                            f"to a rule that keeps {name!r}, which PyTorch creates at the first "
                                            f"step only (its step fails with KeyError: {name!r})")
                own[name] = _initial(spec, q)

    def starts_late(self, group: dict, name: str) -> bool:
        """Whether the state ``name`` of ``group``'s rule may begin after the first step, at its initial value."""
        return False

    # ---------------------------------------------------------------- PyTorch's API
    def param_state(self, q: Tensor) -> dict:
        """``q``'s state (its step count and arrays), created with the initial values of its group's rule."""
        own = self._states.setdefault(id(q), {})
        if "step" not in own:  # new, or only looked at through ``state`` (PyTorch's defaultdict gives {})
            own.update({"step": 0, **{s: _initial(spec, q) for s, spec in self.states(self.group_of(q)).items()}})
        return own

    @property
    def state(self) -> ParameterStates:
        """Each parameter's state (its step count and arrays) keyed by the parameter, as PyTorch's (one object
        for the optimizer's life, as PyTorch's dict)."""
        view = self.__dict__.get("_state_view")
        if view is None:
            view = self._state_view = ParameterStates(self)
        return view

    @state.setter
    def state(self, states) -> None:
        self._states = {ParameterStates._id(k): v for k, v in dict(states).items()}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for q in self.params:
            if set_to_none:
                q.grad = None
            elif q.grad is not None:
                q.grad.zero_()

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One update of every parameter that has a gradient, each by its group's rule, all in one native call
        (each parameter gets a new array: tensors computed from the old values keep them). ``closure``
        (re-evaluating the model and calling ``backward``) runs first, in grad mode; its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        live, states, steps = [], [], set()
        known = self._states
        for k, group in enumerate(self.param_groups):
            for q in group["params"]:
                if q.grad is not None:
                    live.append((k, q))
                    state = known.get(id(q)) or self.param_state(q)
                    states.append(state)
                    steps.add(state["step"])
        if not live:
            return loss
        if len(steps) == 1:  # the usual step: one count for all
            counts = (0,) * len(states)
        else:
            steps = sorted(steps)
            counts = tuple(steps.index(s["step"]) for s in states)
        program = self._step_program(live, counts)
        inputs = []
        for (_, q), state, (reads, _) in zip(live, states, program.states, strict=True):
            inputs.append(q._array())
            inputs.append(q.grad._array())
            if reads:
                inputs.extend([state[s] for s in reads])
        groups, cells, n = self.param_groups, program.cells, len(program.groups)
        for at, k in enumerate(program.groups):
            cells[at] = groups[k]["lr"]
        for at, s in enumerate(steps, n):
            cells[at] = s + 1
        new = iter(program.executable.call(inputs + program.scalars))
        for (_, q), state, (_, writes) in zip(live, states, program.states, strict=True):
            q._update(next(new))  # the program's outputs are new arrays of the parameter's dtype
            for s in writes:
                state[s] = next(new)
            state["step"] += 1
        return loss

    def state_dict(self) -> dict:
        """PyTorch's layout: ``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}`` with
        parameters numbered in group order; arrays are copies."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(q), len(index)) for q in group["params"]]
            groups.append(packed)
        state = {k: {name: (np.array(v) if isinstance(v, np.ndarray) else v) for name, v in self._states[i].items()}
                 for i, k in index.items() if i in self._states}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state saved by ``state_dict``; a dict from another optimizer class, with
        another number of groups or of parameters in a group is refused before anything changes."""
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(a["params"]) != len(b["params"]) for a, b in zip(self.param_groups, saved, strict=True)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        for group in saved:  # a scheduler may have added its own entries (initial_lr, max_lr, …): those may differ
            missing = set(self.defaults) - set(group)
            if missing:
                raise ValueError(f"loaded state dict is not {type(self).__name__}'s: its parameter groups lack "
                                 f"{sorted(missing)}")
        groups = [{**group, "params": mine["params"]} for mine, group in zip(self.param_groups, saved, strict=True)]
        state, saved_state = {}, state_dict.get("state", {})  # a checkpoint stores no empty dict
        for group, saved_group in zip(groups, saved, strict=True):
            specs = self.states(group)
            for q, k in zip(group["params"], saved_group["params"], strict=True):
                if saved_state.get(k):  # (PyTorch keeps the empty dict of a parameter only looked at)
                    state[id(q)] = self._loaded_state(saved_state[k], specs, q, k)
        self.param_groups, self._states = groups, state

    @staticmethod
    def _loaded_state(saved: dict, specs: dict[str, State], q: Tensor, k: int) -> dict:
        """One parameter's saved state checked against its group's rule and cast to the parameter's dtype."""
        if set(saved) != {"step", *specs}:
            raise ValueError(f"loaded state of parameter {k} holds {sorted(saved)}, the optimizer's rule keeps "
                             f"{sorted({'step', *specs})}")
        out = {"step": int(saved["step"])}
        for name, spec in specs.items():
            shape, dtype = ((), scalar_dtype()) if spec.scalar else (q.shape, q.dtype)
            if np.shape(saved[name]) != shape:
                raise ValueError(f"optimizer state {name} of parameter {k} has shape {np.shape(saved[name])}, "
                                 f"expected {shape}")
            out[name] = np.array(saved[name], dtype=dtype)
        return out

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for k, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {k}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"


class ParameterStates(MutableMapping):
    """``optimizer.state`` as PyTorch shows it: each parameter's state dict keyed by the parameter tensor (reading
    one not stepped yet gives, and keeps, an empty dict, as PyTorch's defaultdict does); iterating gives the
    parameters. symnet keeps the dicts by the parameters' ids, which are accepted as keys too."""

    __slots__ = ("_optimizer",)

    def __init__(self, optimizer: Optimizer):
        self._optimizer = optimizer

    @staticmethod
    def _id(key) -> int:
        return id(key) if isinstance(key, Tensor) else key

    def __getitem__(self, key) -> dict:
        states = self._optimizer._states
        if isinstance(key, Tensor):
            return states.setdefault(id(key), {})
        return states[key]

    def __setitem__(self, key, value: dict) -> None:
        self._optimizer._states[self._id(key)] = value

    def __delitem__(self, key) -> None:
        del self._optimizer._states[self._id(key)]

    def __contains__(self, key) -> bool:
        return self._id(key) in self._optimizer._states

    def __iter__(self) -> Iterator:
        tensors = {id(q): q for q in self._optimizer.params}
        return iter([tensors.get(k, k) for k in self._optimizer._states])

    def __len__(self) -> int:
        return len(self._optimizer._states)

    def __repr__(self) -> str:
        return repr(dict(self.items()))
