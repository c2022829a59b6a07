"""``Module`` and ``Parameter``: attribute registration, parameters, state dicts, modes and dtypes, as in
``torch.nn.Module``."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from ..core import dtypes
from ..core.dtypes import as_dtype, is_float
from ..errors import DTypeError, ShapeError
from ..frontend.tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that a Module owns and an optimizer updates (requires grad by default)."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, name: str | None = None):
        value = np.array(data.numpy() if isinstance(data, Tensor) else data)
        if value.dtype.kind != "f":
            value = value.astype(dtypes.get_default_dtype())
        super().__init__(value, value.shape, as_dtype(value.dtype), requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models: assign Parameters and Modules as attributes, define ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---------------------------------------------------------------- parameters
    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        seen = set()
        for name, p in self._parameters.items():
            if id(p) not in seen:
                seen.add(id(p))
                yield prefix + name, p
        for mname, module in self._modules.items():
            for name, p in module.named_parameters(prefix + mname + "."):
                if id(p) not in seen:
                    seen.add(id(p))
                    yield name, p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def name_parameters(self) -> Module:
        """Give unnamed parameters the names formulas print: ``0.weight`` → ``W0``, ``fc1.bias`` → ``b_fc1``."""
        for dotted, p in self.named_parameters():
            if p.name is None:
                *path, leaf = dotted.split(".")
                head = {"weight": "W", "bias": "b"}.get(leaf, leaf)
                tail = "_".join(path)
                p.name = head + (tail if tail.isdigit() or not tail else "_" + tail)
        return self

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix.rstrip("."), self
        for name, module in self._modules.items():
            yield from module.named_modules(prefix + name + ".")

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    # ---------------------------------------------------------------- state
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Parameter values by dotted name (``0.weight``, ``0.bias`` in a Sequential), as copies."""
        return OrderedDict((name, p.numpy().copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy values in, checking names, shapes and dtypes first (nothing changes if anything is off)."""
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        updates = []
        for name, p in own.items():
            if name not in state:
                continue
            value = np.asarray(state[name].numpy() if isinstance(state[name], Tensor) else state[name])
            if value.shape != p.shape:
                raise ShapeError(f"load_state_dict: {name} has shape {value.shape} in the state, {p.shape} here")
            if value.dtype.kind != "f":
                raise DTypeError(f"load_state_dict: {name} has dtype {value.dtype}, expected a float dtype")
            updates.append((p, value))
        for p, value in updates:
            p.set_(value.astype(p.dtype, copy=True))

    def train(self, mode: bool = True) -> Module:
        for _, m in self.named_modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def to(self, dtype) -> Module:
        dtype = as_dtype(dtype)
        if not is_float(dtype):
            raise DTypeError(f"Module.to: parameters must stay float, got {dtype}")
        for p in self.parameters():
            p.dtype = dtype
            p.set_(p.numpy())
            p.grad = None
        return self

    def double(self) -> Module:
        return self.to(dtypes.float64)

    def float(self) -> Module:
        return self.to(dtypes.float32)

    # ---------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"
