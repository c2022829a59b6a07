"""A model's parameters as one flat vector and back, as ``torch.nn.utils.convert_parameters`` (for optimizers and
analyses that think in one vector: line searches, Hessian-vector products, parameter averaging)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ...frontend.shaping import cat
from ...frontend.tensor import Tensor


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """Every parameter flattened and concatenated, in order (dtypes promote as in ``cat``)."""
    return cat([p.view(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters' values (each keeps its shape and dtype)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected symnet.Tensor, but got: {type(vec).__name__}")
    values, start = vec._array(), 0
    for p in parameters:
        n = p.numel()
        chunk = values[start:start + n]
        if chunk.size != n:
            raise RuntimeError(f"shape '{list(p.shape)}' is invalid for input of size {chunk.size}")
        p.data = np.reshape(chunk, p.shape)
        start += n
