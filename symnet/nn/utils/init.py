"""``symnet.nn.utils.skip_init``, as ``torch.nn.utils.skip_init``: a module made without its initialization."""

from __future__ import annotations

import inspect

from ..module import Module

__all__ = ["skip_init"]


def skip_init(module_cls: type, *args, **kwargs) -> Module:
    """``module_cls(*args, **kwargs)``. PyTorch leaves the parameters as the memory held them (made on the meta
    device, then given empty storage); symnet has no meta device and initializes them as the constructor does —
    one of the values uninitialized memory may hold, so code that overwrites them runs alike."""
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    return module_cls(*args, **kwargs)
