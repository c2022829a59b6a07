"""``TensorBase``: what every tensor is, so the method groups (``pointwise``, ``shaping``, …) can recognize
operands and make new leaves without importing ``symnet.Tensor``, which is built from them."""

from __future__ import annotations

from collections.abc import Callable
from numbers import Number

import numpy as np


class TensorBase:
    """The root of ``symnet.Tensor`` and of each of its method groups."""

    __slots__ = ()

    def _leaf(self, value: np.ndarray, dtype: np.dtype) -> TensorBase:
        """A new leaf tensor holding ``value`` (already of ``dtype``)."""
        raise NotImplementedError


def method_as_function(method: str, name: str | None = None, doc: str | None = None,
                       number_first: Callable | None = None):
    """``fn(t, ...)`` calling ``t.<method>(...)``: a tensor method offered as a function (``symnet.exp``,
    ``symnet.special.gammaln``). ``number_first(number, other, ...)``: the op with a Python number before a
    tensor, for the functions PyTorch accepts so (``torch.add(2, t)``); any other input that is not a tensor is
    PyTorch's TypeError."""
    name = name or method

    def fn(input, *args, **kwargs):  # noqa: A002 - torch's name
        if not isinstance(input, TensorBase):
            other = args[0] if args else kwargs.get("other")
            if number_first is not None and isinstance(input, Number) and isinstance(other, TensorBase):
                return number_first(input, *args, **kwargs)
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
        return getattr(input, method)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc or f"``symnet.{method}(t, ...)`` is ``t.{method}(...)``, as in torch."
    return fn
