"""Distances between batches of vectors, as in ``torch.nn``: ``cosine_similarity`` and ``pairwise_distance``
with PyTorch 2.13's ε rules, and the ``CosineSimilarity`` and ``PairwiseDistance`` modules."""

from __future__ import annotations

import math

import numpy as np

from ..frontend.dims import normalize_dim
from ..frontend.shaping import cat
from ..frontend.tensor import Tensor
from .module import Module


def abs_power(x: Tensor, p: float) -> Tensor:
    """|x|^p, as x·x for p = 2 (no kink of abs in the formula)."""
    return x * x if p == 2 else x.abs() ** p


def _norm(x: Tensor, p: float, dim: int, keepdim: bool) -> Tensor:
    """‖x‖_p along ``dim``: max|x| for p = inf, the count of non-zeros for p = 0."""
    if p == math.inf:
        return x.abs().amax(dim, keepdim)
    if p == 0:
        return (x != 0).sum(dim, keepdim).to(x.dtype)
    total = abs_power(x, p).sum(dim, keepdim)
    # at a zero vector the root's derivative is infinite: lifting the sum to the smallest normal number makes
    # the gradient 0 there, as PyTorch's norm has it
    return total.clamp(min=float(np.finfo(total.dtype).tiny)) ** (1 / p)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ (x1/max(‖x1‖, ε))·(x2/max(‖x2‖, ε)) along ``dim`` (inputs broadcast). As in PyTorch, each vector is
    divided by its norm first (the result stays in [−1, 1]) and the clamp at ε is outside the graph: the
    gradient flows through the unclamped norm."""
    rank = max(x1.dim(), x2.dim())
    dim = normalize_dim(dim, rank, "cosine_similarity")
    x1, x2 = (x.reshape(*(1,) * (rank - x.dim()), *x.shape) if x.dim() < rank else x for x in (x1, x2))
    size = max(x1.shape[dim], x2.shape[dim]) if rank else 1

    def unit(x: Tensor) -> Tensor:
        if rank and x.shape[dim] != size:  # broadcast along dim first: the norm is the expanded vector's
            x = cat([x] * size, dim)
        norm = _norm(x, 2, dim, True)
        return x / (norm + (norm.clamp(min=eps) - norm)._map("stop_gradient"))

    return (unit(x1) * unit(x2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """‖x1 − x2 + ε‖_p along the last dim (inputs broadcast), as in PyTorch."""
    return _norm(x1 - x2 + eps, p, max(x1.dim(), x2.dim()) - 1, keepdim)


class CosineSimilarity(Module):
    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
