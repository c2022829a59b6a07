"""``symnet.autograd``, as ``torch.autograd``: ``grad`` and ``backward``, gradient mode, ``functional`` (Jacobians,
Hessians and their products) and ``Variable``, PyTorch's deprecated alias of a tensor that requires grad (kept
because tutorials still use it)."""

from __future__ import annotations

from ..frontend.autograd import backward, enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled
from ..frontend.tensor import Tensor
from . import functional


def Variable(data: Tensor, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802 - torch's name
    """A leaf sharing ``data``'s values, requiring grad if asked (``torch.autograd.Variable``)."""
    leaf = data.detach()
    return leaf.requires_grad_(requires_grad) if requires_grad else leaf


__all__ = ["Variable", "backward", "enable_grad", "functional", "grad", "is_grad_enabled", "no_grad",
           "set_grad_enabled"]
