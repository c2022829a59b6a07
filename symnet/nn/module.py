"""``Module`` and ``Parameter``: attribute registration, parameters and buffers, state dicts, modes, dtypes and
devices, as in ``torch.nn.Module``.

Buffers (running statistics) change in a module's forward. Eagerly that happens at once, as in PyTorch; while a
compiled step traces the model (``buffer_updates``), the new values are collected as tensors of the traced
graph instead, so the step computes them natively and feeds them back like optimizer state.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np

from ..core import dtypes
from ..core.dtypes import as_dtype, is_float, of_data
from ..errors import DTypeError, NotSupportedError, ShapeError, StateDictError
from ..frontend.autograd import RemovableHandle
from ..frontend.device import check_device, device, to_arguments
from ..frontend.tensor import Tensor
from .backward_hooks import BackwardHooks


class Parameter(Tensor):
    """A leaf tensor that a Module owns and an optimizer updates (requires grad by default)."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, name: str | None = None):
        value = np.array(data._array() if isinstance(data, Tensor) else data)
        if value.dtype.kind != "f":
            value = value.astype(dtypes.get_default_dtype())
        super().__init__(value, value.shape, of_data(value.dtype), requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """A tensor that, assigned as a module attribute, registers itself as a buffer (``torch.nn.Buffer``):
    ``self.running = Buffer(t, persistent=False)`` is ``self.register_buffer("running", t, persistent=False)``.
    It holds ``data``'s values without its graph (``data.detach()``, keeping ``requires_grad``)."""

    __slots__ = ("persistent",)

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True):
        if data is None:
            data = Tensor(np.zeros(0, dtypes.get_default_dtype()), (0,), dtypes.get_default_dtype())
        super().__init__(data.detach()._array(), data.shape, data.dtype, requires_grad=data.requires_grad)
        self.persistent = persistent


# ---------------------------------------------------------------- buffer updates made in forward
_recording = threading.local()
#: how deep in module calls this thread is (the outermost call names parameters)
_calls = threading.local()


@contextlib.contextmanager
def buffer_updates() -> Iterator[list[tuple[Tensor, Tensor]]]:
    """Within it, ``update_buffer`` records (buffer, new value) pairs instead of applying them: how a compiled
    step traces running statistics as outputs of the step (per thread, like grad mode)."""
    outer = getattr(_recording, "updates", None), getattr(_recording, "assigned", None)
    _recording.updates, _recording.assigned = updates, assigned = [], {}
    try:
        yield updates
    finally:
        for (module, name), original in assigned.items():  # the module holds its buffer again, not a traced value
            module._buffers[name] = original
            object.__setattr__(module, name, original)
        _recording.updates, _recording.assigned = outer


def update_buffer(buffer: Tensor, value: Tensor) -> None:
    """A forward's new value of a buffer: computed and stored now (eager, as PyTorch), or recorded while a
    compiled step is traced. The buffer stays the same tensor, so compiled steps keep their binding."""
    updates = getattr(_recording, "updates", None)
    if updates is not None:
        updates.append((buffer, value))
    else:
        buffer._update(np.asarray(value.detach()._array(), dtype=buffer.dtype))


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns, as PyTorch's ``_IncompatibleKeys``."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:  # what a notebook shows after model.load_state_dict(...), as PyTorch's
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


class _Hook:
    """A forward (pre-)hook and how PyTorch calls it."""

    def __init__(self, fn: Callable, with_kwargs: bool, always_call: bool):
        self.fn, self.with_kwargs, self.always_call = fn, with_kwargs, always_call

    def __call__(self, module: Module, args: tuple, kwargs: dict, *output):
        return self.fn(module, args, kwargs, *output) if self.with_kwargs else self.fn(module, args, *output)


