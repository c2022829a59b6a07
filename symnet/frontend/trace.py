"""Tracing: the cheap nodes ops record, their hash-consed structural keys, and ``trace``, the pipeline's first
stage (user tensors → a structure of specs the IR is lowered from).

An op on tensors makes a ``Node`` (its typed op, its inputs) — no SymPy. Two graphs get the same structural
key exactly when they apply the same ops to the same leaf tensors (whatever arrays those hold), so a graph
rebuilt in every step of a Python loop finds its bound backward plan without a trace, even after the optimizer
gave the parameters new arrays; a graph during whose life no in-place write happened (``Node.epoch``) reads
the arrays its leaves hold now.
"""

from __future__ import annotations

import collections
import functools
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..core.cache import on_clear
from ..core.ops import Op
from ..pipeline import LeafSpec, OpSpec, Spec, stage
from .base import TensorBase

if TYPE_CHECKING:
    from .tensor import Tensor


class StructureKeys:
    """Integer keys for structures, never reused. A leaf is keyed by the tensor itself (its id, shape, dtype,
    whether it requires grad, its name), not by the array it holds, so an optimizer's ``set_`` keeps the keys of
    the next step's graph: which values a graph read is the ``Writes`` count's business, not the key's. A leaf's
    entries go when the tensor does (a weak reference notes its id; the next leaf keyed drops them first), so an
    id is never keyed for two tensors.
    """

    limit = 8192

    def __init__(self):
        self._lock = threading.Lock()
        self.dead: collections.deque[int] = collections.deque()  # appended to by weakref callbacks, at any time
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self.table: dict[tuple, int] = {}
            #: per keyed leaf's id: its keys and the weak reference that reports its death
            self.leaves: dict[int, tuple[list[tuple], weakref.ref]] = {}
            self.last = getattr(self, "last", 0)

    def of(self, key: tuple) -> int:
        found = self.table.get(key)
        if found is None:
            with self._lock:
                if len(self.table) >= self.limit:
                    self.table, self.leaves = {}, {}
                self.last += 1
                found = self.table.setdefault(key, self.last)
        return found

    def leaf(self, t: Tensor) -> int:
        if self.dead:
            self._drop_dead()
        key = (id(t), t.shape, t.dtype, t._requires_grad, t._name)
        found = self.table.get(key)
        if found is None:
            found = self.of(key)
            with self._lock:
                entry = self.leaves.get(key[0])
                if entry is None:
                    dead = self.dead
                    self.leaves[key[0]] = ([key], weakref.ref(t, lambda _, i=key[0]: dead.append(i)))
                else:
                    entry[0].append(key)
        return found

    def _drop_dead(self) -> None:
        with self._lock:
            while self.dead:
                keys, _ = self.leaves.pop(self.dead.popleft(), ((), None))
                for key in keys:
                    self.table.pop(key, None)


KEYS = StructureKeys()
on_clear(KEYS.clear)


class Writes:
    """A count of in-place writes (``_write``, ``set_``): a graph none happened during needs no check that what
    its ops saved for backward is unchanged (``saved.refuse_modified_saved``)."""

    count = 0

    @classmethod
    def happened(cls) -> None:
        cls.count += 1


class _Exposed:
    """The owner of the views ``numpy()`` hands out of one array: every view user code makes of them keeps it
    alive (NumPy's bases stop at an object that is not an array), so its death says user code holds none."""

    __slots__ = ("__array_interface__", "array", "__weakref__")

    def __init__(self, array: np.ndarray):
        self.array, self.__array_interface__ = array, array.__array_interface__


