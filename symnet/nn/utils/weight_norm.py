"""``symnet.nn.utils.weight_norm``, PyTorch's older weight normalization (deprecated there in favour of
``parametrizations.weight_norm``): parameters ``<name>_g`` and ``<name>_v``, and a forward pre-hook that sets
``module.<name>`` to ``g · v / ‖v‖`` before every forward."""

from __future__ import annotations

import warnings

from ...frontend.autograd import no_grad
from ..module import Module, Parameter
from .parametrizations import norm_except_dim, weight_norm_of

__all__ = ["remove_weight_norm", "weight_norm"]


class WeightNorm:
    """The pre-hook of one weight-normalized tensor."""

    def __init__(self, name: str, dim: int | None):
        self.name, self.dim = name, -1 if dim is None else dim

    def compute_weight(self, module: Module):
        return weight_norm_of(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"), self.dim)

    def __call__(self, module: Module, inputs) -> None:
        setattr(module, self.name, self.compute_weight(module))

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))


def _hooks_of(module: Module) -> list:
    return module.__dict__.get("_forward_pre_hooks") or []


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Split ``module.<name>`` into a magnitude ``<name>_g`` and a direction ``<name>_v``, recomputed before every
    forward (``torch.nn.utils.weight_norm``, with its deprecation warning)."""
    warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                  "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)
    if any(isinstance(hook.fn, WeightNorm) and hook.fn.name == name for hook in _hooks_of(module)):
        raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    fn = WeightNorm(name, dim)
    weight = getattr(module, name)
    delattr(module, name)
    with no_grad():
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, fn.dim).detach()))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
    setattr(module, name, fn.compute_weight(module))
    module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    hooks = _hooks_of(module)
    for hook in hooks:
        if isinstance(hook.fn, WeightNorm) and hook.fn.name == name:
            hook.fn.remove(module)
            hooks.remove(hook)
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
