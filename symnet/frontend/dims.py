"""Dimension arguments as PyTorch reads them: negative dims count from the end."""

from __future__ import annotations

from ..errors import ShapeError


def normalize_dim(dim: int, rank: int, op: str) -> int:
    """``dim`` as a position in ``range(rank)`` (a 0-d tensor accepts 0 and -1, as in PyTorch)."""
    if not -max(rank, 1) <= dim < max(rank, 1):
        raise ShapeError(f"{op}: dim {dim} is out of range for a tensor of {rank} dims")
    return dim % max(rank, 1)