class Shared:
    """The leaf arrays user code also holds (``numpy()``, ``from_numpy``, ``np.asarray(t)``), by id, each with the
    nodes made reading it (weakly). An in-place op writes into such an array, as PyTorch writes into the storage
    the user shares; the nodes made before the write get a copy of the old values first, so a lazily computed
    tensor still sees the values it was made from. Arrays no user code holds are never written in place: an
    in-place op gives their tensor a new array, and this registry costs nothing. An array user code got from
    ``numpy()`` alone is shared while it holds a view of it (``expose``): a ``state_dict()`` taken once for a
    checkpoint does not make every later update a copy."""

    readers: dict[int, list] = {}
    #: per array shared through ``expose`` alone, how many owners of views user code may hold are alive
    exposed: dict[int, int] = {}
    #: ids of exposed arrays one of whose owners was freed (noted by finalizers, as ``dead``)
    released: collections.deque = collections.deque()
    #: per shared array made from another one's memory (an in-place shape change), the ids of all such arrays
    family: dict[int, list[int]] = {}
    #: ids of shared arrays since freed: their finalizers only note them here (a finalizer can run inside a
    #: garbage collection that an allocation under the lock started, so it must not take the lock). Every lookup
    #: drops them first: a new array can take a freed one's id, and must not count as shared by its entry
    dead: collections.deque = collections.deque()
    _lock = threading.Lock()

    @classmethod
    def share(cls, array: np.ndarray, like: np.ndarray | None = None) -> None:
        """Register ``array`` as held by user code; ``like``: a shared array it is a view of (``squeeze_`` of a
        tensor from ``from_numpy`` keeps sharing), so a write into either first protects the readers of both."""
        with cls._lock:
            cls._drop_dead()
            if id(array) not in cls.readers or id(array) in cls.exposed:
                cls.readers.setdefault(id(array), [])
                cls.exposed.pop(id(array), None)  # shared for good
                weakref.finalize(array, cls.dead.append, id(array))
            if like is not None:
                family = cls.family.setdefault(id(like), [id(like)])
                if id(array) not in family:
                    family.append(id(array))
                cls.family[id(array)] = family

    @classmethod
    def expose(cls, array: np.ndarray) -> np.ndarray:
        """``array`` as ``numpy()`` hands it to user code: a view whose owner lives as long as any view made of
        it. An array registered by ``share`` stays shared for good; one only exposed is shared until user code
        holds no view of it (an array shared for good is handed out as it is)."""
        with cls._lock:
            cls._drop_dead()
            if id(array) in cls.readers and id(array) not in cls.exposed:
                return array
            owner = _Exposed(array)
            if id(array) not in cls.readers:
                cls.readers[id(array)], cls.exposed[id(array)] = [], 0
            cls.exposed[id(array)] += 1
            weakref.finalize(owner, cls.released.append, id(array))
        return np.asarray(owner)

    @classmethod
    def _drop_dead(cls) -> None:
        """Forget the arrays freed since, and those user code no longer holds a view of (the caller holds the
        lock)."""
        while cls.released:
            key = cls.released.popleft()
            count = cls.exposed.get(key, 0)
            if count > 1:
                cls.exposed[key] = count - 1
            elif count == 1:
                cls.dead.append(key)
        while cls.dead:
            key = cls.dead.popleft()
            cls.exposed.pop(key, None)
            cls.readers.pop(key, None)
            family = cls.family.pop(key, None)
            if family is not None and key in family:
                family.remove(key)

    @classmethod
    def _forget_freed(cls) -> None:
        """Drop the entries of arrays freed since (before any lookup by id: the finalizer runs as the array is
        freed, so an array made later never meets its predecessor's entry) or no longer held."""
        if cls.dead or cls.released:
            with cls._lock:
                cls._drop_dead()

    @classmethod
    def holds(cls, array: np.ndarray) -> bool:
        cls._forget_freed()
        return id(array) in cls.readers

    @classmethod
    def read_by(cls, array: np.ndarray, node: Node) -> None:
        cls._forget_freed()
        readers = cls.readers.get(id(array))
        if readers is not None:
            with cls._lock:
                if len(readers) > 64:  # drop the dead now and then: a loop reads one array once per step
                    readers[:] = [r for r in readers if r() is not None]
                readers.append(weakref.ref(node))

    @classmethod
    def before_writing(cls, array: np.ndarray) -> bool:
        """Whether ``array`` is shared; if so, the live nodes that read it (or an array of its family) now read a
        copy of its values."""
        if id(array) not in cls.readers:
            return False
        with cls._lock:
            cls._drop_dead()
            if id(array) not in cls.readers:  # the entry was a freed array's whose id this one took
                return False
            for key in list(cls.family.get(id(array), (id(array),))):
                old = None
                for ref in cls.readers.get(key, ()):
                    node = ref()
                    if node is not None and any(id(s) == key for s in node.sources):
                        if old is None:
                            old = next(s for s in node.sources if id(s) == key).copy()
                        node.sources = tuple(old if id(s) == key else s for s in node.sources)
                cls.readers.get(key, []).clear()
        return True


