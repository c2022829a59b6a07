"""A Module saved whole (``torch.save(model)``, ``torch.load(path, weights_only=False)``) as data, never code.

PyTorch pickles the module object. A symnet file holds, beside the state dict, the module tree as plain data: each
module's class by its module and qualified name, its plain attributes (numbers, strings, tuples, dtypes, symnet's
functions by name), which tensors are its parameters and buffers and which modules its children. Loading looks
each class up among the modules the program has already imported (nothing is imported or run from the file, and
only ``nn.Module`` classes are accepted, as PyTorch needs the class defined too), makes the object without calling
its ``__init__`` (as unpickling does) and gives it those attributes. Shared modules and tied parameters stay
shared. What is not plain data (a lambda, an arbitrary object) is named when the load asks for the object.
"""

from __future__ import annotations

import sys
import types

import numpy as np

from .core.dtypes import as_dtype
from .errors import NotSupportedError
from .frontend.creation import tensor
from .frontend.tensor import Tensor
from .nn.module import Module, Parameter

#: the registries Module.__init__ makes: rebuilt from the description, not stored as attributes
_REGISTRIES = ("_parameters", "_buffers", "_non_persistent_buffers_set", "_modules")
#: the NumPy kinds an attribute's array or scalar may have: bool, integers, floats (never objects)
_NUMERIC = "biuf"
#: where the arrays of tensors the state dict does not hold (non-persistent buffers) are stored
EXTRA = "__module_tensors__"


def describe(module: Module, state_keys: dict[int, str]) -> tuple[dict, dict[str, np.ndarray]]:
    """The tree under ``module`` as JSON-ready data, and the arrays of its tensors that are not in the state dict
    (``state_keys``: a state tensor's key by the id of the tensor it shows)."""
    modules: list[dict] = []
    tensors: list[dict] = []
    extra: dict[str, np.ndarray] = {}
    module_at: dict[int, int] = {}
    tensor_at: dict[int, int] = {}

    def tensor_index(t: Tensor | None, parameter: bool) -> int | None:
        if t is None:
            return None
        if id(t) not in tensor_at:
            key = state_keys.get(id(t))
            if key is None:
                key = f"{EXTRA}/{len(extra)}"
                extra[key] = t.detach()._array()
            tensor_at[id(t)] = len(tensors)
            tensors.append({"key": key, "parameter": parameter, "requires_grad": bool(t.requires_grad)})
        return tensor_at[id(t)]

    def node(m: Module) -> int:
        if id(m) in module_at:
            return module_at[id(m)]
        module_at[id(m)] = len(modules)
        entry: dict = {}
        modules.append(entry)
        kind = type(m)
        registered = {*m._parameters, *m._buffers, *m._modules}
        entry.update({
            "class": [kind.__module__, kind.__qualname__],
            "attributes": {name: _encoded(value, tensor_index, node) for name, value in vars(m).items()
                           if name not in _REGISTRIES and name not in registered and not name.startswith("_forward")
                           and not name.startswith("_backward")},
            "parameters": {name: tensor_index(p, True) for name, p in m._parameters.items()},
            "buffers": {name: tensor_index(b, False) for name, b in m._buffers.items()},
            "non_persistent": sorted(m._non_persistent_buffers_set),
            "children": {name: None if c is None else node(c) for name, c in m._modules.items()},
        })
        return module_at[id(m)]

    node(module)
    return {"modules": modules, "tensors": tensors}, extra


def _encoded(value, tensor_index, module_index):
    """An attribute as JSON data: plain values as they are, tuples, lists, dicts, dtypes, tensors and modules (by
    their index) and symnet's functions tagged; anything else recorded by its type, to be named if the object is
    asked for."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list):
        return {"tuple" if isinstance(value, tuple) else "list": [_encoded(v, tensor_index, module_index)
                                                                  for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: _encoded(v, tensor_index, module_index) for k, v in value.items()}}
    if isinstance(value, Tensor):
        return {"tensor": tensor_index(value, isinstance(value, Parameter))}
    if isinstance(value, Module):  # held outside the registries (a plain list of layers): kept, not registered
        return {"module": module_index(value)}
    if isinstance(value, np.dtype):
        return {"dtype": value.name}
    if isinstance(value, np.ndarray | np.generic) and value.dtype.kind in _NUMERIC:  # a constant kept beside
        return {"numpy": [value.dtype.name, list(np.shape(value)), np.ravel(value).tolist(),
                          isinstance(value, np.generic)]}
    if isinstance(value, types.FunctionType | types.BuiltinFunctionType) and _symnet_function(
            value.__module__, value.__name__) is value:
        return {"function": [value.__module__, value.__name__]}
    return {"unsupported": type(value).__qualname__}


def _symnet_function(module: str | None, name: str):
    """A function of symnet's own modules by name (None if there is none such already imported)."""
    if not isinstance(module, str) or not (module == "symnet" or module.startswith("symnet.")):
        return None
    found = _member(sys.modules.get(module), name)
    return found if isinstance(found, types.FunctionType | types.BuiltinFunctionType) else None


