"""The rest of ``torch.Tensor``'s surface: metadata queries (``is_floating_point``, ``stride``, …), the ``new_*``
constructors and method aliases that need no op of their own."""

from __future__ import annotations

from .base import TensorBase

#: methods also offered as ``symnet.<name>(tensor, …)``, as in torch
FUNCTIONS: tuple[str, ...] = ()
#: this module's functions offered as ``symnet.<name>``
PUBLIC: tuple[str, ...] = ()


class SurfaceMethods(TensorBase):
    __slots__ = ()
