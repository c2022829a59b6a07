"""``symnet.autograd``, as ``torch.autograd``: gradient mode and ``Variable``, PyTorch's deprecated alias of a
tensor that requires grad (kept because tutorials still use it)."""

from __future__ import annotations

from .frontend.autograd import is_grad_enabled, no_grad
from .frontend.tensor import Tensor


def Variable(data: Tensor, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802 - torch's name
    """A leaf sharing ``data``'s values, requiring grad if asked (``torch.autograd.Variable``)."""
    leaf = data.detach()
    return leaf.requires_grad_(requires_grad) if requires_grad else leaf


__all__ = ["Variable", "no_grad", "is_grad_enabled"]