def _member(owner, name):
    """``owner``'s own member ``name`` (a module's or class's dict entry: no ``__getattr__``, no descriptor, nothing
    run), never a dunder; None if there is none."""
    if owner is None or not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
        return None
    return vars(owner).get(name) if isinstance(owner, types.ModuleType | type) else None


def rebuild(description, arrays: dict, where: str) -> Module:
    """The module a ``describe`` description and the file's arrays stand for; anything malformed, a class the
    program has not defined or an attribute that was not plain data is refused by name."""
    if not (isinstance(description, dict) and isinstance(description.get("modules"), list) and description["modules"]
            and isinstance(description.get("tensors"), list)):
        raise NotSupportedError(f"load({where}, weights_only=False): the file holds a module's state but not its "
                                "structure (saved by an older symnet): build the model and call "
                                "model.load_state_dict(symnet.load(path))")
    tensors = [_tensor(t, arrays, where) for t in description["tensors"]]
    entries = description["modules"]
    built = [_empty(entry, where) for entry in entries]
    for module, entry in zip(built, entries, strict=True):
        _fill(module, entry, built, tensors, where)
    _refuse_cycles(built, where)
    try:
        repr(built[0])  # every module's extra_repr reads its class's attributes: one the file lacks is named now
    except (AttributeError, RecursionError) as exc:
        raise ValueError(f"{where}: the module the file describes is incomplete or malformed ({exc})") from None
    return built[0]


def _refuse_cycles(built: list[Module], where: str) -> None:
    """A module among its own descendants (only a hostile file makes one: PyTorch's recursions over children, and
    symnet's, would never end) is refused."""
    done: set[int] = set()
    for root in built:
        path, stack = set(), [(root, iter(root._modules.values()))]
        path.add(id(root))
        while stack:
            child = next((c for c in stack[-1][1] if c is not None), None)
            if child is None:
                module, _ = stack.pop()
                path.discard(id(module))
                done.add(id(module))
            elif id(child) in path:
                raise ValueError(f"{where}: the module tree has a cycle through {type(child).__name__}")
            elif id(child) not in done:
                path.add(id(child))
                stack.append((child, iter(child._modules.values())))


def _tensor(entry, arrays: dict, where: str) -> Tensor:
    """A parameter or buffer from the file's array (a state entry, read as a tensor, or an extra array)."""
    found = arrays.get(entry.get("key")) if isinstance(entry, dict) and isinstance(entry.get("key"), str) else None
    if isinstance(found, Tensor):
        found = found._array()
    if not (isinstance(found, np.ndarray) and isinstance(entry.get("parameter"), bool)
            and isinstance(entry.get("requires_grad"), bool)):
        raise ValueError(f"{where}: a module tensor entry is malformed: {entry!r:.80}")
    value = tensor(found)
    return Parameter(value, requires_grad=entry["requires_grad"]) if entry["parameter"] else value


def _empty(entry, where: str) -> Module:
    """The object of an entry's class, made as unpickling makes it (``__new__``, no ``__init__``), with the
    registries every Module has."""
    if not (isinstance(entry, dict) and isinstance(entry.get("class"), list) and len(entry["class"]) == 2
            and all(isinstance(part, str) for part in entry["class"])):
        raise ValueError(f"{where}: a module entry is malformed: {entry!r:.80}")
    module_name, qualname = entry["class"]
    found = sys.modules.get(module_name)
    for part in qualname.split("."):
        found = _member(found, part)
    if not (isinstance(found, type) and issubclass(found, Module)):
        raise NotSupportedError(f"load({where}, weights_only=False): the class {module_name}.{qualname} is not a "
                                "Module this program defines or has imported; define or import it first (as "
                                "PyTorch needs it too)")
    module = found.__new__(found)
    Module.__init__(module)
    return module


