"""``symnet.nn.utils.parametrize``, as ``torch.nn.utils.parametrize``: a module's parameter (or buffer) computed
from unconstrained originals each time it is read. After ``register_parametrization(m, "weight", P())``,
``m.weight`` is ``P()(original)`` — differentiated through, so an optimizer updates the original, kept as
``m.parametrizations.weight.original`` (``original0``, ``original1``, … when ``P.right_inverse`` returns
several) — and assigning ``m.weight = X`` stores ``P.right_inverse(X)``.

As PyTorch does, the module's class becomes a subclass ``Parametrized<Class>`` with a property per parametrized
name; removing the last parametrization gives the module its class back.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Sequence

from ...frontend.autograd import no_grad
from ...frontend.tensor import Tensor
from ..container import ModuleDict, ModuleList
from ..module import Buffer, Module, Parameter

__all__ = ["ParametrizationList", "cached", "is_parametrized", "register_parametrization",
           "remove_parametrizations", "type_before_parametrizations"]

#: the parametrized tensors computed while ``cached`` is in force, per thread
_caching = threading.local()


@contextlib.contextmanager
def cached():
    """Compute each parametrized tensor once inside the block (a parametrization read many times in a forward,
    as a recurrent layer's weight is), as ``torch.nn.utils.parametrize.cached``."""
    depth = getattr(_caching, "depth", 0)
    _caching.depth = depth + 1
    if depth == 0:
        _caching.values = {}
    try:
        yield
    finally:
        _caching.depth = depth
        if depth == 0:
            _caching.values = {}


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order to its original(s) (what the optimizer updates)."""

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False):
        if not modules:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        unparametrized = original.dtype, tuple(original.shape)  # what the parametrized tensor must keep
        with no_grad():
            new = original
            for module in reversed(list(self)):
                new = _right_inverse(module, new)
        if isinstance(new, Tensor):
            self.is_tensor, self.ntensors = True, 1
            _same_dtype(new, original)
            with no_grad():  # the same tensor keeps its identity: an optimizer made before still updates it
                original.set_(new.detach())
            _register(self, "original", original)
        else:
            if not (isinstance(new, Sequence) and all(isinstance(t, Tensor) for t in new)):
                raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                                 f"Got {type(new).__name__}")
            self.is_tensor, self.ntensors = False, len(new)
            for k, value in enumerate(new):
                _register(self, f"original{k}", _same_kind(original, value))
        if not unsafe:
            _unchanged(self.forward(), *unparametrized)

    def originals(self) -> list[Tensor]:
        return [self.original] if self.is_tensor else [getattr(self, f"original{k}") for k in range(self.ntensors)]

    def forward(self) -> Tensor:
        first, *rest = list(self)
        x = first(*self.originals())
        for module in rest:
            x = module(x)
        return x

    def right_inverse(self, value: Tensor) -> None:
        """Store the originals that give ``value`` (an assignment ``module.<name> = value``)."""
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
                value = module.right_inverse(value)
            values = [value] if self.is_tensor else list(value)
            if len(values) != self.ntensors:
                raise ValueError(f"'right_inverse' must return a sequence of tensors of length {self.ntensors}. "
                                 f"Got a sequence of length {len(values)}")
            for original, new in zip(self.originals(), values, strict=True):
                if not self.unsafe:
                    _unchanged(new, original.dtype, tuple(original.shape))
                original.set_(new.detach())


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """``module.<tensor_name>`` computed by ``parametrization`` from then on (after those registered before);
    ``unsafe`` skips the checks that it keeps the tensor's shape and dtype. Returns the module."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            current = getattr(module, tensor_name)
            _unchanged(parametrization(current), current.dtype, tuple(current.shape))
        module.parametrizations[tensor_name].append(parametrization)
        module.parametrizations[tensor_name].unsafe |= unsafe
        return module
    original = module._parameters.get(tensor_name, module._buffers.get(tensor_name))
    if original is None:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with "
                         f"name '{tensor_name}'")
    parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        _subclass(module)
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = parametrizations
    setattr(type(module), tensor_name, property(_reader(tensor_name), _writer(tensor_name)))
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    parametrizations = module.__dict__.get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def type_before_parametrizations(module: Module) -> type:
    return type(module).__bases__[0] if is_parametrized(module) else type(module)


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """``module.<tensor_name>`` a plain parameter (or buffer) again: its current parametrized value, or with
    ``leave_parametrized=False`` its original."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    base, parametrizations = type_before_parametrizations(module), module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
                if value.dtype != original.dtype or value.shape != original.shape:
                    original = _same_kind(original, value)
                else:
                    original.set_(value.detach())
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                             "parametrized in terms of a sequence of tensors.")
        with no_grad():
            original = _same_kind(parametrizations.original0, getattr(module, tensor_name))
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        object.__setattr__(module, "__class__", base)
    return module


# ---------------------------------------------------------------- the class and its properties

def _subclass(module: Module) -> None:
    """Give ``module`` a class of its own, ``Parametrized<Class>``, to hold the properties (as PyTorch's)."""
    base = type(module)

    def __setattr__(self, name: str, value) -> None:
        if is_parametrized(self, name):  # an assignment stores the originals: never a new registration
            object.__setattr__(self, name, value)
        else:
            base.__setattr__(self, name, value)

    def __getstate__(self):
        raise RuntimeError("Serialization of parametrized modules is only supported through state_dict(). See:\n"
                           "https://pytorch.org/tutorials/beginner/saving_loading_models.html"
                           "#saving-loading-a-general-checkpoint-for-inference-and-or-resuming-training")

    def __deepcopy__(self, memo: dict):  # a copy of the same class (pickling, which needs the class, is refused)
        replica = memo.get(id(self))
        if replica is None:
            replica = memo[id(self)] = object.__new__(type(self))
            object.__setattr__(replica, "__dict__", copy.deepcopy(self.__dict__, memo))
        return replica

    subclass = type(f"Parametrized{base.__name__}", (base,), {
        "__setattr__": __setattr__, "__getstate__": __getstate__, "__deepcopy__": __deepcopy__,
        "__module__": base.__module__})
    object.__setattr__(module, "__class__", subclass)


def _reader(tensor_name: str):
    def read(self) -> Tensor:
        values = getattr(_caching, "values", None) if getattr(_caching, "depth", 0) else None
        if values is None:
            return self.parametrizations[tensor_name].forward()
        key = (id(self), tensor_name)
        if key not in values:
            values[key] = self.parametrizations[tensor_name].forward()
        return values[key]

    return read


def _writer(tensor_name: str):
    def write(self, value: Tensor) -> None:
        self.parametrizations[tensor_name].right_inverse(value)

    return write


def _same_kind(original: Tensor, value: Tensor) -> Tensor:
    """``value``'s values as what ``original`` is: a Parameter (requiring grad as it does) or a buffer."""
    if isinstance(original, Parameter):
        return Parameter(value.detach(), requires_grad=original.requires_grad)
    return Buffer(value.detach())


def _register(owner: Module, name: str, tensor: Tensor) -> None:
    if isinstance(tensor, Parameter):
        owner.register_parameter(name, tensor)
    else:
        owner.register_buffer(name, tensor)


def _right_inverse(module: Module, value):
    if not hasattr(module, "right_inverse"):
        return value
    try:
        return module.right_inverse(value)
    except NotImplementedError:
        return value


def _unchanged(new, dtype, shape: tuple) -> None:
    """PyTorch's check of a registration (without ``unsafe``): the parametrized tensor has the unparametrized one's
    dtype and shape."""
    if not isinstance(new, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(new).__name__}.")
    for what, before, after in (("dtype", dtype, new.dtype), ("shape", shape, tuple(new.shape))):
        if before != after:
            raise ValueError(f"Registering a parametrization may not change the {what} of the tensor, unless `unsafe` "
                             f"flag is enabled.\nunparametrized {what}: {before}\nparametrized {what}: {after}")


def _same_dtype(new: Tensor, original: Tensor) -> None:
    """PyTorch's check of a right inverse that gives one tensor: the original's dtype."""
    if new.dtype != original.dtype:
        raise ValueError(f"When `right_inverse` outputs one tensor, it may not change the dtype.\noriginal.dtype: "
                         f"{original.dtype}\nright_inverse(original).dtype: {new.dtype}")
