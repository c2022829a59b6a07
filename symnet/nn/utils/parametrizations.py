"""``symnet.nn.utils.parametrizations``, as ``torch.nn.utils.parametrizations``: weight normalization
(``weight = g · v / ‖v‖``, ‖·‖ over every dimension but ``dim``) and spectral normalization (``weight / σ``) as
parametrizations."""

from __future__ import annotations

from ...errors import NotSupportedError
from ...frontend.tensor import Tensor
from .. import functional as F
from ..module import Module, update_buffer
from . import parametrize

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def norm_except_dim(v: Tensor, dim: int) -> Tensor:
    """‖v‖₂ over every dimension but ``dim`` (all of them for −1), kept as size-1 dimensions (``torch.norm_except_dim``
    with pow 2)."""
    if dim == -1:
        return v.norm(2)
    return v.norm(2, [d for d in range(v.dim()) if d != dim % max(v.dim(), 1)], keepdim=True)


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


class _SpectralNorm(Module):
    """The weight divided by its largest singular value σ, estimated by power iteration on the vectors ``_u`` and
    ``_v`` (buffers: each training forward refines them by ``n_power_iterations`` steps, outside the graph)."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12):
        super().__init__()
        ndim = weight.dim()
        if dim >= ndim or dim < -ndim:
            raise IndexError("Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim, self.eps = dim % ndim, eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            matrix = self._matrix(weight.detach())
            h, w = matrix.shape
            self.register_buffer("_u", F.normalize(matrix.new_empty(h).normal_(0, 1), dim=0, eps=eps))
            self.register_buffer("_v", F.normalize(matrix.new_empty(w).normal_(0, 1), dim=0, eps=eps))
            self._power_method(matrix, 15)

    def _matrix(self, weight: Tensor) -> Tensor:
        """The weight with ``dim`` first, flattened to a matrix."""
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, matrix: Tensor, iterations: int) -> tuple[Tensor, Tensor]:
        """``iterations`` steps from the buffers' vectors, outside the graph, stored back (``update_buffer``: now,
        eagerly; inside the native step, compiled); the new vectors."""
        matrix, u, v = matrix.detach(), self._u, self._v
        for _ in range(iterations):
            u = F.normalize(matrix.mv(v), dim=0, eps=self.eps)
            v = F.normalize(matrix.T.mv(u), dim=0, eps=self.eps)
        update_buffer(self._u, u)
        update_buffer(self._v, v)
        return u.detach(), v.detach()

    def forward(self, weight: Tensor) -> Tensor:
        if weight.dim() == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        matrix = self._matrix(weight)
        u, v = self._power_method(matrix, self.n_power_iterations) if self.training else (self._u, self._v)
        return weight / u.vdot(matrix.mv(v))

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """``module.<name>`` divided by its spectral norm, as ``torch.nn.utils.parametrizations.spectral_norm``
    (``dim`` 1 for transposed convolutions, else 0)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__ in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d") else 0
    return parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    raise NotSupportedError("parametrizations.orthogonal is not supported (its Cayley and Householder maps need "
                            "factorizations); register a skew-symmetric parametrization followed by one of "
                            "matrix_exp with parametrize")
