"""``TensorBase``: what every tensor is, so the method groups (``pointwise``, ``shaping``, …) can recognize
operands and make new leaves without importing ``symnet.Tensor``, which is built from them."""

from __future__ import annotations

import numpy as np


class TensorBase:
    """The root of ``symnet.Tensor`` and of each of its method groups."""

    __slots__ = ()

    def _leaf(self, value: np.ndarray, dtype: np.dtype) -> TensorBase:
        """A new leaf tensor holding ``value`` (already of ``dtype``)."""
        raise NotImplementedError