class Node:
    """An op, its inputs, what each input was at creation (``sources``: a leaf's value array, else its node; in-place
    updates give a leaf a new array and a computed tensor a new node, so a lazily computed tensor still sees
    the values it was made from, as in PyTorch), its key, ``epoch``: the count of in-place writes when the
    oldest node of its graph was made, and ``written``: the inputs an in-place op wrote this node's result into
    (its backward keeps their original values, as PyTorch's does)."""

    #: ``shown`` (set by ``show_as`` only; unset on most nodes): PyTorch's name for the op a frontend function
    #: composed this node's result with, and that op's arguments
    __slots__ = ("op", "inputs", "sources", "key", "epoch", "written", "shown", "__weakref__")

    def __init__(self, op: Op, inputs: tuple[Tensor, ...]):
        self.op, self.inputs = op, inputs
        keys, sources = [], []
        epoch = Writes.count
        for t in inputs:
            node = t.node
            if node is None:
                if t._base is not None:  # a view or alias shows its base's values now
                    t._array()
                sources.append(t._value)  # a leaf always holds its array (frontend-internal: the hot path)
                if Shared.readers:
                    Shared.read_by(t._value, self)
                # a leaf keyed before (KEYS.leaf's key, looked up inline: the hot path of every op)
                known = None if KEYS.dead else KEYS.table.get((id(t), t.shape, t.dtype, t._requires_grad, t._name))
                keys.append(known or KEYS.leaf(t))
            else:
                if node.epoch < epoch:
                    epoch = node.epoch
                sources.append(node)
                keys.append(node.key)
        self.sources = tuple(sources)
        key = (type(op), op, tuple(keys))
        self.key = KEYS.table.get(key) or KEYS.of(key)  # a structure seen before: found inline (the hot path)
        self.epoch, self.written = epoch, ()

    def name(self) -> str:
        """PyTorch's name for the backward of this op (``grad_fn.name()``): ``AddBackward0`` for ``add``, or the
        name a frontend function showed its result under (``MseLossBackward0``)."""
        shown = getattr(self, "shown", None)
        if shown is not None:
            return shown[0]
        return "".join(part.capitalize() for part in re.split(r"[\W_]+", self.op.label) if part) + "Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self) -> tuple:
        """PyTorch's walk back from ``grad_fn``: per input, the node that made it (as it was when this one was made)
        or, for a leaf that requires grad, its ``AccumulateGrad``; ``None`` for an input without grad; each with
        the output index 0."""
        shown = getattr(self, "shown", None)
        if shown is None:
            inputs, sources = self.inputs, self.sources
        else:  # the composite op's tensor inputs, as they are now
            inputs = [x for arg in shown[1] for x in (arg if isinstance(arg, list | tuple) else (arg,))
                      if isinstance(x, TensorBase)]
            sources = [x._value if x.node is None else x.node for x in inputs]
        steps = []
        for t, source in zip(inputs, sources, strict=True):
            if not t._requires_grad:
                steps.append((None, 0))
            else:
                steps.append((source if isinstance(source, Node) else AccumulateGrad(t), 0))
        return tuple(steps)


#: what a frontend function returns several tensors in
_SEQUENCES = (tuple, list)


