"""Dimension arguments as PyTorch reads them: negative dims count from the end."""

from __future__ import annotations

from ..errors import DimensionError, ShapeError


def normalize_dim(dim: int, rank: int, op: str) -> int:
    """``dim`` as a position in ``range(rank)`` (a 0-d tensor accepts 0 and -1, as in PyTorch)."""
    if not -max(rank, 1) <= dim < max(rank, 1):
        raise DimensionError(f"{op}: dim {dim} is out of range for a tensor of {rank} dims")
    return dim % max(rank, 1)


def distinct_dims(dims, rank: int, op: str) -> tuple[int, ...]:
    """``dims`` (an int or a sequence) as positions, each at most once, as PyTorch requires."""
    dims = tuple(normalize_dim(d, rank, op) for d in ((dims,) if isinstance(dims, int) else dims))
    repeated = {d for d in dims if dims.count(d) > 1}
    if repeated:
        raise ShapeError(f"{op}: dim {min(repeated)} appears multiple times in the list of dims")
    return dims