def _fill(module: Module, entry: dict, built: list[Module], tensors: list[Tensor], where: str) -> None:
    attributes, parameters, buffers = entry.get("attributes"), entry.get("parameters"), entry.get("buffers")
    children, transient = entry.get("children"), entry.get("non_persistent")
    if not (isinstance(attributes, dict) and isinstance(parameters, dict) and isinstance(buffers, dict)
            and isinstance(children, dict) and isinstance(transient, list)):
        raise ValueError(f"{where}: a module entry of {type(module).__name__} is malformed")
    members = {*parameters, *buffers, *children}
    for name, value in attributes.items():
        if name in members:  # a member twice: as a parameter, buffer or child and as a plain attribute
            raise ValueError(f"{where}: {type(module).__name__}.{name} may not be a plain attribute")
        object.__setattr__(module, _name(name, where),
                           _decoded(value, f"{type(module).__name__}.{name}", (tensors, built), where))
    for registry, listed, pool in (("_parameters", parameters, tensors), ("_buffers", buffers, tensors),
                                   ("_modules", children, built)):
        for name, k in listed.items():
            if k is not None and not (type(k) is int and 0 <= k < len(pool)):
                raise ValueError(f"{where}: {type(module).__name__}.{name} refers to no stored object")
            value = None if k is None else pool[k]
            if registry == "_parameters" and value is not None and not isinstance(value, Parameter):
                raise ValueError(f"{where}: {type(module).__name__}.{name} is a parameter stored as a buffer")
            getattr(module, registry)[_name(name, where)] = value
            object.__setattr__(module, name, value)
    module._non_persistent_buffers_set.update(n for n in transient if isinstance(n, str) and n in buffers)


def _name(name, where: str) -> str:
    """A member's name: a string without dots (a ModuleDict's keys need not be identifiers), never a dunder (a
    hostile file's ``__class__`` or ``__dict__``) nor a registry's (its ``_modules`` replaced by data)."""
    if not (isinstance(name, str) and name and "." not in name and not name.startswith("__")) or name in _REGISTRIES:
        raise ValueError(f"{where}: {name!r:.40} is not a member name")
    return name


def _decoded(value, what: str, pools: tuple[list[Tensor], list[Module]], where: str):
    """An attribute from its JSON data; ``pools``: the rebuilt tensors and modules its indices refer to."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (tag, body), = value.items()
        if tag in ("tuple", "list") and isinstance(body, list):
            items = [_decoded(v, what, pools, where) for v in body]
            return tuple(items) if tag == "tuple" else items
        if tag == "dict" and isinstance(body, dict):
            return {k: _decoded(v, what, pools, where) for k, v in body.items()}
        for kind, pool in zip(("tensor", "module"), pools, strict=True):
            if tag == kind and type(body) is int and 0 <= body < len(pool):
                return pool[body]
        if tag == "numpy":
            return _numpy_value(body, what, where)
        if tag == "dtype" and isinstance(body, str):
            return as_dtype(body)
        if tag == "function" and isinstance(body, list) and len(body) == 2:
            found = _symnet_function(*body)
            if found is not None:
                return found
        if tag == "unsupported" and isinstance(body, str):
            raise NotSupportedError(f"load({where}, weights_only=False): {what} was a {body}, which a symnet file "
                                    "does not hold (data only, never code); build the model and call "
                                    "model.load_state_dict(symnet.load(path))")
    raise ValueError(f"{where}: the attribute {what} is malformed")


def _numpy_value(body, what: str, where: str):
    """A NumPy array or scalar attribute from its dtype name, shape, values and scalar flag, checked."""
    if not (isinstance(body, list) and len(body) == 4 and isinstance(body[0], str) and isinstance(body[1], list)
            and all(type(n) is int and n >= 0 for n in body[1]) and isinstance(body[2], list)
            and isinstance(body[3], bool)):
        raise ValueError(f"{where}: the attribute {what} is malformed")
    try:
        dtype = np.dtype(body[0])
    except TypeError:
        raise ValueError(f"{where}: the attribute {what} names no NumPy dtype") from None
    if dtype.kind not in _NUMERIC or int(np.prod(body[1])) != len(body[2]) or \
            not all(isinstance(v, bool | int | float) for v in body[2]):
        raise ValueError(f"{where}: the attribute {what} is malformed")
    values = np.array(body[2], dtype=dtype).reshape(body[1])
    return values[()] if body[3] else values
