"""Containers with PyTorch's names, methods and ``state_dict`` keys: ``Sequential``, ``ModuleList`` and
``ParameterList`` number their items ``0``, ``1``, … (``0.weight``); ``ModuleDict`` and ``ParameterDict`` use
their keys. They register items through ``setattr``, the public Module API, so a container's parameters are
found, named, saved and loaded like any other module's."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from ..frontend.tensor import Tensor
from .module import Module, Parameter


class _Container(Module):
    """What every container shares: which registry holds its items (``_modules``, or ``_parameters`` for the
    parameter containers), the check an item passes, and the parameter containers' repr."""

    #: True for ParameterList/ParameterDict: items are Parameters (plain tensors are wrapped, as in PyTorch)
    holds_parameters = False

    def _registry(self) -> OrderedDict:
        return self._parameters if self.holds_parameters else self._modules

    def _check(self, value):
        owner = type(self).__name__
        if not self.holds_parameters:
            if not isinstance(value, Module):
                raise TypeError(f"{owner}: {type(value).__name__} is not a Module subclass")
            return value
        if isinstance(value, Parameter):
            return value
        if isinstance(value, Tensor):
            return Parameter(value)
        raise TypeError(f"{owner}: expected a Parameter or a Tensor, got {type(value).__name__}")

    def _unregister(self, name: str) -> None:
        self._registry().pop(name)
        object.__delattr__(self, name)

    def _rebuild(self, pairs: list[tuple[str, object]]) -> None:
        """Register exactly ``pairs``, in order (re-setting an attribute would move it to the end)."""
        for name in list(self._registry()):
            self._unregister(name)
        for name, value in pairs:
            setattr(self, name, self._check(value))

    def _put(self, name: str, value) -> None:
        """Add ``value`` under ``name``, or replace the item there keeping its position, as PyTorch does."""
        if name in self._registry():
            self._rebuild([(k, value if k == name else v) for k, v in self._registry().items()])
        else:
            setattr(self, name, self._check(value))

    def __len__(self) -> int:
        return len(self._registry())

    def __repr__(self) -> str:
        if not self.holds_parameters:
            return super().__repr__()
        lines = [f"\n    ({k}): Parameter containing: [symnet.{p.dtype.name} of size {'x'.join(map(str, p.shape))}]"
                 for k, p in self._parameters.items()]
        return f"{type(self).__name__}(" + "".join(lines) + ("\n)" if lines else ")")


class _Numbered(_Container):
    """Items named ``"0"``, ``"1"``, …: insertion and deletion renumber them so the names stay consecutive,
    as in PyTorch."""

    def _items(self) -> list:
        return list(self._registry().values())

    def _renumber(self, items: list) -> None:
        self._rebuild([(str(k), item) for k, item in enumerate(items)])

    def _position(self, index: int) -> int:
        n, index = len(self), operator.index(index)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for {type(self).__name__} of length {n}")
        return index % n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(self._items()[index])
        return self._items()[self._position(index)]

    def __setitem__(self, index: int, value) -> None:
        self._put(list(self._registry())[self._position(index)], value)

    def __delitem__(self, index) -> None:
        items = self._items()
        del items[index if isinstance(index, slice) else self._position(index)]
        self._renumber(items)

    def __iter__(self) -> Iterator:
        return iter(self._items())

    def __iadd__(self, values: Iterable):
        return self.extend(values)

    def __add__(self, other: Iterable):
        return type(self)([*self, *other])

    def append(self, value):
        """Add ``value`` at the end, named ``str(len(self))``."""
        setattr(self, str(len(self)), self._check(value))
        return self

    def extend(self, values: Iterable):
        for value in values:
            self.append(value)
        return self

    def insert(self, index: int, value) -> None:
        """Insert ``value`` before position ``index`` (``-len ≤ index ≤ len``); later items are renumbered."""
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"insert: index {index} is out of range for {type(self).__name__} of length {n}")
        items = self._items()
        items.insert(index, self._check(value))
        self._renumber(items)

    def pop(self, index: int = -1):
        item = self[index]
        del self[index]
        return item


class Sequential(_Numbered):
    """Modules applied in order; parameters are named ``0.weight``, ``0.bias``, … as in PyTorch (or by the keys
    of an ``OrderedDict`` passed as the only argument).

    >>> from symnet.nn import Linear, ReLU
    >>> [name for name, _ in Sequential(Linear(2, 3), ReLU(), Linear(3, 1)).named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *args: Module):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                setattr(self, name, self._check(module))
        else:
            self.extend(args)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return super().__getitem__(index)

    def __add__(self, other: Iterable[Module]) -> Sequential:
        return Sequential(*self, *other)

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


class ModuleList(_Numbered):
    """A list of modules whose parameters its owner has (``0.weight``, ``1.weight``, …); it has no forward."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        self.extend(modules or ())

    def __repr__(self) -> str:
        """PyTorch's layout, with a run of children that print alike folded into one line (``(0-5): 6 x …``)."""
        runs: list[list] = []  # [first index, last index, text]
        for k, m in enumerate(self):
            text = repr(m)
            if runs and runs[-1][2] == text:
                runs[-1][1] = k
            else:
                runs.append([k, k, text])
        name = type(self).__name__
        if not runs:
            return f"{name}()"
        lines = [(f"({a}): " if a == b else f"({a}-{b}): {b - a + 1} x ") + text.replace("\n", "\n  ")
                 for a, b, text in runs]
        return f"{name}(\n  " + "\n  ".join(lines) + "\n)"


class ParameterList(_Numbered):
    """A list of parameters, registered as ``0``, ``1``, …; plain tensors become Parameters, as in PyTorch."""

    holds_parameters = True

    def __init__(self, values: Iterable | None = None):
        super().__init__()
        self.extend(values or ())


class _Keyed(_Container):
    """Items by string key, in insertion order, with ``dict``'s methods (``ModuleDict``, ``ParameterDict``)."""

    def __init__(self, items: Mapping | Iterable | None = None):
        super().__init__()
        self.update(items or ())

    def __getitem__(self, key: str):
        return self._registry()[key]

    def __setitem__(self, key: str, value) -> None:
        if not isinstance(key, str):
            raise TypeError(f"{type(self).__name__} keys must be strings, got {type(key).__name__}")
        if "." in key or not key:
            raise KeyError(f"{type(self).__name__} key can't be empty or contain \".\", got {key!r}")
        if hasattr(self, key) and key not in self._registry():
            raise KeyError(f"attribute '{key}' already exists")  # a key must not hide a method
        self._put(key, value)

    def __delitem__(self, key: str) -> None:
        self._unregister(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry())

    def __contains__(self, key: str) -> bool:
        return key in self._registry()

    def keys(self):
        return self._registry().keys()

    def items(self):
        return self._registry().items()

    def values(self):
        return self._registry().values()

    def pop(self, key: str):
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        for key in list(self._registry()):
            del self[key]

    def update(self, values: Mapping | Iterable) -> None:
        """Add or replace items from a mapping or from (key, value) pairs."""
        for key, value in values.items() if isinstance(values, Mapping) else values:
            self[key] = value


class ModuleDict(_Keyed):
    """Modules by name: ``ModuleDict({"enc": Linear(2, 3)})`` has parameters ``enc.weight``, ``enc.bias``."""


class ParameterDict(_Keyed):
    """Parameters by name (their ``state_dict`` keys); plain tensors become Parameters, as in PyTorch."""

    holds_parameters = True
