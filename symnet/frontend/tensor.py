"""``symnet.Tensor``: PyTorch-shaped tensors that record a cheap graph and compute values on demand.

An op on tensors makes a small node (``trace.Node``: a typed op and its inputs) — no SymPy at trace time.
Values are computed when looked at (``repr``, ``.numpy()``, ``.item()``) or by ``backward()``, by running the
program the pipeline derives for the graph's structure, so a loop that rebuilds the same graph derives it once.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import numpy as np

from ..core import dtypes
from ..core.dtypes import is_float
from ..core.indexing import Index
from ..core.ops import Op, broadcast_shapes
from ..errors import ArgumentError, DTypeError, GradError, NotSupportedError, ShapeError
from ..pipeline import forward_program
from . import autograd, custom_functions, layout, tensor_str
from .autograd import grad_mode
from .batch import is_step_state, varies_per_step
from .counting import CountingMethods
from .dims import normalize_dim
from .indexing import IndexingMethods, index_put
from .inplace import InplaceMethods
from .linalg import LinalgMethods
from .ordering import OrderingMethods
from .pointwise import PointwiseMethods
from .reductions import ReductionMethods
from .sampling import SamplingMethods
from .shaping import ShapeMethods
from .size import Size
from .surface import SurfaceMethods
from .tensor_str import format_values, with_suffixes
from .trace import Node, Shared, Writes, trace


class Tensor(PointwiseMethods, ReductionMethods, OrderingMethods, CountingMethods, ShapeMethods, LinalgMethods,
             IndexingMethods, InplaceMethods, SurfaceMethods, SamplingMethods):
    """A tensor: a value (computed lazily), a shape, a dtype, and the op that made it. Its methods are grouped
    by concept in the mixins (``pointwise``, ``reductions``, ``shaping``, ``linalg``, ``indexing``,
    ``inplace``); this class holds the value, the graph node and autograd."""

    #: ``node`` is the op that made the tensor (None for a leaf), ``_value`` its array once computed, ``_base``
    #: the tensor whose storage ``.data``/``detach()`` shares (in-place updates of either reach both) or that
    #: this one is a view of, ``_view`` that view's key and the ``_version`` of the base it shows (None: not a
    #: view), ``_version`` how many in-place updates this tensor has had (``torch.Tensor._version``).
    #: ``_hooks`` are the gradient hooks (``register_hook``), ``_retains_grad`` says whether ``retain_grad()`` was
    #: called on this computed tensor. ``_layouts`` are the in-place shape changes it had (``layout.Relayout``s),
    #: ``_made_at`` how many its base had when this view or ``.data`` alias was made. ``_exposure``, set on a
    #: ``state_dict()`` tensor only, is a view ``numpy()`` handed out: the array stays shared while it lives.
    #: ``_storage``, set once a ``.data`` or ``detach()`` alias is made, stands for PyTorch's storage: a tensor and
    #: its aliases hold the same one until ``.data = …`` gives the tensor another.
    __slots__ = ("node", "_value", "shape", "dtype", "_requires_grad", "_grad", "_name", "_base", "_view", "_version",
                 "_hooks", "_retains_grad", "_layouts", "_made_at", "_exposure", "_storage", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, *args, node: Node | None = None, requires_grad: bool = False, name: str | None = None):
        """``Tensor(value, shape, dtype)`` inside symnet; ``Tensor(data)`` and ``Tensor(*sizes)`` are PyTorch's
        legacy constructor (the default float dtype; sizes give zeros, where PyTorch leaves memory unset)."""
        if len(args) == 3 and isinstance(args[1], tuple) and isinstance(args[2], np.dtype):
            value, shape, dtype = args
        else:
            value = _legacy_value(args)
            shape, dtype = value.shape, value.dtype
        if requires_grad and not is_float(dtype):
            raise DTypeError(f"Only Tensors of floating point and complex dtype can require gradients (got {dtype})")
        self._value, self.shape, self.dtype, self.node = value, tuple(shape), dtype, node
        self._requires_grad, self._grad, self._name, self._base = requires_grad, None, name, None
        self._view, self._version, self._hooks, self._retains_grad = None, 0, None, False
        self._layouts, self._made_at = (), 0

    # ---------------------------------------------------------------- values
    @property
    def name(self) -> str | None:
        """The name formulas print for this tensor (None: an automatic one)."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str) or not value.isidentifier():
            raise ArgumentError(f"a tensor name must be an identifier, got {value!r}")
        self._name = value

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient (None until a backward reaches this tensor)."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        """As PyTorch's: a gradient of the tensor's own shape and dtype, or None; anything else is refused, not
        kept for an optimizer to meet later."""
        if value is not None:
            if not isinstance(value, Tensor):
                raise DTypeError(f"assigned grad expected to be a Tensor or None but got {type(value).__name__}")
            if value.shape != self.shape:
                raise ShapeError(f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor of size "
                                 f"'{list(self.shape)}'. Please ensure that the gradient and the tensor are the same "
                                 "size")
            if value.dtype != self.dtype:
                raise DTypeError(f"attempting to assign a gradient with dtype '{value.dtype}' to a tensor with dtype "
                                 f"'{self.dtype}'. Please ensure that the gradient and the tensor have the same dtype")
        self._grad = value

    def numpy(self) -> np.ndarray:
        """The value as a NumPy array (a leaf's shares its memory, as in PyTorch: in-place ops write into it while
        user code holds it)."""
        value = self._array()
        if self.node is not None or self._view is not None:
            return value
        if not Shared.holds(value):
            # ops made before now read the old array (and keep it: it is never written in place); this tensor
            # and the tensors it aliases (.data, detach()) take a copy that user code and in-place ops share
            fresh = value.copy()
            t = self
            while t is not None and t._value is value:
                t._value, t = fresh, t._base
            value = fresh
        return Shared.expose(value)

    def _array(self) -> np.ndarray:
        """The value, for symnet's own reading: no user code holds it, so it is not shared."""
        if self._base is not None:
            if self._view is not None:
                self._sync()
            else:
                self._follow_base()
        if self._value is None:
            self._realize()
        return self._value

    def _realize(self) -> None:
        _refuse_reading_what_varies(self)
        traced = trace([self])
        prog = forward_program(traced.specs, (len(traced.specs) - 1,))
        (self._value,) = prog.run_list(traced.leaf_values())

    def set_(self, source) -> Tensor:
        """Make a leaf hold ``source``'s values (a Tensor or an array, shared when its dtype is the tensor's):
        how optimizers and loaders replace a parameter's array. Tensors made from the old values keep them."""
        if self.node is not None:
            raise GradError("set_() is for leaf tensors; this one was computed by an op")
        value = np.asarray(source._array() if isinstance(source, Tensor) else source)
        if value.dtype != self.dtype:
            value = value.astype(self.dtype)
        self._store(value)
        Writes.happened()
        return self

    def _update(self, value: np.ndarray) -> None:
        """New values for this leaf from an optimizer, an initializer, a load or a buffer update, as PyTorch writes
        them into the parameter's storage: into its array when user code shares it (``numpy()``, ``from_numpy``:
        the user sees them; tensors computed before keep the old values), else ``value`` (of the leaf's dtype, in
        memory no one else writes) becomes its array."""
        if self._base is None and id(self._value) not in Shared.readers:  # the usual leaf: nothing else sees it
            self._value, self.shape = value, value.shape
        elif self._writes_in_place(value):
            self._value[...] = value
        else:
            self._store(value)
        self._version += 1  # views show the new values (PyTorch's optimizers write in place, counting the write)
        Writes.happened()

    def _private_value(self) -> np.ndarray:
        """This leaf's array for a native loop to update in place: the array itself when nothing else can see it
        (it owns its memory, is C-contiguous, and only this tensor refers to it: no view, graph, alias or variable
        holds it) or when user code shares it (as PyTorch updates the storage: tensors computed before get the old
        values first), else a copy the tensor takes first, so that what was made from the old values keeps them.
        The update counts in ``_version``: views read the tensor again."""
        self._version += 1
        # (no local name for the array here: it would count as one more reference)
        if self._writes_in_place(self._value) and self._value.flags.c_contiguous:  # (usually False at once)
            return self._value
        if self._view is not None or sys.getrefcount(self._value) > 2 or self._value.base is not None \
                or not self._value.flags.c_contiguous:
            self.set_(np.array(self._array(), order="C", copy=True))
        return self._value

    def _store(self, value: np.ndarray) -> None:
        """A leaf's new array, shared with the tensor whose ``.data`` this is (a new array rather than a write
        into the old one, so lazily computed tensors keep the values they were made from)."""
        self._value, self.shape = value, value.shape
        base = self._base
        if base is None or self._view is not None:
            return
        if base.node is None and base.dtype == value.dtype and getattr(self, "_storage", None) is getattr(
                base, "_storage", None):
            if self._layouts or len(base._layouts) != self._made_at:
                raise NotSupportedError("an update of a .data or detach() alias after it or its tensor changed shape "
                                        "in place (squeeze_, t_, resize_, …): symnet cannot write it back through "
                                        "the two layouts; clone() the alias or update the tensor itself")
            base._value, base.shape = value, value.shape
        else:  # the alias of a computed tensor (or of another storage now) keeps its own values from here on
            self._base = None

    def _follow_base(self) -> None:
        """A ``.data`` or ``detach()`` alias shows its tensor's values now, as PyTorch's share the storage: an
        in-place update or an optimizer's step of the tensor gives it a new array (tensors made from the old values
        keep them), which the alias takes when read, through the shape changes either had in place since (the same
        storage laid out differently). One whose tensor has another storage (``.data = …``) or dtype since keeps
        its own values from then on."""
        base = self._base
        if self.node is not None:  # written by an op on tensors that require grad: its own graph now
            return
        if getattr(base, "_storage", None) is not self._storage or base.dtype != self.dtype:
            self._base = None
            return
        value = base._array()
        if self._layouts or len(base._layouts) != self._made_at:
            changes = base._layouts[self._made_at:]
            if any(c.inverse is None for c in changes):
                if self._value is not None and np.may_share_memory(value, self._value):
                    return  # resized to fewer elements and not updated since: its own array is that storage
                raise NotSupportedError(f"a .data or detach() alias of shape {list(self.shape)} was made before its "
                                        f"tensor was resized in place to fewer elements (resize_ to "
                                        f"{list(base.shape)}): symnet no longer holds what it reads. Take it again")
            for change in reversed(changes):
                value = layout.apply(value, change.inverse)
            for change in self._layouts:
                value = layout.apply(value, change.forward)
        self._value = value

    # ---------------------------------------------------------------- views and in-place updates
    def _view_of(self, view: Tensor, key: tuple) -> Tensor:
        """Mark ``view`` (``self[key]`` by basic indexing) as a view: in-place updates of either reach the other."""
        view._base, view._view, view._made_at = self, (key, self._version), len(self._layouts)
        return view

    def _sync(self) -> None:
        """A view whose base was updated in place since shows the base's new values (read through its key)."""
        if len(self._base._layouts) != self._made_at:
            self._follow_layouts()
        base, (key, seen) = self._base, self._view
        if base._view is not None:
            base._sync()
        if base._version != seen:
            fresh = base._apply(Index(*key), [base], base.dtype)
            self.node, self._value, self._requires_grad = fresh.node, fresh._value, fresh._requires_grad
            self._view, self._version = (key, base._version), self._version + 1

    def _follow_layouts(self) -> None:
        """A view made before its base changed shape in place reads the same storage, as PyTorch's: it becomes a
        view of the base's old layout, rebuilt from the new one by the inverse changes (a chain of views). Refused
        when a ``resize_`` to fewer elements dropped what it may read."""
        base = self._base
        changes = base._layouts[self._made_at:]
        if any(c.inverse is None for c in changes):
            raise NotSupportedError(f"a view of shape {list(self.shape)} was made before its base was resized in "
                                    f"place to fewer elements (resize_ to {list(base.shape)}): symnet no longer holds "
                                    "what it reads. Take the view again after the resize_")
        old = base
        for change in reversed(changes):
            old = layout.apply(old, change.inverse)
        t = old
        while t is not base:  # read again on first use, in the grad mode of that use
            t._view, t = (t._view[0], -1), t._base
        self._base, self._view, self._made_at = old, (self._view[0], -1), 0

    def _refuse_in_place(self, op: str) -> None:
        """PyTorch's refusal of an in-place change of a leaf that requires grad (or of a view of one) outside
        ``no_grad``, and symnet's of a write into a parameter or buffer while a compiled step is traced."""
        if self.node is None and self._requires_grad and (made := custom_functions.output_of(self)) is not None:
            raise NotSupportedError(f"{op}: an in-place change of an output of the custom autograd.Function "
                                    f"{made[0].function.__name__} is not supported "
                                    "(its backward would not see it); use an out-of-place op (y = y + 1)")
        if self.node is None and self._view is None and is_step_state(self):
            raise NotSupportedError(f"compile: {op} writes into a parameter or buffer while the step is traced; a "
                                    "compiled step would keep the value of the trace. Assign the new value instead "
                                    "(self.buf = self.buf * 0.9 + x.mean()): the step then updates the buffer")
        if grad_mode.enabled:
            leaf = next((t for t in self._bases() if t.node is None and t._requires_grad), None)
            if leaf is not None:
                what = "a leaf Variable" if leaf is self else "a view of a leaf Variable"
                raise GradError(f"{op}: {what} that requires grad is being used in an in-place operation "
                                "(wrap the update in `with symnet.no_grad():`)")

    def _relayout(self, change: layout.Relayout | None, op: str) -> Tensor:
        """The in-place shape change ``change`` (None: the same layout), with PyTorch's rules: a leaf's array is
        viewed in the new shape (so an array shared with NumPy stays shared), a computed tensor's node becomes the
        shape op's (gradients flow through it), a view becomes a view of its old self; views made before read
        through the change (``_follow_layouts``)."""
        if self._view is not None:
            self._sync()
        self._refuse_in_place(op)
        if change is not None:
            if self._view is not None:
                inner = _computed(self.shape, self.dtype, self.node, self._requires_grad, self._value)
                inner._base, inner._view, inner._made_at, inner._version = (self._base, self._view, self._made_at,
                                                                             self._version)
                out = layout.apply(inner, change.forward)
                self._base, self._view, self._made_at = out._base, out._view, out._made_at
                self.node, self._value, self._requires_grad = out.node, out._value, out._requires_grad
            elif self.node is None:
                self._value = self._relaid_array(change, op)
                out = self._value
            else:
                out = layout.apply(self, change.forward)
                t = out
                while t is not None and t is not self:  # the nodes read self's old node: no views of it are kept
                    t._view, t._base, t = None, None, t._base
                self.node, self._value, self._requires_grad = out.node, out._value, out._requires_grad
                if out.node is None:  # made under no_grad: computed at once
                    self._value = out._array()
            self.shape, self._layouts = tuple(out.shape), (*self._layouts, change)
        self._version += 1
        Writes.happened()
        return self

    def _relaid_array(self, change: layout.Relayout, op: str) -> np.ndarray:
        """A leaf's array in its new layout: a view of the old one where numpy can make one. An array user code
        shares with NumPy stays shared (and the nodes that read it keep what they read), as PyTorch's storage."""
        value = self._value
        new = layout.apply(value, change.forward)
        if Shared.holds(value):
            if not np.may_share_memory(new, value):
                raise RuntimeError(f"{op}: Trying to resize storage that is not resizable (the tensor shares the "
                                   "memory of a NumPy array, which cannot grow or be laid out anew)")
            Shared.before_writing(value)
            Shared.share(new, like=value)
        return new

    def _write(self, new: Tensor, op: str) -> Tensor:
        """The in-place update ``self ← new`` with PyTorch's rules, functionalized: a leaf that does not need a
        graph gets the new array, otherwise the tensor's node becomes ``new``'s (so later ops and ``backward``
        see the new value and gradients flow through both); a view writes through to its base."""
        if self._view is not None:
            self._sync()
        self._refuse_in_place(op)
        if not is_float(self.dtype) and is_float(new.dtype):
            raise DTypeError(f"{op}: result type {new.dtype.name} can't be cast to the desired output type "
                             f"{self.dtype.name}")
        if new.shape != self.shape:
            if broadcast_shapes(op, new.shape, self.shape) != self.shape:
                raise ShapeError(f"{op}: output with shape {list(self.shape)} doesn't match the broadcast shape "
                                 f"{list(broadcast_shapes(op, new.shape, self.shape))}")
            new = new.expand(self.shape)
        if new.dtype != self.dtype:
            new = new.to(self.dtype)
        if new.node is None and new._requires_grad:  # a leaf that requires grad (copy_(w)): the write keeps its graph
            new = new.clone()
        if new.node is None or (self.node is None and not new._requires_grad):
            value = new._value if new.node is None and new._base is None and new._value is not None else new._array()
            if self.node is None and self._writes_in_place(value):
                self._value[...] = value  # into the memory user code shares (PyTorch's storage)
            else:
                self._store(value.copy() if new.node is None else value)  # never share a leaf's array
            self.node, self._requires_grad = None, self._requires_grad and self.node is None
        else:
            new.node.written = tuple(k for k, u in enumerate(new.node.inputs) if u is self)
            self.node, self._value, self._requires_grad = new.node, None, new._requires_grad
            if self._view is None:  # an alias computed by ops on tensors that require grad: a graph of its own
                self._base = None
        self._version += 1
        Writes.happened()
        if self._view is not None:
            base = self._base
            base._write(index_put(base, *self._view[0], [], self), op)
            self._view = (self._view[0], base._version)
        return self

    def _writes_in_place(self, value: np.ndarray) -> bool:
        """Whether an update of this leaf to ``value`` goes into its array: when user code shares the array
        (``Shared``) and it can take the values (same shape, writable; an alias from ``.data`` shares its base's)."""
        array, base = self._value, self._base
        return (id(array) in Shared.readers and self._view is None and (base is None or base._value is array)
                and array.shape == value.shape and array.flags.writeable and Shared.before_writing(array))

    def _bases(self):
        """This tensor and the tensors it is a view of."""
        t = self
        while t is not None:
            yield t
            t = t._base if t._view is not None else None

    @property
    def data(self) -> Tensor:
        """The value as a tensor outside the graph sharing this one's storage (``.data`` as in PyTorch: in-place
        updates of it, such as ``w.grad.data.zero_()``, update this tensor)."""
        if varies_per_step(self):  # in a compiled step's trace: computed by the program, never one step's values
            stopped = self._map("stop_gradient")
            stopped._requires_grad = False
            return stopped
        base = self
        if self._base is not None and self._view is None:  # an alias's alias shares the first tensor's storage
            self._follow_base()
            if self._base is not None:
                base = self._base
        alias = Tensor(base._array(), base.shape, base.dtype)
        try:
            alias._storage = base._storage
        except AttributeError:
            alias._storage = base._storage = object()
        alias._base, alias._made_at = base, len(base._layouts)
        return alias

    @data.setter
    def data(self, other) -> None:
        value = np.asarray(other._array() if isinstance(other, Tensor) else other)
        self._value, self.node = value.astype(self.dtype), None
        if self._base is not None and self._view is None:  # an alias given a storage of its own
            self._base = None
        self._storage = object()  # aliases made before keep the old storage, as PyTorch's
        self.shape = value.shape
        Writes.happened()

    def item(self) -> float | int | bool:
        if self.numel() != 1:
            raise ArgumentError(f"item(): only one-element tensors have an item, this one has shape {self.shape}")
        _refuse_reading_what_varies(self)
        return self._array().reshape(()).item()

    def tolist(self):
        _refuse_reading_what_varies(self)
        return self._array().tolist()

    def numel(self) -> int:
        return math.prod(self.shape)

    def dim(self) -> int:
        return len(self.shape)

    ndim = property(dim)

    def size(self, dim: int | None = None) -> Size | int:
        return Size(self.shape) if dim is None else self.shape[normalize_dim(dim, self.dim(), "size")]

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        """The rows, as PyTorch's iteration (``unbind(0)``); a 0-d tensor has none to give: an error, as PyTorch's
        (the item protocol alone would give an empty list)."""
        if not self.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[k] for k in range(len(self)))

    def __array__(self, dtype=None, copy=None):
        return self.numpy() if dtype is None else self._array().astype(dtype)

    def __repr__(self) -> str:
        body = format_values(self._array())
        # an empty tensor's shape is said (but a 1-d one's), and any tensor's when no edge items show its rows
        shown = len(self.shape) == 1 if not self.numel() else tensor_str.OPTIONS["edgeitems"] != 0
        extras = [] if shown else [f"size={tuple(self.shape)}"]
        implied = [dtypes.get_default_dtype(), *((dtypes.int64, dtypes.bool_) if self.numel() else ())]
        if self.dtype not in implied:  # as PyTorch: what the values show is not said again (an empty one shows none)
            extras.append(f"dtype=symnet.{self.dtype.name}")
        if self._requires_grad:  # PyTorch's: the op that made it, or the flag of a leaf
            extras.append(f"grad_fn=<{self.node.name()}>" if self.node is not None else "requires_grad=True")
        if self._name:
            extras.append(f"name={self._name!r}")
        return with_suffixes(body, extras)

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        """An integer tensor of one element where Python wants an index (``xs[t]``, ``range(t)``), as PyTorch's."""
        if self.dtype.kind not in "iub" or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        """A 0-d tensor formats as its number (``f"{loss:.4f}"``), as PyTorch's; any other as ``str`` (a format
        spec is then Python's TypeError)."""
        if not self.shape:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    # ---------------------------------------------------------------- autograd
    def detach(self) -> Tensor:
        """The value outside the graph; in a compiled step's trace, a tensor computed from the batch, a parameter
        or a buffer stays in the program (its gradient stopped), since its value changes every step."""
        return self.data

    def detach_(self) -> Tensor:
        """Detach in place: the tensor keeps its value and leaves the graph, a leaf that does not require grad
        (``torch.Tensor.detach_``; its ``_version`` is unchanged). PyTorch refuses it on a view."""
        if self._view is not None:
            raise GradError("Can't detach views in-place. Use detach() instead.")
        if varies_per_step(self):
            self.node = self._map("stop_gradient").node
        elif self.node is not None:
            self._value, self.node = self._array(), None
        self._requires_grad, self._hooks, self._retains_grad = False, None, False
        Writes.happened()
        return self

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, requires_grad: bool) -> None:
        self.requires_grad_(requires_grad)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """PyTorch's rules: a leaf's flag changes (a tensor computed without grad is a leaf, ``randn(3) * 0.1``:
        its value is computed now and it starts a graph of its own); a tensor computed from ones that require grad
        keeps requiring it."""
        if self._requires_grad and self.node is not None:
            if not requires_grad:
                raise GradError("you can only change requires_grad flags of leaf variables. If you want to use a "
                                "computed variable in a subgraph that doesn't require differentiation use "
                                "var_no_grad = var.detach().")
            return self
        if requires_grad and not is_float(self.dtype):
            raise DTypeError(f"only Tensors of floating point dtype can require gradients, got dtype {self.dtype}")
        if requires_grad and self.node is not None:  # its values now, as a leaf of its own (a view's too)
            self._value, self.node, self._view, self._base = self._array(), None, None, None
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        """PyTorch's: made by the user, or not requiring grad (whatever computed it); not an output of a custom
        autograd.Function."""
        if not self._requires_grad:
            return True
        return self.node is None and custom_functions.output_of(self) is None

    @property
    def grad_fn(self) -> Node | custom_functions.BackwardNode | None:
        """The op that made this tensor when it requires grad, else None (leaves, and tensors made without grad);
        for an output of a custom autograd.Function, its backward."""
        if not self._requires_grad:
            return None
        if self.node is None:
            found = custom_functions.output_of(self)
            return None if found is None else custom_functions.BackwardNode(found[0])
        return self.node

    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False,
                 inputs: Sequence[Tensor] | Tensor | None = None) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad (or for ``inputs``);
        with ``create_graph`` the gradients are tensors with a graph (``torch.Tensor.backward``)."""
        autograd.backward(self, gradient, retain_graph, create_graph, inputs)

    def register_hook(self, hook) -> autograd.RemovableHandle:
        """Call ``hook(grad)`` with this tensor's gradient whenever one is computed; a tensor it returns replaces
        the gradient (for a computed tensor, also the one passed on towards the leaves)."""
        if not self._requires_grad:
            raise GradError("cannot register a hook on a tensor that doesn't require gradient")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        if self.node is not None:
            autograd.watch(self)
        return autograd.RemovableHandle(self._hooks, hook)

    def retain_grad(self) -> None:
        """Keep this computed tensor's gradient in ``.grad`` when ``backward`` runs (leaves always keep theirs)."""
        if not self._requires_grad:
            raise GradError("can't retain_grad on Tensor that has requires_grad=False")
        if self.node is not None:
            self._retains_grad = True
            autograd.watch(self)
        elif custom_functions.output_of(self) is not None:  # a custom Function's output: kept on its way back
            self._retains_grad = True

    def register_post_accumulate_grad_hook(self, hook) -> autograd.RemovableHandle:
        """Call ``hook(tensor)`` after each ``backward`` has accumulated this leaf's ``.grad`` (how an optimizer's
        step is fused into the backward pass)."""
        if not self._requires_grad:
            raise GradError("cannot register a hook on a tensor that doesn't require gradient")
        if not self.is_leaf:
            raise GradError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        hooks = autograd.post_accumulate_hooks(self)
        hooks.append(hook)
        return autograd.RemovableHandle(hooks, hook)

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    # ---------------------------------------------------------------- ops
    def _leaf(self, value: np.ndarray, dtype: np.dtype) -> Tensor:
        return Tensor(value, value.shape, dtype)

    def _apply(self, op: Op, inputs: Sequence[Tensor], dtype: np.dtype, shape: tuple | None = None) -> Tensor:
        """A new tensor made by ``op`` (its shape rule runs now); under no_grad its value is computed at once."""
        if shape is None:
            shape = op.shape([t.shape for t in inputs])
        wants_grad = False
        for t in inputs:
            if t._view is not None:
                t._sync()
            wants_grad = wants_grad or t._requires_grad
        enabled = grad_mode.enabled
        out = _computed(shape, dtype, Node(op, tuple(inputs)), enabled and wants_grad and dtype.kind == "f")
        if not enabled:
            out._realize()
            out.node = None
        return out


