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


def method_as_function(method: str, name: str | None = None, doc: str | None = None):
    """``fn(t, ...)`` calling ``t.<method>(...)``: a tensor method offered as a function (``symnet.exp``,
    ``symnet.special.gammaln``)."""
    def fn(input, *args, **kwargs):  # noqa: A002 - torch's name
        return getattr(input, method)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name or method
    fn.__doc__ = doc or f"``symnet.{method}(t, ...)`` is ``t.{method}(...)``, as in torch."
    return fn