def show_as(out, name: str | None, *inputs):
    """``out`` (a tensor, or each of a tuple or list of them) with its ``grad_fn`` shown as PyTorch's for the op a
    frontend function composed of several (``MseLossBackward0``), that op's tensor inputs (given, or in lists) its
    ``next_functions``; the nodes inside stay what derivation uses. None: as it is. Returns ``out``."""
    if name is not None:
        for t in out if isinstance(out, _SEQUENCES) else (out,):
            node = getattr(t, "node", None)
            if node is not None and t._requires_grad:  # else no grad_fn to show: the hot path of inference
                for x in inputs:
                    if x is t:  # the op gave back an input: its grad_fn is that input's
                        return out
                node.shown = (name, inputs)
    return out


def shown(name: str | Callable[..., str | None]) -> Callable:
    """A frontend op whose result PyTorch's ``grad_fn`` names ``name`` (or ``name(*args, **kwargs)``, which
    depends on the call: ``MeanBackward1`` with a dim; None keeps the name of the op inside); its tensor
    arguments are the inputs ``next_functions`` shows."""
    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def op(*args, **kwargs):
            out = fn(*args, **kwargs)
            first = out[0] if isinstance(out, _SEQUENCES) and out else out
            if not getattr(first, "_requires_grad", False):
                return out
            return show_as(out, name if type(name) is str else name(*args, **kwargs), *args, *kwargs.values())

        return op

    return decorate


class AccumulateGrad:
    """Where a walk back from ``grad_fn`` reaches a leaf that requires grad (``variable``), as in PyTorch."""

    next_functions = ()

    def __init__(self, variable: Tensor):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


@dataclass
class Traced:
    """A traced graph: its structure (post-order specs, the pipeline's input) and its tensors in the same order."""

    specs: tuple[Spec, ...]
    tensors: list[Tensor]
    #: per position, the node (the leaf's value) it had when it was read: a tensor updated in place since has
    #: another, and appears once per state the graph reads
    states: list = field(default_factory=list)

    @property
    def leaves(self) -> list[int]:
        """Positions of the leaf tensors."""
        return [p for p, s in enumerate(self.specs) if isinstance(s, LeafSpec)]

    def position(self, t: Tensor) -> int | None:
        return next((p for p, u in enumerate(self.tensors) if u is t), None)

    def leaf_values(self) -> list[np.ndarray]:
        """The value of each leaf (in trace order) as its consumers saw it when they were created."""
        return [self.states[p] for p in self.leaves]


_new = tuple.__new__  # builds the NamedTuple specs without their Python-level __new__ (trace is a hot path)


@stage("trace")
def trace(outputs: Sequence[Tensor]) -> Traced:
    """The structure of the graph below ``outputs`` (post-order: inputs before the ops that read them).

    >>> import symnet as sn
    >>> x = sn.tensor([1.0], name="x")
    >>> [type(s).__name__ for s in sn.trace([x.exp() + 1]).specs]
    ['LeafSpec', 'OpSpec', 'OpSpec']
    """
    order: list[Tensor] = []
    states: list = []
    specs: list = []
    position: dict[int, int] = {}
    stack = [(r, r._value if r.node is None else r.node, False) for r in reversed(outputs)]
    pop, push = stack.pop, stack.append
    while stack:
        t, node, expanded = pop()
        key = (id(t), id(node))  # a tensor updated in place appears once per node (leaf: value) it had
        if key in position:
            continue
        if not isinstance(node, Node):
            # a leaf since updated in place by an op on tensors that require grad was a leaf that did not
            # (and one changed in shape in place since is read in the shape of the array the graph read)
            shape = node.shape if t._layouts else t.shape
            specs.append(_new(LeafSpec, (shape, t.dtype, t._requires_grad and t.node is None, t.name)))
        elif expanded:
            specs.append(_new(OpSpec, (type(node.op), node.op, t.dtype,
                                       tuple([position[id(i), id(n)] for i, n in
                                              zip(node.inputs, node.sources, strict=True)]), t.name)))
        else:
            push((t, node, True))
            for i, n in zip(reversed(node.inputs), reversed(node.sources), strict=True):
                if (id(i), id(n)) not in position:
                    push((i, n, False))
            continue
        position[key] = len(order)
        order.append(t)
        states.append(node)
    return Traced(tuple(specs), order, states)