def _computed(shape: tuple, dtype: np.dtype, node: Node | None, requires_grad: bool,
              value: np.ndarray | None = None) -> Tensor:
    """An op's result, made without ``__init__``'s argument parsing (the hot path of every op)."""
    t = object.__new__(Tensor)
    t._value, t.shape, t.dtype, t.node, t._requires_grad = value, tuple(shape), dtype, node, requires_grad
    t._grad = t._name = t._base = t._view = t._hooks = None
    t._version, t._retains_grad, t._layouts, t._made_at = 0, False, (), 0
    return t


def _refuse_reading_what_varies(t: Tensor) -> None:
    """A value the steps change, read while a compiled step is traced (``item()``, ``if t > 0:``, a lazily computed
    value), would be kept as this one step's: refused, naming the way out."""
    if varies_per_step(t):
        raise NotSupportedError(
            f"compile: the forward reads the value of a tensor of shape {list(t.shape)} computed from the batch, a "
            "parameter or a buffer (item(), tolist(), bool(), float() or a Python condition on it) while the step "
            "is traced: the compiled step would keep this one value. Keep it a tensor (where(), masked_fill, "
            "clamp) or train eagerly")


def holding(value: np.ndarray) -> Tensor:
    """A leaf on ``value`` (its own shape and dtype; no grad), made without ``__init__``'s argument parsing: the
    gradients backward hands out."""
    return _computed(value.shape, value.dtype, None, False, value)


def _legacy_value(args: tuple) -> np.ndarray:
    if args and all(isinstance(a, int | np.integer) and not isinstance(a, bool) for a in args):
        return np.zeros(args, dtype=dtypes.get_default_dtype())
    if len(args) > 1:
        raise TypeError(f"Tensor(): expected data or sizes, got {len(args)} arguments")
    data = args[0] if args else []
    return np.array(data._array() if isinstance(data, Tensor) else data, dtype=dtypes.get_default_dtype())
