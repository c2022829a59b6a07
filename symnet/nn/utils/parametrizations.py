"""``symnet.nn.utils.parametrizations``, as ``torch.nn.utils.parametrizations``: weight normalization as a
parametrization (``weight = g · v / ‖v‖``, ‖·‖ over every dimension but ``dim``)."""

from __future__ import annotations

from ...errors import NotSupportedError
from ...frontend.tensor import Tensor
from ..module import Module
from . import parametrize

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """‖v‖₂ over every dimension but ``dim`` (all of them for −1), kept as size-1 dimensions (``torch.norm_except_dim``
    with pow 2)."""
    if dim == -1:
        return v.norm(2)
    others = [d for d in range(v.dim()) if d != dim % max(v.dim(), 1)]
    return (v * v).sum(others, keepdim=True).sqrt()


def weight_norm_of(v: Tensor, g: Tensor, dim: int) -> Tensor:
    """``torch._weight_norm``: v scaled to the norm g along ``dim``."""
    return v * (g / norm_except_dim(v, dim))


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_norm_of(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """``module.<name>`` as ``g · v / ‖v‖`` with g and v its originals (``parametrizations.<name>.original0`` and
    ``original1``), as ``torch.nn.utils.parametrizations.weight_norm``."""
    return parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    raise NotSupportedError("parametrizations.spectral_norm is not supported (its power iteration's buffers); "
                            "weight_norm is")


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    raise NotSupportedError("parametrizations.orthogonal is not supported (it needs matrix_exp or Householder "
                            "products); register a parametrization of your own with parametrize")