def _run_pre_hooks(module: Module, hooks: list[_Hook], args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    for hook in list(hooks):
        changed = hook(module, args, kwargs)
        if changed is None:
            continue
        if hook.with_kwargs:
            if not (isinstance(changed, tuple) and len(changed) == 2):
                raise RuntimeError(f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got "
                                   f"{changed}.")
            args, kwargs = changed
        else:
            args = changed if isinstance(changed, tuple) else (changed,)
    return args, kwargs


class Module:
    """Base class of layers and models: assign Parameters and Modules as attributes, define ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}.__init__ must call super().__init__() first")
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(symnet.nn.Buffer, symnet.Tensor or None expected)")
            self._assigning_buffer(name, value)
            self._buffers[name] = value
            if isinstance(value, Buffer):
                self._persistent(name, value.persistent)
            object.__setattr__(self, name, value)
            return
        if isinstance(value, Buffer):
            self._parameters.pop(name, None)
            self._modules.pop(name, None)
            self.register_buffer(name, value, value.persistent)
            return
        # a plain value where a parameter or submodule is would drop it from training silently: PyTorch's refusal
        if name in self._parameters and value is not None and not isinstance(value, Parameter):
            raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' (symnet.nn.Parameter or "
                            "None expected)")
        if name in self._modules and value is not None and not isinstance(value, Module):
            raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' (symnet.nn.Module or "
                            "None expected)")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent_buffers_set.discard(name)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def _assigning_buffer(self, name: str, value: Tensor | None) -> None:
        """While a compiled step is traced, ``self.<buffer> = value`` is the buffer's update (as ``update_buffer``):
        the rest of the forward reads ``value``, and the module gets its buffer back when the trace ends."""
        updates = getattr(_recording, "updates", None)
        if updates is None:
            return
        original = _recording.assigned.setdefault((self, name), self._buffers[name])
        if value is None or original is None or value.shape != original.shape:
            raise NotSupportedError(f"compile: forward replaces buffer {name!r} of {type(self).__name__} by "
                                    f"{'None' if value is None else f'a tensor of shape {list(value.shape)}'}; "
                                    "a compiled step updates a buffer with values of its shape")
        updates.append((original, value))

    def __getattr__(self, name: str):
        # only reached when normal lookup fails
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers_set.discard(name)
        object.__delattr__(self, name)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} defines no forward()")

    def __call__(self, *args, **kwargs):
        own = self.__dict__
        depth = getattr(_calls, "depth", 0)
        _calls.depth = depth + 1
        try:
            out = self._hooked_forward(args, kwargs) if own.get("_hooked") else self.forward(*args, **kwargs)
        finally:
            _calls.depth = depth
        if depth == 0 and not own.get("_named"):
            # the first outermost call names the parameters (lazy ones made by it too) by their paths, as the
            # compiled step prints them, so that sn.formulas of what it returns shows W0, b_fc1 rather than letters
            self.name_parameters()
            object.__setattr__(self, "_named", True)
        return out

    def _hooked_forward(self, args: tuple, kwargs: dict):
        """``forward`` between its pre-hooks and hooks, its input and output set up for its backward hooks, as
        PyTorch's ``_call_impl`` runs them."""
        own = self.__dict__
        pre, post = own.get("_forward_pre_hooks"), own.get("_forward_hooks")
        backward, backward_pre = own.get("_backward_hooks"), own.get("_backward_pre_hooks")
        hooks = BackwardHooks(self, backward or (), backward_pre or ()) if backward or backward_pre else None
        try:
            if pre:
                args, kwargs = _run_pre_hooks(self, pre, args, kwargs)
            if hooks is not None:
                args = hooks.inputs(args)
            out = self.forward(*args, **kwargs)
        except BaseException:
            for hook in post or ():
                if hook.always_call:
                    hook(self, args, kwargs, None)
            raise
        for hook in list(post or ()):
            changed = hook(self, args, kwargs, out)
            out = out if changed is None else changed
        return out if hooks is None else hooks.output(out)

    # ---------------------------------------------------------------- hooks
    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args)`` before every forward (``hook(module, args, kwargs)`` with ``with_kwargs``): a
        value it returns replaces the arguments (a non-tuple is the one argument; with ``with_kwargs``, an
        ``(args, kwargs)`` pair), as PyTorch's."""
        return self._add_hook("_forward_pre_hooks", _Hook(hook, with_kwargs, False), prepend)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """``hook(module, args, output)`` after every forward (``hook(module, args, kwargs, output)`` with
        ``with_kwargs``): a value it returns replaces the output; ``always_call`` also calls it (with output None)
        when forward raises. The features a hook keeps are the tensors forward made, as in PyTorch."""
        return self._add_hook("_forward_hooks", _Hook(hook, with_kwargs, always_call), prepend)

    def _add_hook(self, kind: str, hook: Callable, prepend: bool) -> RemovableHandle:
        hooks = self.__dict__.setdefault(kind, [])
        hooks.insert(0, hook) if prepend else hooks.append(hook)
        self.__dict__["_hooked"] = True  # calls take the hooked path from now on (an empty list of hooks is harmless)
        return RemovableHandle(hooks, hook)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` once the gradients by the module's positional inputs are
        computed (None for an argument without one); a tuple it returns replaces ``grad_input``. Eager backward
        only (see ``backward_hooks``)."""
        return self._add_hook("_backward_hooks", hook, prepend)

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_output)`` once the gradient by the module's output is computed, before the
        module's own backward; a tuple it returns replaces ``grad_output``."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def register_backward_hook(self, hook: Callable):
        raise NotSupportedError("register_backward_hook: PyTorch deprecates it (its grad_input is the last op's, not "
                                "the module's); use register_full_backward_hook")

    # ---------------------------------------------------------------- registration
    def _check_new_name(self, name, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if hasattr(self, name) and name not in (self._parameters if kind == "parameter" else
                                                self._buffers if kind == "buffer" else self._modules):
            raise KeyError(f"attribute '{name}' already exists")

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor the module keeps that is not a parameter (running statistics): in ``state_dict`` when
        ``persistent``, converted by ``to(dtype)`` when float, never trained."""
        self._check_new_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(symnet.Tensor or None required)")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._buffers[name] = tensor
        self._persistent(name, persistent)
        object.__setattr__(self, name, tensor)

    def _persistent(self, name: str, persistent: bool) -> None:
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        self._check_new_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(symnet.nn.Parameter or None required)")
        setattr(self, name, param)

    def register_module(self, name: str, module: Module | None) -> None:
        self._check_new_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        setattr(self, name, module)

    add_module = register_module

    # ---------------------------------------------------------------- traversal
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first, with dotted names (``""`` for this one)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry: Callable[[Module], dict], prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Tensor]]:
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, t in registry(module).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield module_prefix + ("." if module_prefix else "") + name, t

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        return self._named_members(lambda m: m._parameters, prefix.rstrip("."), recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members(lambda m: m._buffers, prefix.rstrip("."), recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        module = self
        for item in target.split(".") if target else ():
            if item not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = module._modules[item]
        return module

    def _get_member(self, target: str, registry: str, what: str) -> Tensor:
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in getattr(module, registry):
            raise AttributeError(f"`{name}` is not a {what}")
        return getattr(module, registry)[name]

    def get_parameter(self, target: str) -> Parameter:
        return self._get_member(target, "_parameters", "nn.Parameter")

    def get_buffer(self, target: str) -> Tensor:
        return self._get_member(target, "_buffers", "buffer")

    def apply(self, fn: Callable[[Module], object]) -> Module:
        """``fn`` on every submodule, then on this one (initialization, as in PyTorch)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def name_parameters(self) -> Module:
        """Give unnamed parameters the names formulas print: ``0.weight`` → ``W0``, ``fc1.bias`` → ``b_fc1``."""
        for dotted, p in self.named_parameters():
            if p.name is None:
                *path, leaf = dotted.split(".")
                if leaf.isdigit():  # an entry of a ParameterList: ``scale.0`` → ``scale_0``
                    leaf = f"{path.pop()}_{leaf}" if path else f"p{leaf}"
                head = {"weight": "W", "bias": "b"}.get(leaf, leaf)
                tail = "_".join(path)
                p.name = head + (tail if tail.isdigit() or not tail else "_" + tail)
        return self

    # ---------------------------------------------------------------- gradients
    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    # ---------------------------------------------------------------- state
    def _state(self) -> Iterator[tuple[str, Tensor]]:
        """Parameters and persistent buffers, module by module (PyTorch's ``state_dict`` order: a module held
        under two names is listed under both, as PyTorch's state_dict recurses without removing duplicates)."""
        for prefix, module in self.named_modules(remove_duplicate=False):
            dot = prefix + ("." if prefix else "")
            for name, p in module._parameters.items():
                if p is not None:
                    yield dot + name, p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent_buffers_set:
                    yield dot + name, b

    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Parameter and persistent buffer values by PyTorch's dotted keys (``0.weight``, ``1.running_mean``,
        ``1.num_batches_tracked``), as tensors without grad sharing their memory, as PyTorch's: training on
        changes a state taken before (``copy.deepcopy`` keeps one), and writing into it (``copy_``) writes the
        parameter. Tensors computed before such a write keep the values they were computed from."""
        state = OrderedDict()
        for name, t in self._state():
            exposed = t.numpy()  # its memory is shared, as the NumPy bridge shares it: updates write into it in place
            state[name] = alias = t.detach()
            alias._exposure = exposed  # ... while the state's tensor lives (a checkpoint taken once costs nothing)
        return state

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values in (NumPy arrays, symnet or CPU torch tensors), checking names, shapes and kinds first:
        nothing changes if anything is off. Parameters and buffers keep their identity and dtype."""
        own = dict(self._state())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise StateDictError(f"Error(s) in loading state_dict for {type(self).__name__}: missing keys {missing}, "
                                 f"unexpected keys {unexpected}")
        updates = []
        for name, t in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            value = np.asarray(value._array() if isinstance(value, Tensor) else value)
            if value.shape != t.shape:
                raise ShapeError(f"load_state_dict: {name} has shape {value.shape} in the state, {t.shape} here")
            if is_float(t.dtype) != (value.dtype.kind == "f") or value.dtype.kind not in "fiub":
                kind = "a float" if is_float(t.dtype) else "an integer"
                raise DTypeError(f"load_state_dict: {name} has dtype {value.dtype}, expected {kind} dtype")
            updates.append((t, value))
        for t, value in updates:
            t._update(value.astype(t.dtype, copy=True))
        return IncompatibleKeys(missing, unexpected)

    # ---------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    # ---------------------------------------------------------------- dtypes and devices
    def to(self, *args, **kwargs) -> Module:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)`` or keywords, as in PyTorch:
        parameters and float buffers take a float dtype; the device must be the CPU."""
        where, dtype = to_arguments(args, kwargs)
        check_device(where)
        if dtype is None:
            return self
        dtype = as_dtype(dtype)
        if not is_float(dtype):
            raise DTypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        for p in self.parameters():
            p.dtype = dtype
            p.set_(p._array())
            p.grad = None
        for b in self.buffers():
            if is_float(b.dtype):
                b.dtype = dtype
                b.set_(b._array())
        return self

    def cpu(self) -> Module:
        return self

    def cuda(self, device: int | device | None = None) -> Module:  # noqa: ARG002 - torch's signature
        check_device("cuda")
        return self

    def double(self) -> Module:
        return self.to(dtypes.float64)

    def float(self) -> Module:
        return self.to(dtypes.float32)

    # ---------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        """PyTorch's layout: the extra representation, then one ``(name): child`` line per child."""
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        lines += [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = type(self).__name__ + "("
        if len(lines) == 1 and not self._modules:
            return head + lines[0] + ")"
        return head + ("\n  " + "\n  ".join(lines) + "\n" if lines else "") + ")"
